/*
 * The credential chain. Every source is a provider with a fetch function;
 * the chain provider tries the sources in the SDK order and keeps the one
 * that answered; an assume-role provider holds the provider of its source
 * credentials. Each provider caches what it fetched and fetches again when
 * its credentials come near their expiry.
 */
#include "creds.h"

#include "../../agent/buf.h"
#include "../../agent/log.h"
#include "../../agent/timeutil.h"
#include "http.h"
#include "sigv4.h"
#include "xml.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TIMEOUT_MS       5000
#define DEFAULT_IMDS_TIMEOUT_MS  1000
#define DEFAULT_MARGIN_MS        (5 * 60 * 1000)
#define DEFAULT_CONTAINER_BASE   "http://169.254.170.2"
#define DEFAULT_IMDS_ENDPOINT    "http://169.254.169.254"
#define IMDS_TOKEN_TTL           "21600"
#define STS_VERSION              "2011-06-15"
#define STS_ATTEMPTS             3
#define CONTAINER_ATTEMPTS       2

enum pkind { P_STATIC, P_ENV, P_CHAIN, P_ASSUME, P_WEB, P_CONTAINER, P_IMDS };

/* Options every provider of a chain shares; owned copies. */
struct popts {
    char *region;
    char *endpoint_url;
    char *container_base;
    char *imds_endpoint;
    int64_t timeout_ms;          /* 0: per-source default */
    int64_t margin_ms;
    vg_aws_clock_fn *clock;
    void *clock_opaque;
};

struct vg_aws_creds_provider {
    enum pkind kind;
    struct popts o;
    struct vg_aws_creds cur;
    bool have;
    bool invalid;
    /* chain */
    char *profile;
    bool explicit_profile;
    struct vg_aws_creds_provider *resolved;   /* owned */
    /* assume role, web identity */
    char *role_arn, *external_id, *session_name, *token_file;
    int duration_s;
    struct vg_aws_creds_provider *source;
    bool owns_source;
    char *label;                              /* "profile audit" for messages */
};

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (!errbuf || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static bool env_true(const char *name)
{
    const char *v = env(name);
    return v && strcasecmp(v, "true") == 0;
}

static int64_t now_ms(const struct popts *o)
{
    return o->clock ? o->clock(o->clock_opaque) : vg_time_now_ms();
}

/* ---- options and providers -------------------------------------------- */

static void popts_free(struct popts *o)
{
    free(o->region);
    free(o->endpoint_url);
    free(o->container_base);
    free(o->imds_endpoint);
    memset(o, 0, sizeof(*o));
}

static bool popts_copy(struct popts *dst, const struct popts *src)
{
    *dst = *src;
    dst->region = dup_or_null(src->region);
    dst->endpoint_url = dup_or_null(src->endpoint_url);
    dst->container_base = dup_or_null(src->container_base);
    dst->imds_endpoint = dup_or_null(src->imds_endpoint);
    if ((src->region && !dst->region) || (src->endpoint_url && !dst->endpoint_url) ||
        (src->container_base && !dst->container_base) ||
        (src->imds_endpoint && !dst->imds_endpoint)) {
        popts_free(dst);
        return false;
    }
    return true;
}

static bool popts_from(struct popts *dst, const struct vg_aws_creds_opts *o)
{
    struct popts tmp = { 0 };
    if (o) {
        tmp.region = (char *)o->region;
        tmp.endpoint_url = (char *)o->endpoint_url;
        tmp.container_base = (char *)o->container_base;
        tmp.imds_endpoint = (char *)o->imds_endpoint;
        tmp.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 0;
        tmp.margin_ms = o->refresh_margin_ms;
        tmp.clock = o->clock;
        tmp.clock_opaque = o->clock_opaque;
    }
    if (tmp.margin_ms <= 0)
        tmp.margin_ms = DEFAULT_MARGIN_MS;
    return popts_copy(dst, &tmp);
}

static struct vg_aws_creds_provider *provider_new(enum pkind kind, const struct popts *o)
{
    struct vg_aws_creds_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->kind = kind;
    if (!popts_copy(&p->o, o)) {
        free(p);
        return NULL;
    }
    return p;
}

void vg_aws_creds_destroy(struct vg_aws_creds_provider *p)
{
    if (!p)
        return;
    popts_free(&p->o);
    free(p->profile);
    vg_aws_creds_destroy(p->resolved);
    free(p->role_arn);
    free(p->external_id);
    free(p->session_name);
    free(p->token_file);
    free(p->label);
    if (p->owns_source)
        vg_aws_creds_destroy(p->source);
    OPENSSL_cleanse(&p->cur, sizeof(p->cur));
    free(p);
}

struct vg_aws_creds_provider *vg_aws_creds_chain_new(const struct vg_aws_creds_opts *o)
{
    struct popts po;
    if (!popts_from(&po, o))
        return NULL;
    struct vg_aws_creds_provider *p = provider_new(P_CHAIN, &po);
    popts_free(&po);
    if (!p)
        return NULL;
    if (o && o->profile && *o->profile) {
        p->explicit_profile = true;
        if (!(p->profile = strdup(o->profile))) {
            vg_aws_creds_destroy(p);
            return NULL;
        }
    }
    return p;
}

/* Copies s into a fixed field; false when it does not fit or holds a
 * control character (it will go into a header). */
static bool put_field(char *dst, size_t n, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len >= n)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    memcpy(dst, s ? s : "", len + 1);
    return true;
}

static bool fill_creds(struct vg_aws_creds *c, const char *akid, const char *secret,
                       const char *token, int64_t expires_ms, const char *source)
{
    memset(c, 0, sizeof(*c));
    if (!akid || !*akid || !secret || !*secret)
        return false;
    if (!put_field(c->access_key_id, sizeof(c->access_key_id), akid) ||
        !put_field(c->secret_access_key, sizeof(c->secret_access_key), secret) ||
        !put_field(c->session_token, sizeof(c->session_token), token))
        return false;
    c->expires_ms = expires_ms;
    snprintf(c->source, sizeof(c->source), "%s", source);
    return true;
}

struct vg_aws_creds_provider *vg_aws_creds_static_new(const char *access_key_id,
                                                      const char *secret_access_key,
                                                      const char *session_token)
{
    struct popts po = { .margin_ms = DEFAULT_MARGIN_MS };
    struct vg_aws_creds_provider *p = provider_new(P_STATIC, &po);
    if (!p)
        return NULL;
    if (!fill_creds(&p->cur, access_key_id, secret_access_key, session_token, 0,
                    "static credentials")) {
        vg_aws_creds_destroy(p);
        return NULL;
    }
    p->have = true;
    return p;
}

static bool valid_session_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_+=,.@-", *s))
            return false;
    return true;
}

static struct vg_aws_creds_provider *assume_new(enum pkind kind, const struct popts *o,
                                                const char *role_arn, const char *external_id,
                                                const char *session_name, int duration_s)
{
    struct vg_aws_creds_provider *p = provider_new(kind, o);
    if (!p)
        return NULL;
    p->role_arn = strdup(role_arn);
    p->external_id = dup_or_null(external_id);
    p->session_name = dup_or_null(session_name);
    p->duration_s = duration_s;
    if (!p->role_arn || (external_id && *external_id && !p->external_id) ||
        (session_name && *session_name && !p->session_name)) {
        vg_aws_creds_destroy(p);
        return NULL;
    }
    return p;
}

struct vg_aws_creds_provider *vg_aws_creds_assume_role_new(struct vg_aws_creds_provider *source,
                                                           const struct vg_aws_assume_role *ar,
                                                           const struct vg_aws_creds_opts *o)
{
    if (!source || !ar || !ar->role_arn || !*ar->role_arn)
        return NULL;
    struct popts po;
    if (!popts_from(&po, o))
        return NULL;
    struct vg_aws_creds_provider *p = assume_new(P_ASSUME, &po, ar->role_arn, ar->external_id,
                                                 ar->session_name, ar->duration_s);
    popts_free(&po);
    if (p)
        p->source = source;
    return p;
}

/* ---- answers ---------------------------------------------------------- */

/* Reads the Expiration text; 0 with *ok when absent. */
static bool parse_expiration(const char *s, int64_t *ms)
{
    *ms = 0;
    if (!s || !*s)
        return true;
    return vg_time_parse(s, ms) == 0;
}

/* {"AccessKeyId","SecretAccessKey","Token","Expiration"} from the container
 * endpoint or IMDS. */
static enum vg_err creds_from_json(const char *body, size_t len, const char *source,
                                   struct vg_aws_creds *out, char *errbuf, size_t errlen)
{
    char jerr[128];
    struct vg_json *doc = vg_json_parse(body, len, jerr, sizeof(jerr));
    if (!doc) {
        set_err(errbuf, errlen, "%s: the answer is not JSON: %s", source, jerr);
        return VG_ERR_PARSE;
    }
    enum vg_err err = VG_OK;
    const char *code = vg_json_get_str(vg_json_get(doc, "Code"));
    int64_t exp = 0;
    if (code && strcmp(code, "Success") != 0) {
        const char *msg = vg_json_get_str(vg_json_get(doc, "Message"));
        set_err(errbuf, errlen, "%s: answered Code %.64s%s%.200s", source, code,
                msg ? ": " : "", msg ? msg : "");
        err = VG_ERR_PERM;
    } else if (!parse_expiration(vg_json_get_str(vg_json_get(doc, "Expiration")), &exp)) {
        set_err(errbuf, errlen, "%s: Expiration is not an RFC 3339 time", source);
        err = VG_ERR_PARSE;
    } else if (!fill_creds(out, vg_json_get_str(vg_json_get(doc, "AccessKeyId")),
                           vg_json_get_str(vg_json_get(doc, "SecretAccessKey")),
                           vg_json_get_str(vg_json_get(doc, "Token")), exp, source)) {
        set_err(errbuf, errlen, "%s: the answer lacks AccessKeyId or SecretAccessKey, or "
                                "holds a value too long or with control characters", source);
        err = VG_ERR_PARSE;
    }
    vg_json_free(doc);
    return err;
}

/* ---- STS ---------------------------------------------------------------- */

static const char *sts_region(const struct popts *o)
{
    if (o->region)
        return o->region;
    const char *r = env("AWS_REGION");
    if (!r)
        r = env("AWS_DEFAULT_REGION");
    return r ? r : "us-east-1";
}

static enum vg_err form_add(struct vg_buf *b, const char *name, const char *value)
{
    enum vg_err err = b->len ? vg_buf_appendc(b, '&') : VG_OK;
    if (!err)
        err = vg_sigv4_uri_encode(b, name, strlen(name), false);
    if (!err)
        err = vg_buf_appendc(b, '=');
    if (!err)
        err = vg_sigv4_uri_encode(b, value, strlen(value), false);
    return err;
}

/* One STS query call (AssumeRole signed with sign_with, or
 * AssumeRoleWithWebIdentity unsigned), with retries; the Credentials of
 * the answer into out. */
static enum vg_err sts_call(const struct popts *o, const char *action, const char *form,
                            const struct vg_aws_creds *sign_with, const char *what,
                            const char *source, struct vg_aws_creds *out, char *errbuf,
                            size_t errlen)
{
    const char *region = sts_region(o);
    struct vg_aws_endpoint ep;
    char eerr[256];
    if (vg_aws_endpoint_resolve("sts", region, o->endpoint_url, NULL, NULL, &ep, eerr,
                                sizeof(eerr))) {
        set_err(errbuf, errlen, "%s: %s", what, eerr);
        return VG_ERR_CONFIG;
    }
    char url[600];
    snprintf(url, sizeof(url), "%s/", ep.base);
    int64_t timeout = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    enum vg_err err = VG_ERR_IO;
    struct vg_aws_error e;
    memset(&e, 0, sizeof(e));

    for (int attempt = 1; attempt <= STS_ATTEMPTS; attempt++) {
        memset(&e, 0, sizeof(e));
        char host_h[340], date_h[64];
        struct vg_buf auth_h, token_h;
        vg_buf_init(&auth_h, 4096);
        vg_buf_init(&token_h, VG_AWS_MAX_SESSION_TOKEN + 64);
        const char *hdrs[8];
        size_t nh = 0;
        snprintf(host_h, sizeof(host_h), "Host: %s", ep.host);
        hdrs[nh++] = host_h;
        hdrs[nh++] = "Content-Type: application/x-www-form-urlencoded; charset=utf-8";
        hdrs[nh++] = "Accept: */*";
        enum vg_err serr = VG_OK;
        if (sign_with) {
            struct vg_sigv4_header sh[] = {
                { "Host", ep.host },
                { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
            };
            struct vg_sigv4_request req = { "POST", "/", NULL, sh, 2, form, strlen(form) };
            struct vg_sigv4_params sp = {
                .access_key_id = sign_with->access_key_id,
                .secret_access_key = sign_with->secret_access_key,
                .session_token = sign_with->session_token,
                .region = ep.signing_region, .service = ep.signing_name,
                .time_ms = now_ms(o), .normalize_path = true,
            };
            struct vg_sigv4_result sr;
            char serrbuf[256];
            serr = vg_sigv4_sign(&req, &sp, &sr, serrbuf, sizeof(serrbuf));
            if (!serr) {
                snprintf(date_h, sizeof(date_h), "X-Amz-Date: %s", sr.amz_date);
                hdrs[nh++] = date_h;
                serr = vg_buf_printf(&auth_h, "Authorization: %s", vg_buf_str(&sr.authorization));
                hdrs[nh++] = vg_buf_str(&auth_h);
                if (!serr && sign_with->session_token[0]) {
                    serr = vg_buf_printf(&token_h, "X-Amz-Security-Token: %s",
                                         sign_with->session_token);
                    hdrs[nh++] = vg_buf_str(&token_h);
                }
            } else {
                set_err(errbuf, errlen, "%s: %s", what, serrbuf);
            }
            vg_sigv4_result_free(&sr);
        }
        hdrs[nh] = NULL;
        if (serr) {
            vg_buf_free(&auth_h);
            vg_buf_free(&token_h);
            return serr;
        }
        struct vg_aws_simple_request rq = {
            .method = "POST", .url = url, .headers = hdrs, .body = form,
            .body_len = strlen(form), .timeout_ms = timeout, .max_body = VG_AWS_MAX_CRED_DOC,
        };
        struct vg_aws_simple_response rs;
        err = vg_aws_http_simple(&rq, &rs, &e);
        if (auth_h.data)
            OPENSSL_cleanse(auth_h.data, auth_h.len);
        if (token_h.data)
            OPENSSL_cleanse(token_h.data, token_h.len);
        vg_buf_free(&auth_h);
        vg_buf_free(&token_h);
        if (!err && rs.status == 200) {
            char unwrap[64];
            snprintf(unwrap, sizeof(unwrap), "%sResult", action);
            struct vg_aws_xml_opts xo = { .unwrap = unwrap };
            char xerr[256];
            struct vg_json *doc = vg_aws_xml_parse(rs.body.data, rs.body.len, &xo, NULL, 0,
                                                   xerr, sizeof(xerr));
            const struct vg_json *c = vg_json_get(doc, "Credentials");
            int64_t exp = 0;
            if (!doc) {
                set_err(errbuf, errlen, "%s: malformed STS answer: %s", what, xerr);
                err = VG_ERR_PARSE;
            } else if (!parse_expiration(vg_json_get_str(vg_json_get(c, "Expiration")), &exp) ||
                       !fill_creds(out, vg_json_get_str(vg_json_get(c, "AccessKeyId")),
                                   vg_json_get_str(vg_json_get(c, "SecretAccessKey")),
                                   vg_json_get_str(vg_json_get(c, "SessionToken")), exp,
                                   source)) {
                set_err(errbuf, errlen, "%s: the STS answer has no usable Credentials", what);
                err = VG_ERR_PARSE;
            }
            vg_json_free(doc);
            vg_aws_simple_response_free(&rs);
            return err;
        }
        if (!err) {
            e.status = rs.status;
            if (vg_aws_xml_error(rs.body.data, rs.body.len, &e) != VG_OK)
                vg_aws_json_error(rs.body.data, rs.body.len, rs.errortype, &e);
            e.kind = vg_aws_classify(e.code, e.status);
        }
        vg_aws_simple_response_free(&rs);
        if (!vg_aws_retriable(e.kind, e.code, e.status) || attempt == STS_ATTEMPTS)
            break;
        uint64_t rnd = 0;
        if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
            rnd = (uint64_t)vg_time_mono_ms() * 0x9E3779B97F4A7C15ull;
        vg_aws_sleep_ms(vg_aws_backoff_ms(attempt - 1, 100, 2000, rnd));
    }
    vg_aws_error_finish(&e, what, url, STS_ATTEMPTS, NULL);
    set_err(errbuf, errlen, "%s", e.text);
    return e.err ? e.err : VG_ERR_IO;
}

static void default_session_name(const struct popts *o, char *buf, size_t n)
{
    snprintf(buf, n, "vigil-%lld", (long long)(now_ms(o) / 1000));
}

/* AssumeRole with the source's credentials. */
static enum vg_err fetch_assume(struct vg_aws_creds_provider *p, struct vg_aws_creds *out,
                                char *errbuf, size_t errlen)
{
    const struct vg_aws_creds *src = NULL;
    char serr[600];
    enum vg_err err = vg_aws_creds_get(p->source, &src, serr, sizeof(serr));
    if (err) {
        set_err(errbuf, errlen, "AssumeRole %s: no source credentials: %s", p->role_arn, serr);
        return err;
    }
    char session[80];
    if (p->session_name)
        snprintf(session, sizeof(session), "%s", p->session_name);
    else
        default_session_name(&p->o, session, sizeof(session));
    if (!valid_session_name(session)) {
        set_err(errbuf, errlen, "AssumeRole %s: role session name \"%.64s\" is not 2 to 64 of "
                                "letters, digits and _+=,.@-", p->role_arn, session);
        return VG_ERR_CONFIG;
    }
    struct vg_buf form;
    vg_buf_init(&form, 64 << 10);
    err = form_add(&form, "Action", "AssumeRole");
    if (!err)
        err = form_add(&form, "Version", STS_VERSION);
    if (!err)
        err = form_add(&form, "RoleArn", p->role_arn);
    if (!err)
        err = form_add(&form, "RoleSessionName", session);
    if (!err && p->external_id)
        err = form_add(&form, "ExternalId", p->external_id);
    if (!err && p->duration_s > 0) {
        char d[16];
        snprintf(d, sizeof(d), "%d", p->duration_s);
        err = form_add(&form, "DurationSeconds", d);
    }
    if (err) {
        vg_buf_free(&form);
        set_err(errbuf, errlen, "AssumeRole %s: the request is too large", p->role_arn);
        return err;
    }
    char what[400], source[160];
    snprintf(what, sizeof(what), "AssumeRole %s", p->role_arn);
    snprintf(source, sizeof(source), "assumed role %.120s", p->role_arn);
    err = sts_call(&p->o, "AssumeRole", vg_buf_str(&form), src, what, source, out, errbuf,
                   errlen);
    vg_buf_free(&form);
    return err;
}

/* AssumeRoleWithWebIdentity with the token file's content. */
static enum vg_err fetch_web(struct vg_aws_creds_provider *p, struct vg_aws_creds *out,
                             char *errbuf, size_t errlen)
{
    struct vg_buf tok;
    vg_buf_init(&tok, VG_AWS_MAX_TOKEN_FILE);
    enum vg_err err = vg_buf_read_file(&tok, p->token_file);
    if (err) {
        set_err(errbuf, errlen, "web identity: cannot read token file %s: %s", p->token_file,
                vg_strerror(err));
        vg_buf_free(&tok);
        return err == VG_ERR_LIMIT ? VG_ERR_LIMIT : VG_ERR_CONFIG;
    }
    while (tok.len && isspace((unsigned char)tok.data[tok.len - 1]))
        tok.data[--tok.len] = '\0';
    if (!tok.len) {
        set_err(errbuf, errlen, "web identity: token file %s is empty", p->token_file);
        vg_buf_free(&tok);
        return VG_ERR_CONFIG;
    }
    char session[80];
    if (p->session_name)
        snprintf(session, sizeof(session), "%s", p->session_name);
    else
        default_session_name(&p->o, session, sizeof(session));
    struct vg_buf form;
    vg_buf_init(&form, VG_AWS_MAX_TOKEN_FILE * 3 + 4096);
    err = form_add(&form, "Action", "AssumeRoleWithWebIdentity");
    if (!err)
        err = form_add(&form, "Version", STS_VERSION);
    if (!err)
        err = form_add(&form, "RoleArn", p->role_arn);
    if (!err)
        err = form_add(&form, "RoleSessionName", session);
    if (!err)
        err = form_add(&form, "WebIdentityToken", vg_buf_str(&tok));
    OPENSSL_cleanse(tok.data, tok.len);
    vg_buf_free(&tok);
    if (!err) {
        char what[400], source[160];
        snprintf(what, sizeof(what), "AssumeRoleWithWebIdentity %s", p->role_arn);
        snprintf(source, sizeof(source), "web identity %.120s", p->role_arn);
        err = sts_call(&p->o, "AssumeRoleWithWebIdentity", vg_buf_str(&form), NULL, what,
                       source, out, errbuf, errlen);
    } else {
        set_err(errbuf, errlen, "web identity: the request is too large");
    }
    if (form.data)
        OPENSSL_cleanse(form.data, form.len);
    vg_buf_free(&form);
    return err;
}

/* ---- environment -------------------------------------------------------- */

static enum vg_err fetch_env(struct vg_aws_creds_provider *p, struct vg_aws_creds *out,
                             char *errbuf, size_t errlen)
{
    (void)p;
    const char *akid = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
    const char *token = env("AWS_SESSION_TOKEN");
    if (!token)
        token = env("AWS_SECURITY_TOKEN");
    if (!akid || !secret) {
        set_err(errbuf, errlen, "environment: %s is not set",
                akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        return akid || secret ? VG_ERR_CONFIG : VG_ERR_NOENT;
    }
    int64_t exp = 0;
    if (!parse_expiration(env("AWS_CREDENTIAL_EXPIRATION"), &exp)) {
        set_err(errbuf, errlen, "environment: AWS_CREDENTIAL_EXPIRATION is not an RFC 3339 time");
        return VG_ERR_CONFIG;
    }
    if (!fill_creds(out, akid, secret, token, exp, "environment")) {
        set_err(errbuf, errlen, "environment: an AWS_* credential is too long or holds a "
                                "control character");
        return VG_ERR_CONFIG;
    }
    return VG_OK;
}

/* ---- container ---------------------------------------------------------- */

/* The host of an http(s) URL, into host. */
static bool url_host(const char *url, char *host, size_t n, bool *https)
{
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0) {
        *https = true;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        *https = false;
        p = url + 7;
    } else {
        return false;
    }
    size_t len;
    if (*p == '[') {
        const char *e = strchr(p, ']');
        if (!e)
            return false;
        len = (size_t)(e - p) + 1;
    } else {
        len = strcspn(p, ":/?#");
    }
    if (len == 0 || len >= n || memchr(p, '@', strcspn(p, "/?#")))
        return false;
    memcpy(host, p, len);
    host[len] = '\0';
    return true;
}

static bool allowed_full_uri_host(const char *host)
{
    static const char *const allowed[] = { "localhost", "[::1]", "169.254.170.2",
                                           "169.254.170.23", "[fd00:ec2::23]", NULL };
    for (size_t i = 0; allowed[i]; i++)
        if (strcasecmp(host, allowed[i]) == 0)
            return true;
    /* 127.0.0.0/8, written as a dotted quad */
    unsigned a, b, c, d;
    char tail;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

static enum vg_err fetch_container(struct vg_aws_creds_provider *p, struct vg_aws_creds *out,
                                   char *errbuf, size_t errlen)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    char url[2048];
    if (rel) {
        if (rel[0] != '/') {
            set_err(errbuf, errlen, "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not "
                                    "start with '/'");
            return VG_ERR_CONFIG;
        }
        const char *base = p->o.container_base ? p->o.container_base : DEFAULT_CONTAINER_BASE;
        if ((size_t)snprintf(url, sizeof(url), "%s%s", base, rel) >= sizeof(url)) {
            set_err(errbuf, errlen, "container: the credentials URI is too long");
            return VG_ERR_CONFIG;
        }
    } else if (full) {
        char host[300];
        bool https = false;
        if (!url_host(full, host, sizeof(host), &https)) {
            set_err(errbuf, errlen, "container: AWS_CONTAINER_CREDENTIALS_FULL_URI is not an "
                                    "http(s) URL");
            return VG_ERR_CONFIG;
        }
        if (!https && !allowed_full_uri_host(host)) {
            set_err(errbuf, errlen, "container: AWS_CONTAINER_CREDENTIALS_FULL_URI host %s is "
                                    "not allowed over http (loopback, 169.254.170.2, "
                                    "169.254.170.23 or https only)", host);
            return VG_ERR_CONFIG;
        }
        if ((size_t)snprintf(url, sizeof(url), "%s", full) >= sizeof(url)) {
            set_err(errbuf, errlen, "container: the credentials URI is too long");
            return VG_ERR_CONFIG;
        }
    } else {
        set_err(errbuf, errlen, "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                                "_FULL_URI are not set");
        return VG_ERR_NOENT;
    }

    /* the authorization token: the file first, as the SDKs do */
    struct vg_buf auth;
    vg_buf_init(&auth, VG_AWS_MAX_TOKEN_FILE + 32);
    const char *tfile = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tenv = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    enum vg_err err = VG_OK;
    if (tfile || tenv) {
        struct vg_buf tok;
        vg_buf_init(&tok, VG_AWS_MAX_TOKEN_FILE);
        if (tfile) {
            err = vg_buf_read_file(&tok, tfile);
            if (err)
                set_err(errbuf, errlen, "container: cannot read "
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", tfile, vg_strerror(err));
        } else {
            err = vg_buf_appends(&tok, tenv);
        }
        while (!err && tok.len && isspace((unsigned char)tok.data[tok.len - 1]))
            tok.data[--tok.len] = '\0';
        if (!err && (strchr(vg_buf_str(&tok), '\n') || strchr(vg_buf_str(&tok), '\r'))) {
            set_err(errbuf, errlen, "container: the authorization token holds a line break");
            err = VG_ERR_CONFIG;
        }
        if (!err)
            err = vg_buf_printf(&auth, "Authorization: %s", vg_buf_str(&tok));
        if (tok.data)
            OPENSSL_cleanse(tok.data, tok.len);
        vg_buf_free(&tok);
        if (err) {
            vg_buf_free(&auth);
            return err == VG_ERR_NOENT || err == VG_ERR_PERM ? VG_ERR_CONFIG : err;
        }
    }
    const char *hdrs[] = { auth.len ? vg_buf_str(&auth) : "Accept: application/json", NULL };
    int64_t timeout = p->o.timeout_ms ? p->o.timeout_ms : 2000;
    struct vg_aws_error e;
    for (int attempt = 1; attempt <= CONTAINER_ATTEMPTS; attempt++) {
        memset(&e, 0, sizeof(e));
        struct vg_aws_simple_request rq = { .method = "GET", .url = url, .headers = hdrs,
                                            .timeout_ms = timeout, .no_proxy = true,
                                            .max_body = VG_AWS_MAX_CRED_DOC };
        struct vg_aws_simple_response rs;
        err = vg_aws_http_simple(&rq, &rs, &e);
        if (!err && rs.status == 200) {
            err = creds_from_json(rs.body.data, rs.body.len, "container credentials", out,
                                  errbuf, errlen);
            vg_aws_simple_response_free(&rs);
            break;
        }
        if (!err) {
            e.status = rs.status;
            e.kind = rs.status >= 500 ? VG_AWS_ERR_SERVER
                   : rs.status == 401 || rs.status == 403 ? VG_AWS_ERR_DENIED
                                                          : VG_AWS_ERR_SERVICE;
            set_err(errbuf, errlen, "container: %s answered HTTP %ld", url, rs.status);
            err = e.kind == VG_AWS_ERR_DENIED ? VG_ERR_PERM : VG_ERR_IO;
        } else {
            set_err(errbuf, errlen, "container: %s", e.text);
        }
        vg_aws_simple_response_free(&rs);
        if (!vg_aws_retriable(e.kind, e.code, e.status) || attempt == CONTAINER_ATTEMPTS)
            break;
        vg_aws_sleep_ms(vg_aws_backoff_ms(attempt - 1, 50, 500, (uint64_t)now_ms(&p->o)));
    }
    if (auth.data)
        OPENSSL_cleanse(auth.data, auth.len);
    vg_buf_free(&auth);
    return err;
}

/* ---- EC2 instance metadata, IMDSv2 ------------------------------------- */

static const char *imds_base(const struct popts *o)
{
    if (o->imds_endpoint)
        return o->imds_endpoint;
    const char *e = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (e)
        return e;
    const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (mode && strcasecmp(mode, "IPv6") == 0)
        return "http://[fd00:ec2::254]";
    return DEFAULT_IMDS_ENDPOINT;
}

static enum vg_err imds_request(const char *method, const char *url, const char *hdr,
                                int64_t timeout, struct vg_aws_simple_response *rs,
                                char *errbuf, size_t errlen)
{
    const char *hdrs[] = { hdr, NULL };
    struct vg_aws_simple_request rq = { .method = method, .url = url, .headers = hdrs,
                                        .timeout_ms = timeout, .no_proxy = true,
                                        .max_body = VG_AWS_MAX_CRED_DOC };
    struct vg_aws_error e;
    memset(&e, 0, sizeof(e));
    enum vg_err err = vg_aws_http_simple(&rq, rs, &e);
    if (err)
        set_err(errbuf, errlen, "instance metadata: %s", e.text);
    return err;
}

static enum vg_err fetch_imds(struct vg_aws_creds_provider *p, struct vg_aws_creds *out,
                              char *errbuf, size_t errlen)
{
    if (env_true("AWS_EC2_METADATA_DISABLED")) {
        set_err(errbuf, errlen, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
        return VG_ERR_NOENT;
    }
    char base[512];
    snprintf(base, sizeof(base), "%s", imds_base(&p->o));
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        base[--bl] = '\0';
    int64_t timeout = p->o.timeout_ms ? p->o.timeout_ms : DEFAULT_IMDS_TIMEOUT_MS;
    char url[1024], hdr[512];
    struct vg_aws_simple_response rs;

    /* the session token */
    snprintf(url, sizeof(url), "%s/latest/api/token", base);
    enum vg_err err = imds_request("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: "
                                   IMDS_TOKEN_TTL, timeout, &rs, errbuf, errlen);
    if (err) {
        vg_aws_simple_response_free(&rs);
        return err;
    }
    if (rs.status != 200) {
        set_err(errbuf, errlen, "instance metadata: the IMDSv2 token request answered HTTP %ld",
                rs.status);
        vg_aws_simple_response_free(&rs);
        return VG_ERR_IO;
    }
    char token[256];
    size_t tl = rs.body.len;
    while (tl && isspace((unsigned char)rs.body.data[tl - 1]))
        tl--;
    if (tl == 0 || tl >= sizeof(token) || memchr(rs.body.data, '\n', tl) ||
        memchr(rs.body.data, '\r', tl)) {
        set_err(errbuf, errlen, "instance metadata: the IMDSv2 token is empty, too long or "
                                "has a line break");
        vg_aws_simple_response_free(&rs);
        return VG_ERR_PARSE;
    }
    memcpy(token, rs.body.data, tl);
    token[tl] = '\0';
    vg_aws_simple_response_free(&rs);
    snprintf(hdr, sizeof(hdr), "X-aws-ec2-metadata-token: %s", token);

    /* the role */
    snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", base);
    err = imds_request("GET", url, hdr, timeout, &rs, errbuf, errlen);
    if (!err && rs.status != 200) {
        if (rs.status == 404)
            set_err(errbuf, errlen, "instance metadata: no IAM role is attached to this instance");
        else
            set_err(errbuf, errlen, "instance metadata: %s answered HTTP %ld", url, rs.status);
        err = rs.status == 401 || rs.status == 403 ? VG_ERR_PERM : VG_ERR_NOENT;
    }
    char role[256] = "";
    if (!err) {
        size_t rl = strcspn(vg_buf_str(&rs.body), "\r\n");
        const char *r = vg_buf_str(&rs.body);
        bool ok = rl > 0 && rl < sizeof(role);
        for (size_t i = 0; ok && i < rl; i++)
            ok = isalnum((unsigned char)r[i]) || strchr("_+=,.@-", r[i]);
        if (!ok) {
            set_err(errbuf, errlen, "instance metadata: the role name is empty or not a role name");
            err = VG_ERR_PARSE;
        } else {
            memcpy(role, r, rl);
            role[rl] = '\0';
        }
    }
    vg_aws_simple_response_free(&rs);
    if (err) {
        OPENSSL_cleanse(token, sizeof(token));
        OPENSSL_cleanse(hdr, sizeof(hdr));
        return err;
    }

    /* the credentials */
    snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", base, role);
    err = imds_request("GET", url, hdr, timeout, &rs, errbuf, errlen);
    if (!err && rs.status != 200) {
        set_err(errbuf, errlen, "instance metadata: credentials of role %s answered HTTP %ld",
                role, rs.status);
        err = VG_ERR_IO;
    }
    if (!err) {
        char source[160];
        snprintf(source, sizeof(source), "instance metadata (role %.120s)", role);
        err = creds_from_json(rs.body.data, rs.body.len, source, out, errbuf, errlen);
    }
    if (rs.body.data)
        OPENSSL_cleanse(rs.body.data, rs.body.len);
    vg_aws_simple_response_free(&rs);
    OPENSSL_cleanse(token, sizeof(token));
    OPENSSL_cleanse(hdr, sizeof(hdr));
    return err;
}

/* ---- shared credentials and config files -------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

struct vg_json *vg_aws_ini_parse(const char *text, size_t len, const char *file, bool config,
                                 char *errbuf, size_t errlen)
{
    if (memchr(text, '\0', len)) {
        set_err(errbuf, errlen, "%s: holds a NUL byte; not a text file", file);
        return NULL;
    }
    char *copy = malloc(len + 1);
    struct vg_json *all = vg_json_object();
    if (!copy || !all) {
        free(copy);
        vg_json_free(all);
        set_err(errbuf, errlen, "%s: out of memory", file);
        return NULL;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    struct vg_json *sect = NULL;   /* borrowed from all; NULL: keys are skipped */
    bool in_section = false, nested = false;
    unsigned line = 0;
    char *save = NULL;
    bool bad = false;
    for (char *l = copy; l && !bad; l = save) {
        line++;
        char *nl = strchr(l, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        bool indented = *l == ' ' || *l == '\t';
        char *s = trim(l);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (indented && nested)
            continue;          /* a nested setting ("s3 =" and its lines) */
        nested = false;
        if (*s == '[') {
            char *close = strrchr(s, ']');
            if (!close) {
                set_err(errbuf, errlen, "%s:%u: a section header without ']'", file, line);
                bad = true;
                break;
            }
            *close = '\0';
            char *name = trim(s + 1);
            in_section = true;
            sect = NULL;
            if (config) {
                if (strncmp(name, "profile", 7) == 0 && (name[7] == ' ' || name[7] == '\t'))
                    name = trim(name + 8);
                else if (strcmp(name, "default") != 0)
                    continue;  /* sso-session, services, ...: not profiles */
            }
            if (!*name) {
                set_err(errbuf, errlen, "%s:%u: a section without a name", file, line);
                bad = true;
                break;
            }
            sect = vg_json_child(all, name);
            if (!sect) {
                set_err(errbuf, errlen, "%s: out of memory", file);
                bad = true;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            set_err(errbuf, errlen, "%s:%u: expected [section] or key = value", file, line);
            bad = true;
            break;
        }
        if (!in_section) {
            set_err(errbuf, errlen, "%s:%u: a setting before any [section]", file, line);
            bad = true;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!*key) {
            set_err(errbuf, errlen, "%s:%u: a setting without a name", file, line);
            bad = true;
            break;
        }
        for (char *k = key; *k; k++)
            *k = (char)tolower((unsigned char)*k);
        if (!*val)
            nested = true;
        if (sect && vg_json_set_str(sect, key, val)) {
            set_err(errbuf, errlen, "%s: out of memory", file);
            bad = true;
        }
    }
    OPENSSL_cleanse(copy, len);
    free(copy);
    if (bad) {
        vg_json_free(all);
        return NULL;
    }
    return all;
}

/* Reads one of the two files; a file that does not exist is empty. */
static enum vg_err load_ini(const char *envname, const char *leaf, bool config,
                            struct vg_json **out, char *path, size_t pathlen, char *errbuf,
                            size_t errlen)
{
    *out = NULL;
    const char *p = env(envname);
    const char *home = env("HOME");
    if (p)
        snprintf(path, pathlen, "%s", p);
    else if (home)
        snprintf(path, pathlen, "%s/.aws/%s", home, leaf);
    else {
        snprintf(path, pathlen, "~/.aws/%s", leaf);
        return VG_OK;
    }
    struct vg_buf b;
    vg_buf_init(&b, VG_AWS_MAX_CRED_FILE);
    enum vg_err err = vg_buf_read_file(&b, path);
    if (err == VG_ERR_NOENT) {
        vg_buf_free(&b);
        return VG_OK;
    }
    if (err) {
        set_err(errbuf, errlen, "cannot read %s: %s", path, vg_strerror(err));
        vg_buf_free(&b);
        return VG_ERR_CONFIG;
    }
    *out = vg_aws_ini_parse(b.data ? b.data : "", b.len, path, config, errbuf, errlen);
    if (b.data)
        OPENSSL_cleanse(b.data, b.len);
    vg_buf_free(&b);
    return *out ? VG_OK : VG_ERR_CONFIG;
}

/* The profiles of both files, merged: {name: {key: value}}, credentials
 * file values over config file values. */
struct profiles {
    struct vg_json *merged;
    char cred_path[1024];
    char config_path[1024];
};

static enum vg_err profiles_load(struct profiles *pf, char *errbuf, size_t errlen)
{
    struct vg_json *cfg = NULL, *cred = NULL;
    memset(pf, 0, sizeof(*pf));
    enum vg_err err = load_ini("AWS_CONFIG_FILE", "config", true, &cfg, pf->config_path,
                               sizeof(pf->config_path), errbuf, errlen);
    if (!err)
        err = load_ini("AWS_SHARED_CREDENTIALS_FILE", "credentials", false, &cred,
                       pf->cred_path, sizeof(pf->cred_path), errbuf, errlen);
    if (err) {
        vg_json_free(cfg);
        return err;
    }
    pf->merged = cfg ? cfg : vg_json_object();
    for (size_t i = 0; pf->merged && cred && i < vg_json_len(cred); i++) {
        const char *name = vg_json_key_at(cred, i);
        struct vg_json *dst = vg_json_child(pf->merged, name);
        const struct vg_json *src = vg_json_at(cred, i);
        for (size_t j = 0; dst && j < vg_json_len(src); j++)
            if (vg_json_set(dst, vg_json_key_at(src, j), vg_json_clone(vg_json_at(src, j))))
                dst = NULL;
        if (!dst)
            err = VG_ERR_NOMEM;
    }
    vg_json_free(cred);
    if (!pf->merged || err) {
        set_err(errbuf, errlen, "out of memory reading the AWS profiles");
        vg_json_free(pf->merged);
        pf->merged = NULL;
        return VG_ERR_NOMEM;
    }
    return VG_OK;
}

static const char *pget(const struct vg_json *prof, const char *key)
{
    const char *v = vg_json_get_str(vg_json_get(prof, key));
    return v && *v ? v : NULL;
}

static struct vg_aws_creds_provider *static_from_profile(const struct popts *o,
                                                         const struct vg_json *prof,
                                                         const char *name, char *errbuf,
                                                         size_t errlen)
{
    const char *akid = pget(prof, "aws_access_key_id");
    const char *secret = pget(prof, "aws_secret_access_key");
    if (!akid || !secret) {
        set_err(errbuf, errlen, "profile %s has %s", name,
                akid || secret ? "only one of aws_access_key_id and aws_secret_access_key"
                               : "no aws_access_key_id");
        return NULL;
    }
    struct vg_aws_creds_provider *p = provider_new(P_STATIC, o);
    char source[160];
    snprintf(source, sizeof(source), "profile %.140s", name);
    if (!p || !fill_creds(&p->cur, akid, secret, pget(prof, "aws_session_token"), 0, source)) {
        set_err(errbuf, errlen, "profile %s: %s", name,
                p ? "a key is too long or holds a control character" : "out of memory");
        vg_aws_creds_destroy(p);
        return NULL;
    }
    p->have = true;
    return p;
}

/* The provider a profile with role_arn stands for (recursively through
 * source_profile), or with static keys; NULL with a sentence. */
static struct vg_aws_creds_provider *from_profile(const struct popts *o, const struct profiles *pf,
                                                  const char *name, int depth,
                                                  const char **visited, char *errbuf,
                                                  size_t errlen)
{
    const struct vg_json *prof = vg_json_get(pf->merged, name);
    if (!prof) {
        set_err(errbuf, errlen, "profile %s is not in %s or %s", name, pf->config_path,
                pf->cred_path);
        return NULL;
    }
    const char *role = pget(prof, "role_arn");
    if (!role)
        return static_from_profile(o, prof, name, errbuf, errlen);
    if (depth >= VG_AWS_MAX_ROLE_CHAIN) {
        set_err(errbuf, errlen, "profile %s: source_profile chain longer than %d", name,
                VG_AWS_MAX_ROLE_CHAIN);
        return NULL;
    }
    for (int i = 0; i < depth; i++) {
        if (strcmp(visited[i], name) == 0) {
            set_err(errbuf, errlen, "profile %s: source_profile loop", name);
            return NULL;
        }
    }
    visited[depth] = name;

    /* the region of this profile applies to its STS calls */
    struct popts po;
    if (!popts_copy(&po, o)) {
        set_err(errbuf, errlen, "out of memory");
        return NULL;
    }
    const char *pregion = pget(prof, "region");
    if (!po.region && !env("AWS_REGION") && !env("AWS_DEFAULT_REGION") && pregion) {
        po.region = strdup(pregion);
        if (!po.region) {
            popts_free(&po);
            set_err(errbuf, errlen, "out of memory");
            return NULL;
        }
    }
    const char *session = pget(prof, "role_session_name");
    const char *tokfile = pget(prof, "web_identity_token_file");
    const char *srcname = pget(prof, "source_profile");
    const char *credsrc = pget(prof, "credential_source");
    int duration = 0;
    const char *ds = pget(prof, "duration_seconds");
    if (ds) {
        char *end;
        long v = strtol(ds, &end, 10);
        if (*end || v < 900 || v > 43200) {
            set_err(errbuf, errlen, "profile %s: duration_seconds %.32s is not 900 to 43200",
                    name, ds);
            popts_free(&po);
            return NULL;
        }
        duration = (int)v;
    }
    if (session && !valid_session_name(session)) {
        set_err(errbuf, errlen, "profile %s: role_session_name is not 2 to 64 of letters, "
                                "digits and _+=,.@-", name);
        popts_free(&po);
        return NULL;
    }

    struct vg_aws_creds_provider *res = NULL, *src = NULL;
    if (tokfile) {
        res = assume_new(P_WEB, &po, role, NULL, session, 0);
        if (res && !(res->token_file = strdup(tokfile))) {
            vg_aws_creds_destroy(res);
            res = NULL;
        }
        if (!res)
            set_err(errbuf, errlen, "out of memory");
        popts_free(&po);
        return res;
    }
    if (srcname) {
        if (strcmp(srcname, name) == 0)
            src = static_from_profile(&po, prof, name, errbuf, errlen);
        else
            src = from_profile(&po, pf, srcname, depth + 1, visited, errbuf, errlen);
    } else if (credsrc) {
        if (strcmp(credsrc, "Environment") == 0)
            src = provider_new(P_ENV, &po);
        else if (strcmp(credsrc, "Ec2InstanceMetadata") == 0)
            src = provider_new(P_IMDS, &po);
        else if (strcmp(credsrc, "EcsContainer") == 0)
            src = provider_new(P_CONTAINER, &po);
        else
            set_err(errbuf, errlen, "profile %s: credential_source %.64s is not Environment, "
                                    "Ec2InstanceMetadata or EcsContainer", name, credsrc);
        if (!src && errbuf && !errbuf[0])
            set_err(errbuf, errlen, "out of memory");
    } else {
        set_err(errbuf, errlen, "profile %s has role_arn but no source_profile, "
                                "credential_source or web_identity_token_file", name);
    }
    if (src) {
        res = assume_new(P_ASSUME, &po, role, pget(prof, "external_id"), session, duration);
        if (res) {
            res->source = src;
            res->owns_source = true;
        } else {
            vg_aws_creds_destroy(src);
            set_err(errbuf, errlen, "out of memory");
        }
    }
    popts_free(&po);
    return res;
}

/* ---- the chain ---------------------------------------------------------- */

static enum vg_err provider_get(struct vg_aws_creds_provider *p, const struct vg_aws_creds **out,
                                char *errbuf, size_t errlen);

/* Tries candidate c; on success it becomes the chain's source. */
static enum vg_err chain_try(struct vg_aws_creds_provider *chain,
                             struct vg_aws_creds_provider *c, const struct vg_aws_creds **out,
                             char *errbuf, size_t errlen)
{
    if (!c) {
        set_err(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    enum vg_err err = provider_get(c, out, errbuf, errlen);
    if (err) {
        vg_aws_creds_destroy(c);
        return err;
    }
    chain->resolved = c;
    vg_log(VG_LOG_INFO, "aws", "credentials from %s", (*out)->source);
    return VG_OK;
}

static enum vg_err chain_resolve(struct vg_aws_creds_provider *p, const struct vg_aws_creds **out,
                                 char *errbuf, size_t errlen)
{
    char why[512];
    struct vg_buf tried;
    vg_buf_init(&tried, 4096);
    enum vg_err err;

    /* 1. the environment */
    if (!p->explicit_profile && (env("AWS_ACCESS_KEY_ID") || env("AWS_SECRET_ACCESS_KEY"))) {
        err = chain_try(p, provider_new(P_ENV, &p->o), out, errbuf, errlen);
        vg_buf_free(&tried);
        return err;
    }
    vg_buf_appends(&tried, p->explicit_profile ? "environment (skipped: a profile is configured)"
                                               : "environment (AWS_ACCESS_KEY_ID not set)");

    /* the profile */
    struct profiles pf;
    err = profiles_load(&pf, errbuf, errlen);
    if (err) {
        vg_buf_free(&tried);
        return err;
    }
    const char *name = p->profile;
    bool named = name != NULL;
    if (!name) {
        name = env("AWS_PROFILE");
        if (!name)
            name = env("AWS_DEFAULT_PROFILE");
        named = name != NULL;
        if (!name)
            name = "default";
    }
    const struct vg_json *prof = vg_json_get(pf.merged, name);
    if (!prof && named) {
        set_err(errbuf, errlen, "AWS profile %s is not in %s or %s", name, pf.config_path,
                pf.cred_path);
        vg_json_free(pf.merged);
        vg_buf_free(&tried);
        return VG_ERR_CONFIG;
    }

    /* 2. the profile's role */
    if (prof && (pget(prof, "role_arn"))) {
        const char *visited[VG_AWS_MAX_ROLE_CHAIN];
        why[0] = '\0';
        struct vg_aws_creds_provider *c = from_profile(&p->o, &pf, name, 0, visited, why,
                                                       sizeof(why));
        vg_json_free(pf.merged);
        vg_buf_free(&tried);
        if (!c) {
            set_err(errbuf, errlen, "%s", why);
            return VG_ERR_CONFIG;
        }
        return chain_try(p, c, out, errbuf, errlen);
    }

    /* 3. web identity from the environment */
    const char *tokfile = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = env("AWS_ROLE_ARN");
    if (tokfile && role) {
        vg_json_free(pf.merged);
        vg_buf_free(&tried);
        struct vg_aws_creds_provider *c = assume_new(P_WEB, &p->o, role, NULL,
                                                     env("AWS_ROLE_SESSION_NAME"), 0);
        if (c && !(c->token_file = strdup(tokfile))) {
            vg_aws_creds_destroy(c);
            c = NULL;
        }
        return chain_try(p, c, out, errbuf, errlen);
    }
    vg_buf_appends(&tried, "; web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set)");

    /* 4. the profile's keys */
    if (prof) {
        if (pget(prof, "credential_process")) {
            vg_log(VG_LOG_WARN, "aws", "profile %s: credential_process is not supported "
                   "(Vigil runs no commands); skipped", name);
            vg_buf_printf(&tried, "; profile %s (credential_process is not supported)", name);
        } else if (pget(prof, "sso_start_url") || pget(prof, "sso_session")) {
            vg_log(VG_LOG_WARN, "aws", "profile %s: SSO profiles are not supported; skipped",
                   name);
            vg_buf_printf(&tried, "; profile %s (SSO is not supported)", name);
        }
        if (pget(prof, "aws_access_key_id") || pget(prof, "aws_secret_access_key")) {
            why[0] = '\0';
            struct vg_aws_creds_provider *c = static_from_profile(&p->o, prof, name, why,
                                                                  sizeof(why));
            vg_json_free(pf.merged);
            vg_buf_free(&tried);
            if (!c) {
                set_err(errbuf, errlen, "%s", why);
                return VG_ERR_CONFIG;
            }
            return chain_try(p, c, out, errbuf, errlen);
        }
        vg_buf_printf(&tried, "; profile %s (no keys)", name);
    } else {
        vg_buf_printf(&tried, "; profile %s (not in %s or %s)", name, pf.config_path,
                      pf.cred_path);
    }
    vg_json_free(pf.merged);

    /* 5. the container endpoint */
    if (env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
        vg_buf_free(&tried);
        return chain_try(p, provider_new(P_CONTAINER, &p->o), out, errbuf, errlen);
    }
    vg_buf_appends(&tried, "; container (AWS_CONTAINER_CREDENTIALS_* not set)");

    /* 6. instance metadata */
    why[0] = '\0';
    err = chain_try(p, provider_new(P_IMDS, &p->o), out, why, sizeof(why));
    if (!err) {
        vg_buf_free(&tried);
        return VG_OK;
    }
    vg_buf_printf(&tried, "; %s", why);
    set_err(errbuf, errlen, "no AWS credentials found: tried %s", vg_buf_str(&tried));
    vg_buf_free(&tried);
    return err == VG_ERR_NOMEM ? err : VG_ERR_PERM;
}

/* ---- get ---------------------------------------------------------------- */

static enum vg_err fetch(struct vg_aws_creds_provider *p, struct vg_aws_creds *out, char *errbuf,
                         size_t errlen)
{
    switch (p->kind) {
    case P_ENV: return fetch_env(p, out, errbuf, errlen);
    case P_ASSUME: return fetch_assume(p, out, errbuf, errlen);
    case P_WEB: return fetch_web(p, out, errbuf, errlen);
    case P_CONTAINER: return fetch_container(p, out, errbuf, errlen);
    case P_IMDS: return fetch_imds(p, out, errbuf, errlen);
    case P_STATIC:
    case P_CHAIN: break;
    }
    set_err(errbuf, errlen, "internal error: no fetch for this provider");
    return VG_ERR_INVALID;
}

static enum vg_err provider_get(struct vg_aws_creds_provider *p, const struct vg_aws_creds **out,
                                char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (p->kind == P_STATIC) {
        *out = &p->cur;
        return VG_OK;
    }
    if (p->kind == P_CHAIN) {
        if (p->resolved)
            return provider_get(p->resolved, out, errbuf, errlen);
        return chain_resolve(p, out, errbuf, errlen);
    }
    int64_t now = now_ms(&p->o);
    if (p->have && !p->invalid &&
        (p->cur.expires_ms == 0 || now < p->cur.expires_ms - p->o.margin_ms)) {
        *out = &p->cur;
        return VG_OK;
    }
    struct vg_aws_creds *fresh = malloc(sizeof(*fresh));
    if (!fresh) {
        set_err(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    enum vg_err err = fetch(p, fresh, errbuf, errlen);
    if (!err) {
        bool refresh = p->have;
        p->cur = *fresh;
        p->have = true;
        p->invalid = false;
        if (refresh)
            vg_log(VG_LOG_INFO, "aws", "credentials from %s refreshed", p->cur.source);
        *out = &p->cur;
    } else if (p->have && !p->invalid && p->cur.expires_ms && now < p->cur.expires_ms) {
        vg_log(VG_LOG_WARN, "aws", "refreshing credentials from %s failed, keeping the "
               "current ones until they expire: %s", p->cur.source, errbuf);
        *out = &p->cur;
        err = VG_OK;
    }
    OPENSSL_cleanse(fresh, sizeof(*fresh));
    free(fresh);
    return err;
}

enum vg_err vg_aws_creds_get(struct vg_aws_creds_provider *p, const struct vg_aws_creds **out,
                             char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!p) {
        set_err(errbuf, errlen, "no credential provider");
        return VG_ERR_INVALID;
    }
    return provider_get(p, out, errbuf, errlen);
}

void vg_aws_creds_invalidate(struct vg_aws_creds_provider *p)
{
    if (!p)
        return;
    if (p->kind == P_CHAIN) {
        vg_aws_creds_invalidate(p->resolved);
        return;
    }
    if (p->kind != P_STATIC)
        p->invalid = true;
}

bool vg_aws_creds_refreshable(const struct vg_aws_creds_provider *p)
{
    if (!p)
        return false;
    if (p->kind == P_CHAIN)
        return p->resolved ? vg_aws_creds_refreshable(p->resolved) : true;
    return p->kind != P_STATIC && p->kind != P_ENV;
}
