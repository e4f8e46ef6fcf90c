"""StepRecord: one recipe step of a run as it happened (``run_steps``, migration 0004)."""

from __future__ import annotations

import uuid

from ald_gui.domain.stream import StepRecord
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import KeySet, KeySetId, StreamKind


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


KIND = StreamKind(number=5, item=StepRecord, encode=_encode, decode=_decode)
