"""Which tests carry a suite's energy, and which are too small to matter on their own.

Deciding every test alone is what makes comparing expensive: a test of 40 µJ next to a 200 mJ one is mostly
its measuring window's own noise, its interval stays wide however often it runs, and its change cannot move
the suite's energy. So tests are weighed once, from what both versions measured (the larger of the two, so a
tiny test that grew large is weighed large), and each is judged either

- **alone**: it carries at least :data:`CARRIER_SHARE` of the suite's energy, its window is long enough to
  measure (:data:`NEAR_RESOLUTION_S`), and a change by ``fail_on`` would exceed ``min_effect_j``; tests
  measured per call (the ``energy`` fixture, benchmarks) are always judged alone, being what the user chose to
  measure; or
- **together** with the other small tests of its file, and in the suite's total: a regression spread over many
  small tests still shows in those sums.

Pure functions of the figures: no git, no pytest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from greencode.units import format_energy, format_percent

Role = Literal["alone", "together"]

#: A test carrying less than this share of the suite's energy cannot move the suite's total by much: at
#: 1.8 times its energy it adds under 1 %. It is judged with its file's other small tests instead.
CARRIER_SHARE = 0.01
#: A window shorter than this is near the meter's resolution: RAPL counters update about every millisecond,
#: so such a window sees one update or none, and the estimator's window costs about 20 µs of its own.
NEAR_RESOLUTION_S = 0.001


@dataclass(frozen=True)
class Size:
    """What a test measured, the larger of base and head: energy and window (wall seconds), per unit."""

    energy_j: float
    window_s: float
    per: str = "test"


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


def weigh(sizes: Mapping[str, Size], *, fail_on: float, min_effect_j: float = 0.0) -> Weighing:
    """Each test's role (module docstring). Shares are of the total over tests measured per test."""
    total = sum(s.energy_j for s in sizes.values() if s.per == "test" and s.energy_j > 0)
    weights = {}
    for node_id, size in sizes.items():
        share = size.energy_j / total if size.per == "test" and total > 0 else 0.0
        why = "" if size.per != "test" else _too_small(size, share, fail_on, min_effect_j)
        weights[node_id] = Weight(node_id, size, share, "together" if why else "alone", why)
    return Weighing(weights)


def _too_small(size: Size, share: float, fail_on: float, min_effect_j: float) -> str:
    if share < CARRIER_SHARE:
        return f"{format_percent(share, signed=False)} of the suite's energy"
    if size.window_s < NEAR_RESOLUTION_S:
        return f"a {size.window_s * 1e3:.2g} ms window, near the meter's resolution"
    if size.energy_j * fail_on <= min_effect_j:
        return (
            f"a change by fail_on ({format_energy(size.energy_j * fail_on)}) is within min_effect_j "
            f"{format_energy(min_effect_j)}"
        )
    return ""
