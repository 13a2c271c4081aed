"""``greencode compare``'s ranking as a leaderboard plot: its rows, and the check that plotting can work."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import TYPE_CHECKING

from greencode.errors import GreencodeError
from greencode.report.model import LeaderboardRow

if TYPE_CHECKING:
    from greencode.compare import Ranking


def leaderboard_rows(ranking: Ranking) -> list[LeaderboardRow]:
    """Rows for :func:`greencode.report.plots.plot_leaderboard`, best first, each with its paired ratio."""
    return [
        LeaderboardRow(
            r.label,
            r.median_j,
            r.energy.low,
            r.energy.high,
            r.estimated,
            ratio=r.ratio.estimate if math.isfinite(r.ratio.estimate) else None,
        )
        for r in ranking.results
    ]


def require_plotting(path: Path | None = None) -> None:
    """Raise a one-line :class:`GreencodeError` unless matplotlib is importable and ``path`` names an image
    format it can write (check before measuring)."""
    if importlib.util.find_spec("matplotlib") is None:
        raise GreencodeError("plots need matplotlib: pip install 'greencode[plot]'")
    if path is not None:
        from greencode.report.plots import image_format

        image_format(path)


def plot(ranking: Ranking, path: Path, *, title: str) -> None:
    """Draw the leaderboard of ``ranking`` to ``path`` (PNG or SVG by suffix)."""
    require_plotting()
    from greencode.report.plots import plot_leaderboard

    plot_leaderboard(leaderboard_rows(ranking), path, title=title)
