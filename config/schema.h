/*
 * Configuration schema tables and the generic loader that walks them
 * (librdkafka's rdkafka_conf.c, Fluent Bit's config maps, nginx's
 * ngx_command_t). A table is a static const array of struct vg_config_key
 * ended by an entry whose key is NULL; one entry per key, with its type,
 * its default as text, its bounds, where it is stored, and one line of
 * help. Loading, printing, the Markdown reference and freeing are all
 * driven by the same tables, so the documentation cannot drift.
 *
 * The tables of Vigil's own configuration live in config/schema.c; the
 * generic functions declared here live in config/config.c. Other modules
 * (outputs) may declare tables of their own with the same entry type.
 *
 * Storage, by type (the field at base + offset):
 *
 *   VG_CFG_STRING    char *          owned, NUL-terminated
 *   VG_CFG_ENUM      char *          owned, one of words[]
 *   VG_CFG_BOOL      bool
 *   VG_CFG_INT       int64_t
 *   VG_CFG_DURATION  int64_t         seconds: "30s", "15m", "1h30m", "7d", or bare seconds
 *   VG_CFG_SIZE      int64_t         bytes: "512MiB", "1GiB", "10MB", or bare bytes
 *   VG_CFG_LIST      char **         owned array of owned strings; its
 *                                    size_t count at base + count_offset
 *   VG_CFG_STRMAP    struct vg_config_map   string keys to string values;
 *                                    a value is its scalar text, as written
 *   VG_CFG_OBJECT    struct vg_json *       any mapping, values typed by
 *                                    the YAML 1.2 core schema
 *   VG_CFG_SECTION   nested mapping; its keys (sub) are stored in the same
 *                    base; with .presence, offset is a bool set to true
 *                    when the key is written (even as `{}` or empty)
 *   VG_CFG_SEQUENCE  sequence of mappings: an owned array of elem_size
 *                    structs at offset, its size_t count at count_offset;
 *                    sub's offsets are relative to one element
 *
 * Defaults are YAML text ("1h", "/var/lib/vigil", "[{provider: host}]",
 * "{}") loaded through the same code as the file, without ${VAR}
 * expansion. A key whose value is null (empty, `~`, `null`) takes its
 * default, as if absent; a section whose value is null is present and
 * empty.
 */
#ifndef VG_CONFIG_SCHEMA_H
#define VG_CONFIG_SCHEMA_H

#include "../agent/limits.h"

#include "../agent/buf.h"
#include "../agent/err.h"
#include "yaml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum vg_config_type {
    VG_CFG_STRING,
    VG_CFG_BOOL,
    VG_CFG_INT,
    VG_CFG_DURATION,
    VG_CFG_SIZE,
    VG_CFG_ENUM,
    VG_CFG_LIST,
    VG_CFG_STRMAP,
    VG_CFG_OBJECT,
    VG_CFG_SECTION,
    VG_CFG_SEQUENCE,
};

/* struct vg_config_map (the storage of a VG_CFG_STRMAP key) is in config.h. */

struct vg_config_key {
    const char *key;            /* the YAML key; NULL ends the table */
    enum vg_config_type type;
    const char *def;            /* default as YAML text; NULL: none (NULL / 0 / false / empty) */
    const char *def_doc;        /* the default in words when def is NULL ("the host name") */
    /* INT, DURATION, SIZE: value bounds; LIST, SEQUENCE, STRMAP: item
     * counts. Checked only when bounded is true. */
    bool bounded;
    int64_t min, max;
    size_t offset;              /* the field, from base */
    size_t count_offset;        /* LIST, SEQUENCE: the size_t count */
    size_t elem_size;           /* SEQUENCE: sizeof one element */
    bool record_line;           /* SEQUENCE: store each element's line (int) ... */
    size_t line_offset;         /* ... at this offset in the element */
    const char *const *words;   /* ENUM: the allowed words, NULL-terminated */
    const struct vg_config_key *sub;   /* SECTION, SEQUENCE: the nested table */
    const char *pattern;        /* STRING: a POSIX ERE the whole value must match */
    const char *pattern_doc;    /* ... and what it means, for messages */
    size_t max_len;             /* STRING: longest value in bytes; 0: VG_CFG_MAX_VALUE */
    bool required;              /* must be given when its mapping is */
    bool presence;              /* SECTION: offset is a bool, true when written */
    bool secret;                /* printed as "********"; warned about if world-readable */
    const char *help;           /* one line, for the reference */
};

/* The root table of Vigil's configuration (config/schema.c); its base is
 * a struct vg_config. */
extern const struct vg_config_key vg_config_schema[];

/* Loads the mapping root against table into base, which the caller has
 * zeroed. ${VAR}, ${VAR:-default} and $$ are expanded in scalar values (in
 * place, in root's nodes) before they are typed. Returns VG_OK, or
 * VG_ERR_CONFIG / VG_ERR_NOMEM with one line "FILE:LINE:COL: key.path:
 * message" in errbuf. In every case base may hold allocations: release
 * them with vg_config_free_table(). */
enum vg_err vg_config_load_table(const struct vg_config_key *table, void *base,
                                 struct vg_ynode *root, char *errbuf, size_t errlen);

/* Frees everything the loader stored in base (not base itself) and
 * zeroes those fields. */
void vg_config_free_table(const struct vg_config_key *table, void *base);

/* Appends base as YAML, two spaces per level, starting at indent spaces;
 * secrets masked as "********". The output loads back to the same values. */
enum vg_err vg_config_print_table(const struct vg_config_key *table, const void *base,
                                  int indent, struct vg_buf *out);

/* Appends one Markdown table row per key (dotted path, type, default,
 * bounds, help), after a header row when header is true; prefix is
 * prepended to each path ("" at the root). */
enum vg_err vg_config_reference_table(const struct vg_config_key *table, const char *prefix,
                                      bool header, struct vg_buf *out);

/* True when a secret key of table holds a non-empty value in base. */
bool vg_config_has_secret(const struct vg_config_key *table, const void *base);

/* Logs a warning (area "config") when base holds a secret and mode lets
 * others read the file. Returns true when it warned. */
bool vg_config_warn_secrets(const struct vg_config_key *table, const void *base,
                            const char *file, mode_t mode);

/* Expands ${VAR}, ${VAR:-default} (default also when VAR is empty) and $$
 * in s[0..len) into out (a bounded buffer). Returns VG_OK, or
 * VG_ERR_CONFIG with a sentence in msg (an unset variable, an unterminated
 * "${", a bad name), or VG_ERR_LIMIT / VG_ERR_NOMEM from out. */
enum vg_err vg_config_expand(const char *s, size_t len, struct vg_buf *out, char *msg,
                             size_t msglen);

/* Parsers of the textual types; 0 on success, -1 when s is not one. */
int vg_config_parse_duration(const char *s, int64_t *seconds);
int vg_config_parse_size(const char *s, int64_t *bytes);
int vg_config_parse_int(const char *s, int64_t *out);
int vg_config_parse_bool(const char *s, bool *out);

/* Canonical text of a duration ("90s", "15m", "1h", "7d") or a size
 * ("1GiB", "10MB", "4096"), as the printer writes them. */
void vg_config_format_duration(int64_t seconds, char *out, size_t outlen);
void vg_config_format_size(int64_t bytes, char *out, size_t outlen);

/* Edit distance (optimal string alignment, ASCII case-insensitive) of two
 * strings, capped at cap + 1 for speed. */
size_t vg_config_distance(const char *a, const char *b, size_t cap);

#endif
