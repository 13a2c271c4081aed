"""The instruction model's calibration: ``greencode calibrate --instructions`` against RAPL, briefly."""

from __future__ import annotations

import importlib.util

from hwcheck.perf import NOT_IN_BUILD
from hwcheck.report import Section
from hwcheck.settings import Settings


def check(settings: Settings) -> Section:
    if importlib.util.find_spec("greencode.meters.instructions") is None:
        return Section("calibration", "absent", NOT_IN_BUILD, (f"Not run: {NOT_IN_BUILD}.",))
    return Section("calibration", "absent", NOT_IN_BUILD, (f"Not run: {NOT_IN_BUILD}.",))
