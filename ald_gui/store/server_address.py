"""Where an embedded server answers, and as whom: conninfo strings for its logins.

The superuser connects over the Unix socket in the server's private directory where
the OS has them (no password: the directory is 0700), else over 127.0.0.1 with the
password kept in the data directory; the embedded logins of ``roles.EMBEDDED_LOGINS``
likewise (their passwords from ``roles.embedded_password``). Nothing here starts or
stops a server (see :mod:`ald_gui.store.server`).
"""

from __future__ import annotations

import os
from pathlib import Path

from psycopg.conninfo import make_conninfo

from ald_gui.store import postmaster, roles

__all__ = ["PASSWORD_FILE", "SUPERUSER", "UNIX_SOCKETS", "login_conninfo", "running_server_dsn"]

SUPERUSER = "postgres"
PASSWORD_FILE = "ald_gui_tcp_password"  # the superuser's password, for TCP connections
UNIX_SOCKETS = os.name != "nt"


def running_server_dsn(data_dir: Path, group: roles.Group | None = None) -> str | None:
    """Conninfo of a server already serving ``data_dir`` (started by another
    EmbeddedServer, typically the console's), or None if none is ready: as the embedded
    login of ``group``, or the superuser when None. For one-shot commands (doctor, db
    status) that must use the directory without taking it over."""
    data_dir = Path(data_dir).resolve()
    info = postmaster.read_pid_file(data_dir)
    if (
        info is None
        or info.status != "ready"
        or info.port is None
        or not postmaster.process_alive(info.pid)
        or not postmaster.is_postmaster_of(info.pid, data_dir)
    ):
        return None
    if group is not None:
        return login_conninfo(data_dir, info.port, info.socket_dir, group)
    if UNIX_SOCKETS and info.socket_dir:
        return make_conninfo(
            host=info.socket_dir, port=info.port, user=SUPERUSER, dbname="postgres"
        )
    password = (data_dir / PASSWORD_FILE).read_text().strip()
    return make_conninfo(
        host="127.0.0.1", port=info.port, user=SUPERUSER, password=password, dbname="postgres"
    )


def login_conninfo(data_dir: Path, port: int, socket_dir: str, group: roles.Group) -> str:
    login = roles.EMBEDDED_LOGINS[group]
    if UNIX_SOCKETS and socket_dir:
        return make_conninfo(host=socket_dir, port=port, user=login, dbname="postgres")
    password = roles.embedded_password(data_dir, login)
    return make_conninfo(
        host="127.0.0.1", port=port, user=login, password=password, dbname="postgres"
    )
