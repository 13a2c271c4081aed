"""Plots: per-test bars against the baseline, the history trend, energy by domain, and a leaderboard.

matplotlib (the ``plot`` extra) is imported inside each function, and figures are built with
``matplotlib.figure.Figure`` directly, never ``pyplot``: no global state, no GUI backend, safe in threads and
tests. Every function returns the figure and, given a ``path``, also saves it (``.png`` or ``.svg``,
atomically). Axes carry units; bars are sorted; long test names are shortened from the left, because the end
of a node id (the test function and its parameters) tells tests apart.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greencode.carbon import J_PER_KWH
from greencode.errors import GreencodeError
from greencode.files import write_output
from greencode.names import shorten_names
from greencode.report.model import LeaderboardRow, TestResult, TrendPoint
from greencode.units import format_energy

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from greencode.carbon import Intensity

__all__ = [
    "figure_base64_png",
    "figure_svg",
    "image_format",
    "plot_comparison",
    "plot_domains",
    "plot_history",
    "plot_leaderboard",
    "save_figure",
]

#: Longest tick label before a test name is shortened.
NAME_WIDTH = 42
#: ... and before a leaderboard label (written by people, usually short) is.
LABEL_WIDTH = 60
#: Energies spanning more than this ratio are drawn on a log axis, so the smallest bars stay visible.
LOG_SPREAD = 30.0
FORMATS = ("png", "svg")
_CURRENT = "#2b7bba"
_BASELINE = "#b0b0b0"
_WORSE = "#c0392b"
_BETTER = "#27ae60"
_ENERGY_UNITS = ((1e3, "kJ"), (1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"))
_CO2E_UNITS = ((1e3, "kgCO2e"), (1.0, "gCO2e"), (1e-3, "mgCO2e"), (1e-6, "µgCO2e"), (1e-9, "ngCO2e"))


def _figure(rows: int) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise GreencodeError(
            "plots need matplotlib; install it with: pip install 'greencode[plot]'"
        ) from None
    height = min(2.0 + 0.38 * max(rows, 1), 30.0)
    return Figure(figsize=(9.0, height), layout="constrained")


def _scale(largest: float, units: Sequence[tuple[float, str]]) -> tuple[float, str]:
    """A factor and unit in which ``largest`` reads as a number between 1 and 1000."""
    for factor, unit in units:
        if largest >= factor:
            return factor, unit
    return units[-1]


def _errors(values: Sequence[tuple[float, float, float]], factor: float) -> list[list[float]]:
    """Asymmetric error bar lengths (below, above) for (median, low, high) triples."""
    below = [max(median - low, 0.0) / factor for median, low, _ in values]
    above = [max(high - median, 0.0) / factor for median, _, high in values]
    return [below, above]


def _co2e_axis(axes: Axes, factor: float, intensity: Intensity, pue: float) -> None:
    """A second x axis in CO2e, so carbon is read off the same bars as energy."""
    grams_per_unit = factor * pue / J_PER_KWH * intensity.g_per_kwh
    if grams_per_unit <= 0:
        return
    low, high = axes.get_xlim()
    co2_factor, co2_unit = _scale(max(abs(high), abs(low)) * grams_per_unit, _CO2E_UNITS)
    ratio = grams_per_unit / co2_factor

    def to_co2e(x: Any) -> Any:  # matplotlib passes arrays
        return x * ratio

    def to_energy(y: Any) -> Any:
        return y / ratio

    secondary = axes.secondary_xaxis("top", functions=(to_co2e, to_energy))
    secondary.set_xlabel(f"CO2e ({co2_unit}) at {intensity.g_per_kwh:g} gCO2e/kWh, PUE {pue:g}")


def _log_scale(axes: Axes, values: Sequence[float], factor: float, axis: str = "x") -> str:
    """Switch the energy ``axis`` to log when values span more than :data:`LOG_SPREAD` times; returns the
    label suffix."""
    positive = [v for v in values if v > 0]
    limit = axes.set_xlim if axis == "x" else axes.set_ylim
    if len(positive) < 2 or max(positive) / min(positive) <= LOG_SPREAD:
        limit(0, None)
        return ""
    (axes.set_xscale if axis == "x" else axes.set_yscale)("log")
    limit(min(positive) / factor / 2, None)
    return ", log scale"


def _times(ratio: float) -> str:
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.2g}×"


def _kind(estimated: bool) -> str:
    return "estimated" if estimated else "measured"


#: The most tests a per-test plot draws: beyond a few dozen bars the labels overlap and the picture (an SVG
#: of one bar per test, inlined in the HTML report) grows with the suite while saying no more.
PLOT_TESTS = 40


def _plotted(
    tests: Sequence[TestResult], energy: Callable[[TestResult], float]
) -> tuple[list[TestResult], str]:
    """The tests a per-test plot draws, fewest joules first (bars are drawn bottom-up): all of them, or the
    flagged ones and then the largest by ``energy`` up to :data:`PLOT_TESTS`; and what the title adds then."""
    if len(tests) <= PLOT_TESTS:
        return sorted(tests, key=energy), ""
    ranked = sorted(tests, key=lambda t: (t.status not in ("regression", "improvement"), -energy(t)))
    return sorted(
        ranked[:PLOT_TESTS], key=energy
    ), f" ({PLOT_TESTS} of {len(tests):,} tests: flagged, then largest)"


def plot_comparison(
    tests: Sequence[TestResult],
    path: Path | None = None,
    title: str = "Energy per test: current vs baseline",
    intensity: Intensity | None = None,
    pue: float = 1.0,
) -> Figure:
    """Horizontal bars per test, current next to baseline, with their intervals; most energy on top.

    Current bars are red for a regression and green for an improvement (the report's status). With
    ``intensity``, a second axis gives CO2e.
    """
    ordered, shown = _plotted(tests, lambda t: t.energy.median_j)
    figure = _figure(len(ordered) * (2 if any(t.baseline for t in ordered) else 1))
    axes = figure.add_subplot()
    largest = max(
        [t.energy.high_j for t in ordered] + [t.baseline.high_j for t in ordered if t.baseline] + [0]
    )
    factor, unit = _scale(largest, _ENERGY_UNITS)
    labels = shorten_names([t.name for t in ordered], NAME_WIDTH)
    has_baseline = any(t.baseline for t in ordered)
    height = 0.4 if has_baseline else 0.7
    positions = list(range(len(ordered)))
    colours = [
        _WORSE if t.status == "regression" else _BETTER if t.status == "improvement" else _CURRENT
        for t in ordered
    ]
    axes.barh(
        [p + (height / 2 if has_baseline else 0) for p in positions],
        [t.energy.median_j / factor for t in ordered],
        height=height,
        xerr=_errors([(t.energy.median_j, t.energy.low_j, t.energy.high_j) for t in ordered], factor),
        color=colours,
        capsize=3,
    )
    with_baseline = [
        (p, t.baseline) for p, t in zip(positions, ordered, strict=True) if t.baseline is not None
    ]
    if with_baseline:
        axes.barh(
            [p - height / 2 for p, _ in with_baseline],
            [b.median_j / factor for _, b in with_baseline],
            height=height,
            xerr=_errors([(b.median_j, b.low_j, b.high_j) for _, b in with_baseline], factor),
            color=_BASELINE,
            capsize=3,
        )
    _comparison_legend(axes, {t.status for t in ordered}, bool(with_baseline))
    axes.set_yticks(positions, labels)
    kinds = {_kind(t.estimated) for t in ordered}
    scale = _log_scale(
        axes, [t.energy.median_j for t in ordered] + [b.median_j for _, b in with_baseline], factor
    )
    axes.set_xlabel(
        f"energy per {_per(ordered)} ({unit}), {' and '.join(sorted(kinds)) or 'measured'}{scale}"
    )
    axes.set_title(title + shown)
    if intensity is not None:
        _co2e_axis(axes, factor, intensity, pue)
    return _finish(figure, path)


def _comparison_legend(axes: Axes, statuses: set[str | None], baseline: bool) -> None:
    """One entry per colour drawn, saying what it means — the red and green bars included."""
    from matplotlib.patches import Patch

    entries = [(_CURRENT, "current")]
    if "regression" in statuses:
        entries.append((_WORSE, "current: regression"))
    if "improvement" in statuses:
        entries.append((_BETTER, "current: improvement"))
    if baseline:
        entries.append((_BASELINE, "baseline"))
    if len(entries) > 1:
        _legend_outside(axes, [Patch(color=colour, label=label) for colour, label in entries])


def _legend_outside(axes: Axes, handles: Sequence[Any] | None = None, title: str | None = None) -> None:
    """A legend to the right of the plot, where it cannot cover a bar."""
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", title=title)


def _per(tests: Sequence[TestResult]) -> str:
    pers = {t.per for t in tests}
    return pers.pop() if len(pers) == 1 else "test or call"


def plot_domains(
    tests: Sequence[TestResult],
    path: Path | None = None,
    title: str = "Energy by domain",
    intensity: Intensity | None = None,
    pue: float = 1.0,
) -> Figure:
    """Stacked horizontal bars: each test's energy split by domain (package, DRAM, GPU, estimated CPU).

    Raises :class:`GreencodeError` when no test has a split by domain: an empty plot would say nothing.
    """
    if not any(t.domains for t in tests):
        raise GreencodeError(
            "no energy by domain to plot: these results do not split energy by domain (results of several "
            "domains, or the history database); use --plot-kind tests"
        )
    ordered, shown = _plotted(tests, lambda t: math.fsum(t.domains.values()) or t.energy.median_j)
    figure = _figure(len(ordered))
    axes = figure.add_subplot()
    domains = sorted({name for t in ordered for name in t.domains})
    totals = [math.fsum(t.domains.values()) for t in ordered]
    factor, unit = _scale(max([*totals, 0]), _ENERGY_UNITS)
    positions = list(range(len(ordered)))
    left = [0.0] * len(ordered)
    for domain in domains:
        widths = [t.domains.get(domain, 0.0) / factor for t in ordered]
        axes.barh(positions, widths, left=left, height=0.7, label=domain)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_yticks(positions, shorten_names([t.name for t in ordered], NAME_WIDTH))
    kinds = " and ".join(sorted({_kind(t.estimated) for t in ordered}))
    axes.set_xlabel(f"energy per {_per(ordered)} ({unit}), {kinds}")
    axes.set_title(title + shown)
    if domains:
        _legend_outside(axes, title="domain")
    if intensity is not None:
        _co2e_axis(axes, factor, intensity, pue)
    return _finish(figure, path)


def plot_history(
    history: Mapping[str, Sequence[TrendPoint]],
    path: Path | None = None,
    title: str = "Energy per test over commits",
    max_tests: int = 8,
) -> Figure:
    """One line per test over the stored runs (oldest left), with its interval shaded.

    Only the ``max_tests`` tests with the most energy in their latest run are drawn, so the plot stays
    readable; the x axis is labelled with short commit ids. A run measured on a dirty work tree is drawn with
    an open marker and labelled ``+dirty``: its figure is not the commit's.
    """
    figure = _figure(6)
    axes = figure.add_subplot()
    chosen = sorted(
        (name for name, points in history.items() if points),
        key=lambda name: -max(history[name], key=lambda p: p.when).median_j,
    )[:max_tests]
    runs = sorted({(p.when, p.commit) for name in chosen for p in history[name]})
    dirty_runs = {(p.when, p.commit) for name in chosen for p in history[name] if p.dirty}
    index = {run: i for i, run in enumerate(runs)}
    largest = max([p.high_j for name in chosen for p in history[name]] + [0])
    factor, unit = _scale(largest, _ENERGY_UNITS)
    for name, label in zip(chosen, shorten_names(chosen, NAME_WIDTH), strict=True):
        points = sorted(history[name], key=lambda p: p.when)
        xs = [index[(p.when, p.commit)] for p in points]
        (line,) = axes.plot(xs, [p.median_j / factor for p in points], marker="o", label=label)
        axes.fill_between(
            xs,
            [p.low_j / factor for p in points],
            [p.high_j / factor for p in points],
            color=line.get_color(),
            alpha=0.15,
        )
        dirty = [p for p in points if p.dirty]
        if dirty:  # open markers: measured with uncommitted changes, not the commit on the axis
            axes.plot(
                [index[(p.when, p.commit)] for p in dirty],
                [p.median_j / factor for p in dirty],
                linestyle="none",
                marker="o",
                markerfacecolor="white",
                markeredgecolor=line.get_color(),
            )
    labels = [
        f"{label} +dirty" if run in dirty_runs else label
        for run, label in zip(runs, _run_labels(runs), strict=True)
    ]
    axes.set_xticks(range(len(runs)), labels, rotation=45, ha="right")
    estimated = any(p.estimated for name in chosen for p in history[name])
    scale = _log_scale(axes, [p.median_j for name in chosen for p in history[name]], factor, axis="y")
    axes.set_ylabel(f"energy ({unit}), {_kind(estimated)}{scale}")
    dirty_note = "; open markers, +dirty: uncommitted changes on top of that commit" if dirty_runs else ""
    axes.set_xlabel(f"{'commit' if all(_is_commit(c) for _, c in runs) else 'run'} (oldest left){dirty_note}")
    axes.set_title(title)
    if chosen:  # beside the axes: lines run across the whole width, so no corner inside is free
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return _finish(figure, path)


def _is_commit(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text.lower())


def _run_labels(runs: Sequence[tuple[float, str]]) -> list[str]:
    """Short commit ids; a run outside git (its run id stands in for the commit), or one of several runs of
    the same commit, is labelled with its local time instead, or as well (to the second if need be)."""
    import time

    short = [commit[:8] if _is_commit(commit) else "" for _, commit in runs]
    for clock in ("%m-%d %H:%M", "%m-%d %H:%M:%S"):
        labels = [
            f"{label} {time.strftime(clock, time.localtime(when))}".strip()
            if not label or short.count(label) > 1
            else label
            for (when, _), label in zip(runs, short, strict=True)
        ]
        if len(set(labels)) == len(labels):
            break
    return labels


def plot_leaderboard(
    rows: Sequence[LeaderboardRow],
    path: Path | None = None,
    title: str = "Leaderboard: energy per call",
) -> Figure:
    """Alternatives ranked by median energy per call, lowest (best) on top, with their intervals.

    Estimated rows are hatched and the legend says so; each bar is annotated with its energy and how many
    times less it uses than the worst alternative.
    """
    ordered = sorted(rows, key=lambda r: r.median_j, reverse=True)  # barh draws bottom-up: best on top
    figure = _figure(len(ordered))
    axes = figure.add_subplot()
    factor, unit = _scale(max([r.high_j for r in ordered] + [0]), _ENERGY_UNITS)
    positions = list(range(len(ordered)))
    tactics = {r.tactic for r in ordered}
    shared = tactics.pop() if len(tactics) == 1 else None
    # one tactic for all rows goes in the title; several are named on each row
    labels = [f"{r.label} ({r.tactic})" if r.tactic and not shared else r.label for r in ordered]
    bars = axes.barh(
        positions,
        [r.median_j / factor for r in ordered],
        height=0.7,
        xerr=_errors([(r.median_j, r.low_j, r.high_j) for r in ordered], factor),
        color=[_BETTER if i == len(ordered) - 1 else _CURRENT for i in positions],
        capsize=3,
    )
    for bar, row in zip(bars, ordered, strict=True):
        if row.estimated:
            bar.set_hatch("//")
    # times less than the worst: from the measured ratios to the best when every row has one
    paired = all(r.ratio for r in ordered)
    scores = [(r.ratio or 0.0) if paired else r.median_j for r in ordered]
    worst = max(scores, default=0.0)
    for position, row, score in zip(positions, ordered, scores, strict=True):
        note = format_energy(row.median_j)
        if score > 0 and worst / score >= 1.05:
            note += f"  ({_times(worst / score)} less)"
        axes.annotate(
            note,
            (row.high_j / factor, position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
        )
    axes.set_yticks(positions, shorten_names(labels, width=LABEL_WIDTH))
    kinds = sorted({_kind(r.estimated) for r in ordered})
    scale = _log_scale(axes, [r.median_j for r in ordered], factor)
    # room on the right for the annotations
    right = max((r.high_j for r in ordered), default=0.0) / factor
    axes.set_xlim(right=right * (5 if scale else 1.4) or 1)
    axes.set_xlabel(f"energy per call ({unit}), {' and '.join(kinds) or 'measured'}{scale}")
    axes.set_title(f"{title}\ntactic: {shared}" if shared else title)
    if any(r.estimated for r in ordered):
        from matplotlib.patches import Patch

        axes.legend(
            handles=[Patch(facecolor="white", edgecolor="black", hatch="//", label="estimated")],
            loc="upper right",
        )
    return _finish(figure, path)


# ---------------------------------------------------------------------------------------------------------
# output


def _finish(figure: Figure, path: Path | None) -> Figure:
    if path is not None:
        save_figure(figure, path)
    return figure


def _render(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=110, metadata={"Software": "greencode"} if fmt == "png" else None)
    return buffer.getvalue()


def image_format(path: Path) -> str:
    """``"png"`` or ``"svg"`` from ``path``'s suffix; a :class:`GreencodeError` for anything else, so callers
    can check a path before the work that produces the figure."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise GreencodeError(f"{path}: cannot tell the image format; name the file .png or .svg")
    return fmt


def save_figure(figure: Figure, path: Path) -> None:
    """Write ``figure`` to ``path`` as PNG or SVG (from the suffix), atomically."""
    write_output(path, _render(figure, image_format(path)))


def figure_svg(figure: Figure) -> str:
    """The figure as an SVG document (for inlining in HTML)."""
    return _render(figure, "svg").decode("utf-8")


def figure_base64_png(figure: Figure) -> str:
    """The figure as base64-encoded PNG (for a ``data:`` URI)."""
    return base64.b64encode(_render(figure, "png")).decode("ascii")
