"""Batch: one poll's values, the bulk of the stream.

In the spool: a fixed head (seq, time, run) and a reference to its tag-key list (stored
once per set of keys by the spool), then the values as little-endian float64, so NaN,
infinities and -0.0 survive bit for bit.
"""

from __future__ import annotations

import array
import struct
import sys
import uuid

from ald_gui.domain.stream import Batch
from ald_gui.store.kinds.base import KeySet, KeySetId, StreamKind

_HEAD = struct.Struct("<qq?16sq")
_BIG_ENDIAN = sys.byteorder == "big"


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


KIND = StreamKind(number=3, item=Batch, encode=_encode, decode=_decode)
