"""Meter discovery and selection.

Meters are found through the ``greencode.meters`` entry-point group (built-ins are registered the same way
as third-party meters). ``meter = "auto"`` uses every hardware meter that works here and adds the
estimator when none of them covers the CPU; explicit names (``"rapl"``, ``"nvml,rapl"``, ``"estimate"``, a
third party's name) are used as given, and one that cannot work is an error that says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

from greencode.errors import GreencodeError, MeterUnavailable
from greencode.meters.base import Domain, Meter, MeterFactory, Reading, Scope, Window

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from greencode.config import Config
    from greencode.meters.estimate import EstimateMeter

__all__ = [
    "Domain",
    "Meter",
    "MeterStatus",
    "Reading",
    "Scope",
    "Selection",
    "Window",
    "counting_identity",
    "meter_status",
    "select_meters",
    "wants_instructions",
]

ESTIMATOR = "estimate"
#: Built-in meters whose energy covers the CPU; when ``auto`` finds none, the estimator covers the CPU.
#: A third-party meter says so with a ``covers_cpu = True`` attribute.
CPU_METERS = frozenset({"rapl"})
GROUP = "greencode.meters"
#: Meters that ``auto`` never picks: the estimator is its fallback, and the instruction meter is a model with
#: its own way of running (under callgrind or on perf counters) that a user asks for by name.
EXPLICIT_ONLY = frozenset({ESTIMATOR, "instructions"})


def wants_instructions(config: Config) -> bool:
    """Whether the configuration asks for the instruction meter (here, so that a run that does not want it
    need not import how it is launched)."""
    return "instructions" in config.meter.split(",")


@lru_cache(maxsize=1)
def _entry_points() -> Mapping[str, EntryPoint]:
    # importlib.metadata is slow to import; only the first measurement pays for it.
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def known_meters() -> tuple[str, ...]:
    """Names of every registered meter, built-ins first."""
    builtin = ("rapl", "nvml", ESTIMATOR, "instructions")
    names = _entry_points().keys()
    return tuple(n for n in builtin if n in names) + tuple(sorted(n for n in names if n not in builtin))


def _factory(name: str) -> MeterFactory:
    if ":" in name:  # "package.module:factory" needs no packaging: handy for a project's own meters and tests
        return _import_factory(name)
    entry_point = _entry_points().get(name)
    if entry_point is None:
        known = ", ".join(known_meters()) or "none"
        raise MeterUnavailable(
            f"unknown meter {name!r}; known meters: {known} (third-party meters register under the "
            f"'{GROUP}' entry point group)"
        )
    try:
        factory = entry_point.load()
    except Exception as exc:  # a broken third-party plugin must not take greencode down
        raise MeterUnavailable(f"meter {name!r} failed to load: {type(exc).__name__}: {exc}") from None
    return factory


def _import_factory(spec: str) -> MeterFactory:
    import importlib

    module_name, _, attribute = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise MeterUnavailable(
            f"meter {spec!r} cannot be imported ({exc}); use 'package.module:factory'"
        ) from None
    if not callable(factory):
        raise MeterUnavailable(f"meter {spec!r} is not a callable factory")
    return factory


def create_meter(name: str, config: Config) -> Meter:
    """Create one meter by name or raise :class:`MeterUnavailable` saying why it cannot work here."""
    factory = _factory(name)
    try:
        return factory(config)
    except GreencodeError as exc:
        if isinstance(exc, MeterUnavailable):
            raise
        raise MeterUnavailable(f"{name}: {exc}") from None
    except Exception as exc:
        raise MeterUnavailable(f"{name}: unexpected failure ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class MeterStatus:
    """Whether one meter works here, and why not."""

    name: str
    available: bool
    reason: str
    domains: tuple[Domain, ...] = ()
    #: what the meter saw but does not count, and why (e.g. RAPL zones that would double count)
    notes: tuple[str, ...] = ()


def meter_status(config: Config) -> list[MeterStatus]:
    """Every known meter with its availability, for ``greencode meters``."""
    statuses = []
    for name in known_meters():
        try:
            meter = create_meter(name, config)
        except MeterUnavailable as exc:
            statuses.append(MeterStatus(name, False, str(exc)))
            continue
        try:
            notes = tuple(getattr(meter, "notes", ()))
            statuses.append(MeterStatus(name, True, "available", meter.domains(), notes))
        finally:
            meter.close()
    return statuses


@dataclass(frozen=True)
class Selection:
    """The meters a measurement uses and the reasons behind the choice (shown to users)."""

    meters: tuple[Meter, ...]
    reasons: tuple[str, ...]

    @cached_property
    def name(self) -> str:
        return "+".join(meter.name for meter in self.meters)

    @cached_property
    def domains(self) -> Mapping[str, Domain]:
        """Every domain of every meter by name (a meter's domains are fixed once it is created)."""
        return {domain.name: domain for meter in self.meters for domain in meter.domains()}

    @cached_property
    def provenance(self) -> Mapping[str, str]:
        """Where each domain's figure comes from, for a window that reports exactly the declared domains."""
        return MappingProxyType({name: domain.source for name, domain in self.domains.items()})

    @cached_property
    def estimated(self) -> bool:
        """Whether a window that reports exactly the declared domains is (partly) an estimate."""
        return any(domain.estimated for domain in self.domains.values())

    @cached_property
    def cpu_time_meter(self) -> EstimateMeter | None:
        """The estimator, when it reads this process's CPU clock as a recorder does: a recorder then shares
        its own clock reads with it (see :class:`greencode.measurement.Recorder`)."""
        from greencode.meters.estimate import EstimateMeter

        return next((m for m in self.meters if isinstance(m, EstimateMeter) and m.reads_process_time), None)

    @cached_property
    def sole_cpu_time_meter(self) -> EstimateMeter | None:
        """:attr:`cpu_time_meter` when it is the only meter (the default where no counter is readable): a
        recorder then takes its one window's figures as they are, with nothing to combine."""
        return self.cpu_time_meter if len(self.meters) == 1 else None

    def close(self) -> None:
        for meter in self.meters:
            meter.close()


def counting_identity(selection: Selection) -> str:
    """What, besides the machine, a counting meter's figures depend on (e.g. ``callgrind, CPython 3.11.7``);
    empty for energy meters. Baselines record it and refuse comparisons across it."""
    return "; ".join(str(getattr(m, "counter_identity", "")) for m in selection.meters if _counts(m))


def _counts(meter: Meter) -> bool:
    return bool(getattr(meter, "counter_identity", ""))


def _covers_cpu(meter: Meter) -> bool:
    return bool(getattr(meter, "covers_cpu", meter.name in CPU_METERS))


def select_meters(config: Config) -> Selection:
    """The meters named by ``config.meter``; ``auto`` picks hardware first and falls back to the estimator."""
    if config.meter != "auto":
        names = list(dict.fromkeys(name for name in config.meter.split(",") if name))  # each once
        meters = []
        try:
            for name in names:
                meters.append(create_meter(name, config))
        except MeterUnavailable as exc:
            for meter in meters:
                meter.close()
            raise MeterUnavailable(f"meter {name!r} was requested but cannot be used: {exc}") from None
        cpu = [meter.name for meter in meters if _covers_cpu(meter) or meter.name in EXPLICIT_ONLY]
        if len(cpu) > 1:
            for meter in meters:
                meter.close()
            raise MeterUnavailable(
                f"meter = {config.meter!r}: {' and '.join(cpu)} both measure the CPU, so their sum would "
                "count its energy twice; use one of them (measure twice to compare them)"
            )
        where = config.origin("meter")  # "defaults" for a meter set in code, in a Config built there
        reason = f"meter = {config.meter!r} requested" + ("" if where == "defaults" else f" in {where}")
        return Selection(tuple(meters), (reason,))

    meters, reasons = [], []
    for name in known_meters():
        if name in EXPLICIT_ONLY:
            continue
        try:
            meter = create_meter(name, config)
        except MeterUnavailable as exc:
            reasons.append(f"{name}: not used: {exc}")
            continue
        meters.append(meter)
        reasons.append(f"{name}: in use")
    if not any(_covers_cpu(meter) for meter in meters):
        meters.append(create_meter(ESTIMATOR, config))
        reasons.append(
            f"{ESTIMATOR}: in use, because no hardware meter covers the CPU (figures are estimates)"
        )
    return Selection(tuple(meters), tuple(reasons))
