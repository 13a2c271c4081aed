"""The history database: every measured run's per-test statistics, for trends and plots.

SQLite at ``history`` (default ``.greencode/history.sqlite``). Every ``pytest --greencode`` run appends one
run row (id, time, git commit, branch, dirty flag, meter, machine) and one result row per test (median,
quartiles, mean, spread, wall and CPU time, and the gate's verdict when it compared). Readers use
:meth:`History.runs`, :meth:`History.series` and :meth:`History.run_results`.

The schema version is SQLite's ``user_version``; a database of another version, or a file that is not a
database, raises :class:`~greencode.errors.StoreError` naming it. SQLite's own locking makes concurrent
appends safe.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from greencode.errors import StoreError
from greencode.store import Fingerprint, RunInfo, TestRecord

HISTORY_VERSION = 1
_BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL NOT NULL,
    commit_sha TEXT,
    branch TEXT,
    dirty INTEGER,
    meter TEXT NOT NULL,
    estimated INTEGER NOT NULL,
    machine TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    tests INTEGER NOT NULL,
    failed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    node_id TEXT NOT NULL,
    per TEXT NOT NULL,
    n INTEGER NOT NULL,
    median_j REAL NOT NULL,
    q1_j REAL NOT NULL,
    q3_j REAL NOT NULL,
    mean_j REAL NOT NULL,
    stdev_j REAL NOT NULL,
    wall_s REAL NOT NULL,
    cpu_s REAL NOT NULL,
    estimated INTEGER NOT NULL,
    meter TEXT NOT NULL,
    verdict TEXT,
    change REAL,
    PRIMARY KEY (run_id, node_id)
);
CREATE INDEX IF NOT EXISTS results_by_node ON results (node_id);
"""


@dataclass(frozen=True)
class HistoryRun:
    """One stored run. ``failed`` is true when its gate or budgets failed."""

    run_id: str
    started: float
    finished: float
    commit: str | None
    branch: str | None
    dirty: bool | None
    meter: str
    estimated: bool
    machine: str
    fingerprint: Mapping[str, object]
    tests: int
    failed: bool


@dataclass(frozen=True)
class HistoryPoint:
    """One test's statistics in one stored run (joules per ``per``)."""

    run_id: str
    started: float
    commit: str | None
    branch: str | None
    dirty: bool | None
    node_id: str
    per: str
    n: int
    median_j: float
    q1_j: float
    q3_j: float
    mean_j: float
    stdev_j: float
    wall_s: float
    cpu_s: float
    estimated: bool
    meter: str
    verdict: str | None
    change: float | None


_POINT_COLUMNS = (
    "r.run_id, r.started, r.commit_sha, r.branch, r.dirty, s.node_id, s.per, s.n, s.median_j, s.q1_j, "
    "s.q3_j, s.mean_j, s.stdev_j, s.wall_s, s.cpu_s, s.estimated, s.meter, s.verdict, s.change"
)


def _point(row: tuple[Any, ...]) -> HistoryPoint:
    (run_id, started, commit, branch, dirty, node_id, per, n, median, q1, q3, mean, stdev, wall, cpu,
     estimated, meter, verdict, change) = row  # fmt: skip
    return HistoryPoint(
        run_id=run_id,
        started=started,
        commit=commit,
        branch=branch,
        dirty=None if dirty is None else bool(dirty),
        node_id=node_id,
        per=per,
        n=n,
        median_j=median,
        q1_j=q1,
        q3_j=q3,
        mean_j=mean,
        stdev_j=stdev,
        wall_s=wall,
        cpu_s=cpu,
        estimated=bool(estimated),
        meter=meter,
        verdict=verdict,
        change=change,
    )


class History:
    """The history database at ``path`` (created on first append). Use as a context manager or ``close()``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None

    def __enter__(self) -> History:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path}: the history database cannot be used ({exc}); move it away to start a new one"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot open the history database ({exc.strerror or exc})"
            ) from None

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._connection is not None:
            return self._connection
        if not create and not self.path.exists():
            return None
        with self._errors():
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S)
            try:
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                tables = connection.execute(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'runs'"
                ).fetchone()[0]
                if version == 0 and not tables and not create:
                    # reading must never turn somebody else's database into ours
                    raise StoreError(
                        f"{self.path}: not a greencode history database (it has none of greencode's tables); "
                        "point at the history file greencode writes, .greencode/history.sqlite by default"
                    )
                if version == 0 and not tables:
                    with connection:
                        connection.executescript(_SCHEMA)
                        connection.execute(f"PRAGMA user_version = {HISTORY_VERSION}")
                elif version != HISTORY_VERSION:
                    raise StoreError(
                        f"{self.path}: history database version {version} is not the version this greencode "
                        f"uses ({HISTORY_VERSION}); move it away to start a new one"
                    )
                connection.execute("PRAGMA foreign_keys = ON")
            except BaseException:
                connection.close()
                raise
        self._connection = connection
        return connection

    def append(
        self,
        run: RunInfo,
        fingerprint: Fingerprint,
        records: Iterable[TestRecord],
        verdicts: Mapping[str, tuple[str, float | None]] | None = None,
        failed: bool = False,
    ) -> None:
        """Store one run and its records; ``verdicts`` maps node ids to (verdict, relative change)."""
        connection = self._connect(create=True)
        assert connection is not None
        verdicts = verdicts or {}
        records = list(records)
        with self._errors(), connection:
            connection.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id,
                    run.started,
                    run.finished,
                    run.vcs.commit if run.vcs else None,
                    run.vcs.branch if run.vcs else None,
                    None if run.vcs is None else int(run.vcs.dirty),
                    run.meter,
                    int(run.estimated),
                    fingerprint.describe(),
                    json.dumps(fingerprint.to_dict(), sort_keys=True),
                    len(records),
                    int(failed),
                ),
            )
            rows = []
            for record in records:
                summary = record.summary
                verdict, change = verdicts.get(record.node_id, (None, None))
                rows.append(
                    (
                        run.run_id,
                        record.node_id,
                        record.per,
                        summary.n,
                        summary.median,
                        summary.q1,
                        summary.q3,
                        summary.mean,
                        summary.stdev,
                        record.wall_s,
                        record.cpu_s,
                        int(record.estimated),
                        record.meter,
                        verdict,
                        change,
                    )
                )
            connection.executemany(
                "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )

    def runs(self, limit: int | None = None) -> list[HistoryRun]:
        """Stored runs, oldest first; ``limit`` keeps the newest ``limit``."""
        connection = self._connect(create=False)
        if connection is None:
            return []
        query = "SELECT * FROM runs ORDER BY started DESC, run_id DESC"
        with self._errors():
            rows = connection.execute(
                query + (" LIMIT ?" if limit else ""), (limit,) if limit else ()
            ).fetchall()
        return [
            HistoryRun(
                str(r[0]),
                float(r[1]),
                float(r[2]),
                r[3],
                r[4],
                None if r[5] is None else bool(r[5]),
                str(r[6]),
                bool(r[7]),
                str(r[8]),
                json.loads(r[9]),
                int(r[10]),
                bool(r[11]),
            )
            for r in reversed(rows)
        ]

    def series(self, node_id: str) -> list[HistoryPoint]:
        """One test's statistics in every stored run that measured it, oldest first."""
        return self._points("s.node_id = ?", node_id)

    def run_results(self, run_id: str) -> list[HistoryPoint]:
        """Every test's statistics in one run, by node id."""
        return self._points("s.run_id = ?", run_id)

    def node_ids(self) -> list[str]:
        connection = self._connect(create=False)
        if connection is None:
            return []
        with self._errors():
            return [r[0] for r in connection.execute("SELECT DISTINCT node_id FROM results ORDER BY node_id")]

    def _points(self, where: str, value: str) -> list[HistoryPoint]:
        connection = self._connect(create=False)
        if connection is None:
            return []
        query = (
            f"SELECT {_POINT_COLUMNS} FROM results s JOIN runs r ON r.run_id = s.run_id WHERE {where} "
            "ORDER BY r.started, r.run_id, s.node_id"
        )
        with self._errors():
            return [_point(row) for row in connection.execute(query, (value,))]
