/* The host provider: trees built under /tmp by each test, and the fixture
 * trees of tests/fixtures prepared by tests/fixtures/prepare.sh. */
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
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Trees                                                               */
/* ------------------------------------------------------------------ */

struct tree {
    char base[64];     /* mkdtemp directory; the root is base/root */
    char root[96];
};

static void tree_new(struct tree *t)
{
    snprintf(t->base, sizeof(t->base), "/tmp/vg-host-XXXXXX");
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
    return 0;   /* go on: remove what can be removed */
}

static void tree_free(struct tree *t)
{
    /* Make everything removable again first (tests chmod 000). */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s 2>/dev/null", t->base);
    if (system(cmd) != 0) {
        /* nothing: nftw reports what it cannot remove */
    }
    nftw(t->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p of the parent directories of root/rel. */
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

static void put(const struct tree *t, const char *rel, const char *text)
{
    char path[1024];
    make_parents(t->root, rel);
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static void put_mode(const struct tree *t, const char *rel, const char *text, mode_t mode)
{
    char path[1024];
    put(t, rel, text);
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    chmod(path, mode);
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

static void make_dir(const struct tree *t, const char *rel)
{
    char path[1024];
    make_parents(t->root, rel);
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    mkdir(path, 0755);
}

/* ------------------------------------------------------------------ */
/* Collecting                                                          */
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
    const struct vg_provider_type *prov = vg_provider_find("host");
    CHECK(prov == &vg_provider_host);
    s->err = prov->collect(&p, &s->list, &s->info, s->scan_errors, s->errbuf, sizeof(s->errbuf));
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

static const char *str_of(const struct vg_resource *r, const char *key)
{
    return r ? vg_json_get_str(vg_json_get(r->doc, key)) : NULL;
}

static long long int_of(const struct vg_resource *r, const char *key)
{
    const struct vg_json *v = r ? vg_json_get(r->doc, key) : NULL;
    return v && vg_json_type(v) == VG_JSON_INT ? (long long)vg_json_get_int(v) : -999;
}

static const char *src_of(const struct vg_resource *r, const char *key)
{
    return r && r->sources ? vg_json_get_str(vg_json_get(r->sources, key)) : NULL;
}

static const char *err_of(const struct vg_resource *r, const char *key)
{
    return r && r->errors ? vg_json_get_str(vg_json_get(r->errors, key)) : NULL;
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

/* The sshd resource of a tree whose files were just written. */
static const struct vg_resource *sshd_of(struct scan *s, const struct tree *t)
{
    scan_root(s, t->root);
    CHECK_EQ_INT(s->err, VG_OK);
    if (s->err)
        fprintf(stderr, "  collect: %s\n", s->errbuf);
    const struct vg_resource *r = find(s, "host.sshd");
    CHECK(r != NULL);
    return r;
}

static bool root_user(void)
{
    return geteuid() == 0;
}

/* ------------------------------------------------------------------ */
/* The root                                                            */
/* ------------------------------------------------------------------ */

VG_TEST(root_missing_or_not_a_directory)
{
    struct scan s;
    scan_root(&s, "/nonexistent/vigil-host-root");
    CHECK_EQ_INT(s.err, VG_ERR_NOENT);
    CHECK_EQ_STR(s.errbuf, "host root /nonexistent/vigil-host-root does not exist");
    CHECK_EQ_INT(s.list.n, 0);
    scan_free(&s);

    struct tree t;
    tree_new(&t);
    put(&t, "file", "x");
    char path[256];
    snprintf(path, sizeof(path), "%s/file", t.root);
    scan_root(&s, path);
    CHECK_EQ_INT(s.err, VG_ERR_NOENT);
    CHECK_CONTAINS(s.errbuf, "is not a directory");
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(resources_ids_and_types)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "box\n");
    put(&t, "etc/ssh/sshd_config", "");
    struct scan s;
    scan_root(&s, t.root);
    CHECK_EQ_INT(s.err, VG_OK);
    /* the account and sshd resources come first; the kernel, boot,
     * package, service, audit, firewall and cron collectors follow, one
     * resource each (their own tests check those) */
    CHECK_EQ_INT(s.list.n, 18);
    static const char *const later_types[] = {
        "host.sysctl", "host.mounts", "host.modules", "host.grub", "host.logindefs",
        "host.pwquality", "host.limits", "host.packages", "host.services", "host.audit",
        "host.firewall", "host.cron",
    };
    for (size_t k = 0; k < sizeof(later_types) / sizeof(later_types[0]); k++) {
        bool found = false;
        for (size_t i = 0; i < s.list.n; i++)
            found = found || strcmp(s.list.items[i]->type, later_types[k]) == 0;
        if (!found)
            fprintf(stderr, "  no resource of type %s\n", later_types[k]);
        CHECK(found);
    }
    static const struct {
        const char *type, *id, *name, *ecs, *sub;
    } want[] = {
        { "host.sshd", "host://box/sshd", "sshd", "configuration", "linux-sshd" },
        { "host.file.passwd", "host://box/file/etc/passwd", "/etc/passwd", "file", "linux-file" },
        { "host.file.shadow", "host://box/file/etc/shadow", "/etc/shadow", "file", "linux-file" },
        { "host.file.group", "host://box/file/etc/group", "/etc/group", "file", "linux-file" },
        { "host.file.gshadow", "host://box/file/etc/gshadow", "/etc/gshadow", "file",
          "linux-file" },
        { "host.accounts", "host://box/accounts", "accounts", "identity", "linux-accounts" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]) && i < s.list.n; i++) {
        const struct vg_resource *r = s.list.items[i];
        CHECK_EQ_STR(r->type, want[i].type);
        CHECK_EQ_STR(r->id, want[i].id);
        CHECK_EQ_STR(r->name, want[i].name);
        CHECK_EQ_STR(r->ecs_type, want[i].ecs);
        CHECK_EQ_STR(r->sub_type, want[i].sub);
    }
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* Target info                                                         */
/* ------------------------------------------------------------------ */

VG_TEST(target_info_from_files)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/hostname", "# set by the installer\n\n   db-01.example.org  \n");
    put(&t, "etc/machine-id", "0123456789abcdef0123456789ABCDEF\n");
    /* os-release as a relative symlink, as Debian ships it */
    put(&t, "usr/lib/os-release",
        "# comment\n"
        "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\n"
        "NAME='Ubuntu'\n"
        "VERSION_ID=\"24.04\"\n"
        "ID=ubuntu\n"
        "ID_LIKE=debian\n"
        "HOME_URL=\"https://www.ubuntu.com/\"\n");
    link_to(&t, "etc/os-release", "../usr/lib/os-release");
    struct scan s;
    scan_root(&s, t.root);
    CHECK_EQ_INT(s.err, VG_OK);
    CHECK_EQ_STR(s.info.host_name, "db-01.example.org");
    CHECK_EQ_STR(s.info.host_id, "0123456789abcdef0123456789ABCDEF");
    CHECK_EQ_STR(s.info.os_platform, "ubuntu");
    CHECK_EQ_STR(s.info.os_family, "debian");
    CHECK_EQ_STR(s.info.os_name, "Ubuntu");
    CHECK_EQ_STR(s.info.os_version, "24.04");
    CHECK_EQ_INT(vg_json_len(s.scan_errors), 0);
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(target_info_quoting_and_fallbacks)
{
    struct tree t;
    tree_new(&t);
    /* no /etc/os-release: /usr/lib/os-release; escapes in double quotes */
    put(&t, "usr/lib/os-release",
        "NAME=\"Red \\\"Hat\\\" \\$Linux\"\n"
        "ID=\"rocky\"\n"
        "ID_LIKE=\"rhel centos fedora\"\n"
        "VERSION_ID=9.3\n");
    put(&t, "etc/machine-id", "not-a-machine-id\n");
    struct scan s;
    scan_root(&s, t.root);
    CHECK_EQ_INT(s.err, VG_OK);
    CHECK_EQ_STR(s.info.os_name, "Red \"Hat\" $Linux");
    CHECK_EQ_STR(s.info.os_platform, "rocky");
    CHECK_EQ_STR(s.info.os_family, "redhat");
    CHECK_EQ_STR(s.info.os_version, "9.3");
    CHECK(s.info.host_id == NULL);
    /* no hostname, no machine id, not "/": "unknown", and a scan error */
    CHECK_EQ_STR(s.info.host_name, "unknown");
    CHECK_EQ_INT(vg_json_len(s.scan_errors), 1);
    CHECK_CONTAINS(vg_json_get_str(vg_json_at(s.scan_errors, 0)), "host name unknown");
    scan_free(&s);

    /* Debian itself, and a host name unfit for an id falls back to the
     * machine id */
    put(&t, "etc/os-release", "ID=debian\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n");
    put(&t, "etc/machine-id", "00112233445566778899aabbccddeeff");
    put(&t, "etc/hostname", "bad/name\n");
    scan_root(&s, t.root);
    CHECK_EQ_STR(s.info.os_family, "debian");
    CHECK_EQ_STR(s.info.os_version, "12");
    CHECK_EQ_STR(s.info.host_name, "00112233445566778899aabbccddeeff");
    const struct vg_resource *r = find(&s, "host.sshd");
    CHECK(r != NULL);
    if (r)
        CHECK_EQ_STR(r->id, "host://00112233445566778899aabbccddeeff/sshd");
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* sshd                                                                */
/* ------------------------------------------------------------------ */

VG_TEST(sshd_defaults)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/ssh/sshd_config", "# all commented out\n#PermitRootLogin yes\n\n");
    struct scan s;
    const struct vg_resource *r = sshd_of(&s, &t);
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "prohibit-password");
    CHECK_EQ_STR(str_of(r, "PermitEmptyPasswords"), "no");
    CHECK_EQ_STR(str_of(r, "PasswordAuthentication"), "yes");
    CHECK_EQ_INT(int_of(r, "MaxAuthTries"), 6);
    CHECK_EQ_STR(str_of(r, "X11Forwarding"), "no");
    CHECK_EQ_STR(str_of(r, "LogLevel"), "INFO");
    CHECK_EQ_INT(int_of(r, "LoginGraceTime"), 120);
    CHECK_EQ_INT(int_of(r, "ClientAliveInterval"), 0);
    CHECK_EQ_INT(int_of(r, "ClientAliveCountMax"), 3);
    CHECK_EQ_STR(src_of(r, "PermitRootLogin"), "default");
    CHECK_EQ_STR(src_of(r, "Ciphers"), "default");
    char *c = dump(r ? vg_json_get(r->doc, "Ciphers") : NULL);
    CHECK_EQ_STR(c, "[\"chacha20-poly1305@openssh.com\",\"aes128-ctr\",\"aes192-ctr\","
                    "\"aes256-ctr\",\"aes128-gcm@openssh.com\",\"aes256-gcm@openssh.com\"]");
    free(c);
    c = dump(r ? vg_json_get(r->doc, "config_files") : NULL);
    CHECK_EQ_STR(c, "[\"/etc/ssh/sshd_config\"]");
    free(c);
    c = dump(r ? vg_json_get(r->doc, "AllowUsers") : NULL);
    CHECK_EQ_STR(c, "[]");
    free(c);
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(sshd_syntax_case_and_first_wins)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/ssh/sshd_config",
        "permitrootlogin NO\n"                        /* 1 */
        "PermitRootLogin yes\n"                       /* 2: later, ignored */
        "PasswordAuthentication=No\n"                 /* 3 */
        "  MaxAuthTries = 3   \n"                     /* 4 */
        "MaxAuthTries 10\n"                           /* 5 */
        "X11Forwarding yes # a comment\n"             /* 6 */
        "Banner \"/etc/issue net\"\n"                 /* 7 */
        "LogLevel verbose\r\n"                        /* 8: CRLF */
        "PermitEmptyPasswords\tno\n"                  /* 9 */
        "ChallengeResponseAuthentication no\n"        /* 10: alias */
        "PermitRootLogin=without-password\n"          /* 11 */
        "AllowUsers alice bob\n"                      /* 12 */
        "AllowUsers carol\n"                          /* 13: accumulates */
        "NoSuchKeyword whatever\n");                  /* 14: ignored */
    struct scan s;
    const struct vg_resource *r = sshd_of(&s, &t);
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "no");
    CHECK_EQ_STR(src_of(r, "PermitRootLogin"), "/etc/ssh/sshd_config:1");
    CHECK_EQ_STR(str_of(r, "PasswordAuthentication"), "no");
    CHECK_EQ_INT(int_of(r, "MaxAuthTries"), 3);
    CHECK_EQ_STR(src_of(r, "MaxAuthTries"), "/etc/ssh/sshd_config:4");
    CHECK_EQ_STR(str_of(r, "X11Forwarding"), "yes");
    CHECK_EQ_STR(str_of(r, "Banner"), "/etc/issue net");
    CHECK_EQ_STR(str_of(r, "LogLevel"), "VERBOSE");
    CHECK_EQ_STR(str_of(r, "PermitEmptyPasswords"), "no");
    CHECK_EQ_STR(str_of(r, "KbdInteractiveAuthentication"), "no");
    CHECK_EQ_STR(src_of(r, "KbdInteractiveAuthentication"), "/etc/ssh/sshd_config:10");
    char *c = dump(r ? vg_json_get(r->doc, "AllowUsers") : NULL);
    CHECK_EQ_STR(c, "[\"alice\",\"bob\",\"carol\"]");
    free(c);
    CHECK(r && vg_json_get(r->doc, "NoSuchKeyword") == NULL);
    scan_free(&s);

    put(&t, "etc/ssh/sshd_config", "PermitRootLogin without-password\n");
    r = sshd_of(&s, &t);
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "prohibit-password");
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(sshd_time_formats)
{
    CHECK_EQ_INT(host_sshd_convtime("90"), 90);
    CHECK_EQ_INT(host_sshd_convtime("0"), 0);
    CHECK_EQ_INT(host_sshd_convtime("1m30s"), 90);
    CHECK_EQ_INT(host_sshd_convtime("1M30S"), 90);
    CHECK_EQ_INT(host_sshd_convtime("2h"), 7200);
    CHECK_EQ_INT(host_sshd_convtime("1d"), 86400);
    CHECK_EQ_INT(host_sshd_convtime("1w2d"), 7 * 86400 + 2 * 86400);
    CHECK_EQ_INT(host_sshd_convtime("1h1"), 3601);
    CHECK_EQ_INT(host_sshd_convtime(""), -1);
    CHECK_EQ_INT(host_sshd_convtime("m"), -1);
    CHECK_EQ_INT(host_sshd_convtime("5x"), -1);
    CHECK_EQ_INT(host_sshd_convtime("-5"), -1);
    CHECK_EQ_INT(host_sshd_convtime("1 m"), -1);
    CHECK_EQ_INT(host_sshd_convtime("99999999999"), -1);
    CHECK_EQ_INT(host_sshd_convtime("9999999w"), -1);

    struct tree t;
    tree_new(&t);
    put(&t, "etc/ssh/sshd_config", "LoginGraceTime 1m30s\nClientAliveInterval 5m\n");
    struct scan s;
    const struct vg_resource *r = sshd_of(&s, &t);
    CHECK_EQ_INT(int_of(r, "LoginGraceTime"), 90);
    CHECK_EQ_INT(int_of(r, "ClientAliveInterval"), 300);
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(sshd_ciphers_lists)
{
    static const struct {
        const char *spec, *want;
    } cases[] = {
        { "+aes256-cbc",
          "[\"chacha20-poly1305@openssh.com\",\"aes128-ctr\",\"aes192-ctr\",\"aes256-ctr\","
          "\"aes128-gcm@openssh.com\",\"aes256-gcm@openssh.com\",\"aes256-cbc\"]" },
        { "+aes128-ctr,3des-cbc",   /* already there: not twice */
          "[\"chacha20-poly1305@openssh.com\",\"aes128-ctr\",\"aes192-ctr\",\"aes256-ctr\","
          "\"aes128-gcm@openssh.com\",\"aes256-gcm@openssh.com\",\"3des-cbc\"]" },
        { "-chacha20-poly1305@openssh.com,*-gcm@openssh.com",
          "[\"aes128-ctr\",\"aes192-ctr\",\"aes256-ctr\"]" },
        { "^aes256-gcm@openssh.com",
          "[\"aes256-gcm@openssh.com\",\"chacha20-poly1305@openssh.com\",\"aes128-ctr\","
          "\"aes192-ctr\",\"aes256-ctr\",\"aes128-gcm@openssh.com\"]" },
        { "aes256-ctr,aes128-ctr", "[\"aes256-ctr\",\"aes128-ctr\"]" },
        { "+aes*-cbc",   /* a wildcard stands for the known names */
          "[\"chacha20-poly1305@openssh.com\",\"aes128-ctr\",\"aes192-ctr\",\"aes256-ctr\","
          "\"aes128-gcm@openssh.com\",\"aes256-gcm@openssh.com\",\"aes128-cbc\","
          "\"aes192-cbc\",\"aes256-cbc\"]" },
        { "arcfour,aes128-ctr", "[\"arcfour\",\"aes128-ctr\"]" },  /* kept as written */
    };
    struct tree t;
    tree_new(&t);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char cfg[256];
        snprintf(cfg, sizeof(cfg), "Ciphers %s\nMACs -hmac-sha1*,umac-64*\n", cases[i].spec);
        put(&t, "etc/ssh/sshd_config", cfg);
        struct scan s;
        const struct vg_resource *r = sshd_of(&s, &t);
        char *c = dump(r ? vg_json_get(r->doc, "Ciphers") : NULL);
        CHECK_EQ_STR(c, cases[i].want);
        free(c);
        CHECK_EQ_STR(src_of(r, "Ciphers"), "/etc/ssh/sshd_config:1");
        c = dump(r ? vg_json_get(r->doc, "MACs") : NULL);
        CHECK_EQ_STR(c, "[\"umac-128-etm@openssh.com\",\"hmac-sha2-256-etm@openssh.com\","
                        "\"hmac-sha2-512-etm@openssh.com\",\"umac-128@openssh.com\","
                        "\"hmac-sha2-256\",\"hmac-sha2-512\"]");
        free(c);
        scan_free(&s);
    }
    /* A list that leaves nothing is refused by sshd. */
    put(&t, "etc/ssh/sshd_config", "Ciphers -*\n");
    struct scan s;
    const struct vg_resource *r = sshd_of(&s, &t);
    CHECK_CONTAINS(err_of(r, "Ciphers"), "leaves no algorithm");
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(sshd_invalid_values_are_errors)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/ssh/sshd_config",
        "MaxAuthTries lots\n"
        "PermitRootLogin maybe\n"
        "LoginGraceTime 5x\n"
        "LogLevel LOUD\n"
        "X11Forwarding yes no\n"
        "PasswordAuthentication\n"
        "PermitEmptyPasswords no\n");
    struct scan s;
    const struct vg_resource *r = sshd_of(&s, &t);
    CHECK(err_of(r, "*") == NULL);
    CHECK_CONTAINS(err_of(r, "MaxAuthTries"), "MaxAuthTries \"lots\" at /etc/ssh/sshd_config:1");
    CHECK_CONTAINS(err_of(r, "MaxAuthTries"), "sshd refuses");
    CHECK_CONTAINS(err_of(r, "PermitRootLogin"), "\"maybe\"");
    CHECK_CONTAINS(err_of(r, "LoginGraceTime"), "not a time");
    CHECK_CONTAINS(err_of(r, "LogLevel"), "not a log level");
    CHECK_CONTAINS(err_of(r, "X11Forwarding"), "more than one value");
    CHECK_CONTAINS(err_of(r, "PasswordAuthentication"), "no value");
    CHECK(err_of(r, "PermitEmptyPasswords") == NULL);
    CHECK_EQ_STR(str_of(r, "PermitEmptyPasswords"), "no");
    scan_free(&s);

    put(&t, "etc/ssh/sshd_config", "Banner \"unterminated\n");
    r = sshd_of(&s, &t);
    CHECK_CONTAINS(err_of(r, "*"), "unterminated quote at /etc/ssh/sshd_config:1");
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(sshd_include_globs)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/ssh/sshd_config",
        "Include sshd_config.d/*.conf\n"          /* relative: under /etc/ssh */
        "Include /etc/ssh/extra/?\?-*.conf /etc/ssh/missing/*.conf\n"
        "PermitRootLogin yes\n"
        "MaxAuthTries 9\n"
        "LogLevel ERROR\n");
    put(&t, "etc/ssh/sshd_config.d/20-b.conf", "PermitRootLogin forced-commands-only\n");
    put(&t, "etc/ssh/sshd_config.d/10-a.conf", "PermitRootLogin no\nX11Forwarding yes\n");
    put(&t, "etc/ssh/sshd_config.d/10-a.conf.bak", "MaxAuthTries 1\n");
    put(&t, "etc/ssh/sshd_config.d/.hidden.conf", "MaxAuthTries 2\n");
    put(&t, "etc/ssh/extra/30-c.conf", "MaxAuthTries 3\n");
    put(&t, "etc/ssh/extra/x.conf", "LogLevel DEBUG3\n");
    struct scan s;
    const struct vg_resource *r = sshd_of(&s, &t);
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "no");
    CHECK_EQ_STR(src_of(r, "PermitRootLogin"), "/etc/ssh/sshd_config.d/10-a.conf:1");
    CHECK_EQ_STR(str_of(r, "X11Forwarding"), "yes");
    CHECK_EQ_INT(int_of(r, "MaxAuthTries"), 3);
    CHECK_EQ_STR(src_of(r, "MaxAuthTries"), "/etc/ssh/extra/30-c.conf:1");
    CHECK_EQ_STR(str_of(r, "LogLevel"), "ERROR");
    char *c = dump(r ? vg_json_get(r->doc, "config_files") : NULL);
    CHECK_EQ_STR(c, "[\"/etc/ssh/sshd_config\",\"/etc/ssh/sshd_config.d/10-a.conf\","
                    "\"/etc/ssh/sshd_config.d/20-b.conf\",\"/etc/ssh/extra/30-c.conf\"]");
    free(c);
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(sshd_include_nested_loop_and_depth)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/ssh/sshd_config", "Include a.conf\nPermitRootLogin yes\n");
    put(&t, "etc/ssh/a.conf", "Include /etc/ssh/b.conf\n");
    put(&t, "etc/ssh/b.conf", "# deepest\nPermitRootLogin no\n");
    struct scan s;
    const struct vg_resource *r = sshd_of(&s, &t);
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "no");
    CHECK_EQ_STR(src_of(r, "PermitRootLogin"), "/etc/ssh/b.conf:2");
    scan_free(&s);

    /* b includes a: a loop */
    put(&t, "etc/ssh/b.conf", "Include a.conf\n");
    r = sshd_of(&s, &t);
    CHECK_CONTAINS(err_of(r, "*"), "Include loop: /etc/ssh/a.conf at /etc/ssh/b.conf:1");
    CHECK(r && vg_json_get(r->doc, "PermitRootLogin") == NULL);
    scan_free(&s);

    /* a file including itself through a symlinked name is a loop too */
    put(&t, "etc/ssh/b.conf", "Include b-link.conf\n");
    link_to(&t, "etc/ssh/b-link.conf", "b.conf");
    r = sshd_of(&s, &t);
    CHECK_CONTAINS(err_of(r, "*"), "Include loop");
    scan_free(&s);

    /* a chain of 20 distinct files: deeper than sshd allows */
    for (int i = 0; i < 20; i++) {
        char rel[64], text[64];
        snprintf(rel, sizeof(rel), "etc/ssh/chain/%02d.conf", i);
        snprintf(text, sizeof(text), "Include chain/%02d.conf\n", i + 1);
        put(&t, rel, text);
    }
    put(&t, "etc/ssh/sshd_config", "Include chain/00.conf\n");
    r = sshd_of(&s, &t);
    CHECK_CONTAINS(err_of(r, "*"), "nested deeper than 16");
    scan_free(&s);

    /* the same file included twice, one after the other, is no loop */
    put(&t, "etc/ssh/sshd_config", "Include b.conf\nInclude b.conf\nMaxAuthTries 2\n");
    put(&t, "etc/ssh/b.conf", "LogLevel VERBOSE\n");
    r = sshd_of(&s, &t);
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_of(r, "LogLevel"), "VERBOSE");
    char *c = dump(r ? vg_json_get(r->doc, "config_files") : NULL);
    CHECK_EQ_STR(c, "[\"/etc/ssh/sshd_config\",\"/etc/ssh/b.conf\"]");
    free(c);
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(sshd_match_blocks)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\n"            /* 1 */
        "X11Forwarding no\n"                                 /* 2 */
        "Match User backup\n"                                /* 3 */
        "  PermitRootLogin yes\n"                            /* 4 */
        "  PasswordAuthentication no\n"                      /* 5 */
        "  Include /etc/ssh/in-match.conf\n"                 /* 6 */
        "Match Address 10.0.0.0/8\n"                         /* 7 */
        "  MaxAuthTries 2\n");                               /* 8 */
    /* a Match at the end of an included file ends with that file */
    put(&t, "etc/ssh/sshd_config.d/10-x.conf",
        "Match Group admins\n"
        "  MaxAuthTries 1\n");
    put(&t, "etc/ssh/sshd_config.d/20-y.conf", "MaxAuthTries 5\n");
    /* included from a conditional block: conditional, even "Match all" */
    put(&t, "etc/ssh/in-match.conf", "LogLevel DEBUG\nMatch all\nMaxSessions 3\n");
    struct scan s;
    const struct vg_resource *r = sshd_of(&s, &t);
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "prohibit-password");
    CHECK_EQ_STR(src_of(r, "PermitRootLogin"), "default");
    CHECK_EQ_STR(str_of(r, "PasswordAuthentication"), "yes");
    CHECK_EQ_INT(int_of(r, "MaxAuthTries"), 5);
    CHECK_EQ_STR(src_of(r, "MaxAuthTries"), "/etc/ssh/sshd_config.d/20-y.conf:1");
    CHECK_EQ_STR(str_of(r, "LogLevel"), "INFO");
    CHECK_EQ_INT(int_of(r, "MaxSessions"), 10);
    char *c = dump(r ? vg_json_get(r->doc, "match_blocks") : NULL);
    CHECK_EQ_STR(c,
        "[{\"criteria\":\"Group admins\",\"source\":\"/etc/ssh/sshd_config.d/10-x.conf:1\","
        "\"settings\":{\"MaxAuthTries\":1}},"
        "{\"criteria\":\"User backup\",\"source\":\"/etc/ssh/sshd_config:3\","
        "\"settings\":{\"PermitRootLogin\":\"yes\",\"PasswordAuthentication\":\"no\","
        "\"LogLevel\":\"DEBUG\"}},"
        "{\"criteria\":\"all\",\"source\":\"/etc/ssh/in-match.conf:2\","
        "\"settings\":{\"MaxSessions\":3}},"
        "{\"criteria\":\"Address 10.0.0.0/8\",\"source\":\"/etc/ssh/sshd_config:7\","
        "\"settings\":{\"MaxAuthTries\":2}}]");
    free(c);
    scan_free(&s);

    /* "Match all" applies to every connection: for keywords allowed in
     * Match blocks, it overrides the global value */
    put(&t, "etc/ssh/sshd_config",
        "PermitRootLogin no\n"
        "LoginGraceTime 30\n"
        "Match all\n"
        "PermitRootLogin yes\n"
        "LogLevel VERBOSE\n"
        "LoginGraceTime 90\n");
    r = sshd_of(&s, &t);
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "yes");
    CHECK_EQ_STR(src_of(r, "PermitRootLogin"), "/etc/ssh/sshd_config:4");
    CHECK_EQ_STR(str_of(r, "LogLevel"), "VERBOSE");
    /* LoginGraceTime is not re-applied per connection: first wins */
    CHECK_EQ_INT(int_of(r, "LoginGraceTime"), 30);
    scan_free(&s);

    /* a keyword sshd does not allow in a Match block */
    put(&t, "etc/ssh/sshd_config", "Match User x\n  Ciphers aes128-ctr\n");
    r = sshd_of(&s, &t);
    CHECK_CONTAINS(err_of(r, "Ciphers"), "not allowed inside a Match block");
    scan_free(&s);

    put(&t, "etc/ssh/sshd_config", "Match\n");
    r = sshd_of(&s, &t);
    CHECK_CONTAINS(err_of(r, "*"), "Match without criteria");
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(sshd_missing_and_unreadable)
{
    struct tree t;
    tree_new(&t);
    make_dir(&t, "etc");
    struct scan s;
    const struct vg_resource *r = sshd_of(&s, &t);
    CHECK_EQ_STR(err_of(r, "*"), "sshd is not configured: /etc/ssh/sshd_config does not exist");
    CHECK(r && vg_json_get(r->doc, "PermitRootLogin") == NULL);
    scan_free(&s);

    /* an Include that matches a directory */
    put(&t, "etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*\n");
    make_dir(&t, "etc/ssh/sshd_config.d/sub");
    r = sshd_of(&s, &t);
    CHECK_EQ_STR(err_of(r, "*"), "cannot read /etc/ssh/sshd_config.d/sub: is a directory");
    scan_free(&s);

    /* a symlink loop */
    link_to(&t, "etc/ssh/sshd_config", "sshd_config2");
    link_to(&t, "etc/ssh/sshd_config2", "sshd_config");
    r = sshd_of(&s, &t);
    CHECK_EQ_STR(err_of(r, "*"),
                 "cannot read /etc/ssh/sshd_config: too many levels of symbolic links");
    scan_free(&s);

    /* a FIFO is not read (it would block) */
    char path[512];
    snprintf(path, sizeof(path), "%s/etc/ssh/sshd_config", t.root);
    unlink(path);
    CHECK_EQ_INT(mkfifo(path, 0644), 0);
    r = sshd_of(&s, &t);
    CHECK_EQ_STR(err_of(r, "*"), "cannot read /etc/ssh/sshd_config: not a regular file");
    scan_free(&s);
    unlink(path);

    /* permission denied: only without root, which reads everything */
    put(&t, "etc/ssh/sshd_config", "Include sshd_config.d/*.conf\n");
    put(&t, "etc/ssh/sshd_config.d/10-x.conf", "PermitRootLogin no\n");
    if (root_user()) {
        fprintf(stderr, "  note: running as root, permission-denied cases skipped\n");
    } else {
        snprintf(path, sizeof(path), "%s/etc/ssh/sshd_config.d/10-x.conf", t.root);
        chmod(path, 0);
        r = sshd_of(&s, &t);
        CHECK_EQ_STR(err_of(r, "*"),
                     "cannot read /etc/ssh/sshd_config.d/10-x.conf: permission denied");
        scan_free(&s);
        chmod(path, 0644);
        snprintf(path, sizeof(path), "%s/etc/ssh/sshd_config.d", t.root);
        chmod(path, 0);
        r = sshd_of(&s, &t);
        CHECK_EQ_STR(err_of(r, "*"), "cannot read /etc/ssh/sshd_config.d: permission denied");
        scan_free(&s);
        chmod(path, 0755);
    }
    tree_free(&t);
}

VG_TEST(symlinks_stay_inside_the_root)
{
    struct tree t;
    tree_new(&t);
    char path[512];
    /* base/outside.conf is outside the root; root/outside.conf is inside */
    snprintf(path, sizeof(path), "%s/outside.conf", t.base);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("PermitRootLogin yes\n", f);
        fclose(f);
    }
    put(&t, "outside.conf", "PermitRootLogin no\n");
    put(&t, "etc/ssh/sshd_config", "Include sshd_config.d/*.conf\n");
    link_to(&t, "etc/ssh/sshd_config.d/10-up.conf", "../../../../../../../../../outside.conf");
    struct scan s;
    const struct vg_resource *r = sshd_of(&s, &t);
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "no");
    scan_free(&s);

    /* an absolute target is taken inside the root, not on this system */
    link_to(&t, "etc/ssh/sshd_config.d/10-up.conf", path);   /* base/outside.conf */
    r = sshd_of(&s, &t);
    CHECK(r && r->errors == NULL);   /* dangling inside the root: no match */
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "prohibit-password");
    scan_free(&s);

    link_to(&t, "etc/ssh/sshd_config", "/etc/ssh/real_config");
    put(&t, "etc/ssh/real_config", "MaxAuthTries 2\n");
    r = sshd_of(&s, &t);
    CHECK_EQ_INT(int_of(r, "MaxAuthTries"), 2);
    CHECK_EQ_STR(src_of(r, "MaxAuthTries"), "/etc/ssh/sshd_config:1");
    scan_free(&s);

    /* a directory symlinked to "/" of the host stays in the root */
    link_to(&t, "etc/ssh/sshd_config", "/hostroot/etc/ssh/real_config");
    link_to(&t, "hostroot", "/");
    r = sshd_of(&s, &t);
    CHECK_EQ_INT(int_of(r, "MaxAuthTries"), 2);
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* Accounts                                                            */
/* ------------------------------------------------------------------ */

#define FAKE_HASH "$y$j9T$FAKESALTFAKESALT$NotARealHashTestOnlyDoNotUse0000000000000"

VG_TEST(accounts_parsing_never_copies_a_hash)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\n"
        "# a comment\n"
        "\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\r\n"
        "short:x:2:2\n"                                  /* malformed */
        "baduid:x:abc:2:x:/:/bin/sh\n"                   /* malformed */
        "toomany:x:3:3:a:b:c:d\n"                        /* malformed */
        ":x:4:4::/:/bin/sh\n"                            /* malformed: no name */
        "+nisuser::::::\n"                               /* malformed: NIS compat */
        "old:" FAKE_HASH ":1001:1001::/home/old:/bin/sh\n"
        "nopw::1002:1002::/home/nopw:/bin/sh\n");
    put(&t, "etc/shadow",
        "root:" FAKE_HASH ":19700:0:99999:7:::\n"
        "daemon:*:19700:0:99999:7:::\n"
        "locked:!" FAKE_HASH ":19700:0:99999:7:14:20000:\n"
        "empty::19700::::::\n"
        "eight:!!:19700:0:99999:7::\n"                   /* 8 fields: accepted */
        "broken:x:1\n"                                   /* malformed */
        "weird:$6$x:notanumber:0:99999:7:::\n");
    put(&t, "etc/group", "root:x:0:\nsudo:x:27:alice,bob\nbad:x:\n");
    struct scan s;
    scan_root(&s, t.root);
    CHECK_EQ_INT(s.err, VG_OK);
    const struct vg_resource *r = find(&s, "host.accounts");
    CHECK(r && r->errors == NULL);
    if (!r) {
        scan_free(&s);
        tree_free(&t);
        return;
    }
    char *users = dump(vg_json_get(r->doc, "users"));
    CHECK_EQ_STR(users,
        "[{\"name\":\"root\",\"uid\":0,\"gid\":0,\"home\":\"/root\",\"shell\":\"/bin/bash\","
        "\"password\":\"shadowed\"},"
        "{\"name\":\"daemon\",\"uid\":1,\"gid\":1,\"home\":\"/usr/sbin\","
        "\"shell\":\"/usr/sbin/nologin\",\"password\":\"shadowed\"},"
        "{\"name\":\"old\",\"uid\":1001,\"gid\":1001,\"home\":\"/home/old\",\"shell\":\"/bin/sh\","
        "\"password\":\"hash\"},"
        "{\"name\":\"nopw\",\"uid\":1002,\"gid\":1002,\"home\":\"/home/nopw\","
        "\"shell\":\"/bin/sh\",\"password\":\"empty\"}]");
    free(users);
    char *shadow = dump(vg_json_get(r->doc, "shadow"));
    CHECK_EQ_STR(shadow,
        "[{\"name\":\"root\",\"password\":\"hash\",\"last_change\":19700,\"min_days\":0,"
        "\"max_days\":99999,\"warn_days\":7,\"inactive_days\":null,\"expire\":null},"
        "{\"name\":\"daemon\",\"password\":\"locked\",\"last_change\":19700,\"min_days\":0,"
        "\"max_days\":99999,\"warn_days\":7,\"inactive_days\":null,\"expire\":null},"
        "{\"name\":\"locked\",\"password\":\"locked\",\"last_change\":19700,\"min_days\":0,"
        "\"max_days\":99999,\"warn_days\":7,\"inactive_days\":14,\"expire\":20000},"
        "{\"name\":\"empty\",\"password\":\"empty\",\"last_change\":19700,\"min_days\":null,"
        "\"max_days\":null,\"warn_days\":null,\"inactive_days\":null,\"expire\":null},"
        "{\"name\":\"eight\",\"password\":\"locked\",\"last_change\":19700,\"min_days\":0,"
        "\"max_days\":99999,\"warn_days\":7,\"inactive_days\":null,\"expire\":null},"
        "{\"name\":\"weird\",\"password\":\"hash\",\"last_change\":null,\"min_days\":0,"
        "\"max_days\":99999,\"warn_days\":7,\"inactive_days\":null,\"expire\":null}]");
    free(shadow);
    char *groups = dump(vg_json_get(r->doc, "groups"));
    CHECK_EQ_STR(groups, "[{\"name\":\"root\",\"gid\":0,\"members\":[]},"
                         "{\"name\":\"sudo\",\"gid\":27,\"members\":[\"alice\",\"bob\"]}]");
    free(groups);
    char *m = dump(vg_json_get(r->doc, "malformed_lines"));
    CHECK_EQ_STR(m, "{\"passwd\":5,\"group\":1,\"shadow\":1}");
    free(m);

    /* Nowhere in any resource: not the hash, not its salt. */
    for (size_t i = 0; i < s.list.n; i++) {
        char *all = dump(s.list.items[i]->doc);
        CHECK(strstr(all, "NotARealHash") == NULL);
        CHECK(strstr(all, "FAKESALT") == NULL);
        CHECK(strstr(all, "$y$") == NULL);
        CHECK(strstr(all, "$6$") == NULL);
        free(all);
    }
    CHECK_EQ_STR(host_password_class(""), "empty");
    CHECK_EQ_STR(host_password_class("!"), "locked");
    CHECK_EQ_STR(host_password_class("*"), "locked");
    CHECK_EQ_STR(host_password_class("!$6$abc"), "locked");
    CHECK_EQ_STR(host_password_class("$6$abc"), "hash");
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(accounts_unreadable_files)
{
    struct tree t;
    tree_new(&t);
    make_dir(&t, "etc/shadow");   /* a directory: cannot be read as a file */
    put(&t, "etc/group", "root:x:0:\n");
    struct scan s;
    scan_root(&s, t.root);
    const struct vg_resource *r = find(&s, "host.accounts");
    CHECK(r != NULL);
    CHECK_EQ_STR(err_of(r, "shadow"), "cannot read /etc/shadow: is a directory");
    CHECK_EQ_STR(err_of(r, "users"), "cannot read /etc/passwd: no such file or directory");
    CHECK(err_of(r, "groups") == NULL);
    CHECK(err_of(r, "*") == NULL);
    CHECK(r && vg_json_get(r->doc, "shadow") == NULL);
    CHECK(r && vg_json_get(r->doc, "users") == NULL);
    char *m = dump(r ? vg_json_get(r->doc, "malformed_lines") : NULL);
    CHECK_EQ_STR(m, "{\"group\":0}");
    free(m);
    scan_free(&s);

    if (root_user()) {
        fprintf(stderr, "  note: running as root, permission-denied case skipped\n");
    } else {
        char path[512];
        snprintf(path, sizeof(path), "%s/etc/shadow", t.root);
        rmdir(path);
        put_mode(&t, "etc/shadow", "root:*:1::::::\n", 0);
        scan_root(&s, t.root);
        r = find(&s, "host.accounts");
        CHECK_EQ_STR(err_of(r, "shadow"), "cannot read /etc/shadow: permission denied");
        scan_free(&s);
    }
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

VG_TEST(file_modes_owners_and_errors)
{
    struct tree t;
    tree_new(&t);
    char passwd[256], group[256];
    snprintf(passwd, sizeof(passwd), "root:x:0:0::/root:/bin/sh\nme:x:%u:%u::/:/bin/sh\n",
             (unsigned)geteuid(), (unsigned)getegid());
    /* the tree's group file does not know our gid: a numeric name */
    snprintf(group, sizeof(group), "root:x:0:\nother:x:%u:\n", (unsigned)getegid() + 4242);
    put_mode(&t, "etc/passwd", passwd, 0644);
    put_mode(&t, "etc/group", group, 0664);
    put_mode(&t, "etc/shadow-real", "root:*:1::::::\n", 04640);
    link_to(&t, "etc/shadow", "/etc/shadow-real");   /* followed, inside the root */
    struct scan s;
    scan_root(&s, t.root);
    CHECK_EQ_INT(s.err, VG_OK);

    const struct vg_resource *r = find(&s, "host.file.passwd");
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_of(r, "path"), "/etc/passwd");
    CHECK(r && vg_json_get_bool(vg_json_get(r->doc, "exists")));
    CHECK_EQ_STR(str_of(r, "file_type"), "file");
    CHECK_EQ_STR(str_of(r, "mode"), "0644");
    CHECK_EQ_INT(int_of(r, "uid"), geteuid());
    CHECK_EQ_INT(int_of(r, "gid"), getegid());
    CHECK_EQ_STR(str_of(r, "owner"), geteuid() == 0 ? "root" : "me");
    char num[32];
    snprintf(num, sizeof(num), "%u", (unsigned)getegid());
    CHECK_EQ_STR(str_of(r, "group"), getegid() == 0 ? "root" : num);

    r = find(&s, "host.file.group");
    CHECK_EQ_STR(str_of(r, "mode"), "0664");
    r = find(&s, "host.file.shadow");
    CHECK_EQ_STR(str_of(r, "mode"), "4640");   /* special bits kept */
    CHECK_EQ_STR(str_of(r, "file_type"), "file");

    r = find(&s, "host.file.gshadow");   /* missing */
    CHECK(r && r->errors == NULL);
    char *d = dump(r ? r->doc : NULL);
    CHECK_EQ_STR(d, "{\"path\":\"/etc/gshadow\",\"exists\":false}");
    free(d);
    scan_free(&s);

    /* a directory, and a symlink loop (an error, not "missing") */
    make_dir(&t, "etc/gshadow");
    link_to(&t, "etc/shadow", "shadow2");
    link_to(&t, "etc/shadow2", "shadow");
    scan_root(&s, t.root);
    r = find(&s, "host.file.gshadow");
    CHECK_EQ_STR(str_of(r, "file_type"), "directory");
    r = find(&s, "host.file.shadow");
    CHECK_EQ_STR(err_of(r, "*"), "cannot stat /etc/shadow: too many levels of symbolic links");
    scan_free(&s);

    /* /etc is a regular file: every path under it fails with ENOTDIR */
    struct tree t2;
    tree_new(&t2);
    put(&t2, "etc", "not a directory\n");
    scan_root(&s, t2.root);
    CHECK_EQ_INT(s.err, VG_OK);
    r = find(&s, "host.file.passwd");
    CHECK_EQ_STR(err_of(r, "*"), "cannot stat /etc/passwd: a path component is not a directory");
    r = find(&s, "host.accounts");
    CHECK_CONTAINS(err_of(r, "users"), "cannot read /etc/passwd");
    r = find(&s, "host.sshd");
    CHECK_EQ_STR(err_of(r, "*"),
                 "cannot read /etc/ssh/sshd_config: a path component is not a directory");
    scan_free(&s);
    tree_free(&t2);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* The fixture trees and the rules                                     */
/* ------------------------------------------------------------------ */

static const char *source_dir(void)
{
    static char dir[1024];
    const char *env = getenv("VG_SOURCE_DIR");
    if (env && *env)
        return env;
    /* VG_SOURCE_DATA_DIR "/rules" is SOURCE/checks/rules */
    snprintf(dir, sizeof(dir), "%s", VG_SOURCE_DATA_DIR "/rules");
    char *p = strstr(dir, "/checks/rules");
    if (p)
        *p = '\0';
    return dir;
}

static bool prepare(const char *name, const char *dest)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "sh '%s/tests/fixtures/prepare.sh' '%s/tests/fixtures/%s' '%s'",
             source_dir(), source_dir(), name, dest);
    int rc = system(cmd);
    CHECK_EQ_INT(rc, 0);
    return rc == 0;
}

static bool owner_rule(const char *id)
{
    return strncmp(id, "host.file.", 10) == 0;
}

/* Evaluates every rule of host.yml against the tree; expects `want` from
 * each (owner-dependent rules only when prepared as root). */
static void eval_all(const struct scan *s, const struct vg_ruleset *rs, enum vg_eval want,
                     const char *tree)
{
    size_t evaluated = 0;
    for (size_t i = 0; i < vg_ruleset_count(rs); i++) {
        const struct vg_rule *rule = vg_ruleset_at(rs, i);
        bool matched = false;
        for (size_t j = 0; j < s->list.n; j++) {
            const struct vg_resource *res = s->list.items[j];
            if (strcmp(rule->resource, res->type) != 0)
                continue;
            matched = true;
            if (!root_user() && want == VG_EVAL_PASSED && owner_rule(rule->id))
                continue;
            struct vg_eval_result er;
            memset(&er, 0, sizeof(er));
            CHECK_EQ_INT(vg_rule_eval(rule, res, &er), VG_OK);
            evaluated++;
            if (er.evaluation != want)
                fprintf(stderr, "  %s on %s: %s (%s), expected %s\n", rule->id, tree,
                        vg_eval_name(er.evaluation), er.reason, vg_eval_name(want));
            CHECK_EQ_INT(er.evaluation, want);
            char *ev = dump(er.evidence);
            CHECK(strstr(ev, "NotARealHash") == NULL);
            free(ev);
            vg_eval_result_clear(&er);
        }
        if (!matched)
            fprintf(stderr, "  rule %s matches no resource of %s\n", rule->id, tree);
        CHECK(matched);
    }
    CHECK(evaluated > 0);
}

VG_TEST(fixtures_and_rules)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/vg-host-fx-XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char good[128], bad[128];
    snprintf(good, sizeof(good), "%s/compliant", dir);
    snprintf(bad, sizeof(bad), "%s/violating", dir);
    if (!prepare("host-compliant", good) || !prepare("host-violating", bad))
        goto out;
    if (!root_user())
        fprintf(stderr, "  note: not root, fixtures are owned by uid %u: owner rules are "
                "checked on the violating tree only\n", (unsigned)geteuid());

    struct vg_ruleset *rs = vg_ruleset_new();
    char path[1200], errbuf[512];
    snprintf(path, sizeof(path), "%s/checks/rules/host.yml", source_dir());
    enum vg_err err = rs ? vg_ruleset_load_path(rs, path, errbuf, sizeof(errbuf)) : VG_ERR_NOMEM;
    CHECK_EQ_INT(err, VG_OK);
    if (err)
        fprintf(stderr, "  %s\n", errbuf);
    CHECK(vg_ruleset_count(rs) >= 12);

    struct scan s;
    scan_root(&s, good);
    CHECK_EQ_INT(s.err, VG_OK);
    CHECK_EQ_STR(s.info.host_name, "web-compliant-01");
    CHECK_EQ_STR(s.info.os_family, "debian");
    CHECK_EQ_STR(s.info.os_version, "12");
    CHECK_EQ_STR(s.info.os_name, "Debian GNU/Linux");
    const struct vg_resource *r = find(&s, "host.sshd");
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "no");
    CHECK_EQ_STR(src_of(r, "PermitRootLogin"), "/etc/ssh/sshd_config.d/50-hardening.conf:2");
    CHECK_EQ_STR(str_of(r, "PasswordAuthentication"), "no");   /* Match block ignored */
    r = find(&s, "host.file.shadow");
    CHECK_EQ_STR(str_of(r, "mode"), "0640");
    if (root_user())
        CHECK_EQ_STR(str_of(r, "group"), "shadow");
    if (!err)
        eval_all(&s, rs, VG_EVAL_PASSED, "host-compliant");
    scan_free(&s);

    scan_root(&s, bad);
    CHECK_EQ_INT(s.err, VG_OK);
    r = find(&s, "host.sshd");
    CHECK_EQ_STR(str_of(r, "PermitRootLogin"), "yes");   /* first wins over line 19 */
    CHECK_EQ_STR(src_of(r, "PermitRootLogin"), "/etc/ssh/sshd_config.d/10-cloud-init.conf:3");
    r = find(&s, "host.accounts");
    CHECK_EQ_INT(vg_json_get_int(vg_json_get(vg_json_get(r ? r->doc : NULL, "malformed_lines"),
                                             "passwd")), 1);
    for (size_t i = 0; i < s.list.n; i++) {
        char *all = dump(s.list.items[i]->doc);
        CHECK(strstr(all, "NotARealHash") == NULL);
        free(all);
    }
    if (!err)
        eval_all(&s, rs, VG_EVAL_FAILED, "host-violating");
    scan_free(&s);
    vg_ruleset_destroy(rs);
out:;
    struct tree t;
    memset(&t, 0, sizeof(t));
    snprintf(t.base, sizeof(t.base), "%s", dir);
    tree_free(&t);
}

VG_TEST_MAIN()
