"""The Markdown report, for pull-request comments and job summaries."""

from __future__ import annotations

from greencode.report.model import Report
from greencode.report.text import HEADERS, header_lines, rows, total_row


def _cell(text: str) -> str:
    # a pipe would end the cell; test ids with parameters can contain one
    return text.replace("|", "\\|")


def _table(table: list[list[str]]) -> list[str]:
    used = [i for i in range(len(table[0])) if any(row[i] for row in table[1:])] or [0]
    numeric = set(range(1, len(table[0])))
    lines = ["| " + " | ".join(_cell(table[0][i]) for i in used) + " |"]
    lines.append("|" + "|".join("---:" if i in numeric else "---" for i in used) + "|")
    lines += ["| " + " | ".join(_cell(row[i]) for i in used) + " |" for row in table[1:]]
    return lines


def render_markdown(report: Report) -> str:
    title = "## greencode energy report" + (f": {report.verdict}" if report.verdict else "")
    lines = [title, ""]
    lines += [f"- {line}" for line in header_lines(report)]
    lines.append("")
    if report.tests:
        table = [list(HEADERS), *rows(report)]
        if len(report.tests) > 1:
            table.append([f"**{cell}**" if cell else "" for cell in total_row(report)])
        lines += _table(table)
    else:
        lines.append("_No results in this file._")
    if report.notes:
        lines += ["", *[f"> note: {note}" for note in report.notes]]
    return "\n".join(lines) + "\n"
