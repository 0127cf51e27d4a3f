/*
 * The request engine against tests/aws/fault_server.py (pagination, token
 * loops, throttling bursts, 5xx, truncated XML, short bodies, a slow
 * endpoint, access and credential errors, the concurrency bounds) and the
 * signatures against moto (python3 -m moto.server with
 * INITIAL_NO_AUTH_ACTION_COUNT=0, which checks every signature).
 */
#include "vgtest.h"

#include "agent/buf.h"
#include "agent/json.h"
#include "agent/log.h"
#include "agent/timeutil.h"
#include "checks/aws/aws.h"
#include "checks/aws/creds.h"
#include "checks/aws/http.h"
#include "checks/aws/xml.h"
#include "../aws/testsrv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static struct testsrv fault;
static struct vg_aws_creds_provider *good_creds;

/* ---- pure functions ------------------------------------------------------- */

VG_TEST(backoff_full_jitter)
{
    /* the ceiling doubles from base and stops at cap; the draw is uniform below */
    CHECK_EQ_INT(vg_aws_backoff_ms(0, 100, 20000, UINT64_MAX), UINT64_MAX % 101);
    CHECK_EQ_INT(vg_aws_backoff_ms(0, 100, 20000, 100), 100);
    CHECK_EQ_INT(vg_aws_backoff_ms(0, 100, 20000, 101), 0);
    CHECK_EQ_INT(vg_aws_backoff_ms(3, 100, 20000, 800), 800);
    CHECK_EQ_INT(vg_aws_backoff_ms(3, 100, 20000, 801), 0);
    CHECK_EQ_INT(vg_aws_backoff_ms(30, 100, 20000, 20000), 20000);
    CHECK_EQ_INT(vg_aws_backoff_ms(1000, 100, 20000, 20001), 0);
    CHECK_EQ_INT(vg_aws_backoff_ms(2, 0, 20000, 5), 0);
    int64_t maxseen = 0;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t d = vg_aws_backoff_ms(i % 12, 100, 20000, x);
        CHECK(d >= 0 && d <= 20000);
        if (d > maxseen)
            maxseen = d;
    }
    CHECK(maxseen > 15000);
}

VG_TEST(error_classes_and_sentences)
{
    CHECK_EQ_INT(vg_aws_classify("Throttling", 400), VG_AWS_ERR_THROTTLED);
    CHECK_EQ_INT(vg_aws_classify("RequestLimitExceeded", 503), VG_AWS_ERR_THROTTLED);
    CHECK_EQ_INT(vg_aws_classify("SlowDown", 503), VG_AWS_ERR_THROTTLED);
    CHECK_EQ_INT(vg_aws_classify("", 429), VG_AWS_ERR_THROTTLED);
    CHECK_EQ_INT(vg_aws_classify("InternalError", 500), VG_AWS_ERR_SERVER);
    CHECK_EQ_INT(vg_aws_classify("", 503), VG_AWS_ERR_SERVER);
    CHECK_EQ_INT(vg_aws_classify("InvalidClientTokenId", 403), VG_AWS_ERR_AUTH);
    CHECK_EQ_INT(vg_aws_classify("SignatureDoesNotMatch", 403), VG_AWS_ERR_AUTH);
    CHECK_EQ_INT(vg_aws_classify("AuthFailure", 401), VG_AWS_ERR_AUTH);
    CHECK_EQ_INT(vg_aws_classify("ExpiredToken", 400), VG_AWS_ERR_EXPIRED);
    CHECK_EQ_INT(vg_aws_classify("AccessDenied", 403), VG_AWS_ERR_DENIED);
    CHECK_EQ_INT(vg_aws_classify("UnauthorizedOperation", 403), VG_AWS_ERR_DENIED);
    CHECK_EQ_INT(vg_aws_classify("", 403), VG_AWS_ERR_DENIED);
    CHECK_EQ_INT(vg_aws_classify("NoSuchEntity", 404), VG_AWS_ERR_SERVICE);
    CHECK(vg_aws_retriable(VG_AWS_ERR_THROTTLED, "Throttling", 400));
    CHECK(vg_aws_retriable(VG_AWS_ERR_TIMEOUT, "", 0));
    CHECK(vg_aws_retriable(VG_AWS_ERR_SERVICE, "RequestTimeout", 400));
    CHECK(!vg_aws_retriable(VG_AWS_ERR_DENIED, "AccessDenied", 403));
    CHECK(!vg_aws_retriable(VG_AWS_ERR_SERVICE, "NoSuchEntity", 404));
    CHECK(!vg_aws_retriable(VG_AWS_ERR_PARSE, "", 200));

    struct vg_aws_error e;
    memset(&e, 0, sizeof(e));
    e.status = 403;
    snprintf(e.code, sizeof(e.code), "AccessDenied");
    snprintf(e.message, sizeof(e.message), "User: arn:aws:iam::1:user/a is not authorized");
    vg_aws_error_finish(&e, "iam:GetAccountPasswordPolicy", "https://iam.amazonaws.com/", 1, NULL);
    CHECK_EQ_STR(e.text, "access denied to iam:GetAccountPasswordPolicy: AccessDenied: User: "
                         "arn:aws:iam::1:user/a is not authorized");
    CHECK_EQ_INT(e.err, VG_ERR_PERM);
    memset(&e, 0, sizeof(e));
    e.status = 404;
    snprintf(e.code, sizeof(e.code), "NoSuchEntity");
    vg_aws_error_finish(&e, "iam:GetAccountPasswordPolicy", NULL, 1, NULL);
    CHECK_EQ_INT(e.kind, VG_AWS_ERR_SERVICE);
    CHECK_EQ_INT(e.err, VG_ERR_NOENT);
    CHECK_EQ_STR(e.text, "iam:GetAccountPasswordPolicy: HTTP 404: NoSuchEntity");
    memset(&e, 0, sizeof(e));
    e.kind = VG_AWS_ERR_NETWORK;
    vg_aws_error_finish(&e, "ec2:DescribeVpcs", "https://ec2.xx-1.amazonaws.com/", 5,
                        "Could not resolve host: ec2.xx-1.amazonaws.com");
    CHECK_EQ_STR(e.text, "cannot reach https://ec2.xx-1.amazonaws.com/ (ec2:DescribeVpcs, 5 "
                         "attempts): Could not resolve host: ec2.xx-1.amazonaws.com");

    /* JSON error answers: the body's __type, the header, prefixes and suffixes */
    const char *b1 = "{\"__type\":\"com.amazonaws.kms#NotFoundException\",\"message\":\"no key\"}";
    memset(&e, 0, sizeof(e));
    CHECK_EQ_INT(vg_aws_json_error(b1, strlen(b1), NULL, &e), VG_OK);
    CHECK_EQ_STR(e.code, "NotFoundException");
    CHECK_EQ_STR(e.message, "no key");
    const char *b2 = "{\"Message\":\"denied\"}";
    memset(&e, 0, sizeof(e));
    CHECK_EQ_INT(vg_aws_json_error(b2, strlen(b2), "AccessDeniedException:http://internal/", &e),
                 VG_OK);
    CHECK_EQ_STR(e.code, "AccessDeniedException");
    CHECK_EQ_STR(e.message, "denied");
    memset(&e, 0, sizeof(e));
    CHECK_EQ_INT(vg_aws_json_error("<html>", 6, NULL, &e), VG_ERR_PARSE);
    CHECK_EQ_INT(vg_aws_json_error("", 0, NULL, &e), VG_ERR_PARSE);
}

VG_TEST(endpoints)
{
    struct vg_aws_endpoint ep;
    char err[256];
    CHECK_EQ_INT(vg_aws_endpoint_resolve("iam", "eu-west-1", NULL, NULL, NULL, &ep, err,
                                         sizeof(err)), VG_OK);
    CHECK_EQ_STR(ep.base, "https://iam.amazonaws.com");
    CHECK_EQ_STR(ep.signing_region, "us-east-1");
    CHECK_EQ_INT(vg_aws_endpoint_resolve("iam", "cn-north-1", NULL, NULL, NULL, &ep, err,
                                         sizeof(err)), VG_OK);
    CHECK_EQ_STR(ep.host, "iam.cn-north-1.amazonaws.com.cn");
    CHECK_EQ_INT(vg_aws_endpoint_resolve("ec2", "ap-south-2", NULL, NULL, NULL, &ep, err,
                                         sizeof(err)), VG_OK);
    CHECK_EQ_STR(ep.host, "ec2.ap-south-2.amazonaws.com");
    CHECK_EQ_STR(ep.signing_name, "ec2");
    CHECK_EQ_INT(vg_aws_endpoint_resolve("logs", "cn-northwest-1", NULL, NULL, NULL, &ep, err,
                                         sizeof(err)), VG_OK);
    CHECK_EQ_STR(ep.host, "logs.cn-northwest-1.amazonaws.com.cn");
    CHECK_EQ_INT(vg_aws_endpoint_resolve("s3", "eu-west-1", NULL, "prod-logs", NULL, &ep, err,
                                         sizeof(err)), VG_OK);
    CHECK_EQ_STR(ep.host, "prod-logs.s3.eu-west-1.amazonaws.com");
    CHECK_EQ_STR(ep.path_prefix, "");
    CHECK_EQ_INT(vg_aws_endpoint_resolve("s3", "eu-west-1", NULL, "www.example.com", NULL, &ep,
                                         err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(ep.host, "s3.eu-west-1.amazonaws.com");
    CHECK_EQ_STR(ep.path_prefix, "/www.example.com");
    CHECK_EQ_INT(vg_aws_endpoint_resolve("s3-control", "us-east-1", NULL, NULL, "123456789012.",
                                         &ep, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(ep.host, "123456789012.s3-control.us-east-1.amazonaws.com");
    CHECK_EQ_STR(ep.signing_name, "s3");
    CHECK_EQ_INT(vg_aws_endpoint_resolve("access-analyzer", "us-east-1", NULL, NULL, NULL, &ep,
                                         err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(ep.signing_name, "access-analyzer");
    /* the override: one base for every service, path-style buckets */
    CHECK_EQ_INT(vg_aws_endpoint_resolve("s3", "eu-west-1", "http://127.0.0.1:4566/", "b", NULL,
                                         &ep, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(ep.base, "http://127.0.0.1:4566");
    CHECK_EQ_STR(ep.host, "127.0.0.1:4566");
    CHECK_EQ_STR(ep.path_prefix, "/b");
    CHECK_EQ_INT(vg_aws_endpoint_resolve("kms", "eu-west-1", "https://gw.example/aws", NULL,
                                         NULL, &ep, err, sizeof(err)), VG_OK);
    CHECK_EQ_STR(ep.path_prefix, "/aws");
    CHECK_EQ_STR(ep.signing_region, "eu-west-1");
    /* refused */
    CHECK_EQ_INT(vg_aws_endpoint_resolve("ec2", "Eu West", NULL, NULL, NULL, &ep, err,
                                         sizeof(err)), VG_ERR_INVALID);
    CHECK_CONTAINS(err, "region \"Eu West\" is not valid");
    CHECK_EQ_INT(vg_aws_endpoint_resolve("ec2", "us-east-1", "ftp://x", NULL, NULL, &ep, err,
                                         sizeof(err)), VG_ERR_INVALID);
    CHECK_EQ_INT(vg_aws_endpoint_resolve("ec2", "us-east-1", "http://user@host/", NULL, NULL,
                                         &ep, err, sizeof(err)), VG_ERR_INVALID);
    CHECK_EQ_INT(vg_aws_endpoint_resolve("s3", "us-east-1", NULL, "a/b", NULL, &ep, err,
                                         sizeof(err)), VG_ERR_INVALID);
}

VG_TEST(url_decode_policy_documents)
{
    struct vg_buf b;
    vg_buf_init(&b, 1 << 10);
    CHECK_EQ_INT(vg_aws_url_decode("%7B%22Version%22%3A%222012-10-17%22%2C%22a%2Bb%22%7D+x", &b),
                 VG_OK);
    CHECK_EQ_STR(vg_buf_str(&b), "{\"Version\":\"2012-10-17\",\"a+b\"}+x");
    vg_buf_reset(&b);
    CHECK_EQ_INT(vg_aws_url_decode("", &b), VG_OK);
    CHECK_EQ_STR(vg_buf_str(&b), "");
    CHECK_EQ_INT(vg_aws_url_decode("bad%2", &b), VG_ERR_PARSE);
    CHECK_EQ_INT(vg_aws_url_decode("bad%zz", &b), VG_ERR_PARSE);
    CHECK_EQ_INT(vg_aws_url_decode("%", &b), VG_ERR_PARSE);
    vg_buf_free(&b);
    struct vg_buf small;
    vg_buf_init(&small, 4);
    CHECK_EQ_INT(vg_aws_url_decode("%41%42%43%44%45", &small), VG_ERR_LIMIT);
    vg_buf_free(&small);
}

/* ---- against the fault server --------------------------------------------- */

struct result {
    const char *list_key;      /* the array to gather from each page */
    const char *token_key;     /* where the next token is */
    int pages;
    struct vg_json *items;
    bool done, failed;
    struct vg_aws_error err;
    char root[64];
    struct vg_buf raw;
    enum vg_err page_rc;       /* what the page callback returns */
};

static void result_init(struct result *r, const char *list_key, const char *token_key)
{
    memset(r, 0, sizeof(*r));
    r->list_key = list_key;
    r->token_key = token_key;
    r->items = vg_json_array();
    vg_buf_init(&r->raw, 1 << 20);
}

static void result_free(struct result *r)
{
    vg_json_free(r->items);
    vg_buf_free(&r->raw);
}

static enum vg_err on_page(struct vg_aws_page *pg, void *opaque)
{
    struct result *r = opaque;
    r->pages++;
    snprintf(r->root, sizeof(r->root), "%s", pg->root);
    vg_buf_reset(&r->raw);
    vg_buf_append(&r->raw, pg->body, pg->body_len);
    const struct vg_json *list = r->list_key ? vg_json_get(pg->json, r->list_key) : NULL;
    for (size_t i = 0; i < vg_json_len(list); i++)
        vg_json_push(r->items, vg_json_clone(vg_json_at(list, i)));
    if (r->page_rc)
        return r->page_rc;
    if (r->token_key)
        return vg_aws_page_next(pg, vg_json_get_str(vg_json_get(pg->json, r->token_key)));
    return VG_OK;
}

static void on_done(const struct vg_aws_error *err, void *opaque)
{
    struct result *r = opaque;
    CHECK(!r->done);           /* exactly once */
    r->done = true;
    if (err) {
        r->failed = true;
        r->err = *err;
    }
}

static struct vg_aws_http *engine(int attempts, int64_t timeout_ms)
{
    struct vg_aws_http_opts o = { .endpoint_url = fault.base, .max_attempts = attempts,
                                  .backoff_base_ms = 2, .backoff_cap_ms = 10,
                                  .timeout_ms = timeout_ms, .connect_timeout_ms = 2000 };
    char err[256];
    struct vg_aws_http *h = vg_aws_http_new(&o, err, sizeof(err));
    CHECK(h != NULL);
    return h;
}

static void run(struct vg_aws_http *h, const struct vg_aws_call_spec *s, struct result *r)
{
    CHECK_EQ_INT(vg_aws_http_call(h, s, good_creds, on_page, on_done, r), VG_OK);
    char err[256];
    CHECK_EQ_INT(vg_aws_http_run(h, 30000, err, sizeof(err)), VG_OK);
    CHECK(r->done);
}

static const struct vg_aws_http_stats *stats_of(struct vg_aws_http *h, const char *svc,
                                                struct vg_aws_http_stats *buf, size_t n)
{
    size_t k = vg_aws_http_stats(h, buf, n);
    for (size_t i = 0; i < k && i < n; i++)
        if (strcmp(buf[i].service, svc) == 0)
            return &buf[i];
    return NULL;
}

static struct vg_aws_call_spec query(const char *op, const struct vg_aws_param *p, size_t n)
{
    return (struct vg_aws_call_spec){ .service = "fault", .region = "us-east-1",
                                      .protocol = VG_AWS_QUERY, .operation = op,
                                      .version = "2024-01-01", .params = p, .nparams = n };
}

VG_TEST(query_pages_followed)
{
    struct vg_aws_http *h = engine(3, 5000);
    static const char *const bools[] = { "IsTruncated", NULL };
    static const char *const ints[] = { "Size", NULL };
    static const struct vg_aws_xml_opts xo = { .bools = bools, .ints = ints };
    struct vg_aws_call_spec s = query("ListThings", NULL, 0);
    s.token_param = "Marker";
    s.xml = &xo;
    struct result r;
    result_init(&r, "Things", "Marker");
    run(h, &s, &r);
    CHECK(!r.failed);
    CHECK_EQ_INT(r.pages, 3);
    struct vg_buf b;
    vg_buf_init(&b, 1 << 16);
    vg_json_dump(r.items, &b);
    CHECK_EQ_STR(vg_buf_str(&b), "[{\"Name\":\"thing-0\",\"Size\":0},{\"Name\":\"thing-1\",\"Size\":1},"
                                 "{\"Name\":\"thing-2\",\"Size\":0},{\"Name\":\"thing-3\",\"Size\":1},"
                                 "{\"Name\":\"thing-4\",\"Size\":0},{\"Name\":\"thing-5\",\"Size\":1}]");
    CHECK_EQ_STR(r.root, "ListThingsResponse");
    vg_buf_free(&b);
    struct vg_aws_http_stats st[8];
    const struct vg_aws_http_stats *fs = stats_of(h, "fault", st, 8);
    CHECK(fs != NULL);
    if (fs) {
        CHECK_EQ_INT(fs->pages, 3);
        CHECK_EQ_INT(fs->requests, 3);
        CHECK_EQ_INT(fs->retries, 0);
        CHECK_EQ_INT(fs->errors, 0);
    }
    result_free(&r);
    vg_aws_http_destroy(h);
}

VG_TEST(page_token_loop_is_an_error)
{
    struct vg_aws_http *h = engine(3, 5000);
    struct vg_aws_call_spec s = query("LoopThings", NULL, 0);
    s.token_param = "Marker";
    struct result r;
    result_init(&r, "Things", "Marker");
    run(h, &s, &r);
    CHECK(r.failed);
    CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_LOOP);
    CHECK_EQ_INT(r.err.err, VG_ERR_LIMIT);
    CHECK_EQ_INT(r.pages, 3);       /* a, b, then a again */
    CHECK_CONTAINS(r.err.text, "fault:LoopThings: pagination loop: the pagination token \"a\" "
                               "came back a second time (page 3); stopped");
    result_free(&r);
    vg_aws_http_destroy(h);
}

static int rand_calls;

static uint64_t counting_rand(void *opaque)
{
    (void)opaque;
    rand_calls++;
    return 3;          /* a 3 ms wait at most */
}

static void throttle_case(const char *code, const char *status, int count, int attempts,
                          bool want_ok)
{
    struct vg_aws_http_opts o = { .endpoint_url = fault.base, .max_attempts = attempts,
                                  .backoff_base_ms = 50, .backoff_cap_ms = 5000,
                                  .timeout_ms = 5000, .rand = counting_rand };
    char eb[256];
    struct vg_aws_http *h = vg_aws_http_new(&o, eb, sizeof(eb));
    rand_calls = 0;
    char key[64];
    static int serial;
    snprintf(key, sizeof(key), "k%d-%s", serial++, code);
    char n[16];
    snprintf(n, sizeof(n), "%d", count);
    struct vg_aws_param p[] = { { "Key", key }, { "Count", n }, { "Code", code },
                                { "Status", status } };
    struct vg_aws_call_spec s = query("ThrottleBurst", p, 4);
    struct result r;
    result_init(&r, NULL, NULL);
    run(h, &s, &r);
    struct vg_aws_http_stats st[8];
    const struct vg_aws_http_stats *fs = stats_of(h, "fault", st, 8);
    if (want_ok) {
        CHECK(!r.failed);
        CHECK_EQ_INT(r.pages, 1);
        CHECK(fs && fs->retries == (uint64_t)count && fs->requests == (uint64_t)count + 1);
        CHECK(fs && fs->throttled == (uint64_t)count);
        CHECK_EQ_INT(rand_calls, count);    /* one jitter draw per retry */
    } else {
        CHECK(r.failed);
        CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_THROTTLED);
        CHECK_CONTAINS(r.err.text, "fault:ThrottleBurst still throttled after");
        CHECK(fs && fs->requests == (uint64_t)attempts && fs->errors == 1);
    }
    result_free(&r);
    vg_aws_http_destroy(h);
}

VG_TEST(throttling_bursts_retried)
{
    throttle_case("Throttling", "400", 3, 5, true);
    throttle_case("RequestLimitExceeded", "503", 2, 5, true);
    throttle_case("SlowDown", "503", 4, 5, true);
    throttle_case("", "429", 2, 5, true);
    throttle_case("ThrottlingException", "400", 1, 2, true);
    throttle_case("Throttling", "400", 10, 3, false);
}

VG_TEST(server_errors)
{
    struct vg_aws_http *h = engine(4, 5000);
    struct vg_aws_param p[] = { { "Key", "se1" }, { "Count", "2" } };
    struct vg_aws_call_spec s = query("ServerError", p, 2);
    struct result r;
    result_init(&r, NULL, NULL);
    run(h, &s, &r);
    CHECK(!r.failed);
    CHECK_CONTAINS(vg_buf_str(&r.raw), "<Calls>3</Calls>");
    result_free(&r);
    /* always failing: an error naming the status, after every attempt */
    s = query("Garbage500", NULL, 0);
    result_init(&r, NULL, NULL);
    run(h, &s, &r);
    CHECK(r.failed);
    CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_SERVER);
    CHECK_EQ_INT(r.err.status, 500);
    CHECK_EQ_STR(r.err.text, "fault:Garbage500 failed after 4 attempts: HTTP 500: HTTP 500");
    result_free(&r);
    vg_aws_http_destroy(h);
}

VG_TEST(truncated_and_short_answers)
{
    struct vg_aws_http *h = engine(3, 5000);
    struct vg_aws_call_spec s = query("Truncated", NULL, 0);
    struct result r;
    result_init(&r, "Users", NULL);
    run(h, &s, &r);
    CHECK(r.failed);
    CHECK_EQ_INT(r.pages, 0);           /* never a partial document */
    CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_PARSE);
    CHECK_EQ_INT(r.err.err, VG_ERR_PARSE);
    CHECK_CONTAINS(r.err.text, "fault:Truncated: malformed answer from http://127.0.0.1:");
    CHECK_CONTAINS(r.err.text, ": XML error at line 2 column");
    result_free(&r);
    /* a body shorter than its Content-Length: a network error, tried again */
    s = query("ShortBody", NULL, 0);
    result_init(&r, NULL, NULL);
    run(h, &s, &r);
    CHECK(r.failed);
    CHECK_EQ_INT(r.pages, 0);
    CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_NETWORK);
    CHECK_CONTAINS(r.err.text, "(fault:ShortBody, 3 attempts)");
    result_free(&r);
    vg_aws_http_destroy(h);
}

VG_TEST(slow_endpoint_times_out)
{
    struct vg_aws_http *h = engine(2, 300);
    struct vg_aws_param p[] = { { "Delay", "3" } };
    struct vg_aws_call_spec s = query("Slow", p, 1);
    struct result r;
    result_init(&r, NULL, NULL);
    int64_t t0 = vg_time_mono_ms();
    run(h, &s, &r);
    int64_t took = vg_time_mono_ms() - t0;
    CHECK(r.failed);
    CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_TIMEOUT);
    CHECK_CONTAINS(r.err.text, "timeout waiting for http://127.0.0.1:");
    CHECK_CONTAINS(r.err.text, "(fault:Slow, 2 attempts)");
    /* two attempts of 300 ms each cannot end sooner (a lower bound only: how
     * much longer a loaded machine takes is not the code's business) */
    CHECK(took >= 600);
    result_free(&r);
    /* the run's own deadline: calls still going end with a timeout */
    struct vg_aws_http_opts o = { .endpoint_url = fault.base, .timeout_ms = 10000 };
    char err[256];
    struct vg_aws_http *h2 = vg_aws_http_new(&o, err, sizeof(err));
    result_init(&r, NULL, NULL);
    CHECK_EQ_INT(vg_aws_http_call(h2, &s, good_creds, on_page, on_done, &r), VG_OK);
    t0 = vg_time_mono_ms();
    CHECK_EQ_INT(vg_aws_http_run(h2, 400, err, sizeof(err)), VG_ERR_IO);
    CHECK(vg_time_mono_ms() - t0 < 2000);
    CHECK(r.done && r.failed);
    CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_TIMEOUT);
    CHECK_CONTAINS(err, "did not finish within 400 ms");
    result_free(&r);
    vg_aws_http_destroy(h2);
    vg_aws_http_destroy(h);
}

static void error_case(struct vg_aws_http *h, struct vg_aws_creds_provider *creds,
                       const char *op, enum vg_aws_errkind kind, enum vg_err err,
                       const char *want)
{
    struct vg_aws_call_spec s = query(op, NULL, 0);
    struct result r;
    result_init(&r, NULL, NULL);
    CHECK_EQ_INT(vg_aws_http_call(h, &s, creds, on_page, on_done, &r), VG_OK);
    char e[256];
    CHECK_EQ_INT(vg_aws_http_run(h, 10000, e, sizeof(e)), VG_OK);
    CHECK(r.failed);
    CHECK_EQ_INT(r.err.kind, kind);
    CHECK_EQ_INT(r.err.err, err);
    CHECK_CONTAINS(r.err.text, want);
    result_free(&r);
}

VG_TEST(clear_errors)
{
    struct vg_aws_http *h = engine(3, 5000);
    error_case(h, good_creds, "Denied", VG_AWS_ERR_DENIED, VG_ERR_PERM,
               "access denied to fault:Denied: AccessDenied: User: "
               "arn:aws:iam::123456789012:user/audit is not authorized to perform: "
               "iam:GetAccountPasswordPolicy");
    error_case(h, good_creds, "BadCreds", VG_AWS_ERR_AUTH, VG_ERR_PERM,
               "bad credentials for fault:BadCreds: InvalidClientTokenId: The security token "
               "included in the request is invalid.");
    error_case(h, good_creds, "Expired", VG_AWS_ERR_EXPIRED, VG_ERR_PERM,
               "expired credentials for fault:Expired: ExpiredToken");
    error_case(h, good_creds, "NoSuch", VG_AWS_ERR_SERVICE, VG_ERR_NOENT,
               "fault:NoSuch: HTTP 404: NoSuchEntity: The Password Policy");
    /* a wrong secret: the server's own SigV4 check refuses it */
    struct vg_aws_creds_provider *bad = vg_aws_creds_static_new("AKIDTEST", "not-it", NULL);
    error_case(h, bad, "ListThings", VG_AWS_ERR_AUTH, VG_ERR_PERM,
               "bad credentials for fault:ListThings: SignatureDoesNotMatch");
    vg_aws_creds_destroy(bad);
    struct vg_aws_creds_provider *unknown = vg_aws_creds_static_new("AKIDNOBODY", "x", NULL);
    error_case(h, unknown, "ListThings", VG_AWS_ERR_AUTH, VG_ERR_PERM,
               "bad credentials for fault:ListThings: InvalidClientTokenId");
    vg_aws_creds_destroy(unknown);
    /* no credentials at all */
    struct vg_aws_creds_opts co = { .imds_endpoint = "http://127.0.0.1:1", .timeout_ms = 500 };
    setenv("HOME", "/nonexistent", 1);
    static const char *const vars[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
        "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_EC2_METADATA_DISABLED", NULL };
    for (size_t i = 0; vars[i]; i++)
        unsetenv(vars[i]);
    struct vg_aws_creds_provider *none = vg_aws_creds_chain_new(&co);
    error_case(h, none, "ListThings", VG_AWS_ERR_CREDS, VG_ERR_PERM,
               "fault:ListThings: no credentials: no credentials: no AWS credentials found");
    vg_aws_creds_destroy(none);
    vg_aws_http_destroy(h);

    /* unreachable */
    struct vg_aws_http_opts o = { .endpoint_url = "http://127.0.0.1:1", .max_attempts = 2,
                                  .backoff_base_ms = 1, .backoff_cap_ms = 2 };
    char err[256];
    h = vg_aws_http_new(&o, err, sizeof(err));
    error_case(h, good_creds, "ListThings", VG_AWS_ERR_NETWORK, VG_ERR_IO,
               "cannot reach http://127.0.0.1:1/ (fault:ListThings, 2 attempts): Failed to "
               "connect to 127.0.0.1 port 1");
    vg_aws_http_destroy(h);
    /* a bad override is refused at once */
    o.endpoint_url = "127.0.0.1:5000";
    CHECK(vg_aws_http_new(&o, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "endpoint_url 127.0.0.1:5000 is not an http or https URL");
}

VG_TEST(json11_protocol)
{
    struct vg_aws_http *h = engine(3, 5000);
    struct vg_aws_call_spec s = { .service = "fault", .region = "eu-west-1",
                                  .protocol = VG_AWS_JSON, .operation = "ListJson",
                                  .target = "Fault_20240101", .json_body = "{\"Limit\":5}",
                                  .token_param = "NextToken" };
    struct result r;
    result_init(&r, "Items", "NextToken");
    run(h, &s, &r);
    CHECK(!r.failed);
    CHECK_EQ_INT(r.pages, 3);
    CHECK_EQ_INT(vg_json_len(r.items), 3);
    CHECK_CONTAINS(vg_buf_str(&r.raw), "\"Limit\": 5");     /* the body kept its members */
    CHECK_EQ_STR(r.root, "");
    result_free(&r);

    s = (struct vg_aws_call_spec){ .service = "fault", .region = "eu-west-1",
                                   .protocol = VG_AWS_JSON, .operation = "Throttle",
                                   .target = "Fault_20240101",
                                   .json_body = "{\"Key\":\"j1\",\"Count\":2}" };
    result_init(&r, NULL, NULL);
    run(h, &s, &r);
    CHECK(!r.failed);
    CHECK_CONTAINS(vg_buf_str(&r.raw), "\"Calls\": 3");
    result_free(&r);

    s.operation = "Denied";
    result_init(&r, NULL, NULL);
    run(h, &s, &r);
    CHECK(r.failed);
    CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_DENIED);
    CHECK_EQ_STR(r.err.code, "AccessDeniedException");
    CHECK_EQ_STR(r.err.text, "access denied to fault:Denied: AccessDeniedException: not allowed "
                             "to kms:ListKeys");
    result_free(&r);
    vg_aws_http_destroy(h);
}

VG_TEST(rest_json_protocol)
{
    struct vg_aws_http *h = engine(3, 5000);
    struct vg_aws_call_spec s = { .service = "fault", .region = "eu-west-1",
                                  .protocol = VG_AWS_REST_JSON, .operation = "ListDetectors",
                                  .path = "/things", .token_param = "nextToken" };
    struct result r;
    result_init(&r, "detectorIds", "nextToken");
    run(h, &s, &r);
    CHECK(!r.failed);
    CHECK_EQ_INT(r.pages, 2);
    CHECK_EQ_INT(vg_json_len(r.items), 2);
    result_free(&r);
    s.path = "/denied";
    result_init(&r, NULL, NULL);
    run(h, &s, &r);
    CHECK(r.failed);
    CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_DENIED);
    CHECK_EQ_STR(r.err.code, "AccessDeniedException");
    CHECK_EQ_STR(r.err.message, "denied by policy");
    result_free(&r);
    /* a path that is not encoded is refused before anything is sent */
    s.path = "/a b";
    CHECK_EQ_INT(vg_aws_http_call(h, &s, good_creds, on_page, on_done, &r), VG_ERR_INVALID);
    vg_aws_http_destroy(h);
}

VG_TEST(rest_xml_s3)
{
    struct vg_aws_http *h = engine(3, 5000);
    static const char *const lists[] = { "Buckets", NULL };
    static const struct vg_aws_xml_opts lb = { .lists = lists };
    struct vg_aws_call_spec s = { .service = "s3", .region = "us-east-1",
                                  .protocol = VG_AWS_REST_XML, .operation = "ListBuckets",
                                  .token_param = "continuation-token", .xml = &lb };
    struct result r;
    result_init(&r, "Buckets", "ContinuationToken");
    run(h, &s, &r);
    CHECK(!r.failed);
    CHECK_EQ_INT(r.pages, 2);
    CHECK_EQ_INT(vg_json_len(r.items), 3);
    CHECK_EQ_STR(r.root, "ListAllMyBucketsResult");
    result_free(&r);

    static const char *const arrays[] = { "Rule", NULL };
    static const struct vg_aws_xml_opts enc = { .arrays = arrays };
    struct vg_aws_param sub[] = { { "encryption", NULL } };
    const char *buckets[] = { "bucket-a", "bucket.dotted" };
    for (int i = 0; i < 2; i++) {
        s = (struct vg_aws_call_spec){ .service = "s3", .region = "us-east-1",
                                       .protocol = VG_AWS_REST_XML,
                                       .operation = "GetBucketEncryption", .bucket = buckets[i],
                                       .params = sub, .nparams = 1, .xml = &enc };
        result_init(&r, "Rule", NULL);
        run(h, &s, &r);
        CHECK(!r.failed);
        CHECK_EQ_INT(vg_json_len(r.items), 1);
        result_free(&r);
    }
    s.bucket = "plain";
    result_init(&r, NULL, NULL);
    run(h, &s, &r);
    CHECK(r.failed);
    CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_SERVICE);
    CHECK_EQ_INT(r.err.err, VG_ERR_NOENT);
    CHECK_EQ_STR(r.err.code, "ServerSideEncryptionConfigurationNotFoundError");
    CHECK_EQ_STR(r.err.request_id, "s3rid");
    CHECK_EQ_STR(r.err.bucket_region, "eu-west-1");
    result_free(&r);

    /* GetBucketPolicy answers JSON text: handed over raw */
    struct vg_aws_param pol[] = { { "policy", NULL } };
    s = (struct vg_aws_call_spec){ .service = "s3", .region = "us-east-1",
                                   .protocol = VG_AWS_REST_XML, .operation = "GetBucketPolicy",
                                   .bucket = "bucket-a", .params = pol, .nparams = 1,
                                   .raw = true };
    result_init(&r, NULL, NULL);
    run(h, &s, &r);
    CHECK(!r.failed);
    CHECK_EQ_STR(vg_buf_str(&r.raw), "{\"Version\":\"2012-10-17\",\"Statement\":[]}");
    result_free(&r);
    vg_aws_http_destroy(h);
}

VG_TEST(ec2_shape_and_once)
{
    struct vg_aws_http *h = engine(3, 5000);
    static const char *const lists[] = { "itemSet", "tagSet", NULL };
    static const struct vg_aws_xml_opts xo = { .lists = lists };
    struct vg_aws_call_spec s = { .service = "fault", .region = "us-east-1",
                                  .protocol = VG_AWS_EC2, .operation = "DescribeThings",
                                  .version = "2016-11-15", .xml = &xo };
    struct vg_json *doc = NULL;
    struct vg_aws_error e;
    CHECK_EQ_INT(vg_aws_http_once(h, &s, good_creds, &doc, &e), VG_OK);
    struct vg_buf b;
    vg_buf_init(&b, 1 << 16);
    vg_json_dump(doc, &b);
    CHECK_EQ_STR(vg_buf_str(&b), "{\"requestId\":\"r1\",\"itemSet\":[{\"thingId\":\"t-1\","
                                 "\"tagSet\":[{\"key\":\"Name\",\"value\":\"a\"}]}]}");
    vg_buf_free(&b);
    vg_json_free(doc);
    s.operation = "Denied";
    CHECK_EQ_INT(vg_aws_http_once(h, &s, good_creds, &doc, &e), VG_ERR_PERM);
    CHECK(doc == NULL);
    CHECK_EQ_INT(e.kind, VG_AWS_ERR_DENIED);
    vg_aws_http_destroy(h);
}

/* A callback that queues more calls, one that stops, and destroy with
 * calls queued. */
struct fanout {
    struct vg_aws_http *h;
    struct result child[4];
    int queued;
};

static enum vg_err fanout_page(struct vg_aws_page *pg, void *opaque)
{
    struct fanout *f = opaque;
    const struct vg_json *things = vg_json_get(pg->json, "Things");
    for (size_t i = 0; i < vg_json_len(things) && f->queued < 4; i++) {
        struct vg_aws_call_spec s = query("DescribeThings", NULL, 0);
        s.protocol = VG_AWS_EC2;
        result_init(&f->child[f->queued], NULL, NULL);
        if (vg_aws_http_call(f->h, &s, good_creds, on_page, on_done, &f->child[f->queued]))
            return VG_ERR_NOMEM;
        f->queued++;
    }
    return vg_aws_page_next(pg, vg_json_get_str(vg_json_get(pg->json, "Marker")));
}

static void fanout_done(const struct vg_aws_error *err, void *opaque)
{
    (void)opaque;
    CHECK(err == NULL);
}

VG_TEST(callbacks_queue_and_stop)
{
    struct vg_aws_http *h = engine(3, 5000);
    struct fanout f = { .h = h };
    struct vg_aws_call_spec s = query("ListThings", NULL, 0);
    s.token_param = "Marker";
    CHECK_EQ_INT(vg_aws_http_call(h, &s, good_creds, fanout_page, fanout_done, &f), VG_OK);
    char err[256];
    CHECK_EQ_INT(vg_aws_http_run(h, 20000, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(f.queued, 4);
    for (int i = 0; i < 4; i++) {
        CHECK(f.child[i].done && !f.child[i].failed);
        CHECK_EQ_STR(f.child[i].root, "DescribeThingsResponse");
        result_free(&f.child[i]);
    }
    /* a page callback that says stop */
    struct result r;
    result_init(&r, "Things", "Marker");
    r.page_rc = VG_ERR_LIMIT;
    run(h, &s, &r);
    CHECK(r.failed);
    CHECK_EQ_INT(r.pages, 1);
    CHECK_EQ_INT(r.err.kind, VG_AWS_ERR_CALLBACK);
    CHECK_EQ_INT(r.err.err, VG_ERR_LIMIT);
    result_free(&r);
    /* a next page for a call without token_param */
    struct vg_aws_call_spec s2 = query("ListThings", NULL, 0);
    result_init(&r, "Things", "Marker");
    run(h, &s2, &r);
    CHECK(r.failed);
    CHECK_CONTAINS(r.err.text, "has no token_param");
    result_free(&r);
    /* destroyed with calls queued: each still gets its done callback */
    result_init(&r, NULL, NULL);
    CHECK_EQ_INT(vg_aws_http_call(h, &s, good_creds, on_page, on_done, &r), VG_OK);
    vg_aws_http_destroy(h);
    CHECK(r.done && r.failed);
    CHECK_CONTAINS(r.err.text, "shut down");
    result_free(&r);
    /* specs that cannot make a request */
    h = engine(3, 5000);
    struct vg_aws_call_spec bad = query("X", NULL, 0);
    bad.version = NULL;
    CHECK_EQ_INT(vg_aws_http_call(h, &bad, good_creds, on_page, on_done, &r), VG_ERR_INVALID);
    bad = query("X", NULL, 0);
    bad.region = "not a region";
    CHECK_EQ_INT(vg_aws_http_call(h, &bad, good_creds, on_page, on_done, &r), VG_ERR_INVALID);
    struct vg_aws_param hdr[] = { { "X-Evil", "a\r\nInjected: 1" } };
    bad = query("X", NULL, 0);
    bad.headers = hdr;
    bad.nheaders = 1;
    CHECK_EQ_INT(vg_aws_http_call(h, &bad, good_creds, on_page, on_done, &r), VG_ERR_INVALID);
    struct vg_aws_param hosthdr[] = { { "host", "elsewhere" } };
    bad.headers = hosthdr;
    CHECK_EQ_INT(vg_aws_http_call(h, &bad, good_creds, on_page, on_done, &r), VG_ERR_INVALID);
    vg_aws_http_destroy(h);
}

static long long server_max_in_flight(const char *key)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/_stats", fault.base);
    struct vg_aws_simple_request rq = { .method = "GET", .url = url, .timeout_ms = 3000 };
    struct vg_aws_simple_response rs;
    struct vg_aws_error e;
    long long n = -1;
    if (vg_aws_http_simple(&rq, &rs, &e) == VG_OK) {
        char jerr[64];
        struct vg_json *doc = vg_json_parse(rs.body.data, rs.body.len, jerr, sizeof(jerr));
        n = vg_json_get_int(vg_json_get(vg_json_get(doc, "max_in_flight"), key));
        vg_json_free(doc);
    }
    vg_aws_simple_response_free(&rs);
    return n;
}

VG_TEST(concurrency_bounds)
{
    struct vg_aws_http_opts o = { .endpoint_url = fault.base, .max_in_flight = 5,
                                  .max_per_service = 3, .timeout_ms = 10000 };
    char err[256];
    struct vg_aws_http *h = vg_aws_http_new(&o, err, sizeof(err));
    struct vg_aws_param p[] = { { "Delay", "0.25" } };
    struct result r[16];
    const char *regions[] = { "ap-east-1", "sa-east-1" };
    for (int i = 0; i < 16; i++) {
        struct vg_aws_call_spec s = query("Slow", p, 1);
        s.service = "slowsvc";
        s.region = regions[i % 2];
        result_init(&r[i], NULL, NULL);
        CHECK_EQ_INT(vg_aws_http_call(h, &s, good_creds, on_page, on_done, &r[i]), VG_OK);
    }
    int64_t t0 = vg_time_mono_ms();
    CHECK_EQ_INT(vg_aws_http_run(h, 20000, err, sizeof(err)), VG_OK);
    int64_t took = vg_time_mono_ms() - t0;
    for (int i = 0; i < 16; i++) {
        CHECK(r[i].done && !r[i].failed);
        result_free(&r[i]);
    }
    /* at most 3 per (service, region) and at most 5 in all, as seen by the
     * server; how many overlapped on this machine at this moment is
     * printed, not asserted (no timed assertions in tests) */
    long long a = server_max_in_flight("slowsvc/ap-east-1");
    long long b = server_max_in_flight("slowsvc/sa-east-1");
    CHECK(a >= 1 && a <= 3);
    CHECK(b >= 1 && b <= 3);
    struct vg_aws_http_stats st[8];
    const struct vg_aws_http_stats *ss = stats_of(h, "slowsvc", st, 8);
    CHECK(ss && ss->max_in_flight <= 5 && ss->max_in_flight >= 1);
    fprintf(stderr, "  concurrency: %lld and %lld in flight per region, %d in all, 16 calls of "
                    "250 ms in %lld ms\n", a, b, ss ? (int)ss->max_in_flight : -1,
            (long long)took);
    vg_aws_http_destroy(h);
}

/* ---- moto ------------------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Starts moto on a free port and waits (poll with a deadline) until it
 * answers; pid 0 when it cannot. */
static pid_t start_moto(char *base, size_t n)
{
    int port = free_port();
    if (port <= 0)
        return 0;
    snprintf(base, n, "http://127.0.0.1:%d", port);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        char ps[16];
        snprintf(ps, sizeof(ps), "%d", port);
        setenv("INITIAL_NO_AUTH_ACTION_COUNT", "0", 1);
        execlp("python3", "python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", ps,
               (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return 0;
    char url[128];
    snprintf(url, sizeof(url), "%s/moto-api/", base);
    long long end = testsrv_now_ms() + 60000;
    while (testsrv_now_ms() < end) {
        struct vg_aws_simple_request rq = { .method = "GET", .url = url, .timeout_ms = 2000 };
        struct vg_aws_simple_response rs;
        struct vg_aws_error e;
        enum vg_err rc = vg_aws_http_simple(&rq, &rs, &e);
        vg_aws_simple_response_free(&rs);
        if (rc == VG_OK)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return 0;
        poll(NULL, 0, 100);    /* the next try, not a wait for a result */
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}

static int moto_post(const char *base, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", base, path);
    /* not a form: Flask would eat the body */
    static const char *const hdrs[] = { "Content-Type: text/plain", NULL };
    struct vg_aws_simple_request rq = { .method = "POST", .url = url, .body = body,
                                        .body_len = strlen(body), .timeout_ms = 10000,
                                        .headers = hdrs };
    struct vg_aws_simple_response rs;
    struct vg_aws_error e;
    enum vg_err rc = vg_aws_http_simple(&rq, &rs, &e);
    long st = rs.status;
    vg_aws_simple_response_free(&rs);
    return rc == VG_OK && st == 200 ? 0 : -1;
}

static enum vg_err moto_call(struct vg_aws_http *h, struct vg_aws_creds_provider *c,
                             struct vg_aws_call_spec s, struct vg_json **out,
                             struct vg_aws_error *e)
{
    vg_json_free(*out);
    *out = NULL;
    enum vg_err rc = vg_aws_http_once(h, &s, c, out, e);
    if (rc)
        fprintf(stderr, "moto: %s\n", e->text);
    return rc;
}

static struct vg_aws_call_spec iam(const char *op, const struct vg_aws_param *p, size_t n)
{
    return (struct vg_aws_call_spec){ .service = "iam", .region = "us-east-1",
                                      .protocol = VG_AWS_QUERY, .operation = op,
                                      .version = "2010-05-08", .params = p, .nparams = n };
}

static struct vg_aws_call_spec sts_identity(void)
{
    return (struct vg_aws_call_spec){ .service = "sts", .region = "us-east-1",
                                      .protocol = VG_AWS_QUERY,
                                      .operation = "GetCallerIdentity", .version = "2011-06-15" };
}

VG_TEST(moto_checks_signatures)
{
    if (system("python3 -c 'import moto' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP moto: python3 cannot import moto\n");
        return;
    }
    char base[64];
    pid_t pid = start_moto(base, sizeof(base));
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    struct vg_aws_http_opts o = { .endpoint_url = base, .max_attempts = 2, .timeout_ms = 20000 };
    char err[256];
    struct vg_aws_http *h = vg_aws_http_new(&o, err, sizeof(err));
    struct vg_json *doc = NULL;
    struct vg_aws_error e;

    /* verification is on: an unknown key is refused */
    struct vg_aws_creds_provider *nobody = vg_aws_creds_static_new("AKIANOBODY0000000000", "x", NULL);
    CHECK_EQ_INT(vg_aws_http_once(h, &(struct vg_aws_call_spec){ 0 }, nobody, &doc, &e),
                 VG_ERR_INVALID);
    struct vg_aws_call_spec gci = sts_identity();
    CHECK_EQ_INT(vg_aws_http_once(h, &gci, nobody, &doc, &e), VG_ERR_PERM);
    CHECK_EQ_INT(e.kind, VG_AWS_ERR_AUTH);
    CHECK_CONTAINS(e.text, "bad credentials for sts:GetCallerIdentity: InvalidClientTokenId");

    /* bootstrap: let exactly three unauthenticated actions through to make a
     * user with a key and an admin policy, then every request is checked */
    CHECK_EQ_INT(moto_post(base, "/moto-api/reset-auth", "3"), 0);
    struct vg_aws_param u[] = { { "UserName", "vigil" } };
    CHECK_EQ_INT(moto_call(h, nobody, iam("CreateUser", u, 1), &doc, &e), VG_OK);
    CHECK_EQ_INT(moto_call(h, nobody, iam("CreateAccessKey", u, 1), &doc, &e), VG_OK);
    const struct vg_json *ak = vg_json_get(doc, "AccessKey");
    char akid[64] = "", secret[128] = "";
    const char *s1 = vg_json_get_str(vg_json_get(ak, "AccessKeyId"));
    snprintf(akid, sizeof(akid), "%s", s1 ? s1 : "");
    const char *s2 = vg_json_get_str(vg_json_get(ak, "SecretAccessKey"));
    snprintf(secret, sizeof(secret), "%s", s2 ? s2 : "");
    CHECK(akid[0] && secret[0]);
    struct vg_aws_param pol[] = {
        { "UserName", "vigil" }, { "PolicyName", "admin" },
        { "PolicyDocument", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                            "\"Action\":\"*\",\"Resource\":\"*\"}]}" } };
    CHECK_EQ_INT(moto_call(h, nobody, iam("PutUserPolicy", pol, 3), &doc, &e), VG_OK);
    vg_aws_creds_destroy(nobody);

    struct vg_aws_creds_provider *good = vg_aws_creds_static_new(akid, secret, NULL);
    /* query: sts:GetCallerIdentity and iam:ListUsers, signed, accepted */
    CHECK_EQ_INT(moto_call(h, good, sts_identity(), &doc, &e), VG_OK);
    CHECK_CONTAINS(vg_json_get_str(vg_json_get(doc, "Arn")), ":user/vigil");
    static const char *const users_lists[] = { "Users", NULL };
    static const struct vg_aws_xml_opts ux = { .lists = users_lists };
    struct vg_aws_call_spec lu = iam("ListUsers", NULL, 0);
    lu.xml = &ux;
    CHECK_EQ_INT(moto_call(h, good, lu, &doc, &e), VG_OK);
    CHECK_EQ_INT(vg_json_len(vg_json_get(doc, "Users")), 1);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(vg_json_get(doc, "Users"), 0),
                                             "UserName")), "vigil");
    /* a wrong secret: refused, with the words a reason needs */
    struct vg_aws_creds_provider *wrong = vg_aws_creds_static_new(akid, "wrong-secret", NULL);
    CHECK_EQ_INT(moto_call(h, wrong, iam("ListUsers", NULL, 0), &doc, &e), VG_ERR_PERM);
    CHECK_EQ_INT(e.kind, VG_AWS_ERR_AUTH);
    CHECK_CONTAINS(e.text, "bad credentials for iam:ListUsers: SignatureDoesNotMatch");
    vg_aws_creds_destroy(wrong);

    /* ec2: the default security group, converted */
    static const char *const sg_lists[] = { "securityGroupInfo", "ipPermissions",
                                            "ipPermissionsEgress", "ipRanges", NULL };
    static const struct vg_aws_xml_opts sgx = { .lists = sg_lists };
    struct vg_aws_call_spec dsg = { .service = "ec2", .region = "eu-west-1",
                                    .protocol = VG_AWS_EC2, .operation = "DescribeSecurityGroups",
                                    .version = "2016-11-15", .xml = &sgx };
    CHECK_EQ_INT(moto_call(h, good, dsg, &doc, &e), VG_OK);
    CHECK(vg_json_len(vg_json_get(doc, "securityGroupInfo")) >= 1);
    CHECK_EQ_INT(vg_json_type(vg_json_get(vg_json_at(vg_json_get(doc, "securityGroupInfo"), 0),
                                          "ipPermissionsEgress")), VG_JSON_ARRAY);

    /* rest-xml: S3 with x-amz-content-sha256 signed */
    struct vg_aws_call_spec cb = { .service = "s3", .region = "us-east-1",
                                   .protocol = VG_AWS_REST_XML, .operation = "CreateBucket",
                                   .method = "PUT", .bucket = "vigil-test-bucket" };
    CHECK_EQ_INT(moto_call(h, good, cb, &doc, &e), VG_OK);
    static const char *const b_lists[] = { "Buckets", NULL };
    static const struct vg_aws_xml_opts bx = { .lists = b_lists };
    struct vg_aws_call_spec lb = { .service = "s3", .region = "us-east-1",
                                   .protocol = VG_AWS_REST_XML, .operation = "ListBuckets",
                                   .xml = &bx };
    CHECK_EQ_INT(moto_call(h, good, lb, &doc, &e), VG_OK);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(vg_json_get(doc, "Buckets"), 0), "Name")),
                 "vigil-test-bucket");
    struct vg_aws_param encp[] = { { "encryption", NULL } };
    struct vg_aws_call_spec ge = { .service = "s3", .region = "us-east-1",
                                   .protocol = VG_AWS_REST_XML, .operation = "GetBucketEncryption",
                                   .bucket = "vigil-test-bucket", .params = encp, .nparams = 1 };
    vg_json_free(doc);
    enum vg_err rc = vg_aws_http_once(h, &ge, good, &doc, &e);
    /* moto either has a default (SSE-S3, as AWS since 2023) or says none: never a signature error */
    CHECK(rc == VG_OK || (e.kind == VG_AWS_ERR_SERVICE &&
                          strcmp(e.code, "ServerSideEncryptionConfigurationNotFoundError") == 0));

    /* S3 Control: the account's public access block, signed as s3 */
    struct vg_aws_param acct[] = { { "x-amz-account-id", "123456789012" } };
    struct vg_aws_call_spec pab = { .service = "s3-control", .region = "us-east-1",
                                    .protocol = VG_AWS_REST_XML,
                                    .operation = "GetPublicAccessBlock",
                                    .path = "/v20180820/configuration/publicAccessBlock",
                                    .headers = acct, .nheaders = 1,
                                    .host_prefix = "123456789012." };
    vg_json_free(doc);
    rc = vg_aws_http_once(h, &pab, good, &doc, &e);
    if (rc)
        fprintf(stderr, "moto s3-control: %s\n", e.text);
    CHECK(rc == VG_OK || (e.kind == VG_AWS_ERR_SERVICE &&
                          strcmp(e.code, "NoSuchPublicAccessBlockConfiguration") == 0));

    /* json 1.1 (moto refuses every signed rest-json GET, boto3's too, so
     * rest-json is checked against fault_server.py's verifier instead) */
    struct vg_aws_call_spec lk = { .service = "kms", .region = "eu-west-1",
                                   .protocol = VG_AWS_JSON, .operation = "ListKeys",
                                   .target = "TrentService" };
    CHECK_EQ_INT(moto_call(h, good, lk, &doc, &e), VG_OK);
    CHECK_EQ_INT(vg_json_type(vg_json_get(doc, "Keys")), VG_JSON_ARRAY);
    struct vg_aws_call_spec dt = { .service = "cloudtrail", .region = "eu-west-1",
                                   .protocol = VG_AWS_JSON, .operation = "DescribeTrails",
                                   .target = "CloudTrail_20131101" };
    CHECK_EQ_INT(moto_call(h, good, dt, &doc, &e), VG_OK);
    CHECK_EQ_INT(vg_json_type(vg_json_get(doc, "trailList")), VG_JSON_ARRAY);

    /* a session token: AssumeRole into a role, then calls with the temporary keys */
    struct vg_aws_param cr[] = {
        { "RoleName", "audit" },
        { "AssumeRolePolicyDocument", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
                                      "\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":"
                                      "\"sts:AssumeRole\"}]}" } };
    CHECK_EQ_INT(moto_call(h, good, iam("CreateRole", cr, 2), &doc, &e), VG_OK);
    const char *role_arn = vg_json_get_str(vg_json_get(vg_json_get(doc, "Role"), "Arn"));
    char arn[256];
    snprintf(arn, sizeof(arn), "%s", role_arn ? role_arn : "");
    struct vg_aws_param rp[] = { { "RoleName", "audit" }, { "PolicyName", "all" },
                                 { "PolicyDocument", pol[2].value } };
    CHECK_EQ_INT(moto_call(h, good, iam("PutRolePolicy", rp, 3), &doc, &e), VG_OK);
    struct vg_aws_creds_opts co = { .endpoint_url = base };
    struct vg_aws_assume_role ar = { .role_arn = arn, .external_id = "ext-1" };
    struct vg_aws_creds_provider *assumed = vg_aws_creds_assume_role_new(good, &ar, &co);
    const struct vg_aws_creds *ac = NULL;
    CHECK_EQ_INT(vg_aws_creds_get(assumed, &ac, err, sizeof(err)), VG_OK);
    CHECK(ac && ac->session_token[0]);
    CHECK_EQ_INT(moto_call(h, assumed, sts_identity(), &doc, &e), VG_OK);
    CHECK_CONTAINS(vg_json_get_str(vg_json_get(doc, "Arn")), ":assumed-role/audit/");
    CHECK_EQ_INT(moto_call(h, assumed, lu, &doc, &e), VG_OK);
    vg_json_free(doc);
    vg_aws_creds_destroy(assumed);
    vg_aws_creds_destroy(good);
    vg_aws_http_destroy(h);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    if (testsrv_start_script(&fault, "fault_server.py") != 0)
        return 1;
    good_creds = vg_aws_creds_static_new("AKIDTEST", "test-secret", NULL);
    int rc = vg_test_run(argc, argv);
    vg_aws_creds_destroy(good_creds);
    testsrv_stop(&fault);
    return rc;
}
