"""Scanner speed and rule noise on the CPython standard library and on real third-party projects.

Scans the standard library of the running interpreter (``sysconfig.get_paths()["stdlib"]``; its test suites
only with ``--with-tests``; site-packages never) and prints two tables: files, seconds, files per second and
skipped files; then each rule's hit count. The stdlib is mature, reviewed code, so a rule's hit count there
is mostly a measure of its noise.

With ``--projects DIR...`` it also scans those directories (third-party projects unpacked from their
sdists, e.g. ``pip download --no-binary :all: --no-deps requests==2.32.3 -d /tmp/x`` and ``tar xzf``; never
commit them) and prints findings per rule and per impact level, shown by default or only with ``--all``,
so the noise of every rule is visible in every run; ``--list`` prints each finding the default output
shows, for judging by reading the code. Files that need a newer Python are counted as skipped with the
version hint.

Each default finding is matched against the recorded judgements (``scanner_judgements.csv`` next to this
file: set, project, version, file:line relative to the sdist, rule, judgement, reason), and a last table
counts them per judged set: worth acting on, negligible, false positive, and shown now but never judged
(a finding that appeared since, to be read and recorded), then the same per rule. Precision is worth ÷
judged.

Target (issue 6): the whole stdlib (about 700 modules) in seconds - here, at most 10 s in one process.
"""

from __future__ import annotations

import argparse
import collections
import csv
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table

from greencode.config import Config, ScanConfig
from greencode.tactics.rules import RULES
from greencode.tactics.scanner import Finding, ScanReport, scan_paths

TARGET_S = 10.0
TEST_DIRS = ("test", "tests", "idle_test")
JUDGEMENTS = Path(__file__).with_name("scanner_judgements.csv")
VERDICTS = ("worth", "negligible", "false positive")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="greencode scan over the CPython standard library")
    parser.add_argument("--with-tests", action="store_true", help="also scan the stdlib's own test suites")
    parser.add_argument("--rounds", type=int, default=3, help="scan this many times and report the fastest")
    parser.add_argument("--jobs", type=int, default=1, help="processes to use (0: one per CPU; default 1)")
    parser.add_argument("--projects", nargs="*", default=[], metavar="DIR", help="also scan these projects")
    parser.add_argument("--list", action="store_true", help="print the findings shown by default per project")
    parser.add_argument(
        "--judgements", type=Path, default=JUDGEMENTS, help="recorded judgements (CSV) to count against"
    )
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]} on {sys.platform}\n")
    if args.projects:
        _projects([Path(p) for p in args.projects], args.list, args.judgements)
        return 0

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


def _projects(directories: list[Path], listing: bool, judgements: Path) -> None:
    """Findings per project, per rule and per impact level on real code."""
    reports = {d.as_posix(): scan_paths([d], Config(root=d), jobs=1) for d in directories}
    print_table(
        ["project", "files", "skipped", "tests left out", "shown", "all", "high", "medium", "low"],
        [
            [
                name,
                str(r.files),
                str(len(r.skipped)),
                str(r.tests_skipped),
                str(len(r.shown())),
                str(len(r.findings)),
                *(str(sum(f.impact == level for f in r.findings)) for level in ("high", "medium", "low")),
            ]
            for name, r in reports.items()
        ],
    )
    print()
    every = [f for r in reports.values() for f in r.findings]
    rows = []
    for rule in RULES:
        mine = [f for f in every if f.rule == rule.id]
        if mine:
            shown = sum(f.shown_by_default for f in mine)
            levels = [str(sum(f.impact == level for f in mine)) for level in ("high", "medium", "low")]
            rows.append([rule.id, rule.name, str(shown), str(len(mine)), *levels])
    print_table(["rule", "name", "shown", "all", "high", "medium", "low"], rows)
    for name, report in reports.items():
        for skipped in report.skipped:
            print(f"{name}: {skipped}")
        if listing:
            print(f"\n{name}:")
            for finding in report.shown():
                print(f"  {finding}")
    print()
    _judged([f for r in reports.values() for f in r.shown()], judgements)


def _judged(shown: list[Finding], judgements: Path) -> None:
    """Count the default findings against the recorded judgements, per judged set and in all."""
    with judgements.open(newline="", encoding="utf-8") as handle:
        recorded = list(csv.DictReader(handle))
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    per_rule: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for finding in shown:
        path = finding.path.replace("\\", "/")
        match = next(
            (
                row
                for row in recorded
                if row["rule"] == finding.rule
                and row["location"].rpartition(":")[2] == str(finding.line)
                and path.endswith("/" + row["location"].rpartition(":")[0])
            ),
            None,
        )
        verdict = match["judgement"] if match else "shown"
        counts[match["set"] if match else "not judged"][verdict] += 1
        per_rule[finding.rule][verdict] += 1
    _precision_table("judged set", counts)
    print()
    _precision_table("rule", per_rule)


def _precision_table(key: str, counts: dict[str, collections.Counter[str]]) -> None:
    """One row per key: the default findings judged worth, negligible or false, those never judged, and
    precision (worth / judged)."""
    rows = []
    for name, count in sorted(counts.items()):
        judged = sum(count[v] for v in VERDICTS)
        precision = f"{count['worth'] / judged:.0%}" if judged else "-"
        rows.append([name, *(str(count[v]) for v in VERDICTS), str(count["shown"]), precision])
    print_table([key, *VERDICTS, "not judged", "worth / judged"], rows)


if __name__ == "__main__":
    raise SystemExit(main())
