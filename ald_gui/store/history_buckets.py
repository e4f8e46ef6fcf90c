"""The M4 reduction of a rollup when each pixel column holds only a few of its buckets:
the buckets read as they are (one index range, sent as one bytea) and merged into their
columns here, with numpy.

Eight hours at 1600 px are 1,440 columns of two 10-s buckets. Grouping 2,880 buckets
into 1,440 columns in SQL cost the server about 16 ms of CPU a curve (a quarter of a
second for sixteen curves on this machine's two cores); sending them costs it a few,
and the merge here is a handful of array operations. The answer is the one
``history_m4``'s rollup statement gives, point for point: PostgreSQL's order of float8
is kept (NaN above every number and equal to itself), a column's lowest (highest) value
goes at its first or last sample's time when that is the one, else a third (two thirds)
into the part of its bucket between the column's first and last sample. Past
``MAX_BUCKETS_PER_COLUMN`` (a span of days read from the minutes) the statement in SQL
answers, so what is sent stays a few buckets per pixel column whatever the span.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from psycopg import sql

from ald_gui.store.db import db_timestamp
from ald_gui.store.history_m4 import Reduction

__all__ = ["MAX_BUCKETS_PER_COLUMN", "bucket_query", "merge_buckets", "served"]

# 10 covers every grid up to the minutes: a level is chosen while its buckets fit a
# column, and the next coarser one is 10 (seconds to ten seconds) or 6 times wider.
MAX_BUCKETS_PER_COLUMN = 10

_PG_EPOCH_US = 946_684_800_000_000
# One bucket as sent: its start, min, max, first sample (time, value), last sample.
_BUCKET = np.dtype(
    [("b", ">i8"), ("lo", ">f8"), ("hi", ">f8"), ("f", ">i8"), ("fv", ">f8"), ("l", ">i8"),
     ("lv", ">f8")]
)  # fmt: skip

_BUCKETS = """
SELECT string_agg(timestamptz_send(bucket) || float8send(min) || float8send(max)
                  || timestamptz_send(first_at) || float8send(first_value)
                  || timestamptz_send(last_at) || float8send(last_value),
                  ''::bytea ORDER BY bucket)
FROM {table}
WHERE parameter_id = %(id)s AND bucket >= %(origin)s AND bucket < %(end)s
"""


def served(reduction: Reduction) -> bool:
    """Whether ``reduction`` is read from a rollup with few enough buckets per column to
    be merged here."""
    return bool(reduction.bucket_us) and (
        reduction.column_us // reduction.bucket_us <= MAX_BUCKETS_PER_COLUMN
    )


def bucket_query(reduction: Reduction, parameter_id: int) -> tuple[sql.Composed, dict[str, Any]]:
    """The statement reading one tag's buckets of ``reduction`` (one row of one bytea,
    56 bytes a bucket in bucket order; NULL when there are none), and its parameters."""
    args = {
        "id": parameter_id,
        "origin": db_timestamp(reduction.origin_us),
        "end": db_timestamp(reduction.end_us),
    }
    return sql.SQL(_BUCKETS).format(table=sql.Identifier(reduction.table)), args


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PostgreSQL's float8 equality: NaN equals NaN."""
    return np.asarray((a == b) | (np.isnan(a) & np.isnan(b)))


def merge_buckets(reduction: Reduction, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The M4 points of the buckets in ``data`` (``bucket_query``'s answer) on
    ``reduction``'s grid: times (int64 µs since the epoch, in time order) and values."""
    if len(data) % _BUCKET.itemsize:
        raise ValueError(f"unexpected bucket answer of {len(data)} bytes")
    got = np.frombuffer(data, dtype=_BUCKET)
    if not len(got):
        return np.empty(0, np.int64), np.empty(0, np.float64)
    b = got["b"].astype(np.int64) + _PG_EPOCH_US
    lo_b, hi_b = got["lo"].astype(np.float64), got["hi"].astype(np.float64)
    column = (b - reduction.origin_us) // reduction.column_us
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    ends = np.r_[starts[1:], len(b)] - 1
    sizes = ends - starts + 1
    # Buckets do not overlap in time: a column's first sample is its first bucket's.
    f, fv = got["f"][starts].astype(np.int64) + _PG_EPOCH_US, got["fv"][starts].astype(float)
    last, lv = got["l"][ends].astype(np.int64) + _PG_EPOCH_US, got["lv"][ends].astype(float)
    lo = np.fmin.reduceat(lo_b, starts)  # min(float8): NaN only when every one is
    hi = np.maximum.reduceat(hi_b, starts)  # max(float8): NaN when any is
    index = np.arange(len(b))
    never = len(b)
    first_lo = np.minimum.reduceat(
        np.where(_same(lo_b, np.repeat(lo, sizes)), index, never), starts
    )
    first_hi = np.minimum.reduceat(
        np.where(_same(hi_b, np.repeat(hi, sizes)), index, never), starts
    )
    width = reduction.bucket_us

    def placed(value: np.ndarray, at_bucket: np.ndarray, share: int) -> np.ndarray:
        inside_from = np.maximum(b[at_bucket], f)
        inside_to = np.minimum(b[at_bucket] + width, last)
        # interval / 3 in PostgreSQL rounds to the nearest microsecond (never a tie).
        between = inside_from + ((inside_to - inside_from) * share + 1) // 3
        return np.where(_same(value, fv), f, np.where(_same(value, lv), last, between))

    t = np.concatenate([f, last, placed(lo, first_lo, 1), placed(hi, first_hi, 2)])
    v = np.concatenate([fv, lv, lo, hi])
    order = np.lexsort((v, t))
    t, v = t[order], v[order]
    keep = np.r_[True, ~((t[1:] == t[:-1]) & _same(v[1:], v[:-1]))]
    return t[keep], v[keep]
