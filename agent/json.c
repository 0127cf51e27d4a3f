#include "json.h"
#include "limits.h"

#include <yajl/yajl_parse.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct member {
    char *key;
    struct vg_json *val;
};

struct vg_json {
    enum vg_json_type type;
    union {
        bool b;
        int64_t i;
        double d;
        struct {
            char *p;
            size_t n;
        } s;
        struct {
            struct vg_json **items;
            size_t n, cap;
        } a;
        struct {
            struct member *items;
            size_t n, cap;
            /* Open-addressing index of items by key hash, built once an
             * object passes INDEX_MIN keys, so that a hostile document
             * with a million keys costs n, not n squared. Slots hold
             * item index + 1; 0 is empty. */
            uint32_t *index;
            size_t nslots;
        } o;
    } u;
};

#define INDEX_MIN 16

/* ---- construction -------------------------------------------------- */

static struct vg_json *new_value(enum vg_json_type t)
{
    struct vg_json *v = calloc(1, sizeof(*v));
    if (v)
        v->type = t;
    return v;
}

struct vg_json *vg_json_null(void) { return new_value(VG_JSON_NULL); }

struct vg_json *vg_json_bool(bool b)
{
    struct vg_json *v = new_value(VG_JSON_BOOL);
    if (v)
        v->u.b = b;
    return v;
}

struct vg_json *vg_json_int(int64_t i)
{
    struct vg_json *v = new_value(VG_JSON_INT);
    if (v)
        v->u.i = i;
    return v;
}

struct vg_json *vg_json_double(double d)
{
    struct vg_json *v = new_value(VG_JSON_DOUBLE);
    if (v)
        v->u.d = d;
    return v;
}

struct vg_json *vg_json_strn(const char *s, size_t n)
{
    struct vg_json *v = new_value(VG_JSON_STRING);
    if (!v)
        return NULL;
    v->u.s.p = malloc(n + 1);
    if (!v->u.s.p) {
        free(v);
        return NULL;
    }
    if (n)
        memcpy(v->u.s.p, s, n);
    v->u.s.p[n] = '\0';
    v->u.s.n = n;
    return v;
}

struct vg_json *vg_json_str(const char *s)
{
    return s ? vg_json_strn(s, strlen(s)) : vg_json_null();
}

struct vg_json *vg_json_array(void) { return new_value(VG_JSON_ARRAY); }
struct vg_json *vg_json_object(void) { return new_value(VG_JSON_OBJECT); }

void vg_json_free(struct vg_json *v)
{
    if (!v)
        return;
    switch (v->type) {
    case VG_JSON_STRING:
        free(v->u.s.p);
        break;
    case VG_JSON_ARRAY:
        for (size_t i = 0; i < v->u.a.n; i++)
            vg_json_free(v->u.a.items[i]);
        free(v->u.a.items);
        break;
    case VG_JSON_OBJECT:
        for (size_t i = 0; i < v->u.o.n; i++) {
            free(v->u.o.items[i].key);
            vg_json_free(v->u.o.items[i].val);
        }
        free(v->u.o.items);
        free(v->u.o.index);
        break;
    default:
        break;
    }
    free(v);
}

struct vg_json *vg_json_clone(const struct vg_json *v)
{
    if (!v)
        return NULL;
    struct vg_json *c = NULL;
    switch (v->type) {
    case VG_JSON_NULL: return vg_json_null();
    case VG_JSON_BOOL: return vg_json_bool(v->u.b);
    case VG_JSON_INT: return vg_json_int(v->u.i);
    case VG_JSON_DOUBLE: return vg_json_double(v->u.d);
    case VG_JSON_STRING: return vg_json_strn(v->u.s.p, v->u.s.n);
    case VG_JSON_ARRAY:
        c = vg_json_array();
        for (size_t i = 0; c && i < v->u.a.n; i++)
            if (vg_json_push(c, vg_json_clone(v->u.a.items[i]))) {
                vg_json_free(c);
                return NULL;
            }
        return c;
    case VG_JSON_OBJECT:
        c = vg_json_object();
        for (size_t i = 0; c && i < v->u.o.n; i++)
            if (vg_json_set(c, v->u.o.items[i].key, vg_json_clone(v->u.o.items[i].val))) {
                vg_json_free(c);
                return NULL;
            }
        return c;
    }
    return NULL;
}

bool vg_json_is_number(const struct vg_json *v)
{
    return v && (v->type == VG_JSON_INT || v->type == VG_JSON_DOUBLE);
}

bool vg_json_equal(const struct vg_json *a, const struct vg_json *b)
{
    if (!a || !b)
        return a == b;
    if (vg_json_is_number(a) && vg_json_is_number(b)) {
        if (a->type == VG_JSON_INT && b->type == VG_JSON_INT)
            return a->u.i == b->u.i;
        return vg_json_get_num(a) == vg_json_get_num(b);
    }
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case VG_JSON_NULL: return true;
    case VG_JSON_BOOL: return a->u.b == b->u.b;
    case VG_JSON_STRING:
        return a->u.s.n == b->u.s.n && memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0;
    case VG_JSON_ARRAY:
        if (a->u.a.n != b->u.a.n)
            return false;
        for (size_t i = 0; i < a->u.a.n; i++)
            if (!vg_json_equal(a->u.a.items[i], b->u.a.items[i]))
                return false;
        return true;
    case VG_JSON_OBJECT:
        if (a->u.o.n != b->u.o.n)
            return false;
        for (size_t i = 0; i < a->u.o.n; i++) {
            const struct vg_json *bv = vg_json_get(b, a->u.o.items[i].key);
            if (!bv || !vg_json_equal(a->u.o.items[i].val, bv))
                return false;
        }
        return true;
    default:
        return false;
    }
}

/* ---- access ---------------------------------------------------------- */

enum vg_json_type vg_json_type(const struct vg_json *v)
{
    return v ? v->type : VG_JSON_NULL;
}

const char *vg_json_type_name(enum vg_json_type t)
{
    static const char *const names[] = { "null", "boolean", "integer", "number",
                                         "string", "array", "object" };
    return (unsigned)t <= VG_JSON_OBJECT ? names[t] : "?";
}

bool vg_json_get_bool(const struct vg_json *v)
{
    return v && v->type == VG_JSON_BOOL && v->u.b;
}

int64_t vg_json_get_int(const struct vg_json *v)
{
    if (!v)
        return 0;
    if (v->type == VG_JSON_INT)
        return v->u.i;
    if (v->type == VG_JSON_DOUBLE && isfinite(v->u.d) && v->u.d > -9.2e18 && v->u.d < 9.2e18)
        return (int64_t)v->u.d;
    return 0;
}

double vg_json_get_num(const struct vg_json *v)
{
    if (!v)
        return 0;
    if (v->type == VG_JSON_INT)
        return (double)v->u.i;
    if (v->type == VG_JSON_DOUBLE)
        return v->u.d;
    return 0;
}

const char *vg_json_get_str(const struct vg_json *v)
{
    return v && v->type == VG_JSON_STRING ? v->u.s.p : NULL;
}

size_t vg_json_str_len(const struct vg_json *v)
{
    return v && v->type == VG_JSON_STRING ? v->u.s.n : 0;
}

size_t vg_json_len(const struct vg_json *v)
{
    if (!v)
        return 0;
    if (v->type == VG_JSON_ARRAY)
        return v->u.a.n;
    if (v->type == VG_JSON_OBJECT)
        return v->u.o.n;
    return 0;
}

struct vg_json *vg_json_at(const struct vg_json *v, size_t i)
{
    if (!v)
        return NULL;
    if (v->type == VG_JSON_ARRAY)
        return i < v->u.a.n ? v->u.a.items[i] : NULL;
    if (v->type == VG_JSON_OBJECT)
        return i < v->u.o.n ? v->u.o.items[i].val : NULL;
    return NULL;
}

const char *vg_json_key_at(const struct vg_json *v, size_t i)
{
    if (!v || v->type != VG_JSON_OBJECT || i >= v->u.o.n)
        return NULL;
    return v->u.o.items[i].key;
}

/* FNV-1a */
static uint32_t key_hash(const char *k)
{
    uint32_t h = 2166136261u;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 16777619u;
    return h;
}

static void index_insert(struct vg_json *obj, size_t item)
{
    size_t mask = obj->u.o.nslots - 1;
    size_t s = key_hash(obj->u.o.items[item].key) & mask;
    while (obj->u.o.index[s])
        s = (s + 1) & mask;
    obj->u.o.index[s] = (uint32_t)(item + 1);
}

/* (Re)builds the index with room for twice the capacity. On allocation
 * failure the object simply stays unindexed: lookups fall back to a scan. */
static void index_rebuild(struct vg_json *obj)
{
    size_t nslots = 32;
    while (nslots < obj->u.o.cap * 2)
        nslots *= 2;
    uint32_t *idx = calloc(nslots, sizeof(*idx));
    free(obj->u.o.index);
    obj->u.o.index = idx;
    obj->u.o.nslots = idx ? nslots : 0;
    for (size_t i = 0; idx && i < obj->u.o.n; i++)
        index_insert(obj, i);
}

static struct member *find_member(const struct vg_json *obj, const char *key)
{
    if (!obj || obj->type != VG_JSON_OBJECT || !key)
        return NULL;
    if (obj->u.o.index) {
        size_t mask = obj->u.o.nslots - 1;
        for (size_t s = key_hash(key) & mask; obj->u.o.index[s]; s = (s + 1) & mask) {
            struct member *m = &obj->u.o.items[obj->u.o.index[s] - 1];
            if (strcmp(m->key, key) == 0)
                return m;
        }
        return NULL;
    }
    for (size_t i = 0; i < obj->u.o.n; i++)
        if (strcmp(obj->u.o.items[i].key, key) == 0)
            return &obj->u.o.items[i];
    return NULL;
}

struct vg_json *vg_json_get(const struct vg_json *obj, const char *key)
{
    struct member *m = find_member(obj, key);
    return m ? m->val : NULL;
}

/* ---- mutation -------------------------------------------------------- */

enum vg_err vg_json_set(struct vg_json *obj, const char *key, struct vg_json *val)
{
    if (!val)
        return VG_ERR_NOMEM;
    if (!obj || obj->type != VG_JSON_OBJECT || !key) {
        vg_json_free(val);
        return VG_ERR_INVALID;
    }
    struct member *m = find_member(obj, key);
    if (m) {
        vg_json_free(m->val);
        m->val = val;
        return VG_OK;
    }
    if (obj->u.o.n == obj->u.o.cap) {
        size_t ncap = obj->u.o.cap ? obj->u.o.cap * 2 : 4;
        struct member *p = realloc(obj->u.o.items, ncap * sizeof(*p));
        if (!p) {
            vg_json_free(val);
            return VG_ERR_NOMEM;
        }
        obj->u.o.items = p;
        obj->u.o.cap = ncap;
    }
    char *k = strdup(key);
    if (!k) {
        vg_json_free(val);
        return VG_ERR_NOMEM;
    }
    obj->u.o.items[obj->u.o.n].key = k;
    obj->u.o.items[obj->u.o.n].val = val;
    obj->u.o.n++;
    if (obj->u.o.n >= INDEX_MIN) {
        if (!obj->u.o.index || obj->u.o.nslots < obj->u.o.cap * 2)
            index_rebuild(obj);
        else
            index_insert(obj, obj->u.o.n - 1);
    }
    return VG_OK;
}

enum vg_err vg_json_push(struct vg_json *arr, struct vg_json *val)
{
    if (!val)
        return VG_ERR_NOMEM;
    if (!arr || arr->type != VG_JSON_ARRAY) {
        vg_json_free(val);
        return VG_ERR_INVALID;
    }
    if (arr->u.a.n == arr->u.a.cap) {
        size_t ncap = arr->u.a.cap ? arr->u.a.cap * 2 : 4;
        struct vg_json **p = realloc(arr->u.a.items, ncap * sizeof(*p));
        if (!p) {
            vg_json_free(val);
            return VG_ERR_NOMEM;
        }
        arr->u.a.items = p;
        arr->u.a.cap = ncap;
    }
    arr->u.a.items[arr->u.a.n++] = val;
    return VG_OK;
}

void vg_json_del(struct vg_json *obj, const char *key)
{
    struct member *m = find_member(obj, key);
    if (!m)
        return;
    size_t i = (size_t)(m - obj->u.o.items);
    free(m->key);
    vg_json_free(m->val);
    memmove(&obj->u.o.items[i], &obj->u.o.items[i + 1],
            (obj->u.o.n - i - 1) * sizeof(struct member));
    obj->u.o.n--;
    if (obj->u.o.index)
        index_rebuild(obj);   /* positions moved: rare, so rebuild */
}

enum vg_err vg_json_set_str(struct vg_json *obj, const char *key, const char *s)
{
    return vg_json_set(obj, key, vg_json_str(s));
}

enum vg_err vg_json_set_int(struct vg_json *obj, const char *key, int64_t i)
{
    return vg_json_set(obj, key, vg_json_int(i));
}

enum vg_err vg_json_set_bool(struct vg_json *obj, const char *key, bool b)
{
    return vg_json_set(obj, key, vg_json_bool(b));
}

struct vg_json *vg_json_child(struct vg_json *obj, const char *key)
{
    struct vg_json *c = vg_json_get(obj, key);
    if (c && c->type == VG_JSON_OBJECT)
        return c;
    if (vg_json_set(obj, key, vg_json_object()))
        return NULL;
    return vg_json_get(obj, key);
}

/* ---- parsing ----------------------------------------------------------- */

struct parse_ctx {
    struct vg_json *root;
    struct vg_json *stack[VG_MAX_JSON_DEPTH];
    char *keys[VG_MAX_JSON_DEPTH];   /* pending key per open object */
    int depth;
    const char *why;                 /* our own reason to stop */
};

static int add_value(struct parse_ctx *c, struct vg_json *v)
{
    if (!v) {
        c->why = "out of memory";
        return 0;
    }
    if (c->depth == 0) {
        c->root = v;
        return 1;
    }
    struct vg_json *top = c->stack[c->depth - 1];
    enum vg_err err;
    if (top->type == VG_JSON_ARRAY) {
        err = vg_json_push(top, v);
    } else {
        err = vg_json_set(top, c->keys[c->depth - 1], v);
        free(c->keys[c->depth - 1]);
        c->keys[c->depth - 1] = NULL;
    }
    if (err) {
        c->why = "out of memory";
        return 0;
    }
    return 1;
}

static int open_container(struct parse_ctx *c, struct vg_json *v)
{
    if (!v) {
        c->why = "out of memory";
        return 0;
    }
    if (c->depth >= VG_MAX_JSON_DEPTH) {
        vg_json_free(v);
        c->why = "nesting too deep";
        return 0;
    }
    if (!add_value(c, v))
        return 0;
    c->stack[c->depth] = v;
    c->keys[c->depth] = NULL;
    c->depth++;
    return 1;
}

static int cb_null(void *ctx) { return add_value(ctx, vg_json_null()); }
static int cb_bool(void *ctx, int b) { return add_value(ctx, vg_json_bool(b != 0)); }

static int cb_number(void *ctx, const char *s, size_t n)
{
    char tmp[64];
    if (n >= sizeof(tmp)) {
        /* a very long number: keep it as a double */
        char *big = strndup(s, n);
        if (!big)
            return add_value(ctx, NULL);
        double d = strtod(big, NULL);
        free(big);
        return add_value(ctx, vg_json_double(d));
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (!strpbrk(tmp, ".eE")) {
        errno = 0;
        long long ll = strtoll(tmp, NULL, 10);
        if (errno == 0)
            return add_value(ctx, vg_json_int(ll));
    }
    return add_value(ctx, vg_json_double(strtod(tmp, NULL)));
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
    return add_value(ctx, vg_json_strn((const char *)s, n));
}

static int cb_start_map(void *ctx) { return open_container(ctx, vg_json_object()); }

static int cb_map_key(void *ctx, const unsigned char *s, size_t n)
{
    struct parse_ctx *c = ctx;
    if (memchr(s, '\0', n)) {
        c->why = "object key contains a NUL character";
        return 0;
    }
    free(c->keys[c->depth - 1]);
    c->keys[c->depth - 1] = strndup((const char *)s, n);
    if (!c->keys[c->depth - 1]) {
        c->why = "out of memory";
        return 0;
    }
    return 1;
}

static int cb_end(void *ctx)
{
    struct parse_ctx *c = ctx;
    c->depth--;
    free(c->keys[c->depth]);
    c->keys[c->depth] = NULL;
    return 1;
}

static int cb_start_array(void *ctx) { return open_container(ctx, vg_json_array()); }

static const yajl_callbacks parse_callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

struct vg_json *vg_json_parse(const char *text, size_t len, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (len > VG_MAX_JSON_TEXT) {
        if (errbuf)
            snprintf(errbuf, errlen, "document of %zu bytes exceeds the limit of %u", len,
                     VG_MAX_JSON_TEXT);
        return NULL;
    }
    struct parse_ctx c;
    memset(&c, 0, sizeof(c));
    yajl_handle h = yajl_alloc(&parse_callbacks, NULL, &c);
    if (!h) {
        if (errbuf)
            snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    if (st != yajl_status_ok) {
        if (errbuf) {
            size_t off = yajl_get_bytes_consumed(h);
            if (c.why) {
                snprintf(errbuf, errlen, "offset %zu: %s", off, c.why);
            } else {
                unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
                snprintf(errbuf, errlen, "offset %zu: %s", off, msg ? (char *)msg : "parse error");
                if (msg)
                    yajl_free_error(h, msg);
            }
        }
        for (int i = 0; i < VG_MAX_JSON_DEPTH; i++)
            free(c.keys[i]);
        vg_json_free(c.root);
        yajl_free(h);
        return NULL;
    }
    yajl_free(h);
    if (!c.root && errbuf)
        snprintf(errbuf, errlen, "offset 0: empty document");
    return c.root;
}

/* ---- generation -------------------------------------------------------- */

bool vg_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            need = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + need >= n)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
            (need == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

/* Whether any of the 8 bytes of v needs more than a copy: below 0x20, '"',
 * '\\', or 0x80 and above (exact: true only when such a byte is there). */
static inline bool word_needs_care(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), bs = v ^ (ones * '\\');
    uint64_t below = (v - ones * 0x20) & ~v;   /* a byte below 0x20 */
    uint64_t quote = (q - ones) & ~q;          /* a '"' */
    uint64_t slash = (bs - ones) & ~bs;        /* a backslash */
    return ((below | quote | slash | v) & high) != 0;
}

/* Appends the JSON string literal of s[0..n): quotes, escapes, and U+FFFD
 * for every byte that does not start a valid UTF-8 sequence. Runs of plain
 * characters are copied in one append. */
enum vg_err vg_json_write_string(struct vg_buf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    enum vg_err err = vg_buf_appendc(b, '"');
    size_t i = 0, run = 0;
    while (!err && i < n) {
        /* plain text eight bytes at a time */
        uint64_t w;
        while (n - i >= 8 && (memcpy(&w, s + i, 8), !word_needs_care(w)))
            i += 8;
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        size_t len = 1;
        if (c >= 0x80) {
            len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            if (len && i + len <= n && vg_utf8_valid(str + i, len)) {
                i += len;
                continue;
            }
        }
        /* flush the plain run, then the escape */
        err = vg_buf_append(b, str + run, i - run);
        if (err)
            break;
        char esc[8];
        size_t elen = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                elen = 6;
            } else {
                memcpy(esc, "\xEF\xBF\xBD", 3);   /* invalid UTF-8 byte */
                elen = 3;
            }
        }
        err = vg_buf_append(b, esc, elen);
        i++;
        run = i;
    }
    if (!err)
        err = vg_buf_append(b, str + run, i - run);
    if (!err)
        err = vg_buf_appendc(b, '"');
    return err;
}

static enum vg_err write_value(const struct vg_json *v, struct vg_buf *b, int depth)
{
    enum vg_err err = VG_OK;
    if (depth > VG_MAX_JSON_DEPTH * 2)
        return VG_ERR_LIMIT;
    switch (v->type) {
    case VG_JSON_NULL: return vg_buf_append(b, "null", 4);
    case VG_JSON_BOOL: return v->u.b ? vg_buf_append(b, "true", 4) : vg_buf_append(b, "false", 5);
    case VG_JSON_INT: return vg_buf_printf(b, "%lld", (long long)v->u.i);
    case VG_JSON_DOUBLE: {
        if (!isfinite(v->u.d))
            return vg_buf_append(b, "null", 4);
        /* shortest text that reads back the same */
        char tmp[40];
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, v->u.d);
            if (strtod(tmp, NULL) == v->u.d)
                break;
        }
        if (!strpbrk(tmp, ".eEn") && strlen(tmp) < sizeof(tmp) - 3)
            strcat(tmp, ".0");
        return vg_buf_appends(b, tmp);
    }
    case VG_JSON_STRING: return vg_json_write_string(b, v->u.s.p, v->u.s.n);
    case VG_JSON_ARRAY:
        err = vg_buf_appendc(b, '[');
        for (size_t i = 0; !err && i < v->u.a.n; i++) {
            if (i)
                err = vg_buf_appendc(b, ',');
            if (!err)
                err = write_value(v->u.a.items[i], b, depth + 1);
        }
        return err ? err : vg_buf_appendc(b, ']');
    case VG_JSON_OBJECT:
        err = vg_buf_appendc(b, '{');
        for (size_t i = 0; !err && i < v->u.o.n; i++) {
            if (i)
                err = vg_buf_appendc(b, ',');
            const char *k = v->u.o.items[i].key;
            if (!err)
                err = vg_json_write_string(b, k, strlen(k));
            if (!err)
                err = vg_buf_appendc(b, ':');
            if (!err)
                err = write_value(v->u.o.items[i].val, b, depth + 1);
        }
        return err ? err : vg_buf_appendc(b, '}');
    }
    return VG_ERR_INVALID;
}

enum vg_err vg_json_dump(const struct vg_json *v, struct vg_buf *out)
{
    if (!v)
        return VG_ERR_INVALID;
    /* on VG_ERR_LIMIT out keeps the prefix that fit: reasons quote values
     * that way, cut and marked "..." */
    return write_value(v, out, 0);
}

/* ==== picking strings from JSON text ===================================== */

/* The scanner reads just enough JSON to find a few strings; it does not
 * validate what it skips. Every step is bounded by the text's end. */

static const char *pk_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at the opening quote; returns the byte after the closing one, or NULL. */
static const char *pk_str_end(const char *p, const char *e)
{
    p++;
    while (p < e) {
        const char *q = memchr(p, '"', (size_t)(e - p));
        if (!q)
            return NULL;
        size_t bs = 0;
        for (const char *b = q; b > p && b[-1] == '\\'; b--)
            bs++;
        if (bs % 2 == 0)
            return q + 1;
        p = q + 1;
    }
    return NULL;
}

static const char *pk_skip_value(const char *p, const char *e)
{
    if (p >= e)
        return NULL;
    if (*p == '"')
        return pk_str_end(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            char c = *p;
            if (c == '"') {
                p = pk_str_end(p, e);
                if (!p)
                    return NULL;
                continue;
            }
            if (c == '{' || c == '[') {
                if (++depth > VG_MAX_JSON_DEPTH)
                    return NULL;
            } else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return NULL;
    }
    const char *s = p;
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
           *p != '\n' && *p != '\r')
        p++;
    return p > s ? p : NULL;
}

/* Reads the next member of the object whose body *pp is in: its key, and
 * *pp at its value. 1; 0 at the object's end ('}' consumed, *pp after it);
 * -1 when malformed. */
static int pk_member(const char **pp, const char *e, bool first, const char **key, size_t *klen)
{
    const char *p = pk_ws(*pp, e);
    if (p < e && *p == '}') {
        *pp = p + 1;
        return 0;
    }
    if (!first) {
        if (p >= e || *p != ',')
            return -1;
        p = pk_ws(p + 1, e);
    }
    if (p >= e || *p != '"')
        return -1;
    const char *kend = pk_str_end(p, e);
    if (!kend)
        return -1;
    *key = p + 1;
    *klen = (size_t)(kend - 1 - (p + 1));
    p = pk_ws(kend, e);
    if (p >= e || *p != ':')
        return -1;
    p = pk_ws(p + 1, e);
    if (p >= e)
        return -1;
    *pp = p;
    return 1;
}

/* Scans the object at p ('{') whose dotted path is prefix[0..plen) ("" at
 * the root), filling the picks under it. Returns the byte after the
 * object, or NULL when malformed; *left counts the picks not yet found,
 * and reading stops (returning p) as soon as it is 0. */
static const char *pk_object(const char *p, const char *e, int depth, const char *prefix,
                             size_t plen, struct vg_json_pick *pk, const size_t *plens, size_t n,
                             size_t *left)
{
    /* the picks under this object, found once rather than per member */
    size_t cand[VG_JSON_PICK_MAX], clen[VG_JSON_PICK_MAX], nc = 0;
    size_t off = plen ? plen + 1 : 0;
    for (size_t i = 0; i < n; i++)
        if (!pk[i].val && plens[i] > off &&
            (!plen || (memcmp(pk[i].path, prefix, plen) == 0 && pk[i].path[plen] == '.'))) {
            /* the length of its component here: a key of another length
             * is not compared at all */
            const char *dot = memchr(pk[i].path + off, '.', plens[i] - off);
            clen[nc] = dot ? (size_t)(dot - (pk[i].path + off)) : plens[i] - off;
            cand[nc++] = i;
        }
    p++;
    bool first = true;
    const char *key;
    size_t klen;
    int r;
    while ((r = pk_member(&p, e, first, &key, &klen)) == 1) {
        first = false;
        const char *after = NULL, *sub = NULL;
        /* (a key with a dot matches no component: components have none) */
        for (size_t c = 0; c < nc; c++) {
            size_t i = cand[c];
            const char *path = pk[i].path;
            size_t len = plens[i];
            if (clen[c] != klen || pk[i].val || memcmp(path + off, key, klen) != 0)
                continue;
            if (len == off + klen) {
                if (*p == '"') {
                    const char *q = pk_str_end(p, e);
                    if (!q)
                        return NULL;
                    pk[i].val = p + 1;
                    pk[i].len = (size_t)(q - 1 - (p + 1));
                    after = q;
                    (*left)--;
                } else if (pk[i].number && (*p == '-' || (*p >= '0' && *p <= '9'))) {
                    const char *q = pk_skip_value(p, e);
                    if (!q)
                        return NULL;
                    pk[i].val = p;
                    pk[i].len = (size_t)(q - p);
                    after = q;
                    (*left)--;
                }
            } else if (path[off + klen] == '.' && *p == '{') {
                sub = path;   /* its first off + klen bytes: this member's path */
            }
        }
        if (!*left)
            return p;
        if (after)
            p = after;
        else if (sub && depth < VG_MAX_JSON_DEPTH)
            p = pk_object(p, e, depth + 1, sub, off + klen, pk, plens, n, left);
        else
            p = pk_skip_value(p, e);
        if (!p)
            return NULL;
        if (!*left)
            return p;
    }
    return r == 0 ? p : NULL;
}

enum vg_err vg_json_pick(const char *text, size_t len, struct vg_json_pick *picks, size_t n)
{
    if (n > VG_JSON_PICK_MAX)
        return VG_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        picks[i].val = NULL;
        picks[i].len = 0;
    }
    const char *e = text + len;
    const char *p = pk_ws(text, e);
    if (p >= e || *p != '{')
        return VG_ERR_PARSE;
    size_t left = n, plens[VG_JSON_PICK_MAX];
    if (!left)
        return VG_OK;
    for (size_t i = 0; i < n; i++)
        plens[i] = strlen(picks[i].path);
    return pk_object(p, e, 1, "", 0, picks, plens, n, &left) ? VG_OK : VG_ERR_PARSE;
}

long vg_json_pick_decode(const struct vg_json_pick *pk, char *buf, size_t cap, const char **out)
{
    if (!pk->val)
        return -1;
    if (!memchr(pk->val, '\\', pk->len)) {
        *out = pk->val;
        return (long)pk->len;
    }
    /* the rare escaped value: through the real parser, quotes included */
    char err[64];
    struct vg_json *v = vg_json_parse(pk->val - 1, pk->len + 2, err, sizeof(err));
    if (!v || vg_json_type(v) != VG_JSON_STRING || vg_json_str_len(v) > cap) {
        vg_json_free(v);
        return -1;
    }
    size_t n = vg_json_str_len(v);
    memcpy(buf, vg_json_get_str(v), n);
    vg_json_free(v);
    *out = buf;
    return (long)n;
}
