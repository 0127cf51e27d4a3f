/*
 * IAM policy documents: parsing (IAM hands them out URL-encoded) and the
 * analyses the rules need: full administrative access, privilege
 * escalation action sets, and an S3 bucket policy's deny of plain HTTP.
 *
 * The grammar read (https://docs.aws.amazon.com/IAM/latest/UserGuide/
 * reference_policies_grammar.html): Statement is one object or an array
 * of them; in each, Effect is "Allow" or "Deny"; exactly one of Action and
 * NotAction, and at most one of Resource and NotResource, each a string or
 * an array of strings; Condition an object. Anything else is an error
 * naming the statement ("Statement 2: Action is a number"), so a field
 * built from a malformed document is unknown, never passed.
 *
 * Matching is IAM's: `*` matches any run of characters (also none, also
 * ':' and '/'), `?` exactly one; action names compare without regard to
 * case, resources (ARNs) with.
 *
 * Conditions are ignored in the direction that cannot pass a violation:
 * an Allow with a Condition still counts as granting (it grants when its
 * condition holds), a Deny with a Condition does not count as denying (it
 * may not apply). Only the secure-transport test reads a condition, the
 * one it looks for.
 */
#ifndef VG_AWS_POLICY_H
#define VG_AWS_POLICY_H

#include "../../agent/err.h"
#include "../../agent/json.h"

#include <stdbool.h>
#include <stddef.h>

/* Bound on one policy document, decoded (IAM's own limit is 10 KiB for
 * inline and 6 KiB for managed policies, S3's 20 KiB; room to spare). */
#define VG_AWS_MAX_POLICY (256u << 10)

/* Parses a policy document: JSON, or URL-encoded JSON (the form IAM's
 * query answers carry: "%7B%22Version%22..."), told apart by the first
 * character that is not white space. Returns the document (caller frees
 * with vg_json_free()), or NULL with a one-line sentence in errbuf
 * ("policy document: bad URL encoding", "policy document: offset 17:
 * ...", "policy document: Statement 2: Effect is \"allow\""). The shape is
 * checked as vg_aws_policy_check() does. */
struct vg_json *vg_aws_policy_parse(const char *text, size_t len, char *errbuf, size_t errlen);

/* Checks doc against the grammar above. VG_OK or VG_ERR_PARSE with a
 * sentence. */
enum vg_err vg_aws_policy_check(const struct vg_json *doc, char *errbuf, size_t errlen);

/* IAM's wildcard match of pattern against s: '*' any run, '?' one
 * character; nocase for action names. Linear in memory, O(len(p) *
 * len(s)) at worst: no input makes it blow up. */
bool vg_aws_wildcard_match(const char *pattern, const char *s, bool nocase);

/* True when the policy grants action (e.g. "iam:PassRole") on resource
 * (NULL: on any resource, i.e. some Allow statement's resources are not
 * all excluded), after Deny precedence: an unconditional Deny that matches
 * action and covers every resource (or resource) cancels it. A statement
 * whose resources are only the caller's own user
 * ("...:user/${aws:username}") does not count for resource NULL. why, when
 * not NULL, gets the granting statement's label ("Sid admin" or
 * "statement 2"). doc must have passed vg_aws_policy_check(). */
bool vg_aws_policy_allows(const struct vg_json *doc, const char *action, const char *resource,
                          char *why, size_t whylen);

/* The analyses of one policy. */
struct vg_aws_policy_report {
    bool admin;                 /* an Allow of every action on every resource */
    char admin_statement[128];  /* its label, and how ("Sid AllowAll: Action \"*\"") */
    size_t nescalations;        /* escalation sets fully granted */
    /* The sets granted, each "iam:PassRole + ec2:RunInstances", "; "
     * between them; truncated with "..." when long. */
    char escalations[1024];
};

/* Analyses doc (which must have passed vg_aws_policy_check()).
 *
 * admin: some Allow statement has Action matching every action ("*",
 * "*:*") or a NotAction (everything but a list is full administration in
 * all but name), and Resource "*" (or "arn:*", or a NotResource). An
 * unconditional Deny of every action on every resource cancels it; a
 * partial Deny does not (the grant is still administrative).
 *
 * escalations: every set of the escalation table (the known paths:
 * iam:CreatePolicyVersion, iam:SetDefaultPolicyVersion,
 * iam:AttachUserPolicy, iam:PassRole with ec2:RunInstances, ...) whose
 * every action vg_aws_policy_allows() on any resource. */
void vg_aws_policy_analyse(const struct vg_json *doc, struct vg_aws_policy_report *out);

/* The escalation table, for documentation and tests: sets of actions,
 * each NULL-terminated, the table ended by NULL. */
extern const char *const *const vg_aws_escalation_sets[];

/* True when the bucket policy doc denies requests over plain HTTP to the
 * bucket's objects: a Deny statement with Principal "*" (or {"AWS": "*"}),
 * an Action whose whole value is "s3:*" or "*" (one of the array's
 * elements; "s3:Get*" is not), a Resource covering
 * the bucket's objects (arn:PARTITION:s3:::BUCKET/ and any key), and Condition {"Bool": {"aws:SecureTransport":
 * "false"}} (false as string or bool, alone or in an array). why gets the
 * statement's label, or what was missing. */
bool vg_aws_policy_denies_http(const struct vg_json *doc, const char *partition,
                               const char *bucket, char *why, size_t whylen);

#endif
