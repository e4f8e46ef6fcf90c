"""The read side of the historian: one tag's history over a time span, fit for a plot.

Queries only; run them on a connection of the reader role (``ald_reader``), from a worker
thread, never the GUI thread (``engine.history_queries`` does both).

``fetch_series`` answers a span with the raw rows when there are few enough of them
(at most ``RAW_ROWS_PER_PX`` per pixel column), else with the M4 reduction computed in
SQL: for every pixel column the first, the last, the lowest and the highest sample.
Drawn as a line, the M4 series covers exactly the pixels the raw rows would (Jugel et
al., "M4: a visualization-oriented time series data aggregation", VLDB 2014), with at
most four points per column whatever the span holds.

Pixel columns: the span ``[start_us, end_us)`` is cut into columns ``column_us(span,
width)`` microseconds wide, column ``j`` covering ``[start_us + j·w, start_us + (j+1)·w)``
(the last one may reach past ``end_us``, and there are at most ``width_px`` of them).
Where the schema has rollups (per second, ten seconds, minute) and a column holds whole
buckets of one, the columns are aligned on its buckets and read from it (``history_m4``);
while a column holds at most ten buckets, the buckets themselves are sent and merged into
their columns here (``history_buckets``: the same points, for a fraction of the server's
work). The series' ``columns`` says which grid and source answered.
Times are integer microseconds since the epoch (the stream clock); raw rows come over
binary COPY, a reduction as one bytea of the same binary fields, both of which hand
timestamptz over as integers, so no microsecond is lost and no Python object is made
per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from ald_gui.store.db import db_timestamp
from ald_gui.store.history_buckets import bucket_query, merge_buckets, served
from ald_gui.store.history_m4 import Reduction, plan_reduction, reduction_query

__all__ = [
    "RAW_ROWS_PER_PX",
    "Reduction",
    "Series",
    "UnknownTag",
    "column_us",
    "fetch_many",
    "fetch_raw",
    "fetch_series",
]

RAW_ROWS_PER_PX = 4  # more than this per pixel column and the span comes reduced

# PostgreSQL's binary timestamptz counts microseconds from 2000-01-01 UTC.
_PG_EPOCH_US = 946_684_800_000_000
# One binary COPY tuple of (timestamptz, float8): field count, then length + value twice.
_POINT = np.dtype([("n", ">i2"), ("lt", ">i4"), ("t", ">i8"), ("lv", ">i4"), ("v", ">f8")])
_HEADER = 19  # signature (11), flags (4), header extension length (4)
_TRAILER = 2  # field count -1


class UnknownTag(KeyError):
    """The machine has no such tag in the database (never synced from a configuration)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, eq=False)
class Series:
    """One tag's history over a span, oldest first: ``t_us`` (int64, microseconds since
    the epoch, in time order) and ``values`` (float64), of equal length.
    ``reduced``: M4 points (per pixel column the first, last, lowest and highest sample;
    ``columns`` says which columns, and where they were read from); otherwise every raw
    row of the span."""

    tag: str
    t_us: np.ndarray
    values: np.ndarray
    reduced: bool
    columns: Reduction | None = None

    def __len__(self) -> int:
        return int(self.t_us.shape[0])


def column_us(start_us: int, end_us: int, width_px: int) -> int:
    """The width of one pixel column, in whole microseconds (rounded up, so that
    ``width_px`` columns cover the span). Raises ValueError naming what is wrong with an
    empty span or a width below one pixel."""
    if end_us <= start_us:
        raise ValueError(f"empty time span: end {end_us} µs is not after start {start_us} µs")
    if width_px < 1:
        raise ValueError(f"a plot is at least one pixel wide, got width_px={width_px}")
    return -(-(end_us - start_us) // width_px)


_RAW = """
COPY (
    SELECT sampled_at, value FROM parameter_value_history
    WHERE parameter_id = %(id)s AND sampled_at >= %(start)s AND sampled_at < %(end)s
    ORDER BY sampled_at
    LIMIT %(limit)s
) TO STDOUT (FORMAT binary)
"""


def fetch_series(
    conn: psycopg.Connection[Any],
    machine: str,
    tag_key: str,
    start_us: int,
    end_us: int,
    width_px: int,
) -> Series:
    """``tag_key``'s history on ``machine`` in ``[start_us, end_us)`` for a plot
    ``width_px`` pixels wide: the raw rows if there are at most ``RAW_ROWS_PER_PX ×
    width_px`` of them, else the M4 reduction (see the module's docstring).

    Raises ValueError for an empty span or a width below one pixel, UnknownTag when the
    machine has no such tag, psycopg errors from the database (QueryCanceled when
    ``conn.cancel_safe()`` interrupted it from another thread).
    """
    return fetch_many(conn, machine, [tag_key], start_us, end_us, width_px)[tag_key]


def fetch_many(
    conn: psycopg.Connection[Any],
    machine: str,
    tag_keys: Sequence[str],
    start_us: int,
    end_us: int,
    width_px: int,
) -> dict[str, Series]:
    """``fetch_series`` for each of ``tag_keys`` (one id lookup and one count of the
    span's rows for all of them, then one query per tag), keyed by tag. Raises like
    ``fetch_series``; UnknownTag names every tag the machine does not have."""
    column_us(start_us, end_us, width_px)  # the span and width checks, before any query
    ids = _parameter_ids(conn, machine, tag_keys)
    bounds = {"start": db_timestamp(start_us), "end": db_timestamp(end_us)}
    limit = RAW_ROWS_PER_PX * width_px
    few = _few_rows(conn, [ids[k] for k in tag_keys], bounds, limit)
    reduction: Reduction | None = None
    answer = {}
    for key in tag_keys:
        if ids[key] in few:
            t_us, values = _points(conn, _RAW, {**bounds, "id": ids[key], "limit": limit + 1})
            if len(t_us) <= limit:  # (more: rows recorded since they were counted)
                answer[key] = Series(key, t_us, values, reduced=False)
                continue
        if reduction is None:
            reduction = plan_reduction(conn, start_us, end_us, width_px)
        if served(reduction):
            t_us, values = merge_buckets(
                reduction, _one_bytea(conn, *bucket_query(reduction, ids[key]))
            )
        else:
            t_us, values = _reduced_points(conn, *reduction_query(reduction, ids[key]))
        answer[key] = Series(key, t_us, values, reduced=True, columns=reduction)
    return answer


# Which tags have at most `limit` rows in the span, counted on the index (stopping at
# limit + 1), in one statement for all of them. Fetching a long span's first 4 × width
# rows of each curve only to learn it is long was a third of a 16-curve fetch.
_FEW_ROWS = """
SELECT p FROM unnest(%(ids)s::int4[]) AS p
WHERE (SELECT count(*) FROM (
           SELECT FROM parameter_value_history
           WHERE parameter_id = p AND sampled_at >= %(start)s AND sampled_at < %(end)s
           LIMIT %(limit)s::int8 + 1) AS span) <= %(limit)s::int8
"""


def _few_rows(
    conn: psycopg.Connection[Any], pids: list[int], bounds: dict[str, Any], limit: int
) -> set[int]:
    rows = conn.execute(_FEW_ROWS, {**bounds, "ids": pids, "limit": limit}).fetchall()
    return {int(r[0]) for r in rows}


def fetch_raw(
    conn: psycopg.Connection[Any], machine: str, tag_key: str, start_us: int, end_us: int
) -> Series:
    """Every row of ``tag_key`` on ``machine`` in ``[start_us, end_us)``, however many
    (exports, a run's own rows, the benchmark's baseline). Raises like ``fetch_series``."""
    column_us(start_us, end_us, 1)  # the span's check
    pid = _parameter_ids(conn, machine, [tag_key])[tag_key]
    args = {"id": pid, "start": db_timestamp(start_us), "end": db_timestamp(end_us)}
    t_us, values = _points(conn, _RAW, {**args, "limit": None})
    return Series(tag_key, t_us, values, reduced=False)


def _parameter_ids(
    conn: psycopg.Connection[Any], machine: str, tag_keys: Sequence[str]
) -> dict[str, int]:
    rows = conn.execute(
        "SELECT key, id FROM parameters WHERE machine = %s AND key = ANY(%s)",
        (machine, list(tag_keys)),
    ).fetchall()
    ids = {str(key): int(pid) for key, pid in rows}
    missing = [k for k in tag_keys if k not in ids]
    if missing:
        raise UnknownTag(
            f"machine {machine!r} has no tag {', '.join(map(repr, missing))} in the database: "
            "check the tag key, or start the console once with a configuration that has it"
        )
    return ids


def _points(
    conn: psycopg.Connection[Any], query: str | sql.Composed, args: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Run a ``COPY (SELECT t, v ...) TO STDOUT (FORMAT binary)``: times (int64 µs
    since the epoch) and values (float64)."""
    with conn.cursor() as cur, cur.copy(query, args) as copy:
        data = b"".join(bytes(block) for block in copy)
    body = np.frombuffer(data, dtype=_POINT, offset=_HEADER, count=_count(len(data)))
    t_us = body["t"].astype(np.int64) + _PG_EPOCH_US
    return t_us, body["v"].astype(np.float64)


# One point of a reduction's answer (history_m4.reduction_query).
_REDUCED_POINT = np.dtype([("t", ">i8"), ("v", ">f8")])


def _one_bytea(conn: psycopg.Connection[Any], query: sql.Composed, args: dict[str, Any]) -> bytes:
    """Run a statement answering one row of one bytea (NULL: empty)."""
    with conn.cursor(binary=True) as cur:
        row = cur.execute(query, args).fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def _reduced_points(
    conn: psycopg.Connection[Any], query: sql.Composed, args: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Run a reduction's statement: times (int64 µs since the epoch) and values."""
    data = _one_bytea(conn, query, args)
    if len(data) % _REDUCED_POINT.itemsize:
        raise psycopg.DataError(f"unexpected reduced answer of {len(data)} bytes")
    body = np.frombuffer(data, dtype=_REDUCED_POINT)
    return body["t"].astype(np.int64) + _PG_EPOCH_US, body["v"].astype(np.float64)


def _count(size: int) -> int:
    rows, rest = divmod(size - _HEADER - _TRAILER, _POINT.itemsize)
    if rest or rows < 0:
        raise psycopg.DataError(f"unexpected binary COPY answer of {size} bytes")
    return rows
