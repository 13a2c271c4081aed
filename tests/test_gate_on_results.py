"""`greencode gate` and `greencode report --fail-on` on a results file judge exactly as the plugin did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_helpers import make_project, results, run, script
from run_cli import run_greencode

from greencode.config import load_config
from greencode.errors import StoreError
from greencode.report.gating import gate_input

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

# two tests that carry the energy and a file's worth of tiny ones, judged together as the plugin does
SUITE = """
import pytest

def test_big():
    pass

def test_other():
    pass

@pytest.mark.parametrize("n", range(30))
def test_tiny(n):
    pass
"""
ENERGIES = {"tests": {"*::test_big": 1.0, "*::test_other": 1.0, "*::test_tiny*": 0.001}, "cv": 0.03}


def compared(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A compare, with test_big doubled, written to results.json; its results document."""
    make_project(pytester, SUITE)
    script(monkeypatch, seed=1, **ENERGIES)
    run(pytester, "--greencode-save", "--greencode-rounds=1").assert_outcomes(passed=32)
    script(monkeypatch, seed=2, scale={"*::test_big": 2.0}, **ENERGIES)
    result = run(pytester, "--greencode-compare", "--greencode-json=results.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    return results(pytester)


def verdicts(gate: object) -> dict[str, str]:
    return {c.node_id: c.verdict for c in gate.comparisons}  # type: ignore[attr-defined]


def test_the_gate_on_a_results_file_gives_the_plugins_verdicts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = compared(pytester, monkeypatch)
    by_plugin = {c["node_id"]: c["verdict"] for c in data["gate"]["comparisons"]}  # type: ignore[index]
    assert "grouped" in by_plugin.values()  # the tiny tests were judged per file
    config = load_config(pytester.path / "pyproject.toml")
    assert verdicts(gate_input(pytester.path / "results.json", config)) == by_plugin


def test_greencode_gate_fails_a_results_file_the_plugin_failed_naming_the_same_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared(pytester, monkeypatch)
    gate = run_greencode("gate", "results.json", cwd=pytester.path)
    assert gate.returncode == 1, gate.stderr
    assert "regression: test_energy.py::test_big" in gate.stdout
    assert "judged alone" in gate.stdout and "in 1 file group" in gate.stdout


def test_greencode_gate_without_a_baseline_warns_that_it_compared_with_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a CI job whose baseline was never committed must not read as a plain "passed"
    make_project(pytester, SUITE)
    script(monkeypatch, seed=1, **ENERGIES)
    run(pytester, "--greencode", "--greencode-json=results.json").assert_outcomes(passed=32)
    gate = run_greencode("gate", "results.json", cwd=pytester.path)
    assert gate.returncode == 0, gate.stderr
    assert (
        "warning: no baseline at " in gate.stdout and "save one with pytest --greencode-save" in gate.stdout
    )
    assert "on 32 tests from 1 file: passed" in gate.stdout


def test_a_results_file_without_judging_is_gated_per_file_with_a_note(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = compared(pytester, monkeypatch)
    del data["settings"]["judging"]  # type: ignore[attr-defined]
    old = pytester.path / "old.json"
    old.write_text(json.dumps(data))
    gate = gate_input(old, load_config(pytester.path / "pyproject.toml"))
    assert "grouped" in verdicts(gate).values()
    assert any("written by an older greencode" in note and str(old) in note for note in gate.notes)


def test_a_malformed_judging_is_one_line_error_naming_the_file_and_key(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = compared(pytester, monkeypatch)
    data["settings"]["judging"] = {"jitter_s": "soon"}  # type: ignore[index]
    bad = pytester.path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(StoreError, match=r"bad\.json: settings\.judging\.jitter_s should be a number"):
        gate_input(bad, load_config(pytester.path / "pyproject.toml"))
    gate = run_greencode("gate", "bad.json", cwd=pytester.path)
    assert gate.returncode == 2 and "Traceback" not in gate.stderr
    assert len(gate.stderr.strip().splitlines()) == 1


def test_merged_shards_are_judged_as_strictly_as_their_strictest_shard(tmp_path: Path) -> None:
    from greencode.merge import merged_judging

    class Shard:
        def __init__(self, judging: dict[str, object]) -> None:
            self.raw = {"settings": {"judging": judging}}

    shards = [
        (tmp_path / "a.json", Shard({"jitter_s": 1e-4, "min_rounds": 1, "alpha": None})),
        (tmp_path / "b.json", Shard({"jitter_s": 1e-4, "min_rounds": 3, "alpha": 0.04})),
    ]
    assert merged_judging(shards) == {"jitter_s": 1e-4, "min_rounds": 3, "alpha": 0.04}  # type: ignore[arg-type]
