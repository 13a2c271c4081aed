"""What a report holds: one :class:`TestResult` per test with its CO2e and SCI, the :class:`Report` around
them, and the conversions into them (:func:`build_test`, :func:`test_from_record`, :func:`test_from_point`,
the gate's verdicts).
Reading any greencode output into a report is :mod:`greencode.report.loaders`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from greencode.carbon import J_PER_KWH, Intensity, co2e_g, resolve_intensity
from greencode.config import CarbonConfig
from greencode.hotspots import Hotspots
from greencode.records import PER_VALUES
from greencode.sci import BUILTIN_UNITS, SCI, sci

if TYPE_CHECKING:
    from greencode.history.model import HistoryPoint as StoredPoint
    from greencode.records import TestRecord

#: The ``schema`` value of a report JSON, and its version (``docs/report-schema.md``).
SCHEMA = "greencode-report"
SCHEMA_VERSION = 1
#: How a results file's note on the gate's decision at the time of the run begins.
AS_RUN_NOTE = "gate (as run): "
#: What one report figure can cover (``TestResult.per``): a test's figure, or a whole ``greencode run``.
REPORT_PER_VALUES = (*PER_VALUES, "run")


@dataclass(frozen=True)
class LeaderboardRow:
    """One alternative on a leaderboard: its energy per call (median and interval, J).

    ``ratio`` is its energy over the best alternative's when the caller measured that ratio itself (greencode
    compare pairs them round by round); the plot then prints the same figures as the caller's table.
    """

    label: str
    median_j: float
    low_j: float
    high_j: float
    estimated: bool
    tactic: str | None = None
    ratio: float | None = None


@dataclass(frozen=True)
class Estimate:
    """A median energy (J) with the interval around it (``low_j`` <= ``median_j`` <= ``high_j``)."""

    median_j: float
    low_j: float
    high_j: float

    @classmethod
    def exact(cls, joules: float) -> Estimate:
        return cls(joules, joules, joules)

    def to_dict(self) -> dict[str, float]:
        return {"median": self.median_j, "low": self.low_j, "high": self.high_j}


@dataclass(frozen=True)
class TestResult:
    """One test's (or function's, or command's) energy with its carbon figures.

    ``per`` says what one figure covers: ``"test"``, ``"call"`` or ``"run"``. ``units`` is how many of the
    configured functional units (SCI's R) that figure served.
    """

    __test__ = False  # not a pytest test class, despite the name

    name: str
    energy: Estimate
    per: str
    estimated: bool
    co2e_g: float
    sci: SCI
    wall_s: float | None = None
    meter: str | None = None
    domains: Mapping[str, float] = field(default_factory=dict)
    samples_j: tuple[float, ...] = ()
    baseline: Estimate | None = None
    status: str | None = None
    change: float | None = None
    units: float = 1.0
    started_at: float | None = None

    @property
    def intensity(self) -> Intensity:
        return self.sci.intensity


@dataclass(frozen=True)
class TrendPoint:
    """One test's energy in one stored run (for the trend plot). ``dirty``: the work tree had uncommitted
    changes, so the figure belongs to no commit (it is drawn and labelled apart from ``commit``'s)."""

    commit: str
    when: float
    median_j: float
    low_j: float
    high_j: float
    estimated: bool
    dirty: bool = False


@dataclass(frozen=True)
class Report:
    """Everything a report shows. Build it with :func:`load_report` or :func:`build_test`."""

    source: str
    kind: str
    carbon: CarbonConfig
    tests: tuple[TestResult, ...]
    created_at: float | None = None
    commit: str | None = None
    meter: str | None = None
    machine: str | None = None
    history: Mapping[str, tuple[TrendPoint, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: the gate's one-line decision, when a gate judged these results (see ``report.gating.with_gate``)
    verdict: str | None = None
    #: the functions that grew the most in each regressed test (:mod:`greencode.hotspots`)
    hotspots: tuple[Hotspots, ...] = ()

    @property
    def estimated(self) -> bool:
        return any(test.estimated for test in self.tests)

    @property
    def intensities(self) -> tuple[str, ...]:
        """The distinct intensity labels used (several when an hourly profile is configured)."""
        return tuple(dict.fromkeys(test.intensity.label for test in self.tests))

    @property
    def totalled(self) -> tuple[TestResult, ...]:
        """The entries the totals add up: energy actually spent once (per test or per run). A per-call
        figure is a rate — joules per call of a measured function — and adding it to those would mix units."""
        return tuple(test for test in self.tests if test.per != "call")

    @property
    def total_energy_j(self) -> float:
        return math.fsum(test.energy.median_j for test in self.totalled)

    @property
    def total_co2e_g(self) -> float:
        return math.fsum(test.co2e_g for test in self.totalled)

    @property
    def total_estimated(self) -> bool:
        return any(test.estimated for test in self.totalled)

    @property
    def run_sci(self) -> SCI | None:
        """The SCI of the whole run (R = one run): all energy and all reserved time together."""
        totalled = self.totalled
        if not totalled:
            return None
        wall = math.fsum(test.wall_s or 0.0 for test in totalled)
        operational = self.total_co2e_g
        # one intensity that reproduces the summed CO2e, so hourly profiles stay exact
        energy = self.total_energy_j
        g_per_kwh = operational / (energy * self.carbon.pue / J_PER_KWH) if energy > 0 else 0.0
        labels = self.intensities
        intensity = Intensity(
            g_per_kwh,
            labels[0] if len(labels) == 1 else f"{g_per_kwh:.4g} gCO2e/kWh (energy-weighted over hours)",
            totalled[0].intensity.basis,
        )
        return sci(energy, wall, self.carbon, intensity=intensity, functional_unit="run")


def build_test(
    name: str,
    energy: Estimate,
    carbon: CarbonConfig,
    *,
    per: str = "test",
    estimated: bool,
    wall_s: float | None = None,
    meter: str | None = None,
    domains: Mapping[str, float] | None = None,
    samples_j: Sequence[float] = (),
    baseline: Estimate | None = None,
    status: str | None = None,
    change: float | None = None,
    units: float = 1.0,
    started_at: float | None = None,
) -> TestResult:
    """A :class:`TestResult` with CO2e and SCI computed from ``carbon`` for the time it ran."""
    intensity = resolve_intensity(carbon, started_at)
    if change is None and baseline is not None and baseline.median_j > 0:
        change = energy.median_j / baseline.median_j - 1.0
    return TestResult(
        name=name,
        energy=energy,
        per=per,
        estimated=estimated,
        co2e_g=co2e_g(energy.median_j, intensity, carbon.pue),
        # R: what the figure covers (a call, a test, a run), unless the user declared a unit of their own
        sci=sci(
            energy.median_j,
            wall_s or 0.0,
            carbon,
            units=units,
            intensity=intensity,
            functional_unit=per if carbon.functional_unit in BUILTIN_UNITS else carbon.functional_unit,
        ),
        wall_s=wall_s,
        meter=meter,
        domains=MappingProxyType(dict(domains or {})),
        samples_j=tuple(samples_j),
        baseline=baseline,
        status=status,
        change=change,
        units=units,
        started_at=started_at,
    )


def test_from_record(record: TestRecord, carbon: CarbonConfig, started_at: float | None) -> TestResult:
    """A stored record as a report entry: its samples' median and quartiles, with CO2e and SCI."""
    summary = record.summary
    # the record keeps where each domain's figure came from, not its share; with one domain, it is all of it
    domains = dict.fromkeys(record.provenance, summary.median) if len(record.provenance) == 1 else {}
    energy = Estimate(summary.median, summary.q1, summary.q3)
    return _stored_test(
        record, energy, carbon, domains=domains, samples_j=record.samples_j, started_at=started_at
    )


def test_from_point(point: StoredPoint, carbon: CarbonConfig) -> TestResult:
    """A test's statistics in a stored run of the history as a report entry, with the gate's verdict as
    recorded; CO2e and SCI for the time the run started."""
    energy = Estimate(point.median_j, point.q1_j, point.q3_j)
    return _stored_test(
        point, energy, carbon, status=point.verdict, change=point.change, started_at=point.started
    )


def _stored_test(
    stored: TestRecord | StoredPoint, energy: Estimate, carbon: CarbonConfig, **more: Any
) -> TestResult:
    """What a report entry takes from any stored figure (a run's record, a history point): its name, unit,
    wall time, meter and whether it is estimated; ``more`` is what only that kind of figure has."""
    return build_test(
        stored.node_id,
        energy,
        carbon,
        per=stored.per,
        estimated=stored.estimated,
        wall_s=stored.wall_s,
        meter=stored.meter,
        **more,
    )


@dataclass(frozen=True)
class Verdict:
    """The gate's decision for one test, as shown in reports."""

    node_id: str
    verdict: str
    baseline_j: float | None
    change: float | None


def with_budgets(verdicts: Iterable[Verdict], over_budget: Iterable[str]) -> list[Verdict]:
    """``verdicts`` with each test of ``over_budget`` (node ids) shown as ``over budget``, unless it also
    regressed (the worse of the two) — never as ``new`` because it had no baseline entry."""
    by_node = {v.node_id: v for v in verdicts}
    for node_id in over_budget:
        known = by_node.get(node_id)
        if known is None or known.verdict != "regression":
            by_node[node_id] = Verdict(
                node_id, "over budget", known.baseline_j if known else None, known.change if known else None
            )
    return list(by_node.values())


def with_verdicts(report: Report, verdicts: Iterable[Verdict], notes: Sequence[str] = ()) -> Report:
    """``report`` with each test's baseline, change and status taken from the gate's ``verdicts``."""
    by_node = {v.node_id: v for v in verdicts}
    tests = []
    for test in report.tests:
        verdict = by_node.get(test.name)
        if verdict is not None:
            baseline = Estimate.exact(verdict.baseline_j) if verdict.baseline_j is not None else None
            test = replace(test, baseline=baseline, status=verdict.verdict, change=verdict.change)
        tests.append(test)
    return replace(report, tests=tuple(tests), notes=(*report.notes, *notes))
