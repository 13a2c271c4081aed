"""greencode: make the energy use of Python code visible, comparable and enforceable.

The public API is small::

    import greencode

    @greencode.measure
    def work(): ...

    with greencode.measure("parse") as m:
        ...
    print(m.result.energy_j, m.result.estimated)

    greencode.profile(work).energy.median   # joules per call over calibrated rounds

Everything here is cheap to import: heavy packages (matplotlib, codecarbon, pynvml) load only when used.
"""

from __future__ import annotations

__version__ = "0.1.0"

from greencode.config import Config, load_config
from greencode.errors import GreencodeError
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
