"""Malformed, hostile or unlucky inputs (issue 16.4-16.6, 16.10 and the configuration and stored-data items of
16's "Low" list): every one is a single line naming the file or key, never a traceback, never a guess."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_helpers import FAST, make_project
from report_inputs import write_baseline, write_results_file, write_run_file

from greencode.baselines import load_baseline
from greencode.config import Config, load_config, parse_energy
from greencode.documents import read_json
from greencode.errors import ConfigError, StoreError
from greencode.escaping import csv_text, markdown_text, terminal_line, terminal_text
from greencode.meters.rapl import RaplMeter, discover_zones, poll_interval
from greencode.report import load_report, render

Edit = Callable[[dict[str, Any]], None]


def edited(path: Path, edit: Edit) -> Path:
    """The JSON file at ``path`` after ``edit`` changed its data."""
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def edited_results(tmp_path: Path, edit: Edit) -> Path:
    return edited(write_results_file(tmp_path / "results.json", {"t::x": 1.0}), edit)


def edited_baseline(tmp_path: Path, edit: Edit) -> Path:
    return edited(write_baseline(tmp_path / "baseline.json", {"t::x": 1.0}), edit)


def one_line_store_error(call: Callable[[], object], path: Path) -> str:
    with pytest.raises(StoreError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


# -- 16.4: greencode report on malformed results -----------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.__setitem__("run", [1, 2]), "'run' should be dict"),
        (lambda d: d.__setitem__("run", "x"), "'run' should be dict"),
        (lambda d: d.__setitem__("run", 5), "'run' should be dict"),
        (lambda d: d.__setitem__("warnings", 5), "'warnings' should be list"),
        (lambda d: d.__setitem__("gate", "x"), "'gate' should be dict"),
        (lambda d: d.__setitem__("version", True), "version True"),
        (lambda d: d.__setitem__("tests", [None]), "list of objects"),
        (lambda d: d["tests"][0].__setitem__("samples_j", [1e308, 1e308]), "above 1e+15 J"),
        (lambda d: d["tests"][0].__setitem__("wall_s", -1), "duration >= 0"),
        (lambda d: d["tests"][0].__setitem__("rounds", -5), "'rounds' should be a whole number >= 1"),
        (lambda d: d["tests"][0].__setitem__("provenance", {"cpu": 5}), "'provenance' should map"),
        (lambda d: d["tests"].append(d["tests"][0]), "t::x appears twice in 'tests'"),
    ],
)
def test_a_malformed_results_file_is_one_line_naming_it(tmp_path: Path, edit: Edit, expected: str) -> None:
    path = edited_results(tmp_path, edit)
    assert expected in one_line_store_error(lambda: load_report(path), path)


def test_a_negative_energy_in_a_results_file_stops_the_gate_as_it_stops_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the report refused it while greencode gate judged the file, leaving the test out as not comparable
    from greencode.cli import main

    monkeypatch.chdir(tmp_path)
    write_baseline(tmp_path / ".greencode" / "baseline.json", {"t::x": 1.0})
    path = edited_results(tmp_path, lambda d: d["tests"][0].__setitem__("samples_j", [-1.0, 1.0]))
    assert main(["gate", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"{path}: " in error and "t::x: negative energy -1 J" in error


def test_nan_in_a_results_file_is_refused_as_not_json(tmp_path: Path) -> None:
    path = edited_results(tmp_path, lambda d: d["tests"][0].__setitem__("wall_s", float("nan")))
    assert "NaN" in one_line_store_error(lambda: load_report(path), path)


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_json_is_one_line_not_a_recursion_error(tmp_path: Path, opening: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(opening * 100_000, encoding="utf-8")
    assert "nested too deeply" in one_line_store_error(lambda: load_report(path), path)


def test_a_run_file_with_a_non_list_warnings_is_one_line(tmp_path: Path) -> None:
    path = write_run_file(tmp_path / "run.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["warnings"] = 5
    path.write_text(json.dumps(data), encoding="utf-8")
    assert "warnings = 5: expected a list of strings" in one_line_store_error(lambda: load_report(path), path)


def test_a_run_file_with_an_absurd_energy_is_refused(tmp_path: Path) -> None:
    path = write_run_file(tmp_path / "run.json", joules=1e308)
    assert "an energy up to" in one_line_store_error(lambda: load_report(path), path)


def test_a_run_file_whose_meter_failed_says_it_was_not_measured(tmp_path: Path) -> None:
    path = write_run_file(tmp_path / "run.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(energy_j=None, meter_error="meter 'rapl' could not be read (gone)")
    path.write_text(json.dumps(data), encoding="utf-8")
    assert "not measured (meter 'rapl'" in one_line_store_error(lambda: load_report(path), path)


def test_a_file_named_like_a_database_that_is_not_one_says_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "bad.sqlite"
    path.write_text("not a database", encoding="utf-8")
    message = one_line_store_error(lambda: load_report(path), path)
    assert "not an SQLite database" in message and "not valid JSON" not in message


def test_greencode_report_on_a_malformed_file_exits_2_with_one_line(tmp_path: Path) -> None:
    from run_cli import run_greencode

    edited_results(tmp_path, lambda d: d.__setitem__("run", [1]))
    result = run_greencode("report", "results.json", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="/dev/zero and FIFOs")
def test_a_device_as_input_is_refused_without_reading_it() -> None:
    with pytest.raises(StoreError, match="not a regular file"):
        read_json(Path("/dev/zero"), "results file")


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs")
def test_a_fifo_as_input_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "results.json"
    os.mkfifo(fifo)
    with pytest.raises(StoreError, match="not a regular file"):
        read_json(fifo, "results file")


# -- 16.5 and stored data: baselines -----------------------------------------------------------------------


def test_a_deeply_nested_baseline_is_a_pytest_usage_error_not_an_internal_error(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester, "def test_a():\n    pass\n")
    (pytester.path / "deep.json").write_text("[" * 100_000, encoding="utf-8")
    result = pytester.runpytest(*FAST, "--greencode-compare=deep.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: greencode: *deep.json: nested too deeply*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.__setitem__("estimated", "false"), "'estimated' = 'false': expected true or false"),
        (lambda d: d["entries"]["t::x"]["summary"].__setitem__("n", 0), "'n' should be a whole number >= 1"),
        (lambda d: d["entries"]["t::x"].__setitem__("wall_s", -1), "duration >= 0"),
        (lambda d: d["entries"]["t::x"].__setitem__("rounds", -5), "'rounds' should be a whole number >= 1"),
        (lambda d: d.__setitem__("version", True), "no valid 'version'"),
        (lambda d: d["fingerprint"].__setitem__("domains", "cpu"), "fingerprint is malformed"),
        (lambda d: d["fingerprint"].__setitem__("logical_cpus", 0), "fingerprint is malformed"),
    ],
)
def test_a_damaged_baseline_is_refused_and_left_untouched(tmp_path: Path, edit: Edit, expected: str) -> None:
    path = edited_baseline(tmp_path, edit)
    before = path.read_bytes()
    assert expected in one_line_store_error(lambda: load_baseline(path), path)
    assert path.read_bytes() == before


def test_a_malformed_fingerprint_stops_the_next_save_instead_of_replacing_the_baseline(
    tmp_path: Path,
) -> None:
    from report_inputs import record

    from greencode.baselines import save_baseline
    from greencode.fingerprint import detect_fingerprint

    path = edited_baseline(tmp_path, lambda d: d["fingerprint"].__setitem__("domains", ["", 3]))
    before = path.read_bytes()
    fingerprint = detect_fingerprint("estimate", ["cpu"])
    with pytest.raises(StoreError, match="fingerprint is malformed"):
        save_baseline(path, [record("t::y", 2.0)], fingerprint, None)
    assert path.read_bytes() == before


# -- 16.6: energy units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "joules"),
    [
        ("5 MJ", 5e6),
        ("5 mJ", 5e-3),
        ("5 kJ", 5e3),
        ("5 J", 5.0),
        ("2 µJ", 2e-6),
        ("2 μJ", 2e-6),
        ("1 GJ", 1e9),
    ],
)
def test_energy_units_follow_si_case(text: str, joules: float) -> None:
    assert parse_energy(text) == pytest.approx(joules)


@pytest.mark.parametrize("ambiguous", ["5 mj", "5 MJj", "5 KJ", "5 j", "5 Mj", "5 KWH"])
def test_an_ambiguous_energy_unit_is_an_error_listing_the_accepted_forms(ambiguous: str) -> None:
    with pytest.raises(ValueError, match=r"unknown or ambiguous unit .*mJ is milli, MJ mega"):
        parse_energy(ambiguous)


def test_mega_and_milli_are_a_billion_apart_in_a_budget(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.greencode]\nmin_effect_j = "5 MJ"\n', encoding="utf-8")
    assert load_config(start=tmp_path).min_effect_j == pytest.approx(5e6)


# -- 16.10: injection --------------------------------------------------------------------------------------


HOSTILE_ID = "tests/test_x.py::test_a[<img src=x onerror=alert(1)>|[click](https://evil.example)`x`]"


def unescaped_markup(escaped: str) -> list[str]:
    """Markup characters in ``escaped`` that no backslash makes literal."""
    found, index = [], 0
    while index < len(escaped):
        if escaped[index] == "\\":
            index += 2
            continue
        if escaped[index] in "<>[]`|&!*~":
            found.append(escaped[index])
        index += 1
    return found


@given(st.text(max_size=60))
def test_escaped_markdown_text_has_no_unescaped_markup(text: str) -> None:
    escaped = markdown_text(text)
    assert "\n" not in escaped and unescaped_markup(escaped) == []


def test_the_markdown_report_makes_html_links_and_backticks_from_test_ids_literal(tmp_path: Path) -> None:
    path = write_results_file(tmp_path / "results.json", {HOSTILE_ID: 1.0})
    text = render(load_report(path), "md")
    row = next(line for line in text.splitlines() if "test_x" in line)
    name = row.split(" | ")[0].removeprefix("| ")
    assert unescaped_markup(name) == [] and "\\<img" in name and "https:\\/\\/" in name
    header = next(line for line in text.splitlines() if line.startswith("| test |"))
    assert row.count(" | ") == header.count(" | ")  # the pipe inside the id did not add a cell


def test_the_step_summary_is_the_escaped_markdown_report(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    make_project(
        pytester,
        "import pytest\n@pytest.mark.parametrize('v', ['<script>x</script>'])\ndef test_a(v):\n    pass\n",
    )
    pytester.runpytest(*FAST, "--greencode").assert_outcomes(passed=1)
    text = summary.read_text(encoding="utf-8")
    assert "<script>" not in text and "\\<script\\>" in text


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_cells_that_would_be_formulas_are_quoted(tmp_path: Path, start: str) -> None:
    path = write_results_file(tmp_path / "results.json", {f"{start}HYPERLINK(1)": 1.0})
    rows = list(csv.DictReader(io.StringIO(render(load_report(path), "csv"))))
    assert rows[0]["name"] == f"'{start}HYPERLINK(1)"


def test_negative_numbers_stay_numbers_in_csv() -> None:
    from greencode.report.csvout import csv_cell

    assert csv_cell(-0.25) == "-0.25" and csv_text("-x") == "'-x"


def test_the_terminal_report_shows_escape_sequences_from_a_results_file_as_text(tmp_path: Path) -> None:
    path = write_results_file(tmp_path / "results.json", {"t::x\x1b]0;owned\x07\x1b[2J": 1.0})
    text = render(load_report(path), "text")
    assert "\x1b" not in text and "\x07" not in text and "\\x1b[2J" in text


def test_terminal_text_keeps_newlines_and_tabs() -> None:
    assert terminal_text("a\tb\nc\x9b") == "a\tb\nc\\x9b"


@given(st.text())
def test_a_terminal_line_has_no_control_characters(text: str) -> None:
    line = terminal_line(text)
    assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in line)


def test_a_terminal_line_shows_breaks_and_tabs_as_pytest_shows_them_in_ids() -> None:
    assert terminal_line("a\nb\r\tc\x1b") == "a\\nb\\r\\tc\\x1b"


def test_classroom_html_links_refuse_javascript_urls() -> None:
    from greencode.classroom.report import Paragraph, render_html

    page = render_html([Paragraph("[x](javascript:alert(1)) and [ok](https://example.org)")], "t")
    assert 'href="javascript' not in page and 'href="https://example.org"' in page


def test_classroom_markdown_escapes_table_cells_and_escaped_text_reads_literally_in_html() -> None:
    from greencode.classroom.report import Paragraph, Table, render_html, render_markdown

    blocks = [Table(["name"], [["<b>x</b>|y"]]), Paragraph(markdown_text("[a](https://evil.example) `b`"))]
    markdown = render_markdown(blocks)
    assert "<b>" not in markdown and "\\|y" in markdown
    page = render_html(blocks, "t")
    assert "<a " not in page and "[a](https:" in page and "<code>" not in page


# -- configuration checked at start-up ---------------------------------------------------------------------


def pyproject(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("alpha = 1e-300", "alpha = 1e-300: expected a significance level from 1e-06"),
        ("power_bound_w = 1e-6", "power_bound_w = 1e-06: expected watts from 1 to 100000"),
        ("rounds = 1000000000", "rounds = 1000000000: expected a whole number of rounds from 1 to 10000"),
        ('history = "a\\u0000b"', "history = 'a\\x00b': a path cannot contain a NUL character"),
        ('baseline = ""', "baseline = '': expected a path (it is empty)"),
        ('[tool.greencode.carbon]\nhourly_profile = "x\\u0000"', "a path cannot contain a NUL character"),
    ],
)
def test_values_that_would_fail_later_are_refused_when_read(tmp_path: Path, line: str, expected: str) -> None:
    pyproject(tmp_path, f"[tool.greencode]\n{line}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(start=tmp_path)
    assert expected in str(caught.value) and "pyproject.toml" in str(caught.value)


def test_a_tool_key_that_is_not_a_table_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('tool = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'tool' must be a table"):
        load_config(path)


def test_a_utf8_bom_in_pyproject_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes("\ufeff[tool.greencode]\nrounds = 3\n".encode())
    assert load_config(start=tmp_path).rounds == 3


def test_a_utf16_pyproject_is_reported_not_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes("[tool.greencode]\nrounds = 3\n".encode("utf-16"))
    with pytest.raises(ConfigError, match="UTF-16 text; save it as UTF-8"):
        load_config(start=tmp_path)


@pytest.mark.skipif(sys.platform == "win32", reason="/dev/zero")
def test_config_dev_zero_is_refused_without_reading_it() -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config("/dev/zero")


def test_an_empty_path_option_is_a_usage_error(tmp_path: Path) -> None:
    from run_cli import run_greencode

    result = run_greencode("run", "--json", "", "--", sys.executable, "-c", "pass", cwd=tmp_path)
    assert result.returncode == 2 and "empty path" in result.stderr


def test_an_empty_greencode_json_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    make_project(pytester, "def test_a():\n    pass\n")
    result = pytester.runpytest(*FAST, "--greencode", "--greencode-json=")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--greencode-json was given an empty path*"])


def test_an_ini_value_that_is_not_a_boolean_names_the_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ngreencode = maybe\n")
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest(*FAST)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini key 'greencode': invalid truth value 'maybe'*"])


def test_calibrate_refuses_an_absurd_number_of_runs(tmp_path: Path) -> None:
    from run_cli import run_greencode

    result = run_greencode("calibrate", "--runs", str(10**20), cwd=tmp_path)
    assert result.returncode == 2 and "expected 2 to 1000 runs" in result.stderr


# -- RAPL trees that would hang or kill the poller ---------------------------------------------------------


def test_a_huge_counter_range_never_gives_a_poll_interval_a_thread_cannot_wait() -> None:
    import threading

    assert poll_interval(1e30) <= threading.TIMEOUT_MAX


def test_a_zone_with_an_impossible_range_is_skipped_with_a_note(tmp_path: Path) -> None:
    from fakes import make_fake_powercap

    fake = make_fake_powercap(tmp_path, packages=1, domains=("package",))
    (fake.root / "intel-rapl:0" / "max_energy_range_uj").write_text(f"{10**30}\n")
    zones, notes = discover_zones(fake.root)
    assert zones == () and "max_energy_range_uj is 1000000000000000000000000000000" in notes[0]


@pytest.mark.skipif(sys.platform == "win32", reason="/dev/zero")
def test_a_zone_name_pointing_to_dev_zero_is_skipped_not_read_forever(tmp_path: Path) -> None:
    from fakes import make_fake_powercap

    fake = make_fake_powercap(tmp_path, packages=2, domains=("package",))
    name = fake.root / "intel-rapl:1" / "name"
    name.unlink()
    name.symlink_to("/dev/zero")
    zones, notes = discover_zones(fake.root)
    assert [z.zone_id for z in zones] == ["intel-rapl:0"] and "not a regular file" in notes[0]


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE")
def test_too_few_open_files_makes_rapl_unavailable_rather_than_dropping_zones(tmp_path: Path) -> None:
    import subprocess

    from fakes import make_fake_powercap

    make_fake_powercap(tmp_path / "powercap", packages=4, domains=("package", "dram"))
    script = (
        "import os, sys\n"
        "from greencode.meters.rapl import RaplMeter\n"
        "held = []\n"
        "try:\n"
        "    while True:\n"
        "        held.append(os.open(os.devnull, os.O_RDONLY))\n"
        "except OSError:\n"
        "    for fd in held[-6:]:\n"
        "        os.close(fd)\n"
        "try:\n"
        f"    RaplMeter({str(tmp_path / 'powercap')!r})\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("MeterUnavailable") and "open-file limit" in result.stdout, result


def test_the_rapl_meter_reads_a_normal_tree(tmp_path: Path) -> None:
    """The hardening above leaves the ordinary case alone."""
    from fakes import make_fake_powercap

    fake = make_fake_powercap(tmp_path, packages=1, domains=("package",))
    meter = RaplMeter(fake.root)
    try:
        assert [d.name for d in meter.domains()] == ["package-0"]
    finally:
        meter.close()


def test_config_object_defaults_pass_the_start_up_checks() -> None:
    assert Config().rounds >= 1 and Config().alpha >= 1e-6
