#include "err.h"

static const char *const descs[VG_ERR__COUNT] = {
    [VG_OK] = "success",
    [VG_ERR_NOMEM] = "out of memory",
    [VG_ERR_IO] = "input/output error",
    [VG_ERR_NOENT] = "no such file or key",
    [VG_ERR_PERM] = "permission denied",
    [VG_ERR_CONFIG] = "invalid configuration",
    [VG_ERR_RULE] = "invalid rule",
    [VG_ERR_PARSE] = "malformed input",
    [VG_ERR_LIMIT] = "limit exceeded",
    [VG_ERR_INVALID] = "invalid argument",
    [VG_ERR_UNKNOWN] = "value could not be determined",
};

const char *vg_strerror(enum vg_err err)
{
    if ((unsigned)err >= VG_ERR__COUNT || !descs[err])
        return "unknown error";
    return descs[err];
}

bool vg_err_retriable(enum vg_err err)
{
    return err == VG_ERR_IO;
}
