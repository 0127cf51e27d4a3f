#include "timeutil.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t vg_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t vg_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vg_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    ts.tv_sec += (time_t)(ms / 1000) + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(cv, mu, &ts);
}

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

void vg_time_rfc3339(int64_t ms, char out[VG_TIME_RFC3339_LEN])
{
    int64_t sec = ms / 1000;
    int milli = (int)(ms % 1000);
    if (milli < 0) {
        milli += 1000;
        sec -= 1;
    }
    /* gmtime_r once per second: findings are made thousands a second */
    static _Thread_local int64_t cached_sec = INT64_MIN;
    static _Thread_local struct tm cached_tm;
    if (sec != cached_sec) {
        time_t t = (time_t)sec;
        if (!gmtime_r(&t, &cached_tm) || cached_tm.tm_year + 1900 > 9999 ||
            cached_tm.tm_year + 1900 < 0) {
            memcpy(out, "1970-01-01T00:00:00.000Z", 25);
            return;
        }
        cached_sec = sec;
    }
    const struct tm *tm = &cached_tm;
    int y = tm->tm_year + 1900;
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    put2(out, y / 100);
    put2(out + 2, y % 100);
    out[4] = '-';
    put2(out + 5, tm->tm_mon + 1);
    out[7] = '-';
    put2(out + 8, tm->tm_mday);
    out[10] = 'T';
    put2(out + 11, tm->tm_hour);
    out[13] = ':';
    put2(out + 14, tm->tm_min);
    out[16] = ':';
    put2(out + 17, tm->tm_sec);
    out[19] = '.';
    out[20] = (char)('0' + milli / 100);
    put2(out + 21, milli % 100);
    out[23] = 'Z';
    out[24] = '\0';
}

/* Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm):
 * no dependence on the local time zone, unlike mktime(). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int vg_time_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
    if (!s || strlen(s) < 10)
        return -1;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    const char *p = s + 10;
    int64_t offset_s = 0;
    if (*p) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return -1;
        p++;
        if (strlen(p) < 8 || digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &mi) ||
            p[5] != ':' || digits(p + 6, 2, &se))
            return -1;
        if (h > 23 || mi > 59 || se > 60)
            return -1;
        p += 8;
        if (*p == '.') {
            p++;
            int n = 0;
            while (isdigit((unsigned char)*p)) {
                if (n < 3)
                    frac = frac * 10 + (*p - '0');
                n++;
                p++;
            }
            if (n == 0)
                return -1;
            for (; n < 3; n++)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            int sign = *p == '-' ? -1 : 1;
            if (strlen(p) < 6 || digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
                return -1;
            offset_s = sign * (oh * 3600 + om * 60);
            p += 6;
        } else {
            return -1;
        }
        if (*p)
            return -1;
    }
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ms = ((days * 86400 + h * 3600 + mi * 60 + se) - offset_s) * 1000 + frac;
    return 0;
}
