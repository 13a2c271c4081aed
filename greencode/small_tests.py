"""Tests too small to judge alone, and the per-file groups they are judged in.

One reading of a test of a few dozen microseconds is mostly noise: a garbage collection, an interrupt or a
cold cache inside its window can double it, so a gate that judged each such test alone would call unchanged
code a regression somewhere in every large suite. And such a test hardly matters: 600 of more-itertools' 664
tests carry less than 5 % of its suite's energy. So a test is **judged alone** only when it can matter
and can be measured:

- it is among the largest tests of the baseline that together carry :data:`CARRY_SHARE` of the suite's
  energy, or ``min_effect_j`` is set and the test alone uses more than that (so its doubling would count),
  or this run measured it, over at least :data:`MIN_CONFIRM_ROUNDS` rounds, at least as large as the
  smallest measurable test of that share (it grew into it);
- and its window is not near the meter's resolution: at least :data:`RESOLUTION_WINDOWS` times the meter's
  jitter (:func:`jitter_s`), in the baseline or, for a test that grew, in this run.

Per-call figures (the ``energy`` fixture, pytest-benchmark) come from calibrated rounds and are always
judged alone. Every other test with a baseline entry is **small**: it is judged together with the small
tests of its file — the sum of their energy against the same tests' baseline sum — and with the whole suite.
A regression spread over many tiny tests moves their file's sum; one tiny test cannot. In a group's sum a
member counts at most :data:`MEMBER_CAP` times (and at least its inverse) its baseline energy, so one
window's spike cannot make a file regress; a test that really grew that much now matters and is judged
alone, or it is negligible. A file whose small tests together are near the resolution is judged only in
the suite total.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from greencode.baselines import Baseline
from greencode.records import BaselineEntry, TestRecord
from greencode.stats import summarize
from greencode.units import format_duration, format_percent

#: The tests judged alone carry this share of the baseline suite's energy (largest first).
CARRY_SHARE = 0.9
#: A window shorter than this many times the meter's jitter is near its resolution.
RESOLUTION_WINDOWS = 10
#: The least jitter assumed for one window of a meter that is not deterministic: process CPU time of a
#: window of a few microseconds still moves by about this much on a busy shared VM (a cold cache, an
#: interrupt); a garbage collection can add far more, which is why small tests are never judged alone.
MIN_JITTER_S = 1e-4
#: In a group's sum a member counts between 1/MEMBER_CAP and MEMBER_CAP times its baseline energy.
MEMBER_CAP = 3.0
#: Rounds of this run a test needs before a reading that grew makes it judged alone (and, with adaptive
#: rounds, before any regression of a test judged alone): one reading cannot tell a spike from a change.
MIN_CONFIRM_ROUNDS = 3
#: What a group's node id ends with, after its file: ``tests/test_x.py::[small tests]``.
GROUP_SUFFIX = "::[small tests]"


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


def _per_test(entry: BaselineEntry) -> bool:
    return entry.per == "test" and all(v > 0 for v in entry.runs_j)


@dataclass(frozen=True)
class Sizing:
    """What makes a test large enough to judge alone, from the baseline (see the module docstring).

    ``suite_j`` is the baseline suite's energy (tests measured per test); ``large`` the largest tests that
    carry :data:`CARRY_SHARE` of it, ``share_j`` the energy of the smallest measurable one among them."""

    suite_j: float
    share_j: float
    large: frozenset[str]
    jitter_s: float
    min_effect_j: float = 0.0

    def measurable(self, wall_s: float) -> bool:
        """Whether a window this long is clear of the meter's resolution."""
        return wall_s >= RESOLUTION_WINDOWS * self.jitter_s

    def matters(self, energy_j: float) -> bool:
        """Whether a test using this much energy can matter on its own."""
        return energy_j >= self.share_j or 0 < self.min_effect_j < energy_j

    def alone(self, entry: BaselineEntry, record: TestRecord | None = None) -> bool:
        """Whether this test is judged alone: by its baseline entry and, when given, this run's record."""
        if not _per_test(entry):
            return True
        if not self.measurable(max(entry.wall_s, record.wall_s if record is not None else 0.0)):
            return False
        if entry.node_id in self.large or self.matters(entry.centre_j):
            return True
        return self.grown(record) and len(record.samples_j) >= MIN_CONFIRM_ROUNDS  # type: ignore[union-attr]

    def grown(self, record: TestRecord | None) -> bool:
        """Whether this run's reading of a small test (any number of rounds) is as large as a test judged
        alone: more rounds then tell whether it really grew."""
        return record is not None and self.measurable(record.wall_s) and self.matters(record.median_j)

    def share(self, entry: BaselineEntry) -> float:
        return entry.centre_j / self.suite_j if self.suite_j > 0 else 0.0

    def why_small(self, entry: BaselineEntry) -> str:
        """Why a test is not judged alone, in a few words."""
        if not self.measurable(entry.wall_s):
            return (
                f"{format_duration(entry.wall_s)} per call, near the meter's resolution "
                f"(judged alone from {format_duration(RESOLUTION_WINDOWS * self.jitter_s)})"
            )
        return f"{format_percent(self.share(entry), signed=False)} of the suite's energy"


def sizing(baseline: Baseline, jitter: float, min_effect_j: float = 0.0) -> Sizing:
    """The :class:`Sizing` of ``baseline`` for a meter with ``jitter`` seconds of jitter per window."""
    energies = sorted(
        ((e.centre_j, node_id) for node_id, e in baseline.entries.items() if _per_test(e)), reverse=True
    )
    suite = math.fsum(energy for energy, _ in energies)
    large, carried, share_j = [], 0.0, math.inf
    sizes = Sizing(suite, share_j, frozenset(), jitter, min_effect_j)
    for energy, node_id in energies:
        if carried >= CARRY_SHARE * suite:
            break
        large.append(node_id)
        carried += energy
        if sizes.measurable(baseline.entries[node_id].wall_s):
            share_j = energy
    return Sizing(suite, share_j, frozenset(large), jitter, min_effect_j)


def group_of(node_id: str) -> str:
    """The group a small test is judged in: its file's."""
    return node_id.split("::", 1)[0] + GROUP_SUFFIX


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
