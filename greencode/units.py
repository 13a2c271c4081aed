"""Human-readable quantities. Values are always stored in SI units (J, s, W, g); only display scales them."""

from __future__ import annotations

import math

_SCALES = ((1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def _scaled(value: float, unit: str, digits: int = 3) -> str:
    if not math.isfinite(value):
        return f"{value} {unit}"
    if value == 0:
        return f"0 {unit}"
    magnitude = abs(value)
    for factor, prefix in _SCALES:
        if magnitude >= factor:
            return f"{value / factor:.{digits}g} {prefix}{unit}"
    factor, prefix = _SCALES[-1]
    return f"{value / factor:.{digits}g} {prefix}{unit}"


def format_energy(joules: float) -> str:
    """``0.00123`` → ``"1.23 mJ"``."""
    return _scaled(joules, "J")


def format_power(watts: float) -> str:
    return _scaled(watts, "W")


def format_duration(seconds: float) -> str:
    if math.isfinite(seconds) and seconds >= 60:
        minutes, rest = divmod(seconds, 60)
        return f"{int(minutes)} min {rest:.0f} s"
    return _scaled(seconds, "s")


def format_co2e(grams: float) -> str:
    """Grams of CO2-equivalent: ``0.0042`` → ``"4.2 mgCO2e"``, ``1500`` → ``"1.5 kgCO2e"``."""
    return _scaled(grams, "gCO2e")


def format_percent(fraction: float, signed: bool = True) -> str:
    return f"{fraction * 100:+.1f}%" if signed else f"{fraction * 100:.1f}%"


def plural(count: int, noun: str) -> str:
    """``count`` and ``noun``, with an ``s`` unless there is exactly one: ``1 test``, ``3 tests``."""
    return f"{count} {noun}{'s' * (count != 1)}"
