/*
 * S3: the account's Block Public Access (S3 Control), then every bucket
 * (ListBuckets, followed by its continuation token) with its region,
 * Block Public Access, default encryption, policy and tags, each sent to
 * the bucket's own region.
 *
 * Resources (see checks/rules/aws-s3.yml):
 *   aws.s3.account-public-access-block
 *       arn:P:s3::ACCOUNT:account-public-access-block
 *       {configured, block_public_acls, ignore_public_acls,
 *        block_public_policy, restrict_public_buckets}
 *   aws.s3.bucket  arn:P:s3:::NAME
 *       {name, arn, creation_date, bucket_region,
 *        bucket_public_access_block: {configured, the four flags},
 *        account_public_access_block: {...},
 *        block_public_acls, ignore_public_acls, block_public_policy,
 *        restrict_public_buckets   (effective: the bucket's OR the account's),
 *        default_encryption, sse_algorithm, kms_key_id, bucket_key_enabled,
 *        policy_present, denies_insecure_transport,
 *        secure_transport_statement}
 *
 * The account's block is read first (one call), so that every bucket can
 * fall back to it; a bucket's flag is unknown only when it is not true and
 * one of the two sources could not be read.
 */
#include "../../agent/log.h"
#include "collect.h"
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const pab_flags[] = { "BlockPublicAcls", "IgnorePublicAcls",
                                         "BlockPublicPolicy", "RestrictPublicBuckets", NULL };
static const char *const pab_fields[] = { "block_public_acls", "ignore_public_acls",
                                          "block_public_policy", "restrict_public_buckets",
                                          NULL };
static const struct vg_aws_xml_opts pab_xml = { .bools = pab_flags };

struct s3_state {
    const struct vg_aws_ctx *ctx;
    int refs;                     /* the list call + every bucket still open */
    struct vg_json *account;      /* the account's block {configured, flags}, or NULL */
    char account_err[1024];       /* why it could not be read */
};

static void state_unref(void *opaque)
{
    struct s3_state *st = opaque;
    if (--st->refs > 0)
        return;
    vg_json_free(st->account);
    free(st);
}

/* {configured: true, flag: bool...} from a PublicAccessBlockConfiguration */
static struct vg_json *pab_object(const struct vg_json *conf, bool configured)
{
    struct vg_json *o = vg_json_object();
    if (!o)
        return NULL;
    enum vg_err err = vg_json_set_bool(o, "configured", configured);
    for (size_t i = 0; !err && pab_flags[i]; i++) {
        const struct vg_json *v = vg_json_get(conf, pab_flags[i]);
        bool b = vg_json_type(v) == VG_JSON_BOOL ? vg_json_get_bool(v) : false;
        err = vg_json_set_bool(o, pab_fields[i], b);
    }
    if (err) {
        vg_json_free(o);
        return NULL;
    }
    return o;
}

/* ---- the account's block -------------------------------------------------- */

static enum vg_err on_account_pab(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    struct s3_state *st = p->user;
    struct vg_json *o = pab_object(pg->json, true);
    if (!o)
        return VG_ERR_NOMEM;
    for (size_t i = 0; i < vg_json_len(o); i++)
        if (vg_json_set(p->res->doc, vg_json_key_at(o, i), vg_json_clone(vg_json_at(o, i))))
            break;
    vg_json_free(st->account);
    st->account = o;
    return VG_OK;
}

static bool on_account_pab_error(struct vg_aws_pending *p, const struct vg_aws_error *err)
{
    struct s3_state *st = p->user;
    if (err->err == VG_ERR_NOENT) {
        /* NoSuchPublicAccessBlockConfiguration: nothing is blocked */
        struct vg_json *o = pab_object(NULL, false);
        if (!o)
            return false;
        for (size_t i = 0; i < vg_json_len(o); i++)
            vg_json_set(p->res->doc, vg_json_key_at(o, i), vg_json_clone(vg_json_at(o, i)));
        vg_json_free(st->account);
        st->account = o;
        return true;
    }
    snprintf(st->account_err, sizeof(st->account_err), "%s", err->text);
    return false;
}

static void list_buckets(struct s3_state *st);

/* When the account's block is known (or known to be unknown): emit it, then
 * list the buckets. */
static void on_account_finish(struct vg_aws_pending *p)
{
    struct s3_state *st = p->user;
    if (!st->account && !st->account_err[0])
        snprintf(st->account_err, sizeof(st->account_err),
                 "the account's Block Public Access could not be read");
    list_buckets(st);
}

/* ---- one bucket ------------------------------------------------------------- */

struct bucket {
    struct s3_state *st;
    bool pab_known;               /* the bucket's own block was read (or is absent) */
    char pab_err[1024];
    struct vg_json *pab;          /* {configured, flags} */
};

static void bucket_free(void *opaque)
{
    struct bucket *b = opaque;
    struct s3_state *st = b->st;
    vg_json_free(b->pab);
    free(b);
    state_unref(st);
}

static enum vg_err on_bucket_pab(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    struct bucket *b = p->user;
    vg_json_free(b->pab);
    b->pab = pab_object(pg->json, true);
    b->pab_known = b->pab != NULL;
    return b->pab ? VG_OK : VG_ERR_NOMEM;
}

static bool on_bucket_pab_error(struct vg_aws_pending *p, const struct vg_aws_error *err)
{
    struct bucket *b = p->user;
    if (err->err == VG_ERR_NOENT && strcmp(err->code, "NoSuchBucket") != 0) {
        vg_json_free(b->pab);
        b->pab = pab_object(NULL, false);
        b->pab_known = b->pab != NULL;
        return b->pab_known;
    }
    snprintf(b->pab_err, sizeof(b->pab_err), "%s", err->text);
    return false;
}

/* The effective flags: the bucket's OR the account's. */
static void on_bucket_finish(struct vg_aws_pending *p)
{
    struct bucket *b = p->user;
    struct s3_state *st = b->st;
    struct vg_resource *r = p->res;
    if (b->pab)
        vg_json_set(r->doc, "bucket_public_access_block", vg_json_clone(b->pab));
    if (st->account)
        vg_json_set(r->doc, "account_public_access_block", vg_json_clone(st->account));
    else
        vg_resource_set_error(r, "account_public_access_block", st->account_err);
    for (size_t i = 0; pab_fields[i]; i++) {
        const char *f = pab_fields[i];
        if (vg_resource_error(r, f))
            continue;    /* the bucket's region could not be read */
        bool bt = b->pab && vg_json_get_bool(vg_json_get(b->pab, f));
        bool at = st->account && vg_json_get_bool(vg_json_get(st->account, f));
        if (bt || at) {
            vg_json_set_bool(r->doc, f, true);
            vg_resource_set_source(r, f, bt && at ? "bucket and account Block Public Access"
                                         : bt ? "bucket Block Public Access"
                                              : "account Block Public Access");
        } else if (b->pab && st->account) {
            vg_json_set_bool(r->doc, f, false);
            vg_resource_set_source(r, f, "neither the bucket's nor the account's Block "
                                         "Public Access");
        } else {
            char why[1200];
            snprintf(why, sizeof(why), "%s",
                     !b->pab ? (b->pab_err[0] ? b->pab_err : "the bucket's Block Public "
                                                             "Access could not be read")
                             : st->account_err);
            vg_resource_set_error(r, f, why);
        }
    }
}

static const char *const enc_arrays[] = { "Rule", NULL };
static const char *const enc_bools[] = { "BucketKeyEnabled", NULL };
static const struct vg_aws_xml_opts enc_xml = { .arrays = enc_arrays, .bools = enc_bools };

static enum vg_err on_encryption(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    const struct vg_json *rules = vg_json_get(pg->json, "Rule");
    const struct vg_json *rule = vg_json_at(rules, 0);
    const struct vg_json *def = vg_json_get(rule, "ApplyServerSideEncryptionByDefault");
    const char *alg = vg_aws_str(def, "SSEAlgorithm");
    const char *key = vg_aws_str(def, "KMSMasterKeyID");
    enum vg_err err = vg_json_set_bool(p->res->doc, "default_encryption", alg && *alg);
    if (!err && alg)
        err = vg_json_set_str(p->res->doc, "sse_algorithm", alg);
    if (!err && key && *key)
        err = vg_json_set_str(p->res->doc, "kms_key_id", key);
    if (!err && vg_json_get(rule, "BucketKeyEnabled"))
        err = vg_json_set_bool(p->res->doc, "bucket_key_enabled",
                               vg_aws_bool(rule, "BucketKeyEnabled"));
    return err;
}

static bool on_encryption_error(struct vg_aws_pending *p, const struct vg_aws_error *err)
{
    if (strcmp(err->code, "ServerSideEncryptionConfigurationNotFoundError") != 0)
        return false;
    vg_json_set_bool(p->res->doc, "default_encryption", false);
    vg_resource_set_source(p->res, "default_encryption",
                           "s3:GetBucketEncryption: ServerSideEncryptionConfigurationNotFoundError");
    return true;
}

static enum vg_err on_policy(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    struct vg_resource *r = p->res;
    char why[600];
    struct vg_json *doc = vg_aws_policy_parse(pg->body ? pg->body : "", pg->body_len, why,
                                              sizeof(why));
    enum vg_err err = vg_json_set_bool(r->doc, "policy_present", true);
    if (!doc) {
        vg_resource_set_error(r, "denies_insecure_transport", why);
        vg_resource_set_error(r, "secure_transport_statement", why);
        return err;
    }
    char which[300];
    bool denies = vg_aws_policy_denies_http(doc, p->ctx->partition, r->name, which,
                                            sizeof(which));
    if (!err)
        err = vg_json_set_bool(r->doc, "denies_insecure_transport", denies);
    if (!err)
        err = vg_json_set_str(r->doc, "secure_transport_statement", which);
    if (!err)
        err = vg_json_set(r->doc, "policy", doc);
    else
        vg_json_free(doc);
    return err;
}

static bool on_policy_error(struct vg_aws_pending *p, const struct vg_aws_error *err)
{
    if (strcmp(err->code, "NoSuchBucketPolicy") != 0)
        return false;
    vg_json_set_bool(p->res->doc, "policy_present", false);
    vg_json_set_bool(p->res->doc, "denies_insecure_transport", false);
    vg_json_set_str(p->res->doc, "secure_transport_statement", "the bucket has no policy");
    return true;
}

static const char *const tag_lists[] = { "TagSet", NULL };
static const struct vg_aws_xml_opts tag_xml = { .lists = tag_lists };

static enum vg_err on_tags(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    return vg_aws_tags_set(p->res, vg_json_get(pg->json, "TagSet"));
}

static bool on_tags_error(struct vg_aws_pending *p, const struct vg_aws_error *err)
{
    /* NoSuchTagSet: no tags. Other failures leave the tags empty: tags
     * only serve exceptions, and an unmuted finding is the safe side. */
    if (err->err != VG_ERR_NOENT)
        vg_log(VG_LOG_WARN, "aws", "tags of bucket %s: %s", p->res->name, err->text);
    return true;
}

#define BUCKET_FIELDS                                                                       \
    "bucket_public_access_block,block_public_acls,ignore_public_acls,block_public_policy,"  \
    "restrict_public_buckets,default_encryption,sse_algorithm,policy_present,"              \
    "denies_insecure_transport,secure_transport_statement"

/* The bucket's region is known: ask for everything else there. */
static void bucket_calls(struct vg_aws_pending *p)
{
    const char *name = p->res->name;
    static const struct vg_aws_param pab_q[] = { { "publicAccessBlock", NULL } };
    static const struct vg_aws_param enc_q[] = { { "encryption", NULL } };
    static const struct vg_aws_param pol_q[] = { { "policy", NULL } };
    static const struct vg_aws_param tag_q[] = { { "tagging", NULL } };
    struct vg_aws_call_spec s = { .service = "s3", .protocol = VG_AWS_REST_XML, .bucket = name };
    s.operation = "GetPublicAccessBlock";
    s.params = pab_q;
    s.nparams = 1;
    s.xml = &pab_xml;
    vg_aws_pending_call(p, &s, "bucket_public_access_block", on_bucket_pab, on_bucket_pab_error);
    s.operation = "GetBucketEncryption";
    s.params = enc_q;
    s.xml = &enc_xml;
    vg_aws_pending_call(p, &s, "default_encryption,sse_algorithm", on_encryption,
                        on_encryption_error);
    s.operation = "GetBucketPolicy";
    s.params = pol_q;
    s.xml = NULL;
    s.raw = true;
    vg_aws_pending_call(p, &s, "policy_present,denies_insecure_transport,"
                               "secure_transport_statement", on_policy, on_policy_error);
    s.operation = "GetBucketTagging";
    s.params = tag_q;
    s.xml = &tag_xml;
    s.raw = false;
    vg_aws_pending_call(p, &s, "tags", on_tags, on_tags_error);
}

static enum vg_err on_location(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    const char *loc = vg_json_get_str(pg->json);
    if (!loc)
        loc = vg_aws_str(pg->json, "LocationConstraint");
    /* "" is us-east-1, "EU" the old name of eu-west-1 */
    const char *region = !loc || !*loc ? "us-east-1" : strcmp(loc, "EU") == 0 ? "eu-west-1" : loc;
    char *dup = strdup(region);
    if (!dup)
        return VG_ERR_NOMEM;
    free(p->res->region);
    p->res->region = dup;
    enum vg_err err = vg_json_set_str(p->res->doc, "bucket_region", region);
    if (!err)
        bucket_calls(p);
    return err;
}

static void add_bucket(struct s3_state *st, const struct vg_json *bk)
{
    const struct vg_aws_ctx *ctx = st->ctx;
    const char *name = vg_aws_str(bk, "Name");
    if (!name || !*name)
        return;
    char arn[400];
    snprintf(arn, sizeof(arn), "arn:%s:s3:::%s", ctx->partition, name);
    const char *listed_region = vg_aws_str(bk, "BucketRegion");
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.s3.bucket", arn, name, "cloud-storage",
                                                "aws-s3-bucket", "s3",
                                                listed_region && *listed_region
                                                    ? listed_region : ctx->global_region);
    struct bucket *b = calloc(1, sizeof(*b));
    struct vg_aws_pending *p = b ? vg_aws_pending_new(ctx, r) : (vg_resource_destroy(r), NULL);
    if (!p) {
        free(b);
        vg_aws_scan_error(ctx, "s3 bucket %s: out of memory", name);
        return;
    }
    b->st = st;
    st->refs++;
    p->user = b;
    p->free_user = bucket_free;
    p->finish = on_bucket_finish;
    vg_json_set_str(r->doc, "name", name);
    vg_json_set_str(r->doc, "arn", arn);
    if (vg_aws_str(bk, "CreationDate"))
        vg_json_set_str(r->doc, "creation_date", vg_aws_str(bk, "CreationDate"));
    if (listed_region && *listed_region) {
        vg_json_set_str(r->doc, "bucket_region", listed_region);
        bucket_calls(p);
    } else {
        static const struct vg_aws_param loc_q[] = { { "location", NULL } };
        struct vg_aws_call_spec s = { .service = "s3", .region = ctx->global_region,
                                      .protocol = VG_AWS_REST_XML,
                                      .operation = "GetBucketLocation", .bucket = name,
                                      .params = loc_q, .nparams = 1 };
        vg_aws_pending_call(p, &s, "bucket_region," BUCKET_FIELDS, on_location, NULL);
    }
    vg_aws_pending_release(p);
}

static const char *const lb_lists[] = { "Buckets", NULL };
static const struct vg_aws_xml_opts lb_xml = { .lists = lb_lists };

static enum vg_err on_buckets(struct vg_aws_page *pg, void *opaque)
{
    struct s3_state *st = opaque;
    const struct vg_json *bl = vg_json_get(pg->json, "Buckets");
    for (size_t i = 0; i < vg_json_len(bl); i++)
        add_bucket(st, vg_json_at(bl, i));
    return vg_aws_next(pg, "ContinuationToken");
}

static void on_buckets_done(const struct vg_aws_error *err, void *opaque)
{
    struct s3_state *st = opaque;
    if (err)
        vg_aws_list_failed(st->ctx, err);
    state_unref(st);
}

static void list_buckets(struct s3_state *st)
{
    struct vg_aws_call_spec s = { .service = "s3", .region = st->ctx->global_region,
                                  .protocol = VG_AWS_REST_XML, .operation = "ListBuckets",
                                  .token_param = "continuation-token", .xml = &lb_xml };
    st->refs++;
    enum vg_err e = vg_aws_call(st->ctx, &s, on_buckets, on_buckets_done, st);
    if (e) {
        vg_aws_scan_error(st->ctx, "cannot queue s3:ListBuckets: %s", vg_strerror(e));
        state_unref(st);
    }
}

/* ---- the collector ------------------------------------------------------------- */

static enum vg_err s3_start(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct s3_state *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    st->ctx = ctx;
    st->refs = 1;    /* the account resource's */
    char id[200];
    snprintf(id, sizeof(id), "arn:%s:s3::%s:account-public-access-block", ctx->partition,
             ctx->account_id);
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.s3.account-public-access-block", id,
                                                "account-public-access-block", "cloud-storage",
                                                "aws-s3-account-public-access-block", "s3",
                                                ctx->global_region);
    struct vg_aws_pending *p = vg_aws_pending_new(ctx, r);
    if (!p) {
        free(st);
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    p->user = st;
    p->free_user = state_unref;
    p->finish = on_account_finish;
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "%s.", ctx->account_id);
    struct vg_aws_param hdr[] = { { "x-amz-account-id", ctx->account_id } };
    struct vg_aws_call_spec s = { .service = "s3-control", .region = ctx->global_region,
                                  .protocol = VG_AWS_REST_XML,
                                  .operation = "GetPublicAccessBlock",
                                  .path = "/v20180820/configuration/publicAccessBlock",
                                  .headers = hdr, .nheaders = 1, .host_prefix = prefix,
                                  .xml = &pab_xml };
    vg_aws_pending_call(p, &s, "configured,block_public_acls,ignore_public_acls,"
                               "block_public_policy,restrict_public_buckets",
                        on_account_pab, on_account_pab_error);
    vg_aws_pending_release(p);
    return VG_OK;
}

const struct vg_aws_collector vg_aws_s3 = {
    .name = "s3",
    .service = "s3",
    .global = true,
    .start = s3_start,
};
