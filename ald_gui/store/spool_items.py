"""Stream items to and from the rows of the spool.

A batch is stored as a reference to its tag-key list (stored once per set of keys by
the spool) plus the values as little-endian float64; run events and gaps as JSON.
The round trip is exact: microsecond integers, UUIDs, NaN and infinities included.
"""

from __future__ import annotations

import array
import json
import struct
import sys
import uuid
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from ald_gui.domain.stream import (
    Batch,
    Gap,
    Run,
    RunEnded,
    RunStarted,
    RunStatus,
    StepRecord,
    StreamItem,
)

_BATCH_HEAD = struct.Struct("<qq?16sq")
_BIG_ENDIAN = sys.byteorder == "big"

Keys = tuple[str, ...]


class UnreadableItem(ValueError):
    """A spool row that does not decode to a stream item (damaged, or of a kind this
    program does not know)."""


class ItemKind(IntEnum):
    RUN_STARTED = 1
    RUN_ENDED = 2
    BATCH = 3
    GAP = 4
    STEP_RECORD = 5


def encode_item(item: StreamItem, key_set_id: Callable[[Keys], int]) -> tuple[int, int, int, bytes]:
    """``(kind, at_us, value count, body)`` of ``item``; ``key_set_id`` gives the id of a
    batch's key list. Raises TypeError for something that is not a stream item."""
    if isinstance(item, Batch):
        keys = tuple(item.values)
        key_id = key_set_id(keys)
        values = array.array("d", item.values.values())
        if _BIG_ENDIAN:
            values.byteswap()
        run = item.run_id.bytes if item.run_id is not None else bytes(16)
        head = _BATCH_HEAD.pack(item.seq, item.sampled_at_us, item.run_id is not None, run, key_id)
        return ItemKind.BATCH, item.sampled_at_us, len(keys), head + values.tobytes()
    fields: dict[str, Any]
    if isinstance(item, RunStarted):
        r = item.run
        fields = {
            "seq": item.seq,
            "id": str(r.id),
            "machine": r.machine,
            "operator": r.operator,
            "started_at_us": r.started_at_us,
            "note": r.note,
            "recipe": r.recipe,
            "recipe_version": r.recipe_version,
            "recipe_sha256": r.recipe_sha256,
            "recipe_snapshot": r.recipe_snapshot,
        }
        kind, at_us = ItemKind.RUN_STARTED, r.started_at_us
    elif isinstance(item, RunEnded):
        fields = {
            "seq": item.seq,
            "run_id": str(item.run_id),
            "ended_at_us": item.ended_at_us,
            "status": item.status.value,
            "reason": item.reason,
        }
        kind, at_us = ItemKind.RUN_ENDED, item.ended_at_us
    elif isinstance(item, Gap):
        fields = {
            "seq": item.seq,
            "at_us": item.at_us,
            "reason": item.reason,
            "run_id": str(item.run_id) if item.run_id is not None else None,
        }
        kind, at_us = ItemKind.GAP, item.at_us
    elif isinstance(item, StepRecord):
        fields = {
            "seq": item.seq,
            "run_id": str(item.run_id),
            "path": item.path,
            "kind": item.kind,
            "cycles": list(item.cycles),
            "started_at_us": item.started_at_us,
            "ended_at_us": item.ended_at_us,
            "outcome": item.outcome,
            "requested_ms": item.requested_ms,
            "measured_ms": item.measured_ms,
            "detail": item.detail,
        }
        kind, at_us = ItemKind.STEP_RECORD, item.ended_at_us
    else:
        raise TypeError(
            f"cannot spool {type(item).__name__} {item!r}: "
            "expected RunStarted, RunEnded, Batch, Gap or StepRecord"
        )
    return kind, at_us, 0, json.dumps(fields).encode()


def decode_item(kind: int, body: bytes, key_set: Callable[[int], Keys]) -> StreamItem:
    """The item stored as ``kind`` and ``body``; ``key_set`` gives a key list by id.
    Raises UnreadableItem, naming the row's kind and size, for anything that does not
    decode (an unknown kind, a truncated or damaged body, a key list that is missing)."""
    try:
        return _decode(kind, body, key_set)
    except (ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise UnreadableItem(
            f"cannot decode a spool row of kind {kind} ({len(body)} bytes): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _decode(kind: int, body: bytes, key_set: Callable[[int], Keys]) -> StreamItem:
    if kind == ItemKind.BATCH:
        seq, sampled_at_us, has_run, run, key_id = _BATCH_HEAD.unpack_from(body)
        values = array.array("d")
        values.frombytes(body[_BATCH_HEAD.size :])
        if _BIG_ENDIAN:
            values.byteswap()
        return Batch(
            seq=seq,
            sampled_at_us=sampled_at_us,
            values=dict(zip(key_set(key_id), values, strict=True)),
            run_id=uuid.UUID(bytes=run) if has_run else None,
        )
    f = json.loads(body)
    if kind == ItemKind.RUN_STARTED:
        run_ = Run(
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
        return RunStarted(seq=f["seq"], run=run_)
    if kind == ItemKind.RUN_ENDED:
        return RunEnded(
            seq=f["seq"],
            run_id=uuid.UUID(f["run_id"]),
            ended_at_us=f["ended_at_us"],
            status=RunStatus(f["status"]),
            reason=f["reason"],
        )
    if kind == ItemKind.GAP:
        run_id = f.get("run_id")  # absent in spools written before gaps carried it
        return Gap(
            seq=f["seq"],
            at_us=f["at_us"],
            reason=f["reason"],
            run_id=uuid.UUID(run_id) if run_id else None,
        )
    if kind == ItemKind.STEP_RECORD:
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
    raise ValueError(f"unknown item kind {kind}")
