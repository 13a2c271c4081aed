"""Reports of records still in memory: the run that just ended (:class:`~greencode.outcome.RunOutcome`) and
``greencode ab``'s paired runs, shown with the gate's verdicts through the same renderers as ``greencode
report``; and the one writer of GitHub's step summary."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from greencode.report.gating import with_gate
from greencode.report.model import Report, test_from_record

if TYPE_CHECKING:
    from greencode.ab import AbResult
    from greencode.config import CarbonConfig
    from greencode.gate import GateReport
    from greencode.hotspots import Hotspots
    from greencode.outcome import RunOutcome
    from greencode.records import TestRecord


def records_report(
    records: Iterable[TestRecord],
    carbon: CarbonConfig,
    gate: GateReport,
    *,
    source: str,
    kind: str,
    commit: str | None = None,
    meter: str | None = None,
    machine: str | None = None,
    notes: Iterable[str] = (),
    started_at: float | None = None,
    hotspots: tuple[Hotspots, ...] = (),
) -> Report:
    """``records`` with CO2e and SCI from ``carbon``, and the gate's verdicts, summary and reasons."""
    tests = tuple(
        test_from_record(record, carbon, started_at) for record in sorted(records, key=lambda r: r.node_id)
    )
    report = Report(
        source=source,
        kind=kind,
        carbon=carbon,
        tests=tests,
        created_at=started_at,
        commit=commit,
        meter=meter,
        machine=machine,
        notes=tuple(notes),
    )
    return replace(with_gate(report, gate), hotspots=hotspots)


def outcome_report(outcome: RunOutcome, carbon: CarbonConfig) -> Report:
    """The run that just ended, as ``greencode report`` would show its results file with ``--fail-on``."""
    vcs = outcome.run.vcs
    return records_report(
        outcome.records,
        carbon,
        outcome.gate,
        source="pytest --greencode",
        kind="pytest",
        commit=vcs.commit if vcs else None,
        meter=outcome.meter,
        machine=outcome.fingerprint.describe(),
        notes=(
            *outcome.warnings,
            *(f"error: {error}" for error in outcome.errors),
            *([outcome.footprint.line()] if outcome.footprint else []),
        ),
        started_at=outcome.run.started,
        hotspots=outcome.hotspots,
    )


def ab_report(result: AbResult, carbon: CarbonConfig) -> Report:
    """``greencode ab``'s result: head's energy per test, base as the baseline, the gate's verdicts."""
    return records_report(
        result.head_records.values(),
        carbon,
        result.gate,
        source=f"greencode ab: head {result.head.describe()} against base {result.base.describe()}",
        kind="paired runs, interleaved",
        commit=result.head.commit,
        meter=result.meter,
        machine=result.machine,
        notes=(*result.notes, *([result.footprint.line()] if result.footprint else [])),
        hotspots=result.hotspots,
    )


def append_step_summary(markdown: str) -> str | None:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY`` when it is set; a warning when it cannot be written.

    The plugin and ``greencode ab`` both write through here, so a job summary looks the same either way.
    """
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    except OSError as exc:
        return f"GITHUB_STEP_SUMMARY not written ({exc.strerror or exc})"
    return None
