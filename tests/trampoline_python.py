"""A CPython 3.12+ for tests that need its perf trampoline (Python function names under callgrind).

CI's default Python is 3.11; the machine image also has pyenv's 3.12. That interpreter runs greencode from
this checkout and pytest from the running interpreter's site-packages: both are pure Python, and no other
plugin of this environment is loaded (their compiled parts are built for another Python).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _find() -> str | None:
    """A CPython 3.12+ executable (not a pyenv shim): this one, else one found on the machine."""
    if sys.version_info >= (3, 12):
        return sys.executable
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(str(pyenv / "versions" / "3.1[2-9]*" / "bin" / "python3.1[2-9]")))
    candidates += [found for found in (shutil.which("python3.12"), shutil.which("python3.13")) if found]
    for candidate in candidates:
        try:
            done = subprocess.run(
                [candidate, "-c", "import sys; sys.activate_stack_trampoline; print(sys.executable)"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip().splitlines()[-1]
    return None


#: the interpreter, or None when the machine has no CPython 3.12+
PYTHON = _find()
NO_PYTHON_REASON = "no CPython 3.12+ here (its perf trampoline names Python functions)"


def environment(scratch: Path) -> dict[str, str]:
    """The environment for running greencode with :data:`PYTHON` (its bytecode kept under ``scratch``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GREENCODE_", "PYTEST_"))}
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")  # no 3.12 bytecode in this checkout
    if sys.executable != PYTHON:
        import iniconfig
        import packaging
        import pluggy
        import pytest

        # greencode from this checkout; pytest and its dependencies from this interpreter (pure Python);
        # no other plugin of this environment is loaded (its compiled parts are for another Python)
        modules = (pytest, pluggy, iniconfig, packaging)
        libraries = {str(Path(module.__file__ or "").resolve().parents[1]) for module in modules}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "plugins"), *sorted(libraries)])
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env
