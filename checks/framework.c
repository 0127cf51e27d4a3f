#include "framework.h"
#include "../agent/limits.h"
#include "../config/yaml.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct vg_catalog {
    struct vg_framework **items;
    size_t n, cap;
};

struct vg_catalog *vg_catalog_new(void)
{
    return calloc(1, sizeof(struct vg_catalog));
}

static void framework_free(struct vg_framework *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->controls[i].id);
        free(f->controls[i].title);
        free(f->controls[i].group);
    }
    free(f->controls);
    free(f->sorted);
    free(f->id);
    free(f->name);
    free(f->version);
    free(f->file);
    free(f);
}

void vg_catalog_destroy(struct vg_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        framework_free(c->items[i]);
    free(c->items);
    free(c);
}

size_t vg_catalog_count(const struct vg_catalog *c)
{
    return c ? c->n : 0;
}

const struct vg_framework *vg_catalog_at(const struct vg_catalog *c, size_t i)
{
    return c && i < c->n ? c->items[i] : NULL;
}

const struct vg_framework *vg_catalog_find(const struct vg_catalog *c, const char *id)
{
    for (size_t i = 0; c && id && i < c->n; i++)
        if (strcmp(c->items[i]->id, id) == 0)
            return c->items[i];
    return NULL;
}

/* qsort_r is a GNU extension; the controls array is passed through this
 * file-local pointer only for the duration of one sort, on one thread
 * (catalogues are loaded at start). */
static const struct vg_control *sort_base;

static int cmp_index(const void *a, const void *b)
{
    return strcmp(sort_base[*(const size_t *)a].id, sort_base[*(const size_t *)b].id);
}

const struct vg_control *vg_framework_control(const struct vg_framework *f, const char *id)
{
    if (!f || !id)
        return NULL;
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->controls[f->sorted[mid]].id, id);
        if (c == 0)
            return &f->controls[f->sorted[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static char *dup_scalar(const struct vg_ynode *map, const char *key, bool required,
                        const struct vg_ynode *where, char *errbuf, size_t errlen, bool *failed)
{
    const struct vg_ynode *n = vg_yaml_get(map, key);
    if (!n) {
        if (required) {
            vg_yaml_error(errbuf, errlen, where, "'%s' is required", key);
            *failed = true;
        }
        return required ? NULL : strdup("");
    }
    if (n->type != VG_YAML_SCALAR) {
        vg_yaml_error(errbuf, errlen, n, "'%s' must be a scalar, not a %s", key,
                      vg_yaml_type_name(n->type));
        *failed = true;
        return NULL;
    }
    char *s = strdup(n->value);
    if (!s) {
        vg_yaml_error(errbuf, errlen, n, "out of memory");
        *failed = true;
    }
    return s;
}

static bool only_keys(const struct vg_ynode *map, const char *const *keys, char *errbuf,
                      size_t errlen)
{
    for (size_t i = 0; i < map->n; i++) {
        bool ok = false;
        for (size_t k = 0; keys[k] && !ok; k++)
            ok = strcmp(map->keys[i]->value, keys[k]) == 0;
        if (!ok) {
            vg_yaml_error(errbuf, errlen, map->keys[i], "unknown key '%s'", map->keys[i]->value);
            return false;
        }
    }
    return true;
}

static struct vg_framework *parse_catalog(const struct vg_ynode *root, char *errbuf,
                                          size_t errlen)
{
    static const char *const top_keys[] = { "id", "name", "version", "controls", NULL };
    static const char *const control_keys[] = { "id", "title", "group", NULL };
    if (root->type != VG_YAML_MAP) {
        vg_yaml_error(errbuf, errlen, root, "a catalogue is a mapping with id, name, version "
                                            "and controls");
        return NULL;
    }
    if (!only_keys(root, top_keys, errbuf, errlen))
        return NULL;
    struct vg_framework *f = calloc(1, sizeof(*f));
    bool failed = !f;
    if (failed) {
        snprintf(errbuf, errlen, "%s: out of memory", root->file);
        return NULL;
    }
    f->id = dup_scalar(root, "id", true, root, errbuf, errlen, &failed);
    if (!failed)
        f->name = dup_scalar(root, "name", true, root, errbuf, errlen, &failed);
    if (!failed)
        f->version = dup_scalar(root, "version", false, root, errbuf, errlen, &failed);
    f->file = strdup(root->file);
    const struct vg_ynode *controls = vg_yaml_get(root, "controls");
    if (!failed && (!controls || controls->type != VG_YAML_SEQ || controls->n == 0)) {
        vg_yaml_error(errbuf, errlen, controls ? controls : root,
                      "'controls' must be a non-empty list");
        failed = true;
    }
    if (!failed) {
        f->controls = calloc(controls->n, sizeof(*f->controls));
        f->sorted = calloc(controls->n, sizeof(*f->sorted));
        failed = !f->controls || !f->sorted || !f->file;
        if (failed)
            snprintf(errbuf, errlen, "%s: out of memory", root->file);
    }
    for (size_t i = 0; !failed && i < controls->n; i++) {
        const struct vg_ynode *c = controls->items[i];
        if (c->type != VG_YAML_MAP) {
            vg_yaml_error(errbuf, errlen, c, "a control is a mapping with id, title and group");
            failed = true;
            break;
        }
        if (!only_keys(c, control_keys, errbuf, errlen)) {
            failed = true;
            break;
        }
        struct vg_control *ctl = &f->controls[i];
        ctl->id = dup_scalar(c, "id", true, c, errbuf, errlen, &failed);
        if (!failed)
            ctl->title = dup_scalar(c, "title", true, c, errbuf, errlen, &failed);
        if (!failed)
            ctl->group = dup_scalar(c, "group", false, c, errbuf, errlen, &failed);
        f->n = i + 1;
        f->sorted[i] = i;
        if (!failed && (!*ctl->id || !*ctl->title)) {
            vg_yaml_error(errbuf, errlen, c, "control id and title must not be empty");
            failed = true;
        }
    }
    if (!failed) {
        sort_base = f->controls;
        qsort(f->sorted, f->n, sizeof(*f->sorted), cmp_index);
        sort_base = NULL;
        for (size_t i = 1; i < f->n; i++) {
            const struct vg_control *a = &f->controls[f->sorted[i - 1]];
            const struct vg_control *b = &f->controls[f->sorted[i]];
            if (strcmp(a->id, b->id) == 0) {
                size_t later = f->sorted[i] > f->sorted[i - 1] ? f->sorted[i] : f->sorted[i - 1];
                vg_yaml_error(errbuf, errlen, controls->items[later], "duplicate control '%s'",
                              a->id);
                failed = true;
                break;
            }
        }
    }
    if (failed) {
        framework_free(f);
        return NULL;
    }
    return f;
}

static enum vg_err add(struct vg_catalog *c, struct vg_framework *f, char *errbuf, size_t errlen)
{
    const struct vg_framework *old = vg_catalog_find(c, f->id);
    if (old) {
        snprintf(errbuf, errlen, "%s:1:1: framework '%s' is already defined in %s", f->file,
                 f->id, old->file);
        framework_free(f);
        return VG_ERR_CONFIG;
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        struct vg_framework **p = realloc(c->items, ncap * sizeof(*p));
        if (!p) {
            framework_free(f);
            return VG_ERR_NOMEM;
        }
        c->items = p;
        c->cap = ncap;
    }
    c->items[c->n++] = f;
    return VG_OK;
}

static enum vg_err load_file(struct vg_catalog *c, const char *path, char *errbuf, size_t errlen)
{
    struct vg_ynode *root = vg_yaml_load_file(path, VG_MAX_RULE_FILE, errbuf, errlen);
    if (!root)
        return VG_ERR_CONFIG;
    struct vg_framework *f = parse_catalog(root, errbuf, errlen);
    vg_yaml_free(root);
    if (!f)
        return VG_ERR_CONFIG;
    return add(c, f, errbuf, errlen);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_yaml_name(const char *n)
{
    size_t len = strlen(n);
    return n[0] != '.' && len > 4 && strcmp(n + len - 4, ".yml") == 0;
}

enum vg_err vg_catalog_load_path(struct vg_catalog *c, const char *path, char *errbuf,
                                 size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(errbuf, errlen, "%s: no such file or directory", path);
        return VG_ERR_NOENT;
    }
    if (!S_ISDIR(st.st_mode))
        return load_file(c, path, errbuf, errlen);
    DIR *d = opendir(path);
    if (!d) {
        snprintf(errbuf, errlen, "%s: cannot open the directory", path);
        return VG_ERR_IO;
    }
    char **names = NULL;
    size_t n = 0;
    enum vg_err err = VG_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_yaml_name(e->d_name))
            continue;
        char **p = realloc(names, (n + 1) * sizeof(*p));
        if (!p || !(p[n] = strdup(e->d_name))) {
            names = p ? p : names;
            err = VG_ERR_NOMEM;
            break;
        }
        names = p;
        n++;
    }
    closedir(d);
    if (!err)
        qsort(names, n, sizeof(*names), cmp_str);
    /* all or nothing: load into a scratch set, then move over */
    struct vg_catalog *tmp = vg_catalog_new();
    if (!tmp)
        err = VG_ERR_NOMEM;
    for (size_t i = 0; !err && i < n; i++) {
        char file[4096];
        snprintf(file, sizeof(file), "%s/%s", path, names[i]);
        err = load_file(tmp, file, errbuf, errlen);
    }
    for (size_t i = 0; !err && tmp && i < tmp->n; i++) {
        err = add(c, tmp->items[i], errbuf, errlen);
        tmp->items[i] = NULL;
    }
    if (tmp) {
        for (size_t i = 0; i < tmp->n; i++)
            framework_free(tmp->items[i]);
        free(tmp->items);
        free(tmp);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (err == VG_ERR_NOMEM)
        snprintf(errbuf, errlen, "%s: out of memory", path);
    return err;
}
