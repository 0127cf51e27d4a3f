/*
 * Kernel parameters (sysctl): the values in force now, read from
 * /proc/sys, and the values the system gives them at every boot, read from
 * the files systemd-sysctl applies. CIS asks for both: a value set now but
 * not persisted is lost at the next boot, a value persisted but not set is
 * not in force yet.
 *
 * Persisted, as systemd-sysctl (systemd 252, Debian 12) computes them:
 * - *.conf from /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d,
 *   /usr/lib/sysctl.d and /lib/sysctl.d; a file hides the files of the same
 *   name in the later directories (a link to /dev/null masks the name);
 *   the files are read in the order of their names, whatever their
 *   directory. Then /etc/sysctl.conf, last, as procps's `sysctl --system`
 *   reads it, unless one of those files was that very file (Debian links
 *   /etc/sysctl.d/99-sysctl.conf to it, and that is where systemd-sysctl
 *   reads it at boot).
 * - Lines: blank, or '#' / ';' comments; "key = value", blanks around both
 *   trimmed. Parts of a key are separated by '.' or '/'; when the first
 *   separator is '/', dots belong to names ("net/ipv4/conf/eth0.100/rp_filter"
 *   is "net.ipv4.conf.eth0/100.rp_filter"). A '-' before the key only says
 *   that a failure to set it is ignored; "-key" without a value excludes
 *   key from the glob assignments. A later assignment replaces an earlier
 *   one. A key with glob characters ("net.ipv4.conf.*.rp_filter") sets
 *   every matching key that has no line of its own; the last matching glob
 *   wins. A line that is not an assignment is ignored, as systemd-sysctl
 *   ignores it, and listed in "ignored_lines".
 *
 * Runtime: /proc/sys/KEY-WITH-SLASHES for the keys of `checked` below and
 * every key assigned in a file. A key the kernel does not have (ENOENT) is
 * absent: net.ipv6 is missing when IPv6 is disabled. When /proc/sys does
 * not exist under the root (an image, a fixture without it), or a key of
 * `checked` cannot be read, "runtime" is an error and the rules that read
 * it are unknown, never passed. /proc/sys/net belongs to the network
 * namespace of the reader: in a container the agent must share the host's.
 *
 * Document (type host.sysctl, one per host), keys as nested objects so
 * that rule paths read naturally (runtime.net.ipv4.ip_forward):
 *   "runtime":            {"net":{"ipv4":{"ip_forward":0, ...}}, "kernel":{...}}
 *   "persisted":          the same shape: the value each key gets at boot
 *   "persisted_sources":  the same shape: "FILE:LINE" of each value
 *   "persisted_globs":    [{"pattern","value","source"}], in force order
 *   "ipv6_disabled":      true when /proc/sys/net/ipv6 does not exist (the
 *                         kernel runs without IPv6); an error with "runtime"
 *   "runtime_errors":     {"KEY": "reason"} for keys outside `checked`
 *   "config_files", "masked_files", "ignored_lines": ["FILE:LINE", ...]
 * Values are integers when they read as one, else strings with blanks
 * collapsed ("4096 131072 6291456").
 *
 * Sources: "runtime" -> "/proc/sys"; "persisted" -> "sysctl.d and
 * /etc/sysctl.conf"; and, per key, full paths ("persisted.net.ipv4.ip_forward"
 * -> "/etc/sysctl.d/60-net.conf:2", "runtime.net.ipv4.ip_forward" ->
 * "/proc/sys/net/ipv4/ip_forward"), each followed by the other side when
 * the two differ ("...; persisted 0 at /etc/sysctl.d/60-net.conf:2"), for
 * an engine that looks sources up by path.
 */
#define _GNU_SOURCE   /* O_PATH */

#include "host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef O_PATH
#define O_PATH O_RDONLY
#endif

/* ------------------------------------------------------------------ */
/* Configuration sets: NAME.d directories with precedence              */
/* ------------------------------------------------------------------ */

struct conf_entry {
    char *name;
    char *path;
    bool masked;
};

struct conf_list {
    struct conf_entry *v;
    size_t n, cap;
};

static void conf_list_free(struct conf_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].path);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static bool conf_list_has(const struct conf_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return true;
    return false;
}

static int conf_list_add(struct conf_list *l, const char *name, const char *path, bool masked)
{
    if (l->n >= HOST_MAX_CONF_FILES)
        return HOST_E_TOOMANY;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        struct conf_entry *nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return ENOMEM;
        l->v = nv;
        l->cap = ncap;
    }
    struct conf_entry *e = &l->v[l->n];
    e->name = strdup(name);
    e->path = strdup(path);
    e->masked = masked;
    if (!e->name || !e->path) {
        free(e->name);
        free(e->path);
        return ENOMEM;
    }
    l->n++;
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct conf_entry *)a)->name, ((const struct conf_entry *)b)->name);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* What entry `name` of the directory held by dfd (host path dir) is for a
 * configuration set: 1 a file to read, 2 a mask (a link to /dev/null, or
 * anything that resolves to a character device), 0 nothing (a directory,
 * a dangling link), or -errno. */
static int classify(const struct host_root *hr, int dfd, const char *dir, const char *name)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode))
        return 0;
    if (S_ISCHR(st.st_mode))
        return 2;
    if (!S_ISLNK(st.st_mode))
        return 1;
    char target[HOST_MAX_PATH];
    ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
    if (n < 0)
        return errno == ENOENT ? 0 : -errno;
    target[n] = '\0';
    if (strcmp(target, "/dev/null") == 0)
        return 2;
    char path[HOST_MAX_PATH];
    int w = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= sizeof(path))
        return -ENAMETOOLONG;
    struct host_node node;
    int e = host_resolve(hr, path, &node);
    if (e == ENOENT || e == ENOTDIR || e == ELOOP)
        return 0;   /* dangling: the tools skip it */
    if (e)
        return -e;
    int kind = S_ISDIR(node.st.st_mode) ? 0 : S_ISCHR(node.st.st_mode) ? 2 : 1;
    host_node_close(&node);
    return kind;
}

/* Adds the entries of one directory that are not in l yet. */
static int conf_dir(const struct host_root *hr, const char *dir, const char *suffix,
                    struct conf_list *l)
{
    struct host_node n;
    int err = host_resolve(hr, dir, &n);
    if (err == ENOENT || err == ENOTDIR)
        return 0;
    if (err)
        return err;
    if (!S_ISDIR(n.st.st_mode)) {
        host_node_close(&n);
        return 0;
    }
    int fd = openat(n.dirfd, n.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    host_node_close(&n);
    if (fd < 0)
        return errno;
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        err = errno;
        if (dfd >= 0)
            close(dfd);
        close(fd);
        return err;
    }
    size_t seen = 0;
    while (!err) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            err = errno;
            break;
        }
        if (de->d_name[0] == '.' || !ends_with(de->d_name, suffix))
            continue;
        if (++seen > HOST_MAX_DIR_ENTRIES) {
            err = HOST_E_TOOMANY;
            break;
        }
        if (conf_list_has(l, de->d_name))
            continue;   /* hidden by a directory of higher precedence */
        int kind = classify(hr, fd, dir, de->d_name);
        if (kind < 0) {
            err = -kind;
            break;
        }
        if (kind == 0)
            continue;
        char path[HOST_MAX_PATH];
        int w = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (w < 0 || (size_t)w >= sizeof(path))
            continue;
        err = conf_list_add(l, de->d_name, path, kind == 2);
    }
    closedir(d);
    close(fd);
    return err;
}

int host_conf_files(const struct host_root *hr, const char *const *dirs, const char *suffix,
                    struct host_strv *files, struct host_strv *masked, char *errpath,
                    size_t errpathlen)
{
    struct conf_list l = { 0 };
    int err = 0;
    for (size_t i = 0; !err && dirs[i]; i++) {
        err = conf_dir(hr, dirs[i], suffix, &l);
        if (err)
            snprintf(errpath, errpathlen, "%s", dirs[i]);
    }
    if (!err && l.n)
        qsort(l.v, l.n, sizeof(*l.v), cmp_entry);
    for (size_t i = 0; !err && i < l.n; i++) {
        if (l.v[i].masked)
            err = masked ? host_strv_push(masked, l.v[i].path) : 0;
        else
            err = host_strv_push(files, l.v[i].path);
    }
    conf_list_free(&l);
    return err;
}

/* ------------------------------------------------------------------ */
/* Keys and values                                                     */
/* ------------------------------------------------------------------ */

/* What the rules of checks/rules/host-kernel.yml read: their runtime value
 * is read whether or not a file sets them. */
static const char *const checked[] = {
    "kernel/randomize_va_space",
    "kernel/yama/ptrace_scope",
    "fs/suid_dumpable",
    "net/ipv4/ip_forward",
    "net/ipv6/conf/all/forwarding",
    "net/ipv4/conf/all/send_redirects",
    "net/ipv4/conf/default/send_redirects",
    "net/ipv4/icmp_ignore_bogus_error_responses",
    "net/ipv4/icmp_echo_ignore_broadcasts",
    "net/ipv4/conf/all/accept_redirects",
    "net/ipv4/conf/default/accept_redirects",
    "net/ipv6/conf/all/accept_redirects",
    "net/ipv6/conf/default/accept_redirects",
    "net/ipv4/conf/all/secure_redirects",
    "net/ipv4/conf/default/secure_redirects",
    "net/ipv4/conf/all/rp_filter",
    "net/ipv4/conf/default/rp_filter",
    "net/ipv4/conf/all/accept_source_route",
    "net/ipv4/conf/default/accept_source_route",
    "net/ipv6/conf/all/accept_source_route",
    "net/ipv6/conf/default/accept_source_route",
    "net/ipv4/conf/all/log_martians",
    "net/ipv4/conf/default/log_martians",
    "net/ipv4/tcp_syncookies",
    "net/ipv6/conf/all/accept_ra",
    "net/ipv6/conf/default/accept_ra",
};

#define NCHECKED (sizeof(checked) / sizeof(checked[0]))
#define KEY_MAX 256          /* one key, slash form */
#define KEY_PARTS 16         /* parts of one key */

static bool is_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* systemd's sysctl_normalize() and path_simplify(), and our own checks:
 * the slash form of key into out ("net/ipv4/ip_forward"), or false when
 * it is no key we will look up (empty, too long, too deep, a "." or ".."
 * part, a control character). */
static bool normalize_key(const char *key, char *out, size_t len)
{
    char tmp[KEY_MAX];
    size_t n = strlen(key);
    if (n == 0 || n >= sizeof(tmp) || n >= len)
        return false;
    memcpy(tmp, key, n + 1);
    char *sep = strpbrk(tmp, "/.");
    if (sep && *sep == '.')
        for (char *p = sep; *p; p++)
            *p = *p == '.' ? '/' : *p == '/' ? '.' : *p;
    size_t o = 0, parts = 0;
    for (char *p = tmp; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t plen = strcspn(p, "/");
        if ((plen == 1 && p[0] == '.'))
            ;   /* "." parts vanish, as path_simplify() drops them */
        else if (plen == 2 && p[0] == '.' && p[1] == '.')
            return false;
        else {
            for (size_t i = 0; i < plen; i++)
                if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == ' ')
                    return false;
            if (++parts > KEY_PARTS)
                return false;
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, plen);
            o += plen;
        }
        p += plen;
    }
    out[o] = '\0';
    return o > 0;
}

/* The dotted form of a slash key, as people write it: dots and slashes
 * swap ("net/ipv4/conf/eth0.100/rp_filter" -> "net.ipv4.conf.eth0/100.rp_filter"). */
static void dotted(const char *key, char *out, size_t len)
{
    size_t i;
    for (i = 0; key[i] && i + 1 < len; i++)
        out[i] = key[i] == '/' ? '.' : key[i] == '.' ? '/' : key[i];
    out[i] = '\0';
}

/* A value as the document holds it: an integer when it reads as one, else
 * the text with runs of blanks collapsed to one space. */
static struct vg_json *value_json(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    size_t digits = strspn(p, "0123456789");
    if (digits && digits <= 18 && p[digits] == '\0')
        return vg_json_int(strtoll(s, NULL, 10));
    char *c = malloc(strlen(s) + 1);
    if (!c)
        return NULL;
    size_t o = 0;
    bool blank = false;
    for (const char *q = s; *q; q++) {
        if (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') {
            blank = o > 0;
            continue;
        }
        if (blank)
            c[o++] = ' ';
        blank = false;
        c[o++] = *q;
    }
    c[o] = '\0';
    struct vg_json *v = vg_json_str(c);
    free(c);
    return v;
}

/* Text of a value for a reason: 0, "4096 131072", "" ... */
static void value_text(const struct vg_json *v, char *out, size_t len)
{
    if (vg_json_type(v) == VG_JSON_INT)
        snprintf(out, len, "%" PRId64, vg_json_get_int(v));
    else if (vg_json_type(v) == VG_JSON_STRING)
        snprintf(out, len, "\"%s\"", vg_json_get_str(v));
    else
        snprintf(out, len, "?");
}

/* Sets tree[parts of key] = v (nested objects). False when a part is
 * already a value, or the key is already an object (a key that is a
 * prefix of another: no real sysctl is); v is freed then. *nomem on
 * allocation failure. */
static bool nested_set(struct vg_json *tree, const char *key, struct vg_json *v, bool *nomem)
{
    char tmp[KEY_MAX];
    snprintf(tmp, sizeof(tmp), "%s", key);
    struct vg_json *obj = tree;
    char *save = NULL;
    char *part = strtok_r(tmp, "/", &save);
    while (part) {
        char *next = strtok_r(NULL, "/", &save);
        if (!next) {
            struct vg_json *old = vg_json_get(obj, part);
            if (old && vg_json_type(old) == VG_JSON_OBJECT) {
                vg_json_free(v);
                return false;
            }
            if (vg_json_set(obj, part, v) != VG_OK) {
                *nomem = true;
                return false;
            }
            return true;
        }
        struct vg_json *child = vg_json_get(obj, part);
        if (child && vg_json_type(child) != VG_JSON_OBJECT) {
            vg_json_free(v);
            return false;
        }
        if (!child) {
            child = vg_json_child(obj, part);
            if (!child) {
                vg_json_free(v);
                *nomem = true;
                return false;
            }
        }
        obj = child;
        part = next;
    }
    vg_json_free(v);
    return false;
}

/* ------------------------------------------------------------------ */
/* Reading the files                                                   */
/* ------------------------------------------------------------------ */

struct glob_assign {
    char *pattern;     /* slash form */
    char *value;
    char *src;
    size_t seq;        /* when last assigned: the latest matching one wins */
};

struct sysctl_ctx {
    const struct host_root *hr;
    /* slash key -> {"v": value text or null (a "-key" exclusion), "src": "FILE:LINE"} */
    struct vg_json *assigned;
    struct glob_assign *globs;
    size_t nglobs, capglobs, seq;
    struct vg_json *glob_index;  /* pattern -> index in globs */
    struct vg_json *files;       /* host paths read, in order */
    struct vg_json *ignored;     /* "FILE:LINE" */
    dev_t *devs;
    ino_t *inos;
    size_t nread;
    char *error;                 /* why persisted values cannot be known */
    bool nomem;
};

/* Records why the persisted values cannot be known: "WHAT PATH[: WHY]"
 * (the first reason wins). */
static void set_error(struct sysctl_ctx *c, const char *what, const char *path, const char *why)
{
    if (c->error)
        return;
    char msg[HOST_MAX_PATH + 256];
    snprintf(msg, sizeof(msg), "%s %s%s%s", what, path, why ? ": " : "", why ? why : "");
    c->error = strdup(msg);
    if (!c->error)
        c->nomem = true;
}

static void ignore_line(struct sysctl_ctx *c, const char *where)
{
    if (vg_json_len(c->ignored) < HOST_MAX_SYSCTL_KEYS &&
        vg_json_push(c->ignored, vg_json_str(where)) != VG_OK)
        c->nomem = true;
}

static void add_glob(struct sysctl_ctx *c, const char *pattern, const char *value,
                     const char *where)
{
    /* A pattern assigned again is applied last: it takes a new sequence
     * number (systemd removes it and appends it). */
    const struct vg_json *ix = vg_json_get(c->glob_index, pattern);
    if (ix) {
        struct glob_assign *g = &c->globs[vg_json_get_int(ix)];
        char *v = strdup(value), *w = strdup(where);
        if (!v || !w) {
            free(v);
            free(w);
            c->nomem = true;
            return;
        }
        free(g->value);
        free(g->src);
        g->value = v;
        g->src = w;
        g->seq = ++c->seq;
        return;
    }
    if (c->nglobs >= HOST_MAX_GLOBS) {
        /* a glob we drop could be the one in force: say nothing then */
        set_error(c, "more glob keys than Vigil tracks, at", where, NULL);
        return;
    }
    if (c->nglobs == c->capglobs) {
        size_t ncap = c->capglobs ? c->capglobs * 2 : 8;
        struct glob_assign *nv = realloc(c->globs, ncap * sizeof(*nv));
        if (!nv) {
            c->nomem = true;
            return;
        }
        c->globs = nv;
        c->capglobs = ncap;
    }
    struct glob_assign *g = &c->globs[c->nglobs];
    g->pattern = strdup(pattern);
    g->value = strdup(value);
    g->src = strdup(where);
    g->seq = ++c->seq;
    if (!g->pattern || !g->value || !g->src ||
        vg_json_set_int(c->glob_index, pattern, (int64_t)c->nglobs) != VG_OK) {
        free(g->pattern);
        free(g->value);
        free(g->src);
        c->nomem = true;
        return;
    }
    c->nglobs++;
}

static void add_key(struct sysctl_ctx *c, const char *key, const char *value, const char *where)
{
    if (!vg_json_get(c->assigned, key) && vg_json_len(c->assigned) >= HOST_MAX_SYSCTL_KEYS) {
        set_error(c, "more keys than Vigil tracks, at", where, NULL);
        return;
    }
    struct vg_json *a = vg_json_object();
    enum vg_err err = a ? VG_OK : VG_ERR_NOMEM;
    if (!err)
        err = vg_json_set(a, "v", value ? vg_json_str(value) : vg_json_null());
    if (!err)
        err = vg_json_set_str(a, "src", where);
    if (!err) {
        /* a later line replaces an earlier one (in place: for keys of their
         * own the order does not matter, explicit always beats globs) */
        err = vg_json_set(c->assigned, key, a);
        a = NULL;
    }
    vg_json_free(a);
    if (err)
        c->nomem = true;
}

static char *strip(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\f' ||
                 s[n - 1] == '\v'))
        s[--n] = '\0';
    return s;
}

static void parse_line(struct sysctl_ctx *c, char *line, const char *where)
{
    char *p = strip(line);
    if (!*p || *p == '#' || *p == ';')
        return;
    char *value = strchr(p, '=');
    bool minus = *p == '-';
    if (minus)
        p++;
    if (value) {
        *value++ = '\0';
        value = strip(value);
    } else if (!minus) {
        ignore_line(c, where);   /* "Line is not an assignment, ignoring" */
        return;
    }
    char key[KEY_MAX];
    if (!normalize_key(strip(p), key, sizeof(key))) {
        ignore_line(c, where);
        return;
    }
    if (is_glob(key)) {
        if (value)
            add_glob(c, key, value, where);
        /* "-pattern" alone: systemd keeps it as an exclusion of the same
         * text, which only an identical glob key could meet; ignore */
        return;
    }
    add_key(c, key, value, where);
}

static void read_conf(struct sysctl_ctx *c, const char *path)
{
    struct vg_buf b;
    struct stat st;
    char why[128];
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = host_read_file(c->hr, path, VG_MAX_HOST_FILE, &b, &st);
    if (e == ENOENT) {
        vg_buf_free(&b);
        return;   /* gone since it was listed */
    }
    if (e == ENOMEM) {
        c->nomem = true;
    } else if (e == HOST_E_TOOBIG) {
        char lim[64];
        snprintf(lim, sizeof(lim), "larger than %u bytes", VG_MAX_HOST_FILE);
        set_error(c, "cannot read", path, lim);
    } else if (e) {
        set_error(c, "cannot read", path, host_strerror(e, why, sizeof(why)));
    }
    if (e) {
        vg_buf_free(&b);
        return;
    }
    if (vg_json_push(c->files, vg_json_str(path)) != VG_OK)
        c->nomem = true;
    dev_t *nd = realloc(c->devs, (c->nread + 1) * sizeof(*nd));
    if (nd)
        c->devs = nd;
    ino_t *ni = realloc(c->inos, (c->nread + 1) * sizeof(*ni));
    if (ni)
        c->inos = ni;
    if (!nd || !ni) {
        c->nomem = true;
    } else {
        c->devs[c->nread] = st.st_dev;
        c->inos[c->nread] = st.st_ino;
        c->nread++;
    }

    char *end = b.data + b.len;
    size_t lineno = 0;
    for (char *p = b.data; p < end && !c->nomem;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = '\0';
        lineno++;
        char where[HOST_MAX_PATH + 32];
        snprintf(where, sizeof(where), "%s:%zu", path, lineno);
        if (memchr(p, '\0', (size_t)(stop - p)) == NULL)
            parse_line(c, p, where);
        else
            ignore_line(c, where);   /* a NUL byte: not text */
        p = nl ? nl + 1 : end;
    }
    vg_buf_free(&b);
}

static bool already_read(const struct sysctl_ctx *c, const struct stat *st)
{
    for (size_t i = 0; i < c->nread; i++)
        if (c->devs[i] == st->st_dev && c->inos[i] == st->st_ino)
            return true;
    return false;
}

static const char *const sysctl_dirs[] = {
    "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
    "/lib/sysctl.d", NULL,
};

static void read_persisted(struct sysctl_ctx *c, struct vg_json *masked_out)
{
    struct host_strv files = { 0 }, masked = { 0 };
    char errpath[HOST_MAX_PATH], why[128];
    int e = host_conf_files(c->hr, sysctl_dirs, ".conf", &files, &masked, errpath,
                            sizeof(errpath));
    if (e == ENOMEM)
        c->nomem = true;
    else if (e)
        set_error(c, "cannot list", errpath, host_strerror(e, why, sizeof(why)));
    for (size_t i = 0; !e && i < masked.n; i++)
        if (vg_json_push(masked_out, vg_json_str(masked.v[i])) != VG_OK)
            c->nomem = true;
    for (size_t i = 0; !e && !c->error && !c->nomem && i < files.n; i++)
        read_conf(c, files.v[i]);
    host_strv_free(&files);
    host_strv_free(&masked);
    if (c->error || c->nomem)
        return;

    struct host_node n;
    e = host_resolve(c->hr, "/etc/sysctl.conf", &n);
    if (e == 0) {
        /* a directory holds no settings (systemd-sysctl never reads it) */
        bool skip = already_read(c, &n.st) || S_ISDIR(n.st.st_mode);
        host_node_close(&n);
        if (!skip)
            read_conf(c, "/etc/sysctl.conf");
    } else if (e == ENOMEM) {
        c->nomem = true;
    } else if (e != ENOENT && e != ENOTDIR) {
        set_error(c, "cannot read", "/etc/sysctl.conf", host_strerror(e, why, sizeof(why)));
    }
}

/* ------------------------------------------------------------------ */
/* Runtime                                                             */
/* ------------------------------------------------------------------ */

/* Reads /proc/sys/KEY into *out (NULL when the kernel has no such key).
 * 0 or an error. */
static int read_runtime(const struct host_root *hr, const char *key, struct vg_json **out)
{
    char path[HOST_MAX_PATH];
    *out = NULL;
    snprintf(path, sizeof(path), "/proc/sys/%s", key);
    struct vg_buf b;
    vg_buf_init(&b, HOST_MAX_SMALL_FILE);
    int e = host_read_file(hr, path, HOST_MAX_SMALL_FILE, &b, NULL);
    if (e == ENOENT || e == ENOTDIR || e == EISDIR) {
        vg_buf_free(&b);
        return 0;
    }
    if (e) {
        vg_buf_free(&b);
        return e;
    }
    char *s = b.data;
    for (size_t i = 0; i < b.len; i++)
        if (s[i] == '\0')
            s[i] = ' ';
    size_t n = b.len;
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    char *t = s;
    while (*t == ' ' || *t == '\t')
        t++;
    *out = value_json(t);
    vg_buf_free(&b);
    return *out ? 0 : ENOMEM;
}

/* ------------------------------------------------------------------ */
/* The resource                                                        */
/* ------------------------------------------------------------------ */

static int cmp_seq(const void *a, const void *b)
{
    size_t x = (*(const struct glob_assign *const *)a)->seq;
    size_t y = (*(const struct glob_assign *const *)b)->seq;
    return x < y ? -1 : x > y;
}

static void ctx_free(struct sysctl_ctx *c)
{
    vg_json_free(c->assigned);
    for (size_t i = 0; i < c->nglobs; i++) {
        free(c->globs[i].pattern);
        free(c->globs[i].value);
        free(c->globs[i].src);
    }
    free(c->globs);
    vg_json_free(c->glob_index);
    vg_json_free(c->files);
    vg_json_free(c->ignored);
    free(c->devs);
    free(c->inos);
    free(c->error);
}

/* The value KEY gets at boot: its own line, else the last matching glob
 * (a "-key" line excludes it from globs). Borrowed strings, or false. */
static bool persisted_of(const struct sysctl_ctx *c, const char *key, const char **value,
                         const char **src, const char **glob)
{
    const struct vg_json *a = vg_json_get(c->assigned, key);
    *glob = NULL;
    if (a) {
        *value = vg_json_get_str(vg_json_get(a, "v"));
        *src = vg_json_get_str(vg_json_get(a, "src"));
        return *value != NULL;
    }
    const struct glob_assign *best = NULL;
    for (size_t i = 0; i < c->nglobs; i++)
        if ((!best || c->globs[i].seq > best->seq) &&
            fnmatch(c->globs[i].pattern, key, FNM_PATHNAME | FNM_PERIOD) == 0)
            best = &c->globs[i];
    if (!best)
        return false;
    *value = best->value;
    *src = best->src;
    *glob = best->pattern;
    return true;
}

static enum vg_err add_source(struct vg_resource *r, const char *side, const char *key,
                              const char *text)
{
    char field[KEY_MAX + 16], dk[KEY_MAX];
    dotted(key, dk, sizeof(dk));
    snprintf(field, sizeof(field), "%s.%s", side, dk);
    return vg_resource_set_source(r, field, text);
}

enum vg_err host_sysctl_collect(const struct host_root *hr, const char *host_name,
                                struct vg_resource_list *out)
{
    char id[512], why[128];
    struct sysctl_ctx c;
    memset(&c, 0, sizeof(c));
    c.hr = hr;
    c.assigned = vg_json_object();
    c.glob_index = vg_json_object();
    c.files = vg_json_array();
    c.ignored = vg_json_array();
    struct vg_json *masked = vg_json_array();
    struct vg_json *runtime = vg_json_object();
    struct vg_json *persisted = vg_json_object();
    struct vg_json *psources = vg_json_object();
    struct vg_json *globs = vg_json_array();
    struct vg_json *rterrors = vg_json_object();
    struct host_strv keys = { 0 };
    char *rt_error = NULL;
    struct vg_resource *r = vg_resource_new(
        "host.sysctl", host_resource_id(id, sizeof(id), host_name, "sysctl"), "sysctl",
        "configuration", "linux-sysctl");
    enum vg_err err = r && c.assigned && c.glob_index && c.files && c.ignored && masked && runtime &&
                              persisted && psources && globs && rterrors
                          ? VG_OK
                          : VG_ERR_NOMEM;
    if (err)
        goto out;

    read_persisted(&c, masked);
    if (c.nomem) {
        err = VG_ERR_NOMEM;
        goto out;
    }

    /* The keys to report: the checked ones, then every key a file sets. */
    for (size_t i = 0; !err && i < NCHECKED; i++)
        if (host_strv_push(&keys, checked[i]))
            err = VG_ERR_NOMEM;
    for (size_t i = 0; !err && i < vg_json_len(c.assigned); i++) {
        const char *k = vg_json_key_at(c.assigned, i);
        if (!host_strv_has(&keys, k) && host_strv_push(&keys, k))
            err = VG_ERR_NOMEM;
    }
    if (err)
        goto out;

    /* Runtime: is there a /proc/sys at all? */
    struct host_node pn;
    int pe = host_resolve(hr, "/proc/sys", &pn);
    if (pe == 0) {
        if (!S_ISDIR(pn.st.st_mode))
            pe = ENOTDIR;
        host_node_close(&pn);
    }
    if (pe == ENOMEM) {
        err = VG_ERR_NOMEM;
        goto out;
    }
    if (pe) {
        char msg[256];
        snprintf(msg, sizeof(msg), "runtime values unavailable: /proc/sys %s under the host "
                 "root (not a running system, or /proc not mounted there)",
                 pe == ENOENT ? "does not exist" : host_strerror(pe, why, sizeof(why)));
        rt_error = strdup(msg);
        if (!rt_error) {
            err = VG_ERR_NOMEM;
            goto out;
        }
    }

    bool nomem = false;
    for (size_t i = 0; !err && i < keys.n; i++) {
        const char *key = keys.v[i];
        char dk[KEY_MAX];
        dotted(key, dk, sizeof(dk));
        struct vg_json *rv = NULL;
        if (!rt_error) {
            int e = read_runtime(hr, key, &rv);
            if (e == ENOMEM) {
                err = VG_ERR_NOMEM;
                break;
            }
            if (e) {
                char msg[KEY_MAX + 160];
                snprintf(msg, sizeof(msg), "cannot read /proc/sys/%s: %s", key,
                         host_strerror(e, why, sizeof(why)));
                if (i < NCHECKED) {
                    rt_error = strdup(msg);
                    if (!rt_error)
                        err = VG_ERR_NOMEM;
                } else if (vg_json_set_str(rterrors, dk, msg + strlen("cannot read ")) !=
                           VG_OK) {
                    err = VG_ERR_NOMEM;
                }
            }
        }
        const char *pv = NULL, *src = NULL, *glob = NULL;
        bool has_p = persisted_of(&c, key, &pv, &src, &glob);
        struct vg_json *pj = has_p ? value_json(pv) : NULL;
        if (has_p && !pj)
            err = VG_ERR_NOMEM;

        /* per-key sources, each naming the other side when they differ */
        char rtext[64] = "", ptext[64] = "", buf[HOST_MAX_PATH + 256];
        if (!err && rv && !rt_error) {
            value_text(rv, rtext, sizeof(rtext));
            if (has_p && !vg_json_equal(rv, pj)) {
                value_text(pj, ptext, sizeof(ptext));
                snprintf(buf, sizeof(buf), "/proc/sys/%s; persisted %s at %s", key, ptext, src);
            } else if (!has_p) {
                snprintf(buf, sizeof(buf), "/proc/sys/%s; not persisted", key);
            } else {
                snprintf(buf, sizeof(buf), "/proc/sys/%s", key);
            }
            err = add_source(r, "runtime", key, buf);
        }
        if (!err && !has_p) {
            /* why it is absent: never set, or kept from the globs by "-key" */
            const struct vg_json *a = vg_json_get(c.assigned, key);
            const char *ex = a ? vg_json_get_str(vg_json_get(a, "src")) : NULL;
            int w = ex ? snprintf(buf, sizeof(buf), "not set: excluded from globs at %s", ex)
                       : snprintf(buf, sizeof(buf), "not set in sysctl.d or /etc/sysctl.conf");
            if (w > 0 && (size_t)w < sizeof(buf) && rv && !rt_error)
                snprintf(buf + w, sizeof(buf) - (size_t)w, "; runtime %s", rtext);
            err = add_source(r, "persisted", key, buf);
        }
        if (!err && has_p) {
            char gnote[KEY_MAX + 16] = "";
            if (glob) {
                char dg[KEY_MAX];
                dotted(glob, dg, sizeof(dg));
                snprintf(gnote, sizeof(gnote), " (glob %s)", dg);
            }
            if (rv && !rt_error && !vg_json_equal(rv, pj))
                snprintf(buf, sizeof(buf), "%s%s; runtime %s", src, gnote, rtext);
            else
                snprintf(buf, sizeof(buf), "%s%s", src, gnote);
            err = add_source(r, "persisted", key, buf);
        }
        if (!err && has_p) {
            char stext[HOST_MAX_PATH + KEY_MAX + 32];
            if (glob) {
                char dg[KEY_MAX];
                dotted(glob, dg, sizeof(dg));
                snprintf(stext, sizeof(stext), "%s (glob %s)", src, dg);
            } else {
                snprintf(stext, sizeof(stext), "%s", src);
            }
            struct vg_json *sj = vg_json_str(stext);
            if (!sj)
                err = VG_ERR_NOMEM;
            else if (nested_set(psources, key, sj, &nomem))
                nested_set(persisted, key, pj, &nomem);
            else
                vg_json_free(pj);
            pj = NULL;
        }
        vg_json_free(pj);
        if (!err && rv)
            nested_set(runtime, key, rv, &nomem);
        else
            vg_json_free(rv);
        if (nomem)
            err = VG_ERR_NOMEM;
    }
    if (err)
        goto out;

    /* in force order: by when each was last assigned */
    const struct glob_assign **order = c.nglobs ? calloc(c.nglobs, sizeof(*order)) : NULL;
    if (c.nglobs && !order)
        err = VG_ERR_NOMEM;
    for (size_t i = 0; order && i < c.nglobs; i++)
        order[i] = &c.globs[i];
    if (order)
        qsort(order, c.nglobs, sizeof(*order), cmp_seq);
    for (size_t i = 0; !err && i < c.nglobs; i++) {
        const struct glob_assign *ga = order[i];
        char dg[KEY_MAX];
        dotted(ga->pattern, dg, sizeof(dg));
        struct vg_json *g = vg_json_object();
        err = g ? VG_OK : VG_ERR_NOMEM;
        if (!err)
            err = vg_json_set_str(g, "pattern", dg);
        if (!err)
            err = vg_json_set(g, "value", value_json(ga->value));
        if (!err)
            err = vg_json_set_str(g, "source", ga->src);
        if (!err) {
            err = vg_json_push(globs, g);
            g = NULL;
        }
        vg_json_free(g);
    }
    free(order);

    if (!err) {
        err = vg_json_set(r->doc, "runtime", runtime);
        runtime = NULL;
    }
    if (!err)
        err = vg_resource_set_source(r, "runtime", "/proc/sys");
    if (!err && rt_error)
        err = vg_resource_set_error(r, "runtime", rt_error);
    /* IPv6 disabled (ipv6.disable=1): the kernel has no net.ipv6 at all,
     * and CIS then asks nothing of those keys */
    if (!err && rt_error) {
        err = vg_resource_set_error(r, "ipv6_disabled", rt_error);
    } else if (!err) {
        struct host_node n6;
        int e6 = host_resolve(hr, "/proc/sys/net/ipv6", &n6);
        if (e6 == 0)
            host_node_close(&n6);
        if (e6 == ENOMEM) {
            err = VG_ERR_NOMEM;
        } else if (e6 == 0 || e6 == ENOENT) {
            err = vg_json_set_bool(r->doc, "ipv6_disabled", e6 == ENOENT);
            if (!err)
                err = vg_resource_set_source(r, "ipv6_disabled",
                                             e6 ? "/proc/sys/net/ipv6 does not exist"
                                                : "/proc/sys/net/ipv6 exists");
        } else {
            char msg[192];
            snprintf(msg, sizeof(msg), "cannot look up /proc/sys/net/ipv6: %s",
                     host_strerror(e6, why, sizeof(why)));
            err = vg_resource_set_error(r, "ipv6_disabled", msg);
        }
    }
    if (!err) {
        err = vg_json_set(r->doc, "persisted", persisted);
        persisted = NULL;
    }
    if (!err)
        err = vg_resource_set_source(r, "persisted", "sysctl.d and /etc/sysctl.conf");
    if (!err) {
        err = vg_json_set(r->doc, "persisted_sources", psources);
        psources = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "persisted_globs", globs);
        globs = NULL;
    }
    if (!err && c.error) {
        /* A file that cannot be read could set anything: nothing about the
         * persisted values can be said. */
        static const char *const pf[] = { "persisted", "persisted_sources", "persisted_globs" };
        for (size_t i = 0; !err && i < 3; i++)
            err = vg_resource_set_error(r, pf[i], c.error);
    }
    if (!err && vg_json_len(rterrors)) {
        err = vg_json_set(r->doc, "runtime_errors", rterrors);
        rterrors = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "config_files", c.files);
        c.files = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "masked_files", masked);
        masked = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "ignored_lines", c.ignored);
        c.ignored = NULL;
    }

out:
    ctx_free(&c);
    vg_json_free(masked);
    vg_json_free(runtime);
    vg_json_free(persisted);
    vg_json_free(psources);
    vg_json_free(globs);
    vg_json_free(rterrors);
    host_strv_free(&keys);
    free(rt_error);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}

/* For the tests: the slash form of a key, as systemd-sysctl normalizes it. */
bool host_sysctl_normalize(const char *key, char *out, size_t len)
{
    return normalize_key(key, out, len);
}
