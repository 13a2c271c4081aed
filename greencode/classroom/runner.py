"""Running a lesson: every exercise through the ``greencode compare`` machinery, one after the other.

An exercise that fails (an import error, results that differ) is recorded with its message and the lesson goes
on, so one broken exercise never costs a teacher the whole report.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from greencode.classroom import Exercise
from greencode.compare import (
    Candidate,
    CandidateResult,
    CompareError,
    Ranking,
    load_candidate,
    rank,
)
from greencode.stats import Interval

#: Rounds per implementation with ``--quick``: one balanced cycle (wasteful, green; green, wasteful).
QUICK_ROUNDS = 2


@dataclass(frozen=True)
class ExerciseResult:
    """An exercise and either its ranking or the one-line error that stopped it."""

    exercise: Exercise
    ranking: Ranking | None = None
    error: str | None = None

    def _side(self, label_prefix: str) -> CandidateResult:
        assert self.ranking is not None
        return next(r for r in self.ranking.results if r.label.startswith(label_prefix))

    @property
    def saving(self) -> Interval | None:
        """Wasteful energy ÷ green energy (paired per round) with its interval; ``None`` if it failed."""
        if self.ranking is None:
            return None
        wasteful, green = self._side("wasteful"), self._side("green")
        if green.rank == 1:
            return wasteful.ratio
        # the wasteful one won (it happens: see the generators exercise): invert the green one's ratio
        ratio = green.ratio
        return Interval(_inverse(ratio.estimate), _inverse(ratio.high), _inverse(ratio.low), ratio.confidence)


def _inverse(ratio: float) -> float:
    return 1 / ratio if ratio else math.inf


@dataclass(frozen=True)
class Lesson:
    """The results of one classroom run, in exercise order, with where and when it ran."""

    results: tuple[ExerciseResult, ...]
    started_at: float
    python: str
    machine: str

    @property
    def failed(self) -> tuple[ExerciseResult, ...]:
        return tuple(result for result in self.results if result.error is not None)

    @property
    def rankings(self) -> tuple[Ranking, ...]:
        return tuple(r.ranking for r in self.results if r.ranking is not None)


def candidates_of(exercise: Exercise) -> list[Candidate]:
    """The exercise's two implementations, labelled ``wasteful (function)`` and ``green (function)``."""
    return [
        load_candidate(spec, label=f"{side} ({spec.rpartition(':')[2]})", relative_to=exercise.directory)
        for side, spec in (("wasteful", exercise.wasteful), ("green", exercise.green))
    ]


def run_lesson(
    exercises: Sequence[Exercise],
    *,
    rounds: int | None = None,
    meter: str | None = None,
    progress: Callable[[int, Exercise], None] | None = None,
) -> Lesson:
    """Compare each exercise's implementations (checking they return equal results) and collect the results.

    ``progress(index, exercise)`` is called before each exercise starts (index from 1).
    """
    started = time.time()
    results = []
    for index, exercise in enumerate(exercises, start=1):
        if progress is not None:
            progress(index, exercise)
        try:
            ranking = rank(candidates_of(exercise), rounds=rounds, meter=meter, check_results=True)
        except CompareError as exc:
            results.append(ExerciseResult(exercise, error=str(exc)))
        else:
            results.append(ExerciseResult(exercise, ranking))
    return Lesson(
        results=tuple(results),
        started_at=started,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        machine=f"{platform.system()} {platform.machine()}",
    )
