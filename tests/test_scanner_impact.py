"""Where a finding's code runs decides its impact: loops that repeat it, code that leaves the loop after one
pass, loops bound by their output, and files that run once per build."""

from __future__ import annotations

import textwrap

from greencode.tactics.scanner import Finding, scan_source


def findings(code: str, path: str = "pkg/module.py") -> list[Finding]:
    return list(scan_source(textwrap.dedent(code), path))


def only(code: str, rule: str, path: str = "pkg/module.py") -> Finding:
    found = [f for f in findings(code, path) if f.rule == rule]
    assert len(found) == 1, found
    return found[0]


def test_a_loop_over_a_parameter_is_high_impact() -> None:
    code = """
    import re
    def grep(lines):
        for line in lines:
            re.search("x+", line)
    """
    assert only(code, "GRN007").impact == "high"


def test_code_followed_by_break_runs_once_per_loop_and_is_not_flagged() -> None:
    code = """
    import re
    def first(formats):
        for f in formats:
            f = re.sub("[^0]", "", f)
            break
    """
    assert [f.rule for f in findings(code)] == []


def test_code_followed_by_return_runs_once_per_call_and_is_not_flagged() -> None:
    code = """
    import re
    def first(lines):
        for line in lines:
            if line:
                return re.sub("#.*", "", line)
    """
    assert [f.rule for f in findings(code)] == []


def test_a_continue_before_the_break_makes_the_block_repeat() -> None:
    code = """
    import re
    def header(lines):
        for line in lines:
            line = re.sub("#.*", "", line)
            if not line:
                continue
            break
    """
    assert only(code, "GRN007").impact == "high"


def test_a_break_of_an_inner_loop_does_not_stop_the_outer_one() -> None:
    code = """
    import re
    def scan(blocks):
        for block in blocks:
            for line in block:
                re.search("x+", line)
            break
    """
    # the inner loop still repeats the search; only the outer loop runs once
    assert only(code, "GRN007").why.startswith("in a loop over data of unknown size")


def test_a_loop_that_prints_every_pass_is_at_most_medium_impact() -> None:
    code = """
    import re
    def report(errors):
        for error in errors:
            print(re.sub("[a-z]", " ", error))
    """
    finding = only(code, "GRN007")
    assert finding.impact == "medium" and "prints on every pass" in finding.why


def test_a_print_under_an_if_does_not_make_the_loop_output_bound() -> None:
    code = """
    import re
    def grep(lines, verbose):
        for line in lines:
            if verbose:
                print(line)
            re.search("x+", line)
    """
    assert only(code, "GRN007").impact == "high"


def test_versioneer_files_run_once_and_are_low_impact() -> None:
    code = """
    import re
    def keywords(lines):
        for line in lines:
            re.search("x+", line)
    """
    for path in ("versioneer.py", "pkg/_version.py"):
        finding = only(code, "GRN007", path)
        assert finding.impact == "low" and not finding.shown_by_default
