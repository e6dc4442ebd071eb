#!/usr/bin/env python3
"""Summarise the bench runs in out/bench/raw into out/bench/report.md and
out/bench/bench.png: for every figure the median over the runs of each
kernel, its spread (min-max), and the ratio ours/stock of the medians.

Input: the "BENCH <label> key=value ..." lines of rN-ours.log and
rN-stock.log (see scripts/guest/bench.c); the commands behind each label
come from scripts/guest/bench.list.
"""
import datetime
import glob
import math
import os
import re
import statistics
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, 'out', 'bench')
RAW = os.path.join(OUT, 'raw')
KERNELS = ('ours', 'stock')
INF = float('inf')

# (section, label prefix, [(key, figure, unit, better)])
SECTIONS = [
    ('1. Merge throughput', ('merge-',), [
        ('speed', 'merge speed (ksm_tests: size / time of 2 full scans)', 'MiB/s', 'higher'),
        ('mib_per_ksmd_cpu_s', 'MiB merged per ksmd CPU-second', 'MiB/s', 'higher'),
        ('ksmd_cpu_s', 'ksmd CPU time', 's', 'lower'),
    ]),
    ('2. Convergence ("guest images")', ('images-',), [
        ('converge_s', 'seconds until pages_sharing >= 95% of max', 's', 'lower'),
        ('converge_full_scans', 'full scans completed by then', 'scans', 'lower'),
        ('converge_ksmd_cpu_s', 'ksmd CPU by then', 's', 'lower'),
        ('converge_ksmd_cpu_ms_per_mib', 'ksmd CPU per MiB merged by then', 'ms/MiB', 'lower'),
        ('merged_pct', 'pages_sharing after one more full scan', '% of max', 'higher'),
    ]),
    ('3. Steady state (images, 1% of the shared pages rewritten per second, 5 s)', ('images-',), [
        ('steady_ksmd_cpu_pct', 'ksmd CPU', '% of a CPU', 'lower'),
        ('steady_cow_per_s', 'KSM COW faults (/proc/vmstat cow_ksm)', '1/s', 'info'),
        ('steady_saved_mib', 'memory saved (mean pages_sharing)', 'MiB', 'higher'),
    ]),
    ('4. Metadata (images, once merged)', ('images-',), [
        ('meta_bytes', 'KSM slab objects (ksm_* caches, active_objs x objsize; ours: + index buckets)', 'bytes', 'lower'),
        ('meta_slab_bytes', 'slab pages of the ksm_* caches (ours: + index buckets)', 'bytes', 'lower'),
        ('meta_index_bytes', "of which ours' content index buckets (index_bytes)", 'bytes', 'info'),
        ('meta_per_scanned_page', 'per scanned page', 'bytes', 'lower'),
        ('meta_per_merged_page', 'per merged page (pages_sharing)', 'bytes', 'lower'),
    ]),
    ('5. Unmerge and COW-break', ('unmerge-', 'cow'), [
        ('speed', 'unmerge speed (-D) / COW on unmerged pages (-C)', 'MiB/s', 'higher'),
        ('speed2', 'COW-break of merged pages (-C)', 'MiB/s', 'higher'),
    ]),
    ('6. Real guests (QEMU processes, ksm_vmhost)', ('realguests',), [
        ('saved_mib', 'memory saved at 90% merged (pages_sharing)', 'MiB', 'higher'),
        ('ksmd_cpu_ms_per_mib', 'ksmd CPU per MiB merged', 'ms/MiB', 'lower'),
        ('converge_s', 'seconds until 90% of the common pages are merged', 's', 'lower'),
        ('ram_pss_mib', "guests' RAM resident then (sum of Pss)", 'MiB', 'lower'),
        ('thp_mib', "huge pages left in the guests' RAM then (AnonHugePages)", 'MiB', 'info'),
    ]),
]


DEFINITIONS = [
    'Merge speed is upstream ksm_tests\' own figure: size / time until two full scans '
    'have completed after MADV_MERGEABLE; it does not check how much was merged.',
    'ksmd CPU: ksmd\'s process CPU clock (clock_getcpuclockid(), the scheduler\'s '
    'sum_exec_runtime, in ns) over the run. With -icount (the default, QEMU_ICOUNT='
    'shift=3,sleep=off) all guest time, this included, counts executed instructions '
    '(8 ns each), so neither the host\'s load nor its speed enters the figures: they are '
    'instruction counts, blind to cache misses. QEMU_ICOUNT= (empty) measures wall time '
    'instead, where a loaded host also counts the time a vCPU thread waited for a host CPU.',
    'Reproducibility: "previous" is the ratio of the run before this one (out/bench/raw-prev, '
    'kept by make bench); "agree" says whether the two are within 5% of each other. A ratio '
    'counts only where they agree.',
    'Convergence: the images workload\'s achievable maximum of pages_sharing is computed from '
    'its layout (shared pages: nproc-1 each; zero pages: groups of max_page_sharing); the '
    'clock starts at run=1, after every process has filled its memory and madvised it.',
    'Steady state: each process writes one byte (its own value) into 1% of its shared '
    'pages per second; COW faults are /proc/vmstat cow_ksm; memory saved is '
    'pages_sharing x 4 KiB, which both kernels update lazily, at the next scan of the page.',
    'Metadata: active_objs x objsize of the ksm_* slab caches in /proc/slabinfo '
    '(slab_nomerge keeps them apart), measured after one more full scan past 95%; per '
    'scanned page: over all the workload\'s pages; per merged page: over pages_sharing.',
    'Real guests: ksm_vmhost (scripts/guest/vmhost.c) runs unmodified QEMU processes '
    '(TCG, mem-merge=on) whose guests fill part of their RAM with pages common to all '
    'guests and pages of their own; the clock and ksmd CPU start at run=1 and stop when '
    'pages_sharing reaches 90% of the common pages; saved = pages_sharing x 4 KiB then, '
    'Pss and AnonHugePages from /proc/<qemu>/smaps (the RAM mapping).',
    'Workloads and ksmd run pinned to vCPU 0: with them on two vCPUs every TLB-flush IPI '
    'waits for the host to schedule the other vCPU thread, and merging timed the host. '
    'KERNEL_APPEND=ksmbench.pin=0 turns pinning off.',
]


def label_commands():
    """label -> the command line that produced it, from bench.list."""
    cmds = {}
    with open(os.path.join(TOP, 'scripts', 'guest', 'bench.list')) as f:
        for line in f:
            line = line.strip()
            m = re.search(r'-l (\S+)', line)
            if not m or line.startswith('#'):
                continue
            if ' -- ' in line:
                cmds[m.group(1)] = line.split(' -- ', 1)[1]
            else:
                cmds[m.group(1)] = line.replace('ksm_bench ', '').replace('-l %s ' % m.group(1), '')
    return cmds


def parse(raw=RAW):
    """{kernel: {label: {key: [value per run]}}}, runs per kernel, notes."""
    data = {k: {} for k in KERNELS}
    runs = {k: 0 for k in KERNELS}
    notes = []
    order = []
    for path in sorted(glob.glob(os.path.join(raw, 'r*-*.log'))):
        m = re.match(r'r(\d+)-(ours|stock)\.log$', os.path.basename(path))
        if not m:
            continue
        kernel = m.group(2)
        runs[kernel] += 1
        text = open(path, errors='replace').read()
        if '### HARNESS DONE' not in text:
            notes.append('%s did not finish: its missing figures are absent from the medians'
                         % os.path.basename(path))
        for line in text.splitlines():
            if not line.startswith('BENCH '):
                continue
            parts = line.split()
            label = parts[1]
            if label not in order:
                order.append(label)
            kv = dict(p.split('=', 1) for p in parts[2:] if '=' in p)
            d = data[kernel].setdefault(label, {})
            if kv.get('converge') == 'timeout':
                kv.update(converge_s='inf', converge_full_scans='inf',
                          converge_ksmd_cpu_s='inf')
            for key, val in kv.items():
                try:
                    d.setdefault(key, []).append(float(val))
                except ValueError:
                    pass
    return data, runs, notes, order


def fmt(v):
    if v == INF:
        return 'timeout'
    if v is None:
        return 'n/m'
    a = abs(v)
    if a >= 1000:
        return '%.0f' % v
    if a >= 100:
        return '%.1f' % v
    if a >= 10:
        return '%.2f' % v
    return '%.3g' % v


def stat(vals):
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals), len(vals)


def cell(s, nruns):
    if s is None:
        return 'n/m'
    med, lo, hi, n = s
    txt = fmt(med)
    if med != INF and n > 1:
        txt += ' [%s–%s]' % (fmt(lo), fmt(hi))
    if n < nruns:
        txt += ' (%d/%d runs)' % (n, nruns)
    return txt


# ratio() when a bounded wait ran out: strings, never a real ratio
BOTH_TIMED_OUT, OURS_TIMED_OUT, STOCK_TIMED_OUT = 'both', 'ours', 'stock'


def ratio(so, ss):
    if so is None or ss is None:
        return None
    o, s = so[0], ss[0]
    if o == INF and s == INF:
        return BOTH_TIMED_OUT
    if o == INF:
        return OURS_TIMED_OUT
    if s == INF:
        return STOCK_TIMED_OUT
    if s == 0:
        return None
    return o / s


def rows(data, order, runs):
    out = []
    for section, prefixes, keys in SECTIONS:
        labels = [lb for lb in order if lb.startswith(prefixes)]
        for key, figure, unit, better in keys:
            for lb in labels:
                so = stat(data['ours'].get(lb, {}).get(key))
                ss = stat(data['stock'].get(lb, {}).get(key))
                if so is None and ss is None:
                    continue
                out.append(dict(section=section, label=lb, key=key, figure=figure, unit=unit,
                                better=better, ours=so, stock=ss, ratio=ratio(so, ss)))
    return out


def ratio_txt(r):
    if r is None:
        return 'n/m'
    if isinstance(r, str):
        return r + ' timed out'
    return '%.2f' % r


def size_of(label):
    m = re.search(r'-[sP](\d+)$', label)
    return int(m.group(1)) if m else None


def agree_txt(r, p):
    """Does the previous run's ratio @p reproduce this one's (within 5%)?"""
    if not isinstance(r, float) or not isinstance(p, float):
        return '–'
    if r == 0 or p == 0:
        return 'yes' if r == p else 'no'
    return 'yes' if abs(r / p - 1) <= 0.05 else 'no'


def icount_of(raw):
    """The -icount setting the run in @raw recorded (run-bench.sh)."""
    try:
        return open(os.path.join(raw, 'icount')).read().strip()
    except OSError:
        return 'off'


def markdown(table, runs, notes, cmds, prev):
    arrow = {'higher': '↑', 'lower': '↓', 'info': ''}
    rev = subprocess.run(['git', '-C', TOP, 'rev-parse', '--short', 'HEAD'],
                         capture_output=True, text=True).stdout.strip()
    base = open(os.path.join(TOP, 'BASE_VERSION')).read().strip()
    lines = ['# KSM benchmark: ours vs stock', '',
             'Generated %s by `make bench` at commit %s on linux-source-6.12 %s; '
             '%d runs of ours and %d of stock, alternating. QEMU %s (-icount: %s), 2 vCPUs, '
             'guest booted with `slab_nomerge`; workloads and ksmd pinned to vCPU 0 '
             '(see scripts/guest/bench.c).'
             % (datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                rev or '?', base, runs['ours'], runs['stock'],
                os.environ.get('QEMU_ACCEL', 'tcg').upper(), icount_of(RAW)), '',
             'Each cell: median [min–max] over the runs. Ratio: ours/stock of the medians; '
             '↑ higher is better, ↓ lower is better. "n/m": not measured on that build; '
             '"timeout": the bounded wait ran out.', '']
    section = None
    for r in table:
        if r['section'] != section:
            section = r['section']
            lines += ['', '### ' + section, '',
                      '| workload | figure | unit | ours | stock | ours/stock | previous | agree |',
                      '|---|---|---|---|---|---|---|---|']
        p = prev.get((r['label'], r['key']))
        lines.append('| `%s` | %s %s | %s | %s | %s | %s | %s | %s |' % (
            r['label'], r['figure'], arrow[r['better']], r['unit'],
            cell(r['ours'], runs['ours']), cell(r['stock'], runs['stock']),
            ratio_txt(r['ratio']), ratio_txt(p), agree_txt(r['ratio'], p)))
    lines += ['', '### 7. Scale', '',
              'The `-sN` rows above are the same workload at several sizes '
              '(MiB: per ksm_tests run, or per process for the images); `bench.png` plots them.',
              '', '### Workloads', '']
    for lb in cmds:
        lines.append('- `%s`: `%s`' % (lb, cmds[lb]))
    both = [agree_txt(r['ratio'], prev.get((r['label'], r['key']))) for r in table
            if r['better'] != 'info']
    if prev:
        lines += ['', '**Reproducibility:** %d of %d ratios agree within 5%% with the previous '
                  'run.' % (both.count('yes'), both.count('yes') + both.count('no'))]
    lines += ['', '### How the figures are taken', ''] + ['- ' + n for n in DEFINITIONS]
    if notes:
        lines += ['', '### Notes on this run', ''] + ['- ' + n for n in notes]
    return '\n'.join(lines) + '\n'


def plot(table):
    """Four panels: headline ratios, and three figures against size."""
    def series(label_prefix, key):
        pts = {k: [] for k in KERNELS}
        for r in table:
            if r['key'] == key and r['label'].startswith(label_prefix) and size_of(r['label']):
                for k in KERNELS:
                    s = r[k]
                    if s and s[0] != INF:
                        pts[k].append((size_of(r['label']), s[0], s[1], s[2]))
        return pts

    def write(name, pts):
        path = os.path.join(OUT, name)
        with open(path, 'w') as f:
            for k in KERNELS:
                f.write('# %s\n' % k)
                for p in sorted(pts[k]):
                    f.write('%d %g %g %g\n' % p)
                f.write('\n\n')
        return path

    bars = [r for r in table if isinstance(r['ratio'], float) and r['ratio'] > 0
            and r['better'] != 'info' and r['key'] != 'meta_slab_bytes'
            and size_of(r['label']) in (None, 16, 100)]
    with open(os.path.join(OUT, 'ratios.dat'), 'w') as f:
        for i, r in enumerate(bars):
            f.write('%d "%s %s" %g\n' % (i, r['label'], r['key'], r['ratio']))
    panels = [('merge-s', 'speed', 'merge speed (MiB/s) vs size (MiB)', 'merge.dat'),
              ('images-s', 'converge_s', 'seconds to 95% merged vs MiB per process', 'converge.dat'),
              ('images-s', 'meta_per_scanned_page', 'metadata bytes per scanned page vs MiB/process',
               'meta.dat')]
    gp = ['set terminal pngcairo size 1200,900 font ",9"',
          'set output "%s"' % os.path.join(OUT, 'bench.png'),
          'set multiplot layout 2,2 title "KSM: ours vs stock (medians, bars: min-max)"',
          'set termoption noenhanced',
          'set style fill solid 0.6', 'set boxwidth 0.7',
          'set title "log2(ours/stock): >0 ours higher (arrows in the table: which way is better)"',
          'set xtics rotate by 60 right font ",7"', 'set grid y', 'unset key',
          'set yrange [*:*]',
          'plot "%s" using 1:(log($3)/log(2)):xtic(2) with boxes lc rgb "#4477aa", 0 with lines lc rgb "black"'
          % os.path.join(OUT, 'ratios.dat'),
          'set xtics norotate font ",9"', 'set key top left',
          'set yrange [0:*]']
    for prefix, key, title, name in panels:
        path = write(name, series(prefix, key))
        gp += ['set title "%s"' % title, 'set logscale x 2',
               'plot "%s" index 0 using 1:2:3:4 with yerrorlines title "ours" lw 2, '
               '"%s" index 1 using 1:2:3:4 with yerrorlines title "stock" lw 2' % (path, path)]
    gp.append('unset multiplot')
    script = os.path.join(OUT, 'bench.gp')
    with open(script, 'w') as f:
        f.write('\n'.join(gp) + '\n')
    res = subprocess.run(['gnuplot', script], capture_output=True, text=True)
    if res.returncode:
        print('gnuplot failed:\n' + res.stderr, file=sys.stderr)


def main():
    data, runs, notes, order = parse()
    if not any(runs.values()):
        sys.exit('no bench logs in %s' % RAW)
    for k in KERNELS:
        if not any('meta_bytes' in v for v in data[k].values()):
            if runs[k]:
                notes.append('%s: no ksm_* caches in /proc/slabinfo, so no metadata figures' % k)
    table = rows(data, order, runs)
    prev = {}
    pdata, pruns, _, porder = parse(RAW + '-prev')
    if all(pruns.values()) and icount_of(RAW + '-prev') == icount_of(RAW):
        prev = {(r['label'], r['key']): r['ratio'] for r in rows(pdata, porder, pruns)}
    md = markdown(table, runs, notes, label_commands(), prev)
    with open(os.path.join(OUT, 'report.md'), 'w') as f:
        f.write(md)
    plot(table)
    print(md)


if __name__ == '__main__':
    main()
