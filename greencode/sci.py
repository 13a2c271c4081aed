"""Software Carbon Intensity (Green Software Foundation, ISO/IEC 21031:2024).

    SCI = ((E × I) + M) per R

- E: energy used by the software, in kWh (greencode's joules × PUE / 3.6e6);
- I: grid carbon intensity in gCO2e/kWh (:func:`greencode.carbon.resolve_intensity`);
- M: the share of the hardware's embodied emissions: ``embodied_kgco2e × 1000 × (reserved time / lifetime)
  × resource share``, where the reserved time is how long the software held the hardware (the wall time of
  the measurement) and the resource share the part of the device it held (e.g. 4 of 128 threads);
- R: the functional unit: a ``call``, a ``test``, a ``run`` or your own unit such as ``request``.

With no ``carbon.embodied_kgco2e`` configured, M is 0 and :attr:`SCI.embodied_known` is false, so reports can
say that the score covers operational emissions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greencode.carbon import Intensity, co2e_g, resolve_intensity
from greencode.config import CarbonConfig
from greencode.units import format_co2e

#: Seconds in a year of 365 days, the year SCI lifetimes are usually stated in (4 years = 126,144,000 s).
SECONDS_PER_YEAR = 365 * 24 * 3600
#: Functional units greencode knows how to count itself; any other name is a unit the user declares.
BUILTIN_UNITS = ("call", "test", "run")


def embodied_g(
    embodied_kgco2e: float, reserved_s: float, lifetime_s: float, resource_share: float = 1.0
) -> float:
    """SCI's M in grams: the device's embodied emissions times the time and resource share reserved."""
    if lifetime_s <= 0:
        raise ValueError("lifetime_s must be positive")
    if not 0 < resource_share <= 1:
        raise ValueError("resource_share must be in (0, 1]")
    if reserved_s < 0 or embodied_kgco2e < 0:
        raise ValueError("reserved_s and embodied_kgco2e must be >= 0")
    return embodied_kgco2e * 1000.0 * (reserved_s / lifetime_s) * resource_share


@dataclass(frozen=True)
class SCI:
    """One SCI score with its terms. Grams of CO2e; ``units`` is how many functional units (R) were served."""

    energy_j: float
    reserved_s: float
    intensity: Intensity
    pue: float
    operational_g: float
    embodied_g: float
    embodied_known: bool
    units: float
    functional_unit: str

    @property
    def total_g(self) -> float:
        """(E × I) + M, before dividing by R."""
        return self.operational_g + self.embodied_g

    @property
    def per_unit_g(self) -> float:
        """The score: ((E × I) + M) per R."""
        return self.total_g / self.units

    def describe(self) -> str:
        """``"1.2 mgCO2e per call (E×I 1 mgCO2e + M 0.2 mgCO2e)"``; says when M is not configured."""
        embodied = (
            format_co2e(self.embodied_g) if self.embodied_known else "0 (carbon.embodied_kgco2e not set)"
        )
        return (
            f"{format_co2e(self.per_unit_g)} per {self.functional_unit} "
            f"(E×I {format_co2e(self.operational_g)} + M {embodied}"
            + (f", R = {self.units:g}" if self.units != 1 else "")
            + ")"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_unit_g": self.per_unit_g,
            "functional_unit": self.functional_unit,
            "units": self.units,
            "operational_g": self.operational_g,
            "embodied_g": self.embodied_g,
            "embodied_known": self.embodied_known,
            "energy_j": self.energy_j,
            "reserved_s": self.reserved_s,
            "pue": self.pue,
            "intensity_g_per_kwh": self.intensity.g_per_kwh,
            "intensity": self.intensity.label,
            "basis": self.intensity.basis,
        }


def sci(
    energy_j: float,
    reserved_s: float,
    config: CarbonConfig,
    *,
    units: float = 1.0,
    when: float | None = None,
    intensity: Intensity | None = None,
    functional_unit: str | None = None,
) -> SCI:
    """The SCI of ``energy_j`` joules used over ``reserved_s`` seconds that served ``units`` functional units.

    ``intensity`` defaults to the configured one at ``when``; ``functional_unit`` to
    ``config.functional_unit``.
    """
    if units <= 0:
        raise ValueError("units (R) must be positive")
    if energy_j < 0 or reserved_s < 0:
        raise ValueError("energy_j and reserved_s must be >= 0")
    intensity = intensity if intensity is not None else resolve_intensity(config, when)
    known = config.embodied_kgco2e is not None
    embodied = (
        embodied_g(
            config.embodied_kgco2e or 0.0,
            reserved_s,
            config.lifetime_years * SECONDS_PER_YEAR,
            config.resource_share,
        )
        if known
        else 0.0
    )
    return SCI(
        energy_j=energy_j,
        reserved_s=reserved_s,
        intensity=intensity,
        pue=config.pue,
        operational_g=co2e_g(energy_j, intensity, config.pue),
        embodied_g=embodied,
        embodied_known=known,
        units=units,
        functional_unit=functional_unit or config.functional_unit,
    )
