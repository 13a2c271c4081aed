"""Which tests carry the suite's energy, judged alone, and which are judged together (greencode.weighing)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from greencode.weighing import CARRIER_SHARE, NEAR_RESOLUTION_S, Size, file_of, weigh

BIG = Size(1.0, 0.5)


def test_a_test_with_a_negligible_share_of_the_suites_energy_is_judged_together() -> None:
    weighing = weigh({"a.py::big": BIG, "a.py::tiny": Size(0.001, 0.5)}, fail_on=0.1)
    assert weighing.alone == {"a.py::big"}
    assert weighing.weights["a.py::tiny"].why == "0.1% of the suite's energy"


def test_a_window_near_the_meters_resolution_is_judged_together_whatever_its_share() -> None:
    weighing = weigh({"a.py::x": BIG, "a.py::short": Size(1.0, NEAR_RESOLUTION_S / 2)}, fail_on=0.1)
    assert weighing.together == {"a.py::short"}
    assert "near the meter's resolution" in weighing.weights["a.py::short"].why


def test_a_test_whose_change_by_fail_on_is_within_min_effect_j_is_judged_together() -> None:
    weighing = weigh({"a.py::x": BIG, "a.py::y": Size(0.5, 0.5)}, fail_on=0.1, min_effect_j=0.06)
    assert weighing.together == {"a.py::y"}
    assert "within min_effect_j" in weighing.weights["a.py::y"].why


def test_tests_measured_per_call_are_always_judged_alone_and_not_in_the_shares() -> None:
    weighing = weigh({"a.py::x": BIG, "a.py::bench": Size(1e-9, 1e-6, per="call")}, fail_on=0.1)
    assert weighing.alone == {"a.py::x", "a.py::bench"}
    assert weighing.weights["a.py::x"].share == 1.0


def test_small_tests_are_grouped_by_file_in_order() -> None:
    sizes = {"b.py::t2": Size(0.001, 0.5), "a.py::t": Size(0.001, 0.5), "b.py::t1": Size(0.001, 0.5)}
    weighing = weigh({**sizes, "c.py::big": BIG}, fail_on=0.1)
    assert weighing.groups() == {"a.py": ("a.py::t",), "b.py": ("b.py::t1", "b.py::t2")}


def test_the_file_of_a_node_id_is_the_part_before_the_first_separator() -> None:
    assert file_of("tests/test_x.py::Case::test_y[a::b]") == "tests/test_x.py"
    assert file_of("tests/test_x.py") == "tests/test_x.py"


energies = st.floats(min_value=1e-9, max_value=1e3, allow_nan=False)


@given(st.lists(st.tuples(energies, st.floats(min_value=0.0, max_value=10.0)), min_size=1, max_size=40))
def test_every_test_has_one_role_and_the_shares_add_up(sizes: list[tuple[float, float]]) -> None:
    weighing = weigh({f"t.py::{i}": Size(e, w) for i, (e, w) in enumerate(sizes)}, fail_on=0.1)
    assert weighing.alone | weighing.together == set(weighing.weights)
    assert not weighing.alone & weighing.together
    assert math.isclose(sum(w.share for w in weighing.weights.values()), 1.0, rel_tol=1e-9)
    for weight in weighing.weights.values():
        carries = weight.share >= CARRIER_SHARE and weight.size.window_s >= NEAR_RESOLUTION_S
        assert (weight.role == "alone") == carries
        assert bool(weight.why) == (weight.role == "together")


@given(st.lists(energies, min_size=2, max_size=40))
def test_the_small_tests_together_carry_little_of_the_energy(sizes: list[float]) -> None:
    weighing = weigh({f"t.py::{i}": Size(e, 1.0) for i, e in enumerate(sizes)}, fail_on=0.1)
    small = sum(weighing.weights[n].share for n in weighing.together)
    assert small < CARRIER_SHARE * max(len(weighing.together), 1) + 1e-12
