"""The end of a measuring run: gate, baseline, history, results file and advice, as one frozen outcome.

:func:`conclude` takes the records a run measured and does everything that follows the last test: checks
budgets, compares with the baseline (when asked), saves the baseline (when asked), appends the run to the
history, writes the results JSON (when asked) and, for a failing gate, looks for tactic advice. What it
decided comes back as a :class:`RunOutcome`, which the pytest plugin renders and any other front end can
render the same way (:func:`greencode.report.records.outcome_report`). Problems that lose data (a baseline
or results file not written) are ``errors``; problems that only lose extras (history, advice) are
``warnings``; neither raises.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greencode.errors import StoreError
from greencode.fingerprint import Fingerprint, detect_fingerprint
from greencode.footprint import Footprint, Spent, footprint
from greencode.gate import (
    Budget,
    GateReport,
    GateSettings,
    check_budgets,
    check_total_budget,
    config_budgets,
    declared_noise,
)
from greencode.kinds import Status
from greencode.meters import counting_identity
from greencode.records import TestRecord
from greencode.results_file import RunInfo, new_run_id, results_document, write_results

if TYPE_CHECKING:
    from greencode.baselines import Baseline, SaveResult
    from greencode.config import Config
    from greencode.hotspots import Hotspots
    from greencode.judging import Judging
    from greencode.meters import Selection
    from greencode.tactics.hotness import Profile
    from greencode.tactics.scanner import Finding
    from greencode.vcs import VcsProbe


@dataclass(frozen=True)
class Hint:
    """What a failing test's own timings suggest (:func:`greencode.tactics.advice.energy_hint`)."""

    node_id: str
    hint: str


@dataclass(frozen=True)
class Advice:
    """Tactics for the tests that failed the gate: timing hints, and scanner findings in the files changed
    since the baseline's commit (``since_commit``; None: since ``HEAD``)."""

    since_commit: str | None
    failing: tuple[str, ...]
    hints: tuple[Hint, ...]
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "since_commit": self.since_commit,
            "failing": list(self.failing),
            "hints": [{"node_id": h.node_id, "hint": h.hint} for h in self.hints],
            "findings": [
                {"path": f.path, "line": f.line, "rule": f.rule, "tactic": f.tactic, "message": f.message}
                for f in self.findings
            ],
        }


@dataclass(frozen=True)
class RunOutcome:
    """What the end of a run decided and did. ``gate`` is the decision (budgets only when no comparison
    was asked for); ``saved`` the baseline written, if any; ``errors`` fail the run like a regression."""

    records: tuple[TestRecord, ...]
    gate: GateReport
    run: RunInfo
    fingerprint: Fingerprint
    saved: SaveResult | None = None
    advice: Advice | None = None
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    #: the results file kept as a named run (``--greencode-save=NAME``), when it was written
    saved_run: Path | None = None
    #: the functions that grew the most in each regressed test (instruction counts on both sides)
    hotspots: tuple[Hotspots, ...] = ()
    #: the time and estimated energy measuring itself added (None: not stated, e.g. a run built in a test)
    footprint: Footprint | None = None

    @property
    def meter(self) -> str:
        return self.run.meter

    @property
    def estimated(self) -> bool:
        return self.run.estimated

    @property
    def failed(self) -> bool:
        return bool(self.errors) or self.gate.failed


def _saved_dict(saved: SaveResult | None) -> dict[str, Any] | None:
    if saved is None:
        return None
    return {
        "path": str(saved.path),
        "added": list(saved.added),
        "replaced": list(saved.replaced),
        "pooled": list(saved.pooled),
        "reset": saved.reset,
        "not_pooled": saved.not_pooled,
    }


#: Set by ``greencode ab`` to ``base`` or ``head`` in each side's pytest process (conftest files may want to
#: know; the plugin then skips what only the user's own runs need, :func:`conclude`'s ``side_run``).
AB_SIDE_VARIABLE = "GREENCODE_AB_SIDE"


def ab_side_run() -> bool:
    """Whether this process is one side's run of ``greencode ab``."""
    return bool(os.environ.get(AB_SIDE_VARIABLE))


def conclude(
    records: Iterable[TestRecord],
    config: Config,
    *,
    selection: Selection,
    started: float,
    compare_with: Path | str | None = None,
    baseline: Baseline | None = None,
    save_to: Path | None = None,
    json_path: Path | None = None,
    saved_run: Path | None = None,
    budgets: Iterable[Budget] = (),
    workers: int = 0,
    warnings: Iterable[str] = (),
    measuring: Iterable[Spent] = (),
    judging: Judging | None = None,
    rounds_run: Mapping[str, Any] | None = None,
    side_run: bool = False,
    vcs_probe: VcsProbe | None = None,
) -> RunOutcome:
    """Finish a run of ``records`` measured with ``selection`` from ``started`` (epoch seconds).

    ``compare_with`` names the baseline the gate compares with (``baseline``, already loaded; None when the
    file does not exist); without it only budgets are checked. ``save_to`` saves the records as the baseline
    there; ``json_path`` writes the results file, and ``saved_run`` keeps a copy of it as a named run
    (:mod:`greencode.runs`). ``budgets`` (from markers) are checked together with the configuration's;
    ``warnings`` raised during the run are carried into the outcome and the results file; ``measuring`` is
    the time measuring added (extra rounds), stated in the outcome's :class:`~greencode.footprint.Footprint`.
    With ``judging``, small tests are judged per file (:func:`greencode.grouped_gate.compare_grouped`);
    ``rounds_run`` describes the rounds actually run, for the results file's settings. A ``side_run`` of
    ``greencode ab`` (:func:`ab_side_run`) writes its results file and nothing else: no history (a scratch
    one, thrown away) and no git state (``ab`` knows the commits; asking git costs 3 processes per run).
    ``vcs_probe``: the version state begun when the run started (:class:`~greencode.vcs.VcsProbe`, so that
    its first ``git`` process ran beside the tests); without it the state is asked for here.
    """
    records = tuple(records)
    noted = list(warnings)
    errors: list[str] = []
    gate_settings = GateSettings.from_config(config, declared_noise(selection.meters))
    domains = sorted(selection.domains)
    fingerprint = detect_fingerprint(selection.name, domains, counting_identity(selection))
    all_budgets = [*budgets, *config_budgets(config)]
    if compare_with is not None and judging is not None:
        from greencode.grouped_gate import compare_grouped

        gate = compare_grouped(
            records,
            baseline,
            gate_settings,
            judging,
            fingerprint=fingerprint,
            budgets=all_budgets,
            baseline_name=str(compare_with),
        )
    elif compare_with is not None:
        from greencode.verdicts import compare

        gate = compare(
            records,
            baseline,
            gate_settings,
            fingerprint=fingerprint,
            budgets=all_budgets,
            baseline_name=str(compare_with),
        )
    else:
        gate = GateReport(
            gate_settings,
            budgets=check_budgets(records, all_budgets),
            total_budget=check_total_budget(records, gate_settings),
        )
    hotspots = _hotspots(gate, records, baseline)
    advice = _advice(gate, records, baseline, config, noted, hotspots) if gate.failed else None
    from greencode.config import DEFAULT_HISTORY
    from greencode.datadir import DATA_DIR
    from greencode.vcs import VcsProbe

    local_history = config.resolve(Path(DEFAULT_HISTORY))
    # a history baseline ("history:BRANCH") is no file of the run's
    stored = [path for path in (save_to, compare_with) if isinstance(path, Path)]
    history = config.history_location()
    history_files = [local_history, *([history] if isinstance(history, Path) else [])]
    own_files = [config.root / DATA_DIR, *history_files, *stored]
    vcs = None if side_run else (vcs_probe or VcsProbe(config.root)).state(own_files)
    run = RunInfo(
        run_id=new_run_id(started),
        started=started,
        finished=time.time(),
        vcs=vcs,
        meter=selection.name,
        estimated=any(d.estimated for m in selection.meters for d in m.domains()),
        reasons=selection.reasons,
        workers=workers,
    )
    spent = footprint(run.finished - run.started, measuring, config, workers)
    saved = None
    if save_to is not None:
        if records:
            from greencode.baselines import save_baseline

            try:
                saved = save_baseline(save_to, list(records), fingerprint, vcs)
            except StoreError as exc:
                errors.append(f"baseline not saved: {exc}")
        else:
            noted.append("baseline not saved: no test was measured")
    if not side_run:
        _append_history(config, run, fingerprint, records, gate, noted, local_history)
        _keep_run_files_out_of_git({path.parent for path in (*history_files, *stored)}, noted)
    if config.otel or config.prometheus is not None:
        from greencode.export.send import export_run

        noted += export_run(config, run, fingerprint, records)
    kept_run = None
    if json_path is not None or saved_run is not None:
        document = {
            **results_document(
                run,
                fingerprint,
                records,
                settings={
                    **gate_settings.to_dict(),
                    "rounds": config.rounds,
                    "include_setup": config.include_setup,
                    **(rounds_run or {}),
                    # how a later `greencode gate` on this file judges it: as this run did
                    "judging": None if judging is None else judging.to_dict(),
                },
                gate=gate.to_dict(),
                baseline_saved=_saved_dict(saved),
                advice=None if advice is None else advice.to_dict(),
                hotspots=[h.to_dict() for h in hotspots],
                warnings=noted,
            ),
            "footprint": spent.to_dict(),
        }
        if json_path is not None:
            try:
                write_results(json_path, document)
            except StoreError as exc:
                errors.append(f"results not written: {exc}")
        if saved_run is not None:
            try:  # greencode's own directory: created wherever the project's root is
                write_results(saved_run, document, root=config.root)
                kept_run = saved_run
            except StoreError as exc:
                errors.append(f"run not saved as {saved_run.stem}: {exc}")
    return RunOutcome(
        records,
        gate,
        run,
        fingerprint,
        saved,
        advice,
        tuple(noted),
        tuple(errors),
        saved_run=kept_run,
        hotspots=hotspots,
        footprint=spent,
    )


def _keep_run_files_out_of_git(directories: set[Path], warnings: list[str]) -> None:
    from greencode.datadir import ensure_gitignore

    for directory in sorted(directories):
        try:
            ensure_gitignore(directory)
        except OSError as exc:
            warnings.append(f"{directory / '.gitignore'} not written ({exc}); do not commit the history file")


def _append_history(
    config: Config,
    run: RunInfo,
    fingerprint: Fingerprint,
    records: tuple[TestRecord, ...],
    gate: GateReport,
    warnings: list[str],
    local: Path,
) -> None:
    from greencode.history.recording import record_run

    verdicts: dict[str, tuple[Status, float | None]] = {
        c.node_id: (c.verdict, c.change) for c in gate.comparisons
    }
    for result in gate.over_budget:  # over budget, not "new": unless it also regressed, the worse of the two
        verdict, change = verdicts.get(result.node_id, (None, None))
        if verdict != "regression":
            verdicts[result.node_id] = ("over budget", change)
    warnings += record_run(config.history_location(), local, run, fingerprint, records, verdicts, gate.failed)


def _hotspots(
    gate: GateReport, records: tuple[TestRecord, ...], baseline: Baseline | None
) -> tuple[Hotspots, ...]:
    if baseline is None or not gate.regressions:
        return ()
    from greencode.hotspots import regression_hotspots

    return regression_hotspots(
        [c.node_id for c in gate.regressions],
        {r.node_id: r.functions for r in records},
        {node_id: entry.functions for node_id, entry in baseline.entries.items()},
    )


def advice_profile(records: tuple[TestRecord, ...], hotspots: tuple[Hotspots, ...]) -> Profile | None:
    """What the advice ranks findings by: the growth of the regressed tests' hotspots when there are any
    (findings inside the grown functions first), else the run's measured instructions per function."""
    from greencode.tactics.hotness import Entry, Profile

    if hotspots:
        grown: dict[tuple[str, str], float] = {}
        for spot in hotspots:
            for row in spot.rows:
                grown[row.file, row.name] = grown.get((row.file, row.name), 0.0) + row.added
        entries = tuple(Entry(file, name, cost) for (file, name), cost in grown.items())
        return Profile(entries, "growth in instructions", "the regressed tests")
    measured: dict[str, float] = {}
    for record in records:
        for function, count in record.functions.items():
            measured[function] = measured.get(function, 0.0) + count
    if not measured:
        return None
    entries = tuple(
        Entry(function.rpartition(":")[0], function.rpartition(":")[2], cost)
        for function, cost in measured.items()
    )
    return Profile(entries, "instructions", "this run")


def _advice(
    gate: GateReport,
    records: tuple[TestRecord, ...],
    baseline: Baseline | None,
    config: Config,
    warnings: list[str],
    hotspots: tuple[Hotspots, ...] = (),
) -> Advice | None:
    """Tactics for failing tests. Optional: any problem here only skips the advice."""
    try:
        from greencode.tactics.advice import advice_for_changes, energy_hint
    except ImportError:
        return None
    since = baseline.commit if baseline is not None else None
    failing = tuple(
        dict.fromkeys([c.node_id for c in gate.regressions] + [b.node_id for b in gate.over_budget])
    )
    by_node: Mapping[str, TestRecord] = {r.node_id: r for r in records}
    hints = []
    for node_id in failing:
        record = by_node.get(node_id)
        if record is None:
            continue
        hint = energy_hint(record.cpu_s * record.iterations, record.wall_s * record.iterations)
        if hint:
            hints.append(Hint(node_id, hint))
    try:
        grown_files = [Path(row.file) for spot in hotspots for row in spot.rows if row.python and row.file]
        profile = advice_profile(records, hotspots)
        findings = tuple(advice_for_changes(config.root, since, config, profile, also=grown_files))
    except Exception as exc:  # advice must never hide the verdict
        warnings.append(f"no tactic advice: {type(exc).__name__}: {exc}")
        findings = ()
    return Advice(since, failing, tuple(hints), findings)
