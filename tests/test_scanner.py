"""greencode scan as a whole: files, suppression, configuration, skipped files, formats, command line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from run_cli import run_greencode as greencode

from greencode.config import Config, ScanConfig
from greencode.errors import ConfigError
from greencode.tactics import scanner
from greencode.tactics.catalogue import load_catalogue
from greencode.tactics.rules import RULES, RULES_BY_ID
from greencode.tactics.sarif import to_sarif
from greencode.tactics.scanner import iter_python_files, scan_paths, scan_source, select_rules
from greencode.tactics.suppression import read_suppressions

# one finding of GRN001 (line 3) and one of GRN025 (line 4), both in a loop of unknown size: high impact
TWO_FINDINGS = (
    "def f(lines, ys):\n    for x in lines:\n        found = x in list(ys)\n        first = sorted(x)[0]\n"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def config(tmp_path: Path, **scan: tuple[str, ...]) -> Config:
    return Config(root=tmp_path, scan=ScanConfig(**scan))


# -- suppression ---------------------------------------------------------------------------------------------


def test_ignore_comment_suppresses_the_named_rule_on_its_line() -> None:
    code = "total = sum([x for x in xs])  # greencode: ignore[GRN010]\nfirst = sorted(xs)[0]\n"
    assert [f.rule for f in scan_source(code)] == ["GRN025"]


def test_ignore_comment_leaves_other_rules_on_the_line() -> None:
    code = "total = sum([x for x in xs])  # greencode: ignore[GRN025]\n"
    assert [f.rule for f in scan_source(code)] == ["GRN010"]


def test_ignore_comment_takes_a_comma_separated_list() -> None:
    code = "t = sum([x for x in sorted(xs)[0]])  # greencode: ignore[GRN025, grn010]\n"
    assert scan_source(code) == []


def test_bare_ignore_comment_suppresses_every_rule_on_the_line() -> None:
    code = "t = sum([x for x in sorted(xs)[0]])  # greencode: ignore\n"
    assert scan_source(code) == []


def test_ignore_comment_on_a_loop_header_suppresses_a_loop_finding() -> None:
    code = "for n in [m for m in ms]:  # greencode: ignore[GRN011]\n    print(n)\n"
    assert scan_source(code) == []


@given(st.sets(st.sampled_from([r.id for r in RULES]), min_size=1), st.sampled_from([r.id for r in RULES]))
def test_a_listed_rule_is_suppressed_and_an_unlisted_one_is_not(listed: set[str], rule: str) -> None:
    comment = "x = 1  # greencode: ignore[" + ", ".join(sorted(listed)) + "]\n"
    assert read_suppressions(comment, "a.py", RULES_BY_ID).silences(1, rule) == (rule in listed)


def test_suppressed_findings_are_counted(project: Path) -> None:
    write(project / "a.py", "total = sum([x for x in xs])  # greencode: ignore[GRN010]\n")
    report = scan_paths([project], config(project))
    assert (report.findings, report.suppressed) == ((), 1)


# -- positions -----------------------------------------------------------------------------------------------


def test_columns_count_characters_not_bytes() -> None:
    (finding,) = scan_source('name = "Zoë"; first = sorted(xs)[0]\n')
    assert finding.column == 23


def test_source_with_a_coding_cookie_is_read_in_its_encoding(project: Path) -> None:
    path = project / "latin.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\ns = '\xe9'; first = sorted(xs)[0]\n")
    (finding,) = scan_paths([path], config(project)).findings
    assert (finding.line, finding.column) == (2, 18)


# -- files that cannot be scanned ----------------------------------------------------------------------------


def test_syntax_error_file_is_reported_and_skipped_and_the_scan_goes_on(project: Path) -> None:
    write(project / "broken.py", "def f(:\n    pass\n")
    write(project / "fine.py", TWO_FINDINGS)
    report = scan_paths([project], config(project))
    (skipped,) = report.skipped
    assert skipped.path == "broken.py" and skipped.line == 1 and "syntax error" in skipped.reason
    assert report.files == 2 and {f.path for f in report.findings} == {"fine.py"}


@pytest.mark.parametrize("content", [b"x = 1\0\n", b"s = '\xff\xfe'\n"], ids=["null-byte", "bad-utf8"])
def test_undecodable_file_is_reported_and_skipped(project: Path, content: bytes) -> None:
    (project / "odd.py").write_bytes(content)
    (skipped,) = scan_paths([project], config(project)).skipped
    assert skipped.path == "odd.py"


def test_scan_source_raises_syntax_error_for_callers_to_handle() -> None:
    with pytest.raises(SyntaxError):
        scan_source("def f(:\n")


# -- selection and configuration -----------------------------------------------------------------------------


def test_select_by_rule_id_prefix_and_tactic_id() -> None:
    assert [r.id for r in select_rules(["GRN02"])] == [r.id for r in RULES if r.id.startswith("GRN02")]
    assert {r.id for r in select_rules(["GT-WT-01"])} == {"GRN008", "GRN009"}
    assert {r.id for r in select_rules(["gt-ds-02"])} == {"GRN002", "GRN003"}


def test_ignore_is_applied_after_select() -> None:
    assert [r.id for r in select_rules(["ALL"], ["GRN00", "GRN01"])] == [
        r.id for r in RULES if r.id >= "GRN020"
    ]


def test_unknown_selector_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="'GRN999'"):
        select_rules(["GRN999"], where="pyproject.toml [tool.greencode]")


def test_config_select_and_ignore_choose_the_rules(project: Path) -> None:
    write(project / "a.py", TWO_FINDINGS)
    assert {f.rule for f in scan_paths([project], config(project, select=("GRN025",))).findings} == {"GRN025"}
    assert {f.rule for f in scan_paths([project], config(project, ignore=("GRN025",))).findings} == {"GRN001"}


def test_command_line_select_replaces_and_ignore_adds_to_the_config(project: Path) -> None:
    write(project / "a.py", TWO_FINDINGS)
    cfg = config(project, select=("GRN025",), ignore=("GRN002",))
    assert {f.rule for f in scan_paths([project], cfg, select=["GRN001"]).findings} == {"GRN001"}
    assert scan_paths([project], config(project), ignore=["GRN001", "GRN025"]).findings == ()


def test_exclude_component_pattern_skips_matching_directories_and_files(project: Path) -> None:
    write(project / "app" / "migrations" / "m1.py", TWO_FINDINGS)
    write(project / "app" / "gen_pb2.py", TWO_FINDINGS)
    write(project / "app" / "core.py", TWO_FINDINGS)
    report = scan_paths([project], config(project, exclude=("migrations", "*_pb2.py")))
    assert {f.path for f in report.findings} == {"app/core.py"} and report.files == 1


def test_exclude_path_glob_is_relative_to_the_project_root(project: Path) -> None:
    write(project / "tests" / "fixtures" / "bad.py", TWO_FINDINGS)
    write(project / "src" / "tests" / "ok.py", TWO_FINDINGS)
    report = scan_paths([project], config(project, exclude=("tests/fixtures",)), include_tests=True)
    assert {f.path for f in report.findings} == {"src/tests/ok.py"}


def test_exclude_applies_to_files_named_explicitly(project: Path) -> None:
    path = write(project / "gen_pb2.py", TWO_FINDINGS)
    assert scan_paths([path], config(project, exclude=("*_pb2.py",))).files == 0


def test_directory_walk_skips_hidden_and_build_directories_but_not_named_files(project: Path) -> None:
    for name in (".venv/lib.py", "build/x.py", "__pycache__/y.py", "pkg/node_modules/z.py", "pkg/real.py"):
        write(project / name, "x = 1\n")
    found = [p.relative_to(project).as_posix() for p in iter_python_files([project], (), project)]
    assert found == ["pkg/real.py"]
    assert list(iter_python_files([project / "build" / "x.py"], (), project)) == [project / "build" / "x.py"]


def test_missing_path_is_a_usage_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="no-such-dir"):
        scan_paths([project / "no-such-dir"], config(project))


def test_a_process_pool_finds_the_same_as_one_process(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(6):
        write(project / f"m{index}.py", TWO_FINDINGS if index % 2 else "x = 1\n")
    write(project / "broken.py", "def f(:\n")
    serial = scan_paths([project], config(project), jobs=1)
    monkeypatch.setattr(scanner, "PARALLEL_MIN_FILES", 2)
    parallel = scan_paths([project], config(project), jobs=2)
    assert (parallel.findings, parallel.skipped, parallel.files) == (
        serial.findings,
        serial.skipped,
        serial.files,
    )
    assert len(serial.findings) == 6


# -- report formats ------------------------------------------------------------------------------------------


def test_json_report_lists_findings_and_skipped_files(project: Path) -> None:
    write(project / "a.py", TWO_FINDINGS)
    write(project / "b.py", "def f(:\n")
    data = json.loads(json.dumps(scan_paths([project], config(project)).to_dict()))
    assert data["version"] == 2 and data["files"] == 2
    assert [(f["path"], f["line"], f["rule"], f["tactic"]) for f in data["findings"]] == [
        ("a.py", 3, "GRN001", "GT-DS-01"),
        ("a.py", 4, "GRN025", "GT-LP-04"),
    ]
    assert data["skipped"][0]["path"] == "b.py"


def sarif_of(project: Path, **scan: tuple[str, ...]) -> dict:
    return to_sarif(scan_paths([project], config(project, **scan)), project)


def test_sarif_has_the_2_1_0_envelope(project: Path) -> None:
    write(project / "a.py", TWO_FINDINGS)
    log = sarif_of(project)
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "greencode"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.absolute().as_uri() + "/"


def test_sarif_describes_every_rule_that_ran_with_help_and_a_tactic_link(project: Path) -> None:
    write(project / "a.py", TWO_FINDINGS)
    rules = sarif_of(project, ignore=("GRN002",))["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.id for r in RULES if r.id != "GRN002"]
    catalogue = load_catalogue()
    for descriptor in rules:
        tactic = catalogue.get(RULES_BY_ID[descriptor["id"]].tactic)
        assert descriptor["shortDescription"]["text"] and descriptor["fullDescription"]["text"]
        assert tactic.id in descriptor["help"]["text"] and tactic.id in descriptor["help"]["markdown"]
        assert "helpUri" not in descriptor  # no address is published: no link that leads nowhere
        assert tactic.id in descriptor["properties"]["tags"]


def test_sarif_results_point_at_their_rule_and_location(project: Path) -> None:
    write(project / "src" / "a.py", TWO_FINDINGS)
    run = sarif_of(project)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    first, second = run["results"]
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"] == "GRN001"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "src/a.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 17, "endLine": 3, "endColumn": 30}
    assert second["ruleId"] == "GRN025" and first["level"] == "warning"
    assert "GT-DS-01" in first["message"]["text"]


def test_sarif_reports_skipped_files_as_notifications(project: Path) -> None:
    write(project / "broken.py", "def f(:\n")
    invocation = sarif_of(project)["runs"][0]["invocations"][0]
    (notification,) = invocation["toolExecutionNotifications"]
    assert invocation["executionSuccessful"] is True
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"
    assert "syntax error" in notification["message"]["text"]


# -- command line --------------------------------------------------------------------------------------------


def test_cli_exits_1_and_prints_findings_when_there_are_any(tmp_path: Path) -> None:
    write(tmp_path / "a.py", TWO_FINDINGS)
    result = greencode("scan", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("a.py:3:17: GRN001 ")
    assert "2 findings in 1 of 1 file" in result.stderr


def test_cli_exits_3_on_clean_code_with_a_skipped_file(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "x = 1\n")
    write(tmp_path / "broken.py", "def f(:\n")
    result = greencode("scan", ".", cwd=tmp_path)
    assert result.returncode == 3 and result.stdout == ""
    assert "broken.py:1: not scanned: syntax error" in result.stderr


def test_cli_exits_2_on_an_unknown_rule_with_one_line(tmp_path: Path) -> None:
    result = greencode("scan", "--select", "NOPE", cwd=tmp_path)
    assert result.returncode == 2 and "'NOPE'" in result.stderr and "Traceback" not in result.stderr


def test_cli_exits_2_on_a_missing_path(tmp_path: Path) -> None:
    result = greencode("scan", "missing", cwd=tmp_path)
    assert result.returncode == 2 and "missing: no such file or directory" in result.stderr


def test_cli_reads_scan_settings_from_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.greencode.scan]\nignore = ["GRN025"]\nexclude = ["vendor"]\n')
    write(tmp_path / "a.py", TWO_FINDINGS)
    write(tmp_path / "vendor" / "b.py", TWO_FINDINGS)
    result = greencode("scan", "--format", "json", cwd=tmp_path)
    data = json.loads(result.stdout)
    assert [(f["path"], f["rule"]) for f in data["findings"]] == [("a.py", "GRN001")]


def test_cli_select_and_ignore_accept_comma_lists(tmp_path: Path) -> None:
    write(tmp_path / "a.py", TWO_FINDINGS)
    result = greencode(
        "scan", "--select", "GRN001,GRN025", "--ignore", "GRN001", "--format", "json", cwd=tmp_path
    )
    assert [f["rule"] for f in json.loads(result.stdout)["findings"]] == ["GRN025"]


def test_cli_writes_sarif_to_the_output_file(tmp_path: Path) -> None:
    write(tmp_path / "a.py", TWO_FINDINGS)
    result = greencode("scan", "--format", "sarif", "--output", "out/greencode.sarif", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    log = json.loads((tmp_path / "out" / "greencode.sarif").read_text(encoding="utf-8"))
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["GRN001", "GRN025"]


def test_cli_lists_the_rules(tmp_path: Path) -> None:
    result = greencode("scan", "--list-rules", cwd=tmp_path)
    assert result.returncode == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == [r.id for r in RULES]


def test_suppression_finds_its_line_after_form_feeds_in_the_source() -> None:
    code = "x = 1\n\f\ny = 2  # \x0b\nfirst = sorted(xs)[0]  # greencode: ignore[GRN025]\n"
    assert scan_source(code) == []
