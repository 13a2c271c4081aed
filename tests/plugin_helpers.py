"""Shared set-up for the pytest plugin's tests: a project using the scripted meter, and git commits."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

SCRIPTED = "greencode.testing:scripted"
# hypothesis' pytest plugin takes most of a pytest start-up; the inner runs do not need it
FAST = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")


def make_project(pytester: pytest.Pytester, tests: str, **settings: Any) -> None:
    """A project whose ``[tool.greencode]`` selects the scripted meter (and ``settings``), and a test file.

    Its repeat budget is the largest allowed unless ``settings`` name one: the default budget is wall time,
    half of a first pass that takes a few milliseconds here, so one slow file write on a busy machine could
    spend it and leave a doubled test unconfirmed. The tests of the budget itself set it."""
    settings.setdefault("repeat_budget", 10)
    lines = ["[tool.greencode]", f'meter = "{SCRIPTED}"']
    for key, value in settings.items():
        lines.append(f"{key} = {json.dumps(value) if not isinstance(value, dict) else _table(value)}")
    pytester.makepyprojecttoml("\n".join(lines) + "\n")
    pytester.makepyfile(test_energy=tests)


def _table(value: dict[str, Any]) -> str:
    return "{ " + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items()) + " }"


def script(monkeypatch: pytest.MonkeyPatch, **spec: Any) -> None:
    """Energies for the scripted meter in this and any child process (see greencode.testing)."""
    monkeypatch.setenv("GREENCODE_SCRIPTED", json.dumps(spec))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*FAST, *args)


def results(pytester: pytest.Pytester, name: str = "results.json") -> dict[str, Any]:
    return json.loads((pytester.path / name).read_text())


def commit_all(pytester: pytest.Pytester) -> None:
    """Make the project a clean git work tree (so repeated saves of it pool their runs)."""
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "project"]):
        subprocess.run(
            ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *command],
            cwd=pytester.path, check=True, capture_output=True,
        )  # fmt: skip
