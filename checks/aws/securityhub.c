/*
 * Security Hub collector: whether the hub is on in each region, with the
 * standards enabled.
 *
 * aws.securityhub.hub, one per region, id the hub's ARN
 * arn:aws:securityhub:REGION:ACCOUNT:hub/default (the same whether or not
 * the hub is on):
 *   {"hub_enabled": bool,"hub_arn","subscribed_at",
 *    "standards": [{"standards_arn","standards_subscription_arn",
 *                   "standards_status"}]}
 * Calls: DescribeHub (GET /accounts): InvalidAccessException ("not
 * subscribed") or ResourceNotFoundException mean the hub is off, a fact;
 * then, for an enabled hub, GetEnabledStandards (POST /standards/get),
 * whose NextToken travels in the request body, so its pages are queued
 * here one by one. A failed call makes its fields unknown.
 */
#include "collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct std_call {
    struct vg_aws_pending *p;
    int page;
};

static void queue_standards(struct vg_aws_pending *p, const char *token, int page);

static enum vg_err on_standards(struct vg_aws_page *pg, void *opaque)
{
    struct std_call *c = opaque;
    struct vg_json *list = vg_json_get(c->p->res->doc, "standards");
    const struct vg_json *subs = vg_json_get(pg->json, "StandardsSubscriptions");
    for (size_t i = 0; list && i < vg_json_len(subs); i++) {
        const struct vg_json *s = vg_json_at(subs, i);
        struct vg_json *o = vg_json_object();
        static const char *const keys[][2] = {
            { "StandardsArn", "standards_arn" },
            { "StandardsSubscriptionArn", "standards_subscription_arn" },
            { "StandardsStatus", "standards_status" },
        };
        enum vg_err err = o ? VG_OK : VG_ERR_NOMEM;
        for (size_t k = 0; !err && k < sizeof(keys) / sizeof(keys[0]); k++) {
            const char *v = vg_aws_str(s, keys[k][0]);
            if (v)
                err = vg_json_set_str(o, keys[k][1], v);
        }
        if (err) {
            vg_json_free(o);
            return err;
        }
        if (vg_json_push(list, o))
            return VG_ERR_NOMEM;
    }
    const char *next = vg_aws_str(pg->json, "NextToken");
    if (next && *next) {
        if (c->page + 1 >= VG_AWS_MAX_PAGES) {
            vg_aws_pending_fail(c->p, "standards",
                                "securityhub:GetEnabledStandards: too many pages");
            return VG_OK;
        }
        queue_standards(c->p, next, c->page + 1);
    }
    return VG_OK;
}

static void standards_done(const struct vg_aws_error *err, void *opaque)
{
    struct std_call *c = opaque;
    if (err)
        vg_aws_pending_fail(c->p, "standards", err->text);
    struct vg_aws_pending *p = c->p;
    free(c);
    vg_aws_pending_release(p);
}

static void queue_standards(struct vg_aws_pending *p, const char *token, int page)
{
    char *body = NULL;
    if (token) {
        struct vg_json *o = vg_json_object();
        struct vg_buf b;
        vg_buf_init(&b, VG_AWS_MAX_PAGE_TOKEN + 64);
        if (o && !vg_json_set_str(o, "NextToken", token) && !vg_json_dump(o, &b))
            body = vg_buf_detach(&b);
        vg_buf_free(&b);
        vg_json_free(o);
    }
    struct std_call *c = calloc(1, sizeof(*c));
    if (!c || (token && !body)) {
        free(c);
        free(body);
        vg_aws_pending_fail(p, "standards",
                            "cannot queue securityhub:GetEnabledStandards: out of memory");
        return;
    }
    c->p = p;
    c->page = page;
    struct vg_aws_call_spec s = {
        .service = "securityhub", .region = p->res->region, .protocol = VG_AWS_REST_JSON,
        .operation = "GetEnabledStandards", .method = "POST", .path = "/standards/get",
        .json_body = body ? body : "{}",
    };
    vg_aws_pending_hold(p);
    enum vg_err err = vg_aws_call(p->ctx, &s, on_standards, standards_done, c);
    free(body);
    if (err) {
        free(c);
        p->holds--;
        char why[200];
        snprintf(why, sizeof(why), "cannot queue securityhub:GetEnabledStandards: %s",
                 vg_strerror(err));
        vg_aws_pending_fail(p, "standards", why);
    }
}

static enum vg_err on_hub(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    struct vg_json *d = p->res->doc;
    enum vg_err err = vg_json_set_bool(d, "hub_enabled", true);
    const char *arn = vg_aws_str(pg->json, "HubArn");
    if (!err && arn)
        err = vg_json_set_str(d, "hub_arn", arn);
    const char *at = vg_aws_str(pg->json, "SubscribedAt");
    if (!err && at)
        err = vg_json_set_str(d, "subscribed_at", at);
    if (!err)
        queue_standards(p, NULL, 0);
    return err;
}

static bool hub_error(struct vg_aws_pending *p, const struct vg_aws_error *err)
{
    if (strcmp(err->code, "InvalidAccessException") &&
        strcmp(err->code, "ResourceNotFoundException"))
        return false;
    /* not subscribed: a fact */
    (void)vg_json_set_bool(p->res->doc, "hub_enabled", false);
    return true;
}

static enum vg_err start_securityhub(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    char arn[256];
    vg_aws_arn(ctx, "securityhub", NULL, "hub/default", arn, sizeof(arn));
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.securityhub.hub", arn, "hub/default",
                                                "monitoring", "aws-securityhub-hub",
                                                "securityhub", NULL);
    if (r && vg_json_set(r->doc, "standards", vg_json_array())) {
        vg_resource_destroy(r);
        r = NULL;
    }
    struct vg_aws_pending *p = r ? vg_aws_pending_new(ctx, r) : NULL;
    if (!p) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    struct vg_aws_call_spec s = {
        .service = "securityhub", .protocol = VG_AWS_REST_JSON, .operation = "DescribeHub",
        .method = "GET", .path = "/accounts",
    };
    (void)vg_aws_pending_call(p, &s, "hub_enabled,standards", on_hub, hub_error);
    vg_aws_pending_release(p);
    return VG_OK;
}

const struct vg_aws_collector vg_aws_securityhub = {
    .name = "securityhub-hub", .service = "securityhub", .global = false,
    .start = start_securityhub,
};
