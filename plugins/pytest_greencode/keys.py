"""Stash keys shared by the plugin's modules (here, so the light modules need not import the heavy ones)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from greencode.measurement import Profile
    from pytest_greencode.session import GreencodeRun

#: The measuring run, on ``config.stash`` when greencode is switched on.
ACTIVE_KEY: pytest.StashKey[GreencodeRun] = pytest.StashKey()
#: The ``energy`` fixture's profile, on the item's stash.
PROFILE_KEY: pytest.StashKey[Profile] = pytest.StashKey()
#: Rounds for this test as resolved from its marker, the option and the configuration.
ROUNDS_KEY: pytest.StashKey[int] = pytest.StashKey()
