"""The instruction meter under a real Valgrind: small programs, each a few seconds under callgrind."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from run_cli import run_greencode
from trampoline_python import NO_PYTHON_REASON, PYTHON, environment

from greencode.meters.valgrind import (
    CALLGRIND_OUT_ENV,
    INSTALL_HINT,
    ClientRequests,
    callgrind_command,
    running_on_valgrind,
)

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason=INSTALL_HINT)

#: the start of the programs below: a meter, and some work for its windows
WORK = """
import json, os, sys
from greencode.config import Config
from greencode.meters.instructions import create

def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total

meter = create(Config())
"""

PROGRAM = (
    WORK
    + """
work(10)  # the first call of anything pays for Valgrind translating it; keep that out of the comparison
results = {}
outer = meter.start()
work(5000)
inner = meter.start()
work(20000)
results["inner"] = inner.stop().counts["instructions"]
work(5000)
results["outer"] = outer.stop().counts["instructions"]
alone = meter.start()
work(20000)
reading = alone.stop()
results["alone"] = reading.counts["instructions"]
results["functions"] = sorted(reading.functions, key=reading.functions.get, reverse=True)[:3]
results["dumps"] = meter.backend.dumps
meter.close()
print(json.dumps(results))
"""
)


def _run_under_callgrind(
    tmp_path: Path, program: str, *extra: str, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "callgrind.out.%p"
    command = callgrind_command([python, "-c", program], out)
    command[-3:-3] = list(extra)  # after greencode's own options, so that they win
    env = {**(os.environ if python == sys.executable else environment(tmp_path)), "PYTHONHASHSEED": "0"}
    env[CALLGRIND_OUT_ENV] = str(out)
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


def _printed_on_python_312(tmp_path: Path, program: str) -> Any:
    """The JSON that ``program`` printed last, run on CPython 3.12+ under callgrind (it must succeed)."""
    assert PYTHON is not None
    done = _run_under_callgrind(tmp_path, program, python=PYTHON)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_client_requests_on_a_real_cpu_return_the_default() -> None:
    requests = ClientRequests()
    assert requests(0x1001, default=7) == 7
    assert not running_on_valgrind()


def test_an_unknown_architecture_is_unavailable_saying_which() -> None:
    from greencode.errors import MeterUnavailable

    with pytest.raises(MeterUnavailable, match="'sparc64' architecture"):
        ClientRequests("sparc64")


@needs_valgrind
def test_nested_windows_under_callgrind_count_the_same_work_alike(tmp_path: Path) -> None:
    done = _run_under_callgrind(tmp_path, PROGRAM)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.splitlines()[-1])
    assert results["inner"] == pytest.approx(results["alone"], rel=0.002)
    # the outer window holds the inner one and two quarter-size pieces of work around it
    assert results["outer"] > results["inner"] * 1.4
    assert any("PyEval" in name or "long" in name for name in results["functions"])
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.count(".") == 3]  # callgrind.out.PID.N
    assert leftovers == [], "every dump the meter read was deleted"


@needs_valgrind
def test_callgrind_collecting_from_the_start_is_refused_with_the_fix(tmp_path: Path) -> None:
    program = "from greencode.config import Config\nfrom greencode.meters.instructions import create\n"
    program += "create(Config())\n"
    done = _run_under_callgrind(tmp_path, program, "--collect-atstart=yes")
    assert "--collect-atstart=no" in done.stderr


NAMES_PROGRAM = """
import json, os
from greencode.config import Config
from greencode.meters.instructions import create

def inner(n):
    return sum(i * i for i in range(n))

def outer(n):
    total = 0
    for i in range(n):
        total += i % 3
    return total + inner(n)

meter = create(Config())
outer(10)
window = meter.start()
outer(20000)
reading = window.stop()
meter.close()
counted = reading.counts["instructions"]
print(json.dumps({"pid": os.getpid(), "counted": counted, "functions": reading.functions}))
"""


@needs_valgrind
@pytest.mark.skipif(PYTHON is None, reason=NO_PYTHON_REASON)
def test_python_functions_are_named_by_their_own_cost_and_the_perf_map_is_removed(tmp_path: Path) -> None:
    found = _printed_on_python_312(tmp_path, NAMES_PROGRAM)
    functions = found["functions"]
    python = ["<string>:outer", "<string>:inner", "<string>:inner.<locals>.<genexpr>"]
    assert list(functions)[:3] == sorted(python, key=functions.get, reverse=True)
    # own costs: outer's excludes inner's and the generator's, so the three add up to at most the window
    assert sum(functions[name] for name in python) <= found["counted"]
    assert all(functions[name] > 0.05 * found["counted"] for name in python)
    assert not Path(f"/tmp/perf-{found['pid']}.map").exists()


STALE_PROGRAM = """
import json, os, shutil
from pathlib import Path
from greencode.config import Config
from greencode.meters.instructions import create

def squares(n):
    return sum(i * i for i in range(n))

planted = Path("dead.map")
if planted.exists():  # what a dead process that had this pid left behind
    shutil.copy(planted, f"/tmp/perf-{os.getpid()}.map")
meter = create(Config())
window = meter.start()
squares(20000)
reading = window.stop()
if not planted.exists():
    shutil.copy(f"/tmp/perf-{os.getpid()}.map", "own.map")
meter.close()
print(json.dumps(sorted(reading.functions)))
"""


@needs_valgrind
@pytest.mark.skipif(PYTHON is None, reason=NO_PYTHON_REASON)
def test_python_functions_are_named_by_this_process_not_by_a_dead_ones_map_at_its_pid(tmp_path: Path) -> None:
    _printed_on_python_312(tmp_path, STALE_PROGRAM)
    # the same program's map with every name changed: under Valgrind the trampolines land at the same
    # addresses run after run, as they would for a dead process with this pid and randomisation off
    own = (tmp_path / "own.map").read_text()
    (tmp_path / "dead.map").write_text(re.sub(r" py::[^\n]*", " py::zz_stale:/dead.py", own))
    functions = _printed_on_python_312(tmp_path, STALE_PROGRAM)
    assert "<string>:squares" in functions
    assert [name for name in functions if "dead.py" in name] == []


LAZY_PROGRAM = """
import json, sys
sys.path.insert(0, ".")
from greencode.config import Config
from greencode.meters.instructions import create

meter = create(Config())
window = meter.start()
import lazy  # imported inside the window, as a test's lazy import is
counted = window.stop().counts["instructions"]
meter.close()
print(json.dumps(counted))
"""


@needs_valgrind
def test_a_lazy_import_counts_alike_in_a_fresh_tree_and_a_used_one_once_both_are_precompiled(
    tmp_path: Path,
) -> None:
    """An A/A run of greencode ab: a fresh worktree (no ``__pycache__``) against the user's tree, whose
    bytecode an earlier run wrote. Unless both are precompiled, the fresh one compiles ``lazy.py`` inside the
    window (always so under ``PYTHONDONTWRITEBYTECODE``) and counts a third more."""
    import py_compile

    from greencode.bytecode import precompile

    source = "\n".join(f"def f{i}(x):\n    return [x * {i} for _ in range(3)]\n" for i in range(40))
    fresh, used = tmp_path / "a", tmp_path / "b"
    for tree in (fresh, used):
        tree.mkdir()
        (tree / "lazy.py").write_text(source)
    py_compile.compile(str(used / "lazy.py"))
    counts = []
    for tree in (fresh, used):
        precompile(tree, os.environ)  # what greencode ab does for each side before measuring
        done = _run_under_callgrind(tree, LAZY_PROGRAM)
        assert done.returncode == 0, done.stderr
        counts.append(json.loads(done.stdout.splitlines()[-1]))
    assert counts[0] == pytest.approx(counts[1], rel=0.005)


HISTORY_PROGRAM = """
import gc, json, sys
from greencode.config import Config
from greencode.meters.instructions import create

def checksum(data):
    total = 0
    for byte in data:
        total = (total * 31 + byte) % 65521
    return total

DATA = bytes(range(256)) * 32
meter = create(Config(), functions=False)
checksum(DATA)
counts, kept = [], []
for shift in range(12):
    kept.append("x" * (8 * shift + 1))  # allocations before the window, as a longer path or environment makes
    kept.append([0] * shift)
    gc.collect()
    window = meter.start()
    checksum(DATA)
    counts.append(window.stop().counts["instructions"])
meter.close()
open(sys.argv[1], "w").write(json.dumps(counts))
"""


@needs_valgrind
def test_the_same_loop_counts_alike_whatever_the_process_allocated_before_it(tmp_path: Path) -> None:
    # under pymalloc the loop's frees cost what the pools' fill happens to make them: 2.9 % apart here
    (tmp_path / "program.py").write_text(HISTORY_PROGRAM)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONMALLOC"}
    done = run_greencode("valgrind", "--", sys.executable, "program.py", "counts.json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    counts = json.loads((tmp_path / "counts.json").read_text())
    assert (max(counts) - min(counts)) / min(counts) < 0.002, counts


FORK_PROGRAM = (
    WORK
    + """
work(10)
child = os.fork() == 0
window = meter.start()
work(20000)
reading = window.stop()
# one write of the whole line: print() writes the text and its newline apart when output is unbuffered
# (PYTHONUNBUFFERED), and the two processes' lines could then interleave
os.write(1, (json.dumps({"child": child, "instructions": reading.counts["instructions"]}) + "\\n").encode())
meter.close()
if not child:
    os.wait()
"""
)


@needs_valgrind
def test_a_forked_child_under_callgrind_reads_its_own_dumps_and_leaves_the_parents(tmp_path: Path) -> None:
    done = _run_under_callgrind(tmp_path, FORK_PROGRAM, "--trace-children=yes")
    assert done.returncode == 0, done.stderr
    readings = {r["child"]: r["instructions"] for r in map(json.loads, done.stdout.splitlines()[-2:])}
    assert readings[True] == pytest.approx(readings[False], rel=0.002)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.count(".") == 3]  # callgrind.out.PID.N
    assert leftovers == [], "each process read (and deleted) the dumps it asked for"
