"""The run that just ended as the lines of a terminal summary (pytest's ``greencode`` section): the table of
tests with their verdicts, flagged ones first, the gate's decision and reasons, where a regression went,
tactics advice, what was saved, warnings and errors. Each line comes with the :data:`Style` a terminal
shows it in; the plugin only writes them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from greencode.escaping import terminal_line
from greencode.names import shorten_distinct
from greencode.units import format_energy, format_percent, plural

if TYPE_CHECKING:
    from greencode.gate import BudgetResult
    from greencode.outcome import RunOutcome
    from greencode.store import TestRecord
    from greencode.verdicts import Comparison

#: How a terminal shows a line: as it is, in bold, in red (a failure), in yellow (a warning).
Style = Literal["", "bold", "red", "yellow"]

#: Rows shown without ``-v`` besides the flagged ones: the tests using the most energy.
TOP_ROWS = 10
#: Inconclusive tests given a line of their own without ``-v`` (regressions always are): an unchanged run
#: of a large suite on a noisy machine can have a hundred, and the table already flags each.
INCONCLUSIVE_LINES = 10
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


@dataclass(frozen=True)
class Section:
    """What the summary shows: the tests measured and, when the run was concluded, its outcome; and the
    run's own warnings and errors (those of the outcome and any found after it)."""

    records: Sequence[TestRecord]
    outcome: RunOutcome | None
    meter: str
    estimated: bool
    workers: int = 0
    warnings: Sequence[str] = field(default_factory=tuple)
    errors: Sequence[str] = field(default_factory=tuple)


def _change(comparison: Comparison | None) -> str:
    if comparison is None or comparison.change is None:
        return ""
    if comparison.ci_low is None or comparison.ci_high is None:
        return format_percent(comparison.change)
    return (
        f"{format_percent(comparison.change)} [{format_percent(comparison.ci_low)}, "
        f"{format_percent(comparison.ci_high)}]"
    )


def rows(section: Section, limit: int | None) -> tuple[list[tuple[str, ...]], int]:
    """Table rows (see :data:`HEADINGS`), flagged tests first, then by energy; and how many were left out."""
    report = section.outcome.gate if section.outcome else None
    comparisons = {c.node_id: c for c in report.comparisons} if report else {}
    over = {b.node_id for b in report.over_budget} if report else set()
    entries = []
    for record in section.records:
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
                terminal_line(record.node_id),
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
    names = shorten_distinct([row[0] for row in table], widths[0])
    return [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate((name, *row[1:]))).rstrip()
        for name, row in zip(names, table, strict=True)
    ]


def budget_line(result: BudgetResult) -> str:
    """One budget checked: the test, its figure, the budget and where the budget came from."""
    relation = ">" if result.over else "<="
    kind = ", estimated" if result.estimated else ""
    return (
        f"{result.node_id}: {format_energy(result.measured_j)} {relation} "
        f"{format_energy(result.budget_j)} per {result.per} ({result.source}{kind})"
    )


def _header(section: Section) -> str:
    kind = "estimates" if section.estimated else "measurements"
    parts = [f"{plural(len(section.records), 'test')} measured with {section.meter} ({kind})"]
    if section.workers:
        parts.append(f"by {section.workers} xdist workers")
    report = section.outcome.gate if section.outcome else None
    if report is not None and report.compared and not report.missing_baseline:
        commit = f", commit {report.baseline_commit[:12]}" if report.baseline_commit else ""
        parts.append(f"baseline {report.baseline}{commit}")
    return "; ".join(parts)


def _gate_lines(outcome: RunOutcome | None, verbose: bool) -> list[str]:
    report = outcome.gate if outcome else None
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
            f"{plural(compared, 'test')}, intervals at {settings.confidence:.0%}{spread})"
        )
        counts = report.counts()
        if counts["new"] or counts["missing"]:
            lines.append(
                f"{plural(counts['new'], 'test')} not in the baseline (new), "
                f"{plural(counts['missing'], 'baseline test')} not run (missing)"
            )
        lines.extend(f"note: {note}" for note in report.notes)
        lines.extend(report.suite_lines())
        hotspots = {spot.node_id: spot for spot in outcome.hotspots} if outcome else {}
        inconclusive = report.inconclusive
        if not verbose:
            # possible increases first: a warning about a test that may have got cheaper asks nothing
            inconclusive = tuple(sorted(inconclusive, key=lambda c: (c.change or 0.0) <= 0))
            inconclusive = inconclusive[:INCONCLUSIVE_LINES]
        for comparison in report.regressions + inconclusive:
            lines.append(f"  {comparison.verdict}: {comparison.node_id}: {comparison.reason}")
            spot = hotspots.get(comparison.node_id)
            if spot is not None:
                lines.append(f"    {spot.summary()}")
                lines.extend(f"      {row.describe()}" for row in spot.rows)
        hidden = len(report.inconclusive) - len(inconclusive)
        if hidden:
            lines.append(f"  inconclusive: {plural(hidden, 'more test')} (-v lists them)")
        from greencode.hotspots import hotspots_note

        note = hotspots_note(hotspots.values())
        if note:
            lines.append(f"  note: {note}")
    elif report.budgets or report.total_budget:
        lines.append(f"budgets: {report.summary()}")
        lines.extend(report.suite_lines())
    for result in report.budgets:
        if result.over:
            lines.append(f"  over budget: {budget_line(result)}")
    return lines


def _advice_lines(outcome: RunOutcome | None) -> list[str]:
    advice = outcome.advice if outcome else None
    if not advice:
        return []
    lines = [f"  hint for {item.node_id}: {item.hint}" for item in advice.hints]
    if advice.findings:
        since = advice.since_commit
        grown = " and in the files of the functions that grew" if outcome and outcome.hotspots else ""
        lines.append(
            f"tactics for the code changed since {since[:12] if since else 'the last commit'}{grown}:"
        )
        lines.extend(
            f"  {f.path}:{f.line}: {f.rule} {f.message} [{f.tactic}]{f' ({f.hot})' if f.hot else ''}"
            for f in advice.findings
        )
    return lines


def _saved_lines(outcome: RunOutcome | None) -> Iterable[str]:
    if outcome is not None and outcome.saved is not None:
        yield outcome.saved.describe()
    if outcome is not None and outcome.saved_run is not None:
        name = outcome.saved_run.stem
        yield (
            f"run saved as {name!r} ({outcome.saved_run}); compare two saved runs with: "
            f"greencode report --compare OTHER {name}"
        )


def section_lines(section: Section, *, width: int, verbose: bool) -> list[tuple[str, Style]]:
    """The summary's lines below its title, each with its style and each one line, control characters shown
    as escapes; ``width`` is the terminal's, and only ``verbose`` shows every test rather than the flagged
    ones and the :data:`TOP_ROWS` using the most, and every inconclusive test's reason rather than
    :data:`INCONCLUSIVE_LINES` of them, possible increases first."""
    lines: list[tuple[str, Style]] = [(_header(section), "")]
    table, hidden = rows(section, None if verbose else TOP_ROWS)
    if table:
        lines.extend(
            (line, "bold" if index == 0 else "")
            for index, line in enumerate(_aligned([HEADINGS, *table], width))
        )
    if hidden:
        lines.append((f"... {plural(hidden, 'more test')} (-v shows all)", ""))
    failed = section.outcome is not None and section.outcome.gate.failed
    for line in _gate_lines(section.outcome, verbose):
        style: Style = ""
        if failed and line.startswith(RED_LINES):
            style = "red"
        elif line.startswith(YELLOW_LINES):
            style = "yellow"
        lines.append((line, style))
    lines.extend((line, "") for line in _advice_lines(section.outcome))
    lines.extend((line, "") for line in _saved_lines(section.outcome))
    if section.outcome is not None and section.outcome.footprint is not None:
        lines.append((section.outcome.footprint.line(), ""))
    lines.extend((f"warning: {warning}", "yellow") for warning in section.warnings)
    lines.extend((f"error: {error}", "red") for error in section.errors)
    # node ids are in many of these lines, and a parametrised one can hold any character
    return [(terminal_line(line), style) for line, style in lines]
