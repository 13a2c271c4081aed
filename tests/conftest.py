from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import greencode
from greencode import testing
from greencode.config import Config

pytest_plugins = ["pytester"]


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[None]:
    """greencode configured with the scripted meter, no output sinks, and a clean registry."""
    greencode.configure(Config(root=tmp_path, meter="greencode.testing:scripted", output="none"))
    greencode.clear_results()
    yield
    testing.script(None)
    greencode.configure(Config(root=tmp_path, output="none"))
    greencode.clear_results()
