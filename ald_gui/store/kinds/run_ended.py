"""RunEnded: a run ends (its row in ``process_executions`` gets its end, once: the
trigger ``end_only`` of 0001 refuses changing an ended run)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from ald_gui.domain.stream import RunEnded, RunStatus
from ald_gui.store.db import db_timestamp
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import Group, GroupRejected, KeySet, KeySetId, StreamKind

_END = """
UPDATE process_executions SET ended_at = %s, status = %s, reason = %s
WHERE id = %s AND machine = %s
"""


def _encode(item: RunEnded, _: KeySetId) -> tuple[int, int, bytes]:
    body = json_body.dump({
        "seq": item.seq, "run_id": str(item.run_id), "ended_at_us": item.ended_at_us,
        "status": item.status.value, "reason": item.reason,
    })  # fmt: skip
    return item.ended_at_us, 0, body


def _decode(body: bytes, _: KeySet) -> RunEnded:
    f = json_body.load(body)
    return RunEnded(
        seq=f["seq"],
        run_id=uuid.UUID(f["run_id"]),
        ended_at_us=f["ended_at_us"],
        status=RunStatus(f["status"]),
        reason=f["reason"],
    )


def _write(items: Sequence[RunEnded], group: Group) -> None:
    for item in items:
        group.cur.execute(
            _END,
            (db_timestamp(item.ended_at_us), item.status.value, item.reason, item.run_id,
             group.machine),
        )  # fmt: skip
        if group.cur.rowcount == 0:
            raise GroupRejected(
                f"run {item.run_id} of {group.machine} ended (seq {item.seq}) but never started"
            )


KIND = StreamKind(number=2, item=RunEnded, encode=_encode, decode=_decode, write=_write)
