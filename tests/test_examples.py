"""The examples for developers keep working: the decorator script and the pytest project's gate settings."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from run_cli import run_greencode

from greencode.config import load_config

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_the_decorator_example_runs_and_labels_its_figures(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "decorator.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "serialise:" in result.stdout and "per call" in result.stdout
    assert "estimated" in result.stdout or "measured" in result.stdout
    assert "greencode: parse:" in result.stderr  # the decorator's own line, from the print sink


def test_the_pytest_project_configures_the_gate_and_budgets() -> None:
    config = load_config(EXAMPLES / "pytest_project" / "pyproject.toml")
    assert str(config.fail_on) == "10%" and config.min_effect_j == 0.005
    assert config.budgets == {"tests/test_wordstats.py::test_words_*": 0.2}


def test_the_pytest_project_passes_its_budgets_with_greencode(tmp_path: Path) -> None:
    project = tmp_path / "pytest_project"
    shutil.copytree(
        EXAMPLES / "pytest_project", project, ignore=shutil.ignore_patterns(".greencode", "__pycache__")
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--greencode", "-p", "no:cacheprovider", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "budgets: passed" in result.stdout


def test_the_ci_example_runs_the_commands_greencode_has(tmp_path: Path) -> None:
    workflow = (EXAMPLES / "ci" / "github-actions.yml").read_text(encoding="utf-8")
    assert "pytest --greencode --greencode-json energy.json" in workflow
    assert "greencode ab -- tests" in workflow
    assert run_greencode("ab", "--help", cwd=tmp_path).returncode == 0
