"""A measured test's figures made into its :class:`~greencode.records.TestRecord`: the windows of its call's
rounds (or of pytest-benchmark's rounds), or the ``energy`` fixture's profile; and why there is none when a
meter failed while the test was measured."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from greencode.records import TestRecord, record_from_profile, record_from_windows

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
        return record_from_profile(node_id, profile)
    if glue is not None:
        rounds = glue.rounds
        return record_from_windows(
            node_id, [w for w, _ in rounds], 0.0, "call", [n for _, n in rounds], "benchmark"
        )
    if windows:
        return record_from_windows(node_id, windows, extra_j, "test", [1] * len(windows), "test")
    return None
