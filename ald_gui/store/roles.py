"""Database roles: who may change the schema, who records, who reads.

Three NOLOGIN group roles; login roles are members of one of them:

- ``ald_owner`` owns every table and runs the migrations, nothing else.
- ``ald_writer`` records: INSERT on the data tables, the ledger and the runs, the end of
  a running run, the tag sync (privileges in ``migrations/0002_roles.sql``).
- ``ald_reader`` reads: doctor, history, exports.

No login owns a table, so no console can ALTER, DROP, TRUNCATE or disable the
append-only triggers. The setup is SQL statements held here once: ``setup_script()``
prints them for a DBA to review and ``initialise()`` executes the same statements, so
the two cannot drift (a test keeps the README's copy equal, too).

Passwords never travel in SQL text: ``set_password`` sends a SCRAM verifier computed
on the client, so neither the server log nor ``pg_stat_statements`` sees a password.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ald_gui.store import migrations

__all__ = [
    "EMBEDDED_LOGINS",
    "Group",
    "RoleError",
    "embedded_password",
    "initialise",
    "login_statements",
    "prepare_embedded",
    "require_membership",
    "set_password",
    "setup_script",
    "setup_statements",
    "upgrade",
]


class Group(StrEnum):
    """A group role of the historian."""

    OWNER = migrations.SCHEMA_OWNER
    WRITER = "ald_writer"
    READER = "ald_reader"


log = logging.getLogger(__name__)


class RoleError(Exception):
    """The connected login lacks the group role it needs, or a login name is unusable."""


# The embedded server's own logins: the console records as one, doctor reads as the other.
EMBEDDED_LOGINS = {Group.WRITER: "ald_console", Group.READER: "ald_console_reader"}

_LOGIN_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# The tables of migration 0001, made before roles existed: a database from then is owned
# by whoever migrated it, and ald_owner adopts them (ownership moves their indexes and
# identity sequences along).
_OLDER_TABLES = (
    "schema_migrations", "parameters", "write_transactions", "process_executions",
    "parameter_value_history", "process_data_points", "plc_gaps",
)  # fmt: skip
_OLDER_FUNCTIONS = ("refuse_change_of_record()", "refuse_rewrite_of_run()")


def _create_role(name: str, options: str) -> str:
    # A DO block so that it is idempotent and safe when two consoles set up at once
    # (the loser of a concurrent CREATE ROLE sees a unique violation, not duplicate_object).
    return (
        f"DO $$ BEGIN\n    CREATE ROLE {name} {options};\n"
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;\nEND $$"
    )


def setup_statements() -> list[str]:
    """The administrator's part, in order, for the database connected to: the group
    roles (cluster-wide), the owner's right to create in schema ``public``, and the
    adoption of tables made before roles existed. Needs a superuser, or CREATEROLE and
    ownership of those older tables."""
    adopt_tables = ", ".join(f"'{t}'" for t in _OLDER_TABLES)
    adopt_functions = ", ".join(f"'{f}'" for f in _OLDER_FUNCTIONS)
    return [
        *(_create_role(g, "NOLOGIN") for g in Group),
        # Since PostgreSQL 15 nobody but the database owner may create in public; a
        # database made by an older server may still allow everyone.
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE, CREATE ON SCHEMA public TO {Group.OWNER}",
        f"GRANT USAGE ON SCHEMA public TO {Group.WRITER}, {Group.READER}",
        "DO $$ DECLARE t text; BEGIN\n"
        "    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public'\n"
        f"        AND tablename IN ({adopt_tables})\n"
        f"        AND tableowner <> '{Group.OWNER}' LOOP\n"
        f"        EXECUTE format('ALTER TABLE public.%I OWNER TO {Group.OWNER}', t);\n"
        "    END LOOP;\n"
        "    FOR t IN SELECT p.oid::regprocedure::text FROM pg_proc p\n"
        "        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'\n"
        f"        AND p.oid::regprocedure::text IN ({adopt_functions})\n"
        f"        AND pg_get_userbyid(p.proowner) <> '{Group.OWNER}' LOOP\n"
        f"        EXECUTE format('ALTER FUNCTION public.%s OWNER TO {Group.OWNER}', t);\n"
        "    END LOOP;\nEND $$",
    ]


def login_statements(login: str, group: Group) -> list[str]:
    """Create the login role ``login`` if missing and make it a member of ``group``.
    Raises RoleError for a name that is not a plain lower-case SQL identifier."""
    _check_login_name(login)
    if group is Group.OWNER:
        raise RoleError(f"login {login}: consoles log in as writers or readers, not as owner")
    return [_create_role(login, "LOGIN"), f"GRANT {group} TO {login}"]


def setup_script(logins: Mapping[str, Group] | None = None) -> str:
    """The whole setup as one SQL script for a DBA to review: what ``initialise()`` runs."""
    lines = [
        "-- ald-gui db init: run by a superuser (or a role with CREATEROLE) connected to",
        "-- the historian's database. Every statement can run again safely.",
        "-- The group roles, the schema's privileges, and tables made before roles",
        f"-- existed adopted by {Group.OWNER}:",
        *(f"{s};" for s in setup_statements()),
        "-- An administrator who is not a superuser becomes a member of the owner:",
        f"--   GRANT {Group.OWNER} TO CURRENT_USER;",
    ]
    if logins:
        lines.append("-- One login per console; its password is set as a SCRAM verifier.")
        for login, group in logins.items():
            lines += [f"{s};" for s in login_statements(login, group)]
            lines.append(f"ALTER ROLE {login} PASSWORD 'SCRAM-SHA-256$...';")
    lines += [
        "-- The schema, as its owner: the migrations in migrations/NNNN_*.sql, in order,",
        "-- in one transaction, each recorded with its checksum in schema_migrations.",
        f"SET ROLE {Group.OWNER};",
        "--   \\i migrations/0001_initial.sql, migrations/0002_roles.sql, ...",
        "RESET ROLE;",
    ]
    return "\n".join(lines) + "\n"


def initialise(
    conn: psycopg.Connection[Any],
    logins: Mapping[str, Group] | None = None,
    passwords: Mapping[str, str] | None = None,
) -> list[int]:
    """Run ``setup_script()`` on ``conn`` (an administrator's connection, outside any
    transaction): the roles and privileges, the ``logins`` with those of their
    ``passwords`` given (one transaction), then the migrations as ``ald_owner``
    (another). Returns the migration versions applied. Idempotent. Raises psycopg
    errors (e.g. InsufficientPrivilege for an administrator who is not one), RoleError,
    migrations.SchemaError."""
    with conn.transaction():
        for s in setup_statements():
            conn.execute(s.encode())
        if not _is_superuser(conn):
            # A CREATEROLE administrator must be a member of the owner to act as it.
            conn.execute(f"GRANT {Group.OWNER} TO CURRENT_USER".encode())
        # Logins before the schema: a login does not depend on it, and a console whose
        # migrations are refused (a newer schema) still connects and says why.
        for login, group in (logins or {}).items():
            for s in login_statements(login, group):
                conn.execute(s.encode())
        for login, password in (passwords or {}).items():
            set_password(conn, login, password)
    return _migrate_as_owner(conn)


def upgrade(conn: psycopg.Connection[Any]) -> list[int]:
    """``ald-gui db upgrade``: the pending migrations, applied as ``ald_owner`` so that it
    owns what they create. A superuser runs the whole ``initialise()`` (the owner may
    need its privileges on a database set up before roles); a member of ald_owner
    migrates as it; anyone else is refused by name (migrations.SchemaBehindError) if
    anything is pending. Returns the versions applied."""
    if _is_superuser(conn):
        return initialise(conn)
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s"
        " AND pg_has_role(current_user, oid, 'USAGE'))",
        (str(Group.OWNER),),
    ).fetchone()
    conn.rollback()
    if row is not None and row[0]:
        return _migrate_as_owner(conn)
    return migrations.upgrade(conn)


def prepare_embedded(superuser_dsn: str, data_dir: Path) -> None:
    """Set up the embedded cluster's ``postgres`` database at each start: the roles, the
    EMBEDDED_LOGINS with their passwords (made once, kept in 0600 files in ``data_dir``,
    used over TCP; the Unix socket is private to the server's account), the schema. A
    schema this code refuses (a newer one) is logged, not raised: the console's writer
    reports it by name and keeps spooling. Raises psycopg errors otherwise."""
    passwords = {login: _password(data_dir, login) for login in EMBEDDED_LOGINS.values()}
    logins = {login: group for group, login in EMBEDDED_LOGINS.items()}
    with psycopg.connect(superuser_dsn) as conn:
        try:
            applied = initialise(conn, logins, passwords)
        except migrations.SchemaError as exc:
            log.warning("embedded database %s: schema not upgraded: %s", data_dir, exc)
            return
    if applied:
        log.info("embedded database %s: applied migrations %s", data_dir, applied)


def embedded_password(data_dir: Path, login: str) -> str:
    """The password of the embedded ``login``, from its file in ``data_dir``. Raises
    RoleError if the file is missing (the cluster was never set up by this code)."""
    try:
        return (data_dir / _password_file_name(login)).read_text().strip()
    except FileNotFoundError:
        raise RoleError(
            f"{data_dir} has no password for the login {login}: the embedded server sets "
            "it up when it starts; start the console (or ald-gui db upgrade) once"
        ) from None


def _password(data_dir: Path, login: str) -> str:
    path = data_dir / _password_file_name(login)
    if path.exists():
        return path.read_text().strip()
    # Written whole under another name, then linked into place: a crash never leaves an
    # empty password file, and of two processes racing the first one's password wins.
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(24))
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(partial, path)
    except FileExistsError:
        pass
    finally:
        partial.unlink()
    return path.read_text().strip()


def _password_file_name(login: str) -> str:
    return f"ald_gui_{login}_password"


def set_password(conn: psycopg.Connection[Any], login: str, password: str) -> None:
    """Set ``login``'s password; only its SCRAM-SHA-256 verifier reaches the server."""
    _check_login_name(login)
    verifier = conn.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256")
    conn.execute(
        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(login), sql.Literal(verifier.decode())
        )
    )


def require_membership(conn: psycopg.Connection[Any], group: Group) -> None:
    """Raise RoleError, naming the login, the group and the grant that is missing, unless
    the connected login is a member of ``group`` (or a superuser). Runs one SELECT."""
    row = conn.execute(
        "SELECT current_user, r.rolsuper, EXISTS (SELECT FROM pg_roles g WHERE g.rolname = %s),"
        " EXISTS (SELECT FROM pg_roles g WHERE g.rolname = %s"
        " AND pg_has_role(current_user, g.oid, 'USAGE'))"
        " FROM pg_roles r WHERE r.rolname = current_user",
        (str(group), str(group)),
    ).fetchone()
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
        conn.rollback()
    assert row is not None
    login, superuser, group_exists, member = row
    if superuser or member:
        return
    if not group_exists:
        raise RoleError(
            f"the database has no role {group}: a DBA sets the roles up with "
            "`ald-gui db init --admin-dsn ...` (see the README, Central server)"
        )
    raise RoleError(
        f"the database login {login} is not a member of {group}, so it may not "
        f"{'record' if group is Group.WRITER else 'read the history'}: a DBA grants it "
        f"with `GRANT {group} TO {login};`, or configure a login that is a member"
    )


def _migrate_as_owner(conn: psycopg.Connection[Any]) -> list[int]:
    with conn.transaction():
        conn.execute(f"SET ROLE {Group.OWNER}".encode())
    try:
        return migrations.upgrade(conn)
    finally:
        with conn.transaction():
            conn.execute(b"RESET ROLE")


def _is_superuser(conn: psycopg.Connection[Any]) -> bool:
    with conn.transaction():
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


def _check_login_name(login: str) -> None:
    if not _LOGIN_NAME.match(login):
        raise RoleError(
            f"login name {login!r}: use lower-case letters, digits and _ (not starting with "
            "a digit, at most 63 characters)"
        )
