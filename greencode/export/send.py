"""Export a finished run wherever the configuration asks (``otel``, ``prometheus``); warnings only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from greencode.export.points import Point, points

if TYPE_CHECKING:
    from greencode.config import Config
    from greencode.fingerprint import Fingerprint
    from greencode.records import TestRecord
    from greencode.results_file import RunInfo


def export_points(config: Config, exported: list[Point], finished: float) -> list[str]:
    """Send ``exported`` to each configured destination; returns the warnings of those that failed."""
    warnings: list[str] = []
    if config.otel:
        from greencode.export import otel

        warnings += otel.export(exported)
    if config.prometheus is not None:
        from greencode.export import prometheus

        warnings += prometheus.write(config.resolve(config.prometheus), exported, finished)
    return warnings


def export_run(
    config: Config, run: RunInfo, fingerprint: Fingerprint, records: Iterable[TestRecord]
) -> list[str]:
    """Export a measured run's tests."""
    if not config.otel and config.prometheus is None:
        return []
    return export_points(config, points(records, run, fingerprint), run.finished)
