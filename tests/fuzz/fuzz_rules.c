/*
 * Fuzz target for the rule engine: loading, validation and evaluation.
 *
 * Input: rule YAML, then a line "---", then a JSON document:
 *
 *   - id: x
 *     ...
 *   ---
 *   {"PermitRootLogin": "yes", "_errors": {"shadow": "denied"}}
 *
 * The YAML is loaded with vg_ruleset_load_string; when it starts with the
 * line "#catalog", the shipped framework catalogues are set first. The
 * JSON (an empty object when missing or malformed) becomes the resource
 * document. Its top-level "_errors" and "_sources" objects, when present,
 * move into the resource's errors and sources; "_params" (any value) is
 * given to vg_ruleset_set_params, and "_now" (a number) is the evaluation
 * time in milliseconds. Every loaded rule is evaluated against the resource
 * and the result's invariants are checked: a known evaluation, a reason
 * that is one bounded line (empty exactly when passed), evidence that is
 * an object no larger than the bound. A failed vg_ruleset_set_params must
 * say why in one line and leave every rule's parameters as they were.
 */
#include "agent/buf.h"
#include "agent/json.h"
#include "agent/limits.h"
#include "checks/cond.h"
#include "checks/framework.h"
#include "checks/resource.h"
#include "checks/rule.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(const struct vg_eval_result *out)
{
    if (out->evaluation != VG_EVAL_PASSED && out->evaluation != VG_EVAL_FAILED &&
        out->evaluation != VG_EVAL_UNKNOWN)
        abort();
    size_t n = strnlen(out->reason, sizeof(out->reason));
    if (n >= sizeof(out->reason))
        abort();
    if ((out->evaluation == VG_EVAL_PASSED) != (n == 0))
        abort();
    if (memchr(out->reason, '\n', n))
        abort();
    if (!out->evidence || vg_json_type(out->evidence) != VG_JSON_OBJECT)
        abort();
    struct vg_buf b;
    vg_buf_init(&b, 1u << 20);
    enum vg_err err = vg_json_dump(out->evidence, &b);
    if (err == VG_OK && b.len > VG_MAX_EVIDENCE)
        abort();
    vg_buf_free(&b);
}

/* The shipped catalogues, loaded once; NULL when they cannot be read. */
static const struct vg_catalog *catalog(void)
{
    static struct vg_catalog *cat;
    static bool tried;
    if (!tried) {
        tried = true;
        char err[512];
        cat = vg_catalog_new();
        if (cat && vg_catalog_load_path(cat, VG_SOURCE_DATA_DIR "/frameworks", err,
                                        sizeof(err)) != VG_OK) {
            vg_catalog_destroy(cat);
            cat = NULL;
        }
    }
    return cat;
}

/* Every rule's parameters in effect, dumped, for comparing. */
static char *params_state(const struct vg_ruleset *rs)
{
    struct vg_buf b;
    vg_buf_init(&b, 1u << 24);
    for (size_t i = 0; i < vg_ruleset_count(rs); i++) {
        const struct vg_json *p = vg_ruleset_at(rs, i)->params;
        if (p)
            vg_json_dump(p, &b);
        vg_buf_appendc(&b, ';');
    }
    char *s = vg_buf_detach(&b);
    vg_buf_free(&b);
    return s;
}

static struct vg_json *take(struct vg_json *doc, const char *key)
{
    struct vg_json *v = vg_json_get(doc, key);
    if (!v || vg_json_type(v) != VG_JSON_OBJECT)
        return NULL;
    v = vg_json_clone(v);
    vg_json_del(doc, key);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t ylen = size;
    const char *json = NULL;
    size_t jlen = 0;
    for (size_t i = 0; i + 5 <= size; i++) {
        if (memcmp(text + i, "\n---\n", 5) == 0) {
            ylen = i + 1;
            json = text + i + 5;
            jlen = size - i - 5;
            break;
        }
    }

    char err[512];
    struct vg_ruleset *rs = vg_ruleset_new();
    if (!rs)
        return 0;
    if (ylen >= 9 && memcmp(text, "#catalog\n", 9) == 0)
        vg_ruleset_set_catalog(rs, catalog());
    enum vg_err e = vg_ruleset_load_string(rs, "fuzz.yml", text, ylen, err, sizeof(err));
    if (e && (strnlen(err, sizeof(err)) == 0 || strchr(err, '\n')))
        abort();   /* every failure says why, in one line */
    if (e && vg_ruleset_count(rs) != 0)
        abort();   /* atomic */

    struct vg_resource *res = vg_resource_new("fuzz", "fuzz-1", "fuzz", "configuration", NULL);
    struct vg_eval_ctx ctx = { .now_ms = 1795000000000 };
    if (res && json) {
        struct vg_json *doc = vg_json_parse(json, jlen, NULL, 0);
        if (doc) {
            vg_json_free(res->doc);
            res->doc = doc;
            res->errors = take(doc, "_errors");
            res->sources = take(doc, "_sources");
            const struct vg_json *now = vg_json_get(doc, "_now");
            if (vg_json_type(now) == VG_JSON_INT)
                ctx.now_ms = vg_json_get_int(now);
            const struct vg_json *params = vg_json_get(doc, "_params");
            if (params) {
                char *before = params_state(rs);
                e = vg_ruleset_set_params(rs, params, err, sizeof(err));
                if (e && (strnlen(err, sizeof(err)) == 0 || strchr(err, '\n')))
                    abort();
                char *after = params_state(rs);
                if (e && before && after && strcmp(before, after) != 0)
                    abort();   /* all or nothing */
                free(before);
                free(after);
            }
        }
    }
    for (size_t i = 0; res && i < vg_ruleset_count(rs); i++) {
        const struct vg_rule *r = vg_ruleset_at(rs, i);
        struct vg_eval_result out;
        if (vg_rule_eval_at(r, res, &ctx, &out) != VG_OK)
            continue;
        check_result(&out);
        vg_eval_result_clear(&out);
        char desc[VG_MAX_REASON];
        vg_cond_describe(r->check, desc, sizeof(desc));
        if (vg_ruleset_find(rs, r->id) != r)
            abort();
    }
    vg_resource_destroy(res);
    vg_ruleset_destroy(rs);
    return 0;
}
