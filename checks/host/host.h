/*
 * The host provider's insides: reading a Linux system under a root
 * directory, as if that directory were "/", without running a command and
 * without the name service (no getpwnam(): names come from the tree's own
 * /etc/passwd and /etc/group).
 *
 * Paths below are host paths ("/etc/shadow"), always absolute, never with
 * the root prefix: that is what appears in documents and reasons. The
 * functions resolve them under the root themselves, following symbolic
 * links the way a chroot would: an absolute target restarts at the root,
 * ".." stops at the root, at most HOST_MAX_SYMLINKS links per lookup. Every
 * step is an openat() relative to a directory already held, with
 * O_NOFOLLOW, so nothing in the tree can lead a lookup outside the root,
 * not even by being swapped while we walk.
 *
 * Errors are errno values (positive) or the HOST_E_* codes (negative);
 * host_strerror() turns either into the words of a reason.
 */
#ifndef VG_HOST_H
#define VG_HOST_H

#include "../../agent/buf.h"
#include "../../agent/err.h"
#include "../../agent/json.h"
#include "../../agent/limits.h"
#include "../resource.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>


#define HOST_E_NOTREG   (-1)        /* not a regular file */
#define HOST_E_TOOBIG   (-2)        /* larger than the bound */
#define HOST_E_CHANGED  (-3)        /* replaced while we read it */
#define HOST_E_TOOMANY  (-4)        /* more directory entries than the bound */

struct host_root {
    int fd;              /* the root directory (O_PATH); owned */
    const char *path;    /* as configured; borrowed */
    bool is_slash;       /* the root is this system's "/" */
};

/* Opens the root. VG_ERR_NOENT with "host root DIR does not exist" or
 * "... is not a directory" in errbuf, VG_ERR_PERM / VG_ERR_IO otherwise. */
enum vg_err host_root_open(struct host_root *hr, const char *path, char *errbuf, size_t errlen);
void host_root_close(struct host_root *hr);

/* An object found under the root: the directory that holds it and its
 * name there ("." when the object is that directory itself). */
struct host_node {
    int dirfd;           /* owned; close with host_node_close() */
    char name[256];
    struct stat st;      /* of the object, links followed */
};

/* Looks path up under the root. 0 with *n filled (caller closes it), or an
 * errno (ENOENT, EACCES, ENOTDIR, ELOOP, ENAMETOOLONG, ENOMEM, ...). */
int host_resolve(const struct host_root *hr, const char *path, struct host_node *n);
void host_node_close(struct host_node *n);

/* Reads the regular file at path into out (appending, bounded by max).
 * st, when not NULL, gets its stat. 0 or an error as above, HOST_E_NOTREG,
 * EISDIR, HOST_E_TOOBIG, HOST_E_CHANGED. */
int host_read_file(const struct host_root *hr, const char *path, size_t max, struct vg_buf *out,
                   struct stat *st);

/* A growable list of owned strings. */
struct host_strv {
    char **v;
    size_t n, cap;
};

void host_strv_free(struct host_strv *s);
/* Appends a copy of s; ENOMEM or 0. */
int host_strv_push(struct host_strv *sv, const char *s);
bool host_strv_has(const struct host_strv *sv, const char *s);

/* Expands a glob(3) pattern (an absolute host path with *, ? and [...])
 * the way sshd's glob(pattern, 0) does, under the root: every existing
 * path that matches, sorted, with a leading "." matched only explicitly.
 * 0 (no match is not an error), ENOMEM, HOST_E_TOOMANY past max results,
 * or the error of a directory that exists but cannot be read (EACCES):
 * a silent gap there could hide a setting; errpath then names the
 * directory (or the pattern, for other errors). */
int host_glob(const struct host_root *hr, const char *pattern, size_t max, struct host_strv *out,
              char *errpath, size_t errpathlen);

/* The words for an error: "permission denied", "no such file or
 * directory", ...; into buf, which is returned. */
const char *host_strerror(int e, char *buf, size_t len);

/* "host://NAME/SUFFIX" into buf, which is returned. */
const char *host_resource_id(char *buf, size_t len, const char *host_name, const char *suffix);

/* ---- the collectors, each in its own file ---- */

struct vg_target_info;

/* target.c: host name, machine id and os-release into info. Problems that
 * leave the scan going are appended to scan_errors. VG_ERR_NOMEM only. */
enum vg_err host_target_collect(const struct host_root *hr, struct vg_target_info *info,
                                struct vg_json *scan_errors);

/* accounts.c: the tree's own passwd and group tables, read once and used by
 * the file collector (owner and group names) and the accounts resource. */
struct host_ids {
    struct vg_json *users;     /* array of {"name","uid","gid","home","shell","password"} */
    struct vg_json *groups;    /* array of {"name","gid","members":[...]} */
    int passwd_err;            /* 0, or why /etc/passwd could not be read */
    int group_err;
    int64_t passwd_malformed;
    int64_t group_malformed;
};

enum vg_err host_ids_load(const struct host_root *hr, struct host_ids *ids);
void host_ids_free(struct host_ids *ids);
/* The name of uid / gid in the tree's tables, or NULL; borrowed. */
const char *host_ids_user_name(const struct host_ids *ids, int64_t uid);
const char *host_ids_group_name(const struct host_ids *ids, int64_t gid);

/* Adds the host.accounts resource. */
enum vg_err host_accounts_collect(const struct host_root *hr, const char *host_name,
                                  const struct host_ids *ids, struct vg_resource_list *out);

/* files.c: fills object o with what a stat says of a file: exists,
 * file_type, mode ("0640"), uid, gid, owner and group (names from the
 * root's own passwd and group, else the number). Shared by the file and
 * cron collectors. */
enum vg_err host_stat_doc(struct vg_json *o, const struct stat *st, const struct host_ids *ids);

/* files.c: adds one host.file.<name> resource per checked file. */
enum vg_err host_files_collect(const struct host_root *hr, const char *host_name,
                               const struct host_ids *ids, struct vg_resource_list *out);

/* sshd.c: adds the host.sshd resource. */
enum vg_err host_sshd_collect(const struct host_root *hr, const char *host_name,
                              struct vg_resource_list *out);

/* sshd's convtime(): "90", "1m30s", "2h" -> seconds; -1 when malformed. */
long host_sshd_convtime(const char *s);

/* Classifies a password field without keeping it: "empty", "locked"
 * ("!..." or "*..."), or "hash". */
const char *host_password_class(const char *field);

/* ---- packages, services, audit, firewall, cron ---- */

/* dpkg.c: adds host.packages, what dpkg's database says is installed
 * (/var/lib/dpkg/status, then the journal in /var/lib/dpkg/updates/). */
enum vg_err host_packages_collect(const struct host_root *hr, const char *host_name,
                                  struct vg_resource_list *out);
/* Parses deb-status(5) text (the status file or one journal file) into
 * records, an object "PACKAGE:ARCH" -> {"package","architecture",
 * "version","want","status"}; a later record replaces an earlier one, as
 * dpkg applies its journal. VG_OK, VG_ERR_NOMEM, or VG_ERR_PARSE with
 * "line N: why" in errbuf (dpkg itself refuses such a database). */
enum vg_err host_dpkg_parse(const char *text, size_t len, struct vg_json *records, char *errbuf,
                            size_t errlen);
/* Sets the host.packages fields ("installed", "names", "config_files",
 * "count") built from records into doc. VG_OK or VG_ERR_NOMEM. */
enum vg_err host_dpkg_doc(const struct vg_json *records, struct vg_json *doc);

/* systemd.c: adds host.services, unit files and their enablement read
 * from the unit directories (no systemctl, no /run). */
enum vg_err host_services_collect(const struct host_root *hr, const char *host_name,
                                  struct vg_resource_list *out);

/* audit.c: adds host.audit, the audit rules (the *.rules files of
 * /etc/audit/rules.d, else /etc/audit/audit.rules) and
 * /etc/audit/auditd.conf. */
enum vg_err host_audit_collect(const struct host_root *hr, const char *host_name,
                               struct vg_resource_list *out);
/* Parses audit rules in auditctl -R syntax, appending to doc's "watches"
 * and "syscalls" arrays and setting its control keys ("enabled",
 * "immutable", "backlog_limit", "failure_mode"). file names the text in
 * sources. VG_OK, VG_ERR_NOMEM, or VG_ERR_PARSE with "FILE:LINE: why" in
 * errbuf. */
enum vg_err host_audit_parse_rules(const char *text, size_t len, const char *file,
                                   struct vg_json *doc, char *errbuf, size_t errlen);

/* nftables.c: adds host.firewall, the nftables ruleset that
 * /etc/nftables.conf (and what it includes) loads at boot. */
enum vg_err host_firewall_collect(const struct host_root *hr, const char *host_name,
                                  struct vg_resource_list *out);
/* Reads nftables text as `nft -f` would, as far as tables and chains go,
 * setting "tables", "chains" and "files" into doc. Includes are read under
 * hr, or refused when hr is NULL. VG_OK, VG_ERR_NOMEM, or VG_ERR_PARSE
 * with "FILE:LINE: why" in errbuf (syntax we do not know is an error, not
 * a guess). */
enum vg_err host_nft_parse(const struct host_root *hr, const char *text, size_t len,
                           const char *file, struct vg_json *doc, char *errbuf, size_t errlen);

/* cron.c: adds host.cron, modes and owners of /etc/crontab, the
 * /etc/cron.* directories and the cron and at allow/deny files. */
enum vg_err host_cron_collect(const struct host_root *hr, const char *host_name,
                              const struct host_ids *ids, struct vg_resource_list *out);

/* ---- kernel, boot and login policy ---- */

/* Bounds of these collectors (input from the host never grows past them). */
#define HOST_MAX_CONF_FILES   1024    /* files of one *.d configuration set */
#define HOST_MAX_SYSCTL_KEYS  4096    /* sysctl keys tracked (and ignored lines listed) */
#define HOST_MAX_MOUNTS       16384   /* fstab or mounts lines kept */
#define HOST_MAX_MODULES      4096    /* kernel modules named or loaded */
#define HOST_MAX_BOOT_PARAMS  1024    /* parameters of one kernel command line */
#define HOST_MAX_BOOT_ENTRIES 256     /* linux lines kept from grub.cfg */
#define HOST_MAX_SHELL_VARS   256     /* variables tracked in /etc/default/grub */
#define HOST_MAX_GLOBS        256     /* sysctl glob keys, modprobe install patterns */

/* The files of a configuration set as systemd's conf_files_list() and
 * kmod list them: every entry named *SUFFIX (not hidden) in dirs (a NULL-
 * terminated list, highest precedence first); of entries of the same name
 * only the first directory's counts; sorted by name. An entry that is a
 * link to /dev/null (or resolves to a character device) masks its name:
 * its path goes to masked (when not NULL), not to files; a dangling link
 * or a directory is skipped. Paths are appended. 0, ENOMEM,
 * HOST_E_TOOMANY, or the error of a directory that exists but cannot be
 * read (errpath names it): a silent gap could hide a setting. */
int host_conf_files(const struct host_root *hr, const char *const *dirs, const char *suffix,
                    struct host_strv *files, struct host_strv *masked, char *errpath,
                    size_t errpathlen);

/* sysctl.c: adds host.sysctl, runtime (/proc/sys) and persisted
 * (sysctl.d, /etc/sysctl.conf) kernel parameters. */
enum vg_err host_sysctl_collect(const struct host_root *hr, const char *host_name,
                                struct vg_resource_list *out);
/* The slash form of a sysctl key as systemd-sysctl normalizes it
 * ("net.ipv4.conf.eth0/100.rp_filter" -> "net/ipv4/conf/eth0.100/rp_filter");
 * false for a key we refuse (empty, "..", too long or deep). */
bool host_sysctl_normalize(const char *key, char *out, size_t len);

/* mounts.c: adds host.mounts, /etc/fstab, /tmp at boot (fstab, tmp.mount)
 * and the mounts in force (/proc/1/mounts). */
enum vg_err host_mounts_collect(const struct host_root *hr, const char *host_name,
                                struct vg_resource_list *out);
/* Parses fstab(5) / /proc/mounts text, appending to entries one
 * {"device","mountpoint","fstype","options":[...],"source":"FILE:LINE"}
 * per line, and to malformed (when not NULL) {"source","mountpoint"?} per
 * line of fewer than three fields; at most max of each (*truncated set
 * past it). VG_OK or VG_ERR_NOMEM. */
enum vg_err host_fstab_parse(const char *text, size_t len, const char *file,
                             struct vg_json *entries, struct vg_json *malformed, size_t max,
                             bool *truncated);

/* modules.c: adds host.modules, modprobe.d install/blacklist lines per
 * module and the loaded modules (/proc/modules). */
enum vg_err host_modules_collect(const struct host_root *hr, const char *host_name,
                                 struct vg_resource_list *out);

/* grub.c: adds host.grub, the kernel command line from /etc/default/grub
 * (+ grub.d), /boot/grub/grub.cfg and /proc/cmdline. */
enum vg_err host_grub_collect(const struct host_root *hr, const char *host_name,
                              struct vg_resource_list *out);
/* Splits a kernel command line into params (an object) as the kernel
 * does: name -> integer, string, or true for a bare name; the last of a
 * name wins; "--" ends it. VG_OK or VG_ERR_NOMEM. */
enum vg_err host_boot_params(const char *cmdline, struct vg_json *params);
/* Runs shell text the way grub.c reads /etc/default/grub and returns var's
 * value (caller frees), or NULL with why it is unknown in why ("" when
 * var is not set). */
char *host_grub_shell_value(const char *text, size_t len, const char *var, char *why,
                            size_t whylen);

/* logindefs.c: adds host.logindefs (/etc/login.defs), host.pwquality
 * (pwquality.conf(.d) and pam_pwquality's arguments) and host.limits
 * (the hard core-file limit of limits.conf(.d)). */
enum vg_err host_logindefs_collect(const struct host_root *hr, const char *host_name,
                                   struct vg_resource_list *out);

#endif
