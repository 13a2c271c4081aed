"""The gate with a deterministic meter: its declared noise, one round, counts in records and baselines."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.baselines import Baseline, baseline_from_runs
from greencode.fingerprint import Fingerprint
from greencode.gate import GateSettings, declared_noise
from greencode.records import TestRecord, counts_from_dict, counts_to_dict, entry_from_record
from greencode.verdicts import compare

MACHINE = Fingerprint("AMD EPYC", 2, "instructions", ("cpu",), True, counter="callgrind, CPython 3.11.7")
COUNTED = GateSettings(fail_on=0.01, meter_noise=0.003)


def counted(node_id: str, instructions: int) -> TestRecord:
    joules = instructions * 1.7e-10
    return TestRecord(node_id, "test", (joules,), 0.5, 0.5, "instructions", True, instructions=instructions)


def suite(rng: random.Random, tests: int, *, jitter: float, grow: dict[int, float] | None = None) -> list:
    """One run of a counted suite: per-test counts vary by ``jitter`` (relative), as under callgrind."""
    return [
        counted(
            f"t.py::test_{i}", round(1e7 * (i + 1) * (grow or {}).get(i, 1.0) * (1 + rng.gauss(0, jitter)))
        )
        for i in range(tests)
    ]


class Declares:
    def __init__(self, noise: float | None) -> None:
        self.run_to_run_noise = noise


class Silent:
    pass


def test_declared_noise_is_the_largest_of_the_meters() -> None:
    assert declared_noise([Declares(0.003), Declares(0.005)]) == 0.005


def test_a_meter_without_declared_noise_leaves_the_cpu_time_default() -> None:
    assert declared_noise([Declares(0.003), Silent()]) is None
    assert GateSettings(meter_noise=None).run_cv == GateSettings().default_run_cv


def test_the_meters_noise_replaces_the_default_and_the_floor() -> None:
    settings = GateSettings(meter_noise=0.003)
    assert (settings.run_cv, settings.min_run_cv) == (0.003, 0.003)


@pytest.mark.parametrize("seed", range(20))
def test_unchanged_counted_code_passes_a_one_percent_gate(seed: int) -> None:
    rng = random.Random(seed)
    baseline = baseline_from_runs([suite(rng, 60, jitter=0.001)], MACHINE, None)
    report = compare(suite(rng, 60, jitter=0.001), baseline, COUNTED, fingerprint=MACHINE)
    assert not report.failed, report.summary()


def test_three_percent_more_work_in_one_test_fails_a_one_percent_gate() -> None:
    rng = random.Random(1)
    baseline = baseline_from_runs([suite(rng, 60, jitter=0.001)], MACHINE, None)
    report = compare(suite(rng, 60, jitter=0.001, grow={7: 1.03}), baseline, COUNTED, fingerprint=MACHINE)
    assert [c.node_id for c in report.regressions] == ["t.py::test_7"]


def test_the_same_change_under_the_cpu_time_default_is_not_a_regression() -> None:
    rng = random.Random(1)
    baseline = baseline_from_runs([suite(rng, 60, jitter=0.001)], MACHINE, None)
    settings = replace(COUNTED, meter_noise=None)
    report = compare(suite(rng, 60, jitter=0.001, grow={7: 1.03}), baseline, settings, fingerprint=MACHINE)
    assert not report.regressions


def test_pooled_identical_runs_do_not_raise_the_noise_to_one_percent() -> None:
    rng = random.Random(2)
    runs = [suite(rng, 5, jitter=0.0) for _ in range(3)]
    baseline = baseline_from_runs(runs, MACHINE, None)
    report = compare(suite(rng, 5, jitter=0.0, grow={2: 1.03}), baseline, COUNTED, fingerprint=MACHINE)
    assert [c.node_id for c in report.regressions] == ["t.py::test_2"]


@pytest.mark.parametrize(
    ("other", "says"),
    [
        (replace(MACHINE, counter="perf, CPython 3.11.7"), "counted with 'perf, CPython 3.11.7'"),
        (replace(MACHINE, counter="callgrind, CPython 3.12.1"), "Python version, implementation"),
        (replace(MACHINE, counter="callgrind, CPython 3.11.7, PYTHONMALLOC=malloc"), "and allocator"),
        (replace(MACHINE, counter="callgrind, PyPy 3.10.14"), "PyPy"),
        (replace(MACHINE, cpu_model="Intel Xeon Gold 6338"), "CPU 'Intel Xeon Gold 6338'"),
    ],
)
def test_a_baseline_counted_differently_is_refused_saying_why(other: Fingerprint, says: str) -> None:
    baseline = baseline_from_runs([[counted("t.py::test_0", 10**7)]], other, None)
    report = compare([counted("t.py::test_0", 10**7)], baseline, COUNTED, fingerprint=MACHINE)
    assert report.refused is not None and says in report.refused


def test_counts_travel_through_records_and_baselines(tmp_path: Path) -> None:
    record = replace(counted("t.py::test_0", 123), ll_misses=4, functions={"a.py:f": 100, "b.c:g": 23})
    assert TestRecord.from_dict(record.to_dict()) == record
    baseline = baseline_from_runs([[record]], MACHINE, None)
    again = Baseline.from_dict(baseline.to_dict(), "baseline.json")
    entry = again.entries["t.py::test_0"]
    assert (entry.instructions, entry.ll_misses, dict(entry.functions)) == (
        123,
        4,
        {"a.py:f": 100, "b.c:g": 23},
    )
    assert again.fingerprint.counter == "callgrind, CPython 3.11.7"


def test_records_of_energy_meters_carry_no_count_fields() -> None:
    record = TestRecord("t.py::test_0", "test", (1.0,), 0.5, 0.5, "estimate", True)
    assert not {"instructions", "d1_misses", "ll_misses", "functions"} & set(record.to_dict())


def test_malformed_functions_are_a_value_error_naming_the_field() -> None:
    with pytest.raises(ValueError, match="'functions'"):
        counts_from_dict({"functions": {"a.py:f": "many"}})


@given(
    st.one_of(st.none(), st.integers(0, 2**62)),
    st.dictionaries(st.text(min_size=1, max_size=20), st.integers(0, 2**62), max_size=80),
)
def test_counts_round_trip_keeping_the_largest_functions(
    instructions: int | None, functions: dict[str, int]
) -> None:
    record = replace(counted("t.py::test_0", 1), instructions=instructions, functions=functions)
    back = counts_from_dict(counts_to_dict(record))
    assert back["instructions"] == instructions
    kept = dict(back["functions"])
    assert len(kept) == min(len(functions), 50)
    if kept and len(functions) > len(kept):
        assert min(kept.values()) >= max(v for k, v in functions.items() if k not in kept)


def test_a_baseline_entry_keeps_the_records_counts() -> None:
    entry = entry_from_record(replace(counted("t.py::test_0", 99), d1_misses=3), None)
    assert (entry.instructions, entry.d1_misses) == (99, 3)
    assert math.isclose(entry.centre_j, 99 * 1.7e-10)
