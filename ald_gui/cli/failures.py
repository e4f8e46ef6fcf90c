"""What the command line says when an operation fails for a reason the user can fix.

One place for every subcommand (and the window): a bad configuration, recipe file or
credentials (exit 2, nothing was started), a database that cannot be reached or refuses, an
embedded server that does not start (exit 1). Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

from ald_gui.config.load import ConfigError
from ald_gui.config.recipe_file import RecipeError
from ald_gui.store.credentials import CredentialsError
from ald_gui.store.server import ServerError

BAD_USAGE = 2
FAILED = 1


def explain(exc: BaseException) -> tuple[int, str] | None:
    """``(exit status, message)`` for a failure the user can act on, else None."""
    import psycopg  # loaded already by whatever raised a psycopg error

    if isinstance(exc, ConfigError | CredentialsError | RecipeError):
        return BAD_USAGE, str(exc)
    if isinstance(exc, psycopg.OperationalError):
        return FAILED, (
            f"error: cannot reach the database: {_one_line(exc)}\n"
            "Check that the server runs and the [database] settings of the configuration "
            "(dsn, password_env)."
        )
    if isinstance(exc, psycopg.Error):
        return FAILED, f"error: the database refused: {_one_line(exc)}"
    if isinstance(exc, ServerError):
        return FAILED, f"error: the embedded database: {exc}"
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
