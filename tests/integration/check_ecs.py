#!/usr/bin/python3
"""Checks a Vigil NDJSON stream field by field against the ECS contract of
DESIGN.md. Standard library only (Debian's /usr/bin/python3).

usage: check_ecs.py FILE [--expect passed|failed|unknown] [--rules N]
                         [--rule-ids FILE] [--provider host]
Prints one line per problem and exits 1 if there is any.
"""
import argparse
import json
import re
import sys

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
SEVERITY = {"low": 21, "medium": 47, "high": 73, "critical": 99}
OUTCOME = {"passed": "success", "failed": "failure", "unknown": "unknown"}
FRAMEWORKS = {"cis_debian_12", "cis_aws_3.0", "soc2", "iso27001_2022",
              "nist_800_53_r5", "nist_csf_2.0", "pci_dss_4.0"}
CSF2 = re.compile(r"^(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-\d{2}$")
# "FILE:LINE: REASON (owner OWNER, expired YYYY-MM-DD)"; without the
# configuration's line, "exceptions[N]" (or "FILE: exceptions[N]") stands
# for the place
ENTRY = re.compile(r"^(.+:\d+|(.+: )?exceptions\[\d+\]): .* \(owner .*, expired \d{4}-\d{2}-\d{2}\)$")

problems = []


def problem(n, msg):
    problems.append(f"line {n}: {msg}")


def get(doc, path):
    cur = doc
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return KeyError
        cur = cur[part]
    return cur


def need(n, doc, path, typ, pattern=None, value=None):
    v = get(doc, path)
    if v is KeyError:
        problem(n, f"{path} is missing")
        return None
    if typ is not None and not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
        problem(n, f"{path} is {type(v).__name__} {v!r}, expected {typ}")
        return None
    if pattern is not None and not pattern.match(v):
        problem(n, f"{path} is {v!r}, does not match {pattern.pattern}")
    if value is not None and v != value:
        problem(n, f"{path} is {v!r}, expected {value!r}")
    return v


def common(n, d, dataset, provider):
    need(n, d, "@timestamp", str, RFC3339)
    need(n, d, "event.created", str, RFC3339)
    need(n, d, "event.dataset", str, value=dataset)
    need(n, d, "event.module", str, value="vigil")
    need(n, d, "event.sequence", int)
    need(n, d, "event.category", list, value=["configuration"])
    need(n, d, "event.type", list, value=["info"])
    need(n, d, "data_stream.type", str, value="logs")
    need(n, d, "data_stream.dataset", str, value=dataset)
    need(n, d, "data_stream.namespace", str, re.compile(r"^[a-z0-9_]+$"))
    need(n, d, "observer.vendor", str, value="Vigil")
    need(n, d, "observer.product", str, value="vigil")
    need(n, d, "observer.version", str)
    need(n, d, "agent.type", str, value="vigil")
    need(n, d, "agent.name", str)
    need(n, d, "agent.id", str, UUID)
    need(n, d, "agent.version", str)
    need(n, d, "ecs.version", str, value="8.17.0")
    need(n, d, "vigil.scan.id", str, UUID)
    need(n, d, "vigil.scan.started", str, RFC3339)
    need(n, d, "message", str)
    if provider == "host":
        need(n, d, "host.name", str)
        need(n, d, "host.os.type", str, value="linux")
        if "cloud" in d:
            problem(n, "cloud.* present on a host finding")


def check_finding(n, d, args):
    common(n, d, "vigil.findings", args.provider)
    need(n, d, "event.kind", str, value="state")
    ev = need(n, d, "result.evaluation", str)
    if ev not in OUTCOME:
        problem(n, f"result.evaluation {ev!r} not passed/failed/unknown")
    else:
        need(n, d, "event.outcome", str, value=OUTCOME[ev])
    if args.expect and ev != args.expect:
        problem(n, f"{get(d, 'rule.id')} on {get(d, 'resource.id')}: {ev}, expected "
                   f"{args.expect} ({get(d, 'result.reason')})")
    need(n, d, "event.id", str, HEX32)
    sev = need(n, d, "vigil.severity", str)
    if sev in SEVERITY:
        need(n, d, "event.severity", int, value=SEVERITY[sev])
    else:
        problem(n, f"vigil.severity {sev!r}")
    rid = need(n, d, "rule.id", str, re.compile(r"^[a-z0-9_.-]+$"))
    need(n, d, "rule.uuid", str, UUID)
    for f in ("name", "description", "rationale", "remediation", "section", "version"):
        need(n, d, "rule." + f, str)
    need(n, d, "rule.tags", list)
    need(n, d, "rule.benchmark.id", str)
    need(n, d, "rule.benchmark.name", str)
    need(n, d, "rule.benchmark.version", str)
    need(n, d, "result.evidence", dict)
    if ev in ("failed", "unknown"):
        r = need(n, d, "result.reason", str)
        if r is not None and (not r or "\n" in r):
            problem(n, f"result.reason must be one non-empty line: {r!r}")
    need(n, d, "resource.id", str)
    need(n, d, "resource.name", str)
    need(n, d, "resource.type", str)
    need(n, d, "resource.sub_type", str)
    need(n, d, "vigil.muted", bool)
    # issue 7: both or neither; regression means passed before, failed now
    vg = d.get("vigil", {})
    if ("previous_evaluation" in vg) != ("regression" in vg):
        problem(n, "vigil.previous_evaluation and vigil.regression must come together")
    elif "previous_evaluation" in vg:
        pe = need(n, d, "vigil.previous_evaluation", str)
        if pe not in OUTCOME:
            problem(n, f"vigil.previous_evaluation {pe!r} not passed/failed/unknown")
        need(n, d, "vigil.regression", bool, value=(pe == "passed" and ev == "failed"))
    comp = need(n, d, "vigil.compliance", dict)
    if comp:
        for fw, ids in comp.items():
            if fw not in FRAMEWORKS:
                problem(n, f"vigil.compliance.{fw}: unknown framework")
            if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
                problem(n, f"vigil.compliance.{fw}: expected a non-empty list of strings")
            if fw == "nist_csf_2.0":
                for i in ids:
                    if not CSF2.match(i):
                        problem(n, f"{rid}: {i!r} is not a NIST CSF 2.0 subcategory id")
    # no password hash may ever reach a finding
    text = json.dumps(d)
    if re.search(r"\$(1|2[aby]?|5|6|y|gy|7)\$[^\"]{8,}", text):
        problem(n, f"{rid}: something like a password hash is in the finding")
    return rid, get(d, "resource.id"), ev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--expect", choices=list(OUTCOME))
    ap.add_argument("--rule-ids", help="file with the rule ids that must each appear")
    ap.add_argument("--provider", default="host")
    args = ap.parse_args()

    findings, summaries = [], []
    with open(args.file, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                d = json.loads(line)
            except ValueError as e:
                problem(n, f"not JSON: {e}")
                continue
            ds = get(d, "event.dataset")
            if ds == "vigil.findings":
                findings.append(check_finding(n, d, args))
            elif ds == "vigil.scan":
                common(n, d, "vigil.scan", args.provider)
                need(n, d, "event.kind", str, value="event")
                need(n, d, "event.id", str, HEX32)
                need(n, d, "event.duration", int)
                for k in ("passed", "failed", "unknown", "total"):
                    need(n, d, "vigil.scan.findings." + k, int)
                expired = need(n, d, "vigil.scan.exceptions.expired", int)
                entries = get(d, "vigil.scan.exceptions.expired_entries")
                if entries is KeyError:
                    if expired:
                        problem(n, f"{expired} expired exceptions but no expired_entries")
                elif (not isinstance(entries, list) or not entries
                      or not all(isinstance(e, str) and ENTRY.match(e) for e in entries)
                      or len(entries) != expired):
                    problem(n, f"vigil.scan.exceptions.expired_entries {entries!r} "
                               f"(expired {expired!r})")
                iv = get(d, "vigil.scan.interval_s")
                if iv is not KeyError and (not isinstance(iv, int) or isinstance(iv, bool)
                                           or iv <= 0):
                    problem(n, f"vigil.scan.interval_s {iv!r}: a positive number of seconds")
                summaries.append(d)
            else:
                problem(n, f"unexpected event.dataset {ds!r}")
    if len(summaries) != 1:
        problems.append(f"expected exactly one scan summary, found {len(summaries)}")
    else:
        s = summaries[0]["vigil"]["scan"]["findings"]
        counts = {k: sum(1 for f in findings if f[2] == k) for k in OUTCOME}
        for k in OUTCOME:
            if s.get(k) != counts[k]:
                problems.append(f"summary says {s.get(k)} {k}, stream has {counts[k]}")
    pairs = [(r, res) for r, res, _ in findings]
    if len(pairs) != len(set(pairs)):
        problems.append("a (rule, resource) pair appears twice")
    if args.rule_ids:
        want = {l.strip() for l in open(args.rule_ids) if l.strip()}
        seen = {r for r, _, _ in findings}
        for r in sorted(want - seen):
            problems.append(f"rule {r} produced no finding")
    for p in problems:
        print(p)
    print(f"check_ecs: {len(findings)} findings, {len(summaries)} summary, "
          f"{len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
