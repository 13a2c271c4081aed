"""Overhead of an empty ``with greencode.measure():`` and the cost of ``import greencode``.

Targets: estimator with the default configuration (the summarising ``print`` sink) median <= 5 µs (issue 17;
the clock reads a window needs are timed beside it, as the floor); RAPL over a fake sysfs tree of 2 packages
x 2 domains <= 40 µs; ``import greencode`` <= 30 ms and none of pytest, matplotlib, codecarbon, pynvml, numpy
imported.
The machine this runs on is usually shared, so the window and the floor are timed in interleaved rounds
and each round's ratio window/floor is reported beside the medians; where Valgrind is installed, the
instructions each empty window executes, and each call of an empty decorated function (callgrind, user space
only: the system calls behind the clocks are not in it), are counted too — a deterministic figure to
compare before and after a change.
When codecarbon is installed, its ``OfflineEmissionsTracker`` start/stop around the same empty body is
timed too and reported as a ratio to ours.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shutil
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


@greencode.measure("empty function")
def empty_function() -> None:
    """What a decorated hot function costs per call, its own body aside."""


def measure_overhead(meter: str, output: str = "none", **config: object) -> list[float]:
    greencode.configure(Config(meter=meter, output=output, **config))  # type: ignore[arg-type]
    with contextlib.redirect_stderr(io.StringIO()):  # the print sink's first line and summary
        samples = time_calls(empty_block)
        greencode.configure(Config(meter=meter, output="none", **config))  # type: ignore[arg-type]
    greencode.clear_results()
    return samples


def clock_reads() -> None:
    """What an estimator window in the main thread reads while no other Python thread runs: the wall clock
    at the start, then this process's and its children's CPU time and the monotonic clock at both ends
    (with another Python thread running it reads its thread's CPU time at the start too)."""
    time.time()
    children_cpu_s()
    time.process_time()
    time.perf_counter()
    time.perf_counter()
    time.process_time()
    children_cpu_s()


ROUNDS = 5
CALLGRIND_CALLS = 1000


def rounds_row(name: str, floor_medians: list[float], medians: list[float]) -> list[str]:
    """Median of the rounds' medians, their range, and the median of the per-round ratios to the floor."""
    ratios = [m / f for m, f in zip(medians, floor_medians, strict=True)]
    return [
        name,
        f"{statistics.median(medians) * 1e6:.1f}",
        f"{min(medians) * 1e6:.1f}–{max(medians) * 1e6:.1f}",
        f"{statistics.median(ratios):.2f}x",
    ]


def counted_body(what: str) -> None:
    """Run under callgrind (``--collect-atstart=no``): counts only the calls of one body, after a warm-up
    long enough to fill the registry, so that the count is the steady state's (building and collecting)."""
    from greencode.meters.valgrind import TOGGLE_COLLECT, client_requests

    output = "none" if what == "none" else Config().output
    greencode.configure(Config(meter="estimate", output=output))
    body = {"floor": clock_reads, "decorated": empty_function}.get(what, empty_block)
    requests = client_requests()
    with contextlib.redirect_stderr(io.StringIO()):
        for _ in range(2 * greencode.measurement.REGISTRY_SIZE):  # the registry full: the steady state
            body()
        requests(TOGGLE_COLLECT)
        for _ in range(CALLGRIND_CALLS):
            body()
        requests(TOGGLE_COLLECT)


def instructions_per_call(what: str) -> int | None:
    """Instructions per call of one body under callgrind; ``None`` without Valgrind."""
    from greencode.meters.callgrind import read_summary

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                valgrind,
                "--tool=callgrind",
                "--collect-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--counted",
                what,
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        events, totals = read_summary(out)
    return round(totals[events.index("Ir")] / CALLGRIND_CALLS)


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

    default = Config()
    floor: list[list[float]] = []
    estimator: list[list[float]] = []
    quiet: list[list[float]] = []
    for _ in range(ROUNDS):  # interleaved, so that a busy spell of the machine hits every row alike
        floor.append(time_calls(clock_reads))
        estimator.append(measure_overhead("estimate", default.output))
        quiet.append(measure_overhead("estimate"))
    floor_medians = [statistics.median(r) for r in floor]
    print_table(
        ["window", "median µs (of round medians)", "range of rounds", "ratio to floor (median)"],
        [
            rounds_row("clock reads of an estimator window (floor)", floor_medians, floor_medians),
            rounds_row(
                "with measure(): estimator, default configuration",
                floor_medians,
                [statistics.median(r) for r in estimator],
            ),
            rounds_row(
                "with measure(): estimator, output none",
                floor_medians,
                [statistics.median(r) for r in quiet],
            ),
        ],
    )
    counts = {what: instructions_per_call(what) for what in ("floor", "default", "none", "decorated")}
    if counts["floor"] is not None:
        print()
        print_table(
            ["instructions per call (callgrind, user space)", "instructions", "ratio to floor"],
            [
                [what, f"{count:,}", f"{count / counts['floor']:.1f}x"]
                for what, count in counts.items()
                if count is not None
            ],
        )
    print()
    all_estimator = [sample for r in estimator for sample in r]
    rows = [micro_row("clock reads of an estimator window (floor)", [x for r in floor for x in r], None)]
    rows.append(micro_row("with measure(): estimator, default configuration", all_estimator, 5))
    rows.append(micro_row("with measure(): estimator, output none", [x for r in quiet for x in r], None))
    each = measure_overhead("estimate", "print:each")
    rows.append(micro_row("with measure(): estimator, output print:each", each, None))
    with tempfile.TemporaryDirectory() as root:
        make_fake_powercap(Path(root), packages=2, domains=("package", "dram"))
        rows.append(
            micro_row(
                "with measure(): rapl, fake 2x2 tree", measure_overhead("rapl", powercap_root=Path(root)), 40
            )
        )
    cc = codecarbon_row(statistics.median(all_estimator))
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
    if sys.argv[1:2] == ["--counted"]:
        counted_body(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
