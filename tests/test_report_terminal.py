"""The terminal summary of a run, rendered by the library without pytest (the plugin's section is tested
through pytester in tests/test_plugin_*.py)."""

from __future__ import annotations

from report_inputs import record

from greencode.report.terminal import TOP_ROWS, Section, section_lines


def test_a_run_that_was_not_concluded_shows_its_tests_and_its_error_in_red() -> None:
    section = Section(
        (record("t.py::small", 0.5), record("t.py::big", 2.0)),
        None,
        meter="estimate",
        estimated=True,
        errors=("the baseline could not be read",),
    )
    lines = section_lines(section, width=100, verbose=False)
    assert lines[0] == ("2 tests measured with estimate (estimates)", "")
    assert lines[1][1] == "bold"
    assert [text.split()[0] for text, _ in lines[2:4]] == ["t.py::big", "t.py::small"]
    assert lines[-1] == ("error: the baseline could not be read", "red")


def test_without_verbose_only_the_tests_using_the_most_are_listed() -> None:
    records = tuple(record(f"t.py::test_{i:02}", 1.0 + i) for i in range(TOP_ROWS + 3))
    section = Section(records, None, meter="estimate", estimated=True)
    shown = section_lines(section, width=100, verbose=False)
    assert ("... 3 more tests (-v shows all)", "") in shown
    assert len(section_lines(section, width=100, verbose=True)) == len(shown) + 3 - 1
