import pytest
from builtin_sum import total_builtin, total_by_hand


def test_both_give_the_same_total() -> None:
    assert total_by_hand() == total_builtin() == 199_999 * 200_000 // 2


@pytest.mark.parametrize("numbers", [[], [7], [-3, 3, 10**30]])
def test_both_agree_on_small_and_large_numbers(numbers: list[int]) -> None:
    assert total_by_hand(numbers) == total_builtin(numbers)
