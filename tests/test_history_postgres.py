"""The PostgreSQL history, against a real server this session starts (skipped only without PostgreSQL)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from plugin_helpers import make_project, run, script
from processes import started_together
from report_inputs import FINGERPRINT, record, run_info, write_baseline, write_history
from run_cli import run_greencode
from test_history import _version_1_database

from greencode.errors import StoreError
from greencode.history import History
from greencode.history.schema import SCHEMA_VERSION

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")
_WORKERS = 5


def test_postgres_and_sqlite_store_the_same_runs(postgres_url: str, tmp_path: Path) -> None:
    runs = [{"t.py::a": 1.0, "t.py::b": 2.5}, {"t.py::a": 1.2}]
    write_history(tmp_path / "history.sqlite", runs)
    write_history(postgres_url, runs)
    with History(tmp_path / "history.sqlite") as local, History(postgres_url) as shared:
        assert shared.runs() == local.runs()
        assert shared.series("t.py::a") == local.series("t.py::a")
        assert shared.node_ids() == local.node_ids() == ["t.py::a", "t.py::b"]


def _write_runs(url: str, worker: int, barrier: Any) -> None:
    barrier.wait(60)  # every worker's first write to the new database at the same moment
    with History(url) as history:
        for number in range(4):
            run = replace(run_info(number), run_id=f"w{worker}-r{number}")
            history.append(run, FINGERPRINT, [record("t.py::a", 1.0), record("t.py::b", 2.0)])


def test_concurrent_writers_to_a_new_postgres_database_all_succeed(postgres_url: str) -> None:
    assert started_together(_write_runs, _WORKERS, postgres_url) == [0] * _WORKERS
    with History(postgres_url) as history:
        assert len(history.runs()) == 4 * _WORKERS
        assert len(history.series("t.py::b")) == 4 * _WORKERS


def test_an_empty_postgres_database_is_migrated_to_the_current_schema(postgres_url: str) -> None:
    with History(postgres_url) as history:
        assert history.runs() == []  # reading creates nothing
        assert history.migrate() == 0
        assert history.migrate() == SCHEMA_VERSION


def test_a_version_1_sqlite_history_is_copied_into_postgres(postgres_url: str, tmp_path: Path) -> None:
    local = tmp_path / "history.sqlite"
    _version_1_database(local)
    first = run_greencode("history", "copy", str(local), postgres_url, cwd=tmp_path)
    again = run_greencode("history", "copy", str(local), postgres_url, cwd=tmp_path)
    assert first.returncode == 0 and "copied 1 run(s)" in first.stdout, first.stderr
    assert again.returncode == 0 and "copied 0 run(s)" in again.stdout and "1 already there" in again.stdout
    with History(local) as source, History(postgres_url) as target:
        assert target.runs() == source.runs()
        assert target.series("t.py::a") == source.series("t.py::a")
    connection = sqlite3.connect(local)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 1  # the source is only read
    connection.close()


def test_report_and_fail_on_read_the_postgres_history_by_url(postgres_url: str, tmp_path: Path) -> None:
    write_history(postgres_url, [{"t.py::a": 1.0}, {"t.py::a": 3.0}])
    write_baseline(tmp_path / ".greencode" / "baseline.json", {"t.py::a": 1.0})
    shown = run_greencode("report", postgres_url, cwd=tmp_path)
    assert shown.returncode == 0 and "t.py::a" in shown.stdout, shown.stderr
    gated = run_greencode("report", postgres_url, "--fail-on", "10%", cwd=tmp_path)
    assert gated.returncode == 1 and "regress" in gated.stdout + gated.stderr, gated.stderr
    plotted = run_greencode(
        "report", "--plot", "trend.png", "--plot-kind", "history", cwd=tmp_path,
        env={"GREENCODE_HISTORY": postgres_url},
    )  # fmt: skip
    assert plotted.returncode == 0 and (tmp_path / "trend.png").stat().st_size > 0, plotted.stderr


def test_a_foreign_greencode_schema_is_left_alone(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA greencode")
        connection.execute("CREATE TABLE greencode.runs (x int)")
    with pytest.raises(StoreError, match="not greencode's history"), History(postgres_url) as history:
        history.append(run_info(), FINGERPRINT, [record("t.py::a", 1.0)])


def test_an_unreachable_server_is_one_line_naming_the_host(tmp_path: Path) -> None:
    url = "postgresql://ci:secret@127.0.0.1:1/energy"
    completed = run_greencode("report", url, cwd=tmp_path)
    assert completed.returncode == 2
    (line,) = completed.stderr.strip().splitlines()
    assert "127.0.0.1:1" in line and "cannot reach the PostgreSQL server" in line and "secret" not in line


def test_a_down_history_never_fails_the_test_run_and_keeps_the_run_locally(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, "def test_a():\n    pass\n", history="postgresql://ci@127.0.0.1:1/energy")
    result = run(pytester, "--greencode")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["*history not updated: postgresql://ci@127.0.0.1:1/energy: cannot reach the PostgreSQL server at "
         "127.0.0.1:1*kept in *history.sqlite instead: greencode history copy *"]
    )  # fmt: skip
    with History(pytester.path / ".greencode" / "history.sqlite") as local:
        assert len(local.runs()) == 1


def test_the_plugin_writes_to_the_postgres_history_named_by_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    script(monkeypatch, energy_j=1.0)
    monkeypatch.setenv("GREENCODE_HISTORY", postgres_url)
    make_project(pytester, "def test_a():\n    pass\n")
    run(pytester, "--greencode").assert_outcomes(passed=1)
    run(pytester, "--greencode").assert_outcomes(passed=1)
    with History(postgres_url) as history:
        assert [p.node_id for p in history.series("test_energy.py::test_a")] == ["test_energy.py::test_a"] * 2
    assert not (pytester.path / ".greencode" / "history.sqlite").exists()
