/*
 * The Elasticsearch assets `vigil setup` installs, in the order it installs
 * them. The same documents are shipped as JSON files under
 * packaging/elasticsearch/ (for those who install them by hand or with
 * their own tooling); tests/unit/test_es_setup.c fails when the two differ.
 */
#ifndef VG_ES_ASSETS_H
#define VG_ES_ASSETS_H

#include <stddef.h>

enum vg_es_asset_kind {
    VG_ES_ASSET_PUT,         /* PUT, idempotent by itself (policy, pipeline, templates) */
    VG_ES_ASSET_INDEX,       /* PUT /<index>: 400 resource_already_exists_exception is fine */
    VG_ES_ASSET_TRANSFORM,   /* PUT /_transform/<id>: on 409, _update then; then _start */
};

struct vg_es_asset {
    const char *what;        /* "ILM policy", "index template", ... */
    const char *name;        /* "vigil", "logs-vigil.findings", ... */
    enum vg_es_asset_kind kind;
    const char *path;        /* "/_ilm/policy/vigil" */
    const char *file;        /* "ilm-policy.json" under packaging/elasticsearch/ */
    const char *body;        /* the JSON document, compact */
};

extern const struct vg_es_asset vg_es_assets[];
extern const size_t vg_es_assets_count;

#endif
