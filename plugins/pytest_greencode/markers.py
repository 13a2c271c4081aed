"""``@pytest.mark.greencode(rounds=N, skip=True)`` and ``@pytest.mark.energy_budget(joules, per=...)``: how
one test is measured and what it may use. A bad marker is not raised here but returned as
:attr:`Plan.error`, so the session can report every bad marker at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from greencode.config import parse_energy
from greencode.gate import Budget
from pytest_greencode.keys import PLAN_KEY

#: How a test is measured: its call phase, the ``energy`` fixture's rounds, or pytest-benchmark's rounds.
Mode = Literal["test", "energy", "benchmark"]


@dataclass(frozen=True)
class Plan:
    """How one test is measured; ``error`` is a bad marker, reported as the test's setup error."""

    measure: bool
    rounds: int
    mode: Mode
    budget: Budget | None = None
    error: str | None = None
    #: the marker set ``rounds``: the test runs exactly those, never more where a verdict is open
    fixed_rounds: bool = False


def _error(item: pytest.Item, marker: str, problem: str) -> str:
    return f"{item.nodeid}: @pytest.mark.{marker}: {problem}"


#: A node's closest ``greencode`` and ``energy_budget`` markers (None where it has none).
Closest = tuple[pytest.Mark | None, pytest.Mark | None]


class Planner:
    """The plans of a session's collected tests, made once after collection (:meth:`plan`).

    ``rounds`` is the configured default (the ``energy`` fixture's rounds), ``test_rounds`` the default for
    repeating a test's own call (``rounds`` when None) and ``benchmark_plugin`` whether pytest-benchmark is
    installed. Tests planned alike share one :class:`Plan` (every item keeps its plan for the whole run, and
    fewer live objects make each garbage collection cheaper), and the markers of a class, module or package
    are looked up once for all of its tests, not once per test and marker name."""

    def __init__(self, rounds: int, benchmark_plugin: bool, test_rounds: int | None = None) -> None:
        self.rounds = rounds
        self.test_rounds = rounds if test_rounds is None else test_rounds
        self.benchmark_plugin = benchmark_plugin
        self._plans: dict[Plan, Plan] = {}
        self._unmarked: dict[Mode, Plan] = {}
        #: the closest markers of each parent node seen, by the node's id (the nodes outlive the planner)
        self._inherited: dict[int, Closest] = {}

    def plan(self, item: pytest.Item) -> Plan:
        """``item``'s plan from its fixtures and markers (as ``item.get_closest_marker`` finds them)."""
        fixtures = getattr(item, "fixturenames", ())
        benchmark = "benchmark" in fixtures and self.benchmark_plugin
        mode: Mode = "energy" if "energy" in fixtures else "benchmark" if benchmark else "test"
        rounds = self.test_rounds if mode == "test" else self.rounds
        greencode, budget = self._closest(item)
        if greencode is None and budget is None:
            plan = self._unmarked.get(mode)
            if plan is None:
                plan = self._unmarked[mode] = Plan(True, rounds, mode)
            return plan
        plan = _marked_plan(item, mode, rounds, greencode, budget)
        return self._plans.setdefault(plan, plan)

    def _closest(self, node: pytest.Item | pytest.Collector) -> Closest:
        greencode, budget = _own_markers(node)
        parent = node.parent
        if parent is not None and (greencode is None or budget is None):
            above = self._inherited.get(id(parent))
            if above is None:
                above = self._inherited[id(parent)] = self._closest(parent)
            greencode = above[0] if greencode is None else greencode
            budget = above[1] if budget is None else budget
        return greencode, budget


def _own_markers(node: pytest.Item | pytest.Collector) -> Closest:
    """The first ``greencode`` and ``energy_budget`` markers applied to ``node`` itself."""
    greencode = budget = None
    for mark in node.own_markers:
        if mark.name == "greencode":
            greencode = mark if greencode is None else greencode
        elif mark.name == "energy_budget":
            budget = mark if budget is None else budget
    return greencode, budget


def _marked_plan(
    item: pytest.Item, mode: Mode, rounds: int, marker: pytest.Mark | None, budget_marker: pytest.Mark | None
) -> Plan:
    """The plan of a test with either marker; ``rounds`` is its mode's default."""
    measure, error, fixed = True, None, False
    if marker is not None:
        unknown = set(marker.kwargs) - {"rounds", "skip"}
        value = marker.kwargs.get("rounds", rounds)
        if marker.args or unknown:
            error = _error(item, "greencode", "takes only the keywords rounds=N and skip=True")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            error = _error(item, "greencode", f"rounds={value!r}: expected a whole number >= 1")
        else:
            rounds = value
            fixed = "rounds" in marker.kwargs
        measure = not marker.kwargs.get("skip", False)
    budget = None
    if budget_marker is not None and error is None:
        budget, error = _budget(item, budget_marker, mode)
    return Plan(measure, rounds, mode, budget, error, fixed)


def _budget(item: pytest.Item, marker: pytest.Mark, mode: Mode) -> tuple[Budget | None, str | None]:
    expected = "test" if mode == "test" else "call"
    kwargs = dict(marker.kwargs)
    if marker.args:
        kwargs.setdefault("joules", marker.args[0])
    per = expected if kwargs.get("per") is None else kwargs["per"]  # per=None, as documented: the default
    if set(kwargs) - {"joules", "per"} or len(marker.args) > 1 or "joules" not in kwargs:
        return None, _error(item, "energy_budget", "use energy_budget(joules=..., per='test' or 'call')")
    try:
        joules = parse_energy(kwargs["joules"])
    except ValueError as exc:
        return None, _error(item, "energy_budget", f"joules={kwargs['joules']!r}: {exc}")
    if per not in ("call", "test"):
        return None, _error(item, "energy_budget", f"per={per!r}: expected 'call' or 'test'")
    if per != expected:
        why = (
            "the energy or benchmark fixture measures per call"
            if mode != "test"
            else ("without the energy or benchmark fixture the whole test is measured")
        )
        return None, _error(
            item, "energy_budget", f"per={per!r} does not fit this test: {why}; use per={expected!r}"
        )
    return Budget(item.nodeid, joules, per, "marker"), None


class FailBadMarkers:
    """Errors the setup of each test whose marker is bad: on an xdist worker, which cannot stop the session
    with a usage error (the controller exits with that code)."""

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        plan = item.stash.get(PLAN_KEY, None)
        if plan is not None and plan.error:
            pytest.fail(plan.error, pytrace=False)
