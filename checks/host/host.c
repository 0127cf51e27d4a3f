/*
 * The host provider: a Linux system read from files under a root
 * directory ("/", or "/host" with the host mounted into a container).
 * It runs no command and asks no name service; see host.h for how paths
 * stay inside the root.
 *
 * Resources, in this order:
 *   host.sshd           host://NAME/sshd              configuration / linux-sshd
 *   host.file.passwd    host://NAME/file/etc/passwd   file / linux-file
 *   host.file.shadow    host://NAME/file/etc/shadow
 *   host.file.group     host://NAME/file/etc/group
 *   host.file.gshadow   host://NAME/file/etc/gshadow
 *   host.accounts       host://NAME/accounts          identity / linux-accounts
 *   host.packages       host://NAME/packages          package / linux-dpkg
 *   host.services       host://NAME/services          configuration / linux-systemd
 *   host.audit          host://NAME/audit             configuration / linux-auditd
 *   host.firewall       host://NAME/firewall          configuration / linux-nftables
 *   host.cron           host://NAME/cron              configuration / linux-cron
 *   host.sysctl         host://NAME/sysctl            configuration / linux-sysctl
 *   host.mounts         host://NAME/mounts            configuration / linux-mounts
 *   host.modules        host://NAME/kernel-modules    configuration / linux-kernel-modules
 *   host.grub           host://NAME/grub              configuration / linux-grub
 *   host.logindefs      host://NAME/login.defs        configuration / linux-login-defs
 *   host.pwquality      host://NAME/pwquality         configuration / linux-pwquality
 *   host.limits         host://NAME/limits            configuration / linux-limits
 */
#include "host.h"
#include "../provider.h"

#include <stdio.h>
#include <string.h>

static enum vg_err host_collect(const struct vg_scan_params *p, struct vg_resource_list *out,
                                struct vg_target_info *info, struct vg_json *scan_errors,
                                char *errbuf, size_t errlen)
{
    const char *root = p->root && *p->root ? p->root : "/";
    struct host_root hr;
    struct host_ids ids;
    memset(&ids, 0, sizeof(ids));

    enum vg_err err = host_root_open(&hr, root, errbuf, errlen);
    if (err)
        return err;
    err = host_target_collect(&hr, info, scan_errors);
    if (!err)
        err = host_ids_load(&hr, &ids);
    if (!err)
        err = host_sshd_collect(&hr, info->host_name, out);
    if (!err)
        err = host_files_collect(&hr, info->host_name, &ids, out);
    if (!err)
        err = host_accounts_collect(&hr, info->host_name, &ids, out);
    if (!err)
        err = host_packages_collect(&hr, info->host_name, out);
    if (!err)
        err = host_services_collect(&hr, info->host_name, out);
    if (!err)
        err = host_audit_collect(&hr, info->host_name, out);
    if (!err)
        err = host_firewall_collect(&hr, info->host_name, out);
    if (!err)
        err = host_cron_collect(&hr, info->host_name, &ids, out);
    if (!err)
        err = host_sysctl_collect(&hr, info->host_name, out);
    if (!err)
        err = host_mounts_collect(&hr, info->host_name, out);
    if (!err)
        err = host_modules_collect(&hr, info->host_name, out);
    if (!err)
        err = host_grub_collect(&hr, info->host_name, out);
    if (!err)
        err = host_logindefs_collect(&hr, info->host_name, out);
    host_ids_free(&ids);
    host_root_close(&hr);
    if (err)
        snprintf(errbuf, errlen, "cannot collect host resources under %s: %s", root,
                 vg_strerror(err));
    return err;
}

const struct vg_provider_type vg_provider_host = {
    .name = "host",
    .collect = host_collect,
};
