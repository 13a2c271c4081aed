"""One test's energy figure as greencode stores it, and every conversion between the value types that
carry it.

- :class:`TestRecord` — one test's samples in one run (per call or per test), with how they were taken:
  what the plugin, ``greencode ab`` and results files hold.
- :class:`BaselineEntry` — one test in a baseline: the run medians pooled at one commit and the latest
  run's samples and summary.
- Conversions: a test's measurement windows or the ``energy`` fixture's profile to a record
  (:func:`record_from_windows`, :func:`record_from_profile`), a record to a baseline entry
  (:func:`entry_from_record`), a history point back to a record (:func:`record_from_point`), several runs of
  one test to one record (:func:`combine_runs`), and each type to and from its JSON form.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, MISSING, dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from greencode.documents import count_of, floats_of, is_number, seconds_of, texts_of, typed
from greencode.stats import Summary, median, summarize

if TYPE_CHECKING:
    from greencode.history.model import HistoryPoint
    from greencode.measurement import Measurement, Profile

#: Raw samples kept per baseline entry (the summary is computed from all of them before capping).
MAX_SAMPLES = 200
#: Saved runs pooled per baseline entry: the gate learns the run-to-run spread from them.
MAX_RUNS = 10
#: What one test's figure covers: one call of the measured function, or the whole test.
Per = Literal["call", "test"]
PER_VALUES: tuple[Per, ...] = ("call", "test")
_DIGITS = 7


def rounded(value: float) -> float:
    """Seven significant digits: far finer than any meter resolves, and stable across saves (clean diffs)."""
    if isinstance(value, int) or not math.isfinite(value):
        return value
    return float(f"{value:.{_DIGITS}g}")


def now_iso(epoch: float | None = None) -> str:
    """UTC time as ``2025-01-31T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if epoch is None else epoch))


@dataclass(frozen=True)
class Figure:
    """One test's energy figure and how it was taken: what a run's :class:`TestRecord` and a baseline's
    :class:`BaselineEntry` share, and what each conversion between them copies (:func:`figure_fields`).

    ``samples_j`` holds one figure per round: joules per call of the measured function (``per="call"``: the
    ``energy`` fixture, pytest-benchmark rounds) or per execution of the test's call phase (``per="test"``).
    ``wall_s`` and ``cpu_s`` are medians in the same unit; ``iterations`` is calls per round.
    ``provenance`` says where each domain's figure came from (results files keep it; baselines do not).
    The raw counts of a counting meter (``instructions``), per call or test like the energy, and the
    instructions of the largest functions are the deterministic quantities behind the energy.
    """

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
    _: KW_ONLY
    instructions: int | None = None
    d1_misses: int | None = None
    ll_misses: int | None = None
    functions: Mapping[str, int] = field(default_factory=dict)

    @property
    def median_j(self) -> float:
        samples = self.samples_j
        # one round per test is the default, and reports ask each test's median: what median() gives, sooner
        return samples[0] if len(samples) == 1 else median(samples)


def figure_fields(item: Figure) -> dict[str, Any]:
    """The figure ``item`` carries, as keyword arguments for another record type (the one field-by-field
    copy between them)."""
    return {name: getattr(item, name) for name in _FIGURE_FIELDS}


@dataclass(frozen=True)
class TestRecord(Figure):
    """One test's energy in one run: its :class:`Figure`, with what was measured (``source``: ``"test"``,
    ``"energy"`` (the fixture) or ``"benchmark"``), the median CO2e per ``per`` and the meters' warnings.
    """

    __test__ = False  # not a pytest test class, despite the name

    source: str = "test"
    co2e_g: float | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.per not in PER_VALUES:
            raise ValueError(f"per must be 'call' or 'test', not {self.per!r}")
        if not self.samples_j:
            raise ValueError(f"{self.node_id}: a record needs at least one sample")

    @property
    def summary(self) -> Summary:
        return summarize(self.samples_j)

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            **_figures_to_dict(self),
            "provenance": dict(sorted(self.provenance.items())),
            "source": self.source,
            "co2e_g": None if self.co2e_g is None else rounded(self.co2e_g),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestRecord:
        """The inverse of :meth:`to_dict`; raises ``ValueError`` saying which field is wrong."""
        node_id = typed(data, "node_id", str)
        samples = floats_of(data, "samples_j")
        if min(samples, default=0.0) < 0:  # no meter reads less than nothing: a damaged file
            raise ValueError(f"{node_id}: negative energy {min(samples):g} J in 'samples_j'")
        return cls(
            node_id=node_id,
            per=typed(data, "per", str),
            samples_j=samples,
            **_figure_from_dict(data),
            provenance=MappingProxyType(texts_of(data, "provenance")),
            source=typed(data, "source", str, "test"),
            co2e_g=typed(data, "co2e_g", float, None),
            warnings=tuple(str(w) for w in typed(data, "warnings", list, [])),
        )


#: Raw counts a record or baseline entry may carry (see :mod:`greencode.meters.instructions`).
COUNT_FIELDS = ("instructions", "d1_misses", "ll_misses")
#: Functions kept per test in results and baselines: enough to say where a regression is.
MAX_FUNCTIONS = 50


_FIGURE_FIELDS = tuple(f.name for f in fields(Figure))


def _figures_to_dict(item: TestRecord | BaselineEntry) -> dict[str, Any]:
    """What a record and a baseline entry both store: the unit, the samples and their summary, the medians
    of time, how they were measured, and the raw counts."""
    return {
        "per": item.per,
        "samples_j": [rounded(v) for v in item.samples_j],
        "summary": {k: rounded(v) for k, v in item.summary.to_dict().items()},
        "wall_s": rounded(item.wall_s),
        "cpu_s": rounded(item.cpu_s),
        "meter": item.meter,
        "estimated": item.estimated,
        "rounds": item.rounds,
        "iterations": item.iterations,
        **counts_to_dict(item),
    }


def _figure_from_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`_figures_to_dict` for what follows the samples: times, meter, rounds and
    counts; raises ``ValueError`` naming a malformed field."""
    return {
        "wall_s": seconds_of(data, "wall_s"),
        "cpu_s": seconds_of(data, "cpu_s"),
        "meter": typed(data, "meter", str),
        "estimated": typed(data, "estimated", bool),
        "rounds": count_of(data, "rounds"),
        "iterations": count_of(data, "iterations"),
        **counts_from_dict(data),
    }


def counts_to_dict(item: Figure) -> dict[str, Any]:
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


@dataclass(frozen=True)
class BaselineEntry(Figure):
    """One test in a baseline: its latest run's :class:`Figure` and the runs pooled with it.

    ``runs_j`` holds one median per saved run (oldest first, at most :data:`MAX_RUNS`); repeated saves of
    the same clean commit add runs, and their spread is what the gate learns the machine's run-to-run noise
    from. ``samples_j`` (at most :data:`MAX_SAMPLES`) and ``summary`` (of all of them) describe the latest
    run. ``commit`` is the clean commit the runs were measured at (None when the tree was dirty or not in
    git: such runs are never pooled).
    """

    _: KW_ONLY
    runs_j: tuple[float, ...]
    summary: Summary
    commit: str | None = None

    @property
    def centre_j(self) -> float:
        """The typical run: geometric mean of the run medians (their median if any is zero)."""
        if all(v > 0 for v in self.runs_j):
            return math.exp(math.fsum(math.log(v) for v in self.runs_j) / len(self.runs_j))
        return median(self.runs_j)

    def to_dict(self) -> dict[str, Any]:
        return {
            **_figures_to_dict(self),
            "runs_j": [rounded(v) for v in self.runs_j],
            "commit": self.commit,
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
            samples_j=samples,
            **_figure_from_dict(data),
            runs_j=runs,
            summary=summary,
            commit=typed(data, "commit", str, None),
        )


def entry_from_record(record: TestRecord, commit: str | None, runs: tuple[float, ...] = ()) -> BaselineEntry:
    """A baseline entry for ``record``, after ``runs`` (earlier run medians of the same commit) if any."""
    all_runs = (*runs, record.median_j)[-MAX_RUNS:]
    return BaselineEntry(
        **{**figure_fields(record), "samples_j": record.samples_j[:MAX_SAMPLES]},
        runs_j=all_runs,
        summary=record.summary,
        commit=commit,
    )


def record_from_windows(
    node_id: str, windows: Sequence[Measurement], extra_j: float, per: str, calls: Sequence[int], source: str
) -> TestRecord:
    """A test's record from the windows of its rounds, each of ``calls`` calls (per call or per test), with
    ``extra_j`` (its setup and teardown, for a per-test figure) added to each sample."""
    samples: tuple[float, ...]
    first = windows[0]
    if len(windows) == 1:  # the common case (one round), kept cheap: it runs once per test
        (n,) = calls
        samples, wall, cpu = (first.energy_j / n + extra_j,), first.wall_s / n, first.cpu_s / n
        co2e, estimated, iterations = first.co2e_g / n, first.estimated, n
        warnings = first.warnings
        if len(warnings) > 1:
            warnings = tuple(dict.fromkeys(warnings))
    else:
        samples = tuple(w.energy_j / n + extra_j for w, n in zip(windows, calls, strict=True))
        wall = median(w.wall_s / n for w, n in zip(windows, calls, strict=True))
        cpu = median(w.cpu_s / n for w, n in zip(windows, calls, strict=True))
        co2e = median(w.co2e_g / n for w, n in zip(windows, calls, strict=True))
        estimated, iterations = any(w.estimated for w in windows), max(calls)
        warnings = tuple(dict.fromkeys(warning for w in windows for warning in w.warnings))
    counts = counts_of_rounds(windows, calls) if first.counts else {}
    return new_record(
        node_id=node_id,
        per=per,
        samples_j=samples,
        wall_s=wall,
        cpu_s=cpu,
        meter=first.meter,
        estimated=estimated,
        provenance=first.provenance,
        rounds=len(windows),
        iterations=iterations,
        source=source,
        co2e_g=co2e,
        warnings=tuple(warnings),
        **counts,
    )


#: The defaults of :class:`TestRecord`'s fields and the fields made by a factory, for :func:`new_record`.
_RECORD_DEFAULTS = {f.name: f.default for f in fields(TestRecord) if f.default is not MISSING}
_RECORD_FACTORIES = tuple(
    (f.name, f.default_factory) for f in fields(TestRecord) if f.default_factory is not MISSING
)


def new_record(**values: Any) -> TestRecord:
    """``TestRecord(**values)``, for the records made once per test: a frozen dataclass's ``__init__`` sets
    each of its 17 fields through ``object.__setattr__``, a good part of what keeping a test's figure costs.
    The fields go straight into the instance's ``__dict__`` and ``__post_init__`` checks them as usual (a test
    checks this builds what ``TestRecord(...)`` builds)."""
    record = object.__new__(TestRecord)
    state = record.__dict__
    state.update(_RECORD_DEFAULTS)
    for name, factory in _RECORD_FACTORIES:
        if name not in values:
            state[name] = factory()
    state.update(values)
    record.__post_init__()
    return record


def record_from_profile(node_id: str, profile: Profile) -> TestRecord:
    """A test's record from the ``energy`` fixture's profile: joules per call of the measured function."""
    return TestRecord(
        node_id=node_id,
        per="call",
        samples_j=profile.samples_j,
        wall_s=median(profile.wall_samples_s),
        cpu_s=median(profile.cpu_samples_s),
        meter=profile.meter,
        estimated=profile.estimated,
        provenance=profile.provenance,
        rounds=profile.rounds,
        iterations=profile.iterations,
        source="energy",
        co2e_g=profile.co2e_g_per_call,
        warnings=profile.warnings,
    )


def record_from_point(point: HistoryPoint) -> TestRecord:
    """A history point as a one-sample record: history keeps each test's median, not its samples."""
    return TestRecord(
        point.node_id, point.per, (point.median_j,), point.wall_s, point.cpu_s, point.meter, point.estimated,
        instructions=point.instructions, d1_misses=point.d1_misses, ll_misses=point.ll_misses,
    )  # fmt: skip


def combine_runs(records: Sequence[TestRecord]) -> TestRecord:
    """One side's runs of a test as one record with one sample per run (that run's median)."""
    first = records[0]
    typical = sorted(records, key=lambda r: r.median_j)[len(records) // 2]
    co2e = [r.co2e_g for r in records if r.co2e_g is not None]
    return TestRecord(
        node_id=first.node_id,
        per=first.per,
        samples_j=tuple(r.median_j for r in records),
        wall_s=median(r.wall_s for r in records),
        cpu_s=median(r.cpu_s for r in records),
        meter=first.meter,
        estimated=any(r.estimated for r in records),
        provenance=first.provenance,
        rounds=len(records),
        iterations=first.iterations,
        source=first.source,
        co2e_g=median(co2e) if co2e else None,
        warnings=tuple(dict.fromkeys(w for r in records for w in r.warnings)),
        # a counting meter's per-function instructions: the typical run's (they are where a regression went)
        functions=typical.functions,
    )
