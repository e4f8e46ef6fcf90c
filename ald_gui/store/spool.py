"""The spool: a local, durable journal of the stream on its way to PostgreSQL.

Everything handed to the writer is appended here first (SQLite, WAL, synchronous=FULL),
so it survives a database outage, a crash or ``kill -9``. Items leave the spool in
stream order, in *groups*: contiguous slices of the stream, each with a
``transaction_id`` that is written to the spool before the group is handed out. After a
restart the same group is offered again with the same id, so a commit whose
acknowledgement was lost is replayed under the id the ledger already holds and is a
no-op in PostgreSQL.

Because groups are contiguous slices taken from the front, a ``RunStarted`` is always
committed before (or with) its run's batches (invariant 4, README). A group that fails
for good is not quarantined whole: the writer calls :meth:`Spool.isolate`, which splits
it in halves, persistently, until the failing items stand alone; only those are
quarantined. A run's start therefore never goes to the dead letters with healthy
batches, and healthy batches never go there with a bad one. (If a ``RunStarted`` itself
fails for good, its batches fail too and each is quarantined: nothing is committed
without its run, nothing is dropped.)

Batches are stored as their tag-key list, written once and referenced by id, plus the
values as little-endian float64: about 25 µs and 8 kB for a 1,000-tag batch, against
0.5 ms and 45 kB as JSON. The round trip is exact, NaN and infinities included.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from ald_gui.domain.stream import StreamItem, now_us
from ald_gui.store.dead_letters import DeadLetter, read_dead_letters
from ald_gui.store.spool_file import prepare, read_key_sets
from ald_gui.store.spool_items import Keys, UnreadableItem, decode_item, encode_item
from ald_gui.store.spool_owner import SpoolError, SpoolInUse, claim

__all__ = ["DeadLetter", "Spool", "SpoolError", "SpoolGroup", "SpoolInUse"]


@dataclass(frozen=True, slots=True)
class SpoolGroup:
    """The oldest unsent items, in stream order, under one transaction id.

    The id is durable in the spool: the same group comes back with the same id until it
    is acknowledged, quarantined or isolated.
    """

    transaction_id: uuid.UUID
    items: tuple[StreamItem, ...]


class Spool:
    """A durable, ordered journal of stream items in one SQLite file.

    Safe to use from several threads (calls are serialised by a lock); each call is one
    SQLite transaction and blocks for its fsync (a few ms on an SSD). One owner at a
    time: a lock on ``<file>.owner`` is held while open (released by the OS if the
    process dies), and a second opener gets :class:`SpoolInUse`. Readers that do not
    own it (:class:`~ald_gui.store.spool_view.SpoolView`) may look meanwhile.
    """

    def __init__(self, path: Path) -> None:
        """Open the spool at ``path``, creating it (and its directory) if needed.
        Raises SpoolInUse if it is open elsewhere, SpoolError if it cannot be used."""
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys_by_id: dict[int, tuple[str, ...]] = {}
        self._id_by_keys: dict[tuple[str, ...], int] = {}
        self._unreadable: list[str] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a fresh data dir
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))  # -wal, -shm follow
            os.chmod(self.path, 0o600)  # one made 0644 by an older release
            self._owner = claim(self.path)
        except OSError as exc:
            raise SpoolError(f"cannot open spool {self.path}: {exc}") from exc
        try:
            # A busy timeout, for the moments a reader (doctor, ``ald-gui spool list``)
            # recovers the WAL index: they never write, so this is never a long wait.
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=2.0
            )
        except (OSError, sqlite3.Error) as exc:
            self._owner.close()
            raise SpoolError(f"cannot open spool {self.path}: {exc}") from exc
        try:
            self._setup()
        except BaseException:
            self._db.close()
            self._owner.close()
            raise
        self._closed = False

    def _setup(self) -> None:
        prepare(self._db, self.path)
        self._keys_by_id = read_key_sets(self._db)
        self._id_by_keys = {keys: key_id for key_id, keys in self._keys_by_id.items()}
        self._depth: int = self._db.execute("SELECT count(*) FROM spool").fetchone()[0]
        self._oldest_us = self._front_us()
        self._dead_count: int = self._db.execute("SELECT count(*) FROM dead_letter").fetchone()[0]

    # -- life cycle -------------------------------------------------------------------

    def close(self) -> None:
        """Release the file. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()
                self._owner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise SpoolError(f"spool {self.path} is closed")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction; the caller holds ``self._lock``."""
        self._check_open()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    # -- journal ----------------------------------------------------------------------

    def append(self, items: Sequence[StreamItem]) -> None:
        """Journal ``items`` after everything already in the spool.

        Durable when it returns (one fsync'd transaction), all or nothing. Raises
        TypeError for something that is not a stream item, SpoolError when closed and
        sqlite3.Error when the disk refuses (full, I/O error).
        """
        if not items:
            return
        new_keys: dict[tuple[str, ...], int] = {}
        with self._lock:
            with self._transaction() as db:
                rows = [self._encode(db, item, new_keys) for item in items]
                db.executemany(
                    "INSERT INTO spool (kind, at_us, n_values, body) VALUES (?, ?, ?, ?)", rows
                )
            # Only once committed: a rolled-back key set must not be referenced later.
            for keys, key_id in new_keys.items():
                self._id_by_keys[keys] = key_id
                self._keys_by_id[key_id] = keys
            self._depth += len(rows)
            if self._oldest_us is None:
                self._oldest_us = rows[0][1]

    def _encode(
        self, db: sqlite3.Connection, item: StreamItem, new_keys: dict[Keys, int]
    ) -> tuple[int, int, int, bytes]:
        def key_set_id(keys: Keys) -> int:
            key_id = self._id_by_keys.get(keys) or new_keys.get(keys)
            if key_id is None:
                cursor = db.execute("INSERT INTO key_set (keys) VALUES (?)", (json.dumps(keys),))
                key_id = new_keys[keys] = int(cursor.lastrowid or 0)
            return key_id

        return encode_item(item, key_set_id)

    # -- groups -----------------------------------------------------------------------

    def next_group(self, max_items: int, max_values: int | None = None) -> SpoolGroup | None:
        """The oldest unsent items as one group, or None when the spool is empty.

        If a group was handed out and not yet acknowledged, quarantined or isolated
        (also by a previous process), that very group is returned again. Otherwise a new
        group takes up to ``max_items`` items from the front, and stops before the item
        that would bring its samples above ``max_values`` (it always takes at least one
        item); its id is committed to the spool before it is returned.

        A row that does not decode is moved to the dead letters as it is, in the same
        transaction, and the rest of its group is formed anew under a new id (the old
        one was never committed: no commit was possible without decoding); see
        :meth:`take_unreadable`.
        """
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, not {max_items}")
        with self._lock, self._transaction() as db:
            while True:
                first = db.execute("SELECT txid, cap FROM spool ORDER BY pos LIMIT 1").fetchone()
                if first is None:
                    group = None
                    break
                txid_bytes, cap = first
                if txid_bytes is None:
                    txid_bytes = self._form_group(db, max_items, max_values, cap)
                rows = db.execute(
                    "SELECT pos, kind, body FROM spool WHERE txid = ? ORDER BY pos", (txid_bytes,)
                ).fetchall()
                try:
                    items = tuple(
                        decode_item(k, b, self._keys_by_id.__getitem__) for _, k, b in rows
                    )
                except UnreadableItem:
                    self._set_aside_unreadable(db, rows, txid_bytes)
                    continue
                group = SpoolGroup(uuid.UUID(bytes=txid_bytes), items)
                break
        return group

    def take_unreadable(self) -> list[str]:
        """Why each row set aside as undecodable since the last call was (oldest first)."""
        with self._lock:
            reasons, self._unreadable = self._unreadable, []
        return reasons

    def _set_aside_unreadable(
        self, db: sqlite3.Connection, rows: list[tuple[int, int, bytes]], txid: bytes
    ) -> None:
        """Move the rows of ``rows`` that do not decode to the dead letters and release
        the others from group ``txid``. The caller holds the lock."""
        reasons = []
        for pos, kind, body in rows:
            try:
                decode_item(kind, body, self._keys_by_id.__getitem__)
            except UnreadableItem as exc:
                reason = f"spool position {pos}: {exc}"
                db.execute(
                    "INSERT INTO dead_letter SELECT pos, kind, at_us, n_values, body, txid, ?, ?"
                    " FROM spool WHERE pos = ?",
                    (reason, now_us(), pos),
                )
                db.execute("DELETE FROM spool WHERE pos = ?", (pos,))
                reasons.append(reason)
        db.execute("UPDATE spool SET txid = NULL WHERE txid = ?", (txid,))
        self._depth -= len(reasons)
        self._dead_count += len(reasons)
        self._unreadable += reasons
        self._oldest_us = self._front_us()

    def _form_group(
        self, db: sqlite3.Connection, max_items: int, max_values: int | None, cap: int | None
    ) -> bytes:
        limit = max_items if cap is None else min(max_items, cap)
        candidates = db.execute(
            "SELECT pos, n_values, cap FROM spool ORDER BY pos LIMIT ?", (limit,)
        ).fetchall()
        last_pos, total = candidates[0][0], candidates[0][1]
        for pos, n_values, row_cap in candidates[1:]:
            # An isolated region is split only into groups of its own rows.
            if row_cap != cap or (max_values is not None and total + n_values > max_values):
                break
            last_pos, total = pos, total + n_values
        txid = uuid.uuid4().bytes
        db.execute(
            "UPDATE spool SET txid = ? WHERE pos BETWEEN ? AND ?",
            (txid, candidates[0][0], last_pos),
        )
        return txid

    def acknowledge(self, group: SpoolGroup) -> None:
        """Forget a group: call only once PostgreSQL has committed it.

        Idempotent: acknowledging a group that is gone does nothing.
        """
        with self._lock:
            with self._transaction() as db:
                deleted = db.execute(
                    "DELETE FROM spool WHERE txid = ?", (group.transaction_id.bytes,)
                ).rowcount
            self._depth -= deleted
            self._oldest_us = self._front_us()

    def isolate(self, group: SpoolGroup) -> None:
        """Split a group that failed for good, to find the items that made it fail.

        The group's id is dropped (it was never committed) and its items are handed out
        again in groups of at most half its size, halving again on each failure, until
        a failing item stands alone and can be quarantined by itself. Persistent, so a
        restart carries on where it was. Raises ValueError for a single-item group.
        """
        if len(group.items) < 2:
            raise ValueError("a single-item group cannot be split: quarantine it")
        with self._lock, self._transaction() as db:
            db.execute(
                "UPDATE spool SET txid = NULL, cap = ? WHERE txid = ?",
                (len(group.items) // 2, group.transaction_id.bytes),
            )

    def quarantine(self, group: SpoolGroup, reason: str) -> None:
        """Move a group's items to the dead letters, with the reason, in one transaction.

        The items are kept (see :meth:`dead_letters`) and the stream goes on without
        them. Callers isolate a multi-item group first, so that only the item that
        failed is quarantined (see the module docstring).
        """
        with self._lock:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO dead_letter SELECT pos, kind, at_us, n_values, body, txid, ?, ?"
                    " FROM spool WHERE txid = ?",
                    (reason, now_us(), group.transaction_id.bytes),
                )
                moved = db.execute(
                    "DELETE FROM spool WHERE txid = ?", (group.transaction_id.bytes,)
                ).rowcount
            self._depth -= moved
            self._dead_count += moved
            self._oldest_us = self._front_us()

    def release_dead_letters(self, transaction_id: uuid.UUID) -> int:
        """Forget the dead letters of group ``transaction_id``: call only once PostgreSQL
        has committed them (a replay). Idempotent; returns how many were forgotten."""
        with self._lock:
            with self._transaction() as db:
                gone = db.execute(
                    "DELETE FROM dead_letter WHERE txid = ?", (transaction_id.bytes,)
                ).rowcount
            self._dead_count -= gone
        return int(gone)

    # -- figures ----------------------------------------------------------------------

    def depth(self) -> int:
        """Items journaled and not yet acknowledged or quarantined."""
        return self._depth

    def oldest_unsent_us(self) -> int | None:
        """The time of the oldest item still in the spool, None when empty. Cheap, and
        never waits for a write in progress (health is read on the GUI thread, and a
        write may wait seconds for a stalled disk): kept up to date as items come and go.
        """
        self._check_open()
        return self._oldest_us

    def _front_us(self) -> int | None:
        """The time of the first item in the spool; the caller holds the lock."""
        row = self._db.execute("SELECT at_us FROM spool ORDER BY pos LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    def dead_letters(self) -> list[DeadLetter]:
        """Every quarantined item, oldest first."""
        with self._lock:
            self._check_open()
            return read_dead_letters(self._db, self._keys_by_id.__getitem__)

    def dead_letter_count(self) -> int:
        """Items set aside so far (kept in the file). Cheap: counted as they go."""
        return self._dead_count
