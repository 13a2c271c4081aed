from membership import TEXT, VOCABULARY, count_known_list, count_known_set


def test_list_and_set_count_the_same_known_words() -> None:
    assert count_known_list() == count_known_set() == 250


def test_they_agree_on_other_texts_too() -> None:
    text = ["word00001", "nope", "word09999", "word00001", ""]
    assert count_known_list(text) == count_known_set(text) == 3


def test_the_text_mixes_known_and_unknown_words() -> None:
    known = set(VOCABULARY)
    assert 0 < sum(word in known for word in TEXT) < len(TEXT)
