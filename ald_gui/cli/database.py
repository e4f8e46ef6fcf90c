"""Reaching the configured database from a one-shot command (doctor, db)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ald_gui.config import paths
from ald_gui.config.models import AppConfig
from ald_gui.store.credentials import redact, resolve_dsn
from ald_gui.store.server import EmbeddedServer, running_server_dsn


@contextmanager
def database(config: AppConfig, data_dir: Path | None) -> Iterator[tuple[str, str]]:
    """``(dsn, description)`` of the configured database.

    The embedded one is used where it runs (a console owns it), or started for the
    duration of the command and stopped afterwards.
    """
    dsn = resolve_dsn(config.database)
    if dsn:
        yield dsn, f"external database {redact(dsn)}"
        return
    cluster = paths.database_dir(paths.data_dir(data_dir))
    running = running_server_dsn(cluster)
    if running:
        yield running, f"embedded database in {cluster} (running)"
        return
    with EmbeddedServer(cluster) as server:
        yield server.dsn, f"embedded database in {cluster}"
