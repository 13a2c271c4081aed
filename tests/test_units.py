"""Human-readable quantities: the one plural helper every message uses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from greencode.units import plural


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert [plural(n, "test") for n in (0, 1, 2)] == ["0 tests", "1 test", "2 tests"]


@given(st.integers(min_value=0, max_value=10**6))
def test_the_count_is_written_as_it_is(count: int) -> None:
    assert plural(count, "energy regression").startswith(f"{count} energy regression")
