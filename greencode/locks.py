"""A cross-process lock on a file, for writers of shared stored data and for serialising measurements.

On POSIX the lock is ``fcntl.flock`` on a lock file next to the data: the kernel releases it when the holder
exits, even after a crash, so a lock can never go stale. Where ``fcntl`` does not exist (Windows) the
fallback creates the lock file exclusively and removes it on release; a lock file older than
:data:`STALE_AFTER_S` is taken to be left behind by a crashed process and is broken.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from greencode.errors import ConfigError, StoreError

#: Only the fallback needs this: how old an exclusive lock file must be before it is considered abandoned.
STALE_AFTER_S = 600.0
_POLL_S = 0.02
#: How long a writer of stored data waits for another one's lock before giving up (GREENCODE_LOCK_TIMEOUT).
DEFAULT_TIMEOUT_S = 120.0
TIMEOUT_VARIABLE = "GREENCODE_LOCK_TIMEOUT"


def store_lock_timeout(environ: dict[str, str] | None = None) -> float:
    """Seconds to wait for a stored file's lock: ``GREENCODE_LOCK_TIMEOUT`` or :data:`DEFAULT_TIMEOUT_S`."""
    raw = (os.environ if environ is None else environ).get(TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86_400:
        raise ConfigError(f"{TIMEOUT_VARIABLE}={raw!r}: expected seconds between 0 and 86400, such as 120")
    return value


def announce_wait(lock_file: Path, timeout_s: float | None) -> None:
    """The default message when a lock is held by someone else: waiting silently looks like a hang."""
    limit = "" if timeout_s is None else f"; giving up after {timeout_s:g} s ({TIMEOUT_VARIABLE})"
    print(f"greencode: waiting for {lock_file}, held by another process{limit}", file=sys.stderr, flush=True)


def lock_path_for(path: Path) -> Path:
    """The lock file guarding ``path``: ``baseline.json`` → ``.baseline.json.lock`` in the same directory."""
    return path.with_name(f".{path.name}.lock")


@contextmanager
def file_lock(
    lock_file: Path,
    timeout_s: float | None = None,
    on_wait: Callable[[Path, float | None], None] | None = None,
) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (created if missing) for the ``with`` block.

    Waits for other holders, calling ``on_wait`` once if it has to; with ``timeout_s`` raises
    :class:`StoreError` after that long. A symlink planted at ``lock_file`` is refused, not followed.
    """
    lock_file = Path(lock_file)
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{lock_file}: cannot create the lock's directory ({exc.strerror or exc})") from None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        with _exclusive_file_lock(lock_file, timeout_s):
            yield
        return
    try:
        descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(
                f"{lock_file}: the lock file is a symbolic link, which greencode does not follow; remove it"
            ) from None
        raise StoreError(f"{lock_file}: cannot open the lock file ({exc.strerror or exc})") from None
    try:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(lock_file, timeout_s)
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | (fcntl.LOCK_NB if deadline is not None else 0))
                    break
                except BlockingIOError:
                    _wait_or_give_up(lock_file, deadline, timeout_s)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@contextmanager
def _exclusive_file_lock(lock_file: Path, timeout_s: float | None) -> Iterator[None]:  # pragma: no cover
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        try:
            descriptor = os.open(lock_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.close(descriptor)
            break
        except FileExistsError:
            try:
                if time.time() - lock_file.stat().st_mtime > STALE_AFTER_S:
                    lock_file.unlink(missing_ok=True)
                    continue
            except OSError:
                pass
            _wait_or_give_up(lock_file, deadline, timeout_s)
    try:
        yield
    finally:
        lock_file.unlink(missing_ok=True)


def _wait_or_give_up(lock_file: Path, deadline: float | None, timeout_s: float | None) -> None:
    """Sleep before the next try, or raise once ``deadline`` has passed."""
    if deadline is not None and time.monotonic() > deadline:
        raise StoreError(
            f"{lock_file}: still locked by another process after {timeout_s:g} s; wait for it to finish, or "
            f"raise {TIMEOUT_VARIABLE}"
        ) from None
    time.sleep(_POLL_S)
