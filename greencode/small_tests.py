"""The stored-baseline gate's groups of tests too small to judge alone: each file's, and their sums.

Which tests are small is :mod:`greencode.weighing`'s rule, shared with ``greencode ab``; here the sizing comes
from the baseline's entries (:func:`sizing`), and a test that grew into the share in this run is judged alone
once :data:`~greencode.judging.MIN_CONFIRM_ROUNDS` rounds confirm it. Every other test with a baseline entry
is **small**: it is judged together with the small tests of its file — the sum of their energy against the
same tests' baseline sum — and with the whole suite. A regression spread over many tiny tests moves their
file's sum; one tiny test cannot. In a group's sum a member counts at most :data:`MEMBER_CAP` times (and at
least its inverse) its baseline energy, so one window's spike cannot make a file regress; a test that really
grew that much now matters and is judged alone, or it is negligible. A file whose small tests together are
near the resolution is left out of every verdict, and the suite's line says how many tests that left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from greencode.baselines import Baseline
from greencode.records import BaselineEntry, TestRecord
from greencode.stats import summarize
from greencode.weighing import Size, Sizing, file_of, per_test

#: In a group's sum a member counts between 1/MEMBER_CAP and MEMBER_CAP times its baseline energy.
MEMBER_CAP = 3.0
#: What a group's node id ends with, after its file: ``tests/test_x.py::[small tests]``.
GROUP_SUFFIX = "::[small tests]"


def size_of(entry: BaselineEntry) -> Size:
    """What a baseline entry says its test used (:mod:`greencode.weighing`'s figures)."""
    return Size(entry.centre_j, entry.wall_s, entry.per)


def sizing(baseline: Baseline, jitter: float, min_effect_j: float = 0.0) -> Sizing:
    """The :class:`~greencode.weighing.Sizing` of ``baseline`` for a meter with ``jitter`` seconds of jitter
    per window (tests measured per test with every run above zero)."""
    sizes = {node_id: size_of(e) for node_id, e in baseline.entries.items() if per_test(e)}
    return Sizing.of(sizes, jitter, min_effect_j)


def group_of(node_id: str) -> str:
    """The group a small test is judged in: its file's."""
    return file_of(node_id) + GROUP_SUFFIX


@dataclass(frozen=True)
class Groups:
    """A run's tests sorted for judging: ``alone`` (node ids), and each file's small tests (``members``
    by group id). ``pairs`` holds a record and baseline entry for each group that is large enough to
    judge: the sums (members capped by :data:`MEMBER_CAP`), which the gate compares like one test."""

    alone: frozenset[str]
    members: Mapping[str, tuple[str, ...]]
    pairs: Mapping[str, tuple[TestRecord, BaselineEntry]]

    def group(self, node_id: str) -> str | None:
        group = group_of(node_id)
        return group if node_id in self.members.get(group, ()) else None


def _capped(current: float, baseline: float) -> float:
    return min(max(current, baseline / MEMBER_CAP), baseline * MEMBER_CAP)


def _group_pair(
    group: str, members: list[tuple[TestRecord, BaselineEntry]]
) -> tuple[TestRecord, BaselineEntry]:
    """One record and one baseline entry standing for ``members``' sums. The baseline's runs are summed
    run by run over the runs every member has (its latest), so pooled runs give the group its own spread;
    without them the gate assumes the per-window jitter relative to the members' mean window, since a
    busier run shifts every window alike."""
    runs = min(len(entry.runs_j) for _, entry in members)
    runs_j = tuple(
        math.fsum(entry.runs_j[len(entry.runs_j) - runs + i] for _, entry in members) for i in range(runs)
    )
    current = math.fsum(_capped(record.median_j, entry.centre_j) for record, entry in members)
    first = members[0][0]
    count = len(members)
    # wall_s and cpu_s of a group are its members' means: the window a per-window jitter is relative to
    record = TestRecord(
        node_id=group,
        per="test",
        samples_j=(current,),
        wall_s=math.fsum(r.wall_s for r, _ in members) / count,
        cpu_s=math.fsum(r.cpu_s for r, _ in members) / count,
        meter=first.meter,
        estimated=any(r.estimated for r, _ in members),
    )
    entry = BaselineEntry(
        node_id=group,
        per="test",
        runs_j=runs_j,
        samples_j=runs_j[-1:],
        summary=summarize(runs_j[-1:]),
        wall_s=math.fsum(e.wall_s for _, e in members) / count,
        cpu_s=math.fsum(e.cpu_s for _, e in members) / count,
        meter=members[0][1].meter,
        estimated=any(e.estimated for _, e in members),
    )
    return record, entry


def sort_for_judging(records: Iterable[TestRecord], baseline: Baseline, sizes: Sizing) -> Groups:
    """Which of ``records`` are judged alone and which in their file's group (module docstring). Tests
    without a baseline entry, or measured per call now but per test then, are left to the gate (alone)."""
    alone: set[str] = set()
    members: dict[str, list[tuple[TestRecord, BaselineEntry]]] = {}
    for record in records:
        entry = baseline.entries.get(record.node_id)
        comparable = entry is not None and record.per == entry.per and min(record.samples_j) > 0
        if entry is None or not comparable or sizes.alone(entry, record):
            alone.add(record.node_id)
        else:
            members.setdefault(group_of(record.node_id), []).append((record, entry))
    pairs = {
        group: _group_pair(group, pairs)
        for group, pairs in members.items()
        if sizes.measurable(math.fsum(entry.wall_s for _, entry in pairs))
    }
    return Groups(
        frozenset(alone),
        {group: tuple(r.node_id for r, _ in pairs) for group, pairs in members.items()},
        pairs,
    )
