/*
 * The Kafka output: one delivery thread that reads the spool through the
 * cursor "kafka", produces each event with librdkafka (enable.idempotence,
 * acks=all, zstd by default) and acknowledges the cursor only from delivery
 * reports, in order: up to the first event neither delivered nor
 * dead-lettered.
 *
 *   struct vg_kafka *k = vg_kafka_new(cfg, spool, state_dir, err, sizeof(err));
 *   if (!k) -> exit 2 (configuration; a wrong property gives librdkafka's text)
 *   vg_kafka_start(k);
 *   vg_kafka_drain(k, vg_time_mono_ms() + 30000, &left);   -> VG_OK, or exit 1
 *   vg_kafka_stop(k); vg_kafka_destroy(k);
 *
 * Each message:
 *   topic   the template outputs.kafka.topic over event fields
 *           ("vigil-{event.dataset}"); characters outside [A-Za-z0-9._-]
 *           become '_'; a field the event lacks is an empty string
 *   key     hex SHA-256 of rule.id NUL resource.id (the latest state of a
 *           finding survives compaction); events without both: of event.id
 *   value   the event, as the spool holds it
 *   headers ecs.version, event.dataset, rule.id, vigil.severity (when present)
 *
 * Delivery reports:
 *   no error ................ delivered
 *   permanent (message too large, record list too large, topic or cluster
 *   authorization, invalid topic, invalid record)
 *                  ......... one line in the dead-letter file:
 *                            {"@timestamp","status":0,"error":{"type":<librdkafka
 *                            error name>,"reason":<its text>},"event":{...}}
 *   anything else (timeouts, broker down, retriable) ... produced again, without
 *                            limit; the window and the spool bound how far
 *                            reading runs ahead.
 * An idempotent producer's fatal error recreates the producer; undelivered
 * events are produced again (Kafka may then hold a duplicate, with the same
 * event.id).
 *
 * Threads: vg_kafka_new/start/stop/destroy from one thread; vg_kafka_drain
 * and vg_kafka_get_stats from any.
 */
#ifndef VG_KAFKA_H
#define VG_KAFKA_H

#include "../../agent/err.h"
#include "../../config/config.h"
#include "../spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_KAFKA_CURSOR "kafka"

struct vg_kafka_stats {
    uint64_t produced;        /* messages handed to librdkafka (retries included) */
    uint64_t delivered;       /* delivery reports without error */
    uint64_t retried;         /* messages produced again after a failed report */
    uint64_t dead_lettered;   /* events written to the dead-letter file */
    uint64_t acked;           /* events acknowledged to the spool */
    uint64_t producer_restarts;  /* producers recreated after a fatal error */
    uint64_t pending;         /* events in the spool not yet acknowledged */
    int64_t failing_since_ms; /* wall-clock ms of the first error since the last
                               * delivery report without one; 0: not failing */
};

struct vg_kafka;

/* Checks cfg->outputs.kafka and builds the producer's configuration (every
 * property is tried on librdkafka; its own message comes back when one is
 * wrong). The dead-letter file is the configured path, else
 * STATE_DIR/dead-letter.ndjson (state_dir NULL: cfg->agent.state_dir).
 * spool is borrowed and must outlive the output. NULL with a sentence in
 * errbuf (exit 2). Caller frees with vg_kafka_destroy(). */
struct vg_kafka *vg_kafka_new(const struct vg_config *cfg, struct vg_spool *spool,
                              const char *state_dir, char *errbuf, size_t errlen);

/* Opens the cursor and starts the delivery thread. VG_ERR_INVALID when
 * already started, VG_ERR_IO (the cursor), VG_ERR_NOMEM. */
enum vg_err vg_kafka_start(struct vg_kafka *k);

/* Waits until everything appended to the spool so far is acknowledged, or
 * until deadline_ms on the vg_time_mono_ms() clock (-1: no limit). VG_OK
 * when caught up; VG_ERR_LIMIT at the deadline; VG_ERR_INVALID when not
 * running. *remaining (may be NULL) gets the events not acknowledged. */
enum vg_err vg_kafka_drain(struct vg_kafka *k, int64_t deadline_ms, uint64_t *remaining);

/* Stops the thread: messages in flight are purged (produced again after a
 * restart), what was delivered is acknowledged. Safe twice or unstarted. */
void vg_kafka_stop(struct vg_kafka *k);

void vg_kafka_destroy(struct vg_kafka *k);   /* stops first; NULL is a no-op */

void vg_kafka_get_stats(struct vg_kafka *k, struct vg_kafka_stats *out);

/* The last error worth telling the user, one line, "" when none. */
void vg_kafka_last_error(struct vg_kafka *k, char *buf, size_t len);

#endif
