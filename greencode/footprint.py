"""greencode's own footprint: the time, and the estimated energy, that measuring added to a run.

A tool that makes energy visible must show its own. What measuring adds is timed as it happens — the extra
rounds of a test (the plugin), the pairs after the first and the setting up of the two sides (``greencode
ab``) — as wall-clock time and as CPU time of this process and the child processes it waited for. The
energy is the estimator's figure for that CPU time (its watts per thread for this CPU,
:mod:`greencode.meters.estimate`), and is always labelled as an estimate: no meter measured it. Work that
was not timed is not counted, and the report says what was.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from greencode.errors import GreencodeError
from greencode.units import format_energy, format_percent

if TYPE_CHECKING:
    from greencode.config import Config


#: The parts of measuring that are timed, as reports name them.
EXTRA_ROUNDS = "extra rounds"
EXTRA_PAIRS = "pairs after the first"
SETTING_UP = "setting up both sides"


@dataclass(frozen=True)
class Spent:
    """Time one part of measuring took: ``what`` it was, wall-clock and CPU seconds (with waited-for
    children)."""

    what: str
    wall_s: float
    cpu_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "wall_s": self.wall_s, "cpu_s": self.cpu_s}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Spent:
        return cls(str(data["what"]), float(data["wall_s"]), float(data["cpu_s"]))


def added_up(parts: Iterable[Spent]) -> tuple[Spent, ...]:
    """``parts`` with those of the same name (one per xdist worker) added together, in first-seen order."""
    totals: dict[str, tuple[float, float]] = {}
    for part in parts:
        wall, cpu = totals.get(part.what, (0.0, 0.0))
        totals[part.what] = (wall + part.wall_s, cpu + part.cpu_s)
    return tuple(Spent(what, wall, cpu) for what, (wall, cpu) in totals.items())


def _cpu_now() -> float:
    from greencode.meters.estimate import children_cpu_s

    return time.process_time() + children_cpu_s()


class Stopwatch:
    """Times a block: ``with Stopwatch() as watch: ...`` then ``watch.wall_s`` and ``watch.cpu_s``; used
    again, it adds the new block's time to what it holds."""

    def __init__(self) -> None:
        self.wall_s = 0.0
        self.cpu_s = 0.0
        self._started = (0.0, 0.0)

    def __enter__(self) -> Stopwatch:
        self._started = (time.perf_counter(), _cpu_now())
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        wall, cpu = self._started
        self.wall_s += time.perf_counter() - wall
        self.cpu_s += max(_cpu_now() - cpu, 0.0)

    def spent(self, what: str) -> Spent:
        return Spent(what, self.wall_s, self.cpu_s)


@dataclass(frozen=True)
class Footprint:
    """What measuring added to a run of ``run_s`` seconds (wall clock, all of it): the timed ``parts``, and
    their energy at ``watts_per_thread`` (None: no power figure for this CPU), always an estimate.
    ``workers`` > 1: the parts were timed in that many parallel processes, so they may add up to more than
    the run's own wall-clock time."""

    run_s: float
    parts: tuple[Spent, ...]
    watts_per_thread: float | None
    power_source: str
    workers: int = 0

    @property
    def added_s(self) -> float:
        return sum(part.wall_s for part in self.parts)

    @property
    def added_cpu_s(self) -> float:
        return sum(part.cpu_s for part in self.parts)

    @property
    def tests_s(self) -> float:
        """The run's time less what measuring added: what the tests alone took (never below zero)."""
        return max(self.run_s - (0.0 if self.workers > 1 else self.added_s), 0.0)

    @property
    def share(self) -> float | None:
        """The added time relative to the tests' own (None when that is zero)."""
        return self.added_s / self.tests_s if self.tests_s > 0 else None

    @property
    def added_j(self) -> float | None:
        """The estimator's energy for the added CPU time."""
        return None if self.watts_per_thread is None else self.added_cpu_s * self.watts_per_thread

    def line(self) -> str:
        """E.g. ``greencode: measuring added 3.1 s to 14.2 s of tests (+22%: extra rounds 3.1 s), about 7 J
        (estimated)``; or ``greencode: measuring added no extra rounds to 14.2 s of tests (...)``."""
        if not any(part.wall_s > 0 for part in self.parts):
            # e.g. "no extra rounds": one round per test, the default when only measuring
            what = " or ".join(dict.fromkeys(part.what for part in self.parts)) or "timed work"
            return (
                f"greencode: measuring added no {what} to {self.tests_s:.1f} s of tests "
                "(opening and closing each window is not timed)"
            )
        share = "" if self.share is None else f"{format_percent(self.share)}: "
        what = ", ".join(f"{p.what} {p.wall_s:.1f} s" for p in self.parts if p.wall_s > 0)
        workers = f" over {self.workers} workers" if self.workers > 1 else ""
        energy = (
            f"energy unknown ({self.power_source})"
            if self.added_j is None
            else f"about {format_energy(self.added_j)} (estimated)"
        )
        return (
            f"greencode: measuring added {self.added_s:.1f} s{workers} to {self.tests_s:.1f} s of tests "
            f"({share}{what}), {energy}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line(),
            "run_s": self.run_s,
            "tests_s": self.tests_s,
            "added_s": self.added_s,
            "added_cpu_s": self.added_cpu_s,
            "share": self.share,
            "added_j": self.added_j,
            "added_j_estimated": True,
            "watts_per_thread": self.watts_per_thread,
            "power_source": self.power_source,
            "workers": self.workers,
            "parts": [part.to_dict() for part in self.parts],
        }


def footprint(run_s: float, parts: Iterable[Spent], config: Config, workers: int = 0) -> Footprint:
    """The footprint of a run of ``run_s`` seconds whose measuring took ``parts``, with the estimator's
    power figure for this CPU from ``config`` (none, and why, when it cannot be had)."""
    from greencode.fingerprint import detect_host
    from greencode.meters.estimate import build_power_model, codecarbon_table_path

    try:
        model = build_power_model(config.estimator, detect_host(), codecarbon_table_path())
    except GreencodeError as exc:
        watts, source = None, f"no CPU power figure: {exc}"
    else:
        watts, source = model.watts_per_thread, model.provenance
    return Footprint(run_s, added_up(parts), watts, source, workers)
