#!/usr/bin/env python3
"""make bench-scopes: the BENCH lines of out/bench-scopes/rN.log as a table
per merge scope (one column per run), written to docs/bench/scopes.md."""
import glob
import os
import re
import sys

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
runs = sorted(glob.glob(os.path.join(top, 'out/bench-scopes/r*.log')))
if not runs:
    sys.exit('no out/bench-scopes/r*.log: run make bench-scopes')
data = {}          # label -> key -> [value per run]
for path in runs:
    for line in open(path, errors='replace'):
        m = re.match(r'BENCH (\S+) (.*)', line)
        if not m:
            continue
        d = data.setdefault(m.group(1), {})
        for k, v in re.findall(r'(\S+)=(\S+)', m.group(2)):
            d.setdefault(k, []).append(v)

rows = [('max_sharing', 'achievable pages_sharing', lambda v: v),
        ('converge_s', 's to 95% of it', lambda v: v),
        ('converge_ksmd_cpu_s', 'ksmd CPU s to 95%', lambda v: v),
        ('pages_sharing', 'MiB saved once merged',
         lambda v: '%.1f' % (int(v) * 4096 / 2**20)),
        ('merged_pct', '% of achievable merged', lambda v: v),
        ('steady_ksmd_cpu_pct', 'ksmd CPU % under 1%/s churn', lambda v: v)]
out = ['# Merge scopes: two tenants, memory saved and ksmd CPU', '',
       'Written by `make bench-scopes` (%d runs, one column each): 2 memory '
       'cgroups x 2 processes holding the same 16 MiB image (10%% unique, '
       '10%% zero pages; `scripts/guest/scopes.list`), our kernel, fast '
       'config, TCG.' % len(runs), '',
       '| figure | ' + ' | '.join(l.split('-', 1)[1] for l in data) + ' |',
       '|---|' + '---|' * len(data)]
for key, name, fmt in rows:
    cells = []
    for label in data:
        vals = data[label].get(key, [])
        cells.append(', '.join(fmt(v) for v in vals) or '-')
    out.append('| %s | %s |' % (name, ' | '.join(cells)))
os.makedirs(os.path.join(top, 'docs/bench'), exist_ok=True)
dest = os.path.join(top, 'docs/bench/scopes.md')
open(dest, 'w').write('\n'.join(out) + '\n')
print('\n'.join(out))
