/*
 * AWS XML to JSON with expat. Each open element is a frame on a bounded
 * stack; a frame gathers its text and its children's finished values, and
 * when it closes its value is decided (string, array or object, see xml.h)
 * and handed to the parent frame.
 */
#include "xml.h"

#include "../../agent/buf.h"

#include <expat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct frame {
    char *name;                 /* local name, owned */
    struct vg_buf text;
    char **cnames;              /* children's names, owned */
    struct vg_json **cvals;     /* children's values, owned */
    size_t n, cap;
    bool all_member, all_item, all_entry;
};

struct xctx {
    XML_Parser p;
    const struct vg_aws_xml_opts *o;
    struct frame stack[VG_AWS_XML_MAX_DEPTH];
    int depth;                  /* frames in use */
    size_t elements;
    struct vg_json *result;
    bool done;                  /* the root element closed */
    char root[VG_AWS_XML_MAX_NAME];
    char err[256];              /* our own reason to stop, "" for expat's */
};

static const char *local_name(const char *name)
{
    const char *c = strrchr(name, ':');
    return c ? c + 1 : name;
}

static bool in_list(const char *const *list, const char *name)
{
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

static void stop(struct xctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void stop(struct xctx *c, const char *fmt, ...)
{
    if (!c->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, sizeof(c->err), fmt, ap);
        va_end(ap);
    }
    XML_StopParser(c->p, XML_FALSE);
}

static void frame_clear(struct frame *f)
{
    free(f->name);
    f->name = NULL;
    vg_buf_free(&f->text);
    for (size_t i = 0; i < f->n; i++) {
        free(f->cnames[i]);
        vg_json_free(f->cvals[i]);
    }
    free(f->cnames);
    free(f->cvals);
    f->cnames = NULL;
    f->cvals = NULL;
    f->n = f->cap = 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct xctx *c = ud;
    if (c->done) {
        stop(c, "a second root element");
        return;
    }
    if (c->depth == VG_AWS_XML_MAX_DEPTH) {
        stop(c, "elements nested deeper than %d", VG_AWS_XML_MAX_DEPTH);
        return;
    }
    if (++c->elements > VG_AWS_XML_MAX_ELEMENTS) {
        stop(c, "more than %u elements", (unsigned)VG_AWS_XML_MAX_ELEMENTS);
        return;
    }
    const char *ln = local_name(name);
    size_t nl = strlen(ln);
    if (nl == 0 || nl >= VG_AWS_XML_MAX_NAME) {
        stop(c, "an element name is empty or longer than %d bytes", VG_AWS_XML_MAX_NAME - 1);
        return;
    }
    struct frame *f = &c->stack[c->depth];
    memset(f, 0, sizeof(*f));
    f->name = strdup(ln);
    if (!f->name) {
        stop(c, "out of memory");
        return;
    }
    vg_buf_init(&f->text, VG_AWS_MAX_BODY);
    f->all_member = f->all_item = f->all_entry = true;
    if (c->depth == 0)
        snprintf(c->root, sizeof(c->root), "%s", ln);
    c->depth++;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xctx *c = ud;
    if (c->depth == 0 || len <= 0)
        return;
    struct frame *f = &c->stack[c->depth - 1];
    /* text beside children is ignored; skip it early */
    if (f->n)
        return;
    enum vg_err err = vg_buf_append(&f->text, s, (size_t)len);
    if (err)
        stop(c, "%s", err == VG_ERR_LIMIT ? "element text larger than the bound" : "out of memory");
}

static bool blank_text(const struct vg_buf *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] != ' ' && b->data[i] != '\t' && b->data[i] != '\r' && b->data[i] != '\n')
            return false;
    return true;
}

static struct vg_json *scalar_value(const struct xctx *c, struct frame *f)
{
    const char *t = vg_buf_str(&f->text);
    if (in_list(c->o->bools, f->name)) {
        if (strcmp(t, "true") == 0)
            return vg_json_bool(true);
        if (strcmp(t, "false") == 0)
            return vg_json_bool(false);
    }
    if (in_list(c->o->ints, f->name) && f->text.len) {
        char *end;
        errno = 0;
        long long v = strtoll(t, &end, 10);
        if (!errno && *end == '\0' && end != t && t[0] != ' ')
            return vg_json_int(v);
    }
    return vg_json_strn(t, f->text.len);
}

/* Takes every child value of f into an array. */
static struct vg_json *array_value(struct frame *f)
{
    struct vg_json *a = vg_json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < f->n; i++) {
        struct vg_json *v = f->cvals[i];
        f->cvals[i] = NULL;
        if (vg_json_push(a, v)) {
            vg_json_free(a);
            return NULL;
        }
    }
    return a;
}

/* <entry><key>k</key><value>v</value></entry>... as {k: v}; NULL when an
 * entry is not such a pair (then f is left as it was). */
static struct vg_json *map_value(struct frame *f, bool *nomem)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct vg_json *e = f->cvals[i];
        if (vg_json_type(e) != VG_JSON_OBJECT || vg_json_len(e) != 2 ||
            vg_json_type(vg_json_get(e, "key")) != VG_JSON_STRING || !vg_json_get(e, "value"))
            return NULL;
    }
    struct vg_json *m = vg_json_object();
    for (size_t i = 0; m && i < f->n; i++) {
        const char *k = vg_json_get_str(vg_json_get(f->cvals[i], "key"));
        if (vg_json_set(m, k, vg_json_clone(vg_json_get(f->cvals[i], "value")))) {
            vg_json_free(m);
            m = NULL;
        }
    }
    if (!m)
        *nomem = true;
    return m;
}

static struct vg_json *object_value(const struct xctx *c, struct frame *f)
{
    struct vg_json *counts = vg_json_object();
    struct vg_json *o = vg_json_object();
    if (!counts || !o)
        goto fail;
    for (size_t i = 0; i < f->n; i++) {
        const struct vg_json *k = vg_json_get(counts, f->cnames[i]);
        if (vg_json_set_int(counts, f->cnames[i], k ? vg_json_get_int(k) + 1 : 1))
            goto fail;
    }
    for (size_t i = 0; i < f->n; i++) {
        const char *name = f->cnames[i];
        struct vg_json *v = f->cvals[i];
        f->cvals[i] = NULL;
        if (vg_json_get_int(vg_json_get(counts, name)) > 1 || in_list(c->o->arrays, name)) {
            struct vg_json *arr = vg_json_get(o, name);
            if (!arr) {
                if (vg_json_set(o, name, vg_json_array())) {
                    vg_json_free(v);
                    goto fail;
                }
                arr = vg_json_get(o, name);
            }
            if (vg_json_push(arr, v))
                goto fail;
        } else if (vg_json_set(o, name, v)) {
            goto fail;
        }
    }
    vg_json_free(counts);
    return o;
fail:
    vg_json_free(counts);
    vg_json_free(o);
    return NULL;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    struct xctx *c = ud;
    if (c->depth == 0)
        return;
    struct frame *f = &c->stack[c->depth - 1];
    struct vg_json *v = NULL;
    bool nomem = false;

    if (c->depth == 1 && c->o->unwrap) {
        for (size_t i = 0; i < f->n; i++) {
            if (strcmp(f->cnames[i], c->o->unwrap) == 0) {
                v = f->cvals[i];
                f->cvals[i] = NULL;
                break;
            }
        }
    }
    if (v) {
        /* unwrapped */
    } else if (f->n == 0) {
        if (in_list(c->o->lists, f->name) && blank_text(&f->text))
            v = vg_json_array();
        else
            v = scalar_value(c, f);
    } else if (in_list(c->o->lists, f->name) || f->all_member || f->all_item) {
        v = array_value(f);
    } else {
        if (f->all_entry)
            v = map_value(f, &nomem);
        if (!v && !nomem)
            v = object_value(c, f);
    }
    char *fname = f->name;
    f->name = NULL;
    frame_clear(f);
    c->depth--;
    if (!v) {
        free(fname);
        stop(c, "out of memory");
        return;
    }
    if (c->depth == 0) {
        free(fname);
        c->result = v;
        c->done = true;
        return;
    }
    struct frame *parent = &c->stack[c->depth - 1];
    if (parent->n == VG_AWS_XML_MAX_CHILDREN) {
        free(fname);
        vg_json_free(v);
        stop(c, "an element with more than %u children", (unsigned)VG_AWS_XML_MAX_CHILDREN);
        return;
    }
    if (parent->n == parent->cap) {
        size_t ncap = parent->cap ? parent->cap * 2 : 4;
        char **nn = realloc(parent->cnames, ncap * sizeof(*nn));
        if (nn)
            parent->cnames = nn;
        struct vg_json **nv = nn ? realloc(parent->cvals, ncap * sizeof(*nv)) : NULL;
        if (!nv) {
            free(fname);
            vg_json_free(v);
            stop(c, "out of memory");
            return;
        }
        parent->cvals = nv;
        parent->cap = ncap;
    }
    if (strcmp(fname, "member") != 0)
        parent->all_member = false;
    if (strcmp(fname, "item") != 0)
        parent->all_item = false;
    if (strcmp(fname, "entry") != 0)
        parent->all_entry = false;
    parent->cnames[parent->n] = fname;
    parent->cvals[parent->n] = v;
    parent->n++;
    /* text before the first child was layout, not a value */
    if (parent->n == 1)
        vg_buf_free(&parent->text);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal;
    stop(ud, "a DOCTYPE is not allowed");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
    (void)name;
    (void)is_param;
    (void)value;
    (void)value_len;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    stop(ud, "an entity declaration is not allowed");
}

struct vg_json *vg_aws_xml_parse(const char *xml, size_t len, const struct vg_aws_xml_opts *opts,
                                 char *root, size_t rootlen, char *errbuf, size_t errlen)
{
    static const struct vg_aws_xml_opts none = { 0 };
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (root && rootlen)
        root[0] = '\0';
    if (len > VG_AWS_MAX_BODY || len > INT_MAX) {
        snprintf(errbuf, errlen, "XML error: the document is larger than %u bytes",
                 (unsigned)VG_AWS_MAX_BODY);
        return NULL;
    }
    struct xctx *c = calloc(1, sizeof(*c));
    XML_Parser p = c ? XML_ParserCreate(NULL) : NULL;
    if (!p) {
        free(c);
        snprintf(errbuf, errlen, "XML error: out of memory");
        return NULL;
    }
    c->p = p;
    c->o = opts ? opts : &none;
    XML_SetUserData(p, c);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetEntityDeclHandler(p, on_entity_decl);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);

    enum XML_Status st = XML_Parse(p, xml ? xml : "", (int)len, XML_TRUE);
    struct vg_json *res = NULL;
    if (st != XML_STATUS_OK || c->err[0] || !c->done) {
        unsigned long line = (unsigned long)XML_GetCurrentLineNumber(p);
        unsigned long col = (unsigned long)XML_GetCurrentColumnNumber(p) + 1;
        const char *why = c->err[0] ? c->err
                        : st != XML_STATUS_OK ? XML_ErrorString(XML_GetErrorCode(p))
                                              : "the document ended early";
        snprintf(errbuf, errlen, "XML error at line %lu column %lu: %s", line, col, why);
        vg_json_free(c->result);
    } else {
        res = c->result;
        if (root && rootlen)
            snprintf(root, rootlen, "%s", c->root);
    }
    for (int i = 0; i < c->depth; i++)
        frame_clear(&c->stack[i]);
    XML_ParserFree(p);
    free(c);
    return res;
}

/* Copies s into dst as one line: control characters become spaces,
 * surrounding blanks go. */
static void copy_line(char *dst, size_t n, const char *s)
{
    if (!n)
        return;
    size_t j = 0;
    if (s) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            s++;
        for (; *s && j + 1 < n; s++)
            dst[j++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s;
    }
    while (j && dst[j - 1] == ' ')
        j--;
    dst[j] = '\0';
}

/* The first element of v when it is an array, else v. */
static const struct vg_json *first(const struct vg_json *v)
{
    return vg_json_type(v) == VG_JSON_ARRAY ? vg_json_at(v, 0) : v;
}

enum vg_err vg_aws_xml_error(const char *xml, size_t len, struct vg_aws_error *e)
{
    char root[64], errbuf[160];
    struct vg_json *doc = vg_aws_xml_parse(xml, len, NULL, root, sizeof(root), errbuf,
                                           sizeof(errbuf));
    if (!doc)
        return VG_ERR_PARSE;
    const struct vg_json *err = NULL, *rid = NULL;
    if (strcmp(root, "ErrorResponse") == 0) {
        /* <Errors><Error> inside: moto writes its auth errors so */
        err = first(vg_json_get(doc, "Error"));
        if (!err)
            err = first(vg_json_get(vg_json_get(doc, "Errors"), "Error"));
        rid = vg_json_get(doc, "RequestId");
    } else if (strcmp(root, "Response") == 0) {
        err = first(vg_json_get(vg_json_get(doc, "Errors"), "Error"));
        rid = vg_json_get(doc, "RequestID");
    } else if (strcmp(root, "Error") == 0) {
        err = doc;
        rid = vg_json_get(doc, "RequestId");
    }
    const char *code = vg_json_get_str(vg_json_get(err, "Code"));
    enum vg_err res = VG_ERR_PARSE;
    if (code && *code) {
        copy_line(e->code, sizeof(e->code), code);
        copy_line(e->message, sizeof(e->message), vg_json_get_str(vg_json_get(err, "Message")));
        copy_line(e->request_id, sizeof(e->request_id), vg_json_get_str(rid));
        res = VG_OK;
    }
    vg_json_free(doc);
    return res;
}
