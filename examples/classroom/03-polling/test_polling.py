from collections.abc import Callable

import pytest
from polling import blocking_wait, busy_wait, polite_poll


@pytest.mark.parametrize("wait", [busy_wait, polite_poll, blocking_wait])
def test_every_version_returns_once_the_event_is_set(wait: Callable[[float], bool]) -> None:
    assert wait(0.001) is True
