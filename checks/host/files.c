/*
 * Mode and ownership of the files that hold the local accounts, one
 * resource each, each of its own type (host.file.shadow, ...) so that a
 * rule selects its file by its resource: line, not by a condition.
 *
 * A symbolic link is followed (inside the root), as `stat -L` would: the
 * mode that protects the data is the target's.
 */
#include "host.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *type;
    const char *path;
} checked[] = {
    { "host.file.passwd", "/etc/passwd" },
    { "host.file.shadow", "/etc/shadow" },
    { "host.file.group", "/etc/group" },
    { "host.file.gshadow", "/etc/gshadow" },
};

static const char *file_type(mode_t m)
{
    if (S_ISREG(m))
        return "file";
    if (S_ISDIR(m))
        return "directory";
    if (S_ISLNK(m))
        return "symlink";
    if (S_ISFIFO(m))
        return "fifo";
    if (S_ISSOCK(m))
        return "socket";
    if (S_ISCHR(m))
        return "char_device";
    if (S_ISBLK(m))
        return "block_device";
    return "unknown";
}

enum vg_err host_stat_doc(struct vg_json *o, const struct stat *st, const struct host_ids *ids)
{
    char mode[8], num[24];
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st->st_mode & 07777));
    enum vg_err err = vg_json_set_bool(o, "exists", true);
    if (!err)
        err = vg_json_set_str(o, "file_type", file_type(st->st_mode));
    if (!err)
        err = vg_json_set_str(o, "mode", mode);
    if (!err)
        err = vg_json_set_int(o, "uid", (int64_t)st->st_uid);
    if (!err)
        err = vg_json_set_int(o, "gid", (int64_t)st->st_gid);
    if (!err) {
        const char *name = host_ids_user_name(ids, (int64_t)st->st_uid);
        snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)st->st_uid);
        err = vg_json_set_str(o, "owner", name ? name : num);
    }
    if (!err) {
        const char *name = host_ids_group_name(ids, (int64_t)st->st_gid);
        snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)st->st_gid);
        err = vg_json_set_str(o, "group", name ? name : num);
    }
    return err;
}

enum vg_err host_files_collect(const struct host_root *hr, const char *host_name,
                               const struct host_ids *ids, struct vg_resource_list *out)
{
    for (size_t i = 0; i < sizeof(checked) / sizeof(checked[0]); i++) {
        char id[512], suffix[256];
        snprintf(suffix, sizeof(suffix), "file%s", checked[i].path);
        struct vg_resource *r =
            vg_resource_new(checked[i].type, host_resource_id(id, sizeof(id), host_name, suffix),
                            checked[i].path, "file", "linux-file");
        if (!r)
            return VG_ERR_NOMEM;
        enum vg_err err = vg_json_set_str(r->doc, "path", checked[i].path);
        struct host_node n;
        int e = err ? 0 : host_resolve(hr, checked[i].path, &n);
        if (err) {
            /* out of memory: nothing more to do */
        } else if (e == 0) {
            err = host_stat_doc(r->doc, &n.st, ids);
            host_node_close(&n);
        } else if (e == ENOENT) {
            err = vg_json_set_bool(r->doc, "exists", false);
        } else if (e == ENOMEM) {
            err = VG_ERR_NOMEM;
        } else {
            char why[128], msg[256];
            snprintf(msg, sizeof(msg), "cannot stat %s: %s", checked[i].path,
                     host_strerror(e, why, sizeof(why)));
            err = vg_resource_set_error(r, "*", msg);
        }
        if (err) {
            vg_resource_destroy(r);
            return err;
        }
        err = vg_resource_list_add(out, r);
        if (err)
            return err;
    }
    return VG_OK;
}
