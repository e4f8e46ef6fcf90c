"""StepRecord: one recipe step of a run as it happened (``run_steps``, migration 0004).

Recorded once (the table's key is the machine and the item's seq), counted by the
ledger's ``step_rows``, and refused by name when the run it names never started on the
group's machine: a step belongs to its run (invariant 8).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from ald_gui.domain.stream import StepRecord
from ald_gui.store.db import db_timestamp
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import (
    Check,
    Figure,
    Group,
    GroupRejected,
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
INSERT INTO run_steps (machine, run_id, seq, path, kind, cycles, started_at, ended_at,
                       outcome, requested_ms, measured_ms, detail, transaction_id)
VALUES (%(machine)s, %(run_id)s, %(seq)s, %(path)s, %(kind)s, %(cycles)s::integer[],
        %(started_at)s, %(ended_at)s, %(outcome)s, %(requested_ms)s, %(measured_ms)s,
        %(detail)s, %(tx)s)
"""


# Started in this group (written before the steps) or in an earlier one.
def _encode(item: StepRecord, _: KeySetId) -> tuple[int, int, bytes]:
    body = json_body.dump({
        "seq": item.seq, "run_id": str(item.run_id), "path": item.path, "kind": item.kind,
        "cycles": list(item.cycles), "started_at_us": item.started_at_us,
        "ended_at_us": item.ended_at_us, "outcome": item.outcome,
        "requested_ms": item.requested_ms, "measured_ms": item.measured_ms,
        "detail": item.detail,
    })  # fmt: skip
    return item.ended_at_us, 0, body


def _decode(body: bytes, _: KeySet) -> StepRecord:
    f = json_body.load(body)
    return StepRecord(
        seq=f["seq"],
        run_id=uuid.UUID(f["run_id"]),
        path=f["path"],
        kind=f["kind"],
        cycles=tuple(f["cycles"]),
        started_at_us=f["started_at_us"],
        ended_at_us=f["ended_at_us"],
        outcome=f["outcome"],
        requested_ms=f["requested_ms"],
        measured_ms=f["measured_ms"],
        detail=f["detail"],
    )


def _count(
    items: Sequence[StepRecord], parameter_ids: Mapping[str, int], machine: str
) -> tuple[int]:
    for s in items:
        if s.started_at_us > s.ended_at_us:
            raise GroupRejected(
                f"step {s.path} (seq {s.seq}) of run {s.run_id} ends before it starts"
            )
    return (len(items),)


def _write(items: Sequence[StepRecord], group: Group) -> None:
    cur, machine = group.cur, group.machine
    require_started_runs(cur, machine, ((s.run_id, f"step {s.path} (seq {s.seq})") for s in items))
    cur.executemany(
        _INSERT,
        [{"machine": machine, "run_id": s.run_id, "seq": s.seq, "path": s.path,
          "kind": s.kind, "cycles": list(s.cycles), "started_at": db_timestamp(s.started_at_us),
          "ended_at": db_timestamp(s.ended_at_us), "outcome": s.outcome,
          "requested_ms": s.requested_ms, "measured_ms": s.measured_ms, "detail": s.detail,
          "tx": group.transaction_id} for s in items],
    )  # fmt: skip


_CHECKS = (
    # A recipe step lies inside the run it names, start and end (a step ending with its
    # run's end is inside: the run ends after it), and is recorded once, in stream order
    # within its group (its ledger count: invariant 3). The unique key and the foreign
    # keys refuse most of this while enforced; checked here without relying on them.
    Check(
        8,
        "recipe step outside its run's interval",
        """
        SELECT s.run_id, s.seq, s.path, s.started_at, s.ended_at, r.started_at AS run_started_at,
               r.ended_at AS run_ended_at, count(*) OVER () AS total
        FROM run_steps s JOIN process_executions r ON r.id = s.run_id
        WHERE s.machine = %(machine)s
          AND NOT (s.started_at >= r.started_at
                   AND s.ended_at <= coalesce(r.ended_at, 'infinity')
                   AND r.machine = s.machine)
        ORDER BY s.seq LIMIT %(limit)s""",
    ),
    Check(
        8,
        "recipe step naming a run that has no row",
        """
        SELECT s.run_id, s.seq, s.path, s.ended_at, count(*) OVER () AS total
        FROM run_steps s
        WHERE s.machine = %(machine)s
          AND NOT EXISTS (SELECT 1 FROM process_executions r WHERE r.id = s.run_id)
        ORDER BY s.seq LIMIT %(limit)s""",
    ),
    *stored_once_and_in_its_transaction("run_steps", "recipe step", "path"),
)

KIND = StreamKind(
    number=5, item=StepRecord, encode=_encode, decode=_decode, count=_count, write=_write,
    ledger=(LedgerCount("step_rows", "run_steps"),),
    figures=(Figure("steps", "recipe steps",
                    "SELECT count(*) FROM run_steps WHERE machine = %(machine)s"),),
    checks=_CHECKS,
    last_in_run="SELECT max(s.ended_at) FROM run_steps s WHERE s.run_id = r.id",
)  # fmt: skip
