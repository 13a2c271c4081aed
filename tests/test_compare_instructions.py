"""greencode compare --meter instructions re-runs itself under callgrind where it must, as the plugin does."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest

from greencode.cli import main
from greencode.meters import instructions_launch


def test_compare_with_the_instructions_meter_reruns_the_same_command_under_callgrind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    launched: list[list[str]] = []

    def launch(argv: Sequence[str], config: object, **_: object) -> int:
        launched.append(list(argv))
        return 0

    argv = ["compare", "a.py:run", "b.py:run", "--meter", "instructions"]
    monkeypatch.setattr(sys, "argv", ["greencode", *argv])
    monkeypatch.setattr(instructions_launch, "needs_callgrind", lambda config: config.meter == "instructions")
    monkeypatch.setattr(instructions_launch, "launch_under_callgrind", launch)
    assert main(argv) == 0
    assert launched == [[sys.executable, "-m", "greencode", *argv]]


def test_compare_called_from_other_code_says_to_use_greencode_valgrind(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["other-tool"])
    monkeypatch.setattr(instructions_launch, "needs_callgrind", lambda config: True)
    assert main(["compare", "a.py:run", "b.py:run", "--meter", "instructions"]) == 2
    assert "greencode valgrind -- greencode compare" in capsys.readouterr().err
