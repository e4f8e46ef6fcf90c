"""Rollups (migrations 0013, 0015, store.rollups) kept by the writer's own transactions
equal the aggregates of the raw rows at every level (seconds, ten seconds, minutes), NaN
and infinities included, on both servers; ``series`` reads a span as the points a plot
asks for."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from ald_gui.store.rollups import Resolution, resolution_for, series
from tests.fixtures.pg import RolesDatabase
from tests.history_writes import Console, utc_day

START = utc_day(0) + timedelta(hours=1, seconds=0.6)

_RAW = """
    SELECT parameter_id, date_bin(%s, sampled_at, '1970-01-01 00:00Z'), count(*), min(value),
           max(value), avg(value), min(sampled_at), (array_agg(value ORDER BY sampled_at))[1],
           max(sampled_at), (array_agg(value ORDER BY sampled_at DESC))[1]
    FROM parameter_value_history GROUP BY 1, 2 ORDER BY 1, 2"""
_ROLLUP = """
    SELECT parameter_id, bucket, count, min, max, sum / count, first_at, first_value,
           last_at, last_value FROM {} ORDER BY 1, 2"""


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    def equal(x: Any, y: Any) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-12)
        return bool(x == y)

    return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture
def recorded(roles_db: RolesDatabase) -> RolesDatabase:
    """Two and a half minutes of two tags at 4 Hz, in groups of 7 samples (1.75 s: so
    seconds, ten seconds and minutes straddle groups), one value odd: NaN, then both
    infinities (each in a ten seconds that straddles two groups)."""
    with psycopg.connect(roles_db.writer) as conn:
        console = Console(conn)
        batches = [console.batch(START + i * timedelta(seconds=0.25), math.sin(i) * 50)
                   for i in range(600)]  # fmt: skip
        for odd, value in ((100, math.nan), (300, math.inf), (301, -math.inf)):
            batches[odd].values["heater.t1"] = value
        for i in range(0, len(batches), 7):
            console.commit(batches[i : i + 7])
    return roles_db


def test_each_rollup_equals_the_aggregates_of_the_raw_rows(recorded: RolesDatabase) -> None:
    with psycopg.connect(recorded.reader, autocommit=True) as reader:
        buckets = {Resolution.SECOND: 151, Resolution.TEN_SECONDS: 16, Resolution.MINUTE: 3}
        for resolution, count in buckets.items():
            raw = reader.execute(_RAW, (resolution.width,)).fetchall()
            rolled = reader.execute(_ROLLUP.format(resolution.table).encode()).fetchall()
            assert len(rolled) == len(raw) == 2 * count, resolution
            wrong = [(r, s) for r, s in zip(raw, rolled, strict=True) if not _same(r, s)]
            assert wrong == [], resolution
        # The odd values' ten seconds: NaN above every number, the infinities kept.
        odd = reader.execute(
            "SELECT r.min, r.max FROM history_rollup_10s r JOIN parameters p"
            " ON p.id = r.parameter_id WHERE p.key = 'heater.t1'"
            " AND r.max IN ('NaN', 'Infinity') ORDER BY r.bucket"
        ).fetchall()
    assert len(odd) == 2 and math.isnan(odd[0][1])
    assert odd[1][0] == -math.inf and odd[1][1] == math.inf


def test_series_sums_up_equal_shares_of_the_span(recorded: RolesDatabase) -> None:
    start = START.replace(microsecond=0)
    end = start + timedelta(seconds=150)
    with psycopg.connect(recorded.reader, autocommit=True) as reader:
        tag = reader.execute("SELECT id FROM parameters WHERE key = 'heater.t0'").fetchone()
        assert tag is not None
        points = series(reader, tag[0], start, end, 15)  # 10 s each, from the seconds
        raw = reader.execute(
            "SELECT date_bin('10 s', sampled_at, %(s)s), count(*), min(value), max(value),"
            " avg(value), (array_agg(value ORDER BY sampled_at))[1],"
            " (array_agg(value ORDER BY sampled_at DESC))[1] FROM parameter_value_history"
            " WHERE parameter_id = %(p)s AND sampled_at >= %(s)s AND sampled_at < %(e)s"
            " GROUP BY 1 ORDER BY 1",
            {"s": start, "e": end, "p": tag[0]},
        ).fetchall()
    assert len(points) == 15
    assert all(_same(tuple(vars_of(p)), r) for p, r in zip(points, raw, strict=True))


def vars_of(point: Any) -> list[Any]:
    return [point.start, point.count, point.min, point.max, point.mean, point.first, point.last]


def test_the_rollup_is_the_coarsest_that_still_gives_the_points() -> None:
    t = datetime(2026, 1, 1)
    assert resolution_for(t, t + timedelta(hours=8), 400) is Resolution.MINUTE
    assert resolution_for(t, t + timedelta(hours=8), 1600) is Resolution.TEN_SECONDS
    assert resolution_for(t, t + timedelta(minutes=30), 400) is Resolution.SECOND
    assert resolution_for(t, t + timedelta(minutes=5), 400) is None
    with pytest.raises(ValueError, match="points 0"):
        resolution_for(t, t, 0)
