/*
 * SHA-256, hex, and UUIDs (v4 random, v5 name-based) through OpenSSL.
 */
#ifndef VG_HASH_H
#define VG_HASH_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

#define VG_SHA256_LEN 32
#define VG_UUID_STR_LEN 37   /* 36 characters and the NUL */

/* The namespace Vigil derives rule.uuid from (UUIDv5 of rule.id): a
 * UUIDv5 of "vigil.dev" in the DNS namespace, fixed forever. */
extern const uint8_t vg_uuid_ns_vigil[16];
extern const uint8_t vg_uuid_ns_dns[16];

void vg_sha256(const void *data, size_t len, uint8_t out[VG_SHA256_LEN]);

/* SHA-256 of the concatenation of n parts, without copying them. Returns
 * VG_ERR_NOMEM when OpenSSL cannot allocate its context. */
enum vg_err vg_sha256_parts(const void *const *parts, const size_t *lens, size_t n,
                            uint8_t out[VG_SHA256_LEN]);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void vg_hex(const uint8_t *in, size_t n, char *out);

/* A random (version 4) UUID in canonical text form. VG_ERR_IO when the
 * random source fails. */
enum vg_err vg_uuid_v4(char out[VG_UUID_STR_LEN]);

/* A name-based (version 5, SHA-1) UUID of name in namespace ns. */
void vg_uuid_v5(const uint8_t ns[16], const char *name, size_t len, char out[VG_UUID_STR_LEN]);

/* Parses canonical UUID text into 16 bytes; 0 or -1. */
int vg_uuid_parse(const char *s, uint8_t out[16]);

#endif
