"""The history schema, one for SQLite and PostgreSQL, as numbered migrations.

A database records the version it is at in ``greencode_meta`` (key ``schema_version``); SQLite also keeps it
in ``PRAGMA user_version``, as greencode 0.1.0 did (its schema is version 1 and had no meta table). A writer
brings a database up to :data:`SCHEMA_VERSION` inside the same transaction as its first insert, holding the
database's write lock, so concurrent first writers never see a half-made schema. Readers never migrate:
they read version 1 columns that did not exist yet as NULL.

The only differences between the dialects are the floating-point type's name and where the tables live
(PostgreSQL: the ``greencode`` schema, so the tables never mix with another application's).
"""

from __future__ import annotations

from typing import Any, Literal

Dialect = Literal["sqlite", "postgresql"]

SCHEMA_VERSION = 2
#: Where PostgreSQL keeps greencode's tables.
PG_SCHEMA = "greencode"

_REAL = {"sqlite": "REAL", "postgresql": "DOUBLE PRECISION"}

# Each migration takes a database from the version before it to its own number.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            started {real} NOT NULL,
            finished {real} NOT NULL,
            commit_sha TEXT,
            branch TEXT,
            dirty INTEGER,
            meter TEXT NOT NULL,
            estimated INTEGER NOT NULL,
            machine TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            tests INTEGER NOT NULL,
            failed INTEGER NOT NULL
        )""",
        """CREATE TABLE results (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
            node_id TEXT NOT NULL,
            per TEXT NOT NULL,
            n INTEGER NOT NULL,
            median_j {real} NOT NULL,
            q1_j {real} NOT NULL,
            q3_j {real} NOT NULL,
            mean_j {real} NOT NULL,
            stdev_j {real} NOT NULL,
            wall_s {real} NOT NULL,
            cpu_s {real} NOT NULL,
            estimated INTEGER NOT NULL,
            meter TEXT NOT NULL,
            verdict TEXT,
            change {real},
            PRIMARY KEY (run_id, node_id)
        )""",
        "CREATE INDEX results_by_node ON results (node_id)",
    ),
    2: (
        "CREATE TABLE greencode_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "ALTER TABLE runs ADD COLUMN repository TEXT",
        "ALTER TABLE results ADD COLUMN instructions BIGINT",
        "ALTER TABLE results ADD COLUMN d1_misses BIGINT",
        "ALTER TABLE results ADD COLUMN ll_misses BIGINT",
        "CREATE INDEX runs_by_branch ON runs (branch, started)",
    ),
}

#: Columns each version added, which a reader of an older database sees as NULL.
ADDED_COLUMNS: dict[int, frozenset[str]] = {
    2: frozenset({"repository", "instructions", "d1_misses", "ll_misses"}),
}


def meta_version(connection: Any) -> int | None:
    """The version a database's ``greencode_meta`` table records; None when it holds no valid one."""
    row = connection.execute("SELECT value FROM greencode_meta WHERE key = 'schema_version'").fetchone()
    return None if row is None or not str(row[0]).isdigit() else int(row[0])


def migration(dialect: Dialect, from_version: int) -> list[str]:
    """The statements that take a database at ``from_version`` (0: empty) to :data:`SCHEMA_VERSION`."""
    statements = [
        sql.format(real=_REAL[dialect])
        for version in range(from_version + 1, SCHEMA_VERSION + 1)
        for sql in _MIGRATIONS[version]
    ]
    if from_version < 2:
        statements.append("INSERT INTO greencode_meta (key, value) VALUES ('schema_version', '0')")
    statements.append(f"UPDATE greencode_meta SET value = '{SCHEMA_VERSION}' WHERE key = 'schema_version'")
    if dialect == "sqlite":
        statements.append(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return statements


def readable_column(column: str, version: int) -> str:
    """``column`` as a reader of a database at ``version`` selects it: NULL where it did not exist yet."""
    name = column.split(".")[-1]
    missing = any(name in added for v, added in ADDED_COLUMNS.items() if v > version)
    return "NULL" if missing else column
