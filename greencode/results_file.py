"""Results files (``pytest --greencode-json``, kept named runs, merge inputs): :func:`write_results` /
:func:`load_results`, schema ``greencode-results`` version :data:`RESULTS_VERSION` (documented in
``docs/pytest.md``), and :class:`RunInfo`, the run they describe."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from greencode.documents import read_document, typed
from greencode.errors import StoreError
from greencode.fingerprint import Fingerprint
from greencode.records import TestRecord, now_iso
from greencode.vcs import VcsState

RESULTS_SCHEMA = "greencode-results"
RESULTS_VERSION = 1
_RESULTS_HINT = f"expected schema {RESULTS_SCHEMA!r}, written by pytest --greencode-json"


@dataclass(frozen=True)
class RunInfo:
    """One measured run: when, at which version, with which meters, how many workers."""

    run_id: str
    started: float
    finished: float
    vcs: VcsState | None
    meter: str
    estimated: bool
    reasons: tuple[str, ...] = ()
    workers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.run_id,
            "started": now_iso(self.started),
            "started_epoch": self.started,
            "finished": now_iso(self.finished),
            "duration_s": round(self.finished - self.started, 6),
            "commit": self.vcs.commit if self.vcs else None,
            "branch": self.vcs.branch if self.vcs else None,
            "dirty": self.vcs.dirty if self.vcs else None,
            "repository": self.vcs.repository if self.vcs else None,
            "meter": self.meter,
            "estimated": self.estimated,
            "meter_reasons": list(self.reasons),
            "xdist_workers": self.workers,
        }


def new_run_id(started: float) -> str:
    """Sortable and unique: UTC time plus random bits."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + "-" + os.urandom(4).hex()


@dataclass(frozen=True)
class Results:
    """A results file read back: the run, the machine, the records, and the gate's section as written."""

    run: Mapping[str, Any]
    fingerprint: Fingerprint
    records: tuple[TestRecord, ...]
    gate: Mapping[str, Any] | None
    raw: Mapping[str, Any]


def results_document(
    run: RunInfo,
    fingerprint: Fingerprint,
    records: Iterable[TestRecord],
    *,
    settings: Mapping[str, Any],
    gate: Mapping[str, Any] | None = None,
    baseline_saved: Mapping[str, Any] | None = None,
    advice: Mapping[str, Any] | None = None,
    hotspots: Iterable[Mapping[str, Any]] = (),
    warnings: Iterable[str] = (),
) -> dict[str, Any]:
    """The ``greencode-results`` JSON document (schema in ``docs/pytest.md``)."""
    from greencode.version import __version__

    return {
        "schema": RESULTS_SCHEMA,
        "version": RESULTS_VERSION,
        "greencode_version": __version__,
        "run": run.to_dict(),
        "fingerprint": fingerprint.to_dict(),
        "settings": dict(settings),
        "tests": [r.to_dict() for r in sorted(records, key=lambda r: r.node_id)],
        "gate": None if gate is None else dict(gate),
        "baseline_saved": None if baseline_saved is None else dict(baseline_saved),
        "advice": None if advice is None else dict(advice),
        "hotspots": [dict(h) for h in hotspots],
        "warnings": list(warnings),
    }


def write_results(path: Path, document: Mapping[str, Any], root: Path | None = None) -> None:
    """Write a results document where the user asked for it (``-`` is standard output); missing directories
    are created only inside ``root`` (default: the current directory)."""
    from greencode.files import write_output

    write_output(path, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", root)


def load_results(path: Path) -> Results:
    """Read a results file written by ``pytest --greencode-json``; :class:`StoreError` when it is not one."""
    path = Path(path)
    try:
        data = read_document(
            path, "results file", RESULTS_SCHEMA, RESULTS_VERSION, "write the file again", _RESULTS_HINT
        )
    except FileNotFoundError:
        raise StoreError(
            f"{path}: no such results file; write one with pytest --greencode-json {path}"
        ) from None
    return results_from_document(data, path)


def results_from_document(data: Mapping[str, Any], path: Path) -> Results:
    """A results document whose schema and version are checked, validated; :class:`StoreError` naming
    ``path`` and the field when it is malformed."""
    try:
        fingerprint = Fingerprint.from_dict(typed(data, "fingerprint", dict))
        tests = typed(data, "tests", list)
        if not all(isinstance(t, dict) for t in tests):
            raise ValueError("'tests' should be a list of objects")
        records = tuple(TestRecord.from_dict(t) for t in tests)
        seen: set[str] = set()
        for record in records:  # one run measures a test once: a second entry is a damaged or edited file
            if record.node_id in seen:
                raise ValueError(f"{record.node_id} appears twice in 'tests'")
            seen.add(record.node_id)
        run = typed(data, "run", dict, {})
        gate = typed(data, "gate", dict, None)
        typed(data, "warnings", list, [])
    except (ValueError, TypeError) as exc:
        raise StoreError(f"{path}: results file is malformed ({exc}); write it again") from None
    return Results(
        run=MappingProxyType(dict(run)),
        fingerprint=fingerprint,
        records=records,
        gate=gate,
        raw=data,
    )
