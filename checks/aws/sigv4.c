/*
 * Signature Version 4. See sigv4.h for the rules; the comments here say
 * where the suite or botocore decided a detail.
 */
#include "sigv4.h"

#include "../../agent/hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SIGV4_MAX_PARAMS 1024    /* query parameters of one request */

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

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

enum vg_err vg_sigv4_uri_encode(struct vg_buf *out, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    enum vg_err err = VG_OK;
    size_t run = 0;
    for (size_t i = 0; i < n && !err; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/'))
            continue;
        err = vg_buf_append(out, s + run, i - run);
        char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
        if (!err)
            err = vg_buf_append(out, esc, 3);
        run = i + 1;
    }
    if (!err)
        err = vg_buf_append(out, s + run, n - run);
    return err;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out; a '%' not followed by two hex digits
 * stays a literal '%' (and is encoded again as %25). */
static enum vg_err uri_decode(struct vg_buf *out, const char *s, size_t n)
{
    enum vg_err err = VG_OK;
    for (size_t i = 0; i < n && !err; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n &&
            (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
            err = vg_buf_appendc(out, (char)(hi << 4 | lo));
            i += 2;
        } else {
            err = vg_buf_appendc(out, s[i]);
        }
    }
    return err;
}

/* ---- the canonical path ---------------------------------------------- */

/* botocore's remove_dot_segments: "." and empty segments go, ".." removes
 * the segment before it (never above the root); a trailing slash stays
 * when something is left. */
static enum vg_err remove_dot_segments(struct vg_buf *out, const char *path)
{
    size_t n = strlen(path);
    const char **segs = NULL;
    size_t *lens = NULL, nseg = 0;
    enum vg_err err = VG_OK;
    if (n) {
        size_t maxseg = n / 2 + 2;
        segs = malloc(maxseg * sizeof(*segs));
        lens = malloc(maxseg * sizeof(*lens));
        if (!segs || !lens) {
            err = VG_ERR_NOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 0 || (len == 1 && path[i] == '.')) {
            /* dropped */
        } else if (len == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (nseg)
                nseg--;
        } else {
            segs[nseg] = path + i;
            lens[nseg] = len;
            nseg++;
        }
        i = j + 1;
    }
    if (n && path[0] == '/')
        err = vg_buf_appendc(out, '/');
    for (size_t k = 0; k < nseg && !err; k++) {
        if (k)
            err = vg_buf_appendc(out, '/');
        if (!err)
            err = vg_buf_append(out, segs[k], lens[k]);
    }
    if (!err && n && path[n - 1] == '/' && nseg)
        err = vg_buf_appendc(out, '/');
out:
    free(segs);
    free(lens);
    return err;
}

static enum vg_err canonical_path(struct vg_buf *cr, const struct vg_sigv4_request *req,
                                  const struct vg_sigv4_params *p)
{
    const char *path = req->path && req->path[0] ? req->path : "/";
    if (p->s3)
        return vg_buf_appends(cr, path);
    enum vg_err err = VG_OK;
    struct vg_buf norm;
    vg_buf_init(&norm, VG_SIGV4_MAX_TEXT);
    if (p->normalize_path) {
        err = remove_dot_segments(&norm, path);
        if (!err && norm.len == 0)
            err = vg_buf_appendc(&norm, '/');
    } else {
        err = vg_buf_appends(&norm, path);
    }
    if (!err)
        err = vg_sigv4_uri_encode(cr, vg_buf_str(&norm), norm.len, true);
    vg_buf_free(&norm);
    return err;
}

/* ---- the canonical query --------------------------------------------- */

struct qparam {
    char *name;     /* encoded */
    char *value;    /* encoded */
};

static int qparam_cmp(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Decodes s[0..n) and encodes it again strictly; *outp is malloc'd. */
static enum vg_err reencode(const char *s, size_t n, char **outp)
{
    struct vg_buf dec, enc;
    vg_buf_init(&dec, VG_SIGV4_MAX_TEXT);
    vg_buf_init(&enc, VG_SIGV4_MAX_TEXT);
    enum vg_err err = uri_decode(&dec, s, n);
    if (!err)
        err = vg_sigv4_uri_encode(&enc, dec.data ? dec.data : "", dec.len, false);
    if (!err && !(*outp = vg_buf_detach(&enc)))
        err = VG_ERR_NOMEM;
    vg_buf_free(&dec);
    vg_buf_free(&enc);
    return err;
}

static enum vg_err canonical_query(struct vg_buf *cr, const char *query)
{
    if (!query || !*query)
        return VG_OK;
    struct qparam *ps = NULL;
    size_t np = 0, cap = 0;
    enum vg_err err = VG_OK;
    for (const char *s = query; *s && !err;) {
        const char *amp = strchr(s, '&');
        size_t len = amp ? (size_t)(amp - s) : strlen(s);
        if (len) {
            if (np == SIGV4_MAX_PARAMS) {
                err = VG_ERR_LIMIT;
                break;
            }
            if (np == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                struct qparam *q = realloc(ps, ncap * sizeof(*q));
                if (!q) {
                    err = VG_ERR_NOMEM;
                    break;
                }
                ps = q;
                cap = ncap;
            }
            const char *eq = memchr(s, '=', len);
            size_t nlen = eq ? (size_t)(eq - s) : len;
            ps[np].name = ps[np].value = NULL;
            err = reencode(s, nlen, &ps[np].name);
            if (!err)
                err = eq ? reencode(eq + 1, len - nlen - 1, &ps[np].value)
                         : reencode("", 0, &ps[np].value);
            np++;
        }
        s += len;
        if (*s == '&')
            s++;
    }
    if (!err) {
        qsort(ps, np, sizeof(*ps), qparam_cmp);
        for (size_t i = 0; i < np && !err; i++) {
            if (i)
                err = vg_buf_appendc(cr, '&');
            if (!err)
                err = vg_buf_printf(cr, "%s=%s", ps[i].name, ps[i].value);
        }
    }
    for (size_t i = 0; i < np; i++) {
        free(ps[i].name);
        free(ps[i].value);
    }
    free(ps);
    return err;
}

/* ---- canonical headers ----------------------------------------------- */

struct cheader {
    char *name;            /* lower case, owned */
    struct vg_buf value;   /* values joined with ',' */
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends v trimmed, every run of blanks collapsed to one space. */
static enum vg_err append_trimmed(struct vg_buf *b, const char *v)
{
    enum vg_err err = VG_OK;
    while (is_blank(*v))
        v++;
    bool space = false;
    for (; *v && !err; v++) {
        if (is_blank(*v)) {
            space = true;
            continue;
        }
        if (space)
            err = vg_buf_appendc(b, ' ');
        space = false;
        if (!err)
            err = vg_buf_appendc(b, *v);
    }
    return err;
}

static const char *const unsigned_headers[] = {
    "authorization", "user-agent", "expect", "x-amzn-trace-id", "connection",
    "transfer-encoding",
    /* the signer sets these itself */
    "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
};

static bool skipped_header(const char *lname)
{
    for (size_t i = 0; i < sizeof(unsigned_headers) / sizeof(unsigned_headers[0]); i++)
        if (strcmp(lname, unsigned_headers[i]) == 0)
            return true;
    return false;
}

static int cheader_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cheader *)a)->name, ((const struct cheader *)b)->name);
}

struct hlist {
    struct cheader *h;
    size_t n;
};

static void hlist_free(struct hlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->h[i].name);
        vg_buf_free(&l->h[i].value);
    }
    free(l->h);
    l->h = NULL;
    l->n = 0;
}

/* Adds one header, joining it to an earlier one of the same name. */
static enum vg_err hlist_add(struct hlist *l, size_t cap, const char *name, const char *value)
{
    char lname[256];
    size_t nl = strlen(name);
    if (nl == 0 || nl >= sizeof(lname))
        return VG_ERR_INVALID;
    for (size_t i = 0; i <= nl; i++)
        lname[i] = (char)tolower((unsigned char)name[i]);
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->h[i].name, lname) == 0) {
            enum vg_err err = vg_buf_appendc(&l->h[i].value, ',');
            return err ? err : append_trimmed(&l->h[i].value, value ? value : "");
        }
    }
    if (l->n == cap)
        return VG_ERR_LIMIT;
    struct cheader *h = &l->h[l->n];
    h->name = strdup(lname);
    if (!h->name)
        return VG_ERR_NOMEM;
    vg_buf_init(&h->value, VG_SIGV4_MAX_TEXT);
    l->n++;
    enum vg_err err = append_trimmed(&h->value, value ? value : "");
    /* an empty value must still read as "" rather than NULL */
    return err ? err : vg_buf_append(&h->value, "", 0);
}

/* ---- HMAC and the signing key ---------------------------------------- */

static enum vg_err hmac256(const void *key, size_t klen, const void *data, size_t dlen,
                           uint8_t out[32])
{
    unsigned int olen = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &olen) || olen != 32)
        return VG_ERR_NOMEM;
    return VG_OK;
}

enum vg_err vg_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                                 const char *service, uint8_t key[32])
{
    char ksecret[300];
    int n = snprintf(ksecret, sizeof(ksecret), "AWS4%s", secret);
    if (n < 0 || (size_t)n >= sizeof(ksecret))
        return VG_ERR_LIMIT;
    uint8_t k1[32], k2[32], k3[32];
    enum vg_err err = hmac256(ksecret, (size_t)n, date8, strlen(date8), k1);
    if (!err)
        err = hmac256(k1, 32, region, strlen(region), k2);
    if (!err)
        err = hmac256(k2, 32, service, strlen(service), k3);
    if (!err)
        err = hmac256(k3, 32, "aws4_request", 12, key);
    /* the secret's derivatives do not linger on the stack */
    OPENSSL_cleanse(ksecret, sizeof(ksecret));
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
    OPENSSL_cleanse(k3, sizeof(k3));
    return err;
}

/* ---- signing ----------------------------------------------------------- */

void vg_sigv4_result_free(struct vg_sigv4_result *r)
{
    if (!r)
        return;
    vg_buf_free(&r->canonical_request);
    vg_buf_free(&r->string_to_sign);
    vg_buf_free(&r->authorization);
    vg_buf_free(&r->signed_headers);
}

static bool empty(const char *s)
{
    return !s || !*s;
}

enum vg_err vg_sigv4_sign(const struct vg_sigv4_request *req, const struct vg_sigv4_params *p,
                          struct vg_sigv4_result *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    vg_buf_init(&out->canonical_request, VG_SIGV4_MAX_TEXT);
    vg_buf_init(&out->string_to_sign, VG_SIGV4_MAX_TEXT);
    vg_buf_init(&out->authorization, VG_SIGV4_MAX_TEXT);
    vg_buf_init(&out->signed_headers, VG_SIGV4_MAX_TEXT);

    if (empty(req->method) || empty(p->access_key_id) || empty(p->secret_access_key) ||
        empty(p->region) || empty(p->service)) {
        set_err(errbuf, errlen, "cannot sign: method, access key, secret key, region and "
                                "service are all required");
        return VG_ERR_INVALID;
    }
    if (strchr(p->region, '/') || strchr(p->service, '/') || strchr(p->access_key_id, '/')) {
        set_err(errbuf, errlen, "cannot sign: region, service or access key holds a '/'");
        return VG_ERR_INVALID;
    }

    time_t t = (time_t)(p->time_ms / 1000);
    struct tm tm;
    if (p->time_ms < 0 || !gmtime_r(&t, &tm) ||
        strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16) {
        set_err(errbuf, errlen, "cannot sign: the time %lld ms cannot be formatted",
                (long long)p->time_ms);
        return VG_ERR_INVALID;
    }
    char date8[9];
    memcpy(date8, out->amz_date, 8);
    date8[8] = '\0';

    uint8_t digest[32];
    vg_sha256(req->body ? req->body : "", req->body ? req->body_len : 0, digest);
    vg_hex(digest, 32, out->payload_hash);

    /* the headers */
    struct hlist hl = { NULL, 0 };
    size_t hcap = req->nheaders + 3;
    enum vg_err err = VG_OK;
    hl.h = calloc(hcap, sizeof(*hl.h));
    if (!hl.h) {
        err = VG_ERR_NOMEM;
        goto out;
    }
    bool have_host = false;
    for (size_t i = 0; i < req->nheaders && !err; i++) {
        const char *name = req->headers[i].name;
        if (empty(name)) {
            set_err(errbuf, errlen, "cannot sign: a header without a name");
            err = VG_ERR_INVALID;
            goto out;
        }
        char lname[64];
        snprintf(lname, sizeof(lname), "%s", name);
        for (char *c = lname; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (strlen(name) < sizeof(lname) && skipped_header(lname))
            continue;
        if (strcasecmp(name, "host") == 0)
            have_host = true;
        err = hlist_add(&hl, hcap, name, req->headers[i].value);
        if (err == VG_ERR_INVALID)
            set_err(errbuf, errlen, "cannot sign: header name \"%.64s\" is too long", name);
    }
    if (err)
        goto out;
    if (!have_host) {
        set_err(errbuf, errlen, "cannot sign: the request has no Host header");
        err = VG_ERR_INVALID;
        goto out;
    }
    err = hlist_add(&hl, hcap, "x-amz-date", out->amz_date);
    if (!err && !empty(p->session_token) && !p->omit_session_token)
        err = hlist_add(&hl, hcap, "x-amz-security-token", p->session_token);
    if (!err && p->sign_body)
        err = hlist_add(&hl, hcap, "x-amz-content-sha256", out->payload_hash);
    if (err)
        goto out;
    qsort(hl.h, hl.n, sizeof(*hl.h), cheader_cmp);

    /* the canonical request */
    struct vg_buf *cr = &out->canonical_request;
    err = vg_buf_printf(cr, "%s\n", req->method);
    if (!err)
        err = canonical_path(cr, req, p);
    if (!err)
        err = vg_buf_appendc(cr, '\n');
    if (!err)
        err = canonical_query(cr, req->query);
    if (!err)
        err = vg_buf_appendc(cr, '\n');
    for (size_t i = 0; i < hl.n && !err; i++) {
        err = vg_buf_printf(cr, "%s:%s\n", hl.h[i].name, vg_buf_str(&hl.h[i].value));
        if (!err && i)
            err = vg_buf_appendc(&out->signed_headers, ';');
        if (!err)
            err = vg_buf_appends(&out->signed_headers, hl.h[i].name);
    }
    if (!err)
        err = vg_buf_printf(cr, "\n%s\n%s", vg_buf_str(&out->signed_headers), out->payload_hash);
    if (err)
        goto out;

    /* the string to sign */
    vg_sha256(cr->data, cr->len, digest);
    char crhash[VG_SIGV4_HEX_LEN];
    vg_hex(digest, 32, crhash);
    err = vg_buf_printf(&out->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                        out->amz_date, date8, p->region, p->service, crhash);
    if (err)
        goto out;

    /* the signature */
    uint8_t key[32], sig[32];
    err = vg_sigv4_signing_key(p->secret_access_key, date8, p->region, p->service, key);
    if (!err)
        err = hmac256(key, 32, out->string_to_sign.data, out->string_to_sign.len, sig);
    OPENSSL_cleanse(key, sizeof(key));
    if (err)
        goto out;
    vg_hex(sig, 32, out->signature);
    err = vg_buf_printf(&out->authorization,
                        "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                        "SignedHeaders=%s, Signature=%s",
                        p->access_key_id, date8, p->region, p->service,
                        vg_buf_str(&out->signed_headers), out->signature);
out:
    hlist_free(&hl);
    if (err == VG_ERR_LIMIT)
        set_err(errbuf, errlen, "cannot sign: the request is larger than the signer's bounds");
    else if (err == VG_ERR_NOMEM)
        set_err(errbuf, errlen, "cannot sign: out of memory");
    return err;
}
