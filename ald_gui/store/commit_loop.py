"""The writer's commit thread: spool groups to PostgreSQL, oldest first, one transaction each.

It owns the connection pool and the machine's lease (see :mod:`ald_gui.store.lease`).
A group is acknowledged in the spool only after its PostgreSQL commit. A group whose
*data* PostgreSQL refuses (a value, a constraint: see
:func:`~ald_gui.store.commit.is_data_error`) is split until the refused item stands
alone, which is quarantined (see :mod:`ald_gui.store.spool`) while the stream goes on.
Every other error (the server away, a permission revoked, a table missing, a bug) is
retried with capped exponential backoff and jitter, however long it lasts: a broken
server stalls the stream, visibly, and never empties it into the dead letters. Each
cause is told once (an event), not once per retry.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum, auto

import psycopg
from psycopg import Connection
from psycopg.rows import TupleRow

from ald_gui.config.partitions import PartitionSettings
from ald_gui.domain.backoff import Backoff
from ald_gui.domain.stream import Batch, now_us
from ald_gui.domain.tags import Tag
from ald_gui.store import migrations, roles
from ald_gui.store.commit import commit_group, is_data_error, is_transient
from ald_gui.store.commit_figures import CommitFigures
from ald_gui.store.health import PoolFigures, WriterEvent, WriterEventKind
from ald_gui.store.historian_pool import historian_pool
from ald_gui.store.lease import Lease, LeaseTaken
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.partitions import PartitionUpkeep
from ald_gui.store.runs import close_orphaned_runs
from ald_gui.store.spool import Spool, SpoolGroup

__all__ = ["CommitLoop", "Handover"]

log = logging.getLogger(__name__)


@dataclass
class Handover:
    """What the journal thread tells the commit thread. ``final_deadline`` is set before
    ``stopping``, and read only once ``stopping`` is set."""

    journaled: threading.Event = field(default_factory=threading.Event)  # or journal done
    journal_done: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    final_deadline: float = 0.0


@dataclass(frozen=True, slots=True)
class CommitLimits:
    """How big a group may be, and how long the database may take."""

    max_items: int
    max_values: int
    connection_wait_s: float
    statement_timeout_s: float
    lock_timeout_s: float


class _Step(Enum):
    """What the commit thread does after one step."""

    MORE = auto()  # go on at once
    IDLE = auto()  # the spool is empty: wait for items
    BLOCKED = auto()  # the database is away or refuses the schema: back off
    LEASE_TAKEN = auto()  # another console records the machine: commit nothing more


class CommitLoop:
    """The commit thread of a :class:`~ald_gui.store.writer.Writer` and its figures.

    ``emit``, ``health_changed`` and ``note_error`` (the writer's last error) are called
    from the commit thread; ``session_runs`` returns the runs this session started (the
    others still open were left by a console that died). The figures (the public
    attributes, ``pool_figures()``) are written by the commit thread and safe to read
    from any thread.
    """

    def __init__(
        self,
        dsn: str,
        spool: Spool,
        machine: str,
        tags: Sequence[Tag],
        *,
        lease: Lease,
        limits: CommitLimits,
        backoff: Backoff,
        idle_probe_s: float,
        latency_samples: int,
        handover: Handover,
        emit: Callable[[WriterEvent], None],
        health_changed: Callable[[], None],
        session_runs: Callable[[], set[uuid.UUID]],
        note_error: Callable[[str], None],
        partitions: PartitionSettings,
    ) -> None:
        self._spool, self._machine, self._tags = spool, machine, tuple(tags)
        self._lease, self._limits, self._backoff = lease, limits, backoff
        self._idle_probe_s = idle_probe_s
        self._handover = handover
        self._emit, self._health_changed = emit, health_changed
        self._session_runs, self._note_error = session_runs, note_error
        self._pool = historian_pool(
            dsn, limits.connection_wait_s, limits.statement_timeout_s, limits.lock_timeout_s
        )
        self._thread = threading.Thread(target=self._run, name="ald-historian-commit", daemon=True)
        self._parameter_ids: dict[str, int] | None = None
        self._outage_reported = False
        self._schema_refusal = ""
        self._commit_refusal = ""  # the reason last reported, so it is reported once
        self._orphans_closed = False
        self._partitions = PartitionUpkeep(partitions)
        self.figures = CommitFigures(latency_samples)
        self.connected = False
        self.schema_version: int | None = None
        self.last_commit_s: float | None = None
        self.busy_since: float | None = None  # when the database call in progress began
        self.commit_failures = 0  # consecutive failed attempts at the front group
        self.lease_taken = ""  # why not, once another console holds the lease

    def start(self) -> None:
        """Begin connecting (returns at once, even if the database is down) and start."""
        self._pool.open(wait=False)
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def close_pool(self, timeout: float) -> None:
        self._pool.close(timeout=timeout)

    def pool_figures(self) -> PoolFigures:
        return PoolFigures.from_stats(self._pool.get_stats())

    # -- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        handover = self._handover
        while True:
            final = handover.journal_done.is_set()
            if final and time.monotonic() > handover.final_deadline:
                break
            try:
                step = self._step()
            except Exception as exc:  # the spool file, or a bug: keep the thread alive
                log.exception("historian: commit step failed")
                self._note_error(f"writer: {exc}")
                step = _Step.BLOCKED
            if step is _Step.MORE:
                continue
            if final:
                break
            if step is _Step.LEASE_TAKEN:
                handover.journal_done.wait()  # journal on, commit nothing: no fight for it
                continue
            if step is _Step.IDLE:
                if not handover.journaled.wait(self._idle_probe_s):
                    self._probe()
            else:
                handover.stopping.wait(self._backoff.next_delay())
        self._release_lease()
        self.connected = False

    @contextmanager
    def _connection(self) -> Iterator[Connection[TupleRow]]:
        """A pooled connection, timed from the request on: health shows how long the
        database call in progress has been running, so a stuck commit is seen."""
        self.busy_since = time.monotonic()
        try:
            with self._pool.connection(timeout=self._wait_s()) as conn:
                yield conn
        finally:
            self.busy_since = None

    def _wait_s(self) -> float:
        """How long to wait for a connection: short once stopping."""
        wait_s = self._limits.connection_wait_s
        if self._handover.stopping.is_set():
            left = self._handover.final_deadline - time.monotonic()
            return max(0.05, min(wait_s, left))
        return wait_s

    def _step(self) -> _Step:
        if self.lease_taken:
            return _Step.LEASE_TAKEN
        if self._parameter_ids is None and not self._prepare():
            return _Step.LEASE_TAKEN if self.lease_taken else _Step.BLOCKED
        if self._lease.renewal_due():
            step = self._attempt(self._lease.hold)
            if step is not None:
                return step
        if self._partitions.due():
            step = self._attempt(self._partitions.run)
            if step is not None:
                return step
        self._handover.journaled.clear()  # before looking, so no append goes unnoticed
        group = self._spool.next_group(self._limits.max_items, self._limits.max_values)
        self._report_unreadable()
        if group is None:
            if not self._orphans_closed:
                return self._close_orphans()
            return _Step.IDLE
        return self._forward(group)

    def _attempt(self, work: Callable[[Connection[TupleRow]], object]) -> _Step | None:
        """Run ``work`` on a connection: None if done, else the step it leads to. An error
        neither of the lease nor of the connection is raised (the step fails, logged)."""
        try:
            with self._connection() as conn:
                work(conn)
        except LeaseTaken as exc:
            self._taken(exc)
            return _Step.LEASE_TAKEN
        except Exception as exc:
            if is_transient(exc):
                self._lost(exc)
                return _Step.BLOCKED
            raise
        return None

    def _close_orphans(self) -> _Step:
        """Once the spool of earlier sessions is committed, end the runs they left open."""
        closed: list[uuid.UUID] = []

        def close(conn: Connection[TupleRow]) -> None:
            current = self._session_runs()
            closed.extend(close_orphaned_runs(conn, self._machine, current, self._lease.fence))

        step = self._attempt(close)
        if step is not None:
            return step
        self._orphans_closed = True
        for run_id in closed:
            self._emit(
                WriterEvent(
                    WriterEventKind.RUN_RECOVERED, f"run {run_id} was left open; ended as aborted"
                )
            )
        return _Step.MORE

    def _prepare(self) -> bool:
        """Check the schema and sync the tags, on each (re)connection. True if done."""
        try:
            with self._connection() as conn:
                roles.require_membership(conn, roles.Group.WRITER)
                migrations.upgrade(conn, lock_wait_s=self._limits.lock_timeout_s)
                schema_version = migrations.status(conn).database_version
                self._lease.hold(conn)  # before the first write for the machine
                configured = sync_parameters(conn, self._machine, self._tags)
                # Tags dropped from the configuration keep their rows: batches spooled
                # before the change still name them and must not be refused.
                rows = conn.execute(
                    "SELECT key, id FROM parameters WHERE machine = %s", (self._machine,)
                ).fetchall()
            parameter_ids = {**dict(rows), **configured}
        except LeaseTaken as exc:
            self._taken(exc)
            return False
        except Exception as exc:
            if is_transient(exc):
                self._lost(exc)
            else:
                # Nothing can be committed against a schema this code does not know:
                # keep journaling and say why. Not the data's fault: no quarantine.
                self._note_error(f"schema: {exc}")
                if self._schema_refusal != str(exc):
                    self._schema_refusal = str(exc)
                    self._emit(WriterEvent(WriterEventKind.SCHEMA_REFUSED, str(exc)))
            return False
        self._parameter_ids = parameter_ids
        self.schema_version = schema_version
        self._schema_refusal = ""
        self._backoff.reset()
        if not self.connected:
            self.connected, self._outage_reported = True, False
            self._emit(WriterEvent(WriterEventKind.DATABASE_CONNECTED, "schema up to date"))
            self._health_changed()
        return True

    def _forward(self, group: SpoolGroup) -> _Step:
        """Commit one group and acknowledge it; on a permanent error, isolate or
        quarantine it."""
        assert self._parameter_ids is not None
        started = time.monotonic()
        try:
            with self._connection() as conn:
                result = commit_group(
                    conn, group.transaction_id, group.items, self._parameter_ids, self._machine,
                    fence=self._lease.fence,
                )  # fmt: skip
        except LeaseTaken as exc:
            self._taken(exc)
            return _Step.LEASE_TAKEN
        except Exception as exc:
            if is_data_error(exc):
                self._refuse(group, exc)
                return _Step.MORE
            self._commit_failed(exc)
            return _Step.BLOCKED
        self.commit_failures, self._commit_refusal = 0, ""
        committed = time.monotonic()
        at = now_us()
        self._spool.acknowledge(group)
        self._backoff.reset()
        self.last_commit_s = committed - started
        self.figures.record(
            committed,
            sum(result.rows.values()),
            ((at - i.sampled_at_us) / 1e6 for i in group.items if isinstance(i, Batch)),
        )
        return _Step.MORE

    def _release_lease(self) -> None:
        # A clean stop hands the machine over at once rather than after the timeout.
        if not self._lease.held:
            return
        try:
            with self._connection() as conn:
                self._lease.release(conn)
        except Exception as exc:  # it expires by itself
            log.info("historian: lease of %s not released: %s", self._machine, exc)

    def _probe(self) -> None:
        """With nothing to commit (the PLC is down, say), still notice a lost database,
        so the health strip does not show it sound until the next sample."""
        try:
            with self._connection() as conn:
                conn.execute("SELECT 1")
        except Exception as exc:
            if is_transient(exc):
                self._lost(exc)

    # -- what is told -----------------------------------------------------------------

    def _taken(self, exc: LeaseTaken) -> None:
        """Another console records the machine: stop committing for good (this
        session), keep journaling, and say so once."""
        self.lease_taken = str(exc)
        self._note_error(f"lease: {exc}")
        try:
            self._lease.withhold_spool(str(exc))
        except OSError as failed:
            log.error("historian: cannot withhold the spool: %s", failed)
        self._emit(WriterEvent(WriterEventKind.LEASE_TAKEN, str(exc)))
        self._health_changed()

    def _lost(self, exc: BaseException) -> None:
        self._parameter_ids = None  # re-check the schema once reconnected
        self._note_error(f"database: {exc}")
        self.connected = False
        if not self._outage_reported:
            self._outage_reported = True
            self._emit(WriterEvent(WriterEventKind.DATABASE_LOST, f"retrying: {exc}"))
            self._health_changed()

    def _commit_failed(self, exc: BaseException) -> None:
        """A commit failed, not because of its data: the group is retried as it is."""
        if is_transient(exc):
            self._lost(exc)
            return
        if not isinstance(exc, psycopg.Error):  # a bug here, not the server: keep the trace
            log.error("historian: commit failed, will retry", exc_info=exc)
        self.commit_failures += 1
        reason = f"{type(exc).__name__}: {exc}"
        self._note_error(f"commit refused, retrying: {reason}")
        if self._commit_refusal != reason:  # once per reason, not once per retry
            self._commit_refusal = reason
            self._emit(WriterEvent(WriterEventKind.COMMIT_REFUSED, f"retrying: {reason}"))
            self._health_changed()

    def _refuse(self, group: SpoolGroup, exc: BaseException) -> None:
        if len(group.items) > 1:
            self._spool.isolate(group)  # halve it until the refused item stands alone
            return
        item = group.items[0]
        reason = f"{type(exc).__name__}: {exc}"
        self._spool.quarantine(group, reason)
        self._note_error(f"quarantined: {reason}")
        self._emit(
            WriterEvent(
                WriterEventKind.QUARANTINED,
                f"{type(item).__name__} seq {item.seq} refused by the database: {reason}",
                group.transaction_id,
            )
        )
        self._health_changed()

    def _report_unreadable(self) -> None:
        """Tell of spool rows the spool set aside because they do not decode."""
        reasons = self._spool.take_unreadable()
        for reason in reasons:
            self._note_error(f"quarantined: {reason}")
            self._emit(WriterEvent(WriterEventKind.QUARANTINED, f"unreadable, kept raw: {reason}"))
        if reasons:
            self._health_changed()
