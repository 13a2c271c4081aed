"""Sharded suites: merging results files, and the gate on the merged file deciding as one job would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_helpers import commit_all, make_project, run, script
from report_inputs import write_results_file
from run_cli import run_greencode

from greencode.config import load_config
from greencode.errors import StoreError
from greencode.merge import merge_results
from greencode.report.gating import gate_input

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

SUITE = "\n".join(f"def test_{i}():\n    pass\n" for i in range(6))


def _verdicts(path: Path, root: Path) -> dict[str, str]:
    config = load_config(root / "pyproject.toml")
    return {c.node_id: c.verdict for c in gate_input(path, config).comparisons}


def test_the_gate_on_merged_shards_decides_as_one_job(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(pytester, SUITE, rounds=3)
    commit_all(pytester)  # saves of a clean commit pool, so the gate knows the run-to-run spread
    script(monkeypatch, energy_j=1.0)
    for _ in range(3):
        run(pytester, "--greencode-save").assert_outcomes(passed=6)
    # test_1 costs 40 % more, test_4 2 % more (within the threshold)
    script(monkeypatch, energy_j=1.0, scale={"test_energy.py::test_1": 1.4, "test_energy.py::test_4": 1.02})
    run(pytester, "--greencode", "--greencode-json=single.json").assert_outcomes(passed=6)
    run(pytester, "--greencode", "--greencode-json=a.json", "-k", "test_0 or test_1 or test_2")
    run(pytester, "--greencode", "--greencode-json=b.json", "-k", "test_3 or test_4 or test_5")
    root = pytester.path

    merged = run_greencode("merge", "a.json", "b.json", "-o", "all.json", cwd=root)
    assert merged.returncode == 0, merged.stderr
    single_verdicts = _verdicts(root / "single.json", root)
    assert _verdicts(root / "all.json", root) == single_verdicts
    assert single_verdicts["test_energy.py::test_1"] == "regression"
    assert single_verdicts["test_energy.py::test_4"] == "unchanged"
    # one shard alone sees only half the suite: the other half is missing, so its decision is not the suite's
    assert _verdicts(root / "a.json", root) != single_verdicts

    for command in (
        ("report", "all.json", "--fail-on", "10%"),
        ("report", "single.json", "--fail-on", "10%"),
        ("gate", "a.json", "b.json", "--fail-on", "10%"),
    ):
        completed = run_greencode(*command, cwd=root)
        assert completed.returncode == 1, (command, completed.stderr)
    gate = run_greencode("gate", "a.json", "b.json", "--fail-on", "10%", cwd=root)
    assert "regression: test_energy.py::test_1" in gate.stdout and "6 tests from 2 files" in gate.stdout


def test_merged_results_hold_every_test_and_name_their_shards(tmp_path: Path) -> None:
    a = write_results_file(tmp_path / "a.json", {"t.py::a": 1.0}, warnings=["slow meter"])
    b = write_results_file(tmp_path / "b.json", {"t.py::b": 2.0})
    merged = merge_results([a, b]).document
    assert [t["node_id"] for t in merged["tests"]] == ["t.py::a", "t.py::b"]
    assert [m["path"] for m in merged["merged_from"]] == [str(a), str(b)]
    assert merged["gate"] is None and merged["warnings"] == ["a.json: slow meter"]


def _with(path: Path, **changes: object) -> Path:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        section, _, field = key.partition("__")
        data[section][field] = value
    path.write_text(json.dumps(data))
    return path


def test_shards_of_different_meters_are_refused(tmp_path: Path) -> None:
    a = write_results_file(tmp_path / "a.json", {"t.py::a": 1.0})
    b = _with(write_results_file(tmp_path / "b.json", {"t.py::b": 1.0}), fingerprint__meter="rapl")
    with pytest.raises(StoreError, match=r"b\.json: measured with meter 'rapl'.*--allow-mixed"):
        merge_results([a, b])


def test_shards_of_different_machines_are_refused_unless_allowed(tmp_path: Path) -> None:
    a = write_results_file(tmp_path / "a.json", {"t.py::a": 1.0})
    b = _with(write_results_file(tmp_path / "b.json", {"t.py::b": 1.0}), fingerprint__cpu_model="Xeon")
    with pytest.raises(StoreError, match=r"another kind of machine.*CPU"):
        merge_results([a, b])
    assert len(merge_results([a, b], allow_mixed=True).document["tests"]) == 2
    completed = run_greencode("merge", str(a), str(b), "-o", str(tmp_path / "all.json"), cwd=tmp_path)
    assert completed.returncode == 2 and len(completed.stderr.strip().splitlines()) == 1


def test_a_test_in_two_shards_is_refused(tmp_path: Path) -> None:
    a = write_results_file(tmp_path / "a.json", {"t.py::a": 1.0})
    b = write_results_file(tmp_path / "b.json", {"t.py::a": 1.0})
    with pytest.raises(StoreError, match=r"t\.py::a was measured in .*a\.json too"):
        merge_results([a, b])


def test_shards_of_different_commits_are_refused(tmp_path: Path) -> None:
    a = write_results_file(tmp_path / "a.json", {"t.py::a": 1.0})
    b = _with(write_results_file(tmp_path / "b.json", {"t.py::b": 1.0}), run__commit="b" * 40)
    with pytest.raises(StoreError, match="merge shards of one commit"):
        merge_results([a, b], allow_mixed=True)


def test_marker_budgets_of_a_shard_are_checked_on_the_merged_results(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = (
        "import pytest\n\ndef test_a():\n    pass\n\n"
        "@pytest.mark.energy_budget(joules=0.5)\ndef test_b():\n    pass\n"
    )
    make_project(pytester, suite)
    script(monkeypatch, energy_j=1.0)
    run(pytester, "--greencode", "--greencode-json=a.json", "-k", "test_a")
    run(pytester, "--greencode", "--greencode-json=b.json", "-k", "test_b")
    root = pytester.path
    assert run_greencode("merge", "a.json", "b.json", "-o", "all.json", cwd=root).returncode == 0
    report = run_greencode("report", "all.json", "--fail-on", "10%", cwd=root)
    gate = run_greencode("gate", "a.json", "b.json", cwd=root)
    assert report.returncode == 1 and gate.returncode == 1, report.stderr + gate.stderr
    assert "over budget: test_energy.py::test_b" in gate.stdout
