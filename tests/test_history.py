"""The SQLite history: concurrent first writers, foreign files, migrations, clear errors, checked reads."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from processes import held_elsewhere, started_together
from report_inputs import FINGERPRINT, record, run_info, sqlite_file, write_history
from run_cli import run_greencode

from greencode.errors import StoreError
from greencode.history import History
from greencode.history.database import _point_row
from greencode.history.model import RESULT_COLUMNS, HistoryPoint, result_row, run_from_info
from greencode.history.schema import SCHEMA_VERSION
from greencode.history.sqlite import SqliteBackend
from greencode.records import TestRecord, record_from_point
from greencode.report import load_report
from greencode.vcs import VcsState

# greencode 0.1.0's schema (version 1), as it created it
_VERSION_1 = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, started REAL NOT NULL, finished REAL NOT NULL, commit_sha TEXT,
    branch TEXT, dirty INTEGER, meter TEXT NOT NULL, estimated INTEGER NOT NULL, machine TEXT NOT NULL,
    fingerprint TEXT NOT NULL, tests INTEGER NOT NULL, failed INTEGER NOT NULL);
CREATE TABLE results (run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, node_id TEXT NOT NULL,
    per TEXT NOT NULL, n INTEGER NOT NULL, median_j REAL NOT NULL, q1_j REAL NOT NULL, q3_j REAL NOT NULL,
    mean_j REAL NOT NULL, stdev_j REAL NOT NULL, wall_s REAL NOT NULL, cpu_s REAL NOT NULL,
    estimated INTEGER NOT NULL, meter TEXT NOT NULL, verdict TEXT, change REAL,
    PRIMARY KEY (run_id, node_id));
CREATE INDEX results_by_node ON results (node_id);
PRAGMA user_version = 1;
"""


_WORKERS = 6
_DATABASES = 8


def _write_runs(directory: str, worker: int, barrier: Any) -> None:
    for database in range(_DATABASES):
        barrier.wait(60)  # every worker's first write to each new database at the same moment
        with History(Path(directory) / f"{database}" / "history.sqlite") as history:
            for number in range(2):
                run = replace(run_info(number), run_id=f"w{worker}-r{number}")
                history.append(run, FINGERPRINT, [record("t.py::a", 1.0), record("t.py::b", 2.0)])


def test_concurrent_first_writers_to_a_new_database_all_succeed(tmp_path: Path) -> None:
    assert started_together(_write_runs, _WORKERS, str(tmp_path)) == [0] * _WORKERS
    for database in range(_DATABASES):
        with History(tmp_path / f"{database}" / "history.sqlite") as history:
            assert len(history.runs()) == 2 * _WORKERS
            assert len(history.series("t.py::a")) == 2 * _WORKERS


def test_schema_and_first_run_are_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with History(path) as history:
        history.append(run_info(), FINGERPRINT, [record("t.py::a", 1.0)])
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert connection.execute("SELECT value FROM greencode_meta").fetchone()[0] == str(SCHEMA_VERSION)
    connection.close()


@pytest.mark.parametrize("user_version", [0, 1, 7])
def test_writing_to_another_applications_database_is_refused_and_leaves_it_unchanged(
    tmp_path: Path, user_version: int
) -> None:
    path = sqlite_file(
        tmp_path / "notes.sqlite", "CREATE TABLE notes (text TEXT)", f"PRAGMA user_version = {user_version}"
    )
    before = path.read_bytes()
    refused = pytest.raises(StoreError, match=r"not a greencode history database \(it holds notes")
    with refused, History(path) as history:
        history.append(run_info(), FINGERPRINT, [record("t.py::a", 1.0)])
    assert path.read_bytes() == before


def _version_1_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.executescript(_VERSION_1)
    connection.execute(
        "INSERT INTO runs VALUES ('old', 1.0, 2.0, ?, 'main', 0, 'estimate', 1, 'm', ?, 1, 0)",
        ("c" * 40, '{"cpu_model": "AMD EPYC"}'),
    )
    connection.execute(
        "INSERT INTO results VALUES ('old', 't.py::a', 'test', 7, 1.0, 0.9, 1.1, 1.0, 0.1, 0.05, 0.04, 1, "
        "'estimate', NULL, NULL)"
    )
    connection.commit()
    connection.close()


def test_a_version_1_database_is_read_without_being_changed(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    _version_1_database(path)
    before = path.read_bytes()
    with History(path) as history:
        (run,) = history.runs()
        (point,) = history.series("t.py::a")
    assert run.run_id == "old" and run.repository is None and point.instructions is None
    assert path.read_bytes() == before


def test_a_version_1_database_is_migrated_by_the_next_write_keeping_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    _version_1_database(path)
    run = replace(run_info(1), vcs=VcsState("d" * 40, "main", False, repository="acme/app"))
    with History(path) as history:
        history.append(run, FINGERPRINT, [record("t.py::a", 2.0)])
    with History(path) as history:
        runs = history.runs()
        assert [r.run_id for r in runs] == ["old", "run-1"]
        assert runs[1].repository == "acme/app"
        assert [p.median_j for p in history.series("t.py::a")] == [1.0, pytest.approx(2.0)]
        assert history.migrate() == SCHEMA_VERSION


def test_a_database_of_a_newer_greencode_asks_for_an_upgrade(tmp_path: Path) -> None:
    path = sqlite_file(
        write_history(tmp_path / "history.sqlite", [{"t.py::a": 1.0}]),
        "UPDATE greencode_meta SET value = '99'",
    )
    with pytest.raises(StoreError, match=r"schema version 99, newer.*upgrade greencode") as caught:
        History(path).runs()
    assert "move it away" not in str(caught.value)


def _hold_write_lock(path: str, ready: Any, release: Any) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    ready.set()
    release.wait(30)
    connection.execute("ROLLBACK")


def test_a_locked_history_says_it_is_locked_not_move_it_away(tmp_path: Path) -> None:
    path = write_history(tmp_path / "history.sqlite", [{"t.py::a": 1.0}])
    with held_elsewhere(_hold_write_lock, str(path), "spawn", ready_s=60):
        refused = pytest.raises(StoreError, match="locked by another process")
        with refused as caught, History(path, timeout_s=0.2) as history:
            history.append(replace(run_info(1), run_id="x"), FINGERPRINT, [record("t.py::a", 1.0)])
        assert "move it away" not in str(caught.value)


def test_a_read_only_history_says_so(tmp_path: Path) -> None:
    path = write_history(tmp_path / "history.sqlite", [{"t.py::a": 1.0}])
    # as root, file modes do not stop a write: SQLite's read-only mode gives the error a user would get
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as raised:
        connection.execute("DELETE FROM runs")
    connection.close()
    message = str(SqliteBackend(path, 1.0).error(raised.value))
    assert "is read-only" in message and "writable" in message and "move it away" not in message


def test_a_full_disk_says_so(tmp_path: Path) -> None:
    path = tmp_path / "full.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x BLOB)")
    page_count = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {page_count + 1}")  # what SQLite reports on a full disk
    with pytest.raises(sqlite3.OperationalError) as raised:
        connection.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    connection.close()
    message = str(SqliteBackend(path, 1.0).error(raised.value))
    assert "is full" in message and "free some space" in message and "move it away" not in message


@pytest.mark.parametrize(
    ("statement", "parameters", "message"),
    [
        ("UPDATE runs SET fingerprint = ?", ("{not json",), "fingerprint is not valid JSON"),
        ("UPDATE results SET median_j = ?", ("lots",), "median_j is 'lots', not a number"),
        ("UPDATE results SET median_j = ?", (b"\x00\x01",), "median_j is a 2-byte blob, not a number"),
        ("UPDATE results SET median_j = ?", (-1.0,), "median_j is -1.0, below 0"),
        ("UPDATE results SET per = ?", ("fortnight",), "per is 'fortnight', not one of call, test"),
    ],
)
def test_report_on_a_damaged_history_row_is_one_line_naming_file_and_problem(
    tmp_path: Path, statement: str, parameters: tuple[object, ...], message: str
) -> None:
    path = write_history(tmp_path / "history.sqlite", [{"t.py::a": 1.0}])
    sqlite_file(path, statement, parameters=parameters)
    for extra in ((), ("--fail-on", "10%")):
        completed = run_greencode("report", str(path), *extra, cwd=tmp_path)
        assert completed.returncode == 2, completed.stderr
        lines = completed.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and message in lines[0], lines
        assert "Traceback" not in completed.stderr


def _clean_then_dirty(path: Path, dirty_on: str) -> Path:
    """A history of one test: a run of commit ``"a" * 40``, then one with uncommitted changes on top of
    ``dirty_on``."""
    with History(path) as history:
        history.append(run_info(0), FINGERPRINT, [record("t.py::a", 1.0)])
        dirty = replace(run_info(1), vcs=VcsState(dirty_on, "main", True))
        history.append(dirty, FINGERPRINT, [record("t.py::a", 2.0)])
    return path


def test_dirty_runs_are_marked_in_the_history_trend(tmp_path: Path) -> None:
    path = _clean_then_dirty(tmp_path / "history.sqlite", dirty_on="a" * 40)
    report = load_report(path)
    assert [p.dirty for p in report.history["t.py::a"]] == [False, True]
    assert any("uncommitted changes on top of " + "a" * 40 in note for note in report.notes)


def test_the_history_plot_labels_dirty_runs(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from greencode.report import plots

    path = _clean_then_dirty(tmp_path / "history.sqlite", dirty_on="a" * 40)
    figure = plots.plot_history(load_report(path).history)
    labels = [label.get_text() for label in figure.axes[0].get_xticklabels()]
    assert len(labels) == 2 and not labels[0].endswith("+dirty") and labels[1].endswith("+dirty")
    assert "uncommitted changes" in figure.axes[0].get_xlabel()


def test_history_runs_lists_runs_and_marks_dirty_ones(tmp_path: Path) -> None:
    path = _clean_then_dirty(tmp_path / "history.sqlite", dirty_on="b" * 40)
    completed = run_greencode("history", "runs", str(path), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    first, second = completed.stdout.splitlines()
    assert "a" * 12 in first and "+dirty" not in first
    assert "b" * 12 + " +dirty" in second


def test_history_migrate_creates_then_finds_the_schema_current(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    created = run_greencode("history", "migrate", str(path), cwd=tmp_path)
    again = run_greencode("history", "migrate", str(path), cwd=tmp_path)
    assert created.returncode == 0 and f"schema version {SCHEMA_VERSION} (created)" in created.stdout
    assert again.returncode == 0 and "(already current)" in again.stdout


def test_copying_from_a_history_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    completed = run_greencode("history", "copy", "missing.sqlite", "target.sqlite", cwd=tmp_path)
    assert completed.returncode == 2 and "no such history database" in completed.stderr
    assert not (tmp_path / "target.sqlite").exists()


def test_raw_counts_travel_into_the_history_and_back(tmp_path: Path) -> None:
    counted = replace(record("t.py::a", 1.0), instructions=1_234_567, d1_misses=89, ll_misses=7)
    with History(tmp_path / "history.sqlite") as history:
        history.append(run_info(), FINGERPRINT, [counted])
        (point,) = history.series("t.py::a")
    assert (point.instructions, point.d1_misses, point.ll_misses) == (1_234_567, 89, 7)
    assert record_from_point(point).instructions == 1_234_567


@given(
    samples=st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=6),
    estimated=st.booleans(),
    instructions=st.none() | st.integers(0, 10**12),
    verdict=st.sampled_from([(None, None), ("regression", 0.25), ("unchanged", -0.01)]),
)
def test_a_result_row_holds_what_the_records_history_point_holds(
    samples: list[float], estimated: bool, instructions: int | None, verdict: tuple[str | None, float | None]
) -> None:
    test = TestRecord(
        "t.py::a", "test", tuple(samples), 0.5, 0.25, "estimate", estimated, instructions=instructions
    )
    summary, run = test.summary, run_from_info(run_info(), FINGERPRINT, 1, False)
    point = HistoryPoint(
        run.run_id, run.started, run.commit, run.branch, run.dirty, test.node_id, test.per, summary.n,
        summary.median, summary.q1, summary.q3, summary.mean, summary.stdev, test.wall_s, test.cpu_s,
        test.estimated, test.meter, *verdict, instructions=instructions,
    )  # fmt: skip
    row = result_row(run.run_id, test, *verdict)
    assert dict(zip(RESULT_COLUMNS, row, strict=True)) == _point_row(point)
    assert [type(v) for v in row] == [type(v) for v in _point_row(point).values()]
