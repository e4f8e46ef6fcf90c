"""The read side (store.history) against the real server, read as the reader role: raw
rows for short spans, the M4 reduction in SQL for long ones, with the same per-column
lowest and highest values as the raw rows (hypothesis over data and spans)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ald_gui.store.db import db_timestamp
from ald_gui.store.history import (
    RAW_ROWS_PER_PX,
    UnknownTag,
    column_us,
    fetch_many,
    fetch_series,
)
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


def add_rows(
    conn: psycopg.Connection[Any], parameter_id: int, t_us: np.ndarray, values: np.ndarray
) -> None:
    """History rows as the writer leaves them (a ledger row for their transaction)."""
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


@pytest.fixture
def history_db(migrated_pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """The owner's connection (to add rows), autocommit."""
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as conn:
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
    # Every point is a real row, at its true time.
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


@settings(
    max_examples=25,
    deadline=None,
    # One database for all examples, on purpose: each example has a tag of its own.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    n=st.integers(min_value=1, max_value=3_000),
    width=st.integers(min_value=1, max_value=300),
)
def test_the_reduced_series_has_the_raw_rows_lowest_and_highest_per_column(
    history_db, reader, data, n, width
):
    key = f"h{uuid.uuid4().hex[:12]}"
    pid = add_tag(history_db, MACHINE, key)
    steps = data.draw(st.lists(st.integers(1, 5_000_000), min_size=n, max_size=n))
    t = T0 + np.cumsum(np.asarray(steps, dtype=np.int64))
    kind = data.draw(st.sampled_from(["noise", "steps", "flat"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    v = {
        "noise": rng.normal(size=n) * 10.0,
        "steps": rng.integers(0, 3, size=n).astype(np.float64),
        "flat": np.full(n, 2.5),
    }[kind]
    add_rows(history_db, pid, t, v)
    # A span anywhere around the rows: before, inside, after, or cutting them.
    lo = data.draw(st.integers(int(t[0]) - 10_000_000, int(t[-1])))
    hi = data.draw(st.integers(lo + 1, int(t[-1]) + 10_000_000))
    series = fetch_series(reader, MACHINE, key, lo, hi, width)
    inside = (t >= lo) & (t < hi)
    rt, rv = t[inside], v[inside]
    if len(rt) <= RAW_ROWS_PER_PX * width:
        assert not series.reduced
        np.testing.assert_array_equal(series.t_us, rt)
        np.testing.assert_array_equal(series.values, rv)
        return
    assert series.reduced
    assert len(series) <= 4 * width
    w = column_us(lo, hi, width)
    assert _per_column(series.t_us, series.values, lo, w) == _per_column(rt, rv, lo, w)
    # Points are real rows at their true times, in time order, the span's ends kept.
    assert np.all(np.diff(series.t_us) > 0)
    index = np.searchsorted(rt, series.t_us)
    np.testing.assert_array_equal(rt[index], series.t_us)
    np.testing.assert_array_equal(rv[index], series.values)
    assert series.t_us[0] == rt[0] and series.t_us[-1] == rt[-1]
