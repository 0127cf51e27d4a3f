#!/usr/bin/python3
"""A test Kibana server: the two import APIs `vigil setup --kibana` uses,
answering as Kibana 8.x documents them. Standard library only (run it with
/usr/bin/python3).

  POST [BASE][/s/SPACE]/api/saved_objects/_import[?overwrite=true]
  POST [BASE][/s/SPACE]/api/detection_engine/rules/_import[?overwrite=true]

Both need the kbn-xsrf header (400 "Request must contain a kbn-xsrf
header." without it) and a multipart/form-data body (415 otherwise) whose
part "file" has a filename ending in .ndjson (400 "Invalid file extension
.X"). The file is read line by line; a line that is not JSON fails the whole
request (400). An export summary line (exportedCount / exported_count) is
skipped, as Kibana does.

Saved objects, per object (the answer lists each refused one in "errors",
as Kibana: {"id","type","title","meta","error":{"type",...}}):
  - a type this Kibana does not know (--without-types lens,...):
    unsupported_type
  - typeMigrationVersion (or coreMigrationVersion) newer than this Kibana
    knows for the type: unknown, statusCode 400, "belongs to a more recent
    version of Kibana"
  - references to objects neither in the file (of a supported type) nor
    already in the space: missing_references, with the missing ones
  - overwrite not set and the object exists: conflict
  - attributes that Kibana would store but could not render (stricter than
    Kibana, on purpose): unknown, statusCode 400, with the reason. Checked:
    index-pattern title, timeFieldName and runtimeFieldMap (JSON: {name:
    {type, script.source}}); lens title, visualizationType, the formBased
    layers (each with its indexpattern-datasource-layer-<id> reference,
    columnOrder = the columns, known operations, field operations with a
    sourceField, formula/math references to columns of the layer) and
    the visualization's accessors (lnsXY layers, lnsDatatable columns);
    dashboard title, panelsJSON (each panel's type, gridData within 48
    columns, panelRefName with a reference "<panelIndex>:<panelRefName>" of
    the panel's type), optionsJSON and searchSourceJSON (JSON).
  Answer: {"successCount","success","warnings":[],"successResults"?,"errors"?}.

Detection rules, per rule (errors as {"rule_id","error":{"status_code",
"message"}}): rule_id, name, description, risk_score (0..100), severity
(low|medium|high|critical) and type are required; by type: query and
saved_query need query, language kuery|lucene and index (or
data_view_id); eql: query, language eql, index; esql: query starting
with FROM, language esql, no index (--no-esql: the type is refused as a
Kibana before 8.13 does); threshold: threshold.field and value. interval
(N[smhd]), from (now-N[smhd]), version >= 1, max_signals >= 1, lists of
strings (tags, references, author, false_positives), severity_mapping and
risk_score_mapping entries are checked when present. A rule_id twice in
one file: 400 for the second; an existing rule without overwrite: 409.
  Answer: {"success","success_count","rules_count","errors",
           "exceptions_errors":[],"exceptions_success":true,
           "exceptions_success_count":0,"action_connectors_success":true,
           "action_connectors_success_count":0,"action_connectors_errors":[],
           "action_connectors_warnings":[]}

Spaces: "default" and those of --spaces a,b; another one answers 404.
--base-path /kibana serves everything under that prefix.

Authentication (when --users or --api-keys is given, every API request
needs it; /_test/ never): Basic NAME:PASS or ApiKey base64(ID:KEY); else
401 {"statusCode":401,"error":"Unauthorized","message":"[security_exception
...]"} (the message holds a newline and tabs, as Kibana's does).
--read-only NAME,... are refused with 403 and the privilege they lack.
TLS: --tls-cert FILE --tls-key FILE.

Modes (--mode, or POST /_test/mode {"mode": M}) for the API requests:
  ok         as above
  401, 403   every request refused so
  500        {"statusCode":500,"error":"Internal Server Error",...}
  truncated  Content-Length larger than the bytes sent, then the
             connection is closed
  notjson    200 with an HTML page
  cutjson    200 with the first half of a valid answer (Content-Length
             right)
  empty      200 with an empty body

Control endpoints:
  POST /_test/mode      {"mode": M}
  POST /_test/reset     forgets objects, rules and the request log; mode ok
  GET  /_test/requests  the log: method, path, space, query, headers
                        (authorization reduced to its scheme), kbn_xsrf,
                        content_type, filename, part_type, lines, status,
                        tls
  GET  /_test/objects   {SPACE: {"TYPE/ID": object}}
  GET  /_test/rules     {SPACE: {RULE_ID: rule}}

Start: kibana_server.py --port 0 --port-file FILE (written once listening).
"""

import argparse
import base64
import http.server
import json
import os
import re
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

VERSION = "8.17.0"
# the newest typeMigrationVersion this Kibana knows, per type
KNOWN_TYPES = {"index-pattern": "8.0.0", "lens": "8.9.0", "dashboard": "8.9.0",
               "visualization": "8.5.0", "search": "8.0.0", "tag": "8.0.0", "config": "8.9.0"}
TYPE_ICONS = {"index-pattern": "indexPatternApp", "lens": "lensApp", "dashboard": "dashboardApp"}
RULE_TYPES = ["eql", "query", "saved_query", "threshold", "threat_match", "machine_learning",
              "new_terms", "esql"]
SEVERITIES = ["low", "medium", "high", "critical"]
LENS_VIS = {"lnsXY", "lnsDatatable", "lnsPie", "lnsMetric", "lnsLegacyMetric", "lnsGauge",
            "lnsHeatmap", "lnsTagcloud", "lnsMosaic"}
FIELD_OPS = {"terms", "date_histogram", "range", "sum", "average", "min", "max", "median",
             "percentile", "percentile_rank", "unique_count", "last_value", "standard_deviation",
             "cardinality"}
REF_OPS = {"formula", "math", "cumulative_sum", "differences", "moving_average", "counter_rate",
           "overall_sum", "overall_min", "overall_max", "overall_average", "normalize_by_unit"}
OTHER_OPS = {"count", "filters", "static_value"}
RUNTIME_TYPES = {"keyword", "long", "double", "date", "boolean", "ip", "geo_point", "composite"}


def semver(s):
    try:
        return tuple(int(x) for x in s.split("."))
    except (AttributeError, ValueError):
        return None


def kbn_error(status, reason, message):
    return status, {"statusCode": status, "error": reason, "message": message}


class Invalid(Exception):
    pass


# ---- saved objects ------------------------------------------------------------

def parse_json_attr(attrs, key, kind):
    v = attrs.get(key)
    if not isinstance(v, str):
        raise Invalid("[attributes.%s]: expected a string of JSON" % key)
    try:
        out = json.loads(v)
    except ValueError as e:
        raise Invalid("[attributes.%s]: not JSON: %s" % (key, e))
    if not isinstance(out, kind):
        raise Invalid("[attributes.%s]: expected a JSON %s" % (key, kind.__name__))
    return out


def check_index_pattern(obj):
    a = obj["attributes"]
    if not isinstance(a.get("title"), str) or not a["title"]:
        raise Invalid("[attributes.title]: expected a non-empty string")
    if "timeFieldName" in a and not isinstance(a["timeFieldName"], str):
        raise Invalid("[attributes.timeFieldName]: expected a string")
    if "runtimeFieldMap" in a:
        rt = parse_json_attr(a, "runtimeFieldMap", dict)
        for name, f in rt.items():
            if not isinstance(f, dict) or f.get("type") not in RUNTIME_TYPES:
                raise Invalid("runtime field %s: type must be one of %s" % (name, sorted(RUNTIME_TYPES)))
            src = (f.get("script") or {}).get("source")
            if not isinstance(src, str) or "emit(" not in src:
                raise Invalid("runtime field %s: script.source must emit a value" % name)
    if "fields" in a:
        parse_json_attr(a, "fields", list)


def check_lens(obj):
    a = obj["attributes"]
    if not isinstance(a.get("title"), str) or not a["title"]:
        raise Invalid("[attributes.title]: expected a non-empty string")
    vt = a.get("visualizationType")
    if vt not in LENS_VIS:
        raise Invalid("[attributes.visualizationType]: unknown visualization %r" % (vt,))
    st = a.get("state")
    if not isinstance(st, dict):
        raise Invalid("[attributes.state]: expected an object")
    q = st.get("query")
    if not isinstance(q, dict) or q.get("language") not in ("kuery", "lucene") or not isinstance(q.get("query"), str):
        raise Invalid("[attributes.state.query]: expected {language: kuery|lucene, query: string}")
    layers = (((st.get("datasourceStates") or {}).get("formBased") or {}).get("layers"))
    if not isinstance(layers, dict) or not layers:
        raise Invalid("[attributes.state.datasourceStates.formBased.layers]: expected layers")
    refnames = {r.get("name") for r in obj.get("references", []) if isinstance(r, dict)}
    all_cols = {}
    for lid, layer in layers.items():
        if "indexpattern-datasource-layer-" + lid not in refnames:
            raise Invalid("layer %s has no reference indexpattern-datasource-layer-%s" % (lid, lid))
        cols = layer.get("columns")
        order = layer.get("columnOrder")
        if not isinstance(cols, dict) or not isinstance(order, list) or set(order) != set(cols) \
                or len(order) != len(cols):
            raise Invalid("layer %s: columnOrder must list each column once" % lid)
        for cid, c in cols.items():
            if not isinstance(c, dict):
                raise Invalid("column %s: expected an object" % cid)
            op = c.get("operationType")
            if op not in FIELD_OPS | REF_OPS | OTHER_OPS:
                raise Invalid("column %s: unknown operation %r" % (cid, op))
            if not isinstance(c.get("label"), str) or not isinstance(c.get("dataType"), str) \
                    or not isinstance(c.get("isBucketed"), bool):
                raise Invalid("column %s: label, dataType and isBucketed are required" % cid)
            if op in FIELD_OPS and not (isinstance(c.get("sourceField"), str) and c["sourceField"]):
                raise Invalid("column %s: %s needs a sourceField" % (cid, op))
            if op == "count" and c.get("sourceField") != "___records___":
                raise Invalid("column %s: count needs sourceField ___records___" % cid)
            if op in REF_OPS:
                for r in c.get("references", []):
                    if r not in cols:
                        raise Invalid("column %s refers to %s, not a column of layer %s" % (cid, r, lid))
            if op == "formula":
                p = c.get("params") or {}
                if not isinstance(p.get("formula"), str) or not c.get("references"):
                    raise Invalid("column %s: a formula needs its text and its math column" % cid)
            if op == "math" and not isinstance((c.get("params") or {}).get("tinymathAst"), (dict, str, int, float)):
                raise Invalid("column %s: math needs params.tinymathAst" % cid)
            if op == "terms":
                ob = (c.get("params") or {}).get("orderBy") or {}
                if ob.get("type") == "column" and ob.get("columnId") not in cols:
                    raise Invalid("column %s: orderBy names no column of the layer" % cid)
        all_cols[lid] = cols
    vis = st.get("visualization")
    if not isinstance(vis, dict):
        raise Invalid("[attributes.state.visualization]: expected an object")
    if vt == "lnsXY":
        vl = vis.get("layers")
        if not isinstance(vl, list) or not vl:
            raise Invalid("lnsXY: no layers")
        for l in vl:
            lid = l.get("layerId")
            if lid not in all_cols:
                raise Invalid("lnsXY layer %s is not a datasource layer" % lid)
            acc = list(l.get("accessors") or []) + [x for x in (l.get("xAccessor"), l.get("splitAccessor")) if x]
            if not l.get("accessors"):
                raise Invalid("lnsXY layer %s: no accessors" % lid)
            for x in acc:
                if x not in all_cols[lid]:
                    raise Invalid("lnsXY layer %s: accessor %s is not a column" % (lid, x))
    elif vt == "lnsDatatable":
        lid = vis.get("layerId")
        if lid not in all_cols:
            raise Invalid("lnsDatatable: layerId is not a datasource layer")
        cl = vis.get("columns")
        if not isinstance(cl, list) or not cl:
            raise Invalid("lnsDatatable: no columns")
        for c in cl:
            if not isinstance(c, dict) or c.get("columnId") not in all_cols[lid]:
                raise Invalid("lnsDatatable: column %r is not a column of the layer" % (c,))


def check_dashboard(obj):
    a = obj["attributes"]
    if not isinstance(a.get("title"), str) or not a["title"]:
        raise Invalid("[attributes.title]: expected a non-empty string")
    panels = parse_json_attr(a, "panelsJSON", list)
    if "optionsJSON" in a:
        parse_json_attr(a, "optionsJSON", dict)
    meta = a.get("kibanaSavedObjectMeta")
    if meta is not None:
        if not isinstance(meta, dict):
            raise Invalid("[attributes.kibanaSavedObjectMeta]: expected an object")
        parse_json_attr(meta, "searchSourceJSON", dict)
    refs = {r.get("name"): r for r in obj.get("references", []) if isinstance(r, dict)}
    seen = set()
    for i, p in enumerate(panels):
        if not isinstance(p, dict) or not isinstance(p.get("type"), str):
            raise Invalid("panel %d: \"type\" attribute is missing" % i)
        key = p.get("panelIndex")
        if not isinstance(key, str) or key in seen:
            raise Invalid("panel %d: panelIndex missing or repeated" % i)
        seen.add(key)
        g = p.get("gridData")
        if not isinstance(g, dict) or any(not isinstance(g.get(k), int) for k in "xywh") \
                or g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 48 or g.get("i") != key:
            raise Invalid("panel %s: gridData must be x, y, w, h within 48 columns and i = panelIndex" % key)
        prn = p.get("panelRefName")
        if prn is not None:
            r = refs.get("%s:%s" % (key, prn))
            if r is None:
                raise Invalid("Could not find reference \"%s\"" % prn)
            if r.get("type") != p["type"]:
                raise Invalid("panel %s is a %s but its reference is a %s" % (key, p["type"], r.get("type")))


CHECKS = {"index-pattern": check_index_pattern, "lens": check_lens, "dashboard": check_dashboard}


def import_saved_objects(st, space, objs, overwrite):
    store = st.objects.setdefault(space, {})
    errors, results, ok = [], [], []

    def fail(o, err):
        title = (o.get("attributes") or {}).get("title") if isinstance(o.get("attributes"), dict) else None
        e = {"id": o["id"], "type": o["type"], "meta": {}, "error": err}
        if title:
            e["title"] = title
            e["meta"]["title"] = title
        if o["type"] in TYPE_ICONS:
            e["meta"]["icon"] = TYPE_ICONS[o["type"]]
        errors.append(e)

    supported = []
    for o in objs:
        if o["type"] not in st.types:
            fail(o, {"type": "unsupported_type"})
        else:
            supported.append(o)
    in_file = {(o["type"], o["id"]) for o in supported}
    for o in supported:
        missing = []
        for r in o.get("references", []):
            if not isinstance(r, dict) or not isinstance(r.get("type"), str) or not isinstance(r.get("id"), str):
                missing.append({"type": str((r or {}).get("type")), "id": str((r or {}).get("id"))})
                continue
            key = (r["type"], r["id"])
            if key not in in_file and "%s/%s" % key not in store:
                missing.append({"type": r["type"], "id": r["id"]})
        if missing:
            fail(o, {"type": "missing_references", "references": missing})
            continue
        known = semver(st.types[o["type"]])
        tmv = o.get("typeMigrationVersion") or (o.get("migrationVersion") or {}).get(o["type"])
        core = o.get("coreMigrationVersion")
        if (tmv and (semver(tmv) is None or semver(tmv) > known)) or \
                (core and (semver(core) is None or semver(core) > semver(VERSION))):
            fail(o, {"type": "unknown", "statusCode": 400,
                     "message": "Document \"%s\" belongs to a more recent version of Kibana [%s] when the "
                                "last known version is [%s]." % (o["id"], tmv or core, st.types[o["type"]]),
                     "error": "Bad Request"})
            continue
        if not isinstance(o.get("attributes"), dict):
            fail(o, {"type": "unknown", "statusCode": 400, "error": "Bad Request",
                     "message": "[attributes]: expected value of type [object]"})
            continue
        try:
            if o["type"] in CHECKS:
                CHECKS[o["type"]](o)
        except Invalid as e:
            fail(o, {"type": "unknown", "statusCode": 400, "error": "Bad Request", "message": str(e)})
            continue
        exists = "%s/%s" % (o["type"], o["id"]) in store
        if exists and not overwrite:
            fail(o, {"type": "conflict"})
            continue
        ok.append((o, exists))
    for o, exists in ok:
        store["%s/%s" % (o["type"], o["id"])] = o
        r = {"type": o["type"], "id": o["id"],
             "meta": {"title": o["attributes"].get("title", ""), "icon": TYPE_ICONS.get(o["type"], "")}}
        if exists:
            r["overwrite"] = True
        results.append(r)
    ans = {"successCount": len(results), "success": not errors, "warnings": []}
    if results:
        ans["successResults"] = results
    if errors:
        ans["errors"] = errors
    return ans


# ---- detection rules ------------------------------------------------------------

def str_list(r, key):
    v = r.get(key)
    if v is not None and (not isinstance(v, list) or any(not isinstance(x, str) for x in v)):
        raise Invalid("%s: Expected array of strings" % key)


def check_rule(r, esql):
    for key in ("name", "description"):
        if not isinstance(r.get(key), str) or not r[key]:
            raise Invalid("%s: Required" % key)
    rs = r.get("risk_score")
    if not isinstance(rs, int) or isinstance(rs, bool) or not 0 <= rs <= 100:
        raise Invalid("risk_score: Number must be between 0 and 100")
    if r.get("severity") not in SEVERITIES:
        raise Invalid("severity: Invalid enum value. Expected 'low' | 'medium' | 'high' | 'critical'")
    types = [t for t in RULE_TYPES if esql or t != "esql"]
    t = r.get("type")
    if t not in types:
        raise Invalid("type: Invalid enum value. Expected %s, received %r"
                      % (" | ".join("'%s'" % x for x in types), t))
    q = r.get("query")
    if t in ("query", "saved_query", "eql", "esql", "threshold", "new_terms", "threat_match"):
        if t != "saved_query" and (not isinstance(q, str) or not q.strip()):
            raise Invalid("query: Required")
    lang = r.get("language")
    if t in ("query", "saved_query", "threshold", "new_terms", "threat_match") and lang not in ("kuery", "lucene"):
        raise Invalid("language: Invalid enum value. Expected 'kuery' | 'lucene'")
    if t == "eql" and lang != "eql":
        raise Invalid("language: Invalid literal value, expected \"eql\"")
    if t == "esql":
        if lang != "esql":
            raise Invalid("language: Invalid literal value, expected \"esql\"")
        if not re.match(r"\s*from\s", q, re.I):
            raise Invalid("query: an ES|QL query starts with FROM")
        if "index" in r:
            raise Invalid("index: an ES|QL rule reads the indices of its FROM, not index")
    elif t != "machine_learning":
        idx = r.get("index")
        if not r.get("data_view_id") and (not isinstance(idx, list) or not idx
                                          or any(not isinstance(x, str) or not x for x in idx)):
            raise Invalid("index: Required (a non-empty array of index patterns, or data_view_id)")
    if t == "threshold":
        th = r.get("threshold")
        if not isinstance(th, dict) or "field" not in th or not isinstance(th.get("value"), int):
            raise Invalid("threshold: Required")
    if "interval" in r and not re.fullmatch(r"[1-9][0-9]*[smhd]", str(r["interval"])):
        raise Invalid("interval: Invalid (e.g. 5m)")
    if "from" in r and not re.fullmatch(r"now-[1-9][0-9]*[smhd]", str(r["from"])):
        raise Invalid("from: Failed to parse date-math expression")
    for key in ("version", "max_signals"):
        if key in r and (not isinstance(r[key], int) or isinstance(r[key], bool) or r[key] < 1):
            raise Invalid("%s: Number must be greater than or equal to 1" % key)
    for key in ("tags", "references", "author", "false_positives"):
        str_list(r, key)
    if "enabled" in r and not isinstance(r["enabled"], bool):
        raise Invalid("enabled: Expected boolean")
    for m in r.get("severity_mapping") or []:
        if not isinstance(m, dict) or not isinstance(m.get("field"), str) or m.get("operator") != "equals" \
                or not isinstance(m.get("value"), str) or m.get("severity") not in SEVERITIES:
            raise Invalid("severity_mapping: expected {field, operator: equals, value, severity}")
    for m in r.get("risk_score_mapping") or []:
        if not isinstance(m, dict) or not isinstance(m.get("field"), str) or m.get("operator") != "equals" \
                or not isinstance(m.get("value"), str):
            raise Invalid("risk_score_mapping: expected {field, operator: equals, value}")


def import_rules(st, space, rules, overwrite):
    store = st.rules.setdefault(space, {})
    errors, seen, count = [], set(), 0
    for r in rules:
        rid = r.get("rule_id")
        if not isinstance(rid, str) or not rid:
            errors.append({"id": "(unknown id)", "error": {"status_code": 400, "message": "rule_id: Required"}})
            continue
        if rid in seen:
            errors.append({"rule_id": rid, "error": {"status_code": 400,
                                                     "message": "More than one rule with rule-id: \"%s\" found" % rid}})
            continue
        seen.add(rid)
        try:
            check_rule(r, st.esql)
        except Invalid as e:
            errors.append({"rule_id": rid, "error": {"status_code": 400, "message": str(e)}})
            continue
        if rid in store and not overwrite:
            errors.append({"rule_id": rid, "error": {"status_code": 409,
                                                     "message": "rule_id: \"%s\" already exists" % rid}})
            continue
        store[rid] = r
        count += 1
    return {"success": not errors, "success_count": count, "rules_count": len(rules), "errors": errors,
            "exceptions_errors": [], "exceptions_success": True, "exceptions_success_count": 0,
            "action_connectors_success": True, "action_connectors_success_count": 0,
            "action_connectors_errors": [], "action_connectors_warnings": []}


# ---- multipart ---------------------------------------------------------------

def parse_multipart(ctype, body):
    """The parts of a multipart/form-data body: [(headers dict, data)].
    Raises ValueError when the body is not well formed."""
    m = re.search(r'boundary=("?)([^";]+)\1', ctype)
    if not m:
        raise ValueError("no boundary")
    delim = b"--" + m.group(2).encode()
    if not body.startswith(delim + b"\r\n"):
        raise ValueError("the body does not start with the boundary")
    parts = []
    pos = len(delim) + 2
    while True:
        end = body.find(b"\r\n" + delim, pos)
        if end < 0:
            raise ValueError("a part is not closed by the boundary")
        chunk = body[pos:end]
        hdr_end = chunk.find(b"\r\n\r\n")
        if hdr_end < 0:
            raise ValueError("a part has no header end")
        headers = {}
        for line in chunk[:hdr_end].split(b"\r\n"):
            k, sep, v = line.decode("latin-1").partition(":")
            if not sep:
                raise ValueError("a malformed part header")
            headers[k.strip().lower()] = v.strip()
        parts.append((headers, chunk[hdr_end + 4:]))
        pos = end + 2 + len(delim)
        if body[pos:pos + 2] == b"--":
            return parts
        if body[pos:pos + 2] != b"\r\n":
            raise ValueError("garbage after a boundary")
        pos += 2


def disposition(h):
    d = h.get("content-disposition", "")
    out = {}
    for m in re.finditer(r';\s*([a-z]+)="([^"]*)"', d):
        out[m.group(1)] = m.group(2)
    return d.split(";")[0].strip(), out


# ---- the server ----------------------------------------------------------------

class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.users = dict(u.split(":", 1) for u in args.users.split(",")) if args.users else {}
        self.api_keys = dict(k.split(":", 1) for k in args.api_keys.split(",")) if args.api_keys else {}
        self.read_only = set(args.read_only.split(",")) if args.read_only else set()
        self.spaces = {"default"} | (set(args.spaces.split(",")) if args.spaces else set())
        without = set(args.without_types.split(",")) if args.without_types else set()
        self.types = {k: v for k, v in KNOWN_TYPES.items() if k not in without}
        self.esql = not args.no_esql
        self.reset()
        self.mode = args.mode

    def reset(self):
        self.objects = {}
        self.rules = {}
        self.requests = []
        self.mode = "ok"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kibana_server"

    def log_message(self, fmt, *args):
        if not self.server.state.args.quiet:
            sys.stderr.write("kibana_server: " + (fmt % args) + "\n")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline(65537)
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(n) if n > 0 else b""

    def send_raw(self, status, data, ctype="application/json", length=None, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        if length is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        return status

    def send_json(self, status, obj, extra=None):
        return self.send_raw(status, json.dumps(obj, separators=(",", ":")).encode(), extra=extra)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def authenticate(self, st):
        """(allowed, user name): allowed without authentication set up; the
        name serves the 403 check and the 401 message."""
        if not (st.users or st.api_keys):
            return True, None
        scheme, _, cred = self.headers.get("Authorization", "").partition(" ")
        try:
            if scheme == "Basic":
                name, _, pw = base64.b64decode(cred, validate=True).decode().partition(":")
                if name in st.users and st.users[name] == pw:
                    return True, name
                return False, name
            if scheme == "ApiKey":
                kid, _, key = base64.b64decode(cred, validate=True).decode().partition(":")
                if kid in st.api_keys and st.api_keys[kid] == key:
                    return True, kid
                return False, kid
        except (ValueError, UnicodeDecodeError):
            pass
        return False, None

    def dispatch(self, method):
        st = self.server.state
        u = urllib.parse.urlsplit(self.path)
        path, rawq = urllib.parse.unquote(u.path), u.query
        q = dict(urllib.parse.parse_qsl(rawq, keep_blank_values=True))
        body = self.read_body()
        if path.startswith("/_test/"):
            return self.control(method, path, body)
        headers = {}
        for k, v in self.headers.items():
            headers[k.lower()] = v.split(" ", 1)[0] if k.lower() == "authorization" else v
        entry = {"method": method, "path": path, "query": rawq, "headers": headers,
                 "kbn_xsrf": "kbn-xsrf" in headers, "content_type": headers.get("content-type", ""),
                 "tls": self.server.tls, "time": time.time(), "space": None}
        with st.lock:
            st.requests.append(entry)
        entry["status"] = self.api(st, method, path, q, body, entry)

    def api(self, st, method, path, q, body, entry):
        base = st.args.base_path.rstrip("/")
        if base:
            if not path.startswith(base + "/"):
                return self.send_json(*kbn_error(404, "Not Found", "Not Found"))
            path = path[len(base):]
        space = "default"
        m = re.match(r"/s/([^/]+)(/.*)$", path)
        if m:
            space, path = m.group(1), m.group(2)
        entry["space"] = space
        ok, user = self.authenticate(st)
        if not ok:
            who = user or "?"
            return self.send_json(*kbn_error(401, "Unauthorized",
                                             "[security_exception\n\tRoot causes:\n\t\tsecurity_exception: unable to "
                                             "authenticate user [%s] for REST request [/_security/_authenticate]]: "
                                             "unable to authenticate user [%s] for REST request "
                                             "[/_security/_authenticate]" % (who, who)),
                                  extra={"WWW-Authenticate": 'Basic realm="kibana"'})
        routes = {"/api/saved_objects/_import": ("saved_objects", "saved_objects_management-all"),
                  "/api/detection_engine/rules/_import": ("rules", "securitySolution-rules-all")}
        if path not in routes or method != "POST":
            return self.send_json(*kbn_error(404, "Not Found", "Not Found"))
        kind, privilege = routes[path]
        if space not in st.spaces:
            return self.send_json(*kbn_error(404, "Not Found", "Saved object [space/%s] not found" % space))
        if user in st.read_only or st.mode == "403":
            return self.send_json(*kbn_error(403, "Forbidden",
                                             "API [POST %s] is unauthorized for user, this action is granted "
                                             "by the Kibana privileges [%s]" % (self.path, privilege)))
        if st.mode == "401":
            return self.send_json(*kbn_error(401, "Unauthorized", "Unauthorized"))
        if st.mode == "500":
            return self.send_json(*kbn_error(500, "Internal Server Error", "An internal server error occurred."))
        if "kbn-xsrf" not in entry["headers"]:
            return self.send_json(*kbn_error(400, "Bad Request", "Request must contain a kbn-xsrf header."))
        ctype = entry["content_type"]
        if not ctype.lower().startswith("multipart/form-data"):
            return self.send_json(*kbn_error(415, "Unsupported Media Type", "Unsupported Media Type"))
        try:
            parts = parse_multipart(ctype, body)
        except ValueError as e:
            return self.send_json(*kbn_error(400, "Bad Request", "Invalid multipart payload format: %s" % e))
        files = [(h, d) for h, d in parts if disposition(h)[1].get("name") == "file"]
        if len(files) != 1:
            return self.send_json(*kbn_error(400, "Bad Request",
                                             "[request body.file]: expected value of type [Stream] but got [undefined]"))
        h, data = files[0]
        fname = disposition(h)[1].get("filename", "")
        entry["filename"], entry["part_type"] = fname, h.get("content-type", "")
        ext = os.path.splitext(fname)[1]
        if ext != ".ndjson":
            return self.send_json(*kbn_error(400, "Bad Request", "Invalid file extension %s" % (ext or fname)))
        objs = []
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return self.send_json(*kbn_error(400, "Bad Request", "the file is not UTF-8"))
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                o = json.loads(line)
            except ValueError as e:
                return self.send_json(*kbn_error(400, "Bad Request", "Unexpected token in JSON: %s" % e))
            if not isinstance(o, dict):
                return self.send_json(*kbn_error(400, "Bad Request", "Expected an object on each line"))
            if "exportedCount" in o or "exported_count" in o:
                continue
            objs.append(o)
        entry["lines"] = len(objs)
        overwrite = q.get("overwrite") == "true"
        with st.lock:
            if kind == "saved_objects":
                for o in objs:
                    if not isinstance(o.get("type"), str) or not isinstance(o.get("id"), str):
                        return self.send_json(*kbn_error(400, "Bad Request",
                                                         "a saved object lacks its type or id"))
                ans = import_saved_objects(st, space, objs, overwrite)
            else:
                ans = import_rules(st, space, objs, overwrite)
        return self.answer(st, ans)

    def answer(self, st, ans):
        data = json.dumps(ans, separators=(",", ":")).encode()
        if st.mode == "truncated":
            return self.send_raw(200, data[: len(data) // 2], length=len(data))
        if st.mode == "cutjson":
            return self.send_raw(200, data[: len(data) // 2])
        if st.mode == "notjson":
            return self.send_raw(200, b"<html><head><title>Kibana</title></head>\n<body>Kibana server is not "
                                      b"ready yet</body></html>", ctype="text/html")
        if st.mode == "empty":
            return self.send_raw(200, b"")
        return self.send_raw(200, data)

    def control(self, method, path, body):
        st = self.server.state
        with st.lock:
            if method == "POST" and path == "/_test/mode":
                st.mode = json.loads(body or b"{}").get("mode", "ok")
                return self.send_json(200, {"mode": st.mode})
            if method == "POST" and path == "/_test/reset":
                st.reset()
                return self.send_json(200, {"acknowledged": True})
            if method == "GET" and path == "/_test/requests":
                return self.send_json(200, st.requests)
            if method == "GET" and path == "/_test/objects":
                return self.send_json(200, st.objects)
            if method == "GET" and path == "/_test/rules":
                return self.send_json(200, st.rules)
        return self.send_json(404, {"error": "no such control endpoint"})


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
    ap = argparse.ArgumentParser(description="A test Kibana server (see the module docstring).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--users", default="")
    ap.add_argument("--api-keys", default="")
    ap.add_argument("--read-only", default="")
    ap.add_argument("--spaces", default="")
    ap.add_argument("--base-path", default="")
    ap.add_argument("--without-types", default="")
    ap.add_argument("--no-esql", action="store_true")
    ap.add_argument("--mode", default="ok",
                    choices=["ok", "401", "403", "500", "truncated", "notjson", "cutjson", "empty"])
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    srv = Server((args.host, args.port), State(args), ctx)
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
