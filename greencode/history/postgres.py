"""The shared history backend: a PostgreSQL database named by a ``postgresql://`` URL (psycopg 3).

greencode's tables live in the ``greencode`` schema of that database, apart from any other application's.
A writer serialises schema changes with a transaction-scoped advisory lock and inserts its run in the same
transaction: no file locks, so any number of CI jobs write at once. psycopg is imported only when a URL is
used (``pip install "greencode[postgres]"``); a missing psycopg, a server that cannot be reached or a
refused login is one line naming the host and what failed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from greencode.errors import StoreError
from greencode.history.schema import PG_SCHEMA, meta_version

#: An arbitrary constant: the advisory lock every greencode writer takes on a database (``greencode`` in hex).
_LOCK_KEY = 0x677265656E636F
#: A history that cannot be reached must not hold up the test run for long.
CONNECT_TIMEOUT_S = 10


def redacted(url: str) -> str:
    """``url`` without its password (in the user part or the query), for messages and reports."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    query = {k: v for k, v in parse_qs(parts.query).items() if k.lower() != "password"}
    tail = "&".join(f"{k}={v[-1]}" for k, v in query.items())
    return f"{parts.scheme}://{user}{host}{port}{parts.path}" + (f"?{tail}" if tail else "")


def server(url: str) -> str:
    """Which server ``url`` names, for messages: ``host:port``, or the socket directory."""
    parts = urlsplit(url)
    host = parts.hostname or parse_qs(parts.query).get("host", ["local socket"])[-1]
    return f"{host}:{parts.port or 5432}"


class PostgresBackend:
    dialect = "postgresql"
    placeholder = "%s"

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self.name = redacted(url)
        self.server = server(url)
        self.timeout_s = timeout_s

    def exists(self) -> bool:
        return True  # whether greencode's tables exist is asked of the server (stored_version 0: none yet)

    def connect(self, create: bool) -> Any:
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                f'{self.name}: a PostgreSQL history needs psycopg; pip install "greencode[postgres]"'
            ) from None
        connection = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        connection.execute(f"SET search_path TO {PG_SCHEMA}")
        # waits for another writer's lock give up with a clear error instead of holding up the test run
        connection.execute(f"SET lock_timeout = '{int(self.timeout_s * 1000)}ms'")
        return connection

    def begin_write(self, connection: Any) -> None:
        connection.execute("BEGIN")
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        exists = connection.execute("SELECT to_regnamespace(%s) IS NOT NULL", (PG_SCHEMA,)).fetchone()[0]
        if not exists:
            connection.execute(f"CREATE SCHEMA {PG_SCHEMA}")

    def stored_version(self, connection: Any) -> int:
        meta, runs = connection.execute(
            "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
            (f"{PG_SCHEMA}.greencode_meta", f"{PG_SCHEMA}.runs"),
        ).fetchone()
        if meta:
            version = meta_version(connection)
            if version is None:
                raise StoreError(
                    f"{self.name}: greencode.greencode_meta has no valid schema_version; restore the "
                    "database from a backup or drop the greencode schema to start again"
                )
            return version
        if runs:
            raise StoreError(
                f"{self.name}: the schema {PG_SCHEMA!r} holds tables that are not greencode's history; "
                "greencode leaves them unchanged: use another database"
            )
        return 0

    def error(self, exc: Exception) -> StoreError | None:
        try:
            import psycopg
        except ImportError:
            return None
        if not isinstance(exc, psycopg.Error):
            return None
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) is None:
            return StoreError(
                f"{self.name}: cannot reach the PostgreSQL server at {self.server} ({first_line}); check "
                "that it runs and accepts this user, or set history to a local file"
            )
        if getattr(exc, "sqlstate", None) == "55P03":  # lock_not_available
            return StoreError(
                f"{self.name}: another writer held the history's lock for {self.timeout_s:g} s on "
                f"{self.server}; run again when it finishes"
            )
        return StoreError(f"{self.name}: PostgreSQL at {self.server} refused the history ({first_line})")
