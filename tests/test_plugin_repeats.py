"""A comparing run repeats only where a verdict is open, judges tiny tests per file, keeps to its budget."""

from __future__ import annotations

import json

import pytest
from plugin_helpers import make_project, results, run, script
from pytest_greencode.markers import Plan
from pytest_greencode.repeats import Repeats

from greencode.config import Config

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

# each test counts its calls in a file of its own, so a test can tell how often each call ran
COUNT = """
import pathlib, time, pytest

def count(name):
    path = pathlib.Path(name + ".calls")
    path.write_text(str(int(path.read_text()) + 1) if path.exists() else "1")
"""
COUNTING = (
    COUNT
    + """
def test_big():
    count("big")

def test_other():
    count("other")

@pytest.mark.parametrize("n", range(30))
def test_tiny(n):
    count("tiny")
"""
)
ENERGIES = {"tests": {"*::test_big": 1.0, "*::test_other": 1.0, "*::test_tiny*": 0.001}, "cv": 0.03}


def calls(pytester: pytest.Pytester, name: str) -> int:
    path = pytester.path / f"{name}.calls"
    value = int(path.read_text())
    path.unlink()
    return value


def saved(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(pytester, COUNTING)
    script(monkeypatch, seed=1, **ENERGIES)
    # one round each, so the compares start from known readings (a saving run may repeat a test it
    # sees as large: test_big's first window can cross 10 ms of CPU time on a busy machine)
    run(pytester, "--greencode-save", "--greencode-rounds=1").assert_outcomes(passed=32)
    assert (calls(pytester, "big"), calls(pytester, "other"), calls(pytester, "tiny")) == (1, 1, 30)


def big_doubled(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> pytest.RunResult:
    """A compare after the baseline was saved, with ``test_big`` now using twice its energy."""
    saved(pytester, monkeypatch)
    script(monkeypatch, seed=2, scale={"*::test_big": 2.0}, **ENERGIES)
    return run(pytester, "--greencode-compare", *args)


def rounds_of(pytester: pytest.Pytester) -> dict[str, int]:
    return {t["node_id"].split("::")[1]: t["rounds"] for t in results(pytester)["tests"]}


def test_only_a_test_whose_verdict_is_open_runs_more_rounds(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = big_doubled(pytester, monkeypatch, "--greencode-json=results.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (calls(pytester, "big"), calls(pytester, "other"), calls(pytester, "tiny")) == (3, 1, 30)
    assert rounds_of(pytester)["test_big"] == 3 and rounds_of(pytester)["test_other"] == 1
    assert [
        c["node_id"] for c in results(pytester)["gate"]["comparisons"] if c["verdict"] == "regression"
    ] == ["test_energy.py::test_big"]
    settings = results(pytester)["settings"]
    assert (settings["rounds"], settings["extra_rounds"], settings["repeated_tests"]) == (1, 2, 1)


def test_pytests_counts_are_those_of_a_plain_run_when_tests_repeat(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared = big_doubled(pytester, monkeypatch)
    plain = run(pytester, "-p", "no:greencode")
    assert compared.parseoutcomes().get("passed") == plain.parseoutcomes()["passed"] == 32
    assert "failed" not in compared.parseoutcomes()
    compared.stdout.fnmatch_lines(["*= 32 passed, 1 energy regression in *"])


def test_tiny_tests_are_not_repeated_but_judged_together_per_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved(pytester, monkeypatch)
    script(monkeypatch, seed=3, scale={"*::test_tiny*": 2.0}, **ENERGIES)
    result = run(pytester, "--greencode-compare", "--greencode-json=results.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert calls(pytester, "tiny") == 30  # once each: none of them is judged alone
    comparisons = {c["node_id"]: c for c in results(pytester)["gate"]["comparisons"]}
    assert comparisons["test_energy.py::[small tests]"]["verdict"] == "regression"
    assert comparisons["test_energy.py::test_tiny[3]"]["verdict"] == "grouped"
    result.stdout.fnmatch_lines(["  regression: test_energy.py::[[]small tests[]]: +*"])


def test_a_spent_budget_stops_extra_rounds_and_leaves_the_change_unconfirmed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = big_doubled(
        pytester, monkeypatch, "--greencode-repeat-budget=0", "--greencode-json=results.json"
    )
    assert calls(pytester, "big") == 1
    result.assert_outcomes(passed=32)
    gate = results(pytester)["gate"]
    (big,) = [c for c in gate["comparisons"] if c["node_id"] == "test_energy.py::test_big"]
    assert big["verdict"] == "inconclusive" and "the measuring budget was spent" in big["reason"]
    assert gate["counts"]["regression"] == 0  # one reading is never enough for a test's regression


def test_the_repeat_budget_key_caps_extra_rounds_too(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved(pytester, monkeypatch)
    make_project(pytester, COUNTING, repeat_budget=0)
    script(monkeypatch, seed=2, scale={"*::test_big": 2.0}, **ENERGIES)
    run(pytester, "--greencode-compare").assert_outcomes(passed=32)
    assert calls(pytester, "big") == 1


def test_a_marker_with_rounds_fixes_a_tests_rounds_when_comparing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved(pytester, monkeypatch)
    pytester.makepyfile(
        test_energy=COUNTING.replace("def test_big", "@pytest.mark.greencode(rounds=1)\ndef test_big")
    )
    script(monkeypatch, seed=2, scale={"*::test_big": 2.0}, **ENERGIES)
    run(pytester, "--greencode-compare").assert_outcomes(passed=32)
    assert calls(pytester, "big") == 1


@pytest.mark.parametrize("value", ["abc", "-1", "11"])
def test_a_bad_repeat_budget_is_one_line_usage_error(pytester: pytest.Pytester, value: str) -> None:
    make_project(pytester, COUNTING)
    result = run(pytester, "--greencode-compare", f"--greencode-repeat-budget={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*repeat_budget = *expected the extra time as a share of the first pass*"])
    assert "Traceback" not in result.stderr.str()


def test_a_skipped_unittest_test_gets_no_figure(pytester: pytest.Pytester) -> None:
    make_project(
        pytester,
        """
import unittest

class TestCase(unittest.TestCase):
    def test_skips_inside(self):
        self.skipTest("not here")

    def test_passes(self):
        pass
""",
    )
    result = run(pytester, "--greencode", "--greencode-json=results.json")
    result.assert_outcomes(passed=1, skipped=1)
    assert [t["node_id"] for t in results(pytester)["tests"]] == ["test_energy.py::TestCase::test_passes"]


SAVING = (
    COUNT
    + """
def test_long():
    count("long")
    started = time.process_time()
    while time.process_time() - started < 0.02:  # 20 ms of CPU time: a test that can carry energy
        pass

@pytest.mark.parametrize("n", range(5))
def test_tiny(n):
    count("tiny")
"""
)


def test_a_saving_run_gives_tests_that_can_carry_energy_their_confirming_rounds(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SAVING, repeat_budget=10)
    script(monkeypatch, seed=1, cv=0.03)
    run(pytester, "--greencode-save").assert_outcomes(passed=6)
    assert (calls(pytester, "long"), calls(pytester, "tiny")) == (3, 5)
    entries = json.loads((pytester.path / ".greencode/baseline.json").read_text())["entries"]
    assert len(entries["test_energy.py::test_long"]["samples_j"]) == 3


def test_a_saving_run_with_no_repeat_budget_measures_each_test_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SAVING, repeat_budget=0)
    script(monkeypatch, seed=1, cv=0.03)
    run(pytester, "--greencode-save").assert_outcomes(passed=6)
    assert (calls(pytester, "long"), calls(pytester, "tiny")) == (1, 5)


def _repeats(compare: bool = False, save: bool = False) -> Repeats:
    return Repeats(Config(), [], compare, deterministic=False, save=save)


def test_a_one_round_test_of_a_run_that_neither_compares_nor_saves_cannot_repeat() -> None:
    assert not _repeats().may_repeat(Plan(True, 1, "test"))


def test_a_test_given_more_rounds_can_repeat() -> None:
    assert _repeats().may_repeat(Plan(True, 3, "test", fixed_rounds=True))


def test_a_one_round_test_of_a_saving_run_can_repeat() -> None:
    assert _repeats(save=True).may_repeat(Plan(True, 1, "test"))


def test_a_test_whose_marker_fixes_one_round_cannot_repeat_in_a_saving_run() -> None:
    assert not _repeats(save=True).may_repeat(Plan(True, 1, "test", fixed_rounds=True))
