"""A side process of ``greencode ab`` writes its results file and nothing else (greencode.outcome)."""

from __future__ import annotations

import pytest
from plugin_helpers import commit_all, make_project, results, run

from greencode.outcome import AB_SIDE_VARIABLE

TEST = """
def test_one():
    pass
"""


def test_a_side_run_keeps_no_history_and_asks_git_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, TEST)
    commit_all(pytester)
    monkeypatch.setenv(AB_SIDE_VARIABLE, "head")

    run(pytester, "--greencode", "--greencode-json=results.json").assert_outcomes(passed=1)

    assert [r["node_id"] for r in results(pytester)["tests"]] == ["test_energy.py::test_one"]
    assert results(pytester)["run"]["commit"] is None
    assert not (pytester.path / ".greencode" / "history.sqlite").exists()
