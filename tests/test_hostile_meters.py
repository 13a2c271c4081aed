"""A meter failure never breaks the user's code (issue 16.2): the measured code runs and keeps its outcome,
the measurement records the error, and a warning says what happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import FakePowercap, make_fake_powercap
from plugin_helpers import FAST
from run_cli import run_greencode as greencode

import greencode as gc
from greencode.config import Config
from greencode.measurement import Recorder
from greencode.meters import Selection
from greencode.meters.rapl import RaplMeter


@pytest.fixture
def powercap(tmp_path: Path) -> FakePowercap:
    return make_fake_powercap(tmp_path / "powercap", packages=1, domains=("package",))


@pytest.fixture
def rapl(tmp_path: Path, powercap: FakePowercap) -> Selection:
    gc.configure(Config(root=tmp_path, meter="rapl", powercap_root=powercap.root, output="none"))
    gc.clear_results()
    yield gc.meters_in_use()
    gc.configure(Config(root=tmp_path, output="none"))
    gc.clear_results()


def break_counter(powercap: FakePowercap) -> None:
    powercap.energy_file("intel-rapl:0").write_text("garbage\n")


def test_a_counter_failing_at_the_end_of_a_window_records_the_error_not_a_number(
    tmp_path: Path, powercap: FakePowercap
) -> None:
    meter = RaplMeter(powercap.root)
    try:
        recorder = Recorder("work", Selection((meter,), ()), Config(root=tmp_path))
        break_counter(powercap)
        measurement = recorder.stop()
    finally:
        meter.close()
    assert measurement.meter_error is not None and "intel-rapl:0" in measurement.meter_error
    assert measurement.energy_j != measurement.energy_j  # nan: unknown, never an invented 0
    assert measurement.to_dict()["energy_j"] is None
    assert any("energy not measured" in w for w in measurement.warnings)


def test_a_counter_failing_when_a_window_opens_still_gives_a_measurement(
    tmp_path: Path, powercap: FakePowercap
) -> None:
    meter = RaplMeter(powercap.root)
    try:
        break_counter(powercap)
        recorder = Recorder("work", Selection((meter,), ()), Config(root=tmp_path))
        measurement = recorder.stop()
    finally:
        meter.close()
    assert measurement.meter_error is not None and "could not start" in measurement.meter_error


def test_a_decorated_function_runs_and_returns_when_the_counter_breaks(
    rapl: Selection, powercap: FakePowercap
) -> None:
    calls = []

    @gc.measure
    def work() -> str:
        calls.append(1)
        return "value"

    break_counter(powercap)
    with pytest.warns(RuntimeWarning, match="not measured"):
        assert work() == "value"
    assert calls == [1]
    (measurement,) = gc.results()
    assert measurement.meter_error is not None


def test_a_decorated_function_keeps_its_exception_when_the_counter_breaks(
    rapl: Selection, powercap: FakePowercap
) -> None:
    @gc.measure
    def fails() -> None:
        break_counter(powercap)
        raise KeyError("the user's own")

    with pytest.warns(RuntimeWarning), pytest.raises(KeyError, match="the user's own"):
        fails()


def test_a_failed_meter_is_named_in_the_measurement_warning(rapl: Selection, powercap: FakePowercap) -> None:
    with pytest.warns(RuntimeWarning) as caught, gc.measure("block") as block:
        break_counter(powercap)
    assert block.result is not None and "rapl" in (block.result.meter_error or "")
    assert "'block'" in str(caught[0].message) and "rapl" in str(caught[0].message)


def test_greencode_meter_rapl_without_rapl_leaves_decorated_production_code_working(tmp_path: Path) -> None:
    script = (
        "import warnings, greencode\n"
        "@greencode.measure\n"
        "def work(x):\n"
        "    return x * 2\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('default')\n"
        "    values = [work(i) for i in range(50)]\n"
        "print(values[-1], len(caught), len(greencode.results()))\n"
    )
    env = {**os.environ, "GREENCODE_METER": "rapl", "GREENCODE_POWERCAP_ROOT": str(tmp_path / "none")}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["98", "1", "0"]  # every call ran; one warning; nothing invented


def test_a_bad_configuration_leaves_decorated_code_working(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.greencode]\nrounds = 0\n")
    script = "import greencode\n@greencode.measure\ndef work():\n    return 7\nprint(work(), work())\n"
    env = {**os.environ, "GREENCODE_POWERCAP_ROOT": str(tmp_path / "none")}
    env.pop("GREENCODE_METER", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout == "7 7\n"
    assert "rounds = 0" in result.stderr and "Traceback" not in result.stderr


def test_profile_records_a_counter_failure_and_returns_the_value(
    rapl: Selection, powercap: FakePowercap
) -> None:
    state = {"calls": 0}

    def work() -> int:
        state["calls"] += 1
        if state["calls"] == 3:
            break_counter(powercap)
        return 5

    profile = gc.Profiler(rounds=3, iterations=1, warmup=0).run(work)
    assert profile.value == 5 and profile.meter_error is not None


PLUGIN_TESTS = """
from pathlib import Path

def test_breaks_the_counter():
    Path({counter!r}).write_text("garbage\\n")

def test_after():
    assert 1 + 1 == 2
"""


def test_pytest_tests_keep_passing_when_the_counter_becomes_unreadable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = make_fake_powercap(pytester.path / "powercap", packages=1, domains=("package",))
    monkeypatch.setenv("GREENCODE_POWERCAP_ROOT", str(fake.root))
    monkeypatch.delenv("GREENCODE_METER", raising=False)
    pytester.makepyfile(test_counter=PLUGIN_TESTS.format(counter=str(fake.energy_file("intel-rapl:0"))))
    result = pytester.runpytest(
        *FAST, "--greencode", "--greencode-meter", "rapl", "--greencode-json", "r.json"
    )
    result.assert_outcomes(passed=2)
    data = json.loads((pytester.path / "r.json").read_text())
    assert data["tests"] == []  # nothing invented for the tests whose energy is unknown
    assert any("energy not measured" in w for w in data["warnings"])


def test_run_keeps_the_commands_exit_code_and_writes_its_json_when_the_counter_breaks(tmp_path: Path) -> None:
    fake = make_fake_powercap(tmp_path / "powercap", packages=1, domains=("package",))
    counter = str(fake.energy_file("intel-rapl:0"))
    script = f"import pathlib, sys; pathlib.Path({counter!r}).write_text('x'); sys.exit(4)"
    result = greencode(
        "run",
        "--meter",
        "rapl",
        "--json",
        "run.json",
        "--",
        sys.executable,
        "-c",
        script,
        cwd=tmp_path,
        env={"GREENCODE_POWERCAP_ROOT": str(fake.root)},
    )
    assert result.returncode == 4 and "Traceback" not in result.stderr
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["returncode"] == 4 and record["energy_j"] is None and "rapl" in record["meter_error"]
    assert "energy not measured" in result.stderr
