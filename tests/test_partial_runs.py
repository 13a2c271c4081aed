"""A compare of part of the baseline's tests (one file) against a baseline a full run saved: its tests run
cold, which must not fail the gate, while a doubled test still does, named, and the output says so."""

from __future__ import annotations

import glob

import pytest
from plugin_helpers import make_project, results, run, script
from run_cli import run_greencode
from test_gate import MACHINE, baseline_of, record

from greencode.partial_runs import selection_of

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

# The conftest scripts each test's energy, and makes test_b.py's tests cost COLD times as much as long as
# nothing of test_a.py has run in the process — as a real file does whose code the files before it warmed
# (imports, caches, lazy set-up): deterministic, so that each verdict below is the model's, not noise's.
CONFTEST = """
import json
import os

import pytest

ENERGY = {
    "test_a.py::test_big": 1.0,
    "test_b.py::test_big": 0.5,
    **{f"test_{f}.py::test_small_{i}": 0.002 for f in "ab" for i in range(4)},
}
warmed = []


@pytest.fixture(autouse=True)
def cold_start(request):
    node = request.node.nodeid
    energy = ENERGY[node] * (2.0 if node == os.environ.get("DOUBLED") else 1.0)
    if node.startswith("test_b.py") and not warmed:
        energy *= float(os.environ["COLD"])
    os.environ["GREENCODE_SCRIPTED"] = json.dumps({"tests": {node: energy}})
    yield
    if node.startswith("test_a.py"):
        warmed.append(node)
"""
TESTS = """
def test_big():
    pass

def test_small_0():
    pass

def test_small_1():
    pass

def test_small_2():
    pass

def test_small_3():
    pass
"""
B_BIG = "test_b.py::test_big"


def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, cold: float) -> None:
    """Two files of a big and four small tests each, and a baseline saved by a full run (warm)."""
    make_project(pytester, TESTS)
    (pytester.path / "test_energy.py").rename(pytester.path / "test_a.py")
    pytester.makepyfile(test_b=TESTS)
    pytester.makeconftest(CONFTEST)
    script(monkeypatch, energy_j=1.0)  # restored after the test: the conftest rewrites it per test
    monkeypatch.setenv("COLD", str(cold))
    run(pytester, "--greencode-save").assert_outcomes(passed=10)


def test_a_cold_file_compared_alone_against_a_full_run_baseline_passes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester, monkeypatch, cold=2.0)
    result = run(pytester, "test_b.py", "--greencode-compare")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["gate: passed*"])


def test_a_doubled_test_in_a_cold_file_fails_naming_it_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester, monkeypatch, cold=2.0)
    monkeypatch.setenv("DOUBLED", B_BIG)
    result = run(pytester, "test_b.py", "--greencode-compare", "--greencode-json=results.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    regressions = [
        c["node_id"] for c in results(pytester)["gate"]["comparisons"] if c["verdict"] == "regression"
    ]
    assert regressions == [B_BIG]


def test_the_summary_says_a_compare_of_a_subset_is_one(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester, monkeypatch, cold=2.0)
    result = run(pytester, "test_b.py", "--greencode-compare")
    result.stdout.fnmatch_lines(
        [
            "note: a partial run: 5 of 10 baseline tests measured (a selection*); its tests may run cold*"
            "beyond the run's own shift, +100.0% (median of 5 tests taken one by one*",
            "suite total: * over 5 tests (1 judged alone, 4 in 1 file group) of a partial run (5 of 10 "
            "baseline tests), *",
        ]
    )


def test_the_results_file_says_which_part_of_the_baseline_ran(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester, monkeypatch, cold=1.0)
    run(pytester, "test_b.py", "--greencode-compare", "--greencode-json=results.json")
    assert results(pytester)["gate"]["suite"]["selection"] == {
        "measured": 5,
        "baseline": 10,
        "run": 5,
        "partial": True,
    }


def test_a_whole_run_is_not_called_partial(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester, monkeypatch, cold=2.0)
    result = run(pytester, "--greencode-compare", "--greencode-json=results.json")
    assert "partial run" not in result.stdout.str()
    assert results(pytester)["gate"]["suite"]["selection"]["partial"] is False


SAVED = [record(f"t.py::test_at[{hour}]", 1.0) for hour in ("06:31:39", "x", "y")]


def test_a_whole_run_whose_ids_are_made_afresh_is_not_a_partial_run() -> None:
    # a parameter id showing the time of day: one baseline id missing, one new, the whole suite ran
    selection = selection_of(
        ["t.py::test_at[06:31:40]", "t.py::test_at[x]", "t.py::test_at[y]"],
        baseline_of(SAVED, fingerprint=MACHINE),
    )
    assert (selection.measured, selection.run, selection.partial) == (2, 3, False)


def test_a_run_of_fewer_tests_than_the_baseline_is_a_partial_run() -> None:
    selection = selection_of(["t.py::test_at[x]", "t.py::test_new"], baseline_of(SAVED, fingerprint=MACHINE))
    assert (selection.measured, selection.run, selection.partial) == (1, 2, True)


def test_one_cold_test_compared_alone_is_inconclusive_not_a_regression(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester, monkeypatch, cold=2.4)
    result = run(pytester, B_BIG, "--greencode-compare")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "note: a partial run: 1 of 10 baseline tests measured (*); this partial run's shift cannot be "
            "estimated from 1 test (taken as 0 ± 50.0%)*",
            f"  inconclusive: {glob.escape(B_BIG)}: +140.0%*cannot be estimated from 1 test*'greencode ab'",
        ]
    )


def test_greencode_gate_judges_a_partial_run_as_the_plugin_did(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester, monkeypatch, cold=2.0)
    run(pytester, "test_b.py", "--greencode-compare", "--greencode-json=results.json")
    gate = run_greencode("gate", "results.json", cwd=pytester.path)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "note: a partial run: 5 of 10 baseline tests measured" in gate.stdout
