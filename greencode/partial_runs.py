"""A run of part of its baseline's tests (``pytest tests/test_x.py --greencode-compare`` against a baseline
a full run saved): which part, and how its shift is judged.

Such a run's tests run *cold*: first in their process, without the files before them having imported
modules, filled caches and run lazy set-up, and in whatever moment of a shared machine its few seconds fall
into. Measured on tomlkit 0.13.2 (docs/performance.md): one file of 4 small tests, run alone, read 1.0-2.4
times what the same tests read in the full run the baseline came from, all of the file's tests alike (its
largest most, in its first round), while in full runs the same file read 1.02-1.1 times. So a partial run
is judged beyond its own shift (:mod:`greencode.run_shift`) like a whole run, with two differences:

- the shift is the median change of its units, or of its tests one by one when the units are too few, and
  it is **not** shrunk towards zero: a cold selection is expected to move, and the median is the best guess
  of how far even when the tests disagree;
- with fewer than :data:`~greencode.run_shift.MIN_UNITS` tests there is nothing to estimate it from, so it
  is taken as zero with a standard error of :data:`UNESTIMATED_SHIFT_SD`: a reading 2.4 times its baseline
  is then not a regression, and neither is a doubling; the note says so and what to do instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from greencode.run_shift import Basis, RunShift, enough, median_and_error
from greencode.units import format_percent, plural

if TYPE_CHECKING:
    from greencode.baselines import Baseline

#: The standard error (log scale) of the assumed shift of a partial run too small to estimate its own: a
#: reading 2.4 times its baseline (log 0.88, the most the cold file above read) stays below the regression
#: bound even for a test whose own noise is nil (z = (0.88 - log 1.1) / 0.5 = 1.57 < 1.645, alpha 0.05).
UNESTIMATED_SHIFT_SD = 0.5


@dataclass(frozen=True)
class Selection:
    """Which of the baseline's tests a run measured: ``measured`` of its ``baseline`` entries, among the
    ``run`` tests it measured in all (new ones too)."""

    measured: int
    baseline: int
    run: int

    @property
    def partial(self) -> bool:
        """Some of the baseline's tests ran, not all, and the run measured fewer tests than the baseline holds
        (none: nothing to compare at all). A whole run whose tests carry ids made afresh each time (a
        parameter showing the time of day) misses a few baseline ids and brings as many new ones: it is not
        a selection, and its tests do not run cold."""
        return 0 < self.measured < self.baseline and self.run < self.baseline

    def words(self) -> str:
        return f"{self.measured} of {plural(self.baseline, 'baseline test')}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "measured": self.measured,
            "baseline": self.baseline,
            "run": self.run,
            "partial": self.partial,
        }


def selection_of(node_ids: Iterable[str], baseline: Baseline) -> Selection:
    """How many of ``baseline``'s tests the run that measured ``node_ids`` measured."""
    ran = set(node_ids)
    return Selection(len(ran & baseline.entries.keys()), len(baseline.entries), len(ran))


def partial_shift(units: Sequence[float], tests: Sequence[float]) -> RunShift:
    """A partial run's shift from the log changes of its ``units``, else of its ``tests`` one by one, else
    assumed (module docstring)."""
    candidates: tuple[tuple[Basis, Sequence[float]], ...] = (("units", units), ("tests", tests))
    for basis, values in candidates:
        if enough(values):
            centre, error = median_and_error(values)
            return RunShift(centre, error, len(values), basis)
    return RunShift(0.0, UNESTIMATED_SHIFT_SD, len(tests), "assumed")


def basis_words(shift: RunShift) -> str:
    """What ``shift`` is the median of, for messages."""
    if shift.basis == "tests":
        return f"{plural(shift.units, 'test')} taken one by one"
    return plural(shift.units, "compared test")


def assumed_words(shift: RunShift) -> str:
    """Why an assumed shift leaves a change undecided, and what to do."""
    return (
        f"this partial run's shift cannot be estimated from {plural(shift.units, 'test')} (taken as 0 ± "
        f"{format_percent(UNESTIMATED_SHIFT_SD, signed=False)}): running cold, without the rest of the suite "
        "before it, or a busier moment of the machine moves a few tests that much; compare more of the "
        "suite, or gate with 'greencode ab'"
    )


def partial_note(selection: Selection, shift: RunShift | None) -> str:
    """The gate's note on a partial run: what ran and how that changes the verdicts (None: a meter whose
    counts do not follow the machine, judged as it is)."""
    head = (
        f"a partial run: {selection.words()} measured (a selection, or tests removed since the baseline was "
        "saved: then save it again)"
    )
    if shift is None:
        return f"{head}; a deterministic meter's counts are judged as they are"
    if shift.basis == "assumed":
        return f"{head}; {assumed_words(shift)}"
    return (
        f"{head}; its tests may run cold (without the rest of the suite before them), so each change "
        f"counts only beyond the run's own shift, {format_percent(shift.change)} (median of "
        f"{basis_words(shift)}, standard error {format_percent(shift.error, signed=False)}, not shrunk "
        "towards zero)"
    )
