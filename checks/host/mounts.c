/*
 * Mounts: what /etc/fstab and systemd's tmp.mount unit mount at boot, the
 * mounts in force now (/proc/1/mounts), and what CIS asks of /tmp derived
 * from both.
 *
 * fstab(5) and /proc/PID/mounts share one format: blank-separated fields
 * (device, mount point, type, options, dump, pass), '#' comment lines,
 * "\040"-style octal escapes for blanks in names. Options are a comma list
 * (commas inside double quotes do not split: SELinux contexts).
 *
 * /tmp at boot, the way systemd (252) settles it: a tmp.mount unit file in
 * /etc/systemd/system or /run/systemd/system comes first (a link to
 * /dev/null there, or an empty file, masks it: nothing is mounted); then
 * the unit systemd-fstab-generator makes of the first /tmp line of
 * /etc/fstab; then a tmp.mount in /usr/local/lib/systemd/system,
 * /usr/lib/systemd/system or /lib/systemd/system (Debian ships its
 * tmp.mount in /usr/share/systemd, where it does nothing). Drop-ins
 * (tmp.mount.d/ *.conf in the same directories) apply to whichever it is,
 * fstab's included, Options= replacing the options. A unit file only counts
 * when systemd would run it: [Mount] What= set, Where= absent or /tmp. We
 * do not ask whether something pulls the unit in: every service with
 * PrivateTmp=yes does ("wanted" records the local-fs.target.wants link).
 *
 * Options give flags read left to right, as mount(8) does: "defaults"
 * means dev,suid,exec; "user"/"users" imply nodev,nosuid,noexec;
 * "owner"/"group" imply nodev,nosuid; a later flag overrides an earlier.
 *
 * Document (type host.mounts):
 *   "fstab":   [{"device","mountpoint","fstype","options":[...],"source":"FILE:LINE"}]
 *   "fstab_malformed": [{"source":"FILE:LINE","mountpoint"?}]  fewer than three fields
 *   "runtime": [{"device","mountpoint","fstype","options":[...]}]  (error when
 *              /proc is not there), "runtime_truncated" past HOST_MAX_MOUNTS
 *   "tmp":     {"configured","by" (fstab|unit|masked|none),"device","fstype",
 *               "options","nodev","nosuid","noexec","wanted"}
 *   "tmp_runtime": {"mounted","device","fstype","options","nodev","nosuid","noexec"}
 * Sources: "tmp" -> "/etc/fstab:5" / "/etc/systemd/system/tmp.mount" (with
 * the drop-in that set Options=) / why nothing mounts /tmp; "tmp_runtime"
 * -> "/proc/1/mounts:LINE" or "/proc/1/mounts".
 */
#define _GNU_SOURCE   /* O_PATH */

#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Lines and fields                                                    */
/* ------------------------------------------------------------------ */

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Decodes \ooo escapes in place (libmount's unmangle). */
static void unmangle(char *s)
{
    char *o = s;
    for (char *p = s; *p;) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            char c = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
            *o++ = c ? c : '?';
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
}

/* "/tmp/" and "//tmp" are "/tmp". */
static void normalize_dir(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++)
        if (!(*p == '/' && o > s && o[-1] == '/'))
            *o++ = *p;
    *o = '\0';
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
}

/* Splits an option list into an array of strings. */
static struct vg_json *split_options(const char *opts)
{
    struct vg_json *a = vg_json_array();
    if (!a)
        return NULL;
    const char *start = opts;
    bool quoted = false;
    for (const char *p = opts;; p++) {
        if (*p == '"')
            quoted = !quoted;
        if (*p == '\0' || (*p == ',' && !quoted)) {
            if (p > start && vg_json_push(a, vg_json_strn(start, (size_t)(p - start))) != VG_OK) {
                vg_json_free(a);
                return NULL;
            }
            if (!*p)
                break;
            start = p + 1;
        }
    }
    return a;
}

struct flags {
    bool nodev, nosuid, noexec;
};

static struct flags flags_of(const struct vg_json *opts)
{
    struct flags f = { false, false, false };
    for (size_t i = 0; i < vg_json_len(opts); i++) {
        const char *o = vg_json_get_str(vg_json_at(opts, i));
        if (!o)
            continue;
        if (strcmp(o, "defaults") == 0)
            f.nodev = f.nosuid = f.noexec = false;
        else if (strcmp(o, "nodev") == 0)
            f.nodev = true;
        else if (strcmp(o, "dev") == 0)
            f.nodev = false;
        else if (strcmp(o, "nosuid") == 0)
            f.nosuid = true;
        else if (strcmp(o, "suid") == 0)
            f.nosuid = false;
        else if (strcmp(o, "noexec") == 0)
            f.noexec = true;
        else if (strcmp(o, "exec") == 0)
            f.noexec = false;
        else if (strcmp(o, "user") == 0 || strcmp(o, "users") == 0)
            f.nodev = f.nosuid = f.noexec = true;
        else if (strcmp(o, "owner") == 0 || strcmp(o, "group") == 0)
            f.nodev = f.nosuid = true;
    }
    return f;
}

static enum vg_err set_flags(struct vg_json *obj, const struct vg_json *opts)
{
    struct flags f = flags_of(opts);
    enum vg_err err = vg_json_set_bool(obj, "nodev", f.nodev);
    if (!err)
        err = vg_json_set_bool(obj, "nosuid", f.nosuid);
    if (!err)
        err = vg_json_set_bool(obj, "noexec", f.noexec);
    return err;
}

enum vg_err host_fstab_parse(const char *text, size_t len, const char *file,
                             struct vg_json *entries, struct vg_json *malformed, size_t max,
                             bool *truncated)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return VG_ERR_NOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    enum vg_err err = VG_OK;
    char *end = copy + len;
    size_t lineno = 0;
    for (char *p = copy; p < end && !err;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = '\0';
        lineno++;
        char *line = p;
        p = nl ? nl + 1 : end;
        while (blank(*line))
            line++;
        if (!*line || *line == '#')
            continue;
        char *f[6] = { NULL };
        int nf = 0;
        char *save = NULL;
        for (char *tok = strtok_r(line, " \t\r\f\v", &save); tok && nf < 6;
             tok = strtok_r(NULL, " \t\r\f\v", &save))
            f[nf++] = tok;
        char where[HOST_MAX_PATH + 32];
        snprintf(where, sizeof(where), "%s:%zu", file, lineno);
        if (nf < 3) {
            if (!malformed || vg_json_len(malformed) >= max)
                continue;
            struct vg_json *m = vg_json_object();
            err = m ? vg_json_set_str(m, "source", where) : VG_ERR_NOMEM;
            if (!err && nf == 2) {
                unmangle(f[1]);
                if (f[1][0] == '/')
                    normalize_dir(f[1]);
                err = vg_json_set_str(m, "mountpoint", f[1]);
            }
            if (!err) {
                err = vg_json_push(malformed, m);
                m = NULL;
            }
            vg_json_free(m);
            continue;
        }
        if (vg_json_len(entries) >= max) {
            if (truncated)
                *truncated = true;
            continue;
        }
        unmangle(f[0]);
        unmangle(f[1]);
        unmangle(f[2]);
        if (f[1][0] == '/')
            normalize_dir(f[1]);
        struct vg_json *e = vg_json_object();
        err = e ? VG_OK : VG_ERR_NOMEM;
        if (!err)
            err = vg_json_set_str(e, "device", f[0]);
        if (!err)
            err = vg_json_set_str(e, "mountpoint", f[1]);
        if (!err)
            err = vg_json_set_str(e, "fstype", f[2]);
        if (!err) {
            if (f[3])
                unmangle(f[3]);
            err = vg_json_set(e, "options", split_options(f[3] ? f[3] : "defaults"));
        }
        if (!err)
            err = vg_json_set_str(e, "source", where);
        if (!err) {
            err = vg_json_push(entries, e);
            e = NULL;
        }
        vg_json_free(e);
    }
    free(copy);
    return err;
}

/* ------------------------------------------------------------------ */
/* The tmp.mount unit                                                  */
/* ------------------------------------------------------------------ */

struct unit_mount {
    char *what, *where, *type, *options;
    char options_src[HOST_MAX_PATH + 32];
};

static void unit_free(struct unit_mount *u)
{
    free(u->what);
    free(u->where);
    free(u->type);
    free(u->options);
    memset(u, 0, sizeof(*u));
}

static int replace(char **slot, const char *v)
{
    char *c = strdup(v);
    if (!c)
        return ENOMEM;
    free(*slot);
    *slot = c;
    return 0;
}

/* systemd's "%%" is a "%"; other specifiers are kept as written. */
static void unpercent(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        *o++ = *p;
        if (p[0] == '%' && p[1] == '%')
            p++;
    }
    *o = '\0';
}

/* Applies one logical line of a unit file to u; in_mount tracks the
 * section. where names its first line. */
static int unit_line(char *line, bool *in_mount, struct unit_mount *u, const char *where)
{
    while (blank(*line))
        line++;
    size_t n = strlen(line);
    while (n && blank(line[n - 1]))
        line[--n] = '\0';
    if (!*line || *line == '#' || *line == ';')
        return 0;
    if (*line == '[') {
        *in_mount = strcmp(line, "[Mount]") == 0;
        return 0;
    }
    char *eq = strchr(line, '=');
    if (!*in_mount || !eq)
        return 0;
    *eq = '\0';
    char *key = line, *val = eq + 1;
    size_t kn = strlen(key);
    while (kn && blank(key[kn - 1]))
        key[--kn] = '\0';
    while (blank(*val))
        val++;
    unpercent(val);
    if (strcmp(key, "What") == 0)
        return replace(&u->what, val);
    if (strcmp(key, "Where") == 0)
        return replace(&u->where, val);
    if (strcmp(key, "Type") == 0)
        return replace(&u->type, val);
    if (strcmp(key, "Options") == 0) {
        snprintf(u->options_src, sizeof(u->options_src), "%s", where);
        return replace(&u->options, val);
    }
    return 0;
}

/* Reads the [Mount] settings of a unit file or drop-in into u, the way
 * systemd's parser reads lines: a line ending in '\' goes on with the next
 * (the backslash becomes a blank), comments start a line. 0 or an error
 * (ENOENT included: the caller knows it exists). */
static int read_unit(const struct host_root *hr, const char *path, struct unit_mount *u)
{
    struct vg_buf b, logical;
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = host_read_file(hr, path, VG_MAX_HOST_FILE, &b, NULL);
    if (e) {
        vg_buf_free(&b);
        return e;
    }
    vg_buf_init(&logical, VG_MAX_HOST_FILE);
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] == '\0')
            b.data[i] = ' ';
    bool in_mount = false;
    char *end = b.data + b.len;
    size_t lineno = 0, first = 0;
    for (char *p = b.data; p < end && !e;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = '\0';
        lineno++;
        if (!logical.len)
            first = lineno;
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r')
            p[--n] = '\0';
        bool more = n && p[n - 1] == '\\' && nl;
        if (more)
            p[n - 1] = ' ';
        if (vg_buf_append(&logical, p, n) != VG_OK)
            e = ENOMEM;
        if (!e && !more) {
            char where[HOST_MAX_PATH + 32];
            snprintf(where, sizeof(where), "%s:%zu", path, first);
            e = unit_line(logical.data ? logical.data : (char *)"", &in_mount, u, where);
            vg_buf_reset(&logical);
        }
        p = nl ? nl + 1 : end;
    }
    vg_buf_free(&logical);
    vg_buf_free(&b);
    return e;
}

/* Where a unit named tmp.mount is found in dir: 0 none, 1 a file, 2 a
 * mask, or -errno. */
static int unit_kind(const struct host_root *hr, const char *dir, const char *name)
{
    char path[HOST_MAX_PATH];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct host_node n;
    int e = host_resolve(hr, dir, &n);
    if (e == ENOENT || e == ENOTDIR)
        return 0;
    if (e)
        return -e;
    int fd = S_ISDIR(n.st.st_mode)
                 ? openat(n.dirfd, n.name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                 : -1;
    host_node_close(&n);
    if (fd < 0)
        return 0;
    struct stat st;
    int kind = 0;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        kind = errno == ENOENT ? 0 : -errno;
    } else if (S_ISLNK(st.st_mode)) {
        char target[HOST_MAX_PATH];
        ssize_t tn = readlinkat(fd, name, target, sizeof(target) - 1);
        if (tn >= 0) {
            target[tn] = '\0';
            if (strcmp(target, "/dev/null") == 0) {
                close(fd);
                return 2;
            }
        }
        struct host_node t;
        e = host_resolve(hr, path, &t);
        if (e == 0) {
            kind = S_ISCHR(t.st.st_mode) ? 2 : S_ISREG(t.st.st_mode) ? 1 : 0;
            host_node_close(&t);
        } else {
            kind = (e == ENOENT || e == ENOTDIR || e == ELOOP) ? 0 : -e;
        }
    } else if (S_ISCHR(st.st_mode)) {
        kind = 2;
    } else if (S_ISREG(st.st_mode)) {
        kind = st.st_size == 0 ? 2 : 1;
    } else if (!S_ISDIR(st.st_mode)) {
        kind = 1;   /* a FIFO, a socket: reading it will say why not */
    }
    close(fd);
    return kind;
}

static const char *const unit_dirs_high[] = { "/etc/systemd/system", "/run/systemd/system", NULL };
static const char *const unit_dirs_low[] = {
    "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system", NULL,
};
static const char *const dropin_dirs[] = {
    "/etc/systemd/system/tmp.mount.d",       "/run/systemd/system/tmp.mount.d",
    "/usr/local/lib/systemd/system/tmp.mount.d", "/usr/lib/systemd/system/tmp.mount.d",
    "/lib/systemd/system/tmp.mount.d",       NULL,
};
static const char *const wants_paths[] = {
    "/etc/systemd/system/local-fs.target.wants/tmp.mount",
    "/run/systemd/system/local-fs.target.wants/tmp.mount",
    "/usr/lib/systemd/system/local-fs.target.wants/tmp.mount",
    "/lib/systemd/system/local-fs.target.wants/tmp.mount",
    NULL,
};

/* ------------------------------------------------------------------ */
/* /tmp                                                                */
/* ------------------------------------------------------------------ */

struct tmp_state {
    char *error;             /* why /tmp at boot cannot be known */
    struct vg_json *obj;     /* the "tmp" value */
    char source[HOST_MAX_PATH * 2 + 128];
};

static enum vg_err tmp_error(struct tmp_state *t, const char *what, const char *path, int e)
{
    char why[128], msg[HOST_MAX_PATH + 192];
    snprintf(msg, sizeof(msg), "%s %s: %s", what, path, host_strerror(e, why, sizeof(why)));
    free(t->error);
    t->error = strdup(msg);
    return t->error ? VG_OK : VG_ERR_NOMEM;
}

static const struct vg_json *first_tmp(const struct vg_json *fstab)
{
    for (size_t i = 0; i < vg_json_len(fstab); i++) {
        const struct vg_json *e = vg_json_at(fstab, i);
        const char *mp = vg_json_get_str(vg_json_get(e, "mountpoint"));
        const char *type = vg_json_get_str(vg_json_get(e, "fstype"));
        if (mp && strcmp(mp, "/tmp") == 0 && (!type || strcmp(type, "swap") != 0))
            return e;
    }
    return NULL;
}

static enum vg_err tmp_not(struct tmp_state *t, const char *by, const char *why)
{
    enum vg_err err = vg_json_set_bool(t->obj, "configured", false);
    if (!err)
        err = vg_json_set_str(t->obj, "by", by);
    if (!err)
        err = vg_json_set(t->obj, "options", vg_json_array());
    if (!err)
        err = set_flags(t->obj, NULL);
    snprintf(t->source, sizeof(t->source), "%s", why);
    return err;
}

/* Settles /tmp at boot into t. fstab is NULL when it could not be read. */
static enum vg_err tmp_at_boot(const struct host_root *hr, const struct vg_json *fstab,
                               bool fstab_ok, struct tmp_state *t)
{
    enum vg_err err = VG_OK;
    char unit_path[HOST_MAX_PATH] = "";
    const struct vg_json *fs_entry = NULL;
    int kind = 0;

    for (size_t i = 0; unit_dirs_high[i] && !kind; i++) {
        kind = unit_kind(hr, unit_dirs_high[i], "tmp.mount");
        if (kind < 0)
            return tmp_error(t, "cannot read", unit_dirs_high[i], -kind);
        if (kind)
            snprintf(unit_path, sizeof(unit_path), "%s/tmp.mount", unit_dirs_high[i]);
    }
    if (!kind) {
        if (!fstab_ok) {
            free(t->error);
            t->error = strdup("cannot tell what mounts /tmp: /etc/fstab could not be read");
            return t->error ? VG_OK : VG_ERR_NOMEM;
        }
        fs_entry = first_tmp(fstab);
    }
    for (size_t i = 0; unit_dirs_low[i] && !kind && !fs_entry; i++) {
        kind = unit_kind(hr, unit_dirs_low[i], "tmp.mount");
        if (kind < 0)
            return tmp_error(t, "cannot read", unit_dirs_low[i], -kind);
        if (kind)
            snprintf(unit_path, sizeof(unit_path), "%s/tmp.mount", unit_dirs_low[i]);
    }

    bool wanted = false;
    for (size_t i = 0; wants_paths[i] && !wanted; i++) {
        struct host_node n;
        int e = host_resolve(hr, wants_paths[i], &n);
        if (e == 0) {
            wanted = true;
            host_node_close(&n);
        } else if (e == ENOMEM) {
            return VG_ERR_NOMEM;
        }
    }
    err = vg_json_set_bool(t->obj, "wanted", wanted);
    if (err)
        return err;

    if (kind == 2) {
        char why[HOST_MAX_PATH + 64];
        snprintf(why, sizeof(why), "%s is masked", unit_path);
        return tmp_not(t, "masked", why);
    }
    if (!kind && !fs_entry)
        return tmp_not(t, "none", "no /tmp line in /etc/fstab and no tmp.mount unit");

    /* The base: the unit file, or fstab's line. */
    struct unit_mount u;
    memset(&u, 0, sizeof(u));
    char base_src[HOST_MAX_PATH + 32];
    int e = 0;
    if (kind == 1) {
        e = read_unit(hr, unit_path, &u);
        snprintf(base_src, sizeof(base_src), "%s", unit_path);
    } else {
        const char *src = vg_json_get_str(vg_json_get(fs_entry, "source"));
        snprintf(base_src, sizeof(base_src), "%s", src ? src : "/etc/fstab");
        e = replace(&u.what, vg_json_get_str(vg_json_get(fs_entry, "device")));
        if (!e)
            e = replace(&u.type, vg_json_get_str(vg_json_get(fs_entry, "fstype")));
        if (!e)
            e = replace(&u.where, "/tmp");
        /* the options as written, joined again, so a drop-in can replace them */
        struct vg_buf ob;
        vg_buf_init(&ob, VG_MAX_HOST_FILE);
        const struct vg_json *opts = vg_json_get(fs_entry, "options");
        for (size_t i = 0; !e && i < vg_json_len(opts); i++)
            if ((i && vg_buf_appendc(&ob, ',') != VG_OK) ||
                vg_buf_appends(&ob, vg_json_get_str(vg_json_at(opts, i))) != VG_OK)
                e = ENOMEM;
        if (!e)
            e = replace(&u.options, vg_buf_str(&ob));
        vg_buf_free(&ob);
    }
    if (e == ENOMEM) {
        unit_free(&u);
        return VG_ERR_NOMEM;
    }
    if (e) {
        unit_free(&u);
        return tmp_error(t, "cannot read", unit_path, e);
    }
    u.options_src[0] = '\0';

    /* Drop-ins, in the order systemd applies them. */
    struct host_strv drop = { 0 };
    char errpath[HOST_MAX_PATH];
    e = host_conf_files(hr, dropin_dirs, ".conf", &drop, NULL, errpath, sizeof(errpath));
    for (size_t i = 0; !e && i < drop.n; i++) {
        e = read_unit(hr, drop.v[i], &u);
        if (e && e != ENOMEM)
            snprintf(errpath, sizeof(errpath), "%s", drop.v[i]);
    }
    host_strv_free(&drop);
    if (e == ENOMEM) {
        unit_free(&u);
        return VG_ERR_NOMEM;
    }
    if (e) {
        unit_free(&u);
        return tmp_error(t, "cannot read", errpath, e);
    }

    if (kind == 1 && (!u.what || !*u.what)) {
        char why[HOST_MAX_PATH + 64];
        snprintf(why, sizeof(why), "%s has no What= (systemd refuses it)", unit_path);
        unit_free(&u);
        return tmp_not(t, "none", why);
    }
    if (u.where) {
        char w[HOST_MAX_PATH];
        snprintf(w, sizeof(w), "%s", u.where);
        normalize_dir(w);
        if (strcmp(w, "/tmp") != 0) {
            char why[HOST_MAX_PATH * 2 + 64];
            snprintf(why, sizeof(why), "%s has Where=%s (systemd refuses it)", unit_path,
                     u.where);
            unit_free(&u);
            return tmp_not(t, "none", why);
        }
    }

    struct vg_json *opts = split_options(u.options ? u.options : "");
    err = opts ? VG_OK : VG_ERR_NOMEM;
    if (!err)
        err = vg_json_set_bool(t->obj, "configured", true);
    if (!err)
        err = vg_json_set_str(t->obj, "by", kind == 1 ? "unit" : "fstab");
    if (!err)
        err = vg_json_set_str(t->obj, "device", u.what ? u.what : "");
    if (!err)
        err = vg_json_set_str(t->obj, "fstype", u.type ? u.type : "");
    if (!err)
        err = set_flags(t->obj, opts);
    if (!err) {
        err = vg_json_set(t->obj, "options", opts);
        opts = NULL;
    }
    vg_json_free(opts);
    if (u.options_src[0])
        snprintf(t->source, sizeof(t->source), "%s, Options= at %s", base_src, u.options_src);
    else
        snprintf(t->source, sizeof(t->source), "%s", base_src);
    unit_free(&u);
    return err;
}

/* ------------------------------------------------------------------ */
/* The resource                                                        */
/* ------------------------------------------------------------------ */

static enum vg_err read_runtime(const struct host_root *hr, struct vg_resource *r)
{
    static const char *const paths[] = { "/proc/1/mounts", "/proc/self/mounts" };
    struct vg_buf b;
    char why[128], msg[HOST_MAX_PATH + 192];
    const char *path = NULL;
    int e = ENOENT;
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    for (size_t i = 0; i < 2 && e == ENOENT; i++) {
        path = paths[i];
        vg_buf_reset(&b);
        e = host_read_file(hr, path, VG_MAX_HOST_FILE, &b, NULL);
    }
    enum vg_err err = VG_OK;
    if (e == ENOMEM) {
        err = VG_ERR_NOMEM;
        goto out;
    }
    if (e) {
        if (e == ENOENT)
            snprintf(msg, sizeof(msg), "mounts in force unavailable: /proc/1/mounts does not "
                     "exist under the host root (not a running system, or /proc not mounted "
                     "there)");
        else
            snprintf(msg, sizeof(msg), "cannot read %s: %s", path,
                     host_strerror(e, why, sizeof(why)));
        err = vg_resource_set_error(r, "runtime", msg);
        if (!err)
            err = vg_resource_set_error(r, "tmp_runtime", msg);
        goto out;
    }

    struct vg_json *all = vg_json_array();
    bool truncated = false;
    err = all ? host_fstab_parse(b.data, b.len, path, all, NULL, HOST_MAX_MOUNTS, &truncated)
              : VG_ERR_NOMEM;
    /* The last /tmp line is the one on top. */
    const struct vg_json *top = NULL;
    for (size_t i = 0; !err && i < vg_json_len(all); i++) {
        const struct vg_json *en = vg_json_at(all, i);
        const char *mp = vg_json_get_str(vg_json_get(en, "mountpoint"));
        if (mp && strcmp(mp, "/tmp") == 0)
            top = en;
    }
    if (truncated && !err) {
        /* /tmp may be past the bound */
        top = NULL;
        err = vg_resource_set_error(r, "tmp_runtime", "more mounts than Vigil reads; /tmp "
                                    "cannot be told");
    }
    struct vg_json *tr = vg_json_object();
    if (!err && !tr)
        err = VG_ERR_NOMEM;
    if (!err && top) {
        const char *src = vg_json_get_str(vg_json_get(top, "source"));
        err = vg_json_set_bool(tr, "mounted", true);
        if (!err)
            err = vg_json_set(tr, "device", vg_json_clone(vg_json_get(top, "device")));
        if (!err)
            err = vg_json_set(tr, "fstype", vg_json_clone(vg_json_get(top, "fstype")));
        if (!err)
            err = vg_json_set(tr, "options", vg_json_clone(vg_json_get(top, "options")));
        if (!err)
            err = set_flags(tr, vg_json_get(top, "options"));
        if (!err)
            err = vg_resource_set_source(r, "tmp_runtime", src ? src : path);
    } else if (!err) {
        err = vg_json_set_bool(tr, "mounted", false);
        if (!err)
            err = set_flags(tr, NULL);
        if (!err) {
            snprintf(msg, sizeof(msg), "no /tmp line in %s", path);
            err = vg_resource_set_source(r, "tmp_runtime", msg);
        }
    }
    /* runtime entries carry no source of their own: the lines are many */
    for (size_t i = 0; !err && i < vg_json_len(all); i++)
        vg_json_del(vg_json_at(all, i), "source");
    if (!err) {
        err = vg_json_set(r->doc, "tmp_runtime", tr);
        tr = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "runtime", all);
        all = NULL;
    }
    if (!err)
        err = vg_resource_set_source(r, "runtime", path);
    if (!err && truncated)
        err = vg_json_set_bool(r->doc, "runtime_truncated", true);
    vg_json_free(tr);
    vg_json_free(all);
out:
    vg_buf_free(&b);
    return err;
}

enum vg_err host_mounts_collect(const struct host_root *hr, const char *host_name,
                                struct vg_resource_list *out)
{
    char id[512], why[128], msg[2 * HOST_MAX_PATH + 192];
    struct tmp_state t;
    memset(&t, 0, sizeof(t));
    struct vg_json *fstab = vg_json_array();
    struct vg_json *malformed = vg_json_array();
    t.obj = vg_json_object();
    struct vg_resource *r =
        vg_resource_new("host.mounts", host_resource_id(id, sizeof(id), host_name, "mounts"),
                        "mounts", "configuration", "linux-mounts");
    enum vg_err err = r && fstab && malformed && t.obj ? VG_OK : VG_ERR_NOMEM;
    bool fstab_ok = false;

    if (!err) {
        struct vg_buf b;
        vg_buf_init(&b, VG_MAX_HOST_FILE);
        int e = host_read_file(hr, "/etc/fstab", VG_MAX_HOST_FILE, &b, NULL);
        bool truncated = false;
        if (e == 0 || e == ENOENT) {
            fstab_ok = true;
            if (e == 0)
                err = host_fstab_parse(b.data, b.len, "/etc/fstab", fstab, malformed,
                                       HOST_MAX_MOUNTS, &truncated);
            if (!err && truncated) {
                fstab_ok = false;
                err = vg_resource_set_error(r, "fstab", "/etc/fstab has more lines than Vigil "
                                            "reads");
            }
            if (!err)
                err = vg_resource_set_source(r, "fstab", e == ENOENT ? "no /etc/fstab"
                                                                      : "/etc/fstab");
        } else if (e == ENOMEM) {
            err = VG_ERR_NOMEM;
        } else {
            snprintf(msg, sizeof(msg), "cannot read /etc/fstab: %s",
                     host_strerror(e, why, sizeof(why)));
            err = vg_resource_set_error(r, "fstab", msg);
        }
        vg_buf_free(&b);
    }
    if (!err)
        err = tmp_at_boot(hr, fstab, fstab_ok, &t);
    /* A /tmp line too short to mount leaves /tmp unknown: mount and the
     * fstab generator each make something else of it. */
    for (size_t i = 0; !err && !t.error && i < vg_json_len(malformed); i++) {
        const struct vg_json *m = vg_json_at(malformed, i);
        const char *mp = vg_json_get_str(vg_json_get(m, "mountpoint"));
        if (mp && strcmp(mp, "/tmp") == 0) {
            snprintf(msg, sizeof(msg), "the /tmp line at %s has too few fields to tell how /tmp "
                     "is mounted", vg_json_get_str(vg_json_get(m, "source")));
            t.error = strdup(msg);
            if (!t.error)
                err = VG_ERR_NOMEM;
        }
    }
    if (!err && t.error) {
        err = vg_resource_set_error(r, "tmp", t.error);
    } else if (!err) {
        err = vg_json_set(r->doc, "tmp", t.obj);
        t.obj = NULL;
        if (!err)
            err = vg_resource_set_source(r, "tmp", t.source);
    }
    if (!err) {
        err = vg_json_set(r->doc, "fstab", fstab);
        fstab = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "fstab_malformed", malformed);
        malformed = NULL;
    }
    if (!err)
        err = read_runtime(hr, r);

    free(t.error);
    vg_json_free(t.obj);
    vg_json_free(fstab);
    vg_json_free(malformed);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}
