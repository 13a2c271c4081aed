"""The documentation is part of the product: every configuration key is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from greencode.config import KNOWN_KEYS

DOCS = Path(__file__).parents[1] / "docs"


@pytest.mark.parametrize("key", KNOWN_KEYS)
def test_every_configuration_key_is_documented(key: str) -> None:
    assert f"`{key}`" in (DOCS / "configuration.md").read_text(encoding="utf-8")
