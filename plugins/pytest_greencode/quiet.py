"""Extra rounds of a test's call that pytest never hears of.

Measuring a test more than once runs its call again inside the same test. pytest's outcome must stay what a
plain run reports, so while the extra rounds run, nothing they do reaches pytest: subtest reports (pytest's
built-in ``subtests`` fixture, the pytest-subtests plugin, unittest's ``self.subTest()``), warnings,
captured output and captured log records are kept away from it, and what the first round captured stays
exactly as it was.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import warnings
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest


class _SilentHooks:
    """Stands in for a subtests fixture's hook relay: reports are built as usual but never logged."""

    def __init__(self, hooks: Any) -> None:
        self._hooks = hooks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hooks, name)

    def pytest_runtest_logreport(self, **kwargs: Any) -> None:
        """An extra round's subtest is neither counted nor shown."""

    def pytest_exception_interact(self, **kwargs: Any) -> None:
        """No debugger for an extra round's subtest."""


class Quiet:
    """What :func:`quiet_rounds` yields: ``subtest_failed`` tells whether a subtest of an extra round, or a
    unittest test run again (it records its outcome instead of raising), failed or skipped."""

    subtest_failed = False


@functools.cache
def _failed_subtests_key() -> pytest.StashKey[Any] | None:
    # looked up once: it is asked after every measured test's call
    try:
        from _pytest.subtests import failed_subtests_key  # pytest >= 9
    except ImportError:
        return None
    return failed_subtests_key


def _subtest_failures(config: pytest.Config) -> MutableMapping[Any, int] | None:
    key = _failed_subtests_key()
    return None if key is None else config.stash.get(key, None)


def did_not_pass(item: pytest.Item) -> bool:
    """Whether the first round failed or skipped without raising: a failed subtest, or a unittest test
    whose failure or skip pytest keeps on the item (``_excinfo``) until its report. More rounds of it would
    tell nothing, and might change what pytest reports."""
    failures = _subtest_failures(item.config)
    # read from the instance: only unittest's items have it, and getattr's miss costs an AttributeError
    return bool(failures and failures.get(item.nodeid)) or bool(vars(item).get("_excinfo"))


def _silence_subtests(item: pytest.Item, stack: contextlib.ExitStack) -> None:
    fixture = getattr(item, "funcargs", {}).get("subtests")
    for name in ("_ihook", "ihook"):  # pytest's built-in fixture, then the pytest-subtests plugin's
        hooks = getattr(fixture, name, None)
        if hooks is not None and not isinstance(hooks, _SilentHooks):
            setattr(fixture, name, _SilentHooks(hooks))
            stack.callback(setattr, fixture, name, hooks)
            return


def _silence_unittest_subtests(session: pytest.Session, stack: contextlib.ExitStack) -> None:
    # unittest's self.subTest() reports through the item's hooks, which pytest looks up on the session each
    # time (Node.ihook): for the extra rounds, the session hands out the silent relay instead
    real = session.gethookproxy
    own = "gethookproxy" in vars(session)
    session.gethookproxy = lambda path: _SilentHooks(real(path))  # type: ignore[method-assign, assignment, return-value]
    if own:
        stack.callback(setattr, session, "gethookproxy", real)
    else:
        stack.callback(vars(session).pop, "gethookproxy", None)


def _keep_log_captures(stack: contextlib.ExitStack) -> None:
    from _pytest.logging import LogCaptureHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, LogCaptureHandler):
            records, stream = handler.records, handler.stream
            count, position = len(records), stream.tell()

            stack.callback(_truncate, records, stream, count, position)


def _truncate(records: list[logging.LogRecord], stream: io.StringIO, count: int, position: int) -> None:
    del records[count:]
    stream.seek(position)
    stream.truncate()


@contextlib.contextmanager
def quiet_rounds(item: pytest.Item) -> Iterator[Quiet]:
    """Run extra rounds of ``item``'s call inside this block: pytest sees nothing of them."""
    quiet = Quiet()
    capture = item.config.pluginmanager.getplugin("capturemanager")
    capturing = capture is not None and capture.is_globally_capturing()
    failures = _subtest_failures(item.config)
    failed_before = dict(failures) if failures is not None else None
    first_out = first_err = ""
    if capturing:
        # take what the first round printed now, so that the extra rounds' output can be dropped after them
        first_out, first_err = capture.read_global_capture()
    with contextlib.ExitStack() as stack:
        _silence_subtests(item, stack)
        _silence_unittest_subtests(item.session, stack)
        _keep_log_captures(stack)
        stack.enter_context(warnings.catch_warnings(record=True))  # the filters stay; the records are dropped
        if not capturing:  # -s: the extra rounds' output would reach the terminal
            stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
            stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
        # A unittest item's failures and skips: pytest makes the list on the first one, so a test whose first
        # round passed has none yet, and one made by an extra round must go again.
        own = "_excinfo" in vars(item)
        outcomes = getattr(item, "_excinfo", None)
        recorded = len(outcomes) if isinstance(outcomes, list) else 0
        try:
            yield quiet
        finally:
            after = getattr(item, "_excinfo", None)
            if isinstance(after, list) and len(after) > recorded:
                quiet.subtest_failed = True
                if own:
                    del after[recorded:]
                else:
                    del vars(item)["_excinfo"]
            if capturing:
                capture.read_global_capture()
            if failures is not None and failed_before is not None and failures != failed_before:
                quiet.subtest_failed = True
                failures.clear()
                failures.update(failed_before)
    if capturing:
        item.add_report_section("call", "stdout", first_out)
        item.add_report_section("call", "stderr", first_err)


class QuietPass:
    """What :func:`quiet_pass` yields: :meth:`subtests_failed` says whether a test's subtests failed."""

    def __init__(self, failures: MutableMapping[Any, int] | None) -> None:
        self._failures = failures
        self.before = dict(failures) if failures is not None else {}

    def subtests_failed(self, node_id: str) -> bool:
        return self._failures is not None and self._failures.get(node_id, 0) > self.before.get(node_id, 0)


@contextlib.contextmanager
def quiet_pass(session: pytest.Session) -> Iterator[QuietPass]:
    """Run whole tests again inside this block (``greencode ab``'s later passes, pytest's
    ``runtestprotocol`` with ``log=False``): their subtests report nothing, their warnings are dropped, and
    pytest's count of failed subtests is what it was before."""
    failures = _subtest_failures(session.config)
    quiet = QuietPass(failures)
    with contextlib.ExitStack() as stack:
        # a fixture made inside the block (the subtests fixture) takes the silent relay from the session
        _silence_unittest_subtests(session, stack)
        stack.enter_context(warnings.catch_warnings(record=True))
        try:
            yield quiet
        finally:
            if failures is not None and failures != quiet.before:
                failures.clear()
                failures.update(quiet.before)
