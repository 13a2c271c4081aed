"""Fake hardware for the meter tests and benchmarks: powercap sysfs trees, an NVML library, a clock.

Benchmarks import this file by path (it is not part of the library).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

#: max_energy_range_uj of a common Intel package counter (32 bits of 61 µJ units)
INTEL_RANGE_UJ = 262_143_328_850


@dataclass
class FakePowercap:
    """A powercap tree under ``root``, laid out flat like /sys/class/powercap."""

    root: Path

    def add_zone(self, zone_id: str, name: str, energy_uj: int = 0, range_uj: int = INTEL_RANGE_UJ) -> Path:
        """Create zone ``zone_id`` (e.g. ``intel-rapl:0:2``) with its name, counter and range files."""
        zone = self.root / zone_id
        zone.mkdir(parents=True, exist_ok=True)
        (zone / "name").write_text(name + "\n")
        (zone / "max_energy_range_uj").write_text(f"{range_uj}\n")
        self.set(zone_id, energy_uj)
        return zone

    def set(self, zone_id: str, energy_uj: int) -> None:
        """Write the counter in place (same inode, as sysfs: open file descriptors see the new value)."""
        (self.root / zone_id / "energy_uj").write_text(f"{energy_uj}\n")

    def get(self, zone_id: str) -> int:
        return int((self.root / zone_id / "energy_uj").read_text())

    def range(self, zone_id: str) -> int:
        return int((self.root / zone_id / "max_energy_range_uj").read_text())

    def add(self, zone_id: str, energy_uj: int) -> None:
        """Let ``energy_uj`` be used: the counter goes up and wraps to 0 after its range, as RAPL's does."""
        self.set(zone_id, (self.get(zone_id) + energy_uj) % (self.range(zone_id) + 1))

    def energy_file(self, zone_id: str) -> Path:
        return self.root / zone_id / "energy_uj"


def make_fake_powercap(
    root: Path,
    packages: int = 2,
    domains: Sequence[str] = ("package", "dram"),
    *,
    range_uj: int = INTEL_RANGE_UJ,
    psys: bool = False,
    mmio: bool = False,
) -> FakePowercap:
    """A tree with ``packages`` zones ``intel-rapl:N`` named ``package-N``; every other name in ``domains``
    (``core``, ``uncore``, ``dram``) becomes a sub-zone ``intel-rapl:N:M`` in that order. ``psys`` adds a
    platform zone after the packages; ``mmio`` adds ``intel-rapl-mmio:0`` named ``package-0``."""
    fake = FakePowercap(root)
    (root / "intel-rapl").mkdir(parents=True, exist_ok=True)  # the control type, as in sysfs
    subzones = [name for name in domains if name != "package"]
    for n in range(packages):
        fake.add_zone(f"intel-rapl:{n}", f"package-{n}", range_uj=range_uj)
        for m, name in enumerate(subzones):
            fake.add_zone(f"intel-rapl:{n}:{m}", name, range_uj=range_uj)
    if psys:
        fake.add_zone(f"intel-rapl:{packages}", "psys", range_uj=range_uj)
    if mmio:
        fake.add_zone("intel-rapl-mmio:0", "package-0", range_uj=range_uj)
    return fake


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ---------------------------------------------------------------------------------------------------------
# NVML


class FakeNvmlError(Exception):
    """Like ``pynvml.NVMLError``: carries the NVML return code in ``value``."""

    _TEXT: ClassVar[dict[int, str]] = {
        1: "Uninitialized",
        3: "Not Supported",
        4: "Insufficient Permissions",
        9: "Driver Not Loaded",
        12: "NVML Shared Library Not Found",
        15: "GPU is lost",
    }

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return self._TEXT.get(self.value, f"NVML Error with code {self.value}")


NOT_SUPPORTED = 3
GPU_IS_LOST = 15


@dataclass
class FakeGpu:
    """One GPU: ``energy_mj`` None means no energy counter, ``power_mw`` None means no power reading;
    ``errors`` maps an NVML function name to the code it raises."""

    name: str = "NVIDIA Fake A100"
    energy_mj: int | None = 0
    power_mw: int | None = 100_000
    errors: dict[str, int] = field(default_factory=dict)


class FakeNvml:
    """The part of ``pynvml`` greencode uses, over a list of :class:`FakeGpu`."""

    NVMLError = FakeNvmlError
    NVML_ERROR_NOT_SUPPORTED = NOT_SUPPORTED
    NVML_ERROR_DRIVER_NOT_LOADED = 9
    NVML_ERROR_LIBRARY_NOT_FOUND = 12

    def __init__(self, gpus: Sequence[FakeGpu] = (), init_error: int | None = None) -> None:
        self.gpus = list(gpus)
        self.init_error = init_error
        self.initialised = 0
        self.shutdowns = 0

    def _check(self, call: str, handle: int) -> FakeGpu:
        if self.initialised <= self.shutdowns:
            raise FakeNvmlError(1)
        gpu = self.gpus[handle]
        if call in gpu.errors:
            raise FakeNvmlError(gpu.errors[call])
        return gpu

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise FakeNvmlError(self.init_error)
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._check("nvmlDeviceGetHandleByIndex", index)
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self._check("nvmlDeviceGetName", handle).name

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        gpu = self._check("nvmlDeviceGetTotalEnergyConsumption", handle)
        if gpu.energy_mj is None:
            raise FakeNvmlError(NOT_SUPPORTED)
        return gpu.energy_mj

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        gpu = self._check("nvmlDeviceGetPowerUsage", handle)
        if gpu.power_mw is None:
            raise FakeNvmlError(NOT_SUPPORTED)
        return gpu.power_mw
