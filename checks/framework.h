/*
 * Framework catalogues: every control of a framework with its title
 * (checks/frameworks/NAME.yml), so that a rule mapping to a control that does
 * not exist is a load error and a gap report can show the controls no rule
 * covers.
 *
 * A catalogue file:
 *   id: soc2
 *   name: SOC 2 Trust Services Criteria
 *   version: "2017 (revised points of focus, 2022)"
 *   controls:
 *     - {id: CC6.1, title: "...", group: CC6 Logical and Physical Access Controls}
 */
#ifndef VG_FRAMEWORK_H
#define VG_FRAMEWORK_H

#include "../agent/err.h"

#include <stddef.h>

struct vg_control {
    char *id;       /* as the framework writes it: "CC6.1", "A.8.24", "PR.AA-01" */
    char *title;
    char *group;    /* "" when none */
};

struct vg_framework {
    char *id;       /* "soc2" */
    char *name;
    char *version;
    char *file;     /* where it was loaded from */
    struct vg_control *controls;   /* in the file's order */
    size_t n;
    size_t *sorted; /* indexes of controls sorted by id, for lookups */
};

struct vg_catalog;

/* An empty catalogue set; caller frees with vg_catalog_destroy(). */
struct vg_catalog *vg_catalog_new(void);
void vg_catalog_destroy(struct vg_catalog *c);

/* Loads a catalogue file, or every *.yml of a directory (in name order).
 * VG_ERR_CONFIG with "FILE:LINE:COL: message" for a malformed catalogue
 * (unknown key, missing id or title, duplicate control or framework id),
 * VG_ERR_NOENT / VG_ERR_IO with "PATH: message" when unreadable. Nothing
 * of a failing path is added. */
enum vg_err vg_catalog_load_path(struct vg_catalog *c, const char *path, char *errbuf,
                                 size_t errlen);

size_t vg_catalog_count(const struct vg_catalog *c);
/* Borrowed, valid until the set is destroyed; in load order. */
const struct vg_framework *vg_catalog_at(const struct vg_catalog *c, size_t i);
const struct vg_framework *vg_catalog_find(const struct vg_catalog *c, const char *id);

/* The control with this id, or NULL. O(log n). */
const struct vg_control *vg_framework_control(const struct vg_framework *f, const char *id);

#endif
