"""The stored-baseline gate for a whole run: large tests judged alone, small ones per file.

:func:`compare_grouped` sorts a run's tests (:mod:`greencode.small_tests`): each group of a file's small
tests is compared like one test (its sums; node id ``FILE::[small tests]``), in one family with the tests
judged alone, so Holm's adjustment covers both. Each small test keeps its own figures for reading, with the
verdict ``grouped`` and its group's verdict in the reason. With ``min_rounds`` (the pytest plugin's
adaptive rounds), a test judged alone is a regression only after that many rounds of this run: a test the
measuring budget left at fewer rounds is ``inconclusive``, however its one reading looked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from greencode.gate import Budget, GateReport, GateSettings, check_budgets
from greencode.judging import Judging
from greencode.partial_runs import selection_of
from greencode.small_tests import Groups, size_of, sizing, sort_for_judging
from greencode.units import plural
from greencode.verdicts import Comparison, SuiteVerdict, compare, estimate_change, estimate_noise, judge
from greencode.weighing import Sizing

if TYPE_CHECKING:
    from greencode.baselines import Baseline
    from greencode.fingerprint import Fingerprint
    from greencode.records import TestRecord


def _member(comparison: Comparison, groups: Groups, verdicts: dict[str, Comparison], why: str) -> Comparison:
    group = groups.group(comparison.node_id) or ""
    judged = verdicts.get(group)
    count = plural(len(groups.members.get(group, ())), "small test")
    together = (
        f"judged with its file's {count} ({group}): {judged.verdict}"
        if judged is not None
        else "its file's small tests together are near the meter's resolution too: left out of every verdict"
    )
    return replace(comparison, verdict="grouped", reason=f"too small to judge alone ({why}); {together}")


def _unconfirmed(comparison: Comparison, rounds: int, needed: int) -> Comparison:
    return replace(
        comparison,
        verdict="inconclusive",
        reason=f"{comparison.reason}; but only {plural(rounds, 'round')} of this run measured it (a "
        f"regression needs {needed}): the measuring budget was spent",
    )


def compare_grouped(
    records: Iterable[TestRecord],
    baseline: Baseline | None,
    settings: GateSettings,
    judging: Judging,
    *,
    fingerprint: Fingerprint | None = None,
    budgets: Iterable[Budget] = (),
    baseline_name: str | None = None,
) -> GateReport:
    """:func:`greencode.verdicts.compare` with small tests judged per file (module docstring)."""
    records = list(records)
    budgets = list(budgets)
    settings = replace(settings, window_jitter_s=judging.jitter_s)
    if judging.alpha is not None:
        settings = replace(settings, alpha=judging.alpha)
    plain = compare(
        records, baseline, settings, fingerprint=fingerprint, budgets=budgets, baseline_name=baseline_name
    )
    if baseline is None or plain.refused or not records:
        return plain
    sizes: Sizing = sizing(baseline, judging.jitter_s, settings.min_effect_j)
    groups = sort_for_judging(records, baseline, sizes)
    small = {node_id for members in groups.members.values() for node_id in members}
    entries = {k: v for k, v in baseline.entries.items() if k not in small}
    entries.update((group, entry) for group, (_, entry) in groups.pairs.items())
    judged = compare(
        [r for r in records if r.node_id in groups.alone] + [record for record, _ in groups.pairs.values()],
        replace(baseline, entries=entries),
        settings,
        fingerprint=fingerprint,
        baseline_name=baseline_name,
        selection=selection_of((r.node_id for r in records), baseline),
        # a file of small tests is one unit: too few for a shift, its tests one by one may not be
        one_by_one=[math.log1p(c.change) for c in plain.comparisons if c.change is not None],
    )
    verdicts = {c.node_id: c for c in judged.comparisons}
    by_node = {r.node_id: r for r in records}
    comparisons: list[Comparison] = []
    for comparison in judged.comparisons:
        record = by_node.get(comparison.node_id)
        if (
            comparison.verdict == "regression"
            and record is not None
            and record.source == "test"
            and len(record.samples_j) < judging.min_rounds
        ):
            comparison = _unconfirmed(comparison, len(record.samples_j), judging.min_rounds)
        comparisons.append(comparison)
    comparisons += _members(records, baseline, settings, groups, sizes, verdicts)
    return replace(
        judged,
        comparisons=tuple(sorted(comparisons, key=lambda c: c.node_id)),
        budgets=check_budgets(records, budgets),
        total_budget=plain.total_budget,
        suite=_suite_counts(judged.suite, groups),
    )


def _suite_counts(suite: SuiteVerdict | None, groups: Groups) -> SuiteVerdict | None:
    """The suite's verdict counting tests, not units: each file group it summed counts as its members, and
    the small tests of files too small to sum are named as left out."""
    if suite is None:
        return None
    summed = [group for group in groups.pairs if group not in suite.excluded]
    grouped = sum(len(groups.members[group]) for group in summed)
    unresolved = sorted(
        n for group, members in groups.members.items() if group not in groups.pairs for n in members
    )
    return replace(
        suite,
        compared=suite.compared - len(summed) + grouped,
        grouped=grouped,
        file_groups=len(summed),
        unresolved=tuple(unresolved),
    )


def _members(
    records: Sequence[TestRecord],
    baseline: Baseline,
    settings: GateSettings,
    groups: Groups,
    sizes: Sizing,
    verdicts: dict[str, Comparison],
) -> list[Comparison]:
    """Each small test's own figures (judged as a family of their own, for reading only), as ``grouped``."""
    noise = estimate_noise(
        baseline, settings.run_cv, settings.min_run_cv, settings.noise_source, settings.window_jitter_s
    )
    estimates = []
    for record in records:
        if groups.group(record.node_id) is None:
            continue
        entry = baseline.entries[record.node_id]
        estimate = estimate_change(record, entry, noise[record.node_id])
        if estimate is not None:
            estimates.append(estimate)
    return [
        _member(c, groups, verdicts, sizes.why_small(size_of(baseline.entries[c.node_id])))
        for c in judge(estimates, settings)
    ]
