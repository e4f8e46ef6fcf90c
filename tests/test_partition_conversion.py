"""Migration 0012 (and 0013, 0015) converting a filled, unpartitioned database on Debian's
PostgreSQL 15: a real engine records the simulator (samples, a run) into a database
of the current schema; the same rows are copied into a database at the schema before
partitioning (0011); that one is then upgraded, and must hold exactly the same rows,
doctor clean, with the rollups back-filled equal to those the writer kept itself."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.engine.engine import Engine
from ald_gui.store import migrations, roles
from ald_gui.store.invariants import check_data
from tests.acting import TESTER
from tests.fixtures.pg import RolesDatabase, Server, scalar
from tests.recording import settle

BEFORE_PARTITIONS = 11
# Every row of a sample table, in one string: equal fingerprints, equal rows.
_FINGERPRINT = "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} t"
_ROLLED = "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} t"


def _record(config: AppConfig, dsn: str, data_dir: Path, qtbot: QtBot) -> uuid.UUID:
    """Idle samples, then a run of a few dozen, all committed."""
    engine = Engine(config, data_dir=data_dir, dsn=dsn)
    engine.act_as(TESTER)
    engine.open()
    try:
        with qtbot.waitSignal(engine.run_changed, timeout=5000) as started:
            engine.start_run("alice", "before partitioning")
        run_id: uuid.UUID = started.args[0].run.id
        count = "SELECT count(*) FROM process_data_points WHERE run_id = %s"
        settle(qtbot, lambda: scalar(dsn, count, run_id) >= 200, 20, "run rows")
        with qtbot.waitSignal(engine.run_changed, timeout=5000):
            engine.stop_run("done")
        ended = "SELECT count(*) FROM process_executions WHERE id = %s AND ended_at IS NOT NULL"
        settle(qtbot, lambda: scalar(dsn, ended, run_id) == 1, 20, "the run's end")
    finally:
        engine.shutdown()
    return run_id


def _tables_in_key_order(conn: psycopg.Connection[Any]) -> list[str]:
    """The tables of ``public`` (partitions left out), each after those it refers to."""
    rows = conn.execute(
        "SELECT c.relname, coalesce(array_agg(DISTINCT r.relname)"
        " FILTER (WHERE r.relname IS NOT NULL AND r.oid <> c.oid), '{}')"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'f'"
        " LEFT JOIN pg_class r ON r.oid = k.confrelid"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " GROUP BY c.relname"
    ).fetchall()
    after = {name: set(refs) for name, refs in rows}
    ordered: list[str] = []
    while after:
        ready = sorted(t for t, refs in after.items() if refs <= set(ordered))
        ordered += ready
        for t in ready:
            del after[t]
    return ordered


def _copy_rows(source: str, target: str) -> None:
    """Every row of every table ``target`` has too, but the migrations' own ledger."""
    with psycopg.connect(source) as src, psycopg.connect(target) as dst:
        # As a restore does: the rows are a copy, the guards of their first insert
        # (the audit chain's head, say) are not asked again.
        dst.execute("SET session_replication_role = replica")
        have = set(_tables_in_key_order(dst))
        for table in _tables_in_key_order(src):
            if table not in have or table == "schema_migrations":
                continue
            name = sql.Identifier(table)
            out = sql.SQL("COPY (SELECT * FROM {}) TO STDOUT (FORMAT BINARY)").format(name)
            into = sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(name)
            with src.cursor().copy(out) as reading, dst.cursor().copy(into) as writing:
                for chunk in reading:
                    writing.write(chunk)
        dst.commit()


@pytest.fixture
def unpartitioned_db(debian_15: Server, tmp_path: Path) -> Iterator[str]:
    """The superuser's conninfo of a database set up at schema 0011, as before 0012."""
    name = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(debian_15.admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(debian_15.admin_dsn, dbname=name)
    older = tmp_path / "migrations"
    older.mkdir()
    for m in migrations.load_migrations()[:BEFORE_PARTITIONS]:
        (older / m.filename).write_text(m.sql, encoding="utf-8")
    try:
        with psycopg.connect(dsn) as conn:
            with conn.transaction():
                for s in roles.setup_statements():
                    conn.execute(s.encode())
                conn.execute(b"SET ROLE ald_owner")
            assert migrations.upgrade(conn, older)[-1] == BEFORE_PARTITIONS
            conn.execute(b"RESET ROLE")
            conn.commit()
        yield dsn
    finally:
        shutil.rmtree(older)
        with psycopg.connect(debian_15.admin_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_a_filled_database_is_converted_without_losing_or_doubling_a_row(
    roles_db_15: RolesDatabase,
    unpartitioned_db: str,
    sim_config: AppConfig,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    config = sim_config.model_copy(update={"poll": PollSettings(interval_s=0.02)})
    run_id = _record(config, roles_db_15.writer, tmp_path / "data", qtbot)
    _copy_rows(roles_db_15.admin, unpartitioned_db)
    with psycopg.connect(unpartitioned_db) as conn:
        assert scalar(unpartitioned_db, "SELECT to_regclass('history_partitions') IS NULL")
        assert roles.upgrade(conn) == list(
            range(BEFORE_PARTITIONS + 1, len(migrations.load_migrations()) + 1)
        )

    for table in ("parameter_value_history", "process_data_points", "write_transactions",
                  "process_executions"):  # fmt: skip
        query = _FINGERPRINT.format(table)
        with psycopg.connect(roles_db_15.admin) as a, psycopg.connect(unpartitioned_db) as b:
            assert b.execute(query).fetchone() == a.execute(query).fetchone(), table
    assert scalar(unpartitioned_db, "SELECT count(*) FROM process_data_points WHERE run_id = %s",
                  run_id) >= 200  # fmt: skip
    assert scalar(unpartitioned_db, "SELECT count(*) FROM parameter_value_history_default") == 0
    # Back-filled (0013 from the rows, 0015 from the seconds) = kept by the writer.
    for table in ("history_rollup_1s", "history_rollup_10s", "history_rollup_1m"):
        with psycopg.connect(roles_db_15.admin) as a, psycopg.connect(unpartitioned_db) as b:
            assert (
                b.execute(_ROLLED.format(table)).fetchone()
                == a.execute(_ROLLED.format(table)).fetchone()
            ), table
    with psycopg.connect(unpartitioned_db, autocommit=True) as conn:
        data = check_data(conn, config.database.machine)
    assert data.violations == []
    assert data.checked.figures()["runs"] == 1
