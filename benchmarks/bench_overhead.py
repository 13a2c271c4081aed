"""Overhead of an empty ``with greencode.measure():`` and the cost of ``import greencode``.

Targets: estimator with the default configuration (the summarising ``print`` sink) median <= 5 µs (issue 17;
the clock reads a window needs are timed beside it, as the floor); RAPL over a fake sysfs tree of 2 packages
x 2 domains <= 40 µs; ``import greencode`` <= 30 ms and none of pytest, matplotlib, codecarbon, pynvml, numpy
imported.
When codecarbon is installed, its ``OfflineEmissionsTracker`` start/stop around the same empty body is
timed too and reported as a ratio to ours.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
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
from greencode.meters.estimate import children_cpu_s

HEAVY = ("pytest", "matplotlib", "codecarbon", "pynvml", "numpy")


def empty_block() -> None:
    with greencode.measure("empty"):
        pass


def measure_overhead(meter: str, output: str = "none", **config: object) -> list[float]:
    greencode.configure(Config(meter=meter, output=output, **config))  # type: ignore[arg-type]
    with contextlib.redirect_stderr(io.StringIO()):  # the print sink's first line and summary
        samples = time_calls(empty_block)
        greencode.configure(Config(meter=meter, output="none", **config))  # type: ignore[arg-type]
    greencode.clear_results()
    return samples


def clock_reads() -> None:
    """What an estimator window reads: wall clock and this thread's CPU time at the start, then this
    process's and its children's CPU time and the monotonic clock at both ends."""
    time.time()
    time.thread_time()
    children_cpu_s()
    time.process_time()
    time.perf_counter()
    time.perf_counter()
    time.process_time()
    children_cpu_s()


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

    rows = [micro_row("clock reads of an estimator window (floor)", time_calls(clock_reads), None)]
    default = Config()
    estimator = measure_overhead("estimate", default.output)
    rows.append(micro_row("with measure(): estimator, default configuration", estimator, 5))
    rows.append(micro_row("with measure(): estimator, output none", measure_overhead("estimate"), None))
    each = measure_overhead("estimate", "print:each")
    rows.append(micro_row("with measure(): estimator, output print:each", each, None))
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
