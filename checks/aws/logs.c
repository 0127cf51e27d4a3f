/*
 * CloudWatch Logs collectors: log groups (retention), and the account's
 * monitoring of root account activity (CIS 4.3: a metric filter on the
 * log group a multi-region trail delivers to, and an alarm on its
 * metric).
 *
 * aws.logs.log-group, id the log group ARN (without ":*"), one paginated
 * DescribeLogGroups per region:
 *   {"log_group_name","retention_in_days" (absent: never expire),
 *    "creation_time","stored_bytes","kms_key_id","metric_filter_count"}
 *
 * aws.cloudwatch.root-usage-monitoring, one per account, id
 * arn:aws:cloudwatch::ACCOUNT:root-usage-monitoring:
 *   {"trails": [{"name","arn","home_region","is_logging": bool,
 *                "log_group_arn"}],          multi-region trails only
 *    "metric_filters": [{"region","log_group_name","filter_name",
 *                        "filter_pattern","matches_root_usage": bool,
 *                        "metric_name","metric_namespace",
 *                        "trail_is_logging": bool,
 *                        "alarms": [{"alarm_name","alarm_arn",
 *                                    "actions_enabled": bool,
 *                                    "alarm_actions": [arn],
 *                                    "state_value"}]}],
 *    "call_errors": [text]}
 * Calls: cloudtrail:DescribeTrails (global region, shadow trails
 * included, so multi-region trails of every home region), GetTrailStatus
 * per multi-region trail, logs:DescribeMetricFilters per trail log group,
 * cloudwatch:DescribeAlarmsForMetric per root-usage filter metric. A call
 * that fails makes "metric_filters" unknown with its reason, unless what
 * was read already shows a complete filter and alarm (then the failure is
 * kept in "call_errors").
 */
#include "collect.h"
#include "derive.h"

#include "../../agent/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGS_TARGET "Logs_20140328"
#define TRAIL_TARGET "CloudTrail_20131101"
#define PATTERN_MAX_DEPTH 32

/* ---- the CIS root usage filter pattern (derive.h) ------------------------ */

/* Atoms of the CIS pattern. */
enum atom { A_OTHER = 0, A_ROOT, A_INVOKED, A_SERVICE };

struct pat {
    const char *s;
    size_t i, n;
    bool bad;
    /* the truth of each atom under the assignment being evaluated */
    bool truth[4];
};

static void skip_ws(struct pat *p)
{
    while (p->i < p->n && isspace((unsigned char)p->s[p->i]))
        p->i++;
}

static bool at(struct pat *p, const char *tok)
{
    size_t l = strlen(tok);
    return p->n - p->i >= l && !memcmp(p->s + p->i, tok, l);
}

/* Reads one term up to "&&", "||", ")" or the end (outside quotes) and
 * classifies it. */
static enum atom term(struct pat *p)
{
    char buf[256];
    size_t bl = 0;
    bool quoted = false;
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (!quoted && (at(p, "&&") || at(p, "||") || c == ')' || c == '('))
            break;
        if (c == '"')
            quoted = !quoted;
        if (c == '\\' && quoted && p->i + 1 < p->n) {
            p->i++;
            c = p->s[p->i];
        }
        /* normalise: drop quotes and whitespace outside quotes */
        if (c != '"' && (quoted || !isspace((unsigned char)c))) {
            if (bl + 1 >= sizeof(buf)) {
                p->bad = true;
                return A_OTHER;
            }
            buf[bl++] = c;
        } else if (!quoted && isspace((unsigned char)c) && bl && buf[bl - 1] != ' ') {
            /* keep one space between words outside quotes ("NOT EXISTS") */
            if (bl + 1 >= sizeof(buf)) {
                p->bad = true;
                return A_OTHER;
            }
            buf[bl++] = ' ';
        }
        p->i++;
    }
    if (quoted) {
        p->bad = true;
        return A_OTHER;
    }
    while (bl && buf[bl - 1] == ' ')
        bl--;
    buf[bl] = '\0';
    if (!bl) {
        p->bad = true;
        return A_OTHER;
    }
    /* spaces around the operators are not significant */
    char norm[256];
    size_t nl = 0;
    for (size_t k = 0; k < bl; k++) {
        if (buf[k] == ' ' && ((k > 0 && (buf[k - 1] == '=' || buf[k - 1] == '!')) ||
                              (k + 1 < bl && (buf[k + 1] == '=' || buf[k + 1] == '!'))))
            continue;
        norm[nl++] = buf[k];
    }
    norm[nl] = '\0';
    if (!strcmp(norm, "$.userIdentity.type=Root"))
        return A_ROOT;
    if (!strcmp(norm, "$.userIdentity.invokedBy NOT EXISTS"))
        return A_INVOKED;
    if (!strcmp(norm, "$.eventType!=AwsServiceEvent"))
        return A_SERVICE;
    return A_OTHER;
}

static bool expr_or(struct pat *p, int depth);

static bool primary(struct pat *p, int depth)
{
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '(') {
        p->i++;
        bool v = expr_or(p, depth + 1);
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ')')
            p->bad = true;
        else
            p->i++;
        return v;
    }
    return p->truth[term(p)];
}

static bool expr_and(struct pat *p, int depth)
{
    bool v = primary(p, depth);
    for (;;) {
        skip_ws(p);
        if (p->bad || !at(p, "&&"))
            return v;
        p->i += 2;
        bool w = primary(p, depth);
        v = v && w;
    }
}

static bool expr_or(struct pat *p, int depth)
{
    if (depth > PATTERN_MAX_DEPTH) {
        p->bad = true;
        return false;
    }
    bool v = expr_and(p, depth);
    for (;;) {
        skip_ws(p);
        if (p->bad || !at(p, "||"))
            return v;
        p->i += 2;
        bool w = expr_and(p, depth);
        v = v || w;
    }
}

/* The pattern's value when the atoms are true as given (others false);
 * -1 when the pattern does not parse. */
static int eval_pattern(const char *s, size_t n, bool root, bool invoked, bool service)
{
    struct pat p = { .s = s, .n = n };
    p.truth[A_ROOT] = root;
    p.truth[A_INVOKED] = invoked;
    p.truth[A_SERVICE] = service;
    bool v = expr_or(&p, 0);
    skip_ws(&p);
    if (p.bad || p.i != p.n)
        return -1;
    return v;
}

/* The filter selects every event of the CIS conjunction (it holds when
 * the three CIS terms hold and nothing else does: the filter language has
 * no negation outside terms, so that is every such event), and it needs
 * the root term (without it the filter is not about root). */
bool vg_aws_root_usage_pattern(const char *pattern)
{
    if (!pattern)
        return false;
    size_t n = strlen(pattern);
    size_t a = 0;
    while (a < n && isspace((unsigned char)pattern[a]))
        a++;
    while (n > a && isspace((unsigned char)pattern[n - 1]))
        n--;
    if (n - a < 2 || pattern[a] != '{' || pattern[n - 1] != '}')
        return false;
    const char *body = pattern + a + 1;
    size_t len = n - a - 2;
    return eval_pattern(body, len, true, true, true) == 1 &&
           eval_pattern(body, len, false, true, true) == 0;
}

/* ---- helpers ---------------------------------------------------------- */

static enum vg_err set_str_if(struct vg_json *o, const char *key, const char *s)
{
    return s ? vg_json_set_str(o, key, s) : VG_OK;
}

/* A JSON body of one string member, and optionally a second; caller
 * frees. */
static char *body2(const char *k1, const char *v1, const char *k2, const struct vg_json *v2)
{
    struct vg_json *o = vg_json_object();
    struct vg_buf b;
    vg_buf_init(&b, 1u << 16);
    char *out = NULL;
    enum vg_err err = o ? vg_json_set_str(o, k1, v1) : VG_ERR_NOMEM;
    if (!err && k2)
        err = vg_json_set(o, k2, vg_json_clone(v2));
    if (!err && !vg_json_dump(o, &b))
        out = vg_buf_detach(&b);
    vg_buf_free(&b);
    vg_json_free(o);
    return out;
}

/* ---- log groups -------------------------------------------------------- */

struct list_state {
    const struct vg_aws_ctx *ctx;
};

static enum vg_err on_groups(struct vg_aws_page *pg, void *opaque)
{
    struct list_state *st = opaque;
    const struct vg_json *groups = vg_json_get(pg->json, "logGroups");
    for (size_t i = 0; i < vg_json_len(groups); i++) {
        const struct vg_json *g = vg_json_at(groups, i);
        const char *name = vg_aws_str(g, "logGroupName");
        if (!name)
            continue;
        char arn[1200];
        const char *a = vg_aws_str(g, "logGroupArn");
        if (a) {
            snprintf(arn, sizeof(arn), "%s", a);
        } else if ((a = vg_aws_str(g, "arn")) != NULL) {
            snprintf(arn, sizeof(arn), "%s", a);
            size_t l = strlen(arn);
            if (l > 2 && !strcmp(arn + l - 2, ":*"))
                arn[l - 2] = '\0';
        } else {
            char res[1100];
            snprintf(res, sizeof(res), "log-group:%s", name);
            vg_aws_arn(st->ctx, "logs", NULL, res, arn, sizeof(arn));
        }
        struct vg_resource *r = vg_aws_resource_new(st->ctx, "aws.logs.log-group", arn, name,
                                                    "monitoring", "aws-logs-log-group", "logs",
                                                    NULL);
        if (!r)
            return VG_ERR_NOMEM;
        struct vg_json *d = r->doc;
        enum vg_err err = vg_json_set_str(d, "log_group_name", name);
        const struct vg_json *ret = vg_json_get(g, "retentionInDays");
        if (!err && ret && vg_json_type(ret) != VG_JSON_NULL)
            err = vg_json_set(d, "retention_in_days", vg_json_clone(ret));
        const struct vg_json *ct = vg_json_get(g, "creationTime");
        if (!err && vg_json_is_number(ct)) {
            char ts[VG_TIME_RFC3339_LEN];
            vg_time_rfc3339((int64_t)vg_json_get_num(ct), ts);
            err = vg_json_set_str(d, "creation_time", ts);
        }
        const struct vg_json *sb = vg_json_get(g, "storedBytes");
        if (!err && sb)
            err = vg_json_set(d, "stored_bytes", vg_json_clone(sb));
        if (!err)
            err = set_str_if(d, "kms_key_id", vg_aws_str(g, "kmsKeyId"));
        const struct vg_json *mf = vg_json_get(g, "metricFilterCount");
        if (!err && mf)
            err = vg_json_set(d, "metric_filter_count", vg_json_clone(mf));
        if (err) {
            vg_resource_destroy(r);
            return err;
        }
        vg_aws_emit(st->ctx, r);
    }
    return vg_aws_next(pg, "nextToken");
}

static void list_done(const struct vg_aws_error *err, void *opaque)
{
    struct list_state *st = opaque;
    if (err)
        vg_aws_list_failed(st->ctx, err);
    free(st);
}

static enum vg_err start_groups(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct list_state *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    st->ctx = ctx;
    struct vg_aws_call_spec s = {
        .service = "logs", .protocol = VG_AWS_JSON, .operation = "DescribeLogGroups",
        .target = LOGS_TARGET, .json_body = "{\"limit\":50}", .token_param = "nextToken",
    };
    enum vg_err err = vg_aws_call(ctx, &s, on_groups, list_done, st);
    if (err) {
        free(st);
        snprintf(errbuf, errlen, "cannot queue logs:DescribeLogGroups: %s", vg_strerror(err));
    }
    return err;
}

/* ---- root usage monitoring ------------------------------------------------- */

struct mon {
    const struct vg_aws_ctx *ctx;
    int holds;
    struct vg_json *trails;        /* docs */
    struct vg_json *filters;       /* docs */
    struct vg_json *call_errors;   /* strings */
    struct vg_json *groups;        /* "region\nname" -> true: log groups queried */
    char first_error[1024];
    bool trails_failed;
};

/* One call's own context. */
struct mon_call {
    struct mon *m;
    size_t index;            /* trail or filter index in m's arrays */
    char region[64];
    char name[600];          /* the log group */
};

static void mon_error(struct mon *m, const struct vg_aws_error *err)
{
    if (!m->first_error[0])
        snprintf(m->first_error, sizeof(m->first_error), "%s", err->text);
    (void)vg_json_push(m->call_errors, vg_json_str(err->text));
}

static bool alarm_ok(const struct vg_json *a)
{
    return vg_json_get_bool(vg_json_get(a, "actions_enabled")) &&
           vg_json_len(vg_json_get(a, "alarm_actions")) > 0;
}

static bool monitored(const struct mon *m)
{
    for (size_t i = 0; i < vg_json_len(m->filters); i++) {
        const struct vg_json *f = vg_json_at(m->filters, i);
        if (!vg_json_get_bool(vg_json_get(f, "matches_root_usage")) ||
            !vg_json_get_bool(vg_json_get(f, "trail_is_logging")))
            continue;
        const struct vg_json *al = vg_json_get(f, "alarms");
        for (size_t k = 0; k < vg_json_len(al); k++)
            if (alarm_ok(vg_json_at(al, k)))
                return true;
    }
    return false;
}

static void mon_finish(struct mon *m)
{
    char arn[256];
    vg_aws_arn(m->ctx, "cloudwatch", "", "root-usage-monitoring", arn, sizeof(arn));
    struct vg_resource *r = vg_aws_resource_new(
        m->ctx, "aws.cloudwatch.root-usage-monitoring", arn, "root-usage-monitoring",
        "monitoring", "aws-cloudwatch-root-usage-monitoring", "cloudwatch", NULL);
    bool ok = monitored(m);
    enum vg_err err = r ? VG_OK : VG_ERR_NOMEM;
    if (!err) {
        err = vg_json_set(r->doc, "trails", m->trails);
        m->trails = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "metric_filters", m->filters);
        m->filters = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "call_errors", m->call_errors);
        m->call_errors = NULL;
    }
    if (!err && m->trails_failed)
        err = vg_resource_set_error(r, "trails", m->first_error);
    if (!err && m->first_error[0] && !ok)
        err = vg_resource_set_error(r, "metric_filters", m->first_error);
    if (err)
        vg_resource_destroy(r);
    else
        vg_aws_emit(m->ctx, r);
    vg_json_free(m->trails);
    vg_json_free(m->filters);
    vg_json_free(m->call_errors);
    vg_json_free(m->groups);
    free(m);
}

static void mon_release(struct mon *m)
{
    if (--m->holds == 0)
        mon_finish(m);
}

static struct mon_call *mon_call_new(struct mon *m, size_t index, const char *region,
                                     const char *name)
{
    struct mon_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->m = m;
    c->index = index;
    snprintf(c->region, sizeof(c->region), "%s", region ? region : "");
    snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
    return c;
}

/* Queues spec for call c, holding m; on failure to queue, records it. */
static void mon_queue(struct mon_call *c, const struct vg_aws_call_spec *s, vg_aws_page_fn *pg,
                      vg_aws_done_fn *done)
{
    struct mon *m = c->m;
    m->holds++;
    enum vg_err err = vg_aws_call(m->ctx, s, pg, done, c);
    if (err) {
        struct vg_aws_error e = { .kind = VG_AWS_ERR_INTERNAL, .err = err };
        snprintf(e.text, sizeof(e.text), "cannot queue %s:%s: %s", s->service, s->operation,
                 vg_strerror(err));
        mon_error(m, &e);
        free(c);
        m->holds--;
    }
}

/* -- alarms of one metric -- */

static enum vg_err on_alarms(struct vg_aws_page *pg, void *opaque)
{
    struct mon_call *c = opaque;
    struct vg_json *f = vg_json_at(c->m->filters, c->index);
    struct vg_json *list = vg_json_get(f, "alarms");
    const struct vg_json *al = vg_json_get(pg->json, "MetricAlarms");
    for (size_t i = 0; list && i < vg_json_len(al); i++) {
        const struct vg_json *a = vg_json_at(al, i);
        struct vg_json *o = vg_json_object();
        enum vg_err err = set_str_if(o, "alarm_name", vg_aws_str(a, "AlarmName"));
        if (!err)
            err = set_str_if(o, "alarm_arn", vg_aws_str(a, "AlarmArn"));
        if (!err)
            err = vg_json_set_bool(o, "actions_enabled", vg_aws_bool(a, "ActionsEnabled"));
        if (!err) {
            const struct vg_json *acts = vg_json_get(a, "AlarmActions");
            struct vg_json *arr = vg_json_array();
            err = vg_json_set(o, "alarm_actions", arr);
            for (size_t k = 0; !err && k < vg_json_len(acts); k++) {
                const char *s = vg_json_get_str(vg_json_at(acts, k));
                if (s)
                    err = vg_json_push(arr, vg_json_str(s));
            }
        }
        if (!err)
            err = set_str_if(o, "state_value", vg_aws_str(a, "StateValue"));
        if (err) {
            vg_json_free(o);
            return err;
        }
        if (vg_json_push(list, o))
            return VG_ERR_NOMEM;
    }
    return VG_OK;   /* DescribeAlarmsForMetric has one page */
}

static void alarms_done(const struct vg_aws_error *err, void *opaque)
{
    struct mon_call *c = opaque;
    struct mon *m = c->m;
    if (err)
        mon_error(m, err);
    free(c);
    mon_release(m);
}

static const char *const alarm_lists[] = { "MetricAlarms", "AlarmActions", "OKActions",
                                           "InsufficientDataActions", "Dimensions", "Metrics",
                                           NULL };
static const char *const alarm_bools[] = { "ActionsEnabled", NULL };
static const struct vg_aws_xml_opts alarm_xml = { .lists = alarm_lists, .bools = alarm_bools };

static void queue_alarms(struct mon *m, size_t index, const char *region, const char *metric,
                         const char *ns)
{
    struct mon_call *c = mon_call_new(m, index, region, NULL);
    if (!c)
        return;
    struct vg_aws_param params[] = { { "MetricName", metric }, { "Namespace", ns } };
    struct vg_aws_call_spec s = {
        .service = "monitoring", .region = region, .protocol = VG_AWS_QUERY,
        .operation = "DescribeAlarmsForMetric", .version = "2010-08-01", .params = params,
        .nparams = 2, .xml = &alarm_xml,
    };
    mon_queue(c, &s, on_alarms, alarms_done);
}

/* -- metric filters of one log group -- */

static bool group_logging(const struct mon *m, const char *region, const char *name)
{
    for (size_t i = 0; i < vg_json_len(m->trails); i++) {
        const struct vg_json *t = vg_json_at(m->trails, i);
        const char *la = vg_aws_str(t, "log_group_arn");
        char want[800];
        snprintf(want, sizeof(want), ":logs:%s:", region);
        if (!la || !strstr(la, want) || !vg_json_get_bool(vg_json_get(t, "is_logging")))
            continue;
        const char *lg = strstr(la, ":log-group:");
        if (!lg)
            continue;
        lg += strlen(":log-group:");
        size_t l = strlen(name);
        if (!strncmp(lg, name, l) && (lg[l] == '\0' || lg[l] == ':'))
            return true;
    }
    return false;
}

static enum vg_err on_filters(struct vg_aws_page *pg, void *opaque)
{
    struct mon_call *c = opaque;
    struct mon *m = c->m;
    const struct vg_json *fs = vg_json_get(pg->json, "metricFilters");
    for (size_t i = 0; i < vg_json_len(fs); i++) {
        const struct vg_json *f = vg_json_at(fs, i);
        const char *lg = vg_aws_str(f, "logGroupName");
        /* the API matches logGroupName exactly; a server that does not
         * filter must not add other groups' filters */
        if (lg && strcmp(lg, c->name))
            continue;
        const char *pattern = vg_aws_str(f, "filterPattern");
        bool match = vg_aws_root_usage_pattern(pattern);
        const struct vg_json *mts = vg_json_get(f, "metricTransformations");
        size_t nt = vg_json_len(mts);
        for (size_t k = 0; k < (nt ? nt : 1); k++) {
            const struct vg_json *mt = nt ? vg_json_at(mts, k) : NULL;
            const char *metric = vg_aws_str(mt, "metricName");
            const char *ns = vg_aws_str(mt, "metricNamespace");
            struct vg_json *o = vg_json_object();
            enum vg_err err = vg_json_set_str(o, "region", c->region);
            if (!err)
                err = vg_json_set_str(o, "log_group_name", c->name);
            if (!err)
                err = set_str_if(o, "filter_name", vg_aws_str(f, "filterName"));
            if (!err)
                err = vg_json_set_str(o, "filter_pattern", pattern ? pattern : "");
            if (!err)
                err = vg_json_set_bool(o, "matches_root_usage", match);
            if (!err)
                err = set_str_if(o, "metric_name", metric);
            if (!err)
                err = set_str_if(o, "metric_namespace", ns);
            if (!err)
                err = vg_json_set_bool(o, "trail_is_logging",
                                       group_logging(m, c->region, c->name));
            if (!err)
                err = vg_json_set(o, "alarms", vg_json_array());
            if (err) {
                vg_json_free(o);
                return err;
            }
            if (vg_json_push(m->filters, o))
                return VG_ERR_NOMEM;
            if (match && metric && ns)
                queue_alarms(m, vg_json_len(m->filters) - 1, c->region, metric, ns);
        }
    }
    return vg_aws_next(pg, "nextToken");
}

static void filters_done(const struct vg_aws_error *err, void *opaque)
{
    struct mon_call *c = opaque;
    struct mon *m = c->m;
    if (err)
        mon_error(m, err);
    free(c);
    mon_release(m);
}

/* Queues DescribeMetricFilters for the log group of a trail ARN
 * ("arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*") once per group. */
static void queue_filters(struct mon *m, const char *log_group_arn)
{
    char region[64] = "", name[600] = "";
    const char *p = log_group_arn;
    for (int k = 0; p && k < 3; k++) {   /* past "arn:", "aws:", "logs:" */
        p = strchr(p, ':');
        if (p)
            p++;
    }
    const char *e = p ? strchr(p, ':') : NULL;
    const char *lg = p ? strstr(p, ":log-group:") : NULL;
    if (!e || !lg || (size_t)(e - p) >= sizeof(region))
        return;
    memcpy(region, p, (size_t)(e - p));
    region[e - p] = '\0';
    lg += strlen(":log-group:");
    size_t l = strlen(lg);
    if (l > 2 && !strcmp(lg + l - 2, ":*"))
        l -= 2;
    if (!l || l >= sizeof(name))
        return;
    memcpy(name, lg, l);
    name[l] = '\0';
    char key[700];
    snprintf(key, sizeof(key), "%s\n%s", region, name);
    if (vg_json_get(m->groups, key))
        return;
    if (vg_json_set_bool(m->groups, key, true))
        return;
    struct mon_call *c = mon_call_new(m, 0, region, name);
    char *body = c ? body2("logGroupName", name, NULL, NULL) : NULL;
    if (!body) {
        free(c);
        return;
    }
    struct vg_aws_call_spec s = {
        .service = "logs", .region = region, .protocol = VG_AWS_JSON,
        .operation = "DescribeMetricFilters", .target = LOGS_TARGET, .json_body = body,
        .token_param = "nextToken",
    };
    mon_queue(c, &s, on_filters, filters_done);
    free(body);
}

/* -- trails -- */

static enum vg_err on_status(struct vg_aws_page *pg, void *opaque)
{
    struct mon_call *c = opaque;
    struct vg_json *t = vg_json_at(c->m->trails, c->index);
    const struct vg_json *v = vg_json_get(pg->json, "IsLogging");
    return vg_json_set_bool(t, "is_logging", vg_json_type(v) == VG_JSON_BOOL && vg_json_get_bool(v));
}

static void status_done(const struct vg_aws_error *err, void *opaque)
{
    struct mon_call *c = opaque;
    struct mon *m = c->m;
    if (err) {
        mon_error(m, err);
    } else {
        const char *la = vg_aws_str(vg_json_at(m->trails, c->index), "log_group_arn");
        if (la)
            queue_filters(m, la);
    }
    free(c);
    mon_release(m);
}

static enum vg_err on_trails(struct vg_aws_page *pg, void *opaque)
{
    struct mon_call *c = opaque;
    struct mon *m = c->m;
    const struct vg_json *list = vg_json_get(pg->json, "trailList");
    for (size_t i = 0; i < vg_json_len(list); i++) {
        const struct vg_json *t = vg_json_at(list, i);
        if (!vg_aws_bool(t, "IsMultiRegionTrail"))
            continue;
        const char *arn = vg_aws_str(t, "TrailARN");
        const char *home = vg_aws_str(t, "HomeRegion");
        if (!arn || !home)
            continue;
        bool seen = false;
        for (size_t k = 0; k < vg_json_len(m->trails); k++) {
            const char *a = vg_aws_str(vg_json_at(m->trails, k), "arn");
            if (a && !strcmp(a, arn))
                seen = true;
        }
        if (seen)
            continue;
        struct vg_json *o = vg_json_object();
        enum vg_err err = set_str_if(o, "name", vg_aws_str(t, "Name"));
        if (!err)
            err = vg_json_set_str(o, "arn", arn);
        if (!err)
            err = vg_json_set_str(o, "home_region", home);
        if (!err)
            err = set_str_if(o, "log_group_arn", vg_aws_str(t, "CloudWatchLogsLogGroupArn"));
        if (err) {
            vg_json_free(o);
            return err;
        }
        if (vg_json_push(m->trails, o))
            return VG_ERR_NOMEM;
        struct mon_call *sc = mon_call_new(m, vg_json_len(m->trails) - 1, home, NULL);
        char *body = sc ? body2("Name", arn, NULL, NULL) : NULL;
        if (!body) {
            free(sc);
            return VG_ERR_NOMEM;
        }
        struct vg_aws_call_spec s = {
            .service = "cloudtrail", .region = home, .protocol = VG_AWS_JSON,
            .operation = "GetTrailStatus", .target = TRAIL_TARGET, .json_body = body,
        };
        mon_queue(sc, &s, on_status, status_done);
        free(body);
    }
    return VG_OK;
}

static void trails_done(const struct vg_aws_error *err, void *opaque)
{
    struct mon_call *c = opaque;
    struct mon *m = c->m;
    if (err) {
        m->trails_failed = true;
        mon_error(m, err);
    }
    free(c);
    mon_release(m);
}

static enum vg_err start_monitoring(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct mon *m = calloc(1, sizeof(*m));
    if (m) {
        m->ctx = ctx;
        m->holds = 1;
        m->trails = vg_json_array();
        m->filters = vg_json_array();
        m->call_errors = vg_json_array();
        m->groups = vg_json_object();
    }
    if (!m || !m->trails || !m->filters || !m->call_errors || !m->groups) {
        if (m) {
            vg_json_free(m->trails);
            vg_json_free(m->filters);
            vg_json_free(m->call_errors);
            vg_json_free(m->groups);
        }
        free(m);
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    struct mon_call *c = mon_call_new(m, 0, ctx->region, NULL);
    if (c) {
        struct vg_aws_call_spec s = {
            .service = "cloudtrail", .protocol = VG_AWS_JSON, .operation = "DescribeTrails",
            .target = TRAIL_TARGET, .json_body = "{\"includeShadowTrails\":true}",
        };
        mon_queue(c, &s, on_trails, trails_done);
    } else {
        m->trails_failed = true;
        snprintf(m->first_error, sizeof(m->first_error), "out of memory");
    }
    if (!c || m->holds == 1) {
        /* DescribeTrails could not be queued: the resource says so */
        m->trails_failed = true;
    }
    mon_release(m);
    return VG_OK;
}

/* ---- the table entries ---------------------------------------------------- */

const struct vg_aws_collector vg_aws_logs_groups = {
    .name = "logs-log-groups", .service = "logs", .global = false, .start = start_groups,
};
const struct vg_aws_collector vg_aws_logs_root_usage = {
    .name = "cloudwatch-root-usage-monitoring", .service = "logs", .global = true,
    .start = start_monitoring,
};
