"""The history database, whichever backend holds it: appends runs, reads runs and per-test series.

``History(location)`` opens a SQLite file (a path) or a PostgreSQL database (a ``postgresql://`` URL); both
hold the same tables (:mod:`greencode.history.schema`). Every problem is a one-line
:class:`~greencode.errors.StoreError` naming the file or host and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import fields
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from greencode.config import is_history_url
from greencode.errors import GreencodeError, StoreError
from greencode.history.model import (
    POINT_COLUMNS,
    RESULT_COLUMNS,
    RUN_COLUMNS,
    HistoryPoint,
    HistoryRun,
    point_from_row,
    result_row,
    run_from_info,
    run_from_row,
)
from greencode.history.schema import SCHEMA_VERSION, migration, readable_column

if TYPE_CHECKING:
    from greencode.fingerprint import Fingerprint
    from greencode.records import TestRecord
    from greencode.results_file import RunInfo

#: How long a writer waits for another one to finish (SQLite's busy timeout, PostgreSQL's connect timeout).
DEFAULT_TIMEOUT_S = 30.0


class Backend(Protocol):
    dialect: Any
    placeholder: str
    name: str

    def exists(self) -> bool: ...
    def connect(self, create: bool) -> Any: ...
    def begin_write(self, connection: Any) -> None: ...
    def stored_version(self, connection: Any) -> int: ...
    def error(self, exc: Exception) -> StoreError | None: ...


def _backend(location: str | Path, timeout_s: float) -> Backend:
    if is_history_url(location):
        from greencode.history.postgres import PostgresBackend

        return PostgresBackend(str(location), timeout_s)
    from greencode.history.sqlite import SqliteBackend

    return SqliteBackend(Path(location), timeout_s)


class History:
    """The history at ``location`` (a SQLite path or a ``postgresql://`` URL), created on first append.

    Use as a context manager or call :meth:`close`.
    """

    def __init__(self, location: str | Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.location = location
        self._backend = _backend(location, timeout_s)
        self._connection: Any = None
        self._version: int | None = None
        self._migrated_from = 0

    @property
    def name(self) -> str:
        """The database for messages: its path, or its URL without the password."""
        return self._backend.name

    def __enter__(self) -> History:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.close()
            except Exception as exc:
                error = self._backend.error(exc)
                if error is None:
                    raise
                raise error from None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except GreencodeError:
            raise
        except Exception as exc:
            error = self._backend.error(exc)
            if error is None:
                raise
            raise error from None

    def _sql(self, text: str) -> str:
        return text if self._backend.placeholder == "?" else text.replace("?", self._backend.placeholder)

    def _open(self, create: bool) -> Any:
        if self._connection is None:
            if not create and not self._backend.exists():
                return None
            with self._errors():
                self._connection = self._backend.connect(create)
        return self._connection

    # ------------------------------------------------------------------------------------------------------
    # writing

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One write transaction on a database at the current schema version (migrated inside it)."""
        connection = self._open(create=True)
        with self._errors():
            self._backend.begin_write(connection)
            try:
                version = self._backend.stored_version(connection)
                if version > SCHEMA_VERSION:
                    raise newer_version_error(self.name, version)
                steps = migration(self._backend.dialect, version) if version < SCHEMA_VERSION else []
                for statement in steps:
                    connection.execute(statement)
                self._migrated_from = version
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                with suppress(Exception):  # the error that made us roll back is the one to report
                    connection.execute("ROLLBACK")
                raise
            self._version = SCHEMA_VERSION

    def migrate(self) -> int:
        """Create the schema, or bring it to the current version; returns the version it was at (0: new)."""
        with self._write():
            pass
        return self._migrated_from

    def append(
        self,
        run: RunInfo,
        fingerprint: Fingerprint,
        records: Iterable[TestRecord],
        verdicts: Mapping[str, tuple[str, float | None]] | None = None,
        failed: bool = False,
    ) -> None:
        """Store one run and its records; ``verdicts`` maps node ids to (verdict, relative change)."""
        verdicts = verdicts or {}
        records = list(records)
        stored = run_from_info(run, fingerprint, len(records), failed)
        unjudged = (None, None)
        rows = [
            result_row(stored.run_id, record, *verdicts.get(record.node_id, unjudged)) for record in records
        ]
        with self._write() as connection:
            self._insert(connection, "runs", [_run_row(stored)])
            self._insert_values(connection, "results", RESULT_COLUMNS, rows)

    def insert_rows(
        self, runs: list[dict[str, Any]], results: list[dict[str, Any]], skip_existing: bool = False
    ) -> int:
        """Insert raw run and result rows (the schema's columns) in one transaction; returns the number of
        runs inserted. ``skip_existing`` leaves out runs (and their results) whose id is already stored."""
        with self._write() as connection:
            if skip_existing:
                stored = {row[0] for row in connection.execute("SELECT run_id FROM runs")}
                runs = [row for row in runs if row["run_id"] not in stored]
                results = [row for row in results if row["run_id"] not in stored]
            self._insert(connection, "runs", runs)
            self._insert(connection, "results", results)
        return len(runs)

    def _insert(self, connection: Any, table: str, rows: list[dict[str, Any]]) -> None:
        """Rows given as column-to-value mappings, all with the first row's columns."""
        if rows:
            columns = list(rows[0])
            self._insert_values(connection, table, columns, [[row[c] for c in columns] for row in rows])

    def _insert_values(
        self, connection: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """Rows given as values in the order of ``columns``."""
        if rows:
            statement = self._sql(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            )
            connection.cursor().executemany(statement, rows)

    def copy_into(self, target: History) -> tuple[int, int]:
        """Copy every run of this history into ``target`` (rows checked on the way); runs already there are
        left as they are. Returns (runs copied, runs already in ``target``)."""
        runs = self.runs()
        run_rows = [_run_row(run) for run in runs]
        result_rows = [_point_row(point) for run in runs for point in self.run_results(run.run_id)]
        copied = target.insert_rows(run_rows, result_rows, skip_existing=True)
        return copied, len(runs) - copied

    # ------------------------------------------------------------------------------------------------------
    # reading

    def _read(self, query: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]] | None:
        """Rows of ``query`` (None when the database does not exist); ``{runs}`` and ``{points}`` in it are
        replaced by the column lists readable at the database's version."""
        connection = self._open(create=False)
        if connection is None:
            return None
        with self._errors():
            if self._version is None:
                version = self._backend.stored_version(connection)
                if version > SCHEMA_VERSION:
                    raise newer_version_error(self.name, version)
                self._version = version
            if self._version == 0:
                return []
            runs = ", ".join(readable_column(c, self._version) for c in RUN_COLUMNS)
            points = ", ".join(readable_column(c, self._version) for c in POINT_COLUMNS)
            statement = self._sql(query.format(runs=runs, points=points))
            return [tuple(row) for row in connection.execute(statement, parameters)]

    def runs(self, limit: int | None = None, branch: str | None = None) -> list[HistoryRun]:
        """Stored runs, oldest first; ``limit`` keeps the newest ``limit``, ``branch`` only that branch's."""
        query = "SELECT {runs} FROM runs" + (" WHERE branch = ?" if branch is not None else "")
        query += " ORDER BY started DESC, run_id DESC" + (" LIMIT ?" if limit else "")
        parameters = (*((branch,) if branch is not None else ()), *((limit,) if limit else ()))
        rows = self._read(query, parameters) or []
        return [run_from_row(self.name, row) for row in reversed(rows)]

    def series(self, node_id: str) -> list[HistoryPoint]:
        """One test's statistics in every stored run that measured it, oldest first."""
        return self._points("s.node_id = ?", node_id)

    def run_results(self, run_id: str) -> list[HistoryPoint]:
        """Every test's statistics in one run, by node id."""
        return self._points("s.run_id = ?", run_id)

    def node_ids(self) -> list[str]:
        rows = self._read("SELECT DISTINCT node_id FROM results ORDER BY node_id") or []
        return [str(row[0]) for row in rows]

    def _points(self, where: str, value: str) -> list[HistoryPoint]:
        query = (
            "SELECT {points} FROM results s JOIN runs r ON r.run_id = s.run_id WHERE "
            + where
            + " ORDER BY r.started, r.run_id, s.node_id"
        )
        return [point_from_row(self.name, row) for row in self._read(query, (value,)) or []]


def newer_version_error(name: str, version: int) -> StoreError:
    return StoreError(
        f"{name}: the history database is at schema version {version}, newer than this greencode's "
        f"({SCHEMA_VERSION}); upgrade greencode to read or write it"
    )


def _fingerprint_json(fingerprint: Fingerprint | Mapping[str, object]) -> str:
    import json

    data = fingerprint if isinstance(fingerprint, Mapping) else fingerprint.to_dict()
    return json.dumps(data, sort_keys=True)


def _run_row(run: HistoryRun) -> dict[str, Any]:
    return {
        column: _stored(getattr(run, f.name))
        for column, f in zip(RUN_COLUMNS, fields(HistoryRun), strict=True)
    }


#: The results table's own (``s.``) columns and the point fields they hold, paired once (a run with many
#: tests builds one row per test).
_POINT_STORED = tuple(
    (column[2:], f.name)
    for column, f in zip(POINT_COLUMNS, fields(HistoryPoint), strict=True)
    if column.startswith("s.")
)


def _point_row(point: HistoryPoint) -> dict[str, Any]:
    """The results table's row: the run's id and the point's own (``s.``) columns."""
    row: dict[str, Any] = {"run_id": point.run_id}
    for column, name in _POINT_STORED:
        row[column] = _stored(getattr(point, name))
    return row


#: Values the tables keep as they are (a test's row holds a score of them: checked by type first, since a
#: Mapping check costs an ABC look-up).
_AS_IS = frozenset((str, float, int, type(None)))


def _stored(value: object) -> object:
    """A value as the tables keep it: flags as 0 or 1, the fingerprint as JSON."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Mapping):
        return _fingerprint_json(value)
    return value
