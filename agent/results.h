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

#include "err.h"

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

#endif
