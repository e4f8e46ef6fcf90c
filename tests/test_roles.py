"""Database roles, on both servers a console meets (embedded 18, Debian's 15): the writer
adds rows and ends running runs and nothing else, the reader only reads, and a login
without its group is refused by name before anything is recorded."""

from __future__ import annotations

import shutil
import stat
import uuid
from importlib.resources import files
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ald_gui.domain.stream import RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.store import roles
from ald_gui.store.health import WriterEvent, WriterEventKind
from ald_gui.store.migrations import SchemaBehindError, load_migrations, upgrade
from ald_gui.store.roles import EMBEDDED_LOGINS, Group
from ald_gui.store.server import EmbeddedServer
from ald_gui.store.server_address import running_server_dsn
from ald_gui.store.spool import Spool
from tests.acting import TESTER
from tests.fixtures.pg import RolesDatabase, scalar
from tests.test_migrations import _SECOND, NEXT, _dir_with
from tests.test_writer import MACHINE, Stream, running
from tests.waiting import wait_until

EVERY_VERSION = [m.version for m in load_migrations()]
HISTORY = (
    "parameter_value_history", "process_data_points", "write_transactions", "plc_gaps",
    "run_steps",
)  # fmt: skip
ALL_TABLES = (*HISTORY, "process_executions", "parameters", "schema_migrations")


def _record_one_run(admin: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A ledger row, an ended run, a running run, a history row, a run point and a gap,
    written by the superuser (what the writer then may not touch)."""
    tx, ended, live = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(admin) as conn:
        conn.execute(
            "INSERT INTO write_transactions (transaction_id, machine, history_rows, run_rows,"
            " gap_rows, first_seq, last_seq) VALUES (%s, 'm', 1, 1, 1, 1, 1)",
            (tx,),
        )
        conn.execute(
            "INSERT INTO process_executions (id, machine, operator, started_at, ended_at,"
            " status, transaction_id) VALUES (%s, 'm', 'jdoe', now(), now(), 'completed', %s),"
            " (%s, 'm', 'jdoe', now(), NULL, 'running', %s)",
            (ended, tx, live, tx),
        )
        conn.execute("INSERT INTO parameter_value_history VALUES (1, now(), 1.0, %s)", (tx,))
        conn.execute("INSERT INTO process_data_points VALUES (%s, 1, now(), 1.0, %s)", (live, tx))
        conn.execute("INSERT INTO plc_gaps VALUES ('m', now(), 'timeout', %s, %s)", (live, tx))
    return ended, live


_FORBIDDEN = [
    *(f"UPDATE {t} SET transaction_id = transaction_id" for t in HISTORY),
    *(f"DELETE FROM {t}" for t in (*HISTORY, "process_executions", "parameters")),
    *(f"TRUNCATE {t}" for t in (*HISTORY, "process_executions", "parameters")),
    *(f"ALTER TABLE {t} DISABLE TRIGGER ALL" for t in (*HISTORY, "process_executions")),
    *(f"DROP TABLE {t}" for t in ALL_TABLES),
    *(f"CREATE INDEX ON {t} (transaction_id)" for t in HISTORY),
    *(
        f"CREATE TRIGGER sneak BEFORE INSERT ON {t} FOR EACH ROW"
        " EXECUTE FUNCTION refuse_change_of_record()"
        for t in HISTORY
    ),
    "CREATE TABLE process_data_points_copy (LIKE process_data_points)",
    "DROP FUNCTION refuse_rewrite_of_run() CASCADE",
    "UPDATE process_executions SET operator = 'mallory'",
    "UPDATE process_executions SET recipe_sha256 = '', recipe_version = 1",
    "UPDATE process_executions SET started_at = started_at - interval '1 hour'",
    "UPDATE parameters SET key = 'other'",
    "UPDATE schema_migrations SET checksum = ''",
    "INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'x', 'x')",
]


def test_the_writer_cannot_change_or_unprotect_history(roles_db: RolesDatabase) -> None:
    _record_one_run(roles_db.admin)
    allowed = []
    with psycopg.connect(roles_db.writer) as conn:
        for statement in _FORBIDDEN:
            try:
                conn.execute(statement)
                allowed.append(statement)
            except psycopg.errors.InsufficientPrivilege:
                pass
            conn.rollback()
    assert allowed == []
    assert scalar(roles_db.admin, "SELECT count(*) FROM parameter_value_history") == 1
    assert scalar(roles_db.admin, "SELECT count(*) FROM pg_trigger WHERE tgenabled = 'D'") == 0


def test_the_writer_ends_a_running_run_once_and_never_an_ended_one(
    roles_db: RolesDatabase,
) -> None:
    ended, live = _record_one_run(roles_db.admin)
    end = "UPDATE process_executions SET ended_at = now(), status = %s, reason = 'x' WHERE id = %s"
    with psycopg.connect(roles_db.writer, autocommit=True) as conn:
        assert conn.execute(end, ("aborted", live)).rowcount == 1
        for run in (live, ended):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="already ended"):
                conn.execute(end, ("completed", run))
    statuses = scalar(
        roles_db.admin,
        "SELECT count(*) FROM process_executions WHERE (id, status) IN ((%s, 'aborted'),"
        " (%s, 'completed'))",
        live,
        ended,
    )
    assert statuses == 2


def test_the_reader_reads_and_cannot_insert(roles_db: RolesDatabase) -> None:
    _record_one_run(roles_db.admin)
    counts = {t: scalar(roles_db.admin, f"SELECT count(*) FROM {t}") for t in ALL_TABLES}
    inserted = []
    with psycopg.connect(roles_db.reader) as conn:
        for table in ALL_TABLES:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (counts[table],)
            try:
                conn.execute(f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM {table}")
                inserted.append(table)
            except psycopg.errors.InsufficientPrivilege:
                pass
            conn.rollback()
    assert inserted == []
    assert {t: scalar(roles_db.admin, f"SELECT count(*) FROM {t}") for t in ALL_TABLES} == counts


def test_the_console_records_as_the_writer(roles_db: RolesDatabase, tmp_path: Path) -> None:
    s = Stream()
    items = [s.start(), *s.batches(5), s.gap(), *s.batches(3), s.end()]
    with Spool(tmp_path / "spool.sqlite3") as spool, running(roles_db.writer, spool) as writer:
        writer.submit(items)
        wait_until(lambda: writer.health().spool_depth == 0, 20, "the stream to be committed")
    admin = roles_db.admin
    assert scalar(admin, "SELECT count(*) FROM parameter_value_history") == 8 * 5
    assert scalar(admin, "SELECT count(*) FROM process_data_points") == 8 * 5
    assert scalar(admin, "SELECT count(*) FROM plc_gaps") == 1
    assert (
        scalar(
            admin, "SELECT count(*) FROM process_executions WHERE status = %s", RunStatus.COMPLETED
        )
        == 1
    )


def test_a_login_without_the_writer_group_is_refused_by_name_and_loses_nothing(
    roles_db: RolesDatabase, tmp_path: Path
) -> None:
    events: list[WriterEvent] = []
    s = Stream()
    items = [s.start(), *s.batches(4)]
    with Spool(tmp_path / "spool.sqlite3") as spool:
        with running(roles_db.stranger, spool, on_event=events.append) as writer:
            writer.submit(items)
            wait_until(
                lambda: any(e.kind is WriterEventKind.SCHEMA_REFUSED for e in events),
                20,
                "the writer to refuse the login",
            )
            assert writer.health().spool_depth == len(items)
        refusal = next(e for e in events if e.kind is WriterEventKind.SCHEMA_REFUSED)
        assert "ald_test_nobody is not a member of ald_writer" in refusal.message
        assert "GRANT ald_writer TO ald_test_nobody" in refusal.message
        assert spool.depth() == len(items)
    assert scalar(roles_db.admin, "SELECT count(*) FROM write_transactions") == 0
    assert (
        scalar(roles_db.admin, "SELECT count(*) FROM parameters WHERE machine = %s", MACHINE) == 0
    )


def test_the_writer_may_not_migrate_and_says_who_may(
    roles_db: RolesDatabase, tmp_path: Path
) -> None:
    newer = _dir_with(tmp_path, {NEXT: _SECOND})
    with psycopg.connect(roles_db.writer) as conn:
        assert upgrade(conn) == []  # up to date: a check the writer may make
        with pytest.raises(SchemaBehindError, match="ald_test_writer may not migrate"):
            upgrade(conn, newer)


def test_the_embedded_server_records_and_reads_with_its_own_logins(
    private_pg_server: Any,
) -> None:
    server: EmbeddedServer = private_pg_server()
    for group, login in EMBEDDED_LOGINS.items():
        with psycopg.connect(server.login_dsn(group)) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (login,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("ALTER TABLE parameter_value_history DISABLE TRIGGER append_only")
        password_file = server.data_dir / f"ald_gui_{login}_password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert running_server_dsn(server.data_dir, Group.READER) == server.login_dsn(Group.READER)
    with psycopg.connect(server.dsn) as conn:
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    assert owners == [("ald_owner",)]


def test_setup_of_a_database_made_before_roles_adopts_its_tables(
    pg_dsn: str, tmp_path: Path
) -> None:
    before_roles = tmp_path / "migrations"
    before_roles.mkdir()
    shutil.copy(Path(str(files("ald_gui.migrations"))) / "0001_initial.sql", before_roles)
    with psycopg.connect(pg_dsn) as conn:
        upgrade(conn, before_roles)  # tables owned by the superuser, as before 0002
        roles.initialise(conn)
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    assert owners == [("ald_owner",)]


def test_db_upgrade_by_a_superuser_leaves_every_table_to_the_owner(empty_db: str) -> None:
    with psycopg.connect(empty_db) as conn:
        assert roles.upgrade(conn) == EVERY_VERSION
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    assert owners == [("ald_owner",)]


def test_the_engine_records_with_the_embedded_writer_login(
    sim_config: Any, pg_tmp_path: Path
) -> None:
    engine = Engine(sim_config, data_dir=pg_tmp_path / "data")  # no DSN: the embedded server
    engine.act_as(TESTER)
    engine.open_database()
    try:
        with psycopg.connect(engine.dsn) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("ald_console",)
    finally:
        assert engine.shutdown()
