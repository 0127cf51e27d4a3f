/*
 * JSON values: the currency between providers, rules and outputs.
 *
 * A value is a tree; objects keep their keys in insertion order (so
 * generated documents are stable) and a key appears once. Constructors
 * return NULL when out of memory, and vg_json_set()/vg_json_push() accept a
 * NULL value (returning VG_ERR_NOMEM), so building can be chained without a
 * test at each step.
 *
 * Parsing goes through yajl. Generation is our own direct writer into a
 * bounded buffer (yajl's generator calls back once per token, which cost
 * more than all else on the findings hot path); the JSON fuzz target
 * checks that everything it writes parses back through yajl.
 */
#ifndef VG_JSON_H
#define VG_JSON_H

#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vg_json_type {
    VG_JSON_NULL,
    VG_JSON_BOOL,
    VG_JSON_INT,      /* integral number that fits int64_t */
    VG_JSON_DOUBLE,   /* any other number */
    VG_JSON_STRING,
    VG_JSON_ARRAY,
    VG_JSON_OBJECT,
};

struct vg_json;

/* Constructors: caller frees with vg_json_free(), or hands the value to
 * vg_json_set()/vg_json_push(), which take ownership. */
struct vg_json *vg_json_null(void);
struct vg_json *vg_json_bool(bool b);
struct vg_json *vg_json_int(int64_t i);
struct vg_json *vg_json_double(double d);
struct vg_json *vg_json_str(const char *s);          /* NULL s gives JSON null */
struct vg_json *vg_json_strn(const char *s, size_t n);
struct vg_json *vg_json_array(void);
struct vg_json *vg_json_object(void);

void vg_json_free(struct vg_json *v);                  /* NULL is a no-op */
struct vg_json *vg_json_clone(const struct vg_json *v);
bool vg_json_equal(const struct vg_json *a, const struct vg_json *b);

enum vg_json_type vg_json_type(const struct vg_json *v);
const char *vg_json_type_name(enum vg_json_type t);
bool vg_json_is_number(const struct vg_json *v);

/* Accessors; on a value of another type they return false / 0 / NULL. */
bool vg_json_get_bool(const struct vg_json *v);
int64_t vg_json_get_int(const struct vg_json *v);
double vg_json_get_num(const struct vg_json *v);       /* int or double */
const char *vg_json_get_str(const struct vg_json *v);  /* borrowed */
size_t vg_json_str_len(const struct vg_json *v);

/* Arrays and objects: element count; 0 for scalars. */
size_t vg_json_len(const struct vg_json *v);
/* Array element or object value i; borrowed. NULL when out of range. */
struct vg_json *vg_json_at(const struct vg_json *v, size_t i);
/* Object key i; borrowed. */
const char *vg_json_key_at(const struct vg_json *v, size_t i);
/* Object member by key; borrowed; NULL when absent or not an object. */
struct vg_json *vg_json_get(const struct vg_json *obj, const char *key);

/* Sets obj[key] = val, replacing (and freeing) an old value. Takes
 * ownership of val in every case (frees it on failure). */
enum vg_err vg_json_set(struct vg_json *obj, const char *key, struct vg_json *val);
/* Appends val to an array; takes ownership in every case. */
enum vg_err vg_json_push(struct vg_json *arr, struct vg_json *val);
/* Removes obj[key] if present. */
void vg_json_del(struct vg_json *obj, const char *key);

/* Shorthands for building. */
enum vg_err vg_json_set_str(struct vg_json *obj, const char *key, const char *s);
enum vg_err vg_json_set_int(struct vg_json *obj, const char *key, int64_t i);
enum vg_err vg_json_set_bool(struct vg_json *obj, const char *key, bool b);

/* Returns obj[key] if it is an object, else sets a new empty object there
 * and returns it; borrowed. NULL when out of memory or obj is no object. */
struct vg_json *vg_json_child(struct vg_json *obj, const char *key);

/* Parses one JSON document of len bytes. Returns the value (caller frees),
 * or NULL with a sentence in errbuf ("offset 17: ..."). Depth and size are
 * bounded by VG_MAX_JSON_DEPTH and VG_MAX_JSON_TEXT. */
struct vg_json *vg_json_parse(const char *text, size_t len, char *errbuf, size_t errlen);

/* Appends the compact JSON text of v to out. Strings that are not valid
 * UTF-8 are written with U+FFFD for each bad byte. Non-finite doubles are
 * written as null. When out's bound is reached (VG_ERR_LIMIT), out keeps
 * the prefix that fit. */
enum vg_err vg_json_dump(const struct vg_json *v, struct vg_buf *out);

/* Appends the JSON string literal of s[0..n) (quoted, escaped, invalid
 * UTF-8 bytes replaced by U+FFFD). */
enum vg_err vg_json_write_string(struct vg_buf *b, const char *s, size_t n);

/* True when s[0..n) is valid UTF-8. */
bool vg_utf8_valid(const char *s, size_t n);

/* ---- reading fields from JSON text without a tree ---------------------- */

#define VG_JSON_PICK_MAX 16   /* paths one vg_json_pick() call looks for */

/* One string wanted from an object's text, by dotted path ("event.id",
 * "rule.id"); val gets its raw content (between the quotes, escapes kept:
 * see vg_json_pick_decode()) or stays NULL when the path is absent or not
 * a string (or, with number, a number: then val is its text). The first
 * occurrence of a key wins. */
struct vg_json_pick {
    const char *path;
    bool number;          /* in: a number is taken too (val: its text) */
    const char *val;      /* borrowed from the text */
    size_t len;
};

/* Finds the picks' strings in the text of one JSON object, reading only
 * as far as it must and descending only into the objects on a wanted path:
 * for events Vigil wrote itself, where a tree costs more than the whole
 * rest of shipping. It does not validate what it skips. VG_ERR_PARSE when
 * the text is not an object or is malformed where it was read; at most
 * VG_JSON_PICK_MAX picks (VG_ERR_INVALID beyond). */
enum vg_err vg_json_pick(const char *text, size_t len, struct vg_json_pick *picks, size_t n);

/* A picked value as text: when it holds no escape, the raw bytes
 * themselves (*out = val); else decoded into buf (cap bytes) as UTF-8.
 * Returns the length, or -1 when it does not fit or is malformed. */
long vg_json_pick_decode(const struct vg_json_pick *pk, char *buf, size_t cap, const char **out);

#endif
