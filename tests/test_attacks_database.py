"""Attacks on a real console's record with the credentials it keeps on disk: logged in
as its writer (``ald_console``) nobody can rewrite or unprotect what was recorded,
widen its own rights or make objects of its own; as its reader, nobody can write at
all. The console records on meanwhile, undisturbed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.attack_target import READER, WRITER, Target
from tests.waiting import wait_until

HISTORY = (
    "parameter_value_history", "process_data_points", "write_transactions", "plc_gaps",
    "run_steps", "audit_entries",
)  # fmt: skip
TABLES = (
    *HISTORY, "process_executions", "parameters", "schema_migrations", "machine_leases",
    "audit_chain_heads",
)  # fmt: skip


@pytest.fixture
def target(pg_tmp_path: Path) -> Iterator[Target]:
    with Target(pg_tmp_path / "ald-gui") as running:
        yield running


def _refused(dsn: str, statements: list[str]) -> dict[str, str]:
    """Each statement run on its own (autocommit, as an attacker would): those that
    did not fail for want of privilege, with what happened."""
    through = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            try:
                conn.execute(statement)
                through[statement] = "ran"
            except psycopg.errors.InsufficientPrivilege:
                pass
            except psycopg.Error as exc:  # refused, but not as a privilege: say which
                through[statement] = f"{type(exc).__name__}: {exc}"
    return through


def _state(t: Target, ended: str) -> dict[str, Any]:
    """What an attack would change: the ended run, the lease's holder, the triggers,
    who owns what, and what the logins are members of."""
    with psycopg.connect(t.login(READER)) as conn:

        def rows(query: str, *args: object) -> list[tuple[Any, ...]]:
            return conn.execute(query, args).fetchall()

        return {
            "run": rows(
                "SELECT operator, status, started_at, ended_at, reason FROM process_executions"
                " WHERE id = %s",
                ended,
            ),
            "lease": rows("SELECT console, epoch, pid FROM machine_leases"),
            "triggers": rows(
                "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger"
                " WHERE NOT tgisinternal ORDER BY 1, 2"
            ),
            "owners": rows(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = relnamespace WHERE nspname = 'public'"
            ),
            "functions": rows(
                "SELECT p.oid::regprocedure::text, pg_get_userbyid(proowner) FROM pg_proc p"
                " JOIN pg_namespace n ON n.oid = pronamespace WHERE nspname = 'public'"
                " ORDER BY 1"
            ),
            "schemas": rows("SELECT nspname FROM pg_namespace ORDER BY 1"),
            "members": rows(
                "SELECT roleid::regrole::text, member::regrole::text FROM pg_auth_members"
                " WHERE member::regrole::text IN (%s, %s) ORDER BY 1, 2",
                WRITER,
                READER,
            ),
            "grants": rows(
                "SELECT relname, relacl::text, (SELECT array_agg(attname || attacl::text"
                " ORDER BY attname) FROM pg_attribute WHERE attrelid = c.oid AND attacl"
                " IS NOT NULL) FROM pg_class c JOIN pg_namespace n ON n.oid = relnamespace"
                " WHERE nspname = 'public' AND relkind = 'r' ORDER BY 1"
            ),
            "rights": rows(
                "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication,"
                " rolbypassrls FROM pg_roles WHERE rolname IN (%s, %s) ORDER BY 1",
                WRITER,
                READER,
            ),
        }


def _record_two_runs(t: Target) -> tuple[str, str]:
    """An ended run and a running one, both in the database: (ended id, running id)."""
    ended = t.ask("POST", "/runs/start", {"operator": "alice"})["run"]["id"]
    t.ask("POST", "/runs/stop?reason=done")
    running = t.ask("POST", "/runs/start", {"operator": "bob"})["run"]["id"]
    wait_until(
        lambda: (
            t.count(f"process_executions WHERE id IN ('{ended}', '{running}')") == 2
            and t.count(f"process_executions WHERE id = '{ended}' AND status = 'completed'") == 1
        ),
        20,
        "both runs in the database",
    )
    return ended, running


def test_the_consoles_writer_login_cannot_rewrite_unprotect_or_widen_anything(
    target: Target,
) -> None:
    ended, running = _record_two_runs(target)
    before = _state(target, ended)
    history_before = target.count("parameter_value_history")
    attacks = [
        *(f"UPDATE {t} SET transaction_id = transaction_id" for t in HISTORY),
        *(f"DELETE FROM {t}" for t in TABLES),
        *(f"TRUNCATE {t}" for t in TABLES),
        *(f"ALTER TABLE {t} DISABLE TRIGGER ALL" for t in TABLES),
        *(f"ALTER TABLE {t} DISABLE TRIGGER USER" for t in TABLES),
        *(f"ALTER TABLE {t} OWNER TO {WRITER}" for t in TABLES),
        *(f"DROP TABLE {t} CASCADE" for t in TABLES),
        f"UPDATE process_executions SET status = 'aborted', reason = 'x' WHERE id = '{ended}'",
        f"UPDATE process_executions SET ended_at = ended_at + interval '1 h' WHERE id = '{ended}'",
        f"UPDATE process_executions SET operator = 'mallory' WHERE id = '{running}'",
        f"UPDATE process_executions SET started_at = now() WHERE id = '{running}'",
        "UPDATE parameters SET machine = 'other', key = 'other'",
        "UPDATE schema_migrations SET checksum = ''",
        "DROP TRIGGER end_only ON process_executions",
        "ALTER FUNCTION refuse_rewrite_of_run() OWNER TO ald_console",
        "CREATE OR REPLACE FUNCTION refuse_change_of_record() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
        "CREATE FUNCTION public.sneak() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE TABLE public.sneak (x int)",
        "CREATE VIEW public.sneak AS SELECT 1",
        "CREATE SCHEMA sneak",
        "CREATE EXTENSION IF NOT EXISTS dblink",
        "SET ROLE ald_owner",
        "SET SESSION AUTHORIZATION postgres",
        f"GRANT ald_owner TO {WRITER}",
        f"GRANT ald_writer TO {READER}",
        f"ALTER ROLE {WRITER} SUPERUSER",
        f"ALTER ROLE {WRITER} CREATEROLE",
        f"ALTER ROLE {WRITER} BYPASSRLS",
        "CREATE ROLE sneak LOGIN SUPERUSER",
        "GRANT UPDATE ON process_executions TO ald_writer",
        "COPY process_executions TO PROGRAM 'cat'",
        "COPY process_executions FROM '/etc/hostname'",
        "SELECT pg_read_file('postgresql.conf')",
        "SELECT pg_ls_dir('.')",
        "SELECT lo_import('/etc/hostname')",
        "ALTER SYSTEM SET fsync = off",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename <> current_user",
        "SET session_replication_role = replica",
    ]
    through = _refused(target.login(WRITER), attacks)
    # One says yes and does nothing: a GRANT of what one may not grant is a warning
    # ("no privileges were granted"); the state below shows that nothing changed.
    assert through == {"GRANT UPDATE ON process_executions TO ald_writer": "ran"}
    assert _state(target, ended) == before
    # The console recorded on, and still answers.
    wait_until(
        lambda: target.count("parameter_value_history") > history_before,
        20,
        "the console to go on recording",
    )
    assert target.ask("GET", "/status")["run"]["id"] == running


def test_the_consoles_reader_login_cannot_write_anything(target: Target) -> None:
    ended, running = _record_two_runs(target)
    before = _state(target, ended)
    attacks = [
        *(f"INSERT INTO {t} OVERRIDING SYSTEM VALUE SELECT * FROM {t} LIMIT 1" for t in TABLES),
        *(f"DELETE FROM {t}" for t in TABLES),
        "UPDATE process_executions SET ended_at = now(), status = 'aborted'"
        f" WHERE id = '{running}'",
        "UPDATE machine_leases SET expires_at = now(), epoch = epoch + 1",
        "UPDATE parameters SET description = 'x'",
        "CREATE TABLE public.sneak (x int)",
        "SET ROLE ald_writer",
        f"GRANT ald_writer TO {READER}",
    ]
    assert _refused(target.login(READER), attacks) == {}
    assert _state(target, ended) == before
    assert target.ask("GET", "/status")["run"]["id"] == running
