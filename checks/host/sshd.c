/*
 * The sshd effective configuration, read the way OpenSSH 9.2's sshd reads
 * /etc/ssh/sshd_config (servconf.c), without running `sshd -T`.
 *
 * - A line is a keyword (case-insensitive) and arguments, separated by
 *   blanks or by one "=": "PermitRootLogin no", "PermitRootLogin=no".
 *   Arguments may be "quoted" or 'quoted'; a word starting with '#' ends
 *   the line.
 * - The first value obtained for a keyword wins; later ones are ignored.
 *   (AllowUsers, AllowGroups, DenyUsers, DenyGroups accumulate instead.)
 * - "Include" takes glob patterns, relative ones under /etc/ssh; matches
 *   are read in sorted order, in place of the Include line, nested at most
 *   VG_MAX_INCLUDE_DEPTH deep. An Include that reaches a file already
 *   being read is a loop: sshd would give up at its depth limit; we say so.
 * - "Match" starts a block that applies to some connections only. Its
 *   settings are not global: they are listed under match_blocks and do not
 *   make the effective value. A Match in an included file ends with that
 *   file (sshd restores the including file's Match state after an
 *   Include), and a file included from inside a Match block is as
 *   conditional as the block, Match lines of its own included.
 * - "Match all" is the exception: it matches every connection. Its lines
 *   are read like global ones at start-up (first value wins) and then, for
 *   every connection, the keywords allowed in Match blocks are re-applied
 *   from it over the global values. So for those keywords the first value
 *   in a "Match all" block is the effective one.
 * - A value sshd would refuse (MaxAuthTries "lots") or a keyword it does
 *   not allow inside a Match block makes sshd refuse to start: that field
 *   is reported as an error (evaluated unknown), not guessed.
 *
 * Document (type host.sshd): "config_files": [host paths read, in order],
 * one key per keyword below in its canonical spelling (yes/no values lower
 * case, numbers as integers, times in seconds, LogLevel upper case,
 * algorithm lists as arrays with +/-/^ applied to the default), and
 * "match_blocks": [{"criteria","source","settings":{...}}]. Sources: each
 * keyword -> "/etc/ssh/sshd_config.d/10-x.conf:3" or "default".
 */
#include "host.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SSHD_CONFIG "/etc/ssh/sshd_config"
#define SSHD_DIR "/etc/ssh"

/* ------------------------------------------------------------------ */
/* The keywords we read, with OpenSSH 9.2's compiled-in defaults        */
/* ------------------------------------------------------------------ */

enum kw_kind {
    KW_FLAG,        /* yes | no */
    KW_CHOICE,      /* one word of a list, some of them aliases */
    KW_INT,         /* 0 .. INT_MAX */
    KW_TIME,        /* sshd time format, in seconds */
    KW_LOGLEVEL,    /* QUIET .. DEBUG3, upper case */
    KW_ALGOS,       /* comma list with +, -, ^ against the default */
    KW_STRING,      /* one word, kept as written */
    KW_YESNO_OR,    /* yes | no, or a word kept as written */
    KW_WORDS,       /* any number of words, accumulated over lines */
};

struct choice {
    const char *word, *canon;
};

struct sshd_kw {
    const char *name;                /* canonical spelling: the document key */
    const char *alias;               /* another spelling sshd accepts, or NULL */
    enum kw_kind kind;
    bool in_match;                   /* allowed inside a Match block */
    const char *def;                 /* compiled-in default, as configuration text */
    const struct choice *choices;    /* KW_CHOICE */
    const char *const *all;          /* KW_ALGOS: what a wildcard can match */
};

static const struct choice root_login[] = {
    { "yes", "yes" },
    { "prohibit-password", "prohibit-password" },
    { "without-password", "prohibit-password" },
    { "forced-commands-only", "forced-commands-only" },
    { "no", "no" },
    { NULL, NULL },
};

static const struct choice ignore_rhosts[] = {
    { "yes", "yes" }, { "no", "no" }, { "shosts-only", "shosts-only" }, { NULL, NULL },
};

static const struct choice tcp_forwarding[] = {
    { "yes", "yes" }, { "all", "yes" }, { "no", "no" },
    { "local", "local" }, { "remote", "remote" }, { NULL, NULL },
};

/* Every name OpenSSH 9.2 (with OpenSSL) knows, for wildcards. */
static const char *const all_ciphers[] = {
    "3des-cbc", "aes128-cbc", "aes192-cbc", "aes256-cbc", "rijndael-cbc@lysator.liu.se",
    "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", NULL,
};

static const char *const all_macs[] = {
    "hmac-sha1", "hmac-sha1-96", "hmac-sha2-256", "hmac-sha2-512", "hmac-md5",
    "hmac-md5-96", "umac-64@openssh.com", "umac-128@openssh.com",
    "hmac-sha1-etm@openssh.com", "hmac-sha1-96-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
    "hmac-md5-etm@openssh.com", "hmac-md5-96-etm@openssh.com",
    "umac-64-etm@openssh.com", "umac-128-etm@openssh.com", NULL,
};

static const char *const all_kex[] = {
    "diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1",
    "diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512", "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group-exchange-sha256", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521", "curve25519-sha256", "curve25519-sha256@libssh.org",
    "sntrup761x25519-sha512@openssh.com", NULL,
};

#define DEFAULT_CIPHERS                                                         \
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"           \
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com"
#define DEFAULT_MACS                                                            \
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,"                         \
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"              \
    "hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"       \
    "hmac-sha2-256,hmac-sha2-512,hmac-sha1"
#define DEFAULT_KEX                                                             \
    "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"                     \
    "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"       \
    "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"                  \
    "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"              \
    "diffie-hellman-group14-sha256"

static const struct sshd_kw kws[] = {
    { "PermitRootLogin", NULL, KW_CHOICE, true, "prohibit-password", root_login, NULL },
    { "PermitEmptyPasswords", NULL, KW_FLAG, true, "no", NULL, NULL },
    { "PasswordAuthentication", NULL, KW_FLAG, true, "yes", NULL, NULL },
    { "KbdInteractiveAuthentication", "ChallengeResponseAuthentication", KW_FLAG, true, "yes",
      NULL, NULL },
    { "PubkeyAuthentication", NULL, KW_FLAG, true, "yes", NULL, NULL },
    { "HostbasedAuthentication", NULL, KW_FLAG, true, "no", NULL, NULL },
    { "GSSAPIAuthentication", NULL, KW_FLAG, true, "no", NULL, NULL },
    { "IgnoreRhosts", NULL, KW_CHOICE, true, "yes", ignore_rhosts, NULL },
    { "PermitUserEnvironment", NULL, KW_YESNO_OR, false, "no", NULL, NULL },
    { "UsePAM", NULL, KW_FLAG, false, "no", NULL, NULL },
    { "StrictModes", NULL, KW_FLAG, false, "yes", NULL, NULL },
    { "MaxAuthTries", NULL, KW_INT, true, "6", NULL, NULL },
    { "MaxSessions", NULL, KW_INT, true, "10", NULL, NULL },
    { "MaxStartups", NULL, KW_STRING, false, "10:30:100", NULL, NULL },
    { "LoginGraceTime", NULL, KW_TIME, false, "120", NULL, NULL },
    { "ClientAliveInterval", NULL, KW_TIME, true, "0", NULL, NULL },
    { "ClientAliveCountMax", NULL, KW_INT, true, "3", NULL, NULL },
    { "LogLevel", NULL, KW_LOGLEVEL, true, "INFO", NULL, NULL },
    { "X11Forwarding", NULL, KW_FLAG, true, "no", NULL, NULL },
    { "AllowTcpForwarding", NULL, KW_CHOICE, true, "yes", tcp_forwarding, NULL },
    { "AllowAgentForwarding", NULL, KW_FLAG, true, "yes", NULL, NULL },
    { "DisableForwarding", NULL, KW_FLAG, true, "no", NULL, NULL },
    { "Banner", NULL, KW_STRING, true, "none", NULL, NULL },
    { "Ciphers", NULL, KW_ALGOS, false, DEFAULT_CIPHERS, NULL, all_ciphers },
    { "MACs", NULL, KW_ALGOS, false, DEFAULT_MACS, NULL, all_macs },
    { "KexAlgorithms", NULL, KW_ALGOS, false, DEFAULT_KEX, NULL, all_kex },
    { "AllowUsers", NULL, KW_WORDS, true, NULL, NULL, NULL },
    { "AllowGroups", NULL, KW_WORDS, true, NULL, NULL, NULL },
    { "DenyUsers", NULL, KW_WORDS, true, NULL, NULL, NULL },
    { "DenyGroups", NULL, KW_WORDS, true, NULL, NULL, NULL },
};

#define NKW (sizeof(kws) / sizeof(kws[0]))

static const char *const log_levels[] = {
    "QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3", NULL,
};

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

long host_sshd_convtime(const char *s)
{
    long total = 0;
    if (!s || !*s)
        return -1;
    const char *p = s;
    while (*p) {
        if (*p < '0' || *p > '9')
            return -1;
        long secs = 0;
        while (*p >= '0' && *p <= '9') {
            if (secs > (INT_MAX - (*p - '0')) / 10)
                return -1;
            secs = secs * 10 + (*p - '0');
            p++;
        }
        long mult = 1;
        switch (*p) {
        case '\0': break;
        case 's': case 'S': p++; break;
        case 'm': case 'M': mult = 60; p++; break;
        case 'h': case 'H': mult = 60 * 60; p++; break;
        case 'd': case 'D': mult = 24 * 60 * 60; p++; break;
        case 'w': case 'W': mult = 7 * 24 * 60 * 60; p++; break;
        default: return -1;
        }
        if (secs > INT_MAX / mult)
            return -1;
        secs *= mult;
        if (total > INT_MAX - secs)
            return -1;
        total += secs;
    }
    return total;
}

static bool parse_int(const char *s, int64_t *out)
{
    if (*s == '+')
        s++;
    if (!*s || strlen(s) > 10)
        return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
    }
    if (v > INT_MAX)
        return false;
    *out = v;
    return true;
}

static bool has_magic(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int push_unique(struct host_strv *l, const char *name)
{
    return host_strv_has(l, name) ? 0 : host_strv_push(l, name);
}

/* Appends the names of a comma list to l; a name with a wildcard stands
 * for every known name it matches. */
static int expand(struct host_strv *l, const char *items, const char *const *all)
{
    char *copy = strdup(items), *save = NULL;
    int e = copy ? 0 : ENOMEM;
    for (char *it = copy ? strtok_r(copy, ",", &save) : NULL; !e && it;
         it = strtok_r(NULL, ",", &save)) {
        if (!has_magic(it)) {
            e = push_unique(l, it);
            continue;
        }
        for (size_t i = 0; !e && all[i]; i++)
            if (fnmatch(it, all[i], 0) == 0)
                e = push_unique(l, all[i]);
    }
    free(copy);
    return e;
}

/* True when name matches one of the patterns of a comma list. */
static bool matches_any(const char *name, const char *items)
{
    char *copy = strdup(items), *save = NULL;
    bool hit = false;
    for (char *it = copy ? strtok_r(copy, ",", &save) : NULL; !hit && it;
         it = strtok_r(NULL, ",", &save))
        hit = fnmatch(it, name, 0) == 0;
    free(copy);
    return hit;
}

/* The effective algorithm list of a spec, as kex_assemble_names() makes
 * it: "+x" appends to the default, "-x" removes from it (patterns allowed),
 * "^x" puts in front of it, anything else replaces it. Names are kept as
 * written: a name sshd does not know stays visible to the rules. NULL and
 * a reason in why when the spec is empty or leaves nothing; *nomem set
 * when out of memory. */
static struct vg_json *algorithms(const struct sshd_kw *kw, const char *spec, char *why,
                                  size_t wlen, bool *nomem)
{
    struct host_strv l = { 0 };
    char op = spec[0];
    const char *items = (op == '+' || op == '-' || op == '^') ? spec + 1 : spec;
    int e = 0;

    if (!*items) {
        snprintf(why, wlen, "an empty list");
        return NULL;
    }
    if (op == '-') {
        struct host_strv def = { 0 };
        e = expand(&def, kw->def, kw->all);
        for (size_t i = 0; !e && i < def.n; i++)
            if (!matches_any(def.v[i], items))
                e = host_strv_push(&l, def.v[i]);
        host_strv_free(&def);
    } else {
        if (op == '^')
            e = expand(&l, items, kw->all);
        if (!e && (op == '+' || op == '^'))
            e = expand(&l, kw->def, kw->all);
        if (!e && op != '^')
            e = expand(&l, items, kw->all);
    }
    struct vg_json *arr = NULL;
    if (!e && l.n == 0)
        snprintf(why, wlen, "a list that leaves no algorithm");
    else if (!e && (arr = vg_json_array()) != NULL) {
        for (size_t i = 0; !e && i < l.n; i++)
            if (vg_json_push(arr, vg_json_str(l.v[i])) != VG_OK)
                e = ENOMEM;
    } else if (!e) {
        e = ENOMEM;
    }
    host_strv_free(&l);
    if (e) {
        vg_json_free(arr);
        *nomem = true;
        return NULL;
    }
    return arr;
}

/* The document value of one argument of kw, or NULL with why set (a value
 * sshd refuses) or *nomem set. */
static struct vg_json *normalize(const struct sshd_kw *kw, const char *arg, char *why, size_t wlen,
                                 bool *nomem)
{
    struct vg_json *v = NULL;
    int64_t n;
    long t;

    why[0] = '\0';
    switch (kw->kind) {
    case KW_FLAG:
        if (strcasecmp(arg, "yes") == 0 || strcasecmp(arg, "no") == 0) {
            v = vg_json_str(strcasecmp(arg, "yes") == 0 ? "yes" : "no");
            break;
        }
        snprintf(why, wlen, "not yes or no");
        return NULL;
    case KW_CHOICE:
        for (const struct choice *c = kw->choices; c->word; c++)
            if (strcasecmp(arg, c->word) == 0) {
                v = vg_json_str(c->canon);
                goto done;
            }
        snprintf(why, wlen, "not one of the accepted words");
        return NULL;
    case KW_YESNO_OR:
        if (strcasecmp(arg, "yes") == 0 || strcasecmp(arg, "no") == 0)
            v = vg_json_str(strcasecmp(arg, "yes") == 0 ? "yes" : "no");
        else
            v = vg_json_str(arg);
        break;
    case KW_INT:
        if (!parse_int(arg, &n)) {
            snprintf(why, wlen, "not a whole number from 0 to %d", INT_MAX);
            return NULL;
        }
        v = vg_json_int(n);
        break;
    case KW_TIME:
        t = host_sshd_convtime(arg);
        if (t < 0) {
            snprintf(why, wlen, "not a time (like 90, 1m30s, 2h)");
            return NULL;
        }
        v = vg_json_int(t);
        break;
    case KW_LOGLEVEL:
        for (size_t i = 0; log_levels[i]; i++)
            if (strcasecmp(arg, log_levels[i]) == 0) {
                v = vg_json_str(log_levels[i]);
                goto done;
            }
        snprintf(why, wlen, "not a log level");
        return NULL;
    case KW_ALGOS:
        return algorithms(kw, arg, why, wlen, nomem);
    case KW_STRING:
    case KW_WORDS:
        v = vg_json_str(arg);
        break;
    }
done:
    if (!v)
        *nomem = true;
    return v;
}

/* ------------------------------------------------------------------ */
/* Parsing state                                                       */
/* ------------------------------------------------------------------ */

struct setting {
    struct vg_json *val;   /* owned */
    char *src;             /* "path:line"; owned */
};

struct kw_state {
    struct setting global;   /* first value read outside conditional blocks */
    struct setting mall;     /* first value read inside "Match all" blocks */
    char *error;             /* the first value sshd would refuse */
};

enum match_state {
    M_GLOBAL,      /* no Match yet */
    M_ALL,         /* in a "Match all" block */
    M_COND,        /* in a block for some connections only */
};

/* Where a line is, as far as Match goes. Passed by value into an included
 * file, so its Match lines end with it. */
struct scope {
    enum match_state m;
    bool nevermatch;          /* included from a conditional block */
    struct vg_json *block;    /* the current block's settings; borrowed */
};

struct file_id {
    dev_t dev;
    ino_t ino;
};

struct sshd_ctx {
    const struct host_root *hr;
    struct kw_state kw[NKW];
    struct vg_json *files;      /* config_files */
    struct vg_json *blocks;     /* match_blocks */
    size_t nfiles;              /* files read, repeats included */
    struct file_id open[VG_MAX_INCLUDE_DEPTH + 1];
    char *fatal;                /* why nothing can be said; owned */
    bool nomem;
};

static void set_fatal(struct sshd_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_fatal(struct sshd_ctx *c, const char *fmt, ...)
{
    if (c->fatal)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->fatal = strdup(msg);
    if (!c->fatal)
        c->nomem = true;
}

static void set_kw_error(struct sshd_ctx *c, size_t k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_kw_error(struct sshd_ctx *c, size_t k, const char *fmt, ...)
{
    if (c->kw[k].error)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->kw[k].error = strdup(msg);
    if (!c->kw[k].error)
        c->nomem = true;
}

/* Takes the value into s unless s already has one (first wins) or, for
 * KW_WORDS, appends its words. Takes ownership of v. */
static void keep(struct sshd_ctx *c, const struct sshd_kw *kw, struct setting *s,
                 struct vg_json *v, const char *where)
{
    if (!v) {
        c->nomem = true;
        return;
    }
    if (kw->kind == KW_WORDS && s->val) {
        for (size_t i = 0; i < vg_json_len(v); i++)
            if (vg_json_push(s->val, vg_json_clone(vg_json_at(v, i))) != VG_OK)
                c->nomem = true;
        vg_json_free(v);
        return;
    }
    if (s->val) {
        vg_json_free(v);
        return;
    }
    s->val = v;
    s->src = strdup(where);
    if (!s->src)
        c->nomem = true;
}

/* Same, into a Match block's settings object. */
static void keep_in_block(struct sshd_ctx *c, const struct sshd_kw *kw, struct vg_json *block,
                          struct vg_json *v)
{
    struct vg_json *old = vg_json_get(block, kw->name);
    if (!v) {
        c->nomem = true;
        return;
    }
    if (old && kw->kind == KW_WORDS) {
        for (size_t i = 0; i < vg_json_len(v); i++)
            if (vg_json_push(old, vg_json_clone(vg_json_at(v, i))) != VG_OK)
                c->nomem = true;
        vg_json_free(v);
        return;
    }
    if (old) {
        vg_json_free(v);
        return;
    }
    if (vg_json_set(block, kw->name, v) != VG_OK)
        c->nomem = true;
}

/* ------------------------------------------------------------------ */
/* Lines                                                               */
/* ------------------------------------------------------------------ */

#define WHITESPACE " \t\r\n"

/* OpenSSH's argv_split(s, ..., terminate_on_comment=1): blank-separated
 * words; "..." and '...' group; a backslash escapes a quote, a backslash,
 * or (outside quotes) a space; a word starting with '#' ends the line.
 * Words go into buf (at least strlen(s) + 1 bytes), pointers into argv (at
 * least strlen(s) / 2 + 1 slots). Returns the count, or -1 for an
 * unterminated quote. */
static int split_args(const char *s, char *buf, char **argv)
{
    int argc = 0;
    size_t i = 0, j = 0;
    while (s[i]) {
        if (s[i] == ' ' || s[i] == '\t') {
            i++;
            continue;
        }
        if (s[i] == '#')
            break;
        char quote = 0;
        argv[argc++] = buf + j;
        for (; s[i]; i++) {
            if (s[i] == '\\') {
                char n = s[i + 1];
                if (n == '\'' || n == '"' || n == '\\' || (quote == 0 && n == ' ')) {
                    i++;
                    buf[j++] = s[i];
                } else {
                    buf[j++] = s[i];
                }
            } else if (quote == 0 && (s[i] == ' ' || s[i] == '\t')) {
                break;
            } else if (quote == 0 && (s[i] == '"' || s[i] == '\'')) {
                quote = s[i];
            } else if (quote != 0 && s[i] == quote) {
                quote = 0;
            } else {
                buf[j++] = s[i];
            }
        }
        buf[j++] = '\0';
        if (quote)
            return -1;
    }
    return argc;
}

static enum vg_err parse_file(struct sshd_ctx *c, const char *path, size_t depth,
                              struct scope sc, const char *from);

static void do_include(struct sshd_ctx *c, char **argv, int argc, size_t depth,
                       const struct scope *sc, const char *where)
{
    if (argc == 0) {
        set_fatal(c, "Include without a file name at %s (sshd refuses this configuration)",
                  where);
        return;
    }
    for (int i = 0; i < argc && !c->fatal && !c->nomem; i++) {
        char pattern[HOST_MAX_PATH], errpath[HOST_MAX_PATH], why[128];
        int w;
        if (argv[i][0] == '/')
            w = snprintf(pattern, sizeof(pattern), "%s", argv[i]);
        else if (argv[i][0] == '~')
            w = snprintf(pattern, sizeof(pattern), "/%s", argv[i]);   /* glob() without GLOB_TILDE */
        else
            w = snprintf(pattern, sizeof(pattern), "%s/%s", SSHD_DIR, argv[i]);
        if (w < 0 || (size_t)w >= sizeof(pattern)) {
            set_fatal(c, "Include pattern too long at %s", where);
            return;
        }
        struct host_strv files = { 0 };
        int e = host_glob(c->hr, pattern, VG_MAX_INCLUDE_FILES, &files, errpath, sizeof(errpath));
        if (e == ENOMEM) {
            c->nomem = true;
        } else if (e == HOST_E_TOOMANY) {
            set_fatal(c, "Include %s at %s matches more than %d files", pattern, where,
                      VG_MAX_INCLUDE_FILES);
        } else if (e) {
            set_fatal(c, "cannot read %s: %s", errpath, host_strerror(e, why, sizeof(why)));
        }
        /* An included file starts in the Match state of the Include line;
         * from a conditional block, nothing in it can become global. */
        struct scope child = { .m = sc->m, .nevermatch = sc->m == M_COND, .block = sc->block };
        for (size_t j = 0; j < files.n && !c->fatal && !c->nomem; j++)
            if (parse_file(c, files.v[j], depth + 1, child, where) == VG_ERR_NOMEM)
                c->nomem = true;
        host_strv_free(&files);
    }
}

static void do_match(struct sshd_ctx *c, char **argv, int argc, struct scope *sc,
                     const char *where)
{
    if (argc == 0) {
        set_fatal(c, "Match without criteria at %s (sshd refuses this configuration)", where);
        return;
    }
    bool all = argc == 1 && strcasecmp(argv[0], "all") == 0;
    sc->m = all && !sc->nevermatch ? M_ALL : M_COND;

    struct vg_buf crit;
    vg_buf_init(&crit, 4096);
    for (int i = 0; i < argc; i++)
        if ((i && vg_buf_appendc(&crit, ' ') != VG_OK) || vg_buf_appends(&crit, argv[i]) != VG_OK)
            break;
    struct vg_json *b = vg_json_object();
    struct vg_json *settings = vg_json_object();
    enum vg_err err = b && settings ? VG_OK : VG_ERR_NOMEM;
    if (!err)
        err = vg_json_set_str(b, "criteria", vg_buf_str(&crit));
    if (!err)
        err = vg_json_set_str(b, "source", where);
    if (!err) {
        err = vg_json_set(b, "settings", settings);
        settings = NULL;
    }
    vg_buf_free(&crit);
    vg_json_free(settings);
    if (!err) {
        err = vg_json_push(c->blocks, b);
        if (!err)
            sc->block = vg_json_get(b, "settings");
        b = NULL;
    }
    vg_json_free(b);
    if (err)
        c->nomem = true;
}

static void process_line(struct sshd_ctx *c, char *line, size_t depth, struct scope *sc,
                         const char *where)
{
    /* Trailing blanks go first (a CRLF file reads the same), then the
     * keyword ends at a blank or at one '=' (OpenSSH's strdelim). */
    size_t len = strlen(line);
    while (len && strchr(WHITESPACE "\f", line[len - 1]))
        line[--len] = '\0';
    char *s = line + strspn(line, WHITESPACE);
    size_t klen = strcspn(s, WHITESPACE "=");
    if (klen == 0 || s[0] == '#')
        return;
    char *rest = s + klen;
    bool eq = *rest == '=';
    if (*rest)
        *rest++ = '\0';
    rest += strspn(rest, WHITESPACE);
    if (!eq && *rest == '=') {
        rest++;
        rest += strspn(rest, WHITESPACE);
    }

    size_t rlen = strlen(rest);
    char *buf = malloc(rlen + 1);
    char **argv = malloc((rlen / 2 + 2) * sizeof(*argv));
    if (!buf || !argv) {
        c->nomem = true;
        goto out;
    }
    int argc = split_args(rest, buf, argv);
    if (argc < 0) {
        set_fatal(c, "unterminated quote at %s (sshd refuses this configuration)", where);
        goto out;
    }

    if (strcasecmp(s, "Include") == 0) {
        do_include(c, argv, argc, depth, sc, where);
        goto out;
    }
    if (strcasecmp(s, "Match") == 0) {
        do_match(c, argv, argc, sc, where);
        goto out;
    }

    size_t k;
    for (k = 0; k < NKW; k++)
        if (strcasecmp(s, kws[k].name) == 0 || (kws[k].alias && strcasecmp(s, kws[k].alias) == 0))
            break;
    if (k == NKW)
        goto out;   /* a keyword no rule reads */
    const struct sshd_kw *kw = &kws[k];

    if (argc == 0) {
        set_kw_error(c, k, "%s has no value at %s (sshd refuses this configuration)", kw->name,
                     where);
        goto out;
    }
    if (argc > 1 && kw->kind != KW_WORDS) {
        set_kw_error(c, k, "%s has more than one value at %s (sshd refuses this configuration)",
                     kw->name, where);
        goto out;
    }
    if (sc->m == M_COND && !kw->in_match) {
        set_kw_error(c, k, "%s is not allowed inside a Match block, at %s (sshd refuses this "
                     "configuration)", kw->name, where);
        goto out;
    }

    struct vg_json *v;
    char why[128];
    bool nomem = false;
    if (kw->kind == KW_WORDS) {
        v = vg_json_array();
        for (int i = 0; v && i < argc; i++)
            if (vg_json_push(v, vg_json_str(argv[i])) != VG_OK) {
                vg_json_free(v);
                v = NULL;
            }
        nomem = !v;
    } else {
        v = normalize(kw, argv[0], why, sizeof(why), &nomem);
    }
    if (!v) {
        if (nomem)
            c->nomem = true;
        else
            set_kw_error(c, k, "%s \"%s\" at %s is %s (sshd refuses this configuration)",
                         kw->name, argv[0], where, why);
        goto out;
    }

    if (sc->block)
        keep_in_block(c, kw, sc->block, vg_json_clone(v));
    if (sc->m != M_COND) {
        if (sc->m == M_ALL && kw->in_match)
            keep(c, kw, &c->kw[k].mall, vg_json_clone(v), where);
        keep(c, kw, &c->kw[k].global, v, where);
        v = NULL;
    }
    vg_json_free(v);
out:
    free(buf);
    free(argv);
}

static bool same_file(struct file_id a, const struct stat *st)
{
    return a.dev == st->st_dev && a.ino == st->st_ino;
}

/* Reads one configuration file at include depth `depth` (0 for
 * sshd_config), from the Include line at `from` (NULL for sshd_config). */
static enum vg_err parse_file(struct sshd_ctx *c, const char *path, size_t depth,
                              struct scope sc, const char *from)
{
    char why[128];
    if (c->fatal || c->nomem)
        return c->nomem ? VG_ERR_NOMEM : VG_OK;
    if (depth > VG_MAX_INCLUDE_DEPTH) {
        set_fatal(c, "Include nested deeper than %d levels at %s (sshd refuses this "
                  "configuration)", VG_MAX_INCLUDE_DEPTH, from);
        return VG_OK;
    }
    if (++c->nfiles > VG_MAX_INCLUDE_FILES) {
        set_fatal(c, "more than %d configuration files included (at %s)", VG_MAX_INCLUDE_FILES,
                  from ? from : path);
        return VG_OK;
    }

    struct vg_buf b;
    struct stat st;
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = host_read_file(c->hr, path, VG_MAX_HOST_FILE, &b, &st);
    if (e == ENOMEM) {
        vg_buf_free(&b);
        return VG_ERR_NOMEM;
    }
    if (e) {
        if (depth == 0 && e == ENOENT)
            set_fatal(c, "sshd is not configured: %s does not exist", path);
        else if (e == HOST_E_TOOBIG)
            set_fatal(c, "cannot read %s: larger than %u bytes", path, VG_MAX_HOST_FILE);
        else
            set_fatal(c, "cannot read %s: %s", path, host_strerror(e, why, sizeof(why)));
        vg_buf_free(&b);
        return VG_OK;
    }
    for (size_t i = 0; i < depth; i++)
        if (same_file(c->open[i], &st)) {
            set_fatal(c, "Include loop: %s at %s is already being read (sshd refuses this "
                      "configuration)", path, from);
            vg_buf_free(&b);
            return VG_OK;
        }
    c->open[depth] = (struct file_id){ st.st_dev, st.st_ino };

    bool listed = false;
    for (size_t i = 0; i < vg_json_len(c->files); i++)
        if (strcmp(vg_json_get_str(vg_json_at(c->files, i)), path) == 0)
            listed = true;
    if (!listed && vg_json_push(c->files, vg_json_str(path)) != VG_OK)
        c->nomem = true;

    char *end = b.data + b.len;
    size_t lineno = 0;
    for (char *p = b.data; p < end && !c->fatal && !c->nomem;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = '\0';
        lineno++;
        char where[HOST_MAX_PATH + 32];
        snprintf(where, sizeof(where), "%s:%zu", path, lineno);
        process_line(c, p, depth, &sc, where);
        p = nl ? nl + 1 : end;
    }
    vg_buf_free(&b);
    return c->nomem ? VG_ERR_NOMEM : VG_OK;
}

/* ------------------------------------------------------------------ */
/* The resource                                                        */
/* ------------------------------------------------------------------ */

static void ctx_free(struct sshd_ctx *c)
{
    for (size_t k = 0; k < NKW; k++) {
        vg_json_free(c->kw[k].global.val);
        free(c->kw[k].global.src);
        vg_json_free(c->kw[k].mall.val);
        free(c->kw[k].mall.src);
        free(c->kw[k].error);
    }
    vg_json_free(c->files);
    vg_json_free(c->blocks);
    free(c->fatal);
}

/* doc[kw] from what was read, else the default; with its source. */
static enum vg_err put_effective(struct vg_resource *r, struct sshd_ctx *c, size_t k)
{
    const struct sshd_kw *kw = &kws[k];
    struct kw_state *s = &c->kw[k];
    const struct setting *use = NULL;
    if (kw->in_match && s->mall.val)
        use = &s->mall;
    else if (s->global.val)
        use = &s->global;

    struct vg_json *v;
    const char *src = "default";
    if (use) {
        v = vg_json_clone(use->val);
        src = use->src;
    } else if (kw->kind == KW_WORDS) {
        v = vg_json_array();
    } else {
        char why[128];
        bool nomem = false;
        v = normalize(kw, kw->def, why, sizeof(why), &nomem);
    }
    enum vg_err err = vg_json_set(r->doc, kw->name, v);
    if (!err)
        err = vg_resource_set_source(r, kw->name, src);
    if (!err && s->error)
        err = vg_resource_set_error(r, kw->name, s->error);
    return err;
}

enum vg_err host_sshd_collect(const struct host_root *hr, const char *host_name,
                              struct vg_resource_list *out)
{
    char id[512];
    struct sshd_ctx c;
    memset(&c, 0, sizeof(c));
    c.hr = hr;
    c.files = vg_json_array();
    c.blocks = vg_json_array();
    struct vg_resource *r =
        vg_resource_new("host.sshd", host_resource_id(id, sizeof(id), host_name, "sshd"), "sshd",
                        "configuration", "linux-sshd");
    enum vg_err err = r && c.files && c.blocks ? VG_OK : VG_ERR_NOMEM;

    if (!err) {
        struct scope top = { .m = M_GLOBAL, .nevermatch = false, .block = NULL };
        err = parse_file(&c, SSHD_CONFIG, 0, top, NULL);
        if (!err && c.nomem)
            err = VG_ERR_NOMEM;
    }
    if (!err) {
        err = vg_json_set(r->doc, "config_files", c.files);
        c.files = NULL;
    }
    if (!err && c.fatal) {
        /* Nothing about the effective configuration can be said. */
        err = vg_resource_set_error(r, "*", c.fatal);
    } else if (!err) {
        for (size_t k = 0; !err && k < NKW; k++)
            err = put_effective(r, &c, k);
        if (!err) {
            err = vg_json_set(r->doc, "match_blocks", c.blocks);
            c.blocks = NULL;
        }
    }
    ctx_free(&c);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}
