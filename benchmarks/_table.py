"""Shared by the benchmark scripts: timing loops and a plain-text table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def time_calls(body: Callable[[], object], repeat: int = 2000, warmup: int = 200) -> list[float]:
    """Seconds per call of ``body``, one sample per call (perf_counter)."""
    for _ in range(warmup):
        body()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        body()
        samples.append(time.perf_counter() - started)
    return samples


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def micro_row(name: str, samples: Sequence[float], target_us: float | None) -> list[str]:
    median = statistics.median(samples) * 1e6
    verdict = "" if target_us is None else ("ok" if median <= target_us else "OVER")
    target = "" if target_us is None else f"<= {target_us:g}"
    return [name, f"{median:.1f}", f"{percentile(samples, 0.9) * 1e6:.1f}", target, verdict]


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))
