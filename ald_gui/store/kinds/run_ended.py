"""RunEnded: a run ends (its row in ``process_executions`` gets its end)."""

from __future__ import annotations

import uuid

from ald_gui.domain.stream import RunEnded, RunStatus
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import KeySet, KeySetId, StreamKind


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


KIND = StreamKind(number=2, item=RunEnded, encode=_encode, decode=_decode)
