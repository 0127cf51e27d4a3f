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
 * Reasons. Evaluation fills two texts on request: why a node failed (or
 * could not be decided), and why it held. The second is what `not`,
 * `none` and `none_of` quote when what they forbid is there ("uid is 0"),
 * so that every failure names the value found. Quantifiers evaluate their
 * elements without texts and evaluate again, in replay (nothing recorded),
 * only the element that decides.
 *
 * Evidence. Every path gets, at compile time, a slot named by its absolute
 * text (inside `where`, the quantified path, "[*]", and the relative path:
 * "users[*].uid"). A slot whose name holds "[*]" collects an array of the
 * values read; any other slot holds the one value read, or null. The
 * dumped size of the evidence is counted as it grows and never passes
 * VG_MAX_EVIDENCE: past it nothing more is added and "_truncated" is set.
 *
 * Parameters. An operand written {param: NAME} compiles from the value of
 * the rule's parameter NAME; every such use is remembered so that a new
 * value (from the configuration) can be validated against each use and
 * swapped in at once.
 *
 * Totality. Compilation bounds nesting (the YAML depth) and path length
 * (VG_MAX_PATH_SEGMENTS); evaluation recurses only along those, follows a
 * path only down the document, and treats any value of an unexpected type
 * as reaching nothing.
 */
#define _GNU_SOURCE   /* memmem */

#include "cond.h"

#include "../agent/limits.h"
#include "../agent/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- operators ------------------------------------------------------ */

enum op {
    /* comparisons: {path: P, OP: operand} */
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_IN,
    OP_NOT_IN,
    OP_MATCHES,
    OP_EMPTY,
    OP_CONTAINS,
    OP_CIDR_CONTAINS,
    OP_CIDR_OVERLAPS,
    OP_AGE_GT,
    OP_AGE_LE,
    /* {OP: P} */
    OP_PRESENT,
    OP_ABSENT,
    /* combinators */
    OP_ALL,
    OP_ANY,
    OP_NONE,
    OP_NOT,
    /* quantifiers: {OP: P, where: C} */
    OP_ALL_OF,
    OP_ANY_OF,
    OP_NONE_OF,
    OP_COUNT,
    /* port ranges: {OP: {from: P, to: P, ports: [...]}} */
    OP_PORTS_OVERLAP,
    OP_PORTS_WITHIN,
    OP__COUNT
};

static const char *const op_names[OP__COUNT] = {
    [OP_EQ] = "eq",
    [OP_NE] = "ne",
    [OP_LT] = "lt",
    [OP_LE] = "le",
    [OP_GT] = "gt",
    [OP_GE] = "ge",
    [OP_IN] = "in",
    [OP_NOT_IN] = "not_in",
    [OP_MATCHES] = "matches",
    [OP_EMPTY] = "empty",
    [OP_CONTAINS] = "contains",
    [OP_CIDR_CONTAINS] = "cidr_contains",
    [OP_CIDR_OVERLAPS] = "cidr_overlaps",
    [OP_AGE_GT] = "age_days_gt",
    [OP_AGE_LE] = "age_days_le",
    [OP_PRESENT] = "present",
    [OP_ABSENT] = "absent",
    [OP_ALL] = "all",
    [OP_ANY] = "any",
    [OP_NONE] = "none",
    [OP_NOT] = "not",
    [OP_ALL_OF] = "all_of",
    [OP_ANY_OF] = "any_of",
    [OP_NONE_OF] = "none_of",
    [OP_COUNT] = "count",
    [OP_PORTS_OVERLAP] = "ports_overlap",
    [OP_PORTS_WITHIN] = "ports_within",
};

#define OPS_KNOWN                                                                      \
    "eq, ne, lt, le, gt, ge, in, not_in, matches, empty, contains, cidr_contains, "    \
    "cidr_overlaps, age_days_gt, age_days_le, present, absent, all, any, none, not, "  \
    "all_of, any_of, none_of, count, ports_overlap, ports_within"

/* How a comparison reads in a description ("P == V") and in a reason's
 * "expected ..." part (with a tail after the operand). */
static const char *const op_infix[OP__COUNT] = {
    [OP_EQ] = " == ",
    [OP_NE] = " != ",
    [OP_LT] = " < ",
    [OP_LE] = " <= ",
    [OP_GT] = " > ",
    [OP_GE] = " >= ",
    [OP_IN] = " in ",
    [OP_NOT_IN] = " not in ",
    [OP_MATCHES] = " matches ",
    [OP_CONTAINS] = " contains ",
    [OP_CIDR_CONTAINS] = " within ",
    [OP_CIDR_OVERLAPS] = " overlaps ",
    [OP_AGE_GT] = " older than ",
    [OP_AGE_LE] = " at most ",
};
static const char *const op_infix_tail[OP__COUNT] = {
    [OP_AGE_GT] = " days",
    [OP_AGE_LE] = " days old",
};
static const char *const op_expect[OP__COUNT] = {
    [OP_EQ] = "",
    [OP_NE] = "!= ",
    [OP_LT] = "< ",
    [OP_LE] = "<= ",
    [OP_GT] = "> ",
    [OP_GE] = ">= ",
    [OP_IN] = "one of ",
    [OP_NOT_IN] = "none of ",
    [OP_MATCHES] = "a match for ",
    [OP_CONTAINS] = "to contain ",
    [OP_CIDR_CONTAINS] = "within ",
    [OP_CIDR_OVERLAPS] = "to overlap ",
    [OP_AGE_GT] = "more than ",
    [OP_AGE_LE] = "at most ",
};
static const char *const op_expect_tail[OP__COUNT] = {
    [OP_AGE_GT] = " days ago",
    [OP_AGE_LE] = " days ago",
};
/* count's comparisons, in reasons: "expected exactly 1" */
static const char *const count_expect[OP__COUNT] = {
    [OP_EQ] = "exactly ", [OP_NE] = "other than ", [OP_LT] = "fewer than ",
    [OP_LE] = "at most ", [OP_GT] = "more than ",  [OP_GE] = "at least ",
};

static bool op_is_comparison(enum op op)
{
    return op <= OP_AGE_LE;
}

static bool op_is_ordering(enum op op)
{
    return op >= OP_LT && op <= OP_GE;
}

static bool op_is_quantifier(enum op op)
{
    return op >= OP_ALL_OF && op <= OP_COUNT;
}

static bool op_is_ports(enum op op)
{
    return op == OP_PORTS_OVERLAP || op == OP_PORTS_WITHIN;
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

/* An IPv4 or IPv6 network: the address with its host bits cleared. */
struct net {
    unsigned char a[16];  /* IPv4 in the first 4 bytes */
    unsigned char family; /* 4 or 6 */
    unsigned char bits;   /* prefix length */
};

/* A closed range of ports. */
struct prange {
    long lo, hi;
};

/* A compiled operand. Which members are used depends on the operator. */
struct operand {
    struct vg_json *val;        /* eq, ne, in, not_in, contains, lt..ge */
    char *text;                 /* as shown in reasons and descriptions */
    regex_t *re;                /* matches; on the heap so operands move */
    bool flag;                  /* empty */
    int64_t num;                /* age_days_*, count */
    struct net *nets;           /* cidr_* */
    size_t nnets;
    struct prange *ports;       /* ports_*: as listed, for reasons */
    size_t nports;
    struct prange *merged;      /* ports_*: sorted, adjacent ranges merged */
    size_t nmerged;
};

#define NO_SLOT ((size_t)-1)

struct node {
    enum op op;
    enum op cmp;                /* count: the comparison (eq..ge) */
    struct path path;           /* comparisons, present/absent, quantifiers,
                                 * ports_* (from) */
    const char *top;            /* top-level field read; borrowed from a path */
    size_t slot;                /* evidence slot of path, or NO_SLOT */
    bool multi;                 /* the slot collects an array */
    struct path path2;          /* ports_*: to (nsteps 0 when not given) */
    const char *top2;
    size_t slot2;
    bool multi2;
    struct operand opnd;
    struct node **kids;         /* all, any, none (n); not, quantifiers (0 or 1) */
    size_t nkids;
};

/* A place where an operand is {param: NAME}. */
struct param_use {
    struct node *node;          /* borrowed from the tree */
    char *name;
    int line, col;              /* of the {param: NAME} mapping */
    struct operand staged;
    bool has_staged;
};

struct vg_cond {
    struct node *root;
    char **keys;                /* slot names: absolute path texts */
    size_t *keysize;            /* dumped size of each name as a JSON string */
    size_t nkeys, capkeys;
    struct vg_strindex keyix;
    struct param_use *uses;
    size_t nuses;
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

/* Appends the compact JSON of v to b while it fits (b->max); false once
 * something did not fit. A scalar that does not fit is left out whole.
 * Each level costs at least one byte, so the depth is bounded by b->max. */
static bool json_prefix(struct vg_buf *b, const struct vg_json *v)
{
    switch (vg_json_type(v)) {
    case VG_JSON_ARRAY:
        if (vg_buf_appendc(b, '['))
            return false;
        for (size_t i = 0; i < vg_json_len(v); i++)
            if ((i && vg_buf_appendc(b, ',')) || !json_prefix(b, vg_json_at(v, i)))
                return false;
        return vg_buf_appendc(b, ']') == VG_OK;
    case VG_JSON_OBJECT:
        if (vg_buf_appendc(b, '{'))
            return false;
        for (size_t i = 0; i < vg_json_len(v); i++) {
            if (i && vg_buf_appendc(b, ','))
                return false;
            struct vg_json *k = vg_json_str(vg_json_key_at(v, i));
            bool ok = k && vg_json_dump(k, b) == VG_OK;
            vg_json_free(k);
            if (!ok || vg_buf_appendc(b, ':') || !json_prefix(b, vg_json_at(v, i)))
                return false;
        }
        return vg_buf_appendc(b, '}') == VG_OK;
    default:
        return vg_json_dump(v, b) == VG_OK;
    }
}

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
    if (vg_json_type(v) == VG_JSON_STRING && vg_json_str_len(v) > REASON_STRING_MAX) {
        const char *s = vg_json_get_str(v);
        size_t n = REASON_STRING_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        struct vg_json *prefix = vg_json_strn(s, n);
        if (!prefix || vg_json_dump(prefix, &b) != VG_OK)
            vg_buf_reset(&b);
        vg_json_free(prefix);
        cut = true;
    } else {
        cut = !json_prefix(&b, v);
    }
    if (b.len)
        rb_putn(rb, vg_buf_str(&b), b.len);
    else if (!cut)
        rb_puts(rb, "(value)");
    if (cut)
        rb_puts(rb, "...");
    vg_buf_free(&b);
}

/* Appends a decimal integer. */
static void rb_puti(struct rbuf *rb, int64_t i)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", (long long)i);
    rb_puts(rb, tmp);
}

/* Appends the text of a JSON string value without quotes (control
 * characters become spaces), shortened like rb_value; other values as JSON. */
static void rb_bare(struct rbuf *rb, const struct vg_json *v)
{
    if (vg_json_type(v) != VG_JSON_STRING) {
        rb_value(rb, v);
        return;
    }
    size_t n = vg_json_str_len(v);
    const char *s = vg_json_get_str(v);
    if (n > REASON_STRING_MAX) {
        n = REASON_STRING_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        rb_putn(rb, s, n);
        rb_puts(rb, "...");
        return;
    }
    rb_putn(rb, s, n);
}

/* ---- YAML and JSON helpers -------------------------------------------- */

/* A plain scalar that YAML's core schema reads as null. */
static bool plain_null(const struct vg_ynode *n)
{
    if (n->type != VG_YAML_SCALAR || n->quoted)
        return false;
    const char *s = n->value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* "a sequence", "a mapping", "a string", "a number", "a boolean", "null". */
static const char *json_kind(const struct vg_json *j)
{
    switch (vg_json_type(j)) {
    case VG_JSON_NULL: return "null";
    case VG_JSON_BOOL: return "a boolean";
    case VG_JSON_INT:
    case VG_JSON_DOUBLE: return "a number";
    case VG_JSON_STRING: return "a string";
    case VG_JSON_ARRAY: return "a sequence";
    case VG_JSON_OBJECT: return "a mapping";
    }
    return "a scalar";
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
    return json_kind(j);
}

/* A mapping {param: NAME}: an operand that names a rule parameter. */
static bool is_param_ref(const struct vg_ynode *n)
{
    return n->type == VG_YAML_MAP && n->n == 1 && !strcmp(n->keys[0]->value, "param");
}

/* The first {param: ...} mapping inside n (n itself excluded), or NULL.
 * Recursion is bounded by the YAML depth. */
static const struct vg_ynode *nested_param_ref(const struct vg_ynode *n)
{
    for (size_t i = 0; n->type != VG_YAML_SCALAR && i < n->n; i++) {
        const struct vg_ynode *it = n->items[i];
        if (is_param_ref(it))
            return it;
        const struct vg_ynode *in = nested_param_ref(it);
        if (in)
            return in;
    }
    return NULL;
}

/* ---- compile ---------------------------------------------------------- */

struct cctx {
    struct vg_cond *c;
    const struct vg_json *params;   /* declared parameters, or NULL */
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

static void operand_clear(struct operand *o)
{
    vg_json_free(o->val);
    free(o->text);
    if (o->re) {
        regfree(o->re);
        free(o->re);
    }
    free(o->nets);
    free(o->ports);
    free(o->merged);
    memset(o, 0, sizeof(*o));
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    path_clear(&n->path);
    path_clear(&n->path2);
    operand_clear(&n->opnd);
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
    for (size_t i = 0; i < c->nuses; i++) {
        free(c->uses[i].name);
        operand_clear(&c->uses[i].staged);
    }
    free(c->uses);
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

/* ---- networks ----------------------------------------------------------- */

/* Bounds on the lists of cidr_* and ports_*: the containment test is
 * quadratic in the list (see net_covered()). */
#define MAX_LIST_CIDRS 1024
#define MAX_LIST_PORTS 1024

/* True when the first `bits` bits of a and b agree. */
static bool prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (!rest)
        return true;
    unsigned char m = (unsigned char)(0xFFu << (8 - rest));
    return (a[full] & m) == (b[full] & m);
}

/* Parses "ADDR" or "ADDR/LEN", IPv4 or IPv6, into *out with the host bits
 * cleared (*host_bits tells whether any were set). Returns NULL, or why
 * the text is not one. Choice: no spaces, no zone ("%eth0"); an IPv4
 * address written in IPv6 ("::ffff:10.0.0.1") is an IPv6 address. */
static const char *parse_cidr(const char *s, size_t n, struct net *out, bool *host_bits)
{
    char buf[64];
    memset(out, 0, sizeof(*out));
    *host_bits = false;
    if (n == 0)
        return "empty";
    if (n >= sizeof(buf) || memchr(s, '\0', n))
        return "not an IPv4 or IPv6 address";
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *slash = strchr(buf, '/');
    int bits = -1;
    if (slash) {
        *slash = '\0';
        const char *d = slash + 1;
        size_t nd = strlen(d);
        if (nd == 0 || nd > 3 || strspn(d, "0123456789") != nd)
            return "the prefix length is not a number";
        bits = atoi(d);
    }
    int max;
    if (strchr(buf, ':')) {
        if (inet_pton(AF_INET6, buf, out->a) != 1)
            return "not an IPv4 or IPv6 address";
        out->family = 6;
        max = 128;
    } else {
        if (inet_pton(AF_INET, buf, out->a) != 1)
            return "not an IPv4 or IPv6 address";
        out->family = 4;
        max = 32;
    }
    if (bits < 0)
        bits = max;
    if (bits > max)
        return out->family == 4 ? "the prefix length is above 32" : "the prefix length is above 128";
    out->bits = (unsigned char)bits;
    for (int i = 0; i < max / 8; i++) {
        int keep = bits - i * 8;
        unsigned char m = keep >= 8 ? 0xFF : keep <= 0 ? 0 : (unsigned char)(0xFFu << (8 - keep));
        if (out->a[i] & (unsigned char)~m)
            *host_bits = true;
        out->a[i] &= m;
    }
    return NULL;
}

/* The text of a network, "10.0.0.0/8". */
static void net_text(const struct net *nt, char *buf, size_t len)
{
    char addr[INET6_ADDRSTRLEN];
    if (!inet_ntop(nt->family == 4 ? AF_INET : AF_INET6, nt->a, addr, sizeof(addr)))
        snprintf(addr, sizeof(addr), "?");
    snprintf(buf, len, "%s/%u", addr, (unsigned)nt->bits);
}

static bool net_overlaps(const struct net *a, const struct net *b)
{
    return a->family == b->family && prefix_eq(a->a, b->a, a->bits < b->bits ? a->bits : b->bits);
}

/* True when every address of v is in one of nets[0..n). A network not in
 * any one of them may still be covered by several ("10.0.0.0/7" by
 * 10.0.0.0/8 and 11.0.0.0/8): then both halves are tried. A half is split
 * again only when a listed network lies strictly inside it, so each split
 * is charged to a distinct listed network: at most about 2n calls of O(n). */
static bool net_covered(const struct net *v, const struct net *nets, size_t n)
{
    bool inside = false;
    for (size_t i = 0; i < n; i++) {
        const struct net *t = &nets[i];
        if (t->family != v->family)
            continue;
        if (t->bits <= v->bits && prefix_eq(t->a, v->a, t->bits))
            return true;
        if (t->bits > v->bits && prefix_eq(t->a, v->a, v->bits))
            inside = true;
    }
    if (!inside || v->bits >= (v->family == 4 ? 32 : 128))
        return false;
    struct net half = *v;
    half.bits = (unsigned char)(v->bits + 1);
    if (!net_covered(&half, nets, n))
        return false;
    half.a[v->bits / 8] |= (unsigned char)(0x80u >> (v->bits % 8));
    return net_covered(&half, nets, n);
}

/* ---- ports ---------------------------------------------------------------- */

/* A port spec of a rule: 22, "22" or "1024-2048". */
static bool parse_port_spec(const struct vg_json *v, struct prange *out)
{
    if (vg_json_type(v) == VG_JSON_INT) {
        int64_t p = vg_json_get_int(v);
        if (p < 0 || p > 65535)
            return false;
        out->lo = out->hi = (long)p;
        return true;
    }
    if (vg_json_type(v) != VG_JSON_STRING)
        return false;
    const char *s = vg_json_get_str(v);
    size_t n = vg_json_str_len(v);
    long part[2] = { 0, 0 };
    int k = 0;
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            if (++digits > 5)
                return false;
            part[k] = part[k] * 10 + (s[i] - '0');
        } else if (s[i] == '-' && k == 0 && digits) {
            k = 1;
            digits = 0;
        } else {
            return false;
        }
    }
    if (!digits)
        return false;
    if (k == 0)
        part[1] = part[0];
    if (part[0] > 65535 || part[1] > 65535 || part[0] > part[1])
        return false;
    out->lo = part[0];
    out->hi = part[1];
    return true;
}

static int cmp_prange(const void *a, const void *b)
{
    const struct prange *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void rb_prange(struct rbuf *rb, const struct prange *p)
{
    rb_puti(rb, p->lo);
    if (p->hi != p->lo) {
        rb_puts(rb, "-");
        rb_puti(rb, p->hi);
    }
}

/* ---- operands ----------------------------------------------------------------- */

/* Largest N of age_days_*: 2700 years, far from overflowing milliseconds. */
#define MAX_AGE_DAYS 1000000

/* Renders an operand for reasons: JSON, and lists as ["a", "b"]; bare
 * (strings without quotes) for networks. */
static char *operand_text(const struct vg_json *v, bool list, bool bare)
{
    char tmp[VG_MAX_REASON];
    struct rbuf rb;
    rb_init(&rb, tmp, sizeof(tmp));
    if (list) {
        rb_puts(&rb, "[");
        for (size_t i = 0; i < vg_json_len(v); i++) {
            if (i)
                rb_puts(&rb, ", ");
            if (bare)
                rb_bare(&rb, vg_json_at(v, i));
            else
                rb_value(&rb, vg_json_at(v, i));
        }
        rb_puts(&rb, "]");
    } else if (bare) {
        rb_bare(&rb, v);
    } else {
        rb_value(&rb, v);
    }
    return strdup(tmp);
}

/* A short rendering of v for a message: JSON, shortened. */
static void value_text(const struct vg_json *v, char *buf, size_t len)
{
    struct rbuf rb;
    rb_init(&rb, buf, len);
    rb_value(&rb, v);
}

static enum vg_err build_regex(struct operand *o, const struct vg_json *v, char *msg,
                               size_t msglen)
{
    if (vg_json_type(v) != VG_JSON_STRING) {
        snprintf(msg, msglen, "'matches' needs a regular expression (a string), not %s",
                 json_kind(v));
        return VG_ERR_RULE;
    }
    const char *s = vg_json_get_str(v);
    size_t n = vg_json_str_len(v);
    if (n > VG_MAX_REGEX) {
        snprintf(msg, msglen, "bad regex: longer than %u characters", (unsigned)VG_MAX_REGEX);
        return VG_ERR_RULE;
    }
    if (memchr(s, '\0', n)) {
        snprintf(msg, msglen, "bad regex: it holds a NUL character");
        return VG_ERR_RULE;
    }
    if (regex_cost(s) > MAX_REGEX_COST) {
        snprintf(msg, msglen,
                 "bad regex '%s': too complex (its repetitions expand to more than %u elements)",
                 s, MAX_REGEX_COST);
        return VG_ERR_RULE;
    }
    o->re = malloc(sizeof(*o->re));
    if (!o->re)
        return VG_ERR_NOMEM;
    int rc = regcomp(o->re, s, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why[256];
        regerror(rc, o->re, why, sizeof(why));
        free(o->re);
        o->re = NULL;
        if (rc == REG_ESPACE)
            return VG_ERR_NOMEM;
        snprintf(msg, msglen, "bad regex '%s': %s", s, why);
        return VG_ERR_RULE;
    }
    size_t len = n + 3;
    o->text = malloc(len);
    if (!o->text)
        return VG_ERR_NOMEM;
    snprintf(o->text, len, "/%s/", s);
    return VG_OK;
}

static enum vg_err build_nets(struct operand *o, const char *name, const struct vg_json *v,
                              char *msg, size_t msglen, long *bad)
{
    bool list = vg_json_type(v) == VG_JSON_ARRAY;
    if (!list && vg_json_type(v) != VG_JSON_STRING) {
        snprintf(msg, msglen, "'%s' needs a CIDR (a string) or a list of them, not %s", name,
                 json_kind(v));
        return VG_ERR_RULE;
    }
    size_t n = list ? vg_json_len(v) : 1;
    if (n == 0) {
        snprintf(msg, msglen, "'%s' needs at least one CIDR", name);
        return VG_ERR_RULE;
    }
    if (n > MAX_LIST_CIDRS) {
        snprintf(msg, msglen, "'%s' lists more than %d CIDRs", name, MAX_LIST_CIDRS);
        return VG_ERR_RULE;
    }
    o->nets = calloc(n, sizeof(*o->nets));
    if (!o->nets)
        return VG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct vg_json *it = list ? vg_json_at(v, i) : v;
        if (list)
            *bad = (long)i;
        if (vg_json_type(it) != VG_JSON_STRING) {
            snprintf(msg, msglen, "'%s' list items must be CIDRs (strings), not %s", name,
                     json_kind(it));
            return VG_ERR_RULE;
        }
        bool host;
        const char *s = vg_json_get_str(it);
        const char *why = parse_cidr(s, vg_json_str_len(it), &o->nets[i], &host);
        if (why) {
            snprintf(msg, msglen, "bad CIDR '%.*s': %s", 64, s, why);
            return VG_ERR_RULE;
        }
        if (host) {
            char net[64];
            net_text(&o->nets[i], net, sizeof(net));
            snprintf(msg, msglen, "bad CIDR '%s': host bits are set (the network is %s)", s, net);
            return VG_ERR_RULE;
        }
        o->nnets = i + 1;
    }
    *bad = -1;
    o->text = operand_text(v, list, true);
    return o->text ? VG_OK : VG_ERR_NOMEM;
}

static enum vg_err build_ports(struct operand *o, const struct vg_json *v, char *msg,
                               size_t msglen, long *bad)
{
    if (vg_json_type(v) != VG_JSON_ARRAY) {
        snprintf(msg, msglen,
                 "'ports' needs a list of ports (22) and port ranges (\"1024-2048\"), not %s",
                 json_kind(v));
        return VG_ERR_RULE;
    }
    size_t n = vg_json_len(v);
    if (n == 0) {
        snprintf(msg, msglen, "'ports' needs at least one port");
        return VG_ERR_RULE;
    }
    if (n > MAX_LIST_PORTS) {
        snprintf(msg, msglen, "'ports' lists more than %d ports", MAX_LIST_PORTS);
        return VG_ERR_RULE;
    }
    o->ports = calloc(n, sizeof(*o->ports));
    o->merged = calloc(n, sizeof(*o->merged));
    if (!o->ports || !o->merged)
        return VG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!parse_port_spec(vg_json_at(v, i), &o->ports[i])) {
            char val[64];
            value_text(vg_json_at(v, i), val, sizeof(val));
            snprintf(msg, msglen, "bad port %s: expected a port (0-65535) or a range \"LOW-HIGH\"",
                     val);
            *bad = (long)i;
            return VG_ERR_RULE;
        }
    }
    o->nports = n;
    memcpy(o->merged, o->ports, n * sizeof(*o->ports));
    qsort(o->merged, n, sizeof(*o->merged), cmp_prange);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && o->merged[i].lo <= o->merged[m - 1].hi + 1) {
            if (o->merged[i].hi > o->merged[m - 1].hi)
                o->merged[m - 1].hi = o->merged[i].hi;
        } else {
            o->merged[m++] = o->merged[i];
        }
    }
    o->nmerged = m;
    char tmp[VG_MAX_REASON];
    struct rbuf rb;
    rb_init(&rb, tmp, sizeof(tmp));
    rb_puts(&rb, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            rb_puts(&rb, ", ");
        rb_prange(&rb, &o->ports[i]);
    }
    rb_puts(&rb, "]");
    o->text = strdup(tmp);
    return o->text ? VG_OK : VG_ERR_NOMEM;
}

/* Compiles value v (borrowed) as the operand of op into *o (cleared
 * first; the caller clears it on every outcome). VG_ERR_RULE with a
 * message without place in msg, and in *bad the index of the offending
 * list item (or -1); or VG_ERR_NOMEM. */
static enum vg_err operand_build(enum op op, const struct vg_json *v, struct operand *o,
                                 char *msg, size_t msglen, long *bad)
{
    memset(o, 0, sizeof(*o));
    *bad = -1;
    const char *name = op_names[op];
    char val[64];
    switch (op) {
    case OP_MATCHES:
        return build_regex(o, v, msg, msglen);
    case OP_CIDR_CONTAINS:
    case OP_CIDR_OVERLAPS:
        return build_nets(o, name, v, msg, msglen, bad);
    case OP_PORTS_OVERLAP:
    case OP_PORTS_WITHIN:
        return build_ports(o, v, msg, msglen, bad);
    case OP_EQ:
    case OP_NE:
    case OP_CONTAINS:
        if (vg_json_type(v) == VG_JSON_NULL) {
            /* Choice: null reads as absent, so "eq: null" could never hold */
            snprintf(msg, msglen, "'%s' needs a value, not null (use present: or absent:)", name);
            return VG_ERR_RULE;
        }
        break;
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        if (!vg_json_is_number(v)) {
            snprintf(msg, msglen, "'%s' needs a number, not %s", name, json_kind(v));
            return VG_ERR_RULE;
        }
        break;
    case OP_IN:
    case OP_NOT_IN:
        if (vg_json_type(v) != VG_JSON_ARRAY) {
            snprintf(msg, msglen, "'%s' needs a list, not %s", name, json_kind(v));
            return VG_ERR_RULE;
        }
        for (size_t i = 0; i < vg_json_len(v); i++)
            if (vg_json_type(vg_json_at(v, i)) == VG_JSON_NULL) {
                snprintf(msg, msglen,
                         "'%s' list items must not be null (use present: or absent:)", name);
                *bad = (long)i;
                return VG_ERR_RULE;
            }
        break;
    case OP_EMPTY:
        if (vg_json_type(v) != VG_JSON_BOOL) {
            snprintf(msg, msglen, "'empty' needs true or false, not %s", json_kind(v));
            return VG_ERR_RULE;
        }
        o->flag = vg_json_get_bool(v);
        o->text = strdup(o->flag ? "true" : "false");
        return o->text ? VG_OK : VG_ERR_NOMEM;
    case OP_AGE_GT:
    case OP_AGE_LE:
    case OP_COUNT: {
        int64_t max = op == OP_COUNT ? INT64_MAX : MAX_AGE_DAYS;
        if (vg_json_type(v) != VG_JSON_INT || vg_json_get_int(v) < 0 ||
            vg_json_get_int(v) > max) {
            if (vg_json_is_number(v))
                value_text(v, val, sizeof(val));
            else
                snprintf(val, sizeof(val), "%s", json_kind(v));
            if (op == OP_COUNT)
                snprintf(msg, msglen, "'count' is compared with a whole number, 0 or more, not %s",
                         val);
            else
                snprintf(msg, msglen, "'%s' needs a whole number of days, 0 to %d, not %s", name,
                         MAX_AGE_DAYS, val);
            return VG_ERR_RULE;
        }
        o->num = vg_json_get_int(v);
        value_text(v, val, sizeof(val));
        o->text = strdup(val);
        return o->text ? VG_OK : VG_ERR_NOMEM;
    }
    default:
        snprintf(msg, msglen, "'%s' takes no operand", name);
        return VG_ERR_RULE;
    }
    o->val = vg_json_clone(v);
    if (!o->val)
        return VG_ERR_NOMEM;
    o->text = operand_text(v, op == OP_IN || op == OP_NOT_IN, false);
    return o->text ? VG_OK : VG_ERR_NOMEM;
}

/* Remembers that node n's operand is param name. */
static enum vg_err add_use(struct vg_cond *c, struct node *n, const char *name,
                           const struct vg_ynode *at)
{
    struct param_use *u = realloc(c->uses, (c->nuses + 1) * sizeof(*u));
    if (!u)
        return VG_ERR_NOMEM;
    c->uses = u;
    u = &c->uses[c->nuses];
    memset(u, 0, sizeof(*u));
    u->node = n;
    u->line = at->line;
    u->col = at->col;
    u->name = strdup(name);
    if (!u->name)
        return VG_ERR_NOMEM;
    c->nuses++;
    return VG_OK;
}

/* Compiles the operand at on (a literal, or {param: NAME}) for node n as
 * the operand of op. */
static enum vg_err compile_operand(struct cctx *cc, struct node *n, enum op op,
                                   const struct vg_ynode *on)
{
    struct vg_json *val = NULL;
    const char *pname = NULL;
    if (is_param_ref(on)) {
        const struct vg_ynode *nm = on->items[0];
        if (nm->type != VG_YAML_SCALAR || plain_null(nm)) {
            vg_yaml_error(cc->errbuf, cc->errlen, nm, "'param' needs a parameter name, not %s",
                          nm->type == VG_YAML_SCALAR ? "null" : node_kind(nm, NULL));
            return VG_ERR_RULE;
        }
        pname = nm->value;
        const struct vg_json *dflt = cc->params ? vg_json_get(cc->params, pname) : NULL;
        if (!dflt) {
            vg_yaml_error(cc->errbuf, cc->errlen, nm,
                          "param '%s' is not declared (declare it with a default under the "
                          "rule's 'params')",
                          pname);
            return VG_ERR_RULE;
        }
        val = vg_json_clone(dflt);
    } else {
        const struct vg_ynode *inner = nested_param_ref(on);
        if (inner) {
            vg_yaml_error(cc->errbuf, cc->errlen, inner,
                          "a {param: NAME} stands for a whole operand, not for a part of one");
            return VG_ERR_RULE;
        }
        /* a regex is text even when YAML would read it as a number */
        if (op == OP_MATCHES && on->type == VG_YAML_SCALAR && !plain_null(on))
            val = vg_json_strn(on->value, on->len);
        else
            val = vg_yaml_to_json(on);
    }
    if (!val)
        return VG_ERR_NOMEM;
    char msg[VG_MAX_REGEX + 256];
    long bad = -1;
    enum vg_err err = operand_build(op, val, &n->opnd, msg, sizeof(msg), &bad);
    vg_json_free(val);
    if (err == VG_ERR_RULE) {
        const struct vg_ynode *at = on;
        if (!pname && bad >= 0 && on->type == VG_YAML_SEQ && (size_t)bad < on->n)
            at = on->items[bad];
        if (pname)
            vg_yaml_error(cc->errbuf, cc->errlen, at, "%s (the default of param '%s')", msg,
                          pname);
        else
            vg_yaml_error(cc->errbuf, cc->errlen, at, "%s", msg);
        return err;
    }
    if (!err && pname)
        err = add_use(cc->c, n, pname, on);
    return err;
}


static enum vg_err compile_node(struct cctx *cc, const struct vg_ynode *yn, const char *prefix,
                                const char *top, int depth, struct node **out);

/* Compiles path node yn of node n (read under prefix, inside where when
 * prefix is set) into p, with its top-level field and evidence slot. */
static enum vg_err compile_read_path(struct cctx *cc, const struct vg_ynode *yn,
                                     const char *prefix, const char *top, struct path *p,
                                     const char **ptop, size_t *slot, bool *multi)
{
    enum vg_err err = compile_path(cc, yn, prefix != NULL, p);
    if (err)
        return err;
    *ptop = prefix ? top : p->steps[0].key;
    char *abs = abs_name(prefix, p);
    if (!abs)
        return VG_ERR_NOMEM;
    *multi = strstr(abs, "[*]") != NULL;
    return intern_slot(cc->c, abs, slot);
}

/* {ports_overlap: {from: P, to: P, ports: [...]}} */
static enum vg_err compile_ports(struct cctx *cc, struct node *n, const struct vg_ynode *m,
                                 const char *prefix, const char *top)
{
    const char *name = op_names[n->op];
    if (m->type != VG_YAML_MAP) {
        vg_yaml_error(cc->errbuf, cc->errlen, m,
                      "'%s' needs a mapping with from, to and ports, not %s", name,
                      node_kind(m, NULL));
        return VG_ERR_RULE;
    }
    const struct vg_ynode *from = NULL, *to = NULL, *ports = NULL;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i]->value;
        if (!strcmp(k, "from"))
            from = m->items[i];
        else if (!strcmp(k, "to"))
            to = m->items[i];
        else if (!strcmp(k, "ports"))
            ports = m->items[i];
        else {
            vg_yaml_error(cc->errbuf, cc->errlen, m->keys[i],
                          "unknown key '%s' in '%s' (known: from, to, ports)", k, name);
            return VG_ERR_RULE;
        }
    }
    if (!from || !ports) {
        vg_yaml_error(cc->errbuf, cc->errlen, m, "'%s' needs '%s'", name,
                      !from ? "from" : "ports");
        return VG_ERR_RULE;
    }
    const struct vg_ynode *pn[2] = { from, to };
    for (int i = 0; i < 2; i++) {
        if (!pn[i])
            continue;
        struct path *p = i ? &n->path2 : &n->path;
        enum vg_err err = compile_read_path(cc, pn[i], prefix, top, p, i ? &n->top2 : &n->top,
                                            i ? &n->slot2 : &n->slot, i ? &n->multi2 : &n->multi);
        if (err)
            return err;
        if (p->wild) {
            vg_yaml_error(cc->errbuf, cc->errlen, pn[i],
                          "'%s' reads one port, its path cannot hold [*] (quantify over the "
                          "array with all_of, any_of or none_of)",
                          i ? "to" : "from");
            return VG_ERR_RULE;
        }
    }
    return compile_operand(cc, n, n->op, ports);
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
    const struct vg_ynode *opkey = NULL, *opval = NULL, *countkey = NULL, *countval = NULL;
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
        if (!strcmp(k->value, "count")) {
            /* its comparison is the condition's other operator */
            countkey = k;
            countval = yn->items[i];
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
    enum op cmp = OP__COUNT;
    const struct vg_ynode *cmpval = NULL;
    if (countkey) {
        if (!opkey) {
            vg_yaml_error(cc->errbuf, cc->errlen, yn,
                          "'count' needs a comparison: one of eq, ne, lt, le, gt, ge");
            return VG_ERR_RULE;
        }
        if (op != OP_EQ && op != OP_NE && !op_is_ordering(op)) {
            vg_yaml_error(cc->errbuf, cc->errlen, opkey,
                          "'count' is compared with eq, ne, lt, le, gt or ge, not '%s'",
                          opkey->value);
            return VG_ERR_RULE;
        }
        cmp = op;
        cmpval = opval;
        op = OP_COUNT;
        opkey = countkey;
        opval = countval;
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
                      "'where' is only used with all_of, any_of, none_of and count");
        return VG_ERR_RULE;
    }
    if (op_is_quantifier(op) && op != OP_COUNT && !wherekey) {
        vg_yaml_error(cc->errbuf, cc->errlen, yn, "'%s' needs 'where'", name);
        return VG_ERR_RULE;
    }

    struct node *n = calloc(1, sizeof(*n));
    if (!n)
        return VG_ERR_NOMEM;
    n->op = op;
    n->cmp = cmp;
    n->slot = n->slot2 = NO_SLOT;
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
             * a [*]; or, for a count without where, always */
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
        err = compile_operand(cc, n, op, opval);
    } else if (op_is_ports(op)) {
        err = compile_ports(cc, n, opval, prefix, top);
    } else if (op == OP_ALL || op == OP_ANY || op == OP_NONE) {
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
    } else if (op == OP_NOT || (op_is_quantifier(op) && whereval)) {
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
    if (!err && op == OP_COUNT)
        err = compile_operand(cc, n, OP_COUNT, cmpval);
out:
    free(elem_prefix);
    if (err) {
        node_free(n);
        return err;
    }
    *out = n;
    return VG_OK;
}

enum vg_err vg_cond_compile(const struct vg_ynode *yn, const struct vg_json *params,
                            struct vg_cond **out, char *errbuf, size_t errlen)
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
    struct cctx cc = { .c = c, .params = params, .errbuf = errbuf, .errlen = errlen };
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

/* ---- parameters ------------------------------------------------------------ */

bool vg_cond_uses_param(const struct vg_cond *c, const char *name)
{
    for (size_t i = 0; c && name && i < c->nuses; i++)
        if (!strcmp(c->uses[i].name, name))
            return true;
    return false;
}

enum vg_err vg_cond_stage_param(struct vg_cond *c, const char *name, const struct vg_json *value,
                                char *errbuf, size_t errlen, int *line, int *col)
{
    char msg[VG_MAX_REGEX + 256];
    for (size_t i = 0; c && name && i < c->nuses; i++) {
        struct param_use *u = &c->uses[i];
        if (strcmp(u->name, name) != 0)
            continue;
        operand_clear(&u->staged);
        u->has_staged = false;
        long bad;
        enum op op = u->node->op;
        enum vg_err err = operand_build(op, value, &u->staged, msg, sizeof(msg), &bad);
        if (err) {
            operand_clear(&u->staged);
            if (line)
                *line = u->line;
            if (col)
                *col = u->col;
            if (errbuf && errlen)
                snprintf(errbuf, errlen, "%s",
                         err == VG_ERR_RULE ? msg : "out of memory");
            return err;
        }
        u->has_staged = true;
    }
    return VG_OK;
}

void vg_cond_commit_params(struct vg_cond *c)
{
    for (size_t i = 0; c && i < c->nuses; i++) {
        struct param_use *u = &c->uses[i];
        if (!u->has_staged)
            continue;
        operand_clear(&u->node->opnd);
        u->node->opnd = u->staged;
        memset(&u->staged, 0, sizeof(u->staged));
        u->has_staged = false;
    }
}

void vg_cond_discard_params(struct vg_cond *c)
{
    for (size_t i = 0; c && i < c->nuses; i++) {
        operand_clear(&c->uses[i].staged);
        c->uses[i].has_staged = false;
    }
}

/* ---- describe ----------------------------------------------------------- */

/* "ports FromPort..ToPort" or "port FromPort" */
static void describe_ports(const struct node *n, struct rbuf *rb)
{
    rb_puts(rb, n->path2.nsteps ? "ports " : "port ");
    rb_puts(rb, n->path.text);
    if (n->path2.nsteps) {
        rb_puts(rb, "..");
        rb_puts(rb, n->path2.text);
    }
}

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
    case OP_EMPTY:
        rb_puts(rb, n->path.text);
        rb_puts(rb, n->opnd.flag ? " is empty" : " is not empty");
        return;
    case OP_ALL:
    case OP_ANY:
    case OP_NONE:
        rb_puts(rb, n->op == OP_NONE ? "not (" : "(");
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
    case OP_NONE_OF:
        rb_puts(rb, n->op == OP_ALL_OF   ? "every element of "
                    : n->op == OP_ANY_OF ? "some element of "
                                         : "no element of ");
        rb_puts(rb, n->path.text);
        rb_puts(rb, ": ");
        describe(n->kids[0], rb);
        return;
    case OP_COUNT:
        rb_puts(rb, "count(");
        rb_puts(rb, n->path.text);
        if (n->nkids) {
            rb_puts(rb, " where ");
            describe(n->kids[0], rb);
        }
        rb_puts(rb, ")");
        rb_puts(rb, op_infix[n->cmp]);
        rb_puts(rb, n->opnd.text);
        return;
    case OP_PORTS_OVERLAP:
    case OP_PORTS_WITHIN:
        describe_ports(n, rb);
        rb_puts(rb, n->op == OP_PORTS_OVERLAP ? " overlap " : " within ");
        rb_puts(rb, n->opnd.text);
        return;
    default:
        rb_puts(rb, n->path.text);
        rb_puts(rb, op_infix[n->op]);
        rb_puts(rb, n->opnd.text);
        if (op_infix_tail[n->op])
            rb_puts(rb, op_infix_tail[n->op]);
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
    bool replay;            /* evaluating again for a text: record nothing */
    bool facts;             /* reasons state what was found, not what was
                             * expected: what `not` quotes as having held */
    int64_t now_ms;         /* the time age_days_* measures from */
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
    return slot != NO_SLOT && !e->truncated && !e->err && !e->replay &&
           !e->slots[slot].touched;
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
    if (slot == NO_SLOT || e->truncated || e->err || e->replay)
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
    if (e->truncated || e->err || e->replay)
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

/* Starts the "; expected ..." part of a reason, except in facts mode. */
static bool rb_expect(const struct ectx *e, struct rbuf *rb)
{
    if (e->facts)
        return false;
    rb_puts(rb, "; expected ");
    return true;
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


/* empty: "", [], {}, null or absent. */
static bool is_empty_value(const struct vg_json *v)
{
    if (is_absent(v))
        return true;
    switch (vg_json_type(v)) {
    case VG_JSON_STRING: return vg_json_str_len(v) == 0;
    case VG_JSON_ARRAY:
    case VG_JSON_OBJECT: return vg_json_len(v) == 0;
    default: return false;
    }
}

/* contains: a string holds a substring, an array an equal element. */
static bool json_contains(const struct vg_json *v, const struct vg_json *x)
{
    if (vg_json_type(v) == VG_JSON_ARRAY)
        return in_list(v, x);
    if (vg_json_type(v) != VG_JSON_STRING || vg_json_type(x) != VG_JSON_STRING)
        return false;
    size_t n = vg_json_str_len(x);
    return n == 0 || memmem(vg_json_get_str(v), vg_json_str_len(v), vg_json_get_str(x), n);
}

/* The words the AWS credential report writes where a time is missing. */
static bool no_time_word(const struct vg_json *v)
{
    static const char *const words[] = { "N/A", "no_information", "not_supported" };
    const char *s = vg_json_get_str(v);
    for (size_t i = 0; s && i < sizeof(words) / sizeof(words[0]); i++)
        if (!strcmp(s, words[i]))
            return true;
    return false;
}

#define DAY_MS 86400000ll

/* The age of time value v at now in whole days, rounded down (negative in
 * the future). False when v is not an RFC 3339 time or a date. */
static bool age_days(const struct vg_json *v, int64_t now, int64_t *days)
{
    const char *s = vg_json_get_str(v);
    int64_t t, d;
    if (!s || strlen(s) != vg_json_str_len(v) || vg_time_parse(s, &t) != 0)
        return false;
    if (__builtin_sub_overflow(now, t, &d))
        d = now > t ? INT64_MAX : INT64_MIN;
    *days = d / DAY_MS - (d % DAY_MS < 0 ? 1 : 0);
    return true;
}

static bool value_net(const struct vg_json *v, struct net *out)
{
    bool host;
    const char *s = vg_json_get_str(v);
    return s && parse_cidr(s, vg_json_str_len(v), out, &host) == NULL;
}

/* Whether value v (NULL or null: absent) satisfies comparison n. When
 * note is given, what the test found out about v that its JSON text does
 * not show (", 328 days ago", ", not a time") is appended to it. */
static bool test_value(const struct ectx *e, const struct node *n, const struct vg_json *v,
                       struct rbuf *note)
{
    bool absent = is_absent(v);
    const struct operand *o = &n->opnd;
    switch (n->op) {
    case OP_EQ: return !absent && vg_json_equal(v, o->val);
    case OP_NE: return absent || !vg_json_equal(v, o->val);
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE: {
        struct num a, b;
        if (absent || !num_of(v, &a) || !num_of(o->val, &b))
            return false;
        int c = num_cmp(&a, &b);
        if (c == 2)
            return false;
        return n->op == OP_LT ? c < 0 : n->op == OP_LE ? c <= 0 : n->op == OP_GT ? c > 0 : c >= 0;
    }
    case OP_IN: return !absent && in_list(o->val, v);
    case OP_NOT_IN: return absent || !in_list(o->val, v);
    case OP_MATCHES:
        return vg_json_type(v) == VG_JSON_STRING &&
               regexec(o->re, vg_json_get_str(v), 0, NULL, 0) == 0;
    case OP_EMPTY: return is_empty_value(v) == o->flag;
    case OP_CONTAINS: return !absent && json_contains(v, o->val);
    case OP_CIDR_CONTAINS:
    case OP_CIDR_OVERLAPS: {
        struct net vn;
        if (absent)
            return false;
        if (!value_net(v, &vn)) {
            if (note)
                rb_puts(note, ", not an IP address or CIDR");
            return false;
        }
        if (n->op == OP_CIDR_CONTAINS)
            return net_covered(&vn, o->nets, o->nnets);
        for (size_t i = 0; i < o->nnets; i++)
            if (net_overlaps(&vn, &o->nets[i]))
                return true;
        return false;
    }
    case OP_AGE_GT:
    case OP_AGE_LE: {
        int64_t d;
        if (absent || no_time_word(v))
            return false;
        if (!age_days(v, e->now_ms, &d)) {
            if (note)
                rb_puts(note, ", not a time (RFC 3339 or YYYY-MM-DD)");
            return false;
        }
        if (note) {
            rb_puts(note, ", ");
            rb_puti(note, d < 0 ? -d : d);
            rb_puts(note, d == 1 || d == -1 ? " day" : " days");
            rb_puts(note, d < 0 ? " in the future" : " ago");
        }
        return n->op == OP_AGE_GT ? d > o->num : d <= o->num;
    }
    case OP_PRESENT: return !absent;
    case OP_ABSENT: return absent;
    default: return false;
    }
}

/* "P is V, NOTE (source)", or "P is absent"; "contains" for a path with
 * [*]. The facts of a comparison, for reasons of both kinds. */
static void leaf_fact(const struct ectx *e, const struct node *n, struct rbuf *rb,
                      const struct vg_json *v, bool reached)
{
    rb_puts(rb, n->path.text);
    if (!reached) {
        rb_puts(rb, " is absent");
    } else {
        rb_puts(rb, n->path.wild ? " contains " : " is ");
        rb_value(rb, v);
        test_value(e, n, v, rb);
    }
    /* a source for the exact path ("persisted.net.ipv4.ip_forward") says
     * more than one for its top-level field ("persisted") */
    const char *src = !n->path.wild && e->scope == 0 ? field_source(e, n->path.text) : NULL;
    if (!src)
        src = field_source(e, n->top);
    if (src) {
        rb_puts(rb, " (");
        rb_puts(rb, src);
        rb_puts(rb, ")");
    }
}

/* "P is V (source); expected X", "P contains V ...", "P is absent ...". */
static void leaf_reason(const struct ectx *e, const struct node *n, struct rbuf *why,
                        const struct vg_json *bad, bool reached)
{
    leaf_fact(e, n, why, bad, reached);
    if (!rb_expect(e, why))
        return;
    if (n->op == OP_PRESENT) {
        rb_puts(why, "present");
    } else if (n->op == OP_ABSENT) {
        rb_puts(why, "absent");
    } else if (n->op == OP_EMPTY) {
        rb_puts(why, n->opnd.flag ? "empty" : "not empty");
    } else {
        rb_puts(why, op_expect[n->op]);
        rb_puts(why, n->opnd.text);
        if (op_expect_tail[n->op])
            rb_puts(why, op_expect_tail[n->op]);
    }
}

struct leafwalk {
    struct ectx *e;
    const struct node *n;
    bool record;
    size_t nreached;
    const struct vg_json *first;
    const struct vg_json *bad;
    bool failed;
};

static int leaf_visit(void *arg, const struct vg_json *v, const size_t *idx, size_t nidx)
{
    struct leafwalk *lw = arg;
    (void)idx;
    (void)nidx;
    if (!lw->nreached++)
        lw->first = v;
    if (lw->record) {
        if (lw->n->multi)
            ev_push(lw->e, lw->n->slot, v);
        else
            ev_set(lw->e, lw->n->slot, v);
        if (lw->e->truncated || lw->e->err)
            lw->record = false;
    }
    if (!lw->failed && !test_value(lw->e, lw->n, v, NULL)) {
        lw->failed = true;
        lw->bad = v;
    }
    return lw->failed && !lw->record;
}

static enum vg_eval eval_leaf(struct ectx *e, const struct node *n, const struct vg_json *root,
                              struct rbuf *why, struct rbuf *held)
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
        if (test_value(e, n, NULL, NULL)) {
            if (held)
                leaf_fact(e, n, held, NULL, false);
            return VG_EVAL_PASSED;
        }
        if (why)
            leaf_reason(e, n, why, NULL, false);
        return VG_EVAL_FAILED;
    }
    if (!lw.failed) {
        if (held)
            leaf_fact(e, n, held, lw.first, true);
        return VG_EVAL_PASSED;
    }
    if (why)
        leaf_reason(e, n, why, lw.bad, true);
    return VG_EVAL_FAILED;
}

/* ---- evaluation: port ranges ------------------------------------------------ */

/* Follows a path without [*] and records the value (or its absence). */
static const struct vg_json *read_one(struct ectx *e, const struct path *p, size_t slot,
                                      bool multi, const struct vg_json *root)
{
    const struct vg_json *v = root;
    for (size_t i = 0; v && i < p->nsteps; i++) {
        const struct step *st = &p->steps[i];
        switch (st->kind) {
        case STEP_SELF: break;
        case STEP_KEY: v = vg_json_get(v, st->key); break;
        case STEP_INDEX:
            v = vg_json_type(v) == VG_JSON_ARRAY ? vg_json_at(v, st->index) : NULL;
            break;
        case STEP_ALL: v = NULL; break;
        }
    }
    if (multi) {
        if (ev_open(e, slot))
            ev_push(e, slot, v);
    } else {
        ev_set(e, slot, v);
    }
    return v;
}

/* A port of a document: an integer -1..65535 (a number or a numeric
 * string), or -2 when v is not one. */
static long port_value(const struct vg_json *v)
{
    struct num x;
    if (!num_of(v, &x))
        return -2;
    if (x.is_int)
        return x.i >= -1 && x.i <= 65535 ? (long)x.i : -2;
    if (!(x.d >= -1 && x.d <= 65535))
        return -2;
    long p = (long)x.d;
    return (double)p == x.d ? p : -2;
}

/* "all ports (FromPort -1)", "ports 0-65535 (FromPort 0, ToPort 65535)" */
static void ports_fact(const struct node *n, struct rbuf *rb, const struct prange *r, bool all,
                       const struct vg_json *fv, const struct vg_json *tv)
{
    if (all) {
        rb_puts(rb, "all ports");
    } else {
        rb_puts(rb, r->lo == r->hi ? "port " : "ports ");
        rb_prange(rb, r);
    }
    rb_puts(rb, " (");
    rb_puts(rb, n->path.text);
    rb_puts(rb, " ");
    if (is_absent(fv))
        rb_puts(rb, "absent");
    else
        rb_value(rb, fv);
    if (n->path2.nsteps) {
        rb_puts(rb, ", ");
        rb_puts(rb, n->path2.text);
        rb_puts(rb, " ");
        if (is_absent(tv))
            rb_puts(rb, "absent");
        else
            rb_value(rb, tv);
    }
    rb_puts(rb, ")");
}

/* Choice: an absent `from`, or -1 in either end, is every port (AWS writes
 * IpProtocol -1 with no ports, and -1 for "all" in ICMP); an absent `to`
 * is `from`. */
static enum vg_eval eval_ports(struct ectx *e, const struct node *n, const struct vg_json *root,
                               struct rbuf *why, struct rbuf *held)
{
    const char *tops[2] = { n->top, n->path2.nsteps ? n->top2 : NULL };
    for (int i = 0; i < 2; i++) {
        const char *ferr = field_error(e, tops[i]);
        if (ferr) {
            if (why)
                unknown_reason(why, tops[i], ferr);
            return VG_EVAL_UNKNOWN;
        }
    }
    const struct vg_json *fv = read_one(e, &n->path, n->slot, n->multi, root);
    const struct vg_json *tv =
        n->path2.nsteps ? read_one(e, &n->path2, n->slot2, n->multi2, root) : NULL;
    const struct operand *o = &n->opnd;
    struct prange r = { 0, 65535 };
    bool all = is_absent(fv);
    if (!all) {
        const struct vg_json *badv = NULL;
        const char *badp = NULL;
        long f = port_value(fv), t = f;
        if (f == -2) {
            badv = fv;
            badp = n->path.text;
        } else if (f != -1 && !is_absent(tv)) {
            t = port_value(tv);
            if (t == -2) {
                badv = tv;
                badp = n->path2.text;
            }
        }
        if (badv) {
            if (why) {
                rb_puts(why, badp);
                rb_puts(why, " is ");
                rb_value(why, badv);
                rb_puts(why, ", not a port (0-65535, or -1 for all)");
            }
            return VG_EVAL_FAILED;
        }
        if (f == -1 || t == -1) {
            all = true;
        } else if (f > t) {
            if (why) {
                rb_puts(why, n->path.text);
                rb_puts(why, " ");
                rb_puti(why, f);
                rb_puts(why, " is greater than ");
                rb_puts(why, n->path2.text);
                rb_puts(why, " ");
                rb_puti(why, t);
            }
            return VG_EVAL_FAILED;
        } else {
            r.lo = f;
            r.hi = t;
        }
    }
    bool plural = all || r.lo != r.hi;
    if (n->op == OP_PORTS_OVERLAP) {
        for (size_t i = 0; i < o->nports; i++) {
            if (o->ports[i].lo <= r.hi && o->ports[i].hi >= r.lo) {
                if (held) {
                    ports_fact(n, held, &r, all, fv, tv);
                    rb_puts(held, plural ? " overlap " : " overlaps ");
                    rb_prange(held, &o->ports[i]);
                }
                return VG_EVAL_PASSED;
            }
        }
        if (why) {
            ports_fact(n, why, &r, all, fv, tv);
            if (rb_expect(e, why)) {
                rb_puts(why, "an overlap with ");
                rb_puts(why, o->text);
            }
        }
        return VG_EVAL_FAILED;
    }
    /* within: the first port of r no listed range covers */
    long p = r.lo;
    for (size_t i = 0; i < o->nmerged && p <= r.hi; i++) {
        if (o->merged[i].hi < p)
            continue;
        if (o->merged[i].lo > p)
            break;
        p = o->merged[i].hi + 1;
    }
    if (p > r.hi) {
        if (held) {
            ports_fact(n, held, &r, all, fv, tv);
            rb_puts(held, plural ? " are within " : " is within ");
            rb_puts(held, o->text);
        }
        return VG_EVAL_PASSED;
    }
    if (why) {
        ports_fact(n, why, &r, all, fv, tv);
        if (plural) {
            rb_puts(why, " include ");
            rb_puti(why, p);
        }
        if (rb_expect(e, why)) {
            rb_puts(why, "only ");
            rb_puts(why, o->text);
        }
    }
    return VG_EVAL_FAILED;
}

/* ---- evaluation: combinators and quantifiers ------------------------------ */

static enum vg_eval eval_node(struct ectx *e, const struct node *n, const struct vg_json *root,
                              struct rbuf *why, struct rbuf *held);

/* Evaluates again for texts only: the result is the same, nothing is
 * recorded. */
static enum vg_eval replay(struct ectx *e, const struct node *n, const struct vg_json *root,
                           struct rbuf *why, struct rbuf *held)
{
    bool saved = e->replay;
    e->replay = true;
    enum vg_eval r = eval_node(e, n, root, why, held);
    e->replay = saved;
    return r;
}

/* Most labels a count's reason lists. */
#define COUNT_LABELS 5

struct qwalk {
    struct ectx *e;
    const struct node *n;
    bool want;                  /* texts wanted */
    bool decided;               /* an element decided the result */
    enum vg_eval result;
    bool unknown;
    size_t nreached;            /* values the quantified path reached */
    size_t nelems;
    const struct vg_json *first; /* the value reached, for a plain path */
    size_t npassed, nunknown;   /* count */
    struct rbuf lb;
    size_t nlabels;
    /* The texts last: only their first byte is set up front, and the
     * whole stays small enough for malloc's per-thread cache. text holds
     * the first unknown element's reason until an element decides (the
     * walk then stops), and then that element's text. */
    char text[VG_MAX_REASON];
    char labels[VG_MAX_REASON / 2]; /* count: the first matching elements */
};

/* The label of an element: its name or id when it has one. */
static const struct vg_json *elem_label(const struct vg_json *el, const char **field)
{
    static const char *const fields[] = { "name", "id" };
    for (size_t i = 0; i < 2; i++) {
        const struct vg_json *v = vg_json_get(el, fields[i]);
        enum vg_json_type t = vg_json_type(v);
        if (v && (t == VG_JSON_STRING || t == VG_JSON_INT || t == VG_JSON_DOUBLE)) {
            *field = fields[i];
            return v;
        }
    }
    return NULL;
}

/* " (name "toor")" for an element that carries a name or an id. */
static void put_label(struct rbuf *rb, const struct vg_json *el)
{
    const char *field;
    const struct vg_json *v = elem_label(el, &field);
    if (v) {
        rb_puts(rb, " (");
        rb_puts(rb, field);
        rb_puts(rb, " ");
        rb_value(rb, v);
        rb_puts(rb, ")");
    }
}

/* "users[3] (name "toor"): " + the element's own text */
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
    const struct node *n = q->n;
    const struct node *kid = n->nkids ? n->kids[0] : NULL;
    (void)nidx;
    q->nreached++;
    if (!q->first)
        q->first = v;
    if (vg_json_type(v) != VG_JSON_ARRAY)
        return 0;
    for (size_t i = 0; i < vg_json_len(v); i++) {
        const struct vg_json *el = vg_json_at(v, i);
        q->nelems++;
        enum vg_eval r = VG_EVAL_PASSED;   /* count without where counts all */
        if (kid) {
            unsigned long saved = e->scope;
            e->scope = ++e->next_scope;
            r = eval_node(e, kid, el, NULL, NULL);
            e->scope = saved;
        }
        if (e->err)
            return 1;
        char tmp[VG_MAX_REASON];
        struct rbuf rb;
        rb_init(&rb, tmp, sizeof(tmp));
        if ((n->op == OP_ALL_OF && r == VG_EVAL_FAILED) ||
            (n->op != OP_ALL_OF && n->op != OP_COUNT && r == VG_EVAL_PASSED)) {
            q->decided = true;
            q->result = n->op == OP_ANY_OF ? VG_EVAL_PASSED : VG_EVAL_FAILED;
            if (q->want) {
                /* all_of names why the element failed; any_of and none_of
                 * what made it match */
                if (n->op == OP_ALL_OF)
                    replay(e, kid, el, &rb, NULL);
                else
                    replay(e, kid, el, NULL, &rb);
                struct rbuf out;
                rb_init(&out, q->text, sizeof(q->text));
                element_reason(&out, &n->path, idx, i, el, tmp);
            }
            return 1;
        }
        if (r == VG_EVAL_PASSED) {   /* count */
            q->npassed++;
            if (q->want && kid) {
                if (q->nlabels < COUNT_LABELS) {
                    const char *field;
                    const struct vg_json *lab = elem_label(el, &field);
                    if (q->nlabels++)
                        rb_puts(&q->lb, ", ");
                    if (lab) {
                        rb_bare(&q->lb, lab);
                    } else {
                        put_concrete(&q->lb, &n->path, idx);
                        rb_puts(&q->lb, "[");
                        rb_putz(&q->lb, i);
                        rb_puts(&q->lb, "]");
                    }
                } else if (q->nlabels++ == COUNT_LABELS) {
                    rb_puts(&q->lb, ", ...");
                }
            }
        } else if (r == VG_EVAL_UNKNOWN) {
            q->nunknown++;
            if (!q->unknown) {
                q->unknown = true;
                if (q->want) {
                    replay(e, kid, el, &rb, NULL);
                    struct rbuf ub;
                    rb_init(&ub, q->text, sizeof(q->text));
                    element_reason(&ub, &n->path, idx, i, el, tmp);
                }
            }
        }
        if (e->err)
            return 1;
    }
    return 0;
}

/* count: does the comparison hold for every count in [lo, hi] (1), for
 * none of them (0), or for some only (-1)? */
static int count_decide(enum op cmp, uint64_t lo, uint64_t hi, uint64_t k)
{
    bool all, none;
    switch (cmp) {
    case OP_EQ: all = lo == k && hi == k; none = k < lo || k > hi; break;
    case OP_NE: all = k < lo || k > hi; none = lo == k && hi == k; break;
    case OP_LT: all = hi < k; none = lo >= k; break;
    case OP_LE: all = hi <= k; none = lo > k; break;
    case OP_GT: all = lo > k; none = hi <= k; break;
    default: all = lo >= k; none = hi < k; break;
    }
    return all ? 1 : none ? 0 : -1;
}

/* "2 elements of users match uid == 0 (root, toor)", "users has 3
 * elements", "users is absent". */
static void count_fact(const struct qwalk *q, bool absent, struct rbuf *rb)
{
    const struct node *n = q->n;
    if (absent) {
        rb_puts(rb, n->path.text);
        rb_puts(rb, " is absent");
        return;
    }
    if (!n->nkids) {
        rb_puts(rb, n->path.text);
        rb_puts(rb, " has ");
        rb_putz(rb, q->nelems);
        rb_puts(rb, q->nelems == 1 ? " element" : " elements");
        return;
    }
    if (q->npassed == 0) {
        rb_puts(rb, "no element of ");
        rb_puts(rb, n->path.text);
        rb_puts(rb, " matches ");
    } else {
        rb_putz(rb, q->npassed);
        rb_puts(rb, q->npassed == 1 ? " element of " : " elements of ");
        rb_puts(rb, n->path.text);
        rb_puts(rb, q->npassed == 1 ? " matches " : " match ");
    }
    describe(n->kids[0], rb);
    if (q->nlabels) {
        rb_puts(rb, " (");
        rb_puts(rb, q->labels);
        rb_puts(rb, ")");
    }
}

static enum vg_eval eval_quant(struct ectx *e, const struct node *n, const struct vg_json *root,
                               struct rbuf *why, struct rbuf *held)
{
    const char *ferr = field_error(e, n->top);
    if (ferr) {
        if (why)
            unknown_reason(why, n->top, ferr);
        return VG_EVAL_UNKNOWN;
    }
    struct qwalk *q = malloc(sizeof(*q));   /* keeps deep nesting off the stack */
    if (!q) {
        e->err = VG_ERR_NOMEM;
        return VG_EVAL_UNKNOWN;
    }
    memset(q, 0, offsetof(struct qwalk, text));
    q->text[0] = '\0';
    q->e = e;
    q->n = n;
    q->want = why || held;
    rb_init(&q->lb, q->labels, sizeof(q->labels));
    size_t idx[VG_MAX_PATH_SEGMENTS + 1];
    walk(&n->path, 0, root, idx, 0, quant_visit, q);
    if (e->err) {
        free(q);
        return VG_EVAL_UNKNOWN;
    }
    enum vg_eval r;
    const struct vg_json *first = q->first;
    bool absent = q->nreached == 0 || (!n->path.wild && is_absent(first));
    bool array = !absent && vg_json_type(first) == VG_JSON_ARRAY;
    /* the array itself is evidence when it is not a non-empty array, and
     * for a count without where */
    if (!n->multi && (!array || !vg_json_len(first) || (n->op == OP_COUNT && !n->nkids)))
        ev_set(e, n->slot, absent ? NULL : first);
    if (!n->path.wild && !absent && !array) {
        r = VG_EVAL_FAILED;
        if (why) {
            rb_puts(why, n->path.text);
            rb_puts(why, " is ");
            rb_value(why, first);
            if (rb_expect(e, why))
                rb_puts(why, "an array");
        }
    } else if (n->op == OP_COUNT) {
        int d = count_decide(n->cmp, q->npassed, q->npassed + q->nunknown,
                             (uint64_t)n->opnd.num);
        if (d < 0) {
            r = VG_EVAL_UNKNOWN;
            if (why)
                rb_puts(why, q->text);
        } else {
            r = d ? VG_EVAL_PASSED : VG_EVAL_FAILED;
            struct rbuf *rb = d ? held : why;
            if (rb) {
                count_fact(q, absent, rb);
                if (!d && rb_expect(e, rb)) {
                    rb_puts(rb, count_expect[n->cmp]);
                    rb_puts(rb, n->opnd.text);
                }
            }
        }
    } else if (q->decided) {
        r = q->result;
        struct rbuf *rb = r == VG_EVAL_PASSED ? held : why;
        if (rb) {
            rb_puts(rb, q->text);
            if (n->op == OP_NONE_OF && rb_expect(e, rb)) {
                rb_puts(rb, "no element of ");
                rb_puts(rb, n->path.text);
                rb_puts(rb, " to match");
            }
        }
    } else if (q->unknown) {
        r = VG_EVAL_UNKNOWN;
        if (why)
            rb_puts(why, q->text);
    } else if (n->op != OP_ANY_OF) {
        /* all_of and none_of: true for an empty or absent array */
        r = VG_EVAL_PASSED;
        if (held) {
            if (absent || !q->nelems) {
                rb_puts(held, n->path.text);
                rb_puts(held, absent ? " is absent" : " is empty");
            } else {
                describe(n, held);
            }
        }
    } else {
        r = VG_EVAL_FAILED;
        if (why) {
            if (absent) {
                rb_puts(why, n->path.text);
                rb_puts(why, " is absent");
                if (rb_expect(e, why)) {
                    rb_puts(why, "an element matching: ");
                    describe(n->kids[0], why);
                }
            } else {
                rb_puts(why, "no element of ");
                rb_puts(why, n->path.text);
                rb_puts(why, " matches: ");
                describe(n->kids[0], why);
            }
        }
    }
    free(q);
    return r;
}

static enum vg_eval eval_all(struct ectx *e, const struct node *n, const struct vg_json *root,
                             struct rbuf *why, struct rbuf *held)
{
    /* the first unknown part's reason goes straight into why; a later
     * failure overwrites it. What held is every part's, joined. */
    bool unknown = false;
    char tmp[VG_MAX_REASON], htmp[VG_MAX_REASON];
    struct rbuf rb, hb;
    rb_init(&rb, tmp, sizeof(tmp));
    rb_init(&hb, htmp, sizeof(htmp));
    for (size_t i = 0; i < n->nkids; i++) {
        struct rbuf *into = why && !unknown ? why : why ? &rb : NULL;
        if (into)
            rb_reset(into);
        enum vg_eval r = eval_node(e, n->kids[i], root, into, held ? &hb : NULL);
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
        else if (held && !unknown) {
            if (i)
                rb_puts(held, " and ");
            rb_puts(held, htmp);
        }
    }
    return unknown ? VG_EVAL_UNKNOWN : VG_EVAL_PASSED;
}

static enum vg_eval eval_any(struct ectx *e, const struct node *n, const struct vg_json *root,
                             struct rbuf *why, struct rbuf *held)
{
    /* failed parts' reasons are joined into why with "; or "; the first
     * unknown part's reason is kept aside and wins if nothing passes; what
     * held is the first passing part's */
    bool unknown = false;
    size_t nfailed = 0;
    char tmp[VG_MAX_REASON], unk[VG_MAX_REASON];
    struct rbuf rb;
    rb_init(&rb, tmp, sizeof(tmp));
    unk[0] = '\0';
    for (size_t i = 0; i < n->nkids; i++) {
        enum vg_eval r = eval_node(e, n->kids[i], root, why ? &rb : NULL, held);
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
                rb_puts(why, e->facts ? " and " : "; or ");
            rb_puts(why, tmp);
        }
    }
    if (unknown && why) {
        rb_reset(why);
        rb_puts(why, unk);
    }
    return unknown ? VG_EVAL_UNKNOWN : VG_EVAL_FAILED;
}

/* "X is V; expected not: X == V": what held, then what was forbidden. */
static void forbidden_reason(const struct ectx *e, struct rbuf *why, const char *fact,
                             const struct node *kid)
{
    rb_reset(why);
    if (e->facts) {
        if (*fact) {
            rb_puts(why, fact);
        } else {
            describe(kid, why);
            rb_puts(why, " holds");
        }
        return;
    }
    if (*fact) {
        rb_puts(why, fact);
        rb_puts(why, "; ");
    }
    rb_puts(why, "expected not: ");
    describe(kid, why);
}

static enum vg_eval eval_none(struct ectx *e, const struct node *n, const struct vg_json *root,
                              struct rbuf *why, struct rbuf *held)
{
    /* fails at the first part that holds, quoting what held; else unknown
     * with the first unknown part's reason, else passes */
    bool unknown = false;
    char tmp[VG_MAX_REASON], unk[VG_MAX_REASON];
    struct rbuf rb, hb;
    rb_init(&rb, tmp, sizeof(tmp));
    rb_init(&hb, unk, sizeof(unk));
    for (size_t i = 0; i < n->nkids; i++) {
        enum vg_eval r = eval_node(e, n->kids[i], root, why && !unknown ? &hb : NULL,
                                   why ? &rb : NULL);
        if (e->err)
            return VG_EVAL_UNKNOWN;
        if (r == VG_EVAL_PASSED) {
            if (why)
                forbidden_reason(e, why, tmp, n->kids[i]);
            return VG_EVAL_FAILED;
        }
        if (r == VG_EVAL_UNKNOWN)
            unknown = true;
    }
    if (unknown) {
        if (why)
            rb_puts(why, unk);
        return VG_EVAL_UNKNOWN;
    }
    if (held)
        describe(n, held);
    return VG_EVAL_PASSED;
}

/* One evaluation of the part gives every text `not` may need: its reason
 * if it failed, read in facts mode when what held is wanted (what `not`
 * quotes then is what the part found: "CidrIp is "0.0.0.0/1"", without
 * what it expected), or if it could not be decided (such reasons do not
 * depend on the mode); and what held, if it held. A second evaluation
 * here would double the work at each level of a chain of nots. */
static enum vg_eval eval_not(struct ectx *e, const struct node *n, const struct vg_json *root,
                             struct rbuf *why, struct rbuf *held)
{
    const struct node *kid = n->kids[0];
    char wtmp[VG_MAX_REASON], htmp[VG_MAX_REASON];
    struct rbuf wb, hb;
    rb_init(&wb, wtmp, sizeof(wtmp));
    rb_init(&hb, htmp, sizeof(htmp));
    bool saved = e->facts;
    if (held)
        e->facts = true;
    enum vg_eval r = eval_node(e, kid, root, why || held ? &wb : NULL, why ? &hb : NULL);
    e->facts = saved;
    if (r == VG_EVAL_PASSED) {
        if (why)
            forbidden_reason(e, why, htmp, kid);
        return VG_EVAL_FAILED;
    }
    if (r == VG_EVAL_FAILED) {
        if (held)
            rb_puts(held, wtmp);
        return VG_EVAL_PASSED;
    }
    if (why)
        rb_puts(why, wtmp);
    return r;
}

static enum vg_eval eval_node(struct ectx *e, const struct node *n, const struct vg_json *root,
                              struct rbuf *why, struct rbuf *held)
{
    enum vg_eval r;
    if (why)
        rb_reset(why);
    if (held)
        rb_reset(held);
    switch (n->op) {
    case OP_ALL: r = eval_all(e, n, root, why, held); break;
    case OP_ANY: r = eval_any(e, n, root, why, held); break;
    case OP_NONE: r = eval_none(e, n, root, why, held); break;
    case OP_NOT: r = eval_not(e, n, root, why, held); break;
    case OP_ALL_OF:
    case OP_ANY_OF:
    case OP_NONE_OF:
    case OP_COUNT: r = eval_quant(e, n, root, why, held); break;
    case OP_PORTS_OVERLAP:
    case OP_PORTS_WITHIN: r = eval_ports(e, n, root, why, held); break;
    default: r = eval_leaf(e, n, root, why, held); break;
    }
    if (r == VG_EVAL_PASSED && why)
        rb_reset(why);
    if (r != VG_EVAL_PASSED && held)
        rb_reset(held);
    return r;
}

enum vg_err vg_cond_eval(const struct vg_cond *c, const struct vg_resource *res, int64_t now_ms,
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

    struct ectx e = { .c = c, .res = res, .size = 2 /* {} */, .now_ms = now_ms };
    vg_buf_init(&e.scratch, VG_MAX_EVIDENCE);
    e.slots = calloc(c->nkeys ? c->nkeys : 1, sizeof(*e.slots));
    e.order = calloc(c->nkeys ? c->nkeys : 1, sizeof(*e.order));
    if (!e.slots || !e.order) {
        e.err = VG_ERR_NOMEM;
    } else {
        out->evaluation = eval_node(&e, c->root, res->doc, &why, NULL);
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
    else if (!out->reason[0])
        snprintf(out->reason, sizeof(out->reason), "%s",
                 out->evaluation == VG_EVAL_FAILED ? "the check failed" : "could not evaluate");
    return VG_OK;
}
