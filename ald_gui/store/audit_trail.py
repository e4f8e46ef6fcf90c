"""The audit trail read back (through the reader role): entries by time, account,
action, object and run, for the audit viewer, a run's page and ``audit export``.

Queries only; every function takes a connection the caller opened (on a worker thread
in the window, once in a command) and blocks for as long as the query runs. Times are
stream times (integer microseconds since the epoch), as everywhere in the store; an
entry has two: the console's (``entry.at_us``) and the server's commit (``committed_us``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql

from ald_gui.domain.audit import AuditEntry
from ald_gui.store.db import db_timestamp, stream_us
from ald_gui.store.kinds.audit_entry import signatures_of

__all__ = ["AuditFilter", "AuditRecord", "count_entries", "find_entries", "iter_entries"]

_COLUMNS = sql.SQL(
    "machine, position, seq, at, committed_at, account, role, action, object, before, "
    "after, reason, signatures, run_id, prev_hash, hash"
)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries: every field narrows ("" and None: any). ``since_us``/``until_us``
    bound the console's time of the entry (``until_us`` excluded); ``account`` and
    ``action`` match exactly, ``object`` is searched for in the object, ignoring case.
    Oldest first, ``limit`` at a time (None: all) from ``offset``."""

    machine: str = ""
    since_us: int | None = None
    until_us: int | None = None
    account: str = ""
    action: str = ""
    object: str = ""
    run_id: uuid.UUID | None = None
    limit: int | None = 1000
    offset: int = 0

    def page(self, offset: int) -> AuditFilter:
        return replace(self, offset=max(0, offset))


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An entry as stored: its machine and place in the chain, the server's commit time
    and its links."""

    machine: str
    position: int
    entry: AuditEntry
    committed_us: int
    prev_hash: str
    hash: str


def _where(f: AuditFilter) -> tuple[sql.Composable, dict[str, Any]]:
    terms: list[sql.Composable] = []
    params: dict[str, Any] = {}
    for column, value in (("machine", f.machine), ("account", f.account), ("action", f.action)):
        if value:
            terms.append(sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column)))
            params[column] = value
    if f.object:
        terms.append(sql.SQL("strpos(lower(object), lower(%(object)s)) > 0"))
        params["object"] = f.object
    if f.run_id is not None:
        terms.append(sql.SQL("run_id = %(run_id)s"))
        params["run_id"] = f.run_id
    if f.since_us is not None:
        terms.append(sql.SQL("at >= %(since)s"))
        params["since"] = db_timestamp(f.since_us)
    if f.until_us is not None:
        terms.append(sql.SQL("at < %(until)s"))
        params["until"] = db_timestamp(f.until_us)
    where = sql.SQL(" AND ").join(terms) if terms else sql.SQL("true")
    return where, params


def _record(row: tuple[Any, ...]) -> AuditRecord:
    entry = AuditEntry(
        row[2], stream_us(row[3]), row[5], row[6], row[7], row[8], row[9], row[10], row[11],
        signatures_of(row[12]), row[13],
    )  # fmt: skip
    return AuditRecord(row[0], row[1], entry, stream_us(row[4]), row[14], row[15])


def _query(f: AuditFilter) -> tuple[sql.Composed, dict[str, Any]]:
    where, params = _where(f)
    query = sql.SQL(
        "SELECT {} FROM audit_entries WHERE {} ORDER BY machine, position OFFSET %(offset)s"
    ).format(_COLUMNS, where)
    params["offset"] = f.offset
    if f.limit is not None:
        query = sql.SQL("{} LIMIT %(limit)s").format(query)
        params["limit"] = f.limit
    return query, params


def find_entries(conn: psycopg.Connection[Any], f: AuditFilter) -> list[AuditRecord]:
    """The entries ``f`` selects, one page of them, in chain order per machine."""
    query, params = _query(f)
    return [_record(r) for r in conn.execute(query, params).fetchall()]


def iter_entries(conn: psycopg.Connection[Any], f: AuditFilter) -> Iterator[AuditRecord]:
    """Every entry ``f`` selects, streamed in pages through a server-side cursor (an
    export of years). ``conn`` must be outside any transaction: one is opened for the
    cursor and closed when the iteration ends."""
    query, params = _query(f)
    with conn.transaction(), conn.cursor(name="audit_entries") as cur:
        cur.itersize = 2000
        cur.execute(query, params)
        for row in cur:
            yield _record(row)


def count_entries(conn: psycopg.Connection[Any], f: AuditFilter) -> int:
    """How many entries ``f`` selects, all pages together."""
    where, params = _where(f)
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM audit_entries WHERE {}").format(where), params
    ).fetchone()
    assert row is not None  # an aggregate always has a row
    return int(row[0])
