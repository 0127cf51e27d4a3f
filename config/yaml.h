/*
 * A YAML document as a tree of nodes that remember where they stood
 * (file, line, column), so every later error can name the place. Both the
 * configuration loader and the rule loader read YAML through this.
 *
 * Aliases and anchors are refused (no entity expansion from outside
 * input), as are duplicate mapping keys and more than one document.
 */
#ifndef VG_YAML_H
#define VG_YAML_H

#include "../agent/json.h"

#include <stdbool.h>
#include <stddef.h>

enum vg_ynode_type {
    VG_YAML_SCALAR,
    VG_YAML_SEQ,
    VG_YAML_MAP,
};

struct vg_ynode {
    enum vg_ynode_type type;
    const char *file;       /* borrowed from the root's copy */
    int line, col;          /* 1-based */
    /* scalar */
    char *value;            /* NUL-terminated */
    size_t len;
    bool quoted;            /* single- or double-quoted, or block: always a string */
    /* sequence items, or mapping values with keys[i] beside them */
    struct vg_ynode **items;
    struct vg_ynode **keys;
    size_t n;
};

/* Loads a file. Returns the root (caller frees with vg_yaml_free()), or
 * NULL with "FILE:LINE:COL: message" in errbuf. An empty file gives an
 * empty mapping. */
struct vg_ynode *vg_yaml_load_file(const char *path, size_t max_bytes, char *errbuf,
                                   size_t errlen);

/* The same for text in memory; name stands for the file in messages. */
struct vg_ynode *vg_yaml_load_string(const char *name, const char *text, size_t len,
                                     char *errbuf, size_t errlen);

void vg_yaml_free(struct vg_ynode *root);

/* Mapping member by key; borrowed; NULL when absent or not a mapping. */
struct vg_ynode *vg_yaml_get(const struct vg_ynode *map, const char *key);

/* Human name of a node's type: "scalar", "sequence", "mapping". */
const char *vg_yaml_type_name(enum vg_ynode_type t);

/* Converts a node to a JSON value with YAML 1.2 core-schema resolution of
 * plain scalars (null, true/false, integers, floats; everything else and
 * every quoted scalar is a string). Caller frees. NULL when out of memory. */
struct vg_json *vg_yaml_to_json(const struct vg_ynode *node);

/* Writes "FILE:LINE:COL: " + message into errbuf for node n. */
void vg_yaml_error(char *errbuf, size_t errlen, const struct vg_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
