"""Grid intensity: tables, CodeCarbon's dataset, market vs location, hourly profiles, PUE, defaults."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode import carbon
from greencode.carbon import (
    WORLD_AVERAGE_G_PER_KWH,
    Intensity,
    co2e_g,
    country_intensity,
    resolve_intensity,
)
from greencode.config import CarbonConfig, Config, apply_table
from greencode.errors import ConfigError
from greencode.grid import country_table, load_hourly_profile

#: The real finder; the fixture below replaces it for every other test.
FIND_CODECARBON_FILE = carbon.codecarbon_data_file


@pytest.fixture(autouse=True)
def no_codecarbon(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see greencode's own table unless they inject a CodeCarbon file."""
    monkeypatch.setattr(carbon, "codecarbon_data_file", lambda *parts: None)
    carbon.clear_caches()
    yield
    carbon.clear_caches()


def fake_codecarbon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: object) -> Path:
    package = tmp_path / "codecarbon"
    path = package / "data" / "private_infra" / "global_energy_mix.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(carbon, "codecarbon_data_file", lambda *parts: package.joinpath(*parts))
    carbon.clear_caches()
    return path


def write_profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hours.csv"
    path.write_text(text, encoding="utf-8")
    return path


FLAT_PROFILE = "hour,g_per_kwh\n" + "".join(f"{hour},{100 + hour}\n" for hour in range(24))


def test_nothing_configured_uses_the_world_average_labelled_default() -> None:
    intensity = resolve_intensity(CarbonConfig())
    assert intensity.g_per_kwh == WORLD_AVERAGE_G_PER_KWH == 475
    assert "default" in intensity.label
    assert intensity.basis == "location"


def test_world_row_of_the_table_matches_the_default_constant() -> None:
    assert country_table()["WORLD"].g_per_kwh == WORLD_AVERAGE_G_PER_KWH


@pytest.mark.parametrize("code", ["NL", "nld", "NLD", " nl "])
def test_country_is_found_by_alpha2_or_alpha3_in_any_case(code: str) -> None:
    row = country_intensity(code)
    assert (row.alpha2, row.alpha3, row.g_per_kwh, row.year) == ("NL", "NLD", 267.622, 2023)


def test_every_table_row_has_both_codes_a_positive_figure_a_year_and_a_source() -> None:
    rows = {row.alpha3: row for row in country_table().values()}
    assert len(rows) > 200
    for row in rows.values():
        assert len(row.alpha3) == 3 or row.alpha3 == "WORLD"
        assert len(row.alpha2) == 2 or row.alpha3 == "WORLD"
        assert row.g_per_kwh > 0 and 2000 <= row.year <= 2100 and row.source


def test_country_label_names_country_year_source_and_basis() -> None:
    intensity = resolve_intensity(CarbonConfig(grid="NL"))
    assert intensity.g_per_kwh == 267.622
    assert "Netherlands (NLD) 2023" in intensity.label
    assert "Our World in Data" in intensity.label
    assert "location-based" in intensity.label


def test_unknown_country_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"carbon\.grid = 'XX'.*grid_intensity"):
        country_intensity("XX")


def test_config_rejects_an_unknown_country_code() -> None:
    with pytest.raises(ConfigError, match=r"carbon\.grid = 'QQ'"):
        apply_table(Config(), {"carbon": {"grid": "QQ"}}, "pyproject.toml")


def test_codecarbon_dataset_is_used_when_installed_and_the_label_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_codecarbon(
        tmp_path,
        monkeypatch,
        {"NLD": {"carbon_intensity": 250.5, "year": 2024, "country_name": "Netherlands"}},
    )
    intensity = resolve_intensity(CarbonConfig(grid="NL"))
    assert intensity.g_per_kwh == 250.5
    assert "CodeCarbon" in intensity.label and "2024" in intensity.label


def test_codecarbon_entry_without_intensity_falls_back_to_the_packaged_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_codecarbon(tmp_path, monkeypatch, {"NLD": {"carbon_intensity": 0.0, "year": 2023}})
    assert resolve_intensity(CarbonConfig(grid="NLD")).g_per_kwh == 267.622


def test_corrupt_codecarbon_file_falls_back_to_the_packaged_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fake_codecarbon(tmp_path, monkeypatch, {})
    path.write_text("{not json", encoding="utf-8")
    assert resolve_intensity(CarbonConfig(grid="NL")).g_per_kwh == 267.622


def test_codecarbon_is_located_without_being_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "codecarbon"
    (package / "data" / "private_infra").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n", encoding="utf-8")
    (package / "data" / "private_infra" / "global_energy_mix.json").write_text("{}", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = FIND_CODECARBON_FILE("data", "private_infra", "global_energy_mix.json")
    assert found == package / "data" / "private_infra" / "global_energy_mix.json"
    assert "codecarbon" not in sys.modules


def test_fixed_grid_intensity_is_location_based_and_labelled_configured() -> None:
    intensity = resolve_intensity(CarbonConfig(grid_intensity=268))
    assert intensity == Intensity(268, intensity.label, "location")
    assert "carbon.grid_intensity" in intensity.label


def test_grid_intensity_wins_over_a_country() -> None:
    assert resolve_intensity(CarbonConfig(grid="NL", grid_intensity=100)).g_per_kwh == 100


def test_market_basis_uses_the_market_figure_and_says_market_based() -> None:
    intensity = resolve_intensity(CarbonConfig(grid="NL", market_intensity=20, basis="market"))
    assert (intensity.g_per_kwh, intensity.basis) == (20, "market")
    assert "market-based" in intensity.label


def test_market_figure_is_ignored_on_the_location_basis() -> None:
    intensity = resolve_intensity(CarbonConfig(grid="NL", market_intensity=20))
    assert (intensity.g_per_kwh, intensity.basis) == (267.622, "location")


def test_config_rejects_market_basis_without_a_market_figure() -> None:
    with pytest.raises(ConfigError, match="market_intensity"):
        apply_table(Config(), {"carbon": {"basis": "market"}}, "greencode.toml")


def test_co2e_applies_pue_and_kwh_conversion() -> None:
    # 3.6 MJ = 1 kWh at 500 g/kWh with PUE 1.5 -> 750 g
    assert co2e_g(3.6e6, Intensity(500, "x"), pue=1.5) == pytest.approx(750)


def test_hourly_profile_picks_the_local_hour_the_energy_was_used(tmp_path: Path) -> None:
    config = CarbonConfig(hourly_profile=write_profile(tmp_path, FLAT_PROFILE))
    when = time.mktime((2024, 6, 1, 14, 30, 0, 0, 0, -1))  # 14:30 local time
    intensity = resolve_intensity(config, when)
    assert intensity.g_per_kwh == 114
    assert "hour 14" in intensity.label and "hours.csv" in intensity.label


def test_hourly_profile_is_read_once_and_cached(tmp_path: Path) -> None:
    path = write_profile(tmp_path, FLAT_PROFILE)
    config = CarbonConfig(hourly_profile=path)
    first = resolve_intensity(config, 0.0)
    path.unlink()  # a second read would now fail
    assert resolve_intensity(config, 0.0) == first


def test_relative_hourly_profile_is_relative_to_the_project_root(tmp_path: Path) -> None:
    write_profile(tmp_path, FLAT_PROFILE)
    config = apply_table(Config(root=tmp_path), {"carbon": {"hourly_profile": "hours.csv"}}, "pyproject.toml")
    assert config.carbon.hourly_profile == tmp_path / "hours.csv"


def test_config_reports_a_bad_hourly_profile_when_read(tmp_path: Path) -> None:
    write_profile(tmp_path, FLAT_PROFILE + "7,x\n")
    with pytest.raises(ConfigError, match=r"hours\.csv:26: intensity 'x'"):
        apply_table(Config(root=tmp_path), {"carbon": {"hourly_profile": "hours.csv"}}, "pyproject.toml")


def test_profile_allows_comments_blank_lines_and_no_header(tmp_path: Path) -> None:
    text = "# Dutch grid, summer\n\n" + "".join(f"{h}, {h}.5  # note\n" for h in range(24))
    assert load_hourly_profile(write_profile(tmp_path, text))[23] == 23.5


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("24,100", r"hours\.csv:26: hour '24' is not a whole number from 0 to 23"),
        ("x,100", r"hours\.csv:26: hour 'x'"),
        ("3,-1", r"hours\.csv:26: intensity '-1' is not a number >= 0"),
        ("3,abc", r"hours\.csv:26: intensity 'abc'"),
        ("3", r"hours\.csv:26: expected 'hour,g_per_kwh'"),
        ("3,100", r"hours\.csv:26: hour 3 appears twice"),
    ],
)
def test_profile_errors_name_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_hourly_profile(write_profile(tmp_path, FLAT_PROFILE + line + "\n"))


def test_profile_missing_hours_are_listed(tmp_path: Path) -> None:
    text = "".join(f"{hour},100\n" for hour in range(24) if hour not in (5, 6))
    with pytest.raises(ConfigError, match=r"hours\.csv: no intensity for hour\(s\) 5, 6"):
        load_hourly_profile(write_profile(tmp_path, text))


def test_profile_saved_by_a_spreadsheet_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "hours.csv"
    path.write_bytes(b"\xef\xbb\xbf" + FLAT_PROFILE.encode())
    assert load_hourly_profile(path)[0] == 100


def test_profile_with_quoted_cells_is_read(tmp_path: Path) -> None:
    text = '"hour","g_per_kwh"\n' + "".join(f'"{hour}","{100 + hour}"\n' for hour in range(24))
    assert load_hourly_profile(write_profile(tmp_path, text))[23] == 123


def test_profile_that_is_not_text_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "hours.csv"
    path.write_bytes(b"\xff\xfe\x00\x01binary")
    with pytest.raises(ConfigError, match=r"hours\.csv: not a text file; point carbon\.hourly_profile at"):
        load_hourly_profile(path)


@pytest.mark.parametrize("pue", [0.5, 0.99])
def test_config_rejects_a_pue_below_one(pue: float) -> None:
    with pytest.raises(ConfigError, match=rf"carbon\.pue = {pue}: expected a number >= 1"):
        apply_table(Config(), {"carbon": {"pue": pue}}, "pyproject.toml")


@pytest.mark.parametrize("code", ["world", "World", "WORLD"])
def test_config_accepts_world_in_any_case(code: str) -> None:
    assert apply_table(Config(), {"carbon": {"grid": code}}, "pyproject.toml").carbon.grid == "WORLD"


def test_config_reads_a_built_in_functional_unit_in_any_case() -> None:
    config = apply_table(Config(), {"carbon": {"functional_unit": "Call"}}, "pyproject.toml")
    assert config.carbon.functional_unit == "call"


def test_missing_profile_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.csv: cannot read the hourly profile"):
        load_hourly_profile(tmp_path / "nope.csv")


@given(st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False), min_size=24, max_size=24))
def test_profile_round_trips_any_24_values(values: list[float]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        text = "".join(f"{hour},{value!r}\n" for hour, value in enumerate(values))
        assert load_hourly_profile(write_profile(Path(directory), text)) == tuple(values)


def test_resolution_is_cached_per_configuration() -> None:
    config = CarbonConfig(grid="DE")
    resolve_intensity(config)
    before = carbon._resolver.cache_info().hits
    resolve_intensity(config)
    assert carbon._resolver.cache_info().hits == before + 1
