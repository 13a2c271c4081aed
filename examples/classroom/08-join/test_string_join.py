import pytest
from string_join import join_once, prepend_each_word


def test_both_build_the_same_text() -> None:
    text = join_once()
    assert prepend_each_word() == text
    assert text.startswith("w19999 ") and text.endswith("w0 ")


@pytest.mark.parametrize("words", [[], ["a"], ["a", "b", "c"]])
def test_both_agree_on_short_inputs(words: list[str]) -> None:
    assert prepend_each_word(words) == join_once(words)
