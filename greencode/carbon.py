"""Grid carbon intensity and the CO2e of energy.

Where the intensity comes from, first match wins (``docs/carbon.md``):

- ``basis = "market"``: the contracted ``market_intensity`` (GHG Protocol Scope 2, market-based);
- otherwise location-based: an ``hourly_profile`` CSV (the local hour the energy was used picks the value),
  a fixed ``grid_intensity``, a country ``grid`` looked up in a table, or the world average, labelled
  ``default``.

Country figures come from the packaged ``greencode/data/grid_intensity.csv``, or from CodeCarbon's
``global_energy_mix.json`` when the ``carbon`` extra is installed. That file is found without importing
CodeCarbon (its import takes about 0.1 s) and nothing is ever fetched from the network. Every
:class:`Intensity` carries a label that says which figure, basis and source were used; reports print it next
to each CO2e figure.

:func:`resolve_intensity` runs at the end of every measurement, so the work (reading tables and profiles) is
done once per configuration and cached; later calls are a dictionary lookup and, for an hourly profile, one
``localtime`` call.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from greencode.config import CarbonConfig
from greencode.errors import ConfigError
from greencode.extras import codecarbon_data_file

#: World average grid intensity used when nothing is configured (IEA 2019, CodeCarbon's world figure).
WORLD_AVERAGE_G_PER_KWH = 475.0
J_PER_KWH = 3.6e6
#: Key of the world row in the country table.
WORLD = "WORLD"
HOURS = 24

_TABLE = Path(__file__).parent / "data" / "grid_intensity.csv"
_CODECARBON_MIX = ("data", "private_infra", "global_energy_mix.json")
_PROFILE_HEADER = ("hour", "g_per_kwh")


@dataclass(frozen=True)
class Intensity:
    """A grid carbon intensity in gCO2e/kWh with where it came from, shown next to every CO2e figure.

    ``basis`` is ``"location"`` or ``"market"``; ``label`` names the figure, the basis and the source.
    """

    g_per_kwh: float
    label: str
    basis: str = "location"


@dataclass(frozen=True)
class CountryIntensity:
    """One country's average grid intensity for one year, with its source."""

    alpha2: str
    alpha3: str
    country: str
    g_per_kwh: float
    year: int
    source: str

    def describe(self) -> str:
        """``Netherlands (NLD) 2023``, or ``world average 2019``."""
        if self.alpha3 == WORLD:
            return f"world average {self.year}"
        return f"{self.country} ({self.alpha3}) {self.year}"


def co2e_g(energy_j: float, intensity: Intensity, pue: float = 1.0) -> float:
    """Grams of CO2e for ``energy_j`` joules at ``intensity``, scaled by the data centre's PUE."""
    return energy_j * pue / J_PER_KWH * intensity.g_per_kwh


# ---------------------------------------------------------------------------------------------------------
# country tables


@lru_cache(maxsize=1)
def country_table() -> Mapping[str, CountryIntensity]:
    """greencode's packaged table, keyed by ISO 3166 alpha-2 and alpha-3 code (and ``WORLD``)."""
    table: dict[str, CountryIntensity] = {}
    with _TABLE.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            row = CountryIntensity(
                alpha2=record["alpha2"],
                alpha3=record["alpha3"],
                country=record["country"],
                g_per_kwh=float(record["g_per_kwh"]),
                year=int(record["year"]),
                source=record["source"],
            )
            table[row.alpha3] = row
            if row.alpha2:
                table[row.alpha2] = row
    return table


@lru_cache(maxsize=4)
def codecarbon_table(path: Path) -> Mapping[str, CountryIntensity]:
    """CodeCarbon's ``global_energy_mix.json`` (alpha-3 keys, ``carbon_intensity`` in gCO2e/kWh, ``year``).

    Alpha-2 keys are added from greencode's table. Entries without a positive intensity are left out, and an
    unreadable or malformed file gives an empty table, so the packaged table is used instead.
    """
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    alpha2_of = {row.alpha3: row.alpha2 for row in country_table().values()}
    source = f"CodeCarbon dataset {path.name}"
    table: dict[str, CountryIntensity] = {}
    for alpha3, entry in data.items():
        if not isinstance(entry, dict):
            continue
        value, year = entry.get("carbon_intensity"), entry.get("year")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if value <= 0 or not isinstance(year, int):
            continue
        code = str(alpha3).upper()
        row = CountryIntensity(
            alpha2_of.get(code, ""), code, str(entry.get("country_name", code)), float(value), year, source
        )
        table[code] = row
        if row.alpha2:
            table[row.alpha2] = row
    return table


def country_intensity(code: str, codecarbon_file: Path | None = None) -> CountryIntensity:
    """The intensity of country ``code`` (alpha-2 or alpha-3, any case, or ``world``).

    CodeCarbon's figure is used when ``codecarbon_file`` (default: the installed CodeCarbon's data file) has
    one; otherwise greencode's table. Raises :class:`ConfigError` for a code neither table knows.
    """
    key = code.strip().upper()
    if key != WORLD:
        path = codecarbon_file if codecarbon_file is not None else codecarbon_data_file(*_CODECARBON_MIX)
        if path is not None:
            row = codecarbon_table(path).get(key)
            if row is not None:
                return row
    row = country_table().get(key)
    if row is None:
        raise ConfigError(
            f"carbon.grid = {code!r}: no grid intensity known for this code; use an ISO 3166 code listed in "
            "greencode/data/grid_intensity.csv, or set carbon.grid_intensity in gCO2e/kWh"
        )
    return row


# ---------------------------------------------------------------------------------------------------------
# hourly profiles


def load_hourly_profile(path: Path) -> tuple[float, ...]:
    """Read an hourly profile: 24 rows ``hour,g_per_kwh`` (hours 0-23 in local time, each once).

    An optional header ``hour,g_per_kwh``, blank lines and ``#`` comments are allowed, and so are what
    spreadsheets add when they save CSV: a byte order mark and quoted cells. Errors name the file and line.
    """
    expected = "point carbon.hourly_profile at a CSV of 'hour,g_per_kwh' rows"
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the hourly profile ({exc.strerror or exc}); {expected}"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; {expected} (UTF-8)") from None
    values: dict[int, float] = {}
    seen_data = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip()
        if not stripped:
            continue
        cells = [cell.strip() for cell in next(csv.reader([stripped]))]
        where = f"{path}:{number}"
        if not seen_data and tuple(cell.lower() for cell in cells) == _PROFILE_HEADER:
            seen_data = True
            continue
        seen_data = True
        if len(cells) != 2:
            raise ConfigError(f"{where}: expected 'hour,g_per_kwh' (two values), got {stripped!r}")
        hour_text, value_text = cells
        if not hour_text.isdigit() or not 0 <= int(hour_text) < HOURS:
            raise ConfigError(f"{where}: hour {hour_text!r} is not a whole number from 0 to 23")
        try:
            value = float(value_text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{where}: intensity {value_text!r} is not a number >= 0 (gCO2e/kWh)")
        hour = int(hour_text)
        if hour in values:
            raise ConfigError(f"{where}: hour {hour} appears twice; give each hour 0-23 once")
        values[hour] = value
    missing = [str(hour) for hour in range(HOURS) if hour not in values]
    if missing:
        raise ConfigError(
            f"{path}: no intensity for hour(s) {', '.join(missing)}; the profile needs one row for each "
            "hour 0-23"
        )
    return tuple(values[hour] for hour in range(HOURS))


# ---------------------------------------------------------------------------------------------------------
# resolving the configuration


class _Resolver:
    """The intensity for any moment: one fixed value, or one per local hour."""

    __slots__ = ("fixed", "hourly")

    def __init__(self, fixed: Intensity | None, hourly: tuple[Intensity, ...] = ()) -> None:
        self.fixed = fixed
        self.hourly = hourly

    def at(self, when: float | None) -> Intensity:
        if self.fixed is not None:
            return self.fixed
        return self.hourly[time.localtime(when).tm_hour]


def _location(value: float, source: str) -> Intensity:
    return Intensity(value, f"{value:g} gCO2e/kWh (location-based: {source})", "location")


@lru_cache(maxsize=32)
def _resolver(config: CarbonConfig) -> _Resolver:
    if config.basis == "market":
        if config.market_intensity is None:
            raise ConfigError(
                "carbon.basis = 'market' needs carbon.market_intensity (gCO2e/kWh of the contracted supply)"
            )
        value = config.market_intensity
        return _Resolver(
            Intensity(value, f"{value:g} gCO2e/kWh (market-based: carbon.market_intensity)", "market")
        )
    if config.hourly_profile is not None:
        name = config.hourly_profile.name
        profile = load_hourly_profile(config.hourly_profile)
        return _Resolver(
            None,
            tuple(
                _location(value, f"hourly profile {name}, hour {hour:02d}")
                for hour, value in enumerate(profile)
            ),
        )
    if config.grid_intensity is not None:
        return _Resolver(_location(config.grid_intensity, "carbon.grid_intensity"))
    if config.grid is not None:
        row = country_intensity(config.grid)
        return _Resolver(_location(row.g_per_kwh, f"{row.describe()}, {row.source}"))
    return _Resolver(_location(WORLD_AVERAGE_G_PER_KWH, "world average, default"))


def resolve_intensity(config: CarbonConfig, when: float | None = None) -> Intensity:
    """The intensity to apply to energy used at ``when`` (seconds since the epoch; default now)."""
    return _resolver(config).at(when)


def clear_caches() -> None:
    """Forget cached tables and profiles (after editing a profile file, or in tests)."""
    _resolver.cache_clear()
    codecarbon_table.cache_clear()
    country_table.cache_clear()
