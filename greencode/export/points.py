"""What an exporter sends: one point per measured test, with the run's attributes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greencode.fingerprint import Fingerprint
    from greencode.records import TestRecord
    from greencode.results_file import RunInfo
    from greencode.vcs import VcsState


@dataclass(frozen=True)
class Point:
    """One test's figures in one run. ``energy_j`` and ``co2e_g`` are per ``per`` (a call or the test);
    ``instructions`` only when a counting meter knew it; ``estimated`` when the energy is a model's."""

    test_id: str
    per: str
    energy_j: float
    co2e_g: float | None
    instructions: int | None
    meter: str
    estimated: bool
    commit: str
    branch: str
    machine: str

    def attributes(self) -> dict[str, str | bool]:
        """The attributes every exporter attaches (OpenTelemetry attribute names)."""
        return {
            "test.id": self.test_id,
            "greencode.per": self.per,
            "greencode.meter": self.meter,
            "greencode.estimated": self.estimated,
            "vcs.commit": self.commit,
            "vcs.branch": self.branch,
            "greencode.machine": self.machine,
        }


def points(records: Iterable[TestRecord], run: RunInfo, fingerprint: Fingerprint) -> list[Point]:
    commit, branch = vcs_labels(run.vcs)
    return [
        Point(
            test_id=record.node_id,
            per=record.per,
            energy_j=record.median_j,
            co2e_g=record.co2e_g,
            instructions=record.instructions,
            meter=record.meter,
            estimated=record.estimated,
            commit=commit,
            branch=branch,
            machine=fingerprint.describe(),
        )
        for record in sorted(records, key=lambda r: r.node_id)
    ]


def vcs_labels(vcs: VcsState | None) -> tuple[str, str]:
    """The commit (``+dirty`` when the work tree had uncommitted changes) and branch a point is labelled
    with; empty outside git."""
    if vcs is None:
        return "", ""
    return vcs.commit + ("+dirty" if vcs.dirty else ""), vcs.branch or ""
