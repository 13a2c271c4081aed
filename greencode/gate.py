"""The regression gate's decision: its settings, budgets, the whole suite's total budget and the report
that says pass or fail.

:class:`GateReport` holds what one run's end decided: the comparisons with the baseline
(:mod:`greencode.verdicts` builds them: each test's change, its interval and verdict, the suite's total), the
energy budgets of tests (:class:`Budget`: markers and the configuration's ``budgets``) and the suite's
``total_budget_j``. ``GateReport.failed`` is true on any regression, any test over its energy budget, or —
with ``on_missing_baseline = "fail"`` — a missing or incomparable baseline; ``GateReport.exit_code`` is then
:data:`EXIT_FAILED` (1), else :data:`EXIT_OK` (0), the same as every greencode command. A run that does not
compare imports only this module, not the comparison's statistics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from greencode.kinds import VERDICTS, Verdict
from greencode.units import format_energy, plural

if TYPE_CHECKING:
    from greencode.config import Config
    from greencode.records import TestRecord
    from greencode.verdicts import Comparison, SuiteVerdict

EXIT_OK = 0
EXIT_FAILED = 1
#: Run-to-run spread assumed against a baseline saved once (one reading per test), until it pools several
#: runs. Process CPU time of the same work varies between processes with a CV of about 5.6 % on a quiet
#: shared 2-core VM, but with a tail: beside a busy core, or with a garbage collection landing in another
#: test, one reading of a 20 ms test moved by ±50 % (docs/performance.md). 15 % keeps such a reading an
#: ``inconclusive`` warning (against one saved run a change's error is 15 % x sqrt(2): +50 % is z = 1.5),
#: while a doubled test still fails: z = 2.8, p = 0.0024, within Holm's level for a dozen tests judged alone.
DEFAULT_RUN_CV = 0.15
#: Spread assumed at least when the baseline was saved on another host of the same kind (hosted CI runners
#: are a new VM every job): one report measured 26 % between CI jobs against 0.3 % within one job.
CROSS_HOST_RUN_CV = 0.25
#: The spread is never taken to be smaller than this, however quiet a few calibration runs looked.
MIN_RUN_CV = 0.01


@dataclass(frozen=True)
class GateSettings:
    """What the gate decides with. ``fail_on`` is a fraction (0.10 for 10 %)."""

    fail_on: float = 0.10
    min_effect_j: float = 0.0
    alpha: float = 0.05
    allow_other_machine: bool = False
    on_missing_baseline: str = "warn"
    default_run_cv: float = DEFAULT_RUN_CV
    cross_host_run_cv: float = CROSS_HOST_RUN_CV
    #: the run-to-run spread the meters declare (``run_to_run_noise``, e.g. 0.003 for instruction counts);
    #: None: unknown, so the CPU-time defaults above apply
    meter_noise: float | None = None
    #: the most the suite's tests measured per test may use together (``total_budget_j``; None: no limit)
    total_budget_j: float | None = None
    #: how far one window's reading can shift between runs whatever its length (cache state, a busier
    #: machine): without pooled runs a test's spread is sqrt(run_cv² + (window_jitter_s / its window)²)
    window_jitter_s: float = 0.0

    @classmethod
    def from_config(cls, config: Config, meter_noise: float | None = None) -> GateSettings:
        return cls(
            fail_on=config.fail_on.fraction,
            min_effect_j=config.min_effect_j,
            alpha=config.alpha,
            allow_other_machine=config.allow_other_machine,
            on_missing_baseline=config.on_missing_baseline,
            meter_noise=meter_noise,
            total_budget_j=config.total_budget_j,
        )

    @property
    def run_cv(self) -> float:
        """The spread assumed until a baseline pools runs: the meters' own, else the CPU-time default."""
        return self.default_run_cv if self.meter_noise is None else self.meter_noise

    @property
    def noise_source(self) -> str:
        return "default" if self.meter_noise is None else "meter"

    @property
    def min_run_cv(self) -> float:
        """The smallest spread ever assumed: a deterministic meter's declared noise may go below 1 %."""
        return MIN_RUN_CV if self.meter_noise is None else min(MIN_RUN_CV, self.meter_noise)

    @property
    def confidence(self) -> float:
        """Two-sided level of the intervals shown: their lower bound is the one-sided bound at ``alpha``."""
        return 1.0 - 2.0 * self.alpha

    def to_dict(self) -> dict[str, Any]:
        return {
            "fail_on": self.fail_on,
            "min_effect_j": self.min_effect_j,
            "alpha": self.alpha,
            "allow_other_machine": self.allow_other_machine,
            "on_missing_baseline": self.on_missing_baseline,
            "default_run_cv": self.default_run_cv,
            "cross_host_run_cv": self.cross_host_run_cv,
            "meter_noise": self.meter_noise,
            "total_budget_j": self.total_budget_j,
            "window_jitter_s": self.window_jitter_s,
        }


@dataclass(frozen=True)
class Budget:
    """An energy limit: ``joules`` per ``per`` (None: in whatever unit the test is measured).

    A marker budget names one test exactly (``pattern`` is its node id); a configured budget's ``pattern`` is
    a node-id glob (``tests/test_io.py::*``) or a node id: ``test_x[1]`` names that parametrized test,
    although in a glob ``[1]`` would be a character class.
    """

    pattern: str
    joules: float
    per: str | None = None
    source: str = "config"

    def matches(self, node_id: str) -> bool:
        return node_id == self.pattern or (self.source != "marker" and fnmatchcase(node_id, self.pattern))

    def to_dict(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "joules": self.joules, "per": self.per, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Budget:
        return cls(
            str(data["pattern"]), float(data["joules"]), data.get("per"), str(data.get("source", "config"))
        )


def config_budgets(config: Config) -> tuple[Budget, ...]:
    """The ``budgets`` table of the configuration as :class:`Budget` objects."""
    return tuple(Budget(pattern, joules) for pattern, joules in config.budgets.items())


@dataclass(frozen=True)
class BudgetResult:
    """One test checked against one budget: its median energy against the limit."""

    node_id: str
    budget_j: float
    measured_j: float
    per: str
    over: bool
    source: str
    estimated: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "budget_j": self.budget_j,
            "measured_j": self.measured_j,
            "per": self.per,
            "over": self.over,
            "source": self.source,
            "estimated": self.estimated,
        }


def check_budgets(records: Iterable[TestRecord], budgets: Iterable[Budget]) -> tuple[BudgetResult, ...]:
    """Every record against every budget that names it (median energy, in the record's unit)."""
    budgets = list(budgets)
    results = []
    for record in sorted(records, key=lambda r: r.node_id):
        for budget in budgets:
            if budget.matches(record.node_id) and budget.per in (None, record.per):
                measured = record.median_j
                source = "marker" if budget.source == "marker" else f"budgets[{budget.pattern!r}]"
                results.append(
                    BudgetResult(
                        record.node_id,
                        budget.joules,
                        measured,
                        record.per,
                        measured > budget.joules,
                        source,
                        record.estimated,
                    )
                )
    return tuple(results)


@dataclass(frozen=True)
class TotalBudgetResult:
    """The suite's total energy against ``total_budget_j``: the sum of the medians of the ``tests`` measured
    per test; ``per_call`` tests (the energy fixture, pytest-benchmark) count energy per call and are left
    out of the sum."""

    budget_j: float
    measured_j: float
    tests: int
    over: bool
    estimated: bool
    per_call: int = 0

    def line(self) -> str:
        relation = ">" if self.over else "<="
        kind = ", estimated" if self.estimated else ""
        left_out = f"; {plural(self.per_call, 'test')} measured per call not counted" if self.per_call else ""
        return (
            f"suite total {format_energy(self.measured_j)} {relation} total_budget_j "
            f"{format_energy(self.budget_j)} ({plural(self.tests, 'test')}{kind}){left_out}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget_j": self.budget_j,
            "measured_j": self.measured_j,
            "line": self.line(),
            "tests": self.tests,
            "over": self.over,
            "estimated": self.estimated,
            "per_call": self.per_call,
        }


def check_total_budget(records: Iterable[TestRecord], settings: GateSettings) -> TotalBudgetResult | None:
    """The run's tests measured per test, summed, against ``settings.total_budget_j`` (None: no budget)."""
    if settings.total_budget_j is None:
        return None
    records = list(records)
    counted = [r for r in records if r.per == "test"]
    total = math.fsum(r.median_j for r in counted)
    return TotalBudgetResult(
        settings.total_budget_j,
        total,
        len(counted),
        total > settings.total_budget_j,
        any(r.estimated for r in counted),
        len(records) - len(counted),
    )


@dataclass(frozen=True)
class GateReport:
    """The gate's decision for one run. ``compared`` is false when no comparison was asked for (budgets are
    still checked); ``refused`` says why the baseline was not used (another machine, estimate against
    measurement); ``missing_baseline`` is true when there was none to use."""

    settings: GateSettings
    comparisons: tuple[Comparison, ...] = ()
    budgets: tuple[BudgetResult, ...] = ()
    compared: bool = False
    baseline: str | None = None
    baseline_commit: str | None = None
    refused: str | None = None
    missing_baseline: bool = False
    notes: tuple[str, ...] = field(default=())
    #: the whole suite's total against the baseline's (None: nothing was compared)
    suite: SuiteVerdict | None = None
    #: the suite's total against ``total_budget_j`` (None: no total budget)
    total_budget: TotalBudgetResult | None = None

    def _with(self, verdict: Verdict) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.verdict == verdict)

    @property
    def regressions(self) -> tuple[Comparison, ...]:
        return self._with("regression")

    @property
    def inconclusive(self) -> tuple[Comparison, ...]:
        return self._with("inconclusive")

    @property
    def over_budget(self) -> tuple[BudgetResult, ...]:
        return tuple(b for b in self.budgets if b.over)

    @property
    def baseline_failure(self) -> bool:
        """A missing or refused baseline fails only with ``on_missing_baseline = "fail"``."""
        return self.compared and self.missing_baseline and self.settings.on_missing_baseline == "fail"

    @property
    def suite_regressed(self) -> bool:
        """The suite's total rose by more than ``fail_on``: it fails the run as a test's regression does."""
        return self.suite is not None and self.suite.verdict == "regression"

    @property
    def over_total_budget(self) -> bool:
        return self.total_budget is not None and self.total_budget.over

    @property
    def failed(self) -> bool:
        return bool(
            self.regressions
            or self.over_budget
            or self.baseline_failure
            or self.suite_regressed
            or self.over_total_budget
        )

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {verdict: 0 for verdict in VERDICTS}
        for comparison in self.comparisons:
            counts[comparison.verdict] += 1
        counts["over_budget"] = len(self.over_budget)
        return counts

    def summary(self) -> str:
        """One line: what failed, or that nothing did."""
        parts = []
        if self.regressions:
            parts.append(plural(len(self.regressions), "energy regression"))
        elif self.suite_regressed:  # with tests regressed, they say it already; the suite's line says more
            parts.append("suite total energy regression")
        if self.over_budget:
            parts.append(f"{len(self.over_budget)} over energy budget")
        if self.over_total_budget:
            parts.append("suite over its total energy budget")
        if self.baseline_failure:
            parts.append("no usable baseline (on_missing_baseline = 'fail')")
        if parts:
            return "FAILED: " + ", ".join(parts)
        if self.inconclusive:
            return f"passed, {len(self.inconclusive)} inconclusive (warning only)"
        return "passed"

    def suite_lines(self) -> list[str]:
        """The whole suite's lines for every report: its total against the baseline's and the total
        budget, each when there is one."""
        lines = [] if self.suite is None else [self.suite.line()]
        if self.total_budget is not None:
            lines.append(
                ("OVER total budget: " if self.total_budget.over else "total budget: ")
                + self.total_budget.line()
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "baseline": self.baseline,
            "baseline_commit": self.baseline_commit,
            "refused": self.refused,
            "missing_baseline": self.missing_baseline,
            "settings": self.settings.to_dict(),
            "confidence": self.settings.confidence,
            "failed": self.failed,
            "exit_code": self.exit_code,
            "summary": self.summary(),
            "counts": self.counts(),
            "comparisons": [c.to_dict() for c in self.comparisons],
            "budgets": [b.to_dict() for b in self.budgets],
            "notes": list(self.notes),
            "suite": None if self.suite is None else self.suite.to_dict(),
            "total_budget": None if self.total_budget is None else self.total_budget.to_dict(),
        }


def declared_noise(meters: Iterable[object]) -> float | None:
    """The run-to-run spread a set of meters declares (their ``run_to_run_noise``, the largest), or None
    when any of them does not declare one."""
    declared = [getattr(meter, "run_to_run_noise", None) for meter in meters]
    if not declared or any(value is None for value in declared):
        return None
    return max(float(value) for value in declared if value is not None)
