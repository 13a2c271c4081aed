"""pyJoules' call shapes on greencode's meters: switch by changing one import.

    from greencode.compat.pyjoules import measure_energy, EnergyContext, RaplPackageDomain, CSVHandler

``@measure_energy``, ``@measure_energy(handler=..., domains=[...])``,
``EnergyContext(handler=..., domains=[...], start_tag=...)`` with ``ctx.record(tag=...)``, the manual
``EnergyMeter(DeviceFactory.create_devices(domains))`` with ``start``/``record``/``stop``/``resume``/
``get_trace``, ``EnergyTrace`` (``'tag' in trace``, ``append``, ``+``, ``+=``, ``remove_idle``,
``clean_data``), the domain classes and the print, CSV and DataFrame handlers behave as pyJoules 0.5.1
documents them, with these differences (``docs/migrating-from-pyjoules.md``):

- energies are in microjoules for every domain, GPUs included (pyJoules gave NVML's millijoules unconverted);
- RAPL counter wrap-around is handled, so energies are never negative;
- without RAPL or NVML nothing crashes: the requested domains that cannot be measured are reported missing and
  greencode's estimate is recorded instead, under a key ending in ``_estimated`` with
  ``sample.estimated = True``; ``DeviceFactory`` never raises ``NoSuchDeviceError``;
- the decorated function's return value and exceptions are never lost: a measurement problem becomes a
  warning;
- ``core`` and ``uncore`` are not measured separately (greencode reports disjoint domains: they are part of
  ``package``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from greencode.errors import GreencodeError

if TYPE_CHECKING:
    from greencode.measurement import Measurement, Recorder

__all__ = [
    "UNIT",
    "CSVHandler",
    "DataFrame",
    "Device",
    "DeviceFactory",
    "EnergyContext",
    "EnergyHandler",
    "EnergyMeter",
    "EnergyMeterNotStartedError",
    "EnergyMeterNotStoppedError",
    "EnergySample",
    "EnergyTrace",
    "NoSuchDeviceError",
    "NoSuchDomainError",
    "NvidiaGPUDevice",
    "NvidiaGPUDomain",
    "PandasHandler",
    "PrintHandler",
    "PyJoulesException",
    "RaplCoreDomain",
    "RaplDevice",
    "RaplDomain",
    "RaplDramDomain",
    "RaplPackageDomain",
    "RaplUncoreDomain",
    "measure_energy",
]

#: The unit of every energy in a sample, GPU included.
UNIT = "uJ"
_UJ_PER_J = 1e6
_ESTIMATED_SUFFIX = "_estimated"

F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------------------------------------------------
# errors: pyJoules' names, greencode's base class


class PyJoulesException(GreencodeError):
    """Base of the errors pyJoules code catches by name."""


class EnergyMeterNotStartedError(PyJoulesException):
    """``stop()`` or ``record()`` on a meter that was never started."""


class EnergyMeterNotStoppedError(PyJoulesException):
    """``get_trace()`` or ``resume()`` on a meter that is still measuring."""


class NoSuchDomainError(PyJoulesException):
    """A device configured with a domain of another kind of device."""

    def __init__(self, domain: object) -> None:
        super().__init__(f"{domain} is not a domain of this device; give it to the device of its kind")
        self.domain_name = str(domain)


class NoSuchDeviceError(PyJoulesException):
    """Kept for ``except`` clauses: greencode never raises it, a missing device is reported per sample."""


# ---------------------------------------------------------------------------------------------------------
# domains


@dataclass(frozen=True)
class RaplDomain:
    """A RAPL domain of one CPU socket; ``str()`` is pyJoules' key, e.g. ``package_0``."""

    socket: int
    _kind = "package"

    @property
    def greencode_domain(self) -> str | None:
        """The greencode domain measuring the same energy, or ``None`` when greencode does not report it."""
        return f"{self._kind}-{self.socket}"

    def __str__(self) -> str:
        return f"{self._kind}_{self.socket}"

    def get_device_type(self) -> type[Device]:
        return RaplDevice


class RaplPackageDomain(RaplDomain):
    """The whole CPU socket: ``RaplPackageDomain(0)``."""


class RaplDramDomain(RaplDomain):
    """The memory attached to a socket: ``RaplDramDomain(0)``."""

    _kind = "dram"


class RaplCoreDomain(RaplDomain):
    """The cores of a socket. greencode does not report it separately: it is part of the package."""

    _kind = "core"

    @property
    def greencode_domain(self) -> str | None:
        return None


class RaplUncoreDomain(RaplCoreDomain):
    """The integrated GPU of a socket. Not reported separately: it is part of the package."""

    _kind = "uncore"


@dataclass(frozen=True)
class NvidiaGPUDomain:
    """One NVIDIA GPU: ``NvidiaGPUDomain(0)``; ``str()`` is ``nvidia_gpu_0``."""

    device_id: int

    @property
    def greencode_domain(self) -> str | None:
        return f"gpu-{self.device_id}"

    def __str__(self) -> str:
        return f"nvidia_gpu_{self.device_id}"

    def get_device_type(self) -> type[Device]:
        return NvidiaGPUDevice


PyJoulesDomain = RaplDomain | NvidiaGPUDomain


# ---------------------------------------------------------------------------------------------------------
# devices: what pyJoules' manual recipe builds, ``EnergyMeter(DeviceFactory.create_devices(domains))``


class Device:
    """A group of domains of one kind of hardware. Energy is read by greencode's meters, so a device only
    says which domains to report; a domain this machine cannot measure is reported missing per sample."""

    def __init__(self) -> None:
        self._configured_domains: list[PyJoulesDomain] | None = None

    @staticmethod
    def available_domains() -> list[PyJoulesDomain]:
        raise NotImplementedError

    def _owns(self, domain: object) -> bool:
        return getattr(domain, "get_device_type", lambda: None)() is type(self)

    def configure(self, domains: Sequence[PyJoulesDomain] | None = None) -> None:
        """Report ``domains`` (default: every domain greencode can measure here on this kind of device)."""
        chosen = list(self.available_domains() if domains is None else domains)
        for domain in chosen:
            if not self._owns(domain):
                raise NoSuchDomainError(domain)
        self._configured_domains = chosen

    def get_configured_domains(self) -> list[PyJoulesDomain]:
        if self._configured_domains is None:
            raise PyJoulesException(f"{type(self).__name__} is not configured: call configure(domains) first")
        return list(self._configured_domains)


def _measurable(kind: type[Device]) -> list[PyJoulesDomain]:
    """The pyJoules domains greencode's configured meters measure here, of devices of ``kind``."""
    from greencode.measurement import meters_in_use

    makers: dict[str, Callable[[int], PyJoulesDomain]] = {
        "package": RaplPackageDomain,
        "dram": RaplDramDomain,
        "gpu": NvidiaGPUDomain,
    }
    try:
        meters = meters_in_use().meters
    except GreencodeError:  # the configured meter cannot work here: nothing is measured, the meter estimates
        return []
    found: list[PyJoulesDomain] = []
    for meter in meters:
        for domain in meter.domains():
            name, _, index = domain.name.rpartition("-")
            make = makers.get(name)
            if domain.estimated or make is None or not index.isdigit():
                continue
            candidate = make(int(index))
            if candidate.get_device_type() is kind:
                found.append(candidate)
    return found


class RaplDevice(Device):
    """The RAPL domains of the CPU sockets (``package_N``, ``dram_N``)."""

    @staticmethod
    def available_domains() -> list[PyJoulesDomain]:
        return _measurable(RaplDevice)


class NvidiaGPUDevice(Device):
    """The NVIDIA GPUs (``nvidia_gpu_N``)."""

    @staticmethod
    def available_domains() -> list[PyJoulesDomain]:
        return _measurable(NvidiaGPUDevice)


class DeviceFactory:
    """pyJoules' ``DeviceFactory.create_devices(domains)``: one configured device per kind of domain."""

    @staticmethod
    def create_devices(domains: Sequence[PyJoulesDomain] | None = None) -> list[Device]:
        """Devices for ``domains``; without them, for every domain greencode measures here (none on a machine
        without counters: the meter then records greencode's estimate, labelled as such)."""
        if domains is None:
            domains = [*RaplDevice.available_domains(), *NvidiaGPUDevice.available_domains()]
        grouped: dict[type[Device], list[PyJoulesDomain]] = {}
        for domain in domains:
            grouped.setdefault(domain.get_device_type(), []).append(domain)
        devices = []
        for kind, group in grouped.items():
            device = kind()
            device.configure(group)
            devices.append(device)
        return devices


def _warn(message: str) -> None:
    from greencode.errors import warn  # shown at the user's line, however deep this layer calls it

    warn(message)


def _key(domain: str) -> str:
    """pyJoules' name for a greencode domain: ``package-0`` → ``package_0``, ``gpu-1`` → ``nvidia_gpu_1``."""
    if domain.startswith("gpu-"):
        return "nvidia_" + domain.replace("-", "_")
    return domain.replace("-", "_")


# ---------------------------------------------------------------------------------------------------------
# samples and traces


@dataclass(frozen=True)
class EnergySample:
    """One tagged interval: ``energy`` maps domain keys to microjoules (:data:`UNIT`).

    ``estimated`` is true when any figure is an estimate (its key then ends in ``_estimated``); ``missing``
    lists requested domains this machine could not measure; ``sources`` says where each figure came from.
    """

    timestamp: float
    tag: str
    duration: float
    energy: dict[str, float]
    estimated: bool = False
    missing: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)


class EnergyTrace(Sequence[EnergySample]):
    """The samples of one measurement, in order; index by position or by tag (``trace["bar"]``)."""

    def __init__(self, samples: Sequence[EnergySample] = ()) -> None:
        self._samples = list(samples)

    @overload
    def __getitem__(self, key: int | str) -> EnergySample: ...

    @overload
    def __getitem__(self, key: slice) -> Sequence[EnergySample]: ...

    def __getitem__(self, key: int | str | slice) -> EnergySample | Sequence[EnergySample]:
        if isinstance(key, str):
            for sample in self._samples:
                if sample.tag == key:
                    return sample
            raise KeyError(key)
        return self._samples[key]

    def __len__(self) -> int:
        return len(self._samples)

    def __iter__(self) -> Iterator[EnergySample]:
        return iter(self._samples)

    def __contains__(self, tag: object) -> bool:
        """``"bar" in trace``: whether a sample has that tag (as in pyJoules), or is that sample."""
        return any(sample.tag == tag or sample is tag for sample in self._samples)

    def append(self, sample: EnergySample) -> None:
        self._samples.append(sample)

    def __add__(self, other: EnergyTrace) -> EnergyTrace:
        return EnergyTrace([*self._samples, *other._samples])

    def __iadd__(self, other: EnergyTrace) -> EnergyTrace:
        self._samples.extend(other._samples)
        return self

    def remove_idle(self, idle: Sequence[Mapping[str, float]]) -> None:
        """Subtract one idle figure per sample and domain (µJ), as pyJoules does; ``ValueError`` when the
        lengths differ or a domain has no idle figure."""
        if len(idle) != len(self._samples):
            raise ValueError(f"remove_idle: {len(idle)} idle figures for {len(self._samples)} samples")
        for idle_energy, sample in zip(idle, self._samples, strict=True):
            for domain in sample.energy:
                if domain not in idle_energy:
                    raise ValueError(f"remove_idle: no idle figure for domain {domain!r}")
                sample.energy[domain] -= idle_energy[domain]

    def clean_data(self, guards: Sequence[Callable[[EnergySample], bool]] = ()) -> None:
        """Keep only samples without negative energies for which every guard returns true."""
        self._samples = [
            sample
            for sample in self._samples
            if all(value >= 0 for value in sample.energy.values()) and all(guard(sample) for guard in guards)
        ]

    def __repr__(self) -> str:
        return f"EnergyTrace({self._samples!r})"


# ---------------------------------------------------------------------------------------------------------
# the meter


class EnergyMeter:
    """Tagged intervals over greencode's configured meters: ``start(tag)``, ``record(tag)``, ``stop()``,
    ``resume(tag)``, ``get_trace()``, with pyJoules' rules (``EnergyMeterNotStartedError``,
    ``EnergyMeterNotStoppedError``).

    ``devices`` is what ``DeviceFactory.create_devices(domains)`` returns, as in pyJoules; a list of domains
    works too. ``None`` or an empty list reports every domain measured here.
    """

    def __init__(
        self, devices: Sequence[Device | PyJoulesDomain] | None = None, default_tag: str = ""
    ) -> None:
        domains: list[PyJoulesDomain] = []
        for item in devices or ():
            domains.extend(item.get_configured_domains() if isinstance(item, Device) else [item])
        self.domains = domains or None
        self.default_tag = default_tag
        self._recorder: Recorder | None = None
        self._meter: str | None = None  # None: the configured meters
        self._tag = ""
        self._started = False
        self._samples: list[EnergySample] = []

    def _open(self, tag: str | None) -> None:
        from greencode.measurement import start

        self._tag = self.default_tag if tag is None else tag
        try:
            self._recorder = start(self._tag, meter=self._meter)
        except GreencodeError as exc:
            # a configured meter that cannot work here must not stop the user's program: estimate instead
            _warn(f"greencode: {exc}; using the estimator for {self._tag!r}")
            self._meter = "estimate"
            self._recorder = start(self._tag, meter=self._meter)

    def _close(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            self._samples.append(self._sample(recorder.stop()))

    def _must_be_started(self, call: str) -> None:
        if not self._started:
            raise EnergyMeterNotStartedError(
                f"EnergyMeter.{call}() before start(): call meter.start(tag) first"
            )

    def start(self, tag: str | None = None) -> None:
        """Begin a new trace (the previous one is dropped) with an interval tagged ``tag``."""
        self._recorder = None
        self._samples = []
        self._started = True
        self._open(tag)

    def record(self, tag: str | None = None) -> None:
        """End the current interval and start one tagged ``tag``."""
        self._must_be_started("record")
        self._close()
        self._open(tag)

    def resume(self, tag: str | None = None) -> None:
        """Continue a stopped trace with a new interval tagged ``tag`` (start one if none was started)."""
        if not self._started:
            self.start(tag)
            return
        if self._recorder is not None:
            raise EnergyMeterNotStoppedError("EnergyMeter.resume() while measuring: call meter.stop() first")
        self._open(tag)

    def stop(self) -> None:
        """End the current interval (a second ``stop()`` does nothing)."""
        self._must_be_started("stop")
        self._close()

    def get_trace(self) -> EnergyTrace:
        """The samples so far: empty before ``start()``; ``EnergyMeterNotStoppedError`` while measuring."""
        if self._recorder is not None:
            raise EnergyMeterNotStoppedError(
                "EnergyMeter.get_trace() while measuring: call meter.stop() first"
            )
        return EnergyTrace(self._samples)

    def _sample(self, measurement: Measurement) -> EnergySample:
        from greencode.measurement import meters_in_use

        estimated_domains = {
            domain.name
            for meter in meters_in_use(self._meter).meters
            for domain in meter.domains()
            if domain.estimated
        }

        def key(name: str) -> str:
            return _key(name) + (_ESTIMATED_SUFFIX if name in estimated_domains else "")

        measured = {name: joules for name, joules in measurement.domains.items()}
        missing: list[str] = []
        if self.domains is None:
            chosen = measured
        else:
            # pairs, not a mapping: core and uncore both have no greencode domain, and both are missing
            wanted = [(d.greencode_domain, str(d)) for d in self.domains]
            names = {name for name, _ in wanted}
            chosen = {name: j for name, j in measured.items() if name in names}
            missing = [label for name, label in wanted if name not in measured]
            if not chosen:
                # nothing requested can be measured here: record greencode's estimate, labelled as such
                chosen = {name: j for name, j in measured.items() if name in estimated_domains}
            if missing:
                _warn(
                    f"greencode: {', '.join(missing)} cannot be measured here"
                    + (f"; recorded {', '.join(key(n) for n in chosen)} instead" if chosen else "")
                )
        return EnergySample(
            timestamp=measurement.started_at,
            tag=self._tag,
            duration=measurement.wall_s,
            energy={key(name): joules * _UJ_PER_J for name, joules in chosen.items()},
            estimated=any(name in estimated_domains for name in chosen),
            missing=tuple(missing),
            sources={key(name): measurement.provenance.get(name, "") for name in chosen},
        )


# ---------------------------------------------------------------------------------------------------------
# handlers


class EnergyHandler:
    """Receives each finished trace; subclasses decide what to do with it."""

    def __init__(self) -> None:
        self.traces: list[EnergyTrace] = []

    def process(self, trace: EnergyTrace) -> None:
        self.traces.append(trace)

    def samples(self) -> list[EnergySample]:
        return [sample for trace in self.traces for sample in trace]

    def records(self) -> list[dict[str, Any]]:
        """One flat dictionary per sample: timestamp, tag, duration (s), then each domain in µJ."""
        return [
            {"timestamp": s.timestamp, "tag": s.tag, "duration": s.duration, **s.energy}
            for s in self.samples()
        ]


class PrintHandler(EnergyHandler):
    """Prints one line per sample, as pyJoules did, with the unit and whether figures are estimates."""

    def process(self, trace: EnergyTrace) -> None:
        for sample in trace:
            energies = "; ".join(f"{name} : {value:.6g}" for name, value in sample.energy.items())
            kind = " (estimated)" if sample.estimated else ""
            print(
                f"begin timestamp : {sample.timestamp}; tag : {sample.tag}; "
                f"duration : {sample.duration:.6g}; {energies or 'no energy measured'} [{UNIT}]{kind}",
                file=sys.stdout,
            )


class CSVHandler(EnergyHandler):
    """Collects samples; ``save_data()`` appends them to ``filename`` (``;``-separated, as pyJoules wrote).

    The header is written with the first rows; later saves add rows under the same columns. The file is
    replaced atomically, so a crash never leaves half a row.
    """

    def __init__(self, filename: str | Path) -> None:
        super().__init__()
        self.filename = Path(filename)

    def save_data(self) -> None:
        from greencode.files import write_output
        from greencode.report.csvout import csv_cell

        records = self.records()
        if not records:
            return
        existing = self.filename.read_text(encoding="utf-8") if self.filename.exists() else ""
        lines = existing.splitlines()
        if lines:
            columns = lines[0].split(";")
        else:
            columns = list(dict.fromkeys(key for record in records for key in record))
            lines = [";".join(columns)]
        lines += [";".join(csv_cell(record.get(column)) for column in columns) for record in records]
        write_output(self.filename, "\n".join(lines) + "\n")
        self.traces.clear()


class DataFrame:
    """A small table with pandas-like access, used when pandas is not installed.

    ``df["package_0"]`` is a column (list), ``df.columns`` the names, ``len(df)`` the rows and
    ``df.to_dict("records")`` the rows as dictionaries.
    """

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self._records = [dict(r) for r in records]
        self.columns = list(dict.fromkeys(key for record in self._records for key in record))

    def __getitem__(self, column: str) -> list[Any]:
        if column not in self.columns:
            raise KeyError(column)
        return [record.get(column) for record in self._records]

    def __len__(self) -> int:
        return len(self._records)

    def to_dict(self, orient: str = "records") -> list[dict[str, Any]]:
        if orient != "records":
            raise ValueError("only to_dict('records') is supported; install pandas for more")
        return [dict(r) for r in self._records]


class PandasHandler(EnergyHandler):
    """Collects samples; ``get_dataframe()`` returns a pandas ``DataFrame`` (or :class:`DataFrame` without
    pandas) with columns timestamp, tag, duration and one per domain in µJ."""

    def get_dataframe(self) -> Any:
        try:
            import pandas
        except ImportError:
            return DataFrame(self.records())
        return pandas.DataFrame(self.records())


# ---------------------------------------------------------------------------------------------------------
# decorator and context manager


def _deliver(handler: EnergyHandler | None, meter: EnergyMeter, label: str) -> None:
    """Stop ``meter`` and hand its trace over; a failure here is a warning, never the caller's problem."""
    try:
        meter.stop()
        (handler if handler is not None else PrintHandler()).process(meter.get_trace())
    except Exception as exc:
        _warn(f"greencode: measuring {label!r} failed: {type(exc).__name__}: {exc}")


@overload
def measure_energy(
    func: F, handler: EnergyHandler | None = None, domains: Sequence[Any] | None = None
) -> F: ...


@overload
def measure_energy(
    func: None = None, handler: EnergyHandler | None = None, domains: Sequence[Any] | None = None
) -> Callable[[F], F]: ...


def measure_energy(
    func: F | None = None, handler: EnergyHandler | None = None, domains: Sequence[Any] | None = None
) -> F | Callable[[F], F]:
    """Measure every call of a function: ``@measure_energy`` or ``@measure_energy(handler=h, domains=[...])``.

    Each call produces a one-sample trace tagged with the function's name and handed to ``handler``
    (default: :class:`PrintHandler`). The return value and any exception pass through unchanged.
    """

    def decorate(function: F) -> F:
        tag = getattr(function, "__name__", "call")

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            meter = EnergyMeter(domains)
            try:
                meter.start(tag=tag)
            except Exception as exc:
                _warn(f"greencode: cannot measure {tag!r}: {exc}")
                return function(*args, **kwargs)
            try:
                return function(*args, **kwargs)
            finally:
                _deliver(handler, meter, tag)

        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


class EnergyContext:
    """``with EnergyContext(handler=h, domains=[...], start_tag="foo") as ctx: ...; ctx.record(tag="bar")``.

    Each ``record`` closes the current tagged interval and opens the next; leaving the block closes the last
    one and hands the trace to ``handler`` (default: :class:`PrintHandler`).
    """

    def __init__(
        self,
        handler: EnergyHandler | None = None,
        domains: Sequence[Any] | None = None,
        start_tag: str = "start",
    ) -> None:
        self.handler = handler
        self.start_tag = start_tag
        self.meter = EnergyMeter(domains)

    def __enter__(self) -> EnergyContext:
        self.meter.start(tag=self.start_tag)
        return self

    def record(self, tag: str) -> None:
        self.meter.record(tag)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _deliver(self.handler, self.meter, self.start_tag)
