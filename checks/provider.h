/*
 * Providers collect resources. Each is a table of functions registered
 * once in checks/provider.c (nginx's ngx_modules[] habit).
 */
#ifndef VG_PROVIDER_H
#define VG_PROVIDER_H

#include "../agent/err.h"
#include "resource.h"

#include <stddef.h>
#include <stdint.h>

struct vg_config_scan;

/* What a provider learned about the scanned target, for ECS host.* or
 * cloud.* fields. Strings owned; free with vg_target_info_clear(). */
struct vg_target_info {
    char *host_name;      /* host.name */
    char *host_id;        /* host.id (machine-id) */
    char *os_family;      /* host.os.family, "debian" */
    char *os_name;        /* host.os.name, "Debian GNU/Linux" */
    char *os_version;     /* host.os.version, "12" */
    char *os_platform;    /* host.os.platform, the os-release ID */
    char *cloud_account_id;   /* cloud.account.id (aws: the scanned account) */
    char *cloud_account_name; /* cloud.account.name (aws: the account alias, else NULL) */
};

void vg_target_info_clear(struct vg_target_info *t);

/* One scan's parameters, from the configuration or the command line. */
struct vg_scan_params {
    const char *provider;     /* "host", "demo" */
    const char *root;         /* host: the root directory ("/") */
    int64_t resources;        /* demo: how many synthetic resources */
    /* The configuration's scan entry (aws: regions, profile, endpoint_url,
     * accounts, max_in_flight, global_region); borrowed, NULL when the
     * scan comes from the command line. */
    const struct vg_config_scan *config;
    /* rules.params (an object), borrowed; may be NULL. */
    const struct vg_json *rule_params;
};

/* Receives one resource; takes ownership of r in every case. A non-zero
 * return stops the collection and is returned by the provider. */
typedef enum vg_err (vg_resource_sink_fn)(struct vg_resource *r, void *opaque);

struct vg_provider_type {
    const char *name;
    /* Collects every resource of the target into out and the facts about
     * it into info. A resource that cannot be read in part is still added,
     * with its errors set. A non-zero return means the target as a whole
     * could not be scanned, with a one-line sentence in errbuf (a host root
     * that does not exist, credentials refused). Collection-level problems
     * that leave the scan going are appended to scan_errors (an array of
     * strings, borrowed). */
    enum vg_err (*collect)(const struct vg_scan_params *p, struct vg_resource_list *out,
                           struct vg_target_info *info, struct vg_json *scan_errors,
                           char *errbuf, size_t errlen);
    /* Optional: the same, handing each resource to sink as soon as it is
     * made, so a scan of a million resources never holds them all. The
     * default (vg_provider_stream) collects the list and hands it over. */
    enum vg_err (*stream)(const struct vg_scan_params *p, vg_resource_sink_fn *sink,
                          void *opaque, struct vg_target_info *info,
                          struct vg_json *scan_errors, char *errbuf, size_t errlen);
};

/* The provider called name, or NULL. */
const struct vg_provider_type *vg_provider_find(const char *name);

/* Runs provider p, handing every resource to sink (p->stream, or
 * p->collect and then each item of the list). */
enum vg_err vg_provider_stream(const struct vg_provider_type *p, const struct vg_scan_params *sp,
                               vg_resource_sink_fn *sink, void *opaque,
                               struct vg_target_info *info, struct vg_json *scan_errors,
                               char *errbuf, size_t errlen);

extern const struct vg_provider_type vg_provider_host;
/* Deterministic synthetic resources, to push any volume of findings
 * through the pipeline (as Fluent Bit's dummy input); see checks/demo.c. */
extern const struct vg_provider_type vg_provider_demo;
/* AWS accounts through their APIs; see checks/aws/provider.c. */
extern const struct vg_provider_type vg_provider_aws;

#endif
