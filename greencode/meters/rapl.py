"""RAPL energy counters read through Linux powercap sysfs (Intel, and AMD Zen on Linux >= 5.11).

Zones live under a root that defaults to ``/sys/class/powercap`` (config ``powercap_root`` or the
``GREENCODE_POWERCAP_ROOT`` variable point elsewhere, e.g. at a tree bind-mounted into a container):
``intel-rapl:N`` are packages (or ``psys``), ``intel-rapl:N:M`` their sub-zones (``core``, ``uncore``,
``dram``), and ``intel-rapl-mmio:N`` a second view of a package counter on some client CPUs.

Only disjoint domains are reported, so their sum is the machine's CPU and memory energy: ``package-N`` and
``dram-N``. ``core`` and ``uncore`` are parts of their package; ``psys`` covers the whole platform and is used
only when there is no package zone at all; an ``intel-rapl-mmio`` zone repeats the package counter and is
read only when the package's ``intel-rapl`` zone is missing or unreadable. Every zone left out is listed in
:attr:`RaplMeter.notes` with the reason.

Each ``energy_uj`` counts microjoules from 0 to ``max_energy_range_uj`` and then wraps to 0. Two reads less
than one wrap apart determine the energy between them exactly; a :class:`~greencode.meters.counters.Poller`
reads the counters while any window is open, often enough (from the range and ``power_bound_w``) that this
always holds, so windows spanning many wraps stay exact.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from greencode.errors import CounterError, CounterPermissionError, MeterUnavailable
from greencode.meters.base import Domain, Scope
from greencode.meters.counters import CounterMeter

if TYPE_CHECKING:
    from greencode.config import Config

DEFAULT_ROOT = Path("/sys/class/powercap")
#: RAPL counters update about every millisecond; polling faster than that learns nothing.
COUNTER_UPDATE_S = 0.001
#: The poller reads each counter at least this many times per wrap period at ``power_bound_w``, so a late
#: wake-up on a loaded machine still leaves two reads less than one wrap apart.
READS_PER_WRAP = 4
#: Added to the time between two reads when judging whether a step is possible: the kernel updates the counter
#: on its own schedule, not at the instants we read our clock.
STEP_SLACK_S = 0.01

_ZONE_ID = re.compile(r"(intel-rapl(?:-mmio)?):(\d+)(?::(\d+))?")
_CONTROL_TYPES = ("intel-rapl", "intel-rapl-mmio")
# "package-0", or "package-0-die-1" on multi-die packages (each die has its own, disjoint zone)
_PACKAGE = re.compile(r"package-(\d+(?:-die-\d+)?)")

Step = Literal["ok", "outside-range", "backwards", "too-fast"]


# ---------------------------------------------------------------------------------------------------------
# wrap arithmetic: pure functions on integer microjoules


def wrap_delta(previous_uj: int, current_uj: int, range_uj: int) -> int:
    """Energy between two reads of a counter that runs from 0 to ``range_uj`` and then wraps to 0.

    Exact when the reads are less than one wrap apart. (The hardware steps in energy units of 15-61 µJ, so the
    step from ``range_uj`` back to 0 is one unit, not 1 µJ: each wrap undercounts by less than one unit.)
    """
    return (current_uj - previous_uj) % (range_uj + 1)


def judge_step(previous_uj: int, current_uj: int, range_uj: int, max_step_uj: float) -> tuple[int, Step]:
    """The microjoules to count for one step of a counter, and whether the step can be explained.

    ``max_step_uj`` is the most energy the counter can have gained since the previous read (power bound times
    the time between the reads). A value outside the counter's range, or a drop that a wrap cannot explain
    (it would mean more than ``max_step_uj`` was used), is counted as nothing. A rise above ``max_step_uj`` is
    counted as read, but means the power bound is too low for the poller to be sure to see every wrap.
    """
    if not 0 <= current_uj <= range_uj:
        return 0, "outside-range"
    delta = wrap_delta(previous_uj, current_uj, range_uj)
    if delta <= max_step_uj:
        return delta, "ok"
    if current_uj < previous_uj:
        return 0, "backwards"
    return delta, "too-fast"


def wrap_seconds(range_uj: int, power_bound_w: float) -> float:
    """The shortest time in which a counter with this range can wrap: when drawing ``power_bound_w``."""
    return (range_uj + 1) / 1e6 / power_bound_w


#: The poller reads at least this often, however long a wrap takes: a huge ``max_energy_range_uj`` or a tiny
#: power bound must not put the poller to sleep for longer than a thread can wait (it would die).
MAX_POLL_S = 3600.0
#: ``energy_uj`` is a 64-bit counter; a larger range is a broken or hostile tree.
MAX_RANGE_UJ = 2**64 - 1
#: Zone files hold one short line; reading more would let a hostile tree (``name`` -> /dev/zero) hang us.
MAX_ZONE_FILE_BYTES = 4096


def poll_interval(shortest_wrap_s: float) -> float:
    """Seconds between background reads, so that every counter is read several times per wrap."""
    return min(MAX_POLL_S, max(COUNTER_UPDATE_S, shortest_wrap_s / READS_PER_WRAP))


# ---------------------------------------------------------------------------------------------------------
# discovery


def read_file(path: Path) -> str:
    """The default reader for zone files: a regular file (sysfs attributes are), of one short line."""
    with open(path, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError(f"{path} is not a regular file")
        return handle.read(MAX_ZONE_FILE_BYTES).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Zone:
    """One powercap zone: ``zone_id`` as in ``intel-rapl:0:2``, its directory, ``name`` and counter range."""

    zone_id: str
    path: Path
    name: str
    range_uj: int

    @property
    def parent_id(self) -> str | None:
        """``intel-rapl:0`` for ``intel-rapl:0:2``; ``None`` for a top-level zone."""
        head = self.zone_id.rpartition(":")[0]
        return head if head.count(":") == 1 else None

    @property
    def energy_file(self) -> Path:
        return self.path / "energy_uj"

    def label(self) -> str:
        return f"{self.zone_id} ({self.name})"


def _zone_dirs(root: Path) -> dict[str, Path]:
    """Zone directories by id, flat (as in /sys/class/powercap) or nested (/sys/devices/virtual/powercap)."""
    found: dict[str, Path] = {}

    def visit(directory: Path, top: bool) -> None:
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            return
        for entry in entries:
            match = _ZONE_ID.fullmatch(entry)
            if match:
                found.setdefault(entry, directory / entry)
                if match.group(3) is None:  # sub-zones may sit inside their package's directory
                    visit(directory / entry, top=False)
            elif top and entry in _CONTROL_TYPES:
                visit(directory / entry, top=False)

    visit(root, top=True)
    return found


def _sort_key(zone_id: str) -> tuple[int, ...]:
    match = _ZONE_ID.fullmatch(zone_id)
    assert match is not None
    return (match.group(1) != "intel-rapl", int(match.group(2)), int(match.group(3) or -1))


def discover_zones(
    root: Path, reader: Callable[[Path], str] = read_file
) -> tuple[tuple[Zone, ...], list[str]]:
    """Every RAPL zone under ``root`` (MSR zones first, then mmio; packages before their sub-zones), and notes
    on zones whose ``name`` or ``max_energy_range_uj`` cannot be read."""
    if not root.is_dir():
        raise MeterUnavailable(
            f"no powercap tree at {root} (no RAPL on this machine or not exposed to this VM/container; "
            "if it is mounted elsewhere, set GREENCODE_POWERCAP_ROOT)"
        )
    dirs = _zone_dirs(root)
    if not dirs:
        raise MeterUnavailable(
            f"no RAPL zones (intel-rapl:*) under {root}: this CPU or kernel exposes no RAPL energy counters"
        )
    zones, notes = [], []
    for zone_id in sorted(dirs, key=_sort_key):
        path = dirs[zone_id]
        try:
            name = reader(path / "name").strip()
            range_uj = int(reader(path / "max_energy_range_uj"))
        except (OSError, ValueError) as exc:
            notes.append(f"{zone_id}: skipped, its name or max_energy_range_uj cannot be read ({exc})")
            continue
        if not 0 < range_uj <= MAX_RANGE_UJ:
            notes.append(f"{zone_id} ({name}): skipped, max_energy_range_uj is {range_uj}")
            continue
        zones.append(Zone(zone_id, path, name, range_uj))
    return tuple(zones), notes


def _domain_of(zone: Zone, top: dict[str, Zone]) -> tuple[str | None, str]:
    """The domain a zone measures, or ``None`` and why it is not summed."""
    parent_id = zone.parent_id
    if parent_id is None:
        match = _PACKAGE.fullmatch(zone.name)
        if match:
            return f"package-{match.group(1)}", ""
        if zone.name == "psys":
            return "psys", ""
        return None, "not a package or psys zone; not summed"
    parent = top.get(parent_id)
    match = _PACKAGE.fullmatch(parent.name) if parent else None
    if match is None:
        return None, f"sub-zone of {parent_id}, which is not a readable package zone; not summed"
    if zone.name == "dram":
        return f"dram-{match.group(1)}", ""
    if zone.name in ("core", "uncore"):
        return None, f"part of package-{match.group(1)}; not summed"
    return None, "unknown sub-zone; not summed"


def plan_domains(zones: Iterable[Zone]) -> tuple[dict[str, list[Zone]], list[str]]:
    """The zones that may supply each reported domain, best first, and notes on the zones left out.

    The domains are disjoint: summing them never counts the same energy twice.
    """
    zones = tuple(zones)
    top = {zone.zone_id: zone for zone in zones if zone.parent_id is None}
    candidates: dict[str, list[Zone]] = {}
    notes = []
    for zone in zones:
        domain, why = _domain_of(zone, top)
        if domain is None:
            notes.append(f"{zone.label()}: {why}")
        else:
            candidates.setdefault(domain, []).append(zone)
    # psys is used only without any package zone; a dram zone always has a package, so psys never meets one
    if "psys" in candidates and any(domain.startswith("package-") for domain in candidates):
        notes.extend(
            f"{zone.label()}: covers the whole platform including the packages; not summed"
            for zone in candidates.pop("psys")
        )
    return candidates, notes


def permission_message(path: Path) -> str:
    """The one-line error for an unreadable counter file, with the immediate and the lasting fix."""
    zone = path.parent  # e.g. /sys/class/powercap/intel-rapl:0:2; the pattern covers its siblings too
    pattern = f"{zone.parent}/{zone.name.partition(':')[0]}:*/energy_uj"
    return (
        f"cannot read {path}: permission denied (since Linux 5.10 only root may read RAPL energy counters). "
        f"Fix until reboot: sudo chmod a+r {pattern}; for good: put the line 'z {pattern} 0444 root root -' "
        "in /etc/tmpfiles.d/greencode-rapl.conf (or use an equivalent udev rule; see docs/meters.md)"
    )


# ---------------------------------------------------------------------------------------------------------
# the meter


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    fds.clear()


class RaplMeter(CounterMeter):
    """Package and DRAM energy of every socket from RAPL counters.

    ``reader`` replaces how files are read (tests inject failures with it; root ignores file modes). Without
    it, each counter file is opened once and re-read with ``pread`` at offset 0, which makes sysfs regenerate
    the value: this keeps a window's overhead to a few microseconds.
    """

    name = "rapl"
    scope: Scope = "machine"
    resolution_s = COUNTER_UPDATE_S
    covers_cpu = True

    def __init__(
        self,
        root: Path = DEFAULT_ROOT,
        *,
        power_bound_w: float = 1000.0,
        reader: Callable[[Path], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(root)
        self.power_bound_w = power_bound_w
        self._reader = reader
        self._clock = clock
        self._fds: list[int] = []
        self._finalizer = weakref.finalize(self, _close_all, self._fds)
        zones, notes = discover_zones(self.root, reader or read_file)
        candidates, more_notes = plan_domains(zones)
        notes.extend(more_notes)
        try:
            chosen = self._choose(candidates, notes)
        except BaseException:
            self._finalizer()
            raise
        if not chosen:
            self._finalizer()
            raise MeterUnavailable(
                f"no usable RAPL package counter under {self.root}: "
                + ("; ".join(notes) or "no package zone")
            )
        #: Zones found but not summed, and why (for ``greencode meters`` to show).
        self.notes: tuple[str, ...] = tuple(notes)
        self._paths = tuple(zone.energy_file for _, zone, _ in chosen)
        self._reads = tuple(read for _, _, read in chosen)
        self._ranges = tuple(zone.range_uj for _, zone, _ in chosen)
        self._wrap_s = tuple(wrap_seconds(r, power_bound_w) for r in self._ranges)
        self._shortest_wrap_s = min(self._wrap_s)
        self._previous: list[int] = [0] * len(chosen)
        self._read_at = 0.0
        self.poll_interval_s = poll_interval(self._shortest_wrap_s)
        domains = tuple(Domain(domain, f"rapl: {zone.energy_file}") for domain, zone, _ in chosen)
        super().__init__(domains, 1e-6, self.poll_interval_s)

    def _open_counter(self, path: Path) -> Callable[[], str | bytes]:
        """A function reading ``path`` now; raises OSError or ValueError if it cannot give a number."""
        if self._reader is not None:
            read: Callable[[], str | bytes] = partial(self._reader, path)
        else:
            fd = os.open(path, os.O_RDONLY)
            self._fds.append(fd)
            read = partial(os.pread, fd, 64, 0)
        int(read())
        return read

    def _choose(
        self, candidates: dict[str, list[Zone]], notes: list[str]
    ) -> list[tuple[str, Zone, Callable[[], str | bytes]]]:
        chosen = []
        for domain, zones in candidates.items():
            failures: list[tuple[Zone, Exception]] = []
            for zone in zones:
                try:
                    read = self._open_counter(zone.energy_file)
                except OSError as exc:
                    if exc.errno in (errno.EMFILE, errno.ENFILE):
                        # not the zone's fault: measuring without it would quietly undercount
                        raise MeterUnavailable(
                            f"cannot open the RAPL counter {zone.energy_file}: {exc.strerror}; raise the "
                            "open-file limit (ulimit -n) or close files"
                        ) from None
                    failures.append((zone, exc))
                    continue
                except ValueError as exc:
                    failures.append((zone, exc))
                    continue
                chosen.append((domain, zone, read))
                notes.extend(
                    f"{f.label()}: unreadable ({exc}); {domain} read from {zone.zone_id}"
                    for f, exc in failures
                )
                notes.extend(
                    f"{other.label()}: same counter as {zone.zone_id}; not summed"
                    for other in zones[len(failures) + 1 :]
                )
                break
            else:
                denied = [zone for zone, exc in failures if isinstance(exc, PermissionError)]
                if denied:
                    raise CounterPermissionError(permission_message(denied[0].energy_file))
                notes.extend(
                    f"{zone.label()}: {domain} not measured, counter unreadable ({exc})"
                    for zone, exc in failures
                )
        return chosen

    def _read_all(self) -> list[int]:
        values = []
        for read, path in zip(self._reads, self._paths, strict=True):
            try:
                values.append(int(read()))
            except PermissionError:
                raise CounterPermissionError(permission_message(path)) from None
            except (OSError, ValueError) as exc:
                raise CounterError(f"cannot read the RAPL counter {path}: {exc}") from None
        return values

    def _advance(self, accumulate: bool) -> None:
        now = self._clock()
        values = self._read_all()
        if accumulate:
            elapsed = now - self._read_at
            max_step = self.power_bound_w * (elapsed + STEP_SLACK_S) * 1e6
            totals, previous, ranges = self._totals, self._previous, self._ranges
            for i, value in enumerate(values):
                before, top = previous[i], ranges[i]
                delta = (value - before) % (top + 1)
                if 0 <= value <= top and delta <= max_step:  # the usual case, kept inline for speed
                    totals[i] += delta
                else:
                    totals[i] += self._unusual_step(i, before, value, max_step, elapsed)
            if elapsed >= self._shortest_wrap_s:
                self._warn_gap(elapsed)
        self._previous = values
        self._read_at = now

    def _warn_gap(self, elapsed: float) -> None:
        for path, wrap_s in zip(self._paths, self._wrap_s, strict=True):
            if elapsed >= wrap_s:
                self._warn(
                    f"rapl: {path} was read {elapsed:.3g} s apart, longer than it takes to wrap at "
                    f"power_bound_w = {self.power_bound_w:g} W ({wrap_s:.3g} s); whole wraps may be missing "
                    "from this energy"
                )

    def _unusual_step(self, i: int, before: int, value: int, max_step: float, elapsed: float) -> int:
        counted, step = judge_step(before, value, self._ranges[i], max_step)
        path = self._paths[i]
        if step == "outside-range":
            self._warn(
                f"rapl: {path} read {value} µJ, outside its range 0..{self._ranges[i]} µJ "
                "(max_energy_range_uj); that step is not counted"
            )
        elif step == "backwards":
            self._warn(
                f"rapl: {path} went backwards from {before} to {value} µJ within {elapsed:.3g} s, more "
                "than a wrap explains; that step is not counted"
            )
        elif step == "too-fast":
            self._warn(
                f"rapl: {path} rose by {counted / 1e6:.6g} J in {elapsed:.3g} s, more than power_bound_w = "
                f"{self.power_bound_w:g} W allows; raise power_bound_w or wraps may go unseen"
            )
        return counted

    def close(self) -> None:
        super().close()
        self._finalizer()


def create(config: Config) -> RaplMeter:
    """Meter factory (entry point ``rapl``): RAPL under ``config.powercap_root``."""
    return RaplMeter(config.resolve(config.powercap_root), power_bound_w=config.power_bound_w)
