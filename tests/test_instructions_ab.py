"""greencode ab with a deterministic meter: one base/head pair decides, with the meter's noise."""

from __future__ import annotations

from greencode.ab import PairedTest, decide
from greencode.gate import GateSettings
from greencode.records import TestRecord

COUNTED = GateSettings(fail_on=0.01, meter_noise=0.003)


def counted(node_id: str, instructions: int) -> TestRecord:
    return TestRecord(
        node_id, "test", (instructions * 1.7e-10,), 0.5, 0.5, "instructions", True, instructions=instructions
    )


def one_pair(node_id: str, base: int, head: int) -> PairedTest:
    return PairedTest(node_id, (counted(node_id, base),), (counted(node_id, head),), (True,))


def test_one_pair_of_a_deterministic_meter_finds_three_percent_more_work() -> None:
    tests = {"t::a": one_pair("t::a", 10_000_000, 10_300_000), "t::b": one_pair("t::b", 5_000_000, 5_000_100)}
    report = decide(tests, COUNTED)
    assert [c.node_id for c in report.regressions] == ["t::a"]
    assert {c.node_id: c.verdict for c in report.comparisons}["t::b"] == "unchanged"


def test_one_pair_uses_the_meters_declared_noise() -> None:
    (comparison,) = decide({"t::a": one_pair("t::a", 100, 100)}, COUNTED).comparisons
    assert comparison.noise is not None and comparison.noise.cv == 0.003


def test_one_pair_without_declared_noise_decides_nothing() -> None:
    report = decide({"t::a": one_pair("t::a", 10_000_000, 13_000_000)}, GateSettings(fail_on=0.01))
    assert not report.regressions
