/*
 * Rules: names and scales, the rule set, and loading with validation.
 * Conditions are compiled and evaluated in cond.c.
 *
 * Loading is atomic per path: a file (or a directory's files) is read into
 * a staging list, every rule validated and its id checked against both the
 * set and the staging list, and only then are all of them added.
 */
#include "rule.h"

#include "../agent/timeutil.h"
#include "../config/yaml.h"
#include "cond.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- names and scales -------------------------------------------------- */

const char *vg_eval_name(enum vg_eval e)
{
    switch (e) {
    case VG_EVAL_PASSED: return "passed";
    case VG_EVAL_FAILED: return "failed";
    case VG_EVAL_UNKNOWN: return "unknown";
    }
    return "unknown";
}

static const char *const severity_names[] = { "low", "medium", "high", "critical" };
static const int severity_scores[] = { 21, 47, 73, 99 };

const char *vg_severity_name(enum vg_severity s)
{
    return (unsigned)s <= VG_SEV_CRITICAL ? severity_names[s] : "low";
}

int vg_severity_score(enum vg_severity s)
{
    return (unsigned)s <= VG_SEV_CRITICAL ? severity_scores[s] : severity_scores[0];
}

int vg_severity_parse(const char *s)
{
    for (int i = 0; s && i <= VG_SEV_CRITICAL; i++)
        if (!strcmp(s, severity_names[i]))
            return i;
    return -1;
}

const char *const vg_frameworks[] = {
    "cis_debian_12", "cis_aws_3.0",  "soc2",        "iso27001_2022",
    "nist_800_53_r5", "nist_csf_2.0", "pci_dss_4.0",
};
const size_t vg_frameworks_count = sizeof(vg_frameworks) / sizeof(vg_frameworks[0]);

#define FRAMEWORKS_KNOWN                                                               \
    "cis_debian_12, cis_aws_3.0, soc2, iso27001_2022, nist_800_53_r5, nist_csf_2.0, "  \
    "pci_dss_4.0"

bool vg_framework_known(const char *id)
{
    for (size_t i = 0; id && i < vg_frameworks_count; i++)
        if (!strcmp(id, vg_frameworks[i]))
            return true;
    return false;
}

/* ---- the set -------------------------------------------------------------- */

/* A list of rules with an index of their ids (the keys borrowed from the
 * rules). Used for the set and for a path being loaded. */
struct rule_list {
    struct vg_rule **items;
    size_t n, cap;
    struct vg_strindex ids;
};

struct vg_ruleset {
    struct rule_list rules;
    const struct vg_catalog *catalog;   /* borrowed, or NULL */
    struct vg_json *params;             /* the last rules.params set, or NULL */
};

static void rule_free(struct vg_rule *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->name);
    free(r->resource);
    free(r->section);
    free(r->version);
    free(r->description);
    free(r->rationale);
    free(r->remediation);
    for (size_t i = 0; i < r->nreferences; i++)
        free(r->references[i]);
    free(r->references);
    vg_json_free(r->frameworks);
    vg_json_free(r->param_defaults);
    vg_json_free(r->params);
    vg_cond_free(r->check);
    free(r->file);
    free(r);
}

static void list_init(struct rule_list *l)
{
    l->items = NULL;
    l->n = l->cap = 0;
    vg_strindex_init(&l->ids);
}

/* Frees the list and, when own, its rules. */
static void list_free(struct rule_list *l, bool own)
{
    if (own)
        for (size_t i = 0; i < l->n; i++)
            rule_free(l->items[i]);
    free(l->items);
    vg_strindex_free(&l->ids);
    list_init(l);
}

static enum vg_err list_reserve(struct rule_list *l, size_t more)
{
    if (l->n + more <= l->cap)
        return VG_OK;
    size_t ncap = l->cap ? l->cap : 16;
    while (ncap < l->n + more)
        ncap *= 2;
    struct vg_rule **p = realloc(l->items, ncap * sizeof(*p));
    if (!p)
        return VG_ERR_NOMEM;
    l->items = p;
    l->cap = ncap;
    return vg_strindex_reserve(&l->ids, more);
}

/* Appends r (ownership passes to the list). Cannot fail after
 * list_reserve(l, 1). */
static enum vg_err list_add(struct rule_list *l, struct vg_rule *r)
{
    enum vg_err err = list_reserve(l, 1);
    if (err)
        return err;
    err = vg_strindex_put(&l->ids, r->id, l->n);
    if (err)
        return err;
    l->items[l->n++] = r;
    return VG_OK;
}

static const struct vg_rule *list_find(const struct rule_list *l, const char *id)
{
    long at = vg_strindex_get(&l->ids, id);
    return at >= 0 ? l->items[at] : NULL;
}

struct vg_ruleset *vg_ruleset_new(void)
{
    struct vg_ruleset *rs = calloc(1, sizeof(*rs));
    if (rs)
        list_init(&rs->rules);
    return rs;
}

void vg_ruleset_destroy(struct vg_ruleset *rs)
{
    if (!rs)
        return;
    list_free(&rs->rules, true);
    vg_json_free(rs->params);
    free(rs);
}

size_t vg_ruleset_count(const struct vg_ruleset *rs)
{
    return rs ? rs->rules.n : 0;
}

const struct vg_rule *vg_ruleset_at(const struct vg_ruleset *rs, size_t i)
{
    return rs && i < rs->rules.n ? rs->rules.items[i] : NULL;
}

const struct vg_rule *vg_ruleset_find(const struct vg_ruleset *rs, const char *id)
{
    return rs && id ? list_find(&rs->rules, id) : NULL;
}

/* Moves every staged rule into the set; cannot fail halfway. */
static enum vg_err commit(struct vg_ruleset *rs, struct rule_list *stage)
{
    enum vg_err err = list_reserve(&rs->rules, stage->n);
    if (err)
        return err;
    for (size_t i = 0; i < stage->n; i++) {
        err = list_add(&rs->rules, stage->items[i]);
        if (err)   /* reserved: does not happen */
            return err;
    }
    stage->n = 0;
    return VG_OK;
}

/* ---- validating one rule ------------------------------------------------ */

enum rule_key {
    K_ID,
    K_NAME,
    K_RESOURCE,
    K_SEVERITY,
    K_SECTION,
    K_VERSION,
    K_DESCRIPTION,
    K_RATIONALE,
    K_REMEDIATION,
    K_REFERENCES,
    K_FRAMEWORKS,
    K_PARAMS,
    K_CHECK,
    K__COUNT
};

static const struct {
    const char *name;
    bool required;
} rule_keys[K__COUNT] = {
    [K_ID] = { "id", true },
    [K_NAME] = { "name", true },
    [K_RESOURCE] = { "resource", true },
    [K_SEVERITY] = { "severity", true },
    [K_SECTION] = { "section", false },
    [K_VERSION] = { "version", false },
    [K_DESCRIPTION] = { "description", true },
    [K_RATIONALE] = { "rationale", true },
    [K_REMEDIATION] = { "remediation", true },
    [K_REFERENCES] = { "references", false },
    [K_FRAMEWORKS] = { "frameworks", true },
    [K_PARAMS] = { "params", false },
    [K_CHECK] = { "check", true },
};

#define RULE_KEYS_KNOWN                                                                \
    "id, name, resource, severity, section, version, description, rationale, "         \
    "remediation, references, frameworks, params, check"

/* A scalar with no text: empty, or a plain one YAML reads as null. */
static bool scalar_empty(const struct vg_ynode *n)
{
    if (n->len == 0)
        return true;
    if (n->quoted)
        return false;
    const char *s = n->value;
    return !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* The text of string key k of a rule: a non-empty scalar, or the default
 * (when k is optional and not given or empty). Sets *out (caller frees). */
static enum vg_err rule_string(const struct vg_ynode *v, enum rule_key k, const char *dflt,
                               char **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    const char *name = rule_keys[k].name;
    if (v && v->type != VG_YAML_SCALAR) {
        vg_yaml_error(errbuf, errlen, v, "'%s' must be a string, not a %s", name,
                      vg_yaml_type_name(v->type));
        return VG_ERR_RULE;
    }
    if (v && !scalar_empty(v)) {
        *out = strndup(v->value, v->len);
    } else if (rule_keys[k].required) {
        vg_yaml_error(errbuf, errlen, v, "'%s' must not be empty", name);
        return VG_ERR_RULE;
    } else {
        *out = strdup(dflt);
    }
    return *out ? VG_OK : VG_ERR_NOMEM;
}

static bool id_valid(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
              *s == '-'))
            return false;
    return true;
}

static enum vg_err parse_references(struct vg_rule *r, const struct vg_ynode *v, char *errbuf,
                                    size_t errlen)
{
    if (!v || (v->type == VG_YAML_SCALAR && scalar_empty(v)))
        return VG_OK;
    if (v->type != VG_YAML_SEQ) {
        vg_yaml_error(errbuf, errlen, v, "'references' must be a list of strings, not a %s",
                      vg_yaml_type_name(v->type));
        return VG_ERR_RULE;
    }
    if (v->n == 0)
        return VG_OK;
    r->references = calloc(v->n, sizeof(*r->references));
    if (!r->references)
        return VG_ERR_NOMEM;
    for (size_t i = 0; i < v->n; i++) {
        const struct vg_ynode *it = v->items[i];
        if (it->type != VG_YAML_SCALAR || scalar_empty(it)) {
            vg_yaml_error(errbuf, errlen, it, "a reference must be a non-empty string, not %s%s",
                          it->type == VG_YAML_SCALAR ? "" : "a ",
                          it->type == VG_YAML_SCALAR ? "empty" : vg_yaml_type_name(it->type));
            return VG_ERR_RULE;
        }
        r->references[i] = strndup(it->value, it->len);
        if (!r->references[i])
            return VG_ERR_NOMEM;
        r->nreferences = i + 1;
    }
    return VG_OK;
}

/* "a, b, c": the ids of the catalogue's frameworks. */
static void catalog_ids(const struct vg_catalog *cat, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < vg_catalog_count(cat) && at < len; i++) {
        int n = snprintf(buf + at, len - at, "%s%s", i ? ", " : "", vg_catalog_at(cat, i)->id);
        if (n < 0)
            break;
        at += (size_t)n;
    }
    if (!vg_catalog_count(cat))
        snprintf(buf, len, "none");
}

/* Control ids are kept as written: a plain 3.10 stays "3.10". With a
 * catalogue, frameworks and control ids are checked against it. */
static enum vg_err parse_frameworks(struct vg_rule *r, const struct vg_ynode *v,
                                    const struct vg_catalog *cat, char *errbuf, size_t errlen)
{
    if (v->type != VG_YAML_MAP) {
        vg_yaml_error(errbuf, errlen, v,
                      "'frameworks' must be a mapping of framework to control ids, not a %s",
                      vg_yaml_type_name(v->type));
        return VG_ERR_RULE;
    }
    if (v->n == 0) {
        vg_yaml_error(errbuf, errlen, v, "'frameworks' must name at least one framework");
        return VG_ERR_RULE;
    }
    r->frameworks = vg_json_object();
    if (!r->frameworks)
        return VG_ERR_NOMEM;
    for (size_t i = 0; i < v->n; i++) {
        const struct vg_ynode *k = v->keys[i], *ctl = v->items[i];
        const struct vg_framework *fw = cat ? vg_catalog_find(cat, k->value) : NULL;
        if (cat && !fw) {
            char ids[256];
            catalog_ids(cat, ids, sizeof(ids));
            vg_yaml_error(errbuf, errlen, k, "unknown framework '%s' (the catalogue has: %s)",
                          k->value, ids);
            return VG_ERR_RULE;
        }
        if (!cat && !vg_framework_known(k->value)) {
            vg_yaml_error(errbuf, errlen, k, "unknown framework '%s' (known: %s)", k->value,
                          FRAMEWORKS_KNOWN);
            return VG_ERR_RULE;
        }
        if (ctl->type != VG_YAML_SEQ) {
            vg_yaml_error(errbuf, errlen, ctl,
                          "controls of '%s' must be a list of control ids, not a %s", k->value,
                          vg_yaml_type_name(ctl->type));
            return VG_ERR_RULE;
        }
        if (ctl->n == 0) {
            vg_yaml_error(errbuf, errlen, ctl, "'%s' lists no controls", k->value);
            return VG_ERR_RULE;
        }
        struct vg_json *arr = vg_json_array();
        if (vg_json_set(r->frameworks, k->value, arr))
            return VG_ERR_NOMEM;
        for (size_t j = 0; j < ctl->n; j++) {
            const struct vg_ynode *c = ctl->items[j];
            if (c->type != VG_YAML_SCALAR) {
                vg_yaml_error(errbuf, errlen, c, "control ids must be scalars, not a %s",
                              vg_yaml_type_name(c->type));
                return VG_ERR_RULE;
            }
            if (scalar_empty(c)) {
                vg_yaml_error(errbuf, errlen, c, "control ids must not be empty");
                return VG_ERR_RULE;
            }
            if (fw && (strlen(c->value) != c->len || !vg_framework_control(fw, c->value))) {
                vg_yaml_error(errbuf, errlen, c, "%s control '%s' is not in the catalogue (%s)",
                              k->value, c->value, fw->name);
                return VG_ERR_RULE;
            }
            if (vg_json_push(arr, vg_json_strn(c->value, c->len)))
                return VG_ERR_NOMEM;
        }
    }
    return VG_OK;
}

static bool param_name_valid(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* params: {name: default, ...} into r->param_defaults and r->params. */
static enum vg_err parse_params(struct vg_rule *r, const struct vg_ynode *v, char *errbuf,
                                size_t errlen)
{
    if (!v || (v->type == VG_YAML_SCALAR && scalar_empty(v)))
        return VG_OK;
    if (v->type != VG_YAML_MAP) {
        vg_yaml_error(errbuf, errlen, v,
                      "'params' must be a mapping of parameter name to default value, not a %s",
                      vg_yaml_type_name(v->type));
        return VG_ERR_RULE;
    }
    if (v->n == 0)
        return VG_OK;
    r->param_defaults = vg_json_object();
    if (!r->param_defaults)
        return VG_ERR_NOMEM;
    for (size_t i = 0; i < v->n; i++) {
        const struct vg_ynode *k = v->keys[i], *d = v->items[i];
        if (strlen(k->value) != k->len || !param_name_valid(k->value)) {
            vg_yaml_error(errbuf, errlen, k, "param name '%s' must match ^[a-z][a-z0-9_]*$",
                          k->value);
            return VG_ERR_RULE;
        }
        struct vg_json *dv = vg_yaml_to_json(d);
        if (!dv)
            return VG_ERR_NOMEM;
        if (vg_json_type(dv) == VG_JSON_NULL) {
            vg_json_free(dv);
            vg_yaml_error(errbuf, errlen, d, "param '%s' needs a default value, not null",
                          k->value);
            return VG_ERR_RULE;
        }
        if (vg_json_set(r->param_defaults, k->value, dv))
            return VG_ERR_NOMEM;
    }
    r->params = vg_json_clone(r->param_defaults);
    return r->params ? VG_OK : VG_ERR_NOMEM;
}

/* Gives every parameter of r the value rules.params sets (when it sets
 * one), or its default: stages each in r's check. On error everything
 * staged is discarded and errbuf holds "rules.params.NAME: message (rule
 * ID uses it at FILE:LINE:COL)"; *newp is the rule's new params object
 * (caller commits or frees). */
static enum vg_err stage_rule_params(struct vg_rule *r, const struct vg_json *params,
                                     struct vg_json **newp, char *errbuf, size_t errlen)
{
    *newp = NULL;
    if (!r->param_defaults)
        return VG_OK;
    struct vg_json *np = vg_json_object();
    if (!np)
        return VG_ERR_NOMEM;
    for (size_t i = 0; i < vg_json_len(r->param_defaults); i++) {
        const char *name = vg_json_key_at(r->param_defaults, i);
        const struct vg_json *val = params ? vg_json_get(params, name) : NULL;
        if (!val)
            val = vg_json_at(r->param_defaults, i);
        char msg[VG_MAX_REASON + 1300];
        int line = 0, col = 0;
        enum vg_err err = vg_cond_stage_param(r->check, name, val, msg, sizeof(msg), &line, &col);
        if (!err && vg_json_set(np, name, vg_json_clone(val)))
            err = VG_ERR_NOMEM;
        if (err) {
            if (err == VG_ERR_RULE)
                snprintf(errbuf, errlen, "rules.params.%s: %s (rule %s uses it at %s:%d:%d)", name,
                         msg, r->id, r->file ? r->file : "?", line, col);
            else
                snprintf(errbuf, errlen, "rules.params.%s: out of memory", name);
            vg_cond_discard_params(r->check);
            vg_json_free(np);
            return err;
        }
    }
    *newp = np;
    return VG_OK;
}

static void commit_rule_params(struct vg_rule *r, struct vg_json *newp)
{
    if (!r->param_defaults)
        return;
    vg_cond_commit_params(r->check);
    vg_json_free(r->params);
    r->params = newp;
}

/* Validates the rule at mapping m and builds it into *out (caller frees).
 * Ids are checked against the set rs and the rules staged so far. */
static enum vg_err parse_rule(const struct vg_ynode *m, const struct vg_ruleset *rs,
                              const struct rule_list *stage, struct vg_rule **out, char *errbuf,
                              size_t errlen)
{
    *out = NULL;
    if (m->type != VG_YAML_MAP) {
        vg_yaml_error(errbuf, errlen, m, "a rule must be a mapping, not a %s",
                      vg_yaml_type_name(m->type));
        return VG_ERR_RULE;
    }
    const struct vg_ynode *v[K__COUNT] = { NULL };
    for (size_t i = 0; i < m->n; i++) {
        int k;
        for (k = 0; k < K__COUNT; k++)
            if (!strcmp(m->keys[i]->value, rule_keys[k].name))
                break;
        if (k == K__COUNT) {
            vg_yaml_error(errbuf, errlen, m->keys[i], "unknown key '%s' in rule (known: %s)",
                          m->keys[i]->value, RULE_KEYS_KNOWN);
            return VG_ERR_RULE;
        }
        v[k] = m->items[i];
    }
    const char *idtext = v[K_ID] && v[K_ID]->type == VG_YAML_SCALAR ? v[K_ID]->value : NULL;
    for (int k = 0; k < K__COUNT; k++)
        if (rule_keys[k].required && !v[k]) {
            if (idtext)
                vg_yaml_error(errbuf, errlen, m, "rule '%s' is missing required key '%s'",
                              idtext, rule_keys[k].name);
            else
                vg_yaml_error(errbuf, errlen, m, "rule is missing required key '%s'",
                              rule_keys[k].name);
            return VG_ERR_RULE;
        }

    struct vg_rule *r = calloc(1, sizeof(*r));
    if (!r)
        return VG_ERR_NOMEM;
    enum vg_err err;
    err = rule_string(v[K_ID], K_ID, "", &r->id, errbuf, errlen);
    if (err)
        goto fail;
    if (!id_valid(r->id) || strlen(r->id) != v[K_ID]->len) {
        vg_yaml_error(errbuf, errlen, v[K_ID], "rule id '%s' must match ^[a-z0-9_.-]+$", r->id);
        err = VG_ERR_RULE;
        goto fail;
    }
    const struct vg_rule *first = list_find(&rs->rules, r->id);
    if (!first)
        first = list_find(stage, r->id);
    if (first) {
        vg_yaml_error(errbuf, errlen, v[K_ID], "duplicate rule id '%s' (first defined at %s:%d:%d)",
                      r->id, first->file, first->line, first->col);
        err = VG_ERR_RULE;
        goto fail;
    }
    struct {
        enum rule_key k;
        char **dst;
        const char *dflt;
    } strings[] = {
        { K_NAME, &r->name, "" },
        { K_RESOURCE, &r->resource, "" },
        { K_SEVERITY, NULL, "" },
        { K_SECTION, &r->section, "" },
        { K_VERSION, &r->version, "1" },
        { K_DESCRIPTION, &r->description, "" },
        { K_RATIONALE, &r->rationale, "" },
        { K_REMEDIATION, &r->remediation, "" },
    };
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        if (strings[i].k == K_SEVERITY) {
            char *sev = NULL;
            err = rule_string(v[K_SEVERITY], K_SEVERITY, "", &sev, errbuf, errlen);
            if (err)
                goto fail;
            int s = vg_severity_parse(sev);
            if (s < 0)
                vg_yaml_error(errbuf, errlen, v[K_SEVERITY],
                              "severity '%s' is not one of low, medium, high, critical", sev);
            free(sev);
            if (s < 0) {
                err = VG_ERR_RULE;
                goto fail;
            }
            r->severity = (enum vg_severity)s;
            continue;
        }
        err = rule_string(v[strings[i].k], strings[i].k, strings[i].dflt, strings[i].dst, errbuf,
                          errlen);
        if (err)
            goto fail;
    }
    err = parse_references(r, v[K_REFERENCES], errbuf, errlen);
    if (err)
        goto fail;
    err = parse_frameworks(r, v[K_FRAMEWORKS], rs->catalog, errbuf, errlen);
    if (err)
        goto fail;
    err = parse_params(r, v[K_PARAMS], errbuf, errlen);
    if (err)
        goto fail;
    err = vg_cond_compile(v[K_CHECK], r->param_defaults, &r->check, errbuf, errlen);
    if (err)
        goto fail;
    for (size_t i = 0; i < vg_json_len(r->param_defaults); i++) {
        const char *name = vg_json_key_at(r->param_defaults, i);
        if (!vg_cond_uses_param(r->check, name)) {
            vg_yaml_error(errbuf, errlen, v[K_PARAMS]->keys[i],
                          "param '%s' is declared but the check does not use it", name);
            err = VG_ERR_RULE;
            goto fail;
        }
    }
    vg_uuid_v5(vg_uuid_ns_vigil, r->id, strlen(r->id), r->uuid);
    r->file = strdup(m->file ? m->file : "?");
    if (!r->file) {
        err = VG_ERR_NOMEM;
        goto fail;
    }
    r->line = m->line;
    r->col = m->col;
    if (rs->params && r->param_defaults) {
        /* rules.params was set before this rule was loaded */
        struct vg_json *newp;
        err = stage_rule_params(r, rs->params, &newp, errbuf, errlen);
        if (err) {
            if (err == VG_ERR_RULE) {
                char msg[VG_MAX_REASON + 1400];
                snprintf(msg, sizeof(msg), "%s", errbuf);
                vg_yaml_error(errbuf, errlen, m, "%s", msg);
            }
            goto fail;
        }
        commit_rule_params(r, newp);
    }
    *out = r;
    return VG_OK;
fail:
    if (err == VG_ERR_NOMEM)
        vg_yaml_error(errbuf, errlen, m, "out of memory");
    rule_free(r);
    return err;
}

/* ---- loading ---------------------------------------------------------------- */

/* Error messages quote the rule's own text (keys, paths, regexes), which a
 * quoted YAML scalar can fill with newlines: keep the message one line. */
static void one_line(char *errbuf)
{
    for (unsigned char *p = (unsigned char *)errbuf; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

/* Validates every rule of a file's text and stages them. */
static enum vg_err stage_text(const struct vg_ruleset *rs, struct rule_list *stage,
                              const char *name, const char *text, size_t len, char *errbuf,
                              size_t errlen)
{
    struct vg_ynode *root = vg_yaml_load_string(name, text, len, errbuf, errlen);
    if (!root)
        return VG_ERR_RULE;
    enum vg_err err = VG_OK;
    if (root->type == VG_YAML_MAP && root->n == 0) {
        /* an empty file: no rules */
    } else if (root->type != VG_YAML_SEQ) {
        vg_yaml_error(errbuf, errlen, root, "a rule file must be a sequence of rules, not a %s",
                      vg_yaml_type_name(root->type));
        err = VG_ERR_RULE;
    } else {
        for (size_t i = 0; i < root->n && !err; i++) {
            struct vg_rule *r = NULL;
            err = parse_rule(root->items[i], rs, stage, &r, errbuf, errlen);
            if (!err) {
                err = list_add(stage, r);
                if (err) {
                    rule_free(r);
                    vg_yaml_error(errbuf, errlen, root->items[i], "out of memory");
                }
            }
        }
    }
    vg_yaml_free(root);
    return err;
}

static enum vg_err stage_file(const struct vg_ruleset *rs, struct rule_list *stage,
                              const char *path, char *errbuf, size_t errlen)
{
    struct vg_buf b;
    vg_buf_init(&b, VG_MAX_RULE_FILE);
    enum vg_err err = vg_buf_read_file(&b, path);
    if (err) {
        switch (err) {
        case VG_ERR_NOENT:
            snprintf(errbuf, errlen, "%s: no such file", path);
            break;
        case VG_ERR_PERM:
            snprintf(errbuf, errlen, "%s: permission denied", path);
            err = VG_ERR_IO;
            break;
        case VG_ERR_LIMIT:
            snprintf(errbuf, errlen, "%s:1:1: file is larger than %u bytes", path,
                     (unsigned)VG_MAX_RULE_FILE);
            err = VG_ERR_RULE;
            break;
        case VG_ERR_NOMEM:
            snprintf(errbuf, errlen, "%s: out of memory", path);
            break;
        default:
            snprintf(errbuf, errlen, "%s: cannot read: %s", path, vg_strerror(err));
            err = VG_ERR_IO;
            break;
        }
        vg_buf_free(&b);
        return err;
    }
    err = stage_text(rs, stage, path, vg_buf_str(&b), b.len, errbuf, errlen);
    vg_buf_free(&b);
    return err;
}

static bool rule_file_name(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.')
        return false;
    return (n > 4 && !strcmp(name + n - 4, ".yml")) || (n > 5 && !strcmp(name + n - 5, ".yaml"));
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Stages every *.yml and *.yaml regular file of a directory, in name
 * order; dot files are skipped, subdirectories not entered. */
static enum vg_err stage_dir(const struct vg_ruleset *rs, struct rule_list *stage,
                             const char *dir, char *errbuf, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        snprintf(errbuf, errlen, "%s: cannot open directory: %s", dir, strerror(e));
        return e == ENOENT ? VG_ERR_NOENT : VG_ERR_IO;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    enum vg_err err = VG_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!rule_file_name(de->d_name))
            continue;
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *full = malloc(len);
        if (!full) {
            err = VG_ERR_NOMEM;
            break;
        }
        snprintf(full, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
        struct stat st;
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(full);
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **p = realloc(names, ncap * sizeof(*p));
            if (!p) {
                free(full);
                err = VG_ERR_NOMEM;
                break;
            }
            names = p;
            cap = ncap;
        }
        names[n++] = full;
    }
    closedir(d);
    if (err)
        snprintf(errbuf, errlen, "%s: out of memory", dir);
    else if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n && !err; i++)
        err = stage_file(rs, stage, names[i], errbuf, errlen);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return err;
}

enum vg_err vg_ruleset_load_path(struct vg_ruleset *rs, const char *path, char *errbuf,
                                 size_t errlen)
{
    char dummy[8];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    if (!rs || !path || !*path) {
        snprintf(errbuf, errlen, "%s: no path given", path ? path : "(null)");
        return VG_ERR_INVALID;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        snprintf(errbuf, errlen, "%s: %s", path, strerror(e));
        return e == ENOENT || e == ENOTDIR ? VG_ERR_NOENT : VG_ERR_IO;
    }
    struct rule_list stage;
    list_init(&stage);
    enum vg_err err = S_ISDIR(st.st_mode) ? stage_dir(rs, &stage, path, errbuf, errlen)
                                          : stage_file(rs, &stage, path, errbuf, errlen);
    if (!err) {
        err = commit(rs, &stage);
        if (err)
            snprintf(errbuf, errlen, "%s: out of memory", path);
    }
    list_free(&stage, true);
    if (err)
        one_line(errbuf);
    return err;
}

enum vg_err vg_ruleset_load_string(struct vg_ruleset *rs, const char *name, const char *text,
                                   size_t len, char *errbuf, size_t errlen)
{
    char dummy[8];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    if (!name)
        name = "(string)";
    if (!rs || (!text && len)) {
        snprintf(errbuf, errlen, "%s: no text given", name);
        return VG_ERR_INVALID;
    }
    if (len > VG_MAX_RULE_FILE) {
        snprintf(errbuf, errlen, "%s:1:1: file is larger than %u bytes", name,
                 (unsigned)VG_MAX_RULE_FILE);
        return VG_ERR_RULE;
    }
    struct rule_list stage;
    list_init(&stage);
    enum vg_err err = stage_text(rs, &stage, name, text ? text : "", len, errbuf, errlen);
    if (!err) {
        err = commit(rs, &stage);
        if (err)
            snprintf(errbuf, errlen, "%s: out of memory", name);
    }
    list_free(&stage, true);
    if (err)
        one_line(errbuf);
    return err;
}

/* ---- catalogue and parameters ------------------------------------------------ */

void vg_ruleset_set_catalog(struct vg_ruleset *rs, const struct vg_catalog *cat)
{
    if (rs)
        rs->catalog = cat;
}

/* Whether some rule of the set declares parameter name. */
static bool declared(const struct vg_ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->rules.n; i++)
        if (vg_json_get(rs->rules.items[i]->param_defaults, name))
            return true;
    return false;
}

/* "'a', 'b'": the parameters rules declare (each once), into buf. */
static void declared_list(const struct vg_ruleset *rs, char *buf, size_t len)
{
    struct vg_strindex seen;
    vg_strindex_init(&seen);
    size_t at = 0, n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < rs->rules.n && at < len; i++) {
        const struct vg_json *d = rs->rules.items[i]->param_defaults;
        for (size_t j = 0; j < vg_json_len(d) && at < len; j++) {
            const char *name = vg_json_key_at(d, j);
            if (vg_strindex_get(&seen, name) >= 0)
                continue;
            if (vg_strindex_put(&seen, name, n))
                break;
            int w = snprintf(buf + at, len - at, "%s'%s'", n++ ? ", " : "", name);
            if (w < 0)
                break;
            at += (size_t)w;
        }
    }
    vg_strindex_free(&seen);
    if (!n)
        snprintf(buf, len, "none");
}

enum vg_err vg_ruleset_set_params(struct vg_ruleset *rs, const struct vg_json *params,
                                  char *errbuf, size_t errlen)
{
    char dummy[8];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    if (!rs) {
        snprintf(errbuf, errlen, "rules.params: no rule set");
        return VG_ERR_INVALID;
    }
    if (params && vg_json_type(params) == VG_JSON_NULL)
        params = NULL;
    if (params && vg_json_type(params) != VG_JSON_OBJECT) {
        enum vg_json_type t = vg_json_type(params);
        snprintf(errbuf, errlen,
                 "rules.params: must be a mapping of parameter name to value, not %s",
                 t == VG_JSON_ARRAY ? "a sequence"
                 : t == VG_JSON_STRING ? "a string"
                 : t == VG_JSON_BOOL ? "a boolean"
                                       : "a number");
        return VG_ERR_CONFIG;
    }
    /* every name must be declared by some rule */
    size_t nunknown = 0;
    char names[512];
    size_t at = 0;
    names[0] = '\0';
    for (size_t i = 0; i < vg_json_len(params); i++) {
        const char *name = vg_json_key_at(params, i);
        if (declared(rs, name))
            continue;
        if (at < sizeof(names)) {
            int w = snprintf(names + at, sizeof(names) - at, "%s'%s'", nunknown ? ", " : "", name);
            if (w > 0)
                at += (size_t)w;
        }
        nunknown++;
    }
    if (nunknown) {
        char known[512];
        declared_list(rs, known, sizeof(known));
        snprintf(errbuf, errlen, "rules.params: no rule declares %s %s (declared: %s)",
                 nunknown == 1 ? "param" : "params", names, known);
        return VG_ERR_CONFIG;
    }
    /* stage every rule's values, then commit all or none */
    struct vg_json **newp = calloc(rs->rules.n ? rs->rules.n : 1, sizeof(*newp));
    struct vg_json *keep = params && vg_json_len(params) ? vg_json_clone(params) : NULL;
    enum vg_err err = !newp || (params && vg_json_len(params) && !keep) ? VG_ERR_NOMEM : VG_OK;
    if (err)
        snprintf(errbuf, errlen, "rules.params: out of memory");
    size_t staged = 0;
    for (; !err && staged < rs->rules.n; staged++)
        err = stage_rule_params(rs->rules.items[staged], params, &newp[staged], errbuf, errlen);
    if (err) {
        /* the failing rule discarded its own */
        for (size_t i = 0; newp && i + 1 < staged; i++) {
            vg_cond_discard_params(rs->rules.items[i]->check);
            vg_json_free(newp[i]);
        }
        free(newp);
        vg_json_free(keep);
        one_line(errbuf);
        return err == VG_ERR_RULE ? VG_ERR_CONFIG : err;
    }
    for (size_t i = 0; i < rs->rules.n; i++)
        commit_rule_params(rs->rules.items[i], newp[i]);
    free(newp);
    vg_json_free(rs->params);
    rs->params = keep;
    return VG_OK;
}

/* ---- evaluation -------------------------------------------------------------- */

enum vg_err vg_rule_eval_at(const struct vg_rule *r, const struct vg_resource *res,
                            const struct vg_eval_ctx *ctx, struct vg_eval_result *out)
{
    if (!out)
        return VG_ERR_INVALID;
    if (!r || !r->check || !res) {
        memset(out, 0, sizeof(*out));
        return VG_ERR_INVALID;
    }
    return vg_cond_eval(r->check, res, ctx ? ctx->now_ms : vg_time_now_ms(), out);
}

enum vg_err vg_rule_eval(const struct vg_rule *r, const struct vg_resource *res,
                         struct vg_eval_result *out)
{
    return vg_rule_eval_at(r, res, NULL, out);
}

void vg_eval_result_clear(struct vg_eval_result *out)
{
    if (!out)
        return;
    vg_json_free(out->evidence);
    out->evidence = NULL;
    out->reason[0] = '\0';
    out->evaluation = VG_EVAL_PASSED;
}
