/* Fuzz target: the JSON parser and generator. A parsed value must dump,
 * and the dump must parse back to an equal value. */
#include "agent/json.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct vg_json *v = vg_json_parse((const char *)data, size, err, sizeof(err));
    if (!v)
        return 0;
    struct vg_buf b;
    vg_buf_init(&b, 1u << 26);
    if (vg_json_dump(v, &b) == VG_OK) {
        struct vg_json *w = vg_json_parse(b.data, b.len, err, sizeof(err));
        if (!w)
            abort();   /* what we generate must parse */
        /* equal unless invalid UTF-8 was replaced on output */
        struct vg_buf b2;
        vg_buf_init(&b2, 1u << 26);
        if (vg_json_dump(w, &b2) != VG_OK || b2.len != b.len)
            abort();   /* generation is a fixed point */
        vg_buf_free(&b2);
        vg_json_free(w);
    }
    vg_buf_free(&b);
    struct vg_json *c = vg_json_clone(v);
    if (c && !vg_json_equal(v, c))
        abort();
    vg_json_free(c);
    vg_json_free(v);
    return 0;
}
