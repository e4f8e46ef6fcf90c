"""What a kind of stream item is to the store: the one definition that plugs it in.

Every kind of item the poll thread puts into the stream (domain.stream) is defined by
one :class:`StreamKind`, in a module of its own in this package, and listed once in the
registry (``ald_gui.store.kinds``). The spool's codec reads its number and its
encoding from there, ``commit_group`` its checks, its rows and its ledger counts,
``doctor`` (store.invariants) its rules and figures, and the closing of a crashed run
(store.runs) its latest time in a run; nothing else in the store names the kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, LiteralString, TypeVar

import psycopg

Keys = tuple[str, ...]
KeySetId = Callable[[Keys], int]  # the id of a batch's key list, stored once by the spool
KeySet = Callable[[int], Keys]  # a key list by its id

T = TypeVar("T")


class GroupRejected(ValueError):
    """The group can never be committed as it is (unknown tag, foreign machine, run
    ended that never started, reused transaction id): retrying cannot help."""


@dataclass(frozen=True, slots=True)
class Group:
    """A write group being committed: what a kind's rows need besides its items. The
    cursor is inside the group's transaction, after its ledger row."""

    cur: psycopg.Cursor[Any]
    transaction_id: uuid.UUID
    machine: str
    parameter_ids: Mapping[str, int]  # tag key -> parameters.id of the machine


@dataclass(frozen=True, slots=True)
class LedgerCount:
    """A count in the ledger row (``write_transactions.column``): how many rows of
    ``table`` carry the group's transaction id (invariant 3)."""

    column: LiteralString
    table: LiteralString


@dataclass(frozen=True, slots=True)
class Check:
    """A rule of invariant ``invariant`` that doctor checks in SQL: ``query`` returns the
    rows of machine ``%(machine)s`` breaking it, at most ``%(limit)s``, each with the
    ``total`` count of them (``count(*) OVER ()``)."""

    invariant: int
    rule: str
    query: LiteralString


@dataclass(frozen=True, slots=True)
class Figure:
    """A count doctor reports as checked, so a clean verdict says what it covers:
    ``query``, a scalar query of machine ``%(machine)s``; ``name`` its key in
    ``--json``, ``label`` its words in the text."""

    name: str
    label: str
    query: LiteralString


def no_rows(items: Sequence[Any], parameter_ids: Mapping[str, int], machine: str) -> tuple[()]:
    """``count`` of a kind that has no count in the ledger and nothing to check."""
    return ()


@dataclass(frozen=True, slots=True)
class StreamKind(Generic[T]):
    """One kind of stream item, ``item``, as the store handles it.

    ``number``: its kind in the spool's rows, never reused (a spool may outlive a
    release). ``encode``: ``(at_us, value count, body)`` of an item, ``at_us`` being its
    stream time (the spool's age); ``decode``: the item of a body, raising ValueError,
    KeyError, TypeError, IndexError or struct.error for one that does not decode (the
    codec names the row). The round trip is exact.

    In a write group (``commit_group``): ``count(items, parameter_ids, machine)``, before
    anything is written, checks the group's items of this kind (in stream order) and
    returns the rows they will add, one figure per ``ledger`` count, raising
    GroupRejected for items that can never be committed; ``write(items, group)`` writes
    them. The kinds write in the registry's order, so a kind comes after every kind its
    rows refer to (runs before what names them).

    For doctor: ``figures`` counted, ``checks`` run (the ledger's counts are checked for
    every kind from ``ledger``: invariant 3). ``last_in_run``: for a kind whose rows lie
    inside a run, a scalar query of the latest time of its rows in run ``r``, so a run
    closed after a crash ends after all of them.
    """

    number: int
    item: type[T]
    encode: Callable[[T, KeySetId], tuple[int, int, bytes]]
    decode: Callable[[bytes, KeySet], T]
    write: Callable[[Sequence[T], Group], None]
    count: Callable[[Sequence[T], Mapping[str, int], str], tuple[int, ...]] = no_rows
    ledger: tuple[LedgerCount, ...] = ()
    figures: tuple[Figure, ...] = ()
    checks: tuple[Check, ...] = ()
    last_in_run: LiteralString | None = None
