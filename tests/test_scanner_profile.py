"""greencode scan --profile: findings ranked by the measured cost of the code around them."""

from __future__ import annotations

import cProfile
import json
from pathlib import Path
from typing import Any

import pytest
from run_cli import run_greencode as greencode

from greencode.config import Config
from greencode.errors import ConfigError
from greencode.tactics.hotness import load_profile
from greencode.tactics.scanner import rank, scan_paths

WORK = """\
import re


def parse(lines):
    for line in lines:
        re.search("a+b", line)


def cold(lines):
    for line in lines:
        re.match("x", line)


def unmeasured(lines):
    for line in lines:
        re.match("y", line)
"""


@pytest.fixture
def project(project: Path) -> Path:
    (project / "pkg").mkdir()
    (project / "pkg" / "work.py").write_text(WORK, encoding="utf-8")
    (project / "other.py").write_text(WORK, encoding="utf-8")
    return project


def costs(path: Path, functions: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"schema": "greencode-costs", "unit": "instructions", "functions": functions}))
    return path


def test_findings_are_ranked_by_the_measured_cost_of_their_function(project: Path) -> None:
    profile = costs(
        project / "c.json",
        [
            {"file": "pkg/work.py", "function": "cold", "cost": 10},
            {"file": "pkg/work.py", "function": "parse", "cost": 30},
        ],
    )
    report = rank(scan_paths(["pkg"], Config(root=project)), load_profile(profile).cost_of)
    assert [f.function for f in report.findings] == ["parse", "cold", "unmeasured"]
    assert report.findings[0].hot == "in parse(), 75 % of the instructions in c.json"
    assert report.findings[0].share == 0.75


def test_measured_code_that_cost_nothing_ranks_after_unmeasured_code(project: Path) -> None:
    profile = costs(project / "c.json", [{"file": "pkg/work.py", "function": "parse", "cost": 5}])
    report = rank(scan_paths(["pkg", "other.py"], Config(root=project)), load_profile(profile).cost_of)
    order = [(f.path, f.function, f.share) for f in report.findings]
    assert order[0] == ("pkg/work.py", "parse", 1.0)
    assert [o[2] for o in order[1:]] == [None, None, None, 0.0, 0.0]


def test_a_cprofile_dump_ranks_the_function_that_ran(project: Path) -> None:
    namespace: dict[str, object] = {}
    exec(compile(WORK, str(project / "pkg" / "work.py"), "exec"), namespace)
    profiler = cProfile.Profile()
    profiler.runcall(namespace["parse"], ["aab"] * 2000)  # type: ignore[arg-type]
    profiler.dump_stats(project / "prof.out")
    report = rank(scan_paths(["pkg"], Config(root=project)), load_profile(project / "prof.out").cost_of)
    first = report.findings[0]
    assert first.function == "parse" and first.hot is not None and "of the profiled time" in first.hot


def test_a_pytest_node_id_maps_to_its_file_and_function(project: Path) -> None:
    from greencode.tactics.hotness import _node_entry

    entry = _node_entry("tests/test_a.py::TestX::test_b[1-2]", 0.5)
    assert entry is not None
    assert (entry.file, entry.function, entry.cost) == ("tests/test_a.py", "test_b", 0.5)


def test_cli_profile_prints_the_share_beside_the_finding(project: Path) -> None:
    costs(project / "c.json", [{"file": "pkg/work.py", "function": "parse", "cost": 1}])
    result = greencode("scan", "--profile", "c.json", "pkg", cwd=project)
    assert result.returncode == 1
    assert "in parse(), 100 % of the instructions in c.json" in result.stdout.splitlines()[0]


@pytest.mark.parametrize(
    "content",
    [b"not a profile", b'{"schema": "greencode-costs", "functions": [{"file": "a.py", "cost": -1}]}', b"{"],
    ids=["garbage", "negative-cost", "bad-json"],
)
def test_an_unreadable_profile_is_one_clear_error(project: Path, content: bytes) -> None:
    (project / "p").write_bytes(content)
    with pytest.raises(ConfigError, match="--profile"):
        load_profile(project / "p")


def test_cli_unreadable_profile_exits_2_without_a_traceback(project: Path) -> None:
    (project / "p").write_bytes(b"garbage")
    result = greencode("scan", "--profile", "p", "pkg", cwd=project)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "--profile p" in result.stderr


CALLGRIND = """\
# callgrind format
version: 1
pid: 4242
events: Ir
summary: 1000

ob=(1) /usr/bin/python3.12
fl=(1) ???
fn=(1) _PyEval_EvalFrameDefault
0 100
cfn=(2) 0x0000000000001004
calls=1 0
0 600
cfn=(3) 0x0000000000002004
calls=1 0
0 300
fn=(2)
0 600
fn=(3)
0 300
totals: 1000
"""


def test_a_callgrind_dump_ranks_python_functions_named_by_the_perf_map(project: Path) -> None:
    (project / "callgrind.out.4242.1").write_text(CALLGRIND, encoding="utf-8")
    work = project / "pkg" / "work.py"
    (project / "perf-4242.map").write_text(f"1000 10 py::parse:{work}\n2000 10 py::cold:{work}\n")
    report = rank(
        scan_paths(["pkg"], Config(root=project)), load_profile(project / "callgrind.out.4242.1").cost_of
    )
    assert [(f.function, f.share) for f in report.findings] == [
        ("parse", 0.6),
        ("cold", 0.3),
        ("unmeasured", 0.0),
    ]
    assert report.findings[0].hot == "in parse(), 60 % of the instructions in callgrind.out.4242.1"


def test_a_callgrind_dump_without_a_perf_map_says_how_to_get_one(project: Path) -> None:
    (project / "callgrind.out.4243.1").write_text(CALLGRIND.replace("4242", "4243"), encoding="utf-8")
    with pytest.raises(ConfigError, match="perf map"):
        load_profile(project / "callgrind.out.4243.1")


PLAIN_LOOPS = """\
def hot(items, wanted):
    allowed = list(wanted)
    return [x for x in items if x in allowed]


def lukewarm(items, wanted):
    allowed = list(wanted)
    return [x for x in items if x in allowed]
"""


def test_a_plain_loop_finding_in_code_measured_hot_is_shown_by_default(project: Path) -> None:
    (project / "plain.py").write_text(PLAIN_LOOPS, encoding="utf-8")
    profile = costs(
        project / "c.json",
        [
            {"file": "plain.py", "function": "hot", "cost": 99},
            {"file": "plain.py", "function": "lukewarm", "cost": 1},
        ],
    )
    report = scan_paths(["plain.py"], Config(root=project))
    assert [f.shown_by_default for f in report.findings] == [False, False]  # one plain loop each
    ranked = rank(report, load_profile(profile).cost_of)
    # 99 % of the measured cost is hot; 1 % is under the 5 % a function needs to count as hot
    assert [(f.function, f.shown_by_default) for f in ranked.findings] == [("hot", True), ("lukewarm", False)]


TWO_PARSERS = """\
import re


class Fenced:
    def parse(self, lines):
        for line in lines:
            re.match("`+", line)


class Heading:
    def parse(self, lines):
        for line in lines:
            re.match("#+", line)
"""


def profile_parsers(project: Path, fenced_lines: int, heading_lines: int) -> Path:
    namespace: dict[str, Any] = {}
    exec(compile(TWO_PARSERS, str(project / "blocks.py"), "exec"), namespace)
    profiler = cProfile.Profile()
    if fenced_lines:
        profiler.runcall(namespace["Fenced"]().parse, ["``"] * fenced_lines)
    profiler.runcall(namespace["Heading"]().parse, ["##"] * heading_lines)
    profiler.dump_stats(project / "prof.out")
    return project / "prof.out"


def test_methods_of_one_name_in_one_file_each_get_their_own_cprofile_time(project: Path) -> None:
    (project / "blocks.py").write_text(TWO_PARSERS, encoding="utf-8")
    profile = load_profile(profile_parsers(project, fenced_lines=50, heading_lines=20000))
    shares = {
        f.function: f.share
        for f in rank(scan_paths(["blocks.py"], Config(root=project)), profile.cost_of).findings
    }
    # cProfile names both "parse"; summed, each would read as the two together
    assert shares["Fenced.parse"] is not None and shares["Heading.parse"] is not None
    assert shares["Fenced.parse"] < 0.1 < shares["Heading.parse"]


def test_a_method_that_never_ran_is_not_given_the_time_of_a_later_one_of_the_same_name(project: Path) -> None:
    (project / "blocks.py").write_text(TWO_PARSERS, encoding="utf-8")
    profile = load_profile(profile_parsers(project, fenced_lines=0, heading_lines=2000))
    fenced = next(
        f for f in scan_paths(["blocks.py"], Config(root=project)).findings if f.function == "Fenced.parse"
    )
    assert profile.cost_of(fenced) == (0.0, "Fenced.parse() was not seen running in prof.out")


def test_min_share_leaves_measured_findings_under_it_to_all(project: Path) -> None:
    profile = costs(
        project / "c.json",
        [
            {"file": "pkg/work.py", "function": "parse", "cost": 99},
            {"file": "pkg/work.py", "function": "cold", "cost": 1},
        ],
    )
    report = rank(scan_paths(["pkg"], Config(root=project)), load_profile(profile).cost_of, min_share=0.05)
    assert [f.function for f in report.shown()] == ["parse"]  # cold() at 1 %; unmeasured() never ran
    assert [f.function for f in report.shown(everything=True)] == ["parse", "cold", "unmeasured"]


def test_min_share_leaves_out_code_measured_idle(project: Path) -> None:
    # "not seen running" is a share of zero: under any floor above it
    profile = costs(project / "c.json", [{"file": "pkg/work.py", "function": "parse", "cost": 1}])
    ranked = rank(scan_paths(["pkg"], Config(root=project)), load_profile(profile).cost_of, min_share=0.01)
    assert [f.function for f in ranked.shown()] == ["parse"]
    floor_zero = rank(scan_paths(["pkg"], Config(root=project)), load_profile(profile).cost_of, min_share=0.0)
    assert [f.function for f in floor_zero.shown()] == ["parse", "cold", "unmeasured"]


def test_min_share_keeps_findings_in_unmeasured_files_on_the_static_rule(project: Path) -> None:
    profile = costs(project / "c.json", [{"file": "pkg/work.py", "function": "parse", "cost": 1}])
    report = rank(
        scan_paths(["pkg", "other.py"], Config(root=project)), load_profile(profile).cost_of, min_share=0.5
    )
    assert [(f.path, f.function) for f in report.shown()][1:] == [
        ("other.py", "parse"),
        ("other.py", "cold"),
        ("other.py", "unmeasured"),
    ]


def test_summary_counts_the_findings_left_under_min_share(project: Path) -> None:
    profile = costs(project / "c.json", [{"file": "pkg/work.py", "function": "parse", "cost": 1}])
    report = rank(scan_paths(["pkg"], Config(root=project)), load_profile(profile).cost_of, min_share=0.01)
    assert "(2 under --min-share: --all shows them)" in report.summary()
    assert "--min-share" not in report.summary(everything=True)


def test_cli_min_share_without_a_profile_is_a_usage_error(project: Path) -> None:
    result = greencode("scan", "--min-share", "1", "pkg", cwd=project)
    assert result.returncode == 2 and "--min-share needs --profile" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("value", ["x", "-1", "101", "nan"])
def test_cli_min_share_outside_0_to_100_is_refused(project: Path, value: str) -> None:
    costs(project / "c.json", [{"file": "pkg/work.py", "function": "parse", "cost": 1}])
    result = greencode("scan", "--profile", "c.json", "--min-share", value, "pkg", cwd=project)
    assert result.returncode == 2 and "not a percentage from 0 to 100" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_min_share_is_a_percentage(project: Path) -> None:
    costs(
        project / "c.json",
        [
            {"file": "pkg/work.py", "function": "parse", "cost": 98},
            {"file": "pkg/work.py", "function": "cold", "cost": 2},
        ],
    )
    result = greencode("scan", "--profile", "c.json", "--min-share", "5", "pkg", cwd=project)
    assert result.returncode == 1
    assert [line.split(":")[1] for line in result.stdout.splitlines()] == ["6"]  # parse(); cold() at 2 %
