"""What the ``instructions`` meter costs under callgrind: per window, per suite, on disk, and the trampoline.

Not part of ``run_all.py``: it needs Valgrind and takes minutes. Three measurements, each a table:

``window``      one process under callgrind opens empty windows and times each step of one (the dump
                callgrind writes, greencode reading it, the per-function parse), after importing pytest so
                that callgrind holds as much translated code as in a real session.
``trampoline``  instructions of three workloads with CPython's perf trampoline off and on (Python 3.12+).
``suite DIR``   a third-party suite plainly and twice under ``pytest --greencode --greencode-meter
                instructions``: slowdown (CPU and wall), per-test spread between the two instrumented runs,
                the largest size the dump directory reached, and what was left behind.

    python benchmarks/instructions_costs.py window [--python PY]
    python benchmarks/instructions_costs.py trampoline [--python PY3.12]
    python benchmarks/instructions_costs.py suite /tmp/more-itertools-10.5.0 [--tests tests/test_recipes.py]

The machine is shared and noisy: CPU seconds of the child processes are printed beside wall seconds, and
the per-window figures are medians of 20 windows.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from _table import percentile, print_table
from _timing import timed_run

ROOT = Path(__file__).resolve().parents[1]

WINDOW_PROGRAM = r"""
import json, os, statistics, sys, time
import pytest  # a real session's amount of translated code
from greencode.config import Config
from greencode.meters import callgrind
from greencode.meters.instructions import create
from greencode.meters.valgrind import DUMP_STATS_AT, TOGGLE_COLLECT, ZERO_STATS

def work():
    return sum(range(200))

def timed(step, n=20):
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        step()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)

out = {}
for functions in (False, True):
    meter = create(Config(), functions=functions)
    def window():
        meter.start().stop()
    timed(window, 3)
    out["window, per-function costs" if functions else "window, counts only"] = timed(window)
    meter.close()
meter = create(Config(), functions=True)
backend = meter.backend
requests, pattern, pid = backend._requests, backend._pattern, os.getpid()
out["client request alone (RUNNING_ON_VALGRIND)"] = timed(lambda: requests.running_on_valgrind())
out["ZERO_STATS"] = timed(lambda: requests(ZERO_STATS))
sizes = []
def dump_only():
    requests(TOGGLE_COLLECT); work(); requests(TOGGLE_COLLECT)
    requests.labelled(DUMP_STATS_AT, "bench")
def dump_and_delete():
    dump_only()
    for _, path in callgrind.dump_files(pattern, pid):
        sizes.append(path.stat().st_size)
        path.unlink()
out["DUMP_STATS_AT (callgrind writes the dump) + listing + delete"] = timed(dump_and_delete)
out["listing the dump directory"] = timed(lambda: callgrind.dump_files(pattern, pid))
dump_only()
(_, path), = callgrind.dump_files(pattern, pid)
sizes.append(path.stat().st_size)
out["reading the summary (under Valgrind)"] = timed(lambda: callgrind.read_summary(path))
path.unlink()
parser = callgrind.NativeParser()
def dump_and_parse():
    dump_only()
    for _, path in callgrind.dump_files(pattern, pid):
        parser.functions(path, backend._perf_map)  # the helper deletes what it parsed
out["DUMP_STATS_AT + listing + per-function parse in the native helper"] = timed(dump_and_parse)
parser.close()
meter.close()
print(json.dumps({"seconds": out, "dump_bytes": sizes}))
"""

TRAMPOLINE_PROGRAM = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
from instructions_per_cpu_second import workload
from greencode.config import Config
from greencode.meters.instructions import create

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def loop(n):
    total = 0
    for i in range(n):
        total += i % 7
    return total

meter = create(Config(), functions=sys.argv[1] == "on")
workload(); fib(5); loop(10)  # translated once before counting
out = {}
for name, call in (("mixed", workload), ("calls (fib 20)", lambda: fib(20)), ("loop", lambda: loop(200000))):
    window = meter.start()
    call()
    out[name] = window.stop().counts["instructions"]
meter.close()
print(json.dumps(out))
"""


def _environment(python: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GREENCODE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "plugins"), _libraries(python)]))
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def _libraries(python: str) -> str:
    # another interpreter than this one runs pytest from this one's site-packages (pure Python)
    if Path(python).resolve() == Path(sys.executable).resolve():
        return ""
    import pytest

    return str(Path(pytest.__file__).resolve().parents[1])


#: extra options for valgrind (--valgrind-option), to compare callgrind settings
VALGRIND_OPTIONS: list[str] = []


def _under_callgrind(python: str, program: str, *args: str) -> dict[str, object]:
    from greencode.meters.valgrind import CALLGRIND_OUT_ENV, callgrind_command

    with tempfile.TemporaryDirectory(prefix="greencode-bench-") as scratch:
        pattern = Path(scratch) / "callgrind.out.%p"
        env = {**_environment(python), CALLGRIND_OUT_ENV: str(pattern)}
        command = callgrind_command([python, "-c", program, *args], pattern)
        command[1:1] = VALGRIND_OPTIONS
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"under callgrind: {done.stderr.strip()[-2000:]}")
        return json.loads(done.stdout.splitlines()[-1])


def window(python: str) -> None:
    found = _under_callgrind(python, WINDOW_PROGRAM)
    seconds = found["seconds"]
    assert isinstance(seconds, dict)
    print_table(
        ["step (median of 20, under callgrind)", "ms"], [[k, f"{v * 1e3:.1f}"] for k, v in seconds.items()]
    )
    sizes = found["dump_bytes"]
    assert isinstance(sizes, list)
    print(
        f"\nsize of one empty window's dump: median {statistics.median(sizes) / 1024:.0f} KiB, largest "
        f"{max(sizes) / 1024:.0f} KiB"
    )


def trampoline(python: str) -> None:
    benchmarks = str(Path(__file__).resolve().parent)
    off = _under_callgrind(python, TRAMPOLINE_PROGRAM, "off", benchmarks)
    on = _under_callgrind(python, TRAMPOLINE_PROGRAM, "on", benchmarks)
    rows = []
    for name, before in off.items():
        after = on[name]
        assert isinstance(before, int) and isinstance(after, int)
        rows.append([name, f"{before:,}", f"{after:,}", f"{(after / before - 1) * 100:+.3f} %"])
    print_table(["workload", "trampoline off", "on", "change"], rows)


class _DiskWatch:
    """The largest total size of greencode's callgrind dump directories under ``temp`` while a run goes on."""

    def __init__(self, temp: Path) -> None:
        self.temp = temp
        self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            total = 0
            for directory in self.temp.glob("greencode-callgrind-*"):
                try:
                    total += sum(entry.stat().st_size for entry in os.scandir(directory))
                except OSError:  # removed meanwhile
                    continue
            self.largest = max(self.largest, total)

    def __enter__(self) -> _DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _leftovers(temp: Path, suite: Path) -> list[str]:
    """greencode's files left in the runs' private temporary directory, and perf maps (CPython writes them
    to /tmp whatever TMPDIR says) that name the suite's files."""
    left = [str(path) for path in temp.iterdir() if path.name.startswith("greencode-")]
    for path in glob.glob("/tmp/perf-*.map"):
        try:
            if str(suite) in Path(path).read_text(errors="replace"):
                left.append(path)
        except OSError:
            continue
    return left


def suite(directory: Path, tests: str, python: str, plain_runs: int) -> None:
    env = {
        **_environment(python),
        "PYTHONPATH": os.pathsep.join([str(directory), _environment(python)["PYTHONPATH"]]),
    }
    base = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", tests]
    plain = [(cpu, wall) for wall, cpu, _ in (timed_run(base, directory, env) for _ in range(plain_runs))]
    plain_cpu = statistics.median(cpu for cpu, _ in plain)
    plain_wall = statistics.median(wall for _, wall in plain)
    instrumented = []
    counts = []
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as scratch:
        temp = Path(scratch) / "tmp"  # the runs' TMPDIR: their dump directories and nobody else's
        temp.mkdir()
        with _DiskWatch(temp) as disk:
            for run in range(2):
                output = Path(scratch) / f"run{run}.json"
                command = [
                    *base,
                    "--greencode",
                    "--greencode-meter=instructions",
                    f"--greencode-json={output}",
                ]
                wall, cpu, _ = timed_run(command, directory, {**env, "TMPDIR": str(temp)})
                instrumented.append((cpu, wall))
                data = json.loads(output.read_text())
                counts.append(
                    {t["node_id"]: t["instructions"] for t in data["tests"] if t.get("instructions")}
                )
        left = _leftovers(temp, directory)
    print_table(
        ["run", "CPU s", "wall s", "× plain (CPU)", "× plain (wall)"],
        [[f"plain (median of {plain_runs})", f"{plain_cpu:.1f}", f"{plain_wall:.1f}", "1", "1"]]
        + [
            [
                f"instrumented #{i + 1}",
                f"{cpu:.1f}",
                f"{wall:.1f}",
                f"{cpu / plain_cpu:.0f}",
                f"{wall / plain_wall:.0f}",
            ]
            for i, (cpu, wall) in enumerate(instrumented)
        ],
    )
    common = sorted(set(counts[0]) & set(counts[1]))
    spreads = [abs(counts[1][n] - counts[0][n]) / ((counts[0][n] + counts[1][n]) / 2) for n in common]
    worst = max(common, key=lambda n: abs(counts[1][n] - counts[0][n]) / counts[0][n])
    print(
        f"\nper-test difference between the two instrumented runs ({len(common)} tests): median "
        f"{statistics.median(spreads) * 100:.3f} %, p90 {percentile(spreads, 0.9) * 100:.3f} %, largest "
        f"{max(spreads) * 100:.3f} % ({worst}: {counts[0][worst]:,} / {counts[1][worst]:,}); "
        f"within 0.5 %: {sum(s <= 0.005 for s in spreads)} of {len(spreads)}"
    )
    print(f"largest size of the dump directory during the runs: {disk.largest / 1024:.0f} KiB")
    print(f"left behind (dump directories, perf maps): {', '.join(left) if left else 'nothing'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["window", "trampoline", "suite"])
    parser.add_argument("directory", nargs="?", type=Path, help="the suite's checkout (suite)")
    parser.add_argument("--tests", default="tests", help="test path inside the suite (default: tests)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure")
    parser.add_argument("--plain-runs", type=int, default=3)
    parser.add_argument("--valgrind-option", action="append", default=[], help="e.g. --dump-line=no")
    args = parser.parse_args()
    VALGRIND_OPTIONS.extend(args.valgrind_option)
    if args.what == "window":
        window(args.python)
    elif args.what == "trampoline":
        trampoline(args.python)
    else:
        if args.directory is None:
            parser.error("suite needs the suite's directory")
        suite(args.directory.resolve(), args.tests, args.python, args.plain_runs)


if __name__ == "__main__":
    main()
