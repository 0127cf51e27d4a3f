/*
 * IAM Access Analyzer collector: the analyzers of each region.
 *
 * aws.accessanalyzer.analyzers, one per region whatever is found, id
 * arn:aws:access-analyzer:REGION:ACCOUNT:analyzers:
 *   {"analyzers": [{"name","arn","type","status","status_reason",
 *                   "created_at"}]}
 * One paginated ListAnalyzers (GET /analyzer) per region; a failure makes
 * "analyzers" unknown with its reason.
 */
#include "collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum vg_err on_analyzers(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    struct vg_json *list = vg_json_get(p->res->doc, "analyzers");
    const struct vg_json *as = vg_json_get(pg->json, "analyzers");
    for (size_t i = 0; list && i < vg_json_len(as); i++) {
        const struct vg_json *a = vg_json_at(as, i);
        struct vg_json *o = vg_json_object();
        static const char *const keys[][2] = {
            { "name", "name" },   { "arn", "arn" },           { "type", "type" },
            { "status", "status" }, { "createdAt", "created_at" },
        };
        enum vg_err err = o ? VG_OK : VG_ERR_NOMEM;
        for (size_t k = 0; !err && k < sizeof(keys) / sizeof(keys[0]); k++) {
            const char *v = vg_aws_str(a, keys[k][0]);
            if (v)
                err = vg_json_set_str(o, keys[k][1], v);
        }
        const char *why = vg_aws_str(vg_json_get(a, "statusReason"), "code");
        if (!err && why)
            err = vg_json_set_str(o, "status_reason", why);
        if (err) {
            vg_json_free(o);
            return err;
        }
        if (vg_json_push(list, o))
            return VG_ERR_NOMEM;
    }
    return vg_aws_next(pg, "nextToken");
}

static enum vg_err start_analyzers(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    char arn[256];
    vg_aws_arn(ctx, "access-analyzer", NULL, "analyzers", arn, sizeof(arn));
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.accessanalyzer.analyzers", arn,
                                                "access-analyzers", "identity-management",
                                                "aws-accessanalyzer-analyzers",
                                                "access-analyzer", NULL);
    if (r && vg_json_set(r->doc, "analyzers", vg_json_array())) {
        vg_resource_destroy(r);
        r = NULL;
    }
    struct vg_aws_pending *p = r ? vg_aws_pending_new(ctx, r) : NULL;
    if (!p) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    static const struct vg_aws_param params[] = { { "maxResults", "100" } };
    struct vg_aws_call_spec s = {
        .service = "access-analyzer", .protocol = VG_AWS_REST_JSON,
        .operation = "ListAnalyzers", .method = "GET", .path = "/analyzer", .params = params,
        .nparams = 1, .token_param = "nextToken",
    };
    (void)vg_aws_pending_call(p, &s, "analyzers", on_analyzers, NULL);
    vg_aws_pending_release(p);
    return VG_OK;
}

const struct vg_aws_collector vg_aws_access_analyzer = {
    .name = "access-analyzer", .service = "access-analyzer", .global = false,
    .start = start_analyzers,
};
