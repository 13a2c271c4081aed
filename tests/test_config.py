from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.config import KNOWN_KEYS, Threshold, load_config, parse_energy, parse_threshold
from greencode.errors import ConfigError


def write_pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text("[project]\nname = 'demo'\n\n[tool.greencode]\n" + body, encoding="utf-8")
    return path


def test_defaults_apply_without_a_config_file(tmp_path: Path) -> None:
    config = load_config(start=tmp_path, environ={})
    assert config.meter == "auto"
    assert config.fail_on == Threshold(0.10)
    assert config.source == "defaults"


def test_pyproject_table_is_read_and_typed(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        'meter = "estimate"\nfail_on = "5%"\nmin_effect_j = "20 mJ"\nrounds = 7\n'
        '[tool.greencode.budgets]\n"tests/test_io.py::*" = "2 J"\n',
    )
    config = load_config(start=tmp_path, environ={})
    assert config.meter == "estimate"
    assert config.fail_on.fraction == pytest.approx(0.05)
    assert config.min_effect_j == pytest.approx(0.02)
    assert config.rounds == 7
    assert config.budgets == {"tests/test_io.py::*": 2.0}
    assert config.root == tmp_path.resolve()


def test_config_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'meter = "rapl"\n')
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    assert load_config(start=tmp_path / "pkg" / "sub", environ={}).meter == "rapl"


def test_sections_are_parsed(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        '[tool.greencode.carbon]\ngrid = "nl"\npue = 1.2\n'
        "[tool.greencode.estimator]\nwatts_per_thread = 3.0\n",
    )
    config = load_config(start=tmp_path, environ={})
    assert config.carbon.grid == "NL"
    assert config.carbon.pue == 1.2
    assert config.estimator.watts_per_thread == 3.0


def test_bad_value_names_file_key_value_and_accepted_form(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, 'fail_on = "ten"\n')
    with pytest.raises(ConfigError) as error:
        load_config(start=tmp_path, environ={})
    message = str(error.value)
    assert str(path) in message and "fail_on" in message and "'ten'" in message and "10%" in message


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'fail_onn = "10%"\n')
    with pytest.raises(ConfigError, match="did you mean 'fail_on'"):
        load_config(start=tmp_path, environ={})


def test_unknown_section_key_is_an_error(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.greencode.carbon]\ngrids = "NL"\n')
    with pytest.raises(ConfigError, match=r"carbon\.grids"):
        load_config(start=tmp_path, environ={})


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "greencode.toml"
    path.write_text("meter = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML") as error:
        load_config(start=tmp_path, environ={})
    assert str(path) in str(error.value)


def test_environment_overrides_file(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'meter = "rapl"\n')
    config = load_config(
        start=tmp_path, environ={"GREENCODE_METER": "estimate", "GREENCODE_POWERCAP_ROOT": "/tmp/fake"}
    )
    assert config.meter == "estimate"
    assert config.powercap_root == Path("/tmp/fake")


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GREENCODE_METER"):
        load_config(start=tmp_path, environ={"GREENCODE_METER": "no such/meter"})


def test_overrides_win_and_none_means_unset(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'meter = "rapl"\nrounds = 3\n')
    config = load_config(start=tmp_path, environ={}, overrides={"meter": "estimate", "rounds": None})
    assert (config.meter, config.rounds) == ("estimate", 3)


def test_greencode_config_variable_pointing_nowhere_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GREENCODE_CONFIG"):
        load_config(start=tmp_path, environ={"GREENCODE_CONFIG": str(tmp_path / "missing.toml")})


def test_relative_paths_resolve_against_the_config_root(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'baseline = "energy/base.json"\n')
    config = load_config(start=tmp_path, environ={})
    assert config.resolve(config.baseline) == tmp_path.resolve() / "energy" / "base.json"


def test_known_keys_include_sections() -> None:
    assert "fail_on" in KNOWN_KEYS and "carbon.grid" in KNOWN_KEYS and "scan.select" in KNOWN_KEYS


@given(st.floats(min_value=0, max_value=10_000, allow_nan=False))
def test_threshold_round_trips_through_its_text(percent: float) -> None:
    threshold = parse_threshold(f"{percent!r}%")
    assert threshold.fraction == pytest.approx(percent / 100)
    assert parse_threshold(str(threshold)).fraction == pytest.approx(threshold.fraction, rel=1e-5, abs=1e-12)


@pytest.mark.parametrize("bad", ["ten", "-5%", "5", "%", "5%%", "", True, None, [5]])
def test_threshold_rejects_malformed_text(bad: object) -> None:
    # a bare string number ("5") is refused too: fraction or percent would be a guess
    with pytest.raises(ValueError):
        parse_threshold(bad)


def test_threshold_accepts_a_number_of_percent() -> None:
    assert parse_threshold(10).fraction == pytest.approx(0.10)


@pytest.mark.parametrize(
    ("text", "joules"),
    [
        ("5", 5.0),
        ("5 J", 5.0),
        ("200 mJ", 0.2),
        ("1.5kJ", 1500.0),
        ("0.1 Wh", 360.0),
        ("3 uJ", 3e-6),
        ("1e-3 J", 1e-3),
    ],
)
def test_energy_units_are_converted_to_joules(text: str, joules: float) -> None:
    assert parse_energy(text) == pytest.approx(joules)


@pytest.mark.parametrize("bad", ["5 W", "-1 J", "J", "nan", "1 J J", True])
def test_energy_rejects_malformed_text(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_energy(bad)


@given(
    st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.sampled_from(["J", "mJ", "kJ", "MJ", "Wh", "kWh", "uJ", "µJ"]),
)
def test_energy_parsing_scales_by_the_unit(value: float, unit: str) -> None:
    factors = {"J": 1.0, "mJ": 1e-3, "kJ": 1e3, "MJ": 1e6, "Wh": 3600.0, "kWh": 3.6e6, "uJ": 1e-6, "µJ": 1e-6}
    assert parse_energy(f"{value!r} {unit}") == pytest.approx(value * factors[unit])


def test_origin_names_where_each_key_was_set(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, "rounds = 7\n[tool.greencode.carbon]\npue = 1.2\n")
    config = load_config(start=tmp_path, environ={"GREENCODE_METER": "estimate"}, overrides={"fail_on": "5%"})
    assert str(path) in config.origin("rounds") and str(path) in config.origin("carbon")
    assert "GREENCODE_METER" in config.origin("meter")
    assert config.origin("fail_on") == "command line"
    assert config.origin("alpha") == "defaults"  # not set anywhere, although a file was read
