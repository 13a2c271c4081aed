"""The inference behind the regression gate: distributions, adjustments, moderated variances."""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from greencode.stats import (
    Summary,
    digamma,
    holm,
    incomplete_beta,
    log_median_variance,
    median,
    moderated_variances,
    normal_cdf,
    normal_ppf,
    quantile,
    sample_stdev,
    summarize,
    t_cdf,
    t_ppf,
    trigamma,
)

positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False)


@given(st.lists(finite, min_size=1, max_size=40))
def test_the_median_is_the_statistics_modules_to_the_bit(values: list[float]) -> None:
    assert median(values) == statistics.median(values)
    assert median(iter(values)) == statistics.median(values)


@given(st.lists(st.floats(min_value=0.0, max_value=1e12), min_size=2, max_size=40))
def test_a_summarys_mean_is_the_statistics_modules_fmean(values: list[float]) -> None:
    assert summarize(values).mean == statistics.fmean(values)


def test_there_is_no_median_of_no_values() -> None:
    with pytest.raises(ValueError, match="no median"):
        median([])


def test_summarize_and_quantile_are_unchanged_for_their_users() -> None:
    summary = summarize([1.0, 2.0, 3.0, 4.0])
    assert (summary.median, summary.q1, summary.q3) == (2.5, 1.75, 3.25)
    assert quantile([3.0, 1.0, 2.0], 0.5) == 2.0


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6))
def test_summary_of_one_sample_is_what_the_general_statistics_give(value: float) -> None:
    x = float(value)
    expected = Summary(
        1,
        statistics.median([x]),
        statistics.fmean([x]),
        0.0,
        x,
        x,
        quantile([x], 0.25),
        quantile([x], 0.75),
        0.0,
    )
    assert summarize([value]) == expected


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


def test_holm_adjusts_a_known_example() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30))
def test_holm_never_lowers_a_p_value_and_keeps_their_order(p_values: list[float]) -> None:
    adjusted = holm(p_values)
    assert all(p <= a <= 1.0 for p, a in zip(p_values, adjusted, strict=True))
    for i, j in itertools.combinations(range(len(p_values)), 2):
        if p_values[i] < p_values[j]:
            assert adjusted[i] <= adjusted[j]


def test_log_median_variance_is_zero_without_spread_information() -> None:
    assert log_median_variance([2.0]) == 0.0


@given(st.lists(positive, min_size=2, max_size=10), positive)
@example(samples=[1.0, 0.001, 0.0010000000000000002], scale=57.0)  # two values one ulp apart
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


@given(st.lists(st.floats(1e-9, 1e3), min_size=2, max_size=40))
def test_the_float_standard_deviation_agrees_with_the_exact_one(values: list[float]) -> None:
    assert sample_stdev(values) == pytest.approx(statistics.stdev(values), rel=1e-9, abs=1e-12)
