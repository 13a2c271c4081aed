import logging

import pytest
from lazy_logging import ORDERS, eager_messages, lazy_messages, log


def test_both_count_the_same_items() -> None:
    assert eager_messages() == lazy_messages() == 200 * 200


def test_both_log_the_same_text_when_debug_is_on(caplog: pytest.LogCaptureFixture) -> None:
    orders = ORDERS[:3]
    with caplog.at_level(logging.DEBUG, logger=log.name):
        eager_messages(orders)
        eager_text = [record.getMessage() for record in caplog.records]
        caplog.clear()
        lazy_messages(orders)
        lazy_text = [record.getMessage() for record in caplog.records]
    assert eager_text == lazy_text and len(lazy_text) == 3
