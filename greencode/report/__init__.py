"""Reports: load measured results, render them as text, Markdown, JSON, CSV or HTML, and plot them.

``load_report(path)`` reads a results file (the pytest plugin's ``--greencode-json``, ``greencode run
--json``, a report JSON written by ``greencode report --format json``) or the history database, and returns a
:class:`~greencode.report.model.Report` with CO2e and SCI next to every energy figure. ``render(report, fmt)``
turns it into text. Plots live in :mod:`greencode.report.plots` (matplotlib, the ``plot`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greencode.report.loaders import load_report
    from greencode.report.model import (
        SCHEMA,
        SCHEMA_VERSION,
        Estimate,
        LeaderboardRow,
        Report,
        TestResult,
        TrendPoint,
    )

FORMATS = ("text", "md", "json", "csv", "html")
_MODEL_NAMES = frozenset(
    (
        "SCHEMA",
        "SCHEMA_VERSION",
        "Estimate",
        "TrendPoint",
        "LeaderboardRow",
        "Report",
        "TestResult",
        "load_report",
    )
)


def __getattr__(name: str) -> Any:
    # the model is loaded on first use, so that `greencode --help` (which lists FORMATS) stays fast
    if name == "load_report":
        from greencode.report.loaders import load_report

        return load_report
    if name in _MODEL_NAMES:
        from greencode.report import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FORMATS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Estimate",
    "LeaderboardRow",
    "Report",
    "TestResult",
    "TrendPoint",
    "load_report",
    "render",
]


def render(report: Report, fmt: str) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "text":
        from greencode.report.text import render_text

        return render_text(report)
    if fmt == "md":
        from greencode.report.markdown import render_markdown

        return render_markdown(report)
    if fmt == "json":
        from greencode.report.jsonout import render_json

        return render_json(report)
    if fmt == "csv":
        from greencode.report.csvout import render_csv

        return render_csv(report)
    if fmt == "html":
        from greencode.report.html import render_html

        return render_html(report)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
