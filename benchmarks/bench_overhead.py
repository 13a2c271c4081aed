"""Overhead of an empty ``with greencode.measure():`` and the cost of ``import greencode``.

Targets (issue: core): estimator median <= 20 µs; RAPL over a fake sysfs tree of 2 packages x 2 domains
<= 40 µs; ``import greencode`` <= 30 ms and none of pytest, matplotlib, codecarbon, pynvml, numpy imported.
When codecarbon is installed, its ``OfflineEmissionsTracker`` start/stop around the same empty body is
timed too and reported as a ratio to ours.
"""

from __future__ import annotations

import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from _table import micro_row, print_table, time_calls

import greencode
from greencode.config import Config

HEAVY = ("pytest", "matplotlib", "codecarbon", "pynvml", "numpy")


def empty_block() -> None:
    with greencode.measure("empty"):
        pass


def measure_overhead(meter: str, **config: object) -> list[float]:
    greencode.configure(Config(meter=meter, output="none", **config))  # type: ignore[arg-type]
    samples = time_calls(empty_block)
    greencode.clear_results()
    return samples


def import_time_ms(repeat: int = 7) -> tuple[float, list[str]]:
    totals = []
    for _ in range(repeat):
        result = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-c",
                f"import greencode, sys; print([m for m in {HEAVY!r} if m in sys.modules])",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        match = re.search(r"\|\s*(\d+) \| greencode$", result.stderr, re.MULTILINE)
        assert match, result.stderr[-500:]
        totals.append(int(match.group(1)) / 1000)
    return statistics.median(totals), eval(result.stdout.strip())


def codecarbon_row(ours_median: float) -> list[str] | None:
    if importlib.util.find_spec("codecarbon") is None:
        return None
    from codecarbon import OfflineEmissionsTracker

    def tracked() -> None:
        tracker = OfflineEmissionsTracker(country_iso_code="NLD", log_level="error", save_to_file=False)
        tracker.start()
        tracker.stop()

    first = time.perf_counter()
    tracked()
    first_s = time.perf_counter() - first
    samples = time_calls(tracked, repeat=20, warmup=2)
    median = statistics.median(samples)
    return [
        "codecarbon OfflineEmissionsTracker (warm)",
        f"{median * 1e6:.0f}",
        f"first call {first_s:.2f} s",
        "",
        f"{median / ours_median:.0f}x ours",
    ]


def main() -> int:
    from fakes import make_fake_powercap

    rows = []
    estimator = measure_overhead("estimate")
    rows.append(micro_row("with measure(): estimator", estimator, 20))
    with tempfile.TemporaryDirectory() as root:
        make_fake_powercap(Path(root), packages=2, domains=("package", "dram"))
        rows.append(
            micro_row(
                "with measure(): rapl, fake 2x2 tree", measure_overhead("rapl", powercap_root=Path(root)), 40
            )
        )
    cc = codecarbon_row(statistics.median(estimator))
    if cc:
        rows.append(cc)
    else:
        rows.append(["codecarbon", "-", "-", "", "not installed (nox -s bench -- --with-codecarbon)"])
    print_table(["window", "median µs", "p90 µs", "target", ""], rows)

    import_ms, heavy = import_time_ms()
    print()
    print_table(
        ["import greencode", "median ms", "heavy modules imported", "target", ""],
        [
            [
                "python -X importtime (cumulative)",
                f"{import_ms:.1f}",
                ", ".join(heavy) or "none",
                "<= 30",
                "ok" if import_ms <= 30 and not heavy else "OVER",
            ]
        ],
    )
    print(f"\nmachine: {os.uname().machine}, {os.cpu_count()} logical CPUs, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
