#!/usr/bin/env bash
# End to end: `vigil scan` on the fixture host trees, checked field by field,
# and the documented exit codes for bad input.
#   test_scan.sh VIGIL_BINARY SOURCE_DIR
set -uo pipefail
vigil=$1
src=$2
py=/usr/bin/python3
check="$py $src/tests/integration/check_ecs.py"
work=$(mktemp -d /tmp/vigil-scan-XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
pass=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { pass=$((pass + 1)); }

# expect_exit CODE DESCRIPTION -- COMMAND...: runs COMMAND, checks its exit code,
# leaves its stderr in $work/stderr
expect_exit() {
    local want=$1 what=$2; shift 3
    "$@" >"$work/stdout" 2>"$work/stderr"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$what: exit $got, expected $want"; sed 's/^/    /' "$work/stderr" | head -5
        return 1
    fi
    ok
}

# stderr_is PATTERN: the first line of stderr matches the extended regex
stderr_is() {
    if ! head -1 "$work/stderr" | grep -Eq -- "$1"; then
        fail "stderr '$(head -1 "$work/stderr")' does not match '$1'"
    else
        ok
    fi
}

bash "$src/tests/fixtures/prepare.sh" "$src/tests/fixtures/host-compliant" "$work/compliant" || fail "prepare compliant"
bash "$src/tests/fixtures/prepare.sh" "$src/tests/fixtures/host-violating" "$work/violating" || fail "prepare violating"
export VIGIL_RULES_DIR="$src/checks/rules"

# every shipped host rule id, for "every rule produced a finding"
"$vigil" rules list | awk 'NR > 1 && $3 ~ /^host\./ {print $1}' >"$work/host-rules"
nrules=$(wc -l <"$work/host-rules")
[ "$nrules" -ge 8 ] && ok || fail "only $nrules host rules listed"

# --- the compliant tree: every rule passes, exit 0 even with --fail-on low
expect_exit 0 "scan compliant" -- "$vigil" scan --host-root "$work/compliant" \
    --output "file:$work/compliant.ndjson" --fail-on low
grep -q "passed" "$work/stderr" && ok || fail "no human summary on stderr"
$check "$work/compliant.ndjson" --expect passed --rule-ids "$work/host-rules" && ok || fail "compliant findings"

# --- the violating tree: every rule fails; --fail-on high gives exit 3
expect_exit 3 "scan violating --fail-on high" -- "$vigil" scan --host-root "$work/violating" \
    --output "file:$work/violating.ndjson" --fail-on high
$check "$work/violating.ndjson" --expect failed --rule-ids "$work/host-rules" && ok || fail "violating findings"
# without --fail-on, failed findings are not an error
expect_exit 0 "scan violating" -- "$vigil" scan --host-root "$work/violating" --output stdout
$check "$work/stdout" --expect failed >/dev/null && ok || fail "stdout output"

# the reason a SOC analyst reads names the file and line the value came from
$py - "$work/violating.ndjson" <<'PY' && ok || fail "PermitRootLogin reason"
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("rule", {}).get("id") == "host.sshd.permit_root_login":
        r = d["result"]["reason"]
        assert "PermitRootLogin" in r and "yes" in r and "sshd_config.d/" in r, r
        assert d["result"]["evidence"], d["result"]
        sys.exit(0)
sys.exit("no permit_root_login finding")
PY

# --- ids: stable per (rule, resource, scan); a new scan gets new ids, same rule.uuid
expect_exit 0 "second scan" -- "$vigil" scan --host-root "$work/compliant" --output "file:$work/again.ndjson"
$py - "$work/compliant.ndjson" "$work/again.ndjson" <<'PY' && ok || fail "id stability"
import hashlib, json, sys
def load(p):
    return [json.loads(l) for l in open(p) if '"vigil.findings"' in l]
a, b = load(sys.argv[1]), load(sys.argv[2])
for d in a + b:
    h = hashlib.sha256("\0".join([d["rule"]["id"], d["resource"]["id"],
                                  d["vigil"]["scan"]["id"]]).encode()).hexdigest()[:32]
    assert d["event"]["id"] == h, (d["event"]["id"], h)
ua = {d["rule"]["id"]: d["rule"]["uuid"] for d in a}
ub = {d["rule"]["id"]: d["rule"]["uuid"] for d in b}
assert ua == ub
assert a[0]["vigil"]["scan"]["id"] != b[0]["vigil"]["scan"]["id"]
assert {d["event"]["id"] for d in a}.isdisjoint({d["event"]["id"] for d in b})
PY

# --- unreadable inputs: unknown with the reason, never passed
cp -a "$work/compliant" "$work/broken"
rm -f "$work/broken/etc/shadow" && mkdir "$work/broken/etc/shadow"   # a read error even as root
rm -f "$work/broken/etc/ssh/sshd_config" && mkdir "$work/broken/etc/ssh/sshd_config"
expect_exit 0 "scan broken" -- "$vigil" scan --host-root "$work/broken" --output "file:$work/broken.ndjson"
$check "$work/broken.ndjson" >/dev/null && ok || fail "broken findings shape"
$py - "$work/broken.ndjson" <<'PY' && ok || fail "unknown on unreadable files"
import json, sys
seen = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["event"]["dataset"] != "vigil.findings":
        continue
    rid, ev = d["rule"]["id"], d["result"]["evaluation"]
    if rid.startswith("host.sshd.") or rid == "host.accounts.no_empty_password":
        assert ev == "unknown", (rid, ev)
        assert d["result"]["reason"], rid
        seen[rid] = d["result"]["reason"]
assert any(r.startswith("host.sshd.") for r in seen), seen
assert "host.accounts.no_empty_password" in seen, seen
PY

# --- exceptions: a muted finding is still shipped, flagged, with the reason;
# an expired one no longer mutes and warns; one matching no rule is listed
cat >"$work/exc.yml" <<'YML'
exceptions:
  - rules: [host.sshd.permit_root_login]
    hosts: ["legacy-*"]
    reason: legacy app needs root ssh until migration
    owner: platform-team
    expires: 2099-12-31
  - rules: [host.sshd.max_auth_tries]
    reason: old exception
    owner: secops
    expires: 2020-01-01
  - rules: [host.sshd.permit_rot_login]
    reason: typo in the rule id
    owner: someone
    expires: 2099-01-01
YML
chmod 600 "$work/exc.yml"
expect_exit 0 "scan with exceptions" -- "$vigil" scan --config "$work/exc.yml" --host-root "$work/violating" --output "file:$work/exc.ndjson"
grep -q "exceptions\[1\] (owner secops, reason 'old exception') expired on 2020-01-01 and no longer mutes" "$work/stderr" && ok || fail "expired exception warning"
grep -q "muted by exceptions: 1" "$work/stderr" && ok || fail "muted count in the summary"
$py - "$work/exc.ndjson" <<'PY' && ok || fail "muted findings"
import json, sys
muted = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["event"]["dataset"] == "vigil.scan":
        assert d["vigil"]["scan"]["findings"]["muted"] == 1, d["vigil"]["scan"]["findings"]
        continue
    muted[d["rule"]["id"]] = (d["vigil"]["muted"], d["vigil"].get("mute_reason"), d["result"]["evaluation"])
assert muted["host.sshd.permit_root_login"] == (True, "legacy app needs root ssh until migration", "failed"), muted["host.sshd.permit_root_login"]
assert muted["host.sshd.max_auth_tries"] == (False, None, "failed"), muted["host.sshd.max_auth_tries"]
assert sum(1 for v in muted.values() if v[0]) == 1
PY
expect_exit 0 "config check with exceptions" -- "$vigil" config check --config "$work/exc.yml"
grep -q "exceptions\[2\] (owner someone) matches no loaded rule" "$work/stderr" && ok || fail "unmatched exception listed"
printf 'exceptions:\n  - reason: r\n    owner: o\n    expires: 2099-01-01\n' >"$work/exc-empty.yml"
chmod 600 "$work/exc-empty.yml"
expect_exit 2 "exception matching everything" -- "$vigil" scan --config "$work/exc-empty.yml" --host-root "$work/compliant"
stderr_is "exceptions\[0\]: matches every finding"

# --- bad usage, configuration and rules: exit 2, one line naming the place
expect_exit 2 "missing host root" -- "$vigil" scan --host-root "$work/does-not-exist"
stderr_is "does-not-exist"
[ "$(wc -l <"$work/stderr")" -eq 1 ] && ok || fail "missing host root: more than one line"

printf 'agent:\n  name: x\n  bogus: 1\n' >"$work/bad.yml"
chmod 600 "$work/bad.yml"
expect_exit 2 "unknown config key" -- "$vigil" scan --config "$work/bad.yml"
stderr_is "bad.yml:3:3: .*bogus"

printf 'agent: [unclosed\n' >"$work/malformed.yml"
chmod 600 "$work/malformed.yml"
expect_exit 2 "malformed config" -- "$vigil" config check --config "$work/malformed.yml"
stderr_is "malformed.yml:[0-9]+:[0-9]+: "

mkdir -p "$work/rules"
printf -- '- id: x.bad_regex\n  name: n\n  resource: host.sshd\n  severity: low\n  description: d\n  rationale: r\n  remediation: m\n  frameworks: {soc2: [CC6.1]}\n  check: {path: LogLevel, matches: "([a-z"}\n' >"$work/rules/bad.yml"
expect_exit 2 "bad regex rule" -- "$vigil" scan --host-root "$work/compliant" --rules "$work/rules/bad.yml"
stderr_is "bad.yml:9:[0-9]+: .*regex"
expect_exit 2 "rules validate" -- "$vigil" rules validate "$work/rules/bad.yml"

expect_exit 2 "bad --fail-on" -- "$vigil" scan --fail-on severe
expect_exit 2 "unknown command" -- "$vigil" frobnicate
expect_exit 2 "bad output" -- "$vigil" scan --host-root "$work/compliant" --output kafka
expect_exit 1 "unwritable output" -- "$vigil" scan --host-root "$work/compliant" --output "file:$work/nodir/x.ndjson"

# --- the other commands a person runs
expect_exit 0 "version" -- "$vigil" version
grep -q "yajl" "$work/stdout" && grep -q "OpenSSL" "$work/stdout" && grep -q "commit" "$work/stdout" && ok || fail "version output"
expect_exit 0 "rules show" -- "$vigil" rules show host.sshd.permit_root_login
grep -q "cis_debian_12" "$work/stdout" && ok || fail "rules show lists mappings"
expect_exit 0 "config check defaults" -- "$vigil" config check

echo "test_scan: $pass passed, $failures failed"
[ "$failures" -eq 0 ]
