"""Export of a run's per-test figures to the observability stack a team already runs.

- :mod:`greencode.export.points` — the figures to export, one :class:`~greencode.export.points.Point` per
  test, with the attributes every exporter shares;
- :mod:`greencode.export.otel` — OpenTelemetry metrics over OTLP/HTTP (optional extra ``otel``);
- :mod:`greencode.export.prometheus` — a Prometheus text-format file for node-exporter's textfile collector
  (no dependency: the format is written directly).

Exporting never fails a run: every problem comes back as a warning.
"""
