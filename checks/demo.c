/*
 * The demo provider: deterministic synthetic resources, so that anyone can
 * push any volume of findings through the pipeline (Fluent Bit's `dummy`
 * input, Vector's `demo_logs`). Resource n always has the same document,
 * so two demo scans of N resources produce the same findings but for the
 * scan id. Its rules live apart, in rules/demo/, and are loaded only when
 * a demo scan is configured.
 *
 *   scans:
 *     - provider: demo
 *       resources: 250000      # 4 rules each: a million findings
 */
#include "provider.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: a fixed, well-mixed function of n */
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static const char *const regions[] = { "us-east-1", "eu-west-1", "ap-southeast-2",
                                       "eu-central-1" };

static struct vg_resource *make_resource(int64_t n)
{
    char id[64], name[48], created[32];
    uint64_t h = mix((uint64_t)n);
    snprintf(name, sizeof(name), "demo-bucket-%07" PRId64, n);
    snprintf(id, sizeof(id), "demo://bucket/%s", name);
    struct vg_resource *r = vg_resource_new("demo.bucket", id, name, "cloud-storage",
                                            "demo-bucket");
    if (!r)
        return NULL;
    r->region = strdup(regions[h % 4]);
    /* roughly: 80% encrypted, 90% private, 70% versioned, 85% closed ssh */
    snprintf(created, sizeof(created), "2026-%02u-%02uT00:00:00Z", (unsigned)(h >> 8) % 12 + 1,
             (unsigned)(h >> 16) % 28 + 1);
    enum vg_err err = VG_OK;
    err |= vg_json_set_str(r->doc, "Name", name);
    err |= vg_json_set_str(r->doc, "CreationDate", created);
    err |= vg_json_set_bool(r->doc, "Encrypted", (h >> 20) % 10 < 8);
    err |= vg_json_set_bool(r->doc, "PublicAccessBlocked", (h >> 24) % 10 < 9);
    err |= vg_json_set_str(r->doc, "Versioning", (h >> 28) % 10 < 7 ? "Enabled" : "Suspended");
    struct vg_json *ports = vg_json_array();
    err |= vg_json_push(ports, vg_json_int(443));
    if ((h >> 32) % 100 >= 85)
        err |= vg_json_push(ports, vg_json_int(22));
    err |= vg_json_set(r->doc, "OpenPorts", ports);
    if (err || !r->region) {
        vg_resource_destroy(r);
        return NULL;
    }
    return r;
}

static enum vg_err demo_stream(const struct vg_scan_params *p, vg_resource_sink_fn *sink,
                               void *opaque, struct vg_target_info *info,
                               struct vg_json *scan_errors, char *errbuf, size_t errlen)
{
    (void)scan_errors;
    if (p->resources < 0) {
        snprintf(errbuf, errlen, "demo: resources must be 0 or more");
        return VG_ERR_INVALID;
    }
    info->host_name = strdup("demo");
    if (!info->host_name) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    for (int64_t n = 0; n < p->resources; n++) {
        struct vg_resource *r = make_resource(n);
        if (!r) {
            snprintf(errbuf, errlen, "out of memory making demo resource %" PRId64, n);
            return VG_ERR_NOMEM;
        }
        enum vg_err err = sink(r, opaque);
        if (err)
            return err;
    }
    return VG_OK;
}

static enum vg_err demo_collect(const struct vg_scan_params *p, struct vg_resource_list *out,
                                struct vg_target_info *info, struct vg_json *scan_errors,
                                char *errbuf, size_t errlen)
{
    (void)p;
    (void)out;
    (void)info;
    (void)scan_errors;
    snprintf(errbuf, errlen, "demo: use vg_provider_stream");
    return VG_ERR_INVALID;
}

const struct vg_provider_type vg_provider_demo = {
    .name = "demo",
    .collect = demo_collect,
    .stream = demo_stream,
};
