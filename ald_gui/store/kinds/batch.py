"""Batch: one poll's values, the bulk of the stream.

In the spool: a fixed head (seq, time, run) and a reference to its tag-key list (stored
once per set of keys by the spool), then the values as little-endian float64, so NaN,
infinities and -0.0 survive bit for bit. In the database: every value in the history,
and again with its run's id while a run is active, each table in one binary COPY per
group (the fast path: no per-row statements, no foreign keys on the history).
"""

from __future__ import annotations

import array
import struct
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from ald_gui.domain.stream import Batch
from ald_gui.store.db import db_timestamp
from ald_gui.store.kinds.base import (
    Group,
    GroupRejected,
    KeySet,
    KeySetId,
    LedgerCount,
    StreamKind,
)

_HEAD = struct.Struct("<qq?16sq")
_BIG_ENDIAN = sys.byteorder == "big"

_COPY_HISTORY = """
COPY parameter_value_history (parameter_id, sampled_at, value, transaction_id)
FROM STDIN (FORMAT BINARY)
"""
_HISTORY_TYPES = ["int4", "timestamptz", "float8", "uuid"]
_COPY_RUN_POINTS = """
COPY process_data_points (run_id, parameter_id, sampled_at, value, transaction_id)
FROM STDIN (FORMAT BINARY)
"""
_RUN_POINT_TYPES = ["uuid", "int4", "timestamptz", "float8", "uuid"]


def _encode(item: Batch, key_set_id: KeySetId) -> tuple[int, int, bytes]:
    keys = tuple(item.values)
    values = array.array("d", item.values.values())
    if _BIG_ENDIAN:
        values.byteswap()
    run = item.run_id.bytes if item.run_id is not None else bytes(16)
    head = _HEAD.pack(item.seq, item.sampled_at_us, item.run_id is not None, run,
                      key_set_id(keys))  # fmt: skip
    return item.sampled_at_us, len(keys), head + values.tobytes()


def _decode(body: bytes, key_set: KeySet) -> Batch:
    seq, sampled_at_us, has_run, run, key_id = _HEAD.unpack_from(body)
    values = array.array("d")
    values.frombytes(body[_HEAD.size :])
    if _BIG_ENDIAN:
        values.byteswap()
    return Batch(
        seq=seq,
        sampled_at_us=sampled_at_us,
        values=dict(zip(key_set(key_id), values, strict=True)),
        run_id=uuid.UUID(bytes=run) if has_run else None,
    )


def _count(
    items: Sequence[Batch], parameter_ids: Mapping[str, int], machine: str
) -> tuple[int, int]:
    """(history rows, run rows); refuses values of tags the machine does not have."""
    history = run = 0
    unknown: set[str] = set()
    for b in items:
        n = len(b.values)
        if not parameter_ids.keys() >= b.values.keys():
            unknown.update(k for k in b.values if k not in parameter_ids)
        history += n
        if b.run_id is not None:
            run += n
    if unknown:
        names = ", ".join(sorted(unknown)[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise GroupRejected(f"values of tags unknown to machine {machine!r}: {names}{more}")
    return history, run


def _write(items: Sequence[Batch], group: Group) -> None:
    _copy(group, items, into_run=False)
    _copy(group, [b for b in items if b.run_id is not None], into_run=True)


def _copy(group: Group, batches: Sequence[Batch], *, into_run: bool) -> None:
    """One COPY of every value of ``batches``: into the history, or with each batch's
    run id into the run table."""
    if not any(b.values for b in batches):
        return
    sql, types = (
        (_COPY_RUN_POINTS, _RUN_POINT_TYPES) if into_run else (_COPY_HISTORY, _HISTORY_TYPES)
    )
    ids, tx = group.parameter_ids, group.transaction_id
    cur: psycopg.Cursor[Any] = group.cur
    with cur.copy(sql) as copy:
        copy.set_types(types)
        for b in batches:
            at = db_timestamp(b.sampled_at_us)
            run = (b.run_id,) if into_run else ()
            for key, value in b.values.items():
                copy.write_row((*run, ids[key], at, value, tx))


KIND = StreamKind(
    number=3,
    item=Batch,
    encode=_encode,
    decode=_decode,
    count=_count,
    write=_write,
    ledger=(
        LedgerCount("history_rows", "parameter_value_history"),
        LedgerCount("run_rows", "process_data_points"),
    ),
)
