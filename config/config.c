/*
 * The configuration loader: one generic walk of the YAML node tree against
 * the schema tables (config/schema.h), the printer of the effective
 * configuration, the Markdown reference, and the file checks.
 *
 * Every type is a row of `types[]` (load, clear, print), so adding a type
 * is adding a row; the walk itself only knows mappings, nulls and defaults.
 */
#include "config.h"
#include "schema.h"
#include "../agent/limits.h"
#include "../agent/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MASK "********"

/* ==== parsers of the textual types ===================================== */

/* Reads an unsigned decimal run at *p into *out; -1 on overflow or when
 * there is no digit. */
static int read_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 0;
}

int vg_config_parse_int(const char *s, int64_t *out)
{
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    uint64_t v;
    if (read_digits(&s, &v) || *s)
        return -1;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)v;
    }
    return 0;
}

int vg_config_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on" };
    static const char *const no[] = { "false", "no", "off" };
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Adds n * mult to *total, refusing to pass INT64_MAX. */
static int add_scaled(uint64_t *total, uint64_t n, uint64_t mult)
{
    if (n > (uint64_t)INT64_MAX / mult)
        return -1;
    n *= mult;
    if (*total > (uint64_t)INT64_MAX - n)
        return -1;
    *total += n;
    return 0;
}

int vg_config_parse_duration(const char *s, int64_t *seconds)
{
    static const struct {
        char unit;
        uint64_t mult;
    } units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
    uint64_t total = 0, n;
    const char *p = s;
    if (read_digits(&p, &n))
        return -1;
    if (!*p) {                       /* bare seconds */
        if (n > (uint64_t)INT64_MAX)
            return -1;
        *seconds = (int64_t)n;
        return 0;
    }
    size_t next = 0;                 /* units come largest first, once each */
    for (;;) {
        size_t u = next;
        while (u < 4 && units[u].unit != *p)
            u++;
        if (u == 4 || add_scaled(&total, n, units[u].mult))
            return -1;
        next = u + 1;
        p++;
        if (!*p)
            break;
        if (read_digits(&p, &n) || !*p)
            return -1;
    }
    *seconds = (int64_t)total;
    return 0;
}

static const struct {
    const char *unit;
    uint64_t mult;
} size_units[] = {
    { "TiB", 1ull << 40 }, { "GiB", 1ull << 30 }, { "MiB", 1ull << 20 }, { "KiB", 1ull << 10 },
    { "TB", 1000000000000ull }, { "GB", 1000000000ull }, { "MB", 1000000ull }, { "kB", 1000ull },
    { "B", 1 },
};

int vg_config_parse_size(const char *s, int64_t *bytes)
{
    const char *p = s;
    uint64_t n, total = 0;
    if (read_digits(&p, &n))
        return -1;
    if (*p == ' ')
        p++;
    uint64_t mult = 1;
    if (*p) {
        size_t i, count = sizeof(size_units) / sizeof(size_units[0]);
        for (i = 0; i < count; i++)
            if (strcasecmp(p, size_units[i].unit) == 0)
                break;
        if (i == count)
            return -1;
        mult = size_units[i].mult;
    } else if (p != s && p[-1] == ' ') {
        return -1;                   /* "10 " */
    }
    if (add_scaled(&total, n, mult))
        return -1;
    *bytes = (int64_t)total;
    return 0;
}

void vg_config_format_duration(int64_t seconds, char *out, size_t outlen)
{
    if (seconds <= 0) {
        snprintf(out, outlen, "%" PRId64 "s", seconds);
        return;
    }
    static const struct {
        char unit;
        int64_t len;
    } units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < 4 && k < outlen; i++) {
        int64_t q = seconds / units[i].len;
        seconds %= units[i].len;
        if (q) {
            int w = snprintf(out + k, outlen - k, "%" PRId64 "%c", q, units[i].unit);
            if (w < 0)
                return;
            k += (size_t)w;
        }
    }
}

void vg_config_format_size(int64_t bytes, char *out, size_t outlen)
{
    size_t count = sizeof(size_units) / sizeof(size_units[0]);
    for (size_t i = 0; bytes > 0 && i + 1 < count; i++) {
        if ((uint64_t)bytes % size_units[i].mult == 0) {
            snprintf(out, outlen, "%" PRIu64 "%s", (uint64_t)bytes / size_units[i].mult,
                     size_units[i].unit);
            return;
        }
    }
    snprintf(out, outlen, "%" PRId64, bytes);
}

size_t vg_config_distance(const char *a, const char *b, size_t cap)
{
    enum { MAXLEN = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXLEN || lb > MAXLEN || (la > lb ? la - lb : lb - la) > cap)
        return cap + 1;
    /* three rows of the optimal-string-alignment matrix */
    size_t rows[3][MAXLEN + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca != cb;
            size_t v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v)
                v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] > cap ? cap + 1 : prev[lb];
}

/* ==== ${VAR} expansion ================================================== */

/* Copies s[0..n) into out for a message, printable and at most 48 bytes. */
static void snippet(const char *s, size_t n, char *out, size_t outlen)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < outlen; i++) {
        if (i == 48) {
            k += (size_t)snprintf(out + k, outlen - k, "...");
            break;
        }
        unsigned char c = (unsigned char)s[i];
        out[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[k] = '\0';
}

enum vg_err vg_config_expand(const char *s, size_t len, struct vg_buf *out, char *msg,
                             size_t msglen)
{
    enum vg_err err = VG_OK;
    size_t i = 0;
    while (i < len && !err) {
        const char *dollar = memchr(s + i, '$', len - i);
        size_t run = dollar ? (size_t)(dollar - (s + i)) : len - i;
        if (run) {
            err = vg_buf_append(out, s + i, run);
            i += run;
            continue;
        }
        /* s[i] == '$' */
        if (i + 1 < len && s[i + 1] == '$') {
            err = vg_buf_appendc(out, '$');
            i += 2;
            continue;
        }
        if (i + 1 >= len || s[i + 1] != '{') {
            err = vg_buf_appendc(out, '$');    /* a lone $ stands for itself */
            i++;
            continue;
        }
        size_t start = i + 2;
        const char *close = memchr(s + start, '}', len - start);
        char shown[64];
        if (!close) {
            snippet(s + i, len - i, shown, sizeof(shown));
            snprintf(msg, msglen, "unterminated \"${\" in \"%s\" (write $$ for a literal $)",
                     shown);
            return VG_ERR_CONFIG;
        }
        size_t end = (size_t)(close - s);
        snippet(s + i, end + 1 - i, shown, sizeof(shown));
        size_t j = start;
        while (j < end && (isalnum((unsigned char)s[j]) || s[j] == '_'))
            j++;
        size_t name_len = j - start;
        if (name_len == 0 || isdigit((unsigned char)s[start])) {
            snprintf(msg, msglen, "\"%s\" does not name an environment variable", shown);
            return VG_ERR_CONFIG;
        }
        bool has_def = false;
        if (j < end) {
            if (s[j] != ':' || j + 1 >= end || s[j + 1] != '-') {
                snprintf(msg, msglen,
                         "\"%s\": expected \"}\" or \":-default}\" after the variable name",
                         shown);
                return VG_ERR_CONFIG;
            }
            has_def = true;
        }
        char name[128];
        if (name_len >= sizeof(name)) {
            snprintf(msg, msglen, "\"%s\": the variable name is too long", shown);
            return VG_ERR_CONFIG;
        }
        memcpy(name, s + start, name_len);
        name[name_len] = '\0';
        const char *v = getenv(name);
        if (has_def && (!v || !*v))
            err = vg_buf_append(out, s + j + 2, end - (j + 2));
        else if (!v) {
            snprintf(msg, msglen,
                     "environment variable %s is not set (write ${%s:-default} for a default)",
                     name, name);
            return VG_ERR_CONFIG;
        } else
            err = vg_buf_appends(out, v);
        i = end + 1;
    }
    if (!err && !out->data)
        err = vg_buf_append(out, "", 0);
    return err;
}

/* ==== the loader ======================================================== */

struct loader {
    char *errbuf;
    size_t errlen;
    bool expand;        /* false while loading built-in defaults */
    const struct vg_config_key *root;   /* for "it belongs under ..." */
};

struct type_ops {
    const char *name;          /* in the reference */
    const char *expect;        /* in messages: "expected <expect>" */
    enum vg_ynode_type node;   /* the node it takes */
    /* Stores n (of type node, not null) in base. */
    enum vg_err (*load)(struct loader *ld, const struct vg_config_key *e, void *base,
                        struct vg_ynode *n, const char *path);
    void (*clear)(const struct vg_config_key *e, void *base);
    /* Appends the value after "key:" (a space and the scalar, or a
     * newline and the nested block at indent + 2). */
    enum vg_err (*print)(const struct vg_config_key *e, const void *base, int indent,
                         struct vg_buf *out);
};

static const struct type_ops types[VG_CFG_SEQUENCE + 1];

static enum vg_err load_value(struct loader *ld, const struct vg_config_key *e, void *base,
                              struct vg_ynode *n, const char *path);
static enum vg_err load_mapping(struct loader *ld, const struct vg_config_key *table,
                                void *base, struct vg_ynode *n, const char *path);

#define FIELD(base, off, type) ((type *)(void *)((char *)(base) + (off)))
#define CFIELD(base, off, type) ((type const *)(const void *)((const char *)(base) + (off)))

static enum vg_err fail(struct loader *ld, const struct vg_ynode *n, const char *path,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "FILE:LINE:COL: path: message"; returns VG_ERR_CONFIG. */
static enum vg_err fail(struct loader *ld, const struct vg_ynode *n, const char *path,
                        const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (path && *path)
        vg_yaml_error(ld->errbuf, ld->errlen, n, "%s: %s", path, msg);
    else
        vg_yaml_error(ld->errbuf, ld->errlen, n, "%s", msg);
    return VG_ERR_CONFIG;
}

static enum vg_err nomem(struct loader *ld, const struct vg_ynode *n)
{
    vg_yaml_error(ld->errbuf, ld->errlen, n, "out of memory");
    return VG_ERR_NOMEM;
}

/* A scalar for a message: quoted, escaped, at most 48 bytes shown. */
static const char *quote(const char *s, char *out, size_t outlen)
{
    size_t k = 0, n = strlen(s);
    out[k++] = '"';
    for (size_t i = 0; i < n && k + 8 < outlen; i++) {
        if (i == 48) {
            k += (size_t)snprintf(out + k, outlen - k, "...");
            break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            k += (size_t)snprintf(out + k, outlen - k, "\\x%02x", c);
        } else {
            out[k++] = (char)c;
        }
    }
    out[k++] = '"';
    out[k] = '\0';
    return out;
}

/* path + "." + key (key made printable), truncated to VG_CFG_MAX_KEYPATH. */
static void join_key(char *out, const char *parent, const char *key)
{
    char k[96];
    snippet(key, strlen(key), k, sizeof(k));
    snprintf(out, VG_CFG_MAX_KEYPATH, "%s%s%s", parent, *parent ? "." : "", k);
}

static void join_index(char *out, const char *parent, size_t i)
{
    snprintf(out, VG_CFG_MAX_KEYPATH, "%s[%zu]", parent, i);
}

static bool is_null(const struct vg_ynode *n)
{
    if (n->type != VG_YAML_SCALAR || n->quoted)
        return false;
    const char *s = n->value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

static enum vg_err check_nul(struct loader *ld, const struct vg_ynode *n, const char *path)
{
    if (n->type == VG_YAML_SCALAR && strlen(n->value) != n->len)
        return fail(ld, n, path, "contains a NUL character");
    return VG_OK;
}

/* Expands ${VAR} in scalar n in place (once: the loader visits each node
 * once). */
static enum vg_err expand_node(struct loader *ld, struct vg_ynode *n, const char *path)
{
    enum vg_err err = check_nul(ld, n, path);
    if (err || !ld->expand || n->type != VG_YAML_SCALAR || !memchr(n->value, '$', n->len))
        return err;
    struct vg_buf b;
    vg_buf_init(&b, VG_CFG_MAX_VALUE);
    char msg[256];
    err = vg_config_expand(n->value, n->len, &b, msg, sizeof(msg));
    if (err) {
        vg_buf_free(&b);
        if (err == VG_ERR_CONFIG)
            return fail(ld, n, path, "%s", msg);
        if (err == VG_ERR_LIMIT)
            return fail(ld, n, path, "is longer than %u bytes once ${VAR} are expanded",
                        VG_CFG_MAX_VALUE);
        return nomem(ld, n);
    }
    size_t len = b.len;
    char *v = vg_buf_detach(&b);
    if (!v)
        return nomem(ld, n);
    free(n->value);
    n->value = v;
    n->len = len;
    return VG_OK;
}

/* Every scalar value under n (not the keys), for free-form mappings. */
static enum vg_err expand_tree(struct loader *ld, struct vg_ynode *n, const char *path)
{
    if (n->type == VG_YAML_SCALAR)
        return expand_node(ld, n, path);
    for (size_t i = 0; i < n->n; i++) {
        char sub[VG_CFG_MAX_KEYPATH];
        if (n->type == VG_YAML_MAP) {
            join_key(sub, path, n->keys[i]->value);
            enum vg_err err = check_nul(ld, n->keys[i], sub);
            if (err)
                return err;
        } else {
            join_index(sub, path, i);
        }
        enum vg_err err = expand_tree(ld, n->items[i], sub);
        if (err)
            return err;
    }
    return VG_OK;
}

static const char *got(const struct vg_ynode *n, char *buf, size_t len)
{
    if (n->type != VG_YAML_SCALAR) {
        snprintf(buf, len, "a %s", vg_yaml_type_name(n->type));
        return buf;
    }
    return quote(n->value, buf, len);
}

/* An enum's words as "a, b, c". */
static const char *join_words(const struct vg_config_key *e, char *out, size_t outlen)
{
    out[0] = '\0';
    for (size_t i = 0, k = 0; e->words && e->words[i] && k < outlen; i++) {
        int w = snprintf(out + k, outlen - k, "%s%s", i ? ", " : "", e->words[i]);
        if (w < 0)
            break;
        k += (size_t)w;
    }
    return out;
}

static enum vg_err type_error(struct loader *ld, const struct vg_config_key *e,
                              const struct vg_ynode *n, const char *path)
{
    char g[80], words[256];
    if (e->type == VG_CFG_ENUM)
        return fail(ld, n, path, "expected one of %s, got %s",
                    join_words(e, words, sizeof(words)), got(n, g, sizeof(g)));
    return fail(ld, n, path, "expected %s, got %s", types[e->type].expect, got(n, g, sizeof(g)));
}

/* Loads the built-in default of e (YAML text) through the same path. */
static enum vg_err apply_default(struct loader *ld, const struct vg_config_key *e, void *base,
                                 const char *path)
{
    if (e->type == VG_CFG_SECTION) {
        for (const struct vg_config_key *s = e->sub; s->key; s++) {
            char sub[VG_CFG_MAX_KEYPATH];
            join_key(sub, path, s->key);
            enum vg_err err = apply_default(ld, s, base, sub);
            if (err)
                return err;
        }
        return VG_OK;
    }
    types[e->type].clear(e, base);
    if (!e->def)
        return VG_OK;
    struct vg_ynode *root = vg_yaml_load_string("(built-in default)", e->def, strlen(e->def),
                                                ld->errbuf, ld->errlen);
    if (!root)
        return VG_ERR_CONFIG;
    bool saved = ld->expand;
    ld->expand = false;
    enum vg_err err = load_value(ld, e, base, root, path);
    ld->expand = saved;
    vg_yaml_free(root);
    return err;
}

static enum vg_err load_value(struct loader *ld, const struct vg_config_key *e, void *base,
                              struct vg_ynode *n, const char *path)
{
    const struct type_ops *t = &types[e->type];
    enum vg_err err = expand_node(ld, n, path);
    if (err)
        return err;
    if (is_null(n)) {
        if (e->type == VG_CFG_SECTION)     /* present, and empty */
            return t->load(ld, e, base, n, path);
        if (e->required)
            return fail(ld, n, path, "a value is required");
        return apply_default(ld, e, base, path);
    }
    if (n->type != t->node)
        return type_error(ld, e, n, path);
    t->clear(e, base);
    return t->load(ld, e, base, n, path);
}

static const struct vg_config_key *find_key(const struct vg_config_key *table, const char *key)
{
    for (const struct vg_config_key *e = table; e->key; e++)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* The dotted path of the first key called name anywhere under table, into
 * out; false when there is none. */
static bool find_anywhere(const struct vg_config_key *table, const char *name,
                          const char *prefix, char *out, size_t outlen)
{
    for (const struct vg_config_key *e = table; e->key; e++) {
        char path[VG_CFG_MAX_KEYPATH];
        snprintf(path, sizeof(path), "%s%s", prefix, e->key);
        if (strcmp(e->key, name) == 0) {
            snprintf(out, outlen, "%s", path);
            return true;
        }
        if (e->sub) {
            char sub[VG_CFG_MAX_KEYPATH + 4];
            snprintf(sub, sizeof(sub), "%s%s", path, e->type == VG_CFG_SEQUENCE ? "[]." : ".");
            if (find_anywhere(e->sub, name, sub, out, outlen))
                return true;
        }
    }
    return false;
}

static enum vg_err unknown_key(struct loader *ld, const struct vg_config_key *table,
                               const struct vg_ynode *key, const char *path)
{
    const struct vg_config_key *best = NULL;
    size_t bestd = 3, klen = strlen(key->value);
    for (const struct vg_config_key *e = table; e->key; e++) {
        size_t d = vg_config_distance(key->value, e->key, 2);
        if (d < bestd && d < klen) {
            bestd = d;
            best = e;
        }
    }
    if (best)
        return fail(ld, key, path, "unknown key; did you mean '%s'?", best->key);
    char elsewhere[VG_CFG_MAX_KEYPATH];
    if (ld->root && find_anywhere(ld->root, key->value, "", elsewhere, sizeof(elsewhere)))
        return fail(ld, key, path, "unknown key here; did you mean '%s'?", elsewhere);
    if (!table->key)
        return fail(ld, key, path, "unknown key; this mapping takes no keys");
    char known[256] = "";
    for (const struct vg_config_key *e = table; e->key; e++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                 e == table ? "" : ", ", e->key);
    return fail(ld, key, path, "unknown key; expected one of %s", known);
}

/* n is a mapping, or a null scalar standing for an empty one. */
static enum vg_err load_mapping(struct loader *ld, const struct vg_config_key *table,
                                void *base, struct vg_ynode *n, const char *path)
{
    enum vg_err err;
    char sub[VG_CFG_MAX_KEYPATH];
    for (size_t i = 0; n->type == VG_YAML_MAP && i < n->n; i++) {
        struct vg_ynode *key = n->keys[i];
        join_key(sub, path, key->value);
        if ((err = check_nul(ld, key, sub)))
            return err;
        const struct vg_config_key *e = find_key(table, key->value);
        if (!e)
            return unknown_key(ld, table, key, sub);
        if ((err = load_value(ld, e, base, n->items[i], sub)))
            return err;
    }
    for (const struct vg_config_key *e = table; e->key; e++) {
        if (vg_yaml_get(n, e->key))
            continue;
        join_key(sub, path, e->key);
        if (e->required)
            return fail(ld, n, path, "the key '%s' is required", e->key);
        if ((err = apply_default(ld, e, base, sub)))
            return err;
    }
    return VG_OK;
}

static enum vg_err check_count(struct loader *ld, const struct vg_config_key *e,
                               const struct vg_ynode *n, const char *path)
{
    int64_t max = e->bounded ? e->max : VG_CFG_MAX_ITEMS;
    if (max > VG_CFG_MAX_ITEMS)
        max = VG_CFG_MAX_ITEMS;
    if ((int64_t)n->n > max)
        return fail(ld, n, path, "has %zu items; the maximum is %" PRId64, n->n, max);
    if (e->bounded && (int64_t)n->n < e->min)
        return fail(ld, n, path, "has %zu items; at least %" PRId64 " %s needed", n->n,
                    e->min, e->min == 1 ? "is" : "are");
    return VG_OK;
}

/* ---- scalars ----------------------------------------------------------- */

static bool full_match(const char *pattern, const char *s, bool *bad_pattern)
{
    regex_t re;
    *bad_pattern = false;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) {
        *bad_pattern = true;
        return false;
    }
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static enum vg_err load_string(struct loader *ld, const struct vg_config_key *e, void *base,
                               struct vg_ynode *n, const char *path)
{
    char q[80];
    size_t max = e->max_len ? e->max_len : VG_CFG_MAX_VALUE;
    if (n->len > max)
        return fail(ld, n, path, "is %zu bytes long; the maximum is %zu", n->len, max);
    if (e->pattern) {
        bool bad;
        if (!full_match(e->pattern, n->value, &bad)) {
            if (bad)
                return fail(ld, n, path, "the schema's pattern %s does not compile", e->pattern);
            if (e->pattern_doc)
                return fail(ld, n, path, "%s must be %s", quote(n->value, q, sizeof(q)),
                            e->pattern_doc);
            return fail(ld, n, path, "%s does not match %s", quote(n->value, q, sizeof(q)),
                        e->pattern);
        }
    }
    char *v = strdup(n->value);
    if (!v)
        return nomem(ld, n);
    *FIELD(base, e->offset, char *) = v;
    return VG_OK;
}

static enum vg_err load_enum(struct loader *ld, const struct vg_config_key *e, void *base,
                             struct vg_ynode *n, const char *path)
{
    for (size_t i = 0; e->words && e->words[i]; i++) {
        if (strcmp(n->value, e->words[i]) == 0) {
            char *v = strdup(n->value);
            if (!v)
                return nomem(ld, n);
            *FIELD(base, e->offset, char *) = v;
            return VG_OK;
        }
    }
    char words[256], q[80];
    return fail(ld, n, path, "%s is not one of %s", quote(n->value, q, sizeof(q)),
                join_words(e, words, sizeof(words)));
}

static enum vg_err load_bool(struct loader *ld, const struct vg_config_key *e, void *base,
                             struct vg_ynode *n, const char *path)
{
    char q[80];
    if (vg_config_parse_bool(n->value, FIELD(base, e->offset, bool)))
        return fail(ld, n, path, "%s is not a boolean (true or false)",
                    quote(n->value, q, sizeof(q)));
    return VG_OK;
}

static void format_number(const struct vg_config_key *e, int64_t v, char *out, size_t len)
{
    if (e->type == VG_CFG_DURATION)
        vg_config_format_duration(v, out, len);
    else if (e->type == VG_CFG_SIZE)
        vg_config_format_size(v, out, len);
    else
        snprintf(out, len, "%" PRId64, v);
}

/* INT, DURATION and SIZE. */
static enum vg_err load_number(struct loader *ld, const struct vg_config_key *e, void *base,
                               struct vg_ynode *n, const char *path)
{
    char q[80], b[48];
    int64_t v;
    int rc = e->type == VG_CFG_DURATION ? vg_config_parse_duration(n->value, &v)
           : e->type == VG_CFG_SIZE     ? vg_config_parse_size(n->value, &v)
                                        : vg_config_parse_int(n->value, &v);
    if (rc) {
        quote(n->value, q, sizeof(q));
        if (e->type == VG_CFG_DURATION)
            return fail(ld, n, path,
                        "%s is not a duration (seconds, or a number with d, h, m or s: "
                        "30s, 15m, 1h30m, 7d)", q);
        if (e->type == VG_CFG_SIZE)
            return fail(ld, n, path,
                        "%s is not a size (bytes, or a number with KiB, MiB, GiB, TiB, "
                        "kB, MB, GB or TB: 512MiB, 1GiB)", q);
        return fail(ld, n, path, "%s is not an integer", q);
    }
    if (e->bounded && v < e->min) {
        format_number(e, e->min, b, sizeof(b));
        return fail(ld, n, path, "%s is less than the minimum, %s",
                    quote(n->value, q, sizeof(q)), b);
    }
    if (e->bounded && v > e->max) {
        format_number(e, e->max, b, sizeof(b));
        return fail(ld, n, path, "%s is more than the maximum, %s",
                    quote(n->value, q, sizeof(q)), b);
    }
    *FIELD(base, e->offset, int64_t) = v;
    return VG_OK;
}

static void clear_string(const struct vg_config_key *e, void *base)
{
    char **p = FIELD(base, e->offset, char *);
    free(*p);
    *p = NULL;
}

static void clear_bool(const struct vg_config_key *e, void *base)
{
    *FIELD(base, e->offset, bool) = false;
}

static void clear_number(const struct vg_config_key *e, void *base)
{
    *FIELD(base, e->offset, int64_t) = 0;
}

/* ---- lists, maps, free-form objects ------------------------------------ */

static enum vg_err load_list(struct loader *ld, const struct vg_config_key *e, void *base,
                             struct vg_ynode *n, const char *path)
{
    enum vg_err err = check_count(ld, e, n, path);
    if (err)
        return err;
    char **items = calloc(n->n ? n->n : 1, sizeof(*items));
    if (!items)
        return nomem(ld, n);
    size_t *count = FIELD(base, e->count_offset, size_t);
    *FIELD(base, e->offset, char **) = items;
    *count = 0;
    for (size_t i = 0; i < n->n; i++) {
        char sub[VG_CFG_MAX_KEYPATH], g[80];
        struct vg_ynode *it = n->items[i];
        join_index(sub, path, i);
        if ((err = expand_node(ld, it, sub)))
            return err;
        if (it->type != VG_YAML_SCALAR)
            return fail(ld, it, sub, "expected a string, got %s", got(it, g, sizeof(g)));
        if (is_null(it))
            return fail(ld, it, sub, "is empty");
        if (it->len > VG_CFG_MAX_VALUE)
            return fail(ld, it, sub, "is longer than %u bytes", VG_CFG_MAX_VALUE);
        if (!(items[i] = strdup(it->value)))
            return nomem(ld, it);
        *count = i + 1;
    }
    return VG_OK;
}

static void clear_list(const struct vg_config_key *e, void *base)
{
    char ***items = FIELD(base, e->offset, char **);
    size_t *count = FIELD(base, e->count_offset, size_t);
    for (size_t i = 0; *items && i < *count; i++)
        free((*items)[i]);
    free(*items);
    *items = NULL;
    *count = 0;
}

static enum vg_err load_strmap(struct loader *ld, const struct vg_config_key *e, void *base,
                               struct vg_ynode *n, const char *path)
{
    enum vg_err err = check_count(ld, e, n, path);
    if (err)
        return err;
    struct vg_config_map *m = FIELD(base, e->offset, struct vg_config_map);
    m->keys = calloc(n->n ? n->n : 1, sizeof(char *));
    m->values = calloc(n->n ? n->n : 1, sizeof(char *));
    if (!m->keys || !m->values)
        return nomem(ld, n);
    for (size_t i = 0; i < n->n; i++) {
        char sub[VG_CFG_MAX_KEYPATH], g[80];
        struct vg_ynode *it = n->items[i];
        join_key(sub, path, n->keys[i]->value);
        if ((err = check_nul(ld, n->keys[i], sub)) || (err = expand_node(ld, it, sub)))
            return err;
        if (it->type != VG_YAML_SCALAR)
            return fail(ld, it, sub, "expected a string, got %s", got(it, g, sizeof(g)));
        if (it->len > VG_CFG_MAX_VALUE)
            return fail(ld, it, sub, "is longer than %u bytes", VG_CFG_MAX_VALUE);
        m->keys[i] = strdup(n->keys[i]->value);
        m->values[i] = strdup(it->value);
        m->n = i + 1;
        if (!m->keys[i] || !m->values[i])
            return nomem(ld, it);
    }
    return VG_OK;
}

static void clear_strmap(const struct vg_config_key *e, void *base)
{
    struct vg_config_map *m = FIELD(base, e->offset, struct vg_config_map);
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->values[i]);
    }
    free(m->keys);
    free(m->values);
    m->keys = m->values = NULL;
    m->n = 0;
}

static enum vg_err load_object(struct loader *ld, const struct vg_config_key *e, void *base,
                               struct vg_ynode *n, const char *path)
{
    enum vg_err err = expand_tree(ld, n, path);
    if (err)
        return err;
    struct vg_json *v = vg_yaml_to_json(n);
    if (!v)
        return nomem(ld, n);
    *FIELD(base, e->offset, struct vg_json *) = v;
    return VG_OK;
}

static void clear_object(const struct vg_config_key *e, void *base)
{
    struct vg_json **p = FIELD(base, e->offset, struct vg_json *);
    vg_json_free(*p);
    *p = NULL;
}

/* ---- sections and sequences -------------------------------------------- */

static enum vg_err load_section(struct loader *ld, const struct vg_config_key *e, void *base,
                                struct vg_ynode *n, const char *path)
{
    if (e->presence)
        *FIELD(base, e->offset, bool) = true;
    return load_mapping(ld, e->sub, base, n, path);
}

static void clear_section(const struct vg_config_key *e, void *base)
{
    vg_config_free_table(e->sub, base);
    if (e->presence)
        *FIELD(base, e->offset, bool) = false;
}

static enum vg_err load_sequence(struct loader *ld, const struct vg_config_key *e, void *base,
                                 struct vg_ynode *n, const char *path)
{
    enum vg_err err = check_count(ld, e, n, path);
    if (err)
        return err;
    void *elems = calloc(n->n ? n->n : 1, e->elem_size);
    if (!elems)
        return nomem(ld, n);
    /* the count covers zeroed elements too, so a failure frees them all */
    *FIELD(base, e->offset, void *) = elems;
    *FIELD(base, e->count_offset, size_t) = n->n;
    for (size_t i = 0; i < n->n; i++) {
        char sub[VG_CFG_MAX_KEYPATH], g[80];
        struct vg_ynode *it = n->items[i];
        join_index(sub, path, i);
        if ((err = expand_node(ld, it, sub)))
            return err;
        if (it->type != VG_YAML_MAP)
            return fail(ld, it, sub, "expected a mapping, got %s", got(it, g, sizeof(g)));
        if ((err = load_mapping(ld, e->sub, (char *)elems + i * e->elem_size, it, sub)))
            return err;
        if (e->record_line)
            *FIELD((char *)elems + i * e->elem_size, e->line_offset, int) = it->line;
    }
    return VG_OK;
}

static void clear_sequence(const struct vg_config_key *e, void *base)
{
    void **elems = FIELD(base, e->offset, void *);
    size_t *count = FIELD(base, e->count_offset, size_t);
    for (size_t i = 0; *elems && i < *count; i++)
        vg_config_free_table(e->sub, (char *)*elems + i * e->elem_size);
    free(*elems);
    *elems = NULL;
    *count = 0;
}

/* ---- the public walk ---------------------------------------------------- */

enum vg_err vg_config_load_table(const struct vg_config_key *table, void *base,
                                 struct vg_ynode *root, char *errbuf, size_t errlen)
{
    char dummy[8];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    struct loader ld = { .errbuf = errbuf, .errlen = errlen, .expand = true, .root = table };
    if (root->type != VG_YAML_MAP && !is_null(root)) {
        char g[80];
        return fail(&ld, root, "", "the configuration must be a mapping, got %s",
                    got(root, g, sizeof(g)));
    }
    return load_mapping(&ld, table, base, root, "");
}

void vg_config_free_table(const struct vg_config_key *table, void *base)
{
    for (const struct vg_config_key *e = table; e->key; e++)
        types[e->type].clear(e, base);
}

/* ==== printing ========================================================== */

static enum vg_err pad(struct vg_buf *out, int n)
{
    enum vg_err err = VG_OK;
    for (int i = 0; i < n && !err; i++)
        err = vg_buf_appendc(out, ' ');
    return err;
}

static bool word_is(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcasecmp(s, *words) == 0)
            return true;
    return false;
}

/* A string as YAML that loads back to itself: plain when that is safe,
 * double-quoted otherwise. Values (not keys) double every $ so that ${...}
 * expansion gives the text back. */
static enum vg_err put_str(struct vg_buf *out, const char *s, bool value)
{
    static const char *const special[] = { "null", "~", "true", "false", "yes", "no",
                                           "on", "off", "y", "n", NULL };
    bool plain = *s && (isalnum((unsigned char)*s) || *s == '_' || *s == '/') &&
                 !word_is(s, special) && s[strlen(s) - 1] != ':';
    bool numeric = true;
    for (const char *p = s; plain && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!isalnum(c) && !strchr("_./@:+-", c))
            plain = false;
        if (!isdigit(c) && !strchr(".eE+-_", c))
            numeric = false;
    }
    if (plain && !numeric)
        return vg_buf_appends(out, s);
    enum vg_err err = vg_buf_appendc(out, '"');
    for (const char *p = s; !err && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            err = vg_buf_printf(out, "\\%c", c);
        else if (c == '\n')
            err = vg_buf_appends(out, "\\n");
        else if (c == '\t')
            err = vg_buf_appends(out, "\\t");
        else if (c < 0x20 || c == 0x7f)
            err = vg_buf_printf(out, "\\x%02x", c);
        else if (c == '$' && value)
            err = vg_buf_appends(out, "$$");
        else
            err = vg_buf_appendc(out, (char)c);
    }
    return err ? err : vg_buf_appendc(out, '"');
}

/* A JSON value in YAML flow style. */
static enum vg_err put_json(struct vg_buf *out, const struct vg_json *v)
{
    enum vg_err err = VG_OK;
    switch (vg_json_type(v)) {
    case VG_JSON_NULL:
        return vg_buf_appends(out, "~");
    case VG_JSON_BOOL:
        return vg_buf_appends(out, vg_json_get_bool(v) ? "true" : "false");
    case VG_JSON_INT:
        return vg_buf_printf(out, "%" PRId64, vg_json_get_int(v));
    case VG_JSON_DOUBLE: {
        double d = vg_json_get_num(v);
        char b[40];
        if (isnan(d))
            return vg_buf_appends(out, "~");
        if (isinf(d))
            return vg_buf_appends(out, d > 0 ? "1e999" : "-1e999");
        snprintf(b, sizeof(b), "%.15g", d);
        if (strtod(b, NULL) != d)
            snprintf(b, sizeof(b), "%.17g", d);
        if (!strpbrk(b, ".eE"))
            strcat(b, ".0");
        return vg_buf_appends(out, b);
    }
    case VG_JSON_STRING:
        return put_str(out, vg_json_get_str(v), true);
    case VG_JSON_ARRAY:
        err = vg_buf_appendc(out, '[');
        for (size_t i = 0; !err && i < vg_json_len(v); i++) {
            if (i)
                err = vg_buf_appends(out, ", ");
            if (!err)
                err = put_json(out, vg_json_at(v, i));
        }
        return err ? err : vg_buf_appendc(out, ']');
    case VG_JSON_OBJECT:
        err = vg_buf_appendc(out, '{');
        for (size_t i = 0; !err && i < vg_json_len(v); i++) {
            if (i)
                err = vg_buf_appends(out, ", ");
            if (!err)
                err = put_str(out, vg_json_key_at(v, i), false);
            if (!err)
                err = vg_buf_appends(out, ": ");
            if (!err)
                err = put_json(out, vg_json_at(v, i));
        }
        return err ? err : vg_buf_appendc(out, '}');
    }
    return VG_ERR_INVALID;
}

static enum vg_err print_string(const struct vg_config_key *e, const void *base, int indent,
                                struct vg_buf *out)
{
    (void)indent;
    const char *v = *CFIELD(base, e->offset, char *);
    if (!v)
        return e->def_doc ? vg_buf_printf(out, " ~  # %s\n", e->def_doc)
                          : vg_buf_appends(out, " ~\n");
    enum vg_err err = vg_buf_appendc(out, ' ');
    if (!err)
        err = put_str(out, e->secret ? MASK : v, true);
    return err ? err : vg_buf_appendc(out, '\n');
}

static enum vg_err print_bool(const struct vg_config_key *e, const void *base, int indent,
                              struct vg_buf *out)
{
    (void)indent;
    return vg_buf_printf(out, " %s\n", *CFIELD(base, e->offset, bool) ? "true" : "false");
}

static enum vg_err print_number(const struct vg_config_key *e, const void *base, int indent,
                                struct vg_buf *out)
{
    (void)indent;
    char b[48];
    format_number(e, *CFIELD(base, e->offset, int64_t), b, sizeof(b));
    return vg_buf_printf(out, " %s\n", e->secret ? "\"" MASK "\"" : b);
}

static enum vg_err print_list(const struct vg_config_key *e, const void *base, int indent,
                              struct vg_buf *out)
{
    char *const *items = *CFIELD(base, e->offset, char **);
    size_t count = *CFIELD(base, e->count_offset, size_t);
    if (!count)
        return vg_buf_appends(out, " []\n");
    enum vg_err err = vg_buf_appendc(out, '\n');
    for (size_t i = 0; !err && i < count; i++) {
        if (!(err = pad(out, indent + 2)) && !(err = vg_buf_appends(out, "- ")) &&
            !(err = put_str(out, e->secret ? MASK : items[i], true)))
            err = vg_buf_appendc(out, '\n');
    }
    return err;
}

static enum vg_err print_strmap(const struct vg_config_key *e, const void *base, int indent,
                                struct vg_buf *out)
{
    const struct vg_config_map *m = CFIELD(base, e->offset, struct vg_config_map);
    if (!m->n)
        return vg_buf_appends(out, " {}\n");
    enum vg_err err = vg_buf_appendc(out, '\n');
    for (size_t i = 0; !err && i < m->n; i++) {
        if (!(err = pad(out, indent + 2)) && !(err = put_str(out, m->keys[i], false)) &&
            !(err = vg_buf_appends(out, ": ")) &&
            !(err = put_str(out, e->secret ? MASK : m->values[i], true)))
            err = vg_buf_appendc(out, '\n');
    }
    return err;
}

static enum vg_err print_object(const struct vg_config_key *e, const void *base, int indent,
                                struct vg_buf *out)
{
    (void)indent;
    const struct vg_json *v = *CFIELD(base, e->offset, struct vg_json *);
    enum vg_err err = vg_buf_appendc(out, ' ');
    if (!err)
        err = !v ? vg_buf_appends(out, "{}")
            : e->secret ? vg_buf_appends(out, "\"" MASK "\"") : put_json(out, v);
    return err ? err : vg_buf_appendc(out, '\n');
}

static bool is_set(const struct vg_config_key *e, const void *base);

/* Whether a section is written at all: a presence section when present, a
 * section with required keys when they are set, any other always. */
static bool section_shown(const struct vg_config_key *e, const void *base)
{
    if (e->presence)
        return *CFIELD(base, e->offset, bool);
    for (const struct vg_config_key *s = e->sub; s->key; s++)
        if (s->required && !is_set(s, base))
            return false;
    return true;
}

static bool is_set(const struct vg_config_key *e, const void *base)
{
    switch (e->type) {
    case VG_CFG_STRING:
    case VG_CFG_ENUM:
        return *CFIELD(base, e->offset, char *) != NULL;
    case VG_CFG_LIST:
    case VG_CFG_SEQUENCE:
        return *CFIELD(base, e->count_offset, size_t) != 0;
    case VG_CFG_STRMAP:
        return CFIELD(base, e->offset, struct vg_config_map)->n != 0;
    case VG_CFG_OBJECT:
        return *CFIELD(base, e->offset, struct vg_json *) != NULL;
    case VG_CFG_SECTION:
        return section_shown(e, base);
    default:
        return true;
    }
}

/* Writes the keys of table; the first line written starts with lead (a
 * sequence's "- ") instead of indent spaces. Returns the lines' count in
 * *written. */
static enum vg_err print_keys(const struct vg_config_key *table, const void *base, int indent,
                              const char *lead, size_t *written, struct vg_buf *out)
{
    enum vg_err err = VG_OK;
    *written = 0;
    for (const struct vg_config_key *e = table; !err && e->key; e++) {
        if (e->type == VG_CFG_SECTION && !section_shown(e, base))
            continue;
        if (lead && *written == 0)
            err = vg_buf_appends(out, lead);
        else
            err = pad(out, indent);
        if (!err)
            err = vg_buf_printf(out, "%s:", e->key);
        if (!err)
            err = types[e->type].print(e, base, indent, out);
        ++*written;
    }
    return err;
}

static enum vg_err print_section(const struct vg_config_key *e, const void *base, int indent,
                                 struct vg_buf *out)
{
    size_t mark = out->len, written;
    enum vg_err err = vg_buf_appendc(out, '\n');
    if (!err)
        err = print_keys(e->sub, base, indent + 2, NULL, &written, out);
    if (!err && !written) {
        out->len = mark;
        out->data[mark] = '\0';
        err = vg_buf_appends(out, " {}\n");
    }
    return err;
}

static enum vg_err print_sequence(const struct vg_config_key *e, const void *base, int indent,
                                  struct vg_buf *out)
{
    const char *elems = *CFIELD(base, e->offset, void *);
    size_t count = *CFIELD(base, e->count_offset, size_t);
    if (!count)
        return vg_buf_appends(out, " []\n");
    char lead[64];
    int w = indent + 2 < 56 ? indent + 2 : 56;
    snprintf(lead, sizeof(lead), "%*s- ", w, "");
    enum vg_err err = vg_buf_appendc(out, '\n');
    for (size_t i = 0; !err && i < count; i++) {
        size_t written;
        err = print_keys(e->sub, elems + i * e->elem_size, indent + 4, lead, &written, out);
        if (!err && !written)
            err = vg_buf_printf(out, "%s{}\n", lead);
    }
    return err;
}

enum vg_err vg_config_print_table(const struct vg_config_key *table, const void *base,
                                  int indent, struct vg_buf *out)
{
    size_t written;
    return print_keys(table, base, indent, NULL, &written, out);
}

/* ==== the type table ==================================================== */

static const struct type_ops types[VG_CFG_SEQUENCE + 1] = {
    [VG_CFG_STRING] = { "string", "a string", VG_YAML_SCALAR,
                        load_string, clear_string, print_string },
    [VG_CFG_BOOL] = { "boolean", "a boolean", VG_YAML_SCALAR,
                      load_bool, clear_bool, print_bool },
    [VG_CFG_INT] = { "integer", "an integer", VG_YAML_SCALAR,
                     load_number, clear_number, print_number },
    [VG_CFG_DURATION] = { "duration", "a duration", VG_YAML_SCALAR,
                          load_number, clear_number, print_number },
    [VG_CFG_SIZE] = { "size", "a size", VG_YAML_SCALAR,
                      load_number, clear_number, print_number },
    [VG_CFG_ENUM] = { "enum", "one of the words", VG_YAML_SCALAR,
                      load_enum, clear_string, print_string },
    [VG_CFG_LIST] = { "list of strings", "a list of strings", VG_YAML_SEQ,
                      load_list, clear_list, print_list },
    [VG_CFG_STRMAP] = { "map of strings", "a mapping of strings", VG_YAML_MAP,
                        load_strmap, clear_strmap, print_strmap },
    [VG_CFG_OBJECT] = { "mapping (free-form)", "a mapping", VG_YAML_MAP,
                        load_object, clear_object, print_object },
    [VG_CFG_SECTION] = { "mapping", "a mapping", VG_YAML_MAP,
                         load_section, clear_section, print_section },
    [VG_CFG_SEQUENCE] = { "list of mappings", "a list of mappings", VG_YAML_SEQ,
                          load_sequence, clear_sequence, print_sequence },
};

/* ==== the reference ===================================================== */

/* Appends s with the characters that would break a Markdown table cell
 * escaped. */
static enum vg_err md_cell(struct vg_buf *out, const char *s)
{
    enum vg_err err = VG_OK;
    for (; !err && *s; s++)
        err = *s == '|' ? vg_buf_appends(out, "\\|")
            : *s == '\n' ? vg_buf_appendc(out, ' ') : vg_buf_appendc(out, *s);
    return err;
}

static void bounds_text(const struct vg_config_key *e, char *out, size_t len)
{
    char a[48], b[48];
    out[0] = '\0';
    switch (e->type) {
    case VG_CFG_INT:
    case VG_CFG_DURATION:
    case VG_CFG_SIZE:
        if (e->bounded) {
            format_number(e, e->min, a, sizeof(a));
            format_number(e, e->max, b, sizeof(b));
            snprintf(out, len, "`%s` to `%s`", a, b);
        }
        break;
    case VG_CFG_ENUM:
        for (size_t i = 0; e->words && e->words[i]; i++)
            snprintf(out + strlen(out), len - strlen(out), "%s`%s`", i ? ", " : "one of ",
                     e->words[i]);
        break;
    case VG_CFG_STRING:
        if (e->pattern && e->pattern_doc)
            snprintf(out, len, "%s (`%s`)", e->pattern_doc, e->pattern);
        else if (e->pattern)
            snprintf(out, len, "matches `%s`", e->pattern);
        if (e->max_len)
            snprintf(out + strlen(out), len - strlen(out), "%sat most %zu bytes",
                     *out ? "; " : "", e->max_len);
        break;
    case VG_CFG_LIST:
    case VG_CFG_SEQUENCE:
    case VG_CFG_STRMAP:
        if (e->bounded)
            snprintf(out, len, "%" PRId64 " to %" PRId64 " items", e->min, e->max);
        break;
    default:
        break;
    }
}

enum vg_err vg_config_reference_table(const struct vg_config_key *table, const char *prefix,
                                      bool header, struct vg_buf *out)
{
    enum vg_err err = VG_OK;
    if (header)
        err = vg_buf_appends(out, "| Key | Type | Default | Bounds | Description |\n"
                                  "|---|---|---|---|---|\n");
    for (const struct vg_config_key *e = table; !err && e->key; e++) {
        char path[VG_CFG_MAX_KEYPATH], bounds[256];
        snprintf(path, sizeof(path), "%s%s", prefix, e->key);
        bounds_text(e, bounds, sizeof(bounds));
        err = vg_buf_printf(out, "| `%s` | %s%s | ", path, types[e->type].name,
                            e->secret ? ", secret" : "");
        if (!err) {
            if (e->required)
                err = vg_buf_appends(out, "required");
            else if (e->def)
                err = vg_buf_printf(out, "`%s`", e->def);
            else if (e->def_doc)
                err = md_cell(out, e->def_doc);
        }
        if (!err)
            err = vg_buf_appends(out, " | ");
        if (!err)
            err = md_cell(out, bounds);
        if (!err)
            err = vg_buf_appends(out, " | ");
        if (!err)
            err = md_cell(out, e->help ? e->help : "");
        if (!err)
            err = vg_buf_appends(out, " |\n");
        if (!err && (e->type == VG_CFG_SECTION || e->type == VG_CFG_SEQUENCE)) {
            char sub[VG_CFG_MAX_KEYPATH + 4];
            snprintf(sub, sizeof(sub), "%s%s", path, e->type == VG_CFG_SEQUENCE ? "[]." : ".");
            err = vg_config_reference_table(e->sub, sub, false, out);
        }
    }
    return err;
}

/* ==== secrets =========================================================== */

bool vg_config_has_secret(const struct vg_config_key *table, const void *base)
{
    for (const struct vg_config_key *e = table; e->key; e++) {
        if (e->type == VG_CFG_SECTION && vg_config_has_secret(e->sub, base))
            return true;
        if (e->type == VG_CFG_SEQUENCE) {
            const char *elems = *CFIELD(base, e->offset, void *);
            size_t count = *CFIELD(base, e->count_offset, size_t);
            for (size_t i = 0; i < count; i++)
                if (vg_config_has_secret(e->sub, elems + i * e->elem_size))
                    return true;
        }
        if (!e->secret)
            continue;
        if (e->type == VG_CFG_STRING || e->type == VG_CFG_ENUM) {
            const char *v = *CFIELD(base, e->offset, char *);
            if (v && *v)
                return true;
        } else if (e->type != VG_CFG_SECTION && e->type != VG_CFG_SEQUENCE && is_set(e, base)) {
            return true;
        }
    }
    return false;
}

bool vg_config_warn_secrets(const struct vg_config_key *table, const void *base,
                            const char *file, mode_t mode)
{
    if (!(mode & S_IROTH) || !vg_config_has_secret(table, base))
        return false;
    vg_log(VG_LOG_WARN, "config", "%s holds secrets and is readable by others; chmod o-r %s",
           file, file);
    return true;
}

/* ==== vg_config ========================================================= */

/* Rules the tables cannot say. */
static void finish(struct vg_config *c)
{
    if (c->agent.name && !*c->agent.name) {
        free(c->agent.name);
        c->agent.name = NULL;
    }
    if (!c->outputs.stdout_enabled && !c->outputs.file_path && !c->outputs.es.enabled &&
        !c->outputs.kafka.enabled)
        c->outputs.stdout_enabled = true;
}

/* One line, whatever the parts put in it. */
static void one_line(char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < errlen && errbuf[i]; i++)
        if (errbuf[i] == '\n' || errbuf[i] == '\r')
            errbuf[i] = ' ';
}

static struct vg_config *from_tree(const char *file, struct vg_ynode *root, char *errbuf,
                                   size_t errlen)
{
    struct vg_config *c = calloc(1, sizeof(*c));
    if (!c || (file && !(c->file = strdup(file)))) {
        free(c);
        snprintf(errbuf, errlen, "%s: out of memory", file ? file : "(defaults)");
        return NULL;
    }
    enum vg_err err = vg_config_load_table(vg_config_schema, c, root, errbuf, errlen);
    if (err) {
        one_line(errbuf, errlen);
        vg_config_destroy(c);
        return NULL;
    }
    finish(c);
    return c;
}

struct vg_config *vg_config_load_string(const char *name, const char *text, size_t len,
                                        char *errbuf, size_t errlen)
{
    char dummy[8];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    if (!name)
        name = "(string)";
    if (len > VG_MAX_CONFIG_FILE) {
        snprintf(errbuf, errlen, "%s: the configuration is larger than %u bytes", name,
                 VG_MAX_CONFIG_FILE);
        return NULL;
    }
    struct vg_ynode *root = vg_yaml_load_string(name, text ? text : "", text ? len : 0,
                                                errbuf, errlen);
    if (!root) {
        one_line(errbuf, errlen);
        return NULL;
    }
    struct vg_config *c = from_tree(name, root, errbuf, errlen);
    vg_yaml_free(root);
    return c;
}

static bool strict_perms(void)
{
    static const char *const off[] = { "false", "0", "no", "off", NULL };
    const char *v = getenv("VIGIL_STRICT_PERMS");
    return !(v && word_is(v, off));
}

/* Opens path, checks what it is and who may change it, and reads it into
 * b. Returns 0, or -1 with "PATH: message" in errbuf. */
static int read_config_file(const char *path, struct vg_buf *b, mode_t *mode, char *errbuf,
                            size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        snprintf(errbuf, errlen, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    *mode = st.st_mode;
    if (S_ISDIR(st.st_mode)) {
        snprintf(errbuf, errlen, "%s: is a directory, not a configuration file", path);
        goto out;
    }
    if (strict_perms()) {
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
            snprintf(errbuf, errlen,
                     "%s: refusing to load: the file is writable by group or others "
                     "(mode %04o); chmod go-w %s",
                     path, (unsigned)(st.st_mode & 07777), path);
            goto out;
        }
        uid_t me = geteuid();
        if (st.st_uid != 0 && st.st_uid != me) {
            snprintf(errbuf, errlen,
                     "%s: refusing to load: the file is owned by uid %u, not by root or "
                     "the current user (uid %u); chown it",
                     path, (unsigned)st.st_uid, (unsigned)me);
            goto out;
        }
    }
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > VG_MAX_CONFIG_FILE) {
        snprintf(errbuf, errlen, "%s: the file is larger than %u bytes", path,
                 VG_MAX_CONFIG_FILE);
        goto out;
    }
    for (;;) {
        char chunk[8192];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(errbuf, errlen, "%s: cannot read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        enum vg_err err = vg_buf_append(b, chunk, (size_t)n);
        if (err) {
            if (err == VG_ERR_LIMIT)
                snprintf(errbuf, errlen, "%s: the file is larger than %u bytes", path,
                         VG_MAX_CONFIG_FILE);
            else
                snprintf(errbuf, errlen, "%s: out of memory", path);
            goto out;
        }
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

struct vg_config *vg_config_load(const char *path, char *errbuf, size_t errlen)
{
    char dummy[8];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    if (!path) {
        struct vg_ynode *root = vg_yaml_load_string("(defaults)", "", 0, errbuf, errlen);
        if (!root)
            return NULL;
        struct vg_config *c = from_tree(NULL, root, errbuf, errlen);
        vg_yaml_free(root);
        return c;
    }
    struct vg_buf b;
    vg_buf_init(&b, VG_MAX_CONFIG_FILE);
    mode_t mode = 0;
    if (read_config_file(path, &b, &mode, errbuf, errlen)) {
        vg_buf_free(&b);
        one_line(errbuf, errlen);
        return NULL;
    }
    struct vg_config *c = vg_config_load_string(path, vg_buf_str(&b), b.len, errbuf, errlen);
    vg_buf_free(&b);
    if (c)
        vg_config_warn_secrets(vg_config_schema, c, path, mode);
    return c;
}

void vg_config_destroy(struct vg_config *c)
{
    if (!c)
        return;
    vg_config_free_table(vg_config_schema, c);
    free(c->file);
    free(c);
}

enum vg_err vg_config_print(const struct vg_config *c, struct vg_buf *out)
{
    char file[128];
    if (c->file)
        snippet(c->file, strlen(c->file), file, sizeof(file));
    enum vg_err err = vg_buf_printf(out, "# effective configuration%s%s\n",
                                    c->file ? " of " : " (built-in defaults)",
                                    c->file ? file : "");
    return err ? err : vg_config_print_table(vg_config_schema, c, 0, out);
}

enum vg_err vg_config_reference(struct vg_buf *out)
{
    return vg_config_reference_table(vg_config_schema, "", true, out);
}
