/*
 * Local accounts from the tree's /etc/passwd, /etc/group and /etc/shadow.
 *
 * A password hash never leaves this file: a password field is reduced to
 * a class ("empty", "locked", "hash", and "shadowed" for passwd's "x") the
 * moment its line is split, and the buffer that held /etc/shadow is wiped
 * before it is freed. Lines that do not have the fields the format says
 * are skipped and counted, never trusted in part.
 */
#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNTS_MAX_FIELDS 9

/* Splits line at ':' in place. Returns the number of fields, or max + 1
 * when there are more than max. */
static size_t split_colon(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *p = line;;) {
        if (n == max)
            return max + 1;
        f[n++] = p;
        char *c = strchr(p, ':');
        if (!c)
            return n;
        *c = '\0';
        p = c + 1;
    }
}

/* A uid or gid: 1 to 10 decimal digits, at most 2^32 - 1. */
static bool parse_id(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v > 4294967295LL)
        return false;
    *out = v;
    return true;
}

/* A day count of /etc/shadow: a number, or null when empty or not one. */
static struct vg_json *days(const char *s)
{
    int64_t v;
    if (*s == '-' && parse_id(s + 1, &v))
        return vg_json_int(-v);
    if (parse_id(s, &v))
        return vg_json_int(v);
    return vg_json_null();
}

const char *host_password_class(const char *field)
{
    if (!field[0])
        return "empty";
    if (field[0] == '!' || field[0] == '*')
        return "locked";
    return "hash";
}

static const char *passwd_field_class(const char *field)
{
    if (strcmp(field, "x") == 0)
        return "shadowed";
    return host_password_class(field);
}

/* Calls fn on each line of text that is neither blank nor a comment (the
 * files backend of glibc skips those too). fn returns VG_OK, or
 * VG_ERR_PARSE to count a malformed line, or VG_ERR_NOMEM. */
typedef enum vg_err (*line_fn)(char *line, struct vg_json *arr);

static enum vg_err each_line(char *text, size_t len, line_fn fn, struct vg_json *arr,
                             int64_t *malformed)
{
    char *end = text + len;
    for (char *p = text; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = '\0';
        if (stop > p && stop[-1] == '\r')
            stop[-1] = '\0';
        char *s = p;
        p = nl ? nl + 1 : end;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        enum vg_err err = fn(s, arr);
        if (err == VG_ERR_PARSE)
            (*malformed)++;
        else if (err)
            return err;
    }
    return VG_OK;
}

/* name:password:uid:gid:gecos:home:shell */
static enum vg_err passwd_line(char *line, struct vg_json *users)
{
    char *f[ACCOUNTS_MAX_FIELDS];
    int64_t uid, gid;
    if (split_colon(line, f, 7) != 7 || !f[0][0] || f[0][0] == '+' || f[0][0] == '-' ||
        !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
        return VG_ERR_PARSE;
    struct vg_json *u = vg_json_object();
    if (!u)
        return VG_ERR_NOMEM;
    enum vg_err err = vg_json_set_str(u, "name", f[0]);
    if (!err)
        err = vg_json_set_int(u, "uid", uid);
    if (!err)
        err = vg_json_set_int(u, "gid", gid);
    if (!err)
        err = vg_json_set_str(u, "home", f[5]);
    if (!err)
        err = vg_json_set_str(u, "shell", f[6]);
    if (!err)
        err = vg_json_set_str(u, "password", passwd_field_class(f[1]));
    if (err) {
        vg_json_free(u);
        return err;
    }
    return vg_json_push(users, u);
}

/* name:password:gid:member,member */
static enum vg_err group_line(char *line, struct vg_json *groups)
{
    char *f[ACCOUNTS_MAX_FIELDS];
    int64_t gid;
    if (split_colon(line, f, 4) != 4 || !f[0][0] || f[0][0] == '+' || f[0][0] == '-' ||
        !parse_id(f[2], &gid))
        return VG_ERR_PARSE;
    struct vg_json *g = vg_json_object();
    struct vg_json *members = vg_json_array();
    enum vg_err err = g && members ? VG_OK : VG_ERR_NOMEM;
    char *save = NULL;
    for (char *m = strtok_r(f[3], ",", &save); !err && m; m = strtok_r(NULL, ",", &save))
        err = vg_json_push(members, vg_json_str(m));
    if (!err)
        err = vg_json_set_str(g, "name", f[0]);
    if (!err)
        err = vg_json_set_int(g, "gid", gid);
    if (!err) {
        err = vg_json_set(g, "members", members);
        members = NULL;
    }
    vg_json_free(members);
    if (err) {
        vg_json_free(g);
        return err;
    }
    return vg_json_push(groups, g);
}

/* name:password:lastchg:min:max:warn:inactive:expire:reserved (the last
 * field may be missing). The password is classified, never copied. */
static enum vg_err shadow_line(char *line, struct vg_json *shadow)
{
    char *f[ACCOUNTS_MAX_FIELDS];
    size_t n = split_colon(line, f, 9);
    if (n < 8 || n > 9 || !f[0][0])
        return VG_ERR_PARSE;
    struct vg_json *s = vg_json_object();
    if (!s)
        return VG_ERR_NOMEM;
    enum vg_err err = vg_json_set_str(s, "name", f[0]);
    if (!err)
        err = vg_json_set_str(s, "password", host_password_class(f[1]));
    static const char *const keys[] = { "last_change", "min_days", "max_days", "warn_days",
                                        "inactive_days", "expire" };
    for (size_t i = 0; !err && i < 6; i++)
        err = vg_json_set(s, keys[i], days(f[2 + i]));
    if (err) {
        vg_json_free(s);
        return err;
    }
    return vg_json_push(shadow, s);
}

/* Reads path and parses it with fn into a new array. *arr is NULL and
 * *read_err set when the file cannot be read. */
static enum vg_err load_table(const struct host_root *hr, const char *path, line_fn fn,
                              struct vg_json **arr, int *read_err, int64_t *malformed)
{
    struct vg_buf b;
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    *arr = NULL;
    *malformed = 0;
    *read_err = host_read_file(hr, path, VG_MAX_HOST_FILE, &b, NULL);
    enum vg_err err = VG_OK;
    if (*read_err == ENOMEM)
        err = VG_ERR_NOMEM;
    if (!*read_err) {
        *arr = vg_json_array();
        err = *arr ? each_line(b.data, b.len, fn, *arr, malformed) : VG_ERR_NOMEM;
        if (err) {
            vg_json_free(*arr);
            *arr = NULL;
        }
    }
    if (b.data)
        explicit_bzero(b.data, b.cap);
    vg_buf_free(&b);
    return err;
}

enum vg_err host_ids_load(const struct host_root *hr, struct host_ids *ids)
{
    memset(ids, 0, sizeof(*ids));
    enum vg_err err = load_table(hr, "/etc/passwd", passwd_line, &ids->users, &ids->passwd_err,
                                 &ids->passwd_malformed);
    if (!err)
        err = load_table(hr, "/etc/group", group_line, &ids->groups, &ids->group_err,
                         &ids->group_malformed);
    return err;
}

void host_ids_free(struct host_ids *ids)
{
    vg_json_free(ids->users);
    vg_json_free(ids->groups);
    ids->users = ids->groups = NULL;
}

static const char *lookup(const struct vg_json *arr, const char *key, int64_t id)
{
    for (size_t i = 0; i < vg_json_len(arr); i++) {
        const struct vg_json *e = vg_json_at(arr, i);
        if (vg_json_get_int(vg_json_get(e, key)) == id)
            return vg_json_get_str(vg_json_get(e, "name"));
    }
    return NULL;
}

const char *host_ids_user_name(const struct host_ids *ids, int64_t uid)
{
    return lookup(ids->users, "uid", uid);
}

const char *host_ids_group_name(const struct host_ids *ids, int64_t gid)
{
    return lookup(ids->groups, "gid", gid);
}

/* Sets doc[field] to a copy of arr, or the resource's error for field. */
static enum vg_err put_table(struct vg_resource *r, const char *field, const char *path,
                             const struct vg_json *arr, int read_err)
{
    if (arr)
        return vg_json_set(r->doc, field, vg_json_clone(arr));
    char why[128], msg[256];
    snprintf(msg, sizeof(msg), "cannot read %s: %s", path,
             host_strerror(read_err, why, sizeof(why)));
    return vg_resource_set_error(r, field, msg);
}

enum vg_err host_accounts_collect(const struct host_root *hr, const char *host_name,
                                  const struct host_ids *ids, struct vg_resource_list *out)
{
    char id[512];
    struct vg_json *shadow = NULL;
    int shadow_err = 0;
    int64_t shadow_malformed = 0;

    struct vg_resource *r =
        vg_resource_new("host.accounts", host_resource_id(id, sizeof(id), host_name, "accounts"),
                        "accounts", "identity", "linux-accounts");
    if (!r)
        return VG_ERR_NOMEM;
    enum vg_err err = load_table(hr, "/etc/shadow", shadow_line, &shadow, &shadow_err,
                                 &shadow_malformed);
    if (!err)
        err = put_table(r, "users", "/etc/passwd", ids->users, ids->passwd_err);
    if (!err)
        err = put_table(r, "groups", "/etc/group", ids->groups, ids->group_err);
    if (!err) {
        err = put_table(r, "shadow", "/etc/shadow", shadow, shadow_err);
        vg_json_free(shadow);
        shadow = NULL;
    }
    if (!err) {
        struct vg_json *m = vg_json_child(r->doc, "malformed_lines");
        err = m ? VG_OK : VG_ERR_NOMEM;
        if (!err && ids->users)
            err = vg_json_set_int(m, "passwd", ids->passwd_malformed);
        if (!err && ids->groups)
            err = vg_json_set_int(m, "group", ids->group_malformed);
        if (!err && !shadow_err)
            err = vg_json_set_int(m, "shadow", shadow_malformed);
    }
    vg_json_free(shadow);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}
