/*
 * SigV4: the official suite (../shared/testdata/aws-sigv4/), one ctest per
 * case ("test_aws_sigv4 --case DIR"), and the S3 rules the suite does not
 * cover (no normalising, no second encoding, x-amz-content-sha256), from
 * the worked examples in the S3 documentation.
 *
 * Without arguments it runs the unit tests and then every suite case it
 * finds under VG_SOURCE_DIR/../shared/testdata/aws-sigv4.
 */
#include "vgtest.h"

#include "agent/buf.h"
#include "agent/hash.h"
#include "agent/json.h"
#include "agent/timeutil.h"
#include "checks/aws/sigv4.h"

#include <dirent.h>
#include <sys/stat.h>

/* ---- one suite case -------------------------------------------------- */

static char *read_text(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    if (vg_buf_read_file(&b, path)) {
        vg_buf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len;
    char *s = vg_buf_detach(&b);
    vg_buf_free(&b);
    return s;
}

#define MAX_HDR 32

struct raw_request {
    char *text;                 /* the file, cut in place */
    char *method, *path, *query;
    struct vg_sigv4_header h[MAX_HDR];
    size_t nh;
    char *values[MAX_HDR];      /* owned copies of folded values */
    const char *body;
    size_t body_len;
};

/* Parses request.txt: "METHOD target HTTP/1.1", "Name:value" lines (a line
 * that starts with a blank continues the value before it, folded with a
 * newline kept), a blank line, the body. */
static int parse_request(char *text, size_t len, struct raw_request *r)
{
    memset(r, 0, sizeof(*r));
    r->text = text;
    char *end = text + len;
    char *eol = memchr(text, '\n', len);
    if (!eol)
        eol = end;
    *eol = '\0';
    char *sp1 = strchr(text, ' ');
    char *sp2 = strrchr(text, ' ');
    if (!sp1 || sp1 == sp2)
        return -1;
    *sp1 = '\0';
    *sp2 = '\0';
    r->method = text;
    r->path = sp1 + 1;
    char *q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    char *line = eol < end ? eol + 1 : end;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *stop = nl ? nl : end;
        if (stop == line) {             /* the blank line */
            r->body = line + 1 <= end ? line + 1 : end;
            r->body_len = (size_t)(end - r->body);
            break;
        }
        *stop = '\0';
        if ((*line == ' ' || *line == '\t') && r->nh) {
            size_t i = r->nh - 1;
            const char *old = r->values[i] ? r->values[i] : r->h[i].value;
            size_t n = strlen(old) + strlen(line) + 2;
            char *v = malloc(n);
            snprintf(v, n, "%s\n%s", old, line);
            free(r->values[i]);
            r->values[i] = v;
            r->h[i].value = v;
        } else {
            char *colon = strchr(line, ':');
            if (!colon || r->nh == MAX_HDR)
                return -1;
            *colon = '\0';
            r->h[r->nh].name = line;
            r->h[r->nh].value = colon + 1;
            r->nh++;
        }
        line = nl ? nl + 1 : end;
    }
    return 0;
}

static void free_request(struct raw_request *r)
{
    for (size_t i = 0; i < MAX_HDR; i++)
        free(r->values[i]);
    free(r->text);
}

static const char *jstr(const struct vg_json *o, const char *k)
{
    return vg_json_get_str(vg_json_get(o, k));
}

/* The Authorization line of header-signed-request.txt. */
static char *expected_authorization(const char *dir)
{
    char *t = read_text(dir, "header-signed-request.txt", NULL);
    if (!t)
        return NULL;
    char *a = strstr(t, "\nAuthorization:");
    char *res = NULL;
    if (a) {
        a += strlen("\nAuthorization:");
        char *nl = strchr(a, '\n');
        res = strndup(a, nl ? (size_t)(nl - a) : strlen(a));
    }
    free(t);
    return res;
}

static int run_case(const char *dir)
{
    int before = vg_test_failures;
    size_t clen = 0, rlen = 0;
    char *ctx_text = read_text(dir, "context.json", &clen);
    char *req_text = read_text(dir, "request.txt", &rlen);
    char *want_cr = read_text(dir, "header-canonical-request.txt", NULL);
    char *want_sts = read_text(dir, "header-string-to-sign.txt", NULL);
    char *want_sig = read_text(dir, "header-signature.txt", NULL);
    char *want_auth = expected_authorization(dir);
    CHECK(ctx_text && req_text && want_cr && want_sts && want_sig && want_auth);
    if (!ctx_text || !req_text || !want_cr || !want_sts || !want_sig || !want_auth) {
        fprintf(stderr, "%s: suite files missing\n", dir);
        free(ctx_text);
        free(req_text);
        free(want_cr);
        free(want_sts);
        free(want_sig);
        free(want_auth);
        return 1;
    }
    char errbuf[256] = "";
    struct vg_json *ctx = vg_json_parse(ctx_text, clen, errbuf, sizeof(errbuf));
    CHECK(ctx != NULL);
    struct raw_request r;
    CHECK_EQ_INT(parse_request(req_text, rlen, &r), 0);

    const struct vg_json *cr = vg_json_get(ctx, "credentials");
    int64_t ms = 0;
    CHECK_EQ_INT(vg_time_parse(jstr(ctx, "timestamp"), &ms), 0);
    struct vg_sigv4_params p = {
        .access_key_id = jstr(cr, "access_key_id"),
        .secret_access_key = jstr(cr, "secret_access_key"),
        .session_token = jstr(cr, "token"),
        .region = jstr(ctx, "region"),
        .service = jstr(ctx, "service"),
        .time_ms = ms,
        .normalize_path = vg_json_get_bool(vg_json_get(ctx, "normalize")),
        .sign_body = vg_json_get_bool(vg_json_get(ctx, "sign_body")),
        .omit_session_token = vg_json_get_bool(vg_json_get(ctx, "omit_session_token")),
    };
    struct vg_sigv4_request req = {
        .method = r.method, .path = r.path, .query = r.query,
        .headers = r.h, .nheaders = r.nh, .body = r.body, .body_len = r.body_len,
    };
    struct vg_sigv4_result res;
    enum vg_err err = vg_sigv4_sign(&req, &p, &res, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    if (!err) {
        /* byte for byte */
        CHECK_EQ_STR(vg_buf_str(&res.canonical_request), want_cr);
        CHECK_EQ_INT(res.canonical_request.len, strlen(want_cr));
        CHECK_EQ_STR(vg_buf_str(&res.string_to_sign), want_sts);
        CHECK_EQ_STR(res.signature, want_sig);
        CHECK_EQ_STR(vg_buf_str(&res.authorization), want_auth);
    } else {
        fprintf(stderr, "%s: %s\n", dir, errbuf);
    }
    vg_sigv4_result_free(&res);
    vg_json_free(ctx);
    free_request(&r);
    free(ctx_text);
    free(want_cr);
    free(want_sts);
    free(want_sig);
    free(want_auth);
    int failed = vg_test_failures != before;
    fprintf(stderr, "%s %s\n", failed ? "FAIL" : "ok  ", dir);
    return failed;
}

static const char *suite_dir(char *buf, size_t n)
{
    const char *src = getenv("VG_SOURCE_DIR");
    snprintf(buf, n, "%s/../shared/testdata/aws-sigv4", src ? src : ".");
    return buf;
}

/* ---- unit tests -------------------------------------------------------- */

static const char *S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

VG_TEST(signing_key_documented_example)
{
    /* the derivation example of the SigV4 documentation */
    uint8_t key[32];
    char hex[65];
    CHECK_EQ_INT(vg_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                      "us-east-1", "iam", key), VG_OK);
    vg_hex(key, 32, hex);
    CHECK_EQ_STR(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

static struct vg_sigv4_params s3_params(void)
{
    int64_t ms = 0;
    vg_time_parse("2013-05-24T00:00:00Z", &ms);
    return (struct vg_sigv4_params){
        .access_key_id = "AKIAIOSFODNN7EXAMPLE", .secret_access_key = S3_SECRET,
        .region = "us-east-1", .service = "s3", .time_ms = ms, .s3 = true, .sign_body = true,
    };
}

VG_TEST(s3_get_object_documented_example)
{
    /* S3 API reference, "Signature Calculations for the Authorization
     * Header": GET Object */
    struct vg_sigv4_header h[] = { { "Host", "examplebucket.s3.amazonaws.com" },
                                   { "Range", "bytes=0-9" } };
    struct vg_sigv4_request req = { "GET", "/test.txt", NULL, h, 2, NULL, 0 };
    struct vg_sigv4_params p = s3_params();
    struct vg_sigv4_result res;
    CHECK_EQ_INT(vg_sigv4_sign(&req, &p, &res, NULL, 0), VG_OK);
    CHECK_EQ_STR(vg_buf_str(&res.canonical_request),
                 "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                 "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
                 "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_EQ_STR(res.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    vg_sigv4_result_free(&res);
}

VG_TEST(s3_list_objects_documented_example)
{
    /* the same page: GET Bucket (List Objects) with a sorted query */
    struct vg_sigv4_header h[] = { { "Host", "examplebucket.s3.amazonaws.com" } };
    struct vg_sigv4_request req = { "GET", "/", "max-keys=2&prefix=J", h, 1, NULL, 0 };
    struct vg_sigv4_params p = s3_params();
    struct vg_sigv4_result res;
    CHECK_EQ_INT(vg_sigv4_sign(&req, &p, &res, NULL, 0), VG_OK);
    CHECK_CONTAINS(vg_buf_str(&res.canonical_request), "GET\n/\nmax-keys=2&prefix=J\n");
    CHECK_EQ_STR(res.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    vg_sigv4_result_free(&res);
}

VG_TEST(s3_bucket_lifecycle_documented_example)
{
    /* the same page: GET Bucket lifecycle, a query name without value */
    struct vg_sigv4_header h[] = { { "Host", "examplebucket.s3.amazonaws.com" } };
    struct vg_sigv4_request req = { "GET", "/", "lifecycle", h, 1, NULL, 0 };
    struct vg_sigv4_params p = s3_params();
    struct vg_sigv4_result res;
    CHECK_EQ_INT(vg_sigv4_sign(&req, &p, &res, NULL, 0), VG_OK);
    CHECK_CONTAINS(vg_buf_str(&res.canonical_request), "GET\n/\nlifecycle=\n");
    CHECK_EQ_STR(res.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    vg_sigv4_result_free(&res);
}

static char *canonical_path_of(const char *path, bool s3, bool normalize)
{
    struct vg_sigv4_header h[] = { { "Host", "example.amazonaws.com" } };
    struct vg_sigv4_request req = { "GET", path, NULL, h, 1, NULL, 0 };
    struct vg_sigv4_params p = { .access_key_id = "AK", .secret_access_key = "S",
                                 .region = "us-east-1", .service = s3 ? "s3" : "iam",
                                 .time_ms = 1, .s3 = s3, .normalize_path = normalize };
    struct vg_sigv4_result res;
    char *out = NULL;
    if (vg_sigv4_sign(&req, &p, &res, NULL, 0) == VG_OK) {
        const char *cr = vg_buf_str(&res.canonical_request);
        const char *a = strchr(cr, '\n') + 1;
        out = strndup(a, (size_t)(strchr(a, '\n') - a));
    }
    vg_sigv4_result_free(&res);
    return out;
}

VG_TEST(path_rules_s3_and_others)
{
    char *s;
    /* S3: as on the wire */
    CHECK_EQ_STR(s = canonical_path_of("/my%20key//a/../b", true, true), "/my%20key//a/../b");
    free(s);
    /* others: normalised and encoded a second time */
    CHECK_EQ_STR(s = canonical_path_of("/my%20key//a/../b", false, true), "/my%2520key/b");
    free(s);
    CHECK_EQ_STR(s = canonical_path_of("/a/b/..", false, true), "/a");
    free(s);
    CHECK_EQ_STR(s = canonical_path_of("", false, true), "/");
    free(s);
    CHECK_EQ_STR(s = canonical_path_of("/..", false, true), "/");
    free(s);
    CHECK_EQ_STR(s = canonical_path_of("/detector/a:b", false, false), "/detector/a%3Ab");
    free(s);
}

VG_TEST(query_encoding_and_order)
{
    struct vg_sigv4_header h[] = { { "Host", "example.amazonaws.com" } };
    struct vg_sigv4_request req = { "GET", "/", "b=2&a=%7e&a=1&c&&d=x+y&e=%zz&f=%2F", h, 1, NULL, 0 };
    struct vg_sigv4_params p = { .access_key_id = "AK", .secret_access_key = "S",
                                 .region = "us-east-1", .service = "iam", .time_ms = 1 };
    struct vg_sigv4_result res;
    CHECK_EQ_INT(vg_sigv4_sign(&req, &p, &res, NULL, 0), VG_OK);
    CHECK_CONTAINS(vg_buf_str(&res.canonical_request),
                   "\na=1&a=~&b=2&c=&d=x%2By&e=%25zz&f=%2F\n");
    vg_sigv4_result_free(&res);
}

VG_TEST(session_token_and_payload)
{
    struct vg_sigv4_header h[] = { { "host", "sts.amazonaws.com" },
                                   { "Content-Type", "application/x-www-form-urlencoded" },
                                   { "User-Agent", "vigil" },
                                   { "X-Amz-Date", "ignored" } };
    const char *body = "Action=GetCallerIdentity&Version=2011-06-15";
    struct vg_sigv4_request req = { "POST", "/", NULL, h, 4, body, strlen(body) };
    struct vg_sigv4_params p = { .access_key_id = "AK", .secret_access_key = "S",
                                 .session_token = "TOKEN", .region = "us-east-1",
                                 .service = "sts", .time_ms = 1440938160000 };
    struct vg_sigv4_result res;
    CHECK_EQ_INT(vg_sigv4_sign(&req, &p, &res, NULL, 0), VG_OK);
    CHECK_EQ_STR(vg_buf_str(&res.signed_headers), "content-type;host;x-amz-date;x-amz-security-token");
    CHECK_EQ_STR(res.amz_date, "20150830T123600Z");
    CHECK_CONTAINS(vg_buf_str(&res.canonical_request), "x-amz-security-token:TOKEN\n");
    uint8_t d[32];
    char hex[65];
    vg_sha256(body, strlen(body), d);
    vg_hex(d, 32, hex);
    CHECK_EQ_STR(res.payload_hash, hex);
    CHECK(strstr(vg_buf_str(&res.canonical_request), "ignored") == NULL);
    CHECK(strstr(vg_buf_str(&res.canonical_request), "vigil") == NULL);
    vg_sigv4_result_free(&res);
}

VG_TEST(refuses_bad_input)
{
    char errbuf[256];
    struct vg_sigv4_header h[] = { { "X-Other", "1" } };
    struct vg_sigv4_request req = { "GET", "/", NULL, h, 1, NULL, 0 };
    struct vg_sigv4_params p = { .access_key_id = "AK", .secret_access_key = "S",
                                 .region = "us-east-1", .service = "iam", .time_ms = 1 };
    struct vg_sigv4_result res;
    CHECK_EQ_INT(vg_sigv4_sign(&req, &p, &res, errbuf, sizeof(errbuf)), VG_ERR_INVALID);
    CHECK_CONTAINS(errbuf, "no Host header");
    vg_sigv4_result_free(&res);
    struct vg_sigv4_header hh[] = { { "Host", "x" } };
    req.headers = hh;
    p.secret_access_key = "";
    CHECK_EQ_INT(vg_sigv4_sign(&req, &p, &res, errbuf, sizeof(errbuf)), VG_ERR_INVALID);
    vg_sigv4_result_free(&res);
    p.secret_access_key = "S";
    p.region = "us/east";
    CHECK_EQ_INT(vg_sigv4_sign(&req, &p, &res, errbuf, sizeof(errbuf)), VG_ERR_INVALID);
    vg_sigv4_result_free(&res);
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--case") == 0)
        return run_case(argv[2]);
    if (argc > 1)
        return vg_test_run(argc, argv);
    int rc = vg_test_run(1, argv);
    /* then the whole suite */
    char dir[4096];
    suite_dir(dir, sizeof(dir));
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "SKIP suite: %s not found\n", dir);
        return rc;
    }
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        char p[8192];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            names[n++] = strdup(p);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmpstr);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        failed += run_case(names[i]);
        free(names[i]);
    }
    fprintf(stderr, "suite: %zu cases, %d failed\n", n, failed);
    return rc || failed || n == 0 ? 1 : 0;
}
