"""Reaching the configured database from a one-shot command (doctor, db)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ald_gui.config import paths
from ald_gui.config.models import AppConfig
from ald_gui.store.credentials import redact, resolve_dsn, resolve_reader_dsn
from ald_gui.store.roles import Group
from ald_gui.store.server import EmbeddedServer
from ald_gui.store.server_address import running_server_dsn


@contextmanager
def database(
    config: AppConfig, data_dir: Path | None, group: Group = Group.READER
) -> Iterator[tuple[str, str]]:
    """``(dsn, description)`` of the configured database, logged in as a member of
    ``group``: READER (doctor, status), WRITER, or OWNER (migrations: the embedded
    server's superuser; for an external server the configured login, which only a DBA's
    ``db init`` can replace).

    The embedded one is used where it runs (a console owns it), or started for the
    duration of the command and stopped afterwards.
    """
    if config.database.dsn:
        dsn = (
            resolve_reader_dsn(config.database)
            if group is Group.READER
            else resolve_dsn(config.database)
        )
        yield dsn, f"external database {redact(dsn)}"
        return
    cluster = paths.database_dir(paths.data_dir(data_dir))
    login = None if group is Group.OWNER else group
    running = running_server_dsn(cluster, login)
    if running:
        yield running, f"embedded database in {cluster} (running)"
        return
    with EmbeddedServer(cluster) as server:
        yield (
            server.dsn if login is None else server.login_dsn(login),
            (f"embedded database in {cluster}"),
        )
