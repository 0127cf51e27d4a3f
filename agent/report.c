#include "report.h"
#include "limits.h"
#include "results.h"
#include "timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { E_PASSED, E_FAILED, E_UNKNOWN, E_MUTED, E_COUNT };

static const char *const eval_words[E_COUNT] = { "passed", "failed", "unknown", "muted" };

int vg_report_format_parse(const char *s)
{
    static const char *const names[] = { "table", "json", "html" };
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* ==== aggregation ========================================================= */

struct item {
    char *resource, *rule, *reason;
};

/* A bounded list of resources, with the count of those not kept. */
struct list {
    struct item items[VG_REPORT_MAX_LISTED];
    size_t n, more;
};

struct ctl {
    size_t c[E_COUNT];
    struct list failing, unknowns, mutes;
};

struct extra {
    char *id;
    struct ctl ctl;
};

struct fwagg {
    const struct vg_framework *fw;
    struct ctl *ctl;          /* fw->n, parallel to fw->controls */
    struct extra *extra;      /* control ids the catalogue lacks */
    size_t nextra, extra_dropped;
    size_t c[E_COUNT];
    size_t findings;
};

struct target {
    char *provider, *name, *scan_id, *started, *file;
    size_t findings;
};

struct unknown_fw {
    char *id;
    size_t findings;
};

struct agg {
    const struct vg_report_opts *o;
    struct fwagg *fws;
    size_t nfws;
    struct target *targets;
    size_t ntargets, targets_dropped, last_target;
    struct unknown_fw unknown_fws[16];
    size_t nunknown_fws;
    size_t findings, skipped, files;
    struct vg_json *notes;   /* array of strings */
    char first_skip[512];    /* where the first skipped line was, and why */
};

/* A copy of at most VG_REPORT_MAX_FIELD bytes of s, cut at a character
 * boundary. NULL only when out of memory. */
static char *dup_field(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    if (n > VG_REPORT_MAX_FIELD) {
        n = VG_REPORT_MAX_FIELD;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void item_clear(struct item *it)
{
    free(it->resource);
    free(it->rule);
    free(it->reason);
}

static void ctl_clear(struct ctl *c)
{
    for (size_t i = 0; i < c->failing.n; i++)
        item_clear(&c->failing.items[i]);
    for (size_t i = 0; i < c->unknowns.n; i++)
        item_clear(&c->unknowns.items[i]);
    for (size_t i = 0; i < c->mutes.n; i++)
        item_clear(&c->mutes.items[i]);
}

static void agg_free(struct agg *a)
{
    for (size_t i = 0; i < a->nfws; i++) {
        struct fwagg *f = &a->fws[i];
        for (size_t j = 0; f->ctl && j < f->fw->n; j++)
            ctl_clear(&f->ctl[j]);
        for (size_t j = 0; j < f->nextra; j++) {
            free(f->extra[j].id);
            ctl_clear(&f->extra[j].ctl);
        }
        free(f->ctl);
        free(f->extra);
    }
    free(a->fws);
    for (size_t i = 0; i < a->ntargets; i++) {
        struct target *t = &a->targets[i];
        free(t->provider);
        free(t->name);
        free(t->scan_id);
        free(t->started);
        free(t->file);
    }
    free(a->targets);
    for (size_t i = 0; i < a->nunknown_fws; i++)
        free(a->unknown_fws[i].id);
    vg_json_free(a->notes);
}

static enum vg_err note(struct agg *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum vg_err note(struct agg *a, const char *fmt, ...)
{
    if (vg_json_len(a->notes) >= VG_REPORT_MAX_NOTES)
        return VG_OK;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return vg_json_push(a->notes, vg_json_str(text));
}

static const char *str_at(const struct vg_json *obj, const char *k1, const char *k2)
{
    const struct vg_json *v = vg_json_get(obj, k1);
    if (k2)
        v = vg_json_get(v, k2);
    return vg_json_get_str(v);
}

static enum vg_err list_add(struct list *l, const char *resource, const char *rule,
                            const char *reason)
{
    if (l->n == VG_REPORT_MAX_LISTED) {
        l->more++;
        return VG_OK;
    }
    struct item *it = &l->items[l->n];
    it->resource = dup_field(resource ? resource : "?");
    it->rule = dup_field(rule ? rule : "?");
    it->reason = dup_field(reason);
    if (!it->resource || !it->rule || !it->reason) {
        item_clear(it);
        memset(it, 0, sizeof(*it));
        return VG_ERR_NOMEM;
    }
    l->n++;
    return VG_OK;
}

/* The aggregate of control id in f: the catalogue's, or an extra one
 * (created on first use). NULL when the extras are full or out of memory
 * (*err says which). */
static struct ctl *control_of(struct fwagg *f, const char *id, enum vg_err *err)
{
    const struct vg_control *c = vg_framework_control(f->fw, id);
    if (c)
        return &f->ctl[c - f->fw->controls];
    for (size_t i = 0; i < f->nextra; i++)
        if (strcmp(f->extra[i].id, id) == 0)
            return &f->extra[i].ctl;
    if (f->nextra == VG_REPORT_MAX_EXTRA) {
        f->extra_dropped++;
        return NULL;
    }
    if (!f->extra) {
        f->extra = calloc(VG_REPORT_MAX_EXTRA, sizeof(*f->extra));
        if (!f->extra) {
            *err = VG_ERR_NOMEM;
            return NULL;
        }
    }
    struct extra *e = &f->extra[f->nextra];
    e->id = dup_field(id);
    if (!e->id) {
        *err = VG_ERR_NOMEM;
        return NULL;
    }
    f->nextra++;
    return &e->ctl;
}

static struct fwagg *fwagg_of(struct agg *a, const char *id)
{
    for (size_t i = 0; i < a->nfws; i++)
        if (strcmp(a->fws[i].fw->id, id) == 0)
            return &a->fws[i];
    return NULL;
}

static void count_unknown_fw(struct agg *a, const char *id)
{
    if (a->o->framework)
        return;   /* a filtered report ignores other frameworks */
    for (size_t i = 0; i < a->nunknown_fws; i++)
        if (strcmp(a->unknown_fws[i].id, id) == 0) {
            a->unknown_fws[i].findings++;
            return;
        }
    if (a->nunknown_fws == sizeof(a->unknown_fws) / sizeof(a->unknown_fws[0]))
        return;
    char *d = dup_field(id);
    if (d) {
        a->unknown_fws[a->nunknown_fws].id = d;
        a->unknown_fws[a->nunknown_fws++].findings = 1;
    }
}

/* Records the finding's target (provider, name, scan) and counts it. */
static enum vg_err count_target(struct agg *a, const struct vg_json *doc, const char *file)
{
    const char *provider = "host", *name = str_at(doc, "host", "name");
    const struct vg_json *cloud = vg_json_get(doc, "cloud");
    char prefix[64];
    if (cloud) {
        provider = str_at(cloud, "provider", NULL);
        provider = provider ? provider : "cloud";
        const struct vg_json *acct = vg_json_get(cloud, "account");
        name = str_at(acct, "id", NULL) ? str_at(acct, "id", NULL) : str_at(acct, "name", NULL);
    } else if (!vg_json_get(doc, "host")) {
        /* neither host.* nor cloud.* (the demo provider): the provider the
         * store named the file after, and the agent's name */
        size_t n = strcspn(file, "-");
        snprintf(prefix, sizeof(prefix), "%.*s", (int)(n < sizeof(prefix) ? n : 0), file);
        provider = file[n] == '-' && n && n < sizeof(prefix) ? prefix : "?";
        name = str_at(doc, "agent", "name");
    }
    name = name ? name : "?";
    const struct vg_json *vscan = vg_json_get(vg_json_get(doc, "vigil"), "scan");
    const char *scan = str_at(vscan, "id", NULL);
    scan = scan ? scan : "";
    const char *started = str_at(vscan, "started", NULL);

    /* consecutive findings mostly share a target: look at the last first */
    size_t idx = a->ntargets;
    if (a->last_target < a->ntargets) {
        const struct target *t = &a->targets[a->last_target];
        if (!strcmp(t->provider, provider) && !strcmp(t->name, name) && !strcmp(t->scan_id, scan))
            idx = a->last_target;
    }
    for (size_t i = 0; idx == a->ntargets && i < a->ntargets; i++) {
        const struct target *t = &a->targets[i];
        if (!strcmp(t->provider, provider) && !strcmp(t->name, name) && !strcmp(t->scan_id, scan))
            idx = i;
    }
    if (idx < a->ntargets) {
        a->targets[idx].findings++;
        a->last_target = idx;
        return VG_OK;
    }
    if (a->ntargets == VG_REPORT_MAX_TARGETS) {
        a->targets_dropped++;
        return VG_OK;
    }
    if (!a->targets) {
        a->targets = calloc(VG_REPORT_MAX_TARGETS, sizeof(*a->targets));
        if (!a->targets)
            return VG_ERR_NOMEM;
    }
    struct target *t = &a->targets[a->ntargets];
    t->provider = dup_field(provider);
    t->name = dup_field(name);
    t->scan_id = dup_field(scan);
    t->started = dup_field(started ? started : "");
    t->file = dup_field(file);
    t->findings = 1;
    a->last_target = a->ntargets++;
    if (!t->provider || !t->name || !t->scan_id || !t->started || !t->file)
        return VG_ERR_NOMEM;
    return VG_OK;
}

static void skip_line(struct agg *a, const char *file, size_t lineno, const char *why)
{
    if (!a->skipped++)
        snprintf(a->first_skip, sizeof(a->first_skip), "%s:%zu: %s", file, lineno, why);
}

/* Controls named per framework per finding beyond this are not looked at
 * (a rule maps to a handful). */
#define MAX_IDS_PER_FINDING 256

static enum vg_err add_line(struct agg *a, const char *text, size_t len, const char *file,
                            size_t lineno)
{
    char perr[256];
    struct vg_json *doc = vg_json_parse(text, len, perr, sizeof(perr));
    if (!doc) {
        skip_line(a, file, lineno, perr);
        return VG_OK;
    }
    enum vg_err err = VG_OK;
    const char *dataset = str_at(doc, "event", "dataset");
    const char *ev = str_at(doc, "result", "evaluation");
    int e = -1;
    for (int i = E_PASSED; ev && i <= E_UNKNOWN; i++)
        if (strcmp(ev, eval_words[i]) == 0)
            e = i;
    if (vg_json_type(doc) != VG_JSON_OBJECT) {
        skip_line(a, file, lineno, "not a JSON object");
        goto out;
    }
    if (dataset && strcmp(dataset, "vigil.findings") != 0)
        goto out;   /* the scan summary, or another event: not a finding */
    if (e < 0) {
        skip_line(a, file, lineno, "no result.evaluation of passed, failed or unknown");
        goto out;
    }
    const struct vg_json *vigil = vg_json_get(doc, "vigil");
    if (vg_json_get_bool(vg_json_get(vigil, "muted")))
        e = E_MUTED;
    a->findings++;
    err = count_target(a, doc, file);

    const char *resource = str_at(doc, "resource", "id");
    const char *rule = str_at(doc, "rule", "id");
    const char *reason = str_at(doc, "result", "reason");
    const char *mute_reason = str_at(vigil, "mute_reason", NULL);
    const struct vg_json *comp = vg_json_get(vigil, "compliance");
    for (size_t i = 0; !err && i < vg_json_len(comp); i++) {
        const char *fwid = vg_json_key_at(comp, i);
        const struct vg_json *ids = vg_json_at(comp, i);
        if (!fwid || vg_json_type(ids) != VG_JSON_ARRAY)
            continue;
        struct fwagg *f = fwagg_of(a, fwid);
        if (!f) {
            if (vg_json_len(ids))
                count_unknown_fw(a, fwid);
            continue;
        }
        bool counted = false;
        size_t n = vg_json_len(ids) < MAX_IDS_PER_FINDING ? vg_json_len(ids) : MAX_IDS_PER_FINDING;
        for (size_t j = 0; !err && j < n; j++) {
            const char *cid = vg_json_get_str(vg_json_at(ids, j));
            if (!cid || !*cid)
                continue;
            bool dup = false;
            for (size_t k = 0; k < j && !dup; k++) {
                const char *prev = vg_json_get_str(vg_json_at(ids, k));
                dup = prev && strcmp(prev, cid) == 0;
            }
            if (dup)
                continue;
            struct ctl *c = control_of(f, cid, &err);
            if (!c)
                continue;
            c->c[e]++;
            counted = true;
            if (e == E_FAILED)
                err = list_add(&c->failing, resource, rule, reason);
            else if (e == E_UNKNOWN)
                err = list_add(&c->unknowns, resource, rule, reason);
            else if (e == E_MUTED)
                err = list_add(&c->mutes, resource, rule, mute_reason ? mute_reason : "");
        }
        if (counted) {
            f->c[e]++;
            f->findings++;
        }
    }
out:
    vg_json_free(doc);
    return err;
}

/* Feeds each line of one file to add_line(), reading at most
 * VG_RESULTS_MAX_FILE bytes; a line longer than VG_MAX_EVENT is skipped. */
static enum vg_err read_file(struct agg *a, const char *dir, const char *name)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return note(a, "%s: path too long, not read", name);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        enum vg_err err = note(a, "%s: %s, not read", name,
                               fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return err;
    }
    a->files++;
    struct vg_buf line;
    vg_buf_init(&line, VG_MAX_EVENT);
    static const size_t chunk_size = 64 << 10;
    char *chunk = malloc(chunk_size);
    enum vg_err err = chunk ? VG_OK : VG_ERR_NOMEM;
    size_t total = 0, lineno = 1;
    bool overlong = false, cut = false;
    while (!err) {
        ssize_t got = read(fd, chunk, chunk_size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            err = note(a, "%s: read error after %zu bytes: %s", name, total, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        if (total + (size_t)got > VG_RESULTS_MAX_FILE) {
            got = (ssize_t)(VG_RESULTS_MAX_FILE - total);
            cut = true;
        }
        total += (size_t)got;
        const char *p = chunk, *end = chunk + got;
        while (!err && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = (size_t)((nl ? nl : end) - p);
            if (!overlong && vg_buf_append(&line, p, n) != VG_OK)
                overlong = true;
            p += n;
            if (!nl)
                break;
            p++;
            if (overlong)
                skip_line(a, name, lineno, "line longer than the limit on one event");
            else if (strspn(vg_buf_str(&line), " \t\r") != line.len)
                err = add_line(a, line.data, line.len, name, lineno);
            vg_buf_reset(&line);
            overlong = false;
            lineno++;
        }
        if (cut)
            break;
    }
    /* a last line without its newline */
    if (!err && (line.len || overlong)) {
        if (overlong)
            skip_line(a, name, lineno, "line longer than the limit on one event");
        else if (strspn(vg_buf_str(&line), " \t\r") != line.len)
            err = add_line(a, line.data, line.len, name, lineno);
    }
    if (!err && cut)
        err = note(a, "%s: only the first %u MiB were read", name, VG_RESULTS_MAX_FILE >> 20);
    free(chunk);
    vg_buf_free(&line);
    close(fd);
    return err;
}

static int cmp_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static bool is_results_name(const char *n)
{
    size_t len = strlen(n), ext = strlen(".ndjson");
    return n[0] != '.' && len > ext && strcmp(n + len - ext, ".ndjson") == 0;
}

/* Reads every results file of dir, in name order. */
static enum vg_err read_results(struct agg *a, const char *dir, char *errbuf, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) {
            snprintf(errbuf, errlen, "no scan results in %s: run vigil scan first", dir);
            return VG_ERR_NOENT;
        }
        snprintf(errbuf, errlen, "cannot read %s: %s", dir, strerror(errno));
        return errno == EACCES ? VG_ERR_PERM : VG_ERR_IO;
    }
    char **names = NULL;
    size_t n = 0, dropped = 0;
    enum vg_err err = VG_OK;
    struct dirent *e;
    while (!err && (e = readdir(d))) {
        if (!is_results_name(e->d_name))
            continue;
        if (n == VG_REPORT_MAX_FILES) {
            dropped++;
            continue;
        }
        if (!names && !(names = calloc(VG_REPORT_MAX_FILES, sizeof(*names))))
            err = VG_ERR_NOMEM;
        else if (!(names[n++] = strdup(e->d_name)))
            err = VG_ERR_NOMEM;
    }
    closedir(d);
    if (!err && n)
        qsort(names, n, sizeof(*names), cmp_name);
    for (size_t i = 0; !err && i < n; i++)
        err = read_file(a, dir, names[i]);
    if (!err && dropped)
        err = note(a, "%zu results files beyond the first %d were not read", dropped,
                   VG_REPORT_MAX_FILES);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (err) {
        snprintf(errbuf, errlen, "out of memory reading the results in %s", dir);
        return err;
    }
    if (!n) {
        snprintf(errbuf, errlen, "no scan results in %s: run vigil scan first", dir);
        return VG_ERR_NOENT;
    }
    if (!a->findings) {
        snprintf(errbuf, errlen, "no findings in the scan results in %s (%zu lines skipped): "
                 "run vigil scan first", dir, a->skipped);
        return VG_ERR_NOENT;
    }
    return VG_OK;
}

/* ==== the document ======================================================== */

static const char *status_of(const size_t c[E_COUNT])
{
    if (c[E_FAILED])
        return "failed";
    if (c[E_UNKNOWN])
        return "unknown";
    if (c[E_PASSED])
        return "passed";
    return "muted";
}

static struct vg_json *items_json(const struct list *l)
{
    struct vg_json *arr = vg_json_array();
    enum vg_err err = arr ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; !err && i < l->n; i++) {
        struct vg_json *o = vg_json_object();
        err |= vg_json_set_str(o, "resource", l->items[i].resource);
        err |= vg_json_set_str(o, "rule", l->items[i].rule);
        err |= vg_json_set_str(o, "reason", l->items[i].reason);
        err |= vg_json_push(arr, o);
    }
    if (err) {
        vg_json_free(arr);
        return NULL;
    }
    return arr;
}

static struct vg_json *control_json(const char *id, const char *title, const char *group,
                                    const struct ctl *c)
{
    struct vg_json *o = vg_json_object();
    enum vg_err err = VG_OK;
    err |= vg_json_set_str(o, "id", id);
    err |= vg_json_set_str(o, "title", title);
    err |= vg_json_set_str(o, "group", group);
    for (int i = 0; i < E_COUNT; i++)
        err |= vg_json_set_int(o, eval_words[i], (int64_t)c->c[i]);
    err |= vg_json_set_str(o, "status", status_of(c->c));
    err |= vg_json_set(o, "failing", items_json(&c->failing));
    err |= vg_json_set_int(o, "failing_more", (int64_t)c->failing.more);
    err |= vg_json_set(o, "unknowns", items_json(&c->unknowns));
    err |= vg_json_set_int(o, "unknowns_more", (int64_t)c->unknowns.more);
    err |= vg_json_set(o, "mutes", items_json(&c->mutes));
    err |= vg_json_set_int(o, "mutes_more", (int64_t)c->mutes.more);
    if (err) {
        vg_json_free(o);
        return NULL;
    }
    return o;
}

static size_t total(const size_t c[E_COUNT])
{
    return c[0] + c[1] + c[2] + c[3];
}

/* The top level of a control group: "1 Initial Setup" of
 * "1 Initial Setup / 1.1.1"; its length in bytes. */
static size_t group_top_len(const char *g)
{
    const char *s = strstr(g, " / ");
    return s ? (size_t)(s - g) : strlen(g);
}

/* Per top-level group, in the catalogue's order: controls by status, and
 * those with no finding. */
static struct vg_json *groups_json(const struct fwagg *f)
{
    const struct vg_framework *fw = f->fw;
    struct grp {
        const char *name;
        size_t len, n[E_COUNT + 1];   /* by status, then uncovered */
    } *g = calloc(fw->n ? fw->n : 1, sizeof(*g));
    struct vg_json *arr = vg_json_array();
    size_t ng = 0;
    enum vg_err err = g && arr ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; !err && i < fw->n; i++) {
        const char *name = fw->controls[i].group ? fw->controls[i].group : "";
        size_t len = group_top_len(name), k = 0;
        while (k < ng && (g[k].len != len || memcmp(g[k].name, name, len) != 0))
            k++;
        if (k == ng) {
            g[ng].name = name;
            g[ng++].len = len;
        }
        int st = E_COUNT;
        if (total(f->ctl[i].c)) {
            const char *w = status_of(f->ctl[i].c);
            for (int e = 0; e < E_COUNT; e++)
                if (strcmp(w, eval_words[e]) == 0)
                    st = e;
        }
        g[k].n[st]++;
    }
    for (size_t k = 0; !err && k < ng; k++) {
        struct vg_json *o = vg_json_object();
        size_t all = 0;
        for (int e = 0; e <= E_COUNT; e++)
            all += g[k].n[e];
        err |= vg_json_set(o, "name", g[k].len ? vg_json_strn(g[k].name, g[k].len)
                                              : vg_json_str("Other"));
        err |= vg_json_set_int(o, "controls", (int64_t)all);
        err |= vg_json_set_int(o, "passing", (int64_t)g[k].n[E_PASSED]);
        err |= vg_json_set_int(o, "failing", (int64_t)g[k].n[E_FAILED]);
        err |= vg_json_set_int(o, "unknown", (int64_t)g[k].n[E_UNKNOWN]);
        err |= vg_json_set_int(o, "muted", (int64_t)g[k].n[E_MUTED]);
        err |= vg_json_set_int(o, "uncovered", (int64_t)g[k].n[E_COUNT]);
        err |= vg_json_push(arr, o);
    }
    free(g);
    if (err) {
        vg_json_free(arr);
        return NULL;
    }
    return arr;
}

static struct vg_json *framework_json(struct agg *a, const struct fwagg *f)
{
    const struct vg_framework *fw = f->fw;
    struct vg_json *o = vg_json_object();
    enum vg_err err = VG_OK;
    err |= vg_json_set_str(o, "id", fw->id);
    err |= vg_json_set_str(o, "name", fw->name);
    err |= vg_json_set_str(o, "version", fw->version);
    size_t scored = f->c[E_PASSED] + f->c[E_FAILED];
    if (scored) {
        double pct = 100.0 * (double)f->c[E_PASSED] / (double)scored;
        err |= vg_json_set(o, "score", vg_json_double(floor(pct * 10.0 + 0.5) / 10.0));
    } else {
        err |= vg_json_set(o, "score", vg_json_null());
    }
    struct vg_json *counts = vg_json_child(o, "counts");
    for (int i = 0; i < E_COUNT; i++)
        err |= vg_json_set_int(counts, eval_words[i], (int64_t)f->c[i]);

    size_t by_status[E_COUNT] = { 0 }, covered = 0;
    struct vg_json *controls = vg_json_array(), *uncovered = vg_json_array();
    for (size_t i = 0; !err && i < fw->n; i++) {
        const struct vg_control *c = &fw->controls[i];
        if (total(f->ctl[i].c)) {
            const char *st = status_of(f->ctl[i].c);
            for (int k = 0; k < E_COUNT; k++)
                by_status[k] += strcmp(st, eval_words[k]) == 0;
            covered++;
            err |= vg_json_push(controls, control_json(c->id, c->title, c->group, &f->ctl[i]));
        } else {
            struct vg_json *u = vg_json_object();
            err |= vg_json_set_str(u, "id", c->id);
            err |= vg_json_set_str(u, "title", c->title);
            err |= vg_json_set_str(u, "group", c->group);
            err |= vg_json_push(uncovered, u);
        }
    }
    for (size_t i = 0; !err && i < f->nextra; i++)
        err |= vg_json_push(controls, control_json(f->extra[i].id, "(not in the catalogue)", "",
                                                   &f->extra[i].ctl));
    struct vg_json *cov = vg_json_child(o, "coverage");
    err |= vg_json_set_int(cov, "controls", (int64_t)fw->n);
    err |= vg_json_set_int(cov, "covered", (int64_t)covered);
    err |= vg_json_set_int(cov, "uncovered", (int64_t)(fw->n - covered));
    err |= vg_json_set_int(cov, "passing", (int64_t)by_status[E_PASSED]);
    err |= vg_json_set_int(cov, "failing", (int64_t)by_status[E_FAILED]);
    err |= vg_json_set_int(cov, "unknown", (int64_t)by_status[E_UNKNOWN]);
    err |= vg_json_set_int(cov, "muted", (int64_t)by_status[E_MUTED]);
    err |= vg_json_set(o, "controls", controls);
    err |= vg_json_set(o, "uncovered", uncovered);
    err |= vg_json_set(o, "groups", groups_json(f));
    if (!err && f->nextra) {
        struct vg_buf ids;
        vg_buf_init(&ids, 512);
        for (size_t i = 0; i < f->nextra; i++)
            if (vg_buf_printf(&ids, "%s%s", i ? ", " : "", f->extra[i].id))
                break;
        err |= note(a, "%s: findings name %zu control id%s the catalogue does not have: %s%s",
                    fw->id, f->nextra + f->extra_dropped, f->nextra + f->extra_dropped == 1 ? "" : "s",
                    vg_buf_str(&ids), f->extra_dropped ? ", ..." : "");
        vg_buf_free(&ids);
    }
    if (err) {
        vg_json_free(o);
        return NULL;
    }
    return o;
}

static struct vg_json *targets_json(const struct agg *a)
{
    struct vg_json *arr = vg_json_array();
    enum vg_err err = arr ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; !err && i < a->ntargets; i++) {
        const struct target *t = &a->targets[i];
        struct vg_json *o = vg_json_object();
        err |= vg_json_set_str(o, "provider", t->provider);
        err |= vg_json_set_str(o, "name", t->name);
        err |= vg_json_set_str(o, "scan_id", t->scan_id);
        err |= vg_json_set_str(o, "started", t->started);
        err |= vg_json_set_int(o, "findings", (int64_t)t->findings);
        err |= vg_json_set_str(o, "file", t->file);
        err |= vg_json_push(arr, o);
    }
    if (err) {
        vg_json_free(arr);
        return NULL;
    }
    return arr;
}

static enum vg_err unknown_framework(const struct vg_catalog *cat, const char *id, char *errbuf,
                                     size_t errlen)
{
    struct vg_buf b;
    vg_buf_init(&b, 4096);
    for (size_t i = 0; i < vg_catalog_count(cat); i++)
        if (vg_buf_printf(&b, "%s%s", i ? ", " : "", vg_catalog_at(cat, i)->id))
            break;
    snprintf(errbuf, errlen, "--framework %s: no such framework; known: %s", id,
             b.len ? vg_buf_str(&b) : "(none loaded)");
    vg_buf_free(&b);
    return VG_ERR_INVALID;
}

enum vg_err vg_report_build(const struct vg_report_opts *o, struct vg_json **doc, char *errbuf,
                            size_t errlen)
{
    *doc = NULL;
    if (!o || !o->catalog || !o->state_dir) {
        snprintf(errbuf, errlen, "report: no catalogue or state directory");
        return VG_ERR_INVALID;
    }
    if (o->framework && !vg_catalog_find(o->catalog, o->framework))
        return unknown_framework(o->catalog, o->framework, errbuf, errlen);

    struct agg a;
    memset(&a, 0, sizeof(a));
    a.o = o;
    a.notes = vg_json_array();
    size_t ncat = vg_catalog_count(o->catalog);
    a.fws = calloc(ncat ? ncat : 1, sizeof(*a.fws));
    enum vg_err err = a.notes && a.fws ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; !err && i < ncat; i++) {
        const struct vg_framework *fw = vg_catalog_at(o->catalog, i);
        if (o->framework && strcmp(o->framework, fw->id) != 0)
            continue;
        struct fwagg *f = &a.fws[a.nfws++];
        f->fw = fw;
        f->ctl = calloc(fw->n ? fw->n : 1, sizeof(*f->ctl));
        if (!f->ctl)
            err = VG_ERR_NOMEM;
    }
    if (err) {
        snprintf(errbuf, errlen, "out of memory");
        agg_free(&a);
        return err;
    }

    char dir[4096];
    if ((size_t)snprintf(dir, sizeof(dir), "%s/results", o->state_dir) >= sizeof(dir)) {
        snprintf(errbuf, errlen, "the state directory path is too long");
        agg_free(&a);
        return VG_ERR_INVALID;
    }
    err = read_results(&a, dir, errbuf, errlen);
    if (err) {
        agg_free(&a);
        return err;
    }

    if (a.skipped)
        err |= note(&a, "%zu line%s skipped that %s not a readable finding (first: %s)",
                    a.skipped, a.skipped == 1 ? "" : "s", a.skipped == 1 ? "is" : "are",
                    a.first_skip);
    if (a.targets_dropped)
        err |= note(&a, "%zu more targets are counted but not listed", a.targets_dropped);
    for (size_t i = 0; i < a.nunknown_fws; i++)
        err |= note(&a, "%zu finding%s map%s to framework '%s', which has no catalogue",
                    a.unknown_fws[i].findings, a.unknown_fws[i].findings == 1 ? "" : "s",
                    a.unknown_fws[i].findings == 1 ? "s" : "", a.unknown_fws[i].id);

    char now[VG_TIME_RFC3339_LEN];
    vg_time_rfc3339(o->now_ms ? o->now_ms : vg_time_now_ms(), now);
    struct vg_json *d = vg_json_object();
    err |= vg_json_set_str(d, "generated", now);
    err |= vg_json_set_str(d, "results_dir", dir);
    err |= vg_json_set(d, "targets", targets_json(&a));
    struct vg_json *fws = vg_json_array();
    for (size_t i = 0; !err && i < a.nfws; i++) {
        if (!o->framework && !a.fws[i].findings)
            continue;
        err |= vg_json_push(fws, framework_json(&a, &a.fws[i]));
    }
    err |= vg_json_set(d, "frameworks", fws);
    if (!err && !o->framework && vg_json_len(fws) == 0)
        err |= note(&a, "no finding maps to a framework of the catalogue");
    err |= vg_json_set_int(d, "skipped_lines", (int64_t)a.skipped);
    err |= vg_json_set(d, "notes", a.notes);
    a.notes = NULL;
    agg_free(&a);
    if (err || !d) {
        vg_json_free(d);
        snprintf(errbuf, errlen, "out of memory building the report");
        return VG_ERR_NOMEM;
    }
    *doc = d;
    return VG_OK;
}

/* ==== text ================================================================ */

/* Decodes one UTF-8 character at s (n bytes left); returns its length and
 * sets *cp, or returns 0 for a bad sequence. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t min, c;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2, min = 0x80, c = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, min = 0x800, c = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, c = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* Characters that must not reach a terminal or a page as they are: C0, DEL,
 * C1, and the bidirectional overrides that reorder what is shown. */
static bool unsafe_cp(uint32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069);
}

enum vg_err vg_report_put_text(struct vg_buf *out, const char *s, size_t max_cols,
                               size_t pad_cols, size_t *cols)
{
    static const char repl[] = "\xEF\xBF\xBD", ellipsis[] = "\xE2\x80\xA6";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), col = 0;
    enum vg_err err = VG_OK;
    while (!err && n) {
        uint32_t cp = 0;
        size_t len = utf8_decode(p, n, &cp);
        if (col + 1 == max_cols && (len ? len : 1) < n) {
            /* the last column, and more to come: cut here */
            err = vg_buf_appends(out, ellipsis);
            col++;
            break;
        }
        if (col == max_cols)
            break;
        if (!len || unsafe_cp(cp))
            err = vg_buf_appends(out, repl);
        else
            err = vg_buf_append(out, p, len);
        col++;
        p += len ? len : 1;
        n -= len ? len : 1;
    }
    while (!err && col < pad_cols) {
        err = vg_buf_appendc(out, ' ');
        col++;
    }
    if (cols)
        *cols = col;
    return err;
}

/* ==== the table =========================================================== */

/* One line of at most VG_REPORT_WIDTH columns (cut with "…"). */
static enum vg_err line(struct vg_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum vg_err line(struct vg_buf *out, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    enum vg_err err = vg_report_put_text(out, text, VG_REPORT_WIDTH, 0, NULL);
    return err ? err : vg_buf_appendc(out, '\n');
}

static size_t jsize(const struct vg_json *o, const char *k)
{
    return (size_t)vg_json_get_int(vg_json_get(o, k));
}

static const char *jstr(const struct vg_json *o, const char *k)
{
    const char *s = vg_json_get_str(vg_json_get(o, k));
    return s ? s : "";
}

static const char *status_word(const char *status)
{
    if (strcmp(status, "failed") == 0)
        return "FAIL";
    if (strcmp(status, "unknown") == 0)
        return "UNKNOWN";
    if (strcmp(status, "passed") == 0)
        return "PASS";
    return "MUTED";
}

/* "33.3%" or "n/a" */
static void score_text(const struct vg_json *fw, char out[16])
{
    const struct vg_json *s = vg_json_get(fw, "score");
    if (vg_json_is_number(s))
        snprintf(out, 16, "%.1f%%", vg_json_get_num(s));
    else
        snprintf(out, 16, "n/a");
}

#define COL_ID 10
#define COL_TITLE 59
#define INDENT "           "   /* COL_ID + 1 */
#define REASON_LINES 3

/* Appends text as lines of indent + at most width columns, broken at
 * spaces where it can, at most max_lines of them (the last cut with "…"). */
static enum vg_err wrapped(struct vg_buf *out, const char *indent, const char *text, size_t width,
                           size_t max_lines)
{
    struct vg_buf clean;
    vg_buf_init(&clean, 2 * VG_REPORT_MAX_FIELD * 3 + 64);
    enum vg_err err = vg_report_put_text(&clean, text, SIZE_MAX, 0, NULL);
    const char *p = vg_buf_str(&clean);
    for (size_t n = 0; !err && *p && n < max_lines; n++) {
        /* the byte offsets of up to width code points, and the last space */
        size_t cols = 0, end = 0, space = 0;
        while (p[end] && cols < width) {
            end++;
            while (((unsigned char)p[end] & 0xC0) == 0x80)
                end++;
            cols++;
            if (p[end] == ' ')
                space = end;
        }
        bool last = n + 1 == max_lines;
        if (!p[end] || last) {
            err = vg_buf_appends(out, indent);
            if (!err)
                err = vg_report_put_text(out, p, width, 0, NULL);
            if (!err)
                err = vg_buf_appendc(out, '\n');
            break;
        }
        size_t cut = space ? space : end;
        err = vg_buf_printf(out, "%s%.*s\n", indent, (int)cut, p);
        p += cut;
        while (*p == ' ')
            p++;
    }
    vg_buf_free(&clean);
    return err;
}

static enum vg_err table_items(struct vg_buf *out, const struct vg_json *c, const char *key,
                               const char *mark, const char *what, const char *why)
{
    enum vg_err err = VG_OK;
    const struct vg_json *items = vg_json_get(c, key);
    for (size_t i = 0; !err && i < vg_json_len(items); i++) {
        const struct vg_json *it = vg_json_at(items, i);
        err = line(out, INDENT "%s %s (%s)", mark, jstr(it, "resource"), jstr(it, "rule"));
        if (!err && *jstr(it, "reason")) {
            char text[VG_REPORT_MAX_FIELD + 32];
            snprintf(text, sizeof(text), "%s%s", why, jstr(it, "reason"));
            err = wrapped(out, INDENT "  ", text, VG_REPORT_WIDTH - sizeof(INDENT) - 1,
                          REASON_LINES);
        }
    }
    char more_key[32];
    snprintf(more_key, sizeof(more_key), "%s_more", key);
    size_t more = jsize(c, more_key);
    if (!err && more)
        err = line(out, INDENT "%s and %zu more %s", mark, more, what);
    return err;
}

static enum vg_err table_framework(struct vg_buf *out, const struct vg_json *fw)
{
    enum vg_err err = VG_OK;
    char score[16];
    score_text(fw, score);
    const struct vg_json *counts = vg_json_get(fw, "counts");
    const struct vg_json *cov = vg_json_get(fw, "coverage");
    char rule[VG_REPORT_WIDTH + 1];
    memset(rule, '=', VG_REPORT_WIDTH);
    rule[VG_REPORT_WIDTH] = '\0';

    err |= line(out, "%s", rule);
    err |= line(out, "%s (%s), version %s", jstr(fw, "name"), jstr(fw, "id"), jstr(fw, "version"));
    err |= line(out, "Score %s: %zu passed, %zu failed, %zu unknown, %zu muted findings", score,
                jsize(counts, "passed"), jsize(counts, "failed"), jsize(counts, "unknown"),
                jsize(counts, "muted"));
    err |= line(out, "Controls: %zu of %zu covered (%zu failing, %zu unknown, %zu passing, "
                "%zu muted), %zu not covered",
                jsize(cov, "covered"), jsize(cov, "controls"), jsize(cov, "failing"),
                jsize(cov, "unknown"), jsize(cov, "passing"), jsize(cov, "muted"),
                jsize(cov, "uncovered"));
    err |= line(out, "%s", rule);

    const struct vg_json *controls = vg_json_get(fw, "controls");
    if (vg_json_len(controls)) {
        err |= line(out, "%-*s %-*s %4s %4s %4s %5s %s", COL_ID, "CONTROL", COL_TITLE, "TITLE",
                    "PASS", "FAIL", "UNK", "MUTED", "STATUS");
        for (size_t i = 0; !err && i < vg_json_len(controls); i++) {
            const struct vg_json *c = vg_json_at(controls, i);
            err |= vg_report_put_text(out, jstr(c, "id"), COL_ID, COL_ID, NULL);
            err |= vg_buf_appendc(out, ' ');
            err |= vg_report_put_text(out, jstr(c, "title"), COL_TITLE, COL_TITLE, NULL);
            err |= vg_buf_printf(out, " %4zu %4zu %4zu %5zu %s\n", jsize(c, "passed"),
                                 jsize(c, "failed"), jsize(c, "unknown"), jsize(c, "muted"),
                                 status_word(jstr(c, "status")));
            if (!err)
                err = table_items(out, c, "failing", "-", "failing", "");
            if (!err)
                err = table_items(out, c, "unknowns", "?", "unknown", "");
            if (!err)
                err = table_items(out, c, "mutes", "~", "muted", "exception: ");
        }
    } else {
        err |= line(out, "No finding maps to a control of this framework.");
    }

    const struct vg_json *unc = vg_json_get(fw, "uncovered");
    size_t nunc = vg_json_len(unc);
    if (!err && nunc) {
        err |= line(out, "%s", "");
        err |= line(out, "No automated coverage: %zu control%s need%s manual evidence", nunc,
                    nunc == 1 ? "" : "s", nunc == 1 ? "s" : "");
        /* ids, wrapped to the width */
        char row[VG_REPORT_WIDTH * 4 + 64];
        size_t used = 0, cols = 0;
        for (size_t i = 0; !err && i <= nunc; i++) {
            const char *id = i < nunc ? jstr(vg_json_at(unc, i), "id") : NULL;
            size_t len = id ? strlen(id) : 0;
            if (id && len > 40)
                len = 40;   /* a hostile catalogue id: no overlong row */
            if (!id || (cols && cols + 1 + len > VG_REPORT_WIDTH)) {
                row[used] = '\0';
                err = line(out, "%s", row);
                used = cols = 0;
            }
            if (!id)
                break;
            if (!cols) {
                memcpy(row, "  ", 2);
                used = cols = 2;
            } else {
                row[used++] = ' ';
                cols++;
            }
            memcpy(row + used, id, len);
            used += len;
            cols += len;
        }
    }
    return err;
}

enum vg_err vg_report_render_table(const struct vg_json *doc, struct vg_buf *out)
{
    enum vg_err err = VG_OK;
    const struct vg_json *targets = vg_json_get(doc, "targets");
    size_t nt = vg_json_len(targets);
    err |= line(out, "Vigil compliance report, generated %s", jstr(doc, "generated"));
    err |= line(out, "Last scan of %zu target%s (%s):", nt, nt == 1 ? "" : "s",
                jstr(doc, "results_dir"));
    size_t wname = 4;
    for (size_t i = 0; i < nt; i++) {
        size_t n = strlen(jstr(vg_json_at(targets, i), "name"));
        wname = n > wname ? n : wname;
    }
    wname = wname > 36 ? 36 : wname;
    for (size_t i = 0; !err && i < nt; i++) {
        const struct vg_json *t = vg_json_at(targets, i);
        struct vg_buf row;
        vg_buf_init(&row, 4096);
        err |= vg_buf_appends(&row, "  ");
        err |= vg_report_put_text(&row, jstr(t, "provider"), 8, 6, NULL);
        err |= vg_buf_appendc(&row, ' ');
        err |= vg_report_put_text(&row, jstr(t, "name"), wname, wname, NULL);
        err |= vg_buf_printf(&row, "  scan %s  %zu finding%s", jstr(t, "started"),
                             jsize(t, "findings"), jsize(t, "findings") == 1 ? "" : "s");
        err |= line(out, "%s", vg_buf_str(&row));
        vg_buf_free(&row);
    }
    err |= line(out, "Under each control: - failing resource, ? unknown (could not be checked), "
                "~ muted (exception)");

    const struct vg_json *fws = vg_json_get(doc, "frameworks");
    for (size_t i = 0; !err && i < vg_json_len(fws); i++) {
        err |= line(out, "%s", "");
        err |= table_framework(out, vg_json_at(fws, i));
    }
    const struct vg_json *notes = vg_json_get(doc, "notes");
    if (!err && vg_json_len(notes)) {
        err |= line(out, "%s", "");
        err |= line(out, "Notes:");
        for (size_t i = 0; !err && i < vg_json_len(notes); i++)
            err |= line(out, "  * %s", vg_json_get_str(vg_json_at(notes, i)));
    }
    return err ? (err == VG_ERR_LIMIT ? VG_ERR_LIMIT : VG_ERR_NOMEM) : VG_OK;
}

/* ==== json, and running =================================================== */

enum vg_err vg_report_render_json(const struct vg_json *doc, struct vg_buf *out)
{
    enum vg_err err = vg_json_dump(doc, out);
    return err ? err : vg_buf_appendc(out, '\n');
}

enum vg_err vg_report_run(const struct vg_report_opts *o, FILE *out, char *errbuf, size_t errlen)
{
    struct vg_json *doc = NULL;
    enum vg_err err = vg_report_build(o, &doc, errbuf, errlen);
    if (err)
        return err;
    struct vg_buf b;
    vg_buf_init(&b, VG_REPORT_MAX_OUTPUT);
    switch (o->format) {
    case VG_REPORT_JSON: err = vg_report_render_json(doc, &b); break;
    case VG_REPORT_HTML: err = vg_report_render_html(doc, &b); break;
    case VG_REPORT_TABLE:
    default: err = vg_report_render_table(doc, &b); break;
    }
    vg_json_free(doc);
    if (err) {
        snprintf(errbuf, errlen, "cannot render the report: %s", vg_strerror(err));
    } else if (fwrite(b.data ? b.data : "", 1, b.len, out) != b.len || fflush(out) != 0) {
        snprintf(errbuf, errlen, "cannot write the report: %s", strerror(errno));
        err = VG_ERR_IO;
    }
    vg_buf_free(&b);
    return err;
}
