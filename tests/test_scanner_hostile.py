"""greencode scan on hostile or unlucky input: deep nesting, devices and FIFOs named *.py, huge files,
malformed suppression comments, bad --jobs and --ignore values. Each is reported; none hangs or tracebacks."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from run_cli import run_greencode as greencode

from greencode.config import Config
from greencode.errors import ConfigError
from greencode.tactics import scanner
from greencode.tactics.scanner import scan_paths, scan_source

# a finding of GRN007 at high impact on line 4
HOT = "import re\ndef f(lines):\n    for line in lines:\n        re.search('a+b', line)\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- 16.7: deep nesting --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    ["x = " + "-" * 20000 + "1\n", "x = " + "1+" * 20000 + "1\n", "x = " + "a." * 20000 + "b\n"],
    ids=["unary-memoryerror", "binop-recursionerror", "attribute-recursionerror"],
)
def test_deeply_nested_file_is_skipped_and_the_scan_goes_on(project: Path, source: str) -> None:
    write(project / "deep.py", source)
    write(project / "hot.py", HOT)
    report = scan_paths([project], Config(root=project))
    assert [s.path for s in report.skipped] == ["deep.py"]
    assert [f.rule for f in report.findings] == ["GRN007"]


def test_cli_exits_3_when_files_could_not_be_parsed_and_nothing_was_found(project: Path) -> None:
    write(project / "deep.py", "x = " + "-" * 20000 + "1\n")
    result = greencode("scan", cwd=project)
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "deep.py: not scanned: nested too deeply" in result.stderr


def test_cli_exits_1_when_findings_are_shown_even_if_files_were_skipped(project: Path) -> None:
    write(project / "broken.py", "def f(:\n")
    write(project / "hot.py", HOT)
    assert greencode("scan", cwd=project).returncode == 1


def test_syntax_error_names_the_python_that_parsed_it(project: Path) -> None:
    write(project / "broken.py", "def f(:\n")
    (skipped,) = scan_paths([project], Config(root=project)).skipped
    assert f"parsed as Python {os.sys.version_info.major}.{os.sys.version_info.minor}" in skipped.reason


# -- 16 Low: files that are not regular files ----------------------------------------------------------------


def test_fifo_named_like_a_module_is_skipped_unread(project: Path) -> None:
    os.mkfifo(project / "pipe.py")
    write(project / "hot.py", HOT)
    report = scan_paths([project], Config(root=project))
    (skipped,) = report.skipped
    assert skipped.path == "pipe.py" and "not a regular file" in skipped.reason
    assert [f.rule for f in report.findings] == ["GRN007"]


def test_symlink_to_dev_zero_is_skipped_unread(project: Path) -> None:
    (project / "zero.py").symlink_to("/dev/zero")
    report = scan_paths([project], Config(root=project))
    assert "not a regular file" in report.skipped[0].reason


def test_device_named_on_the_command_line_is_reported_not_called_missing(project: Path) -> None:
    (project / "zero.py").symlink_to("/dev/zero")
    result = greencode("scan", "zero.py", cwd=project)
    assert result.returncode == 3 and "zero.py: not scanned: cannot read: not a regular file" in result.stderr


def test_file_over_the_size_cap_is_skipped(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanner, "MAX_FILE_BYTES", 100)
    write(project / "big.py", "x = 1\n" * 50)
    (skipped,) = scan_paths([project], Config(root=project)).skipped
    assert "larger than" in skipped.reason


# -- 16 Low: --jobs and --ignore ----------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", ["200", "-1", "1e20"])
def test_cli_rejects_an_impossible_jobs_value_with_one_line(project: Path, jobs: str) -> None:
    result = greencode("scan", "--jobs", jobs, cwd=project)
    assert result.returncode == 2 and "--jobs" in result.stderr and "Traceback" not in result.stderr


def test_jobs_above_the_limit_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--jobs"):
        scan_paths([], jobs=scanner.MAX_JOBS + 1)


def test_unknown_ignore_from_the_command_line_is_blamed_on_the_command_line(project: Path) -> None:
    write(project / "pyproject.toml", '[tool.greencode.scan]\nignore = ["GRN001"]\n')
    result = greencode("scan", "--ignore", "NOPE", cwd=project)
    assert result.returncode == 2 and "command line: --ignore = 'NOPE'" in result.stderr
    assert "pyproject.toml" not in result.stderr


def test_unknown_ignore_in_pyproject_is_blamed_on_pyproject(project: Path) -> None:
    write(project / "pyproject.toml", '[tool.greencode.scan]\nignore = ["NOPE"]\n')
    result = greencode("scan", "--ignore", "GRN001", cwd=project)
    assert result.returncode == 2 and "pyproject.toml" in result.stderr


# -- 16.8: malformed suppression comments --------------------------------------------------------------------

MALFORMED = [
    "# greencode: ignore[GRN007",
    "# greencode: ignorefoo",
    "# greencode: ignore [GRN007]",
    "# greencode: ignore-next-line",
    "# greencode : ignore[GRN007]",
    "# greencode: ignore[GRN999]",
]


@pytest.mark.parametrize("comment", MALFORMED)
def test_malformed_suppression_silences_nothing(comment: str) -> None:
    code = HOT.replace("line)\n", f"line)  {comment}\n")
    assert [f.rule for f in scan_source(code)] == ["GRN007"]


@pytest.mark.parametrize("comment", MALFORMED)
def test_malformed_suppression_is_reported(project: Path, comment: str) -> None:
    write(project / "a.py", HOT.replace("line)\n", f"line)  {comment}\n"))
    report = scan_paths([project], Config(root=project))
    (malformed,) = report.malformed
    assert malformed.line == 4 and "silences nothing" in str(malformed)
    assert report.exit_status() == 1


def test_suppression_text_inside_a_string_literal_silences_nothing() -> None:
    code = HOT.replace("'a+b'", "'a+b # greencode: ignore'")
    assert [f.rule for f in scan_source(code)] == ["GRN007"]


def test_suppression_text_in_a_docstring_is_not_reported(project: Path) -> None:
    write(project / "a.py", '"""Silence with # greencode: ignore[GRN001 like this."""\n')
    assert scan_paths([project], Config(root=project)).malformed == ()


def test_well_formed_suppression_with_a_trailing_reason_still_works() -> None:
    code = HOT.replace("line)\n", "line)  # greencode: ignore[GRN007] the patterns differ per run\n")
    assert scan_source(code) == []


def test_cli_prints_the_malformed_comment_and_exits_1(project: Path) -> None:
    write(project / "a.py", "x = 1  # greencode: ignore[GRN001\n")
    result = greencode("scan", cwd=project)
    assert result.returncode == 1 and "a.py:1: malformed suppression" in result.stderr
    assert "never closed" in result.stderr


# -- 10.10: suppressions on the loop header ------------------------------------------------------------------

POLLING = """\
import time
def wait(flag):
    while not flag.is_set():{comment}
        time.sleep(0.01)
"""


def test_sleep_polling_is_silenced_on_the_while_line_as_documented() -> None:
    assert scan_source(POLLING.format(comment="  # greencode: ignore[GRN008]")) == []


def test_sleep_polling_is_still_silenced_on_the_sleep_line() -> None:
    code = POLLING.format(comment="").replace("0.01)", "0.01)  # greencode: ignore[GRN008]")
    assert scan_source(code) == []


def test_each_finding_says_which_line_a_suppression_goes_on() -> None:
    (finding,) = scan_source(POLLING.format(comment=""))
    assert (finding.line, finding.suppress_line) == (4, 3)
    assert "silence it on line 3" in str(finding)
    (hot,) = scan_source(HOT)
    assert hot.suppress_line == hot.line == 4
