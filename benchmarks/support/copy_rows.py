"""History and run rows as binary COPY payloads, encoded column-wise with numpy, so that
a baseline's client costs next to nothing and what is measured is the server's work.

Instant ``i`` is sampled at ``START + i × step_us``; its value for tag position ``k``
(0-based; parameter id ``k + 1``) is ``(i % 997) + k / 1000``, which SQL can generate
too (``VALUE_SQL``). Transaction ids are one per group of ``group`` instants.
"""

from __future__ import annotations

import struct
import uuid
from datetime import UTC, datetime

import numpy as np

_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
START_US = int((START - _PG_EPOCH).total_seconds() * 1_000_000)  # PostgreSQL's epoch
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
FLOAT8_OID = 701
VALUE_SQL = "((i %% 997)::float8 + k / 1000.0)"  # %%: psycopg's escape of %

HISTORY_COPY = (
    "COPY parameter_value_history (parameter_id, sampled_at, value, transaction_id)"
    " FROM STDIN (FORMAT BINARY)"
)
RUN_POINTS_COPY = (
    "COPY process_data_points (run_id, parameter_id, sampled_at, value, transaction_id)"
    " FROM STDIN (FORMAT BINARY)"
)


def values(instants: np.ndarray, tags: int) -> np.ndarray:
    """Sample values, shape (instants, tags), as ``VALUE_SQL`` makes them."""
    return (instants[:, None] % 997).astype(">f8") + np.arange(tags)[None, :] / 1000.0


def transaction_ids(first: int, count: int, group: int) -> np.ndarray:
    """The 16-byte transaction id of each of instants [first, first+count): group n's id
    is n as a 128-bit big-endian number (``lpad(to_hex(n), 32, '0')::uuid`` in SQL)."""
    groups = np.arange(first, first + count) // group
    ids = np.zeros((count, 16), dtype=np.uint8)
    ids[:, 8:] = np.frombuffer(groups.astype(">u8").tobytes(), np.uint8).reshape(count, 8)
    return ids


def history_payload(
    first: int, count: int, tags: int, group: int, step_us: int, run: uuid.UUID | None = None
) -> bytes:
    """parameter_value_history rows (or, with ``run``, process_data_points rows) of
    instants [first, first+count), in time order, tag by tag."""
    instants = np.arange(first, first + count)
    fields = [("n", ">i2")]
    if run is not None:
        fields += [("lr", ">i4"), ("r", "u1", 16)]
    fields += [("l1", ">i4"), ("p", ">i4"), ("l2", ">i4"), ("t", ">i8"),
               ("l3", ">i4"), ("v", ">f8"), ("l4", ">i4"), ("x", "u1", 16)]  # fmt: skip
    rows = np.empty((count, tags), dtype=np.dtype(fields))
    rows["n"] = 4 if run is None else 5
    if run is not None:
        rows["lr"], rows["r"] = 16, np.frombuffer(run.bytes, np.uint8)
    rows["l1"], rows["l2"], rows["l3"], rows["l4"] = 4, 8, 8, 16
    rows["p"] = np.arange(1, tags + 1)[None, :]
    rows["t"] = (START_US + instants * step_us)[:, None]
    rows["v"] = values(instants, tags)
    rows["x"] = transaction_ids(first, count, group)[:, None, :]
    return HEADER + rows.tobytes() + TRAILER


def array_payload(first: int, count: int, tags: int, group: int, step_us: int) -> bytes:
    """One row (machine_id 1, sampled_at, values float8[], transaction_id) per instant of
    [first, first+count), element k the value of tag position k."""
    instants = np.arange(first, first + count)
    row = np.dtype(
        [("n", ">i2"), ("l1", ">i4"), ("m", ">i4"), ("l2", ">i4"), ("t", ">i8"),
         ("l3", ">i4"), ("ndim", ">i4"), ("nulls", ">i4"), ("oid", ">i4"), ("dim", ">i4"),
         ("lb", ">i4"), ("el", [("len", ">i4"), ("v", ">f8")], tags),
         ("l4", ">i4"), ("x", "u1", 16)]
    )  # fmt: skip
    rows = np.empty(count, dtype=row)
    rows["n"], rows["l1"], rows["m"], rows["l2"], rows["l4"] = 4, 4, 1, 8, 16
    rows["l3"] = 20 + 12 * tags  # the array's binary form: 5 words, then (length, value)s
    rows["ndim"], rows["nulls"], rows["oid"], rows["dim"], rows["lb"] = 1, 0, FLOAT8_OID, tags, 1
    rows["t"] = START_US + instants * step_us
    rows["el"]["len"] = 8
    rows["el"]["v"] = values(instants, tags)
    rows["x"] = transaction_ids(first, count, group)
    return HEADER + rows.tobytes() + TRAILER
