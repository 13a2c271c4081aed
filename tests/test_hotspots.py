"""Where a regression's energy went: the grown-functions diff, its place in the gate's output and advice."""

from __future__ import annotations

import glob
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_helpers import make_project, results, run, script

from greencode.config import CarbonConfig
from greencode.hotspots import (
    C_ONLY_NOTE,
    NOISE_SHARE,
    Growth,
    Hotspots,
    grown_functions,
    hotspot_lines,
    hotspots_note,
    regression_hotspots,
)
from greencode.report import render
from greencode.report.loaders import load_report
from greencode.report.model import Report

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def test_the_function_that_grew_most_comes_first() -> None:
    before = {"a.py:small": 1_000_000, "a.py:big": 5_000_000}
    after = {"a.py:small": 1_400_000, "a.py:big": 6_000_000}
    rows = grown_functions(before, after)
    assert [row.function for row in rows] == ["a.py:big", "a.py:small"]
    assert rows[0].added == 1_000_000
    assert rows[1].relative == pytest.approx(0.4)


def test_a_function_new_in_the_run_counts_its_whole_cost_and_has_no_percentage() -> None:
    (row,) = grown_functions({"a.py:f": 1_000_000}, {"a.py:f": 1_000_000, "a.py:g": 300_000})
    assert (row.function, row.before, row.added, row.new, row.relative) == ("a.py:g", 0, 300_000, True, None)
    assert row.describe() == "a.py:g +300,000 instructions (new)"


def test_functions_that_shrank_or_vanished_are_not_where_the_energy_went() -> None:
    before = {"a.py:f": 1_000_000, "a.py:gone": 500_000}
    after = {"a.py:f": 900_000}
    assert grown_functions(before, after) == ()


def test_growth_below_the_noise_share_of_the_test_is_left_out() -> None:
    before = {"a.py:f": 10_000_000, "a.py:g": 10_000}
    after = {"a.py:f": 10_040_000, "a.py:g": 70_000}  # +0.4 % and +0.6 % of the test
    assert [row.function for row in grown_functions(before, after)] == ["a.py:g"]


def test_of_a_caller_and_its_callee_grown_by_the_same_work_the_callee_comes_first() -> None:
    before = {"t.py:test_x": 2_000_000, "r.py:helper": 1_500_000, "r.py:factor": 1_000_000}
    after = {"t.py:test_x": 3_400_100, "r.py:helper": 2_900_050, "r.py:factor": 2_400_000}  # inclusive
    rows = grown_functions(before, after)
    assert [row.function for row in rows] == ["r.py:factor", "r.py:helper", "t.py:test_x"]


def test_python_functions_come_before_c_functions_that_grew_more() -> None:
    before = {"r.py:factor": 1_000_000, "Objects/longobject.c:l_mod": 3_000_000}
    after = {"r.py:factor": 1_100_000, "Objects/longobject.c:l_mod": 3_500_000}
    rows = grown_functions(before, after)
    assert [row.function for row in rows] == ["r.py:factor", "Objects/longobject.c:l_mod"]


def test_rows_of_c_functions_only_say_once_that_python_names_need_python_3_12() -> None:
    c_only = Hotspots("t::a", (Growth("Python/ceval.c:_PyEval_EvalFrameDefault", 10, 20),))
    lines = hotspot_lines([c_only, Hotspots("t::b", c_only.rows)])
    assert [line for line in lines if "Python 3.12" in line] == [f"note: {C_ONLY_NOTE}"]


def test_rows_naming_a_python_function_need_no_note() -> None:
    named = Hotspots("t::a", (Growth("r.py:factor", 10, 20), Growth("Python/ceval.c:f", 10, 20)))
    assert hotspots_note([named]) is None
    assert named.to_dict()["python_names"] is True


def test_markdown_report_says_when_only_c_functions_are_named() -> None:
    spot = Hotspots("t::a", (Growth("Python/ceval.c:_PyEval_EvalFrameDefault", 10, 20),))
    report = Report(source="unit", kind="pytest", carbon=CarbonConfig(), tests=(), hotspots=(spot,))
    assert f"> note: {C_ONLY_NOTE}" in render(report, "md")


def test_rows_are_limited_to_the_few_largest() -> None:
    before = {f"a.py:f{i}": 1000 for i in range(10)}
    after = {f"a.py:f{i}": 1000 + 100 * (i + 1) for i in range(10)}
    rows = grown_functions(before, after, limit=3)
    assert [row.function for row in rows] == ["a.py:f9", "a.py:f8", "a.py:f7"]


@given(
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 10**9)),
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 10**9)),
)
def test_rows_grow_above_the_noise_and_are_ordered_by_growth(
    before: dict[str, int], after: dict[str, int]
) -> None:
    rows = grown_functions(before, after)
    floor = max(1.0, NOISE_SHARE * max(sum(before.values()), sum(after.values())))
    assert all(row.added >= floor and row.after == after[row.function] for row in rows)
    # largest growth first; a later row outgrows an earlier one only by less than the noise floor
    assert all(
        later.added - earlier.added < floor for i, earlier in enumerate(rows) for later in rows[i + 1 :]
    )


def test_only_regressed_tests_with_functions_on_both_sides_get_hotspots() -> None:
    now = {"t::a": {"x.py:f": 2000}, "t::b": {"x.py:f": 2000}, "t::c": {}}
    baseline = {"t::a": {"x.py:f": 1000}, "t::b": {"x.py:f": 1000}, "t::c": {"x.py:f": 1000}}
    (spot,) = regression_hotspots(["t::a", "t::c", "t::d"], now, baseline)
    assert spot.node_id == "t::a"
    assert spot.summary() == "the regression is in `x.py:f`, +100 % instructions"


HOTSPOT = Hotspots("test_r.py::test_factor", (Growth("recipes.py:factor", 1000, 2400),))


def _report() -> Report:
    return Report(source="unit", kind="pytest", carbon=CarbonConfig(), tests=(), hotspots=(HOTSPOT,))


def test_markdown_report_names_the_grown_function_as_code() -> None:
    markdown = render(_report(), "md")
    assert "**Where the energy went**" in markdown
    assert "the regression is in `recipes.py:factor`, +140 % instructions" in markdown
    assert "  - `recipes.py:factor` +1,400 instructions (+140 %)" in markdown


def test_text_report_lists_the_grown_functions() -> None:
    text = render(_report(), "text")
    assert "test_r.py::test_factor: the regression is in `recipes.py:factor`, +140 % instructions" in text
    assert "  recipes.py:factor +1,400 instructions (+140 %)" in text


def test_report_json_carries_hotspots_and_reads_them_back(tmp_path: pytest.TempPathFactory) -> None:
    document = json.loads(render(_report(), "json"))
    assert document["hotspots"] == [
        {
            "node_id": "test_r.py::test_factor",
            "functions": [
                {
                    "function": "recipes.py:factor",
                    "before": 1000,
                    "after": 2400,
                    "added": 1400,
                    "relative": 1.4,
                }
            ],
            "python_names": True,
        }
    ]
    path = tmp_path / "report.json"  # type: ignore[operator]
    path.write_text(json.dumps(document))
    assert load_report(path).hotspots == (HOTSPOT,)


RECIPES = """
def other(lines, wanted):
    allowed = list(wanted)
    return [x for x in lines if x in allowed]


def factor(items, wanted):
    allowed = list(wanted)
    out = []
    for item in items:
        if item in allowed:
            out.append(item)
    return out
"""
SUITE = """
from recipes import factor, other

def test_factor():
    factor(range(10), range(5))

def test_other():
    other(range(10), range(5))
"""
FACTOR = "test_energy.py::test_factor"


def test_a_regressed_test_shows_its_grown_functions_and_advice_starts_inside_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE)  # with the largest repeat budget: a regression needs 3 rounds
    pytester.makepyfile(recipes=RECIPES)
    base = {"recipes.py:factor": 1_000_000, "recipes.py:other": 3_000_000}
    script(monkeypatch, energy_j=0.05, functions={"*": base})
    run(pytester, "--greencode-save").assert_outcomes(passed=2)
    grown = {"recipes.py:factor": 2_400_000, "recipes.py:other": 3_000_000}
    script(monkeypatch, energy_j=0.05, scale={FACTOR: 2.5}, functions={FACTOR: grown, "*": base})
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run(pytester, "--greencode-compare", "--greencode-json", "results.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            f"  regression: {glob.escape(FACTOR)}: *",
            "    the regression is in `recipes.py:factor`, +140 % instructions",
            "      recipes.py:factor +1,400,000 instructions (+140 %)",
            "tactics for the code changed since the last commit and in the files of the functions that grew:",
            "  recipes.py:10: GRN001 * (in factor(), 100 % of the growth in instructions *)",
        ]
    )
    document = results(pytester)
    assert document["hotspots"][0]["node_id"] == FACTOR
    assert document["hotspots"][0]["functions"][0]["function"] == "recipes.py:factor"
    assert "  - `recipes.py:factor` +1,400,000 instructions (+140 %)" in summary.read_text()
    assert load_report(pytester.path / "results.json").hotspots[0].rows[0].function == "recipes.py:factor"
    findings = document["advice"]["findings"]
    # `other` comes first in the file; the advice puts the finding inside the grown function first
    assert [f["line"] for f in findings][:2] == [10, 3]


def test_without_hotspots_the_advice_ranks_by_the_runs_measured_instructions() -> None:
    from greencode.outcome import advice_profile
    from greencode.records import TestRecord

    def record(node_id: str, functions: dict[str, int]) -> TestRecord:
        return TestRecord(node_id, "test", (1.0,), 0.1, 0.1, "instructions", True, functions=functions)

    profile = advice_profile(
        (record("t::a", {"x.py:f": 300}), record("t::b", {"x.py:f": 100, "x.py:g": 600})), ()
    )
    assert profile is not None
    assert {(e.file, e.function, e.cost) for e in profile.entries} == {
        ("x.py", "f", 400.0),
        ("x.py", "g", 600.0),
    }
    assert advice_profile((record("t::a", {}),), ()) is None


def test_a_new_gate_decision_on_stored_results_leaves_the_runs_own_hotspots_out() -> None:
    from greencode.gate import GateReport, GateSettings
    from greencode.report.gating import with_gate

    assert with_gate(_report(), GateReport(GateSettings())).hotspots == ()
