"""A measured test's figures made into its :class:`~greencode.store.TestRecord`: the windows of its call's
rounds (or of pytest-benchmark's rounds), or the ``energy`` fixture's profile; and why there is none when a
meter failed while the test was measured."""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING

from greencode.store import TestRecord, counts_of_rounds

if TYPE_CHECKING:
    from greencode.measurement import Measurement, Profile
    from pytest_greencode.benchmark import BenchmarkEnergy


def meter_error(
    profile: Profile | None, glue: BenchmarkEnergy | None, windows: list[Measurement] | None, extra_j: float
) -> str | None:
    """Why a meter failed while this test was measured, if it did."""
    if profile is not None:
        return profile.meter_error
    measured = [w for w, _ in glue.rounds] if glue is not None else list(windows or ())
    errors = [m.meter_error for m in measured if m.meter_error is not None]
    if errors:
        return errors[0]
    return None if math.isfinite(extra_j) else "a meter failed while setup or teardown was measured"


def record_of(
    node_id: str,
    profile: Profile | None,
    glue: BenchmarkEnergy | None,
    windows: list[Measurement] | None,
    extra_j: float,
) -> TestRecord | None:
    """The record of a test: the fixture's profile, else pytest-benchmark's rounds, else the windows of
    the test's call with ``extra_j`` (its setup and teardown) added to each; ``None`` if none was measured."""
    if profile is not None:
        return from_profile(node_id, profile)
    if glue is not None:
        rounds = glue.rounds
        return from_windows(node_id, [w for w, _ in rounds], 0.0, "call", [n for _, n in rounds], "benchmark")
    if windows:
        return from_windows(node_id, windows, extra_j, "test", [1] * len(windows), "test")
    return None


def from_windows(
    node_id: str, windows: list[Measurement], extra_j: float, per: str, calls: list[int], source: str
) -> TestRecord:
    samples: tuple[float, ...]
    if len(windows) == 1:  # the common case (one round), kept cheap: it runs once per test
        (window,), (n,) = windows, calls
        samples, wall, cpu = (window.energy_j / n + extra_j,), window.wall_s / n, window.cpu_s / n
        co2e = window.co2e_g / n
    else:
        samples = tuple(w.energy_j / n + extra_j for w, n in zip(windows, calls, strict=True))
        wall = statistics.median(w.wall_s / n for w, n in zip(windows, calls, strict=True))
        cpu = statistics.median(w.cpu_s / n for w, n in zip(windows, calls, strict=True))
        co2e = statistics.median(w.co2e_g / n for w, n in zip(windows, calls, strict=True))
    first = windows[0]
    counts = counts_of_rounds(windows, calls) if first.counts else {}
    return TestRecord(
        node_id=node_id,
        per=per,
        samples_j=samples,
        wall_s=wall,
        cpu_s=cpu,
        meter=first.meter,
        estimated=any(w.estimated for w in windows),
        provenance=first.provenance,
        rounds=len(windows),
        iterations=max(calls),
        source=source,
        co2e_g=co2e,
        warnings=tuple(dict.fromkeys(warning for w in windows for warning in w.warnings)),
        **counts,
    )


def from_profile(node_id: str, profile: Profile) -> TestRecord:
    return TestRecord(
        node_id=node_id,
        per="call",
        samples_j=profile.samples_j,
        wall_s=statistics.median(profile.wall_samples_s),
        cpu_s=statistics.median(profile.cpu_samples_s),
        meter=profile.meter,
        estimated=profile.estimated,
        provenance=profile.provenance,
        rounds=profile.rounds,
        iterations=profile.iterations,
        source="energy",
        co2e_g=profile.co2e_g_per_call,
        warnings=profile.warnings,
    )
