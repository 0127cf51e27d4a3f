/*
 * Hosts, authentication, TLS and curl options (see http.h).
 */
#include "http.h"
#include "cloudid.h"
#include "../../agent/log.h"
#include "../../agent/timeutil.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEM_MAX (1u << 20)   /* a CA bundle or certificate file */

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

static bool set(const char *s)
{
    return s && *s;
}

/* ---- hosts ------------------------------------------------------------- */

enum vg_err vg_es_url_split(const char *in, bool tls_default, const char *what,
                            const char *creds_hint, const char *query_hint,
                            struct vg_es_url *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char tmp[2100];
    if (strlen(in) >= sizeof(tmp) - 16) {
        snprintf(errbuf, errlen, "%s: \"%.200s\" is not a URL", what, in);
        return VG_ERR_CONFIG;
    }
    if (!strstr(in, "://"))
        snprintf(tmp, sizeof(tmp), "%s://%s", tls_default ? "https" : "http", in);
    else
        snprintf(tmp, sizeof(tmp), "%s", in);
    CURLU *u = curl_url();
    if (!u) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    char *user = NULL, *query = NULL, *frag = NULL;
    enum vg_err err = VG_ERR_CONFIG;
    if (curl_url_set(u, CURLUPART_URL, tmp, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &out->scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &out->host, 0) != CURLUE_OK) {
        snprintf(errbuf, errlen, "%s: \"%.200s\" is not a URL", what, in);
        goto out;
    }
    if (strcmp(out->scheme, "http") != 0 && strcmp(out->scheme, "https") != 0) {
        snprintf(errbuf, errlen, "%s: %.200s: the scheme must be http or https", what,
                 out->host);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        snprintf(errbuf, errlen, "%s: %.200s: %s", what, out->host, creds_hint);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
        snprintf(errbuf, errlen, "%s: %.200s: %s", what, out->host, query_hint);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PORT, &out->port, 0) != CURLUE_OK)
        out->port = NULL;
    if (curl_url_get(u, CURLUPART_PATH, &out->path, 0) != CURLUE_OK)
        out->path = NULL;
    if (out->path) {
        size_t plen = strlen(out->path);
        while (plen && out->path[plen - 1] == '/')
            out->path[--plen] = '\0';
    }
    err = VG_OK;
out:
    curl_free(user);
    curl_free(query);
    curl_free(frag);
    curl_url_cleanup(u);
    if (err)
        vg_es_url_free(out);
    return err;
}

void vg_es_url_free(struct vg_es_url *u)
{
    curl_free(u->scheme);
    curl_free(u->host);
    curl_free(u->port);
    curl_free(u->path);
    memset(u, 0, sizeof(*u));
}

/* Parses one host URL into h (without a port: 9200). */
static enum vg_err parse_host(const char *in, bool tls_default, struct vg_es_host *h,
                              char *errbuf, size_t errlen)
{
    struct vg_es_url u;
    enum vg_err err = vg_es_url_split(in, tls_default, "outputs.elasticsearch.hosts",
                                      "put credentials in username and password, not in the "
                                      "URL",
                                      "a host URL takes no query or fragment", &u, errbuf,
                                      errlen);
    if (err)
        return err;
    const char *port = u.port ? u.port : "9200";
    char base[2600];
    int w = snprintf(base, sizeof(base), "%s://%s:%s%s", u.scheme, u.host, port,
                     u.path ? u.path : "");
    if (w < 0 || (size_t)w >= sizeof(base)) {
        snprintf(errbuf, errlen, "outputs.elasticsearch.hosts: a URL is too long");
        vg_es_url_free(&u);
        return VG_ERR_CONFIG;
    }
    snprintf(h->name, sizeof(h->name), "%.250s:%s", u.host, port);
    h->tls = strcmp(u.scheme, "https") == 0;
    vg_es_url_free(&u);
    h->base = strdup(base);
    size_t blen = strlen(base) + sizeof("/_bulk?" VG_ES_FILTER_PATH);
    h->bulk_url = malloc(blen);
    if (!h->base || !h->bulk_url)
        return VG_ERR_NOMEM;
    snprintf(h->bulk_url, blen, "%s/_bulk?%s", base, VG_ES_FILTER_PATH);
    return VG_OK;
}

/* ---- files ------------------------------------------------------------- */

static enum vg_err read_pem(const char *key, const char *path, struct vg_buf *b, char *errbuf,
                            size_t errlen)
{
    vg_buf_init(b, PEM_MAX);
    enum vg_err e = vg_buf_read_file(b, path);
    if (e) {
        snprintf(errbuf, errlen, "outputs.elasticsearch.ssl.%s: %s: %s", key, path,
                 e == VG_ERR_NOENT  ? "no such file"
                 : e == VG_ERR_PERM ? "permission denied"
                 : e == VG_ERR_LIMIT ? "larger than 1 MiB"
                                     : "cannot be read");
        vg_buf_free(b);
        return VG_ERR_CONFIG;
    }
    return VG_OK;
}

static enum vg_err check_certs(const char *key, const char *path, char *errbuf, size_t errlen,
                               X509 **first)
{
    struct vg_buf b;
    if (read_pem(key, path, &b, errbuf, errlen))
        return VG_ERR_CONFIG;
    BIO *bio = BIO_new_mem_buf(b.data ? b.data : "", (int)b.len);
    int n = 0;
    X509 *x;
    while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (n == 0 && first)
            *first = x;
        else
            X509_free(x);
        n++;
    }
    ERR_clear_error();
    BIO_free(bio);
    vg_buf_free(&b);
    if (n == 0) {
        snprintf(errbuf, errlen, "outputs.elasticsearch.ssl.%s: %s: no PEM certificate in it", key,
                 path);
        return VG_ERR_CONFIG;
    }
    return VG_OK;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *p = u ? u : "";
    int n = (int)strlen(p);
    if (n > size)
        n = size;
    memcpy(buf, p, (size_t)n);
    return n;
}

static enum vg_err check_client(const struct vg_config *cfg, char *errbuf, size_t errlen)
{
    const char *cpath = cfg->outputs.es.ssl_certificate, *kpath = cfg->outputs.es.ssl_key;
    if (set(cpath) != set(kpath)) {
        snprintf(errbuf, errlen, "outputs.elasticsearch.ssl: certificate and key go together");
        return VG_ERR_CONFIG;
    }
    if (!set(cpath))
        return VG_OK;
    X509 *cert = NULL;
    if (check_certs("certificate", cpath, errbuf, errlen, &cert))
        return VG_ERR_CONFIG;
    struct vg_buf b;
    if (read_pem("key", kpath, &b, errbuf, errlen)) {
        X509_free(cert);
        return VG_ERR_CONFIG;
    }
    BIO *bio = BIO_new_mem_buf(b.data ? b.data : "", (int)b.len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, pass_cb,
                                                 (void *)(uintptr_t)cfg->outputs.es.ssl_key_passphrase)
                       : NULL;
    ERR_clear_error();
    BIO_free(bio);
    vg_buf_free(&b);
    enum vg_err err = VG_OK;
    if (!pk) {
        snprintf(errbuf, errlen,
                 "outputs.elasticsearch.ssl.key: %s: no PEM private key in it, or the "
                 "passphrase is wrong", kpath);
        err = VG_ERR_CONFIG;
    } else if (X509_check_private_key(cert, pk) != 1) {
        snprintf(errbuf, errlen, "outputs.elasticsearch.ssl.key: %s does not belong to the "
                                 "certificate %s", kpath, cpath);
        err = VG_ERR_CONFIG;
    }
    ERR_clear_error();
    EVP_PKEY_free(pk);
    X509_free(cert);
    return err;
}

static int parse_pin(const char *s, unsigned char out[32])
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ':')
            continue;
        int v;
        char c = *p;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            return -1;
        if (n >= 64)
            return -1;
        if (n % 2 == 0)
            out[n / 2] = (unsigned char)(v << 4);
        else
            out[n / 2] |= (unsigned char)v;
        n++;
    }
    return n == 64 ? 0 : -1;
}

/* ---- pinning ----------------------------------------------------------- */

/* Pinning: a certificate of the chain the server presents must have the
 * pinned SHA-256. It becomes the trust anchor and the chain is verified up
 * to it (as Beats' ssl.ca_trusted_fingerprint); a chain without it is
 * refused, whatever the CA file or the system store would say, so a pin
 * protects even against a CA that issued a certificate it should not
 * have. The host name is checked by curl either way. */
static int pin_verify(X509_STORE_CTX *x, void *arg)
{
    const struct vg_es_conn *c = arg;
    X509 *match = NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(x);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(x);
    int n = chain ? sk_X509_num(chain) : 0;
    for (int i = -1; i < n && !match; i++) {
        X509 *cert = i < 0 ? leaf : sk_X509_value(chain, i);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (cert && X509_digest(cert, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32 &&
            memcmp(md, c->pin_sha256, 32) == 0)
            match = cert;
    }
    if (!match) {
        X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_UNTRUSTED);
        return 0;
    }
    STACK_OF(X509) *trusted = sk_X509_new_null();
    if (!trusted || !sk_X509_push(trusted, match)) {
        sk_X509_free(trusted);
        return 0;
    }
    X509_STORE_CTX_set0_trusted_stack(x, trusted);
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(x), X509_V_FLAG_PARTIAL_CHAIN);
    int ok = X509_verify_cert(x);
    X509_STORE_CTX_set0_trusted_stack(x, NULL);
    sk_X509_free(trusted);
    return ok;
}

static CURLcode ssl_ctx_cb(CURL *easy, void *sslctx, void *arg)
{
    (void)easy;
    SSL_CTX_set_cert_verify_callback((SSL_CTX *)sslctx, pin_verify, arg);
    return CURLE_OK;
}

/* ---- construction ------------------------------------------------------ */

static enum vg_err add_header(struct curl_slist **l, const char *h)
{
    struct curl_slist *n = curl_slist_append(*l, h);
    if (!n)
        return VG_ERR_NOMEM;
    *l = n;
    return VG_OK;
}

static bool base64_text(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n % 4)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  ch == '+' || ch == '/' || (ch == '=' && i >= n - 2);
        if (!ok)
            return false;
    }
    return true;
}

/* "Authorization: ApiKey <base64(id:key)>", or NULL with errbuf. */
static char *api_key_header(const char *key, char *errbuf, size_t errlen)
{
    size_t n = strlen(key);
    size_t cap = 32 + 4 * (n / 3 + 1) + 1;
    char *h = malloc(cap);
    if (!h)
        return NULL;
    if (strchr(key, ':')) {
        int w = snprintf(h, cap, "Authorization: ApiKey ");
        EVP_EncodeBlock((unsigned char *)h + w, (const unsigned char *)key, (int)n);
    } else if (base64_text(key)) {
        snprintf(h, cap, "Authorization: ApiKey %s", key);
    } else {
        free(h);
        snprintf(errbuf, errlen, "outputs.elasticsearch.api_key: neither \"id:api_key\" nor its "
                                 "base64 encoding");
        return NULL;
    }
    return h;
}

static bool has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

struct vg_es_conn *vg_es_conn_new(const struct vg_config *cfg, char *errbuf, size_t errlen,
                                  enum vg_err *errp)
{
    const __typeof__(cfg->outputs.es) *es = &cfg->outputs.es;
    enum vg_err err = VG_ERR_CONFIG;
    struct vg_es_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        *errp = VG_ERR_NOMEM;
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    c->verify = es->ssl_verify;
    c->timeout_ms = (long)(es->timeout_s > 0 ? es->timeout_s : 90) * 1000;
    c->connect_timeout_ms = c->timeout_ms < 10000 ? c->timeout_ms : 10000;
    c->gzip_level = (int)es->compression_level;
    c->backoff_init_ms = es->backoff_init_s * 1000;
    c->backoff_max_ms = (es->backoff_max_s > 0 ? es->backoff_max_s : 60) * 1000;
    c->rng = (uint64_t)vg_time_now_ms() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)c;

    /* hosts, or the cloud id */
    bool tls_default = set(es->ssl_ca) || set(es->ssl_ca_sha256) || set(es->ssl_certificate);
    if (es->nhosts && set(es->cloud_id)) {
        snprintf(errbuf, errlen, "outputs.elasticsearch: give hosts or cloud_id, not both");
        goto fail;
    }
    if (!es->nhosts && !set(es->cloud_id)) {
        snprintf(errbuf, errlen, "outputs.elasticsearch: hosts or cloud_id is required");
        goto fail;
    }
    if (es->nhosts > VG_ES_MAX_HOSTS) {
        snprintf(errbuf, errlen, "outputs.elasticsearch.hosts: more than %d hosts",
                 VG_ES_MAX_HOSTS);
        goto fail;
    }
    size_t nh = es->nhosts ? es->nhosts : 1;
    c->hosts = calloc(nh, sizeof(*c->hosts));
    if (!c->hosts) {
        err = VG_ERR_NOMEM;
        goto fail;
    }
    if (es->nhosts) {
        for (size_t i = 0; i < es->nhosts; i++) {
            if ((err = parse_host(es->hosts[i], tls_default, &c->hosts[i], errbuf, errlen)))
                goto fail;
            c->nhosts++;
        }
    } else {
        char url[1200];
        if ((err = vg_es_cloud_id_decode(es->cloud_id, url, sizeof(url), errbuf, errlen)))
            goto fail;
        if ((err = parse_host(url, true, &c->hosts[0], errbuf, errlen)))
            goto fail;
        c->nhosts = 1;
    }
    err = VG_ERR_CONFIG;

    /* credentials: one kind at most (a client certificate may join any) */
    int kinds = (set(es->username) || set(es->password)) + set(es->api_key) + set(es->bearer_token);
    if (kinds > 1) {
        snprintf(errbuf, errlen, "outputs.elasticsearch: give one of username/password, api_key "
                                 "and bearer_token, not several");
        goto fail;
    }
    if (set(es->username) != set(es->password)) {
        snprintf(errbuf, errlen, "outputs.elasticsearch: username and password go together");
        goto fail;
    }
    if ((set(es->username) && has_ctl(es->username)) || (set(es->password) && has_ctl(es->password)) ||
        (set(es->api_key) && has_ctl(es->api_key)) ||
        (set(es->bearer_token) && has_ctl(es->bearer_token))) {
        snprintf(errbuf, errlen, "outputs.elasticsearch: a credential holds a control character");
        goto fail;
    }
    char *auth = NULL;
    if (set(es->api_key)) {
        auth = api_key_header(es->api_key, errbuf, errlen);
        if (!auth)
            goto fail;
    } else if (set(es->bearer_token)) {
        size_t cap = strlen(es->bearer_token) + 32;
        auth = malloc(cap);
        if (!auth) {
            err = VG_ERR_NOMEM;
            goto fail;
        }
        snprintf(auth, cap, "Authorization: Bearer %s", es->bearer_token);
    } else if (set(es->username)) {
        c->username = dupstr(es->username);
        c->password = dupstr(es->password);
    }

    enum vg_err herr = VG_OK;
    herr |= add_header(&c->hdr_bulk, "Content-Type: application/x-ndjson");
    herr |= add_header(&c->hdr_json, "Content-Type: application/json");
    for (int i = 0; i < 2; i++) {
        struct curl_slist **l = i ? &c->hdr_json : &c->hdr_bulk;
        herr |= add_header(l, "Accept: application/json");
        herr |= add_header(l, "Expect:");   /* no 100-continue round trip */
        if (auth)
            herr |= add_header(l, auth);
    }
    if (c->gzip_level > 0)
        herr |= add_header(&c->hdr_bulk, "Content-Encoding: gzip");
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    if (herr) {
        err = VG_ERR_NOMEM;
        goto fail;
    }

    /* TLS */
    if (set(es->ssl_ca)) {
        if (check_certs("ca", es->ssl_ca, errbuf, errlen, NULL))
            goto fail;
        c->ca = dupstr(es->ssl_ca);
    }
    if (set(es->ssl_ca_sha256)) {
        if (parse_pin(es->ssl_ca_sha256, c->pin_sha256)) {
            snprintf(errbuf, errlen, "outputs.elasticsearch.ssl.ca_sha256: not a hex SHA-256 "
                                     "fingerprint (64 hex digits, colons allowed)");
            goto fail;
        }
        c->pin = true;
    }
    if (check_client(cfg, errbuf, errlen))
        goto fail;
    if (set(es->ssl_certificate)) {
        c->cert = dupstr(es->ssl_certificate);
        c->key = dupstr(es->ssl_key);
        c->key_pass = dupstr(es->ssl_key_passphrase);
    }
    if (set(es->proxy_url)) {
        if (!strstr(es->proxy_url, "://") ||
            (strncmp(es->proxy_url, "http://", 7) != 0 && strncmp(es->proxy_url, "https://", 8) != 0 &&
             strncmp(es->proxy_url, "socks5://", 9) != 0 && strncmp(es->proxy_url, "socks5h://", 10) != 0)) {
            snprintf(errbuf, errlen, "outputs.elasticsearch.proxy_url: the scheme must be http, "
                                     "https, socks5 or socks5h");
            goto fail;
        }
        c->proxy = dupstr(es->proxy_url);
    }
    if (!c->verify)
        vg_log(VG_LOG_WARN, "es", "TLS verification is off (outputs.elasticsearch.ssl.verify: "
                                  "false): any server can pose as Elasticsearch");
    *errp = VG_OK;
    return c;
fail:
    *errp = err;
    if (err == VG_ERR_NOMEM)
        snprintf(errbuf, errlen, "out of memory");
    vg_es_conn_destroy(c);
    return NULL;
}

static void free_secret(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void vg_es_conn_destroy(struct vg_es_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nhosts; i++) {
        free(c->hosts[i].base);
        free(c->hosts[i].bulk_url);
    }
    free(c->hosts);
    curl_slist_free_all(c->hdr_bulk);
    curl_slist_free_all(c->hdr_json);
    free(c->username);
    free_secret(c->password);
    free(c->ca);
    free(c->cert);
    free(c->key);
    free_secret(c->key_pass);
    free_secret(c->proxy);
    free(c);
}

/* ---- per request ------------------------------------------------------- */

enum vg_err vg_es_conn_prepare(const struct vg_es_conn *c, CURL *e, char *errbuf_curl)
{
    CURLcode rc = CURLE_OK;
#define OPT(o, v)                                  \
    do {                                           \
        if (rc == CURLE_OK)                        \
            rc = curl_easy_setopt(e, o, v);        \
    } while (0)
    OPT(CURLOPT_NOSIGNAL, 1L);
    OPT(CURLOPT_ERRORBUFFER, errbuf_curl);
    OPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    OPT(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    OPT(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    OPT(CURLOPT_TCP_KEEPALIVE, 1L);
    OPT(CURLOPT_FOLLOWLOCATION, 0L);
    OPT(CURLOPT_PROTOCOLS_STR, "http,https");
    OPT(CURLOPT_PROXY, c->proxy ? c->proxy : "");
    OPT(CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L);
    OPT(CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L);
    if (c->ca)
        OPT(CURLOPT_CAINFO, c->ca);
    if (c->pin && c->verify) {
        OPT(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
        OPT(CURLOPT_SSL_CTX_DATA, (void *)(uintptr_t)c);
    }
    if (c->cert) {
        OPT(CURLOPT_SSLCERT, c->cert);
        OPT(CURLOPT_SSLKEY, c->key);
        if (c->key_pass)
            OPT(CURLOPT_KEYPASSWD, c->key_pass);
    }
    if (c->username) {
        OPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        OPT(CURLOPT_USERNAME, c->username);
        OPT(CURLOPT_PASSWORD, c->password);
    }
#undef OPT
    return rc == CURLE_OK ? VG_OK : VG_ERR_INVALID;
}

int vg_es_conn_pick(struct vg_es_conn *c, int64_t now, int64_t *wait_until)
{
    int64_t soonest = INT64_MAX;
    for (size_t k = 0; k < c->nhosts; k++) {
        size_t i = (c->next + k) % c->nhosts;
        struct vg_es_host *h = &c->hosts[i];
        if (h->down_until <= now) {
            c->next = (i + 1) % c->nhosts;
            return (int)i;
        }
        if (h->down_until < soonest)
            soonest = h->down_until;
    }
    if (wait_until)
        *wait_until = soonest;
    return -1;
}

static uint64_t rng_next(struct vg_es_conn *c)
{
    /* xorshift64*: jitter, not secrets */
    uint64_t x = c->rng ? c->rng : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

int64_t vg_es_backoff(struct vg_es_conn *c, unsigned attempt)
{
    int64_t cap = c->backoff_init_ms;
    for (unsigned i = 0; i < attempt && cap < c->backoff_max_ms; i++)
        cap = cap ? cap * 2 : 0;
    if (cap > c->backoff_max_ms)
        cap = c->backoff_max_ms;
    if (cap <= 0)
        return 0;
    return (int64_t)(rng_next(c) % (uint64_t)(cap + 1));
}

int64_t vg_es_conn_failed(struct vg_es_conn *c, int host, int64_t now)
{
    struct vg_es_host *h = &c->hosts[host];
    int64_t d = vg_es_backoff(c, h->fails);
    /* a host that failed is never tried again in the same instant */
    if (d < 50)
        d = 50;
    if (h->fails < 64)
        h->fails++;
    h->down_until = now + d;
    return d;
}

void vg_es_conn_ok(struct vg_es_conn *c, int host)
{
    c->hosts[host].fails = 0;
    c->hosts[host].down_until = 0;
}

void vg_es_transfer_error(const struct vg_es_host *h, CURLcode rc, const char *msg, char *out,
                          size_t n)
{
    const char *m = msg && *msg ? msg : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
    case CURLE_SSL_CACERT:
#endif
        snprintf(out, n, "TLS: certificate of %s not trusted: %s", h->name, m);
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(out, n, "TLS: handshake with %s failed: %s", h->name, m);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(out, n, "%s: no answer in time: %s", h->name, m);
        break;
    default:
        snprintf(out, n, "%s: %s", h->name, m);
    }
    /* curl's message may end with a newline */
    size_t l = strlen(out);
    while (l && (out[l - 1] == '\n' || out[l - 1] == ' '))
        out[--l] = '\0';
}

/* ---- synchronous requests (setup) -------------------------------------- */

size_t vg_es_sink_write(char *p, size_t size, size_t nmemb, void *u)
{
    struct vg_es_sink *s = u;
    size_t n = size * nmemb;
    if (vg_buf_append(s->b, p, n)) {
        s->over = true;
        return 0;
    }
    return n;
}

enum vg_err vg_es_conn_request(struct vg_es_conn *c, const char *method, const char *path,
                               const char *body, long *status, struct vg_buf *resp,
                               char *errbuf, size_t errlen)
{
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    char cerr[CURL_ERROR_SIZE];
    enum vg_err err = VG_ERR_IO;
    errbuf[0] = '\0';
    size_t start = c->next;
    for (size_t k = 0; k < c->nhosts; k++) {
        const struct vg_es_host *h = &c->hosts[(start + k) % c->nhosts];
        char url[4096];
        snprintf(url, sizeof(url), "%s%s%s", h->base, path[0] == '/' ? "" : "/", path);
        curl_easy_reset(e);
        cerr[0] = '\0';
        vg_buf_reset(resp);
        struct vg_es_sink s = { resp, false };
        if (vg_es_conn_prepare(c, e, cerr)) {
            snprintf(errbuf, errlen, "curl refused an option");
            err = VG_ERR_INVALID;
            break;
        }
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdr_json);
        if (body) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        } else if (strcmp(method, "GET") == 0) {
            curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        } else {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        }
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, vg_es_sink_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
        CURLcode rc = curl_easy_perform(e);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
            err = VG_OK;
            break;
        }
        if (s.over) {
            snprintf(errbuf, errlen, "%s: the answer to %s %s is larger than %u bytes", h->name,
                     method, path, VG_ES_MAX_SETUP_RESP);
            err = VG_ERR_LIMIT;
            break;
        }
        vg_es_transfer_error(h, rc, cerr, errbuf, errlen);
        vg_log(VG_LOG_WARN, "es", "%s", errbuf);
    }
    curl_easy_cleanup(e);
    return err;
}
