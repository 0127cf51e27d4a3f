/*
 * systemd units, read from the unit directories the way systemd itself
 * finds them, without systemctl and without a running systemd.
 *
 * Search path, highest priority first (systemd's persistent directories
 * on Debian 12; /run is runtime state and not read):
 *   /etc/systemd/system, /usr/local/lib/systemd/system,
 *   /lib/systemd/system, /usr/lib/systemd/system
 * (a directory reached twice, as /lib -> usr/lib makes it, counts once).
 *
 * For each unit name the first directory that has it decides:
 *   - a symlink to /dev/null, or an empty file: masked
 *   - a regular file, or a symlink to one with the same name: the unit
 *     file ("fragment")
 *   - a symlink to a unit file of another name: an alias of that unit
 *     (sshd.service -> ssh.service, default.target -> graphical.target)
 * An instance (getty@tty1.service) uses its template's file
 * (getty@.service).
 *
 * Dependencies: a link in NAME.wants/, NAME.requires/ or NAME.upholds/ of
 * any unit directory, and Wants=, Requires=, BindsTo=, Upholds= in the
 * [Unit] section of the unit file. A unit is
 *   "enabled"          when a link to it (under its name or an alias's)
 *                      is in a .wants/.requires/.upholds directory of
 *                      /etc/systemd/system: what `systemctl enable` makes
 *                      and `systemctl is-enabled` reports as enabled;
 *   "started_at_boot"  when it is reached from default.target through
 *                      those dependencies, no unit on the way masked or
 *                      missing: what the boot transaction pulls in.
 * Drop-ins (the .conf files of NAME.d/) are not read: a Wants= added only there is not
 * seen, which can make a unit look not started, never the reverse.
 *
 * Document (type host.services):
 *   "unit_dirs": [directories read],
 *   "default_target": "graphical.target" | null,
 *   "services": {NAME: UNIT}, "sockets", "timers", "targets", "paths",
 *   "mounts": the same for .socket, .timer, ... units, keyed by the name
 *       without its suffix ("auditd" for auditd.service),
 *   "enabled": [unit names, sorted], "started_at_boot": [unit names],
 * with UNIT = {"unit", "exists" (a unit file for it is in some directory,
 * masked or not), "masked", "enabled", "started_at_boot",
 * "wanted_by": [units whose .wants/.requires lists it], "file": the host
 * path of the entry that decides (the mask, for a masked unit) or null,
 * and "alias_of" for an alias}. Unit names with
 * a '.' before the suffix (dbus-org.freedesktop.timesync1.service) cannot
 * be addressed as keys in a rule path: the sorted name lists serve them.
 */
#include "host.h"
#include "../cond.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYSTEMD_ETC "/etc/systemd/system"
#define SYSTEMD_MAX_UNITS 16384            /* distinct unit names */
#define SYSTEMD_MAX_UNIT_FILE (1u << 20)   /* one unit file */
#define SYSTEMD_MAX_ALIAS_HOPS 8

static const char *const unit_dirs[] = {
    SYSTEMD_ETC,
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
};

static const char *const suffixes[] = { ".service", ".socket", ".timer", ".target",
                                        ".path", ".mount", ".automount", ".swap",
                                        ".slice", ".scope", ".device" };

/* Document maps: suffix -> key. */
static const struct {
    const char *suffix, *key;
} maps[] = {
    { ".service", "services" }, { ".socket", "sockets" }, { ".timer", "timers" },
    { ".target", "targets" },   { ".path", "paths" },     { ".mount", "mounts" },
};

static const char *unit_suffix(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return NULL;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if (strcmp(dot, suffixes[i]) == 0)
            return dot;
    return NULL;
}

/* systemd's unit_name_is_valid(): [A-Za-z0-9:_.\\@-], a known suffix, at
 * most one '@', at most 255 bytes. */
static bool valid_unit_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255 || !unit_suffix(name))
        return false;
    int ats = 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (c == '@')
            ats++;
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == ':' || c == '_' || c == '.' || c == '\\' || c == '-'))
            return false;
    }
    return ats <= 1 && name[0] != '@';
}

/* "getty@tty1.service" -> "getty@.service" into buf; false when name is
 * no instance. */
static bool template_of(const char *name, char *buf, size_t len)
{
    const char *at = strchr(name, '@');
    const char *suf = unit_suffix(name);
    if (!at || !suf || at + 1 == suf)
        return false;
    int w = snprintf(buf, len, "%.*s%s", (int)(at - name + 1), name, suf);
    return w > 0 && (size_t)w < len;
}

/* ------------------------------------------------------------------ */
/* The unit table                                                      */
/* ------------------------------------------------------------------ */

struct unit {
    char *name;
    char *file;          /* host path of the fragment, or NULL */
    char *alias_of;      /* when the name is a link to another unit file */
    bool found;          /* a directory decided this name */
    bool exists, masked, enabled, boot, visited;
    struct host_strv wanted_by;
    struct host_strv deps;
};

struct units {
    struct unit *v;
    size_t n, cap;
    struct vg_strindex ix;
    const struct host_root *hr;
    char problem[VG_MAX_REASON];   /* why the result cannot be trusted */
    bool nomem;
};

/* The unit called name, created when absent; NULL when out of memory or
 * past the bound (units->problem says so). */
static struct unit *unit_get(struct units *us, const char *name)
{
    long i = vg_strindex_get(&us->ix, name);
    if (i >= 0)
        return &us->v[i];
    if (us->n >= SYSTEMD_MAX_UNITS) {
        if (!us->problem[0])
            snprintf(us->problem, sizeof(us->problem), "more than %d systemd units",
                     SYSTEMD_MAX_UNITS);
        return NULL;
    }
    if (us->n == us->cap) {
        size_t ncap = us->cap ? us->cap * 2 : 64;
        struct unit *nv = realloc(us->v, ncap * sizeof(*nv));
        if (!nv) {
            us->nomem = true;
            return NULL;
        }
        us->v = nv;
        us->cap = ncap;
    }
    struct unit *u = &us->v[us->n];
    memset(u, 0, sizeof(*u));
    u->name = strdup(name);
    if (!u->name || vg_strindex_put(&us->ix, u->name, us->n) != VG_OK) {
        free(u->name);
        us->nomem = true;
        return NULL;
    }
    us->n++;
    return u;
}

static struct unit *unit_find(struct units *us, const char *name)
{
    long i = vg_strindex_get(&us->ix, name);
    return i >= 0 ? &us->v[i] : NULL;
}

static void units_free(struct units *us)
{
    for (size_t i = 0; i < us->n; i++) {
        free(us->v[i].name);
        free(us->v[i].file);
        free(us->v[i].alias_of);
        host_strv_free(&us->v[i].wanted_by);
        host_strv_free(&us->v[i].deps);
    }
    free(us->v);
    vg_strindex_free(&us->ix);
}

static bool push_unique(struct units *us, struct host_strv *sv, const char *s)
{
    if (host_strv_has(sv, s))
        return true;
    if (sv->n >= SYSTEMD_MAX_UNITS) {
        if (!us->problem[0])
            snprintf(us->problem, sizeof(us->problem), "more than %d systemd dependencies",
                     SYSTEMD_MAX_UNITS);
        return false;
    }
    if (host_strv_push(sv, s) != 0) {
        us->nomem = true;
        return false;
    }
    return true;
}

static void set_problem(struct units *us, const char *path, int e)
{
    char words[128];
    if (e == ENOMEM) {
        us->nomem = true;
        return;
    }
    if (!us->problem[0])
        snprintf(us->problem, sizeof(us->problem), "cannot read %.300s: %s", path,
                 host_strerror(e, words, sizeof(words)));
}

/* ------------------------------------------------------------------ */
/* Directories                                                         */
/* ------------------------------------------------------------------ */

struct dentry {
    char name[256];
    bool is_link, is_dir, is_reg;
    off_t size;
    char *target;        /* a link's text */
};

struct dlist {
    struct dentry *v;
    size_t n;
    dev_t dev;
    ino_t ino;
};

static void dlist_free(struct dlist *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].target);
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

/* Lists directory path (a host path) without following the links in it.
 * 0, ENOENT/ENOTDIR when there is no such directory, or an error. */
static int list_dir(const struct host_root *hr, const char *path, struct dlist *out)
{
    struct host_node n;
    memset(out, 0, sizeof(*out));
    int err = host_resolve(hr, path, &n);
    if (err)
        return err;
    if (!S_ISDIR(n.st.st_mode)) {
        host_node_close(&n);
        return ENOTDIR;
    }
    out->dev = n.st.st_dev;
    out->ino = n.st.st_ino;
    int fd = openat(n.dirfd, n.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    err = fd < 0 ? errno : 0;
    host_node_close(&n);
    if (err)
        return err;
    DIR *d = fdopendir(fd);
    if (!d) {
        err = errno;
        close(fd);
        return err;
    }
    size_t cap = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            err = errno;
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (out->n >= HOST_MAX_DIR_ENTRIES) {
            err = HOST_E_TOOMANY;
            break;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            struct dentry *nv = realloc(out->v, ncap * sizeof(*nv));
            if (!nv) {
                err = ENOMEM;
                break;
            }
            out->v = nv;
            cap = ncap;
        }
        struct dentry *e = &out->v[out->n];
        memset(e, 0, sizeof(*e));
        snprintf(e->name, sizeof(e->name), "%s", de->d_name);
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue;   /* gone while we read */
            err = errno;
            break;
        }
        e->is_link = S_ISLNK(st.st_mode);
        e->is_dir = S_ISDIR(st.st_mode);
        e->is_reg = S_ISREG(st.st_mode);
        e->size = st.st_size;
        if (e->is_link) {
            char buf[HOST_MAX_PATH];
            ssize_t k = readlinkat(dirfd(d), de->d_name, buf, sizeof(buf) - 1);
            if (k < 0) {
                err = errno;
                break;
            }
            buf[k] = '\0';
            e->target = strdup(buf);
            if (!e->target) {
                err = ENOMEM;
                break;
            }
        }
        out->n++;
    }
    closedir(d);
    if (err)
        dlist_free(out);
    return err;
}

static void join(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* The last component of a link target ("../x/ssh.service" -> "ssh.service"). */
static const char *base_name(const char *path, char *buf, size_t len)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t s = n;
    while (s > 0 && path[s - 1] != '/')
        s--;
    snprintf(buf, len, "%.*s", (int)(n - s), path + s);
    return buf;
}

/* Records a dependency directory NAME.wants/ (or .requires/, .upholds/). */
static void scan_dep_dir(struct units *us, const char *dir, const char *entry,
                         const char *owner, bool is_etc)
{
    char path[HOST_MAX_PATH];
    struct dlist sub;
    join(path, sizeof(path), dir, entry);
    int e = list_dir(us->hr, path, &sub);
    if (e == ENOENT || e == ENOTDIR)
        return;
    if (e) {
        set_problem(us, path, e);
        return;
    }
    struct unit *o = unit_get(us, owner);
    for (size_t i = 0; o && i < sub.n; i++) {
        if (!valid_unit_name(sub.v[i].name))
            continue;
        struct unit *d = unit_get(us, sub.v[i].name);
        o = unit_find(us, owner);   /* the table may have moved */
        if (!d || !o)
            break;
        if (!push_unique(us, &o->deps, sub.v[i].name) ||
            !push_unique(us, &d->wanted_by, owner))
            break;
        if (is_etc)
            d->enabled = true;
    }
    dlist_free(&sub);
}

/* A unit name found in directory dir: the first directory that has it
 * decides what it is; any directory with a unit file makes it exist. */
static void scan_unit_entry(struct units *us, const char *dir, const struct dentry *de)
{
    struct unit *u = unit_get(us, de->name);
    if (!u)
        return;
    char path[HOST_MAX_PATH];
    join(path, sizeof(path), dir, de->name);
    bool mask = false;
    if (de->is_link && strcmp(de->target, "/dev/null") == 0) {
        mask = true;   /* never resolved, never opened */
    } else if (de->is_link || de->is_reg) {
        struct host_node n;
        int e = host_resolve(us->hr, path, &n);
        if (e == ENOENT || e == ENOTDIR)
            return;   /* a dangling link: not here */
        if (e) {
            set_problem(us, path, e);
            return;
        }
        struct stat st = n.st;
        host_node_close(&n);
        if (S_ISCHR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size == 0))
            mask = true;   /* systemd's null_or_empty() */
        else if (S_ISREG(st.st_mode))
            u->exists = true;
        else
            return;   /* a directory or a device named like a unit */
    } else {
        return;
    }
    if (u->found)
        return;
    u->found = true;
    u->masked = mask;
    u->file = strdup(path);
    us->nomem = us->nomem || !u->file;
    if (de->is_link && !mask) {
        char base[256];
        base_name(de->target, base, sizeof(base));
        if (strcmp(base, de->name) != 0 && valid_unit_name(base)) {
            u->alias_of = strdup(base);
            us->nomem = us->nomem || !u->alias_of;
        }
    }
}

static bool has_suffix(const char *s, const char *suf, char *owner, size_t len)
{
    size_t n = strlen(s), k = strlen(suf);
    if (n <= k || strcmp(s + n - k, suf) != 0 || n - k >= len)
        return false;
    memcpy(owner, s, n - k);
    owner[n - k] = '\0';
    return valid_unit_name(owner);
}

/* ------------------------------------------------------------------ */
/* Unit files                                                          */
/* ------------------------------------------------------------------ */

/* Adds the Wants=, Requires=, BindsTo=, Upholds= of the [Unit] section of
 * the unit file at path to deps (an empty assignment resets the list, as
 * systemd does). */
static void read_unit_deps(struct units *us, const char *path, struct host_strv *deps)
{
    struct vg_buf b;
    vg_buf_init(&b, SYSTEMD_MAX_UNIT_FILE);
    int e = host_read_file(us->hr, path, SYSTEMD_MAX_UNIT_FILE, &b, NULL);
    if (e) {
        set_problem(us, path, e);
        vg_buf_free(&b);
        return;
    }
    /* Join continuation lines ("\" at the end) into one logical line. */
    char *text = b.data;
    size_t len = b.len;
    struct host_strv found = { 0 };
    bool in_unit = false;
    static const char *const keys[] = { "Wants", "Requires", "BindsTo", "Upholds" };
    char *line = malloc(len + 1);
    if (!line) {
        us->nomem = true;
        vg_buf_free(&b);
        return;
    }
    size_t i = 0;
    while (i < len) {
        size_t w = 0;
        /* one logical line */
        while (i < len) {
            char c = text[i++];
            if (c == '\n') {
                if (w > 0 && line[w - 1] == '\\') {
                    line[w - 1] = ' ';
                    continue;
                }
                break;
            }
            line[w++] = c == '\0' ? ' ' : c;
        }
        line[w] = '\0';
        char *s = line + strspn(line, " \t\r");
        size_t sn = strlen(s);
        while (sn && (s[sn - 1] == ' ' || s[sn - 1] == '\t' || s[sn - 1] == '\r'))
            s[--sn] = '\0';
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            in_unit = strcmp(s, "[Unit]") == 0;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!in_unit || !eq)
            continue;
        *eq = '\0';
        char *k = s, *v = eq + 1;
        size_t kn = strlen(k);
        while (kn && (k[kn - 1] == ' ' || k[kn - 1] == '\t'))
            k[--kn] = '\0';
        bool wanted = false;
        for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
            wanted = wanted || strcmp(k, keys[j]) == 0;
        if (!wanted)
            continue;
        if (!*(v + strspn(v, " \t"))) {
            host_strv_free(&found);   /* "Wants=" resets */
            continue;
        }
        char *save = NULL;
        for (char *t = strtok_r(v, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
            if (valid_unit_name(t) && !push_unique(us, &found, t))
                break;
    }
    for (size_t j = 0; j < found.n; j++)
        if (!push_unique(us, deps, found.v[j]))
            break;
    host_strv_free(&found);
    free(line);
    vg_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Resolution and the boot transaction                                 */
/* ------------------------------------------------------------------ */

/* The unit a name stands for, aliases followed; u itself when none. */
static struct unit *canonical(struct units *us, struct unit *u)
{
    for (int hop = 0; u && u->alias_of && hop < SYSTEMD_MAX_ALIAS_HOPS; hop++) {
        struct unit *t = unit_find(us, u->alias_of);
        if (!t || t == u)
            break;
        u = t;
    }
    return u;
}

/* Gives instances their template's file and folds aliases into the units
 * they name. */
static void resolve(struct units *us)
{
    size_t n = us->n;   /* units added below are not revisited */
    for (size_t i = 0; i < n && !us->nomem; i++) {
        struct unit *u = &us->v[i];
        char tmpl[300];
        if (u->found || !template_of(u->name, tmpl, sizeof(tmpl)))
            continue;
        struct unit *t = unit_find(us, tmpl);
        if (!t || !t->found)
            continue;
        u = &us->v[i];
        u->found = true;
        u->exists = t->exists;
        u->masked = t->masked;
        if (t->file && !(u->file = strdup(t->file)))
            us->nomem = true;
    }
    for (size_t i = 0; i < us->n && !us->nomem; i++) {
        struct unit *a = &us->v[i];
        if (!a->alias_of)
            continue;
        struct unit *c = canonical(us, a);
        if (!c || c == a)
            continue;
        c->enabled = c->enabled || a->enabled;
        for (size_t j = 0; j < a->deps.n; j++)
            if (!push_unique(us, &c->deps, a->deps.v[j]))
                break;
        for (size_t j = 0; j < a->wanted_by.n; j++)
            if (!push_unique(us, &c->wanted_by, a->wanted_by.v[j]))
                break;
    }
}

/* Marks what the boot transaction from default.target pulls in. */
static void boot(struct units *us)
{
    struct host_strv queue = { 0 };
    if (!push_unique(us, &queue, "default.target"))
        return;
    for (size_t qi = 0; qi < queue.n && !us->nomem && !us->problem[0]; qi++) {
        struct unit *u = unit_get(us, queue.v[qi]);
        if (!u || u->visited)
            continue;
        u->visited = true;
        struct unit *c = canonical(us, u);
        if (u->masked || c->masked || !c->exists)
            continue;
        u->boot = c->boot = true;
        struct host_strv deps = { 0 };
        size_t ci = (size_t)(c - us->v), ui = (size_t)(u - us->v);
        for (size_t j = 0; j < us->v[ci].deps.n; j++)
            push_unique(us, &deps, us->v[ci].deps.v[j]);
        for (size_t j = 0; j < us->v[ui].deps.n; j++)
            push_unique(us, &deps, us->v[ui].deps.v[j]);
        char tmpl[300];
        if (template_of(us->v[ci].name, tmpl, sizeof(tmpl))) {
            struct unit *t = unit_find(us, tmpl);
            for (size_t j = 0; t && j < t->deps.n; j++)
                push_unique(us, &deps, t->deps.v[j]);
        }
        if (us->v[ci].file) {
            char *file = strdup(us->v[ci].file);
            if (!file)
                us->nomem = true;
            else
                read_unit_deps(us, file, &deps);
            free(file);
        }
        for (size_t j = 0; j < deps.n; j++)
            if (!push_unique(us, &queue, deps.v[j]))
                break;
        host_strv_free(&deps);
    }
    host_strv_free(&queue);
}

/* ------------------------------------------------------------------ */
/* The document                                                        */
/* ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct vg_json *strv_json(const struct host_strv *sv, bool sort)
{
    struct vg_json *a = vg_json_array();
    char **v = sv->n ? malloc(sv->n * sizeof(*v)) : NULL;
    if (!a || (sv->n && !v)) {
        vg_json_free(a);
        free(v);
        return NULL;
    }
    if (sv->n)
        memcpy(v, sv->v, sv->n * sizeof(*v));
    if (sort && sv->n)
        qsort(v, sv->n, sizeof(*v), cmp_str);
    for (size_t i = 0; i < sv->n; i++)
        if (vg_json_push(a, vg_json_str(v[i])) != VG_OK) {
            vg_json_free(a);
            a = NULL;
            break;
        }
    free(v);
    return a;
}

static struct vg_json *unit_json(struct units *us, struct unit *u)
{
    struct unit *c = canonical(us, u);
    struct vg_json *o = vg_json_object();
    enum vg_err err = o ? VG_OK : VG_ERR_NOMEM;
    if (!err)
        err = vg_json_set_str(o, "unit", u->name);
    if (!err)
        err = vg_json_set_bool(o, "exists", c->exists);
    if (!err)
        err = vg_json_set_bool(o, "masked", u->masked || c->masked);
    if (!err)
        err = vg_json_set_bool(o, "enabled", c->enabled || u->enabled);
    if (!err)
        err = vg_json_set_bool(o, "started_at_boot", c->boot && !u->masked);
    if (!err)
        err = vg_json_set(o, "wanted_by", strv_json(&c->wanted_by, true));
    if (!err)
        err = c->file ? vg_json_set_str(o, "file", c->file) : vg_json_set(o, "file", vg_json_null());
    if (!err && u->alias_of)
        err = vg_json_set_str(o, "alias_of", c->name);
    if (err) {
        vg_json_free(o);
        return NULL;
    }
    return o;
}

static enum vg_err build_doc(struct units *us, struct vg_json *doc, struct vg_json *dirs)
{
    enum vg_err err = vg_json_set(doc, "unit_dirs", dirs);
    struct unit *def = unit_find(us, "default.target");
    struct unit *dc = def ? canonical(us, def) : NULL;
    if (!err)
        err = dc && dc->exists && !dc->masked ? vg_json_set_str(doc, "default_target", dc->name)
                                               : vg_json_set(doc, "default_target", vg_json_null());
    for (size_t m = 0; !err && m < sizeof(maps) / sizeof(maps[0]); m++)
        if (!vg_json_child(doc, maps[m].key))
            err = VG_ERR_NOMEM;
    struct host_strv enabled = { 0 }, booted = { 0 };
    for (size_t i = 0; !err && i < us->n; i++) {
        struct unit *u = &us->v[i];
        const char *suf = unit_suffix(u->name);
        struct vg_json *map = NULL;
        for (size_t m = 0; suf && m < sizeof(maps) / sizeof(maps[0]); m++)
            if (strcmp(suf, maps[m].suffix) == 0)
                map = vg_json_get(doc, maps[m].key);
        struct unit *c = canonical(us, u);
        if ((c->enabled || u->enabled) && host_strv_push(&enabled, u->name) != 0)
            err = VG_ERR_NOMEM;
        if (!err && c->boot && !u->masked && host_strv_push(&booted, u->name) != 0)
            err = VG_ERR_NOMEM;
        if (err || !map || !suf)
            continue;
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(suf - u->name), u->name);
        err = vg_json_set(map, key, unit_json(us, u));
    }
    if (!err)
        err = vg_json_set(doc, "enabled", strv_json(&enabled, true));
    if (!err)
        err = vg_json_set(doc, "started_at_boot", strv_json(&booted, true));
    host_strv_free(&enabled);
    host_strv_free(&booted);
    return err;
}

/* ------------------------------------------------------------------ */
/* The collector                                                       */
/* ------------------------------------------------------------------ */

static void scan_dirs(struct units *us, struct vg_json *dirs_read)
{
    dev_t seen_dev[sizeof(unit_dirs) / sizeof(unit_dirs[0])];
    ino_t seen_ino[sizeof(unit_dirs) / sizeof(unit_dirs[0])];
    size_t nseen = 0;
    for (size_t i = 0; i < sizeof(unit_dirs) / sizeof(unit_dirs[0]); i++) {
        struct dlist dl;
        int e = list_dir(us->hr, unit_dirs[i], &dl);
        if (e == ENOENT || e == ENOTDIR)
            continue;
        if (e) {
            set_problem(us, unit_dirs[i], e);
            return;
        }
        bool dup = false;
        for (size_t k = 0; k < nseen; k++)
            dup = dup || (seen_dev[k] == dl.dev && seen_ino[k] == dl.ino);
        if (dup) {
            dlist_free(&dl);
            continue;
        }
        seen_dev[nseen] = dl.dev;
        seen_ino[nseen++] = dl.ino;
        if (vg_json_push(dirs_read, vg_json_str(unit_dirs[i])) != VG_OK)
            us->nomem = true;
        bool is_etc = strcmp(unit_dirs[i], SYSTEMD_ETC) == 0;
        for (size_t j = 0; j < dl.n && !us->nomem && !us->problem[0]; j++) {
            const struct dentry *de = &dl.v[j];
            char owner[256];
            if (has_suffix(de->name, ".wants", owner, sizeof(owner)) ||
                has_suffix(de->name, ".requires", owner, sizeof(owner)) ||
                has_suffix(de->name, ".upholds", owner, sizeof(owner)))
                scan_dep_dir(us, unit_dirs[i], de->name, owner, is_etc);
            else if (valid_unit_name(de->name))
                scan_unit_entry(us, unit_dirs[i], de);
        }
        dlist_free(&dl);
        if (us->nomem || us->problem[0])
            return;
    }
}

enum vg_err host_services_collect(const struct host_root *hr, const char *host_name,
                                  struct vg_resource_list *out)
{
    char id[512];
    struct vg_resource *r = vg_resource_new("host.services",
                                            host_resource_id(id, sizeof(id), host_name, "services"),
                                            "services", "configuration", "linux-systemd");
    if (!r)
        return VG_ERR_NOMEM;
    struct units us;
    memset(&us, 0, sizeof(us));
    vg_strindex_init(&us.ix);
    us.hr = hr;
    struct vg_json *dirs = vg_json_array();
    enum vg_err err = dirs ? VG_OK : VG_ERR_NOMEM;
    if (!err) {
        scan_dirs(&us, dirs);
        if (!us.nomem && !us.problem[0])
            resolve(&us);
        if (!us.nomem && !us.problem[0])
            boot(&us);
        if (us.nomem)
            err = VG_ERR_NOMEM;
    }
    if (!err && us.problem[0]) {
        vg_json_free(dirs);
        dirs = NULL;
        err = vg_resource_set_error(r, "*", us.problem);
    } else if (!err) {
        err = build_doc(&us, r->doc, dirs);
        dirs = NULL;
    }
    vg_json_free(dirs);
    units_free(&us);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}
