"""Gap: a poll that produced no values (``plc_gaps``), placed like a sample (invariant 7)."""

from __future__ import annotations

import uuid

from ald_gui.domain.stream import Gap
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import KeySet, KeySetId, StreamKind


def _encode(item: Gap, _: KeySetId) -> tuple[int, int, bytes]:
    run_id = str(item.run_id) if item.run_id is not None else None
    body = json_body.dump({"seq": item.seq, "at_us": item.at_us, "reason": item.reason,
                           "run_id": run_id})  # fmt: skip
    return item.at_us, 0, body


def _decode(body: bytes, _: KeySet) -> Gap:
    f = json_body.load(body)
    run_id = f.get("run_id")  # absent in spools written before gaps carried it
    return Gap(
        seq=f["seq"],
        at_us=f["at_us"],
        reason=f["reason"],
        run_id=uuid.UUID(run_id) if run_id else None,
    )


KIND = StreamKind(number=4, item=Gap, encode=_encode, decode=_decode)
