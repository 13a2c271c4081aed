"""Budgets end to end: shown as over budget in every report, kept for a later gate, and never skipped
without a word."""

from __future__ import annotations

import json

import pytest
from plugin_helpers import make_project, run, script
from run_cli import run_greencode

from greencode.report.loaders import load_report

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

MARKED = """
import pytest

@pytest.mark.energy_budget(joules="500 mJ")
def test_marked():
    pass

def test_free():
    pass
"""


def _statuses(path: object) -> dict[str, str | None]:
    return {t.name.split("::")[1]: t.status for t in load_report(path).tests}  # type: ignore[arg-type]


def test_an_over_budget_test_is_shown_over_budget_not_new_in_stored_reports(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, MARKED, rounds=1)
    result = run(pytester, "--greencode-compare", "--greencode-json=results.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _statuses(pytester.path / "results.json") == {"test_marked": "over budget", "test_free": "new"}
    assert _statuses(pytester.path / ".greencode" / "history.sqlite")["test_marked"] == "over budget"


def test_report_fail_on_checks_the_marker_budgets_stored_in_the_results(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, MARKED, rounds=1)
    run(pytester, "--greencode-save")
    run(pytester, "--greencode", "--greencode-json=results.json")
    gated = run_greencode("report", "results.json", "--fail-on", "10%", cwd=pytester.path)
    assert gated.returncode == 1, gated.stdout + gated.stderr
    assert "over budget: test_energy.py::test_marked: 1 J > 0.5 J per test" in gated.stdout


def test_a_budget_on_a_test_marked_skip_is_not_checked_and_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(
        pytester,
        """
import pytest

@pytest.mark.greencode(skip=True)
@pytest.mark.energy_budget(joules="1 mJ")
def test_unmeasured():
    pass
""",
    )
    result = run(pytester, "--greencode")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["*::test_unmeasured: its energy budget was not checked: the test is marked *skip=True*"]
    )


def test_a_budget_on_a_test_that_never_calls_the_energy_fixture_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(
        pytester,
        """
import pytest

@pytest.mark.energy_budget(joules="1 mJ", per="call")
def test_forgot(energy):
    sum(range(10))
""",
    )
    result = run(pytester, "--greencode", "--greencode-json=results.json")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*test_forgot: its energy budget was not checked: *never called it*"])
    warnings = json.loads((pytester.path / "results.json").read_text())["warnings"]
    assert any("never called it" in w for w in warnings)
