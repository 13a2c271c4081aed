"""Stored data: records, fingerprints, baselines, results files, the history database, git state, locks."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from processes import held_elsewhere
from report_inputs import sqlite_file

from greencode.baselines import (
    BASELINE_SCHEMA,
    baseline_from_runs,
    load_baseline,
    merge_baseline,
    save_baseline,
    write_baseline,
)
from greencode.errors import StoreError
from greencode.fingerprint import Fingerprint, detect_fingerprint
from greencode.history import History
from greencode.locks import file_lock
from greencode.records import MAX_RUNS, TestRecord
from greencode.results_file import RunInfo, load_results, results_document, write_results
from greencode.vcs import VcsState, vcs_state

MACHINE = Fingerprint("AMD EPYC", 2, "estimate", ("cpu",), True, "3.11.7", 2450.0, "runner-1", "Linux")
CLEAN = VcsState("a" * 40, "main", dirty=False)


def record(node_id: str = "tests/test_a.py::test_x", *samples: float, per: str = "test") -> TestRecord:
    return TestRecord(
        node_id, per, samples or (1.0, 1.1, 0.9), 0.01, 0.009, "estimate", True, {"cpu": "model"}
    )


@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=20),
    st.sampled_from(["call", "test"]),
    st.booleans(),
)
def test_record_survives_a_round_trip_through_json(samples: list[float], per: str, estimated: bool) -> None:
    original = TestRecord(
        "t.py::x[1-a]", per, tuple(samples), 0.5, 0.25, "rapl", estimated, {"pkg": "zone"}, 3, 7
    )
    restored = TestRecord.from_dict(json.loads(json.dumps(original.to_dict())))
    assert restored.per == per and restored.estimated == estimated and restored.rounds == 3
    assert restored.samples_j == pytest.approx(original.samples_j, rel=1e-6)


def test_record_refuses_an_unknown_unit() -> None:
    with pytest.raises(ValueError, match="per must be"):
        TestRecord("x", "suite", (1.0,), 0, 0, "m", True)


def test_record_reading_names_the_wrong_field() -> None:
    data = record().to_dict() | {"wall_s": "fast"}
    with pytest.raises(ValueError, match="'wall_s' should be float"):
        TestRecord.from_dict(data)


def test_fingerprint_identity_ignores_python_frequency_and_host() -> None:
    other = replace(MACHINE, python="3.13.0", frequency_mhz=3000.0, hostname="runner-2", platform="Linux-6")
    assert MACHINE.matches(other)


def test_fingerprint_names_what_differs() -> None:
    laptop = replace(MACHINE, cpu_model="Intel Core i7-1185G7", logical_cpus=8, virtualised=False)
    assert laptop.differences(MACHINE) == (
        "CPU 'AMD EPYC' vs 'Intel Core i7-1185G7'",
        "2 vs 8 logical CPUs",
        "virtual vs physical machine",
    )


def test_fingerprint_tells_meters_and_domains_apart() -> None:
    assert not MACHINE.matches(replace(MACHINE, meter="rapl"))
    assert not MACHINE.matches(replace(MACHINE, domains=("cpu", "dram-0")))


def test_detected_fingerprint_describes_this_machine() -> None:
    found = detect_fingerprint("estimate", ["cpu"])
    assert found.cpu_model and found.logical_cpus == os.cpu_count()
    assert found.meter == "estimate" and found.domains == ("cpu",)
    assert isinstance(found.virtualised, bool) and found.hostname


def test_baseline_round_trips_and_is_sorted_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    records = [record("b.py::y"), record("a.py::x", 2.0, 2.2)]
    save_baseline(path, records, MACHINE, CLEAN, now=0)
    first = path.read_bytes()
    text = first.decode()
    assert text.index('"a.py::x"') < text.index('"b.py::y"')
    assert json.loads(text)["schema"] == BASELINE_SCHEMA
    loaded = load_baseline(path)
    assert loaded is not None and set(loaded.entries) == {"a.py::x", "b.py::y"}
    assert loaded.fingerprint == MACHINE and loaded.commit == CLEAN.commit
    # writing what was read gives the same bytes: diffs show only real changes
    path.write_text(loaded.to_json())
    assert path.read_bytes() == first


def test_missing_baseline_is_none(tmp_path: Path) -> None:
    assert load_baseline(tmp_path / "nothing.json") is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{ not json", "not valid JSON"),
        ('{"schema": "something-else", "version": 1}', "not a greencode baseline"),
        ('{"schema": "greencode-baseline", "version": 99}', "newer greencode"),
        ("[1, 2]", "not a greencode baseline"),
    ],
)
def test_unusable_baseline_is_refused_naming_the_file_and_left_untouched(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=message) as caught:
        load_baseline(path)
    assert str(path) in str(caught.value)
    with pytest.raises(StoreError):
        save_baseline(path, [record()], MACHINE, CLEAN)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("runs_j", ["lots"], "'runs_j' should be a list of finite numbers"),
        ("runs_j", [-0.5], "'runs_j' should be a list of finite numbers >= 0"),
        ("samples_j", [1.0, -2.0], "'samples_j' should be a list of finite numbers >= 0"),
    ],
)
def test_malformed_entry_is_named(tmp_path: Path, field: str, value: object, message: str) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, [record("a.py::x")], MACHINE, CLEAN)
    data = json.loads(path.read_text())
    data["entries"]["a.py::x"][field] = value
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match=rf"entry 'a.py::x' is malformed \({re.escape(message)}"):
        load_baseline(path)


def test_a_summary_of_other_than_numbers_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, [record("a.py::x")], MACHINE, CLEAN)
    data = json.loads(path.read_text())
    data["entries"]["a.py::x"]["summary"]["median"] = "lots"
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match=r"entry 'a.py::x' is malformed \('summary' should hold numbers"):
        load_baseline(path)


def test_saving_the_same_clean_commit_again_pools_runs_up_to_the_cap() -> None:
    baseline = None
    for index in range(MAX_RUNS + 3):
        result = merge_baseline(baseline, [record("a.py::x", 1.0 + index)], MACHINE, CLEAN)
        baseline = result.baseline
    assert result.pooled == ("a.py::x",)
    assert baseline is not None
    assert baseline.entries["a.py::x"].runs_j == tuple(float(1 + i) for i in range(3, MAX_RUNS + 3))


@pytest.mark.parametrize(
    "vcs", [None, VcsState("a" * 40, "main", dirty=True), VcsState("b" * 40, "main", dirty=False)]
)
def test_saving_a_dirty_tree_or_another_commit_starts_the_entry_afresh(vcs: VcsState | None) -> None:
    first = merge_baseline(None, [record("a.py::x", 1.0)], MACHINE, CLEAN).baseline
    second = merge_baseline(first, [record("a.py::x", 2.0)], MACHINE, vcs)
    assert second.replaced == ("a.py::x",)
    assert second.baseline.entries["a.py::x"].runs_j == (2.0,)


@pytest.mark.parametrize(
    ("vcs", "why"),
    [
        (None, "this is not a git work tree, so runs cannot be matched to one commit"),
        (
            VcsState("a" * 40, "main", dirty=True, changes=("src/x.py",)),
            "the work tree has uncommitted changes (src/x.py); runs pool only when saved at one clean commit",
        ),
        (
            VcsState("b" * 40, "main", dirty=False),
            f"the saved runs are of commit {'a' * 12}, this run of {'b' * 12}",
        ),
    ],
)
def test_a_save_that_starts_entries_afresh_says_why_they_did_not_pool(vcs: VcsState | None, why: str) -> None:
    first = merge_baseline(None, [record("a.py::x", 1.0)], MACHINE, CLEAN).baseline
    second = merge_baseline(first, [record("a.py::x", 2.0)], MACHINE, vcs)
    assert second.not_pooled == why
    assert f"1 replaced (not pooled with earlier runs: {why})" in second.describe()


def test_a_save_that_pools_has_no_reason_not_to() -> None:
    first = merge_baseline(None, [record("a.py::x", 1.0)], MACHINE, CLEAN).baseline
    assert merge_baseline(first, [record("a.py::x", 2.0)], MACHINE, CLEAN).not_pooled is None


def test_saving_keeps_tests_that_did_not_run() -> None:
    first = merge_baseline(None, [record("a.py::x"), record("b.py::y")], MACHINE, CLEAN).baseline
    second = merge_baseline(first, [record("a.py::x")], MACHINE, None).baseline
    assert set(second.entries) == {"a.py::x", "b.py::y"}


def test_saving_on_another_machine_replaces_the_whole_baseline_and_says_why() -> None:
    first = merge_baseline(None, [record("a.py::x"), record("b.py::y")], MACHINE, CLEAN).baseline
    other = replace(MACHINE, cpu_model="Intel Xeon")
    result = merge_baseline(first, [record("a.py::x")], other, CLEAN)
    assert set(result.baseline.entries) == {"a.py::x"}
    assert result.reset is not None and "Intel Xeon" in result.reset


def _save_many(path: str, worker: int) -> None:
    for index in range(5):
        save_baseline(Path(path), [record(f"w{worker}.py::t{index}")], MACHINE, None)


def test_concurrent_writers_lose_no_entries(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_save_many, args=(str(path), worker)) for worker in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert all(process.exitcode == 0 for process in processes)
    baseline = load_baseline(path)
    assert baseline is not None and len(baseline.entries) == 20


def test_a_failed_write_leaves_the_previous_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, [record("a.py::x")], MACHINE, CLEAN)
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StoreError, match="previous file is unchanged"):
        save_baseline(path, [record("b.py::y")], MACHINE, CLEAN)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_baseline_from_runs_holds_one_median_per_run() -> None:
    runs = [[record("a.py::x", v, v, v)] for v in (1.0, 1.2, 0.8)]
    baseline = baseline_from_runs(runs, MACHINE, CLEAN)
    assert baseline.entries["a.py::x"].runs_j == (1.0, 1.2, 0.8)


def test_runs_of_a_dirty_tree_are_never_pooled_with_later_saves_of_its_commit() -> None:
    dirty = VcsState(CLEAN.commit, "main", dirty=True)
    calibrated = baseline_from_runs([[record("a.py::x")], [record("a.py::x")]], MACHINE, dirty)
    saved = merge_baseline(calibrated, [record("a.py::x")], MACHINE, CLEAN)
    assert saved.replaced == ("a.py::x",) and len(saved.baseline.entries["a.py::x"].runs_j) == 1


def test_write_baseline_replaces_its_entries_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, [record("a.py::x"), record("b.py::y")], MACHINE, CLEAN)
    pooled = baseline_from_runs([[record("a.py::x", 5.0)], [record("a.py::x", 6.0)]], MACHINE, CLEAN)
    result = write_baseline(path, pooled)
    loaded = load_baseline(path)
    assert result.replaced == ("a.py::x",)
    assert (
        loaded is not None and loaded.entries["a.py::x"].runs_j == (5.0, 6.0) and "b.py::y" in loaded.entries
    )


def _run_info(started: float = 1_700_000_000.0, vcs: VcsState | None = CLEAN) -> RunInfo:
    return RunInfo("run-1", started, started + 2.5, vcs, "estimate", True, ("estimate: in use",), 0)


def test_results_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    document = results_document(_run_info(), MACHINE, [record("a.py::x")], settings={"fail_on": 0.1})
    write_results(path, document)
    results = load_results(path)
    assert results.records[0].node_id == "a.py::x"
    assert results.fingerprint == MACHINE
    assert results.run["commit"] == CLEAN.commit and results.run["duration_s"] == 2.5


@pytest.mark.parametrize(
    ("content", "message"),
    [('{"schema": "greencode-results", "version": 7}', "version 7"), ('{"x": 1}', "not a greencode results")],
)
def test_foreign_results_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(StoreError, match=message):
        load_results(path)


def test_history_appends_runs_and_serves_trends(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with History(path) as history:
        history.append(_run_info(1.0), MACHINE, [record("a.py::x", 1.0), record("b.py::y", 3.0)])
        later = replace(_run_info(2.0), run_id="run-2")
        history.append(
            later, MACHINE, [record("a.py::x", 1.5)], {"a.py::x": ("regression", 0.5)}, failed=True
        )
    with History(path) as history:
        runs = history.runs()
        series = history.series("a.py::x")
        assert [r.run_id for r in runs] == ["run-1", "run-2"]
        assert runs[1].failed and runs[0].commit == CLEAN.commit and runs[0].tests == 2
        assert [p.median_j for p in series] == [1.0, 1.5]
        assert series[1].verdict == "regression" and series[1].change == 0.5
        assert [p.node_id for p in history.run_results("run-1")] == ["a.py::x", "b.py::y"]
        assert history.runs(limit=1)[0].run_id == "run-2"
        assert history.node_ids() == ["a.py::x", "b.py::y"]


def test_reading_a_history_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    with History(tmp_path / "history.sqlite") as history:
        assert history.runs() == [] and history.series("x") == []
    assert not (tmp_path / "history.sqlite").exists()


def test_history_of_another_version_is_refused(tmp_path: Path) -> None:
    path = sqlite_file(tmp_path / "history.sqlite", "PRAGMA user_version = 42", "CREATE TABLE runs (x)")
    with pytest.raises(StoreError, match="version 42"), History(path) as history:
        history.runs()


def test_a_file_that_is_not_a_database_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_text("this is not sqlite, just text long enough to have a header" * 20)
    with pytest.raises(StoreError, match=str(path)), History(path) as history:
        history.append(_run_info(), MACHINE, [record()])


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip


def test_vcs_state_is_none_outside_git(tmp_path: Path) -> None:
    assert vcs_state(tmp_path) is None


def test_vcs_state_reports_commit_branch_and_local_changes(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "trunk")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "add", "code.py")
    _git(tmp_path, "commit", "-q", "-m", "one")
    clean = vcs_state(tmp_path)
    assert clean is not None and len(clean.commit) == 40 and clean.branch == "trunk" and not clean.dirty
    (tmp_path / "code.py").write_text("x = 2\n")
    dirty = vcs_state(tmp_path)
    assert dirty is not None and dirty.dirty and dirty.commit == clean.commit


def _hold(path: str, ready: Any, release: Any) -> None:
    with file_lock(Path(path)):
        ready.set()
        release.wait(30)


def test_a_held_lock_makes_others_wait(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    held = held_elsewhere(_hold, str(lock), "fork", ready_s=30)
    with held, pytest.raises(StoreError, match="still locked"), file_lock(lock, timeout_s=0.2):
        pass
    with file_lock(lock, timeout_s=5):
        pass


def test_reading_a_foreign_sqlite_database_is_refused_and_leaves_it_unchanged(tmp_path: Path) -> None:
    path = sqlite_file(tmp_path / "other.sqlite", "CREATE TABLE notes (text TEXT)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a greencode history database"), History(path) as history:
        history.runs()
    assert path.read_bytes() == before


def test_the_documented_store_api_is_one_import_of_the_modules_that_hold_it() -> None:
    import greencode.store
    from greencode import baselines, fingerprint, records, results_file

    documented = (Path(__file__).parents[1] / "docs" / "pytest.md").read_text(encoding="utf-8")
    section = documented[documented.index("- `greencode.store`:") : documented.index("- `greencode.gate`:")]
    names = set(re.findall(r"`(\w+)(?:\(|`)", section))
    assert names == set(greencode.store.__all__)
    homes = (baselines, fingerprint, records, results_file)
    for name in names:
        assert any(getattr(home, name, None) is getattr(greencode.store, name) for home in homes), name
