"""The whole suite in the plugin: its total against the baseline's, the total budget, and what measuring
itself added, in the terminal, pytest's last line and the results JSON."""

from __future__ import annotations

import pytest
from plugin_helpers import commit_all, make_project, results, run, script
from run_cli import run_greencode

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

TWO_TESTS = """
def test_a():
    pass

def test_b():
    pass
"""


def test_a_configured_total_budget_that_holds_passes_and_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=1, total_budget_j="5 J")
    result = run(pytester, "--greencode")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["total budget: suite total 2 J <= total_budget_j 5 J (2 tests, estimated)"])


def test_a_configured_total_budget_that_is_exceeded_fails_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=1, total_budget_j="1.5 J")
    result = run(pytester, "--greencode")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "budgets: FAILED: suite over its total energy budget",
            "OVER total budget: suite total 2 J > total_budget_j 1.5 J (2 tests, estimated)",
            "*2 passed, 1 over total energy budget*",
        ]
    )


def test_the_total_budget_option_measures_and_overrides_the_configuration(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=1, total_budget_j="5 J")
    result = run(pytester, "--greencode-total-budget", "1500 mJ")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["OVER total budget: suite total 2 J > total_budget_j 1.5 J*"])


def test_a_total_budget_without_a_unit_it_knows_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=1)
    result = run(pytester, "--greencode-total-budget", "5 mj")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "total_budget_j" in result.stderr.str()
    assert "Traceback" not in result.stderr.str()


def test_the_total_budget_is_in_the_results_json(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=1, total_budget_j="1.5 J")
    run(pytester, "--greencode-json=results.json")
    data = results(pytester)
    assert data["settings"]["total_budget_j"] == 1.5
    budget = data["gate"]["total_budget"]
    assert (budget["budget_j"], budget["measured_j"], budget["tests"], budget["over"]) == (1.5, 2.0, 2, True)
    assert budget["line"].startswith("suite total 2 J > total_budget_j 1.5 J")
    assert data["gate"]["failed"] is True


def test_an_unchanged_suite_is_judged_as_a_whole_in_the_terminal_and_json(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS + "\ndef test_gone():\n    pass\n", rounds=1)
    run(pytester, "--greencode-save")
    pytester.makepyfile(test_energy=TWO_TESTS + "\ndef test_new():\n    pass\n")
    result = run(pytester, "--greencode-compare", "--greencode-json=results.json")
    assert result.ret == pytest.ExitCode.OK
    # a test renamed, the whole suite run: not a partial run
    result.stdout.fnmatch_lines(["suite total: unchanged over 2 tests, +0.0%*; left out: 1 new, 1 missing"])
    assert "partial run" not in result.stdout.str()
    suite = results(pytester)["gate"]["suite"]
    assert suite["verdict"] == "unchanged" and suite["compared"] == 2
    assert (suite["current_j"], suite["baseline_j"]) == (2.0, 2.0)
    assert suite["new"] == ["test_energy.py::test_new"] and suite["missing"] == ["test_energy.py::test_gone"]


def test_a_suite_regression_no_test_shows_alone_fails_the_run_and_is_counted_on_the_last_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10 of 40 tests cost twice as much, each by less than min_effect_j: no test regressed alone, the
    # total did (+25 %); fewer than half moved, so it is not the whole run's shift
    many = "import pytest\n\n@pytest.mark.parametrize('n', range(40))\ndef test_n(n):\n    pass\n"
    make_project(pytester, many, rounds=1, min_effect_j="2 J")
    commit_all(pytester)
    for seed in range(3):  # the same clean commit: the runs are pooled
        script(monkeypatch, energy_j=1.0, run_cv=0.01, seed=seed)
        run(pytester, "--greencode-save")
    script(monkeypatch, energy_j=1.0, scale={"*::test_n[[]1?[]]": 2.0})
    result = run(pytester, "--greencode-compare")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "gate: FAILED: suite total energy regression (fail_on*",
            "suite total: regression over * tests, +25.0%*",
            "*40 passed, 1 suite energy regression in*",
        ]
    )
    assert "REGRESSION" not in result.stdout.str()


def test_a_uniform_rise_of_the_whole_suite_is_a_warning_that_recommends_greencode_ab(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = "import pytest\n\n@pytest.mark.parametrize('n', range(40))\ndef test_n(n):\n    pass\n"
    make_project(pytester, many, rounds=1)
    commit_all(pytester)
    for seed in range(3):
        script(monkeypatch, energy_j=1.0, run_cv=0.01, seed=seed)
        run(pytester, "--greencode-save")
    script(monkeypatch, energy_j=1.6)
    result = run(pytester, "--greencode-compare")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["gate: passed, * inconclusive (warning only)*", "suite total: inconclusive over * tests, +60.0%*"]
    )
    assert "the whole run moved by +" in result.stdout.str() and "greencode ab" in result.stdout.str()


def test_the_terminal_says_what_extra_rounds_added(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=3)
    result = run(pytester, "--greencode")
    result.stdout.re_match_lines(
        [
            r"greencode: measuring added \d+\.\d s to \d+\.\d s of tests "
            r"\((\+\d+\.\d%: )?extra rounds \d+\.\d s\), (about .+ \(estimated\)|energy unknown .*)"
        ]
    )


def test_one_round_adds_no_extra_rounds(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=1)
    result = run(pytester, "--greencode")
    result.stdout.re_match_lines(
        [r"greencode: measuring added no extra rounds to \d+\.\d s of tests \(opening and closing each "]
    )


def test_the_footprint_is_in_the_results_json_labelled_estimated(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=3)
    run(pytester, "--greencode-json=results.json")
    footprint = results(pytester)["footprint"]
    assert footprint["added_j_estimated"] is True
    assert [part["what"] for part in footprint["parts"]] == ["extra rounds"]
    assert footprint["added_s"] == footprint["parts"][0]["wall_s"] >= 0
    assert footprint["run_s"] >= footprint["tests_s"]
    assert footprint["line"].startswith("greencode: measuring added")


def test_greencode_report_shows_the_suite_the_total_budget_and_the_footprint_in_every_format(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=2, total_budget_j="5 J")
    run(pytester, "--greencode-save")
    run(pytester, "--greencode-compare", "--greencode-json=results.json")
    # each format escapes "<" its own way
    for form, at_most in (("text", "<="), ("md", "\\<="), ("html", "&lt;=")):
        shown = run_greencode("report", "results.json", "--format", form, cwd=pytester.path).stdout
        assert "suite total: unchanged over 2 tests" in shown, form
        assert f"suite total 2 J {at_most} total_budget_j 5 J" in shown, form
        assert "greencode: measuring added" in shown, form


def test_greencode_gate_prints_the_suite_verdict_and_the_total_budget(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=1, total_budget_j="1 J")
    run(pytester, "--greencode-save")
    run(pytester, "--greencode", "--greencode-json=results.json")
    gated = run_greencode("gate", "results.json", cwd=pytester.path)
    assert gated.returncode == 1, gated.stdout + gated.stderr
    assert "suite total: unchanged over 2 tests" in gated.stdout
    assert "OVER total budget: suite total 2 J > total_budget_j 1 J" in gated.stdout
    assert gated.stdout.rstrip().endswith("FAILED: suite over its total energy budget")


def test_under_xdist_the_workers_extra_rounds_are_added_up(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=3)
    run(pytester, "-n", "2", "--greencode-json=results.json")
    footprint = results(pytester)["footprint"]
    assert footprint["workers"] == 2
    assert [part["what"] for part in footprint["parts"]] == ["extra rounds"]
    assert footprint["tests_s"] == footprint["run_s"]  # time in parallel workers is not taken off the run's
    assert " over 2 workers to " in footprint["line"]


def test_the_step_summary_carries_the_suite_lines_and_the_footprint(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, TWO_TESTS, rounds=1, total_budget_j="5 J")
    run(pytester, "--greencode-save")
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run(pytester, "--greencode-compare")
    written = summary.read_text()
    assert "gate: suite total: unchanged over 2 tests" in written
    assert "gate: total budget: suite total 2 J \\<= total_budget_j 5 J" in written
    assert "greencode: measuring added no extra rounds to" in written
