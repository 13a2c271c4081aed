from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import greencode
from greencode import sinks, testing
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
