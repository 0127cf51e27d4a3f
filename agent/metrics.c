/*
 * The agent's own figures (see metrics.h).
 */
#include "metrics.h"

#include "timeutil.h"
#include "../outputs/ecs.h"

#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* ---- process-wide counters -------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char service[32];
    uint64_t requests, errors;
} api[VG_METRICS_MAX_SERVICES + 1];   /* the last slot is "other" */
static size_t napi;

void vg_metrics_api_count(const char *service, uint64_t requests, uint64_t errors)
{
    if (!service || !*service)
        service = "other";
    pthread_mutex_lock(&mu);
    size_t i = 0;
    while (i < napi && strcmp(api[i].service, service) != 0)
        i++;
    if (i == napi) {
        if (napi < VG_METRICS_MAX_SERVICES) {
            snprintf(api[i].service, sizeof(api[i].service), "%s", service);
            napi++;
        } else {
            i = VG_METRICS_MAX_SERVICES;
            snprintf(api[i].service, sizeof(api[i].service), "other");
        }
    }
    api[i].requests += requests;
    api[i].errors += errors;
    pthread_mutex_unlock(&mu);
}

void vg_metrics_snapshot_counters(struct vg_metrics_snapshot *s)
{
    pthread_mutex_lock(&mu);
    s->napi = 0;
    for (size_t i = 0; i <= VG_METRICS_MAX_SERVICES; i++) {
        if (i == napi && i < VG_METRICS_MAX_SERVICES)
            i = VG_METRICS_MAX_SERVICES;   /* skip to the "other" slot */
        if (!api[i].requests && !api[i].errors)
            continue;
        memcpy(s->api[s->napi].service, api[i].service, sizeof(api[i].service));
        s->api[s->napi].requests = api[i].requests;
        s->api[s->napi].errors = api[i].errors;
        s->napi++;
    }
    pthread_mutex_unlock(&mu);
}

/* ---- health ------------------------------------------------------------ */

bool vg_metrics_health(const struct vg_metrics_snapshot *s,
                       char reasons[VG_METRICS_MAX_REASONS][320], size_t *nreasons)
{
    size_t n = 0;
    char when[VG_TIME_RFC3339_LEN];
    for (size_t i = 0; i < 2 && n < VG_METRICS_MAX_REASONS; i++) {
        const struct vg_metrics_output *o = &s->outputs[i];
        if (!o->name)
            continue;
        if (o->stopped) {
            snprintf(reasons[n++], 320, "%s: delivery stopped: %.200s", o->name, o->last_error);
        } else if (o->failing_since_ms && s->now_ms - o->failing_since_ms >=
                                                      VG_METRICS_FAILING_GRACE_MS) {
            vg_time_rfc3339(o->failing_since_ms, when);
            snprintf(reasons[n++], 320, "%s: failing since %s: %.200s", o->name, when,
                     o->last_error);
        }
    }
    /* full: a block spool holds producers back, a drop_oldest one drops */
    if (s->spool_present && s->spool_max_bytes && n < VG_METRICS_MAX_REASONS &&
        s->spool_bytes >= s->spool_max_bytes - s->spool_max_bytes / 20)
        snprintf(reasons[n++], 320, "spool full: %" PRIu64 " of %" PRIu64 " bytes",
                 s->spool_bytes, s->spool_max_bytes);
    for (size_t i = 0; i < s->nscans && n < VG_METRICS_MAX_REASONS; i++) {
        const struct vg_metrics_scan *c = &s->scans[i];
        if (c->last_failed)
            snprintf(reasons[n++], 320, "last scan %zu (%s) failed: %.200s", i + 1,
                     c->provider, c->last_error);
    }
    *nreasons = n;
    return n == 0;
}

enum vg_err vg_metrics_health_json(const struct vg_metrics_snapshot *s, struct vg_buf *out,
                                   bool *ok)
{
    char reasons[VG_METRICS_MAX_REASONS][320];
    size_t n = 0;
    *ok = vg_metrics_health(s, reasons, &n);
    struct vg_json *doc = vg_json_object();
    struct vg_json *arr = vg_json_array();
    enum vg_err err = doc && arr ? VG_OK : VG_ERR_NOMEM;
    err |= vg_json_set_str(doc, "status", *ok ? "ok" : "degraded");
    for (size_t i = 0; i < n; i++)
        err |= vg_json_push(arr, vg_json_str(reasons[i]));
    if (n)
        err |= vg_json_set(doc, "reasons", arr);
    else
        vg_json_free(arr);
    if (!err)
        err = vg_json_dump(doc, out);
    vg_json_free(doc);
    return err ? VG_ERR_NOMEM : VG_OK;
}

/* ---- Prometheus -------------------------------------------------------- */

/* The exposition being written, and whether any append failed. */
struct pw {
    struct vg_buf *b;
    enum vg_err err;
};

#define OUT(...) (w->err |= vg_buf_printf(w->b, __VA_ARGS__))

/* A label value, escaped as the text format asks (\\, \", \n). */
static void label(struct pw *w, const char *v)
{
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            OUT("\\%c", *p);
        else if (*p == '\n')
            w->err |= vg_buf_append(w->b, "\\n", 2);
        else
            w->err |= vg_buf_append(w->b, p, 1);
    }
}

static void head(struct pw *w, const char *name, const char *type, const char *help)
{
    OUT("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct pw *w, const char *name, const char *type, const char *help,
                uint64_t v)
{
    head(w, name, type, help);
    OUT("%s %" PRIu64 "\n", name, v);
}

static const char *const evals[3] = { "passed", "failed", "unknown" };

enum vg_err vg_metrics_prometheus(const struct vg_metrics_snapshot *s, struct vg_buf *out)
{
    struct pw pw = { .b = out, .err = VG_OK };
    struct pw *w = &pw;
    char reasons[VG_METRICS_MAX_REASONS][320];
    size_t nr;
    bool ok = vg_metrics_health(s, reasons, &nr);

    head(w, "vigil_info", "gauge", "Version and agent id of this Vigil.");
    OUT("vigil_info{version=\"");
    label(w, s->version);
    OUT("\",agent_id=\"");
    label(w, s->agent_id);
    OUT("\"} 1\n");
    one(w, "vigil_up", "gauge", "1 when /health says ok, 0 when degraded.", ok ? 1 : 0);
    one(w, "vigil_uptime_seconds", "gauge", "Seconds since the agent started.",
        (uint64_t)(s->uptime_s > 0 ? s->uptime_s : 0));
    one(w, "vigil_events_produced_total", "counter",
        "Events (findings, scan summaries, monitoring) handed to the outputs.",
        s->events_produced);

    static const struct {
        const char *name, *help;
        size_t off;
    } out_counters[] = {
        { "vigil_output_events_delivered_total", "Events the output's destination acknowledged.",
          offsetof(struct vg_metrics_output, delivered) },
        { "vigil_output_events_retried_total", "Event resends after a retriable failure.",
          offsetof(struct vg_metrics_output, retried) },
        { "vigil_output_events_dead_lettered_total",
          "Events refused for good, written to the dead-letter file.",
          offsetof(struct vg_metrics_output, dead_lettered) },
    };
    for (size_t k = 0; k < sizeof(out_counters) / sizeof(out_counters[0]); k++) {
        head(w, out_counters[k].name, "counter", out_counters[k].help);
        for (size_t i = 0; i < 2; i++) {
            if (!s->outputs[i].name)
                continue;
            uint64_t v;
            memcpy(&v, (const char *)&s->outputs[i] + out_counters[k].off, sizeof(v));
            OUT("%s{output=\"%s\"} %" PRIu64 "\n", out_counters[k].name,
                          s->outputs[i].name, v);
        }
    }
    head(w, "vigil_output_events_pending", "gauge",
         "Events in the spool the output has not delivered yet.");
    for (size_t i = 0; i < 2; i++)
        if (s->outputs[i].name)
            OUT("vigil_output_events_pending{output=\"%s\"} %" PRIu64 "\n",
                          s->outputs[i].name, s->outputs[i].pending);
    head(w, "vigil_output_failing_since_seconds", "gauge",
         "Unix time of the output's first failure since it last delivered; 0 when not "
         "failing.");
    for (size_t i = 0; i < 2; i++)
        if (s->outputs[i].name)
            OUT("vigil_output_failing_since_seconds{output=\"%s\"} %.3f\n",
                          s->outputs[i].name, (double)s->outputs[i].failing_since_ms / 1000.0);

    if (s->spool_present) {
        one(w, "vigil_spool_bytes", "gauge", "Bytes the spool holds.", s->spool_bytes);
        one(w, "vigil_spool_records", "gauge", "Records (compressed batches) the spool holds.",
            s->spool_records);
        one(w, "vigil_spool_max_bytes", "gauge", "The spool's bound (spool.max_bytes).",
            s->spool_max_bytes);
        one(w, "vigil_spool_events_appended_total", "counter",
            "Events written to the spool since the agent started.", s->spool_events);
        one(w, "vigil_spool_events_dropped_total", "counter",
            "Events dropped by spool.when_full: drop_oldest before every output took them.",
            s->spool_dropped);
    }

    head(w, "vigil_scans_total", "counter", "Scans by how they ended.");
    OUT("vigil_scans_total{result=\"completed\"} %" PRIu64 "\n",
                  s->scans_completed);
    OUT("vigil_scans_total{result=\"failed\"} %" PRIu64 "\n", s->scans_failed);
    OUT("vigil_scans_total{result=\"skipped\"} %" PRIu64 "\n", s->scans_skipped);
    uint64_t running = 0;
    for (size_t i = 0; i < s->nscans; i++)
        running += s->scans[i].running;
    one(w, "vigil_scans_running", "gauge", "Scans running now.", running);
    head(w, "vigil_findings_total", "counter", "Findings produced, by evaluation.");
    for (int e = 0; e < 3; e++)
        OUT("vigil_findings_total{evaluation=\"%s\"} %" PRIu64 "\n", evals[e],
                      s->findings[e]);

    /* per configured scan: scan="N" is its place in scans: (1-based) */
    head(w, "vigil_scan_duration_seconds", "gauge", "Duration of the scan's last run.");
    for (size_t i = 0; i < s->nscans; i++)
        if (s->scans[i].last_end_ms)
            OUT("vigil_scan_duration_seconds{scan=\"%zu\",provider=\"%s\"} %.3f\n",
                          i + 1, s->scans[i].provider,
                          (double)s->scans[i].last_duration_ms / 1000.0);
    head(w, "vigil_scan_resources", "gauge", "Resources the scan's last run read.");
    for (size_t i = 0; i < s->nscans; i++)
        if (s->scans[i].last_end_ms)
            OUT("vigil_scan_resources{scan=\"%zu\",provider=\"%s\"} %" PRIu64 "\n",
                          i + 1, s->scans[i].provider, s->scans[i].last_resources);
    head(w, "vigil_scan_findings", "gauge", "Findings of the scan's last run, by evaluation.");
    for (size_t i = 0; i < s->nscans; i++)
        for (int e = 0; s->scans[i].last_end_ms && e < 3; e++)
            OUT(
                          "vigil_scan_findings{scan=\"%zu\",provider=\"%s\",evaluation=\"%s\"} "
                          "%" PRIu64 "\n",
                          i + 1, s->scans[i].provider, evals[e], s->scans[i].last_findings[e]);
    head(w, "vigil_scan_last_success_timestamp_seconds", "gauge",
         "Unix time the scan last ended without error; 0: never.");
    for (size_t i = 0; i < s->nscans; i++)
        OUT(
                      "vigil_scan_last_success_timestamp_seconds{scan=\"%zu\",provider=\"%s\"} "
                      "%.3f\n",
                      i + 1, s->scans[i].provider, (double)s->scans[i].last_success_ms / 1000.0);
    head(w, "vigil_scan_interval_seconds", "gauge", "The scan's configured interval.");
    for (size_t i = 0; i < s->nscans; i++)
        OUT("vigil_scan_interval_seconds{scan=\"%zu\",provider=\"%s\"} %" PRId64
                         "\n", i + 1, s->scans[i].provider, s->scans[i].interval_s);

    head(w, "vigil_api_requests_total", "counter",
         "Cloud API requests sent (retries included), by service.");
    for (size_t i = 0; i < s->napi; i++) {
        OUT("vigil_api_requests_total{service=\"");
        label(w, s->api[i].service);
        OUT("\"} %" PRIu64 "\n", s->api[i].requests);
    }
    head(w, "vigil_api_errors_total", "counter",
         "Cloud API calls that failed after their retries, by service.");
    for (size_t i = 0; i < s->napi; i++) {
        OUT("vigil_api_errors_total{service=\"");
        label(w, s->api[i].service);
        OUT("\"} %" PRIu64 "\n", s->api[i].errors);
    }
    return w->err ? VG_ERR_LIMIT : VG_OK;
}

/* ---- the monitoring event --------------------------------------------- */

static enum vg_err set_u(struct vg_json *o, const char *k, uint64_t v)
{
    return vg_json_set_int(o, k, v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

struct vg_json *vg_metrics_ecs_doc(const struct vg_metrics_snapshot *s, const char *agent_name,
                                   const char *namespace)
{
    char now[VG_TIME_RFC3339_LEN], when[VG_TIME_RFC3339_LEN];
    vg_time_rfc3339(s->now_ms, now);
    char reasons[VG_METRICS_MAX_REASONS][320];
    size_t nr;
    bool ok = vg_metrics_health(s, reasons, &nr);

    struct vg_json *doc = vg_json_object();
    if (!doc)
        return NULL;
    enum vg_err err = VG_OK;
    err |= vg_json_set_str(doc, "@timestamp", now);
    struct vg_json *ev = vg_json_child(doc, "event");
    err |= vg_json_set_str(ev, "kind", "metric");
    err |= vg_json_set_str(ev, "dataset", "vigil.monitoring");
    err |= vg_json_set_str(ev, "module", "vigil");
    err |= vg_json_set_str(ev, "created", now);
    char id[VG_EVENT_ID_LEN];
    vg_ecs_event_id("vigil.monitoring", s->agent_id ? s->agent_id : "", now, id);
    err |= vg_json_set_str(ev, "id", id);
    struct vg_json *ds = vg_json_child(doc, "data_stream");
    err |= vg_json_set_str(ds, "type", "logs");
    err |= vg_json_set_str(ds, "dataset", "vigil.monitoring");
    err |= vg_json_set_str(ds, "namespace", namespace ? namespace : "default");
    struct vg_json *ag = vg_json_child(doc, "agent");
    err |= vg_json_set_str(ag, "type", "vigil");
    err |= vg_json_set_str(ag, "name", agent_name);
    err |= vg_json_set_str(ag, "id", s->agent_id);
    err |= vg_json_set_str(ag, "version", s->version);
    err |= vg_json_set_str(vg_json_child(doc, "host"), "name", agent_name);
    err |= vg_json_set_str(vg_json_child(doc, "ecs"), "version", VG_ECS_VERSION);

    uint64_t delivered = 0, retried = 0, dead = 0;
    for (size_t i = 0; i < 2; i++) {
        delivered += s->outputs[i].delivered;
        retried += s->outputs[i].retried;
        dead += s->outputs[i].dead_lettered;
    }
    struct vg_buf msg;
    vg_buf_init(&msg, 2048);
    vg_buf_printf(&msg, "Vigil %s: %" PRIu64 " events produced, %" PRIu64 " delivered, %" PRIu64
                        " scans completed, %" PRIu64 " failed",
                  ok ? "ok" : "degraded", s->events_produced, delivered, s->scans_completed,
                  s->scans_failed);
    for (size_t i = 0; i < nr; i++)
        vg_buf_printf(&msg, "; %s", reasons[i]);
    err |= vg_json_set_str(doc, "message", vg_buf_str(&msg));
    vg_buf_free(&msg);

    struct vg_json *m = vg_json_child(vg_json_child(doc, "vigil"), "monitoring");
    err |= vg_json_set_int(m, "uptime_s", s->uptime_s);
    struct vg_json *h = vg_json_child(m, "health");
    err |= vg_json_set_str(h, "status", ok ? "ok" : "degraded");
    struct vg_json *ra = vg_json_array();
    for (size_t i = 0; ra && i < nr; i++)
        err |= vg_json_push(ra, vg_json_str(reasons[i]));
    err |= vg_json_set(h, "reasons", ra);
    struct vg_json *evs = vg_json_child(m, "events");
    err |= set_u(evs, "produced", s->events_produced);
    err |= set_u(evs, "delivered", delivered);
    err |= set_u(evs, "retried", retried);
    err |= set_u(evs, "dead_lettered", dead);
    err |= set_u(evs, "dropped", s->spool_dropped);
    struct vg_json *outs = vg_json_child(m, "outputs");
    for (size_t i = 0; i < 2; i++) {
        const struct vg_metrics_output *o = &s->outputs[i];
        if (!o->name)
            continue;
        struct vg_json *oj = vg_json_child(outs, o->name);
        err |= set_u(oj, "delivered", o->delivered);
        err |= set_u(oj, "retried", o->retried);
        err |= set_u(oj, "dead_lettered", o->dead_lettered);
        err |= set_u(oj, "pending", o->pending);
        if (o->failing_since_ms) {
            vg_time_rfc3339(o->failing_since_ms, when);
            err |= vg_json_set_str(oj, "failing_since", when);
        }
    }
    if (s->spool_present) {
        struct vg_json *sp = vg_json_child(m, "spool");
        err |= set_u(sp, "bytes", s->spool_bytes);
        err |= set_u(sp, "events", s->spool_events);
        err |= set_u(sp, "max_bytes", s->spool_max_bytes);
    }
    struct vg_json *sc = vg_json_child(m, "scans");
    uint64_t running = 0, overdue = 0;
    for (size_t i = 0; i < s->nscans; i++) {
        const struct vg_metrics_scan *c = &s->scans[i];
        running += c->running;
        /* overdue: no start for twice the interval (the same test as the
         * detection rule over scan summaries) */
        int64_t since = c->last_start_ms ? c->last_start_ms : s->now_ms - s->uptime_s * 1000;
        if (s->now_ms - since > 2 * c->interval_s * 1000)
            overdue++;
    }
    err |= set_u(sc, "started", s->scans_started);
    err |= set_u(sc, "completed", s->scans_completed);
    err |= set_u(sc, "failed", s->scans_failed);
    err |= set_u(sc, "skipped", s->scans_skipped);
    err |= set_u(sc, "running", running);
    err |= set_u(sc, "overdue", overdue);
    struct vg_json *fd = vg_json_child(m, "findings");
    for (int e = 0; e < 3; e++)
        err |= set_u(fd, evals[e], s->findings[e]);
    uint64_t req = 0, apierr = 0;
    for (size_t i = 0; i < s->napi; i++) {
        req += s->api[i].requests;
        apierr += s->api[i].errors;
    }
    struct vg_json *ap = vg_json_child(m, "api");
    err |= set_u(ap, "requests", req);
    err |= set_u(ap, "errors", apierr);
    if (err) {
        vg_json_free(doc);
        return NULL;
    }
    return doc;
}
