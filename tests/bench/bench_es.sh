#!/usr/bin/env bash
# Shipping benchmark: Vigil's spool + Elasticsearch output against rsyslog's
# omelasticsearch, both sending bulk requests to the same sink on loopback
# (tests/bench/bulk_sink.c). Prints events per second, CPU seconds per
# million events and peak RSS. Not a test: it asserts only that every event
# arrived, with the right _id.
#
#   bash tests/bench/bench_es.sh [EVENTS] [options]     (EVENTS default 1000000)
#   bash tests/bench/bench_es.sh 20000                  (smoke: a few seconds)
#
# Options:
#   --vigil PATH      use this vigil binary (default: build Release in
#                     build-bench/ of the source tree)
#   --repeat N        run every row N times; the table shows the median
#                     of each column (peak RSS: the largest) and the
#                     spread (default 1)
#   --no-rsyslog      skip the rsyslog row (also skipped, with a note, when
#                     rsyslogd or its omelasticsearch module is missing:
#                     VG_BENCH_DEPS=1 packaging/install-deps.sh installs them)
#   --perf            also record the gzip-1 disk-spool Vigil run with
#                     `perf record --call-graph dwarf` and print the share
#                     of CPU samples per stage (tests/bench/perf_stages.py)
#                     and the top symbols
#   --keep            keep the work directory (configs, logs, lines, perf.data)
#   --workdir DIR     work directory (default: a new /tmp/vigil-bench.XXXXXX)
#
# Rows:
#   vigil scan only      `vigil scan --output file:/dev/null`: what making
#                        the findings costs, without any shipping
#   vigil es gzip1 disk  the default: disk spool (fsync batch), gzip level 1
#   vigil es gzip0 disk  disk spool, uncompressed bodies (as rsyslog sends)
#   vigil es gzip1 mem   spool.type memory, for reference
#   rsyslog omes         rsyslogd -n (private instance): imfile reads the same
#                        findings as NDJSON lines, omelasticsearch
#                        bulkmode="on" writeoperation="create" with the
#                        event id as bulkid, uncompressed (8.2302 cannot
#                        compress)
# Vigil's process both scans (makes the findings) and ships them; its wall
# time is the whole process, start to exit (/usr/bin/time). rsyslog only
# reads lines from a file; its wall time is the sink's window from the first
# bulk request to the last answer, its CPU is utime+stime of the process
# (/proc/PID/stat) and its peak RSS is VmHWM, both read just before it is
# stopped.
set -euo pipefail

EVENTS=1000000
VIGIL=""
REPEAT=1
RSYSLOG=1
PERF=0
KEEP=0
WORK=""
while [ $# -gt 0 ]; do
    case "$1" in
        --vigil) VIGIL="$2"; shift 2 ;;
        --repeat) REPEAT="$2"; shift 2 ;;
        --no-rsyslog) RSYSLOG=0; shift ;;
        --perf) PERF=1; shift ;;
        --keep) KEEP=1; shift ;;
        --workdir) WORK="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
                   exit 0 ;;
        [0-9]*) EVENTS="$1"; shift ;;
        *) echo "bench_es: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
done
case "$EVENTS$REPEAT" in *[!0-9]*) echo "bench_es: EVENTS and --repeat are numbers" >&2; exit 2 ;; esac
if [ "$EVENTS" -lt 4 ] || [ "$REPEAT" -lt 1 ]; then
    echo "bench_es: EVENTS must be at least 4 and --repeat at least 1" >&2
    exit 2
fi

SRC="$(cd "$(dirname "$0")/../.." && pwd)"
PY=/usr/bin/python3
for tool in cc curl "$PY" /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench_es: $tool is needed" >&2; exit 2; }
done
RSYSLOGD="$(command -v rsyslogd || true)"
[ -n "$RSYSLOGD" ] || RSYSLOGD=/usr/sbin/rsyslogd
if [ "$RSYSLOG" = 1 ]; then
    if [ ! -x "$RSYSLOGD" ] || ! ls /usr/lib/*/rsyslog/omelasticsearch.so >/dev/null 2>&1; then
        echo "bench_es: rsyslogd or omelasticsearch missing (VG_BENCH_DEPS=1" \
             "packaging/install-deps.sh): no rsyslog row" >&2
        RSYSLOG=0
    fi
fi
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then
    echo "bench_es: --perf needs perf (apt-get install linux-perf)" >&2
    exit 2
fi

RESOURCES=$(( (EVENTS + 3) / 4 ))
FINDINGS=$(( RESOURCES * 4 ))
EXPECT=$(( FINDINGS + 1 ))         # every finding and the scan summary event

if [ -z "$WORK" ]; then
    WORK="$(mktemp -d /tmp/vigil-bench.XXXXXX)"
else
    mkdir -p "$WORK"
    WORK="$(cd "$WORK" && pwd)"
fi
SINK_PID=""
RS_PID=""
cleanup() {
    if [ -n "$RS_PID" ]; then kill "$RS_PID" 2>/dev/null || true; fi
    if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    if [ "$KEEP" = 1 ]; then
        echo "bench_es: work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

say() { echo "bench_es: $*" >&2; }

# ---- build ---------------------------------------------------------------
cc -O2 -Wall -o "$WORK/bulk_sink" "$SRC/tests/bench/bulk_sink.c" -lz
if [ -z "$VIGIL" ]; then
    say "building Vigil (Release) in $SRC/build-bench"
    cmake -S "$SRC" -B "$SRC/build-bench" -DCMAKE_BUILD_TYPE=Release >"$WORK/cmake.log" 2>&1 ||
        { cat "$WORK/cmake.log" >&2; exit 1; }
    cmake --build "$SRC/build-bench" --target vigil -j2 >>"$WORK/cmake.log" 2>&1 ||
        { tail -30 "$WORK/cmake.log" >&2; exit 1; }
    VIGIL="$SRC/build-bench/vigil"
fi
[ -x "$VIGIL" ] || { echo "bench_es: $VIGIL is not executable" >&2; exit 2; }

# ---- sink ----------------------------------------------------------------
"$WORK/bulk_sink" -f "$WORK/sink.port" >/dev/null 2>"$WORK/sink.err" &
SINK_PID=$!
deadline=$((SECONDS + 10))
while [ ! -s "$WORK/sink.port" ]; do
    kill -0 "$SINK_PID" 2>/dev/null || { cat "$WORK/sink.err" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "bench_es: the sink did not start" >&2; exit 1; }
    sleep 0.05
done
PORT="$(cat "$WORK/sink.port")"
SINK="http://127.0.0.1:$PORT"
sink_get() { curl -sS --max-time 10 "$SINK$1"; }
sink_reset() { curl -sS --max-time 10 -XPOST "$SINK/_reset" >/dev/null; }
# COUNT=the sink's event count, with bash's /dev/tcp: polling forks nothing
# that would compete with the shipper for the CPU
sink_count() {
    local line
    COUNT=0
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 0
    printf 'GET /_count HTTP/1.0\r\n\r\n' >&3
    while IFS= read -r line <&3; do
        line="${line%$'\r'}"
        [ -n "$line" ] || break
    done
    read -r COUNT <&3 || true
    exec 3<&-
    case "$COUNT" in ''|*[!0-9]*) COUNT=0 ;; esac
}
# one field of /_stats
stat_of() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
# record NAME EVENTS WALL CPU_USER CPU_SYS RSS_KB SINK_CPU
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

# the events arrived, each once per _id check, none refused
check_sink() {
    local name="$1" want="$2" s
    s="$(sink_get /_stats)"
    local ev bad badreq
    ev="$(stat_of "$s" events)"; bad="$(stat_of "$s" ids_bad)"; badreq="$(stat_of "$s" bad_requests)"
    if [ "$ev" -ne "$want" ] || [ "$bad" -ne 0 ] || [ "$badreq" -ne 0 ]; then
        echo "bench_es: $name: the sink counted $ev events (want $want), $bad wrong ids," \
             "$badreq refused requests" >&2
        exit 1
    fi
    echo "$s" >"$WORK/$name.sink.json"
}

write_config() {   # FILE STATE_DIR EXTRA_YAML
    {
        echo "agent:"
        echo "  state_dir: $2"
        echo "scans:"
        echo "  - provider: demo"
        echo "    resources: $RESOURCES"
        printf '%s\n' "$3"
    } >"$1"
    chmod 600 "$1"
}

# ---- Vigil -------------------------------------------------------------
# run_vigil NAME EXTRA_YAML [--scan-only] [--perf]
run_vigil() {
    local name="$1" extra="$2" mode="${3:-}" cfg="$WORK/$1.yml" state="$WORK/$1.state"
    rm -rf "$state"
    write_config "$cfg" "$state" "$extra"
    local args=(scan --config "$cfg" --timeout 0)
    local pre=()
    if [ "$mode" = --scan-only ]; then
        args+=(--output file:/dev/null)
    elif [ "$mode" = --perf ]; then
        pre=(perf record -F 199 --call-graph "dwarf,16384" -o "$WORK/perf.data" --)
    fi
    sink_reset
    if ! /usr/bin/time -o "$WORK/$name.time" -f '%e %U %S %M' "${pre[@]}" "$VIGIL" "${args[@]}" \
            >/dev/null 2>"$WORK/$name.log"; then
        echo "bench_es: $name: vigil failed:" >&2
        tail -5 "$WORK/$name.log" >&2
        exit 1
    fi
    if [ "$mode" = --scan-only ]; then
        grep -q "$FINDINGS findings" "$WORK/$name.log" ||
            { echo "bench_es: $name: unexpected summary" >&2; cat "$WORK/$name.log" >&2; exit 1; }
    else
        grep -q "elasticsearch: $EXPECT events delivered" "$WORK/$name.log" ||
            { echo "bench_es: $name: unexpected delivery" >&2; tail -3 "$WORK/$name.log" >&2; exit 1; }
        check_sink "$name" "$EXPECT"
    fi
    if [ "$mode" = --perf ]; then
        return 0
    fi
    local wall user sys rss sinkcpu=0
    read -r wall user sys rss <"$WORK/$name.time"
    if [ "$mode" != --scan-only ]; then
        sinkcpu=$(stat_of "$(cat "$WORK/$name.sink.json")" cpu_s)
    fi
    record "$name" "$EXPECT" "$wall" "$user" "$sys" "$rss" "$sinkcpu"
    say "$(printf '%-22s %8s s  cpu %6.2f s  rss %6d KiB' "$name" "$wall" \
        "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u + s}')" "$rss")"
}

ES_BASE="outputs:
  elasticsearch:
    hosts: [\"$SINK\"]"

# ---- rsyslog -------------------------------------------------------------
LINES="$WORK/lines.ndjson"
make_lines() {
    if [ -s "$LINES" ]; then
        return 0
    fi
    local cfg="$WORK/lines.yml"
    write_config "$cfg" "$WORK/lines.state" ""
    "$VIGIL" scan --config "$cfg" --timeout 0 --output "file:$LINES" 2>"$WORK/lines.log" >/dev/null
    local n
    n=$(wc -l <"$LINES")
    [ "$n" -eq "$EXPECT" ] || { echo "bench_es: $LINES has $n lines, want $EXPECT" >&2; exit 1; }
}

run_rsyslog() {
    local name="rsyslog omes" dir="$WORK/rsyslog"
    rm -rf "$dir"
    mkdir -p "$dir"
    make_lines
    # the event id is the Nth field when a line is split at '"'; found from
    # the first line, and checked for every event by the sink
    local idf
    idf=$(head -1 "$LINES" | awk -F'"' '{for (i = 1; i < NF - 1; i++) if ($i == "id" && $(i+1) == ":") { print i + 2; exit }}')
    [ -n "$idf" ] || { echo "bench_es: no id in the first line of $LINES" >&2; exit 1; }
    cat >"$dir/rsyslog.conf" <<EOF
global(workDirectory="$dir" maxMessageSize="64k")
module(load="imfile" mode="inotify")
module(load="omelasticsearch")
template(name="doc" type="list") { property(name="msg") }
template(name="docid" type="list") {
  property(name="msg" field.delimiter="34" field.number="$idf")
}
ruleset(name="ship" queue.type="LinkedList" queue.size="100000"
        queue.dequeueBatchSize="1600" queue.workerThreads="1") {
  action(type="omelasticsearch" server="127.0.0.1" serverport="$PORT"
         template="doc" searchIndex="logs-vigil.findings-default"
         esVersion.major="8" bulkmode="on" maxbytes="5m"
         writeoperation="create" bulkid="docid" dynbulkid="on")
}
input(type="imfile" file="$LINES" tag="vigil" ruleset="ship" freshStartTail="off")
*.* action(type="omfile" file="$dir/internal.log")
EOF
    "$RSYSLOGD" -N1 -f "$dir/rsyslog.conf" >"$dir/check.log" 2>&1 ||
        { cat "$dir/check.log" >&2; exit 1; }
    sink_reset
    "$RSYSLOGD" -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >"$dir/stdout.log" 2>&1 &
    RS_PID=$!
    local deadline=$((SECONDS + 600))
    while :; do
        sink_count
        [ "$COUNT" -ge "$EXPECT" ] && break
        if ! kill -0 "$RS_PID" 2>/dev/null; then
            echo "bench_es: rsyslogd exited:" >&2
            cat "$dir/stdout.log" "$dir/internal.log" >&2 2>/dev/null || true
            exit 1
        fi
        [ $SECONDS -lt $deadline ] ||
            { echo "bench_es: rsyslog: $COUNT of $EXPECT events after 600 s" >&2; exit 1; }
        sleep 0.1
    done
    # CPU and peak RSS just before stopping it
    local tck stat hwm
    tck=$(getconf CLK_TCK)
    stat="$(cat "/proc/$RS_PID/stat")"
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$RS_PID/status")
    kill "$RS_PID"
    wait "$RS_PID" 2>/dev/null || true
    RS_PID=""
    check_sink rsyslog "$EXPECT"
    local user sys wall
    # fields after the ")" of comm: utime is the 12th, stime the 13th
    user=$(echo "${stat##*) }" | awk -v t="$tck" '{printf "%.2f", $12 / t}')
    sys=$(echo "${stat##*) }" | awk -v t="$tck" '{printf "%.2f", $13 / t}')
    wall=$(stat_of "$(cat "$WORK/rsyslog.sink.json")" window_s)
    record "$name" "$EXPECT" "$wall" "$user" "$sys" "$hwm" \
        "$(stat_of "$(cat "$WORK/rsyslog.sink.json")" cpu_s)"
    say "$(printf '%-22s %8s s  cpu %6.2f s  rss %6d KiB' "$name" "$wall" \
        "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u + s}')" "$hwm")"
}

# ---- the runs --------------------------------------------------------------
say "$EXPECT events ($RESOURCES demo resources x 4 findings + the scan event), sink on $SINK, work dir $WORK"
for ((r = 1; r <= REPEAT; r++)); do
    if [ "$REPEAT" -gt 1 ]; then
        say "round $r of $REPEAT"
    fi
    run_vigil "vigil scan only" "" --scan-only
    run_vigil "vigil es gzip1 disk" "$ES_BASE"
    run_vigil "vigil es gzip0 disk" "$ES_BASE
    compression_level: 0"
    run_vigil "vigil es gzip1 mem" "$ES_BASE
spool:
  type: memory"
    if [ "$RSYSLOG" = 1 ]; then
        run_rsyslog
    fi
done

if [ "$PERF" = 1 ]; then
    say "perf record of 'vigil es gzip1 disk'"
    run_vigil "vigil es perf" "$ES_BASE" --perf
fi

# ---- the table -------------------------------------------------------------
"$PY" - "$RESULTS" "$REPEAT" <<'EOF'
import statistics, sys
rows = {}
order = []
for line in open(sys.argv[1]):
    name, ev, wall, user, sysc, rss, sink = line.rstrip("\n").split("\t")
    if name not in rows:
        rows[name] = []
        order.append(name)
    ev, wall, cpu, rss = int(ev), float(wall), float(user) + float(sysc), int(rss)
    rows[name].append({"ev": ev, "wall": wall, "eps": ev / wall if wall > 0 else 0.0,
                       "cpu": cpu, "cpum": cpu / ev * 1e6, "rss": rss / 1024.0,
                       "sink": float(sink)})
repeat = int(sys.argv[2])
# per column: the median over the runs (peak RSS: the largest)
med = {}
for name in order:
    runs = rows[name]
    wall = statistics.median(r["wall"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    ev = runs[0]["ev"]
    med[name] = {"ev": ev, "wall": wall, "eps": ev / wall if wall > 0 else 0.0, "cpu": cpu,
                 "cpum": cpu / ev * 1e6, "rss": max(r["rss"] for r in runs),
                 "sink": statistics.median(r["sink"] for r in runs)}
note = {"vigil scan only": " (scan, no shipping)",
        "vigil es gzip1 disk": " (scan + ship)",
        "vigil es gzip0 disk": " (scan + ship)",
        "vigil es gzip1 mem": " (scan + ship)",
        "rsyslog omes": " (ship only)"}
print()
hdr = "| shipper | events | wall s | events/s | CPU s | CPU s per 1M events | peak RSS MiB |"
if repeat > 1:
    hdr += " events/s min-max | CPU s/1M min-max |"
print(hdr)
print("|---" * (hdr.count("|") - 1) + "|")
for name in order:
    m = med[name]
    line = "| %s%s | %d | %.2f | %.0f | %.2f | %.2f | %.1f |" % (
        name, note.get(name, ""), m["ev"], m["wall"], m["eps"], m["cpu"], m["cpum"], m["rss"])
    if repeat > 1:
        eps = [r["eps"] for r in rows[name]]
        cpm = [r["cpum"] for r in rows[name]]
        line += " %.0f-%.0f | %.2f-%.2f |" % (min(eps), max(eps), min(cpm), max(cpm))
    print(line)
print()
scan = med.get("vigil scan only")
rs = med.get("rsyslog omes")
for name in ("vigil es gzip1 disk", "vigil es gzip0 disk", "vigil es gzip1 mem"):
    v = med.get(name)
    if not v:
        continue
    parts = []
    if scan:
        parts.append("shipping alone (minus scan only): %.2f CPU s per 1M events"
                     % (v["cpum"] - scan["cpum"]))
    if rs and rs["eps"] > 0 and rs["cpum"] > 0:
        parts.append("events/s %.2fx rsyslog, CPU per event %.2fx rsyslog's"
                     % (v["eps"] / rs["eps"], v["cpum"] / rs["cpum"]))
    print("%s: %s" % (name, "; ".join(parts)))
sinks = ["%s %.2f" % (n, med[n]["sink"]) for n in order if med[n]["sink"] > 0]
print("sink CPU s (the sink's own, median): " + ", ".join(sinks))
print("wall: Vigil's whole process (start, scan, delivery, exit; stdout to /dev/null);"
      " rsyslog's first to last bulk request at the sink")
if order and rows[order[0]][0]["ev"] < 200000:
    print("note: with fewer than 200000 events start-up and flush timers dominate; this run "
          "shows the pipeline works, its ratios mean little")
EOF

if [ "$PERF" = 1 ]; then
    echo
    echo "perf (vigil es gzip1 disk): share of CPU samples by stage"
    perf script -i "$WORK/perf.data" -F tid,ip,sym 2>/dev/null >"$WORK/perf.script"
    "$PY" "$SRC/tests/bench/perf_stages.py" "$WORK/perf.script"
    echo
    echo "perf: share of samples by shared object"
    perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
        grep -E '^ +[0-9]' | head -10
    echo
    echo "perf: top symbols (self)"
    perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
        grep -E '^ +[0-9]' | head -25
fi
