"""One console per machine name: a lease on the machine, held in the database.

Two consoles recording under one ``machine`` (a configuration copied to a second PC)
would close each other's runs and interleave their samples. So a console records only
while it holds the machine's row in ``machine_leases``, and every transaction that
writes the machine's data checks that row first (``fence``).

Why a table with a heartbeat, not an advisory lock held by a session:
- A database restart or a dropped connection ends a session and its advisory lock,
  while a session the server has not yet noticed is dead (no keepalive from the server
  for hours) keeps it: the console coming back would find its own lock held by a ghost.
  The row survives both; the holder is known by its console id, not by its session, so
  it reclaims its lease on any new connection.
- The row names the holder (host, process, data directory, since when) to anyone who
  may read the table, without the privileges pg_stat_activity asks for.
- Times are the database's clock (``now()``), so clocks of the consoles do not matter.
- The fence is a ``FOR SHARE`` row lock in the writing transaction: a takeover waits
  for a commit in flight, and a commit after a takeover fails. Each takeover raises the
  row's ``epoch``, so a console whose lease was taken and released meanwhile notices
  too. The commit and the check cannot drift apart, whichever connection they use.

A lease not renewed for ``timeout_s`` expires: another console may then take it. The
console id lives in the data directory (``console-id``), so a console killed and
started again on the same data directory takes its lease back at once.

A console that finds its lease taken stops, and its spool is withheld (``lease-lost``
in the data directory): what it sampled meanwhile overlaps what the other console
recorded, so it is not committed at a later start unless the operator says so.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.store.db import require_idle, writer_conninfo

__all__ = [
    "Holder",
    "Lease",
    "LeaseError",
    "LeaseLost",
    "LeaseTaken",
    "SpoolWithheld",
    "check_spool_released",
    "console_id",
    "take_at_start",
]

log = logging.getLogger(__name__)

_ID_FILE = "console-id"
_LOST_FILE = "lease-lost"

# Insert the lease, renew it (same console) or take over an expired one, in one
# statement: two consoles racing for it cannot both win. A new holder gets a new epoch.
_TAKE = """
INSERT INTO machine_leases AS l
    (machine, console, epoch, host, pid, data_dir, since, renewed_at, expires_at)
VALUES (%(machine)s, %(console)s, 1, %(host)s, %(pid)s, %(data_dir)s, now(), now(),
        now() + %(timeout)s)
ON CONFLICT (machine) DO UPDATE SET
    console = excluded.console,
    epoch = CASE WHEN l.console = excluded.console THEN l.epoch ELSE l.epoch + 1 END,
    host = excluded.host, pid = excluded.pid, data_dir = excluded.data_dir,
    since = CASE WHEN l.console = excluded.console THEN l.since ELSE now() END,
    renewed_at = now(), expires_at = excluded.expires_at
WHERE l.console = excluded.console OR l.expires_at < now()
RETURNING epoch
"""
# Renew a lease held: only the same console at the same epoch.
_RENEW = """
UPDATE machine_leases
SET host = %(host)s, pid = %(pid)s, renewed_at = now(), expires_at = now() + %(timeout)s
WHERE machine = %(machine)s AND console = %(console)s AND epoch = %(epoch)s
"""
_FENCE = """
SELECT 1 FROM machine_leases
WHERE machine = %(machine)s AND console = %(console)s AND epoch = %(epoch)s
FOR SHARE
"""
# Given up on a clean stop: expired now, so another console may start at once. The row
# stays (the writer may not delete), with its epoch.
_RELEASE = """
UPDATE machine_leases SET expires_at = now()
WHERE machine = %(machine)s AND console = %(console)s AND epoch = %(epoch)s
"""
_HOLDER = """
SELECT host, pid, data_dir, since, renewed_at, expires_at, now()
FROM machine_leases WHERE machine = %s
"""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a machine's lease, as recorded by that console."""

    host: str
    pid: int
    data_dir: str
    since: datetime
    renewed_at: datetime
    expires_at: datetime
    now: datetime  # the database's clock when read

    def __str__(self) -> str:
        ago = max(0.0, (self.now - self.renewed_at).total_seconds())
        left = max(0.0, (self.expires_at - self.now).total_seconds())
        return (
            f"host {self.host}, process {self.pid}, data directory {self.data_dir}, "
            f"since {self.since:%Y-%m-%d %H:%M:%S %Z} (renewed {ago:.0f} s ago, "
            f"expires in {left:.0f} s unless renewed)"
        )


class LeaseError(Exception):
    """This console may not record its machine (a message for the operator)."""


class LeaseTaken(LeaseError):
    """Another console holds the machine's lease: this one must not record into it."""

    def __init__(self, machine: str, holder: Holder | None) -> None:
        self.machine, self.holder = machine, holder
        who = str(holder) if holder is not None else "a console that just released it"
        super().__init__(
            f"machine {machine} is recorded by another console ({who}). Stop that "
            "console, or give this one its own machine name (database.machine in its "
            "configuration)"
        )


class LeaseLost(LeaseTaken):
    """The lease this console held was taken by another console (it had expired: the
    database was out of reach longer than the lease lasts)."""


class SpoolWithheld(LeaseError):
    """This data directory's console lost its machine to another: its spool waits for
    the operator, who alone can tell whether committing it now is right."""


def check_spool_released(data_dir: Path) -> None:
    """Raise SpoolWithheld if the console of ``data_dir`` stopped because another took
    its machine (``Lease.withhold_spool``) and the operator has not released it."""
    marker = data_dir / _LOST_FILE
    try:
        why = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return
    raise SpoolWithheld(
        f"this console stopped recording at {why}. The samples it took since wait "
        f"uncommitted in its spool, {data_dir}: the other console recorded the machine "
        "meanwhile. To keep them aside, start with another data directory (--data-dir); "
        f"to commit them anyway, delete {marker}"
    )


def console_id(data_dir: Path) -> uuid.UUID:
    """This data directory's console id, made (mode 0600) on first use."""
    path = data_dir / _ID_FILE
    try:
        return uuid.UUID(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    made = uuid.uuid4()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by a racing start: use that one
        return uuid.UUID(path.read_text(encoding="ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(f"{made}\n")
    return made


class Lease:
    """The lease of one console (``console``) on ``machine``.

    ``hold()`` takes or renews it (call it on every new connection and whenever
    ``renewal_due()``); ``fence()`` goes first in every transaction that writes the
    machine's data. Not thread-safe: one thread (the writer's commit thread) uses it.
    """

    def __init__(
        self, machine: str, console: uuid.UUID, data_dir: Path, *, timeout_s: float = 30.0
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"lease timeout_s ({timeout_s}) must be positive")
        self.machine = machine
        self.console = console
        self._data_dir = str(data_dir)
        self._timeout = timedelta(seconds=timeout_s)
        # Renew well before expiry: a busy database or a slow link must not cost it.
        self._renew_every_s = timeout_s / 3
        self._epoch: int | None = None  # None: not held (yet)
        self._renewed_at = 0.0

    @classmethod
    def for_data_dir(cls, machine: str, data_dir: Path, *, timeout_s: float = 30.0) -> Lease:
        return cls(machine, console_id(data_dir), data_dir, timeout_s=timeout_s)

    @property
    def held(self) -> bool:
        return self._epoch is not None

    def renewal_due(self) -> bool:
        return self._epoch is not None and (
            time.monotonic() - self._renewed_at >= self._renew_every_s
        )

    def hold(self, conn: psycopg.Connection[Any]) -> None:
        """Take the lease (first call) or renew it, in a transaction of its own.

        Raises LeaseTaken if another console holds it, LeaseLost if this console held
        it and another took it since; psycopg errors if the database cannot answer.
        """
        require_idle(conn, "taking the machine lease")
        params = self._params()
        with conn.transaction():
            if self._epoch is None:
                row = conn.execute(_TAKE, params).fetchone()
                epoch = None if row is None else int(row[0])
            else:
                renewed = conn.execute(_RENEW, params).rowcount == 1
                epoch = self._epoch if renewed else None
            if epoch is None:
                error = LeaseTaken if self._epoch is None else LeaseLost
                self._epoch = None
                raise error(self.machine, self._holder(conn))
        self._epoch = epoch
        self._renewed_at = time.monotonic()

    def fence(self, conn: psycopg.Connection[Any]) -> None:
        """Inside a writing transaction: raise LeaseLost unless this console still
        holds the lease, and keep a takeover waiting until the transaction ends."""
        if self._epoch is None or conn.execute(_FENCE, self._params()).fetchone() is None:
            was_held, self._epoch = self._epoch is not None, None
            holder = self._holder(conn)
            raise (LeaseLost if was_held else LeaseTaken)(self.machine, holder)

    def withhold_spool(self, reason: str) -> None:
        """Mark the data directory so that its spool is not committed at the next start
        (see check_spool_released). Raises OSError if the mark cannot be written."""
        marker = Path(self._data_dir) / _LOST_FILE
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC: {reason}\n")

    def release(self, conn: psycopg.Connection[Any]) -> None:
        """Give the lease up (on a clean stop), so another console may start at once."""
        if self._epoch is None:
            return
        require_idle(conn, "releasing the machine lease")
        with conn.transaction():
            conn.execute(_RELEASE, self._params())
        self._epoch = None

    def _params(self) -> dict[str, object]:
        return {
            "machine": self.machine,
            "console": self.console,
            "epoch": self._epoch,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "data_dir": self._data_dir,
            "timeout": self._timeout,
        }

    def _holder(self, conn: psycopg.Connection[Any]) -> Holder | None:
        row = conn.execute(_HOLDER, (self.machine,)).fetchone()
        return None if row is None else Holder(*row)


def take_at_start(lease: Lease, dsn: str) -> bool:
    """Take ``lease`` on a connection of its own, so that a console is refused, naming
    the holder, before it starts recording. True if taken; False if the database is
    out of reach or not yet migrated, which is no refusal: the writer takes the lease
    when it connects, before it writes anything. Raises LeaseTaken. Blocks up to the
    connection timeout."""
    try:
        with psycopg.connect(writer_conninfo(dsn)) as conn:
            lease.hold(conn)
    except psycopg.Error as exc:
        log.info("lease of %s not taken yet (%s): the writer will", lease.machine, exc)
        return False
    return True
