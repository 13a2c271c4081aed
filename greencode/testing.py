"""A scripted meter for testing what consumes measurements: gates, budgets, reports, your own tooling.

It returns chosen energies instead of reading hardware, so a test can say "this call costs 1.3 J" and check
what a gate decides. Select it with ``meter = "greencode.testing:scripted"`` (or ``--greencode-meter``) and
choose the energies with :func:`script` in code or ``GREENCODE_SCRIPTED_J`` in the environment.
It is a real :class:`~greencode.meters.base.Meter`: nothing else in greencode special-cases it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import cycle
from typing import TYPE_CHECKING

from greencode.errors import ConfigError
from greencode.meters.base import Domain, Reading

if TYPE_CHECKING:
    from greencode.config import Config

#: A function giving the joules of the next window.
_Script = Callable[[], float]


class _Scripted:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.source: Iterator[float] | _Script | None = None


_script = _Scripted()


def script(energies: Iterable[float] | Callable[[], float] | None) -> None:
    """Energies (J) for the next windows: a sequence (repeated cyclically), a function called per window, or
    ``None`` to fall back to ``GREENCODE_SCRIPTED_J``."""
    with _script.lock:
        if energies is None or callable(energies):
            _script.source = energies
        else:
            values = [float(e) for e in energies]
            if not values:
                raise ValueError("script() needs at least one energy")
            _script.source = cycle(values)


def _next_energy() -> float:
    with _script.lock:
        source = _script.source
        if source is None:
            raw = os.environ.get("GREENCODE_SCRIPTED_J", "1.0")
            try:
                return float(raw)
            except ValueError:
                raise ConfigError(f"GREENCODE_SCRIPTED_J={raw!r}: expected a number of joules") from None
        return source() if callable(source) else next(source)


class _Window:
    __slots__ = ()

    def stop(self) -> Reading:
        return Reading({"scripted": _next_energy()})


class ScriptedMeter:
    """Each window reports the next scripted energy in one domain, ``scripted``."""

    name = "scripted"
    scope = "process"
    resolution_s = 1e-6
    covers_cpu = True

    def domains(self) -> tuple[Domain, ...]:
        return (Domain("scripted", "scripted: greencode.testing (not a real measurement)", estimated=True),)

    def start(self) -> _Window:
        return _Window()

    def close(self) -> None:
        pass


def scripted(config: Config) -> ScriptedMeter:
    """Meter factory for ``meter = "greencode.testing:scripted"``."""
    return ScriptedMeter()
