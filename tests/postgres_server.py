"""A throw-away PostgreSQL server for the tests: initdb in a temporary directory, a unix socket there only.

PostgreSQL refuses to run as root, so under root the server runs as the ``postgres`` user, in a directory
owned by it. Nothing listens on the network (``listen_addresses`` is empty).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path


def binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        completed = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(completed.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


class Server:
    """A running server; :meth:`new_database` gives a URL of a fresh, empty database."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.directory = Path(tempfile.mkdtemp(prefix="gc-pg-"))
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.directory, self.user)
        self.data = self.directory / "data"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        options = f"-k {self.directory} -c listen_addresses='' -c fsync=off -c max_connections=50"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-t", "60", "-l",
                  str(self.directory / "log"), "start")  # fmt: skip

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / program), *args], check=True, capture_output=True, user=self.user, timeout=120
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.directory}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
