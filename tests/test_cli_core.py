"""The core commands as a user runs them: ``greencode meters``, ``greencode run``, ``--help``, errors."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import make_fake_powercap
from run_cli import run_greencode as greencode

from greencode.cli import main


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = greencode("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("meters", "run"):
        assert command in result.stdout


def _every_parser(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:  # argparse keeps a command's subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _every_parser(child)


def test_no_help_shows_a_doubled_percent_sign() -> None:
    """argparse expands ``%%`` in an option's help but shows a description or epilog as written."""
    from greencode.cli import build_parser

    shown = {parser.prog: parser.format_help() for parser in _every_parser(build_parser())}
    assert len(shown) > 10
    assert [prog for prog, text in shown.items() if "%%" in text] == []


def test_every_output_option_is_also_spelled_o() -> None:
    from greencode.cli import build_parser

    outputs = [
        action.option_strings
        for parser in _every_parser(build_parser())
        for action in parser._actions
        if "--output" in action.option_strings
    ]
    assert len(outputs) >= 3
    assert [strings for strings in outputs if "-o" not in strings] == []


def test_no_command_prints_help_and_exits_2(tmp_path: Path) -> None:
    result = greencode(cwd=tmp_path)
    assert result.returncode == 2 and "usage: greencode" in result.stdout


def test_meters_says_why_rapl_is_missing_and_that_the_estimator_is_used(tmp_path: Path) -> None:
    result = greencode("meters", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {
        line.split()[0]: line for line in result.stdout.splitlines() if line and not line.startswith(" ")
    }
    assert "unavailable" in lines["rapl"] and "no-powercap" in lines["rapl"]
    assert "unavailable" in lines["nvml"]
    assert "available" in lines["estimate"]
    assert "uses: estimate" in result.stdout


def test_meters_json_reports_every_meter(tmp_path: Path) -> None:
    result = greencode("meters", "--json", cwd=tmp_path)
    data = json.loads(result.stdout)
    assert [m["name"] for m in data["meters"]][:3] == ["rapl", "nvml", "estimate"]
    assert data["in_use"] == "estimate"


def test_meters_finds_rapl_in_a_fake_powercap_tree(tmp_path: Path) -> None:
    make_fake_powercap(tmp_path / "powercap", packages=2, domains=("package", "dram"))
    result = greencode(
        "meters", "--json", cwd=tmp_path, env={"GREENCODE_POWERCAP_ROOT": str(tmp_path / "powercap")}
    )
    data = json.loads(result.stdout)
    rapl = next(m for m in data["meters"] if m["name"] == "rapl")
    assert rapl["available"]
    assert {d["name"] for d in rapl["domains"]} == {"package-0", "package-1", "dram-0", "dram-1"}
    assert data["in_use"].startswith("rapl")


def test_explicitly_requested_unavailable_meter_is_one_line_error(tmp_path: Path) -> None:
    result = greencode("run", "--meter", "rapl", "--", sys.executable, "-c", "pass", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "rapl" in result.stderr


def test_run_reports_estimated_energy_and_keeps_the_exit_code(tmp_path: Path) -> None:
    result = greencode(
        "run",
        "--json",
        "out.json",
        "--",
        sys.executable,
        "-c",
        "import sys; sum(i*i for i in range(300000)); sys.exit(3)",
        cwd=tmp_path,
    )
    assert result.returncode == 3
    assert "estimated" in result.stderr
    record = json.loads((tmp_path / "out.json").read_text())
    assert record["returncode"] == 3
    assert record["estimated"] is True
    assert record["cpu_s"] > 0 and record["energy_j"] > 0  # the child's CPU time is charged


def test_run_counts_the_childs_cpu_time_not_only_its_own(tmp_path: Path) -> None:
    script = "sum(i*i for i in range(2_000_000))"
    result = greencode("run", "--json", "busy.json", "--", sys.executable, "-c", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "busy.json").read_text())
    assert record["domains"]["cpu"] == pytest.approx(record["energy_j"])
    assert record["energy_j"] > 0


def test_run_unknown_command_is_a_clear_error_with_the_shells_status(tmp_path: Path) -> None:
    result = greencode("run", "--", "no-such-command-xyz", cwd=tmp_path)
    assert result.returncode == 127
    assert "no-such-command-xyz: command not found" in result.stderr and "Traceback" not in result.stderr


def test_run_without_a_command_is_a_usage_error(tmp_path: Path) -> None:
    result = greencode("run", cwd=tmp_path)
    assert result.returncode == 2 and "no command given" in result.stderr


def test_bad_configuration_is_one_line_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.greencode]\nmeter = 5\n", encoding="utf-8")
    result = greencode("meters", cwd=tmp_path)
    assert result.returncode == 2
    assert "pyproject.toml [tool.greencode]: meter = 5" in result.stderr and "Traceback" not in result.stderr


def test_python_dash_m_and_console_script_agree(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("greencode")
    if not script.exists():
        pytest.skip("console script not installed next to this interpreter")
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True).stdout
    assert version == greencode("--version", cwd=tmp_path).stdout


def test_meters_explains_zones_it_does_not_sum(tmp_path: Path) -> None:
    make_fake_powercap(tmp_path / "powercap", packages=1, domains=("package", "core"))
    result = greencode("meters", cwd=tmp_path, env={"GREENCODE_POWERCAP_ROOT": str(tmp_path / "powercap")})
    assert "note: intel-rapl:0:0 (core): part of package-0; not summed" in result.stdout


def test_meters_names_the_environment_variable_that_chose_the_meter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GREENCODE_METER", "estimate")
    assert main(["meters"]) == 0
    out = capsys.readouterr().out
    assert "meter = 'estimate' (environment (GREENCODE_METER)) uses: estimate" in out
    assert "requested in environment (GREENCODE_METER)" in out


def test_run_checks_the_json_path_before_running_the_command(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    marker = tmp_path / "ran"
    result = greencode(
        "run",
        "--json",
        "a-file/run.json",
        "--",
        sys.executable,
        "-c",
        f"open({str(marker)!r}, 'w')",
        cwd=tmp_path,
    )
    assert result.returncode == 2 and not marker.exists()
    assert result.stderr.startswith("greencode: error: ") and result.stderr.count("\n") == 1
    assert "a-file/run.json" in result.stderr


def test_run_reports_the_cpu_time_of_the_command(tmp_path: Path) -> None:
    script = (
        "import time\n"
        "while time.process_time() < 0.2: pass\n"
        "open('child_cpu', 'w').write(str(time.process_time()))\n"
    )
    result = greencode("run", "--json", "run.json", "--", sys.executable, "-c", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["cpu_s"] >= float((tmp_path / "child_cpu").read_text())


CHILD_STOPPED_BY_SIGNAL = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(6))
try:
    print("ready", flush=True)
    time.sleep(20)
except KeyboardInterrupt:
    sys.exit(5)
"""


def start_run_in_own_session(tmp_path: Path) -> subprocess.Popen[str]:
    """``greencode run`` of a child that exits 5 on Ctrl-C and 6 on SIGTERM, once the child is ready."""
    env = {**os.environ, "GREENCODE_POWERCAP_ROOT": str(tmp_path / "no-powercap")}
    env.pop("GREENCODE_METER", None)
    child = [sys.executable, "-c", CHILD_STOPPED_BY_SIGNAL]
    process = subprocess.Popen(
        [sys.executable, "-m", "greencode", "run", "--json", "run.json", "--", *child],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and POSIX signals")
def test_run_on_ctrl_c_reports_the_measurement_and_exits_with_the_commands_code(tmp_path: Path) -> None:
    process = start_run_in_own_session(tmp_path)
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 5, stderr
    assert "estimated" in stderr and "Traceback" not in stderr
    assert json.loads((tmp_path / "run.json").read_text())["returncode"] == 5


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_run_passes_sigterm_on_to_the_command_and_still_reports(tmp_path: Path) -> None:
    process = start_run_in_own_session(tmp_path)
    process.terminate()  # greencode alone, as a CI timeout or `kill PID` would
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 6, stderr
    assert "estimated" in stderr
