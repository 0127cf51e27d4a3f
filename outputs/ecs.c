#include "ecs.h"
#include "../agent/timeutil.h"
#include "vg_version.h"

#include <stdio.h>
#include <string.h>

void vg_ecs_event_id(const char *rule_id, const char *resource_id, const char *scan_id,
                     char out[VG_EVENT_ID_LEN])
{
    struct vg_buf b;
    vg_buf_init(&b, 1 << 16);
    uint8_t md[VG_SHA256_LEN];
    /* NUL separators: ("a","bc") and ("ab","c") never hash alike */
    if (vg_buf_appends(&b, rule_id) || vg_buf_appendc(&b, '\0') ||
        vg_buf_appends(&b, resource_id) || vg_buf_appendc(&b, '\0') ||
        vg_buf_appends(&b, scan_id)) {
        /* ids longer than 64 KiB: hash what fits, still deterministic */
    }
    vg_sha256(b.data ? b.data : "", b.len, md);
    vg_buf_free(&b);
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
                                 const char *dataset)
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

struct vg_json *vg_ecs_finding_doc(const struct vg_scan_meta *m, const struct vg_finding *f,
                                   int64_t now_ms)
{
    const struct vg_rule *r = f->rule;
    const struct vg_resource *res = f->resource;
    enum vg_eval e = f->result->evaluation;
    char now[VG_TIME_RFC3339_LEN], started[VG_TIME_RFC3339_LEN];
    char id[VG_EVENT_ID_LEN];
    vg_time_rfc3339(now_ms, now);
    vg_time_rfc3339(m->started_ms, started);
    vg_ecs_event_id(r->id, res->id, m->scan_id, id);

    struct vg_json *doc = vg_json_object();
    enum vg_err err = VG_OK;
    err |= vg_json_set_str(doc, "@timestamp", now);

    struct vg_json *ev = vg_json_child(doc, "event");
    err |= event_base(ev, "state", outcome_of(e), id, now, m->started_ms / 1000,
                      "vigil.findings");
    err |= vg_json_set_int(ev, "severity", vg_severity_score(r->severity));

    err |= common_fields(doc, m, "vigil.findings");
    err |= vg_json_set(doc, "rule", rule_object(r, m->provider));

    struct vg_json *result = vg_json_child(doc, "result");
    err |= vg_json_set_str(result, "evaluation", vg_eval_name(e));
    err |= vg_json_set(result, "evidence", f->result->evidence
                                               ? vg_json_clone(f->result->evidence)
                                               : vg_json_object());
    if (f->result->reason[0])
        err |= vg_json_set_str(result, "reason", f->result->reason);

    struct vg_json *rs = vg_json_child(doc, "resource");
    err |= vg_json_set_str(rs, "id", res->id);
    err |= vg_json_set_str(rs, "name", res->name);
    if (res->ecs_type)
        err |= vg_json_set_str(rs, "type", res->ecs_type);
    if (res->sub_type)
        err |= vg_json_set_str(rs, "sub_type", res->sub_type);
    if (res->region)
        err |= vg_json_set_str(rs, "region", res->region);

    struct vg_buf msg;
    vg_buf_init(&msg, VG_MAX_REASON * 4);
    vg_buf_printf(&msg, "%s: %s for %s", r->name, vg_eval_name(e), res->id);
    if (f->result->reason[0])
        vg_buf_printf(&msg, ": %s", f->result->reason);
    err |= vg_json_set_str(doc, "message", vg_buf_str(&msg));
    vg_buf_free(&msg);

    err |= vg_json_set_str(vg_json_child(doc, "ecs"), "version", VG_ECS_VERSION);

    struct vg_json *vg = vg_json_child(doc, "vigil");
    struct vg_json *scan = vg_json_child(vg, "scan");
    err |= vg_json_set_str(scan, "id", m->scan_id);
    err |= vg_json_set_str(scan, "started", started);
    err |= vg_json_set_str(vg, "severity", vg_severity_name(r->severity));
    err |= vg_json_set(vg, "compliance", vg_json_clone(r->frameworks));
    err |= vg_json_set_bool(vg, "muted", f->muted);
    if (f->muted && f->mute_reason)
        err |= vg_json_set_str(vg, "mute_reason", f->mute_reason);

    if (err) {
        vg_json_free(doc);
        return NULL;
    }
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
    err |= common_fields(doc, m, "vigil.scan");

    const char *target = m->target && m->target->host_name ? m->target->host_name : "?";
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
