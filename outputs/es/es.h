/*
 * The Elasticsearch output: one delivery thread that reads the spool
 * through the cursor "elasticsearch", sends `_bulk` requests (op create,
 * _id = event.id, gzip bodies, several in flight through curl multi), reads
 * each item's result, and acknowledges the cursor only up to the first
 * event not yet delivered or dead-lettered, in order.
 *
 *   struct vg_es *es = vg_es_new(cfg, spool, state_dir, err, sizeof(err));
 *   if (!es) -> exit 2 (configuration), message in err
 *   vg_es_start(es);
 *   ... scans append to the spool ...
 *   vg_es_drain(es, vg_time_mono_ms() + 30000, &left);   -> VG_OK, or exit 1
 *   vg_es_stop(es); vg_es_destroy(es);
 *
 * Per item (DESIGN.md "Outputs"):
 *   2xx, 409 ............ delivered (409: the _id is there, from an earlier send)
 *   429, 5xx, 403 cluster_block_exception, no status
 *                 ....... resent alone (only the items that failed), each with
 *                         capped exponential backoff and full jitter, without
 *                         limit while the spool has room
 *   other 4xx ........... one line each in the dead-letter file:
 *                         {"@timestamp","status","error":{"type","reason"},"event":{...}}
 *   401, 403 security_exception
 *                 ....... delivery stops with one clear error; the events stay
 *                         in the spool; vg_es_drain() returns VG_ERR_PERM
 * Per request: 413 splits the batch in halves (an event alone that is still
 * too large is dead-lettered), 400 likewise; 429 and 403 cluster blocks are
 * retried; 5xx, other answers and transport failures (refused, reset,
 * timeout, TLS) mark the host failed for a backoff and the events go to the
 * next host. An event the spool holds that is not JSON with an event.id is
 * dead-lettered with status 0 and type "vigil_invalid_event".
 *
 * Threads: vg_es_new/start/stop/destroy from one thread; vg_es_drain and
 * vg_es_get_stats from any.
 */
#ifndef VG_ES_H
#define VG_ES_H

#include "../../agent/err.h"
#include "../../config/config.h"
#include "../spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_ES_CURSOR "elasticsearch"

struct vg_es_stats {
    uint64_t delivered;        /* events Elasticsearch took (2xx) */
    uint64_t duplicates;       /* events answered 409: there already */
    uint64_t retried;          /* event resends */
    uint64_t dead_lettered;    /* events written to the dead-letter file */
    uint64_t acked;            /* events acknowledged to the spool */
    uint64_t requests;         /* bulk requests sent */
    uint64_t requests_failed;  /* requests without a usable answer */
    uint64_t splits;           /* requests halved after 413 or 400 */
    uint64_t bytes_sent;       /* request bodies as sent (compressed) */
    uint64_t bytes_raw;        /* request bodies before compression */
    bool stopped;              /* delivery stopped on refused credentials */
    uint64_t pending;          /* events in the spool not yet acknowledged */
    int64_t failing_since_ms;  /* wall-clock ms of the first failure since the last
                                * request that delivered; 0: not failing */
};

struct vg_es;

/* Checks the configuration (cfg->outputs.es and outputs.namespace), reads
 * the files it names, and prepares the output; nothing is sent yet. The
 * dead-letter file is cfg's dead_letter_path, else
 * STATE_DIR/dead-letter.ndjson (state_dir NULL: cfg->agent.state_dir).
 * spool is borrowed and must outlive the output. NULL with a sentence in
 * errbuf when the configuration cannot work (exit 2). Caller frees with
 * vg_es_destroy(). */
struct vg_es *vg_es_new(const struct vg_config *cfg, struct vg_spool *spool,
                        const char *state_dir, char *errbuf, size_t errlen);

/* Opens the cursor and starts the delivery thread. VG_ERR_NOMEM, VG_ERR_IO
 * (the cursor), VG_ERR_INVALID when already started. */
enum vg_err vg_es_start(struct vg_es *es);

/* Waits until everything appended to the spool so far is acknowledged
 * (delivered or dead-lettered), or until deadline_ms on the
 * vg_time_mono_ms() clock (-1: no limit). Partial requests are sent at
 * once while a drain waits. VG_OK when caught up; VG_ERR_PERM when delivery
 * stopped on refused credentials; VG_ERR_LIMIT when the deadline passed;
 * VG_ERR_INVALID when the output is not running. *remaining (may be NULL)
 * gets the events not yet acknowledged. vg_es_last_error() says why. */
enum vg_err vg_es_drain(struct vg_es *es, int64_t deadline_ms, uint64_t *remaining);

/* Stops the thread: requests in flight are abandoned (resent after a
 * restart; the _id makes that harmless), what was delivered is
 * acknowledged. Safe to call twice or without start. */
void vg_es_stop(struct vg_es *es);

void vg_es_destroy(struct vg_es *es);   /* stops first; NULL is a no-op */

void vg_es_get_stats(struct vg_es *es, struct vg_es_stats *out);

/* The last error worth telling the user (the fatal one when delivery
 * stopped), one line, "" when none. */
void vg_es_last_error(struct vg_es *es, char *buf, size_t len);

#endif
