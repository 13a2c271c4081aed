"""The gain behind each scanner rule's message, measured with ``greencode compare`` (issue 13).

For each rule, a small wasteful/green pair doing the same work, at a stated size, compared in interleaved,
balanced rounds by :func:`greencode.compare.compare` (energy per call from the active meter; on machines
without counters that is the CPU-time estimate, so the ratio is a CPU-time ratio). Prints one table with
the Python version: the ratio wasteful ÷ green with its interval. Where the gain depends on size, two sizes
are shown. Record the figures in docs/tactics.md ("Measured gains") with the machine and date.

    python benchmarks/bench_rule_gains.py [--rounds 5] [--only GRN004,GRN010]
"""

from __future__ import annotations

import argparse
import collections
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table

from greencode.compare import Candidate, format_ratio, rank

Pair = tuple[str, str, Callable[[], object], Callable[[], object]]


def _pairs() -> list[Pair]:
    pairs: list[Pair] = []
    for n in (10, 1000):
        items, lookups = list(range(n)), list(range(0, 2 * n, 2))
        as_set = set(items)
        pairs.append(
            (
                f"GRN001 n={n}",
                "x in list vs x in set",
                lambda items=items, lookups=lookups: [x in items for x in lookups],
                lambda as_set=as_set, lookups=lookups: [x in as_set for x in lookups],
            )
        )
    for n in (100, 10000):
        chars = ["a"] * n
        pairs.append(
            (
                f"GRN004 n={n}",
                "s += c vs append + join",
                lambda c=chars: _concat(c),
                lambda c=chars: _joined(c),
            )
        )
    words = ["word"] * 2000
    pairs.append(
        (
            "GRN005 n=2000",
            "s = w + s vs join(reversed)",
            lambda: _prepend(words),
            lambda: "".join(reversed(words)),
        )
    )
    lines = [f"line {i} with some words" for i in range(1000)]
    compiled = re.compile(r"\w+ (\d+)")
    pairs.append(
        (
            "GRN007 n=1000",
            "re.search(literal) vs compiled",
            lambda: [re.search(r"\w+ (\d+)", s) for s in lines],  # greencode: ignore[GRN007]
            lambda: [compiled.search(s) for s in lines],
        )
    )
    for n in (10, 10000):
        xs = list(range(n))
        pairs.append(
            (
                f"GRN010 n={n}",
                "sum([..]) vs sum(..)",
                lambda xs=xs: sum([x * 2 for x in xs]),  # greencode: ignore[GRN010]
                lambda xs=xs: sum(x * 2 for x in xs),
            )
        )
    numbers = list(range(10000))
    pairs.append(
        ("GRN012 n=10000", "for: t += x vs sum(xs)", lambda: _manual_sum(numbers), lambda: sum(numbers))
    )
    pairs.append(
        (
            "GRN012e n=10000",
            "for: t += x*2 vs sum(x*2 ...)",
            lambda: _manual_sum2(numbers),
            lambda: sum(x * 2 for x in numbers),
        )
    )
    floats = [float(i) for i in range(10000)]
    pairs.append(
        (
            "GRN014 n=10000",
            "x ** 2 vs x * x",
            lambda: [x**2 for x in floats],  # greencode: ignore[GRN014]
            lambda: [x * x for x in floats],
        )
    )
    weights = [float(i + 1) for i in range(300)]
    pairs.append(
        (
            "GRN038 n=300",
            "sum(w) per item vs once",
            lambda: [w / sum(weights) for w in weights],  # greencode: ignore[GRN038]
            lambda: _normalise(weights),
        )
    )
    table = {i: i for i in range(1000)}
    missing = [i if i % 2 else -i - 1 for i in range(1000)]
    hits = list(range(1000))
    for label, keys in (("50% missing", missing), ("all hit", hits)):
        pairs.append(
            (
                f"GRN030 {label}",
                "try/except KeyError vs get",
                lambda keys=keys: _try_sum(table, keys),
                lambda keys=keys: sum(table.get(k, 0) for k in keys),
            )
        )
    queue_n = 20000
    pairs.append(
        (
            f"GRN003 n={queue_n}",
            "list.pop(0) vs deque.popleft",
            lambda: _drain_list(queue_n),
            lambda: _drain_deque(queue_n),
        )
    )
    return pairs


def _concat(chars: list[str]) -> str:
    s = ""
    for c in chars:
        s += c  # greencode: ignore[GRN004]
    return s


def _joined(chars: list[str]) -> str:
    parts = []
    for c in chars:
        parts.append(c)
    return "".join(parts)


def _prepend(words: list[str]) -> str:
    s = ""
    for w in words:
        s = w + s  # greencode: ignore[GRN005]
    return s


def _manual_sum(xs: list[int]) -> int:
    t = 0
    for x in xs:  # greencode: ignore[GRN012]
        t += x
    return t


def _manual_sum2(xs: list[int]) -> int:
    t = 0
    for x in xs:  # greencode: ignore[GRN012]
        t += x * 2
    return t


def _normalise(weights: list[float]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights]


def _try_sum(table: dict[int, int], keys: list[int]) -> int:
    t = 0
    for k in keys:
        try:  # greencode: ignore[GRN030]
            t += table[k]
        except KeyError:
            continue
    return t


def _drain_list(n: int) -> int:
    queue = list(range(n))
    while queue:
        queue.pop(0)  # greencode: ignore[GRN003]
    return n


def _drain_deque(n: int) -> int:
    queue = collections.deque(range(n))
    while queue:
        queue.popleft()
    return n


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="measured gains of the scanner rules' tactics")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per pair (default 5)")
    parser.add_argument("--only", default="", help="comma-separated rule IDs to run")
    args = parser.parse_args(argv)
    wanted = {w.strip().upper() for w in args.only.split(",") if w.strip()}
    rows = []
    for name, what, wasteful, green in _pairs():
        if wanted and name.split()[0].rstrip("e") not in wanted:
            continue
        result = rank([Candidate("wasteful", wasteful), Candidate("green", green)], rounds=args.rounds)
        by_label = {r.label: r for r in result.results}
        ratio = by_label["wasteful"].ratio if result.best.label == "green" else by_label["green"].ratio
        sign = "" if result.best.label == "green" else "green slower: "
        low, high = ratio.low, ratio.high
        interval = "" if math.isnan(low) else f"{format_ratio(low)}-{format_ratio(high)}"
        rows.append([name, what, sign + format_ratio(ratio.estimate), interval, result.meter])
    print(f"Python {sys.version.split()[0]}, {args.rounds} interleaved rounds per pair (greencode compare)\n")
    print_table(["rule", "pair", "wasteful ÷ green", "interval", "meter"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
