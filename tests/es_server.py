#!/usr/bin/python3
"""A test Elasticsearch server, faithful to what Vigil's output relies on.

Standard library only (run it with /usr/bin/python3). It keeps documents in
memory and answers as Elasticsearch 8 does:

  GET  /                         cluster info (version 8.17.0)
  POST /_bulk, /<index>/_bulk    NDJSON action/source pairs; gzip or deflate
                                 bodies (Content-Encoding); the last line must
                                 end in a newline; `create` on an existing _id
                                 answers 409 version_conflict_engine_exception
                                 per item; data streams (logs-*-*, and any
                                 index template with data_stream) take only
                                 `create` and need @timestamp; `errors` and
                                 per-item status/error as Elasticsearch writes
                                 them; `filter_path` (with * and **) filters
                                 every JSON answer
  GET  /<target>/_count          documents in indices, data streams, patterns
  GET  /<target>/_doc/<id>       a document by id
  PUT  /_ilm/policy/<n>, /_ingest/pipeline/<n>, /_component_template/<n>,
       /_index_template/<n>      stored (and GET back); an index template
                                 naming a missing component template is refused
  PUT  /<index>                  creates an index (400 resource_already_exists)
  PUT  /_transform/<id>          409 resource_already_exists_exception if there
  POST /_transform/<id>/_update  refuses `latest`/`pivot` as Elasticsearch does
  POST /_transform/<id>/_start   409 status_exception when already started
  Writes to a data stream whose template sets index.default_pipeline run that
  pipeline's `set` processors ({{{_ingest.timestamp}}} for event.ingested).

Authentication (when any is configured, every request but /_test/ needs it):
  --users NAME:PASS[,...]   basic; --read-only NAME[,...] are refused writes
                            with 403 security_exception
  --api-keys ID:KEY[,...]   "Authorization: ApiKey base64(ID:KEY)"
  --bearer TOKEN            "Authorization: Bearer TOKEN"
  Missing or wrong credentials: 401 security_exception with WWW-Authenticate.
TLS: --tls-cert FILE --tls-key FILE [--client-ca FILE (client certificates
required)]. A plain HTTP proxy is emulated: a request line with an absolute
URL (what a client sends to a proxy) is served and logged with via_proxy.

Control endpoints (never authenticated):
  POST /_test/faults   replaces the fault knobs with the JSON body:
    {"rules": [RULE, ...], "max_content_length": BYTES}
    RULE (the first matching rule with count left fires; count -1: forever):
      {"scope": "item", "status": 429, "type": "es_rejected_execution_exception",
       "reason": "...", "match": "REGEX on _id", "count": N}
           per-item errors: 429, 400 mapper_parsing_exception, 403
           cluster_block_exception, ... (the item is not stored)
      {"scope": "request", "status": 503, "type": "...", "count": N}
           the whole request answered with that status
      {"scope": "request", "action": "reset", "after_store": false, "count": N}
           the connection is reset without an answer (after storing the
           documents when after_store)
      {"scope": "request", "action": "delay", "delay_ms": 2000, "count": N}
           a slow answer
    max_content_length: decompressed bodies above it get 413 (empty body)
  POST /_test/reset     forgets documents, faults, assets and the request log
  GET  /_test/requests  the request log: method, path, query, headers
                        (authorization reduced to its scheme), raw_bytes,
                        body_bytes, content_encoding, items, ids, status,
                        action, via_proxy, tls, and the JSON body of setup
                        requests
  GET  /_test/stats     counts of requests and documents, and of 409 conflicts
  GET  /_test/ids       every stored _id, by index

Start: es_server.py --port 0 --port-file FILE  (the port is written to FILE
once listening; "listening on 127.0.0.1:PORT" is printed too).
"""

import argparse
import base64
import datetime
import fnmatch
import gzip
import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import uuid
import zlib

VERSION = "8.17.0"
BUILTIN_DS_PATTERNS = ["logs-*-*", "metrics-*-*", "traces-*-*"]
MISSING = object()


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def es_error(status, etype, reason, **extra):
    cause = {"type": etype, "reason": reason}
    cause.update(extra)
    return status, {"error": {"root_cause": [dict(cause)], **cause}, "status": status}


def filter_value(v, pats):
    """Elasticsearch's filter_path: includes only; * matches one key, ** any
    depth; arrays are transparent; what ends up empty is left out."""
    if any(len(p) == 0 for p in pats):
        return v
    if isinstance(v, dict):
        out = {}
        for k, val in v.items():
            sub = []
            for p in pats:
                if p[0] == "**":
                    sub.append(p)
                    sub.append(p[1:])
                    if len(p) > 1 and (p[1] == k or fnmatch.fnmatchcase(k, p[1])):
                        sub.append(p[2:])
                elif p[0] == k or fnmatch.fnmatchcase(k, p[0]):
                    sub.append(p[1:])
            if not sub:
                continue
            r = filter_value(val, sub)
            if r is not MISSING:
                out[k] = r
        return out if out else MISSING
    if isinstance(v, list):
        out = [r for r in (filter_value(x, pats) for x in v) if r is not MISSING]
        return out if out else MISSING
    return MISSING


def apply_filter_path(obj, fp):
    if not fp:
        return obj
    pats = [p.split(".") for p in fp.split(",") if p]
    r = filter_value(obj, pats)
    return {} if r is MISSING else r


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.users = dict(u.split(":", 1) for u in args.users.split(",")) if args.users else {}
        self.read_only = set(args.read_only.split(",")) if args.read_only else set()
        self.api_keys = dict(k.split(":", 1) for k in args.api_keys.split(",")) if args.api_keys else {}
        self.bearer = args.bearer
        self.reset()

    def reset(self):
        self.indices = {}        # name -> {"docs": {id: source}, "ds": data stream name or None, "aliases": set()}
        self.data_streams = {}   # name -> backing index name
        self.faults = {"rules": [], "max_content_length": None}
        self.requests = []
        self.ilm = {}
        self.pipelines = {}
        self.component_templates = {}
        self.index_templates = {}
        self.transforms = {}     # id -> {"config": body, "started": bool}
        self.seq = 0
        self.conflicts = 0       # create answered 409: a resend of a stored _id

    def auth_enabled(self):
        return bool(self.users or self.api_keys or self.bearer)

    # ---- templates -------------------------------------------------------
    def template_for(self, name):
        best = None
        for tname, t in self.index_templates.items():
            for pat in t.get("index_patterns", []):
                if fnmatch.fnmatchcase(name, pat):
                    if best is None or t.get("priority", 0) > best[1].get("priority", 0):
                        best = (tname, t)
        return best

    def is_data_stream_name(self, name):
        t = self.template_for(name)
        if t is not None:
            return "data_stream" in t[1]
        return any(fnmatch.fnmatchcase(name, p) for p in BUILTIN_DS_PATTERNS)

    def default_pipeline(self, name):
        t = self.template_for(name)
        if t is None:
            return None
        settings = {}
        for ct in t[1].get("composed_of", []):
            c = self.component_templates.get(ct, {})
            settings.update(flatten(c.get("template", {}).get("settings", {})))
        settings.update(flatten(t[1].get("template", {}).get("settings", {})))
        return settings.get("index.default_pipeline") or settings.get("default_pipeline")

    # ---- indices ---------------------------------------------------------
    def write_target(self, name):
        """The index a write to name lands in, created if needed; and
        whether name is a data stream."""
        if name in self.data_streams:
            return self.data_streams[name], True
        if name in self.indices:
            return name, False
        for idx in self.indices.values():
            if name in idx["aliases"]:
                return idx["name"], False
        if self.is_data_stream_name(name):
            backing = ".ds-%s-%s-000001" % (name, datetime.date.today().strftime("%Y.%m.%d"))
            self.data_streams[name] = backing
            self.indices[backing] = {"name": backing, "docs": {}, "ds": name, "aliases": set(),
                                     "uuid": uuid.uuid4().hex[:22]}
            return backing, True
        self.indices[name] = {"name": name, "docs": {}, "ds": None, "aliases": set(),
                              "uuid": uuid.uuid4().hex[:22]}
        return name, False

    def resolve(self, target):
        names = set()
        for part in target.split(","):
            for ds, backing in self.data_streams.items():
                if fnmatch.fnmatchcase(ds, part):
                    names.add(backing)
            for name, idx in self.indices.items():
                if fnmatch.fnmatchcase(name, part) or part in idx["aliases"]:
                    if not name.startswith(".") or part.startswith("."):
                        names.add(name)
        return names


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = prefix + k
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def set_field(doc, path, value):
    parts = path.split(".")
    cur = doc
    for p in parts[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {}
        cur = cur[p]
    cur[parts[-1]] = value


def run_pipeline(pipeline, doc):
    for proc in pipeline.get("processors", []):
        s = proc.get("set")
        if not s:
            continue
        value = s.get("value")
        if isinstance(value, str):
            value = re.sub(r"\{\{\{?\s*_ingest\.timestamp\s*\}?\}\}", now_iso(), value)
        field = s.get("field")
        if field:
            set_field(doc, field, value)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "es_server"

    def log_message(self, fmt, *args):
        if not self.server.state.args.quiet:
            sys.stderr.write("es_server: " + (fmt % args) + "\n")

    # ---- plumbing --------------------------------------------------------
    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te.lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline(65537)
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, status, obj, filter_path=None, extra_headers=None):
        if isinstance(obj, (dict, list)) and filter_path:
            obj = apply_filter_path(obj, filter_path)
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-elastic-product", "Elasticsearch")
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return status

    def send_empty(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return status

    def reset_connection(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True
        self.wfile = _Sink()

    def split_path(self):
        via_proxy = False
        raw = self.path
        if raw.startswith("http://") or raw.startswith("https://"):
            via_proxy = True
            u = urllib.parse.urlsplit(raw)
            raw = u.path + ("?" + u.query if u.query else "")
        u = urllib.parse.urlsplit(raw)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        return urllib.parse.unquote(u.path), q, u.query, via_proxy

    def log_headers(self):
        h = {}
        for k, v in self.headers.items():
            k = k.lower()
            if k == "authorization":
                v = v.split(" ", 1)[0] + " ***"
            h[k] = v
        return h

    def authenticate(self, st):
        """None when allowed, else (status, body, headers)."""
        if not st.auth_enabled():
            return None, "anonymous"
        auth = self.headers.get("Authorization", "")
        scheme, _, cred = auth.partition(" ")
        user = None
        if scheme == "Basic" and st.users:
            try:
                name, _, pw = base64.b64decode(cred).decode().partition(":")
                if st.users.get(name) == pw:
                    user = name
            except Exception:
                pass
        elif scheme == "ApiKey" and st.api_keys:
            try:
                kid, _, key = base64.b64decode(cred).decode().partition(":")
                if st.api_keys.get(kid) == key:
                    user = "api_key:" + kid
            except Exception:
                pass
        elif scheme == "Bearer" and st.bearer and cred == st.bearer:
            user = "service_account"
        if user is None:
            who = "?"
            if scheme == "Basic":
                try:
                    who = base64.b64decode(cred).decode(errors="replace").split(":")[0]
                except Exception:
                    pass
            what = ("missing authentication credentials" if not auth
                    else "unable to authenticate user [%s]" % who)
            status, body = es_error(401, "security_exception", "%s for REST request [%s]" % (what, self.path),
                                    header={"WWW-Authenticate": ["Basic realm=\"security\" charset=\"UTF-8\"",
                                                                 "Bearer realm=\"security\"", "ApiKey"]})
            return (status, body, {"WWW-Authenticate": "Basic realm=\"security\" charset=\"UTF-8\""}), None
        return None, user

    # ---- dispatch --------------------------------------------------------
    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        st = self.server.state
        path, q, rawq, via_proxy = self.split_path()
        raw = self.read_body()
        entry = {"method": method, "path": path, "query": rawq, "headers": self.log_headers(),
                 "raw_bytes": len(raw), "via_proxy": via_proxy, "tls": self.server.tls,
                 "time": time.time()}
        if path.startswith("/_test/"):
            return self.control(method, path, raw)
        enc = self.headers.get("Content-Encoding", "").lower()
        entry["content_encoding"] = enc
        try:
            if enc == "gzip":
                body = gzip.decompress(raw)
            elif enc == "deflate":
                body = zlib.decompress(raw)
            elif enc in ("", "identity"):
                body = raw
            else:
                raise ValueError("unsupported content encoding [%s]" % enc)
        except Exception as e:
            with st.lock:
                st.requests.append(entry)
            status, obj = es_error(400, "illegal_argument_exception", "failed to decode the body: %s" % e)
            entry["status"] = self.send_json(status, obj)
            return
        entry["body_bytes"] = len(body)
        denied, user = self.authenticate(st)
        if denied:
            status, obj, hdrs = denied
            with st.lock:
                st.requests.append(entry)
            entry["status"] = self.send_json(status, obj, extra_headers=hdrs)
            return
        entry["user"] = user
        try:
            self.route(st, method, path, q, body, entry, user)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def control(self, method, path, raw):
        st = self.server.state
        with st.lock:
            if path == "/_test/faults" and method in ("POST", "PUT"):
                f = json.loads(raw or b"{}")
                st.faults = {"rules": f.get("rules", []), "max_content_length": f.get("max_content_length")}
                return self.send_json(200, {"acknowledged": True})
            if path == "/_test/reset" and method == "POST":
                st.reset()
                return self.send_json(200, {"acknowledged": True})
            if path == "/_test/requests":
                return self.send_json(200, st.requests)
            if path == "/_test/stats":
                docs = {n: len(i["docs"]) for n, i in st.indices.items()}
                return self.send_json(200, {"requests": len(st.requests), "docs": docs,
                                            "conflicts": st.conflicts,
                                            "transforms": {k: v["started"] for k, v in st.transforms.items()}})
            if path == "/_test/ids":
                # every stored _id, by index (data stream backing indices included)
                return self.send_json(200, {n: sorted(i["docs"]) for n, i in st.indices.items()})
        return self.send_json(404, {"error": "no such control endpoint"})

    def route(self, st, method, path, q, body, entry, user):
        parts = [p for p in path.split("/") if p]
        fp = q.get("filter_path")
        if not parts:
            with st.lock:
                st.requests.append(entry)
            entry["status"] = self.send_json(200, {
                "name": "es-test", "cluster_name": "vigil-test", "cluster_uuid": "test-cluster-uuid",
                "version": {"number": VERSION, "build_flavor": "default", "lucene_version": "9.12.0",
                            "minimum_wire_compatibility_version": "7.17.0"},
                "tagline": "You Know, for Search"}, fp)
            return
        if parts[-1] == "_bulk" and method in ("POST", "PUT") and len(parts) <= 2:
            return self.bulk(st, parts[0] if len(parts) == 2 else None, q, body, entry, user)
        with st.lock:
            st.requests.append(entry)
            if body:
                try:
                    entry["body"] = json.loads(body)
                except ValueError:
                    entry["body"] = None
            status, obj = self.api(st, method, parts, q, body, user)
        entry["status"] = status
        self.send_json(status, obj, fp)

    # ---- the REST API but _bulk ----------------------------------------------
    def api(self, st, method, parts, q, body, user):
        def parse():
            return json.loads(body) if body else {}
        try:
            doc = parse() if method in ("PUT", "POST") else None
        except ValueError as e:
            return es_error(400, "x_content_parse_exception", "[1:1] failed to parse: %s" % e)
        if user in st.read_only and method in ("PUT", "POST", "DELETE") and parts[-1] not in ("_count", "_search"):
            return es_error(403, "security_exception",
                            "action [cluster:admin/*] is unauthorized for user [%s] with effective roles [viewer]" % user)
        n = len(parts)
        if parts[0] == "_cluster" and n == 2 and parts[1] == "health":
            return 200, {"cluster_name": "vigil-test", "status": "green"}
        if parts[0] == "_ilm" and n == 3 and parts[1] == "policy":
            name = parts[2]
            if method == "PUT":
                if "policy" not in doc:
                    return es_error(400, "x_content_parse_exception", "[1:1] required field [policy] missing")
                st.ilm[name] = doc
                return 200, {"acknowledged": True}
            if name in st.ilm:
                return 200, {name: {"version": 1, "modified_date": now_iso(), "policy": st.ilm[name]["policy"]}}
            return es_error(404, "resource_not_found_exception", "Lifecycle policy not found: %s" % name)
        if parts[0] == "_ingest" and n == 3 and parts[1] == "pipeline":
            name = parts[2]
            if method == "PUT":
                if not isinstance(doc.get("processors"), list):
                    return es_error(400, "parse_exception", "[processors] required property is missing")
                st.pipelines[name] = doc
                return 200, {"acknowledged": True}
            if name in st.pipelines:
                return 200, {name: st.pipelines[name]}
            return 404, {}
        if parts[0] == "_component_template" and n == 2:
            name = parts[1]
            if method == "PUT":
                if "template" not in doc:
                    return es_error(400, "x_content_parse_exception", "[1:1] required field [template] missing")
                st.component_templates[name] = doc
                return 200, {"acknowledged": True}
            if name in st.component_templates:
                return 200, {"component_templates": [{"name": name, "component_template": st.component_templates[name]}]}
            return es_error(404, "resource_not_found_exception", "component template matching [%s] not found" % name)
        if parts[0] == "_index_template" and n == 2:
            name = parts[1]
            if method == "PUT":
                if not doc.get("index_patterns"):
                    return es_error(400, "action_request_validation_exception",
                                    "Validation Failed: 1: index patterns are missing;")
                missing = [c for c in doc.get("composed_of", []) if c not in st.component_templates]
                if missing:
                    return es_error(400, "invalid_index_template_exception",
                                    "index_template [%s] invalid, cause [index template [%s] specifies component templates %s that do not exist]"
                                    % (name, name, missing))
                st.index_templates[name] = doc
                return 200, {"acknowledged": True}
            if name in st.index_templates:
                return 200, {"index_templates": [{"name": name, "index_template": st.index_templates[name]}]}
            return es_error(404, "resource_not_found_exception", "index template matching [%s] not found" % name)
        if parts[0] == "_transform" and n >= 2:
            tid = parts[1]
            if not re.fullmatch(r"[a-z0-9](?:[a-z0-9_\-]{0,62}[a-z0-9])?", tid):
                return es_error(400, "action_request_validation_exception",
                                "Validation Failed: 1: can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; must start and end with alphanumeric;")
            t = st.transforms.get(tid)
            if n == 2 and method == "PUT":
                if t is not None:
                    return es_error(409, "resource_already_exists_exception",
                                    "Transform with id [%s] already exists" % tid)
                if "source" not in doc or "dest" not in doc or not ("latest" in doc or "pivot" in doc):
                    return es_error(400, "action_request_validation_exception",
                                    "Validation Failed: 1: source, dest and one of pivot or latest are required;")
                st.transforms[tid] = {"config": doc, "started": False}
                return 200, {"acknowledged": True}
            if t is None:
                return es_error(404, "resource_not_found_exception", "Transform with id [%s] could not be found" % tid)
            if n == 2 and method == "GET":
                return 200, {"count": 1, "transforms": [dict(t["config"], id=tid)]}
            if n == 3 and parts[2] == "_update" and method == "POST":
                for k in doc:
                    if k not in ("description", "dest", "frequency", "_meta", "source", "settings", "sync",
                                 "retention_policy"):
                        return es_error(400, "x_content_parse_exception",
                                        "[1:2] [data_frame_transform_config_update] unknown field [%s]" % k)
                t["config"].update(doc)
                return 200, dict(t["config"], id=tid)
            if n == 3 and parts[2] == "_start" and method == "POST":
                if t["started"]:
                    return es_error(409, "status_exception",
                                    "Cannot start transform [%s] as it is already started" % tid)
                t["started"] = True
                return 200, {"acknowledged": True}
            return es_error(405, "illegal_argument_exception", "unsupported transform request")
        if n == 2 and parts[1] == "_count":
            names = st.resolve(parts[0])
            if not names and "*" not in parts[0]:
                return es_error(404, "index_not_found_exception", "no such index [%s]" % parts[0],
                                index=parts[0])
            count = sum(len(st.indices[x]["docs"]) for x in names)
            return 200, {"count": count, "_shards": {"total": len(names), "successful": len(names),
                                                      "skipped": 0, "failed": 0}}
        if n == 3 and parts[1] == "_doc" and method in ("GET", "HEAD"):
            for name in sorted(st.resolve(parts[0])):
                d = st.indices[name]["docs"].get(parts[2])
                if d is not None:
                    return 200, {"_index": name, "_id": parts[2], "_version": 1, "_seq_no": 0,
                                 "_primary_term": 1, "found": True, "_source": d}
            return 404, {"_index": parts[0], "_id": parts[2], "found": False}
        if n == 1 and method == "PUT" and not parts[0].startswith("_"):
            name = parts[0]
            if name in st.indices or name in st.data_streams:
                return es_error(400, "resource_already_exists_exception",
                                "index [%s/%s] already exists" % (name, st.indices.get(name, {}).get("uuid", "x")),
                                index=name)
            st.indices[name] = {"name": name, "docs": {}, "ds": None,
                                "aliases": set((doc or {}).get("aliases", {}).keys()),
                                "uuid": uuid.uuid4().hex[:22], "body": doc}
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}
        if n == 1 and method in ("GET", "HEAD") and not parts[0].startswith("_"):
            if parts[0] in st.indices:
                i = st.indices[parts[0]]
                return 200, {parts[0]: {"aliases": {a: {} for a in i["aliases"]}}}
            return es_error(404, "index_not_found_exception", "no such index [%s]" % parts[0], index=parts[0])
        return es_error(400, "illegal_argument_exception",
                        "request [%s] contains unrecognized parameters or path" % self.path)

    # ---- _bulk -----------------------------------------------------------
    def next_fault(self, st, scope, doc_id=None):
        for r in st.faults.get("rules", []):
            if r.get("scope", "item") != scope or r.get("count", 1) == 0:
                continue
            if scope == "item" and r.get("match") and not re.search(r["match"], doc_id or ""):
                continue
            if r.get("count", 1) > 0:
                r["count"] = r.get("count", 1) - 1
            return r
        return None

    def bulk(self, st, default_index, q, body, entry, user):
        fp = q.get("filter_path")
        with st.lock:
            st.requests.append(entry)
            limit = st.faults.get("max_content_length")
            rule = self.next_fault(st, "request")
        if limit is not None and len(body) > limit:
            entry["status"] = self.send_empty(413)
            return
        if rule and rule.get("action") == "reset" and not rule.get("after_store"):
            entry["action"] = "reset"
            self.reset_connection()
            return
        if rule and rule.get("action") == "delay":
            entry["action"] = "delay"
            time.sleep(rule.get("delay_ms", 1000) / 1000.0)
        if rule and rule.get("status"):
            status = rule["status"]
            entry["action"] = "status"
            if status == 413:
                entry["status"] = self.send_empty(413)
                return
            etype = rule.get("type") or {429: "es_rejected_execution_exception", 503: "unavailable_shards_exception",
                                         403: "cluster_block_exception"}.get(status, "exception")
            reason = rule.get("reason") or {
                "cluster_block_exception": "index [logs] blocked by: [FORBIDDEN/8/index write (api)];",
                "es_rejected_execution_exception": "rejected execution of coordinating operation",
            }.get(etype, "injected fault")
            s, obj = es_error(status, etype, reason)
            entry["status"] = self.send_json(s, obj)
            return
        if user in st.read_only:
            s, obj = es_error(403, "security_exception",
                              "action [indices:data/write/bulk] is unauthorized for user [%s] with effective roles [viewer], "
                              "this action is granted by the index privileges [create_doc,create,index,write,all]" % user)
            entry["status"] = self.send_json(s, obj)
            return
        ctype = self.headers.get("Content-Type", "")
        if not (ctype.startswith("application/x-ndjson") or ctype.startswith("application/json")):
            s, obj = es_error(406, "media_type_header_exception",
                              "Content-Type header [%s] is not supported" % ctype)
            entry["status"] = self.send_json(s, obj)
            return
        if body and not body.endswith(b"\n"):
            s, obj = es_error(400, "illegal_argument_exception",
                              "The bulk request must be terminated by a newline [\\n]")
            entry["status"] = self.send_json(s, obj)
            return
        lines = body.split(b"\n")[:-1] if body else []
        ops = []
        i = 0
        while i < len(lines):
            try:
                action = json.loads(lines[i])
                if not isinstance(action, dict) or len(action) != 1:
                    raise ValueError("expected one action")
            except ValueError:
                s, obj = es_error(400, "illegal_argument_exception",
                                  "Malformed action/metadata line [%d], expected START_OBJECT but found [VALUE_STRING]" % (i + 1))
                entry["status"] = self.send_json(s, obj)
                return
            op, meta = next(iter(action.items()))
            if op not in ("create", "index", "update", "delete"):
                s, obj = es_error(400, "illegal_argument_exception",
                                  "Action/metadata line [%d] contains an unknown parameter [%s]" % (i + 1, op))
                entry["status"] = self.send_json(s, obj)
                return
            src = None
            if op != "delete":
                if i + 1 >= len(lines):
                    s, obj = es_error(400, "action_request_validation_exception",
                                      "Validation Failed: 1: no requests added;")
                    entry["status"] = self.send_json(s, obj)
                    return
                src = lines[i + 1]
                i += 2
            else:
                i += 1
            ops.append((op, meta if isinstance(meta, dict) else {}, src))
        if not ops:
            s, obj = es_error(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
            entry["status"] = self.send_json(s, obj)
            return
        entry["items"] = len(ops)
        entry["ids"] = [m.get("_id") for _, m, _ in ops]
        entry["indices"] = sorted(set(m.get("_index") or default_index or "" for _, m, _ in ops))
        items = []
        errors = False
        with st.lock:
            for op, meta, src in ops:
                item, failed = self.bulk_item(st, op, meta, src, default_index)
                errors = errors or failed
                items.append({op: item})
        if rule and rule.get("action") == "reset":
            entry["action"] = "reset"
            self.reset_connection()
            return
        entry["status"] = 200
        entry["item_status"] = [next(iter(x.values()))["status"] for x in items]
        self.send_json(200, {"errors": errors, "took": 3, "items": items}, fp)

    def bulk_item(self, st, op, meta, src, default_index):
        name = meta.get("_index") or default_index
        doc_id = meta.get("_id")
        base = {"_index": name, "_id": doc_id}

        def fail(status, etype, reason, **extra):
            e = {"type": etype, "reason": reason}
            e.update(extra)
            return dict(base, status=status, error=e), True
        if not name:
            return fail(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
        rule = self.next_fault(st, "item", doc_id)
        if rule:
            status = rule.get("status", 429)
            etype = rule.get("type") or {429: "es_rejected_execution_exception", 400: "mapper_parsing_exception",
                                         403: "cluster_block_exception", 503: "unavailable_shards_exception"}.get(status, "exception")
            reason = rule.get("reason") or {
                "es_rejected_execution_exception": "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=1, max_coordinating_and_primary_bytes=0]",
                "mapper_parsing_exception": "failed to parse field [event.severity] of type [long] in document with id '%s'. Preview of field's value: 'high'" % doc_id,
                "cluster_block_exception": "index [%s] blocked by: [FORBIDDEN/8/index write (api)];" % name,
            }.get(etype, "injected fault")
            extra = {}
            if etype == "mapper_parsing_exception":
                extra["caused_by"] = {"type": "illegal_argument_exception", "reason": "For input string: \"high\""}
            return fail(status, etype, reason, **extra)
        target, is_ds = st.write_target(name)
        base["_index"] = target
        if is_ds and op != "create":
            return fail(400, "illegal_argument_exception",
                        "only write ops with an op_type of create are allowed in data streams")
        if op in ("update", "delete"):
            return fail(400, "illegal_argument_exception", "this test server takes create and index only")
        try:
            source = json.loads(src)
            if not isinstance(source, dict):
                raise ValueError("not an object")
        except ValueError as e:
            return fail(400, "document_parsing_exception", "[1:1] failed to parse: %s" % e,
                        caused_by={"type": "json_parse_exception", "reason": str(e)})
        if is_ds and "@timestamp" not in source:
            return fail(400, "document_parsing_exception",
                        "[1:1] failed to parse: data stream timestamp field [@timestamp] is missing")
        idx = st.indices[target]
        if doc_id is None:
            doc_id = uuid.uuid4().hex[:20]
            base["_id"] = doc_id
        if op == "create" and doc_id in idx["docs"]:
            st.conflicts += 1
            return fail(409, "version_conflict_engine_exception",
                        "[%s]: version conflict, document already exists (current version [1])" % doc_id,
                        index_uuid=idx["uuid"], shard="0", index=target)
        if is_ds:
            pl = st.default_pipeline(name)
            if pl and pl in st.pipelines:
                run_pipeline(st.pipelines[pl], source)
        existed = doc_id in idx["docs"]
        idx["docs"][doc_id] = source
        st.seq += 1
        return dict(base, _version=2 if existed else 1, result="updated" if existed else "created",
                    _shards={"total": 2, "successful": 1, "failed": 0}, _seq_no=st.seq, _primary_term=1,
                    status=200 if existed else 201), False


class _Sink:
    def write(self, b):
        return len(b)

    def flush(self):
        pass

    def close(self):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, ctx):
        self.state = state
        self.ctx = ctx
        self.tls = ctx is not None
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # the TLS handshake happens here, in the connection's own thread
        if self.ctx is not None:
            try:
                request.settimeout(10)
                request = self.ctx.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError) as e:
                with self.state.lock:
                    self.state.requests.append({"method": "TLS", "path": "", "tls_error": str(e),
                                                "time": time.time()})
                try:
                    request.close()
                except OSError:
                    pass
                return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        if not self.state.args.quiet:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="A test Elasticsearch server (see the module docstring).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca")
    ap.add_argument("--users", default="")
    ap.add_argument("--read-only", default="")
    ap.add_argument("--api-keys", default="")
    ap.add_argument("--bearer", default="")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.client_ca)
    state = State(args)
    srv = Server((args.host, args.port), state, ctx)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("listening on %s:%d" % (args.host, port), flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
