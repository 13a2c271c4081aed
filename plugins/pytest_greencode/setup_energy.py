"""``include_setup``: the energy of a measured test's setup and teardown added to each round of its call
(registered as its own plugin, so sessions without the setting pay nothing per test)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from pytest_greencode.keys import EXTRA_KEY, PLAN_KEY

if TYPE_CHECKING:
    from greencode.measurement import Recorder
    from pytest_greencode.session import GreencodeRun


def measures_setup(run: GreencodeRun, item: pytest.Item) -> bool:
    if not run.settings.include_setup:
        return False
    plan = item.stash.get(PLAN_KEY, None)
    return plan is not None and plan.measure


def add_setup_energy(item: pytest.Item, recorder: Recorder) -> None:
    item.stash[EXTRA_KEY] = item.stash.get(EXTRA_KEY, 0.0) + recorder.stop().energy_j


class SetupEnergy:
    """The energy of each measured test's setup (its teardown is measured by
    :meth:`GreencodeRun.pytest_runtest_teardown`, which then completes the record)."""

    def __init__(self, run: GreencodeRun) -> None:
        self.run = run

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        if not measures_setup(self.run, item):
            return (yield)
        recorder = self.run.open_window(item.nodeid)
        result = yield
        add_setup_energy(item, recorder)
        return result
