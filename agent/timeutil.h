/*
 * Wall-clock time as milliseconds since the epoch, and RFC 3339 UTC text
 * with milliseconds ("2026-11-26T10:00:05.123Z").
 */
#ifndef VG_TIMEUTIL_H
#define VG_TIMEUTIL_H

#include <pthread.h>
#include <stdint.h>

#define VG_TIME_RFC3339_LEN 32   /* buffer size for vg_time_rfc3339() */

int64_t vg_time_now_ms(void);

/* Monotonic milliseconds, for durations and deadlines. */
int64_t vg_time_mono_ms(void);

/* Waits on cv (a condition variable with the default, realtime clock;
 * mu locked by the caller) for at most ms milliseconds. */
void vg_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms);

/* Writes the RFC 3339 UTC form of ms into out (VG_TIME_RFC3339_LEN bytes). */
void vg_time_rfc3339(int64_t ms, char out[VG_TIME_RFC3339_LEN]);

/* Parses RFC 3339 ("2026-11-26T10:00:05Z", with optional fraction and
 * offset) or a plain date ("2026-11-26", taken as midnight UTC) into ms.
 * Returns 0, or -1 when the text is not such a time. */
int vg_time_parse(const char *s, int64_t *ms);

#endif
