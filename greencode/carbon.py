"""Grid carbon intensity and CO2e of energy. (Extended by the carbon/SCI work: countries, hourly profiles.)"""

from __future__ import annotations

from dataclasses import dataclass

from greencode.config import CarbonConfig

#: World average grid intensity used when nothing is configured (FACTS.md: CodeCarbon's world figure).
WORLD_AVERAGE_G_PER_KWH = 475.0
J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class Intensity:
    """A grid carbon intensity in gCO2e/kWh with where it came from, shown next to every CO2e figure."""

    g_per_kwh: float
    label: str
    basis: str = "location"


def resolve_intensity(config: CarbonConfig, when: float | None = None) -> Intensity:
    """The intensity to apply to energy used at ``when`` (seconds since the epoch)."""
    if config.basis == "market" and config.market_intensity is not None:
        return Intensity(
            config.market_intensity,
            f"{config.market_intensity:g} gCO2e/kWh (market-based, configured)",
            "market",
        )
    if config.grid_intensity is not None:
        return Intensity(config.grid_intensity, f"{config.grid_intensity:g} gCO2e/kWh (configured)")
    return Intensity(
        WORLD_AVERAGE_G_PER_KWH, f"{WORLD_AVERAGE_G_PER_KWH:g} gCO2e/kWh (world average, default)"
    )


def co2e_g(energy_j: float, intensity: Intensity, pue: float = 1.0) -> float:
    """Grams of CO2e for ``energy_j`` joules at ``intensity``, scaled by the data centre's PUE."""
    return energy_j * pue / J_PER_KWH * intensity.g_per_kwh
