#include "output.h"

#include <stdio.h>
#include <string.h>

static const struct vg_output_type *const output_types[] = {
    &vg_output_stdout,
    &vg_output_file,
};

enum vg_err vg_output_open(const char *spec, struct vg_output *out, char *errbuf, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < sizeof(output_types) / sizeof(output_types[0]); i++) {
        const struct vg_output_type *t = output_types[i];
        if (strlen(t->name) != nlen || strncmp(t->name, spec, nlen) != 0)
            continue;
        out->type = t;
        out->ctx = NULL;
        return t->open(colon ? colon + 1 : NULL, &out->ctx, errbuf, errlen);
    }
    snprintf(errbuf, errlen, "unknown output '%.*s': expected stdout or file:PATH", (int)nlen,
             spec);
    return VG_ERR_INVALID;
}

enum vg_err vg_output_write(struct vg_output *o, const char *line, size_t len, char *errbuf,
                            size_t errlen)
{
    return o->type->write(o->ctx, line, len, errbuf, errlen);
}

enum vg_err vg_output_flush(struct vg_output *o, char *errbuf, size_t errlen)
{
    return o->type->flush(o->ctx, errbuf, errlen);
}

void vg_output_close(struct vg_output *o)
{
    if (o->type)
        o->type->close(o->ctx);
    o->type = NULL;
    o->ctx = NULL;
}
