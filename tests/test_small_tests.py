"""Small tests judged together per file: who is judged alone, the groups' sums and their verdicts."""

from __future__ import annotations

import math
import random

from gate_inputs import MACHINE, SETTINGS
from hypothesis import given
from hypothesis import strategies as st

from greencode.gate import GateSettings
from greencode.grouped_gate import compare_grouped
from greencode.judging import MIN_JITTER_S, Judging, jitter_s
from greencode.small_tests import MEMBER_CAP, sizing, sort_for_judging
from greencode.store import Baseline, TestRecord, baseline_from_runs
from greencode.verdicts import estimate_noise
from greencode.weighing import CARRY_SHARE, RESOLUTION_WINDOWS

JITTER = 1e-4  # the estimator's: judged alone from 1 ms


def record(node_id: str, joules: float, wall_s: float, rounds: int = 1) -> TestRecord:
    return TestRecord(node_id, "test", (joules,) * rounds, wall_s, wall_s, "scripted", True)


def baseline(*records: TestRecord) -> Baseline:
    return baseline_from_runs([list(records)], MACHINE, None)


# a suite like a real one: two large tests and many tiny ones spread over two files
LARGE = [record("tests/test_a.py::test_big", 1.0, 0.5), record("tests/test_b.py::test_big", 0.5, 0.25)]
# 800 µs windows: short of the 1 ms needed to be judged alone; a file's sum still tells a doubling
TINY = [record(f"tests/test_{f}.py::test_tiny_{i}", 1e-4, 8e-4) for f in "ab" for i in range(60)]
SUITE = baseline(*LARGE, *TINY)


def test_the_largest_tests_carrying_most_of_the_energy_are_judged_alone() -> None:
    sizes = sizing(SUITE, JITTER)
    assert sizes.large == {"tests/test_a.py::test_big", "tests/test_b.py::test_big"}
    assert math.isclose(sizes.suite_j, 1.5 + 120 * 1e-4)


def test_without_pooled_runs_a_short_window_gets_the_jitter_as_noise() -> None:
    noise = estimate_noise(SUITE, 0.08, jitter_s=JITTER)
    assert noise["tests/test_a.py::test_big"].cv < 0.081  # 500 ms: the run-to-run default
    assert math.isclose(noise["tests/test_a.py::test_tiny_0"].cv, math.hypot(0.08, JITTER / 8e-4))


def test_a_test_near_the_meters_resolution_is_never_judged_alone_however_large() -> None:
    short = baseline(record("t.py::short", 5.0, RESOLUTION_WINDOWS * JITTER / 2), record("t.py::x", 1.0, 1.0))
    groups = sort_for_judging(
        [record("t.py::short", 5.0, 1e-4), record("t.py::x", 1.0, 1.0)], short, sizing(short, JITTER)
    )
    assert groups.alone == {"t.py::x"} and groups.members == {"t.py::[small tests]": ("t.py::short",)}


def test_a_small_test_that_grew_into_the_share_is_judged_alone_after_confirming_rounds() -> None:
    once = record("tests/test_a.py::test_tiny_0", 2.0, 0.5)
    assert once.node_id not in sort_for_judging([*LARGE, once], SUITE, sizing(SUITE, JITTER)).alone
    confirmed = record("tests/test_a.py::test_tiny_0", 2.0, 0.5, rounds=3)
    assert confirmed.node_id in sort_for_judging([*LARGE, confirmed], SUITE, sizing(SUITE, JITTER)).alone


def test_min_effect_makes_every_test_whose_doubling_would_count_matter() -> None:
    tiny = record("tests/test_a.py::test_tiny_0", 1e-4, 2e-3)  # measurable, far outside the share
    assert not sizing(baseline(*LARGE, tiny), JITTER).alone(baseline(tiny).entries[tiny.node_id])
    assert sizing(baseline(*LARGE, tiny), JITTER, min_effect_j=5e-5).alone(
        baseline(tiny).entries[tiny.node_id]
    )


def test_a_deterministic_meter_has_no_jitter_and_others_at_least_the_floor() -> None:
    class Counting:
        run_to_run_noise = 0.003
        resolution_s = 1e-6

    class Clock:
        resolution_s = 1e-9

    class Rapl:
        resolution_s = 1e-3

    assert jitter_s([Counting()]) == 0.0
    assert jitter_s([Clock()]) == MIN_JITTER_S
    assert jitter_s([Clock(), Rapl()]) == 1e-3


@given(st.lists(st.floats(1e-6, 10.0), min_size=1, max_size=40))
def test_the_tests_judged_alone_carry_the_share_and_no_smaller_one_is_among_them(
    energies: list[float],
) -> None:
    base = baseline(*(record(f"t.py::test_{i}", e, 1.0) for i, e in enumerate(energies)))
    sizes = sizing(base, 0.0)
    carried = math.fsum(base.entries[n].centre_j for n in sizes.large)
    assert carried >= CARRY_SHARE * sizes.suite_j * (1 - 1e-9)
    smallest_large = min(base.entries[n].centre_j for n in sizes.large)
    others = [e.centre_j for n, e in base.entries.items() if n not in sizes.large]
    assert all(energy <= smallest_large for energy in others)


@given(st.floats(1e-3, 1e3))
def test_a_members_reading_counts_within_the_cap_of_its_baseline(factor: float) -> None:
    members = [
        record(f"tests/test_a.py::test_tiny_{i}", 1e-4 * (factor if i == 0 else 1.0), 8e-4) for i in range(60)
    ]
    groups = sort_for_judging([*LARGE, *members], SUITE, sizing(SUITE, JITTER))
    current, _ = groups.pairs["tests/test_a.py::[small tests]"]
    counted = current.median_j - 59 * 1e-4
    assert 1e-4 / MEMBER_CAP * (1 - 1e-9) <= counted <= 1e-4 * MEMBER_CAP * (1 + 1e-9)


def unchanged_run(rng: random.Random, scale: float = 1.0, spike: bool = False) -> list[TestRecord]:
    """The suite again, each reading off by noise; with ``spike`` one tiny test's window caught a pause."""
    run = [record(r.node_id, r.median_j * math.exp(rng.gauss(0, 0.05)), r.wall_s) for r in LARGE]
    for index, tiny in enumerate(TINY):
        noise = math.exp(rng.gauss(0, 0.4))  # one reading of a 50 µs test moves a lot
        factor = 40.0 if spike and index == 0 else scale
        run.append(record(tiny.node_id, tiny.median_j * noise * factor, tiny.wall_s))
    return run


def test_noisy_tiny_tests_and_a_spike_never_fail_the_gate() -> None:
    for seed in range(30):
        report = compare_grouped(
            unchanged_run(random.Random(seed), spike=True),
            SUITE,
            SETTINGS,
            Judging(JITTER),
            fingerprint=MACHINE,
        )
        assert not report.failed, (seed, [c.reason for c in report.regressions])


def test_a_regression_spread_over_a_files_tiny_tests_fails_as_that_file() -> None:
    # three times the work: against one saved run the file's sum carries the default noise and the jitter
    run = unchanged_run(random.Random(1))
    run = [
        record(r.node_id, r.median_j * 3.0, r.wall_s) if "test_b.py::test_tiny" in r.node_id else r
        for r in run
    ]
    report = compare_grouped(run, SUITE, SETTINGS, Judging(JITTER), fingerprint=MACHINE)
    assert [c.node_id for c in report.regressions] == ["tests/test_b.py::[small tests]"]
    assert report.failed


def test_each_small_test_keeps_its_figures_with_its_groups_verdict() -> None:
    report = compare_grouped(
        unchanged_run(random.Random(2)), SUITE, SETTINGS, Judging(JITTER), fingerprint=MACHINE
    )
    tiny = next(c for c in report.comparisons if c.node_id == "tests/test_a.py::test_tiny_3")
    assert tiny.verdict == "grouped" and tiny.change is not None
    assert "judged with its file's 60 small tests (tests/test_a.py::[small tests]): unchanged" in tiny.reason


def test_a_regression_of_a_test_judged_alone_needs_the_confirming_rounds() -> None:
    run = [record("tests/test_a.py::test_big", 3.0, 0.5), *LARGE[1:], *TINY]
    short = compare_grouped(run, SUITE, SETTINGS, Judging(JITTER, min_rounds=3), fingerprint=MACHINE)
    assert [c.verdict for c in short.comparisons if c.node_id.endswith("test_a.py::test_big")] == [
        "inconclusive"
    ]
    run[0] = record("tests/test_a.py::test_big", 3.0, 0.5, rounds=3)
    confirmed = compare_grouped(run, SUITE, SETTINGS, Judging(JITTER, min_rounds=3), fingerprint=MACHINE)
    assert [c.node_id for c in confirmed.regressions] == ["tests/test_a.py::test_big"]


def test_a_files_small_tests_near_the_resolution_together_are_left_out_and_named_so() -> None:
    short = [record(f"tests/test_a.py::test_short_{i}", 1e-4, 5e-5) for i in range(3)]
    few = baseline(*LARGE, *short)
    report = compare_grouped([*LARGE, *short], few, SETTINGS, Judging(JITTER), fingerprint=MACHINE)
    assert not any(c.node_id.endswith("[small tests]") for c in report.comparisons)
    assert "left out of every verdict" in next(c for c in report.comparisons if c.verdict == "grouped").reason
    assert report.suite is not None and report.suite.unresolved == tuple(r.node_id for r in short)
    assert report.suite.line().endswith("; left out: 3 near the meter's resolution")


def test_the_suite_line_counts_tests_judged_alone_and_in_file_groups() -> None:
    report = compare_grouped(
        unchanged_run(random.Random(1)), SUITE, SETTINGS, Judging(JITTER), fingerprint=MACHINE
    )
    assert report.suite is not None
    assert report.suite.line().startswith(
        "suite total: unchanged over 122 tests (2 judged alone, 120 in 2 file groups), "
    )
    assert (report.suite.compared, report.suite.grouped, report.suite.file_groups) == (122, 120, 2)


def test_the_total_budget_counts_every_test_as_measured_not_the_groups_capped_sums() -> None:
    run = [*LARGE, record("tests/test_a.py::test_tiny_0", 0.5, 8e-4), *TINY[1:]]  # 5000 times its baseline
    budgeted = GateSettings(total_budget_j=1.9)
    report = compare_grouped(run, SUITE, budgeted, Judging(JITTER), fingerprint=MACHINE)
    assert report.total_budget is not None and report.total_budget.over
