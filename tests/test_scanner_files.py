"""A file object bound by ``with open(p) as f`` or ``f = open(p)`` is walked line by line: a loop over it
(or over its ``readlines()``, its text's lines, ``fileinput.input()``) is a loop over an input's lines,
heavy for the rules that need one (round 7). Prefix scans, code that runs once per object or per build
stay as before."""

from __future__ import annotations

import ast
import textwrap

import pytest

from greencode.tactics.scanner import Finding, scan_source
from greencode.tactics.sizes import file_objects


def pattern_finding(code: str, path: str = "pkg/module.py") -> Finding:
    found = [f for f in scan_source(textwrap.dedent(code), path) if f.rule == "GRN007"]
    assert len(found) == 1, found
    return found[0]


def names_bound(code: str) -> frozenset[str]:
    return file_objects(ast.parse(textwrap.dedent(code)).body[0])


@pytest.mark.parametrize(
    "opening",
    ["open(p)", "io.open(p)", "codecs.open(p, encoding='utf-8')", "gzip.open(p, 'rt')", "Path(p).open()",
     "p.open()", "fileinput.input(p)"],
)  # fmt: skip
def test_a_name_bound_by_with_to_an_opened_file_is_a_file_object(opening: str) -> None:
    assert names_bound(f"def f(p):\n    with {opening} as reader:\n        pass\n") == {"reader"}


def test_a_name_assigned_an_opened_file_is_a_file_object() -> None:
    assert names_bound("def f(p):\n    handle = gzip.open(p)\n") == {"handle"}


def test_names_bound_to_other_calls_or_context_managers_are_not_file_objects() -> None:
    code = "def f(p):\n    with lock as held, opened(p) as other:\n        reader = load(p)\n"
    assert names_bound(code) == frozenset()


@pytest.mark.parametrize(
    "iterable", ["reader", "enumerate(reader)", "reader.readlines()", "reader.read().splitlines()"]
)
def test_a_loop_over_a_file_opened_with_with_is_a_loop_over_its_lines(iterable: str) -> None:
    code = f"""
    import re
    def read_mps(path):
        with open(path) as reader:
            for line in {iterable}:
                re.split(" |\\t", line)
    """
    finding = pattern_finding(code)
    assert finding.impact == "high" and finding.shown_by_default, finding.why


def test_a_loop_over_a_file_assigned_from_open_is_a_loop_over_its_lines() -> None:
    code = """
    import re
    def read_mps(path):
        reader = codecs.open(path)
        for line in reader:
            re.split(" |\\t", line)
        reader.close()
    """
    assert pattern_finding(code).shown_by_default


def test_a_loop_over_fileinput_is_a_loop_over_lines() -> None:
    code = """
    import fileinput, re
    def grep(paths):
        for line in fileinput.input(paths):
            re.search("x+", line)
    """
    assert pattern_finding(code).shown_by_default


def test_a_loop_over_a_name_not_bound_to_a_file_stays_one_plain_loop() -> None:
    code = """
    import re
    def read_mps(path):
        with open(path) as reader:
            entries = load(reader)
            for entry in entries:
                re.split(" |\\t", entry)
    """
    finding = pattern_finding(code)
    assert finding.impact == "medium" and not finding.shown_by_default


def test_a_loop_over_a_files_first_lines_that_breaks_out_is_not_heavy() -> None:
    code = """
    import re
    def header(path):
        with open(path) as reader:
            for line in reader:
                if line.startswith("#"):
                    re.split(" |\\t", line)
                    continue
                break
    """
    assert not pattern_finding(code).shown_by_default


def test_a_file_read_in_init_runs_once_per_object_and_is_not_heavy() -> None:
    code = """
    import re
    class Table:
        def __init__(self, path):
            with open(path) as reader:
                for line in reader:
                    re.split(" |\\t", line)
    """
    finding = pattern_finding(code)
    assert finding.impact == "medium" and not finding.shown_by_default


def test_a_config_file_read_in_a_setup_script_stays_low_impact() -> None:
    code = """
    import re
    def requirements(path):
        with open(path) as reader:
            for line in reader:
                re.split(" |\\t", line)
    """
    assert pattern_finding(code, "setup.py").impact == "low"


def test_a_file_opened_in_another_function_is_not_this_functions_file() -> None:
    code = """
    import re
    def opener(path):
        with open(path) as reader:
            return reader
    def parse(path):
        source = opener(path)
        for line in reader:
            re.split(" |\\t", line)
    """
    assert not pattern_finding(code).shown_by_default
