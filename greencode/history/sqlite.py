"""The embedded history backend: one SQLite file (default ``.greencode/history.sqlite``).

A writer takes SQLite's write lock first (``BEGIN IMMEDIATE``, waiting up to the busy timeout), then checks
and migrates the schema and inserts its run in that one transaction. SQLite's errors are translated into
messages that say what is wrong — locked, read-only, full, damaged, not greencode's — and what to do.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from greencode.errors import StoreError
from greencode.history.schema import meta_version

_HINT = "point history at another file (default .greencode/history.sqlite)"


class SqliteBackend:
    dialect = "sqlite"
    placeholder = "?"

    def __init__(self, path: Path, timeout_s: float) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self.timeout_s = timeout_s

    def exists(self) -> bool:
        return self.path.exists()

    def connect(self, create: bool) -> sqlite3.Connection:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit: transactions are begun and ended explicitly, so schema check and insert share one
        connection = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    def begin_write(self, connection: Any) -> None:
        connection.execute("BEGIN IMMEDIATE")

    def stored_version(self, connection: Any) -> int:
        """The schema version of the database; 0 when it is empty; a :class:`StoreError` when it is another
        application's database, which greencode never changes."""
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        objects = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        user_version = connection.execute("PRAGMA user_version").fetchone()[0]
        if "greencode_meta" in tables:
            version = meta_version(connection)
            if version is None:
                raise StoreError(
                    f"{self.name}: the history database's greencode_meta table has no valid schema_version; "
                    f"restore the file from a copy, or {_HINT}"
                )
            return version
        if not objects and user_version == 0:
            return 0
        if user_version == 1 and {"runs", "results"} <= tables:
            return 1  # greencode 0.1.0's schema, before the meta table
        found = ", ".join(sorted(tables)) or "no tables"
        raise StoreError(
            f"{self.name}: not a greencode history database (it holds {found}, user_version "
            f"{user_version}); greencode leaves it unchanged: {_HINT}"
        )

    def error(self, exc: Exception) -> StoreError | None:
        """What a user should be told about ``exc``, or None when it is not the database's doing."""
        if isinstance(exc, OSError):
            return StoreError(f"{self.name}: cannot open the history database ({exc.strerror or exc})")
        if not isinstance(exc, sqlite3.DatabaseError):
            return None
        text = str(exc)
        lowered = text.lower()
        if "locked" in lowered or "busy" in lowered:
            return StoreError(
                f"{self.name}: the history database stayed locked by another process for "
                f"{self.timeout_s:g} s; let that process finish and run again"
            )
        if "readonly" in lowered or "read-only" in lowered:
            return StoreError(
                f"{self.name}: the history database is read-only ({text}); make it and its directory "
                "writable, or point history at a writable path"
            )
        if "full" in lowered:
            return StoreError(
                f"{self.name}: the disk holding the history database is full ({text}); free some space and "
                "run again (the database is unchanged)"
            )
        if "unable to open" in lowered or "disk i/o" in lowered:
            return StoreError(
                f"{self.name}: cannot open or write the history database ({text}); check that its directory "
                "exists, is writable and is on a working disk"
            )
        if "not a database" in lowered or "malformed" in lowered or "encrypted" in lowered:
            return StoreError(
                f"{self.name}: not a readable SQLite database ({text}); greencode leaves it unchanged: "
                f"restore it from a copy, or {_HINT}"
            )
        return StoreError(f"{self.name}: the history database cannot be used ({text})")
