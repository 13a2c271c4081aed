"""How often the gate cries wolf and how often it catches a regression, on this machine: ``greencode ab``
(base and head paired and interleaved in one job) against comparing with a stored baseline.

A throwaway git repository holds a synthetic CPU-bound suite (two pure-Python loops, about 20 and 40 ms of
CPU per call, measured by the estimator, 3 rounds per run). Each trial measures one scenario:

- **A/A**: head is the base code, unchanged;
- **+10 %** and **+20 %**: head does that much more work (an uncommitted change, as on a developer's machine).

and judges it three ways, all with the same ``fail_on`` (default 5 %: at ``fail_on = 10%`` a +10 % change
sits on the threshold, where the gate may flag it at most ``alpha`` of the time) and ``alpha = 0.05``:

- ``greencode ab`` with its defaults (4 to 16 pairs, adaptive), head being the working tree;
- a stored baseline of **one** saved run (``pytest --greencode-save`` on the base, then ``pytest
  --greencode-compare`` on head in a later process): the gate assumes its default run-to-run noise;
- a stored baseline **pooling three** saved runs of the base commit: the gate learns the noise from them.

The stored baselines are saved minutes before the comparison on the same host — the most favourable case
for them; across CI jobs their noise would be larger. A test counts as flagged when its verdict is
``regression``. The false-alarm rate is over A/A tests, the detection rate over tests of a regressed trial.

Usage: ``python benchmarks/bench_ab.py [--runs N] [--max-pairs N] [--fail-on PCT]`` (default 20 trials per
scenario; a ``greencode ab`` trial takes 5 to 20 s here, so the default takes a quarter of an hour or more).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table

from greencode.baselines import load_baseline
from greencode.results_file import load_results

PACKAGE = """\
WORK = {work}


def loop(n):
    total = 0
    for i in range(int(n * WORK)):
        total += i * i
    return total
"""

TESTS = """\
import pytest

import synth


@pytest.mark.parametrize("size", [150_000, 300_000])
def test_loop(size):
    assert synth.loop(size) >= 0
"""

SCENARIOS = (("A/A", 1.0), ("+10%", 1.1), ("+20%", 1.2))
METHODS = ("greencode ab", "baseline, 1 saved run", "baseline, 3 pooled runs")


def environment(scratch: Path) -> dict[str, str]:
    """Fast side processes, a predictable git, no CI variables, the history in ``scratch``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_", "GREENCODE_"))}
    env.update(
        {
            # the side processes start three times faster without scanning every installed pytest plugin
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
            "GREENCODE_HISTORY": str(scratch / "history.sqlite"),
        }
    )
    return env


def _run(command: list[str], repo: Path, env: dict[str, str], allowed: tuple[int, ...] = (0,)) -> None:
    completed = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    if completed.returncode not in allowed:
        sys.exit(
            f"bench_ab: {' '.join(command[2:])} exited {completed.returncode}:\n"
            f"{completed.stdout[-2000:]}{completed.stderr[-2000:]}"
        )


def _set_work(repo: Path, work: float) -> None:
    (repo / "synth.py").write_text(PACKAGE.format(work=work))


def _make_repo(root: Path, env: dict[str, str], fail_on: str) -> Path:
    repo = root / "repo"
    (repo / "tests").mkdir(parents=True)
    _set_work(repo, 1.0)
    (repo / "tests" / "test_synth.py").write_text(TESTS)
    (repo / "pyproject.toml").write_text(
        f'[tool.greencode]\nmeter = "estimate"\nrounds = 3\nfail_on = "{fail_on}"\n'
    )
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        _run(["git", *command], repo, env)
    return repo


def _regressions(results: Mapping[str, Any]) -> tuple[int, int, int]:
    """(tests flagged as regressions, tests compared, tests inconclusive) in a gate section."""
    comparisons = [c for c in results["comparisons"] if c["verdict"] not in ("new", "missing")]
    verdicts = [c["verdict"] for c in comparisons]
    return verdicts.count("regression"), len(verdicts), verdicts.count("inconclusive")


def _pytest(repo: Path, env: dict[str, str], *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "pytest_greencode.plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "--greencode",
        *options,
        "tests",
    ]


def _stored(
    repo: Path, env: dict[str, str], scratch: Path, work: float
) -> dict[str, tuple[tuple[int, int, int], float]]:
    """One trial of both stored-baseline variants: save on the base, compare head in a later process; the
    counts and the seconds each variant took (the pooled one reuses the first save, and is charged for it)."""
    baseline, output = scratch / "baseline.json", scratch / "compare.json"
    baseline.unlink(missing_ok=True)
    found, spent = {}, 0.0
    for runs, method in ((1, METHODS[1]), (3, METHODS[2])):
        clock = time.monotonic()
        _set_work(repo, 1.0)  # the committed base, clean: repeated saves of it pool their runs
        while _saved_runs(baseline) < runs:
            _run(_pytest(repo, env, "--greencode-save", f"--greencode-baseline={baseline}"), repo, env)
        saving = time.monotonic() - clock
        _set_work(repo, work)
        _run(
            _pytest(repo, env, f"--greencode-compare={baseline}", f"--greencode-json={output}"),
            repo,
            env,
            allowed=(0, 1),
        )
        found[method] = (
            _regressions(load_results(output).gate or {}),
            time.monotonic() - clock + spent,
        )
        spent += saving
    _set_work(repo, 1.0)
    return found


def _saved_runs(baseline: Path) -> int:
    saved = load_baseline(baseline)
    return min(len(e.runs_j) for e in saved.entries.values()) if saved else 0


def _ab(
    repo: Path, env: dict[str, str], scratch: Path, work: float, max_pairs: int
) -> tuple[tuple[int, int, int], int]:
    output = scratch / "ab.json"
    _set_work(repo, work)
    _run(
        [
            sys.executable,
            "-m",
            "greencode",
            "ab",
            "--base",
            "HEAD",
            f"--max-pairs={max_pairs}",
            f"--json={output}",
            "--",
            "tests",
        ],
        repo,
        env,
        allowed=(0, 1),
    )
    _set_work(repo, 1.0)
    result = json.loads(output.read_text())
    flagged, compared, _ = _regressions(result["gate"])
    return (flagged, compared, len(result["undecided"])), result["pairs"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="trials per scenario (default 20)")
    parser.add_argument("--max-pairs", type=int, default=16, help="greencode ab --max-pairs (default 16)")
    parser.add_argument("--fail-on", default="5%", help="the gate's threshold for every method (default 5%%)")
    args = parser.parse_args(argv)
    totals = {(s, m): [0, 0, 0] for s, _ in SCENARIOS for m in METHODS}
    pairs: dict[str, list[int]] = {s: [] for s, _ in SCENARIOS}
    seconds: dict[tuple[str, str], list[float]] = {k: [] for k in totals}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as directory:
        scratch = Path(directory)
        env = environment(scratch)
        repo = _make_repo(scratch, env, args.fail_on)
        for trial in range(args.runs):
            for scenario, work in SCENARIOS:
                clock = time.monotonic()
                found, used = _ab(repo, env, scratch, work, args.max_pairs)
                results = {METHODS[0]: (found, time.monotonic() - clock)}
                results.update(_stored(repo, env, scratch, work))
                pairs[scenario].append(used)
                for method, (counts, spent) in results.items():
                    seconds[(scenario, method)].append(spent)
                    for i, value in enumerate(counts):
                        totals[(scenario, method)][i] += value
                print(
                    f"trial {trial + 1}/{args.runs} {scenario}: "
                    + "; ".join(f"{m}: {c[0]}/{c[1]} flagged" for m, (c, _) in results.items())
                    + f" ({used} pairs)",
                    file=sys.stderr,
                    flush=True,
                )
    rows = []
    for scenario, _ in SCENARIOS:
        for method in METHODS:
            flagged, compared, doubtful = totals[(scenario, method)]
            label = "false alarms" if scenario == "A/A" else "detected"
            rows.append(
                [
                    scenario,
                    method,
                    f"{flagged}/{compared}",
                    f"{flagged / max(compared, 1):.0%} {label}",
                    f"{doubtful}",
                    f"{statistics.median(pairs[scenario]):g}" if method == METHODS[0] else "",
                    f"{statistics.median(seconds[(scenario, method)]):.1f}",
                ]
            )
    print_table(
        ["scenario", "method", "flagged", "rate", "undecided / inconclusive", "median pairs", "s/trial"], rows
    )
    print(
        f"\n{args.runs} trials per scenario in {time.monotonic() - started:.0f} s; fail_on {args.fail_on}, "
        f"alpha 0.05; estimator, 3 rounds per run; machine: {platform.machine()}, {os.cpu_count()} logical "
        f"CPUs, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
