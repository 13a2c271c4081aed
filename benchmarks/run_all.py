"""Run every ``bench_*.py`` in this folder, one process each, and print their tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    selected = [a for a in argv if not a.startswith("-")]
    scripts = sorted(p for p in here.glob("bench_*.py") if not selected or p.stem in selected)
    failed = 0
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        failed += subprocess.call([sys.executable, str(script)]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
