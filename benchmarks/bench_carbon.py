"""Cost of the grid-intensity lookup every measurement makes when it stops.

Target (issue: carbon): after the first call, ``resolve_intensity`` is a cached lookup: median <= 2 µs for
a country, a fixed figure and an hourly profile (which adds one ``localtime`` call). The first call reads the
table or profile and is reported separately.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import micro_row, print_table, time_calls

from greencode import carbon
from greencode.config import CarbonConfig

#: A fixed moment, so every call looks up the same hour.
NOON = time.mktime((2024, 6, 1, 12, 0, 0, 0, 0, -1))


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        profile = Path(directory) / "hours.csv"
        profile.write_text("".join(f"{hour},{300 + hour}\n" for hour in range(24)), encoding="utf-8")
        configs = {
            "country (grid = NL)": CarbonConfig(grid="NL"),
            "fixed grid_intensity": CarbonConfig(grid_intensity=268),
            "hourly profile": CarbonConfig(hourly_profile=profile),
            "nothing configured": CarbonConfig(),
        }
        rows = []
        for name, config in configs.items():
            carbon.clear_caches()
            started = time.perf_counter()
            carbon.resolve_intensity(config, time.time())
            first_us = (time.perf_counter() - started) * 1e6
            samples = time_calls(lambda c=config: carbon.resolve_intensity(c, NOON))
            row = micro_row(f"{name}, cached", samples, 2.0)
            rows.append([*row, f"{first_us:.0f}"])
    print_table(["lookup", "median µs", "p90 µs", "target", "", "first call µs"], rows)


if __name__ == "__main__":
    main()
