/*
 * `vigil report`: the compliance posture of the last scan of every target,
 * per framework, from the results files the store keeps
 * (every .ndjson file of STATE_DIR/results, see results.h).
 *
 * For each framework: every control of its catalogue with the findings
 * mapped to it (vigil.compliance.<framework>), counted by outcome; the
 * failing (and unknown) resources; the controls no finding touches ("no
 * automated coverage: needs manual evidence"); and a posture score.
 *
 * Counting, on purpose:
 * - A finding counts once per control it maps to, and once per framework
 *   (for the framework's counts and score) however many of its controls it
 *   maps to.
 * - A muted finding counts as muted, whatever its evaluation: never as
 *   failed, never as passed, and not in the score.
 * - score = passed / (passed + failed) of the framework's findings, as a
 *   percentage rounded to one decimal; "n/a" (JSON null) when no finding
 *   passed or failed. Unknown findings are not in the score: they are shown
 *   beside it.
 * - A control's status is the worst of its findings: failed if any failed,
 *   else unknown if any is unknown, else passed if any passed, else muted.
 * - Results of every target are added together; resources name their
 *   target (host://web-01/sshd).
 *
 * Reading is bounded (VG_RESULTS_MAX_FILE per file, VG_MAX_EVENT per line,
 * the caps below) and never fails on content: a line that is not a JSON
 * finding is skipped and counted, with a note in the report; events that
 * are not findings (the scan summary) are passed over silently.
 */
#ifndef VG_REPORT_H
#define VG_REPORT_H

#include "../checks/framework.h"
#include "buf.h"
#include "err.h"
#include "json.h"

#include <stdint.h>
#include <stdio.h>

/* Bounds (candidates for agent/limits.h). */
#define VG_REPORT_WIDTH        100          /* columns of the table */
#define VG_REPORT_MAX_FILES    4096         /* results files read */
#define VG_REPORT_MAX_TARGETS  1024         /* distinct (target, scan) listed */
#define VG_REPORT_MAX_LISTED   10           /* failing / unknown resources kept per control */
#define VG_REPORT_MAX_EXTRA    256          /* control ids absent from a catalogue, per framework */
#define VG_REPORT_MAX_NOTES    64
#define VG_REPORT_MAX_FIELD    1024         /* bytes kept of an id or reason from a finding */
#define VG_REPORT_MAX_OUTPUT   (256u << 20) /* one rendered report */

enum vg_report_format {
    VG_REPORT_TABLE,
    VG_REPORT_JSON,
    VG_REPORT_HTML,
};

/* "table", "json", "html"; -1 for anything else. */
int vg_report_format_parse(const char *s);

struct vg_report_opts {
    const char *state_dir;                  /* results are read from STATE_DIR/results */
    const struct vg_catalog *catalog;       /* borrowed */
    const char *framework;                  /* NULL: every framework with a finding */
    enum vg_report_format format;
    int64_t now_ms;                         /* "generated"; 0: the current time */
};

/*
 * Builds the report as a JSON document (the shape of the json format):
 *
 * {"generated":"<RFC 3339>","results_dir":"...",
 *  "targets":[{"provider","name","scan_id","started","findings","file"}],
 *  "frameworks":[{"id","name","version","score":<number|null>,
 *     "counts":{"passed","failed","unknown","muted"},
 *     "coverage":{"controls","covered","uncovered","passing","failing","unknown","muted"},
 *     "controls":[{"id","title","group","passed","failed","unknown","muted","status",
 *                  "failing":[{"resource","rule","reason"}],"failing_more",
 *                  "unknowns":[{"resource","rule","reason"}],"unknowns_more",
 *                  "mutes":[{"resource","rule","reason"}],"mutes_more"}],
 *     "uncovered":[{"id","title","group"}],
 *     "groups":[{"name","controls","passing","failing","unknown","muted","uncovered"}]}],
 *  "skipped_lines":N,"notes":["..."]}
 *
 * "controls" holds the covered controls in the catalogue's order, then the
 * control ids findings named that the catalogue lacks (title "(not in the
 * catalogue)"); status is "failed", "unknown", "passed" or "muted".
 * A muted item's reason is the exception's (vigil.mute_reason).
 * "groups" counts the catalogue's controls per top-level group ("1 Initial
 * Setup" of "1 Initial Setup / 1.1.1"), in the catalogue's order.
 *
 * On success *doc is set (caller frees with vg_json_free()). Errors, with a
 * sentence in errbuf: VG_ERR_INVALID for a framework id the catalogue does
 * not have (the sentence lists the known ones); VG_ERR_NOENT when there are
 * no results ("no scan results in DIR: run vigil scan first"); VG_ERR_IO
 * when the results directory cannot be read; VG_ERR_NOMEM.
 */
enum vg_err vg_report_build(const struct vg_report_opts *o, struct vg_json **doc, char *errbuf,
                            size_t errlen);

/* Render a document built above. Appended to out; VG_ERR_LIMIT or
 * VG_ERR_NOMEM. Every string from findings is sanitised for the medium:
 * control characters and bad UTF-8 replaced in the table, HTML-escaped in
 * the HTML. */
enum vg_err vg_report_render_table(const struct vg_json *doc, struct vg_buf *out);
enum vg_err vg_report_render_json(const struct vg_json *doc, struct vg_buf *out);
enum vg_err vg_report_render_html(const struct vg_json *doc, struct vg_buf *out);

/* Builds and renders the report in o->format to out. The errors of
 * vg_report_build(), and VG_ERR_IO when out cannot be written. */
enum vg_err vg_report_run(const struct vg_report_opts *o, FILE *out, char *errbuf, size_t errlen);

/* ---- shared by the renderers -------------------------------------------- */

/* Appends s with each control character (C0, DEL, C1) and each byte of bad
 * UTF-8 replaced by U+FFFD, at most max_cols code points (the last one "…"
 * when cut); pads with spaces to pad_cols when pad_cols > 0. Returns the
 * columns written through *cols if cols is not NULL. */
enum vg_err vg_report_put_text(struct vg_buf *out, const char *s, size_t max_cols,
                               size_t pad_cols, size_t *cols);

#endif
