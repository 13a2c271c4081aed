"""Draw the example plot the README shows: ``python docs/make_images.py`` writes docs/images/leaderboard.png.

The figures are measured when the script runs (with whatever meter greencode picks on the machine; the
estimator on a VM, and the plot says so), never typed in.
"""

from __future__ import annotations

import bisect
from pathlib import Path

import greencode
from greencode.report.model import LeaderboardRow
from greencode.report.plots import plot_leaderboard
from greencode.stats import summarize

IMAGES = Path(__file__).parent / "images"
ITEMS = list(range(0, 20_000, 2))
WANTED = list(range(0, 2_000, 2))
AS_SET = set(ITEMS)


def in_list() -> int:
    return sum(1 for x in WANTED if x in ITEMS)


def with_bisect() -> int:
    found = 0
    for x in WANTED:
        i = bisect.bisect_left(ITEMS, x)
        found += i < len(ITEMS) and ITEMS[i] == x
    return found


def in_set() -> int:
    return sum(1 for x in WANTED if x in AS_SET)


def main() -> None:
    greencode.configure(output="none")
    tactic = "right data structure"
    rows = []
    for label, function in (
        ("x in list", in_list),
        ("bisect on a sorted list", with_bisect),
        ("x in set", in_set),
    ):
        result = greencode.Profiler(rounds=7, label=label).run(function)
        summary = summarize(result.samples_j)
        rows.append(LeaderboardRow(label, summary.median, summary.q1, summary.q3, result.estimated, tactic))
    path = IMAGES / "leaderboard.png"
    plot_leaderboard(rows, path, title="1,000 lookups in 10,000 items: energy per call")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
