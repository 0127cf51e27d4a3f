#include "provider.h"

#include <stdlib.h>
#include <string.h>

static const struct vg_provider_type *const providers[] = {
    &vg_provider_host,
    &vg_provider_demo,
    &vg_provider_aws,
};

const struct vg_provider_type *vg_provider_find(const char *name)
{
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
        if (name && strcmp(providers[i]->name, name) == 0)
            return providers[i];
    return NULL;
}

void vg_target_info_clear(struct vg_target_info *t)
{
    free(t->host_name);
    free(t->host_id);
    free(t->os_family);
    free(t->os_name);
    free(t->os_version);
    free(t->os_platform);
    free(t->cloud_account_id);
    free(t->cloud_account_name);
    memset(t, 0, sizeof(*t));
}

enum vg_err vg_provider_stream(const struct vg_provider_type *p, const struct vg_scan_params *sp,
                               vg_resource_sink_fn *sink, void *opaque,
                               struct vg_target_info *info, struct vg_json *scan_errors,
                               char *errbuf, size_t errlen)
{
    if (p->stream)
        return p->stream(sp, sink, opaque, info, scan_errors, errbuf, errlen);
    struct vg_resource_list l;
    vg_resource_list_init(&l);
    enum vg_err err = p->collect(sp, &l, info, scan_errors, errbuf, errlen);
    for (size_t i = 0; i < l.n; i++) {
        struct vg_resource *r = l.items[i];
        l.items[i] = NULL;
        if (!err)
            err = sink(r, opaque);
        else
            vg_resource_destroy(r);
    }
    vg_resource_list_free(&l);
    return err;
}
