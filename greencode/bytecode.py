"""Bytecode written before measuring, so that no measured window pays for compiling a module.

A module imported for the first time inside a test (a lazy import) is compiled from source inside that
test's window when its ``__pycache__`` entry is missing or stale — a fresh worktree, a file just edited, or
any tree under ``PYTHONDONTWRITEBYTECODE`` (imports then never write the cache) — and read from the cache
otherwise. Under the instructions meter that alone made one test of an A/A run count a third more.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

#: Directories :func:`precompile` leaves alone: hidden ones (``.venv``, ``.git``, ``.tox``), virtual
#: environments and installed packages, which are not the tree's own code.
_NOT_OWN_CODE = r"(^|[/\\])(\.[^/\\]+|node_modules|site-packages|venv|env)([/\\]|$)"


def precompile(root: Path, env: Mapping[str, str]) -> None:
    """Write the bytecode of every module of the tree at ``root`` with this interpreter (``compileall``
    writes it even under ``PYTHONDONTWRITEBYTECODE``). Files that do not compile are left for the import to
    report, as it would without this step."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-x", _NOT_OWN_CODE, str(root)],
        env=dict(env),
        capture_output=True,
        check=False,
    )
