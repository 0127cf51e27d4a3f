#!/usr/bin/python3
"""A fault-injecting AWS-like server on 127.0.0.1 (standard library only).

Prints "PORT <n>" on stdout once listening. Every request must be signed
with SigV4 by AKIDTEST / test-secret (checked by awssig.py, an
implementation independent of the C signer; S3 requests must also sign
x-amz-content-sha256); a bad signature answers 403 SignatureDoesNotMatch
as AWS does.

Query protocol (POST /, form Action=...; XML answers as IAM/EC2 write them):
  ListThings      three pages by Marker (m1, m2), <Things><member>
  LoopThings      Marker a -> b -> a: a token loop
  ThrottleBurst   Key=K Count=N Code=C Status=S: the first N calls for K
                  answer the error C with status S (429 without a body when
                  C is empty), then success
  ServerError     Key=K Count=N: N answers 500 InternalError, then success
  Garbage500      always 500 with an HTML body
  Truncated       200 with an XML document cut in the middle
  ShortBody       Content-Length larger than what is sent, then close
  Slow            Delay=S seconds before answering (Key=K counted in flight)
  Denied          403 AccessDenied      BadCreds  403 InvalidClientTokenId
  Expired         400 ExpiredToken      NoSuch    404 NoSuchEntity
  DescribeThings  EC2 shape: <DescribeThingsResponse><itemSet><item>
json 1.1 (X-Amz-Target Fault_20240101.Op):
  ListJson (NextToken pages t1, t2), Throttle (N then ok, Key), Denied
rest-json: GET /things?nextToken=  (nextToken pages), GET /denied
rest-xml (S3, path style): GET /  (ListBuckets, continuation-token pages),
  GET /<bucket>?encryption (bucket "plain": 404
  ServerSideEncryptionConfigurationNotFoundError), GET /<bucket>?policy
Control: GET /_stats  {"counts": {...}, "max_in_flight": {"service/region": n}}
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import awssig  # noqa: E402

SECRETS = {"AKIDTEST": "test-secret"}
LOCK = threading.Lock()
STATE = {"counts": {}, "keys": {}, "in_flight": {}, "max_in_flight": {}, "serial": 0}

NS = "https://fault.example/doc/2024-01-01/"


def bump(table, key):
    with LOCK:
        STATE[table][key] = STATE[table].get(key, 0) + 1
        return STATE[table][key]


def query_error(code, message, status):
    return status, "text/xml", (
        '<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code>'
        "<Message>%s</Message></Error><RequestId>rid-%s</RequestId></ErrorResponse>"
        % (NS, code, message, code))


def ok_result(action, inner):
    return 200, "text/xml", (
        '<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s"><%sResult>%s</%sResult>'
        "<ResponseMetadata><RequestId>rid-ok</RequestId></ResponseMetadata></%sResponse>"
        % (action, NS, action, inner, action, action))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, ctype, body, headers=None):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self, method):
        raw = self.read_body()
        u = urlparse(self.path)
        if u.path == "/_stats":
            with LOCK:
                doc = {"counts": dict(STATE["counts"]), "max_in_flight": dict(STATE["max_in_flight"])}
            return self.answer(200, "application/json", json.dumps(doc))
        ok, code, msg, info = awssig.verify(method, self.path, list(self.headers.items()), raw, SECRETS)
        if not ok:
            if info.get("service") == "s3":
                return self.answer(403, "application/xml", "<Error><Code>%s</Code><Message>%s</Message>"
                                   "<RequestId>s3rid</RequestId></Error>" % (code, msg))
            return self.answer(*query_error(code, msg, 403))
        key = "%s/%s" % (info["service"], info["region"])
        with LOCK:
            cur = STATE["in_flight"].get(key, 0) + 1
            STATE["in_flight"][key] = cur
            if cur > STATE["max_in_flight"].get(key, 0):
                STATE["max_in_flight"][key] = cur
        try:
            target = self.headers.get("X-Amz-Target")
            if target:
                return self.json11(target, raw)
            if info["service"] == "s3":
                return self.rest_xml(method, u)
            if u.path.startswith("/things") or u.path.startswith("/denied"):
                return self.rest_json(u)
            return self.query(raw)
        finally:
            with LOCK:
                STATE["in_flight"][key] -= 1

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    # ---- query --------------------------------------------------------------
    def query(self, raw):
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        action = form.get("Action", "")
        bump("counts", action)
        if action == "ListThings":
            marker = form.get("Marker", "")
            page = {"": 0, "m1": 1, "m2": 2}.get(marker)
            if page is None:
                return self.answer(*query_error("InvalidParameterValue", "bad marker", 400))
            items = "".join("<member><Name>thing-%d</Name><Size>%d</Size></member>" % (page * 2 + i, i)
                            for i in range(2))
            more = page < 2
            inner = "<Things>%s</Things><IsTruncated>%s</IsTruncated>%s" % (
                items, "true" if more else "false", "<Marker>m%d</Marker>" % (page + 1) if more else "")
            return self.answer(*ok_result(action, inner))
        if action == "LoopThings":
            nxt = {"": "a", "a": "b", "b": "a"}.get(form.get("Marker", ""), "a")
            inner = "<Things><member><Name>x</Name></member></Things><IsTruncated>true</IsTruncated>" \
                    "<Marker>%s</Marker>" % nxt
            return self.answer(*ok_result(action, inner))
        if action == "ThrottleBurst":
            n = bump("keys", form.get("Key", ""))
            if n <= int(form.get("Count", "0")):
                code = form.get("Code", "")
                status = int(form.get("Status", "400"))
                if not code:
                    return self.answer(status, "text/plain", "Too Many Requests")
                return self.answer(*query_error(code, "Rate exceeded", status))
            return self.answer(*ok_result(action, "<Calls>%d</Calls>" % n))
        if action == "ServerError":
            n = bump("keys", form.get("Key", ""))
            if n <= int(form.get("Count", "0")):
                return self.answer(500, "text/xml", '<ErrorResponse xmlns="%s"><Error><Code>InternalError'
                                   "</Code><Message>We encountered an internal error.</Message></Error>"
                                   "</ErrorResponse>" % NS)
            return self.answer(*ok_result(action, "<Calls>%d</Calls>" % n))
        if action == "Garbage500":
            return self.answer(500, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>")
        if action == "Truncated":
            full = ok_result(action, "<Users><member><UserName>alice</UserName></member>"
                                     "<member><UserName>bob</UserName></member></Users>")[2]
            return self.answer(200, "text/xml", full[:len(full) // 2])
        if action == "ShortBody":
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"<ShortBodyResponse><ShortBodyResult>")
            self.wfile.flush()
            self.close_connection = True
            return None
        if action == "Slow":
            time.sleep(float(form.get("Delay", "1")))
            return self.answer(*ok_result(action, "<Done>yes</Done>"))
        if action == "Denied":
            return self.answer(*query_error(
                "AccessDenied", "User: arn:aws:iam::123456789012:user/audit is not authorized "
                "to perform: iam:GetAccountPasswordPolicy", 403))
        if action == "BadCreds":
            return self.answer(*query_error("InvalidClientTokenId",
                                            "The security token included in the request is invalid.", 403))
        if action == "Expired":
            return self.answer(*query_error("ExpiredToken", "The security token included in the request is expired", 400))
        if action == "NoSuch":
            return self.answer(*query_error("NoSuchEntity", "The Password Policy with domain name "
                                            "123456789012 cannot be found.", 404))
        if action == "DescribeThings":
            return self.answer(200, "text/xml", (
                '<DescribeThingsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                "<requestId>r1</requestId><itemSet><item><thingId>t-1</thingId>"
                "<tagSet><item><key>Name</key><value>a</value></item></tagSet></item></itemSet>"
                "</DescribeThingsResponse>"))
        return self.answer(*query_error("InvalidAction", "unknown action %s" % action, 400))

    # ---- json 1.1 -----------------------------------------------------------
    def json11(self, target, raw):
        op = target.rpartition(".")[2]
        bump("counts", "json:" + op)
        if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
            return self.answer(400, "application/x-amz-json-1.1",
                               '{"__type":"SerializationException","message":"bad content type"}')
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.answer(400, "application/x-amz-json-1.1",
                               '{"__type":"SerializationException","message":"bad json"}')
        if op == "ListJson":
            page = {None: 0, "t1": 1, "t2": 2}.get(body.get("NextToken"))
            doc = {"Items": ["j%d" % page], "Limit": body.get("Limit")}
            if page < 2:
                doc["NextToken"] = "t%d" % (page + 1)
            return self.answer(200, "application/x-amz-json-1.1", json.dumps(doc))
        if op == "Throttle":
            n = bump("keys", "json:" + str(body.get("Key")))
            if n <= int(body.get("Count", 0)):
                return self.answer(400, "application/x-amz-json-1.1",
                                   '{"__type":"com.amazonaws.fault#ThrottlingException","message":"Rate exceeded"}')
            return self.answer(200, "application/x-amz-json-1.1", json.dumps({"Calls": n}))
        if op == "Denied":
            return self.answer(400, "application/x-amz-json-1.1",
                               '{"__type":"AccessDeniedException","Message":"not allowed to kms:ListKeys"}')
        return self.answer(400, "application/x-amz-json-1.1",
                           '{"__type":"UnknownOperationException"}')

    # ---- rest-json ------------------------------------------------------------
    def rest_json(self, u):
        bump("counts", "rest:" + u.path)
        if u.path == "/denied":
            return self.answer(403, "application/json", '{"message":"denied by policy"}',
                               {"x-amzn-ErrorType": "AccessDeniedException:http://internal/"})
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        page = {None: 0, "n1": 1}.get(q.get("nextToken"))
        if page is None:
            return self.answer(400, "application/json", '{"message":"bad token"}',
                               {"x-amzn-ErrorType": "BadRequestException"})
        doc = {"detectorIds": ["d%d" % page]}
        if page == 0:
            doc["nextToken"] = "n1"
        return self.answer(200, "application/json", json.dumps(doc))

    # ---- rest-xml (S3, path style) -------------------------------------------
    def rest_xml(self, method, u):
        bump("counts", "s3:" + method + " " + u.path + ("?" + u.query if u.query else ""))
        parts = [p for p in u.path.split("/") if p]
        q = parse_qs(u.query, keep_blank_values=True)
        if not parts:
            tok = (q.get("continuation-token") or [None])[0]
            page = {None: 0, "c1": 1}.get(tok)
            names = ["bucket-a", "plain"] if page == 0 else ["bucket.dotted"]
            buckets = "".join("<Bucket><Name>%s</Name><CreationDate>2020-01-01T00:00:00.000Z</CreationDate>"
                              "</Bucket>" % n for n in names)
            more = "<ContinuationToken>c1</ContinuationToken>" if page == 0 else ""
            return self.answer(200, "application/xml", (
                '<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID></Owner>'
                "<Buckets>%s</Buckets>%s</ListAllMyBucketsResult>" % (buckets, more)))
        bucket = parts[0]
        if "encryption" in q:
            if bucket == "plain":
                return self.answer(404, "application/xml", (
                    "<Error><Code>ServerSideEncryptionConfigurationNotFoundError</Code><Message>The "
                    "server side encryption configuration was not found</Message><BucketName>plain"
                    "</BucketName><RequestId>s3rid</RequestId></Error>"),
                    {"x-amz-request-id": "s3rid", "x-amz-bucket-region": "eu-west-1"})
            return self.answer(200, "application/xml", (
                '<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
                "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled>"
                "</Rule></ServerSideEncryptionConfiguration>"))
        if "policy" in q:
            return self.answer(200, "application/json", '{"Version":"2012-10-17","Statement":[]}')
        return self.answer(404, "application/xml", "<Error><Code>NoSuchKey</Code></Error>")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a client that gave up (the timeout tests) is not an error here
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
