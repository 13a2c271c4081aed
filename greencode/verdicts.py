"""The regression gate's comparison: each test's energy against the baseline's, and the suite's total.

The gate must fail a change that costs more energy and never fail one because the machine was noisy. On a
shared machine the medians of two runs of the same code differ by several per cent (process CPU time: CV
about 5-6 % between runs), far more than the rounds *inside* one run suggest — rounds share the run's
conditions, so a test over them calls identical runs different. So the interval of each test's change is
built from the **run-to-run** spread:

- the change is ``D = log(current median) - mean(log of the baseline's run medians)``;
- its standard error is ``sqrt(s²/K + max(s², w))``: ``s`` the run-to-run spread, ``K`` the baseline's runs
  and ``w`` the current run's own within-run variance of its median (counted when its rounds are unusually
  spread);
- ``s`` comes from baselines that pooled several runs of the same commit (``greencode calibrate --save`` or
  repeated ``--greencode-save`` of a clean commit): per test, shrunk towards the suite's common spread
  (:func:`greencode.stats.moderated_variances`), with Student-t degrees of freedom; without such runs it
  is the documented default :data:`~greencode.gate.DEFAULT_RUN_CV`, and never below
  :data:`~greencode.gate.MIN_RUN_CV`;
- runs pooled on one host say nothing about another host of the same kind (hosted CI runners are a new VM
  every job), so against a baseline saved on another host the spread is at least
  :data:`~greencode.gate.CROSS_HOST_RUN_CV`. Gating on hosted CI therefore measures base and head in the
  same job.

A test is a **regression** when the one-sided test of "the increase is at most ``fail_on``" rejects at
``alpha`` after Holm's adjustment over all compared tests — equivalently its interval's lower bound lies
above the threshold with family-wise error control — **and** the absolute increase exceeds
``min_effect_j``. An **improvement** is the mirror image (a decrease by the same factor). A test whose
change looks larger than the threshold but cannot be told from noise is **inconclusive**: a warning, never a
failure.

Against a stored baseline a test must also have changed by more than ``fail_on`` **beyond the run's shift**
(:mod:`greencode.run_shift`: the median change of the compared tests and file groups, with its error): a
busier or different machine moves every test alike, so a test — or the suite total — that moved only with
the whole run is ``inconclusive`` with a note recommending ``greencode ab``, never a regression, while a
uniform real slowdown stays visible as that warning. Both tests must reject (an intersection-union test), so
this can only turn regressions into warnings. Deterministic meters (instruction counts) do not follow the
machine and are judged without it; ``greencode ab`` pairs base and head and needs none.

A **partial run** — part of the baseline's tests, one file say — runs its tests cold and is judged beyond
its own shift, estimated from its tests one by one when its units are too few and never shrunk, or assumed
when it has too few tests (:mod:`greencode.partial_runs`); its notes and suite line say "N of M baseline
tests". Tests only in the run are **new**, tests only in the baseline **missing**.

What :func:`compare` decides comes back as a :class:`~greencode.gate.GateReport` (:mod:`greencode.gate`:
the settings, the budgets and pass or fail).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from greencode.gate import (
    DEFAULT_RUN_CV,
    MIN_RUN_CV,
    Budget,
    GateReport,
    GateSettings,
    check_budgets,
    check_total_budget,
)
from greencode.kinds import Judgement, Verdict
from greencode.stats import holm, log_median_variance, moderated_variances, t_cdf, t_ppf
from greencode.units import format_energy, format_percent, plural

if TYPE_CHECKING:
    from greencode.baselines import Baseline
    from greencode.fingerprint import Fingerprint
    from greencode.partial_runs import Selection
    from greencode.records import BaselineEntry, Figure, TestRecord
    from greencode.run_shift import RunShift


@dataclass(frozen=True)
class Noise:
    """The run-to-run spread used for one test: ``cv`` on the log scale (about the relative spread),
    ``df`` its degrees of freedom (``inf`` for the default) and where it came from."""

    cv: float
    df: float
    source: str


@dataclass(frozen=True)
class Comparison:
    """One test against the baseline. Changes are relative (0.12 is +12 %); ``ci_low``/``ci_high`` bound the
    change at the settings' ``confidence``; ``p`` tests "increase at most fail_on", ``p_adjusted`` is Holm's.
    """

    node_id: str
    verdict: Verdict
    reason: str
    per: str
    current_j: float | None = None
    baseline_j: float | None = None
    change: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    delta_j: float | None = None
    p: float | None = None
    p_adjusted: float | None = None
    noise: Noise | None = None
    baseline_runs: int = 0
    estimated: bool = False
    meter: str = ""

    @classmethod
    def of(cls, record: TestRecord, verdict: Verdict, reason: str, **rest: Any) -> Comparison:
        """``record``'s comparison: its node id, unit, median energy, meter and whether it is estimated, with
        ``rest`` (the baseline's side and the change)."""
        return cls(
            record.node_id,
            verdict,
            reason,
            record.per,
            record.median_j,
            estimated=record.estimated,
            meter=record.meter,
            **rest,
        )

    @classmethod
    def missing(cls, figure: Figure, reason: str, baseline_j: float, baseline_runs: int = 0) -> Comparison:
        """A test that only the baseline's side measured, ``figure`` being that side's."""
        return cls(
            figure.node_id,
            "missing",
            reason,
            figure.per,
            baseline_j=baseline_j,
            baseline_runs=baseline_runs,
            estimated=figure.estimated,
            meter=figure.meter,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "verdict": self.verdict,
            "reason": self.reason,
            "per": self.per,
            "current_j": self.current_j,
            "baseline_j": self.baseline_j,
            "change": self.change,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "delta_j": self.delta_j,
            "p": self.p,
            "p_adjusted": self.p_adjusted,
            **_noise_fields(self.noise),
            "baseline_runs": self.baseline_runs,
            "estimated": self.estimated,
            "meter": self.meter,
        }


def _noise_fields(noise: Noise | None) -> dict[str, Any]:
    """The noise model behind a verdict, as results files carry it (a test's and the suite's alike)."""
    return {
        "noise_cv": noise.cv if noise else None,
        "noise_df": None if noise is None or math.isinf(noise.df) else noise.df,
        "noise_source": noise.source if noise else None,
    }


@dataclass(frozen=True)
class SuiteVerdict:
    """The suite's total energy against the baseline's, over the ``compared`` tests both measured.

    ``current_j``/``baseline_j`` are the two totals (in the unit ``per``), ``change`` and its interval are
    relative as for one test; ``new`` and ``missing`` name the tests left out because only one side has
    them, ``excluded`` those both have but that could not be judged (zero energy, another unit), and
    ``unresolved`` small tests whose file's small tests together are near the meter's resolution. Of the
    ``compared`` tests, ``grouped`` were judged in ``file_groups`` sums of a file's small tests
    (:mod:`greencode.grouped_gate`), the rest alone.
    """

    verdict: Judgement
    reason: str
    per: str = "test"
    compared: int = 0
    current_j: float | None = None
    baseline_j: float | None = None
    change: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    delta_j: float | None = None
    p: float | None = None
    noise: Noise | None = None
    new: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    estimated: bool = False
    grouped: int = 0
    file_groups: int = 0
    unresolved: tuple[str, ...] = ()
    #: which of the baseline's tests the run measured (None: not known, as in ``greencode ab``)
    selection: Selection | None = None

    def line(self) -> str:
        """One line for summaries: the verdict, over what, why, and what was left out."""
        left_out = [
            f"{len(names)} {what}"
            for names, what in (
                (self.new, "new"),
                (self.missing, "missing"),
                (self.excluded, "not comparable"),
                (self.unresolved, "near the meter's resolution"),
            )
            if names
        ]
        tail = f"; left out: {', '.join(left_out)}" if left_out else ""
        over = plural(self.compared, "test")
        if self.file_groups:
            groups = plural(self.file_groups, "file group")
            over += f" ({self.compared - self.grouped} judged alone, {self.grouped} in {groups})"
        if self.selection is not None and self.selection.partial:
            over += f" of a partial run ({self.selection.words()})"
        return f"suite total: {self.verdict} over {over}, {self.reason}{tail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "line": self.line(),
            "per": self.per,
            "compared": self.compared,
            "current_j": self.current_j,
            "baseline_j": self.baseline_j,
            "change": self.change,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "delta_j": self.delta_j,
            "p": self.p,
            **_noise_fields(self.noise),
            "new": list(self.new),
            "missing": list(self.missing),
            "excluded": list(self.excluded),
            "estimated": self.estimated,
            "grouped": self.grouped,
            "file_groups": self.file_groups,
            "unresolved": list(self.unresolved),
            "selection": None if self.selection is None else self.selection.to_dict(),
        }


# ---------------------------------------------------------------------------------------------------------
# noise


def _log_runs(entry: BaselineEntry) -> list[float] | None:
    return [math.log(v) for v in entry.runs_j] if all(v > 0 for v in entry.runs_j) else None


def estimate_noise(
    baseline: Baseline,
    default_cv: float = DEFAULT_RUN_CV,
    min_cv: float = MIN_RUN_CV,
    default_source: str = "default",
    jitter_s: float = 0.0,
) -> dict[str, Noise]:
    """The run-to-run spread to assume for each baseline entry (see the module docstring); ``default_source``
    names where ``default_cv`` comes from in reports. Where no pooled runs tell, a test measured per test
    with a window of ``wall_s`` gets ``sqrt(default_cv² + (jitter_s / wall_s)²)``: a short window's reading
    shifts by about ``jitter_s`` between runs, far more than ``default_cv`` of it."""
    names, groups = [], []
    for node_id, entry in baseline.entries.items():
        logs = _log_runs(entry)
        names.append(node_id)
        groups.append((statistics.variance(logs), len(logs) - 1) if logs and len(logs) > 1 else (0.0, 0))
    default = Noise(default_cv, math.inf, default_source)

    def assumed(entry: BaselineEntry) -> Noise:
        if jitter_s <= 0 or entry.per != "test" or entry.wall_s <= 0:
            return default
        return Noise(
            math.hypot(default_cv, jitter_s / entry.wall_s), math.inf, f"{default_source} + window jitter"
        )

    entries = baseline.entries
    if not any(df > 0 for _, df in groups):
        return {name: assumed(entries[name]) for name in names}
    noise = {}
    for name, (variance, df) in zip(names, moderated_variances(groups), strict=True):
        if df <= 0:
            noise[name] = assumed(entries[name])
        else:
            noise[name] = Noise(max(math.sqrt(variance), min_cv), df, "baseline runs")
    return noise


# ---------------------------------------------------------------------------------------------------------
# comparing


class ChangeEstimate(NamedTuple):
    """One test's change, ready for :func:`judge`: ``log_change`` is log(current / baseline) and ``error``
    its standard error, with ``noise`` giving the degrees of freedom (and, for reports, the spread and its
    source). The stored-baseline gate builds it with :func:`estimate_change`; ``greencode ab`` from
    paired runs. A plain 5-tuple in this order works too."""

    record: TestRecord
    entry: BaselineEntry
    noise: Noise
    log_change: float
    error: float


def estimate_change(record: TestRecord, entry: BaselineEntry, noise: Noise) -> ChangeEstimate | None:
    """The stored-baseline model (module docstring): None when an energy is zero (no relative change), also
    in one of this run's rounds: the test is then below the meter's resolution."""
    current = record.median_j
    logs = _log_runs(entry)
    if logs is None or min(record.samples_j) <= 0:
        return None
    spread = noise.cv * noise.cv
    error = math.sqrt(spread / len(logs) + max(spread, log_median_variance(record.samples_j)))
    return ChangeEstimate(record, entry, noise, math.log(current) - math.fsum(logs) / len(logs), error)


@dataclass(frozen=True)
class _Tested:
    """A judged change before the multiple-comparison adjustment. With the run's shift, ``p_increase``
    and ``p_decrease`` are the larger of the test's p-value alone and beyond the shift (both must reject:
    an intersection-union test, so each at the full level), and ``alone`` keeps the p-values alone."""

    noise: Noise
    change: float
    ci_low: float
    ci_high: float
    delta_j: float
    p_increase: float
    p_decrease: float
    alone: tuple[float, float] | None = None
    #: the change beyond the run's shift (None without one)
    beyond: float | None = None


def _test_change(
    difference: float, error: float, noise: Noise, delta_j: float, settings: GateSettings
) -> _Tested:
    """The Student-t interval and both one-sided p-values of one log change with standard error ``error``."""
    error = max(error, 1e-12)  # identical values: any change at all is then certain
    quantile = t_ppf(1.0 - settings.alpha, noise.df)
    bound = math.log1p(settings.fail_on)
    return _Tested(
        noise=noise,
        change=math.expm1(difference),
        ci_low=math.expm1(difference - quantile * error),
        ci_high=math.expm1(difference + quantile * error),
        delta_j=delta_j,
        p_increase=1.0 - t_cdf((difference - bound) / error, noise.df),
        p_decrease=t_cdf((difference + bound) / error, noise.df),
    )


def _beyond_shift(
    difference: float,
    error: float,
    noise: Noise,
    delta_j: float,
    settings: GateSettings,
    shift: RunShift | None,
) -> _Tested:
    """The change tested both alone and beyond the run's ``shift`` (None: alone only); the interval shown
    stays the change's own."""
    alone = _test_change(difference, error, noise, delta_j, settings)
    if shift is None:
        return alone
    beyond = _test_change(
        difference - shift.log_change, math.hypot(error, shift.error), noise, delta_j, settings
    )
    return replace(
        alone,
        p_increase=max(alone.p_increase, beyond.p_increase),
        p_decrease=max(alone.p_decrease, beyond.p_decrease),
        alone=(alone.p_increase, alone.p_decrease),
        beyond=beyond.change,
    )


def _test(estimate: ChangeEstimate, settings: GateSettings, shift: RunShift | None = None) -> _Tested:
    record, entry, noise, difference, error = estimate
    return _beyond_shift(difference, error, noise, record.median_j - entry.centre_j, settings, shift)


def _interval(tested: _Tested, settings: GateSettings) -> str:
    return (
        f"{format_percent(tested.change)} ({settings.confidence:.0%} CI {format_percent(tested.ci_low)} to "
        f"{format_percent(tested.ci_high)})"
    )


#: p-values below this are shown as a bound: floating point cannot tell them apart from 0, which they are not.
SMALLEST_P = 1e-9


def _p(value: float) -> str:
    return f"p < {SMALLEST_P:g}" if value < SMALLEST_P else f"p = {value:.2g}"


def _verdict(
    tested: _Tested,
    p_up: float,
    p_down: float,
    settings: GateSettings,
    adjusted: str = "adjusted ",
    moved_with: RunShift | None = None,
) -> tuple[Judgement, str]:
    """``moved_with``: the run's shift, when the change alone would have been a regression or an
    improvement but not beyond that shift."""
    threshold = format_percent(settings.fail_on, signed=False)
    interval = _interval(tested, settings)
    small = abs(tested.delta_j) <= settings.min_effect_j
    floor = f"{format_energy(settings.min_effect_j)} (min_effect_j)"
    if p_up < settings.alpha:
        if small:
            return "unchanged", f"{interval}, but {format_energy(tested.delta_j)} is within {floor}"
        return "regression", f"{interval}: more than {threshold} with {adjusted}{_p(p_up)}"
    if p_down < settings.alpha:
        if small:
            return "unchanged", f"{interval}, but {format_energy(tested.delta_j)} is within {floor}"
        return "improvement", f"{interval}: less by more than {threshold} with {adjusted}{_p(p_down)}"
    if moved_with is not None and moved_with.basis == "assumed" and not small:
        from greencode.partial_runs import assumed_words

        return "inconclusive", f"{interval}, but {assumed_words(moved_with)}"
    if moved_with is not None and tested.beyond is not None and not small:
        beyond, run = format_percent(tested.beyond), format_percent(moved_with.change)
        # "only" would misread a change that stays large beyond the shift but is not shown at the level
        # the family leaves it (Holm over many tests, or a noisy baseline)
        how = (
            f"but only {beyond} beyond the whole run's shift ({run})"
            if abs(tested.beyond) <= settings.fail_on
            else f"{beyond} beyond the whole run's shift ({run}), not shown at the {adjusted}level"
        )
        return "inconclusive", (
            f"{interval}, {how}: the machine, or code all tests share; rerun, or gate with 'greencode ab'"
        )
    if tested.change > settings.fail_on and not small:
        if adjusted and tested.ci_low > settings.fail_on:
            # its own interval clears fail_on: noise is not what stops it, the family's adjustment is
            return "inconclusive", (
                f"{interval}: more than {threshold} on its own ({_p(tested.p_increase)}), but not at the "
                f"adjusted level over all compared tests ({adjusted}{_p(p_up)}), which keeps one of many "
                "tests reading high by chance from failing the run; rerun to confirm it"
            )
        noise = tested.noise
        return "inconclusive", (
            f"{interval} may exceed {threshold}, but run-to-run noise "
            f"({format_percent(noise.cv, signed=False)}, {noise.source}) is too large to tell"
        )
    if tested.ci_high > settings.fail_on:
        # "unchanged" is what the gate decides (nothing shown to exceed fail_on); the reader should still
        # see when the noise leaves room for a change that large, rather than read it as "the same"
        return "unchanged", f"{interval}: no change shown, though one over {threshold} is not ruled out"
    return "unchanged", interval


def shift_words(shift: RunShift) -> str:
    """Why a change that moved with the whole run is not a regression, and what to do."""
    from greencode.partial_runs import basis_words

    return (
        f"the whole run moved by {format_percent(shift.change)} (median of {basis_words(shift)}): a "
        "busier or different machine does that as well as code they all share; rerun, or gate with "
        "'greencode ab', which measures base and head side by side"
    )


def judge(
    estimates: Iterable[ChangeEstimate | tuple[Any, ...]],
    settings: GateSettings,
    shift: RunShift | None = None,
) -> list[Comparison]:
    """Verdicts for estimated changes, with Holm's adjustment over all of them (one family).

    Each change gets a Student-t interval (``noise.df`` degrees of freedom) and one-sided p-values against
    "at most ``fail_on`` more" and "at most that factor less"; see the module docstring for the verdicts.
    With the run's ``shift`` (the stored-baseline gate's, :mod:`greencode.run_shift`), a change must also
    exceed ``fail_on`` beyond that shift to be a regression or an improvement; one that moved only with it
    is ``inconclusive``.
    """
    given = [ChangeEstimate(*estimate) for estimate in estimates]
    tested = [_test(estimate, settings, shift) for estimate in given]
    adjusted_up = holm([t.p_increase for t in tested])
    adjusted_down = holm([t.p_decrease for t in tested])
    alone_up = holm([t.alone[0] if t.alone else t.p_increase for t in tested])
    alone_down = holm([t.alone[1] if t.alone else t.p_decrease for t in tested])
    comparisons = []
    for index, (estimate, result) in enumerate(zip(given, tested, strict=True)):
        p_up, p_down = adjusted_up[index], adjusted_down[index]
        moved = min(alone_up[index], alone_down[index]) < settings.alpha
        verdict, why = _verdict(result, p_up, p_down, settings, moved_with=shift if moved else None)
        record, entry, noise = estimate.record, estimate.entry, estimate.noise
        comparisons.append(
            Comparison.of(
                record,
                verdict,
                why,
                baseline_j=entry.centre_j,
                change=result.change,
                ci_low=result.ci_low,
                ci_high=result.ci_high,
                delta_j=result.delta_j,
                p=result.p_increase,
                p_adjusted=p_up,
                noise=noise,
                baseline_runs=len(entry.runs_j),
            )
        )
    return comparisons


def judge_suite(
    estimates: Iterable[ChangeEstimate | tuple[Any, ...]],
    settings: GateSettings,
    *,
    new: Iterable[str] = (),
    missing: Iterable[str] = (),
    excluded: Iterable[str] = (),
    shift: RunShift | None = None,
) -> SuiteVerdict:
    """The whole suite's verdict from the per-test estimates :func:`judge` takes (the stored-baseline gate's
    or ``greencode ab``'s): the total of the tests both sides measured against the baseline's total.

    Each test's baseline energy, moved by its estimated change, gives the run's side of the total, so the
    suite's change is the energy-weighted mean of the tests' changes. Its standard error is the
    energy-weighted *sum* of theirs, as if every test moved with the others: on a shared machine they do (a
    busier run is slower everywhere), and a sum of independent errors would make a long suite look more
    certain than its runs are. The verdict is then the one a test gets with that change and error, at
    ``alpha`` (one more decision, not in the tests' Holm family) and with ``fail_on`` and ``min_effect_j``
    applied to the total. The total is of energy per test when any test is measured per test (else per call);
    tests in the other unit are ``excluded``, as are those the caller could not estimate. With the run's
    ``shift`` the total follows the tests' rule: a regression only beyond it, else ``inconclusive``.
    """
    given = [ChangeEstimate(*estimate) for estimate in estimates]
    per = "test" if any(e.record.per == "test" for e in given) or not given else "call"
    counted = [e for e in given if e.record.per == per]
    other_unit = [e.record.node_id for e in given if e.record.per != per]
    estimated = any(e.record.estimated for e in counted)
    unjudged = SuiteVerdict(
        "inconclusive",
        "no test both sides measured with energy above zero",
        per,
        len(counted),
        new=tuple(sorted(new)),
        missing=tuple(sorted(missing)),
        excluded=tuple(sorted([*excluded, *other_unit])),
        estimated=estimated,
    )
    base = [e.entry.centre_j for e in counted]
    moved = [b * math.exp(e.log_change) for b, e in zip(base, counted, strict=True)]
    base_total, moved_total = math.fsum(base), math.fsum(moved)
    if not counted or base_total <= 0 or moved_total <= 0 or not math.isfinite(base_total + moved_total):
        return unjudged
    shares = [m / moved_total for m in moved]
    error = math.fsum(w * e.error for w, e in zip(shares, counted, strict=True))
    sources = sorted({e.noise.source for e in counted})
    noise = Noise(
        math.fsum(w * e.noise.cv for w, e in zip(shares, counted, strict=True)),
        min(e.noise.df for e in counted),
        _sources(sources),
    )
    difference = math.log(moved_total) - math.log(base_total)
    tested = _beyond_shift(difference, error, noise, moved_total - base_total, settings, shift)
    with_run = tested.alone is not None and min(tested.alone) < settings.alpha
    verdict, why = _verdict(
        tested,
        tested.p_increase,
        tested.p_decrease,
        settings,
        adjusted="",
        moved_with=shift if with_run else None,
    )
    return replace(
        unjudged,
        verdict=verdict,
        reason=why,
        current_j=moved_total,
        baseline_j=base_total,
        change=tested.change,
        ci_low=tested.ci_low,
        ci_high=tested.ci_high,
        delta_j=tested.delta_j,
        p=tested.p_increase,
        noise=noise,
    )


def _sources(sources: Sequence[str]) -> str:
    """Where the suite's noise came from, short: ``greencode ab`` gives each count of pairs its own source."""
    if len(sources) == 1:
        return sources[0]
    shown = "; ".join(sources[:3])
    return f"mixed: {shown}" + (f" and {len(sources) - 3} more" if len(sources) > 3 else "")


def unestimated(
    record: TestRecord,
    entry: BaselineEntry,
    reason: str,
    settings: GateSettings,
    *,
    can_be_unchanged: bool = True,
) -> Comparison:
    """A test whose change could not be estimated (``reason`` says why): unchanged when its energy moved by
    no more than ``min_effect_j`` (and ``can_be_unchanged``), else inconclusive."""
    delta = record.median_j - entry.centre_j
    quiet = can_be_unchanged and abs(delta) <= settings.min_effect_j
    return Comparison.of(
        record,
        "unchanged" if quiet else "inconclusive",
        reason,
        baseline_j=entry.centre_j,
        delta_j=delta,
        baseline_runs=len(entry.runs_j),
    )


def _incompatible(record: TestRecord, entry: BaselineEntry, allow_other_machine: bool) -> str | None:
    if record.per != entry.per:
        return f"measured per {record.per} now but per {entry.per} in the baseline; save a new baseline"
    if entry.estimated != record.estimated and not allow_other_machine:
        kinds = ("a measurement", "an estimate")
        return f"{kinds[record.estimated]} now but {kinds[entry.estimated]} in the baseline"
    return None


def refusal(baseline: Baseline, fingerprint: Fingerprint | None, records: Sequence[TestRecord]) -> str | None:
    """Why ``baseline`` must not be compared with these records, in one line; None when it may."""
    estimated = any(r.estimated for r in records)
    if records and baseline.entries and baseline.estimated != estimated:
        kinds = ("measurements", "estimates")
        return (
            f"the baseline holds {kinds[baseline.estimated]} ({baseline.meter}) but this run produced "
            f"{kinds[estimated]}; comparing them would be meaningless "
            "(--greencode-allow-other-machine overrides)"
        )
    if fingerprint is not None and not fingerprint.matches(baseline.fingerprint):
        return (
            "the baseline comes from another machine: "
            + "; ".join(fingerprint.differences(baseline.fingerprint))
            + " (--greencode-allow-other-machine overrides)"
        )
    return None


def compare(
    records: Iterable[TestRecord],
    baseline: Baseline | None,
    settings: GateSettings,
    *,
    fingerprint: Fingerprint | None = None,
    budgets: Iterable[Budget] = (),
    baseline_name: str | None = None,
    selection: Selection | None = None,
    one_by_one: Sequence[float] = (),
) -> GateReport:
    """Compare ``records`` with ``baseline`` and check ``budgets``; the decision is ``GateReport.failed``.

    ``fingerprint`` is this machine's; with it, a baseline from another machine is refused unless
    ``settings.allow_other_machine`` (pass None when the caller knows both sides ran here, as ``greencode
    ab`` does). ``baseline=None`` means there is none: every test is ``new`` and ``on_missing_baseline``
    decides. ``baseline_name`` names it in messages (default: its path). ``selection`` says which of the
    baseline's tests the run measured (default: ``records``' share of ``baseline``) and ``one_by_one`` holds
    the log changes of the run's tests one by one, for its shift when ``records`` are units of several
    tests too few to estimate it (default: the records' own).
    """
    records = sorted(records, key=lambda r: r.node_id)
    budget_results = check_budgets(records, budgets)
    total_budget = check_total_budget(records, settings)
    name = baseline_name or (str(baseline.path) if baseline is not None and baseline.path else None)
    if baseline is None:
        return GateReport(
            settings,
            tuple(Comparison.of(r, "new", "no baseline") for r in records),
            budget_results,
            compared=True,
            baseline=name,
            missing_baseline=True,
            total_budget=total_budget,
        )
    notes = []
    reason = refusal(baseline, fingerprint, records)
    if reason is not None:
        if not settings.allow_other_machine:
            return GateReport(
                settings,
                (),
                budget_results,
                compared=True,
                baseline=name,
                baseline_commit=baseline.commit,
                refused=reason,
                missing_baseline=True,
                total_budget=total_budget,
            )
        notes.append("compared although " + reason.split(" (--greencode")[0] + ", as allowed")

    noise = estimate_noise(
        baseline, settings.run_cv, settings.min_run_cv, settings.noise_source, settings.window_jitter_s
    )
    if (
        settings.meter_noise is None  # counts do not change with the host once the fingerprints match
        and fingerprint is not None
        and fingerprint.hostname
        and baseline.fingerprint.hostname not in ("", fingerprint.hostname)
    ):
        # runs pooled on the baseline's host say nothing about how much another host differs
        noise = {
            node: Noise(max(n.cv, settings.cross_host_run_cv), n.df, n.source + ", saved on another host")
            for node, n in noise.items()
        }
        notes.append(
            f"the baseline was saved on host {baseline.fingerprint.hostname!r}, this is "
            f"{fingerprint.hostname!r}: run-to-run noise taken as at least "
            f"{format_percent(settings.cross_host_run_cv, signed=False)}"
        )
    current = {r.node_id: r for r in records}
    verdicts: dict[str, Comparison] = {}
    estimates: list[ChangeEstimate] = []
    not_estimated: list[str] = []
    for record in records:
        entry = baseline.entries.get(record.node_id)
        if entry is None:
            verdicts[record.node_id] = Comparison.of(record, "new", "not in the baseline")
            continue
        problem = _incompatible(record, entry, settings.allow_other_machine)
        result = None if problem else estimate_change(record, entry, noise[record.node_id])
        if result is None:
            not_estimated.append(record.node_id)
            verdicts[record.node_id] = unestimated(
                record,
                entry,
                problem or "zero energy (below the meter's resolution): a relative change is undefined",
                settings,
                can_be_unchanged=not problem,
            )
            continue
        estimates.append(result)
    # only a comparison needs the run's shift and selection: a run that checks budgets does not load them
    from greencode.partial_runs import partial_note, partial_shift, selection_of
    from greencode.run_shift import run_shift

    selection = selection or selection_of(current, baseline)
    units = [e.log_change for e in estimates]
    tests = list(one_by_one) or units
    shift = None
    # counts do not follow the machine: a shift of deterministic figures is the code's
    if settings.meter_noise is None:
        shift = partial_shift(units, tests) if selection.partial else run_shift(units, tests)
    judged = judge(estimates, settings, shift)
    verdicts.update((c.node_id, c) for c in judged)
    if selection.partial:
        notes.insert(0, partial_note(selection, shift))
    elif shift is not None and abs(shift.log_change) > math.log1p(settings.fail_on):
        notes.append(
            f"{shift_words(shift)}; a test or the suite total that moved only with the run is inconclusive, "
            "not a regression"
        )
    for node_id, entry in sorted(baseline.entries.items()):
        if node_id not in current:
            verdicts[node_id] = Comparison.missing(
                entry, "in the baseline but not measured in this run", entry.centre_j, len(entry.runs_j)
            )
    suite = judge_suite(
        estimates,
        settings,
        new=(c.node_id for c in verdicts.values() if c.verdict == "new"),
        missing=(c.node_id for c in verdicts.values() if c.verdict == "missing"),
        excluded=not_estimated,
        shift=shift,
    )
    return GateReport(
        settings,
        tuple(verdicts[k] for k in sorted(verdicts)),
        budget_results,
        compared=True,
        baseline=name,
        baseline_commit=baseline.commit,
        notes=tuple(notes),
        suite=replace(suite, selection=selection),
        total_budget=total_budget,
    )
