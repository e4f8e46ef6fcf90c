"""Connection and transaction discipline shared by the store's modules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# libpq settings that keep a dead server from blocking a connection for hours
# (LIBRARY-NOTES); a value given in the DSN wins.
_LINK_DEFAULTS = {
    "connect_timeout": "5",  # seconds
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "20000",  # ms
    "application_name": "ald-gui historian",
}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def db_timestamp(us: int) -> datetime:
    """The timestamptz value of a stream time (integer microseconds since the epoch)."""
    # Integer arithmetic all the way: a float would round microseconds away.
    return _EPOCH + timedelta(microseconds=us)


def stream_us(at: datetime) -> int:
    """The stream time of a timestamptz value: ``db_timestamp``'s inverse, exact."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def require_idle(conn: psycopg.Connection[Any], what: str) -> None:
    """Raise psycopg.ProgrammingError unless ``conn`` is outside any transaction: ``what``
    must run as a transaction of its own, not as a savepoint of the caller's."""
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise psycopg.ProgrammingError(
            f"{what} needs a connection outside any transaction (it is "
            f"{conn.info.transaction_status.name}): commit or roll back first"
        )


def writer_conninfo(dsn: str) -> str:
    """``dsn`` with the link timeouts above added where it does not set them."""
    given = conninfo_to_dict(dsn)
    return make_conninfo("", **{**_LINK_DEFAULTS, **given})
