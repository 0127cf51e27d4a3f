#!/usr/bin/env bash
# The whole pipeline against the test Elasticsearch server: scan -> spool ->
# _bulk. Delivery of exactly what was produced; a timeout that keeps the
# rest for the next start; SIGKILL at 20 random instants while shipping
# 200,000 demo findings; a torn and a corrupt spool record.
#   test_es_pipeline.sh VIGIL_BINARY SOURCE_DIR
set -uo pipefail
vigil=$1
src=$2
py=/usr/bin/python3
work=$(mktemp -d /tmp/vigil-es-XXXXXX)
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
failures=0
pass=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { pass=$((pass + 1)); }
export VIGIL_RULES_DIR="$src/checks/rules"
crash_events=${VG_CRASH_EVENTS:-200000}

# --- the test server, on a free port
$py "$src/tests/es_server.py" --port 0 --port-file "$work/port" --quiet >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
es="http://127.0.0.1:$port"
# a port nothing listens on: Elasticsearch "down"
dead=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

q() { # q PATH: GET on the test server, body on stdout
    $py -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "$es$1"
}
reset_server() { $py -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"", method="POST"))' "$es/_test/reset"; }

# config STATE HOST [FILE [SCANS]]: a configuration file, echoed path
config() {
    local f="$work/cfg-$(basename "$1")-$RANDOM.yml"
    {
        echo "agent: {state_dir: $1, name: pipeline-test}"
        if [ -n "${4:-}" ]; then echo "scans: $4"; fi
        echo "outputs:"
        [ -n "${3:-}" ] && echo "  file: {path: $3}"
        echo "  elasticsearch:"
        echo "    hosts: [$2]"
        echo "    backoff_init: 0s"
        echo "    backoff_max: 1s"
        echo "    flush_interval: 0s"
    } >"$f"
    chmod 600 "$f"
    echo "$f"
}

# compare FILE: the ids of every event in the NDJSON file, against the
# ids the server stores; prints a verdict line and exits 1 on a difference.
# --prefix: the server must hold a prefix of the file (the rest cut off).
compare() {
    $py - "$@" "$es" <<'PY'
import json, sys, urllib.request
args = [a for a in sys.argv[1:] if not a.startswith("--")]
path, es = args[0], args[-1]
prefix = "--prefix" in sys.argv
produced = [json.loads(l)["event"]["id"] for l in open(path)]
stored = json.loads(urllib.request.urlopen(es + "/_test/ids").read())
held = set()
for name, ids in stored.items():
    held.update(ids)
stats = json.loads(urllib.request.urlopen(es + "/_test/stats").read())
if prefix:
    n = 0
    while n < len(produced) and produced[n] in held:
        n += 1
    extra = held - set(produced[:n])
    print(f"compare: {len(produced)} produced, {len(held)} stored, a prefix of {n}, {len(extra)} outside it")
    sys.exit(0 if not extra and n > 0 else 1)
missing = set(produced) - held
extra = held - set(produced)
print(f"compare: {len(produced)} produced ({len(set(produced))} distinct), {len(held)} stored, "
      f"{len(missing)} missing, {len(extra)} unexpected, {stats['conflicts']} resends answered 409")
sys.exit(0 if not missing and not extra and len(set(produced)) == len(produced) else 1)
PY
}

# --- 1. a host scan is delivered, exactly, with every field
bash "$src/tests/fixtures/prepare.sh" "$src/tests/fixtures/host-violating" "$work/violating" >/dev/null 2>&1
cfg=$(config "$work/s1" "$es" "$work/s1.ndjson")
# the assets first, twice: setup is idempotent
"$vigil" setup --config "$cfg" >"$work/setup1" 2>"$work/err" && ok || { fail "setup"; cat "$work/err"; }
"$vigil" setup --config "$cfg" >"$work/setup2" 2>"$work/err" && ok || { fail "setup again"; cat "$work/err"; }
"$vigil" setup --config "$cfg" --dry-run >"$work/dry" 2>"$work/err" && ok || fail "setup --dry-run"
for asset in _index_template/logs-vigil.findings _ingest/pipeline _ilm/policy _transform; do
    grep -q "$asset" "$work/dry" && ok || fail "setup --dry-run does not show $asset"
done
"$vigil" scan --config "$cfg" --host-root "$work/violating" >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 0 ] && ok || { fail "scan to elasticsearch: exit $rc"; cat "$work/err"; }
grep -q "events delivered" "$work/err" && ok || fail "no delivery line"
compare "$work/s1.ndjson" && ok || fail "host scan delivery"
[ ! -s "$work/out" ] && ok || fail "findings went to stdout too"
$py - "$work/s1.ndjson" "$es" <<'PY' && ok || fail "stored documents equal the events"
import json, sys, urllib.request
es = sys.argv[2]
for line in open(sys.argv[1]):
    d = json.loads(line)
    ds = "logs-%s-%s" % (d["data_stream"]["dataset"], d["data_stream"]["namespace"])
    got = json.loads(urllib.request.urlopen("%s/%s/_doc/%s" % (es, ds, d["event"]["id"])).read())
    src = got["_source"]
    # the ingest pipeline adds event.ingested; everything else is as sent
    assert "ingested" in src["event"], src["event"]
    del src["event"]["ingested"]
    assert src == d, (src, d)
PY

# --- 2. Elasticsearch down: exit 1 after --timeout, nothing lost; the next
# start (vigil drain) delivers it
reset_server
cfg_dead=$(config "$work/s2" "http://127.0.0.1:$dead" "$work/s2.ndjson")
"$vigil" scan --config "$cfg_dead" --host-root "$work/violating" --timeout 2s >/dev/null 2>"$work/err"
rc=$?
[ $rc -eq 1 ] && ok || { fail "scan with elasticsearch down: exit $rc, expected 1"; cat "$work/err"; }
grep -q "events not yet delivered; they stay in the spool and the next start delivers them" "$work/err" && ok || { fail "timeout message"; cat "$work/err"; }
left=$(grep -o 'timeout with [0-9]* events' "$work/err" | grep -o '[0-9]*')
[ "$left" = "$(wc -l <"$work/s2.ndjson")" ] && ok || fail "timeout says $left events remain, produced $(wc -l <"$work/s2.ndjson")"
cfg_live=$(config "$work/s2" "$es")
"$vigil" drain --config "$cfg_live" 2>"$work/err"
rc=$?
[ $rc -eq 0 ] && ok || { fail "drain: exit $rc"; cat "$work/err"; }
compare "$work/s2.ndjson" && ok || fail "drain delivered what the timeout left"

# --- 3. SIGKILL at 20 random instants while shipping, restart each time:
# the server ends with exactly the events produced, each once
reset_server
resources=$((crash_events / 4))
cfg_dead=$(config "$work/s3" "http://127.0.0.1:$dead" "$work/s3.ndjson" "[{provider: demo, resources: $resources}]")
"$vigil" scan --config "$cfg_dead" --timeout 1s >/dev/null 2>"$work/err"
[ $? -eq 1 ] && ok || { fail "producing the crash set"; cat "$work/err"; }
produced=$(wc -l <"$work/s3.ndjson")
echo "crash test: $produced events in the spool"
cfg_live=$(config "$work/s3" "$es")
for i in $(seq 20); do
    "$vigil" drain --config "$cfg_live" --timeout 0 >/dev/null 2>>"$work/crash.err" &
    pid=$!
    # a random instant: 20 ms to 1.2 s into the delivery
    sleep "$($py -c 'import random; print(random.uniform(0.02, 1.2))')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
"$vigil" drain --config "$cfg_live" --timeout 300s 2>"$work/err"
rc=$?
[ $rc -eq 0 ] && ok || { fail "final drain: exit $rc"; cat "$work/err"; }
compare "$work/s3.ndjson" && ok || fail "crash test: the server does not hold exactly what was produced"

# --- 4. corruption: a torn tail record, then a flipped byte; the agent
# starts, says so, and delivers every intact record
for damage in truncate flip; do
    reset_server
    st="$work/s4-$damage"
    cfg_dead=$(config "$st" "http://127.0.0.1:$dead" "$st.ndjson" "[{provider: demo, resources: 2500}]")
    "$vigil" scan --config "$cfg_dead" --timeout 1s >/dev/null 2>/dev/null
    seg=$(ls "$st"/spool/seg-*.vgs | tail -1)
    size=$(stat -c %s "$seg")
    if [ $damage = truncate ]; then
        truncate -s $((size - 100)) "$seg"
    else
        # a byte inside the last third of the segment: inside a record
        $py - "$seg" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = len(b) * 3 // 4
b[i] ^= 0x5A
open(p, "wb").write(b)
PY
    fi
    cfg_live=$(config "$st" "$es")
    "$vigil" drain --config "$cfg_live" 2>"$work/err"
    rc=$?
    [ $rc -eq 0 ] && ok || { fail "$damage: drain exit $rc"; cat "$work/err"; }
    grep -q "corrupt record at offset" "$work/err" && ok || { fail "$damage: damage not reported"; cat "$work/err"; }
    compare "$st.ndjson" --prefix && ok || fail "$damage: intact records not delivered as a prefix"
done

echo "test_es_pipeline: $pass passed, $failures failed"
[ "$failures" -eq 0 ]
