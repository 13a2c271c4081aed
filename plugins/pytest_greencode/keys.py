"""Stash keys shared by the plugin's modules (here, so the light modules need not import the heavy ones)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from greencode.measurement import Profile

#: The ``energy`` fixture's profile, on the item's stash.
PROFILE_KEY: pytest.StashKey[Profile] = pytest.StashKey()
#: Rounds for this test as resolved from its marker, the option and the configuration; only measured tests
#: have it (the ``energy`` fixture of an unmeasured test just calls its function).
ROUNDS_KEY: pytest.StashKey[int] = pytest.StashKey()
