/*
 * KMS collector: customer managed keys and their rotation. ListKeys once
 * per region (paginated), DescribeKey for each key (KMS has no batch
 * form), GetKeyRotationStatus for each key that can rotate.
 *
 * aws.kms.key, id the key ARN, for every enabled, customer managed,
 * symmetric (SYMMETRIC_DEFAULT) key whose material KMS made (origin
 * AWS_KMS): the keys CIS 3.6 asks to rotate. AWS managed keys rotate on
 * their own; asymmetric, HMAC, imported and custom key store keys cannot
 * rotate automatically; disabled and pending-deletion keys are left out.
 *   {"key_id","key_manager","key_state","key_spec","key_usage","origin",
 *    "multi_region": bool,"creation_date","description",
 *    "key_rotation_enabled": bool,"rotation_period_in_days"}
 * A key DescribeKey cannot read is still a resource, every field unknown
 * with the reason (whether it should rotate cannot be told).
 */
#include "collect.h"

#include "../../agent/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KMS_TARGET "TrentService"

struct key_call {
    const struct vg_aws_ctx *ctx;
    char *key_id;
    char *key_arn;
    struct vg_json *meta;       /* DescribeKey's KeyMetadata */
};

static void key_call_free(struct key_call *k)
{
    if (!k)
        return;
    free(k->key_id);
    free(k->key_arn);
    vg_json_free(k->meta);
    free(k);
}

/* {"KeyId": id} as JSON text; caller frees. */
static char *key_body(const char *key_id)
{
    struct vg_json *o = vg_json_object();
    struct vg_buf b;
    vg_buf_init(&b, 4096);
    char *out = NULL;
    if (o && !vg_json_set_str(o, "KeyId", key_id) && !vg_json_dump(o, &b))
        out = vg_buf_detach(&b);
    vg_buf_free(&b);
    vg_json_free(o);
    return out;
}

static struct vg_resource *key_resource(const struct key_call *k)
{
    return vg_aws_resource_new(k->ctx, "aws.kms.key", k->key_arn, k->key_id, "key-management",
                               "aws-kms-key", "kms", NULL);
}

static enum vg_err on_rotation(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    const struct vg_json *v = vg_json_get(pg->json, "KeyRotationEnabled");
    enum vg_err err = vg_json_set_bool(p->res->doc, "key_rotation_enabled",
                                       vg_json_type(v) == VG_JSON_BOOL && vg_json_get_bool(v));
    const struct vg_json *per = vg_json_get(pg->json, "RotationPeriodInDays");
    if (!err && vg_json_type(per) == VG_JSON_INT)
        err = vg_json_set_int(p->res->doc, "rotation_period_in_days", vg_json_get_int(per));
    return err;
}

static bool str_is(const struct vg_json *o, const char *key, const char *want)
{
    const char *s = vg_aws_str(o, key);
    return s && !strcmp(s, want);
}

static void key_described(const struct vg_aws_error *err, void *opaque)
{
    struct key_call *k = opaque;
    if (err) {
        struct vg_resource *r = key_resource(k);
        if (r && !vg_resource_set_error(r, "*", err->text))
            vg_aws_emit(k->ctx, r);
        else
            vg_resource_destroy(r);
        key_call_free(k);
        return;
    }
    const struct vg_json *m = k->meta;
    const char *spec = vg_aws_str(m, "KeySpec");
    if (!spec)
        spec = vg_aws_str(m, "CustomerMasterKeySpec");
    bool eligible = str_is(m, "KeyManager", "CUSTOMER") && str_is(m, "KeyState", "Enabled") &&
                    spec && !strcmp(spec, "SYMMETRIC_DEFAULT") && str_is(m, "Origin", "AWS_KMS");
    if (!eligible) {
        key_call_free(k);
        return;
    }
    struct vg_resource *r = key_resource(k);
    if (!r) {
        key_call_free(k);
        return;
    }
    struct vg_json *d = r->doc;
    static const char *const strs[][2] = {
        { "KeyId", "key_id" },         { "KeyManager", "key_manager" },
        { "KeyState", "key_state" },   { "KeyUsage", "key_usage" },
        { "Origin", "origin" },        { "Description", "description" },
    };
    enum vg_err e = VG_OK;
    for (size_t i = 0; !e && i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *s = vg_aws_str(m, strs[i][0]);
        if (s)
            e = vg_json_set_str(d, strs[i][1], s);
    }
    if (!e)
        e = vg_json_set_str(d, "key_spec", spec);
    if (!e)
        e = vg_json_set_bool(d, "multi_region", vg_aws_bool(m, "MultiRegion"));
    const struct vg_json *cd = vg_json_get(m, "CreationDate");
    if (!e && cd && vg_json_is_number(cd)) {
        char ts[VG_TIME_RFC3339_LEN];
        vg_time_rfc3339((int64_t)(vg_json_get_num(cd) * 1000.0), ts);
        e = vg_json_set_str(d, "creation_date", ts);
    }
    if (e) {
        vg_resource_destroy(r);
        key_call_free(k);
        return;
    }
    struct vg_aws_pending *p = vg_aws_pending_new(k->ctx, r);
    char *body = p ? key_body(k->key_id) : NULL;
    if (p && !body)
        vg_aws_pending_fail(p, "key_rotation_enabled", "out of memory");
    if (p && body) {
        struct vg_aws_call_spec s = {
            .service = "kms", .protocol = VG_AWS_JSON, .operation = "GetKeyRotationStatus",
            .target = KMS_TARGET, .json_body = body,
        };
        (void)vg_aws_pending_call(p, &s, "key_rotation_enabled", on_rotation, NULL);
    }
    free(body);
    if (p)
        vg_aws_pending_release(p);
    key_call_free(k);
}

static enum vg_err on_described(struct vg_aws_page *pg, void *opaque)
{
    struct key_call *k = opaque;
    const struct vg_json *m = vg_json_get(pg->json, "KeyMetadata");
    if (!m)
        return VG_ERR_PARSE;
    vg_json_free(k->meta);
    k->meta = vg_json_clone(m);
    return k->meta ? VG_OK : VG_ERR_NOMEM;
}

struct list_state {
    const struct vg_aws_ctx *ctx;
};

static enum vg_err on_keys(struct vg_aws_page *pg, void *opaque)
{
    struct list_state *st = opaque;
    const struct vg_json *keys = vg_json_get(pg->json, "Keys");
    for (size_t i = 0; i < vg_json_len(keys); i++) {
        const struct vg_json *it = vg_json_at(keys, i);
        const char *id = vg_aws_str(it, "KeyId");
        const char *arn = vg_aws_str(it, "KeyArn");
        if (!id)
            continue;
        struct key_call *k = calloc(1, sizeof(*k));
        char built[512];
        if (!arn) {
            char res[300];
            snprintf(res, sizeof(res), "key/%s", id);
            arn = vg_aws_arn(st->ctx, "kms", NULL, res, built, sizeof(built));
        }
        if (k) {
            k->ctx = st->ctx;
            k->key_id = strdup(id);
            k->key_arn = strdup(arn);
        }
        char *body = k && k->key_id && k->key_arn ? key_body(id) : NULL;
        if (!body) {
            key_call_free(k);
            return VG_ERR_NOMEM;
        }
        struct vg_aws_call_spec s = {
            .service = "kms", .protocol = VG_AWS_JSON, .operation = "DescribeKey",
            .target = KMS_TARGET, .json_body = body,
        };
        enum vg_err err = vg_aws_call(st->ctx, &s, on_described, key_described, k);
        free(body);
        if (err) {
            key_call_free(k);
            return err;
        }
    }
    return vg_aws_next(pg, "NextMarker");
}

static void keys_done(const struct vg_aws_error *err, void *opaque)
{
    struct list_state *st = opaque;
    if (err)
        vg_aws_list_failed(st->ctx, err);
    free(st);
}

static enum vg_err start_kms(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct list_state *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    st->ctx = ctx;
    struct vg_aws_call_spec s = {
        .service = "kms", .protocol = VG_AWS_JSON, .operation = "ListKeys", .target = KMS_TARGET,
        .json_body = "{\"Limit\":1000}", .token_param = "Marker",
    };
    enum vg_err err = vg_aws_call(ctx, &s, on_keys, keys_done, st);
    if (err) {
        free(st);
        snprintf(errbuf, errlen, "cannot queue kms:ListKeys: %s", vg_strerror(err));
    }
    return err;
}

const struct vg_aws_collector vg_aws_kms_keys = {
    .name = "kms-keys", .service = "kms", .global = false, .start = start_kms,
};
