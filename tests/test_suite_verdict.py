"""The whole suite's verdict: its total against the baseline's, with the gate's noise model."""

from __future__ import annotations

import math

import pytest
from gate_inputs import MACHINE, SETTINGS
from hypothesis import given
from hypothesis import strategies as st

from greencode.baselines import baseline_from_runs
from greencode.gate import GateSettings
from greencode.records import TestRecord, entry_from_record
from greencode.verdicts import ChangeEstimate, Noise, compare, judge, judge_suite

NOISE = Noise(0.08, math.inf, "default")

energies = st.floats(min_value=1e-6, max_value=1e3)
log_changes = st.floats(min_value=-2.0, max_value=2.0)
errors = st.floats(min_value=1e-4, max_value=1.0)


def record(node_id: str, joules: float, per: str = "test") -> TestRecord:
    return TestRecord(node_id, per, (joules,), 0.01, 0.01, "scripted", True)


def estimate(
    node_id: str, base_j: float, log_change: float, error: float = 0.08, per: str = "test"
) -> ChangeEstimate:
    entry = entry_from_record(record(node_id, base_j, per), None)
    current = record(node_id, base_j * math.exp(log_change), per)
    return ChangeEstimate(current, entry, NOISE, log_change, error)


@given(energies, log_changes, errors)
def test_a_suite_of_one_test_gets_that_tests_change_and_interval(
    base: float, change: float, error: float
) -> None:
    one = estimate("t.py::a", base, change, error)
    (test,) = judge([one], SETTINGS)
    suite = judge_suite([one], SETTINGS)
    assert suite.change == pytest.approx(test.change, rel=1e-9, abs=1e-12)
    assert suite.ci_low == pytest.approx(test.ci_low, rel=1e-9, abs=1e-12)
    assert suite.ci_high == pytest.approx(test.ci_high, rel=1e-9, abs=1e-12)
    assert suite.verdict == test.verdict
    assert suite.compared == 1


@given(st.lists(st.tuples(energies, log_changes, errors), min_size=1, max_size=20))
def test_the_suite_change_lies_between_its_tests_changes(tests: list[tuple[float, float, float]]) -> None:
    estimates = [estimate(f"t.py::{i}", b, c, e) for i, (b, c, e) in enumerate(tests)]
    suite = judge_suite(estimates, SETTINGS)
    assert suite.change is not None and suite.ci_low is not None and suite.ci_high is not None
    lowest, highest = min(math.expm1(c) for _, c, _ in tests), max(math.expm1(c) for _, c, _ in tests)
    assert lowest - 1e-9 <= suite.change <= highest + 1e-9
    assert suite.ci_low <= suite.change <= suite.ci_high


@given(st.lists(st.tuples(energies, log_changes), min_size=1, max_size=20), st.floats(1e-3, 1e3))
def test_the_unit_of_energy_does_not_change_the_suite_verdict(
    tests: list[tuple[float, float]], scale: float
) -> None:
    plain = judge_suite([estimate(f"t.py::{i}", b, c) for i, (b, c) in enumerate(tests)], SETTINGS)
    scaled = judge_suite([estimate(f"t.py::{i}", b * scale, c) for i, (b, c) in enumerate(tests)], SETTINGS)
    assert scaled.change == pytest.approx(plain.change, rel=1e-9, abs=1e-12)
    assert scaled.current_j == pytest.approx(plain.current_j * scale, rel=1e-9)  # type: ignore[operator]
    assert scaled.verdict == plain.verdict


@given(st.lists(energies, min_size=1, max_size=20), log_changes)
def test_tests_moving_together_move_the_total_by_the_same_factor(bases: list[float], change: float) -> None:
    suite = judge_suite([estimate(f"t.py::{i}", b, change) for i, b in enumerate(bases)], SETTINGS)
    assert suite.change == pytest.approx(math.expm1(change), rel=1e-9, abs=1e-12)
    assert suite.baseline_j == pytest.approx(math.fsum(bases), rel=1e-12)


def test_many_tests_do_not_make_the_total_more_certain_than_one() -> None:
    # a busier run is slower everywhere: the suite's error is its tests' weighted sum, not sum / sqrt(n)
    one = judge_suite([estimate("t.py::a", 1.0, 0.0)], SETTINGS)
    many = judge_suite([estimate(f"t.py::{i}", 1.0, 0.0) for i in range(100)], SETTINGS)
    assert many.ci_high == pytest.approx(one.ci_high)
    assert many.noise is not None and many.noise.cv == pytest.approx(NOISE.cv)


def test_a_regression_spread_over_many_tests_fails_the_suite_though_no_test_fails_alone() -> None:
    estimates = [estimate(f"t.py::{i}", 0.001, math.log(1.3)) for i in range(50)]
    assert {c.verdict for c in judge(estimates, SETTINGS)} == {"inconclusive"}
    suite = judge_suite(estimates, SETTINGS)
    assert suite.verdict == "regression"
    assert "more than 10.0%" in suite.reason and "adjusted" not in suite.reason


def test_a_suite_decrease_beyond_fail_on_is_an_improvement() -> None:
    assert judge_suite([estimate("t.py::a", 1.0, math.log(0.5), 0.01)], SETTINGS).verdict == "improvement"


def test_a_suite_change_within_min_effect_j_is_unchanged() -> None:
    settings = GateSettings(min_effect_j=0.5)
    suite = judge_suite([estimate(f"t.py::{i}", 0.1, math.log(2.0), 0.01) for i in range(4)], settings)
    assert suite.delta_j == pytest.approx(0.4)
    assert suite.verdict == "unchanged" and "min_effect_j" in suite.reason


def test_the_suite_names_the_tests_it_left_out() -> None:
    suite = judge_suite(
        [estimate("t.py::a", 1.0, 0.0), estimate("t.py::b", 1.0, 0.0, per="call")],
        SETTINGS,
        new=["t.py::new"],
        missing=["t.py::gone", "t.py::also_gone"],
        excluded=["t.py::zero"],
    )
    assert suite.compared == 1
    assert suite.new == ("t.py::new",)
    assert suite.missing == ("t.py::also_gone", "t.py::gone")
    assert suite.excluded == ("t.py::b", "t.py::zero")
    assert suite.line().endswith("left out: 1 new, 2 missing, 2 not comparable")


def test_a_suite_with_no_test_on_both_sides_is_inconclusive() -> None:
    suite = judge_suite([], SETTINGS, new=["t.py::a"])
    assert suite.verdict == "inconclusive" and suite.change is None
    assert suite.to_dict()["new"] == ["t.py::a"]


def test_a_suite_regression_fails_the_stored_baseline_gate() -> None:
    # 15 of 40 tests doubled, each by less than min_effect_j: no test regressed, the total did (+37.5 %);
    # fewer than half moved, so it is not the whole run's shift
    tests = [f"t.py::{i}" for i in range(40)]
    runs = [[record(t, 0.01 * factor) for t in tests] for factor in (1.0, 1.02, 0.98)]
    baseline = baseline_from_runs(runs, MACHINE, None)
    current = [record(t, 0.02 if i < 15 else 0.01) for i, t in enumerate(tests)] + [record("t.py::new", 1.0)]
    report = compare(current, baseline, GateSettings(min_effect_j=0.1))
    assert not report.regressions
    assert report.suite is not None and report.suite.verdict == "regression"
    assert report.suite.compared == 40 and report.suite.new == ("t.py::new",)
    assert report.failed and report.summary() == "FAILED: suite total energy regression"
    assert report.to_dict()["suite"]["verdict"] == "regression"


def test_a_uniform_rise_of_the_whole_suite_is_inconclusive_not_a_regression() -> None:
    # every test +50 % against pooled runs that hardly varied: a busier machine, or code they all share
    tests = [f"t.py::{i}" for i in range(40)]
    runs = [[record(t, 0.01 * factor) for t in tests] for factor in (1.0, 1.02, 0.98)]
    report = compare([record(t, 0.015) for t in tests], baseline_from_runs(runs, MACHINE, None), SETTINGS)
    assert report.suite is not None and report.suite.verdict == "inconclusive"
    assert "beyond the whole run's shift" in report.suite.reason and "greencode ab" in report.suite.reason
    assert not report.failed and report.summary() == "passed, 40 inconclusive (warning only)"


def test_an_unchanged_suite_passes_the_stored_baseline_gate() -> None:
    tests = [f"t.py::{i}" for i in range(10)]
    runs = [[record(t, 0.01 * factor) for t in tests] for factor in (1.0, 1.02, 0.98)]
    report = compare([record(t, 0.0101) for t in tests], baseline_from_runs(runs, MACHINE, None), SETTINGS)
    assert report.suite is not None and report.suite.verdict == "unchanged"
    assert not report.failed


def test_the_suites_noise_names_a_few_of_many_sources() -> None:
    estimates = [
        estimate(f"t.py::{i}", 1.0, 0.0)._replace(noise=Noise(0.05, 10, f"{i + 2} paired runs"))
        for i in range(5)
    ]
    noise = judge_suite(estimates, SETTINGS).noise
    assert (
        noise is not None and noise.source == "mixed: 2 paired runs; 3 paired runs; 4 paired runs and 2 more"
    )
    assert noise.df == 10 and noise.cv == pytest.approx(0.05)
