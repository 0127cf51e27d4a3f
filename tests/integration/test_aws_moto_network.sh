#!/usr/bin/env bash
# The AWS network, data and security-service rules against moto: moto
# (python3 -m moto.server) behind tests/aws/fallback_server.py (which
# answers the APIs moto lacks: IAM Access Analyzer and Security Hub's
# standards), seeded by tests/aws/seed_network.py with a compliant and a
# violating resource for every check, scanned with `vigil scan`, every
# finding asserted.
#   phase 1  as seeded, moto not checking signatures
#   phase 2  account- and region-level settings broken, moto checking every
#            signature (reset-auth, as INITIAL_NO_AUTH_ACTION_COUNT does)
#   phase 3  as phase 2, scanned by a user denied kms:GetKeyRotationStatus,
#            ec2:DescribeFlowLogs and guardduty:GetDetector: those findings
#            are unknown with the refusal, the rest as in phase 2
#   test_aws_moto_network.sh VIGIL_BINARY SOURCE_DIR
set -uo pipefail
vigil=$1
src=$2
if ! python3 -c 'import moto, boto3' 2>/dev/null; then
    echo "SKIP: moto not installed"
    exit 0
fi
work=$(mktemp -d /tmp/vigil-awsnet-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
failures=0
pass=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { pass=$((pass + 1)); }
seed="python3 $src/tests/aws/seed_network.py"

# a free port for moto (it cannot report the one it took)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 60))
until curl -sf -o /dev/null "http://127.0.0.1:$port/moto-api/"; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "${pids[0]}" 2>/dev/null; then
        echo "FAIL: moto did not start"; tail -5 "$work/moto.log"; exit 1
    fi
    sleep 0.1   # between polls; the deadline above bounds the wait
done
/usr/bin/python3 "$src/tests/aws/fallback_server.py" "http://127.0.0.1:$port" \
    >"$work/fallback.out" 2>"$work/fallback.err" &
pids+=($!)
deadline=$((SECONDS + 30))
until grep -q '^PORT ' "$work/fallback.out" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "${pids[1]}" 2>/dev/null; then
        echo "FAIL: fallback server did not start"; cat "$work/fallback.err"; exit 1
    fi
    sleep 0.1
done
fport=$(awk '/^PORT /{print $2; exit}' "$work/fallback.out")
endpoint="http://127.0.0.1:$fport"

$seed seed "$endpoint" "$work/state.json" >"$work/seed.log" 2>&1 && ok || {
    fail "seeding"; tail -20 "$work/seed.log"; exit 1; }

cat >"$work/vigil.yml" <<EOF
scans:
  - provider: aws
    regions: [us-east-1, eu-west-1]
    endpoint_url: $endpoint
EOF
chmod 600 "$work/vigil.yml"
export VIGIL_RULES_DIR="$src/checks/rules"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent

# scan PHASE AKID SECRET: one scan, its findings checked
scan() {
    local phase=$1
    AWS_ACCESS_KEY_ID=$2 AWS_SECRET_ACCESS_KEY=$3 timeout 240 "$vigil" scan \
        --config "$work/vigil.yml" --output "file:$work/phase$phase.ndjson" \
        >"$work/scan$phase.out" 2>"$work/scan$phase.err"
    local rc=$?
    if [ $rc != 0 ]; then
        fail "phase $phase: vigil scan exit $rc"; tail -5 "$work/scan$phase.err"; return
    fi
    ok
    if $seed check "$work/state.json" "$work/phase$phase.ndjson" "$phase" >"$work/check$phase.log" 2>&1; then
        ok
    else
        fail "phase $phase findings"; grep -v '^phase' "$work/check$phase.log" | head -40
    fi
    tail -1 "$work/check$phase.log"
    # the human summary names the scan
    grep -q 'passed' "$work/scan$phase.err" && ok || fail "phase $phase: no summary on stderr"
}

# --- phase 1: as seeded
scan 1 testing testing

# --- phase 2: break the account- and region-level settings, then let
# moto check every signature from here on
$seed break "$endpoint" "$work/state.json" >"$work/break.log" 2>&1 && ok || {
    fail "break"; tail -20 "$work/break.log"; }
curl -sf -X POST -H "Content-Type: application/json" -d 3 "http://127.0.0.1:$port/moto-api/reset-auth" >/dev/null && ok || fail "reset-auth"
read -r akid secret < <($seed user "$endpoint" vigil-audit 2>"$work/user.err")
if [ -z "${akid:-}" ]; then
    fail "creating the audit user"; cat "$work/user.err"
else
    curl -sf -X POST -d "{\"$akid\": \"$secret\"}" "$endpoint/_fallback/keys" >/dev/null && ok || fail "fallback keys"
    # a wrong secret is refused now: the scan cannot even identify the account
    AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=wrong timeout 120 "$vigil" scan \
        --config "$work/vigil.yml" --output "file:$work/wrong.ndjson" >/dev/null 2>"$work/wrong.err"
    rc=$?
    if [ $rc = 0 ] && grep -q '"aws.ec2' "$work/wrong.ndjson" 2>/dev/null; then
        fail "a wrong secret still produced findings"
    else
        ok
    fi
    scan 2 "$akid" "$secret"

    # --- phase 3: a user denied some sub-calls
    read -r dakid dsecret < <(AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=$secret \
        $seed user "$endpoint" vigil-limited deny 2>"$work/user3.err")
    if [ -z "${dakid:-}" ]; then
        fail "creating the limited user"; cat "$work/user3.err"
    else
        curl -sf -X POST -d "{\"$dakid\": \"$dsecret\"}" "$endpoint/_fallback/keys" >/dev/null && ok || fail "fallback keys 3"
        scan 3 "$dakid" "$dsecret"
    fi
fi

echo "test_aws_moto_network: $pass passed, $failures failed"
[ "$failures" = 0 ]
