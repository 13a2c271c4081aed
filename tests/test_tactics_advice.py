"""Advice for a regression: findings in files changed since the baseline's commit; hints from timings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.config import Config, ScanConfig
from greencode.tactics.advice import advice_for_changes, changed_python_files, energy_hint

WASTEFUL = "first = sorted(xs)[0]\n"  # GRN025

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root: Path, *args: str) -> str:
    command = [
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "-c",
        "commit.gpgsign=false",
        *args,
    ]
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / "kept.py").write_text(WASTEFUL)
    (tmp_path / "edited.py").write_text("x = 1\n")
    (tmp_path / "deleted.py").write_text("x = 1\n")
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    return tmp_path


def names(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


@needs_git
def test_changed_files_include_commits_since_the_base_uncommitted_edits_and_untracked_files(
    repo: Path,
) -> None:
    base = commit_all(repo, "base")
    (repo / "committed_later.py").write_text("x = 2\n")
    commit_all(repo, "later")
    (repo / "edited.py").write_text("x = 3\n")
    (repo / "deleted.py").unlink()
    (repo / "pkg").mkdir()
    (repo / "pkg" / "new.py").write_text("x = 4\n")
    (repo / "notes.txt").write_text("not python\n")
    (repo / "ignored.py").write_text("x = 5\n")
    assert names(changed_python_files(repo, base), repo) == ["committed_later.py", "edited.py", "pkg/new.py"]


@needs_git
def test_without_a_base_commit_changes_are_relative_to_head(repo: Path) -> None:
    commit_all(repo, "base")
    (repo / "committed_later.py").write_text("x = 2\n")
    commit_all(repo, "later")
    (repo / "edited.py").write_text("x = 3\n")
    assert names(changed_python_files(repo, None), repo) == ["edited.py"]


@needs_git
def test_a_repository_without_commits_counts_every_file_as_changed(repo: Path) -> None:
    assert names(changed_python_files(repo, None), repo) == ["deleted.py", "edited.py", "kept.py"]


@needs_git
def test_an_unknown_base_commit_gives_no_files(repo: Path) -> None:
    commit_all(repo, "base")
    (repo / "edited.py").write_text("x = 3\n")
    assert changed_python_files(repo, "0" * 40) == []


@needs_git
def test_paths_are_relative_to_a_subdirectory_root(repo: Path) -> None:
    (repo / "sub").mkdir()
    base = commit_all(repo, "base")
    (repo / "sub" / "a.py").write_text("x = 1\n")
    (repo / "edited.py").write_text("x = 3\n")
    assert changed_python_files(repo / "sub", base) == [repo / "sub" / "a.py"]


def test_outside_git_there_are_no_changed_files(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(WASTEFUL)
    assert changed_python_files(tmp_path, None) == []


@needs_git
def test_advice_covers_only_the_changed_files(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    base = commit_all(repo, "base")
    edited = "import re\ndef f(lines):\n    for x in lines:\n        re.match('a+', x)\n"
    (repo / "edited.py").write_text(edited)
    findings = advice_for_changes(repo, base, Config(root=repo))
    assert [(f.path, f.rule, f.tactic) for f in findings] == [("edited.py", "GRN007", "GT-LP-01")]


@needs_git
def test_advice_follows_the_scan_configuration(repo: Path) -> None:
    base = commit_all(repo, "base")
    (repo / "edited.py").write_text("total = sum([x for x in xs])\n")
    assert advice_for_changes(repo, base, Config(root=repo, scan=ScanConfig(ignore=("GRN010",)))) == []


def test_advice_outside_git_is_empty(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(WASTEFUL)
    assert advice_for_changes(tmp_path, None, Config(root=tmp_path)) == []


# -- hints from timings --------------------------------------------------------------------------------------


def test_a_test_that_mostly_waits_gets_the_polling_tactic() -> None:
    hint = energy_hint(cpu_s=0.02, wall_s=1.5)
    assert hint is not None and "GT-WT-01" in hint and "1%" in hint


@pytest.mark.parametrize(
    ("cpu_s", "wall_s"),
    [(1.0, 1.0), (0.5, 1.0), (0.001, 0.05), (0.0, 0.0), (2.0, 1.0)],
    ids=["busy", "half-busy", "too-short-to-tell", "no-time", "multi-threaded"],
)
def test_no_hint_when_the_test_was_working_or_too_short(cpu_s: float, wall_s: float) -> None:
    assert energy_hint(cpu_s, wall_s) is None


@given(st.floats(0, 1e4), st.floats(0, 1e4))
def test_a_hint_means_cpu_time_was_under_a_quarter_of_wall_time(cpu_s: float, wall_s: float) -> None:
    hint = energy_hint(cpu_s, wall_s)
    assert (hint is not None) == (cpu_s < 0.25 * wall_s and wall_s - cpu_s >= 0.1)
