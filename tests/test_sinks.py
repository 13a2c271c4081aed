from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import greencode
from greencode import sinks, testing
from greencode.config import load_config
from greencode.errors import ConfigError

pytestmark = pytest.mark.usefixtures("scripted")


def test_print_sink_writes_one_line_with_energy_kind_and_meter() -> None:
    stream = io.StringIO()
    testing.script([1.5])
    sinks.PrintSink(stream)(run_block("hot"))
    line = stream.getvalue()
    assert line.startswith("greencode: hot: 1.5 J estimated")
    assert "[scripted]" in line


def test_jsonl_sink_appends_one_object_per_measurement(tmp_path: Path) -> None:
    path = tmp_path / "out" / "energy.jsonl"
    greencode.set_output(f"jsonl:{path}")
    run_block("a")
    run_block("b")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["label"] for r in records] == ["a", "b"]


def test_callback_sink_receives_measurements_until_removed() -> None:
    seen: list[str] = []
    remove = greencode.add_sink(lambda m: seen.append(m.label))
    run_block("one")
    remove()
    run_block("two")
    assert seen == ["one"]


def test_output_from_environment_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.jsonl"
    monkeypatch.setenv("GREENCODE_OUTPUT", f"jsonl:{path}")
    greencode.configure(meter="greencode.testing:scripted")
    run_block("from-env")
    assert json.loads(path.read_text())["label"] == "from-env"


def test_failing_sink_warns_and_never_breaks_the_measured_code() -> None:
    def broken(_: object) -> None:
        raise RuntimeError("disk full")

    remove = greencode.add_sink(broken)
    try:
        with pytest.warns(RuntimeWarning, match="disk full"):
            result = measured_value()
        assert result == "value"
    finally:
        remove()


@pytest.mark.parametrize("spec", ["prnt", "jsonl:", "csv:out.csv"])
def test_unknown_output_is_a_config_error_naming_the_part(spec: str) -> None:
    with pytest.raises(ConfigError, match="GREENCODE_OUTPUT"):
        sinks.parse_output(spec)


def test_none_output_disables_printing(capsys: pytest.CaptureFixture[str]) -> None:
    greencode.set_output("none")
    run_block("quiet")
    assert capsys.readouterr().err == ""


def run_block(label: str) -> greencode.Measurement:
    with greencode.measure(label) as m:
        pass
    assert m.result is not None
    return m.result


@greencode.measure
def measured_value() -> str:
    return "value"


def test_bad_output_in_the_environment_is_one_warning_and_the_code_still_runs(tmp_path: Path) -> None:
    script = (
        "import greencode\n"
        "@greencode.measure\n"
        "def work():\n"
        "    return 42\n"
        "print(work(), work(), len(greencode.results()))\n"
    )
    env = {**os.environ, "GREENCODE_OUTPUT": "bogus", "GREENCODE_POWERCAP_ROOT": str(tmp_path / "none")}
    env.pop("GREENCODE_METER", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout == "42 42 2\n"
    assert "Traceback" not in result.stderr
    (warning,) = [line for line in result.stderr.splitlines() if "RuntimeWarning" in line]
    assert "environment (GREENCODE_OUTPUT)" in warning and "'bogus'" in warning


def test_failing_output_warning_names_the_output(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    path = tmp_path / "a-file" / "energy.jsonl"  # its directory is a file: it cannot be created
    greencode.set_output(f"jsonl:{path}")
    with pytest.warns(RuntimeWarning, match=f"output jsonl:{path} failed"):
        assert measured_value() == "value"


def test_output_warnings_point_at_the_measured_code_not_at_greencode(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    greencode.set_output(f"jsonl:{tmp_path / 'a-file' / 'energy.jsonl'}")
    with pytest.warns(RuntimeWarning) as caught:
        measured_value()
    assert caught[0].filename == __file__


def test_configure_with_a_bad_output_raises_and_changes_nothing() -> None:
    before = greencode.current_config()
    with pytest.raises(ConfigError, match="prnt"):
        greencode.configure(meter="estimate", output="prnt")
    assert greencode.current_config() is before


def test_configure_with_a_bad_output_from_the_environment_warns_instead_of_raising(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREENCODE_OUTPUT", "prnt")
    with pytest.warns(RuntimeWarning, match=r"environment \(GREENCODE_OUTPUT\): output 'prnt'"):
        greencode.configure(load_config(start=tmp_path))
    assert measured_value() == "value"
