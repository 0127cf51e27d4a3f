/*
 * Exceptions (the mutelist): configured entries that mark findings as
 * muted. A muted finding is still shipped, with `vigil.muted: true` and the
 * entry's reason; muting changes how a finding is counted, never whether it
 * is sent.
 *
 * Matching. An entry gives any of: rules (rule id globs), resources
 * (resource.id globs), accounts (res->account globs), regions (res->region
 * globs), hosts (target->host_name globs), tags (key: value pairs). Every
 * criterion the entry gives must match (AND); within one list any pattern
 * may match (OR); entries are alternatives, and the first matching entry
 * in the file's order is the one reported. Globs are fnmatch(3) with flags
 * 0 in the C locale: `*` also matches `/` and `.`, `?` is one byte, `[...]`
 * a set, `\` escapes, case counts. A tag matches
 * when the resource's tags object has that key with exactly that string
 * value. A criterion whose field the finding lacks (no region, no account,
 * no tags, no target) does not match. An empty list counts as not given;
 * an entry that gives no criterion at all is refused.
 *
 * Expiry. `expires: 2026-06-30` mutes until the end of that day, UTC
 * (2026-06-30T23:59:59.999Z included); an RFC 3339 time mutes up to and
 * including that instant. An expired entry never mutes. Expired entries are
 * reported once per scan, every one of them, with the number of findings
 * it would have muted (possibly 0), so the operator sees a stale entry even
 * when it no longer matches anything.
 *
 * Use in a scan:
 *
 *     vg_exceptions_reset(x);                       at the start
 *     e = vg_exceptions_match(x, rule->id, res, &info, now_ms);
 *     f.muted = e != NULL; f.mute_reason = e ? e->reason : NULL;
 *     vg_exceptions_log_expired(x, now_ms);         at the end
 *
 * Cost. Compiling indexes the entries. The rules criterion of every entry
 * is evaluated once per distinct rule id and kept as a bit set (up to
 * VG_MAX_EXCEPTION_RULE_CACHE rule ids, then computed per call). Entries
 * whose resource patterns all begin with a literal head ("arn:aws:s3:::x",
 * "arn:aws:s3:::logs-*") are found through a hash of those heads, probed
 * once per distinct head length while walking the resource id. A match
 * then costs O(entries / 64) word operations plus a full check of the
 * candidates: entries that match the rule id and either were found by the
 * resource index or give no resources or a resource glob without a head
 * ("*-logs"). Before a glob is matched, its literal head and tail and the
 * set of bytes it needs are compared with the string, which rejects most
 * non-matches in a few instructions. Measured (tests/unit/test_exception.c,
 * -O2, on a shared 2-core machine): 100,000 findings against 1,000 mixed
 * entries take 0.015 to 0.045 s; the worst shape, 1,000 head-less
 * resource globs on one rule, costs 8 to 18 us per finding of that rule
 * (about 30 to 50 us when the byte filter cannot reject them).
 *
 * A set is used by one thread at a time: matching updates the rule cache
 * and the per-scan counters.
 */
#ifndef VG_EXCEPTION_H
#define VG_EXCEPTION_H

#include "../config/config.h"
#include "provider.h"
#include "resource.h"
#include "rule.h"

#include <stddef.h>
#include <stdint.h>

struct vg_exceptions;   /* a compiled mutelist; opaque */

/* The public view of one compiled entry. Strings are copies owned by the
 * set: borrowed, valid until vg_exceptions_destroy(). */
struct vg_exception {
    size_t index;          /* position in the configuration's exceptions list, from 0 */
    const char *reason;
    const char *owner;
    const char *expires;   /* as written in the configuration */
    int64_t expires_ms;    /* the first instant (ms since the epoch) at which it
                            * no longer mutes */
    size_t muted;          /* findings it muted since vg_exceptions_reset() */
    size_t expired_hits;   /* findings it matched while expired, since the reset */
    const char *file;      /* where it was written (vg_exceptions_set_origin()); NULL: unknown */
    int line;              /* its line there, from 1; 0: unknown */
};

/* Compiles n configuration entries (n may be 0: a set that mutes nothing).
 * Copies everything it needs: ex may be freed as soon as this returns.
 * Returns the set (caller frees with vg_exceptions_destroy()) or NULL with
 * one line in errbuf naming the entry:
 *   "exceptions[2].expires: '2027-13-01' is not a date (YYYY-MM-DD) or an RFC 3339 time"
 *   "exceptions[0]: matches every finding: give at least one of rules,
 *    resources, accounts, regions, hosts, tags"
 *   "exceptions[1].reason: missing" (also owner, expires; an empty or blank
 *    reason or owner is missing too)
 *   "out of memory compiling the exceptions" */
struct vg_exceptions *vg_exceptions_new(const struct vg_config_exception *ex, size_t n,
                                        char *errbuf, size_t errlen);
void vg_exceptions_destroy(struct vg_exceptions *x);   /* NULL is a no-op */

/* The number of entries (0 for NULL), and entry i (borrowed, valid until
 * the set is destroyed; i < count). */
size_t vg_exceptions_count(const struct vg_exceptions *x);
const struct vg_exception *vg_exceptions_at(const struct vg_exceptions *x, size_t i);

/* The first entry, in configuration order, that mutes the finding of rule
 * rule_id on resource res at time now_ms, or NULL. Borrowed, valid until
 * the set is destroyed. target may be NULL (then no entry that gives hosts
 * matches); x may be NULL (nothing is muted). Counts the entry's `muted`,
 * and `expired_hits` of every expired entry that matches the finding. Never
 * fails: when memory for the rule cache runs out it computes without it. */
const struct vg_exception *vg_exceptions_match(struct vg_exceptions *x, const char *rule_id,
                                               const struct vg_resource *res,
                                               const struct vg_target_info *target,
                                               int64_t now_ms);

/* Sets every entry's muted and expired_hits to 0: call at the start of a
 * scan. NULL is a no-op. */
void vg_exceptions_reset(struct vg_exceptions *x);

/* The entries expired at now_ms, in configuration order: writes up to max
 * of their indices to out_idx (may be NULL when max is 0) and returns how
 * many there are in all. */
size_t vg_exceptions_expired(const struct vg_exceptions *x, int64_t now_ms, size_t *out_idx,
                             size_t max);

/* Writes the warning for an expired entry into buf (terminated when len > 0):
 *   "exceptions[3] (owner platform-team, reason 'legacy bucket') expired on
 *    2026-06-30 and no longer mutes: it matched 4 findings in this scan"
 * Control characters of owner and reason become spaces; a reason longer
 * than 160 bytes is cut and ends in "...". */
void vg_exceptions_expired_message(const struct vg_exception *e, char *buf, size_t len);

/* Records where entry i was written, for vg_exceptions_expired_entry():
 * file (copied; NULL: unknown) and line (from 1; 0: unknown), as the
 * configuration loader's marks give them. VG_ERR_INVALID when x is NULL or
 * i is out of range; VG_ERR_NOMEM. */
enum vg_err vg_exceptions_set_origin(struct vg_exceptions *x, size_t i, const char *file,
                                     int line);

/* Writes an expired entry as the scan summary lists it
 * (vigil.scan.exceptions.expired_entries) into buf (terminated when
 * len > 0):
 *   "/etc/vigil/vigil.yml:42: legacy bucket (owner platform-team, expired 2026-06-30)"
 * The place is "FILE:LINE" from vg_exceptions_set_origin(); without a line
 * "FILE: exceptions[3]", without a file "exceptions[3]". The date is that
 * of expires as written (an RFC 3339 time gives its date). Control
 * characters become spaces; a reason longer than 160 bytes or an owner
 * longer than 80 is cut and ends in "...". */
void vg_exceptions_expired_entry(const struct vg_exception *e, char *buf, size_t len);

/* Logs that warning (VG_LOG_WARN, area "exceptions") for every entry expired
 * at now_ms, and returns how many it logged. Call once, at the end of a
 * scan, so each expired entry is reported once per scan. NULL logs nothing. */
size_t vg_exceptions_log_expired(const struct vg_exceptions *x, int64_t now_ms);

/* For `vigil config check`: the entries whose rules globs match no rule id
 * of rules (entries without rules are never listed). Writes up to max of
 * their indices to out_idx (may be NULL when max is 0), in configuration
 * order, and returns how many there are in all. */
size_t vg_exceptions_unmatched(const struct vg_exceptions *x, const struct vg_ruleset *rules,
                               size_t *out_idx, size_t max);

#endif
