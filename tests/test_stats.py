"""The inference behind the regression gate: distributions, rank tests, shift estimates, adjustments."""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greencode.stats import (
    bootstrap_ratio,
    digamma,
    hodges_lehmann,
    hodges_lehmann_ratio,
    holm,
    incomplete_beta,
    log_median_variance,
    mann_whitney,
    moderated_variances,
    normal_cdf,
    normal_ppf,
    quantile,
    summarize,
    t_cdf,
    t_ppf,
    trigamma,
)

positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)
distinct_samples = st.lists(st.integers(0, 10_000), min_size=1, max_size=6, unique=True)


def test_summarize_and_quantile_are_unchanged_for_their_users() -> None:
    summary = summarize([1.0, 2.0, 3.0, 4.0])
    assert (summary.median, summary.q1, summary.q3) == (2.5, 1.75, 3.25)
    assert quantile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_t_distribution_with_one_degree_of_freedom_is_cauchy() -> None:
    for x in (-3.0, -0.5, 0.0, 0.7, 12.0):
        assert t_cdf(x, 1) == pytest.approx(0.5 + math.atan(x) / math.pi, abs=1e-12)


def test_t_distribution_with_two_degrees_of_freedom_matches_its_closed_form() -> None:
    for x in (-2.0, 0.3, 4.0):
        assert t_cdf(x, 2) == pytest.approx(0.5 + x / (2 * math.sqrt(2 + x * x)), abs=1e-12)


def test_t_quantiles_match_published_tables() -> None:
    assert t_ppf(0.975, 10) == pytest.approx(2.228139, abs=1e-6)
    assert t_ppf(0.95, 3) == pytest.approx(2.353363, abs=1e-6)


def test_t_distribution_with_infinite_degrees_of_freedom_is_normal() -> None:
    assert t_cdf(1.5, math.inf) == normal_cdf(1.5)
    assert t_ppf(0.9, math.inf) == pytest.approx(normal_ppf(0.9))
    assert t_ppf(0.9, 1e6) == pytest.approx(normal_ppf(0.9), abs=1e-4)


@given(st.floats(0.001, 0.999), st.floats(0.5, 200))
def test_t_quantile_inverts_the_distribution_function(p: float, df: float) -> None:
    assert t_cdf(t_ppf(p, df), df) == pytest.approx(p, abs=1e-9)


@given(st.floats(0.1, 20), st.floats(0.1, 20), st.floats(1e-6, 1.0 - 1e-6))
def test_incomplete_beta_is_symmetric(a: float, b: float, x: float) -> None:
    assert incomplete_beta(a, b, x) == pytest.approx(1.0 - incomplete_beta(b, a, 1.0 - x), abs=1e-9)


def test_digamma_and_trigamma_at_one() -> None:
    assert digamma(1.0) == pytest.approx(-0.5772156649015329, abs=1e-10)
    assert trigamma(1.0) == pytest.approx(math.pi**2 / 6, abs=1e-10)


def _brute_force_upper_tail(x: list[int], y: list[int]) -> float:
    """P(U >= observed) by enumerating every split of the pooled values."""
    pooled = x + y
    observed = sum(1 for a in x for b in y if b > a)
    hits = total = 0
    for chosen in itertools.combinations(range(len(pooled)), len(y)):
        ys = [pooled[i] for i in chosen]
        xs = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        total += 1
        hits += sum(1 for a in xs for b in ys if b > a) >= observed
    return hits / total


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_exact_mann_whitney_matches_enumeration(data: st.DataObject) -> None:
    values = data.draw(st.lists(st.integers(0, 1000), min_size=2, max_size=9, unique=True))
    split = data.draw(st.integers(1, len(values) - 1))
    x, y = values[:split], values[split:]
    result = mann_whitney(x, y, "greater")
    assert result.method == "exact"
    assert result.p_value == pytest.approx(_brute_force_upper_tail(x, y), abs=1e-12)


@given(distinct_samples, distinct_samples)
def test_two_sided_mann_whitney_is_symmetric_and_a_probability(x: list[int], y: list[int]) -> None:
    forward, backward = mann_whitney(x, y), mann_whitney(y, x)
    assert 0.0 <= forward.p_value <= 1.0
    assert forward.p_value == pytest.approx(backward.p_value)


def test_mann_whitney_normal_approximation_is_close_to_exact_for_moderate_samples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(3)
    x = [rng.gauss(0, 1) for _ in range(20)]
    y = [rng.gauss(0.6, 1) for _ in range(20)]
    exact = mann_whitney(x, y, "greater")
    monkeypatch.setattr("greencode.stats.EXACT_LIMIT", 0)
    approximate = mann_whitney(x, y, "greater")
    assert (exact.method, approximate.method) == ("exact", "normal")
    assert approximate.p_value == pytest.approx(exact.p_value, rel=0.05)


def test_mann_whitney_with_ties_uses_the_tie_corrected_approximation() -> None:
    assert mann_whitney([1, 2, 2, 3], [2, 3, 4, 5]).method == "normal"


def test_mann_whitney_with_all_values_equal_gives_no_evidence() -> None:
    assert mann_whitney([1.0, 1.0], [1.0, 1.0, 1.0]).p_value == 1.0


def test_mann_whitney_separated_samples_are_significant() -> None:
    assert mann_whitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], "greater").p_value == pytest.approx(1 / 252)


def test_holm_adjusts_a_known_example() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30))
def test_holm_never_lowers_a_p_value_and_keeps_their_order(p_values: list[float]) -> None:
    adjusted = holm(p_values)
    assert all(p <= a <= 1.0 for p, a in zip(p_values, adjusted, strict=True))
    for i, j in itertools.combinations(range(len(p_values)), 2):
        if p_values[i] < p_values[j]:
            assert adjusted[i] <= adjusted[j]


def test_hodges_lehmann_finds_a_shift_with_the_tabulated_interval() -> None:
    interval = hodges_lehmann([1, 2, 3, 4, 5], [3, 4, 5, 6, 7], confidence=0.95)
    assert interval.estimate == 2
    # n = m = 5: the 95% interval runs from the 3rd to the 23rd of 25 differences (coverage 1 - 2 * 4/252)
    assert (interval.low, interval.high) == (-1, 5)
    assert interval.confidence == pytest.approx(1 - 8 / 252)


def test_hodges_lehmann_reports_the_confidence_it_could_reach_with_few_values() -> None:
    interval = hodges_lehmann([1.0, 2.0], [3.0, 4.0], confidence=0.95)
    assert (interval.low, interval.high) == (1.0, 3.0)
    assert interval.confidence == pytest.approx(2 / 3)  # 1 - 2 * P(U = 0), P(U = 0) = 1/6


def test_hodges_lehmann_interval_covers_the_true_shift_as_often_as_it_claims() -> None:
    rng = random.Random(11)
    covered = 0
    for _ in range(400):
        x = [rng.gauss(0, 1) for _ in range(7)]
        y = [rng.gauss(0.5, 1) for _ in range(6)]
        interval = hodges_lehmann(x, y, confidence=0.9)
        covered += interval.low <= 0.5 <= interval.high
    assert 0.85 <= covered / 400 <= 0.97


@given(st.lists(positive, min_size=1, max_size=8), st.lists(positive, min_size=1, max_size=8))
def test_hodges_lehmann_interval_contains_its_estimate(x: list[float], y: list[float]) -> None:
    interval = hodges_lehmann(x, y)
    assert interval.low <= interval.estimate <= interval.high


@given(st.lists(positive, min_size=2, max_size=8), st.lists(positive, min_size=2, max_size=8), positive)
def test_ratios_do_not_depend_on_the_unit(x: list[float], y: list[float], scale: float) -> None:
    plain = hodges_lehmann_ratio(x, y)
    scaled = hodges_lehmann_ratio([v * scale for v in x], [v * scale for v in y])
    assert scaled.estimate == pytest.approx(plain.estimate, rel=1e-9)
    assert scaled.low == pytest.approx(plain.low, rel=1e-9)


def test_ratios_refuse_non_positive_values() -> None:
    with pytest.raises(ValueError, match="positive"):
        hodges_lehmann_ratio([1.0, 0.0], [1.0])


def test_bootstrap_ratio_is_repeatable_and_brackets_the_ratio_of_medians() -> None:
    rng = random.Random(1)
    x = [rng.lognormvariate(0, 0.05) for _ in range(9)]
    y = [1.3 * rng.lognormvariate(0, 0.05) for _ in range(9)]
    first, second = bootstrap_ratio(x, y), bootstrap_ratio(x, y)
    assert first == second
    assert first.estimate == pytest.approx(statistics.median(y) / statistics.median(x))
    assert 1.0 < first.low <= first.estimate <= first.high < 1.7


def test_bootstrap_ratio_depends_on_its_seed_only_through_the_interval() -> None:
    x, y = [1.0, 1.1, 0.9, 1.05], [1.2, 1.3, 1.25, 1.4]
    assert bootstrap_ratio(x, y, seed=1).estimate == bootstrap_ratio(x, y, seed=2).estimate


def test_log_median_variance_is_zero_without_spread_information() -> None:
    assert log_median_variance([2.0]) == 0.0


@given(st.lists(positive, min_size=2, max_size=10), positive)
def test_log_median_variance_does_not_depend_on_the_unit(samples: list[float], scale: float) -> None:
    assert log_median_variance([v * scale for v in samples]) == pytest.approx(
        log_median_variance(samples), rel=1e-6, abs=1e-12
    )


def test_moderated_variances_pool_agreeing_groups() -> None:
    rng = random.Random(5)
    groups = []
    for _ in range(30):
        values = [rng.gauss(0, 0.05) for _ in range(3)]
        groups.append((statistics.variance(values), 2))
    moderated = moderated_variances(groups)
    # agreeing groups borrow the others' degrees of freedom (capped by what the others have)
    assert all(df > 20 for _, df in moderated)
    assert all(0.03 < math.sqrt(v) < 0.08 for v, _ in moderated)


def test_moderated_variances_let_a_much_noisier_group_keep_most_of_its_variance() -> None:
    groups = [(0.0025, 2)] * 10 + [(0.25, 2)]
    noisy, _ = moderated_variances(groups)[-1]
    assert noisy > 0.05


def test_moderated_variance_of_a_lone_group_is_its_own() -> None:
    assert moderated_variances([(0.01, 3)]) == [(0.01, 3)]


def test_moderated_variances_give_groups_without_replicates_the_prior_with_the_others_weight() -> None:
    variance, df = moderated_variances([(0.01, 2), (0.04, 2), (0.0, 0)])[2]
    assert df == 4
    assert 0.01 < variance < 0.06
