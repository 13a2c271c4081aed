"""How a run is judged besides the gate's settings: the meter's jitter per window and the rounds a
regression of a test judged alone needs.

Every measuring run holds one :class:`Judging` (a results file carries it, so that ``greencode gate`` judges
the run as the plugin did); the rules that use it live in :mod:`greencode.weighing`,
:mod:`greencode.small_tests` and :mod:`greencode.grouped_gate`, which only a comparing or saving run imports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The least jitter assumed for one window of a meter that is not deterministic: process CPU time of a
#: window of a few microseconds still moves by about this much on a busy shared VM (a cold cache, an
#: interrupt); a garbage collection can add far more, which is why small tests are never judged alone.
MIN_JITTER_S = 1e-4
#: Rounds a test needs before a reading that grew makes it judged alone (and, with adaptive rounds, before
#: any regression of a test judged alone): one reading cannot tell a spike from a change.
MIN_CONFIRM_ROUNDS = 3


def jitter_s(meters: Iterable[object]) -> float:
    """The jitter assumed for one window of these meters (the largest): none for a meter that declares its
    run-to-run noise (instruction counts are deterministic), what a meter declares as ``window_jitter_s``,
    else its ``resolution_s`` and never less than :data:`MIN_JITTER_S`."""
    jitters = [0.0]
    for meter in meters:
        declared = getattr(meter, "window_jitter_s", None)
        if getattr(meter, "run_to_run_noise", None) is not None:
            continue
        if declared is not None:
            jitters.append(float(declared))
        else:
            jitters.append(max(float(getattr(meter, "resolution_s", 0.0)), MIN_JITTER_S))
    return max(jitters)


@dataclass(frozen=True)
class Judging:
    """How a run is judged besides the gate's settings: the meter's ``jitter_s`` per window
    (:func:`jitter_s`) and the rounds a regression of a test judged alone needs
    (``min_rounds``; 1: any)."""

    jitter_s: float
    min_rounds: int = 1
    #: the level to judge at (what sequential looks left of ``alpha``); None: the settings' own
    alpha: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """What a results file carries, so that ``greencode gate`` judges the run as the plugin did."""
        return {"jitter_s": self.jitter_s, "min_rounds": self.min_rounds, "alpha": self.alpha}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Judging:
        """The inverse of :meth:`to_dict`; ``ValueError`` or ``TypeError`` when a value is malformed."""
        jitter, rounds, alpha = data["jitter_s"], data.get("min_rounds", 1), data.get("alpha")
        if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0 <= jitter < math.inf:
            raise ValueError(f"judging.jitter_s should be a number of seconds, not {jitter!r}")
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"judging.min_rounds should be a whole number from 1, not {rounds!r}")
        if alpha is not None and (
            isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1
        ):
            raise ValueError(f"judging.alpha should be a number between 0 and 1, not {alpha!r}")
        return cls(float(jitter), rounds, None if alpha is None else float(alpha))
