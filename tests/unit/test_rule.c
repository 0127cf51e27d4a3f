/* The rule engine: loading and validation (checks/rule.c), conditions,
 * evaluation, evidence and reasons (checks/cond.c). */
#include "vgtest.h"

#include "agent/buf.h"
#include "agent/hash.h"
#include "agent/json.h"
#include "agent/limits.h"
#include "agent/timeutil.h"
#include "checks/cond.h"
#include "checks/framework.h"
#include "checks/resource.h"
#include "checks/rule.h"

#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------- */

/* The check goes on line 9, starting at column 10. */
#define HEAD                                                                   \
    "- id: t.x\n"                                                              \
    "  name: T\n"                                                              \
    "  resource: test\n"                                                       \
    "  severity: high\n"                                                       \
    "  description: d\n"                                                       \
    "  rationale: r\n"                                                         \
    "  remediation: m\n"                                                       \
    "  frameworks: {soc2: [CC6.1]}\n"                                          \
    "  check: "

static char *dump(const struct vg_json *v)
{
    struct vg_buf b;
    vg_buf_init(&b, 64u << 20);
    if (vg_json_dump(v, &b) != VG_OK) {
        vg_buf_free(&b);
        return strdup("<dump failed>");
    }
    return vg_buf_detach(&b);
}

static struct vg_json *parse(const char *json)
{
    char err[256];
    struct vg_json *v = vg_json_parse(json, strlen(json), err, sizeof(err));
    if (!v)
        fprintf(stderr, "bad JSON in test: %s: %s\n", json, err);
    return v;
}

static struct vg_resource *mkres(const char *doc)
{
    struct vg_resource *r = vg_resource_new("test", "id-1", "name-1", "configuration", NULL);
    if (!r)
        return NULL;
    vg_json_free(r->doc);
    r->doc = parse(doc);
    return r;
}

/* Loads one rule with the given check; returns the set or NULL (and
 * prints why). */
static struct vg_ruleset *load_check(const char *check, char *err, size_t errlen)
{
    struct vg_buf b;
    vg_buf_init(&b, 1u << 22);
    vg_buf_appends(&b, HEAD);
    vg_buf_appends(&b, check);
    vg_buf_appends(&b, "\n");
    struct vg_ruleset *rs = vg_ruleset_new();
    enum vg_err e = vg_ruleset_load_string(rs, "t.yml", vg_buf_str(&b), b.len, err, errlen);
    vg_buf_free(&b);
    if (e) {
        vg_ruleset_destroy(rs);
        return NULL;
    }
    return rs;
}

/* Last evaluation's reason and evidence (dumped). */
static char g_reason[VG_MAX_REASON];
static char *g_evidence;
/* When non-zero, evaluations run at this time (vg_rule_eval_at). */
static int64_t g_now;

static int64_t at_time(const char *s)
{
    int64_t ms = 0;
    if (vg_time_parse(s, &ms) != 0)
        fprintf(stderr, "bad time in test: %s\n", s);
    return ms;
}

static int eval_res(const char *check, struct vg_resource *res)
{
    char err[512];
    free(g_evidence);
    g_evidence = NULL;
    g_reason[0] = '\0';
    struct vg_ruleset *rs = load_check(check, err, sizeof(err));
    if (!rs) {
        fprintf(stderr, "  load of check %s failed: %s\n", check, err);
        return -1;
    }
    struct vg_eval_result out;
    struct vg_eval_ctx ctx = { .now_ms = g_now };
    enum vg_err e = g_now ? vg_rule_eval_at(vg_ruleset_at(rs, 0), res, &ctx, &out)
                          : vg_rule_eval(vg_ruleset_at(rs, 0), res, &out);
    int r = -2;
    if (!e) {
        r = (int)out.evaluation;
        snprintf(g_reason, sizeof(g_reason), "%s", out.reason);
        g_evidence = dump(out.evidence);
        vg_eval_result_clear(&out);
    }
    vg_ruleset_destroy(rs);
    return r;
}

static int eval(const char *check, const char *doc)
{
    struct vg_resource *res = mkres(doc);
    int r = eval_res(check, res);
    vg_resource_destroy(res);
    return r;
}

#define P VG_EVAL_PASSED
#define F VG_EVAL_FAILED
#define U VG_EVAL_UNKNOWN

/* The operators, as load errors list them. */
#define OPS                                                                             \
    "eq, ne, lt, le, gt, ge, in, not_in, matches, empty, contains, cidr_contains, "     \
    "cidr_overlaps, age_days_gt, age_days_le, present, absent, all, any, none, not, "   \
    "all_of, any_of, none_of, count, ports_overlap, ports_within"

/* Expects the load of check to fail with exactly msg. */
static void expect_load_error(const char *check, const char *msg, int line)
{
    char err[1024];
    struct vg_ruleset *rs = load_check(check, err, sizeof(err));
    vg_test_checks++;
    if (rs) {
        VG_FAIL_AT("(line %d) check %s loaded, expected: %s", line, check, msg);
        vg_ruleset_destroy(rs);
        return;
    }
    if (strcmp(err, msg) != 0)
        VG_FAIL_AT("(line %d) error\n    got:      %s\n    expected: %s", line, err, msg);
}
#define LOAD_ERROR(check, msg) expect_load_error(check, msg, __LINE__)

static enum vg_err load_text(struct vg_ruleset *rs, const char *name, const char *text, char *err,
                             size_t errlen)
{
    return vg_ruleset_load_string(rs, name, text, strlen(text), err, errlen);
}

/* ---- names, scales, metadata -------------------------------------------- */

VG_TEST(names_and_scales)
{
    CHECK_EQ_STR(vg_eval_name(VG_EVAL_PASSED), "passed");
    CHECK_EQ_STR(vg_eval_name(VG_EVAL_FAILED), "failed");
    CHECK_EQ_STR(vg_eval_name(VG_EVAL_UNKNOWN), "unknown");
    CHECK_EQ_STR(vg_severity_name(VG_SEV_LOW), "low");
    CHECK_EQ_STR(vg_severity_name(VG_SEV_CRITICAL), "critical");
    CHECK_EQ_INT(vg_severity_score(VG_SEV_LOW), 21);
    CHECK_EQ_INT(vg_severity_score(VG_SEV_MEDIUM), 47);
    CHECK_EQ_INT(vg_severity_score(VG_SEV_HIGH), 73);
    CHECK_EQ_INT(vg_severity_score(VG_SEV_CRITICAL), 99);
    CHECK_EQ_INT(vg_severity_parse("medium"), VG_SEV_MEDIUM);
    CHECK_EQ_INT(vg_severity_parse("High"), -1);
    CHECK_EQ_INT(vg_severity_parse(""), -1);
    CHECK_EQ_INT(vg_frameworks_count, 7);
    CHECK(vg_framework_known("nist_csf_2.0"));
    CHECK(vg_framework_known("cis_aws_3.0"));
    CHECK(!vg_framework_known("nist_csf_1.1"));
    CHECK(!vg_framework_known(NULL));
}

VG_TEST(metadata)
{
    const char *text =
        "- id: host.sshd.permit_root_login\n"
        "  name: SSH root login is disabled\n"
        "  resource: host.sshd\n"
        "  severity: critical\n"
        "  description: desc\n"
        "  rationale: why\n"
        "  remediation: fix\n"
        "  references: [https://man.openbsd.org/sshd_config, \"https://x/y\"]\n"
        "  frameworks:\n"
        "    cis_debian_12: [\"5.1.20\"]\n"
        "    pci_dss_4.0: [3.10, 2.2.6]\n"
        "    soc2: [CC6.1, CC6.7]\n"
        "  check: {path: PermitRootLogin, eq: \"no\"}\n"
        "- id: b\n"
        "  name: B\n"
        "  resource: r\n"
        "  severity: low\n"
        "  section: SSH Server\n"
        "  version: 2\n"
        "  description: d\n"
        "  rationale: r\n"
        "  remediation: m\n"
        "  frameworks: {soc2: [CC6.1]}\n"
        "  check: {present: x}\n";
    char err[512];
    struct vg_ruleset *rs = vg_ruleset_new();
    CHECK_EQ_INT(load_text(rs, "m.yml", text, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_ruleset_count(rs), 2);
    const struct vg_rule *r = vg_ruleset_at(rs, 0);
    CHECK(r != NULL);
    if (r) {
        CHECK_EQ_STR(r->id, "host.sshd.permit_root_login");
        CHECK_EQ_STR(r->name, "SSH root login is disabled");
        CHECK_EQ_STR(r->resource, "host.sshd");
        CHECK_EQ_INT(r->severity, VG_SEV_CRITICAL);
        CHECK_EQ_STR(r->section, "");
        CHECK_EQ_STR(r->version, "1");
        CHECK_EQ_STR(r->rationale, "why");
        CHECK_EQ_INT(r->nreferences, 2);
        CHECK_EQ_STR(r->references[1], "https://x/y");
        char *fw = dump(r->frameworks);
        /* control ids as written: 3.10 stays "3.10" */
        CHECK_EQ_STR(fw, "{\"cis_debian_12\":[\"5.1.20\"],\"pci_dss_4.0\":[\"3.10\",\"2.2.6\"],"
                         "\"soc2\":[\"CC6.1\",\"CC6.7\"]}");
        free(fw);
        char uuid[VG_UUID_STR_LEN];
        vg_uuid_v5(vg_uuid_ns_vigil, r->id, strlen(r->id), uuid);
        CHECK_EQ_STR(r->uuid, uuid);
        CHECK_EQ_INT(r->uuid[14], '5');
        CHECK_EQ_STR(r->file, "m.yml");
        CHECK_EQ_INT(r->line, 1);
        CHECK_EQ_INT(r->col, 3);
        char desc[VG_MAX_REASON];
        vg_cond_describe(r->check, desc, sizeof(desc));
        CHECK_EQ_STR(desc, "PermitRootLogin == \"no\"");
    }
    const struct vg_rule *b = vg_ruleset_find(rs, "b");
    CHECK(b == vg_ruleset_at(rs, 1));
    if (b) {
        CHECK_EQ_STR(b->section, "SSH Server");
        CHECK_EQ_STR(b->version, "2");
        CHECK_EQ_INT(b->nreferences, 0);
        CHECK_EQ_INT(b->line, 14);
    }
    CHECK(vg_ruleset_find(rs, "nope") == NULL);
    CHECK(vg_ruleset_at(rs, 2) == NULL);
    vg_ruleset_destroy(rs);
    vg_ruleset_destroy(NULL);
}

VG_TEST(empty_files)
{
    char err[256];
    struct vg_ruleset *rs = vg_ruleset_new();
    CHECK_EQ_INT(load_text(rs, "e.yml", "", err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(load_text(rs, "e.yml", "# only a comment\n", err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(load_text(rs, "e.yml", "[]\n", err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_ruleset_count(rs), 0);
    vg_ruleset_destroy(rs);
}

/* ---- operators ------------------------------------------------------------ */

VG_TEST(op_eq_ne)
{
    const char *c = "{path: a, eq: \"no\"}";
    CHECK_EQ_INT(eval(c, "{\"a\":\"no\"}"), P);
    CHECK_EQ_STR(g_reason, "");
    CHECK_EQ_INT(eval(c, "{\"a\":\"yes\"}"), F);
    CHECK_EQ_STR(g_reason, "a is \"yes\"; expected \"no\"");
    CHECK_EQ_INT(eval(c, "{}"), F);
    CHECK_EQ_STR(g_reason, "a is absent; expected \"no\"");
    CHECK_EQ_INT(eval(c, "{\"a\":null}"), F);
    CHECK_EQ_STR(g_reason, "a is null; expected \"no\"");
    CHECK_EQ_INT(eval(c, "{\"a\":\"No\"}"), F);   /* case-sensitive */
    /* numbers compare as numbers; a numeric string is not a number */
    CHECK_EQ_INT(eval("{path: a, eq: 1}", "{\"a\":1.0}"), P);
    CHECK_EQ_INT(eval("{path: a, eq: 1.0}", "{\"a\":1}"), P);
    CHECK_EQ_INT(eval("{path: a, eq: 1}", "{\"a\":\"1\"}"), F);
    CHECK_EQ_STR(g_reason, "a is \"1\"; expected 1");
    CHECK_EQ_INT(eval("{path: a, eq: \"1\"}", "{\"a\":1}"), F);
    CHECK_EQ_INT(eval("{path: a, eq: true}", "{\"a\":true}"), P);
    CHECK_EQ_INT(eval("{path: a, eq: true}", "{\"a\":\"true\"}"), F);
    CHECK_EQ_INT(eval("{path: a, eq: [1, x]}", "{\"a\":[1,\"x\"]}"), P);
    CHECK_EQ_INT(eval("{path: a, eq: {k: v}}", "{\"a\":{\"k\":\"v\"}}"), P);

    c = "{path: a, ne: \"yes\"}";
    CHECK_EQ_INT(eval(c, "{\"a\":\"no\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"a\":\"yes\"}"), F);
    CHECK_EQ_STR(g_reason, "a is \"yes\"; expected != \"yes\"");
    CHECK_EQ_INT(eval(c, "{}"), P);
    CHECK_EQ_INT(eval(c, "{\"a\":null}"), P);
    CHECK_EQ_INT(eval("{path: a, ne: 0}", "{\"a\":0.0}"), F);
}

VG_TEST(op_ordering)
{
    const char *c = "{path: MaxAuthTries, le: 4}";
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":4}"), P);
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":3.5}"), P);
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":6}"), F);
    CHECK_EQ_STR(g_reason, "MaxAuthTries is 6; expected <= 4");
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":\"3\"}"), P);      /* numeric string */
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":\" 4 \"}"), P);
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":\"6\"}"), F);
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":\"abc\"}"), F);
    CHECK_EQ_STR(g_reason, "MaxAuthTries is \"abc\"; expected <= 4");
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":\"0x3\"}"), F);
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":\"nan\"}"), F);
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":\"\"}"), F);
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":true}"), F);
    CHECK_EQ_INT(eval(c, "{\"MaxAuthTries\":[1]}"), F);
    CHECK_EQ_INT(eval(c, "{}"), F);
    CHECK_EQ_STR(g_reason, "MaxAuthTries is absent; expected <= 4");

    CHECK_EQ_INT(eval("{path: a, lt: 4}", "{\"a\":4}"), F);
    CHECK_EQ_INT(eval("{path: a, lt: 4}", "{\"a\":-4}"), P);
    CHECK_EQ_INT(eval("{path: a, lt: 2.5}", "{\"a\":2}"), P);
    CHECK_EQ_INT(eval("{path: a, gt: 90}", "{\"a\":\"1e3\"}"), P);
    CHECK_EQ_INT(eval("{path: a, gt: 90}", "{\"a\":90}"), F);
    CHECK_EQ_STR(g_reason, "a is 90; expected > 90");
    CHECK_EQ_INT(eval("{path: a, ge: 90}", "{\"a\":90}"), P);
    CHECK_EQ_INT(eval("{path: a, ge: 90}", "{\"a\":89.99}"), F);
    /* large integers compare exactly */
    CHECK_EQ_INT(eval("{path: a, lt: 9007199254740993}", "{\"a\":9007199254740992}"), P);
    CHECK_EQ_INT(eval("{path: a, ge: 0}", "{\"a\":-9223372036854775808}"), F);
}

VG_TEST(op_in_not_in)
{
    const char *c = "{path: a, in: [x, y, 3]}";
    CHECK_EQ_INT(eval(c, "{\"a\":\"y\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"a\":3.0}"), P);
    CHECK_EQ_INT(eval(c, "{\"a\":\"z\"}"), F);
    CHECK_EQ_STR(g_reason, "a is \"z\"; expected one of [\"x\", \"y\", 3]");
    CHECK_EQ_INT(eval(c, "{}"), F);
    CHECK_EQ_STR(g_reason, "a is absent; expected one of [\"x\", \"y\", 3]");
    CHECK_EQ_INT(eval("{path: a, in: []}", "{\"a\":1}"), F);

    c = "{path: a, not_in: [x, y]}";
    CHECK_EQ_INT(eval(c, "{\"a\":\"z\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"a\":\"x\"}"), F);
    CHECK_EQ_STR(g_reason, "a is \"x\"; expected none of [\"x\", \"y\"]");
    CHECK_EQ_INT(eval(c, "{}"), P);
}

VG_TEST(op_matches)
{
    const char *c = "{path: a, matches: \"^ab+c$\"}";
    CHECK_EQ_INT(eval(c, "{\"a\":\"abbc\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"a\":\"xabbc\"}"), F);
    CHECK_EQ_STR(g_reason, "a is \"xabbc\"; expected a match for /^ab+c$/");
    CHECK_EQ_INT(eval(c, "{}"), F);
    CHECK_EQ_INT(eval(c, "{\"a\":12}"), F);
    /* unanchored */
    CHECK_EQ_INT(eval("{path: a, matches: \"b+\"}", "{\"a\":\"xabbc\"}"), P);
    CHECK_EQ_INT(eval("{path: a, matches: \"(aes|chacha)[0-9]+\"}", "{\"a\":\"aes256-ctr\"}"), P);
    CHECK_EQ_INT(eval("{path: a, matches: \"^[0-9]{3}$\"}", "{\"a\":\"1234\"}"), F);
    /* ordinary intervals are within the complexity bound */
    CHECK_EQ_INT(eval("{path: a, matches: \"^[0-9]{1,3}(\\\\.[0-9]{1,3}){3}$\"}",
                      "{\"a\":\"10.0.0.1\"}"),
                 P);
    CHECK_EQ_INT(eval("{path: a, matches: \"(a{100}){100}\"}", "{\"a\":\"a\"}"), F);
    CHECK_EQ_INT(eval("{path: a, matches: \"[[:alpha:]]{1000}|x{5,}|[]{]+\"}", "{\"a\":\"xxxxx\"}"), P);

}

VG_TEST(op_present_absent)
{
    CHECK_EQ_INT(eval("{present: a.b}", "{\"a\":{\"b\":0}}"), P);
    CHECK_EQ_INT(eval("{present: a.b}", "{\"a\":{\"b\":false}}"), P);
    CHECK_EQ_INT(eval("{present: a.b}", "{\"a\":{\"b\":\"\"}}"), P);
    CHECK_EQ_INT(eval("{present: a.b}", "{\"a\":{\"b\":null}}"), F);
    CHECK_EQ_STR(g_reason, "a.b is null; expected present");
    CHECK_EQ_INT(eval("{present: a.b}", "{\"a\":{}}"), F);
    CHECK_EQ_STR(g_reason, "a.b is absent; expected present");
    CHECK_EQ_INT(eval("{absent: a.b}", "{\"a\":{}}"), P);
    CHECK_EQ_INT(eval("{absent: a.b}", "{\"a\":{\"b\":null}}"), P);
    CHECK_EQ_INT(eval("{absent: a.b}", "{}"), P);
    CHECK_EQ_INT(eval("{absent: a.b}", "{\"a\":{\"b\":[]}}"), F);
    CHECK_EQ_STR(g_reason, "a.b is []; expected absent");
}

/* ---- paths -------------------------------------------------------------------- */

VG_TEST(paths_index_and_types)
{
    const char *doc = "{\"r\":[{\"k\":1},{\"k\":2}],\"s\":\"str\",\"o\":{\"0\":5}}";
    CHECK_EQ_INT(eval("{path: \"r[1].k\", eq: 2}", doc), P);
    CHECK_EQ_INT(eval("{path: \"r[0].k\", eq: 2}", doc), F);
    CHECK_EQ_STR(g_reason, "r[0].k is 1; expected 2");
    CHECK_EQ_INT(eval("{absent: \"r[2].k\"}", doc), P);        /* past the end */
    CHECK_EQ_INT(eval("{absent: s.x}", doc), P);               /* through a string */
    CHECK_EQ_INT(eval("{absent: \"s[0]\"}", doc), P);          /* index into a string */
    CHECK_EQ_INT(eval("{absent: \"o[0]\"}", doc), P);          /* index into an object */
    CHECK_EQ_INT(eval("{path: o.0, eq: 5}", doc), P);          /* a key that looks numeric */
    CHECK_EQ_INT(eval("{absent: r.k}", doc), P);               /* key on an array */
    CHECK_EQ_INT(eval("{absent: \"o[*]\"}", doc), P);          /* [*] on an object */
    CHECK_EQ_INT(eval("{path: \"m[0][1]\", eq: 3}", "{\"m\":[[2,3]]}"), P);
    CHECK_EQ_INT(eval("{path: \"m[*][*]\", gt: 1}", "{\"m\":[[2,3],[4]]}"), P);
    /* keys may hold anything but . [ ] */
    CHECK_EQ_INT(eval("{path: \"a b/c:d-@\", eq: 1}", "{\"a b/c:d-@\":1}"), P);
    /* the document itself need not be an object */
    CHECK_EQ_INT(eval("{absent: a}", "[1,2]"), P);
    CHECK_EQ_INT(eval("{absent: a}", "null"), P);
}

VG_TEST(paths_wildcard)
{
    const char *c = "{path: \"Ciphers[*]\", not_in: [3des-cbc, arcfour]}";
    CHECK_EQ_INT(eval(c, "{\"Ciphers\":[\"aes128-ctr\",\"aes256-ctr\"]}"), P);
    CHECK_EQ_INT(eval(c, "{\"Ciphers\":[\"aes128-ctr\",\"3des-cbc\",\"arcfour\"]}"), F);
    CHECK_EQ_STR(g_reason,
                 "Ciphers[*] contains \"3des-cbc\"; expected none of [\"3des-cbc\", \"arcfour\"]");
    CHECK_EQ_STR(g_evidence, "{\"Ciphers[*]\":[\"aes128-ctr\",\"3des-cbc\",\"arcfour\"]}");
    /* zero reached counts as absent */
    CHECK_EQ_INT(eval(c, "{\"Ciphers\":[]}"), P);
    CHECK_EQ_STR(g_evidence, "{\"Ciphers[*]\":[]}");
    CHECK_EQ_INT(eval("{path: \"Ciphers[*]\", eq: x}", "{\"Ciphers\":[]}"), F);
    CHECK_EQ_STR(g_reason, "Ciphers[*] is absent; expected \"x\"");
    CHECK_EQ_INT(eval("{present: \"Ciphers[*]\"}", "{}"), F);
    /* every value reached must hold */
    const char *rules = "{\"R\":[{\"A\":{\"S\":\"aws:kms\"}},{\"A\":{\"S\":\"AES256\"}},{}]}";
    CHECK_EQ_INT(eval("{present: \"R[*].A.S\"}", rules), P);   /* the third reaches nothing */
    CHECK_EQ_INT(eval("{path: \"R[*].A.S\", eq: aws:kms}", rules), F);
    CHECK_EQ_STR(g_reason, "R[*].A.S contains \"AES256\"; expected \"aws:kms\"");
    CHECK_EQ_STR(g_evidence, "{\"R[*].A.S\":[\"aws:kms\",\"AES256\"]}");
    CHECK_EQ_INT(eval("{path: \"R[*].A.S\", in: [aws:kms, AES256]}", rules), P);
    /* a reached null is held against present */
    CHECK_EQ_INT(eval("{present: \"R[*].A\"}", "{\"R\":[{\"A\":1},{\"A\":null}]}"), F);
    CHECK_EQ_STR(g_reason, "R[*].A contains null; expected present");
}

/* ---- three values --------------------------------------------------------------- */

/* T passes, F fails, U is unknown (field u is in the errors). */
static const char *tv_cond(int v)
{
    return v == P ? "{present: t}" : v == F ? "{present: f}" : "{present: u.x}";
}

static int tv_eval(const char *check)
{
    struct vg_resource *res = mkres("{\"t\":1,\"u\":{\"x\":1}}");
    vg_resource_set_error(res, "u", "cannot read u");
    int r = eval_res(check, res);
    vg_resource_destroy(res);
    return r;
}

VG_TEST(three_valued_logic)
{
    static const int vals[3] = { P, F, U };
    /* Kleene: all = min(F < U < P), any = max */
    static const int all_t[3][3] = { { P, F, U }, { F, F, F }, { U, F, U } };
    static const int any_t[3][3] = { { P, P, P }, { P, F, U }, { P, U, U } };
    static const int not_t[3] = { F, P, U };
    char check[256];
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            snprintf(check, sizeof(check), "{all: [%s, %s]}", tv_cond(vals[i]), tv_cond(vals[j]));
            CHECK_EQ_INT(tv_eval(check), all_t[i][j]);
            snprintf(check, sizeof(check), "{any: [%s, %s]}", tv_cond(vals[i]), tv_cond(vals[j]));
            CHECK_EQ_INT(tv_eval(check), any_t[i][j]);
        }
        snprintf(check, sizeof(check), "{not: %s}", tv_cond(vals[i]));
        CHECK_EQ_INT(tv_eval(check), not_t[i]);
    }
    /* three parts, and nesting */
    CHECK_EQ_INT(tv_eval("{all: [{present: t}, {present: u.x}, {present: t}]}"), U);
    CHECK_EQ_STR(g_reason, "u could not be read: cannot read u");
    CHECK_EQ_INT(tv_eval("{all: [{present: u.x}, {present: t}, {present: f}]}"), F);
    CHECK_EQ_STR(g_reason, "f is absent; expected present");
    CHECK_EQ_INT(tv_eval("{any: [{present: f}, {present: u.x}]}"), U);
    CHECK_EQ_STR(g_reason, "u could not be read: cannot read u");
    CHECK_EQ_INT(tv_eval("{not: {not: {present: u.x}}}"), U);
    CHECK_EQ_INT(tv_eval("{not: {any: [{present: f}, {not: {present: t}}]}}"), P);
    CHECK_EQ_INT(tv_eval("{all: [{any: [{present: f}, {present: t}]}, {not: {present: f}}]}"), P);
}

/* ---- quantifiers ------------------------------------------------------------------ */

static const char *users =
    "{\"users\":[{\"name\":\"root\",\"uid\":0,\"keys\":[{\"age\":10}]},"
    "{\"name\":\"alice\",\"uid\":1000,\"keys\":[{\"age\":30},{\"age\":200}]},"
    "{\"name\":\"bob\",\"uid\":1001,\"keys\":[]},"
    "{\"name\":\"toor\",\"uid\":0}]}";

VG_TEST(all_of_any_of)
{
    const char *c = "{all_of: users, where: {any: [{path: name, eq: root}, {path: uid, ne: 0}]}}";
    CHECK_EQ_INT(eval(c, users), F);
    CHECK_EQ_STR(g_reason, "users[3] (name \"toor\"): name is \"toor\"; expected \"root\"; or "
                           "uid is 0; expected != 0");
    CHECK_EQ_INT(eval("{all_of: users, where: {path: uid, ne: 0}}", users), F);
    CHECK_EQ_STR(g_reason, "users[0] (name \"root\"): uid is 0; expected != 0");
    CHECK_EQ_INT(eval("{all_of: users, where: {path: uid, ge: 0}}", users), P);
    CHECK_EQ_STR(g_evidence, "{\"users[*].uid\":[0,1000,1001,0]}");

    CHECK_EQ_INT(eval("{any_of: users, where: {path: name, eq: bob}}", users), P);
    CHECK_EQ_INT(eval("{any_of: users, where: {path: uid, gt: 5000}}", users), F);
    CHECK_EQ_STR(g_reason, "no element of users matches: uid > 5000");

    /* empty and absent arrays */
    CHECK_EQ_INT(eval("{all_of: users, where: {path: uid, ne: 0}}", "{\"users\":[]}"), P);
    CHECK_EQ_STR(g_evidence, "{\"users\":[]}");
    CHECK_EQ_INT(eval("{all_of: users, where: {path: uid, ne: 0}}", "{}"), P);
    CHECK_EQ_STR(g_evidence, "{\"users\":null}");
    CHECK_EQ_INT(eval("{all_of: users, where: {path: uid, ne: 0}}", "{\"users\":null}"), P);
    CHECK_EQ_INT(eval("{any_of: users, where: {path: uid, ne: 0}}", "{\"users\":[]}"), F);
    CHECK_EQ_STR(g_reason, "no element of users matches: uid != 0");
    CHECK_EQ_INT(eval("{any_of: users, where: {path: uid, ne: 0}}", "{}"), F);
    CHECK_EQ_STR(g_reason, "users is absent; expected an element matching: uid != 0");
    /* not an array */
    CHECK_EQ_INT(eval("{all_of: users, where: {path: uid, ne: 0}}", "{\"users\":\"x\"}"), F);
    CHECK_EQ_STR(g_reason, "users is \"x\"; expected an array");
    CHECK_EQ_INT(eval("{any_of: users, where: {path: uid, ne: 0}}", "{\"users\":{\"a\":1}}"), F);
    CHECK_EQ_STR(g_reason, "users is {\"a\":1}; expected an array");

    /* @ is the element */
    c = "{any_of: Ciphers, where: {path: \"@\", eq: 3des-cbc}}";
    CHECK_EQ_INT(eval(c, "{\"Ciphers\":[\"aes\",\"3des-cbc\"]}"), P);
    CHECK_EQ_STR(g_evidence, "{\"Ciphers[*]\":[\"aes\",\"3des-cbc\"]}");
    CHECK_EQ_INT(eval(c, "{\"Ciphers\":[\"aes\"]}"), F);
    CHECK_EQ_STR(g_reason, "no element of Ciphers matches: @ == \"3des-cbc\"");
    CHECK_EQ_INT(eval("{all_of: m, where: {path: \"@[1]\", gt: 0}}", "{\"m\":[[0,1],[0,2]]}"), P);
    CHECK_EQ_STR(g_evidence, "{\"m[*][1]\":[1,2]}");
    CHECK_EQ_INT(eval("{all_of: m, where: {path: \"@.k\", gt: 0}}", "{\"m\":[{\"k\":1}]}"), P);
    CHECK_EQ_STR(g_evidence, "{\"m[*].k\":[1]}");
    /* elements of any type: a path through them reaches nothing */
    CHECK_EQ_INT(eval("{all_of: m, where: {absent: k}}", "{\"m\":[1,\"s\",null,[1],true]}"), P);
}

VG_TEST(nested_quantifiers)
{
    /* every user's keys are younger than 90 days */
    const char *c = "{all_of: users, where: {all_of: keys, where: {path: age, lt: 90}}}";
    CHECK_EQ_INT(eval(c, users), F);
    CHECK_EQ_STR(g_reason, "users[1] (name \"alice\"): keys[1]: age is 200; expected < 90");
    CHECK_EQ_STR(g_evidence, "{\"users[*].keys[*].age\":[10,30,200]}");
    /* some user has no old key */
    c = "{any_of: users, where: {all: [{present: keys}, "
        "{not: {any_of: keys, where: {path: age, ge: 90}}}]}}";
    CHECK_EQ_INT(eval(c, users), P);
    /* labels by id when there is no name */
    CHECK_EQ_INT(eval("{all_of: g, where: {all_of: \"@\", where: {path: \"@\", lt: 3}}}",
                      "{\"g\":[[1,2],[1,5]]}"),
                 F);
    CHECK_EQ_STR(g_reason, "g[1]: @[1]: @ is 5; expected < 3");
    CHECK_EQ_INT(eval("{all_of: g, where: {path: v, lt: 3}}", "{\"g\":[{\"id\":\"x-1\",\"v\":7}]}"),
                 F);
    CHECK_EQ_STR(g_reason, "g[0] (id \"x-1\"): v is 7; expected < 3");
    /* quantified path with [*]: elements of every array reached */
    c = "{all_of: \"R[*].G\", where: {path: p, ne: \"*\"}}";
    CHECK_EQ_INT(eval(c, "{\"R\":[{\"G\":[{\"p\":\"a\"}]},{\"G\":[{\"p\":\"b\"},{\"p\":\"*\"}]}]}"),
                 F);
    CHECK_EQ_STR(g_reason, "R[1].G[1]: p is \"*\"; expected != \"*\"");
    CHECK_EQ_STR(g_evidence, "{\"R[*].G[*].p\":[\"a\",\"b\",\"*\"]}");
}

/* ---- unknown ------------------------------------------------------------------------ */

VG_TEST(unknown_from_errors)
{
    struct vg_resource *res = mkres("{\"shadow\":[{\"name\":\"root\",\"days\":5}],\"PermitRootLogin\":\"no\"}");
    vg_resource_set_error(res, "shadow", "cannot read /etc/shadow: permission denied");
    CHECK_EQ_INT(eval_res("{all_of: shadow, where: {path: days, lt: 90}}", res), U);
    CHECK_EQ_STR(g_reason, "shadow could not be read: cannot read /etc/shadow: permission denied");
    CHECK_EQ_STR(g_evidence, "{}");   /* nothing read */
    CHECK_EQ_INT(eval_res("{path: \"shadow[0].days\", lt: 90}", res), U);
    CHECK_EQ_INT(eval_res("{absent: shadow}", res), U);
    CHECK_EQ_INT(eval_res("{path: PermitRootLogin, eq: \"no\"}", res), P);
    /* unknown never turns into passed through not */
    CHECK_EQ_INT(eval_res("{not: {present: shadow}}", res), U);
    CHECK_EQ_INT(eval_res("{all: [{path: PermitRootLogin, eq: \"no\"}, {present: shadow}]}", res),
                 U);
    CHECK_EQ_INT(eval_res("{all: [{path: PermitRootLogin, eq: \"yes\"}, {present: shadow}]}", res),
                 F);
    /* the whole resource */
    vg_resource_set_error(res, "*", "host root not mounted");
    CHECK_EQ_INT(eval_res("{path: PermitRootLogin, eq: \"no\"}", res), U);
    CHECK_EQ_STR(g_reason, "resource could not be read: host root not mounted");
    CHECK_EQ_STR(g_evidence, "{}");
    vg_resource_destroy(res);
}

/* ---- evidence ---------------------------------------------------------------------------- */

VG_TEST(evidence_only_what_was_read)
{
    const char *doc = "{\"a\":1,\"b\":{\"c\":\"x\",\"secret\":\"s3\"},\"d\":[1,2]}";
    CHECK_EQ_INT(eval("{all: [{path: a, eq: 1}, {path: b.c, eq: x}, {absent: e}, "
                      "{path: a, ne: 2}, {path: \"d[*]\", lt: 5}]}",
                      doc),
                 P);
    CHECK_EQ_STR(g_evidence, "{\"a\":1,\"b.c\":\"x\",\"e\":null,\"d[*]\":[1,2]}");
    CHECK(!strstr(g_evidence, "s3"));
    /* all stops at the first failure: what follows was not read */
    CHECK_EQ_INT(eval("{all: [{path: a, eq: 2}, {path: b.c, eq: x}]}", doc), F);
    CHECK_EQ_STR(g_evidence, "{\"a\":1}");
    /* a whole object, when that is what the path names */
    CHECK_EQ_INT(eval("{present: b}", doc), P);
    CHECK_EQ_STR(g_evidence, "{\"b\":{\"c\":\"x\",\"secret\":\"s3\"}}");
}

VG_TEST(evidence_bounded)
{
    /* 10000 strings of 100 bytes: about 1 MB reached by one path */
    struct vg_resource *res = vg_resource_new("test", "i", "n", "c", NULL);
    struct vg_json *arr = vg_json_array();
    char s[101];
    memset(s, 'a', 100);
    s[100] = '\0';
    for (int i = 0; i < 10000; i++)
        vg_json_push(arr, vg_json_str(s));
    vg_json_set(res->doc, "big", arr);
    vg_json_set(res->doc, "one", vg_json_str(s));
    CHECK_EQ_INT(eval_res("{all: [{path: \"big[*]\", ne: x}, {path: one, ne: x}]}", res), P);
    CHECK(g_evidence && strlen(g_evidence) <= VG_MAX_EVIDENCE);
    CHECK(g_evidence && strlen(g_evidence) > VG_MAX_EVIDENCE - 200);
    CHECK_CONTAINS(g_evidence, "\"_truncated\":true}");
    CHECK(g_evidence && !strstr(g_evidence, "\"one\""));   /* nothing added after the cut */
    /* a single value larger than the bound is left out */
    CHECK_EQ_INT(eval_res("{present: big}", res), P);
    CHECK_EQ_STR(g_evidence, "{\"_truncated\":true}");
    /* where: 10000 elements */
    CHECK_EQ_INT(eval_res("{all_of: big, where: {path: \"@\", matches: \"^a+$\"}}", res), P);
    CHECK(g_evidence && strlen(g_evidence) <= VG_MAX_EVIDENCE);
    CHECK_CONTAINS(g_evidence, "\"_truncated\":true}");
    /* a fail still says why after the evidence is full */
    vg_json_push(arr, vg_json_str("3des-cbc"));
    CHECK_EQ_INT(eval_res("{path: \"big[*]\", ne: 3des-cbc}", res), F);
    CHECK_EQ_STR(g_reason, "big[*] contains \"3des-cbc\"; expected != \"3des-cbc\"");
    vg_resource_destroy(res);
}

/* ---- reasons -------------------------------------------------------------------------------- */

VG_TEST(reasons)
{
    struct vg_resource *res =
        mkres("{\"PermitRootLogin\":\"yes\",\"MaxAuthTries\":6,"
              "\"Ciphers\":[\"aes128-ctr\",\"3des-cbc\"],\"X11Forwarding\":\"no\"}");
    vg_resource_set_source(res, "PermitRootLogin", "/etc/ssh/sshd_config.d/10-x.conf:3");
    vg_resource_set_source(res, "MaxAuthTries", "default");
    CHECK_EQ_INT(eval_res("{path: PermitRootLogin, eq: \"no\"}", res), F);
    CHECK_EQ_STR(g_reason,
                 "PermitRootLogin is \"yes\" (/etc/ssh/sshd_config.d/10-x.conf:3); expected \"no\"");
    CHECK_EQ_INT(eval_res("{path: MaxAuthTries, le: 4}", res), F);
    CHECK_EQ_STR(g_reason, "MaxAuthTries is 6 (default); expected <= 4");
    CHECK_EQ_INT(eval_res("{path: \"Ciphers[*]\", not_in: [3des-cbc, arcfour, blowfish-cbc]}", res),
                 F);
    CHECK_EQ_STR(g_reason, "Ciphers[*] contains \"3des-cbc\"; expected none of "
                           "[\"3des-cbc\", \"arcfour\", \"blowfish-cbc\"]");
    CHECK_EQ_INT(eval_res("{path: PubkeyAuthentication, eq: \"yes\"}", res), F);
    CHECK_EQ_STR(g_reason, "PubkeyAuthentication is absent; expected \"yes\"");
    CHECK_EQ_INT(eval_res("{not: {path: X11Forwarding, eq: \"no\"}}", res), F);
    CHECK_EQ_STR(g_reason, "X11Forwarding is \"no\"; expected not: X11Forwarding == \"no\"");
    /* not quotes what held, and describes what it did not want */
    CHECK_EQ_INT(eval("{not: {all: [{present: a}, {any: [{path: b, in: [1]}, {absent: c}]}]}}",
                      "{\"a\":1,\"b\":1}"),
                 F);
    CHECK_EQ_STR(g_reason, "a is 1 and b is 1; expected not: (a is present and (b in [1] or c is "
                           "absent))");
    CHECK_EQ_INT(eval("{not: {any_of: u, where: {path: \"@\", matches: \"^x\"}}}",
                      "{\"u\":[\"xy\"]}"),
                 F);
    CHECK_EQ_STR(g_reason, "u[0]: @ is \"xy\"; expected not: some element of u: @ matches /^x/");
    /* any: every part's reason, joined */
    CHECK_EQ_INT(eval_res("{any: [{path: MaxAuthTries, lt: 3}, {absent: PermitRootLogin}]}", res),
                 F);
    CHECK_EQ_STR(g_reason, "MaxAuthTries is 6 (default); expected < 3; or "
                           "PermitRootLogin is \"yes\" (/etc/ssh/sshd_config.d/10-x.conf:3); "
                           "expected absent");
    /* all: the first failing part's */
    CHECK_EQ_INT(eval_res("{all: [{present: Ciphers}, {path: MaxAuthTries, lt: 3}, "
                          "{absent: PermitRootLogin}]}",
                          res),
                 F);
    CHECK_EQ_STR(g_reason, "MaxAuthTries is 6 (default); expected < 3");
    vg_resource_destroy(res);
}

VG_TEST(reasons_bounded)
{
    /* a long value is shortened, a long line ends with "..." */
    struct vg_resource *res = vg_resource_new("test", "i", "n", "c", NULL);
    char big[2000];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    vg_json_set_str(res->doc, "a", big);
    CHECK_EQ_INT(eval_res("{path: a, eq: x}", res), F);
    CHECK(strlen(g_reason) < 200);
    CHECK_CONTAINS(g_reason, "vvv\"...; expected \"x\"");
    /* a value with a newline stays on one line */
    vg_json_set_str(res->doc, "a", "line1\nline2");
    CHECK_EQ_INT(eval_res("{path: a, eq: x}", res), F);
    CHECK_EQ_STR(g_reason, "a is \"line1\\nline2\"; expected \"x\"");
    vg_json_set_str(res->doc, "a", big);
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    vg_buf_appends(&b, "{any: [");
    for (int i = 0; i < 20; i++)
        vg_buf_printf(&b, "%s{path: a, eq: x%d}", i ? ", " : "", i);
    vg_buf_appends(&b, "]}");
    CHECK_EQ_INT(eval_res(vg_buf_str(&b), res), F);
    CHECK_EQ_INT(strlen(g_reason), VG_MAX_REASON - 1);
    CHECK_CONTAINS(g_reason, "; or a is \"vvv");
    CHECK(strcmp(g_reason + strlen(g_reason) - 3, "...") == 0);
    CHECK(!strchr(g_reason, '\n'));
    vg_buf_free(&b);
    /* a multibyte value is cut between characters */
    char utf[1000] = "";
    for (int i = 0; i < 300; i++)
        strcat(utf, "\xc3\xa9");
    vg_json_set_str(res->doc, "a", utf);
    CHECK_EQ_INT(eval_res("{path: a, eq: x}", res), F);
    CHECK(vg_utf8_valid(g_reason, strlen(g_reason)));
    vg_resource_destroy(res);
}

/* ---- load errors -------------------------------------------------------------------------------- */

VG_TEST(load_errors_conditions)
{
    LOAD_ERROR("{path: a, eqq: 1}", "t.yml:9:20: unknown operator 'eqq' (known: " OPS ")");
    LOAD_ERROR("{path: a}", "t.yml:9:10: a condition needs an operator (known: " OPS ")");
    LOAD_ERROR("{}", "t.yml:9:10: a condition needs an operator (known: " OPS ")");
    LOAD_ERROR("{path: a, eq: 1, ne: 2}",
               "t.yml:9:27: a condition takes one operator, this one has 'eq' and 'ne'");
    LOAD_ERROR("{eq: 1}", "t.yml:9:10: 'eq' needs a path");
    LOAD_ERROR("{path: a, present: a}", "t.yml:9:11: 'path' is not used with 'present'");
    LOAD_ERROR("{path: a, eq: 1, where: {present: a}}",
               "t.yml:9:27: 'where' is only used with all_of, any_of, none_of and count");
    LOAD_ERROR("[a]", "t.yml:9:10: a condition must be a mapping, not a sequence");
    LOAD_ERROR("x", "t.yml:9:10: a condition must be a mapping, not a scalar");
    /* paths */
    LOAD_ERROR("{path: a..b, eq: 1}", "t.yml:9:17: malformed path 'a..b': empty segment");
    LOAD_ERROR("{path: a., eq: 1}", "t.yml:9:17: malformed path 'a.': empty segment at the end");
    LOAD_ERROR("{path: .a, eq: 1}", "t.yml:9:17: malformed path '.a': empty segment");
    LOAD_ERROR("{path: \"\", eq: 1}", "t.yml:9:17: malformed path '': empty segment");
    LOAD_ERROR("{path: , eq: 1}", "t.yml:9:17: malformed path: empty");
    LOAD_ERROR("{path: \"a[x]\", eq: 1}",
               "t.yml:9:17: malformed path 'a[x]': bad bracket (expected a number or '*')");
    LOAD_ERROR("{path: \"a[]\", eq: 1}",
               "t.yml:9:17: malformed path 'a[]': bad bracket (expected a number or '*')");
    LOAD_ERROR("{path: \"a[-1]\", eq: 1}",
               "t.yml:9:17: malformed path 'a[-1]': bad bracket (expected a number or '*')");
    LOAD_ERROR("{path: \"a[1x]\", eq: 1}",
               "t.yml:9:17: malformed path 'a[1x]': bad bracket (expected ']' after the index)");
    LOAD_ERROR("{path: \"a[*x]\", eq: 1}",
               "t.yml:9:17: malformed path 'a[*x]': bad bracket (expected ']' after '*')");
    LOAD_ERROR("{path: \"a]\", eq: 1}",
               "t.yml:9:17: malformed path 'a]': bad bracket (']' without '[')");
    LOAD_ERROR("{path: \"a[0]b\", eq: 1}",
               "t.yml:9:17: malformed path 'a[0]b': bad bracket (expected '.' or '[' after ']')");
    LOAD_ERROR("{path: \"[0]\", eq: 1}",
               "t.yml:9:17: malformed path '[0]': empty segment before '['");
    LOAD_ERROR("{path: \"a[0\", eq: 1}", "t.yml:9:17: malformed path 'a[0': unterminated bracket");
    LOAD_ERROR("{path: \"a[\", eq: 1}", "t.yml:9:17: malformed path 'a[': unterminated bracket");
    LOAD_ERROR("{path: \"a[*\", eq: 1}", "t.yml:9:17: malformed path 'a[*': unterminated bracket");
    LOAD_ERROR("{path: \"a[99999999999]\", eq: 1}",
               "t.yml:9:17: malformed path 'a[99999999999]': bad bracket (index too large)");
    LOAD_ERROR("{path: [a], eq: 1}", "t.yml:9:17: a path must be a scalar, not a sequence");
    LOAD_ERROR("{path: \"@\", eq: 1}",
               "t.yml:9:17: malformed path '@': '@' is the element of all_of or any_of and is "
               "only used inside where");
    LOAD_ERROR("{path: \"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.0.1.2.3.4.5.6\", "
               "eq: 1}",
               "t.yml:9:17: malformed path 'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z."
               "0.1.2.3.4.5.6': more than 32 segments");
    LOAD_ERROR("{present: \"a.\"}", "t.yml:9:20: malformed path 'a.': empty segment at the end");
    LOAD_ERROR("{all_of: \"a[\", where: {present: b}}",
               "t.yml:9:19: malformed path 'a[': unterminated bracket");
    LOAD_ERROR("{all_of: a, where: {present: \"b..c\"}}",
               "t.yml:9:39: malformed path 'b..c': empty segment");
    /* quoted text with newlines stays on one line */
    LOAD_ERROR("{path: a, \"e\\nq\": 1}", "t.yml:9:20: unknown operator 'e q' (known: " OPS ")");
    LOAD_ERROR("{path: \"a\\n..b\", eq: 1}", "t.yml:9:17: malformed path 'a ..b': empty segment");
    /* regex */
    LOAD_ERROR("{path: a, matches: \"(ab\"}",
               "t.yml:9:29: bad regex '(ab': Unmatched ( or \\(");
    LOAD_ERROR("{path: a, matches: \"a{2,1}\"}",
               "t.yml:9:29: bad regex 'a{2,1}': Invalid content of \\{\\}");
    LOAD_ERROR("{path: a, matches: \"((a{255}){255}){255}\"}",
               "t.yml:9:29: bad regex '((a{255}){255}){255}': too complex (its repetitions "
               "expand to more than 100000 elements)");
    LOAD_ERROR("{path: a, matches: \"((a{100}){100}){100}\"}",
               "t.yml:9:29: bad regex '((a{100}){100}){100}': too complex (its repetitions "
               "expand to more than 100000 elements)");
    LOAD_ERROR("{path: a, matches: [x]}",
               "t.yml:9:29: 'matches' needs a regular expression (a string), not a sequence");
    /* operand types */
    LOAD_ERROR("{path: a, lt: x}", "t.yml:9:24: 'lt' needs a number, not a string");
    LOAD_ERROR("{path: a, ge: \"4\"}", "t.yml:9:24: 'ge' needs a number, not a string");
    LOAD_ERROR("{path: a, le: [4]}", "t.yml:9:24: 'le' needs a number, not a sequence");
    LOAD_ERROR("{path: a, gt: true}", "t.yml:9:24: 'gt' needs a number, not a boolean");
    LOAD_ERROR("{path: a, in: x}", "t.yml:9:24: 'in' needs a list, not a string");
    LOAD_ERROR("{path: a, not_in: {a: 1}}", "t.yml:9:28: 'not_in' needs a list, not a mapping");
    LOAD_ERROR("{path: a, in: [1, null]}",
               "t.yml:9:28: 'in' list items must not be null (use present: or absent:)");
    LOAD_ERROR("{path: a, eq: null}",
               "t.yml:9:24: 'eq' needs a value, not null (use present: or absent:)");
    LOAD_ERROR("{path: a, ne: }",
               "t.yml:9:24: 'ne' needs a value, not null (use present: or absent:)");
    LOAD_ERROR("{all: []}", "t.yml:9:16: 'all' needs a non-empty list of conditions, not an empty one");
    LOAD_ERROR("{any: {present: a}}",
               "t.yml:9:16: 'any' needs a non-empty list of conditions, not a mapping");
    LOAD_ERROR("{all: [{present: a}, {nope: 1}]}",
               "t.yml:9:32: unknown operator 'nope' (known: " OPS ")");
    LOAD_ERROR("{not: [{present: a}]}",
               "t.yml:9:16: 'not' needs a condition (a mapping), not a sequence");
    LOAD_ERROR("{all_of: a}", "t.yml:9:10: 'all_of' needs 'where'");
    LOAD_ERROR("{any_of: a, where: x}",
               "t.yml:9:29: 'where' needs a condition (a mapping), not a scalar");
}

VG_TEST(load_errors_rules)
{
    char err[1024];
    struct {
        const char *text;
        const char *msg;
    } cases[] = {
        { "- id: a\n  nam: x\n", "r.yml:2:3: unknown key 'nam' in rule (known: id, name, "
                                 "resource, severity, section, version, description, rationale, "
                                 "remediation, references, frameworks, params, check)" },
        { "- id: a\n  name: x\n", "r.yml:1:3: rule 'a' is missing required key 'resource'" },
        { "- name: x\n", "r.yml:1:3: rule is missing required key 'id'" },
        { "- id: Bad\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
          "  rationale: r\n  remediation: m\n  frameworks: {soc2: [CC6.1]}\n"
          "  check: {present: a}\n",
          "r.yml:1:7: rule id 'Bad' must match ^[a-z0-9_.-]+$" },
        { "- id: \"a b\"\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
          "  rationale: r\n  remediation: m\n  frameworks: {soc2: [CC6.1]}\n"
          "  check: {present: a}\n",
          "r.yml:1:7: rule id 'a b' must match ^[a-z0-9_.-]+$" },
        { "- id: a\n  name: [N]\n  resource: r\n  severity: low\n  description: d\n"
          "  rationale: r\n  remediation: m\n  frameworks: {soc2: [CC6.1]}\n"
          "  check: {present: a}\n",
          "r.yml:2:9: 'name' must be a string, not a sequence" },
        { "- id: a\n  name: N\n  resource: r\n  severity: low\n  description:\n"
          "  rationale: r\n  remediation: m\n  frameworks: {soc2: [CC6.1]}\n"
          "  check: {present: a}\n",
          "r.yml:5:15: 'description' must not be empty" },
        { "- id: a\n  name: N\n  resource: r\n  severity: urgent\n  description: d\n"
          "  rationale: r\n  remediation: m\n  frameworks: {soc2: [CC6.1]}\n"
          "  check: {present: a}\n",
          "r.yml:4:13: severity 'urgent' is not one of low, medium, high, critical" },
        { "- id: a\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
          "  rationale: r\n  remediation: m\n  frameworks: {soc3: [CC6.1]}\n"
          "  check: {present: a}\n",
          "r.yml:8:16: unknown framework 'soc3' (known: cis_debian_12, cis_aws_3.0, soc2, "
          "iso27001_2022, nist_800_53_r5, nist_csf_2.0, pci_dss_4.0)" },
        { "- id: a\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
          "  rationale: r\n  remediation: m\n  frameworks: {soc2: [CC6.1, [x]]}\n"
          "  check: {present: a}\n",
          "r.yml:8:30: control ids must be scalars, not a sequence" },
        { "- id: a\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
          "  rationale: r\n  remediation: m\n  frameworks: {soc2: CC6.1}\n"
          "  check: {present: a}\n",
          "r.yml:8:22: controls of 'soc2' must be a list of control ids, not a scalar" },
        { "- id: a\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
          "  rationale: r\n  remediation: m\n  frameworks: {}\n"
          "  check: {present: a}\n",
          "r.yml:8:15: 'frameworks' must name at least one framework" },
        { "- id: a\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
          "  rationale: r\n  remediation: m\n  frameworks: [soc2]\n"
          "  check: {present: a}\n",
          "r.yml:8:15: 'frameworks' must be a mapping of framework to control ids, not a sequence" },
        { "- id: a\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
          "  rationale: r\n  remediation: m\n  references: x\n  frameworks: {soc2: [A]}\n"
          "  check: {present: a}\n",
          "r.yml:8:15: 'references' must be a list of strings, not a scalar" },
        { "id: a\n", "r.yml:1:1: a rule file must be a sequence of rules, not a mapping" },
        { "- x\n", "r.yml:1:3: a rule must be a mapping, not a scalar" },
        { "- id: a\n  id: b\n", "r.yml:2:3: duplicate key 'id'" },   /* from the YAML reader */
        { "- id: a\n  name: [\n", NULL },                            /* malformed YAML */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vg_ruleset *rs = vg_ruleset_new();
        enum vg_err e = load_text(rs, "r.yml", cases[i].text, err, sizeof(err));
        CHECK_EQ_INT(e, VG_ERR_RULE);
        CHECK_EQ_INT(vg_ruleset_count(rs), 0);
        if (cases[i].msg)
            CHECK_EQ_STR(err, cases[i].msg);
        else
            CHECK(strncmp(err, "r.yml:", 6) == 0);
        vg_ruleset_destroy(rs);
    }
}

static const char *rule_a =
    "- id: a\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
    "  rationale: r\n  remediation: m\n  frameworks: {soc2: [CC6.1]}\n"
    "  check: {present: a}\n";

VG_TEST(duplicate_ids_and_atomic_files)
{
    char err[1024];
    struct vg_ruleset *rs = vg_ruleset_new();
    CHECK_EQ_INT(load_text(rs, "one.yml", rule_a, err, sizeof(err)), VG_OK);
    /* across files */
    CHECK_EQ_INT(load_text(rs, "two.yml", rule_a, err, sizeof(err)), VG_ERR_RULE);
    CHECK_EQ_STR(err, "two.yml:1:7: duplicate rule id 'a' (first defined at one.yml:1:3)");
    /* within one file; and nothing of a failing file is added */
    char text[2048];
    snprintf(text, sizeof(text), "%s%s", rule_a, rule_a);   /* both renamed b */
    text[6] = 'b';
    text[strlen(rule_a) + 6] = 'b';
    struct vg_ruleset *rs2 = vg_ruleset_new();
    CHECK_EQ_INT(load_text(rs2, "dup.yml", text, err, sizeof(err)), VG_ERR_RULE);
    CHECK_EQ_STR(err, "dup.yml:10:7: duplicate rule id 'b' (first defined at dup.yml:1:3)");
    CHECK_EQ_INT(vg_ruleset_count(rs2), 0);
    vg_ruleset_destroy(rs2);
    /* a good rule, then a bad one: the set is unchanged */
    snprintf(text, sizeof(text), "%s- id: c\n", rule_a);
    text[6] = 'z';
    CHECK_EQ_INT(load_text(rs, "three.yml", text, err, sizeof(err)), VG_ERR_RULE);
    CHECK_EQ_STR(err, "three.yml:10:3: rule 'c' is missing required key 'name'");
    CHECK_EQ_INT(vg_ruleset_count(rs), 1);
    CHECK(vg_ruleset_find(rs, "z") == NULL);
    /* and the id z is still free */
    text[strlen(rule_a)] = '\0';
    CHECK_EQ_INT(load_text(rs, "four.yml", text, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_ruleset_count(rs), 2);
    CHECK(vg_ruleset_find(rs, "z") == vg_ruleset_at(rs, 1));
    vg_ruleset_destroy(rs);
}

/* ---- files and directories --------------------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[2200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static char *rule_named(const char *id)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf),
             "- id: %s\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
             "  rationale: r\n  remediation: m\n  frameworks: {soc2: [CC6.1]}\n"
             "  check: {present: a}\n",
             id);
    return buf;
}

VG_TEST(load_directory)
{
    char dir[] = "/tmp/vg-rule-test-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char sub[1100];
    snprintf(sub, sizeof(sub), "%s/sub.yml", dir);
    mkdir(sub, 0700);
    write_file(dir, "b.yml", rule_named("from.b"));
    write_file(dir, "a.yaml", rule_named("from.a"));
    write_file(dir, "c.txt", "not: rules");
    write_file(dir, ".hidden.yml", "garbage: [");
    write_file(sub, "d.yml", rule_named("from.d"));
    write_file(dir, "empty.yml", "");

    char err[1024];
    struct vg_ruleset *rs = vg_ruleset_new();
    CHECK_EQ_INT(vg_ruleset_load_path(rs, dir, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_ruleset_count(rs), 2);
    const struct vg_rule *r0 = vg_ruleset_at(rs, 0), *r1 = vg_ruleset_at(rs, 1);
    CHECK(r0 && r1);
    if (r0 && r1) {
        CHECK_EQ_STR(r0->id, "from.a");
        CHECK_EQ_STR(r1->id, "from.b");
        CHECK_CONTAINS(r0->file, "/a.yaml");
    }
    /* loading the same directory again: duplicates, nothing added */
    CHECK_EQ_INT(vg_ruleset_load_path(rs, dir, err, sizeof(err)), VG_ERR_RULE);
    CHECK_CONTAINS(err, "/a.yaml:1:7: duplicate rule id 'from.a' (first defined at ");
    CHECK_EQ_INT(vg_ruleset_count(rs), 2);

    /* one file of a directory is bad: nothing of the directory is added */
    write_file(dir, "z.yml", "- id: bad\n  oops: 1\n");
    struct vg_ruleset *rs2 = vg_ruleset_new();
    CHECK_EQ_INT(vg_ruleset_load_path(rs2, dir, err, sizeof(err)), VG_ERR_RULE);
    CHECK_CONTAINS(err, "/z.yml:2:3: unknown key 'oops' in rule");
    CHECK_EQ_INT(vg_ruleset_count(rs2), 0);

    /* a single file */
    char path[1300];
    snprintf(path, sizeof(path), "%s/b.yml", dir);
    CHECK_EQ_INT(vg_ruleset_load_path(rs2, path, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_ruleset_count(rs2), 1);
    snprintf(path, sizeof(path), "%s/nope.yml", dir);
    CHECK_EQ_INT(vg_ruleset_load_path(rs2, path, err, sizeof(err)), VG_ERR_NOENT);
    CHECK_CONTAINS(err, "/nope.yml: No such file or directory");
    vg_ruleset_destroy(rs2);
    vg_ruleset_destroy(rs);

    /* clean up */
    const char *names[] = { "b.yml", "a.yaml", "c.txt", ".hidden.yml", "empty.yml", "z.yml" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/d.yml", sub);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

VG_TEST(load_file_too_large)
{
    char err[512];
    struct vg_ruleset *rs = vg_ruleset_new();
    size_t n = VG_MAX_RULE_FILE + 1;
    char *big = malloc(n);
    if (big) {
        memset(big, '#', n);
        CHECK_EQ_INT(vg_ruleset_load_string(rs, "big.yml", big, n, err, sizeof(err)), VG_ERR_RULE);
        CHECK_CONTAINS(err, "big.yml:1:1: file is larger than");
        free(big);
    }
    vg_ruleset_destroy(rs);
}

/* ---- none, none_of ----------------------------------------------------------------------- */

VG_TEST(op_none)
{
    const char *c = "{none: [{path: PermitRootLogin, eq: \"yes\"}, {path: X11, eq: \"yes\"}]}";
    CHECK_EQ_INT(eval(c, "{\"PermitRootLogin\":\"no\",\"X11\":\"no\"}"), P);
    CHECK_EQ_STR(g_reason, "");
    CHECK_EQ_INT(eval(c, "{}"), P);   /* absent: eq fails, so none holds */
    CHECK_EQ_INT(eval(c, "{\"PermitRootLogin\":\"no\",\"X11\":\"yes\"}"), F);
    CHECK_EQ_STR(g_reason, "X11 is \"yes\"; expected not: X11 == \"yes\"");
    /* the source of the value, as for any comparison */
    struct vg_resource *res = mkres("{\"PermitRootLogin\":\"yes\"}");
    vg_resource_set_source(res, "PermitRootLogin", "/etc/ssh/sshd_config.d/10-x.conf:3");
    CHECK_EQ_INT(eval_res(c, res), F);
    CHECK_EQ_STR(g_reason, "PermitRootLogin is \"yes\" (/etc/ssh/sshd_config.d/10-x.conf:3); "
                           "expected not: PermitRootLogin == \"yes\"");
    CHECK_EQ_STR(g_evidence, "{\"PermitRootLogin\":\"yes\"}");   /* stops at the first */
    vg_resource_destroy(res);
    /* unknown: none held, one could not be read */
    CHECK_EQ_INT(tv_eval("{none: [{present: f}, {present: u.x}]}"), U);
    CHECK_EQ_STR(g_reason, "u could not be read: cannot read u");
    /* a known holding part decides even next to an unknown one */
    CHECK_EQ_INT(tv_eval("{none: [{present: u.x}, {present: t}]}"), F);
    CHECK_EQ_STR(g_reason, "t is 1; expected not: t is present");
    /* none == not any, in all three values */
    static const int vals[3] = { P, F, U };
    char a[256], b[256];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            snprintf(a, sizeof(a), "{none: [%s, %s]}", tv_cond(vals[i]), tv_cond(vals[j]));
            snprintf(b, sizeof(b), "{not: {any: [%s, %s]}}", tv_cond(vals[i]), tv_cond(vals[j]));
            int ra = tv_eval(a), rb = tv_eval(b);
            CHECK_EQ_INT(ra, rb);
        }
    LOAD_ERROR("{none: []}",
               "t.yml:9:17: 'none' needs a non-empty list of conditions, not an empty one");
    LOAD_ERROR("{none: {present: a}}",
               "t.yml:9:17: 'none' needs a non-empty list of conditions, not a mapping");
}

VG_TEST(op_none_of)
{
    const char *c = "{none_of: users, where: {path: uid, eq: 0}}";
    CHECK_EQ_INT(eval(c, users), F);
    CHECK_EQ_STR(g_reason, "users[0] (name \"root\"): uid is 0; expected no element of users to "
                           "match");
    CHECK_EQ_STR(g_evidence, "{\"users[*].uid\":[0]}");   /* stops at the first match */
    CHECK_EQ_INT(eval("{none_of: users, where: {path: uid, gt: 5000}}", users), P);
    CHECK_EQ_STR(g_evidence, "{\"users[*].uid\":[0,1000,1001,0]}");
    /* empty and absent arrays: nothing matches */
    CHECK_EQ_INT(eval(c, "{\"users\":[]}"), P);
    CHECK_EQ_STR(g_evidence, "{\"users\":[]}");
    CHECK_EQ_INT(eval(c, "{}"), P);
    CHECK_EQ_STR(g_evidence, "{\"users\":null}");
    CHECK_EQ_INT(eval(c, "{\"users\":null}"), P);
    /* not an array */
    CHECK_EQ_INT(eval(c, "{\"users\":\"x\"}"), F);
    CHECK_EQ_STR(g_reason, "users is \"x\"; expected an array");
    /* unknown */
    struct vg_resource *res = mkres(users);
    vg_resource_set_error(res, "users", "cannot read /etc/passwd: permission denied");
    CHECK_EQ_INT(eval_res(c, res), U);
    CHECK_EQ_STR(g_reason, "users could not be read: cannot read /etc/passwd: permission denied");
    vg_resource_destroy(res);
    /* the match is quoted from every part that made it */
    CHECK_EQ_INT(eval("{none_of: users, where: {all: [{path: uid, eq: 0}, "
                      "{not: {path: name, eq: root}}]}}",
                      users),
                 F);
    CHECK_EQ_STR(g_reason, "users[3] (name \"toor\"): uid is 0 and name is \"toor\"; "
                           "expected no element of users to match");
    /* not none_of is any_of */
    CHECK_EQ_INT(eval("{not: {none_of: users, where: {path: uid, gt: 5000}}}", users), F);
    CHECK_EQ_STR(g_reason, "no element of users: uid > 5000; expected not: no element of users: "
                           "uid > 5000");
    /* nested, with [*] in the quantified path */
    c = "{none_of: \"R[*].G\", where: {path: p, eq: \"*\"}}";
    CHECK_EQ_INT(eval(c, "{\"R\":[{\"G\":[{\"p\":\"a\"}]},{\"G\":[{\"p\":\"b\"},{\"p\":\"*\"}]}]}"),
                 F);
    CHECK_EQ_STR(g_reason, "R[1].G[1]: p is \"*\"; expected no element of R[*].G to match");
    CHECK_EQ_STR(g_evidence, "{\"R[*].G[*].p\":[\"a\",\"b\",\"*\"]}");
    LOAD_ERROR("{none_of: a}", "t.yml:9:10: 'none_of' needs 'where'");
}

VG_TEST(held_reasons)
{
    /* none_of quotes why its element matched, whatever the condition */
    static const struct {
        const char *where, *doc, *reason;
    } cases[] = {
        { "{not: {any: [{path: a, eq: 1}, {path: b, eq: 2}]}}", "{\"x\":[{\"a\":5,\"b\":6}]}",
          "x[0]: a is 5 and b is 6" },
        { "{not: {count: k, ge: 2}}", "{\"x\":[{\"k\":[1]}]}", "x[0]: k has 1 element" },
        { "{not: {ports_within: {from: p, ports: [443]}}}", "{\"x\":[{\"p\":22}]}",
          "x[0]: port 22 (p 22)" },
        { "{not: {any_of: r, where: {path: v, eq: 1}}}", "{\"x\":[{\"r\":[{\"v\":2}]}]}",
          "x[0]: no element of r matches: v == 1" },
        { "{not: {any_of: r, where: {path: v, eq: 1}}}", "{\"x\":[{}]}", "x[0]: r is absent" },
        { "{not: {path: a, eq: 1}}", "{\"x\":[{}]}", "x[0]: a is absent" },
        { "{not: {path: a, in: [1]}}", "{\"x\":[{\"id\":\"i-1\",\"a\":3}]}",
          "x[0] (id \"i-1\"): a is 3" },
        { "{not: {not: {path: a, eq: 1}}}", "{\"x\":[{\"a\":1}]}", "x[0]: a is 1" },
        { "{none: [{path: a, eq: 1}]}", "{\"x\":[{\"a\":2}]}", "x[0]: not (a == 1)" },
        { "{all_of: r, where: {path: v, eq: 1}}", "{\"x\":[{\"r\":[{\"v\":1}]}]}",
          "x[0]: every element of r: v == 1" },
        { "{all_of: r, where: {path: v, eq: 1}}", "{\"x\":[{\"r\":[]}]}", "x[0]: r is empty" },
        { "{none_of: r, where: {path: v, eq: 1}}", "{\"x\":[{}]}", "x[0]: r is absent" },
        { "{count: r, where: {path: v, eq: 1}, eq: 1}",
          "{\"x\":[{\"r\":[{\"v\":1,\"name\":\"n1\"},{\"v\":2}]}]}",
          "x[0]: 1 element of r matches v == 1 (n1)" },
        { "{path: d, age_days_gt: 30}", "{\"x\":[{\"d\":\"2025-01-01\"}]}",
          "x[0]: d is \"2025-01-01\", 329 days ago" },
        { "{path: \"c[*]\", cidr_overlaps: 10.0.0.0/8}",
          "{\"x\":[{\"c\":[\"10.1.0.0/16\",\"10.2.0.0/16\"]}]}",
          "x[0]: c[*] contains \"10.1.0.0/16\"" },
        { "{not: {path: ip, cidr_contains: 10.0.0.0/8}}", "{\"x\":[{\"ip\":\"bad\"}]}",
          "x[0]: ip is \"bad\", not an IP address or CIDR" },
        { "{not: {ports_overlap: {from: f, to: t, ports: [22]}}}",
          "{\"x\":[{\"f\":30,\"t\":20}]}", "x[0]: f 30 is greater than t 20" },
    };
    char check[512], want[512];
    g_now = at_time("2025-11-26T12:00:00Z");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(check, sizeof(check), "{none_of: x, where: %s}", cases[i].where);
        snprintf(want, sizeof(want), "%s; expected no element of x to match", cases[i].reason);
        CHECK_EQ_INT(eval(check, cases[i].doc), F);
        CHECK_EQ_STR(g_reason, want);
    }
    g_now = 0;
}

/* ---- empty, contains ------------------------------------------------------------------------- */

VG_TEST(op_empty)
{
    const char *t = "{path: a, empty: true}", *f = "{path: a, empty: false}";
    static const char *empties[] = { "{}", "{\"a\":null}", "{\"a\":\"\"}", "{\"a\":[]}",
                                     "{\"a\":{}}" };
    static const char *full[] = { "{\"a\":\" \"}", "{\"a\":[null]}", "{\"a\":{\"k\":1}}",
                                  "{\"a\":0}", "{\"a\":false}" };
    for (size_t i = 0; i < 5; i++) {
        CHECK_EQ_INT(eval(t, empties[i]), P);
        CHECK_EQ_INT(eval(f, empties[i]), F);
        CHECK_EQ_INT(eval(t, full[i]), F);
        CHECK_EQ_INT(eval(f, full[i]), P);
    }
    CHECK_EQ_INT(eval(t, "{\"a\":[1]}"), F);
    CHECK_EQ_STR(g_reason, "a is [1]; expected empty");
    CHECK_EQ_INT(eval(f, "{\"a\":\"\"}"), F);
    CHECK_EQ_STR(g_reason, "a is \"\"; expected not empty");
    CHECK_EQ_INT(eval(f, "{}"), F);
    CHECK_EQ_STR(g_reason, "a is absent; expected not empty");
    CHECK_EQ_STR(g_evidence, "{\"a\":null}");
    /* with [*]: every value reached */
    CHECK_EQ_INT(eval("{path: \"r[*].x\", empty: true}", "{\"r\":[{\"x\":[]},{\"x\":\"\"},{}]}"), P);
    CHECK_EQ_INT(eval("{path: \"r[*].x\", empty: true}", "{\"r\":[{\"x\":[]},{\"x\":\"v\"}]}"), F);
    CHECK_EQ_STR(g_reason, "r[*].x contains \"v\"; expected empty");
    /* unknown */
    CHECK_EQ_INT(tv_eval("{path: u.x, empty: false}"), U);
    LOAD_ERROR("{path: a, empty: yes}", "t.yml:9:27: 'empty' needs true or false, not a string");
    LOAD_ERROR("{path: a, empty: 1}", "t.yml:9:27: 'empty' needs true or false, not a number");
    LOAD_ERROR("{empty: a}", "t.yml:9:10: 'empty' needs a path");
}

VG_TEST(op_contains)
{
    const char *c = "{path: a, contains: \"aes\"}";
    CHECK_EQ_INT(eval(c, "{\"a\":\"aes256-ctr\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"a\":\"chacha\"}"), F);
    CHECK_EQ_STR(g_reason, "a is \"chacha\"; expected to contain \"aes\"");
    CHECK_EQ_INT(eval(c, "{\"a\":[\"aes\",\"x\"]}"), P);        /* an element */
    CHECK_EQ_INT(eval(c, "{\"a\":[\"aes256\",\"x\"]}"), F);     /* elements are equal, not */
    CHECK_EQ_STR(g_reason, "a is [\"aes256\",\"x\"]; expected to contain \"aes\"");
    CHECK_EQ_INT(eval(c, "{\"a\":{\"aes\":1}}"), F);            /* not in objects */
    CHECK_EQ_INT(eval(c, "{}"), F);
    CHECK_EQ_STR(g_reason, "a is absent; expected to contain \"aes\"");
    CHECK_EQ_INT(eval(c, "{\"a\":null}"), F);
    CHECK_EQ_INT(eval(c, "{\"a\":12}"), F);
    /* numbers compare as numbers in arrays, and never match in strings */
    CHECK_EQ_INT(eval("{path: a, contains: 22}", "{\"a\":[80,22.0]}"), P);
    CHECK_EQ_INT(eval("{path: a, contains: 22}", "{\"a\":\"port 22\"}"), F);
    CHECK_EQ_INT(eval("{path: a, contains: \"22\"}", "{\"a\":\"port 22\"}"), P);
    CHECK_EQ_INT(eval("{path: a, contains: \"\"}", "{\"a\":\"x\"}"), P);
    /* the whole text is searched, past a NUL */
    CHECK_EQ_INT(eval(c, "{\"a\":\"x\\u0000aes\"}"), P);
    CHECK_EQ_INT(eval("{path: a, contains: {k: 1}}", "{\"a\":[{\"k\":1}]}"), P);
    CHECK_EQ_INT(eval("{path: \"s[*]\", contains: x}", "{\"s\":[\"ax\",\"xb\"]}"), P);
    CHECK_EQ_INT(eval("{path: \"s[*]\", contains: x}", "{\"s\":[\"ax\",\"b\"]}"), F);
    CHECK_EQ_STR(g_reason, "s[*] contains \"b\"; expected to contain \"x\"");
    LOAD_ERROR("{path: a, contains: null}",
               "t.yml:9:30: 'contains' needs a value, not null (use present: or absent:)");
}

/* ---- networks ----------------------------------------------------------------------------------- */

VG_TEST(op_cidr_contains)
{
    const char *c = "{path: ip, cidr_contains: 10.0.0.0/8}";
    CHECK_EQ_INT(eval(c, "{\"ip\":\"10.1.2.3\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"10.255.0.0/16\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"10.0.0.0/8\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"10.0.0.0/7\"}"), F);   /* larger than the net */
    CHECK_EQ_STR(g_reason, "ip is \"10.0.0.0/7\"; expected within 10.0.0.0/8");
    CHECK_EQ_INT(eval(c, "{\"ip\":\"11.0.0.1\"}"), F);
    /* host bits in a value are ignored: 10.9.9.9/8 is 10.0.0.0/8 */
    CHECK_EQ_INT(eval(c, "{\"ip\":\"10.9.9.9/8\"}"), P);
    /* another family is never within */
    CHECK_EQ_INT(eval(c, "{\"ip\":\"::ffff:10.0.0.1\"}"), F);
    /* bad values fail, saying so */
    CHECK_EQ_INT(eval(c, "{\"ip\":\"10.0.0.300\"}"), F);
    CHECK_EQ_STR(g_reason, "ip is \"10.0.0.300\", not an IP address or CIDR; expected within "
                           "10.0.0.0/8");
    static const char *bad[] = { "\"\"", "\"10.0.0.0/\"", "\"10.0.0.0/33\"", "\"10.0.0.0/-1\"",
                                 "\"10.0.0.0/8 \"", "\" 10.0.0.0/8\"", "\"10.0.0\"",
                                 "\"10.0.0.0/8/8\"", "\"fe80::1%eth0\"", "\"::/129\"",
                                 "\"10.0.0.0\\u0000/8\"", "10", "[\"10.0.0.1\"]", "\"x/8\"" };
    char doc[128];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(doc, sizeof(doc), "{\"ip\":%s}", bad[i]);
        CHECK_EQ_INT(eval(c, doc), F);
    }
    CHECK_EQ_INT(eval(c, "{}"), F);
    CHECK_EQ_STR(g_reason, "ip is absent; expected within 10.0.0.0/8");
    /* IPv6 */
    c = "{path: ip, cidr_contains: \"2001:db8::/32\"}";
    CHECK_EQ_INT(eval(c, "{\"ip\":\"2001:db8:1::/48\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"2001:db8::1\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"2001:db9::1\"}"), F);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"::/0\"}"), F);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"10.0.0.1\"}"), F);
    /* a list is a union: 10.0.0.0/7 is 10/8 and 11/8 together */
    c = "{path: ip, cidr_contains: [10.0.0.0/8, 11.0.0.0/8, 192.168.0.0/16, \"fc00::/7\"]}";
    CHECK_EQ_INT(eval(c, "{\"ip\":\"10.0.0.0/7\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"10.0.0.0/6\"}"), F);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"192.168.1.1\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"fd12::/16\"}"), P);
    /* the halves of the internet are not private */
    const char *private = "{path: CidrIp, cidr_contains: [10.0.0.0/8, 172.16.0.0/12, "
                          "192.168.0.0/16]}";
    CHECK_EQ_INT(eval(private, "{\"CidrIp\":\"0.0.0.0/1\"}"), F);
    CHECK_EQ_STR(g_reason, "CidrIp is \"0.0.0.0/1\"; expected within [10.0.0.0/8, 172.16.0.0/12, "
                           "192.168.0.0/16]");
    CHECK_EQ_INT(eval(private, "{\"CidrIp\":\"128.0.0.0/1\"}"), F);
    CHECK_EQ_INT(eval(private, "{\"CidrIp\":\"172.16.0.0/12\"}"), P);
    CHECK_EQ_INT(eval(private, "{\"CidrIp\":\"172.31.255.255/32\"}"), P);
    CHECK_EQ_INT(eval(private, "{\"CidrIp\":\"172.32.0.0/32\"}"), F);
    /* 256 /24s cover their /16, one missing does not */
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    vg_buf_appends(&b, "{path: ip, cidr_contains: [");
    for (int i = 255; i >= 0; i--)
        vg_buf_printf(&b, "%s10.%d.%d.0/24", i == 255 ? "" : ", ", 7, i);
    vg_buf_appends(&b, "]}");
    CHECK_EQ_INT(eval(vg_buf_str(&b), "{\"ip\":\"10.7.0.0/16\"}"), P);
    CHECK_EQ_INT(eval(vg_buf_str(&b), "{\"ip\":\"10.6.0.0/15\"}"), F);
    vg_buf_reset(&b);
    vg_buf_appends(&b, "{path: ip, cidr_contains: [");
    for (int i = 0; i < 256; i++)
        if (i != 77)
            vg_buf_printf(&b, "%s10.7.%d.0/24", i ? ", " : "", i);
    vg_buf_appends(&b, "]}");
    CHECK_EQ_INT(eval(vg_buf_str(&b), "{\"ip\":\"10.7.0.0/16\"}"), F);
    CHECK_EQ_INT(eval(vg_buf_str(&b), "{\"ip\":\"10.7.76.0/24\"}"), P);
    vg_buf_free(&b);
    /* with [*] and in quantifiers */
    CHECK_EQ_INT(eval("{path: \"r[*].c\", cidr_contains: 10.0.0.0/8}",
                      "{\"r\":[{\"c\":\"10.0.0.1\"},{\"c\":\"8.8.8.8\"}]}"),
                 F);
    CHECK_EQ_STR(g_reason, "r[*].c contains \"8.8.8.8\"; expected within 10.0.0.0/8");
    CHECK_EQ_STR(g_evidence, "{\"r[*].c\":[\"10.0.0.1\",\"8.8.8.8\"]}");
}

VG_TEST(op_cidr_overlaps)
{
    const char *c = "{path: ip, cidr_overlaps: 10.0.0.0/8}";
    CHECK_EQ_INT(eval(c, "{\"ip\":\"10.1.2.3\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"0.0.0.0/0\"}"), P);   /* the internet holds 10/8 */
    CHECK_EQ_INT(eval(c, "{\"ip\":\"0.0.0.0/4\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"11.0.0.0/8\"}"), F);
    CHECK_EQ_STR(g_reason, "ip is \"11.0.0.0/8\"; expected to overlap 10.0.0.0/8");
    CHECK_EQ_INT(eval(c, "{\"ip\":\"::/0\"}"), F);        /* another family */
    CHECK_EQ_INT(eval(c, "{\"ip\":\"nope\"}"), F);
    CHECK_EQ_STR(g_reason, "ip is \"nope\", not an IP address or CIDR; expected to overlap "
                           "10.0.0.0/8");
    c = "{path: ip, cidr_overlaps: [\"::/0\", 0.0.0.0/0]}";
    CHECK_EQ_INT(eval(c, "{\"ip\":\"2001:db8::1\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"ip\":\"192.0.2.1/32\"}"), P);
    CHECK_EQ_INT(eval("{path: ip, cidr_overlaps: \"2001:db8::/32\"}", "{\"ip\":\"2001::/16\"}"), P);
    CHECK_EQ_INT(eval("{path: ip, cidr_overlaps: \"2001:db8::/32\"}", "{\"ip\":\"2002::/16\"}"), F);
    /* "open to the internet": the address range is not private */
    c = "{any_of: IpRanges, where: {not: {path: CidrIp, cidr_contains: [10.0.0.0/8, "
        "172.16.0.0/12, 192.168.0.0/16]}}}";
    CHECK_EQ_INT(eval(c, "{\"IpRanges\":[{\"CidrIp\":\"10.0.0.0/16\"},{\"CidrIp\":\"0.0.0.0/1\"}]}"),
                 P);
    CHECK_EQ_INT(eval(c, "{\"IpRanges\":[{\"CidrIp\":\"10.0.0.0/16\"}]}"), F);
}

VG_TEST(load_errors_cidr)
{
    LOAD_ERROR("{path: a, cidr_contains: 10.0.0.1/8}",
               "t.yml:9:35: bad CIDR '10.0.0.1/8': host bits are set (the network is 10.0.0.0/8)");
    LOAD_ERROR("{path: a, cidr_contains: \"2001:db8::1/32\"}",
               "t.yml:9:35: bad CIDR '2001:db8::1/32': host bits are set (the network is "
               "2001:db8::/32)");
    LOAD_ERROR("{path: a, cidr_contains: 10.0.0.0/33}",
               "t.yml:9:35: bad CIDR '10.0.0.0/33': the prefix length is above 32");
    LOAD_ERROR("{path: a, cidr_overlaps: \"::/129\"}",
               "t.yml:9:35: bad CIDR '::/129': the prefix length is above 128");
    LOAD_ERROR("{path: a, cidr_overlaps: 10.0.0/8}",
               "t.yml:9:35: bad CIDR '10.0.0/8': not an IPv4 or IPv6 address");
    LOAD_ERROR("{path: a, cidr_overlaps: 10.0.0.0/x}",
               "t.yml:9:35: bad CIDR '10.0.0.0/x': the prefix length is not a number");
    LOAD_ERROR("{path: a, cidr_overlaps: \"\"}", "t.yml:9:35: bad CIDR '': empty");
    LOAD_ERROR("{path: a, cidr_contains: [10.0.0.0/8, 300.0.0.0/8]}",
               "t.yml:9:48: bad CIDR '300.0.0.0/8': not an IPv4 or IPv6 address");
    LOAD_ERROR("{path: a, cidr_contains: [10.0.0.0/8, 8]}",
               "t.yml:9:48: 'cidr_contains' list items must be CIDRs (strings), not a number");
    LOAD_ERROR("{path: a, cidr_contains: []}", "t.yml:9:35: 'cidr_contains' needs at least one CIDR");
    LOAD_ERROR("{path: a, cidr_contains: {a: 1}}",
               "t.yml:9:35: 'cidr_contains' needs a CIDR (a string) or a list of them, not a "
               "mapping");
    LOAD_ERROR("{path: a, cidr_overlaps: 8}",
               "t.yml:9:35: 'cidr_overlaps' needs a CIDR (a string) or a list of them, not a "
               "number");
    /* the list is bounded */
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    vg_buf_appends(&b, "{path: a, cidr_contains: [");
    for (int i = 0; i < 1025; i++)
        vg_buf_printf(&b, "%s10.%d.%d.0/24", i ? ", " : "", i / 256, i % 256);
    vg_buf_appends(&b, "]}");
    char err[512];
    struct vg_ruleset *rs = load_check(vg_buf_str(&b), err, sizeof(err));
    CHECK(rs == NULL);
    CHECK_EQ_STR(err, "t.yml:9:35: 'cidr_contains' lists more than 1024 CIDRs");
    vg_ruleset_destroy(rs);
    vg_buf_free(&b);
}

/* ---- port ranges ----------------------------------------------------------------------------------- */

VG_TEST(op_ports_overlap)
{
    const char *c = "{ports_overlap: {from: FromPort, to: ToPort, ports: [22, 3389, \"1024-2048\"]}}";
    CHECK_EQ_INT(eval(c, "{\"FromPort\":22,\"ToPort\":22}"), P);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":0,\"ToPort\":65535}"), P);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":2000,\"ToPort\":3000}"), P);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":80,\"ToPort\":443}"), F);
    CHECK_EQ_STR(g_reason, "ports 80-443 (FromPort 80, ToPort 443); expected an overlap with "
                           "[22, 3389, 1024-2048]");
    CHECK_EQ_STR(g_evidence, "{\"FromPort\":80,\"ToPort\":443}");
    CHECK_EQ_INT(eval(c, "{\"FromPort\":23,\"ToPort\":1023}"), F);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":2049,\"ToPort\":3388}"), F);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":3389,\"ToPort\":3389}"), P);
    /* a missing to is from; -1 or a missing range is every port */
    CHECK_EQ_INT(eval(c, "{\"FromPort\":22}"), P);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":80}"), F);
    CHECK_EQ_STR(g_reason, "port 80 (FromPort 80, ToPort absent); expected an overlap with "
                           "[22, 3389, 1024-2048]");
    CHECK_EQ_INT(eval(c, "{\"IpProtocol\":\"-1\"}"), P);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":-1,\"ToPort\":-1}"), P);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":80,\"ToPort\":-1}"), P);
    /* numbers as text, integral doubles */
    CHECK_EQ_INT(eval(c, "{\"FromPort\":\"22\",\"ToPort\":\" 22 \"}"), P);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":22.0,\"ToPort\":22.0}"), P);
    /* bad values fail, saying so */
    CHECK_EQ_INT(eval(c, "{\"FromPort\":\"ssh\",\"ToPort\":22}"), F);
    CHECK_EQ_STR(g_reason, "FromPort is \"ssh\", not a port (0-65535, or -1 for all)");
    CHECK_EQ_INT(eval(c, "{\"FromPort\":20,\"ToPort\":70000}"), F);
    CHECK_EQ_STR(g_reason, "ToPort is 70000, not a port (0-65535, or -1 for all)");
    CHECK_EQ_INT(eval(c, "{\"FromPort\":22.5,\"ToPort\":23}"), F);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":-2,\"ToPort\":23}"), F);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":1e300,\"ToPort\":23}"), F);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":true,\"ToPort\":23}"), F);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":[22],\"ToPort\":23}"), F);
    CHECK_EQ_INT(eval(c, "{\"FromPort\":100,\"ToPort\":10}"), F);
    CHECK_EQ_STR(g_reason, "FromPort 100 is greater than ToPort 10");
    /* without to */
    c = "{ports_overlap: {from: Port, ports: [22]}}";
    CHECK_EQ_INT(eval(c, "{\"Port\":22}"), P);
    CHECK_EQ_INT(eval(c, "{\"Port\":23}"), F);
    CHECK_EQ_STR(g_reason, "port 23 (Port 23); expected an overlap with [22]");
    CHECK_EQ_INT(eval(c, "{}"), P);
    /* unknown when a field could not be read */
    struct vg_resource *res = mkres("{\"FromPort\":22,\"ToPort\":22}");
    vg_resource_set_error(res, "ToPort", "throttled");
    CHECK_EQ_INT(eval_res("{ports_overlap: {from: FromPort, to: ToPort, ports: [22]}}", res), U);
    CHECK_EQ_STR(g_reason, "ToPort could not be read: throttled");
    vg_resource_destroy(res);
}

/* A security group in the shape of EC2 DescribeSecurityGroups. */
static const char *sg =
    "{\"GroupId\":\"sg-1\",\"IpPermissions\":["
    "{\"IpProtocol\":\"tcp\",\"FromPort\":443,\"ToPort\":443,"
    "\"IpRanges\":[{\"CidrIp\":\"0.0.0.0/0\"}],\"Ipv6Ranges\":[]},"
    "{\"IpProtocol\":\"tcp\",\"FromPort\":22,\"ToPort\":22,"
    "\"IpRanges\":[{\"CidrIp\":\"10.0.0.0/8\"}],\"Ipv6Ranges\":[]},"
    "{\"IpProtocol\":\"-1\",\"IpRanges\":[],\"Ipv6Ranges\":[{\"CidrIpv6\":\"::/0\"}]}]}";

VG_TEST(ports_in_security_groups)
{
    /* no rule open to the internet (any address outside the private
     * ranges) reaches 22 or 3389 */
    const char *c =
        "{none_of: IpPermissions, where: {all: ["
        "{any: [{any_of: IpRanges, where: {not: {path: CidrIp, cidr_contains: [10.0.0.0/8, "
        "172.16.0.0/12, 192.168.0.0/16]}}},"
        "       {any_of: Ipv6Ranges, where: {not: {path: CidrIpv6, cidr_contains: \"fc00::/7\"}}}"
        "]},"
        "{ports_overlap: {from: FromPort, to: ToPort, ports: [22, 3389]}}]}}";
    CHECK_EQ_INT(eval(c, sg), F);
    CHECK_EQ_STR(g_reason, "IpPermissions[2]: Ipv6Ranges[0]: CidrIpv6 is \"::/0\" and all ports "
                           "(FromPort absent, ToPort absent) overlap 22; expected no element of "
                           "IpPermissions to match");
    /* what was read: the second rule's ports were not, its ranges being private */
    CHECK_EQ_STR(g_evidence,
                 "{\"IpPermissions[*].IpRanges[*].CidrIp\":[\"0.0.0.0/0\",\"10.0.0.0/8\"],"
                 "\"IpPermissions[*].FromPort\":[443,null],\"IpPermissions[*].ToPort\":[443,null],"
                 "\"IpPermissions[*].Ipv6Ranges[*].CidrIpv6\":[\"::/0\"]}");
    /* the same with 0.0.0.0/1: half the internet is the internet */
    CHECK_EQ_INT(eval(c, "{\"IpPermissions\":[{\"FromPort\":3000,\"ToPort\":4000,"
                         "\"IpRanges\":[{\"CidrIp\":\"0.0.0.0/1\"}]}]}"),
                 F);
    CHECK_EQ_STR(g_reason, "IpPermissions[0]: IpRanges[0]: CidrIp is \"0.0.0.0/1\" and ports "
                           "3000-4000 (FromPort 3000, ToPort 4000) overlap 3389; expected no "
                           "element of IpPermissions to match");
    CHECK_EQ_INT(eval(c, "{\"IpPermissions\":[{\"FromPort\":3000,\"ToPort\":4000,"
                         "\"IpRanges\":[{\"CidrIp\":\"172.16.0.0/12\"}]}]}"),
                 P);
    /* only 443 from the internet */
    c = "{all_of: IpPermissions, where: {any: ["
        "{not: {any_of: IpRanges, where: {not: {path: CidrIp, cidr_contains: [10.0.0.0/8]}}}},"
        "{ports_within: {from: FromPort, to: ToPort, ports: [443]}}]}}";
    CHECK_EQ_INT(eval(c, sg), P);
    CHECK_EQ_INT(eval(c, "{\"IpPermissions\":[{\"FromPort\":0,\"ToPort\":1000,"
                         "\"IpRanges\":[{\"CidrIp\":\"192.0.2.0/24\"}]}]}"),
                 F);
    CHECK_EQ_STR(g_reason, "IpPermissions[0]: IpRanges[0]: CidrIp is \"192.0.2.0/24\"; expected "
                           "not: some element of IpRanges: not CidrIp within [10.0.0.0/8]; or "
                           "ports 0-1000 (FromPort 0, ToPort 1000) include 0; expected only [443]");
}

VG_TEST(op_ports_within)
{
    const char *c = "{ports_within: {from: f, to: t, ports: [443, \"8080-8090\", 8091, 80]}}";
    CHECK_EQ_INT(eval(c, "{\"f\":443,\"t\":443}"), P);
    CHECK_EQ_INT(eval(c, "{\"f\":8080,\"t\":8091}"), P);   /* 8080-8090 and 8091 join */
    CHECK_EQ_INT(eval(c, "{\"f\":8080,\"t\":8092}"), F);
    CHECK_EQ_STR(g_reason, "ports 8080-8092 (f 8080, t 8092) include 8092; expected only "
                           "[443, 8080-8090, 8091, 80]");
    CHECK_EQ_INT(eval(c, "{\"f\":80,\"t\":443}"), F);
    CHECK_EQ_STR(g_reason, "ports 80-443 (f 80, t 443) include 81; expected only "
                           "[443, 8080-8090, 8091, 80]");
    CHECK_EQ_INT(eval(c, "{\"f\":22}"), F);
    CHECK_EQ_STR(g_reason, "port 22 (f 22, t absent); expected only [443, 8080-8090, 8091, 80]");
    CHECK_EQ_INT(eval(c, "{}"), F);
    CHECK_EQ_STR(g_reason, "all ports (f absent, t absent) include 0; expected only "
                           "[443, 8080-8090, 8091, 80]");
    CHECK_EQ_INT(eval("{ports_within: {from: f, ports: [\"0-65535\"]}}", "{}"), P);
    CHECK_EQ_INT(eval("{ports_within: {from: f, ports: [\"0-100\", \"101-65535\"]}}",
                      "{\"f\":-1}"),
                 P);
    CHECK_EQ_INT(eval("{ports_within: {from: f, ports: [\"0-100\", \"102-65535\"]}}",
                      "{\"f\":-1}"),
                 F);
    CHECK_EQ_STR(g_reason, "all ports (f -1) include 101; expected only [0-100, 102-65535]");
    /* not ports_within: what held is quoted */
    CHECK_EQ_INT(eval("{not: {ports_within: {from: f, ports: [443]}}}", "{\"f\":443}"), F);
    CHECK_EQ_STR(g_reason, "port 443 (f 443) is within [443]; expected not: port f within [443]");
}

VG_TEST(load_errors_ports)
{
    LOAD_ERROR("{ports_overlap: {to: b, ports: [22]}}", "t.yml:9:26: 'ports_overlap' needs 'from'");
    LOAD_ERROR("{ports_overlap: {from: a}}", "t.yml:9:26: 'ports_overlap' needs 'ports'");
    LOAD_ERROR("{ports_overlap: {from: a, port: [22]}}",
               "t.yml:9:36: unknown key 'port' in 'ports_overlap' (known: from, to, ports)");
    LOAD_ERROR("{ports_overlap: [22]}",
               "t.yml:9:26: 'ports_overlap' needs a mapping with from, to and ports, not a "
               "sequence");
    LOAD_ERROR("{ports_within: {from: \"r[*].f\", ports: [22]}}",
               "t.yml:9:32: 'from' reads one port, its path cannot hold [*] (quantify over the "
               "array with all_of, any_of or none_of)");
    LOAD_ERROR("{ports_within: {from: a, to: \"a..b\", ports: [22]}}",
               "t.yml:9:39: malformed path 'a..b': empty segment");
    LOAD_ERROR("{ports_within: {from: a, ports: []}}",
               "t.yml:9:42: 'ports' needs at least one port");
    LOAD_ERROR("{ports_within: {from: a, ports: 22}}",
               "t.yml:9:42: 'ports' needs a list of ports (22) and port ranges (\"1024-2048\"), "
               "not a number");
    static const char *bad[] = { "65536", "-1", "\"2048-1024\"", "\"22-\"", "\"-22\"",
                                 "\"1-2-3\"", "\"0x16\"", "22.0", "ssh", "\"\"",
                                 "\"000022\"", "[22]", "true" };
    char check[128], msg[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(check, sizeof(check), "{ports_within: {from: a, ports: [1, %s]}}", bad[i]);
        struct vg_json *j = NULL;
        if (bad[i][0] == '"' || bad[i][0] == '[')
            j = vg_json_parse(bad[i], strlen(bad[i]), NULL, 0);
        char shown[64];
        if (j) {
            char *d = dump(j);
            snprintf(shown, sizeof(shown), "%s", d);
            free(d);
            vg_json_free(j);
        } else if (!strcmp(bad[i], "ssh")) {
            snprintf(shown, sizeof(shown), "\"ssh\"");
        } else {
            snprintf(shown, sizeof(shown), "%s", bad[i]);
        }
        snprintf(msg, sizeof(msg),
                 "t.yml:9:46: bad port %s: expected a port (0-65535) or a range \"LOW-HIGH\"",
                 shown);
        LOAD_ERROR(check, msg);
    }
    LOAD_ERROR("{ports_within: {from: a, ports: [1]}, path: a}",
               "t.yml:9:48: 'path' is not used with 'ports_within'");
}

/* ---- age in days ---------------------------------------------------------------------------------- */

VG_TEST(op_age_days)
{
    g_now = at_time("2025-11-26T12:00:00Z");
    const char *le = "{path: last_rotated, age_days_le: 90}";
    const char *gt = "{path: last_rotated, age_days_gt: 90}";
    CHECK_EQ_INT(eval(le, "{\"last_rotated\":\"2025-11-20T00:00:00Z\"}"), P);
    CHECK_EQ_INT(eval(gt, "{\"last_rotated\":\"2025-11-20T00:00:00Z\"}"), F);
    CHECK_EQ_STR(g_reason, "last_rotated is \"2025-11-20T00:00:00Z\", 6 days ago; expected more "
                           "than 90 days ago");
    CHECK_EQ_INT(eval(le, "{\"last_rotated\":\"2025-01-02T10:00:00+00:00\"}"), F);
    CHECK_EQ_STR(g_reason, "last_rotated is \"2025-01-02T10:00:00+00:00\", 328 days ago; expected "
                           "at most 90 days ago");
    CHECK_EQ_STR(g_evidence, "{\"last_rotated\":\"2025-01-02T10:00:00+00:00\"}");
    CHECK_EQ_INT(eval(gt, "{\"last_rotated\":\"2025-01-02\"}"), P);
    /* whole days, rounded down: 90 days and 23 hours is 90 days */
    CHECK_EQ_INT(eval(le, "{\"last_rotated\":\"2025-08-27T13:00:00Z\"}"), P);   /* 90d 23h */
    CHECK_EQ_INT(eval(gt, "{\"last_rotated\":\"2025-08-27T13:00:00Z\"}"), F);
    CHECK_EQ_INT(eval(le, "{\"last_rotated\":\"2025-08-27T12:00:00Z\"}"), F);   /* 91 days */
    CHECK_EQ_STR(g_reason, "last_rotated is \"2025-08-27T12:00:00Z\", 91 days ago; expected at "
                           "most 90 days ago");
    CHECK_EQ_INT(eval(gt, "{\"last_rotated\":\"2025-08-27T12:00:00Z\"}"), P);
    /* offsets and fractions */
    CHECK_EQ_INT(eval("{path: t, age_days_le: 0}", "{\"t\":\"2025-11-26T13:30:00.500+02:00\"}"), P);
    CHECK_EQ_INT(eval("{path: t, age_days_gt: 0}", "{\"t\":\"2025-11-25T12:00:00.000Z\"}"), P);
    CHECK_EQ_INT(eval("{path: t, age_days_gt: 0}", "{\"t\":\"2025-11-25T12:00:00.001Z\"}"), F);
    CHECK_EQ_STR(g_reason, "t is \"2025-11-25T12:00:00.001Z\", 0 days ago; expected more than 0 "
                           "days ago");
    /* the future */
    CHECK_EQ_INT(eval(le, "{\"last_rotated\":\"2025-11-29\"}"), P);
    CHECK_EQ_INT(eval(gt, "{\"last_rotated\":\"2025-11-29\"}"), F);
    CHECK_EQ_STR(g_reason, "last_rotated is \"2025-11-29\", 3 days in the future; expected more "
                           "than 90 days ago");
    /* no time: absent */
    static const char *none[] = { "{}", "{\"last_rotated\":null}", "{\"last_rotated\":\"N/A\"}",
                                  "{\"last_rotated\":\"no_information\"}",
                                  "{\"last_rotated\":\"not_supported\"}" };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        CHECK_EQ_INT(eval(le, none[i]), F);
        CHECK_EQ_INT(eval(gt, none[i]), F);
    }
    CHECK_EQ_INT(eval(le, "{\"last_rotated\":\"N/A\"}"), F);
    CHECK_EQ_STR(g_reason, "last_rotated is \"N/A\"; expected at most 90 days ago");
    /* which absent passes through any */
    CHECK_EQ_INT(eval("{any: [{path: t, in: [\"N/A\"]}, {path: t, age_days_le: 90}]}",
                      "{\"t\":\"N/A\"}"),
                 P);
    /* not a time: fails, saying so */
    static const char *bad[] = { "\"yesterday\"", "\"2025-13-01\"", "\"2025-11-26T25:00:00Z\"",
                                 "\"2025-11-26T10:00:00\"", "\"2025-11-26\\u0000x\"", "1764158400",
                                 "true", "[\"2025-01-01\"]", "\"\"", "\"2025-11-26T\"" };
    char doc[128];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(doc, sizeof(doc), "{\"last_rotated\":%s}", bad[i]);
        CHECK_EQ_INT(eval(le, doc), F);
        CHECK_EQ_INT(eval(gt, doc), F);
    }
    CHECK_EQ_INT(eval(le, "{\"last_rotated\":\"yesterday\"}"), F);
    CHECK_EQ_STR(g_reason, "last_rotated is \"yesterday\", not a time (RFC 3339 or YYYY-MM-DD); "
                           "expected at most 90 days ago");
    /* extreme clocks do not overflow */
    g_now = INT64_MAX;
    CHECK_EQ_INT(eval(gt, "{\"last_rotated\":\"0000-01-01\"}"), P);
    g_now = INT64_MIN;
    CHECK_EQ_INT(eval(le, "{\"last_rotated\":\"9999-12-31T23:59:59Z\"}"), P);
    /* quantified: credential report rows */
    g_now = at_time("2025-11-26T12:00:00Z");
    const char *report =
        "{\"users\":[{\"user\":\"alice\",\"access_key_1_active\":\"true\","
        "\"access_key_1_last_rotated\":\"2025-10-01T00:00:00+00:00\"},"
        "{\"user\":\"bob\",\"access_key_1_active\":\"false\",\"access_key_1_last_rotated\":\"N/A\"},"
        "{\"user\":\"carol\",\"name\":\"carol\",\"access_key_1_active\":\"true\","
        "\"access_key_1_last_rotated\":\"2025-01-02T10:00:00+00:00\"}]}";
    const char *c = "{all_of: users, where: {any: [{path: access_key_1_active, ne: \"true\"}, "
                    "{path: access_key_1_last_rotated, age_days_le: 90}]}}";
    CHECK_EQ_INT(eval(c, report), F);
    CHECK_EQ_STR(g_reason, "users[2] (name \"carol\"): access_key_1_active is \"true\"; expected "
                           "!= \"true\"; or access_key_1_last_rotated is "
                           "\"2025-01-02T10:00:00+00:00\", 328 days ago; expected at most 90 days "
                           "ago");
    g_now = 0;
}

VG_TEST(eval_time_injected)
{
    /* vg_rule_eval measures from the wall clock, vg_rule_eval_at from ctx */
    char err[512];
    struct vg_ruleset *rs = load_check("{path: t, age_days_le: 1}", err, sizeof(err));
    CHECK(rs != NULL);
    struct vg_resource *res = mkres("{}");
    char now[VG_TIME_RFC3339_LEN];
    vg_time_rfc3339(vg_time_now_ms(), now);
    vg_json_set_str(res->doc, "t", now);
    struct vg_eval_result out;
    CHECK_EQ_INT(vg_rule_eval(vg_ruleset_at(rs, 0), res, &out), VG_OK);
    CHECK_EQ_INT(out.evaluation, P);
    vg_eval_result_clear(&out);
    CHECK_EQ_INT(vg_rule_eval_at(vg_ruleset_at(rs, 0), res, NULL, &out), VG_OK);
    CHECK_EQ_INT(out.evaluation, P);
    vg_eval_result_clear(&out);
    struct vg_eval_ctx ctx = { .now_ms = vg_time_now_ms() + 3 * 86400000ll };
    CHECK_EQ_INT(vg_rule_eval_at(vg_ruleset_at(rs, 0), res, &ctx, &out), VG_OK);
    CHECK_EQ_INT(out.evaluation, F);
    CHECK_CONTAINS(out.reason, ", 3 days ago; expected at most 1 days ago");
    vg_eval_result_clear(&out);
    CHECK_EQ_INT(vg_rule_eval_at(NULL, res, &ctx, &out), VG_ERR_INVALID);
    CHECK_EQ_INT(vg_rule_eval_at(vg_ruleset_at(rs, 0), res, &ctx, NULL), VG_ERR_INVALID);
    vg_resource_destroy(res);
    vg_ruleset_destroy(rs);
}

VG_TEST(load_errors_age)
{
    LOAD_ERROR("{path: a, age_days_gt: -1}",
               "t.yml:9:33: 'age_days_gt' needs a whole number of days, 0 to 1000000, not -1");
    LOAD_ERROR("{path: a, age_days_le: 1.5}",
               "t.yml:9:33: 'age_days_le' needs a whole number of days, 0 to 1000000, not 1.5");
    LOAD_ERROR("{path: a, age_days_le: \"90\"}",
               "t.yml:9:33: 'age_days_le' needs a whole number of days, 0 to 1000000, not a "
               "string");
    LOAD_ERROR("{path: a, age_days_le: 1000001}",
               "t.yml:9:33: 'age_days_le' needs a whole number of days, 0 to 1000000, not "
               "1000001");
    LOAD_ERROR("{age_days_le: 1}", "t.yml:9:10: 'age_days_le' needs a path");
}

/* ---- count ------------------------------------------------------------------------------------------- */

VG_TEST(op_count)
{
    const char *c = "{count: users, where: {path: uid, eq: 0}, eq: 1}";
    CHECK_EQ_INT(eval(c, users), F);
    CHECK_EQ_STR(g_reason, "2 elements of users match uid == 0 (root, toor); expected exactly 1");
    CHECK_EQ_STR(g_evidence, "{\"users[*].uid\":[0,1000,1001,0]}");
    CHECK_EQ_INT(eval("{count: users, where: {path: uid, eq: 0}, eq: 2}", users), P);
    CHECK_EQ_INT(eval("{count: users, where: {path: uid, eq: 0}, ne: 2}", users), F);
    CHECK_EQ_STR(g_reason, "2 elements of users match uid == 0 (root, toor); expected other than 2");
    CHECK_EQ_INT(eval("{count: users, where: {path: uid, eq: 0}, lt: 2}", users), F);
    CHECK_EQ_STR(g_reason, "2 elements of users match uid == 0 (root, toor); expected fewer than 2");
    CHECK_EQ_INT(eval("{count: users, where: {path: uid, eq: 0}, le: 2}", users), P);
    CHECK_EQ_INT(eval("{count: users, where: {path: uid, eq: 0}, gt: 2}", users), F);
    CHECK_EQ_STR(g_reason, "2 elements of users match uid == 0 (root, toor); expected more than 2");
    CHECK_EQ_INT(eval("{count: users, where: {path: uid, eq: 0}, ge: 2}", users), P);
    CHECK_EQ_INT(eval("{count: users, where: {path: uid, gt: 5000}, ge: 1}", users), F);
    CHECK_EQ_STR(g_reason, "no element of users matches uid > 5000; expected at least 1");
    CHECK_EQ_INT(eval("{count: users, where: {path: name, eq: bob}, gt: 1}", users), F);
    CHECK_EQ_STR(g_reason, "1 element of users matches name == \"bob\" (bob); expected more than 1");
    /* without where: the length */
    CHECK_EQ_INT(eval("{count: users, le: 3}", users), F);
    CHECK_EQ_STR(g_reason, "users has 4 elements; expected at most 3");
    CHECK_EQ_INT(eval("{count: \"users[0].keys\", eq: 1}", users), P);
    CHECK_EQ_STR(g_evidence, "{\"users[0].keys\":[{\"age\":10}]}");
    /* absent is 0; not an array fails */
    CHECK_EQ_INT(eval("{count: users, eq: 0}", "{}"), P);
    CHECK_EQ_INT(eval("{count: users, ge: 1}", "{}"), F);
    CHECK_EQ_STR(g_reason, "users is absent; expected at least 1");
    CHECK_EQ_INT(eval("{count: users, eq: 0}", "{\"users\":[]}"), P);
    CHECK_EQ_INT(eval("{count: users, eq: 0}", "{\"users\":\"x\"}"), F);
    CHECK_EQ_STR(g_reason, "users is \"x\"; expected an array");
    /* labels: name, id, else the element; at most five */
    CHECK_EQ_INT(eval("{count: a, where: {path: v, eq: 1}, eq: 0}",
                      "{\"a\":[{\"v\":1,\"id\":7},{\"v\":1},{\"v\":2},{\"v\":1,\"name\":\"n\"}]}"),
                 F);
    CHECK_EQ_STR(g_reason, "3 elements of a match v == 1 (7, a[1], n); expected exactly 0");
    CHECK_EQ_INT(eval("{count: a, where: {path: \"@\", gt: 0}, lt: 3}", "{\"a\":[1,2,3,4,5,6,7]}"),
                 F);
    CHECK_EQ_STR(g_reason, "7 elements of a match @ > 0 (a[0], a[1], a[2], a[3], a[4], ...); "
                           "expected fewer than 3");
    /* elements of every array a [*] path reaches */
    CHECK_EQ_INT(eval("{count: \"users[*].keys\", where: {path: age, ge: 30}, eq: 2}", users), P);
    /* unknown */
    struct vg_resource *res = mkres(users);
    vg_resource_set_error(res, "users", "denied");
    CHECK_EQ_INT(eval_res(c, res), U);
    CHECK_EQ_STR(g_reason, "users could not be read: denied");
    vg_resource_destroy(res);
    /* not count quotes the count */
    CHECK_EQ_INT(eval("{not: {count: users, ge: 4}}", users), F);
    CHECK_EQ_STR(g_reason, "users has 4 elements; expected not: count(users) >= 4");
    /* the host rule, shorter: exactly one uid 0, and it is root */
    c = "{all: [{count: users, where: {path: uid, eq: 0}, eq: 1}, "
        "{none_of: users, where: {all: [{path: uid, eq: 0}, {path: name, ne: root}]}}]}";
    CHECK_EQ_INT(eval(c, users), F);
    CHECK_EQ_INT(eval(c, "{\"users\":[{\"name\":\"root\",\"uid\":0},{\"name\":\"a\",\"uid\":1}]}"),
                 P);
}

VG_TEST(load_errors_count)
{
    LOAD_ERROR("{count: a}", "t.yml:9:10: 'count' needs a comparison: one of eq, ne, lt, le, gt, ge");
    LOAD_ERROR("{count: a, where: {present: b}}",
               "t.yml:9:10: 'count' needs a comparison: one of eq, ne, lt, le, gt, ge");
    LOAD_ERROR("{count: a, in: [1]}",
               "t.yml:9:21: 'count' is compared with eq, ne, lt, le, gt or ge, not 'in'");
    LOAD_ERROR("{count: a, eq: 1, lt: 2}",
               "t.yml:9:28: a condition takes one operator, this one has 'eq' and 'lt'");
    LOAD_ERROR("{count: a, eq: -1}",
               "t.yml:9:25: 'count' is compared with a whole number, 0 or more, not -1");
    LOAD_ERROR("{count: a, eq: x}",
               "t.yml:9:25: 'count' is compared with a whole number, 0 or more, not a string");
    LOAD_ERROR("{count: a, eq: 1, path: b}", "t.yml:9:28: 'path' is not used with 'count'");
    LOAD_ERROR("{count: a, where: x, eq: 1}",
               "t.yml:9:28: 'where' needs a condition (a mapping), not a scalar");
    LOAD_ERROR("{count: \"a..b\", eq: 1}", "t.yml:9:18: malformed path 'a..b': empty segment");
}

/* ---- describe ---------------------------------------------------------------------------------------- */

static void expect_describe(const char *check, const char *want, int line)
{
    char err[512], desc[VG_MAX_REASON];
    struct vg_ruleset *rs = load_check(check, err, sizeof(err));
    vg_test_checks++;
    if (!rs) {
        VG_FAIL_AT("(line %d) %s: %s", line, check, err);
        return;
    }
    vg_cond_describe(vg_ruleset_at(rs, 0)->check, desc, sizeof(desc));
    if (strcmp(desc, want) != 0)
        VG_FAIL_AT("(line %d) describe\n    got:      %s\n    expected: %s", line, desc, want);
    vg_ruleset_destroy(rs);
}
#define DESCRIBE(check, want) expect_describe(check, want, __LINE__)

VG_TEST(describe_new_operators)
{
    DESCRIBE("{path: a, empty: true}", "a is empty");
    DESCRIBE("{path: a, empty: false}", "a is not empty");
    DESCRIBE("{path: a, contains: x}", "a contains \"x\"");
    DESCRIBE("{path: a, cidr_contains: [10.0.0.0/8, \"::/0\"]}", "a within [10.0.0.0/8, ::/0]");
    DESCRIBE("{path: a, cidr_overlaps: 0.0.0.0/0}", "a overlaps 0.0.0.0/0");
    DESCRIBE("{path: a, age_days_gt: 90}", "a older than 90 days");
    DESCRIBE("{path: a, age_days_le: 90}", "a at most 90 days old");
    DESCRIBE("{none: [{present: a}, {absent: b}]}", "not (a is present or b is absent)");
    DESCRIBE("{none_of: u, where: {path: uid, eq: 0}}", "no element of u: uid == 0");
    DESCRIBE("{count: u, where: {path: uid, eq: 0}, eq: 1}", "count(u where uid == 0) == 1");
    DESCRIBE("{count: u, le: 5}", "count(u) <= 5");
    DESCRIBE("{ports_overlap: {from: F, to: T, ports: [22, \"1-9\"]}}", "ports F..T overlap [22, 1-9]");
    DESCRIBE("{ports_within: {from: F, ports: [443]}}", "port F within [443]");
}

/* ---- parameters -------------------------------------------------------------------------------------- */

/* A rule with params; the check goes on line 10. */
static char *prule(const char *id, const char *params, const char *check)
{
    static char buf[4][2048];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof(buf[0]),
             "- id: %s\n  name: N\n  resource: test\n  severity: low\n  description: d\n"
             "  rationale: r\n  remediation: m\n  frameworks: {soc2: [CC6.1]}\n"
             "  params: %s\n  check: %s\n",
             id, params, check);
    return b;
}

static int eval_rule(const struct vg_rule *r, const char *doc)
{
    struct vg_resource *res = mkres(doc);
    struct vg_eval_result out;
    struct vg_eval_ctx ctx = { .now_ms = g_now };
    int rc = -2;
    g_reason[0] = '\0';
    if (res && vg_rule_eval_at(r, res, g_now ? &ctx : NULL, &out) == VG_OK) {
        rc = (int)out.evaluation;
        snprintf(g_reason, sizeof(g_reason), "%s", out.reason);
        vg_eval_result_clear(&out);
    }
    vg_resource_destroy(res);
    return rc;
}

static struct vg_json *jparams(const char *json)
{
    return parse(json);
}

VG_TEST(params_defaults)
{
    char err[1024];
    struct vg_ruleset *rs = vg_ruleset_new();
    CHECK_EQ_INT(load_text(rs, "p.yml",
                           prule("p.tries", "{max_auth_tries: 4}",
                                 "{path: MaxAuthTries, le: {param: max_auth_tries}}"),
                           err, sizeof(err)),
                 VG_OK);
    const struct vg_rule *r = vg_ruleset_find(rs, "p.tries");
    CHECK(r != NULL);
    if (!r) {
        vg_ruleset_destroy(rs);
        return;
    }
    char *d = dump(r->params);
    CHECK_EQ_STR(d, "{\"max_auth_tries\":4}");
    free(d);
    d = dump(r->param_defaults);
    CHECK_EQ_STR(d, "{\"max_auth_tries\":4}");
    free(d);
    CHECK_EQ_INT(eval_rule(r, "{\"MaxAuthTries\":4}"), P);
    CHECK_EQ_INT(eval_rule(r, "{\"MaxAuthTries\":5}"), F);
    CHECK_EQ_STR(g_reason, "MaxAuthTries is 5; expected <= 4");
    char desc[256];
    vg_cond_describe(r->check, desc, sizeof(desc));
    CHECK_EQ_STR(desc, "MaxAuthTries <= 4");
    /* every kind of operand */
    static const struct {
        const char *params, *check, *pass, *fail;
    } kinds[] = {
        { "{v: \"no\"}", "{path: a, eq: {param: v}}", "{\"a\":\"no\"}", "{\"a\":\"yes\"}" },
        { "{v: [a, b]}", "{path: a, in: {param: v}}", "{\"a\":\"b\"}", "{\"a\":\"c\"}" },
        { "{v: [a, b]}", "{path: a, not_in: {param: v}}", "{\"a\":\"c\"}", "{\"a\":\"b\"}" },
        { "{v: \"^x+$\"}", "{path: a, matches: {param: v}}", "{\"a\":\"xx\"}", "{\"a\":\"xy\"}" },
        { "{v: true}", "{path: a, empty: {param: v}}", "{\"a\":[]}", "{\"a\":[1]}" },
        { "{v: aes}", "{path: a, contains: {param: v}}", "{\"a\":\"aes1\"}", "{\"a\":\"b\"}" },
        { "{v: [10.0.0.0/8]}", "{path: a, cidr_contains: {param: v}}", "{\"a\":\"10.0.0.1\"}",
          "{\"a\":\"11.0.0.1\"}" },
        { "{v: 10.0.0.0/8}", "{path: a, cidr_overlaps: {param: v}}", "{\"a\":\"10.0.0.1\"}",
          "{\"a\":\"11.0.0.1\"}" },
        { "{v: 1}", "{path: a, age_days_le: {param: v}}", "{\"a\":\"2025-11-26\"}",
          "{\"a\":\"2025-11-01\"}" },
        { "{v: [22]}", "{ports_overlap: {from: f, ports: {param: v}}}", "{\"f\":22}",
          "{\"f\":23}" },
        { "{v: 1}", "{count: a, eq: {param: v}}", "{\"a\":[1]}", "{\"a\":[]}" },
        { "{v: 1, w: 2}", "{any: [{path: a, eq: {param: v}}, {path: a, eq: {param: w}}]}",
          "{\"a\":2}", "{\"a\":3}" },
        { "{v: 1}", "{all_of: a, where: {path: \"@\", eq: {param: v}}}", "{\"a\":[1]}",
          "{\"a\":[2]}" },
    };
    g_now = at_time("2025-11-26T12:00:00Z");
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct vg_ruleset *k = vg_ruleset_new();
        char id[32];
        snprintf(id, sizeof(id), "k.%zu", i);
        if (load_text(k, "k.yml", prule(id, kinds[i].params, kinds[i].check), err, sizeof(err))) {
            VG_FAIL_AT("%s: %s", kinds[i].check, err);
            vg_ruleset_destroy(k);
            continue;
        }
        CHECK_EQ_INT(eval_rule(vg_ruleset_at(k, 0), kinds[i].pass), P);
        CHECK_EQ_INT(eval_rule(vg_ruleset_at(k, 0), kinds[i].fail), F);
        vg_ruleset_destroy(k);
    }
    g_now = 0;
    vg_ruleset_destroy(rs);
}

VG_TEST(params_load_errors)
{
    char err[1024];
    static const struct {
        const char *params, *check, *msg;
    } cases[] = {
        { "{}", "{path: a, le: {param: nope}}",
          "p.yml:10:32: param 'nope' is not declared (declare it with a default under the rule's "
          "'params')" },
        { "{x: 1}", "{path: a, le: {param: nope}}",
          "p.yml:10:32: param 'nope' is not declared (declare it with a default under the rule's "
          "'params')" },
        { "{x: 1}", "{path: a, le: 4}",
          "p.yml:9:12: param 'x' is declared but the check does not use it" },
        { "{x: 1, y: 2}", "{path: a, le: {param: x}}",
          "p.yml:9:18: param 'y' is declared but the check does not use it" },
        { "{x: abc}", "{path: a, le: {param: x}}",
          "p.yml:10:24: 'le' needs a number, not a string (the default of param 'x')" },
        { "{x: \"(a\"}", "{path: a, matches: {param: x}}",
          "p.yml:10:29: bad regex '(a': Unmatched ( or \\( (the default of param 'x')" },
        { "{x: 10.0.0.1/8}", "{path: a, cidr_contains: {param: x}}",
          "p.yml:10:35: bad CIDR '10.0.0.1/8': host bits are set (the network is 10.0.0.0/8) "
          "(the default of param 'x')" },
        { "{x: }", "{path: a, le: {param: x}}",
          "p.yml:9:15: param 'x' needs a default value, not null" },
        { "{X: 1}", "{path: a, le: {param: X}}",
          "p.yml:9:12: param name 'X' must match ^[a-z][a-z0-9_]*$" },
        { "{1x: 1}", "{path: a, le: {param: 1x}}",
          "p.yml:9:12: param name '1x' must match ^[a-z][a-z0-9_]*$" },
        { "[x]", "{path: a, le: {param: x}}",
          "p.yml:9:11: 'params' must be a mapping of parameter name to default value, not a "
          "sequence" },
        { "{x: 1}", "{path: a, le: {param: [x]}}",
          "p.yml:10:32: 'param' needs a parameter name, not a sequence" },
        { "{x: 1}", "{path: a, le: {param: }}", "p.yml:10:32: 'param' needs a parameter name, not null" },
        { "{x: a}", "{path: a, in: [b, {param: x}]}",
          "p.yml:10:28: a {param: NAME} stands for a whole operand, not for a part of one" },
        { "{x: a}", "{path: a, eq: {k: {param: x}}}",
          "p.yml:10:28: a {param: NAME} stands for a whole operand, not for a part of one" },
        { "{x: 1}", "{path: {param: x}, eq: 1}",
          "p.yml:10:17: a path must be a scalar, not a mapping" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vg_ruleset *rs = vg_ruleset_new();
        CHECK_EQ_INT(load_text(rs, "p.yml", prule("p", cases[i].params, cases[i].check), err,
                               sizeof(err)),
                     VG_ERR_RULE);
        CHECK_EQ_STR(err, cases[i].msg);
        CHECK_EQ_INT(vg_ruleset_count(rs), 0);
        vg_ruleset_destroy(rs);
    }
    /* an empty params is no params */
    struct vg_ruleset *rs = vg_ruleset_new();
    CHECK_EQ_INT(load_text(rs, "p.yml", prule("p", "{}", "{present: a}"), err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(load_text(rs, "p.yml", prule("q", "", "{present: a}"), err, sizeof(err)), VG_OK);
    CHECK(vg_ruleset_at(rs, 0) && vg_ruleset_at(rs, 0)->params == NULL);
    vg_ruleset_destroy(rs);
}

VG_TEST(params_set)
{
    char err[1024];
    struct vg_ruleset *rs = vg_ruleset_new();
    char text[4096];
    snprintf(text, sizeof(text), "%s%s%s",
             prule("p.tries", "{max_auth_tries: 4}",
                   "{path: MaxAuthTries, le: {param: max_auth_tries}}"),
             prule("p.keys", "{max_key_age_days: 90, max_auth_tries: 6}",
                   "{all: [{path: k, age_days_le: {param: max_key_age_days}}, "
                   "{path: t, lt: {param: max_auth_tries}}]}"),
             prule("p.ciphers", "{weak: [3des-cbc]}", "{path: \"c[*]\", not_in: {param: weak}}"));
    CHECK_EQ_INT(load_text(rs, "p.yml", text, err, sizeof(err)), VG_OK);
    const struct vg_rule *tries = vg_ruleset_find(rs, "p.tries");
    const struct vg_rule *keys = vg_ruleset_find(rs, "p.keys");
    const struct vg_rule *ciphers = vg_ruleset_find(rs, "p.ciphers");
    CHECK(tries && keys && ciphers);
    if (!tries || !keys || !ciphers) {
        vg_ruleset_destroy(rs);
        return;
    }
    /* nothing set: defaults */
    CHECK_EQ_INT(vg_ruleset_set_params(rs, NULL, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(eval_rule(tries, "{\"MaxAuthTries\":5}"), F);

    /* a value for a param two rules declare goes to both */
    struct vg_json *p = jparams("{\"max_auth_tries\":5,\"max_key_age_days\":30}");
    CHECK_EQ_INT(vg_ruleset_set_params(rs, p, err, sizeof(err)), VG_OK);
    vg_json_free(p);
    CHECK_EQ_INT(eval_rule(tries, "{\"MaxAuthTries\":5}"), P);
    CHECK_EQ_INT(eval_rule(tries, "{\"MaxAuthTries\":6}"), F);
    CHECK_EQ_STR(g_reason, "MaxAuthTries is 6; expected <= 5");
    g_now = at_time("2025-11-26T00:00:00Z");
    CHECK_EQ_INT(eval_rule(keys, "{\"k\":\"2025-10-01\",\"t\":4}"), F);
    CHECK_EQ_STR(g_reason, "k is \"2025-10-01\", 56 days ago; expected at most 30 days ago");
    CHECK_EQ_INT(eval_rule(keys, "{\"k\":\"2025-11-01\",\"t\":5}"), F);
    CHECK_EQ_STR(g_reason, "t is 5; expected < 5");
    g_now = 0;
    char *d = dump(keys->params);
    CHECK_EQ_STR(d, "{\"max_key_age_days\":30,\"max_auth_tries\":5}");
    free(d);
    d = dump(keys->param_defaults);
    CHECK_EQ_STR(d, "{\"max_key_age_days\":90,\"max_auth_tries\":6}");
    free(d);

    /* a type that does not fit one use: an error, and nothing changes */
    p = jparams("{\"max_auth_tries\":\"five\",\"weak\":[\"arcfour\"]}");
    CHECK_EQ_INT(vg_ruleset_set_params(rs, p, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_EQ_STR(err, "rules.params.max_auth_tries: 'le' needs a number, not a string (rule "
                      "p.tries uses it at p.yml:10:35)");
    vg_json_free(p);
    CHECK_EQ_INT(eval_rule(tries, "{\"MaxAuthTries\":5}"), P);   /* still 5 */
    CHECK_EQ_INT(eval_rule(ciphers, "{\"c\":[\"3des-cbc\"]}"), F);   /* still the default */
    /* the failing rule is not the first: the ones before are rolled back */
    p = jparams("{\"weak\":[\"arcfour\"],\"max_key_age_days\":-3}");
    CHECK_EQ_INT(vg_ruleset_set_params(rs, p, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_EQ_STR(err, "rules.params.max_key_age_days: 'age_days_le' needs a whole number of days, "
                      "0 to 1000000, not -3 (rule p.keys uses it at p.yml:20:40)");
    vg_json_free(p);
    CHECK_EQ_INT(eval_rule(ciphers, "{\"c\":[\"3des-cbc\"]}"), F);
    CHECK_EQ_INT(eval_rule(ciphers, "{\"c\":[\"arcfour\"]}"), P);
    d = dump(ciphers->params);
    CHECK_EQ_STR(d, "{\"weak\":[\"3des-cbc\"]}");
    free(d);
    p = jparams("{\"weak\":null}");
    CHECK_EQ_INT(vg_ruleset_set_params(rs, p, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_EQ_STR(err, "rules.params.weak: 'not_in' needs a list, not null (rule p.ciphers uses it "
                      "at p.yml:30:33)");
    vg_json_free(p);

    /* names no rule declares, all named */
    p = jparams("{\"max_auth_tries\":3,\"max_auth_trys\":3,\"x\":1}");
    CHECK_EQ_INT(vg_ruleset_set_params(rs, p, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_EQ_STR(err, "rules.params: no rule declares params 'max_auth_trys', 'x' (declared: "
                      "'max_auth_tries', 'max_key_age_days', 'weak')");
    vg_json_free(p);
    CHECK_EQ_INT(eval_rule(tries, "{\"MaxAuthTries\":5}"), P);
    p = jparams("[1]");
    CHECK_EQ_INT(vg_ruleset_set_params(rs, p, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_EQ_STR(err, "rules.params: must be a mapping of parameter name to value, not a sequence");
    vg_json_free(p);

    /* a later set replaces the earlier one: unnamed params go back to defaults */
    p = jparams("{\"weak\":[\"arcfour\",\"3des-cbc\"]}");
    CHECK_EQ_INT(vg_ruleset_set_params(rs, p, err, sizeof(err)), VG_OK);
    vg_json_free(p);
    CHECK_EQ_INT(eval_rule(tries, "{\"MaxAuthTries\":5}"), F);
    CHECK_EQ_INT(eval_rule(ciphers, "{\"c\":[\"aes\",\"arcfour\"]}"), F);
    CHECK_EQ_STR(g_reason, "c[*] contains \"arcfour\"; expected none of [\"arcfour\", \"3des-cbc\"]");

    /* rules loaded afterwards take the values too */
    CHECK_EQ_INT(load_text(rs, "q.yml",
                           prule("q.ciphers", "{weak: [x]}", "{path: c, not_in: {param: weak}}"),
                           err, sizeof(err)),
                 VG_OK);
    CHECK_EQ_INT(eval_rule(vg_ruleset_find(rs, "q.ciphers"), "{\"c\":\"arcfour\"}"), F);
    /* and one it does not fit fails to load */
    CHECK_EQ_INT(load_text(rs, "q.yml",
                           prule("q.bad", "{weak: x}", "{path: c, matches: {param: weak}}"), err,
                           sizeof(err)),
                 VG_ERR_RULE);
    CHECK_EQ_STR(err, "q.yml:1:3: rules.params.weak: 'matches' needs a regular expression (a "
                      "string), not a sequence (rule q.bad uses it at q.yml:10:29)");
    CHECK(vg_ruleset_find(rs, "q.bad") == NULL);
    /* a set with no rules declares nothing */
    struct vg_ruleset *empty = vg_ruleset_new();
    p = jparams("{\"a\":1}");
    CHECK_EQ_INT(vg_ruleset_set_params(empty, p, err, sizeof(err)), VG_ERR_CONFIG);
    CHECK_EQ_STR(err, "rules.params: no rule declares param 'a' (declared: none)");
    vg_json_free(p);
    CHECK_EQ_INT(vg_ruleset_set_params(empty, NULL, NULL, 0), VG_OK);
    CHECK_EQ_INT(vg_ruleset_set_params(NULL, NULL, err, sizeof(err)), VG_ERR_INVALID);
    vg_ruleset_destroy(empty);
    vg_ruleset_destroy(rs);
}

/* ---- catalogues ----------------------------------------------------------------------------------------- */

static struct vg_catalog *shipped_catalog(void)
{
    char err[512];
    struct vg_catalog *cat = vg_catalog_new();
    if (vg_catalog_load_path(cat, VG_SOURCE_DATA_DIR "/frameworks", err, sizeof(err)) != VG_OK) {
        fprintf(stderr, "catalogue: %s\n", err);
        vg_catalog_destroy(cat);
        return NULL;
    }
    return cat;
}

static const char *fw_rule =
    "- id: f\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
    "  rationale: r\n  remediation: m\n"
    "  frameworks:\n"
    "    soc2: [CC6.1, CC9.9]\n"
    "  check: {present: a}\n";

VG_TEST(catalog_checks_controls)
{
    struct vg_catalog *cat = shipped_catalog();
    CHECK(cat != NULL);
    if (!cat)
        return;
    char err[1024];
    struct vg_ruleset *rs = vg_ruleset_new();
    vg_ruleset_set_catalog(rs, cat);
    CHECK_EQ_INT(load_text(rs, "f.yml", fw_rule, err, sizeof(err)), VG_ERR_RULE);
    CHECK_EQ_STR(err, "f.yml:9:19: soc2 control 'CC9.9' is not in the catalogue (SOC 2 Trust "
                      "Services Criteria)");
    CHECK_EQ_INT(vg_ruleset_count(rs), 0);
    /* ids compare exactly */
    char text[1024];
    snprintf(text, sizeof(text), "%s", fw_rule);
    memcpy(strstr(text, "CC9.9"), "cc6.1", 5);
    CHECK_EQ_INT(load_text(rs, "f.yml", text, err, sizeof(err)), VG_ERR_RULE);
    CHECK_EQ_STR(err, "f.yml:9:19: soc2 control 'cc6.1' is not in the catalogue (SOC 2 Trust "
                      "Services Criteria)");
    memcpy(strstr(text, "cc6.1"), "CC6.6", 5);
    CHECK_EQ_INT(load_text(rs, "f.yml", text, err, sizeof(err)), VG_OK);
    /* a number YAML would read as a float is a control id as written */
    snprintf(text, sizeof(text),
             "- id: g\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
             "  rationale: r\n  remediation: m\n"
             "  frameworks:\n"
             "    pci_dss_4.0: [\"2.2.6\", 8.3.1]\n    nist_800_53_r5: [AC-6, AC-99]\n"
             "  check: {present: a}\n");
    CHECK_EQ_INT(load_text(rs, "g.yml", text, err, sizeof(err)), VG_ERR_RULE);
    CHECK_EQ_STR(err, "g.yml:10:28: nist_800_53_r5 control 'AC-99' is not in the catalogue (NIST "
                      "SP 800-53 Rev. 5)");
    /* a framework the catalogue does not have */
    snprintf(text, sizeof(text), "%s", fw_rule);
    memcpy(strstr(text, "soc2"), "soc3", 4);
    text[6] = 'k';   /* another id: f is loaded */
    CHECK_EQ_INT(load_text(rs, "f.yml", text, err, sizeof(err)), VG_ERR_RULE);
    CHECK_EQ_STR(err, "f.yml:9:5: unknown framework 'soc3' (the catalogue has: cis_aws_3.0, "
                      "cis_debian_12, iso27001_2022, nist_800_53_r5, nist_csf_2.0, pci_dss_4.0, "
                      "soc2)");
    vg_ruleset_destroy(rs);

    /* without a catalogue: frameworks from vg_frameworks, controls unchecked */
    rs = vg_ruleset_new();
    CHECK_EQ_INT(load_text(rs, "f.yml", fw_rule, err, sizeof(err)), VG_OK);
    vg_ruleset_set_catalog(rs, cat);
    vg_ruleset_set_catalog(rs, NULL);
    snprintf(text, sizeof(text), "%s", fw_rule);
    text[6] = 'h';
    CHECK_EQ_INT(load_text(rs, "f.yml", text, err, sizeof(err)), VG_OK);
    vg_ruleset_destroy(rs);
    vg_ruleset_set_catalog(NULL, cat);
    vg_catalog_destroy(cat);
}

VG_TEST(catalog_other_frameworks)
{
    /* with a catalogue, its frameworks are the known ones, whatever vg_frameworks says */
    char dir[] = "/tmp/vg-rule-cat-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    write_file(dir, "own.yml",
               "id: own_baseline\nname: Our baseline\nversion: \"1\"\n"
               "controls:\n  - {id: OB-1, title: One}\n  - {id: \"7\", title: Seven}\n");
    char err[1024], path[1200];
    struct vg_catalog *cat = vg_catalog_new();
    CHECK_EQ_INT(vg_catalog_load_path(cat, dir, err, sizeof(err)), VG_OK);
    struct vg_ruleset *rs = vg_ruleset_new();
    vg_ruleset_set_catalog(rs, cat);
    const char *text = "- id: o\n  name: N\n  resource: r\n  severity: low\n  description: d\n"
                       "  rationale: r\n  remediation: m\n"
                       "  frameworks: {own_baseline: [OB-1, 7]}\n  check: {present: a}\n";
    CHECK_EQ_INT(load_text(rs, "o.yml", text, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(load_text(rs, "o.yml", fw_rule, err, sizeof(err)), VG_ERR_RULE);
    CHECK_EQ_STR(err, "o.yml:9:5: unknown framework 'soc2' (the catalogue has: own_baseline)");
    vg_ruleset_destroy(rs);
    /* and without it, own_baseline is unknown */
    rs = vg_ruleset_new();
    CHECK_EQ_INT(load_text(rs, "o.yml", text, err, sizeof(err)), VG_ERR_RULE);
    CHECK_CONTAINS(err, "o.yml:8:16: unknown framework 'own_baseline' (known: cis_debian_12");
    vg_ruleset_destroy(rs);
    vg_catalog_destroy(cat);
    snprintf(path, sizeof(path), "%s/own.yml", dir);
    unlink(path);
    rmdir(dir);
}

VG_TEST(shipped_rules_with_catalog)
{
    /* the shipped rules load the same with and without the catalogue */
    struct vg_catalog *cat = shipped_catalog();
    CHECK(cat != NULL);
    char err[1024];
    struct vg_ruleset *plain = vg_ruleset_new(), *checked = vg_ruleset_new();
    vg_ruleset_set_catalog(checked, cat);
    CHECK_EQ_INT(vg_ruleset_load_path(plain, VG_SOURCE_DATA_DIR "/rules/host.yml", err,
                                      sizeof(err)),
                 VG_OK);
    enum vg_err e = vg_ruleset_load_path(checked, VG_SOURCE_DATA_DIR "/rules/host.yml", err,
                                         sizeof(err));
    if (e)
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ_INT(e, VG_OK);
    CHECK(vg_ruleset_count(plain) >= 15);
    CHECK_EQ_INT(vg_ruleset_count(checked), vg_ruleset_count(plain));
    vg_ruleset_destroy(plain);
    vg_ruleset_destroy(checked);
    vg_catalog_destroy(cat);
}

/* ---- adversarial ------------------------------------------------------------------------------------------ */

VG_TEST(every_operator_against_every_type)
{
    static const char *ops[] = {
        "{path: %s, eq: 1}",        "{path: %s, ne: x}",        "{path: %s, lt: 1}",
        "{path: %s, le: 1.5}",      "{path: %s, gt: -1}",       "{path: %s, ge: 0}",
        "{path: %s, in: [1, x]}",   "{path: %s, not_in: [[]]}", "{path: %s, matches: \"^.*$\"}",
        "{present: %s}",            "{absent: %s}",
        "{all_of: %s, where: {path: \"@\", eq: 1}}",
        "{any_of: %s, where: {path: k, eq: 1}}",
        "{none_of: %s, where: {path: \"@\", eq: 1}}",
        "{count: %s, where: {path: k, eq: 1}, ge: 1}",
        "{count: %s, lt: 2}",
        "{path: %s, empty: true}", "{path: %s, empty: false}", "{path: %s, contains: x}",
        "{path: %s, contains: 1}",
        "{path: %s, cidr_contains: [10.0.0.0/8, \"::/0\"]}",
        "{path: %s, cidr_overlaps: 0.0.0.0/0}",
        "{path: %s, age_days_gt: 1}", "{path: %s, age_days_le: 0}",
        "{ports_overlap: {from: %s, to: w, ports: [22, \"0-10\"]}}",
        "{ports_within: {from: %s, ports: [443]}}",
        "{none: [{present: %s}]}",
    };
    static const char *paths[] = { "v", "v.k", "\"v[0]\"", "\"v[*]\"", "\"v[*].k[*]\"", "v.k.l.m" };
    static const char *values[] = {
        "null", "true", "false", "0", "-1.5e300", "\"\"", "\"12\"", "\"x\"", "[]", "{}",
        "[null,1,\"x\",[],{}]", "{\"k\":[1,{\"l\":null}]}", "\"\\u0000a\"", "1e400",
        "\"10.1.2.3\"", "\"::1/128\"", "\"2026-01-01\"", "\"2026-01-01\\u00002\"", "-1",
        "65536", "\"N/A\"", "\"1.5\"", "[\"10.0.0.0/8\",\"x\"]", "9223372036854775807",
    };
    char check[256], doc[256];
    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
        for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
            for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
                if (strstr(ops[o], "ports_") && strstr(paths[p], "[*]"))
                    continue;   /* a port path reads one value: a load error */
                snprintf(check, sizeof(check), ops[o], paths[p]);
                snprintf(doc, sizeof(doc), "{\"v\":%s}", values[v]);
                int r = eval(check, doc);
                vg_test_checks++;
                if (r < 0)
                    VG_FAIL_AT("%s on %s: %d", check, doc, r);
                else if ((r == P) != (g_reason[0] == '\0'))
                    VG_FAIL_AT("%s on %s: %s with reason '%s'", check, doc,
                               vg_eval_name((enum vg_eval)r), g_reason);
            }
}

VG_TEST(deep_documents_and_conditions)
{
    /* a document 300 levels deep, built by hand (a parsed one stops at 64) */
    struct vg_resource *res = vg_resource_new("test", "i", "n", "c", NULL);
    struct vg_json *deep = vg_json_str("bottom");
    for (int i = 0; i < 300; i++) {
        struct vg_json *o = i % 2 ? vg_json_object() : vg_json_array();
        if (i % 2)
            vg_json_set(o, "a", deep);
        else
            vg_json_push(o, deep);
        deep = o;
    }
    vg_json_set(res->doc, "d", deep);
    CHECK_EQ_INT(eval_res("{present: d}", res), P);
    CHECK_CONTAINS(g_evidence, "\"_truncated\":true");   /* too deep to write */
    CHECK_EQ_INT(eval_res("{path: d, eq: 1}", res), F);
    CHECK_EQ_INT(eval_res("{path: \"d.a[0].a[*].a[0]\", eq: 1}", res), F);
    CHECK_EQ_INT(eval_res("{all_of: d.a, where: {any_of: a, where: {present: a}}}", res), P);
    CHECK_EQ_INT(eval_res("{all_of: d, where: {present: a}}", res), F);
    CHECK(strncmp(g_reason, "d is {\"a\":[{\"a\":[", 16) == 0);
    CHECK_CONTAINS(g_reason, "{\"a\"...; expected an array");
    CHECK(strlen(g_reason) < 200);
    vg_resource_destroy(res);

    /* conditions nested as deep as YAML allows */
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    for (int i = 0; i < 60; i++)
        vg_buf_appends(&b, "{not: ");
    vg_buf_appends(&b, "{present: a}");
    for (int i = 0; i < 60; i++)
        vg_buf_appends(&b, "}");
    CHECK_EQ_INT(eval(vg_buf_str(&b), "{\"a\":1}"), P);
    /* 30 quantifiers, each over the elements of the one before */
    vg_buf_reset(&b);
    vg_buf_appends(&b, "{all_of: x, where: ");
    for (int i = 0; i < 29; i++)
        vg_buf_appends(&b, "{all_of: \"@\", where: ");
    vg_buf_appends(&b, "{path: \"@\", eq: 1}");
    for (int i = 0; i < 30; i++)
        vg_buf_appends(&b, "}");
    char doc[256] = "{\"x\":";
    for (int i = 0; i < 30; i++)
        strcat(doc, "[");
    strcat(doc, "1");
    for (int i = 0; i < 30; i++)
        strcat(doc, "]");
    strcat(doc, "}");
    CHECK_EQ_INT(eval(vg_buf_str(&b), doc), P);
    CHECK_CONTAINS(g_evidence, "\"x[*][*][*]");
    /* the same, every level a none_of whose element matches at the bottom:
     * each level names its element */
    vg_buf_reset(&b);
    vg_buf_appends(&b, "{none_of: x, where: ");
    for (int i = 0; i < 29; i++)
        vg_buf_appends(&b, "{any_of: \"@\", where: ");
    vg_buf_appends(&b, "{path: \"@\", eq: 1}");
    for (int i = 0; i < 30; i++)
        vg_buf_appends(&b, "}");
    CHECK_EQ_INT(eval(vg_buf_str(&b), doc), F);
    CHECK(strncmp(g_reason, "x[0]: @[0]: @[0]: ", 18) == 0);
    /* chains of not, asked for every kind of text: texts cost one
     * evaluation per level, not one per path through the chain */
    for (int kind = 0; kind < 3; kind++) {
        vg_buf_reset(&b);
        vg_buf_appends(&b, kind == 0   ? "{none_of: x, where: "
                           : kind == 1 ? "{any_of: x, where: {not: "
                                       : "{none: [");
        for (int i = 0; i < 28; i++)
            vg_buf_appends(&b, i % 3 ? "{not: " : "{all: [{not: {path: k, eq: 2}}, {not: ");
        vg_buf_appends(&b, "{path: k, eq: 1}");
        for (int i = 0; i < 28; i++)
            vg_buf_appends(&b, i % 3 ? "}" : "}]}");
        vg_buf_appends(&b, kind == 0 ? "}" : kind == 1 ? "}}" : "]}");
        int r = eval(vg_buf_str(&b), kind == 2 ? "{\"k\":1}" : "{\"x\":[{\"k\":1}]}");
        CHECK(r == P || r == F);
        CHECK(strlen(g_reason) < VG_MAX_REASON);
    }
    vg_buf_reset(&b);
    for (int i = 0; i < 80; i++)
        vg_buf_appends(&b, "{not: ");
    vg_buf_appends(&b, "{present: a}");
    for (int i = 0; i < 80; i++)
        vg_buf_appends(&b, "}");
    char err[512];
    struct vg_ruleset *rs = load_check(vg_buf_str(&b), err, sizeof(err));
    CHECK(rs == NULL);
    CHECK_CONTAINS(err, "nesting deeper than 64 levels");
    vg_ruleset_destroy(rs);
    vg_buf_free(&b);
}

VG_TEST(huge_arrays)
{
    struct vg_resource *res = vg_resource_new("test", "i", "n", "c", NULL);
    struct vg_json *arr = vg_json_array();
    for (int i = 0; i < 200000; i++) {
        struct vg_json *o = vg_json_object();
        vg_json_set_int(o, "uid", i + 1);
        vg_json_set(o, "k", vg_json_array());
        vg_json_push(arr, o);
    }
    vg_json_set(res->doc, "users", arr);
    CHECK_EQ_INT(eval_res("{all_of: users, where: {all: [{path: uid, gt: 0}, "
                          "{all_of: k, where: {present: x}}]}}",
                          res),
                 P);
    CHECK(g_evidence && strlen(g_evidence) <= VG_MAX_EVIDENCE);
    CHECK_EQ_INT(eval_res("{any_of: users, where: {path: uid, eq: 0}}", res), F);
    CHECK_EQ_INT(eval_res("{path: \"users[*].uid\", lt: 200000}", res), F);
    CHECK_EQ_STR(g_reason, "users[*].uid contains 200000; expected < 200000");
    vg_resource_destroy(res);
}

VG_TEST(eval_bad_arguments)
{
    struct vg_eval_result out;
    CHECK_EQ_INT(vg_rule_eval(NULL, NULL, &out), VG_ERR_INVALID);
    CHECK(out.evidence == NULL);
    vg_eval_result_clear(&out);
    vg_eval_result_clear(NULL);
}

VG_TEST_MAIN()
