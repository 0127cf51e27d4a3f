#!/usr/bin/env bash
# Elasticsearch and Kafka outputs together, on one spool, each with its own
# cursor: one scan delivers every event to both; with Elasticsearch stopped
# a scan still delivers to Kafka and exits 1 with the rest kept for
# Elasticsearch; `vigil drain` once it is back delivers that rest, and
# Kafka holds every event exactly once (counted by event.id).
# Elasticsearch is tests/es_server.py; Kafka is librdkafka's mock cluster
# (BUILD/tests/kafka_mock, beside the vigil binary).
#   test_es_kafka.sh VIGIL_BINARY SOURCE_DIR
set -uo pipefail
vigil=$1
src=$2
py=/usr/bin/python3
mock="$(dirname "$vigil")/tests/kafka_mock"
if [ ! -x "$mock" ]; then
    echo "FAIL: $mock is missing: build the kafka_mock target (cmake --build BUILD --target kafka_mock)"
    exit 1
fi
work=$(mktemp -d /tmp/vigil-es-kafka-XXXXXX)
server_pid=""
mock_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
failures=0
pass=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { pass=$((pass + 1)); }
export VIGIL_RULES_DIR="$src/checks/rules"
topics=(vigil-vigil.findings vigil-vigil.scan)

# --- Kafka: the mock cluster, 3 partitions per topic; it runs until its
# stdin (the coprocess pipe) closes
coproc MOCK { exec "$mock" serve -p 3 "${topics[@]}" 2>"$work/mock.err"; }
# shellcheck disable=SC2153  # set by coproc
mock_pid=$MOCK_PID
bootstrap=""
read -r -t 30 bootstrap <&"${MOCK[0]}"
if [ -z "$bootstrap" ]; then
    echo "FAIL: the mock cluster did not start"; cat "$work/mock.err"; exit 1
fi

# --- Elasticsearch: the test server on a free port; stopped and started
# again on the same port
start_es() { # start_es PORT (0: any)
    rm -f "$work/port"
    $py "$src/tests/es_server.py" --port "$1" --port-file "$work/port" --quiet \
        >>"$work/server.log" 2>&1 &
    server_pid=$!
    local deadline=$((SECONDS + 30))
    while [ ! -s "$work/port" ]; do
        if ! kill -0 "$server_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            echo "FAIL: the Elasticsearch test server did not start"; cat "$work/server.log"
            exit 1
        fi
        sleep 0.1
    done
}
stop_es() {
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null
    server_pid=""
}
start_es 0
port=$(cat "$work/port")
es="http://127.0.0.1:$port"

state="$work/state"
cfg="$work/vigil.yml"
# config NDJSON_FILE: scans of 250 demo resources (1000 findings and the
# scan event), to both outputs and to a file (what was produced)
config() {
    cat >"$cfg" <<EOF
agent: {state_dir: $state, name: es-kafka-test}
scans: [{provider: demo, resources: 250}]
outputs:
  file: {path: $1}
  elasticsearch:
    hosts: ["$es"]
    backoff_init: 0s
    backoff_max: 1s
    flush_interval: 0s
  kafka:
    brokers: ["$bootstrap"]
    linger_ms: 5
EOF
    chmod 600 "$cfg"
}

# kafka_check FILE...: Kafka holds every event of the files exactly once,
# and nothing else (consumed back, counted by event.id); each in the topic
# of its dataset, with the key (SHA-256 of rule.id NUL resource.id, or of
# event.id for a summary) and the headers its JSON gives
kafka_check() {
    if ! "$mock" consume --meta "$bootstrap" "${topics[@]}" >"$work/consumed" \
            2>"$work/consume.err"; then
        echo "consume failed:"; cat "$work/consume.err"; return 1
    fi
    $py - "$work/consumed" "$@" <<'PY'
import collections, hashlib, json, sys
seen = collections.Counter()
wrong = 0
for line in open(sys.argv[1]):
    topic, key, headers, value = line.rstrip("\n").split("\t", 3)
    doc = json.loads(value)
    seen[doc["event"]["id"]] += 1
    rule, res = doc.get("rule", {}).get("id"), doc.get("resource", {}).get("id")
    basis = (rule + "\0" + res) if rule is not None and res is not None else doc["event"]["id"]
    hwant = {"ecs.version": doc["ecs"]["version"], "event.dataset": doc["event"]["dataset"]}
    if rule is not None:
        hwant["rule.id"] = rule
    if doc.get("vigil", {}).get("severity") is not None:
        hwant["vigil.severity"] = doc["vigil"]["severity"]
    got = dict((h.split("=", 1)[0], bytes.fromhex(h.split("=", 1)[1]).decode())
               for h in headers.split(",") if h)
    ok = (topic == "vigil-" + doc["event"]["dataset"] and got == hwant and
          bytes.fromhex(key).decode() == hashlib.sha256(basis.encode()).hexdigest())
    if not ok and wrong < 3:
        print(f"kafka: wrong topic, key or headers: {topic} {got} for {doc['event']['id']}")
    wrong += not ok
produced = []
for path in sys.argv[2:]:
    produced += [json.loads(l)["event"]["id"] for l in open(path)]
want = set(produced)
dup = sum(n - 1 for n in seen.values() if n > 1)
missing = want - set(seen)
extra = set(seen) - want
print(f"kafka: {sum(seen.values())} messages, {len(seen)} event ids; {len(produced)} produced, "
      f"{len(missing)} missing, {len(extra)} unexpected, {dup} duplicates, "
      f"{wrong} with a wrong topic, key or headers")
sys.exit(0 if not missing and not extra and dup == 0 and len(want) == len(produced)
         and wrong == 0 else 1)
PY
}

# es_check FILE: the server holds exactly the events of FILE, by _id
es_check() {
    $py - "$1" "$es" <<'PY'
import json, sys, urllib.request
produced = [json.loads(l)["event"]["id"] for l in open(sys.argv[1])]
stored = json.loads(urllib.request.urlopen(sys.argv[2] + "/_test/ids").read())
held = [i for ids in stored.values() for i in ids]
missing = set(produced) - set(held)
extra = set(held) - set(produced)
print(f"elasticsearch: {len(held)} stored, {len(produced)} produced, {len(missing)} missing, "
      f"{len(extra)} unexpected")
sys.exit(0 if not missing and not extra and len(held) == len(set(held)) == len(produced) else 1)
PY
}

# cursor NAME: the cursor file's position as "SEQ IDX" (the next event not
# acknowledged); "" when the file is missing or not a cursor
cursor() {
    $py - "$state/spool/cursor-$1" <<'PY'
import struct, sys
try:
    b = open(sys.argv[1], "rb").read()
except OSError:
    sys.exit(0)
if len(b) == 24 and b[:4] == b"VGCR":
    seq, idx = struct.unpack_from("<QI", b, 8)
    print(seq, idx)
PY
}
# pos_cmp A B: -1, 0 or 1 as position A is before, at or after B
pos_cmp() {
    $py -c 'import sys; a = tuple(map(int, sys.argv[1].split())); b = tuple(map(int, sys.argv[2].split())); print((a > b) - (a < b))' "$1" "$2"
}
spool_segments() { find "$state/spool" -maxdepth 1 -name "seg-*.vgs" | wc -l; }

# --- 1. both outputs up: one scan delivers every event to both
config "$work/s1.ndjson"
"$vigil" scan --config "$cfg" --timeout 60s >"$work/out1" 2>"$work/err1"
rc=$?
[ $rc -eq 0 ] && ok || { fail "scan with both outputs: exit $rc"; cat "$work/err1"; }
n1=$(wc -l <"$work/s1.ndjson")
[ "$n1" -eq 1001 ] && ok || fail "scan 1 produced $n1 events, expected 1001"
grep -q "elasticsearch: $n1 events delivered" "$work/err1" && ok ||
    { fail "no elasticsearch delivery line for $n1 events"; cat "$work/err1"; }
grep -q "kafka: $n1 events delivered" "$work/err1" && ok ||
    { fail "no kafka delivery line for $n1 events"; cat "$work/err1"; }
es_check "$work/s1.ndjson" && ok || fail "scan 1: elasticsearch does not hold exactly the events"
kafka_check "$work/s1.ndjson" && ok || fail "scan 1: kafka does not hold each event once"
count=$("$mock" count "$bootstrap" "${topics[@]}")
[ "$count" = "$n1" ] && ok || fail "kafka watermarks say $count messages, expected $n1"
es_cur1=$(cursor elasticsearch)
kafka_cur1=$(cursor kafka)
[ -n "$es_cur1" ] && [ -n "$kafka_cur1" ] && ok ||
    { fail "cursor files after scan 1: elasticsearch '$es_cur1', kafka '$kafka_cur1'"; ls -l "$state/spool"; }
[ -n "$es_cur1" ] && [ -n "$kafka_cur1" ] && [ "$(pos_cmp "$es_cur1" "$kafka_cur1")" = 0 ] && ok ||
    fail "after scan 1 both cursors should be at the end: elasticsearch '$es_cur1', kafka '$kafka_cur1'"

# --- 2. Elasticsearch stopped: Kafka still gets the scan; exit 1 with the
# events left for Elasticsearch in the spool. vigil waits for
# Elasticsearch until the timeout, then checks Kafka against the same
# deadline: the timeout leaves Kafka time to deliver (librdkafka alone
# waits about 1 s for a new topic's metadata)
stop_es
config "$work/s2.ndjson"
"$vigil" scan --config "$cfg" --timeout 6s >"$work/out2" 2>"$work/err2"
rc=$?
[ $rc -eq 1 ] && ok || { fail "scan with elasticsearch stopped: exit $rc, expected 1"; cat "$work/err2"; }
n2=$(wc -l <"$work/s2.ndjson")
[ "$n2" -eq 1001 ] && ok || fail "scan 2 produced $n2 events, expected 1001"
grep -q "elasticsearch: timeout with $n2 events not yet delivered; they stay in the spool" "$work/err2" && ok ||
    { fail "no elasticsearch timeout line for $n2 events"; cat "$work/err2"; }
grep -q "kafka: $n2 events delivered" "$work/err2" && ok ||
    { fail "kafka did not deliver scan 2 with elasticsearch stopped"; cat "$work/err2"; }
kafka_check "$work/s1.ndjson" "$work/s2.ndjson" && ok ||
    fail "scan 2: kafka does not hold each event of both scans once"
es_cur2=$(cursor elasticsearch)
kafka_cur2=$(cursor kafka)
[ -n "$es_cur2" ] && [ "$es_cur2" = "$es_cur1" ] && ok ||
    fail "the elasticsearch cursor moved while it was down: '$es_cur1' -> '$es_cur2'"
[ -n "$kafka_cur2" ] && [ "$(pos_cmp "$kafka_cur2" "$kafka_cur1")" = 1 ] && ok ||
    fail "the kafka cursor did not move: '$kafka_cur1' -> '$kafka_cur2'"
[ "$(spool_segments)" -ge 1 ] && ok || fail "no spool segment kept for elasticsearch"

# --- 3. Elasticsearch back: drain delivers the rest to it; Kafka gets
# nothing again
start_es "$port"
"$vigil" drain --config "$cfg" --timeout 60s >"$work/out3" 2>"$work/err3"
rc=$?
[ $rc -eq 0 ] && ok || { fail "drain: exit $rc"; cat "$work/err3"; }
grep -q "elasticsearch: $n2 events delivered" "$work/err3" && ok ||
    { fail "drain: no elasticsearch delivery line for $n2 events"; cat "$work/err3"; }
grep -q "kafka: 0 events delivered" "$work/err3" && ok ||
    { fail "drain: kafka sent events again"; cat "$work/err3"; }
# the restarted server lost scan 1 (it keeps documents in memory): it holds
# exactly scan 2, which the drain delivered
es_check "$work/s2.ndjson" && ok || fail "drain: elasticsearch does not hold exactly scan 2"
kafka_check "$work/s1.ndjson" "$work/s2.ndjson" && ok ||
    fail "after the drain: kafka does not hold each event of both scans once"
count=$("$mock" count "$bootstrap" "${topics[@]}")
[ "$count" = "$((n1 + n2))" ] && ok || fail "kafka watermarks say $count messages, expected $((n1 + n2))"
es_cur3=$(cursor elasticsearch)
kafka_cur3=$(cursor kafka)
[ -n "$es_cur3" ] && [ "$kafka_cur3" = "$kafka_cur2" ] && [ "$(pos_cmp "$es_cur3" "$kafka_cur3")" = 0 ] && ok ||
    fail "after the drain both cursors should be at the end: elasticsearch '$es_cur3', kafka '$kafka_cur3' (was '$kafka_cur2')"

# --- 4. a second drain has nothing to do
"$vigil" drain --config "$cfg" --timeout 30s >/dev/null 2>"$work/err4"
rc=$?
[ $rc -eq 0 ] && ok || { fail "second drain: exit $rc"; cat "$work/err4"; }
grep -q "elasticsearch: 0 events delivered" "$work/err4" && grep -q "kafka: 0 events delivered" "$work/err4" && ok ||
    { fail "second drain delivered something"; cat "$work/err4"; }

echo "test_es_kafka: $pass passed, $failures failed"
[ "$failures" -eq 0 ]
