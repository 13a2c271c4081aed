"""The closed sets of names greencode's values take, each written once as a ``Literal`` type (for
signatures and mypy) with its tuple of values (for checks and messages)."""

from __future__ import annotations

from typing import Literal, get_args

#: What the figures say of a change against the baseline (a test's, or the whole suite's total).
Judgement = Literal["regression", "improvement", "unchanged", "inconclusive"]
#: What the gate says of one test against the baseline: a judgement, that only one side has the test, or
#: ``grouped``: too small to judge alone, judged with its file's small tests (:mod:`greencode.grouped_gate`).
Verdict = Literal[Judgement, "new", "missing", "grouped"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)

#: What a report or the history shows for a test: a verdict, or ``over budget`` (a budget, no baseline).
Status = Literal[Verdict, "over budget"]

#: The two versions ``greencode ab`` measures.
SideName = Literal["base", "head"]
SIDES: tuple[SideName, ...] = get_args(SideName)

#: What a gate does when there is no baseline to compare with (``on_missing_baseline``).
OnMissingBaseline = Literal["warn", "fail", "ignore"]
ON_MISSING_BASELINE: tuple[OnMissingBaseline, ...] = get_args(OnMissingBaseline)
