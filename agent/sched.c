/*
 * Schedule arithmetic (see sched.h).
 */
#include "sched.h"

int64_t vg_sched_splay_ms(int64_t interval_ms, int64_t max_ms, uint64_t rnd)
{
    int64_t bound = interval_ms / 10;
    if (bound > max_ms)
        bound = max_ms;
    if (bound <= 0)
        return 0;
    return (int64_t)(rnd % (uint64_t)bound);
}

int64_t vg_sched_next(int64_t start_ms, int64_t end_ms, int64_t interval_ms, uint64_t *skipped)
{
    *skipped = 0;
    if (interval_ms <= 0)
        return end_ms;
    int64_t next = start_ms + interval_ms;
    if (next > end_ms)
        return next;
    /* overran: the first slot after the end */
    int64_t k = (end_ms - start_ms) / interval_ms + 1;
    *skipped = (uint64_t)(k - 1);
    return start_ms + k * interval_ms;
}
