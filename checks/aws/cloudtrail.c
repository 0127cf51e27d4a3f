/*
 * CloudTrail: every trail of every scanned region (cloudtrail:DescribeTrails
 * per region, shadow copies of multi-region trails dropped by ARN), each
 * with its status, event selectors and its bucket's access logging, all
 * asked in the trail's home region; then one account-level resource that
 * says whether some multi-region trail logs management events.
 *
 * Resources (see checks/rules/aws-logging.yml):
 *   aws.cloudtrail.trail   the trail's ARN, region the home region
 *       {name, arn, home_region, is_multi_region, is_organization_trail,
 *        s3_bucket_name, log_file_validation_enabled, kms_key_id,
 *        cloudwatch_logs_log_group_arn, is_logging, latest_delivery_time,
 *        latest_cloudwatch_logs_delivery_time, management_events
 *        ("all", "read-only", "write-only", "none"), event_selectors,
 *        advanced_event_selectors, bucket_access_logging, bucket_logging_target}
 *   aws.cloudtrail.account  arn:P:cloudtrail::ACCOUNT:multi-region-logging
 *       {multi_region_logging, compliant_trails, trails: [{name, arn,
 *        is_multi_region, is_logging, management_events}]}
 */
#include "../../agent/timeutil.h"
#include "collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_TARGET "CloudTrail_20131101"

struct ct_state {
    const struct vg_aws_ctx *ctx;
    int refs;                     /* regions and trails still open, + start's hold */
    struct vg_json *seen;         /* trail ARN -> true */
    struct vg_json *trails;       /* summaries for the account resource */
    char unknown[1024];           /* why some trail, or region, could not be read */
};

static void emit_account(struct ct_state *st);

static void ct_unref(struct ct_state *st)
{
    if (--st->refs > 0)
        return;
    emit_account(st);
    vg_json_free(st->seen);
    vg_json_free(st->trails);
    free(st);
}

static void note_unknown(struct ct_state *st, const char *why)
{
    if (!st->unknown[0])
        snprintf(st->unknown, sizeof(st->unknown), "%s", why);
}

/* ---- one trail ----------------------------------------------------------------- */

struct trail {
    struct ct_state *st;
    bool ours;                    /* the trail belongs to the scanned account */
    bool logging_retried;         /* GetBucketLogging sent again to the bucket's region */
};

static void trail_free(void *opaque)
{
    struct trail *t = opaque;
    struct ct_state *st = t->st;
    free(t);
    ct_unref(st);
}

/* Epoch seconds (a JSON number) as RFC 3339; strings kept. */
static struct vg_json *time_value(const struct vg_json *v)
{
    if (vg_json_is_number(v)) {
        char out[VG_TIME_RFC3339_LEN];
        double s = vg_json_get_num(v);
        if (s < 0 || s > 32503680000.0)
            return NULL;
        vg_time_rfc3339((int64_t)(s * 1000.0), out);
        return vg_json_str(out);
    }
    const char *s = vg_json_get_str(v);
    return s && *s ? vg_json_str(s) : NULL;
}

static enum vg_err on_status(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    struct vg_json *doc = p->res->doc;
    const struct vg_json *lg = vg_json_get(pg->json, "IsLogging");
    enum vg_err err = vg_json_set_bool(doc, "is_logging", vg_json_get_bool(lg));
    static const char *const times[][2] = {
        { "LatestDeliveryTime", "latest_delivery_time" },
        { "LatestCloudWatchLogsDeliveryTime", "latest_cloudwatch_logs_delivery_time" },
        { "StartLoggingTime", "start_logging_time" },
        { "StopLoggingTime", "stop_logging_time" },
    };
    for (size_t i = 0; !err && i < sizeof(times) / sizeof(times[0]); i++) {
        struct vg_json *t = time_value(vg_json_get(pg->json, times[i][0]));
        if (t)
            err = vg_json_set(doc, times[i][1], t);
    }
    const char *cwerr = vg_aws_str(pg->json, "LatestCloudWatchLogsDeliveryError");
    if (!err && cwerr && *cwerr)
        err = vg_json_set_str(doc, "latest_cloudwatch_logs_delivery_error", cwerr);
    return err;
}

/* Which management events the selectors record: bit 1 read, bit 2 write. */
static int classic_bits(const struct vg_json *sels)
{
    int bits = 0;
    for (size_t i = 0; i < vg_json_len(sels); i++) {
        const struct vg_json *s = vg_json_at(sels, i);
        const struct vg_json *inc = vg_json_get(s, "IncludeManagementEvents");
        /* IncludeManagementEvents defaults to true */
        if (inc && !vg_json_get_bool(inc))
            continue;
        const char *rw = vg_aws_str(s, "ReadWriteType");
        if (!rw || strcmp(rw, "All") == 0)
            bits |= 3;
        else if (strcmp(rw, "ReadOnly") == 0)
            bits |= 1;
        else if (strcmp(rw, "WriteOnly") == 0)
            bits |= 2;
    }
    return bits;
}

static bool has_value(const struct vg_json *arr, const char *v)
{
    for (size_t i = 0; i < vg_json_len(arr); i++) {
        const char *s = vg_json_get_str(vg_json_at(arr, i));
        if (s && strcmp(s, v) == 0)
            return true;
    }
    return false;
}

static int advanced_bits(const struct vg_json *sels)
{
    int bits = 0;
    for (size_t i = 0; i < vg_json_len(sels); i++) {
        const struct vg_json *fs = vg_json_get(vg_json_at(sels, i), "FieldSelectors");
        bool mgmt = false;
        int rw = 3;
        for (size_t k = 0; k < vg_json_len(fs); k++) {
            const struct vg_json *f = vg_json_at(fs, k);
            const char *field = vg_aws_str(f, "Field");
            if (!field)
                continue;
            const struct vg_json *eq = vg_json_get(f, "Equals");
            if (strcmp(field, "eventCategory") == 0 && has_value(eq, "Management"))
                mgmt = true;
            if (strcmp(field, "readOnly") == 0) {
                if (has_value(eq, "true") && !has_value(eq, "false"))
                    rw = 1;
                else if (has_value(eq, "false") && !has_value(eq, "true"))
                    rw = 2;
            }
        }
        if (mgmt)
            bits |= rw;
    }
    return bits;
}

static enum vg_err on_selectors(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    struct vg_json *doc = p->res->doc;
    const struct vg_json *es = vg_json_get(pg->json, "EventSelectors");
    const struct vg_json *aes = vg_json_get(pg->json, "AdvancedEventSelectors");
    int bits;
    const char *src;
    if (vg_json_len(aes)) {
        bits = advanced_bits(aes);
        src = "advanced event selectors";
    } else if (vg_json_len(es)) {
        bits = classic_bits(es);
        src = "event selectors";
    } else {
        bits = 3;
        src = "no event selectors (CloudTrail's default: all management events)";
    }
    static const char *const words[] = { "none", "read-only", "write-only", "all" };
    enum vg_err err = vg_json_set_str(doc, "management_events", words[bits & 3]);
    if (!err)
        err = vg_resource_set_source(p->res, "management_events", src);
    if (!err)
        err = vg_json_set(doc, "event_selectors", es ? vg_json_clone(es) : vg_json_array());
    if (!err)
        err = vg_json_set(doc, "advanced_event_selectors",
                          aes ? vg_json_clone(aes) : vg_json_array());
    return err;
}

static const char *const bl_lists[] = { "TargetGrants", NULL };
static const struct vg_aws_xml_opts bl_xml = { .lists = bl_lists };

static enum vg_err on_bucket_logging(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    const struct vg_json *le = vg_json_get(pg->json, "LoggingEnabled");
    const char *target = vg_aws_str(le, "TargetBucket");
    enum vg_err err = vg_json_set_bool(p->res->doc, "bucket_access_logging", target && *target);
    if (!err && target && *target)
        err = vg_json_set_str(p->res->doc, "bucket_logging_target", target);
    return err;
}

static void bucket_logging_call(struct vg_aws_pending *p, const char *region);

static bool on_bucket_logging_error(struct vg_aws_pending *p, const struct vg_aws_error *err)
{
    struct trail *t = p->user;
    const char *bucket = vg_aws_str(p->res->doc, "s3_bucket_name");
    if (err->bucket_region[0] && !t->logging_retried) {
        /* the bucket lives in another region: ask there */
        t->logging_retried = true;
        bucket_logging_call(p, err->bucket_region);
        return true;
    }
    char why[1400];
    if (err->kind == VG_AWS_ERR_DENIED || strcmp(err->code, "NoSuchBucket") == 0)
        snprintf(why, sizeof(why), "the trail's bucket %s cannot be read from account %s "
                                   "(it may belong to another account): %s",
                 bucket ? bucket : "?", p->ctx->account_id, err->text);
    else
        snprintf(why, sizeof(why), "%s", err->text);
    vg_resource_set_error(p->res, "bucket_access_logging", why);
    return true;
}

static void bucket_logging_call(struct vg_aws_pending *p, const char *region)
{
    const char *bucket = vg_aws_str(p->res->doc, "s3_bucket_name");
    static const struct vg_aws_param q[] = { { "logging", NULL } };
    struct vg_aws_param hdr[] = { { "x-amz-expected-bucket-owner", p->ctx->account_id } };
    struct vg_aws_call_spec s = { .service = "s3", .region = region,
                                  .protocol = VG_AWS_REST_XML, .operation = "GetBucketLogging",
                                  .bucket = bucket, .params = q, .nparams = 1,
                                  .headers = hdr, .nheaders = 1, .xml = &bl_xml };
    vg_aws_pending_call(p, &s, "bucket_access_logging", on_bucket_logging,
                        on_bucket_logging_error);
}

/* Adds the trail's summary for the account resource, then emits it (only
 * the scanned account's own trails are its resources). */
static void on_trail_finish(struct vg_aws_pending *p)
{
    struct trail *t = p->user;
    struct ct_state *st = t->st;
    const struct vg_json *doc = p->res->doc;
    struct vg_json *sum = vg_json_object();
    if (sum) {
        vg_json_set_str(sum, "name", p->res->name);
        vg_json_set_str(sum, "arn", p->res->id);
        vg_json_set(sum, "is_multi_region", vg_json_clone(vg_json_get(doc, "is_multi_region")));
        static const char *const keys[] = { "is_logging", "management_events", NULL };
        for (size_t i = 0; keys[i]; i++) {
            const char *e = vg_resource_error(p->res, keys[i]);
            if (e) {
                vg_json_set_str(sum, "unknown", e);
                if (vg_json_get_bool(vg_json_get(doc, "is_multi_region")))
                    note_unknown(st, e);
            } else {
                vg_json_set(sum, keys[i], vg_json_clone(vg_json_get(doc, keys[i])));
            }
        }
        vg_json_push(st->trails, sum);
    }
    if (!t->ours) {
        vg_resource_destroy(p->res);
        p->res = NULL;
    }
}

static void add_trail(struct ct_state *st, const struct vg_json *tr)
{
    const struct vg_aws_ctx *ctx = st->ctx;
    const char *name = vg_aws_str(tr, "Name"), *arn = vg_aws_str(tr, "TrailARN");
    const char *home = vg_aws_str(tr, "HomeRegion");
    if (!name || !arn || !home || !*home || vg_json_get(st->seen, arn))
        return;
    vg_json_set_bool(st->seen, arn, true);
    char acct[64];
    snprintf(acct, sizeof(acct), ":%s:", ctx->account_id);
    struct trail *t = calloc(1, sizeof(*t));
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.cloudtrail.trail", arn, name,
                                                "cloud-audit", "aws-cloudtrail-trail",
                                                "cloudtrail", home);
    struct vg_aws_pending *p = t ? vg_aws_pending_new(ctx, r) : (vg_resource_destroy(r), NULL);
    if (!p) {
        free(t);
        vg_aws_scan_error(ctx, "cloudtrail trail %s: out of memory", name);
        return;
    }
    t->st = st;
    t->ours = strstr(arn, acct) != NULL;
    st->refs++;
    p->user = t;
    p->free_user = trail_free;
    p->finish = on_trail_finish;
    struct vg_json *doc = r->doc;
    vg_json_set_str(doc, "name", name);
    vg_json_set_str(doc, "arn", arn);
    vg_json_set_str(doc, "home_region", home);
    vg_json_set_bool(doc, "is_multi_region", vg_aws_bool(tr, "IsMultiRegionTrail"));
    vg_json_set_bool(doc, "is_organization_trail", vg_aws_bool(tr, "IsOrganizationTrail"));
    vg_json_set_bool(doc, "include_global_service_events",
                     vg_aws_bool(tr, "IncludeGlobalServiceEvents"));
    vg_json_set_bool(doc, "log_file_validation_enabled",
                     vg_aws_bool(tr, "LogFileValidationEnabled"));
    static const char *const strs[][2] = {
        { "S3BucketName", "s3_bucket_name" },
        { "KmsKeyId", "kms_key_id" },
        { "CloudWatchLogsLogGroupArn", "cloudwatch_logs_log_group_arn" },
        { "CloudWatchLogsRoleArn", "cloudwatch_logs_role_arn" },
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *v = vg_aws_str(tr, strs[i][0]);
        if (v && *v)
            vg_json_set_str(doc, strs[i][1], v);
    }
    char body[1200];
    snprintf(body, sizeof(body), "{\"Name\":\"%s\"}", arn);
    struct vg_aws_call_spec s = { .service = "cloudtrail", .region = home,
                                  .protocol = VG_AWS_JSON, .target = CT_TARGET,
                                  .operation = "GetTrailStatus", .json_body = body };
    if (strchr(arn, '"') || strchr(arn, '\\')) {
        vg_aws_pending_fail(p, "is_logging,management_events", "the trail ARN has quotes");
    } else {
        vg_aws_pending_call(p, &s,
                            "is_logging,latest_delivery_time,"
                            "latest_cloudwatch_logs_delivery_time",
                            on_status, NULL);
        snprintf(body, sizeof(body), "{\"TrailName\":\"%s\"}", arn);
        s.operation = "GetEventSelectors";
        vg_aws_pending_call(p, &s, "management_events,event_selectors,advanced_event_selectors",
                            on_selectors, NULL);
    }
    if (vg_json_get(doc, "s3_bucket_name"))
        bucket_logging_call(p, home);
    else
        vg_resource_set_error(r, "bucket_access_logging", "the trail names no S3 bucket");
    vg_aws_pending_release(p);
}

/* ---- DescribeTrails per region ----------------------------------------------- */

struct ct_region {
    struct ct_state *st;
    char region[32];
};

static enum vg_err on_trails(struct vg_aws_page *pg, void *opaque)
{
    struct ct_region *cr = opaque;
    const struct vg_json *tl = vg_json_get(pg->json, "trailList");
    for (size_t i = 0; i < vg_json_len(tl); i++)
        add_trail(cr->st, vg_json_at(tl, i));
    return VG_OK;
}

static void on_trails_done(const struct vg_aws_error *err, void *opaque)
{
    struct ct_region *cr = opaque;
    struct ct_state *st = cr->st;
    if (err) {
        vg_aws_list_failed(st->ctx, err);
        note_unknown(st, err->text);
    }
    free(cr);
    ct_unref(st);
}

/* ---- the account resource --------------------------------------------------- */

static void emit_account(struct ct_state *st)
{
    const struct vg_aws_ctx *ctx = st->ctx;
    char id[200];
    vg_aws_arn(ctx, "cloudtrail", "", "multi-region-logging", id, sizeof(id));
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.cloudtrail.account", id,
                                                "multi-region-logging", "cloud-audit",
                                                "aws-cloudtrail-account", "cloudtrail",
                                                ctx->global_region);
    if (!r)
        return;
    struct vg_json *good = vg_json_array();
    for (size_t i = 0; good && i < vg_json_len(st->trails); i++) {
        const struct vg_json *t = vg_json_at(st->trails, i);
        const char *me = vg_aws_str(t, "management_events");
        if (vg_json_get_bool(vg_json_get(t, "is_multi_region")) &&
            vg_json_get_bool(vg_json_get(t, "is_logging")) && me && strcmp(me, "all") == 0)
            vg_json_push(good, vg_json_str(vg_aws_str(t, "name")));
    }
    size_t ngood = vg_json_len(good);
    vg_json_set(r->doc, "trails", vg_json_clone(st->trails));
    vg_json_set(r->doc, "compliant_trails", good);
    if (ngood || !st->unknown[0])
        vg_json_set_bool(r->doc, "multi_region_logging", ngood > 0);
    else
        vg_resource_set_error(r, "multi_region_logging", st->unknown);
    vg_aws_emit(ctx, r);
}

/* ---- the collector ----------------------------------------------------------------- */

static enum vg_err ct_start(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct ct_state *st = calloc(1, sizeof(*st));
    if (!st || !(st->seen = vg_json_object()) || !(st->trails = vg_json_array())) {
        if (st) {
            vg_json_free(st->seen);
            free(st);
        }
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    st->ctx = ctx;
    st->refs = 1;
    for (size_t i = 0; i < ctx->nregions; i++) {
        struct ct_region *cr = calloc(1, sizeof(*cr));
        if (!cr) {
            note_unknown(st, "out of memory");
            break;
        }
        cr->st = st;
        snprintf(cr->region, sizeof(cr->region), "%s", ctx->regions[i]);
        struct vg_aws_call_spec s = { .service = "cloudtrail", .region = cr->region,
                                      .protocol = VG_AWS_JSON, .target = CT_TARGET,
                                      .operation = "DescribeTrails",
                                      .json_body = "{\"includeShadowTrails\":true}" };
        st->refs++;
        enum vg_err e = vg_aws_call(ctx, &s, on_trails, on_trails_done, cr);
        if (e) {
            char why[200];
            snprintf(why, sizeof(why), "cannot queue cloudtrail:DescribeTrails in %s: %s",
                     cr->region, vg_strerror(e));
            vg_aws_scan_error(ctx, "%s", why);
            note_unknown(st, why);
            free(cr);
            st->refs--;
        }
    }
    ct_unref(st);
    return VG_OK;
}

const struct vg_aws_collector vg_aws_cloudtrail = {
    .name = "cloudtrail",
    .service = "cloudtrail",
    .global = true,
    .start = ct_start,
};
