/*
 * The spool output: what a scan writes for the network outputs. Lines are
 * gathered into batches (many events per spool record, so the record
 * header, checksum and fsync are paid once per batch) and appended to the
 * spool on flush or when a batch is full. A batch counts as accepted only
 * when vg_spool_append() returned: until then it is the scan's, and a
 * failure is the scan's error.
 */
#include "output.h"
#include "../agent/buf.h"
#include "../agent/limits.h"
#include "../agent/timeutil.h"
#include "spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_EVENTS 1024
#define BATCH_BYTES (1u << 20)

struct spool_output {
    struct vg_spool *spool;      /* borrowed */
    int64_t deadline_ms;         /* monotonic; -1: wait for room without limit */
    struct vg_buf arena;         /* the batch's lines, NUL-separated */
    size_t offs[BATCH_EVENTS];
    size_t lens[BATCH_EVENTS];
    struct vg_buf rarena;        /* their routes, NUL-separated */
    size_t roffs[BATCH_EVENTS];
    size_t rlens[BATCH_EVENTS];  /* 0: none */
    size_t nrouted;              /* events of the batch with a route */
    size_t n;
};

static enum vg_err append_batch(struct spool_output *o, char *errbuf, size_t errlen)
{
    if (!o->n)
        return VG_OK;
    const char *events[BATCH_EVENTS], *routes[BATCH_EVENTS];
    for (size_t i = 0; i < o->n; i++) {
        events[i] = o->arena.data + o->offs[i];
        routes[i] = o->rlens[i] ? o->rarena.data + o->roffs[i] : "";
    }
    int timeout = -1;
    if (o->deadline_ms >= 0) {
        int64_t left = o->deadline_ms - vg_time_mono_ms();
        timeout = left <= 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
    }
    /* a batch without any route is stored as an unrouted record */
    enum vg_err err = vg_spool_append_routed(o->spool, events, o->lens,
                                             o->nrouted ? routes : NULL,
                                             o->nrouted ? o->rlens : NULL, o->n, timeout,
                                             errbuf, errlen);
    if (err == VG_ERR_LIMIT && !errbuf[0])
        snprintf(errbuf, errlen, "the spool stayed full until the timeout: the outputs are "
                                 "not taking events");
    if (!err) {
        o->n = o->nrouted = 0;
        vg_buf_reset(&o->arena);
        vg_buf_reset(&o->rarena);
    }
    return err;
}

static enum vg_err spool_write_routed(void *ctx, const char *line, size_t len,
                                      const char *route, size_t rlen, char *errbuf,
                                      size_t errlen)
{
    struct spool_output *o = ctx;
    if (!route || rlen > VG_MAX_ROUTE)
        rlen = 0;   /* (a route longer than any Vigil writes: read from the JSON) */
    if (o->n == BATCH_EVENTS ||
        (o->n && o->arena.len + len + 1 + o->rarena.len + rlen + 1 > BATCH_BYTES)) {
        enum vg_err err = append_batch(o, errbuf, errlen);
        if (err)
            return err;
    }
    size_t off = o->arena.len, roff = o->rarena.len;
    enum vg_err err = vg_buf_append(&o->arena, line, len);
    if (!err)
        err = vg_buf_appendc(&o->arena, '\0');
    if (err) {
        o->arena.len = off;
        if (o->arena.data)
            o->arena.data[off] = '\0';
        snprintf(errbuf, errlen, "spool: an event of %zu bytes does not fit a batch", len);
        return err;
    }
    if (rlen && (vg_buf_append(&o->rarena, route, rlen) || vg_buf_appendc(&o->rarena, '\0'))) {
        o->rarena.len = roff;
        if (o->rarena.data)
            o->rarena.data[roff] = '\0';
        rlen = 0;   /* cannot happen (the arena holds a full batch of them) */
    }
    o->offs[o->n] = off;
    o->lens[o->n] = len;
    o->roffs[o->n] = roff;
    o->rlens[o->n] = rlen;
    o->nrouted += rlen != 0;
    o->n++;
    return VG_OK;
}

static enum vg_err spool_write(void *ctx, const char *line, size_t len, char *errbuf,
                               size_t errlen)
{
    return spool_write_routed(ctx, line, len, NULL, 0, errbuf, errlen);
}

static enum vg_err spool_flush(void *ctx, char *errbuf, size_t errlen)
{
    return append_batch(ctx, errbuf, errlen);
}

static void spool_close(void *ctx)
{
    struct spool_output *o = ctx;
    if (!o)
        return;
    vg_buf_free(&o->arena);
    vg_buf_free(&o->rarena);
    free(o);
}

static enum vg_err spool_open_spec(const char *arg, void **ctx, char *errbuf, size_t errlen)
{
    (void)arg;
    (void)ctx;
    snprintf(errbuf, errlen, "the spool output is opened by vg_output_spool(), not by name");
    return VG_ERR_INVALID;
}

const struct vg_output_type vg_output_spool_type = {
    .name = "spool",
    .open = spool_open_spec,
    .write = spool_write,
    .write_routed = spool_write_routed,
    .flush = spool_flush,
    .close = spool_close,
};

enum vg_err vg_output_spool(struct vg_output *out, struct vg_spool *spool, int64_t deadline_ms)
{
    struct spool_output *o = calloc(1, sizeof(*o));
    if (!o)
        return VG_ERR_NOMEM;
    o->spool = spool;
    o->deadline_ms = deadline_ms;
    /* a single event may be as large as VG_MAX_EVENT */
    vg_buf_init(&o->arena, BATCH_BYTES + VG_MAX_EVENT);
    vg_buf_init(&o->rarena, BATCH_EVENTS * (VG_MAX_ROUTE + 1));
    out->type = &vg_output_spool_type;
    out->ctx = o;
    return VG_OK;
}
