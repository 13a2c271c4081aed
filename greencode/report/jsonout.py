"""The report as JSON: schema ``greencode-report``, version 1 (``docs/report-schema.md``).

Every figure is in SI units (J, s, g); CO2e and SCI sit next to each energy. ``greencode report`` reads this
format back, so a report can be rendered again in another format.
"""

from __future__ import annotations

import json
import time
from typing import Any

from greencode.report.byfile import energy_by_file
from greencode.report.model import SCHEMA, SCHEMA_VERSION, Report, TestResult


def _test(test: TestResult) -> dict[str, Any]:
    return {
        "name": test.name,
        "per": test.per,
        "energy_j": test.energy.to_dict(),
        "samples_j": list(test.samples_j),
        "estimated": test.estimated,
        "meter": test.meter,
        "wall_s": test.wall_s,
        "domains": dict(test.domains),
        "started_at": test.started_at,
        "co2e_g": test.co2e_g,
        "intensity_g_per_kwh": test.intensity.g_per_kwh,
        "intensity": test.intensity.label,
        "basis": test.intensity.basis,
        "sci": test.sci.to_dict(),
        "units": test.units,
        "baseline_j": test.baseline.to_dict() if test.baseline else None,
        "change": test.change,
        "status": test.status,
    }


def report_dict(report: Report) -> dict[str, Any]:
    """The JSON document as a dictionary."""
    carbon = report.carbon
    run = report.run_sci
    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "generated_at": time.time(),
        "source": report.source,
        "kind": report.kind,
        "created_at": report.created_at,
        "commit": report.commit,
        "machine": report.machine,
        "meter": report.meter,
        "estimated": report.estimated,
        "carbon": {
            "intensities": list(report.intensities),
            "basis": carbon.basis,
            "pue": carbon.pue,
            "embodied_kgco2e": carbon.embodied_kgco2e,
            "lifetime_years": carbon.lifetime_years,
            "resource_share": carbon.resource_share,
            "functional_unit": carbon.functional_unit,
        },
        "totals": {
            # energy spent once (per test or run); per-call figures are rates and are not added
            "energy_j": report.total_energy_j,
            "co2e_g": report.total_co2e_g,
            "sci": run.to_dict() if run else None,
            "entries": len(report.totalled),
            "per_call_not_added": len(report.tests) - len(report.totalled),
            "estimated": report.total_estimated,
        },
        "tests": [_test(test) for test in report.tests],
        "by_file": [row.to_dict() for row in energy_by_file(report)],
        "history": {
            name: [
                {
                    "commit": p.commit,
                    "when": p.when,
                    "median_j": p.median_j,
                    "low_j": p.low_j,
                    "high_j": p.high_j,
                    "estimated": p.estimated,
                    "dirty": p.dirty,
                }
                for p in points
            ]
            for name, points in report.history.items()
        },
        "hotspots": [spot.to_dict() for spot in report.hotspots],
        "notes": list(report.notes),
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
