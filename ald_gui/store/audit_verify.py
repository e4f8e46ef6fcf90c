"""``audit verify``: recompute every machine's audit chain from the table and name the
first broken link (read-only, under the reader role; ``doctor`` runs it too).

Walking a machine's entries in chain order, each must sit at the next position, name
the previous entry's hash as its own previous hash, and have the hash its content and
that previous hash give (domain.audit.chain_hash). (Its seq need not rise along the
chain: a command line's entry, a signed release, is stamped by its own clock.) The
chain's head (``audit_chain_heads``) must be its last entry, and every ledger row must
count as many entries as are stored under its transaction.

What each break means: a hash that does not match is an entry **changed**; a position
skipped, or a previous hash that is not the entry before's, is an entry **removed** or
**inserted**; a head beyond the last entry is entries removed at the end; a ledger count
above what is stored is an entry removed, below it an entry **forged** (one appended
with a correctly computed hash under a transaction that did not write it). All of these
need the triggers disabled, i.e. a superuser: the database refuses them otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from ald_gui.domain.audit import GENESIS, AuditEntry, chain_hash
from ald_gui.store.db import require_idle, stream_us
from ald_gui.store.kinds.audit_entry import signatures_of

_MACHINES = """
SELECT machine FROM audit_entries UNION SELECT machine FROM audit_chain_heads
UNION SELECT machine FROM write_transactions WHERE audit_rows > 0 ORDER BY 1"""
_ENTRIES = """
SELECT position, seq, at, committed_at, account, role, action, object, before, after,
       reason, signatures, run_id, prev_hash, hash
FROM audit_entries WHERE machine = %s ORDER BY position"""
_HEAD = "SELECT position, hash FROM audit_chain_heads WHERE machine = %s"
_LEDGER = """
WITH stored AS (SELECT transaction_id, count(*) AS n FROM audit_entries
                WHERE machine = %(machine)s GROUP BY transaction_id)
SELECT coalesce(w.transaction_id, s.transaction_id), coalesce(w.audit_rows, 0),
       coalesce(s.n, 0)
FROM (SELECT transaction_id, audit_rows FROM write_transactions
      WHERE machine = %(machine)s AND audit_rows > 0) w
FULL JOIN stored s USING (transaction_id)
WHERE coalesce(w.audit_rows, 0) <> coalesce(s.n, 0)
ORDER BY 1"""


@dataclass(frozen=True)
class BrokenLink:
    """Where machine ``machine``'s chain breaks: at ``position`` (the entry there, or
    the place an entry is missing), the entry's ``seq`` if there is one, and what is
    wrong, in words."""

    machine: str
    position: int
    seq: int | None
    problem: str

    def __str__(self) -> str:
        seq = f" (seq {self.seq})" if self.seq is not None else ""
        return f"machine {self.machine}, position {self.position}{seq}: {self.problem}"


@dataclass(frozen=True)
class ChainCheck:
    """One machine's chain: ``entries`` walked, every break found in chain order (the
    first is the one to look at), the ledger's counts that disagree."""

    machine: str
    entries: int
    broken: list[BrokenLink] = field(default_factory=list)
    ledger: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken and not self.ledger

    def __str__(self) -> str:
        if self.ok:
            return f"machine {self.machine}: {self.entries} audit entries, chain whole"
        problems = [str(b) for b in self.broken[:1]] + self.ledger[:1]
        more = len(self.broken) + len(self.ledger) - len(problems)
        also = f" (and {more} more)" if more else ""
        return f"{self.entries} audit entries, chain broken: " + "; ".join(problems) + also


def verify_chains(conn: psycopg.Connection[Any], machine: str | None = None) -> list[ChainCheck]:
    """Every machine's chain (or ``machine``'s alone), checked from one snapshot of the
    table. Read-only; reads each chain once, in order. ``conn`` must be outside any
    transaction."""
    require_idle(conn, "an audit chain check")
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if machine is None:
            machines = [r[0] for r in conn.execute(_MACHINES).fetchall()]
        else:
            machines = [machine]
        return [_verify(conn, m) for m in machines]


def _rows(conn: psycopg.Connection[Any], machine: str) -> Iterator[tuple[Any, ...]]:
    # A server-side cursor: a trail of millions of entries streams through in pages.
    with conn.cursor(name="audit_chain") as cur:
        cur.itersize = 2000
        cur.execute(_ENTRIES, (machine,))
        yield from cur


def _verify(conn: psycopg.Connection[Any], machine: str) -> ChainCheck:
    broken: list[BrokenLink] = []
    position, previous, entries = 0, GENESIS, 0
    for row in _rows(conn, machine):
        at_position, seq, prev_hash, stored_hash = row[0], row[1], row[13], row[14]
        entries += 1
        entry = AuditEntry(
            seq, stream_us(row[2]), row[4], row[5], row[6], row[7], row[8], row[9], row[10],
            signatures_of(row[11]), row[12],
        )  # fmt: skip
        problem = _link_problem(position, previous, at_position, prev_hash)
        if problem is None and chain_hash(prev_hash, entry, machine, stream_us(row[3])) != (
            stored_hash
        ):
            problem = "its content does not match its hash: the entry was changed"
        if problem is not None:
            broken.append(BrokenLink(machine, at_position, seq, problem))
        position, previous = at_position, stored_hash
    head = conn.execute(_HEAD, (machine,)).fetchone()
    if head is None and entries:
        broken.append(BrokenLink(machine, position, None, "the chain has no head row"))
    elif head is not None and (head[0], head[1]) != (position, previous):
        what = (
            f"entries {position + 1}..{head[0]} at the end were removed"
            if head[0] > position
            else "the last entry does not match it"
        )
        broken.append(BrokenLink(machine, head[0], None,
                                 f"the chain's head is at position {head[0]}: {what}"))  # fmt: skip
    ledger = [
        f"transaction {tx} wrote {counted} audit entries, {found} are stored under it: "
        + ("an entry was removed" if found < counted else "an entry was forged")
        for tx, counted, found in conn.execute(_LEDGER, {"machine": machine}).fetchall()
    ]
    return ChainCheck(machine, entries, broken, ledger)


def _link_problem(position: int, previous: str, at: int, prev_hash: str) -> str | None:
    """What is wrong with an entry at ``at`` following the one at ``position``."""
    if at != position + 1:
        if at == position + 2:
            return f"entry {position + 1} of the chain is missing: removed"
        return f"entries {position + 1}..{at - 1} of the chain are missing: removed"
    if prev_hash != previous:
        return (
            "its previous hash is not the hash of the entry before it: an entry was "
            "removed or inserted here"
        )
    return None
