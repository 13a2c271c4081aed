import pytest
from regex_hoist import compile_once, compile_per_line


def test_both_count_the_lines_naming_the_expected_user() -> None:
    assert compile_per_line() == compile_once() == 2_000 - 667


@pytest.mark.parametrize(
    ("line", "user"),
    [
        ("user=ann action=x", "ann"),
        ("user=anna action=x", "ann"),  # a longer name is not a match
        ("user=ann", "ann"),
        ("nobody here", "ann"),
        ("user=bob user=ann", "bob"),
    ],
)
def test_both_agree_on_awkward_lines(line: str, user: str) -> None:
    assert compile_per_line([line], [user]) == compile_once([line], [user])
