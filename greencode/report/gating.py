"""``greencode report --fail-on``: the library gate (:mod:`greencode.gate`) run on stored results.

A pipeline that ran the tests in one job can gate in another: the records come from a results JSON
(``pytest --greencode-json``) or the newest run in the history database, the baseline from the configured
``baseline`` file, and the decision is exactly the one ``pytest --greencode`` would have made.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from greencode.errors import StoreError
from greencode.report.model import (
    AS_RUN_NOTE,
    Report,
    Verdict,
    is_history_database,
    latest_run,
    with_verdicts,
)

if TYPE_CHECKING:
    from greencode.config import Config
    from greencode.gate import GateReport
    from greencode.store import Fingerprint, TestRecord


def _history_records(path: Path | str) -> tuple[list[TestRecord], Fingerprint]:
    """The newest stored run as records. History keeps each test's median, not its samples, so the gate sees
    one sample per test: its run-to-run noise model is unaffected, only the within-run term is lost."""
    from greencode.history import History
    from greencode.store import Fingerprint, TestRecord

    with History(path) as history:
        latest = latest_run(history)
        try:
            fingerprint = Fingerprint.from_dict(latest.fingerprint)
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"{history.name}: run {latest.run_id} has a malformed machine fingerprint ({exc})"
            ) from None
        records = [
            TestRecord(p.node_id, p.per, (p.median_j,), p.wall_s, p.cpu_s, p.meter, p.estimated)
            for p in history.run_results(latest.run_id)
        ]
    return records, fingerprint


def gate_input(source: Path | str, config: Config) -> GateReport:
    """Compare the results in ``source`` (a file, or a ``postgresql://`` history URL) with the configured
    baseline, with ``config``'s gate settings."""
    from greencode.config import is_history_url
    from greencode.gate import GateSettings, compare, config_budgets
    from greencode.store import load_baseline, load_results

    if is_history_url(source) or is_history_database(Path(source)):
        records, fingerprint = _history_records(source)
    else:
        try:
            results = load_results(Path(source))
        except StoreError as exc:
            raise StoreError(
                f"--fail-on needs a pytest results JSON (--greencode-json) or the history database: {exc}"
            ) from None
        records, fingerprint = list(results.records), results.fingerprint
    baseline_path = config.resolve(config.baseline)
    return compare(
        records,
        load_baseline(baseline_path),
        GateSettings.from_config(config),
        fingerprint=fingerprint,
        budgets=config_budgets(config),
        baseline_name=str(baseline_path),
    )


def with_gate(report: Report, gate: GateReport) -> Report:
    """``report`` showing the gate's verdicts, its summary, what it compared with and why each test failed.

    The verdict the run itself recorded is dropped: this decision replaces it.
    """
    verdicts = [Verdict(c.node_id, c.verdict, c.baseline_j, c.change) for c in gate.comparisons]
    # a test over its budget shows it, unless it also regressed (the worse of the two)
    compared = {v.node_id: v for v in verdicts}
    for result in gate.over_budget:
        known = compared.get(result.node_id)
        if known is None or known.verdict != "regression":
            compared[result.node_id] = Verdict(
                result.node_id,
                "over budget",
                known.baseline_j if known else None,
                known.change if known else None,
            )
    verdicts = list(compared.values())
    notes = [f"gate: {gate.summary()}"]
    if gate.refused:
        notes.append(f"gate: baseline not used: {gate.refused}")
    elif gate.missing_baseline:
        notes.append(
            f"gate: no baseline at {gate.baseline}: every test is new "
            f"(on_missing_baseline = {gate.settings.on_missing_baseline!r}); save one with "
            "pytest --greencode-save"
        )
    notes += [f"gate: {note}" for note in gate.notes]
    notes += [f"regression: {c.node_id}: {c.reason}" for c in gate.regressions]
    # tests of the baseline that did not run have no row of their own
    notes += [f"missing: {c.node_id}: {c.reason}" for c in gate.comparisons if c.verdict == "missing"]
    notes += [
        f"over budget: {b.node_id}: {b.measured_j:.4g} J > {b.budget_j:.4g} J per {b.per}"
        for b in gate.over_budget
    ]
    report = replace(
        report, notes=tuple(n for n in report.notes if not n.startswith(AS_RUN_NOTE)), verdict=gate.summary()
    )
    return with_verdicts(report, verdicts, notes)
