#!/usr/bin/env python3
"""Turn the guest runner's stream (stdin) into one line per test and a summary.

The runner prints "### HARNESS START <release> nodes=N swap=N movable=N" (its
set-up: checked as the tests "guest set-up: ..."), then blocks "### BEGIN
<name>", program output, "### END <rc> <name>".  A block whose output holds
TAP result lines counts each line as the test "<name> #N: <description>" and
its plan "1..N" as the test "<name>: TAP plan" when results are missing; a
block without them is one test judged by its exit status (0 pass, 4 skip,
other fail).  With --list, a line of the test list that never printed its
block fails.  A kernel splat in the console log fails the test during which it
appeared (and the run).  "### HOST" lines are the host's watchdog
(watch-guest.py): it ended QEMU, which fails the test that was running.
Tests listed in the known-failures file for this build are reported as xfail
(failing) or xpass.  On our KSM (a build "ours..." or "patched...") a SKIP
fails unless the allowed-skips file lists it: a feature we implement must
not go untested.
The last line is "N passed, N failed[, N skipped]"; the exit status is 1 when
anything failed.
"""
import argparse
import re
import sys

SPLAT = re.compile(
    r"(BUG:|WARNING:|Oops|general protection fault|KASAN:|kernel BUG at|"
    r"possible circular locking|possible recursive locking|inconsistent lock state|"
    r"suspicious RCU usage|INFO: trying to register non-static key|"
    r"sleeping function called from invalid context|rcu_sched self-detected stall|"
    r"rcu: INFO: rcu_\w+ (self-)?detected stall|INFO: task .* blocked for more than|"
    r"Kernel panic|UBSAN:|list_add corruption|list_del corruption|"
    r"BUG kmalloc|Bad page state|Bad rss-counter|soft lockup|hard LOCKUP)")
TAP = re.compile(r"^(not ok|ok) (\d+)\s*(?:- )?([^#]*?)\s*(?:#\s*(SKIP|XFAIL|TODO)\b\s*(.*))?$")


def load_known(path, build):
    known = {}
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return known
    for line in lines:
        line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
        if not line:
            continue
        # "<build>: <test name> -- <reason>"
        m = re.match(r"([\w-]+):\s*(.*?)\s+--\s+(.*)$", line)
        if m and m.group(1) in (build, build.split("-")[0], "all"):
            known[m.group(2)] = m.group(3)
    return known


def lookup(table, name):
    """TABLE's entry for the test NAME, which may leave out a trailing
    "(...)" of the name: the details some tests print, such as counts."""
    if name in table:
        return table[name]
    return table.get(re.sub(r"\s*\([^()]*\)$", "", name))


SETUP = (("nodes", 2, "2 NUMA nodes"), ("swap", 1, "swap active"),
         ("movable", 1, "hot-plugged memory online in ZONE_MOVABLE"))


def load_list(path):
    """The test list as the guest runner reads it: one command a line."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]


class Report:
    def __init__(self, known, console, allowed_skips=None, strict_skips=False, tests=()):
        self.known = known
        self.allowed_skips = allowed_skips or {}
        self.strict_skips = strict_skips
        self.tests = list(tests)
        self.console = console
        self.host = []
        self.xfail_names = []
        self.console_pos = 0
        self.counts = {"passed": 0, "failed": 0, "skipped": 0, "xfail": 0, "xpass": 0}
        self.failed_names = []

    def result(self, name, status, note=""):
        if status == "skip" and self.strict_skips:
            allowed = lookup(self.allowed_skips, name)
            if allowed:
                note = f"{note}; allowed: {allowed}" if note else f"allowed: {allowed}"
            else:
                status, note = "fail", ("skipped on our KSM, not in tests/allowed-skips" +
                                        (f": {note}" if note else ""))
        known = lookup(self.known, name)
        if known:
            if status == "fail":
                status, note = "xfail", known
            elif status == "pass":
                status, note = "xpass", "listed as a known failure but passed"
        word = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "xfail": "XFAIL", "xpass": "XPASS"}[status]
        print(f"{word:5}  {name}" + (f"  ({note})" if note else ""), flush=True)
        key = {"pass": "passed", "fail": "failed", "skip": "skipped", "xfail": "xfail", "xpass": "xpass"}[status]
        self.counts[key] += 1
        if status == "fail":
            self.failed_names.append(name)
        if status == "xfail":
            self.xfail_names.append(name)

    def new_splats(self):
        try:
            with open(self.console, errors="replace") as f:
                f.seek(self.console_pos)
                text = f.read()
                self.console_pos = f.tell()
        except OSError:
            return []
        return [l.strip() for l in text.splitlines() if SPLAT.search(l)]

    def block(self, name, rc, lines):
        splats = self.new_splats()     # the console up to the block's end
        taps = [TAP.match(l) for l in lines]
        taps = [m for m in taps if m]
        plan = next((int(m.group(1)) for m in map(re.compile(r"^1\.\.(\d+)").match, lines) if m),
                    None)
        failed_sub = False
        numbers, seen = set(), set()
        for m in taps:
            numbers.add(int(m.group(2)))
            desc = m.group(3).strip()
            if m.group(4) == "SKIP" and not desc:   # "ok N # SKIP <description>"
                desc = (m.group(5) or "").strip()
            sub = f"{name} #{m.group(2)}: {desc}".rstrip(": ")
            if sub in seen:     # a forked child's copy of buffered output
                continue
            seen.add(sub)
            if m.group(4) == "SKIP":
                self.result(sub, "skip", "" if desc == (m.group(5) or "").strip() else m.group(5))
            elif m.group(1) == "ok":
                self.result(sub, "pass")
            else:
                failed_sub = True
                self.result(sub, "fail")
        if plan:
            missing = sorted(set(range(1, plan + 1)) - numbers)
            extra = sorted(n for n in numbers if n > plan)
            if missing or extra:
                why = f"plan 1..{plan}, {len(numbers & set(range(1, plan + 1)))} results"
                if missing:
                    why += "; missing #" + ", #".join(map(str, missing[:10])) + \
                        (" ..." if len(missing) > 10 else "")
                if extra:
                    why += "; beyond the plan #" + ", #".join(map(str, extra[:10]))
                self.result(f"{name}: TAP plan", "fail", why)
        if rc is None:
            why = self.host[-1] if self.host else "timeout or crash"
            self.result(name, "fail", f"did not finish ({why}); output ends: " +
                        (lines[-1][:100] if lines else "nothing"))
        elif not taps:
            why = next((l for l in reversed(lines) if l.strip()), "")
            if rc == 0:
                self.result(name, "pass")
            elif rc == 4:
                self.result(name, "skip", why[:100])
            else:
                self.result(name, "fail", f"exit {rc}: {why[:100]}")
        elif rc not in (0, 4) and not failed_sub:
            self.result(f"{name}: exit status", "fail", f"exit {rc} with no failing subtest")
        if splats:
            self.result(f"kernel: no splat during {name}", "fail", splats[0][:160])

    def setup(self, line):
        """Judge the runner's set-up from its HARNESS START line."""
        found = dict(w.split("=", 1) for w in line.split() if "=" in w)
        for key, want, what in SETUP:
            try:
                ok = int(found[key]) >= want
            except (KeyError, ValueError):
                self.result(f"guest set-up: {what}", "fail", f"runner did not report {key}=")
                continue
            self.result(f"guest set-up: {what}", "pass" if ok else "fail",
                        "" if ok else f"found {key}={found[key]}, want at least {want}")

    def run(self, stream):
        name, lines, started, done = None, [], False, False
        ran = []
        for raw in stream:
            line = raw.rstrip("\n")
            if line.startswith("### HOST "):
                self.host.append(line[9:])
                print(f"host: {line[9:]}", flush=True)
                if done:
                    self.result("guest powers off after the run", "fail", line[9:])
            elif line.startswith("### HARNESS START"):
                started = True
                splats = self.new_splats()
                print(f"guest up: {line[18:]}", flush=True)
                self.setup(line[18:])
                if splats:
                    self.result("kernel: no splat during boot", "fail", splats[0][:160])
            elif line.startswith("### HARNESS DONE"):
                done = True
            elif line.startswith("### BEGIN "):
                if name is not None:
                    self.block(name, None, lines)
                name, lines = line[10:], []
                ran.append(name)
            elif line.startswith("### END ") and name is not None:
                rc = int(line.split()[2])
                self.block(name, rc, lines)
                name, lines = None, []
            elif name is not None:
                lines.append(line)
        if name is not None:
            self.block(name, None, lines)
        why = self.host[-1] if self.host and not done else "timeout or crash"
        if not started:
            self.result("guest boots and starts the runner", "fail",
                        (why + "; " if self.host else "") + "see console.log")
        elif not done:
            self.result("guest runs to the end of the list", "fail", why)
        for t in self.tests:
            if t in ran:
                ran.remove(t)
            else:
                self.result(t, "fail", "no result: the runner never started it (### BEGIN)")
        splats = self.new_splats()
        if splats:
            self.result("kernel: no splat at the end of the run", "fail", splats[0][:160])

    def summary(self):
        c = self.counts
        extra = []
        if c["xfail"] or c["xpass"]:
            extra.append(f"known failures: {c['xfail']} xfail, {c['xpass']} xpass" +
                         (" (xfail: " + "; ".join(self.xfail_names) + ")" if self.xfail_names else ""))
        if self.failed_names:
            extra.append("failed: " + "; ".join(self.failed_names))
        for e in extra:
            print(e)
        line = f"{c['passed'] + c['xpass']} passed, {c['failed']} failed"
        if c["skipped"] + c["xfail"]:
            line += f", {c['skipped'] + c['xfail']} skipped"
        print(line, flush=True)
        return 1 if c["failed"] else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--known", default="")
    ap.add_argument("--allowed-skips", default="")
    ap.add_argument("--build", default="ours")
    ap.add_argument("--list", default="", help="the test list the guest ran")
    ap.add_argument("--console", required=True)
    a = ap.parse_args()
    strict = a.build.split("-")[0] in ("ours", "patched")
    r = Report(load_known(a.known, a.build), a.console,
               load_known(a.allowed_skips, a.build), strict, load_list(a.list))
    r.run(sys.stdin)
    sys.exit(r.summary())


if __name__ == "__main__":
    main()
