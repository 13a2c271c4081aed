"""Measuring code: ``measure`` (decorator and context manager), ``profile`` (calibrated rounds), results.

A measurement opens one window on every selected meter, runs the code, closes the windows and sums the
domains into a frozen :class:`Measurement`. Windows are independent objects, so nested and concurrent
measurements (threads, asyncio tasks) never share state. Results go to a bounded registry of recent results
and to the configured sinks (see :mod:`greencode.sinks`).
"""

from __future__ import annotations

import contextvars
import functools
import math
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from greencode import carbon, sinks
from greencode.config import CarbonConfig, Config, load_config
from greencode.errors import GreencodeError, warn
from greencode.meters import Reading, Selection, Window, select_meters
from greencode.meters.estimate import (
    CPU_DOMAIN,
    NOT_READ,
    RUSAGE_CHILDREN,
    EstimateMeter,
    WindowState,
    getrusage,
)

# when a window reads its thread's clock (EstimateMeter.open_window), bound here for the fast path
from greencode.meters.estimate import main_thread as _main_thread
from greencode.meters.estimate import python_threads as _python_threads

if TYPE_CHECKING:
    from greencode.calls import Runner
    from greencode.stats import Summary

F = TypeVar("F", bound=Callable[..., Any])

#: How many recent results :func:`results` keeps.
REGISTRY_SIZE = 1000


@dataclass(frozen=True, slots=True)  # slots: every window builds one (see _new_measurement)
class Measurement:
    """The energy of one measured window. Joules, seconds, watts and grams of CO2e throughout.

    ``domains`` maps each energy domain (``package-0``, ``dram-0``, ``gpu-0``, ``cpu``) to joules and
    ``provenance`` maps the same names to where the figure came from. ``estimated`` is true when any part is
    an estimate; reports must say so. ``error`` names the exception the measured code raised, if any.

    ``meter_error`` says why a meter failed during the window (a counter that became unreadable, say): the
    energy is then unknown, ``energy_j`` and ``co2e_g`` are ``nan`` (``null`` in JSON) and ``domains`` holds
    only what the meters that worked read. The measured code ran all the same.
    """

    label: str
    wall_s: float
    cpu_s: float
    energy_j: float
    domains: Mapping[str, float]
    provenance: Mapping[str, str]
    estimated: bool
    meter: str
    started_at: float
    #: the carbon settings that :attr:`co2e_g` and :attr:`intensity` are derived with
    carbon: CarbonConfig = field(repr=False, compare=False)
    warnings: tuple[str, ...] = ()
    error: str | None = None
    meter_error: str | None = None
    #: Windows of other threads overlapped this one on a process-scoped meter (the estimator): the figure
    #: is this thread's CPU time, or the process's shared with them; ``warnings`` says which.
    concurrent: bool = False
    #: raw counts of counting meters (``instructions``, ``d1_misses``, ``ll_misses``) and instructions per
    #: function (``file:function``) where the meter knows them; empty for energy meters
    counts: Mapping[str, int] = field(default_factory=dict)
    functions: Mapping[str, int] = field(default_factory=dict)

    # CO2e is derived on demand, not when the window closes: most windows are never asked for it, and
    # resolving the grid intensity would otherwise be a good part of what a window costs.
    @property
    def co2e_g(self) -> float:
        """Grams of CO2e for :attr:`energy_j` at the grid intensity of :attr:`started_at` (``nan`` when the
        energy is unknown)."""
        return carbon.co2e_g(
            self.energy_j, carbon.resolve_intensity(self.carbon, self.started_at), self.carbon.pue
        )

    @property
    def intensity(self) -> str:
        """The grid intensity :attr:`co2e_g` uses, with its source (the provenance of that figure)."""
        return carbon.resolve_intensity(self.carbon, self.started_at).label

    @property
    def measured(self) -> bool:
        """Whether every meter worked, so that ``energy_j`` is known."""
        return self.meter_error is None

    @property
    def power_w(self) -> float:
        """Average power over the window; ``nan`` for a window of zero length."""
        return self.energy_j / self.wall_s if self.wall_s > 0 else math.nan

    @property
    def kind(self) -> str:
        """``"estimated"`` or ``"measured"``, for display."""
        return "estimated" if self.estimated else "measured"

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "energy_j": _finite_or_none(self.energy_j),
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "power_w": _finite_or_none(self.power_w),
            "estimated": self.estimated,
            "meter": self.meter,
            "domains": dict(self.domains),
            "provenance": dict(self.provenance),
            "started_at": self.started_at,
            "co2e_g": _finite_or_none(self.co2e_g),
            "intensity": self.intensity,
            "warnings": list(self.warnings),
            "error": self.error,
            "meter_error": self.meter_error,
            "concurrent": self.concurrent,
            **self.counts,
        }


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------------------
# process-wide state: the configuration and meters in use, the registry and the sinks


class _State:
    """Lazily built defaults. ``configure`` replaces them; the lock guards rebuilding, not measuring."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.config: Config | None = None
        # A failure is kept too, so that a decorated function on a machine without the configured meter
        # does not probe the hardware (or re-read the configuration) on every call.
        self.config_error: GreencodeError | None = None
        self.selections: dict[str, Selection | GreencodeError] = {}
        #: the configured meters and the configuration, once built: what a window naming no meter uses;
        #: with the selection's sole estimator (``Selection.sole_cpu_time_meter``) read here once, as a
        #: look-up on the selection costs more (CPython 3.11 is slow on an object with a cached_property)
        self.default: tuple[Selection, Config, EstimateMeter | None] | None = None
        #: ``default`` when its sole meter is the estimator with the real clocks: ``measure()`` then opens
        #: and closes its windows inline (see measure.__enter__, "the fast path")
        self.fast: tuple[Selection, Config, EstimateMeter] | None = None
        #: the blocks of recent results (each builds its Measurement when read)
        self.registry: deque[MeasureBlock] = deque(maxlen=REGISTRY_SIZE)

    def get_config(self) -> Config:
        config = self.config
        if config is None:
            with self.lock:
                if self.config is None and self.config_error is None:
                    try:
                        self.config = load_config()
                    except GreencodeError as exc:
                        self.config_error = exc
                if self.config_error is not None:
                    raise self.config_error
                config = self.config
                assert config is not None
        return config

    def selection(self, meter: str | None) -> Selection:
        config = self.get_config()
        key = meter or config.meter
        selection = self.selections.get(key)
        if selection is None:
            with self.lock:
                selection = self.selections.get(key)
                if selection is None:
                    try:
                        selection = select_meters(replace(config, meter=key) if meter else config)
                    except GreencodeError as exc:
                        selection = exc
                    self.selections[key] = selection
                if meter is None and self.config is config and isinstance(selection, Selection):
                    sole = selection.sole_cpu_time_meter
                    self.default = (selection, config, sole)
                    self.fast = (selection, config, sole) if sole is not None and sole.real_clocks else None
        if isinstance(selection, GreencodeError):
            raise selection
        return selection

    def reset(self, config: Config | None) -> None:
        with self.lock:
            for selection in self.selections.values():
                if isinstance(selection, Selection):
                    selection.close()
            self.selections.clear()
            self.default = None
            self.fast = None
            self.config = config
            self.config_error = None


_state = _State()
_registry = _state.registry  # bound once: every block goes in (cleared, never replaced)
_sinks = sinks._sinks  # the sinks in use, bound once (one object, never replaced): read by every block


def configure(config: Config | None = None, **overrides: Any) -> Config:
    """Set the configuration used by :func:`measure` and :func:`profile`; returns it.

    With no arguments the configuration is read again (pyproject.toml, environment). Keyword arguments are
    configuration keys, validated as in the file: ``configure(meter="estimate", output="jsonl:out.jsonl")``.
    """
    base = config if config is not None else load_config()
    if overrides:
        from greencode.config import apply_table

        base = apply_table(base, overrides, "greencode.configure()")
        if "output" in overrides:
            sinks.parse_output(base.output)  # a mistake in this call raises, before anything has changed
    _state.reset(base)
    sinks.use_config_output(base)
    return base


def current_config() -> Config:
    """The configuration in use (read on first use)."""
    return _state.get_config()


def meters_in_use(meter: str | None = None) -> Selection:
    """The meters a measurement with ``meter`` (default: the configured one) uses, with the reasons."""
    return _state.selection(meter)


def results() -> list[Measurement]:
    """Recent results, oldest first (at most :data:`REGISTRY_SIZE`)."""
    return [block.measurement() for block in _state.registry]


def clear_results() -> None:
    _state.registry.clear()


# ---------------------------------------------------------------------------------------------------------
# one window over a selection of meters


class Recorder(WindowState):
    """One open window over a :class:`Selection`; ``stop()`` returns the :class:`Measurement`.

    This is the building block for the decorator, the context manager, :func:`profile`, the pytest plugin and
    ``greencode run``. Start it as late and stop it as early as possible around the code of interest.

    A stopped recorder keeps the figures its window read (``label``, ``wall_s``, ``energy_j`` and the others
    a summary needs, under the names :class:`Measurement` gives them) and builds its Measurement from them
    the first time it is asked (:meth:`measurement`): a window that nobody reads in full, such as a hot
    function's call counted by the print sink's summary, never builds one.

    With the estimator alone (the default where no counter is readable) the recorder holds the estimator's
    window itself (it is a :class:`~greencode.meters.estimate.WindowState`): one object per window.
    """

    __slots__ = (
        "_config",
        "_extra",
        "_failures",
        "_finished",
        "_result",
        "_selection",
        "_sole",
        "_started_at",
        "_wall0",
        "_windows",
        "concurrent",
        "cpu_s",
        "energy_j",
        "error",
        "estimated",
        "label",
        "meter",
        "meter_error",
        "wall_s",
        "warnings",
    )

    # the figures a stopped window keeps (see the class docstring); set by stop()
    label: str
    wall_s: float
    cpu_s: float
    energy_j: float
    warnings: tuple[str, ...]
    error: str | None
    meter_error: str | None
    concurrent: bool
    estimated: bool
    meter: str
    _result: Measurement | None
    #: domains, provenance, counts and functions where they are not the sole estimator's (else None)
    _extra: tuple[Mapping[str, float], Mapping[str, str], Mapping[str, int], Mapping[str, int]] | None

    def __init__(self, label: str, selection: Selection, config: Config) -> None:
        self.label = label
        self._finished = False
        self._open(selection, config, selection.sole_cpu_time_meter)

    def _open(self, selection: Selection, config: Config, sole: EstimateMeter | None) -> None:
        """Open the windows; ``sole`` is ``selection.sole_cpu_time_meter``, which the caller has at hand."""
        self._selection = selection
        self._config = config
        # A meter that fails here or at stop() costs the measurement, never the measured code: neither
        # method raises for a meter's sake (see Measurement.meter_error). Set where a window may fail
        # before the end: a recorder that holds the estimator's window has none by then.
        self._failures: tuple[str, ...]
        #: one per meter (None where it failed to start); empty when not open
        self._windows: tuple[Window | None, ...]
        #: the estimator when it is the only meter and this recorder holds its window, else None
        self._sole: EstimateMeter | None
        self._started_at = _wall_clock()
        # this process's CPU clock at the start (the slot the estimator's window reads it from, see below)
        self._self0 = cpu0 = _process_time()
        self._wall0 = _perf_counter()
        # The estimator reads this process's CPU clock, as the recorder does: it gets the recorder's reading
        # instead of reading the same clock again (a third of what an estimator window costs).
        if sole is not None:  # the default where no counter is readable: the recorder holds its window
            try:
                sole.open_window(self)
            except Exception as exc:
                self._failed_to_start(sole, exc)
            else:
                self._sole = sole
                self._windows = _HELD
            return
        self._sole = None
        self._failures = ()
        shared = selection.cpu_time_meter
        windows: list[Window | None] = []
        for meter in selection.meters:
            try:
                windows.append(shared.start_at(cpu0) if meter is shared else meter.start())
            except Exception as exc:
                windows.append(None)
                self._failures = (*self._failures, _meter_failure(meter.name, "could not start", exc))
        self._windows = tuple(windows)

    def _failed_to_start(self, sole: EstimateMeter, exc: Exception) -> None:
        """The estimator could not open the window this recorder holds: the window is one meter's failure."""
        self._sole = None
        self._windows = (None,)
        self._failures = (_meter_failure(sole.name, "could not start", exc),)

    def stop(self, error: BaseException | None = None) -> Measurement:
        self._finish(error)
        return self.measurement()

    def _finish(self, error: BaseException | None) -> None:
        """Close the windows and keep their figures (:meth:`measurement` builds the result from them)."""
        selection = self._selection
        windows = self._windows
        if not windows:
            raise RuntimeError("this measurement window was already stopped")
        self._windows = ()
        raised = None if error is None else type(error).__name__
        sole = self._sole
        if sole is not None:
            # The estimator alone: its window's figures are the result's as they are (its domain, provenance
            # and estimated flag are the selection's).
            shared: EstimateMeter | None = sole
            cpu_now = _process_time()
            try:
                joules, warnings, concurrent = sole.close_window(self, cpu_now)
            except Exception as exc:
                self._failures = (_meter_failure(selection.name, "could not be read", exc),)
            else:
                self.wall_s = _perf_counter() - self._wall0
                self.cpu_s = cpu_now - self._self0
                self.energy_j = joules
                self.warnings = warnings
                self.error = raised
                self.meter_error = None
                self.concurrent = concurrent
                # the selection's, read from the meter: its one domain is an estimate (EstimateMeter.domains)
                self.estimated = True
                self.meter = sole.name
                self._extra = None
                self._result = None
                self._finished = True
                return
            readings: list[Reading | None] = [None]
        else:
            shared = selection.cpu_time_meter
            cpu_now = _process_time() if shared is not None else 0.0
            readings = []
            for meter, window in zip(reversed(selection.meters), reversed(windows), strict=True):
                try:
                    if window is None:
                        readings.append(None)
                    elif meter is shared:
                        readings.append(window.stop_at(cpu_now))  # type: ignore[attr-defined]
                    else:
                        readings.append(window.stop())
                except Exception as exc:
                    readings.append(None)
                    self._failures = (*self._failures, _meter_failure(meter.name, "could not be read", exc))
            readings.reverse()
        wall = _perf_counter() - self._wall0
        cpu = (cpu_now if shared is not None else _process_time()) - self._self0
        domains, warnings, provenance, estimated, concurrent, counts, functions = _combine(
            selection, readings
        )
        meter_error = "; ".join(self._failures) if self._failures else None
        if meter_error is None:
            energy = math.fsum(domains.values())
        else:
            energy = math.nan
            warnings = (*warnings, f"energy not measured: {meter_error}")
        self.wall_s = wall
        self.cpu_s = cpu
        self.energy_j = energy
        self.warnings = warnings
        self.error = raised
        self.meter_error = meter_error
        self.concurrent = concurrent
        self.estimated = estimated
        self.meter = selection.name
        self._extra = (MappingProxyType(domains), provenance, counts, functions)
        self._result = None
        self._finished = True

    def measurement(self) -> Measurement:
        """The :class:`Measurement` of the stopped window, built from its figures the first time it is asked
        (two threads asking at once may each build one: equal, though not the same object)."""
        built = self._result
        if built is not None:
            return built
        if not self._finished:
            raise RuntimeError("this measurement window has not been stopped")
        domains: Mapping[str, float]
        extra = self._extra
        if extra is None:  # the sole estimator's: one domain, the selection's provenance, nothing counted
            domains, provenance = MappingProxyType({CPU_DOMAIN: self.energy_j}), self._selection.provenance
            counts = functions = _NONE_COUNTED
        else:
            domains, provenance, counts, functions = extra
        result = self._result = _new_measurement(
            self.label,
            self.wall_s,
            self.cpu_s,
            self.energy_j,
            domains,
            provenance,
            self.estimated,
            self.meter,
            self._started_at,
            self._config.carbon,
            self.warnings,
            self.error,
            self.meter_error,
            self.concurrent,
            counts,
            functions,
        )
        return result


#: what ``_windows`` holds while a recorder holds the estimator's window itself (see Recorder._open): only
#: that it is not empty (open) is read
_HELD: tuple[Window | None, ...] = (None,)
#: the same, for a block that measure()'s fast path opened (see Measure.__enter__), which its __exit__ then
#: closes inline; built at run time, as the compiler would make a second ``(None,)`` the same object as _HELD
_FAST: tuple[Window | None, ...] = tuple([None])

# the clocks a window reads, bound once (each read is on the path of every measurement)
_wall_clock = time.time
_process_time = time.process_time
_perf_counter = time.perf_counter
_thread_time = time.thread_time
_get_ident = threading.get_ident
_ref = weakref.ref


def _meter_failure(meter: str, what: str, exc: Exception) -> str:
    detail = str(exc) if isinstance(exc, GreencodeError) else f"{type(exc).__name__}: {exc}"
    return f"meter {meter!r} {what} ({detail})"


_new_object = object.__new__


class _Draft:
    """A :class:`Measurement` being filled in: the same slots, without the frozen dataclass's
    ``__setattr__``, so that each field is one plain store; :func:`_new_measurement` then makes it the
    Measurement it is."""

    __slots__ = Measurement.__slots__


def _new_measurement(
    label: str,
    wall_s: float,
    cpu_s: float,
    energy_j: float,
    domains: Mapping[str, float],
    provenance: Mapping[str, str],
    estimated: bool,
    meter: str,
    started_at: float,
    carbon: CarbonConfig,
    warnings: tuple[str, ...],
    error: str | None,
    meter_error: str | None,
    concurrent: bool,
    counts: Mapping[str, int],
    functions: Mapping[str, int],
) -> Measurement:
    """``Measurement(*fields)``, at a fraction of the cost: a frozen dataclass's ``__init__`` sets each field
    through ``object.__setattr__``, which costs more than all the rest of closing a window. This fills a
    :class:`_Draft` and gives it the Measurement class, whose slots are the same (a test checks it builds
    what ``Measurement(...)`` builds)."""
    draft: Any = _new_object(_Draft)  # its slots come from the dataclass, which mypy cannot see
    draft.label = label
    draft.wall_s = wall_s
    draft.cpu_s = cpu_s
    draft.energy_j = energy_j
    draft.domains = domains
    draft.provenance = provenance
    draft.estimated = estimated
    draft.meter = meter
    draft.started_at = started_at
    draft.carbon = carbon
    draft.warnings = warnings
    draft.error = error
    draft.meter_error = meter_error
    draft.concurrent = concurrent
    draft.counts = counts
    draft.functions = functions
    draft.__class__ = Measurement
    return draft


def _combine(
    selection: Selection, readings: list[Reading | None]
) -> tuple[
    dict[str, float], tuple[str, ...], Mapping[str, str], bool, bool, Mapping[str, int], Mapping[str, int]
]:
    """The readings of a selection's meters (in its order; ``None`` for a meter that failed) as domains,
    warnings, provenance, estimated, concurrent, counts and functions."""
    domains: dict[str, float] = {}
    warnings: list[str] = []
    concurrent = False
    counts: Mapping[str, int] = _NONE_COUNTED
    functions: Mapping[str, int] = _NONE_COUNTED
    for reading in readings:
        if reading is None:
            continue
        if reading.counts:  # a counting meter (instructions): its raw numbers travel with the result
            counts = MappingProxyType({**counts, **reading.counts})
            functions = MappingProxyType({**functions, **reading.functions})
        for name, joules in reading.energy_j.items():
            domains[name] = domains.get(name, 0.0) + joules
        warnings.extend(reading.warnings)
        concurrent = concurrent or reading.concurrent
    known = selection.domains
    if domains.keys() == known.keys():  # the usual case: every declared domain and nothing else
        return (
            domains,
            tuple(warnings),
            selection.provenance,
            selection.estimated,
            concurrent,
            counts,
            functions,
        )
    # an undeclared domain is labelled estimated: nothing vouches for it
    provenance = {
        name: known[name].source if name in known else meter.name
        for meter, reading in zip(selection.meters, readings, strict=True)
        if reading is not None
        for name in reading.energy_j
    }
    estimated = any(name not in known or known[name].estimated for name in domains)
    provenance_view = MappingProxyType(provenance)
    return domains, tuple(warnings), provenance_view, estimated, concurrent, counts, functions


#: what an energy meter's result holds as counts and functions (shared: a result's mappings are read-only)
_NONE_COUNTED: Mapping[str, int] = MappingProxyType({})


def start(label: str = "", meter: str | None = None) -> Recorder:
    """Open a window with the configured (or named) meters; call ``.stop()`` on the result."""
    selection, config, _ = _meters(meter)
    return Recorder(label, selection, config)


def _meters(meter: str | None) -> tuple[Selection, Config, EstimateMeter | None]:
    default = _state.default
    if meter is None and default is not None:  # the usual case, kept to one look-up
        return default
    selection = _state.selection(meter)
    return selection, _state.get_config(), selection.sole_cpu_time_meter


# ---------------------------------------------------------------------------------------------------------
# the public decorator / context manager


class MeasureBlock(Recorder):
    """What ``with measure(...) as m`` binds: ``m.result`` is the :class:`Measurement` after the block.

    A block is the recorder of its own window (opened when the block is entered), so a window costs one
    object, not two; the registry and the sinks get the block itself, and its Measurement is built when
    someone reads it (see :class:`Recorder`).
    """

    __slots__ = ("_meter",)
    #: the meter the block was asked for (``None``: the configured one)
    _meter: str | None

    # object's own: a block is built empty (``MeasureBlock()``, cheaper than object.__new__) and filled in
    __init__ = object.__init__

    @property
    def result(self) -> Measurement | None:
        """The block's Measurement once it has ended; ``None`` before, or where it could not be measured."""
        return self.measurement() if self._finished else None

    def __enter__(self) -> MeasureBlock:
        default = _state.default
        try:
            if self._meter is None and default is not None:  # the usual case, kept to one look-up
                self._open(default[0], default[1], default[2])
            else:
                self._open(*_meters(self._meter))
        except GreencodeError as exc:
            # No usable meter or configuration: the code runs unmeasured (result None), with one warning
            # per cause and call site, instead of every decorated function raising in production.
            warn(f"greencode: not measuring {self.label!r}: {exc}")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._windows:  # never opened: greencode could not measure (see __enter__)
            return
        try:
            # a generator closed before its end has not failed
            self._finish(None if exc is None or isinstance(exc, GeneratorExit) else exc)
        except Exception as failure:
            # The measured code has already run: losing its return value or replacing its exception
            # would be worse than losing one measurement, so say so and carry on.
            warn(f"greencode: measuring {self.label!r} failed: {failure}")
            return
        if self.meter_error is not None:
            warn(f"greencode: energy of {self.label!r} not measured: {self.meter_error}")
        _registry.append(self)
        sinks.emit(self, current_config)
        # returning None lets any exception from the block propagate unchanged

    async def __aenter__(self) -> MeasureBlock:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def _innermost(stack: tuple[tuple[Measure, MeasureBlock], ...], owner: Measure) -> int | None:
    """Where the innermost block of ``owner`` is on a context's stack of open blocks (``None``: not there)."""
    return next((i for i in range(len(stack) - 1, -1, -1) if stack[i][0] is owner), None)


def _new_block(label: str, meter: str | None) -> MeasureBlock:
    """A block not yet entered, for ``label`` and ``meter``."""
    block = MeasureBlock()
    block.label = label
    block._meter = meter
    block._windows = ()
    block._finished = False
    return block


_open_blocks: contextvars.ContextVar[tuple[tuple[Measure, MeasureBlock], ...]] = contextvars.ContextVar(
    "greencode_open_blocks", default=()
)


@overload
def measure(label: F, *, meter: str | None = None) -> F: ...


@overload
def measure(label: str | None = None, *, meter: str | None = None) -> Measure: ...


def measure(label: Any = None, *, meter: str | None = None) -> Any:
    """Measure a function or a block.

    ``@measure``, ``@measure("label", meter="rapl")``, on ``def`` and ``async def`` functions, generators
    (measured from the first item to the end), methods, class and static methods, or
    ``with measure("label") as m: ...`` (``m.result`` afterwards). Each call or block opens its own window,
    so nested and concurrent uses are independent. An exception inside still records the measurement (with
    ``error`` set) and propagates unchanged; a decorated function's return value is returned unchanged.
    """
    # A function that builds a :class:`Measure`, not the class itself: ``with measure("x"):`` builds one per
    # block, and calling a class whose ``__new__`` is Python code costs about 1,100 instructions more than
    # calling a function (slot_tp_new: a look-up of __new__, a tuple of arguments, a new C-level frame).
    if label.__class__ is not str and label is not None and not isinstance(label, str):
        if callable(label) or isinstance(label, (classmethod, staticmethod)):  # bare @measure
            return measure(None, meter=meter)(label)
        raise TypeError("measure() takes a label string, e.g. measure('parse'), or decorates a function")
    self = Measure()
    self.label = label
    self.meter = meter
    self._last = None
    self._open = []
    return self


class Measure:
    """What :func:`measure` returns: a decorator and a context manager (see :func:`measure`)."""

    __slots__ = ("_last", "_open", "label", "meter")

    label: str | None
    meter: str | None
    #: the last block this object measured (see ``result``)
    _last: MeasureBlock | None
    #: the one block open on this object, when there is one (see __enter__)
    _open: list[MeasureBlock]

    @property
    def result(self) -> Measurement | None:
        """The result of the last block this object measured (in any thread or task)."""
        last = self._last
        return None if last is None else last.result

    # Which block an exit closes: the usual case, one block open on this object, keeps it on the object
    # itself (``_open``: the first block appended to it is the open one; appending is atomic, so two
    # threads entering at once cannot both take it). Any other (this object entered again while open:
    # nested, or in another thread or task) goes to a stack of open blocks in a context variable, so that
    # each context closes its own; a context whose stack is not empty always uses its stack, so an exit
    # finds its block on its stack, or else it is the object's.
    def __enter__(self) -> MeasureBlock:
        # _new_block and MeasureBlock.__enter__ written out: two calls fewer on the path of every block
        block = MeasureBlock()
        block.label = self.label or "block"
        meter = self.meter
        block._finished = False
        stack = _open_blocks.get()
        if stack:
            _open_blocks.set((*stack, (self, block)))
        else:
            claims = self._open
            claims.append(block)
            if claims[0] is not block:  # a block of this object is open in another context
                claims.remove(block)
                _open_blocks.set(((self, block),))
        fast = _state.fast
        if meter is None and fast is not None:
            # The fast path: the configured meter is the estimator alone, with the real clocks (the default
            # where no counter is readable). Recorder._open written out, with the same reads in the same
            # order; the estimator does its bookkeeping and reads the clocks it reads at the start.
            block._selection, block._config, sole = fast
            block._started_at = _wall_clock()
            block._self0 = _process_time()
            block._wall0 = _perf_counter()
            try:
                block.overlapped = False
                block._thread = thread = _get_ident()
                tables = sole._tables
                table = tables.get(thread)
                if table is None:
                    table = tables[thread] = {}
                block._table = table
                block._sequence = sequence = next(sole._sequence)
                table[sequence] = _ref(block)  # before looking for other threads' tables (see __init__)
                if len(tables) > 1:
                    sole._opened_among_others(block)
                # EstimateMeter.open_window's rule for the thread's clock, written out
                if thread != _main_thread or _python_threads():
                    block._thread0 = _thread_time()
                else:
                    block._thread0 = NOT_READ
                children = getrusage(RUSAGE_CHILDREN)
                block._children0 = children[0] + children[1]  # ru_utime + ru_stime: a look-up less
            except Exception as exc:
                block._failed_to_start(sole, exc)
            else:
                block._sole = sole
                block._windows = _FAST
            return block
        block._meter = meter
        block._windows = ()
        default = _state.default
        if meter is None and default is not None:  # the configured meters, already chosen
            block._open(default[0], default[1], default[2])
            return block
        return block.__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack = _open_blocks.get()
        index = _innermost(stack, self) if stack else None
        if index is None:
            try:
                block = self._open.pop(0)
            except IndexError:
                raise RuntimeError("this measure() block was exited without being entered") from None
        else:
            block = stack[index][1]
            _open_blocks.set(stack[:index] + stack[index + 1 :])
        if block._windows is not _FAST:
            block.__exit__(exc_type, exc, tb)
            self._last = block
            return
        # The fast path (see __enter__): Recorder._finish and MeasureBlock.__exit__ written out for a block
        # that holds the estimator's window, with the same reads in the same order.
        sole: EstimateMeter = block._sole  # type: ignore[assignment]  # set with _FAST, never None then
        try:
            cpu_now = _process_time()
            children = getrusage(RUSAGE_CHILDREN)
        except Exception:  # the general path reads them again, and records why it could not
            block._windows = _HELD
            block.__exit__(exc_type, exc, tb)
            self._last = block
            return
        block.cpu_s = self_s = cpu_now - block._self0
        children_s = children[0] + children[1] - block._children0  # ru_utime + ru_stime
        block._windows = ()
        table = block._table
        assert table is not None  # an open window is on its thread's table
        block._table = None
        del table[block._sequence]
        # (0.0, not 0: CPython 3.11 compares two floats without the generic comparison)
        if len(sole._tables) > 1 or self_s < 0.0 or children_s < 0.0 or block.overlapped:
            # another thread's windows may overlap it, or CPU time went backwards (a forked child)
            energy, warnings, block.concurrent = sole.taken_off(block, table, self_s, children_s)
        else:
            energy = (self_s + children_s) * sole.model.watts_per_thread
            warnings = ()
            block.concurrent = False
        block.energy_j = energy
        block.warnings = warnings
        block.wall_s = wall = _perf_counter() - block._wall0
        # a generator closed before its end has not failed
        block.error = None if exc is None or isinstance(exc, GeneratorExit) else type(exc).__name__
        block.meter_error = None
        # the selection's, read from the meter: its one domain is an estimate (EstimateMeter.domains)
        block.estimated = True
        block.meter = sole.name
        block._extra = None
        block._result = None
        block._finished = True
        _registry.append(block)
        self._last = block
        printer = _sinks.summarising
        summary = None if printer is None else printer.labels.get(block.label)
        if summary is None:
            sinks.emit(block, current_config)
        elif not warnings and summary.plain_meter == sole.name:
            # a label seen before, the print sink alone, a plain call: its energy and time are all it counts
            summary.plain_energy.append(energy)
            walls = summary.plain_wall
            walls.append(wall)
            if len(walls) >= summary.batch:
                printer.fold(summary)  # type: ignore[union-attr]
        else:  # a label seen before, the print sink alone: counted at exit (PrintSink.count written out)
            pending = summary.pending
            pending.append(block)
            if len(pending) >= summary.batch:
                printer.fold(summary)  # type: ignore[union-attr]

    async def __aenter__(self) -> MeasureBlock:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        if isinstance(func, (classmethod, staticmethod)):  # @measure written above @classmethod
            return type(func)(self(func.__func__))
        if not callable(func):
            raise TypeError("measure(...) decorates a callable")
        label = self.label or str(getattr(func, "__qualname__", repr(func)))
        meter = self.meter
        new_block = _new_block

        import inspect  # here, not at import time: inspect is slow to import

        # A generator's work happens while it is iterated, not when it is created: its window lasts from the
        # first item to the end (the consumer's work between items included, as for any open window).
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
                with new_block(label, meter):
                    return (yield from func(*args, **kwargs))

            return generator_wrapper  # type: ignore[return-value]

        if inspect.isasyncgenfunction(func):

            @functools.wraps(func)
            async def async_generator_wrapper(*args: Any, **kwargs: Any) -> Any:
                with new_block(label, meter):
                    # what ``yield from`` does for a generator, which async generators lack
                    inner = func(*args, **kwargs)
                    try:
                        item = await inner.__anext__()
                        while True:
                            try:
                                sent = yield item
                            except GeneratorExit:
                                raise
                            except BaseException as thrown:  # thrown in by the consumer: pass it on
                                item = await inner.athrow(thrown)
                            else:
                                item = await inner.asend(sent)
                    except StopAsyncIteration:
                        return
                    finally:
                        await inner.aclose()

            return async_generator_wrapper  # type: ignore[return-value]

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with new_block(label, meter):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        # One measure object for every call, so that each call takes measure's fast path (its __enter__ and
        # __exit__ tell the calls apart: concurrent and recursive calls each close their own block).
        measured = measure(label, meter=meter)
        # What ``with measured:`` does, with its two methods bound once: a with statement looks both up and
        # binds them on every call (two method objects), and calls __enter__ from C, in a frame of its own.
        # __exit__ never suppresses an exception, so the except clause re-raises it as the with would.
        enter, exit_ = measured.__enter__, measured.__exit__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            enter()
            try:
                value = func(*args, **kwargs)
            except BaseException as exc:
                exit_(type(exc), exc, exc.__traceback__)
                raise
            exit_(None, None, None)
            return value

        return wrapper  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------------
# calibrated repetition

#: A round lasts at least this many update intervals of the slowest meter, so quantisation stays small.
RESOLUTION_FACTOR = 20
#: ...and at least this long, so the clock reads and the loop itself stay negligible.
MIN_ROUND_S = 0.005
MAX_ITERATIONS = 10_000_000
IDLE_WINDOW_S = 0.25


@dataclass(frozen=True)
class Profile:
    """Per-call energy of a callable over several calibrated rounds.

    ``samples_j`` holds one per-call figure per round (attributed energy when idle power was subtracted,
    else the total); ``total_samples_j`` always holds the totals. ``value`` is the last return value.
    ``meter_error`` says why a meter failed in some round; those rounds' samples are ``nan``.
    """

    label: str
    meter: str
    estimated: bool
    provenance: Mapping[str, str]
    rounds: int
    iterations: int
    samples_j: tuple[float, ...]
    total_samples_j: tuple[float, ...]
    wall_samples_s: tuple[float, ...]
    cpu_samples_s: tuple[float, ...]
    idle_power_w: float | None
    co2e_g_per_call: float
    intensity: str
    warnings: tuple[str, ...] = ()
    value: Any = field(default=None, repr=False, compare=False)
    meter_error: str | None = None

    @property
    def energy(self) -> Summary:
        """Summary of per-call energy (J) over the rounds."""
        from greencode.stats import summarize

        return summarize(self.samples_j)

    @property
    def wall(self) -> Summary:
        from greencode.stats import summarize

        return summarize(self.wall_samples_s)

    @property
    def median_j(self) -> float:
        return self.energy.median

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "meter": self.meter,
            "estimated": self.estimated,
            "provenance": dict(self.provenance),
            "rounds": self.rounds,
            "iterations": self.iterations,
            "samples_j": list(self.samples_j),
            "total_samples_j": list(self.total_samples_j),
            "wall_samples_s": list(self.wall_samples_s),
            "cpu_samples_s": list(self.cpu_samples_s),
            "idle_power_w": self.idle_power_w,
            "energy": self.energy.to_dict(),
            "co2e_g_per_call": self.co2e_g_per_call,
            "intensity": self.intensity,
            "warnings": list(self.warnings),
            "meter_error": self.meter_error,
        }


@dataclass(frozen=True)
class Profiler:
    """Settings for calibrated repetition; ``Profiler(rounds=9).run(fn, *args, **kwargs)``.

    ``None`` means "from the configuration". ``iterations`` fixes the calls per round instead of calibrating.
    ``setup`` is called before every round (not measured); as in pytest-benchmark it may return
    ``(args, kwargs)`` for that round's calls. ``teardown(*args, **kwargs)`` is called after every round (not
    measured). Coroutine functions run to completion in an event loop and generators are consumed
    (:mod:`greencode.calls`), so the rounds measure the work, not the creation of a coroutine.
    """

    rounds: int | None = None
    iterations: int | None = None
    warmup: int = 1
    min_round_s: float | None = None
    meter: str | None = None
    subtract_idle: bool | None = None
    label: str | None = None
    setup: Callable[[], Any] | None = None
    teardown: Callable[..., Any] | None = None

    def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Profile:
        config = _state.get_config()
        selection = _state.selection(self.meter)
        label = self.label or str(getattr(fn, "__qualname__", repr(fn)))

        from greencode.calls import Runner

        runner = Runner(fn, f"profiling {label!r}")
        try:
            return self._rounds(runner, label, selection, config, args, kwargs)
        finally:
            runner.close()

    def arguments(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """One round's arguments: ``setup()``'s ``(args, kwargs)`` when it returns them, else the given."""
        if self.setup is None:
            return args, kwargs
        prepared = self.setup()
        if not prepared:
            return args, kwargs
        if args or kwargs:
            raise TypeError("setup returned arguments, so args and kwargs cannot be given too")
        if not (isinstance(prepared, tuple) and len(prepared) == 2):
            raise TypeError(
                f"setup returned {type(prepared).__name__}; it returns None or (args, kwargs), as in "
                "pytest-benchmark: e.g. `return (data,), {}`"
            )
        new_args, new_kwargs = prepared
        return tuple(new_args), dict(new_kwargs or {})

    def _rounds(
        self,
        runner: Runner,
        label: str,
        selection: Selection,
        config: Config,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Profile:
        rounds = self.rounds or config.rounds
        target = (
            self.min_round_s
            or config.min_round_s
            or max(MIN_ROUND_S, RESOLUTION_FACTOR * max(meter.resolution_s for meter in selection.meters))
        )

        def call_round(iterations: int) -> tuple[Measurement, Any]:
            call_args, call_kwargs = self.arguments(args, kwargs)
            recorder = Recorder(label, selection, config)
            value = runner(call_args, call_kwargs, iterations)
            measured = recorder.stop()
            if self.teardown is not None:
                self.teardown(*call_args, **call_kwargs)
            return measured, value

        value = None
        warm: Measurement | None = None
        for _ in range(self.warmup):
            warm, value = call_round(1)
        # A warm call stands as calibration's first reading at one call, so a slow function is not called
        # again to learn what the warm-up showed.
        iterations = self.iterations or _calibrate(call_round, target, first=warm)
        subtract = config.subtract_idle if self.subtract_idle is None else self.subtract_idle
        idle_w = _idle_power(selection, config) if subtract and _sees_machine(selection) else None

        totals: list[float] = []
        attributed: list[float] = []
        walls: list[float] = []
        cpus: list[float] = []
        warnings: list[str] = []
        meter_errors: list[str] = []
        last: Measurement | None = None
        for _ in range(rounds):
            last, value = call_round(iterations)
            if last.meter_error is not None:
                meter_errors.append(last.meter_error)
            totals.append(last.energy_j / iterations)
            idle_share = (idle_w or 0.0) * last.wall_s
            attributed.append(max(last.energy_j - idle_share, 0.0) / iterations)
            walls.append(last.wall_s / iterations)
            cpus.append(last.cpu_s / iterations)
            warnings.extend(last.warnings)
        assert last is not None  # rounds >= 1 is validated by the configuration
        samples = attributed if idle_w is not None else totals
        import statistics  # only profiling needs it; keeps ``import greencode`` cheap

        intensity = carbon.resolve_intensity(config.carbon, last.started_at)
        return Profile(
            label=label,
            meter=selection.name,
            estimated=last.estimated,
            provenance=last.provenance,
            rounds=rounds,
            iterations=iterations,
            samples_j=tuple(samples),
            total_samples_j=tuple(totals),
            wall_samples_s=tuple(walls),
            cpu_samples_s=tuple(cpus),
            idle_power_w=idle_w,
            co2e_g_per_call=carbon.co2e_g(statistics.median(samples), intensity, config.carbon.pue),
            intensity=intensity.label,
            warnings=tuple(dict.fromkeys(warnings)),
            value=value,
            meter_error="; ".join(dict.fromkeys(meter_errors)) or None,
        )


def _calibrate(
    call_round: Callable[[int], tuple[Measurement, Any]], target_s: float, first: Measurement | None = None
) -> int:
    """The smallest power-of-two-ish iteration count whose round lasts at least ``target_s``.

    ``first`` is a reading already taken at one call (the warm-up), used instead of taking it again.
    """
    iterations = 1
    while iterations < MAX_ITERATIONS:
        if first is not None:
            measured, first = first, None
        else:
            measured, _ = call_round(iterations)
        if measured.wall_s >= target_s:
            # One reading that long may be a preemption on a shared machine (a 50 ns function calibrated
            # to one call); the shorter of two readings at this count decides.
            again, _ = call_round(iterations)
            if again.wall_s >= target_s:
                return iterations
            measured = again
        # jump straight near the target when a round is long enough to time, else double
        if measured.wall_s > target_s / 20:
            iterations = max(iterations + 1, math.ceil(iterations * target_s * 1.2 / measured.wall_s))
        else:
            iterations *= 2
    return MAX_ITERATIONS


def _sees_machine(selection: Selection) -> bool:
    return any(meter.scope in ("machine", "device") for meter in selection.meters)


def _idle_power(selection: Selection, config: Config) -> float:
    """Average power while this process sleeps: what whole-machine counters charge to doing nothing."""
    recorder = Recorder("idle", selection, config)
    time.sleep(IDLE_WINDOW_S)
    idle = recorder.stop()
    return idle.energy_j / idle.wall_s if idle.wall_s > 0 else 0.0


def profile(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Profile:
    """Per-call energy of ``fn(*args, **kwargs)`` with calibrated rounds and the configured meters.

    Use :class:`Profiler` for explicit rounds, iterations, warm-up, idle subtraction or setup.
    """
    return Profiler().run(fn, *args, **kwargs)
