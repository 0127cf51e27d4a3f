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

#endif
