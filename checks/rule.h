/*
 * Rules: data, loaded from YAML, validated at load, evaluated against
 * resource documents. See checks/rules/README.md for the language.
 */
#ifndef VG_RULE_H
#define VG_RULE_H

#include "../agent/buf.h"
#include "../agent/err.h"
#include "../agent/hash.h"
#include "../agent/json.h"
#include "../agent/limits.h"
#include "framework.h"
#include "resource.h"

#include <stddef.h>
#include <stdint.h>

enum vg_eval {
    VG_EVAL_PASSED = 0,
    VG_EVAL_FAILED,
    VG_EVAL_UNKNOWN,
};

/* "passed", "failed", "unknown" */
const char *vg_eval_name(enum vg_eval e);

enum vg_severity {
    VG_SEV_LOW = 0,
    VG_SEV_MEDIUM,
    VG_SEV_HIGH,
    VG_SEV_CRITICAL,
};

/* "low", "medium", "high", "critical" */
const char *vg_severity_name(enum vg_severity s);
/* ECS event.severity: 21, 47, 73, 99 (Elastic detection rules' scale) */
int vg_severity_score(enum vg_severity s);
/* Parses the word; returns -1 when it is not one. */
int vg_severity_parse(const char *s);

/* The framework identifiers a rule may map to, in display order. Without
 * a catalogue (vg_ruleset_set_catalog()) a rule may map only to these. */
extern const char *const vg_frameworks[];
extern const size_t vg_frameworks_count;
/* True when id is one of vg_frameworks. */
bool vg_framework_known(const char *id);

struct vg_cond;   /* a compiled condition; private to the engine */

struct vg_rule {
    char *id;                 /* "host.sshd.permit_root_login" */
    char uuid[VG_UUID_STR_LEN];  /* UUIDv5(vg_uuid_ns_vigil, id) */
    char *name;
    char *resource;           /* resource type the rule applies to */
    enum vg_severity severity;
    char *section;            /* "" when not given */
    char *version;            /* "1" when not given */
    char *description;
    char *rationale;
    char *remediation;
    char **references;        /* may be empty */
    size_t nreferences;
    /* Object: framework id -> array of control id strings, in the file's
     * order; only frameworks of the catalogue when one was set, else only
     * frameworks named in vg_frameworks. */
    struct vg_json *frameworks;
    /* Objects: parameter name -> its default (as declared in the rule), and
     * -> the value in effect (the default, or rules.params's value). NULL
     * when the rule declares no parameters. */
    struct vg_json *param_defaults;
    struct vg_json *params;
    struct vg_cond *check;
    char *file;               /* where it was defined */
    int line, col;
};

struct vg_ruleset;

/* An empty set; caller frees with vg_ruleset_destroy(). */
struct vg_ruleset *vg_ruleset_new(void);
void vg_ruleset_destroy(struct vg_ruleset *rs);

/* Sets the framework catalogues rules are checked against (borrowed: it
 * must outlive the set), before rules are loaded. With a catalogue, a rule
 * that maps to a framework the catalogue does not have, or to a control id
 * its framework does not list, fails to load: "FILE:LINE:COL: soc2
 * control 'CC9.9' is not in the catalogue (SOC 2 Trust Services
 * Criteria)". Without one (or with NULL), frameworks must be among
 * vg_frameworks and control ids are not checked. */
void vg_ruleset_set_catalog(struct vg_ruleset *rs, const struct vg_catalog *cat);

/* Applies the configuration's rules.params (an object: parameter name ->
 * value; borrowed, NULL or empty for none) to every rule that declares the
 * parameter; the others keep or go back to their defaults. Every value is
 * validated against every use (a parameter compared with lt must be a
 * number, one used with matches a valid regex), and a name that no rule
 * declares is an error naming it. All or nothing: on error no rule
 * changes, and errbuf holds "rules.params.NAME: ..." (VG_ERR_CONFIG), or
 * VG_ERR_NOMEM. Rules loaded later take the values too (a value that does
 * not fit them fails their load). Not safe while rules are evaluated. */
enum vg_err vg_ruleset_set_params(struct vg_ruleset *rs, const struct vg_json *params,
                                  char *errbuf, size_t errlen);

/* Loads a rule file, or every *.yml and *.yaml file of a directory (not
 * recursive, in name order). On error nothing of that path is added and
 * errbuf holds "FILE:LINE:COL: message" (VG_ERR_RULE), or "PATH: message"
 * for a path that cannot be read (VG_ERR_IO / VG_ERR_NOENT). */
enum vg_err vg_ruleset_load_path(struct vg_ruleset *rs, const char *path, char *errbuf,
                                 size_t errlen);

/* Loads rules from YAML text in memory; name stands for the file. */
enum vg_err vg_ruleset_load_string(struct vg_ruleset *rs, const char *name, const char *text,
                                   size_t len, char *errbuf, size_t errlen);

size_t vg_ruleset_count(const struct vg_ruleset *rs);
/* Borrowed, valid until the set is destroyed. Rules keep load order. */
const struct vg_rule *vg_ruleset_at(const struct vg_ruleset *rs, size_t i);
const struct vg_rule *vg_ruleset_find(const struct vg_ruleset *rs, const char *id);

struct vg_eval_result {
    enum vg_eval evaluation;
    /* Object: each field path the rule read, as written in the rule (with
     * [*]), -> the value read (null when absent; an array of values for a
     * path with [*]). Owned; free with vg_eval_result_clear(). */
    struct vg_json *evidence;
    /* One line: why it failed or could not be evaluated; "" when passed. */
    char reason[VG_MAX_REASON];
};

/* What an evaluation depends on besides the rule and the resource. */
struct vg_eval_ctx {
    int64_t now_ms;   /* the time age_days_* measures from (ms since the epoch) */
};

/* Evaluates rule r against resource res, as of ctx (NULL: now, from the
 * wall clock). VG_OK with out filled (the caller clears it with
 * vg_eval_result_clear()), or VG_ERR_NOMEM. Total: no document can crash
 * it or make it loop. */
enum vg_err vg_rule_eval_at(const struct vg_rule *r, const struct vg_resource *res,
                            const struct vg_eval_ctx *ctx, struct vg_eval_result *out);
/* vg_rule_eval_at(r, res, NULL, out) */
enum vg_err vg_rule_eval(const struct vg_rule *r, const struct vg_resource *res,
                         struct vg_eval_result *out);
void vg_eval_result_clear(struct vg_eval_result *out);

#endif
