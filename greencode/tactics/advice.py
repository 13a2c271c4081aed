"""From a measurement to a change: tactics for the code a regression came with.

The pytest gate calls these when a test regresses or overruns its budget. :func:`advice_for_changes` scans
the Python files changed since the baseline's commit, so the findings shown next to a failing test are about
code the developer just touched; like ``greencode scan`` it keeps only findings that can matter, and given
measurements (:mod:`greencode.tactics.hotness`) it puts those in the most costly code first.
:func:`energy_hint` reads the measurement itself: a test whose CPU time is
far below its wall time spent its time waiting, and the tactic for that is to wait without polling.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from greencode.config import Config
from greencode.tactics.catalogue import get_tactic
from greencode.tactics.hotness import Profile
from greencode.tactics.scanner import Finding, rank, scan_paths
from greencode.vcs import git_output

#: Below this share of wall time spent on the CPU, a test is mostly waiting.
WAITING_CPU_SHARE = 0.25
#: ... provided it waited at least this long; shorter gaps are timer noise.
MIN_WAIT_S = 0.1
#: The tactic to suggest for waiting.
WAIT_TACTIC = "GT-WT-01"


def _paths(output: str | None) -> list[str]:
    return [p for p in (output or "").split("\0") if p]


def changed_python_files(root: Path, since: str | None) -> list[Path]:
    """Python files under ``root`` changed since commit ``since`` (``None``: since ``HEAD``), plus untracked.

    Changes include committed ones after ``since`` and uncommitted ones in the work tree; deleted files are
    left out, and so are files git ignores. Outside a git work tree, without git, or when ``since`` is not
    a known commit (a shallow CI clone, say), the answer is ``[]``: advice is optional, never an error.
    """
    root = Path(root).absolute()
    if git_output(root, "rev-parse", "--is-inside-work-tree") != "true":
        return []
    base = since or "HEAD"
    if git_output(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}") is None:
        if since is not None:
            return []
        # a repository without commits yet: everything tracked is new
        changed = git_output(root, "ls-files", "-z")
    else:
        changed = git_output(root, "diff", "--name-only", "-z", "--relative", "--diff-filter=d", base, "--")
    if changed is None:
        return []
    untracked = git_output(root, "ls-files", "-z", "--others", "--exclude-standard")
    names = dict.fromkeys([*_paths(changed), *_paths(untracked)])
    return sorted(root / name for name in names if name.endswith(".py") and (root / name).is_file())


def advice_for_changes(
    root: Path,
    since: str | None,
    config: Config,
    profile: Profile | None = None,
    also: Iterable[Path] = (),
) -> list[Finding]:
    """Scanner findings that can matter (rules and exclusions from ``config.scan``) in the files changed
    since ``since`` and the Python files ``also`` names (those of functions whose cost grew, relative to
    ``root`` or absolute), the most costly first when a ``profile`` of measured costs is given."""
    extra = [path if path.is_absolute() else Path(root) / path for path in also]
    changed = changed_python_files(root, since)
    files = sorted(dict.fromkeys([*changed, *(p for p in extra if p.suffix == ".py" and p.is_file())]))
    if not files:
        return []
    report = scan_paths(files, config)
    if profile is not None:
        report = rank(report, profile.cost_of)
    return list(report.shown())


def energy_hint(cpu_s: float, wall_s: float) -> str | None:
    """A tactic suggested by the timings alone, or None.

    When the process was on the CPU for under a quarter of the elapsed time (and the gap is at least
    0.1 s), the test was waiting (sleeping, polling, blocked on I/O or a lock) rather than working.
    """
    if not (wall_s > 0 and cpu_s >= 0) or wall_s - cpu_s < MIN_WAIT_S or cpu_s >= WAITING_CPU_SHARE * wall_s:
        return None
    tactic = get_tactic(WAIT_TACTIC)
    share = cpu_s / wall_s
    return (
        f"CPU time was {cpu_s:.3g} s of {wall_s:.3g} s wall time ({share:.0%}): the test mostly waited. "
        f"If it polls or sleeps in a loop, block on the event instead ({tactic.id}: {tactic.name}); "
        "if it waits on the network or disk, that wait is the cost to reduce, not CPU work."
    )
