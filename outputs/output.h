/*
 * Outputs: where encoded events go. Each is a table of functions
 * registered once in outputs/output.c. This issue has stdout and file
 * (NDJSON, one event per line, appended).
 */
#ifndef VG_OUTPUT_H
#define VG_OUTPUT_H

#include "../agent/buf.h"
#include "../agent/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An event's route: the fields the network outputs route it by (the
 * Elasticsearch data stream and _id; the Kafka key, headers and the
 * default topic), written by the encoder beside the event, from the values
 * it encoded, and kept beside it in the spool, so that the outputs need
 * not read the event's JSON. Its text is the fields in this order, each
 * ended by a NUL but the last (whose NUL is the spool entry's own); an
 * empty field is absent. An event without a route (a scan summary, a
 * monitoring event, a spool written before routes) has its fields read
 * from its JSON instead, which gives the same values. */
enum vg_route_field {
    VG_RT_ID,            /* event.id */
    VG_RT_DATASET,       /* event.dataset */
    VG_RT_NAMESPACE,     /* data_stream.namespace */
    VG_RT_ECS_VERSION,   /* ecs.version */
    VG_RT_RULE_ID,       /* rule.id */
    VG_RT_RESOURCE_ID,   /* resource.id */
    VG_RT_SEVERITY,      /* vigil.severity */
    VG_RT_N
};
extern const char *const vg_route_paths[VG_RT_N];   /* "event.id", ... */

struct vg_route {
    const char *v[VG_RT_N];   /* borrowed from the text; NULL when absent */
    size_t len[VG_RT_N];
};

/* Appends the route of the values v (NULL: absent); they hold no NUL. */
enum vg_err vg_route_append(struct vg_buf *b, const char *const v[VG_RT_N]);
/* Reads a route's text; false when it is empty or not a route. */
bool vg_route_parse(const char *text, size_t len, struct vg_route *r);
/* The field for a dotted path, or -1 when a route does not hold it. */
int vg_route_field_of(const char *path);

struct vg_output_type {
    const char *name;
    /* Opens an instance; arg is the part of the spec after "name:" (NULL
     * when none). Returns the instance context in *ctx, or an error with a
     * sentence in errbuf. */
    enum vg_err (*open)(const char *arg, void **ctx, char *errbuf, size_t errlen);
    /* Writes one event line (without its newline). */
    enum vg_err (*write)(void *ctx, const char *line, size_t len, char *errbuf, size_t errlen);
    /* The same with the event's route (NULL, or rlen 0: none); NULL for
     * an output that has no use for routes (write is called). */
    enum vg_err (*write_routed)(void *ctx, const char *line, size_t len, const char *route,
                                size_t rlen, char *errbuf, size_t errlen);
    /* Makes everything written so far durable or delivered. */
    enum vg_err (*flush)(void *ctx, char *errbuf, size_t errlen);
    void (*close)(void *ctx);
};

struct vg_output {
    const struct vg_output_type *type;
    void *ctx;
};

/* Opens the output a spec names: "stdout" or "file:PATH". */
enum vg_err vg_output_open(const char *spec, struct vg_output *out, char *errbuf, size_t errlen);
enum vg_err vg_output_write(struct vg_output *o, const char *line, size_t len, char *errbuf,
                            size_t errlen);
enum vg_err vg_output_write_routed(struct vg_output *o, const char *line, size_t len,
                                   const char *route, size_t rlen, char *errbuf, size_t errlen);
enum vg_err vg_output_flush(struct vg_output *o, char *errbuf, size_t errlen);
void vg_output_close(struct vg_output *o);

extern const struct vg_output_type vg_output_stdout;
extern const struct vg_output_type vg_output_file;
extern const struct vg_output_type vg_output_spool_type;

struct vg_spool;
/* Opens an output that batches events into spool (borrowed), for the
 * network outputs that read it. deadline_ms (monotonic, -1: none) bounds
 * how long a write waits for room in a full spool. */
enum vg_err vg_output_spool(struct vg_output *out, struct vg_spool *spool, int64_t deadline_ms);

/* Since when a network output has been failing: the wall-clock ms of its
 * first failure since it last delivered, 0 while it delivers. Written by
 * the output's delivery thread, read by any thread (its stats); lock-free,
 * so that clearing it on every delivery costs one load. */
struct vg_output_failing {
    _Atomic int64_t since_ms;
};
void vg_output_failing_mark(struct vg_output_failing *f);    /* keeps the first time */
void vg_output_failing_clear(struct vg_output_failing *f);
int64_t vg_output_failing_since(struct vg_output_failing *f);

/* Puts the outputs inner[0..n) (opened; the array is borrowed and must
 * outlive out) behind one lock, so that several threads may write and
 * flush (a daemon's scans and its monitoring events): a line goes to every
 * inner output before the next line of any thread. Closing out closes
 * them. */
enum vg_err vg_output_shared(struct vg_output *out, struct vg_output *inner, size_t n);

/* Lines written through a shared output so far; 0 for another output. */
uint64_t vg_output_shared_lines(struct vg_output *out);

#endif
