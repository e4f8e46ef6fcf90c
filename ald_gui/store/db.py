"""Transaction discipline shared by the store's functions.

(Link timeouts for long-lived connections live with the pool: writer.writer_conninfo.)
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import pq


def require_idle(conn: psycopg.Connection[Any], what: str) -> None:
    """Raise psycopg.ProgrammingError unless ``conn`` is outside any transaction: ``what``
    must run as a transaction of its own, not as a savepoint of the caller's."""
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise psycopg.ProgrammingError(
            f"{what} needs a connection outside any transaction (it is "
            f"{conn.info.transaction_status.name}): commit or roll back first"
        )
