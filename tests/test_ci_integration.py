"""The GitHub Action (action.yml) and the pre-commit hook (.pre-commit-hooks.yaml), run as CI runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason='PyYAML missing: pip install -e ".[test]"')
ROOT = Path(__file__).resolve().parents[1]


def _action() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def _step(name: str) -> dict[str, Any]:
    (step,) = [s for s in _action()["runs"]["steps"] if s.get("id") == name]
    return step


def test_the_action_is_composite_and_refers_only_to_its_own_inputs_and_steps() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    text = (ROOT / "action.yml").read_text()
    assert set(re.findall(r"inputs\.([\w-]+)", text)) <= set(action["inputs"])
    steps = {s.get("id") for s in action["runs"]["steps"]}
    assert set(re.findall(r"steps\.([\w-]+)\.", text)) <= steps
    uses = [s["uses"] for s in action["runs"]["steps"] if "uses" in s]
    assert uses == ["github/codeql-action/upload-sarif@v3"]
    for step in action["runs"]["steps"]:  # inputs reach scripts as variables, never pasted into them
        assert "${{" not in step.get("run", ""), step["name"]


def _run_step(step: dict[str, Any], project: Path, inputs: dict[str, str]) -> tuple[int, dict[str, str]]:
    """Run a composite step's script as the runner does: its env with the inputs substituted, bash -e."""
    output = project / "github-output"
    output.write_text("")
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(project / "summary.md")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    defaults = {name: str(spec.get("default", "")) for name, spec in _action()["inputs"].items()}
    for key, value in step.get("env", {}).items():
        env[key] = re.sub(
            r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: {**defaults, **inputs}[m.group(1)], value
        )
    completed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return completed.returncode, outputs


def _project(tmp_path: Path) -> Path:
    """A project measured with the scripted meter (energies from GREENCODE_SCRIPTED)."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.greencode]\nmeter = "greencode.testing:scripted"\nrounds = 2\n'
    )
    (tmp_path / "test_energy.py").write_text("def test_a():\n    pass\n")
    return tmp_path


def test_the_gate_step_in_pytest_mode_passes_unchanged_code_and_writes_results_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    monkeypatch.setenv("GREENCODE_SCRIPTED", json.dumps({"energy_j": 1.0}))
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--greencode-save"],
        cwd=project, check=True, capture_output=True,
    )  # fmt: skip
    status, outputs = _run_step(
        _step("gate"), project, {"mode": "pytest", "pytest-args": "-p no:cacheprovider"}
    )
    assert status == 0 and outputs["exit-code"] == "0"
    assert json.loads((project / "greencode-energy.json").read_text())["schema"] == "greencode-results"
    assert "test_a" in (project / "summary.md").read_text()


def test_the_gate_step_keeps_a_failing_gates_status_for_the_verdict_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    status, outputs = _run_step(_step("gate"), project, {"mode": "nonsense"})
    assert status == 0 and outputs["exit-code"] == "2"  # the step itself goes on, so SARIF is uploaded
    verdict = next(s for s in _action()["runs"]["steps"] if s["name"] == "Verdict")
    completed = subprocess.run(["bash", "-c", verdict["run"]], env={**os.environ, "STATUS": "2"}, check=False)
    assert completed.returncode == 2


def test_the_scan_step_writes_sarif_even_with_findings(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(
        "import time\n\ndef wait(flag):\n    while not flag.is_set():\n        time.sleep(0.01)\n"
    )
    status, outputs = _run_step(_step("scan"), tmp_path, {})
    assert status == 0 and outputs["sarif"] == "greencode.sarif"
    sarif = json.loads((tmp_path / "greencode.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]


def test_the_pre_commit_hook_scans_the_files_it_is_given(tmp_path: Path) -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "greencode-scan" and hook["language"] == "python" and hook["types"] == ["python"]
    (tmp_path / "slow.py").write_text(
        "import time\n\ndef wait(flag):\n    while not flag.is_set():\n        time.sleep(0.01)\n"
    )
    (tmp_path / "fine.py").write_text("def add(a, b):\n    return a + b\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    entry = hook["entry"].split()
    found = subprocess.run([*entry, "slow.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    clean = subprocess.run([*entry, "fine.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert found.returncode == 1 and "slow.py" in found.stdout
    assert clean.returncode == 0, clean.stdout + clean.stderr
