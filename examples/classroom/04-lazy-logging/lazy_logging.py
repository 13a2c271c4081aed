"""Exercise 4: debug messages that nobody reads.

The logger is at INFO, so debug messages are thrown away. An f-string is built *before* the call, whether
the message is kept or not; with ``%s`` arguments the logger formats only messages it keeps.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("classroom.lazy_logging")
log.setLevel(logging.INFO)  # debug is off, as in production

ORDERS = [{"id": n, "customer": f"customer{n}", "items": list(range(200))} for n in range(200)]


def eager_messages(orders: list[dict[str, Any]] = ORDERS) -> int:
    """Wasteful: formats every order into a string that the logger then discards."""
    items = 0
    for order in orders:
        log.debug(f"processing order {order}")
        items += len(order["items"])
    return items


def lazy_messages(orders: list[dict[str, Any]] = ORDERS) -> int:
    """Green: hands the logger the template and the order; it formats only if debug is on."""
    items = 0
    for order in orders:
        log.debug("processing order %s", order)
        items += len(order["items"])
    return items
