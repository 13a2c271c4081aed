"""Which version of the code was measured: the git commit, branch and whether the tree had local changes.

Baselines and the history database record this so a regression can be traced to a commit, and so repeated
saves of the same clean commit can be pooled. Outside a git repository, or without git, everything is
``None``: measuring never depends on version control.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: git should answer in milliseconds; a hung network file system must not hang a test run.
GIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class VcsState:
    """The measured code's version. ``branch`` is None on a detached HEAD without a CI branch variable;
    ``repository`` names the project (CI's repository path, else the ``origin`` remote's, else the work
    tree's directory), so runs of several repositories can share one history database."""

    commit: str
    branch: str | None
    dirty: bool
    repository: str | None = None

    @property
    def short(self) -> str:
        return self.commit[:12]

    def to_dict(self) -> dict[str, object]:
        return {"commit": self.commit, "branch": self.branch, "dirty": self.dirty}


def _git(root: Path, *args: str) -> str | None:
    # GIT_OPTIONAL_LOCKS=0: `git status` must not take the index lock while a developer's git is working
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def _ci_branch() -> str | None:
    # CI checkouts are usually detached; the CI names the branch in the environment instead.
    for name in ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BUILDKITE_BRANCH"):
        if os.environ.get(name):
            return os.environ[name]
    return None


def _repository(root: Path) -> str | None:
    for name in ("GITHUB_REPOSITORY", "CI_PROJECT_PATH", "BUILDKITE_PIPELINE_SLUG"):
        if os.environ.get(name):
            return os.environ[name]
    remote = _git(root, "remote", "get-url", "origin")
    if remote:
        # host:owner/name.git or scheme://user:secret@host/owner/name.git -> owner/name (never a credential)
        path = remote.rstrip("/").removesuffix(".git").replace(":", "/").split("/")
        return "/".join(part for part in path[-2:] if part and "@" not in part) or None
    top = _git(root, "rev-parse", "--show-toplevel")
    return Path(top).name if top else None


def vcs_state(root: Path) -> VcsState | None:
    """The commit, branch and dirty flag of the git work tree containing ``root``; None outside git."""
    commit = _git(root, "rev-parse", "--verify", "--quiet", "HEAD")
    if not commit:
        return None
    branch = _git(root, "symbolic-ref", "--quiet", "--short", "HEAD") or _ci_branch()
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return VcsState(
        commit=commit, branch=branch, dirty=status is None or bool(status), repository=_repository(root)
    )
