"""The read side (store.history) against the real server, read as the reader role: raw
rows for short spans, the M4 reduction in SQL for long ones, with the same per-column
lowest and highest values as the raw rows (hypothesis over data and spans)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ald_gui.store.db import db_timestamp
from ald_gui.store.history import (
    RAW_ROWS_PER_PX,
    UnknownTag,
    column_us,
    fetch_many,
    fetch_raw,
    fetch_series,
)
from ald_gui.store.history_buckets import (
    MAX_BUCKETS_PER_COLUMN,
    bucket_query,
    merge_buckets,
    served,
)
from ald_gui.store.history_m4 import Reduction, reduction_query
from ald_gui.store.roles import Group
from ald_gui.store.server import EmbeddedServer

T0 = 1_780_000_000_000_000  # µs since the epoch (2026)
MACHINE = "reactor-h"


def add_tag(conn: psycopg.Connection[Any], machine: str, key: str) -> int:
    row = conn.execute(
        "INSERT INTO parameters (machine, key, component, name, data_type, min, max, "
        "writable, plotted, polled) VALUES (%s, %s, 'c', %s, 'float32', 0, 1, false, true, "
        "true) RETURNING id",
        (machine, key, key),
    ).fetchone()
    assert row is not None
    return int(row[0])


# The rollups of migrations 0013 and 0015, as a plain table where the schema does not
# have them yet: what store.history_m4 reads.
_ROLLUP_TABLE = """
CREATE TABLE IF NOT EXISTS {} (
    parameter_id integer NOT NULL, bucket timestamptz NOT NULL, count integer NOT NULL,
    min double precision NOT NULL, max double precision NOT NULL,
    sum double precision NOT NULL, first_at timestamptz NOT NULL,
    first_value double precision NOT NULL, last_at timestamptz NOT NULL,
    last_value double precision NOT NULL, PRIMARY KEY (parameter_id, bucket))
"""
_ROLLUP_FILL = """
INSERT INTO {table} AS r
SELECT parameter_id, date_bin(%(width)s, sampled_at, '1970-01-01 00:00Z'), count(*), min(value),
       max(value), sum(value), min(sampled_at), (array_agg(value ORDER BY sampled_at))[1],
       max(sampled_at), (array_agg(value ORDER BY sampled_at DESC))[1]
FROM parameter_value_history WHERE transaction_id = %(tx)s GROUP BY 1, 2
ON CONFLICT (parameter_id, bucket) DO UPDATE SET
    count = r.count + EXCLUDED.count, min = least(r.min, EXCLUDED.min),
    max = greatest(r.max, EXCLUDED.max), sum = r.sum + EXCLUDED.sum,
    first_value = CASE WHEN EXCLUDED.first_at < r.first_at
                       THEN EXCLUDED.first_value ELSE r.first_value END,
    first_at = least(r.first_at, EXCLUDED.first_at),
    last_value = CASE WHEN EXCLUDED.last_at > r.last_at
                      THEN EXCLUDED.last_value ELSE r.last_value END,
    last_at = greatest(r.last_at, EXCLUDED.last_at)
"""
ROLLUPS = {
    "history_rollup_1s": timedelta(seconds=1),
    "history_rollup_10s": timedelta(seconds=10),
    "history_rollup_1m": timedelta(minutes=1),
}


def add_rollups(conn: psycopg.Connection[Any]) -> None:
    for table in ROLLUPS:
        conn.execute(sql.SQL(_ROLLUP_TABLE).format(sql.Identifier(table)))
        conn.execute(sql.SQL("GRANT SELECT ON {} TO ald_reader").format(sql.Identifier(table)))


def add_rows(
    conn: psycopg.Connection[Any], parameter_id: int, t_us: np.ndarray, values: np.ndarray
) -> None:
    """History rows as the writer leaves them (a ledger row for their transaction, and
    the rollups where the schema has them)."""
    tx = uuid.uuid4()
    conn.execute(
        "INSERT INTO write_transactions (transaction_id, machine, history_rows, run_rows, "
        "gap_rows, first_seq, last_seq) VALUES (%s, %s, %s, 0, 0, 1, 1)",
        (tx, MACHINE, len(t_us)),
    )
    with conn.cursor().copy(
        "COPY parameter_value_history (parameter_id, sampled_at, value, transaction_id) FROM STDIN"
    ) as copy:
        for t, v in zip(t_us.tolist(), values.tolist(), strict=True):
            copy.write_row((parameter_id, db_timestamp(t), v, tx))
    for table, width in ROLLUPS.items():
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,):
            conn.execute(sql.SQL(_ROLLUP_FILL).format(table=sql.Identifier(table)),
                         {"width": width, "tx": tx})  # fmt: skip


@pytest.fixture(params=["rows", "rollups"])
def history_db(
    request: pytest.FixtureRequest, migrated_pg_dsn: str
) -> Iterator[psycopg.Connection[Any]]:
    """The owner's connection (to add rows), autocommit; with the rollups or without
    (where the schema has none)."""
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as conn:
        if request.param == "rollups":
            add_rollups(conn)
        yield conn


@pytest.fixture
def reader(pg_server: EmbeddedServer, migrated_pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """The embedded server's reader login on the test's database."""
    dbname = conninfo_to_dict(migrated_pg_dsn)["dbname"]
    dsn = make_conninfo(pg_server.login_dsn(Group.READER), dbname=dbname)
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


def test_a_short_span_comes_as_its_raw_rows(history_db, reader):
    pid = add_tag(history_db, MACHINE, "p")
    t = T0 + np.arange(50, dtype=np.int64) * 100_000 + 7  # odd microseconds survive
    v = np.sin(np.arange(50) / 5.0)
    add_rows(history_db, pid, t, v)
    series = fetch_series(reader, MACHINE, "p", T0, T0 + 10_000_000, 100)
    assert not series.reduced
    assert series.t_us.dtype == np.int64 and series.values.dtype == np.float64
    np.testing.assert_array_equal(series.t_us, t)
    np.testing.assert_array_equal(series.values, v)
    # The end is excluded, the start included.
    inner = fetch_series(reader, MACHINE, "p", int(t[10]), int(t[20]), 100)
    np.testing.assert_array_equal(inner.t_us, t[10:20])


def test_a_long_span_comes_reduced_to_four_points_per_column_at_most(history_db, reader):
    pid = add_tag(history_db, MACHINE, "p")
    n = 20_000
    t = T0 + np.arange(n, dtype=np.int64) * 100_000
    v = np.random.default_rng(3).normal(size=n)
    add_rows(history_db, pid, t, v)
    series = fetch_series(reader, MACHINE, "p", T0, int(t[-1]) + 1, 200)
    assert series.reduced
    assert 200 < len(series) <= 4 * 200
    assert np.all(np.diff(series.t_us) > 0)
    assert series.columns is not None
    if series.columns.bucket_us:
        # From a rollup: real values, the lowest and highest placed in their bucket.
        assert np.isin(series.values, v).all()
    else:
        # From the rows: every point is a real row, at its true time.
        index = np.searchsorted(t, series.t_us)
        np.testing.assert_array_equal(t[index], series.t_us)
        np.testing.assert_array_equal(v[index], series.values)
    # The first and the last row of the span are kept (the line reaches both ends).
    assert series.t_us[0] == t[0] and series.t_us[-1] == t[-1]


def test_a_flat_signal_keeps_one_point_per_role_not_every_row(history_db, reader):
    pid = add_tag(history_db, MACHINE, "flat")
    t = T0 + np.arange(5_000, dtype=np.int64) * 100_000
    add_rows(history_db, pid, t, np.ones(5_000))
    series = fetch_series(reader, MACHINE, "flat", T0, int(t[-1]) + 1, 100)
    assert series.reduced and len(series) <= 4 * 100
    assert set(series.values.tolist()) == {1.0}


def test_fetch_many_answers_each_tag_and_names_the_unknown_ones(history_db, reader):
    a, b = add_tag(history_db, MACHINE, "a"), add_tag(history_db, MACHINE, "b")
    add_tag(history_db, "other-machine", "c")
    t = T0 + np.arange(10, dtype=np.int64) * 1_000_000
    add_rows(history_db, a, t, np.zeros(10))
    add_rows(history_db, b, t, np.ones(10))
    answer = fetch_many(reader, MACHINE, ["a", "b"], T0, T0 + 60_000_000, 100)
    assert list(answer) == ["a", "b"]
    assert answer["a"].values.tolist() == [0.0] * 10 and answer["b"].values.tolist() == [1.0] * 10
    raw = fetch_raw(reader, MACHINE, "b", T0 + 1, T0 + 60_000_000)
    assert not raw.reduced and raw.t_us.tolist() == t[1:].tolist()
    with pytest.raises(UnknownTag, match=r"no tag 'c', 'zz'"):
        fetch_many(reader, MACHINE, ["a", "c", "zz"], T0, T0 + 1, 10)


def test_a_bad_span_or_width_is_refused_with_what_was_wrong(reader):
    with pytest.raises(ValueError, match="empty time span"):
        fetch_series(reader, MACHINE, "p", T0, T0, 100)
    with pytest.raises(ValueError, match="at least one pixel"):
        fetch_series(reader, MACHINE, "p", T0, T0 + 1, 0)


def _per_column(t, v, start, width_us):
    """{column: (lowest, highest)} of the rows in each pixel column."""
    cols = (t - start) // width_us
    out = {}
    for c in np.unique(cols):
        sel = v[cols == c]
        out[int(c)] = (float(sel.min()), float(sel.max()))
    return out


def _values(data: st.DataObject, n: int) -> np.ndarray:
    kind = data.draw(st.sampled_from(["noise", "steps", "flat"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    return {
        "noise": rng.normal(size=n) * 10.0,
        "steps": rng.integers(0, 3, size=n).astype(np.float64),
        "flat": np.full(n, 2.5),
    }[kind]


def _check_reduction(history_db, reader, t, v, lo, hi, width):
    """The rows ``t``, ``v`` of a tag of their own, read over [lo, hi) at ``width``
    px: the raw rows when few, else per column the raw rows' lowest and highest, the
    first and last at their times. The series read."""
    key = f"h{uuid.uuid4().hex[:12]}"
    pid = add_tag(history_db, MACHINE, key)
    add_rows(history_db, pid, t, v)
    series = fetch_series(reader, MACHINE, key, lo, hi, width)
    inside = (t >= lo) & (t < hi)
    rt, rv = t[inside], v[inside]
    if len(rt) <= RAW_ROWS_PER_PX * width:
        assert not series.reduced
        np.testing.assert_array_equal(series.t_us, rt)
        np.testing.assert_array_equal(series.values, rv)
        return series
    assert series.reduced and series.columns is not None
    grid = series.columns
    assert len(series) <= 4 * width
    assert grid.column_us >= column_us(lo, hi, width)
    # The grid: the span's, or (from a rollup) the span widened to whole buckets.
    assert grid.origin_us <= lo and grid.end_us >= hi
    assert grid.origin_us > lo - max(grid.bucket_us, 1) and grid.end_us < hi + max(
        grid.bucket_us, 1
    )
    inside = (t >= grid.origin_us) & (t < grid.end_us)
    rt, rv = t[inside], v[inside]
    w, origin = grid.column_us, grid.origin_us
    assert _per_column(series.t_us, series.values, origin, w) == _per_column(rt, rv, origin, w)
    # In time order, the span's first and last rows kept at their times.
    assert np.all(np.diff(series.t_us) >= 0)
    assert series.t_us[0] == rt[0] and series.t_us[-1] == rt[-1]
    assert series.values[0] == rv[0] and series.values[-1] == rv[-1]
    if not grid.bucket_us:
        # From the rows: every point is a row, at its true time.
        assert np.all(np.diff(series.t_us) > 0)
        index = np.searchsorted(rt, series.t_us)
        np.testing.assert_array_equal(rt[index], series.t_us)
        np.testing.assert_array_equal(rv[index], series.values)
    return series


# One database for all examples, on purpose: each example has a tag of its own.
_ONE_DATABASE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=25, deadline=None, suppress_health_check=_ONE_DATABASE)
@given(
    data=st.data(),
    n=st.integers(min_value=1, max_value=3_000),
    width=st.integers(min_value=1, max_value=300),
)
def test_the_reduced_series_has_the_raw_rows_lowest_and_highest_per_column(
    history_db, reader, data, n, width
):
    steps = data.draw(st.lists(st.integers(1, 5_000_000), min_size=n, max_size=n))
    t = T0 + np.cumsum(np.asarray(steps, dtype=np.int64))
    # A span anywhere around the rows: before, inside, after, or cutting them.
    lo = data.draw(st.integers(int(t[0]) - 10_000_000, int(t[-1])))
    hi = data.draw(st.integers(lo + 1, int(t[-1]) + 10_000_000))
    _check_reduction(history_db, reader, t, _values(data, n), lo, hi, width)


@settings(max_examples=15, deadline=None, suppress_health_check=_ONE_DATABASE)
@given(
    data=st.data(),
    width=st.integers(min_value=2, max_value=200),
    column=st.integers(min_value=10_000_000, max_value=59_999_999),
)
def test_a_span_of_columns_of_ten_seconds_or_more_is_read_from_the_ten_seconds(
    history_db, reader, data, width, column
):
    """Columns from 10 s to under a minute (8 h at 1600 px: 18 s): the 10-s rollup,
    exact per column all the same. Every row inside the span, more than it shows raw."""
    span = width * column
    n = data.draw(st.integers(RAW_ROWS_PER_PX * width + 1, min(3_000, 4 * width + 1_000)))
    steps = data.draw(st.lists(st.integers(1, (span - column) // n), min_size=n, max_size=n))
    t = T0 + np.cumsum(np.asarray(steps, dtype=np.int64))
    lo = data.draw(st.integers(int(t[0]) - column, int(t[0])))
    series = _check_reduction(history_db, reader, t, _values(data, n), lo, lo + span, width)
    assert series.columns is not None and series.columns.table == "history_rollup_10s"


@settings(max_examples=20, deadline=None, suppress_health_check=_ONE_DATABASE)
@given(
    data=st.data(),
    width=st.integers(min_value=1, max_value=120),
    per_column=st.integers(min_value=1, max_value=MAX_BUCKETS_PER_COLUMN),
    table=st.sampled_from(["history_rollup_1s", "history_rollup_10s"]),
)
def test_buckets_merged_here_answer_what_the_statement_in_sql_answers(
    history_db, reader, data, width, per_column, table
):
    """Where a column holds few buckets they are merged on the client (store.
    history_buckets): the same points as the rollup statement of history_m4, NaN and
    the infinities included (PostgreSQL's order: NaN above every number)."""
    if history_db.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,):
        pytest.skip("the schema has no rollups here")
    bucket = ROLLUPS[table] // timedelta(microseconds=1)
    n = data.draw(st.integers(1, 2_000))
    steps = data.draw(st.lists(st.integers(1, 3 * bucket // 2), min_size=n, max_size=n))
    t = T0 + np.cumsum(np.asarray(steps, dtype=np.int64))
    special = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0])
    mixed = data.draw(st.lists(st.one_of(special, st.floats(-1e6, 1e6)), min_size=n, max_size=n))
    key = f"h{uuid.uuid4().hex[:12]}"
    pid = add_tag(history_db, MACHINE, key)
    add_rows(history_db, pid, t, np.asarray(mixed, dtype=np.float64))
    origin = int(t[0]) - int(t[0]) % bucket
    grid = Reduction(table, bucket, origin, per_column * bucket,
                     origin + width * per_column * bucket)  # fmt: skip
    assert served(grid)
    query, args = reduction_query(grid, pid)
    row = reader.cursor(binary=True).execute(query, args).fetchone()
    in_sql = np.frombuffer(
        bytes(row[0]) if row and row[0] else b"", dtype=[("t", ">i8"), ("v", ">f8")]
    )
    query, args = bucket_query(grid, pid)
    row = reader.cursor(binary=True).execute(query, args).fetchone()
    t_here, v_here = merge_buckets(grid, bytes(row[0]) if row and row[0] else b"")
    np.testing.assert_array_equal(t_here, in_sql["t"].astype(np.int64) + 946_684_800_000_000)
    np.testing.assert_array_equal(v_here, in_sql["v"].astype(np.float64))
