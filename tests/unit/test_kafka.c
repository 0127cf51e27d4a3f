/*
 * The Kafka output against librdkafka's mock cluster (a Kafka protocol
 * broker in-process, reached over TCP like any broker): round trip with
 * keys, headers and zstd, injected produce errors, a broker down and up,
 * a message too large for the dead-letter file, configuration errors.
 */
#include "vgtest.h"
#include "../../agent/buf.h"
#include "../../agent/hash.h"
#include "../../agent/json.h"
#include "../../agent/log.h"
#include "../../agent/timeutil.h"
#include "../../config/config.h"
#include "../../outputs/kafka/kafka.h"
#include "../../outputs/output.h"
#include "../../outputs/spool.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct vg_buf logbuf;

static void log_sink(enum vg_log_level level, const char *area, const char *line, void *opaque)
{
    (void)level;
    (void)opaque;
    pthread_mutex_lock(&log_mu);
    vg_buf_printf(&logbuf, "%s: %s\n", area, line);
    pthread_mutex_unlock(&log_mu);
}

/* ---- the mock cluster -------------------------------------------------- */

struct mock {
    rd_kafka_t *rk;               /* owns the cluster */
    rd_kafka_mock_cluster_t *mc;
    char bootstraps[256];
};

static int mock_start(struct mock *m, int nbrokers)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "log_level", "0", err, sizeof(err));
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!m->rk)
        return -1;
    m->mc = rd_kafka_mock_cluster_new(m->rk, nbrokers);
    if (!m->mc)
        return -1;
    snprintf(m->bootstraps, sizeof(m->bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(m->mc));
    return 0;
}

static void mock_stop(struct mock *m)
{
    if (m->mc)
        rd_kafka_mock_cluster_destroy(m->mc);
    if (m->rk)
        rd_kafka_destroy(m->rk);
}

/* ---- events ------------------------------------------------------------ */

static char *make_event(int i, size_t pad)
{
    struct vg_buf b;
    vg_buf_init(&b, 16u << 20);
    vg_buf_printf(&b,
                  "{\"@timestamp\":\"2026-11-26T10:00:05.123Z\",\"event\":{\"kind\":\"state\","
                  "\"id\":\"ev-%06d\",\"dataset\":\"vigil.findings\"},\"rule\":{\"id\":"
                  "\"rule.%d\"},\"resource\":{\"id\":\"res-%d\"},\"ecs\":{\"version\":\"8.11.0\"},"
                  "\"vigil\":{\"severity\":\"%s\"},\"message\":\"finding %d\",\"pad\":\"",
                  i, i % 7, i, i % 2 ? "high" : "low", i);
    for (size_t k = 0; k < pad; k++)
        vg_buf_appendc(&b, (char)('a' + (k % 26)));
    vg_buf_appends(&b, "\"}");
    return vg_buf_detach(&b);
}

static struct vg_spool *mem_spool(void)
{
    struct vg_spool_opts o = { .dir = NULL, .max_bytes = 256u << 20, .segment_bytes = 16u << 20,
                               .when_full = VG_SPOOL_BLOCK, .fsync = false };
    char err[256];
    return vg_spool_open(&o, err, sizeof(err));
}

/* Appends events [from, to), each padded with pad bytes (big: index big_at). */
static void append_range(struct vg_spool *sp, int from, int to, size_t pad, int big_at,
                         size_t big)
{
    for (int i = from; i < to; i += 50) {
        char *evs[50];
        size_t lens[50];
        int n = 0;
        for (int k = i; k < to && n < 50; k++, n++) {
            evs[n] = make_event(k, k == big_at ? big : pad);
            lens[n] = strlen(evs[n]);
        }
        char err[256];
        CHECK_EQ_INT(vg_spool_append(sp, (const char *const *)evs, lens, (size_t)n, -1, err,
                                     sizeof(err)), VG_OK);
        for (int k = 0; k < n; k++)
            free(evs[k]);
    }
}

static struct vg_config *kcfg(const char *brokers, const char *extra)
{
    char text[4096], err[512];
    snprintf(text, sizeof(text),
             "agent:\n  state_dir: %s\noutputs:\n  kafka:\n    brokers: [\"%s\"]\n"
             "    linger_ms: 5\n    dead_letter_path: %s/dead.ndjson\n%s",
             tmpdir, brokers, tmpdir, extra ? extra : "");
    struct vg_config *c = vg_config_load_string("t.yml", text, strlen(text), err, sizeof(err));
    if (!c)
        fprintf(stderr, "config: %s\n", err);
    return c;
}

/* ---- consuming back ---------------------------------------------------- */

struct got;
typedef void (*check_fn)(struct got *g, const rd_kafka_message_t *m);
struct got {
    check_fn check;      /* NULL: check_message */
    int n;
    int *seen;           /* per event index: times consumed */
    int bad;             /* messages whose key, headers or value are wrong */
    int nevents;
    bool zstd_seen;
};

static const char *hdr(rd_kafka_headers_t *h, const char *name, char *out, size_t cap)
{
    const void *v;
    size_t sz;
    if (!h || rd_kafka_header_get_last(h, name, &v, &sz) || sz >= cap)
        return NULL;
    memcpy(out, v, sz);
    out[sz] = '\0';
    return out;
}

/* Checks one message against the event it carries. */
static void check_message(struct got *g, const rd_kafka_message_t *m)
{
    char tmp[64];
    int i = -1;
    char *copy = malloc(m->len + 1);
    if (copy) {
        memcpy(copy, m->payload, m->len);
        copy[m->len] = '\0';
        const char *p = strstr(copy, "\"ev-");
        if (p)
            i = atoi(p + 4);
        free(copy);
    }
    if (i < 0 || i >= g->nevents) {
        g->bad++;
        return;
    }
    g->seen[i]++;
    char *want = make_event(i, 40);
    bool ok = m->len == strlen(want) && memcmp(m->payload, want, m->len) == 0;
    free(want);
    /* key: SHA-256 of rule.id NUL resource.id, hex */
    char buf[64];
    int bl = snprintf(buf, sizeof(buf), "rule.%d", i % 7);
    int rl = snprintf(buf + bl + 1, sizeof(buf) - (size_t)bl - 1, "res-%d", i);
    uint8_t d[VG_SHA256_LEN];
    vg_sha256(buf, (size_t)bl + 1 + (size_t)rl, d);
    char hex[2 * VG_SHA256_LEN + 1];
    vg_hex(d, VG_SHA256_LEN, hex);
    ok = ok && m->key_len == 64 && memcmp(m->key, hex, 64) == 0;
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(m, &h);
    const char *v = hdr(h, "ecs.version", tmp, sizeof(tmp));
    ok = ok && v && strcmp(v, "8.11.0") == 0;
    v = hdr(h, "event.dataset", tmp, sizeof(tmp));
    ok = ok && v && strcmp(v, "vigil.findings") == 0;
    v = hdr(h, "vigil.severity", tmp, sizeof(tmp));
    ok = ok && v && strcmp(v, i % 2 ? "high" : "low") == 0;
    char rid[32];
    snprintf(rid, sizeof(rid), "rule.%d", i % 7);
    v = hdr(h, "rule.id", tmp, sizeof(tmp));
    ok = ok && v && strcmp(v, rid) == 0;
    if (!ok)
        g->bad++;
    g->n++;
}

static bool zstd_logged, other_codec_logged;
static void consumer_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    /* the consumer's debug line for each message set fetched ends with its
     * codec: "... aborted msgsets, zstd)" */
    if (strstr(buf, "msgsets, zstd)"))
        zstd_logged = true;
    else if (strstr(buf, "msgsets, "))
        other_codec_logged = true;
}

/* Reads the topic from the start to its end (partition EOF after want
 * messages), within 30 s. */
static void consume_all(const char *bootstraps, const char *topic, int want, struct got *g)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", bootstraps, err, sizeof(err));
    rd_kafka_conf_set(c, "group.id", "vigil-test", err, sizeof(err));
    rd_kafka_conf_set(c, "enable.partition.eof", "true", err, sizeof(err));
    rd_kafka_conf_set(c, "auto.offset.reset", "earliest", err, sizeof(err));
    rd_kafka_conf_set(c, "debug", "msg", err, sizeof(err));
    rd_kafka_conf_set_log_cb(c, consumer_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    CHECK(rk != NULL);
    if (!rk)
        return;
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, tp);
    rd_kafka_topic_partition_list_destroy(tp);
    int64_t deadline = vg_time_mono_ms() + 30000;
    while (vg_time_mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            if (g->n >= want)
                break;
            continue;
        }
        if (!m->err)
            (g->check ? g->check : check_message)(g, m);
        rd_kafka_message_destroy(m);
    }
    g->zstd_seen = zstd_logged;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* Runs an output over events [0, n) until drained; fills stats. */
static enum vg_err run_output(struct vg_kafka *k, struct vg_kafka_stats *st)
{
    CHECK_EQ_INT(vg_kafka_start(k), VG_OK);
    uint64_t left = 99;
    enum vg_err e = vg_kafka_drain(k, vg_time_mono_ms() + 60000, &left);
    CHECK_EQ_INT(left, 0);
    vg_kafka_stop(k);
    vg_kafka_get_stats(k, st);
    return e;
}

static void check_exactly_once(struct got *g, int n)
{
    int missing = 0, dup = 0;
    for (int i = 0; i < n; i++) {
        missing += g->seen[i] == 0;
        dup += g->seen[i] > 1;
    }
    CHECK_EQ_INT(missing, 0);
    CHECK_EQ_INT(dup, 0);
    CHECK_EQ_INT(g->bad, 0);
    CHECK_EQ_INT(g->n, n);
}

/* Ships the n events in sp with an output configured with extra, then
 * consumes them back: each exactly once, with its key and headers. */
static void ship_and_check(struct mock *m, struct vg_spool *sp, const char *extra, int n)
{
    struct vg_config *cfg = kcfg(m->bootstraps, extra);
    char err[1024];
    struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
    CHECK(k != NULL);
    if (k) {
        struct vg_kafka_stats st;
        CHECK_EQ_INT(run_output(k, &st), VG_OK);
        CHECK_EQ_INT(st.acked, (uint64_t)n);
        CHECK_EQ_INT(st.dead_lettered, 0);
        struct got g = { .seen = calloc((size_t)n, sizeof(int)), .nevents = n };
        consume_all(m->bootstraps, "vigil-vigil.findings", n, &g);
        check_exactly_once(&g, n);
        free(g.seen);
    }
    vg_kafka_destroy(k);
    vg_config_destroy(cfg);
}

/* ---- tests ------------------------------------------------------------- */

VG_TEST(round_trip_keys_headers_zstd)
{
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 3), 0);
    rd_kafka_mock_topic_create(m.mc, "vigil-vigil.findings", 1, 3);
    struct vg_spool *sp = mem_spool();
    const int n = 2000;
    append_range(sp, 0, n, 40, -1, 0);
    struct vg_config *cfg = kcfg(m.bootstraps, NULL);
    char err[1024];
    struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
    CHECK(k != NULL);
    if (k) {
        struct vg_kafka_stats st;
        CHECK_EQ_INT(run_output(k, &st), VG_OK);
        CHECK_EQ_INT(st.delivered, (uint64_t)n);
        CHECK_EQ_INT(st.acked, (uint64_t)n);
        CHECK_EQ_INT(st.dead_lettered, 0);
        struct got g = { .seen = calloc((size_t)n, sizeof(int)), .nevents = n };
        zstd_logged = other_codec_logged = false;
        consume_all(m.bootstraps, "vigil-vigil.findings", n, &g);
        check_exactly_once(&g, n);
        CHECK(g.zstd_seen);
        CHECK(!other_codec_logged);
        free(g.seen);
    }
    vg_kafka_destroy(k);
    vg_config_destroy(cfg);
    vg_spool_close(sp);
    mock_stop(&m);
}

/* The route of make_event(i): the values its JSON holds, but severity
 * (when sev is not NULL). */
static void route_of(int i, const char *sev, struct vg_buf *b)
{
    char id[32], rule[32], res[32];
    snprintf(id, sizeof(id), "ev-%06d", i);
    snprintf(rule, sizeof(rule), "rule.%d", i % 7);
    snprintf(res, sizeof(res), "res-%d", i);
    const char *v[VG_RT_N] = { id, "vigil.findings", "default", "8.11.0", rule, res,
                               sev ? sev : i % 2 ? "high" : "low" };
    vg_buf_reset(b);
    CHECK_EQ_INT(vg_route_append(b, v), VG_OK);
}

/* Events [0, n) with their routes in every other batch of 50, and in
 * those, every fifth event without one: the output reads routed and
 * unrouted events alike. */
VG_TEST(routed_events_give_the_same_keys_and_headers)
{
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "vigil-vigil.findings", 1, 1);
    struct vg_spool *sp = mem_spool();
    const int n = 1000;
    for (int i = 0; i < n; i += 50) {
        char *evs[50], *rts[50];
        size_t lens[50], rlens[50];
        struct vg_buf rb;
        vg_buf_init(&rb, 4096);
        for (int k = 0; k < 50; k++) {
            evs[k] = make_event(i + k, 40);
            lens[k] = strlen(evs[k]);
            route_of(i + k, NULL, &rb);
            rlens[k] = k % 5 ? rb.len : 0;   /* (its inner NULs counted) */
            rts[k] = vg_buf_detach(&rb);
        }
        char err[256];
        bool routed = (i / 50) % 2 == 0;
        CHECK_EQ_INT(vg_spool_append_routed(sp, (const char *const *)evs, lens,
                                            routed ? (const char *const *)rts : NULL,
                                            routed ? rlens : NULL, 50, -1, err, sizeof(err)),
                     VG_OK);
        for (int k = 0; k < 50; k++) {
            free(evs[k]);
            free(rts[k]);
        }
        vg_buf_free(&rb);
    }
    ship_and_check(&m, sp, NULL, n);
    vg_spool_close(sp);
    mock_stop(&m);
}

/* A route is what the output goes by: a route saying "critical" puts
 * "critical" in the header though the event's JSON says "low"; a route
 * that is not one (a field short) is passed over for the JSON. */
static void check_route_precedence(struct got *g, const rd_kafka_message_t *m)
{
    char tmp[64];
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(m, &h);
    const char *v = hdr(h, "vigil.severity", tmp, sizeof(tmp));
    /* event 0: routed "critical"; event 2: a broken route, JSON "low" */
    char *copy = strndup(m->payload, m->len);
    bool is0 = copy && strstr(copy, "\"ev-000000\"");
    free(copy);
    if (!v || strcmp(v, is0 ? "critical" : "low") != 0)
        g->bad++;
    g->n++;
}

VG_TEST(a_route_is_read_instead_of_the_event)
{
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "vigil-vigil.findings", 1, 1);
    struct vg_spool *sp = mem_spool();
    char *evs[2] = { make_event(0, 10), make_event(2, 10) };
    size_t lens[2] = { strlen(evs[0]), strlen(evs[1]) };
    struct vg_buf rb;
    vg_buf_init(&rb, 4096);
    route_of(0, "critical", &rb);
    size_t r0len = rb.len;
    char *r0 = vg_buf_detach(&rb);
    /* a route of six fields: not one */
    const char broken[] = "ev-000002\0vigil.findings\0default\0" "8.11.0\0rule.2\0critical";
    const char *rts[2] = { r0, broken };
    size_t rlens[2] = { r0len, sizeof(broken) - 1 };
    char err[1024];
    CHECK_EQ_INT(vg_spool_append_routed(sp, (const char *const *)evs, lens, rts, rlens, 2, -1,
                                        err, sizeof(err)),
                 VG_OK);
    struct vg_config *cfg = kcfg(m.bootstraps, NULL);
    struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
    CHECK(k != NULL);
    if (k) {
        struct vg_kafka_stats st;
        CHECK_EQ_INT(run_output(k, &st), VG_OK);
        CHECK_EQ_INT(st.acked, 2);
        struct got g = { .check = check_route_precedence };
        consume_all(m.bootstraps, "vigil-vigil.findings", 2, &g);
        CHECK_EQ_INT(g.n, 2);
        CHECK_EQ_INT(g.bad, 0);
    }
    vg_kafka_destroy(k);
    vg_config_destroy(cfg);
    vg_spool_close(sp);
    mock_stop(&m);
    free(r0);
    free(evs[0]);
    free(evs[1]);
}

VG_TEST(injected_produce_errors_lose_and_duplicate_nothing)
{
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "vigil-vigil.findings", 1, 1);
    /* retriable errors on the first Produce requests */
    rd_kafka_mock_push_request_errors(m.mc, 0 /* Produce */, 6,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                                      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    struct vg_spool *sp = mem_spool();
    const int n = 1000;
    append_range(sp, 0, n, 40, -1, 0);
    ship_and_check(&m, sp, "    properties:\n      retry.backoff.ms: \"10\"\n", n);
    vg_spool_close(sp);
    mock_stop(&m);
}

VG_TEST(broker_down_then_up_loses_nothing)
{
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "vigil-vigil.findings", 1, 1);
    struct vg_spool *sp = mem_spool();
    const int n = 600;
    append_range(sp, 0, 300, 40, -1, 0);
    struct vg_config *cfg = kcfg(m.bootstraps, "    properties:\n      reconnect.backoff.max.ms: \"200\"\n");
    char err[1024];
    struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
    CHECK(k != NULL);
    if (k) {
        CHECK_EQ_INT(vg_kafka_start(k), VG_OK);
        /* the first half delivered, then the broker goes down */
        uint64_t left = 1;
        CHECK_EQ_INT(vg_kafka_drain(k, vg_time_mono_ms() + 30000, &left), VG_OK);
        rd_kafka_mock_broker_set_down(m.mc, 1);
        append_range(sp, 300, n, 40, -1, 0);
        /* nothing more can be acknowledged while it is down */
        CHECK_EQ_INT(vg_kafka_drain(k, vg_time_mono_ms() + 1500, &left), VG_ERR_LIMIT);
        CHECK_EQ_INT(left, 300);
        struct vg_kafka_stats st;
        vg_kafka_get_stats(k, &st);
        CHECK_EQ_INT(st.acked, 300);
        rd_kafka_mock_broker_set_up(m.mc, 1);
        CHECK_EQ_INT(vg_kafka_drain(k, vg_time_mono_ms() + 60000, &left), VG_OK);
        CHECK_EQ_INT(left, 0);
        vg_kafka_stop(k);
        vg_kafka_get_stats(k, &st);
        CHECK_EQ_INT(st.acked, (uint64_t)n);
        struct got g = { .seen = calloc((size_t)n, sizeof(int)), .nevents = n };
        consume_all(m.bootstraps, "vigil-vigil.findings", n, &g);
        check_exactly_once(&g, n);
        free(g.seen);
    }
    vg_kafka_destroy(k);
    vg_config_destroy(cfg);
    vg_spool_close(sp);
    mock_stop(&m);
}

static int count_lines_with(const char *path, const char *needle)
{
    struct vg_buf b;
    vg_buf_init(&b, 64u << 20);
    int n = 0;
    if (vg_buf_read_file(&b, path) == VG_OK) {
        vg_buf_appendc(&b, '\0');
        for (const char *p = b.data; (p = strstr(p, needle)) != NULL; p++)
            n++;
    }
    vg_buf_free(&b);
    return n;
}

VG_TEST(too_large_goes_to_dead_letter)
{
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "vigil-vigil.findings", 1, 1);
    struct vg_spool *sp = mem_spool();
    const int n = 100;
    append_range(sp, 0, n, 40, 37, 50000);
    struct vg_config *cfg = kcfg(m.bootstraps, "    properties:\n      message.max.bytes: \"20000\"\n");
    char err[1024], path[128];
    snprintf(path, sizeof(path), "%s/dead.ndjson", tmpdir);
    unlink(path);
    struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
    CHECK(k != NULL);
    if (k) {
        struct vg_kafka_stats st;
        CHECK_EQ_INT(run_output(k, &st), VG_OK);
        CHECK_EQ_INT(st.dead_lettered, 1);
        CHECK_EQ_INT(st.delivered, (uint64_t)n - 1);
        CHECK_EQ_INT(st.acked, (uint64_t)n);
        CHECK_EQ_INT(count_lines_with(path, "\"type\":\"MSG_SIZE_TOO_LARGE\""), 1);
        CHECK_EQ_INT(count_lines_with(path, "\"id\":\"ev-000037\""), 1);
        CHECK_EQ_INT(count_lines_with(path, "\n"), 1);
    }
    vg_kafka_destroy(k);
    vg_config_destroy(cfg);
    vg_spool_close(sp);
    mock_stop(&m);
}

VG_TEST(permanent_broker_error_goes_to_dead_letter)
{
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "vigil-vigil.findings", 1, 1);
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 1, 40, -1, 0);
    rd_kafka_mock_push_request_errors(m.mc, 0, 1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    struct vg_config *cfg = kcfg(m.bootstraps, NULL);
    char err[1024], path[128];
    snprintf(path, sizeof(path), "%s/dead.ndjson", tmpdir);
    unlink(path);
    struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
    CHECK(k != NULL);
    if (k) {
        struct vg_kafka_stats st;
        CHECK_EQ_INT(run_output(k, &st), VG_OK);
        CHECK_EQ_INT(st.dead_lettered, 1);
        CHECK_EQ_INT(st.acked, 1);
        CHECK_EQ_INT(count_lines_with(path, "TOPIC_AUTHORIZATION_FAILED"), 1);
        CHECK_EQ_INT(count_lines_with(path, "\"id\":\"ev-000000\""), 1);
    }
    vg_kafka_destroy(k);
    vg_config_destroy(cfg);
    vg_spool_close(sp);
    mock_stop(&m);
}

VG_TEST(restart_resends_only_unacknowledged)
{
    /* a disk spool: stop mid-way, a new output on the same spool sends the
     * rest; Kafka then holds every event (exactly once here, since stop
     * waits for in-flight reports) */
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "vigil-vigil.findings", 1, 1);
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/spool", tmpdir);
    struct vg_spool_opts o = { .dir = dir, .max_bytes = 64u << 20, .segment_bytes = 1u << 20,
                               .when_full = VG_SPOOL_BLOCK, .fsync = true };
    char err[1024];
    struct vg_spool *sp = vg_spool_open(&o, err, sizeof(err));
    CHECK(sp != NULL);
    if (!sp) {
        mock_stop(&m);
        return;
    }
    const int n = 500;
    append_range(sp, 0, 250, 40, -1, 0);
    struct vg_config *cfg = kcfg(m.bootstraps, NULL);
    struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
    CHECK(k != NULL);
    struct vg_kafka_stats st = { 0 };
    if (k)
        run_output(k, &st);
    vg_kafka_destroy(k);
    vg_spool_close(sp);
    sp = vg_spool_open(&o, err, sizeof(err));
    CHECK(sp != NULL);
    if (sp) {
        append_range(sp, 250, n, 40, -1, 0);
        k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
        CHECK(k != NULL);
        if (k) {
            CHECK_EQ_INT(run_output(k, &st), VG_OK);
            CHECK_EQ_INT(st.delivered, 250);
        }
        vg_kafka_destroy(k);
        struct got g = { .seen = calloc((size_t)n, sizeof(int)), .nevents = n };
        consume_all(m.bootstraps, "vigil-vigil.findings", n, &g);
        check_exactly_once(&g, n);
        free(g.seen);
        vg_spool_close(sp);
    }
    vg_config_destroy(cfg);
    mock_stop(&m);
}

static int count_messages(const char *bootstraps, const char *topic);

/* Runs 1000 events through an output while the broker answers the first
 * Produce requests with errs (nerr of them), which librdkafka takes as
 * fatal for the idempotent producer (fatal_name is the error it must
 * report); props are more producer properties (YAML lines). The output
 * must recreate the producer and lose nothing. Duplicates are allowed only
 * as whole copies of an event (same event.id, key, headers and value). */
static void fatal_case(const char *what, int nerr, const rd_kafka_resp_err_t *errs,
                       const char *fatal_name, const char *props)
{
    fprintf(stderr, "  %s\n", what);
    pthread_mutex_lock(&log_mu);
    size_t log_from = logbuf.len;
    pthread_mutex_unlock(&log_mu);
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "vigil-vigil.findings", 1, 1);
    rd_kafka_mock_push_request_errors_array(m.mc, 0 /* Produce */, (size_t)nerr, errs);
    struct vg_spool *sp = mem_spool();
    const int n = 1000;
    append_range(sp, 0, n, 40, -1, 0);
    char extra[256];
    snprintf(extra, sizeof(extra), "    properties:\n      retry.backoff.ms: \"10\"\n%s", props);
    struct vg_config *cfg = kcfg(m.bootstraps, extra);
    char err[1024];
    struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
    CHECK(k != NULL);
    if (k) {
        struct vg_kafka_stats st;
        CHECK_EQ_INT(run_output(k, &st), VG_OK);
        CHECK(st.producer_restarts >= 1);
        CHECK_EQ_INT(st.acked, (uint64_t)n);
        CHECK_EQ_INT(st.dead_lettered, 0);
        /* the fatal error librdkafka raised is the one injected */
        char want[128];
        snprintf(want, sizeof(want), "fatal producer error %s: ", fatal_name);
        pthread_mutex_lock(&log_mu);
        CHECK(strstr(vg_buf_str(&logbuf) + log_from, want) != NULL);
        pthread_mutex_unlock(&log_mu);
        int total = count_messages(m.bootstraps, "vigil-vigil.findings");
        struct got g = { .seen = calloc((size_t)n, sizeof(int)), .nevents = n };
        consume_all(m.bootstraps, "vigil-vigil.findings", total, &g);
        int missing = 0, dup = 0;
        for (int i = 0; i < n; i++) {
            missing += g.seen[i] == 0;
            dup += g.seen[i] > 1 ? g.seen[i] - 1 : 0;
        }
        CHECK_EQ_INT(missing, 0);
        CHECK_EQ_INT(g.bad, 0);
        CHECK_EQ_INT(g.n, n + dup);
        CHECK_EQ_INT(total, n + dup);
        fprintf(stderr, "    %llu producer restart(s), %llu resent, %d messages in Kafka, "
                        "%d duplicates\n", (unsigned long long)st.producer_restarts,
                (unsigned long long)st.retried, g.n, dup);
        free(g.seen);
    }
    vg_kafka_destroy(k);
    vg_config_destroy(cfg);
    vg_spool_close(sp);
    mock_stop(&m);
}

VG_TEST(fatal_idempotence_errors_recreate_the_producer)
{
    /* the first request in flight out of sequence: librdkafka cannot tell
     * what the broker holds ("sequence desynchronization"). Batches of 100:
     * the requests in flight behind it are answered (the mock cluster checks
     * no sequence numbers here), those still queued are purged. */
    static const rd_kafka_resp_err_t out_of_order[] = {
        RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
    };
    fatal_case("OUT_OF_ORDER_SEQUENCE_NUMBER on the first Produce request", 1, out_of_order,
               "OUT_OF_ORDER_SEQUENCE_NUMBER", "      batch.num.messages: \"100\"\n");
    /* a timeout (the batch may be on the broker), then the broker forgets
     * the producer id: the retry cannot be made safely ("unable to retry
     * without risking duplication/reordering"). One request in flight, so
     * that the second error is the retry's answer (a second batch's would
     * be recovered from by bumping the epoch, without a fatal error). */
    static const rd_kafka_resp_err_t unknown_pid[] = {
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID,
    };
    fatal_case("REQUEST_TIMED_OUT, then UNKNOWN_PRODUCER_ID on its retry", 2, unknown_pid,
               "UNKNOWN_PRODUCER_ID", "      max.in.flight.requests.per.connection: \"1\"\n");
}

VG_TEST(configuration_errors)
{
    struct vg_spool *sp = mem_spool();
    char err[1024];
    struct vg_config *cfg = kcfg("localhost:1", "    properties:\n      no.such.property: \"1\"\n");
    CHECK(cfg != NULL);
    CHECK(vg_kafka_new(cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "outputs.kafka.properties.no.such.property: ");
    CHECK_CONTAINS(err, "No such configuration property");
    vg_config_destroy(cfg);

    cfg = kcfg("localhost:1", "    compression: brotli\n");
    CHECK(vg_kafka_new(cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "outputs.kafka.compression: ");
    vg_config_destroy(cfg);

    cfg = kcfg("localhost:1", "    properties:\n      acks: \"lots\"\n");
    CHECK(vg_kafka_new(cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "outputs.kafka.properties.acks: ");
    vg_config_destroy(cfg);

    static const char *const bad_topics[] = { "vigil-{", "vigil-{}", "a}b", "{a b}", "" };
    for (size_t i = 0; i < sizeof(bad_topics) / sizeof(*bad_topics); i++) {
        char extra[128];
        snprintf(extra, sizeof(extra), "    topic: \"%s\"\n", bad_topics[i]);
        cfg = kcfg("localhost:1", extra);
        if (!cfg)
            continue;   /* refused by the schema already */
        err[0] = '\0';
        struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
        if (*bad_topics[i]) {
            CHECK(k == NULL);
            CHECK_CONTAINS(err, "outputs.kafka.topic: ");
        }
        vg_kafka_destroy(k);
        vg_config_destroy(cfg);
    }

    /* the good ones: codecs librdkafka offers, SASL/SSL passed through */
    static const char *const codecs[] = { "none", "gzip", "snappy", "lz4", "zstd" };
    for (size_t i = 0; i < 5; i++) {
        char extra[128];
        snprintf(extra, sizeof(extra), "    compression: %s\n", codecs[i]);
        cfg = kcfg("localhost:1", extra);
        struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
        CHECK(k != NULL);
        if (!k)
            fprintf(stderr, "%s: %s\n", codecs[i], err);
        vg_kafka_destroy(k);
        vg_config_destroy(cfg);
    }
    cfg = kcfg("localhost:1", "    topic: \"siem-{vigil.severity}-{event.dataset}\"\n"
                              "    properties:\n      security.protocol: SASL_PLAINTEXT\n"
                              "      sasl.mechanism: SCRAM-SHA-512\n      sasl.username: u\n"
                              "      sasl.password: p\n");
    struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
    CHECK(k != NULL);
    vg_kafka_destroy(k);
    vg_kafka_destroy(NULL);
    vg_config_destroy(cfg);

    /* without brokers the schema refuses already */
    char text[] = "outputs:\n  kafka:\n    topic: x\n";
    cfg = vg_config_load_string("t.yml", text, strlen(text), err, sizeof(err));
    if (cfg) {
        CHECK(vg_kafka_new(cfg, sp, NULL, err, sizeof(err)) == NULL);
        CHECK_CONTAINS(err, "outputs.kafka.brokers");
        vg_config_destroy(cfg);
    }
    vg_spool_close(sp);
}

VG_TEST(topic_template_and_invalid_events)
{
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 1), 0);
    struct vg_spool *sp = mem_spool();
    const char *evs[3] = {
        "{\"event\":{\"id\":\"a1\",\"dataset\":\"vigil.scans\"},\"vigil\":{\"severity\":\"x/y z\"}}",
        "not json {",
        "{\"event\":{\"id\":\"a3\",\"dataset\":\"vigil.scans\"}}",
    };
    size_t lens[3] = { strlen(evs[0]), strlen(evs[1]), strlen(evs[2]) };
    char err[1024], path[128];
    CHECK_EQ_INT(vg_spool_append(sp, evs, lens, 3, -1, err, sizeof(err)), VG_OK);
    snprintf(path, sizeof(path), "%s/dead.ndjson", tmpdir);
    unlink(path);
    struct vg_config *cfg = kcfg(m.bootstraps, "    topic: \"t-{vigil.severity}\"\n");
    struct vg_kafka *k = vg_kafka_new(cfg, sp, NULL, err, sizeof(err));
    CHECK(k != NULL);
    if (k) {
        struct vg_kafka_stats st;
        CHECK_EQ_INT(run_output(k, &st), VG_OK);
        /* a1 goes to t-x_y_z; a3 lacks the field: "t-" still names a topic */
        CHECK_EQ_INT(st.delivered, 2);
        CHECK_EQ_INT(st.dead_lettered, 1);
        CHECK_EQ_INT(count_lines_with(path, "vigil_invalid_event"), 1);
        CHECK_EQ_INT(count_lines_with(path, "\"event\":\"not json {\""), 1);
    }
    vg_kafka_destroy(k);
    vg_config_destroy(cfg);
    vg_spool_close(sp);
    mock_stop(&m);
}


/* ---- SIGKILL during delivery ------------------------------------------- */

static struct vg_spool_opts disk_opts(const char *dir)
{
    return (struct vg_spool_opts){ .dir = dir, .max_bytes = 64u << 20,
                                   .segment_bytes = 256u << 10, .when_full = VG_SPOOL_BLOCK,
                                   .fsync = true };
}

/* The child (this binary, exec'ed with --child DIR BOOTSTRAPS): delivers
 * the spool at DIR until killed. */
static int child_main(const char *dir, const char *bootstraps)
{
    struct vg_spool_opts o = disk_opts(dir);
    char err[1024];
    struct vg_spool *sp = vg_spool_open(&o, err, sizeof(err));
    if (!sp) {
        fprintf(stderr, "child: %s\n", err);
        return 3;
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s", dir);
    struct vg_config *cfg = kcfg(bootstraps, "    properties:\n      batch.num.messages: \"20\"\n");
    struct vg_kafka *k = cfg ? vg_kafka_new(cfg, sp, dir, err, sizeof(err)) : NULL;
    if (!k || vg_kafka_start(k)) {
        fprintf(stderr, "child: %s\n", err);
        return 3;
    }
    vg_kafka_drain(k, -1, NULL);
    return 0;   /* not reached in the test: it is killed before */
}

static int count_messages(const char *bootstraps, const char *topic)
{
    /* the partition's high watermark, as the broker reports it */
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", bootstraps, err, sizeof(err));
    rd_kafka_conf_set(c, "log_level", "0", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (!rk)
        return -1;
    int64_t lo = 0, hi = -1;
    rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, 5000);
    rd_kafka_destroy(rk);
    return (int)hi;
}

VG_TEST(sigkill_during_delivery_then_restart)
{
    struct mock m = { 0 };
    CHECK_EQ_INT(mock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "vigil-vigil.findings", 1, 1);
    /* slow enough that the kill comes mid-way */
    rd_kafka_mock_broker_set_rtt(m.mc, 1, 20);
    char dir[128], err[1024];
    snprintf(dir, sizeof(dir), "%s/kspool", tmpdir);
    struct vg_spool_opts o = disk_opts(dir);
    struct vg_spool *sp = vg_spool_open(&o, err, sizeof(err));
    CHECK(sp != NULL);
    if (!sp) {
        mock_stop(&m);
        return;
    }
    const int n = 3000;
    append_range(sp, 0, n, 40, -1, 0);
    vg_spool_close(sp);

    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_kafka", "--child", dir, m.bootstraps, (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0);
    /* kill it once Kafka holds part of the events */
    int have = 0;
    int64_t deadline = vg_time_mono_ms() + 60000;
    while (vg_time_mono_ms() < deadline) {
        have = count_messages(m.bootstraps, "vigil-vigil.findings");
        if (have >= 500)
            break;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            pid = -1;
            break;
        }
        usleep(20000);   /* a poll interval, not a wait for an outcome */
    }
    CHECK(have >= 500 && have < n);
    if (pid > 0) {
        kill(pid, SIGKILL);
        int st = 0;
        waitpid(pid, &st, 0);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    }
    fprintf(stderr, "  killed with %d of %d events in Kafka\n", have, n);

    /* restart: a new output on the same spool finishes the job */
    sp = vg_spool_open(&o, err, sizeof(err));
    CHECK(sp != NULL);
    struct vg_config *cfg = kcfg(m.bootstraps, NULL);
    struct vg_kafka *k = sp ? vg_kafka_new(cfg, sp, NULL, err, sizeof(err)) : NULL;
    CHECK(k != NULL);
    if (k) {
        struct vg_kafka_stats st;
        CHECK_EQ_INT(run_output(k, &st), VG_OK);
        CHECK(st.delivered > 0 && st.delivered <= (uint64_t)n);
    }
    vg_kafka_destroy(k);
    vg_spool_close(sp);
    vg_config_destroy(cfg);

    int total = count_messages(m.bootstraps, "vigil-vigil.findings");
    struct got g = { .seen = calloc((size_t)n, sizeof(int)), .nevents = n };
    consume_all(m.bootstraps, "vigil-vigil.findings", total, &g);
    int missing = 0, dup = 0;
    for (int i = 0; i < n; i++) {
        missing += g.seen[i] == 0;
        dup += g.seen[i] > 1 ? g.seen[i] - 1 : 0;
    }
    /* every event there; duplicates only at-least-once's, each a whole
     * copy of its event (same event.id, key, headers: bad counts others) */
    CHECK_EQ_INT(missing, 0);
    CHECK_EQ_INT(g.bad, 0);
    CHECK_EQ_INT(g.n, n + dup);
    CHECK(dup <= 8192);   /* at most one window */
    fprintf(stderr, "  after restart: %d messages, %d duplicates (same event.id)\n", g.n, dup);
    free(g.seen);
    mock_stop(&m);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child") == 0)
        return child_main(argv[2], argv[3]);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vg-kafka-test-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    vg_buf_init(&logbuf, 16u << 20);
    vg_log_set_sink(log_sink, NULL);
    vg_log_set_level(VG_LOG_INFO);
    int rc = vg_test_run(argc, argv);
    if (rc) {
        pthread_mutex_lock(&log_mu);
        fprintf(stderr, "---- log ----\n%.*s\n", (int)(logbuf.len > 20000 ? 20000 : logbuf.len),
                logbuf.data ? logbuf.data + (logbuf.len > 20000 ? logbuf.len - 20000 : 0) : "");
        pthread_mutex_unlock(&log_mu);
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    vg_buf_free(&logbuf);
    return rc;
}
