"""Baselines: what the regression gate compares with.

One :class:`~greencode.records.BaselineEntry` per node id holding the medians of up to
:data:`~greencode.records.MAX_RUNS` saved runs, the latest run's raw samples (capped) and their summary.
JSON, schema ``greencode-baseline`` version :data:`BASELINE_VERSION`, sorted and diff-friendly.
:func:`save_baseline` writes it atomically under a cross-process lock; :func:`load_baseline` refuses a
damaged or foreign file with a :class:`~greencode.errors.StoreError` that names it, and never modifies it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from greencode.documents import read_document, typed
from greencode.errors import StoreError
from greencode.files import atomic_write_text
from greencode.fingerprint import Fingerprint
from greencode.locks import announce_wait, file_lock, lock_path_for, store_lock_timeout
from greencode.records import BaselineEntry, TestRecord, entry_from_record, now_iso
from greencode.vcs import VcsState

BASELINE_SCHEMA = "greencode-baseline"
BASELINE_VERSION = 1
_BASELINE_HINT = (
    "the file was left as it is; point --greencode-compare at a file written by --greencode-save, or move "
    "this file away and save a new baseline"
)


@dataclass(frozen=True)
class Baseline:
    """A stored baseline. Build one with :func:`baseline_from_runs` or :func:`save_baseline`; read one with
    :func:`load_baseline`."""

    fingerprint: Fingerprint
    entries: Mapping[str, BaselineEntry]
    created: str
    updated: str
    vcs: VcsState | None
    meter: str
    estimated: bool
    greencode_version: str = ""
    path: Path | None = field(default=None, compare=False)

    @property
    def commit(self) -> str | None:
        return self.vcs.commit if self.vcs else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": BASELINE_SCHEMA,
            "version": BASELINE_VERSION,
            "greencode_version": self.greencode_version,
            "created": self.created,
            "updated": self.updated,
            "vcs": self.vcs.to_dict() if self.vcs else None,
            "fingerprint": self.fingerprint.to_dict(),
            "meter": self.meter,
            "estimated": self.estimated,
            "entries": {node: entry.to_dict() for node, entry in sorted(self.entries.items())},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> Baseline:
        """Build from a baseline document whose schema and version are checked (:func:`load_baseline`);
        raises :class:`StoreError` naming ``where`` and what is wrong."""
        try:
            fingerprint = Fingerprint.from_dict(typed(data, "fingerprint", dict))
        except ValueError as exc:
            raise StoreError(
                f"{where}: baseline fingerprint is malformed ({exc}); save a new baseline"
            ) from None
        entries_data = data.get("entries")
        if not isinstance(entries_data, dict):
            raise StoreError(f"{where}: baseline has no 'entries' table; save a new baseline")
        entries = {}
        for node_id, entry in entries_data.items():
            try:
                if not isinstance(entry, dict):
                    raise ValueError("expected an object")
                entries[node_id] = BaselineEntry.from_dict(node_id, entry)
            except ValueError as exc:
                raise StoreError(
                    f"{where}: baseline entry {node_id!r} is malformed ({exc}); save a new baseline"
                ) from None
        estimated = data.get("estimated", any(e.estimated for e in entries.values()))
        if not isinstance(estimated, bool):  # "false" is a non-empty string: bool() would say True
            raise StoreError(f"{where}: baseline 'estimated' = {estimated!r}: expected true or false")
        vcs_data = data.get("vcs")
        vcs = None
        if isinstance(vcs_data, dict) and isinstance(vcs_data.get("commit"), str):
            branch = vcs_data.get("branch")
            vcs = VcsState(
                vcs_data["commit"], branch if isinstance(branch, str) else None, bool(vcs_data.get("dirty"))
            )
        return cls(
            fingerprint=fingerprint,
            entries=MappingProxyType(entries),
            created=str(data.get("created", "")),
            updated=str(data.get("updated", "")),
            vcs=vcs,
            meter=str(data.get("meter", fingerprint.meter)),
            estimated=estimated,
            greencode_version=str(data.get("greencode_version", "")),
        )


def load_baseline(path: Path) -> Baseline | None:
    """The baseline at ``path``, or None when there is no such file.

    A file that is unreadable, not JSON, of another schema or a newer version raises :class:`StoreError`
    naming it; the file is never modified.
    """
    path = Path(path)
    try:
        data = read_document(
            path, "baseline", BASELINE_SCHEMA, BASELINE_VERSION, "save a new baseline", _BASELINE_HINT
        )
    except FileNotFoundError:
        return None
    return replace(Baseline.from_dict(data, str(path)), path=path)


def _clean_commit(vcs: VcsState | None) -> str | None:
    """The commit runs are stored under: None for a dirty tree, whose code is not its commit's, so that
    later saves of that commit never pool with them."""
    return vcs.commit if vcs is not None and not vcs.dirty else None


def baseline_from_runs(
    runs: Iterable[Iterable[TestRecord]],
    fingerprint: Fingerprint,
    vcs: VcsState | None,
    *,
    now: float | None = None,
) -> Baseline:
    """A baseline pooling several runs of the same code (``greencode calibrate --save``): each test's
    entry holds one median per run, and the latest run's samples."""
    from greencode.version import __version__

    entries: dict[str, BaselineEntry] = {}
    clean_commit = _clean_commit(vcs)
    for run in runs:
        for record in run:
            earlier = entries.get(record.node_id)
            same_unit = earlier is not None and earlier.per == record.per
            entries[record.node_id] = entry_from_record(
                record, clean_commit, earlier.runs_j if earlier and same_unit else ()
            )
    stamp = now_iso(now)
    return Baseline(
        fingerprint=fingerprint,
        entries=MappingProxyType(entries),
        created=stamp,
        updated=stamp,
        vcs=vcs,
        meter=fingerprint.meter,
        estimated=any(e.estimated for e in entries.values()),
        greencode_version=__version__,
    )


@dataclass(frozen=True)
class SaveResult:
    """What :func:`save_baseline` did: ``added`` new tests, ``replaced`` entries started afresh, ``pooled``
    entries that gained a run of the same clean commit, and ``reset`` (why the whole file was replaced)."""

    baseline: Baseline
    path: Path | None
    added: tuple[str, ...]
    replaced: tuple[str, ...]
    pooled: tuple[str, ...]
    reset: str | None = None
    #: Why the ``replaced`` entries did not gain a run instead (None when nothing was replaced).
    not_pooled: str | None = None

    def describe(self) -> str:
        parts = [f"{len(self.baseline.entries)} tests" + (f" in {self.path}" if self.path else "")]
        if self.added:
            parts.append(f"{len(self.added)} added")
        if self.replaced:
            parts.append(
                f"{len(self.replaced)} replaced"
                + (f" (not pooled with earlier runs: {self.not_pooled})" if self.not_pooled else "")
            )
        if self.pooled:
            runs = max(len(self.baseline.entries[n].runs_j) for n in self.pooled)
            parts.append(f"{len(self.pooled)} pooled with earlier runs of this commit (up to {runs} runs)")
        text = "baseline saved: " + ", ".join(parts)
        return text + (f"; previous baseline replaced: {self.reset}" if self.reset else "")


def merge_baseline(
    existing: Baseline | None,
    records: Iterable[TestRecord],
    fingerprint: Fingerprint,
    vcs: VcsState | None,
    *,
    now: float | None = None,
) -> SaveResult:
    """The baseline after saving ``records`` over ``existing`` (pure; :func:`save_baseline` writes it).

    Tests that did not run keep their entries. A test measured again at the same clean commit gains a run
    (up to :data:`MAX_RUNS`); otherwise its entry starts afresh. A baseline from another machine, or an
    estimate where measurements were stored (or the reverse), is replaced as a whole.
    """
    from greencode.version import __version__

    records = list(records)
    estimated = any(r.estimated for r in records)
    reset = None
    if existing is not None and not existing.fingerprint.matches(fingerprint):
        reset = (
            "it came from another machine (" + "; ".join(fingerprint.differences(existing.fingerprint)) + ")"
        )
    elif existing is not None and records and existing.entries and existing.estimated != estimated:
        reset = "it held " + ("estimates" if existing.estimated else "measurements")
    keep = existing if existing is not None and reset is None else None
    entries = dict(keep.entries) if keep else {}
    clean_commit = _clean_commit(vcs)
    added, replaced, pooled = [], [], []
    reasons: dict[str, None] = {}
    for record in records:
        old = entries.get(record.node_id)
        if old is None:
            added.append(record.node_id)
            entries[record.node_id] = entry_from_record(record, clean_commit)
        elif clean_commit is not None and old.commit == clean_commit and old.per == record.per:
            pooled.append(record.node_id)
            entries[record.node_id] = entry_from_record(record, clean_commit, old.runs_j)
        else:
            replaced.append(record.node_id)
            reasons[_why_not_pooled(vcs, old.commit, old.per != record.per)] = None
            entries[record.node_id] = entry_from_record(record, clean_commit)
    stamp = now_iso(now)
    baseline = Baseline(
        fingerprint=fingerprint,
        entries=MappingProxyType(entries),
        created=keep.created if keep else stamp,
        updated=stamp,
        vcs=vcs,
        meter=fingerprint.meter,
        estimated=any(e.estimated for e in entries.values()),
        greencode_version=__version__,
    )
    not_pooled = "; ".join(reasons) if reasons else None
    return SaveResult(baseline, None, tuple(added), tuple(replaced), tuple(pooled), reset, not_pooled)


def _why_not_pooled(vcs: VcsState | None, saved_commit: str | None, per_changed: bool) -> str:
    """Why a test's new run starts its entry afresh instead of joining the runs saved before."""
    if per_changed:
        return "the test is now measured per call instead of per test, or the reverse"
    if vcs is None:
        return "this is not a git work tree, so runs cannot be matched to one commit"
    if vcs.dirty:
        shown = ", ".join(vcs.changes) if vcs.changes else "see git status"
        return (
            f"the work tree has uncommitted changes ({shown}); runs pool only when saved at one clean commit"
        )
    if saved_commit is None:
        return "the saved runs came from a tree with uncommitted changes"
    return f"the saved runs are of commit {saved_commit[:12]}, this run of {vcs.short}"


def _locked_update(path: Path, update: Callable[[Baseline | None], SaveResult]) -> SaveResult:
    """Read, change and write the baseline at ``path`` under its lock; atomic, and a damaged file raises
    :class:`StoreError` before anything is written."""
    path = Path(path)
    with file_lock(lock_path_for(path), store_lock_timeout(), announce_wait):
        result = update(load_baseline(path))
        atomic_write_text(path, result.baseline.to_json())
    return replace(result, path=path, baseline=replace(result.baseline, path=path))


def save_baseline(
    path: Path,
    records: Iterable[TestRecord],
    fingerprint: Fingerprint,
    vcs: VcsState | None,
    *,
    now: float | None = None,
) -> SaveResult:
    """Merge ``records`` into the baseline at ``path`` (see :func:`merge_baseline`) and write it.

    The read-merge-write happens under an exclusive lock on a lock file beside the baseline, so concurrent
    writers (parallel CI jobs sharing a workspace, two terminals) each see the other's entries; the write
    itself is atomic, so a crash leaves the old file. A damaged existing file raises :class:`StoreError`
    and is left untouched.
    """
    records = list(records)
    return _locked_update(path, lambda existing: merge_baseline(existing, records, fingerprint, vcs, now=now))


def write_baseline(path: Path, baseline: Baseline) -> SaveResult:
    """Write ``baseline`` (e.g. from :func:`baseline_from_runs`) to ``path``, replacing the entries it holds
    and keeping the file's other entries when it comes from the same machine; locked and atomic like
    :func:`save_baseline`."""

    def update(existing: Baseline | None) -> SaveResult:
        if existing is None or not existing.fingerprint.matches(baseline.fingerprint):
            reset = (
                None
                if existing is None
                else (
                    "it came from another machine ("
                    + "; ".join(baseline.fingerprint.differences(existing.fingerprint))
                    + ")"
                )
            )
            return SaveResult(baseline, None, tuple(sorted(baseline.entries)), (), (), reset)
        entries = {**existing.entries, **baseline.entries}
        merged = replace(baseline, entries=MappingProxyType(entries), created=existing.created)
        replaced = tuple(sorted(n for n in baseline.entries if n in existing.entries))
        added = tuple(sorted(n for n in baseline.entries if n not in existing.entries))
        return SaveResult(merged, None, added, replaced, ())

    return _locked_update(path, update)
