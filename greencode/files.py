"""Safe file reads and writes: stored data is replaced atomically, and only ever where it is a regular file of
ours; inputs are read only from regular files, within a size limit, so that no input can hang greencode.

Reading: :func:`read_text` (a configuration file, a results file); JSON documents are read on top of it by
:mod:`greencode.documents`.

Writing, two entry points:

- :func:`atomic_write_bytes` / :func:`atomic_write_text` for stored data (baselines, results). A temporary
  file in the same directory is written, flushed to disk and renamed over the target, so a reader sees the old
  file or the new one, never half of one, even when the writer crashes. A symlink is followed (the link stays,
  its target is replaced); a target that is not a regular file (a device, a FIFO, a directory) is refused.
- :func:`write_output` for a file the user names on the command line (``--json``, ``--output``): ``-`` is
  standard output; ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` and ``/proc/self/fd/N`` are written to
  that descriptor; character devices, FIFOs and sockets are written through, never replaced; regular files
  and new paths are written atomically, following symlinks.

Neither creates a missing directory outside the project (the current directory): that is almost always a
typo, so the error names the directory instead.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

from greencode.errors import StoreError

#: ``-`` as an output path means standard output, for every command.
STDOUT = "-"
#: A temporary file older than this, left beside a target by a killed writer, is removed by the next write.
ORPHAN_AFTER_S = 3600.0
_OWN_DESCRIPTORS = {"/dev/stdout": 1, "/dev/stderr": 2}
#: Inputs larger than this are refused: no results file, baseline or configuration comes near it.
MAX_INPUT_BYTES = 256 * 1024 * 1024
_SQLITE_MAGIC = b"SQLite format 3\x00"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class NotText(StoreError):
    """The input is binary (or UTF-16) rather than UTF-8 text; the message says what it looks like."""


def read_bytes(path: Path, what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file at ``path``; :class:`StoreError` naming the file otherwise.

    A device, FIFO or socket is refused before it is read (``/dev/zero`` would never end, a FIFO could block
    forever), and so is a file over ``limit`` bytes. :class:`FileNotFoundError` passes through, for callers
    to whom a missing file means something."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused right after
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise StoreError(f"{path}: is a directory, not a {what}") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise StoreError(f"{path}: is a directory, not a {what}")
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"{path}: not a regular file (a device, pipe or socket), so not a {what}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    finally:
        os.close(descriptor)
    if size > limit:
        raise StoreError(f"{path}: larger than {limit // (1024 * 1024)} MiB, too large for a {what}")
    return b"".join(chunks)


def read_text(path: Path, what: str, limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of the regular file at ``path`` (a UTF-8 byte-order mark is dropped)."""
    data = read_bytes(path, what, limit)
    if data.startswith(_UTF16_BOMS):
        raise NotText(f"{path}: the {what} is UTF-16 text; save it as UTF-8")
    if data.startswith(_SQLITE_MAGIC):
        raise NotText(f"{path}: an SQLite database, not a {what}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotText(f"{path}: not UTF-8 text (byte {exc.start}), so not a {what}") from None


def atomic_write_bytes(path: Path, data: bytes, root: Path | None = None) -> None:
    """Replace the regular file at ``path`` (or the file a symlink there points to) with ``data``, atomically.

    ``root`` is the project directory inside which missing parent directories are created (default: the
    current directory)."""
    target = _regular_target(Path(path))
    ensure_parent(target, root)
    _remove_orphans(target)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot write here ({exc.strerror or exc}); check the directory is writable, "
            "or choose another path."
        ) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # keep the permissions a user gave the file they are replacing
            os.chmod(temporary, target.stat().st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StoreError(
                f"{path}: write failed ({exc.strerror or exc}); the previous file is unchanged."
            ) from None
        raise


def atomic_write_text(path: Path, text: str, root: Path | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), root)


OutputKind = Literal["descriptor", "through", "file"]


def write_output(path: str | Path, text: str | bytes, root: Path | None = None) -> None:
    """Write ``text`` to the output the user named (see the module docstring for what each kind gets)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    name = os.fspath(path)
    kind = _output_kind(name)
    if kind == "descriptor":
        _write_descriptor(_own_descriptor(name) or 0, data, name)
    elif kind == "through":
        try:
            with open(name, "wb") as handle:  # a device or pipe: written through, never replaced
                handle.write(data)
        except OSError as exc:
            raise StoreError(f"{name}: write failed ({exc.strerror or exc})") from None
    else:
        atomic_write_bytes(Path(name), data, root)


def check_output(path: str | Path, root: Path | None = None) -> None:
    """Fail now, before a long run, when :func:`write_output` could not write to ``path`` later."""
    name = os.fspath(path)
    if _output_kind(name) != "file":
        return  # standard output, a device or a pipe: only writing can tell
    target = _regular_target(Path(name))
    ensure_parent(target, root)
    try:
        with tempfile.TemporaryFile(dir=target.parent):
            pass
    except OSError as exc:
        raise StoreError(f"{name}: cannot write there ({exc.strerror or exc}); choose another path") from None


def _output_kind(name: str) -> OutputKind:
    """How :func:`write_output` writes to ``name``: to one of our descriptors, through a device or pipe, or
    as a file (atomically)."""
    if "\0" in name:
        raise StoreError(f"{name!r}: a path cannot contain a NUL character")
    if _own_descriptor(name) is not None:
        return "descriptor"
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        return "file"
    except OSError as exc:
        raise StoreError(f"{name}: cannot write there ({exc.strerror or exc}); choose another path") from None
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "through"
    return "file"


def is_stdout(path: str | Path | None) -> bool:
    """Whether an output path means standard output (``-`` or ``/dev/stdout``)."""
    return path is not None and _own_descriptor(os.fspath(path)) == 1


def _own_descriptor(name: str) -> int | None:
    """The descriptor of this process that ``name`` names, if any (``-``, ``/dev/stdout``, ``/dev/fd/3``)."""
    if name == STDOUT:
        return 1
    if name in _OWN_DESCRIPTORS:
        return _OWN_DESCRIPTORS[name]
    for directory in ("/dev/fd/", "/proc/self/fd/", f"/proc/{os.getpid()}/fd/"):
        if name.startswith(directory) and name[len(directory) :].isdigit():
            return int(name[len(directory) :])
    return None


def _write_descriptor(descriptor: int, data: bytes, name: str) -> None:
    # through Python's own streams when they are ours, so text already buffered there stays in order
    stream = {1: sys.stdout, 2: sys.stderr}.get(descriptor)
    try:
        if stream is not None:
            stream.flush()
            buffer = getattr(stream, "buffer", None)
            if buffer is not None:
                buffer.write(data)
                buffer.flush()
            else:
                stream.write(data.decode("utf-8", errors="replace"))
                stream.flush()
            return
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise StoreError(f"{name}: write failed ({exc.strerror or exc})") from None


def _regular_target(path: Path) -> Path:
    """Where an atomic write of ``path`` lands: ``path`` itself, or the end of its symlink chain; raises
    :class:`StoreError` when that exists and is not a regular file."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise StoreError(f"{path}: cannot write there ({exc.strerror or exc}); choose another path") from None
    if stat.S_ISDIR(mode):
        raise StoreError(f"{path}: is a directory; name a file")
    if not stat.S_ISREG(mode):
        raise StoreError(
            f"{path}: not a regular file (a device, pipe or socket); greencode replaces only regular files "
            "here, choose another path"
        )
    return target


def ensure_parent(target: Path, root: Path | None) -> None:
    """Create ``target``'s missing parent directories when they lie inside the project, else refuse."""
    parent = target.parent
    if parent.is_dir():
        return
    if parent.exists():
        raise StoreError(f"{target}: {parent} is not a directory; choose another path")
    project = Path(os.path.realpath(root if root is not None else Path.cwd()))
    absolute = Path(os.path.realpath(parent))
    if absolute != project and project not in absolute.parents:
        raise StoreError(
            f"{target}: the directory {parent} does not exist and is outside the project ({project}); "
            "create it first or choose another path"
        )
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{target}: cannot create the directory {parent} ({exc.strerror or exc})") from None


def _remove_orphans(target: Path) -> None:
    """Remove temporary files a killed writer left beside ``target`` (old enough that no writer owns them)."""
    cutoff = time.time() - ORPHAN_AFTER_S
    prefix = f".{target.name}."
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        candidate = target.parent / name
        try:
            info = candidate.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                candidate.unlink()
        except OSError:
            pass  # another writer's cleanup got there first, or the directory is read-only: harmless
