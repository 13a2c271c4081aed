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

What padding per pass cannot redraw is what a process settles once: the objects its first calls leave behind,
how the interpreter specialises a loop on its first runs. So passes also come from process *generations*
(:mod:`greencode.side_workers`): right after collection the process forks a spawner, which forks each later
generation from that collected state, before any test ran; a generation lays down padding of its own for
its whole life, runs its tests once to warm up, and serves a few passes. A bias of one process is then one
generation's, a difference between its pairs and the others' that the paired interval sees. What a fork
shares with its parent — the imports, the collected tests, the addresses the process started with — stays
shared; ``greencode ab --fresh-processes`` shares nothing.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import threading
import time
import traceback
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.runner import runtestprotocol

from greencode.fingerprint import detect_fingerprint
from greencode.meters import counting_identity
from greencode.meters.counters import PollerThread
from greencode.side_workers import Channel, read_message, serving_channels, write_message
from pytest_greencode import xdist
from pytest_greencode.keys import BENCHMARK_KEY, CALLS_KEY, EXTRA_KEY, PROFILE_KEY
from pytest_greencode.quiet import quiet_pass
from pytest_greencode.reruns import ready_to_rerun

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


def unforkable() -> str | None:
    """Why forking this process could hang, or None: a thread that collection left running (an import
    that starts a worker, a conftest's server) may hold a lock — the allocator's, logging's, the import
    lock — that the forked copy then waits on for ever, since only the forking thread survives a fork."""
    here = threading.current_thread()
    others = sum(1 for t in threading.enumerate() if t is not here and not isinstance(t, PollerThread))
    if not others:
        return None
    threads = "thread" if others == 1 else "threads"
    return f"collection left {others} other {threads} running, and forking it could hang"


class Server:
    """Registered as a plugin in a serving side process; :meth:`serve` runs after pass 0."""

    def __init__(self, run: GreencodeRun, channel: str) -> None:
        self.run = run
        self.channel, self.spawn = serving_channels(channel)
        self.failed: dict[str, None] = {}
        self.refused: str | None = None
        self.draw = random.Random(os.urandom(16))
        #: the spawner's process id, in the process itself once it forked it
        self.spawner: int | None = None
        #: why this process forks no generations (see :func:`unforkable`), once its test loop began
        self.unforkable: str | None = None
        #: when pass 0 began (the system's monotonic clock, which greencode ab reads too): start and
        #: collection took until then
        self.loop_started: float | None = None

    @property
    def serving(self) -> bool:
        return self.refused is None

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if xdist.is_controller(session.config):
            self.refused = "pytest distributes the tests to xdist workers (-n in its arguments or addopts)"
            self._send(self.channel, {"refused": self.refused})

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        # collection went well: the spawner is forked before any test runs (pass 0 is the yield)
        self.loop_started = time.monotonic()
        self.unforkable = unforkable()
        if self.serving and session.items and not session.testsfailed and self.unforkable is None:
            self._fork_spawner(session)
        else:  # nothing to fork: greencode ab asking for a generation reads the end of the pipe
            self.spawn.close()
        return (yield)

    def _fork_spawner(self, session: pytest.Session) -> None:
        for stream in (sys.stdout, sys.stderr):  # what is buffered is written once, not by both processes
            stream.flush()
        pid = os.fork()
        if pid:
            self.spawner = pid
            self.spawn.close()
            return
        code = 0
        try:
            self.channel.close()
            self._spawn_generations(session)
        except BaseException:
            traceback.print_exc()  # into the side's log, which greencode ab quotes when a side fails
            code = 1
        finally:
            os._exit(code)  # a copy of the session: none of pytest's end, no atexit handlers

    def _spawn_generations(self, session: pytest.Session) -> None:
        while (message := read_message(self.spawn.commands)) is not None:
            pid = os.fork()
            if not pid:
                code = 0
                try:
                    self._generation(session, int(message.get("generation", 0)), message.get("warm") or [])
                except BaseException:
                    traceback.print_exc()
                    code = 1
                finally:
                    os._exit(code)
            os.waitpid(pid, 0)

    def _generation(self, session: pytest.Session, index: int, warm: list[object]) -> None:
        """One generation: padding for its life, a quiet warm-up pass of ``warm``, then passes on the
        spawn pipes until it is retired."""
        self.draw = random.Random(os.urandom(16))  # a fork's generator would repeat its parent's draws
        padding = layout_padding(self.draw)
        warmed = self._later_pass(session, -1, [str(node) for node in warm])
        reply = {"generation": index, "dropped": warmed["dropped"], "warnings": warmed["warnings"]}
        if not self._send(self.spawn, reply):
            return
        while (message := read_message(self.spawn.commands)) is not None:
            if message.get("retire"):
                self._send(self.spawn, {"retired": index})
                break
            only = [str(node) for node in message.get("only") or []]
            if not self._send(self.spawn, self._later_pass(session, int(message.get("pass", 0)), only)):
                break
        del padding

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # only pass 0 logs reports: what pytest's short summary would list as FAILED or ERROR
        if report.failed:
            self.failed[report.nodeid] = None

    def serve(self, session: pytest.Session) -> None:
        """Reply with pass 0, then run each pass asked for until ``greencode ab`` closes the pipe."""
        try:
            if not self._send(self.channel, self._first_pass(session)):
                return
            while (message := read_message(self.channel.commands)) is not None:
                only = [str(node) for node in message.get("only") or []]
                if not self._send(self.channel, self._later_pass(session, int(message.get("pass", 0)), only)):
                    return
        finally:
            if self.spawner is not None:  # it ends when greencode ab closes its pipe, before ours
                os.waitpid(self.spawner, 0)
                self.spawner = None

    @staticmethod
    def _send(channel: Channel, message: dict[str, Any]) -> bool:
        try:
            write_message(channel.replies, message)
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
            "collected_at": self.loop_started,
            "records": [record.to_dict() for record in run.records.values()],
            "failed": list(self.failed),
            "budgets": [budget.to_dict() for budget in run.marker_budgets.values()],
            "machine": fingerprint.describe(),
            "meter_noise": run.gate_settings.meter_noise,
            "warnings": list(run.warnings),
            "unforkable": self.unforkable,
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
                ready_to_rerun(item)
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
