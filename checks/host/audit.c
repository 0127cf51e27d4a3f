/*
 * The Linux audit system's configuration: the rules auditd loads at boot
 * and the daemon's own settings, read from files (no auditctl -l).
 *
 * Rules. On Debian, auditd.service runs `augenrules --load`, which joins
 * the *.rules files of /etc/audit/rules.d in name order into
 * /etc/audit/audit.rules and loads that with `auditctl -R`. So the files
 * of rules.d are the source; /etc/audit/audit.rules is read only when
 * rules.d holds none. Each line is one auditctl invocation:
 *
 *   -w /etc/sudoers -p wa -k scope
 *   -a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change
 *   -a always,exit -F path=/etc/shadow -F perm=wa -k identity
 *   -D | -b 8192 | -f 1 | -e 2 | --backlog_wait_time 60000 | ...
 *
 * A line we cannot read as auditctl would is not skipped (auditctl -R
 * stops there, and what we skipped might have been the rule a check looks
 * for): the rule fields become unknown with "FILE:LINE: why".
 *
 * Document (type host.audit):
 *   "rules_source": "/etc/audit/rules.d" | "/etc/audit/audit.rules" | null
 *   "rules_files": [host paths read, in order]
 *   "watches": [{"path", "perms", "key", "source", "via"}]
 *       every file watch: "-w PATH [-p PERMS]" (via "watch") and
 *       "-a always,exit [-F arch=..] -F path=|dir=PATH [-F perm=..]" with
 *       no -S and no other filter (via "syscall", the form auditctl
 *       documents as equivalent). perms is a subset of "rwxa" in that
 *       order ("wa"); no -p means every one ("rwxa"). A path keeps no
 *       trailing '/'.
 *   "syscalls": [{"list", "action", "arch", "syscalls": [...],
 *       "fields": [{"name","op","value"}], "key", "source"}]
 *   "enabled": the last -e value (2 = immutable), absent when none
 *   "immutable": true when that value is 2
 *   "backlog_limit", "failure_mode": the last -b / -f values, when set
 * auditd.conf, "keyword = value" lines, each keyword lower case at the top
 * level with its value (the *_action words lower case, as auditd compares
 * them; numbers as integers), its source "/etc/audit/auditd.conf:LINE":
 *   "auditd_conf": "/etc/audit/auditd.conf", "auditd_conf_exists": bool,
 *   "max_log_file_action": "keep_logs", "space_left": 75, ...
 *   "unknown_keywords": [keywords not in auditd.conf(5), not kept]
 * A keyword the file does not set is absent: we do not guess auditd's
 * compiled-in defaults. A later line for the same keyword wins.
 */
#include "host.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_RULES_DIR "/etc/audit/rules.d"
#define AUDIT_RULES_FILE "/etc/audit/audit.rules"
#define AUDITD_CONF "/etc/audit/auditd.conf"
#define AUDIT_MAX_WORDS 256          /* words in one rule line */
#define AUDIT_MAX_RULES 65536        /* rules in all files together */

/* ------------------------------------------------------------------ */
/* Rules                                                               */
/* ------------------------------------------------------------------ */

struct rule_line {
    const char *file;
    size_t line;
    char *watch;            /* -w PATH */
    char *unwatch;          /* -W PATH */
    char perms[8];          /* -p, canonical order */
    bool has_perms;
    char *list, *action;    /* -a / -A */
    struct vg_json *syscalls;
    struct vg_json *fields;
    char key[512];
    bool delete_all;        /* -D */
};

/* The canonical "rwxa" subset of p, or false when p has another letter. */
static bool canon_perms(const char *p, char out[8])
{
    bool have[4] = { false, false, false, false };
    static const char order[] = "rwxa";
    if (!*p)
        return false;
    for (; *p; p++) {
        const char *c = strchr(order, *p);
        if (!c || !*p)
            return false;
        have[c - order] = true;
    }
    size_t n = 0;
    for (size_t i = 0; i < 4; i++)
        if (have[i])
            out[n++] = order[i];
    out[n] = '\0';
    return true;
}

/* path without trailing slashes (but "/" stays). Caller frees. */
static char *norm_path(const char *p)
{
    char *s = strdup(p);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

static bool valid_word(const char *s, const char *extra)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return false;
    return true;
}

static void add_key(struct rule_line *rl, const char *k)
{
    size_t n = strlen(rl->key);
    snprintf(rl->key + n, sizeof(rl->key) - n, "%s%s", n ? "," : "", k);
}

/* Splits "name OP value" of -F / -C. */
static bool split_field(const char *f, char *name, size_t nlen, char *op, const char **value)
{
    static const char *const ops[] = { "!=", "<=", ">=", "&=", "=", "<", ">", "&" };
    size_t n = strcspn(f, "!<>&=");
    if (n == 0 || n >= nlen || !f[n])
        return false;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t k = strlen(ops[i]);
        if (strncmp(f + n, ops[i], k) == 0) {
            memcpy(name, f, n);
            name[n] = '\0';
            strcpy(op, ops[i]);
            *value = f + n + k;
            return valid_word(name, "_") && **value;
        }
    }
    return false;
}

static void rule_line_free(struct rule_line *rl)
{
    free(rl->watch);
    free(rl->unwatch);
    free(rl->list);
    free(rl->action);
    vg_json_free(rl->syscalls);
    vg_json_free(rl->fields);
}

#define RL_ERR(...)                                                        \
    do {                                                                   \
        int w_ = snprintf(errbuf, errlen, "%s:%zu: ", file, lineno);       \
        if (w_ > 0 && (size_t)w_ < errlen)                                 \
            snprintf(errbuf + w_, errlen - (size_t)w_, __VA_ARGS__);       \
        err = VG_ERR_PARSE;                                                \
        goto out;                                                          \
    } while (0)

static const char *field_value(const struct vg_json *fields, const char *name, const char *op)
{
    const char *v = NULL;
    for (size_t i = 0; i < vg_json_len(fields); i++) {
        const struct vg_json *f = vg_json_at(fields, i);
        if (strcmp(vg_json_get_str(vg_json_get(f, "name")), name) == 0 &&
            strcmp(vg_json_get_str(vg_json_get(f, "op")), op) == 0)
            v = vg_json_get_str(vg_json_get(f, "value"));
    }
    return v;
}

static enum vg_err push_watch(struct vg_json *watches, const char *path, const char *perms,
                              const char *key, const char *source, const char *via)
{
    struct vg_json *w = vg_json_object();
    char *np = norm_path(path);
    enum vg_err err = w && np ? VG_OK : VG_ERR_NOMEM;
    if (!err)
        err = vg_json_set_str(w, "path", np);
    if (!err)
        err = vg_json_set_str(w, "perms", perms);
    if (!err)
        err = key && *key ? vg_json_set_str(w, "key", key) : vg_json_set(w, "key", vg_json_null());
    if (!err)
        err = vg_json_set_str(w, "source", source);
    if (!err)
        err = vg_json_set_str(w, "via", via);
    free(np);
    if (err) {
        vg_json_free(w);
        return err;
    }
    return vg_json_push(watches, w);
}

/* Removes every watch on path (auditctl -W). */
static enum vg_err remove_watch(struct vg_json *doc, const char *path)
{
    struct vg_json *watches = vg_json_get(doc, "watches");
    struct vg_json *kept = vg_json_array();
    char *np = norm_path(path);
    if (!kept || !np) {
        vg_json_free(kept);
        free(np);
        return VG_ERR_NOMEM;
    }
    enum vg_err err = VG_OK;
    for (size_t i = 0; !err && i < vg_json_len(watches); i++) {
        const struct vg_json *w = vg_json_at(watches, i);
        if (strcmp(vg_json_get_str(vg_json_get(w, "path")), np) != 0)
            err = vg_json_push(kept, vg_json_clone(w));
    }
    free(np);
    if (err) {
        vg_json_free(kept);
        return err;
    }
    return vg_json_set(doc, "watches", kept);
}

static enum vg_err set_num(struct vg_json *doc, const char *key, const char *v, int64_t lo,
                           int64_t hi, bool *ok)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    *ok = errno == 0 && end != v && !*end && n >= lo && n <= hi;
    if (!*ok)
        return VG_OK;
    return vg_json_set_int(doc, key, (int64_t)n);
}

/* One line of rules, as words. */
static enum vg_err rule_words(char **words, size_t nw, const char *file, size_t lineno,
                              struct vg_json *doc, char *errbuf, size_t errlen)
{
    struct rule_line rl;
    memset(&rl, 0, sizeof(rl));
    enum vg_err err = VG_OK;
    char source[HOST_MAX_PATH + 32];
    snprintf(source, sizeof(source), "%s:%zu", file, lineno);
    rl.fields = vg_json_array();
    rl.syscalls = vg_json_array();
    if (!rl.fields || !rl.syscalls) {
        err = VG_ERR_NOMEM;
        goto out;
    }

    for (size_t i = 0; i < nw; i++) {
        const char *w = words[i];
        const char *arg = NULL;
        if (w[0] != '-' || !w[1])
            RL_ERR("unexpected word \"%.64s\"", w);
        if (w[1] == '-') {
            /* long options */
            static const char *const no_arg[] = { "--loginuid-immutable", "--reset-lost",
                                                  "--reset_backlog_wait_time_actual" };
            bool known = false;
            for (size_t k = 0; k < sizeof(no_arg) / sizeof(no_arg[0]); k++)
                known = known || strcmp(w, no_arg[k]) == 0;
            if (known)
                continue;
            if (strcmp(w, "--backlog_wait_time") == 0) {
                if (i + 1 >= nw)
                    RL_ERR("%s needs a value", w);
                bool ok;
                err = set_num(doc, "backlog_wait_time", words[++i], 0, 600000, &ok);
                if (err)
                    goto out;
                if (!ok)
                    RL_ERR("invalid --backlog_wait_time \"%.32s\"", words[i]);
                continue;
            }
            RL_ERR("unknown option %.64s", w);
        }
        char opt = w[1];
        if (strchr("wWpkaAdSFCbfer", opt)) {
            /* options with a value: "-w PATH" or "-wPATH", as getopt */
            if (w[2])
                arg = w + 2;
            else if (i + 1 < nw)
                arg = words[++i];
            else
                RL_ERR("-%c needs a value", opt);
        } else if (w[2]) {
            RL_ERR("unknown option %.64s", w);
        }
        switch (opt) {
        case 'w':
        case 'W':
            if (rl.watch || rl.unwatch)
                RL_ERR("more than one -w or -W");
            if (arg[0] != '/')
                RL_ERR("watch path \"%.64s\" is not absolute", arg);
            if (!(*(opt == 'w' ? &rl.watch : &rl.unwatch) = strdup(arg))) {
                err = VG_ERR_NOMEM;
                goto out;
            }
            break;
        case 'p':
            if (rl.has_perms || !canon_perms(arg, rl.perms))
                RL_ERR("invalid permissions -p \"%.16s\"", arg);
            rl.has_perms = true;
            break;
        case 'k':
            if (!*arg || strlen(arg) > 255)
                RL_ERR("invalid key");
            add_key(&rl, arg);
            break;
        case 'a':
        case 'A': {
            if (rl.list)
                RL_ERR("more than one -a");
            char a[64], b[64];
            size_t n = strcspn(arg, ",");
            if (!arg[n] || n >= sizeof(a) || strlen(arg + n + 1) >= sizeof(b))
                RL_ERR("-a needs LIST,ACTION, not \"%.64s\"", arg);
            memcpy(a, arg, n);
            a[n] = '\0';
            strcpy(b, arg + n + 1);
            static const char *const lists[] = { "exit", "task", "user", "exclude",
                                                 "filesystem", "io_uring" };
            bool a_is_action = strcmp(a, "always") == 0 || strcmp(a, "never") == 0;
            const char *action = a_is_action ? a : b, *list = a_is_action ? b : a;
            bool list_ok = false;
            for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++)
                list_ok = list_ok || strcmp(list, lists[k]) == 0;
            if (!list_ok || (strcmp(action, "always") != 0 && strcmp(action, "never") != 0))
                RL_ERR("-a needs LIST,ACTION, not \"%.64s\"", arg);
            rl.list = strdup(list);
            rl.action = strdup(action);
            if (!rl.list || !rl.action) {
                err = VG_ERR_NOMEM;
                goto out;
            }
            break;
        }
        case 'd':
            RL_ERR("rule deletion (-d) is not supported");
            break;
        case 'S': {
            char *copy = strdup(arg);
            if (!copy) {
                err = VG_ERR_NOMEM;
                goto out;
            }
            char *save = NULL;
            bool bad = false;
            for (char *s = strtok_r(copy, ",", &save); s && !err; s = strtok_r(NULL, ",", &save)) {
                if (!valid_word(s, "_"))
                    bad = true;
                else
                    err = vg_json_push(rl.syscalls, vg_json_str(s));
            }
            free(copy);
            if (err)
                goto out;
            if (bad)
                RL_ERR("invalid syscall list \"%.64s\"", arg);
            break;
        }
        case 'F':
        case 'C': {
            char name[64], op[4];
            const char *value;
            if (!split_field(arg, name, sizeof(name), op, &value))
                RL_ERR("invalid field \"%.64s\"", arg);
            if (opt == 'F' && strcmp(name, "key") == 0) {
                add_key(&rl, value);
                break;
            }
            if (opt == 'F' && strcmp(name, "perm") == 0) {
                char p[8];
                if (!canon_perms(value, p))
                    RL_ERR("invalid perm \"%.16s\"", value);
            }
            struct vg_json *f = vg_json_object();
            err = f ? VG_OK : VG_ERR_NOMEM;
            if (!err)
                err = vg_json_set_str(f, "name", name);
            if (!err)
                err = vg_json_set_str(f, "op", op);
            if (!err)
                err = vg_json_set_str(f, "value", value);
            if (!err && opt == 'C')
                err = vg_json_set_bool(f, "compare", true);
            if (err) {
                vg_json_free(f);
                goto out;
            }
            err = vg_json_push(rl.fields, f);
            if (err)
                goto out;
            break;
        }
        case 'b':
        case 'f':
        case 'e':
        case 'r': {
            static const struct {
                char opt;
                const char *key;
                int64_t lo, hi;
            } ctl[] = {
                { 'b', "backlog_limit", 0, 0x7fffffff },
                { 'f', "failure_mode", 0, 2 },
                { 'e', "enabled", 0, 2 },
                { 'r', "rate_limit", 0, 0x7fffffff },
            };
            for (size_t k = 0; k < sizeof(ctl) / sizeof(ctl[0]); k++) {
                if (ctl[k].opt != opt)
                    continue;
                bool ok;
                err = set_num(doc, ctl[k].key, arg, ctl[k].lo, ctl[k].hi, &ok);
                if (err)
                    goto out;
                if (!ok)
                    RL_ERR("invalid -%c value \"%.32s\"", opt, arg);
                if (opt == 'e')
                    err = vg_json_set_bool(doc, "immutable", strcmp(arg, "2") == 0);
                if (err)
                    goto out;
            }
            break;
        }
        case 'D':
            rl.delete_all = true;
            break;
        case 'c':
        case 'i':
            break;   /* continue / ignore errors while loading */
        default:
            RL_ERR("unknown option -%c", opt);
        }
    }

    /* What the line as a whole means. */
    if (rl.delete_all) {
        err = vg_json_set(doc, "watches", vg_json_array());
        if (!err)
            err = vg_json_set(doc, "syscalls", vg_json_array());
        if (err)
            goto out;
    }
    if ((rl.watch || rl.unwatch) && rl.list)
        RL_ERR("-w and -a in one rule");
    if (rl.has_perms && !rl.watch && !rl.unwatch)
        RL_ERR("-p without -w");
    if ((rl.watch || rl.unwatch) && (vg_json_len(rl.syscalls) || vg_json_len(rl.fields)))
        RL_ERR("-S or -F with -w");
    if (!rl.list && (vg_json_len(rl.syscalls) || vg_json_len(rl.fields)))
        RL_ERR("-S or -F without -a");
    if (rl.key[0] && !rl.watch && !rl.list && !rl.unwatch)
        RL_ERR("-k without a rule");
    if (rl.watch) {
        err = push_watch(vg_json_get(doc, "watches"), rl.watch, rl.has_perms ? rl.perms : "rwxa",
                         rl.key, source, "watch");
    } else if (rl.unwatch) {
        err = remove_watch(doc, rl.unwatch);
    } else if (rl.list) {
        const char *arch = field_value(rl.fields, "arch", "=");
        struct vg_json *s = vg_json_object();
        err = s ? VG_OK : VG_ERR_NOMEM;
        if (!err)
            err = vg_json_set_str(s, "list", rl.list);
        if (!err)
            err = vg_json_set_str(s, "action", rl.action);
        if (!err)
            err = arch ? vg_json_set_str(s, "arch", arch) : vg_json_set(s, "arch", vg_json_null());
        if (!err)
            err = vg_json_set(s, "syscalls", vg_json_clone(rl.syscalls));
        if (!err)
            err = vg_json_set(s, "fields", vg_json_clone(rl.fields));
        if (!err)
            err = rl.key[0] ? vg_json_set_str(s, "key", rl.key)
                            : vg_json_set(s, "key", vg_json_null());
        if (!err)
            err = vg_json_set_str(s, "source", source);
        if (err) {
            vg_json_free(s);
            goto out;
        }
        err = vg_json_push(vg_json_get(doc, "syscalls"), s);
        /* The syscall form of a watch: always,exit on a path, every
         * syscall, no other filter. */
        bool all_calls = vg_json_len(rl.syscalls) == 0 ||
                         (vg_json_len(rl.syscalls) == 1 &&
                          strcmp(vg_json_get_str(vg_json_at(rl.syscalls, 0)), "all") == 0);
        const char *path = field_value(rl.fields, "path", "=");
        if (!path)
            path = field_value(rl.fields, "dir", "=");
        bool only_path = true;
        for (size_t i = 0; i < vg_json_len(rl.fields); i++) {
            const char *n = vg_json_get_str(vg_json_get(vg_json_at(rl.fields, i), "name"));
            const char *o = vg_json_get_str(vg_json_get(vg_json_at(rl.fields, i), "op"));
            if (strcmp(o, "=") != 0 || (strcmp(n, "arch") != 0 && strcmp(n, "path") != 0 &&
                                        strcmp(n, "dir") != 0 && strcmp(n, "perm") != 0))
                only_path = false;
        }
        if (!err && path && path[0] == '/' && all_calls && only_path &&
            strcmp(rl.list, "exit") == 0 && strcmp(rl.action, "always") == 0) {
            const char *perm = field_value(rl.fields, "perm", "=");
            char p[8] = "rwxa";
            if (perm)
                canon_perms(perm, p);
            err = push_watch(vg_json_get(doc, "watches"), path, p, rl.key, source, "syscall");
        }
    }
out:
    rule_line_free(&rl);
    return err;
}

enum vg_err host_audit_parse_rules(const char *text, size_t len, const char *file,
                                   struct vg_json *doc, char *errbuf, size_t errlen)
{
    enum vg_err err = VG_OK;
    size_t lineno = 0;
    char *words[AUDIT_MAX_WORDS];
    errbuf[0] = '\0';
    if (!vg_json_get(doc, "watches") && vg_json_set(doc, "watches", vg_json_array()))
        return VG_ERR_NOMEM;
    if (!vg_json_get(doc, "syscalls") && vg_json_set(doc, "syscalls", vg_json_array()))
        return VG_ERR_NOMEM;
    if (memchr(text, '\0', len)) {
        snprintf(errbuf, errlen, "%s: the file holds a NUL byte", file);
        return VG_ERR_PARSE;
    }
    const char *p = text, *end = text + len;
    while (p < end && !err) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char *line = malloc((size_t)(le - p) + 1);
        if (!line)
            return VG_ERR_NOMEM;
        memcpy(line, p, (size_t)(le - p));
        line[le - p] = '\0';
        p = nl ? nl + 1 : end;
        lineno++;

        char *s = line + strspn(line, " \t\r");
        if (*s && *s != '#') {
            size_t nw = 0;
            char *save = NULL;
            for (char *w = strtok_r(s, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
                if (nw == AUDIT_MAX_WORDS) {
                    snprintf(errbuf, errlen, "%s:%zu: more than %d words", file, lineno,
                             AUDIT_MAX_WORDS);
                    err = VG_ERR_PARSE;
                    break;
                }
                words[nw++] = w;
            }
            if (!err)
                err = rule_words(words, nw, file, lineno, doc, errbuf, errlen);
            if (!err && vg_json_len(vg_json_get(doc, "syscalls")) +
                                vg_json_len(vg_json_get(doc, "watches")) >
                            AUDIT_MAX_RULES) {
                snprintf(errbuf, errlen, "%s:%zu: more than %d rules", file, lineno,
                         AUDIT_MAX_RULES);
                err = VG_ERR_PARSE;
            }
        }
        free(line);
    }
    return err;
}

/* ------------------------------------------------------------------ */
/* auditd.conf                                                         */
/* ------------------------------------------------------------------ */

/* Keywords of auditd.conf(5) (audit 3.0), for the errors of an unreadable
 * file; the *_action ones are compared case-insensitively by auditd. */
static const char *const conf_keys[] = {
    "local_events", "write_logs", "log_file", "log_group", "log_format", "flush", "freq",
    "num_logs", "name_format", "name", "max_log_file", "max_log_file_action",
    "verify_email", "action_mail_acct", "space_left", "space_left_action",
    "admin_space_left", "admin_space_left_action", "disk_full_action", "disk_error_action",
    "tcp_listen_port", "tcp_listen_queue", "tcp_max_per_addr", "use_libwrap",
    "tcp_client_ports", "tcp_client_max_idle", "transport", "enable_krb5", "krb5_principal",
    "krb5_key_file", "distribute_network", "q_depth", "overflow_action", "max_restarts",
    "plugin_dir", "end_of_event_timeout", "priority_boost", "disp_qos", "dispatcher",
    "auditd_conf_exists",
};

static bool known_conf_key(const char *k)
{
    size_t n = sizeof(conf_keys) / sizeof(conf_keys[0]) - 1;   /* not auditd_conf_exists */
    for (size_t i = 0; i < n; i++)
        if (strcmp(k, conf_keys[i]) == 0)
            return true;
    return false;
}

static bool is_action_key(const char *k)
{
    size_t n = strlen(k);
    return n > 7 && strcmp(k + n - 7, "_action") == 0;
}

static enum vg_err parse_conf(const char *text, size_t len, struct vg_resource *r, char *errbuf,
                              size_t errlen)
{
    enum vg_err err = VG_OK;
    size_t lineno = 0;
    if (memchr(text, '\0', len)) {
        snprintf(errbuf, errlen, AUDITD_CONF ": the file holds a NUL byte");
        return VG_ERR_PARSE;
    }
    /* A first pass for syntax, so a bad line leaves nothing half set. */
    for (int pass = 0; pass < 2 && !err; pass++) {
        const char *p = text, *end = text + len;
        lineno = 0;
        while (p < end && !err) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            size_t n = (size_t)(le - p);
            char line[1024];
            lineno++;
            if (n >= sizeof(line)) {
                snprintf(errbuf, errlen, AUDITD_CONF ":%zu: line too long", lineno);
                return VG_ERR_PARSE;
            }
            memcpy(line, p, n);
            line[n] = '\0';
            p = nl ? nl + 1 : end;
            char *s = line + strspn(line, " \t\r");
            if (!*s || *s == '#')
                continue;
            char *eq = strchr(s, '=');
            if (!eq) {
                snprintf(errbuf, errlen, AUDITD_CONF ":%zu: not a \"keyword = value\" line",
                         lineno);
                return VG_ERR_PARSE;
            }
            char *k = s, *v = eq + 1;
            *eq = '\0';
            size_t kn = strlen(k);
            while (kn && isspace((unsigned char)k[kn - 1]))
                k[--kn] = '\0';
            v += strspn(v, " \t");
            size_t vn = strlen(v);
            while (vn && isspace((unsigned char)v[vn - 1]))
                v[--vn] = '\0';
            for (char *c = k; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            if (!valid_word(k, "_")) {
                snprintf(errbuf, errlen, AUDITD_CONF ":%zu: invalid keyword", lineno);
                return VG_ERR_PARSE;
            }
            if (pass == 0)
                continue;
            if (!known_conf_key(k)) {
                /* Not auditd.conf(5)'s (or a newer auditd's): listed, never
                 * allowed to shadow a field of ours. */
                err = vg_json_push(vg_json_get(r->doc, "unknown_keywords"), vg_json_str(k));
                continue;
            }
            struct vg_json *val;
            char *end_num = NULL;
            errno = 0;
            long long num = *v ? strtoll(v, &end_num, 10) : 0;
            if (is_action_key(k)) {
                /* "exec /path" keeps its first word */
                v[strcspn(v, " \t")] = '\0';
                for (char *c = v; *c; c++)
                    *c = (char)tolower((unsigned char)*c);
                val = vg_json_str(v);
            } else if (*v && errno == 0 && end_num && !*end_num && isdigit((unsigned char)*v)) {
                val = vg_json_int((int64_t)num);
            } else {
                val = vg_json_str(v);
            }
            char src[64];
            snprintf(src, sizeof(src), AUDITD_CONF ":%zu", lineno);
            err = vg_json_set(r->doc, k, val);
            if (!err)
                err = vg_resource_set_source(r, k, src);
        }
    }
    return err;
}

/* ------------------------------------------------------------------ */
/* The collector                                                       */
/* ------------------------------------------------------------------ */

static enum vg_err rules_unknown(struct vg_resource *r, const char *why)
{
    static const char *const fields[] = { "watches", "syscalls", "enabled", "immutable",
                                          "backlog_limit", "failure_mode", "rules_files" };
    enum vg_err err = VG_OK;
    for (size_t i = 0; !err && i < sizeof(fields) / sizeof(fields[0]); i++)
        err = vg_resource_set_error(r, fields[i], why);
    return err;
}

static enum vg_err collect_rules(const struct host_root *hr, struct vg_resource *r)
{
    struct host_strv files = { 0 };
    char errpath[HOST_MAX_PATH], words[128], why[VG_MAX_REASON];
    struct vg_json *list = vg_json_array();
    enum vg_err err = list ? VG_OK : VG_ERR_NOMEM;
    const char *source = NULL;

    if (!err)
        err = vg_json_set(r->doc, "watches", vg_json_array());
    if (!err)
        err = vg_json_set(r->doc, "syscalls", vg_json_array());
    if (err)
        goto out;
    int e = host_glob(hr, AUDIT_RULES_DIR "/*.rules", HOST_MAX_DIR_ENTRIES, &files, errpath,
                      sizeof(errpath));
    if (e == ENOMEM) {
        err = VG_ERR_NOMEM;
        goto out;
    }
    if (e) {
        snprintf(why, sizeof(why), "cannot read %.300s: %s", errpath,
                 host_strerror(e, words, sizeof(words)));
        err = rules_unknown(r, why);
        goto out;
    }
    if (files.n) {
        source = AUDIT_RULES_DIR;
    } else {
        struct host_node n;
        e = host_resolve(hr, AUDIT_RULES_FILE, &n);
        if (e == 0) {
            host_node_close(&n);
            source = AUDIT_RULES_FILE;
            if (host_strv_push(&files, AUDIT_RULES_FILE) != 0) {
                err = VG_ERR_NOMEM;
                goto out;
            }
        } else if (e != ENOENT && e != ENOTDIR) {
            snprintf(why, sizeof(why), "cannot read " AUDIT_RULES_FILE ": %s",
                     host_strerror(e, words, sizeof(words)));
            err = e == ENOMEM ? VG_ERR_NOMEM : rules_unknown(r, why);
            goto out;
        }
    }
    for (size_t i = 0; i < files.n; i++) {
        struct vg_buf b;
        vg_buf_init(&b, VG_MAX_HOST_FILE);
        e = host_read_file(hr, files.v[i], VG_MAX_HOST_FILE, &b, NULL);
        if (e) {
            vg_buf_free(&b);
            if (e == ENOMEM) {
                err = VG_ERR_NOMEM;
                goto out;
            }
            snprintf(why, sizeof(why), "cannot read %.300s: %s", files.v[i],
                     host_strerror(e, words, sizeof(words)));
            err = rules_unknown(r, why);
            goto out;
        }
        err = vg_json_push(list, vg_json_str(files.v[i]));
        if (!err)
            err = host_audit_parse_rules(b.data, b.len, files.v[i], r->doc, why, sizeof(why));
        vg_buf_free(&b);
        if (err == VG_ERR_PARSE) {
            err = rules_unknown(r, why);
            goto out;
        }
        if (err)
            goto out;
    }
    if (!vg_json_get(r->doc, "immutable"))
        err = vg_json_set_bool(r->doc, "immutable", false);
out:
    if (!err)
        err = source ? vg_json_set_str(r->doc, "rules_source", source)
                     : vg_json_set(r->doc, "rules_source", vg_json_null());
    if (!err) {
        err = vg_json_set(r->doc, "rules_files", list);
        list = NULL;
    }
    vg_json_free(list);
    host_strv_free(&files);
    return err;
}

static enum vg_err conf_unknown(struct vg_resource *r, const char *why)
{
    enum vg_err err = VG_OK;
    for (size_t i = 0; !err && i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++)
        err = vg_resource_set_error(r, conf_keys[i], why);
    return err;
}

static enum vg_err collect_conf(const struct host_root *hr, struct vg_resource *r)
{
    struct vg_buf b;
    char words[128], why[VG_MAX_REASON];
    enum vg_err err = vg_json_set_str(r->doc, "auditd_conf", AUDITD_CONF);
    if (err)
        return err;
    vg_buf_init(&b, VG_MAX_HOST_FILE);
    int e = host_read_file(hr, AUDITD_CONF, VG_MAX_HOST_FILE, &b, NULL);
    if (e == ENOMEM) {
        err = VG_ERR_NOMEM;
    } else if (e == ENOENT || e == ENOTDIR) {
        /* auditd is not installed, or has no configuration: nothing is set */
        err = vg_json_set_bool(r->doc, "auditd_conf_exists", false);
    } else if (e) {
        snprintf(why, sizeof(why), "cannot read " AUDITD_CONF ": %s",
                 host_strerror(e, words, sizeof(words)));
        err = conf_unknown(r, why);
    } else {
        err = vg_json_set_bool(r->doc, "auditd_conf_exists", true);
        if (!err)
            err = vg_json_set(r->doc, "unknown_keywords", vg_json_array());
        if (!err)
            err = parse_conf(b.data, b.len, r, why, sizeof(why));
        if (err == VG_ERR_PARSE)
            err = conf_unknown(r, why);
    }
    vg_buf_free(&b);
    return err;
}

enum vg_err host_audit_collect(const struct host_root *hr, const char *host_name,
                               struct vg_resource_list *out)
{
    char id[512];
    struct vg_resource *r = vg_resource_new("host.audit",
                                            host_resource_id(id, sizeof(id), host_name, "audit"),
                                            "audit", "configuration", "linux-auditd");
    if (!r)
        return VG_ERR_NOMEM;
    enum vg_err err = collect_rules(hr, r);
    if (!err)
        err = collect_conf(hr, r);
    if (err) {
        vg_resource_destroy(r);
        return err;
    }
    return vg_resource_list_add(out, r);
}
