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

/* The storage of a string map (kafka properties, exception tags): pairs
 * in the file's order. */
struct vg_config_map {
    char **keys;      /* owned */
    char **values;    /* owned */
    size_t n;
};

/* One entry of the mutelist. Every list given must match (AND within an
 * entry); entries are alternatives (OR across entries). Globs as fnmatch(3)
 * without flags. */
struct vg_config_exception {
    char **rules;          /* rule id globs */
    size_t nrules;
    char **resources;      /* resource.id globs */
    size_t nresources;
    char **accounts;       /* cloud.account.id globs */
    size_t naccounts;
    char **regions;        /* cloud.region / resource.region globs */
    size_t nregions;
    char **hosts;          /* host.name globs */
    size_t nhosts;
    struct vg_config_map tags;   /* resource tags that must all be equal */
    char *reason;          /* required */
    char *owner;           /* required */
    char *expires;         /* required: YYYY-MM-DD (mutes to the end of that
                            * day, UTC) or RFC 3339 (up to that instant) */
    int line;              /* the entry's line in the file; 0: a default */
};

/* aws: one account scanned through STS AssumeRole. */
struct vg_config_aws_account {
    char *role_arn;        /* required */
    char *external_id;     /* secret; NULL: none */
    char *session_name;    /* NULL: "vigil-<unix time>" */
};

struct vg_config_scan {
    char *provider;        /* "host" */
    char *root;            /* host: root directory, default "/" */
    int64_t interval_s;    /* seconds between scans in `vigil run`; default 3600 */
    int64_t resources;     /* demo: synthetic resources, default 1000 */
    char **regions;        /* aws: regions scanned; none: every enabled region */
    size_t nregions;
    char *profile;         /* aws: a profile of ~/.aws/config; NULL: the SDK chain */
    char *endpoint_url;    /* aws: every service at this URL (moto); NULL: AWS */
    struct vg_config_aws_account *accounts;   /* aws: roles to assume; none: the
                                               * credentials' own account */
    size_t naccounts;
    int64_t max_in_flight; /* aws: requests at once, default 32 */
    char *global_region;   /* aws: where IAM, S3 listing, ... are called; us-east-1 */
};

struct vg_config {
    char *file;            /* the file loaded; NULL for built-in defaults */
    struct {
        char *name;        /* agent.name; NULL: the host name */
        char *state_dir;   /* default /var/lib/vigil */
        char *log_level;   /* error|warn|info|debug, default info */
        char *http_listen; /* agent.http.listen "HOST:PORT"; NULL: no endpoint */
        int64_t monitoring_period_s;  /* default 60; 0: no monitoring event */
        int64_t shutdown_grace_s;     /* default 30 */
        int64_t splay_s;              /* default 60: bound of a first run's delay */
    } agent;
    struct vg_config_scan *scans;   /* default: one host scan of "/" */
    size_t nscans;
    struct {
        char **paths;      /* extra rule files or directories */
        size_t npaths;
        struct vg_json *params;  /* rules.params: an object, never NULL after
                                  * a load; values typed as YAML 1.2 core */
    } rules;
    struct vg_config_exception *exceptions;
    size_t nexceptions;
    struct {
        char *type;            /* "disk" (default) or "memory" */
        char *path;            /* NULL: STATE_DIR/spool */
        int64_t max_bytes;     /* default 1GiB */
        int64_t segment_bytes; /* default 64MiB */
        char *when_full;       /* "block" (default) or "drop_oldest" */
        char *fsync;           /* "batch" (default) or "never" */
    } spool;
    struct {
        bool stdout_enabled;   /* outputs.stdout present, or no output configured */
        char *file_path;       /* outputs.file.path, or NULL */
        char *namespace;       /* data_stream.namespace, default "default" */
        struct {
            bool enabled;          /* outputs.elasticsearch present */
            char **hosts;          /* URLs: https://es1:9200 */
            size_t nhosts;
            char *cloud_id;        /* Elastic Cloud id, instead of hosts */
            char *username;
            char *password;        /* secret */
            char *api_key;         /* secret: "id:key" or its base64 */
            char *bearer_token;    /* secret */
            char *ssl_ca;          /* CA file */
            char *ssl_certificate; /* client certificate (PEM) */
            char *ssl_key;         /* client key (PEM) */
            char *ssl_key_passphrase;  /* secret */
            char *ssl_ca_sha256;   /* pinned SHA-256 fingerprint (hex) of a
                                    * certificate in the server's chain */
            bool ssl_verify;       /* default true */
            char *proxy_url;
            int64_t bulk_max_events;   /* default 1600 */
            int64_t bulk_max_bytes;    /* default 5MiB */
            int64_t flush_interval_s;  /* default 1s */
            int64_t max_in_flight;     /* bulk requests at once, default 2 */
            int64_t compression_level; /* gzip 0..9, 0 = off; default 1 */
            int64_t timeout_s;         /* per request, default 90s */
            int64_t backoff_init_s;    /* default 1s */
            int64_t backoff_max_s;     /* default 60s */
            char *dead_letter_path;    /* NULL: STATE_DIR/dead-letter.ndjson */
        } es;
        struct {
            bool enabled;          /* outputs.kafka present */
            char **brokers;        /* host:port, bootstrap.servers */
            size_t nbrokers;
            char *topic;           /* template over event fields, default
                                    * "vigil-{event.dataset}" */
            char *compression;     /* compression.codec, default "zstd" */
            int64_t linger_ms;     /* linger.ms, default 5 (librdkafka's own) */
            int64_t compression_level;   /* -1: 1 for zstd, else the codec's default */
            int64_t batch_max_events;  /* batch.num.messages, default 10000 */
            struct vg_config_map properties;  /* librdkafka properties, applied last */
            char *dead_letter_path;    /* NULL: STATE_DIR/dead-letter.ndjson */
        } kafka;
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
