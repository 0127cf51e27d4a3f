/*
 * The last-scan store: the findings of the latest complete scan of each
 * target, kept in the state directory for `vigil report`.
 *
 * On disk, one file per target, replaced whole by each scan that ends well:
 *
 *   STATE_DIR/results/                      mode 0750, created on demand
 *     host-web-01.ndjson                    <provider>-<target key>.ndjson
 *     host-db-01.ndjson                     mode 0640
 *     .host-web-01.ndjson.4242.tmp          a scan in progress (pid 4242)
 *
 * A results file is NDJSON: each line is one encoded ECS event exactly as
 * the outputs received it (findings, and the scan summary event if the
 * scan adds it), each ending with '\n'. The target key is the target's name
 * (host name, account id) made filesystem-safe: bytes other than
 * [A-Za-z0-9._-] become '_', the name is cut at VG_RESULTS_MAX_KEY bytes,
 * and when either happened "-" and 8 hex digits of the SHA-256 of the
 * original name are appended, so distinct targets never share a file.
 *
 * Atomicity: lines go to the dot-temp file; commit flushes it, fsyncs it,
 * renames it over the target's file and fsyncs the directory. A crash, an
 * abort, or a failure at any step leaves the previous file as it was. Temp
 * files left by a crashed scan (their pid no longer runs) are removed by
 * the next vg_results_begin() of the same target; readers ignore dot files.
 */
#ifndef VG_RESULTS_H
#define VG_RESULTS_H

#include "../checks/rule.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

/* Bounds (candidates for agent/limits.h). */
#define VG_RESULTS_MAX_FILE  (1024u << 20)   /* one results file: 1 GiB */
#define VG_RESULTS_MAX_KEY   100             /* bytes of a target key before its hash */

struct vg_results;

/* Starts the results of one scan of (provider, target): creates
 * STATE_DIR/results if needed and opens a temp file there. target may be
 * NULL or "" ("unknown"). Returns the handle, which vg_results_commit() or
 * vg_results_abort() frees; or NULL with a sentence in errbuf when the
 * state directory cannot be written (the scan goes on without a store). */
struct vg_results *vg_results_begin(const char *state_dir, const char *provider,
                                    const char *target, char *errbuf, size_t errlen);

/* Adds one encoded event line (len bytes, without a newline; it must not
 * hold one). VG_ERR_INVALID for an empty line or one holding '\n',
 * VG_ERR_LIMIT when the file would pass VG_RESULTS_MAX_FILE, VG_ERR_IO when
 * the write fails. After VG_ERR_LIMIT or VG_ERR_IO the handle is spoilt:
 * later adds return the same error and commit refuses (a partial set never
 * replaces a complete one). NULL r: VG_ERR_INVALID. */
enum vg_err vg_results_add(struct vg_results *r, const char *line, size_t len);

/* Makes the lines added the target's results, atomically, and frees r.
 * On any failure (a spoilt handle, fsync, rename) the temp file is removed,
 * the previous results stay, and errbuf says why. NULL r: VG_ERR_INVALID. */
enum vg_err vg_results_commit(struct vg_results *r, char *errbuf, size_t errlen);

/* Drops the lines added (the scan failed) and frees r; the previous
 * results stay. NULL is a no-op. */
void vg_results_abort(struct vg_results *r);

/* The path the results of (provider, target) are committed to, written
 * into out (outlen bytes). VG_ERR_LIMIT when it does not fit. */
enum vg_err vg_results_path(const char *state_dir, const char *provider, const char *target,
                            char *out, size_t outlen);

/* ---- the previous scan's evaluations ------------------------------------
 *
 * What the last committed scan of a target found for each (rule.id,
 * resource.id) pair, read back from the target's results file (the same
 * (provider, target) naming as above: a host and an AWS account each have
 * their own), for vigil.previous_evaluation and vigil.regression.
 *
 * Compact: a pair is kept as a 128-bit SipHash-2-4 of "rule.id NUL
 * resource.id" under a key drawn for each store, not as text: at most 24
 * bytes a pair (24 MiB at VG_MAX_PREV_FINDINGS, up to about 32 MiB while
 * the arrays last grow). Two of a million pairs share a hash with
 * probability about 2^-86. A lookup tries first the pair after the one it
 * found last: a scan that meets its pairs in the previous scan's order
 * reads the store in sequence. Ids are compared as the results file spells
 * them: a byte of an id that is not UTF-8 is written there as U+FFFD, and
 * a lookup does the same.
 *
 * All or nothing: a file that cannot be read whole (unreadable, not JSON
 * lines, a finding without rule.id, resource.id or a known
 * result.evaluation, more findings than the cap) gives no store at all,
 * never the part read before the trouble: in one scan, either every
 * finding whose pair the previous scan held has the fields, or none has
 * (and the caller says why). A pair the file holds twice with different
 * evaluations is ambiguous and is not found. Lines that are not findings
 * (the scan summary: event.dataset other than vigil.findings) are passed
 * over. */
struct vg_results_prev;

/* Reads the results file of (provider, target) in state_dir, keeping at
 * most max_pairs pairs. VG_OK: *out is the store (caller frees with
 * vg_results_prev_destroy(); it may hold no pair). Otherwise *out is NULL
 * and errbuf has one sentence naming the file: VG_ERR_NOENT when there is
 * no previous scan of that target (the first scan: nothing to warn about);
 * VG_ERR_LIMIT when the file passes VG_RESULTS_MAX_FILE or holds more than
 * max_pairs findings; VG_ERR_PARSE when it is corrupt ("FILE:LINE: ...");
 * VG_ERR_IO or VG_ERR_PERM when it cannot be read; VG_ERR_NOMEM. */
enum vg_err vg_results_prev_load(const char *state_dir, const char *provider, const char *target,
                                 size_t max_pairs, struct vg_results_prev **out, char *errbuf,
                                 size_t errlen);

/* The previous evaluation of (rule_id, resource_id) into *out: true when
 * the previous scan held the pair (once, or always with that evaluation);
 * false when it did not, or p is NULL. Never allocates for ids up to a few
 * hundred bytes. It moves p's cursor: one thread at a time. */
bool vg_results_prev_lookup(struct vg_results_prev *p, const char *rule_id,
                            const char *resource_id, enum vg_eval *out);

/* Pairs held (ambiguous ones included); 0 for NULL. */
size_t vg_results_prev_count(const struct vg_results_prev *p);

void vg_results_prev_destroy(struct vg_results_prev *p);   /* NULL is a no-op */

#endif
