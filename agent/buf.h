/*
 * Bounded growable byte buffers (curl's dynbuf). Every buffer has a cap set
 * at init; an append that would pass it fails with VG_ERR_LIMIT and leaves
 * the buffer as it was. The content is always NUL-terminated.
 */
#ifndef VG_BUF_H
#define VG_BUF_H

#include "err.h"

#include <stddef.h>

struct vg_buf {
    char *data;     /* owned; NULL until the first append */
    size_t len;
    size_t cap;     /* allocated */
    size_t max;     /* the bound on len */
};

void vg_buf_init(struct vg_buf *b, size_t max);
void vg_buf_free(struct vg_buf *b);
void vg_buf_reset(struct vg_buf *b);        /* len = 0, keeps memory */

enum vg_err vg_buf_append(struct vg_buf *b, const void *p, size_t n);
enum vg_err vg_buf_appends(struct vg_buf *b, const char *s);
enum vg_err vg_buf_appendc_slow(struct vg_buf *b, char c);
/* One byte: inline, since encoders append punctuation a byte at a time. */
static inline enum vg_err vg_buf_appendc(struct vg_buf *b, char c)
{
    if (b->len + 2 <= b->cap && b->len + 1 <= b->max) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return VG_OK;
    }
    return vg_buf_appendc_slow(b, c);
}
enum vg_err vg_buf_printf(struct vg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The content, "" when empty; borrowed, valid until the next append. */
const char *vg_buf_str(const struct vg_buf *b);

/* Hands the content to the caller (who frees it with free()) and leaves
 * the buffer empty. Returns NULL only when out of memory. */
char *vg_buf_detach(struct vg_buf *b);

/* Reads a whole file into b. VG_ERR_NOENT, VG_ERR_PERM, VG_ERR_IO or
 * VG_ERR_LIMIT (larger than b's bound). */
enum vg_err vg_buf_read_file(struct vg_buf *b, const char *path);

#endif
