"""The pytest plugin: switching it on, what it measures per test, markers, the energy fixture, benchmark."""

from __future__ import annotations

import json

import pytest
from plugin_helpers import FAST, make_project, results, run, script

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

SIMPLE = """
def test_one():
    assert sum(range(10)) == 45
"""


def test_without_greencode_nothing_is_measured_or_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SIMPLE
        + """
def test_fixture_still_works(energy):
    assert energy(sum, [1, 2]) == 3
    assert energy.profile is None
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=2)
    assert "greencode:" not in result.stdout.str()
    assert not (pytester.path / ".greencode").exists()


def test_options_and_markers_are_registered_without_switching_it_on(pytester: pytest.Pytester) -> None:
    assert "--greencode-compare" in run(pytester, "--help").stdout.str()
    assert "@pytest.mark.energy_budget(joules, per=None)" in run(pytester, "--markers").stdout.str()


def test_the_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SIMPLE)
    run(pytester, "-p", "no:greencode").assert_outcomes(passed=1)
    result = run(pytester, "-p", "no:greencode", "--greencode")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--greencode-rounds=abc", "rounds = 'abc': expected a whole number >= 1"),
        ("--greencode-min-effect=5 mJJ", "min_effect_j = '5 mJJ': unknown or ambiguous unit 'mJJ'*"),
    ],
)
def test_a_bad_option_is_a_usage_error_even_when_it_does_not_switch_measuring_on(
    pytester: pytest.Pytester, option: str, message: str
) -> None:
    pytester.makepyfile(SIMPLE)
    result = run(pytester, option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: greencode: command line: {message}"])


def test_enabled_in_pyproject(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    script(monkeypatch, energy_j=2.0)
    make_project(pytester, SIMPLE, enabled=True)
    result = run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*greencode: energy per test*", "test_energy.py::test_one*2 J/test*"])


def test_enabled_in_the_pytest_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENCODE_METER", "greencode.testing:scripted")
    pytester.makeini("[pytest]\ngreencode = true\n")
    pytester.makepyfile(SIMPLE)
    run(pytester).stdout.fnmatch_lines(["*greencode: energy per test*"])


def test_header_names_the_meter_and_that_figures_are_estimates(pytester: pytest.Pytester) -> None:
    make_project(pytester, SIMPLE)
    run(pytester, "--greencode").stdout.fnmatch_lines(
        ["greencode: meter scripted (estimated), rounds 1", "*1 test measured with scripted (estimates)*"]
    )


COUNTING = """
import pathlib, pytest

def test_counted(tmp_path_factory):
    with open(pathlib.Path(__file__).parent / "calls.txt", "a") as handle:
        handle.write("call\\n")

@pytest.mark.greencode(rounds=1)
def test_once():
    with open(pathlib.Path(__file__).parent / "once.txt", "a") as handle:
        handle.write("call\\n")

@pytest.mark.greencode(skip=True)
def test_unmeasured():
    pass
"""


def test_rounds_repeat_each_call_and_markers_opt_out(pytester: pytest.Pytester) -> None:
    make_project(pytester, COUNTING)
    run(pytester, "--greencode", "--greencode-rounds=3", "--greencode-json=results.json").assert_outcomes(
        passed=3
    )
    assert (pytester.path / "calls.txt").read_text().count("call") == 3
    assert (pytester.path / "once.txt").read_text().count("call") == 1
    tests = {t["node_id"]: t for t in results(pytester)["tests"]}
    assert set(tests) == {"test_energy.py::test_counted", "test_energy.py::test_once"}
    assert tests["test_energy.py::test_counted"]["rounds"] == 3
    assert len(tests["test_energy.py::test_counted"]["samples_j"]) == 3


def test_a_test_that_fails_when_repeated_keeps_its_outcome_and_gets_a_warning(
    pytester: pytest.Pytester,
) -> None:
    make_project(
        pytester,
        """
import pathlib

def test_creates_a_file():
    marker = pathlib.Path(__file__).parent / "created"
    assert not marker.exists()
    marker.touch()
""",
    )
    result = run(pytester, "--greencode", "--greencode-rounds=4")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*round 2 of 4 raised AssertionError; kept 1 round(s)*greencode(rounds=1)*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("greencode(rounds=0)", "rounds=0: expected a whole number >= 1"),
        ("greencode(3)", "takes only the keywords rounds=N and skip=True"),
        ("energy_budget(joules='lots')", "joules='lots'"),
        ("energy_budget(joules='2 JJ')", "joules='2 JJ': unknown or ambiguous unit 'JJ'"),
        ("energy_budget(joules=-1)", "joules=-1: expected a non-negative, finite energy"),
        ("energy_budget(joules=1, per='call')", "per='call' does not fit this test"),
    ],
)
def test_a_bad_marker_is_a_usage_error_naming_the_test_and_the_value(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    make_project(pytester, f"import pytest\n\n@pytest.mark.{marker}\ndef test_marked():\n    pass\n")
    result = run(pytester, "--greencode")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: greencode: test_energy.py::test_marked: @pytest.mark.*{message}*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_budget_with_per_none_is_in_the_tests_own_unit(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=3.0)
    make_project(
        pytester, "import pytest\n\n@pytest.mark.energy_budget(1, per=None)\ndef test_marked():\n    pass\n"
    )
    result = run(pytester, "--greencode")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["  over budget: test_energy.py::test_marked: 3 J > 1 J per test (marker, *"])


def test_setup_and_teardown_count_only_when_asked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, SIMPLE, rounds=1)
    run(pytester, "--greencode", "--greencode-json=plain.json")
    run(pytester, "--greencode", "--greencode-include-setup", "--greencode-json=setup.json")
    assert results(pytester, "plain.json")["tests"][0]["samples_j"] == [1.0]
    assert results(pytester, "setup.json")["tests"][0]["samples_j"] == [3.0]  # setup + call + teardown


def test_failed_and_skipped_tests_are_not_recorded(pytester: pytest.Pytester) -> None:
    make_project(
        pytester,
        """
import pytest

def test_fails():
    assert False

def test_skips():
    pytest.skip("not here")

def test_passes():
    pass
""",
    )
    run(pytester, "--greencode", "--greencode-json=results.json").assert_outcomes(
        passed=1, failed=1, skipped=1
    )
    assert [t["node_id"] for t in results(pytester)["tests"]] == ["test_energy.py::test_passes"]


class _KeptAfterTheRun:
    """What the measuring run still holds once pytest has unconfigured it."""

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        run = config.pluginmanager.get_plugin("greencode-run")
        self.records, self.outcome = run.records, run.outcome


def test_the_run_lets_go_of_its_records_once_its_outputs_are_written(pytester: pytest.Pytester) -> None:
    make_project(pytester, SIMPLE)
    kept = _KeptAfterTheRun()
    pytester.inline_run(*FAST, "--greencode", "--greencode-json=results.json", plugins=[kept])
    assert [t["node_id"] for t in results(pytester)["tests"]] == ["test_energy.py::test_one"]
    assert (kept.records, kept.outcome) == ({}, None)


INTERRUPTED_SUITE = """
def test_first():
    pass

def test_ctrl_c():
    raise KeyboardInterrupt

def test_never_reached():
    pass
"""


def test_an_interrupted_run_shows_what_it_measured_and_saves_compares_and_writes_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, INTERRUPTED_SUITE)
    # in process, pytester raises the inner run's KeyboardInterrupt again unless told not to
    plain = pytester.runpytest(*FAST, "-p", "no:greencode", no_reraise_ctrlc=True)
    result = pytester.runpytest(
        *FAST, "--greencode-save", "--greencode-json", "results.json", no_reraise_ctrlc=True
    )
    assert result.ret == plain.ret == pytest.ExitCode.INTERRUPTED
    assert result.parseoutcomes() == plain.parseoutcomes()
    result.stdout.fnmatch_lines(
        [
            "test_energy.py::test_first  1 J/test",
            "warning: the run was interrupted: 1 test measured before it stopped (shown above); nothing was "
            "saved, compared or written",
        ]
    )
    assert not (pytester.path / "results.json").exists()
    assert not (pytester.path / ".greencode").exists()


def test_a_run_interrupted_before_any_measurement_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, "def test_ctrl_c():\n    raise KeyboardInterrupt\n")
    result = pytester.runpytest(*FAST, "--greencode", no_reraise_ctrlc=True)
    result.stdout.fnmatch_lines(["warning: the run was interrupted: no measurement reached greencode *"])


def test_a_failed_test_using_the_energy_fixture_is_neither_recorded_nor_saved(
    pytester: pytest.Pytester,
) -> None:
    make_project(
        pytester,
        """
def test_fails_after_measuring(energy):
    energy(sum, [1, 2])
    assert False

def test_passes(energy):
    energy(sum, [1, 2])
""",
    )
    result = run(pytester, "--greencode-save", "--greencode-json=results.json")
    result.assert_outcomes(passed=1, failed=1)
    assert [t["node_id"] for t in results(pytester)["tests"]] == ["test_energy.py::test_passes"]
    saved = json.loads((pytester.path / ".greencode" / "baseline.json").read_text())
    assert list(saved["entries"]) == ["test_energy.py::test_passes"]


def test_energy_fixture_measures_per_call_and_returns_the_result(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=2.0)
    make_project(
        pytester,
        """
def test_pedantic(energy):
    prepared = []
    result = energy.pedantic(
        sorted, args=([3, 1, 2],), rounds=3, iterations=4, setup=lambda: prepared.append(1)
    )
    assert result == [1, 2, 3]
    assert len(prepared) == 3
    assert energy.profile.samples_j == (0.5, 0.5, 0.5)

def test_calibrated(energy):
    assert energy(sum, range(10)) == 45
""",
    )
    run(pytester, "--greencode", "--greencode-json=results.json").assert_outcomes(passed=2)
    tests = {t["node_id"].split("::")[1]: t for t in results(pytester)["tests"]}
    assert tests["test_pedantic"]["per"] == "call" and tests["test_pedantic"]["source"] == "energy"
    assert (
        tests["test_pedantic"]["samples_j"] == [0.5, 0.5, 0.5] and tests["test_pedantic"]["iterations"] == 4
    )
    assert tests["test_calibrated"]["rounds"] == 5 and tests["test_calibrated"]["iterations"] >= 1


ASYNC_AND_GENERATOR = """
import asyncio

done = []

async def fetch(n):
    await asyncio.sleep(0)
    done.append(n)
    return n + 1

def numbers(n):
    for i in range(n):
        done.append(i)
        yield i

def test_async(energy):
    done.clear()
    assert energy(fetch, 1) == 2
    assert done and set(done) == {1}

def test_generator(energy):
    done.clear()
    assert energy(numbers, 3) is None
    assert done[:3] == [0, 1, 2]
"""


@pytest.mark.parametrize("measuring", [True, False])
def test_energy_fixture_runs_coroutine_functions_and_consumes_generators(
    pytester: pytest.Pytester, measuring: bool
) -> None:
    make_project(pytester, ASYNC_AND_GENERATOR)
    result = run(pytester, *(["--greencode"] if measuring else []))
    result.assert_outcomes(passed=2)
    assert "never awaited" not in result.stdout.str()


def test_energy_pedantic_takes_pytest_benchmarks_signature_and_setup(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=2.0)
    make_project(
        pytester,
        """
torn = []

def make():
    return ([3, 1, 2],), {"reverse": True}

def down(data, reverse):
    torn.append(data)

def test_positional(energy):
    # target, args, kwargs, setup, teardown, rounds, warmup_rounds, iterations: pytest-benchmark's order
    assert energy.pedantic(sorted, (), None, make, down, 2, 1, 1) == [3, 2, 1]
    assert torn == [[3, 1, 2]] * 3
    assert energy.profile.rounds == 2

def test_setup_with_args_too(energy):
    energy.pedantic(sorted, args=([1],), setup=make)
""",
    )
    result = run(pytester, "--greencode")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*TypeError: setup returned arguments, so args and kwargs cannot be given*"])


def test_energy_pedantic_setup_returning_arguments_works_without_measuring(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
def test_unmeasured(energy):
    assert energy.pedantic(sorted, setup=lambda: (([2, 1],), {})) == [1, 2]
"""
    )
    run(pytester).assert_outcomes(passed=1)


def test_an_unmeasured_test_calls_the_energy_fixtures_function_once(pytester: pytest.Pytester) -> None:
    make_project(
        pytester,
        """
import pytest

calls = []

@pytest.mark.greencode(skip=True)
def test_unmeasured(energy):
    energy(calls.append, 1)
    assert len(calls) == 1 and energy.profile is None
""",
    )
    run(pytester, "--greencode").assert_outcomes(passed=1)


def test_energy_fixture_measures_one_function_per_test(pytester: pytest.Pytester) -> None:
    make_project(pytester, "def test_twice(energy):\n    energy(len, 'a')\n    energy(len, 'b')\n")
    result = run(pytester, "--greencode")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the energy fixture measures one function per test*"])


def test_pytest_benchmark_rounds_get_their_energy(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # pytest-benchmark switches off inside xdist
    script(monkeypatch, energy_j=3.0)
    make_project(
        pytester,
        """
def test_bench(benchmark):
    assert benchmark.pedantic(sum, args=([1, 2],), rounds=4, iterations=3, warmup_rounds=2) == 3
""",
    )
    result = run(pytester, "--greencode", "--greencode-json=results.json", "--benchmark-json=bench.json")
    result.assert_outcomes(passed=1)
    (test,) = results(pytester)["tests"]
    # only the 4 measured rounds (not the 2 warm-up rounds), 3 J per round of 3 calls
    assert (test["source"], test["per"], test["samples_j"], test["iterations"]) == (
        "benchmark",
        "call",
        [1.0] * 4,
        3,
    )
    extra = json.loads((pytester.path / "bench.json").read_text())["benchmarks"][0]["extra_info"]
    assert (
        extra["energy_j"] == 1.0 and extra["energy_estimated"] is True and extra["energy_meter"] == "scripted"
    )


def test_a_benchmark_budget_that_cannot_be_checked_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=3.0)
    make_project(
        pytester,
        """
import pytest

@pytest.mark.energy_budget(joules=1)
def test_bench(benchmark):
    assert benchmark(sum, [1, 2]) == 3
""",
    )
    result = run(pytester, "--greencode", "--benchmark-disable")  # as under xdist: no rounds to measure
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["warning: test_energy.py::test_bench: its energy budget per call was not checked: the whole test*"]
    )


def test_pytest_benchmark_runs_as_usual_without_greencode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_bench(benchmark):\n    assert benchmark(sum, [1, 2]) == 3\n")
    pytester.runpytest(*FAST, "--benchmark-disable").assert_outcomes(passed=1)


def test_a_measuring_run_adds_only_the_call_and_teardown_hooks_per_test(pytester: pytest.Pytester) -> None:
    # hooks cost pluggy a call per test each: a run without include_setup or bad markers has no setup hook
    pytester.makeconftest(
        """
def pytest_collection_finish(session):
    hooks = session.config.pluginmanager.hook
    for name in ("pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_teardown"):
        impls = getattr(hooks, name).get_hookimpls()
        plugins = [i.plugin_name for i in impls if "greencode" in i.plugin_name]
        print(name, sorted(plugins))
"""
    )
    pytester.makepyfile(SIMPLE)
    result = run(pytester, "--greencode", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "pytest_runtest_setup []",
            "pytest_runtest_call ['greencode-run']",
            "pytest_runtest_teardown ['greencode-run']",
        ]
    )


def test_a_measured_tests_rounds_leave_its_stash_once_recorded(pytester: pytest.Pytester) -> None:
    # a long run keeps every item: rounds left on their stashes would be live objects for every collection
    pytester.makeconftest(
        """
from pytest_greencode.keys import CALLS_KEY

def pytest_sessionfinish(session):
    left = [item.nodeid for item in session.items if CALLS_KEY in item.stash]
    (session.config.rootpath / "left.txt").write_text(repr(left))
"""
    )
    pytester.makepyfile(SIMPLE)
    run(pytester, "--greencode", "--greencode-json", "results.json").assert_outcomes(passed=1)
    assert [r["node_id"] for r in results(pytester)["tests"]] == [
        "test_a_measured_tests_rounds_leave_its_stash_once_recorded.py::test_one"
    ]
    assert (pytester.path / "left.txt").read_text() == "[]"


def test_tests_measured_alike_share_one_plan(pytester: pytest.Pytester) -> None:
    # every item keeps its plan for the whole run: one object per distinct plan, not one per test
    pytester.makeconftest(
        """
from pytest_greencode.keys import PLAN_KEY

def pytest_sessionfinish(session):
    plans = {id(item.stash[PLAN_KEY]) for item in session.items}
    (session.config.rootpath / "plans.txt").write_text(str(len(plans)))
"""
    )
    pytester.makepyfile(
        """
import pytest

@pytest.mark.parametrize("n", range(5))
def test_alike(n):
    assert n >= 0

@pytest.mark.greencode(rounds=2)
def test_other():
    pass
"""
    )
    run(pytester, "--greencode").assert_outcomes(passed=6)
    assert (pytester.path / "plans.txt").read_text() == "2"


def test_a_tests_plan_reads_the_markers_pytest_finds_closest(pytester: pytest.Pytester) -> None:
    # the planner looks up a class's and a module's markers once for all their tests: what it finds must be
    # what item.get_closest_marker finds, at every level and with the nearest one winning
    pytester.makepyfile(
        """
import pytest

pytestmark = [pytest.mark.energy_budget("9 J"), pytest.mark.greencode(rounds=4)]

def test_module_level():
    pass

@pytest.mark.greencode(rounds=2)
@pytest.mark.greencode(rounds=3)
def test_own_first_wins():
    pass

@pytest.mark.greencode(skip=True)
class TestMarked:
    def test_from_class(self):
        pass

    @pytest.mark.energy_budget("1 J")
    @pytest.mark.greencode(rounds=5)
    def test_own_over_class(self):
        pass

    @pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.greencode(rounds=6))])
    def test_param(self, n):
        pass
"""
    )
    items, _ = pytester.inline_genitems()
    from pytest_greencode.markers import Planner

    planner = Planner(1, False)
    found = {item.name: planner._closest(item) for item in items}
    expected = {
        item.name: (item.get_closest_marker("greencode"), item.get_closest_marker("energy_budget"))
        for item in items
    }
    assert found == expected
    assert {name: (g.kwargs, b.args) for name, (g, b) in found.items()} == {
        "test_module_level": ({"rounds": 4}, ("9 J",)),
        "test_own_first_wins": ({"rounds": 3}, ("9 J",)),
        "test_from_class": ({"skip": True}, ("9 J",)),
        "test_own_over_class": ({"rounds": 5}, ("1 J",)),
        "test_param[1]": ({"skip": True}, ("9 J",)),
        "test_param[2]": ({"rounds": 6}, ("9 J",)),
    }


def test_a_test_whose_teardown_fails_keeps_no_record(pytester: pytest.Pytester) -> None:
    # its record is kept once its teardown has ended; a teardown that raises ends the test with an error
    pytester.makepyfile(
        """
import pytest

@pytest.fixture
def broken():
    yield
    raise RuntimeError("teardown failed")

def test_torn(broken):
    pass

def test_fine():
    pass
"""
    )
    result = run(pytester, "--greencode", "--greencode-json", "results.json")
    result.assert_outcomes(passed=2, errors=1)
    assert [r["node_id"] for r in results(pytester)["tests"]] == [
        "test_a_test_whose_teardown_fails_keeps_no_record.py::test_fine"
    ]
