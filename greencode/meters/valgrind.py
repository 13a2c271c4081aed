"""Valgrind client requests from pure Python, and the command line that runs Python under callgrind.

A client request is a fixed, otherwise harmless instruction sequence that Valgrind's JIT recognises: on a
real CPU it does nothing and leaves a default value in the result register; under Valgrind the tool answers
it. ``valgrind.h`` emits it with inline assembly; here the same machine code is written into an anonymous
page, the page is made executable (written first, then switched to read+execute, so that systems that forbid
writable-and-executable memory still allow it) and called through :mod:`ctypes`. No compiler is needed.

The stub is ``uint64 request(uint64 *args, uint64 default)``; ``args`` points to six machine words: the
request code and five arguments. Request codes come from Valgrind's public headers (``valgrind.h``,
``callgrind.h``).
"""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path

from greencode.errors import MeterUnavailable

__all__ = [
    "CALLGRIND_OUT_ENV",
    "INSTALL_HINT",
    "ClientRequests",
    "Request",
    "callgrind_command",
    "client_requests",
    "find_valgrind",
    "running_on_valgrind",
]

#: valgrind.h: VG_USERREQ__RUNNING_ON_VALGRIND; the answer is the nesting depth, 0 on a real CPU.
RUNNING_ON_VALGRIND = 0x1001
#: callgrind.h: the tool base ('C' << 24 | 'T' << 16) and the requests greencode makes, numbered as in the
#: header (its first, an unlabelled dump, is not one of them).
_CALLGRIND_BASE = (ord("C") << 24) | (ord("T") << 16)
ZERO_STATS = _CALLGRIND_BASE + 1
TOGGLE_COLLECT = _CALLGRIND_BASE + 2
DUMP_STATS_AT = _CALLGRIND_BASE + 3

#: Set by :func:`callgrind_command` for the process it starts: the dump file pattern (``%p`` = pid) that
#: callgrind was given, so the meter knows where its dumps go.
CALLGRIND_OUT_ENV = "GREENCODE_CALLGRIND_OUT"

INSTALL_HINT = (
    "Valgrind is not installed: apt-get install valgrind (Debian/Ubuntu), dnf install valgrind (Fedora), "
    "brew install valgrind (Linux Homebrew)"
)

# x86-64, System V ABI (args in rdi, default in rsi). valgrind.h's sequence: rax = &args, rdx = default,
# four rotations of rdi that add up to 128 bits (so rdi is unchanged), then the marker xchg rbx,rbx; the
# answer comes back in rdx.
_X86_64 = bytes.fromhex(
    "4889f8"  # mov rax, rdi
    "4889f2"  # mov rdx, rsi
    "48c1c703"  # rol rdi, 3
    "48c1c70d"  # rol rdi, 13
    "48c1c73d"  # rol rdi, 61
    "48c1c733"  # rol rdi, 51
    "4887db"  # xchg rbx, rbx
    "4889d0"  # mov rax, rdx
    "c3"  # ret
)


def _words(*words: int) -> bytes:
    return b"".join(word.to_bytes(4, "little") for word in words)


# aarch64, AAPCS64 (args in x0, default in x1). valgrind.h's sequence: x4 = &args, x3 = default, four
# rotations of x12 (3, 13, 51, 61 bits), then the marker orr x10, x10, x10; the answer comes back in x3.
_AARCH64 = _words(
    0xAA0103E3,  # mov x3, x1
    0xAA0003E4,  # mov x4, x0
    0x93CC0D8C,  # ror x12, x12, #3
    0x93CC358C,  # ror x12, x12, #13
    0x93CCCD8C,  # ror x12, x12, #51
    0x93CCF58C,  # ror x12, x12, #61
    0xAA0A014A,  # orr x10, x10, x10
    0xAA0303E0,  # mov x0, x3
    0xD65F03C0,  # ret
)

STUBS: Mapping[str, bytes] = {"x86_64": _X86_64, "amd64": _X86_64, "aarch64": _AARCH64, "arm64": _AARCH64}

Request = Callable[..., int]

_PROT_READ, _PROT_WRITE, _PROT_EXEC = 1, 2, 4
_PAGE = 4096


class ClientRequests:
    """Issues Valgrind client requests through a stub in an executable page of this process."""

    def __init__(self, machine: str | None = None) -> None:
        arch = (machine or platform.machine()).lower()
        code = STUBS.get(arch)
        if code is None:
            raise MeterUnavailable(
                f"Valgrind client requests are not implemented for the {arch!r} architecture "
                f"(known: x86_64, aarch64)"
            )
        if sys.platform == "win32" or not hasattr(ctypes, "CFUNCTYPE"):
            raise MeterUnavailable("Valgrind client requests need a POSIX system (Valgrind runs on Linux)")
        self.machine = arch
        self._address = _executable_page(code)
        prototype = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64), ctypes.c_uint64)
        self._stub = prototype(self._address)
        self._args = (ctypes.c_uint64 * 6)()
        # labels must stay alive until Valgrind has read them; the last one is enough (requests are serial)
        self._label: ctypes.Array[ctypes.c_char] | None = None

    def __call__(self, code: int, arg1: int = 0, default: int = 0) -> int:
        args = self._args
        args[0] = code
        args[1] = arg1
        return int(self._stub(args, default))

    def labelled(self, code: int, label: str) -> int:
        """A request whose first argument is a C string (``DUMP_STATS_AT``)."""
        self._label = ctypes.create_string_buffer(label.encode("utf-8", "replace"))
        return self(code, ctypes.addressof(self._label))

    def running_on_valgrind(self) -> int:
        """Valgrind's nesting depth: 0 on a real CPU, 1 under Valgrind."""
        return self(RUNNING_ON_VALGRIND)


def _executable_page(code: bytes) -> int:
    """Copy ``code`` into a fresh anonymous page and make it read+execute; returns its address."""
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        mmap_, mprotect = libc.mmap, libc.mprotect
    except AttributeError:
        raise MeterUnavailable("this C library has no mmap/mprotect, so no executable page") from None
    mmap_.restype = ctypes.c_void_p
    mmap_.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    mprotect.restype = ctypes.c_int
    mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    anonymous = 0x20 if sys.platform.startswith("linux") else 0x1000  # MAP_ANONYMOUS: Linux vs BSD/macOS
    address = mmap_(None, _PAGE, _PROT_READ | _PROT_WRITE, 0x02 | anonymous, -1, 0)  # MAP_PRIVATE
    if address in (None, ctypes.c_void_p(-1).value):
        raise MeterUnavailable(f"cannot map a page for Valgrind client requests: {_errno()}")
    ctypes.memmove(address, code, len(code))
    if mprotect(address, _PAGE, _PROT_READ | _PROT_EXEC) != 0:
        raise MeterUnavailable(
            f"cannot make a page executable for Valgrind client requests (mprotect: {_errno()}); the "
            "system forbids executable memory (SELinux deny_execmem, a hardened kernel or sandbox)"
        )
    flush = getattr(libc, "__clear_cache", None)  # aarch64 wants its instruction cache told; x86 does not
    if flush is not None:
        flush.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        flush(address, address + len(code))
    return int(address)


def _errno() -> str:
    number = ctypes.get_errno()
    return f"{os.strerror(number)} (errno {number})"


@cache
def client_requests() -> ClientRequests:
    """The process's one stub (made on first use; raises :class:`MeterUnavailable` with the reason)."""
    return ClientRequests()


def running_on_valgrind() -> bool:
    """Whether this process runs under Valgrind (False where client requests cannot be issued)."""
    try:
        return client_requests().running_on_valgrind() > 0
    except MeterUnavailable:
        return False


def valgrind_tool(maps: str | None = None) -> str | None:
    """The Valgrind tool this process runs under, where it can be told; ``None`` for "callgrind or unknown".

    Tools with their own preload library (memcheck, helgrind, drd, massif, dhat) show it in the process's
    memory map; callgrind has none.
    """
    if maps is None:
        try:
            maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    for tool in ("memcheck", "helgrind", "drd", "massif", "dhat", "exp-bbv", "lackey"):
        if f"vgpreload_{tool}" in maps:
            return tool
    return None


def find_valgrind(environ: Mapping[str, str] | None = None) -> str:
    """The ``valgrind`` executable on PATH, or :class:`MeterUnavailable` with the install line."""
    path = shutil.which("valgrind", path=(environ or os.environ).get("PATH"))
    if path is None:
        raise MeterUnavailable(INSTALL_HINT)
    return path


#: Callers kept per trampoline: on CPython 3.12 a Python function's caller's trampoline is its 6th caller
#: (after py_trampoline_evaluator, _PyEval_Vector, _PyFunction_Vectorcall, PyObject_Vectorcall and
#: _PyEval_EvalFrameDefault), about the 10th for a call from C code such as ``sorted(key=...)``.
TRAMPOLINE_CALLERS = 10


def callgrind_command(
    argv: Sequence[str],
    out_pattern: Path,
    *,
    cache_sim: bool = False,
    collect_at_start: bool = False,
    trace_children: bool = False,
    valgrind: str | None = None,
) -> list[str]:
    """The command that runs ``argv`` under callgrind.

    By default collection is off until a window opens (the meter's client requests switch it on), and child
    processes run natively. ``argv[0]`` should then be a real executable: under a shell shim (pyenv's
    ``python3``) callgrind would run the shell and the Python behind it would run natively, uncounted.
    ``collect_at_start`` with ``trace_children`` counts a whole command and everything it starts.
    """
    return [
        valgrind or find_valgrind(),
        "--tool=callgrind",
        f"--collect-atstart={'yes' if collect_at_start else 'no'}",
        f"--callgrind-out-file={out_pattern}",
        f"--cache-sim={'yes' if cache_sim else 'no'}",
        f"--trace-children={'yes' if trace_children else 'no'}",
        # CPython's perf trampolines have no symbol (callgrind names them 0x…): separating them by their
        # callers tells which Python function called which (callgrind.python_functions)
        f"--separate-callers{TRAMPOLINE_CALLERS}=0x*",
        "--quiet",
        *argv,
    ]
