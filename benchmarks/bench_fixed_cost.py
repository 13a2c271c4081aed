"""What ``pytest --greencode`` costs once per run, whatever the suite: a project of one empty test, run
plainly (``-p no:greencode``) and measured, in alternating order; and the version state every measured run
ends with (:func:`greencode.vcs.vcs_state` on this checkout: its wall and CPU time, its own and its
``git`` processes', and how many ``git`` processes it starts).

On a suite of tiny tests this fixed part decides issue 17 item 1's target (within 1.1x a plain run), so
it is shown apart from the per-test cost that ``bench_tiny_tests.py`` measures. Each run is a fresh
process with its bytecode cached (``PYTHONDONTWRITEBYTECODE`` is unset: with it an editable install
recompiles every module on every run). ``GREENCODE_BENCH_PAIRS`` pairs (default 10).

``GREENCODE_BENCH_SUITE=DIR`` runs a real small suite instead of the empty test (in ``DIR``, with the
pytest arguments in ``GREENCODE_BENCH_ARGS``, e.g. ``tests``), and adds the ratio of the measured run's CPU
time to the plain run's (median of the pairs): item 1's target on a suite whose tests take well under a
second.
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
SUITE = os.environ.get("GREENCODE_BENCH_SUITE", "")
SUITE_ARGS = os.environ.get("GREENCODE_BENCH_ARGS", "").split()
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
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, *SUITE_ARGS]
    cpu, started = children_cpu_s(), time.perf_counter()
    # a third-party suite may have failing tests of its own: its exit code is not this benchmark's concern
    subprocess.run(command, cwd=project, env=env, capture_output=True, check=not SUITE)
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
    if SUITE:
        ratio = statistics.median(m[1] / p[1] for p, m in zip(plain, measured, strict=True))
        rows.append(["CPU --greencode / plain (median of pairs)", "", f"{ratio:.3f}x", ""])
    return rows


def version_state(root: Path, calls: int = 30) -> list[str]:
    from greencode import vcs

    started_git = []
    real_popen = subprocess.Popen

    def counting(*args: object, **kwargs: object) -> object:
        started_git.append(args)
        return real_popen(*args, **kwargs)  # type: ignore[call-overload]

    subprocess.Popen = counting  # type: ignore[assignment,misc]
    try:
        vcs.vcs_state(root, [root / ".greencode"])
    finally:
        subprocess.Popen = real_popen  # type: ignore[misc]
    samples = []
    for _ in range(calls):
        cpu, started = own_and_children_cpu_s(), time.perf_counter()
        vcs.vcs_state(root, [root / ".greencode"])
        samples.append((time.perf_counter() - started, own_and_children_cpu_s() - cpu))
    wall = statistics.median(s[0] for s in samples) * 1e3
    cpu = statistics.median(s[1] for s in samples) * 1e3
    return ["vcs_state (this checkout)", f"{wall:.1f}", f"{cpu:.1f}", str(len(started_git))]


def main() -> None:
    if SUITE:
        rows = whole_runs(Path(SUITE))
        what = f"{SUITE} {' '.join(SUITE_ARGS)}"
    else:
        with tempfile.TemporaryDirectory() as scratch:
            project = Path(scratch)
            (project / "test_one.py").write_text("def test_one():\n    pass\n")
            rows = whole_runs(project)
        what = "one empty test"
    rows.append(version_state(Path(__file__).resolve().parents[1]))
    print(f"{what}, {PAIRS} interleaved pairs; load {os.getloadavg()[0]:.1f}")
    print_table(["what", "wall ms", "CPU ms", "git processes"], rows)


if __name__ == "__main__":
    main()
