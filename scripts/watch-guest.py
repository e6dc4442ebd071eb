#!/usr/bin/env python3
"""Pass the guest runner's stream (stdin, QEMU's ttyS1) to stdout line by
line, without the serial line's CRs, and end QEMU (its PID in --pidfile)
when the run is over or stuck:

  --done-grace s after "### HARNESS DONE" (the guest did not power off);
  --silence s without a line from the runner: the guest kills each test
    after its own timeout and prints "### END", so this long a silence
    (that timeout plus a margin) means the guest itself is hung;
  --boot-timeout s after the start.

Each is announced by a line "### HOST <what happened>" in the stream, which
report.py reports.  QEMU gets SIGTERM, and SIGKILL 10 s later if still there.
"""
import argparse
import os
import select
import signal
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--silence", type=float, required=True)
    ap.add_argument("--boot-timeout", type=float, required=True)
    ap.add_argument("--done-grace", type=float, default=30)
    ap.add_argument("--silence-why", default="", help="how --silence was chosen, for the message")
    a = ap.parse_args()
    fd = sys.stdin.fileno()
    out = sys.stdout
    start = last = time.monotonic()
    done_at = None
    killed_at = None
    buf = b""

    def say(line):
        out.write(line + "\n")
        out.flush()

    def end_qemu(why):
        nonlocal killed_at
        say(f"### HOST {why}: QEMU ended")
        killed_at = time.monotonic()
        signal_qemu(signal.SIGTERM)

    def signal_qemu(sig):
        try:
            with open(a.pidfile) as f:
                os.kill(int(f.read().split()[0]), sig)
        except (OSError, ValueError, IndexError):
            pass

    while True:
        now = time.monotonic()
        if killed_at is None:
            if done_at is not None and now - done_at >= a.done_grace:
                end_qemu(f"guest still running {a.done_grace:g} s after HARNESS DONE "
                         "(did not power off)")
            elif done_at is None and now - last >= a.silence:
                end_qemu(f"no runner output for {a.silence:g} s{a.silence_why}: guest hung")
            elif now - start >= a.boot_timeout:
                end_qemu(f"boot timeout ({a.boot_timeout:g} s) reached")
        elif now - killed_at >= 10:
            signal_qemu(signal.SIGKILL)
            killed_at = float("inf")
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        last = time.monotonic()
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r").decode(errors="replace")
            say(line)
            if line.startswith("### HARNESS DONE") and done_at is None:
                done_at = time.monotonic()
    if buf:
        say(buf.rstrip(b"\r").decode(errors="replace"))


if __name__ == "__main__":
    main()
