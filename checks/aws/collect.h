/*
 * AWS collectors: one file per service (iam.c, s3.c, ec2.c, ...), each
 * exporting one or more `const struct vg_aws_collector` entries, all
 * registered in the static const table `collectors[]` in
 * checks/aws/provider.c (the extern declaration goes beside the table).
 *
 * How a scan runs (checks/aws/provider.c):
 *   for each account (the caller's own, or one AssumeRole per configured
 *   role_arn):
 *     credentials -> sts:GetCallerIdentity (account id, partition)
 *                 -> iam:ListAccountAliases (account name)
 *                 -> ec2:DescribeRegions (enabled regions, narrowed by
 *                    the scan's `regions`)
 *     for each collector: global ones once, with ctx->region the scan's
 *       global_region; regional ones once per region. start() queues the
 *       first calls on the engine and returns; nothing is waited for.
 *     vg_aws_http_run() runs every call; callbacks queue more (one
 *       GetBucketEncryption per bucket found) and hand finished resources
 *       to vg_aws_emit().
 *
 * A collector never blocks and never runs the engine itself. Everything it
 * allocates for its calls is freed by its own done callbacks (the engine
 * runs every done callback exactly once, also when the run is aborted), so
 * the provider frees nothing of a collector's.
 *
 * Errors, as the issue asks:
 *   - a list call that fails (ListUsers refused, throttled to the end):
 *     vg_aws_list_failed(ctx, err) -> one line in the summary's
 *     scan_errors; the scan goes on; no resource is invented.
 *   - a sub-call that fails for one resource (GetBucketPolicy denied):
 *     the resource is still emitted, with vg_resource_set_error(res,
 *     FIELD, err->text) for each top-level doc field that call fills, so
 *     every rule reading FIELD is `unknown` with that reason.
 *     vg_aws_pending_call() does exactly that.
 *   - "not configured" answers (kind SERVICE, err VG_ERR_NOENT, e->code
 *     NoSuchEntity, ServerSideEncryptionConfigurationNotFoundError,
 *     NoSuchPublicAccessBlockConfiguration, NoSuchBucketPolicy, ...) are
 *     facts, not errors: the collector records the absence in the doc.
 *
 * Resource conventions (both AWS engineers):
 *   res->id      the ARN; for account- and region-level settings a stable
 *                synthetic ARN built with vg_aws_arn():
 *                "arn:aws:ec2:eu-west-1:123456789012:ebs-encryption-by-default"
 *   res->type    the rule selector "aws.SERVICE.THING": "aws.iam.user",
 *                "aws.s3.bucket", "aws.ec2.security-group"
 *   res->ecs_type  cloudbeat's resource.type: identity-management,
 *                cloud-storage, cloud-audit, cloud-config, key-management,
 *                monitoring, cloud-compute, cloud-database, networking
 *   res->sub_type  "aws-iam-user", "aws-s3-bucket", ...
 *   res->service cloud.service.name ("iam", "s3", "ec2")
 *   res->region  the resource's region ("us-east-1" for IAM's global
 *                things: the global_region), res->account the account id;
 *                both set by vg_aws_resource_new()
 *   res->tags    an object key -> value (vg_aws_tags_set())
 *   doc          field names in snake_case; timestamps kept as AWS gives
 *                them (RFC 3339 / ISO 8601) so age_days_* can read them;
 *                derived booleans sit beside their evidence.
 */
#ifndef VG_AWS_COLLECT_H
#define VG_AWS_COLLECT_H

#include "../../agent/err.h"
#include "../../agent/json.h"
#include "../provider.h"
#include "../resource.h"
#include "aws.h"
#include "creds.h"
#include "http.h"
#include "xml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vg_aws_scan;   /* the provider's per-scan state (opaque) */

/* What a collector's start() receives: one (account, region). Owned by
 * the provider and valid until every call and deferred function of that
 * account has ended (so callbacks may keep the pointer). Collectors treat
 * it as read-only; the mutable parts (the sink, scan_errors) are reached
 * through the functions below. */
struct vg_aws_ctx {
    struct vg_aws_http *http;              /* the engine; borrowed */
    struct vg_aws_creds_provider *creds;   /* this account's credentials; borrowed */
    const char *account_id;                /* "123456789012" */
    const char *account_name;              /* the first account alias, or NULL */
    const char *region;                    /* the region scanned (global: global_region) */
    const char *global_region;             /* where global services are called, "us-east-1" */
    const char *partition;                 /* "aws", "aws-cn", "aws-us-gov" (from the
                                            * caller's ARN) */
    const char *endpoint_url;              /* every service here (moto); NULL: AWS */
    const char *const *regions;            /* every region scanned for this account */
    size_t nregions;
    const struct vg_scan_params *params;   /* the scan's parameters; borrowed */
    struct vg_json *scan_errors;           /* the summary's array of strings; use
                                            * vg_aws_scan_error() */
    struct vg_aws_scan *scan;              /* private: the sink and its state */
};

/* One entry of the provider's table. */
struct vg_aws_collector {
    const char *name;         /* "iam-users": in logs and scan errors */
    const char *service;      /* "iam": the endpoint name and cloud.service.name */
    bool global;              /* true: once per account, in ctx->global_region */
    /* Queues the collector's first calls for ctx's (account, region) and
     * returns at once. A non-zero return (a call could not even be queued)
     * becomes one scan error "COLLECTOR in ACCOUNT/REGION: errbuf" and the
     * scan goes on; whatever calls were queued still run. */
    enum vg_err (*start)(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen);
};

/* ---- calls ---------------------------------------------------------------- */

/* vg_aws_http_call() with ctx's engine and credentials; spec->region NULL
 * means ctx->region. Same contract: VG_OK means on_done runs exactly once;
 * anything else means no callback runs (the caller frees its opaque). */
enum vg_err vg_aws_call(const struct vg_aws_ctx *ctx, const struct vg_aws_call_spec *spec,
                        vg_aws_page_fn *on_page, vg_aws_done_fn *on_done, void *opaque);

/* Runs fn(opaque, false) no sooner than delay_ms from now, for polling
 * (GenerateCredentialReport until COMPLETE). The engine has no timers: the
 * provider runs deferred functions when the engine has nothing left to
 * do, sleeping until the earliest is due, and runs the engine again for
 * what they queue. When the scan is abandoned (the sink failed), fn runs
 * with cancelled true and must only free opaque. VG_OK means fn runs
 * exactly once; VG_ERR_NOMEM means it never runs. */
typedef void (vg_aws_defer_fn)(void *opaque, bool cancelled);
enum vg_err vg_aws_defer(const struct vg_aws_ctx *ctx, int64_t delay_ms, vg_aws_defer_fn *fn,
                         void *opaque);

/* ---- resources -------------------------------------------------------------- */

/* vg_resource_new() with res->service = service, res->account =
 * ctx->account_id and res->region = region (NULL: ctx->region). Caller
 * frees with vg_resource_destroy() or hands it to vg_aws_emit(). NULL when
 * out of memory. */
struct vg_resource *vg_aws_resource_new(const struct vg_aws_ctx *ctx, const char *type,
                                        const char *id, const char *name, const char *ecs_type,
                                        const char *sub_type, const char *service,
                                        const char *region);

/* Hands a finished resource to the scan's sink; takes ownership of r in
 * every case (NULL is ignored). When the sink fails (an output that cannot
 * write), the first failure is kept, returned by the provider at the end,
 * and later resources are dropped. */
void vg_aws_emit(const struct vg_aws_ctx *ctx, struct vg_resource *r);

/* Writes "arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE" into out (region
 * "" for global ARNs: pass ""; NULL means ctx->region). Returns out
 * (truncated, still terminated, when outlen is too small). */
const char *vg_aws_arn(const struct vg_aws_ctx *ctx, const char *service, const char *region,
                       const char *resource, char *out, size_t outlen);

/* Sets r->tags from AWS's tag list, an array of {Key, Value} objects (any
 * capitalisation: "Key"/"key", "Value"/"value"; also EC2's "TagSet"
 * items). NULL or an empty array leaves an empty object. */
enum vg_err vg_aws_tags_set(struct vg_resource *r, const struct vg_json *tag_list);

/* ---- scan errors ------------------------------------------------------------ */

/* Appends one line to the summary's scan_errors:
 * "aws ACCOUNT REGION: <formatted text>", and logs it as a warning. */
void vg_aws_scan_error(const struct vg_aws_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The scan error of a failed list call: err->text, prefixed as above. */
void vg_aws_list_failed(const struct vg_aws_ctx *ctx, const struct vg_aws_error *err);

/* ---- resources built from several calls ----------------------------------- */

/*
 * A resource whose document needs several sub-calls (a bucket: location,
 * encryption, public access block, policy, logging). The pending holds the
 * resource and counts the calls still out; when the count falls to zero,
 * finish (if any) runs to derive fields, the resource is emitted and the
 * pending freed with user (free_user).
 *
 *   p = vg_aws_pending_new(ctx, res);          count 1 (the creator's hold)
 *   vg_aws_pending_call(p, &enc_spec, "encryption", on_enc, enc_absent);
 *   vg_aws_pending_call(p, &pol_spec, "policy", on_pol, pol_absent);
 *   vg_aws_pending_release(p);                 drop the creator's hold
 *
 * A sub-call callback may queue further sub-calls on the same pending.
 */
struct vg_aws_pending;

typedef void (vg_aws_finish_fn)(struct vg_aws_pending *p);

struct vg_aws_pending {
    const struct vg_aws_ctx *ctx;
    struct vg_resource *res;      /* owned until emitted */
    int holds;                    /* calls out + the creator's hold */
    vg_aws_finish_fn *finish;     /* may be NULL */
    void *user;                   /* collector state, freed with free_user */
    void (*free_user)(void *user);
};

/* Takes ownership of res (destroys it when out of memory and returns
 * NULL). The pending starts with one hold, the creator's. */
struct vg_aws_pending *vg_aws_pending_new(const struct vg_aws_ctx *ctx, struct vg_resource *res);

void vg_aws_pending_hold(struct vg_aws_pending *p);
/* Drops one hold; the last one finishes, emits and frees p. */
void vg_aws_pending_release(struct vg_aws_pending *p);

/* Every page of the sub-call: read pg into p->res->doc. A non-zero return
 * ends the sub-call as an error (the field's reason is then the engine's
 * "callback" sentence). */
typedef enum vg_err (vg_aws_sub_page_fn)(struct vg_aws_pending *p, struct vg_aws_page *pg);

/* A failed sub-call: return true when the failure is a fact the callback
 * recorded (NoSuchBucketPolicy -> "policy": null); false leaves it to the
 * default: vg_resource_set_error(p->res, field, err->text). */
typedef bool (vg_aws_sub_error_fn)(struct vg_aws_pending *p, const struct vg_aws_error *err);

/* Queues a sub-call for p and holds p until it ends. field names the
 * top-level doc field (or fields, comma-separated: "encryption,sse_algorithm")
 * the call fills: every one gets the failure's reason when the call fails
 * and on_error does not handle it. on_page and on_error may be NULL.
 * spec->region NULL: p->res->region, else ctx->region. When the call
 * cannot be queued, the fields get the reason ("cannot queue
 * s3:GetBucketPolicy: ...") and the error is returned; p is not held. */
enum vg_err vg_aws_pending_call(struct vg_aws_pending *p, const struct vg_aws_call_spec *spec,
                                const char *field, vg_aws_sub_page_fn *on_page,
                                vg_aws_sub_error_fn *on_error);

/* Marks fields (comma-separated) of p->res unknown with reason. */
void vg_aws_pending_fail(struct vg_aws_pending *p, const char *field, const char *reason);

/* ---- small readers of AWS answers --------------------------------------- */

/* The string at key of obj, or NULL (borrowed). */
const char *vg_aws_str(const struct vg_json *obj, const char *key);

/* A boolean answer that the XML layer left a string ("true"/"false") or a
 * JSON bool: true only for true/"true". */
bool vg_aws_bool(const struct vg_json *obj, const char *key);

/* The page's next token under key (string, non-empty) when the answer is
 * truncated: for query answers IsTruncated must be true/"true" when
 * present. Calls vg_aws_page_next() accordingly. */
enum vg_err vg_aws_next(struct vg_aws_page *pg, const char *token_key);

#endif
