"""One write group of the stream, committed to PostgreSQL in one transaction, exactly once.

The ledger row (``write_transactions``) goes in first with ``ON CONFLICT DO NOTHING``:
if it is already there, an earlier attempt committed and only its acknowledgement was
lost, so nothing else is written. Otherwise each kind of item in the group writes its
rows (runs, gaps, recipe steps, samples: see :mod:`ald_gui.store.kinds`, which also
says the order), and the ledger's counts (computed from the items before anything is
written) equal the rows written, because both commit or neither does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from ald_gui.domain.stream import StreamItem
from ald_gui.store.db import require_idle
from ald_gui.store.kinds import KINDS, LEDGER_COLUMNS
from ald_gui.store.kinds.base import Group, GroupRejected, StreamKind

__all__ = ["CommitResult", "GroupRejected", "commit_group", "is_data_error", "is_transient"]

_COLUMNS = ", ".join(LEDGER_COLUMNS)
_INSERT_LEDGER = f"""
INSERT INTO write_transactions (transaction_id, machine, {_COLUMNS}, first_seq, last_seq)
VALUES (%s, %s, {", ".join("%s" for _ in LEDGER_COLUMNS)}, %s, %s)
ON CONFLICT (transaction_id) DO NOTHING
"""
_LEDGER_ROW = f"SELECT machine, {_COLUMNS} FROM write_transactions WHERE transaction_id = %s"
# Where each kind's items go while the group is sorted: its place in the registry.
_PLACE = {k.item: i for i, k in enumerate(KINDS)}

# SQLSTATEs worth retrying: the same group may succeed later, unchanged.
_TRANSIENT_CLASSES = ("08", "53")  # connection exceptions; insufficient resources (disk full)
_TRANSIENT_STATES = frozenset({
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
    "57014",  # query_canceled (statement_timeout on a struggling server)
    "57P01",  # admin_shutdown (server restart, pg_terminate_backend)
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now (server starting up or recovering)
    "25006",  # read_only_sql_transaction (connected to a standby during a failover)
})  # fmt: skip


# SQLSTATE classes the data itself causes: data exceptions, integrity constraints.
_DATA_CLASSES = ("22", "23")


@dataclass(frozen=True)
class CommitResult:
    """``rows``: the rows of the group by ledger count (``history_rows``, ``run_rows``,
    ``gap_rows``, ...), written now or, when ``already_committed``, before."""

    transaction_id: uuid.UUID
    rows: Mapping[str, int]
    already_committed: bool


def commit_group(
    conn: psycopg.Connection[Any],
    transaction_id: uuid.UUID,
    items: Sequence[StreamItem],
    parameter_ids: Mapping[str, int],
    machine: str,
    fence: Callable[[psycopg.Connection[Any]], None] | None = None,
) -> CommitResult:
    """Write ``items`` (in stream order) and their ledger row in one transaction.

    ``fence``, if given, runs first inside that transaction; whatever it raises aborts
    the group (the machine's lease: see :mod:`ald_gui.store.lease`).

    Returns ``already_committed=True``, writing nothing, when ``transaction_id`` is in
    the ledger already. ``conn`` must be outside any transaction; the transaction is
    committed on return. Raises GroupRejected for a group that can never commit, psycopg
    errors otherwise (``is_transient`` tells which are worth retrying). On any error
    nothing of the group is written.
    """
    by_kind, counts = _sort(items, parameter_ids, machine)
    result = CommitResult(transaction_id, dict(zip(LEDGER_COLUMNS, counts, strict=True)), False)
    require_idle(conn, "commit_group")
    with conn.transaction(), conn.cursor() as cur:
        if fence is not None:
            fence(conn)
        cur.execute(_INSERT_LEDGER, (transaction_id, machine, *counts, items[0].seq,
                                     items[-1].seq))  # fmt: skip
        if cur.rowcount == 0:
            _check_replay(cur, transaction_id, machine, counts)
            return CommitResult(transaction_id, result.rows, True)
        group = Group(cur, transaction_id, machine, parameter_ids)
        for kind, of_kind in by_kind:
            kind.write(of_kind, group)
    return result


def is_data_error(exc: BaseException) -> bool:
    """True if the group's own data makes it fail, so that committing it again can never
    succeed: PostgreSQL refuses a value (22xxx data exceptions: out of range, invalid
    text) or a rule (23xxx integrity constraints: a CHECK, a foreign key), or this
    module refuses the group (GroupRejected). Only such a group is split and its
    refused items quarantined. Everything else (a revoked permission, a missing table,
    an I/O error on the server, a bug in this code) is the system's fault, not the
    data's: it is retried, however long it lasts, so a broken server cannot empty the
    stream into the dead letters."""
    if isinstance(exc, GroupRejected | psycopg.DataError | psycopg.IntegrityError):
        return True  # psycopg's classes of 22xxx and 23xxx; also raised before sending
    if isinstance(exc, psycopg.Error) and exc.sqlstate is not None:
        return exc.sqlstate.startswith(_DATA_CLASSES)
    return False


def is_transient(exc: BaseException) -> bool:
    """True if the database is away or busy for a while: lost or refused connections,
    server shutdown or restart, serialization failures and deadlocks, exhausted server
    resources, timeouts. The writer then reports the database lost; an error neither
    transient nor a data error (:func:`is_data_error`) is retried too, reported as the
    database refusing commits."""
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        if state is None:
            # No answer from a server: the connection broke, could not be made, or the
            # pool had none to give (psycopg_pool.PoolTimeout is an OperationalError).
            return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        return state in _TRANSIENT_STATES or state.startswith(_TRANSIENT_CLASSES)
    return isinstance(exc, ConnectionError | TimeoutError)


def _sort(
    items: Sequence[StreamItem], parameter_ids: Mapping[str, int], machine: str
) -> tuple[list[tuple[StreamKind[Any], list[Any]]], tuple[int, ...]]:
    """The group's items by kind (in the registry's order, each in stream order) and
    the ledger's counts; raises GroupRejected if the group can never commit."""
    if not items:
        raise GroupRejected("a write group needs at least one item")
    sorted_items: list[list[Any]] = [[] for _ in KINDS]
    previous: int | None = None
    for item in items:
        if previous is not None and item.seq <= previous:
            raise GroupRejected(f"items out of stream order: seq {item.seq} after {previous}")
        previous = item.seq
        place = _PLACE.get(type(item))
        if place is None:
            raise GroupRejected(f"seq {item.seq}: {type(item).__name__} is no stream item")
        sorted_items[place].append(item)
    by_kind: list[tuple[StreamKind[Any], list[Any]]] = []
    counts: list[int] = []
    for kind, of_kind in zip(KINDS, sorted_items, strict=True):
        if of_kind:
            by_kind.append((kind, of_kind))
            counts.extend(kind.count(of_kind, parameter_ids, machine))
        else:
            counts.extend(0 for _ in kind.ledger)
    return by_kind, tuple(counts)


def _check_replay(
    cur: psycopg.Cursor[Any], transaction_id: uuid.UUID, machine: str, counts: tuple[int, ...]
) -> None:
    cur.execute(_LEDGER_ROW, (transaction_id,))
    row = cur.fetchone()
    assert row is not None  # the conflicting row cannot vanish: the ledger is append-only
    if (row[0], *row[1:]) != (machine, *counts):
        raise GroupRejected(
            f"transaction {transaction_id} was committed before with other content "
            f"(machine {row[0]!r}, rows {tuple(row[1:])}; this group: machine {machine!r}, "
            f"rows {counts}): a transaction id must name one group only"
        )
