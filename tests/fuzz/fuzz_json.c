/* Fuzz target: the JSON parser and generator, and the field picker. A
 * parsed value must dump, and the dump must parse back to an equal value.
 * vg_json_pick() must never read out of bounds, whatever the text; on the
 * dump of a parsed object (compact, as Vigil's events are) every string it
 * picks must equal the tree's value at that path. */
#include "agent/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const paths[] = { "a", "a.b", "event.id", "rule.id", "x.y.z", "b" };
#define NPATHS (sizeof(paths) / sizeof(paths[0]))

/* The tree's string at a dotted path, or NULL; the first of duplicate keys
 * is not necessarily the tree's, so only unique-key objects are compared. */
static const struct vg_json *at(const struct vg_json *v, const char *path)
{
    char part[64];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(part) || vg_json_type(v) != VG_JSON_OBJECT)
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        v = vg_json_get(v, part);
        path += n + (path[n] == '.');
    }
    return v;
}

static void check_pick(const struct vg_json *v, const char *text, size_t len)
{
    struct vg_json_pick pk[NPATHS];
    for (size_t i = 0; i < NPATHS; i++)
        pk[i] = (struct vg_json_pick){ .path = paths[i] };
    enum vg_err e = vg_json_pick(text, len, pk, NPATHS);
    if (!v)
        return;   /* arbitrary text: only memory safety is asked */
    if (vg_json_type(v) != VG_JSON_OBJECT) {
        if (e == VG_OK)
            abort();
        return;
    }
    if (e != VG_OK)
        abort();   /* the dump of an object is well-formed */
    for (size_t i = 0; i < NPATHS; i++) {
        const struct vg_json *t = at(v, paths[i]);
        if (!pk[i].val)
            continue;
        char buf[4096];
        const char *s;
        long n = vg_json_pick_decode(&pk[i], buf, sizeof(buf), &s);
        if (!t || vg_json_type(t) != VG_JSON_STRING)
            abort();
        if (n >= 0 && ((size_t)n != vg_json_str_len(t) || memcmp(s, vg_json_get_str(t), (size_t)n)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct vg_json *v = vg_json_parse((const char *)data, size, err, sizeof(err));
    check_pick(NULL, (const char *)data, size);
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
        check_pick(w, b.data, b.len);
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
