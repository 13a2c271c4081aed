"""The history database: every measured run's per-test statistics, for trends, plots and baselines.

SQLite at ``history`` (default ``.greencode/history.sqlite``), or PostgreSQL when ``history`` (or
``GREENCODE_HISTORY``) is a ``postgresql://`` URL, so that many CI jobs share one history. Every
``pytest --greencode`` run appends one run row (id, time, repository, git commit, branch, dirty flag, meter,
machine) and one result row per test (median, quartiles, mean, spread, wall and CPU time, raw counts when
known, and the gate's verdict when it compared).

- :mod:`greencode.history.model` — :class:`HistoryRun` and :class:`HistoryPoint`, checked as they are read;
- :mod:`greencode.history.schema` — the one schema, as numbered migrations for both backends;
- :mod:`greencode.history.database` — :class:`History`, the backend-neutral reader and writer;
- :mod:`greencode.history.sqlite` and :mod:`greencode.history.postgres` — the two backends.
"""

from greencode.history.database import History
from greencode.history.model import HistoryPoint, HistoryRun

__all__ = ["History", "HistoryPoint", "HistoryRun"]
