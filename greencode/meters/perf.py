"""Hardware instruction counters through Linux's ``perf_event_open``, from :mod:`ctypes` (no compiled code).

The counters are opened once, in the thread that creates the meter, for user space only
(``exclude_kernel``, ``exclude_hv``) and with ``inherit`` set: they count that thread and every thread and
child process it starts afterwards, and reading one gives the sum. They run all the time; a window is the
difference of two reads, so windows nest and overlap freely. When the kernel has to time-share more
counters than the PMU has (multiplexing), ``time_running < time_enabled`` and the count is scaled: the
window then says its counts are no longer exact.

The system calls go through a small :class:`Syscalls` layer so that tests can run the real reading code
against a fake kernel (this project's machines have no PMU).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from greencode.errors import CounterError, MeterUnavailable

__all__ = ["EVENTS", "PerfCounters", "Syscalls", "attr_bytes", "open_counters"]

_NR_PERF_EVENT_OPEN = {"x86_64": 298, "amd64": 298, "aarch64": 241, "arm64": 241, "i686": 336, "i386": 336}

# linux/perf_event.h
PERF_TYPE_HARDWARE = 0
PERF_TYPE_HW_CACHE = 3
PERF_COUNT_HW_INSTRUCTIONS = 1
PERF_COUNT_HW_CACHE_MISSES = 3  # "usually last-level cache misses"
_L1D, _OP_READ, _RESULT_MISS = 0, 0, 1
_FORMAT_TOTAL_TIME_ENABLED, _FORMAT_TOTAL_TIME_RUNNING = 1, 2
_FLAG_INHERIT, _FLAG_EXCLUDE_KERNEL, _FLAG_EXCLUDE_HV = 1 << 1, 1 << 5, 1 << 6
PERF_FLAG_FD_CLOEXEC = 8
_ATTR = struct.Struct("<IIQQQQQIIQ")  # PERF_ATTR_SIZE_VER0: 64 bytes, every field this meter needs
_VALUE = struct.Struct("<QQQ")  # value, time_enabled, time_running

#: count name -> (type, config); ``instructions`` is required, the others are used where the PMU has them.
EVENTS: Mapping[str, tuple[int, int]] = {
    "instructions": (PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS),
    "d1_misses": (PERF_TYPE_HW_CACHE, _L1D | (_OP_READ << 8) | (_RESULT_MISS << 16)),
    "ll_misses": (PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES),
}


def attr_bytes(event_type: int, config: int) -> bytes:
    """A ``perf_event_attr`` for one user-space counter of this thread and its descendants."""
    flags = _FLAG_INHERIT | _FLAG_EXCLUDE_KERNEL | _FLAG_EXCLUDE_HV
    read_format = _FORMAT_TOTAL_TIME_ENABLED | _FORMAT_TOTAL_TIME_RUNNING
    return _ATTR.pack(event_type, _ATTR.size, config, 0, 0, read_format, flags, 0, 0, 0)


class Syscalls(Protocol):
    """The three system calls the perf backend uses; each raises :class:`OSError` with ``errno`` set."""

    def perf_event_open(self, attr: bytes, pid: int, cpu: int, group_fd: int, flags: int) -> int: ...

    def read(self, fd: int, size: int) -> bytes: ...

    def close(self, fd: int) -> None: ...


class LinuxSyscalls:
    """The real system calls: ``syscall(__NR_perf_event_open, …)`` through libc, ``os.read``, ``os.close``."""

    def __init__(self, machine: str | None = None) -> None:
        arch = (machine or platform.machine()).lower()
        number = _NR_PERF_EVENT_OPEN.get(arch)
        if number is None or not hasattr(os, "sched_getaffinity"):  # a Linux-only call marks Linux
            raise MeterUnavailable(f"perf_event_open is Linux-only and not known for {arch!r} here")
        self._number = number
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.syscall.restype = ctypes.c_long

    def perf_event_open(self, attr: bytes, pid: int, cpu: int, group_fd: int, flags: int) -> int:
        buffer = ctypes.create_string_buffer(attr, len(attr))
        fd = self._libc.syscall(
            ctypes.c_long(self._number),
            buffer,
            ctypes.c_int(pid),
            ctypes.c_int(cpu),
            ctypes.c_int(group_fd),
            ctypes.c_ulong(flags),
        )
        if fd < 0:
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number))
        return int(fd)

    def read(self, fd: int, size: int) -> bytes:
        return os.read(fd, size)

    def close(self, fd: int) -> None:
        os.close(fd)


def _paranoid(root: Path) -> str:
    try:
        return (root / "proc/sys/kernel/perf_event_paranoid").read_text().strip()
    except OSError:
        return "unknown"


def _refusal(exc: OSError, root: Path) -> str:
    code = exc.errno
    if code in (errno.ENOENT, errno.ENODEV, errno.EOPNOTSUPP, errno.EINVAL):
        return (
            f"no hardware instruction counter here (perf_event_open: {exc.strerror}); virtual machines "
            "without a virtual PMU have none"
        )
    if code in (errno.EACCES, errno.EPERM):
        return (
            f"perf_event_open was refused ({exc.strerror}): kernel.perf_event_paranoid is "
            f"{_paranoid(root)}; user-space counting needs 2 or lower "
            "(sudo sysctl kernel.perf_event_paranoid=2) or CAP_PERFMON"
        )
    if code == errno.ENOSYS:
        return "perf_event_open is not available (blocked by a seccomp profile or not in this kernel)"
    return f"perf_event_open failed: {exc.strerror} (errno {code})"


@dataclass(frozen=True)
class PerfSample:
    counts: Mapping[str, int]
    #: counts that the kernel scaled because the PMU was time-shared
    multiplexed: tuple[str, ...] = ()


class PerfCounters:
    """Open user-space counters; :meth:`read` gives each one's running (inherited, summed) value."""

    def __init__(self, fds: Mapping[str, int], syscalls: Syscalls) -> None:
        self._fds = dict(fds)
        self._syscalls = syscalls

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._fds)

    def read(self) -> PerfSample:
        counts: dict[str, int] = {}
        multiplexed = []
        for name, fd in self._fds.items():
            try:
                data = self._syscalls.read(fd, _VALUE.size)
            except OSError as exc:
                raise CounterError(f"perf counter {name!r} cannot be read: {exc.strerror}") from None
            if len(data) != _VALUE.size:
                raise CounterError(f"perf counter {name!r} gave {len(data)} bytes, expected {_VALUE.size}")
            value, enabled, running = _VALUE.unpack(data)
            if running < enabled:
                multiplexed.append(name)
                value = round(value * enabled / running) if running else 0
            counts[name] = value
        return PerfSample(counts, tuple(multiplexed))

    def close(self) -> None:
        fds, self._fds = self._fds, {}
        for fd in fds.values():
            with contextlib.suppress(OSError):  # best effort: the descriptor goes with the process anyway
                self._syscalls.close(fd)


def open_counters(syscalls: Syscalls | None = None, root: Path = Path("/")) -> PerfCounters:
    """Open the instruction counter (required) and the cache-miss counters the PMU has.

    Raises :class:`MeterUnavailable` saying why when there is no instruction counter.
    """
    calls = syscalls if syscalls is not None else LinuxSyscalls()
    fds: dict[str, int] = {}
    for name, (event_type, config) in EVENTS.items():
        try:
            fds[name] = calls.perf_event_open(attr_bytes(event_type, config), 0, -1, -1, PERF_FLAG_FD_CLOEXEC)
        except OSError as exc:
            if name == "instructions":
                raise MeterUnavailable(_refusal(exc, root)) from None
            # a missing cache counter only narrows the model: the instruction term still works
    return PerfCounters(fds, calls)
