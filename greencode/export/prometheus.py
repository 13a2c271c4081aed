"""A Prometheus text-format file for node-exporter's textfile collector (``prometheus = "path.prom"``).

The format is a few lines of text, so it is written directly rather than through ``prometheus_client``
(which would add a dependency, and a registry, to every run for what is one file). The file is replaced
atomically (a temporary file in the same directory, renamed over it), as the collector requires, so it never
reads half a file. Every figure is a gauge: the latest run's value per test.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from greencode.errors import StoreError
from greencode.export.points import Point

_METRICS = (
    (
        "greencode_test_energy_joules",
        "Energy of one test (per call or per test, label per) in the latest run.",
    ),
    ("greencode_test_co2e_grams", "CO2e of that energy at the configured grid intensity."),
    ("greencode_test_instructions", "Instructions counted for one test, when a counting meter ran."),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(point: Point) -> str:
    pairs = {
        "test": point.test_id,
        "per": point.per,
        "meter": point.meter,
        "estimated": "true" if point.estimated else "false",
        "commit": point.commit,
        "branch": point.branch,
        "machine": point.machine,
    }
    return ",".join(f'{key}="{_label(value)}"' for key, value in pairs.items())


def render(points: Iterable[Point], timestamp: float) -> str:
    """The text exposition of ``points`` (``timestamp``: when the run finished, as its own gauge)."""
    points = list(points)
    values: dict[str, list[tuple[Point, float | int]]] = {
        "greencode_test_energy_joules": [(p, p.energy_j) for p in points],
        "greencode_test_co2e_grams": [(p, p.co2e_g) for p in points if p.co2e_g is not None],
        "greencode_test_instructions": [(p, p.instructions) for p in points if p.instructions is not None],
    }
    lines = []
    for name, help_text in _METRICS:
        if not values[name]:
            continue
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f"{name}{{{_labels(p)}}} {float(v)!r}" for p, v in values[name]]
    lines += [
        "# HELP greencode_run_finished_timestamp_seconds When the run these figures come from finished.",
        "# TYPE greencode_run_finished_timestamp_seconds gauge",
        f"greencode_run_finished_timestamp_seconds {timestamp!r}",
    ]
    return "\n".join(lines) + "\n"


def write(path: Path, points: Iterable[Point], timestamp: float) -> list[str]:
    """Replace the file at ``path`` atomically; returns warnings (empty when written)."""
    from greencode.files import atomic_write_text

    try:
        atomic_write_text(Path(path), render(points, timestamp))
    except StoreError as exc:
        return [f"Prometheus file not written: {exc}"]
    return []
