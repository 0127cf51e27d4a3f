/* The rule engine: loading and validation (checks/rule.c), conditions,
 * evaluation, evidence and reasons (checks/cond.c). */
#include "vgtest.h"

#include "agent/buf.h"
#include "agent/hash.h"
#include "agent/json.h"
#include "agent/limits.h"
#include "checks/cond.h"
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
    enum vg_err e = vg_rule_eval(vg_ruleset_at(rs, 0), res, &out);
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
    CHECK_EQ_STR(g_reason, "expected not: X11Forwarding == \"no\"");
    /* not describes what it did not want */
    CHECK_EQ_INT(eval("{not: {all: [{present: a}, {any: [{path: b, in: [1]}, {absent: c}]}]}}",
                      "{\"a\":1,\"b\":1}"),
                 F);
    CHECK_EQ_STR(g_reason, "expected not: (a is present and (b in [1] or c is absent))");
    CHECK_EQ_INT(eval("{not: {any_of: u, where: {path: \"@\", matches: \"^x\"}}}",
                      "{\"u\":[\"xy\"]}"),
                 F);
    CHECK_EQ_STR(g_reason, "expected not: some element of u: @ matches /^x/");
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
    LOAD_ERROR("{path: a, eqq: 1}",
               "t.yml:9:20: unknown operator 'eqq' (known: eq, ne, lt, le, gt, ge, in, not_in, "
               "matches, present, absent, all, any, not, all_of, any_of)");
    LOAD_ERROR("{path: a}",
               "t.yml:9:10: a condition needs an operator (known: eq, ne, lt, le, gt, ge, in, "
               "not_in, matches, present, absent, all, any, not, all_of, any_of)");
    LOAD_ERROR("{}", "t.yml:9:10: a condition needs an operator (known: eq, ne, lt, le, gt, ge, "
                     "in, not_in, matches, present, absent, all, any, not, all_of, any_of)");
    LOAD_ERROR("{path: a, eq: 1, ne: 2}",
               "t.yml:9:27: a condition takes one operator, this one has 'eq' and 'ne'");
    LOAD_ERROR("{eq: 1}", "t.yml:9:10: 'eq' needs a path");
    LOAD_ERROR("{path: a, present: a}", "t.yml:9:11: 'path' is not used with 'present'");
    LOAD_ERROR("{path: a, eq: 1, where: {present: a}}",
               "t.yml:9:27: 'where' is only used with all_of and any_of");
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
    LOAD_ERROR("{path: a, \"e\\nq\": 1}",
               "t.yml:9:20: unknown operator 'e q' (known: eq, ne, lt, le, gt, ge, in, not_in, "
               "matches, present, absent, all, any, not, all_of, any_of)");
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
               "t.yml:9:32: unknown operator 'nope' (known: eq, ne, lt, le, gt, ge, in, not_in, "
               "matches, present, absent, all, any, not, all_of, any_of)");
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
                                 "remediation, references, frameworks, check)" },
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
    };
    static const char *paths[] = { "v", "v.k", "\"v[0]\"", "\"v[*]\"", "\"v[*].k[*]\"", "v.k.l.m" };
    static const char *values[] = {
        "null", "true", "false", "0", "-1.5e300", "\"\"", "\"12\"", "\"x\"", "[]", "{}",
        "[null,1,\"x\",[],{}]", "{\"k\":[1,{\"l\":null}]}", "\"\\u0000a\"", "1e400",
    };
    char check[256], doc[256];
    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
        for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
            for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
                snprintf(check, sizeof(check), ops[o], paths[p]);
                snprintf(doc, sizeof(doc), "{\"v\":%s}", values[v]);
                int r = eval(check, doc);
                vg_test_checks++;
                if (r < 0)
                    VG_FAIL_AT("%s on %s: %d", check, doc, r);
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
