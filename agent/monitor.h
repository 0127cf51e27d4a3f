/*
 * `vigil run`'s monitoring endpoint (agent.http.listen): GET /health and
 * GET /metrics over plain HTTP, served by libmicrohttpd's own thread.
 *
 *   /health   200 {"status":"ok"}, or 503 {"status":"degraded","reasons":[..]}
 *   /metrics  200, Prometheus text format 0.0.4 (agent/metrics.h)
 *   other     404; a method other than GET or HEAD: 405
 *
 * Each request asks the daemon for a fresh snapshot through fill(), which
 * must be thread-safe. No authentication: keep it on the loopback or a
 * private network.
 */
#ifndef VG_MONITOR_H
#define VG_MONITOR_H

#include "metrics.h"

#include <stddef.h>

typedef void (*vg_monitor_fill_fn)(struct vg_metrics_snapshot *s, void *opaque);

struct vg_monitor;

/* Listens on listen ("127.0.0.1:5066", "[::1]:5066", "localhost:5066";
 * port 0 picks a free port, logged and given by vg_monitor_port()).
 * Returns NULL with one line in errbuf when the address is malformed or
 * cannot be bound. Caller stops it with vg_monitor_stop(). */
struct vg_monitor *vg_monitor_start(const char *listen, vg_monitor_fill_fn fill, void *opaque,
                                    char *errbuf, size_t errlen);

/* The port listened on. */
unsigned vg_monitor_port(const struct vg_monitor *m);

void vg_monitor_stop(struct vg_monitor *m);   /* NULL is a no-op */

#endif
