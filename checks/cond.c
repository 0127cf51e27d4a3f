/*
 * Conditions: compile (at load) and evaluate (per resource). The language
 * is described in checks/rules/README.md; the decisions this file makes
 * where the README is silent are marked "Choice:".
 *
 * Three values. Every node yields passed, failed or unknown, combined with
 * Kleene's logic. A path whose top-level field is in the resource's
 * `errors` is unknown before anything is read; inside `where` the
 * top-level field is the one of the outermost quantified path.
 *
 * Evidence. Every path gets, at compile time, a slot named by its absolute
 * text (inside `where`, the quantified path, "[*]", and the relative path:
 * "users[*].uid"). A slot whose name holds "[*]" collects an array of the
 * values read; any other slot holds the one value read, or null. The
 * dumped size of the evidence is counted as it grows and never passes
 * VG_MAX_EVIDENCE: past it nothing more is added and "_truncated" is set.
 *
 * Totality. Compilation bounds nesting (the YAML depth) and path length
 * (VG_MAX_PATH_SEGMENTS); evaluation recurses only along those, follows a
 * path only down the document, and treats any value of an unexpected type
 * as reaching nothing.
 */
#include "cond.h"

#include "../agent/limits.h"

#include <errno.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- operators ------------------------------------------------------ */

enum op {
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_IN,
    OP_NOT_IN,
    OP_MATCHES,
    OP_PRESENT,
    OP_ABSENT,
    OP_ALL,
    OP_ANY,
    OP_NOT,
    OP_ALL_OF,
    OP_ANY_OF,
    OP__COUNT
};

static const char *const op_names[OP__COUNT] = {
    [OP_EQ] = "eq",           [OP_NE] = "ne",         [OP_LT] = "lt",
    [OP_LE] = "le",           [OP_GT] = "gt",         [OP_GE] = "ge",
    [OP_IN] = "in",           [OP_NOT_IN] = "not_in", [OP_MATCHES] = "matches",
    [OP_PRESENT] = "present", [OP_ABSENT] = "absent", [OP_ALL] = "all",
    [OP_ANY] = "any",         [OP_NOT] = "not",       [OP_ALL_OF] = "all_of",
    [OP_ANY_OF] = "any_of",
};

#define OPS_KNOWN                                                                      \
    "eq, ne, lt, le, gt, ge, in, not_in, matches, present, absent, all, any, not, "    \
    "all_of, any_of"

/* How a comparison reads in a description ("P == V") and in a reason's
 * "expected ..." part. */
static const char *const op_infix[OP__COUNT] = {
    [OP_EQ] = " == ", [OP_NE] = " != ", [OP_LT] = " < ",       [OP_LE] = " <= ",
    [OP_GT] = " > ",  [OP_GE] = " >= ", [OP_IN] = " in ",      [OP_NOT_IN] = " not in ",
    [OP_MATCHES] = " matches ",
};
static const char *const op_expect[OP__COUNT] = {
    [OP_EQ] = "",     [OP_NE] = "!= ",  [OP_LT] = "< ",         [OP_LE] = "<= ",
    [OP_GT] = "> ",   [OP_GE] = ">= ",  [OP_IN] = "one of ",    [OP_NOT_IN] = "none of ",
    [OP_MATCHES] = "a match for ",
};

static bool op_is_comparison(enum op op)
{
    return op <= OP_MATCHES;
}

static bool op_is_quantifier(enum op op)
{
    return op == OP_ALL_OF || op == OP_ANY_OF;
}

/* ---- compiled form -------------------------------------------------- */

enum step_kind {
    STEP_KEY,     /* object member */
    STEP_INDEX,   /* [N] */
    STEP_ALL,     /* [*] */
    STEP_SELF,    /* @: the element itself, first step inside where */
};

struct step {
    enum step_kind kind;
    char *key;      /* STEP_KEY */
    size_t index;   /* STEP_INDEX */
};

struct path {
    char *text;           /* as written in the rule */
    struct step *steps;
    size_t nsteps;
    bool wild;            /* has a [*] */
};

#define NO_SLOT ((size_t)-1)

struct node {
    enum op op;
    struct path path;           /* comparisons, present/absent, quantifiers */
    const char *top;            /* top-level field read; borrowed from a path */
    size_t slot;                /* evidence slot of path, or NO_SLOT */
    bool multi;                 /* the slot collects an array */
    struct vg_json *operand;    /* eq, ne, in, not_in, lt..ge */
    char *opnd_text;            /* operand as shown in reasons */
    regex_t re;                 /* matches */
    bool has_re;
    struct node **kids;         /* all, any (n); not, all_of, any_of (1) */
    size_t nkids;
};

struct vg_cond {
    struct node *root;
    char **keys;                /* slot names: absolute path texts */
    size_t *keysize;            /* dumped size of each name as a JSON string */
    size_t nkeys, capkeys;
    struct vg_strindex keyix;
};

/* ---- string index ---------------------------------------------------- */

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void vg_strindex_init(struct vg_strindex *ix)
{
    memset(ix, 0, sizeof(*ix));
}

void vg_strindex_free(struct vg_strindex *ix)
{
    free(ix->keys);
    free(ix->vals);
    vg_strindex_init(ix);
}

long vg_strindex_get(const struct vg_strindex *ix, const char *key)
{
    if (!ix->cap)
        return -1;
    size_t mask = ix->cap - 1;
    for (size_t i = (size_t)str_hash(key) & mask;; i = (i + 1) & mask) {
        if (!ix->keys[i])
            return -1;
        if (strcmp(ix->keys[i], key) == 0)
            return (long)ix->vals[i];
    }
}

static void strindex_insert(const char **keys, size_t *vals, size_t cap, const char *key,
                            size_t val)
{
    size_t mask = cap - 1;
    size_t i = (size_t)str_hash(key) & mask;
    while (keys[i] && strcmp(keys[i], key) != 0)
        i = (i + 1) & mask;
    keys[i] = key;
    vals[i] = val;
}

static enum vg_err strindex_grow(struct vg_strindex *ix, size_t want)
{
    if (want * 2 <= ix->cap)
        return VG_OK;
    size_t ncap = ix->cap ? ix->cap : 16;
    while (want * 2 > ncap) {
        if (ncap > ((size_t)-1) / 4 / sizeof(size_t))
            return VG_ERR_NOMEM;
        ncap *= 2;
    }
    const char **keys = calloc(ncap, sizeof(*keys));
    size_t *vals = calloc(ncap, sizeof(*vals));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->keys[i])
            strindex_insert(keys, vals, ncap, ix->keys[i], ix->vals[i]);
    free(ix->keys);
    free(ix->vals);
    ix->keys = keys;
    ix->vals = vals;
    ix->cap = ncap;
    return VG_OK;
}

enum vg_err vg_strindex_reserve(struct vg_strindex *ix, size_t more)
{
    return strindex_grow(ix, ix->n + more);
}

enum vg_err vg_strindex_put(struct vg_strindex *ix, const char *key, size_t val)
{
    enum vg_err err = strindex_grow(ix, ix->n + 1);
    if (err)
        return err;
    if (vg_strindex_get(ix, key) < 0)
        ix->n++;
    strindex_insert(ix->keys, ix->vals, ix->cap, key, val);
    return VG_OK;
}

/* ---- reasons: a bounded one-line text -------------------------------- */

struct rbuf {
    char *p;
    size_t cap;     /* including the NUL */
    size_t len;
    bool full;      /* truncated: ends with "..." and takes nothing more */
};

static void rb_init(struct rbuf *rb, char *p, size_t cap)
{
    rb->p = p;
    rb->cap = cap;
    rb->len = 0;
    rb->full = false;
    p[0] = '\0';
}

static void rb_reset(struct rbuf *rb)
{
    rb->len = 0;
    rb->full = false;
    rb->p[0] = '\0';
}

/* Ends the text with "..." within the bound, on a UTF-8 boundary. */
static void rb_truncate(struct rbuf *rb)
{
    if (rb->cap < 4) {
        rb->full = true;
        return;
    }
    size_t n = rb->len;
    if (n > rb->cap - 4)
        n = rb->cap - 4;
    while (n > 0 && ((unsigned char)rb->p[n] & 0xC0) == 0x80)
        n--;
    memcpy(rb->p + n, "...", 4);
    rb->len = n + 3;
    rb->full = true;
}

/* Appends n bytes; control characters become spaces so the reason stays
 * one line. */
static void rb_putn(struct rbuf *rb, const char *s, size_t n)
{
    if (rb->full)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (rb->len + 1 >= rb->cap) {
            rb_truncate(rb);
            return;
        }
        rb->p[rb->len++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    rb->p[rb->len] = '\0';
}

static void rb_puts(struct rbuf *rb, const char *s)
{
    rb_putn(rb, s, strlen(s));
}

static void rb_putz(struct rbuf *rb, size_t z)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%zu", z);
    rb_puts(rb, tmp);
}

/* Bounds on a value quoted in a reason. */
#define REASON_VALUE_MAX 160
#define REASON_STRING_MAX 120

/* Appends v as compact JSON, shortened with "..." when long. */
static void rb_value(struct rbuf *rb, const struct vg_json *v)
{
    if (!v) {
        rb_puts(rb, "null");
        return;
    }
    struct vg_buf b;
    vg_buf_init(&b, REASON_VALUE_MAX);
    bool cut = false;
    enum vg_err err;
    if (vg_json_type(v) == VG_JSON_STRING && vg_json_str_len(v) > REASON_STRING_MAX) {
        const char *s = vg_json_get_str(v);
        size_t n = REASON_STRING_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        struct vg_json *prefix = vg_json_strn(s, n);
        err = prefix ? vg_json_dump(prefix, &b) : VG_ERR_NOMEM;
        vg_json_free(prefix);
        cut = true;
    } else {
        err = vg_json_dump(v, &b);
        if (err == VG_ERR_LIMIT)
            cut = true;
    }
    if (err && err != VG_ERR_LIMIT)
        rb_puts(rb, "(value)");
    else
        rb_putn(rb, vg_buf_str(&b), b.len);
    if (cut)
        rb_puts(rb, "...");
    vg_buf_free(&b);
}

/* ---- YAML helpers ----------------------------------------------------- */

/* A plain scalar that YAML's core schema reads as null. */
static bool plain_null(const struct vg_ynode *n)
{
    if (n->type != VG_YAML_SCALAR || n->quoted)
        return false;
    const char *s = n->value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* "a mapping", "a sequence", or the JSON type of a scalar ("a string"). */
static const char *node_kind(const struct vg_ynode *n, const struct vg_json *j)
{
    if (n->type == VG_YAML_MAP)
        return "a mapping";
    if (n->type == VG_YAML_SEQ)
        return "a sequence";
    if (!j)
        return "a scalar";
    switch (vg_json_type(j)) {
    case VG_JSON_NULL: return "null";
    case VG_JSON_BOOL: return "a boolean";
    case VG_JSON_INT:
    case VG_JSON_DOUBLE: return "a number";
    case VG_JSON_STRING: return "a string";
    default: return "a scalar";
    }
}

/* ---- compile ---------------------------------------------------------- */

struct cctx {
    struct vg_cond *c;
    char *errbuf;
    size_t errlen;
};

static void path_clear(struct path *p)
{
    for (size_t i = 0; i < p->nsteps; i++)
        free(p->steps[i].key);
    free(p->steps);
    free(p->text);
    memset(p, 0, sizeof(*p));
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    path_clear(&n->path);
    vg_json_free(n->operand);
    free(n->opnd_text);
    if (n->has_re)
        regfree(&n->re);
    free(n);
}

void vg_cond_free(struct vg_cond *c)
{
    if (!c)
        return;
    node_free(c->root);
    for (size_t i = 0; i < c->nkeys; i++)
        free(c->keys[i]);
    free(c->keys);
    free(c->keysize);
    vg_strindex_free(&c->keyix);
    free(c);
}

static enum vg_err push_step(struct path *p, enum step_kind kind, const char *key, size_t klen,
                             size_t index)
{
    struct step *s = realloc(p->steps, (p->nsteps + 1) * sizeof(*s));
    if (!s)
        return VG_ERR_NOMEM;
    p->steps = s;
    s = &p->steps[p->nsteps];
    s->kind = kind;
    s->index = index;
    s->key = NULL;
    if (kind == STEP_KEY) {
        s->key = strndup(key, klen);
        if (!s->key)
            return VG_ERR_NOMEM;
    }
    p->nsteps++;
    if (kind == STEP_ALL)
        p->wild = true;
    return VG_OK;
}

/* Largest index a path may name; larger ones are surely typos. */
#define MAX_INDEX 1000000000u

/* Parses the path at scalar node yn into p. `@` as the first segment is
 * the element itself and is allowed only inside where (in_where).
 * Choice: outside where a leading `@` is an error rather than a key named
 * "@", which no document has and which is surely a misplaced condition. */
static enum vg_err compile_path(struct cctx *cc, const struct vg_ynode *yn, bool in_where,
                                struct path *p)
{
    memset(p, 0, sizeof(*p));
    if (yn->type != VG_YAML_SCALAR) {
        vg_yaml_error(cc->errbuf, cc->errlen, yn, "a path must be a scalar, not %s",
                      node_kind(yn, NULL));
        return VG_ERR_RULE;
    }
    if (plain_null(yn)) {
        vg_yaml_error(cc->errbuf, cc->errlen, yn, "malformed path: empty");
        return VG_ERR_RULE;
    }
    const char *s = yn->value;
    size_t n = yn->len;
    if (memchr(s, '\0', n)) {
        vg_yaml_error(cc->errbuf, cc->errlen, yn, "malformed path: it holds a NUL character");
        return VG_ERR_RULE;
    }
    const char *why = NULL;
    char toolong[48];
    enum vg_err err = VG_OK;
    size_t i = 0;
    bool first = true;
    for (;;) {
        size_t start = i;
        while (i < n && s[i] != '.' && s[i] != '[' && s[i] != ']')
            i++;
        if (i == start) {
            why = i < n && s[i] == ']' ? "bad bracket (']' without '[')"
                  : i < n && s[i] == '[' ? "empty segment before '['"
                                         : "empty segment";
            break;
        }
        if (first && i - start == 1 && s[start] == '@') {
            if (!in_where) {
                why = "'@' is the element of all_of or any_of and is only used inside where";
                break;
            }
            err = push_step(p, STEP_SELF, NULL, 0, 0);
        } else {
            err = push_step(p, STEP_KEY, s + start, i - start, 0);
        }
        if (err)
            goto fail;
        while (i < n && s[i] == '[') {
            i++;
            if (i >= n) {
                why = "unterminated bracket";
                break;
            }
            if (s[i] == '*') {
                i++;
                if (i >= n) {
                    why = "unterminated bracket";
                    break;
                }
                if (s[i] != ']') {
                    why = "bad bracket (expected ']' after '*')";
                    break;
                }
                err = push_step(p, STEP_ALL, NULL, 0, 0);
            } else {
                size_t j = i, v = 0;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    if (v <= MAX_INDEX)
                        v = v * 10 + (size_t)(s[i] - '0');
                    i++;
                }
                if (i == j) {
                    why = i < n ? "bad bracket (expected a number or '*')"
                                : "unterminated bracket";
                    break;
                }
                if (i >= n) {
                    why = "unterminated bracket";
                    break;
                }
                if (s[i] != ']') {
                    why = "bad bracket (expected ']' after the index)";
                    break;
                }
                if (v > MAX_INDEX) {
                    why = "bad bracket (index too large)";
                    break;
                }
                err = push_step(p, STEP_INDEX, NULL, 0, v);
            }
            if (err)
                goto fail;
            i++;   /* past ']' */
        }
        if (why)
            break;
        if (p->nsteps > VG_MAX_PATH_SEGMENTS) {
            snprintf(toolong, sizeof(toolong), "more than %d segments",
                     VG_MAX_PATH_SEGMENTS);
            why = toolong;
            break;
        }
        if (i == n)
            break;
        if (s[i] != '.') {
            why = s[i] == ']' ? "bad bracket (']' without '[')"
                              : "bad bracket (expected '.' or '[' after ']')";
            break;
        }
        i++;
        if (i == n) {
            why = "empty segment at the end";
            break;
        }
        first = false;
    }
    if (why) {
        vg_yaml_error(cc->errbuf, cc->errlen, yn, "malformed path '%s': %s", s, why);
        path_clear(p);
        return VG_ERR_RULE;
    }
    p->text = strndup(s, n);
    if (!p->text) {
        err = VG_ERR_NOMEM;
        goto fail;
    }
    return VG_OK;
fail:
    path_clear(p);
    return err;
}

/* The absolute evidence name of path p read under prefix ("users[*]"),
 * or p's own text at the top. Caller frees. */
static char *abs_name(const char *prefix, const struct path *p)
{
    if (!prefix)
        return strdup(p->text);
    const char *rest = p->steps[0].kind == STEP_SELF ? p->text + 1 : p->text;
    bool dot = p->steps[0].kind != STEP_SELF;
    size_t n = strlen(prefix) + strlen(rest) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", prefix, dot ? "." : "", rest);
    return s;
}

/* Finds or adds the slot called name (taking ownership of name). */
static enum vg_err intern_slot(struct vg_cond *c, char *name, size_t *slot)
{
    if (!name)
        return VG_ERR_NOMEM;
    long at = vg_strindex_get(&c->keyix, name);
    if (at >= 0) {
        free(name);
        *slot = (size_t)at;
        return VG_OK;
    }
    if (c->nkeys == c->capkeys) {
        size_t ncap = c->capkeys ? c->capkeys * 2 : 8;
        char **k = realloc(c->keys, ncap * sizeof(*k));
        if (!k) {
            free(name);
            return VG_ERR_NOMEM;
        }
        c->keys = k;
        size_t *z = realloc(c->keysize, ncap * sizeof(*z));
        if (!z) {
            free(name);
            return VG_ERR_NOMEM;
        }
        c->keysize = z;
        c->capkeys = ncap;
    }
    /* the dumped size of the name as a JSON string, for the evidence bound */
    struct vg_buf b;
    vg_buf_init(&b, (size_t)-1 / 2);
    struct vg_json *js = vg_json_str(name);
    enum vg_err err = js ? vg_json_dump(js, &b) : VG_ERR_NOMEM;
    vg_json_free(js);
    size_t size = b.len;
    vg_buf_free(&b);
    if (err) {
        free(name);
        return err;
    }
    err = vg_strindex_put(&c->keyix, name, c->nkeys);
    if (err) {
        free(name);
        return err;
    }
    c->keys[c->nkeys] = name;
    c->keysize[c->nkeys] = size;
    *slot = c->nkeys++;
    return VG_OK;
}

/* Renders an operand for reasons: JSON, and lists as ["a", "b"]. */
static char *operand_text(const struct vg_json *v, bool list)
{
    char tmp[VG_MAX_REASON];
    struct rbuf rb;
    rb_init(&rb, tmp, sizeof(tmp));
    if (list) {
        rb_puts(&rb, "[");
        for (size_t i = 0; i < vg_json_len(v); i++) {
            if (i)
                rb_puts(&rb, ", ");
            rb_value(&rb, vg_json_at(v, i));
        }
        rb_puts(&rb, "]");
    } else {
        rb_value(&rb, v);
    }
    return strdup(tmp);
}

static enum vg_err compile_node(struct cctx *cc, const struct vg_ynode *yn, const char *prefix,
                                const char *top, int depth, struct node **out);

/* ---- regex cost -------------------------------------------------------- */

/* Bound on the estimated expanded size of a regex (see regex_cost()). */
#define MAX_REGEX_COST 100000u

struct rgroup {
    unsigned long long sum;    /* cost of the group so far, all branches */
    unsigned long long last;   /* cost of the last atom, for a quantifier */
};

static unsigned long long sat_mul(unsigned long long a, unsigned long long b)
{
    if (a && b > (MAX_REGEX_COST + 1ull) / a)
        return MAX_REGEX_COST + 1ull;
    return a * b;
}

/* An estimate of how many nodes the C library builds for an extended
 * regex: glibc copies a sub-expression once per repetition of an interval,
 * so "((a{255}){255}){255}", 22 characters, takes seconds and gigabytes to
 * compile. Atoms count 1, groups the sum of their branches, {m,n} and "+"
 * multiply the atom before them. The syntax is left to regcomp(). */
static unsigned long long regex_cost(const char *s)
{
    struct rgroup st[VG_MAX_REGEX + 2];
    size_t depth = 0;
    st[0].sum = st[0].last = 0;
    for (size_t i = 0; s[i];) {
        struct rgroup *g = &st[depth];
        unsigned long long mult = 1;
        char c = s[i];
        if (c == '(') {
            st[++depth].sum = 0;
            st[depth].last = 0;
            i++;
            continue;
        }
        if (c == ')' && depth > 0) {
            unsigned long long cost = st[depth].sum ? st[depth].sum : 1;
            depth--;
            st[depth].sum += cost;
            st[depth].last = cost;
            i++;
        } else if (c == '|') {
            g->last = 0;
            i++;
            continue;
        } else if (c == '*' || c == '?') {
            i++;
            continue;
        } else if (c == '+') {
            mult = 2;
            i++;
        } else if (c == '{') {
            unsigned long long m = 0, n = 0;
            bool comma = false, have_n = false;
            size_t j = i + 1;
            for (; s[j] && s[j] != '}'; j++) {
                if (s[j] == ',') {
                    comma = true;
                } else if (s[j] >= '0' && s[j] <= '9') {
                    unsigned long long *d = comma ? &n : &m;
                    if (comma)
                        have_n = true;
                    if (*d < 1000000)
                        *d = *d * 10 + (unsigned)(s[j] - '0');
                } else {
                    break;
                }
            }
            if (s[j] != '}') {   /* not an interval: a literal '{' */
                g->sum += 1;
                g->last = 1;
                i++;
                continue;
            }
            mult = comma ? (have_n ? (n > m ? n : m) : m + 1) : m;
            if (mult == 0)
                mult = 1;
            i = j + 1;
        } else if (c == '[') {
            /* a bracket expression: one atom; skip to its ']' */
            size_t j = i + 1;
            if (s[j] == '^')
                j++;
            if (s[j] == ']')
                j++;
            while (s[j] && s[j] != ']') {
                if (s[j] == '[' && (s[j + 1] == ':' || s[j + 1] == '=' || s[j + 1] == '.')) {
                    char close = s[j + 1];
                    j += 2;
                    while (s[j] && !(s[j] == close && s[j + 1] == ']'))
                        j++;
                    if (s[j])
                        j += 2;
                    continue;
                }
                j++;
            }
            i = s[j] ? j + 1 : j;
            g->sum += 1;
            g->last = 1;
            continue;
        } else {
            i += (c == '\\' && s[i + 1]) ? 2 : 1;
            g->sum += 1;
            g->last = 1;
            continue;
        }
        if (mult > 1 && st[depth].last) {
            struct rgroup *t = &st[depth];
            unsigned long long grown = sat_mul(t->last, mult);
            t->sum = t->sum - t->last + grown;
            t->last = grown;
        }
        if (st[depth].sum > MAX_REGEX_COST)
            return st[depth].sum;
    }
    unsigned long long total = 0;
    for (size_t k = 0; k <= depth; k++)
        total += st[k].sum;
    return total;
}

/* The operand of a comparison: eq/ne any non-null value, lt..ge a number,
 * in/not_in a list without nulls, matches a regex. */
static enum vg_err compile_operand(struct cctx *cc, struct node *n, const struct vg_ynode *on)
{
    const char *name = op_names[n->op];
    if (n->op == OP_MATCHES) {
        if (on->type != VG_YAML_SCALAR || plain_null(on)) {
            vg_yaml_error(cc->errbuf, cc->errlen, on,
                          "'matches' needs a regular expression (a string), not %s",
                          on->type == VG_YAML_SCALAR ? "null" : node_kind(on, NULL));
            return VG_ERR_RULE;
        }
        if (on->len > VG_MAX_REGEX) {
            vg_yaml_error(cc->errbuf, cc->errlen, on, "bad regex: longer than %u characters",
                          (unsigned)VG_MAX_REGEX);
            return VG_ERR_RULE;
        }
        if (memchr(on->value, '\0', on->len)) {
            vg_yaml_error(cc->errbuf, cc->errlen, on, "bad regex: it holds a NUL character");
            return VG_ERR_RULE;
        }
        if (regex_cost(on->value) > MAX_REGEX_COST) {
            vg_yaml_error(cc->errbuf, cc->errlen, on,
                          "bad regex '%s': too complex (its repetitions expand to more than "
                          "%u elements)",
                          on->value, MAX_REGEX_COST);
            return VG_ERR_RULE;
        }
        int rc = regcomp(&n->re, on->value, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char msg[256];
            regerror(rc, &n->re, msg, sizeof(msg));
            if (rc == REG_ESPACE)
                return VG_ERR_NOMEM;
            vg_yaml_error(cc->errbuf, cc->errlen, on, "bad regex '%s': %s", on->value, msg);
            return VG_ERR_RULE;
        }
        n->has_re = true;
        size_t len = on->len + 3;
        n->opnd_text = malloc(len);
        if (!n->opnd_text)
            return VG_ERR_NOMEM;
        snprintf(n->opnd_text, len, "/%s/", on->value);
        return VG_OK;
    }
    n->operand = vg_yaml_to_json(on);
    if (!n->operand)
        return VG_ERR_NOMEM;
    switch (n->op) {
    case OP_EQ:
    case OP_NE:
        if (vg_json_type(n->operand) == VG_JSON_NULL) {
            /* Choice: null reads as absent, so "eq: null" could never hold */
            vg_yaml_error(cc->errbuf, cc->errlen, on,
                          "'%s' needs a value, not null (use present: or absent:)", name);
            return VG_ERR_RULE;
        }
        break;
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        if (!vg_json_is_number(n->operand)) {
            vg_yaml_error(cc->errbuf, cc->errlen, on, "'%s' needs a number, not %s", name,
                          node_kind(on, n->operand));
            return VG_ERR_RULE;
        }
        break;
    case OP_IN:
    case OP_NOT_IN:
        if (on->type != VG_YAML_SEQ) {
            vg_yaml_error(cc->errbuf, cc->errlen, on, "'%s' needs a list, not %s", name,
                          node_kind(on, n->operand));
            return VG_ERR_RULE;
        }
        for (size_t i = 0; i < on->n; i++)
            if (vg_json_type(vg_json_at(n->operand, i)) == VG_JSON_NULL) {
                vg_yaml_error(cc->errbuf, cc->errlen, on->items[i],
                              "'%s' list items must not be null (use present: or absent:)",
                              name);
                return VG_ERR_RULE;
            }
        break;
    default:
        break;
    }
    n->opnd_text = operand_text(n->operand, n->op == OP_IN || n->op == OP_NOT_IN);
    return n->opnd_text ? VG_OK : VG_ERR_NOMEM;
}

static enum vg_err compile_node(struct cctx *cc, const struct vg_ynode *yn, const char *prefix,
                                const char *top, int depth, struct node **out)
{
    *out = NULL;
    if (depth > VG_MAX_YAML_DEPTH) {
        vg_yaml_error(cc->errbuf, cc->errlen, yn, "condition nested deeper than %d levels",
                      VG_MAX_YAML_DEPTH);
        return VG_ERR_RULE;
    }
    if (yn->type != VG_YAML_MAP) {
        vg_yaml_error(cc->errbuf, cc->errlen, yn, "a condition must be a mapping, not %s",
                      node_kind(yn, NULL));
        return VG_ERR_RULE;
    }
    const struct vg_ynode *pathkey = NULL, *pathval = NULL, *wherekey = NULL, *whereval = NULL;
    const struct vg_ynode *opkey = NULL, *opval = NULL;
    enum op op = OP__COUNT;
    for (size_t i = 0; i < yn->n; i++) {
        const struct vg_ynode *k = yn->keys[i];
        if (!strcmp(k->value, "path")) {
            pathkey = k;
            pathval = yn->items[i];
            continue;
        }
        if (!strcmp(k->value, "where")) {
            wherekey = k;
            whereval = yn->items[i];
            continue;
        }
        enum op o = OP__COUNT;
        for (int j = 0; j < OP__COUNT; j++)
            if (!strcmp(k->value, op_names[j]))
                o = (enum op)j;
        if (o == OP__COUNT) {
            vg_yaml_error(cc->errbuf, cc->errlen, k, "unknown operator '%s' (known: %s)",
                          k->value, OPS_KNOWN);
            return VG_ERR_RULE;
        }
        if (opkey) {
            vg_yaml_error(cc->errbuf, cc->errlen, k,
                          "a condition takes one operator, this one has '%s' and '%s'",
                          opkey->value, k->value);
            return VG_ERR_RULE;
        }
        opkey = k;
        opval = yn->items[i];
        op = o;
    }
    if (!opkey) {
        vg_yaml_error(cc->errbuf, cc->errlen, yn, "a condition needs an operator (known: %s)",
                      OPS_KNOWN);
        return VG_ERR_RULE;
    }
    const char *name = op_names[op];
    if (op_is_comparison(op) && !pathkey) {
        vg_yaml_error(cc->errbuf, cc->errlen, yn, "'%s' needs a path", name);
        return VG_ERR_RULE;
    }
    if (!op_is_comparison(op) && pathkey) {
        vg_yaml_error(cc->errbuf, cc->errlen, pathkey, "'path' is not used with '%s'", name);
        return VG_ERR_RULE;
    }
    if (!op_is_quantifier(op) && wherekey) {
        vg_yaml_error(cc->errbuf, cc->errlen, wherekey,
                      "'where' is only used with all_of and any_of");
        return VG_ERR_RULE;
    }
    if (op_is_quantifier(op) && !wherekey) {
        vg_yaml_error(cc->errbuf, cc->errlen, yn, "'%s' needs 'where'", name);
        return VG_ERR_RULE;
    }

    struct node *n = calloc(1, sizeof(*n));
    if (!n)
        return VG_ERR_NOMEM;
    n->op = op;
    n->slot = NO_SLOT;
    enum vg_err err = VG_OK;
    char *elem_prefix = NULL;

    if (op_is_comparison(op) || op == OP_PRESENT || op == OP_ABSENT || op_is_quantifier(op)) {
        err = compile_path(cc, op_is_comparison(op) ? pathval : opval, prefix != NULL, &n->path);
        if (err)
            goto out;
        n->top = prefix ? top : n->path.steps[0].key;
        char *abs = abs_name(prefix, &n->path);
        if (!abs) {
            err = VG_ERR_NOMEM;
            goto out;
        }
        n->multi = strstr(abs, "[*]") != NULL;
        if (op_is_quantifier(op)) {
            size_t len = strlen(abs) + 4;
            elem_prefix = malloc(len);
            if (!elem_prefix) {
                free(abs);
                err = VG_ERR_NOMEM;
                goto out;
            }
            snprintf(elem_prefix, len, "%s[*]", abs);
            /* the array itself is evidence only when it is not a non-empty
             * array (absent, empty, of another type) and not already under
             * a [*] */
            if (n->multi) {
                free(abs);
                abs = NULL;
            }
        }
        if (abs) {
            err = intern_slot(cc->c, abs, &n->slot);
            if (err)
                goto out;
        }
    }
    if (op_is_comparison(op)) {
        err = compile_operand(cc, n, opval);
    } else if (op == OP_ALL || op == OP_ANY) {
        if (opval->type != VG_YAML_SEQ || opval->n == 0) {
            vg_yaml_error(cc->errbuf, cc->errlen, opval,
                          "'%s' needs a non-empty list of conditions, not %s", name,
                          opval->type == VG_YAML_SEQ ? "an empty one" : node_kind(opval, NULL));
            err = VG_ERR_RULE;
            goto out;
        }
        n->kids = calloc(opval->n, sizeof(*n->kids));
        if (!n->kids) {
            err = VG_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < opval->n && !err; i++) {
            err = compile_node(cc, opval->items[i], prefix, top, depth + 1, &n->kids[i]);
            if (n->kids[i])
                n->nkids = i + 1;
        }
    } else if (op == OP_NOT || op_is_quantifier(op)) {
        const struct vg_ynode *inner = op == OP_NOT ? opval : whereval;
        if (inner->type != VG_YAML_MAP) {
            vg_yaml_error(cc->errbuf, cc->errlen, inner,
                          "'%s' needs a condition (a mapping), not %s",
                          op == OP_NOT ? "not" : "where", node_kind(inner, NULL));
            err = VG_ERR_RULE;
            goto out;
        }
        n->kids = calloc(1, sizeof(*n->kids));
        if (!n->kids) {
            err = VG_ERR_NOMEM;
            goto out;
        }
        if (op == OP_NOT)
            err = compile_node(cc, inner, prefix, top, depth + 1, &n->kids[0]);
        else
            err = compile_node(cc, inner, elem_prefix, n->top, depth + 1, &n->kids[0]);
        if (n->kids[0])
            n->nkids = 1;
    }
out:
    free(elem_prefix);
    if (err) {
        node_free(n);
        return err;
    }
    *out = n;
    return VG_OK;
}

enum vg_err vg_cond_compile(const struct vg_ynode *yn, struct vg_cond **out, char *errbuf,
                            size_t errlen)
{
    char dummy[8];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    *out = NULL;
    struct vg_cond *c = calloc(1, sizeof(*c));
    if (!c) {
        vg_yaml_error(errbuf, errlen, yn, "out of memory");
        return VG_ERR_NOMEM;
    }
    vg_strindex_init(&c->keyix);
    struct cctx cc = { .c = c, .errbuf = errbuf, .errlen = errlen };
    enum vg_err err = compile_node(&cc, yn, NULL, NULL, 1, &c->root);
    if (err) {
        if (err == VG_ERR_NOMEM)
            vg_yaml_error(errbuf, errlen, yn, "out of memory");
        vg_cond_free(c);
        return err;
    }
    *out = c;
    return VG_OK;
}

/* ---- describe ----------------------------------------------------------- */

static void describe(const struct node *n, struct rbuf *rb)
{
    if (rb->full)
        return;
    switch (n->op) {
    case OP_PRESENT:
    case OP_ABSENT:
        rb_puts(rb, n->path.text);
        rb_puts(rb, n->op == OP_PRESENT ? " is present" : " is absent");
        return;
    case OP_ALL:
    case OP_ANY:
        rb_puts(rb, "(");
        for (size_t i = 0; i < n->nkids && !rb->full; i++) {
            if (i)
                rb_puts(rb, n->op == OP_ALL ? " and " : " or ");
            describe(n->kids[i], rb);
        }
        rb_puts(rb, ")");
        return;
    case OP_NOT:
        rb_puts(rb, "not ");
        describe(n->kids[0], rb);
        return;
    case OP_ALL_OF:
    case OP_ANY_OF:
        rb_puts(rb, n->op == OP_ALL_OF ? "every element of " : "some element of ");
        rb_puts(rb, n->path.text);
        rb_puts(rb, ": ");
        describe(n->kids[0], rb);
        return;
    default:
        rb_puts(rb, n->path.text);
        rb_puts(rb, op_infix[n->op]);
        rb_puts(rb, n->opnd_text);
        return;
    }
}

void vg_cond_describe(const struct vg_cond *c, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    struct rbuf rb;
    rb_init(&rb, buf, len);
    if (c && c->root)
        describe(c->root, &rb);
}

/* ---- evaluation: context and evidence ----------------------------------- */

struct slotstate {
    struct vg_json *val;    /* owned until handed to the evidence object */
    unsigned long scope;    /* the element scope it was last recorded in */
    bool touched;
};

struct ectx {
    const struct vg_cond *c;
    const struct vg_resource *res;
    struct slotstate *slots;
    size_t *order;          /* slots in the order first recorded */
    size_t norder;
    size_t size;            /* dumped size of the evidence so far */
    bool truncated;
    enum vg_err err;
    unsigned long scope;    /* 0 at the top, one per element inside where */
    unsigned long next_scope;
    struct vg_buf scratch;  /* for measuring values */
};

/* ,"_truncated":true */
#define TRUNC_RESERVE 18

/* Room left for a value after `overhead` more bytes, or -1 for none. */
static long ev_room(const struct ectx *e, size_t overhead)
{
    size_t used = e->size + TRUNC_RESERVE + overhead;
    if (used > VG_MAX_EVIDENCE)
        return -1;
    return (long)(VG_MAX_EVIDENCE - used);
}

/* Dumped size of v if at most room bytes; false when larger. */
static bool ev_measure(struct ectx *e, const struct vg_json *v, long room, size_t *size)
{
    if (!v) {
        *size = 4;
        return room >= 4;
    }
    switch (vg_json_type(v)) {
    case VG_JSON_NULL: *size = 4; return room >= 4;
    case VG_JSON_BOOL: *size = vg_json_get_bool(v) ? 4 : 5; return room >= (long)*size;
    default: break;
    }
    vg_buf_reset(&e->scratch);
    e->scratch.max = (size_t)room;
    enum vg_err err = vg_json_dump(v, &e->scratch);
    if (err == VG_ERR_LIMIT)
        return false;
    if (err) {
        e->err = err;
        return false;
    }
    *size = e->scratch.len;
    return true;
}

static struct vg_json *clone_or_null(const struct vg_json *v)
{
    return v ? vg_json_clone(v) : vg_json_null();
}

static void ev_add_order(struct ectx *e, size_t slot)
{
    e->order[e->norder++] = slot;
    e->slots[slot].touched = true;
    e->slots[slot].scope = e->scope;
}

/* True when a single-value slot may still be recorded. */
static bool ev_can_set(const struct ectx *e, size_t slot)
{
    return slot != NO_SLOT && !e->truncated && !e->err && !e->slots[slot].touched;
}

/* Records v (NULL: absent) as the value of a single-value slot. */
static void ev_set(struct ectx *e, size_t slot, const struct vg_json *v)
{
    if (!ev_can_set(e, slot))
        return;
    size_t over = (e->norder ? 1 : 0) + e->c->keysize[slot] + 1, vsize;
    long room = ev_room(e, over);
    if (room < 0 || !ev_measure(e, v, room, &vsize)) {
        if (!e->err)
            e->truncated = true;
        return;
    }
    struct vg_json *copy = clone_or_null(v);
    if (!copy) {
        e->err = VG_ERR_NOMEM;
        return;
    }
    e->slots[slot].val = copy;
    ev_add_order(e, slot);
    e->size += over + vsize;
}

/* Opens an array slot for recording in the current scope; false when it
 * was already recorded in this scope, or evidence is full. */
static bool ev_open(struct ectx *e, size_t slot)
{
    if (slot == NO_SLOT || e->truncated || e->err)
        return false;
    struct slotstate *s = &e->slots[slot];
    if (s->touched) {
        if (s->scope == e->scope)
            return false;
        s->scope = e->scope;
        return true;
    }
    size_t need = (e->norder ? 1 : 0) + e->c->keysize[slot] + 3;
    if (ev_room(e, need) < 0) {
        e->truncated = true;
        return false;
    }
    s->val = vg_json_array();
    if (!s->val) {
        e->err = VG_ERR_NOMEM;
        return false;
    }
    ev_add_order(e, slot);
    e->size += need;
    return true;
}

/* Appends v (NULL: absent, as null) to an open array slot. */
static void ev_push(struct ectx *e, size_t slot, const struct vg_json *v)
{
    if (e->truncated || e->err)
        return;
    struct slotstate *s = &e->slots[slot];
    size_t over = vg_json_len(s->val) ? 1 : 0, vsize;
    long room = ev_room(e, over);
    if (room < 0 || !ev_measure(e, v, room, &vsize)) {
        if (!e->err)
            e->truncated = true;
        return;
    }
    if (vg_json_push(s->val, clone_or_null(v))) {
        e->err = VG_ERR_NOMEM;
        return;
    }
    e->size += over + vsize;
}

/* The provider's reason a top-level field could not be read, or NULL. */
static const char *field_error(const struct ectx *e, const char *field)
{
    if (!field || !e->res->errors)
        return NULL;
    const struct vg_json *v = vg_json_get(e->res->errors, field);
    if (!v)
        return NULL;
    const char *s = vg_json_get_str(v);
    return s ? s : "no reason given";
}

static const char *field_source(const struct ectx *e, const char *field)
{
    if (!field || !e->res->sources)
        return NULL;
    return vg_json_get_str(vg_json_get(e->res->sources, field));
}

static void unknown_reason(struct rbuf *why, const char *field, const char *reason)
{
    rb_puts(why, field);
    rb_puts(why, " could not be read: ");
    rb_puts(why, reason);
}

/* ---- evaluation: paths ------------------------------------------------- */

/* Called for each value a path reaches, with the indices taken at its [*]
 * steps; a non-zero return stops the walk. */
typedef int (visit_fn)(void *arg, const struct vg_json *v, const size_t *idx, size_t nidx);

/* Follows p from step si over v. Recursion only at [*], at most
 * VG_MAX_PATH_SEGMENTS deep. A step that does not fit the value (a key on
 * a non-object, an index on a non-array, past the end) reaches nothing. */
static int walk(const struct path *p, size_t si, const struct vg_json *v, size_t *idx,
                size_t nidx, visit_fn *fn, void *arg)
{
    for (; si < p->nsteps; si++) {
        const struct step *st = &p->steps[si];
        switch (st->kind) {
        case STEP_SELF:
            break;
        case STEP_KEY:
            v = vg_json_get(v, st->key);
            if (!v)
                return 0;
            break;
        case STEP_INDEX:
            if (vg_json_type(v) != VG_JSON_ARRAY)
                return 0;
            v = vg_json_at(v, st->index);
            if (!v)
                return 0;
            break;
        case STEP_ALL:
            if (!v || vg_json_type(v) != VG_JSON_ARRAY)
                return 0;
            for (size_t i = 0; i < vg_json_len(v); i++) {
                idx[nidx] = i;
                int rc = walk(p, si + 1, vg_json_at(v, i), idx, nidx + 1, fn, arg);
                if (rc)
                    return rc;
            }
            return 0;
        }
    }
    return v ? fn(arg, v, idx, nidx) : 0;
}

/* Writes p's text with each [*] replaced by the index taken there. */
static void put_concrete(struct rbuf *rb, const struct path *p, const size_t *idx)
{
    size_t w = 0;
    for (size_t i = 0; i < p->nsteps; i++) {
        const struct step *st = &p->steps[i];
        switch (st->kind) {
        case STEP_SELF: rb_puts(rb, "@"); break;
        case STEP_KEY:
            if (i)
                rb_puts(rb, ".");
            rb_puts(rb, st->key);
            break;
        case STEP_INDEX:
            rb_puts(rb, "[");
            rb_putz(rb, st->index);
            rb_puts(rb, "]");
            break;
        case STEP_ALL:
            rb_puts(rb, "[");
            rb_putz(rb, idx[w++]);
            rb_puts(rb, "]");
            break;
        }
    }
}

/* ---- evaluation: comparisons --------------------------------------------- */

static bool is_absent(const struct vg_json *v)
{
    return !v || vg_json_type(v) == VG_JSON_NULL;
}

struct num {
    bool is_int;
    int64_t i;
    double d;
};

/* A decimal number, with optional surrounding blanks: "4", "-1.5e3".
 * Choice: no hex, no inf/nan (strtod would take them). */
static bool parse_num(const char *s, size_t n, struct num *out)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n > 64)
        return false;
    size_t i = 0, digits = 0;
    bool is_int = true;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < n && s[i] == '.') {
        is_int = false;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        is_int = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, ed++;
        if (!ed)
            return false;
    }
    if (i != n)
        return false;
    char tmp[72];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (is_int) {
        errno = 0;
        long long ll = strtoll(tmp, NULL, 10);
        if (errno == 0) {
            out->is_int = true;
            out->i = ll;
            out->d = (double)ll;
            return true;
        }
    }
    out->is_int = false;
    out->d = strtod(tmp, NULL);
    return true;
}

static bool num_of(const struct vg_json *v, struct num *out)
{
    switch (vg_json_type(v)) {
    case VG_JSON_INT:
        out->is_int = true;
        out->i = vg_json_get_int(v);
        out->d = (double)out->i;
        return true;
    case VG_JSON_DOUBLE:
        out->is_int = false;
        out->d = vg_json_get_num(v);
        return true;
    case VG_JSON_STRING:
        return parse_num(vg_json_get_str(v), vg_json_str_len(v), out);
    default:
        return false;
    }
}

/* -1, 0, 1, or 2 when unordered (NaN). */
static int num_cmp(const struct num *a, const struct num *b)
{
    if (a->is_int && b->is_int)
        return a->i < b->i ? -1 : a->i > b->i;
    if (a->d < b->d)
        return -1;
    if (a->d > b->d)
        return 1;
    if (a->d == b->d)
        return 0;
    return 2;
}

static bool in_list(const struct vg_json *list, const struct vg_json *v)
{
    for (size_t i = 0; i < vg_json_len(list); i++)
        if (vg_json_equal(vg_json_at(list, i), v))
            return true;
    return false;
}

/* Whether value v (NULL or null: absent) satisfies comparison n. */
static bool test_value(const struct node *n, const struct vg_json *v)
{
    bool absent = is_absent(v);
    switch (n->op) {
    case OP_EQ: return !absent && vg_json_equal(v, n->operand);
    case OP_NE: return absent || !vg_json_equal(v, n->operand);
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE: {
        struct num a, b;
        if (absent || !num_of(v, &a) || !num_of(n->operand, &b))
            return false;
        int c = num_cmp(&a, &b);
        if (c == 2)
            return false;
        return n->op == OP_LT ? c < 0 : n->op == OP_LE ? c <= 0 : n->op == OP_GT ? c > 0 : c >= 0;
    }
    case OP_IN: return !absent && in_list(n->operand, v);
    case OP_NOT_IN: return absent || !in_list(n->operand, v);
    case OP_MATCHES:
        return vg_json_type(v) == VG_JSON_STRING &&
               regexec(&n->re, vg_json_get_str(v), 0, NULL, 0) == 0;
    case OP_PRESENT: return !absent;
    case OP_ABSENT: return absent;
    default: return false;
    }
}

/* "P is V (source); expected X", "P contains V ...", "P is absent ...". */
static void leaf_reason(const struct ectx *e, const struct node *n, struct rbuf *why,
                        const struct vg_json *bad, bool reached)
{
    rb_puts(why, n->path.text);
    if (!reached) {
        rb_puts(why, " is absent");
    } else {
        rb_puts(why, n->path.wild ? " contains " : " is ");
        rb_value(why, bad);
    }
    const char *src = field_source(e, n->top);
    if (src) {
        rb_puts(why, " (");
        rb_puts(why, src);
        rb_puts(why, ")");
    }
    rb_puts(why, "; expected ");
    if (n->op == OP_PRESENT) {
        rb_puts(why, "present");
    } else if (n->op == OP_ABSENT) {
        rb_puts(why, "absent");
    } else {
        rb_puts(why, op_expect[n->op]);
        rb_puts(why, n->opnd_text);
    }
}

struct leafwalk {
    struct ectx *e;
    const struct node *n;
    bool record;
    size_t nreached;
    const struct vg_json *bad;
    bool failed;
};

static int leaf_visit(void *arg, const struct vg_json *v, const size_t *idx, size_t nidx)
{
    struct leafwalk *lw = arg;
    (void)idx;
    (void)nidx;
    lw->nreached++;
    if (lw->record) {
        if (lw->n->multi)
            ev_push(lw->e, lw->n->slot, v);
        else
            ev_set(lw->e, lw->n->slot, v);
        if (lw->e->truncated || lw->e->err)
            lw->record = false;
    }
    if (!lw->failed && !test_value(lw->n, v)) {
        lw->failed = true;
        lw->bad = v;
    }
    return lw->failed && !lw->record;
}

static enum vg_eval eval_leaf(struct ectx *e, const struct node *n, const struct vg_json *root,
                              struct rbuf *why)
{
    const char *ferr = field_error(e, n->top);
    if (ferr) {
        if (why)
            unknown_reason(why, n->top, ferr);
        return VG_EVAL_UNKNOWN;
    }
    struct leafwalk lw = { .e = e, .n = n };
    lw.record = n->multi ? ev_open(e, n->slot) : ev_can_set(e, n->slot);
    size_t idx[VG_MAX_PATH_SEGMENTS + 1];
    walk(&n->path, 0, root, idx, 0, leaf_visit, &lw);
    if (lw.nreached == 0) {
        /* absent: a plain path inside where records null, to keep the
         * array in step with the elements */
        if (lw.record) {
            if (!n->multi)
                ev_set(e, n->slot, NULL);
            else if (!n->path.wild)
                ev_push(e, n->slot, NULL);
        }
        if (test_value(n, NULL))
            return VG_EVAL_PASSED;
        if (why)
            leaf_reason(e, n, why, NULL, false);
        return VG_EVAL_FAILED;
    }
    if (!lw.failed)
        return VG_EVAL_PASSED;
    if (why)
        leaf_reason(e, n, why, lw.bad, true);
    return VG_EVAL_FAILED;
}

/* ---- evaluation: combinators and quantifiers ------------------------------ */

static enum vg_eval eval_node(struct ectx *e, const struct node *n, const struct vg_json *root,
                              struct rbuf *why);

struct qwalk {
    struct ectx *e;
    const struct node *n;
    struct rbuf *why;           /* NULL: no reason wanted */
    enum vg_eval result;        /* decided: failed (all_of) or passed (any_of) */
    bool decided;
    bool unknown;
    char unk[VG_MAX_REASON];    /* the first unknown element's reason */
    size_t nreached;            /* values the quantified path reached */
    size_t nelems;
    const struct vg_json *first; /* the value reached, for a plain path */
};

/* " (name "toor")" for an element that carries a name or an id. */
static void put_label(struct rbuf *rb, const struct vg_json *el)
{
    static const char *const fields[] = { "name", "id" };
    for (size_t i = 0; i < 2; i++) {
        const struct vg_json *v = vg_json_get(el, fields[i]);
        enum vg_json_type t = vg_json_type(v);
        if (v && (t == VG_JSON_STRING || t == VG_JSON_INT || t == VG_JSON_DOUBLE)) {
            rb_puts(rb, " (");
            rb_puts(rb, fields[i]);
            rb_puts(rb, " ");
            rb_value(rb, v);
            rb_puts(rb, ")");
            return;
        }
    }
}

/* "users[3] (name "toor"): " + the element's own reason */
static void element_reason(struct rbuf *out, const struct path *p, const size_t *idx,
                           size_t i, const struct vg_json *el, const char *inner)
{
    put_concrete(out, p, idx);
    rb_puts(out, "[");
    rb_putz(out, i);
    rb_puts(out, "]");
    put_label(out, el);
    rb_puts(out, ": ");
    rb_puts(out, inner);
}

static int quant_visit(void *arg, const struct vg_json *v, const size_t *idx, size_t nidx)
{
    struct qwalk *q = arg;
    struct ectx *e = q->e;
    (void)nidx;
    q->nreached++;
    if (!q->first)
        q->first = v;
    if (vg_json_type(v) != VG_JSON_ARRAY)
        return 0;
    bool all = q->n->op == OP_ALL_OF;
    for (size_t i = 0; i < vg_json_len(v); i++) {
        const struct vg_json *el = vg_json_at(v, i);
        q->nelems++;
        char tmp[VG_MAX_REASON];
        struct rbuf rb;
        rb_init(&rb, tmp, sizeof(tmp));
        /* all_of names the first failing element; any_of's reason does not
         * depend on the elements', so it asks for none */
        bool want = q->why && all;
        unsigned long saved = e->scope;
        unsigned long scope = ++e->next_scope;
        e->scope = scope;
        enum vg_eval r = eval_node(e, q->n->kids[0], el, want ? &rb : NULL);
        if (r == VG_EVAL_UNKNOWN && q->why && !want && !q->unknown) {
            /* again, for its reason, in the same scope so evidence is not
             * recorded twice */
            r = eval_node(e, q->n->kids[0], el, &rb);
        }
        e->scope = saved;
        if (e->err)
            return 1;
        if (all && r == VG_EVAL_FAILED) {
            q->decided = true;
            q->result = VG_EVAL_FAILED;
            if (q->why)
                element_reason(q->why, &q->n->path, idx, i, el, tmp);
            return 1;
        }
        if (!all && r == VG_EVAL_PASSED) {
            q->decided = true;
            q->result = VG_EVAL_PASSED;
            return 1;
        }
        if (r == VG_EVAL_UNKNOWN && !q->unknown) {
            q->unknown = true;
            if (q->why) {
                struct rbuf ub;
                rb_init(&ub, q->unk, sizeof(q->unk));
                element_reason(&ub, &q->n->path, idx, i, el, tmp);
            }
        }
    }
    return 0;
}

static enum vg_eval eval_quant(struct ectx *e, const struct node *n, const struct vg_json *root,
                               struct rbuf *why)
{
    const char *ferr = field_error(e, n->top);
    if (ferr) {
        if (why)
            unknown_reason(why, n->top, ferr);
        return VG_EVAL_UNKNOWN;
    }
    struct qwalk *q = calloc(1, sizeof(*q));   /* keeps deep nesting off the stack */
    if (!q) {
        e->err = VG_ERR_NOMEM;
        return VG_EVAL_UNKNOWN;
    }
    q->e = e;
    q->n = n;
    q->why = why;
    size_t idx[VG_MAX_PATH_SEGMENTS + 1];
    walk(&n->path, 0, root, idx, 0, quant_visit, q);
    bool all = n->op == OP_ALL_OF;
    enum vg_eval r;
    const struct vg_json *first = q->first;
    bool absent = q->nreached == 0 || (!n->path.wild && is_absent(first));
    /* the array itself is evidence when it is not a non-empty array */
    if (!n->multi && (absent || vg_json_type(first) != VG_JSON_ARRAY || !vg_json_len(first)))
        ev_set(e, n->slot, absent ? NULL : first);
    if (!n->path.wild && !absent && vg_json_type(first) != VG_JSON_ARRAY) {
        r = VG_EVAL_FAILED;
        if (why) {
            rb_puts(why, n->path.text);
            rb_puts(why, " is ");
            rb_value(why, first);
            rb_puts(why, "; expected an array");
        }
    } else if (q->decided) {
        r = q->result;
    } else if (q->unknown) {
        r = VG_EVAL_UNKNOWN;
        if (why)
            rb_puts(why, q->unk);
    } else if (all) {
        r = VG_EVAL_PASSED;
    } else {
        r = VG_EVAL_FAILED;
        if (why) {
            if (absent) {
                rb_puts(why, n->path.text);
                rb_puts(why, " is absent; expected an element matching: ");
            } else {
                rb_puts(why, "no element of ");
                rb_puts(why, n->path.text);
                rb_puts(why, " matches: ");
            }
            describe(n->kids[0], why);
        }
    }
    free(q);
    return r;
}

static enum vg_eval eval_all(struct ectx *e, const struct node *n, const struct vg_json *root,
                             struct rbuf *why)
{
    /* the first unknown part's reason goes straight into why; a later
     * failure overwrites it */
    bool unknown = false;
    char tmp[VG_MAX_REASON];
    struct rbuf rb;
    rb_init(&rb, tmp, sizeof(tmp));
    for (size_t i = 0; i < n->nkids; i++) {
        struct rbuf *into = why && !unknown ? why : why ? &rb : NULL;
        if (into)
            rb_reset(into);
        enum vg_eval r = eval_node(e, n->kids[i], root, into);
        if (e->err)
            return VG_EVAL_UNKNOWN;
        if (r == VG_EVAL_FAILED) {
            if (why && into != why) {
                rb_reset(why);
                rb_puts(why, tmp);
            }
            return VG_EVAL_FAILED;
        }
        if (r == VG_EVAL_UNKNOWN)
            unknown = true;
    }
    return unknown ? VG_EVAL_UNKNOWN : VG_EVAL_PASSED;
}

static enum vg_eval eval_any(struct ectx *e, const struct node *n, const struct vg_json *root,
                             struct rbuf *why)
{
    /* failed parts' reasons are joined into why with "; or "; the first
     * unknown part's reason is kept aside and wins if nothing passes */
    bool unknown = false;
    size_t nfailed = 0;
    char tmp[VG_MAX_REASON], unk[VG_MAX_REASON];
    struct rbuf rb;
    rb_init(&rb, tmp, sizeof(tmp));
    unk[0] = '\0';
    for (size_t i = 0; i < n->nkids; i++) {
        enum vg_eval r = eval_node(e, n->kids[i], root, why ? &rb : NULL);
        if (e->err)
            return VG_EVAL_UNKNOWN;
        if (r == VG_EVAL_PASSED)
            return VG_EVAL_PASSED;
        if (r == VG_EVAL_UNKNOWN) {
            if (!unknown && why)
                memcpy(unk, tmp, rb.len + 1);
            unknown = true;
        } else if (why) {
            if (nfailed++)
                rb_puts(why, "; or ");
            rb_puts(why, tmp);
        }
    }
    if (unknown && why) {
        rb_reset(why);
        rb_puts(why, unk);
    }
    return unknown ? VG_EVAL_UNKNOWN : VG_EVAL_FAILED;
}

static enum vg_eval eval_node(struct ectx *e, const struct node *n, const struct vg_json *root,
                              struct rbuf *why)
{
    enum vg_eval r;
    if (why)
        rb_reset(why);
    switch (n->op) {
    case OP_ALL:
        r = eval_all(e, n, root, why);
        break;
    case OP_ANY:
        r = eval_any(e, n, root, why);
        break;
    case OP_NOT:
        r = eval_node(e, n->kids[0], root, why);
        if (r == VG_EVAL_PASSED) {
            r = VG_EVAL_FAILED;
            if (why) {
                rb_reset(why);
                rb_puts(why, "expected not: ");
                describe(n->kids[0], why);
            }
        } else if (r == VG_EVAL_FAILED) {
            r = VG_EVAL_PASSED;
        }
        break;
    case OP_ALL_OF:
    case OP_ANY_OF:
        r = eval_quant(e, n, root, why);
        break;
    default:
        r = eval_leaf(e, n, root, why);
        break;
    }
    if (r == VG_EVAL_PASSED && why)
        rb_reset(why);
    return r;
}

enum vg_err vg_cond_eval(const struct vg_cond *c, const struct vg_resource *res,
                         struct vg_eval_result *out)
{
    memset(out, 0, sizeof(*out));
    out->evaluation = VG_EVAL_UNKNOWN;
    out->evidence = vg_json_object();
    if (!out->evidence)
        return VG_ERR_NOMEM;
    struct rbuf why;
    rb_init(&why, out->reason, sizeof(out->reason));

    const struct vg_json *all = res->errors ? vg_json_get(res->errors, "*") : NULL;
    if (all) {
        const char *s = vg_json_get_str(all);
        unknown_reason(&why, "resource", s ? s : "no reason given");
        return VG_OK;
    }

    struct ectx e = { .c = c, .res = res, .size = 2 /* {} */ };
    vg_buf_init(&e.scratch, VG_MAX_EVIDENCE);
    e.slots = calloc(c->nkeys ? c->nkeys : 1, sizeof(*e.slots));
    e.order = calloc(c->nkeys ? c->nkeys : 1, sizeof(*e.order));
    if (!e.slots || !e.order) {
        e.err = VG_ERR_NOMEM;
    } else {
        out->evaluation = eval_node(&e, c->root, res->doc, &why);
        for (size_t i = 0; i < e.norder && !e.err; i++) {
            size_t s = e.order[i];
            if (vg_json_set(out->evidence, c->keys[s], e.slots[s].val))
                e.err = VG_ERR_NOMEM;
            e.slots[s].val = NULL;
        }
        if (!e.err && e.truncated && vg_json_set_bool(out->evidence, "_truncated", true))
            e.err = VG_ERR_NOMEM;
    }
    if (e.slots)
        for (size_t i = 0; i < c->nkeys; i++)
            vg_json_free(e.slots[i].val);
    free(e.slots);
    free(e.order);
    vg_buf_free(&e.scratch);
    if (e.err) {
        vg_json_free(out->evidence);
        memset(out, 0, sizeof(*out));
        return e.err;
    }
    if (out->evaluation == VG_EVAL_PASSED)
        out->reason[0] = '\0';
    return VG_OK;
}
