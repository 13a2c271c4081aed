"""More rounds only where they can change a verdict: the plan of a run that compares with a baseline.

A comparing run measures every test once. Right after a test's first round — its fixtures still alive — the
plugin asks :func:`next_step` whether more rounds of it could change its verdict:

- a test too small to judge alone (:mod:`greencode.small_tests`) never repeats: its file's sum judges it —
  unless its first reading is as large as a test judged alone: it then runs to
  :data:`~greencode.judging.MIN_CONFIRM_ROUNDS` rounds, which tell a spike from a test that grew;
- a test whose first reading is within ``fail_on`` of its baseline (``unchanged`` at the full ``alpha``) is
  decided: more rounds would only confirm it;
- any other reading — a change beyond ``fail_on`` either way, or an inconclusive one — is open. One reading
  cannot tell a spike from a change, so an open test runs to :data:`MIN_CONFIRM_ROUNDS` rounds, then
  :data:`BATCH_ROUNDS` more at a time while its rounds are still more spread than the run-to-run noise (only
  the within-run part of its error shrinks with rounds), up to ``max_rounds``;
- a regression or improvement at the look's level (``alpha`` spent over the looks as ``greencode ab``
  spends it, :func:`greencode.stats.look_alpha`) with at least :data:`MIN_CONFIRM_ROUNDS` rounds is decided.

A run that **saves** a baseline (without comparing) repeats too, by :func:`save_step`: a test that can carry
energy runs to :data:`MIN_CONFIRM_ROUNDS` rounds, so that the saved figure is a median of rounds like the
one a comparing run judges an open test by (one first round, often the slowest, against a median of three
would hide part of a regression), and one reading's spike does not become the baseline.

Extra rounds stop for good when the :class:`RepeatBudget` is spent (default: half the time of the first
pass). The end of the run judges at the level the last look left (:func:`final_alpha`); a test judged alone
that kept fewer than :data:`MIN_CONFIRM_ROUNDS` rounds is never a regression there
(:class:`greencode.judging.Judging`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from greencode.judging import MIN_CONFIRM_ROUNDS
from greencode.stats import log_median_variance, look_alpha, planned_looks

if TYPE_CHECKING:
    from greencode.gate import GateSettings
    from greencode.records import BaselineEntry, TestRecord
    from greencode.verdicts import Noise
    from greencode.weighing import Sizing

#: Rounds added per look after that.
BATCH_ROUNDS = 2
#: Without a previous baseline to tell which tests carry energy, a saving run repeats a test whose first
#: window used at least this much CPU time (100 times the estimator's jitter; CPU time, not wall time, so
#: that a test waiting on a busy machine does not count): in a real suite those few tests carry most of
#: the energy (11 of more-itertools' 664 carry 90 %), while repeating every test clear of the resolution
#: (1 ms) would spend the budget on tests of a few milliseconds.
SAVE_CPU_S = 0.01

#: What :func:`next_step` says about a test.
Decision = Literal["decided", "open", "small"]


@dataclass(frozen=True)
class Step:
    """The plan for one test after its rounds so far: ``rounds`` more to run now (0 unless ``open``)."""

    decision: Decision
    rounds: int = 0


def looks(max_rounds: int) -> int:
    """How many looks a test can get: after its first round, then after each batch up to ``max_rounds``."""
    return planned_looks(1, max(max_rounds, 1), BATCH_ROUNDS)


def look_of(rounds: int) -> int:
    """The look (1-based) that follows ``rounds`` rounds."""
    return 1 + math.ceil(max(rounds - 1, 0) / BATCH_ROUNDS)


def final_alpha(alpha: float, rounds: int, max_rounds: int) -> float:
    """The level the end of the run judges at, when the most rounds any test ran is ``rounds``: all of
    ``alpha`` when no test repeated, else what the looks up to that one left unspent."""
    return look_alpha(alpha, look_of(rounds), looks(max_rounds), last=True)


def next_step(
    record: TestRecord,
    entry: BaselineEntry | None,
    noise: Noise | None,
    settings: GateSettings,
    sizes: Sizing,
    max_rounds: int,
) -> Step:
    """What ``record`` (its rounds so far) needs against its baseline ``entry`` (module docstring)."""
    if entry is None or noise is None or record.per != entry.per:
        return Step("decided")
    rounds = len(record.samples_j)
    if not sizes.alone(entry, record):
        if sizes.grown(record) and rounds < MIN_CONFIRM_ROUNDS:  # did it really grow, or was it a spike?
            return Step("open", min(MIN_CONFIRM_ROUNDS, max_rounds) - rounds)
        return Step("small")
    # asked only during a comparing run: a run that does not compare never imports the comparison
    from greencode.verdicts import estimate_change, judge

    estimate = estimate_change(record, entry, noise)
    if estimate is None:
        return Step("decided")
    (full,) = judge([estimate], settings)
    if full.verdict == "unchanged":
        return Step("decided")
    if rounds >= max_rounds:
        return Step("decided")
    if rounds >= MIN_CONFIRM_ROUNDS:
        level = look_alpha(settings.alpha, look_of(rounds), looks(max_rounds))
        (spent,) = judge([estimate], replace(settings, alpha=level))
        if spent.verdict in ("regression", "improvement"):
            return Step("decided")
        if log_median_variance(record.samples_j) <= noise.cv * noise.cv:
            return Step("decided")  # the run-to-run part dominates: more rounds cannot narrow it
    target = max(MIN_CONFIRM_ROUNDS, rounds + BATCH_ROUNDS)
    return Step("open", min(target, max_rounds) - rounds)


def save_step(record: TestRecord, entry: BaselineEntry | None, sizes: Sizing | None) -> Step:
    """What a saving run does after ``record``'s rounds so far: a test judged alone by the previous baseline
    (``sizes`` and its ``entry``) — or, without one, any test whose window used :data:`SAVE_CPU_S`
    — runs to :data:`MIN_CONFIRM_ROUNDS` rounds; others keep one."""
    rounds = len(record.samples_j)
    if rounds >= MIN_CONFIRM_ROUNDS or record.per != "test":
        return Step("decided")
    if sizes is not None and entry is not None:
        carries = sizes.alone(entry, record)
    else:
        carries = record.cpu_s >= SAVE_CPU_S
    return Step("open", MIN_CONFIRM_ROUNDS - rounds) if carries else Step("small")


class RepeatBudget:
    """The time extra rounds may take: ``share`` of the first pass, counted as the larger of the first
    pass's time so far and what the baseline says it will take (``expected_s``). Mutable: the plugin spends
    from it as tests repeat; ``refused`` counts the tests it turned away."""

    def __init__(self, share: float, expected_s: float = 0.0) -> None:
        self.share = share
        self.expected_s = expected_s
        self.spent_s = 0.0
        self.rounds = 0
        self.refused = 0

    def allows(self, seconds: float, elapsed_s: float) -> bool:
        """Whether ``seconds`` more fit, ``elapsed_s`` into the session (extra rounds included)."""
        first_pass = max(elapsed_s - self.spent_s, self.expected_s)
        if self.spent_s + seconds > self.share * first_pass:
            self.refused += 1
            return False
        return True

    def spend(self, seconds: float, rounds: int) -> None:
        self.spent_s += seconds
        self.rounds += rounds
