"""``pytest --greencode`` against a real third-party suite: more-itertools' own tests, from its sdist.

Target (issue 17): ``pytest --greencode`` (default settings: the estimator here, one round) within 1.1x the
wall time of a plain run (``-p no:greencode``), with the same outcome counts. Plain and measured runs
alternate (plain, measured, measured, plain, ...: a balanced order, so drifts of the machine's speed and the
second-of-a-pair slowdown hit both alike); the table shows medians and the median of the paired ratios.
A run with ``--greencode-rounds 5`` (the old default) is timed once beside them.

The suite is the sdist's ``tests/`` folder: set ``GREENCODE_BENCH_SUITE`` to an unpacked sdist, or the
script downloads ``more-itertools==10.5.0`` with ``pip download`` into a temporary folder (skipped when
that fails). ``PAIRS`` bounds the time it takes (each run is a full pytest session of the suite).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table
from _timing import pytest_session

SDIST = "more-itertools==10.5.0"
PAIRS = int(os.environ.get("GREENCODE_BENCH_PAIRS", "3"))
PLAIN = ["-p", "no:greencode"]
MEASURED = ["--greencode"]
FIVE_ROUNDS = ["--greencode", "--greencode-rounds=5"]


def suite_root(scratch: Path) -> Path | None:
    return unpacked_sdist(SDIST, "GREENCODE_BENCH_SUITE", scratch)


def unpacked_sdist(spec: str, variable: str, scratch: Path) -> Path | None:
    """The unpacked sdist of ``spec``: the directory ``$variable`` names, else downloaded into ``scratch``
    (None when it cannot be)."""
    given = os.environ.get(variable)
    if given:
        return Path(given)
    scratch.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", spec]
    download = subprocess.run([*command, "-d", str(scratch)], capture_output=True, text=True, check=False)
    archives = list(scratch.glob("*.tar.gz"))
    if download.returncode != 0 or not archives:
        return None
    with tarfile.open(archives[0]) as archive:
        archive.extractall(scratch, filter="data")
    return next(path for path in scratch.iterdir() if path.is_dir())


def run(root: Path, options: list[str]) -> tuple[float, str]:
    """Wall seconds of one pytest session of the suite, and its summary line."""
    elapsed, result = pytest_session(root, options)
    summary = [line for line in result.stdout.splitlines() if re.search(r"\d+ passed", line)]
    return elapsed, re.sub(r" in [\d.]+s.*", "", summary[-1] if summary else f"exit {result.returncode}")


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        root = suite_root(Path(scratch))
        if root is None:
            print(
                f"skipped: {SDIST} could not be downloaded (set GREENCODE_BENCH_SUITE to an unpacked sdist)"
            )
            return 0
        plain: list[float] = []
        measured: list[float] = []
        outcomes: set[tuple[str, str]] = set()
        for index in range(PAIRS):
            order = [(PLAIN, plain), (MEASURED, measured)]
            for options, times in order if index % 2 == 0 else reversed(order):
                elapsed, summary = run(root, options)
                times.append(elapsed)
                outcomes.add(("plain" if options is PLAIN else "measured", summary))
        five, five_summary = run(root, FIVE_ROUNDS)
    ratios = [m / p for m, p in zip(measured, plain, strict=True)]
    ratio = statistics.median(ratios)
    plain_s = statistics.median(plain)
    print_table(
        ["run", "median s", "runs", "vs plain", "target", ""],
        [
            ["plain (-p no:greencode)", f"{plain_s:.2f}", str(len(plain)), "", "", ""],
            [
                "pytest --greencode (defaults)",
                f"{statistics.median(measured):.2f}",
                str(len(measured)),
                f"{ratio:.3f}x (paired median)",
                "<= 1.1x",
                "ok" if ratio <= 1.1 else "OVER",
            ],
            ["pytest --greencode --greencode-rounds 5", f"{five:.2f}", "1", f"{five / plain_s:.2f}x", "", ""],
        ],
    )
    print()
    summaries = sorted(outcomes)
    same = len({summary for _, summary in summaries}) == 1
    print(
        f"outcome lines ({'identical' if same else 'DIFFERENT'}): "
        + "; ".join(f"{k}: {s}" for k, s in summaries)
    )
    print(f"five rounds: {five_summary}")
    print(f"\nmachine: {os.uname().machine}, {os.cpu_count()} logical CPUs, Python {sys.version.split()[0]}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
