/*
 * What the parts of the AWS client share: the bounds on everything read
 * from the network, the wire protocols, and the error of one AWS call.
 *
 * The client is four files, each owning one thing:
 *   sigv4.c  Signature Version 4 (canonical request, string to sign, key)
 *   xml.c    AWS XML responses to JSON values, and XML error documents
 *   creds.c  the credential chain of the AWS SDKs, and STS AssumeRole
 *   http.c   the request engine: curl multi, bounds, retries, pages
 */
#ifndef VG_AWS_H
#define VG_AWS_H

#include "../../agent/err.h"
#include "../../agent/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on input from AWS (or from something pretending to be AWS).
 * They belong with the others in agent/limits.h; they live here until the
 * lead moves them. */
#define VG_AWS_MAX_BODY          (64u << 20)   /* one response body */
#define VG_AWS_MAX_REQUEST_BODY  (1u << 20)    /* one request body we build */
#define VG_AWS_XML_MAX_DEPTH     VG_MAX_JSON_DEPTH  /* element nesting */
#define VG_AWS_XML_MAX_ELEMENTS  (1u << 20)    /* elements in one document */
#define VG_AWS_XML_MAX_CHILDREN  (1u << 20)    /* children of one element */
#define VG_AWS_XML_MAX_NAME      256           /* one element name */
#define VG_AWS_MAX_PAGES         10000         /* pages of one paginated call */
#define VG_AWS_MAX_PAGE_TOKEN    (16u << 10)   /* one pagination token */
#define VG_AWS_MAX_HEADERS       64            /* headers of one request */
#define VG_AWS_MAX_URL           8192          /* one request URL */
#define VG_AWS_MAX_CRED_FILE     (1u << 20)    /* ~/.aws/credentials, ~/.aws/config */
#define VG_AWS_MAX_CRED_DOC      (64u << 10)   /* a container/IMDS/STS credential answer */
#define VG_AWS_MAX_TOKEN_FILE    (64u << 10)   /* a web identity token file */
#define VG_AWS_MAX_KEY_ID        128           /* an access key id, NUL included */
#define VG_AWS_MAX_SECRET        256           /* a secret access key, NUL included */
#define VG_AWS_MAX_SESSION_TOKEN (16u << 10)   /* a session token, NUL included */
#define VG_AWS_MAX_ROLE_CHAIN    8             /* source_profile hops */
#define VG_AWS_MAX_SERVICES      64            /* services counted by the engine */
#define VG_AWS_MAX_QUEUED        (1u << 18)    /* calls queued in one engine (~0.5 KiB each) */

/* Wire protocols, as botocore names them. */
enum vg_aws_protocol {
    VG_AWS_QUERY,      /* IAM, STS, RDS, CloudWatch: form POST, XML answer */
    VG_AWS_EC2,        /* EC2: the same form POST, EC2's XML answer */
    VG_AWS_REST_XML,   /* S3, S3 Control: REST paths, XML answer */
    VG_AWS_JSON,       /* json 1.1: CloudTrail, Config, KMS, Logs */
    VG_AWS_REST_JSON,  /* GuardDuty, Security Hub, Access Analyzer */
};

/* Why a call failed, in the words a finding's reason needs. */
enum vg_aws_errkind {
    VG_AWS_ERR_NONE = 0,
    VG_AWS_ERR_AUTH,       /* credentials refused: InvalidClientTokenId, SignatureDoesNotMatch */
    VG_AWS_ERR_EXPIRED,    /* ExpiredToken, RequestExpired */
    VG_AWS_ERR_DENIED,     /* AccessDenied, UnauthorizedOperation */
    VG_AWS_ERR_THROTTLED,  /* still throttled when the attempts ran out */
    VG_AWS_ERR_SERVER,     /* 5xx when the attempts ran out */
    VG_AWS_ERR_SERVICE,    /* any other error answer (NoSuchEntity, ...): see code */
    VG_AWS_ERR_NETWORK,    /* DNS, connect, TLS, reset */
    VG_AWS_ERR_TIMEOUT,    /* no complete answer in time */
    VG_AWS_ERR_PARSE,      /* the answer was not what the protocol says (bad XML) */
    VG_AWS_ERR_LOOP,       /* a pagination token came back a second time */
    VG_AWS_ERR_LIMIT,      /* a bound was passed: body size, pages */
    VG_AWS_ERR_CREDS,      /* no credentials could be obtained */
    VG_AWS_ERR_CALLBACK,   /* the caller's page callback returned an error */
    VG_AWS_ERR_INTERNAL,   /* out of memory, curl could not be set up */
};

/* One failed call. text is the whole one-line sentence for a reason or a
 * log line: "access denied to iam:GetAccountPasswordPolicy: User: ... is
 * not authorized ...". code is AWS's error code ("NoSuchEntity"), empty
 * when the failure was not an AWS answer. Plain data; nothing to free. */
struct vg_aws_error {
    enum vg_aws_errkind kind;
    enum vg_err err;          /* the matching vg_err (PERM, IO, NOENT, ...) */
    long status;              /* HTTP status; 0 when there was no answer */
    char code[128];
    char message[512];        /* AWS's Message, trimmed to one line */
    char request_id[128];
    char bucket_region[32];   /* S3's x-amz-bucket-region, on a wrong-region answer */
    char text[1024];
};

/* A short, static name of kind ("access denied"). */
const char *vg_aws_errkind_name(enum vg_aws_errkind kind);

/* Classifies an AWS error code and HTTP status into a kind, as the SDKs
 * do (throttling codes, transient codes, auth and access codes). */
enum vg_aws_errkind vg_aws_classify(const char *code, long status);

/* True when a call that ended with (kind, code, status) is worth another
 * attempt: throttling, 5xx, transient codes (RequestTimeout), network
 * failures and timeouts. */
bool vg_aws_retriable(enum vg_aws_errkind kind, const char *code, long status);

/* Reads a JSON error answer (json 1.1 and rest-json) into e->code and
 * e->message: the code from the X-Amzn-ErrorType header (errortype, may be
 * NULL) or the body's "__type"/"code", each without its "prefix#" and
 * ":suffix"; the message from "message" or "Message". VG_ERR_PARSE when
 * neither gives a code. */
enum vg_err vg_aws_json_error(const char *body, size_t len, const char *errortype,
                              struct vg_aws_error *e);

/* Sets e->kind (from e->code and e->status unless kind is already set),
 * e->err, and writes e->text: the sentence for the failure of operation
 * ("iam:ListUsers") sent to url after attempts attempts. detail, when not
 * NULL, stands in for the missing AWS message (curl's error, a parse
 * error). */
void vg_aws_error_finish(struct vg_aws_error *e, const char *operation, const char *url,
                         int attempts, const char *detail);

#endif
