/*
 * A resource: one thing that can pass or fail (a host's sshd effective
 * configuration, a file, the local accounts; later an S3 bucket). A
 * provider collects resources; the rule engine evaluates every rule whose
 * `resource:` equals the resource's type.
 */
#ifndef VG_RESOURCE_H
#define VG_RESOURCE_H

#include "../agent/err.h"
#include "../agent/json.h"

#include <stddef.h>

struct vg_resource {
    char *type;         /* rule selector, e.g. "host.sshd"; owned */
    char *id;           /* resource.id: stable across scans; owned */
    char *name;         /* resource.name; owned */
    char *ecs_type;     /* resource.type, e.g. "configuration", "file"; owned */
    char *sub_type;     /* resource.sub_type, e.g. "linux-sshd"; owned */
    char *region;       /* cloud region or NULL; owned */
    char *account;      /* cloud account id or NULL; owned */
    char *service;      /* cloud.service.name ("s3", "iam") or NULL; owned */
    /* Object: the resource's tags, tag key -> string value (exceptions
     * match on them). Owned, may be NULL. */
    struct vg_json *tags;
    struct vg_json *doc;      /* the document rules read (an object); owned */
    /* Object: top-level field of doc -> one-line reason why that field could
     * not be read ("cannot read /etc/shadow: permission denied"). The key
     * "*" covers the whole resource. A rule that reads an errored field
     * evaluates to unknown with that reason. NULL when nothing failed. */
    struct vg_json *errors;   /* owned, may be NULL */
    /* Object: top-level field of doc -> where its value came from
     * ("/etc/ssh/sshd_config.d/10-x.conf:3", or "default"), quoted in
     * failure reasons. NULL when the provider does not track it. */
    struct vg_json *sources;  /* owned, may be NULL */
};

/* A new resource with copies of the strings and an empty object as doc.
 * Caller frees with vg_resource_destroy(). NULL when out of memory. */
struct vg_resource *vg_resource_new(const char *type, const char *id, const char *name,
                                    const char *ecs_type, const char *sub_type);
void vg_resource_destroy(struct vg_resource *r);

/* Records that top-level field `field` of the resource could not be read. */
enum vg_err vg_resource_set_error(struct vg_resource *r, const char *field, const char *reason);
/* Records where top-level field `field` came from. */
enum vg_err vg_resource_set_source(struct vg_resource *r, const char *field, const char *where);

/* The reason field `field` (or the whole resource) could not be read, or
 * NULL; borrowed. */
const char *vg_resource_error(const struct vg_resource *r, const char *field);

struct vg_resource_list {
    struct vg_resource **items;   /* owned */
    size_t n, cap;
};

void vg_resource_list_init(struct vg_resource_list *l);
/* Takes ownership of r in every case (destroys it on failure). */
enum vg_err vg_resource_list_add(struct vg_resource_list *l, struct vg_resource *r);
void vg_resource_list_free(struct vg_resource_list *l);

#endif
