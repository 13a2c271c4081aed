"""Development sessions: ``nox -s tests lint typecheck`` before a push; ``nox -s bench`` for speed figures."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (the same command as README's Quickstart and .ci/run)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the library and the plugin."""
    session.install("-e", ".[test]", "mypy>=1.8")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Overhead and accuracy benchmarks, printed as tables (not part of the tests: timings are noisy)."""
    session.install("-e", ".[all,test]" if "--with-codecarbon" in session.posargs else ".[test]")
    session.run("python", "benchmarks/run_all.py", *[a for a in session.posargs if a != "--with-codecarbon"])


@nox.session
def examples(session: nox.Session) -> None:
    """Every classroom exercise with reduced rounds, and the developer examples (part of .ci/run)."""
    session.install("-e", ".[plot]")
    report = f"{session.create_tmp()}/classroom.html"
    session.run("greencode", "classroom", "run", "examples/classroom", "--quick", "--output", report)
    session.run("python", "examples/decorator.py")
