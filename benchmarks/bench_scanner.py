"""Scanner speed and rule noise on the CPython standard library.

Scans the standard library of the running interpreter (``sysconfig.get_paths()["stdlib"]``, without its
test suites and site-packages unless ``--with-tests``) and prints a table: files, seconds, files per second,
skipped files, then each rule's hit count. The stdlib is mature code, so hit counts there mostly show how
noisy a rule is. Run it with ``nox -s bench`` or ``python benchmarks/bench_scanner.py``.
"""

from __future__ import annotations

import argparse
import collections
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path

from greencode.config import Config, ScanConfig
from greencode.tactics.rules import RULES
from greencode.tactics.scanner import iter_python_files, scan_paths

TEST_DIRS = ("test", "tests", "idle_test")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-tests", action="store_true", help="also scan the stdlib's own test suites")
    parser.add_argument("--rounds", type=int, default=3, help="scan this many times and report the fastest")
    args = parser.parse_args(argv)

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    exclude = () if args.with_tests else TEST_DIRS
    config = Config(root=stdlib, scan=ScanConfig(exclude=exclude))
    files = sum(1 for _ in iter_python_files([stdlib], exclude, stdlib))
    timings = []
    report = None
    for _ in range(max(1, args.rounds)):
        start = time.perf_counter()
        report = scan_paths([stdlib], config)
        timings.append(time.perf_counter() - start)
    assert report is not None
    best = min(timings)

    print(f"greencode scan of {stdlib} ({'with' if args.with_tests else 'without'} test suites)")
    print()
    print(f"| {'files':>6} | {'best s':>7} | {'files/s':>8} | {'skipped':>7} | {'findings':>8} | {'suppressed':>10} |")
    print(f"|{'-' * 8}|{'-' * 9}|{'-' * 10}|{'-' * 9}|{'-' * 10}|{'-' * 12}|")
    print(f"| {files:>6} | {best:>7.2f} | {files / best:>8.0f} | {len(report.skipped):>7} | "
          f"{len(report.findings):>8} | {report.suppressed:>10} |")
    print()
    counts = collections.Counter(f.rule for f in report.findings)
    print(f"| {'rule':<7} | {'name':<28} | {'tactic':<8} | {'hits':>5} |")
    print(f"|{'-' * 9}|{'-' * 30}|{'-' * 10}|{'-' * 7}|")
    for rule in RULES:
        print(f"| {rule.id:<7} | {rule.name:<28} | {rule.tactic:<8} | {counts[rule.id]:>5} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
