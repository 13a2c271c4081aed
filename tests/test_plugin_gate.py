"""The pytest gate end to end: baselines, regressions, budgets, refusals and every kind of bad input."""

from __future__ import annotations

import glob
import importlib
import json

import pytest
from plugin_helpers import commit_all, make_project, results, run, script

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

SUITE = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_work(n):
    sum(range(1000))
"""
HEAVY = "test_energy.py::test_work[2]"
HEAVY_LINE = glob.escape(HEAVY)  # output lines are matched with fnmatch, where [2] is a character class
NOISE = {"energy_j": 0.05, "cv": 0.05, "run_cv": 0.02}  # J per window; within-run and run-to-run spread


def save_runs(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, seeds: range) -> None:
    for seed in seeds:
        script(monkeypatch, seed=seed, **NOISE)
        run(pytester, "--greencode-save").assert_outcomes(passed=4)


def test_a_30_percent_regression_fails_the_session_through_pytests_normal_path(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE)
    commit_all(pytester)
    save_runs(pytester, monkeypatch, range(4))  # the same clean commit: the runs are pooled
    assert (
        len(json.loads((pytester.path / ".greencode/baseline.json").read_text())["entries"][HEAVY]["runs_j"])
        == 4
    )
    script(monkeypatch, seed=99, scale={HEAVY: 1.3}, **NOISE)
    result = run(pytester, "--greencode-compare")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=4)  # every test passed: the gate is what failed
    output = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            f"{HEAVY_LINE}*REGRESSION",
            "gate: FAILED: 1 energy regression (fail_on 10.0%*Holm over 4 tests*",
            f"  regression: {HEAVY_LINE}: +*more than 10.0% with adjusted p = *",
            "*= 4 passed, 1 energy regression in *",
        ]
    )
    assert "Traceback" not in output and "INTERNALERROR" not in output


def test_pytests_summary_line_counts_several_regressions_in_the_plural(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE)
    save_runs(pytester, monkeypatch, range(1))
    script(monkeypatch, scale={"*::test_work[[][01]]": 3.0}, **NOISE)
    result = run(pytester, "--greencode-compare")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*= 4 passed, 2 energy regressions in *"])


@pytest.mark.parametrize("seed", range(3))
def test_unchanged_code_passes_the_gate(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    make_project(pytester, SUITE)
    save_runs(pytester, monkeypatch, range(100 + seed, 101 + seed))
    script(monkeypatch, seed=200 + seed, **NOISE)
    result = run(pytester, "--greencode-compare")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["gate: passed*run-to-run noise 15.0% (default)*"])


def test_a_corrupt_baseline_is_a_usage_error_naming_the_file_which_stays_untouched(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester, SUITE)
    baseline = pytester.path / ".greencode" / "baseline.json"
    baseline.parent.mkdir()
    baseline.write_bytes(b'{"schema": "greencode-baseline", "version": 1, "entries": {\x00')
    before = baseline.read_bytes()
    for options in (["--greencode-compare"], ["--greencode-save"]):
        result = run(pytester, *options)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: greencode: {baseline}: *not valid JSON*"])
        assert baseline.read_bytes() == before


@pytest.mark.parametrize(
    ("settings", "options", "message"),
    [
        ({"fail_on": "ten"}, [], "*fail_on = 'ten': expected a percentage such as '10%' or '2.5%'"),
        ({"alpha": 2}, [], "*alpha = 2: expected a significance level from 1e-06 to below 0.5*"),
        (
            {"on_missing_baseline": "shrug"},
            [],
            "*on_missing_baseline = 'shrug': expected one of 'warn', 'fail'*",
        ),
        ({"fail_0n": "10%"}, [], "*unknown key 'fail_0n' (did you mean 'fail_on'?)"),
        ({}, ["--greencode-fail-on=ten"], "*command line: fail_on = 'ten': expected a percentage*"),
        ({}, ["--greencode-rounds=none"], "*command line: rounds = 'none': expected a whole number >= 1"),
        ({}, ["--greencode-meter=rapl"], "*meter 'rapl' was requested but cannot be used*"),
    ],
)
def test_bad_configuration_is_a_usage_error_naming_key_value_and_accepted_forms(
    pytester: pytest.Pytester, settings: dict[str, object], options: list[str], message: str
) -> None:
    make_project(pytester, SUITE, **settings)
    result = run(pytester, "--greencode", *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: greencode: " + message.lstrip("*")] if "command" in message else [message]
    )


def test_a_test_path_after_compare_is_not_taken_for_a_baseline(pytester: pytest.Pytester) -> None:
    make_project(pytester, SUITE)
    result = run(pytester, "--greencode-compare", "test_energy.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*looks like a test path*--greencode-compare=PATH*"])


def _move_baseline_to_another_machine(pytester: pytest.Pytester) -> None:
    path = pytester.path / ".greencode" / "baseline.json"
    data = json.loads(path.read_text())
    data["fingerprint"]["cpu_model"] = "Imaginary CPU 9000"
    path.write_text(json.dumps(data))


def test_a_baseline_from_another_machine_is_refused_with_a_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE)
    save_runs(pytester, monkeypatch, range(1))
    _move_baseline_to_another_machine(pytester)
    script(monkeypatch, scale={HEAVY: 3.0}, **NOISE)
    result = run(pytester, "--greencode-compare")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["baseline not used: the baseline comes from another machine: CPU 'Imaginary*"]
    )
    allowed = run(pytester, "--greencode-compare", "--greencode-allow-other-machine")
    assert allowed.ret == pytest.ExitCode.TESTS_FAILED
    allowed.stdout.fnmatch_lines(["note: compared although the baseline comes from another machine*"])


def test_a_missing_baseline_warns_or_fails_as_configured(pytester: pytest.Pytester) -> None:
    make_project(pytester, SUITE)
    warned = run(pytester, "--greencode-compare")
    assert warned.ret == pytest.ExitCode.OK
    warned.stdout.fnmatch_lines(["no baseline at *baseline.json; save one with --greencode-save"])
    make_project(pytester, SUITE, on_missing_baseline="fail")
    failed = run(pytester, "--greencode-compare")
    assert failed.ret == pytest.ExitCode.TESTS_FAILED
    failed.stdout.fnmatch_lines(["gate: FAILED: no usable baseline (on_missing_baseline = 'fail')*"])


def test_a_session_failed_by_a_missing_baseline_says_why_on_its_last_line(pytester: pytest.Pytester) -> None:
    make_project(pytester, SUITE, on_missing_baseline="fail")
    failed = run(pytester, "--greencode-compare")
    assert failed.ret == pytest.ExitCode.TESTS_FAILED
    assert "4 passed, 1 without energy baseline (on_missing_baseline = 'fail') in " in failed.outlines[-1]


BUDGETED = """
import pytest

@pytest.mark.energy_budget(joules="500 mJ")
def test_marked():
    pass

def test_globbed():
    pass

def test_free():
    pass
"""


def test_budgets_from_markers_and_configuration_fail_the_session(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, BUDGETED, budgets={"*::test_glob*": "2 J", "*::test_free": 5})
    assert run(pytester, "--greencode").ret == pytest.ExitCode.TESTS_FAILED
    script(monkeypatch, energy_j=3.0)
    result = run(pytester, "--greencode")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "budgets: FAILED: 2 over energy budget",
            "  over budget: test_energy.py::test_globbed: 3 J > 2 J per test "
            "(budgets['*::test_glob*'], estimated)",
            "  over budget: test_energy.py::test_marked: 3 J > 500 mJ per test (marker, estimated)",
            "*= 3 passed, 2 over energy budget in *",
        ]
    )


def test_budgets_within_limits_pass(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    script(monkeypatch, energy_j=0.1)
    make_project(pytester, BUDGETED, budgets={"*": "1 J"})
    assert run(pytester, "--greencode").ret == pytest.ExitCode.OK


def test_a_regression_comes_with_tactic_advice_and_hints(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greencode.tactics.scanner import Finding

    # the module the plugin will import: pytester drops modules first imported inside an earlier inner run
    # from sys.modules, while their package keeps the old one as an attribute
    advice = importlib.import_module("greencode.tactics.advice")

    finding = Finding("src/slow.py", 12, 5, "GCI105", "GT-XX-01", "string concatenation in a loop")
    monkeypatch.setattr(
        advice, "advice_for_changes", lambda root, since, config, profile=None, also=(): [finding]
    )
    monkeypatch.setattr(advice, "energy_hint", lambda cpu_s, wall_s: "the test mostly waited")
    make_project(pytester, SUITE)
    save_runs(pytester, monkeypatch, range(2))
    script(monkeypatch, scale={HEAVY: 4.0}, **NOISE)
    result = run(pytester, "--greencode-compare", "--greencode-json=results.json")
    result.stdout.fnmatch_lines(
        [
            f"  hint for {HEAVY_LINE}: the test mostly waited",
            "tactics for the code changed since the last commit:",
            "  src/slow.py:12: GCI105 string concatenation in a loop [GT-XX-01]",
        ]
    )
    assert results(pytester)["advice"]["findings"][0]["rule"] == "GCI105"
