"""A delaying HTTP proxy for the AWS benchmark: every request waits DELAY_MS
before it is forwarded to UPSTREAM (moto), as a far-away AWS endpoint
would make it wait, so that a scan's time shows whether requests in flight
or the CPU bound it.

Usage: delay_proxy.py UPSTREAM_URL DELAY_MS
Prints "PORT <n>" on stdout once listening on 127.0.0.1 (a free port).
GET /_delay/stats answers {"requests": N, "max_in_flight": M}: the requests
forwarded and the most at once. Standard library only; one thread per
client connection (keep-alive), one upstream connection per thread.
"""

import http.client
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _upstream(self):
        conn = getattr(self, "_conn", None)
        if conn is None:
            up = urlsplit(self.server.upstream)
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
            self._conn = conn
        return conn

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        srv = self.server
        if self.path == "/_delay/stats":
            with srv.lock:
                data = json.dumps({"requests": srv.requests,
                                   "max_in_flight": srv.max_in_flight}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        with srv.lock:
            srv.requests += 1
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            # the injected latency itself: this request is the slow one
            time.sleep(srv.delay)
            for attempt in (0, 1):
                conn = self._upstream()
                try:
                    conn.putrequest(self.command, self.path, skip_host=True,
                                    skip_accept_encoding=True)
                    for k, v in self.headers.items():
                        if k.lower() not in ("connection", "keep-alive", "proxy-connection"):
                            conn.putheader(k, v)
                    conn.endheaders(body if body else None)
                    rs = conn.getresponse()
                    data = rs.read()
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    self._conn = None
                    if attempt:
                        raise
            self.send_response(rs.status, rs.reason)
            for k, v in rs.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length",
                                     "keep-alive", "server", "date"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            with srv.lock:
                srv.in_flight -= 1

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = lambda self: self._handle()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, upstream, delay_ms):
        super().__init__(("127.0.0.1", 0), Handler)
        self.upstream = upstream
        self.delay = delay_ms / 1000.0
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: delay_proxy.py UPSTREAM_URL DELAY_MS")
    srv = Server(sys.argv[1], float(sys.argv[2]))
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
