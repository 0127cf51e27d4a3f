/* The host provider's packages, services, audit, firewall and cron
 * collectors: parsers on text, collectors on trees built under /tmp, and
 * the rules of checks/rules/host-services.yml on the fixture trees. */
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
    snprintf(t->base, sizeof(t->base), "/tmp/vg-hsvc-XXXXXX");
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
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s 2>/dev/null", t->base);
    if (system(cmd) != 0) {
        /* nftw reports what it cannot remove */
    }
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

static void put(const struct tree *t, const char *rel, const char *text)
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
    fputs(text, f);
    fclose(f);
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

static void make_dir(const struct tree *t, const char *rel, mode_t mode)
{
    char path[1024];
    make_parents(t->root, rel);
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    mkdir(path, mode);
    chmod(path, mode);
}

static void remove_path(const struct tree *t, const char *rel)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", t->root, rel);
    if (system(cmd) != 0) {
        /* checked by what follows */
    }
}

static void chmod_path(const struct tree *t, const char *rel, mode_t mode)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    chmod(path, mode);
}

static bool root_user(void)
{
    return geteuid() == 0;
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

/* The resource of type in a scan of t (collected again). */
static const struct vg_resource *collect(struct scan *s, const struct tree *t, const char *type)
{
    scan_root(s, t->root);
    CHECK_EQ_INT(s->err, VG_OK);
    const struct vg_resource *r = find(s, type);
    CHECK(r != NULL);
    return r;
}

/* The value at a dotted path of v ("installed.libc6.version"; "[N]" for an
 * array index), or NULL. */
static const struct vg_json *at(const struct vg_json *v, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
        if (k[0] == '[')
            v = vg_json_at(v, (size_t)atoi(k + 1));
        else
            v = vg_json_get(v, k);
    }
    return v;
}

static const char *str_at(const struct vg_json *v, const char *path)
{
    return vg_json_get_str(at(v, path));
}

static long long int_at(const struct vg_json *v, const char *path)
{
    const struct vg_json *x = at(v, path);
    return x && vg_json_type(x) == VG_JSON_INT ? (long long)vg_json_get_int(x) : -999;
}

/* 1 true, 0 false, -1 absent or not a bool */
static int bool_at(const struct vg_json *v, const char *path)
{
    const struct vg_json *x = at(v, path);
    return x && vg_json_type(x) == VG_JSON_BOOL ? vg_json_get_bool(x) : -1;
}

static const char *err_of(const struct vg_resource *r, const char *key)
{
    return r && r->errors ? vg_json_get_str(vg_json_get(r->errors, key)) : NULL;
}

static const char *src_of(const struct vg_resource *r, const char *key)
{
    return r && r->sources ? vg_json_get_str(vg_json_get(r->sources, key)) : NULL;
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

/* True when the string array at path holds s. */
static bool has(const struct vg_json *doc, const char *path, const char *s)
{
    const struct vg_json *a = at(doc, path);
    for (size_t i = 0; i < vg_json_len(a); i++)
        if (vg_json_get_str(vg_json_at(a, i)) && strcmp(vg_json_get_str(vg_json_at(a, i)), s) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* dpkg                                                                */
/* ------------------------------------------------------------------ */

static enum vg_err dpkg_text(const char *text, struct vg_json **doc, char *errbuf, size_t errlen)
{
    struct vg_json *records = vg_json_object();
    *doc = vg_json_object();
    enum vg_err err = host_dpkg_parse(text, strlen(text), records, errbuf, errlen);
    if (!err)
        err = host_dpkg_doc(records, *doc);
    vg_json_free(records);
    return err;
}

VG_TEST(dpkg_status_stanzas)
{
    const char *text =
        "Package: libc6\n"
        "Status: install ok installed\n"
        "Architecture: amd64\n"
        "Multi-Arch: same\n"
        "Version: 2.36-9\n"
        "Description: GNU C Library\n"
        " continued: with a colon\n"
        " .\n"
        "\n"
        "\n"
        "package: libc6\n"                       /* field names in any case */
        "STATUS: install ok unpacked\n"
        "architecture: i386\n"
        "version: 2.36-9\n"
        "\n"
        "Package: telnet\n"
        "Status: deinstall ok config-files\n"
        "Architecture: all\n"
        "Version: 0.17\n"
        "\n"
        "Package: python3.11\r\n"
        "Status: hold ok installed\r\n"
        "Architecture: amd64\r\n"
        "Version: 3.11.2-6\r\n"
        "\n"
        "Package: old-pkg\n"
        "Status: purge ok not-installed\n"
        "\n"
        "Package: g++\n"
        "Status: install reinstreq half-installed\n"
        "Architecture: amd64\n"
        "Version: 4:12.2.0-3";                   /* no newline at the end */
    struct vg_json *doc;
    char errbuf[256];
    CHECK_EQ_INT(dpkg_text(text, &doc, errbuf, sizeof(errbuf)), VG_OK);
    CHECK_EQ_STR(str_at(doc, "installed.libc6.version"), "2.36-9");
    /* two architectures, the least advanced state wins */
    CHECK_EQ_STR(str_at(doc, "installed.libc6.status"), "unpacked");
    CHECK_EQ_STR(str_at(doc, "installed.libc6.architectures.[0]"), "amd64");
    CHECK_EQ_STR(str_at(doc, "installed.libc6.architectures.[1]"), "i386");
    CHECK(at(doc, "installed.telnet") == NULL);
    CHECK(has(doc, "config_files", "telnet"));
    CHECK(at(doc, "installed.old-pkg") == NULL);
    CHECK(!has(doc, "config_files", "old-pkg"));
    /* a name with a dot: a key no rule path can reach, but listed */
    CHECK(vg_json_get(vg_json_get(doc, "installed"), "python3.11") != NULL);
    CHECK(has(doc, "names", "python3.11"));
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(vg_json_get(doc, "installed"),
                                                         "python3.11"), "status")),
                 "installed");
    CHECK_EQ_STR(vg_json_get_str(vg_json_get(vg_json_get(vg_json_get(doc, "installed"), "g++"),
                                             "status")),
                 "half-installed");
    CHECK_EQ_INT(int_at(doc, "count"), 3);
    /* names sorted */
    CHECK_EQ_STR(str_at(doc, "names.[0]"), "g++");
    CHECK_EQ_STR(str_at(doc, "names.[1]"), "libc6");
    CHECK_EQ_STR(str_at(doc, "names.[2]"), "python3.11");
    vg_json_free(doc);
}

VG_TEST(dpkg_malformed_is_an_error)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "Package: a1\nStatus: install ok installed\nVersion: 1\nbroken line\n",
          "line 4: not a \"Field: value\" line" },
        { " leading continuation\n", "line 1: continuation line outside a field" },
        { "Status: install ok installed\nVersion: 1\n", "line 1: stanza without a Package field" },
        { "Package: ab\nStatus: install ok\n", "line 1: package ab has an invalid Status \"install ok\"" },
        { "Package: ab\nStatus: install ok installed extra\nVersion: 1\n",
          "line 1: package ab has an invalid Status \"install ok installed extra\"" },
        { "Package: ab\nStatus: want ok installed\nVersion: 1\n",
          "line 1: package ab has an invalid Status \"want ok installed\"" },
        { "Package: ab\nStatus: install ok installed\n", "line 1: package ab is installed but has no Version" },
        { "Package: ab\nPackage: cd\nStatus: install ok installed\n", "line 2: duplicate Package field" },
        { "Package: Bad_Name\nStatus: install ok installed\nVersion: 1\n",
          "line 1: invalid package name \"Bad_Name\"" },
        { "Package: ab\nStatus: install ok installed\nVersion: 1\nArchitecture: amd/64\n",
          "line 1: package ab has an invalid Architecture" },
        { "Package: ab\n# comment\nStatus: install ok installed\n", "line 2: not a \"Field: value\" line" },
        { "Pack age: ab\n", "line 1: blank in a field name" },
        { ": value\n", "line 1: not a \"Field: value\" line" },
        { "Package: ab\nStatus: install ok\0installed\n", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vg_json *doc;
        char errbuf[256] = "";
        if (!cases[i].want) {
            /* a NUL byte: the length says where the text ends */
            const char t[] = "Package: ab\nStatus: install ok\0installed\n";
            struct vg_json *records = vg_json_object();
            CHECK_EQ_INT(host_dpkg_parse(t, sizeof(t) - 1, records, errbuf, sizeof(errbuf)),
                         VG_ERR_PARSE);
            CHECK_EQ_STR(errbuf, "the file holds a NUL byte");
            vg_json_free(records);
            continue;
        }
        CHECK_EQ_INT(dpkg_text(cases[i].text, &doc, errbuf, sizeof(errbuf)), VG_ERR_PARSE);
        CHECK_EQ_STR(errbuf, cases[i].want);
        vg_json_free(doc);
    }
    /* the empty database is a database */
    struct vg_json *doc;
    char errbuf[256];
    CHECK_EQ_INT(dpkg_text("", &doc, errbuf, sizeof(errbuf)), VG_OK);
    CHECK_EQ_INT(int_at(doc, "count"), 0);
    vg_json_free(doc);
}

VG_TEST(dpkg_collector_journal_and_errors)
{
    struct tree t;
    tree_new(&t);
    struct scan s;

    /* no database: unknown, never "nothing installed" */
    const struct vg_resource *r = collect(&s, &t, "host.packages");
    CHECK_EQ_STR(err_of(r, "*"), "no dpkg database: /var/lib/dpkg/status does not exist");
    CHECK_EQ_STR(r ? r->id : "", "host://unknown/packages");
    scan_free(&s);

    put(&t, "var/lib/dpkg/status",
        "Package: telnet\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n\n"
        "Package: auditd\nStatus: install ok unpacked\nArchitecture: amd64\nVersion: 3\n");
    r = collect(&s, &t, "host.packages");
    CHECK(err_of(r, "*") == NULL);
    CHECK_EQ_STR(str_at(r ? r->doc : NULL, "installed.auditd.status"), "unpacked");
    CHECK_EQ_INT(int_at(r ? r->doc : NULL, "journal_files"), 0);
    scan_free(&s);

    /* the journal replaces records of the same package and architecture,
     * in name order; dpkg's temporary file is not the journal */
    put(&t, "var/lib/dpkg/updates/0001",
        "Package: telnet\nStatus: purge ok not-installed\nArchitecture: all\n");
    put(&t, "var/lib/dpkg/updates/0002",
        "Package: auditd\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3\n");
    put(&t, "var/lib/dpkg/updates/tmp.i", "this is not a stanza\n");
    r = collect(&s, &t, "host.packages");
    CHECK(err_of(r, "*") == NULL);
    CHECK(at(r ? r->doc : NULL, "installed.telnet") == NULL);
    CHECK_EQ_STR(str_at(r ? r->doc : NULL, "installed.auditd.status"), "installed");
    CHECK_EQ_INT(int_at(r ? r->doc : NULL, "journal_files"), 2);
    scan_free(&s);

    /* a malformed journal file makes the whole database unknown */
    put(&t, "var/lib/dpkg/updates/0003", "Package: x\n");
    r = collect(&s, &t, "host.packages");
    CHECK_EQ_STR(err_of(r, "*"), "malformed dpkg database /var/lib/dpkg/updates/0003: "
                                 "line 1: invalid package name \"x\"");
    scan_free(&s);
    remove_path(&t, "var/lib/dpkg/updates/0003");

    /* a status file that is a directory */
    remove_path(&t, "var/lib/dpkg/status");
    make_dir(&t, "var/lib/dpkg/status", 0755);
    r = collect(&s, &t, "host.packages");
    CHECK_EQ_STR(err_of(r, "*"), "cannot read /var/lib/dpkg/status: is a directory");
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* systemd                                                             */
/* ------------------------------------------------------------------ */

static void debian_targets(const struct tree *t)
{
    put(t, "usr/lib/systemd/system/graphical.target", "[Unit]\nRequires=multi-user.target\n");
    put(t, "usr/lib/systemd/system/multi-user.target",
        "[Unit]\nDescription=x\n# Wants=commented.service\nRequires=basic.target\n");
    put(t, "usr/lib/systemd/system/basic.target",
        "[Unit]\nRequires=sysinit.target\nWants=sockets.target \\\n  timers.target\n");
    put(t, "usr/lib/systemd/system/sysinit.target", "[Unit]\n");
    put(t, "usr/lib/systemd/system/sockets.target", "[Unit]\n");
    put(t, "usr/lib/systemd/system/timers.target", "[Unit]\n");
    put(t, "usr/lib/systemd/system/rescue.target", "[Unit]\nRequires=sysinit.target\n");
    link_to(t, "usr/lib/systemd/system/default.target", "graphical.target");
    link_to(t, "lib", "usr/lib");
}

VG_TEST(systemd_enablement_and_boot)
{
    struct tree t;
    tree_new(&t);
    debian_targets(&t);
    const char *svc = "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n"
                      "Wants=not-in-unit-section.service\n[Install]\nWantedBy=multi-user.target\n";
    put(&t, "usr/lib/systemd/system/auditd.service", svc);
    put(&t, "usr/lib/systemd/system/chrony.service", svc);
    put(&t, "usr/lib/systemd/system/ssh.service", svc);
    put(&t, "usr/lib/systemd/system/rsync.service", svc);
    put(&t, "usr/lib/systemd/system/rescue-only.service", svc);
    put(&t, "usr/lib/systemd/system/not-in-unit-section.service", svc);
    put(&t, "usr/lib/systemd/system/getty@.service", svc);
    put(&t, "usr/lib/systemd/system/pulled.service", svc);
    put(&t, "usr/lib/systemd/system/vendor.service", "[Unit]\nWants=pulled.service\n");
    put(&t, "usr/lib/systemd/system/empty.service", "");
    put(&t, "usr/lib/systemd/system/reset.service",
        "[Unit]\nWants=pulled2.service\nWants=\n");
    put(&t, "usr/lib/systemd/system/pulled2.service", svc);
    /* vendor link: started at boot, but not "enabled" by the admin */
    link_to(&t, "usr/lib/systemd/system/multi-user.target.wants/vendor.service",
            "../vendor.service");
    link_to(&t, "usr/lib/systemd/system/multi-user.target.wants/reset.service", "../reset.service");
    link_to(&t, "etc/systemd/system/multi-user.target.wants/auditd.service",
            "/lib/systemd/system/auditd.service");
    link_to(&t, "etc/systemd/system/multi-user.target.wants/ssh.service",
            "/lib/systemd/system/ssh.service");
    link_to(&t, "etc/systemd/system/sshd.service", "/lib/systemd/system/ssh.service");
    link_to(&t, "etc/systemd/system/getty.target.wants/getty@tty1.service",
            "/lib/systemd/system/getty@.service");
    link_to(&t, "etc/systemd/system/multi-user.target.wants/getty.target",
            "/lib/systemd/system/getty.target");
    put(&t, "usr/lib/systemd/system/getty.target", "[Unit]\n");
    /* enabled into a target nothing reaches */
    link_to(&t, "etc/systemd/system/rescue.target.wants/rescue-only.service",
            "/lib/systemd/system/rescue-only.service");
    /* enabled, then masked: the mask wins, and the link is never opened */
    link_to(&t, "etc/systemd/system/multi-user.target.wants/rsync.service",
            "/lib/systemd/system/rsync.service");
    link_to(&t, "etc/systemd/system/rsync.service", "/dev/null");
    /* chrony enabled through a wants link under its alias */
    link_to(&t, "etc/systemd/system/chronyd.service", "/lib/systemd/system/chrony.service");
    link_to(&t, "etc/systemd/system/multi-user.target.wants/chronyd.service",
            "/lib/systemd/system/chrony.service");
    /* a dangling link and an empty unit file */
    link_to(&t, "etc/systemd/system/multi-user.target.wants/gone.service",
            "/lib/systemd/system/gone.service");
    link_to(&t, "etc/systemd/system/multi-user.target.wants/empty.service",
            "/lib/systemd/system/empty.service");

    struct scan s;
    const struct vg_resource *r = collect(&s, &t, "host.services");
    const struct vg_json *d = r ? r->doc : NULL;
    CHECK(err_of(r, "*") == NULL);
    CHECK_EQ_STR(str_at(d, "default_target"), "graphical.target");
    /* /lib is a link to usr/lib: read once */
    CHECK_EQ_INT((long long)vg_json_len(at(d, "unit_dirs")), 2);
    CHECK_EQ_STR(str_at(d, "unit_dirs.[0]"), "/etc/systemd/system");
    CHECK_EQ_STR(str_at(d, "unit_dirs.[1]"), "/lib/systemd/system");

    CHECK_EQ_INT(bool_at(d, "services.auditd.exists"), 1);
    CHECK_EQ_INT(bool_at(d, "services.auditd.enabled"), 1);
    CHECK_EQ_INT(bool_at(d, "services.auditd.masked"), 0);
    CHECK_EQ_INT(bool_at(d, "services.auditd.started_at_boot"), 1);
    CHECK_EQ_STR(str_at(d, "services.auditd.wanted_by.[0]"), "multi-user.target");
    CHECK_EQ_STR(str_at(d, "services.auditd.file"), "/lib/systemd/system/auditd.service");

    CHECK_EQ_INT(bool_at(d, "services.sshd.started_at_boot"), 1);
    CHECK_EQ_STR(str_at(d, "services.sshd.alias_of"), "ssh.service");
    CHECK_EQ_INT(bool_at(d, "services.chrony.enabled"), 1);
    CHECK_EQ_INT(bool_at(d, "services.chrony.started_at_boot"), 1);
    CHECK_EQ_STR(str_at(d, "services.chrony.wanted_by.[0]"), "multi-user.target");

    CHECK_EQ_INT(bool_at(d, "services.rsync.masked"), 1);
    CHECK_EQ_INT(bool_at(d, "services.rsync.enabled"), 1);
    CHECK_EQ_INT(bool_at(d, "services.rsync.started_at_boot"), 0);
    CHECK_EQ_INT(bool_at(d, "services.rsync.exists"), 1);   /* the vendor's file is there */
    CHECK_EQ_STR(str_at(d, "services.rsync.file"), "/etc/systemd/system/rsync.service");

    CHECK_EQ_INT(bool_at(d, "services.rescue-only.enabled"), 1);
    CHECK_EQ_INT(bool_at(d, "services.rescue-only.started_at_boot"), 0);

    CHECK_EQ_INT(bool_at(d, "services.vendor.enabled"), 0);
    CHECK_EQ_INT(bool_at(d, "services.vendor.started_at_boot"), 1);
    CHECK_EQ_INT(bool_at(d, "services.pulled.started_at_boot"), 1);    /* Wants= */
    CHECK_EQ_INT(bool_at(d, "services.pulled2.started_at_boot"), 0);   /* "Wants=" reset */
    CHECK_EQ_INT(bool_at(d, "services.not-in-unit-section.started_at_boot"), 0);

    CHECK_EQ_INT(bool_at(d, "services.getty@tty1.started_at_boot"), 1);
    CHECK_EQ_STR(str_at(d, "services.getty@tty1.file"), "/lib/systemd/system/getty@.service");

    CHECK_EQ_INT(bool_at(d, "services.gone.exists"), 0);
    CHECK_EQ_INT(bool_at(d, "services.gone.started_at_boot"), 0);
    CHECK_EQ_INT(bool_at(d, "services.empty.masked"), 1);
    CHECK_EQ_INT(bool_at(d, "targets.multi-user.started_at_boot"), 1);
    CHECK_EQ_INT(bool_at(d, "targets.rescue.started_at_boot"), 0);
    CHECK(has(d, "started_at_boot", "sysinit.target"));
    CHECK(has(d, "started_at_boot", "sshd.service"));
    CHECK(!has(d, "started_at_boot", "rsync.service"));
    CHECK(has(d, "enabled", "rsync.service"));
    scan_free(&s);

    /* the admin's default.target wins over the vendor's */
    link_to(&t, "etc/systemd/system/default.target", "/lib/systemd/system/rescue.target");
    r = collect(&s, &t, "host.services");
    d = r ? r->doc : NULL;
    CHECK_EQ_STR(str_at(d, "default_target"), "rescue.target");
    CHECK_EQ_INT(bool_at(d, "services.auditd.started_at_boot"), 0);
    CHECK_EQ_INT(bool_at(d, "services.rescue-only.started_at_boot"), 1);
    scan_free(&s);

    /* a masked target cuts everything behind it */
    remove_path(&t, "etc/systemd/system/default.target");
    link_to(&t, "etc/systemd/system/multi-user.target", "/dev/null");
    r = collect(&s, &t, "host.services");
    d = r ? r->doc : NULL;
    CHECK_EQ_INT(bool_at(d, "services.auditd.started_at_boot"), 0);
    CHECK_EQ_INT(bool_at(d, "services.auditd.enabled"), 1);
    CHECK_EQ_INT(bool_at(d, "targets.multi-user.masked"), 1);
    scan_free(&s);
    tree_free(&t);
}

VG_TEST(systemd_no_units_and_errors)
{
    struct tree t;
    tree_new(&t);
    struct scan s;
    /* no unit directory: nothing starts, nothing is unknown */
    const struct vg_resource *r = collect(&s, &t, "host.services");
    CHECK(r && r->errors == NULL);
    CHECK(at(r ? r->doc : NULL, "default_target") && vg_json_type(at(r->doc, "default_target")) ==
                                                          VG_JSON_NULL);
    CHECK(at(r ? r->doc : NULL, "services.auditd") == NULL);
    scan_free(&s);

    /* a link that climbs out of the root stays inside it */
    put(&t, "usr/lib/systemd/system/x.target", "[Unit]\n");
    link_to(&t, "etc/systemd/system/escape.service", "../../../../../../../etc/passwd");
    link_to(&t, "etc/systemd/system/default.target", "/usr/lib/systemd/system/x.target");
    r = collect(&s, &t, "host.services");
    CHECK(r && r->errors == NULL);
    CHECK_EQ_INT(bool_at(r ? r->doc : NULL, "services.escape.exists"), 0);
    CHECK_EQ_INT(bool_at(r ? r->doc : NULL, "targets.x.started_at_boot"), 1);
    scan_free(&s);

    /* a unit file on the boot path that cannot be read: unknown */
    remove_path(&t, "usr/lib/systemd/system/x.target");
    make_dir(&t, "usr/lib/systemd/system/x.target.d", 0755);
    link_to(&t, "usr/lib/systemd/system/x.target", "x.target.d");   /* a directory */
    r = collect(&s, &t, "host.services");
    CHECK(r && r->errors == NULL);   /* not a unit file at all: not found */
    scan_free(&s);

    if (root_user()) {
        fprintf(stderr, "  note: running as root, permission-denied cases skipped\n");
    } else {
        remove_path(&t, "usr/lib/systemd/system/x.target");
        put(&t, "usr/lib/systemd/system/x.target", "[Unit]\n");
        chmod_path(&t, "usr/lib/systemd/system/x.target", 0);
        r = collect(&s, &t, "host.services");
        CHECK_EQ_STR(err_of(r, "*"),
                     "cannot read /usr/lib/systemd/system/x.target: permission denied");
        scan_free(&s);
        chmod_path(&t, "usr/lib/systemd/system/x.target", 0644);
        chmod_path(&t, "etc/systemd/system", 0);
        r = collect(&s, &t, "host.services");
        CHECK_EQ_STR(err_of(r, "*"), "cannot read /etc/systemd/system: permission denied");
        scan_free(&s);
        chmod_path(&t, "etc/systemd/system", 0755);
    }
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* audit                                                               */
/* ------------------------------------------------------------------ */

static enum vg_err audit_text(const char *text, struct vg_json **doc, char *errbuf, size_t len)
{
    *doc = vg_json_object();
    return host_audit_parse_rules(text, strlen(text), "/etc/audit/rules.d/x.rules", *doc, errbuf,
                                  len);
}

VG_TEST(audit_rules_parsing)
{
    const char *text =
        "## comment\n"
        "  # indented comment\n"
        "\n"
        "-D\n"
        "-b 8192\n"
        "--backlog_wait_time 60000\n"
        "-f 1\n"
        "-w /etc/sudoers -p aw -k scope\n"
        "-w/etc/sudoers.d/ -pwa -kscope\n"                    /* getopt's attached values */
        "-w /etc/hosts\n"                                     /* no -p: every permission */
        "-a always,exit -F arch=b64 -S adjtimex,settimeofday -S clock_settime -k time-change\n"
        "-a exit,always -F arch=b32 -F path=/etc/shadow -F perm=aw -F key=identity\n"
        "-a always,exit -F dir=/etc/ssh/ -F perm=wa -F auid>=1000 -F auid!=unset -k narrowed\n"
        "-a never,exit -F path=/etc/motd -F perm=wa\n"
        "-a always,exit -S all -F path=/etc/issue -F perm=x\n"
        "-a always,exit -C auid!=obj_uid -F arch=b64 -S execve -k exec\r\n"
        "-w /etc/remove-me -p wa\n"
        "-W /etc/remove-me\n"
        "--loginuid-immutable\n"
        "-e 2\n";
    struct vg_json *doc;
    char errbuf[256];
    CHECK_EQ_INT(audit_text(text, &doc, errbuf, sizeof(errbuf)), VG_OK);
    if (errbuf[0])
        fprintf(stderr, "  %s\n", errbuf);
    CHECK_EQ_INT(int_at(doc, "backlog_limit"), 8192);
    CHECK_EQ_INT(int_at(doc, "backlog_wait_time"), 60000);
    CHECK_EQ_INT(int_at(doc, "failure_mode"), 1);
    CHECK_EQ_INT(int_at(doc, "enabled"), 2);
    CHECK_EQ_INT(bool_at(doc, "immutable"), 1);

    CHECK_EQ_INT((long long)vg_json_len(at(doc, "watches")), 5);
    CHECK_EQ_STR(str_at(doc, "watches.[0].path"), "/etc/sudoers");
    CHECK_EQ_STR(str_at(doc, "watches.[0].perms"), "wa");
    CHECK_EQ_STR(str_at(doc, "watches.[0].key"), "scope");
    CHECK_EQ_STR(str_at(doc, "watches.[0].source"), "/etc/audit/rules.d/x.rules:8");
    CHECK_EQ_STR(str_at(doc, "watches.[0].via"), "watch");
    CHECK_EQ_STR(str_at(doc, "watches.[1].path"), "/etc/sudoers.d");
    CHECK_EQ_STR(str_at(doc, "watches.[1].perms"), "wa");
    CHECK_EQ_STR(str_at(doc, "watches.[2].path"), "/etc/hosts");
    CHECK_EQ_STR(str_at(doc, "watches.[2].perms"), "rwxa");
    CHECK(vg_json_type(at(doc, "watches.[2].key")) == VG_JSON_NULL);
    CHECK_EQ_STR(str_at(doc, "watches.[3].path"), "/etc/shadow");
    CHECK_EQ_STR(str_at(doc, "watches.[3].perms"), "wa");
    CHECK_EQ_STR(str_at(doc, "watches.[3].key"), "identity");
    CHECK_EQ_STR(str_at(doc, "watches.[3].via"), "syscall");
    CHECK_EQ_STR(str_at(doc, "watches.[4].path"), "/etc/issue");
    CHECK_EQ_STR(str_at(doc, "watches.[4].perms"), "x");
    /* narrowed (auid), never and removed ones are no watches */
    char *all = dump(at(doc, "watches"));
    CHECK(strstr(all, "/etc/ssh") == NULL);
    CHECK(strstr(all, "/etc/motd") == NULL);
    CHECK(strstr(all, "remove-me") == NULL);
    free(all);

    CHECK_EQ_INT((long long)vg_json_len(at(doc, "syscalls")), 6);
    CHECK_EQ_STR(str_at(doc, "syscalls.[0].list"), "exit");
    CHECK_EQ_STR(str_at(doc, "syscalls.[0].action"), "always");
    CHECK_EQ_STR(str_at(doc, "syscalls.[0].arch"), "b64");
    CHECK_EQ_STR(str_at(doc, "syscalls.[0].syscalls.[2]"), "clock_settime");
    CHECK_EQ_STR(str_at(doc, "syscalls.[0].key"), "time-change");
    CHECK_EQ_STR(str_at(doc, "syscalls.[1].list"), "exit");     /* exit,always */
    CHECK_EQ_STR(str_at(doc, "syscalls.[1].arch"), "b32");
    CHECK_EQ_STR(str_at(doc, "syscalls.[2].fields.[2].op"), ">=");
    CHECK_EQ_STR(str_at(doc, "syscalls.[2].fields.[3].op"), "!=");
    CHECK_EQ_STR(str_at(doc, "syscalls.[3].action"), "never");
    CHECK_EQ_STR(str_at(doc, "syscalls.[5].fields.[0].value"), "obj_uid");
    CHECK_EQ_INT(bool_at(doc, "syscalls.[5].fields.[0].compare"), 1);
    vg_json_free(doc);

    /* -D forgets what came before; -e other than 2 is not immutable */
    CHECK_EQ_INT(audit_text("-w /etc/a -p wa\n-D\n-w /etc/b\n-e 2\n-e 1\n", &doc, errbuf,
                            sizeof(errbuf)),
                 VG_OK);
    CHECK_EQ_INT((long long)vg_json_len(at(doc, "watches")), 1);
    CHECK_EQ_STR(str_at(doc, "watches.[0].path"), "/etc/b");
    CHECK_EQ_INT(bool_at(doc, "immutable"), 0);
    vg_json_free(doc);
}

VG_TEST(audit_rules_malformed)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "-w etc/sudoers -p wa\n", "x.rules:1: watch path \"etc/sudoers\" is not absolute" },
        { "-w /etc/sudoers -p wz\n", "x.rules:1: invalid permissions -p \"wz\"" },
        { "-w /etc/sudoers -p\n", "x.rules:1: -p needs a value" },
        { "\n-a always -S open\n", "x.rules:2: -a needs LIST,ACTION, not \"always\"" },
        { "-a sometimes,exit\n", "x.rules:1: -a needs LIST,ACTION, not \"sometimes,exit\"" },
        { "-a always,exit -F path\n", "x.rules:1: invalid field \"path\"" },
        { "-a always,exit -F =x\n", "x.rules:1: invalid field \"=x\"" },
        { "-a always,exit -S open;rm\n", "x.rules:1: invalid syscall list \"open;rm\"" },
        { "-w /a -a always,exit\n", "x.rules:1: -w and -a in one rule" },
        { "-p wa\n", "x.rules:1: -p without -w" },
        { "-S open\n", "x.rules:1: -S or -F without -a" },
        { "-k key\n", "x.rules:1: -k without a rule" },
        { "-w /a -w /b\n", "x.rules:1: more than one -w or -W" },
        { "-w /a -S open\n", "x.rules:1: -S or -F with -w" },
        { "-e 3\n", "x.rules:1: invalid -e value \"3\"" },
        { "-b lots\n", "x.rules:1: invalid -b value \"lots\"" },
        { "-d always,exit -S open\n", "x.rules:1: rule deletion (-d) is not supported" },
        { "-Z\n", "x.rules:1: unknown option -Z" },
        { "--frobnicate\n", "x.rules:1: unknown option --frobnicate" },
        { "watch /etc/passwd\n", "x.rules:1: unexpected word \"watch\"" },
        { "-w /etc/passwd -p wa -k \n", "x.rules:1: -k needs a value" },
        { "-a always,exit -F perm=q -F path=/x\n", "x.rules:1: invalid perm \"q\"" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vg_json *doc;
        char errbuf[256] = "";
        CHECK_EQ_INT(audit_text(cases[i].text, &doc, errbuf, sizeof(errbuf)), VG_ERR_PARSE);
        const char *tail = strstr(errbuf, "x.rules:");
        CHECK_EQ_STR(tail ? tail : errbuf, cases[i].want);
        vg_json_free(doc);
    }
}

VG_TEST(audit_collector)
{
    struct tree t;
    tree_new(&t);
    struct scan s;
    /* nothing at all: no rules, no configuration; rules fail, not unknown */
    const struct vg_resource *r = collect(&s, &t, "host.audit");
    const struct vg_json *d = r ? r->doc : NULL;
    CHECK(r && r->errors == NULL);
    CHECK_EQ_INT((long long)vg_json_len(at(d, "watches")), 0);
    CHECK(vg_json_type(at(d, "rules_source")) == VG_JSON_NULL);
    CHECK_EQ_INT(bool_at(d, "auditd_conf_exists"), 0);
    CHECK_EQ_INT(bool_at(d, "immutable"), 0);
    CHECK(at(d, "max_log_file_action") == NULL);
    scan_free(&s);

    /* audit.rules is read when rules.d has no *.rules */
    put(&t, "etc/audit/audit.rules", "-w /etc/from-audit-rules -p wa\n");
    put(&t, "etc/audit/rules.d/README", "not a rules file\n");
    put(&t, "etc/audit/auditd.conf",
        "# comment\n"
        "log_file = /var/log/audit/audit.log\n"
        "max_log_file_action = KEEP_LOGS\n"
        "space_left=75\n"
        "admin_space_left = 10%\n"
        "disk_full_action = exec /usr/local/bin/page-oncall\n"
        "disk_full_action = Halt\n"                        /* the later line wins */
        "watches = /etc/shadow\n"                          /* not auditd's: never ours */
        "Num_Logs = 5\n");
    r = collect(&s, &t, "host.audit");
    d = r ? r->doc : NULL;
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_at(d, "rules_source"), "/etc/audit/audit.rules");
    CHECK_EQ_STR(str_at(d, "watches.[0].path"), "/etc/from-audit-rules");
    CHECK_EQ_STR(str_at(d, "max_log_file_action"), "keep_logs");
    CHECK_EQ_STR(src_of(r, "max_log_file_action"), "/etc/audit/auditd.conf:3");
    CHECK_EQ_INT(int_at(d, "space_left"), 75);
    CHECK_EQ_STR(str_at(d, "admin_space_left"), "10%");
    CHECK_EQ_STR(str_at(d, "disk_full_action"), "halt");
    CHECK_EQ_STR(src_of(r, "disk_full_action"), "/etc/audit/auditd.conf:7");
    CHECK_EQ_INT(int_at(d, "num_logs"), 5);
    CHECK_EQ_STR(str_at(d, "log_file"), "/var/log/audit/audit.log");
    CHECK(vg_json_type(at(d, "watches")) == VG_JSON_ARRAY);
    CHECK(has(d, "unknown_keywords", "watches"));
    scan_free(&s);

    /* rules.d wins, in name order, *.rules only */
    put(&t, "etc/audit/rules.d/20-b.rules", "-w /etc/b -p wa\n");
    put(&t, "etc/audit/rules.d/10-a.rules", "-w /etc/a -p wa\n");
    put(&t, "etc/audit/rules.d/30-c.rules.disabled", "garbage\n");
    r = collect(&s, &t, "host.audit");
    d = r ? r->doc : NULL;
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_at(d, "rules_source"), "/etc/audit/rules.d");
    CHECK_EQ_INT((long long)vg_json_len(at(d, "rules_files")), 2);
    CHECK_EQ_STR(str_at(d, "watches.[0].path"), "/etc/a");
    CHECK_EQ_STR(str_at(d, "watches.[1].path"), "/etc/b");
    scan_free(&s);

    /* a bad rule line: the rules are unknown, the daemon's settings not */
    put(&t, "etc/audit/rules.d/20-b.rules", "-w /etc/b -p wa\n-w /etc/c -p wq\n");
    r = collect(&s, &t, "host.audit");
    CHECK_EQ_STR(err_of(r, "watches"),
                 "/etc/audit/rules.d/20-b.rules:2: invalid permissions -p \"wq\"");
    CHECK_EQ_STR(err_of(r, "immutable"),
                 "/etc/audit/rules.d/20-b.rules:2: invalid permissions -p \"wq\"");
    CHECK(err_of(r, "max_log_file_action") == NULL);
    scan_free(&s);

    /* a bad auditd.conf line: its keywords are unknown, the rules not */
    put(&t, "etc/audit/rules.d/20-b.rules", "-w /etc/b -p wa\n");
    put(&t, "etc/audit/auditd.conf", "max_log_file_action = keep_logs\nthis line\n");
    r = collect(&s, &t, "host.audit");
    CHECK_EQ_STR(err_of(r, "max_log_file_action"),
                 "/etc/audit/auditd.conf:2: not a \"keyword = value\" line");
    CHECK(at(r ? r->doc : NULL, "max_log_file_action") == NULL);   /* nothing half set */
    CHECK(err_of(r, "watches") == NULL);
    scan_free(&s);

    /* unreadable: a directory where the file should be */
    remove_path(&t, "etc/audit/auditd.conf");
    make_dir(&t, "etc/audit/auditd.conf", 0755);
    make_dir(&t, "etc/audit/rules.d/40-dir.rules", 0755);
    r = collect(&s, &t, "host.audit");
    CHECK_EQ_STR(err_of(r, "disk_full_action"),
                 "cannot read /etc/audit/auditd.conf: is a directory");
    CHECK_EQ_STR(err_of(r, "watches"),
                 "cannot read /etc/audit/rules.d/40-dir.rules: is a directory");
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* nftables                                                            */
/* ------------------------------------------------------------------ */

static enum vg_err nft_text(const struct host_root *hr, const char *text, struct vg_json **doc,
                            char *errbuf, size_t len)
{
    *doc = vg_json_object();
    return host_nft_parse(hr, text, strlen(text), "/etc/nftables.conf", *doc, errbuf, len);
}

/* The chain at index i as "family table name hook priority policy". */
static void chain_str(const struct vg_json *doc, size_t i, char *buf, size_t len)
{
    const struct vg_json *c = vg_json_at(vg_json_get(doc, "chains"), i);
    if (!c) {
        snprintf(buf, len, "<none>");
        return;
    }
    if (!vg_json_get_bool(vg_json_get(c, "base"))) {
        snprintf(buf, len, "%s %s %s rules=%lld", str_at(c, "family"), str_at(c, "table"),
                 str_at(c, "name"), int_at(c, "rules"));
        return;
    }
    snprintf(buf, len, "%s %s %s %s %s %lld %s rules=%lld%s", str_at(c, "family"),
             str_at(c, "table"), str_at(c, "name"), str_at(c, "type"), str_at(c, "hook"),
             int_at(c, "priority"), str_at(c, "policy"), int_at(c, "rules"),
             bool_at(c, "dormant") == 1 ? " dormant" : "");
}

VG_TEST(nft_parsing)
{
    const char *text =
        "#!/usr/sbin/nft -f\n"
        "flush ruleset\n"
        "define pol = drop\n"
        "define ports = { 22, 443 }\n"
        "table inet filter {\n"
        "  set allowed { type ipv4_addr; flags interval\n"
        "    elements = { 10.0.0.0/8,\n 192.168.0.0/16 } }\n"
        "  chain input {\n"
        "    type filter hook input priority filter + 5; policy $pol;\n"
        "    iif lo accept; ct state established accept\n"
        "    tcp dport $ports accept comment \"web and ssh\"\n"
        "    meta l4proto { tcp, \\\n udp } th dport 53 accept\n"
        "  }\n"
        "  chain fwd { type filter hook forward priority -100\n"
        "  }\n"
        "  chain helper {\n"
        "    counter\n"
        "  }\n"
        "}\n"
        "table bridge br { chain pre { type filter hook prerouting priority dstnat; } }\n"
        "table nat4 { chain post { type nat hook postrouting priority srcnat; policy accept; } }\n"
        "add table ip6 t6\n"
        "add chain ip6 t6 in6 { type filter hook input priority 0 ; policy drop ; }\n"
        "add rule ip6 t6 in6 tcp dport 22 accept\n"
        "table netdev nd { flags dormant; chain ing { type filter hook ingress device eth0 "
        "priority -500; policy drop; } }\n"
        "table inet filter { chain fwd { policy drop; } }\n"   /* a later declaration updates */
        "table ip gone { chain input { type filter hook input priority 0; policy drop; } }\n"
        "delete table ip gone\n"
        "destroy table ip never-was\n";
    struct vg_json *doc;
    char errbuf[256] = "", c[256];
    CHECK_EQ_INT(nft_text(NULL, text, &doc, errbuf, sizeof(errbuf)), VG_OK);
    if (errbuf[0])
        fprintf(stderr, "  %s\n", errbuf);
    CHECK_EQ_INT((long long)vg_json_len(at(doc, "chains")), 7);
    chain_str(doc, 0, c, sizeof(c));
    CHECK_EQ_STR(c, "inet filter input filter input 5 drop rules=4");
    chain_str(doc, 1, c, sizeof(c));
    CHECK_EQ_STR(c, "inet filter fwd filter forward -100 drop rules=0");
    chain_str(doc, 2, c, sizeof(c));
    CHECK_EQ_STR(c, "inet filter helper rules=1");
    chain_str(doc, 3, c, sizeof(c));
    CHECK_EQ_STR(c, "bridge br pre filter prerouting -300 accept rules=0");
    chain_str(doc, 4, c, sizeof(c));
    CHECK_EQ_STR(c, "ip nat4 post nat postrouting 100 accept rules=0");
    chain_str(doc, 5, c, sizeof(c));
    CHECK_EQ_STR(c, "ip6 t6 in6 filter input 0 drop rules=0");
    chain_str(doc, 6, c, sizeof(c));
    CHECK_EQ_STR(c, "netdev nd ing filter ingress -500 drop rules=0 dormant");
    CHECK_EQ_STR(str_at(doc, "chains.[0].source"), "/etc/nftables.conf:10");
    CHECK_EQ_INT((long long)vg_json_len(at(doc, "tables")), 5);
    CHECK_EQ_STR(str_at(doc, "files.[0]"), "/etc/nftables.conf");
    vg_json_free(doc);

    /* flush ruleset forgets what came before; flush ruleset FAMILY only that */
    CHECK_EQ_INT(nft_text(NULL,
                          "table ip a { chain c { type filter hook input priority 0; } }\n"
                          "table ip6 b { chain c { type filter hook input priority 0; } }\n"
                          "flush ruleset ip\n",
                          &doc, errbuf, sizeof(errbuf)),
                 VG_OK);
    CHECK_EQ_INT((long long)vg_json_len(at(doc, "chains")), 1);
    CHECK_EQ_STR(str_at(doc, "chains.[0].family"), "ip6");
    vg_json_free(doc);
    CHECK_EQ_INT(nft_text(NULL, "table ip a { chain c { type filter hook input priority 0; } }\n"
                                "flush ruleset;\n",
                          &doc, errbuf, sizeof(errbuf)),
                 VG_OK);
    CHECK_EQ_INT((long long)vg_json_len(at(doc, "chains")), 0);
    vg_json_free(doc);
}

VG_TEST(nft_malformed_is_an_error)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "table inet filter {\n chain input {\n", "/etc/nftables.conf:3: chain input is not closed" },
        { "table inet filter {\n", "/etc/nftables.conf:2: table filter is not closed" },
        { "}\n", "/etc/nftables.conf:1: unexpected \"}\"" },
        { "table inet t { chain c { type filter hook input priority 0; policy maybe; } }\n",
          "/etc/nftables.conf:1: unknown policy \"maybe\"" },
        { "table inet t { chain c { type filter hook inbound priority 0; } }\n",
          "/etc/nftables.conf:1: unknown hook \"inbound\"" },
        { "table inet t { chain c { type filter hook input; } }\n",
          "/etc/nftables.conf:1: expected priority in the chain's type statement" },
        { "table inet t { chain c { type filter hook input priority sideways; } }\n",
          "/etc/nftables.conf:1: unknown priority \"sideways\" for family inet" },
        { "table bridge t { chain c { type filter hook input priority mangle; } }\n",
          "/etc/nftables.conf:1: unknown priority \"mangle\" for family bridge" },
        { "table inet t { chain c { type filter hook input priority 0; policy $nope; } }\n",
          "/etc/nftables.conf:1: undefined variable $nope" },
        { "define p = { drop }\ntable inet t { chain c { type filter hook input priority 0; "
          "policy $p; } }\n",
          "/etc/nftables.conf:2: variable $p is not a single word" },
        { "chain inet t c { type filter hook input priority 0; }\n",
          "/etc/nftables.conf:1: chain c in table inet t, which is not declared" },
        { "table inet t { frobnicate }\n",
          "/etc/nftables.conf:1: unknown statement \"frobnicate\" in table t" },
        { "iptables -A INPUT -j DROP\n", "/etc/nftables.conf:1: unknown statement \"iptables\"" },
        { "table inet t { chain c { comment \"unterminated } }\n",
          "/etc/nftables.conf:1: unterminated string" },
        { "include \"nftables.d/*.nft\"\n", "/etc/nftables.conf:1: include is not followed here" },
        { "include nftables.d/x.nft\n", "/etc/nftables.conf:1: include needs a quoted file name" },
        { "table inet t { chain c { type filter hook input priority 0; } } extra\n",
          "/etc/nftables.conf:1: unexpected \"extra\" after the table" },
        { "delete table inet missing\n",
          "/etc/nftables.conf:1: delete of table inet missing, which does not exist" },
        { "delete chain inet t handle 4\n",
          "/etc/nftables.conf:1: delete chain by handle is not supported" },
        { "table inet t { chain c { tcp dport { 22 accept\n}\n",
          "/etc/nftables.conf:3: chain c is not closed" },
        { "table inet t { chain c { tcp dport { 22 accept\n", "/etc/nftables.conf:2: unclosed {" },
        { "table $t { }\n", "/etc/nftables.conf:1: a variable as a name is not supported" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vg_json *doc;
        char errbuf[256] = "";
        CHECK_EQ_INT(nft_text(NULL, cases[i].text, &doc, errbuf, sizeof(errbuf)), VG_ERR_PARSE);
        CHECK_EQ_STR(errbuf, cases[i].want);
        vg_json_free(doc);
    }
    /* a NUL byte */
    const char t[] = "table inet t {\0}\n";
    struct vg_json *doc = vg_json_object();
    char errbuf[256];
    CHECK_EQ_INT(host_nft_parse(NULL, t, sizeof(t) - 1, "/x.conf", doc, errbuf, sizeof(errbuf)),
                 VG_ERR_PARSE);
    CHECK_EQ_STR(errbuf, "/x.conf:1: a NUL byte");
    vg_json_free(doc);
}

VG_TEST(nft_collector_and_includes)
{
    struct tree t;
    tree_new(&t);
    struct scan s;
    /* no configuration: no chains (the rules fail, they are not unknown) */
    const struct vg_resource *r = collect(&s, &t, "host.firewall");
    CHECK(r && r->errors == NULL);
    CHECK_EQ_INT(bool_at(r ? r->doc : NULL, "nftables.exists"), 0);
    CHECK_EQ_INT((long long)vg_json_len(at(r ? r->doc : NULL, "nftables.chains")), 0);
    scan_free(&s);

    put(&t, "etc/nftables.conf",
        "flush ruleset\n"
        "include \"nftables.d/*.nft\"\n"
        "include \"/etc/extra/policy.nft\"\n");
    put(&t, "etc/nftables.d/20-b.nft", "add chain inet filter input { policy drop; }\n");
    put(&t, "etc/nftables.d/10-a.nft",
        "table inet filter { chain input { type filter hook input priority 0; } }\n");
    put(&t, "etc/nftables.d/10-a.nft.dpkg-old", "garbage\n");
    put(&t, "etc/extra/policy.nft", "include \"extra/inner.nft\"\n");
    put(&t, "etc/extra/inner.nft", "table ip x { }\n");
    r = collect(&s, &t, "host.firewall");
    const struct vg_json *d = r ? r->doc : NULL;
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_at(d, "nftables.chains.[0].policy"), "drop");
    CHECK_EQ_STR(str_at(d, "nftables.chains.[0].source"), "/etc/nftables.d/10-a.nft:1");
    CHECK_EQ_INT((long long)vg_json_len(at(d, "nftables.files")), 5);
    CHECK_EQ_STR(str_at(d, "nftables.files.[1]"), "/etc/nftables.d/10-a.nft");
    CHECK_EQ_STR(str_at(d, "nftables.files.[4]"), "/etc/extra/inner.nft");
    scan_free(&s);

    /* a missing plain include, a loop, an error in an included file */
    put(&t, "etc/extra/inner.nft", "include \"missing.nft\"\n");
    r = collect(&s, &t, "host.firewall");
    CHECK_EQ_STR(err_of(r, "nftables"),
                 "/etc/extra/inner.nft:1: cannot read /etc/missing.nft: no such file or directory");
    scan_free(&s);
    put(&t, "etc/extra/inner.nft", "include \"extra/policy.nft\"\n");
    r = collect(&s, &t, "host.firewall");
    CHECK_EQ_STR(err_of(r, "nftables"),
                 "/etc/extra/inner.nft:1: include loop: /etc/extra/policy.nft is already being read");
    scan_free(&s);
    put(&t, "etc/extra/inner.nft", "table ip x {\n  chain y { policy drop }\n  bogus\n}\n");
    r = collect(&s, &t, "host.firewall");
    CHECK_EQ_STR(err_of(r, "nftables"),
                 "/etc/extra/inner.nft:3: unknown statement \"bogus\" in table x");
    scan_free(&s);

    /* unreadable configuration */
    remove_path(&t, "etc/nftables.conf");
    make_dir(&t, "etc/nftables.conf", 0755);
    r = collect(&s, &t, "host.firewall");
    CHECK_EQ_STR(err_of(r, "nftables"), "cannot read /etc/nftables.conf: is a directory");
    scan_free(&s);
    tree_free(&t);
}

/* ------------------------------------------------------------------ */
/* cron                                                                */
/* ------------------------------------------------------------------ */

VG_TEST(cron_modes_and_owners)
{
    struct tree t;
    tree_new(&t);
    put(&t, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    put(&t, "etc/group", "root:x:0:\ndaemon:x:1:\n");
    put(&t, "etc/crontab", "# crontab\n");
    chmod_path(&t, "etc/crontab", 0600);
    make_dir(&t, "etc/cron.daily", 0700);
    put(&t, "etc/at.allow", "root\n");
    chmod_path(&t, "etc/at.allow", 0640);
    link_to(&t, "etc/cron.allow", "/etc/cron-lists/allow");   /* followed, inside the root */
    put(&t, "etc/cron-lists/allow", "root\n");
    chmod_path(&t, "etc/cron-lists/allow", 0604);
    put(&t, "usr", "a file where a directory should be\n");   /* usr/sbin/cron: ENOTDIR */
    struct scan s;
    const struct vg_resource *r = collect(&s, &t, "host.cron");
    const struct vg_json *d = r ? r->doc : NULL;
    CHECK(r && r->errors == NULL);
    CHECK_EQ_STR(str_at(d, "crontab.path"), "/etc/crontab");
    CHECK_EQ_INT(bool_at(d, "crontab.exists"), 1);
    CHECK_EQ_STR(str_at(d, "crontab.mode"), "0600");
    CHECK_EQ_STR(str_at(d, "crontab.file_type"), "file");
    CHECK_EQ_STR(str_at(d, "cron_daily.mode"), "0700");
    CHECK_EQ_STR(str_at(d, "cron_daily.file_type"), "directory");
    CHECK_EQ_INT(bool_at(d, "cron_hourly.exists"), 0);
    CHECK(at(d, "cron_hourly.mode") == NULL);
    CHECK_EQ_STR(str_at(d, "cron_allow.mode"), "0604");
    CHECK_EQ_INT(bool_at(d, "cron_daemon.exists"), 0);
    CHECK_EQ_INT(int_at(d, "at_allow.uid"), (long long)geteuid());
    if (root_user()) {
        CHECK_EQ_STR(str_at(d, "crontab.owner"), "root");
        CHECK_EQ_STR(str_at(d, "crontab.group"), "root");
    }
    scan_free(&s);

    /* a loop is an error of that file alone */
    link_to(&t, "etc/cron.deny", "cron.deny");
    r = collect(&s, &t, "host.cron");
    CHECK_EQ_STR(err_of(r, "cron_deny"), "cannot stat /etc/cron.deny: too many levels of symbolic links");
    CHECK(err_of(r, "crontab") == NULL);
    scan_free(&s);
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

/* Rules whose compliant result depends on owners (root only). */
static bool owner_rule(const char *id)
{
    return strncmp(id, "host.cron.", 10) == 0;
}

static void eval_all(const struct scan *s, const struct vg_ruleset *rs, enum vg_eval want,
                     const char *tree, size_t *count)
{
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
            (*count)++;
            if (er.evaluation != want)
                fprintf(stderr, "  %s on %s: %s (%s), expected %s\n", rule->id, tree,
                        vg_eval_name(er.evaluation), er.reason, vg_eval_name(want));
            CHECK_EQ_INT(er.evaluation, want);
            vg_eval_result_clear(&er);
        }
        if (!matched)
            fprintf(stderr, "  rule %s matches no resource of %s\n", rule->id, tree);
        CHECK(matched);
    }
}

VG_TEST(fixtures_and_rules)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/vg-hsvc-fx-XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char good[128], bad[128];
    snprintf(good, sizeof(good), "%s/compliant", dir);
    snprintf(bad, sizeof(bad), "%s/violating", dir);
    struct vg_ruleset *rs = vg_ruleset_new();
    if (!prepare("host-compliant", good) || !prepare("host-violating", bad) || !rs)
        goto out;
    if (!root_user())
        fprintf(stderr, "  note: not root: cron rules are checked on the violating tree only\n");

    char path[1200], errbuf[512];
    snprintf(path, sizeof(path), "%s/checks/rules/host-services.yml", source_dir());
    enum vg_err err = vg_ruleset_load_path(rs, path, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(err, VG_OK);
    if (err) {
        fprintf(stderr, "  %s\n", errbuf);
        goto out;
    }
    CHECK(vg_ruleset_count(rs) >= 25);

    struct scan s;
    size_t n = 0;
    scan_root(&s, good);
    CHECK_EQ_INT(s.err, VG_OK);
    const struct vg_resource *r = find(&s, "host.services");
    CHECK_EQ_STR(str_at(r ? r->doc : NULL, "default_target"), "multi-user.target");
    /* a dotted name: a key, but no path reaches it */
    CHECK(str_at(r ? r->doc : NULL, "services.dbus-org.freedesktop.timesync1.alias_of") == NULL);
    CHECK(vg_json_get(vg_json_get(r ? r->doc : NULL, "services"),
                      "dbus-org.freedesktop.timesync1") != NULL);
    r = find(&s, "host.packages");
    CHECK_EQ_STR(str_at(r ? r->doc : NULL, "installed.libc6.architectures.[1]"), "i386");
    r = find(&s, "host.firewall");
    CHECK_EQ_INT((long long)vg_json_len(at(r ? r->doc : NULL, "nftables.files")), 2);
    eval_all(&s, rs, VG_EVAL_PASSED, "host-compliant", &n);
    scan_free(&s);

    scan_root(&s, bad);
    CHECK_EQ_INT(s.err, VG_OK);
    eval_all(&s, rs, VG_EVAL_FAILED, "host-violating", &n);
    scan_free(&s);
    /* both trees, every rule; the cron rules only once without root */
    size_t owner_rules = 0;
    for (size_t i = 0; i < vg_ruleset_count(rs); i++)
        owner_rules += owner_rule(vg_ruleset_at(rs, i)->id);
    CHECK_EQ_INT((long long)n,
                 (long long)(2 * vg_ruleset_count(rs) - (root_user() ? 0 : owner_rules)));

    /* unreadable inputs make the rules that read them unknown, never passed */
    char cmd[1200];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && rm -rf var/lib/dpkg/status etc/nftables.conf etc/audit/auditd.conf "
             "etc/audit/rules.d/50-scope.rules && mkdir var/lib/dpkg/status etc/nftables.conf "
             "etc/audit/auditd.conf etc/audit/rules.d/50-scope.rules && "
             "rm -f usr/lib/systemd/system/multi-user.target && "
             "mkdir usr/lib/systemd/system/multi-user.target.wants && "
             "ln -s /etc/cron.allow etc/cron.allow.tmp && rm etc/cron.allow && "
             "mv etc/cron.allow.tmp etc/cron.allow",
             good);
    CHECK_EQ_INT(system(cmd), 0);
    scan_root(&s, good);
    CHECK_EQ_INT(s.err, VG_OK);
    for (size_t i = 0; i < vg_ruleset_count(rs); i++) {
        const struct vg_rule *rule = vg_ruleset_at(rs, i);
        const struct vg_resource *res = find(&s, rule->resource);
        struct vg_eval_result er;
        memset(&er, 0, sizeof(er));
        CHECK_EQ_INT(vg_rule_eval(rule, res, &er), VG_OK);
        /* every rule whose input was broken is unknown; the others may
         * still pass, but nothing that read a broken input passes */
        bool broken = strncmp(rule->id, "host.packages.", 14) == 0 ||
                      strncmp(rule->id, "host.firewall.", 14) == 0 ||
                      strcmp(rule->id, "host.audit.sudoers_watched") == 0 ||
                      strcmp(rule->id, "host.audit.logs_kept") == 0 ||
                      strcmp(rule->id, "host.cron.crontab_restricted") == 0;
        if (broken) {
            if (er.evaluation != VG_EVAL_UNKNOWN)
                fprintf(stderr, "  %s on broken tree: %s (%s)\n", rule->id,
                        vg_eval_name(er.evaluation), er.reason);
            CHECK_EQ_INT(er.evaluation, VG_EVAL_UNKNOWN);
            CHECK(er.reason[0] != '\0');
        }
        /* multi-user.target is gone: what it pulled in no longer starts */
        if (strcmp(rule->id, "host.services.auditd_enabled") == 0)
            CHECK_EQ_INT(er.evaluation, VG_EVAL_FAILED);
        vg_eval_result_clear(&er);
    }
    scan_free(&s);
out:
    vg_ruleset_destroy(rs);
    struct tree t;
    memset(&t, 0, sizeof(t));
    snprintf(t.base, sizeof(t.base), "%s", dir);
    tree_free(&t);
}

VG_TEST_MAIN()
