#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vg_buf_init(struct vg_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void vg_buf_free(struct vg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void vg_buf_reset(struct vg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static enum vg_err ensure(struct vg_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return VG_ERR_LIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return VG_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    char *p = realloc(b->data, ncap);
    if (!p)
        return VG_ERR_NOMEM;
    b->data = p;
    b->cap = ncap;
    return VG_OK;
}

enum vg_err vg_buf_append(struct vg_buf *b, const void *p, size_t n)
{
    /* the common case: it fits what is allocated and the bound */
    if (b->cap && n < b->cap - b->len && b->len + n <= b->max) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return VG_OK;
    }
    enum vg_err err = ensure(b, n);
    if (err)
        return err;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return VG_OK;
}

enum vg_err vg_buf_appends(struct vg_buf *b, const char *s)
{
    return vg_buf_append(b, s, strlen(s));
}

enum vg_err vg_buf_appendc_slow(struct vg_buf *b, char c)
{
    return vg_buf_append(b, &c, 1);
}

enum vg_err vg_buf_printf(struct vg_buf *b, const char *fmt, ...)
{
    /* format once into the spare room; only when it does not fit, grow
     * and format again */
    if (b->cap - b->len < 128 && b->len < b->max)
        ensure(b, b->max - b->len < 128 ? b->max - b->len : 128);
    size_t room = b->cap > b->len ? b->cap - b->len : 0;   /* NUL included */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (b->data)
            b->data[b->len] = '\0';
        return VG_ERR_INVALID;
    }
    if ((size_t)n < room && (size_t)n <= b->max - b->len) {
        b->len += (size_t)n;
        return VG_OK;
    }
    if (b->data)
        b->data[b->len] = '\0';   /* undo the partial write */
    enum vg_err err = ensure(b, (size_t)n);
    if (err)
        return err;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return VG_OK;
}

const char *vg_buf_str(const struct vg_buf *b)
{
    return b->data ? b->data : "";
}

char *vg_buf_detach(struct vg_buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

enum vg_err vg_buf_read_file(struct vg_buf *b, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR)
            return VG_ERR_NOENT;
        if (errno == EACCES || errno == EPERM)
            return VG_ERR_PERM;
        return VG_ERR_IO;
    }
    enum vg_err err = VG_OK;
    char chunk[16384];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        err = vg_buf_append(b, chunk, n);
        if (err)
            break;
    }
    if (!err && ferror(f))
        err = errno == EISDIR ? VG_ERR_INVALID : VG_ERR_IO;
    fclose(f);
    if (!err && !b->data)
        err = vg_buf_append(b, "", 0);
    return err;
}
