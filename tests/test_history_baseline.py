"""Baselines from the history (``baseline = "history:BRANCH"``): recent clean runs of a branch."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from plugin_helpers import commit_all, make_project, run, script
from report_inputs import FINGERPRINT, record, run_info

from greencode.config import load_config
from greencode.errors import ConfigError
from greencode.history import History
from greencode.history.baselines import POOLED_RUNS, baseline_from_history
from greencode.vcs import VcsState

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def _append(history: History, number: int, joules: float, *, branch: str = "main", dirty: bool = False,
            cpu: str = FINGERPRINT.cpu_model) -> None:  # fmt: skip
    run = replace(run_info(number), run_id=f"run-{number}", vcs=VcsState("a" * 40, branch, dirty))
    history.append(run, replace(FINGERPRINT, cpu_model=cpu), [record("t.py::a", joules)])


def test_the_baseline_pools_recent_clean_runs_of_the_branch_on_this_machine(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with History(path) as history:
        _append(history, 0, 1.0)
        _append(history, 1, 1.2)
        _append(history, 2, 9.0, branch="feature")
        _append(history, 3, 9.0, dirty=True)
        _append(history, 4, 9.0, cpu="Xeon")
        _append(history, 5, 1.1)
    baseline = baseline_from_history(path, "main", FINGERPRINT)
    assert baseline is not None
    entry = baseline.entries["t.py::a"]
    assert entry.runs_j == pytest.approx((1.0, 1.2, 1.1))


def test_only_the_newest_runs_are_pooled(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with History(path) as history:
        for number in range(POOLED_RUNS + 3):
            _append(history, number, 5.0 if number < 3 else 1.0)
    baseline = baseline_from_history(path, "main", FINGERPRINT)
    assert baseline is not None and baseline.entries["t.py::a"].runs_j == pytest.approx((1.0,) * POOLED_RUNS)


def test_no_matching_run_is_no_baseline(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with History(path) as history:
        _append(history, 0, 1.0, branch="feature")
    assert baseline_from_history(path, "main", FINGERPRINT) is None
    assert baseline_from_history(tmp_path / "none.sqlite", "main", FINGERPRINT) is None


def test_a_history_baseline_without_a_branch_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.greencode]\nbaseline = "history:"\n')
    with pytest.raises(ConfigError, match=r"baseline = 'history:'.*e.g. 'history:main'"):
        load_config(tmp_path / "pyproject.toml")


def _on_main(pytester: pytest.Pytester) -> None:
    commit_all(pytester)
    subprocess.run(["git", "branch", "-M", "main"], cwd=pytester.path, check=True, capture_output=True)


def _compare_after_runs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, runs: int
) -> pytest.RunResult:
    """``runs`` measured runs of test_a at 1 J, then a comparing run in which it takes 1.5 J."""
    script(monkeypatch, energy_j=1.0)
    for _ in range(runs):
        run(pytester, "--greencode").assert_outcomes(passed=1)
    script(monkeypatch, energy_j=1.0, scale={"test_energy.py::test_a": 1.5})
    return run(pytester, "--greencode-compare")


def test_the_gate_compares_with_the_branchs_recent_runs_in_the_history(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, "def test_a():\n    pass\n", rounds=3, baseline="history:main")
    (pytester.path / ".gitignore").write_text(".greencode/\n")
    _on_main(pytester)
    result = _compare_after_runs(pytester, monkeypatch, 3)
    result.stdout.fnmatch_lines(["*comparing with history:main*", "*test_a*REGRESSION*"])
    assert result.ret == 1


def test_saving_with_a_history_baseline_says_the_history_is_the_baseline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, "def test_a():\n    pass\n", baseline="history:main")
    script(monkeypatch, energy_j=1.0)
    result = run(pytester, "--greencode-save")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*baseline history:main is the history's recent runs*"])
    assert not (pytester.path / ".greencode" / "baseline.json").exists()


def test_a_postgres_history_serves_as_the_baseline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.setenv("GREENCODE_HISTORY", postgres_url)
    make_project(pytester, "def test_a():\n    pass\n", rounds=3, baseline="history:main")
    _on_main(pytester)
    result = _compare_after_runs(pytester, monkeypatch, 2)
    result.stdout.fnmatch_lines(["*test_a*REGRESSION*"])
    assert result.ret == 1
