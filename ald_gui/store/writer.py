"""The writer: journals the stream into the spool and commits it to PostgreSQL in order.

Two threads, so that a database that hangs never delays journaling:
- the *journal* thread (here) moves submitted items from memory into the spool (one
  fsync'd SQLite transaction for everything that arrived meanwhile) and publishes health;
- the *commit* thread (:mod:`ald_gui.store.commit_loop`) owns the connection pool and
  forwards spool groups, oldest first, one PostgreSQL transaction each, acknowledging a
  group only after its commit, quarantining only what PostgreSQL refuses as data.

Items therefore sit in memory only for the few milliseconds of a spool write, whatever
the database does; during an outage the spool, not memory, is the buffer.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from ald_gui.config.partitions import PartitionSettings
from ald_gui.domain.backoff import Backoff
from ald_gui.domain.stream import Gap, RunStarted, StreamItem, now_us
from ald_gui.domain.tags import Tag
from ald_gui.store.commit_loop import CommitLimits, CommitLoop, Handover
from ald_gui.store.health import WriterEvent, WriterEventKind, WriterHealth
from ald_gui.store.lease import Lease
from ald_gui.store.memory_queue import MemoryQueue
from ald_gui.store.spool import Spool

__all__ = ["Writer"]

log = logging.getLogger(__name__)


class Writer:
    """The historian's writer. Construct, ``start()``, ``submit()`` freely, ``stop()``.

    Whatever is already in the spool (from a previous process) is committed first, in
    order. ``on_health`` is called from the journal thread (every ``health_interval_s``
    and on connection changes), ``on_event`` from either thread; both must return
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
        partitions: PartitionSettings | None = None,
    ) -> None:
        if max_group_items < 1 or max_group_values < 1:
            raise ValueError(
                f"max_group_items ({max_group_items}) and max_group_values "
                f"({max_group_values}) must be at least 1"
            )
        self._spool = spool
        self._on_health, self._on_event = on_health, on_event
        self._health_interval_s = health_interval_s
        # ~200 MB at most, some 3 minutes of 1,000 tags at 10 Hz while the spool fails.
        self._queue = MemoryQueue(max_queue_values)
        self._queue_changed = threading.Condition()
        self._health_due = False
        self._spool_failing = False
        self._last_error = ""
        self._handover = Handover()
        self._started = False
        self._journal_thread = threading.Thread(
            target=self._journal_loop, name="ald-historian-journal", daemon=True
        )
        # Runs still open in the database that this session did not start were left
        # by a console that died: closed once the spool is caught up.
        self._session_runs: set[uuid.UUID] = set()
        self._committer = CommitLoop(
            dsn,
            spool,
            machine,
            tags,
            # Nothing is written for the machine but under its lease (see store.lease).
            lease=lease or Lease.for_data_dir(machine, spool.path.parent),
            limits=CommitLimits(
                max_group_items,
                max_group_values,
                connection_wait_s,
                statement_timeout_s,
                lock_timeout_s,
            ),
            backoff=Backoff(retry_first_s, retry_cap_s),
            idle_probe_s=health_interval_s,
            latency_samples=latency_samples,
            handover=self._handover,
            emit=self._emit,
            health_changed=self._health_changed,
            session_runs=self._runs_of_this_session,
            note_error=self._note_error,
            partitions=partitions or PartitionSettings(),
        )

    # -- control (any thread) ---------------------------------------------------------

    def start(self) -> None:
        """Start the threads and begin connecting. Returns at once, even if the
        database is down. Raises RuntimeError if started before."""
        if self._started:
            raise RuntimeError("writer already started: a writer starts once")
        self._started = True
        self._journal_thread.start()
        self._committer.start()

    def submit(self, items: Sequence[StreamItem]) -> None:
        """Hand items over, in stream order. Never blocks on the database or the disk.

        While the spool cannot be written, items wait in memory, batches up to
        ``max_queue_values`` sample values; batches beyond are dropped, counted
        (``samples_lost``) and recorded as a gap (see :mod:`ald_gui.store.memory_queue`).
        Raises RuntimeError once ``stop()`` was called: the items would not be kept.
        """
        with self._queue_changed:
            if self._handover.stopping.is_set():
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
            self._handover.final_deadline = deadline
            self._queue.close_loss()  # its gap is journaled with the rest
            gaps = self._queue.take_gaps()
            self._handover.stopping.set()
            self._queue_changed.notify()
        self._report_loss(False, gaps)
        if self._started:
            self._journal_thread.join(max(0.0, deadline - time.monotonic()))
            self._committer.join(max(0.0, deadline - time.monotonic()))
        self._committer.close_pool(max(0.1, deadline - time.monotonic()))
        threads_alive = self._journal_thread.is_alive() or self._committer.is_alive()
        return not threads_alive and not self._queue

    def health(self) -> WriterHealth:
        """The current figures. Cheap; safe from any thread."""
        oldest = self._spool.oldest_unsent_us()
        committer = self._committer
        busy_since = committer.busy_since
        now = time.monotonic()
        return WriterHealth(
            queue_depth=len(self._queue),
            spool_depth=self._spool.depth(),
            oldest_unsent_age_s=None if oldest is None else (now_us() - oldest) / 1e6,
            last_commit_s=committer.last_commit_s,
            rows_per_second=committer.figures.rows_per_second(now),
            dead_letters=self._spool.dead_letter_count(),
            commit_failures=committer.commit_failures,
            samples_lost=self._queue.samples_lost,
            database_busy_s=None if busy_since is None else now - busy_since,
            database_connected=committer.connected,
            schema_version=committer.schema_version,
            pool=committer.pool_figures(),
            last_error=self._last_error,
            at_us=now_us(),
            disk_free_bytes=self._disk_free(),
            lease_taken=committer.lease_taken,
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
        return self._committer.figures.latencies()

    def _runs_of_this_session(self) -> set[uuid.UUID]:
        with self._queue_changed:
            return set(self._session_runs)

    # -- journal thread ---------------------------------------------------------------

    def _journal_loop(self) -> None:
        next_health = time.monotonic()
        while True:
            with self._queue_changed:
                self._queue_changed.wait_for(
                    lambda: (
                        bool(self._queue) or self._handover.stopping.is_set() or self._health_due
                    ),
                    timeout=max(0.0, next_health - time.monotonic()),
                )
                items, stopping = self._queue.snapshot(), self._handover.stopping.is_set()
                health_due, self._health_due = self._health_due, False
            if items:
                if not self._journal(items):
                    if stopping and time.monotonic() > self._handover.final_deadline:
                        log.error("historian: %d items not journaled at stop", len(items))
                        break
                    time.sleep(0.2)  # a full or failing disk does not recover in µs
            elif stopping:
                break
            if health_due or time.monotonic() >= next_health:
                next_health = time.monotonic() + self._health_interval_s
                self._publish_health()
        self._handover.journal_done.set()
        self._handover.journaled.set()

    def _journal(self, items: list[StreamItem]) -> bool:
        """Append ``items`` to the spool, then drop them from the queue. False (items
        left in the queue) if the spool refused them."""
        try:
            self._spool.append(items)
        except Exception as exc:
            self._note_error(f"spool: {exc}")
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
        self._handover.journaled.set()
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

    # -- callbacks --------------------------------------------------------------------

    def _emit(self, event: WriterEvent) -> None:
        log.info("historian %s: %s", event.kind, event.message)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("historian: on_event callback failed")

    def _note_error(self, text: str) -> None:
        self._last_error = text

    def _publish_health(self) -> None:
        if self._on_health is not None:
            try:
                self._on_health(self.health())
            except Exception:
                log.exception("historian: on_health callback failed")
