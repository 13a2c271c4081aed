"""Safe file writes: every stored file (baseline, results, reports) is replaced atomically.

A temporary file in the same directory is written, flushed to disk and renamed over the target, so a reader
sees the old file or the new one, never half of one, even when the writer crashes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from greencode.errors import StoreError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot write here ({exc.strerror or exc}); check the directory exists "
            "and is writable, or choose another path."
        ) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            # keep the permissions a user gave the file they are replacing
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StoreError(
                f"{path}: write failed ({exc.strerror or exc}); the previous file is unchanged."
            ) from None
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
