/*
 * The daemon's parts: schedule arithmetic, health, the Prometheus text,
 * the monitoring event, the shared output, the HTTP endpoint.
 */
#include "vgtest.h"

#include "../../agent/metrics.h"
#include "../../agent/monitor.h"
#include "../../agent/sched.h"
#include "../../agent/timeutil.h"
#include "../../outputs/output.h"

#include <curl/curl.h>
#include <pthread.h>
#include <unistd.h>

VG_TEST(sched_next_on_time)
{
    uint64_t skipped = 99;
    /* a run shorter than its interval: the next at start + interval */
    CHECK_EQ_INT(vg_sched_next(1000, 1500, 2000, &skipped), 3000);
    CHECK_EQ_INT(skipped, 0);
    /* ending exactly on the next slot: that slot is taken by the run that
     * just ended, the next is one later */
    CHECK_EQ_INT(vg_sched_next(1000, 3000, 2000, &skipped), 5000);
    CHECK_EQ_INT(skipped, 1);
}

VG_TEST(sched_next_overrun_skips)
{
    uint64_t skipped = 0;
    /* started at 0, interval 10 s, took 35 s: the runs due at 10, 20 and
     * 30 are skipped, the next at 40 */
    CHECK_EQ_INT(vg_sched_next(0, 35000, 10000, &skipped), 40000);
    CHECK_EQ_INT(skipped, 3);
    CHECK_EQ_INT(vg_sched_next(500, 500, 0, &skipped), 500);
    CHECK_EQ_INT(skipped, 0);
}

VG_TEST(sched_splay_bounds)
{
    /* a tenth of the interval, at most the configured bound */
    for (uint64_t r = 0; r < 100000; r += 7) {
        int64_t s = vg_sched_splay_ms(3600000, 60000, r);
        CHECK(s >= 0 && s < 60000);
        s = vg_sched_splay_ms(2000, 60000, r);
        CHECK(s >= 0 && s < 200);
    }
    CHECK_EQ_INT(vg_sched_splay_ms(3600000, 0, 12345), 0);
    CHECK_EQ_INT(vg_sched_splay_ms(5, 60000, 12345), 0);
    /* it does spread: not every draw the same */
    CHECK(vg_sched_splay_ms(3600000, 60000, 1) != vg_sched_splay_ms(3600000, 60000, 2));
}

static void base_snapshot(struct vg_metrics_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->now_ms = 1795000000000;
    s->uptime_s = 120;
    s->version = "1.2.3";
    s->agent_id = "agent-\"x\"";
    s->events_produced = 1000;
    s->outputs[0].name = "elasticsearch";
    s->outputs[0].delivered = 990;
    s->outputs[0].pending = 10;
    s->spool_present = true;
    s->spool_bytes = 100;
    s->spool_max_bytes = 1000;
    s->nscans = 1;
    snprintf(s->scans[0].provider, sizeof(s->scans[0].provider), "host");
    s->scans[0].interval_s = 3600;
    s->scans[0].last_start_ms = s->now_ms - 1000;
    s->scans[0].last_end_ms = s->now_ms - 500;
    s->scans[0].last_success_ms = s->now_ms - 500;
    s->scans[0].last_duration_ms = 500;
    s->scans[0].last_findings[1] = 7;
    s->findings[1] = 7;
    s->scans_completed = 1;
}

VG_TEST(health_ok_and_reasons)
{
    struct vg_metrics_snapshot s;
    char r[VG_METRICS_MAX_REASONS][320];
    size_t n = 99;
    base_snapshot(&s);
    CHECK(vg_metrics_health(&s, r, &n));
    CHECK_EQ_INT(n, 0);

    /* failing for less than the grace: still ok (retries are normal) */
    s.outputs[0].failing_since_ms = s.now_ms - VG_METRICS_FAILING_GRACE_MS + 1000;
    CHECK(vg_metrics_health(&s, r, &n));
    s.outputs[0].failing_since_ms = s.now_ms - VG_METRICS_FAILING_GRACE_MS - 1000;
    snprintf(s.outputs[0].last_error, sizeof(s.outputs[0].last_error), "connection refused");
    CHECK(!vg_metrics_health(&s, r, &n));
    CHECK_EQ_INT(n, 1);
    CHECK_CONTAINS(r[0], "elasticsearch: failing since ");
    CHECK_CONTAINS(r[0], "connection refused");

    /* spool full (95% of the bound), last scan failed */
    s.spool_bytes = 960;
    s.scans[0].last_failed = true;
    snprintf(s.scans[0].last_error, sizeof(s.scans[0].last_error), "access denied");
    CHECK(!vg_metrics_health(&s, r, &n));
    CHECK_EQ_INT(n, 3);
    CHECK_CONTAINS(r[1], "spool full: 960 of 1000 bytes");
    CHECK_CONTAINS(r[2], "last scan 1 (host) failed: access denied");

    struct vg_buf b;
    vg_buf_init(&b, 1 << 16);
    bool ok = true;
    CHECK_EQ_INT(vg_metrics_health_json(&s, &b, &ok), VG_OK);
    CHECK(!ok);
    CHECK_CONTAINS(vg_buf_str(&b), "{\"status\":\"degraded\",\"reasons\":[\"elasticsearch");
    vg_buf_free(&b);

    base_snapshot(&s);
    s.outputs[0].stopped = true;
    CHECK(!vg_metrics_health(&s, r, &n));
    CHECK_CONTAINS(r[0], "delivery stopped");
}

VG_TEST(prometheus_text)
{
    struct vg_metrics_snapshot s;
    base_snapshot(&s);
    s.napi = 2;
    snprintf(s.api[0].service, sizeof(s.api[0].service), "s3");
    s.api[0].requests = 12;
    s.api[0].errors = 1;
    snprintf(s.api[1].service, sizeof(s.api[1].service), "iam");
    s.api[1].requests = 3;
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(vg_metrics_prometheus(&s, &b), VG_OK);
    const char *t = vg_buf_str(&b);
    /* label values escaped as the text format asks */
    CHECK_CONTAINS(t, "vigil_info{version=\"1.2.3\",agent_id=\"agent-\\\"x\\\"\"} 1\n");
    CHECK_CONTAINS(t, "# TYPE vigil_events_produced_total counter\nvigil_events_produced_total 1000\n");
    CHECK_CONTAINS(t, "vigil_output_events_delivered_total{output=\"elasticsearch\"} 990\n");
    CHECK_CONTAINS(t, "vigil_output_events_pending{output=\"elasticsearch\"} 10\n");
    CHECK_CONTAINS(t, "vigil_spool_bytes 100\n");
    CHECK_CONTAINS(t, "vigil_scans_total{result=\"completed\"} 1\n");
    CHECK_CONTAINS(t, "vigil_scan_findings{scan=\"1\",provider=\"host\",evaluation=\"failed\"} 7\n");
    CHECK_CONTAINS(t, "vigil_scan_duration_seconds{scan=\"1\",provider=\"host\"} 0.500\n");
    CHECK_CONTAINS(t, "vigil_api_requests_total{service=\"s3\"} 12\n");
    CHECK_CONTAINS(t, "vigil_api_errors_total{service=\"s3\"} 1\n");
    CHECK_CONTAINS(t, "vigil_up 1\n");
    /* every sample line follows a TYPE line of its metric */
    const char *p = t;
    int samples = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        CHECK(nl != NULL);
        if (!nl)
            break;
        if (*p != '#') {
            char name[128];
            size_t n = strcspn(p, "{ ");
            CHECK(n < sizeof(name));
            snprintf(name, sizeof(name), "# TYPE %.*s ", (int)n, p);
            const char *type = strstr(t, name);
            CHECK(type != NULL && type < p);
            samples++;
        }
        p = nl + 1;
    }
    CHECK(samples > 25);
    vg_buf_free(&b);
}

VG_TEST(api_counters)
{
    vg_metrics_api_count("ec2", 5, 0);
    vg_metrics_api_count("ec2", 2, 1);
    vg_metrics_api_count(NULL, 1, 0);
    struct vg_metrics_snapshot *s = calloc(1, sizeof(*s));
    vg_metrics_snapshot_counters(s);
    bool seen = false, other = false;
    for (size_t i = 0; i < s->napi; i++) {
        if (strcmp(s->api[i].service, "ec2") == 0) {
            seen = true;
            CHECK_EQ_INT(s->api[i].requests, 7);
            CHECK_EQ_INT(s->api[i].errors, 1);
        }
        other = other || strcmp(s->api[i].service, "other") == 0;
    }
    CHECK(seen);
    CHECK(other);
    /* past the table's size, services are counted under "other" */
    char name[32];
    for (int i = 0; i < VG_METRICS_MAX_SERVICES + 10; i++) {
        snprintf(name, sizeof(name), "svc%d", i);
        vg_metrics_api_count(name, 1, 0);
    }
    vg_metrics_snapshot_counters(s);
    CHECK(s->napi <= VG_METRICS_MAX_SERVICES + 1);
    uint64_t total = 0;
    for (size_t i = 0; i < s->napi; i++)
        total += s->api[i].requests;
    CHECK_EQ_INT(total, 7 + 1 + VG_METRICS_MAX_SERVICES + 10);
    free(s);
}

VG_TEST(monitoring_event)
{
    struct vg_metrics_snapshot s;
    base_snapshot(&s);
    s.scans[0].last_start_ms = s.now_ms - 3 * 3600 * 1000;   /* overdue */
    struct vg_json *d = vg_metrics_ecs_doc(&s, "agent-1", "prod");
    CHECK(d != NULL);
    if (!d)
        return;
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(vg_json_dump(d, &b), VG_OK);
    const char *t = vg_buf_str(&b);
    CHECK_CONTAINS(t, "\"event\":{\"kind\":\"metric\",\"dataset\":\"vigil.monitoring\"");
    CHECK_CONTAINS(t, "\"data_stream\":{\"type\":\"logs\",\"dataset\":\"vigil.monitoring\","
                      "\"namespace\":\"prod\"}");
    CHECK_CONTAINS(t, "\"events\":{\"produced\":1000,\"delivered\":990,");
    CHECK_CONTAINS(t, "\"outputs\":{\"elasticsearch\":{\"delivered\":990,");
    CHECK_CONTAINS(t, "\"overdue\":1");
    CHECK_CONTAINS(t, "\"health\":{\"status\":\"ok\",\"reasons\":[]}");
    struct vg_json *ev = vg_json_get(d, "event");
    CHECK_EQ_INT(vg_json_str_len(vg_json_get(ev, "id")), 32);
    vg_buf_free(&b);
    vg_json_free(d);
}

/* ---- the shared output: threads writing at once ------------------------ */

struct writer {
    struct vg_output *out;
    char tag;
};

static void *write_lines(void *arg)
{
    struct writer *w = arg;
    char line[300], err[256];
    memset(line, w->tag, sizeof(line));
    for (int i = 0; i < 2000; i++)
        vg_output_write(w->out, line, sizeof(line), err, sizeof(err));
    return NULL;
}

VG_TEST(shared_output_keeps_lines_whole)
{
    char path[] = "/tmp/vigil-shared-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    char spec[64], err[256];
    snprintf(spec, sizeof(spec), "file:%s", path);
    struct vg_output inner[1], out;
    CHECK_EQ_INT(vg_output_open(spec, &inner[0], err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_output_shared(&out, inner, 1), VG_OK);
    struct writer a = { &out, 'a' }, b = { &out, 'b' };
    pthread_t ta, tb;
    pthread_create(&ta, NULL, write_lines, &a);
    pthread_create(&tb, NULL, write_lines, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_EQ_INT(vg_output_shared_lines(&out), 4000);
    CHECK_EQ_INT(vg_output_flush(&out, err, sizeof(err)), VG_OK);
    vg_output_close(&out);
    FILE *f = fopen(path, "r");
    char line[1024];
    int lines = 0, bad = 0;
    while (f && fgets(line, sizeof(line), f)) {
        lines++;
        size_t n = strcspn(line, "\n");
        if (n != 300 || strspn(line, line[0] == 'a' ? "a" : "b") != 300)
            bad++;
    }
    if (f)
        fclose(f);
    CHECK_EQ_INT(lines, 4000);
    CHECK_EQ_INT(bad, 0);
    unlink(path);
}

/* ---- the HTTP endpoint --------------------------------------------------- */

static bool degrade;

static void fill(struct vg_metrics_snapshot *s, void *opaque)
{
    (void)opaque;
    base_snapshot(s);
    if (degrade)
        s->outputs[0].stopped = true;
}

static size_t collect(char *p, size_t size, size_t n, void *u)
{
    vg_buf_append(u, p, size * n);
    return size * n;
}

static long fetch(unsigned port, const char *method, const char *path, struct vg_buf *body,
                  char *ctype, size_t ctlen)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(ctype, ctlen, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    return status;
}

VG_TEST(monitor_endpoint)
{
    char err[256], ct[128];
    struct vg_monitor *m = vg_monitor_start("127.0.0.1:0", fill, NULL, err, sizeof(err));
    CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    unsigned port = vg_monitor_port(m);
    CHECK(port > 0);
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    degrade = false;
    CHECK_EQ_INT(fetch(port, "GET", "/health", &b, ct, sizeof(ct)), 200);
    CHECK_EQ_STR(vg_buf_str(&b), "{\"status\":\"ok\"}\n");
    CHECK_EQ_STR(ct, "application/json");
    vg_buf_reset(&b);
    degrade = true;
    CHECK_EQ_INT(fetch(port, "GET", "/health", &b, ct, sizeof(ct)), 503);
    CHECK_CONTAINS(vg_buf_str(&b), "\"status\":\"degraded\"");
    vg_buf_reset(&b);
    CHECK_EQ_INT(fetch(port, "GET", "/metrics", &b, ct, sizeof(ct)), 200);
    CHECK_CONTAINS(vg_buf_str(&b), "vigil_up 0\n");
    CHECK_EQ_STR(ct, "text/plain; version=0.0.4; charset=utf-8");
    vg_buf_reset(&b);
    CHECK_EQ_INT(fetch(port, "GET", "/", &b, ct, sizeof(ct)), 404);
    vg_buf_reset(&b);
    CHECK_EQ_INT(fetch(port, "POST", "/metrics", &b, ct, sizeof(ct)), 405);
    vg_buf_free(&b);
    vg_monitor_stop(m);
}

VG_TEST(monitor_bad_addresses)
{
    char err[256];
    static const char *const bad[] = { "127.0.0.1", "127.0.0.1:", ":80", "[::1]5066",
                                       "127.0.0.1:99999", "127.0.0.1:8x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK(vg_monitor_start(bad[i], fill, NULL, err, sizeof(err)) == NULL);
        CHECK_CONTAINS(err, "agent.http.listen");
    }
    /* a port in use */
    struct vg_monitor *a = vg_monitor_start("127.0.0.1:0", fill, NULL, err, sizeof(err));
    CHECK(a != NULL);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", vg_monitor_port(a));
    CHECK(vg_monitor_start(addr, fill, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "cannot listen on");
    vg_monitor_stop(a);
}

VG_TEST_MAIN()
