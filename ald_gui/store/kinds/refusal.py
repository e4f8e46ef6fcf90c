"""Refusal: a write an interlock refused (``refusals``, migration 0008).

Recorded once (the table's key is the machine and the item's seq), counted by the
ledger's ``refusal_rows``, and refused by name when the run it names never started on
the group's machine: a refusal during a run belongs to it (invariant 8).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from ald_gui.domain.refusal import Refusal
from ald_gui.store.db import db_timestamp
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import (
    Check,
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

_INSERT = """
INSERT INTO refusals (machine, seq, at, rule, tag, value, reason, run_id, transaction_id)
VALUES (%(machine)s, %(seq)s, %(at)s, %(rule)s, %(tag)s, %(value)s, %(reason)s,
        %(run_id)s, %(tx)s)
"""


def _encode(item: Refusal, _: KeySetId) -> tuple[int, int, bytes]:
    body = json_body.dump({
        "seq": item.seq, "at_us": item.at_us, "rule": item.rule, "tag": item.tag,
        "value": item.value, "reason": item.reason,
        "run_id": str(item.run_id) if item.run_id else None,
    })  # fmt: skip
    return item.at_us, 0, body


def _decode(body: bytes, _: KeySet) -> Refusal:
    f = json_body.load(body)
    return Refusal(
        seq=f["seq"],
        at_us=f["at_us"],
        rule=f["rule"],
        tag=f["tag"],
        value=f["value"],
        reason=f["reason"],
        run_id=uuid.UUID(f["run_id"]) if f["run_id"] else None,
    )


def _count(items: Sequence[Refusal], parameter_ids: Mapping[str, int], machine: str) -> tuple[int]:
    return (len(items),)


def _write(items: Sequence[Refusal], group: Group) -> None:
    cur, machine = group.cur, group.machine
    require_started_runs(
        cur, machine, ((r.run_id, f"refusal of {r.tag} (seq {r.seq})") for r in items)
    )
    cur.executemany(
        _INSERT,
        [{"machine": machine, "seq": r.seq, "at": db_timestamp(r.at_us), "rule": r.rule,
          "tag": r.tag, "value": r.value, "reason": r.reason, "run_id": r.run_id,
          "tx": group.transaction_id} for r in items],
    )  # fmt: skip


_CHECKS = (
    # A refusal naming a run lies inside it; recorded once; inside its ledger row's range.
    Check(
        8,
        "refusal outside its run's interval",
        """
        SELECT f.run_id, f.seq, f.rule, f.tag, f.at, r.started_at AS run_started_at,
               r.ended_at AS run_ended_at, count(*) OVER () AS total
        FROM refusals f JOIN process_executions r ON r.id = f.run_id
        WHERE f.machine = %(machine)s
          AND NOT (f.at >= r.started_at AND f.at <= coalesce(r.ended_at, 'infinity')
                   AND r.machine = f.machine)
        ORDER BY f.seq LIMIT %(limit)s""",
    ),
    *stored_once_and_in_its_transaction("refusals", "refusal", "rule"),
)

KIND = StreamKind(
    number=7, item=Refusal, encode=_encode, decode=_decode, count=_count, write=_write,
    ledger=(LedgerCount("refusal_rows", "refusals"),),
    figures=(Figure("refusals", "refused writes",
                    "SELECT count(*) FROM refusals WHERE machine = %(machine)s"),),
    checks=_CHECKS,
    last_in_run="SELECT max(f.at) FROM refusals f WHERE f.run_id = r.id",
)  # fmt: skip
