#!/bin/sh
# Regenerate the screenshots in docs/: the HTML report of a generated log, and `scan`'s table
# as a terminal shows it (the --color always output, drawn white on black by Chromium).
# Needs ../shared/tools/gen-maillog, chromium, and a release build (cargo build --release).
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=target/release/bouncer
../shared/tools/gen-maillog --messages 20000 --seed 7 -o "$tmp/mail.log" --truth "$tmp/truth.json" >/dev/null 2>&1
shot() { chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/profile" \
  --window-size="$2" --screenshot="$3" "file://$1" 2>/dev/null; }
"$bin" report --format html "$tmp/mail.log" > "$tmp/report.html"
shot "$tmp/report.html" 1150,1400 docs/report-html.png
{
  printf '<html><body style="margin:0;background:#111"><pre style="color:#ddd;font:13px DejaVu Sans Mono,monospace;padding:10px;margin:0">'
  printf '$ bouncer scan --direction outbound mail.log | head -25\n'
  "$bin" scan --format table --color always --direction outbound "$tmp/mail.log" | head -25 |
    sed -e 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g' \
      -e 's/\x1b\[1m\([^\x1b]*\)\x1b\[0m/<b>\1<\/b>/g' \
      -e 's/\x1b\[31m\([^\x1b]*\)\x1b\[0m/<span style="color:#f55">\1<\/span>/g' \
      -e 's/\x1b\[33m\([^\x1b]*\)\x1b\[0m/<span style="color:#fc3">\1<\/span>/g'
  printf '</pre></body></html>\n'
} > "$tmp/table.html"
shot "$tmp/table.html" 1700,470 docs/scan-table.png
echo "wrote docs/report-html.png docs/scan-table.png"
