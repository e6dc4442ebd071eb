#!/usr/bin/env python3
"""make profile's report: out/profile/{ours,stock}.log (PROFILE lines from
ksm_bench -P) and each kernel's System.map -> out/profile/report.md, the
functions with the most timer-tick samples, ours and stock side by side,
per phase of the workload."""
import bisect
import collections
import os
import statistics
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAW = os.path.join(TOP, 'out', 'profile')
TOPN = int(os.environ.get('PROFILE_TOP', '25'))
# Where an idle vCPU's ticks land: left out, the rest is the busy kernel.
IDLE = {'default_idle', 'acpi_safe_halt', 'cpu_idle_poll', 'mwait_idle'}


def recorded(path, default):
    """A setting the run wrote down (e.g. its -icount), or @default."""
    try:
        return open(path).read().strip()
    except OSError:
        return default


def text_symbols(path):
    """Sorted (address, name) of the kernel's text symbols, and _stext."""
    syms, stext = [], None
    with open(path) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            if kind in 'tTwW':
                syms.append((int(addr, 16), name))
            if name == '_stext':
                stext = int(addr, 16)
    syms.sort()
    return syms, stext


def read_profiles(path):
    """{phase label: (step, Counter(bucket -> hits))} from PROFILE lines."""
    out = {}
    with open(path, errors='replace') as f:
        for line in f:
            w = line.split()
            if len(w) < 3 or w[0] != 'PROFILE' or w[1].startswith('error'):
                continue
            if w[2].startswith('step='):     # another dump: added up
                out.setdefault(w[1], (int(w[2][5:]), collections.Counter()))
            elif w[1] in out and len(w) == 4:
                out[w[1]][1][int(w[2])] += int(w[3])
    return out


FIGURES = ('converge_s', 'converge_ksmd_cpu_s', 'converge_ksmd_cpu_ms_per_mib',
           'steady_ksmd_cpu_pct', 'meta_per_scanned_page', 'wall_s', 'ksmd_cpu_s',
           'speed', 'mib_per_ksmd_cpu_s')


def read_figures(path):
    """{key: [values]} of the BENCH lines' figures named in FIGURES."""
    out = collections.defaultdict(list)
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('BENCH '):
                for kv in line.split()[2:]:
                    k, _, v = kv.partition('=')
                    if k in FIGURES:
                        try:
                            out[k].append(float(v))
                        except ValueError:
                            pass
    return out


def by_function(step, buckets, syms, stext):
    addrs = [a for a, _ in syms]
    funcs = collections.Counter()
    for b, hits in buckets.items():
        i = bisect.bisect_right(addrs, stext + b * step) - 1
        funcs[syms[i][1] if i >= 0 else '?'] += hits
    return funcs


def main():
    kernels, profiles, figures = {}, {}, {}
    for k in ('before', 'ours', 'stock'):
        log = os.path.join(RAW, k + '.log')
        smap = os.path.join(RAW, k + '.System.map')
        if not (os.path.exists(log) and os.path.exists(smap)):
            continue
        syms, stext = text_symbols(smap)
        for phase, (step, buckets) in read_profiles(log).items():
            funcs = by_function(step, buckets, syms, stext)
            for name in IDLE:
                funcs.pop(name, None)
            profiles[(k, phase)] = funcs
        kernels[k] = True
        figures[k] = read_figures(log)
    if not profiles:
        sys.exit('profile-report: no PROFILE lines in out/profile/*.log')
    phases = sorted({p for _, p in profiles})
    lines = ['# Kernel profile: %s KSM' % ' vs '.join(kernels), '',
             'Timer-tick samples of the busy kernel (profile=2, HZ=250, all vCPUs, '
             'QEMU -icount %s: a tick per 4 ms of guest time; the idle loop and user '
             'time left out) over what the workload measures, added up over %s runs. '
             'Workload: `ksm_bench -P %s`.'
             % (recorded(os.path.join(RAW, 'icount'), 'off'),
                os.environ.get('PROFILE_REPS', '3'), os.environ.get('WORKLOAD', '?')), '']
    keys = [f for f in FIGURES if any(figures[k].get(f) for k in kernels)]
    if keys:
        lines += ['## The workload\'s own figures (median of the runs)', '',
                  '| figure | ' + ' | '.join(kernels) + ' |',
                  '|---|' + '---|' * len(kernels)]
        for f in keys:
            lines.append('| %s | ' % f + ' | '.join(
                '%.4g' % statistics.median(figures[k][f]) if figures[k].get(f) else 'n/m'
                for k in kernels) + ' |')
        lines.append('')
    for phase in phases:
        lines += ['## %s' % phase, '']
        for k in kernels:
            funcs = profiles.get((k, phase))
            if not funcs:
                continue
            total = sum(funcs.values())
            lines += ['### %s: %d busy samples' % (k, total), '',
                      '| function | samples | share |', '|---|---|---|']
            for name, n in funcs.most_common(TOPN):
                lines.append('| `%s` | %d | %.1f%% |' % (name, n, 100.0 * n / total))
            lines.append('')
    report = os.path.join(RAW, 'report.md')
    with open(report, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
