"""``greencode compare``: loading candidates, interleaved balanced rounds, the equality check, the ranking."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakes import make_fake_powercap
from hypothesis import given
from hypothesis import strategies as st
from run_cli import run_greencode

import greencode
from greencode import testing
from greencode.cli import main
from greencode.compare import (
    Candidate,
    CompareError,
    Ranking,
    check_equal,
    format_ratio,
    load_candidate,
    median_interval,
    rank,
    render_text,
)
from greencode.config import Config
from greencode.report.leaderboard import leaderboard_rows
from greencode.stats import balanced_orders

# ---------------------------------------------------------------------------------------------------------
# helpers


class Costs:
    """Candidates that declare what each call costs; the scripted meter charges exactly that per window."""

    def __init__(self) -> None:
        self.pending = 0.0

    def candidate(self, label: str, joules: float, value: Any = None) -> Candidate:
        def call() -> Any:
            self.pending += joules
            return value

        return Candidate(label, call, f"test:{label}")

    def window(self) -> float:
        spent, self.pending = self.pending, 0.0
        return spent


@pytest.fixture
def costs(scripted: None) -> Costs:
    charged = Costs()
    testing.script(charged.window)
    return charged


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------
# loading candidates


def test_a_file_spec_loads_the_function_and_labels_it_with_the_file_name(tmp_path: Path) -> None:
    write(tmp_path / "pair.py", "def slow():\n    return 41 + 1\n")
    candidate = load_candidate(f"{tmp_path / 'pair.py'}:slow")
    assert candidate.function() == 42
    assert candidate.label == "pair.py:slow"


def test_a_module_spec_loads_the_function() -> None:
    candidate = load_candidate("greencode.classroom.demo:count_known_in_set")
    assert candidate.function() == 500
    assert candidate.label == "greencode.classroom.demo:count_known_in_set"


def test_a_dotted_name_reaches_a_method(tmp_path: Path) -> None:
    write(tmp_path / "ways.py", "class Ways:\n    @staticmethod\n    def fast():\n        return 'ok'\n")
    assert load_candidate(f"{tmp_path / 'ways.py'}:Ways.fast").function() == "ok"


def test_a_relative_file_resolves_against_the_given_directory(tmp_path: Path) -> None:
    write(tmp_path / "ex" / "code.py", "def f():\n    return 1\n")
    assert load_candidate("code.py:f", relative_to=tmp_path / "ex").function() == 1


def test_two_files_with_the_same_name_do_not_clash(tmp_path: Path) -> None:
    write(tmp_path / "a" / "solution.py", "def answer():\n    return 'a'\n")
    write(tmp_path / "b" / "solution.py", "def answer():\n    return 'b'\n")
    first = load_candidate(f"{tmp_path / 'a' / 'solution.py'}:answer")
    second = load_candidate(f"{tmp_path / 'b' / 'solution.py'}:answer")
    assert (first.function(), second.function()) == ("a", "b")


def test_a_file_can_import_its_neighbours(tmp_path: Path) -> None:
    write(tmp_path / "helpers_for_compare_test.py", "VALUE = 7\n")
    write(tmp_path / "main.py", "from helpers_for_compare_test import VALUE\n\ndef f():\n    return VALUE\n")
    assert load_candidate(f"{tmp_path / 'main.py'}:f").function() == 7


@pytest.mark.parametrize("spec", ["no_colon", "file.py:", ":function"])
def test_a_malformed_spec_shows_the_expected_forms(spec: str) -> None:
    with pytest.raises(CompareError, match=r"expected module:function or path/to/file\.py:function"):
        load_candidate(spec)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CompareError, match=r"file not found: .*nowhere\.py"):
        load_candidate(f"{tmp_path / 'nowhere.py'}:f")


def test_a_missing_function_is_named_with_close_matches(tmp_path: Path) -> None:
    write(tmp_path / "pair.py", "def green():\n    pass\n\ndef wasteful():\n    pass\n")
    with pytest.raises(CompareError, match=r"no function 'gren' in .*pair\.py; did you mean green\?"):
        load_candidate(f"{tmp_path / 'pair.py'}:gren")


def test_a_value_that_is_not_callable_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "pair.py", "LIMIT = 3\n")
    with pytest.raises(CompareError, match="LIMIT is not a function but a value of type int"):
        load_candidate(f"{tmp_path / 'pair.py'}:LIMIT")


def test_a_function_that_needs_arguments_is_refused_when_loaded(tmp_path: Path) -> None:
    write(tmp_path / "pair.py", "def scale(values, factor=2):\n    return values\n")
    with pytest.raises(
        CompareError, match=r"scale needs an argument \(values\); candidates are called with "
    ):
        load_candidate(f"{tmp_path / 'pair.py'}:scale")


def test_an_instance_method_is_refused_with_the_way_to_wrap_it(tmp_path: Path) -> None:
    write(tmp_path / "algo.py", "class Algo:\n    def run(self):\n        return 1\n")
    with pytest.raises(
        CompareError, match=r"Algo\.run is a method: it needs an instance of Algo; write a function"
    ):
        load_candidate(f"{tmp_path / 'algo.py'}:Algo.run")


def test_class_and_static_methods_load(tmp_path: Path) -> None:
    write(
        tmp_path / "algo.py",
        "class Algo:\n    @classmethod\n    def make(cls):\n        return 1\n"
        "    @staticmethod\n    def fast():\n        return 2\n",
    )
    assert load_candidate(f"{tmp_path / 'algo.py'}:Algo.make").function() == 1
    assert load_candidate(f"{tmp_path / 'algo.py'}:Algo.fast").function() == 2


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("def numbers():\n    yield 1\n", "a generator function"),
        ("async def numbers():\n    return 1\n", "an async function"),
    ],
)
def test_a_function_whose_call_does_no_work_is_refused(tmp_path: Path, source: str, kind: str) -> None:
    write(tmp_path / "lazy.py", source)
    with pytest.raises(CompareError, match=f"numbers is {kind}: calling it"):
        load_candidate(f"{tmp_path / 'lazy.py'}:numbers")


def test_an_import_error_carries_the_exception_text_and_place(tmp_path: Path) -> None:
    write(tmp_path / "broken.py", "x = 1\nraise RuntimeError('database unreachable')\n")
    with pytest.raises(CompareError) as raised:
        load_candidate(f"{tmp_path / 'broken.py'}:f")
    message = str(raised.value)
    assert "importing" in message and "RuntimeError: database unreachable (at broken.py:2)" in message
    assert "\n" not in message


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "typo.py", "def f(:\n")
    with pytest.raises(CompareError, match=r"SyntaxError: .*typo\.py, line 1"):
        load_candidate(f"{tmp_path / 'typo.py'}:f")


def test_an_unknown_module_says_where_modules_are_looked_for() -> None:
    with pytest.raises(CompareError, match="no module named 'no_such_module_xyz'; run from the directory"):
        load_candidate("no_such_module_xyz:f")


def test_a_module_failing_on_its_own_import_reports_that_import(tmp_path: Path, monkeypatch: Any) -> None:
    write(tmp_path / "needs_missing_dep.py", "import missing_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(CompareError, match="importing needs_missing_dep failed: ModuleNotFoundError"):
        load_candidate("needs_missing_dep:f")


# ---------------------------------------------------------------------------------------------------------
# balanced, interleaved order


def test_two_candidates_alternate_abba() -> None:
    assert balanced_orders(2) == ((0, 1), (1, 0))


@given(st.integers(min_value=1, max_value=9))
def test_every_candidate_runs_in_every_position_equally_often(count: int) -> None:
    orders = balanced_orders(count)
    assert all(sorted(order) == list(range(count)) for order in orders)
    each = len(orders) // count
    for position in range(count):
        assert Counter(order[position] for order in orders) == dict.fromkeys(range(count), each)


@given(st.integers(min_value=2, max_value=9))
def test_every_candidate_follows_every_other_equally_often(count: int) -> None:
    pairs = Counter(pair for order in balanced_orders(count) for pair in itertools.pairwise(order))
    assert len(pairs) == count * (count - 1)
    assert len(set(pairs.values())) == 1


def test_rounds_run_interleaved_in_the_balanced_order(costs: Costs) -> None:
    ranking = rank([costs.candidate("a", 1.0), costs.candidate("b", 2.0)], rounds=4)
    assert ranking.schedule == (("a", "b"), ("b", "a"), ("a", "b"), ("b", "a"))


def test_rounds_are_rounded_up_to_whole_balanced_cycles(costs: Costs) -> None:
    candidates = [costs.candidate(name, 1.0) for name in "abc"]
    ranking = rank(candidates, rounds=4)
    assert ranking.rounds == 6 and len(ranking.schedule) == 6
    assert all(len(result.samples_j) == 6 for result in ranking.results)


def test_fewer_than_two_candidates_are_refused(costs: Costs) -> None:
    with pytest.raises(CompareError, match="at least two candidates"):
        rank([costs.candidate("a", 1.0)])


def test_rounds_below_one_are_refused(costs: Costs) -> None:
    with pytest.raises(CompareError, match="rounds must be 1 or more, not 0"):
        rank([costs.candidate("a", 1.0), costs.candidate("b", 2.0)], rounds=0)


def test_the_same_label_twice_is_refused(costs: Costs) -> None:
    with pytest.raises(CompareError, match="candidate a is given twice"):
        rank([costs.candidate("a", 1.0), costs.candidate("a", 2.0)])


# ---------------------------------------------------------------------------------------------------------
# equality check and failing candidates


def test_equal_results_pass_the_check() -> None:
    check_equal([Candidate("a", lambda: [1, 2]), Candidate("b", lambda: [1, 2])])


def test_differing_results_name_the_candidates_and_values() -> None:
    candidates = [Candidate("list", lambda: 3), Candidate("set", lambda: 3), Candidate("bad", lambda: 4)]
    with pytest.raises(CompareError, match="list returned 3, but bad returned 4") as raised:
        check_equal(candidates)
    assert "set returned" not in str(raised.value)


def test_results_that_cannot_be_compared_are_reported() -> None:
    class Ambiguous:
        def __eq__(self, other: object) -> bool:
            raise ValueError("truth value is ambiguous")

    with pytest.raises(CompareError, match=r"cannot compare the results of a and b with == \(ValueError"):
        check_equal([Candidate("a", Ambiguous), Candidate("b", Ambiguous)])


def test_compare_checks_results_before_measuring_when_asked(costs: Costs) -> None:
    candidates = [costs.candidate("a", 1.0, value=1), costs.candidate("b", 1.0, value=2)]
    with pytest.raises(CompareError, match="different results"):
        rank(candidates, rounds=2, check_results=True)


def test_a_raising_candidate_stops_the_comparison_with_its_name(costs: Costs) -> None:
    def broken() -> None:
        raise KeyError("missing")

    with pytest.raises(CompareError, match=r"broken raised KeyError: 'missing' \(at test_compare\.py"):
        rank([costs.candidate("fine", 1.0), Candidate("broken", broken)], rounds=2)


# ---------------------------------------------------------------------------------------------------------
# ranking and results


def test_candidates_are_ranked_by_energy_per_call_with_ratio_to_the_best(costs: Costs) -> None:
    ranking = rank(
        [costs.candidate("wasteful", 3.0), costs.candidate("middle", 1.5), costs.candidate("green", 1.0)],
        rounds=6,
    )
    assert [r.label for r in ranking.results] == ["green", "middle", "wasteful"]
    assert [r.rank for r in ranking.results] == [1, 2, 3]
    assert [r.median_j for r in ranking.results] == pytest.approx([1.0, 1.5, 3.0])
    wasteful = ranking.results[2]
    assert wasteful.ratio.estimate == pytest.approx(3.0)
    assert wasteful.ratio.low == pytest.approx(3.0) and wasteful.ratio.high == pytest.approx(3.0)
    assert ranking.best.ratio.estimate == 1.0


def test_each_candidate_gets_its_own_iteration_count(scripted: None) -> None:
    testing.script([1.0])

    def slow() -> None:
        sum(range(20_000))

    ranking = rank([Candidate("fast", lambda: None), Candidate("slow", slow)], rounds=2)
    iterations = {r.label: r.iterations for r in ranking.results}
    assert iterations["fast"] > iterations["slow"]


def test_results_say_they_are_estimated_and_where_figures_come_from(costs: Costs) -> None:
    ranking = rank([costs.candidate("a", 1.0), costs.candidate("b", 2.0)], rounds=2)
    assert ranking.estimated
    assert ranking.provenance == {"scripted": "scripted: greencode.testing (not a real measurement)"}
    assert ranking.meter == "scripted"
    assert not ranking.machine_wide
    text = render_text(ranking)
    assert "ESTIMATES, not measurements" in text and "scripted: greencode.testing" in text


def test_hardware_figures_are_called_measured_and_whole_machine_caveats_shown(tmp_path: Path) -> None:
    powercap = make_fake_powercap(tmp_path / "powercap", packages=1, domains=("package",))
    greencode.configure(Config(root=tmp_path, meter="rapl", powercap_root=powercap.root, output="none"))
    try:

        def spend(microjoules: int) -> Callable[[], None]:
            return lambda: powercap.add("intel-rapl:0", microjoules)

        ranking = rank([Candidate("small", spend(100)), Candidate("large", spend(300))], rounds=2)
    finally:
        greencode.configure(Config(root=tmp_path, output="none"))
    assert not ranking.estimated and ranking.machine_wide
    assert ranking.results[1].ratio.estimate == pytest.approx(3.0)
    text = render_text(ranking)
    assert "These figures are measured by rapl" in text and "ESTIMATES" not in text
    assert "Whole-machine counters include idle power" in text


def test_text_report_warns_when_too_few_rounds_for_the_interval(costs: Costs) -> None:
    ranking = rank([costs.candidate("a", 1.0), costs.candidate("b", 2.0)], rounds=2)
    assert ranking.confidence == 0.5
    assert "too few rounds for 95%" in render_text(ranking)


def test_json_form_is_strict_json_with_the_schema_and_every_candidate(costs: Costs) -> None:
    ranking = rank([costs.candidate("a", 2.0), costs.candidate("b", 1.0)], rounds=2)
    data = json.loads(json.dumps(ranking.to_dict(), allow_nan=False))
    assert data["schema"] == "greencode.compare/1"
    assert data["estimated"] is True and data["meter"] == "scripted"
    assert [c["label"] for c in data["candidates"]] == ["b", "a"]
    assert data["candidates"][1]["ratio"]["median"] == pytest.approx(2.0)
    assert data["candidates"][1]["energy_j"]["median"] == pytest.approx(2.0)
    assert data["schedule"] == [["a", "b"], ["b", "a"]]


def test_a_ratio_to_a_best_of_zero_joules_is_infinite_and_null_in_json(costs: Costs) -> None:
    ranking = rank([costs.candidate("free", 0.0), costs.candidate("paid", 1.0)], rounds=2)
    paid = ranking.results[1]
    assert math.isinf(paid.ratio.estimate)
    assert paid.to_dict()["ratio"]["median"] is None
    assert format_ratio(paid.ratio.estimate) == "∞×"


# ---------------------------------------------------------------------------------------------------------
# statistics helpers


def test_median_interval_of_six_values_is_the_range_at_97_percent() -> None:
    interval = median_interval([5.0, 1.0, 3.0, 2.0, 6.0, 4.0])
    assert (interval.estimate, interval.low, interval.high) == (3.5, 1.0, 6.0)
    assert interval.confidence == pytest.approx(1 - 2 / 64)


def test_median_interval_of_twenty_values_trims_five_from_each_end() -> None:
    interval = median_interval([float(v) for v in range(1, 21)])
    assert (interval.low, interval.high) == (6.0, 15.0)
    assert interval.confidence == pytest.approx(0.9586, abs=1e-4)


def test_median_interval_reports_the_weak_coverage_of_two_values() -> None:
    interval = median_interval([2.0, 1.0])
    assert (interval.low, interval.high, interval.confidence) == (1.0, 2.0, 0.5)


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=60))
def test_median_interval_contains_the_median_and_stays_inside_the_data(values: list[float]) -> None:
    interval = median_interval(values)
    assert min(values) <= interval.low <= interval.estimate <= interval.high <= max(values)
    assert 0 <= interval.confidence < 1


@pytest.mark.parametrize(
    ("ratio", "text"), [(2043.7, "2,044×"), (62.04, "62.0×"), (1.234, "1.23×"), (math.inf, "∞×")]
)
def test_ratios_are_formatted_for_people(ratio: float, text: str) -> None:
    assert format_ratio(ratio) == text


# ---------------------------------------------------------------------------------------------------------
# the command line


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_greencode("compare", *args, cwd=cwd)


def test_with_no_candidates_the_demo_runs_and_says_its_figures_are_estimates(tmp_path: Path) -> None:
    result = run_cli("--rounds", "2", "--meter", "estimate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "built-in demo" in result.stdout and "GT-DS-01" in result.stdout
    table = result.stdout.splitlines()
    first = next(line for line in table if line.startswith("1 "))
    assert "count_known_in_set" in first
    assert "ESTIMATES, not measurements" in result.stdout and "CPU time" in result.stdout
    assert "All candidates returned equal results." in result.stdout


def test_cli_compares_module_specs_from_the_current_directory_and_writes_json(tmp_path: Path) -> None:
    write(tmp_path / "pair_for_cli.py", "def a():\n    return sum(range(10))\n\ndef b():\n    return 45\n")
    options = ("--check-equal", "--rounds", "2", "--json", "out.json")
    result = run_cli("pair_for_cli:a", "pair_for_cli:b", *options, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    assert {c["label"] for c in data["candidates"]} == {"pair_for_cli:a", "pair_for_cli:b"}
    assert data["checked_equal"] is True


def test_cli_check_equal_failure_is_a_one_line_usage_error(tmp_path: Path) -> None:
    write(tmp_path / "pair.py", "def a():\n    return 1\n\ndef b():\n    return 2\n")
    result = run_cli("pair.py:a", "pair.py:b", "--check-equal", cwd=tmp_path)
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("greencode: error: the candidates return different")
    assert "Traceback" not in result.stderr


def test_cli_refuses_a_single_candidate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "greencode.classroom.demo:count_known_in_set"]) == 2
    assert "give two or more candidates" in capsys.readouterr().err


def test_cli_plot_without_matplotlib_says_how_to_install_it_before_measuring(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import importlib.util

    real_find_spec: Callable[..., Any] = importlib.util.find_spec
    hidden = {"matplotlib"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in hidden else real_find_spec(name, *a)
    )
    # the candidates do not exist: the missing plotting library must be reported before anything is loaded
    assert (
        main(["compare", "no_such_module_xyz:a", "no_such_module_xyz:b", "--plot", str(tmp_path / "p")]) == 2
    )
    assert "pip install 'greencode[plot]'" in capsys.readouterr().err


def test_cli_plot_with_an_unknown_image_suffix_is_refused_before_measuring(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    # the candidates do not exist: the bad suffix must be reported before anything is loaded
    args = ["compare", "no_such_module_xyz:a", "no_such_module_xyz:b", "--plot", str(tmp_path / "p.jpg")]
    assert main(args) == 2
    assert "name the file .png or .svg" in capsys.readouterr().err


def test_cli_plot_draws_the_leaderboard(
    costs: Costs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    write(tmp_path / "pair.py", "def a():\n    return 1\n\ndef b():\n    return 1\n")
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "pair.py:a", "pair.py:b", "--rounds", "2", "--plot", "board.png"]) == 0
    assert (tmp_path / "board.png").read_bytes().startswith(b"\x89PNG")


def test_leaderboard_rows_carry_the_paired_ratio_to_the_best(costs: Costs) -> None:
    ranking = rank([costs.candidate("a", 1.0), costs.candidate("b", 3.0)], rounds=2)
    assert [row.ratio for row in leaderboard_rows(ranking)] == [
        result.ratio.estimate for result in ranking.results
    ]


def test_comparison_is_a_frozen_record(costs: Costs) -> None:
    ranking = rank([costs.candidate("a", 1.0), costs.candidate("b", 2.0)], rounds=2)
    assert isinstance(ranking, Ranking)
    with pytest.raises(AttributeError):
        ranking.rounds = 3  # type: ignore[misc]
