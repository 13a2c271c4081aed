"""How far a whole run moved against its stored baseline: the common factor of its tests' changes.

A busier, throttled or different machine slows every test of a run alike; a change to the code slows the
tests that run it. Against a stored baseline the two look the same on any one test, but not across the
run: the median of the tests' log changes is the run's **shift**, and a test that only moved with it says
nothing about its own code. The median is robust: one test that doubled moves it not at all, while a
machine that runs 50 % slower moves it by 50 %. Its standard error is that of a median of ``n`` values,
``sqrt(pi / 2) * sigma / sqrt(n)``, with ``sigma`` the tests' spread around it (1.4826 times their median
absolute deviation, robust to the test that changed). Only the part of the median beyond
:data:`TOLD_APART` standard errors from zero counts as the shift.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

#: Fewest compared units (tests judged alone, file groups) for a run's shift to be told apart from a few
#: tests that changed: with two, the median is their mean and one regression would move it halfway.
MIN_UNITS = 3
#: Standard errors by which the median must differ from zero before it counts: a median within noise of
#: zero would only add noise to every test's verdict (and cost a real regression its power).
TOLD_APART = 2.0
#: Scales a median absolute deviation to a standard deviation for normal data.
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class RunShift:
    """The run's common change: ``log_change`` (the units' median log change, shrunk towards zero by
    :data:`TOLD_APART` standard errors), its standard ``error``, over ``units`` compared units."""

    log_change: float
    error: float
    units: int

    @property
    def change(self) -> float:
        """The shift as a relative change (0.5 is +50 %)."""
        return math.expm1(self.log_change)


def run_shift(log_changes: Sequence[float]) -> RunShift | None:
    """The run's shift from its units' log changes (module docstring); None when the run did not move
    (its median is within noise of zero), with fewer than :data:`MIN_UNITS` units or any not finite."""
    if len(log_changes) < MIN_UNITS or not all(math.isfinite(value) for value in log_changes):
        return None
    centre = statistics.median(log_changes)
    spread = MAD_TO_SD * statistics.median(abs(value - centre) for value in log_changes)
    error = math.sqrt(math.pi / 2.0) * spread / math.sqrt(len(log_changes))
    # only the part of the median told apart from zero: a run that did not move keeps its tests' own tests
    told = max(abs(centre) - TOLD_APART * error, 0.0)
    if told == 0.0:
        return None
    return RunShift(math.copysign(told, centre), error, len(log_changes))
