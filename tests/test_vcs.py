"""git through one door: :func:`greencode.vcs.git` never hangs and says what went wrong in one line."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from greencode.errors import VcsError
from greencode.vcs import git, git_output, resolve_commit, toplevel, vcs_state


def fake_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    program = folder / "git"
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(folder))


def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "first"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def test_a_git_that_does_not_answer_is_given_up_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_git(tmp_path, monkeypatch, "exec /bin/sleep 30")
    with pytest.raises(VcsError, match=r"git status: no answer within 0\.2 s"):
        git(tmp_path, "status", timeout=0.2)


def test_without_git_the_error_says_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(VcsError, match="git is not installed or not on PATH"):
        git(tmp_path, "status")


def test_optional_callers_get_none_when_git_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert git_output(tmp_path, "rev-parse", "HEAD") is None
    assert vcs_state(tmp_path) is None


def test_a_checked_call_names_the_command_and_gits_last_line(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    with pytest.raises(VcsError, match=r"^git checkout no-such-branch: .*no-such-branch"):
        git(repo, "checkout", "no-such-branch", check=True)


def test_refs_resolve_to_commits_and_unknown_ones_are_named(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    assert resolve_commit(repo, "main") == git_output(repo, "rev-parse", "HEAD")
    assert toplevel(repo / ".git" / "..") == repo.resolve()
    with pytest.raises(VcsError, match="unknown REF 'nope'"):
        resolve_commit(repo, "nope")
