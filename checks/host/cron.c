/*
 * cron and at: who may schedule jobs and who may change the system's
 * scheduled jobs. One resource, host.cron, with one top-level field per
 * file or directory, so that a file we cannot stat makes only the rules
 * that read it unknown:
 *
 *   crontab        /etc/crontab
 *   cron_hourly    /etc/cron.hourly     (and cron_daily, cron_weekly,
 *   cron_monthly   /etc/cron.monthly     cron_monthly the same way)
 *   cron_d         /etc/cron.d
 *   cron_allow     /etc/cron.allow      cron_deny   /etc/cron.deny
 *   at_allow       /etc/at.allow        at_deny     /etc/at.deny
 *   cron_daemon    /usr/sbin/cron       whether cron is installed
 *   at_command     /usr/bin/at          whether at is installed
 *
 * each {"path", "exists", and when it exists "file_type", "mode" ("0600"),
 * "uid", "gid", "owner", "group"}, owner and group named from the tree's
 * own /etc/passwd and /etc/group. Links are followed inside the root, as
 * `stat -L` would (the mode that protects the data is the target's); a
 * missing file, or a path through something that is not a directory, is
 * "exists": false. (files.c does the same for single files, each as its
 * own resource; this keeps a copy of its few lines so that either can
 * change without the other.)
 */
#include "host.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *field;
    const char *path;
} cron_paths[] = {
    { "crontab", "/etc/crontab" },
    { "cron_hourly", "/etc/cron.hourly" },
    { "cron_daily", "/etc/cron.daily" },
    { "cron_weekly", "/etc/cron.weekly" },
    { "cron_monthly", "/etc/cron.monthly" },
    { "cron_d", "/etc/cron.d" },
    { "cron_allow", "/etc/cron.allow" },
    { "cron_deny", "/etc/cron.deny" },
    { "at_allow", "/etc/at.allow" },
    { "at_deny", "/etc/at.deny" },
    { "cron_daemon", "/usr/sbin/cron" },
    { "at_command", "/usr/bin/at" },
};

enum vg_err host_cron_collect(const struct host_root *hr, const char *host_name,
                              const struct host_ids *ids, struct vg_resource_list *out)
{
    char id[512];
    struct vg_resource *r = vg_resource_new("host.cron",
                                            host_resource_id(id, sizeof(id), host_name, "cron"),
                                            "cron", "configuration", "linux-cron");
    if (!r)
        return VG_ERR_NOMEM;
    enum vg_err err = VG_OK;
    for (size_t i = 0; !err && i < sizeof(cron_paths) / sizeof(cron_paths[0]); i++) {
        struct vg_json *o = vg_json_child(r->doc, cron_paths[i].field);
        if (!o || vg_json_set_str(o, "path", cron_paths[i].path) != VG_OK) {
            err = VG_ERR_NOMEM;
            break;
        }
        struct host_node n;
        int e = host_resolve(hr, cron_paths[i].path, &n);
        if (e == 0) {
            err = host_stat_doc(o, &n.st, ids);
            host_node_close(&n);
        } else if (e == ENOENT || e == ENOTDIR) {
            err = vg_json_set_bool(o, "exists", false);
        } else if (e == ENOMEM) {
            err = VG_ERR_NOMEM;
        } else {
            char words[128], msg[VG_MAX_REASON];
            snprintf(msg, sizeof(msg), "cannot stat %s: %s", cron_paths[i].path,
                     host_strerror(e, words, sizeof(words)));
            err = vg_resource_set_error(r, cron_paths[i].field, msg);
        }
    }
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}
