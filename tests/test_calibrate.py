"""``greencode calibrate``: A/A runs of the suite, the machine's noise, and a pooled baseline."""

from __future__ import annotations

import json

import pytest
from plugin_helpers import FAST, make_project, script
from run_cli import run_greencode

from greencode.cli import main


def test_calibration_reports_noise_and_saves_a_pooled_baseline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=0.2, cv=0.05, run_cv=0.03, seed=None)  # a fresh seed in every run
    make_project(
        pytester, "import pytest\n\n@pytest.mark.parametrize('n', range(5))\ndef test_n(n):\n    pass\n"
    )
    completed = run_greencode(
        "calibrate", "--runs", "2", "--save", "--json", "calibration.json", "--", *FAST, cwd=pytester.path
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "greencode calibrate: 2 runs of 5 tests on " in out
    assert "run-to-run spread: typical " in out and "recommended: fail_on = " in out
    assert "against 2 pooled runs (--save)" in out
    calibration = json.loads((pytester.path / "calibration.json").read_text())
    assert calibration["runs"] == 2 and len(calibration["tests"]) == 5
    assert calibration["recommended_fail_on"] >= 0.01
    baseline = json.loads((pytester.path / ".greencode" / "baseline.json").read_text())
    assert all(len(entry["runs_j"]) == 2 for entry in baseline["entries"].values())


def test_calibration_runs_leave_the_users_history_and_step_summary_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=0.2, cv=0.05, seed=None)
    make_project(pytester, "def test_one():\n    pass\n")
    summary = pytester.path / "summary.md"
    completed = run_greencode(
        "calibrate", "--", *FAST, cwd=pytester.path, env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert completed.returncode == 0, completed.stderr
    assert not summary.exists()
    assert not (pytester.path / ".greencode").exists()


def test_calibration_loads_the_plugin_when_pytest_autoloads_none(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=0.2, cv=0.05, seed=None)
    make_project(pytester, "def test_one():\n    pass\n")
    completed = run_greencode("calibrate", cwd=pytester.path, env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert completed.returncode == 0, completed.stderr
    assert "greencode calibrate: 2 runs of 1 test on " in completed.stdout


def test_calibration_needs_at_least_two_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "--runs", "1"]) == 2
    assert "expected 2 to 1000 runs" in capsys.readouterr().err


def test_a_failing_suite_cannot_be_calibrated(pytester: pytest.Pytester) -> None:
    make_project(pytester, "def test_broken():\n    assert False\n")
    completed = run_greencode("calibrate", "--", *FAST, cwd=pytester.path)
    assert completed.returncode == 2
    assert "pytest failed in run 1 (exit 1); calibrate needs a passing suite" in completed.stderr
