"""``ald-gui db status|upgrade|init``: the schema of the database, and its roles."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli import retention_cmd
from ald_gui.cli.database import database
from ald_gui.config.load import load_config
from ald_gui.config.models import AppConfig
from ald_gui.store import migrations, roles
from ald_gui.store.credentials import CredentialsError, redact
from ald_gui.store.roles import Group

ADMIN_PASSWORD_ENV = "ALD_GUI_DB_ADMIN_PASSWORD"


def register(sub: Any) -> None:
    p = sub.add_parser("db", help="the database schema: status or upgrade")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    for name, run, text in (
        ("status", _status, "the schema version of the database against the code"),
        ("upgrade", _upgrade, "apply pending migrations"),
    ):
        c = dsub.add_parser(name, help=text)
        c.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
        c.add_argument("--data-dir", type=Path, help="where the embedded database lives")
        c.set_defaults(run=run)
    init = dsub.add_parser(
        "init",
        help="a central server: create the roles, the schema and console logins (for a DBA)",
    )
    init.add_argument(
        "--admin-dsn",
        help="an administrator's connection to the historian's database (a superuser or a "
        f"role with CREATEROLE); its password from {ADMIN_PASSWORD_ENV} or libpq's own",
    )
    init.add_argument(
        "--writer", action="append", default=[], metavar="LOGIN",
        help="create LOGIN in ald_writer (a console), password from the config's password_env",
    )  # fmt: skip
    init.add_argument(
        "--reader", action="append", default=[], metavar="LOGIN",
        help="create LOGIN in ald_reader, password from the config's reader_password_env",
    )  # fmt: skip
    init.add_argument(
        "--print-sql", action="store_true", help="print the SQL it would run, run nothing"
    )
    init.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    init.set_defaults(run=_init)
    retention_cmd.register(dsub)


def _status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with database(config, args.data_dir) as (dsn, where), psycopg.connect(dsn) as conn:
        state = migrations.status(conn)
    print(where)
    print(f"schema version {state.database_version}, code version {state.code_version}")
    if state.pending:
        print(f"pending migrations: {', '.join(map(str, state.pending))} (ald-gui db upgrade)")
    for problem in state.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 0 if state.up_to_date else 1


def _upgrade(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with (
        database(config, args.data_dir, Group.OWNER) as (dsn, where),
        psycopg.connect(dsn) as conn,
    ):
        try:
            applied = roles.upgrade(conn)
        except (migrations.SchemaError, roles.RoleError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(where)
    print(
        f"applied migrations {', '.join(map(str, applied))}"
        if applied
        else "schema already up to date"
    )
    return 0


def _init(args: argparse.Namespace) -> int:
    logins = {
        **dict.fromkeys(args.writer, Group.WRITER),
        **dict.fromkeys(args.reader, Group.READER),
    }
    if args.print_sql:
        print(roles.setup_script(logins), end="")
        return 0
    if not args.admin_dsn:
        print(
            "error: db init needs --admin-dsn (or --print-sql to review the SQL)", file=sys.stderr
        )
        return 2
    config = load_config(args.config)
    passwords = {login: _login_password(config, group) for login, group in logins.items()}
    dsn = admin_conninfo(args.admin_dsn)
    try:
        with psycopg.connect(dsn) as conn:
            applied = roles.initialise(conn, logins, passwords)
    except (psycopg.Error, roles.RoleError, migrations.SchemaError) as exc:
        if isinstance(exc, psycopg.OperationalError) and "no password supplied" in str(exc):
            print(
                f"error: db init on {redact(dsn)}: the server asks for the administrator's "
                f"password: set the environment variable {ADMIN_PASSWORD_ENV}",
                file=sys.stderr,
            )
            return 2
        print(f"error: db init on {redact(dsn)}: {exc}".strip(), file=sys.stderr)
        return 1
    print(f"roles {', '.join(Group)} ready on {redact(dsn)}")
    print(f"applied migrations {', '.join(map(str, applied))}" if applied else "schema up to date")
    for login, group in logins.items():
        print(f"login {login} is a member of {group}")
    return 0


def admin_conninfo(admin_dsn: str) -> str:
    """``admin_dsn`` with the password of ADMIN_PASSWORD_ENV; raises CredentialsError
    for a DSN that does not parse or carries a password itself."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    except psycopg.ProgrammingError as exc:
        raise CredentialsError(f"--admin-dsn is not a valid connection string: {exc}") from None
    if "password" in parts:
        raise CredentialsError(
            f"--admin-dsn contains a password: put it in the environment variable "
            f"{ADMIN_PASSWORD_ENV} instead (command lines are visible to every local user)"
        )
    password = os.environ.get(ADMIN_PASSWORD_ENV)
    extra = {} if password is None else {"password": password}
    return psycopg.conninfo.make_conninfo(admin_dsn, **extra)


def _login_password(config: AppConfig, group: Group) -> str:
    key = "password_env" if group is Group.WRITER else "reader_password_env"
    variable: str = getattr(config.database, key)
    password = os.environ.get(variable) if variable else None
    if password is None:
        raise CredentialsError(
            f"no password for the new {group} login: set the environment variable "
            f"{variable or '(database.' + key + ' is empty)'} to the password the console "
            "will use"
        )
    return password
