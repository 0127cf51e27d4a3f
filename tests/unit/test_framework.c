/* Framework catalogues: loading, lookups, malformed files, and the shipped
 * catalogues themselves. */
#include "vgtest.h"

#include "checks/framework.h"

#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/vgtest-fw-XXXXXX";

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void load_err(const char *text, const char *expect)
{
    write_file("x.yml", text);
    char path[256], err[512] = "";
    snprintf(path, sizeof(path), "%s/x.yml", dir);
    struct vg_catalog *c = vg_catalog_new();
    CHECK(vg_catalog_load_path(c, path, err, sizeof(err)) != VG_OK);
    CHECK_CONTAINS(err, expect);
    CHECK_EQ_INT(vg_catalog_count(c), 0);
    vg_catalog_destroy(c);
}

VG_TEST(load_and_lookup)
{
    CHECK(mkdtemp(dir) != NULL);
    write_file("a.yml", "id: fw\nname: A framework\nversion: \"1\"\ncontrols:\n"
                        "  - {id: B-2, title: Second, group: G}\n"
                        "  - {id: A-1, title: First}\n"
                        "  - {id: C-10, title: Tenth, group: G}\n");
    char path[256], err[512];
    snprintf(path, sizeof(path), "%s/a.yml", dir);
    struct vg_catalog *c = vg_catalog_new();
    CHECK_EQ_INT(vg_catalog_load_path(c, path, err, sizeof(err)), VG_OK);
    const struct vg_framework *f = vg_catalog_find(c, "fw");
    CHECK(f != NULL);
    if (!f) {
        vg_catalog_destroy(c);
        return;
    }
    CHECK_EQ_STR(f->name, "A framework");
    CHECK_EQ_INT(f->n, 3);
    CHECK_EQ_STR(f->controls[0].id, "B-2");   /* file order kept */
    CHECK_EQ_STR(vg_framework_control(f, "A-1")->title, "First");
    CHECK_EQ_STR(vg_framework_control(f, "A-1")->group, "");
    CHECK_EQ_STR(vg_framework_control(f, "C-10")->title, "Tenth");
    CHECK(vg_framework_control(f, "C-1") == NULL);
    CHECK(vg_catalog_find(c, "other") == NULL);
    /* the same framework twice is an error */
    CHECK(vg_catalog_load_path(c, path, err, sizeof(err)) != VG_OK);
    CHECK_CONTAINS(err, "framework 'fw' is already defined");
    vg_catalog_destroy(c);
    unlink(path);
}

VG_TEST(malformed_catalogues)
{
    load_err("id: fw\nname: n\ncontrols:\n  - {id: A-1, title: t}\n  - {id: A-1, title: u}\n",
             "x.yml:5:5: duplicate control 'A-1'");
    load_err("id: fw\nname: n\ncontrols:\n  - {id: A-1}\n", "x.yml:4:5: 'title' is required");
    load_err("id: fw\nname: n\ncontrols:\n  - {id: A-1, title: t, url: x}\n",
             "x.yml:4:25: unknown key 'url'");
    load_err("id: fw\nname: n\ncontrols: []\n", "x.yml:3:11: 'controls' must be a non-empty list");
    load_err("name: n\ncontrols:\n  - {id: A-1, title: t}\n", "x.yml:1:1: 'id' is required");
    load_err("- a\n", "x.yml:1:1: a catalogue is a mapping");
    load_err("id: [x]\nname: n\n", "x.yml:1:5: 'id' must be a scalar");
    char err[256];
    struct vg_catalog *c = vg_catalog_new();
    CHECK_EQ_INT(vg_catalog_load_path(c, "/nonexistent/fw", err, sizeof(err)), VG_ERR_NOENT);
    vg_catalog_destroy(c);
    char path[256];
    snprintf(path, sizeof(path), "%s/x.yml", dir);
    unlink(path);
    rmdir(dir);
}

/* The shipped catalogues: every framework Vigil knows, with the counts the
 * publications give, and ids in each framework's own form. */
VG_TEST(shipped_catalogues)
{
    const char *src = getenv("VG_SOURCE_DIR");
    CHECK(src != NULL);
    if (!src)
        return;
    char path[1024], err[512];
    snprintf(path, sizeof(path), "%s/checks/frameworks", src);
    struct vg_catalog *c = vg_catalog_new();
    CHECK_EQ_INT(vg_catalog_load_path(c, path, err, sizeof(err)), VG_OK);
    struct {
        const char *id;
        size_t min;
        const char *sample, *title;
    } want[] = {
        { "soc2", 61, "CC6.1", NULL },
        { "iso27001_2022", 93, "A.8.24", "Use of cryptography" },
        { "nist_800_53_r5", 290, "SC-28", "Protection of Information at Rest" },
        { "nist_csf_2.0", 106, "PR.AA-01", NULL },
        { "pci_dss_4.0", 12, "3.5.1", NULL },
        { "cis_debian_12", 30, "5.1.20", NULL },
        { "cis_aws_3.0", 50, "2.1.4", NULL },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct vg_framework *f = vg_catalog_find(c, want[i].id);
        CHECK(f != NULL);
        if (!f) {
            fprintf(stderr, "  missing framework %s (%s)\n", want[i].id, err);
            continue;
        }
        CHECK(f->n >= want[i].min);
        const struct vg_control *ctl = vg_framework_control(f, want[i].sample);
        CHECK(ctl != NULL);
        if (ctl && want[i].title)
            CHECK_EQ_STR(ctl->title, want[i].title);
    }
    const struct vg_framework *iso = vg_catalog_find(c, "iso27001_2022");
    CHECK(iso && iso->n == 93);
    const struct vg_framework *csf = vg_catalog_find(c, "nist_csf_2.0");
    CHECK(csf && csf->n == 106);
    /* CSF 1.1 ids are not CSF 2.0 */
    CHECK(vg_framework_control(csf, "PR.AC-1") == NULL);
    CHECK(vg_framework_control(csf, "PR.IP-1") == NULL);
    vg_catalog_destroy(c);
}

VG_TEST_MAIN()
