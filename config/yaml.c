#include "yaml.h"
#include "../agent/limits.h"

#include <yaml.h>

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The root node owns the file name for all its descendants. */
struct root_node {
    struct vg_ynode node;
    char *file;
};

const char *vg_yaml_type_name(enum vg_ynode_type t)
{
    switch (t) {
    case VG_YAML_SCALAR: return "scalar";
    case VG_YAML_SEQ: return "sequence";
    case VG_YAML_MAP: return "mapping";
    }
    return "?";
}

void vg_yaml_error(char *errbuf, size_t errlen, const struct vg_ynode *n, const char *fmt, ...)
{
    if (!errbuf || !errlen)
        return;
    int k = snprintf(errbuf, errlen, "%s:%d:%d: ", n && n->file ? n->file : "?",
                     n ? n->line : 0, n ? n->col : 0);
    if (k < 0 || (size_t)k >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf + k, errlen - (size_t)k, fmt, ap);
    va_end(ap);
}

static void node_free(struct vg_ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        node_free(n->items[i]);
        if (n->keys)
            node_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->value);
    free(n);
}

void vg_yaml_free(struct vg_ynode *root)
{
    if (!root)
        return;
    /* the root was allocated as a struct root_node: free its children,
     * then the name and the whole block */
    struct root_node *r = (struct root_node *)root;
    char *file = r->file;
    for (size_t i = 0; i < root->n; i++) {
        node_free(root->items[i]);
        if (root->keys)
            node_free(root->keys[i]);
    }
    free(root->items);
    free(root->keys);
    free(root->value);
    free(file);
    free(r);
}

struct vg_ynode *vg_yaml_get(const struct vg_ynode *map, const char *key)
{
    if (!map || map->type != VG_YAML_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->value, key) == 0)
            return map->items[i];
    return NULL;
}

/* ---- building the tree from libyaml events ---------------------------- */

struct builder {
    yaml_parser_t parser;
    const char *file;
    char *errbuf;
    size_t errlen;
    int depth;
};

static int add_child(struct vg_ynode *parent, struct vg_ynode *key, struct vg_ynode *child)
{
    size_t n = parent->n + 1;
    struct vg_ynode **items = realloc(parent->items, n * sizeof(*items));
    if (!items)
        return -1;
    parent->items = items;
    if (parent->type == VG_YAML_MAP) {
        struct vg_ynode **keys = realloc(parent->keys, n * sizeof(*keys));
        if (!keys)
            return -1;
        parent->keys = keys;
        parent->keys[parent->n] = key;
    }
    parent->items[parent->n] = child;
    parent->n = n;
    return 0;
}

static void set_mark(struct builder *b, struct vg_ynode *n, const yaml_mark_t *m)
{
    n->file = b->file;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
}

static void errf(struct builder *b, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(struct builder *b, const yaml_mark_t *m, const char *fmt, ...)
{
    int k = snprintf(b->errbuf, b->errlen, "%s:%d:%d: ", b->file, m ? (int)m->line + 1 : 0,
                     m ? (int)m->column + 1 : 0);
    if (k < 0 || (size_t)k >= b->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->errbuf + k, b->errlen - (size_t)k, fmt, ap);
    va_end(ap);
}

static int next_event(struct builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev)) {
        const char *what = b->parser.problem ? b->parser.problem : "malformed YAML";
        const char *ctx = b->parser.context;
        if (ctx)
            errf(b, &b->parser.problem_mark, "%s %s", what, ctx);
        else
            errf(b, &b->parser.problem_mark, "%s", what);
        return -1;
    }
    return 0;
}

/* Builds the node that starts with ev (already read) into *out. */
static int build_node(struct builder *b, yaml_event_t *ev, struct vg_ynode *into,
                      struct vg_ynode **out)
{
    struct vg_ynode *n = into;
    if (ev->type == YAML_ALIAS_EVENT) {
        errf(b, &ev->start_mark, "aliases are not supported");
        return -1;
    }
    const yaml_char_t *anchor = ev->type == YAML_SCALAR_EVENT ? ev->data.scalar.anchor
                              : ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
                              : ev->type == YAML_MAPPING_START_EVENT ? ev->data.mapping_start.anchor
                              : NULL;
    if (anchor) {
        errf(b, &ev->start_mark, "anchors are not supported");
        return -1;
    }
    if (!n) {
        n = calloc(1, sizeof(*n));
        if (!n) {
            errf(b, &ev->start_mark, "out of memory");
            return -1;
        }
    }
    set_mark(b, n, &ev->start_mark);
    *out = n;

    if (ev->type == YAML_SCALAR_EVENT) {
        n->type = VG_YAML_SCALAR;
        n->len = ev->data.scalar.length;
        n->value = malloc(n->len + 1);
        if (!n->value) {
            errf(b, &ev->start_mark, "out of memory");
            return -1;
        }
        memcpy(n->value, ev->data.scalar.value, n->len);
        n->value[n->len] = '\0';
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
                    ev->data.scalar.style != YAML_ANY_SCALAR_STYLE;
        if (ev->data.scalar.tag && strcmp((char *)ev->data.scalar.tag, "tag:yaml.org,2002:str") == 0)
            n->quoted = true;
        return 0;
    }
    if (ev->type != YAML_SEQUENCE_START_EVENT && ev->type != YAML_MAPPING_START_EVENT) {
        errf(b, &ev->start_mark, "unexpected YAML event");
        return -1;
    }
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    n->type = is_map ? VG_YAML_MAP : VG_YAML_SEQ;
    if (++b->depth > VG_MAX_YAML_DEPTH) {
        errf(b, &ev->start_mark, "nesting deeper than %d levels", VG_MAX_YAML_DEPTH);
        return -1;
    }
    for (;;) {
        yaml_event_t e;
        if (next_event(b, &e))
            return -1;
        if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        struct vg_ynode *key = NULL, *val = NULL;
        int rc;
        if (is_map) {
            rc = build_node(b, &e, NULL, &key);
            yaml_event_delete(&e);
            if (rc) {
                node_free(key);
                return -1;
            }
            if (key->type != VG_YAML_SCALAR) {
                vg_yaml_error(b->errbuf, b->errlen, key, "mapping keys must be scalars");
                node_free(key);
                return -1;
            }
            if (n->n >= VG_MAX_YAML_MAP_KEYS) {
                vg_yaml_error(b->errbuf, b->errlen, key, "more than %d keys in one mapping",
                              VG_MAX_YAML_MAP_KEYS);
                node_free(key);
                return -1;
            }
            if (vg_yaml_get(n, key->value)) {
                vg_yaml_error(b->errbuf, b->errlen, key, "duplicate key '%s'", key->value);
                node_free(key);
                return -1;
            }
            if (next_event(b, &e)) {
                node_free(key);
                return -1;
            }
        }
        rc = build_node(b, &e, NULL, &val);
        yaml_event_delete(&e);
        if (rc || add_child(n, key, val)) {
            if (!rc)
                errf(b, NULL, "out of memory");
            node_free(key);
            node_free(val);
            return -1;
        }
    }
    b->depth--;
    return 0;
}

struct vg_ynode *vg_yaml_load_string(const char *name, const char *text, size_t len,
                                     char *errbuf, size_t errlen)
{
    char dummy[8];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    struct root_node *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(errbuf, errlen, "%s: out of memory", name);
        return NULL;
    }
    r->file = strdup(name);
    if (!r->file) {
        free(r);
        snprintf(errbuf, errlen, "%s: out of memory", name);
        return NULL;
    }
    struct builder b = { .file = r->file, .errbuf = errbuf, .errlen = errlen };
    if (!yaml_parser_initialize(&b.parser)) {
        free(r->file);
        free(r);
        snprintf(errbuf, errlen, "%s: out of memory", name);
        return NULL;
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);

    struct vg_ynode *root = NULL;
    int rc = 0;
    bool have_doc = false;
    for (;;) {
        yaml_event_t ev;
        if (next_event(&b, &ev)) {
            rc = -1;
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            if (have_doc) {
                errf(&b, &ev.start_mark, "only one YAML document is allowed per file");
                yaml_event_delete(&ev);
                rc = -1;
                break;
            }
            have_doc = true;
        } else if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
                   t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
            rc = build_node(&b, &ev, &r->node, &root);
            if (rc) {
                yaml_event_delete(&ev);
                break;
            }
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&b.parser);
    if (rc) {
        vg_yaml_free(&r->node);
        return NULL;
    }
    if (!root) {
        /* empty document: an empty mapping */
        r->node.type = VG_YAML_MAP;
        r->node.file = r->file;
        r->node.line = 1;
        r->node.col = 1;
    }
    return &r->node;
}

struct vg_ynode *vg_yaml_load_file(const char *path, size_t max_bytes, char *errbuf,
                                   size_t errlen)
{
    struct vg_buf buf;
    vg_buf_init(&buf, max_bytes);
    enum vg_err err = vg_buf_read_file(&buf, path);
    if (err) {
        if (err == VG_ERR_LIMIT)
            snprintf(errbuf, errlen, "%s:1:1: file is larger than %zu bytes", path, max_bytes);
        else
            snprintf(errbuf, errlen, "%s:1:1: cannot read: %s", path,
                     err == VG_ERR_NOENT ? "no such file" : vg_strerror(err));
        vg_buf_free(&buf);
        return NULL;
    }
    struct vg_ynode *root = vg_yaml_load_string(path, vg_buf_str(&buf), buf.len, errbuf, errlen);
    vg_buf_free(&buf);
    return root;
}

/* ---- to JSON ------------------------------------------------------------ */

static bool full_match(const char *pattern, const char *s)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
        return false;
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static struct vg_json *scalar_to_json(const struct vg_ynode *n)
{
    const char *s = n->value;
    if (n->quoted)
        return vg_json_strn(s, n->len);
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return vg_json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return vg_json_bool(true);
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return vg_json_bool(false);
    if (full_match("^[-+]?[0-9]+$", s)) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno == 0)
            return vg_json_int(v);
        return vg_json_double(strtod(s, NULL));
    }
    if (full_match("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$", s))
        return vg_json_double(strtod(s, NULL));
    return vg_json_strn(s, n->len);
}

struct vg_json *vg_yaml_to_json(const struct vg_ynode *n)
{
    if (!n)
        return NULL;
    if (n->type == VG_YAML_SCALAR)
        return scalar_to_json(n);
    struct vg_json *out = n->type == VG_YAML_MAP ? vg_json_object() : vg_json_array();
    for (size_t i = 0; out && i < n->n; i++) {
        enum vg_err err = n->type == VG_YAML_MAP
                              ? vg_json_set(out, n->keys[i]->value, vg_yaml_to_json(n->items[i]))
                              : vg_json_push(out, vg_yaml_to_json(n->items[i]));
        if (err) {
            vg_json_free(out);
            return NULL;
        }
    }
    return out;
}
