"""The connection strings of an external database, with their passwords filled in.

The console records with the login in ``database.dsn`` (a member of ``ald_writer``);
doctor and exports read with ``database.reader_user`` (a member of ``ald_reader``) on the
same server. A password never lives in the configuration file: it comes from the
environment variable named in the config, or from the OS keyring when the optional
``keyring`` package is installed. It is never logged: anything shown goes through
``redact``, and no message here quotes one.
"""

from __future__ import annotations

import os

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ald_gui.config.models import DatabaseSettings


class CredentialsError(Exception):
    """The configured database cannot be reached as described (bad DSN, no password)."""


def _keyring_password(service: str, user: str) -> str | None:
    try:
        import keyring
    except ImportError:
        return None
    password: str | None = keyring.get_password(service, user)
    return password


def resolve_dsn(settings: DatabaseSettings) -> str:
    """The writer's libpq conninfo, or "" for the embedded server (no DSN configured).
    Raises CredentialsError for a malformed DSN, a password in it, or a password that
    is needed (TCP) and neither in its environment variable nor in the keyring."""
    if not settings.dsn:
        return ""
    return _conninfo(settings, {}, settings.password_env, "database.password_env")


def resolve_reader_dsn(settings: DatabaseSettings) -> str:
    """The reader's conninfo: ``database.reader_user`` on the writer's server, with its
    own password; the writer's conninfo when no reader is configured; "" for the
    embedded server. Raises CredentialsError like ``resolve_dsn``."""
    if not settings.dsn or not settings.reader_user:
        return resolve_dsn(settings)
    return _conninfo(
        settings,
        {"user": settings.reader_user},
        settings.reader_password_env,
        "database.reader_password_env",
    )


def _conninfo(
    settings: DatabaseSettings, override: dict[str, str], password_env: str, key: str
) -> str:
    try:
        parts = conninfo_to_dict(settings.dsn)
    except Exception as exc:  # psycopg raises ProgrammingError for a malformed DSN
        raise CredentialsError(f"database.dsn is not a valid connection string: {exc}") from None
    if "password" in parts:
        raise CredentialsError(
            "database.dsn contains a password: put it in the environment variable "
            f"{settings.password_env or 'named by database.password_env'} or the OS keyring "
            "instead"
        )
    parts.update(override)
    user = str(parts.get("user", ""))
    extra: dict[str, str] = dict(override)
    password = os.environ.get(password_env) if password_env else None
    if password is None and settings.keyring_service:
        password = _keyring_password(settings.keyring_service, user)
    if password is not None:
        extra["password"] = password
    elif password_env and _over_tcp(str(parts.get("host") or parts.get("hostaddr") or "")):
        # Without it libpq would fail at every reconnection with a message that does not
        # say where the password was expected.
        where = f" or the keyring service {settings.keyring_service!r}" * bool(
            settings.keyring_service
        )
        raise CredentialsError(
            f"no database password for the login {user or '(the OS user)'}: set the "
            f'environment variable {password_env}{where} (or set {key} = "" for a login '
            "that needs none)"
        )
    if settings.sslmode:
        extra["sslmode"] = settings.sslmode
    if settings.sslrootcert:
        extra["sslrootcert"] = settings.sslrootcert
    return make_conninfo(settings.dsn, **extra)


def _over_tcp(host: str) -> bool:
    # A host that is a directory is a Unix socket, where peer authentication is usual;
    # no host at all means libpq's default socket too.
    return bool(host) and not any(h.startswith("/") or h.startswith("@") for h in host.split(","))


def redact(dsn: str) -> str:
    """``dsn`` with any password replaced, safe for logs and messages."""
    try:
        parts = conninfo_to_dict(dsn)
    except Exception:
        return "<unparseable connection string>"
    if "password" in parts:
        parts["password"] = "***"
    return make_conninfo("", **{k: str(v) for k, v in parts.items()})
