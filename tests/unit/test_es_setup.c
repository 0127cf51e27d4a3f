/*
 * `vigil setup`: the assets match packaging/elasticsearch/, the mapping
 * covers every field the ECS encoder writes, and setup against
 * tests/es_server.py installs everything, twice without harm; --dry-run
 * sends nothing.
 */
#include "vgtest.h"

#include "agent/json.h"
#include "agent/setup.h"
#include "agent/timeutil.h"
#include "checks/rule.h"
#include "outputs/ecs.h"
#include "outputs/es/assets.h"
#include "outputs/es/es.h"
#include "outputs/spool.h"

#include <curl/curl.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *source_dir(void)
{
    const char *s = getenv("VG_SOURCE_DIR");
    return s && *s ? s : ".";
}

static struct vg_json *load_json(const char *path)
{
    struct vg_buf b;
    vg_buf_init(&b, 4u << 20);
    struct vg_json *v = NULL;
    char err[256];
    if (vg_buf_read_file(&b, path) == VG_OK) {
        v = vg_json_parse(b.data, b.len, err, sizeof(err));
        if (!v)
            fprintf(stderr, "%s: %s\n", path, err);
    }
    vg_buf_free(&b);
    return v;
}

VG_TEST(assets_match_the_packaging_files)
{
    char path[1024], err[256];
    size_t files = 0;
    snprintf(path, sizeof(path), "%s/packaging/elasticsearch", source_dir());
    DIR *d = opendir(path);
    CHECK(d != NULL);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0) {
            files++;
            bool known = false;
            for (size_t i = 0; i < vg_es_assets_count; i++)
                known = known || strcmp(vg_es_assets[i].file, de->d_name) == 0;
            if (!known)
                fprintf(stderr, "packaging/elasticsearch/%s is not an asset\n", de->d_name);
            CHECK(known);
        }
    }
    if (d)
        closedir(d);
    CHECK_EQ_INT(files, vg_es_assets_count);
    for (size_t i = 0; i < vg_es_assets_count; i++) {
        const struct vg_es_asset *a = &vg_es_assets[i];
        snprintf(path, sizeof(path), "%s/packaging/elasticsearch/%s", source_dir(), a->file);
        struct vg_json *file = load_json(path);
        struct vg_json *emb = vg_json_parse(a->body, strlen(a->body), err, sizeof(err));
        CHECK(file != NULL);
        CHECK(emb != NULL);
        if (!vg_json_equal(file, emb))
            fprintf(stderr, "outputs/es/assets.c differs from %s\n", path);
        CHECK(vg_json_equal(file, emb));
        vg_json_free(file);
        vg_json_free(emb);
    }
}

/* ---- the mapping covers the documents -------------------------------- */

static const struct vg_json *mappings(void)
{
    static struct vg_json *m;
    if (!m) {
        for (size_t i = 0; i < vg_es_assets_count; i++)
            if (strcmp(vg_es_assets[i].name, "vigil@mappings") == 0) {
                char err[256];
                m = vg_json_parse(vg_es_assets[i].body, strlen(vg_es_assets[i].body), err,
                                  sizeof(err));
            }
    }
    return vg_json_get(vg_json_get(m, "template"), "mappings");
}

/* The template's mappings of the index template called name, or NULL. */
static const struct vg_json *index_mappings(const char *name)
{
    static struct vg_json *docs[16];
    static const char *names[16];
    for (size_t i = 0; i < 16 && names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return vg_json_get(vg_json_get(docs[i], "template"), "mappings");
    for (size_t i = 0; i < vg_es_assets_count; i++) {
        if (strcmp(vg_es_assets[i].name, name) != 0)
            continue;
        for (size_t k = 0; k < 16; k++) {
            if (names[k])
                continue;
            char err[256];
            names[k] = name;
            docs[k] = vg_json_parse(vg_es_assets[i].body, strlen(vg_es_assets[i].body), err,
                                    sizeof(err));
            return vg_json_get(vg_json_get(docs[k], "template"), "mappings");
        }
    }
    return NULL;
}

/* Where field() looks first (an index template's own mappings), before
 * vigil@mappings; NULL: vigil@mappings alone. */
static const struct vg_json *overlay;

/* The mapping of a dotted path in one mappings object; NULL when
 * unmapped. A flattened field covers everything below it. */
static const struct vg_json *field_in(const struct vg_json *m, const char *path, bool *flat)
{
    const struct vg_json *props = vg_json_get(m, "properties");
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", path);
    const struct vg_json *f = NULL;
    *flat = false;
    for (char *seg = strtok(buf, "."); seg; seg = strtok(NULL, ".")) {
        f = vg_json_get(props, seg);
        if (!f)
            return NULL;
        const char *type = vg_json_get_str(vg_json_get(f, "type"));
        if (type && strcmp(type, "flattened") == 0) {
            *flat = true;
            return f;
        }
        props = vg_json_get(f, "properties");
    }
    return f;
}

/* The mapping of a dotted path: in overlay if it maps a type there, else
 * in vigil@mappings. */
static const struct vg_json *field(const char *path, bool *flat)
{
    if (overlay) {
        const struct vg_json *f = field_in(overlay, path, flat);
        if (f && (*flat || vg_json_get(f, "type")))
            return f;
    }
    return field_in(mappings(), path, flat);
}

static const char *type_of(const char *path)
{
    bool flat;
    const struct vg_json *f = field(path, &flat);
    return f ? vg_json_get_str(vg_json_get(f, "type")) : NULL;
}

static int unmapped;

/* Every leaf of doc must be mapped, with a type that fits its value. */
static void walk(const struct vg_json *v, char *path, size_t len)
{
    if (vg_json_type(v) == VG_JSON_OBJECT) {
        bool flat;
        if (len && field(path, &flat) && flat)
            return;
        for (size_t i = 0; i < vg_json_len(v); i++) {
            size_t n = (size_t)snprintf(path + len, 512 - len, "%s%s", len ? "." : "",
                                        vg_json_key_at(v, i));
            walk(vg_json_at(v, i), path, len + n);
            path[len] = '\0';
        }
        return;
    }
    if (vg_json_type(v) == VG_JSON_ARRAY) {
        for (size_t i = 0; i < vg_json_len(v); i++)
            walk(vg_json_at(v, i), path, len);
        return;
    }
    bool flat;
    const struct vg_json *f = field(path, &flat);
    const char *type = f ? vg_json_get_str(vg_json_get(f, "type")) : NULL;
    bool ok = type != NULL;
    if (ok && vg_json_type(v) == VG_JSON_INT)
        ok = strcmp(type, "long") == 0 || flat;
    if (ok && vg_json_type(v) == VG_JSON_BOOL)
        ok = strcmp(type, "boolean") == 0 || flat;
    if (ok && vg_json_type(v) == VG_JSON_STRING)
        ok = strcmp(type, "long") != 0 && strcmp(type, "boolean") != 0;
    if (!ok) {
        fprintf(stderr, "unmapped or mistyped field: %s (%s)\n", path, type ? type : "none");
        unmapped++;
    }
}

static const char *RULES =
    "- id: host.sshd.permit_root_login\n"
    "  name: SSH root login is disabled\n"
    "  resource: host.sshd\n"
    "  severity: high\n"
    "  section: SSH Server\n"
    "  description: d\n"
    "  rationale: r\n"
    "  remediation: m\n"
    "  references: [https://a.example/1]\n"
    "  frameworks:\n"
    "    cis_debian_12: [\"5.1.20\"]\n"
    "    soc2: [CC6.1]\n"
    "  check: {path: PermitRootLogin, eq: \"no\"}\n";

VG_TEST(mapping_covers_every_field_of_the_documents)
{
    CHECK(mappings() != NULL);
    CHECK(vg_json_get(mappings(), "dynamic") != NULL &&
          !vg_json_get_bool(vg_json_get(mappings(), "dynamic")));
    CHECK_EQ_STR(type_of("event.id"), "keyword");
    CHECK_EQ_STR(type_of("rule.uuid"), "keyword");
    CHECK_EQ_STR(type_of("resource.id"), "keyword");
    CHECK_EQ_STR(type_of("result.evidence"), "flattened");
    CHECK_EQ_STR(type_of("@timestamp"), "date");
    CHECK_EQ_STR(type_of("event.ingested"), "date");
    CHECK_EQ_STR(type_of("event.severity"), "long");
    CHECK_EQ_STR(type_of("data_stream.namespace"), "constant_keyword");

    char err[512];
    struct vg_ruleset *rs = vg_ruleset_new();
    CHECK_EQ_INT(vg_ruleset_load_string(rs, "t.yml", RULES, strlen(RULES), err, sizeof(err)),
                 VG_OK);
    const struct vg_rule *rule = vg_ruleset_find(rs, "host.sshd.permit_root_login");
    CHECK(rule != NULL);
    if (!rule) {
        vg_ruleset_destroy(rs);
        return;
    }
    struct vg_resource *res = vg_resource_new("host.sshd", "host://web-01/sshd", "sshd",
                                              "configuration", "linux-sshd");
    vg_json_set_str(res->doc, "PermitRootLogin", "yes");
    struct vg_eval_result er;
    memset(&er, 0, sizeof(er));
    CHECK_EQ_INT(vg_rule_eval(rule, res, &er), VG_OK);
    struct vg_target_info target = { .host_name = "web-01", .host_id = "abc", .os_family = "debian",
                                     .os_name = "Debian", .os_version = "12",
                                     .os_platform = "debian" };
    struct vg_scan_meta m;
    memset(&m, 0, sizeof(m));
    strcpy(m.scan_id, "6f1c1a52-2c4e-4c35-9d7a-0d7c9e2b6b11");
    m.started_ms = 1795687205123LL;
    m.agent_name = "scanner-01";
    m.agent_id = "0b7e8c1c-58e6-4b0e-9f55-0b0f43d1f3a7";
    m.namespace = "default";
    m.provider = "host";
    m.target = &target;
    struct vg_finding f = { .rule = rule, .resource = res, .result = &er, .muted = true,
                            .mute_reason = "accepted", .has_previous = true,
                            .previous = VG_EVAL_PASSED };
    struct vg_json *doc = vg_ecs_finding_doc(&m, &f, 1795687206000LL);
    CHECK(doc != NULL);
    char path[512] = "";
    unmapped = 0;
    walk(doc, path, 0);
    vg_json_free(doc);

    struct vg_scan_stats ss;
    memset(&ss, 0, sizeof(ss));
    ss.ended_ms = m.started_ms + 5000;
    ss.by_eval[1] = 1;
    ss.by_framework[0][1] = 1;
    struct vg_json *errors = vg_json_array();
    vg_json_push(errors, vg_json_str("an error"));
    ss.errors = errors;
    ss.interval_s = 3600;
    ss.exceptions_expired = 1;
    ss.expired_entries = vg_json_array();
    vg_json_push(ss.expired_entries, vg_json_str("/etc/vigil/vigil.yml:3: r (owner o, expired 2020-01-01)"));
    struct vg_json *sum = vg_ecs_summary_doc(&m, &ss);
    CHECK(sum != NULL);
    /* the issue 7 fields are there to be checked */
    const struct vg_json *sscan = vg_json_get(vg_json_get(sum, "vigil"), "scan");
    CHECK(vg_json_get(sscan, "interval_s") != NULL);
    CHECK(vg_json_get(vg_json_get(sscan, "exceptions"), "expired_entries") != NULL);
    path[0] = '\0';
    walk(sum, path, 0);
    vg_json_free(sum);
    vg_json_free(errors);
    vg_json_free(ss.expired_entries);
    CHECK_EQ_STR(type_of("vigil.previous_evaluation"), "keyword");
    CHECK_EQ_STR(type_of("vigil.regression"), "boolean");
    CHECK_EQ_STR(type_of("vigil.scan.interval_s"), "long");
    CHECK_EQ_STR(type_of("vigil.scan.exceptions.expired"), "long");
    CHECK_EQ_STR(type_of("vigil.scan.exceptions.expired_entries"), "keyword");

    /* cloud findings, as DESIGN.md draws them */
    const char *cloud = "{\"cloud\":{\"provider\":\"aws\",\"account\":{\"id\":\"123456789012\","
                        "\"name\":\"prod\"},\"region\":\"us-east-1\",\"service\":{\"name\":\"S3\"}},"
                        "\"resource\":{\"region\":\"us-east-1\"},\"rule\":{\"benchmark\":{"
                        "\"posture_type\":\"cspm\"}}}";
    struct vg_json *c = vg_json_parse(cloud, strlen(cloud), err, sizeof(err));
    path[0] = '\0';
    walk(c, path, 0);
    vg_json_free(c);
    CHECK_EQ_INT(unmapped, 0);
    vg_resource_destroy(res);
    vg_eval_result_clear(&er);
    vg_ruleset_destroy(rs);
}

/* The monitoring event of the issue 7 contract, every field with a value
 * of its kind. */
static const char *MONITORING_DOC =
    "{\"@timestamp\":\"2026-11-26T10:00:05.123Z\",\"event\":{\"kind\":\"metric\","
    "\"dataset\":\"vigil.monitoring\",\"module\":\"vigil\",\"created\":\"2026-11-26T10:00:05.123Z\","
    "\"id\":\"0123456789abcdef0123456789abcdef\"},"
    "\"data_stream\":{\"type\":\"logs\",\"dataset\":\"vigil.monitoring\",\"namespace\":\"default\"},"
    "\"agent\":{\"type\":\"vigil\",\"name\":\"a\",\"id\":\"x\",\"version\":\"0.1.0\"},"
    "\"host\":{\"name\":\"a\"},\"message\":\"m\",\"ecs\":{\"version\":\"8.17.0\"},"
    "\"vigil\":{\"monitoring\":{\"uptime_s\":5,"
    "\"health\":{\"status\":\"degraded\",\"reasons\":[\"spool full\"]},"
    "\"events\":{\"produced\":1,\"delivered\":1,\"retried\":1,\"dead_lettered\":1,\"dropped\":1},"
    "\"outputs\":{\"elasticsearch\":{\"delivered\":1,\"retried\":1,\"dead_lettered\":1,"
    "\"pending\":1,\"failing_since\":\"2026-11-26T10:00:05.123Z\"},"
    "\"kafka\":{\"delivered\":1,\"retried\":1,\"dead_lettered\":1,\"pending\":1,"
    "\"failing_since\":\"2026-11-26T10:00:05.123Z\"}},"
    "\"spool\":{\"bytes\":1,\"events\":1,\"max_bytes\":1},"
    "\"scans\":{\"started\":1,\"completed\":1,\"failed\":1,\"skipped\":1,\"running\":1,"
    "\"overdue\":1},"
    "\"findings\":{\"passed\":1,\"failed\":1,\"unknown\":1},"
    "\"api\":{\"requests\":1,\"errors\":1}}}}";

VG_TEST(monitoring_template_maps_the_contract)
{
    const struct vg_json *mm = index_mappings("logs-vigil.monitoring");
    CHECK(mm != NULL);
    if (!mm)
        return;
    /* an index template of a data stream, on the shared component templates */
    const struct vg_json *t = NULL;
    for (size_t i = 0; i < vg_es_assets_count; i++)
        if (strcmp(vg_es_assets[i].name, "logs-vigil.monitoring") == 0) {
            char err[256];
            t = vg_json_parse(vg_es_assets[i].body, strlen(vg_es_assets[i].body), err,
                              sizeof(err));
            CHECK_EQ_STR(vg_es_assets[i].path, "/_index_template/logs-vigil.monitoring");
        }
    CHECK(t != NULL);
    CHECK(vg_json_get(t, "data_stream") != NULL);
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(vg_json_get(t, "index_patterns"), 0)),
                 "logs-vigil.monitoring-*");
    CHECK_EQ_INT(vg_json_len(vg_json_get(t, "composed_of")), 2);
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(vg_json_get(t, "composed_of"), 0)), "vigil@mappings");
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(vg_json_get(t, "composed_of"), 1)), "vigil@settings");
    vg_json_free((struct vg_json *)t);

    overlay = mm;
    bool flat;
    const struct vg_json *mon = field_in(mm, "vigil.monitoring", &flat);
    CHECK(mon != NULL && vg_json_get_bool(vg_json_get(mon, "dynamic")));
    CHECK_EQ_STR(type_of("data_stream.dataset"), "constant_keyword");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(field("data_stream.dataset", &flat), "value")),
                 "vigil.monitoring");
    CHECK_EQ_STR(type_of("vigil.monitoring.uptime_s"), "long");
    CHECK_EQ_STR(type_of("vigil.monitoring.health.status"), "keyword");
    CHECK_EQ_STR(type_of("vigil.monitoring.health.reasons"), "keyword");
    CHECK_EQ_STR(type_of("vigil.monitoring.outputs.elasticsearch.failing_since"), "date");
    CHECK_EQ_STR(type_of("vigil.monitoring.outputs.kafka.failing_since"), "date");
    CHECK_EQ_STR(type_of("vigil.monitoring.outputs.kafka.pending"), "long");
    CHECK_EQ_STR(type_of("vigil.monitoring.scans.overdue"), "long");
    CHECK_EQ_STR(type_of("vigil.monitoring.api.errors"), "long");
    CHECK_EQ_STR(type_of("event.kind"), "keyword");   /* from vigil@mappings */
    /* every field of the event is mapped, by type, none left to dynamic */
    char err[256], path[512] = "";
    struct vg_json *doc = vg_json_parse(MONITORING_DOC, strlen(MONITORING_DOC), err, sizeof(err));
    CHECK(doc != NULL);
    unmapped = 0;
    walk(doc, path, 0);
    CHECK_EQ_INT(unmapped, 0);
    vg_json_free(doc);
    /* a field the contract does not name is not mapped here: dynamic takes it */
    CHECK(type_of("vigil.monitoring.something_new") == NULL);
    overlay = NULL;
    /* the findings' index does not see the monitoring fields */
    CHECK(type_of("vigil.monitoring.uptime_s") == NULL);
}

/* ---- setup against the test server ----------------------------------- */

struct server {
    pid_t pid;
    int port;
};

static char tmpdir[64];

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int server_start(struct server *s, const char *const *extra)
{
    static int seq;
    char portfile[256], script[512];
    snprintf(portfile, sizeof(portfile), "%s/port%d", tmpdir, seq++);
    snprintf(script, sizeof(script), "%s/tests/es_server.py", source_dir());
    const char *argv[16] = { "/usr/bin/python3", script, "--port", "0", "--port-file", portfile,
                             "--quiet" };
    int n = 7;
    for (int i = 0; extra && extra[i] && n < 15; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int64_t deadline = vg_time_mono_ms() + 15000;
    while (vg_time_mono_ms() < deadline) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%d", &s->port) == 1;
            fclose(f);
            if (ok)
                return 0;
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

static size_t sink_write(char *p, size_t size, size_t nmemb, void *u)
{
    vg_buf_append(u, p, size * nmemb);
    return size * nmemb;
}

static struct vg_json *http_json(const struct server *s, const char *method, const char *path)
{
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    struct vg_buf b;
    vg_buf_init(&b, 64u << 20);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{}");
    curl_easy_perform(e);
    curl_easy_cleanup(e);
    char err[256];
    struct vg_json *v = vg_json_parse(b.data ? b.data : "", b.len, err, sizeof(err));
    vg_buf_free(&b);
    return v;
}

static char *hosts[1];
static char url0[128];

static void es_cfg(struct vg_config *cfg, const struct server *s)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(url0, sizeof(url0), "http://127.0.0.1:%d", s ? s->port : 9);
    hosts[0] = url0;
    cfg->outputs.es.enabled = true;
    cfg->outputs.es.hosts = hosts;
    cfg->outputs.es.nhosts = 1;
    cfg->outputs.es.ssl_verify = true;
    cfg->outputs.es.timeout_s = 10;
    cfg->outputs.es.bulk_max_events = 100;
    cfg->outputs.es.bulk_max_bytes = 1 << 20;
    cfg->outputs.es.max_in_flight = 1;
    cfg->outputs.es.compression_level = 1;
    cfg->outputs.es.backoff_max_s = 1;
    cfg->outputs.namespace = "default";
    cfg->agent.state_dir = tmpdir;
}

static char *run_setup(const struct vg_config *cfg, bool dry, enum vg_err *err, char *errbuf,
                       size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    *err = vg_setup_run(cfg, dry, out, errbuf, errlen);
    fclose(out);
    return text;
}

VG_TEST(setup_installs_everything_and_is_idempotent)
{
    struct server s;
    CHECK_EQ_INT(server_start(&s, NULL), 0);
    struct vg_config cfg;
    es_cfg(&cfg, &s);
    char errbuf[512] = "";
    enum vg_err err;

    /* dry run: the requests, none sent */
    char *text = run_setup(&cfg, true, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    CHECK_CONTAINS(text, "PUT /_index_template/logs-vigil.findings\n{");
    CHECK_CONTAINS(text, "PUT /_index_template/logs-vigil.scan\n{");
    CHECK_CONTAINS(text, "PUT /_index_template/logs-vigil.monitoring\n{");
    CHECK_CONTAINS(text, "PUT /_ingest/pipeline/vigil\n{");
    CHECK_CONTAINS(text, "POST /_transform/vigil-misconfiguration-latest-v1/_start");
    CHECK_CONTAINS(text, "\"unique_key\":[\"rule.uuid\",\"resource.id\",\"data_stream.namespace\"]");
    free(text);
    struct vg_json *log = http_json(&s, "GET", "/_test/requests");
    CHECK_EQ_INT(vg_json_len(log), 0);
    vg_json_free(log);

    text = run_setup(&cfg, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    if (err)
        fprintf(stderr, "setup: %s\n", errbuf);
    CHECK_CONTAINS(text, "ILM policy vigil: installed\n");
    CHECK_CONTAINS(text, "ingest pipeline vigil: installed\n");
    CHECK_CONTAINS(text, "index template logs-vigil.findings: installed\n");
    CHECK_CONTAINS(text, "index template logs-vigil.monitoring: installed\n");
    CHECK_CONTAINS(text, "index security_solution-vigil.misconfiguration_latest-v1: created\n");
    CHECK_CONTAINS(text, "transform vigil-misconfiguration-latest-v1: created, started\n");
    free(text);
    struct vg_json *t = http_json(&s, "GET", "/_transform/vigil-misconfiguration-latest-v1");
    const struct vg_json *tc = vg_json_at(vg_json_get(t, "transforms"), 0);
    const struct vg_json *uk = vg_json_get(vg_json_get(tc, "latest"), "unique_key");
    CHECK_EQ_INT(vg_json_len(uk), 3);
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(uk, 0)), "rule.uuid");
    vg_json_free(t);
    struct vg_json *idx = http_json(&s, "GET", "/security_solution-vigil.misconfiguration_latest-v1");
    CHECK(vg_json_get(vg_json_get(vg_json_get(idx, "security_solution-vigil.misconfiguration_latest-v1"),
                                  "aliases"),
                      "security_solution-vigil.misconfiguration_latest") != NULL);
    vg_json_free(idx);

    /* again: nothing fails, nothing is duplicated */
    text = run_setup(&cfg, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    CHECK_CONTAINS(text, "index security_solution-vigil.misconfiguration_latest-v1: exists, kept\n");
    CHECK_CONTAINS(text, "transform vigil-misconfiguration-latest-v1: exists, updated, already started\n");
    free(text);
    struct vg_json *stats = http_json(&s, "GET", "/_test/stats");
    CHECK(vg_json_get_bool(vg_json_get(vg_json_get(stats, "transforms"),
                                       "vigil-misconfiguration-latest-v1")));
    vg_json_free(stats);

    /* a finding written now goes through the pipeline: event.ingested set */
    struct vg_spool_opts o = { .max_bytes = 64u << 20, .segment_bytes = 1u << 20 };
    struct vg_spool *sp = vg_spool_open(&o, errbuf, sizeof(errbuf));
    CHECK(sp != NULL);
    const char *ev = "{\"@timestamp\":\"2026-11-26T10:00:05.123Z\",\"event\":{\"id\":\"f1\","
                     "\"dataset\":\"vigil.findings\"},\"data_stream\":{\"type\":\"logs\","
                     "\"dataset\":\"vigil.findings\",\"namespace\":\"default\"}}";
    size_t evlen = strlen(ev);
    CHECK_EQ_INT(vg_spool_append(sp, &ev, &evlen, 1, 1000, errbuf, sizeof(errbuf)), VG_OK);
    struct vg_es *es = vg_es_new(&cfg, sp, NULL, errbuf, sizeof(errbuf));
    CHECK(es != NULL);
    CHECK_EQ_INT(vg_es_start(es), VG_OK);
    CHECK_EQ_INT(vg_es_drain(es, vg_time_mono_ms() + 10000, NULL), VG_OK);
    vg_es_destroy(es);
    vg_spool_close(sp);
    struct vg_json *doc = http_json(&s, "GET", "/logs-vigil.findings-default/_doc/f1");
    const char *ing = vg_json_get_str(
        vg_json_get(vg_json_get(vg_json_get(doc, "_source"), "event"), "ingested"));
    CHECK(ing != NULL && strlen(ing) >= 20);
    vg_json_free(doc);
    server_stop(&s);
}

VG_TEST(setup_errors)
{
    struct vg_config cfg;
    char errbuf[512];
    enum vg_err err;
    memset(&cfg, 0, sizeof(cfg));
    char *text = run_setup(&cfg, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_CONFIG);
    CHECK_CONTAINS(errbuf, "not configured");
    free(text);

    /* nobody listens */
    es_cfg(&cfg, NULL);
    snprintf(url0, sizeof(url0), "http://127.0.0.1:1");
    text = run_setup(&cfg, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_IO);
    CHECK_CONTAINS(errbuf, "127.0.0.1:1");
    free(text);

    /* credentials refused */
    struct server s;
    const char *args[] = { "--users", "vigil:right", NULL };
    CHECK_EQ_INT(server_start(&s, args), 0);
    es_cfg(&cfg, &s);
    cfg.outputs.es.username = "vigil";
    cfg.outputs.es.password = "wrong";
    text = run_setup(&cfg, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_PERM);
    CHECK_CONTAINS(errbuf, "HTTP 401 security_exception");
    CHECK(strstr(errbuf, "wrong") == NULL);
    free(text);
    cfg.outputs.es.password = "right";
    text = run_setup(&cfg, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    free(text);
    server_stop(&s);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vg-es-setup-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    int rc = vg_test_run(argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return rc;
}
