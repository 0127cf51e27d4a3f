/*
 * Reading files under the host root without ever leaving it.
 *
 * A lookup walks the host path one component at a time from a directory
 * it holds open: fstatat(AT_SYMLINK_NOFOLLOW) tells a link from the rest,
 * a link's target is read with readlinkat() and spliced in front of what
 * is left of the path (an absolute target drops back to the root), and a
 * directory is entered with openat(O_NOFOLLOW | O_DIRECTORY). ".." pops
 * the stack of held directories and stays at the root when it is empty.
 * Since each step is relative to a held descriptor and refuses to follow a
 * link by itself, a tree changing under us can make a lookup fail, never
 * escape.
 */
#define _GNU_SOURCE   /* O_PATH */

#include "host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef O_PATH
#define O_PATH O_RDONLY
#endif

/* ------------------------------------------------------------------ */
/* The root                                                            */
/* ------------------------------------------------------------------ */

enum vg_err host_root_open(struct host_root *hr, const char *path, char *errbuf, size_t errlen)
{
    struct stat st;
    char why[128];

    hr->fd = -1;
    hr->path = path;
    hr->is_slash = false;
    if (stat(path, &st) != 0) {
        int e = errno;
        if (e == ENOENT) {
            snprintf(errbuf, errlen, "host root %s does not exist", path);
            return VG_ERR_NOENT;
        }
        if (e == ENOTDIR) {
            snprintf(errbuf, errlen, "host root %s is not a directory", path);
            return VG_ERR_NOENT;
        }
        snprintf(errbuf, errlen, "cannot open host root %s: %s", path,
                 host_strerror(e, why, sizeof(why)));
        return e == EACCES || e == EPERM ? VG_ERR_PERM : VG_ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(errbuf, errlen, "host root %s is not a directory", path);
        return VG_ERR_NOENT;
    }
    hr->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (hr->fd < 0) {
        int e = errno;
        snprintf(errbuf, errlen, "cannot open host root %s: %s", path,
                 host_strerror(e, why, sizeof(why)));
        return e == EACCES || e == EPERM ? VG_ERR_PERM : VG_ERR_IO;
    }
    struct stat slash;
    hr->is_slash = stat("/", &slash) == 0 && slash.st_dev == st.st_dev &&
                   slash.st_ino == st.st_ino;
    return VG_OK;
}

void host_root_close(struct host_root *hr)
{
    if (hr->fd >= 0)
        close(hr->fd);
    hr->fd = -1;
}

/* ------------------------------------------------------------------ */
/* Lookup                                                              */
/* ------------------------------------------------------------------ */

void host_node_close(struct host_node *n)
{
    if (n->dirfd >= 0)
        close(n->dirfd);
    n->dirfd = -1;
}

/* The next component of *p (skipping slashes) into comp; false at the end.
 * *p is left just after it. */
static bool next_component(const char **p, char *comp, size_t len, int *err)
{
    const char *s = *p;
    while (*s == '/')
        s++;
    if (!*s) {
        *p = s;
        return false;
    }
    size_t n = strcspn(s, "/");
    if (n >= len) {
        *err = ENAMETOOLONG;
        return false;
    }
    memcpy(comp, s, n);
    comp[n] = '\0';
    *p = s + n;
    return true;
}

static bool only_slashes(const char *s)
{
    while (*s == '/')
        s++;
    return *s == '\0';
}

int host_resolve(const struct host_root *hr, const char *path, struct host_node *out)
{
    int stack[HOST_MAX_DIRS];
    size_t depth = 0;      /* held directories above the root */
    int links = 0;
    int err = 0;
    char *work = NULL, *spliced = NULL;
    char comp[256];

    out->dirfd = -1;
    out->name[0] = '\0';
    if (!path || path[0] != '/')
        return EINVAL;
    work = malloc(HOST_MAX_PATH);
    spliced = malloc(HOST_MAX_PATH);
    if (!work || !spliced) {
        err = ENOMEM;
        goto out;
    }
    if (strlen(path) >= HOST_MAX_PATH) {
        err = ENAMETOOLONG;
        goto out;
    }
    strcpy(work, path);

    const char *p = work;
    for (;;) {
#define TOP (depth ? stack[depth - 1] : hr->fd)
        if (!next_component(&p, comp, sizeof(comp), &err)) {
            if (err)
                goto out;
            /* The path ended on the directory on top ("/", "x/.."). */
            out->dirfd = dup(TOP);
            if (out->dirfd < 0) {
                err = errno;
                goto out;
            }
            strcpy(out->name, ".");
            if (fstatat(out->dirfd, ".", &out->st, 0) != 0) {
                err = errno;
                host_node_close(out);
            }
            goto out;
        }
        bool last = only_slashes(p);
        bool trailing_slash = last && *p == '/';
        if (strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            if (depth)
                close(stack[--depth]);
            continue;
        }
        struct stat st;
        if (fstatat(TOP, comp, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            err = errno;
            goto out;
        }
        if (S_ISLNK(st.st_mode)) {
            if (++links > HOST_MAX_SYMLINKS) {
                err = ELOOP;
                goto out;
            }
            char target[HOST_MAX_PATH];
            ssize_t n = readlinkat(TOP, comp, target, sizeof(target) - 1);
            if (n < 0) {
                err = errno;
                goto out;
            }
            if (n == 0) {
                err = ENOENT;
                goto out;
            }
            target[n] = '\0';
            if (target[0] == '/')
                while (depth)
                    close(stack[--depth]);
            /* What is left of the path goes after the target (a trailing
             * slash included: it asks for a directory). */
            int w = snprintf(spliced, HOST_MAX_PATH, "%s%s%s", target, *p ? "/" : "", p);
            if (w < 0 || w >= HOST_MAX_PATH) {
                err = ENAMETOOLONG;
                goto out;
            }
            memcpy(work, spliced, (size_t)w + 1);
            p = work;
            continue;
        }
        if (last && !trailing_slash) {
            /* The object itself: hand back where it lives. */
            out->dirfd = dup(TOP);
            if (out->dirfd < 0) {
                err = errno;
                goto out;
            }
            strcpy(out->name, comp);
            out->st = st;
            goto out;
        }
        if (!S_ISDIR(st.st_mode)) {
            err = ENOTDIR;
            goto out;
        }
        if (depth == HOST_MAX_DIRS) {
            err = ENAMETOOLONG;
            goto out;
        }
        int fd = openat(TOP, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            err = errno;
            goto out;
        }
        stack[depth++] = fd;
#undef TOP
    }
out:
    while (depth)
        close(stack[--depth]);
    free(work);
    free(spliced);
    return err;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

int host_read_file(const struct host_root *hr, const char *path, size_t max, struct vg_buf *out,
                   struct stat *stp)
{
    struct host_node n;
    int err = host_resolve(hr, path, &n);
    if (err)
        return err;
    if (S_ISDIR(n.st.st_mode)) {
        host_node_close(&n);
        return EISDIR;
    }
    if (!S_ISREG(n.st.st_mode)) {
        /* A FIFO or a device would block or never end. */
        host_node_close(&n);
        return HOST_E_NOTREG;
    }
    if ((uint64_t)n.st.st_size > (uint64_t)max) {
        host_node_close(&n);
        return HOST_E_TOOBIG;
    }
    int fd = openat(n.dirfd, n.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        err = errno;
        host_node_close(&n);
        return err;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_dev != n.st.st_dev || st.st_ino != n.st.st_ino ||
        !S_ISREG(st.st_mode)) {
        close(fd);
        host_node_close(&n);
        return HOST_E_CHANGED;
    }
    host_node_close(&n);

    size_t start = out->len;
    char chunk[8192];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        if (r == 0)
            break;
        if (out->len - start + (size_t)r > max) {
            err = HOST_E_TOOBIG;
            break;
        }
        enum vg_err e = vg_buf_append(out, chunk, (size_t)r);
        if (e) {
            err = e == VG_ERR_NOMEM ? ENOMEM : HOST_E_TOOBIG;
            break;
        }
    }
    /* The chunk may have held a slice of /etc/shadow. */
    explicit_bzero(chunk, sizeof(chunk));
    close(fd);
    if (!err && !out->data && vg_buf_append(out, "", 0) != VG_OK)
        err = ENOMEM;
    if (!err && stp)
        *stp = st;
    return err;
}

/* ------------------------------------------------------------------ */
/* String lists                                                        */
/* ------------------------------------------------------------------ */

void host_strv_free(struct host_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

int host_strv_push(struct host_strv *s, const char *str)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        char **nv = realloc(s->v, ncap * sizeof(*nv));
        if (!nv)
            return ENOMEM;
        s->v = nv;
        s->cap = ncap;
    }
    char *c = strdup(str);
    if (!c)
        return ENOMEM;
    s->v[s->n++] = c;
    return 0;
}

bool host_strv_has(const struct host_strv *s, const char *str)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ------------------------------------------------------------------ */
/* Globbing                                                            */
/* ------------------------------------------------------------------ */

static bool has_magic(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Names in directory dir (a host path), into names. ENOENT and ENOTDIR
 * when it is no directory; other errors are real. */
static int list_dir(const struct host_root *hr, const char *dir, struct host_strv *names)
{
    struct host_node n;
    int err = host_resolve(hr, dir, &n);
    if (err)
        return err;
    if (!S_ISDIR(n.st.st_mode)) {
        host_node_close(&n);
        return ENOTDIR;
    }
    int fd = openat(n.dirfd, n.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        err = errno;
        host_node_close(&n);
        return err;
    }
    host_node_close(&n);
    DIR *d = fdopendir(fd);
    if (!d) {
        err = errno;
        close(fd);
        return err;
    }
    struct dirent *de;
    while (!err) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            err = errno;
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (names->n >= HOST_MAX_DIR_ENTRIES)
            err = HOST_E_TOOMANY;
        else
            err = host_strv_push(names, de->d_name);
    }
    closedir(d);
    return err;
}

static int join(char *buf, size_t len, const char *dir, const char *name)
{
    int w = snprintf(buf, len, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);
    return w < 0 || (size_t)w >= len ? ENAMETOOLONG : 0;
}

int host_glob(const struct host_root *hr, const char *pattern, size_t max, struct host_strv *out,
              char *errpath, size_t errpathlen)
{
    struct host_strv cur = { 0 }, next = { 0 };
    char comp[256];
    char path[HOST_MAX_PATH];
    int err = 0;

    if (!pattern || pattern[0] != '/')
        return EINVAL;
    snprintf(errpath, errpathlen, "%s", pattern);
    err = host_strv_push(&cur, "/");
    const char *p = pattern;
    while (!err && next_component(&p, comp, sizeof(comp), &err)) {
        bool magic = has_magic(comp);
        for (size_t i = 0; !err && i < cur.n; i++) {
            if (!magic) {
                err = join(path, sizeof(path), cur.v[i], comp);
                if (!err)
                    err = host_strv_push(&next, path);
                continue;
            }
            struct host_strv names = { 0 };
            int le = list_dir(hr, cur.v[i], &names);
            if (le == ENOENT || le == ENOTDIR) {
                le = 0;   /* nothing there: no match, as glob(3) says */
            } else if (le) {
                err = le;
                snprintf(errpath, errpathlen, "%s", cur.v[i]);
            }
            if (!err && names.n)
                qsort(names.v, names.n, sizeof(*names.v), cmp_str);
            for (size_t j = 0; !err && j < names.n; j++) {
                if (fnmatch(comp, names.v[j], FNM_PERIOD) != 0)
                    continue;
                if (next.n >= max) {
                    err = HOST_E_TOOMANY;
                    break;
                }
                err = join(path, sizeof(path), cur.v[i], names.v[j]);
                if (!err)
                    err = host_strv_push(&next, path);
            }
            host_strv_free(&names);
        }
        host_strv_free(&cur);
        cur = next;
        memset(&next, 0, sizeof(next));
    }
    /* glob(3) returns only paths that exist. */
    for (size_t i = 0; !err && i < cur.n; i++) {
        struct host_node n;
        int re = host_resolve(hr, cur.v[i], &n);
        if (re == 0)
            host_node_close(&n);
        if (re == ENOENT || re == ENOTDIR)
            continue;
        if (out->n >= max) {
            err = HOST_E_TOOMANY;
            break;
        }
        /* Other errors (EACCES, ELOOP) are kept: reading it will say why. */
        err = host_strv_push(out, cur.v[i]);
    }
    host_strv_free(&cur);
    host_strv_free(&next);
    if (!err && out->n)
        qsort(out->v, out->n, sizeof(*out->v), cmp_str);
    return err;
}

/* ------------------------------------------------------------------ */
/* Words                                                               */
/* ------------------------------------------------------------------ */

const char *host_strerror(int e, char *buf, size_t len)
{
    const char *s = NULL;
    switch (e) {
    case 0: s = "no error"; break;
    case ENOENT: s = "no such file or directory"; break;
    case EACCES:
    case EPERM: s = "permission denied"; break;
    case ENOTDIR: s = "a path component is not a directory"; break;
    case ELOOP: s = "too many levels of symbolic links"; break;
    case EISDIR: s = "is a directory"; break;
    case ENAMETOOLONG: s = "path too long"; break;
    case ENOMEM: s = "out of memory"; break;
    case EIO: s = "input/output error"; break;
    case HOST_E_NOTREG: s = "not a regular file"; break;
    case HOST_E_TOOBIG: s = "file too large"; break;
    case HOST_E_CHANGED: s = "file changed while being read"; break;
    case HOST_E_TOOMANY: s = "too many entries"; break;
    default: break;
    }
    if (s) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    snprintf(buf, len, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

const char *host_resource_id(char *buf, size_t len, const char *host_name, const char *suffix)
{
    snprintf(buf, len, "host://%s/%s", host_name, suffix);
    return buf;
}
