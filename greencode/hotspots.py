"""Where a regression's energy went: the functions whose instruction count grew the most.

The ``instructions`` meter keeps, per test, the instructions of its largest functions (``functions``,
``"file:function"`` → count, in records and baseline entries). When a test regresses, :func:`grown_functions`
compares the baseline's mapping with the new one and names the few functions that grew the most: "the
regression is in ``recipes.py:factor``, +140 % instructions". The gate's end of run
(:mod:`greencode.outcome`) attaches them to each regressed test and hands them to the tactics advice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Rows shown per regressed test.
MAX_ROWS = 5
#: A function's growth below this share of the test's instructions is run-to-run noise, not a cause
#: (the meter's own spread is about 0.003 % per process and 0.3 % per test: docs/instructions.md).
NOISE_SHARE = 0.005


@dataclass(frozen=True)
class Growth:
    """One function's instructions in the baseline (``before``) and now (``after``); 0 on a side where it
    was not among the listed functions (``new``: only the new run lists it)."""

    function: str
    before: int
    after: int

    @property
    def added(self) -> int:
        return self.after - self.before

    @property
    def new(self) -> bool:
        return self.before == 0

    @property
    def relative(self) -> float | None:
        """Growth as a fraction of the baseline's count; None for a new function."""
        return None if self.new else self.added / self.before

    @property
    def file(self) -> str:
        return self.function.rpartition(":")[0]

    @property
    def name(self) -> str:
        return self.function.rpartition(":")[2]

    def describe(self) -> str:
        """``recipes.py:factor +1,200,000 instructions (+140 %)``."""
        relative = self.relative
        change = "new" if relative is None else f"{relative * 100:+.0f} %"
        return f"{self.function} {self.added:+,} instructions ({change})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "before": self.before,
            "after": self.after,
            "added": self.added,
            "relative": self.relative,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Growth:
        function, before, after = data.get("function"), data.get("before"), data.get("after")
        if not (isinstance(function, str) and type(before) is int and type(after) is int):
            raise ValueError("a hotspot needs 'function' (text) and whole numbers 'before' and 'after'")
        return cls(function, before, after)


@dataclass(frozen=True)
class Hotspots:
    """The functions that grew the most in one regressed test, largest growth first."""

    node_id: str
    rows: tuple[Growth, ...]

    def summary(self) -> str:
        """``the regression is in `recipes.py:factor`, +140 % instructions``."""
        top = self.rows[0]
        relative = top.relative
        change = "a new function" if relative is None else f"{relative * 100:+.0f} % instructions"
        return f"the regression is in `{top.function}`, {change}"

    def to_dict(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "functions": [row.to_dict() for row in self.rows]}


def grown_functions(
    before: Mapping[str, int],
    after: Mapping[str, int],
    *,
    limit: int = MAX_ROWS,
    noise_share: float = NOISE_SHARE,
) -> tuple[Growth, ...]:
    """The functions of ``after`` that grew most against ``before``, largest absolute growth first.

    Growth below ``noise_share`` of the test's instructions (the larger side's sum) is left out, and so
    are functions that shrank or vanished: they are not where the energy went. Functions listed on only one
    side count as 0 on the other (a function new in ``after`` grew by all of its count). Among functions
    that grew by the same amount (within that noise), the innermost comes first (:func:`_callees_first`).
    """
    total = max(sum(before.values()), sum(after.values()))
    floor = max(1.0, noise_share * total)
    rows = [
        Growth(function, before.get(function, 0), count)
        for function, count in after.items()
        if count - before.get(function, 0) >= floor
    ]
    rows.sort(key=lambda row: (-row.added, row.function))
    return tuple(_callees_first(rows, floor)[:limit])


def _callees_first(rows: list[Growth], floor: float) -> list[Growth]:
    """Python functions' counts are inclusive: a caller grows by as much as the callee that did the work.
    Rows whose growth is the same within ``floor`` keep the smallest total first: the innermost function,
    where the work was added, rather than the test or helper that called it."""
    ordered: list[Growth] = []
    group: list[Growth] = []
    for row in rows:  # rows come largest growth first
        if group and group[0].added - row.added >= floor:
            ordered += sorted(group, key=lambda r: (r.after, r.function))
            group = []
        group.append(row)
    return ordered + sorted(group, key=lambda r: (r.after, r.function))


def regression_hotspots(
    regressed: Iterable[str],
    now: Mapping[str, Mapping[str, int]],
    baseline: Mapping[str, Mapping[str, int]],
) -> tuple[Hotspots, ...]:
    """Hotspots of each ``regressed`` test that both ``now`` and ``baseline`` carry functions for."""
    found = []
    for node_id in regressed:
        after, before = now.get(node_id), baseline.get(node_id)
        if after and before:
            rows = grown_functions(before, after)
            if rows:
                found.append(Hotspots(node_id, rows))
    return tuple(found)


def hotspot_lines(hotspots: Iterable[Hotspots]) -> list[str]:
    """Each regressed test's summary line, then one line per grown function (indented two spaces)."""
    lines = []
    for spot in hotspots:
        lines.append(f"{spot.node_id}: {spot.summary()}")
        lines += [f"  {row.describe()}" for row in spot.rows]
    return lines
