"""Every error greencode raises on purpose derives from :class:`GreencodeError`.

Each message is meant to be shown to a user as it is: it names the file or key at fault and says how to fix
it. The command line and the pytest plugin print ``str(error)`` and never a traceback for these.
"""

from __future__ import annotations


class GreencodeError(Exception):
    """Base class of greencode's own errors; the message is complete and actionable."""


class ConfigError(GreencodeError):
    """A configuration value (file, key or environment variable) is invalid."""


class MeterUnavailable(GreencodeError):
    """A meter cannot run on this machine; the message says why."""


class CounterError(GreencodeError):
    """An energy counter could not be read or gave a value that cannot be explained."""


class CounterPermissionError(CounterError, PermissionError):
    """An energy counter exists but this user may not read it."""


class StoreError(GreencodeError):
    """A stored file (baseline, history, results) is unreadable, malformed or of a foreign schema."""


class VcsError(GreencodeError):
    """git could not answer: not installed, not a repository, an unknown ref, or no answer in time."""


class GreencodeWarning(RuntimeWarning):
    """What greencode warns about while the measured code runs on (a meter that failed, an output that
    could not be written): filter it with ``-W ignore::greencode.errors.GreencodeWarning``."""


def warn(message: str) -> None:
    """A :class:`GreencodeWarning` shown at the first caller outside greencode: the user's line, however
    deep the wrappers in between (decorators, generators, the pyJoules layer)."""
    import sys
    import warnings

    frame = sys._getframe(1)
    level = 2  # warnings.warn's level of our caller
    while frame.f_back is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "greencode":
        frame = frame.f_back
        level += 1
    warnings.warn(message, GreencodeWarning, stacklevel=level)
