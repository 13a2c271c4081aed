"""The instruction model's least-squares fit: exact recovery, relative weighting, non-negativity, errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.instruction_fit import FitError, Sample, fit_instruction_model

J_INSTRUCTION = 2e-10
J_LINE = 1.5e-8


def sample(label: str, instructions: float, ll_misses: float, noise: float = 0.0) -> Sample:
    energy = (instructions * J_INSTRUCTION + ll_misses * J_LINE) * (1 + noise)
    return Sample(label, energy, {"instructions": instructions, "ll_misses": ll_misses})


WORKLOADS = [
    sample("integer loop", 5e9, 1e3),
    sample("random reads", 1e9, 5e7),
    sample("streaming", 2e9, 2e7),
    sample("mixed", 3e9, 1e7),
]


def test_recovers_the_coefficients_that_made_the_samples() -> None:
    fit = fit_instruction_model(WORKLOADS)
    assert fit.coefficients["instructions"] == pytest.approx(J_INSTRUCTION, rel=1e-9)
    assert fit.coefficients["ll_misses"] == pytest.approx(J_LINE, rel=1e-9)
    assert fit.rms_error == pytest.approx(0, abs=1e-9)
    assert fit.clamped == ()


@given(
    st.floats(1e-12, 1e-8),
    st.floats(1e-10, 1e-6),
    st.lists(st.tuples(st.floats(1e6, 1e11), st.floats(0, 1e9)), min_size=3, max_size=8),
)
def test_exact_samples_are_reproduced_whatever_the_scale(
    per_instruction: float, per_line: float, counts: list[tuple[float, float]]
) -> None:
    samples = [
        Sample(f"w{i}", n * per_instruction + m * per_line, {"instructions": n, "ll_misses": m})
        for i, (n, m) in enumerate(counts)
    ]
    fit = fit_instruction_model(samples)
    assert fit.max_error < 1e-6


def test_fit_error_is_the_relative_error_of_each_workload() -> None:
    noisy = [sample("a", 5e9, 1e3, +0.1), sample("b", 1e9, 5e7, -0.1), sample("c", 2e9, 2e7, 0.0)]
    fit = fit_instruction_model(noisy)
    errors = [p / s.energy_j - 1 for p, s in zip(fit.predicted_j, noisy, strict=True)]
    assert fit.relative_errors == pytest.approx(errors)
    assert fit.rms_error == pytest.approx(math.sqrt(sum(e * e for e in errors) / 3))
    assert fit.max_error == max(abs(e) for e in errors) > 0


def test_small_and_large_workloads_weigh_alike() -> None:
    # 5 % off either way on a millijoule and on a joule workload: fitting absolute joules would follow the
    # large one and leave the small one about 10 % off; relative residuals split the difference
    samples = [sample("small", 5e6, 0, +0.05), sample("large", 5e9, 0, -0.05)]
    fit = fit_instruction_model(samples, terms=("instructions",))
    small, large = fit.relative_errors
    assert 0.04 < abs(small) < 0.06 and 0.04 < abs(large) < 0.06


def test_a_coefficient_the_data_would_make_negative_is_fixed_at_zero() -> None:
    # more DRAM lines come with less energy: only a negative J/line would fit, so it is clamped
    samples = [
        Sample("a", 1.0, {"instructions": 5e9, "ll_misses": 0}),
        Sample("b", 0.3, {"instructions": 2e9, "ll_misses": 5e8}),
        Sample("c", 0.8, {"instructions": 4e9, "ll_misses": 1e8}),
    ]
    fit = fit_instruction_model(samples)
    assert fit.coefficients["ll_misses"] == 0.0
    assert fit.coefficients["instructions"] > 0
    assert fit.clamped == ("ll_misses",)


def test_config_values_use_the_configuration_keys() -> None:
    fit = fit_instruction_model(WORKLOADS)
    assert set(fit.config_values()) == {"joules_per_instruction", "joules_per_ll_miss"}


def test_fewer_workloads_than_coefficients_is_an_error() -> None:
    with pytest.raises(FitError, match="1 workload\\(s\\) cannot determine 2 coefficients"):
        fit_instruction_model(WORKLOADS[:1])


def test_a_workload_without_energy_above_idle_is_an_error() -> None:
    flat = Sample("sleep", 0.0, {"instructions": 1e6, "ll_misses": 0})
    with pytest.raises(FitError, match="workload 'sleep' used no energy above idle"):
        fit_instruction_model([*WORKLOADS, flat])


def test_counts_that_are_all_zero_cannot_be_fitted() -> None:
    zeros = [Sample(f"w{i}", 1.0, {"instructions": 0, "ll_misses": 0}) for i in range(3)]
    with pytest.raises(FitError, match="were zero in every workload"):
        fit_instruction_model(zeros)


def test_an_unknown_count_is_an_error() -> None:
    with pytest.raises(FitError, match="unknown count 'cycles'"):
        fit_instruction_model(WORKLOADS, terms=("cycles",))
