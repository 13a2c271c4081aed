"""The one rule for which tests are too small to judge alone, used by both gates.

One reading of a test of a few dozen microseconds is mostly noise: a garbage collection, an interrupt or a
cold cache inside its window can double it, so a gate that judged each such test alone would call unchanged
code a regression somewhere in every large suite, and ``greencode ab`` would keep measuring it without ever
deciding it. And such a test hardly matters: 600 of more-itertools' 664 tests carry less than 5 % of its
suite's energy. So a test measured per test is **judged alone** only when it can be measured and can matter:

- **measurable**: its window is at least :data:`RESOLUTION_WINDOWS` times the meter's jitter per window
  (:func:`greencode.judging.jitter_s`; the estimator's floor :data:`~greencode.judging.MIN_JITTER_S`
  gives 1 ms);
- **matters**: it is among the largest tests that together carry :data:`CARRY_SHARE` of the suite's energy,
  or it uses at least as much as the smallest measurable one of those, or at least :data:`CARRIER_SHARE` of
  the suite on its own (a 2 % test made 1.8× slower moves the total by 1.6 %), or ``min_effect_j`` is set
  and the test alone uses more than that (so its doubling would count).

Tests measured per call (the ``energy`` fixture, pytest-benchmark) are what the user chose to measure and are
always judged alone. Every other test is **small**: judged together with its file's other small tests and in
the suite's total, where a regression spread over many of them still shows; one small test never fails a
check, nor keeps measuring going, on its own.

Both gates size the tests with :class:`Sizing`: the stored-baseline gate from the baseline's entries (and
lets a test that grew into the share in this run count once :data:`greencode.small_tests` rounds confirm it),
``greencode ab`` from the larger of each test's base and head medians (:func:`weigh`), so a small test that
grew large on head is weighed large. Pure functions of the figures: no git, no pytest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from greencode.judging import MIN_CONFIRM_ROUNDS, MIN_JITTER_S
from greencode.units import format_duration, format_percent

if TYPE_CHECKING:
    from greencode.records import BaselineEntry, TestRecord

Role = Literal["alone", "together"]

#: The tests judged alone carry at least this share of the suite's energy (largest first).
CARRY_SHARE = 0.9
#: A test using at least this share of the suite's energy is judged alone wherever it ranks: 1.8 times its
#: energy moves the suite's total by 0.8 % or more, which a developer wants named.
CARRIER_SHARE = 0.01
#: A window shorter than this many times the meter's jitter is near its resolution.
RESOLUTION_WINDOWS = 10


@dataclass(frozen=True)
class Size:
    """What a test used, per unit (``test``, or ``call`` for per-call figures): energy and window (wall
    seconds)."""

    energy_j: float
    window_s: float
    per: str = "test"


@dataclass(frozen=True)
class Sizing:
    """What makes a test large enough to judge alone in one suite (module docstring).

    ``suite_j`` is the suite's energy (tests measured per test); ``large`` the largest tests that carry
    :data:`CARRY_SHARE` of it, ``share_j`` the energy of the smallest measurable one among them."""

    suite_j: float
    share_j: float
    large: frozenset[str]
    jitter_s: float
    min_effect_j: float = 0.0

    @classmethod
    def of(cls, sizes: Mapping[str, Size], jitter: float, min_effect_j: float = 0.0) -> Sizing:
        """The sizing of a suite whose tests used ``sizes``, for a meter with ``jitter`` seconds per window.
        Only tests measured per test with energy above zero count."""
        energies = sorted(
            ((s.energy_j, node_id) for node_id, s in sizes.items() if s.per == "test" and s.energy_j > 0),
            reverse=True,
        )
        suite = math.fsum(energy for energy, _ in energies)
        large, carried, share_j = [], 0.0, math.inf
        for energy, node_id in energies:
            if carried >= CARRY_SHARE * suite:
                break
            large.append(node_id)
            carried += energy
            if sizes[node_id].window_s >= RESOLUTION_WINDOWS * jitter:
                share_j = energy
        return cls(suite, share_j, frozenset(large), jitter, min_effect_j)

    def measurable(self, wall_s: float) -> bool:
        """Whether a window this long is clear of the meter's resolution."""
        return wall_s >= RESOLUTION_WINDOWS * self.jitter_s

    def matters(self, energy_j: float) -> bool:
        """Whether a test using this much energy can matter on its own."""
        return energy_j >= min(self.share_j, CARRIER_SHARE * self.suite_j) or 0 < self.min_effect_j < energy_j

    def carries(self, node_id: str, size: Size) -> bool:
        """Whether a test of this size is judged alone (without the confirming rounds of a grown one)."""
        if size.per != "test":
            return True
        return self.measurable(size.window_s) and (node_id in self.large or self.matters(size.energy_j))

    def alone(self, entry: BaselineEntry, record: TestRecord | None = None) -> bool:
        """Whether a test is judged alone by the stored-baseline gate: by its baseline entry and, when given,
        this run's record (a test that grew counts once :data:`MIN_CONFIRM_ROUNDS` rounds confirm it)."""
        if not per_test(entry):
            return True
        if not self.measurable(max(entry.wall_s, record.wall_s if record is not None else 0.0)):
            return False
        if entry.node_id in self.large or self.matters(entry.centre_j):
            return True
        return self.grown(record) and len(record.samples_j) >= MIN_CONFIRM_ROUNDS  # type: ignore[union-attr]

    def grown(self, record: TestRecord | None) -> bool:
        """Whether this run's reading of a small test (any number of rounds) is as large as a test judged
        alone: more rounds then tell whether it really grew."""
        return record is not None and self.measurable(record.wall_s) and self.matters(record.median_j)

    def share(self, energy_j: float) -> float:
        return energy_j / self.suite_j if self.suite_j > 0 else 0.0

    def why_small(self, size: Size) -> str:
        """Why a test of this size is not judged alone, in a few words."""
        if not self.measurable(size.window_s):
            return (
                f"{format_duration(size.window_s)} per call, near the meter's resolution "
                f"(judged alone from {format_duration(RESOLUTION_WINDOWS * self.jitter_s)})"
            )
        return f"{format_percent(self.share(size.energy_j), signed=False)} of the suite's energy"


def per_test(entry: BaselineEntry) -> bool:
    """Whether a baseline entry is sized: measured per test, with every run above zero."""
    return entry.per == "test" and all(v > 0 for v in entry.runs_j)


@dataclass(frozen=True)
class Weight:
    """One test's weight: its ``share`` of the suite's energy (per-test energies only), its role and, when
    it is judged together, why."""

    node_id: str
    size: Size
    share: float
    role: Role
    why: str = ""


@dataclass(frozen=True)
class Weighing:
    """Every test's weight, by node id."""

    weights: Mapping[str, Weight]

    @property
    def alone(self) -> frozenset[str]:
        return frozenset(n for n, w in self.weights.items() if w.role == "alone")

    @property
    def together(self) -> frozenset[str]:
        return frozenset(n for n, w in self.weights.items() if w.role == "together")

    def groups(self) -> dict[str, tuple[str, ...]]:
        """The small tests by file, in order: each file's sum is judged as one."""
        grouped: dict[str, list[str]] = {}
        for node_id in sorted(self.together):
            grouped.setdefault(file_of(node_id), []).append(node_id)
        return {name: tuple(members) for name, members in sorted(grouped.items())}


def file_of(node_id: str) -> str:
    """The file part of a pytest node id (``tests/test_x.py`` of ``tests/test_x.py::Case::test_y[1]``)."""
    return node_id.split("::", 1)[0]


def weigh(sizes: Mapping[str, Size], *, jitter: float = MIN_JITTER_S, min_effect_j: float = 0.0) -> Weighing:
    """Each test's role by :meth:`Sizing.carries` (module docstring); ``sizes`` are all the suite's tests."""
    sizing = Sizing.of(sizes, jitter, min_effect_j)
    weights = {}
    for node_id, size in sizes.items():
        share = sizing.share(size.energy_j) if size.per == "test" else 0.0
        why = "" if sizing.carries(node_id, size) else sizing.why_small(size)
        weights[node_id] = Weight(node_id, size, share, "together" if why else "alone", why)
    return Weighing(weights)
