/* The host provider's kernel, boot and login policy collectors (sysctl.c,
 * mounts.c, modules.c, grub.c, logindefs.c) and their rules
 * (checks/rules/host-kernel.yml): trees built under /tmp by each test, and
 * the fixture trees of tests/fixtures prepared by prepare.sh. */
#define _GNU_SOURCE   /* mkdtemp, nftw */

#include "vgtest.h"

#include "agent/buf.h"
#include "agent/json.h"
#include "checks/host/host.h"
#include "checks/provider.h"
#include "checks/resource.h"
#include "checks/rule.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Trees                                                               */
/* ------------------------------------------------------------------ */

struct tree {
    char base[64];
    char root[96];
};

static void tree_new(struct tree *t)
{
    snprintf(t->base, sizeof(t->base), "/tmp/vg-hk-XXXXXX");
    if (!mkdtemp(t->base)) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(t->root, sizeof(t->root), "%s/root", t->base);
    mkdir(t->root, 0755);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void tree_free(struct tree *t)
{
    nftw(t->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_parents(const char *root, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
}

static void put_n(const struct tree *t, const char *rel, const char *text, size_t n)
{
    char path[1024];
    make_parents(t->root, rel);
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    unlink(path);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    if (n && fwrite(text, 1, n, f) != n)
        perror(path);
    fclose(f);
}

static void put(const struct tree *t, const char *rel, const char *text)
{
    put_n(t, rel, text, strlen(text));
}

static void link_to(const struct tree *t, const char *rel, const char *target)
{
    char path[1024];
    make_parents(t->root, rel);
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    unlink(path);
    if (symlink(target, path) != 0) {
        perror(path);
        exit(2);
    }
}

static void make_fifo(const struct tree *t, const char *rel)
{
    char path[1024];
    make_parents(t->root, rel);
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    unlink(path);
    if (mkfifo(path, 0644) != 0) {
        perror(path);
        exit(2);
    }
}

static void make_dir(const struct tree *t, const char *rel)
{
    char path[1024];
    make_parents(t->root, rel);
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    mkdir(path, 0755);
}

static void remove_path(const struct tree *t, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* /proc/sys values: "kernel/randomize_va_space=2;fs/suid_dumpable=0" */
static void proc_sys(const struct tree *t, const char *spec)
{
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", spec);
    char *save = NULL;
    for (char *it = strtok_r(copy, ";", &save); it; it = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(it, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char rel[512], val[128];
        snprintf(rel, sizeof(rel), "proc/sys/%s", it);
        snprintf(val, sizeof(val), "%s\n", eq + 1);
        put(t, rel, val);
    }
}

/* ------------------------------------------------------------------ */
/* Collecting and reading documents                                    */
/* ------------------------------------------------------------------ */

struct scan {
    enum vg_err err;
    char errbuf[512];
    struct vg_resource_list list;
    struct vg_target_info info;
    struct vg_json *scan_errors;
};

static void scan_root(struct scan *s, const char *root)
{
    memset(s, 0, sizeof(*s));
    vg_resource_list_init(&s->list);
    s->scan_errors = vg_json_array();
    struct vg_scan_params p = { .provider = "host", .root = root };
    s->err = vg_provider_host.collect(&p, &s->list, &s->info, s->scan_errors, s->errbuf,
                                      sizeof(s->errbuf));
    if (s->err)
        fprintf(stderr, "  collect: %s\n", s->errbuf);
}

static void scan_free(struct scan *s)
{
    vg_resource_list_free(&s->list);
    vg_target_info_clear(&s->info);
    vg_json_free(s->scan_errors);
}

static const struct vg_resource *find(const struct scan *s, const char *type)
{
    for (size_t i = 0; i < s->list.n; i++)
        if (strcmp(s->list.items[i]->type, type) == 0)
            return s->list.items[i];
    return NULL;
}

/* The value at a '/'-separated path of r's document ("persisted/net/ipv4/ip_forward"). */
static const struct vg_json *at(const struct vg_resource *r, const char *path)
{
    if (!r)
        return NULL;
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", path);
    const struct vg_json *v = r->doc;
    char *save = NULL;
    for (char *p = strtok_r(copy, "/", &save); v && p; p = strtok_r(NULL, "/", &save))
        v = vg_json_get(v, p);
    return v;
}

static long long int_at(const struct vg_resource *r, const char *path)
{
    const struct vg_json *v = at(r, path);
    return v && vg_json_type(v) == VG_JSON_INT ? (long long)vg_json_get_int(v) : -999;
}

static const char *str_at(const struct vg_resource *r, const char *path)
{
    return vg_json_get_str(at(r, path));
}

static int bool_at(const struct vg_resource *r, const char *path)
{
    const struct vg_json *v = at(r, path);
    return v && vg_json_type(v) == VG_JSON_BOOL ? vg_json_get_bool(v) : -1;
}

static const char *src_of(const struct vg_resource *r, const char *field)
{
    return r && r->sources ? vg_json_get_str(vg_json_get(r->sources, field)) : NULL;
}

static const char *err_of(const struct vg_resource *r, const char *field)
{
    return r && r->errors ? vg_json_get_str(vg_json_get(r->errors, field)) : NULL;
}

static char *dump(const struct vg_json *v)
{
    struct vg_buf b;
    vg_buf_init(&b, 1 << 24);
    if (!v || vg_json_dump(v, &b) != VG_OK) {
        vg_buf_free(&b);
        return strdup("<null>");
    }
    return vg_buf_detach(&b);
}

static bool array_has(const struct vg_json *a, const char *s)
{
    for (size_t i = 0; i < vg_json_len(a); i++)
        if (vg_json_get_str(vg_json_at(a, i)) && strcmp(vg_json_get_str(vg_json_at(a, i)), s) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */
/* ------------------------------------------------------------------ */

static const char *source_dir(void)
{
    static char dir[1024];
    const char *env = getenv("VG_SOURCE_DIR");
    if (env && *env)
        return env;
    snprintf(dir, sizeof(dir), "%s", VG_SOURCE_DATA_DIR "/rules");
    char *p = strstr(dir, "/checks/rules");
    if (p)
        *p = '\0';
    return dir;
}

static struct vg_ruleset *rules_loaded;

static void free_rules(void)
{
    vg_ruleset_destroy(rules_loaded);
}

static struct vg_ruleset *kernel_rules(void)
{
    struct vg_ruleset *rs = rules_loaded;
    if (rs)
        return rs;
    rs = vg_ruleset_new();
    atexit(free_rules);
    char path[1200], errbuf[512];
    snprintf(path, sizeof(path), "%s/checks/rules/host-kernel.yml", source_dir());
    enum vg_err err = rs ? vg_ruleset_load_path(rs, path, errbuf, sizeof(errbuf)) : VG_ERR_NOMEM;
    CHECK_EQ_INT(err, VG_OK);
    if (err)
        fprintf(stderr, "  %s\n", errbuf);
    rules_loaded = rs;
    return rs;
}

struct verdict {
    enum vg_eval ev;
    char reason[VG_MAX_REASON];
    char *evidence;
};

/* Evaluates rule id against the resource of its type in s. */
static struct verdict judge(const struct scan *s, const char *id)
{
    struct verdict v = { VG_EVAL_UNKNOWN, "", NULL };
    const struct vg_rule *rule = vg_ruleset_find(kernel_rules(), id);
    CHECK(rule != NULL);
    if (!rule) {
        snprintf(v.reason, sizeof(v.reason), "no rule %s", id);
        return v;
    }
    const struct vg_resource *res = find(s, rule->resource);
    CHECK(res != NULL);
    if (!res)
        return v;
    struct vg_eval_result er;
    memset(&er, 0, sizeof(er));
    CHECK_EQ_INT(vg_rule_eval(rule, res, &er), VG_OK);
    v.ev = er.evaluation;
    snprintf(v.reason, sizeof(v.reason), "%s", er.reason);
    v.evidence = dump(er.evidence);
    vg_eval_result_clear(&er);
    return v;
}

#define CHECK_RULE(s, id, want)                                                          \
    do {                                                                                 \
        struct verdict v_ = judge((s), (id));                                            \
        if (v_.ev != (want))                                                             \
            fprintf(stderr, "  %s: %s (%s), expected %s\n", (id), vg_eval_name(v_.ev),  \
                    v_.reason, vg_eval_name(want));                                      \
        CHECK_EQ_INT(v_.ev, (want));                                                     \
        free(v_.evidence);                                                               \
    } while (0)

#define CHECK_REASON(s, id, want, text)                                                  \
    do {                                                                                 \
        struct verdict v_ = judge((s), (id));                                            \
        CHECK_EQ_INT(v_.ev, (want));                                                     \
        CHECK_CONTAINS(v_.reason, (text));                                               \
        free(v_.evidence);                                                               \
    } while (0)

/* ------------------------------------------------------------------ */
/* sysctl                                                              */
/* ------------------------------------------------------------------ */

VG_TEST(sysctl_key_normalization)
{
    char out[256];
    CHECK(host_sysctl_normalize("net.ipv4.ip_forward", out, sizeof(out)));
    CHECK_EQ_STR(out, "net/ipv4/ip_forward");
    CHECK(host_sysctl_normalize("net/ipv4/ip_forward", out, sizeof(out)));
    CHECK_EQ_STR(out, "net/ipv4/ip_forward");
    /* a dot inside a name: eth0.100 */
    CHECK(host_sysctl_normalize("net.ipv4.conf.eth0/100.rp_filter", out, sizeof(out)));
    CHECK_EQ_STR(out, "net/ipv4/conf/eth0.100/rp_filter");
    CHECK(host_sysctl_normalize("net/ipv4/conf/eth0.100/rp_filter", out, sizeof(out)));
    CHECK_EQ_STR(out, "net/ipv4/conf/eth0.100/rp_filter");
    CHECK(host_sysctl_normalize("/kernel//./randomize_va_space/", out, sizeof(out)));
    CHECK_EQ_STR(out, "kernel/randomize_va_space");
    /* refused: a way out of /proc/sys, nothing, too deep, too long */
    CHECK(!host_sysctl_normalize("net/../../etc/shadow", out, sizeof(out)));
    /* "net.ipv4/.." is "net/ipv4./" for systemd: a name with a dot */
    CHECK(host_sysctl_normalize("net.ipv4/..", out, sizeof(out)));
    CHECK_EQ_STR(out, "net/ipv4.");
    CHECK(!host_sysctl_normalize("", out, sizeof(out)));
    CHECK(!host_sysctl_normalize("///", out, sizeof(out)));
    CHECK(!host_sysctl_normalize("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q", out, sizeof(out)));
    char longkey[400];
    memset(longkey, 'a', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    CHECK(!host_sysctl_normalize(longkey, out, sizeof(out)));
    CHECK(!host_sysctl_normalize("net.ipv4.ip\x01forward", out, sizeof(out)));
}

VG_TEST(sysctl_precedence_globs_and_masks)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    /* same name in two directories: /etc wins, /usr/lib's is not read */
    put(&t, "usr/lib/sysctl.d/10-a.conf", "net.ipv4.ip_forward = 1\nkernel.shmmax = 1\n");
    put(&t, "etc/sysctl.d/10-a.conf", "net.ipv4.ip_forward = 0\n");
    /* files in name order whatever their directory: 20 (run) after 10 */
    put(&t, "run/sysctl.d/20-b.conf",
        "# comment\n; comment\n\n  net.ipv4.tcp_syncookies=1   \n"
        "net.ipv4.tcp_rmem = 4096\t 131072   6291456\n");
    /* a mask: /etc/sysctl.d/30-c.conf -> /dev/null hides /usr/lib's */
    put(&t, "usr/lib/sysctl.d/30-c.conf", "net.ipv4.ip_forward = 1\n");
    link_to(&t, "etc/sysctl.d/30-c.conf", "/dev/null");
    /* globs: the last matching one wins; "-key" keeps them off a key; an
     * explicit line always beats a glob */
    put(&t, "usr/lib/sysctl.d/40-globs.conf",
        "net.ipv4.conf.*.rp_filter = 2\n"
        "-net.ipv4.conf.all.rp_filter\n"
        "net.ipv4.conf.*.accept_source_route = 1\n"
        "net.ipv4.conf.default.accept_source_route = 0\n"
        "net.ipv4.conf.*.log_martians = 0\n"
        "net.ipv4.conf.*.log_martians = 1\n"
        "this line is not an assignment\n"
        "net/../../etc/shadow = 1\n"
        "-kernel.ignored_failure = 5\n");
    /* later lines win; slash form; an interface with a dot */
    put(&t, "etc/sysctl.d/50-late.conf",
        "kernel.randomize_va_space = 1\n"
        "kernel/randomize_va_space = 2\n"
        "net.ipv4.conf.eth0/100.rp_filter = 1\n"
        "fs.suid_dumpable = -1\n"
        "vm.comment = 1 # not a comment\n");
    /* /etc/sysctl.conf: read last, once, at its link's place */
    put(&t, "etc/sysctl.conf", "fs.suid_dumpable = 0\n");
    link_to(&t, "etc/sysctl.d/99-sysctl.conf", "../sysctl.conf");
    put(&t, "etc/sysctl.d/99-zzz.conf", "kernel.yama.ptrace_scope = 1\n");
    put(&t, "etc/sysctl.d/.hidden.conf", "kernel.yama.ptrace_scope = 0\n");
    put(&t, "etc/sysctl.d/60-x.conf.dpkg-old", "kernel.yama.ptrace_scope = 0\n");
    make_dir(&t, "etc/sysctl.d/70-dir.conf");

    struct scan s;
    scan_root(&s, t.root);
    CHECK_EQ_INT(s.err, VG_OK);
    const struct vg_resource *r = find(&s, "host.sysctl");
    CHECK(r != NULL);
    CHECK_EQ_STR(r ? r->id : NULL, "host://box/sysctl");
    CHECK_EQ_INT(int_at(r, "persisted/net/ipv4/ip_forward"), 0);
    CHECK_EQ_STR(str_at(r, "persisted_sources/net/ipv4/ip_forward"), "/etc/sysctl.d/10-a.conf:1");
    CHECK(at(r, "persisted/kernel/shmmax") == NULL);
    CHECK_EQ_INT(int_at(r, "persisted/net/ipv4/tcp_syncookies"), 1);
    CHECK_EQ_STR(str_at(r, "persisted_sources/net/ipv4/tcp_syncookies"), "/run/sysctl.d/20-b.conf:4");
    CHECK_EQ_STR(str_at(r, "persisted/net/ipv4/tcp_rmem"), "4096 131072 6291456");
    CHECK(array_has(at(r, "masked_files"), "/etc/sysctl.d/30-c.conf"));
    CHECK(!array_has(at(r, "config_files"), "/usr/lib/sysctl.d/30-c.conf"));
    CHECK(!array_has(at(r, "config_files"), "/usr/lib/sysctl.d/10-a.conf"));
    /* globs */
    CHECK(at(r, "persisted/net/ipv4/conf/all/rp_filter") == NULL);
    CHECK_EQ_INT(int_at(r, "persisted/net/ipv4/conf/default/rp_filter"), 2);
    CHECK_CONTAINS(str_at(r, "persisted_sources/net/ipv4/conf/default/rp_filter"),
                   "/usr/lib/sysctl.d/40-globs.conf:1 (glob net.ipv4.conf.*.rp_filter)");
    CHECK_EQ_INT(int_at(r, "persisted/net/ipv4/conf/all/accept_source_route"), 1);
    CHECK_EQ_INT(int_at(r, "persisted/net/ipv4/conf/default/accept_source_route"), 0);
    CHECK_EQ_INT(int_at(r, "persisted/net/ipv4/conf/all/log_martians"), 1);
    const struct vg_json *globs = at(r, "persisted_globs");
    CHECK_EQ_INT((long long)vg_json_len(globs), 3);
    /* a pattern assigned again moves to the end */
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(globs, 2), "pattern")),
                 "net.ipv4.conf.*.log_martians");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(globs, 2), "source")),
                 "/usr/lib/sysctl.d/40-globs.conf:6");
    /* ignored lines: not an assignment, a key we refuse */
    CHECK(array_has(at(r, "ignored_lines"), "/usr/lib/sysctl.d/40-globs.conf:7"));
    CHECK(array_has(at(r, "ignored_lines"), "/usr/lib/sysctl.d/40-globs.conf:8"));
    char *all = dump(r ? r->doc : NULL);
    CHECK(strstr(all, "shadow") == NULL);
    free(all);
    /* "-key = value": the value counts, the '-' only says failures are ignored */
    CHECK_EQ_INT(int_at(r, "persisted/kernel/ignored_failure"), 5);
    CHECK_EQ_INT(int_at(r, "persisted/kernel/randomize_va_space"), 2);
    CHECK_EQ_STR(str_at(r, "persisted_sources/kernel/randomize_va_space"),
                 "/etc/sysctl.d/50-late.conf:2");
    CHECK_EQ_INT(int_at(r, "persisted/net/ipv4/conf/eth0.100/rp_filter"), 1);
    CHECK_EQ_STR(str_at(r, "persisted/vm/comment"), "1 # not a comment");
    /* sysctl.conf at the place of its link (99-sysctl.conf), before 99-zzz */
    CHECK_EQ_INT(int_at(r, "persisted/fs/suid_dumpable"), 0);
    CHECK_EQ_STR(str_at(r, "persisted_sources/fs/suid_dumpable"), "/etc/sysctl.d/99-sysctl.conf:1");
    CHECK(!array_has(at(r, "config_files"), "/etc/sysctl.conf"));
    CHECK_EQ_INT(int_at(r, "persisted/kernel/yama/ptrace_scope"), 1);
    const struct vg_json *files = at(r, "config_files");
    CHECK_EQ_INT((long long)vg_json_len(files), 6);
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(files, 0)), "/etc/sysctl.d/10-a.conf");
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(files, 1)), "/run/sysctl.d/20-b.conf");
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(files, 5)), "/etc/sysctl.d/99-zzz.conf");
    /* no /proc/sys here: runtime is unknown, with the reason */
    CHECK_CONTAINS(err_of(r, "runtime"), "/proc/sys does not exist");
    CHECK(err_of(r, "ipv6_disabled") != NULL);
    CHECK(err_of(r, "persisted") == NULL);
    CHECK_EQ_STR(src_of(r, "persisted.net.ipv4.ip_forward"), "/etc/sysctl.d/10-a.conf:1");
    CHECK_EQ_STR(src_of(r, "runtime"), "/proc/sys");
    CHECK_EQ_STR(src_of(r, "persisted.net.ipv4.conf.all.rp_filter"),
                 "not set: excluded from globs at /usr/lib/sysctl.d/40-globs.conf:2");
    CHECK_EQ_STR(src_of(r, "persisted.net.ipv4.conf.all.send_redirects"),
                 "not set in sysctl.d or /etc/sysctl.conf");
    scan_free(&s);

    /* /etc/sysctl.conf without a link to it: read after everything else */
    remove_path(&t, "etc/sysctl.d/99-sysctl.conf");
    put(&t, "etc/sysctl.d/99-zzz.conf", "fs.suid_dumpable = 1\n");
    scan_root(&s, t.root);
    r = find(&s, "host.sysctl");
    CHECK_EQ_INT(int_at(r, "persisted/fs/suid_dumpable"), 0);
    CHECK_EQ_STR(str_at(r, "persisted_sources/fs/suid_dumpable"), "/etc/sysctl.conf:1");
    files = at(r, "config_files");
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(files, vg_json_len(files) - 1)), "/etc/sysctl.conf");
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(sysctl_runtime_and_rules)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    put(&t, "etc/sysctl.d/60-net.conf", "net.ipv4.ip_forward = 0\n"
                                        "net.ipv6.conf.all.forwarding = 0\n"
                                        "kernel.randomize_va_space = 2\n"
                                        "vm.swappiness = 10\n");
    proc_sys(&t, "net/ipv4/ip_forward=1;net/ipv6/conf/all/forwarding=0;"
                 "kernel/randomize_va_space=2;vm/swappiness=60;fs/suid_dumpable=2");
    put(&t, "proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t6291456\n");

    struct scan s;
    scan_root(&s, t.root);
    const struct vg_resource *r = find(&s, "host.sysctl");
    CHECK(err_of(r, "runtime") == NULL);
    CHECK_EQ_INT(int_at(r, "runtime/net/ipv4/ip_forward"), 1);
    CHECK_EQ_INT(int_at(r, "runtime/vm/swappiness"), 60);   /* persisted keys are read too */
    CHECK(at(r, "runtime/net/ipv4/conf") == NULL);          /* not in the tree: absent */
    CHECK_EQ_INT(bool_at(r, "ipv6_disabled"), 0);
    /* both sides, each naming the other when they differ */
    CHECK_EQ_STR(src_of(r, "runtime.net.ipv4.ip_forward"),
                 "/proc/sys/net/ipv4/ip_forward; persisted 0 at /etc/sysctl.d/60-net.conf:1");
    CHECK_EQ_STR(src_of(r, "persisted.net.ipv4.ip_forward"),
                 "/etc/sysctl.d/60-net.conf:1; runtime 1");
    CHECK_EQ_STR(src_of(r, "persisted.kernel.randomize_va_space"), "/etc/sysctl.d/60-net.conf:3");
    CHECK_EQ_STR(src_of(r, "persisted.fs.suid_dumpable"),
                 "not set in sysctl.d or /etc/sysctl.conf; runtime 2");
    CHECK_EQ_STR(src_of(r, "persisted.net.ipv4.tcp_syncookies"),
                 "not set in sysctl.d or /etc/sysctl.conf");
    CHECK(src_of(r, "runtime.net.ipv4.tcp_syncookies") == NULL);   /* the kernel has none here */
    CHECK(src_of(r, "runtime.net.ipv4.tcp_rmem") == NULL);         /* neither checked nor set */
    CHECK_RULE(&s, "host.sysctl.aslr_enabled", VG_EVAL_PASSED);
    CHECK_REASON(&s, "host.sysctl.ip_forward_disabled", VG_EVAL_FAILED,
                 "runtime.net.ipv4.ip_forward is 1");
    scan_free(&s);

    /* IPv6 off: the kernel has no net.ipv6, and the ipv6 half passes */
    put(&t, "etc/sysctl.d/60-net.conf", "net.ipv4.ip_forward = 0\n");
    proc_sys(&t, "net/ipv4/ip_forward=0");
    remove_path(&t, "proc/sys/net/ipv6");
    scan_root(&s, t.root);
    r = find(&s, "host.sysctl");
    CHECK_EQ_INT(bool_at(r, "ipv6_disabled"), 1);
    CHECK_RULE(&s, "host.sysctl.ip_forward_disabled", VG_EVAL_PASSED);
    scan_free(&s);
    /* IPv6 on but not persisted: fails, naming both */
    proc_sys(&t, "net/ipv6/conf/all/forwarding=0");
    scan_root(&s, t.root);
    CHECK_REASON(&s, "host.sysctl.ip_forward_disabled", VG_EVAL_FAILED,
                 "persisted.net.ipv6.conf.all.forwarding is absent");
    CHECK_REASON(&s, "host.sysctl.ip_forward_disabled", VG_EVAL_FAILED,
                 "ipv6_disabled is false (/proc/sys/net/ipv6 exists)");
    scan_free(&s);

    /* a checked key that cannot be read: runtime unknown, never passed */
    put(&t, "etc/sysctl.d/60-net.conf", "net.ipv4.ip_forward = 0\n"
                                        "net.ipv6.conf.all.forwarding = 0\n"
                                        "kernel.randomize_va_space = 2\n"
                                        "vm.swappiness = 10\n");
    make_fifo(&t, "proc/sys/kernel/randomize_va_space");
    scan_root(&s, t.root);
    r = find(&s, "host.sysctl");
    CHECK_CONTAINS(err_of(r, "runtime"), "cannot read /proc/sys/kernel/randomize_va_space");
    CHECK_RULE(&s, "host.sysctl.aslr_enabled", VG_EVAL_UNKNOWN);
    CHECK_RULE(&s, "host.sysctl.ip_forward_disabled", VG_EVAL_UNKNOWN);
    scan_free(&s);
    /* ... but a persisted key outside the list only lands in runtime_errors */
    proc_sys(&t, "kernel/randomize_va_space=2");
    make_fifo(&t, "proc/sys/vm/swappiness");
    scan_root(&s, t.root);
    r = find(&s, "host.sysctl");
    CHECK(err_of(r, "runtime") == NULL);
    CHECK_CONTAINS(str_at(r, "runtime_errors/vm.swappiness"), "/proc/sys/vm/swappiness");
    CHECK_RULE(&s, "host.sysctl.aslr_enabled", VG_EVAL_PASSED);
    scan_free(&s);

    /* no /proc/sys: rules that only fail on the persisted side still fail */
    remove_path(&t, "proc");
    put(&t, "etc/sysctl.d/60-net.conf", "net.ipv4.ip_forward = 1\nkernel.randomize_va_space = 2\n");
    scan_root(&s, t.root);
    CHECK_RULE(&s, "host.sysctl.ip_forward_disabled", VG_EVAL_FAILED);
    CHECK_REASON(&s, "host.sysctl.aslr_enabled", VG_EVAL_UNKNOWN, "/proc/sys does not exist");
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(sysctl_unreadable_and_hostile_files)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    proc_sys(&t, "kernel/randomize_va_space=2");
    /* a file that cannot be read: persisted is unknown, not "unset" */
    put(&t, "etc/sysctl.d/10-ok.conf", "kernel.randomize_va_space = 2\n");
    make_fifo(&t, "etc/sysctl.d/20-fifo.conf");
    struct scan s;
    scan_root(&s, t.root);
    const struct vg_resource *r = find(&s, "host.sysctl");
    CHECK_CONTAINS(err_of(r, "persisted"), "cannot read /etc/sysctl.d/20-fifo.conf");
    CHECK_RULE(&s, "host.sysctl.aslr_enabled", VG_EVAL_UNKNOWN);
    scan_free(&s);
    remove_path(&t, "etc/sysctl.d/20-fifo.conf");

    /* more keys than tracked: a key left out could be the one that counts */
    {
        struct vg_buf b;
        vg_buf_init(&b, 1 << 22);
        for (int i = 0; i < HOST_MAX_SYSCTL_KEYS; i++)
            vg_buf_printf(&b, "vm.k%d = 1\n", i);
        vg_buf_appends(&b, "kernel.randomize_va_space = 0\n");   /* 10-ok.conf set one */
        put(&t, "etc/sysctl.d/10-ok.conf", "kernel.randomize_va_space = 2\n");
        put(&t, "etc/sysctl.d/20-many.conf", vg_buf_str(&b));
        vg_buf_free(&b);
        scan_root(&s, t.root);
        CHECK_CONTAINS(err_of(find(&s, "host.sysctl"), "persisted"),
                       "more keys than Vigil tracks, at /etc/sysctl.d/20-many.conf:4096");
        CHECK_RULE(&s, "host.sysctl.aslr_enabled", VG_EVAL_UNKNOWN);
        scan_free(&s);
        remove_path(&t, "etc/sysctl.d/20-many.conf");
    }

    /* sysctl.d itself a file, /etc/sysctl.conf a directory: nothing there */
    put(&t, "run/sysctl.d", "not a directory\n");
    make_dir(&t, "etc/sysctl.conf");
    /* binary garbage, NUL bytes, no final newline, a huge value */
    static const char junk[] = "\x00\xff\xfe=\n=\n==\n-\n-=\n\xc3\x28=1\nkernel.x\x00y = 3\n"
                               "a.b = \"quoted\"\nnet.ipv4.ip_forward";
    put_n(&t, "etc/sysctl.d/30-junk.conf", junk, sizeof(junk) - 1);
    char big[70000];
    memset(big, '7', sizeof(big));
    memcpy(big, "vm.big = ", 9);
    big[sizeof(big) - 1] = '\0';
    put(&t, "etc/sysctl.d/40-big.conf", big);
    scan_root(&s, t.root);
    r = find(&s, "host.sysctl");
    CHECK_EQ_INT(s.err, VG_OK);
    CHECK(err_of(r, "persisted") == NULL);
    CHECK_EQ_INT(int_at(r, "persisted/kernel/randomize_va_space"), 2);
    CHECK_EQ_STR(str_at(r, "persisted/a/b"), "\"quoted\"");
    CHECK(vg_json_len(at(r, "ignored_lines")) >= 4);
    CHECK(str_at(r, "persisted/vm/big") != NULL);
    CHECK_RULE(&s, "host.sysctl.aslr_enabled", VG_EVAL_PASSED);
    scan_free(&s);

    /* a key that is a prefix of another (no real sysctl is): the later one
     * cannot nest, and is left out rather than breaking the document */
    put(&t, "etc/sysctl.d/50-prefix.conf", "net.ipv4 = 1\nnet.ipv4.ip_forward = 0\n");
    proc_sys(&t, "net/ipv4/ip_forward=0");
    scan_root(&s, t.root);
    CHECK_EQ_INT(s.err, VG_OK);
    r = find(&s, "host.sysctl");
    CHECK(r != NULL);
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* Mounts                                                              */
/* ------------------------------------------------------------------ */

VG_TEST(fstab_parse_fields_and_escapes)
{
    static const char text[] =
        "# comment\n"
        "\n"
        "   UUID=1 / ext4 errors=remount-ro 0 1\n"
        "/dev/sr0 /media/cd\\040rom udf,iso9660 user,noauto 0 0\n"
        "tmpfs /tmp/ tmpfs\n"
        "short /x\n"
        "lonely\n"
        "/dev/a //var//tmp// xfs context=\"system_u:object_r:tmp_t:s0,c1\",nodev 0 0\n";
    struct vg_json *e = vg_json_array(), *m = vg_json_array();
    bool trunc = false;
    CHECK_EQ_INT(host_fstab_parse(text, sizeof(text) - 1, "/etc/fstab", e, m, 100, &trunc), VG_OK);
    CHECK_EQ_INT((long long)vg_json_len(e), 4);
    CHECK_EQ_INT((long long)vg_json_len(m), 2);
    CHECK(!trunc);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(e, 1), "mountpoint")), "/media/cd rom");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(e, 1), "source")), "/etc/fstab:4");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(e, 2), "mountpoint")), "/tmp");
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(vg_json_get(vg_json_at(e, 2), "options"), 0)),
                 "defaults");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(e, 3), "mountpoint")), "/var/tmp");
    const struct vg_json *o3 = vg_json_get(vg_json_at(e, 3), "options");
    CHECK_EQ_INT((long long)vg_json_len(o3), 2);
    CHECK_EQ_STR(vg_json_get_str(vg_json_at(o3, 1)), "nodev");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(m, 0), "mountpoint")), "/x");
    CHECK(vg_json_get(vg_json_at(m, 1), "mountpoint") == NULL);
    vg_json_free(e);
    vg_json_free(m);

    /* the bound */
    e = vg_json_array();
    CHECK_EQ_INT(host_fstab_parse(text, sizeof(text) - 1, "/etc/fstab", e, NULL, 2, &trunc), VG_OK);
    CHECK_EQ_INT((long long)vg_json_len(e), 2);
    CHECK(trunc);
    vg_json_free(e);
}

VG_TEST(mounts_tmp_from_fstab_and_flags)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    put(&t, "proc/1/mounts", "/dev/vda1 / ext4 rw 0 0\n"
                             "tmpfs /tmp tmpfs rw,nosuid,nodev,relatime 0 0\n"
                             "tmpfs /tmp tmpfs rw,nosuid,nodev,noexec,relatime 0 0\n");
    static const struct {
        const char *opts;
        int nodev, nosuid, noexec;
    } cases[] = {
        { "defaults,nodev,nosuid,noexec", 1, 1, 1 },
        { "nodev,nosuid,noexec,defaults", 0, 0, 0 },   /* defaults resets */
        { "noexec,exec,nodev", 1, 0, 0 },
        { "user", 1, 1, 1 },
        { "users,exec", 1, 1, 0 },
        { "owner", 1, 1, 0 },
        { "rw", 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char fstab[256];
        snprintf(fstab, sizeof(fstab),
                 "UUID=1 / ext4 defaults 0 1\ntmpfs /tmp tmpfs %s 0 0\n"
                 "/dev/sdb1 /tmp ext4 defaults 0 0\n", cases[i].opts);
        put(&t, "etc/fstab", fstab);
        struct scan s;
        scan_root(&s, t.root);
        const struct vg_resource *r = find(&s, "host.mounts");
        CHECK_EQ_INT(bool_at(r, "tmp/configured"), 1);
        CHECK_EQ_STR(str_at(r, "tmp/by"), "fstab");
        CHECK_EQ_STR(str_at(r, "tmp/fstype"), "tmpfs");   /* the first /tmp line */
        CHECK_EQ_STR(src_of(r, "tmp"), "/etc/fstab:2");
        CHECK_EQ_INT(bool_at(r, "tmp/nodev"), cases[i].nodev);
        CHECK_EQ_INT(bool_at(r, "tmp/nosuid"), cases[i].nosuid);
        CHECK_EQ_INT(bool_at(r, "tmp/noexec"), cases[i].noexec);
        /* the last /tmp line of the mounts in force is the one on top */
        CHECK_EQ_INT(bool_at(r, "tmp_runtime/mounted"), 1);
        CHECK_EQ_INT(bool_at(r, "tmp_runtime/noexec"), 1);
        CHECK_EQ_STR(src_of(r, "tmp_runtime"), "/proc/1/mounts:3");
        CHECK_RULE(&s, "host.mounts.tmp_noexec", cases[i].noexec ? VG_EVAL_PASSED : VG_EVAL_FAILED);
        scan_free(&s);
    }

    /* a /tmp line too short to mount: unknown, not configured nor missing */
    put(&t, "etc/fstab", "UUID=1 / ext4 defaults 0 1\n/dev/sdb1 /tmp\n");
    struct scan s;
    scan_root(&s, t.root);
    const struct vg_resource *r = find(&s, "host.mounts");
    CHECK_CONTAINS(err_of(r, "tmp"), "/etc/fstab:2");
    CHECK_RULE(&s, "host.mounts.tmp_separate", VG_EVAL_UNKNOWN);
    scan_free(&s);

    /* no /proc: the running side is unknown; /proc/self/mounts stands in
     * for /proc/1/mounts when only it exists */
    put(&t, "etc/fstab", "tmpfs /tmp tmpfs nodev,nosuid,noexec 0 0\n");
    remove_path(&t, "proc");
    scan_root(&s, t.root);
    r = find(&s, "host.mounts");
    CHECK_CONTAINS(err_of(r, "tmp_runtime"), "/proc/1/mounts does not exist");
    CHECK(err_of(r, "runtime") != NULL);
    CHECK_RULE(&s, "host.mounts.tmp_nodev", VG_EVAL_UNKNOWN);
    scan_free(&s);
    put(&t, "proc/self/mounts", "tmpfs /tmp tmpfs rw,nodev 0 0\n");
    scan_root(&s, t.root);
    r = find(&s, "host.mounts");
    CHECK_EQ_STR(src_of(r, "tmp_runtime"), "/proc/self/mounts:1");
    CHECK_RULE(&s, "host.mounts.tmp_nodev", VG_EVAL_PASSED);
    CHECK_REASON(&s, "host.mounts.tmp_nosuid", VG_EVAL_FAILED,
                 "tmp_runtime.nosuid is false (/proc/self/mounts:1)");
    scan_free(&s);

    /* fstab unreadable: /tmp at boot is unknown */
    remove_path(&t, "etc/fstab");
    make_fifo(&t, "etc/fstab");
    scan_root(&s, t.root);
    r = find(&s, "host.mounts");
    CHECK_CONTAINS(err_of(r, "fstab"), "cannot read /etc/fstab");
    CHECK(err_of(r, "tmp") != NULL);
    CHECK_RULE(&s, "host.mounts.tmp_separate", VG_EVAL_UNKNOWN);
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(mounts_tmp_mount_unit)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    put(&t, "proc/1/mounts", "tmpfs /tmp tmpfs rw,nosuid,nodev,noexec 0 0\n");
    put(&t, "etc/fstab", "/dev/sdb1 /tmp ext4 defaults 0 0\n");
    static const char unit[] = "[Unit]\nDescription=Temporary \\\n  Directory /tmp\n"
                               "[Mount]\nWhat=tmpfs\nWhere=/tmp\nType=tmpfs\n"
                               "Options=mode=1777,strictatime,nosuid,nodev,size=50%%,nr_inodes=1m\n";
    /* in /usr/lib: fstab's line wins over it */
    put(&t, "usr/lib/systemd/system/tmp.mount", unit);
    struct scan s;
    scan_root(&s, t.root);
    const struct vg_resource *r = find(&s, "host.mounts");
    CHECK_EQ_STR(str_at(r, "tmp/by"), "fstab");
    CHECK_EQ_STR(str_at(r, "tmp/fstype"), "ext4");
    CHECK_EQ_INT(bool_at(r, "tmp/wanted"), 0);
    scan_free(&s);

    /* in /etc: the unit wins over fstab */
    put(&t, "etc/systemd/system/tmp.mount", unit);
    link_to(&t, "etc/systemd/system/local-fs.target.wants/tmp.mount", "../tmp.mount");
    scan_root(&s, t.root);
    r = find(&s, "host.mounts");
    CHECK_EQ_STR(str_at(r, "tmp/by"), "unit");
    CHECK_EQ_STR(str_at(r, "tmp/fstype"), "tmpfs");
    CHECK_EQ_INT(bool_at(r, "tmp/nodev"), 1);
    CHECK_EQ_INT(bool_at(r, "tmp/noexec"), 0);
    CHECK_EQ_INT(bool_at(r, "tmp/wanted"), 1);
    const struct vg_json *opts = at(r, "tmp/options");
    CHECK(array_has(opts, "size=50%"));
    CHECK(array_has(opts, "nr_inodes=1m"));
    CHECK_EQ_STR(src_of(r, "tmp"), "/etc/systemd/system/tmp.mount");
    CHECK_REASON(&s, "host.mounts.tmp_noexec", VG_EVAL_FAILED,
                 "tmp.noexec is false (/etc/systemd/system/tmp.mount)");
    scan_free(&s);

    /* a drop-in replaces the options, fstab's too */
    put(&t, "etc/systemd/system/tmp.mount.d/50-noexec.conf",
        "# CIS\n[Mount]\nOptions=\\\n  ignored\nOptions=mode=1777,nosuid,nodev,noexec\n");
    put(&t, "usr/lib/systemd/system/tmp.mount.d/50-noexec.conf", "[Mount]\nOptions=exec\n");
    scan_root(&s, t.root);
    r = find(&s, "host.mounts");
    CHECK_EQ_INT(bool_at(r, "tmp/noexec"), 1);
    CHECK_EQ_STR(src_of(r, "tmp"), "/etc/systemd/system/tmp.mount, Options= at "
                                   "/etc/systemd/system/tmp.mount.d/50-noexec.conf:5");
    CHECK_RULE(&s, "host.mounts.tmp_noexec", VG_EVAL_PASSED);
    scan_free(&s);
    remove_path(&t, "etc/systemd/system/tmp.mount");
    scan_root(&s, t.root);
    r = find(&s, "host.mounts");
    CHECK_EQ_STR(str_at(r, "tmp/by"), "fstab");
    CHECK_EQ_INT(bool_at(r, "tmp/noexec"), 1);   /* drop-ins apply to fstab's unit */
    scan_free(&s);
    remove_path(&t, "etc/systemd/system/tmp.mount.d");

    /* masked: nothing mounts /tmp, whatever fstab says */
    link_to(&t, "etc/systemd/system/tmp.mount", "/dev/null");
    scan_root(&s, t.root);
    r = find(&s, "host.mounts");
    CHECK_EQ_INT(bool_at(r, "tmp/configured"), 0);
    CHECK_EQ_STR(str_at(r, "tmp/by"), "masked");
    CHECK_REASON(&s, "host.mounts.tmp_separate", VG_EVAL_FAILED,
                 "/etc/systemd/system/tmp.mount is masked");
    scan_free(&s);
    put(&t, "etc/systemd/system/tmp.mount", "");   /* an empty file masks too */
    scan_root(&s, t.root);
    CHECK_EQ_STR(str_at(find(&s, "host.mounts"), "tmp/by"), "masked");
    scan_free(&s);

    /* units systemd refuses */
    put(&t, "etc/systemd/system/tmp.mount", "[Mount]\nWhat=tmpfs\nWhere=/var/tmp\n");
    scan_root(&s, t.root);
    r = find(&s, "host.mounts");
    CHECK_EQ_INT(bool_at(r, "tmp/configured"), 0);
    CHECK_CONTAINS(src_of(r, "tmp"), "Where=/var/tmp");
    scan_free(&s);
    put(&t, "etc/systemd/system/tmp.mount", "[Unit]\nWhat=tmpfs\n[Mount]\nType=tmpfs\n");
    scan_root(&s, t.root);
    r = find(&s, "host.mounts");
    CHECK_EQ_INT(bool_at(r, "tmp/configured"), 0);
    CHECK_CONTAINS(src_of(r, "tmp"), "no What=");
    scan_free(&s);
    /* a unit that cannot be read */
    remove_path(&t, "etc/systemd/system/tmp.mount");
    make_fifo(&t, "etc/systemd/system/tmp.mount");
    scan_root(&s, t.root);
    r = find(&s, "host.mounts");
    CHECK(err_of(r, "tmp") != NULL);
    CHECK_RULE(&s, "host.mounts.tmp_separate", VG_EVAL_UNKNOWN);
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* Modules                                                             */
/* ------------------------------------------------------------------ */

VG_TEST(modules_install_blacklist_and_loaded)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    put(&t, "etc/modprobe.d/10-first.conf",
        "# the first install line for a module is the one modprobe runs\n"
        "install cramfs /bin/false\n"
        "install hfs* /bin/true\n"          /* a pattern: hfs and hfsplus */
        "blacklist cramfs\n"
        "blacklist hfs\n"
        "   # indented comment\n"
        "install usb_storage \\\n"
        "    /usr/bin/false\n"
        "blacklist usb-storage\n"
        "install jffs2 /sbin/modprobe --ignore-install jffs2\n"
        "blacklist jffs2\n"
        "install\n"
        "blacklist\n"
        "blacklist loaded\n"
        "options sctp foo=1\n"
        "alias net-pf-132 sctp\n");
    put(&t, "etc/modprobe.d/20-later.conf", "install cramfs /sbin/modprobe --ignore-install cramfs\n"
                                            "install jffs2 /bin/false\n");
    /* same name: /etc's hides /lib's; a mask hides /usr/lib's */
    put(&t, "lib/modprobe.d/10-first.conf", "install udf /bin/false\nblacklist udf\n");
    put(&t, "usr/lib/modprobe.d/30-vendor.conf", "install sctp /bin/false\nblacklist sctp\n");
    link_to(&t, "etc/modprobe.d/30-vendor.conf", "/dev/null");
    put(&t, "lib/modprobe.d/40-dccp.conf", "install dccp /bin/false\nblacklist dccp\n");
    put(&t, "proc/modules", "ext4 1007616 1 - Live 0x0\nhfsplus 100 0 - Live 0x0\n\n  \n");

    struct scan s;
    scan_root(&s, t.root);
    const struct vg_resource *r = find(&s, "host.modules");
    CHECK(r != NULL);
    CHECK_EQ_STR(r ? r->id : NULL, "host://box/kernel-modules");
    CHECK_EQ_INT(bool_at(r, "cramfs/disabled"), 1);
    CHECK_EQ_STR(str_at(r, "cramfs/install"), "/bin/false");
    CHECK_EQ_STR(src_of(r, "cramfs"), "install at /etc/modprobe.d/10-first.conf:2; blacklist at "
                                      "/etc/modprobe.d/10-first.conf:4");
    CHECK_EQ_INT(bool_at(r, "hfs/disabled"), 1);
    CHECK_EQ_INT(bool_at(r, "hfsplus/disabled"), 1);
    CHECK_EQ_INT(bool_at(r, "hfsplus/blacklisted"), 0);
    CHECK_EQ_INT(bool_at(r, "usb_storage/disabled"), 1);
    CHECK_EQ_STR(str_at(r, "usb_storage/install"), "/usr/bin/false");
    CHECK_EQ_INT(bool_at(r, "usb_storage/blacklisted"), 1);
    CHECK_EQ_STR(src_of(r, "usb_storage"), "install at /etc/modprobe.d/10-first.conf:7; "
                                           "blacklist at /etc/modprobe.d/10-first.conf:9");
    CHECK_EQ_INT(bool_at(r, "jffs2/disabled"), 0);
    CHECK_EQ_INT(bool_at(r, "udf/disabled"), 0);           /* /lib's file is hidden */
    CHECK_EQ_INT(bool_at(r, "sctp/disabled"), 0);          /* masked */
    CHECK(array_has(at(r, "masked_files"), "/etc/modprobe.d/30-vendor.conf"));
    CHECK_EQ_INT(bool_at(r, "dccp/disabled"), 1);          /* /lib/modprobe.d counts */
    CHECK_EQ_INT(bool_at(r, "loaded/ext4"), 1);
    CHECK_EQ_INT(bool_at(r, "loaded/hfsplus"), 1);
    CHECK(vg_json_type(at(r, "loaded")) == VG_JSON_OBJECT);  /* "blacklist loaded" left out */
    CHECK(at(r, "loaded/blacklisted") == NULL);
    CHECK_RULE(&s, "host.modules.cramfs_disabled", VG_EVAL_PASSED);
    CHECK_RULE(&s, "host.modules.usb_storage_disabled", VG_EVAL_PASSED);
    CHECK_RULE(&s, "host.modules.hfs_disabled", VG_EVAL_PASSED);
    CHECK_REASON(&s, "host.modules.hfsplus_disabled", VG_EVAL_FAILED,
                 "hfsplus.blacklisted is false");
    CHECK_REASON(&s, "host.modules.jffs2_disabled", VG_EVAL_FAILED,
                 "jffs2.disabled is false (install at /etc/modprobe.d/10-first.conf:10");
    CHECK_RULE(&s, "host.modules.dccp_disabled", VG_EVAL_PASSED);
    scan_free(&s);

    /* loaded although disabled: fails */
    put(&t, "proc/modules", "dccp 86016 0 - Live 0x0\n");
    scan_root(&s, t.root);
    CHECK_REASON(&s, "host.modules.dccp_disabled", VG_EVAL_FAILED, "loaded.dccp is true (/proc/modules)");
    scan_free(&s);
    /* no /proc/modules: unknown when the configuration is right, failed when not */
    remove_path(&t, "proc");
    scan_root(&s, t.root);
    r = find(&s, "host.modules");
    CHECK_CONTAINS(err_of(r, "loaded"), "/proc/modules does not exist");
    CHECK_RULE(&s, "host.modules.dccp_disabled", VG_EVAL_UNKNOWN);
    CHECK_RULE(&s, "host.modules.jffs2_disabled", VG_EVAL_FAILED);
    scan_free(&s);
    /* more loaded modules than read: one left out would look unloaded */
    {
        struct vg_buf b;
        vg_buf_init(&b, 1 << 22);
        for (int i = 0; i < HOST_MAX_MODULES; i++)
            vg_buf_printf(&b, "m%d 1 0 - Live 0x0\n", i);
        vg_buf_appends(&b, "dccp 1 0 - Live 0x0\n");
        put(&t, "proc/modules", vg_buf_str(&b));
        vg_buf_free(&b);
        scan_root(&s, t.root);
        CHECK_CONTAINS(err_of(find(&s, "host.modules"), "loaded"), "more modules");
        CHECK_RULE(&s, "host.modules.dccp_disabled", VG_EVAL_UNKNOWN);
        scan_free(&s);
        remove_path(&t, "proc");
    }
    /* a configuration file that cannot be read: every module unknown */
    make_fifo(&t, "etc/modprobe.d/15-fifo.conf");
    scan_root(&s, t.root);
    r = find(&s, "host.modules");
    CHECK_CONTAINS(err_of(r, "cramfs"), "cannot read /etc/modprobe.d/15-fifo.conf");
    CHECK_RULE(&s, "host.modules.cramfs_disabled", VG_EVAL_UNKNOWN);
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* GRUB                                                                */
/* ------------------------------------------------------------------ */

static void check_shell(const char *text, const char *var, const char *want_value,
                        const char *want_why)
{
    char why[600];
    char *v = host_grub_shell_value(text, strlen(text), var, why, sizeof(why));
    if (want_value) {
        CHECK_EQ_STR(v, want_value);
        if (!v)
            fprintf(stderr, "  shell: %s unknown: %s (text: %s)\n", var, why, text);
    } else {
        CHECK(v == NULL);
        if (v)
            fprintf(stderr, "  shell: %s = \"%s\", expected unknown (text: %s)\n", var, v, text);
        CHECK_CONTAINS(why, want_why);
    }
    free(v);
}

VG_TEST(grub_shell_subset)
{
    const char *L = "GRUB_CMDLINE_LINUX";
    check_shell("GRUB_CMDLINE_LINUX=\"audit=1 quiet\"\n", L, "audit=1 quiet", NULL);
    check_shell("GRUB_CMDLINE_LINUX='a  b'\n", L, "a  b", NULL);
    check_shell("GRUB_CMDLINE_LINUX=a\\ b\\\"c\n", L, "a b\"c", NULL);
    check_shell("export GRUB_CMDLINE_LINUX=\"x\"\n", L, "x", NULL);
    check_shell("GRUB_CMDLINE_LINUX=\"a\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX b\"\n"
                "GRUB_CMDLINE_LINUX=\"${GRUB_CMDLINE_LINUX} c\"\n", L, "a b c", NULL);
    check_shell("X=1 GRUB_CMDLINE_LINUX=\"audit=$X\"\n", L, "audit=1", NULL);
    check_shell("GRUB_CMDLINE_LINUX=\"a \\\n  b\"\n", L, "a   b", NULL);
    check_shell("GRUB_CMDLINE_LINUX=\"audit=1\" # the comment\n", L, "audit=1", NULL);
    check_shell("GRUB_CMDLINE_LINUX=\"line1\nline2\"\n", L, "line1\nline2", NULL);
    check_shell("GRUB_CMDLINE_LINUX=a#b\n", L, "a#b", NULL);
    check_shell("GRUB_CMDLINE_LINUX=\"$UNSET\"x\n", L, "x", NULL);
    check_shell("GRUB_CMDLINE_LINUX=\"cost \\$5\"\n", L, "cost $5", NULL);
    check_shell("GRUB_CMDLINE_LINUX=\"a\"; GRUB_TIMEOUT=5\n", L, "a", NULL);
    check_shell("# nothing\n", L, NULL, "");
    /* what only running the shell can tell */
    check_shell("GRUB_CMDLINE_LINUX=`cat /etc/x`\n", L, NULL, "/etc/default/grub:1 uses `...`");
    check_shell("GRUB_CMDLINE_LINUX=\"$(cat /etc/x) audit=1\"\n", L, NULL, "$(...)");
    check_shell("GRUB_CMDLINE_LINUX=\"${X:-audit=1}\"\n", L, NULL, "${...}");
    check_shell("GRUB_CMDLINE_LINUX=\"$1\"\n", L, NULL, "special parameter");
    check_shell("if [ -e /x ]; then\n  GRUB_CMDLINE_LINUX=\"audit=1\"\nfi\n", L, NULL,
                "/etc/default/grub:2 assigns GRUB_CMDLINE_LINUX conditionally");
    check_shell("[ -e /x ] && GRUB_CMDLINE_LINUX=\"audit=1\"\n", L, NULL, "conditionally");
    check_shell("GRUB_CMDLINE_LINUX=\"audit=1\" true\n", L, NULL, "for one command only");
    check_shell("(GRUB_CMDLINE_LINUX=\"audit=1\")\n", L, NULL, "conditionally");
    check_shell("f() { GRUB_CMDLINE_LINUX=\"audit=1\"; }\n", L, NULL, "conditionally");
    check_shell("case x in x) GRUB_CMDLINE_LINUX=1;; esac\n", L, NULL, "conditionally");
    check_shell("for GRUB_CMDLINE_LINUX in a b; do :; done\n", L, NULL, "loops over");
    check_shell("GRUB_CMDLINE_LINUX=\"a\"\n. /etc/default/grub.local\n", L, NULL,
                "runs \".\"");
    check_shell("GRUB_CMDLINE_LINUX=\"a\"\neval \"$X\"\n", L, NULL, "eval");
    check_shell(". /x\nGRUB_CMDLINE_LINUX=\"b\"\n", L, "b", NULL);   /* assigned again */
    check_shell(". /x\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX b\"\n", L, NULL, "runs");
    check_shell(": ${GRUB_CMDLINE_LINUX:=audit=1}\n", L, NULL, "${GRUB_CMDLINE_LINUX:=");
    check_shell("X=$((GRUB_CMDLINE_LINUX=1))\n", L, NULL, "$((...))");
    check_shell("cat <<EOF\nGRUB_CMDLINE_LINUX=audit=1\nEOF\n", L, NULL, "here-document");
    check_shell("GRUB_CMDLINE_LINUX=\"unterminated\n", L, NULL, "unterminated quote");
    check_shell("GRUB_CMDLINE_LINUX='unterminated\n", L, NULL, "unterminated quote");
    check_shell("GRUB_CMDLINE_LINUX=\"a\" | cat\n", L, NULL, "subshell");
    /* Debian's own GRUB_DISTRIBUTOR is unknown, and harmless to the rest */
    check_shell("GRUB_DISTRIBUTOR=`( . /etc/os-release; echo ${NAME:-Debian} ) 2>/dev/null || "
                "echo Debian`\nGRUB_CMDLINE_LINUX=\"audit=1\"\n", L, "audit=1", NULL);
    check_shell("GRUB_DISTRIBUTOR=`( . /etc/os-release; echo ${NAME:-Debian} ) 2>/dev/null || "
                "echo Debian`\nGRUB_CMDLINE_LINUX=\"audit=1\"\n", "GRUB_DISTRIBUTOR", NULL, "`...`");
    /* past the variables tracked: unknown, never a silent "" */
    {
        struct vg_buf b;
        vg_buf_init(&b, 1 << 20);
        vg_buf_appends(&b, "GRUB_CMDLINE_LINUX=\"audit=1\"\n");
        for (int i = 0; i < HOST_MAX_SHELL_VARS + 5; i++)
            vg_buf_printf(&b, "V%d=audit=0\n", i);
        vg_buf_printf(&b, "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX $V%d\"\n",
                      HOST_MAX_SHELL_VARS + 2);
        check_shell(vg_buf_str(&b), L, NULL, "shell variables Vigil tracks");
        vg_buf_free(&b);
    }
    /* a redirection's word is not a command */
    check_shell("echo hi >/dev/null\nGRUB_CMDLINE_LINUX=x\n", L, "x", NULL);

    /* hostile input: never a crash */
    static const char *const junk[] = {
        "$", "${", "$(", "`", "\"", "'", "\\", "$((", "${A", "((((((", "))))", "}}}{{{",
        "A=$(((((\n", "A=`\\`\\`", "<<", "<<<", "&&&&||||;;;;", "if if if fi fi fi fi",
        "A=\"$B${C}$(D)`E`$((F))${G:-H}$1$@\"", "\xff\xfe\x00A=1",
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        char why[600];
        char *v = host_grub_shell_value(junk[i], strlen(junk[i]), "A", why, sizeof(why));
        free(v);
    }
    CHECK(1);
}

VG_TEST(kernel_command_line_params)
{
    struct vg_json *p = vg_json_object();
    CHECK_EQ_INT(host_boot_params("  BOOT_IMAGE=/vmlinuz ro quiet audit=1 audit=0 audit=1 "
                                  "audit_backlog_limit=8192 x=-5 param=\"a b\" \"y=c d\" "
                                  "e=\"1\" splash -- audit=0 init-arg", p), VG_OK);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(p, "audit")), 1);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(p, "audit_backlog_limit")), 8192);
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(p, "x")), -5);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(p, "param")), "a b");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(p, "y")), "c d");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(p, "e")), 1);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(p, "BOOT_IMAGE")), "/vmlinuz");
    CHECK(vg_json_get_bool(vg_json_get(p, "quiet")));
    CHECK(vg_json_get(p, "init-arg") == NULL);   /* after "--": init's */
    CHECK(vg_json_get_bool(vg_json_get(p, "splash")));
    vg_json_free(p);

    p = vg_json_object();
    CHECK_EQ_INT(host_boot_params("", p), VG_OK);
    CHECK_EQ_INT((long long)vg_json_len(p), 0);
    CHECK_EQ_INT(host_boot_params("\"\" = == \"=\" a==b \"unterminated", p), VG_OK);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(p, "a")), "=b");
    vg_json_free(p);
}

VG_TEST(grub_config_and_boot_entries)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    put(&t, "etc/default/grub",
        "GRUB_DEFAULT=0\n"
        "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
        "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
        "GRUB_CMDLINE_LINUX=\"\"\n");
    put(&t, "etc/default/grub.d/50-cloud.cfg",
        "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT console=ttyS0\"\n");
    put(&t, "etc/default/grub.d/60-audit.cfg",
        "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX audit=1 audit_backlog_limit=8192\"\n");
    put(&t, "etc/default/grub.d/70-notcfg.conf", "GRUB_CMDLINE_LINUX=\"\"\n");
    put(&t, "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro audit=1\n");

    struct scan s;
    scan_root(&s, t.root);
    const struct vg_resource *r = find(&s, "host.grub");
    CHECK_EQ_STR(str_at(r, "GRUB_CMDLINE_LINUX"), " audit=1 audit_backlog_limit=8192");
    CHECK_EQ_STR(src_of(r, "linux_params"), "/etc/default/grub.d/60-audit.cfg:1");
    CHECK_EQ_INT(int_at(r, "linux_params/audit"), 1);
    CHECK_EQ_INT(bool_at(r, "default_params/quiet"), 1);
    CHECK_EQ_STR(str_at(r, "default_params/console"), "ttyS0");
    CHECK(at(r, "boot_entries") == NULL);
    CHECK_EQ_STR(src_of(r, "boot_entries"), "no /boot/grub/grub.cfg");
    CHECK_EQ_INT(int_at(r, "running_params/audit"), 1);
    CHECK_EQ_INT((long long)vg_json_len(at(r, "config_files")), 3);
    CHECK_RULE(&s, "host.grub.audit_enabled", VG_EVAL_PASSED);   /* no grub.cfg yet */
    CHECK_RULE(&s, "host.grub.audit_backlog_limit", VG_EVAL_PASSED);
    scan_free(&s);

    /* grub.cfg: every linux line must have it; the recovery one does not */
    put(&t, "boot/grub/grub.cfg",
        "menuentry 'Debian GNU/Linux' --class debian {\n"
        "\tlinux\t/boot/vmlinuz-6.1 root=UUID=x ro audit=1 audit_backlog_limit=8192 quiet\n"
        "}\n"
        "submenu 'Advanced' {\n"
        "  menuentry \"Debian GNU/Linux (recovery mode)\" {\n"
        "    linux /boot/vmlinuz-6.1 root=UUID=x ro single audit=\"1\"\n"
        "  }\n"
        "}\n"
        "# linux /not/a/line audit=0\n");
    scan_root(&s, t.root);
    r = find(&s, "host.grub");
    CHECK_EQ_INT((long long)vg_json_len(at(r, "boot_entries")), 2);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_at(at(r, "boot_entries"), 0), "name")),
                 "Debian GNU/Linux");
    const struct vg_json *e1 = vg_json_at(at(r, "boot_entries"), 1);
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(e1, "name")), "Debian GNU/Linux (recovery mode)");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(e1, "source")), "/boot/grub/grub.cfg:6");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(e1, "kernel")), "/boot/vmlinuz-6.1");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(vg_json_get(e1, "params"), "audit")), 1);
    CHECK_RULE(&s, "host.grub.audit_enabled", VG_EVAL_PASSED);
    CHECK_REASON(&s, "host.grub.audit_backlog_limit", VG_EVAL_FAILED,
                 "boot_entries[1] (name \"Debian GNU/Linux (recovery mode)\")");
    scan_free(&s);

    /* a linux line with more words than read: a later audit=0 could hide */
    {
        struct vg_buf b;
        vg_buf_init(&b, 1 << 20);
        vg_buf_appends(&b, "menuentry 'x' {\nlinux /vmlinuz audit=1 audit_backlog_limit=8192");
        for (int i = 0; i < HOST_MAX_BOOT_PARAMS; i++)
            vg_buf_printf(&b, " p%d", i);
        vg_buf_appends(&b, " audit=0\n}\n");
        put(&t, "boot/grub/grub.cfg", vg_buf_str(&b));
        vg_buf_free(&b);
        scan_root(&s, t.root);
        CHECK_CONTAINS(err_of(find(&s, "host.grub"), "boot_entries"),
                       "/boot/grub/grub.cfg:2 has more words than Vigil reads");
        CHECK_RULE(&s, "host.grub.audit_enabled", VG_EVAL_UNKNOWN);
        scan_free(&s);
    }

    /* audit=on counts; audit=0 last does not */
    put(&t, "etc/default/grub.d/60-audit.cfg", "GRUB_CMDLINE_LINUX=\"audit=ON audit=0\"\n");
    remove_path(&t, "boot");
    scan_root(&s, t.root);
    CHECK_REASON(&s, "host.grub.audit_enabled", VG_EVAL_FAILED,
                 "linux_params.audit is 0 (/etc/default/grub.d/60-audit.cfg:1)");
    scan_free(&s);
    put(&t, "etc/default/grub.d/60-audit.cfg", "GRUB_CMDLINE_LINUX=\"audit=On\"\n");
    scan_root(&s, t.root);
    CHECK_RULE(&s, "host.grub.audit_enabled", VG_EVAL_PASSED);
    scan_free(&s);

    /* a value only the shell can tell: unknown, with the line */
    put(&t, "etc/default/grub.d/60-audit.cfg", "GRUB_CMDLINE_LINUX=\"$(cat /etc/audit-args)\"\n");
    scan_root(&s, t.root);
    r = find(&s, "host.grub");
    CHECK_CONTAINS(err_of(r, "linux_params"), "/etc/default/grub.d/60-audit.cfg:1 uses $(...)");
    CHECK_RULE(&s, "host.grub.audit_enabled", VG_EVAL_UNKNOWN);
    scan_free(&s);

    /* grub.cfg unreadable: unknown when the configuration passes */
    put(&t, "etc/default/grub.d/60-audit.cfg", "GRUB_CMDLINE_LINUX=\"audit=1\"\n");
    make_fifo(&t, "boot/grub/grub.cfg");
    scan_root(&s, t.root);
    r = find(&s, "host.grub");
    CHECK_CONTAINS(err_of(r, "boot_entries"), "cannot read /boot/grub/grub.cfg");
    CHECK_RULE(&s, "host.grub.audit_enabled", VG_EVAL_UNKNOWN);
    scan_free(&s);

    /* no /etc/default/grub: the grub.d files still count */
    remove_path(&t, "boot");
    remove_path(&t, "etc/default/grub");
    scan_root(&s, t.root);
    r = find(&s, "host.grub");
    CHECK_EQ_STR(src_of(r, "linux_params"), "/etc/default/grub.d/60-audit.cfg:1");
    CHECK_RULE(&s, "host.grub.audit_enabled", VG_EVAL_PASSED);
    scan_free(&s);
    /* neither: GRUB is not configured, unknown */
    remove_path(&t, "etc/default");
    scan_root(&s, t.root);
    r = find(&s, "host.grub");
    CHECK_CONTAINS(err_of(r, "linux_params"), "GRUB is not configured");
    CHECK_RULE(&s, "host.grub.audit_enabled", VG_EVAL_UNKNOWN);
    scan_free(&s);
    /* a grub.d file that cannot be read */
    put(&t, "etc/default/grub", "GRUB_CMDLINE_LINUX=\"audit=1\"\n");
    make_fifo(&t, "etc/default/grub.d/55-fifo.cfg");
    scan_root(&s, t.root);
    r = find(&s, "host.grub");
    CHECK_CONTAINS(err_of(r, "GRUB_CMDLINE_LINUX"), "cannot read /etc/default/grub.d/55-fifo.cfg");
    CHECK_RULE(&s, "host.grub.audit_enabled", VG_EVAL_UNKNOWN);
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* login.defs, pwquality, limits                                       */
/* ------------------------------------------------------------------ */

VG_TEST(logindefs_values_defaults_and_errors)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    put(&t, "etc/login.defs",
        "# comment\n"
        "PASS_MAX_DAYS 99999\n"
        "PASS_MAX_DAYS\t0x10\n"            /* the last line wins; base 0 */
        "PASS_MIN_DAYS 010\n"              /* octal: 8 */
        "  ENCRYPT_METHOD \"SHA512\"  \n"
        "LONELY\n"
        "UMASK 027\n"
        "LOGIN_TIMEOUT 60 # seconds\n"     /* not a number shadow reads */
        "LOGIN_RETRIES -2\n"
        "MAIL_DIR /var/mail\n");
    struct scan s;
    scan_root(&s, t.root);
    const struct vg_resource *r = find(&s, "host.logindefs");
    CHECK_EQ_STR(r ? r->id : NULL, "host://box/login.defs");
    CHECK_EQ_INT(int_at(r, "PASS_MAX_DAYS"), 16);
    CHECK_EQ_STR(src_of(r, "PASS_MAX_DAYS"), "/etc/login.defs:3");
    CHECK_EQ_INT(int_at(r, "PASS_MIN_DAYS"), 8);
    CHECK_EQ_STR(str_at(r, "ENCRYPT_METHOD"), "SHA512");
    CHECK_EQ_STR(str_at(r, "UMASK"), "027");
    CHECK_EQ_STR(str_at(r, "MAIL_DIR"), "/var/mail");
    CHECK(at(r, "LONELY") == NULL);
    CHECK_EQ_INT(int_at(r, "PASS_WARN_AGE"), -1);
    CHECK_EQ_STR(src_of(r, "PASS_WARN_AGE"), "default");
    CHECK_CONTAINS(err_of(r, "LOGIN_TIMEOUT"), "LOGIN_TIMEOUT \"60 # seconds\" at /etc/login.defs:8");
    CHECK(at(r, "LOGIN_TIMEOUT") == NULL);
    CHECK(err_of(r, "LOGIN_RETRIES") != NULL);
    CHECK_RULE(&s, "host.logindefs.pass_max_days", VG_EVAL_PASSED);
    CHECK_RULE(&s, "host.logindefs.pass_min_days", VG_EVAL_PASSED);
    CHECK_REASON(&s, "host.logindefs.pass_warn_age", VG_EVAL_FAILED, "PASS_WARN_AGE is -1 (default)");
    CHECK_RULE(&s, "host.logindefs.encrypt_method", VG_EVAL_PASSED);
    scan_free(&s);

    /* -1 (no expiry) and a number shadow cannot read */
    put(&t, "etc/login.defs", "PASS_MAX_DAYS -1\nPASS_MIN_DAYS 1 day\nENCRYPT_METHOD sha512\n");
    scan_root(&s, t.root);
    CHECK_REASON(&s, "host.logindefs.pass_max_days", VG_EVAL_FAILED, "PASS_MAX_DAYS is -1");
    CHECK_REASON(&s, "host.logindefs.pass_min_days", VG_EVAL_UNKNOWN, "is not a number");
    CHECK_RULE(&s, "host.logindefs.encrypt_method", VG_EVAL_FAILED);   /* shadow compares case */
    scan_free(&s);

    /* no file: shadow's defaults */
    remove_path(&t, "etc/login.defs");
    scan_root(&s, t.root);
    r = find(&s, "host.logindefs");
    CHECK_EQ_STR(str_at(r, "ENCRYPT_METHOD"), "DES");
    CHECK_EQ_STR(src_of(r, "ENCRYPT_METHOD"), "default (no /etc/login.defs)");
    CHECK_RULE(&s, "host.logindefs.encrypt_method", VG_EVAL_FAILED);
    scan_free(&s);
    /* unreadable: unknown */
    make_fifo(&t, "etc/login.defs");
    scan_root(&s, t.root);
    r = find(&s, "host.logindefs");
    CHECK_CONTAINS(err_of(r, "*"), "cannot read /etc/login.defs");
    CHECK_RULE(&s, "host.logindefs.pass_max_days", VG_EVAL_UNKNOWN);
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(pwquality_order_pam_and_errors)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    put(&t, "etc/security/pwquality.conf.d/10-a.conf", "minlen = 9\nmaxrepeat = 3\n");
    put(&t, "etc/security/pwquality.conf.d/20-b.conf", "MinLen=20 # case does not matter\n"
                                                        "maxsequence 3\n");
    put(&t, "etc/security/pwquality.conf.d/30-c.conf.bak", "minlen = 1\n");
    put(&t, "etc/security/pwquality.conf", "# main file, read last\nminlen = 14\ndifok = 2\n"
                                           "enforce_for_root\nbadwords = foo bar\n");
    struct scan s;
    scan_root(&s, t.root);
    const struct vg_resource *r = find(&s, "host.pwquality");
    CHECK_EQ_INT(int_at(r, "minlen"), 14);
    CHECK_EQ_STR(src_of(r, "minlen"), "/etc/security/pwquality.conf:2");
    CHECK_EQ_INT(int_at(r, "maxrepeat"), 3);
    CHECK_EQ_INT(int_at(r, "maxsequence"), 3);
    CHECK_EQ_STR(src_of(r, "maxsequence"), "/etc/security/pwquality.conf.d/20-b.conf:2");
    CHECK_EQ_INT(bool_at(r, "enforce_for_root"), 1);
    CHECK_EQ_STR(str_at(r, "badwords"), "foo bar");
    CHECK_EQ_INT(int_at(r, "dictcheck"), 1);
    CHECK_EQ_STR(src_of(r, "dictcheck"), "default");
    CHECK_EQ_INT(bool_at(r, "pam_enabled"), 0);
    CHECK_EQ_STR(src_of(r, "pam_enabled"), "no /etc/pam.d/common-password");
    CHECK_RULE(&s, "host.pwquality.minlen", VG_EVAL_PASSED);
    CHECK_RULE(&s, "host.pwquality.pam_enabled", VG_EVAL_FAILED);
    scan_free(&s);

    /* pam_pwquality's arguments override the files */
    put(&t, "etc/pam.d/common-password",
        "# comment\n"
        "password [success=1 default=ignore] pam_unix.so obscure\n"
        "-password requisite /lib/x86_64-linux-gnu/security/pam_pwquality.so retry=3 "
        "minlen=8 difok=x bogus=1 enforce_for_root use_authtok\n"
        "password requisite pam_pwquality.so minlen=30\n");
    scan_root(&s, t.root);
    r = find(&s, "host.pwquality");
    CHECK_EQ_INT(bool_at(r, "pam_enabled"), 1);
    CHECK_EQ_STR(src_of(r, "pam_enabled"), "/etc/pam.d/common-password:3");
    CHECK_EQ_INT(int_at(r, "minlen"), 8);
    CHECK_EQ_STR(src_of(r, "minlen"), "/etc/pam.d/common-password:3 (pam_pwquality argument)");
    CHECK_EQ_INT(int_at(r, "difok"), 2);   /* a broken argument is ignored */
    CHECK_EQ_INT(int_at(r, "retry"), 3);
    CHECK_REASON(&s, "host.pwquality.minlen", VG_EVAL_FAILED,
                 "minlen is 8 (/etc/pam.d/common-password:3 (pam_pwquality argument))");
    scan_free(&s);

    /* PAM's own syntax: '#' anywhere, '\' continues the line */
    put(&t, "etc/pam.d/common-password",
        "password requisite pam_pwquality.so retry=3 # minlen=30\n"
        "password requisite pam_pwquality.so minlen=40\n");
    scan_root(&s, t.root);
    CHECK_EQ_INT(int_at(find(&s, "host.pwquality"), "minlen"), 14);
    scan_free(&s);
    put(&t, "etc/pam.d/common-password",
        "# pam_pwquality.so in a comment does not count\n"
        "password requisite pam_pwquality.so retry=3 \\\n"
        "    minlen=8\n");
    scan_root(&s, t.root);
    r = find(&s, "host.pwquality");
    CHECK_EQ_INT(int_at(r, "minlen"), 8);
    CHECK_EQ_STR(src_of(r, "minlen"), "/etc/pam.d/common-password:2 (pam_pwquality argument)");
    scan_free(&s);
    {
        char longline[6000] = "password requisite pam_pwquality.so ";
        for (size_t i = strlen(longline); i < sizeof(longline) - 20; i += 10)
            memcpy(longline + i, "retry=3   ", 10);
        strcpy(longline + sizeof(longline) - 20, "minlen=8\n");
        put(&t, "etc/pam.d/common-password", longline);
        scan_root(&s, t.root);
        CHECK_CONTAINS(err_of(find(&s, "host.pwquality"), "minlen"), "longer arguments");
        CHECK_RULE(&s, "host.pwquality.minlen", VG_EVAL_UNKNOWN);
        scan_free(&s);
    }

    /* libpwquality stops at an unknown setting: what follows is unknown,
     * the PAM arguments still apply; minlen below 6 counts as 6 */
    put(&t, "etc/security/pwquality.conf", "minlen = 3\nfrobnicate = 1\ndifok = 5\n");
    put(&t, "etc/pam.d/common-password", "password requisite pam_pwquality.so maxrepeat=2\n");
    scan_root(&s, t.root);
    r = find(&s, "host.pwquality");
    CHECK_CONTAINS(err_of(r, "minlen"), "/etc/security/pwquality.conf:2: libpwquality refuses "
                                        "\"frobnicate\"");
    CHECK(err_of(r, "difok") != NULL);
    CHECK_EQ_INT(int_at(r, "maxrepeat"), 2);
    CHECK_RULE(&s, "host.pwquality.minlen", VG_EVAL_UNKNOWN);
    CHECK_RULE(&s, "host.pwquality.maxrepeat", VG_EVAL_PASSED);
    scan_free(&s);
    put(&t, "etc/security/pwquality.conf", "minlen = 3\n");
    scan_root(&s, t.root);
    CHECK_EQ_INT(int_at(find(&s, "host.pwquality"), "minlen"), 6);
    scan_free(&s);
    put(&t, "etc/security/pwquality.conf", "minlen = 14x\n");
    scan_root(&s, t.root);
    CHECK_RULE(&s, "host.pwquality.minlen", VG_EVAL_UNKNOWN);
    scan_free(&s);
    put(&t, "etc/security/pwquality.conf", "minlen = 99999999999999999999\n");
    scan_root(&s, t.root);
    CHECK_RULE(&s, "host.pwquality.minlen", VG_EVAL_UNKNOWN);
    scan_free(&s);

    /* common-password unreadable: every setting unknown */
    put(&t, "etc/security/pwquality.conf", "minlen = 14\n");
    remove_path(&t, "etc/pam.d/common-password");
    make_fifo(&t, "etc/pam.d/common-password");
    scan_root(&s, t.root);
    r = find(&s, "host.pwquality");
    CHECK_CONTAINS(err_of(r, "minlen"), "cannot read /etc/pam.d/common-password");
    CHECK_RULE(&s, "host.pwquality.minlen", VG_EVAL_UNKNOWN);
    CHECK_RULE(&s, "host.pwquality.pam_enabled", VG_EVAL_UNKNOWN);
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(limits_core_hard)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    put(&t, "etc/security/limits.conf", "*  soft core 0\n@staff hard core 0\n* hard core 100\n");
    struct scan s;
    scan_root(&s, t.root);
    const struct vg_resource *r = find(&s, "host.limits");
    CHECK_EQ_INT(int_at(r, "core_hard"), 100);
    CHECK_EQ_STR(src_of(r, "core_hard"), "/etc/security/limits.conf:3");
    CHECK_RULE(&s, "host.limits.core_dumps_restricted", VG_EVAL_FAILED);
    scan_free(&s);
    put(&t, "etc/security/limits.d/60-core.conf", "# CIS\n*\t-\tcore\t0   # none\n");
    scan_root(&s, t.root);
    r = find(&s, "host.limits");
    CHECK_EQ_INT(int_at(r, "core_hard"), 0);
    CHECK_EQ_STR(src_of(r, "core_hard"), "/etc/security/limits.d/60-core.conf:2");
    CHECK_RULE(&s, "host.limits.core_dumps_restricted", VG_EVAL_PASSED);
    scan_free(&s);
    put(&t, "etc/security/limits.d/70-x.conf", "* hard core unlimited\n");
    scan_root(&s, t.root);
    CHECK_EQ_INT(int_at(find(&s, "host.limits"), "core_hard"), -1);
    scan_free(&s);
    put(&t, "etc/security/limits.d/70-x.conf", "* hard core lots\n");
    scan_root(&s, t.root);
    CHECK_RULE(&s, "host.limits.core_dumps_restricted", VG_EVAL_UNKNOWN);
    scan_free(&s);
    remove_path(&t, "etc/security");
    scan_root(&s, t.root);
    CHECK_REASON(&s, "host.limits.core_dumps_restricted", VG_EVAL_FAILED, "core_hard is -1");
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* Garbage in every file: no crash, nothing passes by accident          */
/* ------------------------------------------------------------------ */

VG_TEST(garbage_everywhere)
{
    static const char *const files[] = {
        "etc/sysctl.d/10-x.conf", "etc/sysctl.conf", "etc/fstab", "proc/1/mounts",
        "etc/systemd/system/tmp.mount", "etc/modprobe.d/x.conf", "proc/modules",
        "etc/default/grub", "etc/default/grub.d/x.cfg", "boot/grub/grub.cfg", "proc/cmdline",
        "etc/login.defs", "etc/security/pwquality.conf", "etc/pam.d/common-password",
        "etc/security/limits.conf", "proc/sys/net/ipv4/ip_forward",
    };
    static const char alphabet[] = "ab=\n\t \"'\\$`(){};&|<>#*?[]-_./0123456789\x00\xff";
    unsigned seed = 12345;
    char text[2048];
    struct vg_ruleset *rs = kernel_rules();
    for (int round = 0; round < 40; round++) {
        struct tree t;
        tree_new(&t);
        put(&t, "etc/hostname", "box\n");
        for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
            seed = seed * 1103515245u + 12345u;
            size_t n = (seed >> 8) % sizeof(text);
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                text[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
            }
            put_n(&t, files[f], text, n);
        }
        struct scan s;
        scan_root(&s, t.root);
        CHECK_EQ_INT(s.err, VG_OK);
        for (size_t i = 0; rs && i < vg_ruleset_count(rs); i++) {
            const struct vg_rule *rule = vg_ruleset_at(rs, i);
            const struct vg_resource *res = find(&s, rule->resource);
            if (!res)
                continue;
            struct vg_eval_result er;
            memset(&er, 0, sizeof(er));
            CHECK_EQ_INT(vg_rule_eval(rule, res, &er), VG_OK);
            vg_eval_result_clear(&er);
        }
        scan_free(&s);
        tree_free(&t);
    }
}

/* ------------------------------------------------------------------ */
/* The fixture trees                                                    */
/* ------------------------------------------------------------------ */

static bool prepare(const char *name, const char *dest)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "sh '%s/tests/fixtures/prepare.sh' '%s/tests/fixtures/%s' '%s'",
             source_dir(), source_dir(), name, dest);
    int rc = system(cmd);
    CHECK_EQ_INT(rc, 0);
    return rc == 0;
}

static void eval_all(const struct scan *s, enum vg_eval want, const char *tree)
{
    struct vg_ruleset *rs = kernel_rules();
    size_t evaluated = 0;
    for (size_t i = 0; rs && i < vg_ruleset_count(rs); i++) {
        const struct vg_rule *rule = vg_ruleset_at(rs, i);
        const struct vg_resource *res = find(s, rule->resource);
        if (!res)
            fprintf(stderr, "  rule %s matches no resource of %s\n", rule->id, tree);
        CHECK(res != NULL);
        if (!res)
            continue;
        struct vg_eval_result er;
        memset(&er, 0, sizeof(er));
        CHECK_EQ_INT(vg_rule_eval(rule, res, &er), VG_OK);
        evaluated++;
        if (er.evaluation != want)
            fprintf(stderr, "  %s on %s: %s (%s), expected %s\n", rule->id, tree,
                    vg_eval_name(er.evaluation), er.reason, vg_eval_name(want));
        CHECK_EQ_INT(er.evaluation, want);
        vg_eval_result_clear(&er);
    }
    CHECK(evaluated >= 40);
}

VG_TEST(fixtures_and_rules)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/vg-hk-fx-XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char good[128], bad[128], bare[128], cmd[256];
    snprintf(good, sizeof(good), "%s/compliant", dir);
    snprintf(bad, sizeof(bad), "%s/violating", dir);
    snprintf(bare, sizeof(bare), "%s/bare", dir);
    if (!prepare("host-compliant", good) || !prepare("host-violating", bad) ||
        !prepare("host-violating", bare))
        goto out;

    struct scan s;
    scan_root(&s, good);
    CHECK_EQ_INT(s.err, VG_OK);
    const struct vg_resource *r = find(&s, "host.sysctl");
    CHECK(array_has(at(r, "masked_files"), "/etc/sysctl.d/70-router.conf"));
    CHECK(array_has(at(r, "config_files"), "/etc/sysctl.d/99-sysctl.conf"));
    CHECK(!array_has(at(r, "config_files"), "/etc/sysctl.conf"));
    CHECK_EQ_STR(str_at(r, "runtime/net/ipv4/tcp_rmem"), "4096 131072 6291456");
    CHECK_EQ_STR(str_at(r, "persisted/net/ipv4/tcp_rmem"), "4096 131072 6291456");
    CHECK_EQ_STR(src_of(r, "runtime.net.ipv4.tcp_rmem"), "/proc/sys/net/ipv4/tcp_rmem");
    CHECK_EQ_INT(bool_at(find(&s, "host.mounts"), "tmp/noexec"), 1);
    eval_all(&s, VG_EVAL_PASSED, "host-compliant");
    scan_free(&s);

    scan_root(&s, bad);
    CHECK_EQ_INT(s.err, VG_OK);
    r = find(&s, "host.sysctl");
    CHECK(array_has(at(r, "ignored_lines"), "/etc/sysctl.d/60-legacy-router.conf:14"));
    CHECK_EQ_INT(int_at(r, "persisted/net/ipv4/conf/default/accept_redirects"), 1);
    CHECK_EQ_STR(str_at(r, "persisted_sources/net/ipv4/conf/default/accept_redirects"),
                 "/etc/sysctl.conf:3");
    eval_all(&s, VG_EVAL_FAILED, "host-violating");
    /* the reasons an analyst reads */
    CHECK_REASON(&s, "host.modules.cramfs_disabled", VG_EVAL_FAILED,
                 "cramfs.blacklisted is false (install at /etc/modprobe.d/legacy.conf:2; "
                 "no blacklist line)");
    CHECK_REASON(&s, "host.logindefs.encrypt_method", VG_EVAL_FAILED,
                 "ENCRYPT_METHOD is \"MD5\" (/etc/login.defs:9)");
    CHECK_REASON(&s, "host.grub.audit_backlog_limit", VG_EVAL_FAILED,
                 "linux_params.audit_backlog_limit is 64 (/etc/default/grub:6)");
    CHECK_REASON(&s, "host.sysctl.aslr_enabled", VG_EVAL_FAILED,
                 "runtime.kernel.randomize_va_space is 0");
    scan_free(&s);

    /* an image, not a running system: no /proc. Whatever needs the running
     * state is unknown; what is wrong in the files still fails */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/proc'", bare);
    CHECK_EQ_INT(system(cmd), 0);
    scan_root(&s, bare);
    CHECK_RULE(&s, "host.sysctl.ip_forward_disabled", VG_EVAL_FAILED);
    CHECK_RULE(&s, "host.sysctl.aslr_enabled", VG_EVAL_UNKNOWN);
    CHECK_RULE(&s, "host.modules.dccp_disabled", VG_EVAL_UNKNOWN);
    CHECK_RULE(&s, "host.modules.cramfs_disabled", VG_EVAL_FAILED);
    CHECK_RULE(&s, "host.mounts.tmp_separate", VG_EVAL_FAILED);
    scan_free(&s);
out:
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  cannot remove %s\n", dir);
}

VG_TEST_MAIN()
