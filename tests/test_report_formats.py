"""Every report format shows energy with CO2e and SCI next to it, says what is estimated, and parses."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from report_inputs import write_history, write_run_file

from greencode.config import CarbonConfig
from greencode.report import SCHEMA, SCHEMA_VERSION, Report, load_report, render
from greencode.report.model import Estimate, build_test

CARBON = CarbonConfig(grid="NL")


@pytest.fixture
def report() -> Report:
    tests = (
        build_test(
            "tests/test_io.py::test_read[a|b]",
            Estimate(0.012, 0.011, 0.013),
            CARBON,
            estimated=True,
            wall_s=0.5,
            domains={"cpu": 0.012},
            baseline=Estimate.exact(0.010),
            status="regression",
        ),
        build_test("tests/test_io.py::test_write", Estimate.exact(0.002), CARBON, estimated=True, wall_s=0.1),
    )
    return Report(source="results.json", kind="pytest", carbon=CARBON, tests=tests, commit="abc123")


def test_text_has_energy_co2e_sci_baseline_change_and_status(report: Report) -> None:
    text = render(report, "text")
    line = next(line for line in text.splitlines() if line.startswith("tests/test_io.py::test_read"))
    assert re.search(
        r"12 mJ \(est\.\)\s+11 mJ – 13 mJ\s+.*gCO2e \(est\.\)\s+.*gCO2e/test \(est\.\)\s+10 mJ\s+\+20\.0%\s+"
        r"regression",
        line,
    )
    assert "ESTIMATES" in text
    assert "267.622 gCO2e/kWh (location-based: Netherlands (NLD) 2023" in text
    assert "commit: abc123" in text


def test_text_total_row_has_sci_per_run(report: Report) -> None:
    total = render(report, "text").splitlines()[-1]
    assert total.startswith("total (2 entries)") and "14 mJ" in total and "/run" in total


def test_text_total_of_estimates_is_marked_as_an_estimate(report: Report) -> None:
    assert "14 mJ (est.)" in render(report, "text").splitlines()[-1]


def _mixed() -> Report:
    tests = (
        build_test("t.py::test_whole", Estimate.exact(0.5), CARBON, estimated=False, wall_s=0.5),
        build_test("t.py::test_other", Estimate.exact(0.25), CARBON, estimated=False, wall_s=0.2),
        build_test("t.py::test_fn", Estimate.exact(24e-6), CARBON, per="call", estimated=True, wall_s=1e-6),
    )
    return Report(source="results.json", kind="pytest", carbon=CARBON, tests=tests)


def test_totals_add_only_per_test_figures_and_say_what_they_leave_out() -> None:
    report = _mixed()
    assert report.total_energy_j == 0.75 and not report.total_estimated
    total = render(report, "text").splitlines()[-1]
    assert total.startswith("total of 2 entries per test or run (1 per-call figure not added")
    assert "750 mJ" in total and "(est.)" not in total
    totals = json.loads(render(report, "json"))["totals"]
    assert (totals["energy_j"], totals["entries"], totals["per_call_not_added"]) == (0.75, 2, 1)


def test_a_per_call_figure_is_labelled_per_call() -> None:
    line = next(line for line in render(_mixed(), "text").splitlines() if line.startswith("t.py::test_fn"))
    assert "24 µJ/call (est.)" in line


def test_only_per_call_figures_get_no_total_row() -> None:
    tests = tuple(
        build_test(f"t.py::test_{i}", Estimate.exact(1e-5), CARBON, per="call", estimated=True)
        for i in range(2)
    )
    text = render(Report(source="r.json", kind="pytest", carbon=CARBON, tests=tests), "text")
    assert "total" not in text


def test_co2e_and_sci_of_an_estimate_are_marked_as_estimates(report: Report) -> None:
    for fmt in ("text", "md", "html"):
        assert "gCO2e (est.)" in render(report, fmt) and "gCO2e/test (est.)" in render(report, fmt), fmt


def _suite() -> Report:
    tests = (
        build_test("tests/test_io.py::test_read", Estimate.exact(0.6), CARBON, estimated=False, wall_s=0.5),
        build_test("tests/test_io.py::test_write", Estimate.exact(0.2), CARBON, estimated=False, wall_s=0.1),
        build_test("tests/test_db.py::test_query", Estimate.exact(0.2), CARBON, estimated=True, wall_s=0.1),
        build_test("tests/test_db.py::test_fn", Estimate.exact(5e-6), CARBON, per="call", estimated=False),
    )
    return Report(source="results.json", kind="pytest", carbon=CARBON, tests=tests)


def test_energy_by_file_shows_where_the_suites_energy_goes() -> None:
    text = render(_suite(), "text")
    block = text.split("energy by file (per-test figures):\n", 1)[1].splitlines()
    assert re.match(r"file\s+energy\s+share\s+tests", block[0])
    assert re.match(r"tests/test_io.py\s+800 mJ\s+80.0%\s+2", block[1])
    assert re.match(
        r"tests/test_db.py\s+200 mJ \(est.\)\s+20.0%\s+1", block[2]
    )  # the per-call figure is not added
    assert "**Energy by file**" in render(_suite(), "md")
    (first, second) = json.loads(render(_suite(), "json"))["by_file"]
    assert (first["path"], first["tests"], first["share"]) == ("tests/test_io.py", 2, pytest.approx(0.8))
    assert second["estimated"] is True


def test_energy_by_file_is_left_out_for_a_single_file(report: Report) -> None:
    assert "energy by file" not in render(report, "text")
    assert json.loads(render(report, "json"))["by_file"] == []


def test_text_without_results_says_so() -> None:
    assert "no results in this file" in render(Report("x", "pytest", CARBON, ()), "text")


def test_markdown_is_a_table_with_escaped_pipes(report: Report) -> None:
    text = render(report, "md")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert lines[0].startswith("| test | energy | interval | CO2e | SCI | baseline | change | status |")
    assert lines[1].startswith("|---|---:|")
    assert "test_read\\[a\\|b\\]" in lines[2]
    assert all(line.count(" | ") == lines[0].count(" | ") for line in lines[2:])
    assert lines[-1].startswith("| **total (2 entries)**")


def test_json_follows_the_documented_schema(report: Report) -> None:
    data = json.loads(render(report, "json"))
    assert (data["schema"], data["version"]) == (SCHEMA, SCHEMA_VERSION) == ("greencode-report", 1)
    first = data["tests"][0]
    assert first["energy_j"] == {"median": 0.012, "low": 0.011, "high": 0.013}
    assert first["co2e_g"] == pytest.approx(0.012 / 3.6e6 * 267.622)
    assert first["sci"]["functional_unit"] == "test" and first["sci"]["per_unit_g"] == pytest.approx(
        first["co2e_g"]
    )
    assert first["basis"] == "location" and first["estimated"] is True
    assert first["baseline_j"] == {"median": 0.01, "low": 0.01, "high": 0.01}
    assert data["totals"]["energy_j"] == pytest.approx(0.014)
    assert data["carbon"]["intensities"] == [first["intensity"]]


def test_json_schema_document_lists_every_key() -> None:
    schema_doc = (Path(__file__).parents[1] / "docs" / "report-schema.md").read_text(encoding="utf-8")
    data = json.loads(render(load_report_with_everything(), "json"))
    keys = set(data) | set(data["tests"][0]) | set(data["carbon"]) | set(data["totals"])
    keys |= set(data["tests"][0]["sci"]) | {key for points in data["history"].values() for key in points[0]}
    missing = sorted(key for key in keys if f"`{key}`" not in schema_doc)
    assert not missing


def load_report_with_everything() -> Report:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        return load_report(write_history(Path(directory) / "h.sqlite", [{"t": 1.0}, {"t": 1.1}]), CARBON)


def test_csv_has_one_row_per_test_with_carbon_and_domain_columns(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert [row["name"] for row in rows] == [
        "tests/test_io.py::test_read[a|b]",
        "tests/test_io.py::test_write",
    ]
    assert float(rows[0]["energy_j"]) == 0.012 and rows[0]["estimated"] == "true"
    assert (
        float(rows[0]["co2e_g"]) > 0 and float(rows[0]["sci_g"]) > 0 and rows[0]["functional_unit"] == "test"
    )
    assert rows[0]["domain_cpu_j"] == "0.012" and rows[1]["domain_cpu_j"] == ""
    assert rows[0]["status"] == "regression" and rows[1]["baseline_j"] == ""


def test_html_is_one_offline_file_with_embedded_plots(report: Report) -> None:
    pytest.importorskip("matplotlib")
    page = render(report, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("data:image/svg+xml;base64,") == 2  # per-test bars and energy by domain
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "test_read[a|b]" in page and "<script" not in page
    assert 'class="regression"' in page and "estimates from a model" in page


def test_html_escapes_names(report: Report) -> None:
    nasty = build_test("<script>alert(1)</script>", Estimate.exact(1.0), CARBON, estimated=False)
    page = render(Report("x", "pytest", CARBON, (nasty,)), "html")
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_html_from_history_includes_the_trend(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    page = render(load_report(write_history(tmp_path / "h.sqlite", [{"t": 1.0}, {"t": 1.1}]), CARBON), "html")
    assert "Trend over commits" in page


def test_html_without_matplotlib_still_renders_and_says_why(
    report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    page = render(report, "html")
    assert "No plots" in page and "greencode[plot]" in page and "<table>" in page


def test_run_file_reports_sci_per_run(tmp_path: Path) -> None:
    text = render(load_report(write_run_file(tmp_path / "run.json"), CARBON), "text")
    assert "/run" in text and "note: a warning from the meter" in text


def test_unknown_format_is_refused(report: Report) -> None:
    with pytest.raises(ValueError, match="unknown report format"):
        render(report, "pdf")
