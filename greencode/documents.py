"""greencode's JSON documents read and checked: one reader and one schema-version check for every file format
(baselines, results files and the named runs kept as results files, merge inputs, report JSON), and the typed
accessors their fields are validated with.

- :func:`read_json`: the JSON at a path; every way an input can be wrong (empty, binary, malformed, nested
  too deeply, ``NaN``) is one :class:`~greencode.errors.StoreError` naming the file.
- :func:`read_document`: a JSON object of one schema, at a version this greencode reads
  (:func:`check_schema`, :func:`check_version`).
- :func:`typed`, :func:`count_of`, :func:`seconds_of`, :func:`floats_of`, :func:`texts_of`: one field each,
  raising ``ValueError`` naming the key, for the caller to turn into its file's one-line error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from greencode.errors import StoreError
from greencode.files import NotText, read_text

#: Larger energies in a stored file are damage, not data (1e15 J is about 280 GWh); a limit also keeps
#: sums and statistics far from float overflow.
MOST_ENERGY_J = 1e15
#: ``default`` of an accessor when the key is required.
REQUIRED: Any = object()


def read_json(path: Path, what: str, hint: str = "") -> Any:
    """The JSON document at ``path``. Empty, binary, malformed, nested too deeply, or holding ``NaN`` or
    ``Infinity`` (not JSON, though Python writes them) is one :class:`StoreError` naming the file, with
    ``hint`` (what to do) appended. :class:`FileNotFoundError` passes through."""
    suffix = f"; {hint}" if hint else ""
    try:
        text = read_text(path, what)
    except NotText as exc:
        raise NotText(f"{exc}{suffix}") from None
    if not text.strip():
        raise StoreError(f"{path}: the file is empty{suffix}")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}), so not a "
            f"{what}{suffix}"
        ) from None
    except ValueError as exc:  # from _reject_constant
        raise StoreError(f"{path}: {exc}, so not a valid {what}{suffix}") from None
    except RecursionError:
        raise StoreError(f"{path}: nested too deeply to be a {what}{suffix}") from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"holds {name}, which is not a number in JSON")


def read_document(path: Path, what: str, schema: str, supported: int, fix: str, hint: str) -> dict[str, Any]:
    """The ``schema`` document at ``path`` (a JSON object) at a version up to ``supported``.

    One :class:`StoreError` naming the file otherwise: ``hint`` says what to pass instead when it is not
    JSON or of another schema, ``fix`` what to do when its version is missing or malformed.
    :class:`FileNotFoundError` passes through, for callers to whom a missing file means something."""
    data = read_json(path, what, hint)
    check_schema(data, schema, str(path), what, hint)
    check_version(data, supported, str(path), what, fix)
    return data


def check_schema(data: Any, schema: str, where: str, what: str, hint: str) -> None:
    """Whether ``data`` is a JSON object whose ``schema`` is ``schema``; a :class:`StoreError` saying what it
    holds instead, with ``hint``, otherwise."""
    if not isinstance(data, dict):
        raise StoreError(f"{where}: not a greencode {what} (expected a JSON object); {hint}")
    if data.get("schema") != schema:
        raise StoreError(f"{where}: not a greencode {what} ({schema_found(data)}); {hint}")


def schema_found(data: Mapping[str, Any]) -> str:
    """What a document says its schema is, for an error that refuses it."""
    return f"schema {data.get('schema')!r}" if "schema" in data else "no 'schema' key"


def check_version(data: Mapping[str, Any], supported: int, where: str, what: str, fix: str) -> int:
    """The ``version`` of a greencode JSON document: a whole number from 1 to ``supported`` (not ``true``,
    not ``0``, not ``1.0``), else one :class:`StoreError` naming ``where``, with ``fix`` for a version that
    is missing or malformed. Every reader of greencode's file formats checks through here."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StoreError(
            f"{where}: {what} has no valid 'version' (version {version!r}, not a whole number from 1); {fix}"
        )
    if version > supported:
        raise StoreError(
            f"{where}: {what} version {version} is newer than this greencode reads (up to {supported}): "
            "it was written by a newer greencode; upgrade greencode"
        )
    return version


# ---------------------------------------------------------------------------------------------------------
# fields


def typed(data: Mapping[str, Any], key: str, kind: type, default: Any = REQUIRED) -> Any:
    """``data[key]`` of type ``kind`` (a whole number counts as a float; a bool never as a number);
    ``default`` when it is missing or null, unless :data:`REQUIRED`."""
    if key not in data or data[key] is None:
        if default is REQUIRED:
            raise ValueError(f"missing {key!r}")
        return default
    found = data[key]
    if kind is float and isinstance(found, int) and not isinstance(found, bool):
        return float(found)
    if not isinstance(found, kind) or (kind in (int, float) and isinstance(found, bool)):
        raise ValueError(f"{key!r} should be {kind.__name__}, found {type(found).__name__}")
    if isinstance(found, float) and not math.isfinite(found):
        raise ValueError(f"{key!r} should be a finite number, found {found!r}")
    return found


def texts_of(data: Mapping[str, Any], key: str) -> dict[str, str]:
    """An object of strings (optional)."""
    found = typed(data, key, dict, {})
    if not all(isinstance(v, str) for v in found.values()):
        raise ValueError(f"{key!r} should map names to strings")
    return dict(found)


def seconds_of(data: Mapping[str, Any], key: str) -> float:
    """A duration: a finite number of seconds >= 0."""
    found: float = typed(data, key, float)
    if found < 0:
        raise ValueError(f"{key!r} should be a duration >= 0 s, found {found!r}")
    return found


def count_of(data: Mapping[str, Any], key: str, default: Any = 1) -> int:
    """A whole number >= 1 (rounds, iterations, samples)."""
    found: int = typed(data, key, int, default)
    if found < 1:
        raise ValueError(f"{key!r} should be a whole number >= 1, found {found!r}")
    return found


def is_number(item: object) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(item, (int, float)) and not isinstance(item, bool) and math.isfinite(item)


def floats_of(data: Mapping[str, Any], key: str, *, energies: bool = False) -> tuple[float, ...]:
    """A list of finite numbers; with ``energies``, none below zero (no meter reads less than nothing)."""
    found = typed(data, key, list)
    if not all(is_number(v) and not (energies and v < 0) for v in found):
        raise ValueError(f"{key!r} should be a list of finite numbers" + (" >= 0" if energies else ""))
    if any(abs(v) > MOST_ENERGY_J for v in found):
        raise ValueError(f"{key!r} holds an energy above {MOST_ENERGY_J:g} J, which no test uses")
    return tuple(float(v) for v in found)
