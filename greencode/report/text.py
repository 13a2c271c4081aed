"""The terminal report, and the table and header lines the Markdown and HTML reports share with it."""

from __future__ import annotations

import time

from greencode.escaping import terminal_text
from greencode.hotspots import hotspot_lines
from greencode.report import byfile
from greencode.report.model import Report, TestResult
from greencode.sci import BUILTIN_UNITS
from greencode.units import format_co2e, format_energy, format_percent, plural

HEADERS = ("test", "energy", "interval", "CO2e", "SCI", "baseline", "change", "status")


def _interval(test: TestResult) -> str:
    energy = test.energy
    if energy.low_j == energy.high_j:
        return ""
    return f"{format_energy(energy.low_j)} – {format_energy(energy.high_j)}"


def rows(report: Report) -> list[list[str]]:
    """One row per test, most energy first, in the order of :data:`HEADERS`."""
    ordered = sorted(report.tests, key=lambda t: t.energy.median_j, reverse=True)
    return [
        [
            test.name,
            format_energy(test.energy.median_j)
            + ("/call" if test.per == "call" else "")
            + _est(test.estimated),
            _interval(test),
            # CO2e and SCI derived from an estimate are estimates too
            format_co2e(test.co2e_g) + _est(test.estimated),
            f"{format_co2e(test.sci.per_unit_g)}/{test.sci.functional_unit}" + _est(test.estimated),
            format_energy(test.baseline.median_j) if test.baseline else "",
            format_percent(test.change) if test.change is not None else "",
            test.status or "",
        ]
        for test in ordered
    ]


def _est(estimated: bool) -> str:
    return " (est.)" if estimated else ""


def shows_total(report: Report) -> bool:
    """Whether a total row says anything: several entries, at least one of which adds up."""
    return len(report.tests) > 1 and bool(report.totalled)


def total_label(report: Report) -> str:
    """What the total row covers: only energy spent once (per test or run), never per-call rates."""
    added = len(report.totalled)
    left = len(report.tests) - added
    entries = f"{added} {'entry' if added == 1 else 'entries'}"
    if not left:
        return f"total ({entries})"
    figures = plural(left, "per-call figure")
    return f"total of {entries} per test or run ({figures} not added: joules per call do not add up)"


def total_row(report: Report) -> list[str]:
    """The run as a whole: summed energy and CO2e, and SCI per run, of the entries that add up."""
    run = report.run_sci
    estimated = _est(report.total_estimated)
    return [
        total_label(report),
        format_energy(report.total_energy_j) + estimated,
        "",
        format_co2e(report.total_co2e_g) + estimated,
        f"{format_co2e(run.per_unit_g)}/run{estimated}" if run else "",
        "",
        "",
        "",
    ]


def header_lines(report: Report) -> list[str]:
    """What was measured and how CO2e and SCI were computed, one fact per line."""
    lines = [f"source: {report.source} ({_KINDS.get(report.kind, report.kind)})"]
    if report.created_at is not None:
        lines.append("measured: " + time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(report.created_at)))
    if report.commit:
        lines.append(f"commit: {report.commit}")
    if report.machine:
        lines.append(f"machine: {report.machine}")
    if report.meter:
        lines.append(f"meter: {report.meter}")
    if report.estimated:
        lines.append("figures marked (est.) are ESTIMATES from a model, not measurements")
    intensities = report.intensities
    if len(intensities) == 1:
        lines.append(f"grid intensity: {intensities[0]}")
    elif intensities:
        lines.append(f"grid intensity: {len(intensities)} hourly values, from {intensities[0]}")
    carbon = report.carbon
    lines.append(f"PUE: {carbon.pue:g}")
    embodied = (
        f"M = {carbon.embodied_kgco2e:g} kgCO2e over {carbon.lifetime_years:g} years × share "
        f"{carbon.resource_share:g} × reserved time"
        if carbon.embodied_kgco2e is not None
        else "M = 0 (carbon.embodied_kgco2e not set: operational emissions only)"
    )
    unit = (
        "R = what each figure covers (call, test or run)"
        if carbon.functional_unit in BUILTIN_UNITS
        else f"R = {carbon.functional_unit} (as many as each result declares, else one)"
    )
    lines.append(f"SCI = ((E × I) + M) per R, {unit}; {embodied}")
    return lines


_KINDS = {
    "pytest": "pytest results",
    "run": "greencode run",
    "history": "history database",
    "report": "greencode report",
}


def _align(table: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    used = [i for i in range(len(widths)) if any(row[i] for row in table[1:])] or [0]
    return ["  ".join(row[i].ljust(widths[i]) for i in used).rstrip() for row in table]


def render_text(report: Report) -> str:
    """A plain-text report for terminals and logs; control characters from the input (escape sequences
    that could rewrite the screen) are shown as ``\\xNN``."""
    return terminal_text(_render_text(report))


def _render_text(report: Report) -> str:
    lines = [f"greencode energy report: {len(report.tests)} result(s)"]
    lines += [f"  {line}" for line in header_lines(report)]
    lines.append("")
    if report.tests:
        table = [list(HEADERS), *rows(report)]
        if shows_total(report):
            table.append(total_row(report))
        lines += _align(table)
        by_file = byfile.table(report)
        if by_file:
            lines += ["", "energy by file (per-test figures):", *_align(by_file)]
    else:
        lines.append("no results in this file")
    if report.hotspots:
        lines += [
            "",
            "where the energy went (functions that grew the most):",
            *hotspot_lines(report.hotspots),
        ]
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"
