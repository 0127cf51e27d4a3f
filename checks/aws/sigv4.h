/*
 * AWS Signature Version 4, header form ("Authorization: AWS4-HMAC-SHA256
 * Credential=..., SignedHeaders=..., Signature=..."), conformant with the
 * official test suite (../shared/testdata/aws-sigv4/, checked one ctest per
 * case by tests/unit/test_aws_sigv4.c).
 *
 *   canonical request =  METHOD \n
 *                        canonical path \n
 *                        canonical query \n
 *                        name:value \n  (one line per signed header, sorted)
 *                        \n
 *                        signed;header;names \n
 *                        hex(SHA-256(payload))
 *   string to sign    =  AWS4-HMAC-SHA256 \n YYYYMMDDTHHMMSSZ \n
 *                        YYYYMMDD/region/service/aws4_request \n
 *                        hex(SHA-256(canonical request))
 *   signing key       =  HMAC chain "AWS4"+secret -> date -> region ->
 *                        service -> "aws4_request"
 *   signature         =  hex(HMAC(signing key, string to sign))
 *
 * Paths: the path is taken as it goes on the wire. Every service but S3
 * normalises it (dot segments and empty segments removed, as botocore's
 * remove_dot_segments) and URI-encodes it once more ("double encoding": a
 * '%' becomes %25). S3 signs the wire path as it is. The query string is
 * split into parameters, each name and value decoded and encoded again
 * with the strict set (A-Z a-z 0-9 - _ . ~ kept), sorted by name, then
 * value.
 *
 * Headers: names lower-cased; values trimmed, and every run of blanks
 * (space, tab, CR, LF: a folded multi-line value too) collapsed to one
 * space; repeated headers joined with "," in their order. Every header
 * given is signed except authorization, user-agent, expect,
 * x-amzn-trace-id, connection and transfer-encoding. The signer adds
 * x-amz-date, x-amz-security-token (when there is a session token, unless
 * omit_session_token) and x-amz-content-sha256 (when sign_body: S3 wants
 * it), and signs them.
 */
#ifndef VG_AWS_SIGV4_H
#define VG_AWS_SIGV4_H

#include "../../agent/buf.h"
#include "../../agent/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_SIGV4_HEX_LEN   65    /* 64 hex digits and the NUL */
#define VG_SIGV4_DATE_LEN  17    /* "20150830T123600Z" and the NUL */
#define VG_SIGV4_MAX_TEXT  (256u << 10)   /* canonical request, authorization */

struct vg_sigv4_header {
    const char *name;      /* any case; borrowed */
    const char *value;     /* raw value; borrowed */
};

/* The request to sign. Everything borrowed. */
struct vg_sigv4_request {
    const char *method;                   /* "GET" */
    const char *path;                     /* wire path, "/" when empty */
    const char *query;                    /* after '?'; NULL or "" for none */
    const struct vg_sigv4_header *headers;   /* must hold Host */
    size_t nheaders;
    const void *body;                     /* may be NULL when body_len is 0 */
    size_t body_len;
};

/* Who signs, where and when. Everything borrowed. */
struct vg_sigv4_params {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;            /* NULL or "": none */
    const char *region;                   /* "us-east-1" */
    const char *service;                  /* signing name: "iam", "s3" */
    int64_t time_ms;                      /* the signing time, ms since the epoch */
    bool s3;                              /* S3 path rules: no normalising, no second encoding */
    bool normalize_path;                  /* ignored when s3 */
    bool sign_body;                       /* add and sign x-amz-content-sha256 */
    bool omit_session_token;              /* send the token unsigned (the suite's post-sts-header-after) */
};

/* The result. Owned by the struct: free with vg_sigv4_result_free(). */
struct vg_sigv4_result {
    struct vg_buf canonical_request;
    struct vg_buf string_to_sign;
    struct vg_buf authorization;          /* the Authorization header's value */
    struct vg_buf signed_headers;         /* "host;x-amz-date" */
    char signature[VG_SIGV4_HEX_LEN];
    char payload_hash[VG_SIGV4_HEX_LEN];
    char amz_date[VG_SIGV4_DATE_LEN];     /* the X-Amz-Date header's value */
};

/* Signs req. On success out holds every intermediate, and the caller adds
 * to the request: X-Amz-Date: out->amz_date, Authorization:
 * out->authorization, X-Amz-Security-Token (when a token was given) and
 * x-amz-content-sha256: out->payload_hash (when sign_body). out needs no
 * initialisation and must be freed whatever the result. Errors:
 * VG_ERR_INVALID (no Host header, a missing parameter, a time that cannot
 * be formatted), VG_ERR_LIMIT, VG_ERR_NOMEM, with a sentence in errbuf. */
enum vg_err vg_sigv4_sign(const struct vg_sigv4_request *req, const struct vg_sigv4_params *p,
                          struct vg_sigv4_result *out, char *errbuf, size_t errlen);

void vg_sigv4_result_free(struct vg_sigv4_result *r);

/* Appends s[0..n) URI-encoded as SigV4 wants it: A-Z a-z 0-9 - _ . ~ kept
 * (and '/' when keep_slash), every other byte %XX in upper case. Also what
 * the engine uses to build query strings, form bodies and S3 paths. */
enum vg_err vg_sigv4_uri_encode(struct vg_buf *out, const char *s, size_t n, bool keep_slash);

/* The derived signing key (32 bytes) for the date "YYYYMMDD". */
enum vg_err vg_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                                 const char *service, uint8_t key[32]);

#endif
