/*
 * One scan: collect resources with a provider, evaluate every matching
 * rule, encode each finding as ECS, write it to every output, and end with
 * the scan summary event.
 */
#ifndef VG_SCAN_H
#define VG_SCAN_H

#include "../checks/provider.h"
#include "../checks/exception.h"
#include "../checks/rule.h"
#include "../outputs/ecs.h"
#include "../outputs/output.h"
#include "err.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

struct vg_scan_opts {
    struct vg_scan_params params;       /* provider and target */
    const struct vg_ruleset *rules;     /* borrowed */
    const char *agent_name;             /* agent.name: this machine's, or agent.name */
    const char *agent_id;
    const char *namespace;
    struct vg_output *outputs;          /* borrowed */
    size_t noutputs;
    const char *state_dir;              /* the last scan is kept there for vigil report;
                                           NULL: not kept */
    struct vg_exceptions *exceptions;   /* borrowed, may be NULL; one scan at a time */
    int64_t interval_s;                 /* the scan's configured interval, written as
                                           vigil.scan.interval_s when > 0 (vigil run);
                                           0: a one-off scan, the field is left out */
    const atomic_int *cancel;           /* may be NULL; when it becomes non-zero the scan
                                           stops at the next resource (VG_ERR_LIMIT,
                                           "the scan was stopped") */
};

/* What a scan did, for the human summary and the exit code. */
struct vg_scan_result {
    struct vg_scan_stats stats;         /* its errors and expired_entries arrays are owned */
    char scan_id[VG_UUID_STR_LEN];
    char target[256];                   /* host name, for the summary */
    int64_t started_ms;
    int worst_failed;                   /* highest severity failed, -1 for none */
};

/* Runs one scan. Each finding carries vigil.previous_evaluation and
 * vigil.regression when state_dir holds the previous scan of the same
 * target (provider and target name, as agent/results.h keeps them; never
 * for demo scans); when that file is unreadable, corrupt or holds more than
 * VG_MAX_PREV_FINDINGS findings, one warning is logged and no finding of
 * the scan has the fields.
 * VG_OK when it ran to the end (findings may have failed);
 * VG_ERR_NOENT / VG_ERR_INVALID when the target cannot be scanned at all
 * (bad usage: exit 2); another error when an output failed (exit 1). errbuf
 * gets one line. The stats' arrays are freed by vg_scan_result_clear. */
enum vg_err vg_scan_run(const struct vg_scan_opts *o, struct vg_scan_result *res, char *errbuf,
                        size_t errlen);
void vg_scan_result_clear(struct vg_scan_result *res);

/* The human summary (stderr), a few lines. */
void vg_scan_print_summary(const struct vg_scan_result *res, FILE *f);

#endif
