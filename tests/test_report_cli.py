"""``greencode report``: formats, output files, plots, the --fail-on gate and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from report_inputs import write_baseline, write_history, write_results_file, write_run_file

from greencode.cli import main


@pytest.fixture(autouse=True)
def project(project: Path) -> Path:
    """A project directory whose configuration sets the grid and the baseline."""
    settings = 'baseline = "baseline.json"\n[carbon]\ngrid = "NL"\n'
    (project / "greencode.toml").write_text(settings, encoding="utf-8")
    return project


def test_text_report_goes_to_stdout(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_run_file(project / "run.json")
    assert main(["report", "run.json"]) == 0
    out = capsys.readouterr().out
    assert "python -m build" in out and "Netherlands (NLD) 2023" in out


@pytest.mark.parametrize(
    ("suffix", "marker"),
    [(".md", "## greencode"), (".markdown", "## greencode"), (".html", "<!DOCTYPE html>"), (".csv", "name,")],
)
def test_output_format_follows_the_suffix(project: Path, suffix: str, marker: str) -> None:
    write_run_file(project / "run.json")
    assert main(["report", "run.json", "--output", f"out{suffix}"]) == 0
    assert (project / f"out{suffix}").read_text(encoding="utf-8").startswith(marker)


def test_explicit_format_wins_over_the_suffix(project: Path) -> None:
    write_run_file(project / "run.json")
    assert main(["report", "run.json", "--format", "json", "-o", "out.txt"]) == 0
    assert json.loads((project / "out.txt").read_text())["schema"] == "greencode-report"


@pytest.mark.parametrize(
    ("name", "marker"), [("markdown", "## greencode"), ("MD", "## greencode"), ("HTML", "<!DOCTYPE")]
)
def test_format_is_taken_by_its_other_names_and_in_any_case(project: Path, name: str, marker: str) -> None:
    write_run_file(project / "run.json")
    assert main(["report", "run.json", "--format", name, "-o", "out.txt"]) == 0
    assert (project / "out.txt").read_text(encoding="utf-8").startswith(marker)


def test_input_defaults_to_the_history_database(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_history(project / ".greencode" / "history.sqlite", [{"t::x": 1.0}])
    assert main(["report"]) == 0
    assert "t::x" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["tests", "history"])
def test_plot_is_written(project: Path, kind: str) -> None:
    pytest.importorskip("matplotlib")
    write_history(project / "h.sqlite", [{"t::x": 1.0}, {"t::x": 1.2}])
    assert main(["report", "h.sqlite", "--plot", "plot.png", "--plot-kind", kind]) == 0
    assert (project / "plot.png").read_bytes().startswith(b"\x89PNG")


def test_domains_plot_of_a_results_file_is_written(project: Path) -> None:
    pytest.importorskip("matplotlib")
    write_results_file(project / "results.json", {"t::x": 1.0})
    assert main(["report", "results.json", "--plot", "plot.svg", "--plot-kind", "domains"]) == 0
    assert "<svg" in (project / "plot.svg").read_text(encoding="utf-8")


def test_domains_plot_of_the_history_is_an_input_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    write_history(project / "h.sqlite", [{"t::x": 1.0}])
    assert main(["report", "h.sqlite", "--plot", "plot.png", "--plot-kind", "domains"]) == 2
    assert "h.sqlite: no energy by domain to plot" in capsys.readouterr().err


def test_a_plot_that_cannot_be_drawn_stops_before_the_report_is_written(project: Path) -> None:
    write_run_file(project / "run.json")
    assert main(["report", "run.json", "-o", "out.md", "--plot", "p.svg", "--plot-kind", "history"]) == 2
    assert not (project / "out.md").exists()


def test_a_plot_with_an_unknown_suffix_stops_before_the_report_is_written(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    write_run_file(project / "run.json")
    assert main(["report", "run.json", "-o", "out.md", "--plot", "p.jpg"]) == 2
    assert not (project / "out.md").exists() and "name the file .png or .svg" in capsys.readouterr().err


def test_history_plot_of_a_run_file_is_an_input_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run_file(project / "run.json")
    assert main(["report", "run.json", "--plot", "p.svg", "--plot-kind", "history"]) == 2
    assert "no history to plot" in capsys.readouterr().err


def test_fail_on_passes_unchanged_results(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_baseline(project / "baseline.json", {"t::x": 1.0, "t::y": 2.0})
    write_results_file(project / "results.json", {"t::x": 1.0, "t::y": 2.0})
    assert main(["report", "results.json", "--fail-on", "10%"]) == 0
    captured = capsys.readouterr()
    assert "gate (10%): passed" in captured.err and "unchanged" in captured.out


def test_fail_on_fails_a_clear_regression_with_exit_1(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_baseline(project / "baseline.json", {"t::x": 1.0, "t::y": 2.0})
    write_results_file(project / "results.json", {"t::x": 2.0, "t::y": 2.0})
    assert main(["report", "results.json", "--fail-on", "10%", "--format", "md"]) == 1
    captured = capsys.readouterr()
    assert "FAILED: 1 energy regression" in captured.err
    assert "| regression |" in captured.out and "+100.0%" in captured.out
    assert "regression: t::x:" in captured.out


def test_fail_on_threshold_decides(project: Path) -> None:
    write_baseline(project / "baseline.json", {"t::x": 1.0})
    write_results_file(project / "results.json", {"t::x": 2.0})
    assert main(["report", "results.json", "--fail-on", "500%"]) == 0


def test_fail_on_gates_the_latest_history_run(project: Path) -> None:
    write_baseline(project / "baseline.json", {"t::x": 1.0})
    write_history(project / "h.sqlite", [{"t::x": 1.0}, {"t::x": 3.0}])
    assert main(["report", "h.sqlite", "--fail-on", "10%"]) == 1


def test_fail_on_a_run_file_is_an_input_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_run_file(project / "run.json")
    assert main(["report", "run.json", "--fail-on", "10%"]) == 2
    assert "--fail-on needs a pytest results JSON" in capsys.readouterr().err


def test_bad_threshold_is_an_input_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_run_file(project / "run.json")
    assert main(["report", "run.json", "--fail-on", "lots"]) == 2
    assert "--fail-on 'lots'" in capsys.readouterr().err


def test_corrupt_input_is_one_line_and_exit_2(project: Path) -> None:
    (project / "broken.json").write_text("{", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "greencode", "report", "broken.json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "broken.json: not valid JSON" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_fail_on_without_a_baseline_says_there_is_none(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results_file(project / "results.json", {"t::x": 1.0})
    assert main(["report", "results.json", "--fail-on", "10%"]) == 0
    assert "note: gate: no baseline at " in capsys.readouterr().out


def test_fail_on_lists_tests_of_the_baseline_that_did_not_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_baseline(project / "baseline.json", {"t::x": 1.0, "t::gone": 2.0})
    write_results_file(project / "results.json", {"t::x": 1.0})
    assert main(["report", "results.json", "--fail-on", "10%"]) == 0
    assert "note: missing: t::gone: in the baseline but not measured in this run" in capsys.readouterr().out


def test_fail_on_keeps_the_gates_own_notes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dataclasses import replace

    from report_inputs import FINGERPRINT, record

    from greencode.baselines import save_baseline
    from greencode.results_file import write_results

    save_baseline(
        project / "baseline.json", [record("t::x", 1.0)], replace(FINGERPRINT, hostname="ci-1"), None
    )
    path = write_results_file(project / "results.json", {"t::x": 1.0})
    data = json.loads(path.read_text(encoding="utf-8"))
    data["fingerprint"]["hostname"] = "laptop"
    write_results(path, data)
    assert main(["report", "results.json", "--fail-on", "10%"]) == 0
    assert "note: gate: the baseline was saved on host 'ci-1'" in capsys.readouterr().out


def test_fail_on_replaces_the_verdict_the_run_recorded(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_baseline(project / "baseline.json", {"t::x": 1.0})
    write_results_file(
        project / "results.json", {"t::x": 1.0}, gate={"summary": "FAILED: 1 energy regression"}
    )
    assert main(["report", "results.json", "--fail-on", "10%"]) == 0
    out = capsys.readouterr().out
    assert "gate: passed" in out and "gate (as run)" not in out
