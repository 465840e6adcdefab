#!/usr/bin/env bash
# Renders a ParkBench report.html to a PNG with headless Chromium, to look at it as a person
# would. Chromium is large, so it is not part of `make test`; this installs it when missing.
#   scripts/screenshot-report.sh reports/<run>/report.html [out.png] [width] [height]
set -euo pipefail
html=${1:?usage: $0 report.html [out.png] [width] [height]}
out=${2:-${html%.html}.png}
width=${3:-1200}
height=${4:-2400}
[ -f "$html" ] || { echo "screenshot: no such file: $html" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    if [ "$(id -u)" -ne 0 ]; then echo "screenshot: chromium is missing; run: sudo apt-get install -y chromium" >&2; exit 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
    browser=$(command -v chromium)
fi
# --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$width,$height" \
    --screenshot="$(realpath -m "$out")" "file://$(realpath "$html")" 2>/dev/null
[ -s "$out" ] || { echo "screenshot: chromium wrote nothing to $out" >&2; exit 1; }
echo "$out"
