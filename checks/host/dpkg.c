/*
 * Installed packages, from dpkg's own database, without dpkg-query.
 *
 * /var/lib/dpkg/status is a deb-status(5) file: stanzas of "Field: value"
 * lines separated by blank lines, a line starting with a blank continuing
 * the field before it, field names case-insensitive. Every stanza has
 * Package and Status ("WANT EFLAG STATE", e.g. "install ok installed" or
 * "deinstall ok config-files"); installed ones have Version and
 * Architecture. A Multi-Arch: same package installed for two
 * architectures has one stanza per architecture.
 *
 * dpkg writes changes to a journal, /var/lib/dpkg/updates/NNNN, and folds
 * it into the status file on its next run; until then the journal is the
 * truth. We read it the way dpkg does: each journal file's stanzas, in
 * name order, replace the record of the same package and architecture.
 *
 * dpkg refuses to work on a database it cannot parse, and so do we: a
 * malformed stanza makes the whole resource unknown, never a list with a
 * package silently missing (that would pass "telnet is not installed").
 *
 * Document (type host.packages):
 *   "status_file": "/var/lib/dpkg/status",
 *   "journal_files": N,                      journal files applied
 *   "installed": {NAME: {"version", "architectures": [...], "status"}},
 *   "names": [NAME, ...],                    the same names, sorted
 *   "config_files": [NAME, ...],             removed, configuration kept
 *   "count": N
 * "installed" holds every package whose files are on disk, fully or in
 * part: STATE "installed", "triggers-pending", "triggers-awaited" (dpkg -l
 * "ii", "it", "iW": configured) and "half-configured", "unpacked",
 * "half-installed" (broken). "status" is the STATE word; for a package
 * installed for several architectures, the least advanced of them. A rule
 * that wants a package properly installed tests
 * installed.NAME.status in [installed, triggers-pending, triggers-awaited];
 * one that wants it gone tests absent: installed.NAME.
 *
 * Package names may hold '.', which a rule path cannot address as a key
 * (paths split on '.'): such names are found through "names"
 * (any_of: names, where: {path: "@", eq: "python3.11"}).
 */
#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DPKG_STATUS "/var/lib/dpkg/status"
#define DPKG_UPDATES "/var/lib/dpkg/updates"
#define DPKG_MAX_NAME 255

/* deb-status(5) states, least advanced first. */
static const char *const states[] = {
    "not-installed", "config-files",     "half-installed", "unpacked",
    "half-configured", "triggers-awaited", "triggers-pending", "installed",
};
static const char *const wants[] = { "unknown", "install", "hold", "deinstall", "purge" };

static int state_rank(const char *s)
{
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (strcmp(s, states[i]) == 0)
            return (int)i;
    return -1;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* dpkg's package name syntax: [a-z0-9][a-z0-9+.-]+ */
static bool valid_package(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > DPKG_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '+' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

/* An architecture: lower-case letters, digits and '-', or empty. */
static bool valid_arch(const char *s)
{
    if (strlen(s) > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

/* The fields of one stanza we keep, as slices of the text. */
struct stanza {
    size_t first_line;
    const char *pkg, *status, *version, *arch;
    size_t pkg_n, status_n, version_n, arch_n;
    bool any;            /* at least one field seen */
};

static void trim_slice(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

static char *dup_slice(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

#define PARSE_ERR(...)                                 \
    do {                                               \
        snprintf(errbuf, errlen, __VA_ARGS__);         \
        err = VG_ERR_PARSE;                            \
        goto out;                                      \
    } while (0)

/* Checks a complete stanza and stores its record. */
static enum vg_err stanza_end(const struct stanza *st, struct vg_json *records, char *errbuf,
                              size_t errlen)
{
    enum vg_err err = VG_OK;
    char *pkg = NULL, *status = NULL, *version = NULL, *arch = NULL;
    if (!st->any)
        return VG_OK;
    if (!st->pkg)
        PARSE_ERR("line %zu: stanza without a Package field", st->first_line);
    if (!(pkg = dup_slice(st->pkg, st->pkg_n)) ||
        !(status = dup_slice(st->status ? st->status : "", st->status ? st->status_n : 0)) ||
        !(arch = dup_slice(st->arch ? st->arch : "", st->arch ? st->arch_n : 0))) {
        err = VG_ERR_NOMEM;
        goto out;
    }
    if (st->version && !(version = dup_slice(st->version, st->version_n))) {
        err = VG_ERR_NOMEM;
        goto out;
    }
    if (!valid_package(pkg))
        PARSE_ERR("line %zu: invalid package name \"%.64s\"", st->first_line, pkg);
    if (!st->status)
        PARSE_ERR("line %zu: package %s has no Status field", st->first_line, pkg);
    if (!valid_arch(arch))
        PARSE_ERR("line %zu: package %s has an invalid Architecture", st->first_line, pkg);

    /* Status: exactly three words. */
    char want[32], flag[32], state[32], extra[2];
    int nw = sscanf(status, "%31s %31s %31s %1s", want, flag, state, extra);
    if (nw != 3 || !in_list(want, wants, sizeof(wants) / sizeof(wants[0])) ||
        (strcmp(flag, "ok") != 0 && strcmp(flag, "reinstreq") != 0) || state_rank(state) < 0)
        PARSE_ERR("line %zu: package %s has an invalid Status \"%.64s\"", st->first_line, pkg,
                  status);
    if (state_rank(state) >= state_rank("half-installed") && (!version || !*version))
        PARSE_ERR("line %zu: package %s is %s but has no Version", st->first_line, pkg, state);

    char key[DPKG_MAX_NAME + 72];
    snprintf(key, sizeof(key), "%s:%s", pkg, arch);
    struct vg_json *rec = vg_json_object();
    if (!rec) {
        err = VG_ERR_NOMEM;
        goto out;
    }
    err = vg_json_set_str(rec, "package", pkg);
    if (!err)
        err = vg_json_set_str(rec, "architecture", arch);
    if (!err)
        err = version ? vg_json_set_str(rec, "version", version)
                      : vg_json_set(rec, "version", vg_json_null());
    if (!err)
        err = vg_json_set_str(rec, "want", want);
    if (!err)
        err = vg_json_set_str(rec, "status", state);
    if (err) {
        vg_json_free(rec);
        goto out;
    }
    err = vg_json_set(records, key, rec);
out:
    free(pkg);
    free(status);
    free(version);
    free(arch);
    return err;
}

/* True when the field name line[0..n) is name, in any case. */
static bool field_is(const char *line, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(line, name, n) == 0;
}

enum vg_err host_dpkg_parse(const char *text, size_t len, struct vg_json *records, char *errbuf,
                            size_t errlen)
{
    enum vg_err err = VG_OK;
    struct stanza st;
    memset(&st, 0, sizeof(st));
    bool have_field = false;   /* a field line seen in this stanza (continuations) */
    size_t lineno = 0;
    errbuf[0] = '\0';

    if (memchr(text, '\0', len)) {
        snprintf(errbuf, errlen, "the file holds a NUL byte");
        return VG_ERR_PARSE;
    }
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        const char *line = p;
        p = nl ? nl + 1 : end;
        lineno++;

        size_t blank = 0;
        while (blank < n && (line[blank] == ' ' || line[blank] == '\t' || line[blank] == '\r'))
            blank++;
        if (blank == n) {
            /* A blank line ends the stanza. */
            err = stanza_end(&st, records, errbuf, errlen);
            if (err)
                return err;
            memset(&st, 0, sizeof(st));
            have_field = false;
            continue;
        }
        if (line[0] == ' ' || line[0] == '\t') {
            if (!have_field) {
                snprintf(errbuf, errlen, "line %zu: continuation line outside a field", lineno);
                return VG_ERR_PARSE;
            }
            continue;   /* Description, Conffiles: not kept */
        }
        const char *colon = memchr(line, ':', n);
        if (!colon || colon == line || line[0] == '#' || line[0] == '-') {
            snprintf(errbuf, errlen, "line %zu: not a \"Field: value\" line", lineno);
            return VG_ERR_PARSE;
        }
        size_t fn = (size_t)(colon - line);
        for (size_t i = 0; i < fn; i++)
            if (line[i] == ' ' || line[i] == '\t') {
                snprintf(errbuf, errlen, "line %zu: blank in a field name", lineno);
                return VG_ERR_PARSE;
            }
        const char *val = colon + 1;
        size_t vn = (size_t)(le - val);
        trim_slice(&val, &vn);
        if (!st.any)
            st.first_line = lineno;
        st.any = true;
        have_field = true;

        const char **slot = NULL;
        size_t *nslot = NULL;
        const char *fname = NULL;
        if (field_is(line, fn, "Package"))
            slot = &st.pkg, nslot = &st.pkg_n, fname = "Package";
        else if (field_is(line, fn, "Status"))
            slot = &st.status, nslot = &st.status_n, fname = "Status";
        else if (field_is(line, fn, "Version"))
            slot = &st.version, nslot = &st.version_n, fname = "Version";
        else if (field_is(line, fn, "Architecture"))
            slot = &st.arch, nslot = &st.arch_n, fname = "Architecture";
        if (!slot)
            continue;   /* a field we do not keep */
        if (*slot) {
            snprintf(errbuf, errlen, "line %zu: duplicate %s field", lineno, fname);
            return VG_ERR_PARSE;
        }
        *slot = val;
        *nslot = vn;
    }
    return stanza_end(&st, records, errbuf, errlen);
}

/* ------------------------------------------------------------------ */
/* The document                                                        */
/* ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_str(const struct vg_json *arr, const char *s)
{
    for (size_t i = 0; i < vg_json_len(arr); i++)
        if (strcmp(vg_json_get_str(vg_json_at(arr, i)), s) == 0)
            return true;
    return false;
}

enum vg_err host_dpkg_doc(const struct vg_json *records, struct vg_json *doc)
{
    struct vg_json *installed = vg_json_object();
    struct vg_json *conf = vg_json_array();
    struct vg_json *names = vg_json_array();
    struct host_strv sorted = { 0 };
    enum vg_err err = installed && conf && names ? VG_OK : VG_ERR_NOMEM;
    int ranked_half = state_rank("half-installed");
    int ranked_conf = state_rank("config-files");

    for (size_t i = 0; !err && i < vg_json_len(records); i++) {
        const struct vg_json *rec = vg_json_at(records, i);
        const char *pkg = vg_json_get_str(vg_json_get(rec, "package"));
        const char *arch = vg_json_get_str(vg_json_get(rec, "architecture"));
        const char *state = vg_json_get_str(vg_json_get(rec, "status"));
        const char *version = vg_json_get_str(vg_json_get(rec, "version"));
        if (!pkg || !arch || !state)
            continue;
        int rank = state_rank(state);
        if (rank < ranked_half)
            continue;
        struct vg_json *e = vg_json_get(installed, pkg);
        if (!e) {
            e = vg_json_child(installed, pkg);
            if (!e) {
                err = VG_ERR_NOMEM;
                break;
            }
            err = version ? vg_json_set_str(e, "version", version)
                          : vg_json_set(e, "version", vg_json_null());
            if (!err)
                err = vg_json_set(e, "architectures", vg_json_array());
            if (!err)
                err = vg_json_set_str(e, "status", state);
            if (!err && host_strv_push(&sorted, pkg) != 0)
                err = VG_ERR_NOMEM;
        } else if (rank < state_rank(vg_json_get_str(vg_json_get(e, "status")))) {
            err = vg_json_set_str(e, "status", state);
        }
        if (!err && *arch)
            err = vg_json_push(vg_json_get(e, "architectures"), vg_json_str(arch));
    }
    /* Removed packages whose configuration is left, unless installed for
     * another architecture. */
    for (size_t i = 0; !err && i < vg_json_len(records); i++) {
        const struct vg_json *rec = vg_json_at(records, i);
        const char *pkg = vg_json_get_str(vg_json_get(rec, "package"));
        const char *state = vg_json_get_str(vg_json_get(rec, "status"));
        if (pkg && state && state_rank(state) == ranked_conf && !vg_json_get(installed, pkg) &&
            !has_str(conf, pkg))
            err = vg_json_push(conf, vg_json_str(pkg));
    }
    if (!err && sorted.n)
        qsort(sorted.v, sorted.n, sizeof(*sorted.v), cmp_str);
    for (size_t i = 0; !err && i < sorted.n; i++)
        err = vg_json_push(names, vg_json_str(sorted.v[i]));
    host_strv_free(&sorted);
    if (!err)
        err = vg_json_set_int(doc, "count", (int64_t)vg_json_len(installed));
    if (!err) {
        err = vg_json_set(doc, "installed", installed);
        installed = NULL;
    }
    if (!err) {
        err = vg_json_set(doc, "names", names);
        names = NULL;
    }
    if (!err) {
        err = vg_json_set(doc, "config_files", conf);
        conf = NULL;
    }
    vg_json_free(installed);
    vg_json_free(names);
    vg_json_free(conf);
    return err;
}

/* ------------------------------------------------------------------ */
/* The collector                                                       */
/* ------------------------------------------------------------------ */

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Reads and parses one database file into records; on failure a reason
 * in why (VG_ERR_NOMEM aside). */
static enum vg_err read_db(const struct host_root *hr, const char *path, struct vg_json *records,
                           char *why, size_t whylen)
{
    struct vg_buf b;
    char words[128], perr[256];
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = host_read_file(hr, path, VG_MAX_HOST_FILE, &b, NULL);
    enum vg_err err = VG_OK;
    if (e == ENOMEM) {
        err = VG_ERR_NOMEM;
    } else if (e == ENOENT && strcmp(path, DPKG_STATUS) == 0) {
        snprintf(why, whylen, "no dpkg database: %s does not exist", path);
        err = VG_ERR_NOENT;
    } else if (e) {
        snprintf(why, whylen, "cannot read %.300s: %s", path, host_strerror(e, words, sizeof(words)));
        err = VG_ERR_IO;
    } else {
        err = host_dpkg_parse(b.data, b.len, records, perr, sizeof(perr));
        if (err == VG_ERR_PARSE)
            snprintf(why, whylen, "malformed dpkg database %s: %s", path, perr);
    }
    vg_buf_free(&b);
    return err;
}

enum vg_err host_packages_collect(const struct host_root *hr, const char *host_name,
                                  struct vg_resource_list *out)
{
    char id[512], why[VG_MAX_REASON], errpath[HOST_MAX_PATH];
    struct host_strv journal = { 0 };
    struct vg_json *records = vg_json_object();
    struct vg_resource *r = vg_resource_new("host.packages",
                                            host_resource_id(id, sizeof(id), host_name, "packages"),
                                            "packages", "package", "linux-dpkg");
    enum vg_err err = r && records ? VG_OK : VG_ERR_NOMEM;
    if (!err)
        err = vg_json_set_str(r->doc, "status_file", DPKG_STATUS);
    why[0] = '\0';
    if (!err) {
        err = read_db(hr, DPKG_STATUS, records, why, sizeof(why));
        if (err && err != VG_ERR_NOMEM)
            goto unknown;
    }
    if (!err) {
        int e = host_glob(hr, DPKG_UPDATES "/*", HOST_MAX_DIR_ENTRIES, &journal, errpath,
                          sizeof(errpath));
        if (e == ENOMEM) {
            err = VG_ERR_NOMEM;
        } else if (e) {
            char words[128];
            snprintf(why, sizeof(why), "cannot read %.300s: %s", errpath,
                     host_strerror(e, words, sizeof(words)));
            err = VG_ERR_IO;
            goto unknown;
        }
    }
    size_t applied = 0;
    for (size_t i = 0; !err && i < journal.n; i++) {
        const char *base = strrchr(journal.v[i], '/') + 1;
        if (!all_digits(base))
            continue;   /* dpkg's own temporary files ("tmp.i") are not the journal */
        err = read_db(hr, journal.v[i], records, why, sizeof(why));
        if (err && err != VG_ERR_NOMEM)
            goto unknown;
        applied++;
    }
    if (!err)
        err = vg_json_set_int(r->doc, "journal_files", (int64_t)applied);
    if (!err)
        err = host_dpkg_doc(records, r->doc);
    goto done;
unknown:
    err = vg_resource_set_error(r, "*", why);
done:
    host_strv_free(&journal);
    vg_json_free(records);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}
