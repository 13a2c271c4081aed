"""Named saved runs: ``pytest --greencode-save=NAME`` keeps the run's results in ``.greencode/runs/``.

pytest-benchmark users keep several named runs and compare any two; greencode's baseline pools the runs of
one commit instead. A named run is the whole results file of one run, under a name the user chose, so
``greencode report --compare A B`` can put any two side by side (a name, or a results file's path, each).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from greencode.datadir import DATA_DIR
from greencode.errors import GreencodeError

if TYPE_CHECKING:
    from greencode.config import Config

#: Where named runs live, inside the data directory.
RUNS_DIR = "runs"

# a file name on every system, and never a path or a pytest node id
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_name(name: str) -> str:
    """``name`` when it can name a saved run; :class:`GreencodeError` saying what can, otherwise."""
    if not _NAME.fullmatch(name) or name.endswith(".py") or ".." in name:
        raise GreencodeError(
            f"{name!r} cannot name a saved run: use letters, digits, '.', '_' and '-' (up to 100, starting "
            "with a letter or digit), e.g. --greencode-save=before-cache"
        )
    return name


def runs_directory(config: Config) -> Path:
    return config.resolve(Path(DATA_DIR) / RUNS_DIR)


def run_path(config: Config, name: str) -> Path:
    """The file a run saved as ``name`` is kept in."""
    return runs_directory(config) / f"{check_name(name)}.json"


def saved_names(config: Config) -> list[str]:
    """The names of the saved runs, sorted."""
    directory = runs_directory(config)
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.json") if p.is_file() and _NAME.fullmatch(p.stem))


def find_run(config: Config, name_or_path: str) -> Path:
    """A results file given by its path, or by the name it was saved under; one clear error otherwise."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if _NAME.fullmatch(name_or_path):
        named = run_path(config, name_or_path)
        if named.is_file():
            return named
    names = saved_names(config)
    known = f"saved runs: {', '.join(names)}" if names else "no run has been saved yet"
    raise GreencodeError(
        f"{name_or_path!r} is neither a results file nor a saved run ({known} in {runs_directory(config)}); "
        "save one with pytest --greencode --greencode-save=NAME"
    )
