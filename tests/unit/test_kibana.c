/*
 * `vigil setup --kibana`: the embedded assets are packaging/kibana/ byte for
 * byte; the saved objects and detection rules name only fields that Vigil's
 * documents carry and the index template maps; vg_kibana_setup() against
 * tests/kibana_server.py imports everything (twice without harm, into a
 * space, through a base path), reports refused objects one by one, and
 * says in one line what went wrong with credentials, privileges, an
 * unreachable or untrusted Kibana, or an answer that is not Kibana's.
 */
#include "vgtest.h"

#include "agent/json.h"
#include "agent/kibana.h"
#include "agent/timeutil.h"
#include "checks/rule.h"
#include "outputs/ecs.h"
#include "outputs/es/assets.h"

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

static char tmpdir[64];

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* true when s is one printable line */
static bool one_line(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return s != NULL;
}

static const struct vg_kibana_asset *asset(enum vg_kibana_asset_kind kind)
{
    for (size_t i = 0; i < vg_kibana_assets_count; i++)
        if (vg_kibana_assets[i].kind == kind)
            return &vg_kibana_assets[i];
    return NULL;
}

/* The lines of an asset, parsed: an array of objects. Caller frees. */
static struct vg_json *lines_of(enum vg_kibana_asset_kind kind)
{
    const struct vg_kibana_asset *a = asset(kind);
    struct vg_json *arr = vg_json_array();
    if (!a)
        return arr;
    const char *p = a->body;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n) {
            char err[256];
            struct vg_json *v = vg_json_parse(p, n, err, sizeof(err));
            if (!v)
                fprintf(stderr, "%s: %s\n", a->file, err);
            vg_json_push(arr, v ? v : vg_json_null());
        }
        p += n + (nl ? 1 : 0);
    }
    return arr;
}

static const struct vg_json *by_id(const struct vg_json *objs, const char *type, const char *id)
{
    for (size_t i = 0; i < vg_json_len(objs); i++) {
        const struct vg_json *o = vg_json_at(objs, i);
        const char *t = vg_json_get_str(vg_json_get(o, "type"));
        const char *oid = vg_json_get_str(vg_json_get(o, "id"));
        if (t && oid && (!type || strcmp(t, type) == 0) && strcmp(oid, id) == 0)
            return o;
    }
    return NULL;
}

/* A JSON attribute that holds JSON text, parsed; caller frees. */
static struct vg_json *json_attr(const struct vg_json *o, const char *key)
{
    const char *s = vg_json_get_str(vg_json_get(vg_json_get(o, "attributes"), key));
    char err[256];
    return s ? vg_json_parse(s, strlen(s), err, sizeof(err)) : NULL;
}

/* ---- the table is the files ------------------------------------------------ */

VG_TEST(assets_match_the_packaging_files)
{
    char path[1024];
    size_t files = 0;
    snprintf(path, sizeof(path), "%s/packaging/kibana", source_dir());
    DIR *d = opendir(path);
    CHECK(d != NULL);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 7 && strcmp(de->d_name + n - 7, ".ndjson") == 0) {
            files++;
            bool known = false;
            for (size_t i = 0; i < vg_kibana_assets_count; i++)
                known = known || strcmp(vg_kibana_assets[i].file, de->d_name) == 0;
            if (!known)
                fprintf(stderr, "packaging/kibana/%s is not in agent/kibana_assets.c\n", de->d_name);
            CHECK(known);
        }
    }
    if (d)
        closedir(d);
    CHECK_EQ_INT(files, vg_kibana_assets_count);
    CHECK_EQ_INT(vg_kibana_assets_count, 2);
    CHECK_EQ_INT(vg_kibana_assets[0].kind, VG_KIBANA_SAVED_OBJECTS);   /* data views first */
    for (size_t i = 0; i < vg_kibana_assets_count; i++) {
        const struct vg_kibana_asset *a = &vg_kibana_assets[i];
        struct vg_buf b;
        vg_buf_init(&b, 16u << 20);
        snprintf(path, sizeof(path), "%s/packaging/kibana/%s", source_dir(), a->file);
        CHECK_EQ_INT(vg_buf_read_file(&b, path), VG_OK);
        bool same = b.len == strlen(a->body) && memcmp(b.data, a->body, b.len) == 0;
        if (!same)
            fprintf(stderr, "agent/kibana_assets.c differs from %s: run tests/kibana/gen_assets.py\n",
                    path);
        CHECK(same);
        vg_buf_free(&b);
        struct vg_json *objs = lines_of(a->kind);
        CHECK_EQ_INT(vg_json_len(objs), a->count);
        for (size_t k = 0; k < vg_json_len(objs); k++)
            CHECK_EQ_INT(vg_json_type(vg_json_at(objs, k)), VG_JSON_OBJECT);
        vg_json_free(objs);
    }
    /* and the files are what the generator writes */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tests/kibana/gen_objects.py' --check",
             source_dir());
    CHECK_EQ_INT(sh(cmd), 0);
}

/* ---- the saved objects --------------------------------------------------------- */

VG_TEST(saved_objects_are_an_importable_export)
{
    struct vg_json *objs = lines_of(VG_KIBANA_SAVED_OBJECTS);
    size_t views = 0, lenses = 0, dashboards = 0;
    for (size_t i = 0; i < vg_json_len(objs); i++) {
        const struct vg_json *o = vg_json_at(objs, i);
        const char *type = vg_json_get_str(vg_json_get(o, "type"));
        const char *id = vg_json_get_str(vg_json_get(o, "id"));
        CHECK(type && id && *id);
        CHECK(vg_json_type(vg_json_get(o, "attributes")) == VG_JSON_OBJECT);
        /* the 8.x export format */
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(o, "coreMigrationVersion")), "8.8.0");
        CHECK(vg_json_get_str(vg_json_get(o, "typeMigrationVersion")) != NULL);
        CHECK(vg_json_get(o, "migrationVersion") == NULL);
        /* every reference is to an object of the file */
        const struct vg_json *refs = vg_json_get(o, "references");
        CHECK(vg_json_type(refs) == VG_JSON_ARRAY);
        for (size_t r = 0; r < vg_json_len(refs); r++) {
            const struct vg_json *ref = vg_json_at(refs, r);
            const char *rt = vg_json_get_str(vg_json_get(ref, "type"));
            const char *rid = vg_json_get_str(vg_json_get(ref, "id"));
            CHECK(rt && rid && vg_json_get_str(vg_json_get(ref, "name")));
            if (rt && rid && !by_id(objs, rt, rid)) {
                fprintf(stderr, "%s %s refers to %s %s, not in the file\n", type, id, rt, rid);
                CHECK(0);
            }
        }
        if (type && strcmp(type, "index-pattern") == 0)
            views++;
        else if (type && strcmp(type, "lens") == 0)
            lenses++;
        else if (type && strcmp(type, "dashboard") == 0)
            dashboards++;
        else
            CHECK(0);
        /* an object refers only to objects before it (import order) */
        for (size_t r = 0; r < vg_json_len(refs); r++) {
            const struct vg_json *ref = vg_json_at(refs, r);
            const char *rid = vg_json_get_str(vg_json_get(ref, "id"));
            for (size_t k = i; rid && k < vg_json_len(objs); k++)
                CHECK(strcmp(rid, vg_json_get_str(vg_json_get(vg_json_at(objs, k), "id"))) != 0);
        }
    }
    CHECK_EQ_INT(views, 2);
    CHECK_EQ_INT(dashboards, 1);
    CHECK(lenses >= 6);

    /* the data views, with fixed ids */
    const struct vg_json *f = by_id(objs, "index-pattern", "vigil-findings");
    const struct vg_json *s = by_id(objs, "index-pattern", "vigil-scan");
    CHECK(f && s);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(f, "attributes"), "title")),
                 "logs-vigil.findings-*");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(s, "attributes"), "title")),
                 "logs-vigil.scan-*");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(f, "attributes"), "timeFieldName")),
                 "@timestamp");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(s, "attributes"), "timeFieldName")),
                 "@timestamp");

    /* the dashboard: every panel a Lens object of the file, by reference */
    const struct vg_json *d = by_id(objs, "dashboard", "vigil-compliance-posture");
    CHECK(d != NULL);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(d, "attributes"), "title")),
                 "Vigil compliance posture");
    struct vg_json *panels = json_attr(d, "panelsJSON");
    CHECK(vg_json_type(panels) == VG_JSON_ARRAY);
    CHECK_EQ_INT(vg_json_len(panels), lenses);
    for (size_t i = 0; i < vg_json_len(panels); i++) {
        const struct vg_json *p = vg_json_at(panels, i);
        const char *key = vg_json_get_str(vg_json_get(p, "panelIndex"));
        const char *ref = vg_json_get_str(vg_json_get(p, "panelRefName"));
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(p, "type")), "lens");
        CHECK(key && ref);
        char name[256];
        snprintf(name, sizeof(name), "%s:%s", key ? key : "", ref ? ref : "");
        const struct vg_json *refs = vg_json_get(d, "references");
        bool found = false;
        for (size_t r = 0; r < vg_json_len(refs); r++)
            found = found || strcmp(vg_json_get_str(vg_json_get(vg_json_at(refs, r), "name")), name) == 0;
        CHECK(found);
        const struct vg_json *g = vg_json_get(p, "gridData");
        CHECK(vg_json_get_int(vg_json_get(g, "x")) + vg_json_get_int(vg_json_get(g, "w")) <= 48);
    }
    vg_json_free(panels);
    vg_json_free(objs);
}

/* The Lens column named id of the (only) layer of a lens object. */
static const struct vg_json *lens_layer(const struct vg_json *lens)
{
    const struct vg_json *layers = vg_json_get(vg_json_get(vg_json_get(vg_json_get(vg_json_get(
        lens, "attributes"), "state"), "datasourceStates"), "formBased"), "layers");
    return vg_json_at(layers, 0);
}

VG_TEST(posture_has_a_formula_per_framework_over_the_scan_summaries)
{
    struct vg_json *objs = lines_of(VG_KIBANA_SAVED_OBJECTS);
    const struct vg_json *lens = by_id(objs, "lens", "vigil-posture-by-framework");
    const struct vg_json *scan = by_id(objs, "index-pattern", "vigil-scan");
    CHECK(lens && scan);
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(vg_json_get(lens, "references"), 0) ?
                                 vg_json_get(vg_json_at(vg_json_get(lens, "references"), 0), "id")
                                                                            : NULL),
                 "vigil-scan");
    struct vg_json *rt = json_attr(scan, "runtimeFieldMap");
    CHECK(vg_json_type(rt) == VG_JSON_OBJECT);
    const struct vg_json *cols = vg_json_get(lens_layer(lens), "columns");
    size_t formulas = 0;
    for (size_t fw = 0; fw < vg_frameworks_count; fw++) {
        char safe[64], passed[128], failed[128], want[512], key[128];
        snprintf(safe, sizeof(safe), "%s", vg_frameworks[fw]);
        for (char *p = safe; *p; p++)
            if (*p == '.')
                *p = '_';
        snprintf(passed, sizeof(passed), "vigil.scan.posture.%s.passed", safe);
        snprintf(failed, sizeof(failed), "vigil.scan.posture.%s.failed", safe);
        snprintf(want, sizeof(want), "sum(%s) / (sum(%s) + sum(%s))", passed, passed, failed);
        /* the runtime fields read vigil.scan.frameworks.<fw> from _source */
        snprintf(key, sizeof(key), "['frameworks']['%s']", vg_frameworks[fw]);
        for (int w = 0; w < 2; w++) {
            const struct vg_json *r = vg_json_get(rt, w ? failed : passed);
            CHECK_EQ_STR(vg_json_get_str(vg_json_get(r, "type")), "long");
            CHECK_CONTAINS(vg_json_get_str(vg_json_get(vg_json_get(r, "script"), "source")), key);
            CHECK_CONTAINS(vg_json_get_str(vg_json_get(vg_json_get(r, "script"), "source")),
                           w ? "['failed']" : "['passed']");
        }
        /* one formula column, percent, whose math sums exactly these fields */
        const struct vg_json *fcol = NULL;
        for (size_t i = 0; i < vg_json_len(cols); i++) {
            const struct vg_json *c = vg_json_at(cols, i);
            const char *text = vg_json_get_str(vg_json_get(vg_json_get(c, "params"), "formula"));
            if (text && strcmp(text, want) == 0)
                fcol = c;
        }
        CHECK(fcol != NULL);
        if (!fcol)
            continue;
        formulas++;
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(vg_json_get(fcol, "params"), "format"),
                                                 "id")),
                     "percent");
        const char *math_id = vg_json_get_str(vg_json_at(vg_json_get(fcol, "references"), 0));
        const struct vg_json *math = vg_json_get(cols, math_id ? math_id : "");
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(math, "operationType")), "math");
        const struct vg_json *mrefs = vg_json_get(math, "references");
        CHECK_EQ_INT(vg_json_len(mrefs), 3);
        const char *src[3] = { passed, passed, failed };
        for (size_t k = 0; k < 3 && k < vg_json_len(mrefs); k++) {
            const struct vg_json *c = vg_json_get(cols, vg_json_get_str(vg_json_at(mrefs, k)));
            CHECK_EQ_STR(vg_json_get_str(vg_json_get(c, "operationType")), "sum");
            CHECK_EQ_STR(vg_json_get_str(vg_json_get(c, "sourceField")), src[k]);
        }
        /* divide(X0, add(X1, X2)) */
        const struct vg_json *ast = vg_json_get(vg_json_get(math, "params"), "tinymathAst");
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(ast, "name")), "divide");
        const struct vg_json *args = vg_json_get(ast, "args");
        CHECK_EQ_STR(vg_json_get_str(vg_json_at(args, 0)), vg_json_get_str(vg_json_at(mrefs, 0)));
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(args, 1), "name")), "add");
    }
    CHECK_EQ_INT(formulas, vg_frameworks_count);
    CHECK_EQ_INT(vg_json_len(rt), 2 * vg_frameworks_count);
    vg_json_free(rt);
    vg_json_free(objs);
}

/* ---- every field is in the documents and the mapping ---------------------------------- */

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

/* The mapped type of a leaf field: "keyword", "long", ...; "object" for an
 * object; NULL when unmapped. Inside a flattened field: "flattened-leaf". */
static const char *mapped_type(const char *path)
{
    const struct vg_json *props = vg_json_get(mappings(), "properties");
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", path);
    const struct vg_json *f = NULL;
    char *save = NULL;
    for (char *seg = strtok_r(buf, ".", &save); seg; seg = strtok_r(NULL, ".", &save)) {
        if (f && vg_json_get_str(vg_json_get(f, "type")) &&
            strcmp(vg_json_get_str(vg_json_get(f, "type")), "flattened") == 0)
            return "flattened-leaf";
        f = vg_json_get(props, seg);
        if (!f)
            return NULL;
        props = vg_json_get(f, "properties");
    }
    const char *t = vg_json_get_str(vg_json_get(f, "type"));
    return t ? t : props ? "object" : NULL;
}

/* Every leaf path of doc into set (an object used as a set). */
static void leaf_paths(const struct vg_json *v, char *path, size_t len, struct vg_json *set)
{
    if (vg_json_type(v) == VG_JSON_OBJECT) {
        for (size_t i = 0; i < vg_json_len(v); i++) {
            size_t n = (size_t)snprintf(path + len, 512 - len, "%s%s", len ? "." : "",
                                        vg_json_key_at(v, i));
            leaf_paths(vg_json_at(v, i), path, len + n, set);
            path[len] = '\0';
        }
    } else if (vg_json_type(v) == VG_JSON_ARRAY) {
        for (size_t i = 0; i < vg_json_len(v); i++)
            leaf_paths(vg_json_at(v, i), path, len, set);
    } else {
        vg_json_set(set, path, vg_json_bool(true));
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

/* The leaf paths of the documents Vigil writes: a host finding that
 * regressed, a cloud finding, the summaries of a host and a cloud scan
 * run by `vigil run` with an expired exception. Caller frees. */
static struct vg_json *document_fields(void)
{
    struct vg_json *set = vg_json_object();
    char err[512], path[512] = "";
    struct vg_ruleset *rs = vg_ruleset_new();
    if (vg_ruleset_load_string(rs, "t.yml", RULES, strlen(RULES), err, sizeof(err)) != VG_OK) {
        fprintf(stderr, "%s\n", err);
        vg_ruleset_destroy(rs);
        return set;
    }
    const struct vg_rule *rule = vg_ruleset_find(rs, "host.sshd.permit_root_login");
    struct vg_resource *res = vg_resource_new("host.sshd", "host://web-01/sshd", "sshd",
                                              "configuration", "linux-sshd");
    vg_json_set_str(res->doc, "PermitRootLogin", "yes");
    struct vg_eval_result er;
    memset(&er, 0, sizeof(er));
    vg_rule_eval(rule, res, &er);
    struct vg_target_info host = { .host_name = "web-01", .host_id = "abc", .os_family = "debian" };
    struct vg_target_info cloud = { .cloud_account_id = "123456789012", .cloud_account_name = "prod" };
    struct vg_scan_meta m;
    memset(&m, 0, sizeof(m));
    strcpy(m.scan_id, "6f1c1a52-2c4e-4c35-9d7a-0d7c9e2b6b11");
    m.started_ms = 1795687205123LL;
    m.agent_name = "scanner-01";
    m.agent_id = "0b7e8c1c-58e6-4b0e-9f55-0b0f43d1f3a7";
    m.namespace = "default";
    m.provider = "host";
    m.target = &host;
    struct vg_finding f = { .rule = rule, .resource = res, .result = &er, .has_previous = true,
                            .previous = VG_EVAL_PASSED };
    struct vg_json *doc = vg_ecs_finding_doc(&m, &f, 1795687206000LL);
    leaf_paths(doc, path, 0, set);
    vg_json_free(doc);

    struct vg_scan_stats ss;
    memset(&ss, 0, sizeof(ss));
    ss.ended_ms = m.started_ms + 5000;
    ss.by_eval[1] = 1;
    for (size_t i = 0; i < vg_frameworks_count && i < 16; i++)
        ss.by_framework[i][0] = ss.by_framework[i][1] = 1;
    ss.interval_s = 3600;
    ss.exceptions_expired = 1;
    struct vg_json *entries = vg_json_array();
    vg_json_push(entries, vg_json_str("/etc/vigil/vigil.yml:12: x (owner y, expired 2026-01-01)"));
    ss.expired_entries = entries;
    struct vg_json *sum = vg_ecs_summary_doc(&m, &ss);
    leaf_paths(sum, path, 0, set);
    /* the posture runtime fields read numbers there */
    const struct vg_json *fw = vg_json_get(vg_json_get(vg_json_get(sum, "vigil"), "scan"), "frameworks");
    CHECK_EQ_INT(vg_json_len(fw), vg_frameworks_count);
    for (size_t i = 0; i < vg_json_len(fw); i++) {
        CHECK_EQ_INT(vg_json_type(vg_json_get(vg_json_at(fw, i), "passed")), VG_JSON_INT);
        CHECK_EQ_INT(vg_json_type(vg_json_get(vg_json_at(fw, i), "failed")), VG_JSON_INT);
    }
    vg_json_free(sum);

    m.provider = "aws";
    m.target = &cloud;
    free(res->account);
    res->account = strdup("123456789012");
    doc = vg_ecs_finding_doc(&m, &f, 1795687206000LL);
    leaf_paths(doc, path, 0, set);
    vg_json_free(doc);
    sum = vg_ecs_summary_doc(&m, &ss);
    leaf_paths(sum, path, 0, set);
    vg_json_free(sum);

    vg_json_free(entries);
    vg_resource_destroy(res);
    vg_eval_result_clear(&er);
    vg_ruleset_destroy(rs);
    return set;
}

static int bad_fields;

/* A field an asset names must be mapped (a leaf, of a type that suits its
 * use when want is given) and written in Vigil's documents. */
static void check_field(const struct vg_json *docs, const char *where, const char *field,
                        const char *want)
{
    const char *t = mapped_type(field);
    bool ok = t && strcmp(t, "object") != 0 && strcmp(t, "flattened-leaf") != 0;
    if (ok && want)
        ok = strstr(want, t) != NULL;
    if (!ok) {
        fprintf(stderr, "%s: field %s is %s%s%s%s%s\n", where, field, t ? "mapped as " : "not mapped",
                t ? t : "", want ? " (wanted: " : "", want ? want : "", want ? ")" : "");
        bad_fields++;
    }
    /* event.ingested is set by the ingest pipeline, not by Vigil */
    if (!vg_json_get(docs, field) && strcmp(field, "event.ingested") != 0) {
        fprintf(stderr, "%s: no Vigil document has the field %s\n", where, field);
        bad_fields++;
    }
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '@';
}

/* The fields of a KQL query: the names before ':', '<' or '>'; checked,
 * with numbers compared by < and > and booleans by ": true|false". */
static size_t check_kql(const struct vg_json *docs, const char *where, const char *q)
{
    size_t n = 0;
    for (const char *p = q; p && *p;) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p)
                p++;
            continue;
        }
        if (!ident_char(*p) && *p != '*') {
            p++;
            continue;
        }
        const char *s = p;
        while (ident_char(*p) || *p == '*' || *p == '-')
            p++;
        const char *e = p;
        while (*p == ' ')
            p++;
        if (*p != ':' && *p != '<' && *p != '>')
            continue;
        char field[256];
        snprintf(field, sizeof(field), "%.*s", (int)(e - s), s);
        const char *want = NULL;
        if (*p == '<' || *p == '>')
            want = "long date";
        else {
            const char *v = p + 1;
            while (*v == ' ')
                v++;
            if (strncmp(v, "true", 4) == 0 || strncmp(v, "false", 5) == 0)
                want = "boolean";
        }
        check_field(docs, where, field, want);
        n++;
    }
    return n;
}

/* The fields of an ES|QL query after its FROM: dotted names and
 * @timestamp outside strings. */
static size_t check_esql(const struct vg_json *docs, const char *where, const char *q)
{
    size_t n = 0;
    const char *p = q ? strchr(q, '|') : NULL;
    while (p && *p) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p)
                p++;
            continue;
        }
        if (!ident_char(*p)) {
            p++;
            continue;
        }
        const char *s = p;
        while (ident_char(*p))
            p++;
        char tok[256];
        snprintf(tok, sizeof(tok), "%.*s", (int)(p - s), s);
        if ((strchr(tok, '.') && !(tok[0] >= '0' && tok[0] <= '9')) || strcmp(tok, "@timestamp") == 0) {
            check_field(docs, where, tok, NULL);
            n++;
        }
    }
    return n;
}

VG_TEST(every_field_is_written_by_vigil_and_mapped)
{
    CHECK(mappings() != NULL);
    struct vg_json *docs = document_fields();
    CHECK(vg_json_get(docs, "vigil.regression") != NULL);
    bad_fields = 0;

    /* Lens: columns, queries, filters */
    struct vg_json *objs = lines_of(VG_KIBANA_SAVED_OBJECTS);
    size_t nfields = 0;
    for (size_t i = 0; i < vg_json_len(objs); i++) {
        const struct vg_json *o = vg_json_at(objs, i);
        if (strcmp(vg_json_get_str(vg_json_get(o, "type")), "lens") != 0)
            continue;
        const char *id = vg_json_get_str(vg_json_get(o, "id"));
        const char *dv = vg_json_get_str(vg_json_get(vg_json_at(vg_json_get(o, "references"), 0), "id"));
        struct vg_json *rt = json_attr(by_id(objs, "index-pattern", dv ? dv : ""), "runtimeFieldMap");
        const struct vg_json *st = vg_json_get(vg_json_get(o, "attributes"), "state");
        nfields += check_kql(docs, id, vg_json_get_str(vg_json_get(vg_json_get(st, "query"), "query")));
        const struct vg_json *cols = vg_json_get(lens_layer(o), "columns");
        for (size_t c = 0; c < vg_json_len(cols); c++) {
            const struct vg_json *col = vg_json_at(cols, c);
            const char *op = vg_json_get_str(vg_json_get(col, "operationType"));
            const char *src = vg_json_get_str(vg_json_get(col, "sourceField"));
            nfields += check_kql(docs, id, vg_json_get_str(vg_json_get(vg_json_get(col, "filter"),
                                                                       "query")));
            if (!src || strcmp(src, "___records___") == 0)
                continue;
            nfields++;
            const struct vg_json *r = vg_json_get(rt, src);
            const char *want = strcmp(op, "terms") == 0          ? "keyword"
                               : strcmp(op, "sum") == 0          ? "long double"
                               : strcmp(op, "date_histogram") == 0 ? "date"
                               : strcmp(op, "max") == 0          ? "date long"
                               : strcmp(op, "unique_count") == 0 ? "keyword long"
                                                                 : NULL;
            if (r) {
                /* a runtime field of the data view, read from mapped fields */
                const char *t = vg_json_get_str(vg_json_get(r, "type"));
                CHECK(t && want && strstr(want, t));
                CHECK_EQ_STR(mapped_type("vigil.scan.frameworks"), "flattened");
                CHECK(vg_json_get(docs, "vigil.scan.frameworks.soc2.passed") != NULL);
            } else {
                check_field(docs, id, src, want);
            }
        }
        vg_json_free(rt);
    }
    CHECK(nfields > 20);

    /* detection rules: queries, mappings, timestamp override */
    struct vg_json *rules = lines_of(VG_KIBANA_DETECTION_RULES);
    for (size_t i = 0; i < vg_json_len(rules); i++) {
        const struct vg_json *r = vg_json_at(rules, i);
        const char *id = vg_json_get_str(vg_json_get(r, "rule_id"));
        const char *lang = vg_json_get_str(vg_json_get(r, "language"));
        const char *q = vg_json_get_str(vg_json_get(r, "query"));
        size_t n = lang && strcmp(lang, "esql") == 0 ? check_esql(docs, id, q) : check_kql(docs, id, q);
        CHECK(n >= 2);
        const char *ts = vg_json_get_str(vg_json_get(r, "timestamp_override"));
        if (ts)
            check_field(docs, id, ts, "date");
        const struct vg_json *sm = vg_json_get(r, "severity_mapping");
        for (size_t k = 0; k < vg_json_len(sm); k++)
            check_field(docs, id, vg_json_get_str(vg_json_get(vg_json_at(sm, k), "field")), "keyword");
        const struct vg_json *rm = vg_json_get(r, "risk_score_mapping");
        for (size_t k = 0; k < vg_json_len(rm); k++)
            check_field(docs, id, vg_json_get_str(vg_json_get(vg_json_at(rm, k), "field")), "long");
    }
    CHECK_EQ_INT(bad_fields, 0);
    vg_json_free(rules);
    vg_json_free(objs);
    vg_json_free(docs);
}

/* ---- the detection rules ----------------------------------------------------------- */

VG_TEST(detection_rules_are_in_the_import_format)
{
    struct vg_json *rules = lines_of(VG_KIBANA_DETECTION_RULES);
    CHECK_EQ_INT(vg_json_len(rules), 4);
    const char *want[][2] = {
        { "vigil-finding-failed-critical-high", "query" },
        { "vigil-finding-regressed", "query" },
        { "vigil-exception-expired", "query" },
        { "vigil-agent-stopped-scanning", "esql" },
    };
    static const char *const sev[] = { "low", "medium", "high", "critical" };
    static const int risk[] = { 21, 47, 73, 99 };
    for (size_t w = 0; w < 4; w++) {
        const struct vg_json *r = NULL;
        for (size_t i = 0; i < vg_json_len(rules); i++)
            if (strcmp(vg_json_get_str(vg_json_get(vg_json_at(rules, i), "rule_id")), want[w][0]) == 0) {
                CHECK(r == NULL);   /* rule_id appears once */
                r = vg_json_at(rules, i);
            }
        CHECK(r != NULL);
        if (!r)
            continue;
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(r, "type")), want[w][1]);
        const char *fields[] = { "name", "description", "severity", "interval", "from", "license",
                                 "query", "language" };
        for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
            const char *v = vg_json_get_str(vg_json_get(r, fields[k]));
            CHECK(v && *v);
        }
        const char *lists[] = { "tags", "references", "author" };
        for (size_t k = 0; k < 3; k++)
            CHECK_EQ_INT(vg_json_type(vg_json_get(r, lists[k])), VG_JSON_ARRAY);
        CHECK(vg_json_get_int(vg_json_get(r, "version")) >= 1);
        /* severity and risk score on the detection engine's scale */
        int s = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(vg_json_get_str(vg_json_get(r, "severity")), sev[k]) == 0)
                s = k;
        CHECK(s >= 0);
        if (s >= 0)
            CHECK_EQ_INT(vg_json_get_int(vg_json_get(r, "risk_score")), risk[s]);
        /* shipped disabled: the rule runs with the key of whoever enables it */
        CHECK(vg_json_get(r, "enabled") && !vg_json_get_bool(vg_json_get(r, "enabled")));
        const char *q = vg_json_get_str(vg_json_get(r, "query"));
        if (strcmp(want[w][1], "query") == 0) {
            CHECK_EQ_STR(vg_json_get_str(vg_json_get(r, "language")), "kuery");
            CHECK(vg_json_len(vg_json_get(r, "index")) == 1);
            CHECK(vg_json_get(r, "timestamp_override") != NULL);
        } else {
            CHECK_EQ_STR(vg_json_get_str(vg_json_get(r, "language")), "esql");
            CHECK(vg_json_get(r, "index") == NULL);
            CHECK(strncmp(q, "FROM logs-vigil.scan-*", 22) == 0);
            CHECK_CONTAINS(q, "MAX(@timestamp)");
            CHECK_CONTAINS(q, "vigil.scan.interval_s");
            CHECK_CONTAINS(q, "BY agent.id");
            CHECK_CONTAINS(q, "2 * interval_s");
            /* the look-back covers twice a daily interval */
            CHECK_EQ_STR(vg_json_get_str(vg_json_get(r, "from")), "now-7d");
        }
    }
    CHECK_CONTAINS(vg_json_get_str(vg_json_get(vg_json_at(rules, 1), "query")), "vigil.regression : true");
    CHECK_CONTAINS(vg_json_get_str(vg_json_get(vg_json_at(rules, 2), "query")),
                   "vigil.scan.exceptions.expired > 0");
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(vg_json_get(vg_json_at(rules, 2), "index"), 0)),
                 "logs-vigil.scan-*");
    vg_json_free(rules);
}

/* ---- against the test server ----------------------------------------------------- */

struct server {
    pid_t pid;
    int port;
};

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
    snprintf(script, sizeof(script), "%s/tests/kibana_server.py", source_dir());
    const char *argv[24] = { "/usr/bin/python3", script, "--port", "0", "--port-file", portfile,
                             "--quiet" };
    int n = 7;
    for (int i = 0; extra && extra[i] && n < 23; i++)
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

/* A control call to the server (plain HTTP); the answer parsed. */
static struct vg_json *control(const struct server *s, const char *path, const char *post)
{
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    struct vg_buf b;
    vg_buf_init(&b, 64u << 20);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    if (post)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
    curl_easy_perform(e);
    curl_easy_cleanup(e);
    char err[256];
    struct vg_json *v = vg_json_parse(b.data ? b.data : "", b.len, err, sizeof(err));
    vg_buf_free(&b);
    return v;
}

static void set_mode(const struct server *s, const char *mode)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"mode\":\"%s\"}", mode);
    vg_json_free(control(s, "/_test/mode", body));
}

static char *es_hosts[1];
static char es_url[128] = "http://127.0.0.1:9";   /* never contacted: only its settings are used */

static void es_cfg(struct vg_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    es_hosts[0] = es_url;
    cfg->outputs.es.enabled = true;
    cfg->outputs.es.hosts = es_hosts;
    cfg->outputs.es.nhosts = 1;
    cfg->outputs.es.ssl_verify = true;
    cfg->outputs.es.timeout_s = 10;
    cfg->outputs.namespace = "default";
    cfg->agent.state_dir = tmpdir;
}

static char *run(const struct vg_config *cfg, const char *url, bool dry, enum vg_err *err,
                 char *errbuf, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    *err = vg_kibana_setup(cfg, url, dry, out, errbuf, errlen);
    fclose(out);
    return text;
}

static size_t count_in(const struct vg_json *by_space, const char *space)
{
    return vg_json_len(vg_json_get(by_space, space));
}

/* A file upload as a client other than Vigil's might send it. */
static struct vg_json *post_file(const struct server *s, const char *path, const char *filename,
                                 const char *body, bool xsrf, long *status)
{
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    struct vg_buf b;
    vg_buf_init(&b, 1u << 20);
    CURL *e = curl_easy_init();
    struct curl_slist *h = xsrf ? curl_slist_append(NULL, "kbn-xsrf: yes") : NULL;
    curl_mime *mime = curl_mime_init(e);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "file");
    curl_mime_filename(part, filename);
    curl_mime_data(part, body, CURL_ZERO_TERMINATED);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    *status = 0;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    curl_mime_free(mime);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    char err[256];
    struct vg_json *v = vg_json_parse(b.data ? b.data : "", b.len, err, sizeof(err));
    vg_buf_free(&b);
    return v;
}

static const char *error_type(const struct vg_json *ans, size_t i)
{
    return vg_json_get_str(vg_json_get(vg_json_get(vg_json_at(vg_json_get(ans, "errors"), i), "error"),
                                       "type"));
}

/* The test server refuses what Kibana would refuse (or could not render):
 * otherwise the import tests above could not fail. */
VG_TEST(test_server_refuses_what_kibana_refuses)
{
    struct server s;
    CHECK_EQ_INT(server_start(&s, NULL), 0);
    long st;
    const char *so = "/api/saved_objects/_import?overwrite=true";
    const char *dv = "{\"type\":\"index-pattern\",\"id\":\"dv\",\"attributes\":{\"title\":\"logs-*\"},"
                     "\"references\":[]}\n";
    struct vg_json *a = post_file(&s, so, "x.ndjson", dv, false, &st);
    CHECK_EQ_INT(st, 400);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(a, "message")), "Request must contain a kbn-xsrf header.");
    vg_json_free(a);
    a = post_file(&s, so, "x.json", dv, true, &st);
    CHECK_EQ_INT(st, 400);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(a, "message")), "Invalid file extension .json");
    vg_json_free(a);
    a = post_file(&s, so, "x.ndjson", "{\"type\":\"index-pattern\",\n", true, &st);
    CHECK_EQ_INT(st, 400);
    vg_json_free(a);

    /* per object: a reference out of the file, a lens layer without its
     * data view, a panel without its reference, a version from the future */
    const char *bad =
        "{\"type\":\"dashboard\",\"id\":\"d1\",\"attributes\":{\"title\":\"t\",\"panelsJSON\":\"[]\"},"
        "\"references\":[{\"type\":\"index-pattern\",\"id\":\"nope\",\"name\":\"x\"}]}\n"
        "{\"type\":\"lens\",\"id\":\"l1\",\"attributes\":{\"title\":\"t\",\"visualizationType\":\"lnsXY\","
        "\"state\":{\"query\":{\"language\":\"kuery\",\"query\":\"\"},\"datasourceStates\":{\"formBased\":"
        "{\"layers\":{\"L\":{\"columnOrder\":[],\"columns\":{}}}}},\"visualization\":{}}},\"references\":[]}\n"
        "{\"type\":\"dashboard\",\"id\":\"d2\",\"attributes\":{\"title\":\"t\",\"panelsJSON\":"
        "\"[{\\\"type\\\":\\\"lens\\\",\\\"panelIndex\\\":\\\"p\\\",\\\"gridData\\\":{\\\"x\\\":0,"
        "\\\"y\\\":0,\\\"w\\\":8,\\\"h\\\":8,\\\"i\\\":\\\"p\\\"},\\\"panelRefName\\\":\\\"panel_p\\\"}]\"},"
        "\"references\":[]}\n"
        "{\"type\":\"index-pattern\",\"id\":\"dv2\",\"attributes\":{\"title\":\"x\"},\"references\":[],"
        "\"typeMigrationVersion\":\"99.0.0\"}\n"
        "{\"type\":\"canvas-workpad\",\"id\":\"c\",\"attributes\":{},\"references\":[]}\n";
    a = post_file(&s, so, "x.ndjson", bad, true, &st);
    CHECK_EQ_INT(st, 200);
    CHECK(!vg_json_get_bool(vg_json_get(a, "success")));
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(a, "successCount")), 0);
    CHECK_EQ_INT(vg_json_len(vg_json_get(a, "errors")), 5);
    CHECK_EQ_STR(error_type(a, 0), "unsupported_type");
    CHECK_EQ_STR(error_type(a, 1), "missing_references");
    CHECK_EQ_STR(error_type(a, 2), "unknown");   /* the lens layer */
    CHECK_EQ_STR(error_type(a, 3), "unknown");   /* the panel */
    CHECK_EQ_STR(error_type(a, 4), "unknown");   /* 99.0.0 */
    vg_json_free(a);

    /* rules: required fields by type */
    const char *rules =
        "{\"rule_id\":\"q\",\"name\":\"n\",\"description\":\"d\",\"risk_score\":21,\"severity\":\"low\","
        "\"type\":\"query\",\"language\":\"kuery\",\"query\":\"a : 1\"}\n"
        "{\"rule_id\":\"e\",\"name\":\"n\",\"description\":\"d\",\"risk_score\":21,\"severity\":\"low\","
        "\"type\":\"esql\",\"language\":\"kuery\",\"query\":\"FROM x\"}\n"
        "{\"rule_id\":\"s\",\"name\":\"n\",\"description\":\"d\",\"risk_score\":101,\"severity\":\"low\","
        "\"type\":\"query\",\"language\":\"kuery\",\"query\":\"a\",\"index\":[\"x\"]}\n"
        "{\"rule_id\":\"ok\",\"name\":\"n\",\"description\":\"d\",\"risk_score\":21,\"severity\":\"low\","
        "\"type\":\"eql\",\"language\":\"eql\",\"query\":\"any where true\",\"index\":[\"x\"]}\n"
        "{\"rule_id\":\"ok\",\"name\":\"n\",\"description\":\"d\",\"risk_score\":21,\"severity\":\"low\","
        "\"type\":\"eql\",\"language\":\"eql\",\"query\":\"any where true\",\"index\":[\"x\"]}\n";
    a = post_file(&s, "/api/detection_engine/rules/_import", "r.ndjson", rules, true, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(a, "success_count")), 1);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(a, "rules_count")), 5);
    const struct vg_json *errs = vg_json_get(a, "errors");
    CHECK_EQ_INT(vg_json_len(errs), 4);
    const char *says[] = { "index: Required", "language: Invalid literal value", "risk_score",
                           "More than one rule" };
    for (size_t i = 0; i < 4 && i < vg_json_len(errs); i++)
        CHECK_CONTAINS(vg_json_get_str(vg_json_get(vg_json_get(vg_json_at(errs, i), "error"),
                                                   "message")),
                       says[i]);
    vg_json_free(a);
    /* without overwrite, an existing rule is a conflict */
    a = post_file(&s, "/api/detection_engine/rules/_import", "r.ndjson", rules, true, &st);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(vg_json_get(vg_json_at(vg_json_get(a, "errors"), 3), "error"),
                                             "status_code")),
                 409);
    vg_json_free(a);
    server_stop(&s);
}

VG_TEST(imports_everything_twice_without_harm)
{
    struct server s;
    const char *args[] = { "--api-keys", "vigil-id:s3cr3t-key-value", NULL };
    CHECK_EQ_INT(server_start(&s, args), 0);
    struct vg_config cfg;
    es_cfg(&cfg);
    cfg.outputs.es.api_key = "vigil-id:s3cr3t-key-value";
    char url[128], errbuf[1024] = "", line[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    enum vg_err err;
    for (int round = 0; round < 2; round++) {
        char *text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
        CHECK_EQ_INT(err, VG_OK);
        if (err)
            fprintf(stderr, "kibana setup: %s\n", errbuf);
        snprintf(line, sizeof(line),
                 "saved objects vigil-dashboards.ndjson: 10 of 10 imported into 127.0.0.1:%d\n",
                 s.port);
        CHECK_CONTAINS(text, line);
        snprintf(line, sizeof(line),
                 "detection rules vigil-detection-rules.ndjson: 4 of 4 imported into 127.0.0.1:%d\n",
                 s.port);
        CHECK_CONTAINS(text, line);
        free(text);
        struct vg_json *o = control(&s, "/_test/objects", NULL);
        struct vg_json *r = control(&s, "/_test/rules", NULL);
        CHECK_EQ_INT(count_in(o, "default"), 10);
        CHECK_EQ_INT(count_in(r, "default"), 4);
        CHECK(vg_json_get(vg_json_get(o, "default"), "dashboard/vigil-compliance-posture") != NULL);
        CHECK(vg_json_get(vg_json_get(r, "default"), "vigil-agent-stopped-scanning") != NULL);
        vg_json_free(o);
        vg_json_free(r);
    }
    /* what went over the wire */
    struct vg_json *log = control(&s, "/_test/requests", NULL);
    CHECK_EQ_INT(vg_json_len(log), 4);
    for (size_t i = 0; i < vg_json_len(log); i++) {
        const struct vg_json *q = vg_json_at(log, i);
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(q, "method")), "POST");
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(q, "query")), "overwrite=true");
        CHECK(vg_json_get_bool(vg_json_get(q, "kbn_xsrf")));
        CHECK(strncmp(vg_json_get_str(vg_json_get(q, "content_type")), "multipart/form-data; boundary=",
                      30) == 0);
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(q, "part_type")), "application/ndjson");
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(q, "headers"), "authorization")),
                     "ApiKey");
        CHECK_EQ_INT(vg_json_get_int(vg_json_get(q, "status")), 200);
        bool so = i % 2 == 0;
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(q, "path")),
                     so ? "/api/saved_objects/_import" : "/api/detection_engine/rules/_import");
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(q, "filename")),
                     so ? "vigil-dashboards.ndjson" : "vigil-detection-rules.ndjson");
        CHECK_EQ_INT(vg_json_get_int(vg_json_get(q, "lines")), so ? 10 : 4);
    }
    vg_json_free(log);
    server_stop(&s);
}

VG_TEST(dry_run_sends_nothing_and_shows_no_secret)
{
    struct server s;
    CHECK_EQ_INT(server_start(&s, NULL), 0);
    struct vg_config cfg;
    es_cfg(&cfg);
    cfg.outputs.es.api_key = "vigil-id:s3cr3t-key-value";
    char url[128], errbuf[1024] = "", line[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/s/sec", s.port);
    enum vg_err err;
    char *text = run(&cfg, url, true, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    snprintf(line, sizeof(line),
             "POST http://127.0.0.1:%d/s/sec/api/saved_objects/_import?overwrite=true\n", s.port);
    CHECK_CONTAINS(text, line);
    snprintf(line, sizeof(line),
             "POST http://127.0.0.1:%d/s/sec/api/detection_engine/rules/_import?overwrite=true\n",
             s.port);
    CHECK_CONTAINS(text, line);
    CHECK_CONTAINS(text, "kbn-xsrf: true\n");
    CHECK_CONTAINS(text, "Content-Type: multipart/form-data\n");
    CHECK_CONTAINS(text, "vigil-dashboards.ndjson, application/ndjson, 10 objects");
    CHECK_CONTAINS(text, "vigil-detection-rules.ndjson, application/ndjson, 4 objects");
    CHECK_CONTAINS(text, "Authorization: ApiKey <hidden>\n");
    CHECK(strstr(text, "s3cr3t") == NULL);
    CHECK(strstr(text, "dmlnaWwtaWQ6czNjcjN0") == NULL);   /* base64 of the key */
    CHECK(strstr(text, "\"attributes\"") == NULL);          /* not the bodies */
    free(text);
    /* basic credentials: the scheme, not the password */
    cfg.outputs.es.api_key = NULL;
    cfg.outputs.es.username = "vigil";
    cfg.outputs.es.password = "pa55word";
    text = run(&cfg, url, true, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    CHECK_CONTAINS(text, "Authorization: Basic <hidden>\n");
    CHECK(strstr(text, "pa55word") == NULL);
    free(text);
    struct vg_json *log = control(&s, "/_test/requests", NULL);
    CHECK_EQ_INT(vg_json_len(log), 0);
    vg_json_free(log);
    server_stop(&s);
}

VG_TEST(space_and_base_path)
{
    struct server s;
    const char *args[] = { "--spaces", "sec", "--base-path", "/kibana", NULL };
    CHECK_EQ_INT(server_start(&s, args), 0);
    struct vg_config cfg;
    es_cfg(&cfg);
    char url[128], errbuf[1024] = "", line[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/kibana/s/sec/", s.port);
    enum vg_err err;
    char *text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    snprintf(line, sizeof(line), "10 of 10 imported into 127.0.0.1:%d space sec\n", s.port);
    CHECK_CONTAINS(text, line);
    free(text);
    struct vg_json *o = control(&s, "/_test/objects", NULL);
    CHECK_EQ_INT(count_in(o, "sec"), 10);
    CHECK_EQ_INT(count_in(o, "default"), 0);
    vg_json_free(o);
    struct vg_json *r = control(&s, "/_test/rules", NULL);
    CHECK_EQ_INT(count_in(r, "sec"), 4);
    vg_json_free(r);
    struct vg_json *log = control(&s, "/_test/requests", NULL);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(log, 0), "path")),
                 "/kibana/s/sec/api/saved_objects/_import");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(log, 1), "space")), "sec");
    vg_json_free(log);

    /* a space Kibana does not have */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/kibana/s/nope", s.port);
    text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_IO);
    CHECK_CONTAINS(errbuf, "HTTP 404");
    CHECK_CONTAINS(errbuf, "space nope");
    CHECK_CONTAINS(errbuf, "is the space id right?");
    CHECK(one_line(errbuf));
    free(text);
    server_stop(&s);
}

VG_TEST(refused_objects_are_reported_one_by_one)
{
    /* a Kibana without Lens and before ES|QL rules */
    struct server s;
    const char *args[] = { "--without-types", "lens", "--no-esql", NULL };
    CHECK_EQ_INT(server_start(&s, args), 0);
    struct vg_config cfg;
    es_cfg(&cfg);
    char url[128], errbuf[1024] = "";
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    enum vg_err err;
    char *text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_IO);
    CHECK(one_line(errbuf));
    CHECK_CONTAINS(errbuf, "saved objects: Kibana imported 2 of 10 and refused 8");
    CHECK_CONTAINS(errbuf, "first: saved object lens vigil-posture-by-framework: unsupported_type");
    CHECK_CONTAINS(text, "  saved object lens vigil-failed-by-rule: unsupported_type\n");
    CHECK_CONTAINS(text, "  saved object dashboard vigil-compliance-posture: missing_references: "
                         "lens vigil-posture-by-framework, lens vigil-failed-by-severity");
    CHECK_CONTAINS(text, "saved objects vigil-dashboards.ndjson: 2 of 10 imported into");
    /* the rules were imported all the same, but the ES|QL one */
    CHECK_CONTAINS(text, "  detection rule vigil-agent-stopped-scanning: HTTP 400: type: Invalid "
                         "enum value.");
    CHECK_CONTAINS(text, "detection rules vigil-detection-rules.ndjson: 3 of 4 imported into");
    free(text);
    struct vg_json *r = control(&s, "/_test/rules", NULL);
    CHECK_EQ_INT(count_in(r, "default"), 3);
    vg_json_free(r);
    server_stop(&s);
}

VG_TEST(credentials_privileges_and_no_output)
{
    struct server s;
    const char *args[] = { "--users", "vigil:right,reader:pw", "--read-only", "reader", NULL };
    CHECK_EQ_INT(server_start(&s, args), 0);
    struct vg_config cfg;
    es_cfg(&cfg);
    cfg.outputs.es.username = "vigil";
    cfg.outputs.es.password = "wrong-pass";
    char url[128], errbuf[1024] = "";
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    enum vg_err err;
    char *text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_PERM);
    CHECK_CONTAINS(errbuf, "Kibana refused the credentials (HTTP 401 Unauthorized: [security_exception");
    CHECK(one_line(errbuf));   /* Kibana's message has newlines and tabs */
    CHECK(strstr(errbuf, "wrong-pass") == NULL);
    CHECK(strstr(text, "wrong-pass") == NULL);
    free(text);

    cfg.outputs.es.username = "reader";
    cfg.outputs.es.password = "pw";
    text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_PERM);
    CHECK_CONTAINS(errbuf, "HTTP 403 Forbidden");
    CHECK_CONTAINS(errbuf, "the user needs");
    free(text);

    cfg.outputs.es.username = "vigil";
    cfg.outputs.es.password = "right";
    text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    free(text);
    struct vg_json *log = control(&s, "/_test/requests", NULL);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(vg_json_at(log, 2), "headers"),
                                             "authorization")),
                 "Basic");
    vg_json_free(log);
    server_stop(&s);

    /* no outputs.elasticsearch: no credentials at all */
    CHECK_EQ_INT(server_start(&s, NULL), 0);
    memset(&cfg, 0, sizeof(cfg));
    snprintf(url, sizeof(url), "127.0.0.1:%d", s.port);   /* http without TLS settings */
    text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    free(text);
    text = run(NULL, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    free(text);
    log = control(&s, "/_test/requests", NULL);
    CHECK_EQ_INT(vg_json_len(log), 4);
    CHECK(vg_json_get(vg_json_get(vg_json_at(log, 0), "headers"), "authorization") == NULL);
    vg_json_free(log);
    server_stop(&s);

    /* unusable Elasticsearch settings are a configuration error */
    es_cfg(&cfg);
    cfg.outputs.es.username = "vigil";
    text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_CONFIG);
    CHECK_CONTAINS(errbuf, "username and password go together");
    free(text);
}

VG_TEST(unreachable_and_answers_that_are_not_kibanas)
{
    struct vg_config cfg;
    es_cfg(&cfg);
    char url[128], errbuf[1024] = "";
    enum vg_err err;
    char *text = run(&cfg, "http://127.0.0.1:1", false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_IO);
    CHECK_CONTAINS(errbuf, "127.0.0.1:1");
    CHECK(one_line(errbuf));
    free(text);

    struct server s;
    CHECK_EQ_INT(server_start(&s, NULL), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    static const struct {
        const char *mode;
        enum vg_err err;
        const char *says;
    } cases[] = {
        { "500", VG_ERR_IO, "saved objects: Kibana answered HTTP 500: Internal Server Error: An "
                            "internal server error occurred." },
        { "401", VG_ERR_PERM, "HTTP 401" },
        { "403", VG_ERR_PERM, "HTTP 403" },
        { "truncated", VG_ERR_IO, "the answer to POST /api/saved_objects/_import?overwrite=true was "
                                  "cut short" },
        { "notjson", VG_ERR_PARSE, "Kibana's answer (HTTP 200) is not JSON" },
        { "cutjson", VG_ERR_PARSE, "Kibana's answer (HTTP 200) is not JSON" },
        { "empty", VG_ERR_PARSE, "empty body" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        set_mode(&s, cases[i].mode);
        text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
        CHECK_EQ_INT(err, cases[i].err);
        CHECK_CONTAINS(errbuf, cases[i].says);
        CHECK(one_line(errbuf));
        if (err != cases[i].err || !strstr(errbuf, cases[i].says))
            fprintf(stderr, "mode %s: %s\n", cases[i].mode, errbuf);
        free(text);
    }
    CHECK_CONTAINS(errbuf, "Kibana 127.0.0.1:");   /* which Kibana */
    /* the first failure stops: the rules were not sent */
    set_mode(&s, "ok");
    struct vg_json *log = control(&s, "/_test/requests", NULL);
    for (size_t i = 0; i < vg_json_len(log); i++)
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(log, i), "path")),
                     "/api/saved_objects/_import");
    vg_json_free(log);
    server_stop(&s);
}

VG_TEST(bad_urls_are_refused_before_anything_is_sent)
{
    struct vg_config cfg;
    es_cfg(&cfg);
    char errbuf[1024];
    enum vg_err err;
    static const struct {
        const char *url, *says;
    } cases[] = {
        { "", "a Kibana URL is required" },
        { "ftp://kibana:21", "the scheme must be http or https" },
        { "https://elastic:changeme@kibana:5601", "put no credentials in the URL" },
        { "https://kibana:5601/?x=1", "without a query" },
        { "https://kibana:5601/app/dashboards", "not the address of a page" },
        { "https://kibana:5601/s/sec/app/home", "not the address of a page" },
        { "https://kibana:5601/api/saved_objects/_import", "not the address of a page or an API" },
        { "https://kibana:5601/s/Sec", "followed by a space id" },
        { "https://kibana:5601/s/", "followed by a space id" },
        { "https://kibana 5601", "a space or a control character" },
        { "http://[::1", "is not a URL" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = run(&cfg, cases[i].url, false, &err, errbuf, sizeof(errbuf));
        CHECK_EQ_INT(err, VG_ERR_CONFIG);
        CHECK_CONTAINS(errbuf, cases[i].says);
        CHECK(strstr(errbuf, "changeme") == NULL);
        CHECK(one_line(errbuf));
        CHECK_EQ_STR(text, "");
        free(text);
    }
    char *text = run(&cfg, NULL, true, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_CONFIG);
    free(text);
    /* a long one */
    char *big = malloc(VG_KIBANA_MAX_URL + 100);
    memset(big, 'a', VG_KIBANA_MAX_URL + 99);
    memcpy(big, "https://", 8);
    big[VG_KIBANA_MAX_URL + 99] = '\0';
    text = run(&cfg, big, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_CONFIG);
    CHECK_CONTAINS(errbuf, "longer than");
    free(text);
    free(big);
}

/* ---- TLS ----------------------------------------------------------------------- */

VG_TEST(tls_is_verified_unless_the_ca_is_named)
{
    char dir[256], cmd[2048], cert[300], key[300];
    snprintf(dir, sizeof(dir), "%s/tls", tmpdir);
    mkdir(dir, 0700);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem "
             "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >log 2>&1",
             dir);
    CHECK_EQ_INT(sh(cmd), 0);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    struct server s;
    const char *args[] = { "--tls-cert", cert, "--tls-key", key, NULL };
    CHECK_EQ_INT(server_start(&s, args), 0);
    struct vg_config cfg;
    es_cfg(&cfg);
    char url[128], errbuf[1024] = "";
    enum vg_err err;

    /* a self-signed certificate: refused by default */
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", s.port);
    char *text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_IO);
    CHECK_CONTAINS(errbuf, "TLS: certificate of 127.0.0.1:");
    CHECK(one_line(errbuf));
    free(text);
    /* without outputs.elasticsearch too */
    struct vg_config none;
    memset(&none, 0, sizeof(none));
    text = run(&none, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_ERR_IO);
    CHECK_CONTAINS(errbuf, "TLS:");
    free(text);

    /* ssl.ca names it: accepted; with a CA set, a URL without scheme is https */
    cfg.outputs.es.ssl_ca = cert;
    snprintf(url, sizeof(url), "127.0.0.1:%d", s.port);
    text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    if (err)
        fprintf(stderr, "tls: %s\n", errbuf);
    free(text);

    /* ssl.verify: false accepts anything */
    cfg.outputs.es.ssl_ca = NULL;
    cfg.outputs.es.ssl_verify = false;
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", s.port);
    text = run(&cfg, url, false, &err, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    free(text);
    server_stop(&s);
}

/* ---- the answer parser, with hostile input ------------------------------------------------ */

VG_TEST(answers_read_as_kibana_documents_them)
{
    char errbuf[512];
    size_t imported = 99;
    const char *ok = "{\"successCount\":10,\"success\":true,\"warnings\":[],\"successResults\":[]}";
    CHECK_EQ_INT(vg_kibana_read_answer(VG_KIBANA_SAVED_OBJECTS, 200, ok, strlen(ok), 10, NULL,
                                       &imported, errbuf, sizeof(errbuf)),
                 VG_OK);
    CHECK_EQ_INT(imported, 10);
    const char *rok = "{\"success\":true,\"success_count\":4,\"rules_count\":4,\"errors\":[],"
                      "\"exceptions_errors\":[],\"exceptions_success\":true}";
    CHECK_EQ_INT(vg_kibana_read_answer(VG_KIBANA_DETECTION_RULES, 200, rok, strlen(rok), 4, NULL,
                                       &imported, errbuf, sizeof(errbuf)),
                 VG_OK);
    /* fewer than sent, without a word */
    CHECK_EQ_INT(vg_kibana_read_answer(VG_KIBANA_DETECTION_RULES, 200, rok, strlen(rok), 5, NULL,
                                       &imported, errbuf, sizeof(errbuf)),
                 VG_ERR_IO);
    CHECK_CONTAINS(errbuf, "imported 4 of 5 and said nothing of the others");
    /* conflicts and unknown errors */
    const char *conf = "{\"successCount\":0,\"success\":false,\"errors\":[{\"id\":\"a\",\"type\":\"lens\","
                       "\"error\":{\"type\":\"conflict\"}},{\"id\":\"b\",\"type\":\"dashboard\",\"error\":"
                       "{\"type\":\"unknown\",\"statusCode\":400,\"message\":\"bad\\nthing\"}}]}";
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK_EQ_INT(vg_kibana_read_answer(VG_KIBANA_SAVED_OBJECTS, 200, conf, strlen(conf), 2, out,
                                       &imported, errbuf, sizeof(errbuf)),
                 VG_ERR_IO);
    fclose(out);
    CHECK_CONTAINS(text, "  saved object lens a: conflict\n  saved object dashboard b: unknown: bad thing\n");
    CHECK_CONTAINS(errbuf, "refused 2 (first: saved object lens a: conflict)");
    free(text);
    /* a rule error without rule_id, and one in exceptions */
    const char *rerr = "{\"success\":false,\"success_count\":0,\"rules_count\":1,\"errors\":[{\"id\":"
                       "\"(unknown id)\",\"error\":{\"status_code\":400,\"message\":\"rule_id: Required\"}}],"
                       "\"exceptions_errors\":[{\"error\":{\"message\":\"list x\"}}]}";
    CHECK_EQ_INT(vg_kibana_read_answer(VG_KIBANA_DETECTION_RULES, 200, rerr, strlen(rerr), 1, NULL,
                                       &imported, errbuf, sizeof(errbuf)),
                 VG_ERR_IO);
    CHECK_CONTAINS(errbuf, "refused 2 (first: detection rule (unknown id): HTTP 400: rule_id: Required)");

    /* many refused: the first hundred listed, the rest counted */
    struct vg_buf big;
    vg_buf_init(&big, 1u << 20);
    vg_buf_appends(&big, "{\"successCount\":0,\"success\":false,\"errors\":[");
    for (int i = 0; i < 250; i++)
        vg_buf_printf(&big, "%s{\"id\":\"o%d\",\"type\":\"lens\",\"error\":{\"type\":\"unsupported_type\"}}",
                      i ? "," : "", i);
    vg_buf_appends(&big, "]}");
    out = open_memstream(&text, &len);
    CHECK_EQ_INT(vg_kibana_read_answer(VG_KIBANA_SAVED_OBJECTS, 200, big.data, big.len, 250, out,
                                       NULL, errbuf, sizeof(errbuf)),
                 VG_ERR_IO);
    fclose(out);
    CHECK_CONTAINS(text, "saved object lens o99: unsupported_type\n  ... and 150 more\n");
    CHECK(strstr(text, "o100:") == NULL);
    free(text);
    vg_buf_free(&big);
}

VG_TEST(hostile_answers_never_crash)
{
    char errbuf[256];
    static const struct {
        long status;
        const char *body;
        enum vg_err err;
    } cases[] = {
        { 200, "", VG_ERR_PARSE },
        { 200, "{", VG_ERR_PARSE },
        { 200, "[]", VG_ERR_PARSE },
        { 200, "null", VG_ERR_PARSE },
        { 200, "\"text\"", VG_ERR_PARSE },
        { 200, "{}", VG_ERR_PARSE },
        { 200, "{\"success\":\"yes\",\"successCount\":1}", VG_ERR_PARSE },
        { 200, "{\"success\":true,\"successCount\":-1}", VG_ERR_PARSE },
        { 200, "{\"success\":true,\"successCount\":1.5}", VG_ERR_PARSE },
        { 200, "{\"success\":true,\"successCount\":99999999999999999999999}", VG_ERR_PARSE },
        { 200, "{\"success\":true,\"successCount\":1,\"errors\":{}}", VG_ERR_PARSE },
        { 200, "{\"success\":false,\"successCount\":0,\"errors\":[1,\"x\",null,[],{}]}", VG_ERR_IO },
        { 200, "{\"success\":false,\"successCount\":0,\"errors\":[{\"error\":{\"type\":7,"
               "\"references\":\"x\"}}]}", VG_ERR_IO },
        { 200, "{\"success\":false,\"successCount\":0,\"errors\":[{\"id\":\"\\u0000\\u001b[31m\","
               "\"type\":\"lens\",\"error\":{\"type\":\"missing_references\",\"references\":[1,{}]}}]}",
          VG_ERR_IO },
        { 200, "{\"success\":true,\"successCount\":1}\n{\"second\":1}", VG_ERR_PARSE },
        { 401, "", VG_ERR_PERM },
        { 401, "<html>", VG_ERR_PERM },
        { 403, "{\"message\":42}", VG_ERR_PERM },
        { 302, "", VG_ERR_IO },
        { 0, "", VG_ERR_IO },
        { 599, "{\"statusCode\":599,\"error\":[],\"message\":{}}", VG_ERR_IO },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum vg_err err = vg_kibana_read_answer(VG_KIBANA_SAVED_OBJECTS, cases[i].status, cases[i].body,
                                                strlen(cases[i].body), 1, NULL, NULL, errbuf,
                                                sizeof(errbuf));
        if (err != cases[i].err)
            fprintf(stderr, "case %zu: %d, %s\n", i, (int)err, errbuf);
        CHECK_EQ_INT(err, cases[i].err);
        CHECK(one_line(errbuf));
    }
    /* deep nesting, and a body that is not NUL-terminated */
    size_t n = 100000;
    char *deep = malloc(n);
    memset(deep, '[', n);
    CHECK_EQ_INT(vg_kibana_read_answer(VG_KIBANA_DETECTION_RULES, 200, deep, n, 1, NULL, NULL,
                                       errbuf, sizeof(errbuf)),
                 VG_ERR_PARSE);
    CHECK(one_line(errbuf));
    memset(deep, 0xff, n);
    CHECK_EQ_INT(vg_kibana_read_answer(VG_KIBANA_DETECTION_RULES, 500, deep, n, 1, NULL, NULL,
                                       errbuf, sizeof(errbuf)),
                 VG_ERR_IO);
    CHECK(one_line(errbuf));
    CHECK(strlen(errbuf) < sizeof(errbuf));
    free(deep);

    /* mutations of real answers: any outcome but a crash, always one line */
    const char *seeds[] = {
        "{\"successCount\":1,\"success\":false,\"warnings\":[],\"successResults\":[{\"type\":"
        "\"index-pattern\",\"id\":\"vigil-findings\",\"meta\":{\"title\":\"t\"}}],\"errors\":[{\"id\":"
        "\"d\",\"type\":\"dashboard\",\"title\":\"T\",\"meta\":{},\"error\":{\"type\":"
        "\"missing_references\",\"references\":[{\"type\":\"lens\",\"id\":\"x\"}]}}]}",
        "{\"success\":false,\"success_count\":3,\"rules_count\":4,\"errors\":[{\"rule_id\":\"r\","
        "\"error\":{\"status_code\":400,\"message\":\"type: Invalid enum value\"}}],"
        "\"exceptions_errors\":[],\"exceptions_success\":true,\"exceptions_success_count\":0}",
    };
    uint64_t x = 0x9E3779B97F4A7C15ull;
    char buf[1024];
    size_t runs = 0;
    for (int k = 0; k < 4000; k++) {
        const char *seed = seeds[k % 2];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        for (int m = 0; m < 1 + k % 4; m++) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            uint64_t r = x * 0x2545F4914F6CDD1Dull;
            size_t at = (size_t)(r % len);
            switch ((r >> 32) % 4) {
            case 0: buf[at] = (char)(r >> 40); break;                 /* a byte changed */
            case 1: len = at; break;                                   /* truncated */
            case 2: memmove(buf + at + 1, buf + at, len - at);         /* a byte inserted */
                    buf[at] = "[]{}\",:0\\"[(r >> 40) % 9];
                    if (len < sizeof(buf) - 2) len++;
                    break;
            default: memmove(buf + at, buf + at + 1, len - at - 1);    /* a byte removed */
                     len--;
                     break;
            }
            if (len == 0)
                break;
        }
        enum vg_kibana_asset_kind kind = k % 2 ? VG_KIBANA_DETECTION_RULES : VG_KIBANA_SAVED_OBJECTS;
        FILE *out = fopen("/dev/null", "w");
        vg_kibana_read_answer(kind, k % 7 ? 200 : 400, buf, len, 4, out, NULL, errbuf, sizeof(errbuf));
        if (out)
            fclose(out);
        CHECK(one_line(errbuf) || errbuf[0] == '\0');
        runs++;
    }
    CHECK_EQ_INT(runs, 4000);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vg-kibana-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    int rc = vg_test_run(argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (sh(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return rc;
}
