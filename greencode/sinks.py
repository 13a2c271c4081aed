"""Where measurements go besides the registry: print, a JSON Lines file, or your own callback.

The output specification is a comma-separated list, from ``GREENCODE_OUTPUT``, the ``output`` key or
:func:`set_output`:

- ``print`` (the default) prints one line per measurement to standard error; ``print:stdout`` to stdout;
- ``jsonl:PATH`` appends one JSON object per measurement to ``PATH``;
- ``none`` (or an empty string after ``set_output("none")``) sends results only to the registry.

Callbacks are added in code with :func:`add_sink`.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from greencode.errors import ConfigError
from greencode.units import format_co2e, format_duration, format_energy, format_power

if TYPE_CHECKING:
    from greencode.config import Config
    from greencode.measurement import Measurement

Sink = Callable[["Measurement"], None]
DEFAULT_OUTPUT = "print"


def describe(measurement: Measurement) -> str:
    """One line for people: energy, kind, time, power, CO2e and the meter."""
    error = f" (raised {measurement.error})" if measurement.error else ""
    if measurement.meter_error is not None:
        return (
            f"{measurement.label}: energy not measured ({measurement.meter_error}) in "
            f"{format_duration(measurement.wall_s)} (cpu {format_duration(measurement.cpu_s)}) "
            f"[{measurement.meter}]{error}"
        )
    power = "n/a" if measurement.wall_s <= 0 else format_power(measurement.power_w)
    return (
        f"{measurement.label}: {format_energy(measurement.energy_j)} {measurement.kind} in "
        f"{format_duration(measurement.wall_s)} (cpu {format_duration(measurement.cpu_s)}), {power}, "
        f"{format_co2e(measurement.co2e_g)} [{measurement.meter}]{error}"
    )


class PrintSink:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def __repr__(self) -> str:
        return "print:stdout" if self._stream is sys.stdout else "print"

    def __call__(self, measurement: Measurement) -> None:
        print(f"greencode: {describe(measurement)}", file=self._stream or sys.stderr)
        for warning in measurement.warnings:
            print(f"greencode: warning: {warning}", file=self._stream or sys.stderr)


class JsonlSink:
    """Appends one line per measurement; each line is written with a single ``write`` in append mode, so
    concurrent writers (threads, processes) never interleave within a line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"jsonl:{self.path}"

    def __call__(self, measurement: Measurement) -> None:
        import json

        line = (json.dumps(measurement.to_dict(), sort_keys=True) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)


def parse_output(spec: str) -> list[Sink]:
    """Sinks for an output specification; raises :class:`ConfigError` naming the bad part."""
    sinks: list[Sink] = []
    for part in (p.strip() for p in (spec or DEFAULT_OUTPUT).split(",")):
        if part in ("", "none"):
            continue
        if part == "print":
            sinks.append(PrintSink())
        elif part == "print:stdout":
            sinks.append(PrintSink(sys.stdout))
        elif part.startswith("jsonl:") and part[len("jsonl:") :]:
            sinks.append(JsonlSink(Path(part[len("jsonl:") :])))
        else:
            raise ConfigError(
                f"output {part!r} is not understood; use 'print', 'print:stdout', 'jsonl:PATH' or 'none' "
                "(comma-separated), in GREENCODE_OUTPUT or the 'output' key"
            )
    return sinks


class _Sinks:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configured: list[Sink] | None = None
        self.callbacks: list[Sink] = []
        #: configured + callbacks, rebuilt on change so that emitting builds nothing
        self.active: tuple[Sink, ...] = ()

    def refresh(self) -> None:
        self.active = (*(self.configured or ()), *self.callbacks)


_sinks = _Sinks()


def set_output(spec: str) -> None:
    """Replace the configured sinks (callbacks added with :func:`add_sink` stay)."""
    configured = parse_output(spec)
    with _sinks.lock:
        _sinks.configured = configured
        _sinks.refresh()


def add_sink(callback: Sink) -> Callable[[], None]:
    """Call ``callback(measurement)`` for every measurement; returns a function that removes it."""
    with _sinks.lock:
        _sinks.callbacks.append(callback)
        _sinks.refresh()

    def remove() -> None:
        with _sinks.lock:
            if callback in _sinks.callbacks:
                _sinks.callbacks.remove(callback)
                _sinks.refresh()

    return remove


def use_config_output(config: Config) -> None:
    """Use the sinks named by ``config.output``. A name that is not understood (from a file or the
    environment) is one warning, never a failure of the measured code or of a test run."""
    from greencode.measurement import warn

    try:
        set_output(config.output)
    except ConfigError as exc:
        with _sinks.lock:
            _sinks.configured = []  # so that the warning is given once
            _sinks.refresh()
        warn(
            f"greencode: {config.origin('output')}: {exc}; until it is fixed, measurements go only to "
            "greencode.results() and callbacks"
        )


def emit(measurement: Measurement) -> None:
    if _sinks.configured is None:
        from greencode.measurement import current_config

        use_config_output(current_config())
    for sink in _sinks.active:
        try:
            sink(measurement)
        except Exception as exc:  # an output problem must never break the measured code
            from greencode.measurement import warn

            warn(f"greencode: output {sink!r} failed: {type(exc).__name__}: {exc}")
