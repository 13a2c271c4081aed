"""The run's shift: a machine that moved every test alike is not a regression; one test that changed is."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from greencode.baselines import baseline_from_runs
from greencode.fingerprint import Fingerprint
from greencode.gate import GateSettings
from greencode.partial_runs import UNESTIMATED_SHIFT_SD, partial_shift
from greencode.records import TestRecord
from greencode.run_shift import MIN_UNITS, RunShift, run_shift
from greencode.verdicts import compare

MACHINE = Fingerprint("AMD EPYC", 2, "scripted", ("scripted",), True, hostname="ci-1")
SETTINGS = GateSettings()
TESTS = [f"t.py::test_{i}" for i in range(6)]


def record(node_id: str, joules: float) -> TestRecord:
    return TestRecord(node_id, "test", (joules,) * 3, 0.02, 0.02, "scripted", True)


# three saved runs that hardly varied: the gate's noise is small, so any move beyond fail_on stands out
BASELINE = baseline_from_runs(
    [[record(t, (i + 1) * 0.01 * f) for i, t in enumerate(TESTS)] for f in (1.0, 1.01, 0.99)], MACHINE, None
)


def test_one_unit_that_changed_does_not_move_the_shift() -> None:
    shift = run_shift([0.4, 0.4, 0.4, math.log(2.0) + 0.4])
    assert shift is not None and math.isclose(shift.change, math.expm1(0.4))


def test_a_run_that_did_not_move_has_no_shift() -> None:
    assert run_shift([0.01, -0.02, 0.0, math.log(2.0)]) is None


def test_too_few_units_have_no_shift() -> None:
    assert run_shift([0.5] * (MIN_UNITS - 1)) is None


@given(st.floats(0.2, 5.0), st.lists(st.floats(-0.02, 0.02), min_size=6, max_size=6))
def test_any_uniform_move_of_the_whole_run_is_never_a_regression(factor: float, jitter: list[float]) -> None:
    current = [
        record(t, (i + 1) * 0.01 * factor * math.exp(j))
        for i, (t, j) in enumerate(zip(TESTS, jitter, strict=True))
    ]
    report = compare(current, BASELINE, SETTINGS)
    assert not report.failed
    assert report.suite is not None and report.suite.verdict != "regression"


@given(st.floats(1.0, 5.0), st.sampled_from(TESTS))
def test_a_doubled_test_is_a_regression_however_much_slower_the_whole_run_got(
    factor: float, doubled: str
) -> None:
    current = [
        record(t, (i + 1) * 0.01 * factor * (2.0 if t == doubled else 1.0)) for i, t in enumerate(TESTS)
    ]
    report = compare(current, BASELINE, SETTINGS)
    assert [c.node_id for c in report.regressions] == [doubled]


@given(st.floats(1.3, 5.0))
def test_a_uniform_slowdown_stays_visible_as_inconclusive(factor: float) -> None:
    report = compare([record(t, (i + 1) * 0.01 * factor) for i, t in enumerate(TESTS)], BASELINE, SETTINGS)
    assert {c.verdict for c in report.comparisons} == {"inconclusive"}
    assert report.suite is not None and report.suite.verdict == "inconclusive"


def test_a_test_unchanged_while_the_others_got_faster_is_not_a_regression() -> None:
    current = [record(t, (i + 1) * 0.01 * (1.0 if i == 0 else 0.5)) for i, t in enumerate(TESTS)]
    report = compare(current, BASELINE, SETTINGS)
    assert report.comparisons[0].verdict == "unchanged" and not report.failed


def test_deterministic_meters_are_judged_without_the_shift() -> None:
    current = [record(t, (i + 1) * 0.02) for i, t in enumerate(TESTS)]
    report = compare(current, BASELINE, GateSettings(meter_noise=0.003))
    assert len(report.regressions) == len(TESTS)


def test_too_few_units_take_the_shift_from_the_tests_one_by_one() -> None:
    shift = run_shift([0.5, 0.5], tests=[0.5, 0.5, 0.5, 0.5])
    assert shift is not None and shift.basis == "tests" and shift.units == 4


def test_a_partial_runs_shift_is_not_shrunk_towards_zero() -> None:
    values = [0.3, 0.5, 0.7, 0.4, 0.6]
    shift = partial_shift(values, values)
    assert shift.log_change == 0.5 and shift.basis == "units"
    assert run_shift(values) is not None and run_shift(values).log_change < 0.5  # type: ignore[union-attr]


def test_a_partial_run_of_too_few_tests_assumes_a_shift_of_zero_with_a_wide_error() -> None:
    assert partial_shift([0.8], [0.8]) == RunShift(0.0, UNESTIMATED_SHIFT_SD, 1, "assumed")


PARTIAL = baseline_from_runs([[record(t, (i + 1) * 0.01) for i, t in enumerate(TESTS)]], MACHINE, None)


def moved(factor: float, part: int, jitter: list[float]) -> list[TestRecord]:
    return [record(t, (i + 1) * 0.01 * factor * math.exp(jitter[i])) for i, t in enumerate(TESTS[:part])]


@given(
    st.floats(0.4, 2.5),
    st.integers(MIN_UNITS, 5),
    st.lists(st.floats(-0.1, 0.1), min_size=5, max_size=5),
)
def test_any_uniform_move_of_part_of_the_suite_is_never_a_regression(
    factor: float, part: int, jitter: list[float]
) -> None:
    assert not compare(moved(factor, part, jitter), PARTIAL, SETTINGS).failed


# the assumed shift's documented reach (greencode.partial_runs): a reading up to 2.4 times its baseline
@given(
    st.floats(0.4, 2.4 / math.exp(0.1)),
    st.integers(1, MIN_UNITS - 1),
    st.lists(st.floats(-0.1, 0.1), min_size=5, max_size=5),
)
def test_a_move_of_too_few_tests_to_estimate_a_shift_is_no_regression_up_to_2_4_times(
    factor: float, part: int, jitter: list[float]
) -> None:
    assert not compare(moved(factor, part, jitter), PARTIAL, SETTINGS).failed


def test_a_single_test_read_2_8_times_its_baseline_is_beyond_the_assumed_shift() -> None:
    assert compare(moved(2.5, 1, [0.1] * 5), PARTIAL, SETTINGS).failed


@given(st.floats(1.0, 2.5), st.integers(3, 5))
def test_a_doubled_test_of_a_partial_run_is_a_regression_beyond_its_shift(factor: float, part: int) -> None:
    current = [
        record(t, (i + 1) * 0.01 * factor * (2.0 if i == 0 else 1.0)) for i, t in enumerate(TESTS[:part])
    ]
    report = compare(current, PARTIAL, SETTINGS)
    assert [c.node_id for c in report.regressions] == [TESTS[0]]


def one_of_many_moved(tests: int, factor: float, others: float) -> str:
    """The reason given for the last of ``tests`` tests, read ``factor`` times its baseline of one saved run
    while every other test read ``others`` times (the run's shift)."""
    names = [f"t.py::test_{i:03}" for i in range(tests)]
    saved = baseline_from_runs([[record(n, 1.0) for n in names]], MACHINE, None)
    now = [record(n, others) for n in names[:-1]] + [record(names[-1], factor)]
    (last,) = [c for c in compare(now, saved, SETTINGS).comparisons if c.node_id == names[-1]]
    assert last.verdict == "inconclusive"
    return last.reason


def test_a_change_small_beyond_the_shift_says_only_that_much() -> None:
    # -53 % against the baseline, shown, but only -6 % beyond the run's -50 %: "only" is what to hear
    assert "but only -6.0% beyond the whole run's shift (-50.0%)" in one_of_many_moved(10, 0.47, 0.5)


def test_a_change_large_beyond_the_shift_but_not_shown_is_not_called_only() -> None:
    # -60 % against the baseline and -50 % beyond the shift, not shown at Holm's level over 30 tests
    reason = one_of_many_moved(30, 0.4, 0.8)
    assert "-50.0% beyond the whole run's shift (-20.0%), not shown at the adjusted level" in reason
    assert "only" not in reason
