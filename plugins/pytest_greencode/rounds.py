"""A measured test's rounds: how many its call runs at first, a window around each, pytest-benchmark's rounds
in their place when the test uses that fixture, and the extra rounds that pytest never hears of.

The session's ``pytest_runtest_call`` wrapper delegates here (``yield from``); the figures land on the
item's stash (:mod:`pytest_greencode.keys`) and :mod:`pytest_greencode.records` makes them a record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from greencode.gate import declared_noise
from greencode.variation import pin_variation
from pytest_greencode.benchmark import BenchmarkEnergy
from pytest_greencode.keys import BENCHMARK_KEY, CALLS_KEY, PROFILE_KEY
from pytest_greencode.quiet import did_not_pass, quiet_rounds
from pytest_greencode.reruns import keep_for_reruns, ready_to_rerun

if TYPE_CHECKING:
    from greencode.config import Config
    from greencode.measurement import Measurement
    from pytest_greencode.markers import Plan
    from pytest_greencode.session import GreencodeRun

#: Rounds of a test's call when the ``rounds`` key is not set.
TEST_ROUNDS = 1


def first_rounds(settings: Config, meters: Iterable[object]) -> tuple[Config, int, bool]:
    """The settings a session measures with, how often a test's call runs, and whether the meters are
    deterministic.

    A deterministic meter gives the same figure every round, so one is enough unless ``rounds`` is set. A
    call runs once unless ``rounds`` is set, so a run costs about what a plain run costs; a comparing run
    then repeats only the tests whose verdict is still open (:mod:`greencode.repeat_plan`), up to the
    ``rounds`` default, within ``repeat_budget``."""
    deterministic = declared_noise(meters) is not None
    explicit = settings.origin("rounds") != "defaults"
    if deterministic and not explicit:
        settings = replace(settings, rounds=1)
    return settings, settings.rounds if explicit else TEST_ROUNDS, deterministic


def fixture_call(run: GreencodeRun, item: pytest.Item, plan: Plan) -> Generator[None, object, object]:
    """A test measured by its ``energy`` fixture: only a passing test keeps the fixture's profile."""
    try:
        result = yield
    except BaseException:
        if PROFILE_KEY in item.stash:
            del item.stash[PROFILE_KEY]
        raise
    if plan.budget is not None and PROFILE_KEY not in item.stash:
        run.warnings.append(
            f"{item.nodeid}: its energy budget was not checked: the test requests the energy "
            "fixture but never called it (call energy(fn, ...) on the work to budget)"
        )
    return result


def measured_call(run: GreencodeRun, item: pytest.Item, plan: Plan) -> Generator[None, object, object]:
    """A test's call in a window (or pytest-benchmark's rounds, each in its own), then, for a whole test,
    the extra rounds the repeat plan asks for; the rounds go to the item's stash."""
    glue = None
    if plan.mode == "benchmark":
        glue = BenchmarkEnergy(
            getattr(item, "funcargs", {}).get("benchmark"), lambda: run.open_window(item.nodeid)
        )
        if not glue.install():
            run.warnings.append(
                f"{item.nodeid}: this pytest-benchmark version cannot be hooked; measured "
                "the whole test instead of its rounds"
            )
            glue = None
    if run.pin_variation:
        pin_variation(item.nodeid)
    keep_for_reruns(item)
    recorder = run.open_window(item.nodeid)
    try:
        result = yield
    finally:
        if glue is not None:
            glue.uninstall()
    rounds = [recorder.stop()]
    if glue is not None and glue.rounds:
        item.stash[BENCHMARK_KEY] = glue
        glue.write_extra_info(run.estimated, run.selection.name)
        return result
    if did_not_pass(item):  # a unittest test that failed or skipped without raising: no figure
        return result
    if plan.mode == "test" and run.repeats.may_repeat(plan):
        more = run.repeats.more(item, plan, run.gate_settings, run.started)
        rounds.extend(extra_rounds(run, item, more, rounds))
    item.stash[CALLS_KEY] = rounds
    return result


def extra_rounds(
    run: GreencodeRun, item: pytest.Item, more: Callable[[list[Measurement]], int], first: list[Measurement]
) -> list[Measurement]:
    """Rounds after the first of the call, as many as ``more`` asks for given all rounds so far; pytest
    never hears of them (:mod:`pytest_greencode.quiet`): its outcome, counts, subtests, warnings and
    captured output are those of the first round."""
    rounds: list[Measurement] = []
    count, problem = more(first), None
    if count <= 0:
        return rounds
    planned = len(first) + count
    with run.extra_rounds, quiet_rounds(item) as quiet:
        while count > 0 and problem is None:
            started = time.perf_counter()
            ran = 0
            for _ in range(count):
                if run.pin_variation:
                    pin_variation(item.nodeid)
                ready_to_rerun(item)
                recorder = run.open_window(item.nodeid)
                try:
                    item.runtest()
                except (Exception, pytest.fail.Exception, pytest.skip.Exception) as exc:
                    problem = f"raised {type(exc).__name__}"
                    break
                rounds.append(recorder.stop())
                ran += 1
            run.repeats.budget.spend(time.perf_counter() - started, ran)
            count = 0 if problem else more([*first, *rounds])
            planned += count
    if quiet.subtest_failed:
        problem, rounds = "failed or skipped (the test itself or a subtest)", []
    if problem is not None:
        run.warnings.append(
            f"{item.nodeid}: round {len(first) + len(rounds) + 1} of {planned} {problem}; kept "
            f"{len(first) + len(rounds)} round(s). Mark it @pytest.mark.greencode(rounds=1) if it must "
            "not run twice."
        )
    return rounds
