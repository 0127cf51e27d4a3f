/*
 * The aws provider: credentials, accounts, regions, one request engine per
 * scan, and the table of collectors (see collect.h for how a scan runs).
 *
 * Whole-account failures end the scan with a sentence (exit 1): no
 * credentials, credentials refused, STS unreachable. With several
 * configured accounts, an account whose role cannot be assumed is a scan
 * error and the others are scanned; only when no account could be scanned
 * does the provider fail.
 */
#include "collect.h"

#include "../../agent/log.h"
#include "../../agent/timeutil.h"
#include "../../config/config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the collectors ---------------------------------------------------- */

/* One line per collector; each file exports its entries (collect.h). */
extern const struct vg_aws_collector vg_aws_iam;
extern const struct vg_aws_collector vg_aws_iam_password_policy;
extern const struct vg_aws_collector vg_aws_s3;
extern const struct vg_aws_collector vg_aws_cloudtrail;
extern const struct vg_aws_collector vg_aws_config_recorders;

/* AWS-2's collectors (ec2.c, rds.c, kms.c, logs.c, guardduty.c, securityhub.c,
 * accessanalyzer.c) */
extern const struct vg_aws_collector vg_aws_ec2_security_groups;
extern const struct vg_aws_collector vg_aws_ec2_network_acls;
extern const struct vg_aws_collector vg_aws_ec2_vpcs;
extern const struct vg_aws_collector vg_aws_ec2_instances;
extern const struct vg_aws_collector vg_aws_ec2_ebs_default;
extern const struct vg_aws_collector vg_aws_rds_instances;
extern const struct vg_aws_collector vg_aws_kms_keys;
extern const struct vg_aws_collector vg_aws_logs_groups;
extern const struct vg_aws_collector vg_aws_logs_root_usage;
extern const struct vg_aws_collector vg_aws_guardduty;
extern const struct vg_aws_collector vg_aws_securityhub;
extern const struct vg_aws_collector vg_aws_access_analyzer;

static const struct vg_aws_collector *const collectors[] = {
    &vg_aws_iam,
    &vg_aws_iam_password_policy,
    &vg_aws_s3,
    &vg_aws_cloudtrail,
    &vg_aws_config_recorders,
    &vg_aws_ec2_security_groups,
    &vg_aws_ec2_network_acls,
    &vg_aws_ec2_vpcs,
    &vg_aws_ec2_instances,
    &vg_aws_ec2_ebs_default,
    &vg_aws_rds_instances,
    &vg_aws_kms_keys,
    &vg_aws_logs_groups,
    &vg_aws_logs_root_usage,
    &vg_aws_guardduty,
    &vg_aws_securityhub,
    &vg_aws_access_analyzer,
};

#define NCOLLECTORS (sizeof(collectors) / sizeof(collectors[0]))

/* ---- scan state ---------------------------------------------------------- */

struct deferred {
    int64_t due_ms;              /* monotonic */
    vg_aws_defer_fn *fn;
    void *opaque;
    struct deferred *next;
};

struct vg_aws_scan {
    vg_resource_sink_fn *sink;
    void *opaque;
    enum vg_err sink_err;        /* the first failure of the sink */
    struct vg_json *scan_errors;
    uint64_t emitted;
    struct deferred *deferred;   /* in no order */
};

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- calls ---------------------------------------------------------------- */

enum vg_err vg_aws_call(const struct vg_aws_ctx *ctx, const struct vg_aws_call_spec *spec,
                        vg_aws_page_fn *on_page, vg_aws_done_fn *on_done, void *opaque)
{
    struct vg_aws_call_spec s = *spec;
    if (!s.region)
        s.region = ctx->region;
    return vg_aws_http_call(ctx->http, &s, ctx->creds, on_page, on_done, opaque);
}

enum vg_err vg_aws_defer(const struct vg_aws_ctx *ctx, int64_t delay_ms, vg_aws_defer_fn *fn,
                         void *opaque)
{
    struct deferred *d = calloc(1, sizeof(*d));
    if (!d)
        return VG_ERR_NOMEM;
    d->due_ms = vg_time_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
    d->fn = fn;
    d->opaque = opaque;
    d->next = ctx->scan->deferred;
    ctx->scan->deferred = d;
    return VG_OK;
}

/* Runs the deferred functions that are due, after sleeping until the
 * earliest is (or cancels them all). Returns how many ran. */
static size_t run_deferred(struct vg_aws_scan *sc, bool cancel)
{
    if (!sc->deferred)
        return 0;
    int64_t first = INT64_MAX;
    for (struct deferred *d = sc->deferred; d; d = d->next)
        if (d->due_ms < first)
            first = d->due_ms;
    int64_t now = vg_time_mono_ms();
    if (!cancel && first > now)
        vg_aws_sleep_ms(first - now);
    now = vg_time_mono_ms();
    /* take the due ones off the list first: they may defer again */
    struct deferred *due = NULL, **pp = &sc->deferred;
    while (*pp) {
        struct deferred *d = *pp;
        if (cancel || d->due_ms <= now) {
            *pp = d->next;
            d->next = due;
            due = d;
        } else {
            pp = &d->next;
        }
    }
    size_t n = 0;
    while (due) {
        struct deferred *d = due;
        due = d->next;
        d->fn(d->opaque, cancel);
        free(d);
        n++;
    }
    return n;
}

/* ---- resources -------------------------------------------------------------- */

struct vg_resource *vg_aws_resource_new(const struct vg_aws_ctx *ctx, const char *type,
                                        const char *id, const char *name, const char *ecs_type,
                                        const char *sub_type, const char *service,
                                        const char *region)
{
    struct vg_resource *r = vg_resource_new(type, id, name, ecs_type, sub_type);
    if (!r)
        return NULL;
    if (!region)
        region = ctx->region;
    r->service = xstrdup(service);
    r->account = xstrdup(ctx->account_id);
    r->region = xstrdup(region);
    r->tags = vg_json_object();
    if ((service && !r->service) || (ctx->account_id && !r->account) || (region && !r->region) ||
        !r->tags) {
        vg_resource_destroy(r);
        return NULL;
    }
    return r;
}

void vg_aws_emit(const struct vg_aws_ctx *ctx, struct vg_resource *r)
{
    if (!r)
        return;
    struct vg_aws_scan *sc = ctx->scan;
    if (sc->sink_err) {
        vg_resource_destroy(r);
        return;
    }
    enum vg_err err = sc->sink(r, sc->opaque);
    if (err)
        sc->sink_err = err;
    else
        sc->emitted++;
}

const char *vg_aws_arn(const struct vg_aws_ctx *ctx, const char *service, const char *region,
                       const char *resource, char *out, size_t outlen)
{
    if (!region)
        region = ctx->region;
    int n = snprintf(out, outlen, "arn:%s:%s:%s:%s:%s", ctx->partition ? ctx->partition : "aws",
                     service, region ? region : "", ctx->account_id ? ctx->account_id : "",
                     resource ? resource : "");
    (void)n;
    return out;
}

/* The value of the first key of names present in obj as a string. */
static const char *first_str(const struct vg_json *obj, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        const char *s = vg_json_get_str(vg_json_get(obj, names[i]));
        if (s)
            return s;
    }
    return NULL;
}

enum vg_err vg_aws_tags_set(struct vg_resource *r, const struct vg_json *tag_list)
{
    static const char *const keys[] = { "Key", "key", "TagKey", NULL };
    static const char *const values[] = { "Value", "value", "TagValue", NULL };
    if (!r->tags) {
        r->tags = vg_json_object();
        if (!r->tags)
            return VG_ERR_NOMEM;
    }
    size_t n = vg_json_type(tag_list) == VG_JSON_ARRAY ? vg_json_len(tag_list) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct vg_json *t = vg_json_at(tag_list, i);
        const char *k = first_str(t, keys);
        if (!k)
            continue;
        const char *v = first_str(t, values);
        enum vg_err err = vg_json_set_str(r->tags, k, v ? v : "");
        if (err)
            return err;
    }
    return VG_OK;
}

/* ---- scan errors ------------------------------------------------------------ */

void vg_aws_scan_error(const struct vg_aws_ctx *ctx, const char *fmt, ...)
{
    char text[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    char line[1400];
    snprintf(line, sizeof(line), "aws %s %s: %s", ctx->account_id ? ctx->account_id : "-",
             ctx->region ? ctx->region : "-", text);
    vg_log(VG_LOG_WARN, "aws", "%s", line);
    if (ctx->scan_errors)
        vg_json_push(ctx->scan_errors, vg_json_str(line));
}

void vg_aws_list_failed(const struct vg_aws_ctx *ctx, const struct vg_aws_error *err)
{
    vg_aws_scan_error(ctx, "%s", err->text);
}

/* ---- pending resources --------------------------------------------------------- */

struct vg_aws_pending *vg_aws_pending_new(const struct vg_aws_ctx *ctx, struct vg_resource *res)
{
    if (!res)
        return NULL;
    struct vg_aws_pending *p = calloc(1, sizeof(*p));
    if (!p) {
        vg_resource_destroy(res);
        return NULL;
    }
    p->ctx = ctx;
    p->res = res;
    p->holds = 1;
    return p;
}

void vg_aws_pending_hold(struct vg_aws_pending *p)
{
    p->holds++;
}

void vg_aws_pending_release(struct vg_aws_pending *p)
{
    if (!p || --p->holds > 0)
        return;
    if (p->finish)
        p->finish(p);
    vg_aws_emit(p->ctx, p->res);
    p->res = NULL;
    if (p->free_user)
        p->free_user(p->user);
    free(p);
}

void vg_aws_pending_fail(struct vg_aws_pending *p, const char *field, const char *reason)
{
    if (!p->res || !field)
        return;
    char name[128];
    const char *s = field;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n > 0 && n < sizeof(name)) {
            memcpy(name, s, n);
            name[n] = '\0';
            vg_resource_set_error(p->res, name, reason);
        }
        if (!e)
            break;
        s = e + 1;
    }
}

struct sub_call {
    struct vg_aws_pending *p;
    char *field;
    vg_aws_sub_page_fn *on_page;
    vg_aws_sub_error_fn *on_error;
};

static enum vg_err sub_page(struct vg_aws_page *pg, void *opaque)
{
    struct sub_call *sc = opaque;
    return sc->on_page ? sc->on_page(sc->p, pg) : VG_OK;
}

static void sub_done(const struct vg_aws_error *err, void *opaque)
{
    struct sub_call *sc = opaque;
    if (err && !(sc->on_error && sc->on_error(sc->p, err)))
        vg_aws_pending_fail(sc->p, sc->field, err->text);
    struct vg_aws_pending *p = sc->p;
    free(sc->field);
    free(sc);
    vg_aws_pending_release(p);
}

enum vg_err vg_aws_pending_call(struct vg_aws_pending *p, const struct vg_aws_call_spec *spec,
                                const char *field, vg_aws_sub_page_fn *on_page,
                                vg_aws_sub_error_fn *on_error)
{
    char why[600];
    struct sub_call *sc = calloc(1, sizeof(*sc));
    if (!sc || !(sc->field = strdup(field ? field : ""))) {
        free(sc);
        snprintf(why, sizeof(why), "cannot queue %s:%s: out of memory", spec->service,
                 spec->operation);
        vg_aws_pending_fail(p, field, why);
        return VG_ERR_NOMEM;
    }
    sc->p = p;
    sc->on_page = on_page;
    sc->on_error = on_error;
    struct vg_aws_call_spec s = *spec;
    if (!s.region)
        s.region = p->res && p->res->region ? p->res->region : p->ctx->region;
    vg_aws_pending_hold(p);
    enum vg_err err = vg_aws_http_call(p->ctx->http, &s, p->ctx->creds, sub_page, sub_done, sc);
    if (err) {
        p->holds--;    /* the last hold is the creator's: never zero here */
        snprintf(why, sizeof(why), "cannot queue %s:%s: %s", spec->service, spec->operation,
                 vg_strerror(err));
        vg_aws_pending_fail(p, field, why);
        free(sc->field);
        free(sc);
    }
    return err;
}

/* ---- small readers ------------------------------------------------------------ */

const char *vg_aws_str(const struct vg_json *obj, const char *key)
{
    return vg_json_get_str(vg_json_get(obj, key));
}

bool vg_aws_bool(const struct vg_json *obj, const char *key)
{
    const struct vg_json *v = vg_json_get(obj, key);
    if (vg_json_type(v) == VG_JSON_BOOL)
        return vg_json_get_bool(v);
    const char *s = vg_json_get_str(v);
    return s && strcmp(s, "true") == 0;
}

enum vg_err vg_aws_next(struct vg_aws_page *pg, const char *token_key)
{
    const struct vg_json *tr = vg_json_get(pg->json, "IsTruncated");
    if (tr && !vg_aws_bool(pg->json, "IsTruncated"))
        return VG_OK;
    const char *t = vg_aws_str(pg->json, token_key);
    if (!t || !*t)
        return VG_OK;
    return vg_aws_page_next(pg, t);
}

/* ---- one account --------------------------------------------------------------- */

struct account {
    char label[300];                        /* "123456789012" or the role ARN, for messages */
    struct vg_aws_creds_provider *creds;    /* owned when owns_creds */
    bool owns_creds;
    char id[32];
    char partition[32];
    char *name;                             /* the first alias, or NULL */
    char **regions;                         /* owned */
    size_t nregions;
};

static void account_clear(struct account *a)
{
    if (a->owns_creds)
        vg_aws_creds_destroy(a->creds);
    free(a->name);
    for (size_t i = 0; i < a->nregions; i++)
        free(a->regions[i]);
    free(a->regions);
    memset(a, 0, sizeof(*a));
}

struct driver {
    const struct vg_config_scan *cfg;
    const struct vg_scan_params *params;
    const char *global_region;
    struct vg_aws_http *http;
    struct vg_aws_scan scan;
};

/* A context for account-level messages before collectors run. */
static struct vg_aws_ctx account_ctx(struct driver *d, struct account *a)
{
    struct vg_aws_ctx c = {
        .http = d->http, .creds = a->creds, .account_id = a->id[0] ? a->id : a->label,
        .account_name = a->name, .region = d->global_region, .global_region = d->global_region,
        .partition = a->partition[0] ? a->partition : "aws", .endpoint_url = d->cfg->endpoint_url,
        .params = d->params, .scan_errors = d->scan.scan_errors, .scan = &d->scan,
    };
    return c;
}

/* STS GetCallerIdentity: the account id and the partition. A failure here
 * is a failure of the whole account. */
static enum vg_err identify(struct driver *d, struct account *a, char *errbuf, size_t errlen)
{
    const struct vg_aws_creds *cr = NULL;
    char why[1024];
    enum vg_err err = vg_aws_creds_get(a->creds, &cr, why, sizeof(why));
    if (err) {
        snprintf(errbuf, errlen, "aws %s: no usable credentials: %s", a->label, why);
        return err;
    }
    struct vg_aws_call_spec s = { .service = "sts", .region = d->global_region,
                                  .protocol = VG_AWS_QUERY, .operation = "GetCallerIdentity",
                                  .version = "2011-06-15" };
    struct vg_json *doc = NULL;
    struct vg_aws_error e;
    err = vg_aws_http_once(d->http, &s, a->creds, &doc, &e);
    if (err) {
        snprintf(errbuf, errlen, "aws %s: cannot identify the account: %s", a->label, e.text);
        return err;
    }
    const char *acct = vg_aws_str(doc, "Account");
    const char *arn = vg_aws_str(doc, "Arn");
    size_t n = acct ? strlen(acct) : 0;
    bool digits = n == 12;
    for (size_t i = 0; digits && i < n; i++)
        digits = acct[i] >= '0' && acct[i] <= '9';
    if (!digits) {
        snprintf(errbuf, errlen, "aws %s: sts:GetCallerIdentity answered no account id", a->label);
        vg_json_free(doc);
        return VG_ERR_PARSE;
    }
    snprintf(a->id, sizeof(a->id), "%s", acct);
    snprintf(a->partition, sizeof(a->partition), "aws");
    if (arn && strncmp(arn, "arn:", 4) == 0) {
        const char *p = arn + 4, *colon = strchr(p, ':');
        if (colon && colon > p && (size_t)(colon - p) < sizeof(a->partition)) {
            memcpy(a->partition, p, (size_t)(colon - p));
            a->partition[colon - p] = '\0';
        }
    }
    vg_log(VG_LOG_INFO, "aws", "scanning account %s as %s", a->id, arn ? arn : "?");
    vg_json_free(doc);
    return VG_OK;
}

/* iam:ListAccountAliases: the account's name; a failure is a scan error. */
static void name_account(struct driver *d, struct account *a)
{
    static const char *const lists[] = { "AccountAliases", NULL };
    static const struct vg_aws_xml_opts xo = { .lists = lists };
    struct vg_aws_call_spec s = { .service = "iam", .region = d->global_region,
                                  .protocol = VG_AWS_QUERY, .operation = "ListAccountAliases",
                                  .version = "2010-05-08", .xml = &xo };
    struct vg_json *doc = NULL;
    struct vg_aws_error e;
    if (vg_aws_http_once(d->http, &s, a->creds, &doc, &e)) {
        struct vg_aws_ctx c = account_ctx(d, a);
        vg_aws_scan_error(&c, "cannot read the account alias: %s", e.text);
        return;
    }
    const char *alias = vg_json_get_str(vg_json_at(vg_json_get(doc, "AccountAliases"), 0));
    if (alias && *alias)
        a->name = strdup(alias);
    vg_json_free(doc);
}

static bool in_list(char *const *l, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i], s) == 0)
            return true;
    return false;
}

static enum vg_err add_region(struct account *a, const char *r)
{
    if (in_list(a->regions, a->nregions, r))
        return VG_OK;
    char **nr = realloc(a->regions, (a->nregions + 1) * sizeof(*nr));
    if (!nr)
        return VG_ERR_NOMEM;
    a->regions = nr;
    if (!(a->regions[a->nregions] = strdup(r)))
        return VG_ERR_NOMEM;
    a->nregions++;
    return VG_OK;
}

/* ec2:DescribeRegions (enabled regions only), narrowed by the scan's
 * regions. When the list cannot be read: the configured regions, else the
 * global region alone, with a scan error. */
static enum vg_err find_regions(struct driver *d, struct account *a)
{
    static const char *const lists[] = { "regionInfo", NULL };
    static const struct vg_aws_xml_opts xo = { .lists = lists };
    struct vg_aws_param ps[] = { { "AllRegions", "false" } };
    struct vg_aws_call_spec s = { .service = "ec2", .region = d->global_region,
                                  .protocol = VG_AWS_EC2, .operation = "DescribeRegions",
                                  .version = "2016-11-15", .params = ps, .nparams = 1,
                                  .xml = &xo };
    struct vg_json *doc = NULL;
    struct vg_aws_error e;
    struct vg_aws_ctx c = account_ctx(d, a);
    char *const *want = d->cfg->regions;
    size_t nwant = d->cfg->nregions;
    enum vg_err err = VG_OK;
    if (vg_aws_http_once(d->http, &s, a->creds, &doc, &e)) {
        if (nwant) {
            vg_aws_scan_error(&c, "cannot list the enabled regions (%s); scanning the "
                                  "configured ones", e.text);
            for (size_t i = 0; !err && i < nwant; i++)
                err = add_region(a, want[i]);
        } else {
            vg_aws_scan_error(&c, "cannot list the enabled regions (%s); scanning %s only",
                              e.text, d->global_region);
            err = add_region(a, d->global_region);
        }
        return err;
    }
    const struct vg_json *ri = vg_json_get(doc, "regionInfo");
    char **enabled = NULL;
    size_t nenabled = 0;
    for (size_t i = 0; !err && i < vg_json_len(ri); i++) {
        const char *name = vg_aws_str(vg_json_at(ri, i), "regionName");
        const char *opt = vg_aws_str(vg_json_at(ri, i), "optInStatus");
        if (!name || !*name || (opt && strcmp(opt, "not-opted-in") == 0))
            continue;
        char **ne = realloc(enabled, (nenabled + 1) * sizeof(*ne));
        if (!ne || !(ne[nenabled] = strdup(name))) {
            enabled = ne ? ne : enabled;
            err = VG_ERR_NOMEM;
            break;
        }
        enabled = ne;
        nenabled++;
    }
    if (!err && nwant) {
        for (size_t i = 0; !err && i < nwant; i++) {
            if (in_list(enabled, nenabled, want[i]))
                err = add_region(a, want[i]);
            else
                vg_aws_scan_error(&c, "region %s is not enabled in the account; skipped",
                                  want[i]);
        }
    } else {
        for (size_t i = 0; !err && i < nenabled; i++)
            err = add_region(a, enabled[i]);
    }
    for (size_t i = 0; i < nenabled; i++)
        free(enabled[i]);
    free(enabled);
    vg_json_free(doc);
    return err;
}

/* Runs every collector of one identified account. */
static enum vg_err scan_account(struct driver *d, struct account *a, char *errbuf, size_t errlen)
{
    size_t nctx = a->nregions + 1;
    struct vg_aws_ctx *ctxs = calloc(nctx, sizeof(*ctxs));
    if (!ctxs) {
        snprintf(errbuf, errlen, "aws %s: out of memory", a->id);
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < nctx; i++) {
        ctxs[i] = account_ctx(d, a);
        ctxs[i].account_id = a->id;
        ctxs[i].region = i == 0 ? d->global_region : a->regions[i - 1];
        ctxs[i].regions = (const char *const *)a->regions;
        ctxs[i].nregions = a->nregions;
    }
    for (size_t k = 0; k < NCOLLECTORS; k++) {
        const struct vg_aws_collector *col = collectors[k];
        for (size_t i = col->global ? 0 : 1; i < (col->global ? 1 : nctx); i++) {
            char why[512] = "";
            enum vg_err err = col->start(&ctxs[i], why, sizeof(why));
            if (err)
                vg_aws_scan_error(&ctxs[i], "%s: %s", col->name,
                                  why[0] ? why : vg_strerror(err));
        }
    }
    enum vg_err err = VG_OK;
    for (;;) {
        err = vg_aws_http_run(d->http, 0, errbuf, errlen);
        if (err || d->scan.sink_err) {
            run_deferred(&d->scan, true);
            if (!err)
                err = vg_aws_http_run(d->http, 0, errbuf, errlen);
            break;
        }
        if (!run_deferred(&d->scan, false) && !d->scan.deferred)
            break;
    }
    free(ctxs);
    return err;
}

static void log_stats(struct driver *d)
{
    struct vg_aws_http_stats st[VG_AWS_MAX_SERVICES];
    size_t n = vg_aws_http_stats(d->http, st, VG_AWS_MAX_SERVICES);
    for (size_t i = 0; i < n && i < VG_AWS_MAX_SERVICES; i++)
        vg_log(VG_LOG_DEBUG, "aws",
               "%s: %llu requests, %llu retries, %llu throttled, %llu errors, %llu pages, "
               "%d at most in flight",
               st[i].service, (unsigned long long)st[i].requests,
               (unsigned long long)st[i].retries, (unsigned long long)st[i].throttled,
               (unsigned long long)st[i].errors, (unsigned long long)st[i].pages,
               st[i].max_in_flight);
}

static enum vg_err aws_stream(const struct vg_scan_params *p, vg_resource_sink_fn *sink,
                              void *opaque, struct vg_target_info *info,
                              struct vg_json *scan_errors, char *errbuf, size_t errlen)
{
    const struct vg_config_scan *cfg = p->config;
    if (!cfg) {
        snprintf(errbuf, errlen, "the aws provider needs a scan entry in the configuration");
        return VG_ERR_CONFIG;
    }
    struct driver d = { .cfg = cfg, .params = p,
                        .global_region = cfg->global_region && *cfg->global_region
                                             ? cfg->global_region : "us-east-1",
                        .scan = { .sink = sink, .opaque = opaque, .scan_errors = scan_errors } };
    /* per (service, region): half the total, at least the engine's 4, so
     * that one service's sub-calls (S3's five per bucket) cannot take
     * every transfer and the rest still progress */
    int inflight = cfg->max_in_flight > 0 ? (int)cfg->max_in_flight : 32;
    struct vg_aws_http_opts ho = { .endpoint_url = cfg->endpoint_url,
                                   .max_in_flight = inflight,
                                   .max_per_service = inflight / 2 > 4 ? inflight / 2 : 4 };
    char why[1024];
    d.http = vg_aws_http_new(&ho, why, sizeof(why));
    if (!d.http) {
        snprintf(errbuf, errlen, "aws: %s", why);
        return VG_ERR_NOMEM;
    }
    struct vg_aws_creds_opts co = { .profile = cfg->profile, .region = d.global_region,
                                    .endpoint_url = cfg->endpoint_url };
    struct vg_aws_creds_provider *base = vg_aws_creds_chain_new(&co);
    size_t naccounts = cfg->naccounts ? cfg->naccounts : 1;
    struct account *accts = calloc(naccounts, sizeof(*accts));
    enum vg_err err = VG_OK;
    if (!base || !accts) {
        snprintf(errbuf, errlen, "aws: out of memory");
        err = VG_ERR_NOMEM;
        goto out;
    }
    if (!cfg->naccounts) {
        accts[0].creds = base;
        snprintf(accts[0].label, sizeof(accts[0].label), "%s",
                 cfg->profile ? cfg->profile : "default credentials");
    }
    size_t scanned = 0;
    enum vg_err first_err = VG_OK;
    char first_msg[2048] = "";
    for (size_t i = 0; i < naccounts && !d.scan.sink_err; i++) {
        struct account *a = &accts[i];
        if (cfg->naccounts) {
            const struct vg_config_aws_account *ca = &cfg->accounts[i];
            struct vg_aws_assume_role ar = { .role_arn = ca->role_arn,
                                             .external_id = ca->external_id,
                                             .session_name = ca->session_name };
            snprintf(a->label, sizeof(a->label), "%s", ca->role_arn);
            a->creds = vg_aws_creds_assume_role_new(base, &ar, &co);
            a->owns_creds = true;
            if (!a->creds) {
                snprintf(errbuf, errlen, "aws: out of memory");
                err = VG_ERR_NOMEM;
                break;
            }
        }
        char msg[2048];
        enum vg_err ae = identify(&d, a, msg, sizeof(msg));
        if (ae) {
            if (!first_err) {
                first_err = ae;
                snprintf(first_msg, sizeof(first_msg), "%s", msg);
            }
            if (naccounts > 1) {
                vg_log(VG_LOG_WARN, "aws", "%s", msg);
                if (scan_errors)
                    vg_json_push(scan_errors, vg_json_str(msg));
            }
            account_clear(a);
            continue;
        }
        name_account(&d, a);
        if ((err = find_regions(&d, a))) {
            snprintf(errbuf, errlen, "aws %s: out of memory", a->id);
            break;
        }
        if (!info->cloud_account_id) {
            info->cloud_account_id = strdup(a->id);
            info->cloud_account_name = xstrdup(a->name);
        }
        if ((err = scan_account(&d, a, errbuf, errlen)))
            break;
        scanned++;
        account_clear(a);
    }
    if (!err && !scanned && first_err) {
        snprintf(errbuf, errlen, "%s", first_msg);
        err = first_err;
    }
    if (!err && d.scan.sink_err) {
        err = d.scan.sink_err;
        snprintf(errbuf, errlen, "aws: a resource could not be handed on: %s",
                 vg_strerror(err));
    }
    vg_log(VG_LOG_INFO, "aws", "%zu account(s) scanned, %llu resources", scanned,
           (unsigned long long)d.scan.emitted);
    log_stats(&d);
out:
    for (size_t i = 0; accts && i < naccounts; i++)
        account_clear(&accts[i]);
    free(accts);
    vg_aws_creds_destroy(base);
    vg_aws_http_destroy(d.http);
    return err;
}

static enum vg_err aws_collect(const struct vg_scan_params *p, struct vg_resource_list *out,
                               struct vg_target_info *info, struct vg_json *scan_errors,
                               char *errbuf, size_t errlen)
{
    (void)p;
    (void)out;
    (void)info;
    (void)scan_errors;
    snprintf(errbuf, errlen, "aws: use vg_provider_stream");
    return VG_ERR_INVALID;
}

const struct vg_provider_type vg_provider_aws = {
    .name = "aws",
    .collect = aws_collect,
    .stream = aws_stream,
};
