"""A proxy in front of moto that fills in what moto lacks (standard library only).

    /usr/bin/python3 moto_fill.py --moto http://127.0.0.1:PORT

Prints "PORT <n>" on stdout once listening. Every request is forwarded to
moto unchanged (method, target, headers including Host, body), so moto
checks every signature itself; the proxy only rewrites two answers, with
the shapes of the AWS API reference:

  iam:GetCredentialReport   moto's report has no <root_account> row and its
      times are "now": the Content (base64 CSV) is rewritten with the rows
      and columns set through POST /_fill/report
      {"ACCOUNT": {"<root_account>": {column: value}, "USER": {...}}}
      (a row for a user moto does not know is added; columns merge).
      The account is read from the report's ARNs, or, for a report with no
      user at all, from the account the request was signed for (given
      through POST /_fill/keys {"ACCESS_KEY_ID": "ACCOUNT"}).
  cloudtrail:GetTrailStatus moto has no LatestCloudWatchLogsDeliveryTime:
      the members set through POST /_fill/trail-status
      {"TRAIL_ARN": {"LatestCloudWatchLogsDeliveryTime": 1700000000.0}}
      are merged into moto's answer.

GET /_fill/hits returns how many answers were rewritten, per operation.

Faults, per operation (the query Action, the X-Amz-Target's operation, or
the S3 sub-resource: GetBucketEncryption, ListBuckets, ...), set through
POST /_fill/faults {"OPERATION": {"mode": MODE, "count": N, ...}}, for the
next N requests of that operation (default: all):
  status    answer HTTP "status" (500, 503) with a throttling or internal
            error document of the protocol, without asking moto
  truncate  moto's answer cut in half
  loop      moto's answer made truncated, its next token the one that was
            sent (a pagination token that comes back: IsTruncated/Marker)
  delay     moto's answer, "seconds" late
  split     (GetAccountAuthorizationDetails) two pages: without Marker,
            moto's answer with its user list emptied and Marker "page-2";
            with Marker "page-2", the users alone
"""

import time

import argparse
import base64
import csv
import http.client
import io
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

STATE = {"report": {}, "trail": {}, "keys": {}, "hits": {}, "faults": {}}
S3_SUBRESOURCES = {"encryption": "GetBucketEncryption", "policy": "GetBucketPolicy",
                   "publicAccessBlock": "GetPublicAccessBlock", "location": "GetBucketLocation",
                   "tagging": "GetBucketTagging", "logging": "GetBucketLogging"}
MARKER_RE = re.compile(rb"<Marker>[^<]*</Marker>")
LOCK = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}
CONTENT_RE = re.compile(rb"<Content>([^<]*)</Content>")
KEY_RE = re.compile(r"Credential=([^/]+)/")
ARN_ACCOUNT_RE = re.compile(r"^arn:[^:]+:iam::(\d{12}):")


def hit(op):
    with LOCK:
        STATE["hits"][op] = STATE["hits"].get(op, 0) + 1


def rewrite_report(content_b64, account_hint):
    text = base64.b64decode(content_b64).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return content_b64
    header, body = rows[0], rows[1:]
    account = None
    for r in body:
        m = ARN_ACCOUNT_RE.match(r[1]) if len(r) > 1 else None
        if m:
            account = m.group(1)
            break
    account = account or account_hint
    with LOCK:
        fills = dict(STATE["report"].get(account or "", {}))
    if not fills:
        return content_b64
    by_user = {r[0]: r for r in body if r}
    for user, cols in fills.items():
        row = by_user.get(user)
        if row is None:
            row = []
            for h in header:
                if h == "user":
                    row.append(user)
                elif h == "arn":
                    row.append("arn:aws:iam::%s:%s" % (account, "root" if user == "<root_account>"
                                                       else "user/" + user))
                elif h.endswith("_active") or h == "password_enabled":
                    row.append("false")
                else:
                    row.append("N/A")
            by_user[user] = row
            if user == "<root_account>":
                body.insert(0, row)
            else:
                body.append(row)
        for k, v in cols.items():
            if k in header:
                row[header.index(k)] = v
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for r in body:
        w.writerow(r)
    hit("GetCredentialReport")
    return base64.b64encode(out.getvalue().encode("utf-8"))


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    moto = None

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def control(self, body):
        path = urlsplit(self.path).path
        if self.command == "GET" and path == "/_fill/hits":
            with LOCK:
                data = json.dumps(STATE["hits"]).encode()
            return self.reply(200, [("Content-Type", "application/json")], data)
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return self.reply(400, [], b"bad json")
        with LOCK:
            if path == "/_fill/report":
                for acct, users in doc.items():
                    STATE["report"].setdefault(acct, {}).update(users)
            elif path == "/_fill/trail-status":
                STATE["trail"].update(doc)
            elif path == "/_fill/faults":
                STATE["faults"].update(doc)
            elif path == "/_fill/keys":
                STATE["keys"].update(doc)
            else:
                return self.reply(404, [], b"no such control")
        return self.reply(200, [("Content-Type", "application/json")], b"{}")

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path.startswith("/_fill/"):
            return self.control(body)
        op = self.operation(body)
        fault = self.take_fault(op)
        mode = fault.get("mode") if fault else None
        if mode == "status":
            return self.fault_status(op, int(fault.get("status", 500)))
        if mode == "delay":
            time.sleep(float(fault.get("seconds", 1)))
        u = urlsplit(self.moto)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP:
                    conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body:
                conn.send(body)
            rs = conn.getresponse()
            status, headers, data = rs.status, rs.getheaders(), rs.read()
        finally:
            conn.close()
        if status == 200:
            data = self.fill(body, data)
            if mode == "truncate":
                data = data[:len(data) // 2]
            elif mode == "split":
                marker = parse_qs(body.decode("utf-8", "replace")).get("Marker", [""])[0]
                if marker != "page-2":
                    data = re.sub(rb"<UserDetailList>.*?</UserDetailList>", b"<UserDetailList/>",
                                  data, flags=re.S)
                    data = data.replace(b"<IsTruncated>false</IsTruncated>",
                                        b"<IsTruncated>true</IsTruncated><Marker>page-2</Marker>")
                else:
                    for lst in (b"GroupDetailList", b"RoleDetailList", b"Policies"):
                        data = re.sub(rb"<%s>.*?</%s>" % (lst, lst), b"<%s/>" % lst, data,
                                      flags=re.S)
            elif mode == "loop":
                sent = parse_qs(body.decode("utf-8", "replace")).get("Marker", ["m1"])[0]
                data = data.replace(b"<IsTruncated>false</IsTruncated>",
                                    b"<IsTruncated>true</IsTruncated><Marker>%s</Marker>"
                                    % sent.encode())
        self.reply(status, headers, data)

    def operation(self, body):
        target = self.headers.get("X-Amz-Target") or ""
        if target:
            return target.split(".")[-1]
        ctype = self.headers.get("Content-Type") or ""
        if self.command == "POST" and "form-urlencoded" in ctype:
            action = parse_qs(body.decode("utf-8", "replace")).get("Action")
            if action:
                return action[0]
        u = urlsplit(self.path)
        for part in u.query.split("&"):
            name = part.partition("=")[0]
            if name in S3_SUBRESOURCES and self.command == "GET":
                return S3_SUBRESOURCES[name]
        if self.command == "GET" and u.path in ("", "/"):
            return "ListBuckets"
        return ""

    def take_fault(self, op):
        with LOCK:
            f = STATE["faults"].get(op)
            if not f:
                return None
            if "count" in f:
                if f["count"] <= 0:
                    return None
                f["count"] -= 1
            STATE["hits"]["fault:" + op] = STATE["hits"].get("fault:" + op, 0) + 1
            return dict(f)

    def fault_status(self, op, status):
        code = "SlowDown" if status == 503 else "InternalError"
        if self.headers.get("X-Amz-Target"):
            body = json.dumps({"__type": "ThrottlingException" if status == 503 else
                               "InternalFailure", "message": "injected"}).encode()
            return self.reply(status, [("Content-Type", "application/x-amz-json-1.1")], body)
        if "form-urlencoded" in (self.headers.get("Content-Type") or ""):
            body = ("<ErrorResponse><Error><Type>Receiver</Type><Code>%s</Code><Message>injected"
                    "</Message></Error><RequestId>r</RequestId></ErrorResponse>" % code).encode()
        else:
            body = ("<Error><Code>%s</Code><Message>injected</Message><RequestId>r</RequestId>"
                    "</Error>" % code).encode()
        return self.reply(status, [("Content-Type", "text/xml")], body)

    def fill(self, body, data):
        target = self.headers.get("X-Amz-Target") or ""
        if target.endswith(".GetTrailStatus"):
            try:
                name = json.loads(body or b"{}").get("Name", "")
                doc = json.loads(data)
            except ValueError:
                return data
            with LOCK:
                extra = STATE["trail"].get(name) or STATE["trail"].get(name.split("/")[-1])
            if extra:
                doc.update(extra)
                hit("GetTrailStatus")
                return json.dumps(doc).encode()
            return data
        ctype = self.headers.get("Content-Type") or ""
        if self.command == "POST" and "form-urlencoded" in ctype:
            form = parse_qs(body.decode("utf-8", "replace"))
            if form.get("Action") == ["GetCredentialReport"]:
                m = KEY_RE.search(self.headers.get("Authorization") or "")
                with LOCK:
                    hint = STATE["keys"].get(m.group(1)) if m else None
                cm = CONTENT_RE.search(data)
                if cm:
                    new = rewrite_report(cm.group(1), hint)
                    return data[:cm.start(1)] + new + data[cm.end(1):]
        return data

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moto", required=True)
    args = ap.parse_args()
    Proxy.moto = args.moto
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
