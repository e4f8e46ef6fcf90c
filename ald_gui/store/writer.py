"""The writer: journals the stream into the spool and commits it to PostgreSQL in order.

Two threads, so that a database that hangs never delays journaling:
- the *journal* thread moves submitted items from memory into the spool (one fsync'd
  SQLite transaction for everything that arrived meanwhile) and publishes health;
- the *commit* thread owns the connection pool and forwards spool groups, oldest first,
  one PostgreSQL transaction each, acknowledging a group only after its commit.

Items therefore sit in memory only for the few milliseconds of a spool write, whatever
the database does; during an outage the spool, not memory, is the buffer. A group
whose *data* PostgreSQL refuses (a value, a constraint: see
:func:`~ald_gui.store.commit.is_data_error`) is split until the refused item stands
alone, which is quarantined (see :mod:`ald_gui.store.spool`) while the stream goes on.
Every other error (the server away, a permission revoked, a table missing, a bug) is
retried with capped exponential backoff and jitter, however long it lasts: a broken
server stalls the stream, visibly, and never empties it into the dead letters.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum, auto

import psycopg
from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from ald_gui.domain.backoff import Backoff
from ald_gui.domain.stream import Batch, Gap, RunStarted, StreamItem, now_us
from ald_gui.domain.tags import Tag
from ald_gui.store import migrations, roles
from ald_gui.store.commit import commit_group, is_data_error, is_transient
from ald_gui.store.db import writer_conninfo
from ald_gui.store.health import PoolFigures, WriterEvent, WriterEventKind, WriterHealth
from ald_gui.store.lease import Lease, LeaseTaken
from ald_gui.store.memory_queue import MemoryQueue
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.pool_log import quiet_pool_warnings
from ald_gui.store.runs import close_orphaned_runs
from ald_gui.store.spool import Spool, SpoolGroup

__all__ = ["Writer"]

log = logging.getLogger(__name__)

_RATE_WINDOW_S = 5.0  # rows per second are averaged over this


def _milliseconds(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


class _Step(Enum):
    """What the commit thread does after one step."""

    MORE = auto()  # go on at once
    IDLE = auto()  # the spool is empty: wait for items
    BLOCKED = auto()  # the database is away or refuses the schema: back off
    LEASE_TAKEN = auto()  # another console records the machine: commit nothing more


class Writer:
    """The historian's writer. Construct, ``start()``, ``submit()`` freely, ``stop()``.

    Whatever is already in the spool (from a previous process) is committed first, in
    order. ``on_health`` is called from the journal thread (every ``health_interval_s``
    and on connection changes), ``on_event`` from the commit thread; both must return
    quickly, and an exception in them is logged and ignored.
    """

    def __init__(
        self,
        dsn: str,
        spool: Spool,
        machine: str,
        tags: Sequence[Tag],
        *,
        max_group_items: int = 1000,
        max_group_values: int = 50_000,
        on_health: Callable[[WriterHealth], None] | None = None,
        on_event: Callable[[WriterEvent], None] | None = None,
        health_interval_s: float = 1.0,
        retry_first_s: float = 0.1,
        retry_cap_s: float = 5.0,
        connection_wait_s: float = 2.0,
        latency_samples: int = 100_000,
        statement_timeout_s: float = 30.0,
        lock_timeout_s: float = 10.0,
        max_queue_values: int = 2_000_000,
        lease: Lease | None = None,
    ) -> None:
        if max_group_items < 1 or max_group_values < 1:
            raise ValueError(
                f"max_group_items ({max_group_items}) and max_group_values "
                f"({max_group_values}) must be at least 1"
            )
        self._spool = spool
        self._machine = machine
        self._tags = tuple(tags)
        self._max_items, self._max_values = max_group_items, max_group_values
        self._on_health, self._on_event = on_health, on_event
        self._health_interval_s = health_interval_s
        self._backoff = Backoff(retry_first_s, retry_cap_s)
        self._connection_wait_s = connection_wait_s
        self._statement_timeout_s, self._lock_timeout_s = statement_timeout_s, lock_timeout_s
        quiet_pool_warnings()  # an outage is reported once, as an event
        self._pool: ConnectionPool[Connection[TupleRow]] = ConnectionPool(
            writer_conninfo(dsn),
            min_size=1,
            max_size=1,
            open=False,
            check=ConnectionPool.check_connection,
            name="ald-historian",
            timeout=connection_wait_s,
            # Give up a reconnection attempt quickly: the next request starts a fresh
            # one, so a server that comes back is found within seconds, not minutes.
            reconnect_timeout=5.0,
            num_workers=1,
            configure=self._configure,
        )

        # ~200 MB at most, some 3 minutes of 1,000 tags at 10 Hz while the spool fails.
        self._queue = MemoryQueue(max_queue_values)
        self._queue_changed = threading.Condition()
        self._health_due = False
        self._spool_failing = False
        self._journaled = threading.Event()  # new items in the spool, or journal done
        self._stopping = threading.Event()
        self._journal_done = threading.Event()
        self._final_deadline = 0.0
        self._started = False
        self._journal_thread = threading.Thread(
            target=self._journal_loop, name="ald-historian-journal", daemon=True
        )
        self._commit_thread = threading.Thread(
            target=self._commit_loop, name="ald-historian-commit", daemon=True
        )

        # Written by the commit thread; read by health() from any thread.
        self._parameter_ids: dict[str, int] | None = None
        self._connected = False
        self._outage_reported = False
        self._schema_refusal = ""
        self._schema_version: int | None = None
        self._last_error = ""
        self._last_commit_s: float | None = None
        self._busy_since: float | None = None  # when the database call in progress began
        self._commit_failures = 0  # consecutive failed attempts at the front group
        self._commit_refusal = ""  # the reason last reported, so it is reported once
        self._figures_lock = threading.Lock()  # guards the two deques
        self._committed_rows: deque[tuple[float, int]] = deque()
        self._latencies: deque[float] = deque(maxlen=latency_samples)
        # Nothing is written for the machine but under its lease (see store.lease).
        self._lease = lease or Lease.for_data_dir(machine, spool.path.parent)
        self._lease_taken = ""  # why not, once another console holds the lease
        # Runs still open in the database that this session did not start were left
        # by a console that died: closed once the spool is caught up.
        self._session_runs: set[uuid.UUID] = set()
        self._orphans_closed = False

    # -- control (any thread) ---------------------------------------------------------

    def start(self) -> None:
        """Start the threads and begin connecting. Returns at once, even if the
        database is down. Raises RuntimeError if started before."""
        if self._started:
            raise RuntimeError("writer already started: a writer starts once")
        self._started = True
        self._pool.open(wait=False)
        self._journal_thread.start()
        self._commit_thread.start()

    def submit(self, items: Sequence[StreamItem]) -> None:
        """Hand items over, in stream order. Never blocks on the database or the disk.

        While the spool cannot be written, items wait in memory, batches up to
        ``max_queue_values`` sample values; batches beyond are dropped, counted
        (``samples_lost``) and recorded as a gap (see :mod:`ald_gui.store.memory_queue`).
        Raises RuntimeError once ``stop()`` was called: the items would not be kept.
        """
        with self._queue_changed:
            if self._stopping.is_set():
                raise RuntimeError("writer is stopped: items submitted now would be lost")
            losing = self._queue.losing
            self._queue.extend(items)
            began_losing = self._queue.losing and not losing
            gaps = self._queue.take_gaps()
            self._session_runs.update(i.run.id for i in items if isinstance(i, RunStarted))
            self._queue_changed.notify()
        self._report_loss(began_losing, gaps)

    def stop(self, timeout: float = 5.0) -> bool:
        """Journal everything submitted, commit what can be within ``timeout``, stop.

        Blocks up to about ``timeout`` seconds. Returns True if every submitted item is
        in the spool and the threads ended. Items not committed stay in the spool and
        go first at the next start.
        """
        deadline = time.monotonic() + timeout
        with self._queue_changed:
            self._final_deadline = deadline
            self._queue.close_loss()  # its gap is journaled with the rest
            gaps = self._queue.take_gaps()
            self._stopping.set()
            self._queue_changed.notify()
        self._report_loss(False, gaps)
        if self._started:
            self._journal_thread.join(max(0.0, deadline - time.monotonic()))
            self._commit_thread.join(max(0.0, deadline - time.monotonic()))
        self._pool.close(timeout=max(0.1, deadline - time.monotonic()))
        threads_alive = self._journal_thread.is_alive() or self._commit_thread.is_alive()
        return not threads_alive and not self._queue

    def health(self) -> WriterHealth:
        """The current figures. Cheap; safe from any thread."""
        oldest = self._spool.oldest_unsent_us()
        busy_since = self._busy_since
        now = time.monotonic()
        with self._figures_lock:
            rows = sum(n for t, n in self._committed_rows if t > now - _RATE_WINDOW_S)
        return WriterHealth(
            queue_depth=len(self._queue),
            spool_depth=self._spool.depth(),
            oldest_unsent_age_s=None if oldest is None else (now_us() - oldest) / 1e6,
            last_commit_s=self._last_commit_s,
            rows_per_second=rows / _RATE_WINDOW_S,
            dead_letters=self._spool.dead_letter_count(),
            commit_failures=self._commit_failures,
            samples_lost=self._queue.samples_lost,
            database_busy_s=None if busy_since is None else now - busy_since,
            database_connected=self._connected,
            schema_version=self._schema_version,
            pool=PoolFigures.from_stats(self._pool.get_stats()),
            last_error=self._last_error,
            at_us=now_us(),
            disk_free_bytes=self._disk_free(),
            lease_taken=self._lease_taken,
        )

    def _disk_free(self) -> int | None:
        # The spool is the buffer for a database outage: the disk under it running out
        # is what would finally lose samples, so it is a health figure (and an alarm).
        try:
            return shutil.disk_usage(self._spool.path.parent).free
        except OSError:
            return None

    def sample_latencies(self) -> list[float]:
        """Seconds from sampling to commit of each committed batch, oldest first (the
        last ``latency_samples`` of them): for p50/p99 figures."""
        with self._figures_lock:
            return list(self._latencies)

    # -- journal thread ---------------------------------------------------------------

    def _journal_loop(self) -> None:
        next_health = time.monotonic()
        while True:
            with self._queue_changed:
                self._queue_changed.wait_for(
                    lambda: bool(self._queue) or self._stopping.is_set() or self._health_due,
                    timeout=max(0.0, next_health - time.monotonic()),
                )
                items, stopping = self._queue.snapshot(), self._stopping.is_set()
                health_due, self._health_due = self._health_due, False
            if items:
                if not self._journal(items):
                    if stopping and time.monotonic() > self._final_deadline:
                        log.error("historian: %d items not journaled at stop", len(items))
                        break
                    time.sleep(0.2)  # a full or failing disk does not recover in µs
            elif stopping:
                break
            if health_due or time.monotonic() >= next_health:
                next_health = time.monotonic() + self._health_interval_s
                self._publish_health()
        self._journal_done.set()
        self._journaled.set()

    def _journal(self, items: list[StreamItem]) -> bool:
        """Append ``items`` to the spool, then drop them from the queue. False (items
        left in the queue) if the spool refused them."""
        try:
            self._spool.append(items)
        except Exception as exc:
            self._last_error = f"spool: {exc}"
            full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            with self._queue_changed:
                self._queue.cause = "spool full" if full else f"spool not writable ({exc})"
            if not self._spool_failing:  # once per failure, not once per retry
                self._spool_failing = True
                self._emit(WriterEvent(WriterEventKind.SPOOL_FAILED, f"cannot journal: {exc}"))
            return False
        self._spool_failing = False
        with self._queue_changed:
            self._queue.forget(len(items))
        self._journaled.set()
        return True

    def _report_loss(self, began: bool, gaps: list[Gap]) -> None:
        """Tell that samples are being dropped, and each gap that records a drop."""
        if began:
            self._emit(
                WriterEvent(
                    WriterEventKind.SAMPLES_LOST,
                    f"{self._queue.cause}: memory is full too, samples are NOT being recorded",
                )
            )
        for gap in gaps:
            self._emit(WriterEvent(WriterEventKind.SAMPLES_LOST, f"{gap.reason} (kept as a gap)"))
        if began or gaps:
            self._health_changed()

    def _health_changed(self) -> None:
        with self._queue_changed:
            self._health_due = True
            self._queue_changed.notify()

    # -- commit thread ----------------------------------------------------------------

    def _commit_loop(self) -> None:
        while True:
            final = self._journal_done.is_set()
            if final and time.monotonic() > self._final_deadline:
                break
            try:
                step = self._step()
            except Exception as exc:  # the spool file, or a bug: keep the thread alive
                log.exception("historian: commit step failed")
                self._last_error = f"writer: {exc}"
                step = _Step.BLOCKED
            if step is _Step.MORE:
                continue
            if final:
                break
            if step is _Step.LEASE_TAKEN:
                self._journal_done.wait()  # journal on, commit nothing: no fight for it
                continue
            if step is _Step.IDLE:
                if not self._journaled.wait(self._health_interval_s):
                    self._probe()
            else:
                self._stopping.wait(self._backoff.next_delay())
        self._release_lease()
        self._connected = False

    def _configure(self, conn: Connection[TupleRow]) -> None:
        """Bound every statement and lock wait of the writer's sessions: a server that is
        alive but blocked (a held lock, a stalled disk) gives an error to retry instead of
        hanging the commit thread. A migration longer than the statement timeout must be
        applied with ``ald-gui db upgrade``, which sets none."""
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false),"
            " set_config('lock_timeout', %s, false)",
            (_milliseconds(self._statement_timeout_s), _milliseconds(self._lock_timeout_s)),
        )
        conn.commit()

    @contextmanager
    def _connection(self) -> Iterator[Connection[TupleRow]]:
        """A pooled connection, timed from the request on: health() shows how long the
        database call in progress has been running, so a stuck commit is seen."""
        self._busy_since = time.monotonic()
        try:
            with self._pool.connection(timeout=self._wait_s()) as conn:
                yield conn
        finally:
            self._busy_since = None

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

    def _step(self) -> _Step:
        if self._lease_taken:
            return _Step.LEASE_TAKEN
        if self._parameter_ids is None and not self._prepare():
            return _Step.LEASE_TAKEN if self._lease_taken else _Step.BLOCKED
        if self._lease.renewal_due() and not self._renew_lease():
            return _Step.LEASE_TAKEN if self._lease_taken else _Step.BLOCKED
        self._journaled.clear()  # before looking, so no append goes unnoticed
        group = self._spool.next_group(self._max_items, self._max_values)
        self._report_unreadable()
        if group is None:
            if not self._orphans_closed:
                return self._close_orphans()
            return _Step.IDLE
        return self._forward(group)

    def _close_orphans(self) -> _Step:
        """Once the spool of earlier sessions is committed, end the runs they left open."""
        try:
            with self._connection() as conn:
                with self._queue_changed:
                    current = set(self._session_runs)
                closed = close_orphaned_runs(conn, self._machine, current, self._lease.fence)
        except LeaseTaken as exc:
            self._taken(exc)
            return _Step.LEASE_TAKEN
        except Exception as exc:
            if is_transient(exc):
                self._lost(exc)
                return _Step.BLOCKED
            raise
        self._orphans_closed = True
        for run_id in closed:
            self._emit(
                WriterEvent(
                    WriterEventKind.RUN_RECOVERED, f"run {run_id} was left open; ended as aborted"
                )
            )
        return _Step.MORE

    def _wait_s(self) -> float:
        """How long to wait for a connection: short once stopping."""
        if self._stopping.is_set():
            left = self._final_deadline - time.monotonic()
            return max(0.05, min(self._connection_wait_s, left))
        return self._connection_wait_s

    def _prepare(self) -> bool:
        """Check the schema and sync the tags, on each (re)connection. True if done."""
        try:
            with self._connection() as conn:
                roles.require_membership(conn, roles.Group.WRITER)
                migrations.upgrade(conn, lock_wait_s=self._lock_timeout_s)
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
                self._last_error = f"schema: {exc}"
                if self._schema_refusal != str(exc):
                    self._schema_refusal = str(exc)
                    self._emit(WriterEvent(WriterEventKind.SCHEMA_REFUSED, str(exc)))
            return False
        self._parameter_ids = parameter_ids
        self._schema_version = schema_version
        self._schema_refusal = ""
        self._backoff.reset()
        if not self._connected:
            self._connected, self._outage_reported = True, False
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
        self._commit_failures, self._commit_refusal = 0, ""
        committed = time.monotonic()
        at = now_us()
        self._spool.acknowledge(group)
        self._backoff.reset()
        self._last_commit_s = committed - started
        with self._figures_lock:
            self._committed_rows.append((committed, result.history_rows + result.run_rows))
            while self._committed_rows[0][0] < committed - _RATE_WINDOW_S:
                self._committed_rows.popleft()
            self._latencies.extend(
                (at - i.sampled_at_us) / 1e6 for i in group.items if isinstance(i, Batch)
            )
        return _Step.MORE

    def _renew_lease(self) -> bool:
        try:
            with self._connection() as conn:
                self._lease.hold(conn)
        except LeaseTaken as exc:
            self._taken(exc)
            return False
        except Exception as exc:
            if is_transient(exc):
                self._lost(exc)
                return False
            raise
        return True

    def _taken(self, exc: LeaseTaken) -> None:
        """Another console records the machine: stop committing for good (this
        session), keep journaling, and say so once."""
        self._lease_taken = str(exc)
        self._last_error = f"lease: {exc}"
        try:
            self._lease.withhold_spool(str(exc))
        except OSError as failed:
            log.error("historian: cannot withhold the spool: %s", failed)
        self._emit(WriterEvent(WriterEventKind.LEASE_TAKEN, str(exc)))
        self._health_changed()

    def _lost(self, exc: BaseException) -> None:
        self._parameter_ids = None  # re-check the schema once reconnected
        self._last_error = f"database: {exc}"
        self._connected = False
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
        self._commit_failures += 1
        reason = f"{type(exc).__name__}: {exc}"
        self._last_error = f"commit refused, retrying: {reason}"
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
        self._last_error = f"quarantined: {reason}"
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
            self._last_error = f"quarantined: {reason}"
            self._emit(WriterEvent(WriterEventKind.QUARANTINED, f"unreadable, kept raw: {reason}"))
        if reasons:
            self._health_changed()

    # -- callbacks --------------------------------------------------------------------

    def _emit(self, event: WriterEvent) -> None:
        log.info("historian %s: %s", event.kind, event.message)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("historian: on_event callback failed")

    def _publish_health(self) -> None:
        if self._on_health is not None:
            try:
                self._on_health(self.health())
            except Exception:
                log.exception("historian: on_health callback failed")
