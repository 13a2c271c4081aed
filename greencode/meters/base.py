"""The meter contract: one small protocol that every energy source implements.

Units are fixed at this boundary: joules, seconds, watts. A meter measures *windows*: ``start()`` returns an
independent :class:`Window` whose ``stop()`` gives the energy used since, per domain. Windows may overlap and
nest freely (threads, asyncio tasks), so a meter keeps no per-window state of its own.

Third-party meters are registered under the ``greencode.meters`` entry-point group. The entry point names a
factory ``create(config) -> Meter`` that raises :class:`~greencode.errors.MeterUnavailable` with a reason
when the meter cannot work on this machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from greencode.config import Config

#: What a meter's energy covers. Idle subtraction only makes sense for ``machine`` and ``device`` meters,
#: which see everything running on the hardware, not just this process.
Scope = Literal["process", "machine", "device"]


@dataclass(frozen=True)
class Domain:
    """One energy domain a meter reports, e.g. ``package-0``, ``dram-0``, ``gpu-0`` or ``cpu``.

    ``source`` is the provenance shown to users: the sysfs zone a counter was read from, the GPU and NVML
    call, or ``"estimated: <model>"``. ``estimated`` is true when the figure comes from a model.
    """

    name: str
    source: str
    estimated: bool = False


@dataclass(frozen=True)
class Reading:
    """Energy used in one window, in joules per domain, with anything odd the meter noticed.

    A meter that derives energy from event counts also returns the counts themselves (``counts``: raw
    numbers named ``instructions``, ``d1_misses``, ``ll_misses``), and where it can, the instructions per
    function (``functions``, keyed ``file:function``): those are the deterministic quantities a gate compares.
    """

    energy_j: Mapping[str, float]
    warnings: tuple[str, ...] = field(default=())
    counts: Mapping[str, int] = field(default_factory=dict)
    functions: Mapping[str, int] = field(default_factory=dict)
    #: True when windows of other threads overlapped this one on a meter whose scope is the process: the
    #: figure is then this thread's share, or the process's figure shared with them (the warning says which).
    concurrent: bool = False


@runtime_checkable
class Window(Protocol):
    """An open measurement window. ``stop()`` may be called once."""

    def stop(self) -> Reading: ...


@runtime_checkable
class Meter(Protocol):
    """An energy source.

    ``resolution_s`` is how often the underlying counter updates (RAPL about 1 ms, NVML 10 ms or more, the
    estimator the CPU clock's resolution); calibrated rounds last a multiple of it. A meter may also declare
    ``window_jitter_s``, how much one window's reading moves by chance whatever its length (the gate judges
    tests much shorter than that only in groups, :mod:`greencode.small_tests`); without it,
    :data:`greencode.judging.MIN_JITTER_S` or the resolution, whichever is larger, is assumed.
    """

    name: str
    scope: Scope
    resolution_s: float

    def domains(self) -> tuple[Domain, ...]: ...

    def start(self) -> Window: ...

    def close(self) -> None: ...


MeterFactory = Callable[["Config"], Meter]
