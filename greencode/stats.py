"""Robust statistics in pure Python (no numpy: ``import greencode`` must stay cheap).

Energy and time samples on a shared machine are skewed and have outliers, so summaries lead with the median
and inter-quartile range; the mean and standard deviation are kept for readers who expect them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
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

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def median(values: Iterable[float]) -> float:
    """The median of at least one value, as ``statistics.median`` gives it (the mean of the middle two of an
    even count): every measuring run takes medians, and importing :mod:`statistics` (with
    :mod:`fractions`) for them alone was part of its fixed cost."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        raise ValueError("no median of zero values")
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def sample_stdev(values: Sequence[float]) -> float:
    """The sample standard deviation of at least two values, in floats: ``statistics.stdev`` computes it in
    exact fractions, which a gate's look over hundreds of tests paid a large share of its time for, for
    digits beyond a float's."""
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def summarize(samples: Sequence[float]) -> Summary:
    """Summary of ``samples`` (at least one)."""
    if not samples:
        raise ValueError("cannot summarise zero samples")
    if len(samples) == 1 and math.isfinite(only := float(samples[0])):
        # one round per test is the default: every statistic of one finite sample is the sample itself
        return Summary(1, only, only, 0.0, only, only, only, only, 0.0)
    values = [float(v) for v in samples]
    middle = median(values)
    return Summary(
        n=len(values),
        median=middle,
        mean=math.fsum(values) / len(values),  # statistics.fmean's own sum
        stdev=sample_stdev(values) if len(values) > 1 else 0.0,
        minimum=min(values),
        maximum=max(values),
        q1=quantile(values, 0.25),
        q3=quantile(values, 0.75),
        mad=median(abs(v - middle) for v in values),
    )


# ---------------------------------------------------------------------------------------------------------
# Inference: the statistics behind the regression gate and ``greencode ab``.
#
# Everything here is seeded or exact, so the same samples always give the same verdict. Ratios are treated
# on the log scale: energy changes multiply (+10% then +10% is +21%), and a log ratio is symmetric in
# "faster" and "slower".


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval at ``confidence`` (``low`` <= ``estimate`` <= ``high``)."""

    estimate: float
    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def normal_cdf(x: float) -> float:
    """Standard normal distribution function."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_ppf(p: float) -> float:
    """Standard normal quantile (inverse of :func:`normal_cdf`), for 0 < p < 1."""
    if not 0 < p < 1:
        raise ValueError("p must be strictly between 0 and 1")
    import statistics  # only the comparison asks: a measuring run does not import statistics

    return statistics.NormalDist().inv_cdf(p)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    # The continued fraction of the incomplete beta function (Abramowitz & Stegun 26.5.8), evaluated with
    # the modified Lentz method; it converges fast for x < (a + 1) / (a + b + 2).
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    if not 0 <= x <= 1:
        raise ValueError("x must be between 0 and 1")
    if x in (0.0, 1.0):
        return x
    log_front = a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(x: float, df: float) -> float:
    """Student's t distribution function with ``df`` degrees of freedom (``math.inf`` gives the normal)."""
    if df <= 0:
        raise ValueError("df must be positive")
    if math.isinf(df):
        return normal_cdf(x)
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + x * x))
    return 1.0 - tail if x > 0 else tail


@functools.lru_cache(maxsize=4096)
def t_ppf(p: float, df: float) -> float:
    """Student's t quantile: the x with ``t_cdf(x, df) == p``, for 0 < p < 1. Remembered: a gate asks for the
    same few (level, degrees of freedom) for every test, and each answer costs about fifty ``t_cdf``."""
    if not 0 < p < 1:
        raise ValueError("p must be strictly between 0 and 1")
    if math.isinf(df):
        return normal_ppf(p)
    if p == 0.5:
        return 0.0
    # bracket, then bisect: the distribution function is monotone and cheap, so plain bisection is robust
    low, high = -1.0, 1.0
    while t_cdf(low, df) > p:
        low *= 2.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * max(1.0, abs(middle)):
            break
    return 0.5 * (low + high)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment, in the input's order: reject where the adjusted p is below alpha, and the
    chance of any false rejection among all the tests stays at most alpha."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def log_median_variance(samples: Sequence[float]) -> float:
    """Approximate variance of log(median) of ``samples``: pi/2 * sigma^2 / n, sigma from the MAD of the
    logs (robust to the outliers shared machines produce); 0 for fewer than two samples."""
    if len(samples) < 2:
        return 0.0
    if any(v <= 0 or not math.isfinite(v) for v in samples):
        raise ValueError("samples: ratios need positive, finite values")
    logs = [math.log(v) for v in samples]
    centre = median(logs)
    sigma = 1.4826 * median(abs(v - centre) for v in logs)
    # a MAD within the rounding of the logs is no spread information: as if zero, whatever the unit
    # (1.0, 0.001 and 0.001 + 1 ulp read 2e-31 in one unit and 8.3 in another before)
    if sigma <= 1e-12 * max(1.0, max(abs(v) for v in logs)):
        sigma = sample_stdev(logs)
    return math.pi / 2.0 * sigma * sigma / len(logs)


def digamma(x: float) -> float:
    """The digamma function psi(x) for x > 0 (recurrence to x >= 10, then the asymptotic series)."""
    result = 0.0
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    inverse = 1.0 / (x * x)
    return result + math.log(x) - 0.5 / x - inverse * (1 / 12 - inverse * (1 / 120 - inverse * (1 / 252)))


def trigamma(x: float) -> float:
    """The trigamma function psi'(x) for x > 0."""
    result = 0.0
    while x < 10.0:
        result += 1.0 / (x * x)
        x += 1.0
    inverse = 1.0 / (x * x)
    return result + 1.0 / x + inverse / 2.0 + inverse / x * (1 / 6 - inverse * (1 / 30 - inverse * (1 / 42)))


def _inverse_trigamma(value: float) -> float:
    # trigamma decreases from +inf to 0 on (0, inf): bisect on the log scale
    low, high = 1e-8, 1e8
    for _ in range(200):
        middle = math.sqrt(low * high)
        if trigamma(middle) > value:
            low = middle
        else:
            high = middle
    return math.sqrt(low * high)


#: Variances are floored here before taking logarithms, so identical runs do not give log(0).
_TINY_VARIANCE = 1e-12


def moderated_variances(
    groups: Sequence[tuple[float, int]], prior_df: float | None = None
) -> list[tuple[float, float]]:
    """Per-group variances shrunk towards the groups' common variance, with their degrees of freedom.

    ``groups`` holds (sample variance, degrees of freedom) per group — here, per test: the variance of the
    log run medians. This is the empirical-Bayes "moderated" variance of Smyth's limma (2004): the variances
    are modelled as scaled chi-square around a prior variance s0² with prior degrees of freedom d0, both
    estimated from all groups by the method of moments on log variances (``prior_df`` fixes d0 instead).
    When the groups agree, d0 is large and each group borrows the others' precision; when they differ, d0
    is small and each keeps most of its own. The prior weight never exceeds the other groups' own degrees
    of freedom. Returns (variance, df) per group; a group with 0 df gets (s0², weight).
    """
    informative = [(max(v, _TINY_VARIANCE), df) for v, df in groups if df > 0]
    if not informative:
        return [(0.0, 0.0) for _ in groups]
    import statistics  # only the comparison asks: a measuring run does not import statistics

    deviations = [math.log(v) - digamma(df / 2.0) + math.log(df / 2.0) for v, df in informative]
    centre = statistics.fmean(deviations)
    d0 = prior_df
    if d0 is None:
        if len(informative) < 2:
            d0 = 0.0
        else:
            excess = statistics.variance(deviations) - statistics.fmean(
                trigamma(df / 2.0) for _, df in informative
            )
            d0 = 2.0 * _inverse_trigamma(excess) if excess > 0 else math.inf
    prior = (
        math.exp(centre)
        if math.isinf(d0) or d0 == 0
        else math.exp(centre + digamma(d0 / 2.0) - math.log(d0 / 2.0))
    )
    total_df = sum(df for _, df in informative)
    result = []
    for variance, df in groups:
        df = max(df, 0)
        weight = min(d0, total_df - df)
        if weight + df <= 0:
            result.append((prior, 0.0))
        else:
            result.append(((weight * prior + df * variance) / (weight + df), weight + df))
    return result


# ---------------------------------------------------------------------------------------------------------
# interleaved runs: balanced orders, paired changes, sequential looks


def balanced_orders(count: int) -> tuple[tuple[int, ...], ...]:
    """Orders for interleaved rounds: a Williams design over ``count`` candidates.

    Every candidate runs in every position equally often and, over the whole cycle, directly after every
    other candidate equally often, so both "who runs first" and "who runs after whom" effects cancel. Two
    candidates give ``(0, 1), (1, 0)``: A B B A.
    """
    if count < 1:
        raise ValueError("balanced_orders needs at least one candidate")
    first, low, high = [0], 1, count - 1
    while len(first) < count:
        if len(first) % 2:
            first.append(low)
            low += 1
        else:
            first.append(high)
            high -= 1
    rows = [tuple((item + shift) % count for item in first) for shift in range(count)]
    if count % 2:  # an odd square needs its mirror image to balance the carry-over
        rows += [row[::-1] for row in rows]
    return tuple(rows)


#: Share of each test's pair ratios trimmed from each end. On a shared machine a run now and then lands in a
#: busy spell and costs half as much again; a trimmed mean shrugs such pairs off where a mean would not.
TRIM = 0.2


@dataclass(frozen=True)
class PairedChange:
    """One test's change from its pairs: ``log_change`` is the trimmed mean of ``log(head / base)``,
    ``error`` its standard error and ``df`` its degrees of freedom; ``spread`` is ``error * sqrt(pairs)``, the
    spread of one pair's log ratio; ``order_effect`` is the mean of ``log(second / first)`` (how much more the
    second run of a pair used)."""

    pairs: int
    log_change: float
    error: float
    df: int
    spread: float
    order_effect: float


def paired_change(
    base_j: Sequence[float],
    head_j: Sequence[float],
    head_second: Sequence[bool],
    *,
    min_spread: float = 0.0,
) -> PairedChange | None:
    """The paired estimate from run medians, pair by pair; None with fewer than two pairs or a value that is
    not positive (a relative change is then undefined).

    The change is the :data:`TRIM`-trimmed mean of the log ratios with the Tukey–McLaughlin standard error
    (the winsorized standard deviation over ``(1 - 2 * TRIM) * sqrt(pairs)``, ``pairs - 2g - 1`` degrees of
    freedom for ``g`` ratios trimmed from each end); with fewer than five pairs nothing is trimmed and this
    is the paired t interval. The spread is floored at ``min_spread`` (``greencode ab`` passes the gate's
    smallest run-to-run spread for each of the two runs), so a few identical-looking pairs cannot make an
    interval arbitrarily narrow.
    """
    import statistics  # only greencode ab asks: a measuring run does not import statistics

    if len(base_j) != len(head_j) or len(head_j) != len(head_second):
        raise ValueError("base_j, head_j and head_second need one entry per pair")
    if len(base_j) < 2 or any(v <= 0 or not math.isfinite(v) for v in (*base_j, *head_j)):
        return None
    ratios = [math.log(h) - math.log(b) for b, h in zip(base_j, head_j, strict=True)]
    n = len(ratios)
    trimmed = int(TRIM * n)
    ordered = sorted(ratios)
    kept = ordered[trimmed : n - trimmed]
    winsorized = [kept[0]] * trimmed + kept + [kept[-1]] * trimmed
    spread = max(sample_stdev(winsorized) / (1.0 - 2.0 * trimmed / n), min_spread)
    order = [r if second else -r for r, second in zip(ratios, head_second, strict=True)]
    return PairedChange(
        pairs=n,
        log_change=statistics.fmean(kept),
        error=spread / math.sqrt(n),
        df=n - 2 * trimmed - 1,
        spread=spread,
        order_effect=statistics.fmean(order),
    )


def planned_looks(min_pairs: int, max_pairs: int, batch: int = 2) -> int:
    """How many times the data are judged at most: after ``min_pairs`` pairs, then after every ``batch``
    more."""
    return 1 + math.ceil((max_pairs - min_pairs) / batch)


def look_alpha(alpha: float, look: int, looks: int, *, last: bool = False) -> float:
    """The significance level for a regression at ``look`` (1-based) of ``looks`` planned.

    Looking again after more pairs and stopping at the first significant result would let noise through
    more often than ``alpha`` (optional stopping). So the looks share ``alpha`` (Bonferroni): the last
    planned look gets ``alpha/2``, the one before ``alpha/4``, and so on; the look that ends the run, for
    whatever reason, gets all that earlier looks left unspent. A test stops early only on a regression at its
    look's level, or when even the full-``alpha`` interval lies below ``fail_on`` — which cannot add false
    alarms.
    """
    if last:
        return alpha - sum(look_alpha(alpha, earlier, looks) for earlier in range(1, look))
    return alpha / 2.0 ** (looks - look + 1)
