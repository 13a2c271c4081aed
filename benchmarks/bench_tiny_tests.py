"""``pytest --greencode`` against a suite of very small tests: packaging 24.1's ``tests/test_version.py``
(18,064 tests of a few hundred microseconds each), where the plugin's own work per test shows most.

Target (issue 17, item 1): within 1.1x the CPU time (user + system) of a plain run (``-p no:greencode``),
with the same outcome line. Plain and measured runs alternate in a balanced order (plain, measured,
measured, plain, ...); the table shows medians and the median of the paired ratios. CPU time, not wall
time: on a shared machine other processes stretch the wall clock of either run by far more than the
plugin costs, while the CPU a run uses moves much less.

The suite is the sdist's: set ``GREENCODE_BENCH_TINY_SUITE`` to an unpacked packaging sdist, or the script
downloads ``packaging==24.1`` with ``pip download`` into a temporary folder (skipped when that fails). The
sdist's ``src`` goes first on ``PYTHONPATH`` (so the tests import that packaging, not the one pytest
brought), with its test dependency ``pretend`` installed beside it. ``GREENCODE_BENCH_PAIRS`` pairs
(default 3).
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table
from bench_third_party import unpacked_sdist

SDIST = "packaging==24.1"
TESTS = "tests/test_version.py"
PAIRS = int(os.environ.get("GREENCODE_BENCH_PAIRS", "3"))
PLAIN = ["-p", "no:greencode"]
MEASURED = ["--greencode"]


def environment(root: Path, scratch: Path) -> dict[str, str] | None:
    """The tests' environment: the sdist's sources and ``pretend`` first on the path (None when ``pretend``
    cannot be installed)."""
    extra = scratch / "site"
    install = [sys.executable, "-m", "pip", "install", "-q", "--target", str(extra), "pretend"]
    if subprocess.run(install, capture_output=True, check=False).returncode != 0:
        return None
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root / "src"), str(extra)]),
        "GREENCODE_HISTORY": str(scratch / "history.sqlite"),
    }


def load_average() -> float:
    return os.getloadavg()[0]


def cpu_run(command: list[str], root: Path, env: dict[str, str]) -> tuple[float, str]:
    """CPU seconds (user + system) of one pytest session, and its outcome line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in done.stdout.splitlines() if re.search(r"\d+ passed", line)]
    if done.returncode != 0 or not lines:
        raise SystemExit(
            f"{' '.join(command)}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, re.sub(r" in [\d.]+s.*", "", lines[-1])


def main() -> int:
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        root = unpacked_sdist(SDIST, "GREENCODE_BENCH_TINY_SUITE", scratch / "sdist")
        env = environment(root, scratch) if root is not None else None
        if root is None or env is None:
            print(f"skipped: {SDIST} or its test dependency could not be downloaded")
            return 0
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TESTS]
        cpu: dict[str, list[float]] = {"plain": [], "measured": []}
        outcomes: set[tuple[str, str]] = set()
        loads = [load_average()]
        for index in range(PAIRS):
            order = [("plain", PLAIN), ("measured", MEASURED)]
            for label, options in order if index % 2 == 0 else reversed(order):
                seconds, summary = cpu_run([*command, *options], root, env)
                cpu[label].append(seconds)
                loads.append(load_average())
                outcomes.add((label, summary))
    ratios = [m / p for m, p in zip(cpu["measured"], cpu["plain"], strict=True)]
    ratio = statistics.median(ratios)
    print(f"{SDIST} {TESTS}, CPU seconds (user + system) of each pytest process, {PAIRS} pairs")
    print_table(
        ["run", "CPU s (each run)", "median", "vs plain", "target", ""],
        [
            ["plain (-p no:greencode)", ", ".join(f"{s:.2f}" for s in cpu["plain"]),
             f"{statistics.median(cpu['plain']):.2f}", "", "", ""],
            ["pytest --greencode (defaults)", ", ".join(f"{s:.2f}" for s in cpu["measured"]),
             f"{statistics.median(cpu['measured']):.2f}",
             f"{ratio:.3f}x (paired median; pairs {', '.join(f'{r:.3f}' for r in ratios)})", "<= 1.1x",
             "ok" if ratio <= 1.1 else "OVER"],
        ],
    )  # fmt: skip
    per_test = (statistics.median(cpu["measured"]) - statistics.median(cpu["plain"])) / 18_064 * 1e6
    print(f"\nplugin CPU per test (difference of medians / 18,064 tests): {per_test:.0f} µs")
    print(f"load average during the runs: {min(loads):.1f}-{max(loads):.1f}")
    same = len({summary for _, summary in outcomes}) == 1
    print(
        f"outcome lines ({'identical' if same else 'DIFFERENT'}): "
        + "; ".join(f"{k}: {s}" for k, s in sorted(outcomes))
    )
    print(f"machine: {os.uname().machine}, {os.cpu_count()} logical CPUs, Python {sys.version.split()[0]}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
