#include "results.h"
#include "buf.h"
#include "hash.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define RESULTS_DIR "results"
#define RESULTS_EXT ".ndjson"

struct vg_results {
    char *dir;          /* STATE_DIR/results */
    char *path;         /* the file committed to */
    char *tmp;          /* the temp file being written */
    FILE *f;
    size_t bytes;
    enum vg_err spoilt; /* first add error; commit refuses */
};

/* ---- names --------------------------------------------------------------- */

static bool safe_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* Appends the filesystem-safe form of name (see results.h). */
static enum vg_err append_key(struct vg_buf *b, const char *name)
{
    if (!name || !*name)
        name = "unknown";
    size_t n = strlen(name);
    bool changed = n > VG_RESULTS_MAX_KEY;
    enum vg_err err = VG_OK;
    for (size_t i = 0; !err && i < n && i < VG_RESULTS_MAX_KEY; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!safe_byte(c))
            changed = true;
        err = vg_buf_appendc(b, safe_byte(c) ? (char)c : '_');
    }
    if (!err && changed) {
        uint8_t md[VG_SHA256_LEN];
        char hex[2 * VG_SHA256_LEN + 1];
        vg_sha256(name, n, md);
        vg_hex(md, 4, hex);
        err = vg_buf_printf(b, "-%s", hex);
    }
    return err;
}

/* The file name alone: <provider>-<key>.ndjson */
static enum vg_err file_name(struct vg_buf *b, const char *provider, const char *target)
{
    enum vg_err err = append_key(b, provider && *provider ? provider : "unknown");
    if (!err)
        err = vg_buf_appendc(b, '-');
    if (!err)
        err = append_key(b, target);
    if (!err)
        err = vg_buf_appends(b, RESULTS_EXT);
    return err;
}

enum vg_err vg_results_path(const char *state_dir, const char *provider, const char *target,
                            char *out, size_t outlen)
{
    struct vg_buf b;
    vg_buf_init(&b, PATH_MAX);
    enum vg_err err = vg_buf_printf(&b, "%s/%s/", state_dir ? state_dir : "", RESULTS_DIR);
    if (!err)
        err = file_name(&b, provider, target);
    if (!err && b.len >= outlen)
        err = VG_ERR_LIMIT;
    if (!err)
        memcpy(out, vg_buf_str(&b), b.len + 1);
    vg_buf_free(&b);
    return err;
}

/* ---- begin --------------------------------------------------------------- */

static enum vg_err make_dir(const char *path, char *errbuf, size_t errlen)
{
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "cannot create %s: %s", path, strerror(errno));
        return errno == EACCES || errno == EPERM || errno == EROFS ? VG_ERR_PERM : VG_ERR_IO;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(errbuf, errlen, "%s is not a directory", path);
        return VG_ERR_IO;
    }
    return VG_OK;
}

/* True when s is "<digits>.XXXXXX" (a pid and mkstemp's six characters). */
static bool tmp_suffix_pid(const char *s, pid_t *pid)
{
    long v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && i < 10; i++)
        v = v * 10 + (s[i] - '0');
    if (i == 0 || s[i] != '.' || strlen(s + i + 1) != 6 || v <= 0)
        return false;
    *pid = (pid_t)v;
    return true;
}

/* Removes ".<name>.<pid>.XXXXXX" temp files whose writer no longer runs. */
static void sweep_stale(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t nlen = strlen(name);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        pid_t pid;
        if (n[0] != '.' || strncmp(n + 1, name, nlen) != 0 || n[1 + nlen] != '.' ||
            !tmp_suffix_pid(n + 2 + nlen, &pid))
            continue;
        if (kill(pid, 0) == 0 || errno != ESRCH)
            continue;   /* still running (or not ours to judge) */
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, n) < sizeof(path) &&
            unlink(path) == 0)
            vg_log(VG_LOG_DEBUG, "results", "removed %s, left by an interrupted scan", path);
    }
    closedir(d);
}

static void results_free(struct vg_results *r)
{
    if (!r)
        return;
    free(r->dir);
    free(r->path);
    free(r->tmp);
    free(r);
}

struct vg_results *vg_results_begin(const char *state_dir, const char *provider,
                                    const char *target, char *errbuf, size_t errlen)
{
    if (!state_dir || !*state_dir) {
        snprintf(errbuf, errlen, "no state directory to keep the scan results in");
        return NULL;
    }
    struct vg_results *r = calloc(1, sizeof(*r));
    struct vg_buf dir, name, path, tmp;
    vg_buf_init(&dir, PATH_MAX);
    vg_buf_init(&name, PATH_MAX);
    vg_buf_init(&path, PATH_MAX);
    vg_buf_init(&tmp, PATH_MAX);
    enum vg_err err = r ? VG_OK : VG_ERR_NOMEM;
    if (!err)
        err = vg_buf_printf(&dir, "%s/%s", state_dir, RESULTS_DIR);
    if (!err)
        err = file_name(&name, provider, target);
    if (!err)
        err = vg_buf_printf(&path, "%s/%s", vg_buf_str(&dir), vg_buf_str(&name));
    if (!err)
        err = vg_buf_printf(&tmp, "%s/.%s.%ld.XXXXXX", vg_buf_str(&dir), vg_buf_str(&name),
                            (long)getpid());
    if (err) {
        snprintf(errbuf, errlen, "%s", err == VG_ERR_NOMEM ? "out of memory"
                                                           : "the state directory path is too long");
        goto fail;
    }
    err = make_dir(state_dir, errbuf, errlen);
    if (!err)
        err = make_dir(vg_buf_str(&dir), errbuf, errlen);
    if (err)
        goto fail;
    sweep_stale(vg_buf_str(&dir), vg_buf_str(&name));

    r->dir = vg_buf_detach(&dir);
    r->path = vg_buf_detach(&path);
    r->tmp = vg_buf_detach(&tmp);
    if (!r->dir || !r->path || !r->tmp) {
        snprintf(errbuf, errlen, "out of memory");
        goto fail;
    }
    int fd = mkstemp(r->tmp);
    if (fd < 0) {
        snprintf(errbuf, errlen, "cannot create a file in %s: %s", r->dir, strerror(errno));
        goto fail;
    }
    if (fchmod(fd, 0640) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
        !(r->f = fdopen(fd, "w"))) {
        snprintf(errbuf, errlen, "cannot set up %s: %s", r->tmp, strerror(errno));
        close(fd);
        unlink(r->tmp);
        goto fail;
    }
    vg_buf_free(&name);
    return r;

fail:
    vg_buf_free(&dir);
    vg_buf_free(&name);
    vg_buf_free(&path);
    vg_buf_free(&tmp);
    results_free(r);
    return NULL;
}

/* ---- add, commit, abort -------------------------------------------------- */

enum vg_err vg_results_add(struct vg_results *r, const char *line, size_t len)
{
    if (!r || !line || len == 0)
        return VG_ERR_INVALID;
    if (r->spoilt)
        return r->spoilt;
    /* the bound first: it reads nothing */
    if (len >= VG_RESULTS_MAX_FILE || r->bytes > VG_RESULTS_MAX_FILE - len - 1) {
        r->spoilt = VG_ERR_LIMIT;
        return r->spoilt;
    }
    if (memchr(line, '\n', len))
        return VG_ERR_INVALID;
    if (fwrite(line, 1, len, r->f) != len || fputc('\n', r->f) == EOF) {
        r->spoilt = VG_ERR_IO;
        return r->spoilt;
    }
    r->bytes += len + 1;
    return VG_OK;
}

static void drop(struct vg_results *r)
{
    if (r->f)
        fclose(r->f);
    r->f = NULL;
    unlink(r->tmp);
    results_free(r);
}

void vg_results_abort(struct vg_results *r)
{
    if (r)
        drop(r);
}

enum vg_err vg_results_commit(struct vg_results *r, char *errbuf, size_t errlen)
{
    if (!r) {
        snprintf(errbuf, errlen, "no scan results to commit");
        return VG_ERR_INVALID;
    }
    if (r->spoilt) {
        if (r->spoilt == VG_ERR_LIMIT)
            snprintf(errbuf, errlen, "the scan results pass the limit of %u MiB; %s keeps the "
                     "previous scan's", VG_RESULTS_MAX_FILE >> 20, r->path);
        else
            snprintf(errbuf, errlen, "cannot write %s; %s keeps the previous scan's results",
                     r->tmp, r->path);
        enum vg_err err = r->spoilt;
        drop(r);
        return err;
    }
    /* the data reaches the disk before the name points at it */
    if (fflush(r->f) != 0 || fsync(fileno(r->f)) != 0) {
        snprintf(errbuf, errlen, "cannot write %s: %s; %s keeps the previous scan's results",
                 r->tmp, strerror(errno), r->path);
        drop(r);
        return VG_ERR_IO;
    }
    int rc = fclose(r->f);
    r->f = NULL;
    if (rc != 0 || rename(r->tmp, r->path) != 0) {
        snprintf(errbuf, errlen, "cannot replace %s: %s; it keeps the previous scan's results",
                 r->path, strerror(errno));
        drop(r);
        return VG_ERR_IO;
    }
    /* and the rename itself survives a crash */
    int dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        vg_log(VG_LOG_WARN, "results", "%s: cannot sync the directory: %s", r->dir,
               strerror(errno));
    if (dfd >= 0)
        close(dfd);
    vg_log(VG_LOG_DEBUG, "results", "kept %zu bytes of results in %s", r->bytes, r->path);
    results_free(r);
    return VG_OK;
}
