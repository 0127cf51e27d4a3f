/*
 * `vigil setup` (see setup.h).
 */
#include "setup.h"
#include "json.h"
#include "log.h"
#include "../outputs/es/assets.h"
#include "../outputs/es/http.h"

#include <stdlib.h>
#include <string.h>

/* The error type and reason of an Elasticsearch answer, "" when none. */
static void answer_error(const struct vg_buf *resp, char *type, size_t tlen, char *reason,
                         size_t rlen)
{
    type[0] = reason[0] = '\0';
    char err[128];
    struct vg_json *v = vg_json_parse(resp->data ? resp->data : "", resp->len, err, sizeof(err));
    const struct vg_json *e = vg_json_get(v, "error");
    if (vg_json_type(e) == VG_JSON_OBJECT) {
        const char *t = vg_json_get_str(vg_json_get(e, "type"));
        const char *r = vg_json_get_str(vg_json_get(e, "reason"));
        snprintf(type, tlen, "%s", t ? t : "");
        snprintf(reason, rlen, "%s", r ? r : "");
    } else if (vg_json_type(e) == VG_JSON_STRING) {
        snprintf(reason, rlen, "%s", vg_json_get_str(e));
    }
    /* one line whatever the server said */
    for (char *p = reason; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    for (char *p = type; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    vg_json_free(v);
}

static enum vg_err refused(const struct vg_es_asset *a, const char *method,
                           const char *path, long st, const struct vg_buf *resp, char *errbuf,
                           size_t errlen)
{
    char type[128], reason[512];
    answer_error(resp, type, sizeof(type), reason, sizeof(reason));
    snprintf(errbuf, errlen, "vigil setup: %s %s: %s %s answered HTTP %ld%s%s%s%s", a->what,
             a->name, method, path, st, *type ? " " : "", type, *reason ? ": " : "", reason);
    return st == 401 || (st == 403 && strcmp(type, "cluster_block_exception") != 0) ? VG_ERR_PERM
                                                                                    : VG_ERR_IO;
}

/* The transform's body without what _update refuses (its latest or pivot
 * key: a transform's function cannot change). Caller frees. */
static char *update_body(const char *body)
{
    char err[128];
    struct vg_json *v = vg_json_parse(body, strlen(body), err, sizeof(err));
    if (!v)
        return NULL;
    vg_json_del(v, "latest");
    vg_json_del(v, "pivot");
    struct vg_buf b;
    vg_buf_init(&b, 1 << 20);
    char *s = vg_json_dump(v, &b) ? NULL : vg_buf_detach(&b);
    vg_buf_free(&b);
    vg_json_free(v);
    return s;
}

static enum vg_err install(struct vg_es_conn *c, const struct vg_es_asset *a, FILE *out,
                           char *errbuf, size_t errlen)
{
    struct vg_buf resp;
    vg_buf_init(&resp, VG_ES_MAX_SETUP_RESP);
    long st = 0;
    enum vg_err err;
    char path[512];
    const char *result = NULL;
    if (a->kind == VG_ES_ASSET_TRANSFORM)
        snprintf(path, sizeof(path), "%s?defer_validation=true", a->path);
    else
        snprintf(path, sizeof(path), "%s", a->path);
    err = vg_es_conn_request(c, "PUT", path, a->body, &st, &resp, errbuf, errlen);
    if (err)
        goto out;
    if (st >= 200 && st < 300) {
        result = a->kind == VG_ES_ASSET_PUT ? "installed" : "created";
    } else if (a->kind == VG_ES_ASSET_INDEX && st == 400) {
        char type[128], reason[256];
        answer_error(&resp, type, sizeof(type), reason, sizeof(reason));
        if (strcmp(type, "resource_already_exists_exception") == 0)
            result = "exists, kept";
    } else if (a->kind == VG_ES_ASSET_TRANSFORM && st == 409) {
        char *ub = update_body(a->body);
        if (!ub) {
            snprintf(errbuf, errlen, "out of memory");
            err = VG_ERR_NOMEM;
            goto out;
        }
        snprintf(path, sizeof(path), "%s/_update?defer_validation=true", a->path);
        err = vg_es_conn_request(c, "POST", path, ub, &st, &resp, errbuf, errlen);
        free(ub);
        if (err)
            goto out;
        if (st >= 200 && st < 300)
            result = "exists, updated";
    }
    if (!result) {
        err = refused(a, strstr(path, "/_update") ? "POST" : "PUT", path, st, &resp, errbuf,
                      errlen);
        goto out;
    }
    if (a->kind == VG_ES_ASSET_TRANSFORM) {
        snprintf(path, sizeof(path), "%s/_start", a->path);
        err = vg_es_conn_request(c, "POST", path, NULL, &st, &resp, errbuf, errlen);
        if (err)
            goto out;
        if (st == 409) {
            fprintf(out, "%s %s: %s, already started\n", a->what, a->name, result);
            goto out;
        }
        if (st < 200 || st >= 300) {
            err = refused(a, "POST", path, st, &resp, errbuf, errlen);
            goto out;
        }
        fprintf(out, "%s %s: %s, started\n", a->what, a->name, result);
        goto out;
    }
    fprintf(out, "%s %s: %s\n", a->what, a->name, result);
out:
    vg_buf_free(&resp);
    return err;
}

enum vg_err vg_setup_run(const struct vg_config *cfg, bool dry_run, FILE *out, char *errbuf,
                         size_t errlen)
{
    if (!cfg || !cfg->outputs.es.enabled) {
        snprintf(errbuf, errlen, "vigil setup: outputs.elasticsearch is not configured");
        return VG_ERR_CONFIG;
    }
    enum vg_err err;
    struct vg_es_conn *c = vg_es_conn_new(cfg, errbuf, errlen, &err);
    if (!c)
        return err;
    err = VG_OK;
    for (size_t i = 0; i < vg_es_assets_count && !err; i++) {
        const struct vg_es_asset *a = &vg_es_assets[i];
        if (dry_run) {
            fprintf(out, "# %s %s (packaging/elasticsearch/%s)\nPUT %s%s\n%s\n", a->what,
                    a->name, a->file, a->path,
                    a->kind == VG_ES_ASSET_TRANSFORM ? "?defer_validation=true" : "", a->body);
            if (a->kind == VG_ES_ASSET_TRANSFORM)
                fprintf(out, "POST %s/_start\n", a->path);
            fputc('\n', out);
            continue;
        }
        err = install(c, a, out, errbuf, errlen);
    }
    if (!err && !dry_run)
        fflush(out);
    vg_es_conn_destroy(c);
    return err;
}
