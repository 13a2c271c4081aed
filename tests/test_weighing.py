"""The one rule for tests too small to judge alone (greencode.weighing), as both gates apply it."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from greencode.judging import MIN_JITTER_S
from greencode.small_tests import sizing, sort_for_judging
from greencode.store import Fingerprint, TestRecord, baseline_from_runs
from greencode.weighing import (
    CARRIER_SHARE,
    CARRY_SHARE,
    RESOLUTION_WINDOWS,
    Size,
    file_of,
    weigh,
)

BIG = Size(1.0, 0.5)
#: the shortest window judged alone with the estimator's jitter floor: 1 ms
MEASURABLE_S = RESOLUTION_WINDOWS * MIN_JITTER_S


def test_a_test_with_a_negligible_share_of_the_suites_energy_is_judged_together() -> None:
    weighing = weigh({"a.py::big": BIG, "a.py::tiny": Size(0.001, 0.5)})
    assert weighing.alone == {"a.py::big"}
    assert weighing.weights["a.py::tiny"].why == "0.1% of the suite's energy"


def test_a_window_near_the_meters_resolution_is_judged_together_whatever_its_share() -> None:
    weighing = weigh({"a.py::x": BIG, "a.py::short": Size(1.0, MEASURABLE_S / 2)})
    assert weighing.together == {"a.py::short"}
    assert "near the meter's resolution" in weighing.weights["a.py::short"].why


def test_a_test_carrying_a_few_per_cent_is_judged_alone_outside_the_largest_tests() -> None:
    # the three large tests carry 96 %: the 2 % test is not among them, yet its change is worth naming
    sizes = {f"a.py::big{i}": Size(0.32, 0.5) for i in range(3)} | {"a.py::two": Size(0.02, 0.5)}
    sizes |= {f"a.py::tiny{i}": Size(0.001, 0.5) for i in range(20)}
    weighing = weigh(sizes)
    assert "a.py::two" in weighing.alone
    assert weighing.weights["a.py::two"].share > CARRIER_SHARE


def test_in_a_flat_suite_the_tests_carrying_most_of_the_energy_are_judged_alone_below_the_share() -> None:
    weighing = weigh({f"a.py::t{i}": Size(1.0, 0.5) for i in range(200)})
    assert len(weighing.alone) >= CARRY_SHARE * 200


def test_with_min_effect_j_a_test_using_more_than_it_is_judged_alone() -> None:
    sizes = {"a.py::x": BIG, "a.py::y": Size(0.005, 0.5)}
    assert weigh(sizes).together == {"a.py::y"}
    assert weigh(sizes, min_effect_j=0.001).together == frozenset()


def test_tests_measured_per_call_are_always_judged_alone_and_not_in_the_shares() -> None:
    weighing = weigh({"a.py::x": BIG, "a.py::bench": Size(1e-9, 1e-6, per="call")})
    assert weighing.alone == {"a.py::x", "a.py::bench"}
    assert weighing.weights["a.py::x"].share == 1.0


def test_small_tests_are_grouped_by_file_in_order() -> None:
    sizes = {"b.py::t2": Size(0.001, 0.5), "a.py::t": Size(0.001, 0.5), "b.py::t1": Size(0.001, 0.5)}
    weighing = weigh({**sizes, "c.py::big": BIG})
    assert weighing.groups() == {"a.py": ("a.py::t",), "b.py": ("b.py::t1", "b.py::t2")}


def test_the_file_of_a_node_id_is_the_part_before_the_first_separator() -> None:
    assert file_of("tests/test_x.py::Case::test_y[a::b]") == "tests/test_x.py"
    assert file_of("tests/test_x.py") == "tests/test_x.py"


energies = st.floats(min_value=1e-9, max_value=1e3, allow_nan=False)
windows = st.floats(min_value=1e-6, max_value=10.0)


@given(st.lists(st.tuples(energies, windows), min_size=1, max_size=40))
def test_every_test_has_one_role_and_the_shares_add_up(sizes: list[tuple[float, float]]) -> None:
    weighing = weigh({f"t.py::{i}": Size(e, w) for i, (e, w) in enumerate(sizes)})
    assert weighing.alone | weighing.together == set(weighing.weights)
    assert not weighing.alone & weighing.together
    assert math.isclose(sum(w.share for w in weighing.weights.values()), 1.0, rel_tol=1e-9)
    for weight in weighing.weights.values():
        assert bool(weight.why) == (weight.role == "together")
        if weight.size.window_s < MEASURABLE_S:
            assert weight.role == "together"


@given(st.lists(st.tuples(energies, windows), min_size=1, max_size=40))
def test_the_stored_baseline_gate_and_ab_judge_the_same_tests_alone(sizes: list[tuple[float, float]]) -> None:
    records = [
        TestRecord(f"t.py::{i}", "test", (e,), w, w, "scripted", True) for i, (e, w) in enumerate(sizes)
    ]
    machine = Fingerprint("cpu", 2, "scripted", ("scripted",), True)
    baseline = baseline_from_runs([records], machine, None)
    stored = sort_for_judging(records, baseline, sizing(baseline, MIN_JITTER_S)).alone
    assert stored == weigh({r.node_id: Size(r.median_j, r.wall_s) for r in records}).alone
