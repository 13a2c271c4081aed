"""``greencode ab``: gate a change by measuring base and head in the same job, interleaved.

A committed baseline only works on one quiet machine: hosted CI runners differ far more from job to job than
within one job. So this measures both versions of the code here and now:

- **base** (default: the merge base of ``HEAD`` and the default branch) is checked out in a temporary
  ``git worktree``; **head** is the working tree as it is, uncommitted changes included (or ``--head REF``
  in a second worktree). The user's working tree, index and branches are never touched: git only records
  the temporary worktree under ``.git/worktrees`` until it is removed again.
- Each side runs as its own ``python -m pytest --greencode`` process with ``PYTHONPATH`` pointing at its own
  tree (``src/`` in a src layout, else the tree's top), so the base side imports the base code even when the
  project is installed in editable mode from head.
- Runs alternate in pairs in a balanced order — base-head, head-base, base-head, … — because the second run
  of a back-to-back pair is typically a few per cent slower; each order occurs equally often, so that effect
  cancels in the mean.
- Per test, each pair gives one log ratio ``log(head / base)`` of the two runs' medians; the change is their
  trimmed mean with a Student-t interval over pairs (:func:`paired_change`), the pair spread shrunk towards
  the one all tests share (:func:`decide`). The verdicts, threshold, floor and Holm's adjustment are the
  pytest gate's own (:func:`greencode.gate.judge`).
- Adaptive: after ``min_pairs`` pairs, pairs are added two at a time (one in each order) only for tests that
  are still undecided — inconclusive, or with an interval that still reaches above ``fail_on`` — until every
  test is decided, ``max_pairs`` is reached or the time budget is spent (:func:`measure_adaptively`). What
  stayed undecided is reported. Each look at the data spends part of ``alpha`` (:func:`look_alpha`), so
  looking again cannot raise the false-alarm rate.
- A test that fails on either side is reported as a failing test, never as an energy change; failing on head
  fails the check.
- The worktree is removed on every way out: success, error, Ctrl-C, SIGTERM (CI cancelling the job).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greencode.errors import GreencodeError, StoreError
from greencode.gate import (
    MIN_RUN_CV,
    Budget,
    ChangeEstimate,
    Comparison,
    GateReport,
    GateSettings,
    Noise,
    check_budgets,
    judge,
)
from greencode.store import BaselineEntry, TestRecord, entry_from_record, load_results

if TYPE_CHECKING:
    from greencode.config import CarbonConfig, Config
    from greencode.report.model import Report

AB_SCHEMA = "greencode-ab"
AB_VERSION = 1
DEFAULT_MIN_PAIRS = 4
DEFAULT_MAX_PAIRS = 16
DEFAULT_TIME_BUDGET_S = 900.0
#: Pairs are added two at a time, one in each order, so the order stays balanced.
BATCH_PAIRS = 2
#: Set in each side's pytest process to ``base`` or ``head`` (conftest files may want to know).
SIDE_VARIABLE = "GREENCODE_AB_SIDE"
#: Variables the measuring processes must not see: the step summary is the command's own to write, once.
_HIDDEN_VARIABLES = ("GITHUB_STEP_SUMMARY",)
#: ``git status --porcelain`` codes of unmerged paths.
_CONFLICTS = ("DD", "AU", "UD", "UA", "DU", "AA", "UU")
#: Default-branch candidates, after the CI's own hints and ``origin/HEAD``.
_DEFAULT_BRANCHES = ("main", "master", "origin/main", "origin/master")
_SHALLOW_HINT = (
    "this clone is shallow: fetch the full history (actions/checkout: fetch-depth: 0; GitLab: GIT_DEPTH: 0) "
    "or pass --base with a commit that is present"
)


class AbError(GreencodeError):
    """``greencode ab`` cannot compare: not a repository, an unknown ref, a side whose pytest did not run."""


# ---------------------------------------------------------------------------------------------------------
# options and sides


@dataclass(frozen=True)
class AbOptions:
    """What to compare and how long to try. ``rounds`` and ``meter`` default to the configuration's;
    ``setup`` is a shell command run in each temporary worktree before measuring (build extensions there);
    ``config_file``, when given, is the configuration both sides' pytest read (else each reads its own)."""

    base: str | None = None
    head: str | None = None
    min_pairs: int = DEFAULT_MIN_PAIRS
    max_pairs: int = DEFAULT_MAX_PAIRS
    time_budget_s: float = DEFAULT_TIME_BUDGET_S
    rounds: int | None = None
    meter: str | None = None
    setup: str | None = None
    pytest_args: tuple[str, ...] = ()
    config_file: Path | None = None

    def __post_init__(self) -> None:
        if self.min_pairs < 2:
            raise AbError(f"--min-pairs {self.min_pairs}: a paired interval needs at least 2 pairs")
        if self.max_pairs < self.min_pairs:
            raise AbError(f"--max-pairs {self.max_pairs} is below --min-pairs {self.min_pairs}")
        if not self.time_budget_s > 0:
            raise AbError(f"--time-budget {self.time_budget_s:g}: expected a positive number of seconds")
        if self.rounds is not None and self.rounds < 1:
            raise AbError(f"--rounds {self.rounds}: expected a whole number >= 1")


@dataclass(frozen=True)
class Side:
    """One version of the code: its commit, the tree it is checked out in and where pytest runs.
    ``working_tree`` is true for the user's own tree, measured as it is (``dirty``: uncommitted changes)."""

    name: str
    ref: str
    commit: str
    root: Path
    cwd: Path
    working_tree: bool = False
    dirty: bool = False

    def describe(self) -> str:
        short = self.commit[:12]
        if self.working_tree:
            return f"working tree at {short}" + (" with uncommitted changes" if self.dirty else "")
        return short if self.commit.startswith(self.ref) else f"{short} ({self.ref})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "commit": self.commit,
            "working_tree": self.working_tree,
            "dirty": self.dirty,
            "description": self.describe(),
        }


def import_paths(root: Path) -> tuple[Path, ...]:
    """Where a tree's own code is imported from: ``src/`` in a src layout, else the tree's top (flat layout).
    Other layouts can name their directory with pytest's ``pythonpath`` ini option, which is relative to
    each tree's rootdir and so also follows the side."""
    src = root / "src"
    return (src,) if src.is_dir() else (root,)


def pair_order(index: int) -> tuple[str, str]:
    """The sides of pair ``index`` in running order: base first in even pairs, head first in odd ones, so
    that over every two pairs each side runs second once (the order effect cancels)."""
    return ("base", "head") if index % 2 == 0 else ("head", "base")


# ---------------------------------------------------------------------------------------------------------
# paired statistics


#: Share of each test's pair ratios trimmed from each end. On a shared machine a run now and then lands in a
#: busy spell and costs half as much again; a trimmed mean shrugs such pairs off where a mean would not.
TRIM = 0.2


@dataclass(frozen=True)
class PairedChange:
    """One test's change from its pairs: ``log_change`` is the trimmed mean of ``log(head / base)``,
    ``error`` its standard error and ``df`` its degrees of freedom; ``spread`` is ``error * sqrt(pairs)``, the
    spread of one pair's log ratio; ``order_effect`` is the mean of ``log(second / first)`` (how much more the
    second run of a pair used)."""

    pairs: int
    log_change: float
    error: float
    df: int
    spread: float
    order_effect: float


def paired_change(
    base_j: Sequence[float], head_j: Sequence[float], head_second: Sequence[bool]
) -> PairedChange | None:
    """The paired estimate from run medians, pair by pair; None with fewer than two pairs or a value that is
    not positive (a relative change is then undefined).

    The change is the :data:`TRIM`-trimmed mean of the log ratios with the Tukey–McLaughlin standard error
    (the winsorized standard deviation over ``(1 - 2 * TRIM) * sqrt(pairs)``, ``pairs - 2g - 1`` degrees of
    freedom for ``g`` ratios trimmed from each end); with fewer than five pairs nothing is trimmed and this
    is the paired t interval. The spread is floored at the gate's smallest run-to-run spread
    (:data:`greencode.gate.MIN_RUN_CV`, for each of the two runs), so a few identical-looking pairs cannot
    make an interval arbitrarily narrow.
    """
    if len(base_j) != len(head_j) or len(head_j) != len(head_second):
        raise ValueError("base_j, head_j and head_second need one entry per pair")
    if len(base_j) < 2 or any(v <= 0 or not math.isfinite(v) for v in (*base_j, *head_j)):
        return None
    ratios = [math.log(h) - math.log(b) for b, h in zip(base_j, head_j, strict=True)]
    n = len(ratios)
    trimmed = int(TRIM * n)
    ordered = sorted(ratios)
    kept = ordered[trimmed : n - trimmed]
    winsorized = [kept[0]] * trimmed + kept + [kept[-1]] * trimmed
    spread = max(statistics.stdev(winsorized) / (1.0 - 2.0 * trimmed / n), math.sqrt(2.0) * MIN_RUN_CV)
    order = [r if second else -r for r, second in zip(ratios, head_second, strict=True)]
    return PairedChange(
        pairs=n,
        log_change=statistics.fmean(kept),
        error=spread / math.sqrt(n),
        df=n - 2 * trimmed - 1,
        spread=spread,
        order_effect=statistics.fmean(order),
    )


@dataclass(frozen=True)
class PairedTest:
    """One test's runs, pair by pair: ``base[i]`` and ``head[i]`` ran back to back, head second when
    ``head_second[i]``."""

    node_id: str
    base: tuple[TestRecord, ...]
    head: tuple[TestRecord, ...]
    head_second: tuple[bool, ...]

    @property
    def base_j(self) -> tuple[float, ...]:
        return tuple(r.median_j for r in self.base)

    @property
    def head_j(self) -> tuple[float, ...]:
        return tuple(r.median_j for r in self.head)

    def change(self) -> PairedChange | None:
        return paired_change(self.base_j, self.head_j, self.head_second)

    def to_dict(self) -> dict[str, Any]:
        change = self.change()
        return {
            "node_id": self.node_id,
            "pairs": len(self.base),
            "base_j": list(self.base_j),
            "head_j": list(self.head_j),
            "head_second": list(self.head_second),
            "change": None if change is None else math.expm1(change.log_change),
            "pair_spread": None if change is None else change.spread,
            "order_effect": None if change is None else math.expm1(change.order_effect),
        }


def combine(records: Sequence[TestRecord]) -> TestRecord:
    """One side's runs of a test as one record with one sample per run (that run's median)."""
    first = records[0]
    co2e = [r.co2e_g for r in records if r.co2e_g is not None]
    return TestRecord(
        node_id=first.node_id,
        per=first.per,
        samples_j=tuple(r.median_j for r in records),
        wall_s=statistics.median(r.wall_s for r in records),
        cpu_s=statistics.median(r.cpu_s for r in records),
        meter=first.meter,
        estimated=any(r.estimated for r in records),
        provenance=first.provenance,
        rounds=len(records),
        iterations=first.iterations,
        source=first.source,
        co2e_g=statistics.median(co2e) if co2e else None,
        warnings=tuple(dict.fromkeys(w for r in records for w in r.warnings)),
    )


def _entry(record: TestRecord, commit: str) -> BaselineEntry:
    # the base side's runs as the gate's baseline entry: every sample is one pair's run median
    return replace(entry_from_record(record, commit), runs_j=record.samples_j, samples_j=record.samples_j)


def decide(
    tests: Mapping[str, PairedTest],
    settings: GateSettings,
    *,
    base_only: Mapping[str, TestRecord] = {},
    head_only: Mapping[str, TestRecord] = {},
    budgets: Sequence[Budget] = (),
    base: Side | None = None,
) -> GateReport:
    """The gate's report for paired tests (and tests measured on one side only: ``new`` or ``missing``).

    Each test's pair spread is shrunk towards the spread all tests share
    (:func:`greencode.stats.moderated_variances`, as the stored-baseline gate does with its runs): with few
    pairs per test, the other tests' pairs lend degrees of freedom, so intervals are honest without being
    needlessly wide.
    """
    from greencode.stats import moderated_variances

    others = []
    paired = []
    for node_id, test in sorted(tests.items()):
        head, entry = combine(test.head), _entry(combine(test.base), base.commit if base else "")
        change = test.change()
        if change is not None:
            paired.append((head, entry, change))
            continue
        delta = head.median_j - entry.centre_j
        why = (
            "fewer than 2 pairs"
            if len(test.base) < 2
            else "zero energy in some runs: a relative change is undefined"
        )
        others.append(
            Comparison(
                node_id,
                "unchanged" if abs(delta) <= settings.min_effect_j else "inconclusive",
                why,
                head.per,
                head.median_j,
                entry.centre_j,
                delta_j=delta,
                baseline_runs=len(entry.runs_j),
                estimated=head.estimated,
                meter=head.meter,
            )
        )
    moderated = moderated_variances([(c.spread * c.spread, c.df) for _, _, c in paired])
    estimates = []
    for (head, entry, change), (variance, df) in zip(paired, moderated, strict=True):
        spread = math.sqrt(variance)
        # the spread of one pair's log ratio is that of two runs: each run's own is 1/sqrt(2) of it
        noise = Noise(spread / math.sqrt(2.0), df, f"{change.pairs} paired runs")
        estimates.append(
            ChangeEstimate(head, entry, noise, change.log_change, spread / math.sqrt(change.pairs))
        )
    for record in head_only.values():
        others.append(
            Comparison(
                record.node_id,
                "new",
                "measured on head only",
                record.per,
                record.median_j,
                estimated=record.estimated,
                meter=record.meter,
            )
        )
    for record in base_only.values():
        others.append(
            Comparison(
                record.node_id,
                "missing",
                "measured on base only",
                record.per,
                baseline_j=record.median_j,
                estimated=record.estimated,
                meter=record.meter,
            )
        )
    comparisons = sorted([*judge(estimates, settings), *others], key=lambda c: c.node_id)
    head_records = [combine(t.head) for t in tests.values()] + list(head_only.values())
    return GateReport(
        settings,
        tuple(comparisons),
        check_budgets(head_records, budgets),
        compared=True,
        baseline=f"base {base.describe()}" if base else "base",
        baseline_commit=base.commit if base else None,
    )


def needs_more_pairs(comparison: Comparison, settings: GateSettings) -> bool:
    """Whether more pairs could still change this test's verdict: the gate calls it inconclusive, or it is
    not a regression while its interval still reaches above ``fail_on`` by more than the floor."""
    if comparison.ci_high is None or comparison.verdict not in ("inconclusive", "unchanged", "improvement"):
        return False
    if comparison.verdict == "inconclusive":
        return True
    reach = comparison.ci_high * (comparison.baseline_j or 0.0)
    return comparison.ci_high > settings.fail_on and reach > settings.min_effect_j


def planned_looks(min_pairs: int, max_pairs: int) -> int:
    """How many times the data are judged at most: after ``min_pairs`` pairs, then after every batch."""
    return 1 + math.ceil((max_pairs - min_pairs) / BATCH_PAIRS)


def look_alpha(alpha: float, look: int, looks: int, *, last: bool = False) -> float:
    """The significance level for a regression at ``look`` (1-based) of ``looks`` planned.

    Looking again after more pairs and stopping at the first significant result would let noise through
    more often than ``alpha`` (optional stopping). So the looks share ``alpha`` (Bonferroni): the last
    planned look gets ``alpha/2``, the one before ``alpha/4``, and so on; the look that ends the run, for
    whatever reason, gets all that earlier looks left unspent. A test stops early only on a regression at its
    look's level, or when even the full-``alpha`` interval lies below ``fail_on`` — which cannot add false
    alarms.
    """
    if last:
        return alpha - sum(look_alpha(alpha, earlier, looks) for earlier in range(1, look))
    return alpha / 2.0 ** (looks - look + 1)


def still_undecided(full: GateReport, spent: GateReport, settings: GateSettings) -> set[str]:
    """Tests that need more pairs: not a regression at the look's level (``spent``) and, at full ``alpha``
    (``full``), a regression or not clear of ``fail_on`` yet (:func:`needs_more_pairs`)."""
    flagged = {c.node_id for c in spent.regressions}
    return {
        c.node_id
        for c in full.comparisons
        if c.node_id not in flagged and (c.verdict == "regression" or needs_more_pairs(c, settings))
    }


# ---------------------------------------------------------------------------------------------------------
# the result


@dataclass(frozen=True)
class AbResult:
    """Everything one ``greencode ab`` run found. ``failed`` maps a side to the tests that failed there;
    ``undecided`` are tests that still needed pairs when measuring stopped (``stopped`` says why)."""

    gate: GateReport
    base: Side
    head: Side
    tests: Mapping[str, PairedTest]
    head_records: Mapping[str, TestRecord]
    failed: Mapping[str, tuple[str, ...]]
    undecided: tuple[str, ...]
    pairs: int
    stopped: str
    elapsed_s: float
    meter: str
    estimated: bool
    rounds: int
    machine: str
    pytest_args: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def failed_check(self) -> bool:
        """A regression, a test over its budget, or a test failing on head."""
        return self.gate.failed or bool(self.failed.get("head"))

    @property
    def exit_code(self) -> int:
        return 1 if self.failed_check else 0

    def summary(self) -> str:
        """One line: the gate's summary, failing tests and what stayed undecided."""
        text = {
            side: f"{len(nodes)} test{'s' * (len(nodes) != 1)} failing on {side}"
            for side, nodes in self.failed.items()
            if nodes
        }
        parts = [self.gate.summary()]
        if "head" in text:
            parts[0] = f"{parts[0]}, {text['head']}" if self.gate.failed else f"FAILED: {text['head']}"
        if "base" in text:
            parts.append(f"{text['base']} (not compared)")
        if self.undecided:
            parts.append(f"{len(self.undecided)} undecided after {self.pairs} pairs ({self.stopped})")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        from greencode import __version__

        return {
            "schema": AB_SCHEMA,
            "version": AB_VERSION,
            "greencode_version": __version__,
            "base": self.base.to_dict(),
            "head": self.head.to_dict(),
            "pytest_args": list(self.pytest_args),
            "meter": self.meter,
            "estimated": self.estimated,
            "machine": self.machine,
            "rounds": self.rounds,
            "pairs": self.pairs,
            "order": "balanced: base-head, head-base, ...",
            "stopped": self.stopped,
            "elapsed_s": round(self.elapsed_s, 3),
            "summary": self.summary(),
            "failed": self.failed_check,
            "exit_code": self.exit_code,
            "undecided": list(self.undecided),
            "failing_tests": {side: list(nodes) for side, nodes in sorted(self.failed.items())},
            "tests": [self.tests[node].to_dict() for node in sorted(self.tests)],
            "gate": self.gate.to_dict(),
            "notes": list(self.notes),
        }


def to_report(result: AbResult, carbon: CarbonConfig) -> Report:
    """The result as a :class:`~greencode.report.model.Report` (head's energy per test, base as baseline,
    the gate's verdicts), for :func:`greencode.report.render`: the same text and Markdown as ``greencode
    report``."""
    from greencode.report.records import records_report

    return records_report(
        result.head_records.values(),
        carbon,
        result.gate,
        source=f"greencode ab: head {result.head.describe()} against base {result.base.describe()}",
        kind="paired runs, interleaved",
        commit=result.head.commit,
        meter=result.meter,
        machine=result.machine,
        notes=result.notes,
    )


# ---------------------------------------------------------------------------------------------------------
# git


def _run_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # GIT_OPTIONAL_LOCKS=0: status must not take the index lock while the user's own git is working
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    except FileNotFoundError:
        raise AbError(
            "git is not installed or not on PATH; greencode ab needs it to check out the base"
        ) from None


def _git(cwd: Path, *args: str) -> str:
    completed = _run_git(cwd, *args)
    if completed.returncode != 0:
        message = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        raise AbError(f"git {' '.join(args)}: {message}")
    return completed.stdout.strip()


def _toplevel(cwd: Path) -> Path:
    completed = _run_git(cwd, "rev-parse", "--show-toplevel")
    if completed.returncode != 0 or not completed.stdout.strip():
        raise AbError(
            f"{cwd}: not inside a git working tree; greencode ab compares two versions of a git repository — "
            "run it in your project's clone"
        )
    return Path(completed.stdout.strip()).resolve()


def _shallow(top: Path) -> bool:
    return _run_git(top, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def _commit(top: Path, ref: str) -> str:
    completed = _run_git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if completed.returncode != 0:
        hint = _SHALLOW_HINT if _shallow(top) else "fetch it first, or check the spelling"
        raise AbError(f"unknown REF {ref!r}: no such commit, branch or tag in this repository; {hint}")
    return completed.stdout.strip()


def _default_branch(top: Path) -> str:
    candidates = []
    if os.environ.get("GITHUB_BASE_REF"):  # a GitHub pull request: the branch it will merge into
        candidates.append(f"origin/{os.environ['GITHUB_BASE_REF']}")
    if os.environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"):  # a GitLab merge request pipeline
        candidates.append(f"origin/{os.environ['CI_MERGE_REQUEST_TARGET_BRANCH_NAME']}")
    origin_head = _run_git(
        top, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"
    ).stdout.strip()
    if origin_head:
        candidates.append(origin_head)
    candidates.extend(_DEFAULT_BRANCHES)
    for candidate in candidates:
        if _run_git(top, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}").returncode == 0:
            return candidate
    raise AbError(
        "cannot tell the default branch (no origin/HEAD, main or master here); pass --base REF, e.g. "
        "--base origin/develop"
    )


def default_base(top: Path, head: str) -> tuple[str, str]:
    """The base when none is given: the merge base of commit ``head`` and the default branch (GitHub's
    ``GITHUB_BASE_REF``, GitLab's merge-request target or its ``CI_MERGE_REQUEST_DIFF_BASE_SHA``,
    ``origin/HEAD``, ``main``, ``master``), and how it was chosen."""
    if os.environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"):  # GitLab computed the merge base already
        sha = os.environ["CI_MERGE_REQUEST_DIFF_BASE_SHA"]
        return _commit(top, sha), "merge base (CI_MERGE_REQUEST_DIFF_BASE_SHA)"
    branch = _default_branch(top)
    completed = _run_git(top, "merge-base", head, branch)
    if completed.returncode != 0 or not completed.stdout.strip():
        hint = _SHALLOW_HINT if _shallow(top) else "pass --base REF"
        raise AbError(f"no merge base of {head[:12]} and {branch}; {hint}")
    return completed.stdout.strip(), f"merge base with {branch}"


def _conflicts(top: Path) -> list[str]:
    status = _git(top, "status", "--porcelain", "--untracked-files=no")
    return [line[3:] for line in status.splitlines() if line[:2] in _CONFLICTS]


@contextlib.contextmanager
def _uninterruptible() -> Iterator[None]:
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI cancelling the job) unwinds like Ctrl-C, so every ``finally`` runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def _worktree(top: Path, commit: str, path: Path) -> Iterator[Path]:
    """``commit`` checked out (detached) at ``path``, removed again on every way out."""
    try:
        # no hooks: a post-checkout hook of the project has no business running for a measurement copy
        _git(
            top,
            "-c",
            f"core.hooksPath={os.devnull}",
            "worktree",
            "add",
            "--detach",
            "--quiet",
            str(path),
            commit,
        )
        yield path
    finally:
        with _uninterruptible():
            _run_git(top, "worktree", "remove", "--force", str(path))
            shutil.rmtree(path, ignore_errors=True)
            _run_git(top, "worktree", "prune")


# ---------------------------------------------------------------------------------------------------------
# running one side


def measuring_environment(scratch: Path, config_file: Path | None = None) -> dict[str, str]:
    """The environment of a pytest process that greencode starts to measure (``greencode ab``'s sides,
    ``greencode calibrate``'s runs): its history goes to a database in ``scratch``, not into the user's
    ``.greencode/``, and ``$GITHUB_STEP_SUMMARY`` is hidden, since the command writes the summary itself,
    once. ``config_file``, else ``$GREENCODE_CONFIG``, is the greencode configuration the process reads: made
    absolute, so that a process running in another directory (a worktree) reads the same file."""
    env = {k: v for k, v in os.environ.items() if k not in _HIDDEN_VARIABLES}
    env["GREENCODE_HISTORY"] = str(scratch / "history.sqlite")
    config = config_file or env.get("GREENCODE_CONFIG")
    if config:
        env["GREENCODE_CONFIG"] = str(Path(config).resolve())
    return env


def measuring_command(
    pytest_args: Sequence[str],
    output: Path,
    *,
    rounds: int | None = None,
    meter: str | None = None,
    include_setup: bool = False,
) -> list[str]:
    """``python -m pytest`` with ``pytest_args``, measuring with greencode into the results file ``output``
    (read it with :func:`greencode.store.load_results`), with pytest's short summary of failures and without
    touching its cache. The plugin is loaded explicitly when pytest's plugin autoloading is off."""
    command = [sys.executable, "-m", "pytest", *pytest_args]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") and not any(
        "pytest_greencode" in a for a in pytest_args
    ):
        command += ["-p", "pytest_greencode.plugin"]
    command += ["--greencode", f"--greencode-json={output}", "-p", "no:cacheprovider", "-rfE"]
    if rounds is not None:
        command.append(f"--greencode-rounds={rounds}")
    if meter:
        command.append(f"--greencode-meter={meter}")
    if include_setup:
        command.append("--greencode-include-setup")
    return command


@dataclass(frozen=True)
class SideRun:
    """One pytest process of one side: its records, the tests that failed, the budgets its markers set."""

    side: str
    pair: int
    records: Mapping[str, TestRecord]
    failed: tuple[str, ...]
    budgets: tuple[Budget, ...]
    duration_s: float
    machine: str
    warnings: tuple[str, ...] = ()


def failing_tests(output: str) -> tuple[str, ...]:
    """Node ids from pytest's short test summary (``-rfE``): ``FAILED id - message`` and ``ERROR id``."""
    found = []
    for line in output.splitlines():
        for prefix in ("FAILED ", "ERROR "):
            if line.startswith(prefix):
                found.append(line[len(prefix) :].split(" - ", 1)[0].strip())
    return tuple(dict.fromkeys(found))


def _problem(completed: subprocess.CompletedProcess[str]) -> str:
    """The most telling line of a pytest that did not run: a collection error from its short summary, the
    exception of a traceback, a usage error, else its last line."""
    out, err = completed.stdout.splitlines(), completed.stderr.splitlines()
    where = [line.split(" - ", 1)[0] for line in out if line.startswith("ERROR ")][:1]
    exception = [line[1:].strip() for line in out + err if line.startswith("E   ")][:1]
    if where or exception:
        return ": ".join(where + exception)
    lines = [line[line.index("error:") :] for line in err if "error:" in line]
    lines += [line for line in err if line.strip()][-1:] + [line for line in out if line.strip()][-1:]
    return lines[0].strip() if lines else "no output"


class _Runner:
    """Runs pytest for either side with the same measuring options."""

    def __init__(self, options: AbOptions, config: Config, top: Path, scratch: Path) -> None:
        self.options = options
        self.top = top
        self.scratch = scratch
        self.rounds = options.rounds or config.rounds
        self.meter = options.meter or config.meter
        self.include_setup = config.include_setup

    def _rebase(self, path: str, side: Side) -> str:
        # a path into the user's tree means the same path in this side's tree
        if side.root == self.top or not os.path.isabs(path):
            return path
        try:
            return str(side.root / Path(path).resolve().relative_to(self.top))
        except ValueError:
            return path

    def environment(self, side: Side) -> dict[str, str]:
        env = measuring_environment(self.scratch, self.options.config_file)
        inherited = [self._rebase(p, side) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        own = [str(p) for p in import_paths(side.root)]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([*own, *inherited]))
        env[SIDE_VARIABLE] = side.name
        env["COLUMNS"] = "300"  # pytest's short summary must show node ids whole
        return env

    def command(self, side: Side, output: Path, deselect: Sequence[str]) -> list[str]:
        command = measuring_command(
            [self._rebase(a, side) for a in self.options.pytest_args],
            output,
            rounds=self.rounds,
            meter=self.meter,
            include_setup=self.include_setup,
        )
        return command + [f"--deselect={node}" for node in deselect]

    def setup(self, side: Side) -> None:
        if not self.options.setup or side.working_tree:
            return
        completed = subprocess.run(
            self.options.setup,
            shell=True,
            cwd=side.root,
            env=self.environment(side),
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise AbError(
                f"--setup {self.options.setup!r} failed in the {side.name} worktree ({side.describe()}), "
                f"exit {completed.returncode}: {_problem(completed)}"
            )

    def run(self, side: Side, pair: int, deselect: Sequence[str]) -> SideRun:
        output = self.scratch / f"{side.name}-{pair}.json"
        started = time.monotonic()
        completed = subprocess.run(
            self.command(side, output, deselect),
            cwd=side.cwd,
            env=self.environment(side),
            capture_output=True,
            text=True,
            check=False,
        )
        duration = time.monotonic() - started
        where = f"the {side.name} side ({side.describe()})"
        if completed.returncode == 5:
            raise AbError(
                f"pytest collected no tests on {where} with arguments {list(self.options.pytest_args)}; "
                "check the test paths and -k/-m after '--'"
            )
        if completed.returncode not in (0, 1):
            problem, hint = _problem(completed), ""
            if not side.working_tree and ("ImportError" in problem or "ModuleNotFoundError" in problem):
                hint = (
                    f" (the {side.name} is imported from its worktree: compiled extensions must be built "
                    "there, see --setup)"
                )
            raise AbError(f"pytest did not run on {where}, exit {completed.returncode}: {problem}{hint}")
        failed = failing_tests(completed.stdout)
        if not output.is_file():
            raise AbError(
                f"pytest ran on {where} but wrote no greencode results; is the greencode plugin disabled "
                "(-p no:greencode) or are the tests run elsewhere?"
            )
        try:
            results = load_results(output)
        except StoreError as exc:
            raise AbError(f"{where}: {exc}") from None
        budgets = tuple(
            Budget(str(b["node_id"]), float(b["budget_j"]), str(b["per"]), "marker")
            for b in (results.gate or {}).get("budgets", [])
            if isinstance(b, dict) and b.get("source") == "marker"
        )
        return SideRun(
            side=side.name,
            pair=pair,
            records={r.node_id: r for r in results.records},
            failed=failed,
            budgets=budgets,
            duration_s=duration,
            machine=results.fingerprint.describe(),
            warnings=tuple(str(w) for w in results.raw.get("warnings") or []),
        )


# ---------------------------------------------------------------------------------------------------------
# the measuring loop


class _Collected:
    """Records gathered so far, pair by pair."""

    def __init__(self) -> None:
        self.pairs: dict[str, list[tuple[TestRecord, TestRecord, bool]]] = {}
        self.only: dict[str, dict[str, list[TestRecord]]] = {"base": {}, "head": {}}
        self.failed: dict[str, dict[str, None]] = {"base": {}, "head": {}}
        self.budgets: dict[str, Budget] = {}
        self.warnings: dict[str, None] = {}
        self.machine = ""
        self.meter = ""
        self.estimated = False

    def add(self, first: SideRun, second: SideRun, active: AbstractSet[str] | None) -> None:
        runs = {first.side: first, second.side: second}
        for run in runs.values():
            self.failed[run.side].update(dict.fromkeys(run.failed))
            self.warnings.update(dict.fromkeys(run.warnings))
            self.machine = self.machine or run.machine
        self.budgets.update((b.pattern, b) for b in runs["head"].budgets)
        base, head = runs["base"].records, runs["head"].records
        for node_id in sorted(set(base) | set(head)):
            if active is not None and node_id not in active:
                continue  # measured only because it could not be deselected exactly
            record = head.get(node_id) or base[node_id]
            self.meter, self.estimated = record.meter, self.estimated or record.estimated
            if node_id in base and node_id in head:
                self.pairs.setdefault(node_id, []).append(
                    (base[node_id], head[node_id], second.side == "head")
                )
            else:
                side = "head" if node_id in head else "base"
                self.only[side].setdefault(node_id, []).append(record)

    def failing(self) -> set[str]:
        return set(self.failed["base"]) | set(self.failed["head"])

    def paired(self) -> dict[str, PairedTest]:
        failing = self.failing()
        return {
            node_id: PairedTest(
                node_id,
                tuple(b for b, _, _ in pairs),
                tuple(h for _, h, _ in pairs),
                tuple(s for _, _, s in pairs),
            )
            for node_id, pairs in self.pairs.items()
            if node_id not in failing and len(pairs) >= 2
        }

    def one_sided(self, side: str) -> dict[str, TestRecord]:
        failing, paired = self.failing(), set(self.pairs)
        return {
            node_id: combine(records)
            for node_id, records in self.only[side].items()
            if node_id not in failing and node_id not in paired
        }

    def known(self) -> set[str]:
        return set(self.pairs) | set(self.only["base"]) | set(self.only["head"]) | self.failing()


def _deselect(known: AbstractSet[str], active: AbstractSet[str]) -> list[str]:
    """Node ids to deselect so that only ``active`` tests run. pytest deselects by prefix, so an id that is a
    prefix of an active one (``test_x`` of ``test_x_big``) stays selected; its extra runs are ignored."""
    return sorted(node for node in known - active if not any(a.startswith(node) for a in active))


def _sides(
    options: AbOptions, cwd: Path, top: Path, scratch: Path, stack: contextlib.ExitStack
) -> tuple[Side, Side]:
    relative = cwd.relative_to(top)
    if options.head:
        head_commit = _commit(top, options.head)
        head_root = stack.enter_context(_worktree(top, head_commit, scratch / "head"))
        head = Side("head", options.head, head_commit, head_root, head_root / relative)
    else:
        head_commit = _run_git(top, "rev-parse", "--verify", "--quiet", "HEAD").stdout.strip()
        if not head_commit:
            raise AbError("the repository has no commits yet: commit the code to compare against first")
        conflicts = _conflicts(top)
        if conflicts:
            raise AbError(
                f"the working tree has unresolved merge conflicts ({', '.join(conflicts[:3])}); head is the "
                "working tree as it is, so resolve them first, or pass --head REF to measure a commit"
            )
        dirty = bool(_git(top, "status", "--porcelain", "--untracked-files=no"))
        head = Side("head", "HEAD", head_commit, top, cwd, working_tree=True, dirty=dirty)
    if options.base:
        base_commit, base_ref = _commit(top, options.base), options.base
    else:
        base_commit, base_ref = default_base(top, head_commit)
    base_root = stack.enter_context(_worktree(top, base_commit, scratch / "base"))
    base = Side("base", base_ref, base_commit, base_root, base_root / relative)
    for side in (base, head):
        if not side.cwd.is_dir():
            raise AbError(
                f"the current directory {relative} does not exist in {side.name} {side.describe()}; run "
                "greencode ab from a directory both versions have, such as the repository's top"
            )
    return base, head


@dataclass(frozen=True)
class Adaptive:
    """What :func:`measure_adaptively` ended with: the final report, pairs run, looks taken, the tests still
    undecided and why it stopped."""

    report: GateReport
    pairs: int
    looks: int
    undecided: frozenset[str]
    stopped: str


def measure_adaptively(
    run_pair: Callable[[int, frozenset[str] | None], float],
    judged: Callable[[float], GateReport],
    settings: GateSettings,
    options: AbOptions,
    say: Callable[[str], None] = lambda line: None,
) -> Adaptive:
    """The measuring loop. ``run_pair(index, active)`` runs pair ``index`` for the ``active`` tests (None:
    all) and returns the seconds it took; ``judged(alpha)`` is the gate's report on everything so far at
    that level. Pairs run up to ``min_pairs``; then, while tests are undecided (:func:`still_undecided` at
    this look's level, :func:`look_alpha`), ``BATCH_PAIRS`` more for them alone, until ``max_pairs`` or the
    time budget (counted from the first pair). The final report is judged at the level the last look left.
    """
    started = time.monotonic()
    durations: list[float] = []
    active: frozenset[str] | None = None
    pairs, target, stopped = 0, options.min_pairs, "every test decided"
    looks, look = planned_looks(options.min_pairs, options.max_pairs), 0
    while True:
        while pairs < target:
            durations.append(run_pair(pairs, active))
            pairs += 1
        look += 1
        undecided = still_undecided(
            judged(settings.alpha), judged(look_alpha(settings.alpha, look, looks)), settings
        )
        if not undecided:
            break
        if pairs >= options.max_pairs:
            stopped = f"--max-pairs {options.max_pairs} reached"
            break
        if time.monotonic() - started + statistics.fmean(durations) * BATCH_PAIRS > options.time_budget_s:
            stopped = f"--time-budget {options.time_budget_s:g} s spent"
            break
        tests = f"{len(undecided)} test{'s' * (len(undecided) != 1)}"
        say(f"{tests} undecided after {pairs} pairs: adding {BATCH_PAIRS} pairs")
        active, target = frozenset(undecided), min(pairs + BATCH_PAIRS, options.max_pairs)
    final = judged(look_alpha(settings.alpha, look, looks, last=True))
    # the last look may flag at the level earlier looks left unspent: those tests are decided too
    undecided -= {c.node_id for c in final.regressions}
    return Adaptive(final, pairs, look, frozenset(undecided), stopped)


def run_ab(
    options: AbOptions,
    config: Config,
    *,
    cwd: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> AbResult:
    """Measure base and head in interleaved pairs and decide with ``config``'s gate settings.

    ``cwd`` (default: the current directory) must be inside the repository; pytest runs in the same
    relative directory of each side. ``progress`` receives one line per step. Raises :class:`AbError` when
    the comparison cannot be made; KeyboardInterrupt and SIGTERM end it with the worktrees removed.
    """
    say = progress or (lambda line: None)
    started = time.monotonic()
    cwd = (cwd or Path.cwd()).resolve()
    top = _toplevel(cwd)
    settings = GateSettings.from_config(config)
    collected = _Collected()
    with _terminate_as_interrupt(), tempfile.TemporaryDirectory(prefix="greencode-ab-") as directory:
        scratch = Path(directory)
        with contextlib.ExitStack() as stack:
            base, head = _sides(options, cwd, top, scratch, stack)
            say(f"base: {base.describe()}; head: {head.describe()}")
            runner = _Runner(options, config, top, scratch)
            for side in (base, head):
                runner.setup(side)
            sides = {"base": base, "head": head}

            def run_pair(index: int, active: frozenset[str] | None) -> float:
                deselect = [] if active is None else _deselect(collected.known(), active)
                first, second = (sides[name] for name in pair_order(index))
                say(
                    f"pair {index + 1}: {first.name} then {second.name}"
                    + ("" if active is None else f" (undecided: {len(active)})")
                )
                runs = (runner.run(first, index, deselect), runner.run(second, index, deselect))
                collected.add(runs[0], runs[1], active)
                return runs[0].duration_s + runs[1].duration_s

            def judged(alpha: float) -> GateReport:
                return decide(
                    collected.paired(),
                    replace(settings, alpha=alpha),
                    base_only=collected.one_sided("base"),
                    head_only=collected.one_sided("head"),
                    budgets=_budgets(config, collected),
                    base=base,
                )

            outcome = measure_adaptively(run_pair, judged, settings, options, say)
    paired = collected.paired()
    return AbResult(
        gate=outcome.report,
        base=base,
        head=head,
        tests=paired,
        head_records={**{n: combine(t.head) for n, t in paired.items()}, **collected.one_sided("head")},
        failed={side: tuple(sorted(nodes)) for side, nodes in collected.failed.items() if nodes},
        undecided=tuple(sorted(outcome.undecided)),
        pairs=outcome.pairs,
        stopped=outcome.stopped,
        elapsed_s=time.monotonic() - started,
        meter=collected.meter or runner.meter,
        estimated=collected.estimated,
        rounds=runner.rounds,
        machine=collected.machine,
        pytest_args=options.pytest_args,
        notes=_notes(base, head, paired, collected, outcome, settings),
    )


def _budgets(config: Config, collected: _Collected) -> list[Budget]:
    from greencode.gate import config_budgets

    return [*collected.budgets.values(), *config_budgets(config)]


def _notes(
    base: Side,
    head: Side,
    paired: Mapping[str, PairedTest],
    collected: _Collected,
    outcome: Adaptive,
    settings: GateSettings,
) -> tuple[str, ...]:
    notes = [f"{outcome.pairs} pairs of runs, base and head alternating in a balanced order (ABBA...)"]
    alpha = outcome.report.settings.alpha
    if alpha < settings.alpha:
        notes.append(
            f"{outcome.looks} looks at the data: the last judged at alpha {alpha:.3g} of the configured "
            f"{settings.alpha:g} (earlier looks used the rest), so adding pairs cannot raise the false-alarm "
            "rate"
        )
    if head.working_tree:
        notes.append("head is the working tree as it is, uncommitted changes included")
    if base.commit == head.commit and not head.dirty:
        notes.append("base and head are the same code: this is an A/A run, showing the noise")
    effects = [c.order_effect for c in (t.change() for t in paired.values()) if c is not None]
    if effects:
        notes.append(
            f"the second run of a pair used {math.expm1(statistics.median(effects)):+.1%} energy compared to "
            "the first (median over tests); the balanced order cancels this"
        )
    if outcome.undecided:
        notes.append(f"still undecided ({outcome.stopped}): " + ", ".join(sorted(outcome.undecided)))
    for side in ("head", "base"):
        failing = sorted(collected.failed[side])
        if failing:
            consequence = "this fails the check" if side == "head" else "not compared"
            notes.append(f"tests failing on {side} ({consequence}): " + ", ".join(failing))
    notes.extend(f"warning: {w}" for w in collected.warnings)
    return tuple(notes)
