"""Joules beside seconds for pytest-benchmark users: the energy of a ``benchmark`` fixture's measured rounds.

pytest-benchmark times each round with a *runner* it builds per function and records the round with
``stats.update(duration)``. Wrapping the fixture's runner factory opens one greencode window around each
runner call; wrapping the stats object's ``update`` keeps only the measurements of rounds it records, so
calibration and warm-up runs are left out exactly as pytest-benchmark leaves them out of its timings.
These are pytest-benchmark internals (``_make_runner``, ``_add_stats``): when they are missing, nothing is
patched and the plugin falls back to measuring the whole test, saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greencode.measurement import Measurement, Recorder
from greencode.stats import median


class BenchmarkEnergy:
    """Energy of one ``benchmark`` fixture's rounds: ``rounds`` holds (measurement, calls in the round)."""

    def __init__(self, fixture: Any, open_window: Callable[[], Recorder]) -> None:
        self._fixture = fixture
        self._open_window = open_window
        self._last: list[tuple[Measurement, int]] = []
        self.rounds: list[tuple[Measurement, int]] = []

    def install(self) -> bool:
        """Patch the fixture instance; False when this pytest-benchmark does not look as expected."""
        fixture = self._fixture
        make_runner = getattr(fixture, "_make_runner", None)
        add_stats = getattr(fixture, "_add_stats", None)
        if not callable(make_runner) or not callable(add_stats):
            return False
        last = self._last
        open_window = self._open_window

        def measured_make_runner(function: Any, args: Any, kwargs: Any) -> Callable[..., Any]:
            runner = make_runner(function, args, kwargs)

            def measured_runner(loops_range: Any, *rest: Any, **options: Any) -> Any:
                recorder = open_window()
                try:
                    return runner(loops_range, *rest, **options)
                finally:
                    last[:] = [(recorder.stop(), len(loops_range) if loops_range else 1)]

            return measured_runner

        def measured_add_stats(stats: Any) -> Any:
            update = stats.update

            def measured_update(duration: float) -> Any:
                result = update(duration)
                if last:  # the measurement of the runner call whose duration this is
                    self.rounds.append(last.pop())
                return result

            stats.update = measured_update
            return add_stats(stats)

        fixture._make_runner = measured_make_runner
        fixture._add_stats = measured_add_stats
        return True

    def uninstall(self) -> None:
        for name in ("_make_runner", "_add_stats"):
            self._fixture.__dict__.pop(name, None)

    @property
    def samples_j(self) -> tuple[float, ...]:
        """Joules per call, one per recorded round."""
        return tuple(measurement.energy_j / calls for measurement, calls in self.rounds)

    def write_extra_info(self, estimated: bool, meter: str) -> None:
        """Put the energy per call into pytest-benchmark's ``extra_info`` (saved with its JSON)."""
        samples = self.samples_j
        extra = getattr(self._fixture, "extra_info", None)
        if samples and isinstance(extra, dict):
            extra.update(
                energy_j=median(samples),
                energy_j_min=min(samples),
                energy_estimated=estimated,
                energy_meter=meter,
            )
