/*
 * The spool: segment files of checksummed, zstd-compressed records of
 * events, and one cursor file per consumer. The contract is in spool.h.
 *
 * Directory
 * ---------
 *
 *   DIR/                              mode 0700, created on demand
 *     lock                            flock(2)ed while a process has the spool open
 *     seg-0000000000000001.vgs        a segment: named after the sequence number of
 *     seg-00000000000004d2.vgs          its first record, 16 lower-case hex digits
 *     cursor-es                       one file per cursor: cursor-<name>
 *     cursor-es.tmp                   a cursor being replaced (removed at open)
 *
 * Segment file (all integers little-endian)
 * -----------------------------------------
 *
 *   +-------+-------+-------+-------+
 *   |  'V'  |  'G'  |  'S'  |  'G'  |  0  magic
 *   +-------+-------+-------+-------+
 *   | version (1)   | hdr len (24)  |  4
 *   +-------+-------+-------+-------+
 *   | first seq (u64): the seq of   |  8
 *   | the segment's first record    |
 *   +-------+-------+-------+-------+
 *   | reserved (0)                  | 16
 *   +-------+-------+-------+-------+
 *   | CRC32C of bytes 0..19         | 20
 *   +-------+-------+-------+-------+
 *   | record | record | ...            24  records back to back, to the end
 *
 * Record: a 32-byte header, then the payload
 *
 *   +-------+-------+-------+-------+
 *   |  'V'  |  'G'  |  'R'  |  'C'  |  0  magic
 *   +-------+-------+-------+-------+
 *   | CRC32C of the payload, then   |  4
 *   | of header bytes 8..31         |
 *   +-------+-------+-------+-------+
 *   | flags           | hdr len (32)|  8  1: zstd (always); 2: routed
 *   +-------+-------+-------+-------+
 *   | payload length (compressed)   | 12
 *   +-------+-------+-------+-------+
 *   | raw length (decompressed)     | 16  <= 32 MiB
 *   +-------+-------+-------+-------+
 *   | event count n                 | 20  1 .. 65536
 *   +-------+-------+-------+-------+
 *   | seq (u64): the segment's      | 24  first seq, +1 for each record after
 *   | first seq + record index      |
 *   +-------+-------+-------+-------+
 *   | payload: one zstd frame, with | 32
 *   | its content size, of raw len  |
 *   | bytes:                        |
 *   |   u32 len[n]                  |     the length of each event
 *   |   event 0, '\0',              |     each event's bytes and a NUL, so a
 *   |   event 1, '\0', ...          |     reader points into the decoded buffer
 *   +-------------------------------+
 *
 *   A routed record (flag 2) carries each event's route beside it (the
 *   fields the network outputs route by, as the encoder knew them, so
 *   they need not read the event's JSON; outputs/output.h): its table has
 *   2n lengths, event 0's, route 0's, event 1's, ..., and the entries
 *   follow in that order, each with its NUL. The spool does not read
 *   routes; an empty one means "none".
 *
 * Cursor file (24 bytes, replaced whole: temp file, fsync, rename, fsync
 * of the directory)
 *
 *    0  'V' 'G' 'C' 'R'        magic
 *    4  version u16 (1), reserved u16 (0)
 *    8  seq u64                the next event not acknowledged: record seq,
 *   16  idx u32                  event idx in it (idx may equal its count)
 *   20  CRC32C of bytes 0..19
 *
 *   seq 0 means "the oldest record". A missing cursor file is a cursor that
 *   does not exist; a corrupt one restarts from the oldest record (events
 *   are delivered again, never lost; their ids make that harmless).
 *
 * Torn tails and corruption
 * -------------------------
 * A record is appended with one pwrite() and, with fsync "batch", an
 * fdatasync() before vg_spool_append() returns. A crash can leave a partial
 * record at the end of the last segment. At open every segment is read, a
 * record at a time: a record is intact when its 32 header bytes are there
 * with the magic, known flags and sane lengths, its whole payload is there,
 * the CRC32C matches, its seq is the next one, and the zstd frame decodes to
 * exactly the raw length with an event table that frames it exactly. The
 * first record that is not ends the segment: it is logged, counted in
 * corrupt_records, and the file is truncated there (ftruncate, fsync).
 * Records after a corrupt one in the same segment are lost with it (the
 * lengths that would find them cannot be trusted); later segments are kept.
 * A segment whose own header is bad is removed. A record found corrupt when
 * read later (the disk changed under us) is logged, counted and skipped.
 *
 * Sequence numbers and positions
 * ------------------------------
 * Records are numbered 1, 2, ... without reuse: after a restart numbering
 * continues past the last record and past every cursor, so no cursor ever
 * points beyond a record it has not seen. A failed append burns its number.
 * A position (seq, idx) names an event. Each cursor keeps its acknowledged
 * position (persisted) and its read position (in memory). In memory, events
 * also get ordinals (0 = the first event found at open), which give
 * vg_spool_pending() without reading the disk.
 *
 * Segments are closed past segment_bytes (at most max_bytes / 4, so that a
 * full spool can free a quarter of itself by deleting one) and deleted when
 * every cursor has acknowledged all their records. While no cursor exists,
 * nothing is deleted: the data waits for its first consumer.
 *
 * Concurrency
 * -----------
 * mu guards the segment list, the counters and the cursors' positions.
 * append_mu serialises appenders: compression, the write and the fsync run
 * under it but outside mu, and only the appender ever writes the active
 * segment past its published length, so readers (who read only below it)
 * never see a half-written record. Each cursor reads its segment files
 * through a descriptor of its own, so a segment deleted meanwhile stays
 * readable until the cursor moves on. A cursor's read_mu serialises reads
 * and rewinds; its ack_mu serialises acknowledgements and their file
 * writes. The memory mode keeps segment images in memory and copies a
 * record out under mu.
 */
#include "spool.h"
#include "crc32c.h"
#include "spool_internal.h"

#include "../agent/log.h"
#include "../agent/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define SEG_HDR VG_SPOOL_SEG_HDR
#define REC_HDR VG_SPOOL_REC_HDR
#define CUR_SIZE VG_SPOOL_CURSOR_SIZE
#define MAX_PAYLOAD ZSTD_COMPRESSBOUND(VG_SPOOL_MAX_RECORD_RAW)

#define DEFAULT_MAX_BYTES     ((uint64_t)1 << 30)
#define DEFAULT_SEGMENT_BYTES ((uint64_t)64 << 20)
#define MIN_MAX_BYTES         4096                 /* below this, nothing useful fits */
#define MEM_SEGMENT_MAX       ((uint64_t)8 << 20)  /* memory mode: one image */
#define KEEP_BUFFER           (4u << 20)           /* bigger buffers are freed after use */
#define BLOCK_LOG_EVERY_MS    60000                /* "spool full" at most this often */

static const unsigned char seg_magic[4] = { 'V', 'G', 'S', 'G' };
static const unsigned char rec_magic[4] = { 'V', 'G', 'R', 'C' };
static const unsigned char cur_magic[4] = { 'V', 'G', 'C', 'R' };

/* ------------------------------------------------------------------ */
/* Little-endian fields and positions                                   */

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int pos_cmp(struct vg_spool_pos a, struct vg_spool_pos b)
{
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    if (a.idx != b.idx)
        return a.idx < b.idx ? -1 : 1;
    return 0;
}

/* Grows *p to hold need bytes. 0, or -1 when out of memory. */
static int grow(void *pp, size_t *cap, size_t need)
{
    void **p = pp;
    if (need <= *cap && *p)
        return 0;
    size_t ncap = *cap ? *cap : 4096;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    void *n = realloc(*p, ncap);
    if (!n)
        return -1;
    *p = n;
    *cap = ncap;
    return 0;
}

/* Frees a buffer that grew past KEEP_BUFFER, so one huge record does not
 * pin its memory for the spool's life. */
static void shrink(void *pp, size_t *cap)
{
    void **p = pp;
    if (*cap > KEEP_BUFFER) {
        free(*p);
        *p = NULL;
        *cap = 0;
    }
}

/* ------------------------------------------------------------------ */
/* Records: header, CRC, decoding                                       */

struct rec_hdr {
    uint32_t crc;
    uint32_t clen;      /* payload */
    uint32_t rlen;      /* decoded */
    uint32_t count;
    uint64_t seq;
    bool routed;        /* flag 2: a route beside each event */
};

/* Parses and checks a record header; NULL, or why it is not one. */
static const char *rec_hdr_parse(const unsigned char *p, struct rec_hdr *h)
{
    if (memcmp(p, rec_magic, 4) != 0)
        return "bad record magic";
    uint16_t flags = get16(p + 8), hlen = get16(p + 10);
    h->crc = get32(p + 4);
    h->clen = get32(p + 12);
    h->rlen = get32(p + 16);
    h->count = get32(p + 20);
    h->seq = get64(p + 24);
    if (hlen != REC_HDR)
        return "bad record header length";
    if (flags != VG_SPOOL_FLAG_ZSTD && flags != (VG_SPOOL_FLAG_ZSTD | VG_SPOOL_FLAG_ROUTED))
        return "unknown record flags";
    h->routed = (flags & VG_SPOOL_FLAG_ROUTED) != 0;
    if (h->count == 0 || h->count > VG_SPOOL_MAX_BATCH_EVENTS)
        return "bad event count";
    if (h->rlen > VG_SPOOL_MAX_RECORD_RAW ||
        h->rlen < (uint64_t)h->count * (h->routed ? 10 : 5))
        return "bad decoded length";
    if (h->clen == 0 || h->clen > MAX_PAYLOAD)
        return "bad payload length";
    if (h->seq == 0 || h->seq >= VG_SPOOL_MAX_SEQ)
        return "bad sequence number";
    return NULL;
}

/* The CRC32C of the payload and then of header bytes 8..31: the payload's
 * part can be computed before the seq is known. */
static uint32_t rec_crc(const unsigned char *hdr, const unsigned char *payload, size_t clen)
{
    return vg_crc32c(vg_crc32c(0, payload, clen), hdr + 8, REC_HDR - 8);
}

/* A decoded record: the raw buffer, and the arrays a batch points into. */
struct decoder {
    ZSTD_DCtx *dctx;
    char *raw;
    size_t rawcap;
    const char **events;
    size_t *lens;
    struct vg_spool_pos *pos;
    const char **routes;
    size_t *rlens;
    size_t cap;         /* entries of the five arrays */
    size_t n;
    bool routed;        /* routes[0..n) are the record's */
};

enum dec_result { DEC_OK, DEC_BAD, DEC_NOMEM };

static void dec_release(struct decoder *d)
{
    free(d->raw);
    free(d->events);
    free(d->lens);
    free(d->pos);
    free(d->routes);
    free(d->rlens);
    d->raw = NULL;
    d->events = NULL;
    d->lens = NULL;
    d->pos = NULL;
    d->routes = NULL;
    d->rlens = NULL;
    d->rawcap = d->cap = d->n = 0;
}

static void dec_free(struct decoder *d)
{
    dec_release(d);
    ZSTD_freeDCtx(d->dctx);
    d->dctx = NULL;
}

static int dec_reserve(struct decoder *d, size_t rlen, size_t n)
{
    if (grow(&d->raw, &d->rawcap, rlen ? rlen : 1) != 0)
        return -1;
    if (n <= d->cap && d->events)
        return 0;
    const char **ev = realloc(d->events, n * sizeof(*ev));
    if (!ev)
        return -1;
    d->events = ev;
    size_t *lens = realloc(d->lens, n * sizeof(*lens));
    if (!lens)
        return -1;
    d->lens = lens;
    struct vg_spool_pos *pos = realloc(d->pos, n * sizeof(*pos));
    if (!pos)
        return -1;
    d->pos = pos;
    const char **rt = realloc(d->routes, n * sizeof(*rt));
    if (!rt)
        return -1;
    d->routes = rt;
    size_t *rlens = realloc(d->rlens, n * sizeof(*rlens));
    if (!rlens)
        return -1;
    d->rlens = rlens;
    d->cap = n;
    return 0;
}

/* Decodes a record's payload (whose header h is already checked) and
 * frames its events. Untrusted input: every length is checked. */
static enum dec_result dec_record(struct decoder *d, const struct rec_hdr *h,
                                  const unsigned char *payload, const char **why)
{
    d->n = 0;
    if (!d->dctx && !(d->dctx = ZSTD_createDCtx()))
        return DEC_NOMEM;
    size_t fsz = ZSTD_findFrameCompressedSize(payload, h->clen);
    if (ZSTD_isError(fsz) || fsz != h->clen) {
        *why = "payload is not exactly one zstd frame";
        return DEC_BAD;
    }
    if (ZSTD_getFrameContentSize(payload, h->clen) != h->rlen) {
        *why = "zstd frame states another size";
        return DEC_BAD;
    }
    if (dec_reserve(d, h->rlen, h->count) != 0)
        return DEC_NOMEM;
    size_t r = ZSTD_decompressDCtx(d->dctx, d->raw, h->rlen, payload, h->clen);
    if (ZSTD_isError(r) || r != h->rlen) {
        *why = "zstd frame does not decode to the stated size";
        return DEC_BAD;
    }
    const unsigned char *raw = (const unsigned char *)d->raw;
    /* entries: the events, or in a routed record event, route, event, ... */
    size_t per = h->routed ? 2 : 1, entries = (size_t)h->count * per;
    size_t off = entries * 4;   /* rlen >= 5 * entries, checked */
    for (size_t j = 0; j < entries; j++) {
        uint32_t len = get32(raw + 4 * j);
        if (h->rlen - off < 1 || len > h->rlen - off - 1) {
            *why = "event table runs past the record";
            return DEC_BAD;
        }
        if (raw[off + len] != '\0') {
            *why = j % per ? "route not terminated" : "event not terminated";
            return DEC_BAD;
        }
        size_t i = j / per;
        if (j % per) {
            d->routes[i] = d->raw + off;
            d->rlens[i] = len;
        } else {
            d->events[i] = d->raw + off;
            d->lens[i] = len;
            d->pos[i] = (struct vg_spool_pos){ h->seq, (uint32_t)i };
        }
        off += (size_t)len + 1;
    }
    d->routed = h->routed;
    if (off != h->rlen) {
        *why = "bytes after the last event";
        return DEC_BAD;
    }
    d->n = h->count;
    return DEC_OK;
}

/* Compresses n events into *buf as a record image whose header lacks only
 * its seq and CRC; *crc gets the payload's CRC32C. Streaming, so the events
 * are never gathered in one buffer. */
static enum vg_err rec_encode(ZSTD_CCtx *cctx, unsigned char **buf, size_t *cap,
                              unsigned char **lenbuf, size_t *lencap,
                              const char *const *events, const size_t *lens,
                              const char *const *routes, const size_t *rlens, size_t n,
                              size_t *reclen, uint32_t *crc, char *errbuf, size_t errlen)
{
    if (n == 0 || n > VG_SPOOL_MAX_BATCH_EVENTS) {
        snprintf(errbuf, errlen, "a spool batch holds 1 to %u events, not %zu",
                 VG_SPOOL_MAX_BATCH_EVENTS, n);
        return VG_ERR_LIMIT;
    }
    /* the entries: the events, or with routes event, route, event, ... */
    size_t per = routes ? 2 : 1, entries = n * per;
    size_t raw = entries * 4;
    for (size_t j = 0; j < entries; j++) {
        size_t len = j % per ? rlens[j / per] : lens[j / per];
        if (len > VG_SPOOL_MAX_RECORD_RAW || raw + len + 1 > VG_SPOOL_MAX_RECORD_RAW) {
            snprintf(errbuf, errlen, "a spool batch holds at most %u bytes of events",
                     VG_SPOOL_MAX_RECORD_RAW);
            return VG_ERR_LIMIT;
        }
        raw += len + 1;
    }
    size_t bound = ZSTD_compressBound(raw);
    if (grow(buf, cap, REC_HDR + bound) != 0 || grow(lenbuf, lencap, entries * 4) != 0) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    for (size_t j = 0; j < entries; j++)
        put32(*lenbuf + 4 * j, (uint32_t)(j % per ? rlens[j / per] : lens[j / per]));

    size_t r = ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setPledgedSrcSize(cctx, raw);
    ZSTD_outBuffer out = { *buf + REC_HDR, bound, 0 };
    static const char nul = '\0';
    for (size_t i = 0; !ZSTD_isError(r) && i <= 2 * entries; i++) {
        ZSTD_inBuffer in;
        size_t j = (i - 1) / 2;   /* the entry, for i > 0 */
        if (i == 0)
            in = (ZSTD_inBuffer){ *lenbuf, entries * 4, 0 };
        else if (i % 2 && j % per)
            in = (ZSTD_inBuffer){ routes[j / per], rlens[j / per], 0 };
        else if (i % 2)
            in = (ZSTD_inBuffer){ events[j / per], lens[j / per], 0 };
        else
            in = (ZSTD_inBuffer){ &nul, 1, 0 };
        while (!ZSTD_isError(r) && in.pos < in.size)
            r = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_continue);
    }
    if (!ZSTD_isError(r)) {
        ZSTD_inBuffer end = { NULL, 0, 0 };
        do
            r = ZSTD_compressStream2(cctx, &out, &end, ZSTD_e_end);
        while (!ZSTD_isError(r) && r != 0 && out.pos < out.size);
    }
    if (ZSTD_isError(r) || r != 0) {
        snprintf(errbuf, errlen, "cannot compress a spool batch: %s",
                 ZSTD_isError(r) ? ZSTD_getErrorName(r) : "output full");
        return VG_ERR_IO;
    }
    unsigned char *h = *buf;
    memcpy(h, rec_magic, 4);
    put16(h + 8, routes ? VG_SPOOL_FLAG_ZSTD | VG_SPOOL_FLAG_ROUTED : VG_SPOOL_FLAG_ZSTD);
    put16(h + 10, REC_HDR);
    put32(h + 12, (uint32_t)out.pos);
    put32(h + 16, (uint32_t)raw);
    put32(h + 20, (uint32_t)n);
    *crc = vg_crc32c(0, h + REC_HDR, out.pos);
    *reclen = REC_HDR + out.pos;
    return VG_OK;
}

/* Stamps the seq and the CRC into an encoded record. */
static void rec_seal(unsigned char *h, uint64_t seq, uint32_t payload_crc)
{
    put64(h + 24, seq);
    put32(h + 4, vg_crc32c(payload_crc, h + 8, REC_HDR - 8));
}

/* ------------------------------------------------------------------ */
/* Scanning a segment (recovery, and the fuzz target)                   */

/* Where a segment's bytes come from: memory, or a file. */
struct src {
    const unsigned char *mem;
    int fd;
    uint64_t size;
};

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    unsigned char *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = ENODATA;   /* the file shrank under us */
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int src_read(const struct src *src, uint64_t off, void *buf, size_t len)
{
    if (off > src->size || len > src->size - off) {
        errno = ENODATA;
        return -1;
    }
    if (src->mem) {
        memcpy(buf, src->mem + off, len);
        return 0;
    }
    return pread_all(src->fd, buf, len, off);
}

struct scanner {
    struct decoder dec;
    unsigned char *cbuf;
    size_t ccap;
};

static void scanner_free(struct scanner *sc)
{
    dec_free(&sc->dec);
    free(sc->cbuf);
    sc->cbuf = NULL;
    sc->ccap = 0;
}

/* Reads and checks a segment header into out (which it clears). */
static bool scan_header(const struct src *src, struct vg_spool_scan *out)
{
    memset(out, 0, sizeof(*out));
    unsigned char h[SEG_HDR];
    if (src->size < SEG_HDR) {
        out->damage = VG_SPOOL_BAD_HEADER;
        snprintf(out->why, sizeof(out->why), "shorter than a segment header (%" PRIu64 " bytes)",
                 src->size);
        return false;
    }
    if (src_read(src, 0, h, SEG_HDR) != 0) {
        out->damage = VG_SPOOL_READ_ERROR;
        snprintf(out->why, sizeof(out->why), "%s", strerror(errno));
        return false;
    }
    out->damage = VG_SPOOL_BAD_HEADER;
    if (memcmp(h, seg_magic, 4) != 0) {
        snprintf(out->why, sizeof(out->why), "bad segment magic");
        return false;
    }
    if (get32(h + 20) != vg_crc32c(0, h, 20)) {
        snprintf(out->why, sizeof(out->why), "bad segment header CRC");
        return false;
    }
    if (get16(h + 4) != VG_SPOOL_VERSION) {
        out->damage = VG_SPOOL_BAD_VERSION;
        snprintf(out->why, sizeof(out->why), "format version %u (this vigil reads %u)",
                 get16(h + 4), VG_SPOOL_VERSION);
        return false;
    }
    uint64_t first = get64(h + 8);
    if (get16(h + 6) != SEG_HDR || first == 0 || first >= VG_SPOOL_MAX_SEQ) {
        snprintf(out->why, sizeof(out->why), "bad segment header fields");
        return false;
    }
    out->damage = VG_SPOOL_INTACT;
    out->first_seq = first;
    out->last_seq = first - 1;
    out->valid_bytes = SEG_HDR;
    return true;
}

typedef void(record_fn)(void *arg, const struct rec_hdr *h);

/* Reads records after a good header until the end or the first damage;
 * calls fn for each intact one. */
static void scan_records(struct scanner *sc, const struct src *src, bool check_crc,
                         record_fn *fn, void *arg, struct vg_spool_scan *out)
{
    uint64_t off = SEG_HDR, expect = out->first_seq;
    const char *why = NULL;
    char whybuf[sizeof(out->why)];
    while (off < src->size) {
        unsigned char hb[REC_HDR];
        struct rec_hdr h;
        if (src->size - off < REC_HDR) {
            snprintf(whybuf, sizeof(whybuf), "short record header, %" PRIu64 " bytes",
                     src->size - off);
            why = whybuf;
            break;
        }
        if (src_read(src, off, hb, REC_HDR) != 0)
            goto read_error;
        if ((why = rec_hdr_parse(hb, &h)))
            break;
        if (h.clen > src->size - off - REC_HDR) {
            snprintf(whybuf, sizeof(whybuf),
                     "short record: %" PRIu32 " payload bytes stated, %" PRIu64 " present",
                     h.clen, src->size - off - REC_HDR);
            why = whybuf;
            break;
        }
        if (grow(&sc->cbuf, &sc->ccap, h.clen) != 0) {
            errno = ENOMEM;
            goto read_error;
        }
        if (src_read(src, off + REC_HDR, sc->cbuf, h.clen) != 0)
            goto read_error;
        if (check_crc && rec_crc(hb, sc->cbuf, h.clen) != h.crc) {
            why = "bad CRC";
            break;
        }
        if (h.seq != expect) {
            snprintf(whybuf, sizeof(whybuf), "sequence number %" PRIu64 ", expected %" PRIu64,
                     h.seq, expect);
            why = whybuf;
            break;
        }
        enum dec_result dr = dec_record(&sc->dec, &h, sc->cbuf, &why);
        if (dr == DEC_NOMEM) {
            errno = ENOMEM;
            goto read_error;
        }
        if (dr == DEC_BAD)
            break;
        if (fn)
            fn(arg, &h);
        out->records++;
        out->events += h.count;
        out->last_seq = h.seq;
        out->last_count = h.count;
        off += REC_HDR + h.clen;
        expect++;
        why = NULL;
    }
    out->valid_bytes = off;
    if (why) {
        out->damage = VG_SPOOL_CUT;
        snprintf(out->why, sizeof(out->why), "%s", why);
    }
    shrink(&sc->cbuf, &sc->ccap);
    return;
read_error:
    out->valid_bytes = off;
    out->damage = VG_SPOOL_READ_ERROR;
    snprintf(out->why, sizeof(out->why), "%s", strerror(errno));
}

void vg_spool_scan_image(const void *data, size_t len, bool check_crc,
                         struct vg_spool_scan *out)
{
    struct src src = { .mem = data, .fd = -1, .size = len };
    if (!scan_header(&src, out))
        return;
    struct scanner sc = { 0 };
    scan_records(&sc, &src, check_crc, NULL, NULL, out);
    scanner_free(&sc);
}

void vg_spool_segment_header(uint64_t first_seq, unsigned char out[VG_SPOOL_SEG_HDR])
{
    memset(out, 0, SEG_HDR);
    memcpy(out, seg_magic, 4);
    put16(out + 4, VG_SPOOL_VERSION);
    put16(out + 6, SEG_HDR);
    put64(out + 8, first_seq);
    put32(out + 20, vg_crc32c(0, out, 20));
}

int vg_spool_parse_cursor(const void *data, size_t len, struct vg_spool_pos *pos,
                          const char **why)
{
    const unsigned char *p = data;
    if (len != CUR_SIZE) {
        *why = "wrong size";
        return -1;
    }
    if (memcmp(p, cur_magic, 4) != 0) {
        *why = "bad magic";
        return -1;
    }
    if (get32(p + 20) != vg_crc32c(0, p, 20)) {
        *why = "bad CRC";
        return -1;
    }
    if (get16(p + 4) != VG_SPOOL_VERSION || get16(p + 6) != 0) {
        *why = "unknown version";
        return -1;
    }
    pos->seq = get64(p + 8);
    pos->idx = get32(p + 16);
    if (pos->seq >= VG_SPOOL_MAX_SEQ || pos->idx > VG_SPOOL_MAX_BATCH_EVENTS) {
        *why = "position out of range";
        return -1;
    }
    return 0;
}

static void cursor_image(struct vg_spool_pos pos, unsigned char out[CUR_SIZE])
{
    memset(out, 0, CUR_SIZE);
    memcpy(out, cur_magic, 4);
    put16(out + 4, VG_SPOOL_VERSION);
    put64(out + 8, pos.seq);
    put32(out + 16, pos.idx);
    put32(out + 20, vg_crc32c(0, out, 20));
}

enum vg_err vg_spool_encode_record(const char *const *events, const size_t *lens,
                                   const char *const *routes, const size_t *rlens, size_t n,
                                   uint64_t seq, unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!cctx)
        return VG_ERR_NOMEM;
    unsigned char *buf = NULL, *lenbuf = NULL;
    size_t cap = 0, lencap = 0, reclen = 0;
    uint32_t crc = 0;
    char err[128];
    enum vg_err e = rec_encode(cctx, &buf, &cap, &lenbuf, &lencap, events, lens, routes, rlens,
                               n, &reclen, &crc, err, sizeof(err));
    ZSTD_freeCCtx(cctx);
    free(lenbuf);
    if (e) {
        free(buf);
        return e;
    }
    rec_seal(buf, seq, crc);
    *out = buf;
    *outlen = reclen;
    return VG_OK;
}

/* ------------------------------------------------------------------ */
/* The spool                                                            */

struct segment {
    struct segment *next;
    uint64_t first_seq;
    uint64_t last_seq;        /* first_seq - 1 while empty */
    uint32_t last_count;      /* events in the last record */
    uint64_t records;
    uint64_t events;
    uint64_t first_ord;       /* ordinal of its first event */
    uint64_t bytes;           /* published: header and complete records */
    bool closed;              /* takes no more records */
    unsigned char *mem;       /* memory mode: the image */
    size_t memcap;
};

/* A record a cursor has read and not wholly acknowledged. */
struct win_entry {
    uint64_t seq;
    uint64_t ord;             /* of its event 0 */
    uint32_t count;
};

struct vg_spool_cursor {
    struct vg_spool *spool;
    struct vg_spool_cursor *next;
    char name[VG_SPOOL_MAX_CURSOR_NAME + 1];
    bool opened;              /* handed out by vg_spool_cursor() */
    pthread_mutex_t read_mu;
    pthread_mutex_t ack_mu;

    /* under spool->mu */
    struct vg_spool_pos ack;  /* the next event not acknowledged */
    uint64_t ack_ord;
    bool resolved;            /* ack_ord is known (open) */
    struct vg_spool_pos rd;   /* the next event to read */
    uint64_t rd_ord;
    struct vg_spool_pos rd_max; /* past the furthest event ever read */
    struct segment *rd_seg;   /* where rd's record is, or NULL: look it up */
    uint64_t rd_off;
    uint64_t gen;             /* bumped when someone else moves rd */
    struct win_entry *win;
    size_t win_head, win_len, win_cap;

    /* the reading thread's (read_mu) */
    struct decoder dec;
    bool dec_valid;
    uint64_t dec_seq, dec_seg, dec_off, dec_len;
    unsigned char *cbuf;
    size_t ccap;
    int fd;                   /* a segment file, read only */
    uint64_t fd_seg;          /* its first seq */
};

struct vg_spool {
    char *dir;                /* NULL: memory mode */
    int dirfd, lockfd;
    uint64_t max_bytes, seg_limit;
    enum vg_spool_full when_full;
    bool fsync;

    pthread_mutex_t append_mu; /* one appender at a time; guards the below */
    ZSTD_CCtx *cctx;
    unsigned char *wbuf, *lenbuf;
    size_t wcap, lencap;
    int afd;                  /* the active segment, for writing */

    pthread_mutex_t mu;       /* everything below */
    pthread_cond_t data_cv;   /* a record was published */
    pthread_cond_t room_cv;   /* segments were deleted */
    struct segment *head, *tail;
    struct vg_spool_cursor *cursors;
    uint64_t next_seq, next_ord;
    bool interrupted;
    struct vg_spool_stats st;
    int64_t block_logged_ms;
    uint64_t block_waits;
    atomic_int fail_sync;
};

static bool injected_fault(struct vg_spool *s)
{
    int v = atomic_load(&s->fail_sync);
    while (v > 0)
        if (atomic_compare_exchange_weak(&s->fail_sync, &v, v - 1))
            return true;
    return false;
}

static int sync_fd(struct vg_spool *s, int fd, bool data_only)
{
    if (injected_fault(s)) {
        errno = EIO;
        return -1;
    }
    return data_only ? fdatasync(fd) : fsync(fd);
}

static void seg_name(uint64_t first_seq, char out[32])
{
    snprintf(out, 32, "seg-%016" PRIx64 ".vgs", first_seq);
}

static void seg_path(const struct vg_spool *s, uint64_t first_seq, char *out, size_t outlen)
{
    char name[32];
    seg_name(first_seq, name);
    snprintf(out, outlen, "%s/%s", s->dir ? s->dir : "(memory)", name);
}

static bool parse_seg_name(const char *n, uint64_t *seq)
{
    if (strlen(n) != 24 || strncmp(n, "seg-", 4) != 0 || strcmp(n + 20, ".vgs") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 4; i < 20; i++) {
        char c = n[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *seq = v;
    return true;
}

static bool cursor_name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > VG_SPOOL_MAX_CURSOR_NAME)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_' ||
              n[i] == '-'))
            return false;
    return true;
}

static void wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline)
{
    if (deadline < 0) {
        pthread_cond_wait(cv, mu);
        return;
    }
    struct timespec ts = { .tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000 };
    pthread_cond_timedwait(cv, mu, &ts);
}

static int64_t deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : vg_time_mono_ms() + timeout_ms;
}

/* ------------------------------------------------------------------ */
/* Cursors: files and positions (under mu unless said)                  */

static void win_drop_through(struct vg_spool_cursor *c, struct vg_spool_pos ack)
{
    /* entries wholly before ack go */
    while (c->win_len) {
        struct win_entry *e = &c->win[c->win_head];
        if (e->seq > ack.seq || (e->seq == ack.seq && ack.idx < e->count))
            break;
        c->win_head++;
        c->win_len--;
    }
    if (!c->win_len)
        c->win_head = 0;
}

static int win_push(struct vg_spool_cursor *c, uint64_t seq, uint64_t ord, uint32_t count)
{
    if (c->win_len >= VG_SPOOL_MAX_WINDOW)
        return -1;
    if (c->win_head + c->win_len == c->win_cap) {
        if (c->win_head) {
            memmove(c->win, c->win + c->win_head, c->win_len * sizeof(*c->win));
            c->win_head = 0;
        } else {
            size_t ncap = c->win_cap ? c->win_cap * 2 : 16;
            struct win_entry *w = realloc(c->win, ncap * sizeof(*w));
            if (!w)
                return -1;
            c->win = w;
            c->win_cap = ncap;
        }
    }
    c->win[c->win_head + c->win_len++] = (struct win_entry){ seq, ord, count };
    return 0;
}

static struct win_entry *win_find(struct vg_spool_cursor *c, uint64_t seq)
{
    size_t lo = 0, hi = c->win_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct win_entry *e = &c->win[c->win_head + mid];
        if (e->seq == seq)
            return e;
        if (e->seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Writes a cursor file atomically: temp, fsync, rename, fsync dir. */
static enum vg_err cursor_persist(struct vg_spool *s, const char *name, struct vg_spool_pos pos,
                                  char *errbuf, size_t errlen)
{
    if (!s->dir)
        return VG_OK;
    char fname[VG_SPOOL_MAX_CURSOR_NAME + 16], tname[VG_SPOOL_MAX_CURSOR_NAME + 16];
    snprintf(fname, sizeof(fname), "cursor-%s", name);
    snprintf(tname, sizeof(tname), "cursor-%s.tmp", name);
    unsigned char img[CUR_SIZE];
    cursor_image(pos, img);
    const char *step = "create";
    int fd = openat(s->dirfd, tname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    step = "write";
    ssize_t w;
    do
        w = write(fd, img, CUR_SIZE);
    while (w < 0 && errno == EINTR);
    if (w != CUR_SIZE) {
        if (w >= 0)
            errno = ENOSPC;
        goto fail;
    }
    step = "sync";
    if (s->fsync && sync_fd(s, fd, false) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        step = "close";
        goto fail;
    }
    fd = -1;
    step = "rename";
    if (renameat(s->dirfd, tname, s->dirfd, fname) != 0)
        goto fail;
    step = "sync the directory of";
    if (s->fsync && sync_fd(s, s->dirfd, false) != 0)
        goto fail;
    return VG_OK;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlinkat(s->dirfd, tname, 0);
    snprintf(errbuf, errlen, "cannot %s spool cursor %s/%s: %s", step, s->dir, fname,
             strerror(e));
    return VG_ERR_IO;
}

static struct vg_spool_cursor *cursor_new(struct vg_spool *s, const char *name)
{
    struct vg_spool_cursor *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->spool = s;
    snprintf(c->name, sizeof(c->name), "%s", name);
    pthread_mutex_init(&c->read_mu, NULL);
    pthread_mutex_init(&c->ack_mu, NULL);
    c->fd = -1;
    return c;
}

static void cursor_free(struct vg_spool_cursor *c)
{
    if (!c)
        return;
    dec_free(&c->dec);
    free(c->cbuf);
    free(c->win);
    if (c->fd >= 0)
        close(c->fd);
    pthread_mutex_destroy(&c->read_mu);
    pthread_mutex_destroy(&c->ack_mu);
    free(c);
}

/* Points an unresolved cursor at the first record at or after its
 * position (the oldest for seq 0), or past the end. */
static void cursor_resolve(struct vg_spool *s, struct vg_spool_cursor *c)
{
    if (!c->resolved) {
        c->resolved = true;
        struct segment *seg = s->head;
        while (seg && (!seg->records || seg->last_seq < c->ack.seq))
            seg = seg->next;
        if (seg) {
            /* only reached for positions before seg's first record: exact
             * positions inside a segment were resolved by the scan */
            c->ack = (struct vg_spool_pos){ seg->first_seq, 0 };
            c->ack_ord = seg->first_ord;
        } else {
            c->ack = (struct vg_spool_pos){ s->next_seq, 0 };
            c->ack_ord = s->next_ord;
        }
    }
    c->rd = c->rd_max = c->ack;
    c->rd_ord = c->ack_ord;
    c->rd_seg = NULL;
    c->gen++;
}

/* ------------------------------------------------------------------ */
/* Segments (under mu)                                                  */

static bool cursor_past(const struct vg_spool_cursor *c, const struct segment *seg)
{
    return c->ack.seq > seg->last_seq ||
           (c->ack.seq == seg->last_seq && c->ack.idx >= seg->last_count);
}

/* True when every cursor has acknowledged every record of seg. */
static bool seg_delivered(const struct vg_spool *s, const struct segment *seg)
{
    if (!seg->records)
        return true;
    if (!s->cursors)
        return false;   /* keep data for the first consumer */
    for (const struct vg_spool_cursor *c = s->cursors; c; c = c->next)
        if (!cursor_past(c, seg))
            return false;
    return true;
}

static void close_active(struct vg_spool *s)
{
    if (s->tail)
        s->tail->closed = true;
    if (s->afd >= 0) {
        close(s->afd);
        s->afd = -1;
    }
}

static void seg_delete(struct vg_spool *s, struct segment *seg, const char *why)
{
    struct segment **pp = &s->head, *prev = NULL;
    while (*pp && *pp != seg) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = seg->next;
    if (s->tail == seg) {
        if (s->afd >= 0) {
            close(s->afd);
            s->afd = -1;
        }
        s->tail = prev;
    }
    if (s->dir) {
        char name[32];
        seg_name(seg->first_seq, name);
        if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
            vg_log(VG_LOG_WARN, "spool", "cannot remove %s/%s: %s", s->dir, name,
                   strerror(errno));
        else
            vg_log(VG_LOG_DEBUG, "spool", "removed %s/%s (%s)", s->dir, name, why);
    }
    s->st.bytes -= seg->bytes;
    s->st.records -= seg->records;
    for (struct vg_spool_cursor *c = s->cursors; c; c = c->next)
        if (c->rd_seg == seg) {
            c->rd_seg = NULL;
            c->gen++;
        }
    free(seg->mem);
    free(seg);
}

/* Deletes the oldest segments every cursor is done with. */
static bool trim_delivered(struct vg_spool *s)
{
    bool any = false;
    while (s->head && s->head->closed && seg_delivered(s, s->head)) {
        seg_delete(s, s->head, "delivered");
        any = true;
    }
    if (any)
        pthread_cond_broadcast(&s->room_cv);
    return any;
}

/* Frees what acknowledgements allow, closing the active segment early if
 * it is wholly delivered. */
static bool make_room(struct vg_spool *s)
{
    if (trim_delivered(s))
        return true;
    if (s->tail && !s->tail->closed && s->tail->records && s->head == s->tail &&
        seg_delivered(s, s->tail)) {
        close_active(s);
        return trim_delivered(s);
    }
    return false;
}

/* when_full drop_oldest: deletes the oldest segment whatever the cursors
 * say, moves them past it, counts and logs what they lose. */
static void drop_oldest(struct vg_spool *s)
{
    struct segment *seg = s->head;
    if (seg == s->tail && !seg->closed)
        close_active(s);
    uint64_t end_ord = seg->first_ord + seg->events;
    uint64_t lowest = s->cursors ? end_ord : seg->first_ord;
    struct vg_spool_pos past = { seg->last_seq + 1, 0 };
    for (struct vg_spool_cursor *c = s->cursors; c; c = c->next) {
        if (!seg->records || cursor_past(c, seg))
            continue;
        uint64_t from = c->ack_ord > seg->first_ord ? c->ack_ord : seg->first_ord;
        if (from < lowest)
            lowest = from;
        c->ack = past;
        c->ack_ord = end_ord;
        win_drop_through(c, (struct vg_spool_pos){ seg->last_seq, seg->last_count });
        if (pos_cmp(c->rd, past) < 0) {
            c->rd = past;
            c->rd_ord = end_ord;
            c->rd_seg = NULL;
            c->gen++;
        }
        if (pos_cmp(c->rd_max, past) < 0)
            c->rd_max = past;
    }
    uint64_t lost = end_ord > lowest ? end_ord - lowest : 0;
    s->st.events_dropped += lost;
    char path[PATH_MAX];
    seg_path(s, seg->first_seq, path, sizeof(path));
    vg_log(VG_LOG_WARN, "spool",
           "spool full (%" PRIu64 " of %" PRIu64 " bytes): dropped %s, %" PRIu64
           " records, %" PRIu64 " events not yet delivered (%" PRIu64 " dropped since start)",
           s->st.bytes, s->max_bytes, path, seg->records, lost, s->st.events_dropped);
    seg_delete(s, seg, "dropped");
}

/* ------------------------------------------------------------------ */
/* Open and recovery                                                    */

static int mkdir_p(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = c;
        if (!c)
            return 0;
    }
}

/* Called by the scan for each intact record: resolves cursors that point
 * into it and numbers its events. */
static void on_recovered(void *arg, const struct rec_hdr *h)
{
    struct vg_spool *s = arg;
    for (struct vg_spool_cursor *c = s->cursors; c; c = c->next)
        if (!c->resolved && c->ack.seq == h->seq) {
            c->ack_ord = s->next_ord + (c->ack.idx < h->count ? c->ack.idx : h->count);
            c->resolved = true;
        }
    s->next_ord += h->count;
}

static void load_cursor(struct vg_spool *s, const char *fname)
{
    const char *name = fname + strlen("cursor-");
    if (!cursor_name_ok(name))
        return;
    struct vg_spool_cursor *c = cursor_new(s, name);
    if (!c)
        return;   /* it restarts from the oldest when next opened */
    unsigned char img[CUR_SIZE + 1];
    ssize_t n = -1;
    int fd = openat(s->dirfd, fname, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        do
            n = read(fd, img, sizeof(img));
        while (n < 0 && errno == EINTR);
        close(fd);
    }
    const char *why = "unreadable";
    if (n < 0 || vg_spool_parse_cursor(img, (size_t)n, &c->ack, &why) != 0) {
        s->st.corrupt_records++;
        vg_log(VG_LOG_WARN, "spool",
               "cursor %s/%s is corrupt (%s); it restarts from the oldest record, so events "
               "may be delivered twice",
               s->dir, fname, why);
        c->ack = (struct vg_spool_pos){ 0, 0 };
    }
    c->next = s->cursors;
    s->cursors = c;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Reads the directory: loads cursors, removes temp files, lists segments. */
static enum vg_err list_dir(struct vg_spool *s, uint64_t **segs, size_t *nsegs, char *errbuf,
                            size_t errlen)
{
    int dfd = dup(s->dirfd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        snprintf(errbuf, errlen, "cannot read spool directory %s: %s", s->dir, strerror(errno));
        return VG_ERR_IO;
    }
    size_t cap = 0;
    struct dirent *e;
    enum vg_err err = VG_OK;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        uint64_t seq;
        if (strncmp(n, "cursor-", 7) == 0 && len > 4 && strcmp(n + len - 4, ".tmp") == 0) {
            unlinkat(s->dirfd, n, 0);
        } else if (strncmp(n, "cursor-", 7) == 0) {
            load_cursor(s, n);
        } else if (parse_seg_name(n, &seq)) {
            if (grow(segs, &cap, (*nsegs + 1) * sizeof(**segs)) != 0) {
                snprintf(errbuf, errlen, "out of memory");
                err = VG_ERR_NOMEM;
                break;
            }
            (*segs)[(*nsegs)++] = seq;
        }
    }
    closedir(d);
    if (!err && *nsegs)
        qsort(*segs, *nsegs, sizeof(**segs), cmp_u64);
    return err;
}

/* Scans one segment file, cuts it at the first damage, and adds it to the
 * list when it holds records. */
static enum vg_err recover_segment(struct vg_spool *s, struct scanner *sc, uint64_t seq,
                                   char *errbuf, size_t errlen)
{
    char name[32], path[PATH_MAX];
    seg_name(seq, name);
    seg_path(s, seq, path, sizeof(path));
    int fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(errbuf, errlen, "cannot open spool segment %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return VG_ERR_IO;
    }
    struct src src = { .fd = fd, .size = (uint64_t)st.st_size };
    struct vg_spool_scan r;
    uint64_t ord0 = s->next_ord;
    if (scan_header(&src, &r)) {
        if (r.first_seq != seq) {
            r.damage = VG_SPOOL_BAD_HEADER;
            snprintf(r.why, sizeof(r.why), "its header names sequence %" PRIu64, r.first_seq);
        } else if (s->tail && seq <= s->tail->last_seq) {
            r.damage = VG_SPOOL_BAD_HEADER;
            snprintf(r.why, sizeof(r.why), "it starts inside the previous segment");
        } else {
            scan_records(sc, &src, true, on_recovered, s, &r);
        }
    }
    enum vg_err err = VG_OK;
    switch (r.damage) {
    case VG_SPOOL_READ_ERROR:
        snprintf(errbuf, errlen, "cannot read spool segment %s: %s", path, r.why);
        err = VG_ERR_IO;
        break;
    case VG_SPOOL_BAD_VERSION:
        snprintf(errbuf, errlen, "spool segment %s has %s; refusing to touch it", path, r.why);
        err = VG_ERR_INVALID;
        break;
    case VG_SPOOL_BAD_HEADER:
        if (src.size) {
            s->st.corrupt_records++;
            vg_log(VG_LOG_WARN, "spool",
                   "segment %s: bad segment header (%s); removing it (%" PRIu64 " bytes)", path,
                   r.why, src.size);
        } else {
            vg_log(VG_LOG_INFO, "spool", "segment %s: empty file, left by a crash; removing it",
                   path);
        }
        r.records = 0;
        break;
    case VG_SPOOL_CUT:
        s->st.corrupt_records++;
        vg_log(VG_LOG_WARN, "spool",
               "segment %s: corrupt record at offset %" PRIu64 " (%s); cutting off %" PRIu64
               " bytes",
               path, r.valid_bytes, r.why, src.size - r.valid_bytes);
        if (ftruncate(fd, (off_t)r.valid_bytes) != 0 || (s->fsync && fsync(fd) != 0)) {
            snprintf(errbuf, errlen, "cannot cut spool segment %s at %" PRIu64 ": %s", path,
                     r.valid_bytes, strerror(errno));
            err = VG_ERR_IO;
        }
        break;
    case VG_SPOOL_INTACT:
        break;
    }
    close(fd);
    if (err)
        return err;
    if (r.damage != VG_SPOOL_BAD_HEADER && r.first_seq > s->next_seq)
        s->next_seq = r.first_seq;   /* never reuse a number a file was named after */
    if (!r.records) {
        if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT) {
            snprintf(errbuf, errlen, "cannot remove spool segment %s: %s", path,
                     strerror(errno));
            return VG_ERR_IO;
        }
        return VG_OK;
    }
    struct segment *seg = calloc(1, sizeof(*seg));
    if (!seg) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    seg->first_seq = seq;
    seg->last_seq = r.last_seq;
    seg->records = r.records;
    seg->events = r.events;
    seg->first_ord = ord0;
    seg->bytes = r.valid_bytes;
    seg->closed = true;
    seg->last_count = r.last_count;
    if (s->tail)
        s->tail->next = seg;
    else
        s->head = seg;
    s->tail = seg;
    s->st.bytes += seg->bytes;
    s->st.records += seg->records;
    if (r.last_seq + 1 > s->next_seq)
        s->next_seq = r.last_seq + 1;
    return VG_OK;
}

static enum vg_err recover(struct vg_spool *s, char *errbuf, size_t errlen)
{
    uint64_t *segs = NULL;
    size_t nsegs = 0;
    enum vg_err err = list_dir(s, &segs, &nsegs, errbuf, errlen);
    struct scanner sc = { 0 };
    for (size_t i = 0; !err && i < nsegs; i++)
        err = recover_segment(s, &sc, segs[i], errbuf, errlen);
    scanner_free(&sc);
    free(segs);
    if (err)
        return err;
    /* numbering continues past every cursor too: a cursor past the end
     * (its records were cut) must not skip the records that come next */
    for (struct vg_spool_cursor *c = s->cursors; c; c = c->next) {
        uint64_t need = c->ack.idx ? c->ack.seq + 1 : c->ack.seq;
        if (!c->resolved && need > s->next_seq)
            s->next_seq = need;
    }
    for (struct vg_spool_cursor *c = s->cursors; c; c = c->next)
        cursor_resolve(s, c);
    /* append to the last segment if it has room and numbering follows on */
    struct segment *t = s->tail;
    if (t && t->bytes < s->seg_limit && t->last_seq + 1 == s->next_seq) {
        char name[32];
        seg_name(t->first_seq, name);
        s->afd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
        if (s->afd >= 0)
            t->closed = false;
    }
    trim_delivered(s);
    if (s->st.records)
        vg_log(VG_LOG_INFO, "spool", "%s: %" PRIu64 " records, %" PRIu64 " bytes kept", s->dir,
               s->st.records, s->st.bytes);
    return VG_OK;
}

static void spool_free(struct vg_spool *s)
{
    if (!s)
        return;
    while (s->cursors) {
        struct vg_spool_cursor *c = s->cursors;
        s->cursors = c->next;
        cursor_free(c);
    }
    while (s->head) {
        struct segment *seg = s->head;
        s->head = seg->next;
        free(seg->mem);
        free(seg);
    }
    if (s->afd >= 0)
        close(s->afd);
    if (s->lockfd >= 0)
        close(s->lockfd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    ZSTD_freeCCtx(s->cctx);
    free(s->wbuf);
    free(s->lenbuf);
    free(s->dir);
    pthread_mutex_destroy(&s->append_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->data_cv);
    pthread_cond_destroy(&s->room_cv);
    free(s);
}

struct vg_spool *vg_spool_open(const struct vg_spool_opts *o, char *errbuf, size_t errlen)
{
    if (!o) {
        snprintf(errbuf, errlen, "no spool options");
        return NULL;
    }
    struct vg_spool *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    s->dirfd = s->lockfd = s->afd = -1;
    pthread_mutex_init(&s->append_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* vg_time_mono_ms() */
    pthread_cond_init(&s->data_cv, &ca);
    pthread_cond_init(&s->room_cv, &ca);
    pthread_condattr_destroy(&ca);

    s->max_bytes = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
    uint64_t segb = o->segment_bytes ? o->segment_bytes : DEFAULT_SEGMENT_BYTES;
    if (segb > s->max_bytes / 4)
        segb = s->max_bytes / 4;
    if (!o->dir && segb > MEM_SEGMENT_MAX)
        segb = MEM_SEGMENT_MAX;
    s->seg_limit = segb;
    s->when_full = o->when_full;
    s->fsync = o->fsync;
    s->next_seq = 1;
    if (s->max_bytes < MIN_MAX_BYTES) {
        snprintf(errbuf, errlen, "spool max_bytes must be at least %d", MIN_MAX_BYTES);
        goto fail;
    }
    if (o->when_full != VG_SPOOL_BLOCK && o->when_full != VG_SPOOL_DROP_OLDEST) {
        snprintf(errbuf, errlen, "unknown spool when_full value %d", (int)o->when_full);
        goto fail;
    }
    s->cctx = ZSTD_createCCtx();
    if (!s->cctx ||
        ZSTD_isError(ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel,
                                            o->zstd_level ? o->zstd_level : 1))) {
        snprintf(errbuf, errlen, "cannot set up zstd compression (level %d)", o->zstd_level);
        goto fail;
    }
    if (!o->dir)
        return s;

    if (!*o->dir || !(s->dir = strdup(o->dir))) {
        snprintf(errbuf, errlen, *o->dir ? "out of memory" : "empty spool path");
        goto fail;
    }
    if (mkdir_p(s->dir) != 0 ||
        (s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(errbuf, errlen, "cannot use spool directory %s: %s", s->dir, strerror(errno));
        goto fail;
    }
    s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lockfd < 0) {
        snprintf(errbuf, errlen, "cannot create %s/lock: %s", s->dir, strerror(errno));
        goto fail;
    }
    if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(errbuf, errlen,
                 errno == EWOULDBLOCK ? "spool %s is in use by another vigil process"
                                      : "cannot lock spool %s",
                 s->dir);
        goto fail;
    }
    if (recover(s, errbuf, errlen) != VG_OK)
        goto fail;
    return s;
fail:
    spool_free(s);
    return NULL;
}

void vg_spool_close(struct vg_spool *s)
{
    spool_free(s);
}

void vg_spool_interrupt(struct vg_spool *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->interrupted = true;
    pthread_cond_broadcast(&s->data_cv);
    pthread_cond_broadcast(&s->room_cv);
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------------ */
/* Append                                                               */

static bool need_new_segment(const struct vg_spool *s)
{
    return !s->tail || s->tail->closed || s->tail->bytes >= s->seg_limit ||
           s->tail->last_seq + 1 != s->next_seq;
}

/* Waits (or drops) until need more bytes fit. Under mu. */
static enum vg_err wait_for_room(struct vg_spool *s, size_t reclen, int timeout_ms,
                                 char *errbuf, size_t errlen)
{
    int64_t deadline = deadline_of(timeout_ms), started = -1;
    enum vg_err err = VG_OK;
    for (;;) {
        uint64_t need = reclen + (need_new_segment(s) ? SEG_HDR : 0);
        if (s->st.bytes + need <= s->max_bytes)
            break;
        if (make_room(s))
            continue;
        if (s->when_full == VG_SPOOL_DROP_OLDEST && s->head) {
            drop_oldest(s);
            continue;
        }
        int64_t now = vg_time_mono_ms();
        if (started < 0) {
            started = now;
            s->block_waits++;
            if (s->block_logged_ms == 0 || now - s->block_logged_ms >= BLOCK_LOG_EVERY_MS) {
                vg_log(VG_LOG_WARN, "spool",
                       "spool full (%" PRIu64 " of %" PRIu64 " bytes): collectors wait for the "
                       "outputs (%" PRIu64 " waits so far)",
                       s->st.bytes, s->max_bytes, s->block_waits);
                s->block_logged_ms = now;
            }
        }
        if (s->interrupted || timeout_ms == 0 || (deadline >= 0 && now >= deadline) ||
            !s->head) {
            snprintf(errbuf, errlen,
                     s->interrupted ? "spool is shutting down"
                                    : "spool full (%" PRIu64 " of %" PRIu64
                                      " bytes): the outputs made no room in time",
                     s->st.bytes, s->max_bytes);
            err = VG_ERR_LIMIT;
            break;
        }
        wait_until(&s->room_cv, &s->mu, deadline);
    }
    if (started >= 0)
        s->st.blocked_ms += (uint64_t)(vg_time_mono_ms() - started);
    return err;
}

/* Creates a segment file (or image) starting at first_seq; outside mu.
 * *fd gets the file, open for writing. */
static enum vg_err seg_create(struct vg_spool *s, uint64_t first_seq, struct segment **out,
                              int *fd, char *errbuf, size_t errlen)
{
    struct segment *seg = calloc(1, sizeof(*seg));
    if (!seg) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    seg->first_seq = first_seq;
    seg->last_seq = first_seq - 1;
    seg->bytes = SEG_HDR;
    unsigned char h[SEG_HDR];
    vg_spool_segment_header(first_seq, h);
    *fd = -1;
    if (!s->dir) {
        if (grow(&seg->mem, &seg->memcap, 64u << 10) != 0) {
            free(seg);
            snprintf(errbuf, errlen, "out of memory");
            return VG_ERR_NOMEM;
        }
        memcpy(seg->mem, h, SEG_HDR);
        *out = seg;
        return VG_OK;
    }
    char name[32], path[PATH_MAX];
    seg_name(first_seq, name);
    seg_path(s, first_seq, path, sizeof(path));
    const char *step = "create";
    int f = openat(s->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f < 0)
        goto fail;
    step = "write";
    errno = 0;
    if (pwrite(f, h, SEG_HDR, 0) != SEG_HDR) {
        if (errno == 0)
            errno = ENOSPC;
        goto fail;
    }
    step = "sync";
    if (s->fsync && (sync_fd(s, f, true) != 0 || sync_fd(s, s->dirfd, false) != 0))
        goto fail;
    *fd = f;
    *out = seg;
    return VG_OK;
fail:;
    int e = errno;
    if (f >= 0) {
        close(f);
        unlinkat(s->dirfd, name, 0);
    }
    free(seg);
    snprintf(errbuf, errlen, "cannot %s spool segment %s: %s", step, path, strerror(e));
    return VG_ERR_IO;
}

static enum vg_err write_record(struct vg_spool *s, uint64_t off, size_t reclen, char *errbuf,
                                size_t errlen)
{
    const unsigned char *p = s->wbuf;
    size_t left = reclen;
    const char *step = "write to";
    while (left) {
        errno = 0;
        ssize_t n = pwrite(s->afd, p, left, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            goto fail;
        }
        p += n;
        left -= (size_t)n;
        off += (uint64_t)n;
    }
    step = "sync";
    if (s->fsync && sync_fd(s, s->afd, true) != 0)
        goto fail;
    return VG_OK;
fail:;
    int e = errno;
    char path[PATH_MAX];
    seg_path(s, s->tail ? s->tail->first_seq : 0, path, sizeof(path));
    snprintf(errbuf, errlen, "cannot %s spool segment %s: %s; the batch is not accepted", step,
             path, strerror(e));
    return VG_ERR_IO;
}

enum vg_err vg_spool_append(struct vg_spool *s, const char *const *events, const size_t *lens,
                            size_t n, int timeout_ms, char *errbuf, size_t errlen)
{
    return vg_spool_append_routed(s, events, lens, NULL, NULL, n, timeout_ms, errbuf, errlen);
}

enum vg_err vg_spool_append_routed(struct vg_spool *s, const char *const *events,
                                   const size_t *lens, const char *const *routes,
                                   const size_t *rlens, size_t n, int timeout_ms, char *errbuf,
                                   size_t errlen)
{
    if (!s || (n && (!events || !lens)) || (routes && !rlens)) {
        snprintf(errbuf, errlen, "invalid spool append");
        return VG_ERR_INVALID;
    }
    if (n == 0)
        return VG_OK;
    pthread_mutex_lock(&s->append_mu);
    size_t reclen = 0;
    uint32_t pcrc = 0;
    enum vg_err err = rec_encode(s->cctx, &s->wbuf, &s->wcap, &s->lenbuf, &s->lencap, events,
                                 lens, routes, rlens, n, &reclen, &pcrc, errbuf, errlen);
    if (err)
        goto out;
    if (reclen + SEG_HDR > s->max_bytes) {
        snprintf(errbuf, errlen,
                 "a batch of %zu events takes %zu bytes compressed, more than the spool holds "
                 "(max_bytes %" PRIu64 ")",
                 n, reclen, s->max_bytes);
        err = VG_ERR_LIMIT;
        goto out;
    }

    pthread_mutex_lock(&s->mu);
    err = wait_for_room(s, reclen, timeout_ms, errbuf, errlen);
    uint64_t seq = s->next_seq;
    bool fresh = !err && need_new_segment(s);
    if (fresh)
        close_active(s);
    pthread_mutex_unlock(&s->mu);
    if (err)
        goto out;

    if (fresh) {
        struct segment *seg;
        int fd;
        err = seg_create(s, seq, &seg, &fd, errbuf, errlen);
        if (err)
            goto out;
        pthread_mutex_lock(&s->mu);
        seg->first_ord = s->next_ord;
        if (s->tail)
            s->tail->next = seg;
        else
            s->head = seg;
        s->tail = seg;
        s->afd = fd;
        s->st.bytes += SEG_HDR;
        pthread_mutex_unlock(&s->mu);
    }
    rec_seal(s->wbuf, seq, pcrc);
    struct segment *seg = s->tail;   /* only appenders change the tail's end */
    uint64_t off = seg->bytes;

    if (s->dir) {
        err = write_record(s, off, reclen, errbuf, errlen);
        pthread_mutex_lock(&s->mu);
    } else {
        pthread_mutex_lock(&s->mu);
        if (grow(&seg->mem, &seg->memcap, off + reclen) != 0) {
            snprintf(errbuf, errlen, "out of memory for the spool");
            err = VG_ERR_NOMEM;
        } else {
            memcpy(seg->mem + off, s->wbuf, reclen);
        }
    }
    if (err) {
        /* cut what may have been written, abandon the segment, burn the
         * seq: a record that reached the disk anyway is then a duplicate
         * in a segment of its own, never a clash of numbers */
        if (s->dir && ftruncate(s->afd, (off_t)off) != 0)
            vg_log(VG_LOG_WARN, "spool", "cannot cut a failed write: %s", strerror(errno));
        close_active(s);
        s->next_seq = seq + 1;
        if (!seg->records)
            seg_delete(s, seg, "failed write");
    } else {
        seg->bytes += reclen;
        seg->records++;
        seg->events += n;
        seg->last_seq = seq;
        seg->last_count = (uint32_t)n;
        s->st.bytes += reclen;
        s->st.records++;
        s->st.events_appended += n;
        s->next_seq = seq + 1;
        s->next_ord += n;
        pthread_cond_broadcast(&s->data_cv);
    }
    pthread_mutex_unlock(&s->mu);
out:
    shrink(&s->wbuf, &s->wcap);
    shrink(&s->lenbuf, &s->lencap);
    pthread_mutex_unlock(&s->append_mu);
    return err;
}

/* ------------------------------------------------------------------ */
/* Cursors                                                              */

enum vg_err vg_spool_cursor(struct vg_spool *s, const char *name, struct vg_spool_cursor **out)
{
    *out = NULL;
    if (!s || !cursor_name_ok(name))
        return VG_ERR_INVALID;
    enum vg_err err = VG_OK;
    pthread_mutex_lock(&s->mu);
    struct vg_spool_cursor *c = s->cursors;
    while (c && strcmp(c->name, name) != 0)
        c = c->next;
    if (!c) {
        c = cursor_new(s, name);
        if (!c) {
            err = VG_ERR_NOMEM;
            goto out;
        }
        c->ack = (struct vg_spool_pos){ 0, 0 };
        cursor_resolve(s, c);
        char eb[256];
        /* persisted at once: from now on it holds the data it has not seen */
        err = cursor_persist(s, name, c->ack, eb, sizeof(eb));
        if (err) {
            vg_log(VG_LOG_ERROR, "spool", "%s", eb);
            cursor_free(c);
            goto out;
        }
        c->next = s->cursors;
        s->cursors = c;
    }
    c->opened = true;
    *out = c;
out:
    pthread_mutex_unlock(&s->mu);
    return err;
}

size_t vg_spool_prune(struct vg_spool *s)
{
    if (!s)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (struct vg_spool_cursor **pp = &s->cursors; *pp;) {
        struct vg_spool_cursor *c = *pp;
        if (c->opened) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        if (s->dir) {
            char fname[VG_SPOOL_MAX_CURSOR_NAME + 16];
            snprintf(fname, sizeof(fname), "cursor-%s", c->name);
            unlinkat(s->dirfd, fname, 0);
            if (s->fsync)
                fsync(s->dirfd);
        }
        vg_log(VG_LOG_INFO, "spool", "removed cursor %s, which no output uses", c->name);
        cursor_free(c);
        n++;
    }
    if (n)
        trim_delivered(s);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Finds the segment and offset of the record rd is in, or the next one.
 * Returns the segment with rd_off below its published end, or NULL when
 * there is nothing (yet) to read. Under mu. */
static struct segment *locate(struct vg_spool *s, struct vg_spool_cursor *c)
{
    if (!c->rd_seg) {
        struct segment *seg = s->head;
        while (seg && seg->next && (!seg->records || seg->last_seq < c->rd.seq))
            seg = seg->next;
        if (!seg)
            return NULL;
        c->rd_seg = seg;
        c->rd_off = SEG_HDR;
    }
    for (;;) {
        struct segment *seg = c->rd_seg;
        if (c->rd_off < seg->bytes)
            return seg;
        if (!seg->next)
            return NULL;
        c->rd_seg = seg->next;
        c->rd_off = SEG_HDR;
    }
}

/* Serves up to max events of the decoded record at rd. Under mu. */
static enum vg_err serve(struct vg_spool_cursor *c, size_t max, struct vg_spool_batch *b)
{
    struct decoder *d = &c->dec;
    if (!c->win_len || c->win[c->win_head + c->win_len - 1].seq < c->dec_seq)
        if (win_push(c, c->dec_seq, c->rd_ord - c->rd.idx, (uint32_t)d->n) != 0)
            return VG_ERR_LIMIT;   /* the consumer must acknowledge first */
    size_t k = d->n - c->rd.idx;
    if (k > max)
        k = max;
    b->events = d->events + c->rd.idx;
    b->lens = d->lens + c->rd.idx;
    b->pos = d->pos + c->rd.idx;
    b->routes = d->routed ? d->routes + c->rd.idx : NULL;
    b->rlens = d->routed ? d->rlens + c->rd.idx : NULL;
    b->n = k;
    b->priv = c;
    c->rd.idx += (uint32_t)k;
    c->rd_ord += k;
    if (c->rd.idx >= d->n) {
        if (c->rd_seg && c->rd_seg->first_seq == c->dec_seg)
            c->rd_off = c->dec_off + c->dec_len;
        else
            c->rd_seg = NULL;
        c->rd = (struct vg_spool_pos){ c->dec_seq + 1, 0 };
    }
    if (pos_cmp(c->rd_max, c->rd) < 0)
        c->rd_max = c->rd;
    return VG_OK;
}

/* What reading one record (outside mu) came to. */
enum fetch_kind { F_SKIP, F_DECODED, F_BAD, F_BAD_HEADER, F_IO, F_NOMEM };

struct fetch {
    enum fetch_kind kind;
    struct rec_hdr h;
    const char *why;
    int err;
};

/* Makes c->fd the file of the segment starting at first_seq. */
static int cursor_fd(struct vg_spool *s, struct vg_spool_cursor *c, uint64_t first_seq)
{
    if (c->fd >= 0 && c->fd_seg == first_seq)
        return 0;
    if (c->fd >= 0)
        close(c->fd);
    char name[32];
    seg_name(first_seq, name);
    c->fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    c->fd_seg = first_seq;
    return c->fd >= 0 ? 0 : -1;
}

/* True when the record with header h is to be passed over for want. */
static bool skip_record(const struct rec_hdr *h, struct vg_spool_pos want)
{
    return h->seq < want.seq || (h->seq == want.seq && want.idx >= h->count);
}

/* Reads (disk: outside mu) and decodes the record at off. For the memory
 * mode, the caller has copied header and payload into c->cbuf. */
static void fetch_record(struct vg_spool *s, struct vg_spool_cursor *c, uint64_t seg_first,
                         uint64_t off, uint64_t end, struct vg_spool_pos want, bool in_cbuf,
                         struct fetch *f)
{
    memset(f, 0, sizeof(*f));
    if (!in_cbuf) {
        unsigned char hb[REC_HDR];
        if (end - off < REC_HDR) {
            f->kind = F_BAD_HEADER;
            f->why = "short record header";
            return;
        }
        if (cursor_fd(s, c, seg_first) != 0 || pread_all(c->fd, hb, REC_HDR, off) != 0) {
            f->kind = F_IO;
            f->err = errno;
            return;
        }
        if ((f->why = rec_hdr_parse(hb, &f->h)) || f->h.clen > end - off - REC_HDR) {
            if (!f->why)
                f->why = "record runs past the segment";
            f->kind = F_BAD_HEADER;
            return;
        }
        if (skip_record(&f->h, want)) {
            f->kind = F_SKIP;
            return;
        }
        if (grow(&c->cbuf, &c->ccap, REC_HDR + f->h.clen) != 0) {
            f->kind = F_NOMEM;
            return;
        }
        memcpy(c->cbuf, hb, REC_HDR);
        if (pread_all(c->fd, c->cbuf + REC_HDR, f->h.clen, off + REC_HDR) != 0) {
            f->kind = F_IO;
            f->err = errno;
            return;
        }
    } else if (rec_hdr_parse(c->cbuf, &f->h)) {
        f->kind = F_BAD_HEADER;   /* cannot happen: checked under mu */
        f->why = "bad record header";
        return;
    }
    if (rec_crc(c->cbuf, c->cbuf + REC_HDR, f->h.clen) != f->h.crc) {
        f->kind = F_BAD;
        f->why = "bad CRC";
        return;
    }
    c->dec_valid = false;
    enum dec_result dr = dec_record(&c->dec, &f->h, c->cbuf + REC_HDR, &f->why);
    f->kind = dr == DEC_OK ? F_DECODED : dr == DEC_NOMEM ? F_NOMEM : F_BAD;
}

enum vg_err vg_spool_read(struct vg_spool_cursor *c, size_t max, int timeout_ms,
                          struct vg_spool_batch *b)
{
    if (b)
        memset(b, 0, sizeof(*b));
    if (!c || !b)
        return VG_ERR_INVALID;
    if (max == 0)
        return VG_OK;
    struct vg_spool *s = c->spool;
    int64_t deadline = deadline_of(timeout_ms);
    enum vg_err err = VG_OK;
    pthread_mutex_lock(&c->read_mu);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (c->dec_valid && c->dec_seq == c->rd.seq && c->rd.idx < c->dec.n) {
            err = serve(c, max, b);
            break;
        }
        struct segment *seg = locate(s, c);
        if (!seg) {
            if (s->interrupted || timeout_ms == 0 ||
                (deadline >= 0 && vg_time_mono_ms() >= deadline))
                break;
            wait_until(&s->data_cv, &s->mu, deadline);
            continue;
        }
        uint64_t off = c->rd_off, end = seg->bytes, gen = c->gen, seg_first = seg->first_seq;
        uint64_t end_ord = seg->first_ord + seg->events, end_seq = seg->last_seq + 1;
        struct vg_spool_pos want = c->rd;
        bool in_cbuf = false;
        struct fetch f;
        if (!s->dir) {
            /* memory mode: the header is checked and the record copied out
             * here, since the image may move when the appender grows it */
            memset(&f, 0, sizeof(f));
            if (end - off < REC_HDR) {
                f.kind = F_BAD_HEADER;
                f.why = "short record header";
            } else if ((f.why = rec_hdr_parse(seg->mem + off, &f.h)) ||
                f.h.clen > end - off - REC_HDR) {
                f.kind = F_BAD_HEADER;
            } else if (skip_record(&f.h, want)) {
                f.kind = F_SKIP;
            } else if (grow(&c->cbuf, &c->ccap, REC_HDR + f.h.clen) != 0) {
                f.kind = F_NOMEM;
            } else {
                memcpy(c->cbuf, seg->mem + off, REC_HDR + f.h.clen);
                in_cbuf = true;
            }
        }
        if (s->dir || in_cbuf) {
            pthread_mutex_unlock(&s->mu);
            fetch_record(s, c, seg_first, off, end, want, in_cbuf, &f);
            pthread_mutex_lock(&s->mu);
        }
        if (f.kind == F_DECODED) {
            c->dec_valid = true;
            c->dec_seq = f.h.seq;
            c->dec_seg = seg_first;
            c->dec_off = off;
            c->dec_len = REC_HDR + f.h.clen;
        }
        shrink(&c->cbuf, &c->ccap);
        if (c->gen != gen)
            continue;   /* moved meanwhile (drop_oldest, segment deleted) */
        if (f.kind == F_IO && f.err == ENOENT) {
            f.kind = F_BAD_HEADER;   /* removed behind our back */
            f.why = "segment file is missing";
        }
        if (f.kind == F_IO || f.kind == F_NOMEM) {
            char path[PATH_MAX];
            seg_path(s, seg_first, path, sizeof(path));
            if (f.kind == F_IO)
                vg_log(VG_LOG_ERROR, "spool", "cannot read %s: %s", path, strerror(f.err));
            err = f.kind == F_IO ? VG_ERR_IO : VG_ERR_NOMEM;
            break;
        }
        switch (f.kind) {
        case F_SKIP:
            c->rd_off = off + REC_HDR + f.h.clen;
            if (f.h.seq == want.seq)
                c->rd = (struct vg_spool_pos){ f.h.seq + 1, 0 };
            break;
        case F_DECODED:
            if (f.h.seq > want.seq)
                c->rd = (struct vg_spool_pos){ f.h.seq, 0 };   /* a gap */
            break;
        case F_BAD:
        case F_BAD_HEADER: {
            char path[PATH_MAX];
            seg_path(s, seg_first, path, sizeof(path));
            s->st.corrupt_records++;
            if (f.kind == F_BAD) {
                vg_log(VG_LOG_ERROR, "spool",
                       "segment %s: corrupt record at offset %" PRIu64
                       " (%s); skipping its %" PRIu32 " events",
                       path, off, f.why, f.h.count);
                c->rd_off = off + REC_HDR + f.h.clen;
                if (f.h.seq >= want.seq) {
                    c->rd_ord += f.h.count - (f.h.seq == want.seq ? want.idx : 0);
                    c->rd = (struct vg_spool_pos){ f.h.seq + 1, 0 };
                }
            } else {
                vg_log(VG_LOG_ERROR, "spool",
                       "segment %s: corrupt record at offset %" PRIu64
                       " (%s); skipping the rest of the segment",
                       path, off, f.why);
                c->rd_off = end;
                if (pos_cmp(c->rd, (struct vg_spool_pos){ end_seq, 0 }) < 0) {
                    c->rd = (struct vg_spool_pos){ end_seq, 0 };
                    c->rd_ord = end_ord;
                }
            }
            if (pos_cmp(c->rd_max, c->rd) < 0)
                c->rd_max = c->rd;
            break;
        }
        default:
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&c->read_mu);
    return err;
}

void vg_spool_batch_release(struct vg_spool_batch *b)
{
    if (!b)
        return;
    struct vg_spool_cursor *c = b->priv;
    memset(b, 0, sizeof(*b));
    /* frees the decoded record if it was a huge one; skipped when another
     * thread is reading this cursor (the buffer is then theirs) */
    if (c && pthread_mutex_trylock(&c->read_mu) == 0) {
        if (c->dec.rawcap > KEEP_BUFFER) {
            c->dec_valid = false;
            dec_release(&c->dec);
        }
        pthread_mutex_unlock(&c->read_mu);
    }
}

void vg_spool_rewind(struct vg_spool_cursor *c)
{
    if (!c)
        return;
    struct vg_spool *s = c->spool;
    pthread_mutex_lock(&c->read_mu);
    pthread_mutex_lock(&s->mu);
    c->rd = c->ack;
    c->rd_ord = c->ack_ord;
    c->rd_seg = NULL;
    c->gen++;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&c->read_mu);
}

enum vg_err vg_spool_ack(struct vg_spool_cursor *c, struct vg_spool_pos pos, char *errbuf,
                         size_t errlen)
{
    if (!c) {
        snprintf(errbuf, errlen, "no spool cursor");
        return VG_ERR_INVALID;
    }
    struct vg_spool *s = c->spool;
    enum vg_err err = VG_OK;
    struct vg_spool_pos next = { pos.seq, pos.idx + 1 };
    pthread_mutex_lock(&c->ack_mu);
    pthread_mutex_lock(&s->mu);
    if (pos.idx == UINT32_MAX || pos_cmp(pos, c->rd_max) >= 0) {
        snprintf(errbuf, errlen,
                 "spool cursor %s: position %" PRIu64 ":%" PRIu32 " has not been read", c->name,
                 pos.seq, pos.idx);
        err = VG_ERR_INVALID;
        goto out;
    }
    if (pos_cmp(next, c->ack) <= 0)
        goto out;   /* already acknowledged (or dropped): nothing to do */
    struct win_entry *e = win_find(c, pos.seq);
    if (!e || pos.idx >= e->count) {
        snprintf(errbuf, errlen,
                 "spool cursor %s: position %" PRIu64 ":%" PRIu32 " was not handed out",
                 c->name, pos.seq, pos.idx);
        err = VG_ERR_INVALID;
        goto out;
    }
    uint64_t ord = e->ord + next.idx;
    pthread_mutex_unlock(&s->mu);
    err = cursor_persist(s, c->name, next, errbuf, errlen);
    pthread_mutex_lock(&s->mu);
    if (err)
        goto out;
    if (pos_cmp(next, c->ack) > 0) {   /* drop_oldest may have moved it meanwhile */
        c->ack = next;
        c->ack_ord = ord;
        win_drop_through(c, next);
        trim_delivered(s);
        /* a blocked appender may now close and delete the active segment */
        pthread_cond_broadcast(&s->room_cv);
    }
out:
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&c->ack_mu);
    return err;
}

uint64_t vg_spool_pending(struct vg_spool_cursor *c)
{
    if (!c)
        return 0;
    struct vg_spool *s = c->spool;
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->next_ord > c->ack_ord ? s->next_ord - c->ack_ord : 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void vg_spool_get_stats(struct vg_spool *s, struct vg_spool_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}

void vg_spool_test_fail_sync(struct vg_spool *s, int count)
{
    atomic_store(&s->fail_sync, count);
}
