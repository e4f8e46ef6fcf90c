"""What the writer tells the rest of the console: health figures and events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Self

from ald_gui.domain.stream import now_us

__all__ = ["PoolFigures", "WriterEvent", "WriterEventKind", "WriterHealth"]


@dataclass(frozen=True, slots=True)
class PoolFigures:
    """The connection pool's figures that say whether the database link is sound."""

    size: int  # connections open or being opened
    available: int  # idle in the pool
    waiting: int  # requests waiting for a connection
    connection_errors: int  # failed connection attempts since the start
    connections_lost: int  # connections found broken when checked

    @classmethod
    def from_stats(cls, stats: dict[str, int]) -> Self:
        """From ``ConnectionPool.get_stats()`` (absent counters are zero)."""
        return cls(
            size=stats.get("pool_size", 0),
            available=stats.get("pool_available", 0),
            waiting=stats.get("requests_waiting", 0),
            connection_errors=stats.get("connections_errors", 0),
            connections_lost=stats.get("connections_lost", 0),
        )


@dataclass(frozen=True, slots=True)
class WriterHealth:
    """A snapshot of the historian's state, taken at ``at_us``."""

    queue_depth: int  # items submitted and not yet journaled (in memory)
    spool_depth: int  # items journaled and not yet committed (on disk)
    oldest_unsent_age_s: float | None  # age of the oldest item in the spool
    last_commit_s: float | None  # how long the last commit transaction took
    rows_per_second: float  # data rows committed per second, recent average
    dead_letters: int  # items quarantined so far (kept in the spool file)
    database_connected: bool  # the last database call succeeded
    schema_version: int | None  # the database's schema, once checked (None before)
    pool: PoolFigures
    last_error: str  # the last database or spool error, "" if none since the start
    at_us: int
    disk_free_bytes: int | None = None  # free space where the spool lives (None: unknown)
    # Consecutive failed attempts to commit the oldest group for a reason that is not
    # its data (a permission, a missing table, a server fault): retried, never set aside.
    commit_failures: int = 0
    # How long the database call in progress (a commit, the schema check) has been
    # running, None when none is: a server that is alive but blocked shows here.
    database_busy_s: float | None = None
    # Sample values dropped since the start because neither the spool nor memory could
    # hold them (each drop is recorded as a gap in the stream).
    samples_lost: int = 0
    lease_taken: str = ""  # another console records this machine: who, and since when


class WriterEventKind(StrEnum):
    DATABASE_CONNECTED = "database_connected"  # schema checked, parameters synced
    DATABASE_LOST = "database_lost"  # a transient error: retrying, spool growing
    SCHEMA_REFUSED = "schema_refused"  # migrations failed: nothing is committed
    QUARANTINED = "quarantined"  # PostgreSQL refused an item for good
    COMMIT_REFUSED = "commit_refused"  # the server refuses commits, not the data: retrying
    SPOOL_FAILED = "spool_failed"  # the local journal could not be written
    SAMPLES_LOST = "samples_lost"  # spool and memory full: samples dropped, kept as a gap
    RUN_RECOVERED = "run_recovered"  # a run left open by a console that died was ended
    LEASE_TAKEN = "lease_taken"  # another console records the machine: nothing committed


@dataclass(frozen=True, slots=True)
class WriterEvent:
    """Something the operator's event log should show."""

    kind: WriterEventKind
    message: str
    transaction_id: uuid.UUID | None = None
    at_us: int = field(default_factory=now_us)
