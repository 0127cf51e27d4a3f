"""Seeds moto (through tests/aws/fallback_server.py) for the network, data
and security-service rules, and checks a scan's findings against what was
seeded.

  seed_network.py seed  ENDPOINT STATE.json     seed; write the ids made
  seed_network.py break ENDPOINT STATE.json     phase 2: break what passed
                                                at account level
  seed_network.py check STATE.json FINDINGS.ndjson PHASE
                                                assert every finding (phase 1:
                                                as seeded; 2: after break; 3: after
                                                break, as a user denied DENIED)
  seed_network.py user ENDPOINT NAME [deny]     make a user with a key and an
                                                admin policy (and a Deny of
                                                DENIED); print "AKID SECRET"

Every check has at least one compliant and one violating resource; the
expected evaluation of every (rule, resource) pair is listed in
expectations() and each must be found in the findings, exactly.
Needs boto3 (python3 on PATH).
"""

import json
import sys

ACCOUNT = "123456789012"
R1, R2 = "us-east-1", "eu-west-1"
CIS_ROOT = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
            '&& $.eventType != "AwsServiceEvent" }')


def clients(endpoint, region):
    import boto3
    s = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                              region_name=region)
    return lambda name: s.client(name, endpoint_url=endpoint)


def sg(ec2, vpc, name, perms):
    gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    # a new group allows all egress: irrelevant to these rules, kept
    if perms:
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
    return gid


def v4(*cidrs):
    return [{"CidrIp": c} for c in cidrs]


def v6(*cidrs):
    return [{"CidrIpv6": c} for c in cidrs]


def nacl(ec2, vpc, entries):
    aid = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    for e in entries:
        num, action, proto, cidr, ports = e
        kw = {"NetworkAclId": aid, "RuleNumber": num, "Protocol": proto, "RuleAction": action,
              "Egress": False}
        if ":" in cidr:
            kw["Ipv6CidrBlock"] = cidr
        else:
            kw["CidrBlock"] = cidr
        if ports:
            kw["PortRange"] = {"From": ports[0], "To": ports[1]}
        ec2.create_network_acl_entry(**kw)
    return aid


def empty_group(ec2, gid):
    g = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    if g.get("IpPermissions"):
        ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=g["IpPermissions"])
    if g.get("IpPermissionsEgress"):
        ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=g["IpPermissionsEgress"])


def default_group(ec2, vpc):
    gs = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                               {"Name": "group-name", "Values": ["default"]}])
    return gs["SecurityGroups"][0]["GroupId"]


def seed(endpoint, out):
    st = {"sg": {}, "nacl": {}}
    c1 = clients(endpoint, R1)
    c2 = clients(endpoint, R2)
    ec2 = c1("ec2")

    # ---- VPCs: flow logs and default groups -------------------------------
    good = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    bad = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    c1("logs").create_log_group(logGroupName="vpc-flow-logs")
    ec2.create_flow_logs(ResourceIds=[good], ResourceType="VPC", TrafficType="ALL",
                         LogGroupName="vpc-flow-logs",
                         DeliverLogsPermissionArn="arn:aws:iam::%s:role/flow-logs" % ACCOUNT)
    # a flow log on a subnet of the bad VPC does not count for the VPC
    sub = ec2.create_subnet(VpcId=bad, CidrBlock="10.2.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_flow_logs(ResourceIds=[sub], ResourceType="Subnet", TrafficType="ALL",
                         LogGroupName="vpc-flow-logs",
                         DeliverLogsPermissionArn="arn:aws:iam::%s:role/flow-logs" % ACCOUNT)
    st["vpc_good"], st["vpc_bad"] = good, bad
    st["dsg_good"] = default_group(ec2, good)
    empty_group(ec2, st["dsg_good"])
    st["dsg_bad"] = default_group(ec2, bad)

    # ---- security groups ------------------------------------------------------
    S = st["sg"]
    S["web"] = sg(ec2, good, "web", [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": v4("0.0.0.0/0"),
         "Ipv6Ranges": v6("::/0")},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": v4("10.0.0.0/8")},
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
         "IpRanges": v4("203.0.113.0/24")}])
    S["ssh"] = sg(ec2, good, "ssh-open", [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": v4("0.0.0.0/0")}])
    S["rdp6"] = sg(ec2, good, "rdp-open-v6", [
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "Ipv6Ranges": v6("::/0")}])
    S["rdpudp"] = sg(ec2, good, "rdp-udp", [
        {"IpProtocol": "udp", "FromPort": 3380, "ToPort": 3390, "IpRanges": v4("0.0.0.0/0")}])
    S["range"] = sg(ec2, good, "range-20-25", [
        {"IpProtocol": "tcp", "FromPort": 20, "ToPort": 25, "IpRanges": v4("0.0.0.0/0")}])
    S["all"] = sg(ec2, good, "all-traffic", [
        {"IpProtocol": "-1", "IpRanges": v4("0.0.0.0/0")}])
    S["alltcp"] = sg(ec2, good, "all-tcp-ports", [
        {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "Ipv6Ranges": v6("::/0")}])
    S["split"] = sg(ec2, good, "split-halves", [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": v4("0.0.0.0/1", "128.0.0.0/1")}])
    S["udp22"] = sg(ec2, good, "udp-22", [
        {"IpProtocol": "udp", "FromPort": 22, "ToPort": 22, "IpRanges": v4("0.0.0.0/0")}])
    S["p8080"] = sg(ec2, good, "http-alt", [
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": v4("0.0.0.0/0")}])
    S["icmp"] = sg(ec2, good, "icmp", [
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": v4("0.0.0.0/0")}])

    # ---- network ACLs ------------------------------------------------------------
    N = st["nacl"]
    N["open"] = nacl(ec2, good, [(100, "allow", "6", "0.0.0.0/0", (22, 22))])
    N["denyfirst"] = nacl(ec2, good, [(80, "deny", "6", "0.0.0.0/0", (3389, 3389)),
                                      (81, "deny", "17", "0.0.0.0/0", (3389, 3389)),
                                      (90, "deny", "6", "0.0.0.0/0", (22, 22)),
                                      (100, "allow", "-1", "0.0.0.0/0", None)])
    N["allowfirst"] = nacl(ec2, good, [(100, "allow", "-1", "0.0.0.0/0", None),
                                       (110, "deny", "6", "0.0.0.0/0", (22, 22))])
    N["v6"] = nacl(ec2, good, [(100, "allow", "6", "::/0", (3380, 3390))])
    N["private"] = nacl(ec2, good, [(100, "allow", "6", "10.0.0.0/8", (22, 22)),
                                    (200, "allow", "6", "0.0.0.0/0", (443, 443))])
    N["halves"] = nacl(ec2, good, [(10, "deny", "-1", "0.0.0.0/1", None),
                                   (20, "deny", "-1", "128.0.0.0/1", None),
                                   (100, "allow", "-1", "0.0.0.0/0", None)])

    # ---- instances ---------------------------------------------------------------
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def run(opts):
        return ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                 MetadataOptions=opts)["Instances"][0]["InstanceId"]
    st["i_v2"] = run({"HttpTokens": "required", "HttpEndpoint": "enabled"})
    st["i_v1"] = run({"HttpTokens": "optional", "HttpEndpoint": "enabled"})
    st["i_off"] = run({"HttpTokens": "optional", "HttpEndpoint": "disabled"})

    # ---- EBS by default: on in R1, off in R2 ---------------------------------------
    ec2.enable_ebs_encryption_by_default()
    c2("ec2").disable_ebs_encryption_by_default()

    # ---- RDS -----------------------------------------------------------------------
    rds = c1("rds")
    for ident, enc, pub in (("db-good", True, False), ("db-bad", False, True)):
        rds.create_db_instance(DBInstanceIdentifier=ident, DBInstanceClass="db.t3.micro",
                               Engine="postgres", MasterUsername="admin",
                               MasterUserPassword="password123", AllocatedStorage=20,
                               StorageEncrypted=enc, PubliclyAccessible=pub)

    # ---- KMS -----------------------------------------------------------------------
    kms = c1("kms")

    def key(name, **kw):
        meta = kms.create_key(Description=name, **kw)["KeyMetadata"]
        st[name] = meta["Arn"]
        return meta["KeyId"]
    kms.enable_key_rotation(KeyId=key("key_good"))
    key("key_bad")
    kms.disable_key(KeyId=key("key_disabled"))
    key("key_rsa", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")

    # ---- CloudWatch Logs retention ---------------------------------------------------
    logs = c1("logs")
    logs.create_log_group(logGroupName="app-forever")
    logs.create_log_group(logGroupName="app-400")
    logs.put_retention_policy(logGroupName="app-400", retentionInDays=400)
    logs.create_log_group(logGroupName="app-30")
    logs.put_retention_policy(logGroupName="app-30", retentionInDays=30)

    # ---- root usage: trail -> log group -> metric filter -> alarm ---------------------
    s3 = c1("s3")
    s3.create_bucket(Bucket="vigil-net-trail")
    logs.create_log_group(logGroupName="trail-logs")
    lg_arn = "arn:aws:logs:%s:%s:log-group:trail-logs:*" % (R1, ACCOUNT)
    ct = c1("cloudtrail")
    ct.create_trail(Name="main", S3BucketName="vigil-net-trail", IsMultiRegionTrail=True,
                    CloudWatchLogsLogGroupArn=lg_arn,
                    CloudWatchLogsRoleArn="arn:aws:iam::%s:role/trail" % ACCOUNT)
    ct.start_logging(Name="main")
    logs.put_metric_filter(logGroupName="trail-logs", filterName="root-usage",
                           filterPattern=CIS_ROOT,
                           metricTransformations=[{"metricName": "RootUsage",
                                                   "metricNamespace": "CISBenchmark",
                                                   "metricValue": "1"}])
    # a filter of another log group with the same pattern does not count
    logs.put_metric_filter(logGroupName="app-forever", filterName="root-elsewhere",
                           filterPattern=CIS_ROOT,
                           metricTransformations=[{"metricName": "RootElsewhere",
                                                   "metricNamespace": "CISBenchmark",
                                                   "metricValue": "1"}])
    topic = c1("sns").create_topic(Name="security-alerts")["TopicArn"]
    c1("cloudwatch").put_metric_alarm(
        AlarmName="root-usage", MetricName="RootUsage", Namespace="CISBenchmark",
        Statistic="Sum", Period=300, Threshold=1, EvaluationPeriods=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic])

    # ---- security services: on in R1, off in R2 --------------------------------------
    c1("guardduty").create_detector(Enable=True)
    c2("guardduty").create_detector(Enable=False)
    sh = c1("securityhub")
    sh.enable_security_hub(EnableDefaultStandards=False)
    sub = sh.batch_enable_standards(StandardsSubscriptionRequests=[{
        "StandardsArn": "arn:aws:securityhub:%s::standards/aws-foundational-security-best-"
                        "practices/v/1.0.0" % R1}])
    st["standard_sub"] = sub["StandardsSubscriptions"][0]["StandardsSubscriptionArn"]
    c1("accessanalyzer").create_analyzer(analyzerName="external", type="ACCOUNT")
    # R2: only an unused-access analyzer and a failed one: neither counts
    aa2 = c2("accessanalyzer")
    aa2.create_analyzer(analyzerName="unused", type="ACCOUNT_UNUSED_ACCESS")
    aa2.create_analyzer(analyzerName="broken", type="ACCOUNT", tags={"vigil-status": "FAILED"})

    with open(out, "w") as f:
        json.dump(st, f, indent=1)


def break_(endpoint, path):
    """Phase 2: what passed at account and region level now fails."""
    st = json.load(open(path))
    c1 = clients(endpoint, R1)
    c1("cloudwatch").delete_alarms(AlarmNames=["root-usage"])
    c1("securityhub").batch_disable_standards(StandardsSubscriptionArns=[st["standard_sub"]])
    c1("accessanalyzer").delete_analyzer(analyzerName="external")
    gd = c1("guardduty")
    for d in gd.list_detectors()["DetectorIds"]:
        gd.update_detector(DetectorId=d, Enable=False)


# ---- expectations -------------------------------------------------------------------

def arn(region, service, res):
    return "arn:aws:%s:%s:%s:%s" % (service, region, ACCOUNT, res)


def expectations(st, phase):
    P, F = "passed", "failed"
    e = {}
    S, N = st["sg"], st["nacl"]

    def sgx(key, ssh, rdp, allp, allowed):
        rid = arn(R1, "ec2", "security-group/" + S[key])
        e[("aws.ec2.security_group_ssh_from_internet", rid)] = ssh
        e[("aws.ec2.security_group_rdp_from_internet", rid)] = rdp
        e[("aws.ec2.security_group_all_ports_from_internet", rid)] = allp
        e[("aws.ec2.security_group_internet_ports_allowed", rid)] = allowed
    sgx("web", P, P, P, P)
    sgx("ssh", F, P, P, F)
    sgx("rdp6", P, F, P, F)
    sgx("rdpudp", P, F, P, F)
    sgx("range", F, P, P, F)
    sgx("all", F, F, F, F)
    sgx("alltcp", F, F, F, F)
    sgx("split", F, P, P, F)
    sgx("udp22", P, P, P, F)
    sgx("p8080", P, P, P, F)
    sgx("icmp", P, P, P, P)
    e[("aws.ec2.default_security_group_restricts_all",
       arn(R1, "ec2", "security-group/" + st["dsg_good"]))] = P
    e[("aws.ec2.default_security_group_restricts_all",
       arn(R1, "ec2", "security-group/" + st["dsg_bad"]))] = F
    for key, want in (("open", F), ("denyfirst", P), ("allowfirst", F), ("v6", F),
                      ("private", P), ("halves", P)):
        e[("aws.ec2.network_acl_admin_ports_from_internet",
           arn(R1, "ec2", "network-acl/" + N[key]))] = want
    e[("aws.ec2.vpc_flow_logs_active", arn(R1, "ec2", "vpc/" + st["vpc_good"]))] = P
    e[("aws.ec2.vpc_flow_logs_active", arn(R1, "ec2", "vpc/" + st["vpc_bad"]))] = F
    for key, want in (("i_v2", P), ("i_v1", F), ("i_off", P)):
        e[("aws.ec2.instance_imdsv2_required", arn(R1, "ec2", "instance/" + st[key]))] = want
    e[("aws.ec2.ebs_encryption_by_default", arn(R1, "ec2", "ebs-encryption-by-default"))] = P
    e[("aws.ec2.ebs_encryption_by_default", arn(R2, "ec2", "ebs-encryption-by-default"))] = F
    e[("aws.rds.instance_storage_encrypted", arn(R1, "rds", "db:db-good"))] = P
    e[("aws.rds.instance_storage_encrypted", arn(R1, "rds", "db:db-bad"))] = F
    e[("aws.rds.instance_not_publicly_accessible", arn(R1, "rds", "db:db-good"))] = P
    e[("aws.rds.instance_not_publicly_accessible", arn(R1, "rds", "db:db-bad"))] = F
    e[("aws.kms.customer_key_rotation", st["key_good"])] = P
    e[("aws.kms.customer_key_rotation", st["key_bad"])] = F
    e[("aws.kms.customer_key_rotation", st["key_disabled"])] = None   # not a resource
    e[("aws.kms.customer_key_rotation", st["key_rsa"])] = None
    for name, want in (("app-forever", P), ("app-400", P), ("app-30", F)):
        e[("aws.logs.log_group_retention", arn(R1, "logs", "log-group:" + name))] = want
    phase1 = phase == "1"
    e[("aws.cloudwatch.root_usage_alarm",
       "arn:aws:cloudwatch::%s:root-usage-monitoring" % ACCOUNT)] = P if phase1 else F
    e[("aws.guardduty.enabled", arn(R1, "guardduty", "detectors"))] = P if phase1 else F
    e[("aws.guardduty.enabled", arn(R2, "guardduty", "detectors"))] = F
    e[("aws.securityhub.enabled", arn(R1, "securityhub", "hub/default"))] = P if phase1 else F
    e[("aws.securityhub.enabled", arn(R2, "securityhub", "hub/default"))] = F
    e[("aws.accessanalyzer.enabled", arn(R1, "access-analyzer", "analyzers"))] = \
        P if phase1 else F
    e[("aws.accessanalyzer.enabled", arn(R2, "access-analyzer", "analyzers"))] = F
    return e


# phase 3 runs as a user denied these calls: what they fill is unknown
# (sub-calls: their fields unknown; rds:DescribeDBInstances is a list call:
# no RDS resource, one scan error)
DENIED = ["kms:GetKeyRotationStatus", "ec2:DescribeFlowLogs", "logs:DescribeMetricFilters",
          "rds:DescribeDBInstances"]


def denied_expectations(st):
    e = expectations(st, "2")
    U = "unknown"
    e[("aws.kms.customer_key_rotation", st["key_good"])] = U
    e[("aws.kms.customer_key_rotation", st["key_bad"])] = U
    for v in ("vpc_good", "vpc_bad"):
        e[("aws.ec2.vpc_flow_logs_active", arn(R1, "ec2", "vpc/" + st[v]))] = U
    e[("aws.cloudwatch.root_usage_alarm",
       "arn:aws:cloudwatch::%s:root-usage-monitoring" % ACCOUNT)] = U
    for rule in ("aws.rds.instance_storage_encrypted", "aws.rds.instance_not_publicly_accessible"):
        for db in ("db-good", "db-bad"):
            e[(rule, arn(R1, "rds", "db:" + db))] = None
    return e


def check(path, findings, phase):
    st = json.load(open(path))
    got = {}
    summary = None
    with open(findings) as f:
        for line in f:
            if not line.strip():
                continue
            ev = json.loads(line)
            if ev.get("event", {}).get("dataset") == "vigil.scan":
                summary = ev
                continue
            key = (ev["rule"]["id"], ev["resource"]["id"])
            if key in got:
                print("FAIL duplicate finding %s %s" % key)
                got[key] = "duplicate"
                continue
            got[key] = (ev["result"]["evaluation"], ev["result"].get("reason", ""), ev)
    ok = bad = 0
    expect = denied_expectations(st) if phase == "3" else expectations(st, phase)
    for key, want in sorted(expect.items()):
        have = got.get(key)
        if want is None:
            if have is None:
                ok += 1
            else:
                bad += 1
                print("FAIL %s %s: expected no finding, got %s" % (key[0], key[1], have[0]))
            continue
        if have is None or have == "duplicate":
            bad += 1
            print("FAIL %s %s: expected %s, no finding" % (key[0], key[1], want))
            continue
        if have[0] != want:
            bad += 1
            print("FAIL %s %s: expected %s, got %s: %s" % (key[0], key[1], want, have[0], have[1]))
            continue
        ev = have[2]
        # a failure names why; cloud fields are set
        if want == "failed" and not have[1]:
            bad += 1
            print("FAIL %s %s: failed without a reason" % key)
            continue
        if want == "unknown" and "denied" not in have[1]:
            bad += 1
            print("FAIL %s %s: unknown without the refusal: %s" % (key[0], key[1], have[1]))
            continue
        # cloud.* is written by the ECS encoder for provider aws; where it is
        # there it must name the account (older encoders leave it out)
        if "cloud" in ev and (ev["cloud"].get("provider") != "aws" or
                              ev["cloud"].get("account", {}).get("id") != ACCOUNT):
            bad += 1
            print("FAIL %s %s: cloud fields %s" % (key[0], key[1], ev.get("cloud")))
            continue
        ok += 1
    # nothing of these rules is unknown in a healthy scan
    mine = {k[0] for k in expect}
    # resources not seeded here (moto's default VPCs) may be unknown only
    # for a rule whose seeded resources are expected unknown
    may = {k[0] for k, v in expect.items() if v == "unknown"}
    for (rule, rid), v in got.items():
        if rule in mine and rule not in may and v != "duplicate" and v[0] == "unknown":
            bad += 1
            print("FAIL %s %s: unknown: %s" % (rule, rid, v[1]))
    if summary is None:
        bad += 1
        print("FAIL no scan summary event")
    else:
        errors = summary.get("vigil", {}).get("scan", {}).get("errors", [])
        mine_err = [x for x in errors if "rds:DescribeDBInstances" in x]
        if phase == "3" and not any("denied" in x for x in mine_err):
            bad += 1
            print("FAIL phase 3: no scan error for the refused list call: %s" % errors)
        elif phase != "3" and mine_err:
            bad += 1
            print("FAIL unexpected scan errors: %s" % mine_err)
        else:
            ok += 1
    print("phase %s: %d passed, %d failed" % (phase, ok, bad))
    return 1 if bad else 0


def user(endpoint, name, deny):
    """Runs with any credentials before moto checks them (reset-auth lets
    three actions through: CreateUser, CreateAccessKey, PutUserPolicy), or
    with an admin's afterwards (AWS_ACCESS_KEY_ID in the environment)."""
    import os
    import boto3
    s = boto3.session.Session(aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                              aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY",
                                                                   "testing"),
                              region_name=R1)
    iam = s.client("iam", endpoint_url=endpoint)
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    stmts = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    if deny:
        stmts.append({"Effect": "Deny", "Action": DENIED, "Resource": "*"})
    iam.put_user_policy(UserName=name, PolicyName="audit",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": stmts}))
    print(key["AccessKeyId"], key["SecretAccessKey"])


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "seed" and len(sys.argv) == 4:
        seed(sys.argv[2], sys.argv[3])
    elif cmd == "break" and len(sys.argv) == 4:
        break_(sys.argv[2], sys.argv[3])
    elif cmd == "user" and len(sys.argv) in (4, 5):
        user(sys.argv[2], sys.argv[3], len(sys.argv) == 5 and sys.argv[4] == "deny")
    elif cmd == "check" and len(sys.argv) == 5:
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
