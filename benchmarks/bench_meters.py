"""Raw meter overhead: one empty ``window = meter.start(); window.stop()``, without the measure() layer.

Target (issue: core): RAPL over a fake sysfs tree of 2 packages x 2 domains, median <= 40 µs. The RAPL row
with a plain reader shows what re-opening each counter file would cost instead of re-reading kept-open files.
NVML rows use a fake library, so they show greencode's own cost only, not the driver's.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from _table import micro_row, print_table, time_calls

from greencode.meters.base import Meter
from greencode.meters.nvml import NvmlMeter
from greencode.meters.rapl import RaplMeter, read_file


def window_samples(meter: Meter) -> list[float]:
    def empty_window() -> None:
        meter.start().stop()

    try:
        return time_calls(empty_window, repeat=5000, warmup=500)
    finally:
        meter.close()


def main() -> int:
    from fakes import FakeGpu, FakeNvml, make_fake_powercap

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = make_fake_powercap(Path(tmp), packages=2, domains=("package", "dram")).root
        rapl_rows: list[tuple[str, Callable[[], Meter], float | None]] = [
            ("rapl, fake 2x2 tree (kept-open files)", lambda: RaplMeter(root), 40),
            ("rapl, fake 2x2 tree (re-open per read)", lambda: RaplMeter(root, reader=read_file), None),
        ]
        for name, make, target in rapl_rows:
            rows.append(micro_row(name, window_samples(make()), target))
    rows.append(
        micro_row("nvml, fake library, 1 GPU counter", window_samples(NvmlMeter(FakeNvml([FakeGpu()]))), None)
    )
    sampled = NvmlMeter(FakeNvml([FakeGpu(energy_mj=None)]), sample_interval_s=0.02)
    rows.append(micro_row("nvml, fake library, 1 GPU sampled", window_samples(sampled), None))
    print_table(["meter.start().stop()", "median µs", "p90 µs", "target", ""], rows)
    print(f"\nmachine: {os.uname().machine}, {os.cpu_count()} logical CPUs, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
