"""greencode's data directory, ``.greencode/``: what belongs in git and what does not.

The baseline (``baseline.json``) is meant to be committed: it is what a pull request's run is compared with.
The history database, lock files and the temporary files of atomic writes change on every run; committed,
they would make every work tree look changed. :func:`ensure_gitignore` writes a ``.gitignore`` inside
``.greencode/`` naming them, once, and never replaces a ``.gitignore`` that is already there.
"""

from __future__ import annotations

from pathlib import Path

#: The directory name greencode's defaults write into.
DATA_DIR = ".greencode"

GITIGNORE = """\
# Written by greencode. Commit the baseline (baseline.json); not these, which change on every run.
history.sqlite
history.sqlite-*
*.lock
*.tmp
"""


def ensure_gitignore(directory: Path) -> Path | None:
    """Write ``directory/.gitignore`` when ``directory`` is a ``.greencode`` data directory that exists and
    has none; returns the file written, or None. An ``OSError`` propagates: the caller decides how much
    it matters."""
    if directory.name != DATA_DIR or not directory.is_dir():
        return None
    target = directory / ".gitignore"
    if target.exists() or target.is_symlink():
        return None
    from greencode.files import atomic_write_text

    atomic_write_text(target, GITIGNORE)
    return target
