"""What ``greencode ab`` costs on a real third-party suite, beside one plain run of the same tests.

Target (issue 17): on a third-party suite, an unchanged commit passes and a commit that makes one test
(about 2 % of the suite's energy) 1.8 times slower fails naming it, each within 12 times the time of one plain
run of the selected tests.

The suite is more-itertools 10.5.0's ``tests/test_recipes.py`` (130 tests, one of them, ``test_long`` of
``NthPermutationTests``, about 2 % of the energy), from its sdist: set ``GREENCODE_BENCH_SUITE`` to an
unpacked sdist, or the script downloads it (as ``bench_third_party.py`` does). It is copied into a throwaway
git repository with three commits: the base, an unchanged commit (a README edit) and a commit raising that
test's index from 1,000,000 to 1,800,000 (1.8 times the permutations to step through). Nothing of it is kept.

Each trial runs a plain ``pytest`` of the selected tests, then ``greencode ab`` with its defaults, then
another plain run; the ratio is ``greencode ab``'s time over the median of the plain runs around it (wall
time, and CPU time of all child processes: less sensitive to what else the machine is doing). Both use
``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` as ``tests/test_ab.py`` does, so the plain run is the fast one.

Usage: ``python benchmarks/bench_ab_cost.py [--trials N]`` (default 3 per scenario; a trial takes about a
minute on a busy 2-core machine).
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table
from _timing import timed_run
from bench_ab import environment
from bench_third_party import SDIST, suite_root

SELECTED = "tests/test_recipes.py"
SLOW_TEST = "tests/test_recipes.py::NthPermutationTests::test_long"
#: test_long steps through this many permutations; the slower commit makes it 1.8 times as many
INDEX_LINE, SLOWER_LINE = "        index = 1000000\n", "        index = 1800000\n"
TARGET = 12.0


def _git(repo: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit(repo: Path, env: dict[str, str], message: str) -> str:
    _git(repo, env, "add", "-A")
    _git(repo, env, "commit", "-q", "-m", message)
    return _git(repo, env, "rev-parse", "HEAD")


def make_repo(suite: Path, root: Path, env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """The suite as a git repository: base, an unchanged commit and the slower commit (their hashes)."""
    repo = root / "repo"
    shutil.copytree(suite, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    _git(repo, env, "init", "-q", "-b", "main")
    commits = {"base": _commit(repo, env, "base")}
    readme = repo / "README.rst"
    readme.write_text(readme.read_text() + "\nA line that changes no code.\n")
    commits["unchanged"] = _commit(repo, env, "docs only")
    tests = repo / SELECTED
    text = tests.read_text()
    if text.count(INDEX_LINE) != 1:
        sys.exit(f"bench_ab_cost: {SELECTED} does not hold {INDEX_LINE.strip()!r} once; is it {SDIST}?")
    tests.write_text(text.replace(INDEX_LINE, SLOWER_LINE))
    commits["one test 1.8x slower"] = _commit(repo, env, "test_long: 1.8x the permutations")
    _git(repo, env, "checkout", "-q", commits["base"])
    return repo, commits


def plain(repo: Path, env: dict[str, str]) -> tuple[float, float]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:greencode", SELECTED]
    wall, cpu, code = timed_run(command, repo, env)
    if code != 0:
        sys.exit("bench_ab_cost: the plain run of the selected tests failed")
    return wall, cpu


def ab(repo: Path, env: dict[str, str], base: str, head: str, output: Path) -> tuple[float, float, dict]:
    command = [sys.executable, "-m", "greencode", "ab", "--base", base, "--head", head, "--json", str(output)]
    wall, cpu, _ = timed_run([*command, "--", SELECTED], repo, env)
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ab-cost-") as directory:
        scratch = Path(directory)
        suite = suite_root(scratch / "sdist")
        if suite is None:
            print(
                f"skipped: {SDIST} could not be downloaded (set GREENCODE_BENCH_SUITE to an unpacked sdist)"
            )
            return 0
        env = environment(scratch)
        repo, commits = make_repo(suite, scratch, env)
        plain(repo, env)  # warm the file cache and bytecode, as a developer's second run would be
        rows, good = [], True
        for scenario, wanted in (("unchanged", "passed"), ("one test 1.8x slower", "failed: ")):
            ratios_wall, ratios_cpu, results = [], [], []
            for trial in range(args.trials):
                before = plain(repo, env)
                wall, cpu, result = ab(repo, env, commits["base"], commits[scenario], scratch / "ab.json")
                after = plain(repo, env)
                ratios_wall.append(wall / statistics.median([before[0], after[0]]))
                ratios_cpu.append(cpu / statistics.median([before[1], after[1]]))
                results.append(result)
                print(
                    f"{scenario} #{trial + 1}: {outcome(result)}; {result['pairs']} pairs, {wall:.1f} s "
                    f"({ratios_wall[-1]:.1f}x plain wall, {ratios_cpu[-1]:.1f}x plain CPU)",
                    file=sys.stderr,
                    flush=True,
                )
            verdicts = sorted({outcome(r) for r in results})
            right = all(
                outcome(r).startswith(wanted) and (wanted == "passed" or SLOW_TEST in _regressed(r))
                for r in results
            )
            worst = max(ratios_wall)
            within = worst <= TARGET
            good = good and right and within
            rows.append(
                [
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
        ["scenario", "trials", "outcome", "pairs", "ab s", "vs plain (wall)", "vs plain (CPU)", "target", ""],
        rows,
    )
    load = os.getloadavg()[0]
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python {sys.version.split()[0]}, "
        f"load average {load:.1f}; selected: {SELECTED} of {SDIST}"
    )
    return 0 if good else 1


def _regressed(result: dict) -> set[str]:
    return {c["node_id"] for c in result["gate"]["comparisons"] if c["verdict"] == "regression"}


if __name__ == "__main__":
    sys.exit(main())
