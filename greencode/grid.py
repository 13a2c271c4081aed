"""Grid intensity data: the packaged country table and hourly profile files.

A leaf module (it imports only :mod:`greencode.errors`): the configuration checks a ``grid`` code and an
``hourly_profile`` file against it while it is read, and :mod:`greencode.carbon` computes CO2e from it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from greencode.errors import ConfigError

#: Key of the world row in the country table.
WORLD = "WORLD"
HOURS = 24

_TABLE = Path(__file__).parent / "data" / "grid_intensity.csv"
_PROFILE_HEADER = ("hour", "g_per_kwh")


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
