"""Recipe versions in the database (``recipes``, ``recipe_versions``, ``recipe_releases``,
migration 0005): added once, never changed, as the library folder holds them.

Adding a version is idempotent: the same name, version and content again adds nothing,
so a library can be copied into the database as often as it likes. The same name and
version with other content is refused, naming both hashes: a version number means one
recipe everywhere it is seen. Every function runs in one transaction of its own on the
connection given (which must not be inside one), and blocks for that transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ald_gui.domain.recipe import Recipe
from ald_gui.store.db import require_idle
from ald_gui.store.recipe_library import RecipeLibrary

__all__ = [
    "Copied",
    "RecipeConflict",
    "StoredVersion",
    "copy_library",
    "fetch",
    "insert_version",
    "list_versions",
    "release_version",
]


class RecipeConflict(Exception):
    """The database holds that version of the recipe with other content (or released
    with another hash); ``str()`` names both hashes."""


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One version as the database holds it; ``released_at`` None for a draft."""

    machine: str
    name: str
    version: int
    sha256: str
    author: str
    description: str
    created_at: datetime
    released_at: datetime | None
    released_by: str


def insert_version(conn: psycopg.Connection[Any], machine: str, recipe: Recipe) -> bool:
    """Add ``recipe`` (its name and version) as a version of ``machine``'s. True if it
    was added, False if the database had it already with the same content. Raises
    RecipeConflict if it has it with other content."""
    require_idle(conn, "recipe_store.insert_version")
    with conn.transaction():
        conn.execute(
            "INSERT INTO recipes (machine, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (machine, recipe.name),
        )
        added = conn.execute(
            "INSERT INTO recipe_versions (machine, name, version, sha256, canonical, author,"
            " description) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
            " RETURNING version",
            (
                machine,
                recipe.name,
                recipe.version,
                recipe.sha256,
                recipe.canonical(),
                recipe.author,
                recipe.description,
            ),
        ).fetchone()
        if added is not None:
            return True
        held = _held_sha256(conn, machine, recipe.name, recipe.version)
    if held != recipe.sha256:
        raise RecipeConflict(
            f"recipe {recipe.name!r} version {recipe.version} of {machine}: the database "
            f"holds it with SHA-256 {held}, this one has {recipe.sha256}; a version never "
            "changes: save the change as a new version"
        )
    return False


def release_version(
    conn: psycopg.Connection[Any],
    machine: str,
    name: str,
    version: int,
    sha256: str,
    by: str = "",
) -> bool:
    """Record the release of that version, whose content has ``sha256``. True if
    recorded now, False if it was released already. Raises RecipeConflict if the
    database holds that version with another hash, LookupError if it lacks it."""
    require_idle(conn, "recipe_store.release_version")
    with conn.transaction():
        held = _held_sha256(conn, machine, name, version)
        if held is None:
            raise LookupError(
                f"the database has no version {version} of recipe {name!r} of {machine}: "
                "add it first (ald-gui recipe import)"
            )
        if held != sha256:
            raise RecipeConflict(
                f"recipe {name!r} version {version} of {machine}: the database holds it "
                f"with SHA-256 {held}, the release is of {sha256}"
            )
        added = conn.execute(
            "INSERT INTO recipe_releases (machine, name, version, sha256, released_by)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING version",
            (machine, name, version, sha256, by),
        ).fetchone()
    return added is not None


_SELECT = (
    "SELECT v.machine, v.name, v.version, v.sha256, v.author, v.description, v.created_at,"
    " r.released_at, coalesce(r.released_by, '') FROM recipe_versions v"
    " LEFT JOIN recipe_releases r USING (machine, name, version)"
)


def list_versions(
    conn: psycopg.Connection[Any], machine: str, name: str | None = None
) -> list[StoredVersion]:
    """``machine``'s versions (of ``name`` only, if given), by name then version."""
    require_idle(conn, "recipe_store.list_versions")
    with conn.transaction():
        rows = conn.execute(
            _SELECT + " WHERE v.machine = %s AND (%s::text IS NULL OR v.name = %s)"
            " ORDER BY v.name, v.version",
            (machine, name, name),
        ).fetchall()
    return [StoredVersion(*row) for row in rows]


def fetch(conn: psycopg.Connection[Any], machine: str, name: str, version: int) -> Recipe | None:
    """That version as it was added, or None if the database lacks it."""
    require_idle(conn, "recipe_store.fetch")
    with conn.transaction():
        row = conn.execute(
            "SELECT canonical FROM recipe_versions WHERE machine = %s AND name = %s"
            " AND version = %s",
            (machine, name, version),
        ).fetchone()
    return None if row is None else Recipe.from_canonical(row[0])


@dataclass(frozen=True, slots=True)
class Copied:
    """What ``copy_library`` added: versions and releases the database lacked."""

    versions: int
    releases: int


def copy_library(conn: psycopg.Connection[Any], machine: str, library: RecipeLibrary) -> Copied:
    """Add every version and release of ``library`` the database lacks (a library
    saved to while the database was away catches up). Raises RecipeConflict at the
    first version the database holds with other content, LibraryError for a file of
    the library that cannot be read (after adding what came before)."""
    versions = releases = 0
    for entry in library.recipes():
        for version in entry.versions:
            recipe = library.load(entry.name, version)
            versions += insert_version(conn, machine, recipe)
            release = library.release_of(entry.name, version)
            if release is not None:
                releases += release_version(
                    conn, machine, entry.name, version, release.sha256, release.by
                )
    return Copied(versions, releases)


def _held_sha256(
    conn: psycopg.Connection[Any], machine: str, name: str, version: int
) -> str | None:
    row = conn.execute(
        "SELECT sha256 FROM recipe_versions WHERE machine = %s AND name = %s AND version = %s",
        (machine, name, version),
    ).fetchone()
    return None if row is None else str(row[0])
