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

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from greencode.config import CarbonConfig
from greencode.errors import ConfigError
from greencode.extras import codecarbon_data_file
from greencode.grid import WORLD, CountryIntensity, country_table, load_hourly_profile

#: World average grid intensity used when nothing is configured (IEA 2019, CodeCarbon's world figure).
WORLD_AVERAGE_G_PER_KWH = 475.0
J_PER_KWH = 3.6e6

_CODECARBON_MIX = ("data", "private_infra", "global_energy_mix.json")


@dataclass(frozen=True)
class Intensity:
    """A grid carbon intensity in gCO2e/kWh with where it came from, shown next to every CO2e figure.

    ``basis`` is ``"location"`` or ``"market"``; ``label`` names the figure, the basis and the source.
    """

    g_per_kwh: float
    label: str
    basis: str = "location"


def co2e_g(energy_j: float, intensity: Intensity, pue: float = 1.0) -> float:
    """Grams of CO2e for ``energy_j`` joules at ``intensity``, scaled by the data centre's PUE."""
    return energy_j * pue / J_PER_KWH * intensity.g_per_kwh


# ---------------------------------------------------------------------------------------------------------
# country tables


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
