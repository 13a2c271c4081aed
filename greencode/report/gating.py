"""``greencode report --fail-on``: the library gate (:mod:`greencode.gate`) run on stored results.

A pipeline that ran the tests in one job can gate in another: the records come from a results JSON
(``pytest --greencode-json``) or the newest run in the history database, the baseline from the configured
``baseline`` file, and the decision is exactly the one ``pytest --greencode`` would have made: small tests
judged per file with the run's meter jitter, a test's regression needing the rounds the run required, at the
level its sequential looks left (:class:`greencode.judging.Judging`, which results files carry in
``settings.judging``), and the run's meter noise (``settings.meter_noise``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from greencode.errors import StoreError
from greencode.report.loaders import Fields, is_history_database, latest_run
from greencode.report.model import AS_RUN_NOTE, Report, Verdict, with_budgets, with_verdicts

if TYPE_CHECKING:
    from greencode.baselines import Baseline
    from greencode.config import Config
    from greencode.fingerprint import Fingerprint
    from greencode.gate import Budget, GateReport
    from greencode.judging import Judging
    from greencode.records import TestRecord


class RunJudging(NamedTuple):
    """How a stored run is judged: its ``judging``, its meters' declared ``meter_noise`` and, for files
    older than ``settings.judging``, a ``note`` saying what was assumed instead."""

    judging: Judging
    meter_noise: float | None = None
    note: str | None = None


def run_judging(path: Path | str, settings: Mapping[str, Any] | None) -> RunJudging:
    """How the plugin judged the run whose results ``settings`` (a results file's, at ``path``) describe.
    A file written before results carried it (or a history run) is judged with the estimator's jitter, and
    the note says so; a malformed value is a :class:`StoreError` naming the file and the key."""
    from greencode.judging import MIN_JITTER_S, Judging

    settings = settings or {}
    noise = settings.get("meter_noise")
    if noise is not None and (isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0):
        raise StoreError(
            f"{path}: settings.meter_noise should be a number, not {noise!r}; write the file again"
        )
    meter_noise = None if noise is None else float(noise)
    given = settings.get("judging")
    if isinstance(given, Mapping):
        try:
            return RunJudging(Judging.from_dict(given), meter_noise)
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{path}: settings.{exc} in the results file; write it again") from None
    if given is not None:
        raise StoreError(f"{path}: settings.judging should be an object; write the results file again")
    jitter = 0.0 if meter_noise is not None else MIN_JITTER_S
    note = (
        f"{path} does not say how its run judged small tests (written by an older greencode): judged per "
        f"file with {jitter * 1e6:g} µs of jitter per window, the estimator's; run the tests again with "
        "--greencode-json to judge exactly as that run did"
    )
    return RunJudging(Judging(jitter), meter_noise, note)


def _history_records(path: Path | str) -> tuple[list[TestRecord], Fingerprint]:
    """The newest stored run as records. History keeps each test's median, not its samples, so the gate sees
    one sample per test: its run-to-run noise model is unaffected, only the within-run term is lost."""
    from greencode.fingerprint import Fingerprint
    from greencode.history import History
    from greencode.records import record_from_point

    with History(path) as history:
        latest = latest_run(history)
        try:
            fingerprint = Fingerprint.from_dict(latest.fingerprint)
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"{history.name}: run {latest.run_id} has a malformed machine fingerprint ({exc})"
            ) from None
        records = [record_from_point(p) for p in history.run_results(latest.run_id)]
    return records, fingerprint


def gate_input(source: Path | str, config: Config) -> GateReport:
    """Compare the results in ``source`` (a file, or a ``postgresql://`` history URL) with the configured
    baseline, with ``config``'s gate settings."""
    from greencode.config import is_history_url
    from greencode.results_file import load_results

    budgets: list[Budget] = []
    if is_history_url(source) or is_history_database(Path(source)):
        records, fingerprint = _history_records(source)
        judged = run_judging(source, None)
    else:
        try:
            results = load_results(Path(source))
        except StoreError as exc:
            raise StoreError(
                f"--fail-on needs a pytest results JSON (--greencode-json) or the history database: {exc}"
            ) from None
        records, fingerprint = list(results.records), results.fingerprint
        budgets.extend(marker_budgets(Path(source), results.gate or {}))
        judged = run_judging(source, results.raw.get("settings"))
    return gate_records(records, fingerprint, config, budgets, judged)


def gate_runs(base: Path, head: Path, config: Config) -> GateReport:
    """Compare the results file ``head`` with the results file ``base`` (``greencode report --compare``):
    ``base``'s records stand in for the baseline, as one saved run, and ``head``'s marker budgets hold."""
    from greencode.baselines import baseline_from_runs
    from greencode.gate import config_budgets
    from greencode.results_file import load_results

    before, after = load_results(base), load_results(head)
    judged = run_judging(head, after.raw.get("settings"))
    return _judged(
        list(after.records),
        baseline_from_runs([before.records], before.fingerprint, None),
        config,
        judged,
        after.fingerprint,
        [*marker_budgets(head, after.gate or {}), *config_budgets(config)],
        str(base),
    )


def gate_records(
    records: list[TestRecord],
    fingerprint: Fingerprint,
    config: Config,
    budgets: Sequence[Budget],
    judged: RunJudging,
) -> GateReport:
    """Compare ``records`` with the configured baseline (a file or ``history:BRANCH``), with ``config``'s
    gate settings and budgets and the run's own marker ``budgets``, judged as the run was (``judged``)."""
    from greencode.gate import config_budgets
    from greencode.history.baselines import describe, load_configured_baseline

    return _judged(
        records,
        load_configured_baseline(config, fingerprint),
        config,
        judged,
        fingerprint,
        [*budgets, *config_budgets(config)],
        describe(config),
    )


def _judged(
    records: list[TestRecord],
    baseline: Baseline | None,
    config: Config,
    judged: RunJudging,
    fingerprint: Fingerprint,
    budgets: Sequence[Budget],
    baseline_name: str,
) -> GateReport:
    """The plugin's own judging (:func:`greencode.grouped_gate.compare_grouped`) of stored records."""
    from greencode.gate import GateSettings
    from greencode.grouped_gate import compare_grouped

    gate = compare_grouped(
        records,
        baseline,
        GateSettings.from_config(config, judged.meter_noise),
        judged.judging,
        fingerprint=fingerprint,
        budgets=budgets,
        baseline_name=baseline_name,
    )
    return gate if judged.note is None else replace(gate, notes=(*gate.notes, judged.note))


def marker_budgets(path: Path, gate: Mapping[str, Any]) -> list[Budget]:
    """The ``@pytest.mark.energy_budget`` limits the run checked, as its results file recorded them: a
    gate in another job must hold the tests to the same budgets as the run itself."""
    from greencode.gate import Budget

    budgets = []
    for item in Fields(path, gate, "gate.").items("budgets"):
        if item.text("source", "") == "marker":
            per = item.choice("per", "test", ("test", "call"))
            budgets.append(Budget(item.text("node_id"), item.number("budget_j", minimum=0), per, "marker"))
    return budgets


def baseline_note(gate: GateReport) -> str | None:
    """Why the gate compared with nothing, if it did not: the baseline was refused, or there is none."""
    if gate.refused:
        return f"baseline not used: {gate.refused}"
    if gate.missing_baseline:
        return (
            f"no baseline at {gate.baseline}: every test is new "
            f"(on_missing_baseline = {gate.settings.on_missing_baseline!r}); save one with "
            "pytest --greencode-save"
        )
    return None


def with_gate(report: Report, gate: GateReport) -> Report:
    """``report`` showing the gate's verdicts, its summary, what it compared with and why each test failed.

    The verdict the run itself recorded is dropped: this decision replaces it, and so are the hotspots of
    the tests that regressed then (:mod:`greencode.hotspots`).
    """
    verdicts = with_budgets(
        [Verdict(c.node_id, c.verdict, c.baseline_j, c.change) for c in gate.comparisons],
        [b.node_id for b in gate.over_budget],
    )
    notes = [f"gate: {gate.summary()}"]
    missing = baseline_note(gate)
    if missing:
        notes.append(f"gate: {missing}")
    notes += [f"gate: {note}" for note in gate.notes]
    notes += [f"gate: {line}" for line in gate.suite_lines()]
    notes += [f"regression: {c.node_id}: {c.reason}" for c in gate.regressions]
    # tests of the baseline that did not run have no row of their own
    notes += [f"missing: {c.node_id}: {c.reason}" for c in gate.comparisons if c.verdict == "missing"]
    notes += [
        f"over budget: {b.node_id}: {b.measured_j:.4g} J > {b.budget_j:.4g} J per {b.per}"
        for b in gate.over_budget
    ]
    report = replace(
        report,
        notes=tuple(n for n in report.notes if not n.startswith(AS_RUN_NOTE)),
        verdict=gate.summary(),
        hotspots=(),
    )
    return with_verdicts(report, verdicts, notes)
