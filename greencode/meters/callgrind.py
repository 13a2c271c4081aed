"""Callgrind's dump files: the parser, and where a process's dumps are written.

A dump (``callgrind.out.<pid>.<n>``) holds the costs collected since the previous dump or zeroing: an
``events:`` line naming the counted events (``Ir``; with ``--cache-sim=yes`` also ``Dr Dw I1mr D1mr D1mw
ILmr DLmr DLmw``), a ``summary:`` and/or ``totals:`` line with their sums, and the cost of every function
that ran. Function and file names are compressed: ``fn=(12) name`` defines id 12, a later ``fn=(12)``
refers back to it. A cost line after ``calls=`` is the inclusive cost of that call, not the caller's own.

Python functions are not C functions: callgrind sees the interpreter. On CPython 3.12+ with the perf
trampoline on (``sys.activate_stack_trampoline("perf")``), every Python call passes through a small
generated function whose address the interpreter writes to ``/tmp/perf-<pid>.map``; callgrind shows those
as ``0x…`` names, and :func:`python_functions` turns their costs into ``file:function`` rows (each
function's own cost, its calls into other Python functions subtracted).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from greencode.errors import CounterError

_Key = TypeVar("_Key", str, tuple[str, ...])

__all__ = [
    "COUNT_EVENTS",
    "Dump",
    "PerfMaps",
    "counts_from_events",
    "dump_files",
    "function_costs",
    "is_python_function",
    "parse_dump",
    "parse_perf_map",
    "python_functions",
    "short_function_name",
]

#: The raw counts the meter reports, as sums of callgrind events. ``d1_misses`` are data-cache (D1) read
#: and write misses; ``ll_misses`` are last-level misses of instruction fetches and data, each a DRAM line.
COUNT_EVENTS: Mapping[str, tuple[str, ...]] = {
    "instructions": ("Ir",),
    "d1_misses": ("D1mr", "D1mw"),
    "ll_misses": ("ILmr", "DLmr", "DLmw"),
}


@dataclass(frozen=True)
class Dump:
    """One parsed dump: event names, their totals, and per-function costs (one int per event).

    ``self_costs`` is each function's own (exclusive) cost; ``call_costs`` sums the inclusive cost of every
    call *into* a function. Functions are keyed ``file:function`` (the object file's name where callgrind
    has no source file, ``???`` where it has neither).
    """

    events: tuple[str, ...]
    totals: tuple[int, ...]
    self_costs: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    call_costs: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    trigger: str = ""
    #: inclusive costs of calls into functions that callgrind separated by their callers
    #: (``--separate-callers``): keyed by the callee's name, then its callers' names, nearest first
    caller_chains: Mapping[tuple[str, ...], tuple[int, ...]] = field(default_factory=dict)

    def total(self, event: str) -> int:
        return self.totals[self.events.index(event)] if event in self.events else 0


def counts_from_events(events: tuple[str, ...], values: Iterable[int]) -> dict[str, int]:
    """The meter's named counts (:data:`COUNT_EVENTS`) from event values; counts whose events were not
    collected (no cache simulation) are left out rather than reported as 0."""
    by_event = dict(zip(events, values, strict=False))
    return {
        name: sum(by_event[event] for event in parts)
        for name, parts in COUNT_EVENTS.items()
        if all(event in by_event for event in parts)
    }


_DEFINITION = re.compile(r"\((\d+)\)(?: (.*))?$")
_NAME_KEYS = frozenset({"ob", "fl", "fi", "fe", "fn", "cob", "cfi", "cfl", "cfn"})


class _Names:
    """callgrind's name compression: one table per kind of name (objects, files, functions)."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, str]] = {"ob": {}, "fl": {}, "fn": {}}

    def resolve(self, kind: str, text: str, where: str) -> str:
        match = _DEFINITION.match(text)
        if match is None:
            return text  # uncompressed name
        number, name = match.groups()
        table = self.tables[kind]
        if name is not None:
            table[number] = name
            return name
        try:
            return table[number]
        except KeyError:
            raise CounterError(f"{where}: name ({number}) is used before it is defined") from None


def _chain(function: str) -> tuple[str, ...]:
    """A function name callgrind may have decorated: ``f'2`` is a deeper recursion level of ``f``, and with
    ``--separate-callers`` ``f'g'h`` is ``f`` called from ``g``, called from ``h``."""
    return tuple(part for part in function.split("'") if not part.isdigit())


def _function_key(file: str, obj: str, function: str) -> str:
    function = _chain(function)[0] if "'" in function else function  # one function, whatever its context
    if file and file != "???":
        return f"{file}:{function}"
    return f"{Path(obj).name or '???'}:{function}"


def _add(table: dict[_Key, list[int]], key: _Key, values: list[int]) -> None:
    current = table.get(key)
    if current is None:
        table[key] = values
    else:
        for index, value in enumerate(values):
            current[index] += value


def parse_dump(text: str, where: str = "callgrind dump") -> Dump:
    """Parse one dump; a file that is not callgrind's format raises :class:`CounterError` naming ``where``."""
    names = _Names()
    events: tuple[str, ...] = ()
    positions = 1
    totals: tuple[int, ...] | None = None
    trigger = ""
    self_costs: dict[str, list[int]] = {}
    call_costs: dict[str, list[int]] = {}
    chains: dict[tuple[str, ...], list[int]] = {}
    obj = file = function = ""
    call_obj = call_file = call_function = ""
    pending_call = False  # the next cost line is a call's inclusive cost
    skip_next = False  # the next line belongs to a jump=/jcnd= line
    seen_format = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line[0] == "#":
            seen_format = seen_format or line.startswith("# callgrind format")
            continue
        first = line[0]
        if first.isdigit() or first in "+-*":
            if skip_next:
                skip_next = False
                continue
            parts = line.split()
            try:
                values = [int(value) for value in parts[positions:]]
            except ValueError:
                raise CounterError(f"{where}:{number}: not a cost line: {line[:80]!r}") from None
            if len(values) > len(events):
                raise CounterError(f"{where}:{number}: more costs than events ({len(events)})")
            values.extend([0] * (len(events) - len(values)))
            if pending_call:
                pending_call = False
                _add(call_costs, _function_key(call_file, call_obj, call_function), values)
                if "'" in call_function:
                    chain = _chain(call_function)
                    _add(chains, chain, list(values))
            else:
                _add(self_costs, _function_key(file, obj, function), values)
            continue
        key, equals, value = line.partition("=")
        if equals and key in _NAME_KEYS:
            where_line = f"{where}:{number}"
            if key == "ob":
                obj = call_obj = names.resolve("ob", value, where_line)
            elif key in ("fl", "fi", "fe"):
                resolved = names.resolve("fl", value, where_line)
                if key == "fl":
                    file = call_file = resolved
            elif key == "fn":
                function = call_function = names.resolve("fn", value, where_line)
                call_obj, call_file = obj, file
            elif key == "cob":
                call_obj = names.resolve("ob", value, where_line)
            elif key in ("cfi", "cfl"):
                call_file = names.resolve("fl", value, where_line)
            else:  # cfn
                call_function = names.resolve("fn", value, where_line)
            continue
        if equals and key == "calls":
            pending_call = True
            continue
        if equals and key in ("jump", "jcnd"):
            skip_next = True
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise CounterError(f"{where}:{number}: not callgrind's format: {line[:80]!r}")
        value = value.strip()
        if key == "events":
            events = tuple(value.split())
        elif key == "positions":
            positions = len(value.split())
        elif key in ("summary", "totals"):
            try:
                totals = tuple(int(part) for part in value.split())
            except ValueError:
                raise CounterError(f"{where}:{number}: {key}: is not a list of numbers") from None
        elif key == "desc" and value.startswith("Trigger:"):
            trigger = value.removeprefix("Trigger:").strip()
        elif key in ("version", "creator", "cmd"):
            seen_format = True
    if not events:
        if not seen_format:
            raise CounterError(f"{where}: not a callgrind dump (no 'events:' line)")
        raise CounterError(f"{where}: callgrind dump without an 'events:' line")
    if totals is None:  # neither summary: nor totals: (a truncated file): the functions' sum is all we have
        totals = tuple(sum(costs[i] for costs in self_costs.values()) for i in range(len(events)))
    totals = totals + (0,) * (len(events) - len(totals))
    return Dump(
        events,
        totals[: len(events)],
        {key: tuple(costs) for key, costs in self_costs.items()},
        {key: tuple(costs) for key, costs in call_costs.items()},
        trigger,
        {chain: tuple(costs) for chain, costs in chains.items()},
    )


def read_summary(path: Path) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Only the events and totals of a dump (its header), without reading the function costs."""
    events: tuple[str, ...] = ()
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("events:"):
                    events = tuple(line[7:].split())
                elif line.startswith(("summary:", "totals:")) and events:
                    values = tuple(int(part) for part in line.partition(":")[2].split())
                    return events, values + (0,) * (len(events) - len(values))
    except (OSError, ValueError) as exc:
        raise CounterError(f"{path}: cannot read callgrind's summary ({exc})") from None
    return parse_dump(path.read_text(encoding="utf-8", errors="replace"), str(path)).events, ()


def dump_files(pattern: Path, pid: int) -> list[tuple[int, Path]]:
    """The numbered dumps ``<pattern>.<n>`` of process ``pid`` in order (``%p`` in the pattern: the pid)."""
    base = Path(str(pattern).replace("%p", str(pid)))
    found = []
    try:
        for path in base.parent.iterdir():
            prefix, dot, suffix = path.name.rpartition(".")
            if dot and prefix == base.name and suffix.isdigit():
                found.append((int(suffix), path))
    except OSError as exc:
        raise CounterError(f"{base.parent}: cannot list callgrind's dumps ({exc.strerror})") from None
    return sorted(found)


# ---------------------------------------------------------------------------------------------------------
# naming functions for people


def parse_perf_map(text: str) -> list[tuple[int, int, str]]:
    """``/tmp/perf-<pid>.map`` lines ``START SIZE NAME`` (hex, names may hold spaces), sorted by start
    address; lines that are not that shape (a partly written last line) are skipped."""
    entries = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[2]:
            try:
                entries.append((int(parts[0], 16), int(parts[1], 16), parts[2]))
            except ValueError:
                continue
    return sorted(entries)


def _python_name(perf_name: str, root: str | None) -> str:
    # CPython writes "py::qualname:filename"
    body = perf_name.removeprefix("py::")
    qualname, _, filename = body.partition(":")
    if root and filename.startswith(root):
        # relative to the project: the same function in two checkouts (greencode ab's sides) is one key
        filename = filename[len(root) :]
    return f"{filename}:{qualname}" if filename else qualname


class _Trampolines:
    """Which ``0x…`` names callgrind gave are CPython trampolines, and the Python function of each (its file
    relative to ``root`` where it lies under it)."""

    def __init__(self, perf_map: list[tuple[int, int, str]], root: Path | None = None) -> None:
        self._map = [entry for entry in perf_map if entry[2].startswith("py::")]
        self._starts = [start for start, _, _ in self._map]
        self._root = f"{str(root).rstrip('/')}/" if root is not None else None

    def name(self, function: str) -> str | None:
        """``file:qualname`` of a callgrind function name (``0x…``, its file part ignored), else None."""
        import bisect

        _, _, address_text = function.rpartition(":")
        if not address_text.startswith("0x"):
            return None
        try:
            address = int(address_text, 16)
        except ValueError:
            return None
        index = bisect.bisect_right(self._starts, address) - 1
        if index < 0:
            return None
        start, size, perf_name = self._map[index]
        return _python_name(perf_name, self._root) if address < start + size else None


def python_functions(
    dump: Dump, perf_map: list[tuple[int, int, str]], root: Path | None = None
) -> dict[str, tuple[int, ...]]:
    """Python-level exclusive costs of Python functions, named by the perf map (files under ``root``
    relative to it).

    A function's inclusive cost is the sum of the calls into its trampoline (``calls=`` lines). Its own
    cost is that minus the inclusive cost of the Python functions it called: the dump says who called a
    trampoline when callgrind separated trampolines by their callers (``--separate-callers``, which
    ``greencode valgrind`` passes): the caller is the nearest trampoline in the chain. A call whose chain
    is too short to reach one stays in its caller's own cost. C functions a Python function calls are its
    own cost. Recursion is counted once (the inner call is subtracted from the outer)."""
    trampolines = _Trampolines(perf_map, root)
    own: dict[str, list[int]] = {}
    for key, costs in dump.call_costs.items():
        name = trampolines.name(key)
        if name is not None:
            _add(own, name, list(costs))
    for chain, costs in dump.caller_chains.items():
        if trampolines.name(chain[0]) is None:
            continue
        caller = next((name for part in chain[1:] if (name := trampolines.name(part))), None)
        if caller is not None and caller in own:
            own[caller] = [total - cost for total, cost in zip(own[caller], costs, strict=False)]
    # a caller entered before collection began has no calls= line of its own: nothing is left to subtract
    return {name: tuple(max(0, value) for value in costs) for name, costs in own.items()}


def is_python_function(key: str) -> bool:
    """Whether a ``file:function`` key names a Python function (a ``.py`` file or a frozen module)."""
    file = key.rpartition(":")[0]
    return file.endswith((".py", ".pyw")) or file.startswith("<")


def function_costs(
    dump: Dump, perf_map: list[tuple[int, int, str]] | None, top: int, root: Path | None = None
) -> dict[str, int]:
    """Instructions per function of a dump, Python functions first: the ``top`` largest Python functions
    (own cost, where the perf trampoline named them), then the ``top`` largest C functions (exclusive)."""
    index = dump.events.index("Ir") if "Ir" in dump.events else 0
    trampolines = _Trampolines(perf_map or [])
    python = python_functions(dump, perf_map, root) if perf_map else {}
    native = {key: costs for key, costs in dump.self_costs.items() if trampolines.name(key) is None}
    found: dict[str, int] = {}
    for costs in (python, native):
        largest = sorted(((v[index], key) for key, v in costs.items() if v[index]), reverse=True)
        found.update((key, value) for value, key in largest[:top])
    return found


# ---------------------------------------------------------------------------------------------------------
# parsing outside Valgrind: a dump takes ~50 ms to parse natively and seconds under Valgrind, so the meter
# hands dumps to a helper process that runs on the real CPU (callgrind does not follow children unless
# --trace-children=yes)


class PerfMaps:
    """Perf maps read as they grow: CPython only appends to them, so each read parses the new lines only
    (a map holds every code object the process ran; reading it whole at every dump would grow with it)."""

    def __init__(self) -> None:
        self._read: dict[Path, tuple[int, list[tuple[int, int, str]]]] = {}

    def read(self, path: Path, start: int = 0) -> list[tuple[int, int, str]] | None:
        """The map's entries so far from byte ``start`` on (where this process's own lines begin), None when
        it cannot be read."""
        offset, entries = self._read.get(path, (start, []))
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                new = handle.read()
        except OSError:
            return None
        complete = new[: new.rfind(b"\n") + 1]  # a line still being written is read next time
        if complete:
            entries = sorted(entries + parse_perf_map(complete.decode("utf-8", errors="replace")))
            self._read[path] = (offset + len(complete), entries)
        return entries


def serve(lines: Iterable[str], write: Callable[[str], object]) -> None:
    """The helper's loop: one JSON request per line (``dump``, ``perf_map``, ``perf_map_from``, ``top``,
    ``root``), one JSON answer (``functions`` or ``error``). The dump is deleted once read."""
    import json

    maps = PerfMaps()
    for line in lines:
        try:
            request = json.loads(line)
            path = Path(request["dump"])
            try:
                dump = parse_dump(path.read_text(encoding="utf-8", errors="replace"), str(path))
            finally:
                path.unlink(missing_ok=True)
            perf_map = None
            if request.get("perf_map"):
                perf_map = maps.read(Path(request["perf_map"]), int(request.get("perf_map_from") or 0))
            root = Path(request["root"]) if request.get("root") else None
            functions = function_costs(dump, perf_map, int(request["top"]), root)
            answer: dict[str, object] = {"functions": functions}
        except (OSError, ValueError, KeyError, CounterError) as exc:
            answer = {"error": str(exc)}
        write(json.dumps(answer) + "\n")


class NativeParser:
    """The client side: one helper process, started on first use, asked synchronously."""

    def __init__(self, top: int = 200, root: Path | None = None) -> None:
        self.top = top
        self.root = root
        self._process: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        import sys

        code = "import sys; from greencode.meters.callgrind import serve; serve(sys.stdin, _w)"
        code = f"import sys\ndef _w(t):\n    sys.stdout.write(t); sys.stdout.flush()\n{code}"
        return subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, _package_root()))},
        )

    def functions(self, dump: Path, perf_map: Path | None, perf_map_from: int = 0) -> dict[str, int]:
        """The costs per function of ``dump``, Python functions named by ``perf_map`` from byte
        ``perf_map_from`` on."""
        import json

        if self._process is None or self._process.poll() is not None:
            self._process = self._start()
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        request = {
            "dump": str(dump),
            "perf_map": str(perf_map) if perf_map else None,
            "perf_map_from": perf_map_from,
            "top": self.top,
            "root": str(self.root) if self.root else None,
        }
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            answer = json.loads(process.stdout.readline() or "{}")
        except (OSError, ValueError) as exc:
            raise CounterError(f"callgrind's dump parser stopped: {exc}") from None
        if "functions" not in answer:
            raise CounterError(f"{dump}: {answer.get('error', 'the dump parser gave no answer')}")
        return {str(key): int(value) for key, value in answer["functions"].items()}

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=10)


def _package_root() -> tuple[str, str]:
    # the helper imports greencode from where this process did, whatever the working directory
    return (str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", ""))


def short_function_name(key: str, parts: int = 2) -> str:
    """``file:function`` with the file shortened to its last ``parts`` path components, for display."""
    file, _, function = key.partition(":")
    if not function:
        return key
    trimmed = "/".join(Path(file).parts[-parts:]) if "/" in file else file
    return f"{trimmed}:{function}"
