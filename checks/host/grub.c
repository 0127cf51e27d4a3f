/*
 * The kernel command line GRUB boots with: /etc/default/grub and
 * /etc/default/grub.d/ *.cfg (what grub-mkconfig sources, in that order,
 * the later files overriding), the linux lines of the generated
 * /boot/grub/grub.cfg, and the command line of the running kernel
 * (/proc/cmdline).
 *
 * /etc/default/grub is a shell script. We read the part of the shell that
 * such files use, without running anything: assignments (NAME=word,
 * "export NAME=word"), quoting ('...', "...", backslash, and
 * backslash-newline), comments, and $NAME / ${NAME} of variables assigned
 * before. Anything else leaves what it may change unknown, never guessed:
 * - a value made with `...`, $(...), $((...)), ${NAME:-...} or $1 is
 *   unknown (Debian's own GRUB_DISTRIBUTOR is one; only what a rule reads
 *   matters);
 * - an assignment inside if/case/for/while/until/{...}/(...), or after
 *   && or ||, may or may not happen: the variable becomes unknown;
 * - ".", "source", "eval", "read", "set", "unset" can change anything:
 *   every variable becomes unknown until assigned again.
 * Other commands are ignored: they cannot change the shell's variables.
 *
 * Kernel parameters are split as the kernel does (lib/cmdline.c): blanks
 * between them, double quotes around blanks, "--" ends them; a name
 * without "=" has the value true; the last of the same name wins (the
 * kernel calls each handler in turn). Values are integers when they read
 * as one.
 *
 * Document (type host.grub):
 *   "GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT": the strings
 *   "linux_params", "default_params": those strings as parameters
 *                  ({"audit": 1, "audit_backlog_limit": 8192, "quiet": true})
 *   "boot_entries": [{"name","kernel","params","source"}] from grub.cfg's
 *                   linux lines (absent when there is no grub.cfg)
 *   "running_params": /proc/cmdline as parameters
 *   "config_files": the files sourced
 * linux_params is what every boot entry gets (recovery ones included);
 * default_params only the normal ones. Sources: "GRUB_CMDLINE_LINUX" and
 * "linux_params" -> "/etc/default/grub:12" (the assignment in force) or
 * "not set in /etc/default/grub"; "boot_entries" -> "/boot/grub/grub.cfg";
 * "running_params" -> "/proc/cmdline". A value we cannot work out is an
 * error of its field, with the line that made it so.
 */
#include "host.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRUB_DEFAULT "/etc/default/grub"
#define GRUB_CFG "/boot/grub/grub.cfg"
#define WHY_MAX 512

/* ------------------------------------------------------------------ */
/* Kernel parameters                                                   */
/* ------------------------------------------------------------------ */

static struct vg_json *param_value(const char *s, size_t n)
{
    size_t i = 0;
    if (n && s[0] == '-')
        i = 1;
    size_t d = 0;
    while (i + d < n && isdigit((unsigned char)s[i + d]))
        d++;
    if (d && d <= 18 && i + d == n) {
        char tmp[24];
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        return vg_json_int(strtoll(tmp, NULL, 10));
    }
    return vg_json_strn(s, n);
}

enum vg_err host_boot_params(const char *cmdline, struct vg_json *params)
{
    const char *p = cmdline;
    enum vg_err err = VG_OK;
    while (!err) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        /* one argument: up to a blank outside double quotes */
        const char *start = p;
        bool quoted = false;
        const char *eq = NULL;
        while (*p && (quoted || !isspace((unsigned char)*p))) {
            /* the first '=' splits, quoted or not (the kernel's next_arg()) */
            if (*p == '"')
                quoted = !quoted;
            else if (*p == '=' && !eq)
                eq = p;
            p++;
        }
        const char *stop = p;
        /* a quote around the whole argument, or around the value, goes */
        const char *ns = start;
        if (*ns == '"')
            ns++;
        const char *ne = eq ? eq : stop;
        if (!eq && ne > ns && ne[-1] == '"')
            ne--;
        size_t nlen = (size_t)(ne - ns);
        if (nlen == 2 && strncmp(ns, "--", 2) == 0 && !eq)
            break;   /* the rest is init's */
        if (nlen == 0 || nlen >= 256)
            continue;
        char name[256];
        memcpy(name, ns, nlen);
        name[nlen] = '\0';
        if (vg_json_len(params) >= HOST_MAX_BOOT_PARAMS && !vg_json_get(params, name))
            continue;   /* past the bound: only names already there change */
        struct vg_json *v;
        if (!eq) {
            v = vg_json_bool(true);
        } else {
            const char *vs = eq + 1, *ve = stop;
            if (*vs == '"') {
                vs++;
                if (ve > vs && ve[-1] == '"')
                    ve--;
            } else if (start[0] == '"' && ve > vs && ve[-1] == '"') {
                ve--;
            }
            v = param_value(vs, (size_t)(ve - vs));
        }
        err = vg_json_set(params, name, v);   /* the last one wins */
    }
    return err;
}

/* ------------------------------------------------------------------ */
/* The shell subset                                                    */
/* ------------------------------------------------------------------ */

struct shvar {
    char *name;
    char *value;
    char src[HOST_MAX_PATH + 32];    /* where it was assigned */
    char why[WHY_MAX];               /* non-empty: the value is unknown, and why */
};

struct sh {
    struct shvar *v;
    size_t n, cap;
    struct vg_json *index;           /* name -> index in v */
    char unknown_all[WHY_MAX];       /* non-empty: unset variables are unknown too */
    bool nomem;
    char fatal[WHY_MAX];             /* the file itself could not be read */
};

static void unknown_everything(struct sh *s, const char *why);

static struct shvar *sh_get(const struct sh *s, const char *name)
{
    const struct vg_json *ix = s->index ? vg_json_get(s->index, name) : NULL;
    return ix ? &s->v[vg_json_get_int(ix)] : NULL;
}

static void sh_set(struct sh *s, const char *name, const char *value, const char *src,
                   const char *why)
{
    struct shvar *v = sh_get(s, name);
    if (!v) {
        if (s->n >= HOST_MAX_SHELL_VARS) {
            /* a variable we cannot keep would read as unset: a silent ""
             * could make a command line look right; nothing is known now */
            char past[WHY_MAX];
            snprintf(past, sizeof(past), "%.128s is past the %d shell variables Vigil tracks",
                     name, HOST_MAX_SHELL_VARS);
            unknown_everything(s, past);
            return;
        }
        if (s->n == s->cap) {
            size_t ncap = s->cap ? s->cap * 2 : 16;
            struct shvar *nv = realloc(s->v, ncap * sizeof(*nv));
            if (!nv) {
                s->nomem = true;
                return;
            }
            s->v = nv;
            s->cap = ncap;
        }
        if (!s->index && !(s->index = vg_json_object())) {
            s->nomem = true;
            return;
        }
        v = &s->v[s->n];
        memset(v, 0, sizeof(*v));
        v->name = strdup(name);
        if (!v->name || vg_json_set_int(s->index, name, (int64_t)s->n) != VG_OK) {
            free(v->name);
            s->nomem = true;
            return;
        }
        s->n++;
    }
    char *c = strdup(value ? value : "");
    if (!c) {
        s->nomem = true;
        return;
    }
    free(v->value);
    v->value = c;
    snprintf(v->src, sizeof(v->src), "%s", src);
    snprintf(v->why, sizeof(v->why), "%s", why ? why : "");
}

static void sh_free(struct sh *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].value);
    }
    free(s->v);
    vg_json_free(s->index);
    memset(s, 0, sizeof(*s));
}

/* A word being read: its expanded text, and why it is unknown. */
struct word {
    struct vg_buf text;
    char why[WHY_MAX];
    char name[128];      /* the NAME of an assignment word, or "" */
};

enum tok { T_WORD, T_SEP, T_AND_OR, T_PIPE_BG, T_OPEN, T_CLOSE, T_REDIR, T_END };

struct cmd;

struct lexer {
    const char *p, *end;
    size_t line;
    const char *file;
    struct sh *sh;
    const struct cmd *cmd;   /* the command being read: "X=1 Y=$X" sees X */
};

static const char *pending_value(const struct cmd *c, const char *name, const char **why);

static void taint(struct word *w, const struct lexer *lx, size_t line, const char *what)
{
    if (!w->why[0])
        snprintf(w->why, sizeof(w->why), "%s:%zu uses %s, which only running the shell "
                 "can tell", lx->file, line, what);
}

static bool name_start(char c)
{
    return c == '_' || isalpha((unsigned char)c);
}

static bool name_char(char c)
{
    return c == '_' || isalnum((unsigned char)c);
}

/* Skips a $(...) or `...` body from p (just after the opener); returns
 * the position after the closer, or end. */
static const char *skip_subst(struct lexer *lx, const char *p, char close)
{
    int depth = 1;
    while (p < lx->end) {
        char c = *p;
        if (c == '\n')
            lx->line++;
        if (c == '\\' && p + 1 < lx->end) {
            if (p[1] == '\n')
                lx->line++;
            p += 2;
            continue;
        }
        if (close == ')' && c == '\'') {
            const char *q = memchr(p + 1, '\'', (size_t)(lx->end - p - 1));
            for (const char *r = p; q && r < q; r++)
                if (*r == '\n')
                    lx->line++;
            p = q ? q + 1 : lx->end;
            continue;
        }
        if (close == ')' && c == '(')
            depth++;
        if (c == close && --depth == 0)
            return p + 1;
        p++;
    }
    return p;
}

/* Expands a $ at p (pointing at the '$') into w; returns the position
 * after it. */
static const char *expand(struct lexer *lx, const char *p, struct word *w)
{
    size_t line = lx->line;
    const char *q = p + 1;
    if (q < lx->end && *q == '(') {
        bool arith = q + 1 < lx->end && q[1] == '(';
        taint(w, lx, line, arith ? "$((...))" : "$(...)");
        if (arith) {
            /* arithmetic can assign: "$((X = 1))" */
            char why[WHY_MAX];
            snprintf(why, sizeof(why), "%s:%zu uses $((...)), which may change any variable",
                     lx->file, line);
            unknown_everything(lx->sh, why);
        }
        return skip_subst(lx, q + 1, ')');
    }
    char name[128];
    size_t n = 0;
    if (q < lx->end && *q == '{') {
        const char *r = q + 1;
        while (r < lx->end && name_char(*r) && n < sizeof(name) - 1)
            name[n++] = *r++;
        name[n] = '\0';
        if (r < lx->end && *r == '}' && n && name_start(name[0])) {
            q = r + 1;
        } else {
            if (n && name_start(name[0]) && r < lx->end &&
                (*r == '=' || (*r == ':' && r + 1 < lx->end && r[1] == '='))) {
                char why[WHY_MAX];
                snprintf(why, sizeof(why), "%s:%zu assigns %s with ${%s:=...}, which Vigil "
                         "does not follow", lx->file, line, name, name);
                sh_set(lx->sh, name, "", "", why);
            }
            taint(w, lx, line, "a ${...} form other than ${NAME}");
            const char *close = memchr(q, '}', (size_t)(lx->end - q));
            return close ? close + 1 : lx->end;
        }
    } else if (q < lx->end && name_start(*q)) {
        while (q < lx->end && name_char(*q) && n < sizeof(name) - 1)
            name[n++] = *q++;
        name[n] = '\0';
    } else if (q < lx->end && (isdigit((unsigned char)*q) || strchr("@*#?-$!", *q))) {
        taint(w, lx, line, "a special parameter ($1, $@, ...)");
        return q + 1;
    } else {
        vg_buf_appendc(&w->text, '$');   /* a lone '$' is itself */
        return q;
    }
    const char *pwhy = NULL;
    const char *pval = lx->cmd ? pending_value(lx->cmd, name, &pwhy) : NULL;
    if (pval) {
        if (pwhy && pwhy[0] && !w->why[0])
            snprintf(w->why, sizeof(w->why), "%s", pwhy);
        if (vg_buf_appends(&w->text, pval) != VG_OK && !w->why[0])
            snprintf(w->why, sizeof(w->why), "%s:%zu: a value longer than Vigil reads",
                     lx->file, line);
        return q;
    }
    struct shvar *v = sh_get(lx->sh, name);
    if (v) {
        if (v->why[0] && !w->why[0])
            snprintf(w->why, sizeof(w->why), "%s", v->why);
        if (vg_buf_appends(&w->text, v->value) != VG_OK && !w->why[0])
            snprintf(w->why, sizeof(w->why), "%s:%zu: a value longer than Vigil reads",
                     lx->file, line);
    } else if (lx->sh->unknown_all[0] && !w->why[0]) {
        snprintf(w->why, sizeof(w->why), "%s", lx->sh->unknown_all);
    }
    return q;
}

/* Reads the next token. For T_WORD, w holds it. */
static enum tok next_token(struct lexer *lx, struct word *w, size_t *tok_line)
{
    const char *p = lx->p;
    /* blanks, comments, line continuations */
    for (;;) {
        while (p < lx->end && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p + 1 < lx->end && p[0] == '\\' && p[1] == '\n') {
            p += 2;
            lx->line++;
            continue;
        }
        if (p < lx->end && *p == '#') {
            while (p < lx->end && *p != '\n')
                p++;
        }
        break;
    }
    *tok_line = lx->line;
    if (p >= lx->end) {
        lx->p = p;
        return T_END;
    }
    char c = *p;
    if (c == '\n' || c == ';') {
        if (c == '\n')
            lx->line++;
        if (c == ';' && p + 1 < lx->end && p[1] == ';')
            p++;   /* ";;" of case */
        lx->p = p + 1;
        return T_SEP;
    }
    if (c == '&' || c == '|') {
        bool dbl = p + 1 < lx->end && p[1] == c;
        lx->p = p + (dbl ? 2 : 1);
        return dbl ? T_AND_OR : T_PIPE_BG;
    }
    if (c == '(' || c == ')') {
        lx->p = p + 1;
        return c == '(' ? T_OPEN : T_CLOSE;
    }
    if (c == '<' || c == '>') {
        while (p < lx->end && (*p == '<' || *p == '>' || *p == '&'))
            p++;
        lx->p = p;
        return T_REDIR;
    }

    /* a word */
    vg_buf_reset(&w->text);
    w->why[0] = '\0';
    w->name[0] = '\0';
    /* NAME= at the start makes an assignment */
    const char *q = p;
    if (name_start(*q)) {
        size_t n = 0;
        while (q < lx->end && name_char(*q))
            q++, n++;
        if (q < lx->end && *q == '=' && n < sizeof(w->name)) {
            memcpy(w->name, p, n);
            w->name[n] = '\0';
            p = q + 1;
        }
    }
    while (p < lx->end) {
        c = *p;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '&' ||
            c == '|' || c == '(' || c == ')' || c == '<' || c == '>')
            break;
        if (c == '\\') {
            if (p + 1 < lx->end && p[1] == '\n') {
                lx->line++;
                p += 2;
                continue;
            }
            if (p + 1 >= lx->end) {
                p = lx->end;
                break;
            }
            vg_buf_appendc(&w->text, p[1]);
            p += 2;
            continue;
        }
        if (c == '\'') {
            const char *e = memchr(p + 1, '\'', (size_t)(lx->end - p - 1));
            if (!e) {
                taint(w, lx, lx->line, "an unterminated quote");
                p = lx->end;
                break;
            }
            for (const char *r = p + 1; r < e; r++)
                if (*r == '\n')
                    lx->line++;
            vg_buf_append(&w->text, p + 1, (size_t)(e - p - 1));
            p = e + 1;
            continue;
        }
        if (c == '"') {
            p++;
            bool closed = false;
            while (p < lx->end) {
                char d = *p;
                if (d == '"') {
                    closed = true;
                    p++;
                    break;
                }
                if (d == '\\' && p + 1 < lx->end && strchr("$`\"\\\n", p[1])) {
                    if (p[1] == '\n')
                        lx->line++;
                    else
                        vg_buf_appendc(&w->text, p[1]);
                    p += 2;
                    continue;
                }
                if (d == '$') {
                    p = expand(lx, p, w);
                    continue;
                }
                if (d == '`') {
                    taint(w, lx, lx->line, "`...`");
                    p = skip_subst(lx, p + 1, '`');
                    continue;
                }
                if (d == '\n')
                    lx->line++;
                vg_buf_appendc(&w->text, d);
                p++;
            }
            if (!closed)
                taint(w, lx, lx->line, "an unterminated quote");
            continue;
        }
        if (c == '$') {
            p = expand(lx, p, w);
            continue;
        }
        if (c == '`') {
            taint(w, lx, lx->line, "`...`");
            p = skip_subst(lx, p + 1, '`');
            continue;
        }
        vg_buf_appendc(&w->text, c);
        p++;
    }
    lx->p = p;
    return T_WORD;
}

static bool is_keyword(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static const char *const opening[] = { "if", "case", "for", "while", "until", "{", "select",
                                       NULL };
static const char *const closing[] = { "fi", "esac", "done", "}", NULL };
static const char *const middle[] = { "then", "else", "elif", "do", "in", "!", NULL };
static const char *const wildcards[] = { ".", "source", "eval", "read", "set", "unset",
                                         "getopts", "mapfile", "readarray", "shift", NULL };
static const char *const declares[] = { "export", "readonly", "local", "declare", "typeset",
                                        NULL };

/* Makes every variable unknown from here on (until assigned again). */
static void unknown_everything(struct sh *s, const char *why)
{
    snprintf(s->unknown_all, sizeof(s->unknown_all), "%s", why);
    for (size_t i = 0; i < s->n; i++)
        if (!s->v[i].why[0])
            snprintf(s->v[i].why, sizeof(s->v[i].why), "%s", why);
}

#define MAX_PENDING 32

/* The assignments of the command being read: they stay only if no command
 * name follows ("A=1 cmd" sets A for cmd alone). */
struct pending {
    char name[128];
    char *value;
    char why[WHY_MAX];
    size_t line;
};

struct cmd {
    struct pending p[MAX_PENDING];
    size_t n;
    bool lost;           /* more than MAX_PENDING */
    bool named;          /* a command name was read */
    bool cond;           /* may not run (after && / ||, inside a block) */
    bool for_var;        /* the next word is a for/select loop variable */
};

/* The value a pending assignment of the command gives name (the last
 * one), while no command name has been read; NULL otherwise. */
static const char *pending_value(const struct cmd *c, const char *name, const char **why)
{
    if (c->named)
        return NULL;
    for (size_t i = c->n; i-- > 0;)
        if (strcmp(c->p[i].name, name) == 0) {
            *why = c->p[i].why;
            return c->p[i].value;
        }
    return NULL;
}

static void cmd_reset(struct cmd *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->p[i].value);
    memset(c, 0, sizeof(*c));
}

/* Ends the command: applies its assignments, or makes them unknown.
 * subshell: it ran in a pipe or in the background. */
static void cmd_end(struct sh *s, struct cmd *c, const char *file, bool subshell)
{
    char why[WHY_MAX];
    for (size_t i = 0; i < c->n; i++) {
        struct pending *a = &c->p[i];
        if (c->named || subshell) {
            snprintf(why, sizeof(why), "%s:%zu assigns %s for one command only, or in a "
                     "subshell, which only running the shell can tell", file, a->line, a->name);
            sh_set(s, a->name, a->value, "", why);
        } else if (c->cond) {
            snprintf(why, sizeof(why), "%s:%zu assigns %s conditionally, which only running "
                     "the shell can tell", file, a->line, a->name);
            sh_set(s, a->name, a->value, "", why);
        } else {
            char src[HOST_MAX_PATH + 32];
            snprintf(src, sizeof(src), "%s:%zu", file, a->line);
            sh_set(s, a->name, a->value, src, a->why[0] ? a->why : NULL);
        }
    }
    cmd_reset(c);
}

/* Runs a shell file's text against s. file names it in sources. */
static void sh_run(struct sh *s, const char *text, size_t len, const char *file)
{
    struct cmd c;
    memset(&c, 0, sizeof(c));
    struct lexer lx = { .p = text, .end = text + len, .line = 1, .file = file, .sh = s,
                        .cmd = &c };
    struct word w;
    memset(&w, 0, sizeof(w));
    vg_buf_init(&w.text, HOST_MAX_SMALL_FILE);
    int blocks = 0;         /* if/case/loops/braces open */
    int parens = 0;         /* subshells open */
    bool cond_next = false; /* the next command follows && or || */
    bool skip_word = false; /* the word after a redirection */
    char why[WHY_MAX];

    for (;;) {
        size_t line;
        enum tok t = next_token(&lx, &w, &line);
        if (s->nomem)
            break;
        if (t != T_WORD) {
            if (t == T_REDIR && lx.p - 2 >= text && lx.p[-1] == '<' && lx.p[-2] == '<') {
                /* a here-document: its lines are data, which we do not
                 * skip; stop reading this file instead */
                snprintf(why, sizeof(why), "%s:%zu has a here-document, which Vigil does not "
                         "read", file, line);
                cmd_end(s, &c, file, true);
                unknown_everything(s, why);
                break;
            }
            if (t == T_REDIR) {
                skip_word = true;
                continue;
            }
            cmd_end(s, &c, file, t == T_PIPE_BG);
            if (t == T_END)
                break;
            if (t == T_OPEN)
                parens++;
            if (t == T_CLOSE && parens)
                parens--;
            cond_next = t == T_AND_OR || t == T_PIPE_BG;
            c.cond = cond_next || blocks > 0 || parens > 0;
            skip_word = false;
            continue;
        }
        if (skip_word) {
            skip_word = false;
            continue;
        }
        const char *text_w = vg_buf_str(&w.text);
        if (c.for_var) {
            c.for_var = false;
            snprintf(why, sizeof(why), "%s:%zu loops over %s, which only running the shell "
                     "can tell", file, line, text_w);
            sh_set(s, text_w, "", "", why);
            c.named = true;
            continue;
        }
        if (!c.named && w.name[0]) {
            if (c.n == MAX_PENDING) {
                snprintf(why, sizeof(why), "%s:%zu has more assignments than Vigil reads",
                         file, line);
                unknown_everything(s, why);
                continue;
            }
            struct pending *a = &c.p[c.n];
            a->value = strdup(text_w);
            if (!a->value) {
                s->nomem = true;
                break;
            }
            snprintf(a->name, sizeof(a->name), "%s", w.name);
            snprintf(a->why, sizeof(a->why), "%s", w.why);
            a->line = line;
            c.n++;
            c.cond = c.cond || blocks > 0 || parens > 0;
            continue;
        }
        if (c.named)
            continue;   /* an argument */
        /* the command name, or a reserved word */
        bool opens = is_keyword(text_w, opening), closes = is_keyword(text_w, closing);
        if (opens || closes || is_keyword(text_w, middle)) {
            bool loop = strcmp(text_w, "for") == 0 || strcmp(text_w, "select") == 0;
            cmd_end(s, &c, file, false);
            if (opens)
                blocks++;
            if (closes && blocks)
                blocks--;
            c.cond = blocks > 0 || parens > 0;
            c.for_var = loop;
            continue;   /* what follows is a command again */
        }
        if (is_keyword(text_w, wildcards)) {
            snprintf(why, sizeof(why), "%s:%zu runs \"%s\", which may change any variable",
                     file, line, text_w);
            cmd_end(s, &c, file, false);
            unknown_everything(s, why);
            c.named = true;
            continue;
        }
        if (is_keyword(text_w, declares))
            continue;   /* export NAME=word: assignments follow */
        c.named = true;
    }
    cmd_reset(&c);
    vg_buf_free(&w.text);
}

/* ------------------------------------------------------------------ */
/* grub.cfg                                                            */
/* ------------------------------------------------------------------ */

/* Splits a grub.cfg line into words (quotes and backslashes removed;
 * $variables kept as written). Returns the count; max + 1 when the line
 * has more than max words (only max are split). */
static size_t grub_words(char *line, char **words, size_t max)
{
    size_t n = 0;
    char *p = line, *o = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            break;
        char *start = o;
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '\\' && p[1]) {
                *o++ = p[1];
                p += 2;
            } else if (*p == '\'' || *p == '"') {
                char q = *p++;
                while (*p && *p != q) {
                    if (q == '"' && *p == '\\' && p[1])
                        p++;
                    *o++ = *p++;
                }
                if (*p)
                    p++;
            } else {
                *o++ = *p++;
            }
        }
        bool more = *p != '\0';
        if (more)
            p++;
        *o++ = '\0';
        words[n++] = start;
        if (!more)
            break;
    }
    if (n == max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != '#')
            return max + 1;
    }
    return n;
}

static enum vg_err read_grub_cfg(const struct host_root *hr, struct vg_resource *r)
{
    struct vg_buf b;
    char why[128], msg[HOST_MAX_PATH + 160];
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = host_read_file(hr, GRUB_CFG, VG_MAX_HOST_FILE, &b, NULL);
    enum vg_err err = VG_OK;
    if (e == ENOENT || e == ENOTDIR) {
        err = vg_resource_set_source(r, "boot_entries", "no " GRUB_CFG);
        vg_buf_free(&b);
        return err;
    }
    if (e == ENOMEM) {
        vg_buf_free(&b);
        return VG_ERR_NOMEM;
    }
    if (e) {
        snprintf(msg, sizeof(msg), "cannot read %s: %s", GRUB_CFG,
                 host_strerror(e, why, sizeof(why)));
        vg_buf_free(&b);
        return vg_resource_set_error(r, "boot_entries", msg);
    }
    struct vg_json *entries = vg_json_array();
    err = entries ? VG_OK : VG_ERR_NOMEM;
    char title[512] = "";
    char *end = b.data + b.len;
    size_t lineno = 0;
    bool truncated = false;
    for (char *p = b.data; !err && p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = '\0';
        lineno++;
        char *line = p;
        p = nl ? nl + 1 : end;
        char *words[HOST_MAX_BOOT_PARAMS + 2];
        size_t max = sizeof(words) / sizeof(words[0]);
        size_t n = grub_words(line, words, max);
        if (n > max) {
            /* a parameter left out could be the one that counts */
            snprintf(msg, sizeof(msg), "%s:%zu has more words than Vigil reads", GRUB_CFG,
                     lineno);
            vg_json_free(entries);
            vg_buf_free(&b);
            return vg_resource_set_error(r, "boot_entries", msg);
        }
        if (n >= 2 && (strcmp(words[0], "menuentry") == 0 || strcmp(words[0], "submenu") == 0)) {
            snprintf(title, sizeof(title), "%s", words[1]);
            continue;
        }
        if (n < 2 || (strcmp(words[0], "linux") != 0 && strcmp(words[0], "linux16") != 0 &&
                      strcmp(words[0], "linuxefi") != 0))
            continue;
        if (vg_json_len(entries) >= HOST_MAX_BOOT_ENTRIES) {
            truncated = true;
            continue;
        }
        struct vg_buf args;
        vg_buf_init(&args, VG_MAX_HOST_FILE);
        for (size_t i = 2; !err && i < n; i++)
            if ((i > 2 && vg_buf_appendc(&args, ' ') != VG_OK) ||
                vg_buf_appends(&args, words[i]) != VG_OK)
                err = VG_ERR_NOMEM;
        struct vg_json *en = vg_json_object();
        struct vg_json *params = vg_json_object();
        if (!err && (!en || !params))
            err = VG_ERR_NOMEM;
        if (!err)
            err = host_boot_params(vg_buf_str(&args), params);
        vg_buf_free(&args);
        snprintf(msg, sizeof(msg), "%s:%zu", GRUB_CFG, lineno);
        if (!err)
            err = vg_json_set_str(en, "name", title[0] ? title : words[1]);
        if (!err)
            err = vg_json_set_str(en, "kernel", words[1]);
        if (!err) {
            err = vg_json_set(en, "params", params);
            params = NULL;
        }
        if (!err)
            err = vg_json_set_str(en, "source", msg);
        if (!err) {
            err = vg_json_push(entries, en);
            en = NULL;
        }
        vg_json_free(en);
        vg_json_free(params);
    }
    if (!err) {
        err = vg_json_set(r->doc, "boot_entries", entries);
        entries = NULL;
    }
    vg_json_free(entries);
    if (!err)
        err = vg_resource_set_source(r, "boot_entries", GRUB_CFG);
    if (!err && truncated)
        err = vg_resource_set_error(r, "boot_entries", GRUB_CFG " has more linux lines than "
                                    "Vigil reads");
    vg_buf_free(&b);
    return err;
}

/* ------------------------------------------------------------------ */
/* The resource                                                        */
/* ------------------------------------------------------------------ */

static enum vg_err put_cmdline(struct vg_resource *r, const struct sh *s, const char *var,
                               const char *params_field, const char *fatal)
{
    char src[HOST_MAX_PATH + 64];
    const struct shvar *v = sh_get(s, var);
    const char *unknown = fatal ? fatal : v && v->why[0] ? v->why
                                     : !v && s->unknown_all[0] ? s->unknown_all : NULL;
    if (unknown) {
        enum vg_err err = vg_resource_set_error(r, var, unknown);
        if (!err)
            err = vg_resource_set_error(r, params_field, unknown);
        return err;
    }
    if (v)
        snprintf(src, sizeof(src), "%s", v->src);
    else
        snprintf(src, sizeof(src), "%s is not set in %s", var, GRUB_DEFAULT);
    struct vg_json *params = vg_json_object();
    enum vg_err err = params ? VG_OK : VG_ERR_NOMEM;
    if (!err)
        err = host_boot_params(v ? v->value : "", params);
    if (!err) {
        err = vg_json_set(r->doc, params_field, params);
        params = NULL;
    }
    vg_json_free(params);
    if (!err)
        err = vg_json_set_str(r->doc, var, v ? v->value : "");
    if (!err)
        err = vg_resource_set_source(r, var, src);
    if (!err)
        err = vg_resource_set_source(r, params_field, src);
    return err;
}

static enum vg_err read_running(const struct host_root *hr, struct vg_resource *r)
{
    struct vg_buf b;
    char why[128], msg[256];
    vg_buf_init(&b, HOST_MAX_SMALL_FILE);
    int e = host_read_file(hr, "/proc/cmdline", HOST_MAX_SMALL_FILE, &b, NULL);
    enum vg_err err = VG_OK;
    if (e == ENOMEM) {
        err = VG_ERR_NOMEM;
    } else if (e) {
        if (e == ENOENT)
            snprintf(msg, sizeof(msg), "the running kernel's command line is unavailable: "
                     "/proc/cmdline does not exist under the host root");
        else
            snprintf(msg, sizeof(msg), "cannot read /proc/cmdline: %s",
                     host_strerror(e, why, sizeof(why)));
        err = vg_resource_set_error(r, "running_params", msg);
    } else {
        for (size_t i = 0; i < b.len; i++)
            if (b.data[i] == '\0')
                b.data[i] = ' ';
        struct vg_json *params = vg_json_object();
        err = params ? host_boot_params(b.data, params) : VG_ERR_NOMEM;
        if (!err) {
            err = vg_json_set(r->doc, "running_params", params);
            params = NULL;
        }
        vg_json_free(params);
        if (!err)
            err = vg_resource_set_source(r, "running_params", "/proc/cmdline");
    }
    vg_buf_free(&b);
    return err;
}

enum vg_err host_grub_collect(const struct host_root *hr, const char *host_name,
                              struct vg_resource_list *out)
{
    char id[512], why[128], fatal[HOST_MAX_PATH + 192] = "";
    struct sh s;
    memset(&s, 0, sizeof(s));
    struct vg_json *files = vg_json_array();
    struct host_strv dfiles = { 0 };
    struct vg_resource *r =
        vg_resource_new("host.grub", host_resource_id(id, sizeof(id), host_name, "grub"), "grub",
                        "configuration", "linux-grub");
    enum vg_err err = r && files ? VG_OK : VG_ERR_NOMEM;

    /* /etc/default/grub, then grub.d/ *.cfg in order (grub-mkconfig's
     * "for x in .../grub.d/ *.cfg; do [ -e "$x" ] && . "$x"; done") */
    if (!err) {
        struct host_strv all = { 0 };
        char errpath[HOST_MAX_PATH];
        static const char *const dirs[] = { "/etc/default/grub.d", NULL };
        int e = host_strv_push(&all, GRUB_DEFAULT);
        if (!e)
            e = host_conf_files(hr, dirs, ".cfg", &dfiles, NULL, errpath, sizeof(errpath));
        if (e == ENOMEM) {
            err = VG_ERR_NOMEM;
        } else if (e) {
            snprintf(fatal, sizeof(fatal), "cannot list %s: %s", errpath,
                     host_strerror(e, why, sizeof(why)));
        }
        for (size_t i = 0; !err && !e && i < dfiles.n; i++)
            if (host_strv_push(&all, dfiles.v[i]))
                err = VG_ERR_NOMEM;
        for (size_t i = 0; !err && !fatal[0] && i < all.n; i++) {
            struct vg_buf b;
            vg_buf_init(&b, VG_MAX_HOST_FILE);
            int re = host_read_file(hr, all.v[i], VG_MAX_HOST_FILE, &b, NULL);
            if (re == ENOMEM) {
                err = VG_ERR_NOMEM;
            } else if (re && re != ENOENT) {
                snprintf(fatal, sizeof(fatal), "cannot read %s: %s", all.v[i],
                         host_strerror(re, why, sizeof(why)));
            } else if (!re) {
                err = vg_json_push(files, vg_json_str(all.v[i]));
                if (!err)
                    sh_run(&s, b.data, b.len, all.v[i]);
                if (!err && s.nomem)
                    err = VG_ERR_NOMEM;
            }
            vg_buf_free(&b);
        }
        host_strv_free(&all);
        /* grub-mkconfig sources /etc/default/grub only "if test -f", and the
         * grub.d files anyway; with neither there is no GRUB to speak of */
        if (!err && !fatal[0] && vg_json_len(files) == 0)
            snprintf(fatal, sizeof(fatal), "GRUB is not configured: neither %s nor "
                     "/etc/default/grub.d/ *.cfg exists", GRUB_DEFAULT);
    }
    if (!err)
        err = put_cmdline(r, &s, "GRUB_CMDLINE_LINUX", "linux_params",
                          fatal[0] ? fatal : NULL);
    if (!err)
        err = put_cmdline(r, &s, "GRUB_CMDLINE_LINUX_DEFAULT", "default_params",
                          fatal[0] ? fatal : NULL);
    if (!err)
        err = read_grub_cfg(hr, r);
    if (!err)
        err = read_running(hr, r);
    if (!err) {
        err = vg_json_set(r->doc, "config_files", files);
        files = NULL;
    }
    sh_free(&s);
    host_strv_free(&dfiles);
    vg_json_free(files);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}

/* For the tests and the fuzzer: runs shell text as /etc/default/grub and
 * returns the value of var into out (caller frees), or NULL with the
 * reason it is unknown in why ("" when var is simply not set). */
char *host_grub_shell_value(const char *text, size_t len, const char *var, char *why,
                            size_t whylen)
{
    struct sh s;
    memset(&s, 0, sizeof(s));
    why[0] = '\0';
    sh_run(&s, text, len, GRUB_DEFAULT);
    char *out = NULL;
    const struct shvar *v = sh_get(&s, var);
    if (s.nomem)
        snprintf(why, whylen, "out of memory");
    else if (v && v->why[0])
        snprintf(why, whylen, "%s", v->why);
    else if (!v && s.unknown_all[0])
        snprintf(why, whylen, "%s", s.unknown_all);
    else if (v)
        out = strdup(v->value);
    sh_free(&s);
    return out;
}
