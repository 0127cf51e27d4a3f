/*
 * What the host is: its name (/etc/hostname), its machine id
 * (/etc/machine-id) and its operating system (/etc/os-release, falling back
 * to /usr/lib/os-release as os-release(5) says), for ECS host.*.
 */
#include "host.h"
#include "../provider.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* Reads a small file into a NUL-terminated string (caller frees), or NULL
 * with *err set (ENOMEM among others). */
static char *read_small(const struct host_root *hr, const char *path, int *err)
{
    struct vg_buf b;
    vg_buf_init(&b, HOST_MAX_SMALL_FILE);
    *err = host_read_file(hr, path, HOST_MAX_SMALL_FILE, &b, NULL);
    if (*err) {
        vg_buf_free(&b);
        return NULL;
    }
    char *s = vg_buf_detach(&b);
    if (!s)
        *err = ENOMEM;
    return s;
}

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* A host name fit for host.name and for resource ids: 1 to 253 of
 * [A-Za-z0-9._-]. */
static bool valid_hostname(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
            return false;
    return true;
}

/* The first line of /etc/hostname that is neither empty nor a comment
 * (hostname(5)), or NULL. */
static enum vg_err hostname_from_file(const struct host_root *hr, char **out)
{
    int e;
    *out = NULL;
    char *text = read_small(hr, "/etc/hostname", &e);
    if (!text)
        return e == ENOMEM ? VG_ERR_NOMEM : VG_OK;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *t = trim(line);
        if (!*t || *t == '#')
            continue;
        if (valid_hostname(t)) {
            *out = strdup(t);
            if (!*out) {
                free(text);
                return VG_ERR_NOMEM;
            }
        }
        break;
    }
    free(text);
    return VG_OK;
}

static bool valid_machine_id(const char *s)
{
    if (strlen(s) != 32)
        return false;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return false;
    return true;
}

/* ---- os-release ---- */

/* Unquotes an os-release value in place, as a shell assignment would:
 * "double quotes" with \" \\ \$ \` escapes, 'single quotes' taken as they
 * are, or a bare word. */
static char *unquote(char *v)
{
    char *r = v, *w = v;
    while (*r) {
        if (*r == '"') {
            r++;
            while (*r && *r != '"') {
                if (*r == '\\' && r[1] && strchr("\"\\$`", r[1]))
                    r++;
                *w++ = *r++;
            }
            if (*r == '"')
                r++;
        } else if (*r == '\'') {
            r++;
            while (*r && *r != '\'')
                *w++ = *r++;
            if (*r == '\'')
                r++;
        } else if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r++;
        } else if (isspace((unsigned char)*r)) {
            break;   /* an unquoted blank ends the word */
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return v;
}

struct os_release {
    char *id, *id_like, *name, *version_id;
};

static void os_release_free(struct os_release *o)
{
    free(o->id);
    free(o->id_like);
    free(o->name);
    free(o->version_id);
}

static enum vg_err parse_os_release(char *text, struct os_release *o)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *t = trim(line);
        if (!*t || *t == '#')
            continue;
        char *eq = strchr(t, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *key = trim(t);
        char *val = unquote(trim(eq + 1));
        char **slot = NULL;
        if (strcmp(key, "ID") == 0)
            slot = &o->id;
        else if (strcmp(key, "ID_LIKE") == 0)
            slot = &o->id_like;
        else if (strcmp(key, "NAME") == 0)
            slot = &o->name;
        else if (strcmp(key, "VERSION_ID") == 0)
            slot = &o->version_id;
        if (!slot || !*val)
            continue;
        free(*slot);
        *slot = strdup(val);
        if (!*slot)
            return VG_ERR_NOMEM;
    }
    return VG_OK;
}

/* True when word is one of the blank-separated words of list. */
static bool has_word(const char *list, const char *word)
{
    if (!list)
        return false;
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t k = strcspn(p, " \t");
        if (k == n && strncmp(p, word, n) == 0)
            return true;
        p += k;
    }
    return false;
}

/* ECS host.os.family from ID and ID_LIKE: "debian" for Debian and its
 * derivatives, "redhat", "suse", "arch", else the first ID_LIKE word or
 * the ID. */
static char *os_family(const struct os_release *o)
{
    static const struct {
        const char *family;
        const char *ids[4];
    } families[] = {
        { "debian", { "debian", "ubuntu", NULL } },
        { "redhat", { "rhel", "fedora", "centos", NULL } },
        { "suse", { "suse", "opensuse", "sles", NULL } },
        { "arch", { "arch", NULL } },
    };
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        for (size_t j = 0; families[i].ids[j]; j++)
            if ((o->id && strcmp(o->id, families[i].ids[j]) == 0) ||
                has_word(o->id_like, families[i].ids[j]))
                return strdup(families[i].family);
    if (o->id_like && *o->id_like) {
        const char *p = o->id_like + strspn(o->id_like, " \t");
        if (*p)
            return strndup(p, strcspn(p, " \t"));
    }
    return o->id ? strdup(o->id) : NULL;
}

static enum vg_err os_info(const struct host_root *hr, struct vg_target_info *info)
{
    int e;
    char *text = read_small(hr, "/etc/os-release", &e);
    if (!text && e != ENOMEM)
        text = read_small(hr, "/usr/lib/os-release", &e);
    if (!text)
        return e == ENOMEM ? VG_ERR_NOMEM : VG_OK;
    struct os_release o = { 0 };
    enum vg_err err = parse_os_release(text, &o);
    free(text);
    if (err)
        goto out;
    if (o.id && !(info->os_platform = strdup(o.id)))
        err = VG_ERR_NOMEM;
    if (o.name && !(info->os_name = strdup(o.name)))
        err = VG_ERR_NOMEM;
    if (o.version_id && !(info->os_version = strdup(o.version_id)))
        err = VG_ERR_NOMEM;
    if ((o.id || o.id_like) && !(info->os_family = os_family(&o)))
        err = VG_ERR_NOMEM;
out:
    os_release_free(&o);
    return err;
}

enum vg_err host_target_collect(const struct host_root *hr, struct vg_target_info *info,
                                struct vg_json *scan_errors)
{
    enum vg_err err;
    int e;

    char *mid = read_small(hr, "/etc/machine-id", &e);
    if (!mid && e == ENOMEM)
        return VG_ERR_NOMEM;
    if (mid) {
        char *t = trim(mid);
        if (valid_machine_id(t) && !(info->host_id = strdup(t))) {
            free(mid);
            return VG_ERR_NOMEM;
        }
        free(mid);
    }

    err = hostname_from_file(hr, &info->host_name);
    if (err)
        return err;
    if (!info->host_name && hr->is_slash) {
        struct utsname u;
        if (uname(&u) == 0 && valid_hostname(u.nodename) &&
            !(info->host_name = strdup(u.nodename)))
            return VG_ERR_NOMEM;
    }
    if (!info->host_name) {
        /* Resource ids need a name; the machine id at least keeps two
         * hosts apart. */
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "host name unknown: %s/etc/hostname is missing or empty; using %s",
                 strcmp(hr->path, "/") == 0 ? "" : hr->path,
                 info->host_id ? "the machine id" : "\"unknown\"");
        if (scan_errors && vg_json_push(scan_errors, vg_json_str(msg)) != VG_OK)
            return VG_ERR_NOMEM;
        info->host_name = strdup(info->host_id ? info->host_id : "unknown");
        if (!info->host_name)
            return VG_ERR_NOMEM;
    }
    return os_info(hr, info);
}
