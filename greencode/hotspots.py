"""Where a regression's energy went: the functions whose instruction count grew the most.

The ``instructions`` meter keeps, per test, the instructions of its largest functions (``functions``,
``"file:function"`` → count, in records and baseline entries). When a test regresses, :func:`grown_functions`
compares the baseline's mapping with the new one and names the few functions that grew the most: "the
regression is in ``recipes.py:factor``, +140 % instructions". The gate's end of run
(:mod:`greencode.outcome`) attaches them to each regressed test and hands them to the tactics advice.
Python functions (CPython 3.12+, named through the perf trampoline) come before the interpreter's C
functions; where only C functions are known, :func:`hotspots_note` says why, once.
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
    def python(self) -> bool:
        """Whether this is a Python function (named through CPython's perf trampoline), not a C one."""
        # imported here: every run's report imports this module, few runs have a call graph to show
        from greencode.meters.callgrind import is_python_function

        return is_python_function(self.function)

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

    @property
    def python_names(self) -> bool:
        """Whether any row names a Python function (CPython 3.12+ under the meter)."""
        return any(row.python for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "functions": [row.to_dict() for row in self.rows],
            "python_names": self.python_names,
        }


#: Said once under hotspot rows that name no Python function.
C_ONLY_NOTE = (
    "Python function names need Python 3.12+ (CPython's perf trampoline): on older versions these rows are "
    "the interpreter's C functions"
)


def hotspots_note(hotspots: Iterable[Hotspots]) -> str | None:
    """:data:`C_ONLY_NOTE` when some test's rows name only C functions, else None."""
    return C_ONLY_NOTE if any(spot.rows and not spot.python_names for spot in hotspots) else None


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
    that grew by the same amount (within that noise), the innermost comes first (:func:`_callees_first`),
    and Python functions come before C ones.
    """
    total = max(sum(before.values()), sum(after.values()))
    floor = max(1.0, noise_share * total)
    rows = [
        Growth(function, before.get(function, 0), count)
        for function, count in after.items()
        if count - before.get(function, 0) >= floor
    ]
    rows.sort(key=lambda row: (-row.added, row.function))
    ordered = _callees_first(rows, floor)
    # a Python function says where in the user's code the work grew; the interpreter's C functions that
    # did it follow
    ordered = [row for row in ordered if row.python] + [row for row in ordered if not row.python]
    return tuple(ordered[:limit])


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
    spots = tuple(hotspots)
    for spot in spots:
        lines.append(f"{spot.node_id}: {spot.summary()}")
        lines += [f"  {row.describe()}" for row in spot.rows]
    note = hotspots_note(spots)
    return [*lines, f"note: {note}"] if note else lines
