#!/usr/bin/env bash
# The live web page in a real browser: starts `tweetoscope run` on a short
# synthetic stream, loads its page in headless Chromium while it runs, and
# checks that the DOM has live top-cascade rows and chart points, the
# legend of w, ARE, "w = 1" and the interval, the chart's axis titles, the
# 80 % interval of calibrated predictions and the marks of cold-start and
# near-critical rows. Keeps the DOM and a screenshot in target/web/. Installs chromium (apt) when missing
# and fails loudly when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'test-web.sh: %s\n' "$*" >&2; exit 1; }

source scripts/lib.sh
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need_apt chromium
CHROMIUM=$(command -v chromium || command -v chromium-browser) || die "chromium installed but not on PATH"
command -v python3 >/dev/null || die "python3 not found (used to pick a free port and read the state)"

# The workspace build (the features scripts/test.sh builds with: no rebuild).
cargo build --workspace --bins --release
out=target/web
rm -rf "$out"; mkdir -p "$out"
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT/"

# 1,000 synthetic cascades over about 40 s: long enough to load the page
# while stats arrive.
target/release/tweetoscope run --cascades 1000 --duration 40 --web-addr "127.0.0.1:$PORT" \
    >"$out/run.log" 2>&1 &
RUN_PID=$!
trap 'kill "$RUN_PID" 2>/dev/null || true' EXIT

# Wait until the run has predictions, stats, a few chart points, and top
# rows with and without a model.
ready=""
for _ in $(seq 120); do
    kill -0 "$RUN_PID" 2>/dev/null || die "tweetoscope run exited early: $(tail -5 "$out/run.log")"
    if python3 - "$URL" <<'PY'
import json, sys, urllib.request
try:
    s = json.load(urllib.request.urlopen(sys.argv[1] + "api/state", timeout=2))
except Exception:
    sys.exit(1)
top = s["top"]
# Rows of both kinds to check: one with an interval (a calibrated model),
# one made without a model (marked).
kinds = any(e.get("low") is not None for e in top) and any(e.get("cold_start") for e in top)
sys.exit(0 if len(top) >= 5 and s["rates"]["stats_total"] > 0 and len(s["history"]) >= 3 and kinds else 1)
PY
    then ready=1; break; fi
    sleep 0.5
done
[ -n "$ready" ] || die "no live data on $URL after 60 s: $(tail -5 "$out/run.log")"
grep -q "Live page: $URL" "$out/run.log" || die "tweetoscope run did not print its address $URL"

chrome() {
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --no-first-run --hide-scrollbars --user-data-dir="$out/profile" \
        --virtual-time-budget=5000 "$@" 2>>"$out/chromium.log"
}
chrome --dump-dom "$URL" >"$out/dom.html" || die "chromium --dump-dom failed: $(tail -5 "$out/chromium.log")"
chrome --screenshot="$out/dashboard.png" --window-size=1280,1350 "$URL" \
    || die "chromium --screenshot failed: $(tail -5 "$out/chromium.log")"

rows=$(grep -o 'class="top-row"' "$out/dom.html" | wc -l)
points=$(grep -o 'class="point"' "$out/dom.html" | wc -l)
windows=$(grep -o 'class="window-row"' "$out/dom.html" | wc -l)
producers=$(grep -o 'class="producer-row"' "$out/dom.html" | wc -l)
echo "test-web.sh: the page shows $rows top rows, $points chart points, $windows windows, $producers producers"
[ "$rows" -ge 5 ] || die "fewer than 5 top-cascade rows in the DOM ($out/dom.html)"
[ "$points" -ge 3 ] || die "fewer than 3 chart points in the DOM ($out/dom.html)"
[ "$windows" -ge 1 ] || die "no accuracy row in the DOM ($out/dom.html)"
[ "$producers" -ge 1 ] || die "no producing stage in the DOM ($out/dom.html)"
grep -q '<div id="status" class="pill ok">live</div>' "$out/dom.html" || die "the page does not say it is live ($out/dom.html)"
# What the page explains and marks, read from the DOM the script drew.
python3 - "$out/dom.html" <<'PY' || die "the page lacks its legend, interval, marks or axis titles ($out/dom.html)"
import re, sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    """Elements by id (their text), and the top rows' cells."""
    def __init__(self):
        super().__init__()
        self.stack, self.text, self.rows, self.row = [], {}, [], None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append((tag, a.get("id")))
        if tag == "tr" and a.get("class") == "top-row":
            self.row = {"cold": a.get("data-cold-start"), "cells": [], "marks": []}
            self.rows.append(self.row)
        elif tag == "td" and self.row is not None:
            self.row["cells"].append({"class": a.get("class") or "", "text": ""})
        elif tag == "span" and self.row is not None and "mark" in (a.get("class") or "").split():
            self.row["marks"].append(a.get("class"))
    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag == "tr":
            self.row = None
    def handle_data(self, data):
        for _, i in self.stack:
            if i:
                self.text[i] = self.text.get(i, "") + data
        if self.row is not None and self.row["cells"]:
            self.row["cells"][-1]["text"] += data

dom = Dom()
dom.feed(open(sys.argv[1]).read())
problems = []
legend = " ".join(dom.text.get(k, "") for k in ["glossary"])
for term in ["term-w", "term-are", "term-interval", "term-cold", "term-near-critical"]:
    if term not in dom.text:
        problems.append(f"the legend has no {term}")
for words in ["w = 1", "80 %", "|predicted", "n_obs + G1"]:
    if words not in legend:
        problems.append(f"the legend never says {words!r}")
if "time" not in dom.text.get("x-title", "") or "ARE" not in dom.text.get("y-title", ""):
    problems.append(f"axis titles: x {dom.text.get('x-title')!r}, y {dom.text.get('y-title')!r}")
intervals = marked = 0
for r in dom.rows:
    interval = [c for c in r["cells"] if "interval" in c["class"].split()]
    if len(interval) != 1:
        problems.append(f"a top row without its interval cell: {r}")
        continue
    if re.fullmatch(r"[\d,]+ – [\d,]+", interval[0]["text"].strip()):
        intervals += 1
    if len(r["cells"]) == 8 and r["cells"][6]["text"].strip() == "0.00":
        problems.append(f"a row shows w = 0.00, which reads as no prediction: {r}")
    if r["cold"]:
        marked += 1
        want = "mark-near-critical" if r["cold"] == "near_critical" else "mark-cold"
        if not any(want in m for m in r["marks"]):
            problems.append(f"a {r['cold']} row without its mark: {r}")
        w = [c["text"] for c in r["cells"] if c["class"].startswith("num") and "w-first-gen" in c["class"]]
        if r["cold"] == "near_critical" and w != ["1st gen"]:
            problems.append(f"a near-critical row shows w as {w}, not '1st gen': {r}")
    elif r["marks"]:
        problems.append(f"a row with a model is marked: {r}")
if intervals == 0:
    problems.append("no top row shows an 80 % interval")
if marked == 0:
    problems.append("no top row is marked cold-start or near-critical")
print(f"test-web.sh: {len(dom.rows)} top rows, {intervals} with an interval, {marked} marked cold-start/near-critical")
for p in problems:
    print("test-web.sh:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
[ -s "$out/dashboard.png" ] || die "no screenshot at $out/dashboard.png"
echo "test-web.sh: ok (DOM and screenshot in $out/)"
