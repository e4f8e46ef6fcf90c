"""The connection string of an external database, with its password filled in.

The password never lives in the configuration file: it comes from the environment
variable named in the config, or from the OS keyring when the optional ``keyring``
package is installed. It is never logged: anything shown goes through ``redact``.
"""

from __future__ import annotations

import os

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ald_gui.config.models import DatabaseSettings


class CredentialsError(Exception):
    """The configured database cannot be reached as described (bad DSN)."""


def _keyring_password(service: str, user: str) -> str | None:
    try:
        import keyring
    except ImportError:
        return None
    password: str | None = keyring.get_password(service, user)
    return password


def resolve_dsn(settings: DatabaseSettings) -> str:
    """The libpq conninfo to use, or "" for the embedded server (no DSN configured)."""
    if not settings.dsn:
        return ""
    try:
        parts = conninfo_to_dict(settings.dsn)
    except Exception as exc:  # psycopg raises ProgrammingError for a malformed DSN
        raise CredentialsError(f"database.dsn is not a valid connection string: {exc}") from None
    if "password" in parts:
        raise CredentialsError(
            "database.dsn contains a password: put it in the environment variable "
            f"{settings.password_env} or the OS keyring instead"
        )
    extra: dict[str, str] = {}
    password = os.environ.get(settings.password_env)
    if password is None and settings.keyring_service:
        password = _keyring_password(settings.keyring_service, str(parts.get("user", "")))
    if password is not None:
        extra["password"] = password
    if settings.sslmode:
        extra["sslmode"] = settings.sslmode
    if settings.sslrootcert:
        extra["sslrootcert"] = settings.sslrootcert
    return make_conninfo(settings.dsn, **extra)


def redact(dsn: str) -> str:
    """``dsn`` with any password replaced, safe for logs and messages."""
    try:
        parts = conninfo_to_dict(dsn)
    except Exception:
        return "<unparseable connection string>"
    if "password" in parts:
        parts["password"] = "***"
    return make_conninfo("", **{k: str(v) for k, v in parts.items()})
