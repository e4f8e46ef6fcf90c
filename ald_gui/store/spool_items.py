"""Stream items to and from the rows of the spool.

Each kind of item has its number and its encoding in its own module of
:mod:`ald_gui.store.kinds`; this is the one door to them. The round trip is exact:
microsecond integers, UUIDs, NaN and infinities included.
"""

from __future__ import annotations

import struct

from ald_gui.domain.stream import StreamItem
from ald_gui.store.kinds import BY_NUMBER, BY_TYPE
from ald_gui.store.kinds.base import Keys, KeySet, KeySetId

__all__ = ["Keys", "UnreadableItem", "decode_item", "encode_item"]


class UnreadableItem(ValueError):
    """A spool row that does not decode to a stream item (damaged, or of a kind this
    program does not know)."""


def encode_item(item: StreamItem, key_set_id: KeySetId) -> tuple[int, int, int, bytes]:
    """``(kind, at_us, value count, body)`` of ``item``; ``key_set_id`` gives the id of a
    batch's key list. Raises TypeError for something that is not a stream item."""
    kind = BY_TYPE.get(type(item))
    if kind is None:
        known = ", ".join(k.__name__ for k in BY_TYPE)
        raise TypeError(f"cannot spool {type(item).__name__} {item!r}: expected one of {known}")
    return kind.number, *kind.encode(item, key_set_id)


def decode_item(kind: int, body: bytes, key_set: KeySet) -> StreamItem:
    """The item stored as ``kind`` and ``body``; ``key_set`` gives a key list by id.
    Raises UnreadableItem, naming the row's kind and size, for anything that does not
    decode (an unknown kind, a truncated or damaged body, a key list that is missing)."""
    try:
        found = BY_NUMBER.get(kind)
        if found is None:
            raise ValueError(f"unknown item kind {kind}")
        item: StreamItem = found.decode(body, key_set)
        return item
    except (ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise UnreadableItem(
            f"cannot decode a spool row of kind {kind} ({len(body)} bytes): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
