#include "scan.h"
#include "limits.h"
#include "log.h"
#include "results.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int framework_index(const char *id)
{
    for (size_t i = 0; i < vg_frameworks_count; i++)
        if (strcmp(vg_frameworks[i], id) == 0)
            return (int)i;
    return -1;
}

static void count_finding(struct vg_scan_result *res, const struct vg_rule *r, enum vg_eval e,
                          bool muted)
{
    struct vg_scan_stats *s = &res->stats;
    s->by_eval[e]++;
    s->by_severity[r->severity][e]++;
    if (muted)
        s->muted++;
    /* a muted failure is shipped, but it does not fail a pipeline */
    if (e == VG_EVAL_FAILED && !muted) {
        if ((int)r->severity > res->worst_failed)
            res->worst_failed = (int)r->severity;
    }
    for (size_t i = 0; i < vg_json_len(r->frameworks); i++) {
        int k = framework_index(vg_json_key_at(r->frameworks, i));
        if (k >= 0 && k < 16)
            s->by_framework[k][e]++;
    }
}

/* Hands one encoded event, and its route (NULL: none), to every output. */
static enum vg_err emit_line(const struct vg_scan_opts *o, const struct vg_buf *line,
                             const struct vg_buf *route, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < o->noutputs; i++) {
        enum vg_err err = vg_output_write_routed(&o->outputs[i], line->data, line->len,
                                                 route ? route->data : NULL,
                                                 route ? route->len : 0, errbuf, errlen);
        if (err)
            return err;
    }
    return VG_OK;
}

/* Encodes a document built as a tree (the scan summary) and emits it. */
static enum vg_err emit(const struct vg_scan_opts *o, struct vg_json *doc, struct vg_buf *line,
                        char *errbuf, size_t errlen)
{
    if (!doc) {
        snprintf(errbuf, errlen, "out of memory while encoding an event");
        return VG_ERR_NOMEM;
    }
    vg_buf_reset(line);
    enum vg_err err = vg_ecs_encode(doc, line);
    vg_json_free(doc);
    if (err) {
        snprintf(errbuf, errlen, "cannot encode an event: %s", vg_strerror(err));
        return err;
    }
    return emit_line(o, line, NULL, errbuf, errlen);
}

/* The state of one scan, handed to the resource sink. */
struct scan_run {
    const struct vg_scan_opts *o;
    struct vg_scan_result *res;
    struct vg_scan_meta meta;
    struct vg_target_info *info;
    struct vg_ecs_cache *cache;
    struct vg_buf line;
    struct vg_buf route;       /* the line's route */
    struct vg_results *kept;   /* this scan's lines for vigil report; NULL: none */
    bool kept_opened;
    struct vg_results_prev *prev;   /* the previous scan's evaluations; NULL: none */
    bool prev_tried;
    /* the rules of the last resource type seen (providers hand resources
     * over type by type): one comparison per resource, not one per rule */
    char *type;
    size_t *rules_of_type, ntype_rules;
    char *errbuf;
    size_t errlen;
};

/* Frees what a scan run holds (its results store is committed or
 * aborted before). */
static void run_release(struct scan_run *s, struct vg_target_info *info)
{
    vg_results_prev_destroy(s->prev);
    free(s->type);
    free(s->rules_of_type);
    vg_buf_free(&s->line);
    vg_buf_free(&s->route);
    vg_ecs_cache_destroy(s->cache);
    vg_target_info_clear(info);
}

/* What a scan looked at, for people: the host name, or the cloud account
 * (with its alias). */
static const char *target_name(const struct vg_target_info *t)
{
    if (t->host_name)
        return t->host_name;
    if (t->cloud_account_id)
        return t->cloud_account_id;
    return "?";
}

/* Keeps an emitted line for vigil report. The store opens at the first
 * line, when the provider has named the target. Its failures are logged
 * and never stop the scan. */
static void keep_line(struct scan_run *s)
{
    /* demo findings are synthetic volume, not compliance evidence */
    if (!s->o->state_dir || strcmp(s->meta.provider, "demo") == 0)
        return;
    if (!s->kept_opened) {
        char why[1024];
        s->kept_opened = true;
        s->kept = vg_results_begin(s->o->state_dir, s->meta.provider, target_name(s->info), why,
                                   sizeof(why));
        if (!s->kept)
            vg_log(VG_LOG_WARN, "scan", "%s; vigil report will not see this scan", why);
    }
    enum vg_err err;
    if (s->kept && (err = vg_results_add(s->kept, s->line.data, s->line.len)) != VG_OK) {
        vg_log(VG_LOG_WARN, "scan", "the results of this scan will not be kept for vigil "
               "report: %s", vg_strerror(err));
        vg_results_abort(s->kept);
        s->kept = NULL;
    }
}

/* Loads the previous scan's evaluations of the target, once, at the first
 * resource (when the provider has named the target, as for keep_line).
 * Failures are one warning and leave the fields out of every finding. */
static void load_previous(struct scan_run *s)
{
    if (s->prev_tried)
        return;
    s->prev_tried = true;
    if (!s->o->state_dir || strcmp(s->meta.provider, "demo") == 0)
        return;
    char why[1024];
    const char *target = target_name(s->info);
    enum vg_err err = vg_results_prev_load(s->o->state_dir, s->meta.provider, target,
                                           VG_MAX_PREV_FINDINGS, &s->prev, why, sizeof(why));
    if (err == VG_ERR_NOENT)
        vg_log(VG_LOG_DEBUG, "scan", "%s: no vigil.previous_evaluation in this scan", why);
    else if (err)
        vg_log(VG_LOG_WARN, "scan", "the previous scan of %s %s is not used: %s; no finding of "
               "this scan has vigil.previous_evaluation or vigil.regression", s->meta.provider,
               target, why);
    else
        vg_log(VG_LOG_DEBUG, "scan", "%zu evaluations of the previous scan of %s %s loaded",
               vg_results_prev_count(s->prev), s->meta.provider, target);
}

/* Evaluates every rule of the resource's type and emits the findings;
 * takes ownership of rsc. */
static enum vg_err evaluate(struct vg_resource *rsc, void *opaque)
{
    struct scan_run *s = opaque;
    const struct vg_scan_opts *o = s->o;
    enum vg_err err = VG_OK;
    if (o->cancel && atomic_load_explicit(o->cancel, memory_order_relaxed)) {
        vg_resource_destroy(rsc);
        snprintf(s->errbuf, s->errlen, "the scan was stopped (the agent is shutting down)");
        return VG_ERR_LIMIT;
    }
    s->res->stats.resources++;
    load_previous(s);
    if (!s->type || strcmp(s->type, rsc->type) != 0) {
        size_t n = vg_ruleset_count(o->rules);
        free(s->type);
        s->type = strdup(rsc->type);
        if (!s->rules_of_type)
            s->rules_of_type = malloc((n ? n : 1) * sizeof(size_t));
        s->ntype_rules = 0;
        if (!s->type || !s->rules_of_type) {
            vg_resource_destroy(rsc);
            snprintf(s->errbuf, s->errlen, "out of memory");
            return VG_ERR_NOMEM;
        }
        for (size_t j = 0; j < n; j++)
            if (strcmp(vg_ruleset_at(o->rules, j)->resource, rsc->type) == 0)
                s->rules_of_type[s->ntype_rules++] = j;
    }
    for (size_t t = 0; !err && t < s->ntype_rules; t++) {
        const struct vg_rule *rule = vg_ruleset_at(o->rules, s->rules_of_type[t]);
        struct vg_eval_result er;
        memset(&er, 0, sizeof(er));
        /* every finding of a scan measures ages from the same instant */
        struct vg_eval_ctx ectx = { .now_ms = s->meta.started_ms };
        err = vg_rule_eval_at(rule, rsc, &ectx, &er);
        if (err) {
            snprintf(s->errbuf, s->errlen, "out of memory evaluating %s", rule->id);
            break;
        }
        vg_log(VG_LOG_DEBUG, "rules", "%s on %s: %s %s", rule->id, rsc->id,
               vg_eval_name(er.evaluation), er.reason);
        struct vg_finding f = { .rule = rule, .resource = rsc, .result = &er };
        const struct vg_exception *ex =
            vg_exceptions_match(o->exceptions, rule->id, rsc, s->info, vg_time_now_ms());
        if (ex) {
            f.muted = true;
            f.mute_reason = ex->reason;
        }
        f.has_previous = vg_results_prev_lookup(s->prev, rule->id, rsc->id, &f.previous);
        count_finding(s->res, rule, er.evaluation, f.muted);
        vg_buf_reset(&s->line);
        vg_buf_reset(&s->route);
        err = vg_ecs_finding_write(s->cache, &s->meta, &f, vg_time_now_ms(), &s->line,
                                   &s->route);
        if (err)
            snprintf(s->errbuf, s->errlen, "cannot encode the finding of %s on %s: %s", rule->id,
                     rsc->id, vg_strerror(err));
        else
            err = emit_line(o, &s->line, &s->route, s->errbuf, s->errlen);
        if (!err)
            keep_line(s);
        vg_eval_result_clear(&er);
    }
    vg_resource_destroy(rsc);
    return err;
}

/* Warns about every expired exception, as each scan does, and lists them
 * for the scan summary (vigil.scan.exceptions.*). */
static enum vg_err note_expired(const struct vg_exceptions *x, struct vg_scan_stats *st,
                                char *errbuf, size_t errlen)
{
    int64_t now = vg_time_now_ms();
    vg_exceptions_log_expired(x, now);
    st->exceptions_expired = vg_exceptions_expired(x, now, NULL, 0);
    st->expired_entries = vg_json_array();
    char line[1024];
    enum vg_err err = st->expired_entries ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; !err && i < vg_exceptions_count(x); i++) {
        const struct vg_exception *e = vg_exceptions_at(x, i);
        if (now < e->expires_ms)
            continue;
        vg_exceptions_expired_entry(e, line, sizeof(line));
        err = vg_json_push(st->expired_entries, vg_json_str(line));
    }
    if (err)
        snprintf(errbuf, errlen, "out of memory");
    return err;
}

enum vg_err vg_scan_run(const struct vg_scan_opts *o, struct vg_scan_result *res, char *errbuf,
                        size_t errlen)
{
    memset(res, 0, sizeof(*res));
    res->worst_failed = -1;
    res->started_ms = vg_time_now_ms();
    int64_t t0 = vg_time_mono_ms();
    enum vg_err err = vg_uuid_v4(res->scan_id);
    if (err) {
        snprintf(errbuf, errlen, "cannot make a scan id: no random source");
        return err;
    }

    const struct vg_provider_type *prov = vg_provider_find(o->params.provider);
    if (!prov) {
        snprintf(errbuf, errlen, "unknown provider '%s'", o->params.provider);
        return VG_ERR_INVALID;
    }
    res->stats.errors = vg_json_array();
    if (!res->stats.errors) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    res->stats.rules = vg_ruleset_count(o->rules);

    struct vg_target_info info;
    memset(&info, 0, sizeof(info));
    struct scan_run s = {
        .o = o,
        .res = res,
        .info = &info,
        .errbuf = errbuf,
        .errlen = errlen,
        .meta = {
            .started_ms = res->started_ms,
            .agent_name = o->agent_name,
            .agent_id = o->agent_id,
            .namespace = o->namespace,
            .provider = prov->name,
            .target = &info,
        },
    };
    memcpy(s.meta.scan_id, res->scan_id, sizeof(s.meta.scan_id));
    vg_buf_init(&s.line, VG_MAX_EVENT);
    vg_buf_init(&s.route, VG_MAX_ROUTE);
    vg_exceptions_reset(o->exceptions);
    s.cache = vg_ecs_cache_new();
    if (!s.cache) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }

    err = vg_provider_stream(prov, &o->params, evaluate, &s, &info, res->stats.errors, errbuf,
                             errlen);
    snprintf(res->target, sizeof(res->target), "%s", target_name(&info));
    if (err) {
        vg_results_abort(s.kept);
        run_release(&s, &info);
        /* a target that cannot be scanned at all is bad usage; anything
         * else after findings went out is a runtime failure */
        if (err != VG_ERR_NOENT && err != VG_ERR_INVALID && err != VG_ERR_NOMEM &&
            err != VG_ERR_LIMIT)
            err = VG_ERR_IO;
        return err;
    }
    for (size_t i = 0; i < vg_json_len(res->stats.errors); i++)
        vg_log(VG_LOG_WARN, "scan", "%s", vg_json_get_str(vg_json_at(res->stats.errors, i)));
    res->stats.interval_s = o->interval_s;
    err = note_expired(o->exceptions, &res->stats, errbuf, errlen);
    if (err) {
        vg_results_abort(s.kept);
        run_release(&s, &info);
        return err;
    }

    res->stats.ended_ms = res->started_ms + (vg_time_mono_ms() - t0);
    err = emit(o, vg_ecs_summary_doc(&s.meta, &res->stats), &s.line, errbuf, errlen);
    if (!err)
        keep_line(&s);
    for (size_t i = 0; !err && i < o->noutputs; i++)
        err = vg_output_flush(&o->outputs[i], errbuf, errlen);
    /* the last scan's results are replaced only when every output took
     * every line */
    if (!err && s.kept) {
        char why[1024];
        if (vg_results_commit(s.kept, why, sizeof(why)) != VG_OK)
            vg_log(VG_LOG_WARN, "scan", "%s", why);
    } else {
        vg_results_abort(s.kept);
    }

    run_release(&s, &info);
    if (err && err != VG_ERR_NOMEM && err != VG_ERR_LIMIT)
        err = VG_ERR_IO;   /* an output failed: a runtime failure */
    return err;
}

void vg_scan_result_clear(struct vg_scan_result *res)
{
    vg_json_free(res->stats.errors);
    res->stats.errors = NULL;
    vg_json_free(res->stats.expired_entries);
    res->stats.expired_entries = NULL;
}

void vg_scan_print_summary(const struct vg_scan_result *res, FILE *f)
{
    const struct vg_scan_stats *s = &res->stats;
    double secs = (double)(s->ended_ms - res->started_ms) / 1000.0;
    fprintf(f, "vigil: scanned %s in %.3f s: %zu rules, %zu resources, %zu findings\n",
            res->target, secs, s->rules, s->resources, s->by_eval[0] + s->by_eval[1] + s->by_eval[2]);
    fprintf(f, "  passed %zu   failed %zu   unknown %zu", s->by_eval[0], s->by_eval[1],
            s->by_eval[2]);
    if (s->muted)
        fprintf(f, "   (muted by exceptions: %zu)", s->muted);
    fputc('\n', f);
    fprintf(f, "  %-10s %8s %8s %8s\n", "severity", "passed", "failed", "unknown");
    for (int i = VG_SEV_CRITICAL; i >= VG_SEV_LOW; i--)
        fprintf(f, "  %-10s %8zu %8zu %8zu\n", vg_severity_name((enum vg_severity)i),
                s->by_severity[i][0], s->by_severity[i][1], s->by_severity[i][2]);
    size_t nerr = vg_json_len(s->errors);
    if (nerr)
        fprintf(f, "  %zu collection errors (see the log and the scan summary event)\n", nerr);
}
