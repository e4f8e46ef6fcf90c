"""Partitioned history (migration 0012) on Debian's PostgreSQL 15 and the embedded 18:
partitions made ahead by the console's own login through the one function it may call,
a sample no partition covers kept in the default and moved when its partition comes,
and a one-day query that reads one partition."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg import errors

from ald_gui.config.partitions import PartitionSettings
from ald_gui.store.invariants import check_data
from ald_gui.store.partitions import PartitionUpkeep, add_ahead
from tests.fixtures.pg import RolesDatabase, scalar
from tests.history_writes import SAMPLE_TABLES, Console, utc_day

PARTITIONED = (*SAMPLE_TABLES, "history_rollup_1s", "history_rollup_10s")


def _starts(conn: psycopg.Connection[Any], table: str) -> set[Any]:
    rows = conn.execute(
        "SELECT range_from FROM history_partitions WHERE table_name = %s AND NOT is_default",
        (table,),
    ).fetchall()
    return {r[0] for r in rows}


def test_the_console_login_makes_the_partitions_ahead_and_nothing_else(
    roles_db: RolesDatabase,
) -> None:
    with psycopg.connect(roles_db.writer, autocommit=True) as writer:
        for table in PARTITIONED:  # the migration made today and the next three days
            assert {utc_day(d) for d in range(4)} <= _starts(writer, table), table
        made = add_ahead(writer, PartitionSettings(period="day", ahead=6))
        assert sorted(made) == sorted(
            f"{t}_p{utc_day(d):%Y%m%d}" for t in PARTITIONED for d in (4, 5, 6)
        )
        assert add_ahead(writer, PartitionSettings(period="day", ahead=6)) == []
        with pytest.raises(errors.InvalidParameterValue, match="period hour: use day"):
            writer.execute("SELECT add_partitions_ahead('hour', 3)")
        with pytest.raises(errors.InvalidParameterValue, match="ahead 9999"):
            writer.execute("SELECT add_partitions_ahead('day', 9999)")
        # Only through the function: the login itself may not make, drop or empty one.
        part = f"parameter_value_history_p{utc_day(0):%Y%m%d}"
        for statement in (
            f"DROP TABLE {part}",
            f"TRUNCATE {part}",
            "SELECT add_history_partition('parameter_value_history', now() + interval"
            " '1 year', now() + interval '1 year 1 day')",
            "CREATE TABLE parameter_value_history_mine PARTITION OF parameter_value_history"
            " FOR VALUES FROM ('2100-01-01') TO ('2100-01-02')",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                writer.execute(statement)


def test_a_sample_no_partition_covers_waits_in_the_default_and_moves_into_its_own(
    roles_db: RolesDatabase,
) -> None:
    later = utc_day(20) + timedelta(hours=5)
    with psycopg.connect(roles_db.writer) as conn:
        console = Console(conn)
        console.run(later, later + timedelta(seconds=3), samples=6)
        conn.autocommit = True
        where = "SELECT count(*) FROM {} WHERE tableoid = '{}'::regclass"
        in_default = where.format("process_data_points", "process_data_points_default")
        assert scalar(roles_db.reader, in_default) == 12  # 6 samples of 2 tags
        add_ahead(conn, PartitionSettings(period="day", ahead=21))
    day = f"{later:%Y%m%d}"
    for table, rows in (("parameter_value_history", 12), ("process_data_points", 12),
                        ("history_rollup_1s", 6),  # 3 seconds of 2 tags
                        ("history_rollup_10s", 2)):  # in one ten seconds  # fmt: skip
        assert scalar(roles_db.reader, where.format(table, f"{table}_default")) == 0
        assert scalar(roles_db.reader, where.format(table, f"{table}_p{day}")) == rows
    with psycopg.connect(roles_db.reader, autocommit=True) as reader:
        data = check_data(reader, console.machine)
    assert data.violations == []
    assert data.checked.figures()["history_rows"] == 12


def _relations(plan: Any) -> set[str]:
    found = {plan["Relation Name"]} if "Relation Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= _relations(child)
    return found


@pytest.mark.parametrize(
    ("table", "query"),
    [
        ("parameter_value_history", "SELECT value FROM parameter_value_history"
         " WHERE parameter_id = 1 AND sampled_at >= %s AND sampled_at < %s"),
        ("process_data_points", "SELECT value FROM process_data_points WHERE run_id ="
         " gen_random_uuid() AND sampled_at >= %s AND sampled_at < %s"),
        ("history_rollup_1s", "SELECT max FROM history_rollup_1s"
         " WHERE parameter_id = 1 AND bucket >= %s AND bucket < %s"),
        ("history_rollup_10s", "SELECT max FROM history_rollup_10s"
         " WHERE parameter_id = 1 AND bucket >= %s AND bucket < %s"),
    ],
)  # fmt: skip
def test_a_one_day_query_reads_one_partition(
    roles_db: RolesDatabase, table: str, query: str
) -> None:
    with psycopg.connect(roles_db.reader, autocommit=True) as reader:
        day = utc_day(1)
        row = reader.execute(
            f"EXPLAIN (FORMAT JSON) {query}".encode(),
            (day + timedelta(hours=2), day + timedelta(hours=9)),
        ).fetchone()
    assert row is not None
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    assert _relations(plan[0]["Plan"]) == {f"{table}_p{day:%Y%m%d}"}


def test_the_upkeep_runs_at_once_then_hourly_and_a_refusal_is_tried_again_sooner(
    migrated_pg_dsn: str, pg_conn: psycopg.Connection[Any]
) -> None:
    now = [1000.0]
    upkeep = PartitionUpkeep(PartitionSettings(), clock=lambda: now[0])
    assert upkeep.due()
    with psycopg.connect(migrated_pg_dsn) as conn:
        upkeep.run(conn)
    now[0] += 3599
    assert not upkeep.due()
    now[0] += 1
    assert upkeep.due()
    upkeep.run(pg_conn)  # a database without the function: samples go to the default
    assert pg_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    now[0] += 299
    assert not upkeep.due()
    now[0] += 1
    assert upkeep.due()
