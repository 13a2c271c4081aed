"""The exercises shipped inside the wheel, and ``greencode classroom init DIR``, which copies them out.

The wheel carries ``examples/classroom`` as ``greencode/classroom/exercises`` (``pyproject.toml``,
``force-include``), so a teacher who ran ``pip install greencode`` has them without a checkout. In a source
checkout (an editable install) they are read from ``examples/classroom`` itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from greencode.errors import ConfigError

#: Where the exercises are inside the installed package.
PACKAGED = Path(__file__).resolve().parent / "exercises"
#: Where they are in a source checkout.
CHECKOUT = Path(__file__).resolve().parents[2] / "examples" / "classroom"


def exercises_dir() -> Path:
    """The shipped exercises: inside the installed package, else in the source checkout."""
    for candidate in (PACKAGED, CHECKOUT):
        if candidate.is_dir():
            return candidate
    raise ConfigError(
        "greencode's exercises are not installed with this copy of greencode; reinstall it with "
        "pip install --force-reinstall greencode"
    )


def init(target: Path) -> list[Path]:
    """Copy the shipped exercises into ``target`` (created; it must not hold anything yet); returns the
    exercise directories written."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(
            f"{target}: already exists and is not empty; choose a new directory, e.g. "
            "greencode classroom init lesson"
        )
    source = exercises_dir()
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return sorted(path.parent for path in target.rglob("exercise.toml"))
