/*
 * The spool's insides, for its tests and its fuzz target: the format's
 * constants and caps, the recovery scan over a segment image in memory,
 * the cursor file parser, a record encoder, and fault injection. Nothing
 * else should include this header.
 */
#ifndef VG_SPOOL_INTERNAL_H
#define VG_SPOOL_INTERNAL_H

#include "spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The format (drawn in outputs/spool.c). */
#define VG_SPOOL_VERSION      1
#define VG_SPOOL_SEG_HDR      24    /* segment file header */
#define VG_SPOOL_REC_HDR      32    /* record header */
#define VG_SPOOL_CURSOR_SIZE  24    /* cursor file */
#define VG_SPOOL_FLAG_ZSTD    0x0001u
#define VG_SPOOL_FLAG_ROUTED  0x0002u   /* a route beside each event */

/* Caps (candidates for agent/limits.h). A record is one appended batch. */
#define VG_SPOOL_MAX_BATCH_EVENTS  65536u          /* events in one record */
#define VG_SPOOL_MAX_RECORD_RAW    (32u << 20)     /* a record's decoded size */
#define VG_SPOOL_MAX_WINDOW        65536u          /* records read but not yet acked, per cursor */
#define VG_SPOOL_MAX_CURSOR_NAME   64              /* bytes of a cursor name */
#define VG_SPOOL_MAX_SEQ           ((uint64_t)1 << 62)  /* sequence numbers stay below */

/* What a scan of one segment found. */
enum vg_spool_damage {
    VG_SPOOL_INTACT = 0,      /* every byte belongs to an intact record */
    VG_SPOOL_CUT,             /* a record is torn or corrupt at valid_bytes */
    VG_SPOOL_BAD_HEADER,      /* the segment header is short or corrupt */
    VG_SPOOL_BAD_VERSION,     /* an intact header of another format version */
    VG_SPOOL_READ_ERROR,      /* the file could not be read, or out of memory */
};

struct vg_spool_scan {
    enum vg_spool_damage damage;
    uint64_t first_seq;       /* from the segment header */
    uint64_t valid_bytes;     /* header and intact records before the damage */
    uint64_t records;
    uint64_t events;
    uint64_t last_seq;        /* of the last intact record; first_seq - 1 if none */
    uint32_t last_count;      /* events in that record */
    char why[160];            /* the damage, one sentence fragment */
};

/* Scans a segment image in memory exactly as recovery scans a segment
 * file: header, then each record's header, length, sequence number,
 * CRC32C (unless check_crc is false, which lets a fuzzer reach the
 * decoder), zstd frame and event table, stopping at the first damage.
 * Never fails, never reads outside data[0..len). */
void vg_spool_scan_image(const void *data, size_t len, bool check_crc,
                         struct vg_spool_scan *out);

/* Parses a cursor file's bytes. Returns 0 with the position (the next
 * unacknowledged event), or -1 with a reason in why. */
int vg_spool_parse_cursor(const void *data, size_t len, struct vg_spool_pos *pos,
                          const char **why);

/* Builds a segment header for first_seq. */
void vg_spool_segment_header(uint64_t first_seq, unsigned char out[VG_SPOOL_SEG_HDR]);

/* Encodes n events (and, unless routes is NULL, their routes) as one
 * record image (header and payload) with the given sequence number.
 * Caller frees *out with free(). */
enum vg_err vg_spool_encode_record(const char *const *events, const size_t *lens,
                                   const char *const *routes, const size_t *rlens, size_t n,
                                   uint64_t seq, unsigned char **out, size_t *outlen);

/* Fault injection: the next count syncs (fdatasync of a segment, fsync of
 * a cursor file or of the directory) fail with EIO. */
void vg_spool_test_fail_sync(struct vg_spool *s, int count);

#endif
