"""greencode scan --profile FILE.lprof: a line_profiler file gives each finding the time of its own line."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from line_profiler import LineProfiler
from run_cli import run_greencode as greencode

from greencode.config import Config
from greencode.errors import ConfigError
from greencode.tactics.hotness import load_profile
from greencode.tactics.scanner import Finding, rank, scan_paths

WORDS = """\
import re


def tokens(words):
    count = 0
    for word in words:
        if re.search("a+b", word):
            count += 1
        if word == "rare":
            re.match("x", word)
    return count


def lengths(words):
    return [
        re.match("[a-z]+", word)
        for word in words
    ]


def idle(words):
    for word in words:
        re.search("z", word)


def unprofiled(words):
    for word in words:
        re.search("q", word)
"""


def line_profile(project: Path) -> Path:
    """Run tokens() and lengths() under line_profiler, with idle() profiled but never called."""
    (project / "words.py").write_text(WORDS, encoding="utf-8")
    namespace: dict[str, Any] = {}
    exec(compile(WORDS, str(project / "words.py"), "exec"), namespace)
    profiler = LineProfiler()
    for name in ("tokens", "lengths", "idle"):
        profiler.add_function(namespace[name])
    words = ["aab", "cd"] * 500
    profiler.runcall(namespace["tokens"], words)
    profiler.runcall(namespace["lengths"], words)
    profiler.dump_stats(str(project / "prof.lprof"))
    return project / "prof.lprof"


def finding_at(project: Path, line: int) -> Finding:
    findings = scan_paths(["words.py"], Config(root=project)).findings
    return next(f for f in findings if f.line == line)


def test_a_finding_takes_the_time_of_its_own_line(project: Path) -> None:
    profile = load_profile(line_profile(project))
    share, hot = profile.cost_of(finding_at(project, 7))
    assert share is not None and 0 < share <= 1
    assert hot is not None and hot.startswith("line 7 took ")
    assert hot.endswith(" of the time of the longest profiled function in prof.lprof")


def test_a_line_that_never_ran_in_a_function_that_ran_says_so(project: Path) -> None:
    profile = load_profile(line_profile(project))
    assert profile.cost_of(finding_at(project, 10)) == (
        0.0,
        "line 10 was not seen running in prof.lprof (its function tokens() ran)",
    )


def test_a_rare_branch_ranks_after_the_line_that_runs_per_item(project: Path) -> None:
    profile = load_profile(line_profile(project))
    ranked = rank(scan_paths(["words.py"], Config(root=project)), profile.cost_of).findings
    lines = [f.line for f in ranked]
    # measured first, then unprofiled code (line 28), then lines measured idle
    assert lines.index(7) < lines.index(28) < lines.index(10)


def test_a_finding_inside_a_comprehension_is_not_called_idle(project: Path) -> None:
    # on CPython 3.11 the comprehension is a code object of its own, which line_profiler does not see:
    # its time is the time of the line that starts it
    profile = load_profile(line_profile(project))
    share, hot = profile.cost_of(finding_at(project, 16))
    assert share is not None and share > 0
    assert hot is not None and "not seen running" not in hot


def test_a_profiled_function_that_never_ran_is_not_seen_running(project: Path) -> None:
    profile = load_profile(line_profile(project))
    assert profile.cost_of(finding_at(project, 23)) == (0.0, "idle() was not seen running in prof.lprof")


def test_a_function_line_profiler_was_not_told_to_profile_is_unmeasured(project: Path) -> None:
    # line_profiler only sees what it was given: absence says nothing of whether the code ran
    profile = load_profile(line_profile(project))
    assert profile.cost_of(finding_at(project, 28)) == (None, None)


def test_cli_profile_prints_the_line_time_beside_the_finding(project: Path) -> None:
    line_profile(project)
    result = greencode("scan", "--profile", "prof.lprof", "words.py", cwd=project)
    assert result.returncode == 1, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("words.py:") and "took" in first and "prof.lprof" in first


class _Remove:
    """Unpickles into a call of os.remove: what a hostile 'profile' would do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return os.remove, (str(self.path),)


def test_a_pickle_that_is_not_line_profilers_is_refused_without_running_it(project: Path) -> None:
    marker = project / "keep-me"
    marker.write_text("x", encoding="utf-8")
    (project / "evil.lprof").write_bytes(pickle.dumps(_Remove(marker), protocol=4))
    with pytest.raises(ConfigError, match=r"evil\.lprof: not a line_profiler file"):
        load_profile(project / "evil.lprof")
    assert marker.exists()


def _fake_line_stats(timings: object, unit: object = 1e-6) -> bytes:
    # protocol 2 names classes as text, so the stand-in can take line_profiler's name
    data = pickle.dumps(SimpleNamespace(timings=timings, unit=unit), protocol=2)
    return data.replace(b"ctypes\nSimpleNamespace\n", b"cline_profiler.line_profiler\nLineStats\n")


@pytest.mark.parametrize(
    ("timings", "unit"),
    [
        ([1, 2], 1e-6),
        ({("a.py", 1, "f"): [(2, 3)]}, 1e-6),
        ({("a.py", 1, "f"): [(2, 3, -1.0)]}, 1e-6),
        ({("a.py", 1, "f"): [(2, 3, 4.0)]}, 0),
    ],
    ids=["timings-not-a-dict", "short-line", "negative-time", "zero-unit"],
)
def test_a_line_profiler_file_of_another_shape_is_one_clear_error(
    project: Path, timings: object, unit: object
) -> None:
    (project / "odd.lprof").write_bytes(_fake_line_stats(timings, unit))
    with pytest.raises(ConfigError, match=r"odd\.lprof: not a line_profiler file greencode can read"):
        load_profile(project / "odd.lprof")


def test_a_well_formed_stand_in_reads_like_line_profilers_own(project: Path) -> None:
    # the check above is of the shape, not of the fake: a correct file of the same making is read
    (project / "words.py").write_text(WORDS, encoding="utf-8")
    timings = {(str(project / "words.py"), 4, "tokens"): [(6, 10, 10.0), (7, 9, 30.0)]}
    (project / "ok.lprof").write_bytes(_fake_line_stats(timings))
    share, hot = load_profile(project / "ok.lprof").cost_of(finding_at(project, 7))
    assert share == 0.75 and hot is not None and hot.startswith("line 7 took 75 %")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_any_bytes_that_look_like_a_pickle_read_or_fail_with_one_clear_error(
    tmp_path: Path, tail: bytes
) -> None:
    path = tmp_path / "fuzz.lprof"
    path.write_bytes(b"\x80" + tail)
    try:
        load_profile(path)
    except ConfigError as exc:
        assert "fuzz.lprof" in str(exc)


METHODS = """\
import re


class Reader:
    def read(self, lines):
        for line in lines:
            re.match("a", line)
"""


def test_a_method_named_without_its_class_as_line_profiler_4_does_is_matched(project: Path) -> None:
    (project / "reader.py").write_text(METHODS, encoding="utf-8")
    timings = {(str(project / "reader.py"), 5, "read"): [(6, 11, 1.0), (7, 10, 3.0)]}
    (project / "v4.lprof").write_bytes(_fake_line_stats(timings))
    finding = scan_paths(["reader.py"], Config(root=project)).findings[0]
    assert finding.function == "Reader.read"
    share, hot = load_profile(project / "v4.lprof").cost_of(finding)
    assert share == 0.75 and hot is not None and hot.startswith("line 7 took 75 %")
