"""Energy by file: where a suite's energy goes, one row per test file (the part of a node id before ``::``).

Only energy spent once is added up — per-test figures, as in the report's total; per-call figures are rates
and are left out (:attr:`Report.totalled`). Shown for pytest results and the history when the tests come
from more than one file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greencode.report.model import Report

#: Report kinds whose entry names are pytest node ids.
_NODE_ID_KINDS = ("pytest", "history")


@dataclass(frozen=True)
class FileEnergy:
    """One test file's share of the run: its tests' summed median energy and their share of the total."""

    path: str
    tests: int
    energy_j: float
    share: float
    estimated: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "tests": self.tests,
            "energy_j": self.energy_j,
            "share": self.share,
            "estimated": self.estimated,
        }


def energy_by_file(report: Report) -> tuple[FileEnergy, ...]:
    """One row per test file, most energy first; empty when the report does not hold several files."""
    if report.kind not in _NODE_ID_KINDS:
        return ()
    groups: dict[str, list[Any]] = {}
    for test in report.totalled:
        groups.setdefault(test.name.partition("::")[0], []).append(test)
    if len(groups) < 2:
        return ()
    total = report.total_energy_j
    rows = []
    for path, tests in groups.items():
        energy = math.fsum(t.energy.median_j for t in tests)
        rows.append(
            FileEnergy(
                path,
                len(tests),
                energy,
                energy / total if total > 0 else 0.0,
                any(t.estimated for t in tests),
            )
        )
    return tuple(sorted(rows, key=lambda row: (-row.energy_j, row.path)))


def table(report: Report) -> list[list[str]]:
    """The rows as text cells under a header (file, energy, share, tests); empty when there are none."""
    from greencode.units import format_energy

    rows = energy_by_file(report)
    if not rows:
        return []
    return [
        ["file", "energy", "share", "tests"],
        *(
            [
                row.path,
                format_energy(row.energy_j) + (" (est.)" if row.estimated else ""),
                f"{row.share:.1%}",
                str(row.tests),
            ]
            for row in rows
        ),
    ]
