"""Robust statistics in pure Python (no numpy: ``import greencode`` must stay cheap).

Energy and time samples on a shared machine are skewed and have outliers, so summaries lead with the median
and inter-quartile range; the mean and standard deviation are kept for readers who expect them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation between order statistics (type 7, as numpy)."""
    if not values:
        raise ValueError("quantile of no values")
    if not 0 <= q <= 1:
        raise ValueError("q must be between 0 and 1")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """Summary statistics of one set of samples."""

    n: int
    median: float
    mean: float
    stdev: float
    minimum: float
    maximum: float
    q1: float
    q3: float
    mad: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def cv(self) -> float:
        """Coefficient of variation (stdev / mean); ``nan`` when the mean is zero."""
        return self.stdev / self.mean if self.mean else math.nan

    @property
    def relative_iqr(self) -> float:
        """IQR / median: a robust relative spread."""
        return self.iqr / self.median if self.median else math.nan

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def summarize(samples: Sequence[float]) -> Summary:
    """Summary of ``samples`` (at least one)."""
    if not samples:
        raise ValueError("cannot summarise zero samples")
    values = [float(v) for v in samples]
    median = statistics.median(values)
    return Summary(
        n=len(values),
        median=median,
        mean=statistics.fmean(values),
        stdev=statistics.stdev(values) if len(values) > 1 else 0.0,
        minimum=min(values),
        maximum=max(values),
        q1=quantile(values, 0.25),
        q3=quantile(values, 0.75),
        mad=statistics.median(abs(v - median) for v in values),
    )
