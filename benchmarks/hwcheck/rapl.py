"""RAPL through powercap: zones, readability, busy against idle, the update interval, the poller, no double
counting. Every read goes through ``greencode.meters.rapl`` (its discovery, planner, meter and wrap
arithmetic)."""

from __future__ import annotations

import itertools
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from greencode.errors import CounterPermissionError, GreencodeError, MeterUnavailable
from greencode.meters import rapl
from greencode.meters.base import Reading
from hwcheck.report import (
    Section,
    check_line,
    joules,
    log,
    outcomes,
    percent,
    relative,
    table,
    verdict,
    watts,
)
from hwcheck.settings import Settings

Workload = Callable[[float], object]
#: One busy core must raise package power by more than this fraction of idle power (a core adds watts; the
#: noise between two quiet seconds is far below that).
MIN_RISE = 0.02


def spin(seconds: float) -> int:
    """Keep one core busy for ``seconds`` (integer arithmetic, no memory traffic to speak of)."""
    end = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < end:
        for _ in range(1000):
            count += 1
    return count


@contextmanager
def one_core() -> Iterator[str]:
    """Pin this process to one CPU while the block runs; yields what was done, for the report."""
    if not hasattr(os, "sched_setaffinity"):
        yield "not pinned (no sched_setaffinity here)"
        return
    allowed = os.sched_getaffinity(0)
    cpu = min(allowed)
    os.sched_setaffinity(0, {cpu})
    try:
        yield f"pinned to CPU {cpu}"
    finally:
        os.sched_setaffinity(0, allowed)


# ---------------------------------------------------------------------------------------------------------
# raw zone reads, for the zones the meter deliberately leaves out (core, uncore, psys, mmio)


Reader = Callable[[Path], str]


def snapshot(zones: Sequence[rapl.Zone], read: Reader) -> dict[str, int]:
    values = {}
    for zone in zones:
        try:
            values[zone.zone_id] = int(read(zone.energy_file))
        except (OSError, ValueError):
            continue
    return values


def zone_deltas_j(zones: Sequence[rapl.Zone], before: Mapping[str, int], after: Mapping[str, int]) -> dict:
    return {
        zone.zone_id: rapl.wrap_delta(before[zone.zone_id], after[zone.zone_id], zone.range_uj) / 1e6
        for zone in zones
        if zone.zone_id in before and zone.zone_id in after
    }


@dataclass(frozen=True)
class Window:
    """One measured window: what the meter read, what every zone read, and how long it lasted."""

    reading: Reading
    zones_j: Mapping[str, float]
    seconds: float

    @property
    def total_j(self) -> float:
        return sum(self.reading.energy_j.values())

    def domain_w(self, domain: str) -> float:
        return self.reading.energy_j.get(domain, 0.0) / self.seconds if self.seconds else 0.0


def measure(
    meter: rapl.RaplMeter, zones: Sequence[rapl.Zone], read: Reader, work: Workload, seconds: float
) -> Window:
    before = snapshot(zones, read)
    started = time.perf_counter()
    window = meter.start()
    work(seconds)
    reading = window.stop()
    elapsed = time.perf_counter() - started
    return Window(reading, zone_deltas_j(zones, before, snapshot(zones, read)), elapsed)


# ---------------------------------------------------------------------------------------------------------
# the counter's update interval, seen through back-to-back windows


@dataclass(frozen=True)
class UpdateProbe:
    windows: int
    updates: Mapping[str, int]
    median_interval_s: Mapping[str, float | None]


def probe_updates(meter: rapl.RaplMeter, seconds: float) -> UpdateProbe:
    """Back-to-back windows for ``seconds``; a domain's window reads more than 0 J when its counter moved."""
    changes: dict[str, list[float]] = {domain.name: [] for domain in meter.domains()}
    count = 0
    end = time.perf_counter() + seconds
    window = meter.start()
    while True:
        now = time.perf_counter()
        reading = window.stop()
        window = meter.start()
        count += 1
        for name, energy in reading.energy_j.items():
            if energy > 0:
                changes[name].append(now)
        if now >= end:
            break
    window.stop()
    intervals = {
        name: statistics.median(b - a for a, b in itertools.pairwise(times)) if len(times) > 1 else None
        for name, times in changes.items()
    }
    return UpdateProbe(count, {name: len(times) for name, times in changes.items()}, intervals)


# ---------------------------------------------------------------------------------------------------------
# the poller


class PollerReads:
    """greencode's own file reader, counting the reads the meter's poller thread makes."""

    def __init__(self, read: Reader) -> None:
        self.count = 0
        self._read = read
        self._lock = threading.Lock()

    def __call__(self, path: Path) -> str:
        if threading.current_thread().name == "greencode-rapl-poller":
            with self._lock:
                self.count += 1
        return self._read(path)


def check_poller(
    root: Path, reference: rapl.RaplMeter, settings: Settings, idle: Workload, read: Reader
) -> list[str]:
    """A meter whose poller reads every ``poller_interval_s``, over a window several intervals long, against
    the reference meter (which does not poll during so short a window) over the same window."""
    bound = reference.power_bound_w * reference.poll_interval_s / settings.poller_interval_s
    reads = PollerReads(read)
    with rapl.RaplMeter(root, power_bound_w=bound, reader=reads) as polled:
        outer = reference.start()
        inner = polled.start()
        polling = polled.polling
        idle(settings.poller_window_s)
        polled_j = sum(inner.stop().energy_j.values())
        reference_j = sum(outer.stop().energy_j.values())
        counters = len(polled.domains())
        interval = polled.poll_interval_s
    expected = settings.poller_window_s / interval
    seen = reads.count / counters
    difference = relative(polled_j, reference_j)
    agrees = (difference is not None and abs(difference) <= 0.01) or abs(polled_j - reference_j) < 1e-3
    return [
        f"Poller: power_bound_w = {bound:.4g} W gives a read every {interval:.3g} s; one window of "
        f"{settings.poller_window_s:g} s.",
        check_line(polling, "the poller was active while the window was open"),
        check_line(
            seen >= max(1.0, expected / 2),
            f"it read each counter {seen:.3g} times (about {expected:.3g} expected)",
        ),
        check_line(
            agrees,
            f"the polled window read {joules(polled_j)}, the same window unpolled {joules(reference_j)} "
            f"(difference {percent(difference)}; within 1 % expected)",
        ),
    ]


# ---------------------------------------------------------------------------------------------------------
# no double counting


def _summed(window: Window, prefix: str) -> float:
    return sum(j for name, j in window.reading.energy_j.items() if name.startswith(prefix))


def check_double_counting(meter: rapl.RaplMeter, zones: Sequence[rapl.Zone], busy: Window) -> list[str]:
    """The meter's total is its package and DRAM zones', and every part zone fits inside its package."""
    by_id = {zone.zone_id: zone for zone in zones}
    chosen = {domain.source.removeprefix("rapl: ") for domain in meter.domains()}
    chosen_j = sum(j for zone_id, j in busy.zones_j.items() if str(by_id[zone_id].energy_file) in chosen)
    difference = relative(busy.total_j, chosen_j)
    names = [domain.name for domain in meter.domains()]
    lines = [
        check_line(
            all(name.startswith(("package-", "dram-", "psys")) for name in names)
            and not (any(n == "psys" for n in names) and any(n.startswith("package-") for n in names)),
            f"the meter sums only disjoint domains: {', '.join(names)}",
        ),
        check_line(
            difference is not None and abs(difference) <= 0.02,
            f"the meter's busy total {joules(busy.total_j)} equals its zones read directly "
            f"{joules(chosen_j)} (difference {percent(difference)}; within 2 % expected, the reads are "
            "microseconds apart)",
        ),
    ]
    packages = {
        zone.zone_id: zone for zone in zones if zone.parent_id is None and zone.name.startswith("pack")
    }
    for zone in zones:
        parent = packages.get(zone.parent_id or "")
        if parent is None or zone.name not in ("core", "uncore"):
            continue
        part_j, package_j = busy.zones_j.get(zone.zone_id), busy.zones_j.get(parent.zone_id)
        if part_j is None or package_j is None:
            continue
        lines.append(
            check_line(
                part_j <= package_j * 1.01 + 1e-3,
                f"{zone.label()} {joules(part_j)} fits inside {parent.label()} {joules(package_j)}, "
                "so it is not summed",
            )
        )
    package_total = sum(busy.zones_j.get(zone_id, 0.0) for zone_id in packages)
    for zone in zones:
        if zone.name == "psys" and zone.zone_id in busy.zones_j and package_total:
            psys_j = busy.zones_j[zone.zone_id]
            lines.append(
                check_line(
                    psys_j >= package_total * 0.99,
                    f"{zone.label()} {joules(psys_j)} covers the packages' {joules(package_total)}, "
                    "so it is summed only without package zones",
                )
            )
        if zone.zone_id.startswith("intel-rapl-mmio") and zone.zone_id in busy.zones_j:
            twin = next((p for p in packages.values() if p.name == zone.name), None)
            if twin is not None and twin.zone_id in busy.zones_j:
                twin_j = busy.zones_j[twin.zone_id]
                lines.append(
                    f"- {zone.label()} read {joules(busy.zones_j[zone.zone_id])} against "
                    f"{twin.label()} {joules(twin_j)}: a second view of one counter, not summed"
                )
    return lines


# ---------------------------------------------------------------------------------------------------------
# the part


def _zone_rows(zones: Sequence[rapl.Zone], plan_notes: Sequence[str], read: Reader) -> list[list[str]]:
    rows = []
    for zone in zones:
        try:
            int(read(zone.energy_file))
            readable = "yes"
        except PermissionError:
            readable = "no: permission denied (the fix is below)"
        except (OSError, ValueError) as exc:
            readable = f"no: {exc}"
        summed = next(
            (note.split(": ", 1)[1] for note in plan_notes if note.startswith(zone.label())), "summed"
        )
        wrap_min = rapl.wrap_seconds(zone.range_uj, 200.0) / 60
        rows.append(
            [
                zone.zone_id,
                zone.name,
                zone.parent_id or "–",
                f"{zone.range_uj / 1e6:,.0f} J ({wrap_min:.3g} min at 200 W)",
                readable,
                summed,
            ]
        )
    return rows


def check(
    settings: Settings,
    *,
    busy: Workload = spin,
    idle: Workload = time.sleep,
    reader: Reader | None = None,
) -> Section:
    """The RAPL part. ``busy``, ``idle`` and ``reader`` are for tests (workloads that move a fake tree's
    counters, a reader that fails); by default the meter reads its counters as it always does."""
    root = settings.powercap()
    read = reader or rapl.read_file
    try:
        zones, discovery_notes = rapl.discover_zones(root, read)
    except MeterUnavailable as exc:
        return Section("rapl", "absent", f"no RAPL: {exc}", (f"Not available: {exc}",))
    _, plan_notes = rapl.plan_domains(zones)
    rows = _zone_rows(zones, plan_notes, read)
    body = [
        f"Powercap root: `{root}`; {len(zones)} zone(s).",
        "",
        *table(["zone", "name", "part of", "counter range", "readable", "summed"], rows),
        "",
        *(f"- {note}" for note in discovery_notes),
    ]
    try:
        meter = rapl.RaplMeter(root, reader=reader)
    except CounterPermissionError as exc:
        body += ["", f"**Not readable**: {exc}"]
        return Section("rapl", "fail", "counters not readable (fix in the section)", tuple(body))
    except GreencodeError as exc:
        body += ["", f"**greencode cannot use these zones**: {exc}"]
        return Section("rapl", "fail", f"zones found but not usable: {exc}", tuple(body))
    checks: list[bool] = []
    with meter:
        body += [
            "",
            "Domains greencode sums: " + ", ".join(f"`{d.name}` ({d.source})" for d in meter.domains()),
        ]
        body += [f"- not summed: {note}" for note in meter.notes]

        log("rapl: probing the update interval")
        probe = probe_updates(meter, settings.interval_probe_s)
        body += [
            "",
            f"Update interval: {probe.windows} back-to-back windows over {settings.interval_probe_s:g} s.",
        ]
        for name, updates in probe.updates.items():
            interval = probe.median_interval_s[name]
            seen = f"median {interval * 1000:.3g} ms between updates" if interval else "no interval seen"
            checks.append(updates > 0)
            body.append(check_line(updates > 0, f"`{name}` moved in {updates} windows; {seen}"))

        log("rapl: idle window")
        idle_window = measure(meter, zones, read, idle, settings.idle_s)
        log("rapl: busy window on one core")
        with one_core() as pinned:
            busy_window = measure(meter, zones, read, busy, settings.busy_s)
        rows = []
        for domain in meter.domains():
            idle_w, busy_w = idle_window.domain_w(domain.name), busy_window.domain_w(domain.name)
            rows.append([f"`{domain.name}`", watts(idle_w), watts(busy_w), watts(busy_w - idle_w)])
        body += [
            "",
            f"Busy loop on one core ({pinned}) for {settings.busy_s:g} s against {settings.idle_s:g} s "
            "asleep:",
            "",
            *table(["domain", "idle", "busy", "busy − idle"], rows),
            "",
        ]
        idle_package = _summed(idle_window, "package-") / idle_window.seconds
        busy_package = _summed(busy_window, "package-") / busy_window.seconds
        rises = busy_package > idle_package * (1 + MIN_RISE)
        checks.append(rises)
        body.append(
            check_line(
                rises,
                f"package power rose from {watts(idle_package)} to {watts(busy_package)} "
                f"({percent(relative(busy_package, idle_package))}; more than {MIN_RISE * 100:g} % expected)",
            )
        )
        for name in ("idle", "busy"):
            warnings = (idle_window if name == "idle" else busy_window).reading.warnings
            body += [f"- warning in the {name} window: {w}" for w in warnings]

        log("rapl: double counting")
        counting = check_double_counting(meter, zones, busy_window)
        checks += outcomes(counting)
        body += ["", "Double counting (busy window):", *counting]

        log("rapl: the poller")
        poller = check_poller(root, meter, settings, idle, read)
        checks += outcomes(poller)
        body += ["", *poller]
    status = verdict(checks)
    summary = (
        f"{len(meter.domains())} domain(s); package {watts(idle_package)} idle → {watts(busy_package)} busy"
    )
    return Section("rapl", status, summary, tuple(body))
