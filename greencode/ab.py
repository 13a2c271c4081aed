"""``greencode ab``: gate a change by measuring base and head in the same job, interleaved.

A committed baseline only works on one quiet machine: hosted CI runners differ far more from job to job than
within one job. So this measures both versions of the code here and now:

- **base** (default: the merge base of ``HEAD`` and the default branch) is checked out in a temporary
  ``git worktree``; **head** is the working tree as it is, uncommitted changes included (or ``--head REF``
  in a second worktree). The user's working tree, index and branches are never touched: git only records
  the temporary worktree under ``.git/worktrees`` until it is removed again.
- Each side runs as its own ``python -m pytest --greencode`` process with ``PYTHONPATH`` pointing at its own
  tree (``src/`` in a src layout, else the tree's top), so the base side imports the base code even when the
  project is installed in editable mode from head. Each side's process starts once and serves every later
  pair as a pass inside it (:mod:`greencode.side_workers`, :mod:`pytest_greencode.serve`): a pair then
  costs the tests' own time, not interpreter start, imports, collection and the end of a run. Every
  ``pairs_per_process`` pairs a new process generation, forked from the side's collected session, serves
  them, so that a bias one process carries for its whole life is a difference between pairs. A test that
  fails on a later pass after passing on the first is not stateless: its earlier pairs are kept and it is
  measured no more. ``fresh_processes`` (or pytest arguments a serving process cannot honour, such as
  xdist's ``-n``) starts a new process for every run instead.
- Runs alternate in pairs in a balanced order — base-head, head-base, base-head, … — because the second run
  of a back-to-back pair is typically a few per cent slower; each order occurs equally often, so that effect
  cancels in the mean.
- Per test, each pair gives one log ratio ``log(head / base)`` of the two runs' medians; the change is their
  trimmed mean with a Student-t interval over pairs (``stats.paired_change``), the pair spread shrunk towards
  the one all tests share (:func:`decide`). The verdicts, threshold, floor and Holm's adjustment are the
  pytest gate's own (:func:`greencode.verdicts.judge`).
- Adaptive: after ``min_pairs`` pairs, pairs are added two at a time (one in each order) only for tests that
  are still undecided — inconclusive, or with an interval that still reaches above ``fail_on`` — until every
  test is decided, ``max_pairs`` is reached, the time budget or ``max_cost`` runs of the tests are spent, or
  no undecided row could be decided by the pairs still affordable (:mod:`greencode.futility`) —
  :func:`measure_adaptively`. What stayed undecided is reported. Each look at the data spends part of
  ``alpha`` (``stats.look_alpha``), so looking again cannot raise the false-alarm rate. The suite total is
  judged from its own per-pair totals (:func:`suite_total`).
- A test that fails on either side is reported as a failing test, never as an energy change; failing on head
  fails the check, unless it fails on base too (the change did not break it).
- The worktree is removed on every way out: success, error, Ctrl-C, SIGTERM (CI cancelling the job).
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greencode import vcs
from greencode.bytecode import precompile
from greencode.errors import GreencodeError, StoreError
from greencode.footprint import EXTRA_PAIRS, SETTING_UP, Footprint, Stopwatch, footprint
from greencode.futility import could_decide
from greencode.gate import MIN_RUN_CV, Budget, GateReport, GateSettings, check_budgets, check_total_budget
from greencode.hotspots import Hotspots, regression_hotspots
from greencode.kinds import SIDES, SideName, Verdict
from greencode.outcome import AB_SIDE_VARIABLE
from greencode.pytest_process import (
    NO_TESTS_COLLECTED,
    import_paths,
    measuring_command,
    measuring_environment,
    problem,
    run_pytest,
    terminate_as_interrupt,
)
from greencode.records import BaselineEntry, TestRecord, combine_runs, entry_from_record
from greencode.results_file import load_results
from greencode.side_workers import SideWorker, WorkerError
from greencode.stats import (
    PairedChange,
    balanced_orders,
    look_alpha,
    paired_change,
    planned_looks,
)
from greencode.units import format_percent, plural
from greencode.verdicts import (
    ChangeEstimate,
    Comparison,
    Noise,
    SuiteVerdict,
    judge,
    judge_suite,
    unestimated,
)
from greencode.weighing import Size, Weighing, file_of, weigh

if TYPE_CHECKING:
    from greencode.config import Config

AB_SCHEMA = "greencode-ab"
AB_VERSION = 1
DEFAULT_MIN_PAIRS = 4
DEFAULT_MAX_PAIRS = 16
DEFAULT_TIME_BUDGET_S = 900.0
#: Pairs stop being added once ab, setting up included, has cost this many runs of the tests
#: (:func:`one_run_s`, about one plain run), so what ab spends grows with the suite, not with the machine's
#: noise; ending both sides and the report come on top (about one run more on the suites measured).
DEFAULT_MAX_COST = 10.0
#: Pairs are added two at a time, one in each order, so the order stays balanced.
BATCH_PAIRS = 2
#: A serving side's passes come from a new process generation every batch: a bias one process carries is then
#: one generation's, seen as a difference between pairs, and both orders of a batch share a generation.
DEFAULT_PAIRS_PER_PROCESS = BATCH_PAIRS


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
    #: most runs of the tests the pairs may cost, a run being half the first pair's time
    max_cost: float = DEFAULT_MAX_COST
    rounds: int | None = None
    meter: str | None = None
    setup: str | None = None
    pytest_args: tuple[str, ...] = ()
    config_file: Path | None = None
    #: a new pytest process for every run of a side, instead of one serving every pass
    fresh_processes: bool = False
    #: pairs each process generation of a serving side measures before a fresh fork replaces it (0: never)
    pairs_per_process: int = DEFAULT_PAIRS_PER_PROCESS

    def __post_init__(self) -> None:
        if self.min_pairs < 2:
            raise AbError(f"--min-pairs {self.min_pairs}: a paired interval needs at least 2 pairs")
        if self.max_pairs < self.min_pairs:
            raise AbError(f"--max-pairs {self.max_pairs} is below --min-pairs {self.min_pairs}")
        if not self.time_budget_s > 0:
            raise AbError(f"--time-budget {self.time_budget_s:g}: expected a positive number of seconds")
        if not self.max_cost > 0:
            raise AbError(f"--max-cost {self.max_cost:g}: expected a positive number of runs of the tests")
        if self.pairs_per_process < 0:
            raise AbError(f"--pairs-per-process {self.pairs_per_process}: expected a whole number >= 0")
        if self.rounds is not None and self.rounds < 1:
            raise AbError(f"--rounds {self.rounds}: expected a whole number >= 1")


@dataclass(frozen=True)
class Side:
    """One version of the code: its commit, the tree it is checked out in and where pytest runs.
    ``working_tree`` is true for the user's own tree, measured as it is (``dirty``: uncommitted changes)."""

    name: SideName
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


def generation_of(pair: int, pairs_per_process: int) -> int:
    """The process generation that serves pair ``pair``: a new one every ``pairs_per_process`` pairs (0:
    never), so that both orders of a batch run in the same generation."""
    return pair // pairs_per_process if pairs_per_process else 0


def pair_order(index: int) -> tuple[SideName, SideName]:
    """The sides of pair ``index`` in running order: base first in even pairs, head first in odd ones, so
    that over every two pairs each side runs second once (the order effect cancels)."""
    orders = balanced_orders(2)
    first, second = orders[index % len(orders)]
    return SIDES[first], SIDES[second]


# ---------------------------------------------------------------------------------------------------------
# paired tests (the statistics are greencode.stats')


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

    def change(self, min_cv: float = MIN_RUN_CV) -> PairedChange | None:
        # each of the two runs of a pair has at least the gate's smallest run-to-run spread
        return paired_change(self.base_j, self.head_j, self.head_second, min_spread=math.sqrt(2.0) * min_cv)

    def single_change(self, noise: float) -> ChangeEstimate | None:
        """One pair of a deterministic meter: the change is the ratio of the two runs, each run as uncertain
        as the meter's declared run-to-run spread."""
        base, head = self.base_j[0], self.head_j[0]
        if base <= 0 or head <= 0 or not math.isfinite(base + head):
            return None
        head_record, entry = combine_runs(self.head), _entry(combine_runs(self.base), "")
        spread = Noise(noise, math.inf, "meter: declared run-to-run noise")
        return ChangeEstimate(head_record, entry, spread, math.log(head / base), noise * math.sqrt(2.0))

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


def _entry(record: TestRecord, commit: str) -> BaselineEntry:
    # the base side's runs as the gate's baseline entry: every sample is one pair's run median
    return replace(entry_from_record(record, commit), runs_j=record.samples_j, samples_j=record.samples_j)


def sum_records(node_id: str, records: Sequence[TestRecord]) -> TestRecord:
    """One run of several tests as one record: the sum of their medians (energy, wall and CPU time)."""
    first = records[0]
    return TestRecord(
        node_id=node_id,
        per=first.per,
        samples_j=(math.fsum(r.median_j for r in records),),
        wall_s=math.fsum(r.wall_s for r in records),
        cpu_s=math.fsum(r.cpu_s for r in records),
        meter=first.meter,
        estimated=any(r.estimated for r in records),
        provenance=first.provenance,
    )


def summed(name: str, tests: Sequence[PairedTest]) -> PairedTest:
    """Tests measured in the same pairs as one test, ``name``: pair by pair, the sum of their run medians.
    Its pair spread is then the sum's own, whatever the tests have in common (a busy run slows them all)."""
    orders = {t.head_second for t in tests}
    if len(orders) != 1:
        raise ValueError(f"{name}: summed tests must share their pairs")
    base, head = (
        tuple(sum_records(name, runs) for runs in zip(*(getattr(t, side) for t in tests), strict=True))
        for side in ("base", "head")
    )
    return PairedTest(name, base, head, orders.pop())


def _estimates(
    tests: Mapping[str, PairedTest], settings: GateSettings, commit: str
) -> tuple[list[ChangeEstimate], list[Comparison]]:
    """Each paired test's change, ready for :func:`judge`, and the comparisons of tests without one.

    Each test's pair spread is shrunk towards the spread all of ``tests`` share
    (:func:`greencode.stats.moderated_variances`, as the stored-baseline gate does with its runs): with few
    pairs per test, the other tests' pairs lend degrees of freedom, so intervals are honest without being
    needlessly wide.
    """
    from greencode.stats import moderated_variances

    others = []
    paired = []
    single = []
    for _, test in sorted(tests.items()):
        head, entry = combine_runs(test.head), _entry(combine_runs(test.base), commit)
        if len(test.base) == 1 and settings.meter_noise is not None:
            estimate = test.single_change(settings.meter_noise)
            if estimate is not None:
                single.append(estimate._replace(entry=entry))
                continue
        change = test.change(settings.min_run_cv)
        if change is not None:
            paired.append((head, entry, change))
            continue
        why = (
            "fewer than 2 pairs"
            if len(test.base) < 2
            else "zero energy in some runs: a relative change is undefined"
        )
        others.append(unestimated(head, entry, why, settings))
    moderated = moderated_variances([(c.spread * c.spread, c.df) for _, _, c in paired])
    estimates = single
    for (head, entry, change), (variance, df) in zip(paired, moderated, strict=True):
        spread = math.sqrt(variance)
        # the spread of one pair's log ratio is that of two runs: each run's own is 1/sqrt(2) of it
        noise = Noise(spread / math.sqrt(2.0), df, f"{change.pairs} paired runs")
        estimates.append(
            ChangeEstimate(head, entry, noise, change.log_change, spread / math.sqrt(change.pairs))
        )
    return estimates, others


#: How the suite total is named among the rows still undecided (it is ``GateReport.suite``, not a row).
TOTAL_ROW = "suite total"


def group_row(file: str) -> str:
    """The row judging ``file``'s small tests together."""
    return f"{file} (small tests together)"


def decide(
    tests: Mapping[str, PairedTest],
    settings: GateSettings,
    *,
    base_only: Mapping[str, TestRecord] = {},
    head_only: Mapping[str, TestRecord] = {},
    budgets: Sequence[Budget] = (),
    base: Side | None = None,
    weighing: Weighing | None = None,
    sums: Mapping[str, PairedTest] = {},
    total: PairedTest | None = None,
) -> GateReport:
    """The gate's report for paired tests (and tests measured on one side only: ``new`` or ``missing``).

    Without ``weighing`` every test is judged alone, all in one family (Holm's adjustment). With it, the
    tests it judges alone and the ``sums`` (:func:`group_row`: each file's small tests) form the family;
    each small test is judged on its own figures too, in a family of its own, but its verdict is its file's
    (:func:`as_member`): a small test never fails the check, nor warns, alone. The suite total
    (``GateReport.suite``) is judged from ``total``, the per-pair totals of the tests measured per test
    (:func:`suite_total`), when given: its own paired differences; else from the tests' changes
    (:func:`greencode.verdicts.judge_suite`'s conservative sum of their errors).
    """
    commit = base.commit if base else ""
    together = weighing.together if weighing is not None else frozenset()
    estimates, others = _estimates({n: t for n, t in tests.items() if n not in together}, settings, commit)
    small, small_others = _estimates({n: t for n, t in tests.items() if n in together}, settings, commit)
    summed, summed_others = _estimates(sums, settings, commit)
    comparisons = [*judge([*estimates, *summed], settings), *others, *summed_others]
    unjudged = [c.node_id for c in [*others, *small_others] if c.verdict not in ("new", "missing")]
    if total is None:
        changes = [*estimates, *small]
        suite = judge_suite(changes, settings, new=head_only, missing=base_only, excluded=unjudged)
    else:
        suite = _judge_total(total, tests, settings, commit, head_only, base_only)
    if weighing is not None:
        rows = {c.node_id: (c.node_id, c.verdict) for c in comparisons}
        comparisons += [
            as_member(
                c,
                weighing.weights[c.node_id].why,
                rows.get(group_row(file_of(c.node_id)), (TOTAL_ROW, suite.verdict)),
            )
            for c in [*judge(small, settings), *small_others]
        ]
    for record in head_only.values():
        comparisons.append(Comparison.of(record, "new", "measured on head only"))
    for record in base_only.values():
        comparisons.append(Comparison.missing(record, "measured on base only", record.median_j))
    head_records = [combine_runs(t.head) for t in tests.values()] + list(head_only.values())
    return GateReport(
        settings,
        tuple(sorted(comparisons, key=lambda c: c.node_id)),
        check_budgets(head_records, budgets),
        compared=True,
        baseline=f"base {base.describe()}" if base else "base",
        baseline_commit=base.commit if base else None,
        suite=suite,
        total_budget=check_total_budget(head_records, settings),
    )


def suite_total(collected: _Collected, tests: Mapping[str, PairedTest]) -> PairedTest | None:
    """The suite's total, pair by pair: the sum of the tests measured per test over the pairs that ran them
    all (None without enough such pairs). One pair's total ratio carries whatever the tests share (a busy
    run slows them all) and no more, so its spread is the total's own."""
    counted = [node_id for node_id, test in tests.items() if test.base[0].per == "test"]
    aligned = collected.on_full_pairs(counted) if counted else []
    return summed(TOTAL_ROW, aligned) if aligned else None


def _judge_total(
    total: PairedTest,
    tests: Mapping[str, PairedTest],
    settings: GateSettings,
    commit: str,
    head_only: Mapping[str, TestRecord],
    base_only: Mapping[str, TestRecord],
) -> SuiteVerdict:
    """The suite verdict from its per-pair totals: a paired change like a test's, with ``pairs - 1`` degrees
    of freedom (fewer when trimmed), judged at ``alpha`` with ``fail_on`` and ``min_effect_j``."""
    estimates, _ = _estimates({TOTAL_ROW: total}, settings, commit)
    per_call = [n for n, t in tests.items() if t.base[0].per != "test"]
    suite = judge_suite(estimates, settings, new=head_only, missing=base_only, excluded=per_call)
    return replace(suite, compared=len(tests) - len(per_call), estimated=total.head[0].estimated)


def as_member(own: Comparison, why: str, group: tuple[str, str]) -> Comparison:
    """A small test's comparison as one of the small tests judged together: its own figures, the verdict of
    ``group`` (its name and verdict: its file's row, or the suite total for a file's only small test).

    It is ``unchanged`` when the group is unchanged or better (an improvement stays one only when both
    agree), and otherwise ``grouped``, as the stored gate calls its small tests: never a regression nor a
    warning of its own, since it is too small to judge alone (``why``) and its group's row carries the
    verdict. (Called ``inconclusive``, an A/A run of marshmallow's 1,231 tests on a busy machine counted
    "801 inconclusive", most of them members of a few undecided files.)
    """
    name, verdict = group
    mine: Verdict
    if verdict not in ("unchanged", "improvement"):
        mine = "grouped"
    elif own.verdict == "improvement" == verdict:
        mine = "improvement"
    else:
        mine = "unchanged"
    alone = f"alone {own.reason}" if own.reason else "alone: no change measured"
    return replace(own, verdict=mine, reason=f"too small to judge alone ({why}); {name}: {verdict}; {alone}")


def needs_more_pairs(comparison: Comparison | SuiteVerdict, settings: GateSettings) -> bool:
    """Whether more pairs could still change this verdict (a test's or the suite total's): the gate calls it
    inconclusive, or it is not a regression while its interval still reaches above ``fail_on`` by more than
    the floor."""
    if comparison.ci_high is None or comparison.verdict not in ("inconclusive", "unchanged", "improvement"):
        return False
    if comparison.verdict == "inconclusive":
        return True
    reach = comparison.ci_high * (comparison.baseline_j or 0.0)
    return comparison.ci_high > settings.fail_on and reach > settings.min_effect_j


@dataclass(frozen=True)
class Scope:
    """Which verdicts of a report can keep measuring going. ``together``: the small tests and their files'
    rows, which never can; ``suite``: whether the suite total can (its indecision needs pairs of every
    test). The default: every row is a test judged alone, and the total does not count."""

    together: frozenset[str] = frozenset()
    suite: bool = False
    #: each row's pairs so far (the total's: the pairs that ran every test), for :func:`hopeless`; a row not
    #: in it is never given up on
    pairs: Mapping[str, int] = field(default_factory=dict)


def still_undecided(
    full: GateReport, spent: GateReport, settings: GateSettings, scope: Scope = Scope()
) -> set[str]:
    """What needs more pairs: tests judged alone, and the suite total (:data:`TOTAL_ROW`), that are not a
    regression at the look's level (``spent``) and, at full ``alpha`` (``full``), a regression or not clear
    of ``fail_on`` yet (:func:`needs_more_pairs`). Small tests and their files' rows are never among them."""
    flagged = {c.node_id for c in spent.regressions}
    undecided = {
        c.node_id
        for c in full.comparisons
        if c.node_id not in flagged
        and c.node_id not in scope.together
        and (c.verdict == "regression" or needs_more_pairs(c, settings))
    }
    total = full.suite
    if (
        scope.suite
        and total is not None
        and not spent.suite_regressed
        and (total.verdict == "regression" or needs_more_pairs(total, settings))
    ):
        undecided.add(TOTAL_ROW)
    return undecided


def hopeless(
    report: GateReport, rows: Iterable[str], settings: GateSettings, scope: Scope, more: int
) -> set[str]:
    """The ``rows`` (undecided in ``report``) that ``more`` pairs could not decide
    (:func:`greencode.futility.could_decide`): measuring them on would only spend the budget."""
    verdicts: dict[str, Comparison | SuiteVerdict] = {c.node_id: c for c in report.comparisons}
    if report.suite is not None:
        verdicts[TOTAL_ROW] = report.suite
    given_up = set()
    for row in rows:
        verdict, pairs = verdicts.get(row), scope.pairs.get(row)
        if verdict is None or pairs is None or verdict.ci_low is None or verdict.ci_high is None:
            continue
        if not could_decide(
            verdict.ci_low,
            verdict.ci_high,
            fail_on=settings.fail_on,
            pairs=pairs,
            reachable=pairs + more,
            confidence=settings.confidence,
            baseline_j=verdict.baseline_j if verdict.baseline_j is not None else math.inf,
            min_effect_j=settings.min_effect_j,
        ):
            given_up.add(row)
    return given_up


# ---------------------------------------------------------------------------------------------------------
# the result


def failing_by_side(failed: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """The failing tests by where they failed: on ``head`` only (the change broke them: this fails the
    check), on ``both sides`` (they failed before the change) and on ``base`` only (the change fixed them)."""
    head, base = set(failed.get("head", ())), set(failed.get("base", ()))
    return {"head": sorted(head - base), "both sides": sorted(head & base), "base": sorted(base - head)}


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
    #: the functions that grew the most in each regressed test (a counting meter's, on both sides)
    hotspots: tuple[Hotspots, ...] = ()
    #: what measuring added to one run of each side: setting both up and the pairs after the first
    footprint: Footprint | None = None
    #: the tests too small to judge alone (:mod:`greencode.weighing`): judged per file and in the total
    together: tuple[str, ...] = ()
    #: one run of the tests as ab timed it (:func:`one_run_s`), the unit of ``max_cost``; None: no pair ran
    run_s: float | None = None
    #: a serving side's start, collection and pass 0 (the mean of the two sides): one run of the tests with
    #: measuring on, as timed; None when not known
    measured_run_s: float | None = None

    @property
    def cost_runs(self) -> float | None:
        """What this ab took, setting up included, in runs of the tests."""
        return self.elapsed_s / self.run_s if self.run_s else None

    @property
    def failed_check(self) -> bool:
        """A regression, a test over its budget, or a test failing on head but not on base."""
        return self.gate.failed or bool(failing_by_side(self.failed)["head"])

    @property
    def exit_code(self) -> int:
        return 1 if self.failed_check else 0

    def summary(self) -> str:
        """One line: the gate's summary, failing tests and what stayed undecided."""
        text = {
            where: f"{plural(len(nodes), 'test')} failing on {where}"
            for where, nodes in failing_by_side(self.failed).items()
            if nodes
        }
        parts = [self.gate.summary()]
        if "head" in text:
            parts[0] = f"{parts[0]}, {text['head']}" if self.gate.failed else f"FAILED: {text['head']}"
        for where in ("both sides", "base"):
            if where in text:
                parts.append(f"{text[where]} (not compared)")
        if self.undecided:
            parts.append(f"{len(self.undecided)} undecided after {self.pairs} pairs ({self.stopped})")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        from greencode.version import __version__

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
            "run_s": None if self.run_s is None else round(self.run_s, 3),
            "measured_run_s": None if self.measured_run_s is None else round(self.measured_run_s, 3),
            "cost_runs": None if self.cost_runs is None else round(self.cost_runs, 2),
            "footprint": None if self.footprint is None else self.footprint.to_dict(),
            "together": list(self.together),
            "summary": self.summary(),
            "failed": self.failed_check,
            "exit_code": self.exit_code,
            "undecided": list(self.undecided),
            "failing_tests": {side: list(nodes) for side, nodes in sorted(self.failed.items())},
            "tests": [self.tests[node].to_dict() for node in sorted(self.tests)],
            "gate": self.gate.to_dict(),
            "hotspots": [spot.to_dict() for spot in self.hotspots],
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------------------
# running one side


@dataclass(frozen=True)
class SideRun:
    """One pytest process of one side: its records, the tests that failed, the budgets its markers set."""

    side: SideName
    pair: int
    records: Mapping[str, TestRecord]
    failed: tuple[str, ...]
    budgets: tuple[Budget, ...]
    duration_s: float
    machine: str
    warnings: tuple[str, ...] = ()
    #: the run-to-run spread the side's meters declared (a deterministic meter's), None when unknown
    meter_noise: float | None = None
    #: tests that failed, errored or skipped on this later pass after passing on the first: not stateless
    dropped: tuple[str, ...] = ()


class _Runner:
    """Runs pytest for either side with the same measuring options."""

    def __init__(self, options: AbOptions, config: Config, top: Path, scratch: Path) -> None:
        self.options = options
        self.top = top
        self.scratch = scratch
        self.rounds = options.rounds or config.rounds
        # unless asked for, the plugin picks the rounds: one for a deterministic meter, else the config's
        self.requested_rounds = options.rounds or (
            None if config.origin("rounds") == "defaults" else self.rounds
        )
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
        env[AB_SIDE_VARIABLE] = side.name
        # each side's bytecode in the scratch directory: both start without a cache and are precompiled
        # alike, and the user's tree gets no __pycache__ from us
        env["PYTHONPYCACHEPREFIX"] = str(self.scratch / f"pycache-{side.name}")
        # the prefix holds every module's bytecode, the standard library's and pytest's too; were it never
        # written, each side process would compile them all from source again (measured: +0.8 s of CPU per
        # run of a 130-test suite, twice a plain run's), so it is written there, in scratch, whatever the
        # user's PYTHONDONTWRITEBYTECODE says about their own tree
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["COLUMNS"] = "300"  # pytest's short summary must show node ids whole
        return env

    def command(self, side: Side, output: Path, deselect: Sequence[str]) -> list[str]:
        command = measuring_command(
            [self._rebase(a, side) for a in self.options.pytest_args],
            output,
            rounds=self.requested_rounds,
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
                f"exit {completed.returncode}: {problem(completed)}"
            )

    def run(self, side: Side, pair: int, only: AbstractSet[str] | None, known: AbstractSet[str]) -> SideRun:
        """A fresh pytest process of ``side`` for pair ``pair``, running ``only`` those tests (None: all)."""
        output = self.scratch / f"{side.name}-{pair}.json"
        deselect = [] if only is None else _deselect(known, only)
        run = run_pytest(
            self.command(side, output, deselect), output, env=self.environment(side), cwd=side.cwd
        )
        where = _where(side)
        check_ran(side, self.options, run.completed)
        if not output.is_file():
            raise AbError(f"pytest ran on {where} but wrote no greencode results; {_PLUGIN_OFF}")
        try:
            results = load_results(output)
        except StoreError as exc:
            raise AbError(f"{where}: {exc}") from None
        return SideRun(
            side=side.name,
            pair=pair,
            records={r.node_id: r for r in results.records},
            failed=run.failed,
            budgets=_marker_budgets((results.gate or {}).get("budgets", [])),
            duration_s=run.duration_s,
            machine=results.fingerprint.describe(),
            warnings=tuple(str(w) for w in results.raw.get("warnings") or []),
            meter_noise=_declared_noise(results.raw),
        )

    def finish(self) -> None:
        """Nothing outlives a fresh process's run."""


_PLUGIN_OFF = "is the greencode plugin disabled (-p no:greencode) or are the tests run elsewhere?"


def _where(side: Side) -> str:
    return f"the {side.name} side ({side.describe()})"


def check_ran(side: Side, options: AbOptions, completed: subprocess.CompletedProcess[str]) -> None:
    """An :class:`AbError` for a side's pytest that collected nothing or did not run its tests."""
    where = _where(side)
    if completed.returncode == NO_TESTS_COLLECTED:
        raise AbError(
            f"pytest collected no tests on {where} with arguments {list(options.pytest_args)}; "
            "check the test paths and -k/-m after '--'"
        )
    if completed.returncode not in (0, 1):
        why, hint = problem(completed), ""
        if not side.working_tree and ("ImportError" in why or "ModuleNotFoundError" in why):
            hint = (
                f" (the {side.name} is imported from its worktree: compiled extensions must be built "
                "there, see --setup)"
            )
        raise AbError(f"pytest did not run on {where}, exit {completed.returncode}: {why}{hint}")


def _marker_budgets(raw: object) -> tuple[Budget, ...]:
    return tuple(
        Budget(str(b["node_id"]), float(b["budget_j"]), str(b["per"]), "marker")
        for b in (raw if isinstance(raw, list) else [])
        if isinstance(b, dict) and b.get("source") == "marker"
    )


class ServingRefused(Exception):
    """A side's pytest cannot serve passes (it hands the tests to xdist workers): run fresh processes."""


def serving_blocked(options: AbOptions, meter: str) -> str | None:
    """Why the sides must run as fresh processes, or None: asked to, pytest arguments a serving process
    cannot honour, or a counting meter (one pair decides; the callgrind re-run cannot serve)."""
    if options.fresh_processes:
        return "--fresh-processes"
    args = options.pytest_args
    for position, arg in enumerate(args):
        option = "-n" if arg.startswith("-n") else arg.split("=")[0]  # -n 2, -n2, -nauto
        if option in ("-n", "--numprocesses", "--dist"):
            return f"pytest-xdist's {option}"
        plugin = arg[2:] if arg.startswith("-p") and len(arg) > 2 else None
        if arg == "-p" and position + 1 < len(args):
            plugin = args[position + 1]
        if plugin is not None and plugin.strip() == "no:greencode":
            return "-p no:greencode"
    if "instructions" in meter.split(","):
        return "the instructions meter (its counts decide in one pair)"
    return None


class _Served:
    """Each side's pytest started once: its pass 0 is pytest's own run of the tests (their outcome, and the
    warm-up: imports, first calls), and pair ``k`` is pass ``k + 1`` (:mod:`greencode.side_workers`). So
    every measured pass runs in a warm process on both sides alike, and no window compiles a module."""

    def __init__(self, runner: _Runner) -> None:
        self.runner = runner
        self.workers: dict[SideName, SideWorker] = {}
        #: each side's pass 0: what pytest's run said (failures, budgets, warnings, the machine)
        self.first: dict[SideName, SideRun] = {}
        #: seconds from each side's start to its pass 0's reply: one run of the tests, start included
        self.first_run_s: dict[SideName, float] = {}
        #: seconds from each side's start to its pass 0's first test: the interpreter, imports, collection
        self.started_s: dict[SideName, float] = {}
        #: each side's start and collection plus its tests' own time in pass 0: what a plain run takes, about
        self.plain_s: dict[SideName, float] = {}
        #: why the sides fork no process generations (a side's process cannot be forked safely), or None
        self.unforkable: str | None = None

    def environment(self, side: Side) -> dict[str, str]:
        """A fresh process's environment, but with bytecode where it is: one process per side compiling
        the standard library and every package into an empty cache costs it a second of CPU, and pass 0
        compiles whatever it imports before anything is compared. Nothing is written into the trees."""
        env = self.runner.environment(side)
        del env["PYTHONPYCACHEPREFIX"]
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        # one process measures every pass: the same string hashing on both sides, not one draw per side
        env.setdefault("PYTHONHASHSEED", "0")
        return env

    def run(self, side: Side, pair: int, only: AbstractSet[str] | None, known: AbstractSet[str]) -> SideRun:
        started = time.monotonic()
        if side.name not in self.workers:
            self.first[side.name] = first = self._start(side, pair)
            self.first_run_s[side.name] = time.monotonic() - started
            start_s = self.started_s.get(side.name)
            if start_s is not None:
                self.plain_s[side.name] = start_s + math.fsum(map(round_s, first.records.values()))
        first, worker = self.first[side.name], self.workers[side.name]
        measured = set(first.records) - set(first.failed)
        tests = sorted(measured if only is None else only)
        # both sides start in the first pair, so a side that cannot fork stops generations for both alike
        generation = generation_of(pair, 0 if self.unforkable else self.runner.options.pairs_per_process)
        try:
            warm = worker.new_generation(generation, tests) if generation > worker.generation else {}
            reply = None if warm is None else worker.run_pass(pair + 1, tests)
        except WorkerError as exc:
            raise AbError(str(exc)) from None
        if reply is None:
            ended = worker.ended()
            raise AbError(
                f"pytest on {_where(side)} ended during pair {pair + 1} (exit {ended.returncode}); its last "
                f"lines: {worker.tail()}"
            )
        run = self._side_run(side, pair, reply, time.monotonic() - started)
        dropped = tuple(str(node) for node in [*(warm or {}).get("dropped", []), *reply.get("dropped", [])])
        warnings = tuple(str(w) for w in (warm or {}).get("warnings", []))
        if pair:
            return replace(run, dropped=dropped, warnings=warnings + run.warnings)
        return replace(
            first,
            records=run.records,
            duration_s=run.duration_s,
            warnings=first.warnings + run.warnings,
            dropped=dropped,
        )

    def _start(self, side: Side, pair: int) -> SideRun:
        runner = self.runner
        output = runner.scratch / f"{side.name}-served.json"
        worker = SideWorker(
            side.name,
            runner.command(side, output, ()),
            env=self.environment(side),
            cwd=side.cwd,
            logs=runner.scratch,
        )
        self.workers[side.name] = worker
        reply = worker.first_reply()
        if reply is None:
            check_ran(side, runner.options, worker.ended())
            raise AbError(f"pytest ran on {_where(side)} but sent no greencode results; {_PLUGIN_OFF}")
        if "refused" in reply:
            raise ServingRefused(str(reply["refused"]))
        if reply.get("unforkable") and self.unforkable is None:
            self.unforkable = f"{side.name}: {reply['unforkable']}"
        collected_at = reply.get("collected_at")
        if isinstance(collected_at, float) and worker.started < collected_at <= time.monotonic():
            self.started_s[side.name] = collected_at - worker.started
        if not reply.get("collected"):
            check_ran(side, runner.options, subprocess.CompletedProcess([], NO_TESTS_COLLECTED, "", ""))
        return self._side_run(side, pair, reply, time.monotonic() - worker.started)

    def _side_run(self, side: Side, pair: int, reply: Mapping[str, Any], duration_s: float) -> SideRun:
        try:
            records = [TestRecord.from_dict(r) for r in reply.get("records") or []]
        except (ValueError, TypeError, KeyError) as exc:
            raise AbError(f"{_where(side)} sent a record greencode cannot read: {exc}") from None
        try:
            budgets = tuple(Budget.from_dict(b) for b in reply.get("budgets") or [])
        except (ValueError, TypeError, KeyError) as exc:
            raise AbError(f"{_where(side)} sent a budget greencode cannot read: {exc}") from None
        return SideRun(
            side=side.name,
            pair=pair,
            records={r.node_id: r for r in records},
            failed=tuple(str(node) for node in reply.get("failed") or []),
            budgets=budgets,
            duration_s=duration_s,
            machine=str(reply.get("machine") or ""),
            warnings=tuple(str(w) for w in reply.get("warnings") or []),
            meter_noise=_noise(reply.get("meter_noise")),
        )

    def finish(self) -> None:
        """End both sides' sessions (each closes as pytest's own end would)."""
        for worker in self.workers.values():
            worker.end()
        for worker in self.workers.values():
            worker.finish()

    def kill(self) -> None:
        for worker in self.workers.values():
            worker.kill()


def _declared_noise(results: Mapping[str, Any]) -> float | None:
    return _noise((results.get("settings") or {}).get("meter_noise"))


def _noise(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# ---------------------------------------------------------------------------------------------------------
# the measuring loop


class _Collected:
    """Records gathered so far, pair by pair."""

    def __init__(self) -> None:
        #: per test, its pairs in order: (pair index, base record, head record, head ran second)
        self.pairs: dict[str, list[tuple[int, TestRecord, TestRecord, bool]]] = {}
        #: the pairs that ran every test (index, head ran second): the only ones a sum over tests can use
        self.full: list[tuple[int, bool]] = []
        self.only: dict[str, dict[str, list[TestRecord]]] = {"base": {}, "head": {}}
        self.failed: dict[str, dict[str, None]] = {"base": {}, "head": {}}
        #: tests that failed on a later pass of a serving process after passing before: measured no more
        self.dropped: dict[str, None] = {}
        self.budgets: dict[str, Budget] = {}
        self.warnings: dict[str, None] = {}
        self.machine = ""
        self.meter = ""
        self.estimated = False
        self.meter_noise: float | None = None
        self.rounds = 0

    @property
    def min_pairs(self) -> int:
        """A deterministic meter's one pair is a comparison; otherwise a paired interval needs two."""
        return 1 if self.meter_noise is not None else 2

    def add(self, first: SideRun, second: SideRun, active: AbstractSet[str] | None) -> None:
        runs = {first.side: first, second.side: second}
        for run in runs.values():
            self.failed[run.side].update(dict.fromkeys(run.failed))
            self.warnings.update(dict.fromkeys(run.warnings))
            self.machine = self.machine or run.machine
            self.meter_noise = run.meter_noise if self.meter_noise is None else self.meter_noise
        self.budgets.update((b.pattern, b) for b in runs["head"].budgets)
        base, head = runs["base"].records, runs["head"].records
        if active is None or self.known() <= active:  # every test ran: a pair the total can use
            self.full.append((first.pair, second.side == "head"))
        for run in runs.values():
            for node_id in run.dropped:
                if node_id not in self.dropped:
                    self.dropped[node_id] = None
                    kept = len(self.pairs.get(node_id, ()))
                    judged = f"judged on its first {plural(kept, 'pair')}" if kept else "not compared"
                    self.warnings[
                        f"{node_id}: failed or skipped on pair {run.pair + 1} of the {run.side} side after "
                        f"passing before, so it is not stateless (it depends on what its earlier runs left "
                        f"behind); {judged}, measured no more"
                    ] = None
        for node_id in sorted(set(base) | set(head)):
            if active is not None and node_id not in active:
                continue  # measured only because it could not be deselected exactly
            if node_id in self.dropped:
                continue  # its other side's run of this pair has no partner
            record = head.get(node_id) or base[node_id]
            self.meter, self.estimated = record.meter, self.estimated or record.estimated
            self.rounds = self.rounds or record.rounds
            if node_id in base and node_id in head:
                self.pairs.setdefault(node_id, []).append(
                    (first.pair, base[node_id], head[node_id], second.side == "head")
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
                tuple(b for _, b, _, _ in pairs),
                tuple(h for _, _, h, _ in pairs),
                tuple(s for _, _, _, s in pairs),
            )
            for node_id, pairs in self.pairs.items()
            if node_id not in failing and len(pairs) >= self.min_pairs
        }

    def on_full_pairs(self, members: Iterable[str]) -> list[PairedTest]:
        """``members`` measured in the same pairs: each over the pairs that ran every test and all of them
        (empty with fewer than ``min_pairs`` such pairs)."""
        # a test measured no more would leave every later pair out
        members = [node for node in members if node not in self.dropped]
        by_pair = {node: {index: (b, h) for index, b, h, _ in self.pairs[node]} for node in members}
        full = [(i, second) for i, second in self.full if all(i in runs for runs in by_pair.values())]
        if len(full) < self.min_pairs:
            return []
        return [
            PairedTest(
                node,
                tuple(runs[i][0] for i, _ in full),
                tuple(runs[i][1] for i, _ in full),
                tuple(second for _, second in full),
            )
            for node, runs in by_pair.items()
        ]

    def one_sided(self, side: SideName) -> dict[str, TestRecord]:
        failing, paired = self.failing(), set(self.pairs)
        return {
            node_id: combine_runs(records)
            for node_id, records in self.only[side].items()
            if node_id not in failing and node_id not in paired
        }

    def known(self) -> set[str]:
        return set(self.pairs) | set(self.only["base"]) | set(self.only["head"]) | self.failing()


def _deselect(known: AbstractSet[str], active: AbstractSet[str]) -> list[str]:
    """Node ids to deselect so that only ``active`` tests run. pytest deselects by prefix, so an id that is a
    prefix of an active one (``test_x`` of ``test_x_big``) stays selected; its extra runs are ignored."""
    return sorted(node for node in known - active if not any(a.startswith(node) for a in active))


def commit_given_as_test(cwd: Path, words: Sequence[str]) -> str | None:
    """The first of the words before any option that names a commit rather than a path, as in
    ``greencode ab main HEAD``: pytest would only say "file or directory not found" after the base's
    worktree was built. Only the leading words are looked at, since an option's value (``-k main``) may
    name a branch too."""
    for word in words:
        if word.startswith("-"):
            return None
        if not (cwd / word.split("::", 1)[0]).exists() and vcs.names_commit(cwd, word):
            return word
    return None


def _sides(
    options: AbOptions, cwd: Path, top: Path, scratch: Path, stack: contextlib.ExitStack
) -> tuple[Side, Side]:
    relative = cwd.relative_to(top)
    if options.head:
        head_commit = vcs.resolve_commit(top, options.head)
        head_root = stack.enter_context(vcs.worktree(top, head_commit, scratch / "head"))
        head = Side("head", options.head, head_commit, head_root, head_root / relative)
    else:
        head_commit = vcs.head_commit(top) or ""
        if not head_commit:
            raise AbError("the repository has no commits yet: commit the code to compare against first")
        conflicts = vcs.conflicts(top)
        if conflicts:
            raise AbError(
                f"the working tree has unresolved merge conflicts ({', '.join(conflicts[:3])}); head is the "
                "working tree as it is, so resolve them first, or pass --head REF to measure a commit"
            )
        dirty = bool(vcs.local_changes(top))
        head = Side("head", "HEAD", head_commit, top, cwd, working_tree=True, dirty=dirty)
    if options.base:
        base_commit, base_ref = vcs.resolve_commit(top, options.base), options.base
    else:
        base_commit, base_ref = vcs.default_base(top, head_commit)
    base_root = stack.enter_context(vcs.worktree(top, base_commit, scratch / "base"))
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
    """What :func:`measure_adaptively` ended with: the final report, pairs run, looks taken, the rows still
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
    scope: Callable[[], Scope] = Scope,
    *,
    run_s: Callable[[], float] | None = None,
    spent_before_s: float = 0.0,
    time_share: Callable[[frozenset[str]], float] | None = None,
) -> Adaptive:
    """The measuring loop. ``run_pair(index, active)`` runs pair ``index`` for the ``active`` tests (None:
    all) and returns the seconds it took; ``judged(alpha)`` is the gate's report on everything so far at
    that level, and ``scope()`` says which of its rows can keep measuring going (asked after each look).
    Pairs run up to ``min_pairs``; then, while rows are undecided (:func:`still_undecided` at this look's
    level, ``stats.look_alpha``), ``BATCH_PAIRS`` more — for the undecided tests alone, or for every test
    while the suite total is undecided — until ``max_pairs``, the time budget, or ``max_cost`` runs of the
    tests, counting ``spent_before_s`` (setting up) and every pair (:func:`cost_stop`). Rows that the pairs
    still affordable could not decide (:func:`hopeless`) stay undecided and keep nothing going. The final
    report is judged at the level the last look left.

    ``run_s()``, asked after the first pair, is one run of the tests in seconds, the unit of ``max_cost``
    (default: half the first pair, each side's first run). ``time_share(tests)`` is those tests' share of a
    pass's time: a batch of the undecided tests alone costs that share of one of every test, so the tests
    can still get pairs when a batch of every test (for the total) no longer fits the budget.
    """
    durations: list[float] = []
    every_test = [True] * options.min_pairs  # whether each pair ran every test
    active: frozenset[str] | None = None
    pairs, target, stopped = 0, options.min_pairs, "every test decided"
    looks, look = planned_looks(options.min_pairs, options.max_pairs, BATCH_PAIRS), 0
    given_up: set[str] = set()
    while True:
        while pairs < target:
            durations.append(run_pair(pairs, active))
            pairs += 1
        look += 1
        full = judged(settings.alpha)
        spent = judged(look_alpha(settings.alpha, look, looks))
        rows = scope()
        undecided = still_undecided(full, spent, settings, rows)
        if not undecided:
            break
        if spent.regressions or spent.suite_regressed:
            # a regression at this look's level stays one at the final look's (which adds what the looks
            # left unspent): ab fails whatever more pairs show, so they would only refine other rows
            stopped = "a regression is decided, so ab fails whatever more pairs show"
            break
        if pairs >= options.max_pairs:
            stopped = f"--max-pairs {options.max_pairs} reached"
            break
        unit_s = run_s() if run_s is not None else durations[0] / 2
        spent_s = spent_before_s + math.fsum(durations)
        cost_of = _batch_costs(durations, every_test, time_share)
        tests = undecided - {TOTAL_ROW}
        # a batch of the tests that fit what is left to spend, those that could still prove regressions
        # first: only a regression changes ab's outcome, so a budget too small for every undecided test
        # goes to them, not to large tests hovering below fail_on
        fitting = affordable_rows(by_promise(tests, full, settings), spent_s, cost_of, unit_s, options)
        if not fitting:
            over = cost_stop(spent_s, cost_of(tests or undecided), unit_s, options)
            if over:
                stopped = over
                break

        # each row as far as the pairs it needs are affordable: the tests' of themselves, the total's of every
        # test
        left = options.max_pairs - pairs
        more_tests = min(affordable_pairs(spent_s, cost_of(fitting), unit_s, options), left)
        more_total = min(affordable_pairs(spent_s, cost_of({TOTAL_ROW}), unit_s, options), left)
        unaffordable = tests - fitting
        futile = hopeless(full, fitting, settings, rows, more_tests)
        futile |= hopeless(full, undecided & {TOTAL_ROW}, settings, rows, more_total)
        given_up = futile | unaffordable
        going = undecided - given_up
        if not going:
            stopped = f"more pairs could not decide {_rows(undecided)} within the budget"
            break
        notes = [f"{_rows(futile)} could not be decided by more"] if futile else []
        notes += [f"{_rows(unaffordable)} no longer fit the budget"] if unaffordable else []
        note = f" ({'; '.join(notes)})" if notes else ""
        every = " of every test" if TOTAL_ROW in going else ""
        say(f"{_rows(going)} undecided after {pairs} pairs{note}: adding {BATCH_PAIRS} pairs{every}")
        active = None if TOTAL_ROW in going else frozenset(going)
        target = min(pairs + BATCH_PAIRS, options.max_pairs)
        every_test.extend([active is None] * (target - pairs))
    final = judged(look_alpha(settings.alpha, look, looks, last=True))
    # the last look may flag at the level earlier looks left unspent: those tests are decided too
    undecided -= {c.node_id for c in final.regressions} | ({TOTAL_ROW} if final.suite_regressed else set())
    return Adaptive(label_undecided(final, undecided, settings), pairs, look, frozenset(undecided), stopped)


def by_promise(tests: AbstractSet[str], report: GateReport, settings: GateSettings) -> list[str]:
    """``tests`` in the order the budget goes to them: first those whose change is above ``fail_on`` (or not
    known), which more pairs could show to be regressions, then the others; in each, the largest first."""
    verdicts = {c.node_id: c for c in report.comparisons}

    def promise(node: str) -> tuple[bool, float, str]:
        verdict = verdicts.get(node)
        if verdict is None:
            return (False, 0.0, node)
        leaning = verdict.change is None or verdict.change > settings.fail_on
        return (not leaning, -(verdict.baseline_j or 0.0), node)

    return sorted(tests, key=promise)


def affordable_rows(
    rows: Sequence[str],
    spent_s: float,
    cost_of: Callable[[AbstractSet[str]], float],
    unit_s: float,
    options: AbOptions,
) -> frozenset[str]:
    """The ``rows`` a batch of pairs can still afford, taken in their order: each that fits beside those
    taken before it (:func:`cost_stop`)."""
    taken: set[str] = set()
    for row in rows:
        if cost_stop(spent_s, cost_of(taken | {row}), unit_s, options) is None:
            taken.add(row)
    return frozenset(taken)


def _batch_costs(
    durations: Sequence[float],
    every: Sequence[bool],
    time_share: Callable[[frozenset[str]], float] | None,
) -> Callable[[AbstractSet[str]], float]:
    """What the next batch of pairs would cost for some undecided rows: one of every test (the total among
    them), what the last such pairs cost (not the first, which holds each side's start); one of some tests,
    their ``time_share`` of it. Without ``time_share``, any batch costs what the last one did."""
    last_s = statistics.fmean(durations[1:][-BATCH_PAIRS:] or durations) * BATCH_PAIRS
    full = [
        d for index, (d, all_tests) in enumerate(zip(durations, every, strict=True)) if index and all_tests
    ]
    every_s = statistics.fmean(full[-BATCH_PAIRS:]) * BATCH_PAIRS if full else last_s

    def cost_of(rows: AbstractSet[str]) -> float:
        if time_share is None:
            return last_s
        return every_s if TOTAL_ROW in rows else every_s * time_share(frozenset(rows))

    return cost_of


def _rows(rows: AbstractSet[str]) -> str:
    tests = rows - {TOTAL_ROW}
    what = [plural(len(tests), "test")] if tests else []
    return " and ".join(what + (["the suite total"] if TOTAL_ROW in rows else []))


def cost_stop(spent_s: float, batch_s: float, unit_s: float, options: AbOptions) -> str | None:
    """Why another batch of pairs is not run (the time budget, or ``max_cost`` runs of the tests of
    ``unit_s`` each), or None. ``spent_s``: what ab has spent so far, setting up included."""
    if spent_s + batch_s > options.time_budget_s:
        return f"--time-budget {options.time_budget_s:g} s spent"
    if unit_s > 0 and spent_s + batch_s > options.max_cost * unit_s:
        return (
            f"--max-cost {options.max_cost:g} reached (ab had spent {spent_s / unit_s:.1f} runs of the tests)"
        )
    return None


def affordable_pairs(spent_s: float, batch_s: float, unit_s: float, options: AbOptions) -> int:
    """How many more pairs, whole batches of them, the time budget and ``max_cost`` leave room for."""
    if batch_s <= 0:
        return options.max_pairs
    left_s = min(options.time_budget_s, options.max_cost * unit_s if unit_s > 0 else math.inf) - spent_s
    return max(0, math.floor(left_s / batch_s)) * BATCH_PAIRS


def label_undecided(report: GateReport, undecided: Iterable[str], settings: GateSettings) -> GateReport:
    """``report`` with each test measuring stopped on while undecided called ``inconclusive`` (and the suite
    total, :data:`TOTAL_ROW`): a verdict whose interval still reaches above ``fail_on`` is not known to be
    unchanged, whatever its point estimate."""
    undecided = set(undecided)
    why = f"its interval still reaches above fail_on {settings.fail_on:.1%}: undecided"
    comparisons = tuple(
        replace(c, verdict="inconclusive", reason=f"{c.reason}; {why}")
        if c.node_id in undecided and c.verdict in ("unchanged", "improvement")
        else c
        for c in report.comparisons
    )
    suite = report.suite
    if suite is not None and TOTAL_ROW in undecided and suite.verdict in ("unchanged", "improvement"):
        suite = replace(suite, verdict="inconclusive", reason=f"{suite.reason}; {why}")
    return replace(report, comparisons=comparisons, suite=suite)


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
    top = vcs.toplevel(cwd)
    settings = GateSettings.from_config(config)
    collected = _Collected()
    processes: list[str] = []  # how the sides ran, for the notes
    setting_up, later_pairs = Stopwatch(), Stopwatch()  # what measuring adds to one run of each side
    with terminate_as_interrupt(), tempfile.TemporaryDirectory(prefix="greencode-ab-") as directory:
        scratch = Path(directory)
        with contextlib.ExitStack() as stack:
            with setting_up:
                base, head = _sides(options, cwd, top, scratch, stack)
                say(f"base: {base.describe()}; head: {head.describe()}")
                fresh = _Runner(options, config, top, scratch)
                blocked = serving_blocked(options, fresh.meter)
                runner: _Runner | _Served = fresh
                if blocked is None:
                    runner = served = _Served(fresh)
                    stack.callback(served.kill)  # also on an error or interrupt: no side process outlives ab
                    processes.append("one pytest process per side, each serving every later pair as a pass")
                else:
                    processes.append(f"a fresh pytest process for every run ({blocked})")
                for side in (base, head):
                    fresh.setup(side)
                    if runner is fresh:  # a serving side imports everything in pass 0, which is not compared
                        precompile(side.root, fresh.environment(side))
            sides = {"base": base, "head": head}

            def run_pair(index: int, active: frozenset[str] | None) -> float:
                # tests failing on pair 0 (not compared) and tests measured no more need no more runs
                excluded = set(collected.dropped) | (collected.failing() if runner is not fresh else set())
                known = collected.known()
                only = None if active is None and not excluded else (known if active is None else active)
                only = None if only is None else frozenset(only - excluded)
                first, second = (sides[name] for name in pair_order(index))
                say(
                    f"pair {index + 1}: {first.name} then {second.name}"
                    + ("" if active is None else f" (undecided: {len(active)})")
                )
                with later_pairs if index else Stopwatch():
                    runs = (runner.run(first, index, only, known), runner.run(second, index, only, known))
                collected.add(runs[0], runs[1], active)
                return runs[0].duration_s + runs[1].duration_s

            looks = Looks(collected, settings, budgets=lambda: _budgets(config, collected), base=base)
            try:
                first_pair_s = run_pair(0, None)
            except ServingRefused as refused:
                served.kill()
                runner = fresh
                processes[-1] = f"a fresh pytest process for every run (a side could not serve: {refused})"
                say(f"{processes[-1]}")
                for side in (base, head):
                    precompile(side.root, fresh.environment(side))
                first_pair_s = run_pair(0, None)
            if collected.meter_noise is not None:
                # a deterministic meter: a second pair would give the same counts, so one pair decides
                outcome = Adaptive(
                    looks.judged(settings.alpha), 1, 1, frozenset(), "one pair: the meter is deterministic"
                )
            else:
                outcome = measure_adaptively(
                    lambda index, active: first_pair_s if index == 0 else run_pair(index, active),
                    looks.judged,
                    settings,
                    options,
                    say,
                    looks.scope,
                    run_s=lambda: one_run_s(runner, first_pair_s),
                    spent_before_s=time.monotonic() - started - first_pair_s,
                    time_share=looks.time_share,
                )
            run_s = one_run_s(runner, first_pair_s)
            runner.finish()
            if isinstance(runner, _Served) and runner.unforkable:
                processes.append(
                    f"no process generations, one process per side served every pair ({runner.unforkable})"
                )
            elif isinstance(runner, _Served) and outcome.pairs:
                last = generation_of(outcome.pairs - 1, options.pairs_per_process)
                if last:
                    processes[-1] = (
                        f"one pytest process per side, started once; its pairs served by {last + 1} "
                        f"process generations of up to {options.pairs_per_process} pairs, each forked from "
                        "the side's collected session"
                    )
    paired = collected.paired()
    elapsed_s = time.monotonic() - started
    return AbResult(
        gate=outcome.report,
        base=base,
        head=head,
        tests=paired,
        head_records={**{n: combine_runs(t.head) for n, t in paired.items()}, **collected.one_sided("head")},
        failed={side: tuple(sorted(nodes)) for side, nodes in collected.failed.items() if nodes},
        undecided=tuple(sorted(outcome.undecided)),
        pairs=outcome.pairs,
        stopped=outcome.stopped,
        elapsed_s=elapsed_s,
        meter=collected.meter or fresh.meter,
        estimated=collected.estimated,
        rounds=collected.rounds or fresh.rounds,
        machine=collected.machine,
        pytest_args=options.pytest_args,
        notes=(
            *_notes(base, head, paired, collected, outcome, settings, looks.weighing, processes),
            *cost_note(elapsed_s, run_s),
        ),
        hotspots=regression_hotspots(
            [c.node_id for c in outcome.report.regressions],
            {n: combine_runs(t.head).functions for n, t in paired.items()},
            {n: combine_runs(t.base).functions for n, t in paired.items()},
        ),
        footprint=footprint(
            elapsed_s, [setting_up.spent(SETTING_UP), later_pairs.spent(EXTRA_PAIRS)], config
        ),
        together=tuple(sorted(looks.weighing.together)) if looks.weighing else (),
        run_s=run_s,
        measured_run_s=statistics.fmean(runner.first_run_s.values())
        if isinstance(runner, _Served) and runner.first_run_s
        else None,
    )


def round_s(record: TestRecord) -> float:
    """The wall time of one round of a test (``wall_s`` is per call where it measures calls)."""
    return record.wall_s * (record.iterations if record.per == "call" else 1)


def one_run_s(runner: _Runner | _Served, first_pair_s: float) -> float:
    """One run of the tests, the unit of ``max_cost``: an estimate of one plain pytest run of them where a
    serving side can tell (its start and collection, then its tests' own time in pass 0; the mean of the two
    sides), else a serving side's start, collection and pass 0, else half the first pair (each a fresh
    process's whole run, measuring included)."""
    if isinstance(runner, _Served) and (runner.plain_s or runner.first_run_s):
        return statistics.fmean((runner.plain_s or runner.first_run_s).values())
    return first_pair_s / 2


class Looks:
    """The gate's view of what ``collected`` holds, for :func:`measure_adaptively`: the tests are weighed
    once, at the first look (their roles stay fixed after it), unless the meter is deterministic (one pair
    decides, nothing is left to save); then each look judges the tests alone, the groups and the total."""

    def __init__(
        self,
        collected: _Collected,
        settings: GateSettings,
        *,
        budgets: Callable[[], Sequence[Budget]] = tuple,
        base: Side | None = None,
    ) -> None:
        self.collected = collected
        self.settings = settings
        self.budgets = budgets
        self.base = base
        self.weighing: Weighing | None = None
        #: each paired test's own time in a pass, and the number of runs it was worked out from
        self._times: tuple[int, dict[str, float]] = (-1, {})

    def judged(self, alpha: float) -> GateReport:
        collected = self.collected
        paired = collected.paired()
        if self.weighing is None and collected.meter_noise is None:
            self.weighing = weigh_paired(paired, self.settings)
        return decide(
            paired,
            replace(self.settings, alpha=alpha, meter_noise=collected.meter_noise),
            base_only=collected.one_sided("base"),
            head_only=collected.one_sided("head"),
            budgets=self.budgets(),
            base=self.base,
            weighing=self.weighing,
            sums=_sums(collected, paired, self.weighing),
            total=suite_total(collected, paired),
        )

    def time_share(self, tests: frozenset[str]) -> float:
        """``tests``' share of a pass: of the paired tests' own time (each one's median over its pairs, both
        sides), or of their number when that is larger (pytest's protocol around each test costs too)."""
        times = self._test_times()
        whole = math.fsum(times.values())
        if not times or not whole > 0:
            return 1.0
        part = math.fsum(times[node] for node in tests if node in times)
        return max(part / whole, len(tests & times.keys()) / len(times))

    def _test_times(self) -> dict[str, float]:
        # asked for every row a tight budget weighs (affordable_rows): worked out again only after new runs
        pairs = self.collected.pairs
        runs = sum(map(len, pairs.values()))
        if self._times[0] != runs:
            times = {
                node: statistics.median(round_s(b) + round_s(h) for _, b, h, _ in pair_runs)
                for node, pair_runs in pairs.items()
            }
            self._times = (runs, times)
        return self._times[1]

    def scope(self) -> Scope:
        collected = self.collected
        dropped = frozenset(collected.dropped)  # no more pairs can tell more of these
        pairs = {node: len(runs) for node, runs in collected.pairs.items()}
        pairs[TOTAL_ROW] = len(collected.full)
        if self.weighing is None:
            return Scope(dropped, pairs=pairs)
        groups = {group_row(name) for name in self.weighing.groups()}
        # the total is what judges the small tests; without any, it is decided when the tests are
        return Scope(
            self.weighing.together | groups | dropped, suite=bool(self.weighing.together), pairs=pairs
        )


def weigh_paired(tests: Mapping[str, PairedTest], settings: GateSettings) -> Weighing:
    """Each paired test weighed by the larger of its two sides' medians (:func:`greencode.weighing.weigh`)."""
    sizes = {
        node_id: Size(
            max(statistics.median(test.base_j), statistics.median(test.head_j)),
            max(statistics.median(r.wall_s for r in side) for side in (test.base, test.head)),
            test.base[0].per,
        )
        for node_id, test in tests.items()
    }
    return weigh(sizes, min_effect_j=settings.min_effect_j)


#: Fewest small tests of a file judged together: the sum of one is that test, judged alone.
MIN_GROUP = 2


def _sums(
    collected: _Collected, tests: Mapping[str, PairedTest], weighing: Weighing | None
) -> dict[str, PairedTest]:
    """The rows judging small tests together: each file's, of at least :data:`MIN_GROUP` of them."""
    if weighing is None:
        return {}
    rows = {
        group_row(name): [m for m in members if m in tests] for name, members in weighing.groups().items()
    }
    aligned = {name: collected.on_full_pairs(m) for name, m in rows.items() if len(m) >= MIN_GROUP}
    return {name: summed(name, members) for name, members in aligned.items() if members}


def _budgets(config: Config, collected: _Collected) -> list[Budget]:
    from greencode.gate import config_budgets

    return [*collected.budgets.values(), *config_budgets(config)]


def cost_note(elapsed_s: float, run_s: float) -> tuple[str, ...]:
    """What ab took in runs of the tests, the unit of ``--max-cost`` (nothing without a unit)."""
    if not run_s > 0:
        return ()
    return (
        f"ab took {elapsed_s:.1f} s, {elapsed_s / run_s:.1f} runs of the tests (a run: {run_s:.2f} s, an "
        "estimate of one plain pytest run: a side's start and collection, then its tests' own time)",
    )


#: Tests an "undecided" note names (the suite total always first); the JSON result lists every one.
UNDECIDED_NAMED = 10


def undecided_note(undecided: Iterable[str], stopped: str) -> str:
    """What stayed undecided when measuring stopped: the suite total, then the first tests by name, then how
    many more (an A/A run of a large suite on a busy machine can leave hundreds)."""
    names = sorted(undecided, key=lambda name: (name != TOTAL_ROW, name))
    shown = ", ".join(names[:UNDECIDED_NAMED])
    more = len(names) - UNDECIDED_NAMED
    rest = (
        f", and {plural(more, 'more test')} (the JSON result's 'undecided' lists every one)"
        if more > 0
        else ""
    )
    return f"still undecided ({stopped}): {shown}{rest}"


def _notes(
    base: Side,
    head: Side,
    paired: Mapping[str, PairedTest],
    collected: _Collected,
    outcome: Adaptive,
    settings: GateSettings,
    weighing: Weighing | None,
    processes: Sequence[str] = (),
) -> tuple[str, ...]:
    order = ", base and head alternating in a balanced order (ABBA...)" if outcome.pairs > 1 else ""
    notes = [f"{plural(outcome.pairs, 'pair')} of runs{order}"]
    notes.extend(processes)
    if weighing is not None and weighing.together:
        alone = [weighing.weights[n] for n in weighing.alone]
        share = math.fsum(w.share for w in alone)
        notes.append(
            f"{plural(len(alone), 'test')} carrying {format_percent(share, signed=False)} of the suite's "
            f"energy judged alone; {plural(len(weighing.together), 'smaller test')} judged together, per "
            "file and in the suite total, never alone (too small to matter on their own: a small share of "
            "the energy or a window near the meter's resolution)"
        )
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
        notes.append(undecided_note(outcome.undecided, outcome.stopped))
    consequences = {
        "head": "this fails the check",
        "both sides": "failing before the change too: not compared, and not the change's failure",
        "base": "not compared",
    }
    for where, failing in failing_by_side(collected.failed).items():
        if failing:
            notes.append(f"tests failing on {where} ({consequences[where]}): " + ", ".join(failing))
    notes.extend(f"warning: {w}" for w in collected.warnings)
    return tuple(notes)
