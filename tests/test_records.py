"""greencode.records: the per-test record builder that skips the frozen dataclass's ``__init__``."""

from __future__ import annotations

import dataclasses
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.records import TestRecord, new_record

_OPTIONAL = {
    "provenance": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    "rounds": st.integers(1, 9),
    "iterations": st.integers(1, 9),
    "instructions": st.none() | st.integers(0, 10**9),
    "functions": st.dictionaries(st.text(max_size=5), st.integers(0, 99), max_size=2),
    "source": st.sampled_from(["test", "energy", "benchmark"]),
    "co2e_g": st.none() | st.floats(0, 1),
    "warnings": st.lists(st.text(max_size=5), max_size=2).map(tuple),
}


@given(
    per=st.sampled_from(["call", "test"]),
    samples=st.lists(st.floats(0, 10), min_size=1, max_size=3).map(tuple),
    optional=st.fixed_dictionaries({}, optional=_OPTIONAL),
)
def test_new_record_builds_what_the_dataclass_builds(
    per: str, samples: tuple[float, ...], optional: dict
) -> None:
    values = dict(
        node_id="t.py::x", per=per, samples_j=samples, wall_s=1.0, cpu_s=0.5, meter="m", estimated=True
    )
    built, expected = new_record(**values, **optional), TestRecord(**values, **optional)
    assert built == expected and repr(built) == repr(expected) and vars(built) == vars(expected)


def test_new_record_gives_each_record_its_own_default_mappings() -> None:
    values = dict(node_id="x", per="test", samples_j=(1.0,), wall_s=1.0, cpu_s=1.0, meter="m", estimated=True)
    first, second = new_record(**values), new_record(**values)
    assert first.functions is not second.functions and first.provenance is not second.provenance


def test_new_record_stays_frozen() -> None:
    record = new_record(
        node_id="x", per="test", samples_j=(1.0,), wall_s=1.0, cpu_s=1.0, meter="m", estimated=True
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.node_id = "y"  # type: ignore[misc]


@pytest.mark.parametrize(("per", "samples"), [("round", (1.0,)), ("test", ())])
def test_new_record_checks_its_fields_as_the_dataclass_does(per: str, samples: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        new_record(node_id="x", per=per, samples_j=samples, wall_s=1.0, cpu_s=1.0, meter="m", estimated=True)


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=7))
def test_a_records_median_is_the_median_of_its_samples(samples: list[float]) -> None:
    test = TestRecord("t.py::a", "test", tuple(samples), 0.1, 0.1, "estimate", True)
    assert test.median_j == statistics.median(samples)
