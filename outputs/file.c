/*
 * The stdout and file outputs: NDJSON, one event per line. Both write
 * through a file descriptor with full-write loops, so a short write or a
 * full disk is an error that names the destination, never a silent loss.
 */
#include "output.h"
#include "../agent/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_BUFFER (256u << 10)

struct fd_output {
    int fd;
    bool owned;             /* close and fsync at the end */
    char *name;
    struct vg_buf pending;  /* lines not yet written */
};

static enum vg_err write_all(struct fd_output *o, char *errbuf, size_t errlen)
{
    size_t off = 0;
    while (off < o->pending.len) {
        ssize_t n = write(o->fd, o->pending.data + off, o->pending.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            snprintf(errbuf, errlen, "cannot write to %s: %s", o->name, strerror(e));
            /* keep what was not written: the caller decides */
            memmove(o->pending.data, o->pending.data + off, o->pending.len - off);
            o->pending.len -= off;
            return e == ENOSPC ? VG_ERR_LIMIT : VG_ERR_IO;
        }
        off += (size_t)n;
    }
    vg_buf_reset(&o->pending);
    return VG_OK;
}

static enum vg_err fd_open(int fd, bool owned, const char *name, void **ctx, char *errbuf,
                           size_t errlen)
{
    struct fd_output *o = calloc(1, sizeof(*o));
    if (!o || !(o->name = strdup(name))) {
        free(o);
        if (owned)
            close(fd);
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    o->fd = fd;
    o->owned = owned;
    vg_buf_init(&o->pending, FILE_BUFFER * 64);
    *ctx = o;
    return VG_OK;
}

static enum vg_err stdout_open(const char *arg, void **ctx, char *errbuf, size_t errlen)
{
    (void)arg;
    return fd_open(STDOUT_FILENO, false, "stdout", ctx, errbuf, errlen);
}

static enum vg_err file_open(const char *arg, void **ctx, char *errbuf, size_t errlen)
{
    if (!arg || !*arg) {
        snprintf(errbuf, errlen, "output file: a path is required (file:PATH)");
        return VG_ERR_INVALID;
    }
    int fd = open(arg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(errbuf, errlen, "cannot open output file %s: %s", arg, strerror(errno));
        return errno == ENOENT ? VG_ERR_NOENT : errno == EACCES ? VG_ERR_PERM : VG_ERR_IO;
    }
    return fd_open(fd, true, arg, ctx, errbuf, errlen);
}

static enum vg_err fd_write(void *ctx, const char *line, size_t len, char *errbuf, size_t errlen)
{
    struct fd_output *o = ctx;
    enum vg_err err;
    if (o->pending.len + len + 1 > FILE_BUFFER && o->pending.len) {
        err = write_all(o, errbuf, errlen);
        if (err)
            return err;
    }
    err = vg_buf_append(&o->pending, line, len);
    if (!err)
        err = vg_buf_appendc(&o->pending, '\n');
    if (err) {
        snprintf(errbuf, errlen, "%s: event of %zu bytes does not fit the output buffer", o->name,
                 len);
        return err;
    }
    return VG_OK;
}

static enum vg_err fd_flush(void *ctx, char *errbuf, size_t errlen)
{
    struct fd_output *o = ctx;
    enum vg_err err = write_all(o, errbuf, errlen);
    if (err)
        return err;
    if (o->owned && fsync(o->fd) != 0 && errno != EINVAL) {
        snprintf(errbuf, errlen, "cannot sync %s: %s", o->name, strerror(errno));
        return errno == ENOSPC ? VG_ERR_LIMIT : VG_ERR_IO;
    }
    return VG_OK;
}

static void fd_close(void *ctx)
{
    struct fd_output *o = ctx;
    if (!o)
        return;
    if (o->owned)
        close(o->fd);
    vg_buf_free(&o->pending);
    free(o->name);
    free(o);
}

const struct vg_output_type vg_output_stdout = {
    .name = "stdout",
    .open = stdout_open,
    .write = fd_write,
    .flush = fd_flush,
    .close = fd_close,
};

const struct vg_output_type vg_output_file = {
    .name = "file",
    .open = file_open,
    .write = fd_write,
    .flush = fd_flush,
    .close = fd_close,
};
