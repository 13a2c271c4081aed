"""pytest-xdist support: workers measure, the controller merges and writes once.

Each worker measures its own tests and sends its records, marker budgets, warnings and bad markers to the
controller in ``workeroutput`` (plain JSON-able data). The controller merges them, runs the gate and writes
the baseline, history and reports once.

A per-process meter (the estimator) stays valid with several workers: each window counts only its own
process. A machine- or device-wide meter (RAPL, NVML) would also count the other workers' tests, so then
each test runs under a cross-process lock held from its setup to its teardown: measured tests run one at a
time across workers, and the run says so in its header.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from greencode.footprint import Spent
from greencode.gate import Budget
from greencode.records import TestRecord
from pytest_greencode.keys import PLAN_KEY

OUTPUT_KEY = "greencode"
LOCK_KEY = "greencode_lock"


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """True in the process that distributes tests to xdist workers (after all plugins are configured)."""
    return not is_worker(config) and config.pluginmanager.hasplugin("dsession")


def worker_count(config: pytest.Config) -> int:
    value = config.getoption("numprocesses", None) if config.pluginmanager.hasplugin("xdist") else None
    return value if isinstance(value, int) else 0


def new_lock_path() -> Path:
    """A fresh lock file name for one session's workers (the file appears on first use)."""
    return Path(tempfile.gettempdir()) / f"greencode-measure-{os.getpid()}-{os.urandom(4).hex()}.lock"


def worker_lock_path(config: pytest.Config) -> Path | None:
    """The lock file the controller handed to this worker, if measurements must be serialised."""
    workerinput = getattr(config, "workerinput", {})
    value = workerinput.get(LOCK_KEY)
    return Path(value) if value else None


def payload(
    records: Iterable[TestRecord],
    budgets: Iterable[Budget],
    warnings: Iterable[str],
    marker_errors: Iterable[str],
    measuring: Iterable[Spent] = (),
) -> dict[str, Any]:
    """What a worker sends to the controller; ``measuring`` is the time its measuring added."""
    return {
        "records": [record.to_dict() for record in records],
        "budgets": [budget.to_dict() for budget in budgets],
        "warnings": list(warnings),
        "marker_errors": list(marker_errors),
        "measuring": [spent.to_dict() for spent in measuring],
    }


def read_payload(
    data: Mapping[str, Any],
) -> tuple[list[TestRecord], list[Budget], list[str], list[str]]:
    """The inverse of :func:`payload`."""
    return (
        [TestRecord.from_dict(item) for item in data.get("records", [])],
        [Budget.from_dict(item) for item in data.get("budgets", [])],
        [str(item) for item in data.get("warnings", [])],
        [str(item) for item in data.get("marker_errors", [])],
    )


class OneAtATime:
    """On xdist workers with a machine- or device-wide meter: each measured test, from setup to teardown,
    holds a lock shared by all workers, so no other worker's test runs inside its window."""

    def __init__(self, lock_path: Path) -> None:
        self.lock_path = lock_path

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        plan = item.stash.get(PLAN_KEY, None)
        if plan is None or not plan.measure:
            return (yield)
        from greencode.locks import file_lock

        with file_lock(self.lock_path):
            return (yield)


def read_measuring(data: Mapping[str, Any]) -> list[Spent]:
    """The time a worker's measuring added (:func:`payload`'s ``measuring``)."""
    return [Spent.from_dict(item) for item in data.get("measuring", [])]
