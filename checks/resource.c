#include "resource.h"

#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

struct vg_resource *vg_resource_new(const char *type, const char *id, const char *name,
                                    const char *ecs_type, const char *sub_type)
{
    struct vg_resource *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->type = dup_or_null(type);
    r->id = dup_or_null(id);
    r->name = dup_or_null(name);
    r->ecs_type = dup_or_null(ecs_type);
    r->sub_type = dup_or_null(sub_type);
    r->doc = vg_json_object();
    if (!r->type || !r->id || !r->name || !r->doc || (ecs_type && !r->ecs_type) ||
        (sub_type && !r->sub_type)) {
        vg_resource_destroy(r);
        return NULL;
    }
    return r;
}

void vg_resource_destroy(struct vg_resource *r)
{
    if (!r)
        return;
    free(r->type);
    free(r->id);
    free(r->name);
    free(r->ecs_type);
    free(r->sub_type);
    free(r->region);
    free(r->account);
    free(r->service);
    vg_json_free(r->tags);
    vg_json_free(r->doc);
    vg_json_free(r->errors);
    vg_json_free(r->sources);
    free(r);
}

static enum vg_err set_in(struct vg_json **obj, const char *key, const char *value)
{
    if (!*obj) {
        *obj = vg_json_object();
        if (!*obj)
            return VG_ERR_NOMEM;
    }
    return vg_json_set_str(*obj, key, value);
}

enum vg_err vg_resource_set_error(struct vg_resource *r, const char *field, const char *reason)
{
    return set_in(&r->errors, field, reason);
}

enum vg_err vg_resource_set_source(struct vg_resource *r, const char *field, const char *where)
{
    return set_in(&r->sources, field, where);
}

const char *vg_resource_error(const struct vg_resource *r, const char *field)
{
    if (!r->errors)
        return NULL;
    const char *all = vg_json_get_str(vg_json_get(r->errors, "*"));
    if (all)
        return all;
    return field ? vg_json_get_str(vg_json_get(r->errors, field)) : NULL;
}

void vg_resource_list_init(struct vg_resource_list *l)
{
    l->items = NULL;
    l->n = l->cap = 0;
}

enum vg_err vg_resource_list_add(struct vg_resource_list *l, struct vg_resource *r)
{
    if (!r)
        return VG_ERR_NOMEM;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        struct vg_resource **p = realloc(l->items, ncap * sizeof(*p));
        if (!p) {
            vg_resource_destroy(r);
            return VG_ERR_NOMEM;
        }
        l->items = p;
        l->cap = ncap;
    }
    l->items[l->n++] = r;
    return VG_OK;
}

void vg_resource_list_free(struct vg_resource_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        vg_resource_destroy(l->items[i]);
    free(l->items);
    vg_resource_list_init(l);
}
