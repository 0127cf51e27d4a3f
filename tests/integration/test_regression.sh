#!/usr/bin/env bash
# End to end, the fields of issue 7 that `vigil scan` writes:
# vigil.previous_evaluation and vigil.regression from the previous scan of
# the same target (a fixture tree whose one file goes from compliant to
# violating gives a regression on exactly that rule), each target with its
# own previous results, a corrupt results file (one warning, no fields),
# and the scan summary's vigil.scan.exceptions.* (vigil.scan.interval_s is
# left out: only `vigil run` sets it).
#   test_regression.sh VIGIL_BINARY SOURCE_DIR
set -uo pipefail
vigil=$1
src=$2
py=/usr/bin/python3
check="$py $src/tests/integration/check_ecs.py"
work=$(mktemp -d /tmp/vigil-regression-XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
pass=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { pass=$((pass + 1)); }

bash "$src/tests/fixtures/prepare.sh" "$src/tests/fixtures/host-compliant" "$work/web" || fail "prepare compliant"
bash "$src/tests/fixtures/prepare.sh" "$src/tests/fixtures/host-violating" "$work/legacy" || fail "prepare violating"
export VIGIL_RULES_DIR="$src/checks/rules"
printf 'agent:\n  state_dir: %s/state\n' "$work" >"$work/vigil.yml"
chmod 600 "$work/vigil.yml"

# scan NAME TREE [CONFIG]: findings in $work/NAME.ndjson, stderr in $work/NAME.err
scan() {
    "$vigil" scan --config "${3:-$work/vigil.yml}" --host-root "$2" --output "file:$work/$1.ndjson" \
        2>"$work/$1.err"
    local rc=$?
    if [ "$rc" != 0 ]; then
        fail "scan $1: exit $rc"; sed 's/^/    /' "$work/$1.err" | head -5
        return 1
    fi
    $check "$work/$1.ndjson" >"$work/$1.check" && ok || { fail "scan $1: check_ecs"; cat "$work/$1.check"; }
}

# fields NAME EXPR: a Python assertion over the findings of NAME, as
# F = {(rule.id, resource.id): (evaluation, previous_evaluation or None,
# regression or None)}, and S = the scan summary's vigil.scan
fields() {
    $py - "$work/$1.ndjson" "$2" <<'PY'
import json, sys
F, S = {}, None
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["event"]["dataset"] == "vigil.scan":
        S = d["vigil"]["scan"]
        continue
    v = d["vigil"]
    F[(d["rule"]["id"], d["resource"]["id"])] = (d["result"]["evaluation"],
                                                 v.get("previous_evaluation"), v.get("regression"))
assert F and S is not None
exec("assert " + sys.argv[2], {"F": F, "S": S})
PY
}

# --- the first scan of a target: nothing to compare with
scan first "$work/web"
fields first 'all(p is None and r is None for _, p, r in F.values())' && ok || fail "first scan has previous fields"
fields first '"interval_s" not in S and S["exceptions"] == {"expired": 0}' && ok || fail "first scan summary: $(tail -1 "$work/first.ndjson" | head -c 300)"
grep -q "previous scan" "$work/first.err" && fail "first scan warned: $(cat "$work/first.err")" || ok

# --- the same tree again: every pair known, passed before, no regression
scan same "$work/web"
fields same 'all(e == "passed" and p == "passed" and r is False for e, p, r in F.values())' && ok || fail "unchanged tree"
$py - "$work/first.ndjson" "$work/same.ndjson" <<'PY' && ok || fail "same pairs in both scans"
import json, sys
def pairs(p):
    return {(d["rule"]["id"], d["resource"]["id"]) for d in map(json.loads, open(p))
            if d["event"]["dataset"] == "vigil.findings"}
a, b = pairs(sys.argv[1]), pairs(sys.argv[2])
assert a == b and len(a) > 50, (len(a), len(b))
PY

# --- one file goes from compliant to violating: a regression on exactly
# the rule that reads it
conf="$work/web/etc/ssh/sshd_config.d/50-hardening.conf"
grep -q '^PermitRootLogin no$' "$conf" && ok || fail "fixture: $conf lacks 'PermitRootLogin no'"
sed -i 's/^PermitRootLogin no$/PermitRootLogin yes/' "$conf"
scan changed "$work/web"
fields changed '[k for k, (e, p, r) in F.items() if r] == [("host.sshd.permit_root_login", "host://web-compliant-01/sshd")]' \
    && ok || fail "regressions: $(grep -o '"regression":true' "$work/changed.ndjson" | wc -l) findings, expected exactly host.sshd.permit_root_login"
fields changed 'F[("host.sshd.permit_root_login", "host://web-compliant-01/sshd")] == ("failed", "passed", True)' \
    && ok || fail "the changed rule's fields"
# every other finding: as before, no regression
fields changed 'all(p == "passed" and r is False for k, (e, p, r) in F.items() if k[0] != "host.sshd.permit_root_login")' \
    && ok || fail "the unchanged findings"
# and the regression follows from the two scans, not from anything else
$py - "$work/same.ndjson" "$work/changed.ndjson" <<'PY' && ok || fail "regressions against the two scans"
import json, sys
def ev(p):
    return {(d["rule"]["id"], d["resource"]["id"]): d for d in map(json.loads, open(p))
            if d["event"]["dataset"] == "vigil.findings"}
a, b = ev(sys.argv[1]), ev(sys.argv[2])
want = {k for k in b if a[k]["result"]["evaluation"] == "passed" and b[k]["result"]["evaluation"] == "failed"}
got = {k for k in b if b[k]["vigil"]["regression"]}
assert want == got and len(got) == 1, (want, got)
for k in b:
    assert b[k]["vigil"]["previous_evaluation"] == a[k]["result"]["evaluation"], k
PY

# --- scanned again as is: failed before, failed now, no longer a regression
scan again "$work/web"
fields again 'F[("host.sshd.permit_root_login", "host://web-compliant-01/sshd")] == ("failed", "failed", False)' \
    && ok || fail "a regression is reported once"
fields again 'not any(r for _, _, r in F.values())' && ok || fail "no regression in an unchanged scan"

# --- another target in the same state directory has its own previous results
scan legacy1 "$work/legacy"
fields legacy1 'all(p is None for _, p, _ in F.values())' && ok || fail "a new target took another's results"
scan legacy2 "$work/legacy"
fields legacy2 'all(p == e and r is False for e, p, r in F.values())' && ok || fail "second scan of the other target"
# ... and did not disturb the first target's
scan web5 "$work/web"
fields web5 'F[("host.sshd.permit_root_login", "host://web-compliant-01/sshd")] == ("failed", "failed", False)' \
    && ok || fail "the first target's results after another target's scans"
ls "$work/state/results" | grep -qx "host-legacy-app-07.ndjson" && ls "$work/state/results" | grep -qx "host-web-compliant-01.ndjson" \
    && ok || fail "one results file per target: $(ls "$work/state/results")"

# --- a corrupt results file: one warning, no field in any finding, the scan goes on
results="$work/state/results/host-web-compliant-01.ndjson"
sed -i '3s/.*/{"truncated/' "$results"
scan corrupt "$work/web"
[ "$(grep -c 'is not used' "$work/corrupt.err")" = 1 ] && ok || fail "one warning for a corrupt file: $(cat "$work/corrupt.err")"
grep -q "host-web-compliant-01.ndjson:3: not a line of JSON" "$work/corrupt.err" && ok || fail "the warning names file and line: $(cat "$work/corrupt.err")"
fields corrupt 'all(p is None and r is None for _, p, r in F.values())' && ok || fail "fields guessed from a corrupt file"
# that scan replaced the file: the next one compares again
scan healed "$work/web"
fields healed 'all(p == e for e, p, _ in F.values())' && ok || fail "fields after the corrupt file was replaced"

# --- expired exceptions in the scan summary
cat >"$work/exc.yml" <<YML
agent:
  state_dir: $work/state
exceptions:
  - rules: [host.sshd.permit_root_login]
    reason: still valid
    owner: platform-team
    expires: 2099-12-31
  - rules: [host.sshd.max_auth_tries]
    reason: old exception
    owner: secops
    expires: 2020-01-01
  - rules: [host.sshd.x11_forwarding]
    reason: older exception
    owner: it
    expires: 2019-05-06T10:00:00Z
YML
chmod 600 "$work/exc.yml"
scan exc "$work/web" "$work/exc.yml"
fields exc 'S["exceptions"]["expired"] == 2 and len(S["exceptions"]["expired_entries"]) == 2' && ok || fail "expired count: $(tail -1 "$work/exc.ndjson" | grep -o '"exceptions":{[^}]*}')"
fields exc 'S["exceptions"]["expired_entries"][0].endswith(": old exception (owner secops, expired 2020-01-01)")' \
    && ok || fail "expired entry: $(tail -1 "$work/exc.ndjson" | grep -o '"expired_entries":[^]]*]')"
fields exc 'S["exceptions"]["expired_entries"][1].endswith(": older exception (owner it, expired 2019-05-06)")' \
    && ok || fail "expired entry with a time"
# the warning of each scan is still there
grep -q "exceptions\[1\] (owner secops, reason 'old exception') expired on 2020-01-01" "$work/exc.err" && ok || fail "expired warning"

echo "test_regression: $pass passed, $failures failed"
[ "$failures" -eq 0 ]
