"""The Markdown report, for pull-request comments and job summaries."""

from __future__ import annotations

from greencode.escaping import markdown_text
from greencode.hotspots import hotspots_note
from greencode.report import byfile
from greencode.report.model import Report
from greencode.report.text import HEADERS, header_lines, rows, shows_total, total_row

#: Columns holding text from the input (test ids, statuses); the others are figures greencode formatted.
_INPUT_COLUMNS = frozenset({HEADERS.index("test"), HEADERS.index("status")})


def _cell(text: str, column: int) -> str:
    # a test id can hold HTML, links, backticks or a pipe (which would end the cell): all made literal
    return markdown_text(text) if column in _INPUT_COLUMNS else text.replace("|", "\\|")


def _table(table: list[list[str]], bold_last: bool) -> list[str]:
    used = [i for i in range(len(table[0])) if any(row[i] for row in table[1:])] or [0]
    numeric = set(range(1, len(table[0])))
    cells = [[_cell(row[i], i) for i in used] for row in table]
    if bold_last:
        cells[-1] = [f"**{cell}**" if cell else "" for cell in cells[-1]]
    lines = ["| " + " | ".join(cells[0]) + " |"]
    lines.append("|" + "|".join("---:" if i in numeric else "---" for i in used) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return lines


def _code(text: str) -> str:
    """``text`` made literal; the parts greencode put in backticks (function names) stay code spans, which
    show their content literally (a backtick of the input's own would end the span: dropped)."""
    parts = text.split("`")
    return "".join(
        f"`{part.replace('`', '')}`" if index % 2 else markdown_text(part) for index, part in enumerate(parts)
    )


def render_markdown(report: Report) -> str:
    verdict = f": {markdown_text(report.verdict)}" if report.verdict else ""
    lines = [f"## greencode energy report{verdict}", ""]
    # header lines and notes carry file names, commits, meters and warnings from the input
    lines += [f"- {markdown_text(line)}" for line in header_lines(report)]
    lines.append("")
    if report.tests:
        table = [list(HEADERS), *rows(report)]
        total = shows_total(report)
        if total:
            table.append(total_row(report))
        lines += _table(table, bold_last=total)
        by_file = byfile.table(report)
        if by_file:
            lines += ["", "**Energy by file** (per-test figures)", "", *_table(by_file, bold_last=False)]
    else:
        lines.append("_No results in this file._")
    if report.hotspots:
        lines += ["", "**Where the energy went** (functions that grew the most)", ""]
        for spot in report.hotspots:
            lines.append(f"- {markdown_text(spot.node_id)}: {_code(spot.summary())}")
            lines += [
                f"  - {_code(f'`{row.function}`{row.describe().removeprefix(row.function)}')}"
                for row in spot.rows
            ]
        note = hotspots_note(report.hotspots)
        if note:
            lines += ["", f"> note: {markdown_text(note)}"]
    if report.notes:
        lines += ["", *[f"> note: {markdown_text(note)}" for note in report.notes]]
    return "\n".join(lines) + "\n"
