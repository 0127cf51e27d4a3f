#include "output.h"
#include "../agent/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct vg_output_type *const output_types[] = {
    &vg_output_stdout,
    &vg_output_file,
};

enum vg_err vg_output_open(const char *spec, struct vg_output *out, char *errbuf, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < sizeof(output_types) / sizeof(output_types[0]); i++) {
        const struct vg_output_type *t = output_types[i];
        if (strlen(t->name) != nlen || strncmp(t->name, spec, nlen) != 0)
            continue;
        out->type = t;
        out->ctx = NULL;
        return t->open(colon ? colon + 1 : NULL, &out->ctx, errbuf, errlen);
    }
    snprintf(errbuf, errlen, "unknown output '%.*s': expected stdout or file:PATH", (int)nlen,
             spec);
    return VG_ERR_INVALID;
}

enum vg_err vg_output_write(struct vg_output *o, const char *line, size_t len, char *errbuf,
                            size_t errlen)
{
    return o->type->write(o->ctx, line, len, errbuf, errlen);
}

enum vg_err vg_output_write_routed(struct vg_output *o, const char *line, size_t len,
                                   const char *route, size_t rlen, char *errbuf, size_t errlen)
{
    if (o->type->write_routed && route && rlen)
        return o->type->write_routed(o->ctx, line, len, route, rlen, errbuf, errlen);
    return o->type->write(o->ctx, line, len, errbuf, errlen);
}

/* ---- routes ------------------------------------------------------------ */

const char *const vg_route_paths[VG_RT_N] = {
    "event.id", "event.dataset", "data_stream.namespace", "ecs.version",
    "rule.id",  "resource.id",   "vigil.severity",
};

enum vg_err vg_route_append(struct vg_buf *b, const char *const v[VG_RT_N])
{
    enum vg_err err = VG_OK;
    for (int i = 0; i < VG_RT_N && !err; i++) {
        if (i)
            err = vg_buf_appendc(b, '\0');
        if (!err && v[i])
            err = vg_buf_appends(b, v[i]);
    }
    return err;
}

bool vg_route_parse(const char *text, size_t len, struct vg_route *r)
{
    if (!text || !len)
        return false;
    /* one pass (a route is short: a loop beats a memchr() per field) */
    int f = 0;
    const char *start = text, *e = text + len;
    for (const char *p = text;; p++) {
        if (p < e && *p)
            continue;
        if (f == VG_RT_N)
            return false;   /* too many fields */
        r->v[f] = p > start ? start : NULL;
        r->len[f] = (size_t)(p - start);
        f++;
        if (p == e)
            break;
        start = p + 1;
    }
    return f == VG_RT_N;
}

int vg_route_field_of(const char *path)
{
    for (int i = 0; i < VG_RT_N; i++)
        if (strcmp(vg_route_paths[i], path) == 0)
            return i;
    return -1;
}

enum vg_err vg_output_flush(struct vg_output *o, char *errbuf, size_t errlen)
{
    return o->type->flush(o->ctx, errbuf, errlen);
}

void vg_output_close(struct vg_output *o)
{
    if (o->type)
        o->type->close(o->ctx);
    o->type = NULL;
    o->ctx = NULL;
}

/* ---- shared: several outputs behind one lock --------------------------- */

struct shared {
    pthread_mutex_t mu;
    struct vg_output *inner;
    size_t n;
    uint64_t lines;   /* under mu */
};

static enum vg_err shared_write_routed(void *ctx, const char *line, size_t len,
                                       const char *route, size_t rlen, char *errbuf,
                                       size_t errlen)
{
    struct shared *s = ctx;
    enum vg_err err = VG_OK;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n && !err; i++)
        err = vg_output_write_routed(&s->inner[i], line, len, route, rlen, errbuf, errlen);
    if (!err)
        s->lines++;
    pthread_mutex_unlock(&s->mu);
    return err;
}

static enum vg_err shared_write(void *ctx, const char *line, size_t len, char *errbuf,
                                size_t errlen)
{
    return shared_write_routed(ctx, line, len, NULL, 0, errbuf, errlen);
}

static enum vg_err shared_flush(void *ctx, char *errbuf, size_t errlen)
{
    struct shared *s = ctx;
    enum vg_err err = VG_OK;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        enum vg_err e = vg_output_flush(&s->inner[i], errbuf, errlen);
        if (e && !err)
            err = e;
    }
    pthread_mutex_unlock(&s->mu);
    return err;
}

static void shared_close(void *ctx)
{
    struct shared *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        vg_output_close(&s->inner[i]);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const struct vg_output_type shared_type = {
    .name = "shared",
    .write = shared_write,
    .write_routed = shared_write_routed,
    .flush = shared_flush,
    .close = shared_close,
};

enum vg_err vg_output_shared(struct vg_output *out, struct vg_output *inner, size_t n)
{
    struct shared *s = calloc(1, sizeof(*s));
    if (!s)
        return VG_ERR_NOMEM;
    pthread_mutex_init(&s->mu, NULL);
    s->inner = inner;
    s->n = n;
    out->type = &shared_type;
    out->ctx = s;
    return VG_OK;
}

uint64_t vg_output_shared_lines(struct vg_output *out)
{
    if (out->type != &shared_type)
        return 0;
    struct shared *s = out->ctx;
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->lines;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- failing since ----------------------------------------------------- */

void vg_output_failing_mark(struct vg_output_failing *f)
{
    if (!atomic_load_explicit(&f->since_ms, memory_order_relaxed))
        atomic_store_explicit(&f->since_ms, vg_time_now_ms(), memory_order_relaxed);
}

void vg_output_failing_clear(struct vg_output_failing *f)
{
    if (atomic_load_explicit(&f->since_ms, memory_order_relaxed))
        atomic_store_explicit(&f->since_ms, 0, memory_order_relaxed);
}

int64_t vg_output_failing_since(struct vg_output_failing *f)
{
    return atomic_load_explicit(&f->since_ms, memory_order_relaxed);
}
