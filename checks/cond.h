/*
 * Conditions: the compiled form of a rule's `check:` and its evaluation.
 * Private to the rule engine (checks/rule.c); see checks/rules/README.md
 * for the language.
 *
 * A condition compiles once, at load, from its YAML node: operators,
 * paths, operands and regular expressions are all checked there, so that
 * evaluation never meets a malformed condition. Evaluation is total: a
 * path that crosses a value of the wrong type reaches nothing (absent),
 * recursion is bounded by the YAML depth of the condition and the length
 * of its paths, and evidence and reasons are bounded.
 */
#ifndef VG_COND_H
#define VG_COND_H

#include "../agent/limits.h"

#include "../agent/err.h"
#include "../config/yaml.h"
#include "rule.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Compiles the condition at node n into *out (caller frees with
 * vg_cond_free()). params is the rule's declared parameters (an object:
 * name -> default value), or NULL when it declares none; an operand
 * written {param: NAME} takes NAME's default, and NAME must be declared.
 * VG_ERR_RULE with "FILE:LINE:COL: message" in errbuf naming the
 * offending node, or VG_ERR_NOMEM. */
enum vg_err vg_cond_compile(const struct vg_ynode *n, const struct vg_json *params,
                            struct vg_cond **out, char *errbuf, size_t errlen);
void vg_cond_free(struct vg_cond *c);   /* NULL is a no-op */

/* Evaluates c against res (res->errors["*"] included) at time now_ms
 * (milliseconds since the epoch, for age_days_*) and fills out:
 * evaluation, evidence (owned by out) and reason. out is overwritten; the
 * caller clears it with vg_eval_result_clear(). VG_OK, or VG_ERR_NOMEM
 * with out cleared. */
enum vg_err vg_cond_eval(const struct vg_cond *c, const struct vg_resource *res, int64_t now_ms,
                         struct vg_eval_result *out);

/* ---- parameters --------------------------------------------------------
 * Changing a parameter's value is two-phase so that a set of rules changes
 * all at once or not at all: stage the value in every condition that uses
 * the name (each stage validates it against every use), then commit each,
 * or discard each when one stage failed. Not safe while c is evaluated. */

/* True when c uses parameter name. */
bool vg_cond_uses_param(const struct vg_cond *c, const char *name);

/* Validates value (borrowed) for every use of param name in c and prepares
 * the compiled operands. VG_OK; VG_ERR_RULE with a message without place
 * in errbuf ("'le' needs a number, not a string") and the use's line and
 * column in *line, *col; or VG_ERR_NOMEM. A name c does not use is VG_OK. */
enum vg_err vg_cond_stage_param(struct vg_cond *c, const char *name, const struct vg_json *value,
                                char *errbuf, size_t errlen, int *line, int *col);
/* Puts every staged operand in place. Cannot fail. */
void vg_cond_commit_params(struct vg_cond *c);
/* Drops every staged operand. */
void vg_cond_discard_params(struct vg_cond *c);

/* A one-line description of c ("PermitRootLogin == \"no\""), truncated
 * with "..." to fit buf. */
void vg_cond_describe(const struct vg_cond *c, char *buf, size_t len);

/* ---- a set of strings with their positions (ids, evidence keys) -------- */

struct vg_strindex {
    const char **keys;  /* borrowed from the caller; NULL marks a free slot */
    size_t *vals;
    size_t n, cap;      /* cap is 0 or a power of two */
};

void vg_strindex_init(struct vg_strindex *ix);
void vg_strindex_free(struct vg_strindex *ix);   /* frees the table, not the keys */
/* Position stored for key, or -1 when absent. */
long vg_strindex_get(const struct vg_strindex *ix, const char *key);
/* Adds key -> val; key is borrowed and must outlive the index (or be
 * removed before it dies). VG_OK or VG_ERR_NOMEM. A key already present
 * is overwritten. */
enum vg_err vg_strindex_put(struct vg_strindex *ix, const char *key, size_t val);
/* Makes room for `more` new keys, so that as many puts cannot fail.
 * VG_OK or VG_ERR_NOMEM. */
enum vg_err vg_strindex_reserve(struct vg_strindex *ix, size_t more);

#endif
