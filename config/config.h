/*
 * The configuration: one YAML file, declared as schema tables (key, type,
 * default, bounds, help) and validated before anything runs. Errors are
 * one line "FILE:LINE:COL: message". See config/schema.c for every key and
 * config/schema.h for the table machinery.
 *
 * Scalar values may use ${VAR} and ${VAR:-default} (the default is also
 * taken when VAR is set but empty); $$ is a literal $. An unset variable
 * without a default is an error. A plain value that expands to nothing
 * (`name: ${NAME:-}`) counts as absent and takes the key's default.
 *
 * File permissions (like Beats' strict.perms): vg_config_load() refuses a
 * file that is writable by group or others, or owned by a user other than
 * root or the effective user. Setting the environment variable
 * VIGIL_STRICT_PERMS=false (or 0, no, off) turns that check off. A file
 * that holds a secret and is readable by others is loaded with a warning.
 */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include "../agent/buf.h"
#include "../agent/err.h"
#include "../agent/json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vg_config_scan {
    char *provider;        /* "host" */
    char *root;            /* host: root directory, default "/" */
    int64_t interval_s;    /* seconds between scans in `vigil run`; default 3600 */
};

struct vg_config {
    char *file;            /* the file loaded; NULL for built-in defaults */
    struct {
        char *name;        /* agent.name; NULL: the host name */
        char *state_dir;   /* default /var/lib/vigil */
        char *log_level;   /* error|warn|info|debug, default info */
    } agent;
    struct vg_config_scan *scans;   /* default: one host scan of "/" */
    size_t nscans;
    struct {
        char **paths;      /* extra rule files or directories */
        size_t npaths;
        struct vg_json *params;  /* rules.params: an object, never NULL after
                                  * a load; values typed as YAML 1.2 core */
    } rules;
    struct {
        bool stdout_enabled;   /* outputs.stdout present, or no output configured */
        char *file_path;       /* outputs.file.path, or NULL */
        char *namespace;       /* data_stream.namespace, default "default" */
    } outputs;
};

/* Loads and validates path (NULL: the built-in defaults, as if an empty
 * file had been read). Returns the configuration (caller frees with
 * vg_config_destroy()) or NULL with one line in errbuf: "FILE:LINE:COL:
 * key.path: message" for the content, "FILE: message" for the file itself
 * (unreadable, too large, unsafe permissions). */
struct vg_config *vg_config_load(const char *path, char *errbuf, size_t errlen);

/* The same from text in memory; name stands for the file in messages. */
struct vg_config *vg_config_load_string(const char *name, const char *text, size_t len,
                                        char *errbuf, size_t errlen);

void vg_config_destroy(struct vg_config *c);   /* NULL is a no-op */

/* Appends the effective configuration as YAML, every default filled in and
 * every secret masked as "********". */
enum vg_err vg_config_print(const struct vg_config *c, struct vg_buf *out);

/* Appends the reference of every key (path, type, default, bounds, help)
 * as Markdown, generated from the schema tables. */
enum vg_err vg_config_reference(struct vg_buf *out);

#endif
