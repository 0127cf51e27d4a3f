#!/usr/bin/env bash
# AWS scan benchmark (not a test): seeds moto with 10,000 resources (3,000
# S3 buckets, 3,000 security groups, 2,000 IAM users, 2,000 log groups),
# scans the account once directly and once through tests/bench/
# delay_proxy.py adding 50 ms to every request, and prints wall time, CPU
# time, requests, requests per second, peak RSS and findings for each.
#   bench_aws.sh [VIGIL_BINARY] [SOURCE_DIR]
# Sizes: BENCH_BUCKETS, BENCH_SGS, BENCH_USERS, BENCH_LOGS; BENCH_DELAY_MS
# (50); BENCH_IN_FLIGHT (scans[].max_in_flight, 32).
# Needs python3 with moto and boto3, and /usr/bin/time.
set -uo pipefail
vigil=$(realpath "${1:-build/vigil}")
src=$(realpath "${2:-.}")
buckets=${BENCH_BUCKETS:-3000}
sgs=${BENCH_SGS:-3000}
users=${BENCH_USERS:-2000}
logs=${BENCH_LOGS:-2000}
delay=${BENCH_DELAY_MS:-50}
inflight=${BENCH_IN_FLIGHT:-32}
if ! python3 -c 'import moto, boto3' 2>/dev/null; then
    echo "SKIP: moto not installed"; exit 0
fi
work=$(mktemp -d /tmp/vigil-bench-aws-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 60))
until curl -sf -o /dev/null "http://127.0.0.1:$port/moto-api/"; do
    [ $SECONDS -lt $deadline ] || { echo "moto did not start"; exit 1; }
    sleep 0.1   # between polls, bounded by the deadline
done
/usr/bin/python3 "$src/tests/bench/delay_proxy.py" "http://127.0.0.1:$port" "$delay" \
    >"$work/proxy.out" 2>"$work/proxy.err" &
pids+=($!)
deadline=$((SECONDS + 30))
until grep -q '^PORT ' "$work/proxy.out" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "delay proxy did not start"; exit 1; }
    sleep 0.1
done
pport=$(awk '/^PORT /{print $2; exit}' "$work/proxy.out")

echo "seeding moto: $buckets buckets, $sgs security groups, $users IAM users, $logs log groups"
t0=$SECONDS
python3 - "http://127.0.0.1:$port" "$buckets" "$sgs" "$users" "$logs" <<'EOF' || exit 1
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
import boto3
ep, nb, ns, nu, nl = sys.argv[1], *map(int, sys.argv[2:])
s = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                          region_name="us-east-1")
s3, ec2, iam, logs = (s.client(n, endpoint_url=ep) for n in ("s3", "ec2", "iam", "logs"))
vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
ec2_lock = threading.Lock()   # moto's EC2 backend fails (500) under concurrent creation
def sg(i):
    with ec2_lock:
        g = ec2.create_security_group(GroupName="bench-%d" % i, Description="b", VpcId=vpc)
        if i % 10 == 0:
            ec2.authorize_security_group_ingress(GroupId=g["GroupId"], IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                 "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
jobs = [lambda i=i: s3.create_bucket(Bucket="bench-bucket-%05d" % i) for i in range(nb)]
jobs += [lambda i=i: sg(i) for i in range(ns)]
jobs += [lambda i=i: iam.create_user(UserName="bench-user-%05d" % i) for i in range(nu)]
jobs += [lambda i=i: logs.create_log_group(logGroupName="/bench/%05d" % i) for i in range(nl)]
with ThreadPoolExecutor(8) as ex:
    for f in [ex.submit(j) for j in jobs]:
        f.result()
EOF
echo "seeded in $((SECONDS - t0)) s"

# run NAME ENDPOINT: one scan of us-east-1 (and the global services)
run() {
    local name=$1 endpoint=$2
    cat >"$work/$name.yml" <<EOF
scans:
  - provider: aws
    regions: [us-east-1]
    endpoint_url: $endpoint
    max_in_flight: $inflight
EOF
    chmod 600 "$work/$name.yml"
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
    VIGIL_RULES_DIR="$src/checks/rules" /usr/bin/time -v "$vigil" scan --config "$work/$name.yml" \
        --output "file:$work/$name.ndjson" --debug aws >"$work/$name.out" 2>"$work/$name.err"
    local rc=$?
    [ $rc = 0 ] || { echo "$name: vigil exit $rc"; tail -5 "$work/$name.err"; }
    /usr/bin/python3 - "$name" "$work/$name.err" "$work/$name.ndjson" <<'EOF'
import re, sys
name, err, out = sys.argv[1:]
text = open(err).read()
def field(label):
    m = re.search(re.escape(label) + r":\s*(\S+)", text)
    return m.group(1) if m else "?"
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\):\s*(\S+)", text)
wall = m.group(1) if m else "?"
parts = [float(p) for p in wall.split(":")] if wall != "?" else [0]
secs = 0.0
for p in parts:
    secs = secs * 60 + p
cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
rss = int(field("Maximum resident set size (kbytes)")) / 1024
reqs = sum(int(x) for x in re.findall(r"\] \S+: (\d+) requests", text))
per = {m.group(1): int(m.group(2)) for m in re.finditer(r"\] (\S+): (\d+) requests", text)}
inflight = {m.group(1): int(m.group(2)) for m in
            re.finditer(r"\] (\S+): .* (\d+) at most in flight", text)}
findings = sum(1 for line in open(out) if '"vigil.findings"' in line)
resources = re.search(r"(\d+) resources", text)
print("%-12s wall %7.1f s  cpu %6.1f s  requests %6d  %7.0f req/s  peak RSS %6.1f MiB  "
      "resources %s  findings %d" % (name, secs, cpu, reqs, reqs / secs if secs else 0, rss,
                                     resources.group(1) if resources else "?", findings))
print("%-12s per service: %s" % ("", ", ".join("%s %d (%d in flight)" % (k, v, inflight.get(k, 0))
                                               for k, v in sorted(per.items()))))
EOF
}

echo "vigil $("$vigil" version 2>/dev/null | head -1), $(nproc) CPUs, max_in_flight $inflight"
run direct "http://127.0.0.1:$port"
run "delay-${delay}ms" "http://127.0.0.1:$pport"
curl -s "http://127.0.0.1:$pport/_delay/stats"; echo " (delay proxy)"
