/*
 * Kernel modules: what the modprobe configuration does with each module
 * (kmod 30, Debian 12), and which modules are loaded now (/proc/modules).
 *
 * Configuration: *.conf in /etc/modprobe.d, /run/modprobe.d,
 * /usr/local/lib/modprobe.d, /lib/modprobe.d and /usr/lib/modprobe.d, one
 * file per name (the first directory wins; a link to /dev/null masks the
 * name), read in name order. Lines: a '\' at the end joins the next line;
 * a line starting with '#' is a comment; "blacklist NAME"; "install NAME
 * COMMAND..." (the rest of the line). Module names compare with '-' and '_'
 * alike (kmod's underscores()). modprobe runs the first install line whose
 * NAME (an fnmatch pattern) matches; later ones are ignored.
 *
 * For each module: "disabled" when that install command is /bin/false or
 * /bin/true (or under /usr/bin): `modprobe NAME` then loads nothing;
 * "blacklisted" when a blacklist line names it: aliases (a device, a file
 * system type) no longer load it by themselves. CIS asks for both, and for
 * the module not to be loaded.
 *
 * Document (type host.modules): one top-level field per module the
 * configuration names or the rules check, so that each carries its own
 * source:
 *   "cramfs": {"disabled": true, "install": "/bin/false", "blacklisted": true}
 *   "loaded": {"ext4": true, ...}     from /proc/modules (an error when absent)
 *   "config_files": [...], "masked_files": [...]
 * Sources: "cramfs" -> "install at /etc/modprobe.d/cis.conf:1; blacklist at
 * /etc/modprobe.d/cis.conf:2" (or "no install or blacklist line in
 * modprobe.d"); "loaded" -> "/proc/modules". A module name that is one of
 * the other fields is not reported.
 */
#include "host.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The modules the rules of checks/rules/host-kernel.yml read. */
static const char *const checked[] = {
    "cramfs", "freevxfs", "hfs", "hfsplus", "jffs2", "overlay", "squashfs", "udf",
    "usb_storage", "dccp", "tipc", "rds", "sctp",
};

#define NCHECKED (sizeof(checked) / sizeof(checked[0]))
#define NAME_MAX_LEN 128

static const char *const modprobe_dirs[] = {
    "/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d",
    "/usr/lib/modprobe.d", NULL,
};

static bool reserved(const char *name)
{
    return strcmp(name, "loaded") == 0 || strcmp(name, "config_files") == 0 ||
           strcmp(name, "masked_files") == 0;
}

/* kmod's underscores(): '-' becomes '_', except inside [...]. */
static void underscores(char *s)
{
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '-')
            s[i] = '_';
        else if (s[i] == '[') {
            size_t j = strcspn(s + i, "]");
            if (!s[i + j])
                return;
            i += j;
        }
    }
}

struct install {
    char *pattern, *command, *src;
};

struct mod_ctx {
    const struct host_root *hr;
    struct install *inst;        /* every install line, in order */
    size_t ninst, capinst;
    struct vg_json *first_inst;  /* exact name -> index of its first install line */
    size_t *glob_inst;           /* indices of install lines with a pattern */
    size_t nglob;
    struct vg_json *name_set;    /* the names in `names` */
    struct vg_json *blacklist;   /* name -> "FILE:LINE" of the first blacklist line */
    struct host_strv names;      /* modules named, in order */
    struct vg_json *files;
    char *error;
    bool nomem;
};

static void note_name(struct mod_ctx *c, const char *name)
{
    if (strpbrk(name, "*?[") || reserved(name) || c->names.n >= HOST_MAX_MODULES ||
        vg_json_get(c->name_set, name))
        return;
    if (host_strv_push(&c->names, name) || vg_json_set_bool(c->name_set, name, true) != VG_OK)
        c->nomem = true;
}

static void add_install(struct mod_ctx *c, const char *pattern, const char *command,
                        const char *where)
{
    bool glob = strpbrk(pattern, "*?[") != NULL;
    /* only the first line of a name (or pattern) can ever be run */
    if (c->ninst >= HOST_MAX_MODULES || (glob && c->nglob >= HOST_MAX_GLOBS) ||
        (!glob && vg_json_get(c->first_inst, pattern)))
        return;
    if (c->ninst == c->capinst) {
        size_t ncap = c->capinst ? c->capinst * 2 : 16;
        struct install *nv = realloc(c->inst, ncap * sizeof(*nv));
        if (!nv) {
            c->nomem = true;
            return;
        }
        c->inst = nv;
        c->capinst = ncap;
    }
    struct install *in = &c->inst[c->ninst];
    in->pattern = strdup(pattern);
    in->command = strdup(command);
    in->src = strdup(where);
    if (!in->pattern || !in->command || !in->src) {
        free(in->pattern);
        free(in->command);
        free(in->src);
        c->nomem = true;
        return;
    }
    if (glob) {
        size_t *ng = realloc(c->glob_inst, (c->nglob + 1) * sizeof(*ng));
        if (!ng) {
            free(in->pattern);
            free(in->command);
            free(in->src);
            c->nomem = true;
            return;
        }
        c->glob_inst = ng;
        c->glob_inst[c->nglob++] = c->ninst;
    } else if (vg_json_set_int(c->first_inst, pattern, (int64_t)c->ninst) != VG_OK) {
        c->nomem = true;
    }
    c->ninst++;
}

static void parse_line(struct mod_ctx *c, char *line, const char *where)
{
    if (line[0] == '\0' || line[0] == '#')
        return;
    char *save = NULL;
    char *cmd = strtok_r(line, "\t ", &save);
    if (!cmd)
        return;
    bool is_bl = strcmp(cmd, "blacklist") == 0, is_inst = strcmp(cmd, "install") == 0;
    if (!is_bl && !is_inst)
        return;   /* alias, options, softdep, remove: nothing a rule reads */
    char *name = strtok_r(NULL, "\t ", &save);
    if (!name || strlen(name) >= NAME_MAX_LEN)
        return;   /* kmod ignores the line */
    underscores(name);
    if (is_bl) {
        if (!vg_json_get(c->blacklist, name) && vg_json_len(c->blacklist) < HOST_MAX_MODULES &&
            vg_json_set_str(c->blacklist, name, where) != VG_OK)
            c->nomem = true;
        note_name(c, name);
        return;
    }
    char *command = save ? save : (char *)"";
    command += strspn(command, " \t");
    size_t n = strlen(command);
    while (n && (command[n - 1] == ' ' || command[n - 1] == '\t' || command[n - 1] == '\r'))
        command[--n] = '\0';
    if (!*command)
        return;   /* "install NAME" without a command: kmod ignores it */
    add_install(c, name, command, where);
    note_name(c, name);
}

static void set_error(struct mod_ctx *c, const char *path, int e)
{
    if (c->error)
        return;
    char why[128], msg[HOST_MAX_PATH + 160];
    snprintf(msg, sizeof(msg), "cannot read %s: %s", path, host_strerror(e, why, sizeof(why)));
    c->error = strdup(msg);
    if (!c->error)
        c->nomem = true;
}

static void read_conf(struct mod_ctx *c, const char *path)
{
    struct vg_buf b;
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = host_read_file(c->hr, path, VG_MAX_HOST_FILE, &b, NULL);
    if (e == ENOENT) {
        vg_buf_free(&b);
        return;
    }
    if (e == ENOMEM)
        c->nomem = true;
    else if (e)
        set_error(c, path, e);
    if (e) {
        vg_buf_free(&b);
        return;
    }
    if (vg_json_push(c->files, vg_json_str(path)) != VG_OK)
        c->nomem = true;

    /* Lines, with "\\\n" joining them; a line's number is its first. */
    char *s = b.data, *end = b.data + b.len;
    size_t lineno = 1;
    for (char *p = s; p < end && !c->nomem;) {
        size_t first = lineno;
        char *o = p, *q = p;
        while (q < end && *q != '\n') {
            if (q[0] == '\\' && q + 1 < end && q[1] == '\n') {
                q += 2;
                lineno++;
                continue;
            }
            *o++ = *q == '\0' || *q == '\r' ? ' ' : *q;
            q++;
        }
        char *next = q < end ? q + 1 : end;
        lineno++;
        *o = '\0';
        char where[HOST_MAX_PATH + 32];
        snprintf(where, sizeof(where), "%s:%zu", path, first);
        parse_line(c, p, where);
        p = next;
    }
    vg_buf_free(&b);
}

static bool disables(const char *command)
{
    static const char *const stops[] = { "/bin/false", "/bin/true", "/usr/bin/false",
                                         "/usr/bin/true" };
    size_t n = strcspn(command, " \t;");
    for (size_t i = 0; i < 4; i++)
        if (strlen(stops[i]) == n && strncmp(command, stops[i], n) == 0)
            return true;
    return false;
}

static enum vg_err module_field(struct vg_resource *r, const struct mod_ctx *c, const char *name)
{
    /* the first install line that matches: its own, or an earlier pattern */
    const struct vg_json *ix = vg_json_get(c->first_inst, name);
    size_t best = ix ? (size_t)vg_json_get_int(ix) : c->ninst;
    for (size_t g = 0; g < c->nglob && c->glob_inst[g] < best; g++)
        if (fnmatch(c->inst[c->glob_inst[g]].pattern, name, 0) == 0)
            best = c->glob_inst[g];
    const struct install *in = best < c->ninst ? &c->inst[best] : NULL;
    const char *bl = vg_json_get_str(vg_json_get(c->blacklist, name));
    struct vg_json *m = vg_json_object();
    enum vg_err err = m ? VG_OK : VG_ERR_NOMEM;
    if (!err)
        err = vg_json_set_bool(m, "disabled", in && disables(in->command));
    if (!err && in)
        err = vg_json_set_str(m, "install", in->command);
    if (!err)
        err = vg_json_set_bool(m, "blacklisted", bl != NULL);
    if (!err) {
        err = vg_json_set(r->doc, name, m);
        m = NULL;
    }
    vg_json_free(m);
    char src[2 * HOST_MAX_PATH + 128];
    if (in && bl)
        snprintf(src, sizeof(src), "install at %s; blacklist at %s", in->src, bl);
    else if (in)
        snprintf(src, sizeof(src), "install at %s; no blacklist line", in->src);
    else if (bl)
        snprintf(src, sizeof(src), "no install line; blacklist at %s", bl);
    else
        snprintf(src, sizeof(src), "no install or blacklist line in modprobe.d");
    if (!err)
        err = vg_resource_set_source(r, name, src);
    if (!err && c->error)
        err = vg_resource_set_error(r, name, c->error);
    return err;
}

static enum vg_err read_loaded(const struct host_root *hr, struct vg_resource *r)
{
    struct vg_buf b;
    char why[128], msg[256];
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = host_read_file(hr, "/proc/modules", VG_MAX_HOST_FILE, &b, NULL);
    enum vg_err err = VG_OK;
    if (e == ENOMEM) {
        err = VG_ERR_NOMEM;
    } else if (e) {
        if (e == ENOENT)
            snprintf(msg, sizeof(msg), "loaded modules unavailable: /proc/modules does not exist "
                     "under the host root (not a running system, or /proc not mounted there)");
        else
            snprintf(msg, sizeof(msg), "cannot read /proc/modules: %s",
                     host_strerror(e, why, sizeof(why)));
        err = vg_resource_set_error(r, "loaded", msg);
    } else {
        struct vg_json *loaded = vg_json_object();
        err = loaded ? VG_OK : VG_ERR_NOMEM;
        bool over = false;
        char *end = b.data + b.len;
        for (char *p = b.data; !err && p < end;) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            char *stop = nl ? nl : end;
            *stop = '\0';
            size_t n = strcspn(p, " \t");
            if (n && vg_json_len(loaded) >= HOST_MAX_MODULES)
                over = true;   /* a module left out would look unloaded */
            else if (n && n < NAME_MAX_LEN) {
                char name[NAME_MAX_LEN];
                memcpy(name, p, n);
                name[n] = '\0';
                underscores(name);
                err = vg_json_set_bool(loaded, name, true);
            }
            p = nl ? nl + 1 : end;
        }
        if (!err && over) {
            err = vg_resource_set_error(r, "loaded", "/proc/modules lists more modules than "
                                        "Vigil reads");
        } else if (!err) {
            err = vg_json_set(r->doc, "loaded", loaded);
            loaded = NULL;
            if (!err)
                err = vg_resource_set_source(r, "loaded", "/proc/modules");
        }
        vg_json_free(loaded);
    }
    vg_buf_free(&b);
    return err;
}

enum vg_err host_modules_collect(const struct host_root *hr, const char *host_name,
                                 struct vg_resource_list *out)
{
    char id[512], why[128], errpath[HOST_MAX_PATH];
    struct mod_ctx c;
    memset(&c, 0, sizeof(c));
    c.hr = hr;
    c.blacklist = vg_json_object();
    c.first_inst = vg_json_object();
    c.name_set = vg_json_object();
    c.files = vg_json_array();
    struct vg_json *masked = vg_json_array();
    struct host_strv files = { 0 }, mfiles = { 0 };
    struct vg_resource *r = vg_resource_new(
        "host.modules", host_resource_id(id, sizeof(id), host_name, "kernel-modules"),
        "kernel-modules", "configuration", "linux-kernel-modules");
    enum vg_err err = r && c.blacklist && c.first_inst && c.name_set && c.files && masked
                          ? VG_OK
                          : VG_ERR_NOMEM;

    for (size_t i = 0; !err && i < NCHECKED; i++) {
        note_name(&c, checked[i]);
        if (c.nomem)
            err = VG_ERR_NOMEM;
    }
    if (!err) {
        int e = host_conf_files(hr, modprobe_dirs, ".conf", &files, &mfiles, errpath,
                                sizeof(errpath));
        if (e == ENOMEM) {
            err = VG_ERR_NOMEM;
        } else if (e) {
            char msg[HOST_MAX_PATH + 160];
            snprintf(msg, sizeof(msg), "cannot list %s: %s", errpath,
                     host_strerror(e, why, sizeof(why)));
            c.error = strdup(msg);
            if (!c.error)
                err = VG_ERR_NOMEM;
        }
    }
    for (size_t i = 0; !err && !c.error && i < files.n; i++) {
        read_conf(&c, files.v[i]);
        if (c.nomem)
            err = VG_ERR_NOMEM;
    }
    for (size_t i = 0; !err && i < mfiles.n; i++)
        err = vg_json_push(masked, vg_json_str(mfiles.v[i]));
    for (size_t i = 0; !err && i < c.names.n; i++)
        err = module_field(r, &c, c.names.v[i]);
    if (!err)
        err = read_loaded(hr, r);
    if (!err) {
        err = vg_json_set(r->doc, "config_files", c.files);
        c.files = NULL;
    }
    if (!err) {
        err = vg_json_set(r->doc, "masked_files", masked);
        masked = NULL;
    }

    for (size_t i = 0; i < c.ninst; i++) {
        free(c.inst[i].pattern);
        free(c.inst[i].command);
        free(c.inst[i].src);
    }
    free(c.inst);
    free(c.glob_inst);
    vg_json_free(c.first_inst);
    vg_json_free(c.name_set);
    vg_json_free(c.blacklist);
    vg_json_free(c.files);
    host_strv_free(&c.names);
    free(c.error);
    vg_json_free(masked);
    host_strv_free(&files);
    host_strv_free(&mfiles);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}
