/*
 * AWS Config: the configuration recorders of one region and their status
 * (config:DescribeConfigurationRecorders and
 * config:DescribeConfigurationRecorderStatus, both for the whole region).
 *
 * Resource (see checks/rules/aws-logging.yml):
 *   aws.config.recorders   arn:P:config:REGION:ACCOUNT:configuration-recorders
 *       {recorders: [{name, role_arn, all_supported,
 *                     include_global_resource_types, recording, last_status,
 *                     last_error_code, last_status_change_time}],
 *        recorder_count}
 */
#include "../../agent/timeutil.h"
#include "collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_TARGET "StarlingDoveService"

struct rec_state {
    struct vg_json *recorders;    /* DescribeConfigurationRecorders' list, or NULL */
    struct vg_json *status;       /* DescribeConfigurationRecorderStatus' list, or NULL */
};

static void rec_free(void *opaque)
{
    struct rec_state *rs = opaque;
    vg_json_free(rs->recorders);
    vg_json_free(rs->status);
    free(rs);
}

static enum vg_err on_recorders(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    struct rec_state *rs = p->user;
    const struct vg_json *l = vg_json_get(pg->json, "ConfigurationRecorders");
    vg_json_free(rs->recorders);
    rs->recorders = l ? vg_json_clone(l) : vg_json_array();
    return rs->recorders ? VG_OK : VG_ERR_NOMEM;
}

static enum vg_err on_status(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    struct rec_state *rs = p->user;
    const struct vg_json *l = vg_json_get(pg->json, "ConfigurationRecordersStatus");
    vg_json_free(rs->status);
    rs->status = l ? vg_json_clone(l) : vg_json_array();
    return rs->status ? VG_OK : VG_ERR_NOMEM;
}

static struct vg_json *time_value(const struct vg_json *v)
{
    if (vg_json_is_number(v)) {
        double s = vg_json_get_num(v);
        if (s < 0 || s > 32503680000.0)
            return NULL;
        char out[VG_TIME_RFC3339_LEN];
        vg_time_rfc3339((int64_t)(s * 1000.0), out);
        return vg_json_str(out);
    }
    const char *s = vg_json_get_str(v);
    return s && *s ? vg_json_str(s) : NULL;
}

/* recorders[]: each recorder with its status merged in by name. */
static void on_finish(struct vg_aws_pending *p)
{
    struct rec_state *rs = p->user;
    struct vg_resource *r = p->res;
    if (!rs->recorders)
        return;    /* the list call failed: its fields carry the reason */
    struct vg_json *out = vg_json_array();
    for (size_t i = 0; out && i < vg_json_len(rs->recorders); i++) {
        const struct vg_json *rec = vg_json_at(rs->recorders, i);
        const char *name = vg_aws_str(rec, "name");
        struct vg_json *o = vg_json_object();
        if (!o || !name) {
            vg_json_free(o);
            continue;
        }
        const struct vg_json *rg = vg_json_get(rec, "recordingGroup");
        vg_json_set_str(o, "name", name);
        if (vg_aws_str(rec, "roleARN"))
            vg_json_set_str(o, "role_arn", vg_aws_str(rec, "roleARN"));
        if (rg) {
            vg_json_set_bool(o, "all_supported", vg_aws_bool(rg, "allSupported"));
            vg_json_set_bool(o, "include_global_resource_types",
                             vg_aws_bool(rg, "includeGlobalResourceTypes"));
        }
        const struct vg_json *stat = NULL;
        for (size_t k = 0; k < vg_json_len(rs->status); k++) {
            const char *sn = vg_aws_str(vg_json_at(rs->status, k), "name");
            if (sn && strcmp(sn, name) == 0)
                stat = vg_json_at(rs->status, k);
        }
        if (stat) {
            vg_json_set_bool(o, "recording", vg_aws_bool(stat, "recording"));
            if (vg_aws_str(stat, "lastStatus"))
                vg_json_set_str(o, "last_status", vg_aws_str(stat, "lastStatus"));
            if (vg_aws_str(stat, "lastErrorCode"))
                vg_json_set_str(o, "last_error_code", vg_aws_str(stat, "lastErrorCode"));
            struct vg_json *t = time_value(vg_json_get(stat, "lastStatusChangeTime"));
            if (t)
                vg_json_set(o, "last_status_change_time", t);
        } else if (rs->status) {
            vg_json_set_bool(o, "recording", false);
            vg_json_set_str(o, "last_status", "no status");
        }
        vg_json_push(out, o);
    }
    if (!out)
        return;
    vg_json_set_int(r->doc, "recorder_count", (int64_t)vg_json_len(out));
    vg_json_set(r->doc, "recorders", out);
    if (!rs->status && !vg_resource_error(r, "recorders"))
        vg_resource_set_error(r, "recorders", "the recorders' status could not be read");
}

static enum vg_err cfg_start(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    char id[200];
    vg_aws_arn(ctx, "config", NULL, "configuration-recorders", id, sizeof(id));
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.config.recorders", id,
                                                "configuration-recorders", "cloud-config",
                                                "aws-config-recorders", "config", NULL);
    struct rec_state *rs = calloc(1, sizeof(*rs));
    struct vg_aws_pending *p = rs ? vg_aws_pending_new(ctx, r) : (vg_resource_destroy(r), NULL);
    if (!p) {
        free(rs);
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    p->user = rs;
    p->free_user = rec_free;
    p->finish = on_finish;
    struct vg_aws_call_spec s = { .service = "config", .protocol = VG_AWS_JSON,
                                  .target = CFG_TARGET,
                                  .operation = "DescribeConfigurationRecorders" };
    vg_aws_pending_call(p, &s, "recorders,recorder_count", on_recorders, NULL);
    s.operation = "DescribeConfigurationRecorderStatus";
    vg_aws_pending_call(p, &s, "recorders", on_status, NULL);
    vg_aws_pending_release(p);
    return VG_OK;
}

const struct vg_aws_collector vg_aws_config_recorders = {
    .name = "config",
    .service = "config",
    .global = false,
    .start = cfg_start,
};
