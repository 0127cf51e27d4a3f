/*
 * Bulk bodies and bulk responses (see bulk.h).
 */
#include "bulk.h"
#include "../../agent/json.h"
#include "../../agent/limits.h"
#include "../../agent/timeutil.h"
#include "../output.h"

#include <yajl/yajl_parse.h>
#include <libdeflate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== event metadata =================================================== */

static bool key_is(const char *k, size_t n, const char *want)
{
    size_t w = strlen(want);
    return n == w && memcmp(k, want, n) == 0;
}

static bool namespace_ok(const char *s, size_t n)
{
    if (n == 0 || n > VG_ES_MAX_NAMESPACE)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

enum vg_err vg_es_event_meta(const char *ev, size_t len, struct vg_es_meta *m, char *errbuf,
                             size_t errlen)
{
    return vg_es_event_meta_routed(ev, len, NULL, 0, m, errbuf, errlen);
}

enum vg_err vg_es_event_meta_routed(const char *ev, size_t len, const char *route, size_t rlen,
                                    struct vg_es_meta *m, char *errbuf, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    const char *evf[2], *dsf[1];
    size_t evl[2], dsl[1];
    struct vg_route rt;
    if (route && vg_route_parse(route, rlen, &rt)) {
        /* the values the encoder wrote, kept beside the event */
        evf[0] = rt.v[VG_RT_ID];
        evl[0] = rt.len[VG_RT_ID];
        evf[1] = rt.v[VG_RT_DATASET];
        evl[1] = rt.len[VG_RT_DATASET];
        dsf[0] = rt.v[VG_RT_NAMESPACE];
        dsl[0] = rt.len[VG_RT_NAMESPACE];
    } else {
        /* reads only as far as it must; Elasticsearch validates the rest,
         * and says so per item */
        struct vg_json_pick pk[3] = { { .path = "event.id" }, { .path = "event.dataset" },
                                      { .path = "data_stream.namespace" } };
        enum vg_err err = vg_json_pick(ev, len, pk, 3);
        if (err) {
            const char *p = ev, *e = ev + len;
            while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
                p++;
            snprintf(errbuf, errlen, p < e && *p == '{' ? "the event is not well-formed JSON"
                                                        : "the event is not a JSON object");
            return VG_ERR_PARSE;
        }
        for (int i = 0; i < 2; i++) {
            evf[i] = pk[i].val;
            evl[i] = pk[i].len;
        }
        dsf[0] = pk[2].val;
        dsl[0] = pk[2].len;
    }
    if (!evf[0]) {
        snprintf(errbuf, errlen, "the event has no event.id");
        return VG_ERR_PARSE;
    }
    if (evl[0] == 0 || evl[0] > VG_ES_MAX_ID) {
        snprintf(errbuf, errlen, "the event's event.id is %s", evl[0] ? "too long" : "empty");
        return VG_ERR_PARSE;
    }
    /* printable ASCII without escapes: the raw text goes into the action
     * line as it is, and must be valid JSON there whatever the event held */
    for (size_t i = 0; i < evl[0]; i++) {
        unsigned char c = (unsigned char)evf[0][i];
        if (c < 0x20 || c > 0x7e || c == '\\' || c == '"') {
            snprintf(errbuf, errlen, "the event's event.id holds a character other than "
                                     "printable ASCII");
            return VG_ERR_PARSE;
        }
    }
    m->id = evf[0];
    m->id_len = evl[0];
    m->stream = !evf[1]                                    ? VG_ES_FINDINGS
                : key_is(evf[1], evl[1], "vigil.scan")       ? VG_ES_SCAN
                : key_is(evf[1], evl[1], "vigil.monitoring") ? VG_ES_MONITORING
                                                             : VG_ES_FINDINGS;
    if (dsf[0] && namespace_ok(dsf[0], dsl[0])) {
        m->ns = dsf[0];
        m->ns_len = dsl[0];
    }
    return VG_OK;
}

/* ==== bulk bodies ====================================================== */

enum vg_err vg_es_bulk_append(struct vg_buf *body, const struct vg_es_meta *m, const char *ns,
                              const char *ev, size_t len, size_t *action_len)
{
    static const char a1[] = "{\"create\":{\"_index\":\"logs-vigil.";
    static const char a2[] = "\",\"_id\":\"";
    static const char a3[] = "\"}}\n";
    const char *ds = m->stream == VG_ES_SCAN         ? "scan-"
                     : m->stream == VG_ES_MONITORING ? "monitoring-"
                                                     : "findings-";
    const char *nsp = m->ns ? m->ns : ns;
    size_t nsl = m->ns ? m->ns_len : strlen(ns);
    size_t dsl = strlen(ds);
    size_t alen = (sizeof(a1) - 1) + dsl + nsl + (sizeof(a2) - 1) + m->id_len + (sizeof(a3) - 1);
    size_t total = alen + len + 1;
    if (total > body->max || body->len > body->max - total)
        return VG_ERR_LIMIT;
    size_t old = body->len;
    enum vg_err err = VG_OK;
    if ((err = vg_buf_append(body, a1, sizeof(a1) - 1)) ||
        (err = vg_buf_append(body, ds, dsl)) || (err = vg_buf_append(body, nsp, nsl)) ||
        (err = vg_buf_append(body, a2, sizeof(a2) - 1)) ||
        (err = vg_buf_append(body, m->id, m->id_len)) ||
        (err = vg_buf_append(body, a3, sizeof(a3) - 1))) {
        body->len = old;
        if (body->data)
            body->data[old] = '\0';
        return err;
    }
    size_t src = body->len;
    if ((err = vg_buf_append(body, ev, len)) || (err = vg_buf_appendc(body, '\n'))) {
        body->len = old;
        if (body->data)
            body->data[old] = '\0';
        return err;
    }
    /* NDJSON: a raw newline inside the event would split it */
    char *s = body->data + src, *end = body->data + src + len;
    while (s < end && (s = memchr(s, '\n', (size_t)(end - s))) != NULL)
        *s++ = ' ';
    if (action_len)
        *action_len = alen;
    return VG_OK;
}

/* ==== gzip ============================================================= */

enum vg_err vg_es_gzip_init(struct vg_es_gzip *g, int level)
{
    g->level = level;
    /* a gzip wrapper, what Content-Encoding: gzip means */
    g->z = libdeflate_alloc_compressor(level);
    return g->z ? VG_OK : VG_ERR_NOMEM;
}

static enum vg_err buf_reserve(struct vg_buf *b, size_t n)
{
    if (n > b->max)
        return VG_ERR_LIMIT;
    if (n + 1 <= b->cap)
        return VG_OK;
    char *p = realloc(b->data, n + 1);
    if (!p)
        return VG_ERR_NOMEM;
    b->data = p;
    b->cap = n + 1;
    return VG_OK;
}

enum vg_err vg_es_gzip(struct vg_es_gzip *g, const char *in, size_t len, struct vg_buf *out)
{
    struct libdeflate_compressor *c = g->z;
    if (!c)
        return VG_ERR_INVALID;
    size_t bound = libdeflate_gzip_compress_bound(c, len);
    enum vg_err err = buf_reserve(out, bound);
    if (err)
        return err;
    size_t n = libdeflate_gzip_compress(c, in, len, out->data, bound);
    if (n == 0)
        return VG_ERR_INVALID;   /* cannot happen: the bound is libdeflate's own */
    out->len = n;
    out->data[n] = '\0';
    return VG_OK;
}

void vg_es_gzip_free(struct vg_es_gzip *g)
{
    if (g->z) {
        libdeflate_free_compressor(g->z);
        g->z = NULL;
    }
}

/* ==== classification =================================================== */

enum vg_es_fate vg_es_item_fate(int status, const char *type)
{
    if (!type)
        type = "";
    if (status >= 200 && status < 300)
        return VG_ES_DELIVERED;
    if (status == 409)
        return VG_ES_DUPLICATE;
    if (status == 429 || (status >= 500 && status < 600))
        return VG_ES_RETRY;
    if (status == 401)
        return VG_ES_AUTH;
    if (status == 403) {
        if (strcmp(type, "cluster_block_exception") == 0)
            return VG_ES_RETRY;
        if (!*type || strcmp(type, "security_exception") == 0)
            return VG_ES_AUTH;
        return VG_ES_DEAD;
    }
    if (status >= 400 && status < 500)
        return VG_ES_DEAD;
    return VG_ES_RETRY;    /* no status, 1xx, 3xx: nothing says it arrived */
}

const char *vg_es_fate_name(enum vg_es_fate f)
{
    switch (f) {
    case VG_ES_DELIVERED: return "delivered";
    case VG_ES_DUPLICATE: return "duplicate";
    case VG_ES_RETRY: return "retry";
    case VG_ES_DEAD: return "dead-letter";
    case VG_ES_AUTH: return "auth";
    }
    return "?";
}

enum vg_es_reply vg_es_reply_class(long st, const char *type)
{
    if (!type)
        type = "";
    if (st >= 200 && st < 300)
        return VG_ES_REPLY_ITEMS;
    if (st == 413 || st == 400)
        return VG_ES_REPLY_SPLIT;
    if (st == 429)
        return VG_ES_REPLY_RETRY;
    if (st == 401)
        return VG_ES_REPLY_AUTH;
    if (st == 403)
        return strcmp(type, "cluster_block_exception") == 0 ? VG_ES_REPLY_RETRY
                                                             : VG_ES_REPLY_AUTH;
    return VG_ES_REPLY_HOST;
}

/* ==== responses ======================================================== */

enum frame { F_SKIP, F_ROOT, F_ITEMS, F_ITEM, F_OP, F_ERR, F_CAUSE, F_TOPERR, F_TOPCAUSE };
enum rkey { K_NONE, K_ERRORS, K_ITEMS, K_ERROR, K_STATUS, K_TYPE, K_REASON, K_CAUSE };

struct vg_es_resp {
    yajl_handle h;
    uint8_t stack[VG_ES_RESP_DEPTH];
    int depth;
    enum rkey key;
    bool root_done;
    size_t nitems, nseen, fed;
    bool with_items;
    vg_es_item_fn *fn;
    void *opaque;
    bool errors;
    /* the item being read */
    bool item_has_op;
    int status;
    char type[VG_ES_MAX_ERR_TYPE], reason[VG_ES_MAX_ERR_REASON];
    char ctype[VG_ES_MAX_ERR_TYPE], creason[VG_ES_MAX_ERR_REASON];
    char joined[VG_ES_MAX_ERR_REASON];
    /* the whole request's error */
    char ttype[VG_ES_MAX_ERR_TYPE], treason[VG_ES_MAX_ERR_REASON];
    char tctype[VG_ES_MAX_ERR_TYPE], tcreason[VG_ES_MAX_ERR_REASON];
    char tjoined[VG_ES_MAX_ERR_REASON];
    char errmsg[256];
    bool failed;
};

/* Copies a string from the response, control characters made spaces, cut
 * at the bound (on a UTF-8 boundary). */
static void copy_text(char *dst, size_t cap, const unsigned char *s, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && (s[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = s[i] < 0x20 || s[i] == 0x7f ? ' ' : (char)s[i];
    dst[n] = '\0';
}

static int fail(struct vg_es_resp *r, const char *msg)
{
    if (!r->failed) {
        r->failed = true;
        snprintf(r->errmsg, sizeof(r->errmsg), "%s", msg);
    }
    return 0;
}

static enum frame top(const struct vg_es_resp *r)
{
    return r->depth ? (enum frame)r->stack[r->depth - 1] : F_SKIP;
}

static int push(struct vg_es_resp *r, enum frame f)
{
    if (r->depth >= VG_ES_RESP_DEPTH)
        return fail(r, "the response nests deeper than 64 levels");
    r->stack[r->depth++] = (uint8_t)f;
    return 1;
}

static void join_reason(char *out, size_t cap, const char *reason, const char *ctype,
                        const char *creason)
{
    if (*ctype || *creason)
        snprintf(out, cap, "%.600s (caused by %.100s: %.300s)", reason, ctype, creason);
    else
        snprintf(out, cap, "%s", reason);
}

/* A scalar where an item belongs, or an item beyond the count. */
static int item_start_check(struct vg_es_resp *r)
{
    if (r->nseen >= r->nitems) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the response holds more items than the %zu sent", r->nitems);
        return fail(r, msg);
    }
    return 1;
}

static int scalar_in_items(struct vg_es_resp *r)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "item %zu of the response is not an object", r->nseen);
    return fail(r, msg);
}

static int on_null(void *ctx)
{
    struct vg_es_resp *r = ctx;
    if (r->depth == 0)
        return fail(r, "the response is not a JSON object");
    return top(r) == F_ITEMS ? scalar_in_items(r) : 1;
}

static int on_bool(void *ctx, int b)
{
    struct vg_es_resp *r = ctx;
    if (r->depth == 0)
        return fail(r, "the response is not a JSON object");
    enum frame f = top(r);
    if (f == F_ITEMS)
        return scalar_in_items(r);
    if (f == F_ROOT && r->key == K_ERRORS)
        r->errors = b != 0;
    return 1;
}

static int on_int(void *ctx, long long v)
{
    struct vg_es_resp *r = ctx;
    if (r->depth == 0)
        return fail(r, "the response is not a JSON object");
    enum frame f = top(r);
    if (f == F_ITEMS)
        return scalar_in_items(r);
    if (f == F_OP && r->key == K_STATUS)
        r->status = v >= 0 && v < 1000 ? (int)v : 0;
    return 1;
}

static int on_double(void *ctx, double d)
{
    (void)d;
    struct vg_es_resp *r = ctx;
    if (r->depth == 0)
        return fail(r, "the response is not a JSON object");
    return top(r) == F_ITEMS ? scalar_in_items(r) : 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    struct vg_es_resp *r = ctx;
    if (r->depth == 0)
        return fail(r, "the response is not a JSON object");
    switch (top(r)) {
    case F_ITEMS:
        return scalar_in_items(r);
    case F_ROOT:
        if (r->key == K_ERROR)   /* the old shape: "error": "text" */
            copy_text(r->treason, sizeof(r->treason), s, n);
        break;
    case F_OP:
        if (r->key == K_ERROR)
            copy_text(r->reason, sizeof(r->reason), s, n);
        break;
    case F_ERR:
        if (r->key == K_TYPE)
            copy_text(r->type, sizeof(r->type), s, n);
        else if (r->key == K_REASON)
            copy_text(r->reason, sizeof(r->reason), s, n);
        break;
    case F_CAUSE:
        if (r->key == K_TYPE)
            copy_text(r->ctype, sizeof(r->ctype), s, n);
        else if (r->key == K_REASON)
            copy_text(r->creason, sizeof(r->creason), s, n);
        break;
    case F_TOPERR:
        if (r->key == K_TYPE)
            copy_text(r->ttype, sizeof(r->ttype), s, n);
        else if (r->key == K_REASON)
            copy_text(r->treason, sizeof(r->treason), s, n);
        break;
    case F_TOPCAUSE:
        if (r->key == K_TYPE)
            copy_text(r->tctype, sizeof(r->tctype), s, n);
        else if (r->key == K_REASON)
            copy_text(r->tcreason, sizeof(r->tcreason), s, n);
        break;
    default:
        break;
    }
    return 1;
}

static int on_start_map(void *ctx)
{
    struct vg_es_resp *r = ctx;
    if (r->depth == 0) {
        if (r->root_done)
            return fail(r, "the response holds more than one JSON value");
        return push(r, F_ROOT);
    }
    enum frame f = top(r), child = F_SKIP;
    switch (f) {
    case F_ROOT:
        child = r->key == K_ERROR ? F_TOPERR : F_SKIP;
        break;
    case F_ITEMS:
        if (!item_start_check(r))
            return 0;
        r->item_has_op = false;
        r->status = 0;
        r->type[0] = r->reason[0] = r->ctype[0] = r->creason[0] = '\0';
        child = F_ITEM;
        break;
    case F_ITEM:
        child = r->item_has_op ? F_SKIP : F_OP;
        r->item_has_op = true;
        break;
    case F_OP:
        child = r->key == K_ERROR ? F_ERR : F_SKIP;
        break;
    case F_ERR:
        child = r->key == K_CAUSE ? F_CAUSE : F_SKIP;
        break;
    case F_TOPERR:
        child = r->key == K_CAUSE ? F_TOPCAUSE : F_SKIP;
        break;
    default:
        break;
    }
    r->key = K_NONE;
    return push(r, child);
}

static int on_key(void *ctx, const unsigned char *k, size_t n)
{
    struct vg_es_resp *r = ctx;
    const char *s = (const char *)k;
    r->key = K_NONE;
    switch (top(r)) {
    case F_ROOT:
        if (key_is(s, n, "errors"))
            r->key = K_ERRORS;
        else if (key_is(s, n, "items"))
            r->key = K_ITEMS;
        else if (key_is(s, n, "error"))
            r->key = K_ERROR;
        else if (key_is(s, n, "status"))
            r->key = K_STATUS;
        break;
    case F_OP:
        if (key_is(s, n, "status"))
            r->key = K_STATUS;
        else if (key_is(s, n, "error"))
            r->key = K_ERROR;
        break;
    case F_ERR:
    case F_TOPERR:
    case F_CAUSE:
    case F_TOPCAUSE:
        if (key_is(s, n, "type"))
            r->key = K_TYPE;
        else if (key_is(s, n, "reason"))
            r->key = K_REASON;
        else if (key_is(s, n, "caused_by"))
            r->key = K_CAUSE;
        break;
    default:
        break;
    }
    return 1;
}

static int on_end_map(void *ctx)
{
    struct vg_es_resp *r = ctx;
    enum frame f = top(r);
    r->depth--;
    r->key = K_NONE;
    if (f == F_ITEM) {
        if (r->with_items && r->fn) {
            join_reason(r->joined, sizeof(r->joined), r->reason, r->ctype, r->creason);
            r->fn(r->opaque, r->nseen, r->status, r->type, r->joined);
        }
        r->nseen++;
    } else if (f == F_ROOT) {
        r->root_done = true;
    }
    return 1;
}

static int on_start_array(void *ctx)
{
    struct vg_es_resp *r = ctx;
    if (r->depth == 0)
        return fail(r, "the response is not a JSON object");
    enum frame f = top(r);
    if (f == F_ITEMS)
        return scalar_in_items(r);
    enum frame child = f == F_ROOT && r->key == K_ITEMS ? F_ITEMS : F_SKIP;
    r->key = K_NONE;
    return push(r, child);
}

static int on_end_array(void *ctx)
{
    struct vg_es_resp *r = ctx;
    r->depth--;
    r->key = K_NONE;
    return 1;
}

static const yajl_callbacks resp_callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_bool,
    .yajl_integer = on_int,
    .yajl_double = on_double,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

struct vg_es_resp *vg_es_resp_new(void)
{
    return calloc(1, sizeof(struct vg_es_resp));
}

void vg_es_resp_free(struct vg_es_resp *r)
{
    if (!r)
        return;
    if (r->h)
        yajl_free(r->h);
    free(r);
}

enum vg_err vg_es_resp_begin(struct vg_es_resp *r, size_t nitems, bool with_items,
                             vg_es_item_fn *fn, void *opaque)
{
    if (r->h)
        yajl_free(r->h);
    yajl_handle h = NULL;
    memset(r, 0, sizeof(*r));
    h = yajl_alloc(&resp_callbacks, NULL, r);
    if (!h)
        return VG_ERR_NOMEM;
    r->h = h;
    r->nitems = nitems;
    r->with_items = with_items;
    r->fn = fn;
    r->opaque = opaque;
    return VG_OK;
}

static void set_parse_error(struct vg_es_resp *r, const char *data, size_t len)
{
    if (r->failed)
        return;
    unsigned char *msg = yajl_get_error(r->h, 0, (const unsigned char *)data, len);
    char text[160];
    copy_text(text, sizeof(text), msg ? msg : (const unsigned char *)"malformed JSON",
              msg ? strlen((const char *)msg) : 14);
    /* yajl ends its messages with a newline, made a space above */
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '.'))
        text[--n] = '\0';
    if (msg)
        yajl_free_error(r->h, msg);
    r->failed = true;
    snprintf(r->errmsg, sizeof(r->errmsg), "the response is not JSON (%s, near byte %zu)", text,
             r->fed - len + yajl_get_bytes_consumed(r->h));
}

enum vg_err vg_es_resp_feed(struct vg_es_resp *r, const char *data, size_t len)
{
    if (!r->h)
        return VG_ERR_INVALID;
    if (r->failed)
        return VG_ERR_PARSE;
    if (len > VG_ES_MAX_RESPONSE - r->fed) {
        fail(r, "the response is larger than 32 MiB");
        return VG_ERR_LIMIT;
    }
    r->fed += len;
    yajl_status st = yajl_parse(r->h, (const unsigned char *)data, len);
    if (st != yajl_status_ok) {
        set_parse_error(r, data, len);
        return VG_ERR_PARSE;
    }
    return VG_OK;
}

enum vg_err vg_es_resp_end(struct vg_es_resp *r)
{
    if (!r->h)
        return VG_ERR_INVALID;
    if (r->failed)
        return VG_ERR_PARSE;
    if (r->fed == 0) {
        fail(r, "the response is empty");
        return VG_ERR_PARSE;
    }
    yajl_status st = yajl_complete_parse(r->h);
    if (st != yajl_status_ok || r->depth != 0 || !r->root_done) {
        if (st != yajl_status_ok)
            set_parse_error(r, "", 0);
        fail(r, "the response is truncated");
        return VG_ERR_PARSE;
    }
    if (r->with_items && r->nseen != r->nitems) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the response holds %zu items for %zu events", r->nseen,
                 r->nitems);
        fail(r, msg);
        return VG_ERR_PARSE;
    }
    return VG_OK;
}

size_t vg_es_resp_items(const struct vg_es_resp *r) { return r->nseen; }
bool vg_es_resp_errors(const struct vg_es_resp *r) { return r->errors; }
const char *vg_es_resp_error_type(const struct vg_es_resp *r) { return r->ttype; }

const char *vg_es_resp_error_reason(const struct vg_es_resp *r)
{
    struct vg_es_resp *w = (struct vg_es_resp *)r;
    join_reason(w->tjoined, sizeof(w->tjoined), r->treason, r->tctype, r->tcreason);
    return w->tjoined;
}

const char *vg_es_resp_errmsg(const struct vg_es_resp *r) { return r->errmsg; }

/* ==== dead letters ===================================================== */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        need = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        need = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        need = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

enum vg_err vg_es_json_escape(struct vg_buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    enum vg_err err = VG_OK;
    while (p < e && !err) {
        const unsigned char *run = p;
        while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            err = vg_buf_append(out, run, (size_t)(p - run));
        if (p >= e || err)
            break;
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            err = vg_buf_append(out, esc, 2);
            p++;
        } else if (c < 0x20) {
            char esc[8];
            switch (c) {
            case '\n': err = vg_buf_append(out, "\\n", 2); break;
            case '\r': err = vg_buf_append(out, "\\r", 2); break;
            case '\t': err = vg_buf_append(out, "\\t", 2); break;
            default:
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                err = vg_buf_append(out, esc, 6);
            }
            p++;
        } else {
            size_t l = utf8_len(p, (size_t)(e - p));
            if (l) {
                err = vg_buf_append(out, p, l);
                p += l;
            } else {
                err = vg_buf_append(out, "\xEF\xBF\xBD", 3);
                p++;
            }
        }
    }
    return err;
}

enum vg_err vg_es_dead_letter_line(struct vg_buf *out, int64_t now_ms, int status,
                                   const char *type, const char *reason, const char *ev,
                                   size_t len, bool as_json)
{
    char ts[VG_TIME_RFC3339_LEN];
    vg_time_rfc3339(now_ms, ts);
    size_t old = out->len;
    enum vg_err err = vg_buf_printf(out, "{\"@timestamp\":\"%s\",\"status\":%d,\"error\":{\"type\":\"",
                                    ts, status);
    if (!err)
        err = vg_es_json_escape(out, type ? type : "", type ? strlen(type) : 0);
    if (!err)
        err = vg_buf_append(out, "\",\"reason\":\"", 12);
    if (!err)
        err = vg_es_json_escape(out, reason ? reason : "", reason ? strlen(reason) : 0);
    if (!err)
        err = vg_buf_append(out, "\"},\"event\":", 11);
    if (!err && as_json) {
        size_t start = out->len;
        err = vg_buf_append(out, ev, len);
        if (!err) {
            char *s = out->data + start, *end = out->data + start + len;
            while (s < end && (s = memchr(s, '\n', (size_t)(end - s))) != NULL)
                *s++ = ' ';
        }
    } else if (!err) {
        err = vg_buf_appendc(out, '"');
        if (!err)
            err = vg_es_json_escape(out, ev, len);
        if (!err)
            err = vg_buf_appendc(out, '"');
    }
    if (!err)
        err = vg_buf_append(out, "}\n", 2);
    if (err) {
        out->len = old;
        if (out->data)
            out->data[old] = '\0';
    }
    return err;
}
