"""What ``greencode ab`` costs on real third-party suites, beside one plain run of the same tests.

Target (issue 17): on a third-party suite, an unchanged commit passes and a commit that makes one test
(about 2 % of the suite's energy) 1.8 times slower fails naming it, each within 12 times the time of one plain
run of the selected tests.

Two suites, from their sdists (downloaded, or set the suite's variable to an unpacked sdist):

- more-itertools 10.5.0's ``tests/test_recipes.py`` (130 tests; ``GREENCODE_BENCH_SUITE``): the slower commit
  raises ``NthPermutationTests::test_long``'s index from 1,000,000 to 1,800,000 (1.8 times the permutations
  to step through; about 2 % of the energy);
- cachetools 5.5.0's ``tests`` (215 tests, one of them calling ``gc.collect``;
  ``GREENCODE_BENCH_CACHETOOLS``): the slower commit makes ``LFUCacheTest::test_pickle_maxsize`` do its
  work twice.

Each is copied into a throwaway git repository with three commits: the base, an unchanged commit (a README
edit) and the slower commit. Nothing of it is kept. Each trial runs a plain ``pytest`` of the selected
tests, then ``greencode ab`` with its defaults, then another plain run; the ratio is ``greencode ab``'s time
over the median of the plain runs around it (wall time, and CPU time of all child processes: less sensitive
to what else the machine is doing). Both use ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` as ``tests/test_ab.py``
does, so the plain run is the fast one.

Usage: ``python benchmarks/bench_ab_cost.py [--trials N] [--suite NAME] [--fresh-processes]
[--pairs-per-process N]`` (default 3 trials per scenario; ``--fresh-processes`` measures ``greencode ab
--fresh-processes``, the process per run of before; ``--pairs-per-process 0`` one process per side serving
every pair, without generations).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table
from _timing import timed_run
from bench_ab import environment
from bench_third_party import SDIST, suite_root, unpacked_sdist

TARGET = 12.0


@dataclass(frozen=True)
class Suite:
    """A third-party suite and the one-line change that makes one of its tests slower."""

    name: str
    selected: str
    slow_test: str
    #: the file changed, the text replaced and its replacement (which must occur once)
    slow_file: str
    old: str
    new: str
    #: the unpacked sdist's root, or None when it cannot be had
    root: Path | None


def more_itertools(scratch: Path) -> Suite:
    return Suite(
        "more-itertools",
        "tests/test_recipes.py",
        "tests/test_recipes.py::NthPermutationTests::test_long",
        "tests/test_recipes.py",
        "        index = 1000000\n",
        "        index = 1800000\n",
        suite_root(scratch / "more-itertools"),
    )


CACHETOOLS = "cachetools==5.5.0"
LFU_OVERRIDE = """
    def test_pickle_maxsize(self):
        # the benchmark's slower commit: the mixin's test, twice
        CacheTestMixin.test_pickle_maxsize(self)
        CacheTestMixin.test_pickle_maxsize(self)
"""


def cachetools(scratch: Path) -> Suite:
    return Suite(
        "cachetools",
        "tests",
        "tests/test_lfu.py::LFUCacheTest::test_pickle_maxsize",
        "tests/test_lfu.py",
        "    Cache = LFUCache\n",
        "    Cache = LFUCache\n" + LFU_OVERRIDE,
        unpacked_sdist(CACHETOOLS, "GREENCODE_BENCH_CACHETOOLS", scratch / "cachetools"),
    )


SUITES = {"more-itertools": more_itertools, "cachetools": cachetools}


def _git(repo: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit(repo: Path, env: dict[str, str], message: str) -> str:
    _git(repo, env, "add", "-A")
    _git(repo, env, "commit", "-q", "-m", message)
    return _git(repo, env, "rev-parse", "HEAD")


def make_repo(suite: Suite, root: Path, env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """The suite as a git repository: base, an unchanged commit and the slower commit (their hashes)."""
    assert suite.root is not None
    repo = root / suite.name
    shutil.copytree(suite.root, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    _git(repo, env, "init", "-q", "-b", "main")
    commits = {"base": _commit(repo, env, "base")}
    readme = repo / "README.rst"
    readme.write_text(readme.read_text() + "\nA line that changes no code.\n")
    commits["unchanged"] = _commit(repo, env, "docs only")
    tests = repo / suite.slow_file
    text = tests.read_text()
    if text.count(suite.old) != 1:
        sys.exit(f"bench_ab_cost: {suite.slow_file} does not hold {suite.old.strip()!r} once")
    tests.write_text(text.replace(suite.old, suite.new))
    commits["one test slower"] = _commit(repo, env, f"{suite.slow_test}: slower")
    _git(repo, env, "checkout", "-q", commits["base"])
    return repo, commits


def plain(repo: Path, env: dict[str, str], suite: Suite) -> tuple[float, float]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:greencode"]
    wall, cpu, code = timed_run([*command, suite.selected], repo, _importing(repo, env))
    if code != 0:
        sys.exit(f"bench_ab_cost: the plain run of {suite.name}'s selected tests failed")
    return wall, cpu


def _importing(repo: Path, env: dict[str, str]) -> dict[str, str]:
    # the plain run imports the code under test from the tree, as each greencode ab side does
    src = repo / "src"
    return {**env, "PYTHONPATH": str(src if src.is_dir() else repo)}


def ab(
    repo: Path, env: dict[str, str], suite: Suite, commits: tuple[str, str], output: Path, options: list[str]
) -> tuple[float, float, dict]:
    command = [sys.executable, "-m", "greencode", "ab", "--base", commits[0], "--head", commits[1]]
    command += ["--json", str(output), *options]
    wall, cpu, _ = timed_run([*command, "--", suite.selected], repo, env)
    return wall, cpu, json.loads(output.read_text())


def outcome(result: dict) -> str:
    regressed = [c["node_id"] for c in result["gate"]["comparisons"] if c["verdict"] == "regression"]
    if not result["failed"]:
        return "passed" + (f", {len(result['undecided'])} undecided" if result["undecided"] else "")
    named = ", ".join(n.rsplit("::", 2)[-2] + "::" + n.rsplit("::", 1)[-1] for n in regressed)
    return f"failed: {named or result['summary']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="trials per scenario (default 3)")
    parser.add_argument(
        "--suite", choices=sorted(SUITES), action="append", help="only this suite (repeatable)"
    )
    parser.add_argument(
        "--fresh-processes", action="store_true", help="measure greencode ab --fresh-processes instead"
    )
    parser.add_argument(
        "--pairs-per-process",
        metavar="N",
        help="pass greencode ab --pairs-per-process N (0: one process per side for every pair)",
    )
    args = parser.parse_args()
    options = ["--fresh-processes"] if args.fresh_processes else []
    options += ["--pairs-per-process", args.pairs_per_process] if args.pairs_per_process else []
    rows, good, loads = [], True, [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="bench-ab-cost-") as directory:
        scratch = Path(directory)
        env = environment(scratch)
        for name in args.suite or list(SUITES):
            suite = SUITES[name](scratch / "sdists")
            if suite.root is None:
                print(f"skipped {name}: its sdist could not be downloaded (see the module's docstring)")
                continue
            repo, commits = make_repo(suite, scratch, env)
            plain(repo, env, suite)  # warm the file cache and bytecode, as a developer's second run would be
            for scenario, wanted in (("unchanged", "passed"), ("one test slower", "failed: ")):
                ratios_wall, ratios_cpu, results = [], [], []
                for trial in range(args.trials):
                    before = plain(repo, env, suite)
                    pair = (commits["base"], commits[scenario])
                    wall, cpu, result = ab(repo, env, suite, pair, scratch / "ab.json", options)
                    after = plain(repo, env, suite)
                    loads.append(os.getloadavg()[0])
                    plain_s = statistics.median([before[0], after[0]])
                    ratios_wall.append(wall / plain_s)
                    ratios_cpu.append(cpu / statistics.median([before[1], after[1]]))
                    results.append(result)
                    unit = result.get("run_s")
                    unit_words = (
                        f"; ab's run (a plain-run estimate) {unit / plain_s:.2f}x plain, ab took "
                        f"{result['cost_runs']:.1f} of them"
                        if unit
                        else ""
                    )
                    estimate = result.get("plain_run_s")
                    unit_words += (
                        f"; its plain-run estimate {estimate / plain_s:.2f}x plain" if estimate else ""
                    )
                    print(
                        f"{name}, {scenario} #{trial + 1}: {outcome(result)}; {result['pairs']} pairs, "
                        f"{wall:.1f} s ({ratios_wall[-1]:.1f}x plain wall, {ratios_cpu[-1]:.1f}x plain CPU; "
                        f"plain {before[0]:.2f}/{after[0]:.2f} s{unit_words}; load {loads[-1]:.1f}); "
                        f"stopped: {result['stopped']}",
                        file=sys.stderr,
                        flush=True,
                    )
                verdicts = sorted({outcome(r) for r in results})
                right = all(
                    outcome(r).startswith(wanted) and (wanted == "passed" or suite.slow_test in _regressed(r))
                    for r in results
                )
                worst = max(ratios_wall)
                within = worst <= TARGET
                good = good and right and within
                rows.append(
                    [
                        name,
                        scenario,
                        str(args.trials),
                        "; ".join(verdicts),
                        "/".join(str(r["pairs"]) for r in results),
                        f"{statistics.median(r['elapsed_s'] for r in results):.1f}",
                        f"{statistics.median(ratios_wall):.1f}x (max {worst:.1f}x)",
                        f"{statistics.median(ratios_cpu):.1f}x (max {max(ratios_cpu):.1f}x)",
                        f"<= {TARGET:g}x",
                        ("ok" if within else "OVER") + ("" if right else ", WRONG VERDICT"),
                    ]
                )
    print_table(
        [
            "suite",
            "scenario",
            "trials",
            "outcome",
            "pairs",
            "ab s",
            "vs plain (wall)",
            "vs plain (CPU)",
            "target",
            "",
        ],
        rows,
    )
    mode = " ".join(options) or "process generations per side (the defaults)"
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python {sys.version.split()[0]}, "
        f"load average {min(loads):.1f}-{max(loads):.1f}; greencode ab: {mode}; {SDIST} and {CACHETOOLS}"
    )
    return 0 if good else 1


def _regressed(result: dict) -> set[str]:
    return {c["node_id"] for c in result["gate"]["comparisons"] if c["verdict"] == "regression"}


if __name__ == "__main__":
    sys.exit(main())
