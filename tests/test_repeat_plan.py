"""The repeat plan: which tests get more rounds when comparing, how many, and what the budget allows."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from greencode.gate import DEFAULT_RUN_CV, GateSettings
from greencode.repeat_plan import (
    BATCH_ROUNDS,
    MIN_CONFIRM_ROUNDS,
    RepeatBudget,
    final_alpha,
    look_of,
    looks,
    next_step,
    save_step,
)
from greencode.small_tests import sizing
from greencode.stats import look_alpha
from greencode.store import Fingerprint, TestRecord, baseline_from_runs
from greencode.verdicts import Noise

MACHINE = Fingerprint("AMD EPYC", 2, "scripted", ("scripted",), True)
SETTINGS = GateSettings()
NOISE = Noise(DEFAULT_RUN_CV, math.inf, "default")
BIG, TINY = "t.py::test_big", "t.py::test_tiny"


def record(node_id: str, *samples: float, wall_s: float = 0.1) -> TestRecord:
    return TestRecord(node_id, "test", samples, wall_s, wall_s, "scripted", True)


BASELINE = baseline_from_runs([[record(BIG, 1.0), record(TINY, 1e-4, wall_s=5e-5)]], MACHINE, None)
SIZES = sizing(BASELINE, 1e-4)


def step(*samples: float, node_id: str = BIG, max_rounds: int = 5, wall_s: float = 0.1) -> tuple[str, int]:
    result = next_step(
        record(node_id, *samples, wall_s=wall_s),
        BASELINE.entries[node_id],
        NOISE,
        SETTINGS,
        SIZES,
        max_rounds,
    )
    return result.decision, result.rounds


def test_a_first_reading_within_fail_on_is_decided_at_once() -> None:
    assert step(1.04) == ("decided", 0)


def test_a_first_reading_beyond_fail_on_runs_to_the_confirming_rounds() -> None:
    assert step(1.6) == ("open", MIN_CONFIRM_ROUNDS - 1)
    assert step(0.5) == ("open", MIN_CONFIRM_ROUNDS - 1)  # an improvement is a verdict too


def test_a_confirmed_change_is_decided() -> None:
    assert step(2.0, 2.01, 1.99) == ("decided", 0)


def test_rounds_more_spread_than_the_run_to_run_noise_get_another_batch() -> None:
    assert step(1.3, 0.7, 2.0) == ("open", BATCH_ROUNDS)


def test_no_test_runs_past_max_rounds() -> None:
    assert step(1.3, 0.7, 2.0, 1.5) == ("open", 1)
    assert step(1.3, 0.7, 2.0, 1.5, 0.6) == ("decided", 0)


def test_a_small_test_never_repeats_however_its_reading_looks() -> None:
    assert step(5e-4, node_id=TINY, wall_s=6e-5) == ("small", 0)


def test_a_test_without_baseline_entry_is_decided() -> None:
    result = next_step(record("t.py::new", 9.0), None, None, SETTINGS, SIZES, 5)
    assert (result.decision, result.rounds) == ("decided", 0)


@given(st.integers(1, 200))
def test_each_look_follows_a_batch_and_the_last_is_at_max_rounds(max_rounds: int) -> None:
    assert look_of(1) == 1
    assert look_of(max_rounds) == looks(max_rounds)
    assert all(look_of(r) <= look_of(r + 1) <= look_of(r) + 1 for r in range(1, max_rounds))


@given(st.floats(1e-6, 0.49), st.integers(1, 50), st.integers(1, 50))
def test_the_looks_and_the_final_level_never_spend_more_than_alpha(alpha: float, ran: int, top: int) -> None:
    ran = min(ran, top)
    spent = sum(look_alpha(alpha, look, looks(top)) for look in range(1, look_of(ran)))
    final = final_alpha(alpha, ran, top)
    assert 0 < final <= alpha
    assert spent + final <= alpha * (1 + 1e-12)


def test_the_final_level_is_all_of_alpha_when_nothing_repeated() -> None:
    assert final_alpha(0.05, 1, 5) == 0.05


def test_the_budget_is_a_share_of_the_first_pass_so_far_or_as_expected() -> None:
    budget = RepeatBudget(0.5, expected_s=10.0)
    assert budget.allows(5.0, elapsed_s=1.0)  # the baseline says the first pass takes 10 s
    assert not budget.allows(5.1, elapsed_s=1.0)
    budget.spend(4.0, rounds=8)
    assert budget.allows(1.0, elapsed_s=5.0) and not budget.allows(1.1, elapsed_s=5.0)
    assert budget.allows(6.0, elapsed_s=24.0)  # 20 s of first pass so far: 10 s of extra rounds
    assert (budget.rounds, budget.refused) == (8, 2)


@given(st.floats(0, 10), st.floats(0, 100), st.lists(st.floats(0, 5), max_size=30))
def test_extra_time_never_exceeds_the_share_of_the_first_pass(
    share: float, expected: float, costs: list[float]
) -> None:
    budget = RepeatBudget(share, expected)
    elapsed = 0.0
    for cost in costs:
        elapsed += 1.0  # a test's first round
        if budget.allows(cost, elapsed + budget.spent_s):
            budget.spend(cost, 1)
    assert budget.spent_s <= share * max(elapsed, expected) + 1e-9


def test_a_saving_run_without_a_baseline_repeats_a_test_of_10_ms_of_cpu_to_confirming_rounds() -> None:
    step = save_step(record(BIG, 1.0, wall_s=0.01), None, None)
    assert (step.decision, step.rounds) == ("open", MIN_CONFIRM_ROUNDS - 1)


def test_a_saving_run_keeps_one_reading_of_a_short_test() -> None:
    assert save_step(record(BIG, 1.0, wall_s=0.002), None, None).decision == "small"


def test_a_saving_run_with_a_baseline_repeats_the_tests_it_judges_alone_only() -> None:
    assert save_step(record(BIG, 1.0), BASELINE.entries[BIG], SIZES).decision == "open"
    tiny = record(TINY, 1e-4, wall_s=5e-5)
    assert save_step(tiny, BASELINE.entries[TINY], SIZES).decision == "small"


def test_a_saving_run_stops_at_the_confirming_rounds() -> None:
    assert save_step(record(BIG, 1.0, 1.0, 1.0), None, None).decision == "decided"
