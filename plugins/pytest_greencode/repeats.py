"""A comparing run's extra rounds, as the measuring run asks for them.

The decisions are the library's (:mod:`greencode.repeat_plan`, :mod:`greencode.small_tests`,
:mod:`greencode.grouped_gate`); this keeps what they need during a session — the baseline's sizes and noise,
the time budget — and answers the session's three questions: how many more rounds a test runs after those so
far, how the end of the run judges, and what the results file says about the rounds that ran.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from greencode.judging import MIN_CONFIRM_ROUNDS, Judging, jitter_s
from greencode.records import record_from_windows
from greencode.repeat_plan import RepeatBudget, final_alpha, next_step, save_step
from greencode.stats import median
from pytest_greencode.keys import EXTRA_KEY

if TYPE_CHECKING:
    import pytest

    from greencode.baselines import Baseline
    from greencode.config import Config
    from greencode.gate import GateSettings
    from greencode.measurement import Measurement
    from greencode.records import BaselineEntry, TestRecord
    from greencode.verdicts import Noise
    from greencode.weighing import Sizing
    from pytest_greencode.markers import Plan


class Repeats:
    """The extra rounds of one session (each xdist worker has its own). ``adaptive``: the run compares,
    ``rounds`` is not set and the meter is not deterministic, so open verdicts get more rounds; ``saving``:
    the same, but the run only saves, so the tests that carry energy get their confirming rounds."""

    def __init__(
        self,
        settings: Config,
        meters: Iterable[object],
        compare: bool,
        deterministic: bool,
        save: bool = False,
    ) -> None:
        chosen = settings.origin("rounds") == "defaults" and not deterministic
        self.adaptive = compare and chosen
        self.saving = save and not compare and chosen
        self.max_rounds = max(settings.rounds, MIN_CONFIRM_ROUNDS)
        self.alpha = settings.alpha
        self.jitter_s = jitter_s(meters)
        self.budget = RepeatBudget(settings.repeat_budget)
        self.share = settings.repeat_budget
        self.sizes: Sizing | None = None
        self.noise: dict[str, Noise] = {}
        self.entries: Mapping[str, BaselineEntry] = {}

    def plan(self, baseline: Baseline | None, gate: GateSettings) -> None:
        """Read what deciding needs from the baseline (nothing to decide without one)."""
        if not (self.adaptive or self.saving) or baseline is None:
            return
        from greencode.small_tests import sizing
        from greencode.verdicts import estimate_noise

        self.sizes = sizing(baseline, self.jitter_s, gate.min_effect_j)
        self.noise = estimate_noise(baseline, gate.run_cv, gate.min_run_cv, gate.noise_source, self.jitter_s)
        self.entries = baseline.entries

    def release(self) -> None:
        """Forget what :meth:`plan` read from the baseline, once the run has ended."""
        self.sizes, self.noise, self.entries = None, {}, {}

    def expect(self, items: Iterable[pytest.Item], workers: int) -> None:
        """The first pass's length as the baseline knows it (per worker): it bounds extra rounds early on."""
        if self.sizes is None:
            return
        expected = math.fsum(
            entry.wall_s
            for item in items
            if (entry := self.entries.get(item.nodeid)) is not None and entry.per == "test"
        )
        self.budget.expected_s = expected / max(workers, 1)

    def may_repeat(self, plan: Plan) -> bool:
        """Whether a test with ``plan`` can run more than one round: asked after each test's first round,
        so that a run of one round per test skips the rest of the repeat machinery."""
        return plan.rounds > 1 or not self._fixed(plan)

    def _fixed(self, plan: Plan) -> bool:
        """Whether the test runs exactly ``plan.rounds``: its marker says so, or nothing decides more."""
        return plan.fixed_rounds or (self.sizes is None and not self.saving)

    def more(
        self, item: pytest.Item, plan: Plan, gate: GateSettings, started: float
    ) -> Callable[[list[Measurement]], int]:
        """How many more rounds ``item`` runs after the rounds so far: up to its fixed rounds, or what the
        repeat plan says while the budget lasts (the session started at ``started``, epoch seconds)."""
        sizes = self.sizes
        if self._fixed(plan):
            return lambda rounds: plan.rounds - len(rounds)
        entry, noise = self.entries.get(item.nodeid), self.noise.get(item.nodeid)

        def more(rounds: list[Measurement]) -> int:
            extra = item.stash.get(EXTRA_KEY, 0.0)
            record = record_from_windows(item.nodeid, rounds, extra, "test", [1] * len(rounds), "test")
            if self.saving:
                step = save_step(record, entry, sizes)
            elif sizes is not None:
                step = next_step(record, entry, noise, gate, sizes, self.max_rounds)
            else:
                return 0
            if step.decision != "open":
                return 0
            cost = step.rounds * median(m.wall_s for m in rounds)
            return step.rounds if self.budget.allows(cost, time.time() - started) else 0

        return more

    def judging(self, records: Iterable[TestRecord]) -> Judging:
        """How the end of the run judges: small tests per file; after adaptive rounds, a regression needs
        confirming rounds and the level is what the looks left."""
        if not self.adaptive:
            return Judging(self.jitter_s)
        most = max((r.rounds for r in records if r.source == "test"), default=1)
        return Judging(self.jitter_s, MIN_CONFIRM_ROUNDS, final_alpha(self.alpha, most, self.max_rounds))

    def measuring(self, records: Iterable[TestRecord], test_rounds: int) -> dict[str, object]:
        """The results file's account of the rounds: what each test's call ran at first, the most an open
        test could run, the extra rounds and their time (this process's: xdist workers keep their own)."""
        ran = [r.rounds for r in records if r.source == "test"]
        repeating = self.adaptive or self.saving
        return {
            "rounds": test_rounds,
            "max_rounds": self.max_rounds if repeating else test_rounds,
            "repeat_budget": self.share if repeating else None,
            "extra_rounds": sum(ran) - len(ran),
            "repeated_tests": sum(1 for n in ran if n > 1),
            "extra_rounds_s": round(self.budget.spent_s, 6),
        }
