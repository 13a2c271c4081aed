import pytest
from memoise import fib_memoised, fib_naive


def test_both_give_fib_25() -> None:
    assert fib_naive() == fib_memoised() == 75025


@pytest.mark.parametrize("n", [0, 1, 2, 10, 20])
def test_both_agree_on_small_numbers(n: int) -> None:
    assert fib_naive(n) == fib_memoised(n)
