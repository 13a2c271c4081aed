"""git through one door: :func:`greencode.vcs.git` never hangs and says what went wrong in one line."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from greencode.errors import VcsError
from greencode.vcs import VcsProbe, git, git_output, resolve_commit, toplevel, vcs_state


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


CI_VARIABLES = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BUILDKITE_BRANCH",
                "GITHUB_REPOSITORY", "CI_PROJECT_PATH", "BUILDKITE_PIPELINE_SLUG")  # fmt: skip


@pytest.fixture
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def repository_with(tmp_path: Path, files: dict[str, str]) -> Path:
    """A repository whose second commit holds ``files`` (relative path: text)."""
    repo = repository(tmp_path)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}  # fmt: skip
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "two"], cwd=repo, env=env, check=True)
    return repo


def test_vcs_state_is_none_in_a_repository_without_commits(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert vcs_state(tmp_path) is None


def test_changes_to_greencodes_own_files_do_not_make_the_tree_dirty(tmp_path: Path, no_ci: None) -> None:
    repo = repository_with(tmp_path, {".greencode/baseline.json": "{}", "code.py": "x = 1\n"})
    (repo / ".greencode" / "baseline.json").write_text('{"a": 1}')
    state = vcs_state(repo / ".greencode", [repo / ".greencode", tmp_path / "outside.sqlite"])
    assert state is not None and not state.dirty and state.changes == ()


def test_the_changed_paths_are_named_from_the_top_of_the_tree(tmp_path: Path, no_ci: None) -> None:
    repo = repository_with(tmp_path, {"src/a b.py": "x = 1\n", "old.py": "y = 1\n"})
    (repo / "src" / "a b.py").write_text("x = 2\n")
    subprocess.run(["git", "mv", "old.py", "new.py"], cwd=repo, check=True)
    state = vcs_state(repo / "src")
    assert state is not None and state.dirty
    assert sorted(state.changes) == ["old.py -> new.py", "src/a b.py"]


def test_a_detached_head_takes_the_ci_branch_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = repository(tmp_path)
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=repo, check=True)
    monkeypatch.delenv("GITHUB_HEAD_REF", raising=False)
    monkeypatch.setenv("GITHUB_REF_NAME", "feature")
    state = vcs_state(repo)
    assert state is not None and state.branch == "feature"


def test_the_repository_is_the_origin_remotes_owner_and_name(tmp_path: Path, no_ci: None) -> None:
    repo = repository(tmp_path)
    remote = "https://u:secret@example.org/owner/name.git"
    subprocess.run(["git", "remote", "add", "origin", remote], cwd=repo, check=True)
    state = vcs_state(repo)
    assert state is not None and state.repository == "owner/name"


def test_without_a_remote_the_repository_is_the_work_trees_directory(tmp_path: Path, no_ci: None) -> None:
    state = vcs_state(repository(tmp_path))
    assert state is not None and state.repository == "repo"


def test_a_ci_repository_variable_names_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "ci/project")
    state = vcs_state(repository(tmp_path))
    assert state is not None and state.repository == "ci/project"


def test_the_version_state_costs_three_git_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_ci: None
) -> None:
    # every pytest --greencode run ends with vcs_state: each git process is milliseconds of fixed cost
    repo = repository(tmp_path)
    calls = count_processes(monkeypatch)
    state = vcs_state(repo, [repo / ".greencode"])
    assert state is not None and state.branch == "main" and len(state.commit) == 40
    assert len(calls) == 3


def count_processes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The commands of every process started from now on (``subprocess.run`` starts them with ``Popen``)."""
    calls: list[tuple[str, ...]] = []
    real = subprocess.Popen

    def counting(args: list[str], **kwargs: object) -> subprocess.Popen[str]:
        calls.append(tuple(args))
        return real(args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(subprocess, "Popen", counting)
    return calls


def test_a_probe_asks_for_the_work_trees_top_when_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_ci: None
) -> None:
    # a measuring run starts the probe before its tests: the first git process runs beside them
    repo = repository(tmp_path)
    calls = count_processes(monkeypatch)
    probe = VcsProbe(repo)
    assert calls == [("git", "rev-parse", "--show-toplevel")]
    assert probe.state([repo / ".greencode"]) == vcs_state(repo, [repo / ".greencode"])


def test_a_probe_sees_the_changes_made_after_it_started(tmp_path: Path, no_ci: None) -> None:
    repo = repository_with(tmp_path, {"code.py": "x = 1\n"})
    probe = VcsProbe(repo)
    (repo / "code.py").write_text("x = 2\n")
    state = probe.state()
    assert state is not None and state.dirty and state.changes == ("code.py",)


def test_a_closed_probe_leaves_no_git_process_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path / "git.pid"
    fake_git(tmp_path, monkeypatch, f"echo $$ > {pid_file}\nexec /bin/sleep 30")
    probe = VcsProbe(tmp_path)
    for _ in range(500):  # the fake git writes its id as soon as it runs
        if pid_file.exists() and pid_file.read_text().strip():
            break
        time.sleep(0.01)
    probe.close()
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
