/*
 * IAM policy documents (checks/aws/policy.c): parsing plain and URL-encoded
 * documents, IAM's wildcard matching, the full-admin and escalation
 * analyses with Deny precedence, the S3 secure-transport deny; and the
 * credential report's CSV (checks/aws/iam.c).
 *
 * Conditions: an Allow with a Condition counts as granting, a Deny with a
 * Condition does not count as denying (policy.h); tests below pin both.
 */
#include "../../checks/aws/iam.h"
#include "../../checks/aws/policy.h"
#include "vgtest.h"

#include <stdint.h>

static char err[512];

static struct vg_json *pol(const char *text)
{
    err[0] = '\0';
    struct vg_json *d = vg_aws_policy_parse(text, strlen(text), err, sizeof(err));
    if (!d)
        fprintf(stderr, "  parse: %s\n", err);
    return d;
}

static void analyse(const char *text, struct vg_aws_policy_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    struct vg_json *d = pol(text);
    CHECK(d != NULL);
    if (d)
        vg_aws_policy_analyse(d, rep);
    vg_json_free(d);
}

static bool admin(const char *text)
{
    struct vg_aws_policy_report rep;
    analyse(text, &rep);
    return rep.admin;
}

static void parse_fails(const char *text, const char *msg)
{
    struct vg_json *d = vg_aws_policy_parse(text, strlen(text), err, sizeof(err));
    CHECK(d == NULL);
    vg_json_free(d);
    CHECK_CONTAINS(err, msg);
    CHECK(strchr(err, '\n') == NULL);
}

/* ---- wildcards --------------------------------------------------------------- */

VG_TEST(wildcards_match_as_iam_does)
{
    CHECK(vg_aws_wildcard_match("*", "", true));
    CHECK(vg_aws_wildcard_match("*", "iam:CreateUser", true));
    CHECK(vg_aws_wildcard_match("iam:*", "IAM:createuser", true));
    CHECK(!vg_aws_wildcard_match("iam:*", "IAM:createuser", false));
    CHECK(vg_aws_wildcard_match("iam:Create*", "iam:CreateUser", true));
    CHECK(!vg_aws_wildcard_match("iam:Create*", "iam:DeleteUser", true));
    CHECK(vg_aws_wildcard_match("s3:Get?bject", "s3:GetObject", true));
    CHECK(!vg_aws_wildcard_match("s3:Get?bject", "s3:Getbject", true));
    CHECK(vg_aws_wildcard_match("*:*", "ec2:RunInstances", true));
    CHECK(vg_aws_wildcard_match("iam:*Policy*", "iam:PutUserPolicy", true));
    CHECK(vg_aws_wildcard_match("iam:*Policy", "iam:PutUserPolicy", true));
    CHECK(!vg_aws_wildcard_match("iam:*Policy", "iam:PutUserPolicyX", true));
    CHECK(vg_aws_wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", false));
    CHECK(!vg_aws_wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::B/x", false));
    CHECK(!vg_aws_wildcard_match("ab", "abc", true));
    CHECK(!vg_aws_wildcard_match("abc", "ab", true));
    CHECK(vg_aws_wildcard_match("a**b", "ab", true));
    /* a pattern made to backtrack: stays fast (linear backtracking) */
    char s[20001], p[41];
    memset(s, 'a', 20000);
    s[20000] = '\0';
    for (int i = 0; i < 40; i += 2) {
        p[i] = 'a';
        p[i + 1] = '*';
    }
    p[39] = 'b';
    p[40] = '\0';
    CHECK(!vg_aws_wildcard_match(p, s, true));
}

/* ---- parsing ----------------------------------------------------------------- */

VG_TEST(parse_plain_and_url_encoded)
{
    const char *plain = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                        "\"Action\":\"*\",\"Resource\":\"*\"}}";
    struct vg_json *d = pol(plain);
    CHECK(d != NULL);
    vg_json_free(d);
    /* as IAM's query answers carry it */
    const char *enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect"
                      "%22%3A%22Allow%22%2C%22Action%22%3A%5B%22s3%3AGet%2A%22%5D%2C%22Resource"
                      "%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F%2A%22%7D%5D%7D";
    d = pol(enc);
    CHECK(d != NULL);
    CHECK(vg_aws_policy_allows(d, "s3:GetObject", "arn:aws:s3:::b/k", NULL, 0));
    CHECK(!vg_aws_policy_allows(d, "s3:PutObject", "arn:aws:s3:::b/k", NULL, 0));
    vg_json_free(d);
    /* white space before the document */
    d = pol("\n  {\"Statement\":[]}");
    CHECK(d != NULL);
    vg_json_free(d);
    /* a '+' in a URL-encoded document stays a '+' (IAM does not encode
     * spaces as '+') */
    d = pol("%7B%22Statement%22%3A%5B%7B%22Sid%22%3A%22a+b%22%2C%22Effect%22%3A%22Deny%22%2C"
            "%22NotAction%22%3A%22s3%3A%2A%22%7D%5D%7D");
    CHECK(d != NULL);
    if (d)
        CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(vg_json_get(d, "Statement"), 0),
                                                 "Sid")), "a+b");
    vg_json_free(d);
}

VG_TEST(parse_refuses_malformed_documents)
{
    parse_fails("%7B%22Statement%zz", "bad URL encoding");
    parse_fails("%7B%22Statement%2", "bad URL encoding");
    parse_fails("{\"Statement\":[{\"Effect\":\"Allow\"", "policy document: ");
    parse_fails("%7B%22Statement%22%3A%5B", "policy document: ");
    parse_fails("", "policy document: ");
    parse_fails("[]", "not a JSON object");
    parse_fails("{\"Version\":\"2012-10-17\"}", "Statement is missing");
    parse_fails("{\"Statement\":\"x\"}", "neither an object nor an array");
    parse_fails("{\"Statement\":[1]}", "Statement 1 is not an object");
    parse_fails("{\"Statement\":[{\"Effect\":\"allow\",\"Action\":\"*\"}]}",
                "Statement 1 Effect is neither");
    parse_fails("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\"},"
                "{\"Effect\":\"Allow\",\"Action\":5}]}",
                "Statement 2 Action is not a string or an array of strings");
    parse_fails("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:*\",7]}]}",
                "Action is not a string");
    parse_fails("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[]}]}",
                "Action is not a string");
    parse_fails("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":\"*\"}]}",
                "exactly one of Action and NotAction");
    parse_fails("{\"Statement\":[{\"Effect\":\"Allow\"}]}", "exactly one of Action");
    parse_fails("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                "\"NotResource\":\"*\"}]}", "both Resource and NotResource");
    parse_fails("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":{}}]}",
                "Resource is not a string");
    parse_fails("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Condition\":[]}]}",
                "Condition is not an object");
    /* a NUL inside an encoded document */
    const char nul[] = "%7B\0%7D";
    struct vg_json *d = vg_aws_policy_parse(nul, sizeof(nul) - 1, err, sizeof(err));
    CHECK(d == NULL);
    CHECK_CONTAINS(err, "NUL");
    /* too large */
    size_t big = VG_AWS_MAX_POLICY + 10;
    char *b = malloc(big);
    CHECK(b != NULL);
    if (b) {
        memset(b, ' ', big);
        b[0] = '{';
        d = vg_aws_policy_parse(b, big, err, sizeof(err));
        CHECK(d == NULL);
        CHECK_CONTAINS(err, "larger than the bound");
        free(b);
    }
    d = vg_aws_policy_parse(NULL, 0, err, sizeof(err));
    CHECK(d == NULL);
}

/* ---- full administrative access ---------------------------------------------- */

VG_TEST(admin_by_action_string_or_array)
{
    CHECK(admin("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}"));
    CHECK(admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"*\"],"
                "\"Resource\":[\"arn:aws:s3:::x\",\"*\"]}]}"));
    CHECK(admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*:*\",\"Resource\":\"*\"}]}"));
    CHECK(admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
                "\"Resource\":\"arn:*\"}]}"));
    CHECK(admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
                "\"Resource\":\"arn:aws:*:*:*:*\"}]}"));
    struct vg_aws_policy_report rep;
    analyse("{\"Statement\":[{\"Sid\":\"Boom\",\"Effect\":\"Allow\",\"Action\":\"*\","
            "\"Resource\":\"*\"}]}", &rep);
    CHECK(rep.admin);
    CHECK_CONTAINS(rep.admin_statement, "Sid Boom");
    /* not admin: a service's wildcard, a resource that is not all, a
     * Deny, a "*" that is only part of the action */
    CHECK(!admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"));
    CHECK(!admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
                 "\"Resource\":\"arn:aws:s3:::bucket/*\"}]}"));
    CHECK(!admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
                 "\"Resource\":\"arn:aws:iam::*:user/*\"}]}"));
    CHECK(!admin("{\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}"));
    CHECK(!admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:*User*\","
                 "\"Resource\":\"*\"}]}"));
    CHECK(!admin("{\"Statement\":[]}"));
}

VG_TEST(admin_by_not_action_and_not_resource)
{
    struct vg_aws_policy_report rep;
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":\"iam:*\",\"Resource\":\"*\"}]}",
            &rep);
    CHECK(rep.admin);
    CHECK_CONTAINS(rep.admin_statement, "NotAction");
    /* NotAction "*" allows nothing */
    CHECK(!admin("{\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":\"*\",\"Resource\":\"*\"}]}"));
    /* NotResource: every resource but some */
    CHECK(admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
                "\"NotResource\":\"arn:aws:s3:::secret/*\"}]}"));
    CHECK(!admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
                 "\"NotResource\":\"*\"}]}"));
}

VG_TEST(admin_deny_precedence_and_conditions)
{
    /* an unconditional Deny of everything: the policy grants nothing */
    CHECK(!admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},"
                 "{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}"));
    /* a partial Deny leaves the grant administrative */
    CHECK(admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},"
                "{\"Effect\":\"Deny\",\"Action\":\"s3:DeleteBucket\",\"Resource\":\"*\"}]}"));
    /* a Deny with a condition may not apply: still admin */
    CHECK(admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},"
                "{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":"
                "{\"Bool\":{\"aws:MultiFactorAuthPresent\":\"false\"}}}]}"));
    /* an Allow with a condition still grants (when the condition holds) */
    CHECK(admin("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                "\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}}]}"));
}

/* ---- privilege escalation ------------------------------------------------------- */

VG_TEST(escalation_sets)
{
    struct vg_aws_policy_report rep;
    /* PassRole and RunInstances from two statements */
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\","
            "\"Resource\":\"arn:aws:iam::123456789012:role/admin\"},"
            "{\"Effect\":\"Allow\",\"Action\":[\"ec2:RunInstances\",\"ec2:Describe*\"],"
            "\"Resource\":\"*\"}]}", &rep);
    CHECK(!rep.admin);
    CHECK_EQ_INT((int)rep.nescalations, 1);
    CHECK_EQ_STR(rep.escalations, "iam:PassRole + ec2:RunInstances");
    /* PassRole alone is not a path */
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\"}]}",
            &rep);
    CHECK_EQ_INT((int)rep.nescalations, 0);
    CHECK_EQ_STR(rep.escalations, "");
    /* a single action, with another case and a wildcard */
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"IAM:createpolicyversion\","
            "\"Resource\":\"*\"}]}", &rep);
    CHECK_EQ_INT((int)rep.nescalations, 1);
    CHECK_EQ_STR(rep.escalations, "iam:CreatePolicyVersion");
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:Attach*\",\"Resource\":\"*\"}]}",
            &rep);
    CHECK_EQ_INT((int)rep.nescalations, 2);    /* user and group; role needs sts:AssumeRole */
    CHECK_CONTAINS(rep.escalations, "iam:AttachUserPolicy; iam:AttachGroupPolicy");
    /* iam:* and sts:*: most sets; the description keeps what fits */
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"iam:*\",\"sts:*\"],"
            "\"Resource\":\"*\"}]}", &rep);
    CHECK_EQ_INT((int)rep.nescalations, 13);
    /* everything allowed: every set */
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":\"s3:*\",\"Resource\":\"*\"}]}",
            &rep);
    size_t nsets = 0;
    while (vg_aws_escalation_sets[nsets])
        nsets++;
    CHECK_EQ_INT((int)rep.nescalations, (int)nsets);
    CHECK(strlen(rep.escalations) < sizeof(rep.escalations));
}

VG_TEST(escalation_deny_precedence_and_self_service)
{
    struct vg_aws_policy_report rep;
    /* an unconditional Deny on every resource takes the action away */
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:*\",\"Resource\":\"*\"},"
            "{\"Effect\":\"Deny\",\"NotAction\":[\"iam:Get*\",\"iam:List*\"],\"Resource\":\"*\"}]}",
            &rep);
    CHECK_EQ_INT((int)rep.nescalations, 0);
    CHECK(!rep.admin);
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:CreatePolicyVersion\","
            "\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"iam:createPolicyVersion\","
            "\"Resource\":\"*\"}]}", &rep);
    CHECK_EQ_INT((int)rep.nescalations, 0);
    /* a Deny with a condition, or on one resource only, does not */
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:CreatePolicyVersion\","
            "\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"iam:CreatePolicyVersion\","
            "\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"aws:MultiFactorAuthPresent\":"
            "\"false\"}}}]}", &rep);
    CHECK_EQ_INT((int)rep.nescalations, 1);
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:CreatePolicyVersion\","
            "\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"iam:CreatePolicyVersion\","
            "\"Resource\":\"arn:aws:iam::123456789012:policy/x\"}]}", &rep);
    CHECK_EQ_INT((int)rep.nescalations, 1);
    /* managing one's own keys is self-service, not escalation */
    analyse("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"iam:CreateAccessKey\","
            "\"iam:UpdateLoginProfile\"],\"Resource\":"
            "\"arn:aws:iam::*:user/${aws:username}\"}]}", &rep);
    CHECK_EQ_INT((int)rep.nescalations, 0);
    /* vg_aws_policy_allows on a named resource */
    struct vg_json *d = pol("{\"Statement\":[{\"Sid\":\"Keys\",\"Effect\":\"Allow\","
                            "\"Action\":\"iam:CreateAccessKey\",\"Resource\":"
                            "\"arn:aws:iam::*:user/ops-?\"}]}");
    CHECK(d != NULL);
    char why[64] = "";
    CHECK(vg_aws_policy_allows(d, "iam:CreateAccessKey", "arn:aws:iam::1:user/ops-a", why,
                               sizeof(why)));
    CHECK_EQ_STR(why, "Sid Keys");
    CHECK(!vg_aws_policy_allows(d, "iam:CreateAccessKey", "arn:aws:iam::1:user/ops-ab", NULL, 0));
    CHECK(!vg_aws_policy_allows(d, "iam:CreateAccessKey", "arn:aws:iam::1:user/OPS-a", NULL, 0));
    vg_json_free(d);
}

/* ---- S3: deny plain HTTP ------------------------------------------------------ */

static bool denies(const char *stmt, const char *bucket, char *why, size_t n)
{
    char doc[2048];
    snprintf(doc, sizeof(doc), "{\"Version\":\"2012-10-17\",\"Statement\":[%s]}", stmt);
    struct vg_json *d = pol(doc);
    CHECK(d != NULL);
    bool r = d && vg_aws_policy_denies_http(d, "aws", bucket, why, n);
    vg_json_free(d);
    return r;
}

#define ST(action, principal, resource, cond)                                            \
    "{\"Sid\":\"TLS\",\"Effect\":\"Deny\",\"Principal\":" principal ",\"Action\":" action \
    ",\"Resource\":" resource ",\"Condition\":" cond "}"

VG_TEST(secure_transport_deny)
{
    char why[300];
    const char *good = ST("\"s3:*\"", "\"*\"", "[\"arn:aws:s3:::b\",\"arn:aws:s3:::b/*\"]",
                          "{\"Bool\":{\"aws:SecureTransport\":\"false\"}}");
    CHECK(denies(good, "b", why, sizeof(why)));
    CHECK_EQ_STR(why, "Sid TLS");
    /* the same, with the action in a list, "*", a bool false, ["false"],
     * {"AWS": "*"}, the key in another case, a resource "*" */
    CHECK(denies(ST("[\"s3:GetObject\",\"s3:*\"]", "\"*\"", "\"arn:aws:s3:::b/*\"",
                    "{\"Bool\":{\"aws:SecureTransport\":false}}"), "b", why, sizeof(why)));
    CHECK(denies(ST("\"*\"", "{\"AWS\":\"*\"}", "\"*\"",
                    "{\"Bool\":{\"aws:securetransport\":[\"false\"]}}"), "b", why, sizeof(why)));
    CHECK(denies(ST("\"S3:*\"", "{\"AWS\":[\"*\"]}", "\"arn:aws:s3:::b*\"",
                    "{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"), "b", why, sizeof(why)));
    /* whole values: "s3:Get*" is not "s3:*" */
    CHECK(!denies(ST("\"s3:Get*\"", "\"*\"", "\"arn:aws:s3:::b/*\"",
                     "{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"), "b", why, sizeof(why)));
    CHECK_CONTAINS(why, "does not cover the action");
    CHECK(!denies(ST("\"s3:*Object\"", "\"*\"", "\"arn:aws:s3:::b/*\"",
                     "{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"), "b", why, sizeof(why)));
    /* "true" denies HTTPS, not HTTP; another condition is not this one */
    CHECK(!denies(ST("\"s3:*\"", "\"*\"", "\"arn:aws:s3:::b/*\"",
                     "{\"Bool\":{\"aws:SecureTransport\":\"true\"}}"), "b", why, sizeof(why)));
    CHECK(!denies(ST("\"s3:*\"", "\"*\"", "\"arn:aws:s3:::b/*\"",
                     "{\"Bool\":{\"aws:SecureTransport\":[\"false\",\"true\"]}}"), "b", why,
                  sizeof(why)));
    CHECK(!denies(ST("\"s3:*\"", "\"*\"", "\"arn:aws:s3:::b/*\"",
                     "{\"NumericLessThan\":{\"s3:TlsVersion\":\"1.2\"}}"), "b", why, sizeof(why)));
    CHECK_CONTAINS(why, "aws:SecureTransport");
    /* one principal only; only the bucket, not its objects; another bucket */
    CHECK(!denies(ST("\"s3:*\"", "{\"AWS\":\"arn:aws:iam::123456789012:root\"}",
                     "\"arn:aws:s3:::b/*\"", "{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"),
                  "b", why, sizeof(why)));
    CHECK_CONTAINS(why, "Principal");
    CHECK(!denies(ST("\"s3:*\"", "\"*\"", "\"arn:aws:s3:::b\"",
                     "{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"), "b", why, sizeof(why)));
    CHECK_CONTAINS(why, "objects");
    CHECK(!denies(ST("\"s3:*\"", "\"*\"", "\"arn:aws:s3:::other/*\"",
                     "{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"), "b", why, sizeof(why)));
    /* an Allow is not a Deny; no statement at all */
    CHECK(!denies("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":"
                  "\"*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}",
                  "b", why, sizeof(why)));
    struct vg_json *d = pol("{\"Statement\":[]}");
    CHECK(d && !vg_aws_policy_denies_http(d, "aws", "b", why, sizeof(why)));
    CHECK_EQ_STR(why, "no Deny statement");
    vg_json_free(d);
}

/* ---- the credential report ----------------------------------------------------- */

static void b64(const char *in, char *out, size_t outlen)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n && o + 5 < outlen; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
}

static struct vg_json *report(const char *csv)
{
    static char enc[8192];
    b64(csv, enc, sizeof(enc));
    err[0] = '\0';
    return vg_aws_credential_report_parse(enc, strlen(enc), err, sizeof(err));
}

VG_TEST(credential_report_parses)
{
    struct vg_json *r = report(
        "user,arn,password_enabled,mfa_active,access_key_1_active\n"
        "<root_account>,arn:aws:iam::123456789012:root,not_supported,false,true\n"
        "\"al,ice\",\"arn:aws:iam::123456789012:user/al,ice\",true,\"fa\"\"lse\",false\r\n"
        "\n"
        "bob,arn:aws:iam::123456789012:user/bob,false,false,\n");
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK_EQ_INT((int)vg_json_len(r), 3);
    const struct vg_json *root = vg_json_get(r, "<root_account>");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(root, "password_enabled")), "not_supported");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(root, "access_key_1_active")), "true");
    const struct vg_json *al = vg_json_get(r, "al,ice");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(al, "arn")), "arn:aws:iam::123456789012:user/al,ice");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(al, "mfa_active")), "fa\"lse");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(r, "bob"), "access_key_1_active")), "");
    vg_json_free(r);
    /* base64 with line breaks, as some encoders write it */
    const char *wrapped = "dXNlcixhcm4K\nYm9iLHgK\n";
    r = vg_aws_credential_report_parse(wrapped, strlen(wrapped), err, sizeof(err));
    CHECK(r != NULL);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(r, "bob"), "arn")), "x");
    vg_json_free(r);
}

VG_TEST(credential_report_refuses_malformed)
{
    struct vg_json *r;
    r = vg_aws_credential_report_parse("!!!!", 4, err, sizeof(err));
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "bad base64");
    r = vg_aws_credential_report_parse("dXNlcg=x", 8, err, sizeof(err));
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "bad base64");
    r = vg_aws_credential_report_parse("dXNlcg===", 9, err, sizeof(err));
    CHECK(r == NULL);
    r = vg_aws_credential_report_parse(NULL, 0, err, sizeof(err));
    CHECK(r == NULL);
    r = report("");
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "empty");
    r = report("name,arn\nbob,x\n");
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "no user column");
    r = report("user,arn\nbob,x,extra\n");
    CHECK(r == NULL);
    CHECK_EQ_STR(err, "credential report: line 2 has 3 fields, the header 2");
    r = report("user,arn\nbob\n");
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "line 2 has 1 fields");
    r = report("user,arn\nbob,x\nbob,y\n");
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "line 3: a repeated user name");
    r = report("user,arn\n,x\n");
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "an empty user name");
    r = report("user,arn\n\"bob,x\n");
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "line 2: a quoted field is not closed");
    r = report("user,arn\nb\"ob,x\n");
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "a quote inside an unquoted field");
    r = report("user,arn\n\"bob\"x,y\n");
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "text after a closing quote");
    /* too many columns */
    char wide[1024] = "user";
    for (int i = 0; i < 70; i++)
        strcat(wide, ",c");
    strcat(wide, "\n");
    r = report(wide);
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "too many fields");
    /* truncated: the last line without its end still counts, a cut quote not */
    r = report("user,arn\nbob,x");
    CHECK(r != NULL);
    vg_json_free(r);
    /* a NUL inside the decoded CSV */
    r = vg_aws_credential_report_parse("dXNlcgBh", 8, err, sizeof(err));
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "NUL");
}

VG_TEST_MAIN()
