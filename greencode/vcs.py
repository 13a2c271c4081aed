"""git: which version of the code was measured, and the plumbing ``greencode ab`` needs to check out another.

Baselines and the history database record the commit, branch and whether the tree had local changes
(:func:`vcs_state`), so a regression can be traced to a commit and repeated saves of the same clean commit
can be pooled; outside a git repository, or without git, that is ``None``: measuring never depends on
version control. ``greencode ab`` finds the repository, resolves refs, picks the default base and checks
commits out into temporary worktrees (:func:`worktree`). Every call goes through :func:`git`, which never
hangs: it gives up after a timeout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from greencode.errors import VcsError

#: git should answer in milliseconds; a hung network file system must not hang a test run.
GIT_TIMEOUT_S = 10.0
#: ... except when it checks out a whole tree, which in a large repository takes a while.
CHECKOUT_TIMEOUT_S = 600.0
#: ``git status --porcelain`` codes of unmerged paths.
_CONFLICTS = ("DD", "AU", "UD", "UA", "DU", "AA", "UU")
#: Default-branch candidates, after the CI's own hints and ``origin/HEAD``.
_DEFAULT_BRANCHES = ("main", "master", "origin/main", "origin/master")
_SHALLOW_HINT = (
    "this clone is shallow: fetch the full history (actions/checkout: fetch-depth: 0; GitLab: GIT_DEPTH: 0) "
    "or pass --base with a commit that is present"
)


def _env() -> dict[str, str]:
    # GIT_OPTIONAL_LOCKS=0: `git status` must not take the index lock while a developer's git is working
    return {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}


def git(
    cwd: Path, *args: str, check: bool = False, timeout: float = GIT_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """``git ARGS`` in ``cwd``, its output captured as text. :class:`VcsError` when git is not installed or
    does not answer within ``timeout`` seconds, and with ``check`` when it exits non-zero (its last line of
    stderr says why)."""
    try:
        completed = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=_env(), check=False
        )
    except FileNotFoundError:
        raise VcsError("git is not installed or not on PATH; install git to compare versions") from None
    except subprocess.TimeoutExpired:
        raise VcsError(f"git {' '.join(args)}: no answer within {timeout:g} s (in {cwd})") from None
    if check and completed.returncode != 0:
        message = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        raise VcsError(f"git {' '.join(args)}: {message}")
    return completed


def git_output(cwd: Path, *args: str) -> str | None:
    """The stripped output of ``git ARGS``, or None when git fails, is missing or hangs: for callers to
    whom version control is optional."""
    try:
        completed = git(cwd, *args)
    except (VcsError, OSError):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


class _Started:
    """A git command started now and read later: what :func:`git_output` would return, without waiting
    for it in the meantime. Read it (:meth:`output`) or :meth:`close` it, so that no process is left."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self._process: subprocess.Popen[str] | None
        try:
            self._process = subprocess.Popen(
                ["git", *args],
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=_env(),
            )
        except OSError:  # git missing, or the directory gone: version control is optional here
            self._process = None

    def output(self) -> str | None:
        """The stripped output, or None when git failed, is missing or gave no answer within
        :data:`GIT_TIMEOUT_S` of being asked."""
        process, self._process = self._process, None
        if process is None:
            return None
        try:
            out, _ = process.communicate(timeout=GIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return None
        return out.strip() if process.returncode == 0 else None

    def close(self) -> None:
        """Stop the command if it still runs (its output is no longer wanted)."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.kill()
            process.communicate()


@dataclass(frozen=True)
class VcsState:
    """The measured code's version. ``branch`` is None on a detached HEAD without a CI branch variable;
    ``repository`` names the project (CI's repository path, else the ``origin`` remote's, else the work
    tree's directory), so runs of several repositories can share one history database."""

    commit: str
    branch: str | None
    dirty: bool
    repository: str | None = None
    #: The first few paths with uncommitted changes (relative to the repository's top), for messages.
    changes: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.commit[:12]

    def to_dict(self) -> dict[str, object]:
        return {"commit": self.commit, "branch": self.branch, "dirty": self.dirty}


def _ci_branch() -> str | None:
    # CI checkouts are usually detached; the CI names the branch in the environment instead.
    for name in ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BUILDKITE_BRANCH"):
        if os.environ.get(name):
            return os.environ[name]
    return None


def _ci_repository() -> str | None:
    for name in ("GITHUB_REPOSITORY", "CI_PROJECT_PATH", "BUILDKITE_PIPELINE_SLUG"):
        if os.environ.get(name):
            return os.environ[name]
    return None


def _repository(remote: str | None, top: str | None) -> str | None:
    if remote:
        # host:owner/name.git or scheme://user:secret@host/owner/name.git -> owner/name (never a credential)
        path = remote.rstrip("/").removesuffix(".git").replace(":", "/").split("/")
        return "/".join(part for part in path[-2:] if part and "@" not in part) or None
    return Path(top).name if top else None


#: How many changed paths :attr:`VcsState.changes` keeps.
SHOWN_CHANGES = 5


def vcs_state(root: Path, own_files: Iterable[Path] = ()) -> VcsState | None:
    """The commit, branch and dirty flag of the git work tree containing ``root``; None outside git.

    ``own_files`` (files or directories) are greencode's own data — the baseline, the history, ``.greencode/``
    — whose changes say nothing about the measured code: a committed baseline rewritten by each save must
    not make the tree look dirty, or saves of one commit would never pool.

    Every pytest run ends here, so it costs three ``git`` processes (two with a CI repository variable):
    the work tree's top, then at once one ``status --porcelain=v2 --branch`` for the commit, branch and
    changes, and the ``origin`` remote. :class:`VcsProbe` asks for the top early, to read it later."""
    return VcsProbe(root).state(own_files)


class VcsProbe:
    """:func:`vcs_state` begun early: the work tree's top is asked for now, in the background (a measuring
    run starts it before its tests, which it does not wait for); :meth:`state` asks the rest when called,
    so the changes are those of the tree as it is then. Call :meth:`state` or :meth:`close` once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._top = _Started(root, "rev-parse", "--show-toplevel")

    def close(self) -> None:
        """Stop what was started, when the state will not be asked for (an interrupted run)."""
        self._top.close()

    def state(self, own_files: Iterable[Path] = ()) -> VcsState | None:
        """The version state now (see :func:`vcs_state`)."""
        top = self._top.output()
        if not top:
            return None
        status_git = _Started(
            Path(top),  # from the top, so the paths are named from there
            "status",
            "--porcelain=v2",
            "--branch",
            "--untracked-files=no",
            "--",
            ":(top)",
            *_excluded(top, own_files),
        )
        ci_repository = _ci_repository()
        remote_git = None if ci_repository else _Started(self.root, "remote", "get-url", "origin")
        try:
            status = status_git.output()
            remote = None if remote_git is None else remote_git.output()
        finally:
            if remote_git is not None:
                remote_git.close()
        headers, changed = _parse_status(status or "")
        commit = headers.get("branch.oid", "")
        if status is not None and (not commit or commit == "(initial)"):
            return None  # a repository without commits
        if status is None:  # git status failed: the commit alone still tells which code was measured
            commit = git_output(self.root, "rev-parse", "--verify", "--quiet", "HEAD") or ""
            if not commit:
                return None
        head = headers.get("branch.head")
        branch = head if head and head != "(detached)" else _ci_branch()
        return VcsState(
            commit=commit,
            branch=branch,
            dirty=status is None or bool(changed),
            repository=ci_repository or _repository(remote, top),
            changes=tuple(changed[:SHOWN_CHANGES]),
        )


def _parse_status(status: str) -> tuple[dict[str, str], list[str]]:
    """``git status --porcelain=v2 --branch`` output: its ``# key value`` headers, and the changed paths
    (a rename as ``old -> new``, as the short format shows it)."""
    headers: dict[str, str] = {}
    changed: list[str] = []
    for line in status.splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(" ")
            headers[key] = value
        elif line[:2] == "1 ":  # 1 XY sub mH mI mW hH hI path
            changed.append(line.split(" ", 8)[-1])
        elif line[:2] == "2 ":  # 2 XY sub mH mI mW hH hI Xscore path<TAB>origPath
            path, _, original = line.split(" ", 9)[-1].partition("\t")
            changed.append(f"{original} -> {path}")
        elif line[:2] == "u ":  # u XY sub m1 m2 m3 mW h1 h2 h3 path
            changed.append(line.split(" ", 10)[-1])
    return headers, changed


def _excluded(top: str, paths: Iterable[Path]) -> list[str]:
    """Pathspecs excluding ``paths`` that lie inside the work tree at ``top`` (git refuses a path outside
    it)."""
    resolved_top = Path(top).resolve()
    inside = [p for p in (Path(p).resolve() for p in paths) if p.is_relative_to(resolved_top)]
    return [f":(exclude){p}" for p in inside]


# ---------------------------------------------------------------------------------------------------------
# another version of the code


def toplevel(cwd: Path) -> Path:
    """The top of the git working tree containing ``cwd``."""
    completed = git(cwd, "rev-parse", "--show-toplevel")
    if completed.returncode != 0 or not completed.stdout.strip():
        raise VcsError(
            f"{cwd}: not inside a git working tree; greencode ab compares two versions of a git repository — "
            "run it in your project's clone"
        )
    return Path(completed.stdout.strip()).resolve()


def _shallow(top: Path) -> bool:
    return git(top, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def resolve_commit(top: Path, ref: str) -> str:
    """The full commit id ``ref`` (a commit, branch or tag) names."""
    completed = git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if completed.returncode != 0:
        hint = _SHALLOW_HINT if _shallow(top) else "fetch it first, or check the spelling"
        raise VcsError(f"unknown REF {ref!r}: no such commit, branch or tag in this repository; {hint}")
    return completed.stdout.strip()


def names_commit(cwd: Path, word: str) -> bool:
    """Whether ``word`` names a commit (an id, a branch, a tag, ``HEAD~1``) in the repository at ``cwd``."""
    return git(cwd, "rev-parse", "--verify", "--quiet", f"{word}^{{commit}}").returncode == 0


def head_commit(top: Path) -> str | None:
    """The commit ``HEAD`` names; None in a repository without commits."""
    return git(top, "rev-parse", "--verify", "--quiet", "HEAD").stdout.strip() or None


def _default_branch(top: Path) -> str:
    candidates = []
    if os.environ.get("GITHUB_BASE_REF"):  # a GitHub pull request: the branch it will merge into
        candidates.append(f"origin/{os.environ['GITHUB_BASE_REF']}")
    if os.environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"):  # a GitLab merge request pipeline
        candidates.append(f"origin/{os.environ['CI_MERGE_REQUEST_TARGET_BRANCH_NAME']}")
    origin_head = git(top, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD").stdout.strip()
    if origin_head:
        candidates.append(origin_head)
    candidates.extend(_DEFAULT_BRANCHES)
    for candidate in candidates:
        if names_commit(top, candidate):
            return candidate
    raise VcsError(
        "cannot tell the default branch (no origin/HEAD, main or master here); pass --base REF, e.g. "
        "--base origin/develop"
    )


def default_base(top: Path, head: str) -> tuple[str, str]:
    """The base when none is given: the merge base of commit ``head`` and the default branch (GitHub's
    ``GITHUB_BASE_REF``, GitLab's merge-request target or its ``CI_MERGE_REQUEST_DIFF_BASE_SHA``,
    ``origin/HEAD``, ``main``, ``master``), and how it was chosen."""
    if os.environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"):  # GitLab computed the merge base already
        sha = os.environ["CI_MERGE_REQUEST_DIFF_BASE_SHA"]
        return resolve_commit(top, sha), "merge base (CI_MERGE_REQUEST_DIFF_BASE_SHA)"
    branch = _default_branch(top)
    completed = git(top, "merge-base", head, branch)
    if completed.returncode != 0 or not completed.stdout.strip():
        hint = _SHALLOW_HINT if _shallow(top) else "pass --base REF"
        raise VcsError(f"no merge base of {head[:12]} and {branch}; {hint}")
    return completed.stdout.strip(), f"merge base with {branch}"


def local_changes(top: Path) -> list[str]:
    """``git status --porcelain`` lines of tracked files with uncommitted changes."""
    return git(top, "status", "--porcelain", "--untracked-files=no", check=True).stdout.splitlines()


def conflicts(top: Path) -> list[str]:
    """Paths with unresolved merge conflicts."""
    return [line[3:] for line in local_changes(top) if line[:2] in _CONFLICTS]


@contextlib.contextmanager
def uninterruptible() -> Iterator[None]:
    """Clean-up must finish even when Ctrl-C is pressed again or SIGTERM repeats."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def worktree(top: Path, commit: str, path: Path) -> Iterator[Path]:
    """``commit`` checked out (detached) at ``path``, removed again on every way out."""
    try:
        # no hooks: a post-checkout hook of the project has no business running for a measurement copy
        git(
            top,
            "-c",
            f"core.hooksPath={os.devnull}",
            "worktree",
            "add",
            "--detach",
            "--quiet",
            str(path),
            commit,
            check=True,
            timeout=CHECKOUT_TIMEOUT_S,
        )
        yield path
    finally:
        with uninterruptible():
            with contextlib.suppress(VcsError):
                git(top, "worktree", "remove", "--force", str(path), timeout=CHECKOUT_TIMEOUT_S)
            shutil.rmtree(path, ignore_errors=True)
            with contextlib.suppress(VcsError):
                git(top, "worktree", "prune")
