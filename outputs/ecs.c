#include "ecs.h"
#include "output.h"
#include "../agent/timeutil.h"
#include "vg_version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vg_ecs_event_id(const char *rule_id, const char *resource_id, const char *scan_id,
                     char out[VG_EVENT_ID_LEN])
{
    /* NUL separators: ("a","bc") and ("ab","c") never hash alike. Short
     * ids (all real ones) are joined on the stack and hashed in one call;
     * longer ones are hashed in parts, which gives the same digest. */
    size_t a = strlen(rule_id), b = strlen(resource_id), c = strlen(scan_id);
    uint8_t md[VG_SHA256_LEN];
    char stack[512];
    if (a + b + c + 2 <= sizeof(stack)) {
        memcpy(stack, rule_id, a + 1);
        memcpy(stack + a + 1, resource_id, b + 1);
        memcpy(stack + a + b + 2, scan_id, c);
        vg_sha256(stack, a + b + c + 2, md);
    } else {
        const void *parts[] = { rule_id, "", resource_id, "", scan_id };
        const size_t lens[] = { a, 1, b, 1, c };
        if (vg_sha256_parts(parts, lens, 5, md) != VG_OK)
            abort();   /* OpenSSL cannot allocate 200 bytes: nothing sane is left */
    }
    vg_hex(md, 16, out);
}

/* The benchmark each provider's rules belong to, for rule.benchmark.*
 * (what Kibana's Cloud Security pages group by). */
struct benchmark {
    const char *provider;
    const char *framework;      /* the vg_frameworks id holding rule numbers */
    const char *id, *name, *version, *posture_type, *tag;
};

static const struct benchmark benchmarks[] = {
    { "host", "cis_debian_12", "cis_debian_12", "CIS Debian Linux 12 Benchmark", "v1.1.0", NULL,
      "Linux" },
    { "aws", "cis_aws_3.0", "cis_aws", "CIS Amazon Web Services Foundations", "v3.0.0", "cspm",
      "AWS" },
};

static const struct benchmark *benchmark_for(const char *provider)
{
    for (size_t i = 0; i < sizeof(benchmarks) / sizeof(benchmarks[0]); i++)
        if (provider && strcmp(benchmarks[i].provider, provider) == 0)
            return &benchmarks[i];
    return NULL;
}

static const char *outcome_of(enum vg_eval e)
{
    return e == VG_EVAL_PASSED ? "success" : e == VG_EVAL_FAILED ? "failure" : "unknown";
}

static struct vg_json *str_array1(const char *s)
{
    struct vg_json *a = vg_json_array();
    if (vg_json_push(a, vg_json_str(s))) {
        vg_json_free(a);
        return NULL;
    }
    return a;
}

/* Short display prefixes for rule.tags ("SOC2 CC6.1"). */
static const char *framework_tag(const char *fw)
{
    static const char *const map[][2] = {
        { "cis_debian_12", "CIS" }, { "cis_aws_3.0", "CIS" },       { "soc2", "SOC2" },
        { "iso27001_2022", "ISO27001" }, { "nist_800_53_r5", "NIST800-53" },
        { "nist_csf_2.0", "CSF2.0" },    { "pci_dss_4.0", "PCI-DSS" },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i][0], fw) == 0)
            return map[i][1];
    return fw;
}

static struct vg_json *rule_object(const struct vg_rule *r, const char *provider)
{
    struct vg_json *o = vg_json_object();
    enum vg_err err = VG_OK;
    err |= vg_json_set_str(o, "id", r->id);
    err |= vg_json_set_str(o, "uuid", r->uuid);
    err |= vg_json_set_str(o, "name", r->name);
    err |= vg_json_set_str(o, "description", r->description);
    err |= vg_json_set_str(o, "rationale", r->rationale);
    err |= vg_json_set_str(o, "remediation", r->remediation);
    if (r->nreferences) {
        struct vg_buf refs;
        vg_buf_init(&refs, 1 << 16);
        for (size_t i = 0; i < r->nreferences; i++)
            if (vg_buf_printf(&refs, "%s%s", i ? "\n" : "", r->references[i]))
                break;
        err |= vg_json_set_str(o, "reference", r->references[0]);
        err |= vg_json_set_str(o, "references", vg_buf_str(&refs));
        vg_buf_free(&refs);
    }
    err |= vg_json_set_str(o, "section", r->section);
    err |= vg_json_set_str(o, "version", r->version);

    const struct benchmark *bm = benchmark_for(provider);
    struct vg_json *tags = vg_json_array();
    if (bm) {
        err |= vg_json_push(tags, vg_json_str("CIS"));
        err |= vg_json_push(tags, vg_json_str(bm->tag));
    }
    for (size_t i = 0; i < vg_json_len(r->frameworks); i++) {
        const char *fw = vg_json_key_at(r->frameworks, i);
        const struct vg_json *ids = vg_json_at(r->frameworks, i);
        for (size_t j = 0; j < vg_json_len(ids); j++) {
            char tag[128];
            snprintf(tag, sizeof(tag), "%s %s", framework_tag(fw),
                     vg_json_get_str(vg_json_at(ids, j)));
            err |= vg_json_push(tags, vg_json_str(tag));
        }
    }
    if (r->section && *r->section)
        err |= vg_json_push(tags, vg_json_str(r->section));
    err |= vg_json_set(o, "tags", tags);

    if (bm) {
        struct vg_json *b = vg_json_child(o, "benchmark");
        err |= vg_json_set_str(b, "id", bm->id);
        err |= vg_json_set_str(b, "name", bm->name);
        err |= vg_json_set_str(b, "version", bm->version);
        const struct vg_json *nums = vg_json_get(r->frameworks, bm->framework);
        if (vg_json_len(nums))
            err |= vg_json_set(b, "rule_number", vg_json_clone(vg_json_at(nums, 0)));
        if (bm->posture_type)
            err |= vg_json_set_str(b, "posture_type", bm->posture_type);
    }
    if (err) {
        vg_json_free(o);
        return NULL;
    }
    return o;
}

/* The parts every event of a scan carries: data_stream, observer, agent,
 * host or cloud, ecs. */
static enum vg_err common_fields(struct vg_json *doc, const struct vg_scan_meta *m,
                                 const char *dataset, bool with_cloud)
{
    enum vg_err err = VG_OK;
    struct vg_json *ds = vg_json_child(doc, "data_stream");
    err |= vg_json_set_str(ds, "type", "logs");
    err |= vg_json_set_str(ds, "dataset", dataset);
    err |= vg_json_set_str(ds, "namespace", m->namespace ? m->namespace : "default");

    struct vg_json *obs = vg_json_child(doc, "observer");
    err |= vg_json_set_str(obs, "vendor", "Vigil");
    err |= vg_json_set_str(obs, "product", "vigil");
    err |= vg_json_set_str(obs, "version", VG_VERSION);

    struct vg_json *ag = vg_json_child(doc, "agent");
    err |= vg_json_set_str(ag, "type", "vigil");
    err |= vg_json_set_str(ag, "name", m->agent_name);
    err |= vg_json_set_str(ag, "id", m->agent_id);
    err |= vg_json_set_str(ag, "version", VG_VERSION);

    const struct vg_target_info *t = m->target;
    if (t && m->provider && strcmp(m->provider, "host") == 0) {
        struct vg_json *h = vg_json_child(doc, "host");
        if (t->host_name) {
            err |= vg_json_set_str(h, "name", t->host_name);
            err |= vg_json_set_str(h, "hostname", t->host_name);
        }
        if (t->host_id)
            err |= vg_json_set_str(h, "id", t->host_id);
        struct vg_json *os = vg_json_child(h, "os");
        err |= vg_json_set_str(os, "type", "linux");
        if (t->os_family)
            err |= vg_json_set_str(os, "family", t->os_family);
        if (t->os_name)
            err |= vg_json_set_str(os, "name", t->os_name);
        if (t->os_version)
            err |= vg_json_set_str(os, "version", t->os_version);
        if (t->os_platform)
            err |= vg_json_set_str(os, "platform", t->os_platform);
    }
    /* findings write cloud.* themselves (it varies per resource); the
     * scan summary names the account */
    if (with_cloud && t && t->cloud_account_id) {
        struct vg_json *cl = vg_json_child(doc, "cloud");
        err |= vg_json_set_str(cl, "provider", m->provider);
        struct vg_json *acct = vg_json_child(cl, "account");
        err |= vg_json_set_str(acct, "id", t->cloud_account_id);
        if (t->cloud_account_name)
            err |= vg_json_set_str(acct, "name", t->cloud_account_name);
    }
    return err ? VG_ERR_NOMEM : VG_OK;
}

static enum vg_err event_base(struct vg_json *ev, const char *kind, const char *outcome,
                              const char *id, const char *created, int64_t sequence,
                              const char *dataset)
{
    enum vg_err err = VG_OK;
    err |= vg_json_set_str(ev, "kind", kind);
    err |= vg_json_set(ev, "category", str_array1("configuration"));
    err |= vg_json_set(ev, "type", str_array1("info"));
    err |= vg_json_set_str(ev, "outcome", outcome);
    err |= vg_json_set_str(ev, "id", id);
    err |= vg_json_set_str(ev, "created", created);
    err |= vg_json_set_int(ev, "sequence", sequence);
    err |= vg_json_set_str(ev, "dataset", dataset);
    err |= vg_json_set_str(ev, "module", "vigil");
    return err ? VG_ERR_NOMEM : VG_OK;
}

/* ---- the finding hot path ------------------------------------------------ */

struct rule_frag {
    const struct vg_rule *rule;   /* key; NULL: empty slot */
    char *rule_json;              /* the rule object */
    char *compliance_json;        /* vigil.compliance */
};

struct vg_ecs_cache {
    char *stream;                 /* "data_stream":{...} */
    char *common;                 /* "observer":...,"agent":...,"host":... (no braces) */
    char *scan;                   /* the vigil.scan object */
    struct rule_frag *slots;      /* open addressing by rule pointer */
    size_t nslots, used;
    struct vg_buf scratch;        /* the message, before it is escaped */
};

struct vg_ecs_cache *vg_ecs_cache_new(void)
{
    struct vg_ecs_cache *c = calloc(1, sizeof(*c));
    if (c)
        vg_buf_init(&c->scratch, VG_MAX_REASON * 4);
    return c;
}

void vg_ecs_cache_destroy(struct vg_ecs_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nslots; i++) {
        free(c->slots[i].rule_json);
        free(c->slots[i].compliance_json);
    }
    free(c->slots);
    free(c->stream);
    free(c->common);
    free(c->scan);
    vg_buf_free(&c->scratch);
    free(c);
}

static char *dump_text(const struct vg_json *v)
{
    if (!v)
        return NULL;
    struct vg_buf b;
    vg_buf_init(&b, VG_MAX_EVENT);
    if (vg_json_dump(v, &b)) {
        vg_buf_free(&b);
        return NULL;
    }
    return vg_buf_detach(&b);
}

static size_t ptr_hash(const void *p, size_t mask)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0xed5ad4bbu;
    x ^= x >> 11;
    return (size_t)x & mask;
}

static enum vg_err cache_grow(struct vg_ecs_cache *c)
{
    size_t n = c->nslots ? c->nslots * 2 : 64;
    struct rule_frag *slots = calloc(n, sizeof(*slots));
    if (!slots)
        return VG_ERR_NOMEM;
    for (size_t i = 0; i < c->nslots; i++) {
        if (!c->slots[i].rule)
            continue;
        size_t k = ptr_hash(c->slots[i].rule, n - 1);
        while (slots[k].rule)
            k = (k + 1) & (n - 1);
        slots[k] = c->slots[i];
    }
    free(c->slots);
    c->slots = slots;
    c->nslots = n;
    return VG_OK;
}

static const struct rule_frag *rule_fragments(struct vg_ecs_cache *c, const struct vg_rule *r,
                                              const char *provider)
{
    if (c->nslots) {
        for (size_t k = ptr_hash(r, c->nslots - 1); c->slots[k].rule;
             k = (k + 1) & (c->nslots - 1))
            if (c->slots[k].rule == r)
                return &c->slots[k];
    }
    if ((c->used + 1) * 2 > c->nslots && cache_grow(c))
        return NULL;
    struct vg_json *ro = rule_object(r, provider);
    char *rj = dump_text(ro);
    char *cj = dump_text(r->frameworks);
    vg_json_free(ro);
    if (!rj || !cj) {
        free(rj);
        free(cj);
        return NULL;
    }
    size_t k = ptr_hash(r, c->nslots - 1);
    while (c->slots[k].rule)
        k = (k + 1) & (c->nslots - 1);
    c->slots[k] = (struct rule_frag){ r, rj, cj };
    c->used++;
    return &c->slots[k];
}

static enum vg_err scan_fragments(struct vg_ecs_cache *c, const struct vg_scan_meta *m)
{
    struct vg_json *o = vg_json_object();
    enum vg_err err = common_fields(o, m, "vigil.findings", false);
    /* data_stream (which the Elasticsearch output routes on) apart from
     * the rest, which goes after the rule */
    struct vg_json *ds = vg_json_object();
    err |= vg_json_set(ds, "data_stream", vg_json_clone(vg_json_get(o, "data_stream")));
    vg_json_del(o, "data_stream");
    char *text = err ? NULL : dump_text(o);
    char *stream = err ? NULL : dump_text(ds);
    vg_json_free(o);
    vg_json_free(ds);
    if (!text || !stream) {
        free(text);
        free(stream);
        return VG_ERR_NOMEM;
    }
    /* strip the braces: the fields go in the middle of the document */
    char *parts[2] = { text, stream };
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(parts[i]);
        memmove(parts[i], parts[i] + 1, n - 2);
        parts[i][n - 2] = '\0';
    }
    c->common = text;
    c->stream = stream;

    char started[VG_TIME_RFC3339_LEN];
    vg_time_rfc3339(m->started_ms, started);
    struct vg_json *scan = vg_json_object();
    err = vg_json_set_str(scan, "id", m->scan_id);
    err |= vg_json_set_str(scan, "started", started);
    c->scan = err ? NULL : dump_text(scan);
    vg_json_free(scan);
    return c->scan ? VG_OK : VG_ERR_NOMEM;
}

#define PUT(lit) vg_buf_append(out, lit, sizeof(lit) - 1)

/* Decimal text of v into out (at least 21 bytes); returns its length. */
static size_t fmt_int(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t k = 0;
    if (v < 0)
        out[k++] = '-';
    while (n)
        out[k++] = tmp[--n];
    return k;
}

enum vg_err vg_ecs_finding_write(struct vg_ecs_cache *c, const struct vg_scan_meta *m,
                                 const struct vg_finding *f, int64_t now_ms, struct vg_buf *out,
                                 struct vg_buf *route)
{
    const struct vg_rule *r = f->rule;
    const struct vg_resource *res = f->resource;
    const struct vg_eval_result *er = f->result;
    enum vg_eval e = er->evaluation;
    if (!c->common && scan_fragments(c, m))
        return VG_ERR_NOMEM;
    const struct rule_frag *rf = rule_fragments(c, r, m->provider);
    if (!rf)
        return VG_ERR_NOMEM;

    char now[VG_TIME_RFC3339_LEN], id[VG_EVENT_ID_LEN];
    vg_time_rfc3339(now_ms, now);
    vg_ecs_event_id(r->id, res->id, m->scan_id, id);
    size_t mark = out->len;
    enum vg_err err = VG_OK;
    char num[24];
    /* the fields a shipper reads for routing, keys and headers come first
     * (event, ecs, data_stream, resource, rule.id): a reader can stop
     * before the rest (observer, agent, host or cloud, then the texts) */
    err |= PUT("{\"@timestamp\":\"");
    err |= vg_buf_appends(out, now);
    err |= PUT("\",\"event\":{\"kind\":\"state\",\"category\":[\"configuration\"],"
               "\"type\":[\"info\"],\"outcome\":\"");
    err |= vg_buf_appends(out, outcome_of(e));
    err |= PUT("\",\"id\":\"");
    err |= vg_buf_append(out, id, VG_EVENT_ID_LEN - 1);
    err |= PUT("\",\"created\":\"");
    err |= vg_buf_appends(out, now);
    err |= PUT("\",\"sequence\":");
    err |= vg_buf_append(out, num, fmt_int(num, m->started_ms / 1000));
    err |= PUT(",\"dataset\":\"vigil.findings\",\"module\":\"vigil\",\"severity\":");
    err |= vg_buf_append(out, num, fmt_int(num, vg_severity_score(r->severity)));
    err |= PUT("},\"ecs\":{\"version\":\"" VG_ECS_VERSION "\"},");
    err |= vg_buf_appends(out, c->stream);
    err |= PUT(",\"resource\":{\"id\":");
    err |= vg_json_write_string(out, res->id, strlen(res->id));
    err |= PUT(",\"name\":");
    err |= vg_json_write_string(out, res->name, strlen(res->name));
    if (res->ecs_type) {
        err |= PUT(",\"type\":");
        err |= vg_json_write_string(out, res->ecs_type, strlen(res->ecs_type));
    }
    if (res->sub_type) {
        err |= PUT(",\"sub_type\":");
        err |= vg_json_write_string(out, res->sub_type, strlen(res->sub_type));
    }
    if (res->region) {
        err |= PUT(",\"region\":");
        err |= vg_json_write_string(out, res->region, strlen(res->region));
    }
    err |= PUT("},\"rule\":");
    err |= vg_buf_appends(out, rf->rule_json);
    err |= PUT(",");
    err |= vg_buf_appends(out, c->common);
    if (res->account || res->service) {
        /* a cloud resource: where it lives */
        err |= PUT(",\"cloud\":{\"provider\":");
        err |= vg_json_write_string(out, m->provider, strlen(m->provider));
        if (res->account) {
            err |= PUT(",\"account\":{\"id\":");
            err |= vg_json_write_string(out, res->account, strlen(res->account));
            const struct vg_target_info *t = m->target;
            if (t && t->cloud_account_name && t->cloud_account_id &&
                strcmp(t->cloud_account_id, res->account) == 0) {
                err |= PUT(",\"name\":");
                err |= vg_json_write_string(out, t->cloud_account_name,
                                            strlen(t->cloud_account_name));
            }
            err |= PUT("}");
        }
        if (res->region) {
            err |= PUT(",\"region\":");
            err |= vg_json_write_string(out, res->region, strlen(res->region));
        }
        if (res->service) {
            err |= PUT(",\"service\":{\"name\":");
            err |= vg_json_write_string(out, res->service, strlen(res->service));
            err |= PUT("}");
        }
        err |= PUT("}");
    }
    err |= PUT(",\"result\":{\"evaluation\":\"");
    err |= vg_buf_appends(out, vg_eval_name(e));
    err |= PUT("\",\"evidence\":");
    if (er->evidence)
        err |= vg_json_dump(er->evidence, out);
    else
        err |= PUT("{}");
    if (er->reason[0]) {
        err |= PUT(",\"reason\":");
        err |= vg_json_write_string(out, er->reason, strlen(er->reason));
    }
    err |= PUT("}");
    /* message: "NAME: EVALUATION for RESOURCE[: REASON]" */
    struct vg_buf *msg = &c->scratch;
    vg_buf_reset(msg);
    vg_buf_appends(msg, r->name);
    vg_buf_append(msg, ": ", 2);
    vg_buf_appends(msg, vg_eval_name(e));
    vg_buf_append(msg, " for ", 5);
    vg_buf_appends(msg, res->id);
    if (er->reason[0]) {
        vg_buf_append(msg, ": ", 2);
        vg_buf_appends(msg, er->reason);
    }
    err |= PUT(",\"message\":");
    err |= vg_json_write_string(out, c->scratch.data ? c->scratch.data : "", c->scratch.len);
    err |= PUT(",\"vigil\":{\"scan\":");
    err |= vg_buf_appends(out, c->scan);
    err |= PUT(",\"severity\":\"");
    err |= vg_buf_appends(out, vg_severity_name(r->severity));
    err |= PUT("\",\"compliance\":");
    err |= vg_buf_appends(out, rf->compliance_json);
    err |= f->muted ? PUT(",\"muted\":true") : PUT(",\"muted\":false");
    if (f->muted && f->mute_reason) {
        err |= PUT(",\"mute_reason\":");
        err |= vg_json_write_string(out, f->mute_reason, strlen(f->mute_reason));
    }
    if (f->has_previous) {
        err |= PUT(",\"previous_evaluation\":\"");
        err |= vg_buf_appends(out, vg_eval_name(f->previous));
        err |= f->previous == VG_EVAL_PASSED && e == VG_EVAL_FAILED
                   ? PUT("\",\"regression\":true")
                   : PUT("\",\"regression\":false");
    }
    err |= PUT("}}");
    if (!err && route) {
        /* the same values the document holds */
        const char *rv[VG_RT_N] = {
            [VG_RT_ID] = id,
            [VG_RT_DATASET] = "vigil.findings",
            [VG_RT_NAMESPACE] = m->namespace ? m->namespace : "default",
            [VG_RT_ECS_VERSION] = VG_ECS_VERSION,
            [VG_RT_RULE_ID] = r->id,
            [VG_RT_RESOURCE_ID] = res->id,
            [VG_RT_SEVERITY] = vg_severity_name(r->severity),
        };
        size_t rmark = route->len;
        if (vg_route_append(route, rv)) {
            route->len = rmark;   /* too long: the outputs read the JSON */
            if (route->data)
                route->data[rmark] = '\0';
        }
    }
    if (err) {
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
        return VG_ERR_LIMIT;
    }
    return VG_OK;
}

struct vg_json *vg_ecs_finding_doc(const struct vg_scan_meta *m, const struct vg_finding *f,
                                   int64_t now_ms)
{
    struct vg_ecs_cache *c = vg_ecs_cache_new();
    struct vg_buf b;
    vg_buf_init(&b, VG_MAX_EVENT);
    struct vg_json *doc = NULL;
    char err[128];
    if (c && vg_ecs_finding_write(c, m, f, now_ms, &b, NULL) == VG_OK)
        doc = vg_json_parse(b.data, b.len, err, sizeof(err));
    vg_buf_free(&b);
    vg_ecs_cache_destroy(c);
    return doc;
}

struct vg_json *vg_ecs_summary_doc(const struct vg_scan_meta *m, const struct vg_scan_stats *s)
{
    char now[VG_TIME_RFC3339_LEN], started[VG_TIME_RFC3339_LEN];
    char id[VG_EVENT_ID_LEN];
    vg_time_rfc3339(s->ended_ms, now);
    vg_time_rfc3339(m->started_ms, started);
    vg_ecs_event_id("vigil.scan", m->provider ? m->provider : "", m->scan_id, id);
    size_t nerrors = vg_json_len(s->errors);

    struct vg_json *doc = vg_json_object();
    enum vg_err err = VG_OK;
    err |= vg_json_set_str(doc, "@timestamp", now);
    struct vg_json *ev = vg_json_child(doc, "event");
    err |= event_base(ev, "event", nerrors ? "failure" : "success", id, now,
                      m->started_ms / 1000, "vigil.scan");
    err |= vg_json_set_str(ev, "action", "scan-completed");
    err |= vg_json_set_str(ev, "start", started);
    err |= vg_json_set_str(ev, "end", now);
    /* ECS event.duration is in nanoseconds */
    err |= vg_json_set_int(ev, "duration", (s->ended_ms - m->started_ms) * 1000000);
    err |= common_fields(doc, m, "vigil.scan", true);

    const char *target = m->target && m->target->host_name        ? m->target->host_name
                         : m->target && m->target->cloud_account_id ? m->target->cloud_account_id
                                                                     : "?";
    struct vg_buf msg;
    vg_buf_init(&msg, 1024);
    vg_buf_printf(&msg,
                  "Scan of %s %s: %zu passed, %zu failed, %zu unknown "
                  "(failed: %zu critical, %zu high, %zu medium, %zu low); %zu errors",
                  m->provider ? m->provider : "?", target, s->by_eval[0], s->by_eval[1],
                  s->by_eval[2], s->by_severity[VG_SEV_CRITICAL][VG_EVAL_FAILED],
                  s->by_severity[VG_SEV_HIGH][VG_EVAL_FAILED], s->by_severity[VG_SEV_MEDIUM][VG_EVAL_FAILED],
                  s->by_severity[VG_SEV_LOW][VG_EVAL_FAILED], nerrors);
    err |= vg_json_set_str(doc, "message", vg_buf_str(&msg));
    vg_buf_free(&msg);
    err |= vg_json_set_str(vg_json_child(doc, "ecs"), "version", VG_ECS_VERSION);

    struct vg_json *vg = vg_json_child(doc, "vigil");
    struct vg_json *scan = vg_json_child(vg, "scan");
    err |= vg_json_set_str(scan, "id", m->scan_id);
    err |= vg_json_set_str(scan, "started", started);
    err |= vg_json_set_str(scan, "provider", m->provider);
    err |= vg_json_set_int(scan, "duration_ms", s->ended_ms - m->started_ms);
    err |= vg_json_set_int(scan, "rules", (int64_t)s->rules);
    err |= vg_json_set_int(scan, "resources", (int64_t)s->resources);
    struct vg_json *fd = vg_json_child(scan, "findings");
    err |= vg_json_set_int(fd, "passed", (int64_t)s->by_eval[0]);
    err |= vg_json_set_int(fd, "failed", (int64_t)s->by_eval[1]);
    err |= vg_json_set_int(fd, "unknown", (int64_t)s->by_eval[2]);
    err |= vg_json_set_int(fd, "total", (int64_t)(s->by_eval[0] + s->by_eval[1] + s->by_eval[2]));
    err |= vg_json_set_int(fd, "muted", (int64_t)s->muted);
    struct vg_json *sev = vg_json_child(scan, "failed_by_severity");
    for (int i = VG_SEV_LOW; i <= VG_SEV_CRITICAL; i++)
        err |= vg_json_set_int(sev, vg_severity_name((enum vg_severity)i),
                               (int64_t)s->by_severity[i][VG_EVAL_FAILED]);
    struct vg_json *fws = vg_json_child(scan, "frameworks");
    for (size_t i = 0; i < vg_frameworks_count && i < 16; i++) {
        if (!s->by_framework[i][0] && !s->by_framework[i][1] && !s->by_framework[i][2])
            continue;
        struct vg_json *f = vg_json_child(fws, vg_frameworks[i]);
        err |= vg_json_set_int(f, "passed", (int64_t)s->by_framework[i][0]);
        err |= vg_json_set_int(f, "failed", (int64_t)s->by_framework[i][1]);
        err |= vg_json_set_int(f, "unknown", (int64_t)s->by_framework[i][2]);
    }
    err |= vg_json_set(scan, "errors", s->errors ? vg_json_clone(s->errors) : vg_json_array());
    if (s->interval_s > 0)
        err |= vg_json_set_int(scan, "interval_s", s->interval_s);
    struct vg_json *exc = vg_json_child(scan, "exceptions");
    err |= vg_json_set_int(exc, "expired", (int64_t)s->exceptions_expired);
    if (vg_json_len(s->expired_entries))
        err |= vg_json_set(exc, "expired_entries", vg_json_clone(s->expired_entries));

    if (err) {
        vg_json_free(doc);
        return NULL;
    }
    return doc;
}

enum vg_err vg_ecs_encode(const struct vg_json *doc, struct vg_buf *out)
{
    return vg_json_dump(doc, out);
}
