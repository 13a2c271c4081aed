from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeClock
from hypothesis import HealthCheck, settings

import greencode
from greencode import testing
from greencode.config import Config

pytest_plugins = ["pytester"]

# Hypothesis fails an example that takes over 200 ms, and a test whose data generation is slow, as errors.
# On a busy machine (eight jobs sharing two cores, CI runners) that happens to correct tests now and then:
# the suite was flaky for no fault of the code. Examples still run as many times; only wall-clock limits go.
settings.register_profile(
    "greencode", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("greencode")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory that is also the current directory (a test file may extend it: a fixture of the
    same name that takes ``project``)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def inner_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory one level below ``tmp_path`` that is also the current directory: the rest of
    ``tmp_path`` is outside the project."""
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    return project


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test advances it."""
    return FakeClock()


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[None]:
    """greencode configured with the scripted meter, no output sinks, and a clean registry."""
    greencode.configure(Config(root=tmp_path, meter="greencode.testing:scripted", output="none"))
    greencode.clear_results()
    yield
    testing.script(None)
    greencode.configure(Config(root=tmp_path, output="none"))
    greencode.clear_results()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """A PostgreSQL server of this session (skipped, with the reason, only when PostgreSQL is missing)."""
    from postgres_server import Server, binaries

    bindir = binaries()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) found: apt-get install postgresql")
    pytest.importorskip("psycopg", reason='psycopg missing: pip install -e ".[test]"')
    server = Server(bindir)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: object) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server."""
    from postgres_server import Server

    assert isinstance(postgres_server, Server)
    return postgres_server.new_database()
