"""The core commands as a user runs them: ``greencode meters``, ``greencode run``, ``--help``, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import make_fake_powercap
from run_cli import run_greencode as greencode


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = greencode("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("meters", "run"):
        assert command in result.stdout


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


def test_run_unknown_command_is_a_clear_error(tmp_path: Path) -> None:
    result = greencode("run", "--", "no-such-command-xyz", cwd=tmp_path)
    assert result.returncode == 2
    assert "command not found: no-such-command-xyz" in result.stderr and "Traceback" not in result.stderr


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
