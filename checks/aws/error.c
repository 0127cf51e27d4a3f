/*
 * AWS error answers: what kind of failure a code and status are, whether
 * another attempt may help (the codes of botocore's standard retry mode),
 * and the sentence a finding's reason or a log line shows.
 */
#include "aws.h"

#include "../../agent/json.h"

#include <stdio.h>
#include <string.h>

static const char *const throttling_codes[] = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException", NULL,
};

static const char *const transient_codes[] = {
    "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
    "ServiceUnavailable", "ServiceUnavailableException", "InternalServerError",
    "InternalServerErrorException", NULL,
};

static const char *const auth_codes[] = {
    "InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidAccessKeyId",
    "UnrecognizedClientException", "AuthFailure", "IncompleteSignature",
    "IncompleteSignatureException", "MissingAuthenticationToken",
    "MissingAuthenticationTokenException", "InvalidSignatureException", "InvalidToken",
    "InvalidIdentityToken", NULL,
};

static const char *const expired_codes[] = {
    "ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired",
    "RequestTimeTooSkewed", NULL,
};

static const char *const denied_codes[] = {
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
    "AuthorizationError", "AuthorizationErrorException", "Forbidden", "ForbiddenException",
    "AllAccessDisabled", "UnauthorizedException", NULL,
};

static bool among(const char *const *list, const char *code)
{
    if (!code || !*code)
        return false;
    for (; *list; list++)
        if (strcmp(*list, code) == 0)
            return true;
    return false;
}

const char *vg_aws_errkind_name(enum vg_aws_errkind kind)
{
    static const char *const names[] = {
        [VG_AWS_ERR_NONE] = "no error",
        [VG_AWS_ERR_AUTH] = "bad credentials",
        [VG_AWS_ERR_EXPIRED] = "expired credentials",
        [VG_AWS_ERR_DENIED] = "access denied",
        [VG_AWS_ERR_THROTTLED] = "throttled",
        [VG_AWS_ERR_SERVER] = "server error",
        [VG_AWS_ERR_SERVICE] = "error answer",
        [VG_AWS_ERR_NETWORK] = "unreachable",
        [VG_AWS_ERR_TIMEOUT] = "timeout",
        [VG_AWS_ERR_PARSE] = "malformed answer",
        [VG_AWS_ERR_LOOP] = "pagination loop",
        [VG_AWS_ERR_LIMIT] = "limit exceeded",
        [VG_AWS_ERR_CREDS] = "no credentials",
        [VG_AWS_ERR_CALLBACK] = "stopped by the collector",
        [VG_AWS_ERR_INTERNAL] = "internal error",
    };
    if ((unsigned)kind >= sizeof(names) / sizeof(names[0]) || !names[kind])
        return "unknown error";
    return names[kind];
}

enum vg_aws_errkind vg_aws_classify(const char *code, long status)
{
    if (among(throttling_codes, code))
        return VG_AWS_ERR_THROTTLED;
    if (among(auth_codes, code))
        return VG_AWS_ERR_AUTH;
    if (among(expired_codes, code))
        return VG_AWS_ERR_EXPIRED;
    if (among(denied_codes, code))
        return VG_AWS_ERR_DENIED;
    if (status == 429)
        return VG_AWS_ERR_THROTTLED;
    if (status >= 500)
        return VG_AWS_ERR_SERVER;
    if (among(transient_codes, code))
        return VG_AWS_ERR_SERVER;
    if (!code || !*code) {
        if (status == 401)
            return VG_AWS_ERR_AUTH;
        if (status == 403)
            return VG_AWS_ERR_DENIED;
    }
    if (status >= 300 || (code && *code))
        return VG_AWS_ERR_SERVICE;
    return VG_AWS_ERR_NONE;
}

bool vg_aws_retriable(enum vg_aws_errkind kind, const char *code, long status)
{
    switch (kind) {
    case VG_AWS_ERR_THROTTLED:
    case VG_AWS_ERR_SERVER:
    case VG_AWS_ERR_NETWORK:
    case VG_AWS_ERR_TIMEOUT:
        return true;
    case VG_AWS_ERR_SERVICE:
        return among(transient_codes, code) || status == 429 || status >= 500;
    default:
        return false;
    }
}

/* Copies s[0..n) into dst as one line (control characters as spaces). */
static void copy_line(char *dst, size_t dn, const char *s, size_t n)
{
    size_t j = 0;
    while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
        s++;
        n--;
    }
    for (size_t i = 0; i < n && s[i] && j + 1 < dn; i++)
        dst[j++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
    while (j && dst[j - 1] == ' ')
        j--;
    dst[j] = '\0';
}

/* "aws.protocoltests#FooError:http://..." -> "FooError" */
static void copy_code(char *dst, size_t dn, const char *s)
{
    const char *hash = strrchr(s, '#');
    if (hash)
        s = hash + 1;
    size_t n = strcspn(s, ":");
    copy_line(dst, dn, s, n);
}

enum vg_err vg_aws_json_error(const char *body, size_t len, const char *errortype,
                              struct vg_aws_error *e)
{
    char errbuf[64];
    struct vg_json *doc = body && len ? vg_json_parse(body, len, errbuf, sizeof(errbuf)) : NULL;
    const char *code = NULL, *msg = NULL;
    if (vg_json_type(doc) == VG_JSON_OBJECT) {
        code = vg_json_get_str(vg_json_get(doc, "__type"));
        if (!code)
            code = vg_json_get_str(vg_json_get(doc, "code"));
        if (!code)
            code = vg_json_get_str(vg_json_get(doc, "Code"));
        msg = vg_json_get_str(vg_json_get(doc, "message"));
        if (!msg)
            msg = vg_json_get_str(vg_json_get(doc, "Message"));
        if (!msg)
            msg = vg_json_get_str(vg_json_get(doc, "errorMessage"));
    }
    if (errortype && *errortype)
        code = errortype;
    enum vg_err res = VG_ERR_PARSE;
    if (code && *code) {
        copy_code(e->code, sizeof(e->code), code);
        if (e->code[0])
            res = VG_OK;
    }
    if (msg)
        copy_line(e->message, sizeof(e->message), msg, strlen(msg));
    vg_json_free(doc);
    return res;
}

static enum vg_err err_of(const struct vg_aws_error *e)
{
    switch (e->kind) {
    case VG_AWS_ERR_NONE: return VG_OK;
    case VG_AWS_ERR_AUTH:
    case VG_AWS_ERR_EXPIRED:
    case VG_AWS_ERR_DENIED:
    case VG_AWS_ERR_CREDS: return VG_ERR_PERM;
    case VG_AWS_ERR_THROTTLED:
    case VG_AWS_ERR_SERVER:
    case VG_AWS_ERR_NETWORK:
    case VG_AWS_ERR_TIMEOUT: return VG_ERR_IO;
    case VG_AWS_ERR_PARSE: return VG_ERR_PARSE;
    case VG_AWS_ERR_LOOP:
    case VG_AWS_ERR_LIMIT: return VG_ERR_LIMIT;
    case VG_AWS_ERR_INTERNAL: return VG_ERR_NOMEM;
    case VG_AWS_ERR_CALLBACK: return e->err ? e->err : VG_ERR_INVALID;
    case VG_AWS_ERR_SERVICE: {
        const char *c = e->code;
        size_t n = strlen(c);
        if (strncmp(c, "NoSuch", 6) == 0 || strstr(c, "NotFound") ||
            (n >= 8 && strcmp(c + n - 8, "NotExist") == 0) || e->status == 404)
            return VG_ERR_NOENT;
        return VG_ERR_INVALID;
    }
    }
    return VG_ERR_INVALID;
}

void vg_aws_error_finish(struct vg_aws_error *e, const char *operation, const char *url,
                         int attempts, const char *detail)
{
    if (e->kind == VG_AWS_ERR_NONE)
        e->kind = vg_aws_classify(e->code, e->status);
    e->err = err_of(e);
    const char *op = operation && *operation ? operation : "request";
    const char *u = url && *url ? url : "the endpoint";
    char what[700];
    /* "Code: message", or whatever is known */
    if (e->code[0] && e->message[0])
        snprintf(what, sizeof(what), "%s: %s", e->code, e->message);
    else if (e->code[0])
        snprintf(what, sizeof(what), "%s", e->code);
    else if (detail && *detail)
        snprintf(what, sizeof(what), "%s", detail);
    else if (e->status)
        snprintf(what, sizeof(what), "HTTP %ld", e->status);
    else
        snprintf(what, sizeof(what), "%s", vg_aws_errkind_name(e->kind));

    switch (e->kind) {
    case VG_AWS_ERR_AUTH:
        snprintf(e->text, sizeof(e->text), "bad credentials for %s: %s", op, what);
        break;
    case VG_AWS_ERR_EXPIRED:
        snprintf(e->text, sizeof(e->text), "expired credentials for %s: %s", op, what);
        break;
    case VG_AWS_ERR_DENIED:
        snprintf(e->text, sizeof(e->text), "access denied to %s: %s", op, what);
        break;
    case VG_AWS_ERR_THROTTLED:
        snprintf(e->text, sizeof(e->text), "%s still throttled after %d attempts: %s", op,
                 attempts, what);
        break;
    case VG_AWS_ERR_SERVER:
        snprintf(e->text, sizeof(e->text), "%s failed after %d attempts: HTTP %ld: %s", op,
                 attempts, e->status, what);
        break;
    case VG_AWS_ERR_NETWORK:
        snprintf(e->text, sizeof(e->text), "cannot reach %s (%s, %d attempts): %s", u, op,
                 attempts, what);
        break;
    case VG_AWS_ERR_TIMEOUT:
        snprintf(e->text, sizeof(e->text), "timeout waiting for %s (%s, %d attempts): %s", u,
                 op, attempts, what);
        break;
    case VG_AWS_ERR_PARSE:
        snprintf(e->text, sizeof(e->text), "%s: malformed answer from %s: %s", op, u, what);
        break;
    case VG_AWS_ERR_SERVICE:
        snprintf(e->text, sizeof(e->text), "%s: HTTP %ld: %s", op, e->status, what);
        break;
    default:
        snprintf(e->text, sizeof(e->text), "%s: %s: %s", op, vg_aws_errkind_name(e->kind),
                 what);
        break;
    }
}
