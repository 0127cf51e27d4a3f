/*
 * `vigil run`'s schedule arithmetic: when each configured scan runs next.
 * Times are monotonic milliseconds.
 */
#ifndef VG_SCHED_H
#define VG_SCHED_H

#include <stdint.h>

/* The random delay of a scan's first run, so that a fleet started together
 * does not scan in step: in [0, min(interval / 10, max_ms)), drawn from
 * rnd; 0 when that bound is 0. */
int64_t vg_sched_splay_ms(int64_t interval_ms, int64_t max_ms, uint64_t rnd);

/* After a run that started at start_ms and ended at end_ms, the next start:
 * start_ms + interval_ms, or when the run overran, the first of start_ms +
 * k * interval_ms after end_ms (a scan never runs twice at once, and the
 * runs it overran are skipped, not queued). *skipped gets the number of
 * runs skipped (k - 1). */
int64_t vg_sched_next(int64_t start_ms, int64_t end_ms, int64_t interval_ms, uint64_t *skipped);

#endif
