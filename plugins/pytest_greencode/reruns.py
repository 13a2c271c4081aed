"""What a test needs to run again in the same process: an extra round of its call, or a later pass of
``greencode ab``.

pytest's doctests clear their globals at the end of every run (doctest's ``DocTestRunner.run`` does, with
``clear_globs``), so a second run fails on the first name it uses: the module's own names for
``--doctest-modules``, ``__name__`` for a class defined in a text file. Their globals are kept as the first
run began and put back before each later run.
"""

from __future__ import annotations

from typing import Any

import pytest
from _pytest.doctest import DoctestItem

_GLOBALS: pytest.StashKey[dict[str, Any]] = pytest.StashKey()


def keep_for_reruns(item: pytest.Item) -> None:
    """Before a test's call: keep what a later run of it needs, the first time it is called here."""
    if isinstance(item, DoctestItem) and item.dtest is not None and _GLOBALS not in item.stash:
        item.stash[_GLOBALS] = dict(item.dtest.globs)


def ready_to_rerun(item: pytest.Item) -> None:
    """Before a later run of a test (its call again, or its whole protocol): put back what the first run
    used up. A doctest's setup adds its fixtures again on top, when it runs again."""
    kept = item.stash.get(_GLOBALS, None)
    if kept is not None:
        globs = item.dtest.globs  # type: ignore[attr-defined]  # a DoctestItem's, kept above
        globs.clear()
        globs.update(kept)
