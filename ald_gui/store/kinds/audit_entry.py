"""AuditEntry: one entry of the audit trail (``audit_entries``, migration 0010).

Chained here, at commit, inside the group's transaction: the machine's chain head is
locked (``audit_chain_head``), each entry's hash computed from the previous one and its
canonical form (domain.audit), and the database's trigger refuses an entry that does not
continue the chain. A group committed twice (its acknowledgement lost) writes nothing
the second time (the ledger), so every entry is in the chain exactly once, in stream
order. Counted by the ledger's ``audit_rows``, refused by name when the run it names
never started on the group's machine (invariant 8).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence

from ald_gui.domain.audit import AuditEntry, Meaning, Signature, chain_hash
from ald_gui.store.db import db_timestamp, stream_us
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import (
    Figure,
    Group,
    KeySet,
    KeySetId,
    LedgerCount,
    StreamKind,
)
from ald_gui.store.kinds.record_rules import (
    require_started_runs,
    stored_once_and_in_its_transaction,
)

_HEAD = "SELECT chain_position, chain_hash, committed_at FROM audit_chain_head(%s)"
_INSERT = """
INSERT INTO audit_entries (machine, position, seq, at, committed_at, account, role, action,
                           object, before, after, reason, signatures, run_id, prev_hash,
                           hash, transaction_id)
VALUES (%(machine)s, %(position)s, %(seq)s, %(at)s, %(committed_at)s, %(account)s,
        %(role)s, %(action)s, %(object)s, %(before)s, %(after)s, %(reason)s,
        %(signatures)s::jsonb, %(run_id)s, %(prev_hash)s, %(hash)s, %(tx)s)
"""


def signatures_json(signatures: Sequence[Signature]) -> str:
    """The ``signatures`` column's value: a JSON array of the signatures, in order."""
    return json.dumps(
        [{"account": s.account, "full_name": s.full_name, "meaning": str(s.meaning)}
         for s in signatures]
    )  # fmt: skip


def signatures_of(rows: Sequence[Mapping[str, str]]) -> tuple[Signature, ...]:
    """The signatures of a ``signatures`` column (or of a spool body)."""
    return tuple(Signature(s["account"], s["full_name"], Meaning(s["meaning"])) for s in rows)


def _encode(item: AuditEntry, _: KeySetId) -> tuple[int, int, bytes]:
    body = json_body.dump({
        "seq": item.seq, "at_us": item.at_us, "account": item.account, "role": item.role,
        "action": item.action, "object": item.object, "before": item.before,
        "after": item.after, "reason": item.reason,
        "signatures": json.loads(signatures_json(item.signatures)),
        "run_id": str(item.run_id) if item.run_id else None,
    })  # fmt: skip
    return item.at_us, 0, body


def _decode(body: bytes, _: KeySet) -> AuditEntry:
    f = json_body.load(body)
    return AuditEntry(
        seq=f["seq"],
        at_us=f["at_us"],
        account=f["account"],
        role=f["role"],
        action=f["action"],
        object=f["object"],
        before=f["before"],
        after=f["after"],
        reason=f["reason"],
        signatures=signatures_of(f["signatures"]),
        run_id=uuid.UUID(f["run_id"]) if f["run_id"] else None,
    )


def _count(
    items: Sequence[AuditEntry], parameter_ids: Mapping[str, int], machine: str
) -> tuple[int]:
    return (len(items),)


def _write(items: Sequence[AuditEntry], group: Group) -> None:
    cur, machine = group.cur, group.machine
    require_started_runs(
        cur, machine, ((e.run_id, f"audit entry {e.action!r} (seq {e.seq})") for e in items)
    )
    cur.execute(_HEAD, (machine,))  # locked until the group commits
    head = cur.fetchone()
    assert head is not None  # the function makes the head it returns
    position, previous, committed_at = head
    committed_us = stream_us(committed_at)
    rows = []
    for e in items:
        position += 1
        link = chain_hash(previous, e, machine, committed_us)
        rows.append({
            "machine": machine, "position": position, "seq": e.seq,
            "at": db_timestamp(e.at_us), "committed_at": committed_at, "account": e.account,
            "role": e.role, "action": e.action, "object": e.object, "before": e.before,
            "after": e.after, "reason": e.reason,
            "signatures": signatures_json(e.signatures), "run_id": e.run_id,
            "prev_hash": previous, "hash": link, "tx": group.transaction_id,
        })  # fmt: skip
        previous = link
    cur.executemany(_INSERT, rows)


KIND = StreamKind(
    number=8, item=AuditEntry, encode=_encode, decode=_decode, count=_count, write=_write,
    ledger=(LedgerCount("audit_rows", "audit_entries"),),
    figures=(Figure("audit_entries", "audit entries",
                    "SELECT count(*) FROM audit_entries WHERE machine = %(machine)s"),),
    checks=stored_once_and_in_its_transaction("audit_entries", "audit entry", "action"),
)  # fmt: skip
