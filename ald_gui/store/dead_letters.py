"""Dead letters: spool items set aside for good, kept with the reason and their raw row.

Two ways into the dead letters: PostgreSQL refused the item's data (see
:func:`~ald_gui.store.commit.is_data_error`), or the spool row cannot be decoded at all
(a damaged file, a program that wrote a format this one does not read). The row is kept
as it was stored, so an undecodable one can still be exported and examined.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ald_gui.domain.stream import StreamItem
from ald_gui.store.spool_items import Keys, UnreadableItem, decode_item

__all__ = ["DeadLetter", "read_dead_letters"]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An item set aside for good. ``item`` is None when the row cannot be decoded;
    ``kind`` and ``body`` are the row as stored, either way."""

    position: int  # its place in the stream (the spool's order)
    transaction_id: uuid.UUID  # the group it was last tried in
    item: StreamItem | None
    reason: str
    quarantined_at_us: int
    kind: int
    body: bytes


def read_dead_letters(db: sqlite3.Connection, key_set: Callable[[int], Keys]) -> list[DeadLetter]:
    """Every dead letter in ``db``, oldest first; ``key_set`` gives a batch's key list."""
    rows = db.execute(
        "SELECT pos, txid, kind, body, reason, quarantined_at_us FROM dead_letter ORDER BY pos"
    ).fetchall()
    letters = []
    for pos, txid, kind, body, reason, at in rows:
        try:
            item: StreamItem | None = decode_item(kind, body, key_set)
        except UnreadableItem:
            item = None
        letters.append(DeadLetter(pos, uuid.UUID(bytes=txid), item, reason, at, kind, body))
    return letters
