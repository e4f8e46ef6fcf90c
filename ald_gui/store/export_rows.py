"""The rows of an export, read in time windows, each window one packed binary value.

A run's rows come from ``process_data_points`` (the rows the writer attributed to it:
invariant 1 makes them exactly the history rows inside the run's interval, and the
table's (run_id, parameter_id, sampled_at) index finds them without touching the other
runs); a time span's from ``parameter_value_history`` (its (parameter_id, sampled_at)
index). Each window is one query ordered by (time, tag), so an instant never straddles
two chunks and a wide row is built from one chunk. Windows adapt to hold about
``CHUNK_ROWS`` rows, so memory stays bounded whatever the export's size.

Every column here is fixed-width and NOT NULL, so the server packs a window's rows in
their binary send form (``timestamptz_send || int4send || float8send``, 20 bytes a row)
into one bytea, which numpy decodes in one step, without a Python object per row. Not
``COPY ... TO STDOUT``: PostgreSQL sends COPY data as one message per row, which psycopg
hands out one Python call each (measured: about 2.5 µs a row, twice what the server
spends); one value per window is one fetch (benchmarks/export.py compares the two).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql

from ald_gui.store.db import db_timestamp

__all__ = ["CHUNK_ROWS", "Chunk", "RowSource", "columns_of", "decode", "read_chunks"]

CHUNK_ROWS = 250_000  # 5 MB packed and 4 MB of arrays a window
_PG_EPOCH_US = 946_684_800_000_000  # timestamptz counts microseconds from 2000-01-01
_ROW = np.dtype([("at", ">i8"), ("parameter_id", ">i4"), ("value", ">f8")])
_MIN_WINDOW_US = 1_000
_FIRST_SHARE = 256
_MAX_GROWTH = 4.0


@dataclass(frozen=True, slots=True)
class RowSource:
    """Where the rows are: a run's (``run_id``) or the history's (``run_id`` None), of
    the tags ``parameter_ids``, with ``from_us <= sampled_at < to_us``."""

    run_id: uuid.UUID | None
    parameter_ids: tuple[int, ...]
    from_us: int
    to_us: int

    def _where(self, from_us: int, to_us: int) -> sql.Composed:
        run = (
            sql.SQL("run_id = {} AND ").format(sql.Literal(self.run_id))
            if self.run_id is not None
            else sql.SQL("")
        )
        return sql.SQL(
            "{}parameter_id = ANY({}::integer[]) AND sampled_at >= {} AND sampled_at < {}"
        ).format(
            run,
            sql.Literal(list(self.parameter_ids)),
            sql.Literal(db_timestamp(from_us)),
            sql.Literal(db_timestamp(to_us)),
        )

    @property
    def table(self) -> sql.Identifier:
        return sql.Identifier(
            "process_data_points" if self.run_id is not None else "parameter_value_history"
        )

    def packed(self, from_us: int, to_us: int) -> sql.Composed:
        """The rows of [from_us, to_us) as one bytea of 20-byte rows, in time order,
        then tag order (NULL when there are none)."""
        return sql.SQL(
            "SELECT string_agg(timestamptz_send(sampled_at) || int4send(parameter_id)"
            " || float8send(value), ''::bytea ORDER BY sampled_at, parameter_id)"
            " FROM {} WHERE {}"
        ).format(self.table, self._where(from_us, to_us))

    def exists(self) -> sql.Composed:
        """Whether the source has a row (one index probe)."""
        return sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {})").format(
            self.table, self._where(self.from_us, self.to_us)
        )

    def estimate(self, conn: psycopg.Connection[Any]) -> int:
        """The planner's estimate of the rows of the whole source (no scan)."""
        query = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} WHERE {}").format(
            self.table, self._where(self.from_us, self.to_us)
        )
        row = conn.execute(query).fetchone()
        assert row is not None
        return int(row[0][0]["Plan"]["Plan Rows"])


@dataclass(frozen=True, slots=True)
class Chunk:
    """One window's rows, in (time, tag) order: microseconds since the epoch, parameter
    ids and values, as arrays of the same length."""

    at_us: npt.NDArray[np.int64]
    parameter_id: npt.NDArray[np.int32]
    value: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.at_us)


def decode(payload: bytes | None) -> Chunk:
    """The rows of one packed window (RowSource.packed); None: no rows."""
    payload = payload or b""
    if len(payload) % _ROW.itemsize:
        raise ValueError("a packed window with a partial row: not the expected columns")
    rows = np.frombuffer(payload, _ROW)
    return Chunk(
        rows["at"].astype(np.int64) + _PG_EPOCH_US,
        rows["parameter_id"].astype(np.int32),
        rows["value"].astype(np.float64),
    )


def _window(conn: psycopg.Connection[Any], source: RowSource, from_us: int, to_us: int) -> Chunk:
    with conn.cursor(binary=True) as cur:
        row = cur.execute(source.packed(from_us, to_us)).fetchone()
    return decode(None if row is None else row[0])


def read_chunks(
    conn: psycopg.Connection[Any],
    source: RowSource,
    estimate: int,
    on_window: Callable[[int, int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[Chunk]:
    """The rows of ``source`` window by window, in time order. ``estimate``: the rows
    expected in all (sizes the first window). ``on_window(rows_so_far, to_us)`` after
    each window. Blocks on the database; the caller's generator protocol is the place
    to stop between windows (closing the generator ends the reading)."""
    span = max(1, source.to_us - source.from_us)
    # The planner's estimate may be far off (a table not analysed since it grew): the
    # first window is small whatever it says, and the windows grow from there.
    first = min(span * chunk_rows / max(estimate, 1), span / _FIRST_SHARE)
    window = max(_MIN_WINDOW_US, int(first))
    start, done = source.from_us, 0
    while start < source.to_us:
        end = min(source.to_us, start + window)
        chunk = _window(conn, source, start, end)
        done += len(chunk)
        if on_window is not None:
            on_window(done, end)
        if len(chunk):
            yield chunk
        # Aim the next window at chunk_rows from this one's density, changing by at most
        # a factor of four at a time (a gap in the record, a run's quiet start).
        wanted = window * chunk_rows / len(chunk) if len(chunk) else window * _MAX_GROWTH
        window = int(min(window * _MAX_GROWTH, max(window / _MAX_GROWTH, wanted)))
        window = max(_MIN_WINDOW_US, window)
        start = end


def columns_of(ids: Sequence[int]) -> npt.NDArray[np.int32]:
    """A lookup from parameter id to its column among ``ids`` (-1: not exported)."""
    lookup = np.full(max(ids, default=0) + 1, -1, np.int32)
    lookup[list(ids)] = np.arange(len(ids), dtype=np.int32)
    return lookup
