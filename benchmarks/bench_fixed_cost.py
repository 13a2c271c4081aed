"""What ``pytest --greencode`` costs once per run, whatever the suite: a project of one empty test, run
plainly (``-p no:greencode``) and measured, in alternating order; and the version state every measured run
ends with (:func:`greencode.vcs.vcs_state` on this checkout: its wall and CPU time, its own and its
``git`` processes', and how many ``git`` processes it starts).

On a suite of tiny tests this fixed part decides issue 17 item 1's target (within 1.1x a plain run), so
it is shown apart from the per-test cost that ``bench_tiny_tests.py`` measures. Each run is a fresh
process with its bytecode cached (``PYTHONDONTWRITEBYTECODE`` is unset: with it an editable install
recompiles every module on every run). ``GREENCODE_BENCH_PAIRS`` pairs (default 10).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table

PAIRS = int(os.environ.get("GREENCODE_BENCH_PAIRS", "10"))
PLAIN = ["-p", "no:greencode"]
MEASURED = ["--greencode"]


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_and_children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + children_cpu_s()


def run_once(project: Path, options: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one pytest run of ``project``."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options]
    cpu, started = children_cpu_s(), time.perf_counter()
    subprocess.run(command, cwd=project, env=env, capture_output=True, check=True)
    return time.perf_counter() - started, children_cpu_s() - cpu


def whole_runs(project: Path) -> list[list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for options in (PLAIN, MEASURED):  # caches bytecode, creates the history
        run_once(project, options, env)
    plain, measured = [], []
    for pair in range(PAIRS):
        order = [(PLAIN, plain), (MEASURED, measured)]
        for options, samples in order if pair % 2 == 0 else reversed(order):
            samples.append(run_once(project, options, env))
    rows = []
    for name, samples in (("plain", plain), ("--greencode", measured)):
        wall = statistics.median(s[0] for s in samples) * 1e3
        cpu = statistics.median(s[1] for s in samples) * 1e3
        rows.append([name, f"{wall:.0f}", f"{cpu:.0f}", ""])
    added_wall = statistics.median(m[0] - p[0] for p, m in zip(plain, measured, strict=True)) * 1e3
    added_cpu = statistics.median(m[1] - p[1] for p, m in zip(plain, measured, strict=True)) * 1e3
    rows.append(["added (median of pairs)", f"{added_wall:.0f}", f"{added_cpu:.0f}", ""])
    return rows


def version_state(root: Path, calls: int = 30) -> list[str]:
    from greencode import vcs

    started_git = []
    real_run = subprocess.run

    def counting(*args: object, **kwargs: object) -> object:
        started_git.append(args)
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    subprocess.run = counting  # type: ignore[assignment]
    try:
        vcs.vcs_state(root, [root / ".greencode"])
    finally:
        subprocess.run = real_run
    samples = []
    for _ in range(calls):
        cpu, started = own_and_children_cpu_s(), time.perf_counter()
        vcs.vcs_state(root, [root / ".greencode"])
        samples.append((time.perf_counter() - started, own_and_children_cpu_s() - cpu))
    wall = statistics.median(s[0] for s in samples) * 1e3
    cpu = statistics.median(s[1] for s in samples) * 1e3
    return ["vcs_state (this checkout)", f"{wall:.1f}", f"{cpu:.1f}", str(len(started_git))]


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        (project / "test_one.py").write_text("def test_one():\n    pass\n")
        rows = whole_runs(project)
    rows.append(version_state(Path(__file__).resolve().parents[1]))
    print(f"one empty test, {PAIRS} interleaved pairs; load {os.getloadavg()[0]:.1f}")
    print_table(["what", "wall ms", "CPU ms", "git processes"], rows)


if __name__ == "__main__":
    main()
