"""Named saved runs: ``--greencode-save=NAME`` keeps a run; ``report --compare A B`` compares two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_helpers import make_project, run, script
from run_cli import run_greencode

from greencode.config import Config
from greencode.errors import GreencodeError
from greencode.runs import check_name, find_run, saved_names

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

SUITE = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_work(n):
    sum(range(1000))
"""
HEAVY = "test_energy.py::test_work[1]"
STEADY = {"energy_j": 0.05, "cv": 0.01, "seed": 3}


def _save(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str, **spec: object) -> None:
    script(monkeypatch, **{**STEADY, **spec})
    run(pytester, f"--greencode-save={name}", "--greencode-rounds=5").assert_outcomes(passed=3)


def test_a_named_save_keeps_the_runs_results_under_its_name(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE)
    _save(pytester, monkeypatch, "before")
    kept = json.loads((pytester.path / ".greencode" / "runs" / "before.json").read_text())
    kept_ids = sorted(t["node_id"] for t in kept["tests"])
    assert kept_ids == [f"test_energy.py::test_work[{n}]" for n in range(3)]
    assert (pytester.path / ".greencode" / "baseline.json").is_file()  # the baseline is saved as before


def test_a_named_save_from_a_subdirectory_keeps_the_run_under_the_projects_root(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE)
    (pytester.path / "sub").mkdir()
    monkeypatch.chdir(pytester.path / "sub")
    script(monkeypatch, **STEADY)
    run(pytester, "--greencode-save=before", "../test_energy.py").assert_outcomes(passed=3)
    assert (pytester.path / ".greencode" / "runs" / "before.json").is_file()


def test_a_named_save_says_where_the_run_went_and_how_to_compare(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE)
    script(monkeypatch, **STEADY)
    result = run(pytester, "--greencode-save=before")
    result.stdout.fnmatch_lines(["*run saved as 'before'*greencode report --compare OTHER before*"])


def test_a_plain_save_keeps_no_named_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(pytester, SUITE)
    script(monkeypatch, **STEADY)
    run(pytester, "--greencode-save").assert_outcomes(passed=3)
    assert not (pytester.path / ".greencode" / "runs").exists()


def test_the_save_option_written_alone_leaves_the_test_path_after_it_to_pytest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE)
    pytester.makepyfile(test_other="def test_other():\n    pass\n")
    script(monkeypatch, **STEADY)
    run(pytester, "--greencode-save", "test_other.py").assert_outcomes(passed=1)
    assert (pytester.path / ".greencode" / "baseline.json").is_file()
    assert not (pytester.path / ".greencode" / "runs").exists()


def test_a_save_name_that_is_no_plain_name_is_a_usage_error(pytester: pytest.Pytester) -> None:
    make_project(pytester, SUITE)
    result = run(pytester, "--greencode-save=tests/x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--greencode-save=tests/x*cannot name a saved run*"])


@pytest.mark.parametrize("name", ["", "../x", "a b", ".hidden", "x" * 101, "tests.py", "a..b"])
def test_names_that_are_no_plain_file_names_are_refused(name: str) -> None:
    with pytest.raises(GreencodeError, match="cannot name a saved run"):
        check_name(name)


@pytest.mark.parametrize("name", ["before", "v1.2", "pr-481_head", "0"])
def test_plain_names_are_accepted(name: str) -> None:
    assert check_name(name) == name


def test_an_unknown_run_is_an_error_listing_the_saved_ones(tmp_path: Path) -> None:
    runs = tmp_path / ".greencode" / "runs"
    runs.mkdir(parents=True)
    (runs / "before.json").write_text("{}")
    config = Config(root=tmp_path)
    assert saved_names(config) == ["before"]
    assert find_run(config, "before") == runs / "before.json"
    with pytest.raises(GreencodeError, match="saved runs: before"):
        find_run(config, "after")


@pytest.fixture
def before_and_after(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite saved as two named runs: ``before``, and ``after`` in which HEAVY takes twice the energy."""
    make_project(pytester, SUITE)
    _save(pytester, monkeypatch, "before")
    _save(pytester, monkeypatch, "after", scale={HEAVY: 2.0})


@pytest.mark.usefixtures("before_and_after")
def test_report_compare_shows_the_change_of_each_test_between_two_named_runs(
    pytester: pytest.Pytester,
) -> None:
    shown = run_greencode("report", "--compare", "before", "after", "--format", "json", cwd=pytester.path)
    assert shown.returncode == 0, shown.stderr  # without --fail-on the comparison fails nothing
    verdicts = {t["name"]: t["status"] for t in json.loads(shown.stdout)["tests"]}
    assert verdicts[HEAVY] == "regression"
    assert verdicts["test_energy.py::test_work[0]"] == "unchanged"


@pytest.mark.usefixtures("before_and_after")
def test_report_compare_with_fail_on_exits_1_on_a_regression(pytester: pytest.Pytester) -> None:
    failed = run_greencode("report", "--compare", "before", "after", "--fail-on", "10%", cwd=pytester.path)
    assert failed.returncode == 1, failed.stderr
    assert HEAVY in failed.stdout
    same = ("report", "--compare", "before", "before", "--fail-on", "10%")
    unchanged = run_greencode(*same, cwd=pytester.path)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr


def test_report_compare_takes_results_files_as_well_as_names(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE)
    _save(pytester, monkeypatch, "before")
    script(monkeypatch, **{**STEADY, "scale": {HEAVY: 2.0}})
    run(pytester, "--greencode-json=head.json", "--greencode-rounds=5").assert_outcomes(passed=3)
    compared = ("report", "--compare", "before", "head.json", "--fail-on", "10%")
    failed = run_greencode(*compared, cwd=pytester.path)
    assert failed.returncode == 1, failed.stderr


def test_report_compare_with_an_unknown_run_is_one_line_and_exit_2(pytester: pytest.Pytester) -> None:
    make_project(pytester, SUITE)
    shown = run_greencode("report", "--compare", "before", "after", cwd=pytester.path)
    assert shown.returncode == 2
    assert shown.stderr.count("\n") == 1 and "no run has been saved yet" in shown.stderr


def test_report_compare_and_an_input_together_are_refused(pytester: pytest.Pytester) -> None:
    shown = run_greencode("report", "x.json", "--compare", "a", "b", cwd=pytester.path)
    assert shown.returncode == 2 and "either INPUT or --compare" in shown.stderr
