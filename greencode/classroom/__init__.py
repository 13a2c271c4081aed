"""Classroom exercises: pairs of wasteful and green implementations of one task, each tied to a tactic.

An exercise is a directory holding an ``exercise.toml``::

    title = "Membership test: a list or a set?"
    tactic = "GT-DS-01"                      # an ID from `greencode tactics list`
    wasteful = "membership.py:count_in_list"  # path (relative to the directory) or module, and function
    green = "membership.py:count_in_set"
    note = "optional: one sentence shown under the results"

next to the code, a test of the two implementations' equivalence and a worksheet (``README.md``).
:func:`discover` finds the exercises under a directory; :mod:`greencode.classroom.runner` runs them and
:mod:`greencode.classroom.report` writes the teacher's report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from greencode.config import read_toml
from greencode.errors import ConfigError

EXERCISE_FILE = "exercise.toml"
_REQUIRED = ("title", "tactic", "wasteful", "green")
_OPTIONAL = ("note",)


@dataclass(frozen=True)
class Exercise:
    """One exercise, as described by its ``exercise.toml``. ``name`` is its directory's name."""

    name: str
    directory: Path
    title: str
    tactic: str
    wasteful: str
    green: str
    note: str = ""

    @property
    def worksheet(self) -> Path | None:
        path = self.directory / "README.md"
        return path if path.is_file() else None


def load_exercise(directory: Path) -> Exercise:
    """The exercise in ``directory``; :class:`ConfigError` names the file and key at fault."""
    path = directory / EXERCISE_FILE
    data = read_toml(path, "exercise")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}; an exercise has {', '.join(_REQUIRED + _OPTIONAL)}"
        )
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ConfigError(f"{path}: missing key {missing[0]!r}; an exercise needs {', '.join(_REQUIRED)}")
    not_text = [key for key, value in data.items() if not isinstance(value, str)]
    if not_text:
        raise ConfigError(f"{path}: {not_text[0]} must be a string")
    from greencode.tactics.catalogue import CatalogueError, get_tactic

    try:
        get_tactic(data["tactic"])
    except CatalogueError as exc:
        raise ConfigError(f"{path}: tactic: {exc}") from None
    return Exercise(
        name=directory.name,
        directory=directory,
        title=data["title"],
        tactic=data["tactic"],
        wasteful=data["wasteful"],
        green=data["green"],
        note=data.get("note", ""),
    )


def discover(directory: Path) -> tuple[Exercise, ...]:
    """Every exercise in ``directory`` and its subdirectories, sorted by path (number them to order them)."""
    if not directory.is_dir():
        raise ConfigError(
            f"{directory}: no such directory; pass the directory that holds the exercises "
            "(examples/classroom in greencode's source tree)"
        )
    exercises = tuple(load_exercise(path.parent) for path in sorted(directory.rglob(EXERCISE_FILE)))
    if not exercises:
        raise ConfigError(
            f"{directory}: no exercises found (an exercise is a directory with an {EXERCISE_FILE}); "
            "pass examples/classroom from greencode's source tree"
        )
    return exercises
