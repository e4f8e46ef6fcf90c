"""Rollups of the history (migrations 0013, 0015): per tag, each second, ten seconds and
minute summed up, kept by the writer in the transaction of the samples and read for
long spans.

``record`` adds a write group's samples to their buckets, merging with what earlier
groups put there (a second often straddles two groups); it goes over the values once,
for the seconds, and makes each coarser level from the next finer one's buckets. Min
and max order NaN as PostgreSQL does (above every number), so a rollup equals the
aggregates over the raw rows, NaN and the infinities included. ``series`` reads a tag
over a span as at most a given number of points, each the summary of its share of the
span, from the coarsest rollup that still gives them; ``resolution_for`` says which
(None: the raw samples are few enough to read).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import psycopg

from ald_gui.domain.stream import Batch
from ald_gui.store.db import db_timestamp

__all__ = ["Resolution", "RollupPoint", "record", "resolution_for", "series"]


class Resolution(Enum):
    """A rollup: its table and the width of one of its buckets."""

    SECOND = ("history_rollup_1s", timedelta(seconds=1))
    TEN_SECONDS = ("history_rollup_10s", timedelta(seconds=10))
    MINUTE = ("history_rollup_1m", timedelta(minutes=1))

    @property
    def table(self) -> str:
        return self.value[0]

    @property
    def width(self) -> timedelta:
        return self.value[1]


# A group's buckets, summed up here, arrive as one array per column and are merged into
# what each bucket holds: a first (last) sample replaces the bucket's only if it is
# earlier (later). Summing up in PostgreSQL instead (unnest of every value, array_agg
# for first and last) measured 24 ms for 500 values; this, a few ms.
_MERGE = """
INSERT INTO {} AS r
SELECT * FROM unnest(%b::int4[], %b::timestamptz[], %b::int4[], %b::float8[], %b::float8[],
                     %b::float8[], %b::timestamptz[], %b::float8[], %b::timestamptz[],
                     %b::float8[])
ON CONFLICT (parameter_id, bucket) DO UPDATE SET
    count = r.count + EXCLUDED.count,
    min = least(r.min, EXCLUDED.min),
    max = greatest(r.max, EXCLUDED.max),
    sum = r.sum + EXCLUDED.sum,
    first_value = CASE WHEN EXCLUDED.first_at < r.first_at
                       THEN EXCLUDED.first_value ELSE r.first_value END,
    first_at = least(r.first_at, EXCLUDED.first_at),
    last_value = CASE WHEN EXCLUDED.last_at > r.last_at
                      THEN EXCLUDED.last_value ELSE r.last_value END,
    last_at = greatest(r.last_at, EXCLUDED.last_at)"""


def _least(a: float, b: float) -> float:
    """PostgreSQL's order of float8: NaN above every number, equal to itself."""
    return b if math.isnan(a) else a if math.isnan(b) else min(a, b)


def _greatest(a: float, b: float) -> float:
    return a if math.isnan(a) else b if math.isnan(b) else max(a, b)


class _Bucket:
    """One tag's samples in one bucket, in time order."""

    __slots__ = ("count", "first", "first_at", "last", "last_at", "max", "min", "sum")

    def __init__(self, at_us: int, value: float) -> None:
        self.count, self.min, self.max, self.sum = 1, value, value, value
        self.first_at = self.last_at = at_us
        self.first = self.last = value

    def add(self, at_us: int, value: float) -> None:
        self.count += 1
        # _least and _greatest, written out (this runs for every value recorded): a
        # NaN is never below a number, and above every one (x != x: x is NaN).
        if value < self.min or self.min != self.min:
            self.min = value
        if value > self.max or value != value:
            self.max = value
        self.sum += value
        # By time, not arrival: a clock stepped back may bring an earlier sample later.
        if at_us < self.first_at:
            self.first_at, self.first = at_us, value
        if at_us > self.last_at:
            self.last_at, self.last = at_us, value

    def merged(self, other: _Bucket) -> _Bucket:
        """A new bucket summing up this one's samples and ``other``'s."""
        both = _Bucket.__new__(_Bucket)
        both.count, both.sum = self.count + other.count, self.sum + other.sum
        both.min, both.max = _least(self.min, other.min), _greatest(self.max, other.max)
        first = other if other.first_at < self.first_at else self
        last = other if other.last_at > self.last_at else self
        both.first_at, both.first = first.first_at, first.first
        both.last_at, both.last = last.last_at, last.last
        return both


_Buckets = dict[tuple[int, int], _Bucket]  # (parameter id, bucket start in µs) -> summary


def _seconds(batches: Sequence[Batch], parameter_ids: Mapping[str, int]) -> _Buckets:
    """The finest rollup's buckets of ``batches``: the one pass over every value."""
    width = Resolution.SECOND.width // timedelta(microseconds=1)
    buckets: _Buckets = {}
    for b in batches:
        start = b.sampled_at_us - b.sampled_at_us % width
        for key, value in b.values.items():
            found = buckets.get((parameter_ids[key], start))
            if found is None:
                buckets[(parameter_ids[key], start)] = _Bucket(b.sampled_at_us, value)
            else:
                found.add(b.sampled_at_us, value)
    return buckets


def _coarser(finer: _Buckets, width: timedelta) -> _Buckets:
    """``finer``'s buckets summed up into buckets ``width`` wide (a whole multiple of
    theirs, both aligned on the epoch: each finer bucket lies in one coarser)."""
    width_us = width // timedelta(microseconds=1)
    buckets: _Buckets = {}
    for (p, start), summary in finer.items():
        key = (p, start - start % width_us)
        found = buckets.get(key)
        buckets[key] = summary if found is None else found.merged(summary)
    return buckets


def record(
    cur: psycopg.Cursor[Any], batches: Sequence[Batch], parameter_ids: Mapping[str, int]
) -> None:
    """Add the values of ``batches`` to the rollups, in the caller's transaction (the
    write group's: so a group's samples are in the rollups exactly once, with it)."""
    buckets = _seconds(batches, parameter_ids)
    if not buckets:
        return
    # A group has few distinct times (its polls, its buckets' starts): each made once.
    stamps: dict[int, datetime] = {}

    def stamp(us: int) -> datetime:
        found = stamps.get(us)
        if found is None:
            found = stamps[us] = db_timestamp(us)
        return found

    for resolution in Resolution:  # finest first, each from the one before
        if resolution is not Resolution.SECOND:
            buckets = _coarser(buckets, resolution.width)
        rows = [
            (p, stamp(start), s.count, s.min, s.max, s.sum, stamp(s.first_at), s.first,
             stamp(s.last_at), s.last)
            for (p, start), s in buckets.items()
        ]  # fmt: skip
        columns = [list(c) for c in zip(*rows, strict=True)]
        cur.execute(_MERGE.format(resolution.table).encode(), columns)


@dataclass(frozen=True, slots=True)
class RollupPoint:
    """A tag over [start, start + width): ``count`` samples, their least, greatest and
    mean, and the first and last of them."""

    start: datetime
    count: int
    min: float
    max: float
    mean: float
    first: float
    last: float


def resolution_for(start: datetime, end: datetime, points: int) -> Resolution | None:
    """The coarsest rollup whose buckets still fit ``points`` times into [start, end)
    (the minutes for a span of at least ``points`` minutes, else the ten seconds for
    ``points`` times ten seconds, else the seconds for ``points`` seconds); None when
    the span is short enough for the raw samples."""
    if points < 1:
        raise ValueError(f"points {points}: at least 1")
    span = end - start
    for resolution in sorted(Resolution, key=lambda r: r.width, reverse=True):
        if span >= resolution.width * points:
            return resolution
    return None


def series(
    conn: psycopg.Connection[Any],
    parameter_id: int,
    start: datetime,
    end: datetime,
    points: int,
    resolution: Resolution | None = None,
) -> list[RollupPoint]:
    """Tag ``parameter_id`` over [start, end) as at most ``points`` points in time
    order, each summing up an equal share of the span (empty shares give no point),
    read from ``resolution`` (default: ``resolution_for``; the seconds if the span is
    short). A bucket belongs to the share its start falls in, so the edges are exact
    to the rollup's width. Uses one index range of the rollup (partition pruning on
    the seconds and the ten seconds)."""
    chosen = resolution or resolution_for(start, end, points) or Resolution.SECOND
    # A share is a whole number of buckets, so no bucket is split between two points.
    buckets = max(1, math.ceil((end - start) / chosen.width / points))
    query = f"""
        SELECT date_bin(%(share)s, bucket, %(start)s) AS share_start, sum(count)::bigint,
               min(min), max(max), sum(sum) / sum(count),
               (array_agg(first_value ORDER BY first_at))[1],
               (array_agg(last_value ORDER BY last_at DESC))[1]
        FROM {chosen.table}
        WHERE parameter_id = %(tag)s AND bucket >= %(start)s AND bucket < %(end)s
        GROUP BY 1 ORDER BY 1"""  # the table is one of Resolution's, never input
    rows = conn.execute(
        query.encode(),
        {"share": chosen.width * buckets, "start": start, "end": end, "tag": parameter_id},
    ).fetchall()
    return [RollupPoint(*row) for row in rows]
