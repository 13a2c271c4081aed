"""Timing one command as the cost benchmarks compare runs: wall time and its processes' CPU time; one
quiet pytest session of a benchmark's project."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def timed_run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the process and its children, and exit code (0 or 1: pass or fail).

    Any other exit code stops the benchmark with the command's output tails, since its figures would be
    those of a crash.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"{' '.join(command)}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return wall, cpu, done.returncode


def pytest_session(
    root: Path, options: list[str], env: dict[str, str] | None = None, paths: tuple[str, ...] = ("tests",)
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall seconds of one quiet pytest session of ``root``'s ``paths`` (default its ``tests``; no cache
    written; the history in the project's own ``.bench-history.sqlite``), and its result."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, *paths],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GREENCODE_HISTORY": str(root / ".bench-history.sqlite"), **(env or {})},
    )
    return time.perf_counter() - started, result
