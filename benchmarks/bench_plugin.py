"""What the pytest plugin costs a 1,000-test synthetic suite.

Targets (issue: pytest plugin): installed but not enabled, within 2 % of pytest with ``-p no:greencode``;
enabled with the estimator and one round, at most 100 µs of overhead per test beyond the measured work.

Each configuration runs the suite in its own pytest process, interleaved (A B C A B C ...) so drifts in the
machine's speed hit all of them alike; the tables show medians. A conftest in the suite times two spans with
``perf_counter``: the whole session (configure to unconfigure: the plugin's imports and its once-per-session
work — meters, fingerprint, git state, history — included) and the tests themselves (first test's start to
last test's finish). The per-test overhead is the difference in the second span divided by the number of
tests; the one-off cost is the rest.

On a shared machine other processes slow some runs down by far more than the plugin costs. The checks
therefore use the fastest run of each configuration (as ``timeit`` does: interference only ever adds time),
and the table also shows the median of the paired differences (runs of one round of the interleaving saw
similar machine conditions) so the spread stays visible.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import print_table

TESTS = 1000
REPEAT = 7
CONFIGS = {
    "without the plugin (-p no:greencode)": ["-p", "no:greencode"],
    "installed, not enabled": [],
    "enabled: estimator, 1 round": ["--greencode", "--greencode-meter=estimate", "--greencode-rounds=1"],
}
TIMER = """
import json, time

_times = {}


def pytest_configure(config):
    _times["configure"] = time.perf_counter()


def pytest_runtest_logstart(nodeid, location):
    _times.setdefault("first", time.perf_counter())


def pytest_runtest_logfinish(nodeid, location):
    _times["last"] = time.perf_counter()


def pytest_unconfigure(config):
    end = time.perf_counter()
    with open("timing.json", "w") as handle:
        json.dump({"session": end - _times["configure"], "tests": _times["last"] - _times["first"]}, handle)
"""


def write_suite(directory: Path, tests: int) -> None:
    files = 10
    for index in range(files):
        body = "".join(
            f"def test_{index}_{n}():\n    assert {n} + 1 > {n}\n\n" for n in range(tests // files)
        )
        (directory / f"test_synthetic_{index}.py").write_text(body, encoding="utf-8")
    (directory / "conftest.py").write_text(TIMER, encoding="utf-8")
    # a configuration file here stops greencode and pytest from searching above the suite
    (directory / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", encoding="utf-8")


def timed_run(directory: Path, options: list[str]) -> dict[str, float]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
               "-p", "no:xdist", "-p", "no:benchmark", *options]  # fmt: skip
    completed = subprocess.run(command, cwd=directory, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(
            f"pytest failed ({completed.returncode}):\n{completed.stdout[-2000:]}{completed.stderr}"
        )
    timing: dict[str, float] = json.loads((directory / "timing.json").read_text(encoding="utf-8"))
    return timing


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="greencode-bench-plugin-") as name:
        directory = Path(name)
        write_suite(directory, TESTS)
        timed_run(directory, [])  # warm the file system and bytecode caches
        runs: dict[str, list[dict[str, float]]] = {label: [] for label in CONFIGS}
        for _ in range(REPEAT):
            for label, options in CONFIGS.items():
                runs[label].append(timed_run(directory, options))
    median = {label: {span: statistics.median(r[span] for r in found) for span in ("session", "tests")}
              for label, found in runs.items()}  # fmt: skip
    print(f"{TESTS} trivial tests, median of {REPEAT} runs per configuration")
    print_table(
        ["configuration", "session (s)", "tests (s)", "per test (µs)"],
        [[label, f"{m['session']:.3f}", f"{m['tests']:.3f}", f"{m['tests'] / TESTS * 1e6:.0f}"]
         for label, m in median.items()],
    )  # fmt: skip
    print()
    labels = list(CONFIGS)
    fastest = {
        label: {span: min(r[span] for r in runs[label]) for span in ("session", "tests")} for label in labels
    }
    off, disabled, enabled = (fastest[label] for label in labels)
    relative = (disabled["session"] - off["session"]) / off["session"]
    per_test = (enabled["tests"] - disabled["tests"]) / TESTS * 1e6
    one_off = (enabled["session"] - enabled["tests"]) - (disabled["session"] - disabled["tests"])
    paired = statistics.median(
        (on["tests"] - plain["tests"]) / TESTS * 1e6
        for plain, on in zip(runs[labels[1]], runs[labels[2]], strict=True)
    )
    print_table(
        ["check", "measured", "target", ""],
        [
            ["installed, not enabled vs without (session, fastest runs)", f"{relative * 100:+.1f} %",
             "at most +2 %", "ok" if relative <= 0.02 else "OVER"],
            ["enabled: overhead per test (fastest runs)", f"{per_test:.0f} µs", "<= 100 µs",
             "ok" if per_test <= 100 else "OVER"],
            ["enabled: overhead per test, median of paired differences", f"{paired:.0f} µs", "", ""],
            ["enabled: once per session (imports, meters, git, history)", f"{one_off * 1e3:.0f} ms", "", ""],
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
