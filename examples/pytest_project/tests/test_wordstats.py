from __future__ import annotations

import pytest
from wordstats import top_words, unique_ratio, words

LARGE_TEXT = " ".join(f"word{n % 500} common the" for n in range(20_000))


def test_words_are_lower_cased_and_split_on_punctuation() -> None:
    assert words("The cat, the HAT!") == ["the", "cat", "the", "hat"]


def test_top_words_counts_and_orders() -> None:
    assert top_words("b a b c b a", 2) == [("b", 3), ("a", 2)]


def test_unique_ratio_of_an_empty_text_is_zero() -> None:
    assert unique_ratio("") == 0.0


# A whole-test budget: with --greencode, the session fails if this test's median energy exceeds it.
@pytest.mark.energy_budget("2 J")
def test_top_words_of_a_large_text() -> None:
    assert top_words(LARGE_TEXT, 2) == [("common", 20_000), ("the", 20_000)]


# The energy fixture measures one function in calibrated rounds; the budget is then per call.
@pytest.mark.energy_budget("1 J", per="call")
def test_unique_ratio_per_call(energy) -> None:
    assert energy(unique_ratio, LARGE_TEXT) == 502 / 60_000
