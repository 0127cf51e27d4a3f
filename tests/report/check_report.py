#!/usr/bin/python3
"""An independent oracle for `vigil report --format json`: recounts the
findings of NDJSON results files and compares the report's numbers.

    tests/report/check_report.py REPORT.json FRAMEWORKS_DIR RESULTS.ndjson...

Counting rules (agent/report.h): a finding counts once per control it maps
to and once per framework; a muted one counts as muted whatever its
evaluation; score = passed / (passed + failed), one decimal, null when 0;
a control's status is failed > unknown > passed > muted."""
import json
import math
import os
import re
import sys


def load_catalogue(path):
    """The controls of a catalogue file, in order (id, title) - a tiny
    reader for the shipped format, enough for ids."""
    ids = []
    fid = None
    for line in open(path, encoding="utf-8"):
        m = re.match(r'^id:\s*"?([^"\s]+)"?\s*$', line)
        if m:
            fid = m.group(1)
        m = re.match(r'^\s+- id:\s*"?([^"]+?)"?\s*$', line) or \
            re.match(r'^\s+- \{id:\s*"?([^",]+)"?,', line)
        if m:
            ids.append(m.group(1))
    return fid, ids


def main():
    report = json.load(open(sys.argv[1], encoding="utf-8"))
    fwdir = sys.argv[2]
    findings = []
    for p in sys.argv[3:]:
        for line in open(p, encoding="utf-8"):
            d = json.loads(line)
            if d.get("event", {}).get("dataset") != "vigil.findings":
                continue
            findings.append(d)
    errors = []
    for fw in report["frameworks"]:
        fid, ids = load_catalogue(os.path.join(fwdir, fw["id"] + ".yml"))
        assert fid == fw["id"], (fid, fw["id"])
        counts = {"passed": 0, "failed": 0, "unknown": 0, "muted": 0}
        per = {}
        for d in findings:
            ctl = d["vigil"].get("compliance", {}).get(fid, [])
            if not ctl:
                continue
            e = "muted" if d["vigil"].get("muted") else d["result"]["evaluation"]
            counts[e] += 1
            for c in dict.fromkeys(ctl):
                per.setdefault(c, {"passed": 0, "failed": 0, "unknown": 0, "muted": 0})[e] += 1
        if counts != fw["counts"]:
            errors.append("%s counts %s, expected %s" % (fid, fw["counts"], counts))
        scored = counts["passed"] + counts["failed"]
        score = None
        if scored:
            score = math.floor(100.0 * counts["passed"] / scored * 10.0 + 0.5) / 10.0
        if fw["score"] != score:
            errors.append("%s score %s, expected %s" % (fid, fw["score"], score))
        got = {c["id"]: c for c in fw["controls"]}
        want_ids = [i for i in ids if i in per] + [i for i in per if i not in ids]
        if [c["id"] for c in fw["controls"]] != want_ids:
            errors.append("%s covered controls %s, expected %s"
                          % (fid, [c["id"] for c in fw["controls"]], want_ids))
        for cid, cnt in per.items():
            c = got.get(cid)
            if not c:
                continue
            for k in cnt:
                if c[k] != cnt[k]:
                    errors.append("%s %s %s=%s, expected %s" % (fid, cid, k, c[k], cnt[k]))
            st = ("failed" if cnt["failed"] else "unknown" if cnt["unknown"]
                  else "passed" if cnt["passed"] else "muted")
            if c["status"] != st:
                errors.append("%s %s status %s, expected %s" % (fid, cid, c["status"], st))
            nfail = min(cnt["failed"], 10)
            if len(c["failing"]) != nfail or c["failing_more"] != cnt["failed"] - nfail:
                errors.append("%s %s failing list %d+%d, expected %d"
                              % (fid, cid, len(c["failing"]), c["failing_more"], cnt["failed"]))
        unc = [u["id"] for u in fw["uncovered"]]
        if unc != [i for i in ids if i not in per]:
            errors.append("%s uncovered list differs" % fid)
        cov = fw["coverage"]
        if cov["controls"] != len(ids) or cov["covered"] != len([i for i in ids if i in per]):
            errors.append("%s coverage %s" % (fid, cov))
    for e in errors:
        print("check_report: " + e)
    if errors:
        sys.exit(1)
    print("check_report: %d frameworks agree with %d findings"
          % (len(report["frameworks"]), len(findings)))


main()
