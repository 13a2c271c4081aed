"""greencode: make the energy use of Python code visible, comparable and enforceable.

The public API is small::

    import greencode

    @greencode.measure
    def work(): ...

    with greencode.measure("parse") as m:
        ...
    print(m.result.energy_j, m.result.estimated)

    greencode.profile(work).energy.median   # joules per call over calibrated rounds

``import greencode`` is cheap: the names below load their modules on first use (PEP 562), and heavy packages
(matplotlib, codecarbon, pynvml) load only when a feature needs them.
"""

from __future__ import annotations

import importlib

from greencode.errors import GreencodeError
from greencode.version import __version__

# Not ``typing.TYPE_CHECKING``: importing typing would double the cost of ``import greencode``.
TYPE_CHECKING = False

#: public name -> the module that defines it
_LAZY = {
    "Config": "greencode.config",
    "load_config": "greencode.config",
    "Measurement": "greencode.measurement",
    "Profile": "greencode.measurement",
    "Profiler": "greencode.measurement",
    "Recorder": "greencode.measurement",
    "clear_results": "greencode.measurement",
    "configure": "greencode.measurement",
    "current_config": "greencode.measurement",
    "measure": "greencode.measurement",
    "meters_in_use": "greencode.measurement",
    "profile": "greencode.measurement",
    "results": "greencode.measurement",
    "start": "greencode.measurement",
    "add_sink": "greencode.sinks",
    "set_output": "greencode.sinks",
}

__all__ = [
    "Config",
    "GreencodeError",
    "Measurement",
    "Profile",
    "Profiler",
    "Recorder",
    "__version__",
    "add_sink",
    "clear_results",
    "configure",
    "current_config",
    "load_config",
    "measure",
    "meters_in_use",
    "profile",
    "results",
    "set_output",
    "start",
]

if TYPE_CHECKING:
    from typing import Any

    from greencode.config import Config, load_config
    from greencode.measurement import (
        Measurement,
        Profile,
        Profiler,
        Recorder,
        clear_results,
        configure,
        current_config,
        measure,
        meters_in_use,
        profile,
        results,
        start,
    )
    from greencode.sinks import add_sink, set_output


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'greencode' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
