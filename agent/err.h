/*
 * Error codes shared by every part of Vigil. 0 is success everywhere.
 */
#ifndef VG_ERR_H
#define VG_ERR_H

#include <stdbool.h>

enum vg_err {
    VG_OK = 0,
    VG_ERR_NOMEM,      /* allocation failed */
    VG_ERR_IO,         /* read, write, open failed */
    VG_ERR_NOENT,      /* file or key does not exist */
    VG_ERR_PERM,       /* permission denied */
    VG_ERR_CONFIG,     /* bad configuration */
    VG_ERR_RULE,       /* bad rule file */
    VG_ERR_PARSE,      /* malformed input (JSON, YAML, XML, ...) */
    VG_ERR_LIMIT,      /* a bound (size, depth, count) was exceeded */
    VG_ERR_INVALID,    /* invalid argument */
    VG_ERR_UNKNOWN,    /* a value could not be determined */
    VG_ERR__COUNT
};

/* A static, human-readable sentence for an error code; never NULL. */
const char *vg_strerror(enum vg_err err);

/* True for errors worth retrying (transient I/O). */
bool vg_err_retriable(enum vg_err err);

#endif
