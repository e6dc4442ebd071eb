#!/bin/bash
# Keep the latest bench report in the repository: out/bench/report.md and
# bench.png go to docs/bench/, and the README's benchmark section (between
# its bench:begin/bench:end markers) is replaced by the report.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkdir -p "$TOP/docs/bench"
cp "$TOP/out/bench/report.md" "$TOP/docs/bench/report.md"
[ -f "$TOP/out/bench/bench.png" ] && cp "$TOP/out/bench/bench.png" "$TOP/docs/bench/bench.png"
python3 - "$TOP/README.md" "$TOP/docs/bench/report.md" <<'PY'
import re, sys
readme, report = sys.argv[1], sys.argv[2]
text = open(readme).read()
body = open(report).read().split('\n', 1)[1].strip()   # without its title
body = body.replace('### ', '#### ')
block = ('<!-- bench:begin (written by make bench; edit scripts/bench-report.py) -->\n'
         + body + '\n\n![ours vs stock](docs/bench/bench.png)\n<!-- bench:end -->')
new = re.sub(r'<!-- bench:begin.*?<!-- bench:end -->', lambda m: block, text, flags=re.S)
if new == text and 'bench:begin' not in text:
    sys.exit('README.md has no bench:begin/bench:end markers')
open(readme, 'w').write(new)
PY
log "report: out/bench/report.md, out/bench/bench.png; copied to docs/bench/ and README.md"
