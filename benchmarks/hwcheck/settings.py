"""The check's durations and where it looks for counters: one frozen, JSON-serialisable record.

The defaults are the issue's (2 s busy against 2 s idle, a 10 s GPU load); tests shrink them so that the
whole check runs in a few seconds against fakes.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    # where the counters are: None = the machine's own (or GREENCODE_POWERCAP_ROOT)
    powercap_root: str | None = None
    #: ``module:factory`` returning a pynvml-like library (tests pass a fake); None = ``import pynvml``
    nvml_library: str | None = None
    #: ``module:factory`` returning perf_event_open's system calls (tests pass a fake kernel); None = Linux's
    perf_syscalls: str | None = None
    #: NVML index of the GPU to load and check; None = the first one
    gpu_index: int | None = None
    #: ``auto`` = PyTorch, else CuPy, else no load; ``none`` = never load the GPU
    gpu_load: str = "auto"
    # RAPL
    busy_s: float = 2.0
    idle_s: float = 2.0
    interval_probe_s: float = 0.5
    poller_interval_s: float = 0.25
    poller_window_s: float = 2.0
    # NVML
    gpu_load_s: float = 10.0
    #: the GPU windows open this long before the load and close this long after it: NVML's power reading
    #: is an average over about a second, so its lag at both edges then falls inside both windows
    gpu_settle_s: float = 1.0
    sample_interval_s: float = 0.02
    short_windows: int = 20
    # estimator against RAPL, on the classroom pairs
    classroom: str = str(REPOSITORY / "examples" / "classroom")
    estimator_round_s: float = 0.3
    estimator_rounds: int = 3
    # perf and calibration
    perf_loop: int = 1_000_000
    calibration_s: float = 0.5
    calibration_mib: int = 256

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Settings:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in json.loads(text).items() if key in known})

    @staticmethod
    def make(factory: str) -> Any:
        """Call the zero-argument factory named ``module:function`` (how tests hand fakes to a part)."""
        module, _, name = factory.partition(":")
        return getattr(importlib.import_module(module), name)()

    def powercap(self) -> Path:
        import os

        from greencode.meters.rapl import DEFAULT_ROOT

        return Path(self.powercap_root or os.environ.get("GREENCODE_POWERCAP_ROOT") or DEFAULT_ROOT)


#: The ``--quick`` run: every part once, briefly, to see that the command works before a long run.
QUICK = {
    "busy_s": 0.5,
    "idle_s": 0.5,
    "interval_probe_s": 0.2,
    "poller_window_s": 0.6,
    "poller_interval_s": 0.1,
    "gpu_load_s": 3.0,
    "gpu_settle_s": 0.5,
    "short_windows": 5,
    "estimator_round_s": 0.05,
    "estimator_rounds": 1,
    "perf_loop": 100_000,
    "calibration_s": 0.2,
}
