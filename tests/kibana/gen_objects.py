#!/usr/bin/python3
"""Writes packaging/kibana/vigil-dashboards.ndjson and
packaging/kibana/vigil-detection-rules.ndjson.

The NDJSON files are what Kibana imports (and what `vigil setup --kibana`
embeds, through tests/kibana/gen_assets.py); this script is where they are
written from, because Lens keeps its state denormalised (a formula is
stored with its helper columns and a math tree that must agree with the
formula text) and a hand edit easily leaves a visualization Kibana cannot
render. Change this script, then run:

    /usr/bin/python3 tests/kibana/gen_objects.py
    /usr/bin/python3 tests/kibana/gen_assets.py

`gen_objects.py --check` exits 1 when the files differ from what it would
write (test_kibana runs it).

Format: Kibana 8.11+ saved object export (one object per line, keys
sorted, coreMigrationVersion 8.8.0 and the typeMigrationVersion of each
type's last migration before model versions: index-pattern 8.0.0, lens
8.9.0, dashboard 8.9.0; a Kibana refuses a version newer than it knows,
and migrates from an older one), without the trailing export summary
line; detection rules in the detection engine's import format, one rule
per line.

Fields: only fields of Vigil's documents that packaging/elasticsearch maps
(test_kibana checks every field named here against the mapping). The
scan summary's vigil.scan.frameworks is a flattened field (its leaves are
keywords, which cannot be summed), so the scan data view defines long
runtime fields vigil.scan.posture.<framework>.passed|failed read from
_source, and the posture formulas sum those.
"""
import json
import os
import sys
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "packaging", "kibana")
NS = uuid.UUID("5b0f6c8e-3d4a-5e1f-9a7b-2c8d0e4f6a1b")   # Vigil's namespace for panel ids

CORE = "8.8.0"
PANEL_VERSION = "8.11.0"
FINDINGS_DV = "vigil-findings"
SCAN_DV = "vigil-scan"
DASHBOARD_ID = "vigil-compliance-posture"

# checks/rule.c's vg_frameworks, with the names shown in the legend
FRAMEWORKS = [
    ("cis_debian_12", "CIS Debian 12"),
    ("cis_aws_3.0", "CIS AWS 3.0"),
    ("soc2", "SOC 2"),
    ("iso27001_2022", "ISO 27001:2022"),
    ("nist_800_53_r5", "NIST 800-53 r5"),
    ("nist_csf_2.0", "NIST CSF 2.0"),
    ("pci_dss_4.0", "PCI DSS 4.0"),
]

FAILED = 'result.evaluation : "failed" and not vigil.muted : true'


def uid(*parts):
    return str(uuid.uuid5(NS, "/".join(parts)))


def posture_field(fw, what):
    # Lens formulas take dotted names, but "3.0" would read as a number
    return "vigil.scan.posture.%s.%s" % (fw.replace(".", "_"), what)


def runtime_script(fw, what):
    # params['_source'] is the document as Vigil sent it: vigil.scan.frameworks.<fw> holds
    # {passed, failed, unknown} as numbers (absent when the scan had no finding of <fw>)
    return ("def v = params['_source']['vigil']; "
            "if (v instanceof Map && v['scan'] instanceof Map && v['scan']['frameworks'] instanceof Map) { "
            "def f = v['scan']['frameworks']['%s']; "
            "if (f instanceof Map && f['%s'] instanceof Number) { emit(((Number) f['%s']).longValue()); } }"
            % (fw, what, what))


def data_view(oid, title, name, runtime):
    return {
        "attributes": {
            "fieldAttrs": "{}",
            "fieldFormatMap": "{}",
            "fields": "[]",
            "name": name,
            "runtimeFieldMap": json.dumps(runtime, separators=(",", ":")),
            "sourceFilters": "[]",
            "timeFieldName": "@timestamp",
            "title": title,
        },
        "coreMigrationVersion": CORE,
        "id": oid,
        "managed": False,
        "references": [],
        "type": "index-pattern",
        "typeMigrationVersion": "8.0.0",
    }


# ---- Lens columns -----------------------------------------------------------

def col_date(field="@timestamp"):
    return {"dataType": "date", "isBucketed": True, "label": field, "operationType": "date_histogram",
            "params": {"dropPartials": False, "includeEmptyRows": True, "interval": "auto"},
            "scale": "interval", "sourceField": field}


def col_terms(field, label, size, order_by, other=False):
    return {"customLabel": True, "dataType": "string", "isBucketed": True, "label": label,
            "operationType": "terms",
            "params": {"missingBucket": False, "orderBy": {"columnId": order_by, "type": "column"},
                       "orderDirection": "desc", "otherBucket": other, "parentFormat": {"id": "terms"},
                       "size": size},
            "scale": "ordinal", "sourceField": field}


def col_count(label):
    return {"customLabel": True, "dataType": "number", "isBucketed": False, "label": label,
            "operationType": "count", "params": {"emptyAsNull": False}, "scale": "ratio",
            "sourceField": "___records___"}


def col_unique(field, label):
    return {"customLabel": True, "dataType": "number", "isBucketed": False, "label": label,
            "operationType": "unique_count", "params": {"emptyAsNull": False}, "scale": "ratio",
            "sourceField": field}


def col_max_date(field, label):
    return {"customLabel": True, "dataType": "date", "isBucketed": False, "label": label,
            "operationType": "max", "params": {"emptyAsNull": True}, "scale": "ratio",
            "sourceField": field}


def col_last_value(field, label):
    return {"customLabel": True, "dataType": "string", "filter": {"language": "kuery", "query": field + ": *"},
            "isBucketed": False, "label": label, "operationType": "last_value",
            "params": {"showArrayValues": True, "sortField": "@timestamp"}, "scale": "ordinal",
            "sourceField": field}


def posture_formula(cid, fw, label):
    """The posture of one framework: sum(passed) / (sum(passed) + sum(failed)), as Lens
    stores a formula: the formula column, one column per aggregation (X0..X2, in the order
    they appear in the text) and the math column (X3) whose tree refers to them."""
    p, f = posture_field(fw, "passed"), posture_field(fw, "failed")
    a, b = "sum(%s)" % p, "sum(%s)" % f
    text = "%s / (%s + %s)" % (a, a, b)
    x0, x1, x2, x3 = ("%sX%d" % (cid, i) for i in range(4))
    inner_start = len(a) + 4                      # after "a / ("
    inner_text = "%s + %s" % (a, b)
    inner = {"args": [x1, x2], "location": {"max": inner_start + len(inner_text), "min": inner_start},
             "name": "add", "text": inner_text, "type": "function"}
    root = {"args": [x0, inner], "location": {"max": len(text), "min": 0}, "name": "divide",
            "text": text, "type": "function"}
    part = "Part of " + label
    cols = {
        cid: {"customLabel": True, "dataType": "number", "isBucketed": False, "label": label,
              "operationType": "formula",
              "params": {"format": {"id": "percent", "params": {"decimals": 0}}, "formula": text,
                         "isFormulaBroken": False},
              "references": [x3], "scale": "ratio"},
        x0: {"customLabel": True, "dataType": "number", "isBucketed": False, "label": part,
             "operationType": "sum", "params": {"emptyAsNull": False}, "scale": "ratio", "sourceField": p},
        x1: {"customLabel": True, "dataType": "number", "isBucketed": False, "label": part,
             "operationType": "sum", "params": {"emptyAsNull": False}, "scale": "ratio", "sourceField": p},
        x2: {"customLabel": True, "dataType": "number", "isBucketed": False, "label": part,
             "operationType": "sum", "params": {"emptyAsNull": False}, "scale": "ratio", "sourceField": f},
        x3: {"customLabel": True, "dataType": "number", "isBucketed": False, "label": part,
             "operationType": "math", "params": {"tinymathAst": root}, "references": [x0, x1, x2],
             "scale": "ratio"},
    }
    return cols, [cid, x0, x1, x2, x3]


# ---- Lens visualizations ----------------------------------------------------

AXES = {"x": True, "yLeft": True, "yRight": True}


def xy_state(layer, series, x, accessors, split=None, y_extent=None, legend="right"):
    lay = {"accessors": accessors, "layerId": layer, "layerType": "data", "seriesType": series,
           "xAccessor": x}
    if split:
        lay["splitAccessor"] = split
    vis = {"axisTitlesVisibilitySettings": dict(AXES, x=False), "fittingFunction": "Linear",
           "gridlinesVisibilitySettings": AXES, "labelsOrientation": {"x": 0, "yLeft": 0, "yRight": 0},
           "layers": [lay], "legend": {"isVisible": True, "position": legend},
           "preferredSeriesType": series, "tickLabelsVisibilitySettings": AXES, "valueLabels": "hide",
           "yLeftExtent": y_extent or {"mode": "full"}, "yRightExtent": {"mode": "full"}}
    return vis


def lens(oid, title, description, dv, layer, columns, order, vis_type, vis, query=""):
    state = {
        "adHocDataViews": {},
        "datasourceStates": {"formBased": {"layers": {layer: {
            "columnOrder": order, "columns": columns, "incompleteColumns": {}, "sampling": 1}}}},
        "filters": [],
        "internalReferences": [],
        "query": {"language": "kuery", "query": query},
        "visualization": vis,
    }
    return {
        "attributes": {"description": description, "state": state, "title": title,
                       "visualizationType": vis_type},
        "coreMigrationVersion": CORE,
        "id": oid,
        "managed": False,
        "references": [{"id": dv, "name": "indexpattern-datasource-layer-" + layer,
                        "type": "index-pattern"}],
        "type": "lens",
        "typeMigrationVersion": "8.9.0",
    }


def lens_posture():
    layer = uid("posture", "layer")
    date = uid("posture", "date")
    columns, order, accessors = {date: col_date()}, [date], []
    for fw, name in FRAMEWORKS:
        cid = uid("posture", fw)
        cols, ids = posture_formula(cid, fw, name)
        columns.update(cols)
        order += ids
        accessors.append(cid)
    vis = xy_state(layer, "line", date, accessors,
                   y_extent={"mode": "custom", "lowerBound": 0, "upperBound": 1})
    return lens("vigil-posture-by-framework", "Posture score by framework",
                "Share of passed findings among passed and failed, per framework and time bucket, "
                "from the scan summaries (vigil.scan.frameworks.*).",
                SCAN_DV, layer, columns, order, "lnsXY", vis)


def lens_by_severity():
    layer, date, sev, cnt = (uid("severity", x) for x in ("layer", "date", "sev", "count"))
    columns = {date: col_date(), sev: col_terms("vigil.severity", "Severity", 4, cnt),
               cnt: col_count("Failed findings")}
    vis = xy_state(layer, "bar_stacked", date, [cnt], split=sev)
    return lens("vigil-failed-by-severity", "Failed findings by severity",
                "Failed, unmuted findings per time bucket, by vigil.severity.",
                FINDINGS_DV, layer, columns, [sev, date, cnt], "lnsXY", vis, FAILED)


def lens_by_rule():
    layer, rule, res = (uid("rule", x) for x in ("layer", "rule", "res"))
    columns = {rule: col_terms("rule.name", "Rule", 20, res),
               res: col_unique("resource.id", "Failing resources")}
    vis = xy_state(layer, "bar_horizontal", rule, [res], legend="right")
    vis["legend"]["isVisible"] = False
    return lens("vigil-failed-by-rule", "Failed findings by rule",
                "The 20 rules that fail on the most resources (distinct resource.id).",
                FINDINGS_DV, layer, columns, [rule, res], "lnsXY", vis, FAILED)


def lens_resources():
    layer, rid, rname, rules = (uid("resources", x) for x in ("layer", "id", "name", "rules"))
    columns = {rid: col_terms("resource.id", "Resource", 20, rules),
               rname: col_terms("resource.name", "Name", 1, rules),
               rules: col_unique("rule.id", "Failed rules")}
    vis = {"columns": [{"columnId": rid, "isTransposed": False}, {"columnId": rname, "isTransposed": False},
                       {"columnId": rules, "isTransposed": False}],
           "layerId": layer, "layerType": "data", "rowHeight": "single",
           "sorting": {"columnId": rules, "direction": "desc"}}
    return lens("vigil-top-failing-resources", "Top failing resources",
                "The 20 resources with the most distinct failed rules.",
                FINDINGS_DV, layer, columns, [rid, rname, rules], "lnsDatatable", vis, FAILED)


def lens_accounts():
    layer, acct, res = (uid("accounts", x) for x in ("layer", "acct", "res"))
    columns = {acct: col_terms("cloud.account.id", "Account", 20, res),
               res: col_unique("resource.id", "Failing resources")}
    vis = xy_state(layer, "bar_horizontal", acct, [res])
    vis["legend"]["isVisible"] = False
    return lens("vigil-failed-by-account", "Failing resources by cloud account",
                "Distinct failing resources per cloud.account.id.",
                FINDINGS_DV, layer, columns, [acct, res], "lnsXY", vis,
                FAILED + " and cloud.account.id : *")


def lens_hosts():
    layer, host, rules = (uid("hosts", x) for x in ("layer", "host", "rules"))
    columns = {host: col_terms("host.name", "Host", 20, rules),
               rules: col_unique("rule.id", "Failed rules")}
    vis = xy_state(layer, "bar_horizontal", host, [rules])
    vis["legend"]["isVisible"] = False
    return lens("vigil-failed-by-host", "Failed rules by host",
                "Distinct failed rules per host.name.",
                FINDINGS_DV, layer, columns, [host, rules], "lnsXY", vis,
                FAILED + " and host.name : *")


def lens_regressions():
    layer, rid, rule, sev, when = (uid("regressions", x) for x in ("layer", "res", "rule", "sev", "when"))
    columns = {rid: col_terms("resource.id", "Resource", 50, when),
               rule: col_terms("rule.name", "Rule", 10, when),
               sev: col_last_value("vigil.severity", "Severity"),
               when: col_max_date("@timestamp", "Regressed at")}
    vis = {"columns": [{"columnId": c, "isTransposed": False} for c in (when, rid, rule, sev)],
           "layerId": layer, "layerType": "data", "rowHeight": "single",
           "sorting": {"columnId": when, "direction": "desc"}}
    return lens("vigil-recent-regressions", "Recently regressed findings",
                "Findings that failed after passing in the previous scan of the same target "
                "(vigil.regression: true), latest first.",
                FINDINGS_DV, layer, columns, [rid, rule, sev, when], "lnsDatatable", vis,
                "vigil.regression : true")


def dashboard(panels):
    pj, refs = [], []
    for key, obj, x, y, w, h in panels:
        pj.append({"embeddableConfig": {"enhancements": {}}, "gridData": {"h": h, "i": key, "w": w, "x": x, "y": y},
                   "panelIndex": key, "panelRefName": "panel_" + key, "type": "lens",
                   "version": PANEL_VERSION})
        refs.append({"id": obj["id"], "name": "%s:panel_%s" % (key, key), "type": "lens"})
    return {
        "attributes": {
            "description": "Vigil findings and scan summaries: posture per framework, failures by "
                           "severity, rule, resource, account and host, and recent regressions.",
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
                {"filter": [], "query": {"language": "kuery", "query": ""}}, separators=(",", ":"))},
            "optionsJSON": json.dumps({"hidePanelTitles": False, "syncColors": False, "syncCursor": True,
                                       "syncTooltips": False, "useMargins": True}, separators=(",", ":")),
            "panelsJSON": json.dumps(pj, separators=(",", ":"), sort_keys=True),
            "refreshInterval": {"pause": True, "value": 60000},
            "timeFrom": "now-30d",
            "timeRestore": True,
            "timeTo": "now",
            "title": "Vigil compliance posture",
        },
        "coreMigrationVersion": CORE,
        "id": DASHBOARD_ID,
        "managed": False,
        "references": refs,
        "type": "dashboard",
        "typeMigrationVersion": "8.9.0",
    }


def saved_objects():
    runtime = {}
    for fw, _ in FRAMEWORKS:
        for what in ("passed", "failed"):
            runtime[posture_field(fw, what)] = {"type": "long", "script": {"source": runtime_script(fw, what)}}
    views = [data_view(FINDINGS_DV, "logs-vigil.findings-*", "Vigil findings", {}),
             data_view(SCAN_DV, "logs-vigil.scan-*", "Vigil scan summaries", runtime)]
    posture, sev, rule, res, acct, host, reg = (lens_posture(), lens_by_severity(), lens_by_rule(),
                                                lens_resources(), lens_accounts(), lens_hosts(),
                                                lens_regressions())
    panels = [("posture", posture, 0, 0, 48, 15),
              ("severity", sev, 0, 15, 24, 15), ("rule", rule, 24, 15, 24, 15),
              ("resources", res, 0, 30, 24, 15), ("accounts", acct, 24, 30, 12, 15),
              ("hosts", host, 36, 30, 12, 15), ("regressions", reg, 0, 45, 48, 15)]
    return views + [posture, sev, rule, res, acct, host, reg, dashboard(panels)]


# ---- detection rules ----------------------------------------------------------

RULE_COMMON = {
    "author": ["Vigil"],
    "enabled": False,
    "exceptions_list": [],
    "false_positives": [],
    "license": "Apache-2.0",
    "max_signals": 100,
    "threat": [],
    "to": "now",
    "version": 1,
}

# alert severity and risk follow the finding (event.severity: 21/47/73/99 is the rule scale)
FINDING_MAPPINGS = {
    "risk_score_mapping": [{"field": "event.severity", "operator": "equals", "value": ""}],
    "severity_mapping": [{"field": "vigil.severity", "operator": "equals", "severity": s, "value": s}
                         for s in ("low", "medium", "high", "critical")],
}


def rule(**kw):
    r = dict(RULE_COMMON)
    r.update(kw)
    return r


def detection_rules():
    return [
        rule(rule_id="vigil-finding-failed-critical-high",
             name="Vigil: critical or high compliance check failed",
             description="A Vigil check of critical or high severity failed on a resource, and it was "
                         "not already failing in the previous scan of the same target (a new resource, "
                         "a first scan, or a regression), so a failure that persists alerts once. "
                         "Muted findings (an active exception) are left out.",
             type="query", language="kuery",
             index=["logs-vigil.findings-*"],
             query='event.dataset : "vigil.findings" and result.evaluation : "failed" and '
                   'vigil.severity : ("critical" or "high") and not vigil.muted : true and '
                   'not vigil.previous_evaluation : "failed"',
             risk_score=73, severity="high", interval="5m", from_="now-10m",
             timestamp_override="event.ingested",
             tags=["Vigil", "Compliance", "Misconfiguration"],
             references=["https://www.cisecurity.org/cis-benchmarks"],
             note="Open the finding: `rule.remediation` says how to fix it, `result.reason` why it "
                  "failed and `result.evidence` what was read. An accepted risk belongs in Vigil's "
                  "`exceptions:` (with an owner and an expiry), which mutes the finding.",
             **FINDING_MAPPINGS),
        rule(rule_id="vigil-finding-regressed",
             name="Vigil: compliance check regressed",
             description="A Vigil check that passed in the previous scan of the same target now "
                         "fails on the same resource (vigil.regression: true): a configuration "
                         "drifted out of compliance.",
             type="query", language="kuery",
             index=["logs-vigil.findings-*"],
             query='event.dataset : "vigil.findings" and vigil.regression : true and not vigil.muted : true',
             risk_score=47, severity="medium", interval="5m", from_="now-10m",
             timestamp_override="event.ingested",
             tags=["Vigil", "Compliance", "Drift"],
             references=["https://www.cisecurity.org/cis-benchmarks"],
             note="`vigil.previous_evaluation` was passed; compare `result.evidence` with the "
                  "previous scan's finding of the same `rule.id` and `resource.id` to see what changed.",
             **FINDING_MAPPINGS),
        rule(rule_id="vigil-exception-expired",
             name="Vigil: compliance exception expired",
             description="A Vigil scan found exceptions past their expiry date: the findings they "
                         "muted count as failures again until the exception is renewed or removed.",
             type="query", language="kuery",
             index=["logs-vigil.scan-*"],
             query='event.dataset : "vigil.scan" and vigil.scan.exceptions.expired > 0',
             risk_score=21, severity="low", interval="1h", from_="now-2h",
             timestamp_override="event.ingested",
             tags=["Vigil", "Compliance", "Exceptions"],
             references=[],
             note="`vigil.scan.exceptions.expired_entries` lists each one as "
                  "\"FILE:LINE: REASON (owner OWNER, expired YYYY-MM-DD)\".",
             ),
        rule(rule_id="vigil-agent-stopped-scanning",
             name="Vigil: agent stopped scanning",
             description="No scan summary from a Vigil agent for a provider and target for more than "
                         "twice the scan's configured interval (vigil.scan.interval_s, written by "
                         "`vigil run`): the agent is down, stuck or cannot ship, and the compliance "
                         "evidence has a gap. Looks back 7 days, so intervals up to 3.5 days are "
                         "covered and an agent silent for longer stops alerting.",
             type="esql", language="esql",
             query="FROM logs-vigil.scan-*\n"
                   "| WHERE event.dataset == \"vigil.scan\" AND vigil.scan.interval_s IS NOT NULL\n"
                   "| EVAL scan_target = COALESCE(host.name, cloud.account.id, \"unknown\")\n"
                   "| STATS last_scan = MAX(@timestamp), interval_s = MAX(vigil.scan.interval_s)"
                   " BY agent.id, agent.name, vigil.scan.provider, scan_target\n"
                   "| EVAL silent_s = (TO_LONG(NOW()) - TO_LONG(last_scan)) / 1000\n"
                   "| WHERE silent_s > 2 * interval_s\n"
                   "| KEEP agent.id, agent.name, vigil.scan.provider, scan_target, last_scan, interval_s, silent_s",
             risk_score=47, severity="medium", interval="15m", from_="now-7d",
             tags=["Vigil", "Compliance", "Agent health"],
             references=["https://www.elastic.co/guide/en/security/current/rules-ui-create.html"],
             note="`last_scan` is the newest summary of that agent, provider and target; "
                  "`silent_s` how long ago it was. Check the agent's log and its `/health` "
                  "endpoint (`agent.http.listen`). A target that was removed from `scans:` alerts "
                  "until its last summary is older than the 7-day look-back.",
             ),
    ]


def finish_rule(r):
    if "from_" in r:
        r["from"] = r.pop("from_")
    return r


# ---- output -------------------------------------------------------------------

def ndjson(objs):
    return "".join(json.dumps(o, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"
                   for o in objs)


def main():
    check = "--check" in sys.argv[1:]
    files = {
        "vigil-dashboards.ndjson": ndjson(saved_objects()),
        "vigil-detection-rules.ndjson": ndjson([finish_rule(r) for r in detection_rules()]),
    }
    stale = []
    for name, text in files.items():
        path = os.path.join(OUT_DIR, name)
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(name)
            except OSError:
                stale.append(name)
            continue
        os.makedirs(OUT_DIR, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    if stale:
        print("packaging/kibana: %s differ from tests/kibana/gen_objects.py; run it" % ", ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
