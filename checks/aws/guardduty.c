/*
 * GuardDuty collector: whether a detector is on in each region.
 *
 * aws.guardduty.detectors, one per region whatever is found, id
 * arn:aws:guardduty:REGION:ACCOUNT:detectors (a region without a
 * detector is a resource that fails, not a missing finding; the id stays
 * the same when GuardDuty is turned on, so the latest state replaces the
 * failure):
 *   {"detectors": [{"detector_id","status","created_at","updated_at",
 *                   "finding_publishing_frequency"}]}
 * Calls: ListDetectors (paginated), GetDetector per detector. A failed
 * call makes "detectors" unknown with its reason.
 */
#include "collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct det_call {
    struct vg_aws_pending *p;
    size_t index;
};

static enum vg_err on_detector(struct vg_aws_page *pg, void *opaque)
{
    struct det_call *c = opaque;
    struct vg_json *d = vg_json_at(vg_json_get(c->p->res->doc, "detectors"), c->index);
    static const char *const keys[][2] = {
        { "status", "status" },
        { "createdAt", "created_at" },
        { "updatedAt", "updated_at" },
        { "findingPublishingFrequency", "finding_publishing_frequency" },
    };
    for (size_t k = 0; d && k < sizeof(keys) / sizeof(keys[0]); k++) {
        const char *s = vg_aws_str(pg->json, keys[k][0]);
        if (s && vg_json_set_str(d, keys[k][1], s))
            return VG_ERR_NOMEM;
    }
    return VG_OK;
}

static void detector_done(const struct vg_aws_error *err, void *opaque)
{
    struct det_call *c = opaque;
    if (err)
        vg_aws_pending_fail(c->p, "detectors", err->text);
    struct vg_aws_pending *p = c->p;
    free(c);
    vg_aws_pending_release(p);
}

static enum vg_err on_list(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    struct vg_json *dets = vg_json_get(p->res->doc, "detectors");
    const struct vg_json *ids = vg_json_get(pg->json, "detectorIds");
    for (size_t i = 0; dets && i < vg_json_len(ids); i++) {
        const char *id = vg_json_get_str(vg_json_at(ids, i));
        /* detector ids are 32 hex characters; anything else cannot go
         * into a path unescaped and is not a detector */
        if (!id || !*id || strlen(id) > 64 || strspn(id, "0123456789abcdefABCDEF") != strlen(id))
            continue;
        struct vg_json *o = vg_json_object();
        if (!o || vg_json_set_str(o, "detector_id", id)) {
            vg_json_free(o);
            return VG_ERR_NOMEM;
        }
        if (vg_json_push(dets, o))
            return VG_ERR_NOMEM;
        struct det_call *c = calloc(1, sizeof(*c));
        if (!c)
            return VG_ERR_NOMEM;
        c->p = p;
        c->index = vg_json_len(dets) - 1;
        char path[128];
        snprintf(path, sizeof(path), "/detector/%s", id);
        struct vg_aws_call_spec s = {
            .service = "guardduty", .region = p->res->region, .protocol = VG_AWS_REST_JSON,
            .operation = "GetDetector", .method = "GET", .path = path,
        };
        vg_aws_pending_hold(p);
        enum vg_err err = vg_aws_call(p->ctx, &s, on_detector, detector_done, c);
        if (err) {
            free(c);
            p->holds--;
            return err;
        }
    }
    return vg_aws_next(pg, "nextToken");
}

static enum vg_err start_guardduty(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    char arn[256];
    vg_aws_arn(ctx, "guardduty", NULL, "detectors", arn, sizeof(arn));
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.guardduty.detectors", arn,
                                                "guardduty-detectors", "monitoring",
                                                "aws-guardduty-detectors", "guardduty", NULL);
    if (r && vg_json_set(r->doc, "detectors", vg_json_array())) {
        vg_resource_destroy(r);
        r = NULL;
    }
    struct vg_aws_pending *p = r ? vg_aws_pending_new(ctx, r) : NULL;
    if (!p) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    static const struct vg_aws_param params[] = { { "maxResults", "50" } };
    struct vg_aws_call_spec s = {
        .service = "guardduty", .protocol = VG_AWS_REST_JSON, .operation = "ListDetectors",
        .method = "GET", .path = "/detector", .params = params, .nparams = 1,
        .token_param = "nextToken",
    };
    (void)vg_aws_pending_call(p, &s, "detectors", on_list, NULL);
    vg_aws_pending_release(p);
    return VG_OK;
}

const struct vg_aws_collector vg_aws_guardduty = {
    .name = "guardduty-detectors", .service = "guardduty", .global = false,
    .start = start_guardduty,
};
