"""Loading any greencode output into a report, with CO2e and SCI; clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_inputs import STARTED, sqlite_file, write_history, write_results_file, write_run_file

from greencode.config import CarbonConfig
from greencode.errors import StoreError
from greencode.history import History
from greencode.report import load_report, render
from greencode.report.model import Estimate, build_test

NL = CarbonConfig(grid_intensity=267.622, pue=1.5, embodied_kgco2e=1151.7, resource_share=4 / 128)


def test_run_file_is_one_entry_per_run_with_co2e_and_sci(tmp_path: Path) -> None:
    report = load_report(write_run_file(tmp_path / "run.json", joules=3.6e6), NL)
    (test,) = report.tests
    assert (report.kind, test.name, test.per, test.estimated) == ("run", "python -m build", "run", True)
    assert test.energy == Estimate.exact(3.6e6)
    assert test.co2e_g == pytest.approx(267.622 * 1.5)
    assert test.sci.functional_unit == "run"
    assert test.sci.embodied_g == pytest.approx(35_990.625 * 2.0 / 126_144_000)
    assert dict(test.domains) == {"cpu": 3.6e6}
    assert report.notes == ("a warning from the meter",)


def test_results_file_gives_median_and_quartiles_per_test(tmp_path: Path) -> None:
    path = write_results_file(tmp_path / "results.json", {"tests/test_a.py::test_x": 0.3, "t::y": 0.1})
    report = load_report(path, NL)
    assert report.kind == "pytest" and report.commit == "a" * 40
    assert report.machine == "AMD EPYC, 2 CPUs, VM, meter estimate"
    test = {t.name: t for t in report.tests}["tests/test_a.py::test_x"]
    assert test.energy.median_j == pytest.approx(0.3)
    assert test.energy.low_j < 0.3 < test.energy.high_j
    assert len(test.samples_j) == 7 and test.per == "test" and test.started_at == STARTED


def test_results_file_shows_the_gate_verdicts_it_recorded(tmp_path: Path) -> None:
    gate = {
        "summary": "FAILED: 1 energy regression",
        "comparisons": [
            {"node_id": "t::x", "verdict": "regression", "baseline_j": 0.2, "change": 0.5, "reason": "r"},
        ],
    }
    report = load_report(write_results_file(tmp_path / "r.json", {"t::x": 0.3, "t::y": 0.1}, gate), NL)
    tests = {t.name: t for t in report.tests}
    assert (tests["t::x"].status, tests["t::x"].change) == ("regression", 0.5)
    assert tests["t::x"].baseline == Estimate.exact(0.2)
    assert tests["t::y"].status is None and tests["t::y"].baseline is None
    assert "gate (as run): FAILED: 1 energy regression" in report.notes


def test_history_reports_the_latest_run_and_every_run_for_trends(tmp_path: Path) -> None:
    path = write_history(
        tmp_path / "history.sqlite", [{"t::x": 1.0}, {"t::x": 1.1}, {"t::x": 1.2, "t::y": 5.0}]
    )
    report = load_report(path, NL)
    assert report.kind == "history" and report.commit == "2" * 40
    assert {t.name: round(t.energy.median_j, 6) for t in report.tests} == {"t::x": 1.2, "t::y": 5.0}
    assert [round(p.median_j, 6) for p in report.history["t::x"]] == [1.0, 1.1, 1.2]
    assert [p.commit for p in report.history["t::x"]] == ["0" * 40, "1" * 40, "2" * 40]
    assert {t.status for t in report.tests} == {"unchanged"}


def test_report_json_reads_back_into_the_same_report(tmp_path: Path) -> None:
    original = load_report(write_history(tmp_path / "h.sqlite", [{"t::x": 1.0}, {"t::x": 2.0}]), NL)
    path = tmp_path / "report.json"
    path.write_text(render(original, "json"), encoding="utf-8")
    again = load_report(path, NL)
    assert again.tests == original.tests
    assert again.history == original.history
    assert (again.kind, again.commit, again.machine) == (original.kind, original.commit, original.machine)


def test_carbon_figures_follow_the_configuration_of_the_reader(tmp_path: Path) -> None:
    path = write_run_file(tmp_path / "run.json", joules=3.6e6)
    assert load_report(path, CarbonConfig(grid_intensity=100)).tests[0].co2e_g == pytest.approx(100)
    assert load_report(path).tests[0].co2e_g == pytest.approx(475)


def test_change_is_computed_from_the_baseline_when_not_given() -> None:
    test = build_test("t", Estimate.exact(1.2), NL, estimated=False, baseline=Estimate.exact(1.0))
    assert test.change == pytest.approx(0.2)


def test_custom_functional_unit_divides_by_the_declared_units() -> None:
    carbon = CarbonConfig(grid_intensity=100, functional_unit="request")
    test = build_test("t", Estimate.exact(3.6e6), carbon, estimated=False, units=50)
    assert test.sci.functional_unit == "request"
    assert test.sci.per_unit_g == pytest.approx(2.0)


def test_run_sci_sums_energy_and_reserved_time(tmp_path: Path) -> None:
    report = load_report(write_results_file(tmp_path / "r.json", {"a": 3.6e6, "b": 3.6e6}), NL)
    run = report.run_sci
    assert run is not None and run.functional_unit == "run"
    assert run.operational_g == pytest.approx(2 * 267.622 * 1.5, rel=1e-3)
    assert run.reserved_s == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", r"not valid JSON \(line 1"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"schema": "something-else"}', r"not a greencode results file \(schema 'something-else'\)"),
        (b'{"hello": 1}', r"not a greencode results file \(no 'schema' key\)"),
        (b"\x80\x81\x00binary", "not UTF-8 text"),
        (b"\xff\xfe{\x00}\x00", "UTF-16 text; save it as UTF-8"),
        (b'{"schema": "greencode-report", "version": 99}', "version 99 is newer than this greencode reads"),
        (b'{"schema": "greencode-results", "version": 1}', "malformed"),
        (
            b'{"label": "x", "energy_j": "lots", "domains": {}}',
            r"energy_j = 'lots': expected a number",
        ),
    ],
)
def test_bad_input_is_one_clear_store_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=message) as caught:
        load_report(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_missing_input_says_what_inputs_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"nope\.json: no such file; pass a results JSON"):
        load_report(tmp_path / "nope.json")


def test_directory_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        load_report(tmp_path)


def test_empty_history_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with History(path) as history:
        history.migrate()
    with pytest.raises(StoreError, match="holds no runs yet"):
        load_report(path)


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = sqlite_file(tmp_path / "other.sqlite", "CREATE TABLE things (x)", "PRAGMA user_version = 7")
    with pytest.raises(StoreError, match=r"other\.sqlite"):
        load_report(path)


def test_report_json_with_a_wrong_field_names_it(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps({"schema": "greencode-report", "version": 1, "tests": [{"name": "t", "energy_j": 3}]}),
        encoding="utf-8",
    )
    with pytest.raises(StoreError, match=r"tests\[0\]\.energy_j = 3: expected an object"):
        load_report(path)


def test_empty_input_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(b"")
    with pytest.raises(StoreError, match=r"results\.json: the file is empty; pass a results JSON"):
        load_report(path)


def report_json(path: Path, test: dict[str, object], **top: object) -> Path:
    entry = {"name": "t", "energy_j": {"median": 1.0}, **test}
    path.write_text(
        json.dumps({"schema": "greencode-report", "version": 1, "tests": [entry], **top}), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    ("test", "top", "message"),
    [
        ({"energy_j": {"median": -1.0}}, {}, r"tests\[0\]\.energy_j\.median = -1\.0: expected a number >= 0"),
        ({"wall_s": -3}, {}, r"tests\[0\]\.wall_s = -3: expected a number >= 0"),
        ({"units": 0}, {}, r"tests\[0\]\.units = 0: expected a number > 0"),
        ({"per": "banana"}, {}, r"tests\[0\]\.per = 'banana': expected one of 'call', 'test', 'run'"),
        ({"started_at": 1e20}, {}, r"tests\[0\]\.started_at = 1e\+20: expected a time in seconds since 1970"),
        ({}, {"created_at": -5}, r"created_at = -5: expected a time in seconds since 1970"),
    ],
    ids=["negative-energy", "negative-wall", "zero-units", "unknown-per", "far-future", "before-1970"],
)
def test_report_json_with_an_impossible_value_names_it(
    tmp_path: Path, test: dict[str, object], top: dict[str, object], message: str
) -> None:
    with pytest.raises(StoreError, match=message) as caught:
        load_report(report_json(tmp_path / "r.json", test, **top))
    assert "\n" not in str(caught.value)


def test_run_file_with_negative_energy_is_refused(tmp_path: Path) -> None:
    path = write_run_file(tmp_path / "run.json", joules=-0.5)
    with pytest.raises(StoreError, match=r"energy_j = -0\.5: expected a number >= 0"):
        load_report(path)


def test_results_file_with_a_negative_sample_names_the_test(tmp_path: Path) -> None:
    path = write_results_file(tmp_path / "results.json", {"t::x": 1.0})
    data = json.loads(path.read_text(encoding="utf-8"))
    data["tests"][0]["samples_j"] = [-1.0, 2.0, 3.0]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StoreError, match=r"results\.json: .*\(t::x: negative energy -1 J in 'samples_j'\)"):
        load_report(path)


def test_results_file_with_an_impossible_start_time_is_refused(tmp_path: Path) -> None:
    path = write_results_file(tmp_path / "results.json", {"t::x": 1.0})
    data = json.loads(path.read_text(encoding="utf-8"))
    data["run"]["started_epoch"] = 1e20
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        StoreError, match=r"run\.started_epoch = 1e\+20: expected a time in seconds since 1970"
    ):
        load_report(path)


def test_results_file_attributes_energy_to_its_only_domain(tmp_path: Path) -> None:
    report = load_report(write_results_file(tmp_path / "results.json", {"t::x": 1.0}))
    assert dict(report.tests[0].domains) == {"cpu": report.tests[0].energy.median_j}
