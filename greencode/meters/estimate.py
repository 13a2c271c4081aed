"""The estimator: energy from this process's CPU time and a per-thread power figure for the CPU model.

This is the meter that runs where no energy counter is readable: virtual machines, hosted CI runners,
containers without powercap access. A window's energy is

    (CPU time of this process, user + system, + CPU time of its reaped children) × watts per thread

where watts per thread is the CPU's TDP divided by its logical thread count, looked up by model name in
``greencode/data/cpu_power.csv`` (then in CodeCarbon's fuller table when the ``carbon`` extra is installed),
with documented defaults for unknown models and overrides under ``[tool.greencode.estimator]``.

There is deliberately no constant term (no idle baseline, no RAM watts): the result is proportional to the
CPU time this process used, so a window that used no CPU costs 0 J and two pieces of code compare by their
CPU time. ``docs/estimator.md`` explains the model, its sources and its expected error.
"""

from __future__ import annotations

import _thread
import csv
import itertools
import re
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from greencode.errors import ConfigError
from greencode.extras import codecarbon_data_file
from greencode.fingerprint import HostInfo, detect_host
from greencode.meters import forks
from greencode.meters.base import Domain, Reading, Scope

if TYPE_CHECKING:
    from greencode.config import Config, EstimatorConfig

__all__ = [
    "GENERAL_DEFAULT_W",
    "SERVER_DEFAULT_W",
    "EstimateMeter",
    "PowerModel",
    "build_power_model",
    "children_cpu_s",
    "codecarbon_table_path",
    "create",
    "normalise_cpu_name",
]

#: Per-thread power for a server CPU whose model is hidden (a VM's bare "AMD EPYC", an unnamed Xeon):
#: AMD EPYC 7763 — GitHub's hosted Linux runner — 280 W TDP / 128 threads (AMD product page, 2021).
#: Eco-CI's SPECpower-derived curve for that runner (8.18 W for 4 vCPUs at full load, 2.05 W/vCPU) agrees
#: within 7 %.
SERVER_DEFAULT_W = 280.0 / 128
#: Per-thread power for any other unknown CPU: Cloud Carbon Footprint's average vCPU at full load.
GENERAL_DEFAULT_W = 3.5

_CONFIG_SECTION = "[tool.greencode.estimator]"
_SET_HINT = f"set {_CONFIG_SECTION} cpu_model or watts_per_thread"
_TABLE = "cpu_power.csv"

Basis = Literal["table", "codecarbon", "default", "config"]


@dataclass(frozen=True)
class PowerModel:
    """The per-thread power the estimator multiplies CPU time by, and where the figure comes from.

    ``basis`` is ``"table"`` (greencode's own table), ``"codecarbon"`` (CodeCarbon's TDP table), ``"default"``
    (model unknown) or ``"config"`` (set in ``[tool.greencode.estimator]``). ``source`` says which figures
    and sources were used, in words, for reports.
    """

    cpu_model: str
    watts_per_thread: float
    tdp_w: float | None
    threads: int | None
    basis: Basis
    source: str

    @property
    def provenance(self) -> str:
        """The domain source shown next to every estimated figure."""
        return f"estimated: CPU time x {self.watts_per_thread:.3g} W/thread ({self.source})"


# ---------------------------------------------------------------------------------------------------------
# Model tables and matching

# What vendors and operating systems add around a model name; none of it tells two models apart.
_NOISE = re.compile(
    r"\((?:r|tm|c)\)|[®™]"  # trademarks
    r"|\([^)]*\)"  # "(Virtual)", QEMU's "(Icelake)", "(with IBPB)"
    r"|@\s*[\d.]+\s*[gm]hz"  # "@ 2.60GHz"
    r"|\b\d+(?:st|nd|rd|th) gen\b"  # "12th Gen"
    r"|\b\d+-core\b|\bprocessor\b|\bcpu\b"  # "64-Core Processor", "CPU"
    r"|\bw(?:ith|/) radeon\b.*$"  # "with Radeon Graphics", "w/ Radeon 780M Graphics"
)


def normalise_cpu_name(name: str) -> str:
    """A CPU model name reduced to what tells it apart, such as ``"amd epyc 7763"`` or ``"apple m1"``."""
    return " ".join(_NOISE.sub(" ", name.lower()).replace(",", " ").split())


@dataclass(frozen=True)
class _Row:
    model: str
    tdp_w: float
    threads: int | None
    source: str
    basis: Basis = "table"


@cache
def _own_table() -> dict[str, _Row]:
    # A path beside the package rather than importlib.resources, whose import alone costs ~7 ms.
    path = Path(__file__).resolve().parent.parent / "data" / _TABLE
    table: dict[str, _Row] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    for record in records:
        row = _Row(
            record["model"],
            float(record["tdp_w"]),
            int(record["threads"]),
            f"{record['source']}, {record['year']}",
        )
        table.setdefault(normalise_cpu_name(row.model), row)
    return table


@lru_cache(maxsize=4)
def _codecarbon_table(path: Path) -> dict[str, _Row]:
    """CodeCarbon's ``cpu_power.csv`` (columns ``Name,TDP``): TDP per model, no thread counts."""
    table: dict[str, _Row] = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for record in csv.DictReader(handle):
                try:
                    tdp = float(record["TDP"])
                except (KeyError, TypeError, ValueError):
                    continue  # a row we cannot use must not stop the lookup
                name = (record.get("Name") or "").strip()
                if name and tdp > 0:
                    table.setdefault(
                        normalise_cpu_name(name),
                        _Row(name, tdp, None, "CodeCarbon cpu_power.csv", "codecarbon"),
                    )
    except OSError:
        return {}
    return table


def codecarbon_table_path() -> Path | None:
    """CodeCarbon's packaged ``cpu_power.csv``, when the ``carbon`` extra is installed."""
    return codecarbon_data_file("data", "hardware", _TABLE)


def _match(name: str, table: Mapping[str, _Row]) -> _Row | None:
    """The row for a normalised name: exact, else the longest model name the detected one starts with."""
    if name in table:
        return table[name]
    words = name.split()
    for end in range(len(words) - 1, 0, -1):  # "apple m1 pro" falls back to "apple m1", never to "apple"
        row = table.get(" ".join(words[:end]))
        if row is not None and any(ch.isdigit() for ch in words[end - 1]):
            return row
    return None


def _lookup(name: str, host: HostInfo, codecarbon_csv: Path | None) -> _Row | None:
    key = normalise_cpu_name(name)
    row = _match(key, _own_table())
    if row is None and codecarbon_csv is not None:
        row = _match(key, _codecarbon_table(codecarbon_csv))
        if row is not None and host.threads_per_socket and not host.virtual:
            # CodeCarbon has no thread counts; on real hardware the OS shows the chip's own threads.
            threads_source = "threads: this machine's logical CPUs per socket"
            row = _Row(
                row.model, row.tdp_w, host.threads_per_socket, f"{row.source}; {threads_source}", row.basis
            )
    return row


def _describe(row: _Row, detected: str) -> str:
    text = f"{row.model}: {row.tdp_w:g} W TDP / {row.threads} threads, {row.source}"
    if normalise_cpu_name(detected) != normalise_cpu_name(row.model):
        text += f"; nearest listed model to {detected!r}"
    return text


def _default(name: str, note: str = "") -> PowerModel:
    key = normalise_cpu_name(name)
    if note:
        label = repr(name)
    else:
        label = f"unknown {name!r}" if key and key != "unknown" else "an undetected CPU model"
    if key.startswith("amd epyc") or "xeon" in key.split():
        watts, basis_text = SERVER_DEFAULT_W, "from AMD EPYC 7763: 280 W TDP / 128 threads"
    else:
        watts, basis_text = GENERAL_DEFAULT_W, "Cloud Carbon Footprint's average vCPU at full load"
    return PowerModel(
        name, watts, None, None, "default", f"default for {label}, {basis_text}{note}; {_SET_HINT}"
    )


@lru_cache(maxsize=32)
def build_power_model(
    estimator: EstimatorConfig, host: HostInfo, codecarbon_csv: Path | None = None
) -> PowerModel:
    """Resolve the per-thread power: config ``watts_per_thread``, else TDP / threads, else a default.

    ``estimator.cpu_model`` replaces the detected name; ``tdp_w`` and ``threads`` replace the table's
    figures (either one alone completes a model the tables know only half of). ``codecarbon_csv`` is
    CodeCarbon's table, consulted after greencode's own.
    """
    name = estimator.cpu_model or host.cpu_model
    if estimator.watts_per_thread is not None:
        return PowerModel(
            name,
            estimator.watts_per_thread,
            estimator.tdp_w,
            estimator.threads,
            "config",
            f"set in {_CONFIG_SECTION} watts_per_thread",
        )
    row = _lookup(name, host, codecarbon_csv)
    if estimator.tdp_w is not None or estimator.threads is not None:
        tdp = estimator.tdp_w if estimator.tdp_w is not None else row.tdp_w if row else None
        threads = estimator.threads if estimator.threads is not None else row.threads if row else None
        if tdp is None or threads is None:
            missing, given = ("tdp_w", "threads") if tdp is None else ("threads", "tdp_w")
            raise ConfigError(
                f"estimator.{given} is set, but the {missing} of CPU {name!r} is in none of greencode's CPU "
                f"tables; set estimator.{missing} as well (threads = logical CPUs of one CPU package), or "
                "set estimator.watts_per_thread"
            )
        parts = [
            f"tdp_w {tdp:g} W" + (f" from {_CONFIG_SECTION}" if estimator.tdp_w is not None else ""),
            f"threads {threads}" + (f" from {_CONFIG_SECTION}" if estimator.threads is not None else ""),
        ]
        if row is not None:
            parts.append(f"table: {row.source}")
        return PowerModel(name, tdp / threads, tdp, threads, "config", f"{name}: " + ", ".join(parts))
    if row is None:
        if estimator.cpu_model:
            # a name the user typed: a typo must not fall back to a default without a word
            raise ConfigError(_unknown_model(estimator.cpu_model, codecarbon_csv))
        return _default(name)
    if row.threads is None:
        # CodeCarbon knows the TDP, but a VM shows only its own vCPUs, not the host chip's threads.
        return _default(name, f" (CodeCarbon lists {row.tdp_w:g} W TDP but no thread count: set threads)")
    return PowerModel(
        row.model, row.tdp_w / row.threads, row.tdp_w, row.threads, row.basis, _describe(row, name)
    )


def _unknown_model(name: str, codecarbon_csv: Path | None) -> str:
    import difflib

    models = {normalise_cpu_name(row.model): row.model for row in _own_table().values()}
    if codecarbon_csv is not None:
        for row in _codecarbon_table(codecarbon_csv).values():
            models.setdefault(normalise_cpu_name(row.model), row.model)
    close = difflib.get_close_matches(normalise_cpu_name(name), list(models), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(models[key]) for key in close)}? " if close else ""
    return (
        f"estimator.cpu_model = {name!r} is in none of greencode's CPU tables; {hint}set a listed model "
        "(greencode/data/cpu_power.csv), or give estimator.tdp_w and estimator.threads, or "
        "estimator.watts_per_thread"
    )


# ---------------------------------------------------------------------------------------------------------
# The meter

if sys.platform == "win32":  # pragma: no cover - no resource module on Windows
    getrusage = None
    RUSAGE_CHILDREN = -1

    def children_cpu_s() -> float:
        """Windows has no ``getrusage``: children's CPU time is not counted there (see docs/estimator.md)."""
        return 0.0

else:
    from resource import RUSAGE_CHILDREN, getrusage

    def children_cpu_s() -> float:
        """User + system CPU seconds of this process's children that have been waited for."""
        usage = getrusage(RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime


Clock = Callable[[], float]

#: The estimator's one energy domain.
CPU_DOMAIN = "cpu"
_get_ident = threading.get_ident
_new_window = object.__new__
_ref = weakref.ref
#: Python threads started with ``threading`` or ``_thread`` and still running, the main thread not counted
#: (nor threads that a C library started itself); where CPython lacks it, every window reads its clock.
python_threads: Callable[[], int] = getattr(_thread, "_count", lambda: 1)
#: the main thread; after a fork in another thread it is no thread of the child's, so windows there read
main_thread = threading.main_thread().ident
#: the ``_thread0`` of a window that did not read its thread's CPU clock (a thread's clock is never negative):
#: one in the main thread while no other Python thread runs (see :meth:`EstimateMeter.open_window`)
NOT_READ = -1.0


#: What a window's reading says when windows in other threads overlapped it (see :class:`_Window`).
THREAD_TIME_NOTE = (
    "windows in other threads overlapped this one, so it counts only its own thread's CPU time "
    "(work it handed to other threads is not in it)"
)
SHARED_NOTE = (
    "windows in other threads overlapped this one and it changed threads, so its figure is the whole "
    "process's CPU time, shared with them: do not add these figures up"
)
ALONE_AT_START_NOTE = (
    "windows in other threads overlapped this one, which began while no other Python thread ran, so its "
    "figure is the whole process's CPU time, shared with them: do not add these figures up"
)


class WindowState:
    """What the estimator keeps of one open window: the CPU clocks at start, its place among the open
    windows, and whether a window in another thread overlapped it.

    Process CPU time is shared by every thread: eight windows running at once in a thread pool would each
    see the process's total. So a window that overlapped a window of another thread (other than one nested
    inside it) and stayed in one thread counts its thread's CPU time instead; one that changed threads keeps
    the process's figure and is flagged. A window that merely contains the others (a whole run around
    a pool) keeps the process's figure, as nesting always does.

    :meth:`EstimateMeter.start` gives a :class:`_Window`, which holds it; a
    :class:`~greencode.measurement.Recorder` of the estimator alone holds it itself
    (:meth:`EstimateMeter.open_window`), so that such a window is one object, not two.
    """

    # __weakref__: the meter tracks open windows weakly, so one never stopped does not count for ever
    __slots__ = (
        "__weakref__",
        "_children0",
        "_self0",
        "_sequence",
        "_table",
        "_thread",
        "_thread0",
        "overlapped",
    )
    # set by EstimateMeter.open_window
    _self0: float
    _children0: float
    _thread: int
    _thread0: float
    _sequence: int
    #: the open windows of the thread it opened in, which it is one of until it is closed (then None)
    _table: _Table | None
    overlapped: bool


class _Window(WindowState):
    """One open window of :meth:`EstimateMeter.start`."""

    __slots__ = ("_meter",)
    _meter: EstimateMeter

    def stop(self) -> Reading:
        return self.stop_at(self._meter._cpu_clock())

    def stop_at(self, cpu_now: float) -> Reading:
        """:meth:`stop`, with this process's CPU clock (``time.process_time``) already read as ``cpu_now``."""
        joules, warnings, concurrent = self._meter.close_window(self, cpu_now)
        return Reading({CPU_DOMAIN: joules}, warnings, concurrent=concurrent)

    def close_at(self, cpu_now: float) -> tuple[float, tuple[str, ...], bool]:
        """What :meth:`stop_at` reads, without the :class:`Reading` (:meth:`EstimateMeter.close_window`)."""
        return self._meter.close_window(self, cpu_now)


#: One thread's open windows: sequence number (the order they opened in) -> weak reference
_Table = dict[int, "weakref.ref[WindowState]"]


class EstimateMeter:
    """Energy attributed to this process's CPU time; see the module docstring and ``docs/estimator.md``."""

    name = "estimate"
    scope: Scope = "process"

    def __init__(
        self,
        model: PowerModel,
        *,
        cpu_clock: Clock = time.process_time,
        children_clock: Clock = children_cpu_s,
        thread_clock: Clock = time.thread_time,
    ) -> None:
        self.model = model
        # an instance attribute too: a recorder reads it for every window, and CPython 3.11 finds an
        # instance's own attributes faster than its class's
        self.name = type(self).name
        self._cpu_clock = cpu_clock
        self._children_clock = children_clock
        self._thread_clock = thread_clock
        #: ``getrusage`` when the children's clock is the real one, read in place (see open_window)
        self._children_usage = getrusage if children_clock is children_cpu_s else None
        #: whether this process's CPU time is read with ``time.process_time``, as a recorder reads it too: the
        #: recorder then passes its own reading (:meth:`start_at`), one clock read less at each end
        self.reads_process_time = cpu_clock is time.process_time
        #: whether every clock is the real one (no test's fake): ``measure()`` then opens and closes this
        #: meter's windows itself, in the same order of reads and the same bookkeeping as
        #: :meth:`open_window` and :meth:`close_window` (see greencode.measurement, "the fast path")
        self.real_clocks = (
            self.reads_process_time and self._children_usage is not None and thread_clock is time.thread_time
        )
        # The CPU clock's granularity, but never finer than getrusage's microseconds.
        self.resolution_s = max(time.get_clock_info("process_time").resolution, 1e-6)
        self._domains = (Domain(CPU_DOMAIN, model.provenance, estimated=True),)
        # Overlap between threads is told from each thread's table of open windows (weak references, so that
        # a window never stopped does not count for ever). A thread adds and removes its own windows without
        # a lock; only while another thread has a table too does it take the lock and compare (so windows of
        # one thread only, the usual case, cost no lock and no scan). Each side adds or removes its window
        # before it looks for the other's table, so of two windows opening at once in two threads, at least
        # one sees the other. Only a thread itself creates or drops its table (dropped when it empties while
        # another thread has one, so that the first becomes the only one again).
        self._lock = threading.Lock()
        self._tables: dict[int, _Table] = {}
        self._sequence = itertools.count()
        forks.register(self)

    def after_fork_in_child(self) -> None:
        """In a forked child only this thread runs: other threads' windows are not the child's to overlap,
        and a lock one of them held at the fork would stay held."""
        thread = _get_ident()
        for owner in [owner for owner in self._tables if owner != thread]:
            del self._tables[owner]
        self._lock = threading.Lock()

    def _others(self, thread: int) -> list[tuple[WindowState, int]]:
        """The open windows of other threads than ``thread``, with their sequence numbers; forgets windows
        collected unstopped (the caller holds the lock)."""
        live = []
        for owner, table in list(self._tables.items()):
            if owner == thread:
                continue
            for sequence, ref in list(table.items()):
                other = ref()
                if other is None:
                    table.pop(sequence, None)
                else:
                    live.append((other, sequence))
        return live

    def _opened_among_others(self, window: WindowState) -> None:
        with self._lock:
            for other, sequence in self._others(window._thread):
                if sequence < window._sequence:
                    window.overlapped = True  # open before this one: this one is not nested inside it
                else:
                    other.overlapped = True  # opened just after this one, in another thread: inside it

    def _closed_among_others(self, window: WindowState, table: _Table) -> None:
        thread = window._thread
        with self._lock:
            for other, sequence in self._others(thread):
                # opened after this one and still open: the two overlap without nesting
                if sequence > window._sequence:
                    other.overlapped = window.overlapped = True
            if not table and _get_ident() == thread and self._tables.get(thread) is table:
                del self._tables[thread]

    def domains(self) -> tuple[Domain, ...]:
        return self._domains

    def start(self) -> _Window:
        return self.start_at(self._cpu_clock())

    def start_at(self, self0: float) -> _Window:
        """:meth:`start`, with this process's CPU clock (``time.process_time``) already read as ``self0``;
        stop the window with ``stop_at`` or ``close_at``."""
        # Built here rather than by a ``_Window.__init__``: on CPython 3.11 calling a class whose
        # ``__init__`` is Python code costs several times a method call.
        window = _new_window(_Window)
        window._meter = self
        window._self0 = self0
        self.open_window(window)
        return window

    def open_window(self, window: WindowState) -> None:
        """Open a window held by ``window``, whose ``_self0`` is this process's CPU clock
        (``time.process_time``) read at the start; :meth:`close_window` closes it."""
        window.overlapped = False
        window._thread = thread = _get_ident()
        tables = self._tables
        table = tables.get(thread)
        if table is None:
            table = tables[thread] = {}
        window._table = table
        window._sequence = sequence = next(self._sequence)
        table[sequence] = _ref(window)  # before looking for other threads' tables (see __init__)
        if len(tables) > 1:
            self._opened_among_others(window)
        # The thread's clock is needed only if a window of another thread overlaps this one without nesting
        # in it (taken_off). Where no other Python thread runs, a thread started later can still do that;
        # this window then keeps the process's figure, flagged, rather than each window paying the read.
        # python_threads() counts neither the main thread nor a C library's threads: elsewhere, always read.
        window._thread0 = self._thread_clock() if thread != main_thread or python_threads() else NOT_READ
        usage = self._children_usage
        if usage is None:
            window._children0 = self._children_clock()
        else:  # the real clock, read in place: a function call is a good part of what it costs
            children = usage(RUSAGE_CHILDREN)
            window._children0 = children.ru_utime + children.ru_stime

    def close_window(self, window: WindowState, cpu_now: float) -> tuple[float, tuple[str, ...], bool]:
        """Close a window :meth:`open_window` opened, with this process's CPU clock read as ``cpu_now``: the
        joules of the ``cpu`` domain, the warnings and whether windows of other threads overlapped it (a
        recorder takes these as they are, without a :class:`Reading` in between)."""
        # Clocks first, so the bookkeeping below is not charged to the window.
        self_s = cpu_now - window._self0
        usage = self._children_usage
        if usage is None:
            children_s = self._children_clock() - window._children0
        else:
            children = usage(RUSAGE_CHILDREN)
            children_s = children.ru_utime + children.ru_stime - window._children0
        return self.closed_window(window, self_s, children_s)

    def closed_window(
        self, window: WindowState, self_s: float, children_s: float
    ) -> tuple[float, tuple[str, ...], bool]:
        """:meth:`close_window` once this process's and its children's CPU clocks have been read at the end
        (``self_s`` and ``children_s``: what each counted since the start): takes the window off the open
        windows and gives its figures."""
        table = window._table
        if table is None:
            raise RuntimeError("this measurement window was already stopped")
        window._table = None
        del table[window._sequence]  # before looking at other threads: see __init__
        return self.taken_off(window, table, self_s, children_s)

    def taken_off(
        self, window: WindowState, table: _Table, self_s: float, children_s: float
    ) -> tuple[float, tuple[str, ...], bool]:
        """:meth:`closed_window` once the window is off its thread's ``table`` of open windows."""
        if len(self._tables) > 1:  # another thread has a table: its windows may overlap this one
            self._closed_among_others(window, table)
        # ``overlapped`` is read only now: a window another thread marks is marked before this point
        if self_s < 0 or children_s < 0:
            # Only possible when a window opened in one process is closed in a forked child.
            return (
                0.0,
                (
                    f"CPU time went backwards by {-min(self_s, children_s):.6f} s "
                    "(window closed in another process?); counted as 0 J",
                ),
                False,
            )
        if not window.overlapped:  # final: once closed, no other window marks this one
            return (self_s + children_s) * self.model.watts_per_thread, (), False
        if _get_ident() != window._thread:
            return (self_s + children_s) * self.model.watts_per_thread, (SHARED_NOTE,), True
        if window._thread0 == NOT_READ:
            return (self_s + children_s) * self.model.watts_per_thread, (ALONE_AT_START_NOTE,), True
        # read only when needed; the bookkeeping just done is then charged to the window (~1 µs)
        thread_s = self._thread_clock() - window._thread0
        return (thread_s + children_s) * self.model.watts_per_thread, (THREAD_TIME_NOTE,), True

    def close(self) -> None:
        """Nothing to release: the estimator holds no files or threads."""

    def __repr__(self) -> str:
        return f"EstimateMeter({self.model.provenance!r})"


_AUTO: Literal["auto"] = "auto"


def create(
    config: Config,
    *,
    host: HostInfo | None = None,
    codecarbon_csv: Path | Literal["auto"] | None = _AUTO,
) -> EstimateMeter:
    """The ``estimate`` entry point. ``host`` and ``codecarbon_csv`` are injectable for tests; by default
    the CPU is detected and CodeCarbon's table is used when the ``carbon`` extra is installed."""
    table = codecarbon_table_path() if codecarbon_csv == _AUTO else codecarbon_csv
    try:
        model = build_power_model(config.estimator, host or detect_host(), table)
    except ConfigError as exc:
        raise ConfigError(f"{config.origin('estimator')}: {exc}") from None
    return EstimateMeter(model)
