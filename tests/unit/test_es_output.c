/*
 * The Elasticsearch output against tests/es_server.py: a real delivery
 * thread, a memory spool, and each fault knob of the server showing the
 * documented behaviour. The server runs on 127.0.0.1 with a free port; TLS
 * material is made with openssl at run time in a temporary directory.
 */
#include "vgtest.h"

#include "agent/buf.h"
#include "agent/json.h"
#include "agent/log.h"
#include "agent/timeutil.h"
#include "config/config.h"
#include "outputs/es/es.h"
#include "outputs/spool.h"

#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the server ------------------------------------------------------- */

struct server {
    pid_t pid;
    int port;
    int tls;
    char dir[256];
};

static char tmpdir[64];
static char tls_dir[300];

static const char *source_dir(void)
{
    const char *s = getenv("VG_SOURCE_DIR");
    return s && *s ? s : ".";
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Starts the server with extra arguments (NULL-terminated); 0 or -1. */
static int server_start(struct server *s, const char *const *extra)
{
    static int seq;
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "%s/srv%d", tmpdir, seq++);
    mkdir(s->dir, 0700);
    char portfile[320], script[512];
    snprintf(portfile, sizeof(portfile), "%s/port", s->dir);
    snprintf(script, sizeof(script), "%s/tests/es_server.py", source_dir());
    const char *argv[32];
    int n = 0;
    argv[n++] = "/usr/bin/python3";
    argv[n++] = script;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--quiet";
    for (int i = 0; extra && extra[i] && n < 30; i++) {
        argv[n++] = extra[i];
        if (strcmp(extra[i], "--tls-cert") == 0 && !s->tls)
            s->tls = 1;
        if (strcmp(extra[i], "--client-ca") == 0)
            s->tls = 2;   /* control calls need the client certificate too */
    }
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    int64_t deadline = vg_time_mono_ms() + 15000;
    while (vg_time_mono_ms() < deadline) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%d", &s->port) == 1;
            fclose(f);
            if (ok && s->port > 0)
                return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            return -1;
        }
        nap_ms(20);
    }
    return -1;
}

static void server_stop(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

struct sink {
    struct vg_buf *b;
};

static size_t sink_write(char *p, size_t size, size_t nmemb, void *u)
{
    struct sink *s = u;
    vg_buf_append(s->b, p, size * nmemb);
    return size * nmemb;
}

/* A plain HTTP call to the server; returns the status, body in out. */
static long http_call(const struct server *s, const char *method, const char *path,
                      const char *body, struct vg_buf *out)
{
    char url[512];
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", s->tls ? "https" : "http", s->port, path);
    CURL *e = curl_easy_init();
    if (s->tls) {
        /* the control endpoints: the client under test is what verifies */
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    char ccert[400], ckey[400];
    if (s->tls == 2) {
        snprintf(ccert, sizeof(ccert), "%s/client.crt", tls_dir);
        snprintf(ckey, sizeof(ckey), "%s/client.key", tls_dir);
        curl_easy_setopt(e, CURLOPT_SSLCERT, ccert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, ckey);
    }
    struct sink sk = { out };
    vg_buf_reset(out);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sk);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 20L);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    long status = 0;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return status;
}

static struct vg_json *http_json(const struct server *s, const char *method, const char *path,
                                 const char *body)
{
    struct vg_buf b;
    vg_buf_init(&b, 256u << 20);
    http_call(s, method, path, body, &b);
    char err[256];
    struct vg_json *v = vg_json_parse(b.data ? b.data : "", b.len, err, sizeof(err));
    vg_buf_free(&b);
    return v;
}

static void faults(const struct server *s, const char *json)
{
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(http_call(s, "POST", "/_test/faults", json, &b), 200);
    vg_buf_free(&b);
}

static void reset(const struct server *s)
{
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(http_call(s, "POST", "/_test/reset", "{}", &b), 200);
    vg_buf_free(&b);
}

static int64_t count(const struct server *s, const char *target)
{
    char path[256];
    snprintf(path, sizeof(path), "/%s/_count", target);
    struct vg_json *v = http_json(s, "GET", path, NULL);
    int64_t n = v ? vg_json_get_int(vg_json_get(v, "count")) : -1;
    vg_json_free(v);
    return n;
}

/* The bulk requests of the log. Caller frees. */
static struct vg_json *bulk_log(const struct server *s)
{
    struct vg_json *all = http_json(s, "GET", "/_test/requests", NULL);
    struct vg_json *out = vg_json_array();
    for (size_t i = 0; i < vg_json_len(all); i++) {
        struct vg_json *r = vg_json_at(all, i);
        const char *p = vg_json_get_str(vg_json_get(r, "path"));
        if (p && strstr(p, "_bulk"))
            vg_json_push(out, vg_json_clone(r));
    }
    vg_json_free(all);
    return out;
}

/* ---- the spool and the events ----------------------------------------- */

static struct vg_spool *mem_spool(void)
{
    struct vg_spool_opts o = { .dir = NULL, .max_bytes = 256u << 20, .segment_bytes = 16u << 20,
                               .when_full = VG_SPOOL_BLOCK, .fsync = false };
    char err[256];
    struct vg_spool *s = vg_spool_open(&o, err, sizeof(err));
    if (!s)
        fprintf(stderr, "spool: %s\n", err);
    return s;
}

static char *make_event(int i, const char *dataset, const char *ns, size_t pad)
{
    struct vg_buf b;
    vg_buf_init(&b, 16u << 20);
    vg_buf_printf(&b,
                  "{\"@timestamp\":\"2026-11-26T10:00:05.123Z\",\"event\":{\"kind\":\"state\","
                  "\"id\":\"ev-%06d\",\"dataset\":\"%s\"},\"data_stream\":{\"type\":\"logs\","
                  "\"dataset\":\"%s\",\"namespace\":\"%s\"},\"message\":\"finding %d\",\"pad\":\"",
                  i, dataset, dataset, ns, i);
    for (size_t k = 0; k < pad; k++)
        vg_buf_appendc(&b, (char)('a' + (k % 26)));
    vg_buf_appends(&b, "\"}");
    return vg_buf_detach(&b);
}

/* Appends events [from, to) in batches of 100. */
static void append_range(struct vg_spool *sp, int from, int to, const char *dataset, size_t pad)
{
    for (int i = from; i < to; i += 100) {
        char *evs[100];
        size_t lens[100];
        int n = 0;
        for (int k = i; k < to && n < 100; k++, n++) {
            evs[n] = make_event(k, dataset, "default", pad);
            lens[n] = strlen(evs[n]);
        }
        char err[256];
        CHECK_EQ_INT(vg_spool_append(sp, (const char *const *)evs, lens, (size_t)n, 5000, err,
                                     sizeof(err)),
                     VG_OK);
        for (int k = 0; k < n; k++)
            free(evs[k]);
    }
}

/* ---- configuration ---------------------------------------------------- */

struct tcfg {
    struct vg_config cfg;
    char *hosts[4];
    char url[4][256];
    char dl[320];
};

static void tcfg_init(struct tcfg *t, const struct server *s, const char *scheme)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->url[0], sizeof(t->url[0]), "%s://127.0.0.1:%d", scheme ? scheme : "http",
             s ? s->port : 9);
    t->hosts[0] = t->url[0];
    t->cfg.outputs.es.enabled = true;
    t->cfg.outputs.es.hosts = t->hosts;
    t->cfg.outputs.es.nhosts = 1;
    t->cfg.outputs.es.ssl_verify = true;
    t->cfg.outputs.es.bulk_max_events = 500;
    t->cfg.outputs.es.bulk_max_bytes = 5 << 20;
    t->cfg.outputs.es.flush_interval_s = 1;
    t->cfg.outputs.es.max_in_flight = 3;
    t->cfg.outputs.es.compression_level = 1;
    t->cfg.outputs.es.timeout_s = 20;
    t->cfg.outputs.es.backoff_init_s = 0;
    t->cfg.outputs.es.backoff_max_s = 1;
    static int seq;
    snprintf(t->dl, sizeof(t->dl), "%s/dead%d.ndjson", tmpdir, seq++);
    t->cfg.outputs.es.dead_letter_path = t->dl;
    t->cfg.outputs.namespace = "default";
    t->cfg.agent.state_dir = tmpdir;
}

static void tcfg_add_host(struct tcfg *t, const char *url)
{
    size_t i = t->cfg.outputs.es.nhosts;
    snprintf(t->url[i], sizeof(t->url[i]), "%s", url);
    t->hosts[i] = t->url[i];
    t->cfg.outputs.es.nhosts = i + 1;
}

/* Runs the output over the spool until drained (or the deadline). */
static enum vg_err deliver(const struct tcfg *t, struct vg_spool *sp, int64_t ms,
                           struct vg_es_stats *st, uint64_t *left, char *lasterr, size_t lelen)
{
    char err[512];
    struct vg_es *es = vg_es_new(&t->cfg, sp, NULL, err, sizeof(err));
    if (!es) {
        fprintf(stderr, "vg_es_new: %s\n", err);
        return VG_ERR_CONFIG;
    }
    CHECK_EQ_INT(vg_es_start(es), VG_OK);
    uint64_t rem = 0;
    enum vg_err e = vg_es_drain(es, vg_time_mono_ms() + ms, &rem);
    vg_es_stop(es);
    if (st)
        vg_es_get_stats(es, st);
    if (lasterr)
        vg_es_last_error(es, lasterr, lelen);
    if (left)
        *left = rem;
    vg_es_destroy(es);
    return e;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* ---- captured log ----------------------------------------------------- */

static pthread_mutex_t logmu = PTHREAD_MUTEX_INITIALIZER;
static struct vg_buf logbuf;

static void log_sink(enum vg_log_level level, const char *area, const char *line, void *opaque)
{
    (void)level;
    (void)opaque;
    pthread_mutex_lock(&logmu);
    vg_buf_printf(&logbuf, "[%s] %s\n", area, line);
    pthread_mutex_unlock(&logmu);
}

static void log_clear(void)
{
    pthread_mutex_lock(&logmu);
    vg_buf_reset(&logbuf);
    pthread_mutex_unlock(&logmu);
}

static struct server plain;   /* shared by the tests that need no special server */
static int plain_ok;

static void need_plain(void)
{
    if (!plain_ok) {
        plain_ok = server_start(&plain, NULL) == 0 ? 1 : -1;
        CHECK_EQ_INT(plain_ok, 1);
    }
    reset(&plain);
}

/* ---- delivery --------------------------------------------------------- */

VG_TEST(delivers_everything_gzip_create_filter_path)
{
    need_plain();
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 3000, "vigil.findings", 300);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    struct vg_es_stats st;
    uint64_t left = 99;
    CHECK_EQ_INT(deliver(&t, sp, 30000, &st, &left, NULL, 0), VG_OK);
    CHECK_EQ_INT(left, 0);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 3000);
    CHECK_EQ_INT(st.delivered, 3000);
    CHECK_EQ_INT(st.dead_lettered, 0);
    CHECK_EQ_INT(st.acked, 3000);
    CHECK(st.bytes_sent < st.bytes_raw / 3);
    struct vg_json *log = bulk_log(&plain);
    CHECK(vg_json_len(log) >= 6);
    CHECK_EQ_INT(st.requests, vg_json_len(log));
    for (size_t i = 0; i < vg_json_len(log); i++) {
        const struct vg_json *r = vg_json_at(log, i);
        const struct vg_json *h = vg_json_get(r, "headers");
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(h, "content-encoding")), "gzip");
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(h, "content-type")), "application/x-ndjson");
        CHECK(vg_json_get(h, "expect") == NULL);
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(r, "query")),
                     "filter_path=errors,items.*.error,items.*.status");
        CHECK(vg_json_get_int(vg_json_get(r, "items")) <= 500);
        CHECK_EQ_INT(vg_json_get_int(vg_json_get(r, "status")), 200);
    }
    vg_json_free(log);
    /* the _id is the event id, the source the event as it was */
    struct vg_json *doc = http_json(&plain, "GET", "/logs-vigil.findings-default/_doc/ev-000042", NULL);
    CHECK(vg_json_get_bool(vg_json_get(doc, "found")));
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(doc, "_source"), "message")),
                 "finding 42");
    vg_json_free(doc);

    /* a resend (a restart before the ack) answers 409: delivered, no copy */
    append_range(sp, 0, 500, "vigil.findings", 300);
    CHECK_EQ_INT(deliver(&t, sp, 30000, &st, &left, NULL, 0), VG_OK);
    CHECK_EQ_INT(st.duplicates, 500);
    CHECK_EQ_INT(st.delivered, 0);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 3000);
    vg_spool_close(sp);
}

VG_TEST(uncompressed_when_level_zero_and_scan_events_to_their_stream)
{
    need_plain();
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 10, "vigil.scan", 10);
    append_range(sp, 10, 30, "vigil.findings", 10);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    t.cfg.outputs.es.compression_level = 0;
    struct vg_es_stats st;
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, NULL, NULL, 0), VG_OK);
    CHECK_EQ_INT(count(&plain, "logs-vigil.scan-default"), 10);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 20);
    CHECK_EQ_INT(st.bytes_sent, st.bytes_raw);
    struct vg_json *log = bulk_log(&plain);
    for (size_t i = 0; i < vg_json_len(log); i++)
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(log, i), "content_encoding")), "");
    vg_json_free(log);
    vg_spool_close(sp);
}

VG_TEST(several_requests_in_flight)
{
    need_plain();
    /* the first three answers are slow: sent one after the other, they
     * would arrive 800 ms apart */
    faults(&plain, "{\"rules\":[{\"scope\":\"request\",\"action\":\"delay\",\"delay_ms\":800,"
                   "\"count\":3}]}");
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 1500, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    t.cfg.outputs.es.max_in_flight = 3;
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, NULL, NULL, 0), VG_OK);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 1500);
    struct vg_json *log = bulk_log(&plain);
    CHECK(vg_json_len(log) >= 3);
    double t0 = vg_json_get_num(vg_json_get(vg_json_at(log, 0), "time"));
    double t2 = vg_json_get_num(vg_json_get(vg_json_at(log, 2), "time"));
    CHECK(t2 - t0 < 0.7);
    vg_json_free(log);
    vg_spool_close(sp);
}

VG_TEST(flush_interval_sends_a_partial_request_without_a_drain)
{
    need_plain();
    struct vg_spool *sp = mem_spool();
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    t.cfg.outputs.es.flush_interval_s = 1;
    char err[512];
    struct vg_es *es = vg_es_new(&t.cfg, sp, NULL, err, sizeof(err));
    CHECK(es != NULL);
    CHECK_EQ_INT(vg_es_start(es), VG_OK);
    int64_t t0 = vg_time_mono_ms();
    append_range(sp, 0, 7, "vigil.findings", 10);
    int64_t got = -1;
    while (vg_time_mono_ms() - t0 < 10000) {
        if (count(&plain, "logs-vigil.findings-default") == 7) {
            got = vg_time_mono_ms() - t0;
            break;
        }
        nap_ms(50);
    }
    CHECK(got >= 900);     /* it waited for the interval ... */
    CHECK(got >= 0);       /* ... and then sent the 7 without more events coming */
    vg_es_stop(es);
    vg_es_destroy(es);
    vg_spool_close(sp);
}

/* ---- per-item faults -------------------------------------------------- */

VG_TEST(item_429_is_resent_alone)
{
    need_plain();
    faults(&plain, "{\"rules\":[{\"scope\":\"item\",\"status\":429,\"count\":25}]}");
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 1000, "vigil.findings", 50);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    struct vg_es_stats st;
    CHECK_EQ_INT(deliver(&t, sp, 30000, &st, NULL, NULL, 0), VG_OK);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 1000);
    CHECK_EQ_INT(st.retried, 25);
    CHECK_EQ_INT(st.delivered, 1000);
    /* the resend holds the 25 refused events and nothing else */
    struct vg_json *log = bulk_log(&plain);
    size_t n429 = 0, resent = 0;
    for (size_t i = 0; i < vg_json_len(log); i++) {
        const struct vg_json *r = vg_json_at(log, i);
        const struct vg_json *is = vg_json_get(r, "item_status");
        for (size_t k = 0; k < vg_json_len(is); k++)
            n429 += vg_json_get_int(vg_json_at(is, k)) == 429;
        if (i > 0 && vg_json_get_int(vg_json_get(r, "items")) <= 25)
            resent += (size_t)vg_json_get_int(vg_json_get(r, "items"));
    }
    CHECK_EQ_INT(n429, 25);
    CHECK_EQ_INT(resent, 25);
    vg_json_free(log);
    vg_spool_close(sp);
}

VG_TEST(item_400_goes_to_the_dead_letter_file)
{
    need_plain();
    faults(&plain, "{\"rules\":[{\"scope\":\"item\",\"status\":400,\"match\":\"^ev-00001[0-4]$\","
                   "\"count\":-1}]}");
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 200, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    struct vg_es_stats st;
    uint64_t left = 1;
    log_clear();
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, &left, NULL, 0), VG_OK);
    CHECK_EQ_INT(left, 0);   /* dead-lettered events are done too */
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 195);
    CHECK_EQ_INT(st.dead_lettered, 5);
    CHECK_EQ_INT(count_lines(t.dl), 5);
    struct stat sb;
    CHECK(stat(t.dl, &sb) == 0 && (sb.st_mode & 077) == 0);
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(vg_buf_read_file(&b, t.dl), VG_OK);
    char *line = b.data;
    int seen = 0;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        char err[256];
        struct vg_json *v = vg_json_parse(line, (size_t)(nl - line), err, sizeof(err));
        CHECK(v != NULL);
        CHECK_EQ_INT(vg_json_get_int(vg_json_get(v, "status")), 400);
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(v, "error"), "type")),
                     "mapper_parsing_exception");
        CHECK_CONTAINS(vg_json_get_str(vg_json_get(vg_json_get(v, "error"), "reason")),
                       "failed to parse field");
        CHECK(vg_json_get(v, "@timestamp") != NULL);
        const char *id = vg_json_get_str(
            vg_json_get(vg_json_get(vg_json_get(v, "event"), "event"), "id"));
        CHECK(id && strncmp(id, "ev-00001", 8) == 0 && id[8] >= '0' && id[8] <= '4');
        vg_json_free(v);
        seen++;
        line = nl ? nl + 1 : NULL;
    }
    CHECK_EQ_INT(seen, 5);
    vg_buf_free(&b);
    pthread_mutex_lock(&logmu);
    CHECK_CONTAINS(vg_buf_str(&logbuf), "rejected 5 events (400 mapper_parsing_exception");
    pthread_mutex_unlock(&logmu);
    vg_spool_close(sp);
}

VG_TEST(item_403_cluster_block_is_retried)
{
    need_plain();
    faults(&plain, "{\"rules\":[{\"scope\":\"item\",\"status\":403,\"type\":"
                   "\"cluster_block_exception\",\"count\":40}]}");
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 300, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    struct vg_es_stats st;
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, NULL, NULL, 0), VG_OK);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 300);
    CHECK_EQ_INT(st.retried, 40);
    CHECK(!st.stopped);
    vg_spool_close(sp);
}

/* ---- whole-request faults --------------------------------------------- */

VG_TEST(request_503_is_retried)
{
    need_plain();
    faults(&plain, "{\"rules\":[{\"scope\":\"request\",\"status\":503,\"count\":3}]}");
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 400, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    struct vg_es_stats st;
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, NULL, NULL, 0), VG_OK);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 400);
    CHECK_EQ_INT(st.requests_failed, 3);
    CHECK_EQ_INT(st.delivered, 400);
    vg_spool_close(sp);
}

VG_TEST(request_403_cluster_block_is_retried_not_fatal)
{
    need_plain();
    faults(&plain, "{\"rules\":[{\"scope\":\"request\",\"status\":403,\"type\":"
                   "\"cluster_block_exception\",\"count\":2}]}");
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 100, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    struct vg_es_stats st;
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, NULL, NULL, 0), VG_OK);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 100);
    CHECK_EQ_INT(st.requests_failed, 2);
    CHECK(!st.stopped);
    vg_spool_close(sp);
}

VG_TEST(request_413_splits_the_batch)
{
    need_plain();
    /* bodies above 30 kB are refused: a 500-event request (~70 kB) splits */
    faults(&plain, "{\"max_content_length\":30000}");
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 500, "vigil.findings", 20);
    /* and one event alone larger than the server takes */
    char *big = make_event(999999, "vigil.findings", "default", 40000);
    size_t blen = strlen(big);
    char err[256];
    CHECK_EQ_INT(vg_spool_append(sp, (const char *const *)&big, &blen, 1, 1000, err, sizeof(err)),
                 VG_OK);
    free(big);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    struct vg_es_stats st;
    uint64_t left = 1;
    CHECK_EQ_INT(deliver(&t, sp, 30000, &st, &left, NULL, 0), VG_OK);
    CHECK_EQ_INT(left, 0);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 500);
    CHECK(st.splits >= 2);
    CHECK_EQ_INT(st.dead_lettered, 1);
    CHECK_EQ_INT(count_lines(t.dl), 1);
    struct vg_json *log = bulk_log(&plain);
    size_t n413 = 0;
    for (size_t i = 0; i < vg_json_len(log); i++) {
        const struct vg_json *r = vg_json_at(log, i);
        if (vg_json_get_int(vg_json_get(r, "status")) == 413)
            n413++;
        else
            CHECK(vg_json_get_int(vg_json_get(r, "body_bytes")) <= 30000);
    }
    CHECK(n413 >= 3);
    vg_json_free(log);
    vg_spool_close(sp);
}

VG_TEST(connection_reset_is_retried)
{
    need_plain();
    faults(&plain, "{\"rules\":[{\"scope\":\"request\",\"action\":\"reset\",\"count\":2}]}");
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 300, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    struct vg_es_stats st;
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, NULL, NULL, 0), VG_OK);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 300);
    CHECK_EQ_INT(st.requests_failed, 2);
    vg_spool_close(sp);

    /* reset after the server stored them: the resend answers 409 */
    reset(&plain);
    faults(&plain, "{\"rules\":[{\"scope\":\"request\",\"action\":\"reset\",\"after_store\":true,"
                   "\"count\":1}]}");
    sp = mem_spool();
    append_range(sp, 0, 100, "vigil.findings", 20);
    t.cfg.outputs.es.bulk_max_events = 100;
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, NULL, NULL, 0), VG_OK);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 100);
    CHECK_EQ_INT(st.duplicates, 100);
    vg_spool_close(sp);
}

VG_TEST(slow_answer_past_the_timeout_is_resent_once)
{
    need_plain();
    faults(&plain, "{\"rules\":[{\"scope\":\"request\",\"action\":\"delay\",\"delay_ms\":2500,"
                   "\"count\":1}]}");
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 50, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    t.cfg.outputs.es.timeout_s = 1;
    struct vg_es_stats st;
    char lasterr[512];
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, NULL, lasterr, sizeof(lasterr)), VG_OK);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 50);
    CHECK_EQ_INT(st.requests_failed, 1);
    CHECK_CONTAINS(lasterr, "no answer in time");
    /* the slow request stored them after all: the resend found them there */
    CHECK_EQ_INT(st.delivered + st.duplicates, 50);
    vg_spool_close(sp);
}

VG_TEST(invalid_event_in_the_spool_is_dead_lettered)
{
    need_plain();
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 10, "vigil.findings", 10);
    const char *bad[] = { "not json at all", "{\"event\":{\"kind\":\"state\"}}" };
    size_t lens[] = { strlen(bad[0]), strlen(bad[1]) };
    char err[256];
    CHECK_EQ_INT(vg_spool_append(sp, bad, lens, 2, 1000, err, sizeof(err)), VG_OK);
    append_range(sp, 10, 20, "vigil.findings", 10);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    struct vg_es_stats st;
    uint64_t left = 1;
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, &left, NULL, 0), VG_OK);
    CHECK_EQ_INT(left, 0);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 20);
    CHECK_EQ_INT(st.dead_lettered, 2);
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(vg_buf_read_file(&b, t.dl), VG_OK);
    CHECK_CONTAINS(vg_buf_str(&b), "\"type\":\"vigil_invalid_event\"");
    CHECK_CONTAINS(vg_buf_str(&b), "\"event\":\"not json at all\"");
    vg_buf_free(&b);
    vg_spool_close(sp);
}

/* ---- hosts and proxy -------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

VG_TEST(failover_to_the_host_that_answers)
{
    need_plain();
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 600, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, NULL, NULL);
    snprintf(t.url[0], sizeof(t.url[0]), "http://127.0.0.1:%d", free_port());
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", plain.port);
    tcfg_add_host(&t, url);
    t.cfg.outputs.es.bulk_max_events = 100;
    struct vg_es_stats st;
    log_clear();
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, NULL, NULL, 0), VG_OK);
    CHECK_EQ_INT(count(&plain, "logs-vigil.findings-default"), 600);
    CHECK(st.requests_failed >= 1);
    pthread_mutex_lock(&logmu);
    CHECK_CONTAINS(vg_buf_str(&logbuf), "this host is tried again in");
    pthread_mutex_unlock(&logmu);
    vg_spool_close(sp);
}

VG_TEST(round_robin_over_hosts)
{
    need_plain();
    struct server two;
    CHECK_EQ_INT(server_start(&two, NULL), 0);
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 1000, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", two.port);
    tcfg_add_host(&t, url);
    t.cfg.outputs.es.bulk_max_events = 100;
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, NULL, NULL, 0), VG_OK);
    int64_t a = count(&plain, "logs-vigil.findings-default");
    int64_t b = count(&two, "logs-vigil.findings-default");
    CHECK_EQ_INT(a + b, 1000);
    CHECK(a >= 300 && b >= 300);
    server_stop(&two);
    vg_spool_close(sp);
}

VG_TEST(proxy_is_used)
{
    need_plain();
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 20, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, &plain, NULL);
    char proxy[128];
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", plain.port);
    t.cfg.outputs.es.proxy_url = proxy;
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, NULL, NULL, 0), VG_OK);
    struct vg_json *log = bulk_log(&plain);
    CHECK(vg_json_len(log) >= 1);
    for (size_t i = 0; i < vg_json_len(log); i++)
        CHECK(vg_json_get_bool(vg_json_get(vg_json_at(log, i), "via_proxy")));
    vg_json_free(log);
    vg_spool_close(sp);
}

/* ---- authentication --------------------------------------------------- */

VG_TEST(basic_auth_refused_stops_and_keeps_the_data)
{
    struct server s;
    const char *args[] = { "--users", "vigil:s3cret-pw", NULL };
    CHECK_EQ_INT(server_start(&s, args), 0);
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 250, "vigil.findings", 20);
    struct tcfg t;
    tcfg_init(&t, &s, NULL);
    t.cfg.outputs.es.username = "vigil";
    t.cfg.outputs.es.password = "wrong-pw-x";
    struct vg_es_stats st;
    uint64_t left = 0;
    char lasterr[1024];
    log_clear();
    /* VG_ERR_PERM, not the deadline's VG_ERR_LIMIT: delivery stopped */
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, &left, lasterr, sizeof(lasterr)), VG_ERR_PERM);
    CHECK_EQ_INT(left, 250);
    CHECK(st.stopped);
    CHECK_CONTAINS(lasterr, "refused the credentials");
    CHECK_CONTAINS(lasterr, "401");
    char hostport[64];
    snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", s.port);
    CHECK_CONTAINS(lasterr, hostport);
    /* the server logs a request's status after it has answered: the client
     * may have read the 401 first, so poll the log, with a deadline */
    size_t n401 = 0, nbad = 0;
    for (int64_t until = vg_time_mono_ms() + 5000; n401 == 0 && vg_time_mono_ms() < until;) {
        struct vg_json *refused = bulk_log(&s);
        nbad = 0;
        for (size_t i = 0; i < vg_json_len(refused); i++) {
            int64_t code = vg_json_get_int(vg_json_get(vg_json_at(refused, i), "status"));
            /* 0: a request abandoned by the stop, still being answered */
            nbad += code != 401 && code != 0;
            n401 += code == 401;
        }
        vg_json_free(refused);
        if (n401 == 0)
            usleep(10000);
    }
    CHECK_EQ_INT(nbad, 0);
    CHECK(n401 >= 1);
    pthread_mutex_lock(&logmu);
    CHECK(strstr(vg_buf_str(&logbuf), "wrong-pw-x") == NULL);
    CHECK(strstr(vg_buf_str(&logbuf), "s3cret-pw") == NULL);
    pthread_mutex_unlock(&logmu);

    /* the events waited in the spool: the right password delivers them all */
    t.cfg.outputs.es.password = "s3cret-pw";
    CHECK_EQ_INT(deliver(&t, sp, 20000, &st, &left, NULL, 0), VG_OK);
    CHECK_EQ_INT(left, 0);
    CHECK_EQ_INT(st.delivered, 250);
    struct vg_json *log = bulk_log(&s);
    const struct vg_json *last = vg_json_at(log, vg_json_len(log) - 1);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(last, "headers"), "authorization")),
                 "Basic ***");
    vg_json_free(log);
    server_stop(&s);
    vg_spool_close(sp);
}

VG_TEST(api_key_and_bearer_auth)
{
    struct server s;
    const char *args[] = { "--api-keys", "kid1:kkey1", "--bearer", "tok-123", NULL };
    CHECK_EQ_INT(server_start(&s, args), 0);
    struct vg_spool *sp = mem_spool();
    struct tcfg t;
    tcfg_init(&t, &s, NULL);
    /* id:key */
    append_range(sp, 0, 10, "vigil.findings", 10);
    t.cfg.outputs.es.api_key = "kid1:kkey1";
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, NULL, NULL, 0), VG_OK);
    /* its base64 */
    append_range(sp, 10, 20, "vigil.findings", 10);
    t.cfg.outputs.es.api_key = "a2lkMTpra2V5MQ==";
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, NULL, NULL, 0), VG_OK);
    /* bearer */
    append_range(sp, 20, 30, "vigil.findings", 10);
    t.cfg.outputs.es.api_key = NULL;
    t.cfg.outputs.es.bearer_token = "tok-123";
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, NULL, NULL, 0), VG_OK);
    /* a wrong key stops */
    append_range(sp, 30, 40, "vigil.findings", 10);
    t.cfg.outputs.es.bearer_token = NULL;
    t.cfg.outputs.es.api_key = "kid1:nope";
    uint64_t left = 0;
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, &left, NULL, 0), VG_ERR_PERM);
    CHECK_EQ_INT(left, 10);
    /* the server needs credentials for _count too: its log says what it
     * took (and logs a status only once it has answered: poll, with a
     * deadline) */
    int64_t stored = 0, refused = 0;
    for (int64_t until = vg_time_mono_ms() + 5000; vg_time_mono_ms() < until;) {
        struct vg_json *log = bulk_log(&s);
        stored = refused = 0;
        for (size_t i = 0; i < vg_json_len(log); i++) {
            const struct vg_json *r = vg_json_at(log, i);
            if (vg_json_get_int(vg_json_get(r, "status")) == 200)
                stored += vg_json_get_int(vg_json_get(r, "items"));
            else if (vg_json_get_int(vg_json_get(r, "status")) == 401)
                refused++;
        }
        vg_json_free(log);
        if (refused >= 1)
            break;
        usleep(10000);
    }
    CHECK_EQ_INT(stored, 30);
    CHECK(refused >= 1);
    server_stop(&s);
    vg_spool_close(sp);
}

VG_TEST(read_only_user_403_stops)
{
    struct server s;
    const char *args[] = { "--users", "ro:pw", "--read-only", "ro", NULL };
    CHECK_EQ_INT(server_start(&s, args), 0);
    struct vg_spool *sp = mem_spool();
    append_range(sp, 0, 10, "vigil.findings", 10);
    struct tcfg t;
    tcfg_init(&t, &s, NULL);
    t.cfg.outputs.es.username = "ro";
    t.cfg.outputs.es.password = "pw";
    uint64_t left = 0;
    char lasterr[1024];
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, &left, lasterr, sizeof(lasterr)), VG_ERR_PERM);
    CHECK_EQ_INT(left, 10);
    CHECK_CONTAINS(lasterr, "403 security_exception");
    server_stop(&s);
    vg_spool_close(sp);
}

/* ---- TLS ---------------------------------------------------------------- */

static int tls_ready;

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A test CA, a server certificate for 127.0.0.1 and localhost (its file
 * holds the chain), and a client certificate, made now, never committed. */
static int make_tls(void)
{
    if (tls_ready)
        return tls_ready > 0 ? 0 : -1;
    snprintf(tls_dir, sizeof(tls_dir), "%s/tls", tmpdir);
    mkdir(tls_dir, 0700);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "set -e; cd '%s'; exec >log 2>&1; "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
             "  -subj '/CN=Vigil Test CA' -addext basicConstraints=critical,CA:TRUE "
             "  -addext keyUsage=critical,keyCertSign,cRLSign; "
             "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
             "  -subj '/CN=127.0.0.1'; "
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > "
             "server.ext; "
             "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "  -out server.crt -days 2 -extfile server.ext; "
             "cat server.crt ca.pem > server-chain.pem; "
             "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
             "  -subj '/CN=vigil-client'; "
             "printf 'extendedKeyUsage=clientAuth\\n' > client.ext; "
             "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "  -out client.crt -days 2 -extfile client.ext; "
             "openssl x509 -in ca.pem -outform DER | sha256sum | cut -c1-64 > ca.sha256; "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 "
             "  -subj '/CN=Other CA'",
             tls_dir);
    tls_ready = sh(cmd) == 0 ? 1 : -1;
    return tls_ready > 0 ? 0 : -1;
}

static void tls_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tls_dir, name);
}

VG_TEST(tls_verification_ca_pinning_and_client_certificates)
{
    CHECK_EQ_INT(make_tls(), 0);
    char cert[400], key[400], ca[400], other[400], ccert[400], ckey[400], pinfile[400];
    tls_path(cert, sizeof(cert), "server-chain.pem");
    tls_path(key, sizeof(key), "server.key");
    tls_path(ca, sizeof(ca), "ca.pem");
    tls_path(other, sizeof(other), "other.pem");
    tls_path(ccert, sizeof(ccert), "client.crt");
    tls_path(ckey, sizeof(ckey), "client.key");
    tls_path(pinfile, sizeof(pinfile), "ca.sha256");
    char pin[80] = "";
    FILE *f = fopen(pinfile, "r");
    CHECK(f && fscanf(f, "%64s", pin) == 1);
    if (f)
        fclose(f);
    struct server s;
    const char *args[] = { "--tls-cert", cert, "--tls-key", key, NULL };
    CHECK_EQ_INT(server_start(&s, args), 0);
    struct vg_spool *sp = mem_spool();
    struct tcfg t;
    tcfg_init(&t, &s, "https");
    char lasterr[1024], hostport[64];
    snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", s.port);

    /* the system store does not know the test CA: refused, named, kept */
    append_range(sp, 0, 10, "vigil.findings", 10);
    uint64_t left = 0;
    CHECK_EQ_INT(deliver(&t, sp, 2500, NULL, &left, lasterr, sizeof(lasterr)), VG_ERR_LIMIT);
    CHECK_EQ_INT(left, 10);
    CHECK_CONTAINS(lasterr, "TLS: certificate of");
    CHECK_CONTAINS(lasterr, hostport);
    CHECK_CONTAINS(lasterr, "not trusted");
    /* a CA file that is not the server's: refused too */
    t.cfg.outputs.es.ssl_ca = other;
    CHECK_EQ_INT(deliver(&t, sp, 2500, NULL, &left, lasterr, sizeof(lasterr)), VG_ERR_LIMIT);
    CHECK_CONTAINS(lasterr, "not trusted");
    /* the right CA */
    t.cfg.outputs.es.ssl_ca = ca;
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, &left, NULL, 0), VG_OK);
    CHECK_EQ_INT(left, 0);
    /* pinning the CA's fingerprint, without a CA file */
    append_range(sp, 10, 20, "vigil.findings", 10);
    t.cfg.outputs.es.ssl_ca = NULL;
    t.cfg.outputs.es.ssl_ca_sha256 = pin;
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, &left, NULL, 0), VG_OK);
    CHECK_EQ_INT(left, 0);
    /* a wrong pin trusts nothing more than the system store */
    append_range(sp, 20, 30, "vigil.findings", 10);
    char wrong[80];
    snprintf(wrong, sizeof(wrong), "%s", pin);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    t.cfg.outputs.es.ssl_ca_sha256 = wrong;
    CHECK_EQ_INT(deliver(&t, sp, 2500, NULL, &left, lasterr, sizeof(lasterr)), VG_ERR_LIMIT);
    CHECK_CONTAINS(lasterr, "not trusted");
    /* a pin is strict: the right CA file does not make a wrong pin pass */
    t.cfg.outputs.es.ssl_ca = ca;
    CHECK_EQ_INT(deliver(&t, sp, 2500, NULL, &left, lasterr, sizeof(lasterr)), VG_ERR_LIMIT);
    CHECK_CONTAINS(lasterr, "not trusted");
    CHECK_EQ_INT(left, 10);
    t.cfg.outputs.es.ssl_ca = NULL;
    /* verification off (tests only) */
    t.cfg.outputs.es.ssl_ca_sha256 = NULL;
    t.cfg.outputs.es.ssl_verify = false;
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, &left, NULL, 0), VG_OK);
    CHECK_EQ_INT(left, 0);
    server_stop(&s);

    /* a server that wants client certificates */
    const char *args2[] = { "--tls-cert", cert, "--tls-key", key, "--client-ca", ca, NULL };
    CHECK_EQ_INT(server_start(&s, args2), 0);
    tcfg_init(&t, &s, "https");
    t.cfg.outputs.es.ssl_ca = ca;
    append_range(sp, 30, 40, "vigil.findings", 10);
    CHECK_EQ_INT(deliver(&t, sp, 2500, NULL, &left, lasterr, sizeof(lasterr)), VG_ERR_LIMIT);
    CHECK_EQ_INT(left, 10);
    t.cfg.outputs.es.ssl_certificate = ccert;
    t.cfg.outputs.es.ssl_key = ckey;
    CHECK_EQ_INT(deliver(&t, sp, 20000, NULL, &left, NULL, 0), VG_OK);
    CHECK_EQ_INT(left, 0);
    struct vg_json *log = bulk_log(&s);
    CHECK(vg_json_len(log) >= 1);
    CHECK(vg_json_get_bool(vg_json_get(vg_json_at(log, 0), "tls")));
    vg_json_free(log);
    server_stop(&s);
    vg_spool_close(sp);
}

/* ---- configuration ---------------------------------------------------- */

VG_TEST(configuration_errors_are_sentences)
{
    struct vg_spool *sp = mem_spool();
    struct tcfg t;
    char err[512];
    /* no hosts, no cloud id */
    tcfg_init(&t, NULL, NULL);
    t.cfg.outputs.es.nhosts = 0;
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "hosts or cloud_id is required");
    /* both */
    tcfg_init(&t, NULL, NULL);
    t.cfg.outputs.es.cloud_id = "x:eA==";
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "not both");
    /* a bad cloud id */
    tcfg_init(&t, NULL, NULL);
    t.cfg.outputs.es.nhosts = 0;
    t.cfg.outputs.es.cloud_id = "name:@@@";
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "cloud_id");
    /* two kinds of credentials */
    tcfg_init(&t, NULL, NULL);
    t.cfg.outputs.es.username = "u";
    t.cfg.outputs.es.password = "p";
    t.cfg.outputs.es.api_key = "a:b";
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "not several");
    CHECK(strstr(err, "a:b") == NULL);
    /* a user without password */
    tcfg_init(&t, NULL, NULL);
    t.cfg.outputs.es.username = "u";
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "username and password go together");
    /* a CA file that is not there, or not PEM */
    tcfg_init(&t, NULL, "https");
    t.cfg.outputs.es.ssl_ca = "/nonexistent/ca.pem";
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "ssl.ca: /nonexistent/ca.pem: no such file");
    char notpem[320];
    snprintf(notpem, sizeof(notpem), "%s/notpem", tmpdir);
    FILE *f = fopen(notpem, "w");
    fputs("hello\n", f);
    fclose(f);
    t.cfg.outputs.es.ssl_ca = notpem;
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "no PEM certificate");
    /* a certificate without its key; a key that is not the certificate's */
    if (make_tls() == 0) {
        char ccert[400], okey[400];
        tls_path(ccert, sizeof(ccert), "client.crt");
        tls_path(okey, sizeof(okey), "other.key");
        tcfg_init(&t, NULL, "https");
        t.cfg.outputs.es.ssl_certificate = ccert;
        CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
        CHECK_CONTAINS(err, "certificate and key go together");
        t.cfg.outputs.es.ssl_key = okey;
        CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
        CHECK_CONTAINS(err, "does not belong");
    }
    /* URLs */
    tcfg_init(&t, NULL, NULL);
    snprintf(t.url[0], sizeof(t.url[0]), "ftp://es1:21");
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "http or https");
    snprintf(t.url[0], sizeof(t.url[0]), "https://elastic:pw@es1:9200");
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "not in the URL");
    CHECK(strstr(err, "pw") == NULL);
    /* a pin that is not hex */
    tcfg_init(&t, NULL, NULL);
    t.cfg.outputs.es.ssl_ca_sha256 = "xyz";
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "ca_sha256");
    /* an api key that is neither form */
    tcfg_init(&t, NULL, NULL);
    t.cfg.outputs.es.api_key = "not base64!";
    CHECK(vg_es_new(&t.cfg, sp, NULL, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "api_key");
    /* fine: a bare host name, and a cloud id alone */
    tcfg_init(&t, NULL, NULL);
    snprintf(t.url[0], sizeof(t.url[0]), "es1");
    struct vg_es *es = vg_es_new(&t.cfg, sp, NULL, err, sizeof(err));
    CHECK(es != NULL);
    vg_es_destroy(es);
    tcfg_init(&t, NULL, NULL);
    t.cfg.outputs.es.nhosts = 0;
    t.cfg.outputs.es.cloud_id = "x:ZXhhbXBsZS5jb20kZXNpZCRrYmlk";
    es = vg_es_new(&t.cfg, sp, NULL, err, sizeof(err));
    CHECK(es != NULL);
    /* drain without start is an error, not a hang */
    uint64_t left;
    CHECK_EQ_INT(vg_es_drain(es, vg_time_mono_ms() + 100, &left), VG_ERR_INVALID);
    vg_es_stop(es);
    vg_es_destroy(es);
    vg_es_destroy(NULL);
    vg_spool_close(sp);
}

static void setup_all(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vg-es-test-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
    vg_buf_init(&logbuf, 16u << 20);
    vg_log_set_sink(log_sink, NULL);
    vg_log_set_level(VG_LOG_INFO);
}

static void teardown_all(void)
{
    server_stop(&plain);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (sh(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    vg_log_set_sink(NULL, NULL);
    vg_buf_free(&logbuf);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setup_all();
    int rc = vg_test_run(argc, argv);
    teardown_all();
    return rc;
}
