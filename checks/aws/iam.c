/*
 * IAM: the account's users, groups, roles and customer managed policies
 * (one paginated iam:GetAccountAuthorizationDetails: every inline and
 * managed policy document comes with it, no call per principal), joined
 * with the credential report (iam:GenerateCredentialReport, polled until
 * COMPLETE, then iam:GetCredentialReport); and the password policy.
 *
 * Resources (doc fields in snake_case; see checks/rules/aws-iam.yml):
 *   aws.iam.root-account     arn:P:iam::ACCOUNT:root, from the report's
 *                            <root_account> row
 *   aws.iam.user             the user's ARN: report fields + policies
 *   aws.iam.group            the group's ARN: policies
 *   aws.iam.role             the role's ARN: policies
 *   aws.iam.policy           a customer managed policy's ARN: its default
 *                            version analysed
 *   aws.iam.password-policy  arn:P:iam::ACCOUNT:password-policy
 */
#include "iam.h"

#include "../../agent/buf.h"
#include "../../agent/log.h"
#include "../../agent/timeutil.h"
#include "collect.h"
#include "policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAM_VERSION "2010-05-08"
#define REPORT_POLL_MS 2000          /* between two GenerateCredentialReport */
#define REPORT_MAX_WAIT_MS 300000    /* give up on the report after this */

/* ---- the credential report's CSV ------------------------------------------ */

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict base64 (whitespace skipped, '=' only as padding at the end). */
static enum vg_err b64_decode(const char *s, size_t len, struct vg_buf *out)
{
    unsigned acc = 0;
    int bits = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c))
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64val(c);
        if (v < 0 || pad)
            return VG_ERR_PARSE;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            enum vg_err err = vg_buf_appendc(out, (char)((acc >> bits) & 0xff));
            if (err)
                return err;
        }
    }
    /* left-over bits must be padding zeros; at most two '=' */
    if (pad > 2 || bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
        return VG_ERR_PARSE;
    return VG_OK;
}

/* Reads one CSV record starting at *pos; fields pushed to rec (an array of
 * strings). Returns VG_OK with *pos after the line end, or VG_ERR_PARSE
 * with a message. */
static enum vg_err csv_record(const char *s, size_t len, size_t *pos, struct vg_json *rec,
                              struct vg_buf *field, const char **why)
{
    size_t i = *pos;
    for (;;) {
        vg_buf_reset(field);
        bool quoted = i < len && s[i] == '"';
        if (quoted) {
            i++;
            for (;;) {
                if (i >= len) {
                    *why = "a quoted field is not closed";
                    return VG_ERR_PARSE;
                }
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        if (vg_buf_appendc(field, '"'))
                            return VG_ERR_NOMEM;
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (vg_buf_appendc(field, s[i]))
                    return VG_ERR_NOMEM;
                i++;
            }
            if (i < len && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                *why = "text after a closing quote";
                return VG_ERR_PARSE;
            }
        } else {
            size_t start = i;
            while (i < len && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                if (s[i] == '"') {
                    *why = "a quote inside an unquoted field";
                    return VG_ERR_PARSE;
                }
                i++;
            }
            if (vg_buf_append(field, s + start, i - start))
                return VG_ERR_NOMEM;
        }
        if (vg_json_len(rec) >= VG_AWS_MAX_REPORT_COLUMNS) {
            *why = "too many fields";
            return VG_ERR_PARSE;
        }
        if (vg_json_push(rec, vg_json_strn(field->data ? field->data : "", field->len)))
            return VG_ERR_NOMEM;
        if (i < len && s[i] == ',') {
            i++;
            continue;
        }
        if (i < len && s[i] == '\r')
            i++;
        if (i < len && s[i] == '\n')
            i++;
        *pos = i;
        return VG_OK;
    }
}

struct vg_json *vg_aws_credential_report_parse(const char *b64, size_t len, char *errbuf,
                                               size_t errlen)
{
    struct vg_buf csv, field;
    vg_buf_init(&csv, VG_AWS_MAX_CREDENTIAL_REPORT);
    vg_buf_init(&field, 64u << 10);
    struct vg_json *out = NULL, *header = NULL, *rec = NULL;
    enum vg_err err = b64 ? b64_decode(b64, len, &csv) : VG_ERR_PARSE;
    if (err) {
        snprintf(errbuf, errlen, "credential report: %s",
                 err == VG_ERR_PARSE ? "bad base64" : vg_strerror(err));
        goto fail;
    }
    const char *s = csv.data ? csv.data : "";
    size_t n = csv.len, pos = 0;
    if (memchr(s, '\0', n)) {
        snprintf(errbuf, errlen, "credential report: contains a NUL byte");
        goto fail;
    }
    out = vg_json_object();
    header = vg_json_array();
    if (!out || !header)
        goto nomem;
    const char *why = NULL;
    if (n == 0) {
        snprintf(errbuf, errlen, "credential report: empty");
        goto fail;
    }
    if ((err = csv_record(s, n, &pos, header, &field, &why))) {
        if (err == VG_ERR_NOMEM)
            goto nomem;
        snprintf(errbuf, errlen, "credential report: line 1: %s", why);
        goto fail;
    }
    size_t ucol = SIZE_MAX;
    for (size_t c = 0; c < vg_json_len(header); c++)
        if (strcmp(vg_json_get_str(vg_json_at(header, c)), "user") == 0)
            ucol = c;
    if (ucol == SIZE_MAX) {
        snprintf(errbuf, errlen, "credential report: no user column");
        goto fail;
    }
    for (size_t line = 2; pos < n; line++) {
        if (s[pos] == '\n' || s[pos] == '\r') {      /* blank line */
            pos++;
            continue;
        }
        rec = vg_json_array();
        if (!rec)
            goto nomem;
        if ((err = csv_record(s, n, &pos, rec, &field, &why))) {
            if (err == VG_ERR_NOMEM)
                goto nomem;
            snprintf(errbuf, errlen, "credential report: line %zu: %s", line, why);
            goto fail;
        }
        if (vg_json_len(rec) != vg_json_len(header)) {
            snprintf(errbuf, errlen, "credential report: line %zu has %zu fields, the header %zu",
                     line, vg_json_len(rec), vg_json_len(header));
            goto fail;
        }
        const char *user = vg_json_get_str(vg_json_at(rec, ucol));
        if (!*user || vg_json_get(out, user)) {
            snprintf(errbuf, errlen, "credential report: line %zu: %s user name", line,
                     *user ? "a repeated" : "an empty");
            goto fail;
        }
        struct vg_json *row = vg_json_object();
        if (!row)
            goto nomem;
        for (size_t c = 0; c < vg_json_len(header); c++)
            if (vg_json_set_str(row, vg_json_get_str(vg_json_at(header, c)),
                                vg_json_get_str(vg_json_at(rec, c)))) {
                vg_json_free(row);
                goto nomem;
            }
        if (vg_json_set(out, user, row))
            goto nomem;
        vg_json_free(rec);
        rec = NULL;
    }
    vg_json_free(header);
    vg_buf_free(&csv);
    vg_buf_free(&field);
    return out;
nomem:
    snprintf(errbuf, errlen, "credential report: out of memory");
fail:
    vg_json_free(rec);
    vg_json_free(header);
    vg_json_free(out);
    vg_buf_free(&csv);
    vg_buf_free(&field);
    return NULL;
}

/* ---- the collector's state ------------------------------------------------- */

struct iam_state {
    const struct vg_aws_ctx *ctx;
    struct vg_json *pages;          /* GetAccountAuthorizationDetails pages (array) */
    char details_err[1024];         /* "" when every page was read */
    struct vg_json *report;         /* user -> row, or NULL */
    char report_err[1024];
    char report_time[64];           /* GeneratedTime */
    char gen_state[32];             /* the last GenerateCredentialReport State */
    char *content;                  /* the last GetCredentialReport Content */
    int64_t report_deadline;        /* monotonic */
    int parts;                      /* parts still running (details, report) */
};

static void build(struct iam_state *st);

/* Drops one hold; the last frees st. The start function keeps a hold of
 * its own until it returns, so st outlives every callback that runs
 * synchronously inside it. Not inlined: gcc -O3 follows the free into the
 * callers and cannot see the count, and reports a use after free that the
 * holds rule out. */
__attribute__((noinline)) static void part_done(struct iam_state *st)
{
    if (--st->parts > 0)
        return;
    build(st);
    vg_json_free(st->pages);
    vg_json_free(st->report);
    free(st->content);
    free(st);
}

/* ---- GetAccountAuthorizationDetails ----------------------------------------- */

static const char *const details_lists[] = {
    "UserDetailList", "GroupDetailList", "RoleDetailList", "Policies", "UserPolicyList",
    "GroupPolicyList", "RolePolicyList", "AttachedManagedPolicies", "GroupList",
    "PolicyVersionList", "Tags", "InstanceProfileList", "Roles", NULL,
};
static const char *const details_bools[] = { "IsTruncated", "IsDefaultVersion", "IsAttachable",
                                             NULL };
static const char *const details_ints[] = { "AttachmentCount", "PermissionsBoundaryUsageCount",
                                            NULL };
static const struct vg_aws_xml_opts details_xml = { .lists = details_lists,
                                                    .bools = details_bools,
                                                    .ints = details_ints };

static enum vg_err on_details_page(struct vg_aws_page *pg, void *opaque)
{
    struct iam_state *st = opaque;
    /* the next token first: it is read from the page about to be taken */
    enum vg_err err = vg_aws_next(pg, "Marker");
    if (!err && pg->json) {
        err = vg_json_push(st->pages, pg->json);
        pg->json = NULL;    /* taken, even when the push failed (it freed it) */
    }
    return err;
}

static void on_details_done(const struct vg_aws_error *err, void *opaque)
{
    struct iam_state *st = opaque;
    if (err) {
        snprintf(st->details_err, sizeof(st->details_err), "%s", err->text);
        vg_aws_list_failed(st->ctx, err);
    }
    part_done(st);
}

/* ---- the credential report ---------------------------------------------------- */

static void report_fail(struct iam_state *st, const char *why)
{
    snprintf(st->report_err, sizeof(st->report_err), "%s", why);
    vg_aws_scan_error(st->ctx, "%s", why);
    part_done(st);
}

static void report_generate(struct iam_state *st);

static void on_poll(void *opaque, bool cancelled)
{
    struct iam_state *st = opaque;
    if (cancelled)
        report_fail(st, "the credential report was not read: the scan was abandoned");
    else
        report_generate(st);
}

static void report_again(struct iam_state *st)
{
    if (vg_time_mono_ms() >= st->report_deadline) {
        char why[160];
        snprintf(why, sizeof(why), "the credential report was not ready after %d s",
                 REPORT_MAX_WAIT_MS / 1000);
        report_fail(st, why);
        return;
    }
    if (vg_aws_defer(st->ctx, REPORT_POLL_MS, on_poll, st))
        report_fail(st, "cannot wait for the credential report: out of memory");
}

static enum vg_err on_get_page(struct vg_aws_page *pg, void *opaque)
{
    struct iam_state *st = opaque;
    const char *c = vg_aws_str(pg->json, "Content");
    const char *t = vg_aws_str(pg->json, "GeneratedTime");
    free(st->content);
    st->content = c ? strdup(c) : NULL;
    if (c && !st->content)
        return VG_ERR_NOMEM;
    snprintf(st->report_time, sizeof(st->report_time), "%s", t ? t : "");
    return VG_OK;
}

static void on_get_done(const struct vg_aws_error *err, void *opaque)
{
    struct iam_state *st = opaque;
    if (err) {
        if (strcmp(err->code, "ReportNotPresent") == 0 || strcmp(err->code, "ReportExpired") == 0 ||
            strcmp(err->code, "ReportInProgress") == 0)
            report_again(st);
        else
            report_fail(st, err->text);
        return;
    }
    char why[512];
    st->report = st->content ? vg_aws_credential_report_parse(st->content, strlen(st->content),
                                                              why, sizeof(why))
                             : NULL;
    if (!st->report) {
        if (!st->content)
            snprintf(why, sizeof(why), "credential report: iam:GetCredentialReport answered "
                                       "no Content");
        report_fail(st, why);
        return;
    }
    part_done(st);
}

static enum vg_err on_gen_page(struct vg_aws_page *pg, void *opaque)
{
    struct iam_state *st = opaque;
    const char *s = vg_aws_str(pg->json, "State");
    snprintf(st->gen_state, sizeof(st->gen_state), "%s", s ? s : "");
    return VG_OK;
}

static void on_gen_done(const struct vg_aws_error *err, void *opaque)
{
    struct iam_state *st = opaque;
    if (err) {
        report_fail(st, err->text);
        return;
    }
    if (strcmp(st->gen_state, "COMPLETE") != 0) {
        report_again(st);
        return;
    }
    struct vg_aws_call_spec s = { .service = "iam", .region = st->ctx->global_region,
                                  .protocol = VG_AWS_QUERY, .operation = "GetCredentialReport",
                                  .version = IAM_VERSION };
    enum vg_err e = vg_aws_call(st->ctx, &s, on_get_page, on_get_done, st);
    if (e) {
        char why[160];
        snprintf(why, sizeof(why), "cannot queue iam:GetCredentialReport: %s", vg_strerror(e));
        report_fail(st, why);
    }
}

static void report_generate(struct iam_state *st)
{
    st->gen_state[0] = '\0';
    struct vg_aws_call_spec s = { .service = "iam", .region = st->ctx->global_region,
                                  .protocol = VG_AWS_QUERY,
                                  .operation = "GenerateCredentialReport",
                                  .version = IAM_VERSION };
    enum vg_err e = vg_aws_call(st->ctx, &s, on_gen_page, on_gen_done, st);
    if (e) {
        char why[160];
        snprintf(why, sizeof(why), "cannot queue iam:GenerateCredentialReport: %s",
                 vg_strerror(e));
        report_fail(st, why);
    }
}

/* ---- building the documents ------------------------------------------------- */

static bool is_time(const char *s)
{
    int64_t ms;
    return s && vg_time_parse(s, &ms) == 0;
}

static int64_t time_of(const char *s)
{
    int64_t ms = 0;
    if (!s || vg_time_parse(s, &ms) != 0)
        return INT64_MIN;
    return ms;
}

/* A report value: "true"/"false" as booleans, everything else as the text. */
static struct vg_json *report_value(const char *s)
{
    if (s && strcmp(s, "true") == 0)
        return vg_json_bool(true);
    if (s && strcmp(s, "false") == 0)
        return vg_json_bool(false);
    return vg_json_str(s);
}

static const char *col(const struct vg_json *row, const char *name)
{
    return vg_json_get_str(vg_json_get(row, name));
}

/* Sets field of doc from the report column of the same name. */
static enum vg_err copy_col(struct vg_json *doc, const struct vg_json *row, const char *name)
{
    const char *v = col(row, name);
    if (!v)
        return VG_OK;
    return vg_json_set(doc, name, report_value(v));
}

/* access_keys: [{name, active, last_rotated, last_used_date}] */
static enum vg_err add_access_keys(struct vg_json *doc, const struct vg_json *row)
{
    struct vg_json *keys = vg_json_array();
    enum vg_err err = keys ? VG_OK : VG_ERR_NOMEM;
    for (int k = 1; !err && k <= 2; k++) {
        char c_active[40], c_rot[40], c_used[40], c_region[48], c_service[48], name[16];
        snprintf(name, sizeof(name), "access_key_%d", k);
        snprintf(c_active, sizeof(c_active), "access_key_%d_active", k);
        snprintf(c_rot, sizeof(c_rot), "access_key_%d_last_rotated", k);
        snprintf(c_used, sizeof(c_used), "access_key_%d_last_used_date", k);
        snprintf(c_region, sizeof(c_region), "access_key_%d_last_used_region", k);
        snprintf(c_service, sizeof(c_service), "access_key_%d_last_used_service", k);
        if (!col(row, c_active))
            continue;
        struct vg_json *key = vg_json_object();
        err = key ? VG_OK : VG_ERR_NOMEM;
        if (!err)
            err = vg_json_set_str(key, "name", name);
        if (!err)
            err = vg_json_set(key, "active", report_value(col(row, c_active)));
        if (!err && col(row, c_rot))
            err = vg_json_set_str(key, "last_rotated", col(row, c_rot));
        if (!err && col(row, c_used))
            err = vg_json_set_str(key, "last_used_date", col(row, c_used));
        if (!err && col(row, c_region))
            err = vg_json_set_str(key, "last_used_region", col(row, c_region));
        if (!err && col(row, c_service))
            err = vg_json_set_str(key, "last_used_service", col(row, c_service));
        if (err)
            vg_json_free(key);
        else
            err = vg_json_push(keys, key);
    }
    return err ? (vg_json_free(keys), err) : vg_json_set(doc, "access_keys", keys);
}

/* One credential of credentials[]: its last activity, or when never used,
 * the time it was made (CIS counts unused credentials from creation). */
static enum vg_err add_credential(struct vg_json *arr, const char *name, const char *active,
                                  const char *used, const char *used_col, const char *made,
                                  const char *made_col)
{
    struct vg_json *c = vg_json_object();
    if (!c)
        return VG_ERR_NOMEM;
    enum vg_err err = vg_json_set_str(c, "name", name);
    if (!err)
        err = vg_json_set(c, "active", report_value(active));
    if (!err && is_time(used)) {
        err = vg_json_set_str(c, "last_activity", used);
        if (!err)
            err = vg_json_set_str(c, "last_activity_from", used_col);
    } else if (!err && is_time(made)) {
        char from[96];
        snprintf(from, sizeof(from), "%s (never used)", made_col);
        err = vg_json_set_str(c, "last_activity", made);
        if (!err)
            err = vg_json_set_str(c, "last_activity_from", from);
    }
    if (err) {
        vg_json_free(c);
        return err;
    }
    return vg_json_push(arr, c);
}

/* credentials: the console password and both keys, for the unused
 * credentials check. */
static enum vg_err add_credentials(struct vg_json *doc, const struct vg_json *row)
{
    struct vg_json *arr = vg_json_array();
    if (!arr)
        return VG_ERR_NOMEM;
    const char *pw_made = col(row, "password_last_changed");
    const char *pw_made_col = "password_last_changed";
    if (!is_time(pw_made)) {
        pw_made = col(row, "user_creation_time");
        pw_made_col = "user_creation_time";
    }
    enum vg_err err = VG_OK;
    if (col(row, "password_enabled"))
        err = add_credential(arr, "password", col(row, "password_enabled"),
                             col(row, "password_last_used"), "password_last_used", pw_made,
                             pw_made_col);
    for (int k = 1; !err && k <= 2; k++) {
        char name[16], c_active[40], c_rot[40], c_used[40];
        snprintf(name, sizeof(name), "access_key_%d", k);
        snprintf(c_active, sizeof(c_active), "access_key_%d_active", k);
        snprintf(c_rot, sizeof(c_rot), "access_key_%d_last_rotated", k);
        snprintf(c_used, sizeof(c_used), "access_key_%d_last_used_date", k);
        if (col(row, c_active))
            err = add_credential(arr, name, col(row, c_active), col(row, c_used), c_used,
                                 col(row, c_rot), c_rot);
    }
    if (err) {
        vg_json_free(arr);
        return err;
    }
    return vg_json_set(doc, "credentials", arr);
}

/* The report's fields of a user document. */
static const char *const user_report_fields[] = {
    "password_enabled", "password_last_used", "password_last_changed", "password_next_rotation",
    "mfa_active", "access_keys", "credentials", "user_creation_time", NULL,
};

static void report_fields_unknown(struct vg_resource *r, const char *why)
{
    for (size_t i = 0; user_report_fields[i]; i++)
        vg_resource_set_error(r, user_report_fields[i], why);
}

static enum vg_err add_report_fields(struct vg_resource *r, const struct vg_json *row,
                                     const char *generated)
{
    static const char *const cols[] = { "user_creation_time", "password_enabled",
                                        "password_last_used", "password_last_changed",
                                        "password_next_rotation", "mfa_active", NULL };
    enum vg_err err = VG_OK;
    for (size_t i = 0; !err && cols[i]; i++)
        err = copy_col(r->doc, row, cols[i]);
    if (!err)
        err = add_access_keys(r->doc, row);
    if (!err)
        err = add_credentials(r->doc, row);
    if (!err && generated && *generated)
        err = vg_json_set_str(r->doc, "credential_report_time", generated);
    for (size_t i = 0; !err && cols[i]; i++) {
        char src[96];
        snprintf(src, sizeof(src), "credential report %s", generated ? generated : "");
        if (vg_json_get(r->doc, cols[i]))
            err = vg_resource_set_source(r, cols[i], src);
    }
    return err;
}

/* One analysed policy document: {name, grants_admin, admin_statement,
 * privilege_escalation, escalations} or {name, error}. admin/esc, when
 * given, collect the names of the admin/escalating ones; bad collects
 * the first parse error. */
static enum vg_err analyse_into(struct vg_json *obj, const char *encoded,
                                struct vg_aws_policy_report *rep, char *bad, size_t badlen,
                                bool *ok)
{
    char why[512];
    *ok = false;
    struct vg_json *doc = encoded ? vg_aws_policy_parse(encoded, strlen(encoded), why, sizeof(why))
                                  : NULL;
    if (!doc) {
        if (!encoded)
            snprintf(why, sizeof(why), "policy document: missing");
        if (bad && !bad[0])
            snprintf(bad, badlen, "%s", why);
        return vg_json_set_str(obj, "error", why);
    }
    vg_aws_policy_analyse(doc, rep);
    *ok = true;
    enum vg_err err = vg_json_set_bool(obj, "grants_admin", rep->admin);
    if (!err && rep->admin)
        err = vg_json_set_str(obj, "admin_statement", rep->admin_statement);
    if (!err)
        err = vg_json_set_bool(obj, "privilege_escalation", rep->nescalations > 0);
    if (!err && rep->nescalations)
        err = vg_json_set_str(obj, "escalations", rep->escalations);
    if (!err)
        err = vg_json_set(obj, "document", doc);
    else
        vg_json_free(doc);
    return err;
}

/* attached_policies, inline_policies, inline_admin_policies,
 * inline_escalation_policies of a user, group or role (inline_list:
 * UserPolicyList, GroupPolicyList, RolePolicyList). */
static enum vg_err add_policies(struct vg_resource *r, const struct vg_json *d,
                                const char *inline_list)
{
    struct vg_json *attached = vg_json_array(), *inl = vg_json_array();
    struct vg_json *admin = vg_json_array(), *esc = vg_json_array();
    enum vg_err err = attached && inl && admin && esc ? VG_OK : VG_ERR_NOMEM;
    const struct vg_json *am = vg_json_get(d, "AttachedManagedPolicies");
    for (size_t i = 0; !err && i < vg_json_len(am); i++) {
        const struct vg_json *p = vg_json_at(am, i);
        struct vg_json *o = vg_json_object();
        err = o ? VG_OK : VG_ERR_NOMEM;
        if (!err)
            err = vg_json_set_str(o, "name", vg_aws_str(p, "PolicyName"));
        if (!err)
            err = vg_json_set_str(o, "arn", vg_aws_str(p, "PolicyArn"));
        if (err)
            vg_json_free(o);
        else
            err = vg_json_push(attached, o);
    }
    char bad[512] = "";
    const struct vg_json *il = vg_json_get(d, inline_list);
    for (size_t i = 0; !err && i < vg_json_len(il); i++) {
        const struct vg_json *p = vg_json_at(il, i);
        const char *name = vg_aws_str(p, "PolicyName");
        struct vg_json *o = vg_json_object();
        err = o ? VG_OK : VG_ERR_NOMEM;
        if (!err)
            err = vg_json_set_str(o, "name", name);
        struct vg_aws_policy_report rep;
        bool ok = false;
        if (!err)
            err = analyse_into(o, vg_aws_str(p, "PolicyDocument"), &rep, bad, sizeof(bad), &ok);
        if (err) {
            vg_json_free(o);
            break;
        }
        err = vg_json_push(inl, o);
        if (!err && ok && rep.admin)
            err = vg_json_push(admin, vg_json_str(name));
        if (!err && ok && rep.nescalations)
            err = vg_json_push(esc, vg_json_str(name));
    }
    if (!err) {
        err = vg_json_set(r->doc, "attached_policies", attached);
        attached = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "inline_policies", inl);
        inl = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "inline_admin_policies", admin);
        admin = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "inline_escalation_policies", esc);
        esc = NULL;
    }
    if (!err && bad[0]) {
        /* a document that cannot be read leaves the verdicts open */
        vg_resource_set_error(r, "inline_admin_policies", bad);
        vg_resource_set_error(r, "inline_escalation_policies", bad);
    }
    vg_json_free(attached);
    vg_json_free(inl);
    vg_json_free(admin);
    vg_json_free(esc);
    return err;
}

static const char *const detail_fields[] = { "attached_policies", "inline_policies",
                                             "inline_admin_policies",
                                             "inline_escalation_policies", "groups", NULL };

static void detail_fields_unknown(struct vg_resource *r, const char *why)
{
    for (size_t i = 0; detail_fields[i]; i++)
        vg_resource_set_error(r, detail_fields[i], why);
}

static enum vg_err set_str_if(struct vg_json *doc, const char *key, const char *v)
{
    return v ? vg_json_set_str(doc, key, v) : VG_OK;
}

/* The root user, from the report's <root_account> row. */
static void emit_root(struct iam_state *st)
{
    const struct vg_aws_ctx *ctx = st->ctx;
    char arn[300];
    snprintf(arn, sizeof(arn), "arn:%s:iam::%s:root", ctx->partition, ctx->account_id);
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.iam.root-account", arn, "root",
                                                "identity-management", "aws-iam-root-account",
                                                "iam", ctx->global_region);
    if (!r)
        return;
    const struct vg_json *row = st->report ? vg_json_get(st->report, "<root_account>") : NULL;
    enum vg_err err = vg_json_set_str(r->doc, "arn", arn);
    if (!st->report) {
        char why[1100];
        snprintf(why, sizeof(why), "no credential report: %s", st->report_err);
        vg_resource_set_error(r, "*", why);
    } else if (!row) {
        vg_resource_set_error(r, "*", "the credential report has no <root_account> row");
    } else {
        err = add_report_fields(r, row, st->report_time);
        /* credentials present: a password (the report says not_supported:
         * the root user has one unless it was removed centrally) or a key */
        const char *pw = col(row, "password_enabled");
        bool creds = !pw || strcmp(pw, "false") != 0;
        const struct vg_json *keys = vg_json_get(r->doc, "access_keys");
        for (size_t i = 0; i < vg_json_len(keys); i++)
            if (vg_json_get_bool(vg_json_get(vg_json_at(keys, i), "active")))
                creds = true;
        if (!err)
            err = vg_json_set_bool(r->doc, "has_credentials", creds);
        /* last_used: the latest use of the password or a key */
        static const char *const uses[] = { "password_last_used", "access_key_1_last_used_date",
                                            "access_key_2_last_used_date", NULL };
        const char *best = NULL, *by = NULL;
        for (size_t i = 0; uses[i]; i++) {
            const char *v = col(row, uses[i]);
            if (is_time(v) && (!best || time_of(v) > time_of(best))) {
                best = v;
                by = uses[i];
            }
        }
        if (!err && best) {
            err = vg_json_set_str(r->doc, "last_used", best);
            if (!err)
                err = vg_json_set_str(r->doc, "last_used_from", by);
        }
    }
    if (err) {
        vg_resource_destroy(r);
        vg_aws_scan_error(ctx, "iam root account: %s", vg_strerror(err));
        return;
    }
    vg_aws_emit(ctx, r);
}

static void emit_user(struct iam_state *st, const char *name, const char *arn,
                      const struct vg_json *detail, const struct vg_json *row)
{
    const struct vg_aws_ctx *ctx = st->ctx;
    char made[300];
    if (!arn) {
        snprintf(made, sizeof(made), "arn:%s:iam::%s:user/%s", ctx->partition, ctx->account_id,
                 name);
        arn = made;
    }
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.iam.user", arn, name,
                                                "identity-management", "aws-iam-user", "iam",
                                                ctx->global_region);
    if (!r)
        return;
    enum vg_err err = vg_json_set_str(r->doc, "user_name", name);
    if (!err)
        err = vg_json_set_str(r->doc, "arn", arn);
    if (detail) {
        if (!err)
            err = set_str_if(r->doc, "user_id", vg_aws_str(detail, "UserId"));
        if (!err)
            err = set_str_if(r->doc, "path", vg_aws_str(detail, "Path"));
        if (!err)
            err = set_str_if(r->doc, "create_date", vg_aws_str(detail, "CreateDate"));
        if (!err)
            err = add_policies(r, detail, "UserPolicyList");
        const struct vg_json *g = vg_json_get(detail, "GroupList");
        if (!err)
            err = vg_json_set(r->doc, "groups", g ? vg_json_clone(g) : vg_json_array());
        if (!err)
            err = vg_aws_tags_set(r, vg_json_get(detail, "Tags"));
    } else {
        char why[1100];
        snprintf(why, sizeof(why), "the user's policies could not be listed: %s",
                 st->details_err);
        detail_fields_unknown(r, why);
    }
    if (row) {
        if (!err)
            err = add_report_fields(r, row, st->report_time);
    } else {
        char why[1100];
        if (st->report)
            snprintf(why, sizeof(why), "the user is not in the credential report (generated %s)",
                     st->report_time[0] ? st->report_time : "earlier");
        else
            snprintf(why, sizeof(why), "no credential report: %s", st->report_err);
        report_fields_unknown(r, why);
    }
    if (err) {
        vg_resource_destroy(r);
        vg_aws_scan_error(ctx, "iam user %s: %s", name, vg_strerror(err));
        return;
    }
    vg_aws_emit(ctx, r);
}

/* A group or a role. */
static void emit_principal(struct iam_state *st, const struct vg_json *d, const char *type,
                           const char *sub, const char *name_key, const char *inline_list)
{
    const struct vg_aws_ctx *ctx = st->ctx;
    const char *name = vg_aws_str(d, name_key), *arn = vg_aws_str(d, "Arn");
    if (!name || !arn)
        return;
    struct vg_resource *r = vg_aws_resource_new(ctx, type, arn, name, "identity-management", sub,
                                                "iam", ctx->global_region);
    if (!r)
        return;
    enum vg_err err = vg_json_set_str(r->doc, "name", name);
    if (!err)
        err = vg_json_set_str(r->doc, "arn", arn);
    if (!err)
        err = set_str_if(r->doc, "path", vg_aws_str(d, "Path"));
    if (!err)
        err = set_str_if(r->doc, "create_date", vg_aws_str(d, "CreateDate"));
    if (!err)
        err = add_policies(r, d, inline_list);
    if (!err && vg_json_get(d, "Tags"))
        err = vg_aws_tags_set(r, vg_json_get(d, "Tags"));
    if (err) {
        vg_resource_destroy(r);
        vg_aws_scan_error(ctx, "iam %s: %s", name, vg_strerror(err));
        return;
    }
    vg_aws_emit(ctx, r);
}

/* A customer managed policy: its default version, analysed. */
static void emit_policy(struct iam_state *st, const struct vg_json *p)
{
    const struct vg_aws_ctx *ctx = st->ctx;
    const char *name = vg_aws_str(p, "PolicyName"), *arn = vg_aws_str(p, "Arn");
    if (!arn || strstr(arn, ":iam::aws:policy/"))
        return;    /* AWS managed policies are not the account's */
    if (!name || !*name) {
        /* the name is the ARN's last segment (moto leaves PolicyName out) */
        const char *slash = strrchr(arn, '/');
        name = slash && slash[1] ? slash + 1 : arn;
    }
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.iam.policy", arn, name,
                                                "identity-management", "aws-iam-policy", "iam",
                                                ctx->global_region);
    if (!r)
        return;
    const char *def = vg_aws_str(p, "DefaultVersionId");
    enum vg_err err = vg_json_set_str(r->doc, "policy_name", name);
    if (!err)
        err = vg_json_set_str(r->doc, "arn", arn);
    if (!err)
        err = set_str_if(r->doc, "path", vg_aws_str(p, "Path"));
    if (!err)
        err = set_str_if(r->doc, "default_version_id", def);
    const struct vg_json *ac = vg_json_get(p, "AttachmentCount");
    if (!err && vg_json_type(ac) == VG_JSON_INT)
        err = vg_json_set_int(r->doc, "attachment_count", vg_json_get_int(ac));
    else if (!err)
        vg_resource_set_error(r, "attachment_count", "iam:GetAccountAuthorizationDetails "
                                                     "gave no AttachmentCount");
    /* the default version's document */
    const struct vg_json *vl = vg_json_get(p, "PolicyVersionList");
    const char *doc = NULL;
    for (size_t i = 0; i < vg_json_len(vl); i++) {
        const struct vg_json *v = vg_json_at(vl, i);
        const char *vid = vg_aws_str(v, "VersionId");
        if (vg_aws_bool(v, "IsDefaultVersion") || (def && vid && strcmp(vid, def) == 0)) {
            doc = vg_aws_str(v, "Document");
            break;
        }
    }
    struct vg_json *tmp = vg_json_object();
    struct vg_aws_policy_report rep;
    bool ok = false;
    char bad[512] = "";
    if (!err)
        err = tmp ? analyse_into(tmp, doc, &rep, bad, sizeof(bad), &ok) : VG_ERR_NOMEM;
    if (!err && ok) {
        /* move the verdicts up into the policy's own document */
        for (size_t i = 0; !err && i < vg_json_len(tmp); i++) {
            const char *k = vg_json_key_at(tmp, i);
            if (strcmp(k, "name") != 0)
                err = vg_json_set(r->doc, k, vg_json_clone(vg_json_at(tmp, i)));
        }
    } else if (!err) {
        static const char *const verdicts[] = { "grants_admin", "privilege_escalation",
                                                "document", NULL };
        char why[600];
        snprintf(why, sizeof(why), "version %s: %s", def ? def : "?", bad);
        for (size_t i = 0; verdicts[i]; i++)
            vg_resource_set_error(r, verdicts[i], why);
    }
    vg_json_free(tmp);
    if (err) {
        vg_resource_destroy(r);
        vg_aws_scan_error(ctx, "iam policy %s: %s", name, vg_strerror(err));
        return;
    }
    vg_aws_emit(ctx, r);
}

static void build(struct iam_state *st)
{
    emit_root(st);
    struct vg_json *seen = vg_json_object();
    bool details = st->details_err[0] == '\0';
    for (size_t pi = 0; pi < vg_json_len(st->pages); pi++) {
        const struct vg_json *page = vg_json_at(st->pages, pi);
        const struct vg_json *ul = vg_json_get(page, "UserDetailList");
        for (size_t i = 0; i < vg_json_len(ul); i++) {
            const struct vg_json *u = vg_json_at(ul, i);
            const char *name = vg_aws_str(u, "UserName");
            if (!name || (seen && vg_json_get(seen, name)))
                continue;
            if (seen)
                vg_json_set_bool(seen, name, true);
            const struct vg_json *row = st->report ? vg_json_get(st->report, name) : NULL;
            emit_user(st, name, vg_aws_str(u, "Arn"), details ? u : NULL, row);
        }
        const struct vg_json *gl = vg_json_get(page, "GroupDetailList");
        for (size_t i = 0; details && i < vg_json_len(gl); i++)
            emit_principal(st, vg_json_at(gl, i), "aws.iam.group", "aws-iam-group", "GroupName",
                           "GroupPolicyList");
        const struct vg_json *rl = vg_json_get(page, "RoleDetailList");
        for (size_t i = 0; details && i < vg_json_len(rl); i++)
            emit_principal(st, vg_json_at(rl, i), "aws.iam.role", "aws-iam-role", "RoleName",
                           "RolePolicyList");
        const struct vg_json *pl = vg_json_get(page, "Policies");
        for (size_t i = 0; details && i < vg_json_len(pl); i++)
            emit_policy(st, vg_json_at(pl, i));
    }
    /* the details could not be read in full: the users the report knows */
    for (size_t i = 0; !details && st->report && i < vg_json_len(st->report); i++) {
        const char *name = vg_json_key_at(st->report, i);
        if (!name || strcmp(name, "<root_account>") == 0 || (seen && vg_json_get(seen, name)))
            continue;
        const struct vg_json *row = vg_json_at(st->report, i);
        emit_user(st, name, col(row, "arn"), NULL, row);
    }
    vg_json_free(seen);
}

/* ---- the collector ---------------------------------------------------------------- */

static enum vg_err iam_start(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct iam_state *st = calloc(1, sizeof(*st));
    if (!st || !(st->pages = vg_json_array())) {
        free(st);
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    st->ctx = ctx;
    st->parts = 3;    /* details, report, and this function's own hold */
    st->report_deadline = vg_time_mono_ms() + REPORT_MAX_WAIT_MS;
    static const struct vg_aws_param filter[] = {
        { "Filter.member.1", "User" }, { "Filter.member.2", "Group" },
        { "Filter.member.3", "Role" }, { "Filter.member.4", "LocalManagedPolicy" },
    };
    struct vg_aws_call_spec s = { .service = "iam", .region = ctx->global_region,
                                  .protocol = VG_AWS_QUERY,
                                  .operation = "GetAccountAuthorizationDetails",
                                  .version = IAM_VERSION, .params = filter, .nparams = 4,
                                  .token_param = "Marker", .xml = &details_xml };
    enum vg_err e = vg_aws_call(ctx, &s, on_details_page, on_details_done, st);
    if (e) {
        snprintf(st->details_err, sizeof(st->details_err),
                 "cannot queue iam:GetAccountAuthorizationDetails: %s", vg_strerror(e));
        vg_aws_scan_error(ctx, "%s", st->details_err);
        st->parts--;
    }
    report_generate(st);
    part_done(st);
    return VG_OK;
}

const struct vg_aws_collector vg_aws_iam = {
    .name = "iam",
    .service = "iam",
    .global = true,
    .start = iam_start,
};

/* ---- the password policy ------------------------------------------------------- */

static const char *const pp_bools[] = { "RequireSymbols", "RequireNumbers",
                                        "RequireUppercaseCharacters",
                                        "RequireLowercaseCharacters", "AllowUsersToChangePassword",
                                        "ExpirePasswords", "HardExpiry", NULL };
static const char *const pp_ints[] = { "MinimumPasswordLength", "PasswordReusePrevention",
                                       "MaxPasswordAge", NULL };
static const struct vg_aws_xml_opts pp_xml = { .bools = pp_bools, .ints = pp_ints };

/* PascalCase AWS name -> snake_case field, for the policy's members. */
static void snake(const char *in, char *out, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 2 < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (isupper(c)) {
            if (i > 0)
                out[o++] = '_';
            out[o++] = (char)tolower(c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

static enum vg_err on_pp_page(struct vg_aws_pending *p, struct vg_aws_page *pg)
{
    const struct vg_json *pol = vg_json_get(pg->json, "PasswordPolicy");
    enum vg_err err = vg_json_set_bool(p->res->doc, "present", true);
    for (size_t i = 0; !err && i < vg_json_len(pol); i++) {
        char key[96];
        snake(vg_json_key_at(pol, i), key, sizeof(key));
        err = vg_json_set(p->res->doc, key, vg_json_clone(vg_json_at(pol, i)));
    }
    return err;
}

static bool on_pp_error(struct vg_aws_pending *p, const struct vg_aws_error *err)
{
    if (err->err != VG_ERR_NOENT)
        return false;
    /* NoSuchEntity: the account has no password policy (AWS's defaults) */
    vg_json_set_bool(p->res->doc, "present", false);
    vg_resource_set_source(p->res, "present", "iam:GetAccountPasswordPolicy: NoSuchEntity");
    return true;
}

static enum vg_err pp_start(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    char arn[200];
    snprintf(arn, sizeof(arn), "arn:%s:iam::%s:password-policy", ctx->partition,
             ctx->account_id);
    struct vg_resource *r = vg_aws_resource_new(ctx, "aws.iam.password-policy", arn,
                                                "password-policy", "identity-management",
                                                "aws-iam-password-policy", "iam",
                                                ctx->global_region);
    struct vg_aws_pending *p = vg_aws_pending_new(ctx, r);
    if (!p) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    struct vg_aws_call_spec s = { .service = "iam", .region = ctx->global_region,
                                  .protocol = VG_AWS_QUERY,
                                  .operation = "GetAccountPasswordPolicy",
                                  .version = IAM_VERSION, .xml = &pp_xml };
    /* every field the call fills: unknown when it fails */
    vg_aws_pending_call(p, &s,
                        "present,minimum_password_length,password_reuse_prevention,"
                        "require_symbols,require_numbers,require_uppercase_characters,"
                        "require_lowercase_characters,max_password_age,expire_passwords",
                        on_pp_page, on_pp_error);
    vg_aws_pending_release(p);
    return VG_OK;
}

const struct vg_aws_collector vg_aws_iam_password_policy = {
    .name = "iam-password-policy",
    .service = "iam",
    .global = true,
    .start = pp_start,
};
