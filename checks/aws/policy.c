/*
 * IAM policy documents: parse, check, match, analyse (see policy.h).
 */
#include "policy.h"

#include "../../agent/buf.h"
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the escalation table ------------------------------------------------ */

/* Known privilege escalation paths in IAM (Rhino Security Labs' list, as
 * the public checkers carry it): each set, fully granted, lets a principal
 * give itself more than it has. */
static const char *const esc_create_policy_version[] = { "iam:CreatePolicyVersion", NULL };
static const char *const esc_set_default_version[] = { "iam:SetDefaultPolicyVersion", NULL };
static const char *const esc_create_access_key[] = { "iam:CreateAccessKey", NULL };
static const char *const esc_create_login_profile[] = { "iam:CreateLoginProfile", NULL };
static const char *const esc_update_login_profile[] = { "iam:UpdateLoginProfile", NULL };
static const char *const esc_attach_user[] = { "iam:AttachUserPolicy", NULL };
static const char *const esc_attach_group[] = { "iam:AttachGroupPolicy", NULL };
static const char *const esc_attach_role[] = { "iam:AttachRolePolicy", "sts:AssumeRole", NULL };
static const char *const esc_put_user[] = { "iam:PutUserPolicy", NULL };
static const char *const esc_put_group[] = { "iam:PutGroupPolicy", NULL };
static const char *const esc_put_role[] = { "iam:PutRolePolicy", "sts:AssumeRole", NULL };
static const char *const esc_add_to_group[] = { "iam:AddUserToGroup", NULL };
static const char *const esc_update_trust[] = { "iam:UpdateAssumeRolePolicy", "sts:AssumeRole",
                                                NULL };
static const char *const esc_ec2[] = { "iam:PassRole", "ec2:RunInstances", NULL };
static const char *const esc_lambda_invoke[] = { "iam:PassRole", "lambda:CreateFunction",
                                                 "lambda:InvokeFunction", NULL };
static const char *const esc_lambda_esm[] = { "iam:PassRole", "lambda:CreateFunction",
                                              "lambda:CreateEventSourceMapping", NULL };
static const char *const esc_lambda_update[] = { "lambda:UpdateFunctionCode", NULL };
static const char *const esc_glue_create[] = { "iam:PassRole", "glue:CreateDevEndpoint", NULL };
static const char *const esc_glue_update[] = { "glue:UpdateDevEndpoint", NULL };
static const char *const esc_cfn[] = { "iam:PassRole", "cloudformation:CreateStack", NULL };
static const char *const esc_datapipeline[] = { "iam:PassRole", "datapipeline:CreatePipeline",
                                                "datapipeline:PutPipelineDefinition", NULL };
static const char *const esc_sagemaker[] = { "iam:PassRole", "sagemaker:CreateNotebookInstance",
                                             "sagemaker:CreatePresignedNotebookInstanceUrl",
                                             NULL };
static const char *const esc_codestar[] = { "iam:PassRole", "codestar:CreateProject", NULL };

const char *const *const vg_aws_escalation_sets[] = {
    esc_create_policy_version, esc_set_default_version, esc_create_access_key,
    esc_create_login_profile, esc_update_login_profile, esc_attach_user, esc_attach_group,
    esc_attach_role, esc_put_user, esc_put_group, esc_put_role, esc_add_to_group,
    esc_update_trust, esc_ec2, esc_lambda_invoke, esc_lambda_esm, esc_lambda_update,
    esc_glue_create, esc_glue_update, esc_cfn, esc_datapipeline, esc_sagemaker, esc_codestar,
    NULL,
};

/* ---- matching ---------------------------------------------------------------- */

static int fold(int c, bool nocase)
{
    return nocase ? tolower((unsigned char)c) : (unsigned char)c;
}

bool vg_aws_wildcard_match(const char *p, const char *s, bool nocase)
{
    /* the classic greedy match with one backtrack point: the last '*' */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p && (*p == '?' || fold(*p, nocase) == fold(*s, nocase))) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* ---- the shape -------------------------------------------------------------- */

/* A string, or an array of strings (not empty). */
static bool string_or_strings(const struct vg_json *v)
{
    if (vg_json_type(v) == VG_JSON_STRING)
        return true;
    if (vg_json_type(v) != VG_JSON_ARRAY || vg_json_len(v) == 0)
        return false;
    for (size_t i = 0; i < vg_json_len(v); i++)
        if (vg_json_type(vg_json_at(v, i)) != VG_JSON_STRING)
            return false;
    return true;
}

static size_t nvalues(const struct vg_json *v)
{
    return vg_json_type(v) == VG_JSON_STRING ? 1 : vg_json_len(v);
}

static const char *value_at(const struct vg_json *v, size_t i)
{
    return vg_json_type(v) == VG_JSON_STRING ? vg_json_get_str(v) : vg_json_get_str(vg_json_at(v, i));
}

static const struct vg_json *statements(const struct vg_json *doc, size_t *n)
{
    const struct vg_json *st = vg_json_get(doc, "Statement");
    if (vg_json_type(st) == VG_JSON_OBJECT) {
        *n = 1;
        return st;
    }
    *n = vg_json_len(st);
    return st;
}

static const struct vg_json *statement_at(const struct vg_json *st, size_t i)
{
    return vg_json_type(st) == VG_JSON_OBJECT ? st : vg_json_at(st, i);
}

enum vg_err vg_aws_policy_check(const struct vg_json *doc, char *errbuf, size_t errlen)
{
    if (vg_json_type(doc) != VG_JSON_OBJECT) {
        snprintf(errbuf, errlen, "policy document: not a JSON object");
        return VG_ERR_PARSE;
    }
    const struct vg_json *st = vg_json_get(doc, "Statement");
    if (vg_json_type(st) != VG_JSON_OBJECT && vg_json_type(st) != VG_JSON_ARRAY) {
        snprintf(errbuf, errlen, "policy document: Statement is %s",
                 st ? "neither an object nor an array" : "missing");
        return VG_ERR_PARSE;
    }
    size_t n;
    statements(doc, &n);
    for (size_t i = 0; i < n; i++) {
        const struct vg_json *s = statement_at(st, i);
        const char *why = NULL;
        if (vg_json_type(s) != VG_JSON_OBJECT) {
            why = "is not an object";
        } else {
            const char *eff = vg_json_get_str(vg_json_get(s, "Effect"));
            const struct vg_json *a = vg_json_get(s, "Action"), *na = vg_json_get(s, "NotAction");
            const struct vg_json *r = vg_json_get(s, "Resource"),
                                 *nr = vg_json_get(s, "NotResource");
            const struct vg_json *c = vg_json_get(s, "Condition");
            if (!eff || (strcmp(eff, "Allow") != 0 && strcmp(eff, "Deny") != 0))
                why = "Effect is neither \"Allow\" nor \"Deny\"";
            else if ((a != NULL) == (na != NULL))
                why = "needs exactly one of Action and NotAction";
            else if (!string_or_strings(a ? a : na))
                why = a ? "Action is not a string or an array of strings"
                        : "NotAction is not a string or an array of strings";
            else if (r && nr)
                why = "has both Resource and NotResource";
            else if ((r || nr) && !string_or_strings(r ? r : nr))
                why = r ? "Resource is not a string or an array of strings"
                        : "NotResource is not a string or an array of strings";
            else if (c && vg_json_type(c) != VG_JSON_OBJECT)
                why = "Condition is not an object";
        }
        if (why) {
            snprintf(errbuf, errlen, "policy document: Statement %zu %s", i + 1, why);
            return VG_ERR_PARSE;
        }
    }
    return VG_OK;
}

struct vg_json *vg_aws_policy_parse(const char *text, size_t len, char *errbuf, size_t errlen)
{
    if (!text || len > VG_AWS_MAX_POLICY) {
        snprintf(errbuf, errlen, "policy document: %s",
                 text ? "larger than the bound" : "missing");
        return NULL;
    }
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    struct vg_buf dec;
    vg_buf_init(&dec, VG_AWS_MAX_POLICY + 1);
    const char *json = text;
    size_t jlen = len;
    if (i < len && text[i] != '{') {
        if (memchr(text, '\0', len)) {
            snprintf(errbuf, errlen, "policy document: contains a NUL byte");
            vg_buf_free(&dec);
            return NULL;
        }
        char *copy = strndup(text, len);
        if (!copy) {
            snprintf(errbuf, errlen, "policy document: out of memory");
            vg_buf_free(&dec);
            return NULL;
        }
        enum vg_err err = vg_aws_url_decode(copy, &dec);
        free(copy);
        if (err) {
            snprintf(errbuf, errlen, "policy document: %s",
                     err == VG_ERR_PARSE ? "bad URL encoding ('%' not followed by two hex digits)"
                                         : vg_strerror(err));
            vg_buf_free(&dec);
            return NULL;
        }
        json = dec.data ? dec.data : "";
        jlen = dec.len;
    }
    char why[256];
    struct vg_json *doc = vg_json_parse(json, jlen, why, sizeof(why));
    vg_buf_free(&dec);
    if (!doc) {
        /* one line: yajl's messages end with a newline */
        for (char *c = why; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        size_t wl = strlen(why);
        while (wl > 0 && why[wl - 1] == ' ')
            why[--wl] = '\0';
        snprintf(errbuf, errlen, "policy document: %s", why);
        return NULL;
    }
    if (vg_aws_policy_check(doc, errbuf, errlen)) {
        vg_json_free(doc);
        return NULL;
    }
    return doc;
}

/* ---- statements ---------------------------------------------------------------- */

static void label(const struct vg_json *s, size_t i, char *out, size_t n)
{
    const char *sid = vg_json_get_str(vg_json_get(s, "Sid"));
    if (sid && *sid)
        snprintf(out, n, "Sid %s", sid);
    else
        snprintf(out, n, "statement %zu", i + 1);
}

static bool is_allow(const struct vg_json *s)
{
    const char *e = vg_json_get_str(vg_json_get(s, "Effect"));
    return e && strcmp(e, "Allow") == 0;
}

static bool conditional(const struct vg_json *s)
{
    return vg_json_len(vg_json_get(s, "Condition")) > 0;
}

/* A pattern that matches every action: stars only, or "*:*" and the like. */
static bool universal_action(const char *p)
{
    size_t colons = 0, stars = 0;
    for (const char *c = p; *c; c++) {
        if (*c == ':')
            colons++;
        else if (*c == '*')
            stars++;
        else
            return false;
    }
    if (!colons)
        return stars > 0;
    /* "*:*": a star on both sides of the one colon */
    const char *colon = strchr(p, ':');
    return colons == 1 && colon > p && colon[1] == '*';
}

/* A pattern that matches every resource: stars only, or "arn:*",
 * "arn:aws:*:*:*:*" (every segment after the partition a star run). */
static bool universal_resource(const char *p)
{
    bool only_stars = *p != '\0';
    for (const char *c = p; *c; c++)
        if (*c != '*')
            only_stars = false;
    if (only_stars)
        return true;
    if (strncmp(p, "arn:", 4) != 0)
        return false;
    const char *seg = p + 4;
    /* the partition: stars, or aws... ; then star runs to the end */
    int idx = 0;
    while (seg) {
        const char *colon = strchr(seg, ':');
        size_t n = colon ? (size_t)(colon - seg) : strlen(seg);
        bool stars = n > 0;
        for (size_t k = 0; k < n; k++)
            if (seg[k] != '*')
                stars = false;
        if (idx == 0) {
            if (!stars && strncmp(seg, "aws", 3) != 0)
                return false;
            if (stars && !colon)
                return true;          /* "arn:*" */
        } else if (!stars) {
            return false;
        } else if (!colon) {
            return true;              /* a last star run covers the rest */
        }
        seg = colon ? colon + 1 : NULL;
        idx++;
    }
    return false;
}

static bool any_value(const struct vg_json *v, bool (*pred)(const char *))
{
    for (size_t i = 0; i < nvalues(v); i++) {
        const char *s = value_at(v, i);
        if (s && pred(s))
            return true;
    }
    return false;
}

/* Does statement s apply to action? */
static bool stmt_action(const struct vg_json *s, const char *action)
{
    const struct vg_json *a = vg_json_get(s, "Action");
    const struct vg_json *v = a ? a : vg_json_get(s, "NotAction");
    bool hit = false;
    for (size_t i = 0; !hit && i < nvalues(v); i++) {
        const char *p = value_at(v, i);
        hit = p && vg_aws_wildcard_match(p, action, true);
    }
    return a ? hit : !hit;
}

/* Does s cover every resource? (No Resource at all: a policy that is not
 * an identity policy; counted as every resource.) */
static bool stmt_all_resources(const struct vg_json *s)
{
    const struct vg_json *r = vg_json_get(s, "Resource");
    const struct vg_json *nr = vg_json_get(s, "NotResource");
    if (r)
        return any_value(r, universal_resource);
    if (nr)
        return !any_value(nr, universal_resource);
    return true;
}

static bool self_only(const char *p)
{
    return strstr(p, "${aws:username}") != NULL;
}

/* Does s apply to resource (NULL: to some resource other than the caller's
 * own user)? */
static bool stmt_resource(const struct vg_json *s, const char *resource)
{
    const struct vg_json *r = vg_json_get(s, "Resource");
    const struct vg_json *nr = vg_json_get(s, "NotResource");
    if (!r && !nr)
        return true;
    if (!resource) {
        if (nr)
            return !any_value(nr, universal_resource);
        for (size_t i = 0; i < nvalues(r); i++) {
            const char *p = value_at(r, i);
            if (p && !self_only(p))
                return true;
        }
        return false;
    }
    const struct vg_json *v = r ? r : nr;
    bool hit = false;
    for (size_t i = 0; !hit && i < nvalues(v); i++) {
        const char *p = value_at(v, i);
        hit = p && vg_aws_wildcard_match(p, resource, false);
    }
    return r ? hit : !hit;
}

bool vg_aws_policy_allows(const struct vg_json *doc, const char *action, const char *resource,
                          char *why, size_t whylen)
{
    size_t n;
    const struct vg_json *st = statements(doc, &n);
    bool allowed = false;
    char lab[64] = "";
    for (size_t i = 0; i < n; i++) {
        const struct vg_json *s = statement_at(st, i);
        if (!stmt_action(s, action))
            continue;
        if (is_allow(s)) {
            if (!allowed && stmt_resource(s, resource)) {
                allowed = true;
                label(s, i, lab, sizeof(lab));
            }
        } else if (!conditional(s) &&
                   (resource ? stmt_resource(s, resource) : stmt_all_resources(s))) {
            return false;    /* an explicit deny wins */
        }
    }
    if (allowed && why)
        snprintf(why, whylen, "%s", lab);
    return allowed;
}

void vg_aws_policy_analyse(const struct vg_json *doc, struct vg_aws_policy_report *out)
{
    memset(out, 0, sizeof(*out));
    size_t n;
    const struct vg_json *st = statements(doc, &n);
    /* an unconditional Deny of everything on everything grants nothing */
    for (size_t i = 0; i < n; i++) {
        const struct vg_json *s = statement_at(st, i);
        const struct vg_json *a = vg_json_get(s, "Action");
        if (!is_allow(s) && !conditional(s) && a && any_value(a, universal_action) &&
            stmt_all_resources(s))
            return;
    }
    for (size_t i = 0; i < n && !out->admin; i++) {
        const struct vg_json *s = statement_at(st, i);
        if (!is_allow(s) || !stmt_all_resources(s))
            continue;
        const struct vg_json *a = vg_json_get(s, "Action");
        const struct vg_json *na = vg_json_get(s, "NotAction");
        char lab[64];
        label(s, i, lab, sizeof(lab));
        if (a && any_value(a, universal_action)) {
            out->admin = true;
            snprintf(out->admin_statement, sizeof(out->admin_statement),
                     "%s allows every action on every resource", lab);
        } else if (na && !any_value(na, universal_action)) {
            out->admin = true;
            snprintf(out->admin_statement, sizeof(out->admin_statement),
                     "%s allows every action but its NotAction on every resource", lab);
        }
    }
    size_t used = 0;
    bool full = false;
    for (size_t k = 0; vg_aws_escalation_sets[k]; k++) {
        const char *const *set = vg_aws_escalation_sets[k];
        bool all = true;
        for (size_t j = 0; all && set[j]; j++)
            all = vg_aws_policy_allows(doc, set[j], NULL, NULL, 0);
        if (!all)
            continue;
        out->nescalations++;
        if (full)
            continue;
        char one[256] = "";
        size_t ol = 0;
        for (size_t j = 0; set[j]; j++) {
            int w = snprintf(one + ol, sizeof(one) - ol, "%s%s", j ? " + " : "", set[j]);
            if (w < 0 || (size_t)w >= sizeof(one) - ol)
                break;
            ol += (size_t)w;
        }
        size_t room = sizeof(out->escalations) - used;
        int w = snprintf(out->escalations + used, room, "%s%s", used ? "; " : "", one);
        if (w < 0 || (size_t)w >= room) {
            /* keep what fit, and say that more follows */
            size_t len = strlen(out->escalations);
            if (len >= 3)
                memcpy(out->escalations + len - 3, "...", 3);
            full = true;
            continue;
        }
        used += (size_t)w;
    }
}

/* ---- secure transport ------------------------------------------------------- */

static bool principal_everyone(const struct vg_json *s)
{
    const struct vg_json *p = vg_json_get(s, "Principal");
    if (vg_json_type(p) == VG_JSON_STRING)
        return strcmp(vg_json_get_str(p), "*") == 0;
    const struct vg_json *aws = vg_json_get(p, "AWS");
    if (vg_json_type(aws) == VG_JSON_STRING)
        return strcmp(vg_json_get_str(aws), "*") == 0;
    for (size_t i = 0; i < vg_json_len(aws); i++)
        if (vg_json_type(vg_json_at(aws, i)) == VG_JSON_STRING &&
            strcmp(vg_json_get_str(vg_json_at(aws, i)), "*") == 0)
            return true;
    return false;
}

static bool whole_s3_action(const char *a)
{
    return strcmp(a, "*") == 0 || strcasecmp(a, "s3:*") == 0;
}

static bool is_false(const struct vg_json *v)
{
    if (vg_json_type(v) == VG_JSON_BOOL)
        return !vg_json_get_bool(v);
    const char *s = vg_json_get_str(v);
    return s && strcasecmp(s, "false") == 0;
}

/* Condition {"Bool": {"aws:SecureTransport": "false"}}: the operator as
 * IAM spells it, the key without regard to case, the value false alone
 * (an array must hold only false). */
static bool insecure_condition(const struct vg_json *s)
{
    const struct vg_json *b = vg_json_get(vg_json_get(s, "Condition"), "Bool");
    for (size_t i = 0; i < vg_json_len(b); i++) {
        const char *k = vg_json_key_at(b, i);
        if (!k || strcasecmp(k, "aws:SecureTransport") != 0)
            continue;
        const struct vg_json *v = vg_json_at(b, i);
        if (vg_json_type(v) == VG_JSON_ARRAY) {
            bool all = vg_json_len(v) > 0;
            for (size_t j = 0; all && j < vg_json_len(v); j++)
                all = is_false(vg_json_at(v, j));
            if (all)
                return true;
        } else if (is_false(v)) {
            return true;
        }
    }
    return false;
}

bool vg_aws_policy_denies_http(const struct vg_json *doc, const char *partition,
                               const char *bucket, char *why, size_t whylen)
{
    char objects[512];
    snprintf(objects, sizeof(objects), "arn:%s:s3:::%s/*", partition ? partition : "aws",
             bucket ? bucket : "");
    size_t n;
    const struct vg_json *st = statements(doc, &n);
    const char *missing = "no Deny statement";
    for (size_t i = 0; i < n; i++) {
        const struct vg_json *s = statement_at(st, i);
        if (is_allow(s))
            continue;
        if (!insecure_condition(s)) {
            missing = "no Deny statement with Condition Bool aws:SecureTransport \"false\"";
            continue;
        }
        const struct vg_json *a = vg_json_get(s, "Action");
        if (!a || !any_value(a, whole_s3_action)) {
            missing = "the Deny of aws:SecureTransport \"false\" does not cover the action "
                      "\"s3:*\"";
            continue;
        }
        if (!principal_everyone(s)) {
            missing = "the Deny of aws:SecureTransport \"false\" is not for Principal \"*\"";
            continue;
        }
        const struct vg_json *r = vg_json_get(s, "Resource");
        bool covered = false;
        for (size_t k = 0; r && !covered && k < nvalues(r); k++) {
            const char *p = value_at(r, k);
            covered = p && vg_aws_wildcard_match(p, objects, false);
        }
        if (!covered) {
            missing = "the Deny of aws:SecureTransport \"false\" does not cover the bucket's "
                      "objects";
            continue;
        }
        if (why) {
            char lab[64];
            label(s, i, lab, sizeof(lab));
            snprintf(why, whylen, "%s", lab);
        }
        return true;
    }
    if (why)
        snprintf(why, whylen, "%s", missing);
    return false;
}
