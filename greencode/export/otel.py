"""OpenTelemetry metrics over OTLP/HTTP: per-test energy, CO2e and instructions, with their attributes.

Uses the official SDK and OTLP exporter (``pip install "greencode[otel]"``), imported only when exporting.
Where to send and how is the standard configuration: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT``), ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_EXPORTER_OTLP_TIMEOUT``,
``OTEL_EXPORTER_OTLP_COMPRESSION``, ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``.

The figures are collected with an in-memory reader and handed to the exporter once, at the end of the run,
so that its result is known: a collector that cannot be reached is a warning naming the endpoint, never a
failed run. Each figure is a gauge (the run's value per test): ``greencode.test.energy`` (J),
``greencode.test.co2e`` (g) and ``greencode.test.instructions`` (when counted).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from greencode.export.points import Point

_INSTALL = 'pip install "greencode[otel]"'


def export(points: Iterable[Point]) -> list[str]:
    """Send ``points`` to the configured OTLP endpoint; returns warnings (empty when it was received)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
        from opentelemetry.sdk.resources import Resource
    except ImportError:
        return [f"OpenTelemetry export skipped: the SDK and OTLP exporter are not installed ({_INSTALL})"]
    from greencode.version import __version__

    points = list(points)
    if not points:
        return []
    reader = InMemoryMetricReader()
    # the standard OTEL_SERVICE_NAME wins over greencode's default name
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "greencode"}
    provider = MeterProvider(resource=Resource.create(attributes), metric_readers=[reader])
    try:
        meter = provider.get_meter("greencode", __version__)
        energy = meter.create_gauge(
            "greencode.test.energy", unit="J", description="energy of one test (per call or per test)"
        )
        co2e = meter.create_gauge("greencode.test.co2e", unit="g", description="CO2e of that energy")
        instructions = meter.create_gauge(
            "greencode.test.instructions", unit="{instruction}", description="instructions counted"
        )
        for point in points:
            labels = point.attributes()
            energy.set(point.energy_j, labels)
            if point.co2e_g is not None:
                co2e.set(point.co2e_g, labels)
            if point.instructions is not None:
                instructions.set(point.instructions, labels)
        data = reader.get_metrics_data()
    finally:
        provider.shutdown()
    try:
        exporter = OTLPMetricExporter()
    except Exception as exc:  # a malformed OTEL_EXPORTER_OTLP_* value
        return [f"OpenTelemetry export skipped: the OTLP exporter's configuration is invalid ({exc})"]
    endpoint = getattr(exporter, "_endpoint", "the OTLP endpoint")
    try:
        result = exporter.export(data) if data is not None else MetricExportResult.SUCCESS
    except Exception as exc:
        result, detail = MetricExportResult.FAILURE, f" ({type(exc).__name__}: {exc})"
    else:
        detail = ""
    finally:
        exporter.shutdown()
    if result is not MetricExportResult.SUCCESS:
        return [
            f"OpenTelemetry export to {endpoint} failed{detail}; check OTEL_EXPORTER_OTLP_ENDPOINT and that "
            "a collector listens there (the run's results are unaffected)"
        ]
    return []
