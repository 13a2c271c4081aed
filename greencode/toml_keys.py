"""Setting a few keys of one table in a user's TOML file without touching anything else in it.

greencode never rewrites a user's ``pyproject.toml`` from a parsed copy (that would drop comments, order and
formatting). :func:`set_keys` edits the text: it replaces the lines of the given keys inside the table's
``[header]`` section, adds the missing ones at the end of that section, or appends the section when there is
none. It then parses the result and checks that it differs from the original in exactly those keys; when the
file is laid out in a way this cannot edit safely (the table written inline, as dotted keys, or a value
spanning lines), it raises :class:`UnsafeEdit` and changes nothing, so that the caller can show the block to
paste instead. :func:`write_keys` does the same to a file, atomically.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from greencode.config import parse_toml
from greencode.errors import GreencodeError

__all__ = ["UnsafeEdit", "block", "set_keys", "write_keys"]

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\- ]+?)\s*\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_DOTS = re.compile(r"\s*\.\s*")
_KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_\-]+)(\s*=\s*)([^#\n]*?)(\s*#[^\n]*)?(\r?\n)?$")


class UnsafeEdit(GreencodeError):
    """The file cannot be edited without risk to what else is in it; nothing was changed."""


def _value(value: float) -> str:
    return f"{value:.6e}"  # always a TOML float, exact to the digits a fit can justify


def block(table: Sequence[str], values: Mapping[str, float]) -> str:
    """The section to paste: ``[a.b.c]`` and one ``key = value`` line per key."""
    lines = [f"[{'.'.join(table)}]", *(f"{key} = {_value(value)}" for key, value in values.items())]
    return "\n".join(lines) + "\n"


def _expected(data: dict[str, Any], table: Sequence[str], values: Mapping[str, float]) -> dict[str, Any]:
    expected = copy.deepcopy(data)
    node = expected
    for name in table:
        node = node.setdefault(name, {})
    node.update(values)
    return expected


def _section(lines: list[str], table: Sequence[str]) -> tuple[int, int] | None:
    """The line range (header, end) of ``[table]``'s own section, or None when there is no such header."""
    wanted = ".".join(table)
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if match and _DOTS.sub(".", match.group(1)) == wanted:
            end = next((j for j in range(index + 1, len(lines)) if _ANY_HEADER.match(lines[j])), len(lines))
            return index, end
    return None


def set_keys(text: str, table: Sequence[str], values: Mapping[str, float], where: str) -> str:
    """``text`` with ``values`` set under ``[table]``; raises UnsafeEdit when that cannot be done safely."""
    original = parse_toml(text, where)
    values = {key: float(_value(value)) for key, value in values.items()}  # as the file will hold them
    lines = text.splitlines(keepends=True)
    section = _section(lines, table)
    if section is None:
        tail = "" if not text or text.endswith("\n") else "\n"
        separator = "\n" if text.strip() else ""
        edited = text + tail + separator + block(table, values)
    else:
        header, end = section
        remaining = dict(values)
        for index in range(header + 1, end):
            match = _KEY_LINE.match(lines[index])
            if match and match.group(2) in remaining:
                indent, key, equals, _, comment, newline = match.groups()
                lines[index] = (
                    f"{indent}{key}{equals}{_value(remaining.pop(key))}{comment or ''}{newline or ''}"
                )
        if remaining:
            last = max((i for i in range(header, end) if lines[i].strip()), default=header)
            if not lines[last].endswith("\n"):
                lines[last] += "\n"
            added = [f"{key} = {_value(value)}\n" for key, value in remaining.items()]
            lines[last + 1 : last + 1] = added
        edited = "".join(lines)
    try:
        result = parse_toml(edited, where)
    except GreencodeError:
        result = None
    if result != _expected(original, table, values):
        raise UnsafeEdit(
            f"{where}: cannot set {', '.join(values)} under [{'.'.join(table)}] without rewriting other "
            "parts of the file (the table is written inline, as dotted keys or across lines); the file is "
            "unchanged"
        )
    return edited


def write_keys(path: Path, table: Sequence[str], values: Mapping[str, float]) -> None:
    """Set ``values`` under ``[table]`` in the file at ``path`` (created when missing), atomically, keeping
    everything else in it byte for byte. Raises UnsafeEdit, leaving the file alone, when it cannot."""
    from greencode.files import atomic_write_text

    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise GreencodeError(f"{path}: cannot read it ({exc}); nothing was written") from None
    atomic_write_text(path, set_keys(text, table, values, str(path)))
