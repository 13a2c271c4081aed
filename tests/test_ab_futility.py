"""Futility in ``greencode ab``: rows that the pairs still affordable could not decide stop measuring and stay
undecided (greencode.futility, greencode.ab.hopeless and the measuring loop)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.ab import (
    TOTAL_ROW,
    AbOptions,
    Adaptive,
    Looks,
    Scope,
    _Collected,
    affordable_pairs,
    affordable_rows,
    by_promise,
    hopeless,
    measure_adaptively,
)
from greencode.futility import could_decide, narrowed
from greencode.gate import GateReport, GateSettings
from greencode.records import TestRecord
from greencode.verdicts import Comparison, SuiteVerdict

SETTINGS = GateSettings(fail_on=0.10, min_effect_j=0.0)


def decidable(low: float, high: float, pairs: int = 4, reachable: int = 16, **rest: float) -> bool:
    return could_decide(
        low,
        high,
        fail_on=0.10,
        pairs=pairs,
        reachable=reachable,
        confidence=0.9,
        **rest,
    )


def test_a_change_far_above_fail_on_can_be_decided_by_more_pairs() -> None:
    assert decidable(0.05, 1.4)  # +80 % or so, the interval still reaching below fail_on


def test_a_change_right_at_fail_on_can_never_be_decided() -> None:
    centre = math.log1p(0.10)
    low, high = math.expm1(centre - 0.1), math.expm1(centre + 0.1)
    assert not decidable(low, high, reachable=1000)


def test_an_unchanged_test_whose_pairs_differ_by_tens_of_percent_cannot_be_decided_in_16_pairs() -> None:
    assert not decidable(-0.3, 0.4)
    assert decidable(-0.3, 0.4, reachable=400)


def test_without_pairs_left_nothing_can_be_decided() -> None:
    assert not decidable(0.5, 0.9, pairs=6, reachable=6)


def test_a_change_below_the_floor_in_joules_is_decided_whatever_its_interval() -> None:
    assert not decidable(-0.3, 0.4, baseline_j=1.0, min_effect_j=0.01)
    assert decidable(-0.3, 0.4, baseline_j=0.01, min_effect_j=0.01)


@given(
    st.floats(0.0, 2.0), st.integers(2, 40), st.integers(0, 200), st.integers(0, 200), st.floats(0.5, 0.99)
)
def test_more_pairs_never_widen_the_projected_interval(
    half: float, pairs: int, more: int, even_more: int, confidence: float
) -> None:
    near = narrowed(half, pairs, pairs + more, confidence)
    far = narrowed(half, pairs, pairs + more + even_more, confidence)
    assert 0.0 <= far <= near + 1e-12 and near <= half + 1e-12


@given(
    st.floats(-0.9, 3.0), st.floats(0.0, 2.0), st.integers(2, 30), st.integers(1, 100), st.integers(0, 100)
)
def test_a_row_decidable_with_some_pairs_stays_decidable_with_more(
    centre: float, half: float, pairs: int, more: int, even_more: int
) -> None:
    low, high = math.expm1(centre - half), math.expm1(centre + half)
    if decidable(low, high, pairs=pairs, reachable=pairs + more):
        assert decidable(low, high, pairs=pairs, reachable=pairs + more + even_more)


@given(st.floats(-0.5, 0.09), st.floats(0.0, 0.5), st.integers(2, 30), st.integers(1, 100))
def test_an_interval_already_clear_of_fail_on_is_decidable(
    high: float, width: float, pairs: int, more: int
) -> None:
    assert decidable(high - width, high, pairs=pairs, reachable=pairs + more)


def rows(*rows: tuple[str, float, float]) -> GateReport:
    """Rows of (node id, lower and upper end of the interval), a TOTAL_ROW one the suite total."""
    comparisons = tuple(
        Comparison(n, "unchanged", "", "test", baseline_j=1.0, ci_low=low, ci_high=high)
        for n, low, high in rows
        if n != TOTAL_ROW
    )
    total = [
        SuiteVerdict("unchanged", "", baseline_j=1.0, ci_low=low, ci_high=high)
        for n, low, high in rows
        if n == TOTAL_ROW
    ]
    return GateReport(SETTINGS, comparisons, suite=total[0] if total else None)


def test_hopeless_names_the_rows_and_the_total_that_more_pairs_could_not_decide() -> None:
    report = rows(("near", -0.3, 0.4), ("far", 0.05, 1.4), (TOTAL_ROW, -0.3, 0.4))
    scope = Scope(pairs={"near": 4, "far": 4, TOTAL_ROW: 4})
    assert hopeless(report, {"near", "far", TOTAL_ROW}, SETTINGS, scope, 12) == {"near", TOTAL_ROW}


def test_a_row_whose_pairs_are_not_known_is_never_given_up() -> None:
    report = rows(("near", -0.3, 0.4))
    assert hopeless(report, {"near"}, SETTINGS, Scope(), 12) == set()


def loop(report: GateReport, **options: float) -> tuple[list[frozenset[str] | None], Adaptive]:
    asked: list[frozenset[str] | None] = []

    def run_pair(index: int, active: frozenset[str] | None) -> float:
        asked.append(active)
        return 1.0

    def scope() -> Scope:
        return Scope(pairs=dict.fromkeys(("near", "far"), len(asked)))

    settings: dict[str, float] = {"max_cost": 100.0, **options}
    outcome = measure_adaptively(
        run_pair,
        lambda alpha: report,
        SETTINGS,
        AbOptions(**settings),
        scope=scope,
        run_s=lambda: 1.0,
    )
    return asked, outcome


def test_a_test_more_pairs_could_not_decide_stops_measuring_and_stays_undecided() -> None:
    asked, outcome = loop(rows(("near", -0.3, 0.4), ("far", 0.05, 1.4)))

    # "far" gets pairs until the fixed interval, which never shrinks here, becomes hopeless too
    assert asked[:4] == [None] * 4 and set(asked[4:]) == {frozenset({"far"})}
    assert outcome.undecided == frozenset({"near", "far"})


def test_measuring_stops_when_no_undecided_row_could_be_decided() -> None:
    asked, outcome = loop(rows(("near", -0.3, 0.4)))

    assert len(asked) == 4
    assert outcome.stopped == "more pairs could not decide 1 test within the budget"
    (near,) = outcome.report.comparisons
    assert near.verdict == "inconclusive"


def test_the_pairs_the_budget_leaves_decide_what_is_hopeless() -> None:
    # decidable in 16 pairs, not in the 10 that 10 runs of 1 s allow after 4 pairs of 1 s
    report = rows(("near", -0.0195, 0.4627))
    assert hopeless(report, {"near"}, SETTINGS, Scope(pairs={"near": 4}), 12) == set()
    asked, outcome = loop(report, max_cost=10.0)
    assert len(asked) == 4 and outcome.stopped.startswith("more pairs could not")


def test_affordable_pairs_are_whole_batches_within_both_budgets() -> None:
    options = AbOptions(max_cost=10.0, time_budget_s=900.0)
    assert affordable_pairs(4.0, 2.0, 1.0, options) == 6  # 6 s left, a batch of 2 pairs costs 2 s
    assert affordable_pairs(5.0, 2.0, 1.0, options) == 4
    assert affordable_pairs(11.0, 2.0, 1.0, options) == 0
    assert affordable_pairs(4.0, 2.0, 1.0, AbOptions(max_cost=100.0, time_budget_s=8.0)) == 4


def tight_budget(
    time_share: Callable[[frozenset[str]], float] | None,
) -> tuple[list[frozenset[str] | None], Adaptive]:
    """An undecided test and total, 19.6 s to spend: 10 s for the first pair, 2 s for one of every test,
    0.2 s for one of the test alone."""
    report = rows(("far", 0.05, 1.4), (TOTAL_ROW, 0.05, 1.4))
    asked: list[frozenset[str] | None] = []

    def run_pair(index: int, active: frozenset[str] | None) -> float:
        asked.append(active)
        return 10.0 if index == 0 else 2.0 if active is None else 0.2

    outcome = measure_adaptively(
        run_pair,
        lambda alpha: report,
        SETTINGS,
        AbOptions(max_cost=4.9, max_pairs=6),
        scope=lambda: Scope(suite=True, pairs=dict.fromkeys(("far", TOTAL_ROW), len(asked))),
        run_s=lambda: 4.0,
        time_share=time_share,
    )
    return asked, outcome


def test_when_pairs_of_every_test_no_longer_fit_the_undecided_tests_still_get_theirs() -> None:
    asked, outcome = tight_budget(lambda tests: 0.1)

    # 4 pairs cost 16 s of 19.6; 2 more of every test would cost 4 s, 2 more of "far" alone 0.4 s
    assert asked == [None] * 4 + [frozenset({"far"})] * 2
    assert TOTAL_ROW in outcome.undecided


def test_without_the_tests_shares_a_batch_costs_what_the_last_one_did() -> None:
    asked, outcome = tight_budget(None)

    assert len(asked) == 4 and outcome.stopped.startswith("--max-cost 4.9 reached")


def test_a_tests_share_of_a_pass_is_its_time_or_its_number_whichever_is_larger() -> None:
    collected = _Collected()
    for node, wall in (("big", 0.7), ("a", 0.1), ("b", 0.1), ("c", 0.1)):
        run = TestRecord(node, "test", (1.0,), wall, wall, "estimate", True)
        collected.pairs[node] = [(index, run, run, bool(index % 2)) for index in range(4)]
    looks = Looks(collected, SETTINGS)

    assert looks.time_share(frozenset({"big"})) == pytest.approx(0.7)
    assert looks.time_share(frozenset({"a"})) == pytest.approx(0.25)  # 1 of 4 tests
    assert looks.time_share(frozenset({"big", "a"})) == pytest.approx(0.8)


def test_a_tests_share_is_worked_out_again_after_more_runs() -> None:
    collected = _Collected()
    for node, wall in (("a", 0.5), ("b", 0.5)):
        run = TestRecord(node, "test", (1.0,), wall, wall, "estimate", True)
        collected.pairs[node] = [(0, run, run, False)]
    looks = Looks(collected, SETTINGS)
    assert looks.time_share(frozenset({"a"})) == pytest.approx(0.5)

    slower = TestRecord("a", "test", (1.0,), 2.5, 2.5, "estimate", True)
    collected.pairs["a"] += [(1, slower, slower, True), (2, slower, slower, False)]

    assert looks.time_share(frozenset({"a"})) == pytest.approx(2.5 / 3.0)


def leaning(node: str, change: float, low: float, high: float, baseline_j: float) -> Comparison:
    return Comparison(
        node, "inconclusive", "", "test", baseline_j=baseline_j, change=change, ci_low=low, ci_high=high
    )


def test_the_budget_goes_first_to_tests_whose_change_is_above_fail_on_then_to_the_largest() -> None:
    report = GateReport(
        SETTINGS,
        (
            leaning("big", 0.03, -0.2, 0.3, 10.0),
            leaning("bigger", 0.05, -0.2, 0.3, 20.0),
            leaning("slow", 0.7, 0.05, 1.4, 0.2),
            leaning("slower", 0.5, 0.05, 1.4, 0.5),
        ),
    )
    assert by_promise({"big", "bigger", "slow", "slower"}, report, SETTINGS) == [
        "slower",
        "slow",
        "bigger",
        "big",
    ]


def test_a_batch_takes_each_row_that_still_fits_beside_those_taken_before_it() -> None:
    shares = {"a": 0.5, "b": 0.4, "c": 0.2}

    def cost_of(rows: object) -> float:
        return 10.0 * sum(shares[row] for row in rows)  # type: ignore[attr-defined]

    # 7 s left: "a" (5 s) fits, "b" beside it (9 s) does not, "c" beside it (7 s) does
    taken = affordable_rows(["a", "b", "c"], 3.0, cost_of, 1.0, AbOptions(max_cost=10.0))
    assert taken == frozenset({"a", "c"})


def test_a_budget_too_small_for_every_undecided_test_goes_to_the_one_leaning_to_a_regression() -> None:
    """A large test hovering below fail_on and a small one well above it, both undecided after 4 pairs: the
    two together no longer fit the 3.6 s left, the small one alone does, and more pairs could decide it."""
    report = GateReport(
        SETTINGS, (leaning("big", 0.03, -0.2, 0.3, 10.0), leaning("slow", 0.7, 0.05, 1.4, 0.2))
    )
    shares = {"big": 0.95, "slow": 0.02}
    asked: list[frozenset[str] | None] = []
    said: list[str] = []

    def run_pair(index: int, active: frozenset[str] | None) -> float:
        asked.append(active)
        if index == 0:
            return 10.0
        return 2.0 if active is None else 2.0 * sum(shares[n] for n in active)

    outcome = measure_adaptively(
        run_pair,
        lambda alpha: report,
        SETTINGS,
        AbOptions(max_cost=4.9, max_pairs=6),
        said.append,
        scope=lambda: Scope(pairs=dict.fromkeys(shares, len(asked))),
        run_s=lambda: 4.0,
        time_share=lambda tests: sum(shares[n] for n in tests),
    )

    assert asked == [None] * 4 + [frozenset({"slow"})] * 2
    assert "1 test no longer fit the budget" in said[0]
    assert outcome.undecided == frozenset({"big", "slow"})
