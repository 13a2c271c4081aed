"""The terminal summary of a run, rendered by the library without pytest (the plugin's section is tested
through pytester in tests/test_plugin_*.py)."""

from __future__ import annotations

from report_inputs import record
from test_gate import MACHINE, SETTINGS, baseline_of

from greencode.outcome import RunOutcome
from greencode.report.terminal import INCONCLUSIVE_LINES, TOP_ROWS, Section, section_lines
from greencode.results_file import RunInfo
from greencode.verdicts import compare


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


def inconclusive_both_ways() -> Section:
    """A compare of 24 tests against a baseline of one run: the first 14 read 60 % less (moved with the
    run's shift, which they make) and the last 10 read 25 % more (too little for one saved run's noise to
    tell): every test is inconclusive, the increases last in node-id order."""
    saved = [record(f"t.py::test_{i:02}", 1.0) for i in range(24)]
    now = tuple(record(f"t.py::test_{i:02}", 0.4 if i < 14 else 1.25) for i in range(24))
    gate = compare(now, baseline_of(saved, fingerprint=MACHINE), SETTINGS, fingerprint=MACHINE)
    assert len(gate.inconclusive) == 24
    run = RunInfo("run", 0.0, 1.0, None, "scripted", True)
    return Section(now, RunOutcome(now, gate, run, MACHINE), meter="scripted", estimated=True)


def listed(verbose: bool) -> list[str]:
    lines = section_lines(inconclusive_both_ways(), width=200, verbose=verbose)
    return [text for text, _ in lines if text.startswith("  inconclusive:")]


def test_without_verbose_only_a_few_inconclusive_tests_get_a_line_possible_increases_first() -> None:
    assert INCONCLUSIVE_LINES == 10
    lines = listed(verbose=False)
    assert len(lines) == INCONCLUSIVE_LINES + 1
    assert all("t.py::test_1" in text or "t.py::test_2" in text for text in lines[:-1])
    assert all(": +25.0%" in text for text in lines[:-1])
    assert lines[-1] == "  inconclusive: 14 more tests (-v lists them)"


def test_with_verbose_every_inconclusive_test_gets_its_line() -> None:
    lines = listed(verbose=True)
    assert len(lines) == 24
    assert not any("more tests" in text for text in lines)
