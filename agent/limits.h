/*
 * Every bound on memory grown from outside input, in one place (curl's
 * dynbuf habit): a buffer or parser never grows past its cap.
 */
#ifndef VG_LIMITS_H
#define VG_LIMITS_H

#define VG_MAX_JSON_DEPTH        64               /* nesting of JSON values */
#define VG_MAX_JSON_TEXT         (64u << 20)      /* one JSON document */
#define VG_MAX_YAML_DEPTH        64               /* nesting of YAML nodes */
#define VG_MAX_YAML_MAP_KEYS     4096             /* keys in one YAML mapping (duplicate check is linear) */
#define VG_MAX_CONFIG_FILE       (4u << 20)       /* configuration file */
#define VG_MAX_RULE_FILE         (4u << 20)       /* one rule file */
#define VG_MAX_HOST_FILE         (16u << 20)      /* one file read under the host root */
#define VG_MAX_INCLUDE_DEPTH     16               /* sshd Include nesting */
#define VG_MAX_INCLUDE_FILES     256              /* files one sshd config may pull in */
#define VG_MAX_EVENT             (8u << 20)       /* one encoded ECS event */
#define VG_MAX_ROUTE             4096u            /* an event's route (outputs/output.h) */
#define VG_MAX_LOG_LINE          2048             /* one log line */
#define VG_MAX_REASON            512              /* one finding reason */
#define VG_MAX_PATH_SEGMENTS     32               /* segments in a rule field path */

/* rule engine */
#define VG_MAX_EVIDENCE          (64u << 10)      /* dumped evidence of one finding, marker included */
#define VG_MAX_REGEX             1024             /* text of one regex in a rule */
#define VG_MAX_EXCEPTION_RULE_CACHE 4096          /* rule ids whose matching exceptions are cached */
#define VG_MAX_PREV_FINDINGS     1000000          /* (rule, resource) pairs of a target's previous scan held
                                                     for vigil.previous_evaluation: 24 MiB at the cap */

/* host provider */
#define HOST_MAX_SYMLINKS   40      /* links followed in one lookup (Linux's own bound) */
#define HOST_MAX_DIRS       256     /* nesting of directories in one lookup */
#define HOST_MAX_PATH       4096    /* one host path, links spliced in */
#define HOST_MAX_DIR_ENTRIES 4096   /* entries read from one directory (Include globs) */
#define HOST_MAX_SMALL_FILE (64u << 10) /* hostname, machine-id, os-release */

/* configuration */
#define VG_CFG_MAX_VALUE     (64u << 10)  /* one scalar after ${VAR} expansion */
#define VG_CFG_MAX_ITEMS     1024         /* items of a list, sequence or map without its own max */
#define VG_CFG_MAX_KEYPATH   256          /* dotted key path in messages (truncated) */

#endif
