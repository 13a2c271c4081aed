"""A scripted meter for testing what consumes measurements: gates, budgets, reports, your own tooling.

It returns chosen energies instead of reading hardware, so a test can say "this call costs 1.3 J" and check
what a gate decides. Select it with ``meter = "greencode.testing:scripted"`` (or ``--greencode-meter``) and
choose the energies, first match winning:

1. :func:`script` in code;
2. ``GREENCODE_SCRIPTED`` in the environment: a JSON object for runs in other processes (pytester,
   xdist workers) — ``{"energy_j": 1.0, "tests": {"test_a.py::test_x": 2.0, "test_b.py::*": 0.5},
   "scale": {"test_a.py::test_x": 1.3}, "cv": 0.05, "run_cv": 0.03, "seed": 7, "scope": "process"}``.
   The running test is read from ``PYTEST_CURRENT_TEST``; ``tests`` maps node ids or globs to joules per
   window (``energy_j`` otherwise), ``scale`` multiplies them (inject "30 % more"); ``cv`` is log-normal
   noise per window and ``run_cv`` one factor per test and run, both drawn from ``seed``, so a given seed
   always gives the same energies (``"seed": null`` draws a fresh seed in each process, like real runs).
   ``scope`` ("process", "machine" or "device") is what the meter claims to see; ``functions`` maps node ids
   or globs to the instructions per function (``{"recipes.py:factor": 1000}``) each window reports, like
   the ``instructions`` meter's per-function counts, with their sum as its ``instructions`` (for testing
   :mod:`greencode.hotspots`);
3. ``GREENCODE_SCRIPTED_J``: one constant number of joules per window.

It is a real :class:`~greencode.meters.base.Meter`: nothing else in greencode special-cases it.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from itertools import cycle
from typing import TYPE_CHECKING, Any, TypeVar

from greencode.errors import ConfigError
from greencode.meters.base import Domain, Reading

if TYPE_CHECKING:
    from greencode.config import Config

#: A function giving the joules of the next window.
_Script = Callable[[], float]
_T = TypeVar("_T")


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


@dataclass
class _EnvironmentScript:
    """``GREENCODE_SCRIPTED`` parsed; counts windows per test so each draw has its own seed."""

    energy_j: float = 1.0
    tests: Mapping[str, float] = field(default_factory=dict)
    scale: Mapping[str, float] = field(default_factory=dict)
    cv: float = 0.0
    run_cv: float = 0.0
    seed: int = 0
    scope: str = "process"
    functions: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    windows: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str) -> _EnvironmentScript:
        try:
            data: Any = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            unknown = set(data) - {"energy_j", "tests", "scale", "cv", "run_cv", "seed", "scope", "functions"}
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}")
            script = cls(
                energy_j=float(data.get("energy_j", 1.0)),
                tests={str(k): float(v) for k, v in dict(data.get("tests", {})).items()},
                scale={str(k): float(v) for k, v in dict(data.get("scale", {})).items()},
                cv=float(data.get("cv", 0.0)),
                run_cv=float(data.get("run_cv", 0.0)),
                seed=int.from_bytes(os.urandom(4), "big")
                if data.get("seed", 0) is None
                else int(data["seed"])
                if "seed" in data
                else 0,
                scope=str(data.get("scope", "process")),
                functions={
                    str(k): {str(name): int(count) for name, count in dict(v).items()}
                    for k, v in dict(data.get("functions", {})).items()
                },
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"GREENCODE_SCRIPTED: {exc}; see greencode.testing for the format") from None
        if script.scope not in ("process", "machine", "device"):
            raise ConfigError("GREENCODE_SCRIPTED: scope must be 'process', 'machine' or 'device'")
        return script

    @staticmethod
    def _lookup(table: Mapping[str, _T], node_id: str) -> _T | None:
        if node_id in table:
            return table[node_id]
        return next((v for k, v in table.items() if fnmatchcase(node_id, k)), None)

    def next_functions(self) -> Mapping[str, int]:
        return self._lookup(self.functions, _current_test()) or {}

    def next_energy(self) -> float:
        node_id = _current_test()
        energy = self._lookup(self.tests, node_id)
        energy = self.energy_j if energy is None else energy
        energy *= self._lookup(self.scale, node_id) or 1.0
        index = self.windows.get(node_id, 0)
        self.windows[node_id] = index + 1
        if self.run_cv:
            energy *= math.exp(random.Random(f"{self.seed}:run:{node_id}").gauss(0.0, self.run_cv))
        if self.cv:
            energy *= math.exp(random.Random(f"{self.seed}:{node_id}:{index}").gauss(0.0, self.cv))
        return energy


def _current_test() -> str:
    # "tests/test_a.py::test_x (call)": the test pytest is running in this process right now
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]


_environment_scripts: dict[str, _EnvironmentScript] = {}


def _environment_script() -> _EnvironmentScript | None:
    raw = os.environ.get("GREENCODE_SCRIPTED")
    if not raw:
        return None
    if raw not in _environment_scripts:
        _environment_scripts[raw] = _EnvironmentScript.parse(raw)
    return _environment_scripts[raw]


def _next_energy() -> float:
    with _script.lock:
        source = _script.source
        if source is None:
            environment = _environment_script()
            if environment is not None:
                return environment.next_energy()
            raw = os.environ.get("GREENCODE_SCRIPTED_J", "1.0")
            try:
                return float(raw)
            except ValueError:
                raise ConfigError(f"GREENCODE_SCRIPTED_J={raw!r}: expected a number of joules") from None
        return source() if callable(source) else next(source)


class _Window:
    __slots__ = ()

    def stop(self) -> Reading:
        energy = _next_energy()
        environment = _environment_script() if _script.source is None else None
        functions = environment.next_functions() if environment is not None else {}
        # per-function counts travel with a counting meter's raw counts, as the instructions meter's do
        counts = {"instructions": sum(functions.values())} if functions else {}
        return Reading({"scripted": energy}, counts=counts, functions=functions)


class ScriptedMeter:
    """Each window reports the next scripted energy in one domain, ``scripted``."""

    name = "scripted"
    resolution_s = 1e-6
    #: scripted energies move only by the scripted noise, however short the window
    window_jitter_s = 0.0
    covers_cpu = True

    def __init__(self, scope: str = "process") -> None:
        self.scope = scope

    def domains(self) -> tuple[Domain, ...]:
        return (Domain("scripted", "scripted: greencode.testing (not a real measurement)", estimated=True),)

    def start(self) -> _Window:
        return _Window()

    def close(self) -> None:
        pass


def scripted(config: Config) -> ScriptedMeter:
    """Meter factory for ``meter = "greencode.testing:scripted"``."""
    environment = _environment_script()
    if environment is None:
        return ScriptedMeter()
    # a new meter starts a new run: its draws restart, so a run's energies depend only on its seed
    with _script.lock:
        environment.windows.clear()
    return ScriptedMeter(environment.scope)
