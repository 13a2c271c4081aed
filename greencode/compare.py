"""Comparing implementations of the same task: the library behind ``greencode compare``.

Candidates are zero-argument callables, usually named on the command line as ``module:function`` or
``path/to/file.py:function``. Each is calibrated to its own number of calls per round, then the rounds run
*interleaved* in a balanced order (two candidates: A B, B A, A B, ...; more: a Williams design), so that drift
on a shared machine (frequency changes, a neighbour's load, the measurable slowdown of whatever runs second)
falls on every candidate alike instead of on whichever happened to run last.

The result ranks the candidates by median energy per call and gives each its ratio to the best, computed per
round (both figures of a ratio come from the same stretch of time) with a distribution-free interval.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import reprlib
import statistics
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, TypeVar

from greencode.errors import GreencodeError
from greencode.measurement import Profile, Profiler, current_config, meters_in_use
from greencode.stats import Interval, balanced_orders
from greencode.units import format_duration, format_energy

T = TypeVar("T")

#: Confidence the intervals aim for; with few rounds the achievable coverage is reported instead.
CONFIDENCE = 0.95
#: JSON schema identifier of :meth:`Ranking.to_dict`.
SCHEMA = "greencode.compare/1"


class CompareError(GreencodeError):
    """A candidate cannot be loaded or run, or the candidates disagree on their result."""


# ---------------------------------------------------------------------------------------------------------
# candidates


@dataclass(frozen=True)
class Candidate:
    """One implementation to compare: a label for people and a callable taking no arguments."""

    label: str
    function: Callable[[], Any]
    spec: str = ""


def _is_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def load_candidate(spec: str, *, label: str | None = None, relative_to: Path | None = None) -> Candidate:
    """The candidate named by ``module:function`` or ``path/to/file.py:function`` (dotted names work).

    A file is imported once per path, with its directory put on ``sys.path`` as ``python file.py`` would, so
    it may import its neighbours. ``relative_to`` resolves a relative file path (exercises use it).
    Raises :class:`CompareError` with one line saying what is wrong.
    """
    target, colon, attribute = spec.rpartition(":")
    if not colon or not target or not attribute:
        raise CompareError(
            f"candidate {spec!r}: expected module:function or path/to/file.py:function, "
            "e.g. mypackage.search:find_all or examples/search.py:find_all"
        )
    if _is_path(target):
        path = Path(target)
        if relative_to is not None and not path.is_absolute():
            path = relative_to / path
        module = _import_file(spec, path)
        default_label = f"{path.name}:{attribute}"
    else:
        module = _import_module(spec, target)
        default_label = spec
    function: Any = module
    owner: Any = None
    for part in attribute.split("."):
        if not hasattr(function, part):
            raise CompareError(f"candidate {spec!r}: {_no_such(function, part)}")
        owner, function = function, getattr(function, part)
    if not callable(function):
        raise CompareError(
            f"candidate {spec!r}: {attribute} is not a function but a value of type "
            f"{type(function).__name__}; name a function that takes no arguments"
        )
    problem = _not_callable_bare(attribute, owner, function)
    if problem:
        raise CompareError(f"candidate {spec!r}: {problem}")
    return Candidate(label or default_label, function, spec)


def _not_callable_bare(name: str, owner: Any, function: Any) -> str | None:
    """Why calling ``function()`` with no arguments would not run the work to measure, or None.

    Checked when loading, so the user reads about their function, not a TypeError from deep inside greencode.
    """
    import inspect

    wrap = f"write a function that takes no arguments and calls {name.rpartition('.')[2]}, and compare that"
    if inspect.isclass(owner) and inspect.isfunction(inspect.getattr_static(owner, name.rpartition(".")[2])):
        return f"{name} is a method: it needs an instance of {owner.__name__}; {wrap}"
    if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        return f"{name} is a generator function: calling it returns a generator without running it; {wrap}"
    if inspect.iscoroutinefunction(function):
        return f"{name} is an async function: calling it returns a coroutine without running it; {wrap}"
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # some built-ins have no signature: let the call decide
        return None
    needed = [
        p.name for p in parameters if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if needed:
        return (
            f"{name} needs an argument ({', '.join(needed)}); candidates are called with none: give them "
            f"default values, or {wrap}"
        )
    return None


def _no_such(owner: Any, name: str) -> str:
    import difflib

    where = getattr(owner, "__file__", None) or getattr(owner, "__name__", repr(owner))
    names = [n for n in dir(owner) if not n.startswith("_") and callable(getattr(owner, n, None))]
    close = difflib.get_close_matches(name, names, n=3)
    hint = (
        f"; did you mean {', '.join(close)}?"
        if close
        else (f"; it has {', '.join(names[:8])}" if names else "")
    )
    return f"no function {name!r} in {where}{hint}"


def _import_file(spec: str, path: Path) -> ModuleType:
    if not path.is_file():
        raise CompareError(f"candidate {spec!r}: file not found: {path}")
    resolved = path.resolve()
    # One module per file, under a name no real module uses, so two files called solution.py never clash.
    name = f"_greencode_candidate_{resolved.stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:10]}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise CompareError(f"candidate {spec!r}: {path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    if str(resolved.parent) not in sys.path:
        sys.path.insert(0, str(resolved.parent))
    sys.modules[name] = module  # dataclasses and pickling look the module up while it executes
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise CompareError(f"candidate {spec!r}: importing {path} failed: {_describe(exc)}") from None
    return module


def _import_module(spec: str, name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise CompareError(
                f"candidate {spec!r}: no module named {exc.name!r}; run from the directory that contains "
                "it, install it, or name a file instead (path/to/file.py:function)"
            ) from None
        raise CompareError(f"candidate {spec!r}: importing {name} failed: {_describe(exc)}") from None
    except Exception as exc:
        raise CompareError(f"candidate {spec!r}: importing {name} failed: {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    """``Type: message (at file:line)``, the innermost frame, for a one-line error."""
    # greencode's and importlib's frames say nothing to the user; a SyntaxError names its own place
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename != __file__ and "<frozen" not in f.filename
    ]
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = str(exc)
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"


def _guarded(candidate: Candidate, action: Callable[[], T]) -> T:
    """Run ``action``; a failure of the candidate's own code becomes one line naming the candidate."""
    try:
        return action()
    except GreencodeError:
        raise
    except Exception as exc:
        raise CompareError(f"candidate {candidate.label} raised {_describe(exc)}") from None


def check_equal(candidates: Sequence[Candidate]) -> None:
    """Call each candidate once and raise :class:`CompareError` naming those whose result differs."""
    first = candidates[0]
    expected = _guarded(first, first.function)
    short = reprlib.Repr()
    short.maxstring = short.maxother = 60
    differ = []
    for candidate in candidates[1:]:
        value = _guarded(candidate, candidate.function)
        try:
            same = bool(value == expected)
        except Exception as exc:
            raise CompareError(
                f"cannot compare the results of {first.label} and {candidate.label} "
                f"with == ({_describe(exc)})"
            ) from None
        if not same:
            differ.append(f"{candidate.label} returned {short.repr(value)}")
    if differ:
        raise CompareError(
            f"the candidates return different results: {first.label} returned {short.repr(expected)}, but "
            + "; ".join(differ)
        )


# ---------------------------------------------------------------------------------------------------------
# statistics


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The median with a distribution-free interval from order statistics (the sign test's interval).

    ``[x(k+1), x(n-k)]`` covers the median with probability ``1 - 2 P(B <= k)``, B ~ Binomial(n, 1/2); the
    narrowest such interval with at least ``confidence`` is returned. With too few values to reach it the
    full range is returned with its (lower) coverage, so a reader sees how weak the statement is.
    """
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("median_interval of no values")
    trim, cumulative = 0, 1 / 2**n  # cumulative = P(B <= trim)
    coverage = max(0.0, 1 - 2 * cumulative)
    while 2 * (trim + 1) < n:
        cumulative += math.comb(n, trim + 1) / 2**n
        if 1 - 2 * cumulative < confidence:
            break
        trim, coverage = trim + 1, 1 - 2 * cumulative
    return Interval(statistics.median(ordered), ordered[trim], ordered[n - 1 - trim], coverage)


def _ratio(value: float, best: float) -> float:
    if best > 0:
        return value / best
    return 1.0 if value <= 0 else math.inf


def format_ratio(ratio: float) -> str:
    """``2043.7`` → ``"2,044×"``; ``1.234`` → ``"1.23×"``."""
    if not math.isfinite(ratio):
        return "∞×"
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    return f"{ratio:.1f}×" if ratio >= 10 else f"{ratio:.2f}×"


# ---------------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class CandidateResult:
    """One candidate's place in a :class:`Ranking`. Energies are joules per call, times seconds per call.

    ``energy`` is the median energy per call over the rounds with its interval. ``ratio`` is the median over
    rounds of this candidate's energy divided by the best candidate's energy in the same round, with its
    interval (the best candidate's is exactly 1).
    """

    rank: int
    label: str
    spec: str
    iterations: int
    samples_j: tuple[float, ...]
    wall_samples_s: tuple[float, ...]
    cpu_samples_s: tuple[float, ...]
    energy: Interval
    ratio: Interval
    wall_s: float
    cpu_s: float
    estimated: bool
    provenance: Mapping[str, str]
    warnings: tuple[str, ...] = ()

    @property
    def median_j(self) -> float:
        return self.energy.estimate

    @property
    def kind(self) -> str:
        return "estimated" if self.estimated else "measured"

    def to_dict(self) -> dict[str, Any]:
        def number(value: float) -> float | None:  # JSON has no infinity
            return value if math.isfinite(value) else None

        return {
            "rank": self.rank,
            "label": self.label,
            "spec": self.spec,
            "iterations": self.iterations,
            "energy_j": {"median": self.median_j, "low": self.energy.low, "high": self.energy.high},
            "ratio": {
                "median": number(self.ratio.estimate),
                "low": number(self.ratio.low),
                "high": number(self.ratio.high),
            },
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "estimated": self.estimated,
            "provenance": dict(self.provenance),
            "samples_j": list(self.samples_j),
            "wall_samples_s": list(self.wall_samples_s),
            "cpu_samples_s": list(self.cpu_samples_s),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Ranking:
    """Candidates ranked by median energy per call, best first, with how they were measured.

    ``schedule`` lists, per round, the labels in the order they ran. ``machine_wide`` is true when a meter
    sees the whole machine (RAPL, a GPU), whose figures include idle power and other processes.
    """

    results: tuple[CandidateResult, ...]
    rounds: int
    schedule: tuple[tuple[str, ...], ...]
    meter: str
    reasons: tuple[str, ...]
    confidence: float
    checked_equal: bool
    machine_wide: bool

    @property
    def best(self) -> CandidateResult:
        return self.results[0]

    @property
    def estimated(self) -> bool:
        return any(result.estimated for result in self.results)

    @property
    def provenance(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for result in self.results:
            merged.update(result.provenance)
        return merged

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "meter": self.meter,
            "estimated": self.estimated,
            "provenance": self.provenance,
            "reasons": list(self.reasons),
            "machine_wide": self.machine_wide,
            "rounds": self.rounds,
            "schedule": [list(order) for order in self.schedule],
            "confidence": self.confidence,
            "checked_equal": self.checked_equal,
            "candidates": [result.to_dict() for result in self.results],
        }


# ---------------------------------------------------------------------------------------------------------
# running


def rank(
    candidates: Sequence[Candidate],
    *,
    rounds: int | None = None,
    meter: str | None = None,
    check_results: bool = False,
) -> Ranking:
    """Measure ``candidates`` in interleaved, balanced rounds and rank them by energy per call.

    ``rounds`` (default: the configured ``rounds``) is rounded up to whole cycles of the balanced order.
    ``check_results`` first calls each candidate once and raises :class:`CompareError` if the results
    differ. A candidate that raises stops the ranking with a :class:`CompareError` naming it.
    """
    if len(candidates) < 2:
        raise CompareError("give at least two candidates to compare")
    labels = [candidate.label for candidate in candidates]
    if len(set(labels)) != len(labels):
        twice = sorted({label for label in labels if labels.count(label) > 1})
        raise CompareError(f"candidate {twice[0]} is given twice; each candidate must be different")
    if rounds is not None and rounds < 1:
        raise CompareError(f"rounds must be 1 or more, not {rounds}")
    selection = meters_in_use(meter)
    if check_results:
        check_equal(candidates)

    # Calibrate each on its own: a 1 µs and a 10 ms function both get rounds long enough to measure. The
    # round that calibration ends with is not interleaved, so it only serves as a warm-up.
    calibrations = [_guarded(c, partial(_profiler(c, meter).run, c.function)) for c in candidates]
    iterations = [profile.iterations for profile in calibrations]
    orders = balanced_orders(len(candidates))
    wanted = rounds or current_config().rounds
    schedule = [orders[i % len(orders)] for i in range(math.ceil(wanted / len(orders)) * len(orders))]
    profiles: list[list[Profile]] = [[] for _ in candidates]
    for order in schedule:
        for index in order:
            candidate = candidates[index]
            runner = _profiler(candidate, meter, iterations[index])
            profiles[index].append(_guarded(candidate, partial(runner.run, candidate.function)))

    results = _placed(candidates, iterations, profiles)
    return Ranking(
        results=results,
        rounds=len(schedule),
        schedule=tuple(tuple(labels[i] for i in order) for order in schedule),
        meter=selection.name,
        reasons=selection.reasons,
        confidence=results[0].energy.confidence,
        checked_equal=check_results,
        machine_wide=any(m.scope in ("machine", "device") for m in selection.meters),
    )


def _profiler(candidate: Candidate, meter: str | None, iterations: int | None = None) -> Profiler:
    # Idle power is not subtracted: every candidate carries the same idle share per second, and a ratio of
    # totals is the honest "what the meter saw" figure (documented in docs/compare.md).
    return Profiler(
        rounds=1,
        iterations=iterations,
        warmup=1 if iterations is None else 0,
        meter=meter,
        subtract_idle=False,
        label=candidate.label,
    )


def _placed(
    candidates: Sequence[Candidate], iterations: Sequence[int], profiles: Sequence[Sequence[Profile]]
) -> tuple[CandidateResult, ...]:
    samples = [[p.samples_j[0] for p in runs] for runs in profiles]
    medians = [statistics.median(s) for s in samples]
    order = sorted(range(len(candidates)), key=lambda i: medians[i])
    best = samples[order[0]]
    results = []
    for rank, index in enumerate(order, start=1):
        runs = profiles[index]
        ratios = [_ratio(value, base) for value, base in zip(samples[index], best, strict=True)]
        walls = [p.wall_samples_s[0] for p in runs]
        cpus = [p.cpu_samples_s[0] for p in runs]
        provenance: dict[str, str] = {}
        for run in runs:
            provenance.update(run.provenance)
        results.append(
            CandidateResult(
                rank=rank,
                label=candidates[index].label,
                spec=candidates[index].spec,
                iterations=iterations[index],
                samples_j=tuple(samples[index]),
                wall_samples_s=tuple(walls),
                cpu_samples_s=tuple(cpus),
                energy=median_interval(samples[index]),
                ratio=median_interval(ratios),
                wall_s=statistics.median(walls),
                cpu_s=statistics.median(cpus),
                estimated=any(run.estimated for run in runs),
                provenance=MappingProxyType(provenance),
                warnings=tuple(dict.fromkeys(w for run in runs for w in run.warnings)),
            )
        )
    return tuple(results)


# ---------------------------------------------------------------------------------------------------------
# presenting


def table(ranking: Ranking) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the ranked table, as text cells (shared by the terminal and Markdown reports)."""
    percent = f"{ranking.confidence * 100:.0f}%"
    header = [
        "#",
        "candidate",
        "energy/call",
        f"{percent} interval",
        "× best",
        f"{percent} interval",
        "time/call",
        "kind",
    ]
    rows = []
    for r in ranking.results:
        best = r.rank == 1
        rows.append(
            [
                str(r.rank),
                r.label,
                format_energy(r.median_j),
                f"{format_energy(r.energy.low)} – {format_energy(r.energy.high)}",
                "best" if best else format_ratio(r.ratio.estimate),
                "" if best else f"{format_ratio(r.ratio.low)} – {format_ratio(r.ratio.high)}",
                format_duration(r.wall_s),
                r.kind,
            ]
        )
    return header, rows


def basis(ranking: Ranking) -> list[str]:
    """Sentences saying whether the figures are measured or estimated, from what, and how they were taken."""
    lines = []
    if ranking.estimated:
        # why no counter was used (none here, or the user asked for the estimator) is in the meter reasons
        lines.append("These figures are ESTIMATES, not measurements. They are based on:")
    else:
        lines.append(f"These figures are measured by {ranking.meter}:")
    lines += [f"  {domain}: {source}" for domain, source in ranking.provenance.items()]
    if ranking.machine_wide:
        lines.append(
            "Whole-machine counters include idle power and other processes' work during each round, "
            "so ratios here understate the difference in the code's own energy."
        )
    lines.append(
        f"{ranking.rounds} rounds per candidate, interleaved in balanced orders; intervals are "
        f"distribution-free {ranking.confidence * 100:.0f}% intervals of the median."
    )
    if ranking.confidence < CONFIDENCE:
        lines.append(f"  (too few rounds for {CONFIDENCE * 100:.0f}%; use --rounds 6 or more.)")
    lines += ["Meters:", *(f"  {reason}" for reason in ranking.reasons)]
    return lines


def render_text(ranking: Ranking) -> str:
    """The terminal report: the ranked table, then the basis of the figures."""
    header, rows = table(ranking)
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]
    if ranking.checked_equal:
        lines.append("All candidates returned equal results.")
    warnings = dict.fromkeys(w for r in ranking.results for w in r.warnings)
    lines += [f"warning: {w}" for w in warnings]
    return "\n".join([*lines, "", *basis(ranking)])
