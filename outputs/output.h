/*
 * Outputs: where encoded events go. Each is a table of functions
 * registered once in outputs/output.c. This issue has stdout and file
 * (NDJSON, one event per line, appended).
 */
#ifndef VG_OUTPUT_H
#define VG_OUTPUT_H

#include "../agent/err.h"

#include <stddef.h>
#include <stdint.h>

struct vg_output_type {
    const char *name;
    /* Opens an instance; arg is the part of the spec after "name:" (NULL
     * when none). Returns the instance context in *ctx, or an error with a
     * sentence in errbuf. */
    enum vg_err (*open)(const char *arg, void **ctx, char *errbuf, size_t errlen);
    /* Writes one event line (without its newline). */
    enum vg_err (*write)(void *ctx, const char *line, size_t len, char *errbuf, size_t errlen);
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
