"""The teacher's report of a lesson: one Markdown or HTML file to project, with a leaderboard per exercise.

The report is built once as a list of blocks and rendered to either format. Markdown keeps its plots as PNG
files in a ``<name>-plots/`` directory beside it; HTML embeds them, so the single file opens offline. Without
matplotlib the report is written without plots and says how to get them.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from greencode.classroom.runner import Lesson
from greencode.compare import basis, format_ratio, table
from greencode.errors import GreencodeError
from greencode.escaping import markdown_text
from greencode.files import write_output
from greencode.report.leaderboard import plot
from greencode.version import __version__

FORMATS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """Text with inline Markdown: ``code``, **bold** and [links](url)."""

    text: str


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Image:
    """A PNG: ``path`` is read to embed it in HTML, ``link`` is where Markdown points (relative)."""

    path: Path
    link: str
    alt: str


@dataclass(frozen=True)
class Preformatted:
    text: str


Block = Heading | Paragraph | Table | Image | Preformatted


def report_kind(path: Path) -> str:
    """``"markdown"`` or ``"html"`` from ``path``'s suffix; a :class:`GreencodeError` otherwise (check it
    before running the lesson)."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise GreencodeError(f"{path}: the report must end in .md or .html")
    return kind


def write_report(lesson: Lesson, path: Path) -> Path:
    """Write the report of ``lesson`` to ``path`` (``.md`` or ``.html``) atomically; returns ``path``."""
    kind = report_kind(path)
    can_plot = importlib.util.find_spec("matplotlib") is not None
    if kind == "markdown":
        plots = _draw(lesson, path.parent / f"{path.stem}-plots") if can_plot else {}
        text = render_markdown(document(lesson, plots, path.parent, can_plot))
    else:
        with tempfile.TemporaryDirectory(prefix="greencode-plots-") as scratch:
            plots = _draw(lesson, Path(scratch)) if can_plot else {}
            text = render_html(document(lesson, plots, path.parent, can_plot), "greencode classroom")
    write_output(path, text)
    return path


def _draw(lesson: Lesson, directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    plots = {}
    for result in lesson.results:
        if result.ranking is not None:
            exercise = result.exercise
            target = directory / f"{exercise.name}.png"
            plot(result.ranking, target, title=f"{exercise.title} ({exercise.tactic})")
            plots[exercise.name] = target
    return plots


def document(lesson: Lesson, plots: dict[str, Path], base: Path, plotted: bool = True) -> list[Block]:
    """The report's blocks; links and image paths are relative to ``base`` (the report's directory)."""
    from greencode.tactics.catalogue import get_tactic

    rankings = lesson.rankings
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(lesson.started_at))
    rounds = f"; {rankings[0].rounds} interleaved rounds per implementation" if rankings else ""
    blocks: list[Block] = [
        Heading(1, "Wasteful or green? Classroom results"),
        Paragraph(
            f"{len(lesson.results)} exercises, run {when} on {lesson.machine} with {lesson.python} and "
            f"greencode {__version__}{rounds}."
        ),
    ]
    if any(c.estimated for c in rankings):
        blocks.append(
            Paragraph(
                "**These figures are estimates, not measurements**: this machine has no readable energy "
                "counter, so greencode converts CPU time into energy (see the end of this report). The "
                "ratios between implementations are what to look at."
            )
        )
    if not plotted:
        blocks.append(
            Paragraph("Plots are left out: install matplotlib with `pip install 'greencode[plot]'`.")
        )

    percent = f"{rankings[0].confidence * 100:.0f}% " if rankings else ""
    summary = []
    for index, result in enumerate(lesson.results, start=1):
        exercise = result.exercise
        saving = result.saving
        summary.append(
            [
                str(index),
                exercise.title,
                exercise.tactic,
                "did not run" if saving is None else format_ratio(saving.estimate),
                "" if saving is None else f"{format_ratio(saving.low)} – {format_ratio(saving.high)}",
            ]
        )
    blocks += [
        Heading(2, "Summary"),
        Table(["#", "exercise", "tactic", "wasteful ÷ green energy", f"{percent}interval"], summary),
    ]

    for index, result in enumerate(lesson.results, start=1):
        exercise = result.exercise
        tactic = get_tactic(exercise.tactic)
        blocks.append(Heading(2, f"{index}. {markdown_text(exercise.title)}"))
        worksheet = exercise.worksheet
        link = f" Worksheet: [{exercise.name}/README.md]({_relative(worksheet, base)})." if worksheet else ""
        catalogue = _local_catalogue(exercise.directory)
        url = f"{_relative(catalogue, base)}#{tactic.id.lower()}" if catalogue else tactic.url
        name = f"[{tactic.name}]({url})" if url else tactic.name
        blocks.append(Paragraph(f"Tactic **{tactic.id}**: {name}.{link}"))
        if result.ranking is None:
            blocks.append(Paragraph(f"**Did not run**: {markdown_text(str(result.error))}"))
            continue
        if exercise.name in plots:
            image = plots[exercise.name]
            blocks.append(Image(image, _relative(image, base), f"{exercise.title}: energy per call"))
        header, rows = table(result.ranking)
        blocks.append(Table(header, rows))
        if exercise.note:
            blocks.append(Paragraph(exercise.note))
        if tactic.evidence:
            blocks.append(Paragraph(f"For reference, the tactic catalogue's own example: {tactic.evidence}."))

    if rankings:
        blocks += [Heading(2, "How these figures were taken"), Preformatted("\n".join(basis(rankings[0])))]
    return blocks


def _local_catalogue(exercise: Path) -> Path | None:
    """``docs/tactics.md`` of the checkout the exercise sits in (``examples/classroom/NAME``), so that the
    report's tactic links open offline; None outside a checkout (the links then go to the online docs)."""
    for parent in exercise.resolve().parents[:4]:
        candidate = parent / "docs" / "tactics.md"
        if candidate.is_file():
            return candidate
    return None


def _relative(path: Path, base: Path) -> str:
    import os

    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


# ---------------------------------------------------------------------------------------------------------
# renderers


def render_markdown(blocks: list[Block]) -> str:
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Table):
            lines = [block.header, ["---"] * len(block.header), *block.rows]
            out.append("\n".join("| " + " | ".join(markdown_text(c) for c in row) + " |" for row in lines))
        elif isinstance(block, Image):
            out.append(f"![{markdown_text(block.alt)}]({block.link})")
        else:
            out.append(f"```\n{block.text}\n```")
    return "\n\n".join(out) + "\n"


_INLINE = re.compile(r"\\(.)|`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)")
#: Where a link in the HTML report may point: the web, and files or anchors beside the report.
_SAFE_URL = re.compile(r"(?i)(https?://|#|\.{0,2}/|[\w.-]+(/|#|$))")


def _inline_html(text: str) -> str:
    """The few inline forms the blocks use (code, bold, links) as HTML; a backslash-escaped character (text
    from an exercise or a result, see :func:`markdown_text`) stays literal."""

    def replace(match: re.Match[str]) -> str:
        escaped, code, bold, label, url = match.groups()
        if escaped is not None:
            return escaped
        if code is not None:
            return f"<code>{code}</code>"
        if bold is not None:
            return f"<strong>{bold}</strong>"
        if not _SAFE_URL.match(html.unescape(url)):
            return match.group()  # a javascript: or data: link stays visible text
        return f'<a href="{html.escape(html.unescape(url))}">{label}</a>'

    return _INLINE.sub(replace, html.escape(text, quote=False))


_STYLE = """
body { font-family: system-ui, sans-serif; font-size: 1.2rem; max-width: 70rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #1b1b1b; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #bbb; padding: 0.3rem 0.7rem; text-align: left; }
th { background: #eef5ee; }
img { max-width: 100%; }
pre { background: #f4f4f4; padding: 1rem; white-space: pre-wrap; }
h2 { border-bottom: 2px solid #2e7d32; margin-top: 2.5rem; }
"""


def render_html(blocks: list[Block], title: str) -> str:
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{_inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            out.append(f"<p>{_inline_html(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(cell)}</th>" for cell in block.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                for row in block.rows
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Image):
            data = base64.b64encode(block.path.read_bytes()).decode("ascii")
            out.append(f'<img alt="{html.escape(block.alt)}" src="data:image/png;base64,{data}">')
        else:
            out.append(f"<pre>{html.escape(block.text)}</pre>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(out)
        + "\n</body>\n</html>\n"
    )
