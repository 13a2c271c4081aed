"""perf_event_open: whether user-space instructions can be counted, and a fixed loop counted twice.

The counting belongs to greencode's ``instructions`` meter (its perf backend); this part only drives it.
"""

from __future__ import annotations

import importlib.util

from hwcheck.machine import _first_line
from hwcheck.report import Section
from hwcheck.settings import Settings

NOT_IN_BUILD = "instructions meter not available in this build"


def check(settings: Settings) -> Section:
    paranoid = _first_line("/proc/sys/kernel/perf_event_paranoid")
    if importlib.util.find_spec("greencode.meters.instructions") is None:
        return Section(
            "perf",
            "absent",
            NOT_IN_BUILD,
            (f"Not checked: {NOT_IN_BUILD} (kernel.perf_event_paranoid = {paranoid}).",),
        )
    return Section("perf", "absent", NOT_IN_BUILD, (f"Not checked: {NOT_IN_BUILD}.",))
