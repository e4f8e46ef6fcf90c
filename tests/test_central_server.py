"""A central server as a DBA runs it: ``ald-gui db init`` on Debian's PostgreSQL 15 (and
the embedded 18), consoles that log in with passwords from the environment, doctor as the
reader, and passwords that never reach a log line or a message."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ald_gui.cli.db_cmd import ADMIN_PASSWORD_ENV
from ald_gui.config.load import ConfigError, parse_config
from ald_gui.store import roles
from ald_gui.store.health import WriterEvent, WriterEventKind
from ald_gui.store.migrations import load_migrations
from ald_gui.store.spool import Spool
from tests.fixtures.debian_pg import DebianCluster
from tests.fixtures.pg import PASSWORD, READER_LOGIN, WRITER_LOGIN, RolesDatabase, scalar
from tests.test_writer import Stream, running
from tests.waiting import wait_until

EVERY_VERSION = [m.version for m in load_migrations()]
_README = Path(__file__).resolve().parents[1] / "README.md"
WRITER_ENV, READER_ENV = "ALD_GUI_DB_PASSWORD", "ALD_GUI_DB_READER_PASSWORD"


def _ald(*args: str | Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "ALD_GUI_DB"))}
    return subprocess.run(
        [sys.executable, "-m", "ald_gui", *map(str, args), "--data-dir", str(cwd / "data")]
        if args[0] == "doctor"
        else [sys.executable, "-m", "ald_gui", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        cwd=cwd,
    )


def _console_config(tmp_path: Path, dsn: str, **database: str) -> Path:
    """A configuration whose [database] is ``dsn`` without its password, plus ``database``."""
    parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if k != "password"}
    lines = [
        f'dsn = "{make_conninfo("", **parts)}"',
        *(f'{k} = "{v}"' for k, v in database.items()),
    ]
    path = tmp_path / "plant.toml"
    path.write_text("[database]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _without_password(dsn: str) -> tuple[str, str]:
    parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    password = parts.pop("password", "")
    return make_conninfo("", **parts), password


def test_db_init_makes_roles_schema_and_logins_that_record_and_read(
    empty_db: str, tmp_path: Path
) -> None:
    admin, admin_password = _without_password(empty_db)
    suffix = uuid.uuid4().hex[:8]
    console, viewer = f"console_{suffix}", f"viewer_{suffix}"
    passwords = {WRITER_ENV: f"w-{uuid.uuid4()}", READER_ENV: f"r-{uuid.uuid4()}"}
    env = {ADMIN_PASSWORD_ENV: admin_password, **passwords}
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    init = ["db", "init", "--admin-dsn", admin, "--writer", console, "--reader", viewer]
    first = _ald(*init, "--config", config, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"applied migrations {', '.join(map(str, EVERY_VERSION))}" in first.stdout
    assert f"login {console} is a member of ald_writer" in first.stdout
    again = _ald(*init, "--config", config, env=env, cwd=tmp_path)
    assert again.returncode == 0 and "schema up to date" in again.stdout

    dbname = str(conninfo_to_dict(empty_db)["dbname"])
    port = _port_of(empty_db)
    writer = make_conninfo(
        host="127.0.0.1", port=port, dbname=dbname, user=console, password=passwords[WRITER_ENV]
    )
    s = Stream()
    with Spool(tmp_path / "spool.sqlite3") as spool, running(writer, spool) as w:
        w.submit([s.start(), *s.batches(3), s.end()])
        wait_until(lambda: w.health().spool_depth == 0, 20, "the run to be committed")
    assert scalar(empty_db, "SELECT count(*) FROM parameter_value_history") == 15

    # doctor reads as the reader: a wrong writer password does not stop it.
    plant = _console_config(tmp_path, writer, reader_user=viewer, machine="ald-test")
    doctor = _ald(
        "doctor", "--json", "--data", "--config", plant,
        env={WRITER_ENV: "not the writer's", READER_ENV: passwords[READER_ENV]}, cwd=tmp_path,
    )  # fmt: skip
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"user={viewer}" in doctor.stdout
    for text in (first.stdout, first.stderr, doctor.stdout, doctor.stderr):
        assert not any(p in text for p in (*passwords.values(), admin_password) if p)


def _port_of(dsn: str) -> int:
    return int(conninfo_to_dict(dsn).get("port", 5432))


@pytest.mark.parametrize("wrong", [False, True])
def test_a_password_never_reaches_a_log_line_or_a_message(
    debian_server: DebianCluster,
    roles_db_15: RolesDatabase,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    wrong: bool,
) -> None:
    password = f"wrong-{uuid.uuid4()}" if wrong else PASSWORD
    plant = _console_config(tmp_path, roles_db_15.writer, reader_user=READER_LOGIN)
    env = {WRITER_ENV: password, READER_ENV: password}
    doctor = _ald("doctor", "--data", "--config", plant, env=env, cwd=tmp_path)
    assert doctor.returncode == (1 if wrong else 0), doctor.stdout + doctor.stderr
    if wrong:
        assert f'password authentication failed for user "{READER_LOGIN}"' in doctor.stdout

    caplog.set_level(logging.DEBUG)
    events: list[WriterEvent] = []
    dsn = make_conninfo(roles_db_15.writer, password=password)
    expected = WriterEventKind.DATABASE_LOST if wrong else WriterEventKind.DATABASE_CONNECTED
    with (
        Spool(tmp_path / "spool.sqlite3") as spool,
        running(dsn, spool, on_event=events.append) as w,
    ):
        wait_until(lambda: any(e.kind is expected for e in events), 20, f"{expected}")
        last_error = w.health().last_error
    seen = [doctor.stdout, doctor.stderr, caplog.text, last_error, *(e.message for e in events)]
    assert not [text for text in seen if password in text]


def test_sslmode_is_passed_on_and_a_server_without_ssl_is_named(
    roles_db_15: RolesDatabase, tmp_path: Path
) -> None:
    plant = _console_config(tmp_path, roles_db_15.writer, sslmode="require")
    done = _ald("doctor", "--data", "--config", plant, env={WRITER_ENV: PASSWORD}, cwd=tmp_path)
    assert done.returncode == 1
    assert "server does not support SSL, but SSL was required" in done.stdout


def test_a_password_missing_from_the_environment_is_named(
    roles_db_15: RolesDatabase, tmp_path: Path
) -> None:
    plant = _console_config(
        tmp_path, roles_db_15.writer, reader_user=READER_LOGIN, password_env="PLANT_DB_SECRET"
    )
    done = _ald("doctor", "--data", "--config", plant, env={}, cwd=tmp_path)
    assert done.returncode == 2
    assert f"no database password for the login {READER_LOGIN}" in done.stderr
    assert "ALD_GUI_DB_READER_PASSWORD" in done.stderr
    headless = _ald(
        "headless", "--config", plant, "--data-dir", tmp_path / "data", "--control-port", "-1",
        env={}, cwd=tmp_path,
    )  # fmt: skip
    assert headless.returncode == 2
    assert f"no database password for the login {WRITER_LOGIN}" in headless.stderr
    assert "PLANT_DB_SECRET" in headless.stderr
    assert not (tmp_path / "data" / "spool.sqlite3").exists()


def test_the_readme_shows_the_sql_db_init_runs(tmp_path: Path) -> None:
    script = roles.setup_script()
    shown = _ald("db", "init", "--print-sql", env={}, cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout == script
    blocks = re.findall(r"```sql\n(.*?)```", _README.read_text(encoding="utf-8"), re.S)
    assert script in blocks, "README's Central server SQL differs from roles.setup_script()"


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ({"sslmode": "requir"}, "database.sslmode: Input should be"),
        ({"password_env": "1PASS"}, "database.password_env: '1PASS' is not an environment"),
        ({"reader_user": "viewer"}, "reader_user ('viewer') is set but dsn is empty"),
    ],
)
def test_bad_database_settings_are_named(database: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config({"database": database}, "plant.toml")


def test_a_dba_with_createrole_but_not_superuser_can_set_up_a_database_it_owns(
    debian_15: Any, debian_server: DebianCluster
) -> None:
    # debian_15: the group roles exist already, made by a superuser, as on a server where
    # another database was set up first.
    suffix = uuid.uuid4().hex[:8]
    dba, console, dbname = f"dba_{suffix}", f"console_{suffix}", f"ald_{suffix}"
    with psycopg.connect(debian_server.admin_dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {dba} LOGIN CREATEROLE")
        roles.set_password(admin, dba, PASSWORD)
        admin.execute(f"CREATE DATABASE {dbname} OWNER {dba}")
    try:
        with psycopg.connect(debian_server.login_dsn(dba, PASSWORD, dbname)) as conn:
            applied = roles.initialise(conn, {console: roles.Group.WRITER}, {console: PASSWORD})
        assert applied == EVERY_VERSION
        with psycopg.connect(debian_server.login_dsn(console, PASSWORD, dbname)) as conn:
            assert conn.execute("SELECT count(*) FROM parameters").fetchone() == (0,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("ALTER TABLE plc_gaps DISABLE TRIGGER ALL")
    finally:
        with psycopg.connect(debian_server.admin_dsn(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {dbname} WITH (FORCE)")


def test_db_init_names_what_is_missing_and_changes_nothing(
    roles_db_15: RolesDatabase, tmp_path: Path
) -> None:
    admin, _ = _without_password(roles_db_15.admin)
    no_admin_password = _ald("db", "init", "--admin-dsn", admin, env={}, cwd=tmp_path)
    assert no_admin_password.returncode == 2
    assert f"set the environment variable {ADMIN_PASSWORD_ENV}" in no_admin_password.stderr
    in_the_dsn = _ald("db", "init", "--admin-dsn", roles_db_15.admin, env={}, cwd=tmp_path)
    assert in_the_dsn.returncode == 2 and "--admin-dsn contains a password" in in_the_dsn.stderr
    login = f"console_{uuid.uuid4().hex[:8]}"
    no_login_password = _ald(
        "db", "init", "--admin-dsn", admin, "--writer", login,
        env={ADMIN_PASSWORD_ENV: PASSWORD}, cwd=tmp_path,
    )  # fmt: skip
    assert no_login_password.returncode == 2
    assert f"set the environment variable {WRITER_ENV}" in no_login_password.stderr
    exists = f"SELECT count(*) FROM pg_roles WHERE rolname = '{login}'"
    assert scalar(roles_db_15.admin, exists) == 0
    for done in (no_admin_password, in_the_dsn, no_login_password):
        assert PASSWORD not in done.stdout + done.stderr and "Traceback" not in done.stderr
