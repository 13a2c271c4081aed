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


def plan(item: pytest.Item, rounds: int, benchmark_plugin: bool, test_rounds: int | None = None) -> Plan:
    """``item``'s plan from its fixtures and markers; ``rounds`` is the configured default (the ``energy``
    fixture's rounds), ``test_rounds`` the default for repeating a test's own call (``rounds`` when None) and
    ``benchmark_plugin`` whether pytest-benchmark is installed."""
    measure, error, fixed = True, None, False
    fixtures = getattr(item, "fixturenames", ())
    benchmark = "benchmark" in fixtures and benchmark_plugin
    mode: Mode = "energy" if "energy" in fixtures else "benchmark" if benchmark else "test"
    if mode == "test" and test_rounds is not None:
        rounds = test_rounds
    marker = item.get_closest_marker("greencode")
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
    marker = item.get_closest_marker("energy_budget")
    if marker is not None and error is None:
        budget, error = _budget(item, marker, mode)
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
