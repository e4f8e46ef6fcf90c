"""Partitions of the history made ahead of time (migration 0012).

The sample tables are partitioned by time; a console makes the partitions of the next
periods before its samples need them, through ``add_partitions_ahead``, the one
database function its login may call for it (it owns no table). A sample no partition
covers lands in the default partition, so a late upkeep never loses a sample; it only
leaves rows that retention cannot drop until a partition takes them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg

from ald_gui.config.partitions import PartitionSettings

log = logging.getLogger(__name__)

# Made ahead by days, so once an hour is plenty; a refusal (a reader holding a table
# past the function's lock wait) is tried again sooner.
_EVERY_S = 3600.0
_AFTER_REFUSAL_S = 300.0


def add_ahead(conn: psycopg.Connection[Any], settings: PartitionSettings) -> list[str]:
    """Make the missing partitions of the current period and the ``settings.ahead``
    next ones, in every partitioned table; the names of those made. Commits only if
    the caller does. Raises psycopg errors."""
    rows = conn.execute(
        "SELECT add_partitions_ahead(%s, %s)", (settings.period, settings.ahead)
    ).fetchall()
    return [str(r[0]) for r in rows]


class PartitionUpkeep:
    """When the commit thread makes partitions: first at once, then every hour."""

    def __init__(
        self, settings: PartitionSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings, self._clock = settings, clock
        self._next = 0.0

    def due(self) -> bool:
        return self._clock() >= self._next

    def run(self, conn: psycopg.Connection[Any]) -> None:
        """Make what is missing. A refusal that is not the connection's (a lock wait
        that ran out, a database where the function is missing) is logged and tried
        again later: samples go on into the default partition meanwhile. A lost
        connection or a server shutting down is raised, for the commit thread."""
        try:
            with conn.transaction():
                made = add_ahead(conn, self._settings)
        except psycopg.Error as exc:
            if conn.broken or exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P")):
                raise
            log.warning("historian: partitions not made ahead, trying again later: %s", exc)
            self._next = self._clock() + _AFTER_REFUSAL_S
            return
        if made:
            log.info("historian: partitions made ahead: %s", ", ".join(made))
        self._next = self._clock() + _EVERY_S
