#!/usr/bin/env bash
# `vigil report` end to end: the gap tables of the fixed findings in
# tests/report/ (compared with the expected files), the JSON (recounted by
# an independent oracle, tests/report/check_report.py), the HTML (self-contained, and a
# screenshot in headless Chromium for a person to look at), the last-scan
# store as `vigil scan` fills it, and the error exits.
#   test_report.sh VIGIL_BINARY SOURCE_DIR
#
# The screenshots are kept (not in the temp dir) in $VG_SCREENSHOT_DIR,
# by default BUILD_DIR/report-screenshots; their paths are printed.
# Without Chromium (Debian's `chromium`), the screenshot is skipped with
# "SKIP: chromium not installed" and the rest still runs.
set -uo pipefail
vigil=$1
src=$2
py=/usr/bin/python3
work=$(mktemp -d /tmp/vigil-report-XXXXXX)
trap 'rm -rf "$work"' EXIT
shots=${VG_SCREENSHOT_DIR:-$(cd "$(dirname "$vigil")" && pwd)/report-screenshots}
failures=0
pass=0
skips=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { pass=$((pass + 1)); }
skip() { echo "SKIP: $*"; skips=$((skips + 1)); }

# expect_exit CODE DESCRIPTION -- COMMAND...: runs COMMAND, checks its exit
# code; its stdout and stderr are left in $work/stdout and $work/stderr
expect_exit() {
    local want=$1 what=$2; shift 3
    "$@" >"$work/stdout" 2>"$work/stderr"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$what: exit $got, expected $want"; sed 's/^/    /' "$work/stderr" | head -5
        return 1
    fi
    ok
}

export VIGIL_RULES_DIR="$src/checks/rules"
export VIGIL_FRAMEWORKS_DIR="$src/checks/frameworks"
state="$work/state"
mkdir -p "$state/results"
cat >"$work/vigil.yml" <<EOF
agent:
  state_dir: $state
EOF
chmod 600 "$work/vigil.yml"
cfg=(--config "$work/vigil.yml")

# the fixture, as two scans would have left it: one results file per host
$py - "$src/tests/report/findings.ndjson" "$state/results" <<'PY' || fail "split the fixture"
import json, sys
out = {}
for line in open(sys.argv[1], encoding="utf-8"):
    host = json.loads(line)["host"]["name"]
    out.setdefault(host, []).append(line)
for host, lines in out.items():
    with open("%s/host-%s.ndjson" % (sys.argv[2], host), "w", encoding="utf-8") as f:
        f.writelines(lines)
PY

# Is `report` wired into the command line yet? (VG_REPORT_UNWIRED_OK=1
# lets the screenshot part run before it is, from the unit test's HTML.)
"$vigil" report "${cfg[@]}" --framework soc2 >"$work/stdout" 2>"$work/stderr"
if grep -q "unknown command 'report'" "$work/stderr"; then
    wired=0
    if [ "${VG_REPORT_UNWIRED_OK:-}" = 1 ]; then
        skip "vigil report is not wired into agent/main.c yet: only the HTML screenshot runs"
    else
        fail "vigil report: unknown command (not wired into agent/main.c)"
    fi
else
    wired=1
fi

# normalise FILE: the generated time and the state directory vary
normalise() {
    sed -e '1s/generated .*/generated 2026-11-26T12:00:00.000Z/' \
        -e "s|$state/results|STATE/results|g" "$1"
}

# every line at most 100 columns (code points)
fits_100() {
    $py - "$1" <<'PY'
import sys
bad = [(i + 1, len(l)) for i, l in enumerate(open(sys.argv[1], encoding="utf-8").read().split("\n"))
       if len(l) > 100]
if bad:
    sys.exit("lines wider than 100 columns: %s" % bad[:5])
PY
}

if [ "$wired" = 1 ]; then
    # --- the gap tables
    for fw in soc2 cis_debian_12; do
        expect_exit 0 "report --framework $fw" -- "$vigil" report "${cfg[@]}" --framework "$fw"
        cp "$work/stdout" "$work/table-$fw.txt"
        normalise "$work/table-$fw.txt" >"$work/table-$fw.norm"
        if diff -u "$src/tests/report/expected-$fw.txt" "$work/table-$fw.norm" >"$work/diff"; then
            ok
        else
            fail "report --framework $fw differs from tests/report/expected-$fw.txt"
            head -30 "$work/diff" | sed 's/^/    /'
        fi
        fits_100 "$work/table-$fw.txt" && ok || fail "table $fw is wider than 100 columns"
        echo "--- vigil report --framework $fw (first lines)"
        head -16 "$work/table-$fw.txt" | sed 's/^/    /'
    done
    # the default format is the table; --format table says the same
    expect_exit 0 "report --format table" -- "$vigil" report "${cfg[@]}" --framework soc2 --format table
    normalise "$work/stdout" | cmp -s - "$work/table-soc2.norm" && ok || fail "--format table differs"

    # --- JSON: every framework with a finding, recounted independently
    expect_exit 0 "report --format json" -- "$vigil" report "${cfg[@]}" --format json
    cp "$work/stdout" "$work/report.json"
    $py "$src/tests/report/check_report.py" "$work/report.json" "$src/checks/frameworks" \
        "$state"/results/*.ndjson && ok || fail "the JSON report disagrees with a recount"
    expect_exit 0 "report --format json --framework soc2" -- \
        "$vigil" report "${cfg[@]}" --format json --framework soc2
    $py - "$work/stdout" "$src/tests/report/expected-soc2.json" <<'PY' && ok || fail "JSON differs from tests/report/expected-soc2.json"
import json, sys
got = json.load(open(sys.argv[1], encoding="utf-8"))
want = json.load(open(sys.argv[2], encoding="utf-8"))
got["generated"] = want["generated"]
got["results_dir"] = want["results_dir"]
if got != want:
    for k in want:
        if got.get(k) != want[k]:
            sys.exit("first difference under %r" % k)
    sys.exit("differs")
PY
fi

# --- HTML: self-contained, escaped, one chart per framework
mkdir -p "$shots"
if [ "$wired" = 1 ]; then
    expect_exit 0 "report --format html --framework soc2" -- \
        "$vigil" report "${cfg[@]}" --framework soc2 --format html
    cp "$work/stdout" "$shots/report-soc2.html"
    expect_exit 0 "report --format html" -- "$vigil" report "${cfg[@]}" --format html
    cp "$work/stdout" "$shots/report-all.html"
else
    unit=$(dirname "$vigil")/tests/test_report
    if [ -x "$unit" ] && VG_SOURCE_DIR="$src" VG_REPORT_HTML_OUT="$shots" "$unit" report_html_fixture \
        >/dev/null 2>"$work/unit.err"; then
        ok
    else
        fail "cannot make the HTML with $unit"; tail -5 "$work/unit.err"
    fi
fi
for f in report-soc2 report-all; do
    $py - "$shots/$f.html" <<'PY' && ok || fail "$f.html is not self-contained"
import re, sys
h = open(sys.argv[1], encoding="utf-8").read()
assert h.startswith("<!DOCTYPE html>"), "no doctype"
for bad in ("<script", "src=", "href=", "url(", "@import", "http://", "https://", "<link", "<img"):
    assert bad not in h.lower(), "found %r" % bad
assert "<svg " in h and "@media print" in h, "no chart or no print style"
assert h.count('<section class="fw"') == h.count("<svg "), "one chart per framework"
PY
done

# --- the screenshot, for a person to look at
chromium_bin=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium_bin" ]; then
    skip "chromium not installed (apt-get install chromium): no screenshot of the HTML report"
else
    shoot() {   # shoot HTML PNG
        local profile; profile=$(mktemp -d "$work/chromium-XXXXXX")
        timeout 120 "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic \
            --no-first-run --disable-background-networking --disable-component-update \
            --disable-sync --user-data-dir="$profile" --screenshot="$2" \
            --window-size=1200,1600 "file://$1" >"$work/chromium.log" 2>&1
    }
    for f in report-soc2 report-all; do
        rm -f "$shots/$f.png"
        shoot "$shots/$f.html" "$shots/$f.png"
        size=$(stat -c %s "$shots/$f.png" 2>/dev/null || echo 0)
        if [ "$size" -gt 10240 ]; then
            ok
            echo "screenshot: $shots/$f.png ($size bytes) of $shots/$f.html"
        else
            fail "no screenshot of $f.html ($size bytes)"; tail -5 "$work/chromium.log"
        fi
    done
    # printed: a framework starts a page, so the report of six frameworks
    # takes at least seven pages (the overview, then one per framework)
    profile=$(mktemp -d "$work/chromium-XXXXXX")
    timeout 120 "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$profile" --no-pdf-header-footer \
        --print-to-pdf="$shots/report-all.pdf" "file://$shots/report-all.html" \
        >"$work/chromium.log" 2>&1
    pages=$(grep -a -o '/Count [0-9]*' "$shots/report-all.pdf" 2>/dev/null | awk '$2 > m {m = $2} END {print m + 0}')
    nfw=$(grep -o '<section class="fw"' "$shots/report-all.html" | wc -l)
    if [ "$pages" -gt "$nfw" ]; then
        ok
        echo "printed: $shots/report-all.pdf ($pages pages, $nfw frameworks)"
    else
        fail "report-all.pdf has $pages pages for $nfw frameworks"
    fi
fi

if [ "$wired" = 1 ]; then
    # --- bad usage and no results
    expect_exit 2 "unknown framework" -- "$vigil" report "${cfg[@]}" --framework soc3
    grep -q "soc3" "$work/stderr" && grep -q "soc2" "$work/stderr" && grep -q "cis_debian_12" "$work/stderr" \
        && ok || fail "the unknown framework error does not name the known ones: $(head -1 "$work/stderr")"
    expect_exit 2 "unknown format" -- "$vigil" report "${cfg[@]}" --format pdf
    mkdir -p "$work/empty"
    printf 'agent:\n  state_dir: %s/empty\n' "$work" >"$work/empty.yml"
    chmod 600 "$work/empty.yml"
    expect_exit 1 "no results" -- "$vigil" report --config "$work/empty.yml"
    grep -q "no scan results in $work/empty/results: run vigil scan first" "$work/stderr" \
        && ok || fail "no results: '$(head -1 "$work/stderr")'"

    # --- the store, as vigil scan fills it
    bash "$src/tests/fixtures/prepare.sh" "$src/tests/fixtures/host-violating" "$work/violating" \
        || fail "prepare violating"
    expect_exit 0 "scan violating" -- "$vigil" scan "${cfg[@]}" --host-root "$work/violating" \
        --output "file:$work/violating.ndjson"
    kept="$state/results/host-legacy-app-07.ndjson"
    if [ -f "$kept" ]; then
        ok
        # the store holds what the outputs got, finding for finding
        $py - "$kept" "$work/violating.ndjson" <<'PY' && ok || fail "the results file and the output differ"
import json, sys
def findings(p):
    return sorted(l for l in open(p, encoding="utf-8")
                  if json.loads(l)["event"]["dataset"] == "vigil.findings")
a, b = findings(sys.argv[1]), findings(sys.argv[2])
assert a and a == b, (len(a), len(b))
PY
    else
        fail "vigil scan kept no results in $kept"
    fi
    expect_exit 0 "report after a scan" -- "$vigil" report "${cfg[@]}" --framework cis_debian_12
    grep -q "legacy-app-07" "$work/stdout" && ok || fail "the scanned host is not in the report"
    # a scan whose output fails does not replace the last results
    before=$(sha256sum "$kept" | cut -d' ' -f1)
    "$vigil" scan "${cfg[@]}" --host-root "$work/violating" --output file:/dev/full \
        >/dev/null 2>"$work/stderr"
    rc=$?
    [ "$rc" = 1 ] && ok || fail "scan to /dev/full: exit $rc, expected 1"
    after=$(sha256sum "$kept" | cut -d' ' -f1)
    [ "$before" = "$after" ] && ok || fail "a failed scan replaced the last results"
    ls -A "$state/results" | grep -q '^\.' && fail "a temp file was left: $(ls -A "$state/results")" || ok
    # a state directory that cannot be written: the scan goes on
    : >"$work/afile"
    printf 'agent:\n  state_dir: %s/afile/state\n' "$work" >"$work/bad.yml"
    chmod 600 "$work/bad.yml"
    expect_exit 0 "scan with an unwritable state dir" -- "$vigil" scan --config "$work/bad.yml" \
        --host-root "$work/violating" --output "file:$work/bad.ndjson"
    [ -s "$work/bad.ndjson" ] && ok || fail "no findings written when the state dir is unwritable"
fi

echo "report: $pass checks passed, $failures failed, $skips skipped"
[ "$failures" = 0 ]
