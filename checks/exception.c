#include "exception.h"
#include "../agent/limits.h"
#include "../agent/log.h"
#include "../agent/timeutil.h"

#include <assert.h>
#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REASON_SHOWN 160   /* bytes of a reason quoted in a warning */
#define PATH_SHOWN   512   /* bytes of a file name in an expired entry */

/* ---- compiled entries ------------------------------------------------- */

struct pattern {
    char *s;
    bool glob;       /* has * ? [ or \: else strcmp */
    bool simple;     /* glob of * and ? only: wild_match(), else fnmatch() */
    size_t head;     /* glob: bytes before the first * ? [ \, which a match
                      * must start with */
    size_t tail;     /* glob without [ or \: bytes after the last *, when
                      * they hold no ?, which a match must end with; else 0 */
    size_t len;      /* strlen(s) */
    uint64_t need[2];   /* glob: the bytes (as in byte_mask()) a match must
                         * contain, the pattern's literal bytes */
};

struct plist {
    struct pattern *p;
    size_t n;
};

struct entry {
    struct vg_exception pub;
    char *reason, *owner, *expires;   /* owned; pub points at them */
    char *file;                       /* owned; pub.file points at it */
    struct plist rules, resources, accounts, regions, hosts;
    char **tag_keys, **tag_values;    /* owned */
    size_t ntags;
    /* resources given and each has a literal head: found via the resource
     * index, never scanned */
    bool by_resource;
    bool res_literal;   /* resources given, all literal (so by_resource too):
                         * an index hit is a match */
};

struct idxv {
    uint32_t *v;        /* entry indices, increasing */
    size_t n, cap;
};

/* The resource index: open addressing, a slot is empty when key is NULL.
 * A key is a whole literal pattern (exact: hit only by an id equal to it)
 * or the literal head of a glob (prefix: hit by an id that starts with it).
 * A lookup walks the id once and probes at every key length in use. */
struct res_slot {
    const char *key;    /* borrowed from an entry's pattern; not terminated at klen */
    size_t klen;
    struct idxv exact, prefix;
};

struct rule_slot {
    char *key;          /* owned copy of the rule id */
    uint64_t *bits;     /* owned: entries whose rules criterion matches */
};

struct vg_exceptions {
    struct entry *e;
    size_t n;
    size_t nwords;          /* uint64 words of a bit set of n entries */
    uint64_t *other;        /* entries not found through res_index */
    uint64_t *scratch;      /* rule bit set when the cache cannot hold it */
    uint64_t *hits;         /* per call: entries named by this resource id */
    int64_t min_expires_ms; /* no entry is expired before this */
    struct res_slot *res;   /* the resource index */
    size_t res_cap;         /* power of two, or 0 */
    size_t *res_lens;       /* distinct key lengths, increasing */
    size_t nres_lens;
    struct rule_slot *rule; /* the rule cache */
    size_t rule_cap, rule_n;
};

/* FNV-1a, byte by byte, so a walk over an id has the hash of each prefix. */
#define HASH_INIT 1469598103934665603ull

static uint64_t hash_step(uint64_t h, unsigned char c)
{
    return (h ^ c) * 1099511628211ull;
}

static uint64_t hash_mem(const char *s, size_t n)
{
    uint64_t h = HASH_INIT;
    for (size_t i = 0; i < n; i++)
        h = hash_step(h, (unsigned char)s[i]);
    return h;
}

static uint64_t hash_str(const char *s)
{
    return hash_mem(s, strlen(s));
}

/* The set of bytes of s: bit c for ASCII c, bit 127 for any other byte. */
static void byte_mask(const char *s, uint64_t m[2])
{
    m[0] = m[1] = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 128)
            c = 127;
        m[c >> 6] |= (uint64_t)1 << (c & 63);
    }
}

static void pattern_init(struct pattern *p, char *s)
{
    p->s = s;
    p->len = strlen(s);
    p->head = strcspn(s, "*?[\\");
    p->glob = s[p->head] != '\0';
    p->simple = p->glob && !strpbrk(s, "[\\");
    p->tail = 0;
    /* a * inside brackets or after a backslash is no wildcard: no tail */
    const char *star = strrchr(s, '*');
    if (p->glob && star && !strpbrk(s, "[\\") && !strchr(star + 1, '?'))
        p->tail = p->len - (size_t)(star + 1 - s);
    p->need[0] = p->need[1] = 0;
    if (p->simple) {
        byte_mask(s, p->need);
        p->need['*' >> 6] &= ~((uint64_t)1 << ('*' & 63));
        p->need['?' >> 6] &= ~((uint64_t)1 << ('?' & 63));
    }
}

/* fnmatch(p, s, 0) for a pattern of literal bytes, * and ? (in the C
 * locale, which the agent never leaves): the classic match that retries
 * only from the last *, O(len(p) * len(s)) at worst, no recursion. It is
 * several times faster than glibc's fnmatch(), which matters for head-less
 * globs ("*-logs") that are tried on every finding of their rule. */
static bool wild_match(const char *p, const char *s)
{
    const char *star = NULL, *retry = NULL;
    while (*s) {
        if (*p == '*') {
            star = ++p;
            retry = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star;
            s = ++retry;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* The literal head and tail of a glob, and the bytes it needs (when the
 * caller knows smask, the byte_mask() of s), reject most strings before
 * the match proper: that keeps many "prefix-*" and "*-name-*" patterns
 * cheap. */
static bool pattern_match(const struct pattern *p, const char *s, const uint64_t *smask)
{
    if (!p->glob)
        return strcmp(p->s, s) == 0;
    if (smask && ((p->need[0] & ~smask[0]) | (p->need[1] & ~smask[1])))
        return false;
    if (strncmp(p->s, s, p->head) != 0)
        return false;
    if (p->tail) {
        size_t n = strlen(s);
        if (n < p->head + p->tail ||
            memcmp(s + n - p->tail, p->s + p->len - p->tail, p->tail) != 0)
            return false;
    }
    return p->simple ? wild_match(p->s, s) : fnmatch(p->s, s, 0) == 0;
}

static bool plist_match(const struct plist *l, const char *s, const uint64_t *smask)
{
    for (size_t i = 0; i < l->n; i++)
        if (pattern_match(&l->p[i], s, smask))
            return true;
    return false;
}

static void plist_free(struct plist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->p[i].s);
    free(l->p);
    l->p = NULL;
    l->n = 0;
}

static enum vg_err plist_copy(struct plist *l, char *const *src, size_t n)
{
    l->p = NULL;
    l->n = 0;
    if (n == 0 || !src)
        return VG_OK;
    l->p = calloc(n, sizeof(*l->p));
    if (!l->p)
        return VG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!src[i])
            continue;   /* the loader never leaves holes; skip one if it did */
        char *s = strdup(src[i]);
        if (!s)
            return VG_ERR_NOMEM;
        pattern_init(&l->p[l->n++], s);
    }
    return VG_OK;
}

static bool plist_all_literal(const struct plist *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->p[i].glob)
            return false;
    return true;
}

static void entry_free(struct entry *e)
{
    free(e->reason);
    free(e->owner);
    free(e->expires);
    free(e->file);
    plist_free(&e->rules);
    plist_free(&e->resources);
    plist_free(&e->accounts);
    plist_free(&e->regions);
    plist_free(&e->hosts);
    for (size_t i = 0; i < e->ntags; i++) {
        free(e->tag_keys[i]);
        free(e->tag_values[i]);
    }
    free(e->tag_keys);
    free(e->tag_values);
}

/* ---- expiry ----------------------------------------------------------- */

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* vg_time_parse() accepts any day up to 31; refuse 2027-02-30 as well. */
static bool day_exists(const char *s)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    int max = mdays[m - 1] + (m == 2 && leap(y));
    return d <= max;
}

/* The first instant at which an entry expiring at text s no longer mutes:
 * the next midnight UTC for a date, one millisecond after the instant for
 * an RFC 3339 time. */
static int parse_expiry(const char *s, int64_t *out)
{
    int64_t ms;
    if (vg_time_parse(s, &ms) != 0 || !day_exists(s))
        return -1;
    *out = strlen(s) == 10 ? ms + 86400000 : ms + 1;
    return 0;
}

/* ---- compiling -------------------------------------------------------- */

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static void bit_set(uint64_t *b, size_t i)
{
    b[i >> 6] |= (uint64_t)1 << (i & 63);
}

static enum vg_err idxv_add(struct idxv *v, uint32_t idx)
{
    if (v->n && v->v[v->n - 1] == idx)
        return VG_OK;   /* the same key twice in one entry */
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 2;
        uint32_t *p = realloc(v->v, ncap * sizeof(*p));
        if (!p)
            return VG_ERR_NOMEM;
        v->v = p;
        v->cap = ncap;
    }
    v->v[v->n++] = idx;
    return VG_OK;
}

static struct res_slot *res_slot_find(const struct vg_exceptions *x, uint64_t hv,
                                      const char *key, size_t klen)
{
    size_t mask = x->res_cap - 1;
    for (size_t h = (size_t)hv & mask; x->res[h].key; h = (h + 1) & mask)
        if (x->res[h].klen == klen && memcmp(x->res[h].key, key, klen) == 0)
            return &x->res[h];
    return NULL;
}

static enum vg_err res_index_add(struct vg_exceptions *x, const struct pattern *p, uint32_t idx)
{
    size_t klen = p->glob ? p->head : p->len;
    uint64_t hv = hash_mem(p->s, klen);
    struct res_slot *s = res_slot_find(x, hv, p->s, klen);
    if (!s) {
        size_t mask = x->res_cap - 1;
        size_t h = (size_t)hv & mask;
        while (x->res[h].key)
            h = (h + 1) & mask;
        s = &x->res[h];
        s->key = p->s;
        s->klen = klen;
        size_t k = 0;   /* keep res_lens sorted and distinct */
        while (k < x->nres_lens && x->res_lens[k] < klen)
            k++;
        if (k == x->nres_lens || x->res_lens[k] != klen) {
            memmove(x->res_lens + k + 1, x->res_lens + k,
                    (x->nres_lens - k) * sizeof(*x->res_lens));
            x->res_lens[k] = klen;
            x->nres_lens++;
        }
    }
    return idxv_add(p->glob ? &s->prefix : &s->exact, idx);
}

static enum vg_err build_res_index(struct vg_exceptions *x)
{
    size_t nkeys = 0;
    for (size_t i = 0; i < x->n; i++)
        if (x->e[i].by_resource)
            nkeys += x->e[i].resources.n;
    if (nkeys == 0)
        return VG_OK;
    size_t cap = 16;
    while (cap < nkeys * 2)
        cap *= 2;
    x->res = calloc(cap, sizeof(*x->res));
    x->res_lens = calloc(nkeys, sizeof(*x->res_lens));
    if (!x->res || !x->res_lens)
        return VG_ERR_NOMEM;
    x->res_cap = cap;
    for (size_t i = 0; i < x->n; i++) {
        const struct entry *e = &x->e[i];
        if (!e->by_resource)
            continue;
        for (size_t k = 0; k < e->resources.n; k++) {
            enum vg_err err = res_index_add(x, &e->resources.p[k], (uint32_t)i);
            if (err)
                return err;
        }
    }
    return VG_OK;
}

#define FAIL(...)                                   \
    do {                                            \
        snprintf(errbuf, errlen, __VA_ARGS__);      \
        goto fail;                                  \
    } while (0)

static enum vg_err compile_entry(struct entry *e, const struct vg_config_exception *c, size_t i,
                                 char *errbuf, size_t errlen)
{
    e->pub.index = i;
    if (!c->reason || blank(c->reason))
        FAIL("exceptions[%zu].reason: missing", i);
    if (!c->owner || blank(c->owner))
        FAIL("exceptions[%zu].owner: missing", i);
    if (!c->expires)
        FAIL("exceptions[%zu].expires: missing", i);
    if (parse_expiry(c->expires, &e->pub.expires_ms) != 0)
        FAIL("exceptions[%zu].expires: '%.64s' is not a date (YYYY-MM-DD) or an RFC 3339 time",
             i, c->expires);
    e->reason = strdup(c->reason);
    e->owner = strdup(c->owner);
    e->expires = strdup(c->expires);
    if (!e->reason || !e->owner || !e->expires)
        goto nomem;
    e->pub.reason = e->reason;
    e->pub.owner = e->owner;
    e->pub.expires = e->expires;
    if (plist_copy(&e->rules, c->rules, c->nrules) ||
        plist_copy(&e->resources, c->resources, c->nresources) ||
        plist_copy(&e->accounts, c->accounts, c->naccounts) ||
        plist_copy(&e->regions, c->regions, c->nregions) ||
        plist_copy(&e->hosts, c->hosts, c->nhosts))
        goto nomem;
    if (c->tags.n) {
        e->tag_keys = calloc(c->tags.n, sizeof(char *));
        e->tag_values = calloc(c->tags.n, sizeof(char *));
        if (!e->tag_keys || !e->tag_values)
            goto nomem;
        for (size_t k = 0; k < c->tags.n; k++) {
            if (!c->tags.keys[k] || !c->tags.values[k])
                continue;
            e->tag_keys[e->ntags] = strdup(c->tags.keys[k]);
            e->tag_values[e->ntags] = strdup(c->tags.values[k]);
            if (!e->tag_keys[e->ntags] || !e->tag_values[e->ntags]) {
                e->ntags++;   /* so entry_free() sees the half-made pair */
                goto nomem;
            }
            e->ntags++;
        }
    }
    if (!e->rules.n && !e->resources.n && !e->accounts.n && !e->regions.n && !e->hosts.n &&
        !e->ntags)
        FAIL("exceptions[%zu]: matches every finding: give at least one of rules, resources, "
             "accounts, regions, hosts, tags", i);
    e->res_literal = e->resources.n > 0 && plist_all_literal(&e->resources);
    e->by_resource = e->resources.n > 0;
    for (size_t k = 0; k < e->resources.n; k++)
        if (e->resources.p[k].glob && e->resources.p[k].head == 0)
            e->by_resource = false;   /* "*-logs": no head to look up */
    return VG_OK;
nomem:
    snprintf(errbuf, errlen, "out of memory compiling the exceptions");
    return VG_ERR_NOMEM;
fail:
    return VG_ERR_CONFIG;
}

struct vg_exceptions *vg_exceptions_new(const struct vg_config_exception *ex, size_t n,
                                        char *errbuf, size_t errlen)
{
    assert(ex || n == 0);
    if (n > UINT32_MAX) {
        snprintf(errbuf, errlen, "exceptions: too many entries (%zu)", n);
        return NULL;
    }
    struct vg_exceptions *x = calloc(1, sizeof(*x));
    if (!x)
        goto nomem;
    x->n = n;
    x->nwords = (n + 63) / 64;
    x->min_expires_ms = INT64_MAX;
    if (n) {
        x->e = calloc(n, sizeof(*x->e));
        x->other = calloc(x->nwords, sizeof(uint64_t));
        x->scratch = calloc(x->nwords, sizeof(uint64_t));
        x->hits = calloc(x->nwords, sizeof(uint64_t));
        if (!x->e || !x->other || !x->scratch || !x->hits)
            goto nomem;
    }
    for (size_t i = 0; i < n; i++) {
        if (compile_entry(&x->e[i], &ex[i], i, errbuf, errlen) != VG_OK)
            goto fail;
        if (!x->e[i].by_resource)
            bit_set(x->other, i);
        if (x->e[i].pub.expires_ms < x->min_expires_ms)
            x->min_expires_ms = x->e[i].pub.expires_ms;
    }
    if (build_res_index(x) != VG_OK)
        goto nomem;
    return x;
nomem:
    snprintf(errbuf, errlen, "out of memory compiling the exceptions");
fail:
    vg_exceptions_destroy(x);
    return NULL;
}

void vg_exceptions_destroy(struct vg_exceptions *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n && x->e; i++)
        entry_free(&x->e[i]);
    free(x->e);
    for (size_t i = 0; i < x->res_cap; i++) {
        free(x->res[i].exact.v);
        free(x->res[i].prefix.v);
    }
    free(x->res);
    free(x->res_lens);
    for (size_t i = 0; i < x->rule_cap; i++) {
        free(x->rule[i].key);
        free(x->rule[i].bits);
    }
    free(x->rule);
    free(x->other);
    free(x->scratch);
    free(x->hits);
    free(x);
}

size_t vg_exceptions_count(const struct vg_exceptions *x)
{
    return x ? x->n : 0;
}

const struct vg_exception *vg_exceptions_at(const struct vg_exceptions *x, size_t i)
{
    assert(x && i < x->n);
    return &x->e[i].pub;
}

/* ---- matching --------------------------------------------------------- */

static void rule_bits_compute(const struct vg_exceptions *x, const char *rule_id, uint64_t *b)
{
    memset(b, 0, x->nwords * sizeof(uint64_t));
    for (size_t i = 0; i < x->n; i++) {
        const struct plist *r = &x->e[i].rules;
        if (r->n == 0 || plist_match(r, rule_id, NULL))
            bit_set(b, i);
    }
}

static bool rule_cache_grow(struct vg_exceptions *x)
{
    size_t ncap = x->rule_cap ? x->rule_cap * 2 : 64;
    struct rule_slot *t = calloc(ncap, sizeof(*t));
    if (!t)
        return false;
    for (size_t i = 0; i < x->rule_cap; i++) {
        if (!x->rule[i].key)
            continue;
        size_t h = (size_t)hash_str(x->rule[i].key) & (ncap - 1);
        while (t[h].key)
            h = (h + 1) & (ncap - 1);
        t[h] = x->rule[i];
    }
    free(x->rule);
    x->rule = t;
    x->rule_cap = ncap;
    return true;
}

/* The bit set of entries whose rules criterion matches rule_id: from the
 * cache, computed into it, or (cache full, out of memory) into scratch. */
static const uint64_t *rule_bits(struct vg_exceptions *x, const char *rule_id)
{
    uint64_t hv = hash_str(rule_id);
    if (x->rule_cap) {
        size_t mask = x->rule_cap - 1;
        for (size_t h = (size_t)hv & mask; x->rule[h].key; h = (h + 1) & mask)
            if (strcmp(x->rule[h].key, rule_id) == 0)
                return x->rule[h].bits;
    }
    if (x->rule_n < VG_MAX_EXCEPTION_RULE_CACHE &&
        ((x->rule_n + 1) * 2 <= x->rule_cap || rule_cache_grow(x))) {
        char *key = strdup(rule_id);
        uint64_t *bits = malloc(x->nwords * sizeof(uint64_t));
        if (key && bits) {
            rule_bits_compute(x, rule_id, bits);
            size_t mask = x->rule_cap - 1;
            size_t h = (size_t)hv & mask;
            while (x->rule[h].key)
                h = (h + 1) & mask;
            x->rule[h].key = key;
            x->rule[h].bits = bits;
            x->rule_n++;
            return bits;
        }
        free(key);
        free(bits);
    }
    rule_bits_compute(x, rule_id, x->scratch);
    return x->scratch;
}

static bool tags_match(const struct entry *e, const struct vg_json *tags)
{
    for (size_t k = 0; k < e->ntags; k++) {
        const struct vg_json *v = vg_json_get(tags, e->tag_keys[k]);
        const char *s = vg_json_get_str(v);
        if (!s)
            return false;
        size_t len = strlen(e->tag_values[k]);
        if (vg_json_str_len(v) != len || memcmp(s, e->tag_values[k], len) != 0)
            return false;
    }
    return true;
}

/* The byte_mask() of a resource id, made on first use. */
struct lazy_mask {
    bool done;
    uint64_t m[2];
};

/* Every criterion but rules (settled by the bit set) and, for entries with
 * literal resources only, resources (settled by the index: an exact hit). */
static bool entry_matches(const struct entry *e, const struct vg_resource *res,
                          struct lazy_mask *id_mask, const struct vg_target_info *target)
{
    if (e->resources.n && !e->res_literal) {
        if (!id_mask->done) {
            byte_mask(res->id, id_mask->m);
            id_mask->done = true;
        }
        if (!plist_match(&e->resources, res->id, id_mask->m))
            return false;
    }
    if (e->accounts.n && (!res->account || !plist_match(&e->accounts, res->account, NULL)))
        return false;
    if (e->regions.n && (!res->region || !plist_match(&e->regions, res->region, NULL)))
        return false;
    if (e->hosts.n && (!target || !target->host_name ||
                       !plist_match(&e->hosts, target->host_name, NULL)))
        return false;
    if (e->ntags && (!res->tags || !tags_match(e, res->tags)))
        return false;
    return true;
}

static void mark_list(struct vg_exceptions *x, const struct idxv *v, size_t *lo, size_t *hi)
{
    for (size_t k = 0; k < v->n; k++) {
        bit_set(x->hits, v->v[k]);
        size_t w = v->v[k] >> 6;
        if (w < *lo)
            *lo = w;
        if (w + 1 > *hi)
            *hi = w + 1;
    }
}

/* Sets in x->hits the entries the resource index finds for id: exact keys
 * equal to id, prefix keys id starts with. One walk over id computes the
 * hash of each prefix; a probe happens only at key lengths in use. The
 * words touched are [*lo, *hi). */
static void mark_resource_hits(struct vg_exceptions *x, const char *id, size_t *lo, size_t *hi)
{
    *lo = SIZE_MAX;
    *hi = 0;
    if (!x->res_cap)
        return;
    uint64_t h = HASH_INIT;
    size_t li = 0;
    for (size_t i = 0; li < x->nres_lens; i++) {
        if (x->res_lens[li] == i) {
            li++;
            const struct res_slot *s = res_slot_find(x, h, id, i);
            if (s) {
                mark_list(x, &s->prefix, lo, hi);
                if (id[i] == '\0')
                    mark_list(x, &s->exact, lo, hi);
            }
        }
        if (id[i] == '\0')
            break;
        h = hash_step(h, (unsigned char)id[i]);
    }
}

const struct vg_exception *vg_exceptions_match(struct vg_exceptions *x, const char *rule_id,
                                               const struct vg_resource *res,
                                               const struct vg_target_info *target,
                                               int64_t now_ms)
{
    assert(rule_id && res && res->id);
    if (!x || x->n == 0)
        return NULL;
    const uint64_t *rb = rule_bits(x, rule_id);
    size_t lo, hi;
    mark_resource_hits(x, res->id, &lo, &hi);
    struct lazy_mask id_mask = { .done = false };
    /* Past the first live match only expired entries still need a look
     * (to count them), and before min_expires_ms there are none. */
    bool any_expired = now_ms >= x->min_expires_ms;
    struct entry *found = NULL;
    for (size_t w = 0; w < x->nwords; w++) {
        uint64_t c = rb[w] & (x->other[w] | x->hits[w]);
        while (c) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(c);
            c &= c - 1;
            struct entry *e = &x->e[i];
            bool expired = now_ms >= e->pub.expires_ms;
            if (found && !expired)
                continue;
            if (!entry_matches(e, res, &id_mask, target))
                continue;
            if (expired) {
                e->pub.expired_hits++;
            } else {
                found = e;
                if (!any_expired)
                    goto done;
            }
        }
    }
done:
    if (lo < hi)
        memset(x->hits + lo, 0, (hi - lo) * sizeof(uint64_t));
    if (!found)
        return NULL;
    found->pub.muted++;
    return &found->pub;
}

void vg_exceptions_reset(struct vg_exceptions *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++) {
        x->e[i].pub.muted = 0;
        x->e[i].pub.expired_hits = 0;
    }
}

/* ---- reports ---------------------------------------------------------- */

size_t vg_exceptions_expired(const struct vg_exceptions *x, int64_t now_ms, size_t *out_idx,
                             size_t max)
{
    size_t total = 0;
    for (size_t i = 0; x && i < x->n; i++) {
        if (now_ms < x->e[i].pub.expires_ms)
            continue;
        if (total < max)
            out_idx[total] = i;
        total++;
    }
    return total;
}

/* Appends s to buf at *pos, control characters as spaces, at most limit
 * bytes of it and "..." when cut; stops at the end of buf. A cut never
 * splits a UTF-8 sequence. *pos < len on entry and on return, and buf
 * stays terminated. */
static void put_clean(char *buf, size_t len, size_t *pos, const char *s, size_t limit)
{
    size_t n = strnlen(s, limit);
    bool cut = s[n] != '\0';
    if (n > len - 1 - *pos) {
        n = len - 1 - *pos;
        cut = true;
    }
    while (n > 0 && s[n] && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[(*pos)++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    for (int k = 0; cut && k < 3 && *pos + 1 < len; k++)
        buf[(*pos)++] = '.';
    buf[*pos] = '\0';
}

static void put_fmt(char *buf, size_t len, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put_fmt(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
    if (*pos + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    *pos = (size_t)r < len - *pos ? *pos + (size_t)r : len - 1;
}

void vg_exceptions_expired_message(const struct vg_exception *e, char *buf, size_t len)
{
    if (len == 0)
        return;
    size_t pos = 0;
    buf[0] = '\0';
    put_fmt(buf, len, &pos, "exceptions[%zu] (owner ", e->index);
    put_clean(buf, len, &pos, e->owner, 80);
    put_fmt(buf, len, &pos, ", reason '");
    put_clean(buf, len, &pos, e->reason, REASON_SHOWN);
    put_fmt(buf, len, &pos, "') expired on ");
    put_clean(buf, len, &pos, e->expires, 64);
    put_fmt(buf, len, &pos, " and no longer mutes: it matched %zu finding%s in this scan",
            e->expired_hits, e->expired_hits == 1 ? "" : "s");
}

enum vg_err vg_exceptions_set_origin(struct vg_exceptions *x, size_t i, const char *file,
                                     int line)
{
    if (!x || i >= x->n)
        return VG_ERR_INVALID;
    struct entry *e = &x->e[i];
    char *copy = NULL;
    if (file && !(copy = strdup(file)))
        return VG_ERR_NOMEM;
    free(e->file);
    e->file = copy;
    e->pub.file = copy;
    e->pub.line = line > 0 ? line : 0;
    return VG_OK;
}

void vg_exceptions_expired_entry(const struct vg_exception *e, char *buf, size_t len)
{
    if (len == 0)
        return;
    size_t pos = 0;
    buf[0] = '\0';
    if (e->file) {
        put_clean(buf, len, &pos, e->file, PATH_SHOWN);
        if (e->line > 0)
            put_fmt(buf, len, &pos, ":%d: ", e->line);
        else
            put_fmt(buf, len, &pos, ": exceptions[%zu]: ", e->index);
    } else {
        put_fmt(buf, len, &pos, "exceptions[%zu]: ", e->index);
    }
    put_clean(buf, len, &pos, e->reason, REASON_SHOWN);
    put_fmt(buf, len, &pos, " (owner ");
    put_clean(buf, len, &pos, e->owner, 80);
    /* its date: expires was checked to begin with YYYY-MM-DD */
    put_fmt(buf, len, &pos, ", expired %.10s)", e->expires);
}

size_t vg_exceptions_log_expired(const struct vg_exceptions *x, int64_t now_ms)
{
    size_t logged = 0;
    char line[512];
    for (size_t i = 0; x && i < x->n; i++) {
        if (now_ms < x->e[i].pub.expires_ms)
            continue;
        vg_exceptions_expired_message(&x->e[i].pub, line, sizeof(line));
        vg_log(VG_LOG_WARN, "exceptions", "%s", line);
        logged++;
    }
    return logged;
}

size_t vg_exceptions_unmatched(const struct vg_exceptions *x, const struct vg_ruleset *rules,
                               size_t *out_idx, size_t max)
{
    size_t total = 0;
    size_t nr = rules ? vg_ruleset_count(rules) : 0;
    for (size_t i = 0; x && i < x->n; i++) {
        const struct plist *r = &x->e[i].rules;
        if (r->n == 0)
            continue;
        bool hit = false;
        for (size_t j = 0; !hit && j < nr; j++)
            hit = plist_match(r, vg_ruleset_at(rules, j)->id, NULL);
        if (hit)
            continue;
        if (total < max)
            out_idx[total] = i;
        total++;
    }
    return total;
}
