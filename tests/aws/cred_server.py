#!/usr/bin/python3
"""A credential test endpoint: STS, ECS/EKS container credentials and EC2
instance metadata (IMDSv2), on 127.0.0.1 (standard library only).

Prints "PORT <n>" on stdout once listening. Every answer is what the real
service answers in shape; behaviour is chosen by the request:

STS (POST /, form body, Version=2011-06-15):
  AssumeRoleWithWebIdentity  must be unsigned; WebIdentityToken must be
                             "good-web-token" (else 400 InvalidIdentityToken)
  AssumeRole                 must carry a valid SigV4 signature by a key the
                             server issued or knows (AKIDSOURCE/source-secret);
                             roles by name:
                               role/audit      needs ExternalId "ext-123"
                               role/denied     403 AccessDenied
                               role/throttled  first call 400 Throttling
                               role/short      credentials expiring in 10 minutes
                               anything else   credentials for an hour
  GetCallerIdentity          signed; the caller's ARN
Container credentials (GET /v2/credentials/<id>):
  /v2/credentials/auth   needs "Authorization: container-secret-token"
  anything else          open
IMDSv2:
  PUT /latest/api/token  needs X-aws-ec2-metadata-token-ttl-seconds
  GET /latest/meta-data/iam/security-credentials/[role]
                         needs a token it issued (else 401)
Control:
  POST /_control?imds_expiry=S&container_expiry=S   expiries in seconds
  GET  /_stats           JSON counters per operation
"""

import datetime
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import awssig  # noqa: E402

LOCK = threading.Lock()
STATE = {
    "secrets": {"AKIDSOURCE": "source-secret"},
    "roles": {},              # issued access key id -> arn
    "imds_tokens": set(),
    "counts": {},
    "serial": 0,
    "throttled": set(),
    "imds_expiry": 3600,
    "container_expiry": 3600,
    "last_external_id": None,
}


def count(op):
    with LOCK:
        STATE["counts"][op] = STATE["counts"].get(op, 0) + 1


def serial():
    with LOCK:
        STATE["serial"] += 1
        return STATE["serial"]


def iso(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def issue(prefix, arn, seconds):
    n = serial()
    akid = "ASIA%s%d" % (prefix, n)
    secret = "secret-%s-%d" % (prefix.lower(), n)
    with LOCK:
        STATE["secrets"][akid] = secret
        STATE["roles"][akid] = arn
    return {"AccessKeyId": akid, "SecretAccessKey": secret,
            "Token": "token-%s-%d" % (prefix.lower(), n), "Expiration": iso(seconds)}


STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def sts_error(code, message, status):
    body = ('<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code>'
            "<Message>%s</Message></Error><RequestId>req-%d</RequestId></ErrorResponse>"
            % (STS_NS, code, message, serial()))
    return status, "text/xml", body


def sts_creds(action, c, extra=""):
    return 200, "text/xml", (
        '<%sResponse xmlns="%s"><%sResult><Credentials>'
        "<AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
        "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>%s"
        "</%sResult><ResponseMetadata><RequestId>req-%d</RequestId></ResponseMetadata>"
        "</%sResponse>" % (action, STS_NS, action, c["AccessKeyId"], c["SecretAccessKey"],
                           c["Token"], c["Expiration"], extra, action, serial(), action))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, ctype, body):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ---- STS -------------------------------------------------------------
    def sts(self, raw):
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        action = form.get("Action", "")
        if form.get("Version") != "2011-06-15":
            return sts_error("InvalidAction", "bad Version", 400)
        count("sts:" + action)
        if action == "AssumeRoleWithWebIdentity":
            if self.headers.get("Authorization"):
                return sts_error("InvalidAction", "AssumeRoleWithWebIdentity must not be signed", 400)
            if form.get("WebIdentityToken") != "good-web-token":
                return sts_error("InvalidIdentityToken", "the web identity token is not valid", 400)
            if not form.get("RoleSessionName"):
                return sts_error("ValidationError", "RoleSessionName is required", 400)
            c = issue("WEB", form.get("RoleArn", ""), 3600)
            return sts_creds(action, c)
        ok, code, msg, info = awssig.verify("POST", self.path, list(self.headers.items()), raw,
                                            dict(STATE["secrets"]))
        if not ok:
            return sts_error(code, msg, 403)
        if info.get("service") != "sts":
            return sts_error("SignatureDoesNotMatch", "credential scope is not sts", 403)
        if action == "GetCallerIdentity":
            arn = STATE["roles"].get(info["akid"], "arn:aws:iam::000000000000:user/source")
            return 200, "text/xml", (
                '<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult>'
                "<Arn>%s</Arn><UserId>x</UserId><Account>000000000000</Account>"
                "</GetCallerIdentityResult></GetCallerIdentityResponse>" % (STS_NS, arn))
        if action != "AssumeRole":
            return sts_error("InvalidAction", "unknown action", 400)
        role = form.get("RoleArn", "")
        if not form.get("RoleSessionName"):
            return sts_error("ValidationError", "RoleSessionName is required", 400)
        with LOCK:
            STATE["last_external_id"] = form.get("ExternalId")
        if role.endswith("role/denied"):
            return sts_error("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s"
                             % (STATE["roles"].get(info["akid"], "source"), role), 403)
        if role.endswith("role/audit") and form.get("ExternalId") != "ext-123":
            return sts_error("AccessDenied", "the external id does not match", 403)
        if role.endswith("role/throttled"):
            with LOCK:
                first = role not in STATE["throttled"]
                STATE["throttled"].add(role)
            if first:
                return sts_error("Throttling", "Rate exceeded", 400)
        seconds = 600 if role.endswith("role/short") else int(form.get("DurationSeconds") or 3600)
        c = issue("ASSUMED", role, seconds)
        return sts_creds(action, c)

    # ---- methods ------------------------------------------------------------
    def do_POST(self):
        raw = self.body()
        u = urlparse(self.path)
        if u.path == "/_control":
            q = {k: v[0] for k, v in parse_qs(u.query).items()}
            with LOCK:
                for k in ("imds_expiry", "container_expiry"):
                    if k in q:
                        STATE[k] = int(q[k])
            return self.answer(200, "application/json", "{}")
        if u.path == "/":
            return self.answer(*self.sts(raw))
        self.answer(404, "text/plain", "not found")

    def do_PUT(self):
        self.body()
        if self.path == "/latest/api/token":
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.answer(400, "text/plain", "missing or bad ttl")
            tok = "imds-token-%d" % serial()
            with LOCK:
                STATE["imds_tokens"].add(tok)
            count("imds:token")
            return self.answer(200, "text/plain", tok)
        self.answer(404, "text/plain", "not found")

    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/_stats":
            with LOCK:
                doc = {"counts": dict(STATE["counts"]), "last_external_id": STATE["last_external_id"]}
            return self.answer(200, "application/json", json.dumps(doc))
        if u.path.startswith("/latest/meta-data/iam/security-credentials/"):
            tok = self.headers.get("X-aws-ec2-metadata-token")
            with LOCK:
                valid = tok in STATE["imds_tokens"]
            if not valid:
                count("imds:unauthorized")
                return self.answer(401, "text/plain", "Unauthorized")
            rest = u.path[len("/latest/meta-data/iam/security-credentials/"):]
            if rest == "":
                count("imds:role")
                return self.answer(200, "text/plain", "vigil-role\n")
            if rest != "vigil-role":
                return self.answer(404, "text/plain", "not found")
            count("imds:creds")
            c = issue("IMDS", "arn:aws:sts::000000000000:assumed-role/vigil-role/i-1", STATE["imds_expiry"])
            c.update({"Code": "Success", "LastUpdated": iso(0), "Type": "AWS-HMAC"})
            return self.answer(200, "application/json", json.dumps(c))
        if u.path.startswith("/v2/credentials/"):
            count("container")
            if u.path == "/v2/credentials/auth" and \
                    self.headers.get("Authorization") != "container-secret-token":
                return self.answer(401, "application/json", '{"message":"bad token"}')
            c = issue("CONTAINER", "arn:aws:sts::000000000000:assumed-role/task/1", STATE["container_expiry"])
            c["RoleArn"] = "arn:aws:iam::000000000000:role/task"
            return self.answer(200, "application/json", json.dumps(c))
        self.answer(404, "text/plain", "not found")


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
