/* Fuzz target: the spool's recovery scan of a segment image (untrusted
 * bytes from disk) and its cursor file parser.
 *
 * 1. The input as a segment image, with and without the CRC check (without
 *    it, mutations reach the zstd frame and event table checks). The scan
 *    must stay inside the image; the prefix it keeps must scan again as
 *    intact with the same records (recovery cuts there and goes on).
 * 2. The input as the decoded content of one record (after two bytes that
 *    give the event count), compressed and framed correctly, so the event
 *    table parser sees arbitrary bytes.
 * 3. The input as a cursor file. */
#include "outputs/crc32c.h"
#include "outputs/spool_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void scan_checked(const uint8_t *data, size_t size, bool crc)
{
    struct vg_spool_scan a, b;
    vg_spool_scan_image(data, size, crc, &a);
    if (a.valid_bytes > size)
        abort();
    if (a.damage == VG_SPOOL_INTACT && a.valid_bytes != size)
        abort();
    if (a.damage == VG_SPOOL_INTACT || a.damage == VG_SPOOL_CUT) {
        if (a.records && a.last_seq != a.first_seq + a.records - 1)
            abort();
        vg_spool_scan_image(data, a.valid_bytes, crc, &b);
        if (b.damage != VG_SPOOL_INTACT || b.records != a.records || b.events != a.events ||
            b.last_seq != a.last_seq || b.valid_bytes != a.valid_bytes)
            abort();
    }
}

static void framed_record(const uint8_t *data, size_t size)
{
    if (size < 2 || size > (1u << 20))
        return;
    uint32_t count = 1 + (uint32_t)(data[0] | (data[1] & 0x7f) << 8) % 256;
    bool routed = data[1] & 0x80;   /* entries in pairs: event, route */
    const uint8_t *raw = data + 2;
    size_t rlen = size - 2;
    size_t bound = ZSTD_compressBound(rlen);
    size_t total = VG_SPOOL_SEG_HDR + VG_SPOOL_REC_HDR + bound;
    unsigned char *img = malloc(total);
    if (!img)
        return;
    vg_spool_segment_header(1, img);
    unsigned char *h = img + VG_SPOOL_SEG_HDR, *payload = h + VG_SPOOL_REC_HDR;
    size_t clen = ZSTD_compress(payload, bound, raw, rlen, 1);
    if (ZSTD_isError(clen)) {
        free(img);
        return;
    }
    memset(h, 0, VG_SPOOL_REC_HDR);
    memcpy(h, "VGRC", 4);
    h[8] = routed ? VG_SPOOL_FLAG_ZSTD | VG_SPOOL_FLAG_ROUTED : VG_SPOOL_FLAG_ZSTD;
    h[10] = VG_SPOOL_REC_HDR;
    put32(h + 12, (uint32_t)clen);
    put32(h + 16, (uint32_t)rlen);
    put32(h + 20, count);
    h[24] = 1;   /* seq 1 */
    put32(h + 4, vg_crc32c(vg_crc32c(0, payload, clen), h + 8, VG_SPOOL_REC_HDR - 8));
    size_t len = VG_SPOOL_SEG_HDR + VG_SPOOL_REC_HDR + clen;
    /* an exact-size copy, so a read past the end is caught */
    unsigned char *exact = malloc(len);
    if (exact) {
        memcpy(exact, img, len);
        scan_checked(exact, len, true);
        free(exact);
    }
    free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scan_checked(data, size, true);
    scan_checked(data, size, false);
    framed_record(data, size);
    struct vg_spool_pos pos;
    const char *why;
    if (vg_spool_parse_cursor(data, size, &pos, &why) == 0 &&
        (size != VG_SPOOL_CURSOR_SIZE || pos.seq >= VG_SPOOL_MAX_SEQ))
        abort();
    return 0;
}
