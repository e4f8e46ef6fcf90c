"""Keeping psycopg_pool's log readable during a database outage.

The pool logs a warning for every failed connection attempt (about two a second while
the server is away), each with the server's multi-line message. The writer already
reports the outage once, in words, as an event (and its health figures count the
attempts): the pool's own lines are let through once per message and interval, the
next one saying how many were left out.
"""

from __future__ import annotations

import logging
import threading
import time

__all__ = ["POOL_LOGGER", "quiet_pool_warnings"]

POOL_LOGGER = "psycopg.pool"


class _OncePerInterval(logging.Filter):
    """Lets a record through if none with the same message template passed in the
    last ``interval_s``; counts the others."""

    def __init__(self, interval_s: float) -> None:
        super().__init__()
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}  # template -> when one last passed
        self._held: dict[str, int] = {}  # template -> records left out since

    def filter(self, record: logging.LogRecord) -> bool:
        template = str(record.msg)
        now = time.monotonic()
        with self._lock:
            last = self._last.get(template)
            if last is not None and now - last < self._interval_s:
                self._held[template] = self._held.get(template, 0) + 1
                return False
            self._last[template] = now
            held = self._held.pop(template, 0)
        if held:
            record.msg = f"{template} ({held} more like this in the last {self._interval_s:g} s)"
        return True


def quiet_pool_warnings(interval_s: float = 60.0) -> None:
    """Install the filter on psycopg_pool's logger, once per process."""
    logger = logging.getLogger(POOL_LOGGER)
    if not any(isinstance(f, _OncePerInterval) for f in logger.filters):
        logger.addFilter(_OncePerInterval(interval_s))
