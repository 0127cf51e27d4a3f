/*
 * The AWS request engine on curl multi. See http.h for the contract.
 *
 * Every call is a node in the engine's list, READY (waiting for its due
 * time and a free slot) or RUNNING (a transfer in curl). One loop starts
 * what may start, lets curl work, reads what finished, and sleeps in
 * curl_multi_poll() until a socket moves or the next retry is due. A
 * finished transfer is a page (parsed, handed to the page callback, the
 * next page queued), an answer worth another attempt (queued after a
 * backoff), or the end of the call (the done callback).
 */
#include "http.h"

#include "../../agent/hash.h"
#include "../../agent/log.h"
#include "../../agent/metrics.h"
#include "../../agent/timeutil.h"
#include "sigv4.h"
#include "vg_version.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_IN_FLIGHT     32
#define DEFAULT_PER_SERVICE   4
#define DEFAULT_ATTEMPTS      5
#define DEFAULT_BASE_MS       100
#define DEFAULT_CAP_MS        20000
#define DEFAULT_TIMEOUT_MS    30000
#define DEFAULT_CONNECT_MS    10000
#define MAX_KEYS              4096   /* (service, region) pairs */
#define USER_AGENT            "vigil/" VG_VERSION

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

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void vg_aws_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int64_t vg_aws_backoff_ms(int retry, int64_t base_ms, int64_t cap_ms, uint64_t rnd)
{
    if (base_ms <= 0 || cap_ms <= 0)
        return 0;
    int64_t ceil = base_ms < cap_ms ? base_ms : cap_ms;
    for (int i = 0; i < retry && ceil < cap_ms; i++)
        ceil = ceil > cap_ms / 2 ? cap_ms : ceil * 2;
    return (int64_t)(rnd % ((uint64_t)ceil + 1));
}

/* ---- endpoints ----------------------------------------------------------- */

struct service_def {
    const char *name;      /* endpoint name */
    const char *prefix;    /* host prefix */
    const char *signing;   /* signing name */
};

static const struct service_def services[] = {
    { "iam", "iam", "iam" },
    { "sts", "sts", "sts" },
    { "ec2", "ec2", "ec2" },
    { "s3", "s3", "s3" },
    { "s3-control", "s3-control", "s3" },
    { "rds", "rds", "rds" },
    { "monitoring", "monitoring", "monitoring" },
    { "cloudtrail", "cloudtrail", "cloudtrail" },
    { "config", "config", "config" },
    { "kms", "kms", "kms" },
    { "logs", "logs", "logs" },
    { "guardduty", "guardduty", "guardduty" },
    { "securityhub", "securityhub", "securityhub" },
    { "access-analyzer", "access-analyzer", "access-analyzer" },
};

static bool name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
            return false;
    return true;
}

static bool bucket_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 1 || n > 255)
        return false;
    for (; *b; b++)
        if (!isalnum((unsigned char)*b) && !strchr(".-_", *b))
            return false;
    return true;
}

enum vg_err vg_aws_endpoint_resolve(const char *service, const char *region,
                                    const char *endpoint_url, const char *bucket,
                                    const char *host_prefix, struct vg_aws_endpoint *out,
                                    char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!service || !name_ok(service, 30)) {
        set_err(errbuf, errlen, "service name \"%.40s\" is not valid", service ? service : "");
        return VG_ERR_INVALID;
    }
    if (!region || !name_ok(region, 30)) {
        set_err(errbuf, errlen, "region \"%.40s\" is not valid", region ? region : "");
        return VG_ERR_INVALID;
    }
    if (bucket && !bucket_ok(bucket)) {
        set_err(errbuf, errlen, "bucket name \"%.64s\" is not valid", bucket);
        return VG_ERR_INVALID;
    }
    const struct service_def *sd = NULL;
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
        if (strcmp(services[i].name, service) == 0)
            sd = &services[i];
    const char *prefix = sd ? sd->prefix : service;
    snprintf(out->signing_name, sizeof(out->signing_name), "%s", sd ? sd->signing : service);
    snprintf(out->signing_region, sizeof(out->signing_region), "%s", region);

    if (endpoint_url && *endpoint_url) {
        const char *p = endpoint_url;
        size_t scheme;
        if (strncasecmp(p, "http://", 7) == 0)
            scheme = 7;
        else if (strncasecmp(p, "https://", 8) == 0)
            scheme = 8;
        else {
            set_err(errbuf, errlen, "endpoint_url %.200s is not an http or https URL", p);
            return VG_ERR_INVALID;
        }
        size_t auth = strcspn(p + scheme, "/?#");
        if (auth == 0 || auth >= sizeof(out->host) || p[scheme + auth] == '?' ||
            p[scheme + auth] == '#' || memchr(p + scheme, '@', auth)) {
            set_err(errbuf, errlen, "endpoint_url %.200s has no usable host", p);
            return VG_ERR_INVALID;
        }
        memcpy(out->host, p + scheme, auth);
        out->host[auth] = '\0';
        if ((size_t)snprintf(out->base, sizeof(out->base), "%.*s", (int)(scheme + auth), p) >=
            sizeof(out->base)) {
            set_err(errbuf, errlen, "endpoint_url is too long");
            return VG_ERR_INVALID;
        }
        /* a path in the URL goes before every request path */
        const char *bp = p + scheme + auth;
        size_t bpl = strlen(bp);
        while (bpl && bp[bpl - 1] == '/')
            bpl--;
        if (bpl + (bucket ? strlen(bucket) + 1 : 0) >= sizeof(out->path_prefix)) {
            set_err(errbuf, errlen, "endpoint_url path is too long");
            return VG_ERR_INVALID;
        }
        snprintf(out->path_prefix, sizeof(out->path_prefix), "%.*s%s%s", (int)bpl, bp,
                 bucket ? "/" : "", bucket ? bucket : "");
        if (strcmp(service, "iam") == 0 && strncmp(region, "cn-", 3) != 0 &&
            strncmp(region, "us-gov-", 7) != 0)
            snprintf(out->signing_region, sizeof(out->signing_region), "us-east-1");
        return VG_OK;
    }

    const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    int n;
    if (strcmp(service, "iam") == 0) {
        if (strncmp(region, "cn-", 3) == 0) {
            n = snprintf(out->host, sizeof(out->host), "iam.cn-north-1.amazonaws.com.cn");
            snprintf(out->signing_region, sizeof(out->signing_region), "cn-north-1");
        } else if (strncmp(region, "us-gov-", 7) == 0) {
            n = snprintf(out->host, sizeof(out->host), "iam.us-gov.amazonaws.com");
            snprintf(out->signing_region, sizeof(out->signing_region), "us-gov-west-1");
        } else {
            n = snprintf(out->host, sizeof(out->host), "iam.amazonaws.com");
            snprintf(out->signing_region, sizeof(out->signing_region), "us-east-1");
        }
    } else if (strcmp(service, "s3") == 0 && bucket && !strchr(bucket, '.')) {
        n = snprintf(out->host, sizeof(out->host), "%s.s3.%s.%s", bucket, region, suffix);
    } else if (strcmp(service, "s3-control") == 0 && host_prefix && *host_prefix) {
        for (const char *c = host_prefix; *c; c++) {
            if (!isdigit((unsigned char)*c) && *c != '.') {
                set_err(errbuf, errlen, "host prefix \"%.40s\" is not an account id", host_prefix);
                return VG_ERR_INVALID;
            }
        }
        n = snprintf(out->host, sizeof(out->host), "%ss3-control.%s.%s", host_prefix, region,
                     suffix);
    } else {
        n = snprintf(out->host, sizeof(out->host), "%s.%s.%s", prefix, region, suffix);
        if (strcmp(service, "s3") == 0 && bucket)
            snprintf(out->path_prefix, sizeof(out->path_prefix), "/%s", bucket);
    }
    if (n < 0 || (size_t)n >= sizeof(out->host)) {
        set_err(errbuf, errlen, "host name for %s in %s is too long", service, region);
        return VG_ERR_INVALID;
    }
    snprintf(out->base, sizeof(out->base), "https://%s", out->host);
    return VG_OK;
}

/* ---- the engine's state -------------------------------------------------- */

struct kv {
    char *name;
    char *value;
};

enum call_state { C_READY, C_RUNNING };

struct call {
    struct call *prev, *next;
    struct vg_aws_http *h;
    /* the spec, copied */
    enum vg_aws_protocol protocol;
    char *service, *region, *operation, *version, *target, *method, *path, *json_body;
    char *token_param;
    struct kv *params;
    size_t nparams;
    struct kv *headers;
    size_t nheaders;
    const struct vg_aws_xml_opts *xml;
    bool raw;
    struct vg_aws_creds_provider *creds;
    vg_aws_page_fn *on_page;
    vg_aws_done_fn *on_done;
    void *opaque;
    char opname[128];               /* "iam:ListUsers" */
    char *base, *host, *path_prefix;        /* from the endpoint */
    char signing_name[32], signing_region[32];
    bool s3;                        /* S3 signing rules */
    size_t key;                     /* index into h->keys */
    size_t svc;                     /* index into h->stats */
    /* progress */
    enum call_state state;
    int page;
    int attempt;                    /* attempts of the current page */
    bool expired_retried;
    int64_t due_ms;                 /* monotonic */
    char *token;                    /* the current page's token; NULL for the first */
    uint64_t *seen;                 /* hashes of the tokens seen */
    size_t nseen, capseen;
    /* the transfer */
    CURL *easy;
    struct curl_slist *hdrs;
    struct vg_buf req_body;
    struct vg_buf resp;
    char *url;                      /* of the current attempt */
    char errortype[128];
    char request_id[128];
    char bucket_region[32];
    char curl_err[CURL_ERROR_SIZE];
    bool too_big;
};

struct key_slot {
    char key[72];                   /* "service/region" */
    int in_flight;
};

struct svc_slot {
    struct vg_aws_http_stats st;
    int in_flight;
};

struct vg_aws_http {
    struct vg_aws_http_opts o;
    char *endpoint_url;
    char *ca_file;
    CURLM *multi;
    struct call *head, *tail;
    int in_flight;
    struct key_slot *keys;
    size_t nkeys, capkeys;
    struct svc_slot svcs[VG_AWS_MAX_SERVICES];
    size_t nsvcs;
    uint64_t rng;
    int running;                    /* inside vg_aws_http_run() */
    int in_callback;
    bool closing;                   /* aborting every call: no new ones */
    size_t ncalls;                  /* in the list */
};

static uint64_t next_rand(struct vg_aws_http *h)
{
    if (h->o.rand)
        return h->o.rand(h->o.rand_opaque);
    /* xorshift64* */
    uint64_t x = h->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    h->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static int64_t wall_ms(const struct vg_aws_http *h)
{
    return h->o.clock ? h->o.clock(h->o.clock_opaque) : vg_time_now_ms();
}

struct vg_aws_http *vg_aws_http_new(const struct vg_aws_http_opts *o, char *errbuf, size_t errlen)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        set_err(errbuf, errlen, "curl cannot start: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    struct vg_aws_http *h = calloc(1, sizeof(*h));
    if (!h) {
        set_err(errbuf, errlen, "out of memory");
        return NULL;
    }
    if (o)
        h->o = *o;
    if (h->o.max_in_flight <= 0)
        h->o.max_in_flight = DEFAULT_IN_FLIGHT;
    if (h->o.max_per_service <= 0)
        h->o.max_per_service = DEFAULT_PER_SERVICE;
    if (h->o.max_attempts <= 0)
        h->o.max_attempts = DEFAULT_ATTEMPTS;
    if (h->o.backoff_base_ms <= 0)
        h->o.backoff_base_ms = DEFAULT_BASE_MS;
    if (h->o.backoff_cap_ms <= 0)
        h->o.backoff_cap_ms = DEFAULT_CAP_MS;
    if (h->o.timeout_ms <= 0)
        h->o.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (h->o.connect_timeout_ms <= 0)
        h->o.connect_timeout_ms = DEFAULT_CONNECT_MS;
    h->endpoint_url = o && o->endpoint_url && *o->endpoint_url ? strdup(o->endpoint_url) : NULL;
    h->ca_file = o && o->ca_file && *o->ca_file ? strdup(o->ca_file) : NULL;
    h->o.endpoint_url = h->endpoint_url;
    h->o.ca_file = h->ca_file;
    if (RAND_bytes((unsigned char *)&h->rng, sizeof(h->rng)) != 1 || h->rng == 0)
        h->rng = (uint64_t)vg_time_now_ms() | 1;
    h->multi = curl_multi_init();
    if (!h->multi || (o && o->endpoint_url && *o->endpoint_url && !h->endpoint_url) ||
        (o && o->ca_file && *o->ca_file && !h->ca_file)) {
        set_err(errbuf, errlen, "out of memory setting up curl");
        vg_aws_http_destroy(h);
        return NULL;
    }
    if (h->endpoint_url) {
        struct vg_aws_endpoint ep;
        char eerr[256];
        if (vg_aws_endpoint_resolve("sts", "us-east-1", h->endpoint_url, NULL, NULL, &ep, eerr,
                                    sizeof(eerr))) {
            set_err(errbuf, errlen, "%s", eerr);
            vg_aws_http_destroy(h);
            return NULL;
        }
    }
    curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)h->o.max_in_flight);
    return h;
}

/* ---- calls ---------------------------------------------------------------- */

static void kv_free(struct kv *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].name);
        free(a[i].value);
    }
    free(a);
}

static void transfer_clear(struct call *c)
{
    if (c->easy) {
        curl_multi_remove_handle(c->h->multi, c->easy);
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
    }
    if (c->hdrs) {
        /* the list holds the Authorization and token headers */
        for (struct curl_slist *s = c->hdrs; s; s = s->next)
            OPENSSL_cleanse(s->data, strlen(s->data));
        curl_slist_free_all(c->hdrs);
        c->hdrs = NULL;
    }
    vg_buf_free(&c->req_body);
    vg_buf_free(&c->resp);
}

static void call_free(struct call *c)
{
    if (!c)
        return;
    transfer_clear(c);
    free(c->service);
    free(c->region);
    free(c->operation);
    free(c->version);
    free(c->target);
    free(c->method);
    free(c->path);
    free(c->json_body);
    free(c->token_param);
    kv_free(c->params, c->nparams);
    kv_free(c->headers, c->nheaders);
    free(c->token);
    free(c->seen);
    free(c->base);
    free(c->host);
    free(c->path_prefix);
    free(c->url);
    free(c);
}

static void list_remove(struct vg_aws_http *h, struct call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        h->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        h->tail = c->prev;
    c->prev = c->next = NULL;
}

static void list_append(struct vg_aws_http *h, struct call *c)
{
    c->prev = h->tail;
    c->next = NULL;
    if (h->tail)
        h->tail->next = c;
    else
        h->head = c;
    h->tail = c;
}

/* Ends a call: out of the list, the done callback, freed. */
static void finish(struct call *c, const struct vg_aws_error *e)
{
    struct vg_aws_http *h = c->h;
    if (c->state == C_RUNNING) {
        h->in_flight--;
        h->keys[c->key].in_flight--;
        h->svcs[c->svc].in_flight--;
        c->state = C_READY;
    }
    transfer_clear(c);
    list_remove(h, c);
    h->ncalls--;
    if (e) {
        h->svcs[c->svc].st.errors++;
        vg_metrics_api_count(c->service, 0, 1);
        vg_log(VG_LOG_DEBUG, "aws", "%s in %s failed: %s", c->opname, c->region, e->text);
    }
    if (c->on_done) {
        h->in_callback++;
        c->on_done(e, c->opaque);
        h->in_callback--;
    }
    call_free(c);
}

static void fail(struct call *c, struct vg_aws_error *e, const char *detail)
{
    if (!e->request_id[0])
        snprintf(e->request_id, sizeof(e->request_id), "%s", c->request_id);
    if (!e->bucket_region[0])
        snprintf(e->bucket_region, sizeof(e->bucket_region), "%s", c->bucket_region);
    vg_aws_error_finish(e, c->opname, c->url ? c->url : c->base, c->attempt, detail);
    finish(c, e);
}

static void fail_kind(struct call *c, enum vg_aws_errkind kind, enum vg_err err,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail_kind(struct call *c, enum vg_aws_errkind kind, enum vg_err err,
                      const char *fmt, ...)
{
    struct vg_aws_error e;
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    char detail[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    vg_aws_error_finish(&e, c->opname, c->url ? c->url : c->base, c->attempt, detail);
    if (err)
        e.err = err;
    snprintf(e.request_id, sizeof(e.request_id), "%s", c->request_id);
    finish(c, &e);
}

static char *sdup(const char *s, bool *ok)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

static struct kv *kv_copy(const struct vg_aws_param *src, size_t n, bool *ok)
{
    if (!n)
        return NULL;
    struct kv *a = calloc(n, sizeof(*a));
    if (!a) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        a[i].name = sdup(src[i].name, ok);
        a[i].value = sdup(src[i].value, ok);
    }
    return a;
}

static size_t key_slot(struct vg_aws_http *h, const char *service, const char *region, bool *ok)
{
    char key[72];
    snprintf(key, sizeof(key), "%s/%s", service, region);
    for (size_t i = 0; i < h->nkeys; i++)
        if (strcmp(h->keys[i].key, key) == 0)
            return i;
    if (h->nkeys == MAX_KEYS) {
        *ok = false;
        return 0;
    }
    if (h->nkeys == h->capkeys) {
        size_t ncap = h->capkeys ? h->capkeys * 2 : 16;
        struct key_slot *k = realloc(h->keys, ncap * sizeof(*k));
        if (!k) {
            *ok = false;
            return 0;
        }
        h->keys = k;
        h->capkeys = ncap;
    }
    snprintf(h->keys[h->nkeys].key, sizeof(h->keys[h->nkeys].key), "%s", key);
    h->keys[h->nkeys].in_flight = 0;
    return h->nkeys++;
}

static size_t svc_slot(struct vg_aws_http *h, const char *service, bool *ok)
{
    for (size_t i = 0; i < h->nsvcs; i++)
        if (strcmp(h->svcs[i].st.service, service) == 0)
            return i;
    if (h->nsvcs == VG_AWS_MAX_SERVICES) {
        *ok = false;
        return 0;
    }
    memset(&h->svcs[h->nsvcs], 0, sizeof(h->svcs[0]));
    snprintf(h->svcs[h->nsvcs].st.service, sizeof(h->svcs[0].st.service), "%s", service);
    return h->nsvcs++;
}

enum vg_err vg_aws_http_call(struct vg_aws_http *h, const struct vg_aws_call_spec *s,
                             struct vg_aws_creds_provider *creds, vg_aws_page_fn *on_page,
                             vg_aws_done_fn *on_done, void *opaque)
{
    if (!h || !s || !creds || !s->operation || !*s->operation || h->closing)
        return VG_ERR_INVALID;
    if (h->ncalls >= VG_AWS_MAX_QUEUED)
        return VG_ERR_LIMIT;
    switch (s->protocol) {
    case VG_AWS_QUERY:
    case VG_AWS_EC2:
        if (!s->version || !*s->version)
            return VG_ERR_INVALID;
        break;
    case VG_AWS_JSON:
        if (!s->target || !*s->target)
            return VG_ERR_INVALID;
        break;
    case VG_AWS_REST_XML:
    case VG_AWS_REST_JSON:
        if (s->path && s->path[0] != '/')
            return VG_ERR_INVALID;
        for (const char *q = s->path; q && *q; q++)
            if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f || *q == '?' || *q == '#')
                return VG_ERR_INVALID;
        break;
    default:
        return VG_ERR_INVALID;
    }
    if (s->nparams > 1000 || s->nheaders > VG_AWS_MAX_HEADERS - 12)
        return VG_ERR_INVALID;
    for (size_t i = 0; i < s->nparams; i++)
        if (!s->params[i].name || !*s->params[i].name)
            return VG_ERR_INVALID;
    static const char *const own[] = { "host", "authorization", "x-amz-date",
                                       "x-amz-security-token", "x-amz-content-sha256",
                                       "x-amz-target", "content-type", "content-length", NULL };
    for (size_t i = 0; i < s->nheaders; i++) {
        const struct vg_aws_param *hp = &s->headers[i];
        if (!hp->name || !*hp->name || !hp->value || strpbrk(hp->name, ": \r\n") ||
            strpbrk(hp->value, "\r\n"))
            return VG_ERR_INVALID;
        for (size_t k = 0; own[k]; k++)
            if (strcasecmp(hp->name, own[k]) == 0)
                return VG_ERR_INVALID;      /* the engine sets these itself */
    }
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return VG_ERR_NOMEM;
    c->h = h;
    char eerr[256];
    struct vg_aws_endpoint ep;
    if (vg_aws_endpoint_resolve(s->service, s->region, h->endpoint_url, s->bucket,
                                s->host_prefix, &ep, eerr, sizeof(eerr))) {
        vg_log(VG_LOG_WARN, "aws", "%s: %s", s->operation, eerr);
        free(c);
        return VG_ERR_INVALID;
    }
    bool ok = true;
    c->base = sdup(ep.base, &ok);
    c->host = sdup(ep.host, &ok);
    c->path_prefix = sdup(ep.path_prefix, &ok);
    memcpy(c->signing_name, ep.signing_name, sizeof(c->signing_name));
    memcpy(c->signing_region, ep.signing_region, sizeof(c->signing_region));
    c->protocol = s->protocol;
    c->service = sdup(s->service, &ok);
    c->region = sdup(s->region, &ok);
    c->operation = sdup(s->operation, &ok);
    c->version = sdup(s->version, &ok);
    c->target = sdup(s->target, &ok);
    c->method = sdup(s->method ? s->method : (s->protocol == VG_AWS_REST_XML ||
                                              s->protocol == VG_AWS_REST_JSON ? "GET" : "POST"),
                     &ok);
    c->path = sdup(s->path ? s->path : "/", &ok);
    c->json_body = sdup(s->json_body, &ok);
    c->token_param = sdup(s->token_param, &ok);
    c->params = kv_copy(s->params, s->nparams, &ok);
    c->nparams = c->params ? s->nparams : 0;
    c->headers = kv_copy(s->headers, s->nheaders, &ok);
    c->nheaders = c->headers ? s->nheaders : 0;
    c->xml = s->xml;
    c->raw = s->raw;
    c->creds = creds;
    c->on_page = on_page;
    c->on_done = on_done;
    c->opaque = opaque;
    c->s3 = strcmp(c->signing_name, "s3") == 0;
    snprintf(c->opname, sizeof(c->opname), "%s:%s", s->service, s->operation);
    c->key = key_slot(h, s->service, s->region, &ok);
    c->svc = svc_slot(h, s->service, &ok);
    c->state = C_READY;
    c->due_ms = vg_time_mono_ms();
    vg_buf_init(&c->req_body, VG_AWS_MAX_REQUEST_BODY);
    vg_buf_init(&c->resp, VG_AWS_MAX_BODY);
    if (!ok) {
        call_free(c);
        return VG_ERR_NOMEM;
    }
    list_append(h, c);
    h->ncalls++;
    return VG_OK;
}

/* ---- building and sending one attempt ------------------------------------- */

static enum vg_err form_add(struct vg_buf *b, const char *name, const char *value)
{
    enum vg_err err = b->len ? vg_buf_appendc(b, '&') : VG_OK;
    if (!err)
        err = vg_sigv4_uri_encode(b, name, strlen(name), false);
    if (!err && value) {
        err = vg_buf_appendc(b, '=');
        if (!err)
            err = vg_sigv4_uri_encode(b, value, strlen(value), false);
    }
    return err;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n;
    if (vg_buf_append(&c->resp, ptr, len)) {
        c->too_big = true;
        return 0;
    }
    return len;
}

/* Copies the value of header line (name: value\r\n) into dst if its
 * name is name. */
static void header_value(const char *line, size_t len, const char *name, char *dst, size_t n)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    size_t vl = len - nl - 1;
    while (vl && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    if (vl >= n)
        vl = n - 1;
    size_t j = 0;
    for (size_t i = 0; i < vl; i++)
        dst[j++] = (unsigned char)v[i] < 0x20 ? ' ' : v[i];
    dst[j] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n;
    header_value(line, len, "x-amzn-errortype", c->errortype, sizeof(c->errortype));
    header_value(line, len, "x-amzn-requestid", c->request_id, sizeof(c->request_id));
    header_value(line, len, "x-amz-request-id", c->request_id, sizeof(c->request_id));
    header_value(line, len, "x-amz-bucket-region", c->bucket_region, sizeof(c->bucket_region));
    return len;
}

static enum vg_err add_header(struct curl_slist **l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum vg_err add_header(struct curl_slist **l, const char *fmt, ...)
{
    char tmp[2];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n > VG_AWS_MAX_SESSION_TOKEN + 4096)
        return VG_ERR_LIMIT;
    char *line = malloc((size_t)n + 1);
    if (!line)
        return VG_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    va_end(ap);
    struct curl_slist *nl = curl_slist_append(*l, line);
    OPENSSL_cleanse(line, (size_t)n);
    free(line);
    if (!nl)
        return VG_ERR_NOMEM;
    *l = nl;
    return VG_OK;
}

/* The request of the current attempt: query string, body, content type. */
static enum vg_err build(struct call *c, struct vg_buf *query, const char **ctype,
                         char *target, size_t tlen)
{
    enum vg_err err = VG_OK;
    *ctype = NULL;
    target[0] = '\0';
    switch (c->protocol) {
    case VG_AWS_QUERY:
    case VG_AWS_EC2:
        *ctype = "application/x-www-form-urlencoded; charset=utf-8";
        err = form_add(&c->req_body, "Action", c->operation);
        if (!err)
            err = form_add(&c->req_body, "Version", c->version);
        for (size_t i = 0; i < c->nparams && !err; i++)
            err = form_add(&c->req_body, c->params[i].name,
                           c->params[i].value ? c->params[i].value : "");
        if (!err && c->token)
            err = form_add(&c->req_body, c->token_param, c->token);
        break;
    case VG_AWS_JSON: {
        *ctype = "application/x-amz-json-1.1";
        snprintf(target, tlen, "%s.%s", c->target, c->operation);
        if (!c->token) {
            err = vg_buf_appends(&c->req_body, c->json_body ? c->json_body : "{}");
            break;
        }
        char jerr[128];
        const char *text = c->json_body ? c->json_body : "{}";
        struct vg_json *doc = vg_json_parse(text, strlen(text), jerr, sizeof(jerr));
        if (vg_json_type(doc) != VG_JSON_OBJECT)
            err = VG_ERR_INVALID;
        if (!err)
            err = vg_json_set_str(doc, c->token_param, c->token);
        if (!err)
            err = vg_json_dump(doc, &c->req_body);
        vg_json_free(doc);
        break;
    }
    case VG_AWS_REST_JSON:
    case VG_AWS_REST_XML:
        if (c->json_body) {
            *ctype = c->protocol == VG_AWS_REST_JSON ? "application/json" : "application/xml";
            err = vg_buf_appends(&c->req_body, c->json_body);
        }
        for (size_t i = 0; i < c->nparams && !err; i++)
            err = form_add(query, c->params[i].name, c->params[i].value);
        if (!err && c->token)
            err = form_add(query, c->token_param, c->token);
        break;
    }
    return err;
}

/* Starts the current attempt of c. On failure c is finished. */
static void start(struct call *c)
{
    struct vg_aws_http *h = c->h;
    const struct vg_aws_creds *cr = NULL;
    char cerr[600];
    c->attempt++;
    c->too_big = false;
    c->errortype[0] = c->request_id[0] = c->bucket_region[0] = c->curl_err[0] = '\0';
    enum vg_err err = vg_aws_creds_get(c->creds, &cr, cerr, sizeof(cerr));
    if (err) {
        fail_kind(c, VG_AWS_ERR_CREDS, err, "no credentials: %s", cerr);
        return;
    }

    struct vg_buf query, path;
    vg_buf_init(&query, VG_AWS_MAX_URL);
    vg_buf_init(&path, VG_AWS_MAX_URL);
    vg_buf_reset(&c->req_body);
    vg_buf_reset(&c->resp);
    const char *ctype = NULL;
    char target[256];
    err = build(c, &query, &ctype, target, sizeof(target));
    /* the wire path: the endpoint's prefix (path-style bucket) and the call's */
    if (!err) {
        err = vg_buf_appends(&path, c->path_prefix);
        if (!err && !(c->path_prefix[0] && strcmp(c->path, "/") == 0))
            err = vg_buf_appends(&path, c->path);
    }
    free(c->url);
    c->url = NULL;
    if (!err) {
        struct vg_buf url;
        vg_buf_init(&url, VG_AWS_MAX_URL);
        err = vg_buf_printf(&url, "%s%s%s%s", c->base, vg_buf_str(&path), query.len ? "?" : "",
                            vg_buf_str(&query));
        if (!err && !(c->url = vg_buf_detach(&url)))
            err = VG_ERR_NOMEM;
        vg_buf_free(&url);
    }
    if (err) {
        vg_buf_free(&query);
        vg_buf_free(&path);
        fail_kind(c, err == VG_ERR_NOMEM ? VG_AWS_ERR_INTERNAL : VG_AWS_ERR_LIMIT, err,
                  "the request cannot be built (%s)", vg_strerror(err));
        return;
    }

    /* sign */
    struct vg_sigv4_header sh[VG_AWS_MAX_HEADERS];
    size_t nsh = 0;
    sh[nsh++] = (struct vg_sigv4_header){ "Host", c->host };
    if (ctype)
        sh[nsh++] = (struct vg_sigv4_header){ "Content-Type", ctype };
    if (target[0])
        sh[nsh++] = (struct vg_sigv4_header){ "X-Amz-Target", target };
    for (size_t i = 0; i < c->nheaders; i++)
        sh[nsh++] = (struct vg_sigv4_header){ c->headers[i].name, c->headers[i].value };
    struct vg_sigv4_request rq = { c->method, vg_buf_str(&path), vg_buf_str(&query), sh, nsh,
                                   c->req_body.data, c->req_body.len };
    struct vg_sigv4_params sp = {
        .access_key_id = cr->access_key_id, .secret_access_key = cr->secret_access_key,
        .session_token = cr->session_token, .region = c->signing_region,
        .service = c->signing_name, .time_ms = wall_ms(h), .s3 = c->s3,
        .normalize_path = !c->s3, .sign_body = c->s3,
    };
    struct vg_sigv4_result sr;
    char serr[256];
    err = vg_sigv4_sign(&rq, &sp, &sr, serr, sizeof(serr));
    vg_buf_free(&query);
    vg_buf_free(&path);
    if (err) {
        vg_sigv4_result_free(&sr);
        fail_kind(c, VG_AWS_ERR_INTERNAL, err, "%s", serr);
        return;
    }
    for (size_t i = 0; i < nsh && !err; i++)
        err = add_header(&c->hdrs, "%s: %s", sh[i].name, sh[i].value);
    if (!err)
        err = add_header(&c->hdrs, "X-Amz-Date: %s", sr.amz_date);
    if (!err && cr->session_token[0])
        err = add_header(&c->hdrs, "X-Amz-Security-Token: %s", cr->session_token);
    if (!err && c->s3)
        err = add_header(&c->hdrs, "x-amz-content-sha256: %s", sr.payload_hash);
    if (!err)
        err = add_header(&c->hdrs, "Authorization: %s", vg_buf_str(&sr.authorization));
    if (!err)
        err = add_header(&c->hdrs, "Expect:");
    /* curl would add a form Content-Type to a body-less PUT or POST */
    if (!err && !ctype && strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0)
        err = add_header(&c->hdrs, "Content-Type:");
    vg_sigv4_result_free(&sr);

    CURL *e = err ? NULL : curl_easy_init();
    if (!e) {
        fail_kind(c, VG_AWS_ERR_INTERNAL, VG_ERR_NOMEM, "out of memory setting up the request");
        return;
    }
    c->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->o.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (h->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    if (strcmp(c->method, "GET") == 0 && !c->req_body.len) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(c->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->req_body.data ? c->req_body.data : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)c->req_body.len);
        if (strcmp(c->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    }
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        fail_kind(c, VG_AWS_ERR_INTERNAL, VG_ERR_NOMEM, "curl refused the transfer");
        return;
    }
    c->state = C_RUNNING;
    h->in_flight++;
    h->keys[c->key].in_flight++;
    struct svc_slot *sv = &h->svcs[c->svc];
    sv->in_flight++;
    if (sv->in_flight > sv->st.max_in_flight)
        sv->st.max_in_flight = sv->in_flight;
    sv->st.requests++;
    vg_metrics_api_count(c->service, 1, 0);
    if (c->attempt > 1)
        sv->st.retries++;
}

/* ---- finished transfers --------------------------------------------------- */

static void stop_running(struct call *c)
{
    struct vg_aws_http *h = c->h;
    if (c->state != C_RUNNING)
        return;
    curl_multi_remove_handle(h->multi, c->easy);
    curl_easy_cleanup(c->easy);
    c->easy = NULL;
    if (c->hdrs) {
        for (struct curl_slist *s = c->hdrs; s; s = s->next)
            OPENSSL_cleanse(s->data, strlen(s->data));
        curl_slist_free_all(c->hdrs);
        c->hdrs = NULL;
    }
    h->in_flight--;
    h->keys[c->key].in_flight--;
    h->svcs[c->svc].in_flight--;
    c->state = C_READY;
}

/* Another attempt after a backoff, or the end. */
static void retry_or_fail(struct call *c, struct vg_aws_error *e, const char *detail)
{
    struct vg_aws_http *h = c->h;
    if (e->kind == VG_AWS_ERR_THROTTLED)
        h->svcs[c->svc].st.throttled++;
    if (vg_aws_retriable(e->kind, e->code, e->status) && c->attempt < h->o.max_attempts) {
        int64_t d = vg_aws_backoff_ms(c->attempt - 1, h->o.backoff_base_ms, h->o.backoff_cap_ms,
                                      next_rand(h));
        vg_log(VG_LOG_DEBUG, "aws", "%s in %s: attempt %d: %s%s%s; again in %lld ms", c->opname,
               c->region, c->attempt, e->code[0] ? e->code : vg_aws_errkind_name(e->kind),
               detail ? ": " : "", detail ? detail : "", (long long)d);
        c->due_ms = vg_time_mono_ms() + d;
        return;
    }
    fail(c, e, detail);
}

static bool token_seen(struct call *c, const char *token, bool *nomem)
{
    uint8_t d[VG_SHA256_LEN];
    vg_sha256(token, strlen(token), d);
    uint64_t hv;
    memcpy(&hv, d, sizeof(hv));
    for (size_t i = 0; i < c->nseen; i++)
        if (c->seen[i] == hv)
            return true;
    if (c->nseen == c->capseen) {
        size_t ncap = c->capseen ? c->capseen * 2 : 8;
        uint64_t *s = realloc(c->seen, ncap * sizeof(*s));
        if (!s) {
            *nomem = true;
            return false;
        }
        c->seen = s;
        c->capseen = ncap;
    }
    c->seen[c->nseen++] = hv;
    return false;
}

static bool xml_protocol(enum vg_aws_protocol p)
{
    return p == VG_AWS_QUERY || p == VG_AWS_EC2 || p == VG_AWS_REST_XML;
}

static void on_success(struct call *c, long status)
{
    struct vg_aws_http *h = c->h;
    struct vg_json *json = NULL;
    char root[VG_AWS_XML_MAX_NAME] = "";
    char perr[300];
    if (!c->raw && c->resp.len) {
        if (xml_protocol(c->protocol)) {
            struct vg_aws_xml_opts xo = { 0 };
            if (c->xml)
                xo = *c->xml;
            char unwrap[160];
            if (c->protocol == VG_AWS_QUERY && !xo.unwrap) {
                snprintf(unwrap, sizeof(unwrap), "%sResult", c->operation);
                xo.unwrap = unwrap;
            }
            json = vg_aws_xml_parse(c->resp.data, c->resp.len, &xo, root, sizeof(root), perr,
                                    sizeof(perr));
        } else {
            json = vg_json_parse(c->resp.data, c->resp.len, perr, sizeof(perr));
        }
        if (!json) {
            struct vg_aws_error e;
            memset(&e, 0, sizeof(e));
            e.kind = VG_AWS_ERR_PARSE;
            e.status = status;
            fail(c, &e, perr);
            return;
        }
    }
    struct vg_aws_page pg = {
        .operation = c->opname, .service = c->service, .region = c->region, .index = c->page,
        .status = status, .json = json, .root = root, .body = vg_buf_str(&c->resp),
        .body_len = c->resp.len,
    };
    h->svcs[c->svc].st.pages++;
    enum vg_err err = VG_OK;
    if (c->on_page) {
        h->in_callback++;
        err = c->on_page(&pg, c->opaque);
        h->in_callback--;
    }
    vg_json_free(pg.json);
    if (err) {
        free(pg.next_token_);
        fail_kind(c, VG_AWS_ERR_CALLBACK, err, "the page callback stopped: %s",
                  vg_strerror(err));
        return;
    }
    if (!pg.next_token_) {
        finish(c, NULL);
        return;
    }
    if (!c->token_param) {
        free(pg.next_token_);
        fail_kind(c, VG_AWS_ERR_CALLBACK, VG_ERR_INVALID,
                  "a next page was asked for, but the call has no token_param");
        return;
    }
    bool nomem = false;
    if (token_seen(c, pg.next_token_, &nomem)) {
        char shown[48];
        snprintf(shown, sizeof(shown), "%.40s%s", pg.next_token_,
                 strlen(pg.next_token_) > 40 ? "..." : "");
        free(pg.next_token_);
        fail_kind(c, VG_AWS_ERR_LOOP, VG_ERR_LIMIT,
                  "the pagination token \"%s\" came back a second time (page %d); stopped",
                  shown, c->page + 1);
        return;
    }
    if (nomem || c->page + 1 >= VG_AWS_MAX_PAGES) {
        free(pg.next_token_);
        fail_kind(c, nomem ? VG_AWS_ERR_INTERNAL : VG_AWS_ERR_LIMIT,
                  nomem ? VG_ERR_NOMEM : VG_ERR_LIMIT, "more than %d pages",
                  VG_AWS_MAX_PAGES);
        return;
    }
    free(c->token);
    c->token = pg.next_token_;
    c->page++;
    c->attempt = 0;
    c->expired_retried = false;
    c->due_ms = vg_time_mono_ms();
}

static void on_error_answer(struct call *c, long status)
{
    struct vg_aws_error e;
    memset(&e, 0, sizeof(e));
    e.status = status;
    const char *body = c->resp.data;
    size_t len = c->resp.len;
    enum vg_err perr = VG_ERR_PARSE;
    if (xml_protocol(c->protocol)) {
        perr = vg_aws_xml_error(body, len, &e);
        if (perr)
            perr = vg_aws_json_error(body, len, c->errortype[0] ? c->errortype : NULL, &e);
    } else {
        perr = vg_aws_json_error(body, len, c->errortype[0] ? c->errortype : NULL, &e);
        if (perr)
            perr = vg_aws_xml_error(body, len, &e);
    }
    (void)perr;
    if (!e.request_id[0])
        snprintf(e.request_id, sizeof(e.request_id), "%s", c->request_id);
    snprintf(e.bucket_region, sizeof(e.bucket_region), "%s", c->bucket_region);
    e.kind = vg_aws_classify(e.code, status);
    if (e.kind == VG_AWS_ERR_EXPIRED && !c->expired_retried &&
        vg_aws_creds_refreshable(c->creds)) {
        /* new credentials and one more try, not counted as an attempt */
        c->expired_retried = true;
        vg_aws_creds_invalidate(c->creds);
        c->attempt--;
        c->due_ms = vg_time_mono_ms();
        vg_log(VG_LOG_INFO, "aws", "%s: %s; fetching new credentials", c->opname, e.code);
        return;
    }
    retry_or_fail(c, &e, NULL);
}

static void done_transfer(struct call *c, CURLcode rc)
{
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    stop_running(c);
    if (rc != CURLE_OK) {
        struct vg_aws_error e;
        memset(&e, 0, sizeof(e));
        char detail[CURL_ERROR_SIZE + 64];
        snprintf(detail, sizeof(detail), "%s", c->curl_err[0] ? c->curl_err
                                                               : curl_easy_strerror(rc));
        if (c->too_big) {
            e.kind = VG_AWS_ERR_LIMIT;
            snprintf(detail, sizeof(detail), "the answer is larger than %u bytes",
                     (unsigned)VG_AWS_MAX_BODY);
            fail(c, &e, detail);
            return;
        }
        e.kind = rc == CURLE_OPERATION_TIMEDOUT ? VG_AWS_ERR_TIMEOUT : VG_AWS_ERR_NETWORK;
        retry_or_fail(c, &e, detail);
        return;
    }
    if (status >= 200 && status < 300)
        on_success(c, status);
    else
        on_error_answer(c, status);
}

static void read_done(struct vg_aws_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct call *c = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        if (c)
            done_transfer(c, m->data.result);
    }
}

static bool has_slot(const struct vg_aws_http *h, const struct call *c)
{
    return h->in_flight < h->o.max_in_flight && h->keys[c->key].in_flight < h->o.max_per_service;
}

/* Starts every READY call that is due and has a slot. */
static void start_due(struct vg_aws_http *h)
{
    int64_t now = vg_time_mono_ms();
    struct call *c = h->head;
    /* once every global slot is taken nothing more can start: stop there
     * rather than walk thousands of queued calls on every turn */
    while (c && h->in_flight < h->o.max_in_flight) {
        struct call *next = c->next;
        if (c->state == C_READY && c->due_ms <= now && has_slot(h, c))
            start(c);           /* may finish (and free) c */
        c = next;
    }
}

/* Ms until a READY call with a slot is due: 0 when one is due now, -1 when
 * none waits on time (the rest wait for a slot). */
static int64_t next_due(const struct vg_aws_http *h)
{
    int64_t now = vg_time_mono_ms(), wait = -1;
    if (h->in_flight >= h->o.max_in_flight)
        return -1;   /* only a finished transfer frees a slot: wait for sockets */
    for (const struct call *c = h->head; c; c = c->next) {
        if (c->state != C_READY || !has_slot(h, c))
            continue;
        int64_t w = c->due_ms > now ? c->due_ms - now : 0;
        if (wait < 0 || w < wait)
            wait = w;
    }
    return wait;
}

static void abort_all(struct vg_aws_http *h, const char *why)
{
    /* done callbacks may not queue more while we empty the list */
    h->closing = true;
    while (h->head) {
        struct call *c = h->head;
        stop_running(c);
        struct vg_aws_error e;
        memset(&e, 0, sizeof(e));
        e.kind = strstr(why, "deadline") ? VG_AWS_ERR_TIMEOUT : VG_AWS_ERR_INTERNAL;
        fail(c, &e, why);
    }
    h->closing = false;
}

enum vg_err vg_aws_http_run(struct vg_aws_http *h, int64_t deadline_ms, char *errbuf,
                            size_t errlen)
{
    if (!h || h->in_callback || h->running) {
        set_err(errbuf, errlen, "the AWS engine cannot run from inside one of its callbacks");
        return VG_ERR_INVALID;
    }
    h->running = 1;
    int64_t end = deadline_ms > 0 ? vg_time_mono_ms() + deadline_ms : 0;
    enum vg_err res = VG_OK;
    while (h->head) {
        if (end && vg_time_mono_ms() >= end) {
            abort_all(h, "the deadline of the run passed");
            set_err(errbuf, errlen, "the AWS calls did not finish within %lld ms",
                    (long long)deadline_ms);
            res = VG_ERR_IO;
            break;
        }
        start_due(h);
        int still = 0;
        curl_multi_perform(h->multi, &still);
        read_done(h);
        if (!h->head)
            break;
        int64_t wait = next_due(h);
        if (wait == 0)
            continue;
        /* sleep until a socket moves, curl's own timer, or the next retry */
        int64_t t = wait > 0 ? wait : 1000;
        if (t > 1000)
            t = 1000;
        if (end && end - vg_time_mono_ms() < t)
            t = end - vg_time_mono_ms();
        if (t > 0)
            curl_multi_poll(h->multi, NULL, 0, (int)t, NULL);
    }
    h->running = 0;
    return res;
}

void vg_aws_http_destroy(struct vg_aws_http *h)
{
    if (!h)
        return;
    abort_all(h, "the AWS engine was shut down");
    if (h->multi)
        curl_multi_cleanup(h->multi);
    free(h->keys);
    free(h->endpoint_url);
    free(h->ca_file);
    free(h);
}

enum vg_err vg_aws_page_next(struct vg_aws_page *pg, const char *token)
{
    free(pg->next_token_);
    pg->next_token_ = NULL;
    if (!token || !*token)
        return VG_OK;
    if (strlen(token) >= VG_AWS_MAX_PAGE_TOKEN)
        return VG_ERR_LIMIT;
    pg->next_token_ = strdup(token);
    return pg->next_token_ ? VG_OK : VG_ERR_NOMEM;
}

size_t vg_aws_http_stats(const struct vg_aws_http *h, struct vg_aws_http_stats *out, size_t max)
{
    for (size_t i = 0; i < h->nsvcs && i < max; i++)
        out[i] = h->svcs[i].st;
    return h->nsvcs;
}

/* ---- one call, waited for ------------------------------------------------- */

struct once {
    struct vg_json *json;
    struct vg_aws_error *err;
    bool failed;
};

static enum vg_err once_page(struct vg_aws_page *pg, void *opaque)
{
    struct once *o = opaque;
    if (!o->json) {
        o->json = pg->json;
        pg->json = NULL;
    }
    return VG_OK;
}

static void once_done(const struct vg_aws_error *err, void *opaque)
{
    struct once *o = opaque;
    if (err) {
        *o->err = *err;
        o->failed = true;
    }
}

enum vg_err vg_aws_http_once(struct vg_aws_http *h, const struct vg_aws_call_spec *spec,
                             struct vg_aws_creds_provider *creds, struct vg_json **out,
                             struct vg_aws_error *err)
{
    memset(err, 0, sizeof(*err));
    *out = NULL;
    if (h && (h->in_callback || h->running)) {
        err->kind = VG_AWS_ERR_INTERNAL;
        err->err = VG_ERR_INVALID;
        snprintf(err->text, sizeof(err->text), "vg_aws_http_once() cannot run from a callback");
        return VG_ERR_INVALID;
    }
    struct once o = { .err = err };
    enum vg_err rc = vg_aws_http_call(h, spec, creds, once_page, once_done, &o);
    if (rc) {
        err->kind = rc == VG_ERR_NOMEM ? VG_AWS_ERR_INTERNAL : VG_AWS_ERR_CALLBACK;
        err->err = rc;
        snprintf(err->text, sizeof(err->text), "%s:%s: the call cannot be made (%s)",
                 spec && spec->service ? spec->service : "?",
                 spec && spec->operation ? spec->operation : "?", vg_strerror(rc));
        return rc;
    }
    char rerr[256];
    rc = vg_aws_http_run(h, 0, rerr, sizeof(rerr));
    if (rc && !o.failed) {
        err->kind = VG_AWS_ERR_INTERNAL;
        err->err = rc;
        snprintf(err->text, sizeof(err->text), "%s", rerr);
        vg_json_free(o.json);
        return rc;
    }
    if (o.failed) {
        vg_json_free(o.json);
        return err->err ? err->err : VG_ERR_IO;
    }
    *out = o.json;
    return VG_OK;
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

enum vg_err vg_aws_url_decode(const char *s, struct vg_buf *out)
{
    enum vg_err err = VG_OK;
    size_t run = 0, i = 0;
    for (; s[i] && !err; i++) {
        if (s[i] != '%')
            continue;
        int hi = hexval(s[i + 1]), lo = hi >= 0 ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return VG_ERR_PARSE;
        err = vg_buf_append(out, s + run, i - run);
        if (!err)
            err = vg_buf_appendc(out, (char)(hi << 4 | lo));
        i += 2;
        run = i + 1;
    }
    if (!err)
        err = vg_buf_append(out, s + run, i - run);
    return err;
}

/* ---- one plain request ---------------------------------------------------- */

struct simple_ctx {
    struct vg_aws_simple_response *rs;
    bool too_big;
};

static size_t simple_body(char *ptr, size_t size, size_t n, void *ud)
{
    struct simple_ctx *s = ud;
    size_t len = size * n;
    if (vg_buf_append(&s->rs->body, ptr, len)) {
        s->too_big = true;
        return 0;
    }
    return len;
}

static size_t simple_header(char *line, size_t size, size_t n, void *ud)
{
    struct simple_ctx *s = ud;
    size_t len = size * n;
    header_value(line, len, "x-amzn-errortype", s->rs->errortype, sizeof(s->rs->errortype));
    return len;
}

void vg_aws_simple_response_free(struct vg_aws_simple_response *rs)
{
    if (!rs)
        return;
    if (rs->body.data)
        OPENSSL_cleanse(rs->body.data, rs->body.len);
    vg_buf_free(&rs->body);
}

enum vg_err vg_aws_http_simple(const struct vg_aws_simple_request *rq,
                               struct vg_aws_simple_response *rs, struct vg_aws_error *e)
{
    memset(rs, 0, sizeof(*rs));
    memset(e, 0, sizeof(*e));
    vg_buf_init(&rs->body, rq->max_body ? rq->max_body : VG_AWS_MAX_BODY);
    pthread_once(&curl_once, curl_init);
    CURL *c = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
    struct curl_slist *hl = NULL;
    bool ok = c != NULL;
    for (size_t i = 0; ok && rq->headers && rq->headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(hl, rq->headers[i]);
        ok = n != NULL;
        if (n)
            hl = n;
    }
    if (ok) {
        struct curl_slist *n = curl_slist_append(hl, "Expect:");
        ok = n != NULL;
        if (n)
            hl = n;
    }
    if (!ok) {
        curl_slist_free_all(hl);
        if (c)
            curl_easy_cleanup(c);
        e->kind = VG_AWS_ERR_INTERNAL;
        e->err = VG_ERR_NOMEM;
        snprintf(e->text, sizeof(e->text), "out of memory setting up a request to %s", rq->url);
        return VG_ERR_NOMEM;
    }
    struct simple_ctx sc = { rs, false };
    char cerr[CURL_ERROR_SIZE] = "";
    int64_t timeout = rq->timeout_ms > 0 ? rq->timeout_ms : 5000;
    curl_easy_setopt(c, CURLOPT_URL, rq->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, simple_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sc);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, simple_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &sc);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (rq->no_proxy)
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    const char *m = rq->method ? rq->method : "GET";
    if (strcmp(m, "GET") == 0 && !rq->body) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)rq->body_len);
        if (strcmp(m, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    }
    CURLcode rc = curl_easy_perform(c);
    enum vg_err res = VG_OK;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
    } else if (sc.too_big) {
        e->kind = VG_AWS_ERR_LIMIT;
        e->err = VG_ERR_LIMIT;
        snprintf(e->text, sizeof(e->text), "the answer of %s is larger than %zu bytes", rq->url,
                 rs->body.max);
        res = VG_ERR_LIMIT;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        e->kind = VG_AWS_ERR_TIMEOUT;
        e->err = VG_ERR_IO;
        snprintf(e->text, sizeof(e->text), "no answer from %s within %lld ms: %s", rq->url,
                 (long long)timeout, cerr[0] ? cerr : curl_easy_strerror(rc));
        res = VG_ERR_IO;
    } else {
        e->kind = VG_AWS_ERR_NETWORK;
        e->err = VG_ERR_IO;
        snprintf(e->text, sizeof(e->text), "cannot reach %s: %s", rq->url,
                 cerr[0] ? cerr : curl_easy_strerror(rc));
        res = VG_ERR_IO;
    }
    for (struct curl_slist *s = hl; s; s = s->next)
        OPENSSL_cleanse(s->data, strlen(s->data));
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return res;
}
