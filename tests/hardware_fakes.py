"""Fakes for the hardware check: GPUs whose energy counter runs with the clock, and parts that hang or crash.

The check runs each part in its own process and finds these by ``module:name``, so they live in a module
of their own (the tests put this directory on the parts' PYTHONPATH).
"""

from __future__ import annotations

import errno
import os
import struct
import sys
import threading
import time
from collections.abc import Mapping
from types import TracebackType

from fakes import FakeGpu, FakeNvml, FakePowercap
from hwcheck.report import Section
from hwcheck.settings import Settings

#: The fake GPUs draw this much, always; their counter moves in steps of COUNTER_STEP_S, as NVML's does.
GPU_POWER_W = 100.0
COUNTER_STEP_S = 0.01


class RunningNvml(FakeNvml):
    """GPUs drawing GPU_POWER_W from the moment the library is made: the counter and the power agree."""

    def __init__(self, gpus: int = 2) -> None:
        super().__init__([FakeGpu(power_mw=int(GPU_POWER_W * 1000)) for _ in range(gpus)])
        self._born = time.monotonic()

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        super().nvmlDeviceGetTotalEnergyConsumption(handle)  # the same checks as a fixed counter
        steps = (time.monotonic() - self._born) // COUNTER_STEP_S
        return int(steps * COUNTER_STEP_S * GPU_POWER_W * 1000)

    def nvmlSystemGetDriverVersion(self) -> str:
        return "999.99 (fake)"


def running_gpus() -> RunningNvml:
    return RunningNvml()


def counter_only() -> FakeNvml:
    """A GPU with an energy counter whose power NVML cannot read, so it cannot be sampled for comparison."""
    return FakeNvml([FakeGpu(power_mw=None)])


def no_driver() -> FakeNvml:
    """NVML as on a machine without an NVIDIA driver: its shared library is missing."""
    return FakeNvml(init_error=FakeNvml.NVML_ERROR_LIBRARY_NOT_FOUND)


class LiveTree:
    """A fake powercap tree whose counters move while the check reads them.

    A background thread adds ``tick_uj`` to every zone each millisecond (so the update interval can be seen),
    and :meth:`use` adds a workload's energy at once. Each write replaces the file whole, so a reader that
    opens the file for every read (``rapl.read_file``) never sees half a number.
    """

    def __init__(self, fake: FakePowercap, zones: Mapping[str, str], tick_uj: int = 100) -> None:
        self.fake = fake
        self.zones = dict(zones)  # zone id -> name
        self.tick_uj = tick_uj
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _write(self, zone_id: str, energy_uj: int) -> None:
        path = self.fake.energy_file(zone_id)
        temporary = path.with_name("energy_uj.tmp")
        value = (self.fake.get(zone_id) + energy_uj) % (self.fake.range(zone_id) + 1)
        temporary.write_text(f"{value}\n")
        os.replace(temporary, path)

    def use(self, joules: Mapping[str, float]) -> None:
        with self._lock:
            for zone_id, energy_j in joules.items():
                self._write(zone_id, int(energy_j * 1e6))

    def _run(self) -> None:
        while not self._stop.wait(0.001):
            with self._lock:
                for zone_id in self.zones:
                    self._write(zone_id, self.tick_uj)

    def __enter__(self) -> LiveTree:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()


class SteppingKernel:
    """perf_event_open answered by a fake PMU: each read finds every counter ``step`` higher than the last."""

    def __init__(self, step: int = 3_000_000, refuse: int | None = None) -> None:
        self.step = step
        self.refuse = refuse
        self.values: dict[int, int] = {}

    def perf_event_open(self, attr: bytes, pid: int, cpu: int, group_fd: int, flags: int) -> int:
        if self.refuse is not None:
            raise OSError(self.refuse, os.strerror(self.refuse))
        fd = 100 + len(self.values)
        self.values[fd] = 0
        return fd

    def read(self, fd: int, size: int) -> bytes:
        self.values[fd] += self.step
        return struct.pack("<QQQ", self.values[fd], 1, 1)  # value, time enabled, time running

    def close(self, fd: int) -> None:
        self.values.pop(fd, None)


def stepping_kernel() -> SteppingKernel:
    return SteppingKernel()


def no_pmu() -> SteppingKernel:
    """A kernel without hardware counters, as in most virtual machines."""
    return SteppingKernel(refuse=errno.ENOENT)


def hang(settings: Settings) -> Section:
    print("hang: about to wait on a counter that never answers", file=sys.stderr, flush=True)
    time.sleep(600)
    return Section("hang", "pass", "never reached")


def crash(settings: Settings) -> Section:
    raise RuntimeError("the counter library crashed")
