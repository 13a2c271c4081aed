"""How far a whole run moved against its stored baseline: the common factor of its tests' changes.

A busier, throttled or different machine slows every test of a run alike; a change to the code slows the
tests that run it. Against a stored baseline the two look the same on any one test, but not across the
run: the median of the tests' log changes is the run's **shift**, and a test that only moved with it says
nothing about its own code. The median is robust: one test that doubled moves it not at all, while a
machine that runs 50 % slower moves it by 50 %. Its standard error is that of a median of ``n`` values,
``sqrt(pi / 2) * sigma / sqrt(n)``, with ``sigma`` the tests' spread around it (1.4826 times their median
absolute deviation, robust to the test that changed). Only the part of the median beyond
:data:`TOLD_APART` standard errors from zero counts as the shift.

The units are the tests judged alone and the files' groups of small tests; a run with fewer than
:data:`MIN_UNITS` of them (one file of small tests) estimates its shift from its tests instead, each on its
own. A run of part of the baseline's tests is another matter: :mod:`greencode.partial_runs`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

#: Fewest compared units (tests judged alone, file groups) for a run's shift to be told apart from a few
#: tests that changed: with two, the median is their mean and one regression would move it halfway.
MIN_UNITS = 3
#: Standard errors by which the median must differ from zero before it counts: a median within noise of
#: zero would only add noise to every test's verdict (and cost a real regression its power).
TOLD_APART = 2.0
#: Scales a median absolute deviation to a standard deviation for normal data.
MAD_TO_SD = 1.4826

#: What a shift was estimated from: the compared units, the run's tests one by one (too few units), or
#: nothing (assumed: a partial run with too few tests, :mod:`greencode.partial_runs`).
Basis = Literal["units", "tests", "assumed"]


@dataclass(frozen=True)
class RunShift:
    """The run's common change: ``log_change`` (the units' median log change, shrunk towards zero by
    :data:`TOLD_APART` standard errors), its standard ``error``, over ``units`` values of its ``basis``."""

    log_change: float
    error: float
    units: int
    basis: Basis = "units"

    @property
    def change(self) -> float:
        """The shift as a relative change (0.5 is +50 %)."""
        return math.expm1(self.log_change)


def median_and_error(log_changes: Sequence[float]) -> tuple[float, float]:
    """The median of ``log_changes`` and its standard error (module docstring)."""
    centre = statistics.median(log_changes)
    spread = MAD_TO_SD * statistics.median(abs(value - centre) for value in log_changes)
    return centre, math.sqrt(math.pi / 2.0) * spread / math.sqrt(len(log_changes))


def enough(log_changes: Sequence[float]) -> bool:
    """Whether ``log_changes`` can tell a shift apart from a few values that changed."""
    return len(log_changes) >= MIN_UNITS and all(math.isfinite(value) for value in log_changes)


def run_shift(log_changes: Sequence[float], tests: Sequence[float] = ()) -> RunShift | None:
    """The run's shift from its units' log changes, or from its ``tests``' when the units are too few
    (module docstring); None when the run did not move (its median is within noise of zero), or neither
    has :data:`MIN_UNITS` finite values."""
    basis: Basis = "units"
    if not enough(log_changes):
        basis, log_changes = "tests", tests
        if not enough(log_changes):
            return None
    centre, error = median_and_error(log_changes)
    # only the part of the median told apart from zero: a run that did not move keeps its tests' own tests
    told = max(abs(centre) - TOLD_APART * error, 0.0)
    if told == 0.0:
        return None
    return RunShift(math.copysign(told, centre), error, len(log_changes), basis)
