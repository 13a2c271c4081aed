"""The report as CSV: one row per test, SI units, CO2e and SCI next to energy, one column per domain."""

from __future__ import annotations

import csv
import io
import math

from greencode.escaping import csv_text
from greencode.report.model import Report

COLUMNS = (
    "name",
    "per",
    "energy_j",
    "energy_low_j",
    "energy_high_j",
    "estimated",
    "wall_s",
    "co2e_g",
    "intensity_g_per_kwh",
    "basis",
    "sci_g",
    "functional_unit",
    "units",
    "sci_operational_g",
    "sci_embodied_g",
    "baseline_j",
    "change",
    "status",
    "meter",
    "intensity",
)


def render_csv(report: Report) -> str:
    domains = sorted({name for test in report.tests for name in test.domains})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS, *(f"domain_{name}_j" for name in domains)])
    for test in report.tests:
        values = {
            "name": test.name,
            "per": test.per,
            "energy_j": test.energy.median_j,
            "energy_low_j": test.energy.low_j,
            "energy_high_j": test.energy.high_j,
            "estimated": str(test.estimated).lower(),
            "wall_s": test.wall_s,
            "co2e_g": test.co2e_g,
            "intensity_g_per_kwh": test.intensity.g_per_kwh,
            "basis": test.intensity.basis,
            "sci_g": test.sci.per_unit_g,
            "functional_unit": test.sci.functional_unit,
            "units": test.units,
            "sci_operational_g": test.sci.operational_g,
            "sci_embodied_g": test.sci.embodied_g,
            "baseline_j": test.baseline.median_j if test.baseline else None,
            "change": test.change,
            "status": test.status,
            "meter": test.meter,
            "intensity": test.intensity.label,
        }
        writer.writerow(
            [csv_cell(values[column]) for column in COLUMNS]
            + [csv_cell(test.domains.get(name)) for name in domains]
        )
    return buffer.getvalue()


def csv_cell(value: object) -> str:
    """A CSV field: empty for ``None`` and non-finite numbers, ``repr`` for floats (no digits lost); text
    that a spreadsheet would run as a formula is quoted (numbers stay numbers, negative ones included)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, (int, bool)):
        return str(value)
    return csv_text(str(value))
