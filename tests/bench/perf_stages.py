#!/usr/bin/python3
"""Shares of a Vigil profile by pipeline stage.

    perf record -F 199 --call-graph dwarf,16384 -o perf.data -- vigil scan ...
    perf script -i perf.data -F tid,ip,sym > perf.script
    /usr/bin/python3 tests/bench/perf_stages.py perf.script

Each sample's call chain is walked from the leaf up; the first frame that
names a stage decides the sample's stage (so zstd under vg_spool_append
counts as the spool's append, not as the scan that called it). Samples
whose chain names no stage (broken unwinding, libc start-up) are "other".
Standard library only.
"""
import collections
import sys

# (stage, functions that mark it), in the order they are tested per frame
STAGES = [
    ("ship: gzip of bulk bodies (zlib deflate + crc32)", {"vg_es_gzip"}),
    ("ship: bulk response parsing (yajl)",
     {"vg_es_resp_feed", "vg_es_resp_end", "vg_es_resp_begin"}),
    ("ship: bulk body building (event meta scan + action lines)",
     {"vg_es_event_meta", "vg_es_bulk_append"}),
    ("spool: read (pread, CRC, zstd decompress)",
     {"vg_spool_read", "vg_spool_batch_release"}),
    ("spool: cursor acks (write, fsync, rename)", {"vg_spool_ack", "do_ack"}),
    ("spool: append (zstd compress, CRC, pwrite, fdatasync)", {"vg_spool_append"}),
    ("spool: batching events before append", {"spool_write"}),
    ("ship: curl, HTTP and kernel TCP",
     {"curl_multi_perform", "curl_multi_poll", "curl_multi_add_handle",
      "curl_multi_remove_handle", "curl_multi_info_read", "reap", "finish",
      "send_req", "send_req.constprop.0"}),
    ("scan: stdout/file output", {"fd_write", "fd_flush", "write_all"}),
    ("scan: event.id (SHA-256)", {"vg_ecs_event_id"}),
    ("scan: ECS encoding", {"vg_ecs_finding_write"}),
    ("scan: rule evaluation", {"vg_rule_eval_at", "vg_rule_eval", "vg_cond_eval"}),
    ("scan: demo resources", {"make_resource", "vg_resource_destroy", "vg_resource_new"}),
    ("scan: rest of evaluate() (rule lookup by type, counting, clock)", {"evaluate"}),
    ("delivery loop: rest", {"run"}),
    ("start-up (config, rules)", {"load_rules", "load_config", "vg_ruleset_load_path"}),
]


def stage_of(stack):
    for frame in stack:
        for name, marks in STAGES:
            if frame in marks:
                return name
    return "other"


def main(path):
    counts = collections.Counter()
    total = 0
    stack = []

    def flush():
        nonlocal total, stack
        if stack:
            total += 1
            counts[stage_of(stack)] += 1
        stack = []

    with open(path, errors="replace") as f:
        for line in f:
            s = line.strip()
            if not s or not (line.startswith("\t") or line.startswith(" ")):
                flush()   # a sample's header line or the blank line after it
                continue
            parts = s.split(None, 1)
            sym = parts[1] if len(parts) > 1 else ""
            stack.append(sym.replace(" (inlined)", "").strip())
    flush()
    if not total:
        print("no samples in %s" % path)
        return 1
    for name, n in counts.most_common():
        print("%6.1f%%  %s" % (100.0 * n / total, name))
    print("%d samples" % total)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: perf_stages.py PERF_SCRIPT_OUTPUT", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
