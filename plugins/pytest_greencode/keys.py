"""Names shared by the plugin's modules: stash keys and option names (here, so the light modules need not
import the heavy ones, and no two modules import each other)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from greencode.measurement import Measurement, Profile
    from pytest_greencode.benchmark import BenchmarkEnergy
    from pytest_greencode.markers import Plan

#: The ``energy`` fixture's profile, on the item's stash.
PROFILE_KEY: pytest.StashKey[Profile] = pytest.StashKey()
#: Rounds for this test as resolved from its marker, the option and the configuration; only measured tests
#: have it (the ``energy`` fixture of an unmeasured test just calls its function).
ROUNDS_KEY: pytest.StashKey[int] = pytest.StashKey()
#: What the measuring run does with a collected test (:func:`pytest_greencode.markers.plan`).
PLAN_KEY: pytest.StashKey[Plan] = pytest.StashKey()
#: The measurements of a measured test's call, one per round.
CALLS_KEY: pytest.StashKey[list[Measurement]] = pytest.StashKey()
#: pytest-benchmark's rounds of a test, when those were measured instead of the whole call.
BENCHMARK_KEY: pytest.StashKey[BenchmarkEnergy] = pytest.StashKey()
#: Joules of a test's setup and teardown, with ``include_setup`` (:mod:`pytest_greencode.setup_energy`).
EXTRA_KEY: pytest.StashKey[float] = pytest.StashKey()
#: Options whose value is a path (see :mod:`pytest_greencode.rootdir`; ``--option=PATH`` always works).
PATH_OPTIONS = frozenset(("--greencode-baseline", "--greencode-json", "--greencode-compare"))
