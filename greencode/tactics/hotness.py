"""Measured cost per function and file, to rank scanner findings hottest first (``greencode scan --profile``).

A profile is a list of entries (file, function, cost); a finding takes the cost of the function that
encloses it (matched by file and name), else nothing. Its share of the profile's total says how much fixing
it could matter: "in parse(), 34 % of the measured time". Readers, chosen by the file's content:

- a ``cProfile``/``pstats`` dump (``python -m cProfile -o prof.out ...``): each function's cumulative time;
- greencode's own outputs (a pytest results JSON from ``--greencode-json``, a report JSON, ``greencode run
  --json``, the history database): the energy of each test or measured function, matched through the
  pytest node id (``tests/test_x.py::TestA::test_b`` → file and function) or a ``module.function`` label;
- a line_profiler file (``kernprof -l -p PACKAGE -o prof.lprof script.py``): the hits and time of each line of
  the functions it profiled, so a finding takes its own line's time, and a line that never ran inside a
  function that did (a rare branch) says so;
- a callgrind dump (``callgrind.out.<pid>.<n>``, as the ``instructions`` meter writes them): the inclusive
  instruction count of each Python function, named through the interpreter's perf map
  (``perf-<pid>.map`` next to the dump or in ``/tmp``; CPython 3.12+ with ``python -X perf``);
- a per-function cost mapping, the simplest thing any tool can write::

      {"schema": "greencode-costs", "unit": "instructions",
       "functions": [{"file": "src/pkg/parse.py", "function": "parse", "cost": 1234567}]}

A file that was profiled but whose function has no entry is measured code that cost nothing: its findings
rank last. Code outside every profiled file is unmeasured and keeps its place between the two.
"""

from __future__ import annotations

import math
import os
import pickle
import types
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from greencode.documents import read_json
from greencode.errors import ConfigError, StoreError
from greencode.tactics.scanner import Finding

COSTS_SCHEMA = "greencode-costs"
_PSTATS_HINT = (
    "give a cProfile dump (python -m cProfile -o FILE), a line_profiler file (kernprof -l -o FILE), a "
    f"greencode results or report JSON, the history database, or a {COSTS_SCHEMA!r} JSON (docs/tactics.md)"
)


@dataclass(frozen=True)
class Entry:
    """The measured cost of one function (``function`` None: of the whole file); ``line`` is the line its
    definition starts on, where the profile says (cProfile does), to tell apart functions of one name."""

    file: str
    function: str | None
    cost: float
    line: int | None = None


@dataclass(frozen=True)
class Profile:
    """Costs by file and function, and what they measure (``"time"``, ``"energy"``, ``"instructions"``)."""

    entries: tuple[Entry, ...]
    measure: str
    source: str
    _by_file: dict[str, dict[str | None, float]] = field(init=False, repr=False, compare=False)
    _defs: dict[str, dict[str, list[tuple[int, float]]]] = field(init=False, repr=False, compare=False)
    _total: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_file: dict[str, dict[str | None, float]] = {}
        defs: dict[str, dict[str, list[tuple[int, float]]]] = {}
        for entry in self.entries:
            functions = by_file.setdefault(_key(entry.file), {})
            functions[entry.function] = functions.get(entry.function, 0.0) + entry.cost
            if entry.line is not None and entry.function is not None:
                defs.setdefault(_key(entry.file), {}).setdefault(entry.function, []).append(
                    (entry.line, entry.cost)
                )
        object.__setattr__(self, "_by_file", by_file)
        object.__setattr__(self, "_defs", defs)
        object.__setattr__(self, "_total", math.fsum(e.cost for e in self.entries if e.function is not None))

    def cost_of(self, finding: Finding) -> tuple[float | None, str | None]:
        """The finding's share of the total and a phrase saying it; (None, None) when not measured.

        A function is matched by its qualified name (``Parser.parse``) or its own name."""
        by_file, total = self._by_file, self._total
        path_key = _key(finding.path)
        key = path_key if path_key in by_file else _by_suffix(by_file, finding.path)
        if key is None or total <= 0:
            return None, None
        functions = by_file[key]
        names = _names(finding)
        for name in names:
            if name in functions:
                cost = self._cost_at(key, name, finding.line)
                if cost is None:
                    continue
                share = cost / total
                return share, f"in {name}(), {_percent(share)} of the {self.measure} in {self.source}"
        if None in functions:
            share = functions[None] / total
            return share, f"in this file, {_percent(share)} of the {self.measure} in {self.source}"
        where = f"{finding.function}()" if finding.function else "module level"
        return 0.0, f"{where} was not seen running in {self.source}"

    def _cost_at(self, key: str, name: str, line: int) -> float | None:
        """The cost of the function called ``name`` whose definition is the last to start before ``line``.

        cProfile names functions without their class, so a file's ``parse`` methods share one name; summing
        their cumulative times would count nested calls twice and give each method the others' time. None
        when every definition of that name starts after ``line``: the enclosing one never ran."""
        defs = self._defs.get(key, {}).get(name)
        if not defs:
            return self._by_file[key][name]
        before = [(start, cost) for start, cost in defs if start <= line]
        return max(before)[1] if before else None


def _names(finding: Finding) -> list[str]:
    """The names a profile may give the finding's function: qualified (``Parser.parse``), then its own."""
    return [finding.function, finding.function.rpartition(".")[2]] if finding.function else []


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %" if share >= 0.01 else "under 1 %"


def _key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _by_suffix(by_file: Collection[str], path: str) -> str | None:
    """A profiled file whose path ends with the finding's (profiles made elsewhere, e.g. on CI)."""
    parts = Path(path).parts
    if len(parts) < 2:
        return None
    tail = os.sep + os.path.join(*parts[-2:])
    matches = [file for file in by_file if file.endswith(os.path.normcase(tail))]
    return matches[0] if len(matches) == 1 else None


# ---------------------------------------------------------------------------------------------------------
# readers


def _from_pstats(path: Path) -> Profile:
    import pstats

    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    entries = []
    for (filename, line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        if filename.startswith(("<", "~")) or not filename.endswith(".py"):
            continue  # built-ins and C functions: no source file of the project
        entries.append(Entry(filename, function, float(cumulative), line))
    # cumulative times overlap (a caller includes its callees), so shares are of the longest: the run itself
    longest = max((e.cost for e in entries), default=0.0)
    scaled = tuple(Entry(e.file, e.function, e.cost / longest if longest else 0.0, e.line) for e in entries)
    return _Normalised(scaled, "profiled time", path.name)


class _Normalised(Profile):
    """A profile whose costs are already shares of the whole (cumulative times)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "_total", 1.0)


@dataclass(frozen=True)
class ProfiledFunction:
    """One function line_profiler was told to profile: where its definition starts, its time as a share of
    the profile's longest function, and the share of each line that ran (by line number)."""

    file: str
    name: str
    first_line: int
    share: float
    lines: dict[int, float]


class _LineProfile(_Normalised):
    """A line_profiler file: a finding takes the time of its own line, not of its whole function.

    line_profiler profiles only the functions it was told to (``-p`` or ``@profile``): a nested function,
    a decorated one whose wrapper it saw instead, or module-level code is not in the file at all. So a
    function that is absent is unmeasured, not idle; a listed one with no lines ran zero times. It sees a
    function's own code object only: a comprehension or generator expression inside it (its own code
    object on CPython 3.11) is timed as part of the line that starts it, so that line is the one read."""

    _listed: dict[str, dict[str, list[ProfiledFunction]]]
    _own: dict[str, dict[tuple[int, str], frozenset[int]]]

    def __init__(self, functions: tuple[ProfiledFunction, ...], source: str) -> None:
        entries = tuple(Entry(f.file, f.name, f.share, f.first_line) for f in functions if f.lines)
        super().__init__(entries, "profiled time", source)
        listed: dict[str, dict[str, list[ProfiledFunction]]] = {}
        for function in functions:
            listed.setdefault(_key(function.file), {}).setdefault(function.name, []).append(function)
        object.__setattr__(self, "_listed", listed)
        object.__setattr__(self, "_own", {})

    def cost_of(self, finding: Finding) -> tuple[float | None, str | None]:
        function = self._function_of(finding)
        if function is None:
            return None, None  # not profiled: nothing is known of how often it ran
        if not function.lines:
            return 0.0, f"{function.name}() was not seen running in {self.source}"
        own = self._own_lines(finding.path, function)
        if own is None:  # the source no longer compiles to that function: its whole time, as cProfile's
            return function.share, f"in {function.name}(), {_percent(function.share)} {self._whose}"
        line = max((n for n in own if n <= finding.line), default=finding.line)
        where = f"line {line}" if line == finding.line else f"the statement at line {line}"
        if line not in function.lines:
            return 0.0, f"{where} was not seen running in {self.source} (its function {function.name}() ran)"
        share = function.lines[line]
        return share, f"{where} took {_percent(share)} {self._whose}"

    @property
    def _whose(self) -> str:
        # a function's time includes its callees', so shares are of the longest one, not of the whole run
        return f"of the time of the longest profiled function in {self.source}"

    def _function_of(self, finding: Finding) -> ProfiledFunction | None:
        path_key = _key(finding.path)
        key = path_key if path_key in self._listed else _by_suffix(self._listed, finding.path)
        by_name = self._listed.get(key, {}) if key else {}
        # line_profiler 5 names methods with their class (Parser.parse); 4 by their own name (parse)
        candidates = next((by_name[name] for name in _names(finding) if name in by_name), [])
        before = [f for f in candidates if f.first_line <= finding.line]
        return max(before, key=lambda f: f.first_line) if before else None

    def _own_lines(self, path: str, function: ProfiledFunction) -> frozenset[int] | None:
        """The lines of the function's own code object, compiled from the scanned source; None when the
        source has no such function (edited since the profile was taken, or unreadable)."""
        if path not in self._own:
            self._own[path] = _code_lines(path)
        return self._own[path].get((function.first_line, function.name.rpartition(".")[2]))


def _code_lines(path: str) -> dict[tuple[int, str], frozenset[int]]:
    """Each code object's own lines in a source file, by its first line and name (as line_profiler keys
    them); empty when the file cannot be read or compiled by this Python."""
    try:
        stack = [compile(Path(path).read_bytes(), path, "exec", dont_inherit=True)]
    except (OSError, SyntaxError, ValueError):
        return {}
    lines = {}
    while stack:
        code = stack.pop()
        lines[code.co_firstlineno, code.co_name] = frozenset(n for *_, n in code.co_lines() if n is not None)
        stack.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    return lines


class _LineStats:
    """Stands in for line_profiler's ``LineStats`` while unpickling: only its attributes are kept."""

    timings: object
    unit: object


class _LineStatsUnpickler(pickle.Unpickler):
    """Unpickles a line_profiler file and nothing else: any other class in the pickle is refused, so a
    foreign or hostile file cannot run code."""

    def find_class(self, module: str, name: str) -> type:
        if module.split(".")[0] == "line_profiler" and name == "LineStats":
            return _LineStats
        raise pickle.UnpicklingError(f"unexpected {module}.{name}")


def _from_line_profiler(path: Path) -> Profile:
    bad = f"--profile {path}: not a line_profiler file greencode can read"
    try:
        with path.open("rb") as stream:
            stats = _LineStatsUnpickler(stream).load()
    except Exception as exc:  # unpickling raises whatever the bytes make it raise
        raise ConfigError(f"{bad} ({type(exc).__name__}); {_PSTATS_HINT}") from None
    timings, unit = getattr(stats, "timings", None), getattr(stats, "unit", None)
    if not isinstance(timings, dict) or not isinstance(unit, (int, float)) or not 0 < unit < math.inf:
        raise ConfigError(f"{bad} (no timings and unit); {_PSTATS_HINT}")
    raw: list[tuple[str, int, str, list[tuple[int, int, float]]]] = []
    for item, lines in timings.items():
        if not (
            isinstance(item, tuple)
            and len(item) == 3
            and isinstance(item[0], str)
            and isinstance(item[1], int)
            and isinstance(item[2], str)
            and isinstance(lines, list)
            and all(_is_line_timing(line) for line in lines)
        ):
            raise ConfigError(f"{bad} (an entry is not (file, line, function) -> [(line, hits, time)])")
        raw.append((item[0], item[1], item[2], lines))
    # a function's time includes its callees', so shares are of the longest one, as with cProfile's
    totals = [math.fsum(float(time) for _, _, time in lines) for *_, lines in raw]
    longest = max(totals, default=0.0)
    functions = tuple(
        ProfiledFunction(
            file,
            name,
            first,
            total / longest if longest else 0.0,
            {n: float(time) / longest if longest else 0.0 for n, hits, time in lines if hits > 0},
        )
        for (file, first, name, lines), total in zip(raw, totals, strict=True)
    )
    return _LineProfile(functions, path.name)


def _is_line_timing(line: object) -> bool:
    return (
        isinstance(line, tuple)
        and len(line) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) for v in line[:2])
        and isinstance(line[2], (int, float))
        and 0 <= line[2] < math.inf
        and line[1] >= 0
    )


def _node_entry(name: str, energy_j: float) -> Entry | None:
    if "::" in name:
        file, _, rest = name.partition("::")
        function = rest.split("::")[-1].split("[", 1)[0]
        return Entry(file, function, energy_j)
    module, _, function = name.rpartition(".")
    if module and function.isidentifier():
        return Entry(module.replace(".", os.sep) + ".py", function, energy_j)
    return None


def _from_greencode(path: Path) -> Profile:
    from greencode.report.loaders import load_report

    try:
        report = load_report(path)
    except StoreError as exc:
        raise ConfigError(f"--profile {path}: {exc}") from None
    entries = [
        entry
        for test in report.tests
        if (entry := _node_entry(test.name, test.energy.median_j)) is not None and test.energy.median_j >= 0
    ]
    return Profile(tuple(entries), "measured energy", path.name)


def _from_costs(path: Path, data: dict[str, object]) -> Profile:
    functions = data.get("functions")
    unit = data.get("unit", "cost")
    if not isinstance(functions, list) or not isinstance(unit, str):
        raise ConfigError(f"--profile {path}: 'functions' must be a list and 'unit' a string")
    entries = []
    for index, item in enumerate(functions):
        item = item if isinstance(item, dict) else {}
        cost, file, function = item.get("cost"), item.get("file"), item.get("function")
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not 0 <= cost < math.inf:
            cost = None
        if not (isinstance(file, str) and file and cost is not None):
            raise ConfigError(
                f"--profile {path}: functions[{index}] needs a 'file' and a non-negative finite 'cost'"
            )
        if function is not None and not isinstance(function, str):
            raise ConfigError(f"--profile {path}: functions[{index}].function must be a string")
        entries.append(Entry(file, function, float(cost)))
    return Profile(tuple(entries), unit, path.name)


def _from_callgrind(path: Path) -> Profile:
    from greencode.errors import CounterError
    from greencode.meters.callgrind import parse_dump, parse_perf_map, python_functions

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        dump = parse_dump(text, str(path))
    except (OSError, CounterError) as exc:
        raise ConfigError(f"--profile {path}: not a callgrind dump greencode can read ({exc})") from None
    pid = next((line.split()[1] for line in text.splitlines()[:20] if line.startswith("pid:")), None)
    maps = [path.parent / f"perf-{pid}.map", Path("/tmp") / f"perf-{pid}.map"] if pid else []
    perf_map = next((p for p in maps if p.is_file()), None)
    if perf_map is None:
        raise ConfigError(
            f"--profile {path}: no perf map names its Python functions (looked for "
            f"{' and '.join(str(p) for p in maps) or 'perf-<pid>.map'}); record with CPython 3.12+ and "
            "`python -X perf` under the instructions meter, or give a 'greencode-costs' JSON"
        )
    named = python_functions(dump, parse_perf_map(perf_map.read_text(encoding="utf-8")))
    index = dump.events.index("Ir") if "Ir" in dump.events else 0
    total = dump.total("Ir") or sum(values[index] for values in dump.self_costs.values())
    entries = []
    for key, values in named.items():
        file, _, qualname = key.rpartition(":")
        if file.endswith(".py") and total:
            entries.append(Entry(file, qualname, values[index] / total))
    # own costs where callgrind separated callers, else inclusive ones that overlap: shares of the total
    return _Normalised(tuple(entries), "instructions", path.name)


def load_profile(path: Path) -> Profile:
    """Read one profile, whatever its kind; ConfigError naming the file when it is none of them."""
    try:
        head = path.read_bytes()[:1]
    except OSError as exc:
        reason = exc.strerror or exc
        raise ConfigError(f"--profile {path}: cannot read it ({reason}); {_PSTATS_HINT}") from None
    if head == b"{":
        try:
            data = read_json(path, "profile", _PSTATS_HINT)
        except StoreError as exc:
            raise ConfigError(f"--profile {exc}") from None
        if isinstance(data, dict) and data.get("schema") == COSTS_SCHEMA:
            return _from_costs(path, data)
        return _from_greencode(path)
    if head == b"S":  # SQLite: the history database
        return _from_greencode(path)
    if head == b"#" or path.name.startswith("callgrind.out"):
        return _from_callgrind(path)
    if head == b"\x80":  # a pickle, as line_profiler writes (pstats dumps are marshal data)
        return _from_line_profiler(path)
    try:
        return _from_pstats(path)
    except Exception:  # pstats raises whatever marshal and its own checks raise on foreign input
        raise ConfigError(f"--profile {path}: not a profile greencode can read; {_PSTATS_HINT}") from None


def load_profiles(paths: Sequence[Path]) -> Profile:
    """Several profiles read as one (the first one's measure names the total)."""
    profiles = [load_profile(Path(p)) for p in paths]
    if len(profiles) == 1:
        return profiles[0]
    return Profile(
        tuple(_chain(p.entries for p in profiles)), profiles[0].measure, ", ".join(p.source for p in profiles)
    )


def _chain(groups: Iterable[tuple[Entry, ...]]) -> list[Entry]:
    return [entry for group in groups for entry in group]
