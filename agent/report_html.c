/*
 * The report as one self-contained HTML page: inline CSS, an inline SVG
 * bar chart per framework, no script, no font, image or link fetched.
 * Printable: each framework starts a page, colours are kept.
 *
 * Every string that reaches the page goes through esc(): findings come
 * from outside (resource ids, reasons), and so, in principle, do the
 * catalogues.
 */
#include "report.h"
#include "vg_version.h"

#include <stdint.h>
#include <string.h>

/* ---- escaping ------------------------------------------------------------ */

/* Appends s, made safe as text and as a quoted attribute value, at most
 * max_cols characters (SIZE_MAX: all). */
static enum vg_err esc_cut(struct vg_buf *out, const char *s, size_t max_cols)
{
    struct vg_buf clean;
    vg_buf_init(&clean, out->max);
    enum vg_err err = vg_report_put_text(&clean, s, max_cols, 0, NULL);
    for (const char *p = vg_buf_str(&clean); !err && *p; p++) {
        switch (*p) {
        case '&': err = vg_buf_appends(out, "&amp;"); break;
        case '<': err = vg_buf_appends(out, "&lt;"); break;
        case '>': err = vg_buf_appends(out, "&gt;"); break;
        case '"': err = vg_buf_appends(out, "&quot;"); break;
        case '\'': err = vg_buf_appends(out, "&#39;"); break;
        default: err = vg_buf_appendc(out, *p); break;
        }
    }
    vg_buf_free(&clean);
    return err;
}

static enum vg_err esc(struct vg_buf *out, const char *s)
{
    return esc_cut(out, s, SIZE_MAX);
}

static const char *jstr(const struct vg_json *o, const char *k)
{
    const char *s = vg_json_get_str(vg_json_get(o, k));
    return s ? s : "";
}

static size_t jsize(const struct vg_json *o, const char *k)
{
    return (size_t)vg_json_get_int(vg_json_get(o, k));
}

/* ---- style --------------------------------------------------------------- */

static const char css[] =
    ":root{--pass:#1e7b34;--fail:#c0262d;--unk:#c77c02;--mute:#64748b;--none:#dfe3e8;"
    "--ink:#1c2430;--soft:#5b6573;--line:#e3e7ec;--band:#f5f7f9}\n"
    "*{box-sizing:border-box;-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
    "body{margin:0;color:var(--ink);background:#fff;font:14px/1.45 \"DejaVu Sans\",\"Segoe UI\","
    "Helvetica,Arial,sans-serif}\n"
    "main{max-width:1120px;margin:0 auto;padding:0 28px 40px}\n"
    "header.top{background:#17212e;color:#fff;padding:22px 28px 20px}\n"
    "header.top .in{max-width:1064px;margin:0 auto}\n"
    "header.top .brand{font-size:12px;letter-spacing:.18em;text-transform:uppercase;color:#9fb3c8}\n"
    "header.top h1{margin:4px 0 6px;font-size:26px;font-weight:600}\n"
    "header.top p{margin:0;color:#c9d4df;font-size:13px}\n"
    "h2{font-size:21px;margin:0;font-weight:600}\n"
    "h3{font-size:15px;margin:26px 0 10px;padding-bottom:5px;border-bottom:1px solid var(--line)}\n"
    "h3 .count{font-weight:400;color:var(--soft);font-size:13px;margin-left:6px}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--soft);"
    "text-align:left;font-weight:600;padding:6px 8px;border-bottom:2px solid var(--line)}\n"
    "td{padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "td.z{color:#b3bac3}\n"
    "td.id{font-family:\"DejaVu Sans Mono\",Menlo,Consolas,monospace;font-size:12.5px;"
    "white-space:nowrap}\n"
    "code{font-family:\"DejaVu Sans Mono\",Menlo,Consolas,monospace;font-size:12px;"
    "overflow-wrap:anywhere}\n"
    "section.overview{margin-top:24px}\n"
    "section.fw{margin-top:40px;padding-top:22px;border-top:3px solid var(--ink)}\n"
    ".fwhead{display:flex;justify-content:space-between;align-items:flex-start;gap:24px}\n"
    ".fwhead .sub{color:var(--soft);font-size:13px;margin-top:3px}\n"
    ".score{text-align:right;min-width:150px}\n"
    ".score .v{font-size:34px;font-weight:700;line-height:1.1}\n"
    ".score .l{font-size:11px;text-transform:uppercase;letter-spacing:.08em;color:var(--soft)}\n"
    ".good .v{color:var(--pass)}.fair .v{color:var(--unk)}.bad .v{color:var(--fail)}"
    ".na .v{color:var(--mute)}\n"
    ".kpis{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0 6px}\n"
    ".kpi{border:1px solid var(--line);border-left:4px solid var(--mute);border-radius:4px;"
    "padding:6px 12px;min-width:112px;background:var(--band)}\n"
    ".kpi b{display:block;font-size:19px;font-variant-numeric:tabular-nums}\n"
    "td.nw{white-space:nowrap}\n"
    ".kpi span{font-size:11px;color:var(--soft);text-transform:uppercase;letter-spacing:.05em}\n"
    ".kpi.pass{border-left-color:var(--pass)}.kpi.fail{border-left-color:var(--fail)}"
    ".kpi.unk{border-left-color:var(--unk)}.kpi.cov{border-left-color:var(--ink)}\n"
    "figure.chart{margin:14px 0 4px}\n"
    "figure.chart svg{width:100%;max-width:900px;height:auto;display:block}\n"
    "figure.chart figcaption{font-size:12px;color:var(--soft);margin-top:4px}\n"
    ".badge{display:inline-block;min-width:68px;text-align:center;padding:1px 8px;"
    "border-radius:10px;font-size:11px;font-weight:700;letter-spacing:.05em;color:#fff}\n"
    ".b-failed{background:var(--fail)}.b-unknown{background:var(--unk)}"
    ".b-passed{background:var(--pass)}.b-muted{background:var(--mute)}\n"
    "tr.c-failed td:first-child{box-shadow:inset 3px 0 var(--fail)}\n"
    "tr.c-unknown td:first-child{box-shadow:inset 3px 0 var(--unk)}\n"
    "tr.c-passed td:first-child{box-shadow:inset 3px 0 var(--pass)}\n"
    "tr.c-muted td:first-child{box-shadow:inset 3px 0 var(--mute)}\n"
    "tr.more td{border-top:0;padding-top:0;background:#fbfbfc}\n"
    "ul.res{list-style:none;margin:0;padding:2px 0 4px}\n"
    "ul.res li{padding:3px 0 3px 14px;position:relative}\n"
    "ul.res li::before{content:\"\";position:absolute;left:0;top:9px;width:7px;height:7px;"
    "border-radius:50%;background:var(--fail)}\n"
    "ul.res li.u::before{background:var(--unk)}\n"
    "ul.res li.x::before{background:var(--mute)}\n"
    "ul.res .rule{color:var(--soft);font-size:12px;margin-left:6px}\n"
    "ul.res .why{display:block;color:#3b4553;font-size:12.5px}\n"
    "ul.res li.m{color:var(--soft);font-style:italic}\n"
    ".ucg{margin:0 0 12px}\n"
    ".ucg h4{margin:10px 0 2px;font-size:12.5px;font-weight:600}\n"
    ".ucg h4 span{color:var(--soft);font-weight:400}\n"
    "ul.ids{list-style:none;margin:0;padding:0;font-size:12.5px}\n"
    "ul.ids li{display:flex;gap:10px;padding:1px 0;border-bottom:1px dotted var(--line)}\n"
    "ul.ids li code{flex:0 0 92px;color:var(--ink)}\n"
    "ul.ids li span{flex:1;min-width:0;white-space:nowrap;overflow:hidden;"
    "text-overflow:ellipsis;color:#3b4553}\n"
    "p.hint{color:var(--soft);font-size:12.5px;margin:4px 0 10px}\n"
    "section.notes{margin-top:36px;font-size:13px}\n"
    "footer{margin-top:36px;color:var(--soft);font-size:12px;border-top:1px solid var(--line);"
    "padding-top:10px}\n"
    "@page{size:A4;margin:14mm 12mm}\n"
    "@media print{body{font-size:10pt}main{max-width:none;padding:0}"
    "header.top{padding:14px 18px}"
    "section.fw{break-before:page;page-break-before:always;border-top:0;margin-top:0;"
    "padding-top:0}"
    "tr,figure.chart,.kpis,.ucg h4{break-inside:avoid;page-break-inside:avoid}"
    "h3{break-after:avoid;page-break-after:avoid}thead{display:table-header-group}"
    ".kpis{flex-wrap:nowrap;gap:6px}.kpi{flex:1;min-width:0;padding:4px 8px}"
    ".kpi b{font-size:15px}.kpi span{font-size:8pt;letter-spacing:0}"
    "}\n";

/* ---- pieces -------------------------------------------------------------- */

static const char *score_class(const struct vg_json *fw)
{
    const struct vg_json *s = vg_json_get(fw, "score");
    if (!vg_json_is_number(s))
        return "na";
    double v = vg_json_get_num(s);
    return v >= 90.0 ? "good" : v >= 70.0 ? "fair" : "bad";
}

static enum vg_err score_html(struct vg_buf *out, const struct vg_json *fw)
{
    const struct vg_json *s = vg_json_get(fw, "score");
    if (vg_json_is_number(s))
        return vg_buf_printf(out, "%.1f%%", vg_json_get_num(s));
    return vg_buf_appends(out, "n/a");
}

static const char *status_word(const char *st)
{
    if (strcmp(st, "failed") == 0)
        return "FAIL";
    if (strcmp(st, "unknown") == 0)
        return "UNKNOWN";
    if (strcmp(st, "passed") == 0)
        return "PASS";
    return "MUTED";
}

static const char *status_class(const char *st)
{
    if (strcmp(st, "failed") == 0 || strcmp(st, "unknown") == 0 || strcmp(st, "passed") == 0)
        return st;
    return "muted";
}

/* The chart: per top-level group, one bar of its controls by status. */
static enum vg_err chart(struct vg_buf *out, const struct vg_json *fw)
{
    static const struct {
        const char *key, *label, *color;
    } seg[] = {
        { "failing", "failing", "#c0262d" },  { "unknown", "unknown", "#c77c02" },
        { "muted", "muted", "#64748b" },      { "passing", "passing", "#1e7b34" },
        { "uncovered", "no automated coverage", "#dfe3e8" },
    };
    const size_t nseg = sizeof(seg) / sizeof(seg[0]);
    const struct vg_json *groups = vg_json_get(fw, "groups");
    size_t ng = vg_json_len(groups);
    const int W = 900, label_w = 330, bar_x = 340, bar_w = 410, row = 26, top = 34;
    int H = top + (int)ng * row + 6;
    enum vg_err err = VG_OK;

    err |= vg_buf_printf(out, "<figure class=\"chart\"><svg "
                         "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"Controls of ", W, H);
    err |= esc(out, jstr(fw, "name"));
    err |= vg_buf_appends(out, " by group and status\" font-family=\"DejaVu Sans,Helvetica,"
                               "Arial,sans-serif\" font-size=\"13\">");
    /* legend */
    int lx = bar_x - 150;   /* the legend, centred over the bars */
    for (size_t s = 0; s < nseg; s++) {
        err |= vg_buf_printf(out, "<rect x=\"%d\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" "
                             "fill=\"%s\"/><text x=\"%d\" y=\"16.5\" fill=\"#5b6573\" "
                             "font-size=\"13\">%s</text>",
                             lx, seg[s].color, lx + 17, seg[s].label);
        lx += 17 + (int)strlen(seg[s].label) * 7 + 18;
    }
    for (size_t i = 0; !err && i < ng; i++) {
        const struct vg_json *g = vg_json_at(groups, i);
        size_t all = jsize(g, "controls");
        int y = top + (int)i * row;
        err |= vg_buf_printf(out, "<g><title>");
        err |= esc(out, jstr(g, "name"));
        err |= vg_buf_printf(out, ": %zu controls, %zu failing, %zu unknown, %zu muted, %zu "
                             "passing, %zu with no automated coverage</title>",
                             all, jsize(g, "failing"), jsize(g, "unknown"), jsize(g, "muted"),
                             jsize(g, "passing"), jsize(g, "uncovered"));
        err |= vg_buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#1c2430\">",
                             label_w, y + 15);
        err |= esc_cut(out, jstr(g, "name"), 42);
        err |= vg_buf_appends(out, "</text>");
        double x = bar_x;
        for (size_t s = 0; s < nseg && all; s++) {
            size_t n = jsize(g, seg[s].key);
            if (!n)
                continue;
            double w = (double)bar_w * (double)n / (double)all;
            err |= vg_buf_printf(out, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"16\" "
                                 "fill=\"%s\"/>", x, y + 3, w, seg[s].color);
            x += w;
        }
        size_t covered = all - jsize(g, "uncovered");
        err |= vg_buf_printf(out, "<text x=\"%d\" y=\"%d\" fill=\"#5b6573\" font-size=\"13\">"
                             "%zu of %zu covered</text></g>",
                             bar_x + bar_w + 10, y + 15, covered, all);
    }
    err |= vg_buf_appends(out, "</svg><figcaption>Each bar is one group of the framework's "
                               "controls, split by the status of the findings mapped to them; "
                               "grey: no rule covers the control yet.</figcaption></figure>\n");
    return err;
}

static enum vg_err items(struct vg_buf *out, const struct vg_json *c, const char *key,
                         const char *cls, const char *what, const char *why)
{
    enum vg_err err = VG_OK;
    const struct vg_json *list = vg_json_get(c, key);
    for (size_t i = 0; !err && i < vg_json_len(list); i++) {
        const struct vg_json *it = vg_json_at(list, i);
        err |= vg_buf_printf(out, "<li class=\"%s\"><code>", cls);
        err |= esc(out, jstr(it, "resource"));
        err |= vg_buf_appends(out, "</code><span class=\"rule\">");
        err |= esc(out, jstr(it, "rule"));
        err |= vg_buf_appends(out, "</span>");
        if (*jstr(it, "reason")) {
            err |= vg_buf_printf(out, "<span class=\"why\">%s", why);
            err |= esc(out, jstr(it, "reason"));
            err |= vg_buf_appends(out, "</span>");
        }
        err |= vg_buf_appends(out, "</li>");
    }
    char more_key[32];
    snprintf(more_key, sizeof(more_key), "%s_more", key);
    size_t more = jsize(c, more_key);
    if (!err && more)
        err = vg_buf_printf(out, "<li class=\"m\">and %zu more %s</li>", more, what);
    return err;
}

static enum vg_err controls_table(struct vg_buf *out, const struct vg_json *fw)
{
    const struct vg_json *controls = vg_json_get(fw, "controls");
    size_t n = vg_json_len(controls);
    enum vg_err err = vg_buf_printf(out, "<h3>Covered controls<span class=\"count\">%zu</span>"
                                         "</h3>\n", n);
    if (!n)
        return err | vg_buf_appends(out, "<p class=\"hint\">No finding maps to a control of "
                                         "this framework.</p>\n");
    err |= vg_buf_appends(out, "<table class=\"controls\"><thead><tr><th>Control</th>"
                               "<th>Title</th><th class=\"n\">Pass</th><th class=\"n\">Fail</th>"
                               "<th class=\"n\">Unknown</th><th class=\"n\">Muted</th>"
                               "<th>Status</th></tr></thead><tbody>\n");
    static const char *const cols[] = { "passed", "failed", "unknown", "muted" };
    for (size_t i = 0; !err && i < n; i++) {
        const struct vg_json *c = vg_json_at(controls, i);
        const char *st = jstr(c, "status");
        err |= vg_buf_printf(out, "<tr class=\"c-%s\"><td class=\"id\">", status_class(st));
        err |= esc(out, jstr(c, "id"));
        err |= vg_buf_appends(out, "</td><td>");
        err |= esc(out, jstr(c, "title"));
        err |= vg_buf_appends(out, "</td>");
        for (size_t k = 0; k < 4; k++) {
            size_t v = jsize(c, cols[k]);
            err |= vg_buf_printf(out, "<td class=\"n%s\">%zu</td>", v ? "" : " z", v);
        }
        err |= vg_buf_printf(out, "<td><span class=\"badge b-%s\">%s</span></td></tr>\n",
                             status_class(st), status_word(st));
        if (vg_json_len(vg_json_get(c, "failing")) || vg_json_len(vg_json_get(c, "unknowns")) ||
            vg_json_len(vg_json_get(c, "mutes"))) {
            err |= vg_buf_appends(out, "<tr class=\"more\"><td></td><td colspan=\"6\">"
                                       "<ul class=\"res\">");
            err |= items(out, c, "failing", "f", "failing", "");
            err |= items(out, c, "unknowns", "u", "unknown", "");
            err |= items(out, c, "mutes", "x", "muted", "Exception: ");
            err |= vg_buf_appends(out, "</ul></td></tr>\n");
        }
    }
    return err | vg_buf_appends(out, "</tbody></table>\n");
}

/* The controls no finding touches, grouped by top-level group. */
static enum vg_err uncovered(struct vg_buf *out, const struct vg_json *fw)
{
    const struct vg_json *unc = vg_json_get(fw, "uncovered");
    size_t n = vg_json_len(unc);
    enum vg_err err = vg_buf_printf(out, "<h3>No automated coverage<span class=\"count\">%zu "
                                         "control%s need%s manual evidence</span></h3>\n",
                                    n, n == 1 ? "" : "s", n == 1 ? "s" : "");
    if (!n)
        return err | vg_buf_appends(out, "<p class=\"hint\">Every control is covered by at "
                                         "least one rule.</p>\n");
    err |= vg_buf_appends(out, "<p class=\"hint\">No rule maps to these controls: collect "
                               "evidence for them by other means.</p>\n");
    const char *cur = NULL;
    size_t curlen = 0;
    for (size_t i = 0; !err && i < n; i++) {
        const struct vg_json *u = vg_json_at(unc, i);
        const char *g = jstr(u, "group");
        const char *cut = strstr(g, " / ");
        size_t glen = cut ? (size_t)(cut - g) : strlen(g);
        if (!cur || glen != curlen || memcmp(g, cur, glen) != 0) {
            if (cur)
                err |= vg_buf_appends(out, "</ul></div>\n");
            size_t count = 0;
            for (size_t j = i; j < n; j++) {
                const char *gj = jstr(vg_json_at(unc, j), "group");
                if (strncmp(gj, g, glen) != 0 || (gj[glen] && strncmp(gj + glen, " / ", 3)))
                    break;
                count++;
            }
            char name[512];
            snprintf(name, sizeof(name), "%.*s", (int)(glen < 500 ? glen : 500), g);
            err |= vg_buf_appends(out, "<div class=\"ucg\"><h4>");
            err |= esc(out, glen ? name : "Other");
            err |= vg_buf_printf(out, " <span>(%zu)</span></h4><ul class=\"ids\">", count);
            cur = g;
            curlen = glen;
        }
        err |= vg_buf_appends(out, "<li title=\"");
        err |= esc(out, jstr(u, "title"));
        err |= vg_buf_appends(out, "\"><code>");
        err |= esc(out, jstr(u, "id"));
        err |= vg_buf_appends(out, "</code><span>");
        err |= esc(out, jstr(u, "title"));
        err |= vg_buf_appends(out, "</span></li>");
    }
    return err | vg_buf_appends(out, "</ul></div>\n");
}

static enum vg_err kpi(struct vg_buf *out, const char *cls, size_t v, const char *label)
{
    return vg_buf_printf(out, "<div class=\"kpi %s\"><b>%zu</b><span>%s</span></div>", cls, v,
                         label);
}

static enum vg_err framework(struct vg_buf *out, const struct vg_json *fw)
{
    enum vg_err err = VG_OK;
    const struct vg_json *counts = vg_json_get(fw, "counts");
    const struct vg_json *cov = vg_json_get(fw, "coverage");
    err |= vg_buf_appends(out, "<section class=\"fw\" id=\"fw-");
    err |= esc(out, jstr(fw, "id"));
    err |= vg_buf_appends(out, "\"><div class=\"fwhead\"><div><h2>");
    err |= esc(out, jstr(fw, "name"));
    err |= vg_buf_appends(out, "</h2><div class=\"sub\"><code>");
    err |= esc(out, jstr(fw, "id"));
    err |= vg_buf_appends(out, "</code> &middot; version ");
    err |= esc(out, jstr(fw, "version"));
    err |= vg_buf_printf(out, " &middot; %zu of %zu controls covered by automated checks</div>"
                              "</div><div class=\"score %s\"><div class=\"v\">",
                         jsize(cov, "covered"), jsize(cov, "controls"), score_class(fw));
    err |= score_html(out, fw);
    err |= vg_buf_appends(out, "</div><div class=\"l\">posture score</div></div></div>\n"
                               "<div class=\"kpis\">");
    err |= kpi(out, "pass", jsize(counts, "passed"), "passed findings");
    err |= kpi(out, "fail", jsize(counts, "failed"), "failed findings");
    err |= kpi(out, "unk", jsize(counts, "unknown"), "unknown findings");
    err |= kpi(out, "", jsize(counts, "muted"), "muted findings");
    err |= kpi(out, "cov", jsize(cov, "failing"), "controls failing");
    err |= kpi(out, "cov", jsize(cov, "uncovered"), "need manual evidence");
    err |= vg_buf_appends(out, "</div>\n<p class=\"hint\">Score: passed / (passed + failed) "
                               "findings. Muted findings count as muted, not failed; unknown "
                               "ones are not scored.</p>\n");
    err |= vg_buf_appends(out, "<h3>Controls by group</h3>\n");
    err |= chart(out, fw);
    err |= controls_table(out, fw);
    err |= uncovered(out, fw);
    return err | vg_buf_appends(out, "</section>\n");
}

static enum vg_err overview(struct vg_buf *out, const struct vg_json *doc)
{
    enum vg_err err = VG_OK;
    const struct vg_json *fws = vg_json_get(doc, "frameworks");
    err |= vg_buf_appends(out, "<section class=\"overview\"><h3>Frameworks</h3>"
                               "<table><thead><tr><th>Framework</th><th class=\"n\">Score</th>"
                               "<th class=\"n\">Passed</th><th class=\"n\">Failed</th>"
                               "<th class=\"n\">Unknown</th><th class=\"n\">Muted</th>"
                               "<th class=\"n\">Controls covered</th></tr></thead><tbody>\n");
    for (size_t i = 0; !err && i < vg_json_len(fws); i++) {
        const struct vg_json *fw = vg_json_at(fws, i);
        const struct vg_json *c = vg_json_get(fw, "counts");
        const struct vg_json *cov = vg_json_get(fw, "coverage");
        err |= vg_buf_appends(out, "<tr><td>");
        err |= esc(out, jstr(fw, "name"));
        err |= vg_buf_appends(out, "</td><td class=\"n\"><b>");
        err |= score_html(out, fw);
        err |= vg_buf_printf(out, "</b></td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
                                  "<td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
                                  "<td class=\"n\">%zu / %zu</td></tr>\n",
                             jsize(c, "passed"), jsize(c, "failed"), jsize(c, "unknown"),
                             jsize(c, "muted"), jsize(cov, "covered"), jsize(cov, "controls"));
    }
    if (!vg_json_len(fws))
        err |= vg_buf_appends(out, "<tr><td colspan=\"7\">No finding maps to a framework of "
                                   "the catalogue.</td></tr>\n");
    err |= vg_buf_appends(out, "</tbody></table>\n<h3>Targets</h3><table><thead><tr>"
                               "<th>Provider</th><th>Target</th><th>Scan started</th>"
                               "<th class=\"n\">Findings</th><th>Scan id</th></tr></thead>"
                               "<tbody>\n");
    const struct vg_json *targets = vg_json_get(doc, "targets");
    for (size_t i = 0; !err && i < vg_json_len(targets); i++) {
        const struct vg_json *t = vg_json_at(targets, i);
        err |= vg_buf_appends(out, "<tr><td>");
        err |= esc(out, jstr(t, "provider"));
        err |= vg_buf_appends(out, "</td><td><b>");
        err |= esc(out, jstr(t, "name"));
        err |= vg_buf_appends(out, "</b></td><td class=\"nw\">");
        err |= esc(out, jstr(t, "started"));
        err |= vg_buf_printf(out, "</td><td class=\"n\">%zu</td><td><code>",
                             jsize(t, "findings"));
        err |= esc(out, jstr(t, "scan_id"));
        err |= vg_buf_appends(out, "</code></td></tr>\n");
    }
    return err | vg_buf_appends(out, "</tbody></table></section>\n");
}

enum vg_err vg_report_render_html(const struct vg_json *doc, struct vg_buf *out)
{
    enum vg_err err = VG_OK;
    const struct vg_json *fws = vg_json_get(doc, "frameworks");
    size_t nt = vg_json_len(vg_json_get(doc, "targets"));
    err |= vg_buf_appends(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                               "<meta name=\"viewport\" content=\"width=device-width, "
                               "initial-scale=1\"><title>Compliance report");
    if (vg_json_len(fws) == 1) {
        err |= vg_buf_appends(out, ": ");
        err |= esc(out, jstr(vg_json_at(fws, 0), "name"));
    }
    err |= vg_buf_appends(out, "</title>\n<style>\n");
    err |= vg_buf_appends(out, css);
    err |= vg_buf_appends(out, "</style></head><body>\n<header class=\"top\"><div class=\"in\">"
                               "<div class=\"brand\">Vigil</div><h1>Compliance posture report"
                               "</h1><p>Generated ");
    err |= esc(out, jstr(doc, "generated"));
    err |= vg_buf_printf(out, " from the last scan of %zu target%s", nt, nt == 1 ? "" : "s");
    err |= vg_buf_appends(out, "</p></div></header>\n<main>\n");
    err |= overview(out, doc);
    for (size_t i = 0; !err && i < vg_json_len(fws); i++)
        err |= framework(out, vg_json_at(fws, i));
    const struct vg_json *notes = vg_json_get(doc, "notes");
    if (vg_json_len(notes)) {
        err |= vg_buf_appends(out, "<section class=\"notes\"><h3>Notes</h3><ul>");
        for (size_t i = 0; !err && i < vg_json_len(notes); i++) {
            err |= vg_buf_appends(out, "<li>");
            err |= esc(out, vg_json_get_str(vg_json_at(notes, i)));
            err |= vg_buf_appends(out, "</li>");
        }
        err |= vg_buf_appends(out, "</ul></section>\n");
    }
    err |= vg_buf_appends(out, "<footer>Vigil " VG_VERSION " &middot; results from <code>");
    err |= esc(out, jstr(doc, "results_dir"));
    err |= vg_buf_appends(out, "</code></footer>\n</main></body></html>\n");
    return err ? (err == VG_ERR_LIMIT ? VG_ERR_LIMIT : VG_ERR_NOMEM) : VG_OK;
}
