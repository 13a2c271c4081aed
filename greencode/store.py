"""Stored measurements: per-test records, the machine's fingerprint, baselines and results files.

- :class:`TestRecord` — one test's energy samples in one run (per call or per test), with how they were taken.
- :class:`Fingerprint` — which machine and meters produced them; baselines from another machine are not
  compared without being told to.
- :class:`Baseline` — what the regression gate compares with: one entry per node id holding the medians of
  up to :data:`MAX_RUNS` saved runs, the latest run's raw samples (capped) and their summary. JSON, schema
  ``greencode-baseline`` version :data:`BASELINE_VERSION`, sorted and diff-friendly. :func:`save_baseline`
  writes it atomically under a cross-process lock; :func:`load_baseline` refuses a damaged or foreign file
  with a :class:`~greencode.errors.StoreError` that names it, and never modifies it.
- Results files (``pytest --greencode-json``): :func:`write_results` / :func:`load_results`, schema
  ``greencode-results`` version :data:`RESULTS_VERSION` (documented in ``docs/pytest.md``).

The history database lives in :mod:`greencode.history`.
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from greencode.documents import (
    REQUIRED,
    count_of,
    floats_of,
    is_number,
    read_document,
    seconds_of,
    texts_of,
    typed,
)
from greencode.errors import StoreError
from greencode.files import atomic_write_text
from greencode.locks import announce_wait, file_lock, lock_path_for, store_lock_timeout
from greencode.stats import Summary, summarize
from greencode.vcs import VcsState

if TYPE_CHECKING:
    from greencode.measurement import Measurement

BASELINE_SCHEMA = "greencode-baseline"
BASELINE_VERSION = 1
RESULTS_SCHEMA = "greencode-results"
RESULTS_VERSION = 1
#: Raw samples kept per baseline entry (the summary is computed from all of them before capping).
MAX_SAMPLES = 200
#: Saved runs pooled per baseline entry: the gate learns the run-to-run spread from them.
MAX_RUNS = 10
#: What one test's figure covers: one call of the measured function, or the whole test.
Per = Literal["call", "test"]
PER_VALUES: tuple[Per, ...] = ("call", "test")
_DIGITS = 7
_BASELINE_HINT = (
    "the file was left as it is; point --greencode-compare at a file written by --greencode-save, or move "
    "this file away and save a new baseline"
)
_RESULTS_HINT = f"expected schema {RESULTS_SCHEMA!r}, written by pytest --greencode-json"


def _round(value: float) -> float:
    """Seven significant digits: far finer than any meter resolves, and stable across saves (clean diffs)."""
    if isinstance(value, int) or not math.isfinite(value):
        return value
    return float(f"{value:.{_DIGITS}g}")


def now_iso(epoch: float | None = None) -> str:
    """UTC time as ``2025-01-31T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if epoch is None else epoch))


# ---------------------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True)
class TestRecord:
    """One test's energy in one run.

    ``samples_j`` holds one figure per round: joules per call of the measured function (``per="call"``: the
    ``energy`` fixture, pytest-benchmark rounds) or per execution of the test's call phase (``per="test"``).
    ``wall_s``, ``cpu_s`` and ``co2e_g`` are medians in the same unit. ``source`` says what was measured:
    ``"test"``, ``"energy"`` (the fixture) or ``"benchmark"``. ``iterations`` is calls per round.
    """

    __test__ = False  # not a pytest test class, despite the name

    node_id: str
    per: str
    samples_j: tuple[float, ...]
    wall_s: float
    cpu_s: float
    meter: str
    estimated: bool
    provenance: Mapping[str, str] = field(default_factory=dict)
    rounds: int = 1
    iterations: int = 1
    source: str = "test"
    co2e_g: float | None = None
    warnings: tuple[str, ...] = ()
    # raw counts of a counting meter (``instructions``), per call or test like the energy, and the
    # instructions of the largest functions: the deterministic quantities behind the energy
    instructions: int | None = None
    d1_misses: int | None = None
    ll_misses: int | None = None
    functions: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.per not in PER_VALUES:
            raise ValueError(f"per must be 'call' or 'test', not {self.per!r}")
        if not self.samples_j:
            raise ValueError(f"{self.node_id}: a record needs at least one sample")

    @property
    def summary(self) -> Summary:
        return summarize(self.samples_j)

    @property
    def median_j(self) -> float:
        return statistics.median(self.samples_j)

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "per": self.per,
            "samples_j": [_round(v) for v in self.samples_j],
            "summary": {k: _round(v) for k, v in self.summary.to_dict().items()},
            "wall_s": _round(self.wall_s),
            "cpu_s": _round(self.cpu_s),
            "meter": self.meter,
            "estimated": self.estimated,
            "provenance": dict(sorted(self.provenance.items())),
            "rounds": self.rounds,
            "iterations": self.iterations,
            "source": self.source,
            "co2e_g": None if self.co2e_g is None else _round(self.co2e_g),
            "warnings": list(self.warnings),
            **counts_to_dict(self),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestRecord:
        """The inverse of :meth:`to_dict`; raises ``ValueError`` saying which field is wrong."""
        return cls(
            node_id=typed(data, "node_id", str),
            per=typed(data, "per", str),
            samples_j=floats_of(data, "samples_j"),
            wall_s=seconds_of(data, "wall_s"),
            cpu_s=seconds_of(data, "cpu_s"),
            meter=typed(data, "meter", str),
            estimated=typed(data, "estimated", bool),
            provenance=MappingProxyType(texts_of(data, "provenance")),
            rounds=count_of(data, "rounds"),
            iterations=count_of(data, "iterations"),
            source=typed(data, "source", str, "test"),
            co2e_g=typed(data, "co2e_g", float, None),
            warnings=tuple(str(w) for w in typed(data, "warnings", list, [])),
            **counts_from_dict(data),
        )


#: Raw counts a record or baseline entry may carry (see :mod:`greencode.meters.instructions`).
COUNT_FIELDS = ("instructions", "d1_misses", "ll_misses")
#: Functions kept per test in results and baselines: enough to say where a regression is.
MAX_FUNCTIONS = 50


def counts_to_dict(item: TestRecord | BaselineEntry) -> dict[str, Any]:
    """The raw counts and largest functions of a record or entry: only those it has (old files lack them)."""
    data: dict[str, Any] = {
        name: getattr(item, name) for name in COUNT_FIELDS if getattr(item, name) is not None
    }
    if item.functions:
        largest = sorted(item.functions.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FUNCTIONS]
        data["functions"] = dict(largest)
    return data


def counts_from_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`counts_to_dict`; raises ``ValueError`` naming a malformed field."""
    counts: dict[str, Any] = {name: typed(data, name, int, None) for name in COUNT_FIELDS}
    functions = typed(data, "functions", dict, {})
    if not all(type(v) is int and isinstance(k, str) for k, v in functions.items()):
        raise ValueError("'functions' should map 'file:function' to whole numbers of instructions")
    counts["functions"] = MappingProxyType(dict(functions))
    return counts


def counts_of_rounds(measurements: Sequence[Measurement], calls: Sequence[int]) -> dict[str, Any]:
    """A record's counts from its rounds' measurements (each of ``calls`` calls): the median round's counts
    per call, and that round's functions."""
    per_call = [
        {name: value // n for name, value in m.counts.items()}
        for m, n in zip(measurements, calls, strict=True)
    ]
    order = sorted(range(len(per_call)), key=lambda i: per_call[i].get("instructions", 0))
    middle = order[(len(order) - 1) // 2]
    functions = measurements[middle].functions
    n = calls[middle]
    return {
        **{name: per_call[middle].get(name) for name in COUNT_FIELDS},
        "functions": MappingProxyType({key: value // n for key, value in functions.items()}),
    }


# ---------------------------------------------------------------------------------------------------------
# the machine


@dataclass(frozen=True)
class Fingerprint:
    """The machine and meters that produced a set of measurements.

    The identity — CPU model, logical CPUs, meters, domains and whether the machine is virtual — decides
    whether two sets are comparable. Python version, CPU frequency, host name and platform are recorded for
    people reading the file, but a new Python or a different host of the same kind does not make a
    baseline foreign (CI runners change host names every job).
    """

    cpu_model: str
    logical_cpus: int
    meter: str
    domains: tuple[str, ...]
    virtualised: bool
    python: str = ""
    frequency_mhz: float | None = None
    hostname: str = ""
    platform: str = ""
    #: a counting meter's counter and interpreter (``callgrind, CPython 3.11.7``): instruction counts change
    #: with both, so they are part of the identity; empty for energy meters
    counter: str = ""

    @property
    def identity(self) -> tuple[object, ...]:
        return (
            self.cpu_model,
            self.logical_cpus,
            self.meter,
            tuple(sorted(self.domains)),
            self.virtualised,
            self.counter,
        )

    def matches(self, other: Fingerprint) -> bool:
        return self.identity == other.identity

    def differences(self, other: Fingerprint) -> tuple[str, ...]:
        """What differs between ``other`` (e.g. the baseline's) and this machine, one phrase each."""
        found = []
        if self.cpu_model != other.cpu_model:
            found.append(f"CPU {other.cpu_model!r} vs {self.cpu_model!r}")
        if self.logical_cpus != other.logical_cpus:
            found.append(f"{other.logical_cpus} vs {self.logical_cpus} logical CPUs")
        if self.meter != other.meter:
            found.append(f"meter {other.meter!r} vs {self.meter!r}")
        elif sorted(self.domains) != sorted(other.domains):
            found.append(f"domains {', '.join(other.domains)} vs {', '.join(self.domains)}")
        if self.virtualised != other.virtualised:
            kinds = ("physical", "virtual")
            found.append(f"{kinds[other.virtualised]} vs {kinds[self.virtualised]} machine")
        if self.counter != other.counter:
            found.append(
                f"counted with {other.counter or 'no counter'!r} vs {self.counter or 'no counter'!r} "
                "(instruction counts change with the counter, the Python version and implementation)"
            )
        return tuple(found)

    def describe(self) -> str:
        kind = "VM" if self.virtualised else "physical"
        return f"{self.cpu_model}, {self.logical_cpus} CPUs, {kind}, meter {self.meter}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu_model": self.cpu_model,
            "logical_cpus": self.logical_cpus,
            "meter": self.meter,
            "domains": sorted(self.domains),
            "virtualised": self.virtualised,
            "python": self.python,
            "frequency_mhz": self.frequency_mhz,
            "hostname": self.hostname,
            "platform": self.platform,
            **({"counter": self.counter} if self.counter else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fingerprint:
        # strict: a fingerprint read wrongly would not match this machine, and the next save would then
        # replace the whole baseline as if it came from another one
        domains = typed(data, "domains", list)
        if not all(isinstance(d, str) and d for d in domains):
            raise ValueError("'domains' should be a list of domain names")
        if not typed(data, "cpu_model", str) or not typed(data, "meter", str):
            raise ValueError("'cpu_model' and 'meter' should not be empty")
        return cls(
            cpu_model=typed(data, "cpu_model", str),
            logical_cpus=count_of(data, "logical_cpus", REQUIRED),
            meter=typed(data, "meter", str),
            domains=tuple(domains),
            virtualised=typed(data, "virtualised", bool),
            python=typed(data, "python", str, ""),
            frequency_mhz=typed(data, "frequency_mhz", float, None),
            hostname=typed(data, "hostname", str, ""),
            platform=typed(data, "platform", str, ""),
            counter=typed(data, "counter", str, ""),
        )


#: DMI vendor and product strings of common hypervisors (what systemd-detect-virt reads, without running it).
_VM_VENDORS = (
    "qemu",
    "kvm",
    "vmware",
    "virtualbox",
    "innotek",
    "xen",
    "bochs",
    "parallels",
    "amazon ec2",
    "google compute engine",
    "microsoft corporation virtual machine",
    "openstack",
    "hetzner vserver",
)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _virtual_by_firmware() -> bool:
    if _read("/sys/hypervisor/type").strip():
        return True
    dmi = " ".join(
        _read(f"/sys/class/dmi/id/{name}").strip().lower() for name in ("sys_vendor", "product_name")
    )
    return any(vendor in dmi for vendor in _VM_VENDORS)


def _frequency_mhz() -> float | None:
    for line in _read("/proc/cpuinfo").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "cpu MHz":
            try:
                return round(float(value), 1)
            except ValueError:
                return None
    return None


def detect_fingerprint(meter: str, domains: Iterable[str], counter: str = "") -> Fingerprint:
    """This machine's fingerprint for measurements taken with ``meter`` over ``domains`` (``counter``: a
    counting meter's :func:`~greencode.meters.counting_identity`).

    The CPU model and the hypervisor flag come from the estimator's host detection (``/proc/cpuinfo`` on
    Linux); DMI and ``/sys/hypervisor`` files catch hypervisors that hide the flag. Nothing is executed.
    """
    import platform

    from greencode.meters.estimate import detect_host

    host = detect_host()
    return Fingerprint(
        cpu_model=host.cpu_model,
        logical_cpus=os.cpu_count() or 1,
        meter=meter,
        domains=tuple(sorted(domains)),
        virtualised=bool(host.virtual) or (sys.platform.startswith("linux") and _virtual_by_firmware()),
        python=platform.python_version(),
        frequency_mhz=_frequency_mhz(),
        hostname=socket.gethostname(),
        platform=platform.platform(terse=True),
        counter=counter,
    )


# ---------------------------------------------------------------------------------------------------------
# baselines


@dataclass(frozen=True)
class BaselineEntry:
    """One test in a baseline.

    ``runs_j`` holds one median per saved run (oldest first, at most :data:`MAX_RUNS`); repeated saves of
    the same clean commit add runs, and their spread is what the gate learns the machine's run-to-run noise
    from. ``samples_j`` and ``summary`` describe the latest run. ``commit`` is the clean commit the runs
    were measured at (None when the tree was dirty or not in git: such runs are never pooled).
    """

    node_id: str
    per: str
    runs_j: tuple[float, ...]
    samples_j: tuple[float, ...]
    summary: Summary
    wall_s: float
    cpu_s: float
    meter: str
    estimated: bool
    rounds: int = 1
    iterations: int = 1
    commit: str | None = None
    instructions: int | None = None
    d1_misses: int | None = None
    ll_misses: int | None = None
    functions: Mapping[str, int] = field(default_factory=dict)

    @property
    def centre_j(self) -> float:
        """The typical run: geometric mean of the run medians (their median if any is zero)."""
        if all(v > 0 for v in self.runs_j):
            return math.exp(math.fsum(math.log(v) for v in self.runs_j) / len(self.runs_j))
        return statistics.median(self.runs_j)

    def to_dict(self) -> dict[str, Any]:
        return {
            "per": self.per,
            "runs_j": [_round(v) for v in self.runs_j],
            "samples_j": [_round(v) for v in self.samples_j],
            "summary": {k: _round(v) for k, v in self.summary.to_dict().items()},
            "wall_s": _round(self.wall_s),
            "cpu_s": _round(self.cpu_s),
            "meter": self.meter,
            "estimated": self.estimated,
            "rounds": self.rounds,
            "iterations": self.iterations,
            "commit": self.commit,
            **counts_to_dict(self),
        }

    @classmethod
    def from_dict(cls, node_id: str, data: Mapping[str, Any]) -> BaselineEntry:
        per = typed(data, "per", str)
        if per not in PER_VALUES:
            raise ValueError(f"'per' should be 'call' or 'test', found {per!r}")
        runs = floats_of(data, "runs_j", energies=True)
        samples = floats_of(data, "samples_j", energies=True)
        if not runs or not samples:
            raise ValueError("'runs_j' and 'samples_j' need at least one value")
        summary_data = typed(data, "summary", dict)
        try:
            summary = Summary(**{k: summary_data[k] for k in Summary.__dataclass_fields__})
        except KeyError as exc:
            raise ValueError(f"'summary' lacks {exc}") from None
        if not all(is_number(v) for v in vars(summary).values()):
            raise ValueError("'summary' should hold numbers only")
        count_of(summary_data, "n")
        return cls(
            node_id=node_id,
            per=per,
            runs_j=runs,
            samples_j=samples,
            summary=summary,
            wall_s=seconds_of(data, "wall_s"),
            cpu_s=seconds_of(data, "cpu_s"),
            meter=typed(data, "meter", str),
            estimated=typed(data, "estimated", bool),
            rounds=count_of(data, "rounds"),
            iterations=count_of(data, "iterations"),
            commit=typed(data, "commit", str, None),
            **counts_from_dict(data),
        )


def entry_from_record(record: TestRecord, commit: str | None, runs: tuple[float, ...] = ()) -> BaselineEntry:
    """A baseline entry for ``record``, after ``runs`` (earlier run medians of the same commit) if any."""
    all_runs = (*runs, record.median_j)[-MAX_RUNS:]
    return BaselineEntry(
        node_id=record.node_id,
        per=record.per,
        runs_j=all_runs,
        samples_j=record.samples_j[:MAX_SAMPLES],
        summary=record.summary,
        wall_s=record.wall_s,
        cpu_s=record.cpu_s,
        meter=record.meter,
        estimated=record.estimated,
        rounds=record.rounds,
        iterations=record.iterations,
        commit=commit,
        instructions=record.instructions,
        d1_misses=record.d1_misses,
        ll_misses=record.ll_misses,
        functions=record.functions,
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


# ---------------------------------------------------------------------------------------------------------
# results files


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
