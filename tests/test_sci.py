"""SCI = ((E × I) + M) per R, with known values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.carbon import Intensity
from greencode.config import CarbonConfig, Config, apply_table
from greencode.errors import ConfigError
from greencode.sci import SECONDS_PER_YEAR, embodied_g, sci

# Eco-CI's GitHub runner (EPYC 7763, 4 of 128 threads): 1151.7 kgCO2e embodied, 4-year life.
RUNNER = CarbonConfig(embodied_kgco2e=1151.7, lifetime_years=4, resource_share=4 / 128, grid_intensity=472)


def test_four_years_is_126_144_000_seconds() -> None:
    assert 4 * SECONDS_PER_YEAR == 126_144_000


def test_eco_ci_runner_embodied_share_over_its_whole_life() -> None:
    assert embodied_g(1151.7, 126_144_000, 126_144_000, 4 / 128) == pytest.approx(35_990.625)


def test_embodied_share_of_one_minute_of_the_runner() -> None:
    result = sci(0.0, 60.0, RUNNER)
    assert result.embodied_g == pytest.approx(35_990.625 * 60 / 126_144_000)


def test_operational_term_is_energy_in_kwh_times_intensity() -> None:
    # 1 kWh at 472 g/kWh
    assert sci(3.6e6, 0.0, RUNNER).operational_g == pytest.approx(472)


def test_pue_scales_the_operational_term_only() -> None:
    config = CarbonConfig(grid_intensity=100, pue=1.5, embodied_kgco2e=1.0, lifetime_years=1)
    result = sci(3.6e6, SECONDS_PER_YEAR, config)
    assert (result.operational_g, result.embodied_g) == (pytest.approx(150), pytest.approx(1000))


def test_score_is_operational_plus_embodied_divided_by_units() -> None:
    result = sci(3.6e6, 60.0, RUNNER, units=100, functional_unit="request")
    expected = (472 + 35_990.625 * 60 / 126_144_000) / 100
    assert result.per_unit_g == pytest.approx(expected)
    assert result.functional_unit == "request"


def test_functional_unit_defaults_to_the_configured_one() -> None:
    assert sci(1.0, 1.0, CarbonConfig(functional_unit="test")).functional_unit == "test"


def test_without_embodied_emissions_m_is_zero_and_flagged() -> None:
    result = sci(1.0, 10.0, CarbonConfig())
    assert result.embodied_g == 0 and not result.embodied_known
    assert "carbon.embodied_kgco2e not set" in result.describe()


def test_given_intensity_is_used_instead_of_the_configured_one() -> None:
    result = sci(3.6e6, 0.0, RUNNER, intensity=Intensity(10, "ten"))
    assert result.operational_g == pytest.approx(10)
    assert result.to_dict()["intensity"] == "ten"


def test_description_shows_the_score_the_unit_and_both_terms() -> None:
    # 1 Wh at 472 g/kWh = 472 mg; one minute of the runner's embodied share = 17.1 mg
    assert sci(3.6e3, 60.0, RUNNER).describe() == "489 mgCO2e per call (E×I 472 mgCO2e + M 17.1 mgCO2e)"


@pytest.mark.parametrize("units", [0, -1])
def test_units_must_be_positive(units: float) -> None:
    with pytest.raises(ValueError, match="units"):
        sci(1.0, 1.0, RUNNER, units=units)


@given(
    st.floats(min_value=0, max_value=1e9),
    st.floats(min_value=0, max_value=1e7),
    st.floats(min_value=0.01, max_value=1e4),
)
def test_doubling_units_halves_the_score(energy: float, reserved: float, units: float) -> None:
    one = sci(energy, reserved, RUNNER, units=units).per_unit_g
    two = sci(energy, reserved, RUNNER, units=units * 2).per_unit_g
    assert two == pytest.approx(one / 2)


@pytest.mark.parametrize("unit", ["", "1x", "x" * 41])
def test_config_rejects_a_bad_functional_unit(unit: str) -> None:
    with pytest.raises(ConfigError, match="functional_unit"):
        apply_table(Config(), {"carbon": {"functional_unit": unit}}, "pyproject.toml")
