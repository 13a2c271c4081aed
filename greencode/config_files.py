"""Where greencode's configuration lives: the search for the nearest configuration file.

A leaf module (it imports nothing of greencode's and no third-party package), so that the pytest plugin can
ask "is greencode configured here?" before it imports anything heavier.
"""

from __future__ import annotations

from pathlib import Path


def find_config_file(start: Path) -> Path | None:
    """The nearest ``greencode.toml`` or ``pyproject.toml`` with a ``[tool.greencode]`` table, upwards from
    ``start`` to the repository's top (the first directory holding ``.git``)."""
    for directory in (start, *start.parents):
        candidate = directory / "greencode.toml"
        if candidate.is_file():
            return candidate
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _mentions_greencode(candidate):
            return candidate
        if (directory / ".git").exists():
            break
    return None


def _mentions_greencode(pyproject: Path) -> bool:
    """Whether ``pyproject`` has a ``[tool.greencode`` table. A UTF-16 file that has one counts, so that
    reading it reports the encoding instead of silently ignoring the settings."""
    try:
        with pyproject.open("rb") as handle:
            data = handle.read(16 * 1024 * 1024)
    except OSError:
        return False
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8"
    return "[tool.greencode" in data.decode(encoding, errors="replace")
