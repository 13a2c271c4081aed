"""Loading a report from any greencode output.

INPUT may be

- a results JSON written by the pytest plugin (``pytest --greencode-json PATH``);
- a measurement written by ``greencode run --json PATH``;
- a report JSON written by ``greencode report --format json`` (schema in ``docs/report-schema.md``);
- the history database, ``.greencode/history.sqlite`` (the newest run, compared with the one before it, and
  every run for the trend plot).

Whatever the input, each energy figure gets its CO2e and SCI from the carbon configuration in use
(:mod:`greencode.carbon`, :mod:`greencode.sci`), so they are reported next to energy everywhere.
A missing, corrupt or foreign file raises :class:`~greencode.errors.StoreError` with a one-line message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greencode.config import CarbonConfig, is_history_url
from greencode.documents import MOST_ENERGY_J, check_version, read_json, schema_found
from greencode.errors import StoreError
from greencode.hotspots import Growth, Hotspots
from greencode.report.model import (
    AS_RUN_NOTE,
    REPORT_PER_VALUES,
    SCHEMA,
    SCHEMA_VERSION,
    Estimate,
    Report,
    TrendPoint,
    Verdict,
    build_test,
    test_from_point,
    test_from_record,
    with_budgets,
    with_verdicts,
)
from greencode.results_file import RESULTS_SCHEMA, RESULTS_VERSION, results_from_document

if TYPE_CHECKING:
    from greencode.history import History, HistoryRun

_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Times are seconds since 1970 up to the year 9999, the range every platform's clock functions accept.
_LATEST_TIME = 253_402_300_799.0
_INPUT_HINT = (
    "pass a results JSON (pytest --greencode-json), a 'greencode run --json' file, a report JSON or "
    ".greencode/history.sqlite"
)


def load_report(path: Path | str, carbon: CarbonConfig | None = None) -> Report:
    """Read any greencode output at ``path`` (or the history database at a ``postgresql://`` URL); CO2e and
    SCI use ``carbon`` (default: built-in defaults)."""
    carbon = carbon or CarbonConfig()
    if is_history_url(path):
        return _from_history(path, carbon)
    path = Path(path)
    if is_history_database(path):
        return _from_history(path, carbon)
    data = _read_json(path)
    schema = data.get("schema")
    if schema == SCHEMA:
        check_version(data, SCHEMA_VERSION, str(path), f"{SCHEMA} file", "write it again")
        return _from_report_json(path, data, carbon)
    if schema == RESULTS_SCHEMA:
        check_version(data, RESULTS_VERSION, str(path), "results file", "write the file again")
        return _from_results_json(path, data, carbon)
    if schema is None and {"label", "energy_j", "domains"} <= data.keys():
        return _from_run_json(path, data, carbon)
    raise StoreError(f"{path}: not a greencode results file ({schema_found(data)}); {_INPUT_HINT}")


def is_history_database(path: Path) -> bool:
    """Whether ``path`` is an SQLite file (the history database) rather than JSON; a :class:`StoreError`
    says what is wrong when it cannot be read at all."""
    try:
        with Path(path).open("rb") as handle:
            return handle.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except FileNotFoundError:
        raise StoreError(f"{path}: no such file; {_INPUT_HINT}") from None
    except IsADirectoryError:
        raise StoreError(f"{path}: is a directory; {_INPUT_HINT}") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def latest_run(history: History) -> HistoryRun:
    """The newest run stored in ``history``; a :class:`StoreError` when there is none."""
    runs = history.runs()
    if not runs:
        raise StoreError(
            f"{history.name}: the history database holds no runs yet; run pytest --greencode first"
        )
    return runs[-1]


_DATABASE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def _read_json(path: Path) -> dict[str, Any]:
    if path.suffix.lower() in _DATABASE_SUFFIXES:
        # named like the history database but without SQLite's header: saying "not valid JSON" would puzzle
        raise StoreError(
            f"{path}: not an SQLite database (it lacks SQLite's file header), though named like one; "
            f"{_INPUT_HINT}"
        )
    data = read_json(path, "results file", _INPUT_HINT)
    if not isinstance(data, dict):
        raise StoreError(f"{path}: expected a JSON object at the top level; {_INPUT_HINT}")
    return data


class Fields:
    """Typed access to one JSON object; a wrong type is a :class:`StoreError` naming the file and field."""

    def __init__(self, path: Path, data: Mapping[str, Any], where: str = "") -> None:
        self.path = path
        self.data = data
        self.where = where

    def _fail(self, key: str, expected: str) -> StoreError:
        return StoreError(
            f"{self.path}: {self.where}{key} = {self.data.get(key)!r}: expected {expected}; "
            "the file is damaged or was not written by greencode"
        )

    def number(self, key: str, default: float | None = None, *, minimum: float | None = None) -> float:
        """A finite number, at least ``minimum`` when given."""
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._fail(key, "a number")
        if minimum is not None and value < minimum:
            raise self._fail(key, f"a number >= {minimum:g}")
        return float(value)

    def energy(self, key: str, default: float | None = None) -> float:
        """Joules: a number from 0 to :data:`~greencode.documents.MOST_ENERGY_J`."""
        value = self.number(key, default, minimum=0)
        if value > MOST_ENERGY_J:
            raise self._fail(key, f"an energy up to {MOST_ENERGY_J:g} J")
        return value

    def optional_number(self, key: str, *, minimum: float | None = None) -> float | None:
        return None if self.data.get(key) is None else self.number(key, minimum=minimum)

    def positive(self, key: str, default: float) -> float:
        value = self.number(key, default)
        if value <= 0:
            raise self._fail(key, "a number > 0")
        return value

    def timestamp(self, key: str) -> float | None:
        """Seconds since 1970 (optional); a time no clock can show is damage, not data."""
        value = self.optional_number(key)
        if value is not None and not 0 <= value <= _LATEST_TIME:
            raise self._fail(key, "a time in seconds since 1970")
        return value

    def choice(self, key: str, default: str, choices: Sequence[str]) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self._fail(key, "one of " + ", ".join(repr(c) for c in choices))
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.text(key)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def energies_list(self, key: str) -> tuple[float, ...]:
        """A list of joules (optional), each as :meth:`energy` accepts."""
        value = self.data.get(key) or []
        if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= MOST_ENERGY_J for v in value
        ):
            raise self._fail(key, f"a list of energies from 0 to {MOST_ENERGY_J:g} J")
        return tuple(float(v) for v in value)

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of strings (optional)."""
        value = self.data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of strings")
        return tuple(value)

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.data.get(key) or {}
        if not isinstance(value, Mapping):
            raise self._fail(key, "an object")
        return value

    def energies(self, key: str) -> dict[str, float]:
        value = self.mapping(key)
        inner = Fields(self.path, value, f"{self.where}{key}.")
        return {str(name): inner.energy(name) for name in value}

    def items(self, key: str) -> Iterable[Fields]:
        value = self.data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self._fail(key, "a list of objects")
        return [Fields(self.path, v, f"{self.where}{key}[{i}].") for i, v in enumerate(value)]

    def estimate(self, key: str) -> Estimate | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._fail(key, "an object with median, low and high")
        inner = Fields(self.path, value, f"{self.where}{key}.")
        median = inner.energy("median")
        return Estimate(median, inner.energy("low", median), inner.energy("high", median))


def _from_run_json(path: Path, data: Mapping[str, Any], carbon: CarbonConfig) -> Report:
    """``greencode run --json``: one measurement of one command (R = one run)."""
    fields = Fields(path, data)
    if data.get("energy_j") is None and isinstance(data.get("meter_error"), str):
        raise StoreError(
            f"{path}: this run's energy was not measured ({data['meter_error']}); measure the command again"
        )
    test = build_test(
        fields.text("label"),
        Estimate.exact(fields.energy("energy_j")),
        carbon,
        per="run",
        estimated=fields.flag("estimated"),
        wall_s=fields.optional_number("wall_s", minimum=0),
        meter=fields.optional_text("meter"),
        domains=fields.energies("domains"),
        started_at=fields.timestamp("started_at"),
    )
    notes = fields.texts("warnings")
    return Report(
        source=str(path),
        kind="run",
        carbon=carbon,
        tests=(test,),
        created_at=test.started_at,
        meter=test.meter,
        notes=notes,
    )


def _from_report_json(path: Path, data: Mapping[str, Any], carbon: CarbonConfig) -> Report:
    """A report JSON read back; CO2e and SCI are recomputed with the carbon configuration in use."""
    fields = Fields(path, data)
    tests = []
    for entry in fields.items("tests"):
        energy = entry.estimate("energy_j")
        if energy is None:
            raise StoreError(f"{path}: {entry.where}energy_j is missing; write the report again")
        tests.append(
            build_test(
                entry.text("name"),
                energy,
                carbon,
                per=entry.choice("per", "test", REPORT_PER_VALUES),
                estimated=entry.flag("estimated"),
                wall_s=entry.optional_number("wall_s", minimum=0),
                meter=entry.optional_text("meter"),
                domains=entry.energies("domains"),
                samples_j=entry.energies_list("samples_j"),
                baseline=entry.estimate("baseline_j"),
                status=entry.optional_text("status"),
                change=entry.optional_number("change"),
                units=entry.positive("units", 1.0),
                started_at=entry.timestamp("started_at"),
            )
        )
    history: dict[str, tuple[TrendPoint, ...]] = {}
    for name, points in fields.mapping("history").items():
        if not isinstance(points, list):
            raise StoreError(f"{path}: history[{name!r}] must be a list; write the report again")
        history[str(name)] = tuple(
            _trend_point(p) for p in Fields(path, {"points": points}, f"history[{name!r}].").items("points")
        )
    return Report(
        source=fields.text("source", str(path)),
        kind=fields.text("kind", "report"),
        carbon=carbon,
        tests=tuple(tests),
        created_at=fields.timestamp("created_at"),
        commit=fields.optional_text("commit"),
        meter=fields.optional_text("meter"),
        machine=fields.optional_text("machine"),
        history=history,
        notes=tuple(str(n) for n in data.get("notes") or []),
        hotspots=_hotspots(path, data.get("hotspots") or []),
    )


def _hotspots(path: Path, data: Any) -> tuple[Hotspots, ...]:
    try:
        if not isinstance(data, list):
            raise ValueError("expected a list")
        return tuple(
            Hotspots(str(item["node_id"]), tuple(Growth.from_dict(row) for row in item["functions"]))
            for item in data
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"{path}: hotspots: {exc}; write the report again") from None


def _trend_point(point: Fields) -> TrendPoint:
    median = point.number("median_j", minimum=0)
    return TrendPoint(
        commit=point.text("commit", ""),
        when=point.timestamp("when") or 0.0,
        median_j=median,
        low_j=point.number("low_j", median, minimum=0),
        high_j=point.number("high_j", median, minimum=0),
        estimated=point.flag("estimated"),
        dirty=point.flag("dirty"),
    )


def _from_results_json(path: Path, data: Mapping[str, Any], carbon: CarbonConfig) -> Report:
    """The pytest plugin's results (:func:`~greencode.results_file.results_from_document`): one per test."""
    results = results_from_document(data, path)
    run = Fields(path, results.run, "run.")
    started = run.timestamp("started_epoch")
    report = Report(
        source=str(path),
        kind="pytest",
        carbon=carbon,
        tests=tuple(test_from_record(record, carbon, started) for record in results.records),
        created_at=started,
        commit=run.optional_text("commit"),
        meter=run.optional_text("meter"),
        machine=results.fingerprint.describe(),
        notes=(*Fields(path, results.raw).texts("warnings"), *_footprint_line(results.raw.get("footprint"))),
        hotspots=_hotspots(path, results.raw.get("hotspots") or []),
    )
    gate = Fields(path, results.gate or {}, "gate.")
    verdicts = [
        Verdict(
            c.text("node_id"), c.text("verdict"), c.optional_number("baseline_j"), c.optional_number("change")
        )
        for c in gate.items("comparisons")
    ]
    over = [b.text("node_id") for b in gate.items("budgets") if b.flag("over")]
    verdicts = with_budgets(verdicts, over)
    summary = gate.optional_text("summary")
    return with_verdicts(
        report, verdicts, tuple(f"{AS_RUN_NOTE}{line}" for line in _as_run(summary, results.gate))
    )


def _footprint_line(footprint: object) -> list[str]:
    """What measuring added to the run, as the run stated it (:mod:`greencode.footprint`)."""
    line = footprint.get("line") if isinstance(footprint, Mapping) else None
    return [line] if isinstance(line, str) else []


def _as_run(summary: str | None, gate: Mapping[str, Any] | None) -> list[str]:
    """The gate's decision as the run recorded it: its summary, the suite's total and the total budget."""
    parts = [(gate or {}).get(key) for key in ("suite", "total_budget")]
    lines = [
        part["line"] for part in parts if isinstance(part, Mapping) and isinstance(part.get("line"), str)
    ]
    return ([summary] if summary else []) + lines


def _from_history(path: Path | str, carbon: CarbonConfig) -> Report:
    """The newest stored run with the gate's verdicts as recorded, and every run for the trend plot."""
    from greencode.history import History

    with History(path) as history:
        latest = latest_run(history)
        runs = len(history.runs())
        tests = []
        trends: dict[str, tuple[TrendPoint, ...]] = {}
        for point in history.run_results(latest.run_id):
            tests.append(test_from_point(point, carbon))
            trends[point.node_id] = tuple(
                TrendPoint(
                    p.commit or p.run_id, p.started, p.median_j, p.q1_j, p.q3_j, p.estimated, bool(p.dirty)
                )
                for p in history.series(point.node_id)
            )
    return Report(
        source=history.name,
        kind="history",
        carbon=carbon,
        tests=tuple(tests),
        created_at=latest.started,
        commit=latest.commit,
        meter=latest.meter,
        machine=latest.machine,
        history=trends,
        notes=(f"latest of {runs} stored run(s): {latest.run_id}",)
        + (
            (f"run {latest.run_id} was measured with uncommitted changes on top of {latest.commit}",)
            if latest.dirty
            else ()
        ),
    )
