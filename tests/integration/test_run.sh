#!/usr/bin/env bash
# `vigil run`, the daemon, against the test Elasticsearch server:
#   1. one scan delivered; /metrics and /health parsed and checked against
#      what the server stores; a second instance on the same state
#      directory is refused;
#   2. a 2-second interval delivers several scans and monitoring events;
#      SIGHUP with a broken configuration keeps the old one running, a good
#      one takes effect;
#   3. SIGTERM while Elasticsearch is down exits 0 within the grace period
#      with everything in the spool; the next start delivers it, each event
#      once.
#   test_run.sh VIGIL_BINARY SOURCE_DIR
set -uo pipefail
vigil=$1
src=$2
py=/usr/bin/python3
work=$(mktemp -d /tmp/vigil-run-XXXXXX)
server_pid=""
vigil_pid=""
cleanup() {
    [ -n "$vigil_pid" ] && kill -9 "$vigil_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    [ "$failures" -eq 0 ] && rm -rf "$work" || echo "kept: $work"
}
trap cleanup EXIT
failures=0
pass=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { pass=$((pass + 1)); }
export VIGIL_RULES_DIR="$src/checks/rules"

start_server() { # start_server [PORT]
    rm -f "$work/port"
    $py "$src/tests/es_server.py" --port "${1:-0}" --port-file "$work/port" --quiet \
        >>"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
    port=$(cat "$work/port")
    es="http://127.0.0.1:$port"
}
stop_server() { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""; }
start_server

get() { # get URL: body on stdout, nothing and status 1 on failure
    $py - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
    sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    sys.stdout.write(e.read().decode())
    sys.exit(2)
except Exception as e:
    print(e, file=sys.stderr)
    sys.exit(1)
PY
}
# wait_for SECONDS COMMAND...: polls until COMMAND succeeds
wait_for() {
    local t=$1
    shift
    local end=$((SECONDS + t))
    while [ $SECONDS -lt $end ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}
# count DATASET: documents of that dataset the server stores
count() {
    get "$es/_test/ids" | $py -c '
import json, sys
ids = json.load(sys.stdin)
print(sum(len(v) for k, v in ids.items() if sys.argv[1] in k))' "$1"
}
at_least() { [ "$(count "$1")" -ge "$2" ]; }

# config NAME SCANS [EXTRA_AGENT] : writes $work/NAME.yml
config() {
    {
        echo "agent:"
        echo "  state_dir: $work/state-$1"
        echo "  name: run-test"
        echo "  http: {listen: 127.0.0.1:0}"
        echo "  splay: 0s"
        [ -n "${3:-}" ] && echo "$3"
        echo "scans: $2"
        echo "outputs:"
        echo "  file: {path: $work/$1.ndjson}"
        echo "  elasticsearch:"
        echo "    hosts: [$es]"
        echo "    backoff_init: 0s"
        echo "    backoff_max: 1s"
        echo "    flush_interval: 0s"
    } >"$work/$1.yml"
    chmod 600 "$work/$1.yml"
}
start_vigil() { # start_vigil NAME
    "$vigil" run --config "$work/$1.yml" 2>"$work/$1.log" &
    vigil_pid=$!
    wait_for 10 grep -q "monitoring endpoint listening on" "$work/$1.log"
    mon="http://$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/$1.log" | head -1 | cut -d' ' -f3)"
}
# stop_vigil SIGNAL SECONDS: the exit status, or 124 when it did not end
stop_vigil() {
    kill -"$1" "$vigil_pid"
    local end=$((SECONDS + $2))
    while [ $SECONDS -le $end ] && kill -0 "$vigil_pid" 2>/dev/null; do sleep 0.1; done
    if kill -0 "$vigil_pid" 2>/dev/null; then
        kill -9 "$vigil_pid"
        wait "$vigil_pid" 2>/dev/null
        vigil_pid=""
        return 124
    fi
    wait "$vigil_pid"
    local rc=$?
    vigil_pid=""
    return $rc
}

# --- 1. one scan, /metrics and /health against what the server holds
config m "[{provider: demo, resources: 50, interval: 1h}]" "  monitoring_period: 0s"
start_vigil m
[ -n "${mon#http://}" ] && ok || { fail "no monitoring endpoint in the log"; cat "$work/m.log"; }
wait_for 20 at_least vigil.scan 1 && ok || fail "the scan summary never reached the server"
# delivered: every event produced, none pending
settled() {
    get "$mon/metrics" >"$work/metrics" || return 1
    grep -q '^vigil_output_events_pending{output="elasticsearch"} 0$' "$work/metrics" &&
        grep -q '^vigil_scans_total{result="completed"} 1$' "$work/metrics"
}
wait_for 20 settled && ok || { fail "events still pending"; cat "$work/metrics"; }
$py - "$work/metrics" "$work/m.ndjson" "$es" <<'PY' && ok || fail "/metrics disagrees with the server"
import json, re, sys, urllib.request
text = open(sys.argv[1]).read()
m = {}
types = {}
for line in text.splitlines():
    if line.startswith("# TYPE "):
        _, _, name, typ = line.split()
        types[name] = typ
        continue
    if line.startswith("#") or not line:
        continue
    # the text format: NAME{LABELS} VALUE
    mm = re.fullmatch(r'([a-z_]+)(\{[^}]*\})? (-?[0-9.e+]+)', line)
    assert mm, "not Prometheus text: %r" % line
    assert mm.group(1) in types, "no TYPE for %s" % mm.group(1)
    m[mm.group(1) + (mm.group(2) or "")] = float(mm.group(3))
events = [json.loads(l) for l in open(sys.argv[2])]
ids = json.loads(urllib.request.urlopen(sys.argv[3] + "/_test/ids").read())
stored = sum(len(v) for v in ids.values())
want = {
    "vigil_events_produced_total": len(events),
    'vigil_output_events_delivered_total{output="elasticsearch"}': stored,
    'vigil_output_events_pending{output="elasticsearch"}': 0,
    'vigil_output_events_dead_lettered_total{output="elasticsearch"}': 0,
    'vigil_scans_total{result="completed"}': 1,
    'vigil_scans_total{result="failed"}': 0,
    "vigil_up": 1,
    'vigil_scan_resources{scan="1",provider="demo"}': 50,
}
for ev in ("passed", "failed", "unknown"):
    n = sum(1 for e in events if e.get("result", {}).get("evaluation") == ev)
    want['vigil_findings_total{evaluation="%s"}' % ev] = n
    want['vigil_scan_findings{scan="1",provider="demo",evaluation="%s"}' % ev] = n
bad = [(k, v, m.get(k)) for k, v in want.items() if m.get(k) != v]
assert stored == len(events), (stored, len(events))
assert not bad, bad
assert m['vigil_scan_last_success_timestamp_seconds{scan="1",provider="demo"}'] > 1.7e9
print("metrics: %d events produced = %d stored = delivered; findings by evaluation agree"
      % (len(events), stored))
PY
h=$(get "$mon/health") && ok || fail "/health is not 200: $h"
[ "$h" = '{"status":"ok"}' ] && ok || fail "/health says $h"
get "$mon/nothing" >/dev/null; [ $? -eq 2 ] && ok || fail "an unknown path is not an HTTP error"
# one instance per state directory
"$vigil" run --config "$work/m.yml" 2>"$work/second.log"
rc=$?
[ $rc -eq 1 ] && grep -q "another vigil run uses the state directory" "$work/second.log" && ok ||
    { fail "a second instance: exit $rc"; cat "$work/second.log"; }
stop_vigil TERM 10
rc=$?
[ $rc -eq 0 ] && ok || { fail "SIGTERM: exit $rc"; tail -5 "$work/m.log"; }

# --- 2. several scans on a 2-second interval, monitoring events, SIGHUP
get "$es/_test/ids" >/dev/null
$py -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"", method="POST"))' "$es/_test/reset"
config r "[{provider: demo, resources: 5, interval: 2s}]" "  monitoring_period: 1s"
start_vigil r
wait_for 20 at_least vigil.scan 3 && ok || fail "fewer than 3 scans delivered in 20s ($(count vigil.scan))"
wait_for 10 at_least vigil.monitoring 2 && ok || fail "no monitoring events delivered"
# the monitoring event carries the contract's fields
grep '"vigil.monitoring"' "$work/r.ndjson" | tail -1 | $py -c '
import json, sys
d = json.loads(sys.stdin.read())
m = d["vigil"]["monitoring"]
assert d["event"]["kind"] == "metric" and d["data_stream"]["dataset"] == "vigil.monitoring", d
for k in ("produced", "delivered", "retried", "dead_lettered", "dropped"):
    assert isinstance(m["events"][k], int), k
for k in ("started", "completed", "failed", "skipped", "running", "overdue"):
    assert isinstance(m["scans"][k], int), k
assert m["health"]["status"] == "ok" and m["scans"]["completed"] >= 1, m
assert "elasticsearch" in m["outputs"] and "bytes" in m["spool"], m
' && ok || fail "the monitoring event's fields"
# a broken configuration: refused, the old one keeps scanning
cp "$work/r.yml" "$work/r.good"
echo "  bogus_key: 1" >>"$work/r.yml"
before=$(count vigil.scan)
kill -HUP "$vigil_pid"
wait_for 10 grep -q "the new configuration is refused" "$work/r.log" && ok ||
    { fail "a broken configuration was not refused"; tail "$work/r.log"; }
grep -q "bogus_key: unknown key" "$work/r.log" && ok || fail "the refusal does not say why"
wait_for 10 at_least vigil.scan $((before + 2)) && ok || fail "scans stopped after a refused reload"
kill -0 "$vigil_pid" && ok || fail "vigil died on a refused reload"
# a good one: the new scan size is used
sed 's/resources: 5,/resources: 7,/' "$work/r.good" >"$work/r.yml"
kill -HUP "$vigil_pid"
wait_for 10 grep -q "the new configuration is in use" "$work/r.log" && ok || fail "a good reload was not taken"
wait_for 10 grep -q "7 resources" "$work/r.log" && ok || fail "the reloaded configuration did not change the scan"
stop_vigil INT 10
rc=$?
[ $rc -eq 0 ] && ok || fail "SIGINT: exit $rc"
# everything produced was delivered, each event once
$py - "$work/r.ndjson" "$es" <<'PY' && ok || fail "the daemon's events on the server"
import json, sys, urllib.request
produced = [json.loads(l)["event"]["id"] for l in open(sys.argv[1])]
ids = json.loads(urllib.request.urlopen(sys.argv[2] + "/_test/ids").read())
held = set()
for v in ids.values():
    held.update(v)
missing = set(produced) - held
assert not missing, "%d of %d missing" % (len(missing), len(produced))
print("run: %d events produced, all stored" % len(produced))
PY

# --- 3. SIGTERM with Elasticsearch down: exit 0, the spool keeps it all,
# the next start delivers it
$py -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"", method="POST"))' "$es/_test/reset"
saved_port=$port
stop_server
config d "[{provider: demo, resources: 100, interval: 2s}]" "  monitoring_period: 1s
  shutdown_grace: 2s"
start_vigil d
wait_for 20 grep -q "scan 1 (demo) of demo" "$work/d.log" && ok || fail "no scan while elasticsearch is down"
failing() {
    get "$mon/metrics" | grep -q '^vigil_output_failing_since_seconds{output="elasticsearch"} [1-9]'
}
wait_for 20 failing && ok || fail "/metrics does not say elasticsearch is failing"
t0=$SECONDS
stop_vigil TERM 15
rc=$?
[ $rc -eq 0 ] && ok || { fail "SIGTERM with elasticsearch down: exit $rc"; tail "$work/d.log"; }
[ $((SECONDS - t0)) -le 8 ] && ok || fail "SIGTERM took $((SECONDS - t0))s with a 2s grace period"
grep -q "stay in the spool" "$work/d.log" && ok || { fail "the shutdown does not say what stays"; tail -5 "$work/d.log"; }
produced=$(wc -l <"$work/d.ndjson")
start_server "$saved_port"
# the next start delivers what the spool kept (and scans again)
sed -i 's/interval: 2s/interval: 1h/' "$work/d.yml"
start_vigil d
wait_for 30 at_least vigil 1 || true
$py - "$work/d.ndjson" "$es" "$produced" <<'PY'
import json, sys, time, urllib.request
ids = [json.loads(l)["event"]["id"] for i, l in enumerate(open(sys.argv[1])) if i < int(sys.argv[3])]
deadline = time.time() + 30
while True:
    stored = json.loads(urllib.request.urlopen(sys.argv[2] + "/_test/ids").read())
    held = set()
    for v in stored.values():
        held.update(v)
    missing = set(ids) - held
    if not missing or time.time() > deadline:
        break
    time.sleep(0.2)
print("restart: %d events from before the SIGTERM, %d missing" % (len(ids), len(missing)))
sys.exit(1 if missing else 0)
PY
[ $? -eq 0 ] && ok || fail "the next start did not deliver what the spool kept"
stop_vigil TERM 10
rc=$?
[ $rc -eq 0 ] && ok || fail "the last SIGTERM: exit $rc"
# --- 4. SIGTERM in the middle of a long scan: it stops at the next
# resource, well within the grace period
{
    echo "agent: {state_dir: $work/state-long, splay: 0s, shutdown_grace: 20s}"
    echo "scans: [{provider: demo, resources: 20000000, interval: 1h}]"
    echo "outputs: {file: {path: /dev/null}}"
} >"$work/long.yml"
chmod 600 "$work/long.yml"
"$vigil" run --config "$work/long.yml" 2>"$work/long.log" &
vigil_pid=$!
wait_for 10 grep -q "scan 1 (demo) started" "$work/long.log"
sleep 0.5
t0=$SECONDS
stop_vigil TERM 15
rc=$?
[ $rc -eq 0 ] && ok || { fail "SIGTERM during a scan: exit $rc"; tail -3 "$work/long.log"; }
[ $((SECONDS - t0)) -le 5 ] && ok || fail "SIGTERM during a scan took $((SECONDS - t0))s"
grep -q "scan 1 (demo) stopped after" "$work/long.log" && ok || { fail "the scan was not stopped"; tail -3 "$work/long.log"; }

stats=$(get "$es/_test/stats")
echo "server: $stats" | cut -c1-300

echo "test_run: $pass passed, $failures failed"
[ $failures -eq 0 ]
