"""Run the ``greencode`` command line as a user would: a subprocess, in a chosen directory.

RAPL is pointed at a directory that does not exist, so results do not depend on the machine's counters.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_greencode(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "GREENCODE_POWERCAP_ROOT": str(cwd / "no-powercap"), **(env or {})}
    environment.pop("GREENCODE_METER", None)
    return subprocess.run(
        [sys.executable, "-m", "greencode", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
