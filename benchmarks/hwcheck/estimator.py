"""The estimator against RAPL on the classroom pairs: both meters over the same windows of the same calls.

RAPL sees the whole machine, the estimator only this process's CPU time, so RAPL's idle power (measured just
before, asleep) is taken off its figure; what remains is the energy the calls added, which is what the
estimator claims to estimate.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from greencode.classroom import discover
from greencode.compare import load_candidate
from greencode.config import Config
from greencode.errors import GreencodeError
from greencode.meters import estimate, rapl
from hwcheck.report import Section, joules, log, percent, relative, table, watts
from hwcheck.settings import Settings


@dataclass(frozen=True)
class PerCall:
    """Median joules per call over the rounds: RAPL less idle, and the estimator."""

    rapl_j: float
    estimate_j: float


def iterations_for(call: Callable[[], object], round_s: float) -> int:
    started = time.perf_counter()
    call()
    once = time.perf_counter() - started
    return max(1, math.ceil(round_s / once)) if once > 0 else 1000


def per_call(
    call: Callable[[], object],
    iterations: int,
    rounds: int,
    counter: rapl.RaplMeter,
    estimator: estimate.EstimateMeter,
    idle_w: float,
) -> PerCall:
    measured, estimated = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        outer, inner = counter.start(), estimator.start()
        for _ in range(iterations):
            call()
        estimate_j = sum(inner.stop().energy_j.values())
        rapl_j = sum(outer.stop().energy_j.values())
        elapsed = time.perf_counter() - started
        measured.append((rapl_j - idle_w * elapsed) / iterations)
        estimated.append(estimate_j / iterations)
    return PerCall(statistics.median(measured), statistics.median(estimated))


def idle_power(counter: rapl.RaplMeter, seconds: float) -> float:
    started = time.perf_counter()
    window = counter.start()
    time.sleep(seconds)
    energy = sum(window.stop().energy_j.values())
    return energy / (time.perf_counter() - started)


def _row(name: str, wasteful: PerCall, green: PerCall) -> tuple[list[str], list[float], bool, float | None]:
    """The table row of one pair, the estimator's relative errors, whether the ranking agrees, ratio error."""
    rapl_ratio = wasteful.rapl_j / green.rapl_j if green.rapl_j > 0 else math.nan
    estimate_ratio = wasteful.estimate_j / green.estimate_j if green.estimate_j > 0 else math.nan
    errors = [
        relative(side.estimate_j, side.rapl_j) if side.rapl_j > 0 else None for side in (wasteful, green)
    ]
    agrees = (wasteful.rapl_j > green.rapl_j) == (wasteful.estimate_j > green.estimate_j)
    ratio_error = relative(estimate_ratio, rapl_ratio) if rapl_ratio > 0 else None
    row = [name]
    for side, error in zip((wasteful, green), errors, strict=True):
        row += [joules(side.rapl_j), joules(side.estimate_j), percent(error)]
    row += [f"{rapl_ratio:.3g}", f"{estimate_ratio:.3g}", "yes" if agrees else "**no**"]
    return row, [abs(e) for e in errors if e is not None], agrees, ratio_error


def check(settings: Settings) -> Section:
    model = estimate.create(Config())
    head = [f"Estimator: {model.model.provenance}."]
    try:
        counter = rapl.RaplMeter(settings.powercap())
    except GreencodeError as exc:
        reason = f"no readable RAPL counter to check the estimator against ({exc})"
        return Section("estimator", "absent", reason, (*head, "", f"Not checked: {reason}."))
    try:
        exercises = discover(Path(settings.classroom))
    except GreencodeError as exc:
        counter.close()
        return Section("estimator", "error", f"no classroom pairs: {exc}", (*head, f"Not checked: {exc}"))
    rows: list[list[str]] = []
    errors: list[float] = []
    ratio_errors: list[float] = []
    agreements: list[bool] = []
    with counter:
        idle_w = idle_power(counter, settings.idle_s)
        for exercise in exercises:
            log(f"estimator: {exercise.name}")
            try:
                calls = [
                    load_candidate(spec, relative_to=exercise.directory).function
                    for spec in (exercise.wasteful, exercise.green)
                ]
            except GreencodeError as exc:
                rows.append([exercise.name, f"cannot load: {exc}", *[""] * 9])
                continue
            counts = [iterations_for(call, settings.estimator_round_s) for call in calls]
            wasteful, green = (
                per_call(call, n, settings.estimator_rounds, counter, model, idle_w)
                for call, n in zip(calls, counts, strict=True)
            )
            row, pair_errors, agrees, ratio_error = _row(exercise.name, wasteful, green)
            rows.append(row)
            agreements.append(agrees)
            errors += pair_errors
            if ratio_error is not None:
                ratio_errors.append(abs(ratio_error))
    body = [
        *head,
        f"RAPL idle power {watts(idle_w)} (asleep, {settings.idle_s:g} s) is taken off RAPL's figures; "
        f"{settings.estimator_rounds} round(s) of at least {settings.estimator_round_s:g} s per "
        "implementation, medians per call.",
        "",
        *table(
            [
                "exercise",
                "wasteful RAPL",
                "est.",
                "error",
                "green RAPL",
                "est.",
                "error",
                "ratio RAPL",
                "ratio est.",
                "ranking agrees",
            ],
            rows,
        ),
        "",
        _summary_line(errors, ratio_errors, agreements),
    ]
    return Section("estimator", "info", _summary_line(errors, ratio_errors, agreements), tuple(body))


def _summary_line(errors: Sequence[float], ratio_errors: Sequence[float], agreements: Sequence[bool]) -> str:
    if not agreements:
        return "no pair could be measured"
    error = (
        f"estimator's median absolute error {statistics.median(errors) * 100:.3g} % (largest "
        f"{max(errors) * 100:.3g} %)"
        if errors
        else "no error figure (RAPL saw no energy above idle)"
    )
    ratio = f"ratio error median {percent(statistics.median(ratio_errors))}" if ratio_errors else ""
    ranking = f"ranking agrees on {sum(agreements)} of {len(agreements)} pairs"
    return "; ".join(part for part in (error, ratio, ranking) if part)
