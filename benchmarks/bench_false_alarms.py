"""False alarms of the stored-baseline gate on unchanged code, on a noisy machine, and whether a doubled test
is still caught (issue 17.4).

Two suites: a small project (one ~20 ms test, one ~3 ms test, one ~10 µs test and 40 tests of some
microseconds in a second file) and more-itertools' own tests from its sdist (664 tests). For each: a warm-up
run (bytecode written, caches warm), one ``--greencode-save``, then ``COMPARES`` unchanged
``--greencode-compare`` runs with the defaults — half of them while another process keeps one core busy
(alternating: loaded, quiet, loaded, ...) — each beside a plain run (``-p no:greencode``) of the same tests
for the cost. Then one compare in which one test does twice its work: in the small project the ~20 ms test,
in more-itertools the test nearest 2 % of the suite's energy whose body runs twice (lines appended to its
test file for that compare, restored after). The doubling is checked, not assumed: the test's call is timed
in a plain process (CPU time, median of 7 calls) with and without it, and the ratio is shown; a candidate
whose ratio is not about 2 (a garbage collection dominating it, a cache) is passed over for the next one.
A false alarm is a compare that fails the gate; the table also counts regressed and inconclusive verdicts
(of tests and of files' small tests), the extra rounds and the load average seen at each compare.

Partial runs (issue 17.4): tomlkit 0.13.2's suite (859 tests, from its sdist) saved by a full run, then
``COMPARES`` compares of **one file** alone against it, as a developer runs the file they work on —
``tests/test_build.py`` (4 small tests: one file group, the case that false-alarmed 6 of 60 before) and
``tests/test_toml_document.py`` (47 tests, 2 of them judged alone) — half of them beside a busy core, then
``GREENCODE_BENCH_DOUBLED`` (default 5) compares of the file with its largest test doing twice its work (a
wrapper appended to the file runs the test's body twice). Its tests take fixtures, so the doubling is
checked with pytest itself: the test's estimated energy (CPU time times a constant), median of 7 rounds
under ``--greencode`` in a plain process, with and without the wrapper.

``GREENCODE_BENCH_COMPARES`` (default 20) sets the compares per suite, ``GREENCODE_BENCH_ONLY`` (``small``,
``third-party`` or ``partial``) runs one scenario; ``GREENCODE_BENCH_SUITE`` an unpacked more-itertools
sdist and ``GREENCODE_BENCH_TOMLKIT`` an unpacked tomlkit one (else each is downloaded, as in
``bench_third_party.py``; skipped if that fails).
Nothing here is tuned to the result: the gate runs with its defaults.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table
from _timing import pytest_session
from bench_third_party import suite_root, unpacked_sdist

COMPARES = int(os.environ.get("GREENCODE_BENCH_COMPARES", "20"))
ONLY = os.environ.get("GREENCODE_BENCH_ONLY", "")  # "small", "third-party" or "partial": one scenario only
TOMLKIT = "tomlkit==0.13.2"
#: the files of tomlkit's suite compared alone against a full run's baseline
PARTIAL_FILES = ("tests/test_build.py", "tests/test_toml_document.py")
WHOLE = ("tests",)
#: compares of one file alone with its largest test doubled (``GREENCODE_BENCH_DOUBLED``)
DOUBLED_COMPARES = int(os.environ.get("GREENCODE_BENCH_DOUBLED", "5"))
DOUBLE_ENV = "GREENCODE_BENCH_DOUBLE"  # the node id whose work the conftest doubles

SMALL_PROJECT = {
    "tests/test_work.py": """
        import os

        def spin(n):
            total = 0
            for i in range(n):
                total += i * i
            return total

        def test_heavy():
            spin(200_000 * (2 if os.environ.get("GREENCODE_BENCH_DOUBLE") == "heavy" else 1))

        def test_medium():
            spin(30_000)

        def test_tiny():
            spin(100)
        """,
    "tests/test_many.py": """
        import pytest

        @pytest.mark.parametrize("n", range(40))
        def test_small(n):
            sorted(range(50 + n))
        """,
}

# appended to a unittest test file: the method {cls}.{name} runs its body twice
DOUBLING = """

_greencode_bench_once = {cls}.{name}


def _greencode_bench_twice(self):
    _greencode_bench_once(self)
    _greencode_bench_once(self)


{cls}.{name} = _greencode_bench_twice
"""

# appended to a pytest test file: the function {name} (fixtures and marks kept) runs its body twice
DOUBLING_FUNCTION = """

import functools as _greencode_bench_functools

_greencode_bench_once = {name}


@_greencode_bench_functools.wraps(_greencode_bench_once)
def {name}(*args, **kwargs):
    _greencode_bench_once(*args, **kwargs)
    _greencode_bench_once(*args, **kwargs)
"""

# CPU time of one test's call in a plain process (median of 7 after a warm-up call): argv module, test
TIMING = """
import importlib, statistics, sys, time

module = importlib.import_module(sys.argv[1])
parts = sys.argv[2].split("::")
if len(parts) == 2:
    call = getattr(getattr(module, parts[0])(parts[1]), parts[1])
else:
    call = getattr(module, parts[0])
call()
times = []
for _ in range(7):
    started = time.process_time()
    call()
    times.append(time.process_time() - started)
print(statistics.median(times))
"""


@dataclass
class Tally:
    """What the compares of one suite found."""

    compares: int = 0
    failed: list[int] = field(default_factory=list)
    regressed_tests: int = 0
    inconclusive: int = 0
    extra_rounds: list[int] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    ratios_quiet: list[float] = field(default_factory=list)
    ratios_loaded: list[float] = field(default_factory=list)


def pytest_run(
    root: Path, args: list[str], env: dict[str, str] | None = None, paths: tuple[str, ...] = WHOLE
) -> tuple[float, int]:
    elapsed, result = pytest_session(root, args, env, paths)
    return elapsed, result.returncode


def compare(
    root: Path, name: str, env: dict[str, str] | None = None, paths: tuple[str, ...] = WHOLE
) -> tuple[float, int, dict]:
    results = root / f".bench-{name}.json"
    elapsed, code = pytest_run(
        root, ["--greencode-compare=.bench-baseline.json", f"--greencode-json={results}"], env, paths
    )
    return elapsed, code, json.loads(results.read_text())


def judge(suite: str, root: Path, paths: tuple[str, ...] = WHOLE) -> tuple[Tally, str]:
    """``COMPARES`` compares of ``paths`` (the whole suite, or part of it) against a baseline a warm run of
    the whole suite saved, and whether a doubled test is caught."""
    pytest_run(root, ["-p", "no:greencode"])  # warm-up: bytecode written, caches warm
    pytest_run(root, ["--greencode-save", "--greencode-baseline=.bench-baseline.json"])
    tally = Tally()
    for index in range(COMPARES):
        loaded = index % 2 == 0
        load = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if loaded else None
        try:
            plain, _ = pytest_run(root, ["-p", "no:greencode"], paths=paths)
            elapsed, code, data = compare(root, f"compare-{index}", paths=paths)
        finally:
            if load is not None:
                load.kill()
                load.wait()
        tally.compares += 1
        tally.loads.append(os.getloadavg()[0])
        (tally.ratios_loaded if loaded else tally.ratios_quiet).append(elapsed / plain)
        if code != 0:
            tally.failed.append(index)
        verdicts = [c["verdict"] for c in data["gate"]["comparisons"]]
        tally.regressed_tests += verdicts.count("regression")
        tally.inconclusive += verdicts.count("inconclusive")
        tally.extra_rounds.append(int(data["settings"].get("extra_rounds", 0)))
        flagged = [
            c["node_id"]
            for c in data["gate"]["comparisons"]
            if c["verdict"] in ("regression", "inconclusive")
        ]
        print(  # progress on stderr, so a long run shows what it found so far
            f"{suite} compare {index + 1}/{COMPARES} ({'loaded' if loaded else 'quiet'}): "
            f"{data['gate']['summary']}; {elapsed / plain:.2f}x plain; load {tally.loads[-1]:.1f}; "
            f"flagged {flagged}",
            file=sys.stderr,
            flush=True,
        )
    return tally, doubled_in_part(root, paths[0]) if paths != WHOLE else doubled(suite, root)


def call_time(root: Path, node_id: str, env: dict[str, str] | None = None) -> float:
    """CPU seconds of one call of a test, in a plain process (median of 7)."""
    path, test = node_id.split("::", 1)
    module = path.removesuffix(".py").replace("/", ".")
    result = subprocess.run(
        [sys.executable, "-c", TIMING, module, test],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root), **(env or {})},
    )
    return float(result.stdout.strip())


def doubled_candidates(root: Path) -> list[tuple[str, float]]:
    """The baseline's tests by how near their share of the energy is to 2 %, with that share."""
    entries = json.loads((root / ".bench-baseline.json").read_text())["entries"]
    total = sum(e["runs_j"][-1] for e in entries.values())
    shares = {node: e["runs_j"][-1] / total for node, e in entries.items() if "::" in node.split("::", 1)[1]}
    return sorted(shares.items(), key=lambda item: abs(item[1] - 0.02))


def double_in_file(root: Path, node_id: str) -> str:
    """Append the doubling of a unittest method to its test file; returns the file's text before."""
    path, cls, name = node_id.split("::")
    test_file = root / path
    before = test_file.read_text()
    test_file.write_text(before + DOUBLING.format(cls=cls, name=name))
    return before


def pick_doubled(root: Path) -> tuple[str, float, float, str] | None:
    """The test nearest 2 % of the energy whose doubling took (plain-timing ratio 1.7-2.3), doubled in its
    file: its node id, share, ratio and the file's text before; None when none of the 5 nearest took."""
    for target, fraction in doubled_candidates(root)[:5]:
        once = call_time(root, target)
        before = double_in_file(root, target)
        ratio = call_time(root, target) / once
        if 1.7 <= ratio <= 2.3:
            return target, fraction, ratio, before
        (root / target.split("::")[0]).write_text(before)
    return None


def doubled(suite: str, root: Path) -> str:
    """Whether one compare with one test doing twice its work fails naming that test."""
    restore = None
    if suite == "small project":
        target, env, share = "tests/test_work.py::test_heavy", {DOUBLE_ENV: "heavy"}, ""
        ratio = call_time(root, target, env) / call_time(root, target)
    else:
        picked = pick_doubled(root)
        if picked is None:
            return (
                "MISSED: no test near 2 % of the suite's energy could be doubled (plain-timing ratio not ~2)"
            )
        target, fraction, ratio, restore = picked
        env, share = {}, f" ({100 * fraction:.1f} % of the suite)"
    try:
        _, code, data = compare(root, "doubled", env)
    finally:
        if restore is not None:
            (root / target.split("::")[0]).write_text(restore)
    regressed = [c["node_id"] for c in data["gate"]["comparisons"] if c["verdict"] == "regression"]
    mine = next(c for c in data["gate"]["comparisons"] if c["node_id"] == target)
    caught = code == 1 and target in regressed
    return (
        f"{'caught' if caught else 'MISSED'}: {target}{share}, plain-timing ratio {ratio:.2f}, gate read "
        f"{100 * mine['change']:+.0f} % ({mine['verdict']}); regressions named: {regressed or 'none'}"
    )


def rounds_time(root: Path, node_id: str) -> float:
    """One call of a test taking fixtures, as the median of 7 rounds' estimated energy (CPU time times a
    constant) under ``--greencode`` in a plain pytest process of that test alone."""
    results = root / ".bench-timing.json"
    options = ["--greencode", "--greencode-rounds=7", f"--greencode-json={results}"]
    _, code = pytest_run(root, options, paths=(node_id,))
    if code != 0:
        raise SystemExit(f"timing {node_id} failed (exit {code})")
    (test,) = json.loads(results.read_text())["tests"]
    return float(statistics.median(test["samples_j"]))


def doubled_in_part(root: Path, path: str) -> str:
    """How many of ``DOUBLED_COMPARES`` compares of ``path`` alone, with its largest test doing twice its
    work, fail naming it: the file's 3 largest tests are tried until one's doubling took (ratio 1.7-2.3)."""
    entries = json.loads((root / ".bench-baseline.json").read_text())["entries"]
    ranked = sorted(
        (n for n in entries if n.startswith(f"{path}::")), key=lambda n: -entries[n]["runs_j"][-1]
    )
    test_file = root / path
    before = test_file.read_text()
    for target in ranked[:3]:
        name = target.split("::", 1)[1].split("[", 1)[0]
        once = rounds_time(root, target)
        test_file.write_text(before + DOUBLING_FUNCTION.format(name=name))
        try:
            ratio = rounds_time(root, target) / once
            if not 1.7 <= ratio <= 2.3:
                continue
            runs = [compare(root, f"doubled-{index}", paths=(path,)) for index in range(DOUBLED_COMPARES)]
        finally:
            test_file.write_text(before)
        caught, readings, others = 0, [], set()
        for _, code, data in runs:
            comparisons = data["gate"]["comparisons"]
            regressed = {c["node_id"] for c in comparisons if c["verdict"] == "regression"}
            mine = next(c for c in comparisons if c["node_id"] == target)
            caught += code == 1 and target in regressed
            others |= regressed - {target}
            change = "no reading" if mine["change"] is None else f"{100 * mine['change']:+.0f} %"
            readings.append(f"{change} {mine['verdict']}")
        share = 100 * entries[target]["runs_j"][-1] / sum(e["runs_j"][-1] for e in entries.values())
        return (
            f"caught {caught} of {len(runs)}: {target} ({share:.2f} % of the suite), ratio {ratio:.2f}; gate "
            f"read {', '.join(readings)}; other tests named: {sorted(others) or 'none'}"
        )
    return f"MISSED: no test of {path} could be doubled (ratio not ~2)"


def write_small_project(root: Path) -> None:
    for name, text in SMALL_PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (root / "pyproject.toml").write_text('[tool.greencode]\nmeter = "estimate"\n')


def _median_ratio(ratios: list[float]) -> str:
    """The median compare / plain ratio, or a dash where no compare of that kind ran (one compare: no quiet
    one)."""
    return f"{statistics.median(ratios):.2f}x" if ratios else "-"


def main() -> int:
    rows, notes, alarms = [], [], 0
    with tempfile.TemporaryDirectory() as scratch:
        small = Path(scratch) / "small"
        write_small_project(small)
        suites: list[tuple[str, Path, tuple[str, ...]]] = []
        if ONLY in ("", "small"):
            suites.append(("small project", small, WHOLE))
        if ONLY in ("", "third-party"):
            third = suite_root(Path(scratch) / "sdist")
            if third is not None:
                suites.append(("more-itertools 10.5.0", third, WHOLE))
            else:
                notes.append("more-itertools skipped: the sdist could not be downloaded")
        if ONLY in ("", "partial"):
            tomlkit = unpacked_sdist(TOMLKIT, "GREENCODE_BENCH_TOMLKIT", Path(scratch) / "tomlkit")
            if tomlkit is not None:
                suites += [(f"tomlkit 0.13.2, {path} alone", tomlkit, (path,)) for path in PARTIAL_FILES]
            else:
                notes.append("tomlkit skipped: the sdist could not be downloaded")
        for suite, root, paths in suites:
            tally, caught = judge(suite, root, paths)
            alarms += len(tally.failed)
            rows.append(
                [
                    suite,
                    str(tally.compares),
                    f"{len(tally.failed)}" + (f" (runs {tally.failed})" if tally.failed else ""),
                    str(tally.regressed_tests),
                    str(tally.inconclusive),
                    f"{statistics.median(tally.extra_rounds):g} (max {max(tally.extra_rounds)})",
                    _median_ratio(tally.ratios_quiet),
                    _median_ratio(tally.ratios_loaded),
                    f"{min(tally.loads):.1f}-{max(tally.loads):.1f} "
                    f"(median {statistics.median(tally.loads):.1f})",
                ]
            )
            notes.append(f"{suite}, doubled test: {caught}")
    print_table(
        [
            "suite",
            "compares",
            "false alarms",
            "regressed verdicts",
            "inconclusive",
            "extra rounds (median)",
            "compare / plain, quiet",
            "loaded",
            "load average (1 min)",
        ],
        rows,
    )
    print()
    for note in notes:
        print(note)
    load = os.getloadavg()
    print(
        f"\nmachine: {os.uname().machine}, {os.cpu_count()} logical CPUs, Python {sys.version.split()[0]}, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; half the compares ran beside a process "
        "keeping one core busy"
    )
    return 1 if alarms else 0


if __name__ == "__main__":
    sys.exit(main())
