/*
 * The spool: a durable, bounded queue of encoded events between the scans
 * (producers) and the network outputs (consumers, each with its cursor).
 *
 * Contract (DESIGN.md "Spool and delivery"):
 * - Append-only segment files of records; a record is one batch of events,
 *   zstd-compressed, with its length and a CRC32C. The exact layout is
 *   drawn in outputs/spool.c's header comment.
 * - A batch counts as accepted when vg_spool_append() returns VG_OK: with
 *   fsync "batch" it is on disk by then. A crash at any instant after that
 *   loses nothing of it.
 * - Each consumer has a named cursor. A cursor moves only when the
 *   consumer acknowledges (vg_spool_ack), and is written atomically
 *   (write to a temporary file, fsync, rename, fsync the directory).
 *   After a restart, every event after the cursor is read again.
 * - A segment is deleted once every cursor is past it.
 * - Bounded by max_bytes: when full, append blocks until consumers make
 *   room (when_full block), or the oldest undelivered records are dropped
 *   (drop_oldest); either way it is counted and logged.
 * - At open, a torn or corrupt record (short, bad CRC, bad zstd frame) is
 *   reported and the segment is cut there; every intact record before it
 *   is kept and delivered.
 * - The memory mode keeps the same semantics without files (and without
 *   crash safety).
 *
 * Thread safety: every function may be called from any thread; one
 * producer thread and one thread per cursor is the expected use.
 */
#ifndef VG_SPOOL_H
#define VG_SPOOL_H

#include "../agent/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vg_spool_full { VG_SPOOL_BLOCK, VG_SPOOL_DROP_OLDEST };

struct vg_spool_opts {
    const char *dir;            /* NULL: memory only */
    uint64_t max_bytes;         /* bound on the stored (compressed) bytes */
    uint64_t segment_bytes;     /* a segment is closed past this size */
    enum vg_spool_full when_full;
    bool fsync;                 /* fsync each appended batch (default true) */
    int zstd_level;             /* default 1 when 0 */
};

/* A position in the spool: the record's sequence number and an event index
 * within it. Positions order (seq, idx) lexicographically. */
struct vg_spool_pos {
    uint64_t seq;
    uint32_t idx;
};

/* Events read from the spool, borrowed until the next read on the same
 * cursor or vg_spool_batch_release(). */
struct vg_spool_batch {
    const char **events;        /* n events, each NUL-terminated JSON */
    const size_t *lens;
    const char **routes;        /* NULL, or each event's route (outputs/output.h),
                                 * NUL-terminated; empty: none */
    const size_t *rlens;
    struct vg_spool_pos *pos;   /* pos[i] is the position of events[i];
                                 * acknowledging pos[i] means events up to
                                 * and including i are done */
    size_t n;
    void *priv;
};

struct vg_spool_stats {
    uint64_t bytes;             /* stored now */
    uint64_t records;           /* stored now */
    uint64_t events_appended;   /* since open */
    uint64_t events_dropped;    /* by drop_oldest, since open */
    uint64_t corrupt_records;   /* found and cut at open */
    uint64_t blocked_ms;        /* producers waited for room, in all */
};

struct vg_spool;
struct vg_spool_cursor;

/* Opens (creating it if needed) and recovers the spool. Corruption found
 * is logged (area "spool") and counted, not an error. Returns NULL with a
 * sentence in errbuf when the directory cannot be used. Caller frees with
 * vg_spool_close(). */
struct vg_spool *vg_spool_open(const struct vg_spool_opts *o, char *errbuf, size_t errlen);
void vg_spool_close(struct vg_spool *s);   /* NULL is a no-op */

/* Appends n events as one record. Blocks while the spool is full
 * (when_full block) until room is made or timeout_ms passes (-1: no
 * limit): then VG_ERR_LIMIT. VG_ERR_IO with errbuf on a write or fsync
 * failure (a full disk): the batch is then not accepted. */
enum vg_err vg_spool_append(struct vg_spool *s, const char *const *events, const size_t *lens,
                            size_t n, int timeout_ms, char *errbuf, size_t errlen);
/* The same, with each event's route (NULL routes: none; rlens[i] 0: none
 * for that event), kept beside it and given back by vg_spool_read(). */
enum vg_err vg_spool_append_routed(struct vg_spool *s, const char *const *events,
                                   const size_t *lens, const char *const *routes,
                                   const size_t *rlens, size_t n, int timeout_ms, char *errbuf,
                                   size_t errlen);

/* Opens the named cursor (created at the oldest record if new). The
 * cursor is owned by the spool; valid until vg_spool_close(). Names are
 * [a-z0-9_-]+. */
enum vg_err vg_spool_cursor(struct vg_spool *s, const char *name, struct vg_spool_cursor **out);

/* Reads up to max events after the cursor's read position (which starts at
 * the acknowledged position and moves with each read), waiting up to
 * timeout_ms for one to arrive (0: do not wait). VG_OK with b->n == 0 when
 * nothing came (or vg_spool_interrupt() was called). A batch never spans
 * two appended batches. VG_ERR_LIMIT when the cursor has read
 * VG_SPOOL_MAX_WINDOW appended batches without acknowledging any. */
enum vg_err vg_spool_read(struct vg_spool_cursor *c, size_t max, int timeout_ms,
                          struct vg_spool_batch *b);
void vg_spool_batch_release(struct vg_spool_batch *b);

/* Moves the read position back to the acknowledged one (to read again
 * what was read but not delivered, after an output restarts). */
void vg_spool_rewind(struct vg_spool_cursor *c);

/* Acknowledges every event up to and including pos, and persists the
 * cursor atomically. Positions must not go backwards. */
enum vg_err vg_spool_ack(struct vg_spool_cursor *c, struct vg_spool_pos pos, char *errbuf,
                         size_t errlen);

/* Events stored after this cursor's acknowledged position. */
uint64_t vg_spool_pending(struct vg_spool_cursor *c);

void vg_spool_get_stats(struct vg_spool *s, struct vg_spool_stats *out);

/* Makes every wait in the spool (append when full, read) return now, and
 * every later one at once: append then fails with VG_ERR_LIMIT, read
 * returns what it has. For shutting down threads before vg_spool_close(). */
void vg_spool_interrupt(struct vg_spool *s);

/* Forgets the cursors found on disk at open that no one has opened since
 * with vg_spool_cursor() (outputs removed from the configuration), and
 * deletes their files, so they no longer hold segments. Call it once every
 * output has opened its cursor. Returns how many were removed (logged). */
size_t vg_spool_prune(struct vg_spool *s);

#endif
