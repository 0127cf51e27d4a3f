#include "hash.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <ctype.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* 6ba7b810-9dad-11d1-80b4-00c04fd430c8, RFC 4122 appendix C */
const uint8_t vg_uuid_ns_dns[16] = { 0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                     0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };

/* UUIDv5(DNS, "vigil.dev") = c8a772d5-82cb-56da-b194-bc1450a3f5cd, written
 * down so that it never changes with the code; tests/unit/test_core.c
 * derives it again. */
const uint8_t vg_uuid_ns_vigil[16] = { 0xc8, 0xa7, 0x72, 0xd5, 0x82, 0xcb, 0x56, 0xda,
                                       0xb1, 0x94, 0xbc, 0x14, 0x50, 0xa3, 0xf5, 0xcd };

/* OpenSSL 3 looks an algorithm up on every EVP_sha256() use ("implicit
 * fetch"), which cost more than the hashing of an event id: fetch once. */
static EVP_MD *sha256_md, *sha1_md;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
}

static const EVP_MD *md_sha256(void)
{
    pthread_once(&fetch_once, fetch_digests);
    return sha256_md ? sha256_md : EVP_sha256();
}

/* A digest context per thread, reused: a new one per hash (as EVP_Digest
 * makes) cost an allocation and a free per event id and per Kafka key.
 * Freed when its thread ends (the main thread's at process exit). */
static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static bool ctx_key_ok;

static void ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void make_ctx_key(void)
{
    ctx_key_ok = pthread_key_create(&ctx_key, ctx_free) == 0;
}

static EVP_MD_CTX *thread_ctx(void)
{
    pthread_once(&ctx_once, make_ctx_key);
    if (!ctx_key_ok)
        return NULL;
    EVP_MD_CTX *c = pthread_getspecific(ctx_key);
    if (!c && (c = EVP_MD_CTX_new()) && pthread_setspecific(ctx_key, c) != 0) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    return c;
}

static const EVP_MD *md_sha1(void)
{
    pthread_once(&fetch_once, fetch_digests);
    return sha1_md ? sha1_md : EVP_sha1();
}

void vg_sha256(const void *data, size_t len, uint8_t out[VG_SHA256_LEN])
{
    const void *parts[1] = { data };
    if (vg_sha256_parts(parts, &len, 1, out) != VG_OK) {
        unsigned int n = 0;
        EVP_Digest(data, len, out, &n, md_sha256(), NULL);
    }
}

enum vg_err vg_sha256_parts(const void *const *parts, const size_t *lens, size_t n,
                            uint8_t out[VG_SHA256_LEN])
{
    EVP_MD_CTX *ctx = thread_ctx();
    unsigned int len = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, md_sha256(), NULL);
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, parts[i], lens[i]);
    ok = ok && EVP_DigestFinal_ex(ctx, out, &len);
    return ok ? VG_OK : VG_ERR_NOMEM;
}

void vg_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void uuid_format(const uint8_t u[16], char out[VG_UUID_STR_LEN])
{
    snprintf(out, VG_UUID_STR_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
             u[15]);
}

enum vg_err vg_uuid_v4(char out[VG_UUID_STR_LEN])
{
    uint8_t u[16];
    if (RAND_bytes(u, sizeof(u)) != 1)
        return VG_ERR_IO;
    u[6] = (u[6] & 0x0F) | 0x40;
    u[8] = (u[8] & 0x3F) | 0x80;
    uuid_format(u, out);
    return VG_OK;
}

void vg_uuid_v5(const uint8_t ns[16], const char *name, size_t len, char out[VG_UUID_STR_LEN])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, md_sha1(), NULL);
    EVP_DigestUpdate(ctx, ns, 16);
    EVP_DigestUpdate(ctx, name, len);
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    md[6] = (md[6] & 0x0F) | 0x50;
    md[8] = (md[8] & 0x3F) | 0x80;
    uuid_format(md, out);
}

int vg_uuid_parse(const char *s, uint8_t out[16])
{
    if (!s || strlen(s) != 36)
        return -1;
    int j = 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1]))
            return -1;
        unsigned v;
        sscanf(s + i, "%2x", &v);
        out[j++] = (uint8_t)v;
        i++;
    }
    return 0;
}
