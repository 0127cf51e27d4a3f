/*
 * The ECS encoder: a finding, or a scan summary, to one line of JSON, in
 * exactly the shape DESIGN.md draws. Field names and values are a contract
 * with Kibana, detection rules and index templates.
 */
#ifndef VG_ECS_H
#define VG_ECS_H

#include "../agent/buf.h"
#include "../agent/err.h"
#include "../agent/hash.h"
#include "../checks/provider.h"
#include "../checks/rule.h"

#include <stdbool.h>
#include <stdint.h>

#define VG_ECS_VERSION "8.17.0"
#define VG_EVENT_ID_LEN 33   /* 32 hex characters and the NUL */

/* What every event of one scan shares. All borrowed. */
struct vg_scan_meta {
    char scan_id[VG_UUID_STR_LEN];
    int64_t started_ms;
    const char *agent_name;
    const char *agent_id;
    const char *namespace;                 /* data_stream.namespace */
    const char *provider;                  /* "host" */
    const struct vg_target_info *target;
};

struct vg_finding {
    const struct vg_rule *rule;
    const struct vg_resource *resource;
    const struct vg_eval_result *result;
    bool muted;
    const char *mute_reason;               /* NULL unless muted */
    /* The evaluation of the same (rule, resource) in the previous scan of
     * the same target, when that scan held the pair: written as
     * vigil.previous_evaluation, with vigil.regression (previous passed,
     * now failed). has_previous false (a zeroed finding): both absent. */
    bool has_previous;
    enum vg_eval previous;
};

/* Counts a scan gathers for its summary event. */
struct vg_scan_stats {
    int64_t ended_ms;
    size_t rules;                          /* rules loaded */
    size_t resources;                      /* resources collected */
    size_t by_eval[3];                     /* passed, failed, unknown */
    size_t muted;                          /* findings muted by an exception */
    size_t by_severity[4][3];              /* [low..critical][passed, failed, unknown] */
    /* per framework (index of vg_frameworks): passed, failed, unknown */
    size_t by_framework[16][3];
    struct vg_json *errors;                /* array of strings; borrowed */
    int64_t interval_s;                    /* vigil.scan.interval_s when > 0 (vigil run) */
    size_t exceptions_expired;             /* vigil.scan.exceptions.expired */
    /* vigil.scan.exceptions.expired_entries: array of strings, one per
     * expired exception; borrowed; NULL or empty: the field is left out */
    struct vg_json *expired_entries;
};

/* The deterministic event id: the first 16 bytes, in hex, of
 * SHA-256(rule_id NUL resource_id NUL scan_id). */
void vg_ecs_event_id(const char *rule_id, const char *resource_id, const char *scan_id,
                     char out[VG_EVENT_ID_LEN]);

/* Per-scan cache of the parts of a finding that do not change from one
 * finding to the next: the fields every event of the scan shares
 * (data_stream, observer, agent, host, vigil.scan) and, per rule, the
 * rule object and vigil.compliance, encoded once. A scan of a million
 * findings encodes each rule's text once, not a million times. */
struct vg_ecs_cache;

/* Caller frees with vg_ecs_cache_destroy(). NULL when out of memory. */
struct vg_ecs_cache *vg_ecs_cache_new(void);
void vg_ecs_cache_destroy(struct vg_ecs_cache *c);

/* Appends the one-line ECS document of a finding to out (no newline), and
 * unless route is NULL its route (outputs/output.h) to route. The cache
 * belongs to one scan (one meta); rules must outlive it. */
enum vg_err vg_ecs_finding_write(struct vg_ecs_cache *c, const struct vg_scan_meta *m,
                                 const struct vg_finding *f, int64_t now_ms,
                                 struct vg_buf *out, struct vg_buf *route);

/* The same document as a tree (vg_ecs_finding_write, parsed back): for
 * tests and tools. Caller frees. NULL: out of memory. */
struct vg_json *vg_ecs_finding_doc(const struct vg_scan_meta *m, const struct vg_finding *f,
                                   int64_t now_ms);

/* Builds the scan summary event (event.dataset vigil.scan). Caller frees. */
struct vg_json *vg_ecs_summary_doc(const struct vg_scan_meta *m, const struct vg_scan_stats *s);

/* Appends the one-line JSON of a document built above to out (no newline). */
enum vg_err vg_ecs_encode(const struct vg_json *doc, struct vg_buf *out);

#endif
