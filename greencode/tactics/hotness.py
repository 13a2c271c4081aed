"""Measured cost per function and file, to rank scanner findings hottest first (``greencode scan --profile``).

A profile is a list of entries (file, function, cost); a finding takes the cost of the function that
encloses it (matched by file and name), else nothing. Its share of the profile's total says how much fixing
it could matter: "in parse(), 34 % of the measured time". Readers, chosen by the file's content:

- a ``cProfile``/``pstats`` dump (``python -m cProfile -o prof.out ...``): each function's cumulative time;
- greencode's own outputs (a pytest results JSON from ``--greencode-json``, a report JSON, ``greencode run
  --json``, the history database): the energy of each test or measured function, matched through the
  pytest node id (``tests/test_x.py::TestA::test_b`` → file and function) or a ``module.function`` label;
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from greencode.documents import read_json
from greencode.errors import ConfigError, StoreError
from greencode.tactics.scanner import Finding

COSTS_SCHEMA = "greencode-costs"
_PSTATS_HINT = (
    "give a cProfile dump (python -m cProfile -o FILE), a greencode results or report JSON, the history "
    f"database, or a {COSTS_SCHEMA!r} JSON (docs/tactics.md)"
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
        names = [finding.function, (finding.function or "").rpartition(".")[2]] if finding.function else []
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


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %" if share >= 0.01 else "under 1 %"


def _key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _by_suffix(by_file: dict[str, dict[str | None, float]], path: str) -> str | None:
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
