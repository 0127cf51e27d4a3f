/* The mutelist (checks/exception.c): criteria, AND within an entry, OR
 * across entries, globs, tags, expiry, the per-scan expired report, the
 * unmatched listing, compile errors, and a measurement at 100k findings x
 * 1k exceptions. */
#include "vgtest.h"

#include "agent/json.h"
#include "agent/log.h"
#include "agent/timeutil.h"
#include "checks/exception.h"
#include "checks/resource.h"
#include "checks/rule.h"
#include "config/config.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <time.h>

/* ---- helpers ----------------------------------------------------------- */

/* One entry as text: lists are comma-separated, tags "k=v,k2=v2"; NULL or
 * "" is not given. */
struct spec {
    const char *rules, *resources, *accounts, *regions, *hosts, *tags;
    const char *reason, *owner, *expires;
};

static char **split(const char *s, size_t *n)
{
    *n = 0;
    if (!s || !*s)
        return NULL;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char **v = calloc(cap, sizeof(char *));
    const char *p = s;
    for (;;) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        v[(*n)++] = strndup(p, len);
        if (!q)
            break;
        p = q + 1;
    }
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void mk_entry(struct vg_config_exception *e, const struct spec *s)
{
    memset(e, 0, sizeof(*e));
    e->rules = split(s->rules, &e->nrules);
    e->resources = split(s->resources, &e->nresources);
    e->accounts = split(s->accounts, &e->naccounts);
    e->regions = split(s->regions, &e->nregions);
    e->hosts = split(s->hosts, &e->nhosts);
    size_t nt;
    char **t = split(s->tags, &nt);
    if (nt) {
        e->tags.keys = calloc(nt, sizeof(char *));
        e->tags.values = calloc(nt, sizeof(char *));
        for (size_t i = 0; i < nt; i++) {
            char *eq = strchr(t[i], '=');
            e->tags.keys[i] = strndup(t[i], (size_t)(eq - t[i]));
            e->tags.values[i] = strdup(eq + 1);
        }
        e->tags.n = nt;
    }
    free_list(t, nt);
    e->reason = s->reason ? strdup(s->reason) : strdup("accepted");
    e->owner = s->owner ? strdup(s->owner) : strdup("team-a");
    e->expires = s->expires ? strdup(s->expires) : strdup("2099-12-31");
}

static void free_entry(struct vg_config_exception *e)
{
    free_list(e->rules, e->nrules);
    free_list(e->resources, e->nresources);
    free_list(e->accounts, e->naccounts);
    free_list(e->regions, e->nregions);
    free_list(e->hosts, e->nhosts);
    free_list(e->tags.keys, e->tags.n);
    free_list(e->tags.values, e->tags.n);
    free(e->reason);
    free(e->owner);
    free(e->expires);
}

/* Compiles specs from heap copies that are freed before returning, so
 * every test also shows the set borrows nothing from the configuration. */
static struct vg_exceptions *compile(const struct spec *specs, size_t n, char *err, size_t errlen)
{
    struct vg_config_exception *ex = calloc(n ? n : 1, sizeof(*ex));
    for (size_t i = 0; i < n; i++)
        mk_entry(&ex[i], &specs[i]);
    err[0] = '\0';
    struct vg_exceptions *x = vg_exceptions_new(ex, n, err, errlen);
    for (size_t i = 0; i < n; i++)
        free_entry(&ex[i]);
    free(ex);
    return x;
}

static struct vg_exceptions *compile_ok(const struct spec *specs, size_t n)
{
    char err[512];
    struct vg_exceptions *x = compile(specs, n, err, sizeof(err));
    if (!x)
        VG_FAIL_AT("compile failed: %s", err);
    return x;
}

static struct vg_resource *mkres(const char *id, const char *account, const char *region,
                                 const char *tags_json)
{
    struct vg_resource *r = vg_resource_new("test", id, id, "configuration", NULL);
    if (account)
        r->account = strdup(account);
    if (region)
        r->region = strdup(region);
    if (tags_json) {
        char err[256];
        r->tags = vg_json_parse(tags_json, strlen(tags_json), err, sizeof(err));
        if (!r->tags)
            VG_FAIL_AT("bad tags JSON %s: %s", tags_json, err);
    }
    return r;
}

static int64_t at(const char *rfc3339)
{
    int64_t ms = 0;
    if (vg_time_parse(rfc3339, &ms) != 0)
        VG_FAIL_AT("bad time in test: %s", rfc3339);
    return ms;
}

#define NOW at("2026-01-15T12:00:00Z")

/* The index of the entry that mutes, or -1. */
static long long m(struct vg_exceptions *x, const char *rule, const struct vg_resource *r,
                   const struct vg_target_info *t, int64_t now)
{
    const struct vg_exception *e = vg_exceptions_match(x, rule, r, t, now);
    return e ? (long long)e->index : -1;
}

/* ---- criteria alone ---------------------------------------------------- */

VG_TEST(rules_alone_literal_and_glob)
{
    struct spec s[] = {
        { .rules = "host.sshd.permit_root_login" },
        { .rules = "aws.s3.*,aws.iam.root_?fa" },
        { .rules = "[xy].only" },
    };
    struct vg_exceptions *x = compile_ok(s, 3);
    struct vg_resource *r = mkres("/etc/ssh/sshd_config", NULL, NULL, NULL);
    CHECK_EQ_INT(m(x, "host.sshd.permit_root_login", r, NULL, NOW), 0);
    CHECK_EQ_INT(m(x, "host.sshd.permit_root_login2", r, NULL, NOW), -1);
    CHECK_EQ_INT(m(x, "host.sshd.permit_root", r, NULL, NOW), -1);
    CHECK_EQ_INT(m(x, "aws.s3.bucket_encryption", r, NULL, NOW), 1);
    CHECK_EQ_INT(m(x, "aws.s3.", r, NULL, NOW), 1);
    CHECK_EQ_INT(m(x, "aws.s3", r, NULL, NOW), -1);
    CHECK_EQ_INT(m(x, "aws.iam.root_mfa", r, NULL, NOW), 1);
    CHECK_EQ_INT(m(x, "aws.iam.root_mmfa", r, NULL, NOW), -1);
    CHECK_EQ_INT(m(x, "aws.ec2.open_ssh", r, NULL, NOW), -1);
    CHECK_EQ_INT(m(x, "x.only", r, NULL, NOW), 2);
    CHECK_EQ_INT(m(x, "z.only", r, NULL, NOW), -1);
    /* case counts */
    CHECK_EQ_INT(m(x, "AWS.s3.x", r, NULL, NOW), -1);
    /* asked twice: the cached rule bit set gives the same answers */
    CHECK_EQ_INT(m(x, "aws.s3.bucket_encryption", r, NULL, NOW), 1);
    CHECK_EQ_INT(m(x, "aws.ec2.open_ssh", r, NULL, NOW), -1);
    vg_resource_destroy(r);
    vg_exceptions_destroy(x);
}

/* The literal head and tail the matcher checks before fnmatch() must
 * never reject what fnmatch() accepts. */
VG_TEST(globs_agree_with_fnmatch)
{
    static const char *pats[] = { "a*", "*a", "a*a", "a*b*c", "*-logs", "[a*]", "[*]x",
                                  "a\\*b", "a\\*", "x*y?z", "*?", "?*", "a[bc]*d",
                                  "[!a]*", "*[", "a[", "**", "*", "a*?", "ab*ab", "*a*b",
                                  "a*b*", "*ab*ab*", "?", "??", "*?*?*", "*b", "b*a*",
                                  "a**b", "*\xc3\xa9*", "?\xa9", "*-x-*", "*?-x*" };
    static const char *strs[] = { "", "a", "aa", "ab", "abc", "a*b", "a-b-c", "x-logs",
                                  "-logs", "logs", "*", "*x", "]x", "xyz", "xyyzz", "xy1z",
                                  "abd", "acxd", "ad", "ba", "a[", "ab[", "abab", "aba",
                                  "/etc/x", "aab", "abb", "ba", "bab", "abaab", "ab ab",
                                  "a/b", "\xc3\xa9", "a-x-b", "-x-", "b-x", "\xc3\xa9-x" };
    size_t np = sizeof(pats) / sizeof(pats[0]), ns = sizeof(strs) / sizeof(strs[0]);
    /* as rules (rule cache path) and as resources (index, byte filter) */
    struct spec *s = calloc(np, sizeof(*s));
    struct vg_resource *r = mkres("a", NULL, NULL, NULL);
    for (int as_res = 0; as_res < 2; as_res++) {
        for (size_t i = 0; i < np; i++) {
            memset(&s[i], 0, sizeof(s[i]));
            if (as_res)
                s[i].resources = pats[i];
            else
                s[i].rules = pats[i];
            struct vg_exceptions *x = compile_ok(&s[i], 1);
            for (size_t j = 0; x && j < ns; j++) {
                bool want = fnmatch(pats[i], strs[j], 0) == 0;
                struct vg_resource *rj = as_res ? mkres(strs[j], NULL, NULL, NULL) : NULL;
                bool got = vg_exceptions_match(x, as_res ? "r" : strs[j], as_res ? rj : r, NULL,
                                               NOW) != NULL;
                vg_resource_destroy(rj);
                vg_test_checks++;
                if (want != got)
                    VG_FAIL_AT("%s pattern '%s' on '%s': %d, fnmatch says %d",
                               as_res ? "resource" : "rule", pats[i], strs[j], got, want);
            }
            vg_exceptions_destroy(x);
        }
    }
    vg_resource_destroy(r);
    free(s);
}

VG_TEST(resources_alone_literal_and_glob)
{
    struct spec s[] = {
        { .resources = "arn:aws:s3:::exact,arn:aws:s3:::other" },
        { .resources = "arn:aws:s3:::public-*" },
        { .resources = "/etc/*" },   /* no FNM_PATHNAME: * crosses / */
        { .resources = "/var/log/[a-c]*.log,/srv/x" },   /* mixed literal and glob */
    };
    struct vg_exceptions *x = compile_ok(s, 4);
    const char *ids[] = { "arn:aws:s3:::exact", "arn:aws:s3:::other", "arn:aws:s3:::public-site",
                          "arn:aws:s3:::exact2", "/etc/ssh/sshd_config", "/etc",
                          "/var/log/auth.log", "/var/log/dpkg.log", "/srv/x", "/srv/xy" };
    const long long want[] = { 0, 0, 1, -1, 2, -1, 3, -1, 3, -1 };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct vg_resource *r = mkres(ids[i], NULL, NULL, NULL);
        long long got = m(x, "any.rule", r, NULL, NOW);
        vg_test_checks++;
        if (got != want[i])
            VG_FAIL_AT("resource %s: entry %lld, expected %lld", ids[i], got, want[i]);
        vg_resource_destroy(r);
    }
    vg_exceptions_destroy(x);
}

VG_TEST(accounts_alone)
{
    struct spec s[] = { { .accounts = "111122223333,4444*" } };
    struct vg_exceptions *x = compile_ok(s, 1);
    struct vg_resource *a = mkres("b1", "111122223333", NULL, NULL);
    struct vg_resource *b = mkres("b2", "444455556666", NULL, NULL);
    struct vg_resource *c = mkres("b3", "999999999999", NULL, NULL);
    struct vg_resource *none = mkres("b4", NULL, NULL, NULL);
    CHECK_EQ_INT(m(x, "r", a, NULL, NOW), 0);
    CHECK_EQ_INT(m(x, "r", b, NULL, NOW), 0);
    CHECK_EQ_INT(m(x, "r", c, NULL, NOW), -1);
    CHECK_EQ_INT(m(x, "r", none, NULL, NOW), -1);   /* no account: no match */
    vg_resource_destroy(a);
    vg_resource_destroy(b);
    vg_resource_destroy(c);
    vg_resource_destroy(none);
    vg_exceptions_destroy(x);
}

VG_TEST(regions_alone)
{
    struct spec s[] = { { .regions = "eu-*" } };
    struct vg_exceptions *x = compile_ok(s, 1);
    struct vg_resource *a = mkres("b1", NULL, "eu-west-1", NULL);
    struct vg_resource *b = mkres("b2", NULL, "us-east-1", NULL);
    struct vg_resource *none = mkres("b3", NULL, NULL, NULL);
    CHECK_EQ_INT(m(x, "r", a, NULL, NOW), 0);
    CHECK_EQ_INT(m(x, "r", b, NULL, NOW), -1);
    CHECK_EQ_INT(m(x, "r", none, NULL, NOW), -1);
    vg_resource_destroy(a);
    vg_resource_destroy(b);
    vg_resource_destroy(none);
    vg_exceptions_destroy(x);
}

VG_TEST(hosts_alone)
{
    struct spec s[] = { { .hosts = "web-??.example.com,db1" } };
    struct vg_exceptions *x = compile_ok(s, 1);
    struct vg_resource *r = mkres("/etc/passwd", NULL, NULL, NULL);
    struct vg_target_info web = { .host_name = "web-01.example.com" };
    struct vg_target_info db = { .host_name = "db1" };
    struct vg_target_info other = { .host_name = "web-001.example.com" };
    struct vg_target_info unnamed = { 0 };
    CHECK_EQ_INT(m(x, "r", r, &web, NOW), 0);
    CHECK_EQ_INT(m(x, "r", r, &db, NOW), 0);
    CHECK_EQ_INT(m(x, "r", r, &other, NOW), -1);
    CHECK_EQ_INT(m(x, "r", r, &unnamed, NOW), -1);
    CHECK_EQ_INT(m(x, "r", r, NULL, NOW), -1);
    vg_resource_destroy(r);
    vg_exceptions_destroy(x);
}

VG_TEST(tags_alone)
{
    struct spec s[] = { { .tags = "env=prod,team=web" } };
    struct vg_exceptions *x = compile_ok(s, 1);
    struct {
        const char *tags;
        long long want;
    } cases[] = {
        { "{\"env\":\"prod\",\"team\":\"web\"}", 0 },
        { "{\"team\":\"web\",\"env\":\"prod\",\"extra\":\"x\"}", 0 },   /* extra tags fine */
        { "{\"env\":\"prod\"}", -1 },                     /* a key missing */
        { "{\"env\":\"prod\",\"team\":\"webx\"}", -1 },   /* a value differs */
        { "{\"env\":\"Prod\",\"team\":\"web\"}", -1 },    /* case counts */
        { "{\"env\":\"prod\",\"team\":\"w*\"}", -1 },     /* values are not globs */
        { "{\"env\":\"prod\",\"team\":7}", -1 },          /* not a string */
        { "{\"env\":\"prod\",\"team\":null}", -1 },
        { "{\"env\":\"prod\",\"team\":\"web\\u0000x\"}", -1 },   /* NUL inside */
        { "[\"env\",\"prod\"]", -1 },                     /* not an object */
        { "{}", -1 },
        { NULL, -1 },                                     /* no tags at all */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vg_resource *r = mkres("b", NULL, NULL, cases[i].tags);
        long long got = m(x, "r", r, NULL, NOW);
        vg_test_checks++;
        if (got != cases[i].want)
            VG_FAIL_AT("tags %s: entry %lld, expected %lld",
                       cases[i].tags ? cases[i].tags : "(none)", got, cases[i].want);
        vg_resource_destroy(r);
    }
    vg_exceptions_destroy(x);
}

/* ---- combining -------------------------------------------------------- */

VG_TEST(and_within_an_entry)
{
    struct spec s[] = { { .rules = "aws.s3.*", .resources = "arn:aws:s3:::logs",
                          .accounts = "1111", .regions = "eu-west-1", .hosts = "scanner",
                          .tags = "env=prod" } };
    struct vg_exceptions *x = compile_ok(s, 1);
    struct vg_target_info t = { .host_name = "scanner" };
    struct vg_target_info t2 = { .host_name = "other" };
    struct vg_resource *all = mkres("arn:aws:s3:::logs", "1111", "eu-west-1", "{\"env\":\"prod\"}");
    CHECK_EQ_INT(m(x, "aws.s3.enc", all, &t, NOW), 0);
    /* each criterion failing alone makes the entry miss */
    CHECK_EQ_INT(m(x, "aws.ec2.enc", all, &t, NOW), -1);
    CHECK_EQ_INT(m(x, "aws.s3.enc", all, &t2, NOW), -1);
    struct vg_resource *bad[] = {
        mkres("arn:aws:s3:::logs2", "1111", "eu-west-1", "{\"env\":\"prod\"}"),
        mkres("arn:aws:s3:::logs", "2222", "eu-west-1", "{\"env\":\"prod\"}"),
        mkres("arn:aws:s3:::logs", "1111", "eu-west-2", "{\"env\":\"prod\"}"),
        mkres("arn:aws:s3:::logs", "1111", "eu-west-1", "{\"env\":\"dev\"}"),
        mkres("arn:aws:s3:::logs", NULL, "eu-west-1", "{\"env\":\"prod\"}"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vg_test_checks++;
        if (m(x, "aws.s3.enc", bad[i], &t, NOW) != -1)
            VG_FAIL_AT("variant %zu muted though one criterion differs", i);
        vg_resource_destroy(bad[i]);
    }
    vg_resource_destroy(all);
    vg_exceptions_destroy(x);
}

VG_TEST(or_across_entries_first_in_order_wins)
{
    /* entry 0 is checked through the rule path, entry 1 through the
     * resource index, entry 2 again the rule path: the order of the file
     * decides, not the index that found them */
    struct spec s[] = {
        { .rules = "r.a", .hosts = "h1", .reason = "zero" },
        { .resources = "res-1", .reason = "one" },
        { .rules = "r.*", .reason = "two" },
    };
    struct vg_exceptions *x = compile_ok(s, 3);
    struct vg_resource *r1 = mkres("res-1", NULL, NULL, NULL);
    struct vg_resource *r2 = mkres("res-2", NULL, NULL, NULL);
    struct vg_target_info h1 = { .host_name = "h1" };
    struct vg_target_info h2 = { .host_name = "h2" };
    CHECK_EQ_INT(m(x, "r.a", r1, &h1, NOW), 0);
    CHECK_EQ_INT(m(x, "r.a", r1, &h2, NOW), 1);
    CHECK_EQ_INT(m(x, "r.a", r2, &h2, NOW), 2);
    CHECK_EQ_INT(m(x, "q.a", r1, &h1, NOW), 1);
    CHECK_EQ_INT(m(x, "q.a", r2, &h1, NOW), -1);
    const struct vg_exception *e = vg_exceptions_match(x, "r.a", r2, &h2, NOW);
    CHECK(e != NULL);
    if (e) {
        CHECK_EQ_STR(e->reason, "two");
        CHECK_EQ_STR(e->owner, "team-a");
        CHECK_EQ_STR(e->expires, "2099-12-31");
    }
    /* the counters say who muted what */
    CHECK_EQ_INT(vg_exceptions_at(x, 0)->muted, 1);
    CHECK_EQ_INT(vg_exceptions_at(x, 1)->muted, 2);
    CHECK_EQ_INT(vg_exceptions_at(x, 2)->muted, 2);
    vg_exceptions_reset(x);
    CHECK_EQ_INT(vg_exceptions_at(x, 2)->muted, 0);
    vg_resource_destroy(r1);
    vg_resource_destroy(r2);
    vg_exceptions_destroy(x);
}

VG_TEST(empty_set_and_null_set)
{
    char err[256];
    struct vg_exceptions *x = vg_exceptions_new(NULL, 0, err, sizeof(err));
    CHECK(x != NULL);
    struct vg_resource *r = mkres("a", NULL, NULL, NULL);
    CHECK_EQ_INT(m(x, "r", r, NULL, NOW), -1);
    CHECK_EQ_INT(vg_exceptions_count(x), 0);
    CHECK_EQ_INT(vg_exceptions_expired(x, NOW, NULL, 0), 0);
    CHECK_EQ_INT(vg_exceptions_log_expired(x, NOW), 0);
    CHECK_EQ_INT(vg_exceptions_unmatched(x, NULL, NULL, 0), 0);
    vg_exceptions_destroy(x);
    /* a NULL set mutes nothing and reports nothing */
    CHECK(vg_exceptions_match(NULL, "r", r, NULL, NOW) == NULL);
    CHECK_EQ_INT(vg_exceptions_count(NULL), 0);
    vg_exceptions_reset(NULL);
    CHECK_EQ_INT(vg_exceptions_log_expired(NULL, NOW), 0);
    vg_exceptions_destroy(NULL);
    vg_resource_destroy(r);
}

/* ---- expiry ----------------------------------------------------------- */

VG_TEST(expiry_date_is_the_end_of_that_day_utc)
{
    struct spec s[] = { { .rules = "r", .expires = "2026-06-30" } };
    struct vg_exceptions *x = compile_ok(s, 1);
    struct vg_resource *r = mkres("a", NULL, NULL, NULL);
    CHECK_EQ_INT(m(x, "r", r, NULL, at("2025-01-01T00:00:00Z")), 0);
    CHECK_EQ_INT(m(x, "r", r, NULL, at("2026-06-30T00:00:00Z")), 0);
    CHECK_EQ_INT(m(x, "r", r, NULL, at("2026-06-30T23:59:59.999Z")), 0);
    CHECK_EQ_INT(m(x, "r", r, NULL, at("2026-07-01T00:00:00Z")), -1);
    CHECK_EQ_INT(m(x, "r", r, NULL, at("2027-01-01T00:00:00Z")), -1);
    CHECK_EQ_INT(vg_exceptions_at(x, 0)->expires_ms, at("2026-07-01T00:00:00Z"));
    vg_resource_destroy(r);
    vg_exceptions_destroy(x);
}

VG_TEST(expiry_rfc3339_is_that_instant)
{
    struct spec s[] = {
        { .rules = "r", .expires = "2026-06-30T12:00:00Z" },
        { .rules = "q", .expires = "2026-06-30T12:00:00+02:00" },
        { .rules = "p", .expires = "2026-06-30T12:00:00.250Z" },
    };
    struct vg_exceptions *x = compile_ok(s, 3);
    struct vg_resource *r = mkres("a", NULL, NULL, NULL);
    CHECK_EQ_INT(m(x, "r", r, NULL, at("2026-06-30T12:00:00Z")), 0);
    CHECK_EQ_INT(m(x, "r", r, NULL, at("2026-06-30T12:00:00.001Z")), -1);
    CHECK_EQ_INT(m(x, "q", r, NULL, at("2026-06-30T10:00:00Z")), 1);
    CHECK_EQ_INT(m(x, "q", r, NULL, at("2026-06-30T10:00:00.001Z")), -1);
    CHECK_EQ_INT(m(x, "p", r, NULL, at("2026-06-30T12:00:00.250Z")), 2);
    CHECK_EQ_INT(m(x, "p", r, NULL, at("2026-06-30T12:00:00.251Z")), -1);
    vg_resource_destroy(r);
    vg_exceptions_destroy(x);
}

VG_TEST(expired_entry_lets_a_later_one_mute)
{
    struct spec s[] = {
        { .rules = "r", .reason = "old", .expires = "2020-01-01" },
        { .rules = "r", .reason = "new", .expires = "2099-01-01" },
    };
    struct vg_exceptions *x = compile_ok(s, 2);
    struct vg_resource *r = mkres("a", NULL, NULL, NULL);
    CHECK_EQ_INT(m(x, "r", r, NULL, at("2019-06-01T00:00:00Z")), 0);
    CHECK_EQ_INT(m(x, "r", r, NULL, NOW), 1);
    vg_resource_destroy(r);
    vg_exceptions_destroy(x);
}

struct captured {
    int count;
    char lines[8][600];
    enum vg_log_level level[8];
    char area[8][32];
};

static void capture(enum vg_log_level level, const char *area, const char *line, void *opaque)
{
    struct captured *c = opaque;
    if (c->count < 8) {
        snprintf(c->lines[c->count], sizeof(c->lines[0]), "%s", line);
        snprintf(c->area[c->count], sizeof(c->area[0]), "%s", area);
        c->level[c->count] = level;
    }
    c->count++;
}

VG_TEST(expired_report_once_per_scan_with_counts)
{
    struct spec s[] = {
        { .rules = "r.*", .owner = "platform-team", .reason = "legacy bucket",
          .expires = "2026-06-30" },
        { .rules = "r.a", .reason = "live", .expires = "2099-01-01" },
        { .rules = "nothing.matches", .owner = "sec", .reason = "stale",
          .expires = "2025-12-31T08:00:00Z" },
        { .resources = "res-1", .owner = "ops", .reason = "old resource",
          .expires = "2026-01-01" },
    };
    struct vg_exceptions *x = compile_ok(s, 4);
    struct vg_resource *r1 = mkres("res-1", NULL, NULL, NULL);
    struct vg_resource *r2 = mkres("res-2", NULL, NULL, NULL);
    int64_t now = at("2026-07-02T09:00:00Z");

    vg_exceptions_reset(x);
    /* entry 1 mutes; entry 0 (expired) would have matched: counted even
     * though a live entry muted the finding */
    CHECK_EQ_INT(m(x, "r.a", r1, NULL, now), 1);
    CHECK_EQ_INT(m(x, "r.a", r2, NULL, now), 1);
    CHECK_EQ_INT(m(x, "r.b", r2, NULL, now), -1);
    CHECK_EQ_INT(m(x, "r.c", r2, NULL, now), -1);
    CHECK_EQ_INT(m(x, "q.a", r2, NULL, now), -1);
    CHECK_EQ_INT(vg_exceptions_at(x, 0)->expired_hits, 4);
    CHECK_EQ_INT(vg_exceptions_at(x, 0)->muted, 0);
    CHECK_EQ_INT(vg_exceptions_at(x, 1)->muted, 2);
    CHECK_EQ_INT(vg_exceptions_at(x, 2)->expired_hits, 0);
    CHECK_EQ_INT(vg_exceptions_at(x, 3)->expired_hits, 1);

    size_t idx[8];
    CHECK_EQ_INT(vg_exceptions_expired(x, now, idx, 8), 3);
    CHECK_EQ_INT(idx[0], 0);
    CHECK_EQ_INT(idx[1], 2);
    CHECK_EQ_INT(idx[2], 3);
    CHECK_EQ_INT(vg_exceptions_expired(x, now, idx, 1), 3);   /* total beyond max */
    CHECK_EQ_INT(vg_exceptions_expired(x, at("2025-01-01T00:00:00Z"), NULL, 0), 0);

    struct captured cap = { 0 };
    vg_log_set_sink(capture, &cap);
    size_t logged = vg_exceptions_log_expired(x, now);
    vg_log_set_sink(NULL, NULL);
    CHECK_EQ_INT(logged, 3);
    CHECK_EQ_INT(cap.count, 3);
    CHECK_EQ_STR(cap.lines[0], "exceptions[0] (owner platform-team, reason 'legacy bucket') "
                               "expired on 2026-06-30 and no longer mutes: it matched 4 "
                               "findings in this scan");
    CHECK_EQ_STR(cap.lines[1], "exceptions[2] (owner sec, reason 'stale') expired on "
                               "2025-12-31T08:00:00Z and no longer mutes: it matched 0 "
                               "findings in this scan");
    CHECK_EQ_STR(cap.lines[2], "exceptions[3] (owner ops, reason 'old resource') expired on "
                               "2026-01-01 and no longer mutes: it matched 1 finding in this "
                               "scan");
    CHECK_EQ_INT(cap.level[0], VG_LOG_WARN);
    CHECK_EQ_STR(cap.area[0], "exceptions");

    /* the next scan starts from zero and reports again, once */
    vg_exceptions_reset(x);
    CHECK_EQ_INT(vg_exceptions_at(x, 0)->expired_hits, 0);
    CHECK_EQ_INT(m(x, "r.z", r2, NULL, now), -1);
    memset(&cap, 0, sizeof(cap));
    vg_log_set_sink(capture, &cap);
    vg_exceptions_log_expired(x, now);
    vg_log_set_sink(NULL, NULL);
    CHECK_EQ_INT(cap.count, 3);
    CHECK_CONTAINS(cap.lines[0], "it matched 1 finding in this scan");
    CHECK_CONTAINS(cap.lines[2], "it matched 0 findings in this scan");

    /* before any expiry nothing is logged */
    memset(&cap, 0, sizeof(cap));
    vg_log_set_sink(capture, &cap);
    CHECK_EQ_INT(vg_exceptions_log_expired(x, at("2025-06-01T00:00:00Z")), 0);
    vg_log_set_sink(NULL, NULL);
    CHECK_EQ_INT(cap.count, 0);

    vg_resource_destroy(r1);
    vg_resource_destroy(r2);
    vg_exceptions_destroy(x);
}

VG_TEST(expired_message_is_one_clean_bounded_line)
{
    char reason[400];
    memset(reason, 'x', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    memcpy(reason, "line1\nline2\t", 12);
    struct spec s[] = { { .rules = "r", .owner = "a\rb", .reason = reason,
                          .expires = "2020-01-01" } };
    struct vg_exceptions *x = compile_ok(s, 1);
    char buf[512];
    vg_exceptions_expired_message(vg_exceptions_at(x, 0), buf, sizeof(buf));
    CHECK(strchr(buf, '\n') == NULL);
    CHECK(strchr(buf, '\r') == NULL);
    CHECK(strchr(buf, '\t') == NULL);
    CHECK_CONTAINS(buf, "(owner a b, reason 'line1 line2 xxx");
    CHECK_CONTAINS(buf, "xxx...') expired on 2020-01-01 and no longer mutes");
    /* 160 bytes of the reason are shown */
    const char *q = strstr(buf, "reason '") + 8;
    const char *end = strstr(q, "...'");
    CHECK(end != NULL);
    if (end)
        CHECK_EQ_INT(end - q, 160);
    /* small buffers: cut, terminated, no overflow (ASan watches) */
    for (size_t len = 1; len < 40; len++) {
        char *small = malloc(len);
        vg_exceptions_expired_message(vg_exceptions_at(x, 0), small, len);
        CHECK_EQ_INT(strlen(small), len - 1);
        free(small);
    }
    vg_exceptions_expired_message(vg_exceptions_at(x, 0), buf, 0);   /* no write */
    vg_exceptions_destroy(x);

    /* a cut never splits a UTF-8 sequence: byte 160 is inside an e-acute */
    char u[200];
    memset(u, 'y', sizeof(u) - 1);
    u[sizeof(u) - 1] = '\0';
    u[159] = (char)0xc3;
    u[160] = (char)0xa9;
    struct spec su[] = { { .rules = "r", .reason = u, .expires = "2020-01-01" } };
    x = compile_ok(su, 1);
    vg_exceptions_expired_message(vg_exceptions_at(x, 0), buf, sizeof(buf));
    q = strstr(buf, "reason '") + 8;
    end = strstr(q, "...'");
    CHECK(end != NULL);
    if (end)
        CHECK_EQ_INT(end - q, 159);
    vg_exceptions_destroy(x);
}

/* ---- compile errors --------------------------------------------------- */

static void expect_error(const struct spec *s, size_t n, const char *msg, int line)
{
    char err[512];
    struct vg_exceptions *x = compile(s, n, err, sizeof(err));
    vg_test_checks++;
    if (x) {
        VG_FAIL_AT("(line %d) compiled, expected: %s", line, msg);
        vg_exceptions_destroy(x);
        return;
    }
    if (strcmp(err, msg) != 0)
        VG_FAIL_AT("(line %d) error\n    got:      %s\n    expected: %s", line, err, msg);
}
#define EXPECT_ERROR(s, n, msg) expect_error(s, n, msg, __LINE__)

VG_TEST(invalid_expiry_names_the_entry)
{
    const char *bad[] = { "2027-13-01", "2027-00-10", "2027-02-29", "2027-04-31", "2027-01-32",
                          "2027-01-00", "tomorrow", "", "2027-1-01", "2027-01-01T25:00:00Z",
                          "2027-01-01T10:00:00", "2027-01-01T10:00:00Zjunk", "2027-01-01 ",
                          "20270101", "2027-02-30T00:00:00Z" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct spec s[] = { { .rules = "a" }, { .rules = "b" }, { .rules = "c", .expires = bad[i] } };
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "exceptions[2].expires: '%s' is not a date (YYYY-MM-DD) or an RFC 3339 time",
                 bad[i]);
        EXPECT_ERROR(s, 3, msg);
    }
    /* leap days that exist */
    const char *good[] = { "2028-02-29", "2000-02-29", "2027-12-31", "2027-01-01T00:00:00.5Z",
                           "2027-01-01t10:00:00z", "2027-01-01 10:00:00-05:30" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct spec s[] = { { .rules = "a", .expires = good[i] } };
        char err[512];
        struct vg_exceptions *x = compile(s, 1, err, sizeof(err));
        vg_test_checks++;
        if (!x)
            VG_FAIL_AT("'%s' refused: %s", good[i], err);
        vg_exceptions_destroy(x);
    }
    struct spec c1900[] = { { .rules = "a", .expires = "1900-02-29" } };
    EXPECT_ERROR(c1900, 1,
                 "exceptions[0].expires: '1900-02-29' is not a date (YYYY-MM-DD) or an RFC 3339 time");
    /* a very long value is quoted cut, the error stays one short line */
    char longv[300];
    memset(longv, '9', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    struct spec sl[] = { { .rules = "a", .expires = longv } };
    char err[512];
    CHECK(compile(sl, 1, err, sizeof(err)) == NULL);
    CHECK(strlen(err) < 160);
}

VG_TEST(entry_without_criteria_is_refused)
{
    struct spec s[] = { { .rules = "a" }, { .reason = "everything" } };
    EXPECT_ERROR(s, 2,
                 "exceptions[1]: matches every finding: give at least one of rules, resources, "
                 "accounts, regions, hosts, tags");
    /* empty lists count as not given */
    struct vg_config_exception e;
    struct spec one = { .rules = "a" };
    mk_entry(&e, &one);
    free_list(e.rules, e.nrules);
    e.rules = calloc(1, sizeof(char *));
    e.nrules = 0;
    char err[512];
    CHECK(vg_exceptions_new(&e, 1, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "exceptions[0]: matches every finding");
    free_entry(&e);
    /* tags alone are a criterion */
    struct spec t[] = { { .tags = "env=dev" } };
    struct vg_exceptions *x = compile_ok(t, 1);
    vg_exceptions_destroy(x);
}

VG_TEST(reason_owner_expires_required)
{
    struct vg_config_exception e;
    struct spec one = { .rules = "a" };
    char err[512];

    mk_entry(&e, &one);
    free(e.reason);
    e.reason = NULL;
    CHECK(vg_exceptions_new(&e, 1, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "exceptions[0].reason: missing");
    e.reason = strdup(" \t ");
    CHECK(vg_exceptions_new(&e, 1, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "exceptions[0].reason: missing");
    free(e.owner);
    e.owner = strdup("");
    free(e.reason);
    e.reason = strdup("ok");
    CHECK(vg_exceptions_new(&e, 1, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "exceptions[0].owner: missing");
    free(e.owner);
    e.owner = strdup("me");
    free(e.expires);
    e.expires = NULL;
    CHECK(vg_exceptions_new(&e, 1, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "exceptions[0].expires: missing");
    free_entry(&e);
}

/* ---- unmatched -------------------------------------------------------- */

#define RULE(id, res)                                                          \
    "- id: " id "\n"                                                           \
    "  name: T\n"                                                              \
    "  resource: " res "\n"                                                    \
    "  severity: high\n"                                                       \
    "  description: d\n"                                                       \
    "  rationale: r\n"                                                         \
    "  remediation: m\n"                                                       \
    "  frameworks: {soc2: [CC6.1]}\n"                                          \
    "  check: {present: x}\n"     

VG_TEST(unmatched_lists_entries_whose_rules_match_no_rule)
{
    const char *text = RULE("host.sshd.permit_root_login", "host.sshd")
        RULE("host.sshd.x11_forwarding", "host.sshd") RULE("host.accounts.uid0", "host.accounts");
    struct vg_ruleset *rs = vg_ruleset_new();
    char err[512];
    enum vg_err e = vg_ruleset_load_string(rs, "t.yml", text, strlen(text), err, sizeof(err));
    CHECK_EQ_INT(e, VG_OK);
    if (e)
        fprintf(stderr, "rule load: %s\n", err);
    CHECK_EQ_INT(vg_ruleset_count(rs), 3);

    struct spec s[] = {
        { .rules = "host.sshd.permit_root_login" },        /* 0 matches */
        { .rules = "host.sshd.permit_root_logn" },         /* 1 typo */
        { .rules = "host.sshd.*" },                        /* 2 matches */
        { .rules = "aws.*,host.nope" },                    /* 3 none */
        { .resources = "anything" },                       /* 4 no rules: never listed */
        { .rules = "aws.s3.x,host.accounts.uid?" },        /* 5 one of two matches */
        { .rules = "Host.sshd.*" },                        /* 6 case counts */
    };
    struct vg_exceptions *x = compile_ok(s, 7);
    size_t idx[8] = { 99, 99, 99, 99, 99, 99, 99, 99 };
    CHECK_EQ_INT(vg_exceptions_unmatched(x, rs, idx, 8), 3);
    CHECK_EQ_INT(idx[0], 1);
    CHECK_EQ_INT(idx[1], 3);
    CHECK_EQ_INT(idx[2], 6);
    CHECK_EQ_INT(idx[3], 99);
    /* max bounds the writes, not the count */
    size_t one[1] = { 99 };
    CHECK_EQ_INT(vg_exceptions_unmatched(x, rs, one, 1), 3);
    CHECK_EQ_INT(one[0], 1);
    CHECK_EQ_INT(vg_exceptions_unmatched(x, rs, NULL, 0), 3);
    /* with no rules loaded every entry that names rules is unmatched */
    struct vg_ruleset *empty = vg_ruleset_new();
    CHECK_EQ_INT(vg_exceptions_unmatched(x, empty, NULL, 0), 6);
    vg_ruleset_destroy(empty);
    vg_exceptions_destroy(x);
    vg_ruleset_destroy(rs);
}

/* ---- no borrowing, through the real configuration loader -------------- */

VG_TEST(from_the_configuration_then_config_freed)
{
    const char *yaml = "exceptions:\n"
                       "  - rules: [aws.s3.*]\n"
                       "    resources: [\"arn:aws:s3:::public-site-*\"]\n"
                       "    reason: public website assets\n"
                       "    owner: web-team\n"
                       "    expires: 2027-06-30\n"
                       "  - hosts: [bastion-*]\n"
                       "    tags: {env: prod}\n"
                       "    reason: bastion by design\n"
                       "    owner: platform\n"
                       "    expires: 2027-01-01T00:00:00Z\n";
    char err[512];
    struct vg_config *c = vg_config_load_string("t.yml", yaml, strlen(yaml), err, sizeof(err));
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "config: %s\n", err);
        return;
    }
    struct vg_exceptions *x = vg_exceptions_new(c->exceptions, c->nexceptions, err, sizeof(err));
    vg_config_destroy(c);   /* ASan reports any use of it below */
    CHECK(x != NULL);
    if (!x) {
        fprintf(stderr, "exceptions: %s\n", err);
        return;
    }
    CHECK_EQ_INT(vg_exceptions_count(x), 2);
    struct vg_resource *site = mkres("arn:aws:s3:::public-site-assets", NULL, NULL, NULL);
    struct vg_resource *prod = mkres("/etc/ssh/sshd_config", NULL, NULL, "{\"env\":\"prod\"}");
    struct vg_target_info bastion = { .host_name = "bastion-eu" };
    const struct vg_exception *e = vg_exceptions_match(x, "aws.s3.enc", site, NULL, NOW);
    CHECK(e != NULL);
    if (e) {
        CHECK_EQ_STR(e->reason, "public website assets");
        CHECK_EQ_STR(e->owner, "web-team");
        CHECK_EQ_STR(e->expires, "2027-06-30");
    }
    CHECK_EQ_INT(m(x, "host.sshd.permit_root_login", prod, &bastion, NOW), 1);
    CHECK_EQ_INT(m(x, "host.sshd.permit_root_login", prod, NULL, NOW), -1);
    CHECK_EQ_INT(m(x, "host.sshd.permit_root_login", prod, &bastion,
                   at("2027-01-01T00:00:00.001Z")), -1);
    vg_resource_destroy(site);
    vg_resource_destroy(prod);
    vg_exceptions_destroy(x);
}

/* ---- against a plain reference ---------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
#define PICK(arr) (arr)[rnd() % (sizeof(arr) / sizeof((arr)[0]))]

static bool list_match(char **p, size_t n, const char *s)
{
    if (n == 0)
        return true;
    if (!s)
        return false;
    for (size_t i = 0; i < n; i++)
        if (fnmatch(p[i], s, 0) == 0)
            return true;
    return false;
}

static bool ref_matches(const struct vg_config_exception *e, const char *rule,
                        const struct vg_resource *r, const struct vg_target_info *t)
{
    if (!list_match(e->rules, e->nrules, rule) || !list_match(e->resources, e->nresources, r->id) ||
        !list_match(e->accounts, e->naccounts, r->account) ||
        !list_match(e->regions, e->nregions, r->region) ||
        !list_match(e->hosts, e->nhosts, t ? t->host_name : NULL))
        return false;
    for (size_t k = 0; k < e->tags.n; k++) {
        const char *v = vg_json_get_str(vg_json_get(r->tags, e->tags.keys[k]));
        if (!v || strcmp(v, e->tags.values[k]) != 0)
            return false;
    }
    return true;
}

/* Random entries over a small alphabet, so matches are frequent; more than
 * 64 entries so bit sets span several words; the index answers as a
 * first-match-in-order scan with fnmatch would, and counts the same. */
VG_TEST(same_answers_as_a_plain_scan)
{
    static const char *rule_pats[] = { "r.a", "r.b", "r.*", "q.?", "r.[ab]", "q.c", "*c" };
    static const char *res_pats[] = { "id-1", "id-2", "id-*", "x/y/z", "x/*", "id-3",
                                      "*-1", "id-?", "[ix]d-1", "id-1*" };
    static const char *acct_pats[] = { "111", "222", "1*" };
    static const char *reg_pats[] = { "eu-1", "us-*" };
    static const char *host_pats[] = { "h1", "h?" };
    static const char *tag_pats[] = { "env=prod", "env=dev", "team=a", "env=prod,team=a" };
    static const char *exp_pats[] = { "2099-01-01", "2026-01-15", "2026-01-14",
                                      "2026-01-15T12:00:00Z" };
    static const char *rules[] = { "r.a", "r.b", "r.c", "q.a", "q.c", "zz", "s.x", "s.y",
                                   "t.z", "u.u" };
    static const char *ids[] = { "id-1", "id-2", "id-3", "id-4", "x/y/z", "x/q", "z1", "z2",
                                 "y/1", "w", "id-10", "id-", "" };
    static const char *accts[] = { "111", "222", "133", NULL };
    static const char *regs[] = { "eu-1", "us-2", NULL };
    static const char *hosts[] = { "h1", "h2", "host", NULL };
    static const char *tagsj[] = { "{\"env\":\"prod\",\"team\":\"a\"}", "{\"env\":\"dev\"}",
                                   "{\"team\":\"a\"}", NULL };
    enum { N = 150, FINDINGS = 20000 };
    struct spec s[N];
    char bufs[N][6][64];
    for (size_t i = 0; i < N; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        int given;
        do {
            memset(&s[i], 0, sizeof(s[i]));
            given = 0;
            const char **slot[] = { &s[i].rules, &s[i].resources, &s[i].accounts,
                                    &s[i].regions, &s[i].hosts, &s[i].tags };
            const char *const *src[] = { rule_pats, res_pats, acct_pats, reg_pats, host_pats,
                                         tag_pats };
            size_t nsrc[] = { 7, 10, 3, 2, 2, 4 };
            int prob[] = { 80, 70, 40, 40, 40, 40 };
            for (int k = 0; k < 6; k++) {
                if ((int)(rnd() % 100) >= prob[k])
                    continue;
                const char *a = src[k][rnd() % nsrc[k]];
                if (k < 5 && rnd() % 3 == 0)
                    snprintf(bufs[i][k], sizeof(bufs[i][k]), "%s,%s", a, src[k][rnd() % nsrc[k]]);
                else
                    snprintf(bufs[i][k], sizeof(bufs[i][k]), "%s", a);
                *slot[k] = bufs[i][k];
                given++;
            }
        } while (given < 2 + (int)(i % 2));   /* two or three criteria */
        s[i].expires = PICK(exp_pats);
    }
    struct vg_config_exception ex[N];
    for (size_t i = 0; i < N; i++)
        mk_entry(&ex[i], &s[i]);
    char err[512];
    struct vg_exceptions *x = vg_exceptions_new(ex, N, err, sizeof(err));
    CHECK(x != NULL);
    if (!x) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    size_t ref_muted[N] = { 0 }, ref_expired[N] = { 0 };
    int64_t now = NOW;
    size_t mismatches = 0, muted = 0;
    vg_exceptions_reset(x);
    for (size_t f = 0; f < FINDINGS; f++) {
        const char *rule = PICK(rules);
        struct vg_resource *r = mkres(PICK(ids), PICK(accts), PICK(regs), PICK(tagsj));
        struct vg_target_info t = { .host_name = (char *)PICK(hosts) };
        const struct vg_target_info *tp = rnd() % 10 ? &t : NULL;
        long long want = -1;
        for (size_t i = 0; i < N; i++) {
            int64_t exp_ms = vg_exceptions_at(x, i)->expires_ms;
            if (!ref_matches(&ex[i], rule, r, tp))
                continue;
            if (now >= exp_ms)
                ref_expired[i]++;
            else if (want < 0)
                want = (long long)i;
        }
        if (want >= 0) {
            ref_muted[want]++;
            muted++;
        }
        long long got = m(x, rule, r, tp, now);
        if (got != want && mismatches++ < 5)
            VG_FAIL_AT("finding %zu (%s on %s): entry %lld, reference %lld", f, rule, r->id, got,
                       want);
        vg_resource_destroy(r);
    }
    vg_test_checks++;
    CHECK_EQ_INT(mismatches, 0);
    for (size_t i = 0; i < N; i++) {
        CHECK_EQ_INT(vg_exceptions_at(x, i)->muted, ref_muted[i]);
        CHECK_EQ_INT(vg_exceptions_at(x, i)->expired_hits, ref_expired[i]);
    }
    size_t expired_total = 0;
    for (size_t i = 0; i < N; i++)
        expired_total += ref_expired[i];
    fprintf(stderr, "reference: %zu of %d findings muted, %zu expired hits\n", muted,
            (int)FINDINGS, expired_total);
    CHECK(expired_total > 0);
    /* the sample must exercise both outcomes to mean anything */
    CHECK(muted > FINDINGS / 5);
    CHECK(muted < FINDINGS - FINDINGS / 5);
    vg_exceptions_destroy(x);
    for (size_t i = 0; i < N; i++)
        free_entry(&ex[i]);
}

VG_TEST(more_rule_ids_than_the_cache_holds)
{
    struct spec s[] = { { .rules = "r.1*", .reason = "ones" }, { .rules = "r.2*" } };
    struct vg_exceptions *x = compile_ok(s, 2);
    struct vg_resource *r = mkres("a", NULL, NULL, NULL);
    size_t wrong = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 6000; i++) {
            char id[32];
            snprintf(id, sizeof(id), "r.%d", i);
            long long want = id[2] == '1' ? 0 : id[2] == '2' ? 1 : -1;
            if (m(x, id, r, NULL, NOW) != want)
                wrong++;
        }
    }
    CHECK_EQ_INT(wrong, 0);
    vg_resource_destroy(r);
    vg_exceptions_destroy(x);
}

/* ---- measurement ------------------------------------------------------ */

static double secs_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* 100,000 findings (500 rules x 200 resources) against 1,000 exceptions of
 * mixed shapes. Prints the time; asserts only the counts. */
VG_TEST(measure_100k_findings_1k_exceptions)
{
    enum { NEX = 1000, NRULES = 500, NRES = 200 };
    struct spec *s = calloc(NEX, sizeof(*s));
    char (*b)[3][96] = calloc(NEX, sizeof(*b));
    for (size_t i = 0; i < NEX; i++) {
        switch (i % 10) {
        case 0: case 1: case 2: case 3:   /* literal rule and resource */
            snprintf(b[i][0], 96, "svc%zu.rule%zu", i % 50, i % NRULES);
            snprintf(b[i][1], 96, "arn:aws:s3:::bucket-%zu", (i * 7) % NRES);
            s[i].rules = b[i][0];
            s[i].resources = b[i][1];
            break;
        case 4: case 5:   /* glob rule and glob resource */
            snprintf(b[i][0], 96, "svc%zu.rule%zu*", i % 50, i % 7);
            snprintf(b[i][1], 96, "arn:aws:s3:::bucket-%zu?", i % 20);
            s[i].rules = b[i][0];
            s[i].resources = b[i][1];
            break;
        case 6: case 7:   /* literal rule, host and region */
            snprintf(b[i][0], 96, "svc%zu.rule%zu", i % 50, i % NRULES);
            s[i].rules = b[i][0];
            s[i].hosts = "scanner-*";
            s[i].regions = "eu-*";
            break;
        case 8:   /* resources only */
            snprintf(b[i][1], 96, "arn:aws:s3:::bucket-%zu,arn:aws:s3:::bucket-%zu", i % NRES,
                     (i + 1) % NRES);
            s[i].resources = b[i][1];
            s[i].accounts = "1111*";
            break;
        default:   /* glob rule and tags */
            snprintf(b[i][0], 96, "svc%zu.*", i % 50);
            s[i].rules = b[i][0];
            s[i].tags = "env=prod,team=data";
            break;
        }
        s[i].expires = i % 100 == 99 ? "2020-01-01" : "2099-01-01";
    }
    struct vg_exceptions *x = compile_ok(s, NEX);
    if (!x)
        return;
    char (*rules)[48] = calloc(NRULES, sizeof(*rules));
    for (size_t j = 0; j < NRULES; j++)
        snprintf(rules[j], sizeof(rules[j]), "svc%zu.rule%zu", j % 50, j);
    struct vg_resource **res = calloc(NRES, sizeof(*res));
    for (size_t k = 0; k < NRES; k++) {
        char id[64];
        snprintf(id, sizeof(id), "arn:aws:s3:::bucket-%zu", k);
        res[k] = mkres(id, k % 3 ? "111122223333" : "999", k % 2 ? "eu-west-1" : "us-east-1",
                       k % 5 ? "{\"env\":\"prod\",\"team\":\"data\"}" : "{\"env\":\"dev\"}");
    }
    struct vg_target_info t = { .host_name = "scanner-01" };
    int64_t now = NOW;

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t muted = 0, findings = 0;
    vg_exceptions_reset(x);
    for (size_t k = 0; k < NRES; k++)
        for (size_t j = 0; j < NRULES; j++) {
            findings++;
            if (vg_exceptions_match(x, rules[j], res[k], &t, now))
                muted++;
        }
    double indexed = secs_since(&t0);

    /* the same with a plain first-match scan over fnmatch, for scale */
    struct vg_config_exception *ex = calloc(NEX, sizeof(*ex));
    for (size_t i = 0; i < NEX; i++)
        mk_entry(&ex[i], &s[i]);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t ref_muted = 0;
    for (size_t k = 0; k < NRES; k++)
        for (size_t j = 0; j < NRULES; j++)
            for (size_t i = 0; i < NEX; i++) {
                if (i % 100 == 99)
                    continue;   /* expired */
                if (ref_matches(&ex[i], rules[j], res[k], &t)) {
                    ref_muted++;
                    break;
                }
            }
    double plain = secs_since(&t0);

    CHECK_EQ_INT(findings, 100000);
    CHECK_EQ_INT(muted, ref_muted);
    CHECK(muted > 0 && muted < findings);
    size_t expired_hits = 0;
    for (size_t i = 0; i < NEX; i++)
        expired_hits += vg_exceptions_at(x, i)->expired_hits;
    fprintf(stderr,
            "measure: %zu findings x %d exceptions: %.3f s indexed (%.2f us/finding), "
            "%.3f s plain scan; %zu muted, %zu expired hits\n",
            findings, NEX, indexed, indexed * 1e6 / (double)findings, plain, muted, expired_hits);

    /* 1,000 resource globs on one rule, every finding of that rule: with a
     * literal head ("arn:...:team7-*") the index finds them; without one
     * ("*-team7-*") each is tried on every finding, the worst shape */
    static const char *shapes[] = { "arn:aws:s3:::team%zu-*", "*-team%zu-*" };
    static const char *hits_ids[] = { "arn:aws:s3:::team7-x", "arn:aws:s3:::b-team7-x" };
    for (int sh = 0; sh < 2; sh++) {
        struct spec *g = calloc(NEX, sizeof(*g));
        char (*gb)[64] = calloc(NEX, sizeof(*gb));
        for (size_t i = 0; i < NEX; i++) {
            snprintf(gb[i], sizeof(gb[i]), shapes[sh], i);
            g[i].rules = "svc0.rule0";
            g[i].resources = gb[i];
        }
        struct vg_exceptions *xg = compile_ok(g, NEX);
        struct vg_resource *hit = mkres(hits_ids[sh], NULL, NULL, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        size_t gm = 0;
        enum { NF = 20000 };   /* 100,000 is five times this */
        for (size_t f = 0; xg && f < NF; f++)
            gm += vg_exceptions_match(xg, "svc0.rule0", f % 100 ? res[f % NRES] : hit, &t,
                                      now) != NULL;
        double el = secs_since(&t0);
        CHECK_EQ_INT(gm, NF / 100);
        CHECK_EQ_INT(m(xg, "svc0.rule0", hit, &t, now), 7);
        fprintf(stderr,
                "measure: 1000 resource globs '%s' on one rule, %d findings of it: %.3f s "
                "(%.2f us/finding)\n", shapes[sh], (int)NF, el, el * 1e6 / NF);
        vg_resource_destroy(hit);
        vg_exceptions_destroy(xg);
        free(g);
        free(gb);
    }

    for (size_t i = 0; i < NEX; i++)
        free_entry(&ex[i]);
    free(ex);
    for (size_t k = 0; k < NRES; k++)
        vg_resource_destroy(res[k]);
    free(res);
    free(rules);
    vg_exceptions_destroy(x);
    free(s);
    free(b);
}

VG_TEST_MAIN()
