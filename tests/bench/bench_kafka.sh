#!/usr/bin/env bash
# Kafka shipping benchmark: Vigil's spool + Kafka output against rsyslog's
# omkafka and against kcat (librdkafka's own command-line producer), all
# producing the same demo findings to librdkafka's mock cluster on loopback
# (tests/bench/kafka_mock.c). Prints events per second, CPU seconds per
# million events and peak RSS. Not a test: it asserts only that every event
# landed, counted in the cluster (the partitions' high watermarks), not
# taken from the producer's word.
#
#   bash tests/bench/bench_kafka.sh VIGIL_BINARY SOURCE_DIR [EVENTS] [options]
#   bash tests/bench/bench_kafka.sh build/vigil . 20000     (smoke: seconds)
#
# EVENTS defaults to 1000000 (demo resources x 4 findings, plus the scan
# event). Options:
#   --repeat N        run every row N times; the table shows the median of
#                     each column (peak RSS: the largest) and the spread
#   --partitions P    partitions of every topic (default 4)
#   --zstd-level L    zstd level of all three shippers (default 1, Vigil's
#                     default; librdkafka's own default is 3)
#   --brokers B       brokers in the mock cluster (default 1)
#   --mock PATH       the kafka_mock binary (default: BUILD/tests/kafka_mock
#                     beside VIGIL_BINARY, else built here with cc)
#   --no-rsyslog      skip the rsyslog row (also skipped, with a note, when
#                     rsyslogd or omkafka is missing)
#   --no-kcat         skip the kcat row (likewise when kcat is missing)
#                     VG_BENCH_DEPS=1 packaging/install-deps.sh installs both
#   --keep            keep the work directory (configurations, logs, lines)
#   --workdir DIR     work directory (default: a new /tmp/vigil-kbench.XXXXXX)
#
# Rows (each run gets a fresh mock cluster, so its topics start empty):
#   vigil scan only     `vigil scan --output file:/dev/null`: what making the
#                       findings costs, without any shipping
#   vigil kafka zstd    outputs.kafka with nothing but `brokers`: the
#                       defaults (idempotence, acks=all, zstd level 1, linger 5 ms,
#                       topic vigil-{event.dataset}), the default disk spool
#   rsyslog omkafka     rsyslogd -n (private instance): imfile reads the same
#                       findings as NDJSON lines; omkafka with
#                       compression.codec=zstd, compression.level, acks=all,
#                       enable.idempotence=true, partitions.auto
#   kcat                kcat -P -l LINES -z zstd -X compression.level -X acks=all
#                       -X enable.idempotence=true: librdkafka's own limit
# Vigil's and kcat's wall time is the whole process, start to exit
# (/usr/bin/time). rsyslog runs until stopped: its wall time is the window
# from the first message seen in the cluster to the last (the count is
# polled every 50 ms), its CPU is utime+stime of the process (/proc/PID/stat)
# and its peak RSS is VmHWM, both read just before it is stopped.
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
if [ $# -lt 2 ]; then
    usage >&2
    exit 2
fi
VIGIL="$1"
SRC="$2"
shift 2
EVENTS=1000000
REPEAT=1
PARTS=4
ZLEVEL=1
BROKERS=1
MOCKBIN=""
RSYSLOG=1
KCAT=1
KEEP=0
WORK=""
while [ $# -gt 0 ]; do
    case "$1" in
        --repeat|--partitions|--brokers|--mock|--workdir|--zstd-level)
            [ $# -ge 2 ] || { echo "bench_kafka: $1 needs a value" >&2; exit 2; } ;;
    esac
    case "$1" in
        --repeat) REPEAT="${2:-}"; shift 2 ;;
        --partitions) PARTS="${2:-}"; shift 2 ;;
        --zstd-level) ZLEVEL="${2:-}"; shift 2 ;;
        --brokers) BROKERS="${2:-}"; shift 2 ;;
        --mock) MOCKBIN="${2:-}"; shift 2 ;;
        --no-rsyslog) RSYSLOG=0; shift ;;
        --no-kcat) KCAT=0; shift ;;
        --keep) KEEP=1; shift ;;
        --workdir) WORK="${2:-}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        [0-9]*) EVENTS="$1"; shift ;;
        *) echo "bench_kafka: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
done
case "$EVENTS$REPEAT$PARTS$BROKERS$ZLEVEL" in
    *[!0-9]*|'') echo "bench_kafka: EVENTS, --repeat, --partitions, --brokers and --zstd-level are numbers" >&2
                 exit 2 ;;
esac
if [ "$EVENTS" -lt 4 ] || [ "$REPEAT" -lt 1 ] || [ "$PARTS" -lt 1 ] || [ "$BROKERS" -lt 1 ]; then
    echo "bench_kafka: EVENTS must be at least 4, the others at least 1" >&2
    exit 2
fi
[ -x "$VIGIL" ] || { echo "bench_kafka: $VIGIL is not executable" >&2; exit 2; }
VIGIL="$(cd "$(dirname "$VIGIL")" && pwd)/$(basename "$VIGIL")"
[ -f "$SRC/tests/bench/kafka_mock.c" ] ||
    { echo "bench_kafka: $SRC is not Vigil's source directory" >&2; exit 2; }
SRC="$(cd "$SRC" && pwd)"

PY=/usr/bin/python3
for tool in "$PY" /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench_kafka: $tool is needed" >&2; exit 2; }
done
RSYSLOGD="$(command -v rsyslogd || true)"
[ -n "$RSYSLOGD" ] || RSYSLOGD=/usr/sbin/rsyslogd
if [ "$RSYSLOG" = 1 ]; then
    if [ ! -x "$RSYSLOGD" ] || ! ls /usr/lib/*/rsyslog/omkafka.so >/dev/null 2>&1; then
        echo "bench_kafka: rsyslogd or omkafka missing (VG_BENCH_DEPS=1" \
             "packaging/install-deps.sh): no rsyslog row" >&2
        RSYSLOG=0
    fi
fi
KCATBIN="$(command -v kcat || command -v kafkacat || true)"
if [ "$KCAT" = 1 ] && [ -z "$KCATBIN" ]; then
    echo "bench_kafka: kcat missing (VG_BENCH_DEPS=1 packaging/install-deps.sh): no kcat row" >&2
    KCAT=0
fi

RESOURCES=$(( (EVENTS + 3) / 4 ))
FINDINGS=$(( RESOURCES * 4 ))
EXPECT=$(( FINDINGS + 1 ))         # every finding and the scan summary event
VIGIL_TOPICS="vigil-vigil.findings vigil-vigil.scan"
LINE_TOPIC="bench-lines"

if [ -z "$WORK" ]; then
    WORK="$(mktemp -d /tmp/vigil-kbench.XXXXXX)"
else
    mkdir -p "$WORK"
    WORK="$(cd "$WORK" && pwd)"
fi
MOCK_PID=""
RS_PID=""
SLEEPFD=""
cleanup() {
    if [ -n "$RS_PID" ]; then kill "$RS_PID" 2>/dev/null || true; fi
    if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    if [ "$KEEP" = 1 ]; then
        echo "bench_kafka: work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

say() { echo "bench_kafka: $*" >&2; }
die() { echo "bench_kafka: $*" >&2; exit 1; }

# a 50 ms pause without forking: a read that times out on a FIFO nobody
# writes to (polling must not compete with the shipper for the CPU)
mkfifo "$WORK/pause.fifo"
exec {SLEEPFD}<>"$WORK/pause.fifo"
pause() { read -r -t "$1" -u "$SLEEPFD" _ || true; }

# ---- the mock cluster ------------------------------------------------------
if [ -z "$MOCKBIN" ]; then
    MOCKBIN="$(dirname "$VIGIL")/tests/kafka_mock"
    if [ ! -x "$MOCKBIN" ]; then
        say "no $MOCKBIN: building kafka_mock with cc"
        cc -O2 -Wall -o "$WORK/kafka_mock" "$SRC/tests/bench/kafka_mock.c" -lrdkafka ||
            die "kafka_mock could not be built (librdkafka-dev)"
        MOCKBIN="$WORK/kafka_mock"
    fi
fi
[ -x "$MOCKBIN" ] || die "$MOCKBIN is not executable"

# mock_start TOPIC...: a fresh cluster; BOOTSTRAP gets its servers
mock_start() {
    coproc MOCK { exec "$MOCKBIN" serve -b "$BROKERS" -p "$PARTS" "$@" 2>>"$WORK/mock.err"; }
    BOOTSTRAP=""
    read -r -t 30 BOOTSTRAP <&"${MOCK[0]}" || true
    [ -n "$BOOTSTRAP" ] || { cat "$WORK/mock.err" >&2; die "the mock cluster did not start"; }
}
# mock_ask COMMAND...: one command to the running cluster, REPLY its answer
mock_ask() {
    printf '%s\n' "$*" >&"${MOCK[1]}"
    REPLY=""
    read -r -t 60 REPLY <&"${MOCK[0]}" || die "the mock cluster did not answer '$*'"
    case "$REPLY" in error:*) die "mock cluster: $REPLY" ;; esac
}
# COUNT: messages in the topics now
mock_count() { mock_ask count "$@"; COUNT=$REPLY; }
# mock_stop: MOCK_CPU gets its CPU seconds, then it exits (stdin closed)
mock_stop() {
    mock_ask cpu
    MOCK_CPU=$REPLY
    local fd="${MOCK[1]}" pid="$MOCK_PID"
    eval "exec $fd>&-"
    wait "$pid" 2>/dev/null || true
    MOCK_PID=""
}
# wait_count N TOPIC...: polls until the topics hold N messages (30 s)
wait_count() {
    local want="$1" deadline=$((SECONDS + 30))
    shift
    while :; do
        mock_count "$@"
        [ "$COUNT" -ge "$want" ] && return 0
        [ $SECONDS -lt $deadline ] || return 1
        pause 0.05
    done
}

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
# record NAME EVENTS WALL CPU_USER CPU_SYS RSS_KB IN_KAFKA MOCK_CPU
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }
show() {   # NAME WALL USER SYS RSS
    say "$(printf '%-20s %8s s  cpu %6.2f s  rss %6d KiB' "$1" "$2" \
        "$(awk -v u="$3" -v s="$4" 'BEGIN{print u + s}')" "$5")"
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

# the brokers as a YAML flow list and as rsyslog's array
yaml_brokers() { echo "[${BOOTSTRAP//,/, }]"; }
rs_brokers() { echo "\"${BOOTSTRAP//,/\", \"}\""; }

# ---- Vigil -------------------------------------------------------------------
run_vigil() {   # NAME [--scan-only]
    local name="$1" mode="${2:-}" cfg="$WORK/vigil.yml" state="$WORK/vigil.state"
    rm -rf "$state"
    local args=(scan --config "$cfg" --timeout 0)
    MOCK_CPU=0
    if [ "$mode" = --scan-only ]; then
        write_config "$cfg" "$state" ""
        args+=(--output file:/dev/null)
    else
        # shellcheck disable=SC2086
        mock_start $VIGIL_TOPICS
        # nothing but the brokers (and the level, when not Vigil's default)
        local level=""
        [ "$ZLEVEL" = 1 ] || level="
    compression_level: $ZLEVEL"
        write_config "$cfg" "$state" "outputs:
  kafka:
    brokers: $(yaml_brokers)$level"
    fi
    if ! /usr/bin/time -o "$WORK/$name.time" -f '%e %U %S %M' "$VIGIL" "${args[@]}" \
            >/dev/null 2>"$WORK/$name.log"; then
        tail -5 "$WORK/$name.log" >&2
        die "$name: vigil failed"
    fi
    local got=0
    if [ "$mode" = --scan-only ]; then
        grep -q "$FINDINGS findings" "$WORK/$name.log" ||
            { cat "$WORK/$name.log" >&2; die "$name: unexpected summary"; }
    else
        grep -q "kafka: $EXPECT events delivered" "$WORK/$name.log" ||
            { tail -3 "$WORK/$name.log" >&2; die "$name: vigil did not report every event delivered"; }
        # shellcheck disable=SC2086
        wait_count "$EXPECT" $VIGIL_TOPICS ||
            die "$name: the cluster holds $COUNT messages, want $EXPECT"
        got=$COUNT
        mock_stop
    fi
    local wall user sys rss
    read -r wall user sys rss <"$WORK/$name.time"
    record "$name" "$EXPECT" "$wall" "$user" "$sys" "$rss" "$got" "$MOCK_CPU"
    show "$name" "$wall" "$user" "$sys" "$rss"
}

# ---- the lines rsyslog and kcat ship -----------------------------------------
LINES="$WORK/lines.ndjson"
make_lines() {
    [ -s "$LINES" ] && return 0
    local cfg="$WORK/lines.yml"
    write_config "$cfg" "$WORK/lines.state" ""
    "$VIGIL" scan --config "$cfg" --timeout 0 --output "file:$LINES" 2>"$WORK/lines.log" >/dev/null
    local n
    n=$(wc -l <"$LINES")
    [ "$n" -eq "$EXPECT" ] || die "$LINES has $n lines, want $EXPECT"
}

# ---- rsyslog -----------------------------------------------------------------
run_rsyslog() {
    local name="rsyslog omkafka" dir="$WORK/rsyslog"
    rm -rf "$dir"
    mkdir -p "$dir"
    make_lines
    mock_start "$LINE_TOPIC"
    cat >"$dir/rsyslog.conf" <<EOF
global(workDirectory="$dir" maxMessageSize="64k")
module(load="imfile" mode="inotify")
module(load="omkafka")
template(name="doc" type="list") { property(name="msg") }
ruleset(name="ship" queue.type="LinkedList" queue.size="100000"
        queue.dequeueBatchSize="1600" queue.workerThreads="1") {
  action(type="omkafka" broker=[$(rs_brokers)] topic="$LINE_TOPIC" template="doc"
         partitions.auto="on"
         confParam=["compression.codec=zstd", "compression.level=$ZLEVEL", "enable.idempotence=true"]
         topicConfParam=["acks=all"])
}
input(type="imfile" file="$LINES" tag="vigil" ruleset="ship" freshStartTail="off")
*.* action(type="omfile" file="$dir/internal.log")
EOF
    "$RSYSLOGD" -N1 -f "$dir/rsyslog.conf" >"$dir/check.log" 2>&1 ||
        { cat "$dir/check.log" >&2; exit 1; }
    "$RSYSLOGD" -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >"$dir/stdout.log" 2>&1 &
    RS_PID=$!
    local deadline=$((SECONDS + 900)) first="" last=""
    while :; do
        mock_count "$LINE_TOPIC"
        if [ -z "$first" ] && [ "$COUNT" -gt 0 ]; then
            first=$EPOCHREALTIME
        fi
        if [ "$COUNT" -ge "$EXPECT" ]; then
            last=$EPOCHREALTIME
            break
        fi
        if ! kill -0 "$RS_PID" 2>/dev/null; then
            cat "$dir/stdout.log" "$dir/internal.log" >&2 2>/dev/null || true
            die "rsyslogd exited"
        fi
        [ $SECONDS -lt $deadline ] || die "rsyslog: $COUNT of $EXPECT events after 900 s"
        pause 0.05
    done
    # CPU and peak RSS just before stopping it
    local tck stat hwm
    tck=$(getconf CLK_TCK)
    stat="$(cat "/proc/$RS_PID/stat")"
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$RS_PID/status")
    kill "$RS_PID"
    wait "$RS_PID" 2>/dev/null || true
    RS_PID=""
    local got=$COUNT
    mock_stop
    local user sys wall
    # fields after the ")" of comm: utime is the 12th, stime the 13th
    user=$(echo "${stat##*) }" | awk -v t="$tck" '{printf "%.2f", $12 / t}')
    sys=$(echo "${stat##*) }" | awk -v t="$tck" '{printf "%.2f", $13 / t}')
    wall=$(awk -v a="$first" -v b="$last" 'BEGIN{printf "%.2f", b - a}')
    record "$name" "$EXPECT" "$wall" "$user" "$sys" "$hwm" "$got" "$MOCK_CPU"
    show "$name" "$wall" "$user" "$sys" "$hwm"
}

# ---- kcat --------------------------------------------------------------------
run_kcat() {
    local name="kcat"
    make_lines
    mock_start "$LINE_TOPIC"
    if ! /usr/bin/time -o "$WORK/$name.time" -f '%e %U %S %M' "$KCATBIN" -P -b "$BOOTSTRAP" \
            -t "$LINE_TOPIC" -z zstd -X compression.level="$ZLEVEL" -X acks=all \
            -X enable.idempotence=true -l "$LINES" \
            >/dev/null 2>"$WORK/$name.log"; then
        tail -5 "$WORK/$name.log" >&2
        die "$name: kcat failed"
    fi
    wait_count "$EXPECT" "$LINE_TOPIC" ||
        die "$name: the cluster holds $COUNT messages, want $EXPECT"
    local got=$COUNT
    mock_stop
    local wall user sys rss
    read -r wall user sys rss <"$WORK/$name.time"
    record "$name" "$EXPECT" "$wall" "$user" "$sys" "$rss" "$got" "$MOCK_CPU"
    show "$name" "$wall" "$user" "$sys" "$rss"
}

# ---- the runs ------------------------------------------------------------------
say "$EXPECT events ($RESOURCES demo resources x 4 findings + the scan event)," \
    "$BROKERS broker(s), $PARTS partitions per topic, zstd level $ZLEVEL, work dir $WORK"
if [ "$RSYSLOG" = 1 ] || [ "$KCAT" = 1 ]; then
    make_lines
fi
for ((r = 1; r <= REPEAT; r++)); do
    if [ "$REPEAT" -gt 1 ]; then
        say "round $r of $REPEAT"
    fi
    run_vigil "vigil scan only" --scan-only
    run_vigil "vigil kafka zstd"
    if [ "$RSYSLOG" = 1 ]; then
        run_rsyslog
    fi
    if [ "$KCAT" = 1 ]; then
        run_kcat
    fi
done

# ---- the table -----------------------------------------------------------------
"$PY" - "$RESULTS" "$REPEAT" "$BROKERS" "$PARTS" "$ZLEVEL" <<'EOF'
import statistics, sys
rows, order = {}, []
for line in open(sys.argv[1]):
    name, ev, wall, user, sysc, rss, got, mock = line.rstrip("\n").split("\t")
    if name not in rows:
        rows[name] = []
        order.append(name)
    ev, wall, cpu, rss = int(ev), float(wall), float(user) + float(sysc), int(rss)
    rows[name].append({"ev": ev, "wall": wall, "eps": ev / wall if wall > 0 else 0.0,
                       "cpu": cpu, "cpum": cpu / ev * 1e6, "rss": rss / 1024.0,
                       "got": int(got), "mock": float(mock)})
repeat, brokers, parts, zlevel = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
med = {}
for name in order:
    runs = rows[name]
    wall = statistics.median(r["wall"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    ev = runs[0]["ev"]
    med[name] = {"ev": ev, "wall": wall, "eps": ev / wall if wall > 0 else 0.0, "cpu": cpu,
                 "cpum": cpu / ev * 1e6, "rss": max(r["rss"] for r in runs),
                 "got": max(r["got"] for r in runs),
                 "mock": statistics.median(r["mock"] for r in runs)}
note = {"vigil scan only": " (scan, no shipping)",
        "vigil kafka zstd": " (scan + ship)",
        "rsyslog omkafka": " (ship only)",
        "kcat": " (ship only)"}
print()
hdr = ("| shipper | events | in Kafka | wall s | events/s | CPU s | CPU s per 1M events "
       "| peak RSS MiB |")
if repeat > 1:
    hdr += " events/s min-max | CPU s/1M min-max |"
print(hdr)
print("|---" * (hdr.count("|") - 1) + "|")
for name in order:
    m = med[name]
    got = "-" if name == "vigil scan only" else "%d" % m["got"]
    line = "| %s%s | %d | %s | %.2f | %.0f | %.2f | %.2f | %.1f |" % (
        name, note.get(name, ""), m["ev"], got, m["wall"], m["eps"], m["cpu"], m["cpum"],
        m["rss"])
    if repeat > 1:
        eps = [r["eps"] for r in rows[name]]
        cpm = [r["cpum"] for r in rows[name]]
        line += " %.0f-%.0f | %.2f-%.2f |" % (min(eps), max(eps), min(cpm), max(cpm))
    print(line)
print()
v, scan = med.get("vigil kafka zstd"), med.get("vigil scan only")
if v:
    parts_ = []
    if scan:
        parts_.append("shipping alone (minus scan only): %.2f CPU s per 1M events"
                      % (v["cpum"] - scan["cpum"]))
    for other in ("rsyslog omkafka", "kcat"):
        o = med.get(other)
        if o and o["eps"] > 0 and o["cpum"] > 0:
            parts_.append("%.2fx %s's events/s, %.2fx its CPU per event"
                          % (v["eps"] / o["eps"], other, v["cpum"] / o["cpum"]))
    print("vigil kafka zstd: " + "; ".join(parts_))
    # the rows of one round ran one after the other under the same load:
    # the ratio of each round, beside the ratio of the medians
    vr, rr = rows.get("vigil kafka zstd", []), rows.get("rsyslog omkafka", [])
    if repeat > 1 and len(vr) == len(rr) and rr:
        ratios = [a["eps"] / b["eps"] for a, b in zip(vr, rr) if b["eps"] > 0]
        print("vigil kafka zstd / rsyslog omkafka events/s, round by round: %s "
              "(median %.2fx; %d of %d rounds at 2x or more)"
              % (" ".join("%.2f" % x for x in ratios), statistics.median(ratios),
                 sum(x >= 2 for x in ratios), len(ratios)))
print("mock cluster CPU s (its own process, median): " +
      ", ".join("%s %.2f" % (n, med[n]["mock"]) for n in order if n != "vigil scan only"))
print("cluster: %s broker(s), %s partitions per topic; every row ran against a fresh one; "
      "zstd level %s for all" % (brokers, parts, zlevel))
print("wall: Vigil's and kcat's whole process (start to exit; Vigil also scans); "
      "rsyslog's first to last message seen in the cluster (polled every 50 ms)")
dups = [n for n in order if n != "vigil scan only" and med[n]["got"] > med[n]["ev"]]
if dups:
    print("note: more messages than events (duplicates from resends) for: " + ", ".join(dups))
if order and rows[order[0]][0]["ev"] < 200000:
    print("note: with fewer than 200000 events start-up and linger timers dominate; this run "
          "shows the pipeline works, its ratios mean little")
EOF
