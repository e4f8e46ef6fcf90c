"""The writer's connection pool: one connection, checked, with bounded waits."""

from __future__ import annotations

from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from ald_gui.store.db import writer_conninfo
from ald_gui.store.pool_log import quiet_pool_warnings

__all__ = ["historian_pool"]


def _milliseconds(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def historian_pool(
    dsn: str, connection_wait_s: float, statement_timeout_s: float, lock_timeout_s: float
) -> ConnectionPool[Connection[TupleRow]]:
    """A pool (not yet open) of one connection to ``dsn``, checked before each use.

    Every statement and lock wait of its sessions is bounded: a server that is alive but
    blocked (a held lock, a stalled disk) gives an error to retry instead of hanging the
    commit thread. A migration longer than the statement timeout must be applied with
    ``ald-gui db upgrade``, which sets none.
    """
    quiet_pool_warnings()  # an outage is reported once, as an event

    def configure(conn: Connection[TupleRow]) -> None:
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false),"
            " set_config('lock_timeout', %s, false)",
            (_milliseconds(statement_timeout_s), _milliseconds(lock_timeout_s)),
        )
        conn.commit()

    return ConnectionPool(
        writer_conninfo(dsn),
        min_size=1,
        max_size=1,
        open=False,
        check=ConnectionPool.check_connection,
        name="ald-historian",
        timeout=connection_wait_s,
        # Give up a reconnection attempt quickly: the next request starts a fresh one,
        # so a server that comes back is found within seconds, not minutes.
        reconnect_timeout=5.0,
        num_workers=1,
        configure=configure,
    )
