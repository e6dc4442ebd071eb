#!/usr/bin/env python3
"""The first evidence of a failed run in LOGS (a boot's log folder): the
first kernel splat in console.log, else the first model mismatch or host
watchdog line in runner.log, else the first FAIL line of summary.txt."""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import SPLAT  # noqa: E402


def lines(logs, name):
    try:
        with open(os.path.join(logs, name), errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


def main():
    logs = sys.argv[1]
    checks = [("console.log", SPLAT), ("runner.log", re.compile(r"^# MISMATCH|^### HOST ")),
              ("summary.txt", re.compile(r"^FAIL "))]
    for name, pattern in checks:
        hit = next((l.strip() for l in lines(logs, name) if pattern.search(l)), None)
        if hit:
            print(re.sub(r"^FAIL\s+", "", hit)[:200])
            return
    print("(no evidence found; see the logs)")


if __name__ == "__main__":
    main()
