/* The last-scan store (agent/results.c) and `vigil report` (agent/report.c,
 * agent/report_html.c): atomic commit and abort, target keys, the table,
 * JSON and HTML of the fixed findings in tests/report/, hostile and
 * malformed input.
 *
 * The expected outputs are tests/report/expected-*. VG_REPORT_REGEN=1
 * rewrites them from the current output (review the diff before keeping
 * it). VG_REPORT_HTML_OUT=DIR writes the HTML reports there (for
 * tests/integration/test_report.sh, which takes a screenshot). */
#include "vgtest.h"

#include "agent/json.h"
#include "agent/limits.h"
#include "agent/report.h"
#include "agent/results.h"
#include "checks/framework.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* CHECK_CONTAINS for whole reports: on failure, shows the needle only */
#define CHECK_HAS(hay, needle)                                               \
    do {                                                                     \
        vg_test_checks++;                                                    \
        const char *h_ = (hay), *n_ = (needle);                              \
        if (!h_ || !n_ || !strstr(h_, n_))                                   \
            VG_FAIL_AT("%s lacks \"%s\"", #hay, n_ ? n_ : "(null)");        \
    } while (0)

#define NOW_MS 1795694400000LL   /* 2026-11-26T12:00:00.000Z */

static const char *src_dir(void)
{
    const char *s = getenv("VG_SOURCE_DIR");
    return s ? s : ".";
}

static struct vg_catalog *catalog(void)
{
    static struct vg_catalog *cat;
    if (!cat) {
        char path[1024], err[512];
        snprintf(path, sizeof(path), "%s/checks/frameworks", src_dir());
        cat = vg_catalog_new();
        if (vg_catalog_load_path(cat, path, err, sizeof(err)) != VG_OK)
            fprintf(stderr, "cannot load the catalogues: %s\n", err);
    }
    return cat;
}

static char *new_state_dir(void)
{
    char *d = strdup("/tmp/vgtest-report-XXXXXX");
    if (!d || !mkdtemp(d)) {
        perror("mkdtemp");
        exit(1);
    }
    return d;
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[2048];
            snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
            rm_rf(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static char *read_all(const char *path)
{
    struct vg_buf b;
    vg_buf_init(&b, 64u << 20);
    if (vg_buf_read_file(&b, path) != VG_OK) {
        vg_buf_free(&b);
        return NULL;
    }
    char *s = vg_buf_detach(&b);
    return s ? s : strdup("");
}

static void write_all(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
        fprintf(stderr, "cannot write %s\n", path);
}

/* Files in dir whose names start with a dot (temp files). */
static int count_dot_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

/* Puts the fixture's lines in the store, one committed results file per
 * host.name, as scans would. */
static void load_fixture_into(const char *state, const char *fixture)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/report/%s", src_dir(), fixture);
    char *text = read_all(path);
    CHECK(text != NULL);
    if (!text)
        return;
    const char *hosts[8];
    struct vg_results *rs[8];
    size_t nh = 0;
    char err[512];
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            nl = line + strlen(line) - 1;
        size_t len = (size_t)(nl - line) + (*nl != '\n');
        struct vg_json *doc = vg_json_parse(line, len, err, sizeof(err));
        CHECK(doc != NULL);
        const char *h = vg_json_get_str(vg_json_get(vg_json_get(doc, "host"), "name"));
        size_t k = 0;
        while (k < nh && strcmp(hosts[k], h) != 0)
            k++;
        if (k == nh && nh < 8) {
            hosts[nh] = strdup(h);
            rs[nh] = vg_results_begin(state, "host", h, err, sizeof(err));
            CHECK(rs[nh] != NULL);
            nh++;
        }
        if (k < nh)
            CHECK_EQ_INT(vg_results_add(rs[k], line, len), VG_OK);
        vg_json_free(doc);
        if (!*nl)
            break;
    }
    for (size_t k = 0; k < nh; k++) {
        CHECK_EQ_INT(vg_results_commit(rs[k], err, sizeof(err)), VG_OK);
        free((void *)hosts[k]);
    }
    free(text);
}

static struct vg_json *build(const char *state, const char *fw, char *err, size_t errlen,
                             enum vg_err *rc)
{
    struct vg_report_opts o = { .state_dir = state, .catalog = catalog(), .framework = fw,
                                .now_ms = NOW_MS };
    struct vg_json *doc = NULL;
    *rc = vg_report_build(&o, &doc, err, errlen);
    return doc;
}

/* Renders the report of state (one framework or all) in a format. Caller
 * frees. */
static char *render(const char *state, const char *fw, enum vg_report_format fmt)
{
    char err[1024] = "";
    enum vg_err rc;
    struct vg_json *doc = build(state, fw, err, sizeof(err), &rc);
    CHECK_EQ_INT(rc, VG_OK);
    if (rc) {
        fprintf(stderr, "  report: %s\n", err);
        return strdup("");
    }
    /* the temp directory varies: the expected outputs say STATE */
    char dir[1100];
    snprintf(dir, sizeof(dir), "%s/results", state);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(doc, "results_dir")), dir);
    vg_json_set_str(doc, "results_dir", "STATE/results");
    struct vg_buf b;
    vg_buf_init(&b, VG_REPORT_MAX_OUTPUT);
    enum vg_err e = fmt == VG_REPORT_TABLE  ? vg_report_render_table(doc, &b)
                    : fmt == VG_REPORT_JSON ? vg_report_render_json(doc, &b)
                                            : vg_report_render_html(doc, &b);
    CHECK_EQ_INT(e, VG_OK);
    vg_json_free(doc);
    char *s = vg_buf_detach(&b);
    return s ? s : strdup("");
}

/* Compares text with tests/report/NAME, line by line, showing the first
 * difference; VG_REPORT_REGEN=1 rewrites the file instead. */
static void check_expected(const char *text, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/report/%s", src_dir(), name);
    const char *regen = getenv("VG_REPORT_REGEN");
    if (regen && strcmp(regen, "1") == 0) {
        write_all(path, text, strlen(text));
        fprintf(stderr, "  rewrote %s\n", path);
        return;
    }
    char *want = read_all(path);
    CHECK(want != NULL);
    if (!want)
        return;
    if (strcmp(want, text) != 0) {
        const char *a = want, *b = text;
        int lineno = 1;
        while (*a && *a == *b) {
            lineno += *a == '\n';
            a++, b++;
        }
        const char *la = a, *lb = b;
        while (la > want && la[-1] != '\n')
            la--, lb--;
        VG_FAIL_AT("%s differs at line %d:\n  want: %.*s\n  got:  %.*s", name, lineno,
                   (int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
    }
    free(want);
}

/* Each line at most VG_REPORT_WIDTH code points. */
static void check_width(const char *text)
{
    int lineno = 1, cols = 0, worst = 0, worst_line = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\n') {
            lineno++;
            cols = 0;
            continue;
        }
        if ((*p & 0xC0) != 0x80)
            cols++;
        if (cols > worst) {
            worst = cols;
            worst_line = lineno;
        }
    }
    if (worst > VG_REPORT_WIDTH)
        VG_FAIL_AT("line %d is %d columns wide", worst_line, worst);
    vg_test_checks++;
}

/* ---- the store ------------------------------------------------------------ */

VG_TEST(store_commit_replaces_atomically)
{
    char *state = new_state_dir();
    char err[512] = "", path[1024], dir[1024];
    snprintf(dir, sizeof(dir), "%s/results", state);
    CHECK_EQ_INT(vg_results_path(state, "host", "web-01", path, sizeof(path)), VG_OK);
    char want[1100];
    snprintf(want, sizeof(want), "%s/host-web-01.ndjson", dir);
    CHECK_EQ_STR(path, want);

    struct vg_results *r = vg_results_begin(state, "host", "web-01", err, sizeof(err));
    CHECK(r != NULL);
    CHECK_EQ_INT(vg_results_add(r, "{\"a\":1}", 7), VG_OK);
    CHECK_EQ_INT(vg_results_add(r, "{\"b\":2}xx", 7), VG_OK);   /* len counts */
    /* a line holding a newline, or none at all, is refused and spoils nothing */
    CHECK_EQ_INT(vg_results_add(r, "{}\n{}", 5), VG_ERR_INVALID);
    CHECK_EQ_INT(vg_results_add(r, "", 0), VG_ERR_INVALID);
    /* while the scan runs, the file does not exist yet; the temp file does */
    CHECK(access(path, F_OK) != 0);
    CHECK_EQ_INT(count_dot_files(dir), 1);
    CHECK_EQ_INT(vg_results_commit(r, err, sizeof(err)), VG_OK);
    char *got = read_all(path);
    CHECK_EQ_STR(got, "{\"a\":1}\n{\"b\":2}\n");
    free(got);
    CHECK_EQ_INT(count_dot_files(dir), 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0750);

    /* the next scan replaces the whole set */
    r = vg_results_begin(state, "host", "web-01", err, sizeof(err));
    CHECK_EQ_INT(vg_results_add(r, "{\"c\":3}", 7), VG_OK);
    CHECK_EQ_INT(vg_results_commit(r, err, sizeof(err)), VG_OK);
    got = read_all(path);
    CHECK_EQ_STR(got, "{\"c\":3}\n");
    free(got);

    /* another target has its own file */
    r = vg_results_begin(state, "host", "db-01", err, sizeof(err));
    CHECK_EQ_INT(vg_results_add(r, "{\"d\":4}", 7), VG_OK);
    CHECK_EQ_INT(vg_results_commit(r, err, sizeof(err)), VG_OK);
    got = read_all(path);
    CHECK_EQ_STR(got, "{\"c\":3}\n");
    free(got);
    CHECK_EQ_INT(vg_results_commit(NULL, err, sizeof(err)), VG_ERR_INVALID);
    CHECK_EQ_INT(vg_results_add(NULL, "x", 1), VG_ERR_INVALID);
    vg_results_abort(NULL);
    rm_rf(state);
    free(state);
}

VG_TEST(store_abort_and_spoilt_keep_previous)
{
    char *state = new_state_dir();
    char err[512] = "", path[1024], dir[1024];
    snprintf(dir, sizeof(dir), "%s/results", state);
    vg_results_path(state, "host", "web-01", path, sizeof(path));
    struct vg_results *r = vg_results_begin(state, "host", "web-01", err, sizeof(err));
    CHECK_EQ_INT(vg_results_add(r, "{\"old\":1}", 9), VG_OK);
    CHECK_EQ_INT(vg_results_commit(r, err, sizeof(err)), VG_OK);

    /* a failed scan: abort */
    r = vg_results_begin(state, "host", "web-01", err, sizeof(err));
    CHECK_EQ_INT(vg_results_add(r, "{\"new\":1}", 9), VG_OK);
    vg_results_abort(r);
    char *got = read_all(path);
    CHECK_EQ_STR(got, "{\"old\":1}\n");
    free(got);
    CHECK_EQ_INT(count_dot_files(dir), 0);

    /* results past the bound: refused, and commit keeps the old set (the
     * bound is tested before the line is read, so this reads nothing) */
    r = vg_results_begin(state, "host", "web-01", err, sizeof(err));
    CHECK_EQ_INT(vg_results_add(r, "{\"new\":1}", 9), VG_OK);
    CHECK_EQ_INT(vg_results_add(r, "{", VG_RESULTS_MAX_FILE), VG_ERR_LIMIT);
    CHECK_EQ_INT(vg_results_add(r, "{\"new\":2}", 9), VG_ERR_LIMIT);   /* spoilt */
    CHECK_EQ_INT(vg_results_commit(r, err, sizeof(err)), VG_ERR_LIMIT);
    CHECK_CONTAINS(err, "keeps the previous scan's");
    got = read_all(path);
    CHECK_EQ_STR(got, "{\"old\":1}\n");
    free(got);
    CHECK_EQ_INT(count_dot_files(dir), 0);
    rm_rf(state);
    free(state);
}

VG_TEST(store_target_keys)
{
    char a[1024], b[1024], c[1024];
    CHECK_EQ_INT(vg_results_path("/s", "host", "a/b", a, sizeof(a)), VG_OK);
    CHECK_EQ_INT(vg_results_path("/s", "host", "a_b", b, sizeof(b)), VG_OK);
    CHECK_EQ_STR(b, "/s/results/host-a_b.ndjson");
    CHECK(strcmp(a, b) != 0);   /* the hash keeps them apart */
    CHECK(strncmp(a, "/s/results/host-a_b-", 20) == 0);
    CHECK_EQ_INT(strlen(a), strlen("/s/results/host-a_b-12345678.ndjson"));
    /* a path out of the directory is just a name */
    CHECK_EQ_INT(vg_results_path("/s", "host", "../../etc/passwd", c, sizeof(c)), VG_OK);
    CHECK(strncmp(c, "/s/results/host-.._.._etc_passwd-", 33) == 0);
    CHECK(strchr(c + strlen("/s/results/"), '/') == NULL);
    CHECK_EQ_INT(vg_results_path("/s", "host", "", c, sizeof(c)), VG_OK);
    CHECK_EQ_STR(c, "/s/results/host-unknown.ndjson");
    CHECK_EQ_INT(vg_results_path("/s", "aws", NULL, c, sizeof(c)), VG_OK);
    CHECK_EQ_STR(c, "/s/results/aws-unknown.ndjson");
    /* long names are cut, and a hash tells them apart */
    char longname[400];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK_EQ_INT(vg_results_path("/s", "host", longname, a, sizeof(a)), VG_OK);
    longname[300] = 'y';
    CHECK_EQ_INT(vg_results_path("/s", "host", longname, b, sizeof(b)), VG_OK);
    CHECK(strcmp(a, b) != 0);
    CHECK_EQ_INT(strlen(a), strlen("/s/results/host-") + VG_RESULTS_MAX_KEY + 9 + 7);
    /* too small a buffer */
    CHECK_EQ_INT(vg_results_path("/s", "host", "web", a, 10), VG_ERR_LIMIT);
}

VG_TEST(store_unwritable_state_dir)
{
    char *state = new_state_dir();
    char file[1024], under[1100], err[512] = "";
    snprintf(file, sizeof(file), "%s/file", state);
    write_all(file, "x", 1);
    snprintf(under, sizeof(under), "%s/state", file);
    CHECK(vg_results_begin(under, "host", "web-01", err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "cannot create");
    CHECK_CONTAINS(err, under);
    /* results is a file, not a directory */
    char results[1100];
    snprintf(results, sizeof(results), "%s/results", state);
    write_all(results, "x", 1);
    err[0] = '\0';
    CHECK(vg_results_begin(state, "host", "web-01", err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "is not a directory");
    CHECK(vg_results_begin(NULL, "host", "web-01", err, sizeof(err)) == NULL);
    CHECK(vg_results_begin("", "host", "web-01", err, sizeof(err)) == NULL);
    rm_rf(state);
    free(state);
}

VG_TEST(store_sweeps_stale_temp_files)
{
    char *state = new_state_dir();
    char dir[1024], stale[1100], live[1100], other[1100], err[512];
    snprintf(dir, sizeof(dir), "%s/results", state);
    CHECK(mkdir(dir, 0750) == 0);
    /* a pid that runs no process: look for one */
    long dead = 4000000;
    while (kill((pid_t)dead, 0) == 0 || errno != ESRCH)
        dead--;
    snprintf(stale, sizeof(stale), "%s/.host-web-01.ndjson.%ld.AbC123", dir, dead);
    snprintf(live, sizeof(live), "%s/.host-web-01.ndjson.%ld.XyZ789", dir, (long)getppid());
    snprintf(other, sizeof(other), "%s/.host-web-02.ndjson.%ld.AbC123", dir, dead);
    write_all(stale, "partial", 7);
    write_all(live, "partial", 7);
    write_all(other, "partial", 7);
    struct vg_results *r = vg_results_begin(state, "host", "web-01", err, sizeof(err));
    CHECK(r != NULL);
    CHECK(access(stale, F_OK) != 0);   /* its scan is gone: removed */
    CHECK(access(live, F_OK) == 0);    /* its writer runs: kept */
    CHECK(access(other, F_OK) == 0);   /* another target's: not this begin's business */
    vg_results_abort(r);
    rm_rf(state);
    free(state);
}

/* ---- the previous scan's evaluations -------------------------------------- */

/* One results line of a finding, with just the fields the reader needs
 * around others it must pass over. */
static void finding_line(struct vg_buf *b, const char *rule, const char *res, const char *ev)
{
    vg_buf_printf(b, "{\"@timestamp\":\"2026-11-26T10:00:05.123Z\",\"event\":{\"kind\":\"state\","
                     "\"category\":[\"configuration\"],\"id\":\"x\",\"dataset\":\"vigil.findings\"},"
                     "\"rule\":{\"id\":\"%s\",\"tags\":[\"a\",{\"id\":\"no\"}],\"benchmark\":{\"id\":"
                     "\"cis\"}},\"result\":{\"evaluation\":\"%s\",\"evidence\":{\"id\":[1,2,{}]}},"
                     "\"resource\":{\"id\":\"%s\",\"name\":\"n\"},\"vigil\":{\"muted\":false}}\n",
               rule, ev, res);
}

static const char *SUMMARY_LINE =
    "{\"event\":{\"kind\":\"event\",\"dataset\":\"vigil.scan\"},\"vigil\":{\"scan\":{\"findings\":"
    "{\"passed\":1}}}}\n";

/* Commits text (NDJSON) as the results of (provider, target). */
static void commit_results(const char *state, const char *provider, const char *target,
                           const char *text)
{
    char err[512];
    struct vg_results *r = vg_results_begin(state, provider, target, err, sizeof(err));
    CHECK(r != NULL);
    for (const char *p = text; r && *p;) {
        size_t n = strcspn(p, "\n");
        CHECK_EQ_INT(vg_results_add(r, p, n), VG_OK);
        p += n + (p[n] == '\n');
    }
    if (r)
        CHECK_EQ_INT(vg_results_commit(r, err, sizeof(err)), VG_OK);
}

/* Writes text as the results file of (provider, target) as is. */
static void write_results(const char *state, const char *provider, const char *target,
                          const char *text, size_t len)
{
    char path[1024], dir[1024];
    snprintf(dir, sizeof(dir), "%s/results", state);
    mkdir(dir, 0750);
    vg_results_path(state, provider, target, path, sizeof(path));
    write_all(path, text, len);
}

static int prev_of(struct vg_results_prev *p, const char *rule, const char *res)
{
    enum vg_eval e = VG_EVAL_UNKNOWN;
    return vg_results_prev_lookup(p, rule, res, &e) ? (int)e : -1;
}

VG_TEST(prev_missing_file)
{
    char *state = new_state_dir();
    char err[512] = "";
    struct vg_results_prev *p = (struct vg_results_prev *)1;
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-01", 100, &p, err, sizeof(err)),
                 VG_ERR_NOENT);
    CHECK(p == NULL);
    CHECK_CONTAINS(err, "no previous scan of host web-01");
    CHECK_CONTAINS(err, "/results/host-web-01.ndjson");
    CHECK_EQ_INT(vg_results_prev_load(NULL, "host", "web-01", 100, &p, err, sizeof(err)),
                 VG_ERR_NOENT);
    CHECK(p == NULL);
    /* no store: nothing is found, nothing crashes */
    CHECK_EQ_INT(prev_of(NULL, "r", "x"), -1);
    CHECK_EQ_INT(vg_results_prev_count(NULL), 0);
    vg_results_prev_destroy(NULL);
    rm_rf(state);
    free(state);
}

VG_TEST(prev_reads_findings)
{
    char *state = new_state_dir();
    char err[512] = "";
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    finding_line(&b, "host.a", "host://web-01/sshd", "passed");
    finding_line(&b, "host.b", "host://web-01/sshd", "failed");
    finding_line(&b, "host.a", "host://web-01/login.defs", "unknown");
    finding_line(&b, "host.c", "host://web-01/x", "failed");
    finding_line(&b, "host.c", "host://web-01/x", "failed");   /* twice, alike: kept */
    finding_line(&b, "host.d", "host://web-01/x", "passed");
    finding_line(&b, "host.d", "host://web-01/x", "failed");   /* twice, unlike: ambiguous */
    vg_buf_appends(&b, SUMMARY_LINE);
    commit_results(state, "host", "web-01", vg_buf_str(&b));
    struct vg_results_prev *p = NULL;
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-01", 100, &p, err, sizeof(err)),
                 VG_OK);
    CHECK(p != NULL);
    CHECK_EQ_INT(vg_results_prev_count(p), 5);
    CHECK_EQ_INT(prev_of(p, "host.a", "host://web-01/sshd"), VG_EVAL_PASSED);
    CHECK_EQ_INT(prev_of(p, "host.b", "host://web-01/sshd"), VG_EVAL_FAILED);
    CHECK_EQ_INT(prev_of(p, "host.a", "host://web-01/login.defs"), VG_EVAL_UNKNOWN);
    CHECK_EQ_INT(prev_of(p, "host.c", "host://web-01/x"), VG_EVAL_FAILED);
    CHECK_EQ_INT(prev_of(p, "host.d", "host://web-01/x"), -1);
    /* absent pairs, and pairs that differ only in where the NUL falls */
    CHECK_EQ_INT(prev_of(p, "host.b", "host://web-01/login.defs"), -1);
    CHECK_EQ_INT(prev_of(p, "host.e", "host://web-01/sshd"), -1);
    CHECK_EQ_INT(prev_of(p, "host.", "ahost://web-01/sshd"), -1);
    CHECK_EQ_INT(prev_of(p, "", ""), -1);
    vg_results_prev_destroy(p);

    /* a file of only a summary, and an empty file: stores without a pair */
    commit_results(state, "host", "web-02", SUMMARY_LINE);
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-02", 100, &p, err, sizeof(err)),
                 VG_OK);
    CHECK_EQ_INT(vg_results_prev_count(p), 0);
    CHECK_EQ_INT(prev_of(p, "host.a", "host://web-01/sshd"), -1);
    vg_results_prev_destroy(p);
    write_results(state, "host", "web-03", "", 0);
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-03", 100, &p, err, sizeof(err)),
                 VG_OK);
    CHECK_EQ_INT(vg_results_prev_count(p), 0);
    vg_results_prev_destroy(p);
    write_results(state, "host", "web-03", " \n\n", 3);
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-03", 100, &p, err, sizeof(err)),
                 VG_OK);
    vg_results_prev_destroy(p);
    write_results(state, "host", "web-03", "12", 2);   /* not blank, and no object */
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-03", 100, &p, err, sizeof(err)),
                 VG_ERR_PARSE);
    vg_buf_free(&b);
    rm_rf(state);
    free(state);
}

VG_TEST(prev_many_pairs)
{
    char *state = new_state_dir();
    char err[512] = "", res[64];
    struct vg_buf b;
    vg_buf_init(&b, 64u << 20);
    const size_t n = 20000;
    for (size_t i = 0; i < n; i++) {
        snprintf(res, sizeof(res), "arn:aws:s3:::bucket-%zu", i);
        finding_line(&b, i % 3 ? "aws.s3.encryption" : "aws.s3.versioning", res,
                     i % 2 ? "failed" : "passed");
    }
    commit_results(state, "aws", "123456789012", vg_buf_str(&b));
    struct vg_results_prev *p = NULL;
    CHECK_EQ_INT(vg_results_prev_load(state, "aws", "123456789012", n, &p, err, sizeof(err)),
                 VG_OK);
    CHECK_EQ_INT(vg_results_prev_count(p), n);
    size_t right = 0, absent = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(res, sizeof(res), "arn:aws:s3:::bucket-%zu", i);
        right += prev_of(p, i % 3 ? "aws.s3.encryption" : "aws.s3.versioning", res) ==
                 (i % 2 ? VG_EVAL_FAILED : VG_EVAL_PASSED);
        absent += prev_of(p, i % 3 ? "aws.s3.versioning" : "aws.s3.encryption", res) == -1;
    }
    CHECK_EQ_INT(right, n);
    CHECK_EQ_INT(absent, n);
    /* in the file's order (the cursor), backwards and scattered (the index):
     * the same answers */
    for (int pass = 0; pass < 3; pass++) {
        right = 0;
        for (size_t k = 0; k < n; k++) {
            size_t i = pass == 0 ? k : pass == 1 ? n - 1 - k : (k * 7919) % n;
            snprintf(res, sizeof(res), "arn:aws:s3:::bucket-%zu", i);
            right += prev_of(p, i % 3 ? "aws.s3.encryption" : "aws.s3.versioning", res) ==
                     (i % 2 ? VG_EVAL_FAILED : VG_EVAL_PASSED);
            /* a pair the previous scan did not have, between two it had */
            if (k % 100 == 0)
                right -= prev_of(p, "aws.s3.new_rule", res) != -1;
        }
        CHECK_EQ_INT(right, n);
    }
    vg_results_prev_destroy(p);
    vg_buf_free(&b);
    rm_rf(state);
    free(state);
}

VG_TEST(prev_cap_reached_gives_nothing)
{
    char *state = new_state_dir();
    char err[512] = "";
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    finding_line(&b, "r", "a", "passed");
    finding_line(&b, "r", "b", "passed");
    finding_line(&b, "r", "b", "passed");   /* a pair seen again takes no room */
    finding_line(&b, "r", "c", "failed");
    commit_results(state, "host", "web-01", vg_buf_str(&b));
    struct vg_results_prev *p = NULL;
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-01", 3, &p, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_results_prev_count(p), 3);
    vg_results_prev_destroy(p);
    p = NULL;
    /* one more than the cap: no store at all, never a part of one */
    finding_line(&b, "r", "d", "failed");
    commit_results(state, "host", "web-01", vg_buf_str(&b));
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-01", 3, &p, err, sizeof(err)),
                 VG_ERR_LIMIT);
    CHECK(p == NULL);
    CHECK_CONTAINS(err, "host-web-01.ndjson holds more than 3 findings");
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-01", 0, &p, err, sizeof(err)),
                 VG_ERR_LIMIT);
    vg_buf_free(&b);
    rm_rf(state);
    free(state);
}

VG_TEST(prev_two_targets)
{
    char *state = new_state_dir();
    char err[512] = "";
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    /* the same pair in two targets' files, with different outcomes */
    finding_line(&b, "r.shared", "res-1", "passed");
    finding_line(&b, "host.only", "host://web-01/sshd", "failed");
    commit_results(state, "host", "web-01", vg_buf_str(&b));
    vg_buf_reset(&b);
    finding_line(&b, "r.shared", "res-1", "failed");
    finding_line(&b, "aws.only", "arn:aws:iam::123456789012:root", "passed");
    commit_results(state, "aws", "123456789012", vg_buf_str(&b));
    struct vg_results_prev *h = NULL, *a = NULL, *other = NULL;
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-01", 10, &h, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_results_prev_load(state, "aws", "123456789012", 10, &a, err, sizeof(err)),
                 VG_OK);
    CHECK_EQ_INT(prev_of(h, "r.shared", "res-1"), VG_EVAL_PASSED);
    CHECK_EQ_INT(prev_of(a, "r.shared", "res-1"), VG_EVAL_FAILED);
    CHECK_EQ_INT(prev_of(h, "aws.only", "arn:aws:iam::123456789012:root"), -1);
    CHECK_EQ_INT(prev_of(a, "host.only", "host://web-01/sshd"), -1);
    CHECK_EQ_INT(prev_of(h, "host.only", "host://web-01/sshd"), VG_EVAL_FAILED);
    /* a host of the same name under another provider is another target */
    CHECK_EQ_INT(vg_results_prev_load(state, "aws", "web-01", 10, &other, err, sizeof(err)),
                 VG_ERR_NOENT);
    vg_results_prev_destroy(h);
    vg_results_prev_destroy(a);
    vg_buf_free(&b);
    rm_rf(state);
    free(state);
}

/* Loads text as web-01's results; returns the error, with err filled. */
static enum vg_err load_text(const char *state, const char *text, size_t len, char *err,
                             size_t errlen)
{
    write_results(state, "host", "web-01", text, len);
    struct vg_results_prev *p = (struct vg_results_prev *)1;
    err[0] = '\0';
    enum vg_err e = vg_results_prev_load(state, "host", "web-01", 100, &p, err, errlen);
    if (e)
        CHECK(p == NULL);
    vg_results_prev_destroy(e ? NULL : p);
    return e;
}

VG_TEST(prev_corrupt_files)
{
    char *state = new_state_dir();
    char err[1024];
    struct vg_buf good;
    vg_buf_init(&good, 1 << 20);
    finding_line(&good, "r", "a", "passed");
    finding_line(&good, "r", "b", "failed");
    static const struct {
        const char *tail;   /* after two good lines */
        const char *why;
    } cases[] = {
        { "{\"broken\n", "host-web-01.ndjson:3: not a line of JSON" },
        { "not json\n", "host-web-01.ndjson:3: not a line of JSON" },
        { "{\"event\":{\"dataset\":\"vigil.findings\"}}\n", "host-web-01.ndjson:3: a finding without rule.id" },
        { "{\"event\":{\"dataset\":\"vigil.findings\"}", ":3: not a line of JSON: parse error: premature EOF" },
        { "\n\n{\"a\":1,}\n", ":5: not a line of JSON" },
        { "[1,2]\n", ":3: a line that is not a JSON object" },
        { "\"text\"\n", ":3: a line that is not a JSON object" },
        { "{\"rule\":{\"id\":\"r\"},\"resource\":{\"id\":\"c\"},\"result\":{\"evaluation\":\"passed\"}}\n",
          ":3: a line without event.dataset" },
        { "{\"event\":{\"dataset\":\"vigil.findings\"},\"rule\":{\"id\":\"r\"},\"result\":{"
          "\"evaluation\":\"passed\"}}\n", ":3: a finding without resource.id" },
        { "{\"event\":{\"dataset\":\"vigil.findings\"},\"rule\":{\"id\":\"r\"},\"resource\":{"
          "\"id\":\"c\"}}\n", ":3: a finding without result.evaluation" },
        { "{\"event\":{\"dataset\":\"vigil.findings\"},\"rule\":{\"id\":\"r\"},\"resource\":{"
          "\"id\":\"c\"},\"result\":{\"evaluation\":\"maybe\"}}\n",
          ":3: result.evaluation is not passed, failed or unknown" },
        { "{\"event\":{\"dataset\":\"vigil.findings\"},\"rule\":{\"id\":7},\"resource\":{"
          "\"id\":\"c\"},\"result\":{\"evaluation\":\"passed\"}}\n", ":3: rule.id is not a string" },
        { "{\"event\":{\"dataset\":\"vigil.findings\"},\"rule\":{\"id\":{\"x\":1}},\"resource\":{"
          "\"id\":\"c\"},\"result\":{\"evaluation\":\"passed\"}}\n", ":3: rule.id is not a string" },
        { "{\"event\":{\"dataset\":\"vigil.findings\"},\"rule\":{\"id\":\"r\"},\"resource\":{"
          "\"id\":[\"c\"]},\"result\":{\"evaluation\":\"passed\"}}\n",
          ":3: resource.id is not a string" },
        { "{\"event\":{\"dataset\":\"vigil.findings\"},\"rule\":{\"id\":\"r\",\"id\":\"s\"},"
          "\"resource\":{\"id\":\"c\"},\"result\":{\"evaluation\":\"passed\"}}\n",
          ":3: rule.id given twice" },
        { "{\"event\":{\"dataset\":null}}\n", ":3: event.dataset is not a string" },
        { "{\"event\":{\"dataset\":\"vigil.findings\"},\"rule\":{\"id\":\"r\"},\"resource\":{"
          "\"id\":\"\xff\xfe\"},\"result\":{\"evaluation\":\"passed\"}}\n",
          ":3: not a line of JSON" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vg_buf t;
        vg_buf_init(&t, 1 << 20);
        vg_buf_appends(&t, vg_buf_str(&good));
        vg_buf_appends(&t, cases[i].tail);
        CHECK_EQ_INT(load_text(state, t.data, t.len, err, sizeof(err)), VG_ERR_PARSE);
        CHECK_CONTAINS(err, cases[i].why);
        CHECK(strchr(err, '\n') == NULL);
        vg_buf_free(&t);
    }
    /* the good lines alone load */
    CHECK_EQ_INT(load_text(state, good.data, good.len, err, sizeof(err)), VG_OK);
    /* a line longer than an event can be, or nesting without end */
    struct vg_buf big;
    vg_buf_init(&big, VG_MAX_EVENT + (2u << 20));
    vg_buf_appends(&big, vg_buf_str(&good));
    vg_buf_appends(&big, "{\"message\":\"");
    while (big.len < VG_MAX_EVENT + (1u << 20))
        vg_buf_appends(&big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    vg_buf_appends(&big, "\"}\n");
    CHECK_EQ_INT(load_text(state, big.data, big.len, err, sizeof(err)), VG_ERR_PARSE);
    CHECK_CONTAINS(err, ":3: a line longer than");
    vg_buf_reset(&big);
    for (int i = 0; i < 100000; i++)
        vg_buf_appendc(&big, '[');
    CHECK_EQ_INT(load_text(state, big.data, big.len, err, sizeof(err)), VG_ERR_PARSE);
    vg_buf_reset(&big);
    vg_buf_appends(&big, "{\"a\":");
    for (int i = 0; i < 100000; i++)
        vg_buf_appends(&big, "{\"a\":");
    CHECK_EQ_INT(load_text(state, big.data, big.len, err, sizeof(err)), VG_ERR_PARSE);
    CHECK_CONTAINS(err, ":1: nested too deeply");
    vg_buf_free(&big);
    /* every prefix of a good file, cut anywhere: a clean error or a store */
    for (size_t cut = 0; cut <= good.len; cut++) {
        enum vg_err e = load_text(state, good.data, cut, err, sizeof(err));
        CHECK(e == VG_OK || e == VG_ERR_PARSE);
    }
    vg_buf_free(&good);
    rm_rf(state);
    free(state);
}

VG_TEST(prev_unreadable_and_oversized)
{
    char *state = new_state_dir();
    char err[1024] = "", path[1024], dir[1024];
    struct vg_results_prev *p = NULL;
    snprintf(dir, sizeof(dir), "%s/results", state);
    CHECK(mkdir(dir, 0750) == 0);
    vg_results_path(state, "host", "web-01", path, sizeof(path));
    /* a directory where the file should be */
    CHECK(mkdir(path, 0750) == 0);
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-01", 10, &p, err, sizeof(err)),
                 VG_ERR_IO);
    CHECK_CONTAINS(err, "is not a regular file");
    CHECK(p == NULL);
    CHECK(rmdir(path) == 0);
    /* larger than a results file may be (sparse: no disk used) */
    int fd = open(path, O_CREAT | O_WRONLY, 0640);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, (off_t)VG_RESULTS_MAX_FILE + 1) == 0);
    close(fd);
    CHECK_EQ_INT(vg_results_prev_load(state, "host", "web-01", 10, &p, err, sizeof(err)),
                 VG_ERR_LIMIT);
    CHECK_CONTAINS(err, "is larger than 1024 MiB");
    CHECK(p == NULL);
    rm_rf(state);
    free(state);
}

/* ---- the report of the fixture ------------------------------------------- */

VG_TEST(report_table_soc2)
{
    char *state = new_state_dir();
    load_fixture_into(state, "findings.ndjson");
    char *t = render(state, "soc2", VG_REPORT_TABLE);
    check_expected(t, "expected-soc2.txt");
    check_width(t);
    /* what the expected file says, spelled out */
    CHECK_HAS(t, "SOC 2 Trust Services Criteria (soc2)");
    CHECK_HAS(t, "Score 56.3%: 9 passed, 7 failed, 2 unknown, 2 muted findings");
    CHECK_HAS(t, "\nCC6.1      The entity implements logical access security software, in"
                      "\xE2\x80\xA6    8    6    2     2 FAIL\n");
    CHECK_HAS(t, "  - host://web-01/accounts (host.accounts.uid0_only_root)\n");
    CHECK_HAS(t, "No automated coverage: 57 controls need manual evidence\n"
                      "  CC1.1 CC1.2 CC1.3 CC1.4 CC1.5 ");
    free(t);
    rm_rf(state);
    free(state);
}

VG_TEST(report_table_cis_debian_12)
{
    char *state = new_state_dir();
    load_fixture_into(state, "findings.ndjson");
    char *t = render(state, "cis_debian_12", VG_REPORT_TABLE);
    check_expected(t, "expected-cis_debian_12.txt");
    check_width(t);
    CHECK_HAS(t, "CIS Debian Linux 12 Benchmark (cis_debian_12)");
    /* 5.1.16: db-01 failed, web-01 passed */
    CHECK_HAS(t, "    1    1    0     0 FAIL\n");
    CHECK_HAS(t, "No automated coverage: 297 controls need manual evidence");
    free(t);
    rm_rf(state);
    free(state);
}

/* Prints the first place where two JSON values differ; true when equal. */
static bool json_same(const struct vg_json *a, const struct vg_json *b, const char *path)
{
    if (vg_json_equal(a, b))
        return true;
    char sub[512];
    if (vg_json_type(a) == VG_JSON_OBJECT && vg_json_type(b) == VG_JSON_OBJECT) {
        for (size_t i = 0; i < vg_json_len(b); i++) {
            snprintf(sub, sizeof(sub), "%s.%s", path, vg_json_key_at(b, i));
            if (!json_same(vg_json_get(a, vg_json_key_at(b, i)), vg_json_at(b, i), sub))
                return false;
        }
        snprintf(sub, sizeof(sub), "%s: a key that is not expected", path);
    } else if (vg_json_type(a) == VG_JSON_ARRAY && vg_json_type(b) == VG_JSON_ARRAY &&
               vg_json_len(a) == vg_json_len(b)) {
        for (size_t i = 0; i < vg_json_len(b); i++) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (!json_same(vg_json_at(a, i), vg_json_at(b, i), sub))
                return false;
        }
    }
    struct vg_buf x, y;
    vg_buf_init(&x, 1 << 20);
    vg_buf_init(&y, 1 << 20);
    if (a)
        vg_json_dump(a, &x);
    if (b)
        vg_json_dump(b, &y);
    fprintf(stderr, "  %s: got %.300s\n  %*s  expected %.300s\n", path,
            a ? vg_buf_str(&x) : "(absent)", (int)strlen(path), "", b ? vg_buf_str(&y) : "(absent)");
    vg_buf_free(&x);
    vg_buf_free(&y);
    return false;
}

VG_TEST(report_json_soc2)
{
    char *state = new_state_dir();
    load_fixture_into(state, "findings.ndjson");
    char *j = render(state, "soc2", VG_REPORT_JSON);
    char err[512], path[1024];
    struct vg_json *got = vg_json_parse(j, strlen(j), err, sizeof(err));
    CHECK(got != NULL);
    snprintf(path, sizeof(path), "%s/tests/report/expected-soc2.json", src_dir());
    const char *regen = getenv("VG_REPORT_REGEN");
    if (regen && strcmp(regen, "1") == 0) {
        write_all(path, j, strlen(j));   /* compact: pretty-print it with python3 -m json.tool */
    } else {
        char *w = read_all(path);
        struct vg_json *want = w ? vg_json_parse(w, strlen(w), err, sizeof(err)) : NULL;
        CHECK(want != NULL);
        CHECK(json_same(got, want, "$"));
        vg_json_free(want);
        free(w);
    }
    vg_json_free(got);
    free(j);
    rm_rf(state);
    free(state);
}

VG_TEST(report_json_all_frameworks)
{
    char *state = new_state_dir();
    load_fixture_into(state, "findings.ndjson");
    char *j = render(state, NULL, VG_REPORT_JSON);
    char err[512];
    struct vg_json *got = vg_json_parse(j, strlen(j), err, sizeof(err));
    CHECK(got != NULL);
    /* field by field, the parts a reader relies on */
    const struct vg_json *fws = vg_json_get(got, "frameworks");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(got, "generated")), "2026-11-26T12:00:00.000Z");
    CHECK_EQ_INT(vg_json_len(vg_json_get(got, "targets")), 2);
    /* every framework the findings map to, in the catalogue's order */
    CHECK_EQ_INT(vg_json_len(fws), 6);
    const char *order[] = { "cis_debian_12", "iso27001_2022", "nist_800_53_r5", "nist_csf_2.0",
                            "pci_dss_4.0", "soc2" };
    for (size_t i = 0; i < 6 && i < vg_json_len(fws); i++)
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(fws, i), "id")), order[i]);
    const struct vg_json *soc2 = vg_json_at(fws, 5);
    CHECK_EQ_INT(vg_json_get_num(vg_json_get(soc2, "score")) * 10, 563);
    const struct vg_json *counts = vg_json_get(soc2, "counts");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "passed")), 9);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "failed")), 7);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "unknown")), 2);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "muted")), 2);
    const struct vg_json *cov = vg_json_get(soc2, "coverage");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(cov, "controls")), 61);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(cov, "covered")), 4);
    CHECK_EQ_INT(vg_json_len(vg_json_get(soc2, "uncovered")), 57);
    const struct vg_json *cc61 = vg_json_at(vg_json_get(soc2, "controls"), 0);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(cc61, "id")), "CC6.1");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(cc61, "status")), "failed");
    CHECK_EQ_INT(vg_json_len(vg_json_get(cc61, "failing")), 6);
    CHECK_EQ_INT(vg_json_len(vg_json_get(cc61, "unknowns")), 2);
    vg_json_free(got);
    free(j);
    rm_rf(state);
    free(state);
}

VG_TEST(report_html_fixture)
{
    char *state = new_state_dir();
    load_fixture_into(state, "findings.ndjson");
    char *h = render(state, NULL, VG_REPORT_HTML);
    CHECK(strncmp(h, "<!DOCTYPE html>\n<html lang=\"en\">", 31) == 0);
    CHECK_HAS(h, "<meta charset=\"utf-8\">");
    CHECK_HAS(h, "@media print");
    CHECK_HAS(h, "break-before:page");
    CHECK_HAS(h, "<section class=\"fw\" id=\"fw-soc2\">");
    CHECK_HAS(h, "<section class=\"fw\" id=\"fw-cis_debian_12\">");
    CHECK_HAS(h, "<section class=\"fw\" id=\"fw-iso27001_2022\">");
    CHECK_HAS(h, "<div class=\"v\">56.3%</div>");
    CHECK_HAS(h, "aria-label=\"Controls of SOC 2 Trust Services Criteria by group and "
                      "status\"");
    CHECK_HAS(h, "CC6 Logical and Physical Access Controls: 8 controls, 3 failing");
    CHECK_HAS(h, "<code>host://web-01/accounts</code><span class=\"rule\">"
                      "host.accounts.uid0_only_root</span>");
    /* catalogue text is escaped too */
    CHECK_HAS(h, "entity&#39;s objectives");
    CHECK_HAS(h, "PermitRootLogin is &quot;yes&quot;");
    CHECK_HAS(h, "57 controls need manual evidence");
    CHECK_HAS(h, "<code>CC1.1</code><span>The entity demonstrates a commitment to integrity "
                 "and ethical values.</span></li>");
    CHECK_HAS(h, "</html>\n");
    /* self-contained: nothing fetched, nothing run */
    CHECK(strstr(h, "<script") == NULL);
    CHECK(strstr(h, "http://") == NULL && strstr(h, "https://") == NULL);
    CHECK(strstr(h, "src=") == NULL && strstr(h, "href=") == NULL);
    CHECK(strstr(h, "url(") == NULL && strstr(h, "@import") == NULL);
    /* one chart per framework */
    size_t nsvg = 0, nsec = 0;
    for (const char *p = h; (p = strstr(p, "<svg ")); p++)
        nsvg++;
    for (const char *p = h; (p = strstr(p, "<section class=\"fw\"")); p++)
        nsec++;
    CHECK_EQ_INT(nsvg, 6);
    CHECK_EQ_INT(nsec, 6);

    /* for the screenshot of tests/integration/test_report.sh */
    const char *outdir = getenv("VG_REPORT_HTML_OUT");
    if (outdir) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/report-all.html", outdir);
        write_all(path, h, strlen(h));
        char *s2 = render(state, "soc2", VG_REPORT_HTML);
        snprintf(path, sizeof(path), "%s/report-soc2.html", outdir);
        write_all(path, s2, strlen(s2));
        free(s2);
    }
    free(h);
    rm_rf(state);
    free(state);
}

/* ---- hostile and malformed input ----------------------------------------- */

/* A finding line with the given pieces, in the ECS shape. */
static void finding(struct vg_buf *b, const char *host, const char *rule, const char *resource,
                    const char *eval, bool muted, const char *reason, const char *compliance)
{
    vg_buf_printf(b,
                  "{\"event\":{\"kind\":\"state\",\"dataset\":\"vigil.findings\"},"
                  "\"host\":{\"name\":\"%s\"},\"rule\":{\"id\":\"%s\"},"
                  "\"resource\":{\"id\":\"%s\"},\"result\":{\"evaluation\":\"%s\","
                  "\"reason\":\"%s\"},\"vigil\":{\"scan\":{\"id\":\"s-1\",\"started\":"
                  "\"2026-11-20T09:00:00.000Z\"},\"compliance\":%s,\"muted\":%s}}\n",
                  host, rule, resource, eval, reason, compliance, muted ? "true" : "false");
}

static void put_results(const char *state, const char *name, const char *text, size_t len)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof(dir), "%s/results", state);
    mkdir(dir, 0750);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    write_all(path, text, len);
}

VG_TEST(report_escapes_hostile_strings)
{
    char *state = new_state_dir();
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    finding(&b, "evil\\u001b[2J", "host.sshd.permit_root_login",
            "host://x/\\\"><img src=x onerror=alert(1)>",
            "failed", false, "<script>alert(1)</script> & \\u001b[31mred\\u202e \\u0007",
            "{\"soc2\":[\"CC6.1\"]}");
    put_results(state, "host-evil.ndjson", b.data, b.len);
    vg_buf_free(&b);

    char *h = render(state, "soc2", VG_REPORT_HTML);
    CHECK(strstr(h, "<script") == NULL);
    CHECK(strstr(h, "<img") == NULL);
    CHECK_HAS(h, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; ");
    CHECK_HAS(h, "host://x/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    CHECK(strchr(h, 0x1b) == NULL && strchr(h, 0x07) == NULL);
    CHECK(strstr(h, "\xE2\x80\xAE") == NULL);   /* U+202E, right-to-left override */
    free(h);

    char *t = render(state, "soc2", VG_REPORT_TABLE);
    CHECK(strchr(t, 0x1b) == NULL && strchr(t, 0x07) == NULL);
    CHECK(strstr(t, "\xE2\x80\xAE") == NULL);
    CHECK_HAS(t, "<script>alert(1)</script> & \xEF\xBF\xBD[31mred\xEF\xBF\xBD \xEF\xBF\xBD");
    CHECK_HAS(t, "evil\xEF\xBF\xBD[2J");
    check_width(t);
    free(t);
    rm_rf(state);
    free(state);
}

VG_TEST(report_skips_malformed_lines)
{
    char *state = new_state_dir();
    struct vg_buf b;
    vg_buf_init(&b, 32u << 20);
    finding(&b, "h1", "r.one", "res://1", "passed", false, "ok", "{\"soc2\":[\"CC6.1\"]}");
    vg_buf_appends(&b, "not json at all\n");                         /* 2 */
    vg_buf_appends(&b, "{\"truncated\":\n");                         /* 3 */
    vg_buf_appends(&b, "[1,2,3]\n");                                 /* 4 */
    vg_buf_appends(&b, "{\"result\":{\"evaluation\":\"maybe\"}}\n"); /* 5 */
    vg_buf_appends(&b, "\n   \n");                                   /* blank: not counted */
    vg_buf_appends(&b, "{\"result\":{\"evaluation\":\"failed\"},\"vigil\":{\"compliance\":"
                       "\"soc2\"}}\n");                              /* no mapping: counted, 8 */
    vg_buf_appends(&b, "{\"result\":{\"evaluation\":\"failed\"},\"vigil\":{\"compliance\":"
                       "{\"soc2\":[1,null,\"\",\"CC6.1\",\"CC6.1\"]}}}\n");  /* 9: once */
    vg_buf_append(&b, "{\"a\":\"\0\"}\n", 10);                      /* 10: a NUL byte */
    vg_buf_appends(&b, "{\"bad utf8\":\"\xC3\x28\"}\n");              /* 11 */
    /* 12: a line longer than the bound on one event */
    vg_buf_appendc(&b, '"');
    for (size_t i = 0; i < VG_MAX_EVENT + 10; i++)
        vg_buf_appendc(&b, 'x');
    vg_buf_appends(&b, "\"\n");
    vg_buf_appends(&b, "{\"event\":{\"dataset\":\"vigil.scan\"}}\n"); /* a summary: silent */
    /* the last line, without its newline */
    vg_buf_appends(&b, "{\"result\":{\"evaluation\":\"unknown\"},\"vigil\":{\"compliance\":"
                       "{\"soc2\":[\"CC6.1\"]}}}");
    put_results(state, "host-h1.ndjson", b.data, b.len);
    vg_buf_free(&b);
    /* and files that are not results: ignored */
    put_results(state, ".host-h1.ndjson.1.abcdef", "garbage\n", 8);
    put_results(state, "README", "garbage\n", 8);
    char dirlink[1200];
    snprintf(dirlink, sizeof(dirlink), "%s/results/sub.ndjson", state);
    CHECK(mkdir(dirlink, 0750) == 0);

    char err[512];
    enum vg_err rc;
    struct vg_json *doc = build(state, "soc2", err, sizeof(err), &rc);
    CHECK_EQ_INT(rc, VG_OK);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(doc, "skipped_lines")), 7);
    const struct vg_json *soc2 = vg_json_at(vg_json_get(doc, "frameworks"), 0);
    const struct vg_json *counts = vg_json_get(soc2, "counts");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "passed")), 1);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "failed")), 1);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "unknown")), 1);
    const struct vg_json *cc61 = vg_json_at(vg_json_get(soc2, "controls"), 0);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(cc61, "failed")), 1);
    /* the failing finding had no resource or rule id: shown as "?" */
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(vg_json_get(cc61, "failing"), 0),
                                             "resource")), "?");
    const struct vg_json *notes = vg_json_get(doc, "notes");
    CHECK(vg_json_len(notes) >= 2);
    CHECK_CONTAINS(vg_json_get_str(vg_json_at(notes, 0)), "sub.ndjson: not a regular file");
    CHECK_CONTAINS(vg_json_get_str(vg_json_at(notes, 1)),
                   "7 lines skipped that are not a readable finding (first: host-h1.ndjson:2: "
                   "offset ");
    vg_json_free(doc);
    char *t = render(state, "soc2", VG_REPORT_TABLE);
    CHECK_HAS(t, "Notes:\n  * sub.ndjson: not a regular file, not read\n"
                      "  * 7 lines skipped");
    check_width(t);
    free(t);
    rm_rf(state);
    free(state);
}

VG_TEST(report_lists_are_bounded)
{
    char *state = new_state_dir();
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    for (int i = 0; i < 13; i++) {
        char res[64];
        snprintf(res, sizeof(res), "host://h/%02d", i);
        finding(&b, "h", "r.fail", res, "failed", false, "why", "{\"soc2\":[\"CC7.2\"]}");
    }
    for (int i = 0; i < 12; i++)
        finding(&b, "h", "r.unk", "host://h/u", "unknown", false, "unreadable",
                "{\"soc2\":[\"CC7.2\"]}");
    put_results(state, "host-h.ndjson", b.data, b.len);
    vg_buf_free(&b);
    char *t = render(state, "soc2", VG_REPORT_TABLE);
    CHECK_HAS(t, "  - host://h/09 (r.fail)\n             why\n"
                      "           - and 3 more failing\n");
    CHECK(strstr(t, "host://h/10") == NULL);
    CHECK_HAS(t, "           ? and 2 more unknown\n");
    free(t);
    char *j = render(state, "soc2", VG_REPORT_JSON);
    CHECK_HAS(j, "\"failing_more\":3");
    CHECK_HAS(j, "\"unknowns_more\":2");
    free(j);
    char *h = render(state, "soc2", VG_REPORT_HTML);
    CHECK_HAS(h, "<li class=\"m\">and 3 more failing</li>");
    free(h);
    rm_rf(state);
    free(state);
}

VG_TEST(report_counting_rules)
{
    char *state = new_state_dir();
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    /* muted counts as muted even when failed; not in the score */
    finding(&b, "h", "r.a", "res://a", "failed", true, "muted", "{\"soc2\":[\"CC6.1\"]}");
    /* a finding mapped to two controls counts once for the framework */
    finding(&b, "h", "r.b", "res://b", "passed", false, "ok", "{\"soc2\":[\"CC6.1\",\"CC6.3\"]}");
    finding(&b, "h", "r.c", "res://c", "failed", false, "no", "{\"soc2\":[\"CC6.3\"]}");
    /* only unknown: the control is unknown */
    finding(&b, "h", "r.d", "res://d", "unknown", false, "?", "{\"soc2\":[\"CC7.1\"]}");
    /* only muted: the control is muted */
    finding(&b, "h", "r.e", "res://e", "passed", true, "m", "{\"soc2\":[\"CC8.1\"]}");
    /* an id the catalogue lacks, and a framework with no catalogue */
    finding(&b, "h", "r.f", "res://f", "failed", false, "x",
            "{\"soc2\":[\"CC99.9\"],\"made_up_fw\":[\"X-1\"]}");
    put_results(state, "host-h.ndjson", b.data, b.len);
    vg_buf_free(&b);

    char err[512];
    enum vg_err rc;
    struct vg_json *doc = build(state, NULL, err, sizeof(err), &rc);
    CHECK_EQ_INT(rc, VG_OK);
    const struct vg_json *fws = vg_json_get(doc, "frameworks");
    CHECK_EQ_INT(vg_json_len(fws), 1);
    const struct vg_json *soc2 = vg_json_at(fws, 0);
    const struct vg_json *counts = vg_json_get(soc2, "counts");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "passed")), 1);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "failed")), 2);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "unknown")), 1);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(counts, "muted")), 2);
    CHECK_EQ_INT(vg_json_get_num(vg_json_get(soc2, "score")) * 10, 333);
    const struct vg_json *ctls = vg_json_get(soc2, "controls");
    CHECK_EQ_INT(vg_json_len(ctls), 5);
    const char *want[][2] = { { "CC6.1", "passed" }, { "CC6.3", "failed" },
                              { "CC7.1", "unknown" }, { "CC8.1", "muted" },
                              { "CC99.9", "failed" } };
    for (size_t i = 0; i < 5 && i < vg_json_len(ctls); i++) {
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(ctls, i), "id")), want[i][0]);
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(ctls, i), "status")), want[i][1]);
    }
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(ctls, 4), "title")),
                 "(not in the catalogue)");
    const struct vg_json *cov = vg_json_get(soc2, "coverage");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(cov, "covered")), 4);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(cov, "passing")), 1);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(cov, "failing")), 1);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(cov, "unknown")), 1);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(cov, "muted")), 1);
    /* groups: CC6 has 8 controls, 2 covered */
    const struct vg_json *groups = vg_json_get(soc2, "groups");
    const struct vg_json *cc6 = NULL;
    for (size_t i = 0; i < vg_json_len(groups); i++)
        if (!strncmp(vg_json_get_str(vg_json_get(vg_json_at(groups, i), "name")), "CC6 ", 4))
            cc6 = vg_json_at(groups, i);
    CHECK(cc6 != NULL);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(cc6, "controls")), 8);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(cc6, "uncovered")), 6);
    /* findings without host.* or cloud.*: the file's provider, agent.name */
    const struct vg_json *t0 = vg_json_at(vg_json_get(doc, "targets"), 0);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(t0, "provider")), "host");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(t0, "name")), "h");
    const struct vg_json *notes = vg_json_get(doc, "notes");
    CHECK_EQ_INT(vg_json_len(notes), 2);
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(notes, 0)),
                 "1 finding maps to framework 'made_up_fw', which has no catalogue");
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(notes, 1)),
                 "soc2: findings name 1 control id the catalogue does not have: CC99.9");
    vg_json_free(doc);

    /* a framework asked for by name, with no finding: a gap report, score n/a */
    char *t = render(state, "nist_csf_2.0", VG_REPORT_TABLE);
    CHECK_HAS(t, "Score n/a: 0 passed, 0 failed, 0 unknown, 0 muted findings");
    CHECK_HAS(t, "No finding maps to a control of this framework.");
    CHECK_HAS(t, "No automated coverage: 106 controls need manual evidence");
    free(t);
    char *j = render(state, "nist_csf_2.0", VG_REPORT_JSON);
    CHECK_HAS(j, "\"score\":null");
    free(j);
    rm_rf(state);
    free(state);
}

VG_TEST(report_long_reasons_wrap)
{
    char *state = new_state_dir();
    char reason[1200];
    size_t n = 0;
    for (int w = 0; n < 1000; w++)   /* "w0 w1 w2 ...": words to break at */
        n += (size_t)snprintf(reason + n, sizeof(reason) - n, "w%d ", w);
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    finding(&b, "h", "r.long", "res://long", "failed", false, reason, "{\"soc2\":[\"CC6.1\"]}");
    put_results(state, "host-h.ndjson", b.data, b.len);
    vg_buf_free(&b);
    char *t = render(state, "soc2", VG_REPORT_TABLE);
    check_width(t);
    const char *p = strstr(t, "- res://long (r.long)\n");
    CHECK(p != NULL);
    if (p) {
        p = strchr(p, '\n') + 1;
        for (int i = 0; i < 3; i++) {
            CHECK(strncmp(p, "             w", 14) == 0);   /* indented, starts at a word */
            const char *eol = strchr(p, '\n');
            if (i == 2)
                CHECK(eol - p > 3 && strncmp(eol - 3, "\xE2\x80\xA6", 3) == 0);
            else
                CHECK(eol[-1] != ' ');   /* broken at a space, which is dropped */
            p = eol + 1;
        }
        CHECK(strncmp(p, "             ", 13) != 0);   /* no fourth line */
    }
    free(t);
    rm_rf(state);
    free(state);
}

VG_TEST(report_targets_without_host_or_cloud)
{
    char *state = new_state_dir();
    const char *line = "{\"event\":{\"dataset\":\"vigil.findings\"},\"agent\":{\"name\":\"demo\"},"
                       "\"result\":{\"evaluation\":\"passed\"},\"vigil\":{\"scan\":{\"id\":\"s\"},"
                       "\"compliance\":{\"soc2\":[\"CC6.1\"]}}}\n";
    put_results(state, "demo-scanner-01.ndjson", line, strlen(line));
    put_results(state, "nodash.ndjson", line, strlen(line));
    char err[512];
    enum vg_err rc;
    struct vg_json *doc = build(state, NULL, err, sizeof(err), &rc);
    CHECK_EQ_INT(rc, VG_OK);
    const struct vg_json *targets = vg_json_get(doc, "targets");
    CHECK_EQ_INT(vg_json_len(targets), 2);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(targets, 0), "provider")), "demo");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(targets, 0), "name")), "demo");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(targets, 1), "provider")), "?");
    vg_json_free(doc);
    rm_rf(state);
    free(state);
}

VG_TEST(report_errors)
{
    char *state = new_state_dir();
    char err[1024] = "";
    enum vg_err rc;
    /* no results directory */
    CHECK(build(state, NULL, err, sizeof(err), &rc) == NULL);
    CHECK_EQ_INT(rc, VG_ERR_NOENT);
    char want[1200];
    snprintf(want, sizeof(want), "no scan results in %s/results: run vigil scan first", state);
    CHECK_EQ_STR(err, want);
    /* an empty one */
    char dir[1100];
    snprintf(dir, sizeof(dir), "%s/results", state);
    CHECK(mkdir(dir, 0750) == 0);
    CHECK(build(state, "soc2", err, sizeof(err), &rc) == NULL);
    CHECK_EQ_INT(rc, VG_ERR_NOENT);
    CHECK_EQ_STR(err, want);
    /* results with no finding in them */
    put_results(state, "host-x.ndjson", "{\"event\":{\"dataset\":\"vigil.scan\"}}\ngarbage\n", 43);
    CHECK(build(state, NULL, err, sizeof(err), &rc) == NULL);
    CHECK_EQ_INT(rc, VG_ERR_NOENT);
    CHECK_CONTAINS(err, "no findings in the scan results in ");
    CHECK_CONTAINS(err, "(1 lines skipped)");
    /* an unknown framework names the known ones */
    CHECK(build(state, "soc3", err, sizeof(err), &rc) == NULL);
    CHECK_EQ_INT(rc, VG_ERR_INVALID);
    CHECK_EQ_STR(err, "--framework soc3: no such framework; known: cis_aws_3.0, cis_debian_12, "
                      "iso27001_2022, nist_800_53_r5, nist_csf_2.0, pci_dss_4.0, soc2");
    /* formats */
    CHECK_EQ_INT(vg_report_format_parse("table"), VG_REPORT_TABLE);
    CHECK_EQ_INT(vg_report_format_parse("json"), VG_REPORT_JSON);
    CHECK_EQ_INT(vg_report_format_parse("html"), VG_REPORT_HTML);
    CHECK_EQ_INT(vg_report_format_parse("HTML"), -1);
    CHECK_EQ_INT(vg_report_format_parse(NULL), -1);
    rm_rf(state);
    free(state);
}

VG_TEST(report_run_writes_to_a_stream)
{
    char *state = new_state_dir();
    load_fixture_into(state, "findings.ndjson");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct vg_report_opts o = { .state_dir = state, .catalog = catalog(), .framework = "soc2",
                                .format = VG_REPORT_JSON, .now_ms = NOW_MS };
    char err[512] = "";
    CHECK_EQ_INT(vg_report_run(&o, f, err, sizeof(err)), VG_OK);
    fclose(f);
    CHECK(len > 1000 && buf[len - 1] == '\n');
    CHECK_HAS(buf, "{\"generated\":\"2026-11-26T12:00:00.000Z\"");
    free(buf);
    /* a stream that cannot be written */
    f = fopen("/dev/full", "w");
    if (f) {
        o.format = VG_REPORT_HTML;
        CHECK_EQ_INT(vg_report_run(&o, f, err, sizeof(err)), VG_ERR_IO);
        CHECK_CONTAINS(err, "cannot write the report");
        fclose(f);
    }
    rm_rf(state);
    free(state);
}

VG_TEST(put_text_cuts_and_cleans)
{
    struct vg_buf b;
    vg_buf_init(&b, 1024);
    size_t cols;
    CHECK_EQ_INT(vg_report_put_text(&b, "abcdef", 4, 0, &cols), VG_OK);
    CHECK_EQ_STR(vg_buf_str(&b), "abc\xE2\x80\xA6");
    CHECK_EQ_INT(cols, 4);
    vg_buf_reset(&b);
    vg_report_put_text(&b, "abcd", 4, 6, &cols);   /* fits exactly: no cut; padded */
    CHECK_EQ_STR(vg_buf_str(&b), "abcd  ");
    CHECK_EQ_INT(cols, 6);
    vg_buf_reset(&b);
    vg_report_put_text(&b, "\xC3\xA9t\xC3\xA9 \xE2\x80\x94 ok", 5, 0, &cols);  /* UTF-8 */
    CHECK_EQ_STR(vg_buf_str(&b), "\xC3\xA9t\xC3\xA9 \xE2\x80\xA6");
    vg_buf_reset(&b);
    /* bad UTF-8: lone continuation, overlong, surrogate, truncated */
    vg_report_put_text(&b, "a\x80" "b\xC0\xAF" "c\xED\xA0\x80" "d\xE2\x82", 100, 0, NULL);
    CHECK_EQ_STR(vg_buf_str(&b), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD"
                                 "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                                 "d\xEF\xBF\xBD\xEF\xBF\xBD");
    vg_buf_reset(&b);
    vg_report_put_text(&b, "tab\there\xC2\x9B", 100, 0, NULL);   /* C1 CSI */
    CHECK_EQ_STR(vg_buf_str(&b), "tab\xEF\xBF\xBDhere\xEF\xBF\xBD");
    vg_buf_reset(&b);
    vg_report_put_text(&b, NULL, 10, 2, NULL);
    CHECK_EQ_STR(vg_buf_str(&b), "  ");
    vg_buf_free(&b);
}

VG_TEST_MAIN()
