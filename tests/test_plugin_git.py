"""The pytest plugin and git: what of .greencode/ belongs in a commit, and when saved runs pool."""

from __future__ import annotations

import json
import subprocess

import pytest
from plugin_helpers import commit_all, make_project, run

from greencode.datadir import GITIGNORE

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

SUITE = "def test_one():\n    pass\n"


def _git(pytester: pytest.Pytester, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
        cwd=pytester.path, capture_output=True, text=True, check=False,
    )  # fmt: skip


def _runs(pytester: pytest.Pytester) -> int:
    entries = json.loads((pytester.path / ".greencode" / "baseline.json").read_text())["entries"]
    return len(entries["test_energy.py::test_one"]["runs_j"])


def test_a_save_writes_a_gitignore_that_keeps_history_and_locks_out_and_the_baseline_in(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester, SUITE, rounds=1)
    commit_all(pytester)
    run(pytester, "--greencode-save").assert_outcomes(passed=1)
    assert (pytester.path / ".greencode" / ".gitignore").read_text() == GITIGNORE
    for ignored in ("history.sqlite", "history.sqlite-wal", ".baseline.json.lock", ".baseline.json.x.tmp"):
        assert _git(pytester, "check-ignore", "-q", f".greencode/{ignored}").returncode == 0, ignored
    assert _git(pytester, "check-ignore", "-q", ".greencode/baseline.json").returncode == 1


def test_a_gitignore_already_in_greencodes_directory_is_left_alone(pytester: pytest.Pytester) -> None:
    make_project(pytester, SUITE, rounds=1)
    (pytester.path / ".greencode").mkdir()
    (pytester.path / ".greencode" / ".gitignore").write_text("# mine\n")
    run(pytester, "--greencode-save").assert_outcomes(passed=1)
    assert (pytester.path / ".greencode" / ".gitignore").read_text() == "# mine\n"


def test_saves_of_one_commit_pool_even_when_greencodes_files_are_committed(pytester: pytest.Pytester) -> None:
    make_project(pytester, SUITE, rounds=1)
    commit_all(pytester)
    run(pytester, "--greencode-save").assert_outcomes(passed=1)
    # the whole .greencode/ committed, history included: each save then rewrites tracked files
    _git(pytester, "add", "-f", ".greencode")
    _git(pytester, "commit", "-q", "-m", "baseline")
    for _ in range(3):
        result = run(pytester, "--greencode-save")
    result.stdout.fnmatch_lines(["baseline saved: 1 tests in *, 1 pooled with earlier runs of this commit*"])
    assert _runs(pytester) == 3


def test_a_save_that_does_not_pool_says_why(pytester: pytest.Pytester) -> None:
    make_project(pytester, SUITE, rounds=1)
    commit_all(pytester)
    run(pytester, "--greencode-save").assert_outcomes(passed=1)
    (pytester.path / "test_energy.py").write_text(SUITE + "\n# an uncommitted change\n")
    result = run(pytester, "--greencode-save")
    result.stdout.fnmatch_lines(
        [
            "baseline saved: 1 tests in *, 1 replaced (not pooled with earlier runs: the work tree has "
            "uncommitted changes (test_energy.py); runs pool only when saved at one clean commit)"
        ]
    )
    assert _runs(pytester) == 1
