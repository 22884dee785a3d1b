#!/usr/bin/env bash
# The live web page in a real browser: starts `tweetoscope run` on a short
# synthetic stream, loads its page in headless Chromium while it runs, and
# checks that the DOM has live top-cascade rows and chart points. Keeps the
# DOM and a screenshot in target/web/. Installs chromium (apt) when missing
# and fails loudly when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'test-web.sh: %s\n' "$*" >&2; exit 1; }

source scripts/lib.sh
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need_apt chromium
CHROMIUM=$(command -v chromium || command -v chromium-browser) || die "chromium installed but not on PATH"
command -v python3 >/dev/null || die "python3 not found (used to pick a free port and read the state)"

cargo build --release -p tweetoscope
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

# Wait until the run has predictions, stats and a few chart points.
ready=""
for _ in $(seq 120); do
    kill -0 "$RUN_PID" 2>/dev/null || die "tweetoscope run exited early: $(tail -5 "$out/run.log")"
    if python3 - "$URL" <<'PY'
import json, sys, urllib.request
try:
    s = json.load(urllib.request.urlopen(sys.argv[1] + "api/state", timeout=2))
except Exception:
    sys.exit(1)
sys.exit(0 if len(s["top"]) >= 5 and s["rates"]["stats_total"] > 0 and len(s["history"]) >= 3 else 1)
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
chrome --screenshot="$out/dashboard.png" --window-size=1280,900 "$URL" \
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
[ -s "$out/dashboard.png" ] || die "no screenshot at $out/dashboard.png"
echo "test-web.sh: ok (DOM and screenshot in $out/)"
