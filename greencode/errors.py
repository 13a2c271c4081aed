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
