#!/usr/bin/env python3
"""The harness's own tests: report.py and watch-guest.py fed canned runner
streams and console logs, each case checking the verdict a real run would
get.  Runs on the host in a few seconds (make harness-check, part of make
check)."""
import contextlib
import importlib.util
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "report.py")
WATCH = os.path.join(HERE, "watch-guest.py")
_spec = importlib.util.spec_from_file_location("report", REPORT)
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

START = "### HARNESS START 6.12.117 nodes=2 swap=1 movable=4"
DONE = "### HARNESS DONE"


def block(name, rc, *out):
    return [f"### BEGIN {name}", *out] + ([f"### END {rc} {name}"] if rc is not None else [])


def tap(*results, plan=None):
    """TAP lines: results "ok", "not ok" or "ok # SKIP why", numbered from 1."""
    lines = ["TAP version 13", f"1..{len(results) if plan is None else plan}"]
    for i, r in enumerate(results, 1):
        word, _, skip = r.partition(" # ")
        lines.append(f"{word} {i} # {skip}" if skip else f"{word} {i} test {i}")
    return lines


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def path(self, name, text=""):
        p = os.path.join(self.tmp.name, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def report(self, stream, build="ours-fast", console="", tests=None, known="", allowed="",
               console_after=None):
        """Run report.py's main() on STREAM (lines); return its exit status and
        output.  CONSOLE_AFTER (n, text): TEXT is appended to the console log
        after the n-th "### END" line has been judged."""
        console_log = self.path("console.log", console)
        args = ["report.py", "--build", build, "--console", console_log,
                "--known", self.path("known", known), "--allowed-skips", self.path("allowed", allowed)]
        if tests is not None:
            args += ["--list", self.path("list", "# a comment\n\n" + "".join(t + "\n" for t in tests))]

        def lines():
            ends = 0
            for line in stream:
                yield line + "\n"
                ends += line.startswith("### END ")
                if console_after and ends == console_after[0]:
                    with open(console_log, "a") as f:
                        f.write(console_after[1] + "\n")
                    ends = -1

        out = io.StringIO()
        with mock.patch.object(sys, "argv", args), mock.patch.object(sys, "stdin", lines()), \
                contextlib.redirect_stdout(out):
            try:
                report.main()
            except SystemExit as e:
                return e.code, out.getvalue()
        self.fail("report.py did not exit")

    def assertVerdict(self, rc, out, want_rc, *lines):
        self.assertEqual(rc, want_rc, out)
        for line in lines:
            self.assertIn(line, out, out)

    def test_clean_run_passes(self):
        s = [START, *block("a", 0, *tap("ok", "ok")), *block("b", 0, "hello"), DONE]
        rc, out = self.report(s, tests=["a", "b"])
        self.assertVerdict(rc, out, 0, "PASS   a #1: test 1", "PASS   b\n",
                           "PASS   guest set-up: swap active", "6 passed, 0 failed")

    def test_forked_child_copy_is_no_extra_result(self):
        # ksm_functional_tests: a forked child prints a copy of buffered output
        s = [START, *block("f", 0, "TAP version 13", "1..3", "ok 1 x", "ok 2 y",
                           "ok 2 y", "ok 3 z"), DONE]
        rc, out = self.report(s, tests=["f"])
        self.assertVerdict(rc, out, 0, "6 passed, 0 failed")

    def test_a_test_listed_twice_counts_twice(self):
        s = [START, *block("a", 0, *tap("ok")), *block("a", 1, *tap("not ok")), DONE]
        rc, out = self.report(s, tests=["a", "a"])
        self.assertVerdict(rc, out, 1, "PASS   a #1: test 1", "FAIL   a #1: test 1", "4 passed, 1 failed")

    def test_list_line_that_never_ran_fails(self):
        s = [START, *block("a", 0, *tap("ok")), DONE]
        rc, out = self.report(s, tests=["a", "b --seed 1"])
        self.assertVerdict(rc, out, 1, "FAIL   b --seed 1  (no result")

    def test_guest_died_mid_list(self):
        s = [START, *block("a", 0, *tap("ok")), *block("b", None, *tap("ok", plan=3))]
        rc, out = self.report(s, tests=["a", "b", "c"])
        self.assertVerdict(rc, out, 1, "FAIL   b  (did not finish", "FAIL   c  (no result",
                           "FAIL   b: TAP plan  (plan 1..3, 1 results; missing #2, #3)",
                           "FAIL   guest runs to the end of the list")

    def test_short_tap_plan_fails(self):
        s = [START, *block("a", 0, *tap("ok", "ok", plan=5)), DONE]
        rc, out = self.report(s, tests=["a"])
        self.assertVerdict(rc, out, 1, "FAIL   a: TAP plan  (plan 1..5, 2 results; missing #3, #4, #5)")

    def test_results_beyond_plan_fail(self):
        s = [START, *block("a", 0, *tap("ok", "ok", plan=1)), DONE]
        rc, out = self.report(s, tests=["a"])
        self.assertVerdict(rc, out, 1, "FAIL   a: TAP plan  (plan 1..1, 1 results; beyond the plan #2)")

    def test_skip_fails_on_ours(self):
        s = [START, *block("a", 0, *tap("ok", "ok # SKIP numa: per node (one node)")), DONE]
        rc, out = self.report(s, tests=["a"])
        self.assertVerdict(rc, out, 1, "FAIL   a #2: numa: per node (one node)  (skipped on our KSM")

    def test_skip_passes_on_stock(self):
        s = [START, *block("a", 0, *tap("ok", "ok # SKIP numa: per node (one node)")), DONE]
        rc, out = self.report(s, build="stock-fast", tests=["a"])
        self.assertVerdict(rc, out, 0, "SKIP   a #2: numa: per node (one node)", "0 failed, 1 skipped")

    def test_allowed_skip_passes_on_ours(self):
        s = [START, *block("a", 0, *tap("ok", "ok # SKIP hugetlb (not configured)")), DONE]
        rc, out = self.report(s, tests=["a"],
                              allowed="ours: a #2: hugetlb (not configured) -- no hugetlbfs in the config\n")
        self.assertVerdict(rc, out, 0, "SKIP   a #2: hugetlb (not configured)  (allowed: no hugetlbfs")

    def test_whole_program_skip_fails_on_ours(self):
        s = [START, *block("a", 4, "TAP version 13", "1..0 # SKIP KSM sysfs not present"), DONE]
        rc, out = self.report(s, tests=["a"])
        self.assertVerdict(rc, out, 1, "FAIL   a  (skipped on our KSM")
        rc, out = self.report(s, build="stock-fast", tests=["a"])
        self.assertVerdict(rc, out, 0, "SKIP   a")

    def test_setup_missing_swap_fails(self):
        s = [START.replace("swap=1", "swap=0"), *block("a", 0, *tap("ok")), DONE]
        rc, out = self.report(s, tests=["a"])
        self.assertVerdict(rc, out, 1, "FAIL   guest set-up: swap active  (found swap=0",
                           "PASS   guest set-up: 2 NUMA nodes")

    def test_setup_one_node_no_movable_fails(self):
        s = [START.replace("nodes=2", "nodes=1").replace("movable=4", "movable=0"), DONE]
        rc, out = self.report(s, tests=[])
        self.assertVerdict(rc, out, 1, "FAIL   guest set-up: 2 NUMA nodes  (found nodes=1",
                           "FAIL   guest set-up: hot-plugged memory online in ZONE_MOVABLE  (found movable=0")

    def test_setup_not_reported_fails(self):
        s = ["### HARNESS START 6.12.117 nodes=2 swap=1", DONE]
        rc, out = self.report(s, tests=[])
        self.assertVerdict(rc, out, 1, "FAIL   guest set-up: hot-plugged memory online in ZONE_MOVABLE"
                           "  (runner did not report movable=")

    def test_splat_during_test_fails_it(self):
        s = [START, *block("a", 0, *tap("ok")), *block("b", 0, *tap("ok")), DONE]
        rc, out = self.report(s, tests=["a", "b"], console_after=(
            1, "BUG: unable to handle page fault"))
        self.assertVerdict(rc, out, 1, "FAIL   kernel: no splat during b  (BUG: unable")

    def test_splat_after_done_fails(self):
        s = [START, *block("a", 0, *tap("ok")), DONE]
        rc, out = self.report(s, tests=["a"], console_after=(1, "WARNING: CPU: 1 PID: 9 at mm/ksm.c"))
        self.assertVerdict(rc, out, 1, "FAIL   kernel: no splat at the end of the run  (WARNING: CPU")

    def test_host_ended_hung_guest(self):
        s = [START, *block("a", None, *tap("ok", plan=2)),
             "### HOST no runner output for 720 s (TEST_TIMEOUT 600 + HANG_MARGIN 120): guest hung: QEMU ended"]
        rc, out = self.report(s, tests=["a", "b"])
        self.assertVerdict(rc, out, 1, "FAIL   a  (did not finish (no runner output for 720 s",
                           "FAIL   b  (no result", "FAIL   guest runs to the end of the list  (no runner")

    def test_host_ended_guest_that_did_not_power_off(self):
        s = [START, *block("a", 0, *tap("ok")), DONE,
             "### HOST guest still running 30 s after HARNESS DONE (did not power off): QEMU ended"]
        rc, out = self.report(s, tests=["a"])
        self.assertVerdict(rc, out, 1, "FAIL   guest powers off after the run  (guest still running 30 s")

    def test_no_boot_fails(self):
        rc, out = self.report([], tests=["a"])
        self.assertVerdict(rc, out, 1, "FAIL   guest boots and starts the runner", "FAIL   a  (no result")

    def test_known_failure_is_xfail(self):
        s = [START, *block("a", 0, *tap("ok", "not ok")), DONE]
        rc, out = self.report(s, build="stock-fast", tests=["a"],
                              known="stock: a #2: test 2 -- stock does not do it\n")
        self.assertVerdict(rc, out, 0, "XFAIL  a #2: test 2  (stock does not do it)",
                           "(xfail: a #2: test 2)", "4 passed, 0 failed, 1 skipped")

    def test_known_failure_without_its_details(self):
        s = [START, *block("a", 0, "1..2", "ok 1 x", "not ok 2 scanning (full_scans 16 -> 16)"), DONE]
        rc, out = self.report(s, build="stock-fast", tests=["a"],
                              known="stock: a #2: scanning -- stock stops counting\n"
                                    "stock: a #1: x (never) -- only the trailing detail may go\n")
        self.assertVerdict(rc, out, 0, "XFAIL  a #2: scanning (full_scans 16 -> 16)  (stock stops",
                           "PASS   a #1: x\n")

    def test_exit_status_without_failing_subtest_fails(self):
        s = [START, *block("a", 1, *tap("ok")), DONE]
        rc, out = self.report(s, tests=["a"])
        self.assertVerdict(rc, out, 1, "FAIL   a: exit status")


class WatchGuestTest(unittest.TestCase):
    """watch-guest.py ends QEMU (here a sleep) when the run is over or stuck."""

    def watch(self, lines, wait=5, **opts):
        qemu = subprocess.Popen(["sleep", "60"])
        self.addCleanup(qemu.wait)
        self.addCleanup(qemu.kill)
        with tempfile.NamedTemporaryFile("w", suffix=".pid", delete=False) as f:
            f.write(f"{qemu.pid}\n")
        self.addCleanup(os.unlink, f.name)
        args = [sys.executable, WATCH, "--pidfile", f.name]
        for k, v in {"silence": 600, "boot_timeout": 600, "done_grace": 30, **opts}.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        w = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        w.stdin.write("".join(l + "\r\n" for l in lines))
        w.stdin.flush()
        t0 = time.monotonic()
        while qemu.poll() is None and time.monotonic() - t0 < wait:
            time.sleep(0.05)
        ended = qemu.poll() == -signal.SIGTERM
        w.stdin.close()     # what QEMU's exit does to the pipe
        out = w.stdout.read()
        w.stdout.close()
        w.wait()
        return ended, out

    def test_ends_guest_that_does_not_power_off(self):
        ended, out = self.watch([START, DONE], done_grace=0.2)
        self.assertTrue(ended, out)
        self.assertIn(DONE + "\n### HOST guest still running 0.2 s after HARNESS DONE", out)

    def test_ends_silent_guest(self):
        ended, out = self.watch([START, "### BEGIN a"], silence=0.3, silence_why=" (test)")
        self.assertTrue(ended, out)
        self.assertIn("### HOST no runner output for 0.3 s (test): guest hung: QEMU ended", out)

    def test_ends_at_boot_timeout(self):
        ended, out = self.watch([START], boot_timeout=0.3)
        self.assertTrue(ended, out)
        self.assertIn("### HOST boot timeout (0.3 s) reached", out)

    def test_leaves_a_running_guest_alone(self):
        ended, out = self.watch([START, "### BEGIN a"], wait=0.5, silence=2)
        self.assertFalse(ended, out)
        self.assertEqual(out, START + "\n### BEGIN a\n")


if __name__ == "__main__":
    unittest.main(verbosity=1)
