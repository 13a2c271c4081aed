"""Scanner speed and rule noise on the CPython standard library.

Scans the standard library of the running interpreter (``sysconfig.get_paths()["stdlib"]``; its test suites
only with ``--with-tests``; site-packages never) and prints two tables: files, seconds, files per second and
skipped files; then each rule's hit count. The stdlib is mature, reviewed code, so a rule's hit count there
is mostly a measure of its noise.

Target (issue 6): the whole stdlib (about 700 modules) in seconds - here, at most 10 s in one process.
"""

from __future__ import annotations

import argparse
import collections
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table

from greencode.config import Config, ScanConfig
from greencode.tactics.rules import RULES
from greencode.tactics.scanner import ScanReport, scan_paths

TARGET_S = 10.0
TEST_DIRS = ("test", "tests", "idle_test")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="greencode scan over the CPython standard library")
    parser.add_argument("--with-tests", action="store_true", help="also scan the stdlib's own test suites")
    parser.add_argument("--rounds", type=int, default=3, help="scan this many times and report the fastest")
    parser.add_argument("--jobs", type=int, default=1, help="processes to use (0: one per CPU; default 1)")
    args = parser.parse_args(argv)

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    config = Config(root=stdlib, scan=ScanConfig(exclude=() if args.with_tests else TEST_DIRS))
    timings: list[float] = []
    report: ScanReport | None = None
    for _ in range(max(1, args.rounds)):
        started = time.perf_counter()
        report = scan_paths([stdlib], config, jobs=args.jobs)
        timings.append(time.perf_counter() - started)
    assert report is not None
    best = min(timings)

    tests = "with" if args.with_tests else "without"
    print(f"greencode scan of {stdlib} ({tests} test suites, jobs={args.jobs}, best of {len(timings)})\n")
    print_table(
        ["files", "best s", "files/s", "skipped", "findings", "target", "verdict"],
        [
            [
                str(report.files),
                f"{best:.2f}",
                f"{report.files / best:.0f}",
                str(len(report.skipped)),
                str(len(report.findings)),
                f"<= {TARGET_S:g} s",
                "ok" if best <= TARGET_S else "OVER",
            ]
        ],
    )
    print()
    counts = collections.Counter(f.rule for f in report.findings)
    print_table(
        ["rule", "name", "tactic", "hits"], [[r.id, r.name, r.tactic, str(counts[r.id])] for r in RULES]
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
