"""When ``greencode ab`` stops: the tests that carry energy decided and the suite total decided; small tests
judged together, per file and in the total, never keeping measuring going (greencode.ab, greencode.weighing).

The synthetic suites go through the real collection, weighing and judging (:class:`greencode.ab.Looks`):
each run has a factor all its tests share and one of each test's own, both log-normal; the second run of a
pair is a few per cent slower; head does ``ratio`` times base's work, per test.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from greencode.ab import (
    TOTAL_ROW,
    AbOptions,
    Adaptive,
    Looks,
    PairedTest,
    Scope,
    Side,
    SideRun,
    _Collected,
    _Runner,
    as_member,
    decide,
    group_row,
    measure_adaptively,
    needs_more_pairs,
    pair_order,
    still_undecided,
    summed,
)
from greencode.config import Config
from greencode.gate import GateReport, GateSettings
from greencode.kinds import Judgement
from greencode.store import TestRecord
from greencode.verdicts import Comparison, SuiteVerdict

SETTINGS = GateSettings(fail_on=0.10)
BIG, TINY = (1.0, 0.5), (40e-6, 40e-6)  # (joules, window seconds): a carrier and a test near resolution


class Suite:
    """``tests`` maps a node id to (joules, window seconds, own run-to-run spread, head/base ratio)."""

    def __init__(
        self, seed: int, tests: Mapping[str, tuple[float, float, float, float]], shared: float = 0.02
    ) -> None:
        self.rng = random.Random(seed)
        self.tests, self.shared = tests, shared
        self.collected = _Collected()
        self.looks = Looks(self.collected, SETTINGS)
        self.active: list[frozenset[str] | None] = []

    def run_pair(self, index: int, active: frozenset[str] | None) -> float:
        self.active.append(active)
        first, second = pair_order(index)
        runs = {}
        for side in (first, second):
            factor = self.rng.gauss(0, self.shared)
            records = {}
            for node_id, (joules, window, own, ratio) in self.tests.items():
                if active is None or node_id in active:
                    energy = (
                        joules * math.exp(factor + self.rng.gauss(0, own)) * (ratio if side == "head" else 1)
                    )
                    energy *= 1.04 if side == second else 1.0
                    records[node_id] = TestRecord(
                        node_id, "test", (energy,), window, window, "estimate", True
                    )
            runs[side] = SideRun(side, index, records, (), (), 0.0, "machine")
        self.collected.add(runs[first], runs[second], active)
        return 0.0

    def measure(self) -> Adaptive:
        return measure_adaptively(
            self.run_pair, self.looks.judged, SETTINGS, AbOptions(), scope=self.looks.scope
        )


def big_and_tiny(ratio_big: float = 1.0, ratio_tiny: float = 1.0, tiny: int = 40) -> dict[str, tuple]:
    tests = {"tests/test_big.py::test_big": (*BIG, 0.01, ratio_big)}
    tests.update({f"tests/test_small.py::test_{i}": (*TINY, 0.3, ratio_tiny) for i in range(tiny)})
    return tests


@pytest.mark.parametrize("seed", range(5))
def test_tiny_tests_are_judged_together_and_never_keep_measuring_going(seed: int) -> None:
    suite = Suite(seed, big_and_tiny())

    outcome = suite.measure()

    assert (outcome.pairs, outcome.undecided, outcome.stopped) == (4, frozenset(), "every test decided")
    assert not outcome.report.failed
    assert suite.looks.weighing is not None
    assert suite.looks.weighing.alone == {"tests/test_big.py::test_big"}
    verdicts = {c.node_id: c.verdict for c in outcome.report.comparisons}
    assert verdicts[group_row("tests/test_small.py")] in ("unchanged", "improvement", "inconclusive")
    assert outcome.report.suite is not None and outcome.report.suite.verdict == "unchanged"
    assert all(verdicts[f"tests/test_small.py::test_{i}"] != "regression" for i in range(40))


def test_judged_alone_the_same_tiny_tests_would_keep_measuring_going() -> None:
    # the rule before: every test alone, so noisy tiny tests stay undecided until --max-pairs
    suite = Suite(0, big_and_tiny())

    def alone(alpha: float) -> GateReport:
        return decide(suite.collected.paired(), replace(SETTINGS, alpha=alpha))

    outcome = measure_adaptively(suite.run_pair, alone, SETTINGS, AbOptions())

    assert outcome.pairs == 16 and outcome.undecided


def test_a_regression_spread_over_many_tiny_tests_is_caught_by_their_files_group() -> None:
    suite = Suite(1, big_and_tiny(ratio_tiny=1.5))

    outcome = suite.measure()

    assert outcome.report.failed
    assert [c.node_id for c in outcome.report.regressions] == [group_row("tests/test_small.py")]
    members = [c for c in outcome.report.comparisons if c.node_id.startswith("tests/test_small.py::")]
    assert len(members) == 40 and {c.verdict for c in members} == {"grouped"}
    assert all("too small to judge alone" in c.reason for c in members)


def test_a_regression_of_a_test_carrying_two_percent_of_the_energy_is_named() -> None:
    tests = {
        "tests/test_a.py::test_heavy": (0.98, 0.5, 0.01, 1.0),
        "tests/test_a.py::test_slower": (0.02, 0.01, 0.02, 1.8),
        **{f"tests/test_b.py::test_{i}": (*TINY, 0.3, 1.0) for i in range(20)},
    }
    outcome = Suite(2, tests).measure()

    assert [c.node_id for c in outcome.report.regressions] == ["tests/test_a.py::test_slower"]
    assert outcome.pairs == 4


def report(*rows: tuple[str, Judgement, float]) -> GateReport:
    """Rows of (node id, verdict, upper end of the interval); a TOTAL_ROW one is the suite total."""
    comparisons = tuple(
        Comparison(n, v, "", "test", baseline_j=1.0, ci_low=-0.2, ci_high=high)
        for n, v, high in rows
        if n != TOTAL_ROW
    )
    total = [SuiteVerdict(v, "", baseline_j=1.0, ci_high=high) for n, v, high in rows if n == TOTAL_ROW]
    return GateReport(SETTINGS, comparisons, suite=total[0] if total else None)


SCOPE = Scope(frozenset({"small.py::t", group_row("small.py")}), suite=True)


def test_only_tests_judged_alone_and_the_total_can_be_undecided() -> None:
    open_rows = report(
        ("big.py::t", "unchanged", 0.15),
        ("small.py::t", "inconclusive", 0.9),
        (group_row("small.py"), "unchanged", 0.3),
        (TOTAL_ROW, "unchanged", 0.05),
    )
    assert still_undecided(open_rows, open_rows, SETTINGS, SCOPE) == {"big.py::t"}
    assert still_undecided(open_rows, open_rows, SETTINGS) == {
        "big.py::t",
        "small.py::t",
        group_row("small.py"),
    }


def loop(rows: GateReport) -> list[frozenset[str] | None]:
    """The active sets the loop asked for while ``rows`` stayed as they are (up to 8 pairs)."""
    asked: list[frozenset[str] | None] = []

    def run_pair(index: int, active: frozenset[str] | None) -> float:
        asked.append(active)
        return 0.0

    measure_adaptively(run_pair, lambda alpha: rows, SETTINGS, AbOptions(max_pairs=8), scope=lambda: SCOPE)
    return asked


def test_an_open_verdict_of_a_test_carrying_energy_measures_it_alone_again() -> None:
    asked = loop(report(("big.py::t", "unchanged", 0.15), ("small.py::t", "inconclusive", 0.9)))
    assert asked == [None] * 4 + [frozenset({"big.py::t"})] * 4


def test_an_undecided_suite_total_measures_every_test_again() -> None:
    asked = loop(report(("big.py::t", "unchanged", 0.05), (TOTAL_ROW, "unchanged", 0.12)))
    assert asked == [None] * 8


def test_a_decided_suite_and_decided_carriers_stop_whatever_the_small_tests_say() -> None:
    asked = loop(
        report(
            ("big.py::t", "unchanged", 0.05),
            ("small.py::t", "inconclusive", 0.9),
            (group_row("small.py"), "inconclusive", 0.5),
            (TOTAL_ROW, "unchanged", 0.04),
        )
    )
    assert asked == [None] * 4


def member(verdict: str) -> Comparison:
    return Comparison("small.py::t", verdict, "+40% (90% CI -20% to +90%)", "test", ci_high=0.9)


@pytest.mark.parametrize(
    ("own", "group", "expected"),
    [
        ("regression", "unchanged", "unchanged"),
        ("inconclusive", "unchanged", "unchanged"),
        ("unchanged", "regression", "grouped"),
        ("regression", "inconclusive", "grouped"),
        ("improvement", "improvement", "improvement"),
        ("improvement", "unchanged", "unchanged"),
    ],
)
def test_a_small_test_takes_its_groups_verdict_and_never_fails_nor_warns_alone(
    own: str, group: str, expected: str
) -> None:
    judged = as_member(member(own), "0.1% of the suite's energy", ("g", group))
    assert judged.verdict == expected
    assert judged.reason.startswith("too small to judge alone (0.1% of the suite's energy); g: " + group)
    assert judged.ci_high == 0.9  # its own figures stay


def test_the_only_small_test_of_a_file_is_judged_in_the_suite_total() -> None:
    tests = big_and_tiny(tiny=3)
    tests["tests/test_other.py::test_alone"] = (*TINY, 0.3, 1.0)
    outcome = Suite(4, tests).measure()

    rows = {c.node_id: c for c in outcome.report.comparisons}
    assert group_row("tests/test_other.py") not in rows and group_row("tests/test_small.py") in rows
    assert "; suite total: unchanged; " in rows["tests/test_other.py::test_alone"].reason


def test_the_suite_total_is_judged_from_its_own_per_pair_totals() -> None:
    # two carriers trading energy pair by pair (one busier when the other is not): each test's interval is
    # wide, their total does not move at all
    orders = (False, True, False, True)
    x = PairedTest(
        "a.py::x", records("a.py::x", *[1.0] * 4), records("a.py::x", 1.3, 0.8, 1.25, 0.75), orders
    )
    y = PairedTest(
        "b.py::y", records("b.py::y", *[1.0] * 4), records("b.py::y", 0.7, 1.2, 0.75, 1.25), orders
    )
    tests = {"a.py::x": x, "b.py::y": y}

    own, conservative = decide(tests, SETTINGS, total=summed(TOTAL_ROW, [x, y])), decide(tests, SETTINGS)

    assert own.suite is not None and conservative.suite is not None
    assert all(needs_more_pairs(c, SETTINGS) for c in own.comparisons)
    assert (own.suite.compared, own.suite.noise.df) == (2, 3)
    assert not needs_more_pairs(own.suite, SETTINGS)
    assert needs_more_pairs(conservative.suite, SETTINGS)


def test_a_later_pair_of_every_test_counts_for_the_total() -> None:
    suite = Suite(
        6, {"tests/test_a.py::test_x": (*BIG, 0.01, 1.0), "tests/test_b.py::test_y": (*BIG, 0.01, 1.0)}
    )
    for index in range(4):
        suite.run_pair(index, None)
    suite.run_pair(4, frozenset(suite.tests))

    assert len(suite.collected.full) == 5


def records(node_id: str, *joules: float) -> tuple[TestRecord, ...]:
    return tuple(TestRecord(node_id, "test", (j,), 0.1, 0.1, "estimate", True) for j in joules)


def test_tests_measured_in_the_same_pairs_sum_pair_by_pair() -> None:
    orders = (False, True)
    a = PairedTest("a", records("a", 1.0, 2.0), records("a", 1.5, 2.5), orders)
    b = PairedTest("b", records("b", 0.5, 0.25), records("b", 1.0, 0.75), orders)

    total = summed("both", [a, b])

    assert (total.node_id, total.base_j, total.head_j, total.head_second) == (
        "both",
        (1.5, 2.25),
        (2.5, 3.25),
        orders,
    )
    with pytest.raises(ValueError, match="share their pairs"):
        summed("x", [a, replace(b, head_second=(True, False))])


def test_a_sum_uses_only_the_pairs_that_ran_every_test() -> None:
    suite = Suite(3, big_and_tiny(tiny=2))
    for index in range(4):
        suite.run_pair(index, None)
    suite.run_pair(4, frozenset({"tests/test_big.py::test_big"}))

    aligned = suite.collected.on_full_pairs(["tests/test_big.py::test_big", "tests/test_small.py::test_0"])

    assert [len(t.base) for t in aligned] == [4, 4]
    assert len(suite.collected.paired()["tests/test_big.py::test_big"].base) == 5


def test_side_processes_write_their_bytecode_in_scratch_whatever_pythondontwritebytecode_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    runner = _Runner(AbOptions(), Config(root=tmp_path), tmp_path, tmp_path / "scratch")

    env = runner.environment(Side("base", "main", "a" * 40, tmp_path, tmp_path))

    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "scratch" / "pycache-base")
    assert os.environ["PYTHONDONTWRITEBYTECODE"] == "1"
