"""Windows over shared running totals, for meters that read cumulative counters or sample power.

A hardware meter reads each of its domains into one running total (RAPL's wrapping ``energy_uj``, NVML's
energy counter, or power samples integrated over time). A window remembers the totals when it opens and
subtracts them when it closes, so any number of windows can overlap or nest across threads without keeping
per-window state in the meter. Opening and closing a window each read the counters, so a window's edges are
exact; while at least one window is open, an optional :class:`Poller` reads them in between (RAPL needs that
to see every wrap of a long window, sampled NVML power needs it to integrate).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from greencode.meters.base import Domain, Reading, Scope

_Meter = TypeVar("_Meter", bound="CounterMeter")


class PollerThread(threading.Thread):
    """A :class:`Poller`'s thread. Parked on an event whenever no window is open, it then holds no lock,
    so a process may be forked beside it (``greencode ab``'s process generations check this type)."""


class Poller:
    """Calls ``poll`` every ``interval_s`` seconds while active.

    The thread is created by the first :meth:`activate` and is then *parked* (blocked on an event: no
    wake-ups, no CPU) whenever it is inactive, because creating a thread per window would cost far more than
    the window itself.
    """

    def __init__(self, poll: Callable[[], None], interval_s: float, name: str) -> None:
        self.interval_s = interval_s
        self._poll = poll
        self._name = name
        self._active = threading.Event()
        self._closing = threading.Event()
        self._thread: PollerThread | None = None

    @property
    def active(self) -> bool:
        return self._active.is_set()

    def activate(self) -> None:
        # is_alive() is false in a forked child, which inherits the object but not the thread
        if self._thread is None or not self._thread.is_alive():
            self._thread = PollerThread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        self._active.set()

    def deactivate(self) -> None:
        self._active.clear()

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._closing.set()
        self._active.set()  # unpark it so that it sees the closing flag
        thread.join()
        self._closing.clear()
        self._active.clear()

    def _run(self) -> None:
        while True:
            self._active.wait()
            if self._closing.wait(self.interval_s):
                return
            self._poll()


class CounterWindow:
    """A window over a :class:`CounterMeter`; ``stop()`` may be called once."""

    __slots__ = ("_first_warning", "_meter", "_start", "_stopped")

    def __init__(self, meter: CounterMeter, start: tuple[float, ...], first_warning: int) -> None:
        self._meter = meter
        self._start = start
        self._first_warning = first_warning
        self._stopped = False

    def stop(self) -> Reading:
        if self._stopped:
            raise RuntimeError("this measurement window was already stopped")
        self._stopped = True
        return self._meter._close_window(self._start, self._first_warning)


class CounterMeter(ABC):
    """Base of meters that keep one running total per domain, in units of ``unit_j`` joules.

    Subclasses implement :meth:`_advance`; everything else (windows, warnings, the poller) lives here.
    """

    name: str
    scope: Scope
    resolution_s: float

    def __init__(self, domains: tuple[Domain, ...], unit_j: float, poll_interval_s: float | None) -> None:
        self._domains = domains
        self._names = tuple(domain.name for domain in domains)
        self._unit_j = unit_j
        self._totals: list[float] = [0] * len(domains)
        self._lock = threading.Lock()
        self._open = 0
        # Warnings raised while windows are open; each window reports those from its own lifetime. The list is
        # emptied when no window is open, and _dropped keeps window indices valid across that.
        self._warnings: list[str] = []
        self._dropped = 0
        self._poller = (
            Poller(self.poll, poll_interval_s, f"greencode-{self.name}-poller") if poll_interval_s else None
        )

    @abstractmethod
    def _advance(self, accumulate: bool) -> None:
        """Read every counter now, under the lock.

        With ``accumulate``, add what each domain used since the previous read to ``self._totals`` and
        :meth:`_warn` about anything that cannot be explained; without it (no window was open, so the previous
        read may be arbitrarily old) only take a new starting point. Read everything before changing any
        state, so that a failed read leaves the meter consistent; raise a ``CounterError`` on failure.
        """

    def _warn(self, message: str) -> None:
        self._warnings.append(message)

    def domains(self) -> tuple[Domain, ...]:
        return self._domains

    @property
    def polling(self) -> bool:
        """Whether the background poller is active (it is exactly while a window is open)."""
        return self._poller is not None and self._poller.active

    def start(self) -> CounterWindow:
        with self._lock:
            self._advance(self._open > 0)
            self._open += 1
            if self._open == 1 and self._poller is not None:
                self._poller.activate()
            return CounterWindow(self, tuple(self._totals), self._dropped + len(self._warnings))

    def _close_window(self, start: tuple[float, ...], first_warning: int) -> Reading:
        with self._lock:
            try:
                self._advance(True)
                unit = self._unit_j
                energy = {
                    name: (total - begin) * unit
                    for name, total, begin in zip(self._names, self._totals, start, strict=True)
                }
                warnings = tuple(dict.fromkeys(self._warnings[first_warning - self._dropped :]))
            finally:
                self._open -= 1
                if self._open == 0:
                    if self._poller is not None:
                        self._poller.deactivate()
                    self._dropped += len(self._warnings)
                    self._warnings.clear()
        return Reading(energy, warnings)

    def poll(self) -> None:
        """Read the counters now if a window is open (the background poller calls this; so may tests)."""
        with self._lock:
            if not self._open:
                return
            try:
                self._advance(True)
            except Exception as exc:  # the poller thread must survive: long windows depend on it
                self._warn(f"{self.name}: a background read failed, so energy may be missing: {exc}")

    def close(self) -> None:
        """Stop the poller thread; subclasses release their files or libraries after this."""
        if self._poller is not None:
            self._poller.close()

    def __enter__(self: _Meter) -> _Meter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
