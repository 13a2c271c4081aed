"""Concurrent first writers: N processes append runs to a new history database at the same moment.

Reports, per backend, how many runs were stored out of how many written (none may be lost) and the wall time
per trial. SQLite always; PostgreSQL when its server binaries are installed (a throw-away server on a unix
socket, as in the tests). Run: ``python benchmarks/bench_history_writers.py [--trials N]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKERS, RUNS, TESTS = 8, 25, 20


def _worker(location: Any, worker: int, barrier: Any) -> None:
    sys.path.insert(0, str(ROOT))
    from greencode.history import History
    from tests.report_inputs import FINGERPRINT, record, run_info

    barrier.wait(120)
    records = [record(f"t.py::t{i}", 1.0) for i in range(TESTS)]
    with History(location) as history:
        for number in range(RUNS):
            history.append(replace(run_info(number), run_id=f"w{worker}-{number}"), FINGERPRINT, records)


def _trial(location: Any) -> tuple[int, float]:
    from greencode.history import History

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    workers = [context.Process(target=_worker, args=(location, w, barrier)) for w in range(WORKERS)]
    for worker in workers:
        worker.start()
    started = time.perf_counter()
    for worker in workers:
        worker.join(300)
    elapsed = time.perf_counter() - started
    with History(location) as history:
        return len(history.runs()), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=2)
    args = parser.parse_args()
    from tests.postgres_server import Server, binaries

    rows = []
    backends: list[tuple[str, Any]] = [("SQLite", None)]
    server = Server(bindir) if (bindir := binaries()) else None
    if server is not None:
        backends.append(("PostgreSQL", server))
    lost_any = False
    try:
        for name, pg in backends:
            stored = total = 0
            times = []
            for _ in range(args.trials):
                location = pg.new_database() if pg else Path(tempfile.mkdtemp()) / "history.sqlite"
                runs, seconds = _trial(location)
                stored, total, times = stored + runs, total + WORKERS * RUNS, [*times, seconds]
            lost_any |= stored != total
            rows.append((name, f"{stored}/{total}", f"{min(times):.1f}-{max(times):.1f} s"))
    finally:
        if server is not None:
            server.stop()
    print(f"{WORKERS} processes x {RUNS} runs x {TESTS} tests into a new database, {args.trials} trial(s)")
    print(f"{'backend':<12} {'runs stored':>12} {'wall/trial':>12}")
    for name, stored_text, wall in rows:
        print(f"{name:<12} {stored_text:>12} {wall:>12}")
    if len(backends) == 1:
        print("PostgreSQL: skipped (no initdb/pg_ctl found)")
    return 1 if lost_any else 0


if __name__ == "__main__":
    sys.exit(main())
