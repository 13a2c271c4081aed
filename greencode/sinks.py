"""Where measurements go besides the registry: print, a JSON Lines file, or your own callback.

The output specification is a comma-separated list, from ``GREENCODE_OUTPUT``, the ``output`` key or
:func:`set_output`:

- ``print`` (the default) prints the first measurement of each label to standard error when it happens, and
  for a label measured more than once one summary line at exit (calls, total, per-call median and spread), so
  a decorated hot function does not flood the terminal; ``print:each`` prints one line per measurement;
  ``:stdout`` (``print:stdout``, ``print:each:stdout``) prints to stdout instead;
- ``jsonl:PATH`` appends one JSON object per measurement to ``PATH``;
- ``none`` (or an empty string after ``set_output("none")``) sends results only to the registry.

Callbacks are added in code with :func:`add_sink`.
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from greencode.errors import ConfigError, warn
from greencode.units import format_co2e, format_duration, format_energy, format_power

if TYPE_CHECKING:
    import random

    from greencode.config import Config
    from greencode.measurement import Measurement

Sink = Callable[["Measurement"], None]
DEFAULT_OUTPUT = "print"


class Figures(Protocol):
    """What a label's summary reads of each call: a :class:`~greencode.measurement.Measurement` has these,
    and so has the record of a window that has not built its Measurement (see :class:`Record`)."""

    @property
    def label(self) -> str: ...
    @property
    def wall_s(self) -> float: ...
    @property
    def energy_j(self) -> float: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    @property
    def meter_error(self) -> str | None: ...
    @property
    def estimated(self) -> bool: ...
    @property
    def meter(self) -> str: ...


class Record(Figures, Protocol):
    """What a measured window hands the sinks (a :class:`~greencode.measurement.MeasureBlock`): its figures,
    and its Measurement, built when a sink needs all of it."""

    def measurement(self) -> Measurement: ...


def describe(measurement: Measurement) -> str:
    """One line for people: energy, kind, time, power, CO2e and the meter."""
    error = f" (raised {measurement.error})" if measurement.error else ""
    if measurement.meter_error is not None:
        return (
            f"{measurement.label}: energy not measured ({measurement.meter_error}) in "
            f"{format_duration(measurement.wall_s)} (cpu {format_duration(measurement.cpu_s)}) "
            f"[{measurement.meter}]{error}"
        )
    power = "n/a" if measurement.wall_s <= 0 else format_power(measurement.power_w)
    return (
        f"{measurement.label}: {format_energy(measurement.energy_j)} {measurement.kind} in "
        f"{format_duration(measurement.wall_s)} (cpu {format_duration(measurement.cpu_s)}), {power}, "
        f"{format_co2e(measurement.co2e_g)} [{measurement.meter}]{error}"
    )


class PrintSink:
    """Prints measurements for people: every one (``each``), or each label's first and a summary at exit."""

    def __init__(self, stream: TextIO | None = None, *, each: bool = False) -> None:
        self._stream = stream
        self._each = each
        self._lock = threading.Lock()
        #: the summary of each label seen (replaced by an empty one at each flush): a label's later calls are
        #: appended to its summary's ``pending`` (see :meth:`count`, and ``measure.__exit__``)
        self.labels: dict[str, LabelSummary] = {}
        if not each:
            _summarising.add(self)

    def __repr__(self) -> str:
        return ":".join(
            ["print", *(["each"] if self._each else []), *(["stdout"] if self._stream is sys.stdout else [])]
        )

    def _print(self, line: str) -> None:
        print(line, file=self._stream or sys.stderr)

    def count(self, record: Record) -> None:
        """Take a window's record: a label seen before is counted from the record's figures, without the
        Measurement being built (what most calls of a hot function are); anything else as ``self(...)``."""
        if not self._each:
            summary = self.labels.get(record.label)
            if summary is not None:
                # LabelSummary.add written out (one call fewer for every call of a hot label)
                pending = summary.pending
                pending.append(record)
                if len(pending) >= summary.batch:
                    self.fold(summary)
                return
        self(record.measurement())

    def fold(self, summary: LabelSummary) -> None:
        """Count the calls waiting in a summary's ``pending`` list."""
        with self._lock:
            summary.fold()

    def __call__(self, measurement: Measurement) -> None:
        if not self._each:
            summary = self.labels.get(measurement.label)
            if summary is not None:  # a label seen before: counted now, printed at exit
                summary.add(measurement, self._lock)
                return
            with self._lock:
                summary = self.labels.get(measurement.label)
                if summary is not None:  # another thread got here first
                    summary.pending.append(measurement)
                    return
                self.labels[measurement.label] = LabelSummary(measurement)
        self._print(f"greencode: {describe(measurement)}")
        for warning in measurement.warnings:
            self._print(f"greencode: warning: {warning}")

    def flush(self) -> None:
        """Print one summary line per label measured more than once, and start counting afresh."""
        with self._lock:
            labels, self.labels = self.labels, {}
            for summary in labels.values():
                summary.fold()
        for summary in labels.values():
            if summary.calls > 1:
                self._print(f"greencode: {summary.describe()}")
            for warning in summary.new_warnings:
                self._print(f"greencode: warning: {summary.label}: {warning}")


#: At most this many per-call figures are kept per label for the median and spread of the summary; beyond it
#: a uniform sample of the calls (reservoir sampling) stands for them, so memory stays bounded.
SUMMARY_SAMPLE = 10_000


class LabelSummary:
    """The calls of one label: counts and totals exact, per-call figures sampled beyond
    :data:`SUMMARY_SAMPLE` calls. Calls wait in ``pending`` until :meth:`fold` counts them; a plain call
    (see :attr:`plain_meter`) may instead leave just its energy and time, in ``plain_energy`` and then
    ``plain_wall``."""

    #: calls that wait in ``pending`` before they are folded in
    BATCH = 256

    __slots__ = (
        "_first",
        "_next_sampled",
        "_rng",
        "_weight",
        "batch",
        "calls",
        "energy_j",
        "estimated",
        "label",
        "meters",
        "new_warnings",
        "pending",
        "plain_energy",
        "plain_meter",
        "plain_wall",
        "sample_j",
        "unmeasured",
        "wall_s",
    )

    def __init__(self, first: Figures) -> None:
        self.label = first.label
        #: BATCH, as the summary's own attribute: read on every call, which CPython 3.11 does faster so
        self.batch = self.BATCH
        self._first = first
        self.calls = 0
        #: calls whose energy is unknown because a meter failed: counted, but in no energy figure
        self.unmeasured = 0
        self.energy_j = 0.0
        self.wall_s = 0.0
        self.estimated = first.estimated
        self.meters = {first.meter: None}
        self.sample_j: list[float] = []
        self.pending: list[Figures] = []
        #: the meter whose plain calls (energy measured, no warnings) may be counted from their energy and
        #: time alone: the first call's, when that is an estimate (so a plain call changes nothing else here)
        self.plain_meter = first.meter if first.estimated else None
        #: a plain call appends its energy here, then its wall time to plain_wall (so that this list is never
        #: the shorter: a fold takes as many of each as plain_wall holds)
        self.plain_energy: list[float] = []
        self.plain_wall: list[float] = []
        #: warnings of later calls that the first call's line did not show, each once
        self.new_warnings: dict[str, None] = {}
        # reservoir sampling once the sample is full (see _sample): the next measured call to go in
        self._next_sampled = SUMMARY_SAMPLE
        self._rng: random.Random | None = None
        self._weight = 1.0
        self.pending.append(first)
        self.fold()

    def add(self, call: Figures, lock: threading.Lock) -> None:
        """Count one more call; ``lock`` is the sink's, taken only to fold a full batch."""
        # appending is atomic, so the hot path takes no lock
        pending = self.pending
        pending.append(call)
        if len(pending) >= self.batch:
            with lock:
                self.fold()

    def fold(self) -> None:
        """Count the pending calls (the caller holds the sink's lock)."""
        walls = self.plain_wall
        plain = len(walls)
        if plain:
            energies = self.plain_energy[:plain]
            del self.plain_energy[:plain]
            self.wall_s += sum(walls[:plain], 0.0)
            del walls[:plain]
            self.calls += plain
            self.energy_j += sum(energies, 0.0)
            self._keep_sample(energies)
        pending = self.pending
        batch = pending[: len(pending)]
        del pending[: len(batch)]  # calls appended meanwhile stay for the next fold
        first_warnings = self._first.warnings
        new_warnings = self.new_warnings
        meters = self.meters
        energies = []
        wall = 0.0
        estimated = self.estimated
        for measurement in batch:
            wall += measurement.wall_s
            meters[measurement.meter] = None
            if measurement.warnings:
                for warning in measurement.warnings:
                    if warning not in first_warnings:
                        new_warnings[warning] = None
            if measurement.meter_error is not None:
                self.unmeasured += 1
                continue
            energies.append(measurement.energy_j)
            if measurement.estimated:
                estimated = True
        self.calls += len(batch)
        self.wall_s += wall
        self.energy_j += sum(energies, 0.0)
        self.estimated = estimated
        self._keep_sample(energies)

    def _keep_sample(self, energies: list[float]) -> None:
        """Add the energies of measured calls just counted, in their order, to the sample: every one until
        it is full, then those that reservoir sampling picks (see :meth:`_sample`)."""
        size = SUMMARY_SAMPLE
        before = self.calls - self.unmeasured - len(energies)  # measured calls counted before these
        if before < size:
            self.sample_j.extend(energies[: size - before])
        while (position := self._next_sampled - before) < len(energies):
            self._sample(energies[position], before + position, size)

    def _sample(self, joules: float, index: int, size: int) -> None:
        """Put the ``index``-th measured call in the full sample and pick the next one that goes in, so that
        every call has the same chance to be in it (reservoir sampling, Li's "algorithm L": the calls in
        between are skipped by a count, not each given a random draw)."""
        rng = self._rng
        if rng is None:  # the sample has just filled up: the first skip
            import random

            rng = self._rng = random.Random()
            self._weight = _shrink(1.0, rng, size)
            self._next_sampled = index + _skip(self._weight, rng)
            if self._next_sampled != index:
                return
        self.sample_j[rng.randrange(size)] = joules
        self._weight = _shrink(self._weight, rng, size)
        self._next_sampled = index + 1 + _skip(self._weight, rng)

    def describe(self) -> str:
        """``parse: 10000 calls in 9.8 s, 1.2 J estimated in total; per call median 120 µJ, middle half
        110 µJ–131 µJ [estimate]``."""
        import statistics

        meters = ", ".join(self.meters)
        measured = self.calls - self.unmeasured
        head = f"{self.label}: {self.calls} calls in {format_duration(self.wall_s)}"
        if not measured:
            return f"{head}; energy not measured (a meter failed) [{meters}]"
        unmeasured = f", {self.unmeasured} of them not measured (a meter failed)" if self.unmeasured else ""
        ordered = sorted(self.sample_j)
        if len(ordered) >= 4:
            low, _, high = statistics.quantiles(ordered, n=4, method="inclusive")
            spread = f", middle half {format_energy(low)}–{format_energy(high)}"
        else:
            spread = f", range {format_energy(ordered[0])}–{format_energy(ordered[-1])}"
        sampled = f" (of {len(ordered)} sampled calls)" if len(ordered) < measured else ""
        kind = "estimated" if self.estimated else "measured"
        return (
            f"{head}{unmeasured}, {format_energy(self.energy_j)} {kind} in total; per call median "
            f"{format_energy(statistics.median(ordered))}{spread}{sampled} [{meters}]"
        )


def _shrink(weight: float, rng: random.Random, size: int) -> float:
    """The reservoir's weight after one more call went into it."""
    return weight * math.exp(math.log(1.0 - rng.random()) / size)


def _skip(weight: float, rng: random.Random) -> int:
    """How many calls to pass over before the next one goes into the sample."""
    return int(math.log(1.0 - rng.random()) / math.log1p(-weight))


#: Print sinks with summaries still to print; each prints them when it is replaced and at exit.
_summarising: weakref.WeakSet[PrintSink] = weakref.WeakSet()


def flush_summaries() -> None:
    """Print the pending summaries of every print sink now (they are printed at exit anyway)."""
    for sink in list(_summarising):
        sink.flush()


atexit.register(flush_summaries)


class JsonlSink:
    """Appends one line per measurement; each line is written with a single ``write`` in append mode, so
    concurrent writers (threads, processes) never interleave within a line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._parent_ready = False

    def __repr__(self) -> str:
        return f"jsonl:{self.path}"

    def __call__(self, measurement: Measurement) -> None:
        import json

        line = (json.dumps(measurement.to_dict(), sort_keys=True) + "\n").encode()
        if not self._parent_ready:  # once: like every output, a missing directory only inside the project
            from greencode.files import ensure_parent

            ensure_parent(self.path, None)
            self._parent_ready = True
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)


_ACCEPTED = (
    "use 'print', 'print:each', 'print:stdout', 'print:each:stdout', 'jsonl:PATH' or 'none' "
    "(comma-separated), in GREENCODE_OUTPUT or the 'output' key"
)


def parse_output(spec: str) -> list[Sink]:
    """Sinks for an output specification; raises :class:`ConfigError` naming the bad part."""
    sinks: list[Sink] = []
    for part in (p.strip() for p in (spec or DEFAULT_OUTPUT).split(",")):
        if part in ("", "none"):
            continue
        if part == "print" or part.startswith("print:"):
            options = set(part.split(":")[1:])
            if options <= {"each", "stdout"} and len(part.split(":")) == len(options) + 1:
                sinks.append(PrintSink(sys.stdout if "stdout" in options else None, each="each" in options))
                continue
            raise ConfigError(f"output {part!r} is not understood; {_ACCEPTED}")
        elif part.startswith("jsonl:") and part[len("jsonl:") :]:
            sinks.append(JsonlSink(Path(part[len("jsonl:") :])))
        else:
            raise ConfigError(f"output {part!r} is not understood; {_ACCEPTED}")
    return sinks


class _Sinks:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configured: list[Sink] | None = None
        self.callbacks: list[Sink] = []
        #: configured + callbacks in order, rebuilt on change so that emitting builds nothing: what to call,
        #: the sink, and whether the call takes a window's record (a print sink's ``count``, which builds a
        #: Measurement only when it prints one) rather than its Measurement
        self.active: tuple[tuple[Callable[[Any], None], Sink, bool], ...] = ()
        #: the one print sink's record taker, when it is the only sink (the default): emit calls just that
        self.only: tuple[Callable[[Any], None], Sink] | None = None
        #: that print sink, when it is the only sink and sums labels up (the default): a window appends a
        #: label's later calls to its summary itself (see ``measure.__exit__``)
        self.summarising: PrintSink | None = None

    def refresh(self) -> None:
        self.active = tuple(
            (sink.count, sink, True)
            if isinstance(sink, PrintSink)
            # a bound method for greencode's own sinks: calling an object's __call__ through it costs more
            else (sink.__call__ if isinstance(sink, JsonlSink) else sink, sink, False)
            for sink in (*(self.configured or ()), *self.callbacks)
        )
        self.only = self.active[0][:2] if len(self.active) == 1 and self.active[0][2] else None
        sole = self.only[1] if self.only is not None else None
        self.summarising = sole if isinstance(sole, PrintSink) and not sole._each else None


_sinks = _Sinks()


def set_output(spec: str) -> None:
    """Replace the configured sinks (callbacks added with :func:`add_sink` stay)."""
    configured = parse_output(spec)
    with _sinks.lock:
        replaced, _sinks.configured = _sinks.configured or [], configured
        _sinks.refresh()
    for sink in replaced:  # what a replaced print sink was summing up is printed, not lost
        if isinstance(sink, PrintSink):
            sink.flush()


def add_sink(callback: Sink) -> Callable[[], None]:
    """Call ``callback(measurement)`` for every measurement; returns a function that removes it."""
    with _sinks.lock:
        _sinks.callbacks.append(callback)
        _sinks.refresh()

    def remove() -> None:
        with _sinks.lock:
            if callback in _sinks.callbacks:
                _sinks.callbacks.remove(callback)
                _sinks.refresh()

    return remove


def use_config_output(config: Config) -> None:
    """Use the sinks named by ``config.output``. A name that is not understood (from a file or the
    environment) is one warning, never a failure of the measured code or of a test run."""
    try:
        set_output(config.output)
    except ConfigError as exc:
        with _sinks.lock:
            _sinks.configured = []  # so that the warning is given once
            _sinks.refresh()
        warn(
            f"greencode: {config.origin('output')}: {exc}; until it is fixed, measurements go only to "
            "greencode.results() and callbacks"
        )


def emit(record: Record, config: Callable[[], Config]) -> None:
    """Send a window's ``record`` to every sink; before the first, the sinks ``config()`` names are set up
    (the caller passes its configuration, so this module need not know where that lives)."""
    only = _sinks.only
    if only is not None:
        try:
            only[0](record)
        except Exception as exc:  # an output problem must never break the measured code
            _failed(only[1], exc)
        return
    if _sinks.configured is None:
        use_config_output(config())
    measurement = None
    for call, sink, takes_record in _sinks.active:
        try:
            if takes_record:
                call(record)
            else:
                if measurement is None:
                    measurement = record.measurement()
                call(measurement)
        except Exception as exc:
            _failed(sink, exc)


def _failed(sink: Sink, exc: Exception) -> None:
    warn(f"greencode: output {sink!r} failed: {type(exc).__name__}: {exc}")
