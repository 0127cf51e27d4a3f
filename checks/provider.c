#include "provider.h"

#include <stdlib.h>
#include <string.h>

static const struct vg_provider_type *const providers[] = {
    &vg_provider_host,
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
    memset(t, 0, sizeof(*t));
}
