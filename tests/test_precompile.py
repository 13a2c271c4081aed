"""greencode ab compiles each side's tree before measuring, so no test pays for compiling a lazy import."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from greencode.bytecode import precompile


def test_precompile_writes_the_bytecode_of_the_trees_own_modules(tmp_path: Path) -> None:
    module = tmp_path / "pkg" / "lazy.py"
    module.parent.mkdir()
    module.write_text("VALUE = 1\n")
    precompile(tmp_path, os.environ)
    assert Path(importlib.util.cache_from_source(str(module))).is_file()


def test_precompile_leaves_virtual_environments_and_hidden_directories_alone(tmp_path: Path) -> None:
    installed = tmp_path / ".venv" / "lib" / "dependency.py"
    installed.parent.mkdir(parents=True)
    installed.write_text("VALUE = 1\n")
    precompile(tmp_path, os.environ)
    assert not Path(importlib.util.cache_from_source(str(installed))).exists()


def test_precompile_skips_a_file_that_does_not_compile(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def (:\n")
    (tmp_path / "fine.py").write_text("VALUE = 1\n")
    precompile(tmp_path, os.environ)
    assert Path(importlib.util.cache_from_source(str(tmp_path / "fine.py"))).is_file()
