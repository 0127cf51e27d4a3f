"""A front proxy for moto that answers the AWS APIs moto (5.x) lacks.

Usage: fallback_server.py UPSTREAM_URL
Prints "PORT <n>" on stdout once listening on 127.0.0.1 (a free port).

Answered here, with the response shapes of the AWS API reference, per
(account, region) of the request's credential scope:
  - IAM Access Analyzer (signing name access-analyzer), rest-json:
      CreateAnalyzer  PUT /analyzer           {"analyzerName","type"}
      ListAnalyzers   GET /analyzer?maxResults=&nextToken=&type=
      DeleteAnalyzer  DELETE /analyzer/{name}
  - Security Hub hub and standards (signing name securityhub):
      EnableSecurityHub      POST /accounts
      DescribeHub            GET /accounts   (401 InvalidAccessException when off)
      DisableSecurityHub     DELETE /accounts
      BatchEnableStandards   POST /standards/register
      BatchDisableStandards  POST /standards/deregister
      GetEnabledStandards    POST /standards/get  {"NextToken","MaxResults"}
  - GuardDuty (signing name guardduty), rest-json:
      CreateDetector  POST /detector {"enable"}
      ListDetectors   GET /detector?maxResults=&nextToken=
      GetDetector     GET /detector/{id}
      UpdateDetector  POST /detector/{id} {"enable"}
      DeleteDetector  DELETE /detector/{id}
    moto 5.2 has GuardDuty and Security Hub's DescribeHub, but once it
    checks signatures (reset-auth) it refuses every request to them, also
    botocore's own ("SignatureDoesNotMatch"): it rebuilds their canonical
    request wrongly. So they are answered here, whose checks are awssig's.
Everything else is forwarded to moto unchanged (the Host header too, so
moto checks the signature the client made).

Control (unsigned): POST /_fallback/keys {"AKID": "secret", ...} makes the
server verify every SigV4 signature it answers itself (tests/aws/awssig.py)
from then on, as moto does after /moto-api/reset-auth.

Standard library only.
"""

import http.client
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import awssig  # noqa: E402

ACCOUNT = "123456789012"
_SCOPE_RE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.secrets = {}
        self.analyzers = {}    # region -> name -> analyzer
        self.standards = {}    # region -> standards arn -> subscription
        self.detectors = {}    # region -> detector id -> detector
        self.hubs = {}         # region -> hub (enabled ones)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----------------------------------------------------------

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, doc, headers=None):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, code, message):
        self._send(status, {"message": message}, {"x-amzn-ErrorType": code})

    def _forward(self, body):
        up = urlsplit(self.server.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() in ("connection", "keep-alive", "proxy-connection"):
                    continue
                conn.putheader(k, v)
            conn.endheaders(body if body else None)
            rs = conn.getresponse()
            data = rs.read()
            self.send_response(rs.status, rs.reason)
            for k, v in rs.getheaders():
                if k.lower() in ("transfer-encoding", "connection", "content-length",
                                 "keep-alive", "server", "date"):
                    continue
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError as e:
            self._error(502, "BadGateway", "upstream: %s" % e)
        finally:
            conn.close()

    def _handle(self):
        body = self._body()
        path, _, query = self.path.partition("?")
        st = self.server.state
        if path == "/_fallback/keys" and self.command == "POST":
            with st.lock:
                st.secrets.update(json.loads(body or b"{}"))
            return self._send(200, {})
        m = _SCOPE_RE.search(self.headers.get("Authorization") or "")
        region, service = (m.group(1), m.group(2)) if m else ("", "")
        mine = service in ("access-analyzer", "guardduty") or (
            service == "securityhub" and (path.startswith("/standards") or path == "/accounts"))
        if not mine:
            return self._forward(body)
        with st.lock:
            secrets = dict(st.secrets)
        if secrets:
            ok, code, msg, _ = awssig.verify(self.command, self.path, list(self.headers.items()),
                                             body, secrets)
            if not ok:
                return self._error(403, code, msg)
        try:
            doc = json.loads(body) if body else {}
        except ValueError:
            return self._error(400, "ValidationException", "body is not JSON")
        q = {k: v[-1] for k, v in parse_qs(query).items()}
        if service == "access-analyzer":
            return self._analyzer(region, path, q, doc)
        if service == "guardduty":
            return self._guardduty(region, path, q, doc)
        if path == "/accounts":
            return self._hub(region, doc)
        return self._standards(region, path, doc)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = lambda self: self._handle()

    # ---- Access Analyzer ------------------------------------------------------

    def _analyzer(self, region, path, q, doc):
        st = self.server.state
        with st.lock:
            mine = st.analyzers.setdefault(region, {})
            if path == "/analyzer" and self.command == "PUT":
                name = doc.get("analyzerName") or ""
                typ = doc.get("type") or ""
                if not name or typ not in ("ACCOUNT", "ORGANIZATION", "ACCOUNT_UNUSED_ACCESS",
                                           "ORGANIZATION_UNUSED_ACCESS"):
                    return self._error(400, "ValidationException", "bad analyzerName or type")
                if name in mine:
                    return self._error(409, "ConflictException", "analyzer exists")
                arn = "arn:aws:access-analyzer:%s:%s:analyzer/%s" % (region, ACCOUNT, name)
                status = doc.get("tags", {}).get("vigil-status", "ACTIVE")
                mine[name] = {"arn": arn, "name": name, "type": typ, "status": status,
                              "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                if status == "FAILED":
                    mine[name]["statusReason"] = {"code": "AWS_SERVICE_ACCESS_DISABLED"}
                return self._send(200, {"arn": arn})
            if path == "/analyzer" and self.command == "GET":
                items = [a for a in mine.values() if not q.get("type") or a["type"] == q["type"]]
                start = int(q.get("nextToken") or 0)
                size = max(1, min(int(q.get("maxResults") or 100), 100))
                out = {"analyzers": items[start:start + size]}
                if start + size < len(items):
                    out["nextToken"] = str(start + size)
                return self._send(200, out)
            if path.startswith("/analyzer/") and self.command == "DELETE":
                name = unquote(path[len("/analyzer/"):])
                if mine.pop(name, None) is None:
                    return self._error(404, "ResourceNotFoundException", "no such analyzer")
                return self._send(200, {})
        return self._error(404, "ResourceNotFoundException", "no such operation")

    # ---- GuardDuty ------------------------------------------------------------------

    def _guardduty(self, region, path, q, doc):
        st = self.server.state
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        with st.lock:
            mine = st.detectors.setdefault(region, {})
            if path == "/detector" and self.command == "POST":
                if mine:
                    return self._error(400, "BadRequestException",
                                       "The request is rejected because a detector already "
                                       "exists for the current account.")
                did = uuid.uuid4().hex
                mine[did] = {"createdAt": now, "updatedAt": now,
                             "findingPublishingFrequency": "SIX_HOURS",
                             "serviceRole": "arn:aws:iam::%s:role/aws-service-role/guardduty."
                                            "amazonaws.com/AWSServiceRoleForAmazonGuardDuty"
                                            % ACCOUNT,
                             "status": "ENABLED" if doc.get("enable") else "DISABLED",
                             "tags": doc.get("tags") or {}}
                return self._send(200, {"detectorId": did})
            if path == "/detector" and self.command == "GET":
                ids = list(mine)
                start = int(q.get("nextToken") or 0)
                size = max(1, min(int(q.get("maxResults") or 50), 50))
                out = {"detectorIds": ids[start:start + size]}
                if start + size < len(ids):
                    out["nextToken"] = str(start + size)
                return self._send(200, out)
            if path.startswith("/detector/") and path.count("/") == 2:
                did = path.split("/")[2]
                det = mine.get(did)
                if det is None:
                    return self._error(400, "BadRequestException",
                                       "The request is rejected because the input detectorId "
                                       "is not owned by the current account.")
                if self.command == "GET":
                    return self._send(200, det)
                if self.command == "POST":
                    if "enable" in doc:
                        det["status"] = "ENABLED" if doc["enable"] else "DISABLED"
                    det["updatedAt"] = now
                    return self._send(200, {})
                if self.command == "DELETE":
                    del mine[did]
                    return self._send(200, {})
        return self._error(404, "ResourceNotFoundException", "no such operation")

    # ---- Security Hub hub ------------------------------------------------------------

    def _hub(self, region, doc):
        st = self.server.state
        arn = "arn:aws:securityhub:%s:%s:hub/default" % (region, ACCOUNT)
        with st.lock:
            hub = st.hubs.get(region)
            if self.command == "POST":
                if hub:
                    return self._error(409, "ResourceConflictException",
                                       "Account is already subscribed to Security Hub")
                st.hubs[region] = {"HubArn": arn, "AutoEnableControls": True,
                                   "ControlFindingGenerator": "SECURITY_CONTROL",
                                   "SubscribedAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                                                 time.gmtime())}
                return self._send(200, {})
            if self.command == "DELETE":
                st.hubs.pop(region, None)
                st.standards.pop(region, None)
                return self._send(200, {})
            if hub is None:
                return self._error(401, "InvalidAccessException",
                                   "Account %s is not subscribed to AWS Security Hub" % ACCOUNT)
            return self._send(200, hub)

    # ---- Security Hub standards --------------------------------------------------

    def _standards(self, region, path, doc):
        st = self.server.state
        with st.lock:
            mine = st.standards.setdefault(region, {})
            if region not in st.hubs:
                return self._error(401, "InvalidAccessException",
                                   "Account %s is not subscribed to AWS Security Hub" % ACCOUNT)
            if path == "/standards/register" and self.command == "POST":
                out = []
                for req in doc.get("StandardsSubscriptionRequests") or []:
                    sarn = req.get("StandardsArn") or ""
                    name = sarn.split(":", 5)[-1].split("/", 1)[-1]
                    sub = {
                        "StandardsSubscriptionArn": "arn:aws:securityhub:%s:%s:subscription/%s"
                                                    % (region, ACCOUNT, name),
                        "StandardsArn": sarn,
                        "StandardsInput": req.get("StandardsInput") or {},
                        "StandardsStatus": "READY",
                    }
                    mine[sarn] = sub
                    out.append(sub)
                return self._send(200, {"StandardsSubscriptions": out})
            if path == "/standards/deregister" and self.command == "POST":
                out = []
                arns = doc.get("StandardsSubscriptionArns") or []
                for sarn, sub in list(mine.items()):
                    if sub["StandardsSubscriptionArn"] in arns:
                        del mine[sarn]
                        out.append(dict(sub, StandardsStatus="DELETING"))
                return self._send(200, {"StandardsSubscriptions": out})
            if path == "/standards/get" and self.command == "POST":
                items = list(mine.values())
                start = int(doc.get("NextToken") or 0)
                size = max(1, min(int(doc.get("MaxResults") or 100), 100))
                out = {"StandardsSubscriptions": items[start:start + size]}
                if start + size < len(items):
                    out["NextToken"] = str(start + size)
                return self._send(200, out)
        return self._error(404, "ResourceNotFoundException", "no such operation")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream):
        super().__init__(("127.0.0.1", 0), Handler)
        self.upstream = upstream
        self.state = State()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fallback_server.py UPSTREAM_URL")
    srv = Server(sys.argv[1])
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
