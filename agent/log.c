#include "log.h"
#include "limits.h"
#include "timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Process-wide by nature: one stderr, one verbosity (as curl's and Redis's
 * loggers). Everything else in Vigil keeps state in contexts. */
enum vg_log_level vg_log_level_current = VG_LOG_INFO;
static char debug_areas[256];
static vg_log_sink_fn *sink_fn;
static void *sink_opaque;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int vg_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

const char *vg_log_level_name(enum vg_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "?";
}

void vg_log_set_level(enum vg_log_level level)
{
    vg_log_level_current = level;
}

int vg_log_set_debug(const char *areas)
{
    if (!areas) {
        debug_areas[0] = '\0';
        return 0;
    }
    if (strlen(areas) + 3 > sizeof(debug_areas))
        return -1;
    /* stored as ",a,b," so a lookup is one strstr */
    snprintf(debug_areas, sizeof(debug_areas), ",%s,", areas);
    return 0;
}

bool vg_log_enabled(enum vg_log_level level, const char *area)
{
    if (level <= vg_log_level_current)
        return true;
    if (level != VG_LOG_DEBUG || !debug_areas[0])
        return false;
    if (strstr(debug_areas, ",all,"))
        return true;
    char key[64];
    snprintf(key, sizeof(key), ",%s,", area ? area : "");
    return strstr(debug_areas, key) != NULL;
}

void vg_log_set_sink(vg_log_sink_fn *fn, void *opaque)
{
    sink_fn = fn;
    sink_opaque = opaque;
}

void vg_log_write(enum vg_log_level level, const char *area, const char *fmt, ...)
{
    char line[VG_MAX_LOG_LINE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* one event, one line: fold newlines an argument may carry */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (sink_fn) {
        sink_fn(level, area ? area : "", line, sink_opaque);
        return;
    }
    char ts[VG_TIME_RFC3339_LEN];
    vg_time_rfc3339(vg_time_now_ms(), ts);
    fprintf(stderr, "%s %-5s [%s] %s\n", ts, vg_log_level_name(level),
            area ? area : "", line);
}
