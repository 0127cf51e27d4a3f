/*
 * The nftables ruleset a Debian host loads at boot: nftables.service runs
 * `nft -f /etc/nftables.conf`. We read that file (and what it includes)
 * the way nft's parser does, as far as tables and chains go, to learn the
 * base chains: their family, table, hook, type, priority and policy.
 * Rules inside chains are counted, not interpreted.
 *
 * What is read:
 *   # comments, "quoted strings", \ line continuations, statements ended
 *   by a newline or ';', blocks in { }.
 *   include "FILE"            relative to /etc (nft's include path); a
 *                             glob is expanded in name order, a plain
 *                             file must exist (nft fails otherwise)
 *   define / redefine / undefine NAME [= VALUE]
 *   flush ruleset [FAMILY]    forgets every table (of that family)
 *   [add|create] table [FAMILY] NAME [{ ... }]     FAMILY defaults to ip
 *   [add|create] chain [FAMILY] TABLE NAME [{ ... }]
 *   delete|destroy table [FAMILY] NAME, delete|destroy chain ... NAME
 *   inside a table: chain NAME { ... }, flags dormant, comment, and set,
 *     map, flowtable, counter, quota, limit, ct, secmark, synproxy blocks
 *     (skipped)
 *   inside a chain: type T hook H [device ...] priority P; policy
 *     accept|drop; comment; anything else is a rule (counted)
 *   add|insert|replace|delete rule ..., add element ..., list ... (skipped)
 * A later declaration of the same chain updates it, as nft does.
 *
 * `nft -f` applies a file as one transaction: one error and nothing is
 * loaded. So anything we do not recognise is an error ("FILE:LINE: why"),
 * and the collector reports the chains as unknown, never as a guess.
 *
 * Document (type host.firewall):
 *   "nftables": {
 *     "config_file": "/etc/nftables.conf", "exists": bool,
 *     "files": [files read, in order],
 *     "tables": [{"family", "name", "dormant"}],
 *     "chains": [{"family", "table", "name", "base", "type", "hook",
 *                 "priority", "policy", "rules", "dormant", "source"}]
 *   }
 * type, hook, priority (an integer: named priorities resolved for the
 * family) and policy (default "accept") are present for base chains only;
 * "dormant" is the table's flag (a dormant table filters nothing).
 */
#include "host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFT_CONF "/etc/nftables.conf"
#define NFT_INCLUDE_DIR "/etc"
#define NFT_MAX_OBJECTS 4096     /* tables, chains or variables */
#define NFT_MAX_NAME 256

/* ------------------------------------------------------------------ */
/* Lexer                                                               */
/* ------------------------------------------------------------------ */

enum tok { T_EOF, T_NL, T_SEMI, T_LBRACE, T_RBRACE, T_WORD, T_STRING, T_ERROR };

struct token {
    enum tok t;
    const char *s;      /* WORD and STRING (without quotes) */
    size_t n;
    size_t line;
};

struct lexer {
    const char *p, *end;
    size_t line;
    struct token peeked;
    bool have_peek;
    const char *error;
};

static struct token lex(struct lexer *lx)
{
    struct token t = { T_EOF, NULL, 0, 0 };
    for (;;) {
        while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r'))
            lx->p++;
        if (lx->p < lx->end && *lx->p == '\\') {
            const char *q = lx->p + 1;
            if (q < lx->end && *q == '\r')
                q++;
            if (q < lx->end && *q == '\n') {
                lx->p = q + 1;
                lx->line++;
                continue;
            }
        }
        if (lx->p < lx->end && *lx->p == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
            continue;
        }
        break;
    }
    t.line = lx->line;
    if (lx->p >= lx->end)
        return t;
    char c = *lx->p;
    if (c == '\n') {
        lx->p++;
        lx->line++;
        t.t = T_NL;
        return t;
    }
    if (c == ';' || c == '{' || c == '}') {
        lx->p++;
        t.t = c == ';' ? T_SEMI : c == '{' ? T_LBRACE : T_RBRACE;
        return t;
    }
    if (c == '\0') {
        lx->error = "a NUL byte";
        t.t = T_ERROR;
        return t;
    }
    if (c == '"') {
        const char *q = lx->p + 1;
        while (q < lx->end && *q != '"' && *q != '\n' && *q != '\0')
            q++;
        if (q >= lx->end || *q != '"') {
            lx->error = "unterminated string";
            t.t = T_ERROR;
            return t;
        }
        t.t = T_STRING;
        t.s = lx->p + 1;
        t.n = (size_t)(q - lx->p - 1);
        lx->p = q + 1;
        return t;
    }
    const char *q = lx->p;
    while (q < lx->end && !strchr(" \t\r\n;{}#\"", *q) && *q != '\0')
        q++;
    t.t = T_WORD;
    t.s = lx->p;
    t.n = (size_t)(q - lx->p);
    lx->p = q;
    return t;
}

static struct token next(struct lexer *lx)
{
    if (lx->have_peek) {
        lx->have_peek = false;
        return lx->peeked;
    }
    return lex(lx);
}

static struct token peek(struct lexer *lx)
{
    if (!lx->have_peek) {
        lx->peeked = lex(lx);
        lx->have_peek = true;
    }
    return lx->peeked;
}

/* How a token reads in an error: its text, or the punctuation. */
static const char *tok_text(const struct token *t, char *buf, size_t len)
{
    switch (t->t) {
    case T_WORD:
    case T_STRING:
        snprintf(buf, len, "%.*s", (int)(t->n > 40 ? 40 : t->n), t->s);
        break;
    case T_LBRACE: snprintf(buf, len, "{"); break;
    case T_RBRACE: snprintf(buf, len, "}"); break;
    case T_SEMI: snprintf(buf, len, ";"); break;
    case T_NL: snprintf(buf, len, "end of line"); break;
    default: snprintf(buf, len, "end of file"); break;
    }
    return buf;
}

static bool tok_is(const struct token *t, const char *w)
{
    return t->t == T_WORD && strlen(w) == t->n && strncmp(t->s, w, t->n) == 0;
}

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

struct nft_table {
    char family[8];
    char name[NFT_MAX_NAME];
    bool dormant;
};

struct nft_chain {
    char family[8];
    char table[NFT_MAX_NAME];
    char name[NFT_MAX_NAME];
    bool base;
    char type[16], hook[16];
    long long priority;
    char policy[8];      /* "" until set: "accept" by default */
    size_t rules;
    char source[HOST_MAX_PATH + 24];
};

struct nft_var {
    char name[NFT_MAX_NAME];
    char *value;         /* one word, or NULL for a value that is not */
};

struct nft {
    const struct host_root *hr;
    struct nft_table *tables;
    size_t ntables, ctables;
    struct nft_chain *chains;
    size_t nchains, cchains;
    struct nft_var *vars;
    size_t nvars, cvars;
    struct host_strv files;     /* every file read */
    struct host_strv stack;     /* files being read, for loops */
    char *errbuf;
    size_t errlen;
    bool nomem;
};

/* One file being parsed. */
struct pctx {
    struct nft *n;
    struct lexer lx;
    const char *file;
    int depth;
};

static const char *const families[] = { "ip", "ip6", "inet", "arp", "bridge", "netdev" };

static bool is_family(const struct token *t)
{
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (tok_is(t, families[i]))
            return true;
    return false;
}

/* Sets the error once (the first one is the one that matters). */
static enum vg_err fail(struct pctx *c, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum vg_err fail(struct pctx *c, size_t line, const char *fmt, ...)
{
    if (!c->n->errbuf[0]) {
        int w = snprintf(c->n->errbuf, c->n->errlen, "%.300s:%zu: ", c->file, line);
        if (w > 0 && (size_t)w < c->n->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->n->errbuf + w, c->n->errlen - (size_t)w, fmt, ap);
            va_end(ap);
        }
    }
    return VG_ERR_PARSE;
}

static enum vg_err lex_fail(struct pctx *c, const struct token *t)
{
    return fail(c, t->line, "%s", c->lx.error ? c->lx.error : "syntax error");
}

/* A name token (word or string) into buf. */
static enum vg_err take_name(struct pctx *c, char *buf, size_t len, const char *what)
{
    struct token t = next(&c->lx);
    if (t.t == T_ERROR)
        return lex_fail(c, &t);
    if ((t.t != T_WORD && t.t != T_STRING) || t.n == 0)
        return fail(c, t.line, "expected %s", what);
    if (t.n >= len)
        return fail(c, t.line, "%s too long", what);
    memcpy(buf, t.s, t.n);
    buf[t.n] = '\0';
    if (t.t == T_WORD && buf[0] == '$')
        return fail(c, t.line, "a variable as %s is not supported", what);
    return VG_OK;
}

static struct nft_table *find_table(struct nft *n, const char *family, const char *name)
{
    for (size_t i = 0; i < n->ntables; i++)
        if (strcmp(n->tables[i].family, family) == 0 && strcmp(n->tables[i].name, name) == 0)
            return &n->tables[i];
    return NULL;
}

static struct nft_chain *find_chain(struct nft *n, const char *family, const char *table,
                                    const char *name)
{
    for (size_t i = 0; i < n->nchains; i++)
        if (strcmp(n->chains[i].family, family) == 0 &&
            strcmp(n->chains[i].table, table) == 0 && strcmp(n->chains[i].name, name) == 0)
            return &n->chains[i];
    return NULL;
}

/* Makes room in an array of n elements of size sz (capacity *cap) for
 * one more; false when out of memory or past the bound. */
static bool grow(struct pctx *c, void **arr, size_t n, size_t *cap, size_t sz, size_t line)
{
    if (n >= NFT_MAX_OBJECTS) {
        fail(c, line, "more than %d objects", NFT_MAX_OBJECTS);
        return false;
    }
    if (n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        void *p = realloc(*arr, ncap * sz);
        if (!p) {
            c->n->nomem = true;
            return false;
        }
        *arr = p;
        *cap = ncap;
    }
    return true;
}

static struct nft_table *add_table(struct pctx *c, const char *family, const char *name,
                                   size_t line)
{
    struct nft *n = c->n;
    struct nft_table *t = find_table(n, family, name);
    if (t)
        return t;
    if (!grow(c, (void **)&n->tables, n->ntables, &n->ctables, sizeof(*t), line))
        return NULL;
    t = &n->tables[n->ntables++];
    memset(t, 0, sizeof(*t));
    snprintf(t->family, sizeof(t->family), "%s", family);
    snprintf(t->name, sizeof(t->name), "%s", name);
    return t;
}

static void remove_table(struct nft *n, const char *family, const char *name)
{
    size_t w = 0;
    for (size_t i = 0; i < n->nchains; i++)
        if (!(strcmp(n->chains[i].family, family) == 0 && strcmp(n->chains[i].table, name) == 0))
            n->chains[w++] = n->chains[i];
    n->nchains = w;
    w = 0;
    for (size_t i = 0; i < n->ntables; i++)
        if (!(strcmp(n->tables[i].family, family) == 0 && strcmp(n->tables[i].name, name) == 0))
            n->tables[w++] = n->tables[i];
    n->ntables = w;
}

static struct nft_var *find_var(struct nft *n, const char *name)
{
    for (size_t i = 0; i < n->nvars; i++)
        if (strcmp(n->vars[i].name, name) == 0)
            return &n->vars[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Statements                                                          */
/* ------------------------------------------------------------------ */

/* Skips to the end of the statement: a newline or ';' outside braces, or
 * the '}' that closes the enclosing block (left for the caller). Braces
 * inside (anonymous sets, set and map bodies) are skipped whole. */
static enum vg_err skip_statement(struct pctx *c)
{
    int depth = 0;
    for (;;) {
        struct token t = peek(&c->lx);
        if (t.t == T_ERROR)
            return lex_fail(c, &t);
        if (t.t == T_EOF) {
            if (depth)
                return fail(c, t.line, "unclosed {");
            return VG_OK;
        }
        if (t.t == T_RBRACE && depth == 0)
            return VG_OK;
        next(&c->lx);
        if (t.t == T_LBRACE) {
            if (++depth > 64)
                return fail(c, t.line, "braces nested too deep");
        } else if (t.t == T_RBRACE) {
            depth--;
        } else if ((t.t == T_NL || t.t == T_SEMI) && depth == 0) {
            return VG_OK;
        }
    }
}

/* The end of a statement: ';', a newline, the end, or a '}' (left). */
static enum vg_err end_statement(struct pctx *c, const char *what)
{
    struct token t = peek(&c->lx);
    if (t.t == T_ERROR)
        return lex_fail(c, &t);
    if (t.t == T_NL || t.t == T_SEMI) {
        next(&c->lx);
        return VG_OK;
    }
    if (t.t == T_EOF || t.t == T_RBRACE)
        return VG_OK;
    char buf[48];
    return fail(c, t.line, "unexpected \"%s\" after %s", tok_text(&t, buf, sizeof(buf)), what);
}

/* Skips newlines; true when a '{' follows (not consumed). */
static bool block_follows(struct pctx *c)
{
    struct token t = peek(&c->lx);
    return t.t == T_LBRACE;
}

/* A named priority of family, or false. */
static bool named_priority(const char *family, const char *name, long long *out)
{
    static const struct {
        const char *name;
        long long v, bridge;   /* bridge has its own values; LLONG_MIN: none */
    } prios[] = {
        { "raw", -300, 1LL << 62 },     { "mangle", -150, 1LL << 62 },
        { "dstnat", -100, -300 },       { "filter", 0, -200 },
        { "security", 50, 1LL << 62 },  { "srcnat", 100, 300 },
        { "out", 1LL << 62, 100 },
    };
    bool bridge = strcmp(family, "bridge") == 0;
    for (size_t i = 0; i < sizeof(prios) / sizeof(prios[0]); i++) {
        if (strcmp(prios[i].name, name) != 0)
            continue;
        long long v = bridge ? prios[i].bridge : prios[i].v;
        if (v == 1LL << 62)
            return false;
        *out = v;
        return true;
    }
    return false;
}

static bool parse_int(const char *s, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < -2147483648LL || v > 2147483647LL)
        return false;
    *out = v;
    return true;
}

/* The value of a word, $variables resolved (one level of one word). */
static enum vg_err word_value(struct pctx *c, const struct token *t, char *buf, size_t len)
{
    if (t->n >= len)
        return fail(c, t->line, "word too long");
    memcpy(buf, t->s, t->n);
    buf[t->n] = '\0';
    if (buf[0] != '$')
        return VG_OK;
    struct nft_var *v = find_var(c->n, buf + 1);
    if (!v)
        return fail(c, t->line, "undefined variable %s", buf);
    if (!v->value)
        return fail(c, t->line, "variable %s is not a single word", buf);
    if (strlen(v->value) >= len)
        return fail(c, t->line, "word too long");
    strcpy(buf, v->value);
    return VG_OK;
}

/* "priority P" to the end of the statement: N, NAME, NAME + N, NAME - N. */
static enum vg_err parse_priority(struct pctx *c, struct nft_chain *ch)
{
    char text[128] = "";
    size_t line = c->lx.line;
    for (;;) {
        struct token t = peek(&c->lx);
        if (t.t == T_ERROR)
            return lex_fail(c, &t);
        if (t.t != T_WORD)
            break;
        next(&c->lx);
        char w[64];
        enum vg_err err = word_value(c, &t, w, sizeof(w));
        if (err)
            return err;
        if (strlen(text) + strlen(w) + 1 >= sizeof(text))
            return fail(c, t.line, "priority too long");
        strcat(text, w);
    }
    /* text is now e.g. "filter", "-150", "filter+10", "filter-5" */
    long long v;
    if (parse_int(text, &v)) {
        ch->priority = v;
        return VG_OK;
    }
    size_t k = strcspn(text, "+-");
    char name[64];
    if (k == 0 || k >= sizeof(name))
        return fail(c, line, "invalid priority \"%s\"", text);
    memcpy(name, text, k);
    name[k] = '\0';
    if (!named_priority(ch->family, name, &v))
        return fail(c, line, "unknown priority \"%s\" for family %s", name, ch->family);
    if (text[k]) {
        long long off;
        if (!parse_int(text + k + 1, &off) || off < 0)
            return fail(c, line, "invalid priority \"%s\"", text);
        v += text[k] == '+' ? off : -off;
    }
    ch->priority = v;
    return VG_OK;
}

static bool one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* "type T hook H [device D | devices = {...}] priority P" */
static enum vg_err parse_type(struct pctx *c, struct nft_chain *ch, size_t line)
{
    static const char *const types[] = { "filter", "nat", "route", NULL };
    static const char *const hooks[] = { "prerouting", "input", "forward", "output",
                                         "postrouting", "ingress", "egress", NULL };
    char w[64];
    struct token t = next(&c->lx);
    enum vg_err err = t.t == T_WORD ? word_value(c, &t, w, sizeof(w)) : fail(c, t.line,
                                                                              "expected a type");
    if (err)
        return err;
    if (!one_of(w, types))
        return fail(c, t.line, "unknown chain type \"%s\"", w);
    snprintf(ch->type, sizeof(ch->type), "%.15s", w);
    t = next(&c->lx);
    if (!tok_is(&t, "hook"))
        return fail(c, t.line, "expected hook after type");
    t = next(&c->lx);
    err = t.t == T_WORD ? word_value(c, &t, w, sizeof(w)) : fail(c, t.line, "expected a hook");
    if (err)
        return err;
    if (!one_of(w, hooks))
        return fail(c, t.line, "unknown hook \"%s\"", w);
    snprintf(ch->hook, sizeof(ch->hook), "%.15s", w);
    for (;;) {
        t = next(&c->lx);
        if (tok_is(&t, "priority"))
            break;
        if (tok_is(&t, "device") || tok_is(&t, "devices")) {
            /* device NAME | devices = { a, b } | devices = $var */
            struct token u = peek(&c->lx);
            if (tok_is(&u, "="))
                next(&c->lx);
            u = next(&c->lx);
            if (u.t == T_LBRACE) {
                for (;;) {
                    u = next(&c->lx);
                    if (u.t == T_RBRACE)
                        break;
                    if (u.t == T_EOF || u.t == T_ERROR || u.t == T_LBRACE)
                        return fail(c, u.line, "unclosed device list");
                }
            } else if (u.t != T_WORD && u.t != T_STRING) {
                return fail(c, u.line, "expected a device");
            }
            continue;
        }
        return fail(c, t.line, "expected priority in the chain's type statement");
    }
    err = parse_priority(c, ch);
    if (!err) {
        ch->base = true;
        snprintf(ch->source, sizeof(ch->source), "%.*s:%zu", HOST_MAX_PATH, c->file, line);
    }
    return err;
}

/* The body of a chain, after its '{', through its '}'. */
static enum vg_err chain_body(struct pctx *c, struct nft_chain *ch)
{
    for (;;) {
        struct token t = next(&c->lx);
        enum vg_err err = VG_OK;
        if (t.t == T_ERROR)
            return lex_fail(c, &t);
        if (t.t == T_EOF)
            return fail(c, t.line, "chain %s is not closed", ch->name);
        if (t.t == T_RBRACE)
            return VG_OK;
        if (t.t == T_NL || t.t == T_SEMI)
            continue;
        if (t.t == T_LBRACE)
            return fail(c, t.line, "unexpected {");
        if (tok_is(&t, "type")) {
            err = parse_type(c, ch, t.line);
            if (!err)
                err = end_statement(c, "the chain type");
        } else if (tok_is(&t, "policy")) {
            struct token u = next(&c->lx);
            char w[64];
            err = u.t == T_WORD ? word_value(c, &u, w, sizeof(w))
                                : fail(c, u.line, "expected a policy");
            if (!err && strcmp(w, "accept") != 0 && strcmp(w, "drop") != 0)
                err = fail(c, u.line, "unknown policy \"%s\"", w);
            if (!err) {
                snprintf(ch->policy, sizeof(ch->policy), "%.7s", w);
                err = end_statement(c, "the policy");
            }
        } else if (tok_is(&t, "comment") || tok_is(&t, "devices") || tok_is(&t, "device") ||
                   tok_is(&t, "flags")) {
            err = skip_statement(c);
        } else {
            /* a rule: what it matches does not change the policy */
            ch->rules++;
            err = skip_statement(c);
        }
        if (err)
            return err;
    }
}

/* Finds or creates a chain of an existing table. */
static struct nft_chain *chain_of(struct pctx *c, const char *family, const char *table,
                                  const char *name, size_t line)
{
    struct nft *n = c->n;
    if (!find_table(n, family, table)) {
        fail(c, line, "chain %s in table %s %s, which is not declared", name, family, table);
        return NULL;
    }
    struct nft_chain *ch = find_chain(n, family, table, name);
    if (ch)
        return ch;
    if (!grow(c, (void **)&n->chains, n->nchains, &n->cchains, sizeof(*ch), line))
        return NULL;
    ch = &n->chains[n->nchains++];
    memset(ch, 0, sizeof(*ch));
    snprintf(ch->family, sizeof(ch->family), "%s", family);
    snprintf(ch->table, sizeof(ch->table), "%s", table);
    snprintf(ch->name, sizeof(ch->name), "%s", name);
    snprintf(ch->source, sizeof(ch->source), "%.*s:%zu", HOST_MAX_PATH, c->file, line);
    return ch;
}

static enum vg_err chain_err(struct pctx *c)
{
    return c->n->nomem ? VG_ERR_NOMEM : VG_ERR_PARSE;
}

/* The body of a table, after its '{', through its '}'. */
static enum vg_err table_body(struct pctx *c, const char *family, const char *table)
{
    for (;;) {
        struct token t = next(&c->lx);
        enum vg_err err = VG_OK;
        if (t.t == T_ERROR)
            return lex_fail(c, &t);
        if (t.t == T_EOF)
            return fail(c, t.line, "table %s is not closed", table);
        if (t.t == T_RBRACE)
            return VG_OK;
        if (t.t == T_NL || t.t == T_SEMI)
            continue;
        if (tok_is(&t, "chain")) {
            char name[NFT_MAX_NAME];
            err = take_name(c, name, sizeof(name), "a chain name");
            if (err)
                return err;
            struct nft_chain *ch = chain_of(c, family, table, name, t.line);
            if (!ch)
                return chain_err(c);
            struct token u = next(&c->lx);
            if (u.t != T_LBRACE)
                return fail(c, u.line, "expected { after chain %s", name);
            /* ch may move if the body declared chains: it cannot (no
             * chain inside a chain), so the pointer stays valid. */
            err = chain_body(c, ch);
        } else if (tok_is(&t, "flags")) {
            for (;;) {
                struct token u = peek(&c->lx);
                if (u.t != T_WORD)
                    break;
                next(&c->lx);
                if (tok_is(&u, "dormant") || tok_is(&u, "dormant,")) {
                    struct nft_table *tb = find_table(c->n, family, table);
                    if (tb)
                        tb->dormant = true;
                }
            }
            err = end_statement(c, "flags");
        } else if (tok_is(&t, "set") || tok_is(&t, "map") || tok_is(&t, "flowtable") ||
                   tok_is(&t, "counter") || tok_is(&t, "quota") || tok_is(&t, "limit") ||
                   tok_is(&t, "ct") || tok_is(&t, "secmark") || tok_is(&t, "synproxy") ||
                   tok_is(&t, "comment")) {
            err = skip_statement(c);
        } else {
            char buf[48];
            return fail(c, t.line, "unknown statement \"%s\" in table %s",
                        tok_text(&t, buf, sizeof(buf)), table);
        }
        if (err)
            return err;
    }
}

/* [FAMILY] NAME, FAMILY defaulting to ip. */
static enum vg_err family_and_name(struct pctx *c, char *family, char *name)
{
    struct token t = peek(&c->lx);
    if (t.t == T_ERROR)
        return lex_fail(c, &t);
    strcpy(family, "ip");
    if (is_family(&t)) {
        memcpy(family, t.s, t.n);
        family[t.n] = '\0';
        next(&c->lx);
    }
    return take_name(c, name, NFT_MAX_NAME, "a name");
}

static enum vg_err table_statement(struct pctx *c, size_t line)
{
    char family[8], name[NFT_MAX_NAME];
    enum vg_err err = family_and_name(c, family, name);
    if (err)
        return err;
    if (!add_table(c, family, name, line))
        return chain_err(c);
    if (block_follows(c)) {
        next(&c->lx);
        err = table_body(c, family, name);
        if (err)
            return err;
    }
    return end_statement(c, "the table");
}

/* chain [FAMILY] TABLE NAME [{ ... }] */
static enum vg_err chain_statement(struct pctx *c, size_t line)
{
    char family[8], table[NFT_MAX_NAME], name[NFT_MAX_NAME];
    enum vg_err err = family_and_name(c, family, table);
    if (!err)
        err = take_name(c, name, sizeof(name), "a chain name");
    if (err)
        return err;
    struct nft_chain *ch = chain_of(c, family, table, name, line);
    if (!ch)
        return chain_err(c);
    if (block_follows(c)) {
        next(&c->lx);
        err = chain_body(c, ch);
        if (err)
            return err;
    }
    return end_statement(c, "the chain");
}

static enum vg_err delete_statement(struct pctx *c, const struct token *verb)
{
    struct token t = next(&c->lx);
    char family[8], table[NFT_MAX_NAME], name[NFT_MAX_NAME];
    enum vg_err err;
    if (tok_is(&t, "table")) {
        err = family_and_name(c, family, table);
        if (err)
            return err;
        struct token h = peek(&c->lx);
        if (tok_is(&h, "handle"))
            return fail(c, t.line, "%.*s table by handle is not supported", (int)verb->n,
                        verb->s);
        if (!find_table(c->n, family, table) && tok_is(verb, "delete"))
            return fail(c, t.line, "delete of table %s %s, which does not exist", family,
                        table);
        remove_table(c->n, family, table);
        return end_statement(c, "the table");
    }
    if (tok_is(&t, "chain")) {
        err = family_and_name(c, family, table);
        if (!err)
            err = take_name(c, name, sizeof(name), "a chain name");
        if (err)
            return err;
        if (strcmp(name, "handle") == 0)
            return fail(c, t.line, "%.*s chain by handle is not supported", (int)verb->n,
                        verb->s);
        struct nft *n = c->n;
        struct nft_chain *ch = find_chain(n, family, table, name);
        if (!ch && tok_is(verb, "delete"))
            return fail(c, t.line, "delete of chain %s, which does not exist", name);
        if (ch) {
            size_t i = (size_t)(ch - n->chains);
            memmove(ch, ch + 1, (n->nchains - i - 1) * sizeof(*ch));
            n->nchains--;
        }
        return end_statement(c, "the chain");
    }
    /* rule, element, set, map, ...: no effect on chains and policies */
    return skip_statement(c);
}

static enum vg_err define_statement(struct pctx *c, const struct token *verb)
{
    char name[NFT_MAX_NAME];
    enum vg_err err = take_name(c, name, sizeof(name), "a variable name");
    if (err)
        return err;
    struct nft *n = c->n;
    if (tok_is(verb, "undefine")) {
        struct nft_var *v = find_var(n, name);
        if (v) {
            free(v->value);
            *v = n->vars[--n->nvars];
        }
        return end_statement(c, "undefine");
    }
    struct token t = next(&c->lx);
    if (!tok_is(&t, "="))
        return fail(c, t.line, "expected = after define %s", name);
    /* The value: one word, or anything else (kept as "not one word"). */
    struct token v1 = peek(&c->lx);
    char *value = NULL;
    if (v1.t == T_ERROR)
        return lex_fail(c, &v1);
    if (v1.t == T_WORD || v1.t == T_STRING) {
        next(&c->lx);
        struct token v2 = peek(&c->lx);
        if (v2.t == T_NL || v2.t == T_SEMI || v2.t == T_EOF || v2.t == T_RBRACE) {
            value = strndup(v1.s, v1.n);
            if (!value)
                return VG_ERR_NOMEM;
        }
    }
    err = skip_statement(c);
    if (err) {
        free(value);
        return err;
    }
    struct nft_var *v = find_var(n, name);
    if (!v) {
        if (!grow(c, (void **)&n->vars, n->nvars, &n->cvars, sizeof(*v), t.line)) {
            free(value);
            return chain_err(c);
        }
        v = &n->vars[n->nvars++];
        snprintf(v->name, sizeof(v->name), "%s", name);
        v->value = NULL;
    }
    free(v->value);
    v->value = value;
    return VG_OK;
}

static enum vg_err parse_text(struct nft *n, const char *text, size_t len, const char *file,
                              int depth);

static bool has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static enum vg_err include_file(struct pctx *c, const char *path, size_t line)
{
    struct nft *n = c->n;
    if (host_strv_has(&n->stack, path))
        return fail(c, line, "include loop: %s is already being read", path);
    if (n->files.n >= VG_MAX_INCLUDE_FILES)
        return fail(c, line, "more than %d included files", VG_MAX_INCLUDE_FILES);
    struct vg_buf b;
    char words[128];
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = host_read_file(n->hr, path, VG_MAX_HOST_FILE, &b, NULL);
    if (e) {
        vg_buf_free(&b);
        if (e == ENOMEM)
            return VG_ERR_NOMEM;
        return fail(c, line, "cannot read %s: %s", path, host_strerror(e, words, sizeof(words)));
    }
    enum vg_err err = parse_text(n, b.data, b.len, path, c->depth + 1);
    vg_buf_free(&b);
    return err;
}

static enum vg_err include_statement(struct pctx *c, size_t line)
{
    struct token t = next(&c->lx);
    if (t.t == T_ERROR)
        return lex_fail(c, &t);
    if (t.t != T_STRING || t.n == 0)
        return fail(c, t.line, "include needs a quoted file name");
    if (!c->n->hr)
        return fail(c, line, "include is not followed here");
    if (c->depth + 1 >= VG_MAX_INCLUDE_DEPTH)
        return fail(c, line, "includes nested more than %d deep", VG_MAX_INCLUDE_DEPTH);
    char path[HOST_MAX_PATH];
    int w = t.s[0] == '/' ? snprintf(path, sizeof(path), "%.*s", (int)t.n, t.s)
                          : snprintf(path, sizeof(path), NFT_INCLUDE_DIR "/%.*s", (int)t.n, t.s);
    if (w < 0 || (size_t)w >= sizeof(path))
        return fail(c, line, "include path too long");
    enum vg_err err = end_statement(c, "include");
    if (err)
        return err;
    if (!has_glob(path))
        return include_file(c, path, line);
    struct host_strv matches = { 0 };
    char errpath[HOST_MAX_PATH], words[128];
    int e = host_glob(c->n->hr, path, VG_MAX_INCLUDE_FILES, &matches, errpath, sizeof(errpath));
    if (e) {
        host_strv_free(&matches);
        if (e == ENOMEM)
            return VG_ERR_NOMEM;
        return fail(c, line, "cannot read %.300s: %s", errpath,
                    host_strerror(e, words, sizeof(words)));
    }
    for (size_t i = 0; !err && i < matches.n; i++)
        err = include_file(c, matches.v[i], line);
    host_strv_free(&matches);
    return err;
}

static enum vg_err top_statement(struct pctx *c, const struct token *t)
{
    if (tok_is(t, "include"))
        return include_statement(c, t->line);
    if (tok_is(t, "define") || tok_is(t, "redefine") || tok_is(t, "undefine"))
        return define_statement(c, t);
    if (tok_is(t, "table"))
        return table_statement(c, t->line);
    if (tok_is(t, "chain"))
        return chain_statement(c, t->line);
    if (tok_is(t, "add") || tok_is(t, "create")) {
        struct token u = next(&c->lx);
        if (tok_is(&u, "table"))
            return table_statement(c, u.line);
        if (tok_is(&u, "chain"))
            return chain_statement(c, u.line);
        if (u.t == T_WORD)
            return skip_statement(c);   /* rule, element, set, map, ... */
        return fail(c, u.line, "expected an object after %.*s", (int)t->n, t->s);
    }
    if (tok_is(t, "delete") || tok_is(t, "destroy"))
        return delete_statement(c, t);
    if (tok_is(t, "flush")) {
        struct token u = next(&c->lx);
        if (tok_is(&u, "ruleset")) {
            struct token f = peek(&c->lx);
            if (is_family(&f)) {
                next(&c->lx);
                char fam[8];
                snprintf(fam, sizeof(fam), "%.*s", (int)f.n, f.s);
                for (size_t i = c->n->ntables; i-- > 0;)
                    if (strcmp(c->n->tables[i].family, fam) == 0) {
                        char name[NFT_MAX_NAME];
                        strcpy(name, c->n->tables[i].name);
                        remove_table(c->n, fam, name);
                    }
            } else {
                c->n->ntables = 0;
                c->n->nchains = 0;
            }
            return end_statement(c, "flush ruleset");
        }
        if (u.t == T_WORD)
            return skip_statement(c);   /* flush table/chain/set: rules only */
        return fail(c, u.line, "expected an object after flush");
    }
    if (tok_is(t, "insert") || tok_is(t, "replace") || tok_is(t, "rule") ||
        tok_is(t, "list") || tok_is(t, "reset"))
        return skip_statement(c);
    return fail(c, t->line, "unknown statement \"%.*s\"", (int)(t->n > 40 ? 40 : t->n), t->s);
}

static enum vg_err parse_text(struct nft *n, const char *text, size_t len, const char *file,
                              int depth)
{
    struct pctx c;
    memset(&c, 0, sizeof(c));
    c.n = n;
    c.file = file;
    c.depth = depth;
    c.lx.p = text;
    c.lx.end = text + len;
    c.lx.line = 1;
    if (host_strv_push(&n->files, file) != 0 || host_strv_push(&n->stack, file) != 0)
        return VG_ERR_NOMEM;
    enum vg_err err = VG_OK;
    while (!err) {
        struct token t = next(&c.lx);
        if (t.t == T_EOF)
            break;
        if (t.t == T_NL || t.t == T_SEMI)
            continue;
        if (t.t == T_ERROR)
            err = lex_fail(&c, &t);
        else if (t.t != T_WORD) {
            char buf[48];
            err = fail(&c, t.line, "unexpected \"%s\"", tok_text(&t, buf, sizeof(buf)));
        }
        else
            err = top_statement(&c, &t);
    }
    if (n->nomem)
        err = VG_ERR_NOMEM;
    /* pop this file */
    free(n->stack.v[--n->stack.n]);
    return err;
}

/* ------------------------------------------------------------------ */
/* The document                                                        */
/* ------------------------------------------------------------------ */

static enum vg_err build_doc(const struct nft *n, struct vg_json *doc)
{
    struct vg_json *tables = vg_json_array(), *chains = vg_json_array(), *files = vg_json_array();
    enum vg_err err = tables && chains && files ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; !err && i < n->files.n; i++)
        err = vg_json_push(files, vg_json_str(n->files.v[i]));
    for (size_t i = 0; !err && i < n->ntables; i++) {
        struct vg_json *t = vg_json_object();
        err = t ? VG_OK : VG_ERR_NOMEM;
        if (!err)
            err = vg_json_set_str(t, "family", n->tables[i].family);
        if (!err)
            err = vg_json_set_str(t, "name", n->tables[i].name);
        if (!err)
            err = vg_json_set_bool(t, "dormant", n->tables[i].dormant);
        if (err)
            vg_json_free(t);
        else
            err = vg_json_push(tables, t);
    }
    for (size_t i = 0; !err && i < n->nchains; i++) {
        const struct nft_chain *ch = &n->chains[i];
        const struct nft_table *tb = find_table((struct nft *)n, ch->family, ch->table);
        struct vg_json *o = vg_json_object();
        err = o ? VG_OK : VG_ERR_NOMEM;
        if (!err)
            err = vg_json_set_str(o, "family", ch->family);
        if (!err)
            err = vg_json_set_str(o, "table", ch->table);
        if (!err)
            err = vg_json_set_str(o, "name", ch->name);
        if (!err)
            err = vg_json_set_bool(o, "base", ch->base);
        if (!err && ch->base) {
            err = vg_json_set_str(o, "type", ch->type);
            if (!err)
                err = vg_json_set_str(o, "hook", ch->hook);
            if (!err)
                err = vg_json_set_int(o, "priority", ch->priority);
            if (!err)
                err = vg_json_set_str(o, "policy", ch->policy[0] ? ch->policy : "accept");
        }
        if (!err)
            err = vg_json_set_int(o, "rules", (int64_t)ch->rules);
        if (!err)
            err = vg_json_set_bool(o, "dormant", tb && tb->dormant);
        if (!err)
            err = vg_json_set_str(o, "source", ch->source);
        if (err)
            vg_json_free(o);
        else
            err = vg_json_push(chains, o);
    }
    if (!err) {
        err = vg_json_set(doc, "files", files);
        files = NULL;
    }
    if (!err) {
        err = vg_json_set(doc, "tables", tables);
        tables = NULL;
    }
    if (!err) {
        err = vg_json_set(doc, "chains", chains);
        chains = NULL;
    }
    vg_json_free(files);
    vg_json_free(tables);
    vg_json_free(chains);
    return err;
}

enum vg_err host_nft_parse(const struct host_root *hr, const char *text, size_t len,
                           const char *file, struct vg_json *doc, char *errbuf, size_t errlen)
{
    struct nft n;
    memset(&n, 0, sizeof(n));
    n.hr = hr;
    n.errbuf = errbuf;
    n.errlen = errlen;
    errbuf[0] = '\0';
    enum vg_err err = parse_text(&n, text, len, file, 0);
    if (err == VG_ERR_PARSE && !errbuf[0])
        snprintf(errbuf, errlen, "%.300s: syntax error", file);
    if (!err)
        err = build_doc(&n, doc);
    free(n.tables);
    free(n.chains);
    for (size_t i = 0; i < n.nvars; i++)
        free(n.vars[i].value);
    free(n.vars);
    host_strv_free(&n.files);
    host_strv_free(&n.stack);
    return err;
}

/* ------------------------------------------------------------------ */
/* The collector                                                       */
/* ------------------------------------------------------------------ */

enum vg_err host_firewall_collect(const struct host_root *hr, const char *host_name,
                                  struct vg_resource_list *out)
{
    char id[512], why[VG_MAX_REASON], words[128];
    struct vg_resource *r = vg_resource_new("host.firewall",
                                            host_resource_id(id, sizeof(id), host_name, "firewall"),
                                            "firewall", "configuration", "linux-nftables");
    if (!r)
        return VG_ERR_NOMEM;
    struct vg_json *nft = vg_json_child(r->doc, "nftables");
    enum vg_err err = nft ? vg_json_set_str(nft, "config_file", NFT_CONF) : VG_ERR_NOMEM;
    struct vg_buf b;
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = err ? 0 : host_read_file(hr, NFT_CONF, VG_MAX_HOST_FILE, &b, NULL);
    if (err) {
        /* out of memory */
    } else if (e == ENOMEM) {
        err = VG_ERR_NOMEM;
    } else if (e == ENOENT || e == ENOTDIR) {
        /* no configuration: nothing is loaded at boot */
        err = vg_json_set_bool(nft, "exists", false);
        if (!err)
            err = vg_json_set(nft, "files", vg_json_array());
        if (!err)
            err = vg_json_set(nft, "tables", vg_json_array());
        if (!err)
            err = vg_json_set(nft, "chains", vg_json_array());
    } else if (e) {
        snprintf(why, sizeof(why), "cannot read " NFT_CONF ": %s",
                 host_strerror(e, words, sizeof(words)));
        err = vg_resource_set_error(r, "nftables", why);
    } else {
        err = vg_json_set_bool(nft, "exists", true);
        if (!err)
            err = host_nft_parse(hr, b.data, b.len, NFT_CONF, nft, why, sizeof(why));
        if (err == VG_ERR_PARSE)
            err = vg_resource_set_error(r, "nftables", why);
    }
    vg_buf_free(&b);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}
