"""Seeds moto for the IAM, S3, CloudTrail and Config rules, and checks findings.

    python3 seed_core.py seed ENDPOINT STATE.json      (moto not checking signatures)
    python3 seed_core.py limited ENDPOINT STATE.json   (prints "AKID SECRET" of a user
                                                        denied two calls; signed)
    python3 seed_core.py check STATE.json FINDINGS.ndjson PHASE

ENDPOINT is tests/aws/moto_fill.py in front of moto: the credential
report's root row and times, and CloudTrail's CloudWatch Logs delivery
time, are set through it (moto has neither).

Two accounts: A (123456789012, moto's default) holds one compliant and one
violating resource for every resource-level check and the compliant
account-level settings; B (111111111111, reached through sts:AssumeRole)
holds the violating account-level settings. Both are scanned through a
role "vigil-audit" (the provider's `accounts`).

Phase 1 expects every finding in EXPECT; phase 2 (scanned by the limited
user, account A only) expects the findings the refused calls feed to be
unknown with the refusal, and the list call's failure among the scan
errors; phase 4 (faults injected by moto_fill.py) expects retried calls to
count and failed ones to leave their findings unknown, never passed.
"""

import datetime
import json
import sys
import urllib.request

A = "123456789012"
B = "111111111111"
REGIONS = ["us-east-1", "eu-west-1"]


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def ago(days=0, hours=0):
    return (now() - datetime.timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def post(url, doc):
    req = urllib.request.Request(url, data=json.dumps(doc).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def doc(*stmts):
    return json.dumps({"Version": "2012-10-17", "Statement": list(stmts)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
# moto matches the trust policy's principals literally: name the scanner too
TRUST = doc({"Effect": "Allow",
             "Principal": {"AWS": ["arn:aws:iam::%s:root" % A,
                                   "arn:aws:iam::%s:user/vigil-scanner" % A]},
             "Action": "sts:AssumeRole"})


# ---- seeding -------------------------------------------------------------

def seed(endpoint, state_path):
    import boto3

    from botocore.config import Config

    def clients(**creds):
        def c(svc, region="us-east-1"):
            # s3control would put the account id before the endpoint's host
            cfg = Config(inject_host_prefix=False)
            return boto3.client(svc, endpoint_url=endpoint, region_name=region, config=cfg,
                                **creds)
        return c

    ca = clients(aws_access_key_id="testing", aws_secret_access_key="testing")
    state = {"endpoint": endpoint}

    # ---- account A: IAM
    iam = ca("iam")
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=ADMIN_ARN)
    iam.create_user(UserName="vigil-scanner")
    iam.add_user_to_group(GroupName="admins", UserName="vigil-scanner")
    k = iam.create_access_key(UserName="vigil-scanner")["AccessKey"]
    state["scanner"] = [k["AccessKeyId"], k["SecretAccessKey"]]
    iam.create_role(RoleName="vigil-audit", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="vigil-audit", PolicyArn=ADMIN_ARN)

    for u in ["alice", "bob", "carol", "dave", "erin", "frank", "gina"]:
        iam.create_user(UserName=u)
    for u in ["alice", "bob", "erin"]:
        iam.create_login_profile(UserName=u, Password="Correct-Horse-9-Battery")
    for u in ["carol", "dave"]:
        iam.create_access_key(UserName=u)

    def policy(name, document):
        return iam.create_policy(PolicyName=name, PolicyDocument=document)["Policy"]["Arn"]

    p_admin = policy("admin-policy", doc(allow("*")))
    p_notaction = policy("notaction-policy", doc({"Effect": "Allow", "NotAction": "iam:*",
                                                  "Resource": "*"}))
    p_unused = policy("unused-admin", doc(allow("*")))
    p_read = policy("readonly-policy", doc(allow(["s3:Get*", "s3:List*"])))
    p_pass = policy("passrole-policy", doc(
        allow("iam:PassRole", "arn:aws:iam::%s:role/app-role" % A),
        allow(["ec2:RunInstances", "ec2:Describe*"])))
    state["policies"] = {"admin": p_admin, "notaction": p_notaction, "unused": p_unused,
                         "read": p_read, "pass": p_pass}
    iam.create_group(GroupName="ops")
    iam.attach_group_policy(GroupName="ops", PolicyArn=p_admin)
    iam.put_group_policy(GroupName="ops", PolicyName="ops-inline",
                         PolicyDocument=doc(allow("iam:CreatePolicyVersion")))
    iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="app-role", PolicyArn=p_notaction)
    iam.attach_role_policy(RoleName="app-role", PolicyArn=p_pass)
    iam.create_role(RoleName="admin-role", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="admin-role", PolicyName="everything",
                        PolicyDocument=doc(allow(["*"], ["*"])))
    iam.attach_user_policy(UserName="frank", PolicyArn=p_read)
    iam.put_user_policy(UserName="frank", PolicyName="frank-inline",
                        PolicyDocument=doc(allow("s3:ListAllMyBuckets")))
    iam.put_user_policy(UserName="gina", PolicyName="gina-admin",
                        PolicyDocument=doc(allow("*:*")))
    iam.update_account_password_policy(MinimumPasswordLength=14, PasswordReusePrevention=24)

    # ---- account A: S3
    s3 = ca("s3")
    # S3 Control, by hand: boto3 puts the account id before the endpoint's
    # host (123456789012.127.0.0.1), and moto is not checking signatures yet
    body = ("<PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>"
            "<BlockPublicPolicy>true</BlockPublicPolicy>"
            "<RestrictPublicBuckets>true</RestrictPublicBuckets>"
            "</PublicAccessBlockConfiguration>").encode()
    req = urllib.request.Request(endpoint + "/v20180820/configuration/publicAccessBlock",
                                 data=body, method="PUT",
                                 headers={"x-amz-account-id": A, "Content-Type": "application/xml",
                                          "Authorization": "AWS4-HMAC-SHA256 Credential=testing/"
                                          "20240101/us-east-1/s3/aws4_request, SignedHeaders=host, "
                                          "Signature=0"})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()

    def bucket(client, name, region="us-east-1"):
        if region == "us-east-1":
            client.create_bucket(Bucket=name)
        else:
            client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})

    def aes(client, name):
        client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})

    def tls(client, name, action="s3:*"):
        client.put_bucket_policy(Bucket=name, Policy=doc({
            "Sid": "DenyHttp", "Effect": "Deny", "Principal": "*", "Action": action,
            "Resource": ["arn:aws:s3:::%s" % name, "arn:aws:s3:::%s/*" % name],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))

    bucket(s3, "vg-a-good", "eu-west-1")
    s3eu = ca("s3", "eu-west-1")
    s3eu.put_bucket_encryption(Bucket="vg-a-good", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                          "KMSMasterKeyID": "alias/s3"}}]})
    tls(s3eu, "vg-a-good")
    s3eu.put_bucket_tagging(Bucket="vg-a-good", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    bucket(s3, "vg-a-plain")            # no encryption, no policy, own BPA off
    s3.put_public_access_block(Bucket="vg-a-plain", PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False})
    bucket(s3, "vg-a-getstar")          # a deny of "s3:Get*" only
    aes(s3, "vg-a-getstar")
    tls(s3, "vg-a-getstar", "s3:Get*")

    # ---- account A: CloudTrail
    for name in ["vg-a-trail-logs", "vg-a-access-logs", "vg-a-trail-weak", "vg-a-trail-gone"]:
        bucket(s3, name)
    s3.put_bucket_acl(Bucket="vg-a-access-logs", ACL="log-delivery-write")
    s3.put_bucket_logging(Bucket="vg-a-trail-logs", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "vg-a-access-logs", "TargetPrefix": "trail/"}})
    kms = ca("kms")
    key = kms.create_key(Description="trail")["KeyMetadata"]["Arn"]
    logs = ca("logs")
    logs.create_log_group(logGroupName="trail-events")
    group_arn = "arn:aws:logs:us-east-1:%s:log-group:trail-events:*" % A
    ct = ca("cloudtrail")
    main = ct.create_trail(Name="main-trail", S3BucketName="vg-a-trail-logs",
                           IsMultiRegionTrail=True, EnableLogFileValidation=True, KmsKeyId=key,
                           CloudWatchLogsLogGroupArn=group_arn,
                           CloudWatchLogsRoleArn="arn:aws:iam::%s:role/vigil-audit" % A)
    ct.put_event_selectors(TrailName="main-trail", EventSelectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": True}])
    ct.start_logging(Name="main-trail")
    cteu = ca("cloudtrail", "eu-west-1")
    weak = cteu.create_trail(Name="weak-trail", S3BucketName="vg-a-trail-weak",
                             CloudWatchLogsLogGroupArn=group_arn,
                             CloudWatchLogsRoleArn="arn:aws:iam::%s:role/vigil-audit" % A)
    cteu.put_event_selectors(TrailName="weak-trail", EventSelectors=[
        {"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}])
    cteu.start_logging(Name="weak-trail")
    gone = ct.create_trail(Name="gone-trail", S3BucketName="vg-a-trail-gone")
    s3.delete_bucket(Bucket="vg-a-trail-gone")
    state["trails"] = {"main": main["TrailARN"], "weak": weak["TrailARN"],
                       "gone": gone["TrailARN"]}
    post(endpoint + "/_fill/trail-status", {
        main["TrailARN"]: {"LatestCloudWatchLogsDeliveryTime": now().timestamp() - 600},
        weak["TrailARN"]: {"LatestCloudWatchLogsDeliveryTime": now().timestamp() - 3 * 86400},
    })

    # ---- account A: Config (on in us-east-1, stopped in eu-west-1)
    for region, start in [("us-east-1", True), ("eu-west-1", False)]:
        cfg = ca("config", region)
        cfg.put_configuration_recorder(ConfigurationRecorder={
            "name": "default", "roleARN": "arn:aws:iam::%s:role/vigil-audit" % A,
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
        cfg.put_delivery_channel(DeliveryChannel={"name": "default",
                                                  "s3BucketName": "vg-a-access-logs"})
        if start:
            cfg.start_configuration_recorder(ConfigurationRecorderName="default")

    # ---- account A: the credential report's root row and times
    post(endpoint + "/_fill/report", {A: {
        "<root_account>": {"mfa_active": "true", "password_enabled": "not_supported",
                           "password_last_used": ago(30), "access_key_1_active": "false",
                           "access_key_2_active": "false", "user_creation_time": ago(900)},
        "alice": {"password_enabled": "true", "mfa_active": "true",
                  "password_last_used": ago(2), "password_last_changed": ago(50)},
        "bob": {"password_enabled": "true", "mfa_active": "false",
                "password_last_used": ago(1), "password_last_changed": ago(50)},
        "erin": {"password_enabled": "true", "mfa_active": "true",
                 "password_last_used": ago(60), "password_last_changed": ago(200)},
        "carol": {"access_key_1_active": "true", "access_key_1_last_rotated": ago(100),
                  "access_key_1_last_used_date": "N/A"},
        "dave": {"access_key_1_active": "true", "access_key_1_last_rotated": ago(120),
                 "access_key_1_last_used_date": ago(1)},
    }})

    # ---- account B (through a role; moto does not check the trust policy)
    sts = ca("sts")
    cr = sts.assume_role(RoleArn="arn:aws:iam::%s:role/vigil-audit" % B,
                         RoleSessionName="seed")["Credentials"]
    cb = clients(aws_access_key_id=cr["AccessKeyId"], aws_secret_access_key=cr["SecretAccessKey"],
                 aws_session_token=cr["SessionToken"])
    iamb = cb("iam")
    iamb.create_role(RoleName="vigil-audit", AssumeRolePolicyDocument=TRUST)
    iamb.attach_role_policy(RoleName="vigil-audit", PolicyArn=ADMIN_ARN)
    iamb.create_user(UserName="b-user")
    s3b = cb("s3")
    bucket(s3b, "vg-b-open")
    aes(s3b, "vg-b-open")
    bucket(s3b, "vg-b-closed")
    aes(s3b, "vg-b-closed")
    s3b.put_public_access_block(Bucket="vg-b-closed", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    bucket(s3b, "vg-b-partial")
    aes(s3b, "vg-b-partial")
    s3b.put_public_access_block(Bucket="vg-b-partial", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False})
    bucket(s3b, "vg-b-trail")
    ctb = cb("cloudtrail")
    btrail = ctb.create_trail(Name="data-only", S3BucketName="vg-b-trail", IsMultiRegionTrail=True)
    ctb.put_event_selectors(TrailName="data-only", AdvancedEventSelectors=[
        {"Name": "s3 data", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}])
    ctb.start_logging(Name="data-only")
    state["trails"]["b"] = btrail["TrailARN"]
    post(endpoint + "/_fill/report", {B: {
        "<root_account>": {"mfa_active": "false", "password_enabled": "not_supported",
                           "password_last_used": "no_information",
                           "access_key_1_active": "true", "access_key_1_last_rotated": ago(10),
                           "access_key_1_last_used_date": ago(0, 2),
                           "user_creation_time": ago(900)},
    }})

    state["roles"] = ["arn:aws:iam::%s:role/vigil-audit" % A, "arn:aws:iam::%s:role/vigil-audit" % B]
    with open(state_path, "w") as f:
        json.dump(state, f, indent=1)


def limited(endpoint, state_path):
    """A user (signed requests, as the scanner) allowed everything but
    s3:GetBucketPolicy and iam:GetAccountAuthorizationDetails."""
    import boto3
    with open(state_path) as f:
        state = json.load(f)
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id=state["scanner"][0],
                       aws_secret_access_key=state["scanner"][1])
    iam.create_user(UserName="vigil-limited")
    iam.put_user_policy(UserName="vigil-limited", PolicyName="mostly", PolicyDocument=doc(
        allow("*"),
        {"Effect": "Deny", "Action": ["s3:GetBucketPolicy", "iam:GetAccountAuthorizationDetails"],
         "Resource": "*"}))
    k = iam.create_access_key(UserName="vigil-limited")["AccessKey"]
    print(k["AccessKeyId"], k["SecretAccessKey"])


# ---- expectations ------------------------------------------------------------

def arn_user(acct, name):
    return "arn:aws:iam::%s:user/%s" % (acct, name)


def expectations(state):
    P, F, U = "passed", "failed", "unknown"
    e = {}

    def x(rule, res, ev, reason=None):
        e[("aws." + rule, res)] = (ev, reason)

    # rows 1-3: root
    ra, rb = "arn:aws:iam::%s:root" % A, "arn:aws:iam::%s:root" % B
    x("iam.root_mfa_enabled", ra, P)
    x("iam.root_mfa_enabled", rb, F, "mfa_active is false")
    x("iam.root_no_access_keys", ra, P)
    x("iam.root_no_access_keys", rb, F, "access_key_1")
    x("iam.root_not_used_recently", ra, P)
    x("iam.root_not_used_recently", rb, F, "last_used")
    # row 4: password policy
    pa, pb = "arn:aws:iam::%s:password-policy" % A, "arn:aws:iam::%s:password-policy" % B
    for r in ["iam.password_policy_min_length", "iam.password_policy_reuse_prevention"]:
        x(r, pa, P)
        x(r, pb, F, "present is false")
    # row 5: console MFA
    x("iam.user_console_mfa", arn_user(A, "alice"), P)
    x("iam.user_console_mfa", arn_user(A, "bob"), F, "mfa_active is false")
    x("iam.user_console_mfa", arn_user(A, "vigil-scanner"), P)
    # row 6: unused credentials (never-used keys count from creation)
    x("iam.user_unused_credentials", arn_user(A, "alice"), P)
    x("iam.user_unused_credentials", arn_user(A, "dave"), P)
    x("iam.user_unused_credentials", arn_user(A, "vigil-scanner"), P)
    x("iam.user_unused_credentials", arn_user(A, "carol"), F, "100 days ago")
    x("iam.user_unused_credentials", arn_user(A, "erin"), F, "60 days ago")
    # row 7: key rotation
    x("iam.user_access_keys_rotated", arn_user(A, "vigil-scanner"), P)
    x("iam.user_access_keys_rotated", arn_user(A, "erin"), P)
    x("iam.user_access_keys_rotated", arn_user(A, "carol"), F, "100 days ago")
    x("iam.user_access_keys_rotated", arn_user(A, "dave"), F, "120 days ago")
    # row 8: full admin
    pol = state["policies"]
    x("iam.policy_no_full_admin", pol["admin"], F, "statement 1 allows every action on every resource")
    x("iam.policy_no_full_admin", pol["notaction"], F, "NotAction")
    x("iam.policy_no_full_admin", pol["unused"], P)
    x("iam.policy_no_full_admin", pol["read"], P)
    x("iam.policy_no_full_admin", pol["pass"], P)
    x("iam.user_inline_no_full_admin", arn_user(A, "gina"), F, "gina-admin")
    x("iam.user_inline_no_full_admin", arn_user(A, "frank"), P)
    x("iam.role_inline_no_full_admin", "arn:aws:iam::%s:role/admin-role" % A, F, "everything")
    x("iam.role_inline_no_full_admin", "arn:aws:iam::%s:role/app-role" % A, P)
    x("iam.role_inline_no_full_admin", "arn:aws:iam::%s:role/vigil-audit" % A, P)
    x("iam.group_inline_no_full_admin", "arn:aws:iam::%s:group/ops" % A, P)
    x("iam.group_inline_no_full_admin", "arn:aws:iam::%s:group/admins" % A, P)
    # row 9: privilege escalation
    x("iam.policy_no_privilege_escalation", pol["pass"], F, "iam:PassRole + ec2:RunInstances")
    x("iam.policy_no_privilege_escalation", pol["read"], P)
    x("iam.policy_no_privilege_escalation", pol["unused"], P)
    x("iam.group_inline_no_privilege_escalation", "arn:aws:iam::%s:group/ops" % A, F, "ops-inline")
    x("iam.group_inline_no_privilege_escalation", "arn:aws:iam::%s:group/admins" % A, P)
    x("iam.user_inline_no_privilege_escalation", arn_user(A, "gina"), F, "gina-admin")
    x("iam.user_inline_no_privilege_escalation", arn_user(A, "frank"), P)
    x("iam.role_inline_no_privilege_escalation", "arn:aws:iam::%s:role/app-role" % A, P)
    # row 10: direct policies
    x("iam.user_no_direct_policies", arn_user(A, "frank"), F, "attached_policies")
    x("iam.user_no_direct_policies", arn_user(A, "gina"), F, "inline_policies")
    x("iam.user_no_direct_policies", arn_user(A, "vigil-scanner"), P)
    x("iam.user_no_direct_policies", arn_user(B, "b-user"), P)
    # row 12: Block Public Access
    x("s3.account_block_public_access", "arn:aws:s3::%s:account-public-access-block" % A, P)
    x("s3.account_block_public_access", "arn:aws:s3::%s:account-public-access-block" % B, F,
      "block_public_acls is false")
    for b in ["vg-a-good", "vg-a-plain", "vg-a-getstar", "vg-b-closed"]:
        x("s3.bucket_block_public_access", "arn:aws:s3:::" + b, P)
    x("s3.bucket_block_public_access", "arn:aws:s3:::vg-b-open", F, "block_public_acls is false")
    x("s3.bucket_block_public_access", "arn:aws:s3:::vg-b-partial", F,
      "restrict_public_buckets is false")
    # row 13: default encryption
    x("s3.bucket_default_encryption", "arn:aws:s3:::vg-a-good", P)
    x("s3.bucket_default_encryption", "arn:aws:s3:::vg-a-getstar", P)
    x("s3.bucket_default_encryption", "arn:aws:s3:::vg-a-plain", F, "default_encryption is false")
    # row 14: deny plain HTTP
    x("s3.bucket_denies_http", "arn:aws:s3:::vg-a-good", P)
    x("s3.bucket_denies_http", "arn:aws:s3:::vg-a-getstar", F, "denies_insecure_transport is false")
    x("s3.bucket_denies_http", "arn:aws:s3:::vg-a-plain", F, "denies_insecure_transport is false")
    # rows 15-19: CloudTrail
    t = state["trails"]
    x("cloudtrail.multi_region_logging", "arn:aws:cloudtrail::%s:multi-region-logging" % A, P)
    x("cloudtrail.multi_region_logging", "arn:aws:cloudtrail::%s:multi-region-logging" % B, F,
      "multi_region_logging is false")
    x("cloudtrail.log_file_validation", t["main"], P)
    x("cloudtrail.log_file_validation", t["weak"], F, "log_file_validation_enabled is false")
    x("cloudtrail.kms_encryption", t["main"], P)
    x("cloudtrail.kms_encryption", t["weak"], F, "kms_key_id is absent")
    x("cloudtrail.bucket_access_logging", t["main"], P)
    x("cloudtrail.bucket_access_logging", t["weak"], F, "bucket_access_logging is false")
    x("cloudtrail.bucket_access_logging", t["gone"], U, "may belong to another account")
    x("cloudtrail.cloudwatch_logs_delivery", t["main"], P)
    x("cloudtrail.cloudwatch_logs_delivery", t["weak"], F, "3 days ago")
    x("cloudtrail.cloudwatch_logs_delivery", t["gone"], F, "cloudwatch_logs_log_group_arn is absent")
    # row 20: Config
    x("config.recorder_enabled", "arn:aws:config:us-east-1:%s:configuration-recorders" % A, P)
    x("config.recorder_enabled", "arn:aws:config:eu-west-1:%s:configuration-recorders" % A, F,
      "no element of recorders")
    for r in REGIONS:
        x("config.recorder_enabled", "arn:aws:config:%s:%s:configuration-recorders" % (r, B), F,
          "recorders")
    return e


MINE = ("aws.iam.", "aws.s3.", "aws.cloudtrail.", "aws.config.")
REGION_OF = {}


def load(path):
    findings, summaries = {}, []
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            if "rule" in ev and "result" in ev:
                key = (ev["rule"]["id"], ev["resource"]["id"])
                if key in findings:
                    print("FAIL %s %s: reported twice" % key)
                findings[key] = (ev["result"]["evaluation"], ev["result"].get("reason", ""))
                REGION_OF[ev["resource"]["id"]] = ev["resource"].get("region")
            else:
                summaries.append(ev)
    return findings, summaries


def scan_errors(summaries):
    out = []
    for s in summaries:
        errs = s.get("vigil", {}).get("scan", {}).get("errors")
        if isinstance(errs, list):
            out += errs
    return out


def check(state_path, findings_path, phase):
    with open(state_path) as f:
        state = json.load(f)
    got, summaries = load(findings_path)
    errors = scan_errors(summaries)
    bad = 0
    n = 0
    if phase == "1":
        exp = expectations(state)
        for key, (ev, reason) in sorted(exp.items()):
            n += 1
            if key not in got:
                print("FAIL %s %s: no finding (expected %s)" % (key[0], key[1], ev))
                bad += 1
                continue
            gev, greason = got[key]
            if gev != ev or (reason and reason not in greason):
                print("FAIL %s %s: %s (%s); expected %s%s" % (key[0], key[1], gev, greason, ev,
                                                           " with '%s'" % reason if reason else ""))
                bad += 1
            if gev != "passed" and not greason:
                print("FAIL %s %s: %s without a reason" % (key[0], key[1], gev))
                bad += 1
        # nothing of these families is unknown unless expected: no silent gaps
        for key, (gev, greason) in got.items():
            if key[0].startswith(MINE) and gev == "unknown" and key not in exp:
                print("FAIL %s %s: unexpected unknown (%s)" % (key[0], key[1], greason))
                bad += 1
        # resources carry their own region: a bucket's, a trail's home region
        for rid, region in [("arn:aws:s3:::vg-a-good", "eu-west-1"),
                            ("arn:aws:s3:::vg-a-plain", "us-east-1"),
                            (state["trails"]["weak"], "eu-west-1"),
                            ("arn:aws:iam::%s:root" % B, "us-east-1")]:
            n += 1
            if REGION_OF.get(rid) != region:
                print("FAIL %s: region %s, expected %s" % (rid, REGION_OF.get(rid), region))
                bad += 1
        for e in errors:
            if any(op in e for op in ("iam:", "s3:", "s3-control:", "cloudtrail:", "config:")):
                print("FAIL unexpected scan error: %s" % e)
                bad += 1
    elif phase == "2":
        exp = {
            ("aws.s3.bucket_denies_http", "arn:aws:s3:::vg-a-good"): ("unknown", "s3:GetBucketPolicy"),
            ("aws.s3.bucket_denies_http", "arn:aws:s3:::vg-a-getstar"): ("unknown", "s3:GetBucketPolicy"),
            ("aws.s3.bucket_default_encryption", "arn:aws:s3:::vg-a-good"): ("passed", None),
            ("aws.iam.user_no_direct_policies", arn_user(A, "frank")): (
                "unknown", "iam:GetAccountAuthorizationDetails"),
            ("aws.iam.user_inline_no_full_admin", arn_user(A, "gina")): (
                "unknown", "iam:GetAccountAuthorizationDetails"),
            ("aws.iam.user_console_mfa", arn_user(A, "bob")): ("failed", "mfa_active is false"),
            ("aws.iam.user_access_keys_rotated", arn_user(A, "carol")): ("failed", "100 days ago"),
            ("aws.iam.root_mfa_enabled", "arn:aws:iam::%s:root" % A): ("passed", None),
        }
        for key, (ev, reason) in sorted(exp.items()):
            n += 1
            gev, greason = got.get(key, (None, ""))
            if gev != ev or (reason and reason not in greason):
                print("FAIL %s %s: %s (%s); expected %s with '%s'" % (key[0], key[1], gev, greason,
                                                                     ev, reason))
                bad += 1
        n += 1
        if not any("iam:GetAccountAuthorizationDetails" in e for e in errors):
            print("FAIL the refused list call is not among the scan errors: %s" % errors)
            bad += 1
        n += 1
        if any(k[0] == "aws.iam.policy_no_full_admin" for k in got):
            print("FAIL policies reported though they could not be listed")
            bad += 1
    elif phase == "4":
        t = state["trails"]
        exp = {
            # ListBuckets throttled twice, then answered: every bucket is there
            ("aws.s3.bucket_denies_http", "arn:aws:s3:::vg-a-good"): ("passed", None),
            ("aws.s3.bucket_denies_http", "arn:aws:s3:::vg-a-getstar"): ("failed", "denies_insecure"),
            # GetBucketEncryption always 500: unknown, never passed
            ("aws.s3.bucket_default_encryption", "arn:aws:s3:::vg-a-good"): (
                "unknown", "s3:GetBucketEncryption"),
            ("aws.s3.bucket_default_encryption", "arn:aws:s3:::vg-a-plain"): (
                "unknown", "s3:GetBucketEncryption"),
            # a pagination token that comes back: the list call fails
            ("aws.iam.user_no_direct_policies", arn_user(A, "frank")): (
                "unknown", "iam:GetAccountAuthorizationDetails"),
            ("aws.iam.user_console_mfa", arn_user(A, "bob")): ("failed", "mfa_active is false"),
            # GetTrailStatus cut in half: nothing read from it passes
            ("aws.cloudtrail.log_file_validation", t["main"]): ("passed", None),
            ("aws.cloudtrail.cloudwatch_logs_delivery", t["main"]): (
                "unknown", "cloudtrail:GetTrailStatus"),
            ("aws.cloudtrail.multi_region_logging",
             "arn:aws:cloudtrail::%s:multi-region-logging" % A): ("unknown", "GetTrailStatus"),
            # a slow DescribeConfigurationRecorders: waited for
            ("aws.config.recorder_enabled",
             "arn:aws:config:us-east-1:%s:configuration-recorders" % A): ("passed", None),
        }
        for key, (ev, reason) in sorted(exp.items()):
            n += 1
            gev, greason = got.get(key, (None, ""))
            if gev != ev or (reason and reason not in greason):
                print("FAIL %s %s: %s (%s); expected %s with '%s'" % (key[0], key[1], gev, greason,
                                                                     ev, reason))
                bad += 1
        n += 1
        if not any("iam:GetAccountAuthorizationDetails" in e for e in errors):
            print("FAIL the looping list call is not among the scan errors: %s" % errors)
            bad += 1
    print("phase %s: %d expectations, %d findings, %d failed" % (phase, n, len(got), bad))
    return 1 if bad else 0


def main():
    cmd = sys.argv[1]
    if cmd == "seed":
        seed(sys.argv[2], sys.argv[3])
        return 0
    if cmd == "limited":
        limited(sys.argv[2], sys.argv[3])
        return 0
    if cmd == "check":
        return check(sys.argv[2], sys.argv[3], sys.argv[4])
    print("usage: seed_core.py seed|limited|check ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
