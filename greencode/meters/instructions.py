"""The ``instructions`` meter: deterministic event counts turned into a labelled energy estimate.

Two backends, chosen automatically and named in every figure's provenance:

* **callgrind** — the process runs under Valgrind's callgrind with ``--collect-atstart=no``. Windows are
  delimited with client requests (:mod:`greencode.meters.valgrind`): collection is switched on per thread
  while a window is open there, and at every window boundary callgrind dumps what it counted since the
  previous boundary. Each dump is one *segment*; the meter adds segments into running totals, and a window's
  count is the difference of the totals at its two ends, so it is exact however windows nest or overlap.
  The meter switches collection off while it reads a dump, so its own bookkeeping is never counted.
* **perf** — Linux ``perf_event_open`` counters of user-space instructions (and cache misses where the PMU
  has them) for the creating thread and everything it starts (:mod:`greencode.meters.perf`).

Energy comes from :mod:`greencode.meters.instructions_model`; the raw counts travel with every reading.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from greencode.errors import CounterError, MeterUnavailable
from greencode.meters import forks
from greencode.meters.base import Domain, Reading, Scope
from greencode.meters.instructions_model import InstructionModel, build_instruction_model

if TYPE_CHECKING:
    from greencode.config import Config
    from greencode.meters.perf import PerfCounters, Syscalls
    from greencode.meters.valgrind import ClientRequests

__all__ = [
    "CALLGRIND_NOISE",
    "PERF_NOISE",
    "CallgrindBackend",
    "InstructionsMeter",
    "PerfBackend",
    "Segment",
    "availability",
    "create",
]

#: Relative run-to-run spread of a test's count under callgrind (p90 of per-test differences between two
#: whole runs of a suite, docs/instructions.md); the gate's noise model uses it.
CALLGRIND_NOISE = 0.003
#: Hardware counters see interrupts and page faults land in user space differently each run; rustc-perf
#: reports most results within ±0.2 % for ``instructions:u`` (docs/instructions.md); twice that as margin.
PERF_NOISE = 0.005


@dataclass(frozen=True)
class Segment:
    """What a backend counted between two window boundaries."""

    counts: Mapping[str, int]
    functions: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


class Backend(Protocol):
    name: str
    #: which counts it provides (``instructions``, ``d1_misses``, ``ll_misses``)
    counts: tuple[str, ...]
    run_to_run_noise: float
    #: whether :meth:`sample` leaves the counters at zero, so that a first window needs no :meth:`reset`
    sample_zeroes: bool

    def reset(self) -> None:
        """Forget everything counted so far (called when the first window opens, unless the last sample
        left nothing to forget)."""

    def sample(self) -> Segment:
        """What was counted since the previous :meth:`reset` or :meth:`sample`."""

    def collect(self, on: bool) -> None:
        """Switch counting on or off for the calling thread (a no-op where counting never stops)."""

    def close(self) -> None: ...


# ---------------------------------------------------------------------------------------------------------
# callgrind


class CallgrindBackend:
    """Counts through callgrind: ``ZERO_STATS``, ``TOGGLE_COLLECT`` and labelled ``DUMP_STATS_AT``."""

    name = "callgrind"
    run_to_run_noise = CALLGRIND_NOISE
    # a dump zeroes callgrind's counters, and between windows no thread collects: ZERO_STATS, as costly
    # as a dump (callgrind walks all its cost centres), is needed only after a stray thread collected
    sample_zeroes = True

    def __init__(
        self,
        requests: ClientRequests,
        out_pattern: Path,
        *,
        pid: int | None = None,
        functions: bool = True,
        root: Path | None = None,
    ) -> None:
        from greencode.meters import callgrind

        self._requests = requests
        self._callgrind = callgrind
        self._pattern = out_pattern
        self._pid = os.getpid() if pid is None else pid
        self._functions = functions
        self._last_dump = max((n for n, _ in callgrind.dump_files(out_pattern, self._pid)), default=0)
        self._dumps = 0
        self._perf_map: Path | None = None
        #: where this process's own lines of its perf map begin (see below)
        self._perf_map_from = 0
        self._own_trampoline = False
        self._parser: callgrind.NativeParser | None = None
        probe = self._dump("greencode-probe")
        if probe.counts.get("instructions"):
            raise MeterUnavailable(
                "callgrind is collecting from the start of the program, so windows cannot be told apart; "
                "run it with --collect-atstart=no (greencode valgrind -- COMMAND does)"
            )
        self.counts = tuple(probe.counts)
        if functions:
            self._parser = callgrind.NativeParser(root=root)
            trampoline: Any = sys  # Python 3.12+ only, which mypy's target version does not know
            if hasattr(sys, "activate_stack_trampoline"):
                # one generated function per Python function, so that callgrind's costs name them
                self._perf_map = Path(f"/tmp/perf-{self._pid}.map")
                if not trampoline.is_stack_trampoline_active():
                    # A map there already is a dead process's that had this pid (pids are reused; a killed
                    # run leaves its map): CPython appends to it, and with address randomisation off its
                    # addresses are this process's too, so its names would win. Read only what follows.
                    self._perf_map_from = _size(self._perf_map)
                    trampoline.activate_stack_trampoline("perf")
                    self._own_trampoline = True  # then the map is ours to delete (python -X perf: not)
        forks.register(self)

    def after_fork_in_child(self) -> None:
        """A child forked under callgrind (``--trace-children=yes``) dumps as its own pid, and must not talk
        to the parent's parser helper: their requests and answers would interleave on the same pipes."""
        self._pid = os.getpid()
        self._last_dump = max((n for n, _ in self._callgrind.dump_files(self._pattern, self._pid)), default=0)
        if self._parser is not None:
            self._parser = self._callgrind.NativeParser(root=self._parser.root)
        if self._perf_map is not None:  # CPython starts a map of the child's own
            self._perf_map = Path(f"/tmp/perf-{self._pid}.map")
            self._perf_map_from = 0

    @property
    def dumps(self) -> int:
        """How many dumps this backend has had callgrind write (each costs a file write and a parse)."""
        return self._dumps

    def reset(self) -> None:
        from greencode.meters.valgrind import ZERO_STATS

        self._requests(ZERO_STATS)

    def collect(self, on: bool) -> None:
        from greencode.meters.valgrind import TOGGLE_COLLECT

        self._requests(TOGGLE_COLLECT)

    def sample(self) -> Segment:
        return self._dump(f"greencode-{self._dumps + 1}")

    def _dump(self, label: str) -> Segment:
        from greencode.meters.valgrind import DUMP_STATS_AT

        callgrind = self._callgrind
        self._requests.labelled(DUMP_STATS_AT, label)
        self._dumps += 1
        new = [(n, path) for n, path in callgrind.dump_files(self._pattern, self._pid) if n > self._last_dump]
        if not new:
            raise CounterError(
                f"callgrind wrote no dump next to {self._pattern} for process {self._pid}; run the program "
                f"with greencode valgrind -- COMMAND, or set {_out_env()} to its --callgrind-out-file"
            )
        counts: dict[str, int] = {}
        functions: dict[str, int] = {}
        for number, path in new:  # more than one only when the program itself asked for a dump meanwhile
            self._last_dump = number
            try:
                events, totals = callgrind.read_summary(path)
                if self._parser is not None and any(totals):
                    named = self._parser.functions(path, self._perf_map, self._perf_map_from)
                    for key, value in named.items():
                        functions[key] = functions.get(key, 0) + value
            finally:
                path.unlink(missing_ok=True)
            for name, value in callgrind.counts_from_events(events, totals).items():
                counts[name] = counts.get(name, 0) + value
        return Segment(counts, functions)

    def close(self) -> None:
        if self._parser is not None:
            self._parser.close()
        if self._own_trampoline:
            trampoline: Any = sys
            trampoline.deactivate_stack_trampoline()
            if self._perf_map is not None:
                self._perf_map.unlink(missing_ok=True)
            self._own_trampoline = False
        self._perf_map = None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _out_env() -> str:
    from greencode.meters.valgrind import CALLGRIND_OUT_ENV

    return CALLGRIND_OUT_ENV


def callgrind_out_pattern(environ: Mapping[str, str] | None = None) -> Path:
    """Where this process's dumps go: the pattern greencode gave callgrind, else callgrind's default."""
    environ = os.environ if environ is None else environ
    given = environ.get(_out_env())
    return Path(given) if given else Path.cwd() / "callgrind.out.%p"


# ---------------------------------------------------------------------------------------------------------
# perf


class PerfBackend:
    """Counts from always-running ``perf_event_open`` counters: a segment is the difference of two reads."""

    name = "perf"
    run_to_run_noise = PERF_NOISE
    sample_zeroes = False  # counters run on: a window starts from a fresh read

    def __init__(self, counters: PerfCounters) -> None:
        self._counters = counters
        self.counts = counters.names
        self._last = counters.read().counts

    def reset(self) -> None:
        self._last = self._counters.read().counts

    def collect(self, on: bool) -> None:
        """perf counters never stop: windows are differences of reads."""

    def sample(self) -> Segment:
        reading = self._counters.read()
        counts = {name: value - self._last.get(name, 0) for name, value in reading.counts.items()}
        self._last = reading.counts
        warnings: tuple[str, ...] = ()
        if reading.multiplexed:
            warnings = (
                f"perf counters {', '.join(reading.multiplexed)} were time-shared with other users of the "
                "PMU, so their counts are scaled estimates, not exact",
            )
        return Segment(counts, {}, warnings)

    def close(self) -> None:
        self._counters.close()


# ---------------------------------------------------------------------------------------------------------
# the meter


class _Window:
    __slots__ = ("_counts", "_first_warning", "_functions", "_meter", "_stopped", "_thread")

    def __init__(self, meter: InstructionsMeter) -> None:
        self._meter = meter
        self._stopped = False
        self._thread, self._counts, self._functions, self._first_warning = meter._open_window()

    def stop(self) -> Reading:
        if self._stopped:
            raise RuntimeError("this measurement window was already stopped")
        self._stopped = True
        return self._meter._close_window(self._thread, self._counts, self._functions, self._first_warning)


class InstructionsMeter:
    """Energy from instruction (and cache-miss) counts; see the module docstring."""

    name = "instructions"
    scope: Scope = "process"
    covers_cpu = True
    resolution_s = 1e-6  # counts are exact; this only keeps calibrated rounds short

    def __init__(self, backend: Backend, model: InstructionModel) -> None:
        self.backend = backend
        self.model = model
        self.run_to_run_noise: float | None = backend.run_to_run_noise
        import platform

        # instruction counts change with the counter, the interpreter and its version, its memory allocator
        # (greencode runs callgrind with PYTHONMALLOC=malloc) and the CPU model, which every baseline
        # records anyway
        allocator = os.environ.get("PYTHONMALLOC")
        self.counter_identity = (
            f"{backend.name}, {platform.python_implementation()} {platform.python_version()}"
            + (f", PYTHONMALLOC={allocator}" if allocator else "")
        )
        source = model.provenance(backend.name, backend.counts)
        self._domains = (Domain("cpu", source, estimated=True),)
        self._lock = threading.Lock()
        self._open = 0
        self._threads: dict[int, int] = {}  # thread -> windows open in it (callgrind collects per thread)
        self._totals: dict[str, int] = {}
        self._function_totals: dict[str, int] = {}
        self._warnings: list[str] = []
        # a thread may still be collecting (its window was closed in another thread): zero before the next
        self._stray = False
        forks.register(self)

    def after_fork_in_child(self) -> None:
        """In a forked child only this thread runs: the windows other threads had open are not the child's
        (they never close there), and a lock one of them held at the fork would stay held."""
        here = threading.get_ident()
        mine = self._threads.get(here, 0)
        # what they collected since the last sample is in the counters the child inherited: zero it away
        # before the child's next first window
        self._stray = self._stray or any(thread != here for thread in self._threads)
        self._threads = {here: mine} if mine else {}
        self._open = mine
        self._lock = threading.Lock()

    @property
    def notes(self) -> tuple[str, ...]:
        return (f"backend: {self.backend.name} (counts: {', '.join(self.backend.counts)})",)

    def domains(self) -> tuple[Domain, ...]:
        return self._domains

    def start(self) -> _Window:
        return _Window(self)

    def _add(self, segment: Segment) -> None:
        for name, value in segment.counts.items():
            self._totals[name] = self._totals.get(name, 0) + value
        functions = self._function_totals
        for key, value in segment.functions.items():
            functions[key] = functions.get(key, 0) + value
        self._warnings.extend(segment.warnings)

    def _sample(self, collecting_here: bool) -> None:
        # the meter's own reading (a dump and its parse) must not count: stop this thread's collection
        if collecting_here:
            self.backend.collect(False)
        try:
            self._add(self.backend.sample())
        finally:
            if collecting_here:
                self.backend.collect(True)

    def _open_window(self) -> tuple[int, dict[str, int], dict[str, int], int]:
        thread = threading.get_ident()
        with self._lock:
            if self._open:
                self._sample(self._threads.get(thread, 0) > 0)
            else:
                self._totals, self._function_totals, self._warnings = {}, {}, []
                if self._stray or not self.backend.sample_zeroes:
                    self.backend.reset()
                    self._stray = False
            self._open += 1
            opened_here = self._threads.get(thread, 0)
            self._threads[thread] = opened_here + 1
            counts, functions = dict(self._totals), dict(self._function_totals)
            first_warning = len(self._warnings)
            if not opened_here:
                self.backend.collect(True)  # last, so the bookkeeping above is not counted
        return thread, counts, functions, first_warning

    def _close_window(
        self, thread: int, counts0: dict[str, int], functions0: dict[str, int], first_warning: int
    ) -> Reading:
        here = threading.get_ident()
        with self._lock:
            left = self._threads.get(thread, 1) - 1
            try:
                if left == 0 and thread == here:
                    self.backend.collect(False)  # first, so the bookkeeping below is not counted
                    self._sample(False)
                else:
                    self._sample(self._threads.get(here, 0) > 0)
            finally:
                self._open -= 1
                if left:
                    self._threads[thread] = left
                else:
                    self._threads.pop(thread, None)
                    self._stray = self._stray or thread != here
            counts = {name: total - counts0.get(name, 0) for name, total in self._totals.items()}
            functions = {
                key: grown
                for key, total in self._function_totals.items()
                if (grown := total - functions0.get(key, 0))
            }
            warnings = list(dict.fromkeys(self._warnings[first_warning:]))
        if left == 0 and thread != here and self.backend.name == "callgrind":
            warnings.append(
                "instructions: a window was closed in another thread than it opened in, so callgrind kept "
                "counting that thread until its next window"
            )
        energy = {"cpu": self.model.energy_j(counts)}
        return Reading(energy, tuple(warnings), counts=counts, functions=functions)

    def close(self) -> None:
        self.backend.close()

    def __repr__(self) -> str:
        return f"InstructionsMeter({self.backend.name!r})"


# ---------------------------------------------------------------------------------------------------------
# choosing a backend


def _callgrind(functions: bool, root: Path) -> CallgrindBackend:
    from greencode.meters.valgrind import client_requests, valgrind_tool

    requests = client_requests()
    if requests.running_on_valgrind() <= 0:
        raise MeterUnavailable("not running under Valgrind")
    tool = valgrind_tool()
    if tool is not None:
        raise MeterUnavailable(f"running under Valgrind's {tool}, not callgrind (use --tool=callgrind)")
    return CallgrindBackend(requests, callgrind_out_pattern(), functions=functions, root=root)


def _perf(syscalls: Syscalls | None) -> PerfBackend:
    from greencode.meters.perf import open_counters

    return PerfBackend(open_counters(syscalls))


def _valgrind_advice(reason: MeterUnavailable) -> str:
    from greencode.meters.valgrind import INSTALL_HINT, find_valgrind

    try:
        where = find_valgrind()
    except MeterUnavailable:
        return f"{reason}: {INSTALL_HINT}"
    return (
        f"Valgrind: {reason} (installed at {where}: run greencode valgrind -- COMMAND; "
        "pytest --greencode-meter instructions starts it itself)"
    )


def availability(syscalls: Syscalls | None = None) -> tuple[str, str]:
    """One line each on Valgrind and the PMU, for ``greencode meters`` and error messages."""
    from greencode.meters.valgrind import INSTALL_HINT, find_valgrind, running_on_valgrind

    try:
        valgrind = f"Valgrind: {find_valgrind()}"
        valgrind += " (this process runs under it)" if running_on_valgrind() else ""
    except MeterUnavailable:
        valgrind = INSTALL_HINT
    try:
        _perf(syscalls).close()
        pmu = "PMU: hardware instruction counters available"
    except MeterUnavailable as exc:
        pmu = f"PMU: {exc}"
    return valgrind, pmu


def create(config: Config, *, syscalls: Syscalls | None = None, functions: bool = True) -> InstructionsMeter:
    """The ``instructions`` entry point: callgrind when running under it, else perf counters."""
    settings = config.instructions
    backend: Backend
    if settings.backend == "callgrind":
        backend = _callgrind(functions, config.root)
    elif settings.backend == "perf":
        backend = _perf(syscalls)
    else:
        try:
            backend = _callgrind(functions, config.root)
        except MeterUnavailable as callgrind_reason:
            try:
                backend = _perf(syscalls)
            except MeterUnavailable as perf_reason:
                raise MeterUnavailable(f"{_valgrind_advice(callgrind_reason)}; PMU: {perf_reason}") from None
    return InstructionsMeter(backend, model_for(config))


def model_for(config: Config) -> InstructionModel:
    """The energy model of ``[tool.greencode.instructions]``, its default derived from the estimator's."""
    from greencode.fingerprint import detect_host
    from greencode.meters.estimate import build_power_model

    settings = config.instructions
    power = build_power_model(config.estimator, detect_host())
    return build_instruction_model(
        settings.joules_per_instruction,
        settings.joules_per_d1_miss,
        settings.joules_per_ll_miss,
        power.watts_per_thread,
        power.source,
    )
