"""What a kind of stream item is to the store: the one definition that plugs it in.

Every kind of item the poll thread puts into the stream (domain.stream) is defined by
one :class:`StreamKind`, in a module of its own in this package, and listed once in the
registry (``ald_gui.store.kinds``). The spool's codec reads its number and its
encoding from there; nothing else in the store names the kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Keys = tuple[str, ...]
KeySetId = Callable[[Keys], int]  # the id of a batch's key list, stored once by the spool
KeySet = Callable[[int], Keys]  # a key list by its id

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StreamKind(Generic[T]):
    """One kind of stream item, ``item``, as the store handles it.

    ``number``: its kind in the spool's rows, never reused (a spool may outlive a
    release). ``encode``: ``(at_us, value count, body)`` of an item, ``at_us`` being its
    stream time (the spool's age); ``decode``: the item of a body, raising ValueError,
    KeyError, TypeError, IndexError or struct.error for one that does not decode (the
    codec names the row). The round trip is exact.
    """

    number: int
    item: type[T]
    encode: Callable[[T, KeySetId], tuple[int, int, bytes]]
    decode: Callable[[bytes, KeySet], T]
