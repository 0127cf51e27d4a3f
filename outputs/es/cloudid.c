/*
 * Elastic Cloud ids (see cloudid.h).
 */
#include "cloudid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOUD_ID_MAX 1024   /* decoded bytes; real ids are ~100 */

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64, padding optional. Returns the decoded length, or -1. */
static long b64decode(const char *in, size_t n, char *out, size_t cap)
{
    while (n && in[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    return (long)o;
}

/* Splits "name[:port]" at its last ':'; the port must be 1..65535. */
static int split_port(char *word, const char **port, const char *def)
{
    char *c = strrchr(word, ':');
    if (!c) {
        *port = def;
        return 0;
    }
    *c = '\0';
    const char *p = c + 1;
    if (!*p || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
        return -1;
    long v = strtol(p, NULL, 10);
    if (v < 1 || v > 65535)
        return -1;
    *port = p;
    return 0;
}

static int component_ok(const char *s)
{
    if (!*s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("#@?/\\[]", *p))
            return 0;
    return 1;
}

enum vg_err vg_es_cloud_id_decode(const char *cloud_id, char *url, size_t urllen, char *errbuf,
                                  size_t errlen)
{
    const char *enc = strrchr(cloud_id, ':');
    enc = enc ? enc + 1 : cloud_id;
    char dec[CLOUD_ID_MAX + 1];
    long n = *enc ? b64decode(enc, strlen(enc), dec, CLOUD_ID_MAX) : -1;
    if (n <= 0) {
        snprintf(errbuf, errlen, "cloud_id: not an Elastic Cloud id (its last part is not base64)");
        return VG_ERR_CONFIG;
    }
    dec[n] = '\0';
    if (memchr(dec, '\0', (size_t)n)) {
        snprintf(errbuf, errlen, "cloud_id: the decoded id holds a NUL byte");
        return VG_ERR_CONFIG;
    }
    char *parts[3] = { NULL, NULL, NULL };
    char *s = dec;
    for (int i = 0; i < 3; i++) {
        parts[i] = s;
        char *d = strchr(s, '$');
        if (!d) {
            if (i < 2) {
                snprintf(errbuf, errlen,
                         "cloud_id: the decoded id has %d part%s, not host$es_id$kibana_id", i + 1,
                         i ? "s" : "");
                return VG_ERR_CONFIG;
            }
            break;
        }
        *d = '\0';
        s = d + 1;
    }
    const char *hport, *eport, *kport;
    if (split_port(parts[0], &hport, "443") || split_port(parts[1], &eport, hport) ||
        split_port(parts[2], &kport, hport)) {
        snprintf(errbuf, errlen, "cloud_id: a port in the decoded id is not a number in 1..65535");
        return VG_ERR_CONFIG;
    }
    if (!component_ok(parts[0]) || !component_ok(parts[1])) {
        snprintf(errbuf, errlen, "cloud_id: the host or Elasticsearch id is empty or holds a "
                                 "character a host name cannot");
        return VG_ERR_CONFIG;
    }
    int w = snprintf(url, urllen, "https://%s.%s:%s", parts[1], parts[0], eport);
    if (w < 0 || (size_t)w >= urllen) {
        snprintf(errbuf, errlen, "cloud_id: the URL it names is too long");
        return VG_ERR_CONFIG;
    }
    return VG_OK;
}
