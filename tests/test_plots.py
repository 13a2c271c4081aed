"""Plots, checked on the figure objects (bars, labels, scales), never on pixels."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")

from matplotlib.container import BarContainer

from greencode.carbon import Intensity
from greencode.config import CarbonConfig
from greencode.errors import GreencodeError
from greencode.report.model import Estimate, LeaderboardRow, TestResult, TrendPoint, build_test
from greencode.report.plots import (
    PLOT_TESTS,
    figure_base64_png,
    figure_svg,
    plot_comparison,
    plot_domains,
    plot_history,
    plot_leaderboard,
)

CARBON = CarbonConfig(grid_intensity=400)


def result(name: str, joules: float, baseline: float | None = None, **kwargs: object) -> TestResult:
    return build_test(
        name,
        Estimate(joules, joules * 0.9, joules * 1.1),
        CARBON,
        estimated=True,
        baseline=None if baseline is None else Estimate(baseline, baseline * 0.9, baseline * 1.1),
        wall_s=0.1,
        **kwargs,  # type: ignore[arg-type]
    )


def bars(axes: Any) -> list[BarContainer]:
    return [container for container in axes.containers if isinstance(container, BarContainer)]


def labels(figure: object) -> list[str]:
    return [tick.get_text() for tick in figure.axes[0].get_yticklabels()]  # type: ignore[attr-defined]


ROWS = [
    LeaderboardRow("list lookup", 0.050, 0.045, 0.055, True, "right data structure"),
    LeaderboardRow("set lookup", 0.000025, 0.00002, 0.00003, True, "right data structure"),
    LeaderboardRow("bisect", 0.0004, 0.00035, 0.00045, False),
]


def test_leaderboard_has_one_bar_per_row_best_on_top() -> None:
    figure = plot_leaderboard(ROWS)
    axes = figure.axes[0]
    assert len(axes.patches) == 3
    # barh draws from the bottom up: the last label is the top bar
    assert labels(figure) == [
        "list lookup (right data structure)",
        "bisect",
        "set lookup (right data structure)",
    ]


def test_leaderboard_names_a_shared_tactic_once_in_the_title() -> None:
    rows = [
        LeaderboardRow("a", 2.0, 1.9, 2.1, False, "memoise"),
        LeaderboardRow("b", 1.0, 0.9, 1.1, False, "memoise"),
    ]
    figure = plot_leaderboard(rows, title="fib(25)")
    assert labels(figure) == ["a", "b"]
    assert figure.axes[0].get_title() == "fib(25)\ntactic: memoise"


def test_leaderboard_hatches_estimated_rows_and_says_so() -> None:
    figure = plot_leaderboard(ROWS)
    axes = figure.axes[0]
    hatches = [bar.get_hatch() for bar in axes.patches]
    assert hatches == ["//", None, "//"]
    assert "estimated" in axes.xaxis.get_label().get_text()
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["estimated"]


def test_leaderboard_annotates_energy_and_ratio_to_the_worst() -> None:
    texts = [text.get_text() for text in plot_leaderboard(ROWS).axes[0].texts]
    assert "25 µJ  (2,000× less)" in texts
    assert "50 mJ" in texts


def test_leaderboard_ratios_follow_the_paired_ratios_when_given() -> None:
    # greencode compare's table gives ratios paired round by round; the plot must print the same figure
    rows = [
        LeaderboardRow("best", 0.001, 0.001, 0.001, True, ratio=1.0),
        LeaderboardRow("middle", 0.1, 0.1, 0.1, True, ratio=95.0),
        LeaderboardRow("worst", 1.0, 1.0, 1.0, True, ratio=950.0),
    ]
    texts = [text.get_text() for text in plot_leaderboard(rows).axes[0].texts]
    assert "1 mJ  (950× less)" in texts and "100 mJ  (10× less)" in texts


def test_leaderboard_axis_has_units_and_goes_logarithmic_for_wide_spreads() -> None:
    axes = plot_leaderboard(ROWS).axes[0]
    assert axes.get_xscale() == "log"
    assert "(mJ)" in axes.get_xlabel() and "log scale" in axes.get_xlabel()


def test_leaderboard_of_close_values_stays_linear() -> None:
    rows = [LeaderboardRow("a", 2.0, 1.9, 2.1, False), LeaderboardRow("b", 1.0, 0.9, 1.1, False)]
    axes = plot_leaderboard(rows, title="Two ways").axes[0]
    assert axes.get_xscale() == "linear"
    assert axes.get_title() == "Two ways"
    assert axes.get_xlabel() == "energy per call (J), measured"


def test_leaderboard_error_bars_span_low_to_high() -> None:
    axes = plot_leaderboard([LeaderboardRow("a", 2.0, 1.5, 3.0, False)]).axes[0]
    segments = bars(axes)[0].errorbar.lines[2][0].get_segments()
    assert [tuple(point[0] for point in segment) for segment in segments] == [(1.5, 3.0)]


def test_comparison_draws_current_and_baseline_bars_sorted_by_energy() -> None:
    tests = [
        result("t::small", 0.001, baseline=0.001),
        result("t::big", 0.5, baseline=0.4),
        result("t::new", 0.1),
    ]
    figure = plot_comparison(tests)
    axes = figure.axes[0]
    assert len(axes.patches) == 5  # three current bars, two baselines
    assert labels(figure) == ["t::small", "t::new", "t::big"]
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["current", "baseline"]


def _outside(axes: Any) -> bool:
    anchor = axes.get_legend().get_bbox_to_anchor().transformed(axes.transAxes.inverted())
    return bool(anchor.x0 >= 1.0)


def test_comparison_legend_explains_the_red_and_green_bars_and_stays_off_them() -> None:
    tests = [
        result("a", 2.0, baseline=1.0, status="regression"),
        result("b", 1.0, baseline=2.0, status="improvement"),
    ]
    axes = plot_comparison(tests).axes[0]
    texts = [text.get_text() for text in axes.get_legend().get_texts()]
    assert texts == ["current", "current: regression", "current: improvement", "baseline"]
    assert _outside(axes)


def test_comparison_without_baseline_still_explains_a_red_bar() -> None:
    axes = plot_comparison([result("a", 2.0, status="regression"), result("b", 1.0)]).axes[0]
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["current", "current: regression"]


def test_domains_legend_sits_beside_the_bars() -> None:
    axes = plot_domains([result("a", 3.0, domains={"package-0": 2.0, "dram-0": 1.0})]).axes[0]
    assert _outside(axes)


def test_comparison_colours_regressions_and_improvements() -> None:
    tests = [
        result("a", 2.0, baseline=1.0, status="regression"),
        result("b", 1.0, baseline=2.0, status="improvement"),
    ]
    current = bars(plot_comparison(tests).axes[0])[0]
    colours = [bar.get_facecolor()[:3] for bar in current]
    assert colours[0] != colours[1]


def test_comparison_of_a_big_suite_draws_the_flagged_then_the_largest_tests() -> None:
    tests = [result(f"t{n}", 1.0 + n) for n in range(PLOT_TESTS * 3)]
    tests.append(result("tiny regression", 0.001, baseline=0.0005, status="regression"))
    figure = plot_comparison(tests)
    drawn = labels(figure)
    assert len(drawn) == PLOT_TESTS
    assert "tiny regression" in drawn and f"t{PLOT_TESTS * 3 - 1}" in drawn and "t0" not in drawn
    assert f"({PLOT_TESTS} of {PLOT_TESTS * 3 + 1} tests" in figure.axes[0].get_title()


def test_domains_of_a_big_suite_draws_the_largest_tests() -> None:
    tests = [result(f"t{n}", 1.0 + n, domains={"cpu": 1.0 + n}) for n in range(PLOT_TESTS + 5)]
    figure = plot_domains(tests)
    assert len(labels(figure)) == PLOT_TESTS and "t0" not in labels(figure)
    assert f"({PLOT_TESTS} of {PLOT_TESTS + 5} tests" in figure.axes[0].get_title()


def test_comparison_adds_a_co2e_axis_when_given_an_intensity() -> None:
    figure = plot_comparison([result("a", 1.0)], intensity=Intensity(400, "x"), pue=1.2)
    secondary = [child for child in figure.axes[0].child_axes]
    assert len(secondary) == 1
    assert "CO2e" in secondary[0].get_xlabel() and "400 gCO2e/kWh" in secondary[0].get_xlabel()


def test_domains_stack_one_bar_per_test_and_domain() -> None:
    tests = [
        result("a", 3.0, domains={"package-0": 2.0, "dram-0": 1.0}),
        result("b", 1.0, domains={"package-0": 1.0}),
    ]
    axes = plot_domains(tests).axes[0]
    assert len(axes.patches) == 4  # two domains x two tests (a zero-width segment for b's DRAM)
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["dram-0", "package-0"]
    assert "(J)" in axes.get_xlabel()


def test_domains_axis_says_whether_figures_are_estimated() -> None:
    axes = plot_domains([result("a", 1.0, domains={"cpu": 1.0})]).axes[0]
    assert "estimated" in axes.get_xlabel()


def test_domains_without_any_domain_figures_is_a_clear_error() -> None:
    with pytest.raises(GreencodeError, match="no energy by domain to plot"):
        plot_domains([result("a", 1.0)])


def test_history_draws_one_line_per_test_over_commits() -> None:
    history = {
        f"tests/test_x.py::test_{i}": [
            TrendPoint(f"{commit:07x}abcdef", 1000.0 + commit, 0.01 * (i + 1), 0.009, 0.012, True)
            for commit in range(3)
        ]
        for i in range(3)
    }
    axes = plot_history(history).axes[0]
    assert len(axes.lines) == 3
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["0000000a", "0000001a", "0000002a"]
    assert "(mJ)" in axes.get_ylabel() and "estimated" in axes.get_ylabel()


def test_history_goes_logarithmic_for_wide_spreads() -> None:
    history = {
        name: [TrendPoint("c", 1.0, joules, joules, joules, True)]
        for name, joules in (("big", 1.0), ("small", 0.001))
    }
    axes = plot_history(history).axes[0]
    assert axes.get_yscale() == "log" and "log scale" in axes.get_ylabel()


def test_history_tells_apart_runs_of_the_same_commit() -> None:
    points = [TrendPoint("abcdef1234", when, 1.0, 1.0, 1.0, True) for when in (1000.0, 2000.0)]
    axes = plot_history({"t": points}).axes[0]
    ticks = [tick.get_text() for tick in axes.get_xticklabels()]
    assert len(set(ticks)) == 2 and all(tick.startswith("abcdef12") for tick in ticks)


def test_history_legend_sits_outside_the_lines() -> None:
    history = {
        f"t{i}": [TrendPoint("c", 1.0, float(i + 1), float(i + 1), float(i + 1), False)] for i in range(3)
    }
    axes = plot_history(history).axes[0]
    anchor = axes.get_legend().get_bbox_to_anchor().transformed(axes.transAxes.inverted())
    assert anchor.x0 >= 1.0


def test_history_labels_runs_outside_git_by_their_time() -> None:
    import time

    when = 1_700_000_000.0
    axes = plot_history({"t": [TrendPoint("20231114T221320Z-1a2b3c4d", when, 1.0, 1.0, 1.0, True)]}).axes[0]
    assert [tick.get_text() for tick in axes.get_xticklabels()] == [
        time.strftime("%m-%d %H:%M", time.localtime(when))
    ]


def test_history_tells_apart_runs_outside_git_in_the_same_minute() -> None:
    points = [TrendPoint(f"run-{n}", 1_700_000_000.0 + n, 1.0, 1.0, 1.0, True) for n in (0, 5)]
    axes = plot_history({"t": points}).axes[0]
    assert len({tick.get_text() for tick in axes.get_xticklabels()}) == 2
    assert axes.get_xlabel() == "run (oldest left)"


def test_history_keeps_only_the_biggest_tests() -> None:
    history = {f"t{i}": [TrendPoint("c", 1.0, float(i), float(i), float(i), False)] for i in range(12)}
    axes = plot_history(history, max_tests=3).axes[0]
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["t11", "t10", "t9"]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_figures_are_saved_as_png_or_svg(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"board{suffix}"
    plot_leaderboard(ROWS, path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data[:1000]


def test_unknown_image_suffix_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GreencodeError, match=r"\.png or \.svg"):
        plot_leaderboard(ROWS, tmp_path / "board.jpg")


def test_figures_render_inline_as_svg_and_base64_png() -> None:
    figure = plot_leaderboard(ROWS)
    assert "<svg" in figure_svg(figure)
    assert figure_base64_png(figure).startswith("iVBORw0KGgo")


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(GreencodeError, match=r"greencode\[plot\]"):
        plot_leaderboard(ROWS)
