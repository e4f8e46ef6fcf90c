"""Schema migrations: ``migrations/NNNN_name.sql``, applied in order, recorded with checksums.

``upgrade()`` brings a database up to the code's schema in one transaction under an
advisory lock, so two consoles starting at once against one server apply each migration
exactly once. A database ahead of the code, or one whose applied migration no longer
matches its file, is a named error: the code refuses to write into a schema it does not
know rather than fail at the first insert.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors

from ald_gui.store.db import require_idle

# The role that owns the schema and runs the migrations (see ald_gui.store.roles).
SCHEMA_OWNER = "ald_owner"

# Any fixed bigint unique to this application ("ald_gui" in ASCII).
_ADVISORY_LOCK_KEY = 0x616C645F677569
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_LEDGER = b"""
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


class SchemaError(Exception):
    """The database schema cannot be used by this version of the code."""


class SchemaAheadError(SchemaError):
    """The database has migrations this code does not know: it was upgraded by a newer
    version of the application."""


class MigrationEditedError(SchemaError):
    """A migration file differs from the one applied to the database."""


class SchemaBehindError(SchemaError):
    """Migrations are pending and the connected role may not apply them."""


class MigrationFileError(SchemaError):
    """The migrations directory is malformed (bad name, duplicate or missing version)."""


class MigrationLockTimeout(SchemaError):
    """Another session held the migration lock for longer than the wait allowed (a
    migration in progress elsewhere, or a session that took the lock and hangs)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    filename: str
    sql: str
    checksum: str


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database stands against the code. ``database_version`` is 0 for a
    database never migrated; ``problems`` name every refusal ``upgrade()`` would raise."""

    database_version: int
    code_version: int
    pending: tuple[int, ...]
    problems: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.problems


def load_migrations(migrations_dir: Traversable | Path | None = None) -> list[Migration]:
    """The migrations of ``migrations_dir`` (default: the packaged ``ald_gui.migrations``),
    ordered by version. Versions must run 1, 2, 3, ... without a hole: a missing file is
    an error here, not a silently skipped step. Raises MigrationFileError."""
    directory = files("ald_gui.migrations") if migrations_dir is None else migrations_dir
    found: dict[int, Migration] = {}
    for entry in directory.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationFileError(
                f"migration file {entry.name} is not named NNNN_lowercase_name.sql"
            )
        version = int(match.group(1))
        if version in found:
            raise MigrationFileError(
                f"migrations {found[version].filename} and {entry.name} share version {version}"
            )
        # Line endings normalised: a checkout on Windows must not look "edited".
        sql = entry.read_bytes().decode("utf-8").replace("\r\n", "\n")
        checksum = hashlib.sha256(sql.encode("utf-8")).hexdigest()
        found[version] = Migration(version, match.group(2), entry.name, sql, checksum)
    expected = list(range(1, len(found) + 1))
    if sorted(found) != expected:
        missing = sorted(set(range(1, max(found, default=0) + 1)) - set(found))
        raise MigrationFileError(f"migration versions {missing} are missing in {directory}")
    return [found[v] for v in expected]


def upgrade(
    conn: psycopg.Connection[Any],
    migrations_dir: Traversable | Path | None = None,
    *,
    lock_wait_s: float = 30.0,
) -> list[int]:
    """Apply the pending migrations in order, all in one transaction, and return their
    versions ([] when up to date). Waits up to ``lock_wait_s`` while another session
    holds the migration lock (another process migrating the same database), then raises
    MigrationLockTimeout naming the holder. Raises SchemaAheadError,
    MigrationEditedError, MigrationFileError, SchemaBehindError (pending, and the role
    is neither a superuser nor a member of SCHEMA_OWNER), or the database error of a
    failing migration (then nothing is applied). With nothing pending it needs only
    SELECT on schema_migrations, so the console's writer can call it to check the
    schema."""
    migrations = load_migrations(migrations_dir)
    require_idle(conn, "a schema upgrade")
    with conn.transaction():
        _take_migration_lock(conn, lock_wait_s)
        if not _has_ledger(conn):
            # Only then: CREATE ... IF NOT EXISTS still needs CREATE on the schema.
            conn.execute(_CREATE_LEDGER)
        applied = _applied(conn)
        problems = _problems(migrations, applied)
        if problems:
            raise problems[0]
        pending = [m.version for m in migrations if m.version not in applied]
        if pending:
            _require_migrator(conn, max(applied, default=0), pending)
        done = []
        for m in migrations:
            if m.version in applied:
                continue
            conn.execute(m.sql.encode("utf-8"))
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (m.version, m.name, m.checksum),
            )
            done.append(m.version)
    return done


def status(
    conn: psycopg.Connection[Any], migrations_dir: Traversable | Path | None = None
) -> SchemaStatus:
    """Compare the database with the code without changing either. Raises
    MigrationFileError for a malformed migrations directory."""
    migrations = load_migrations(migrations_dir)
    require_idle(conn, "a schema status check")
    with conn.transaction():
        applied = _applied(conn) if _has_ledger(conn) else {}
    return SchemaStatus(
        database_version=max(applied, default=0),
        code_version=len(migrations),
        pending=tuple(m.version for m in migrations if m.version not in applied),
        problems=tuple(str(p) for p in _problems(migrations, applied)),
    )


def _take_migration_lock(conn: psycopg.Connection[Any], wait_s: float) -> None:
    """Take the transaction's advisory lock, waiting at most ``wait_s`` for it."""
    row = conn.execute("SHOW lock_timeout").fetchone()
    session_timeout = row[0] if row else "0"
    conn.execute(
        "SELECT set_config('lock_timeout', %s, true)", (f"{max(1, round(wait_s * 1000))}ms",)
    )
    try:
        # A savepoint, so that the transaction survives a timeout long enough to name
        # the holder; a lock taken in it passes to the transaction when it is released.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_KEY,))
    except (errors.LockNotAvailable, errors.QueryCanceled) as exc:
        raise MigrationLockTimeout(
            f"the schema migration lock is held by {_lock_holder(conn)} for more than "
            f"{wait_s:g} s: another console may be migrating this database (then try again "
            "once it is done), or that session hangs (end it with pg_terminate_backend)"
        ) from exc
    # Migrations themselves run under the caller's own lock timeout.
    conn.execute("SELECT set_config('lock_timeout', %s, true)", (session_timeout,))


def _lock_holder(conn: psycopg.Connection[Any]) -> str:
    """Who holds the migration lock, in words: "pid 4242 (ald-gui historian, idle in
    transaction since 12 s)"; "another session" if it is gone meanwhile."""
    row = conn.execute(
        "SELECT a.pid, a.application_name, a.state,"
        " extract(epoch FROM now() - coalesce(a.xact_start, a.backend_start))::int"
        " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.database = ("
        "   SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
        (_ADVISORY_LOCK_KEY >> 32, _ADVISORY_LOCK_KEY & 0xFFFFFFFF),
    ).fetchone()
    if row is None:
        return "another session"
    pid, application, state, seconds = row
    return f"pid {pid} ({application or 'no application name'}, {state} for {seconds} s)"


def _has_ledger(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    return row is not None and bool(row[0])


def _require_migrator(conn: psycopg.Connection[Any], at: int, pending: list[int]) -> None:
    """Refuse by name, before any statement fails half-way with "permission denied"."""
    row = conn.execute(
        "SELECT current_user, rolsuper OR EXISTS (SELECT FROM pg_roles o WHERE o.rolname = %s"
        " AND pg_has_role(current_user, o.oid, 'USAGE')) FROM pg_roles"
        " WHERE rolname = current_user",
        (SCHEMA_OWNER,),
    ).fetchone()
    if row is None or row[1]:
        return
    raise SchemaBehindError(
        f"the database schema is at version {at} and this code needs "
        f"{', '.join(map(str, pending))} too, but the role {row[0]} may not migrate it "
        f"(only {SCHEMA_OWNER} may): have a DBA run `ald-gui db init --admin-dsn ...`, "
        "which applies the migrations as the owner"
    )


def _applied(conn: psycopg.Connection[Any]) -> dict[int, tuple[str, str]]:
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
    return {version: (name, checksum) for version, name, checksum in rows}


def _problems(
    migrations: Iterable[Migration], applied: dict[int, tuple[str, str]]
) -> list[SchemaError]:
    known = {m.version: m for m in migrations}
    code_version = max(known, default=0)
    problems: list[SchemaError] = []
    unknown = sorted(v for v in applied if v not in known)
    if unknown:
        problems.append(
            SchemaAheadError(
                f"the database schema is at version {max(applied)} but this code knows "
                f"versions up to {code_version} (unknown: "
                f"{', '.join(f'{v} {applied[v][0]}' for v in unknown)}): "
                "it was upgraded by a newer ald-gui; upgrade this installation"
            )
        )
    for version, (name, checksum) in sorted(applied.items()):
        m = known.get(version)
        if m is not None and m.checksum != checksum:
            problems.append(
                MigrationEditedError(
                    f"migration {version} ({m.filename}) was changed after it was applied "
                    f"to this database as {name!r} (checksum {checksum[:12]}, file "
                    f"{m.checksum[:12]}): add a new migration instead of editing an old one"
                )
            )
    return problems
