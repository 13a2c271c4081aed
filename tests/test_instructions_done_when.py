"""Issue 12's "done when", end to end under a real Valgrind: ``greencode ab --meter instructions`` on a tiny
git project, once on an unchanged commit and once on a commit that makes one function do 3 % more work.

Each ``greencode ab`` runs pytest twice under callgrind (tens of seconds each), so the two runs are made
once per module and every test below reads their JSON. They run on CPython 3.12+ (the perf trampoline
names Python functions; :mod:`trampoline_python` finds one).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from trampoline_python import NO_PYTHON_REASON, PYTHON, environment

from greencode.meters.valgrind import INSTALL_HINT

RECIPES = """\
def factor(n):
    total = 0
    for i in range(2, n):
        total += n % i
    return total


def checksum(data):
    total = 0
    for byte in data:
        total = (total * 31 + byte) % 65521
    return total
"""
TESTS = """\
from recipes import checksum, factor

DATA = bytes(range(256)) * 60


def test_factor():
    assert factor(20000) > 0


def test_checksum():
    assert checksum(DATA) >= 0
"""
# the head commit: checksum reads 3 % more bytes; factor and the tests are unchanged
MORE_WORK = RECIPES.replace("for byte in data:", "for byte in data + data[: len(data) * 3 // 100]:")


pytestmark = [
    pytest.mark.skipif(shutil.which("valgrind") is None, reason=INSTALL_HINT),
    pytest.mark.skipif(PYTHON is None, reason=NO_PYTHON_REASON),
]


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


def _ab(project: Path, base: str, output: Path) -> tuple[int, dict[str, Any]]:
    assert PYTHON is not None
    options = ["--meter=instructions", "--fail-on=1%", f"--base={base}", f"--json={output}"]
    done = subprocess.run(
        [PYTHON, "-m", "greencode", "ab", *options],
        cwd=project,
        env=environment(project.parent),
        capture_output=True,
        text=True,
        timeout=3000,  # two sessions under callgrind: minutes on a free machine, far more on a loaded one
    )
    assert output.is_file(), done.stdout + done.stderr
    return done.returncode, json.loads(output.read_text())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("done-when") / "recipes"
    project.mkdir()
    (project / "recipes.py").write_text(RECIPES)
    (project / "test_recipes.py").write_text(TESTS)
    (project / "pyproject.toml").write_text("[tool.greencode]\n")
    _git(project, "init", "-q")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "recipes")
    return project


@pytest.fixture(scope="module")
def unchanged(project: Path) -> tuple[int, dict[str, Any]]:
    """The working tree against HEAD: the same code twice."""
    return _ab(project, "HEAD", project.parent / "unchanged.json")


@pytest.fixture(scope="module")
def more_work(project: Path, unchanged: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """A commit that makes checksum do 3 % more work, against the commit before it."""
    (project / "recipes.py").write_text(MORE_WORK)
    _git(project, "commit", "-qam", "checksum reads 3 % more")
    return _ab(project, "HEAD~1", project.parent / "more-work.json")


def _changes(result: dict[str, Any]) -> dict[str, float]:
    """Each test's relative change, head against base, as the gate judged it."""
    return {c["node_id"]: c["change"] for c in result["gate"]["comparisons"]}


def _regressions(result: dict[str, Any]) -> list[str]:
    return [c["node_id"] for c in result["gate"]["comparisons"] if c["verdict"] == "regression"]


def test_two_runs_of_a_small_suite_agree_per_test_within_half_a_percent(
    unchanged: tuple[int, dict[str, Any]],
) -> None:
    changes = _changes(unchanged[1])
    assert set(changes) == {"test_recipes.py::test_factor", "test_recipes.py::test_checksum"}
    assert all(abs(change) < 0.005 for change in changes.values()), changes


def test_two_runs_in_two_trees_agree_per_test_as_closely_as_two_direct_runs(
    unchanged: tuple[int, dict[str, Any]],
) -> None:
    # base runs in a worktree under the scratch directory, head in the project: paths of other lengths, so
    # other allocations before each test; with pymalloc that alone moved test_checksum by 1.25 %
    changes = _changes(unchanged[1])
    assert all(abs(change) < 0.0005 for change in changes.values()), changes


def test_ab_passes_an_unchanged_commit(unchanged: tuple[int, dict[str, Any]]) -> None:
    code, result = unchanged
    assert (code, result["pairs"], _regressions(result)) == (0, 1, []), result["summary"]


def test_the_report_speaks_of_its_one_pair_in_the_singular(unchanged: tuple[int, dict[str, Any]]) -> None:
    assert unchanged[1]["notes"][0] == "1 pair of runs"


def test_ab_fails_a_commit_that_adds_three_percent_more_work_to_one_function(
    more_work: tuple[int, dict[str, Any]],
) -> None:
    code, result = more_work
    changes = _changes(result)
    assert code == 1, result["summary"]
    assert _regressions(result) == ["test_recipes.py::test_checksum"]
    assert 0.02 < changes["test_recipes.py::test_checksum"] < 0.04
    assert abs(changes["test_recipes.py::test_factor"]) < 0.005


def test_ab_names_the_function_that_grew(more_work: tuple[int, dict[str, Any]]) -> None:
    (spot,) = more_work[1]["hotspots"]
    top = spot["functions"][0]
    assert (spot["node_id"], top["function"]) == ("test_recipes.py::test_checksum", "recipes.py:checksum")
    assert 0.02 < top["relative"] < 0.04
