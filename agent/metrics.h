/*
 * The agent's own figures, for `vigil run`: what /metrics serves in
 * Prometheus text format, what /health judges, and what the monitoring
 * event (event.dataset vigil.monitoring) carries every
 * agent.monitoring_period.
 *
 * Two kinds of figures: process-wide counters that code deep down bumps
 * (AWS API requests and errors by service), kept here
 * under a lock; and a snapshot the daemon fills from its outputs, spool and
 * scheduler when asked (struct vg_metrics_snapshot), which the renderers
 * below read. Nothing here allocates on the counting path.
 */
#ifndef VG_METRICS_H
#define VG_METRICS_H

#include "buf.h"
#include "err.h"
#include "json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_METRICS_MAX_SERVICES 64   /* AWS services counted by name */
#define VG_METRICS_MAX_SCANS 64      /* scans described in a snapshot */
#define VG_METRICS_MAX_REASONS 8     /* reasons /health gives */

/* ---- process-wide counters -------------------------------------------- */

/* Counts requests sent and calls that failed (after retries) for an AWS
 * service ("s3", "iam"). Services beyond VG_METRICS_MAX_SERVICES are
 * counted under "other". Thread-safe. */
void vg_metrics_api_count(const char *service, uint64_t requests, uint64_t errors);

/* ---- the snapshot ---------------------------------------------------- */

struct vg_metrics_output {
    const char *name;            /* "elasticsearch", "kafka"; NULL: not configured */
    uint64_t delivered, retried, dead_lettered, pending;
    int64_t failing_since_ms;    /* wall clock; 0: not failing */
    bool stopped;                /* delivery stopped for good (refused credentials) */
    char last_error[256];
};

struct vg_metrics_scan {
    char provider[16];           /* "host", "aws", "demo" */
    int64_t interval_s;
    int64_t last_start_ms, last_end_ms;   /* wall clock; 0: never */
    int64_t last_success_ms;
    int64_t last_duration_ms;
    uint64_t last_resources;
    uint64_t last_findings[3];   /* passed, failed, unknown */
    bool running;
    bool last_failed;
    char last_error[256];
};

struct vg_metrics_snapshot {
    int64_t now_ms;              /* wall clock when taken */
    int64_t uptime_s;
    const char *version, *agent_id;
    uint64_t events_produced;    /* lines handed to the outputs */
    struct vg_metrics_output outputs[2];
    bool spool_present;
    uint64_t spool_bytes, spool_records, spool_max_bytes, spool_dropped, spool_events;
    uint64_t scans_started, scans_completed, scans_failed, scans_skipped;
    uint64_t findings[3];        /* cumulative: passed, failed, unknown */
    struct vg_metrics_scan scans[VG_METRICS_MAX_SCANS];
    size_t nscans;
    /* AWS API counters, filled by vg_metrics_snapshot_counters() */
    struct { char service[32]; uint64_t requests, errors; } api[VG_METRICS_MAX_SERVICES + 1];
    size_t napi;
};

/* Copies the process-wide counters (API requests) into s. */
void vg_metrics_snapshot_counters(struct vg_metrics_snapshot *s);

/* How long an output may fail before /health says degraded (a single
 * refused request is not ill health: retries are normal). */
#define VG_METRICS_FAILING_GRACE_MS 60000

/* Judges health: true when ok; else up to VG_METRICS_MAX_REASONS reasons
 * ("elasticsearch failing since 2026-11-26T10:01:02Z: ...", "spool full",
 * "last scan of host (scan 1) failed: ..."), each a line in reasons[] of
 * reasonlen bytes. */
bool vg_metrics_health(const struct vg_metrics_snapshot *s,
                       char reasons[VG_METRICS_MAX_REASONS][320], size_t *nreasons);

/* Appends the /health body: {"status":"ok"} or {"status":"degraded",
 * "reasons":[...]}; *ok says which. */
enum vg_err vg_metrics_health_json(const struct vg_metrics_snapshot *s, struct vg_buf *out,
                                   bool *ok);

/* Appends the Prometheus text exposition (format 0.0.4) of s. */
enum vg_err vg_metrics_prometheus(const struct vg_metrics_snapshot *s, struct vg_buf *out);

/* The monitoring event as an ECS document (caller frees): data stream
 * logs-vigil.monitoring-NAMESPACE, event.kind metric, the figures under
 * vigil.monitoring. NULL when out of memory. */
struct vg_json *vg_metrics_ecs_doc(const struct vg_metrics_snapshot *s, const char *agent_name,
                                   const char *namespace);

#endif
