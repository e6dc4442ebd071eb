#!/usr/bin/env python3
"""Turn the guest runner's stream (stdin) into one line per test and a summary.

The runner prints blocks "### BEGIN <name>", program output, "### END <rc> <name>".
A block whose output holds TAP result lines counts each line as the test
"<name>: <description>"; a block without them is one test judged by its exit
status (0 pass, 4 skip, other fail).  A kernel splat in the console log fails
the test during which it appeared (and the run).  Tests listed in the known-
failures file for this build are reported as xfail (failing) or xpass.
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
        lines = open(path).read().splitlines()
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


class Report:
    def __init__(self, known, console):
        self.known = known
        self.console = console
        self.console_pos = 0
        self.counts = {"passed": 0, "failed": 0, "skipped": 0, "xfail": 0, "xpass": 0}
        self.failed_names = []
        self.seen = set()

    def result(self, name, status, note=""):
        self.seen.add(name)
        if name in self.known:
            if status == "fail":
                status, note = "xfail", self.known[name]
            elif status == "pass":
                status, note = "xpass", "listed as a known failure but passed"
        word = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "xfail": "XFAIL", "xpass": "XPASS"}[status]
        print(f"{word:5}  {name}" + (f"  ({note})" if note else ""), flush=True)
        key = {"pass": "passed", "fail": "failed", "skip": "skipped", "xfail": "xfail", "xpass": "xpass"}[status]
        self.counts[key] += 1
        if status == "fail":
            self.failed_names.append(name)

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
        taps = [TAP.match(l) for l in lines]
        taps = [m for m in taps if m]
        failed_sub = False
        for m in taps:
            sub = f"{name} #{m.group(2)}: {m.group(3).strip()}".rstrip(": ")
            if sub in self.seen:    # a forked child's copy of buffered output
                continue
            if m.group(4) == "SKIP":
                self.result(sub, "skip", m.group(5) or "")
            elif m.group(1) == "ok":
                self.result(sub, "pass")
            else:
                failed_sub = True
                self.result(sub, "fail")
        if rc is None:
            self.result(name, "fail", "did not finish (timeout or crash); output ends: " +
                        (lines[-1][:100] if lines else "nothing"))
        elif not taps:
            if rc == 0:
                self.result(name, "pass")
            elif rc == 4:
                why = next((l for l in reversed(lines) if l.strip()), "")
                self.result(name, "skip", why[:100])
            else:
                why = next((l for l in reversed(lines) if l.strip()), "")
                self.result(name, "fail", f"exit {rc}: {why[:100]}")
        elif rc not in (0, 4) and not failed_sub:
            self.result(f"{name}: exit status", "fail", f"exit {rc} with no failing subtest")
        splats = self.new_splats()
        if splats:
            self.result(f"kernel: no splat during {name}", "fail", splats[0][:160])

    def run(self, stream):
        name, lines, started, done = None, [], False, False
        for raw in stream:
            line = raw.rstrip("\n")
            if line.startswith("### HARNESS START"):
                started = True
                print(f"guest up: {line[18:]}", flush=True)
                splats = self.new_splats()
                if splats:
                    self.result("kernel: no splat during boot", "fail", splats[0][:160])
            elif line.startswith("### HARNESS DONE"):
                done = True
            elif line.startswith("### BEGIN "):
                if name is not None:
                    self.block(name, None, lines)
                name, lines = line[10:], []
            elif line.startswith("### END ") and name is not None:
                rc = int(line.split()[2])
                self.block(name, rc, lines)
                name, lines = None, []
            elif name is not None:
                lines.append(line)
        if name is not None:
            self.block(name, None, lines)
        if not started:
            self.result("guest boots and starts the runner", "fail", "see console.log")
        elif not done:
            self.result("guest runs to the end of the list", "fail", "timeout or crash")
        splats = self.new_splats()
        if splats:
            self.result("kernel: no splat at the end of the run", "fail", splats[0][:160])

    def summary(self):
        c = self.counts
        extra = []
        if c["xfail"] or c["xpass"]:
            extra.append(f"known failures: {c['xfail']} xfail, {c['xpass']} xpass")
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
    ap.add_argument("--build", default="ours")
    ap.add_argument("--console", required=True)
    a = ap.parse_args()
    r = Report(load_known(a.known, a.build), a.console)
    r.run(sys.stdin)
    sys.exit(r.summary())


if __name__ == "__main__":
    main()
