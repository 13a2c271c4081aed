"""Rounds of a test's call: one by default, and pytest's outcome untouched by any number of them."""

from __future__ import annotations

import re

import pytest
from plugin_helpers import make_project, results, run

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

COUNTED = """
import pathlib

def test_counted():
    path = pathlib.Path("calls.txt")
    path.write_text(str(int(path.read_text() or 0) + 1) if path.exists() else "1")
"""

# every kind of outcome pytest counts, subtests that pass, skip and fail, a warning and captured output
MIXED = """
import logging, unittest, warnings, pytest

def test_passes():
    print("printed once")
    logging.getLogger("demo").warning("logged once")

def test_warns():
    warnings.warn(DeprecationWarning("old"))
    warnings.warn(UserWarning("careful"))

def test_fails():
    assert 1 == 2

@pytest.mark.skip(reason="not here")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known")
def test_xfails():
    assert False

@pytest.mark.xfail(reason="fixed")
def test_xpasses():
    pass

def test_subtests(subtests):
    for i in range(4):
        with subtests.test(i=i):
            if i == 3:
                pytest.skip("fourth")
            assert i < 3

def test_failing_subtest(subtests):
    with subtests.test(msg="bad"):
        assert False

class TestUnittestSkips(unittest.TestCase):
    @unittest.skipIf(True, "never here")
    def test_skipped(self):
        pass

class TestUnittestStyle(unittest.TestCase):
    def test_sub(self):
        for i in range(3):
            with self.subTest(i=i):
                if i == 2:
                    self.skipTest("third")
                self.assertLess(i, 2)
"""


def summary_line(result: pytest.RunResult) -> str:
    (line,) = [text for text in result.outlines if re.match(r"^=+ .*\d+ (passed|failed).* in ", text)]
    return re.sub(r" in [\d.]+s", "", line)


def test_each_tests_call_runs_once_by_default(pytester: pytest.Pytester) -> None:
    make_project(pytester, COUNTED)
    run(pytester, "--greencode", "--greencode-json=results.json").assert_outcomes(passed=1)
    assert (pytester.path / "calls.txt").read_text() == "1"
    assert results(pytester)["tests"][0]["rounds"] == 1


@pytest.mark.parametrize("gating", ["--greencode-save", "--greencode-compare"])
def test_saving_or_comparing_a_baseline_runs_each_call_once_when_nothing_is_open(
    pytester: pytest.Pytester, gating: str
) -> None:
    make_project(pytester, COUNTED)  # no baseline yet: no verdict is open, so nothing repeats
    run(pytester, gating, "--greencode-json=results.json").assert_outcomes(passed=1)
    assert (pytester.path / "calls.txt").read_text() == "1"
    assert results(pytester)["tests"][0]["rounds"] == 1
    assert results(pytester)["settings"]["rounds"] == 1


def test_a_gating_run_with_rounds_asked_for_runs_those(pytester: pytest.Pytester) -> None:
    make_project(pytester, COUNTED)
    run(pytester, "--greencode-save", "--greencode-rounds=2").assert_outcomes(passed=1)
    assert (pytester.path / "calls.txt").read_text() == "2"


def test_the_rounds_key_still_repeats_the_call(pytester: pytest.Pytester) -> None:
    make_project(pytester, COUNTED, rounds=3)
    run(pytester, "--greencode").assert_outcomes(passed=1)
    assert (pytester.path / "calls.txt").read_text() == "3"


@pytest.mark.parametrize("rounds", ["1", "4"])
def test_pytests_summary_is_that_of_a_plain_run_at_any_number_of_rounds(
    pytester: pytest.Pytester, rounds: str
) -> None:
    make_project(pytester, MIXED)
    measuring = ("--greencode", f"--greencode-rounds={rounds}")
    plain = run(pytester, "-p", "no:greencode", "-rA")
    measured = run(pytester, *measuring, "-rA")
    assert summary_line(measured) == summary_line(plain)
    assert measured.parseoutcomes() == plain.parseoutcomes()
    assert measured.ret == plain.ret
    verbose = [run(pytester, *options, "-v").stdout.str() for options in (("-p", "no:greencode"), measuring)]
    assert [text.count("SUBPASSED") for text in verbose] == [5, 5]
    assert [text.count("SUBSKIPPED") for text in verbose] == [2, 2]


def test_extra_rounds_add_nothing_to_a_tests_captured_output_logs_or_warnings(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester, MIXED)
    text = run(pytester, "--greencode", "--greencode-rounds=5", "-rA").stdout.str()
    assert text.count("printed once") == 1 and text.count("logged once") == 1
    assert text.count("DeprecationWarning: old") == 1 and text.count("UserWarning: careful") == 1
    assert "SKIPPED [2]" not in text


def test_a_subtest_failing_only_in_an_extra_round_keeps_the_first_rounds_outcome(
    pytester: pytest.Pytester,
) -> None:
    make_project(
        pytester,
        """
import pathlib

def test_flaky_subtest(subtests):
    path = pathlib.Path("calls.txt")
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    with subtests.test(msg="only the first call passes"):
        assert calls == 1
""",
    )
    result = run(pytester, "--greencode", "--greencode-rounds=3", "--greencode-json=results.json")
    result.assert_outcomes(passed=1)
    assert "subtests failed" not in result.stdout.str()
    (record,) = results(pytester)["tests"]
    assert record["rounds"] == 1
    assert any("failed or skipped (the test itself or a subtest)" in w for w in results(pytester)["warnings"])


def test_a_unittest_test_failing_only_when_run_again_keeps_the_first_rounds_pass(
    pytester: pytest.Pytester,
) -> None:
    # cachetools' own tests do this: state kept on the TestCase instance, which the extra rounds share
    make_project(
        pytester,
        """
import unittest

class TestOnce(unittest.TestCase):
    def test_once(self):
        self.runs = getattr(self, "runs", 0) + 1
        self.assertEqual(self.runs, 1)
""",
    )
    result = run(pytester, "--greencode", "--greencode-rounds=3", "--greencode-json=results.json")
    result.assert_outcomes(passed=1)
    assert "ERROR at teardown" not in result.stdout.str()
    (record,) = results(pytester)["tests"]
    assert record["rounds"] == 1
    assert any("round 2 of 3 failed or skipped" in w for w in results(pytester)["warnings"])


DOCTESTS = {
    "tables.py": """
SIZE = 3


def triple(x):
    \"\"\"
    >>> triple(SIZE)
    9
    \"\"\"
    return x * SIZE
""",
    "notes.txt": """
>>> class Point:
...     x = 1
>>> Point.__module__, Point.x
('__main__', 1)
""",
}


@pytest.mark.parametrize("name", ["tables.py::tables.triple", "notes.txt::notes.txt"])
def test_a_doctest_runs_every_round_with_the_names_its_first_round_had(
    pytester: pytest.Pytester, name: str
) -> None:
    # doctest clears a doctest's globals after each run: the module's names, or __name__ for a class
    make_project(pytester, "")
    pytester.makefile(".txt", notes=DOCTESTS["notes.txt"])
    pytester.makepyfile(tables=DOCTESTS["tables.py"])
    result = run(
        pytester,
        "--doctest-modules",
        "--doctest-glob=*.txt",
        "--greencode",
        "--greencode-rounds=3",
        "--greencode-json=results.json",
        name.split("::")[0],
    )
    result.assert_outcomes(passed=1)
    (record,) = results(pytester)["tests"]
    assert (record["node_id"], record["rounds"]) == (name, 3)
    assert results(pytester)["warnings"] == []


def test_extra_rounds_print_nothing_under_capture_off(pytester: pytest.Pytester) -> None:
    make_project(pytester, 'def test_prints():\n    print("round output")\n')
    result = run(pytester, "-s", "--greencode", "--greencode-rounds=3")
    assert result.stdout.str().count("round output") == 1
