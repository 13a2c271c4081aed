"""What the history database holds, read back: runs and per-test points, checked as they are read.

Rows come from a database that other programs (or people with a SQL shell) may have changed, and SQLite
keeps whatever type it is given. Each value is checked here, so a damaged row is one
:class:`~greencode.errors.StoreError` naming the database, the run and the column, never a traceback later.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from greencode.errors import StoreError
from greencode.records import PER_VALUES

if TYPE_CHECKING:
    from greencode.fingerprint import Fingerprint
    from greencode.records import TestRecord
    from greencode.results_file import RunInfo


@dataclass(frozen=True)
class HistoryRun:
    """One stored run. ``failed`` is true when its gate or budgets failed; ``dirty`` when the work tree had
    uncommitted changes, so the figures belong to no commit."""

    run_id: str
    started: float
    finished: float
    repository: str | None
    commit: str | None
    branch: str | None
    dirty: bool | None
    meter: str
    estimated: bool
    machine: str
    fingerprint: Mapping[str, object]
    tests: int
    failed: bool


@dataclass(frozen=True)
class HistoryPoint:
    """One test's statistics in one stored run (joules per ``per``)."""

    run_id: str
    started: float
    commit: str | None
    branch: str | None
    dirty: bool | None
    node_id: str
    per: str
    n: int
    median_j: float
    q1_j: float
    q3_j: float
    mean_j: float
    stdev_j: float
    wall_s: float
    cpu_s: float
    estimated: bool
    meter: str
    verdict: str | None
    change: float | None
    instructions: int | None = None
    d1_misses: int | None = None
    ll_misses: int | None = None


#: The columns a run is read with, in :class:`HistoryRun`'s order.
RUN_COLUMNS = (
    "run_id", "started", "finished", "repository", "commit_sha", "branch", "dirty", "meter", "estimated",
    "machine", "fingerprint", "tests", "failed",
)  # fmt: skip
#: The columns a point is read with (``r.`` the run, ``s.`` the result), in :class:`HistoryPoint`'s order.
POINT_COLUMNS = (
    "r.run_id", "r.started", "r.commit_sha", "r.branch", "r.dirty", "s.node_id", "s.per", "s.n", "s.median_j",
    "s.q1_j", "s.q3_j", "s.mean_j", "s.stdev_j", "s.wall_s", "s.cpu_s", "s.estimated", "s.meter", "s.verdict",
    "s.change", "s.instructions", "s.d1_misses", "s.ll_misses",
)  # fmt: skip
#: The results table's columns in the order :func:`result_row` gives them: the run's id, then the point's own
#: (``s.``) columns.
RESULT_COLUMNS = ("run_id", *(column[2:] for column in POINT_COLUMNS if column.startswith("s.")))


class _Row:
    """One row being read; each accessor checks its column's type and names the row when it is wrong."""

    def __init__(self, source: str, where: str, columns: Sequence[str], values: Sequence[Any]) -> None:
        self.source = source
        self.where = where
        self.values = dict(zip((c.split(".")[-1] for c in columns), values, strict=True))

    def fail(self, column: str, problem: str) -> StoreError:
        return StoreError(
            f"{self.source}: {self.where}: {column} {problem}; the database was changed outside greencode "
            "(fix or delete that row)"
        )

    def text(self, column: str) -> str:
        value = self.values[column]
        if not isinstance(value, str):
            raise self.fail(column, f"is {value!r}, not text")
        return value

    def optional_text(self, column: str) -> str | None:
        return None if self.values[column] is None else self.text(column)

    def number(self, column: str, *, minimum: float | None = None) -> float:
        value = self.values[column]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(column, f"is {_show(value)}, not a number")
        if not math.isfinite(value):
            raise self.fail(column, f"is {value!r}, not a finite number")
        if minimum is not None and value < minimum:
            raise self.fail(column, f"is {value!r}, below {minimum:g}")
        return float(value)

    def optional_number(self, column: str) -> float | None:
        return None if self.values[column] is None else self.number(column)

    def count(self, column: str, *, minimum: int = 0) -> int:
        value = self.values[column]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(column, f"is {_show(value)}, not a whole number of at least {minimum}")
        return value

    def optional_count(self, column: str) -> int | None:
        return None if self.values[column] is None else self.count(column)

    def flag(self, column: str) -> bool:
        value = self.values[column]
        if value not in (0, 1) or isinstance(value, float):
            raise self.fail(column, f"is {_show(value)}, not 0 or 1")
        return bool(value)

    def optional_flag(self, column: str) -> bool | None:
        return None if self.values[column] is None else self.flag(column)


def _show(value: object) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"a {len(bytes(value))}-byte blob"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def run_from_row(source: str, values: Sequence[Any]) -> HistoryRun:
    """A :class:`HistoryRun` from a row of :data:`RUN_COLUMNS`, checked."""
    row = _Row(source, f"run {values[0]!r}", RUN_COLUMNS, values)
    fingerprint_text = row.text("fingerprint")
    try:
        fingerprint = json.loads(fingerprint_text)
    except ValueError:
        raise row.fail("fingerprint", "is not valid JSON") from None
    if not isinstance(fingerprint, dict):
        raise row.fail("fingerprint", "is not a JSON object")
    return HistoryRun(
        run_id=row.text("run_id"),
        started=row.number("started", minimum=0),
        finished=row.number("finished", minimum=0),
        repository=row.optional_text("repository"),
        commit=row.optional_text("commit_sha"),
        branch=row.optional_text("branch"),
        dirty=row.optional_flag("dirty"),
        meter=row.text("meter"),
        estimated=row.flag("estimated"),
        machine=row.text("machine"),
        fingerprint=fingerprint,
        tests=row.count("tests"),
        failed=row.flag("failed"),
    )


def point_from_row(source: str, values: Sequence[Any]) -> HistoryPoint:
    """A :class:`HistoryPoint` from a row of :data:`POINT_COLUMNS`, checked."""
    row = _Row(source, f"run {values[0]!r}, test {values[5]!r}", POINT_COLUMNS, values)
    per = row.text("per")
    if per not in PER_VALUES:
        raise row.fail("per", f"is {per!r}, not one of {', '.join(PER_VALUES)}")
    return HistoryPoint(
        run_id=row.text("run_id"),
        started=row.number("started", minimum=0),
        commit=row.optional_text("commit_sha"),
        branch=row.optional_text("branch"),
        dirty=row.optional_flag("dirty"),
        node_id=row.text("node_id"),
        per=per,
        n=row.count("n", minimum=1),
        median_j=row.number("median_j", minimum=0),
        q1_j=row.number("q1_j", minimum=0),
        q3_j=row.number("q3_j", minimum=0),
        mean_j=row.number("mean_j", minimum=0),
        stdev_j=row.number("stdev_j", minimum=0),
        wall_s=row.number("wall_s", minimum=0),
        cpu_s=row.number("cpu_s", minimum=0),
        estimated=row.flag("estimated"),
        meter=row.text("meter"),
        verdict=row.optional_text("verdict"),
        change=row.optional_number("change"),
        instructions=row.optional_count("instructions"),
        d1_misses=row.optional_count("d1_misses"),
        ll_misses=row.optional_count("ll_misses"),
    )


def run_from_info(run: RunInfo, fingerprint: Fingerprint, tests: int, failed: bool) -> HistoryRun:
    """A run of the plugin as the history stores it."""
    vcs = run.vcs
    return HistoryRun(
        run_id=run.run_id,
        started=run.started,
        finished=run.finished,
        repository=vcs.repository if vcs else None,
        commit=vcs.commit if vcs else None,
        branch=vcs.branch if vcs else None,
        dirty=None if vcs is None else vcs.dirty,
        meter=run.meter,
        estimated=run.estimated,
        machine=fingerprint.describe(),
        fingerprint=fingerprint.to_dict(),
        tests=tests,
        failed=failed,
    )


def result_row(
    run_id: str, record: TestRecord, verdict: str | None, change: float | None
) -> tuple[object, ...]:
    """A test's record in run ``run_id`` as the results table stores it (:data:`RESULT_COLUMNS`): its
    samples' statistics, not the samples, with the gate's ``verdict`` and relative ``change``.

    Made straight from the record, once per test at the end of every run: no :class:`HistoryPoint` and, for
    the default single sample, no :class:`~greencode.stats.Summary` on the way (a test checks that the row
    holds what those would)."""
    samples = record.samples_j
    if len(samples) == 1 and math.isfinite(only := float(samples[0])):  # as stats.summarize has it
        n, median, q1, q3, mean, stdev = 1, only, only, only, only, 0.0
    else:
        s = record.summary
        n, median, q1, q3, mean, stdev = s.n, s.median, s.q1, s.q3, s.mean, s.stdev
    estimated = record.estimated
    return (
        run_id, record.node_id, record.per, n, median, q1, q3, mean, stdev, record.wall_s, record.cpu_s,
        int(estimated) if type(estimated) is bool else estimated, record.meter, verdict, change,
        record.instructions, record.d1_misses, record.ll_misses,
    )  # fmt: skip
