/* The ECS encoder: the document of a finding and of a scan summary. */
#include "vgtest.h"

#include "agent/json.h"
#include "agent/results.h"
#include "checks/exception.h"
#include "checks/rule.h"
#include "agent/limits.h"
#include "outputs/ecs.h"
#include "outputs/output.h"

#include <stdlib.h>
#include <unistd.h>

static const char *RULES =
    "- id: host.sshd.permit_root_login\n"
    "  name: SSH root login is disabled\n"
    "  resource: host.sshd\n"
    "  severity: high\n"
    "  section: SSH Server\n"
    "  description: d\n"
    "  rationale: r\n"
    "  remediation: m\n"
    "  references: [https://a.example/1, https://a.example/2]\n"
    "  frameworks:\n"
    "    cis_debian_12: [\"5.1.20\"]\n"
    "    soc2: [CC6.1]\n"
    "    nist_csf_2.0: [PR.AA-05]\n"
    "  check: {path: PermitRootLogin, eq: \"no\"}\n";

static const char *str_at(const struct vg_json *doc, const char *a, const char *b, const char *c)
{
    const struct vg_json *v = vg_json_get(doc, a);
    if (b)
        v = vg_json_get(v, b);
    if (c)
        v = vg_json_get(v, c);
    return vg_json_get_str(v);
}

static int64_t int_at(const struct vg_json *doc, const char *a, const char *b)
{
    return vg_json_get_int(vg_json_get(vg_json_get(doc, a), b));
}

static struct vg_target_info target = {
    .host_name = "web-01", .host_id = "abc123", .os_family = "debian",
    .os_name = "Debian GNU/Linux", .os_version = "12", .os_platform = "debian",
};

static void make_meta(struct vg_scan_meta *m)
{
    memset(m, 0, sizeof(*m));
    strcpy(m->scan_id, "6f1c1a52-2c4e-4c35-9d7a-0d7c9e2b6b11");
    m->started_ms = 1795687205123LL;
    m->agent_name = "scanner-01";
    m->agent_id = "0b7e8c1c-58e6-4b0e-9f55-0b0f43d1f3a7";
    m->namespace = "default";
    m->provider = "host";
    m->target = &target;
}

VG_TEST(event_id_is_deterministic)
{
    char a[VG_EVENT_ID_LEN], b[VG_EVENT_ID_LEN], c[VG_EVENT_ID_LEN], d[VG_EVENT_ID_LEN];
    vg_ecs_event_id("r", "res", "scan", a);
    vg_ecs_event_id("r", "res", "scan", b);
    vg_ecs_event_id("r", "res", "scan2", c);
    vg_ecs_event_id("rr", "es", "scan", d);
    CHECK_EQ_STR(a, b);
    CHECK(strcmp(a, c) != 0);
    CHECK(strcmp(a, d) != 0);   /* separators keep fields apart */
    CHECK_EQ_INT(strlen(a), 32);
    /* first 16 bytes of SHA-256("r\0res\0scan") */
    CHECK_EQ_STR(a, "5afedfa16050cc2ef4eb38af2c49f358");
    /* a resource id too long for the stack path hashes the same way */
    char longid[2000];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    char l1[VG_EVENT_ID_LEN], l2[VG_EVENT_ID_LEN];
    vg_ecs_event_id("r", longid, "scan", l1);
    uint8_t md[VG_SHA256_LEN];
    struct vg_buf joined;
    vg_buf_init(&joined, 4096);
    vg_buf_append(&joined, "r", 2);
    vg_buf_append(&joined, longid, sizeof(longid));
    vg_buf_append(&joined, "scan", 4);
    vg_sha256(joined.data, joined.len, md);
    vg_hex(md, 16, l2);
    CHECK_EQ_STR(l1, l2);
    vg_buf_free(&joined);
}

VG_TEST(finding_document)
{
    char err[512];
    struct vg_ruleset *rs = vg_ruleset_new();
    CHECK_EQ_INT(vg_ruleset_load_string(rs, "t.yml", RULES, strlen(RULES), err, sizeof(err)),
                 VG_OK);
    const struct vg_rule *rule = vg_ruleset_find(rs, "host.sshd.permit_root_login");
    CHECK(rule != NULL);
    if (!rule) {
        fprintf(stderr, "%s\n", err);
        vg_ruleset_destroy(rs);
        return;
    }
    struct vg_resource *res = vg_resource_new("host.sshd", "host://web-01/sshd", "sshd",
                                              "configuration", "linux-sshd");
    vg_json_set_str(res->doc, "PermitRootLogin", "yes");
    vg_json_set_str(res->doc, "Secretish", "never read");
    vg_resource_set_source(res, "PermitRootLogin", "/etc/ssh/sshd_config:3");
    struct vg_eval_result er;
    memset(&er, 0, sizeof(er));
    CHECK_EQ_INT(vg_rule_eval(rule, res, &er), VG_OK);
    CHECK_EQ_INT(er.evaluation, VG_EVAL_FAILED);

    struct vg_scan_meta m;
    make_meta(&m);
    struct vg_finding f = { .rule = rule, .resource = res, .result = &er };
    struct vg_json *doc = vg_ecs_finding_doc(&m, &f, 1795687206000LL);
    CHECK(doc != NULL);

    CHECK_EQ_STR(str_at(doc, "@timestamp", NULL, NULL), "2026-11-26T10:00:06.000Z");
    CHECK_EQ_STR(str_at(doc, "event", "kind", NULL), "state");
    CHECK_EQ_STR(str_at(doc, "event", "outcome", NULL), "failure");
    CHECK_EQ_STR(str_at(doc, "event", "dataset", NULL), "vigil.findings");
    CHECK_EQ_INT(int_at(doc, "event", "severity"), 73);
    CHECK_EQ_INT(int_at(doc, "event", "sequence"), 1795687205);
    char id[VG_EVENT_ID_LEN];
    vg_ecs_event_id(rule->id, res->id, m.scan_id, id);
    CHECK_EQ_STR(str_at(doc, "event", "id", NULL), id);
    CHECK_EQ_STR(str_at(doc, "data_stream", "dataset", NULL), "vigil.findings");
    CHECK_EQ_STR(str_at(doc, "data_stream", "namespace", NULL), "default");
    CHECK_EQ_STR(str_at(doc, "agent", "name", NULL), "scanner-01");
    CHECK_EQ_STR(str_at(doc, "rule", "uuid", NULL), rule->uuid);
    CHECK_EQ_STR(str_at(doc, "rule", "reference", NULL), "https://a.example/1");
    CHECK_EQ_STR(str_at(doc, "rule", "references", NULL),
                 "https://a.example/1\nhttps://a.example/2");
    CHECK_EQ_STR(str_at(doc, "rule", "benchmark", "id"), "cis_debian_12");
    CHECK_EQ_STR(str_at(doc, "rule", "benchmark", "rule_number"), "5.1.20");
    CHECK_EQ_STR(str_at(doc, "result", "evaluation", NULL), "failed");
    CHECK_CONTAINS(str_at(doc, "result", "reason", NULL), "/etc/ssh/sshd_config:3");
    /* evidence holds what the rule read, nothing else */
    const struct vg_json *evid = vg_json_get(vg_json_get(doc, "result"), "evidence");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(evid, "PermitRootLogin")), "yes");
    CHECK(vg_json_get(evid, "Secretish") == NULL);
    CHECK_EQ_STR(str_at(doc, "resource", "id", NULL), "host://web-01/sshd");
    CHECK_EQ_STR(str_at(doc, "resource", "sub_type", NULL), "linux-sshd");
    CHECK_EQ_STR(str_at(doc, "host", "name", NULL), "web-01");
    CHECK_EQ_STR(str_at(doc, "host", "os", "family"), "debian");
    CHECK(vg_json_get(doc, "cloud") == NULL);
    CHECK_EQ_STR(str_at(doc, "ecs", "version", NULL), "8.17.0");
    CHECK_EQ_STR(str_at(doc, "vigil", "severity", NULL), "high");
    CHECK_EQ_STR(str_at(doc, "vigil", "scan", "id"), m.scan_id);
    CHECK_EQ_STR(str_at(doc, "vigil", "scan", "started"), "2026-11-26T10:00:05.123Z");
    const struct vg_json *comp = vg_json_get(vg_json_get(doc, "vigil"), "compliance");
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(vg_json_get(comp, "nist_csf_2.0"), 0)), "PR.AA-05");
    CHECK(vg_json_get(vg_json_get(doc, "vigil"), "muted") != NULL);
    CHECK_CONTAINS(str_at(doc, "message", NULL, NULL),
                   "SSH root login is disabled: failed for host://web-01/sshd");

    /* one line of JSON */
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(vg_ecs_encode(doc, &b), VG_OK);
    CHECK(strchr(vg_buf_str(&b), '\n') == NULL);
    vg_buf_free(&b);

    vg_json_free(doc);
    vg_eval_result_clear(&er);
    vg_resource_destroy(res);
    vg_ruleset_destroy(rs);
}

VG_TEST(summary_document)
{
    struct vg_scan_meta m;
    make_meta(&m);
    struct vg_scan_stats s;
    memset(&s, 0, sizeof(s));
    s.ended_ms = m.started_ms + 1500;
    s.rules = 10;
    s.resources = 4;
    s.by_eval[0] = 5;
    s.by_eval[1] = 3;
    s.by_eval[2] = 1;
    s.by_severity[VG_SEV_CRITICAL][1] = 1;
    s.by_severity[VG_SEV_HIGH][1] = 2;
    s.by_framework[2][1] = 3;   /* soc2 */
    s.errors = vg_json_array();
    vg_json_push(s.errors, vg_json_str("cannot read /etc/x"));
    struct vg_json *doc = vg_ecs_summary_doc(&m, &s);
    CHECK(doc != NULL);
    CHECK_EQ_STR(str_at(doc, "event", "kind", NULL), "event");
    CHECK_EQ_STR(str_at(doc, "event", "dataset", NULL), "vigil.scan");
    CHECK_EQ_STR(str_at(doc, "data_stream", "dataset", NULL), "vigil.scan");
    CHECK_EQ_STR(str_at(doc, "event", "outcome", NULL), "failure");
    CHECK_EQ_INT(int_at(doc, "event", "duration"), 1500000000LL);
    const struct vg_json *scan = vg_json_get(vg_json_get(doc, "vigil"), "scan");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(vg_json_get(scan, "findings"), "total")), 9);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(vg_json_get(scan, "failed_by_severity"), "critical")), 1);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(vg_json_get(vg_json_get(scan, "frameworks"), "soc2"), "failed")), 3);
    CHECK_EQ_INT(vg_json_len(vg_json_get(scan, "errors")), 1);
    CHECK_CONTAINS(str_at(doc, "message", NULL, NULL), "5 passed, 3 failed, 1 unknown");
    vg_json_free(doc);
    vg_json_free(s.errors);
}

/* ---- issue 7: previous evaluation, regression, scan summary fields ------- */

static const struct vg_rule *load_rule(struct vg_ruleset *rs)
{
    char err[512];
    if (vg_ruleset_load_string(rs, "t.yml", RULES, strlen(RULES), err, sizeof(err)) != VG_OK)
        fprintf(stderr, "%s\n", err);
    return vg_ruleset_find(rs, "host.sshd.permit_root_login");
}

VG_TEST(finding_previous_evaluation_and_regression)
{
    struct vg_ruleset *rs = vg_ruleset_new();
    const struct vg_rule *rule = load_rule(rs);
    CHECK(rule != NULL);
    if (!rule) {
        vg_ruleset_destroy(rs);
        return;
    }
    struct vg_resource *res = vg_resource_new("host.sshd", "host://web-01/sshd", "sshd",
                                              "configuration", "linux-sshd");
    struct vg_eval_result er;
    memset(&er, 0, sizeof(er));
    struct vg_scan_meta m;
    make_meta(&m);
    /* now x before -> regression; every pair of the 3 x 3 */
    for (int now = 0; now < 3; now++) {
        for (int before = -1; before < 3; before++) {
            er.evaluation = (enum vg_eval)now;
            struct vg_finding f = { .rule = rule, .resource = res, .result = &er };
            if (before >= 0) {
                f.has_previous = true;
                f.previous = (enum vg_eval)before;
            }
            struct vg_json *doc = vg_ecs_finding_doc(&m, &f, 1795687206000LL);
            CHECK(doc != NULL);
            const struct vg_json *vg = vg_json_get(doc, "vigil");
            const struct vg_json *pe = vg_json_get(vg, "previous_evaluation");
            const struct vg_json *rg = vg_json_get(vg, "regression");
            if (before < 0) {
                /* not in the previous scan: neither field */
                CHECK(pe == NULL);
                CHECK(rg == NULL);
            } else {
                CHECK_EQ_STR(vg_json_get_str(pe), vg_eval_name((enum vg_eval)before));
                CHECK_EQ_INT(vg_json_type(rg), VG_JSON_BOOL);
                CHECK_EQ_INT(vg_json_get_bool(rg), now == VG_EVAL_FAILED && before == VG_EVAL_PASSED);
            }
            CHECK_EQ_STR(str_at(doc, "result", "evaluation", NULL), vg_eval_name((enum vg_eval)now));
            vg_json_free(doc);
        }
    }
    /* after mute_reason, inside vigil, the document still one line */
    er.evaluation = VG_EVAL_FAILED;
    struct vg_finding f = { .rule = rule, .resource = res, .result = &er, .muted = true,
                            .mute_reason = "accepted", .has_previous = true,
                            .previous = VG_EVAL_PASSED };
    struct vg_ecs_cache *c = vg_ecs_cache_new();
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(vg_ecs_finding_write(c, &m, &f, 1795687206000LL, &b, NULL), VG_OK);
    CHECK_CONTAINS(vg_buf_str(&b), "\"muted\":true,\"mute_reason\":\"accepted\","
                                   "\"previous_evaluation\":\"passed\",\"regression\":true}}");
    vg_buf_free(&b);
    vg_ecs_cache_destroy(c);
    vg_resource_destroy(res);
    vg_ruleset_destroy(rs);
}

/* A finding's route holds the values its document holds (decoded), for
 * every field, with a resource id that needs escaping in JSON; a route
 * that would pass VG_MAX_ROUTE is left out, the document still written. */
VG_TEST(finding_route_matches_the_document)
{
    struct vg_ruleset *rs = vg_ruleset_new();
    const struct vg_rule *rule = load_rule(rs);
    CHECK(rule != NULL);
    if (!rule) {
        vg_ruleset_destroy(rs);
        return;
    }
    struct vg_eval_result er;
    memset(&er, 0, sizeof(er));
    er.evaluation = VG_EVAL_FAILED;
    struct vg_scan_meta m;
    make_meta(&m);
    m.namespace = "prod";
    char longid[VG_MAX_ROUTE + 16];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    const char *ids[2] = { "host://web-01/\"quoted\" \\ caf\xc3\xa9\n", longid };
    for (int t = 0; t < 2; t++) {
        struct vg_resource *res = vg_resource_new("host.sshd", ids[t], "sshd", "configuration",
                                                  "linux-sshd");
        struct vg_finding f = { .rule = rule, .resource = res, .result = &er };
        struct vg_ecs_cache *c = vg_ecs_cache_new();
        struct vg_buf b, rb;
        vg_buf_init(&b, 1 << 20);
        vg_buf_init(&rb, VG_MAX_ROUTE);
        CHECK_EQ_INT(vg_ecs_finding_write(c, &m, &f, 1795687206000LL, &b, &rb), VG_OK);
        char err[128];
        struct vg_json *doc = vg_json_parse(b.data, b.len, err, sizeof(err));
        CHECK(doc != NULL);
        struct vg_route r;
        if (t == 1) {
            CHECK_EQ_INT(rb.len, 0);   /* too long: none */
            CHECK(!vg_route_parse(rb.data, rb.len, &r));
        } else {
            CHECK(vg_route_parse(rb.data, rb.len, &r));
            for (int i = 0; i < VG_RT_N; i++) {
                /* the path's value in the document */
                char path[64];
                snprintf(path, sizeof(path), "%s", vg_route_paths[i]);
                char *dot = strchr(path, '.');
                *dot = '\0';
                const char *want = str_at(doc, path, dot + 1, NULL);
                CHECK(want != NULL);
                CHECK(r.v[i] != NULL);
                if (want && r.v[i]) {
                    CHECK_EQ_INT(r.len[i], strlen(want));
                    CHECK(memcmp(r.v[i], want, r.len[i]) == 0);
                }
            }
            CHECK_EQ_STR(str_at(doc, "data_stream", "namespace", NULL), "prod");
        }
        vg_json_free(doc);
        vg_buf_free(&b);
        vg_buf_free(&rb);
        vg_ecs_cache_destroy(c);
        vg_resource_destroy(res);
    }
    vg_ruleset_destroy(rs);
}

/* Routes: fields in order, empty ones absent; anything else is no route. */
VG_TEST(route_text)
{
    const char *v[VG_RT_N] = { "id", "ds", NULL, "8.17.0", "r", "res", "high" };
    struct vg_buf b;
    vg_buf_init(&b, VG_MAX_ROUTE);
    CHECK_EQ_INT(vg_route_append(&b, v), VG_OK);
    struct vg_route r;
    CHECK(vg_route_parse(b.data, b.len, &r));
    CHECK(r.v[VG_RT_NAMESPACE] == NULL);
    CHECK_EQ_INT(r.len[VG_RT_SEVERITY], 4);
    CHECK(memcmp(r.v[VG_RT_SEVERITY], "high", 4) == 0);
    CHECK(memcmp(r.v[VG_RT_ID], "id", 2) == 0);
    CHECK(!vg_route_parse(b.data, b.len - 5, &r));   /* "\\0high" cut off: six fields */
    CHECK(!vg_route_parse("", 0, &r));
    CHECK(!vg_route_parse(NULL, 3, &r));
    CHECK(!vg_route_parse("a\0b", 3, &r));                          /* too few fields */
    CHECK(!vg_route_parse("1\0" "2\0" "3\0" "4\0" "5\0" "6\0" "7\0" "8", 15, &r));   /* too many */
    CHECK(vg_route_parse("1\0" "2\0" "3\0" "4\0" "5\0" "6\0" "7", 13, &r));
    CHECK_EQ_INT(vg_route_field_of("rule.id"), VG_RT_RULE_ID);
    CHECK_EQ_INT(vg_route_field_of("cloud.account.id"), -1);
    vg_buf_free(&b);
}

VG_TEST(summary_interval_and_expired_exceptions)
{
    struct vg_scan_meta m;
    make_meta(&m);
    struct vg_scan_stats s;
    memset(&s, 0, sizeof(s));
    s.ended_ms = m.started_ms + 10;
    /* vigil scan: no interval, nothing expired */
    struct vg_json *doc = vg_ecs_summary_doc(&m, &s);
    const struct vg_json *scan = vg_json_get(vg_json_get(doc, "vigil"), "scan");
    CHECK(vg_json_get(scan, "interval_s") == NULL);
    const struct vg_json *exc = vg_json_get(scan, "exceptions");
    CHECK_EQ_INT(vg_json_type(vg_json_get(exc, "expired")), VG_JSON_INT);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(exc, "expired")), 0);
    CHECK(vg_json_get(exc, "expired_entries") == NULL);
    vg_json_free(doc);
    /* an empty list is the same as none */
    s.expired_entries = vg_json_array();
    doc = vg_ecs_summary_doc(&m, &s);
    scan = vg_json_get(vg_json_get(doc, "vigil"), "scan");
    CHECK(vg_json_get(vg_json_get(scan, "exceptions"), "expired_entries") == NULL);
    vg_json_free(doc);

    /* vigil run: the interval, and two expired entries */
    s.interval_s = 3600;
    s.exceptions_expired = 2;
    vg_json_push(s.expired_entries, vg_json_str("/etc/vigil/vigil.yml:12: a (owner o, expired 2020-01-01)"));
    vg_json_push(s.expired_entries, vg_json_str("/etc/vigil/vigil.yml:19: b (owner p, expired 2021-02-03)"));
    doc = vg_ecs_summary_doc(&m, &s);
    scan = vg_json_get(vg_json_get(doc, "vigil"), "scan");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(scan, "interval_s")), 3600);
    exc = vg_json_get(scan, "exceptions");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(exc, "expired")), 2);
    const struct vg_json *ents = vg_json_get(exc, "expired_entries");
    CHECK_EQ_INT(vg_json_len(ents), 2);
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(ents, 1)),
                 "/etc/vigil/vigil.yml:19: b (owner p, expired 2021-02-03)");
    vg_json_free(doc);
    /* a negative interval is no interval */
    s.interval_s = -5;
    doc = vg_ecs_summary_doc(&m, &s);
    CHECK(vg_json_get(vg_json_get(vg_json_get(doc, "vigil"), "scan"), "interval_s") == NULL);
    vg_json_free(doc);
    vg_json_free(s.expired_entries);
}

VG_TEST(expired_exception_entries)
{
    char *rules[] = { "host.sshd.*" };
    struct vg_config_exception ex[3];
    memset(ex, 0, sizeof(ex));
    for (int i = 0; i < 3; i++) {
        ex[i].rules = rules;
        ex[i].nrules = 1;
        ex[i].owner = "secops";
    }
    ex[0].reason = "old exception";
    ex[0].expires = "2020-01-01";
    ex[1].reason = "still good";
    ex[1].expires = "2099-12-31";
    char hostile[400];
    memset(hostile, 'r', sizeof(hostile) - 1);
    hostile[sizeof(hostile) - 1] = '\0';
    hostile[3] = '\n';
    hostile[4] = '\x1b';
    ex[2].reason = hostile;
    ex[2].expires = "2021-06-30T12:00:00+02:00";
    char err[512];
    struct vg_exceptions *x = vg_exceptions_new(ex, 3, err, sizeof(err));
    CHECK(x != NULL);
    if (!x)
        return;
    char line[1024];
    /* no origin recorded: the entry's index stands for the place */
    vg_exceptions_expired_entry(vg_exceptions_at(x, 0), line, sizeof(line));
    CHECK_EQ_STR(line, "exceptions[0]: old exception (owner secops, expired 2020-01-01)");
    CHECK_EQ_INT(vg_exceptions_set_origin(x, 0, "/etc/vigil/vigil.yml", 42), VG_OK);
    vg_exceptions_expired_entry(vg_exceptions_at(x, 0), line, sizeof(line));
    CHECK_EQ_STR(line, "/etc/vigil/vigil.yml:42: old exception (owner secops, expired 2020-01-01)");
    CHECK_EQ_INT(vg_exceptions_set_origin(x, 0, "/etc/vigil/vigil.yml", 0), VG_OK);
    vg_exceptions_expired_entry(vg_exceptions_at(x, 0), line, sizeof(line));
    CHECK_EQ_STR(line, "/etc/vigil/vigil.yml: exceptions[0]: old exception (owner secops, "
                       "expired 2020-01-01)");
    /* an RFC 3339 expiry gives its date; control characters are spaces; a
     * long reason is cut */
    CHECK_EQ_INT(vg_exceptions_set_origin(x, 2, "/etc/vigil/vigil.yml", 30), VG_OK);
    vg_exceptions_expired_entry(vg_exceptions_at(x, 2), line, sizeof(line));
    CHECK(strncmp(line, "/etc/vigil/vigil.yml:30: rrr  rrr", 33) == 0);
    CHECK_CONTAINS(line, "rrr... (owner secops, expired 2021-06-30)");
    CHECK(strlen(line) < 260);
    /* a small buffer: cut, terminated */
    char small[16];
    vg_exceptions_expired_entry(vg_exceptions_at(x, 0), small, sizeof(small));
    CHECK_EQ_INT(strlen(small), sizeof(small) - 1);
    vg_exceptions_expired_entry(vg_exceptions_at(x, 0), small, 0);
    CHECK_EQ_INT(vg_exceptions_set_origin(x, 3, "f", 1), VG_ERR_INVALID);
    CHECK_EQ_INT(vg_exceptions_set_origin(NULL, 0, "f", 1), VG_ERR_INVALID);
    CHECK_EQ_INT(vg_exceptions_set_origin(x, 1, NULL, 7), VG_OK);
    CHECK(vg_exceptions_at(x, 1)->file == NULL);
    CHECK_EQ_INT(vg_exceptions_at(x, 1)->line, 7);
    vg_exceptions_destroy(x);
}

/* What the encoder writes, the results store keeps and reads back: every
 * finding found again by the ids it was written with, however odd. */
VG_TEST(encoded_findings_are_found_by_the_store)
{
    struct vg_ruleset *rs = vg_ruleset_new();
    const struct vg_rule *rule = load_rule(rs);
    CHECK(rule != NULL);
    if (!rule) {
        vg_ruleset_destroy(rs);
        return;
    }
    char longid[1500];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    longid[700] = '\xff';   /* invalid UTF-8 on the slow path too */
    const char *ids[] = {
        "host://web-01/sshd",
        "arn:aws:s3:::quote\"back\\slash",
        "tab\there\x01ctl",
        "caf\xc3\xa9 \xe2\x82\xac",      /* valid UTF-8 */
        "bad\xff\xfe utf8 \xc3",          /* invalid bytes, a cut sequence */
        "overlong \xc0\xaf",
        longid,
    };
    const size_t n = sizeof(ids) / sizeof(ids[0]);
    char state[] = "/tmp/vgtest-ecs-XXXXXX";
    CHECK(mkdtemp(state) != NULL);
    char err[512];
    struct vg_results *kept = vg_results_begin(state, "host", "web-01", err, sizeof(err));
    CHECK(kept != NULL);
    struct vg_scan_meta m;
    make_meta(&m);
    struct vg_ecs_cache *c = vg_ecs_cache_new();
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < n; i++) {
        struct vg_resource *res = vg_resource_new("host.sshd", ids[i], "x", "configuration",
                                                  "linux-sshd");
        struct vg_eval_result er;
        memset(&er, 0, sizeof(er));
        er.evaluation = (enum vg_eval)(i % 3);
        struct vg_finding f = { .rule = rule, .resource = res, .result = &er };
        vg_buf_reset(&b);
        CHECK_EQ_INT(vg_ecs_finding_write(c, &m, &f, 1795687206000LL, &b, NULL), VG_OK);
        CHECK_EQ_INT(vg_results_add(kept, b.data, b.len), VG_OK);
        vg_resource_destroy(res);
    }
    struct vg_scan_stats s;
    memset(&s, 0, sizeof(s));
    s.ended_ms = m.started_ms;
    struct vg_json *sum = vg_ecs_summary_doc(&m, &s);
    vg_buf_reset(&b);
    CHECK_EQ_INT(vg_ecs_encode(sum, &b), VG_OK);
    vg_json_free(sum);
    CHECK_EQ_INT(vg_results_add(kept, b.data, b.len), VG_OK);
    CHECK_EQ_INT(vg_results_commit(kept, err, sizeof(err)), VG_OK);

    struct vg_results_prev *p = NULL;
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-01", 100, &p, err, sizeof(err)), VG_OK);
    if (!p)
        fprintf(stderr, "%s\n", err);
    CHECK_EQ_INT(vg_results_prev_count(p), n);
    for (size_t i = 0; i < n; i++) {
        enum vg_eval e = VG_EVAL_UNKNOWN;
        bool found = vg_results_prev_lookup(p, rule->id, ids[i], &e);
        if (!found)
            fprintf(stderr, "  id %zu not found\n", i);
        CHECK(found);
        CHECK_EQ_INT(e, (int)(i % 3));
        CHECK(!vg_results_prev_lookup(p, "host.sshd.other", ids[i], &e));
    }
    vg_results_prev_destroy(p);
    vg_buf_free(&b);
    vg_ecs_cache_destroy(c);
    vg_ruleset_destroy(rs);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
    CHECK(system(cmd) == 0);
}

VG_TEST_MAIN()
