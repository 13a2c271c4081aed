"""Exercise 7: writing a file line by line, or all at once.

``os.write`` is a system call: each one crosses from Python into the operating system's kernel and back.
Writing 5,000 lines one call at a time pays that crossing 5,000 times; joining them first pays it once.
(Python's own ``open(...).write`` already collects small writes in a buffer: this exercise shows why.)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

LINES = [f"reading {n}: {n * 0.25:.2f} degrees\n".encode() for n in range(5_000)]

_SCRATCH = tempfile.TemporaryDirectory(prefix="greencode-classroom-")  # removed when Python exits
TARGET = Path(_SCRATCH.name) / "readings.txt"


def _open(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def write_line_by_line(lines: list[bytes] = LINES, path: Path = TARGET) -> int:
    """Wasteful: one system call per line. Returns the number of bytes written."""
    descriptor = _open(path)
    try:
        return sum(os.write(descriptor, line) for line in lines)
    finally:
        os.close(descriptor)


def write_in_one_go(lines: list[bytes] = LINES, path: Path = TARGET) -> int:
    """Green: join the lines in memory, then one system call. Returns the number of bytes written."""
    descriptor = _open(path)
    try:
        return os.write(descriptor, b"".join(lines))
    finally:
        os.close(descriptor)
