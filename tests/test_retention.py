"""Retention (migration 0014, store.retention, ``ald-gui db retention``) on both servers:
whole partitions go, a run across the cut keeps the cut before it, a run before it goes
whole, what went is written down, and doctor stays clean and says so."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from ald_gui.cli.db_cmd import ADMIN_PASSWORD_ENV
from ald_gui.store import retention
from ald_gui.store.invariants import check_data
from tests.fixtures.pg import RolesDatabase, scalar
from tests.history_writes import Console, utc_day
from tests.test_central_server import _ald, _console_config, _without_password

OLD_DAYS = (-40, -39, -38)


@pytest.fixture
def old_history(roles_db: RolesDatabase) -> tuple[RolesDatabase, uuid.UUID, uuid.UUID]:
    """Forty days ago, idle samples and a short run; a run across midnight from 39 to 38
    days ago; samples today. The old days' partitions as a console made them then."""
    with psycopg.connect(roles_db.admin, autocommit=True) as admin:
        admin.execute("SET ROLE ald_owner")
        for table in retention.DROPPED_TABLES:
            for d in OLD_DAYS:
                admin.execute(
                    "SELECT add_history_partition(%s, %s, %s)",
                    (table, utc_day(d), utc_day(d + 1)),
                )
    with psycopg.connect(roles_db.writer) as conn:
        console = Console(conn)
        console.samples(utc_day(-40) + timedelta(hours=8), 10, timedelta(seconds=1))
        gone = console.run(utc_day(-40) + timedelta(hours=9), utc_day(-40) + timedelta(hours=10), 8)
        across = console.run(
            utc_day(-38) - timedelta(seconds=2), utc_day(-38) + timedelta(seconds=2), 8
        )
        console.samples(utc_day(0) + timedelta(minutes=1), 10, timedelta(seconds=1))
    return roles_db, gone, across


def test_retention_drops_whole_partitions_and_keeps_a_run_across_the_cut_whole(
    old_history: tuple[RolesDatabase, uuid.UUID, uuid.UUID], tmp_path: Path
) -> None:
    db, gone, across = old_history
    points = "SELECT count(*) FROM process_data_points WHERE run_id = %s"
    history = "SELECT count(*) FROM parameter_value_history"
    before = scalar(db.reader, history)
    with (
        psycopg.connect(db.writer) as writer,
        pytest.raises(retention.RetentionError, match="owner"),
    ):
        retention.apply(writer, timedelta(days=38))

    admin, password = _without_password(db.admin)
    config = _console_config(tmp_path, db.writer)
    args = ["db", "retention", "--keep", "38d", "--admin-dsn", admin, "--config", config]
    env = {ADMIN_PASSWORD_ENV: password}
    dry = _ald(*args, "--dry-run", env=env, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "would drop 4 partitions before" in dry.stdout and str(across) in dry.stdout
    assert scalar(db.reader, history) == before

    done = _ald(*args, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    day = f"{utc_day(-40):%Y%m%d}"
    for table in retention.DROPPED_TABLES:  # 40 days ago went; the run's two days stayed
        assert f"{table}_p{day}" in done.stdout
    assert f"before {utc_day(-39):%Y-%m-%d %H:%M} UTC" in done.stdout
    assert scalar(db.reader, points, gone) == 0  # the run before the cut: all its samples
    assert scalar(db.reader, points, across) == 16  # the one across: all of them (8 × 2 tags)
    assert scalar(db.reader, history) == before - (10 + 8) * 2
    assert scalar(db.reader, "SELECT count(*) FROM process_executions") == 2  # runs stay
    assert scalar(db.reader, "SELECT count(*) FROM history_partitions WHERE partition_name"
                  " LIKE %s", f"%_p{day}") == 0  # fmt: skip

    with psycopg.connect(db.reader, autocommit=True) as reader:
        data = check_data(reader, "ald-1")
        (drop,) = retention.drops(reader)
    assert data.violations == []
    assert drop.cut == utc_day(-39) and drop.rows == {
        "history_rollup_10s": 18, "history_rollup_1s": 36, "parameter_value_history": 36,
        "process_data_points": 16,
    }  # fmt: skip
    assert str(drop).startswith(f"samples before {utc_day(-39):%Y-%m-%d} 00:00 UTC dropped ")

    again = _ald(*args, env=env, cwd=tmp_path)
    assert again.returncode == 0 and "nothing to drop" in again.stdout


def test_a_keep_that_is_not_a_span_is_refused_by_name(tmp_path: Path) -> None:
    done = _ald("db", "retention", "--keep", "90 days", env={}, cwd=tmp_path)
    assert done.returncode == 2
    assert "keep '90 days': write a number of days or weeks, e.g. 90d or 12w" in done.stderr
