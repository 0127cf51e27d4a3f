/*
 * The AWS request engine: many signed requests in flight on one curl
 * multi handle, bounded globally and per (service, region); every page of
 * a paginated call followed, the caller deciding the next token; throttling
 * and 5xx retried with capped exponential backoff and full jitter; one
 * clear sentence for every failure.
 *
 * A collector describes a call (struct vg_aws_call_spec), gives a page
 * callback and a done callback, and runs the engine:
 *
 *   static enum vg_err on_users(struct vg_aws_page *pg, void *opaque)
 *   {
 *       ... read pg->json (ListUsersResult content), keep what it needs ...
 *       if (vg_json_get_bool(vg_json_get(pg->json, "IsTruncated")))
 *           return vg_aws_page_next(pg, vg_json_get_str(vg_json_get(pg->json, "Marker")));
 *       return VG_OK;
 *   }
 *   static void on_done(const struct vg_aws_error *err, void *opaque)
 *   {
 *       if (err) ... err->text: "access denied to iam:ListUsers: ..." ...
 *   }
 *   struct vg_aws_call_spec s = { .service = "iam", .region = "us-east-1",
 *       .protocol = VG_AWS_QUERY, .operation = "ListUsers", .version = "2010-05-08",
 *       .token_param = "Marker", .xml = &users_xml };
 *   vg_aws_http_call(h, &s, creds, on_users, on_done, ctx);
 *   vg_aws_http_run(h, 0, errbuf, sizeof(errbuf));
 *
 * Callbacks run inside vg_aws_http_run(), one at a time (single thread);
 * they may queue more calls (GetBucketEncryption for each bucket found).
 *
 * Protocols, as the engine builds them:
 *   query, ec2   POST / form body Action=Op&Version=V&params (the token
 *                as token_param=...); the answer's XML; for query the
 *                content of <OpResult> (unwrap), for ec2 the root's.
 *   json         POST / X-Amz-Target: target.Op, application/x-amz-json-1.1,
 *                body json_body or {} (the token set as a member).
 *   rest-json    method path?params, body json_body (application/json).
 *   rest-xml     method path?params; S3 signs x-amz-content-sha256 and
 *                its path as is; bucket is addressed virtual-host style
 *                (path style with endpoint_url or a dotted bucket name).
 *   For rest protocols the token goes into the query string.
 *
 * Retries: HTTP 429, 5xx, the throttling codes (Throttling,
 * ThrottlingException, RequestLimitExceeded, SlowDown, ...), transient
 * codes, network errors and timeouts are tried again, at most
 * max_attempts in all, after a delay drawn uniformly in
 * [0, min(cap, base * 2^retry)] ("full jitter"). An ExpiredToken answer
 * makes the engine fetch new credentials and try once more.
 */
#ifndef VG_AWS_HTTP_H
#define VG_AWS_HTTP_H

#include "../../agent/buf.h"
#include "../../agent/err.h"
#include "../../agent/json.h"
#include "aws.h"
#include "creds.h"
#include "xml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- endpoints ---------------------------------------------------------- */

struct vg_aws_endpoint {
    char base[512];             /* "https://iam.amazonaws.com", no trailing '/' */
    char host[300];             /* the Host header: "iam.amazonaws.com", "127.0.0.1:5000" */
    char path_prefix[300];      /* "/bucket" for path-style S3, else "" */
    char signing_name[32];      /* "iam", "s3" (also for s3-control), "logs" */
    char signing_region[32];    /* "us-east-1" for IAM, else the region */
};

/* Resolves where a service of a region is reached. service is the
 * endpoint name: iam, sts, ec2, s3, s3-control, rds, monitoring,
 * cloudtrail, config, kms, logs, guardduty, securityhub, access-analyzer
 * (others: SERVICE.REGION.amazonaws.com, signed as SERVICE). endpoint_url
 * (may be NULL) replaces the base for every service. bucket (S3) and
 * host_prefix (S3 Control: "123456789012.") may be NULL. VG_ERR_INVALID
 * with a sentence for a bad region or URL. */
enum vg_err vg_aws_endpoint_resolve(const char *service, const char *region,
                                    const char *endpoint_url, const char *bucket,
                                    const char *host_prefix, struct vg_aws_endpoint *out,
                                    char *errbuf, size_t errlen);

/* ---- the engine ---------------------------------------------------------- */

/* The jitter source: 64 random bits. */
typedef uint64_t (vg_aws_rand_fn)(void *opaque);

struct vg_aws_http_opts {
    const char *endpoint_url;     /* every service here (moto, LocalStack); NULL: AWS */
    int max_in_flight;            /* transfers at once; 0: 32 */
    int max_per_service;          /* per (service, region); 0: 4 */
    int max_attempts;             /* tries per page, the first included; 0: 5 */
    int64_t backoff_base_ms;      /* 0: 100 */
    int64_t backoff_cap_ms;       /* 0: 20000 */
    int64_t timeout_ms;           /* one attempt, connect to last byte; 0: 30000 */
    int64_t connect_timeout_ms;   /* 0: 10000 */
    vg_aws_rand_fn *rand;         /* NULL: seeded from OpenSSL's RAND_bytes */
    void *rand_opaque;
    vg_aws_clock_fn *clock;       /* the signing time; NULL: vg_time_now_ms() */
    void *clock_opaque;
    const char *ca_file;          /* NULL: the system's */
};

struct vg_aws_http;

/* Caller frees with vg_aws_http_destroy(). NULL with a sentence in errbuf
 * when curl cannot be set up or out of memory. o may be NULL. */
struct vg_aws_http *vg_aws_http_new(const struct vg_aws_http_opts *o, char *errbuf, size_t errlen);

/* Calls still queued are finished with an error first (their done
 * callbacks run). NULL is a no-op. Not from a callback. */
void vg_aws_http_destroy(struct vg_aws_http *h);

struct vg_aws_param {
    const char *name;
    const char *value;            /* rest: NULL gives "?name" without '=' (S3 "?encryption") */
};

/* One call. Strings and arrays are copied at vg_aws_http_call(), except
 * xml, which is borrowed until the done callback (static tables). */
struct vg_aws_call_spec {
    const char *service;          /* endpoint name, see vg_aws_endpoint_resolve() */
    const char *region;           /* "us-east-1" */
    enum vg_aws_protocol protocol;
    const char *operation;        /* "ListUsers": Action, X-Amz-Target suffix, messages */
    const char *version;          /* query/ec2: API version, "2010-05-08" */
    const char *target;           /* json: X-Amz-Target prefix, "CloudTrail_20131101" */
    const char *method;           /* rest: NULL: GET */
    const char *path;             /* rest: wire path, percent-encoded; NULL: "/" */
    const struct vg_aws_param *params;    /* query/ec2: form; rest: query string */
    size_t nparams;
    const struct vg_aws_param *headers;   /* extra headers, signed (x-amz-account-id);
                                           * not Host, Authorization, Content-Type,
                                           * X-Amz-Date/-Target/-Security-Token */
    size_t nheaders;
    const char *json_body;        /* json/rest-json: request body; NULL: {} (json) or none */
    const char *bucket;           /* rest-xml S3: the bucket addressed */
    const char *host_prefix;      /* S3 Control: "ACCOUNT." before the host */
    const char *token_param;      /* where the next page's token goes; NULL: one page */
    const struct vg_aws_xml_opts *xml;    /* XML hints (unwrap is set for query) */
    bool raw;                     /* no parsing: the body as it came (GetBucketPolicy) */
};

/* One page, given to the page callback. */
struct vg_aws_page {
    const char *operation;        /* "iam:ListUsers" */
    const char *service;
    const char *region;
    int index;                    /* 0 for the first page */
    long status;                  /* HTTP status (2xx) */
    struct vg_json *json;         /* the answer as JSON (see above); NULL when raw or
                                   * empty. Owned by the engine; the callback may take
                                   * it (set pg->json = NULL) */
    const char *root;             /* the XML root element's name; "" for JSON */
    const char *body;             /* the raw answer, borrowed for the callback */
    size_t body_len;
    char *next_token_;            /* private: set through vg_aws_page_next() */
};

/* Asks for the page after pg, with token; NULL or "" asks for none.
 * VG_ERR_LIMIT for a token larger than VG_AWS_MAX_PAGE_TOKEN. */
enum vg_err vg_aws_page_next(struct vg_aws_page *pg, const char *token);

/* Called for every page. A non-zero return ends the call (done is called
 * with kind VG_AWS_ERR_CALLBACK and err set to the value returned). */
typedef enum vg_err (vg_aws_page_fn)(struct vg_aws_page *pg, void *opaque);

/* Called once per call, at its end: err NULL when every page was read,
 * else the failure (borrowed for the callback). */
typedef void (vg_aws_done_fn)(const struct vg_aws_error *err, void *opaque);

/* Queues a call. creds is borrowed and must outlive the call. on_page may
 * be NULL (pages are read and dropped). Returns VG_ERR_INVALID (a spec
 * that cannot make a request, or the engine is ending every call: a done
 * callback of an aborted call cannot queue more), VG_ERR_LIMIT (more than
 * VG_AWS_MAX_QUEUED calls queued) or VG_ERR_NOMEM, and then no callback
 * will run; VG_OK means on_done will run exactly once. */
enum vg_err vg_aws_http_call(struct vg_aws_http *h, const struct vg_aws_call_spec *spec,
                             struct vg_aws_creds_provider *creds, vg_aws_page_fn *on_page,
                             vg_aws_done_fn *on_done, void *opaque);

/* Runs until every queued call, and every call queued by the callbacks,
 * is done. deadline_ms (0: none) bounds the whole run: calls still going
 * then end with a timeout error. VG_OK when every call ended (calls that
 * failed included: their errors went to their done callbacks); VG_ERR_IO
 * when the deadline passed, VG_ERR_INVALID when called from a callback. */
enum vg_err vg_aws_http_run(struct vg_aws_http *h, int64_t deadline_ms, char *errbuf,
                            size_t errlen);

/* Runs one call of one page to its end (and any other queued calls with
 * it). *out receives the answer as JSON (caller frees; NULL when raw or
 * empty), or err is filled. Not from a callback. VG_OK, or err->err. */
enum vg_err vg_aws_http_once(struct vg_aws_http *h, const struct vg_aws_call_spec *spec,
                             struct vg_aws_creds_provider *creds, struct vg_json **out,
                             struct vg_aws_error *err);

/* Counters per service, for the scan summary and the tests. */
struct vg_aws_http_stats {
    char service[32];
    uint64_t requests;            /* attempts sent */
    uint64_t retries;             /* attempts that were retries */
    uint64_t throttled;           /* answers that were throttling */
    uint64_t errors;              /* calls that ended in an error */
    uint64_t pages;               /* pages handed to callbacks */
    int max_in_flight;            /* most transfers of this service at once (any region) */
};

/* Copies up to max entries; returns how many services there are. */
size_t vg_aws_http_stats(const struct vg_aws_http *h, struct vg_aws_http_stats *out, size_t max);

/* The full-jitter delay before retry number retry (0 for the first
 * retry): rnd mapped uniformly into [0, min(cap_ms, base_ms * 2^retry)]. */
int64_t vg_aws_backoff_ms(int retry, int64_t base_ms, int64_t cap_ms, uint64_t rnd);

/* Percent-decodes s into out ("+" stays "+"): IAM's policy documents
 * (GetPolicyVersion, GetUserPolicy, ...) come URL-encoded inside the XML.
 * VG_ERR_PARSE for a '%' not followed by two hex digits, VG_ERR_LIMIT
 * past out's bound. */
enum vg_err vg_aws_url_decode(const char *s, struct vg_buf *out);

/* ---- one plain request (credential endpoints) -------------------------- */

struct vg_aws_simple_request {
    const char *method;           /* "GET", "PUT", "POST" */
    const char *url;
    const char *const *headers;   /* "Name: value" lines, NULL-terminated; may be NULL */
    const char *body;             /* may be NULL */
    size_t body_len;
    int64_t timeout_ms;           /* 0: 5000 */
    bool no_proxy;                /* link-local endpoints: never through a proxy */
    size_t max_body;              /* 0: VG_AWS_MAX_BODY */
};

struct vg_aws_simple_response {
    long status;
    struct vg_buf body;           /* free with vg_aws_simple_response_free() */
    char errortype[128];          /* X-Amzn-ErrorType */
};

/* Sends one request with a curl easy handle and waits for the answer. VG_OK
 * when an answer came (any status: rs->status); else VG_ERR_IO (or
 * VG_ERR_LIMIT, VG_ERR_NOMEM) with e->kind NETWORK, TIMEOUT or LIMIT and
 * e->text "cannot reach URL: ...". rs needs no initialisation and must be
 * freed whatever the result. */
enum vg_err vg_aws_http_simple(const struct vg_aws_simple_request *rq,
                               struct vg_aws_simple_response *rs, struct vg_aws_error *e);

void vg_aws_simple_response_free(struct vg_aws_simple_response *rs);

/* Sleeps ms milliseconds (for the synchronous retries of the credential
 * fetches, which run outside the engine). */
void vg_aws_sleep_ms(int64_t ms);

#endif
