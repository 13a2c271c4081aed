from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import greencode
from greencode import sinks, testing
from greencode.config import load_config
from greencode.errors import ConfigError, GreencodeWarning

pytestmark = pytest.mark.usefixtures("scripted")


def test_print_sink_writes_one_line_with_energy_kind_and_meter() -> None:
    stream = io.StringIO()
    testing.script([1.5])
    sinks.PrintSink(stream)(run_block("hot"))
    line = stream.getvalue()
    assert line.startswith("greencode: hot: 1.5 J estimated")
    assert "[scripted]" in line


def test_jsonl_sink_appends_one_object_per_measurement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "out" / "energy.jsonl"
    greencode.set_output(f"jsonl:{path}")
    run_block("a")
    run_block("b")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["label"] for r in records] == ["a", "b"]


@pytest.mark.usefixtures("inner_project")
def test_jsonl_sink_creates_no_directory_outside_the_project_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "energy.jsonl"
    greencode.set_output(f"jsonl:{path}")
    with pytest.warns(GreencodeWarning, match="outside the project"):
        run_block("a")
    assert not path.parent.exists()


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
    (warning,) = [line for line in result.stderr.splitlines() if "GreencodeWarning" in line]
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


def hot_calls(sink: sinks.PrintSink, label: str, energies: list[float]) -> None:
    testing.script(energies)
    for _ in energies:
        sink(run_block(label))


def test_print_sink_prints_a_labels_first_measurement_when_it_happens_and_later_ones_only_at_flush() -> None:
    stream = io.StringIO()
    sink = sinks.PrintSink(stream)
    hot_calls(sink, "hot", [1.0, 2.0, 3.0])
    assert stream.getvalue().count("\n") == 1 and stream.getvalue().startswith("greencode: hot: 1 J")
    sink.flush()
    summary = stream.getvalue().splitlines()[1]
    assert summary.startswith("greencode: hot: 3 calls in ") and "6 J estimated in total" in summary
    assert "per call median 2 J, range 1 J–3 J" in summary and summary.endswith("[scripted]")


def test_print_summary_gives_the_middle_half_of_the_calls() -> None:
    stream = io.StringIO()
    sink = sinks.PrintSink(stream)
    hot_calls(sink, "hot", [1.0, 2.0, 3.0, 4.0, 5.0])
    sink.flush()
    assert "per call median 3 J, middle half 2 J–4 J [scripted]" in stream.getvalue()


def test_print_summary_is_not_printed_for_a_label_measured_once() -> None:
    stream = io.StringIO()
    sink = sinks.PrintSink(stream)
    hot_calls(sink, "once", [1.0])
    sink.flush()
    assert stream.getvalue().count("\n") == 1


def test_print_summary_counts_every_call_beyond_its_bounded_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sinks, "SUMMARY_SAMPLE", 10)
    monkeypatch.setattr(sinks.LabelSummary, "BATCH", 7)
    stream = io.StringIO()
    sink = sinks.PrintSink(stream)
    hot_calls(sink, "hot", [1.0] * 100)
    summary = sink.labels["hot"]
    sink.flush()
    assert summary.calls == 100 and summary.energy_j == 100.0 and len(summary.sample_j) == 10
    assert (
        "100 calls in " in stream.getvalue()
        and "100 J estimated" in stream.getvalue()
        and "(of 10 sampled calls)" in stream.getvalue()
    )


def test_print_summary_shows_a_warning_of_a_later_call_once() -> None:
    stream = io.StringIO()
    sink = sinks.PrintSink(stream)
    sink(run_block("hot"))
    late = dataclasses.replace(run_block("hot"), warnings=("counter wrapped",))
    sink(late)
    sink(late)
    sink.flush()
    assert stream.getvalue().count("greencode: warning: hot: counter wrapped") == 1


def test_print_each_prints_every_measurement() -> None:
    stream = io.StringIO()
    sink = sinks.PrintSink(stream, each=True)
    hot_calls(sink, "hot", [1.0, 2.0, 3.0])
    sink.flush()
    assert stream.getvalue().count("greencode: hot: ") == 3 and "calls" not in stream.getvalue()


@pytest.mark.parametrize(
    ("spec", "each", "stdout"),
    [
        ("print", False, False),
        ("print:each", True, False),
        ("print:stdout", False, True),
        ("print:each:stdout", True, True),
        ("print:stdout:each", True, True),
    ],
)
def test_print_output_options_choose_per_call_lines_and_the_stream(
    spec: str, each: bool, stdout: bool
) -> None:
    (sink,) = sinks.parse_output(spec)
    assert isinstance(sink, sinks.PrintSink)
    assert sink._each is each and (sink._stream is sys.stdout) is stdout


@pytest.mark.parametrize("spec", ["print:", "print:every", "print:each:each"])
def test_unknown_print_option_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="print:each"):
        sinks.parse_output(spec)


def test_replacing_the_print_sink_prints_what_it_was_summing_up(capsys: pytest.CaptureFixture[str]) -> None:
    greencode.set_output("print")
    testing.script([1.0, 2.0])
    run_block("hot")
    run_block("hot")
    greencode.set_output("none")
    assert "3 J estimated in total" in capsys.readouterr().err


def test_jsonl_and_registry_keep_every_call_while_print_sums_up(tmp_path: Path) -> None:
    path = tmp_path / "energy.jsonl"
    greencode.set_output(f"print:stdout,jsonl:{path}")
    for _ in range(5):
        run_block("hot")
    assert len(path.read_text().splitlines()) == 5
    assert [m.label for m in greencode.results()] == ["hot"] * 5
    greencode.set_output("none")


def test_hot_function_prints_its_first_call_and_one_summary_at_exit(tmp_path: Path) -> None:
    script = (
        "import greencode\n"
        "@greencode.measure\n"
        "def hot():\n"
        "    return 1\n"
        "print(sum(hot() for _ in range(1000)))\n"
    )
    env = {**os.environ, "GREENCODE_METER": "estimate"}
    env.pop("GREENCODE_OUTPUT", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout == "1000\n"
    first, summary = result.stderr.splitlines()
    assert first.startswith("greencode: hot: ") and "estimated in" in first
    assert summary.startswith("greencode: hot: 1000 calls in ") and "per call median" in summary


def test_print_summary_counts_calls_a_meter_failed_to_measure_apart_from_the_energy() -> None:
    stream = io.StringIO()
    sink = sinks.PrintSink(stream)
    hot_calls(sink, "hot", [1.0, 3.0])
    sink(
        dataclasses.replace(
            run_block("hot"), energy_j=float("nan"), meter_error="meter 'x' could not be read"
        )
    )
    sink.flush()
    summary = stream.getvalue().splitlines()[-1]
    assert "hot: 3 calls in " in summary and "1 of them not measured (a meter failed)" in summary
    assert "4 J estimated in total; per call median 2 J" in summary


def test_print_summary_sample_beyond_its_size_gives_every_call_the_same_chance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sinks, "SUMMARY_SAMPLE", 10)
    testing.script([0.0])
    first = run_block("hot")
    calls = [dataclasses.replace(first, energy_j=float(i)) for i in range(1, 100)]
    early = 0
    for _ in range(300):
        summary = sinks.LabelSummary(first)
        summary.pending.extend(calls)
        summary.fold()
        assert len(summary.sample_j) == 10 and set(summary.sample_j) <= set(range(100))
        early += sum(1 for joules in summary.sample_j if joules < 50)
    # 10 of 100 calls kept: 5 of the first 50 on average (3000 if the sample kept only the first calls);
    # the bound is about 7 standard deviations of 300 draws
    assert abs(early - 1500) < 200


def test_print_summary_from_window_records_is_the_summary_from_their_measurements() -> None:
    testing.script([1.0, 2.0, 3.0, 4.0, 5.0])
    blocks = []
    for _ in range(5):
        with greencode.measure("hot") as block:
            pass
        blocks.append(block)
    from_records, from_measurements = io.StringIO(), io.StringIO()
    by_record, by_measurement = sinks.PrintSink(from_records), sinks.PrintSink(from_measurements)
    for block in blocks:
        by_record.count(block)
        by_measurement(block.measurement())
    by_record.flush()
    by_measurement.flush()
    assert from_records.getvalue() == from_measurements.getvalue()
    assert "hot: 5 calls in " in from_records.getvalue()


@given(
    figures=st.lists(
        st.tuples(st.floats(0.0, 1e3, allow_subnormal=False), st.floats(0.0, 1e3, allow_subnormal=False)),
        max_size=40,
    )
)
def test_print_summary_of_plain_calls_is_the_summary_of_their_records(
    figures: list[tuple[float, float]],
) -> None:
    # measure()'s fast path leaves a plain call's energy and time, not its record
    testing.script([1.0])
    first = run_block("hot")
    by_record, plain = sinks.LabelSummary(first), sinks.LabelSummary(first)
    assert plain.plain_meter == first.meter
    for energy, wall in figures:
        by_record.pending.append(dataclasses.replace(first, energy_j=energy, wall_s=wall))
        plain.plain_energy.append(energy)
        plain.plain_wall.append(wall)
    by_record.fold()
    plain.fold()
    assert (plain.calls, plain.sample_j, plain.meters, plain.estimated) == (
        by_record.calls,
        by_record.sample_j,
        by_record.meters,
        by_record.estimated,
    )
    assert plain.energy_j == pytest.approx(by_record.energy_j, rel=1e-12)
    assert plain.wall_s == pytest.approx(by_record.wall_s, rel=1e-12)
    assert plain.describe() == by_record.describe()
