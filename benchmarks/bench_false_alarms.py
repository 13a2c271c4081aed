"""False alarms of the stored-baseline gate on unchanged code, on a noisy machine, and whether a doubled test
is still caught (issue 17.4).

Two suites: a small project (one ~20 ms test, one ~3 ms test, one ~10 µs test and 40 tests of some
microseconds in a second file) and more-itertools' own tests from its sdist (664 tests). For each: a warm-up
run (bytecode written, caches warm), one ``--greencode-save``, then ``COMPARES`` unchanged
``--greencode-compare`` runs with the defaults — half of them while another process keeps one core busy
(alternating: loaded, quiet, loaded, ...) — each beside a plain run (``-p no:greencode``) of the same tests
for the cost. Then one compare in which one test does twice its work: in the small project the ~20 ms test,
in more-itertools the test nearest 2 % of the suite's energy (its method runs twice, patched in by a
conftest written into the unpacked sdist). A false alarm is a compare that fails the gate; the table also
counts regressed and inconclusive verdicts (of tests and of files' small tests) and the extra rounds.

``GREENCODE_BENCH_COMPARES`` (default 20) sets the compares per suite, ``GREENCODE_BENCH_ONLY`` (``small``
or ``third-party``) runs one suite; ``GREENCODE_BENCH_SUITE`` an
unpacked more-itertools sdist (else it is downloaded, as in ``bench_third_party.py``; skipped if that fails).
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
from bench_third_party import suite_root

COMPARES = int(os.environ.get("GREENCODE_BENCH_COMPARES", "20"))
ONLY = os.environ.get("GREENCODE_BENCH_ONLY", "")  # "small" or "third-party": one suite only
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

# doubles the call of the test named in GREENCODE_BENCH_DOUBLE (a unittest method: it runs twice)
DOUBLING_CONFTEST = f"""
import os

def pytest_collection_modifyitems(items):
    target = os.environ.get("{DOUBLE_ENV}")
    for item in items:
        if item.nodeid == target and getattr(item, "cls", None) is not None:
            original = getattr(item.cls, item.name)

            def twice(self, _original=original):
                _original(self)
                _original(self)

            setattr(item.cls, item.name, twice)
"""


@dataclass
class Tally:
    """What the compares of one suite found."""

    compares: int = 0
    failed: list[int] = field(default_factory=list)
    regressed_tests: int = 0
    inconclusive: int = 0
    extra_rounds: list[int] = field(default_factory=list)
    ratios_quiet: list[float] = field(default_factory=list)
    ratios_loaded: list[float] = field(default_factory=list)


def pytest_run(root: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    elapsed, result = pytest_session(root, args, env)
    return elapsed, result.returncode


def compare(root: Path, name: str, env: dict[str, str] | None = None) -> tuple[float, int, dict]:
    results = root / f".bench-{name}.json"
    elapsed, code = pytest_run(
        root, ["--greencode-compare=.bench-baseline.json", f"--greencode-json={results}"], env
    )
    return elapsed, code, json.loads(results.read_text())


def judge(suite: str, root: Path) -> tuple[Tally, str]:
    pytest_run(root, ["-p", "no:greencode"])  # warm-up: bytecode written, caches warm
    pytest_run(root, ["--greencode-save", "--greencode-baseline=.bench-baseline.json"])
    tally = Tally()
    for index in range(COMPARES):
        loaded = index % 2 == 0
        load = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if loaded else None
        try:
            plain, _ = pytest_run(root, ["-p", "no:greencode"])
            elapsed, code, data = compare(root, f"compare-{index}")
        finally:
            if load is not None:
                load.kill()
                load.wait()
        tally.compares += 1
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
            f"{data['gate']['summary']}; {elapsed / plain:.2f}x plain; flagged {flagged}",
            file=sys.stderr,
            flush=True,
        )
    return tally, doubled(suite, root)


def doubled(suite: str, root: Path) -> str:
    """Whether one compare with one test doing twice its work fails naming that test."""
    if suite == "small project":
        target, env = "tests/test_work.py::test_heavy", {DOUBLE_ENV: "heavy"}
    else:
        baseline = json.loads((root / ".bench-baseline.json").read_text())["entries"]
        total = sum(e["runs_j"][-1] for e in baseline.values())
        target = min(baseline, key=lambda n: abs(baseline[n]["runs_j"][-1] / total - 0.02))
        (root / "tests" / "conftest.py").write_text(DOUBLING_CONFTEST)
        env = {DOUBLE_ENV: target}
    _, code, data = compare(root, "doubled", env)
    regressed = [c["node_id"] for c in data["gate"]["comparisons"] if c["verdict"] == "regression"]
    caught = code == 1 and target in regressed
    share = ""
    if suite != "small project":
        share = f" ({100 * baseline[target]['runs_j'][-1] / total:.1f} % of the suite)"
    return f"{'caught' if caught else 'MISSED'}: {target}{share}; regressions named: {regressed or 'none'}"


def write_small_project(root: Path) -> None:
    for name, text in SMALL_PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (root / "pyproject.toml").write_text('[tool.greencode]\nmeter = "estimate"\n')


def main() -> int:
    rows, notes, alarms = [], [], 0
    with tempfile.TemporaryDirectory() as scratch:
        small = Path(scratch) / "small"
        write_small_project(small)
        suites = [] if ONLY == "third-party" else [("small project", small)]
        third = None if ONLY == "small" else suite_root(Path(scratch) / "sdist")
        if third is not None:
            suites.append(("more-itertools 10.5.0", third))
        elif ONLY != "small":
            notes.append("more-itertools skipped: the sdist could not be downloaded")
        for suite, root in suites:
            tally, caught = judge(suite, root)
            alarms += len(tally.failed)
            rows.append(
                [
                    suite,
                    str(tally.compares),
                    f"{len(tally.failed)}" + (f" (runs {tally.failed})" if tally.failed else ""),
                    str(tally.regressed_tests),
                    str(tally.inconclusive),
                    f"{statistics.median(tally.extra_rounds):g} (max {max(tally.extra_rounds)})",
                    f"{statistics.median(tally.ratios_quiet):.2f}x",
                    f"{statistics.median(tally.ratios_loaded):.2f}x",
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
