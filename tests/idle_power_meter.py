"""A whole-machine meter for tests: a constant idle draw plus the work a test declares with ``work()``.

Select it with ``meter="idle_power_meter:create"`` (the tests folder is on ``sys.path``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from greencode.meters.base import Domain, Reading

IDLE_W = 10.0
_work = {"joules": 0.0}
#: The clock the idle draw accrues on; a test replaces it (with greencode.measurement's) to make it exact.
clock: Callable[[], float] = time.perf_counter


def work(joules: float) -> None:
    """Declare that the code under test used ``joules`` beyond idle."""
    _work["joules"] += joules


class _Window:
    def __init__(self) -> None:
        self.started = clock()
        self.work0 = _work["joules"]

    def stop(self) -> Reading:
        elapsed = clock() - self.started
        return Reading({"package-0": IDLE_W * elapsed + _work["joules"] - self.work0})


class IdlePowerMeter:
    name = "idle-power"
    scope = "machine"
    resolution_s = 1e-6
    covers_cpu = True

    def domains(self) -> tuple[Domain, ...]:
        return (Domain("package-0", "test: 10 W idle + declared work"),)

    def start(self) -> _Window:
        return _Window()

    def close(self) -> None:
        pass


def create(config: Any) -> IdlePowerMeter:
    return IdlePowerMeter()
