"""perf_event_open: whether user-space instructions can be counted, and a fixed loop counted twice.

The counting is the ``instructions`` meter's, with its perf backend forced (under Valgrind the meter would
pick callgrind); this part only drives it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from greencode.config import Config
from greencode.errors import MeterUnavailable
from greencode.meters import instructions
from hwcheck.machine import first_line
from hwcheck.report import Section, check_line, percent, relative, table, verdict
from hwcheck.settings import Settings

if TYPE_CHECKING:
    from greencode.meters.perf import Syscalls

#: Two counts of the same loop must agree within this (the perf backend declares 0.5 % run-to-run noise).
SPREAD = 0.01


def fixed_loop(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total += i
    return total


def check(settings: Settings) -> Section:
    syscalls: Syscalls | None = settings.make(settings.perf_syscalls) if settings.perf_syscalls else None
    paranoid = first_line("/proc/sys/kernel/perf_event_paranoid")
    config = Config()
    config = replace(config, instructions=replace(config.instructions, backend="perf"))
    try:
        meter = instructions.create(config, syscalls=syscalls)
    except MeterUnavailable as exc:
        reason = f"no user-space instruction counts: {exc}"
        return Section(
            "perf", "absent", reason, (f"Not available (perf_event_paranoid = {paranoid}): {exc}",)
        )
    try:
        readings = []
        for _ in range(2):
            window = meter.start()
            fixed_loop(settings.perf_loop)
            readings.append(window.stop())
    finally:
        meter.close()
    names = list(meter.backend.counts)
    rows = [[f"run {i}", *(f"{r.counts.get(n, 0):,}" for n in names)] for i, r in enumerate(readings, 1)]
    first, second = (r.counts.get("instructions", 0) for r in readings)
    spread = relative(second, first)
    checks = [first > 0 and second > 0, spread is not None and abs(spread) <= SPREAD]
    body = [
        f"perf_event_paranoid = {paranoid}; counts the PMU gives: {', '.join(names)}.",
        f"A loop of {settings.perf_loop:,} additions, counted twice by the instructions meter (perf):",
        "",
        *table(["", *names], rows),
        "",
        check_line(checks[0], "user-space instructions are counted"),
        check_line(
            checks[1], f"the two counts differ by {percent(spread)} (within {SPREAD * 100:g} % expected)"
        ),
        f"- {first / settings.perf_loop:.3g} instructions per iteration; model energy of one run "
        f"{readings[0].energy_j['cpu']:.4g} J ({meter.domains()[0].source})",
        *(f"- warning: {w}" for r in readings for w in r.warnings),
    ]
    summary = f"{first:,} and {second:,} instructions for the same loop ({percent(spread)})"
    return Section("perf", verdict(checks), summary, tuple(body))
