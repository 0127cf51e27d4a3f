/*
 * CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the
 * checksum of iSCSI, ext4 and the spool's records.
 *
 *   uint32_t c = vg_crc32c(0, a, alen);    start with 0
 *   c = vg_crc32c(c, b, blen);             continue: same as one call over a||b
 *
 * vg_crc32c("123456789") is 0xE3069283. On x86-64 processors with SSE4.2
 * the crc32 instruction is used (detected at run time); elsewhere a
 * slicing-by-8 table. Thread-safe.
 */
#ifndef VG_CRC32C_H
#define VG_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t vg_crc32c(uint32_t crc, const void *data, size_t len);

/* The table implementation alone, whatever the processor (for tests). */
uint32_t vg_crc32c_sw(uint32_t crc, const void *data, size_t len);

/* True when vg_crc32c() uses the processor's crc32 instruction. */
bool vg_crc32c_hw(void);

#endif
