"""Schema migrations, and the append-only rules the schema enforces."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ald_gui.store.migrations import (
    MigrationEditedError,
    MigrationFileError,
    MigrationLockTimeout,
    SchemaAheadError,
    load_migrations,
    status,
    upgrade,
)

_PACKAGED = Path(str(files("ald_gui.migrations")))
_SECOND = "CREATE TABLE alarm_definitions (id uuid PRIMARY KEY, name text NOT NULL);\n"
# The packaged schema's version, and the name of a migration one past it.
CODE = len(load_migrations())
NEXT = f"{CODE + 1:04d}_alarms.sql"


def _dir_with(tmp_path: Path, extra: dict[str, str]) -> Path:
    """The packaged migrations plus ``extra`` (file name -> SQL)."""
    d = tmp_path / "migrations"
    shutil.copytree(_PACKAGED, d, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    for name, text in extra.items():
        (d / name).write_text(text)
    return d


def _tables(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    conn.rollback()
    return {r[0] for r in rows}


def test_fresh_database_gets_the_whole_schema_once(pg_conn: psycopg.Connection[Any]) -> None:
    before = status(pg_conn)
    assert (before.database_version, before.code_version) == (0, CODE)
    assert before.pending == tuple(range(1, CODE + 1)) and not before.up_to_date

    assert upgrade(pg_conn) == list(range(1, CODE + 1))
    assert _tables(pg_conn) >= {
        "schema_migrations", "parameters", "process_executions", "parameter_value_history",
        "process_data_points", "plc_gaps", "write_transactions",
    }  # fmt: skip
    assert upgrade(pg_conn) == []
    after = status(pg_conn)
    assert after.up_to_date and after.database_version == CODE
    row = pg_conn.execute(
        "SELECT version, name, length(checksum) FROM schema_migrations WHERE version = 1"
    ).fetchone()
    assert row == (1, "initial", 64)


def test_older_database_is_upgraded(pg_conn: psycopg.Connection[Any], tmp_path: Path) -> None:
    upgrade(pg_conn)
    newer = _dir_with(tmp_path, {NEXT: _SECOND})
    assert status(pg_conn, newer).pending == (CODE + 1,)
    assert upgrade(pg_conn, newer) == [CODE + 1]
    assert "alarm_definitions" in _tables(pg_conn)
    assert status(pg_conn, newer).up_to_date


def test_newer_database_is_refused_naming_both_versions(
    pg_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    upgrade(pg_conn, _dir_with(tmp_path, {NEXT: _SECOND}))
    with pytest.raises(
        SchemaAheadError, match=rf"version {CODE + 1} but this code knows versions up to {CODE}"
    ):
        upgrade(pg_conn)
    seen = status(pg_conn)
    assert seen.database_version == CODE + 1 and seen.code_version == CODE
    assert len(seen.problems) == 1 and f"{CODE + 1} alarms" in seen.problems[0]


def test_edited_migration_is_refused_naming_version_and_file(
    pg_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    upgrade(pg_conn)
    edited = _dir_with(tmp_path, {})
    first = edited / "0001_initial.sql"
    first.write_text(first.read_text() + "\n-- a harmless-looking edit\n")
    with pytest.raises(MigrationEditedError, match=r"migration 1 \(0001_initial\.sql\)"):
        upgrade(pg_conn, edited)
    assert "0001_initial.sql" in status(pg_conn, edited).problems[0]


def test_line_endings_do_not_count_as_an_edit(tmp_path: Path) -> None:
    crlf = _dir_with(tmp_path, {})
    first = crlf / "0001_initial.sql"
    first.write_bytes(first.read_bytes().replace(b"\n", b"\r\n"))
    assert load_migrations(crlf)[0].checksum == load_migrations()[0].checksum


def test_failing_migration_applies_nothing(
    pg_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    broken = _dir_with(tmp_path, {f"{CODE + 1:04d}_broken.sql": _SECOND + "SELEC oops;\n"})
    with pytest.raises(psycopg.errors.SyntaxError):
        upgrade(pg_conn, broken)
    assert _tables(pg_conn) == set()  # not even 0001, nor the ledger of migrations
    assert status(pg_conn, broken).database_version == 0


@pytest.mark.parametrize(
    ("files_", "message"),
    [
        ({NEXT.replace("_", "-", 1): _SECOND}, "not named NNNN_lowercase_name.sql"),
        ({"0001_again.sql": _SECOND}, "share version 1"),
        ({f"{CODE + 2:04d}_recipes.sql": _SECOND}, rf"versions \[{CODE + 1}\] are missing"),
    ],
)
def test_malformed_migration_directory_is_refused(
    tmp_path: Path, files_: dict[str, str], message: str
) -> None:
    with pytest.raises(MigrationFileError, match=message):
        load_migrations(_dir_with(tmp_path, files_))


def test_concurrent_upgrades_apply_each_migration_once(pg_dsn: str) -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def console() -> None:
        try:
            with psycopg.connect(pg_dsn) as conn:
                start.wait(timeout=10)
                results.append(upgrade(conn))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=console, name=f"upgrade-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sorted(results) == [[], list(range(1, CODE + 1))]


def test_a_held_migration_lock_is_waited_for_a_bounded_time_and_named(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True, application_name="stuck console") as holder:
        pid = holder.execute("SELECT pg_backend_pid()").fetchone()
        holder.execute("SELECT pg_advisory_lock(%s)", (0x616C645F677569,))
        with psycopg.connect(pg_dsn) as conn:
            conn.execute("SET lock_timeout = '17s'")
            conn.commit()
            started = time.monotonic()
            with pytest.raises(MigrationLockTimeout) as refused:
                upgrade(conn, lock_wait_s=0.3)
            waited = time.monotonic() - started
            assert pid is not None and f"pid {pid[0]} (stuck console" in str(refused.value)
            assert "more than 0.3 s" in str(refused.value)
            assert 0.3 <= waited < 5.0
            assert _tables(conn) == set()  # nothing applied
            # Once the lock is free the upgrade goes through, and the session keeps its
            # own lock timeout.
            holder.execute("SELECT pg_advisory_unlock_all()")
            assert upgrade(conn, lock_wait_s=0.3) == list(range(1, CODE + 1))
            assert conn.execute("SHOW lock_timeout").fetchone() == ("17s",)


def test_upgrade_refuses_a_connection_inside_a_transaction(
    pg_conn: psycopg.Connection[Any],
) -> None:
    pg_conn.execute("SELECT 1")
    with pytest.raises(psycopg.ProgrammingError, match="outside any transaction"):
        upgrade(pg_conn)


# -- what the schema enforces ----------------------------------------------------------


@pytest.fixture
def seeded(migrated_pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A migrated database with one row in every table, autocommit."""
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as conn:
        _seed(conn)
        yield conn


def _seed(conn: psycopg.Connection[Any]) -> None:
    tx, run = uuid.uuid4(), uuid.uuid4()
    conn.execute(
        "INSERT INTO parameters (machine, key, component, name, data_type, min, max, writable,"
        " plotted, polled) VALUES ('m', 'c.n', 'c', 'n', 'float32', 0, 1, false, false, true)"
    )
    conn.execute(
        "INSERT INTO write_transactions (transaction_id, machine, history_rows, run_rows,"
        " gap_rows, first_seq, last_seq) VALUES (%s, 'm', 1, 1, 1, 1, 3)",
        (tx,),
    )
    conn.execute(
        "INSERT INTO process_executions (id, machine, operator, started_at, transaction_id)"
        " VALUES (%s, 'm', 'op', now(), %s)",
        (run, tx),
    )
    conn.execute("INSERT INTO parameter_value_history VALUES (1, now(), 1.5, %s)", (tx,))
    conn.execute("INSERT INTO process_data_points VALUES (%s, 1, now(), 1.5, %s)", (run, tx))
    conn.execute("INSERT INTO plc_gaps VALUES ('m', now(), 'timeout', %s, %s)", (run, tx))


_APPEND_ONLY = ["parameter_value_history", "process_data_points", "plc_gaps", "write_transactions"]


@pytest.mark.parametrize("table", _APPEND_ONLY)
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {} SET transaction_id = transaction_id", "DELETE FROM {}", "TRUNCATE {} CASCADE"],
)
def test_history_tables_are_append_only(
    seeded: psycopg.Connection[Any], table: str, statement: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        seeded.execute(statement.format(table).encode())


def test_even_a_statement_touching_no_row_is_refused(seeded: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        seeded.execute("DELETE FROM parameter_value_history WHERE false")


def test_parameters_and_runs_are_never_deleted(seeded: psycopg.Connection[Any]) -> None:
    for table in ("parameters", "process_executions"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            seeded.execute(f"DELETE FROM {table}".encode())
    seeded.execute("UPDATE parameters SET unit = 'K'")  # config sync may update


def test_a_run_is_ended_once_and_nothing_else_of_it_changes(
    seeded: psycopg.Connection[Any],
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only ended_at"):
        seeded.execute("UPDATE process_executions SET operator = 'someone else'")
    # An empty run, stopped within the microsecond it started, is allowed.
    seeded.execute("UPDATE process_executions SET ended_at = started_at, status = 'aborted'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="already ended"):
        seeded.execute("UPDATE process_executions SET reason = 'rewritten'")
    with pytest.raises(psycopg.errors.CheckViolation):
        seeded.execute(
            "INSERT INTO process_executions (id, machine, operator, started_at, ended_at,"
            " status, transaction_id) SELECT gen_random_uuid(), 'm', 'op', now(),"
            " now() - interval '1 s', 'completed', transaction_id FROM write_transactions"
        )
