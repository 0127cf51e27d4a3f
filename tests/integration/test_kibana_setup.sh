#!/usr/bin/env bash
# `vigil setup --kibana URL` as a user runs it, against the test Kibana
# server (tests/kibana_server.py) and the test Elasticsearch server: both
# asset sets installed, idempotently; a space; refused credentials and a
# bad URL give their exit codes; --dry-run sends nothing.
#   test_kibana_setup.sh VIGIL_BINARY SOURCE_DIR
set -uo pipefail
vigil=$1
src=$2
py=/usr/bin/python3
work=$(mktemp -d /tmp/vigil-kbn-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
failures=0
pass=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { pass=$((pass + 1)); }
export VIGIL_RULES_DIR="$src/checks/rules"

serve() { # serve SCRIPT PORTFILE ARGS...: starts a server (in this shell, so
    # that cleanup knows its pid) and waits for its port file
    local script=$1 pf=$2
    shift 2
    $py "$script" --port 0 --port-file "$pf" --quiet "$@" >>"$work/servers.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.1; done
}
serve "$src/tests/kibana_server.py" "$work/kport" --spaces security --users "admin:s3cret-pw"
serve "$src/tests/es_server.py" "$work/eport" --users "admin:s3cret-pw"
kport=$(cat "$work/kport")
eport=$(cat "$work/eport")
kbn="http://127.0.0.1:$kport"
es="http://127.0.0.1:$eport"
cat >"$work/vigil.yml" <<EOF
agent: {state_dir: $work/state}
outputs:
  elasticsearch:
    hosts: [$es]
    username: admin
    password: \${ES_PASSWORD}
EOF
chmod 600 "$work/vigil.yml"
export ES_PASSWORD=s3cret-pw

# both asset sets, into a space, twice (idempotent)
for round in 1 2; do
    "$vigil" setup --config "$work/vigil.yml" --kibana "$kbn/s/security" >"$work/out$round" 2>"$work/err$round"
    rc=$?
    [ $rc -eq 0 ] && ok || { fail "setup --kibana round $round: exit $rc"; cat "$work/err$round"; }
    grep -q "index template logs-vigil.findings" "$work/out$round" && ok || fail "round $round: no Elasticsearch assets"
    grep -Eq "saved objects vigil-dashboards.ndjson: ([0-9]+) of \1 imported into 127.0.0.1:$kport space security" "$work/out$round" && ok ||
        { fail "round $round: saved objects line"; cat "$work/out$round"; }
    grep -Eq "detection rules vigil-detection-rules.ndjson: ([0-9]+) of \1 imported" "$work/out$round" && ok ||
        { fail "round $round: detection rules line"; cat "$work/out$round"; }
done
# what the server holds: the dashboard and four rules, in the space
$py - "$kbn" <<'PY' && ok || fail "the Kibana server's requests"
import json, sys, urllib.request
reqs = json.loads(urllib.request.urlopen(sys.argv[1] + "/_test/requests").read())
paths = [r["path"] for r in reqs]
assert paths.count("/s/security/api/saved_objects/_import") == 2, paths
assert paths.count("/s/security/api/detection_engine/rules/_import") == 2, paths
for r in reqs:
    h = {k.lower(): v for k, v in r["headers"].items()}
    assert "kbn-xsrf" in h and h.get("authorization", "").startswith("Basic"), h
    assert "overwrite=true" in str(r["query"]) or (isinstance(r["query"], dict) and r["query"].get("overwrite") in ("true", ["true"])), r["query"]
print("kibana: %d import requests, all authenticated, overwrite=true" % len(reqs))
PY
! grep -q "s3cret-pw" "$work/out1" "$work/err1" && ok || fail "the password was printed"

# dry run: nothing sent, the requests described without secrets
$py -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"", method="POST"))' "$kbn/_test/reset"
"$vigil" setup --config "$work/vigil.yml" --kibana "$kbn" --dry-run >"$work/dry" 2>"$work/err"
[ $? -eq 0 ] && ok || { fail "dry run"; cat "$work/err"; }
grep -q "api/saved_objects/_import" "$work/dry" && grep -q "api/detection_engine/rules/_import" "$work/dry" && ok || fail "dry run does not show the requests"
! grep -q "s3cret-pw" "$work/dry" && ok || fail "dry run prints the password"
n=$($py -c 'import json, sys, urllib.request; print(len(json.loads(urllib.request.urlopen(sys.argv[1] + "/_test/requests").read())))' "$kbn")
[ "$n" = 0 ] && ok || fail "dry run sent $n requests to Kibana"

# refused credentials: exit 1, one line
ES_PASSWORD=wrong "$vigil" setup --config "$work/vigil.yml" --kibana "$kbn" >/dev/null 2>"$work/err"
rc=$?
[ $rc -eq 1 ] && ok || { fail "wrong password: exit $rc"; cat "$work/err"; }
# a bad URL: exit 2
"$vigil" setup --config "$work/vigil.yml" --kibana "ftp://kibana" >/dev/null 2>"$work/err"
rc=$?
[ $rc -eq 2 ] && ok || { fail "bad URL: exit $rc"; cat "$work/err"; }
[ "$(wc -l <"$work/err")" -eq 1 ] && ok || { fail "bad URL: not one line"; cat "$work/err"; }
# Kibana down: exit 1
dead=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$vigil" setup --config "$work/vigil.yml" --kibana "http://127.0.0.1:$dead" >/dev/null 2>"$work/err"
rc=$?
[ $rc -eq 1 ] && ok || { fail "kibana down: exit $rc"; cat "$work/err"; }

echo "test_kibana_setup: $pass passed, $failures failed"
[ $failures -eq 0 ]
