"""Calibration (A/A): how noisy is this machine, and what can the gate detect on it?

``greencode calibrate`` measures the same code several times; :func:`calibrate` turns those runs into each
test's run-to-run spread (shrunk towards the suite's, as the gate's noise model does), the drift from the
first run to the last, the smallest regression the gate would flag at the configured ``fail_on`` and
``alpha`` (:func:`detectable_change`), and a ``fail_on`` an unchanged test stays below.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from greencode.gate import MIN_RUN_CV, GateSettings
from greencode.stats import moderated_variances, normal_ppf, quantile, t_ppf

if TYPE_CHECKING:
    from greencode.records import TestRecord


def detectable_change(
    noise_cv: float, settings: GateSettings, *, baseline_runs: int = 1, tests: int = 1, df: float = math.inf
) -> float:
    """The smallest true relative increase the gate flags with 50 % probability: the threshold plus the
    margin its interval needs, for a test compared with ``baseline_runs`` runs among ``tests`` tests (Holm's
    first step, the strictest, divides alpha by the number of tests)."""
    error = noise_cv * math.sqrt(1.0 / baseline_runs + 1.0)
    margin = t_ppf(1.0 - settings.alpha / max(tests, 1), df) * error
    return math.expm1(math.log1p(settings.fail_on) + margin)


@dataclass(frozen=True)
class TestSpread:
    """One test over the calibration runs: ``cv`` the run-to-run spread the gate would use (shrunk, see
    :func:`estimate_noise`), ``raw_cv`` its own, and ``change`` from the first run to the last."""

    __test__ = False  # not a pytest test class, despite the name

    node_id: str
    runs: int
    cv: float
    raw_cv: float
    df: float
    change: float


@dataclass(frozen=True)
class Calibration:
    """The result of measuring the same code several times (``greencode calibrate``).

    ``typical_cv`` and ``high_cv`` are the median and 90th percentile of the tests' run-to-run spread;
    ``drift`` is the median first-to-last change (an order effect: later runs slower or faster);
    ``detectable_single`` / ``detectable_pooled`` are the smallest true increases the gate flags half the
    time, for a typical test among this many, against a baseline of one saved run or of all ``runs`` pooled;
    ``recommended_fail_on`` is the change an unchanged test stays below 95 % of the time (a threshold under
    it would only produce inconclusive warnings).
    """

    runs: int
    tests: tuple[TestSpread, ...]
    settings: GateSettings
    typical_cv: float
    high_cv: float
    drift: float
    detectable_single: float
    detectable_pooled: float
    recommended_fail_on: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "typical_cv": self.typical_cv,
            "high_cv": self.high_cv,
            "drift": self.drift,
            "detectable_single": self.detectable_single,
            "detectable_pooled": self.detectable_pooled,
            "recommended_fail_on": self.recommended_fail_on,
            "settings": self.settings.to_dict(),
            "tests": [
                {"node_id": t.node_id, "runs": t.runs, "cv": t.cv, "raw_cv": t.raw_cv, "change": t.change}
                for t in self.tests
            ],
        }


def calibrate(runs: Sequence[Sequence[TestRecord]], settings: GateSettings) -> Calibration:
    """Analyse two or more runs of the same code: the spread per test and what the gate can detect.

    Only tests measured (with positive energy, in the same unit) in every run are used.
    """
    if len(runs) < 2:
        raise ValueError("calibration needs at least two runs")
    by_node: dict[str, list[TestRecord]] = {}
    for run in runs:
        for record in run:
            by_node.setdefault(record.node_id, []).append(record)
    usable = {
        node: records
        for node, records in sorted(by_node.items())
        if len(records) == len(runs)
        and len({r.per for r in records}) == 1
        and all(r.median_j > 0 for r in records)
    }
    if not usable:
        raise ValueError("no test was measured with positive energy in every run")
    logs = {node: [math.log(r.median_j) for r in records] for node, records in usable.items()}
    groups = [(statistics.variance(values), len(values) - 1) for values in logs.values()]
    spreads = []
    for (node, values), (variance, df), (raw, _) in zip(
        logs.items(), moderated_variances(groups), groups, strict=True
    ):
        spreads.append(
            TestSpread(
                node,
                len(values),
                max(math.sqrt(variance), MIN_RUN_CV),
                math.sqrt(raw),
                df,
                math.expm1(values[-1] - values[0]),
            )
        )
    cvs = [s.cv for s in spreads]
    typical, high = statistics.median(cvs), quantile(cvs, 0.9)
    df = statistics.median(s.df for s in spreads)
    tests = len(spreads)
    band = math.expm1(normal_ppf(0.95) * math.sqrt(2.0) * high)
    return Calibration(
        runs=len(runs),
        tests=tuple(spreads),
        settings=settings,
        typical_cv=typical,
        high_cv=high,
        drift=statistics.median(s.change for s in spreads),
        detectable_single=detectable_change(typical, settings, baseline_runs=1, tests=tests, df=df),
        detectable_pooled=detectable_change(typical, settings, baseline_runs=len(runs), tests=tests, df=df),
        recommended_fail_on=max(0.01, math.ceil(band * 100.0 - 1e-9) / 100.0),
    )
