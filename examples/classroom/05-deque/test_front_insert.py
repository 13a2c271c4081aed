import pytest
from front_insert import newest_first_deque, newest_first_list


def test_both_put_the_newest_event_first() -> None:
    result = newest_first_deque()
    assert result == newest_first_list()
    assert result[0] == 19_999 and result[-1] == 0


@pytest.mark.parametrize("events", [0, 1, 5])
def test_both_agree_on_short_histories(events: int) -> None:
    assert newest_first_list(events) == newest_first_deque(events)
