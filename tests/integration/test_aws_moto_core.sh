#!/usr/bin/env bash
# The AWS IAM, S3, CloudTrail and Config rules against moto: moto
# (python3 -m moto.server) behind tests/aws/moto_fill.py (which fills what
# moto lacks: the credential report's root row and times, CloudTrail's
# CloudWatch Logs delivery time), seeded by tests/aws/seed_core.py with a
# compliant and a violating resource for every check in two accounts,
# scanned with `vigil scan`, every finding asserted.
#   phase 1  both accounts through AssumeRole (`accounts`), moto checking
#            every signature (reset-auth 0, as INITIAL_NO_AUTH_ACTION_COUNT=0)
#   phase 2  account A scanned by a user denied s3:GetBucketPolicy and
#            iam:GetAccountAuthorizationDetails: those findings unknown with
#            the refusal, the list call a scan error, the rest as before
#   phase 3  a wrong secret, then an endpoint that does not answer: exit 1
#            with one clear sentence, no findings
#   phase 4  faults from moto_fill.py (throttling burst, 500s, a truncated
#            answer, a pagination loop, a slow answer): the scan completes,
#            retried calls count, failed ones leave unknowns, never passes
#   phase 5  `vigil run` as the phase-2 user: /metrics counts the API
#            requests and errors by service
#   test_aws_moto_core.sh VIGIL_BINARY SOURCE_DIR
set -uo pipefail
vigil=$1
src=$2
if ! python3 -c 'import moto, boto3' 2>/dev/null; then
    echo "SKIP: moto not installed"
    exit 0
fi
work=$(mktemp -d /tmp/vigil-awscore-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ -n "${VIGIL_TEST_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
failures=0
pass=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { pass=$((pass + 1)); }
seed="python3 $src/tests/aws/seed_core.py"

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_IAM_LOAD_MANAGED_POLICIES=true python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 60))
until curl -sf -o /dev/null "http://127.0.0.1:$port/moto-api/"; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "${pids[0]}" 2>/dev/null; then
        echo "FAIL: moto did not start"; tail -5 "$work/moto.log"; exit 1
    fi
    sleep 0.1   # between polls; the deadline above bounds the wait
done
/usr/bin/python3 "$src/tests/aws/moto_fill.py" --moto "http://127.0.0.1:$port" \
    >"$work/fill.out" 2>"$work/fill.err" &
pids+=($!)
deadline=$((SECONDS + 30))
until grep -q '^PORT ' "$work/fill.out" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "${pids[1]}" 2>/dev/null; then
        echo "FAIL: moto_fill.py did not start"; cat "$work/fill.err"; exit 1
    fi
    sleep 0.1
done
endpoint="http://127.0.0.1:$(awk '/^PORT /{print $2; exit}' "$work/fill.out")"

$seed seed "$endpoint" "$work/state.json" >"$work/seed.log" 2>&1 && ok || {
    fail "seeding"; tail -20 "$work/seed.log"; exit 1; }
read -r akid secret < <(/usr/bin/python3 -c 'import json,sys; print(*json.load(open(sys.argv[1]))["scanner"])' "$work/state.json")
# from here on moto checks every signature and every permission
curl -sf -X POST -H "Content-Type: text/plain" -d 0 "http://127.0.0.1:$port/moto-api/reset-auth" >/dev/null && ok || fail "reset-auth"

export VIGIL_RULES_DIR="$src/checks/rules"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_DEFAULT_REGION AWS_REGION
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent

cat >"$work/both.yml" <<EOF
scans:
  - provider: aws
    regions: [us-east-1, eu-west-1]
    endpoint_url: $endpoint
    accounts:
      - role_arn: arn:aws:iam::123456789012:role/vigil-audit
        session_name: vigil-core-test
      - role_arn: arn:aws:iam::111111111111:role/vigil-audit
        external_id: \${VIGIL_TEST_EXTERNAL_ID}
EOF
cat >"$work/own.yml" <<EOF
scans:
  - provider: aws
    regions: [us-east-1, eu-west-1]
    endpoint_url: $endpoint
EOF
chmod 600 "$work/both.yml" "$work/own.yml"
export VIGIL_TEST_EXTERNAL_ID=ext-1234

# scan PHASE CONFIG AKID SECRET: one scan, its findings checked
scan() {
    local phase=$1 cfg=$2
    AWS_ACCESS_KEY_ID=$3 AWS_SECRET_ACCESS_KEY=$4 timeout 300 "$vigil" scan \
        --config "$cfg" --output "file:$work/phase$phase.ndjson" \
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
}

# --- phase 1: both accounts, every signature checked; the IAM details come
# in two pages (moto never paginates them)
curl -sf -X POST -H "Content-Type: application/json" \
    -d '{"GetAccountAuthorizationDetails": {"mode": "split"}}' "$endpoint/_fill/faults" >/dev/null \
    && ok || fail "setting the split"
scan 1 "$work/both.yml" "$akid" "$secret"
# the rewrites of moto_fill.py were used (else rows 1-3 and 19 prove nothing)
hits=$(curl -sf "$endpoint/_fill/hits")
case "$hits" in *GetCredentialReport*GetTrailStatus*|*GetTrailStatus*GetCredentialReport*) ok ;;
    *) fail "moto_fill.py rewrote nothing: $hits" ;; esac
# two accounts, two pages each
case "$hits" in *'"fault:GetAccountAuthorizationDetails": 4'*) ok ;;
    *) fail "the IAM details were not read in two pages: $hits" ;; esac
curl -sf -X POST -H "Content-Type: application/json" \
    -d '{"GetAccountAuthorizationDetails": {"mode": "split", "count": 0}}' "$endpoint/_fill/faults" >/dev/null \
    && ok || fail "clearing the split"

# --- phase 2: a user refused two calls
read -r lakid lsecret < <($seed limited "$endpoint" "$work/state.json" 2>"$work/limited.err")
if [ -z "${lakid:-}" ]; then
    fail "creating the limited user"; cat "$work/limited.err"
else
    scan 2 "$work/own.yml" "$lakid" "$lsecret"
fi

# --- phase 3: whole-account failures are errors (exit 1), not findings
AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=wrong-secret timeout 120 "$vigil" scan \
    --config "$work/own.yml" --output "file:$work/wrong.ndjson" >/dev/null 2>"$work/wrong.err"
rc=$?
if [ $rc = 1 ] && grep -q 'cannot identify the account: bad credentials for sts:GetCallerIdentity' "$work/wrong.err" \
        && ! grep -q '"aws\.' "$work/wrong.ndjson" 2>/dev/null; then
    ok
else
    fail "wrong secret: exit $rc"; cat "$work/wrong.err"
fi
dead=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s#$endpoint#http://127.0.0.1:$dead#" "$work/own.yml" >"$work/dead.yml"
chmod 600 "$work/dead.yml"
AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=$secret timeout 120 "$vigil" scan \
    --config "$work/dead.yml" --output "file:$work/dead.ndjson" >/dev/null 2>"$work/dead.err"
rc=$?
if [ $rc = 1 ] && grep -q 'cannot identify the account' "$work/dead.err" && [ "$(grep -c . "$work/dead.err")" -le 3 ]; then
    ok
else
    fail "unreachable endpoint: exit $rc"; cat "$work/dead.err"
fi

# --- phase 4: faults: a throttling burst, 500s to the end, a truncated
# answer, a pagination token that comes back, a slow answer
curl -sf -X POST -H "Content-Type: application/json" -d '{
    "ListBuckets": {"mode": "status", "status": 503, "count": 2},
    "GetBucketEncryption": {"mode": "status", "status": 500},
    "GetAccountAuthorizationDetails": {"mode": "loop"},
    "GetTrailStatus": {"mode": "truncate"},
    "DescribeConfigurationRecorders": {"mode": "delay", "seconds": 2}}' \
    "$endpoint/_fill/faults" >/dev/null && ok || fail "setting the faults"
scan 4 "$work/own.yml" "$akid" "$secret"
hits=$(curl -sf "$endpoint/_fill/hits")
case "$hits" in *'"fault:ListBuckets": 2'*) ok ;; *) fail "the throttling burst was not sent: $hits" ;; esac

# --- phase 5: `vigil run` counts the API requests and errors by service in
# /metrics: the limited user of phase 2 (refused s3:GetBucketPolicy and
# iam:GetAccountAuthorizationDetails), faults cleared
curl -sf -X POST -H "Content-Type: application/json" -d '{}' "$endpoint/_fill/faults" >/dev/null \
    && ok || fail "clearing the faults"
if [ -n "${lakid:-}" ]; then
    cat >"$work/run.yml" <<EOF
agent: {state_dir: $work/run-state, splay: 0s, monitoring_period: 0s, http: {listen: 127.0.0.1:0}}
scans:
  - provider: aws
    regions: [us-east-1]
    endpoint_url: $endpoint
    interval: 1h
outputs: {file: {path: $work/run.ndjson}}
EOF
    chmod 600 "$work/run.yml"
    AWS_ACCESS_KEY_ID=$lakid AWS_SECRET_ACCESS_KEY=$lsecret "$vigil" run --config "$work/run.yml" \
        2>"$work/run.log" &
    run_pid=$!
    pids+=($run_pid)
    deadline=$((SECONDS + 120))
    until grep -q "scan 1 (aws) of" "$work/run.log" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 "$run_pid" 2>/dev/null; then break; fi
        sleep 0.2
    done
    mon=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/run.log" | head -1 | cut -d' ' -f3)
    if curl -sf "http://$mon/metrics" >"$work/metrics" 2>/dev/null; then
        ok
        /usr/bin/python3 - "$work/metrics" <<'PY' && ok || { fail "API counters in /metrics"; grep api "$work/metrics"; }
import re, sys
m = {}
for line in open(sys.argv[1]):
    g = re.fullmatch(r'(vigil_api_(?:requests|errors)_total)\{service="([a-z0-9-]+)"\} ([0-9]+)\n', line)
    if g:
        m[(g.group(1), g.group(2))] = int(g.group(3))
req = lambda s: m.get(("vigil_api_requests_total", s), 0)
err = lambda s: m.get(("vigil_api_errors_total", s), 0)
for svc in ("sts", "iam", "s3", "cloudtrail"):
    assert req(svc) > 0, (svc, m)
# the refused calls count as errors of their service
assert err("s3") >= 1 and err("iam") >= 1, m
assert all(err(s) <= req(s) for (_, s) in m), m
print("api counters:", ", ".join("%s %d/%d" % (s, req(s), err(s))
                                 for s in sorted({s for (_, s) in m})))
PY
    else
        fail "no /metrics from vigil run"; tail -5 "$work/run.log"
    fi
    kill -TERM "$run_pid" 2>/dev/null
    wait "$run_pid"
    rc=$?
    [ $rc -eq 0 ] && ok || { fail "vigil run after SIGTERM: exit $rc"; tail -3 "$work/run.log"; }
fi

echo "test_aws_moto_core: $pass passed, $failures failed"
[ "$failures" = 0 ]
