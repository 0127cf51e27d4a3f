#include "results.h"
#include "buf.h"
#include "hash.h"
#include "json.h"
#include "limits.h"
#include "log.h"
#include "timeutil.h"

#include <yajl/yajl_parse.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define RESULTS_DIR "results"
#define RESULTS_EXT ".ndjson"

struct vg_results {
    char *dir;          /* STATE_DIR/results */
    char *path;         /* the file committed to */
    char *tmp;          /* the temp file being written */
    FILE *f;
    size_t bytes;
    enum vg_err spoilt; /* first add error; commit refuses */
};

/* ---- names --------------------------------------------------------------- */

static bool safe_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* Appends the filesystem-safe form of name (see results.h). */
static enum vg_err append_key(struct vg_buf *b, const char *name)
{
    if (!name || !*name)
        name = "unknown";
    size_t n = strlen(name);
    bool changed = n > VG_RESULTS_MAX_KEY;
    enum vg_err err = VG_OK;
    for (size_t i = 0; !err && i < n && i < VG_RESULTS_MAX_KEY; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!safe_byte(c))
            changed = true;
        err = vg_buf_appendc(b, safe_byte(c) ? (char)c : '_');
    }
    if (!err && changed) {
        uint8_t md[VG_SHA256_LEN];
        char hex[2 * VG_SHA256_LEN + 1];
        vg_sha256(name, n, md);
        vg_hex(md, 4, hex);
        err = vg_buf_printf(b, "-%s", hex);
    }
    return err;
}

/* The file name alone: <provider>-<key>.ndjson */
static enum vg_err file_name(struct vg_buf *b, const char *provider, const char *target)
{
    enum vg_err err = append_key(b, provider && *provider ? provider : "unknown");
    if (!err)
        err = vg_buf_appendc(b, '-');
    if (!err)
        err = append_key(b, target);
    if (!err)
        err = vg_buf_appends(b, RESULTS_EXT);
    return err;
}

enum vg_err vg_results_path(const char *state_dir, const char *provider, const char *target,
                            char *out, size_t outlen)
{
    struct vg_buf b;
    vg_buf_init(&b, PATH_MAX);
    enum vg_err err = vg_buf_printf(&b, "%s/%s/", state_dir ? state_dir : "", RESULTS_DIR);
    if (!err)
        err = file_name(&b, provider, target);
    if (!err && b.len >= outlen)
        err = VG_ERR_LIMIT;
    if (!err)
        memcpy(out, vg_buf_str(&b), b.len + 1);
    vg_buf_free(&b);
    return err;
}

/* ---- begin --------------------------------------------------------------- */

static enum vg_err make_dir(const char *path, char *errbuf, size_t errlen)
{
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "cannot create %s: %s", path, strerror(errno));
        return errno == EACCES || errno == EPERM || errno == EROFS ? VG_ERR_PERM : VG_ERR_IO;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(errbuf, errlen, "%s is not a directory", path);
        return VG_ERR_IO;
    }
    return VG_OK;
}

/* True when s is "<digits>.XXXXXX" (a pid and mkstemp's six characters). */
static bool tmp_suffix_pid(const char *s, pid_t *pid)
{
    long v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && i < 10; i++)
        v = v * 10 + (s[i] - '0');
    if (i == 0 || s[i] != '.' || strlen(s + i + 1) != 6 || v <= 0)
        return false;
    *pid = (pid_t)v;
    return true;
}

/* Removes ".<name>.<pid>.XXXXXX" temp files whose writer no longer runs. */
static void sweep_stale(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t nlen = strlen(name);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        pid_t pid;
        if (n[0] != '.' || strncmp(n + 1, name, nlen) != 0 || n[1 + nlen] != '.' ||
            !tmp_suffix_pid(n + 2 + nlen, &pid))
            continue;
        if (kill(pid, 0) == 0 || errno != ESRCH)
            continue;   /* still running (or not ours to judge) */
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, n) < sizeof(path) &&
            unlink(path) == 0)
            vg_log(VG_LOG_DEBUG, "results", "removed %s, left by an interrupted scan", path);
    }
    closedir(d);
}

static void results_free(struct vg_results *r)
{
    if (!r)
        return;
    free(r->dir);
    free(r->path);
    free(r->tmp);
    free(r);
}

struct vg_results *vg_results_begin(const char *state_dir, const char *provider,
                                    const char *target, char *errbuf, size_t errlen)
{
    if (!state_dir || !*state_dir) {
        snprintf(errbuf, errlen, "no state directory to keep the scan results in");
        return NULL;
    }
    struct vg_results *r = calloc(1, sizeof(*r));
    struct vg_buf dir, name, path, tmp;
    vg_buf_init(&dir, PATH_MAX);
    vg_buf_init(&name, PATH_MAX);
    vg_buf_init(&path, PATH_MAX);
    vg_buf_init(&tmp, PATH_MAX);
    enum vg_err err = r ? VG_OK : VG_ERR_NOMEM;
    if (!err)
        err = vg_buf_printf(&dir, "%s/%s", state_dir, RESULTS_DIR);
    if (!err)
        err = file_name(&name, provider, target);
    if (!err)
        err = vg_buf_printf(&path, "%s/%s", vg_buf_str(&dir), vg_buf_str(&name));
    if (!err)
        err = vg_buf_printf(&tmp, "%s/.%s.%ld.XXXXXX", vg_buf_str(&dir), vg_buf_str(&name),
                            (long)getpid());
    if (err) {
        snprintf(errbuf, errlen, "%s", err == VG_ERR_NOMEM ? "out of memory"
                                                           : "the state directory path is too long");
        goto fail;
    }
    err = make_dir(state_dir, errbuf, errlen);
    if (!err)
        err = make_dir(vg_buf_str(&dir), errbuf, errlen);
    if (err)
        goto fail;
    sweep_stale(vg_buf_str(&dir), vg_buf_str(&name));

    r->dir = vg_buf_detach(&dir);
    r->path = vg_buf_detach(&path);
    r->tmp = vg_buf_detach(&tmp);
    if (!r->dir || !r->path || !r->tmp) {
        snprintf(errbuf, errlen, "out of memory");
        goto fail;
    }
    int fd = mkstemp(r->tmp);
    if (fd < 0) {
        snprintf(errbuf, errlen, "cannot create a file in %s: %s", r->dir, strerror(errno));
        goto fail;
    }
    if (fchmod(fd, 0640) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
        !(r->f = fdopen(fd, "w"))) {
        snprintf(errbuf, errlen, "cannot set up %s: %s", r->tmp, strerror(errno));
        close(fd);
        unlink(r->tmp);
        goto fail;
    }
    vg_buf_free(&name);
    return r;

fail:
    vg_buf_free(&dir);
    vg_buf_free(&name);
    vg_buf_free(&path);
    vg_buf_free(&tmp);
    results_free(r);
    return NULL;
}

/* ---- add, commit, abort -------------------------------------------------- */

enum vg_err vg_results_add(struct vg_results *r, const char *line, size_t len)
{
    if (!r || !line || len == 0)
        return VG_ERR_INVALID;
    if (r->spoilt)
        return r->spoilt;
    /* the bound first: it reads nothing */
    if (len >= VG_RESULTS_MAX_FILE || r->bytes > VG_RESULTS_MAX_FILE - len - 1) {
        r->spoilt = VG_ERR_LIMIT;
        return r->spoilt;
    }
    if (memchr(line, '\n', len))
        return VG_ERR_INVALID;
    if (fwrite(line, 1, len, r->f) != len || fputc('\n', r->f) == EOF) {
        r->spoilt = VG_ERR_IO;
        return r->spoilt;
    }
    r->bytes += len + 1;
    return VG_OK;
}

static void drop(struct vg_results *r)
{
    if (r->f)
        fclose(r->f);
    r->f = NULL;
    unlink(r->tmp);
    results_free(r);
}

void vg_results_abort(struct vg_results *r)
{
    if (r)
        drop(r);
}

enum vg_err vg_results_commit(struct vg_results *r, char *errbuf, size_t errlen)
{
    if (!r) {
        snprintf(errbuf, errlen, "no scan results to commit");
        return VG_ERR_INVALID;
    }
    if (r->spoilt) {
        if (r->spoilt == VG_ERR_LIMIT)
            snprintf(errbuf, errlen, "the scan results pass the limit of %u MiB; %s keeps the "
                     "previous scan's", VG_RESULTS_MAX_FILE >> 20, r->path);
        else
            snprintf(errbuf, errlen, "cannot write %s; %s keeps the previous scan's results",
                     r->tmp, r->path);
        enum vg_err err = r->spoilt;
        drop(r);
        return err;
    }
    /* the data reaches the disk before the name points at it */
    if (fflush(r->f) != 0 || fsync(fileno(r->f)) != 0) {
        snprintf(errbuf, errlen, "cannot write %s: %s; %s keeps the previous scan's results",
                 r->tmp, strerror(errno), r->path);
        drop(r);
        return VG_ERR_IO;
    }
    int rc = fclose(r->f);
    r->f = NULL;
    if (rc != 0 || rename(r->tmp, r->path) != 0) {
        snprintf(errbuf, errlen, "cannot replace %s: %s; it keeps the previous scan's results",
                 r->path, strerror(errno));
        drop(r);
        return VG_ERR_IO;
    }
    /* and the rename itself survives a crash */
    int dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        vg_log(VG_LOG_WARN, "results", "%s: cannot sync the directory: %s", r->dir,
               strerror(errno));
    if (dfd >= 0)
        close(dfd);
    vg_log(VG_LOG_DEBUG, "results", "kept %zu bytes of results in %s", r->bytes, r->path);
    results_free(r);
    return VG_OK;
}

/* ---- the previous scan's evaluations -------------------------------------- */

#define PREV_MIN_SLOTS   1024          /* index slots to begin with */
#define PREV_CHUNK       (64u << 10)   /* bytes read at a time */
#define PREV_CONFLICT    3u            /* a pair held with two evaluations */
#define PREV_STACK_KEY   512           /* keys up to this long are built on the stack */

/* One pair: h0 has its low bit set; the low 2 bits of h1 hold the
 * evaluation (or PREV_CONFLICT), the rest is more of the hash. */
struct prev_pair {
    uint64_t h0, h1;
};

/* The pairs in the file's order, and an open-addressing index into them
 * (slot: pair number + 1, 0 empty; at most half full). A scan meets its
 * pairs mostly in the order the previous scan wrote them, so a lookup
 * tries the pair after the last one found before the index: the common
 * case reads memory in sequence instead of a random slot of a large
 * table. 24 bytes a pair at most (16 in pairs, 2 slots of 4 bytes). */
struct vg_results_prev {
    struct prev_pair *pairs;
    size_t n, cap;          /* pairs held, allocated */
    uint32_t *index;
    size_t nindex;          /* a power of two, or 0 */
    size_t max;             /* pairs allowed */
    size_t cursor;          /* the pair a lookup tries first */
    uint64_t key[2];        /* the SipHash key of this store */
};

/* SipHash-2-4 with 128-bit output (Aumasson and Bernstein's reference). */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                    \
    do {                                                                            \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                   \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                      \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                      \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                   \
    } while (0)

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static void siphash128(const void *data, size_t len, const uint64_t k[2], uint64_t out[2])
{
    const unsigned char *in = data;
    uint64_t v0 = 0x736f6d6570736575ull ^ k[0];
    uint64_t v1 = 0x646f72616e646f6dull ^ k[1] ^ 0xee;
    uint64_t v2 = 0x6c7967656e657261ull ^ k[0];
    uint64_t v3 = 0x7465646279746573ull ^ k[1];
    const unsigned char *end = in + (len & ~(size_t)7);
    for (; in != end; in += 8) {
        uint64_t m = le64(in);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xee;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    out[0] = v0 ^ v1 ^ v2 ^ v3;
    v1 ^= 0xdd;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    out[1] = v0 ^ v1 ^ v2 ^ v3;
}

/* Appends s[0..n) as a results file spells it: vg_json_write_string()
 * keeps every valid UTF-8 sequence and writes U+FFFD for each other byte
 * at or above 0x80. */
static enum vg_err put_id(struct vg_buf *b, const char *s, size_t n)
{
    if (vg_utf8_valid(s, n))
        return vg_buf_append(b, s, n);
    enum vg_err err = VG_OK;
    for (size_t i = 0; !err && i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = 1;
        if (c >= 0x80) {
            len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            if (!len || i + len > n || !vg_utf8_valid(s + i, len)) {
                err = vg_buf_append(b, "\xEF\xBF\xBD", 3);
                i++;
                continue;
            }
        }
        err = vg_buf_append(b, s + i, len);
        i += len;
    }
    return err;
}

/* The hash of the pair (rule, resource) as the file spells them. */
static enum vg_err pair_hash(const struct vg_results_prev *p, const char *rule, size_t rlen,
                             const char *res, size_t slen, uint64_t h[2])
{
    char stack[PREV_STACK_KEY];
    size_t n = rlen + 1 + slen;
    if (n <= sizeof(stack)) {
        memcpy(stack, rule, rlen);
        stack[rlen] = '\0';
        memcpy(stack + rlen + 1, res, slen);
        /* ASCII (every real id) needs no UTF-8 check */
        unsigned char high = 0;
        for (size_t i = 0; i < n; i++)
            high |= (unsigned char)stack[i];
        if (!(high & 0x80) || (vg_utf8_valid(rule, rlen) && vg_utf8_valid(res, slen))) {
            siphash128(stack, n, p->key, h);
            return VG_OK;
        }
    }
    struct vg_buf b;
    vg_buf_init(&b, 3 * (rlen + slen) + 1);
    enum vg_err err = put_id(&b, rule, rlen);
    if (!err)
        err = vg_buf_append(&b, "", 1);
    if (!err)
        err = put_id(&b, res, slen);
    if (!err)
        siphash128(b.data, b.len, p->key, h);
    vg_buf_free(&b);
    return err;
}

static size_t slot_of(uint64_t h0, size_t mask)
{
    return (size_t)(h0 >> 1) & mask;
}

static enum vg_err index_grow(struct vg_results_prev *p)
{
    size_t n = p->nindex ? p->nindex * 2 : PREV_MIN_SLOTS;
    uint32_t *idx = calloc(n, sizeof(*idx));
    if (!idx)
        return VG_ERR_NOMEM;
    for (size_t i = 0; i < p->n; i++) {
        size_t k = slot_of(p->pairs[i].h0, n - 1);
        while (idx[k])
            k = (k + 1) & (n - 1);
        idx[k] = (uint32_t)(i + 1);
    }
    free(p->index);
    p->index = idx;
    p->nindex = n;
    return VG_OK;
}

/* The number of the pair with this hash, or -1. */
static ptrdiff_t pair_find(const struct vg_results_prev *p, uint64_t h0, uint64_t tag)
{
    if (!p->nindex)
        return -1;
    for (size_t k = slot_of(h0, p->nindex - 1); p->index[k]; k = (k + 1) & (p->nindex - 1)) {
        const struct prev_pair *q = &p->pairs[p->index[k] - 1];
        if (q->h0 == h0 && (q->h1 & ~(uint64_t)3) == tag)
            return (ptrdiff_t)p->index[k] - 1;
    }
    return -1;
}

/* Adds a pair; VG_ERR_LIMIT past p->max. */
static enum vg_err prev_put(struct vg_results_prev *p, const uint64_t h[2], enum vg_eval e)
{
    uint64_t h0 = h[0] | 1, tag = h[1] & ~(uint64_t)3;
    ptrdiff_t i = pair_find(p, h0, tag);
    if (i >= 0) {
        struct prev_pair *q = &p->pairs[i];
        if ((q->h1 & 3) != (uint64_t)e)
            q->h1 = tag | PREV_CONFLICT;
        return VG_OK;
    }
    if (p->n >= p->max)
        return VG_ERR_LIMIT;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : PREV_MIN_SLOTS / 2;
        if (cap > p->max)
            cap = p->max;
        struct prev_pair *pairs = realloc(p->pairs, cap * sizeof(*pairs));
        if (!pairs)
            return VG_ERR_NOMEM;
        p->pairs = pairs;
        p->cap = cap;
    }
    if ((p->n + 1) * 2 > p->nindex) {
        enum vg_err err = index_grow(p);
        if (err)
            return err;
    }
    p->pairs[p->n] = (struct prev_pair){ h0, tag | (uint64_t)e };
    size_t k = slot_of(h0, p->nindex - 1);
    while (p->index[k])
        k = (k + 1) & (p->nindex - 1);
    p->index[k] = (uint32_t)(p->n + 1);
    p->n++;
    return VG_OK;
}

bool vg_results_prev_lookup(struct vg_results_prev *p, const char *rule_id,
                            const char *resource_id, enum vg_eval *out)
{
    if (!p || !p->n || !rule_id || !resource_id)
        return false;
    uint64_t h[2];
    if (pair_hash(p, rule_id, strlen(rule_id), resource_id, strlen(resource_id), h))
        return false;
    uint64_t h0 = h[0] | 1, tag = h[1] & ~(uint64_t)3;
    ptrdiff_t i;
    const struct prev_pair *c = p->cursor < p->n ? &p->pairs[p->cursor] : NULL;
    if (c && c->h0 == h0 && (c->h1 & ~(uint64_t)3) == tag)
        i = (ptrdiff_t)p->cursor;
    else if ((i = pair_find(p, h0, tag)) < 0)
        return false;   /* a new pair: the cursor stays for the next one */
    p->cursor = (size_t)i + 1;
    unsigned e = (unsigned)(p->pairs[i].h1 & 3);
    if (e == PREV_CONFLICT)
        return false;
    *out = (enum vg_eval)e;
    return true;
}

size_t vg_results_prev_count(const struct vg_results_prev *p)
{
    return p ? p->n : 0;
}

void vg_results_prev_destroy(struct vg_results_prev *p)
{
    if (!p)
        return;
    free(p->pairs);
    free(p->index);
    free(p);
}

/* -- reading a results file: yajl's callbacks pick out, per document,
 *    event.dataset, rule.id, resource.id and result.evaluation -- */

enum prev_top { TOP_OTHER, TOP_EVENT, TOP_RULE, TOP_RESOURCE, TOP_RESULT };
enum prev_field { FIELD_OTHER, FIELD_DATASET, FIELD_ID, FIELD_EVALUATION };

struct prev_reader {
    struct vg_results_prev *p;
    int depth;              /* open maps and arrays */
    bool map_at[3];         /* the container at depth 1 and 2 is a map */
    enum prev_top top;      /* the key at depth 1 */
    enum prev_field field;  /* the key at depth 2 */
    /* this document */
    struct vg_buf rule, res;
    bool has_rule, has_res, has_eval, has_dataset, finding;
    enum vg_eval eval;
    /* why the client stopped the parse */
    enum vg_err err;
    bool full;              /* more pairs than p->max */
    char why[160];
};

static int stop(struct prev_reader *r, enum vg_err err, const char *why)
{
    r->err = err;
    snprintf(r->why, sizeof(r->why), "%s", why);
    return 0;
}

static bool is_word(const unsigned char *s, size_t n, const char *w)
{
    return n == strlen(w) && memcmp(s, w, n) == 0;
}

/* A scalar value; str is NULL for anything but a string. */
static int on_value(struct prev_reader *r, const unsigned char *str, size_t n)
{
    if (r->depth == 0)
        return stop(r, VG_ERR_PARSE, "a line that is not a JSON object");
    if (r->depth != 2 || !r->map_at[1] || !r->map_at[2] || r->field == FIELD_OTHER)
        return 1;
    const char *c = (const char *)str;
    if (r->top == TOP_EVENT && r->field == FIELD_DATASET) {
        if (!str)
            return stop(r, VG_ERR_PARSE, "event.dataset is not a string");
        if (r->has_dataset)
            return stop(r, VG_ERR_PARSE, "event.dataset given twice");
        r->has_dataset = true;
        r->finding = is_word(str, n, "vigil.findings");
    } else if (r->top == TOP_RULE && r->field == FIELD_ID) {
        if (!str)
            return stop(r, VG_ERR_PARSE, "rule.id is not a string");
        if (r->has_rule)
            return stop(r, VG_ERR_PARSE, "rule.id given twice");
        r->has_rule = true;
        vg_buf_reset(&r->rule);
        if (vg_buf_append(&r->rule, c, n))
            return stop(r, VG_ERR_LIMIT, "rule.id is too long");
    } else if (r->top == TOP_RESOURCE && r->field == FIELD_ID) {
        if (!str)
            return stop(r, VG_ERR_PARSE, "resource.id is not a string");
        if (r->has_res)
            return stop(r, VG_ERR_PARSE, "resource.id given twice");
        r->has_res = true;
        vg_buf_reset(&r->res);
        if (vg_buf_append(&r->res, c, n))
            return stop(r, VG_ERR_LIMIT, "resource.id is too long");
    } else if (r->top == TOP_RESULT && r->field == FIELD_EVALUATION) {
        if (r->has_eval)
            return stop(r, VG_ERR_PARSE, "result.evaluation given twice");
        r->has_eval = true;
        if (str && is_word(str, n, "passed"))
            r->eval = VG_EVAL_PASSED;
        else if (str && is_word(str, n, "failed"))
            r->eval = VG_EVAL_FAILED;
        else if (str && is_word(str, n, "unknown"))
            r->eval = VG_EVAL_UNKNOWN;
        else
            return stop(r, VG_ERR_PARSE, "result.evaluation is not passed, failed or unknown");
    }
    return 1;
}

static int cb_null(void *ctx)
{
    return on_value(ctx, NULL, 0);
}

static int cb_bool(void *ctx, int b)
{
    (void)b;
    return on_value(ctx, NULL, 0);
}

static int cb_number(void *ctx, const char *s, size_t n)
{
    (void)s;
    (void)n;
    return on_value(ctx, NULL, 0);
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
    return on_value(ctx, s, n);
}

static int open_container(struct prev_reader *r, bool map)
{
    /* an object or array where a field we read must be a string */
    if (r->depth == 2 && r->map_at[1] && r->map_at[2] && r->field != FIELD_OTHER &&
        !on_value(r, NULL, 0))
        return 0;
    if (r->depth == 0 && !map)
        return stop(r, VG_ERR_PARSE, "a line that is not a JSON object");
    if (r->depth >= VG_MAX_JSON_DEPTH)
        return stop(r, VG_ERR_PARSE, "nested too deeply");
    if (r->depth == 0) {
        r->has_rule = r->has_res = r->has_eval = r->has_dataset = r->finding = false;
        r->top = TOP_OTHER;
    }
    r->depth++;
    if (r->depth <= 2)
        r->map_at[r->depth] = map;
    if (r->depth == 2)
        r->field = FIELD_OTHER;
    return 1;
}

static int cb_start_map(void *ctx)
{
    return open_container(ctx, true);
}

static int cb_start_array(void *ctx)
{
    return open_container(ctx, false);
}

static int cb_key(void *ctx, const unsigned char *k, size_t n)
{
    struct prev_reader *r = ctx;
    if (r->depth == 1) {
        r->top = is_word(k, n, "event")      ? TOP_EVENT
                 : is_word(k, n, "rule")     ? TOP_RULE
                 : is_word(k, n, "resource") ? TOP_RESOURCE
                 : is_word(k, n, "result")   ? TOP_RESULT
                                             : TOP_OTHER;
    } else if (r->depth == 2) {
        r->field = r->top == TOP_EVENT && is_word(k, n, "dataset")           ? FIELD_DATASET
                   : (r->top == TOP_RULE || r->top == TOP_RESOURCE) &&
                           is_word(k, n, "id")                               ? FIELD_ID
                   : r->top == TOP_RESULT && is_word(k, n, "evaluation")     ? FIELD_EVALUATION
                                                                             : FIELD_OTHER;
    }
    return 1;
}

/* The end of one document: a finding's pair goes into the store. */
static int end_document(struct prev_reader *r)
{
    if (!r->has_dataset)
        return stop(r, VG_ERR_PARSE, "a line without event.dataset");
    if (!r->finding)
        return 1;
    if (!r->has_rule)
        return stop(r, VG_ERR_PARSE, "a finding without rule.id");
    if (!r->has_res)
        return stop(r, VG_ERR_PARSE, "a finding without resource.id");
    if (!r->has_eval)
        return stop(r, VG_ERR_PARSE, "a finding without result.evaluation");
    uint64_t h[2];
    enum vg_err err = pair_hash(r->p, r->rule.data ? r->rule.data : "", r->rule.len,
                                r->res.data ? r->res.data : "", r->res.len, h);
    if (!err)
        err = prev_put(r->p, h, r->eval);
    if (err == VG_ERR_LIMIT) {
        r->full = true;
        return stop(r, err, "more findings than the limit");
    }
    if (err)
        return stop(r, err, "out of memory");
    return 1;
}

static int close_container(struct prev_reader *r)
{
    r->depth--;
    if (r->depth == 1)
        r->field = FIELD_OTHER;
    if (r->depth == 0)
        return end_document(r);
    return 1;
}

static int cb_end(void *ctx)
{
    return close_container(ctx);
}

static const yajl_callbacks prev_callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

static void draw_key(uint64_t key[2])
{
    if (getrandom(key, 2 * sizeof(uint64_t), GRND_NONBLOCK) == (ssize_t)(2 * sizeof(uint64_t)))
        return;
    /* no entropy yet (early boot): still a key no input can aim at ahead */
    key[0] = (uint64_t)vg_time_now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)key;
    key[1] = (uint64_t)vg_time_mono_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&key;
}

/* Lines in s[0..n): for "FILE:LINE" in messages. */
static size_t count_lines(const char *s, size_t n)
{
    size_t k = 0;
    for (const char *q = s, *e = s + n; (q = memchr(q, '\n', (size_t)(e - q))); q++)
        k++;
    return k;
}

/* Reads fd into p; on failure errbuf says "PATH:LINE: why". */
static enum vg_err prev_read(struct vg_results_prev *p, int fd, const char *path, char *errbuf,
                             size_t errlen)
{
    struct prev_reader r;
    memset(&r, 0, sizeof(r));
    r.p = p;
    vg_buf_init(&r.rule, VG_MAX_EVENT);
    vg_buf_init(&r.res, VG_MAX_EVENT);
    char *chunk = malloc(PREV_CHUNK);
    yajl_handle h = chunk ? yajl_alloc(&prev_callbacks, NULL, &r) : NULL;
    enum vg_err err = VG_OK;
    if (!h) {
        snprintf(errbuf, errlen, "out of memory reading %s", path);
        err = VG_ERR_NOMEM;
        goto out;
    }
    yajl_config(h, yajl_allow_multiple_values, 1);
    size_t line = 1, since_doc = 0;
    bool blank = true;   /* only whitespace so far: yajl calls that truncated */
    yajl_status st = yajl_status_ok;
    for (;;) {
        ssize_t got = read(fd, chunk, PREV_CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(errbuf, errlen, "cannot read %s: %s", path, strerror(errno));
            err = VG_ERR_IO;
            goto out;
        }
        if (got == 0)
            break;
        for (ssize_t i = 0; blank && i < got; i++)
            blank = chunk[i] == ' ' || chunk[i] == '\n' || chunk[i] == '\t' || chunk[i] == '\r';
        st = yajl_parse(h, (const unsigned char *)chunk, (size_t)got);
        if (st != yajl_status_ok) {
            line += count_lines(chunk, yajl_get_bytes_consumed(h));
            break;
        }
        /* a line is bounded as an event is (and so is what yajl buffers) */
        size_t tail = 0;
        while (tail < (size_t)got && chunk[(size_t)got - 1 - tail] != '\n')
            tail++;
        since_doc = tail < (size_t)got ? tail : since_doc + (size_t)got;
        if (since_doc > VG_MAX_EVENT) {
            snprintf(errbuf, errlen, "%s:%zu: a line longer than %u MiB", path,
                     line + count_lines(chunk, (size_t)got), VG_MAX_EVENT >> 20);
            err = VG_ERR_PARSE;
            goto out;
        }
        line += count_lines(chunk, (size_t)got);
    }
    if (st == yajl_status_ok && !blank)
        st = yajl_complete_parse(h);
    if (st == yajl_status_ok && r.depth != 0) {
        /* yajl reports an open document itself; this only keeps the promise */
        snprintf(errbuf, errlen, "%s:%zu: the last line is cut short", path, line);
        err = VG_ERR_PARSE;
        goto out;
    }
    if (st == yajl_status_client_canceled) {
        err = r.err;
        if (r.full)
            snprintf(errbuf, errlen, "%s holds more than %zu findings", path, p->max);
        else if (err == VG_ERR_NOMEM)
            snprintf(errbuf, errlen, "out of memory reading %s", path);
        else
            snprintf(errbuf, errlen, "%s:%zu: %s", path, line, r.why);
    } else if (st != yajl_status_ok) {
        unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
        char one[200];
        snprintf(one, sizeof(one), "%s", msg ? (const char *)msg : "malformed JSON");
        one[strcspn(one, "\n")] = '\0';
        if (msg)
            yajl_free_error(h, msg);
        snprintf(errbuf, errlen, "%s:%zu: not a line of JSON: %s", path, line, one);
        err = VG_ERR_PARSE;
    }
out:
    if (h)
        yajl_free(h);
    free(chunk);
    vg_buf_free(&r.rule);
    vg_buf_free(&r.res);
    return err;
}

enum vg_err vg_results_prev_load(const char *state_dir, const char *provider, const char *target,
                                 size_t max_pairs, struct vg_results_prev **out, char *errbuf,
                                 size_t errlen)
{
    *out = NULL;
    char path[PATH_MAX];
    if (!state_dir || !*state_dir) {
        snprintf(errbuf, errlen, "no state directory to read the previous scan from");
        return VG_ERR_NOENT;
    }
    if (vg_results_path(state_dir, provider, target, path, sizeof(path))) {
        snprintf(errbuf, errlen, "the state directory path is too long");
        return VG_ERR_LIMIT;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            snprintf(errbuf, errlen, "no previous scan of %s %s (%s)",
                     provider && *provider ? provider : "unknown",
                     target && *target ? target : "unknown", path);
        else
            snprintf(errbuf, errlen, "cannot open %s: %s", path, strerror(e));
        return e == ENOENT ? VG_ERR_NOENT : e == EACCES || e == EPERM ? VG_ERR_PERM : VG_ERR_IO;
    }
    struct stat st;
    enum vg_err err = VG_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(errbuf, errlen, "%s is not a regular file", path);
        err = VG_ERR_IO;
    } else if ((uint64_t)st.st_size > VG_RESULTS_MAX_FILE) {
        snprintf(errbuf, errlen, "%s is larger than %u MiB", path, VG_RESULTS_MAX_FILE >> 20);
        err = VG_ERR_LIMIT;
    }
    struct vg_results_prev *p = err ? NULL : calloc(1, sizeof(*p));
    if (!err && !p) {
        snprintf(errbuf, errlen, "out of memory reading %s", path);
        err = VG_ERR_NOMEM;
    }
    if (!err) {
        /* pair numbers are kept in 32 bits */
        p->max = max_pairs < UINT32_MAX - 1 ? max_pairs : UINT32_MAX - 1;
        draw_key(p->key);
        err = prev_read(p, fd, path, errbuf, errlen);
    }
    close(fd);
    if (err) {
        vg_results_prev_destroy(p);
        return err;
    }
    *out = p;
    return VG_OK;
}
