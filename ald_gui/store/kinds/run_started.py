"""RunStarted: a run begins (``process_executions``), with the recipe it runs."""

from __future__ import annotations

import uuid

from ald_gui.domain.stream import Run, RunStarted
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import KeySet, KeySetId, StreamKind


def _encode(item: RunStarted, _: KeySetId) -> tuple[int, int, bytes]:
    r = item.run
    body = json_body.dump({
        "seq": item.seq, "id": str(r.id), "machine": r.machine, "operator": r.operator,
        "started_at_us": r.started_at_us, "note": r.note, "recipe": r.recipe,
        "recipe_version": r.recipe_version, "recipe_sha256": r.recipe_sha256,
        "recipe_snapshot": r.recipe_snapshot,
    })  # fmt: skip
    return r.started_at_us, 0, body


def _decode(body: bytes, _: KeySet) -> RunStarted:
    f = json_body.load(body)
    run = Run(
        id=uuid.UUID(f["id"]),
        machine=f["machine"],
        operator=f["operator"],
        started_at_us=f["started_at_us"],
        note=f["note"],
        recipe=f["recipe"],
        # Absent in spools written before runs carried their recipe's version.
        recipe_version=f.get("recipe_version"),
        recipe_sha256=f.get("recipe_sha256", ""),
        recipe_snapshot=f.get("recipe_snapshot", ""),
    )
    return RunStarted(seq=f["seq"], run=run)


KIND = StreamKind(number=1, item=RunStarted, encode=_encode, decode=_decode)
