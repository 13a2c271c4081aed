"""What a measuring run shows in pytest: the terminal section, pytest's summary line and JUnit XML
properties, all read from the run's :class:`~greencode.outcome.RunOutcome`. The step summary is the library's
Markdown report of that outcome (:mod:`greencode.report.records`), the same as ``greencode ab`` writes; the
JSON results file is written by :func:`greencode.outcome.conclude`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from greencode.names import shorten
from greencode.units import format_energy, format_percent, plural

if TYPE_CHECKING:
    from greencode.config import CarbonConfig
    from greencode.gate import BudgetResult, Comparison
    from greencode.outcome import RunOutcome
    from greencode.records import TestRecord


class Shown(Protocol):
    """What the plugin's run object offers this module (it is :class:`pytest_greencode.session.GreencodeRun`;
    a protocol, so that the two modules do not import each other)."""

    config: Any
    outcome: RunOutcome | None
    estimated: bool
    workers_reported: int
    warnings: list[str]
    errors: list[str]

    @property
    def records(self) -> Mapping[str, TestRecord]: ...

    @property
    def meter_name(self) -> str: ...


#: Rows shown without ``-v`` besides the flagged ones: the tests using the most energy.
TOP_ROWS = 10
#: Node ids up to this long are never shortened in the terminal.
NAME_WIDTH = 60
_ORDER = {
    "regression": 0,
    "over budget": 1,
    "inconclusive": 2,
    "improvement": 3,
    "new": 4,
    "unchanged": 5,
    "grouped": 6,
    "missing": 7,
    "": 8,
}
HEADINGS = ("test", "energy", "baseline", "change", "verdict")
#: How the terminal section's lines that fail the run, and those that warn, begin.
RED_LINES = (
    "gate: FAILED",
    "budgets: FAILED",
    "  regression",
    "  over budget",
    "suite total: regression",
    "OVER",
)
YELLOW_LINES = ("  inconclusive", "baseline not used", "no baseline", "suite total: inconclusive")


def _tests(count: int, what: str = "test") -> str:
    return plural(count, what)


def _change(comparison: Comparison | None) -> str:
    if comparison is None or comparison.change is None:
        return ""
    if comparison.ci_low is None or comparison.ci_high is None:
        return format_percent(comparison.change)
    return (
        f"{format_percent(comparison.change)} [{format_percent(comparison.ci_low)}, "
        f"{format_percent(comparison.ci_high)}]"
    )


def rows(run: Shown, limit: int | None) -> tuple[list[tuple[str, ...]], int]:
    """Table rows (see :data:`HEADINGS`), flagged tests first, then by energy; and how many were left out."""
    report = run.outcome.gate if run.outcome else None
    comparisons = {c.node_id: c for c in report.comparisons} if report else {}
    over = {b.node_id for b in report.over_budget} if report else set()
    entries = []
    for record in run.records.values():
        comparison = comparisons.get(record.node_id)
        verdict = (
            "over budget"
            if record.node_id in over and (comparison is None or comparison.verdict != "regression")
            else comparison.verdict
            if comparison
            else ""
        )
        entries.append((_ORDER.get(verdict, _ORDER[""]), -record.median_j, record, comparison, verdict))
    entries.sort(key=lambda e: (e[0], e[1], e[2].node_id))
    flagged = sum(1 for e in entries if e[0] <= _ORDER["improvement"])
    shown = entries if limit is None else entries[: max(flagged, 0) + limit]
    table: list[tuple[str, ...]] = []
    for _, _, record, comparison, verdict in shown:
        baseline = (
            ""
            if comparison is None or comparison.baseline_j is None
            else format_energy(comparison.baseline_j)
        )
        table.append(
            (
                record.node_id,
                f"{format_energy(record.median_j)}/{record.per}",
                baseline,
                _change(comparison),
                verdict.upper() if verdict in ("regression", "over budget") else verdict,
            )
        )
    return table, len(entries) - len(shown)


def _aligned(table: Sequence[tuple[str, ...]], width: int) -> list[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADINGS))]
    others = sum(widths[1:]) + 2 * (len(widths) - 1)
    # node ids matter most: keep up to NAME_WIDTH characters even if the line then runs long
    widths[0] = min(widths[0], max(NAME_WIDTH, width - others))
    return [
        "  ".join(
            (shorten(cell, widths[0]) if i == 0 else cell).ljust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in table
    ]


def _budget_line(result: BudgetResult) -> str:
    relation = ">" if result.over else "<="
    kind = ", estimated" if result.estimated else ""
    return (
        f"{result.node_id}: {format_energy(result.measured_j)} {relation} "
        f"{format_energy(result.budget_j)} per {result.per} ({result.source}{kind})"
    )


def _header(run: Shown) -> str:
    kind = "estimates" if run.estimated else "measurements"
    parts = [f"{_tests(len(run.records))} measured with {run.meter_name} ({kind})"]
    if run.workers_reported:
        parts.append(f"by {run.workers_reported} xdist workers")
    report = run.outcome.gate if run.outcome else None
    if report is not None and report.compared and not report.missing_baseline:
        commit = f", commit {report.baseline_commit[:12]}" if report.baseline_commit else ""
        parts.append(f"baseline {report.baseline}{commit}")
    return "; ".join(parts)


def _gate_lines(run: Shown) -> list[str]:
    report = run.outcome.gate if run.outcome else None
    if report is None:
        return []
    settings = report.settings
    lines = []
    if report.compared:
        if report.refused:
            lines.append(f"baseline not used: {report.refused}")
        elif report.missing_baseline and settings.on_missing_baseline != "ignore":
            lines.append(f"no baseline at {report.baseline}; save one with --greencode-save")
        # a small test's own figures are for reading: its file's group is what the family holds
        compared = sum(1 for c in report.comparisons if c.p is not None and c.verdict != "grouped")
        noise = sorted({(c.noise.cv, c.noise.source) for c in report.comparisons if c.noise})
        spread = ""
        if noise:
            low, high = noise[0][0], noise[-1][0]
            sources = ", ".join(sorted({source for _, source in noise}))
            span = (
                format_percent(low, signed=False)
                if low == high
                else (f"{format_percent(low, signed=False)}-{format_percent(high, signed=False)}")
            )
            spread = f", run-to-run noise {span} ({sources})"
        lines.append(
            f"gate: {report.summary()} (fail_on {format_percent(settings.fail_on, signed=False)}, "
            f"min_effect_j {format_energy(settings.min_effect_j)}, alpha {settings.alpha:g} with Holm over "
            f"{_tests(compared)}, intervals at {settings.confidence:.0%}{spread})"
        )
        counts = report.counts()
        if counts["new"] or counts["missing"]:
            lines.append(
                f"{_tests(counts['new'])} not in the baseline (new), "
                f"{_tests(counts['missing'], 'baseline test')} not run (missing)"
            )
        lines.extend(f"note: {note}" for note in report.notes)
        lines.extend(report.suite_lines())
        hotspots = {spot.node_id: spot for spot in run.outcome.hotspots} if run.outcome else {}
        for comparison in report.regressions + report.inconclusive:
            lines.append(f"  {comparison.verdict}: {comparison.node_id}: {comparison.reason}")
            spot = hotspots.get(comparison.node_id)
            if spot is not None:
                lines.append(f"    {spot.summary()}")
                lines.extend(f"      {row.describe()}" for row in spot.rows)
        from greencode.hotspots import hotspots_note

        note = hotspots_note(hotspots.values())
        if note:
            lines.append(f"  note: {note}")
    elif report.budgets or report.total_budget:
        lines.append(f"budgets: {report.summary()}")
        lines.extend(report.suite_lines())
    for result in report.budgets:
        if result.over:
            lines.append(f"  over budget: {_budget_line(result)}")
    return lines


def _advice_lines(run: Shown) -> list[str]:
    advice = run.outcome.advice if run.outcome else None
    if not advice:
        return []
    lines = [f"  hint for {item.node_id}: {item.hint}" for item in advice.hints]
    if advice.findings:
        since = advice.since_commit
        grown = " and in the files of the functions that grew" if run.outcome and run.outcome.hotspots else ""
        lines.append(
            f"tactics for the code changed since {since[:12] if since else 'the last commit'}{grown}:"
        )
        lines.extend(
            f"  {f.path}:{f.line}: {f.rule} {f.message} [{f.tactic}]{f' ({f.hot})' if f.hot else ''}"
            for f in advice.findings
        )
    return lines


def terminal_section(terminalreporter: Any, run: Shown) -> None:
    """The ``greencode`` section of pytest's terminal summary."""
    writer = terminalreporter
    verbose = writer.config.getoption("verbose") > 0
    writer.write_sep("=", "greencode: energy per test")
    writer.write_line(_header(run))
    table, hidden = rows(run, None if verbose else TOP_ROWS)
    if table:
        width = int(getattr(getattr(writer, "_tw", None), "fullwidth", 100))
        for index, line in enumerate(_aligned([HEADINGS, *table], width)):
            writer.write_line(line, bold=index == 0)
    if hidden:
        writer.write_line(f"... {_tests(hidden, 'more test')} (-v shows all)")
    failed = run.outcome is not None and run.outcome.gate.failed
    for line in _gate_lines(run):
        writer.write_line(
            line,
            red=failed and line.startswith(RED_LINES),
            yellow=line.startswith(YELLOW_LINES),
        )
    for line in _advice_lines(run):
        writer.write_line(line)
    if run.outcome is not None and run.outcome.saved is not None:
        writer.write_line(run.outcome.saved.describe())
    if run.outcome is not None and run.outcome.saved_run is not None:
        name = run.outcome.saved_run.stem
        writer.write_line(
            f"run saved as {name!r} ({run.outcome.saved_run}); compare two saved runs with: "
            f"greencode report --compare OTHER {name}"
        )
    if run.outcome is not None and run.outcome.footprint is not None:
        writer.write_line(run.outcome.footprint.line())
    for warning in run.warnings:
        writer.write_line(f"warning: {warning}", yellow=True)
    for error in run.errors:
        writer.write_line(f"error: {error}", red=True)


@dataclass
class Counted:
    """One of greencode's failures as an entry of pytest's ``terminalreporter.stats``. Plugins read those
    entries as report objects (hypothesis reads each one's ``__dict__``), so they are objects, not strings."""

    nodeid: str
    message: str


def mark_summary_line(run: Shown) -> None:
    """Count greencode's failures in pytest's last line: "12 passed, 1 energy regression in 3.1s"."""
    reporter = run.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or run.outcome is None:
        return
    gate, errors = run.outcome.gate, run.errors
    regressions = gate.regressions
    # pytest prints each key after its count as it is, so the key carries its own plural
    additions = {
        "energy regression" + "s" * (len(regressions) > 1): [
            Counted(c.node_id, c.reason) for c in regressions
        ],
        "over energy budget": [Counted(b.node_id, _budget_line(b)) for b in gate.over_budget],
        # counted when it alone failed the run: with tests regressed, they are the count
        "suite energy regression": (
            [Counted("", gate.suite.reason)]
            if gate.suite and gate.suite_regressed and not regressions
            else []
        ),
        "over total energy budget": (
            [Counted("", gate.total_budget.line())] if gate.total_budget and gate.total_budget.over else []
        ),
        # like pytest-cov's --cov-fail-under: a session failed by a setting says so on its last line
        "without energy baseline (on_missing_baseline = 'fail')": (
            [Counted("", gate.refused or f"no baseline at {gate.baseline}")] if gate.baseline_failure else []
        ),
        "greencode error" + "s" * (len(errors) > 1): [Counted("", error) for error in errors],
    }
    for key, items in additions.items():
        if items:
            reporter.stats.setdefault(key, []).extend(items)


def junit_properties(record: TestRecord) -> list[tuple[str, str]]:
    """A measured test's figures as JUnit XML properties of its test case."""
    return [
        ("greencode_energy_j", f"{record.median_j:.6g}"),
        ("greencode_per", record.per),
        ("greencode_estimated", str(record.estimated).lower()),
        ("greencode_meter", record.meter),
        ("greencode_rounds", str(record.rounds)),
    ]


def publish(config: Any, outcome: RunOutcome, carbon: CarbonConfig) -> str | None:
    """Step summary and JUnit suite properties, when those are in use; a warning when the summary could not
    be written."""
    from greencode.report import render
    from greencode.report.records import append_step_summary, outcome_report

    warning = None
    if os.environ.get("GITHUB_STEP_SUMMARY"):  # the report is built only when someone reads it
        warning = append_step_summary(render(outcome_report(outcome, carbon), "md"))
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - a pytest without junitxml
        return warning
    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property("greencode_gate", outcome.gate.summary())
        xml.add_global_property("greencode_meter", outcome.meter)
        xml.add_global_property("greencode_estimated", str(outcome.estimated).lower())
    return warning
