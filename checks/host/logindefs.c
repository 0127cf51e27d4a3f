/*
 * Password and login policy: /etc/login.defs (shadow 4.13), the password
 * quality settings of libpwquality 1.4.5 with the pam_pwquality arguments
 * that override them, and the core-dump limit of pam_limits.
 *
 * login.defs, as shadow's getdef.c reads it: a line is NAME and VALUE
 * separated by blanks; '#' starts a comment line; the value starts after
 * blanks and double quotes and stops at the next double quote; the last
 * line of a name wins. Numbers are read with strtol(value, 0): "0x10" and
 * "010" (octal) are numbers, "90 # days" is not; from -1 to INT_MAX.
 * A number shadow cannot read is an error of that field (shadow falls back
 * to its default, which no rule should take for the file's intent). Unset
 * names get shadow's defaults, with the source "default":
 * PASS_MAX_DAYS, PASS_MIN_DAYS, PASS_WARN_AGE -1 (no limit), ENCRYPT_METHOD
 * "DES", UMASK "022", LOGIN_RETRIES 5, LOGIN_TIMEOUT 60.
 *
 * pwquality: /etc/security/pwquality.conf.d/ *.conf in name order first,
 * then /etc/security/pwquality.conf; "name = value" or "name value", '#'
 * anywhere starts a comment; a later value wins. libpwquality stops at the
 * first unknown setting or bad number and keeps what it read before: we
 * make the settings unknown then. Then the arguments of the first
 * pam_pwquality line of /etc/pam.d/common-password (minlen=N, ...,
 * enforce_for_root) override them. minlen below 6 counts as 6, minclass
 * above 4 as 4. Defaults: difok 1, minlen 8, [dulo]credit 0, minclass 0,
 * maxrepeat 0, maxclassrepeat 0, maxsequence 0, gecoscheck 0, dictcheck 1,
 * usercheck 1, usersubstr 0, enforcing 1, retry 1, enforce_for_root false.
 *
 * limits: /etc/security/limits.conf, then /etc/security/limits.d/ *.conf;
 * the last "* hard core N" (or "* - core N") line gives the hard core-file
 * size every user gets ("unlimited", "infinity" and "-1" are -1).
 *
 * Documents (one field per setting, each with its source):
 *   host.logindefs  {"PASS_MAX_DAYS": 365, "ENCRYPT_METHOD": "YESCRYPT", ...}
 *   host.pwquality  {"minlen": 14, ..., "enforce_for_root": true,
 *                    "pam_enabled": true, "config_files": [...]}
 *   host.limits     {"core_hard": 0, "config_files": [...]}
 */
#include "host.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Shared                                                              */
/* ------------------------------------------------------------------ */

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static char *trim(char *s)
{
    while (blank(*s) || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n && (blank(s[n - 1]) || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Calls fn on each line of path's text (NUL bytes made blanks). ENOENT
 * and other read errors are returned; 0 when read. */
typedef void (line_fn)(void *arg, char *line, const char *where);

static int each_line(const struct host_root *hr, const char *path, line_fn *fn, void *arg)
{
    struct vg_buf b;
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = host_read_file(hr, path, VG_MAX_HOST_FILE, &b, NULL);
    if (e) {
        vg_buf_free(&b);
        return e;
    }
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] == '\0')
            b.data[i] = ' ';
    char *end = b.data + b.len;
    size_t lineno = 0;
    for (char *p = b.data; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = '\0';
        lineno++;
        char where[HOST_MAX_PATH + 32];
        snprintf(where, sizeof(where), "%s:%zu", path, lineno);
        fn(arg, p, where);
        p = nl ? nl + 1 : end;
    }
    vg_buf_free(&b);
    return 0;
}

static const char *why_of(int e, char *buf, size_t len)
{
    return host_strerror(e, buf, len);
}

/* ------------------------------------------------------------------ */
/* login.defs                                                          */
/* ------------------------------------------------------------------ */

enum def_kind { DEF_NUM, DEF_STR };

static const struct {
    const char *name;
    enum def_kind kind;
    const char *def;
} defs[] = {
    { "PASS_MAX_DAYS", DEF_NUM, "-1" },
    { "PASS_MIN_DAYS", DEF_NUM, "-1" },
    { "PASS_WARN_AGE", DEF_NUM, "-1" },
    { "ENCRYPT_METHOD", DEF_STR, "DES" },
    { "UMASK", DEF_STR, "022" },
    { "LOGIN_RETRIES", DEF_NUM, "5" },
    { "LOGIN_TIMEOUT", DEF_NUM, "60" },
    { "SHA_CRYPT_MIN_ROUNDS", DEF_NUM, NULL },
    { "SHA_CRYPT_MAX_ROUNDS", DEF_NUM, NULL },
    { "YESCRYPT_COST_FACTOR", DEF_NUM, NULL },
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))
#define MAX_DEF_NAMES 1024

/* shadow's getlong(): strtol base 0, the whole string, no overflow. */
static bool shadow_number(const char *s, long long *out)
{
    if (!*s)
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 0);
    if (errno || !end || *end || v < -1 || v > INT_MAX)
        return false;
    *out = v;
    return true;
}

struct defs_ctx {
    struct vg_json *values;    /* NAME -> value text */
    struct vg_json *sources;   /* NAME -> "FILE:LINE" */
    bool nomem;
};

static void defs_line(void *arg, char *line, const char *where)
{
    struct defs_ctx *c = arg;
    char *name = line + strspn(line, " \t");
    size_t n = strlen(name);
    while (n && (name[n - 1] == '\r' || blank(name[n - 1])))
        name[--n] = '\0';
    if (!*name || *name == '#')
        return;
    char *s = name + strcspn(name, " \t");
    if (!*s)
        return;   /* a name alone: getdef skips it */
    *s++ = '\0';
    char *value = s + strspn(s, " \"\t");
    value[strcspn(value, "\"")] = '\0';
    bool known = false;
    for (size_t i = 0; i < NDEFS && !known; i++)
        known = strcmp(defs[i].name, name) == 0;
    if (!known && !vg_json_get(c->values, name) && vg_json_len(c->values) >= MAX_DEF_NAMES)
        return;   /* the names rules read are always kept */
    if (vg_json_set_str(c->values, name, value) != VG_OK ||
        vg_json_set_str(c->sources, name, where) != VG_OK)
        c->nomem = true;
}

static enum vg_err logindefs_resource(const struct host_root *hr, const char *host_name,
                                      struct vg_resource_list *out)
{
    char id[512], why[128], msg[HOST_MAX_PATH + 256];
    struct defs_ctx c = { vg_json_object(), vg_json_object(), false };
    struct vg_resource *r = vg_resource_new(
        "host.logindefs", host_resource_id(id, sizeof(id), host_name, "login.defs"),
        "/etc/login.defs", "configuration", "linux-login-defs");
    enum vg_err err = r && c.values && c.sources ? VG_OK : VG_ERR_NOMEM;
    int e = err ? 0 : each_line(hr, "/etc/login.defs", defs_line, &c);
    if (!err && c.nomem)
        err = VG_ERR_NOMEM;
    if (!err && e == ENOMEM)
        err = VG_ERR_NOMEM;
    if (!err && e && e != ENOENT) {
        snprintf(msg, sizeof(msg), "cannot read /etc/login.defs: %s", why_of(e, why, sizeof(why)));
        err = vg_resource_set_error(r, "*", msg);
    } else if (!err) {
        const char *dsrc = e == ENOENT ? "default (no /etc/login.defs)" : "default";
        /* the names rules know, with their defaults */
        for (size_t i = 0; !err && i < NDEFS; i++) {
            const char *v = vg_json_get_str(vg_json_get(c.values, defs[i].name));
            const char *src = v ? vg_json_get_str(vg_json_get(c.sources, defs[i].name)) : dsrc;
            if (!v)
                v = defs[i].def;
            if (!v)
                continue;
            long long num;
            if (defs[i].kind == DEF_NUM && !shadow_number(v, &num)) {
                snprintf(msg, sizeof(msg), "%s \"%s\" at %s is not a number shadow reads (it "
                         "uses its default instead)", defs[i].name, v, src);
                err = vg_resource_set_error(r, defs[i].name, msg);
                continue;
            }
            if (defs[i].kind == DEF_NUM)
                err = vg_json_set_int(r->doc, defs[i].name, num);
            else
                err = vg_json_set_str(r->doc, defs[i].name, v);
            if (!err)
                err = vg_resource_set_source(r, defs[i].name, src);
        }
        /* every other name as written */
        for (size_t i = 0; !err && i < vg_json_len(c.values); i++) {
            const char *k = vg_json_key_at(c.values, i);
            if (vg_json_get(r->doc, k) || (r->errors && vg_json_get(r->errors, k)))
                continue;
            err = vg_json_set(r->doc, k, vg_json_clone(vg_json_at(c.values, i)));
            if (!err)
                err = vg_resource_set_source(r, k, vg_json_get_str(vg_json_at(c.sources, i)));
        }
    }
    vg_json_free(c.values);
    vg_json_free(c.sources);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}

/* ------------------------------------------------------------------ */
/* pwquality                                                           */
/* ------------------------------------------------------------------ */

enum pwq_kind { PWQ_INT, PWQ_STR, PWQ_SET };

static const struct {
    const char *name;
    enum pwq_kind kind;
    int def;
} pwq[] = {
    { "difok", PWQ_INT, 1 },          { "minlen", PWQ_INT, 8 },
    { "dcredit", PWQ_INT, 0 },        { "ucredit", PWQ_INT, 0 },
    { "lcredit", PWQ_INT, 0 },        { "ocredit", PWQ_INT, 0 },
    { "minclass", PWQ_INT, 0 },       { "maxrepeat", PWQ_INT, 0 },
    { "maxclassrepeat", PWQ_INT, 0 }, { "maxsequence", PWQ_INT, 0 },
    { "gecoscheck", PWQ_INT, 0 },     { "dictcheck", PWQ_INT, 1 },
    { "usercheck", PWQ_INT, 1 },      { "usersubstr", PWQ_INT, 0 },
    { "enforcing", PWQ_INT, 1 },      { "retry", PWQ_INT, 1 },
    { "badwords", PWQ_STR, 0 },       { "dictpath", PWQ_STR, 0 },
    { "enforce_for_root", PWQ_SET, 0 }, { "local_users_only", PWQ_SET, 0 },
};

#define NPWQ (sizeof(pwq) / sizeof(pwq[0]))

struct pwq_state {
    struct vg_json *val[NPWQ];
    char src[NPWQ][HOST_MAX_PATH + 64];
    bool pam[NPWQ];                   /* the value is a pam_pwquality argument */
    char stop[HOST_MAX_PATH + 160];   /* where libpwquality stopped reading, and why */
    bool nomem;
};

static int pwq_index(const char *name)
{
    for (size_t i = 0; i < NPWQ; i++)
        if (strcasecmp(pwq[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* libpwquality's set_name_value(): 0, or -1 when it would refuse the
 * setting (unknown name, bad number). */
static int pwq_set(struct pwq_state *s, const char *name, const char *value, const char *where)
{
    int i = pwq_index(name);
    if (i < 0)
        return -1;
    struct vg_json *v = NULL;
    if (pwq[i].kind == PWQ_INT) {
        errno = 0;
        char *end = NULL;
        long n = strtol(value, &end, 10);
        if (errno || !*value || *end || n >= INT_MAX || n <= INT_MIN)
            return -1;
        if (strcmp(pwq[i].name, "minlen") == 0 && n < 6)
            n = 6;
        if (strcmp(pwq[i].name, "minclass") == 0 && n > 4)
            n = 4;
        v = vg_json_int(n);
    } else if (pwq[i].kind == PWQ_STR) {
        v = vg_json_str(value);
    } else {
        v = vg_json_bool(true);
    }
    if (!v) {
        s->nomem = true;
        return 0;
    }
    vg_json_free(s->val[i]);
    s->val[i] = v;
    snprintf(s->src[i], sizeof(s->src[i]), "%s", where);
    return 0;
}

static void pwq_line(void *arg, char *line, const char *where)
{
    struct pwq_state *s = arg;
    if (s->stop[0])
        return;
    if (strlen(line) > 1023) {
        snprintf(s->stop, sizeof(s->stop), "%s: a line longer than libpwquality reads; it "
                 "ignores the rest of the configuration", where);
        return;
    }
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *p = trim(line);
    if (!*p)
        return;
    char *name = p;
    while (*p && !isspace((unsigned char)*p) && *p != '=')
        p++;
    bool eq = *p == '=';
    if (*p)
        *p++ = '\0';
    while (*p && (isspace((unsigned char)*p) || (*p == '=' && !eq))) {
        if (*p == '=')
            eq = true;
        p++;
    }
    if (pwq_set(s, name, p, where) != 0)
        snprintf(s->stop, sizeof(s->stop), "%s: libpwquality refuses \"%s\" and ignores the "
                 "rest of the configuration", where, name);
}

struct pam_state {
    char line[HOST_MAX_PATH + 32];
    char args[4096];
    bool found;
    bool too_long;   /* the arguments do not fit args: they cannot be told */
};

/* The first "password ... pam_pwquality.so ARGS" line of a PAM file (a
 * logical line: see read_pam()). */
static void pam_line(void *arg, char *line, const char *where)
{
    struct pam_state *p = arg;
    if (p->found)
        return;
    char *s = trim(line);
    if (!*s)
        return;
    char *type = s;
    s += strcspn(s, " \t");
    if (!*s)
        return;
    *s++ = '\0';
    if (strcasecmp(type, "password") != 0 && strcasecmp(type, "-password") != 0)
        return;
    s += strspn(s, " \t");
    /* the control: a word, or [...] with blanks inside */
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (!close)
            return;
        s = close + 1;
    } else {
        s += strcspn(s, " \t");
    }
    s += strspn(s, " \t");
    char *module = s;
    s += strcspn(s, " \t");
    if (*s)
        *s++ = '\0';
    const char *base = strrchr(module, '/');
    base = base ? base + 1 : module;
    if (strcmp(base, "pam_pwquality.so") != 0)
        return;
    p->found = true;
    snprintf(p->line, sizeof(p->line), "%s", where);
    if (strlen(s) >= sizeof(p->args))
        p->too_long = true;
    else
        snprintf(p->args, sizeof(p->args), "%s", s);
}

/* Reads a PAM configuration file the way Linux-PAM's _pam_assemble_line()
 * does: on each line '#' starts a comment, and a line that then ends in
 * '\' goes on with the next one. fn gets each logical line, named by its
 * first line. 0 or a read error. */
static int read_pam(const struct host_root *hr, const char *path, line_fn *fn, void *arg)
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
    char *end = b.data + b.len;
    size_t lineno = 0, first = 0;
    for (char *p = b.data; p < end && !e;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = '\0';
        lineno++;
        if (!logical.len)
            first = lineno;
        char *hash = strchr(p, '#');
        if (hash)
            *hash = '\0';
        size_t n = strlen(p);
        while (n && (blank(p[n - 1]) || p[n - 1] == '\n'))
            p[--n] = '\0';
        bool more = n && p[n - 1] == '\\' && nl;
        if (more)
            p[--n] = '\0';
        if (vg_buf_append(&logical, p, n) != VG_OK || (more && vg_buf_appendc(&logical, ' ')))
            e = ENOMEM;
        if (!e && !more) {
            char where[HOST_MAX_PATH + 32];
            snprintf(where, sizeof(where), "%s:%zu", path, first);
            char *text = logical.data ? logical.data : (char *)"";
            fn(arg, text, where);
            vg_buf_reset(&logical);
        }
        p = nl ? nl + 1 : end;
    }
    vg_buf_free(&logical);
    vg_buf_free(&b);
    return e;
}

/* Applies pam_pwquality's arguments (pam_pwquality.c's _pam_parse()). */
static void pam_args(struct pwq_state *s, const struct pam_state *p)
{
    char args[sizeof(p->args)];
    snprintf(args, sizeof(args), "%s", p->args);
    char *save = NULL;
    for (char *a = strtok_r(args, " \t", &save); a; a = strtok_r(NULL, " \t", &save)) {
        if (strcmp(a, "debug") == 0 || strncmp(a, "type=", 5) == 0 ||
            strncmp(a, "authtok_type", 12) == 0 || strncmp(a, "use_authtok", 11) == 0 ||
            strncmp(a, "use_first_pass", 14) == 0 || strncmp(a, "try_first_pass", 14) == 0 ||
            strncmp(a, "difignore=", 10) == 0 || strncmp(a, "reject_username", 15) == 0)
            continue;
        if (strncmp(a, "enforce_for_root", 16) == 0) {
            pwq_set(s, "enforce_for_root", "", p->line);
            continue;
        }
        if (strncmp(a, "local_users_only", 16) == 0) {
            pwq_set(s, "local_users_only", "", p->line);
            continue;
        }
        char *eq = strchr(a, '=');
        const char *value = "";
        if (eq) {
            *eq = '\0';
            value = eq + 1;
        }
        pwq_set(s, a, value, p->line);   /* a broken option is logged and ignored */
    }
}

static enum vg_err pwquality_resource(const struct host_root *hr, const char *host_name,
                                      struct vg_resource_list *out)
{
    char id[512], why[128], msg[HOST_MAX_PATH + 256], errpath[HOST_MAX_PATH];
    struct pwq_state s;
    memset(&s, 0, sizeof(s));
    struct pam_state pam;
    memset(&pam, 0, sizeof(pam));
    struct host_strv files = { 0 };
    struct vg_json *read = vg_json_array();
    char fatal[HOST_MAX_PATH + 192] = "";
    struct vg_resource *r = vg_resource_new(
        "host.pwquality", host_resource_id(id, sizeof(id), host_name, "pwquality"), "pwquality",
        "configuration", "linux-pwquality");
    enum vg_err err = r && read ? VG_OK : VG_ERR_NOMEM;

    static const char *const dirs[] = { "/etc/security/pwquality.conf.d", NULL };
    int e = err ? 0 : host_conf_files(hr, dirs, ".conf", &files, NULL, errpath, sizeof(errpath));
    if (e == ENOMEM)
        err = VG_ERR_NOMEM;
    else if (e)
        snprintf(fatal, sizeof(fatal), "cannot list %s: %s", errpath, why_of(e, why, sizeof(why)));
    if (!err && !e && host_strv_push(&files, "/etc/security/pwquality.conf"))
        err = VG_ERR_NOMEM;
    for (size_t i = 0; !err && !fatal[0] && !s.stop[0] && i < files.n; i++) {
        e = each_line(hr, files.v[i], pwq_line, &s);
        if (e == ENOMEM || s.nomem)
            err = VG_ERR_NOMEM;
        else if (e == 0)
            err = vg_json_push(read, vg_json_str(files.v[i]));
        else if (e != ENOENT)
            snprintf(fatal, sizeof(fatal), "cannot read %s: %s", files.v[i],
                     why_of(e, why, sizeof(why)));
    }

    /* PAM: is the module in the password stack, and with what arguments */
    char pam_fatal[HOST_MAX_PATH + 192] = "";
    bool pam_missing = false;
    if (!err) {
        e = read_pam(hr, "/etc/pam.d/common-password", pam_line, &pam);
        if (e == ENOMEM)
            err = VG_ERR_NOMEM;
        else if (e == ENOENT)
            pam_missing = true;
        else if (e)
            snprintf(pam_fatal, sizeof(pam_fatal), "cannot read /etc/pam.d/common-password: %s",
                     why_of(e, why, sizeof(why)));
        else if (pam.too_long)
            snprintf(pam_fatal, sizeof(pam_fatal), "the pam_pwquality line at %s has longer "
                     "arguments than Vigil reads", pam.line);
    }
    if (!err && pam.found) {
        /* the config's values stay unknown if reading it stopped, but the
         * arguments are applied whatever happened before */
        struct pwq_state args;
        memset(&args, 0, sizeof(args));
        pam_args(&args, &pam);
        if (args.nomem)
            err = VG_ERR_NOMEM;
        for (size_t i = 0; i < NPWQ; i++) {
            if (!args.val[i])
                continue;
            vg_json_free(s.val[i]);
            s.val[i] = args.val[i];
            args.val[i] = NULL;
            s.pam[i] = true;
            snprintf(s.src[i], sizeof(s.src[i]), "%s (pam_pwquality argument)", pam.line);
        }
        for (size_t i = 0; i < NPWQ; i++)
            vg_json_free(args.val[i]);
    }

    for (size_t i = 0; !err && i < NPWQ; i++) {
        const char *name = pwq[i].name;
        bool from_pam = s.pam[i];
        if (pam_fatal[0]) {
            err = vg_resource_set_error(r, name, pam_fatal);
            continue;
        }
        if ((fatal[0] || s.stop[0]) && !from_pam) {
            err = vg_resource_set_error(r, name, fatal[0] ? fatal : s.stop);
            continue;
        }
        struct vg_json *v = s.val[i];
        s.val[i] = NULL;
        const char *src = s.src[i];
        if (!v) {
            src = "default";
            v = pwq[i].kind == PWQ_INT   ? vg_json_int(pwq[i].def)
                : pwq[i].kind == PWQ_SET ? vg_json_bool(false)
                                         : NULL;
            if (!v && pwq[i].kind != PWQ_STR) {
                err = VG_ERR_NOMEM;
                break;
            }
            if (!v)
                continue;   /* badwords, dictpath: nothing by default */
        }
        err = vg_json_set(r->doc, name, v);
        if (!err)
            err = vg_resource_set_source(r, name, src);
    }
    if (!err && pam_fatal[0]) {
        err = vg_resource_set_error(r, "pam_enabled", pam_fatal);
    } else if (!err) {
        err = vg_json_set_bool(r->doc, "pam_enabled", pam.found);
        if (!err) {
            if (pam.found)
                snprintf(msg, sizeof(msg), "%s", pam.line);
            else if (pam_missing)
                snprintf(msg, sizeof(msg), "no /etc/pam.d/common-password");
            else
                snprintf(msg, sizeof(msg), "no pam_pwquality line in /etc/pam.d/common-password");
            err = vg_resource_set_source(r, "pam_enabled", msg);
        }
    }
    if (!err) {
        err = vg_json_set(r->doc, "config_files", read);
        read = NULL;
    }
    for (size_t i = 0; i < NPWQ; i++)
        vg_json_free(s.val[i]);
    vg_json_free(read);
    host_strv_free(&files);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}

/* ------------------------------------------------------------------ */
/* limits                                                              */
/* ------------------------------------------------------------------ */

struct limits_state {
    char value[64];
    char src[HOST_MAX_PATH + 32];
    bool found;
};

static void limits_line(void *arg, char *line, const char *where)
{
    struct limits_state *s = arg;
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *f[4];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r", &save); t && n < 4; t = strtok_r(NULL, " \t\r", &save))
        f[n++] = t;
    if (n < 4 || strcmp(f[0], "*") != 0 || strcasecmp(f[2], "core") != 0)
        return;
    if (strcasecmp(f[1], "hard") != 0 && strcmp(f[1], "-") != 0)
        return;
    snprintf(s->value, sizeof(s->value), "%s", f[3]);
    snprintf(s->src, sizeof(s->src), "%s", where);
    s->found = true;
}

static enum vg_err limits_resource(const struct host_root *hr, const char *host_name,
                                   struct vg_resource_list *out)
{
    char id[512], why[128], msg[HOST_MAX_PATH + 256], errpath[HOST_MAX_PATH];
    struct limits_state s;
    memset(&s, 0, sizeof(s));
    struct host_strv files = { 0 };
    struct vg_json *read = vg_json_array();
    struct vg_resource *r =
        vg_resource_new("host.limits", host_resource_id(id, sizeof(id), host_name, "limits"),
                        "limits", "configuration", "linux-limits");
    enum vg_err err = r && read ? VG_OK : VG_ERR_NOMEM;
    char fatal[HOST_MAX_PATH + 192] = "";
    static const char *const dirs[] = { "/etc/security/limits.d", NULL };
    int e = err ? 0 : host_strv_push(&files, "/etc/security/limits.conf");
    if (!err && !e)
        e = host_conf_files(hr, dirs, ".conf", &files, NULL, errpath, sizeof(errpath));
    if (e == ENOMEM)
        err = VG_ERR_NOMEM;
    else if (e)
        snprintf(fatal, sizeof(fatal), "cannot list %s: %s", errpath, why_of(e, why, sizeof(why)));
    for (size_t i = 0; !err && !fatal[0] && i < files.n; i++) {
        e = each_line(hr, files.v[i], limits_line, &s);
        if (e == ENOMEM)
            err = VG_ERR_NOMEM;
        else if (e == 0)
            err = vg_json_push(read, vg_json_str(files.v[i]));
        else if (e != ENOENT)
            snprintf(fatal, sizeof(fatal), "cannot read %s: %s", files.v[i],
                     why_of(e, why, sizeof(why)));
    }
    if (!err && fatal[0]) {
        err = vg_resource_set_error(r, "core_hard", fatal);
    } else if (!err && !s.found) {
        err = vg_json_set_int(r->doc, "core_hard", -1);
        if (!err)
            err = vg_resource_set_source(r, "core_hard", "no \"* hard core\" line in "
                                         "/etc/security/limits.conf or limits.d (unlimited)");
    } else if (!err) {
        long long v;
        char *end = NULL;
        errno = 0;
        if (strcasecmp(s.value, "unlimited") == 0 || strcasecmp(s.value, "infinity") == 0) {
            v = -1;
        } else {
            v = strtoll(s.value, &end, 10);
            if (errno || !end || *end || v < -1) {
                snprintf(msg, sizeof(msg), "the core limit \"%s\" at %s is not a number "
                         "pam_limits reads", s.value, s.src);
                err = vg_resource_set_error(r, "core_hard", msg);
                v = -2;
            }
        }
        if (!err && v >= -1) {
            err = vg_json_set_int(r->doc, "core_hard", v);
            if (!err)
                err = vg_resource_set_source(r, "core_hard", s.src);
        }
    }
    if (!err) {
        err = vg_json_set(r->doc, "config_files", read);
        read = NULL;
    }
    vg_json_free(read);
    host_strv_free(&files);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}

enum vg_err host_logindefs_collect(const struct host_root *hr, const char *host_name,
                                   struct vg_resource_list *out)
{
    enum vg_err err = logindefs_resource(hr, host_name, out);
    if (!err)
        err = pwquality_resource(hr, host_name, out);
    if (!err)
        err = limits_resource(hr, host_name, out);
    return err;
}
