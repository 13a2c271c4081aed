"""A measured test's figures made into its :class:`~greencode.records.TestRecord`: the measurements of its
call's rounds (or of pytest-benchmark's rounds), or the ``energy`` fixture's profile; why there is none when a
meter failed while the test was measured; and the record kept by the run when the test's teardown ends."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from greencode.records import TestRecord, record_from_profile, record_from_windows
from pytest_greencode.keys import BENCHMARK_KEY, CALLS_KEY, EXTRA_KEY, PLAN_KEY, PROFILE_KEY

if TYPE_CHECKING:
    import pytest

    from greencode.measurement import Measurement, Profile
    from pytest_greencode.benchmark import BenchmarkEnergy
    from pytest_greencode.session import GreencodeRun


def meter_error(
    profile: Profile | None, glue: BenchmarkEnergy | None, rounds: list[Measurement] | None, extra_j: float
) -> str | None:
    """Why a meter failed while this test was measured, if it did."""
    if profile is not None:
        return profile.meter_error
    # a loop, not lists: it runs once per test, mostly over one round without an error
    for measured in (m for m, _ in glue.rounds) if glue is not None else rounds or ():
        if measured.meter_error is not None:
            return measured.meter_error
    return None if math.isfinite(extra_j) else "a meter failed while setup or teardown was measured"


def record_of(
    node_id: str,
    profile: Profile | None,
    glue: BenchmarkEnergy | None,
    rounds: list[Measurement] | None,
    extra_j: float,
) -> TestRecord | None:
    """The record of a test: the fixture's profile, else pytest-benchmark's rounds, else the rounds of
    the test's call with ``extra_j`` (its setup and teardown) added to each; ``None`` if none was measured."""
    if profile is not None:
        return record_from_profile(node_id, profile)
    if glue is not None:
        return record_from_windows(
            node_id, [m for m, _ in glue.rounds], 0.0, "call", [n for _, n in glue.rounds], "benchmark"
        )
    if rounds:
        return record_from_windows(node_id, rounds, extra_j, "test", [1] * len(rounds), "test")
    return None


def keep_record(run: GreencodeRun, item: pytest.Item) -> None:
    """At the end of a test's teardown: its record into the run's records and its energy budget into the
    run's budgets, or a warning saying why either is missing."""
    plan = item.stash.get(PLAN_KEY, None)
    if plan is None:
        return
    if not plan.measure:
        if plan.budget is not None:
            run.warnings.append(
                f"{item.nodeid}: its energy budget was not checked: the test is marked "
                "@pytest.mark.greencode(skip=True), so it is not measured"
            )
        return
    # only the keys the test's mode can have set are looked at: a missing key costs Stash.get a KeyError
    stash = item.stash
    profile = stash.get(PROFILE_KEY, None) if plan.mode == "energy" else None
    glue = stash.get(BENCHMARK_KEY, None) if plan.mode == "benchmark" else None
    # taken off the stash: the record holds what is kept, and fewer live objects make each garbage
    # collection cheaper over a long run
    rounds = stash.get(CALLS_KEY, None)
    if rounds is not None:
        del stash[CALLS_KEY]
    extra_j = stash.get(EXTRA_KEY, 0.0) if run.settings.include_setup else 0.0
    error = meter_error(profile, glue, rounds, extra_j)
    if error is not None:
        # the test itself ran and keeps its outcome; only its energy is missing
        run.warnings.append(f"{item.nodeid}: energy not measured: {error}")
        return
    record = record_of(item.nodeid, profile, glue, rounds, extra_j)
    if record is None:
        return
    run.records[item.nodeid] = record
    if plan.budget is not None and plan.budget.per != record.per:
        run.warnings.append(
            f"{item.nodeid}: its energy budget per {plan.budget.per} was not checked: the whole test "
            "was measured instead of pytest-benchmark's rounds (it runs none with --benchmark-disable or "
            "under xdist)"
        )
    elif plan.budget is not None:
        run.marker_budgets[item.nodeid] = plan.budget
    if run.junit:  # JUnit XML reads them from the teardown report, made right after this
        from pytest_greencode.reporting import junit_properties

        item.user_properties.extend(junit_properties(record))
