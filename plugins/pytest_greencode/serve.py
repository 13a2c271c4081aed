"""The serving mode of a ``greencode ab`` side process: pass 0 is the session's own run, later passes re-run
tests inside the same process on ``greencode ab``'s command (the protocol: :mod:`greencode.side_workers`).

Switched on only by :data:`~greencode.side_workers.SERVE_VARIABLE`, which only ``greencode ab`` sets. A later
pass runs each test's whole protocol again — setup, the measured call in its window as in pass 0, teardown —
with pytest's ``runtestprotocol(item, log=False)``, inside :func:`pytest_greencode.quiet.quiet_pass`: nothing
of it reaches pytest's counts, terminal or reports. Each pass sets up and tears down its fixtures as a
session does (the last test of a pass tears down the session's), so every pass sees what pass 0 saw.

Where a test's objects land in memory can change its speed for a whole process: on more-itertools'
``test_recipes.py``, 3 of 42 serving processes ran ``NthPermutationTests::test_long`` 1.7 times slower in
every pass, interleaved with other processes' passes at the usual speed (docs/ci.md). With one
process per side that would be one side's bias, which no number of pairs reveals. So each later pass runs
beside a padding of objects of random number and sizes (:func:`layout_padding`), drawn anew per pass: the
heap the tests allocate in differs from pass to pass, and such an effect becomes pass-to-pass noise, which
the paired interval sees, as it does between fresh processes.
"""

from __future__ import annotations

import contextlib
import os
import random
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.runner import runtestprotocol

from greencode.fingerprint import detect_fingerprint
from greencode.meters import counting_identity
from greencode.side_workers import read_message, serving_channel, write_message
from pytest_greencode import xdist
from pytest_greencode.keys import BENCHMARK_KEY, CALLS_KEY, EXTRA_KEY, PROFILE_KEY
from pytest_greencode.quiet import quiet_pass

if TYPE_CHECKING:
    from pytest_greencode.session import GreencodeRun

#: What a test leaves on its item's stash in one run; a later pass starts without it.
_RUN_KEYS: tuple[pytest.StashKey[Any], ...] = (CALLS_KEY, BENCHMARK_KEY, PROFILE_KEY, EXTRA_KEY)


def layout_padding(draw: random.Random) -> list[object]:
    """Up to a few thousand small buffers and objects, held for one pass: its tests' objects land elsewhere
    in the heap than the last pass's did. ``draw`` is the server's own generator, never ``random``'s, so the
    tests' random numbers are untouched."""
    buffers: list[object] = [bytearray(draw.randrange(8, 600)) for _ in range(draw.randrange(3000))]
    return buffers + [object() for _ in range(draw.randrange(3000))]


class Server:
    """Registered as a plugin in a serving side process; :meth:`serve` runs after pass 0."""

    def __init__(self, run: GreencodeRun, channel: str) -> None:
        self.run = run
        self.commands, self.replies = serving_channel(channel)
        self.failed: dict[str, None] = {}
        self.refused: str | None = None
        self.draw = random.Random(os.urandom(16))

    @property
    def serving(self) -> bool:
        return self.refused is None

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if xdist.is_controller(session.config):
            self.refused = "pytest distributes the tests to xdist workers (-n in its arguments or addopts)"
            self._send({"refused": self.refused})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # only pass 0 logs reports: what pytest's short summary would list as FAILED or ERROR
        if report.failed:
            self.failed[report.nodeid] = None

    def serve(self, session: pytest.Session) -> None:
        """Reply with pass 0, then run each pass asked for until ``greencode ab`` closes the pipe."""
        if not self._send(self._first_pass(session)):
            return
        while (message := read_message(self.commands)) is not None:
            only = [str(node) for node in message.get("only") or []]
            if not self._send(self._later_pass(session, int(message.get("pass", 0)), only)):
                return

    def _send(self, message: dict[str, Any]) -> bool:
        try:
            write_message(self.replies, message)
        except (BrokenPipeError, ValueError):  # greencode ab is gone: end the session as usual
            return False
        return True

    def _first_pass(self, session: pytest.Session) -> dict[str, Any]:
        run, selection = self.run, self.run.selection
        fingerprint = detect_fingerprint(
            selection.name, sorted(selection.domains), counting_identity(selection)
        )
        return {
            "pass": 0,
            "collected": len(session.items),
            "records": [record.to_dict() for record in run.records.values()],
            "failed": list(self.failed),
            "budgets": [budget.to_dict() for budget in run.marker_budgets.values()],
            "machine": fingerprint.describe(),
            "meter_noise": run.gate_settings.meter_noise,
            "warnings": list(run.warnings),
        }

    def _later_pass(self, session: pytest.Session, index: int, only: list[str]) -> dict[str, Any]:
        run = self.run
        wanted = set(only)
        items = [item for item in session.items if item.nodeid in wanted]
        run.records.clear()
        warned = len(run.warnings)
        dropped: list[str] = []
        padding = layout_padding(self.draw)
        with quiet_pass(session) as quiet:
            for position, item in enumerate(items):
                for key in _RUN_KEYS:
                    with contextlib.suppress(KeyError):
                        del item.stash[key]
                following = items[position + 1] if position + 1 < len(items) else None
                reports = runtestprotocol(item, log=False, nextitem=following)
                del item._report_sections[:]  # captured output of a report nobody sees
                passed = any(r.when == "call" and r.passed for r in reports)
                if not passed or any(r.failed for r in reports) or quiet.subtests_failed(item.nodeid):
                    dropped.append(item.nodeid)
                    run.records.pop(item.nodeid, None)
        del padding
        return {
            "pass": index,
            "records": [record.to_dict() for record in run.records.values()],
            "dropped": dropped,
            "warnings": run.warnings[warned:],
        }
