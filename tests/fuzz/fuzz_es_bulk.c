/* Fuzz target: what the Elasticsearch output reads from outside. The input
 * is taken three ways: as a bulk response fed in chunks (items reported in
 * order, never more than sent, one-line errors), as an event whose
 * metadata makes an action line (which must then be valid JSON), and as a
 * dead-letter event (the line must be valid JSON). */
#include "agent/json.h"
#include "outputs/es/bulk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct seen {
    size_t n;
};

static void on_item(void *opaque, size_t i, int status, const char *type, const char *reason)
{
    struct seen *s = opaque;
    if (i != s->n || status < 0 || status > 999 || strchr(type, '\n') || strchr(reason, '\n') ||
        strlen(type) >= VG_ES_MAX_ERR_TYPE || strlen(reason) >= VG_ES_MAX_ERR_REASON)
        abort();
    (void)vg_es_item_fate(status, type);
    s->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t nitems = data[0] % 64;
    size_t chunk = (size_t)data[1] % 32 + 1;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;

    struct vg_es_resp *r = vg_es_resp_new();
    struct seen s = { 0 };
    if (!r || vg_es_resp_begin(r, nitems, true, on_item, &s))
        abort();
    enum vg_err e = VG_OK;
    for (size_t off = 0; off < len && !e; off += chunk)
        e = vg_es_resp_feed(r, text + off, len - off < chunk ? len - off : chunk);
    if (!e)
        e = vg_es_resp_end(r);
    if (s.n > nitems || vg_es_resp_items(r) != s.n)
        abort();
    if (e && (!vg_es_resp_errmsg(r)[0] || strchr(vg_es_resp_errmsg(r), '\n')))
        abort();
    if (!e && s.n != nitems)
        abort();
    (void)vg_es_reply_class(200 + (long)nitems, vg_es_resp_error_type(r));
    (void)vg_es_resp_error_reason(r);
    vg_es_resp_free(r);

    char err[256];
    struct vg_es_meta m;
    struct vg_buf b;
    vg_buf_init(&b, 1u << 24);
    /* the input as a route too (outputs/output.h): its values take the
     * same checks, so the action line below parses either way */
    bool as_route = len && (text[0] & 1);
    if (vg_es_event_meta_routed(text, len, as_route ? text : NULL, len, &m, err, sizeof(err)) ==
        VG_OK) {
        if (m.id_len == 0 || m.id_len > VG_ES_MAX_ID)
            abort();
        size_t alen = 0;
        if (vg_es_bulk_append(&b, &m, "default", text, len, &alen) == VG_OK) {
            /* the action line parses, whatever the event held */
            struct vg_json *a = vg_json_parse(b.data, alen - 1, err, sizeof(err));
            if (!a || !vg_json_get(a, "create"))
                abort();
            vg_json_free(a);
            if (b.data[b.len - 1] != '\n' || memchr(b.data + alen, '\n', b.len - alen - 1))
                abort();
        }
    }
    vg_buf_reset(&b);
    char *z = malloc(len + 1);   /* type and reason are C strings */
    if (!z)
        abort();
    memcpy(z, text, len);
    z[len] = '\0';
    if (vg_es_dead_letter_line(&b, 0, 400, z, z, text, len, false) == VG_OK) {
        struct vg_json *d = vg_json_parse(b.data, b.len, err, sizeof(err));
        if (!d)
            abort();
        vg_json_free(d);
    }
    free(z);
    vg_buf_free(&b);
    return 0;
}
