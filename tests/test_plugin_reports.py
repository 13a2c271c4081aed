"""What a measuring run leaves behind: JSON results, JUnit properties, the step summary, the history."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from plugin_helpers import SCRIPTED, make_project, results, run, script

from greencode.history import History

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

SUITE = """
def test_a():
    pass

def test_b(energy):
    energy.pedantic(len, args=("x",), rounds=2, iterations=2)
"""


def test_json_results_follow_the_documented_schema(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, SUITE, rounds=2)
    run(pytester, "--greencode-save")
    run(pytester, "--greencode-compare", "--greencode-json=out/results.json").assert_outcomes(passed=2)
    data = results(pytester, "out/results.json")
    assert (data["schema"], data["version"]) == ("greencode-results", 1)
    assert set(data) == {
        "schema", "version", "greencode_version", "run", "fingerprint", "settings", "tests", "gate",
        "baseline_saved", "advice", "hotspots", "warnings", "footprint",
    }  # fmt: skip
    assert {"id", "started", "commit", "branch", "dirty", "meter", "estimated", "xdist_workers"} <= set(
        data["run"]
    )
    assert data["fingerprint"]["meter"] == "scripted" and "cpu_model" in data["fingerprint"]
    a, b = data["tests"]
    assert (a["node_id"], a["per"], a["samples_j"], a["rounds"]) == (
        "test_energy.py::test_a",
        "test",
        [1.0, 1.0],
        2,
    )
    assert (b["per"], b["samples_j"], b["source"]) == ("call", [0.5, 0.5], "energy")
    assert a["summary"]["median"] == 1.0 and a["estimated"] is True
    gate = data["gate"]
    assert gate["compared"] and not gate["failed"] and gate["exit_code"] == 0
    assert [c["verdict"] for c in gate["comparisons"]] == ["unchanged", "unchanged"]
    assert {"change", "ci_low", "ci_high", "p", "p_adjusted", "noise_cv", "reason"} <= set(
        gate["comparisons"][0]
    )
    suite = gate["suite"]
    assert {"verdict", "line", "compared", "current_j", "baseline_j", "change", "ci_low", "ci_high"} <= set(
        suite
    )
    # the energy fixture's test counts per call: not added to the per-test total
    assert (suite["verdict"], suite["compared"], suite["excluded"]) == (
        "unchanged",
        1,
        ["test_energy.py::test_b"],
    )
    assert gate["total_budget"] is None
    assert {"line", "run_s", "tests_s", "added_s", "added_j", "added_j_estimated", "parts"} <= set(
        data["footprint"]
    )


def test_junit_xml_gets_energy_properties(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    script(monkeypatch, energy_j=2.0)
    make_project(pytester, SUITE, rounds=1)
    run(pytester, "--greencode", "--junitxml=junit.xml")
    root = ET.parse(pytester.path / "junit.xml").getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    properties = {p.get("name"): p.get("value") for p in cases["test_a"].iter("property")}
    assert properties == {
        "greencode_energy_j": "2",
        "greencode_per": "test",
        "greencode_estimated": "true",
        "greencode_meter": "scripted",
        "greencode_rounds": "1",
    }
    suite = {
        p.get("name"): p.get("value") for p in root.find("testsuite").find("properties").iter("property")
    }
    assert suite["greencode_gate"] == "passed" and suite["greencode_estimated"] == "true"


def test_github_step_summary_gets_a_markdown_table(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    script(monkeypatch, energy_j=2.0)
    make_project(pytester, SUITE, budgets={"*::test_a": "1 J"})
    run(pytester, "--greencode")
    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert "## greencode energy report: FAILED: 1 over energy budget\n" in text
    assert "| test | energy | CO2e | SCI | status |" in text
    assert "| test_energy.py::test_a | 2 J (est.) |" in text and "| over budget |" in text


def test_every_run_is_appended_to_the_history(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE)
    for energy in (1.0, 1.5):
        script(monkeypatch, energy_j=energy)
        run(pytester, "--greencode")
    with History(pytester.path / ".greencode" / "history.sqlite") as history:
        assert len(history.runs()) == 2
        assert [p.median_j for p in history.series("test_energy.py::test_a")] == [1.0, 1.5]


def test_an_unwritable_history_is_a_warning_not_a_failure(pytester: pytest.Pytester) -> None:
    make_project(pytester, SUITE)
    history = pytester.path / ".greencode" / "history.sqlite"
    history.parent.mkdir()
    history.write_text("not a database at all, " * 100)
    result = run(pytester, "--greencode")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["warning: history not updated: *history.sqlite: not a readable SQLite database*"]
    )


def test_the_terminal_table_shows_the_top_tests_unless_verbose(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(
        pytester, "import pytest\n\n@pytest.mark.parametrize('n', range(15))\ndef test_n(n):\n    pass\n"
    )
    run(pytester, "--greencode").stdout.fnmatch_lines(["... 5 more tests (-v shows all)"])
    assert "more tests" not in run(pytester, "--greencode", "-v").stdout.str()


LONG_NAME = "test_words_are_counted_in_a_long_text_with_many_repetitions_of_the_same_words"


def _narrow_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, path: str, source: str
) -> pytest.RunResult:
    """``pytest --greencode`` in an 80-column terminal on a project whose one test file is ``path``."""
    monkeypatch.setenv("COLUMNS", "80")
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, "")
    (pytester.path / path).parent.mkdir(parents=True, exist_ok=True)
    (pytester.path / path).write_text(source)
    return run(pytester, "--greencode")


def test_long_node_ids_keep_the_file_name_and_the_test_names_ends(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a file name no module of greencode's own suite has: pytester runs in this process
    result = _narrow_run(
        pytester, monkeypatch, "tests/unit/text/test_text_stats.py", f"def {LONG_NAME}():\n    pass\n"
    )
    result.stdout.fnmatch_lines(["…/test_text_stats.py::test_words_are_*…*of_the_same_words  1 J/test"])


def test_parameter_sets_that_shorten_alike_keep_labels_that_tell_them_apart(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as in tomlkit's suite: the middle that shortening drops is what tells the two apart
    source = (
        "import pytest\n\n"
        "@pytest.mark.parametrize('case', [\n"
        "    'literal-multiline-40kb-of-text', 'string-multiline-40kb-of-text'\n"
        "])\n"
        f"def {LONG_NAME}(case):\n    pass\n"
    )
    lines = _narrow_run(pytester, monkeypatch, "test_toml_spec_cases.py", source).stdout.lines
    labels = [line.split("  ")[0] for line in lines if line.endswith("1 J/test")]
    assert len(labels) == 2
    assert sorted("literal" in label for label in labels) == [False, True]
    assert sorted("string" in label for label in labels) == [False, True]


def test_control_characters_in_test_ids_are_shown_escaped_in_the_section(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest escapes ids itself unless told not to; then the section must still stay one line per test
    script(monkeypatch, energy_j=1.0)
    pytester.makepyprojecttoml(
        "[tool.pytest.ini_options]\n"
        "disable_test_id_escaping_and_forfeit_all_rights_to_community_support = true\n"
        f'[tool.greencode]\nmeter = "{SCRIPTED}"\n'
    )
    pytester.makepyfile(
        test_energy="import pytest\n\n"
        "@pytest.mark.parametrize('x', ['a\\nb', '\\x1b[31mred'])\n"
        "def test_x(x):\n    pass\n"
    )
    section = run(pytester, "--greencode").stdout.str().split("greencode: energy per test")[1]
    names = [line.split()[0] for line in section.splitlines() if line.endswith("1 J/test")]
    assert sorted(names) == ["test_energy.py::test_x[\\x1b[31mred]", "test_energy.py::test_x[a\\nb]"]
    assert "\x1b" not in section


@pytest.mark.parametrize(
    ("path", "problem"),
    [(".", "is a directory; name a file"), ("missing/dir/results.json", "does not exist")],
)
def test_a_results_path_that_cannot_be_written_stops_the_run_before_any_test(
    pytester: pytest.Pytester, tmp_path: Path, path: str, problem: str
) -> None:
    make_project(pytester, "def test_a():\n    raise AssertionError('must not run')\n")
    target = tmp_path / path  # outside the project: greencode creates no directory there
    result = pytester.runpytest("-p", "no:cacheprovider", f"--greencode-json={target}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: greencode: --greencode-json: *{problem}*"])
    assert "must not run" not in result.stdout.str()


def test_a_greencode_error_counted_in_the_summary_line_leaves_other_plugins_working(
    pytester: pytest.Pytester,
) -> None:
    # hypothesis' plugin, like others, reads every entry pytest's summary line counts as a report object
    # once the path was checked (its directory made), a test puts a file in the directory's place, so
    # writing fails at the end
    takes = (
        "\ndef test_takes_the_name():\n    import os\n    os.rmdir('taken')\n    open('taken', 'w').close()\n"
    )
    make_project(pytester, SUITE + takes)
    result = pytester.runpytest("-p", "no:cacheprovider", "--greencode-json=taken/results.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["error: results not written: *", "*= 3 passed, 1 greencode error in *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
