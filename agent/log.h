/*
 * Logging with levels and areas, to stderr by default.
 *
 *   vg_log(VG_LOG_WARN, "es", "item %zu rejected: %s", i, why);
 *
 * The macro tests the level before it evaluates its arguments. Debug lines
 * are shown per area ("--debug=host,rules" or "--debug=all"). The sink is
 * pluggable so tests can read what was logged. Never log a secret.
 */
#ifndef VG_LOG_H
#define VG_LOG_H

#include <stdbool.h>

enum vg_log_level {
    VG_LOG_ERROR = 0,
    VG_LOG_WARN,
    VG_LOG_INFO,
    VG_LOG_DEBUG,
};

typedef void (vg_log_sink_fn)(enum vg_log_level level, const char *area,
                              const char *line, void *opaque);

extern enum vg_log_level vg_log_level_current;

/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int vg_log_level_parse(const char *s);
const char *vg_log_level_name(enum vg_log_level level);

void vg_log_set_level(enum vg_log_level level);

/* Enables debug lines for a comma-separated list of areas ("all" for all).
 * Returns 0, or -1 when the list is too long. */
int vg_log_set_debug(const char *areas);

/* True when a line at this level and area would be written. */
bool vg_log_enabled(enum vg_log_level level, const char *area);

/* Replaces the sink; NULL restores stderr. */
void vg_log_set_sink(vg_log_sink_fn *fn, void *opaque);

void vg_log_write(enum vg_log_level level, const char *area, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define vg_log(level, area, ...)                                   \
    do {                                                           \
        if (vg_log_enabled((level), (area)))                       \
            vg_log_write((level), (area), __VA_ARGS__);            \
    } while (0)

#endif
