"""Measuring workloads for the instruction model's calibration: RAPL energy above idle and the instruction and
cache-miss counts of the same windows (``greencode calibrate --instructions``).

The workloads are plain Python, chosen to pull the two coefficients apart: some retire many instructions on
data that stays in cache, others touch a buffer larger than any last-level cache, so that DRAM lines weigh
differently in each. RAPL sees the whole machine, so its idle power (measured asleep, just before) is taken
off every window: what remains is the energy the work added, which is what the model predicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from greencode.errors import GreencodeError, MeterUnavailable
from greencode.instruction_fit import Sample

if TYPE_CHECKING:
    from greencode.config import Config
    from greencode.meters.base import Meter
    from greencode.meters.perf import Syscalls

__all__ = ["Workload", "default_workloads", "measure_samples", "open_meters"]

#: Seconds asleep to measure the idle power taken off every workload.
IDLE_S = 2.0
#: The random-read and copy workloads' buffer: larger than the last-level cache of nearly every CPU.
BUFFER_MIB = 256


@dataclass(frozen=True)
class Workload:
    label: str
    run: Callable[[], object]


def default_workloads(buffer_mib: int = BUFFER_MIB) -> tuple[Workload, ...]:
    """Five workloads from cache-resident arithmetic to DRAM-bound reads and copies."""
    buffer = bytearray(buffer_mib << 20)
    size = len(buffer)
    # a fixed pseudo-random walk (a multiplicative hash of the index), the same in every run
    offsets = [(i * 2_654_435_761) % size for i in range(200_000)]
    numbers = [(i * 7_919) % 100_003 for i in range(100_000)]

    def additions() -> int:
        total = 0
        for i in range(300_000):  # greencode: ignore[GRN012] interpreted additions are the workload
            total += i
        return total

    def random_reads() -> int:
        return sum(buffer[offset] for offset in offsets)

    def copy() -> int:
        return len(bytes(buffer))

    return (
        Workload("integer additions (in cache)", additions),
        Workload("sorting 100,000 integers", lambda: sorted(numbers)),
        Workload("building a 100,000-key dict", lambda: {n: n for n in numbers}),
        Workload(f"random byte reads over {buffer_mib} MiB", random_reads),
        Workload(f"copying {buffer_mib} MiB", copy),
    )


def open_meters(config: Config, syscalls: Syscalls | None = None) -> tuple[Meter, Meter]:
    """RAPL and the instruction counts (perf backend); GreencodeError saying in one line which is missing."""
    from greencode.meters import instructions, rapl

    try:
        energy: Meter = rapl.create(config)
    except GreencodeError as exc:
        raise GreencodeError(
            f"calibrate --instructions needs RAPL energy counters to fit against: {exc}"
        ) from None
    # under Valgrind the meter would pick callgrind, whose slowdown would make RAPL's figures meaningless
    perf_only = replace(config, instructions=replace(config.instructions, backend="perf"))
    try:
        counts: Meter = instructions.create(perf_only, syscalls=syscalls)
    except MeterUnavailable as exc:
        energy.close()
        raise GreencodeError(
            f"calibrate --instructions needs hardware instruction counts (perf_event_open): {exc}"
        ) from None
    return energy, counts


def _idle_power(energy: Meter, seconds: float) -> float:
    started = time.perf_counter()
    window = energy.start()
    time.sleep(seconds)
    joules = sum(window.stop().energy_j.values())
    return joules / (time.perf_counter() - started)


def measure_samples(
    workloads: Sequence[Workload],
    energy: Meter,
    counts: Meter,
    *,
    seconds: float = 1.0,
    idle_s: float | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> tuple[list[Sample], float]:
    """One sample per workload (repeated for at least ``seconds``), and the idle power taken off each
    (measured for ``idle_s``, default :data:`IDLE_S`)."""
    idle_s = IDLE_S if idle_s is None else idle_s
    progress(f"measuring idle power for {idle_s:g} s")
    idle_w = _idle_power(energy, idle_s)
    samples = []
    for workload in workloads:
        progress(f"running {workload.label}")
        workload.run()  # warm: first-call costs (page faults, caches) are not what the model describes
        started = time.perf_counter()
        outer, inner = energy.start(), counts.start()
        while True:
            workload.run()
            if time.perf_counter() - started >= seconds:
                break
        counted = inner.stop().counts
        joules = sum(outer.stop().energy_j.values())
        elapsed = time.perf_counter() - started
        samples.append(Sample(workload.label, joules - idle_w * elapsed, dict(counted)))
    return samples, idle_w
