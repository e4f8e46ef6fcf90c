"""Recipe versions in the database, on both servers a console meets: added once by the
writer, never changed by anyone, the hash checked by the database itself."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step
from ald_gui.store import recipe_store
from ald_gui.store.recipe_library import RecipeLibrary
from ald_gui.store.recipe_store import Copied, RecipeConflict
from tests.fixtures.pg import RolesDatabase, scalar

MACHINE = "ald-1"


def _recipe(cycles: int = 10, version: int = 1, name: str = "Al2O3", **extra: Any) -> Recipe:
    cycle = (Step.of(Pulse(valve="Valve 1", ms=20)), Step.of(Purge(ms=3000, flow_sccm=50)))
    return Recipe(
        name=name,
        version=version,
        steps=(Step.of(Loop(count=cycles, steps=cycle)),),
        author="jdoe",
        **extra,
    )


def test_a_version_is_added_once_and_reads_back_whole(roles_db: RolesDatabase) -> None:
    recipe = _recipe(description="TMA/H₂O, 1.1 Å per cycle")
    with psycopg.connect(roles_db.writer) as conn:
        assert recipe_store.insert_version(conn, MACHINE, recipe) is True
        assert recipe_store.insert_version(conn, MACHINE, recipe) is False
        assert recipe_store.insert_version(conn, MACHINE, _recipe(20, version=2)) is True
        # Another machine's versions are its own.
        assert recipe_store.insert_version(conn, "ald-2", _recipe(30)) is True
    with psycopg.connect(roles_db.reader) as conn:
        assert recipe_store.fetch(conn, MACHINE, "Al2O3", 1) == recipe
        assert recipe_store.fetch(conn, MACHINE, "Al2O3", 3) is None
        listed = recipe_store.list_versions(conn, MACHINE)
        row = conn.execute(
            "SELECT body, sha256 FROM recipe_versions WHERE machine = %s AND version = 1",
            (MACHINE,),
        ).fetchone()
    assert [(v.name, v.version, v.sha256, v.released_at) for v in listed] == [
        ("Al2O3", 1, recipe.sha256, None),
        ("Al2O3", 2, _recipe(20, version=2).sha256, None),
    ]
    assert listed[0].author == "jdoe" and listed[0].description == recipe.description
    assert row == (json.loads(recipe.canonical()), recipe.sha256)
    assert scalar(roles_db.admin, "SELECT count(*) FROM recipes") == 2


def test_the_same_version_with_other_content_is_refused_naming_both_hashes(
    roles_db: RolesDatabase,
) -> None:
    first, other = _recipe(10), _recipe(11)
    with psycopg.connect(roles_db.writer) as conn:
        recipe_store.insert_version(conn, MACHINE, first)
        with pytest.raises(RecipeConflict, match=first.sha256) as caught:
            recipe_store.insert_version(conn, MACHINE, other)
        assert other.sha256 in str(caught.value)
        assert recipe_store.fetch(conn, MACHINE, "Al2O3", 1) == first


def test_a_release_is_recorded_once_and_of_the_content_released(
    roles_db: RolesDatabase,
) -> None:
    recipe = _recipe()
    with psycopg.connect(roles_db.writer) as conn:
        with pytest.raises(LookupError, match="no version 1 of recipe 'Al2O3'"):
            recipe_store.release_version(conn, MACHINE, "Al2O3", 1, recipe.sha256)
        recipe_store.insert_version(conn, MACHINE, recipe)
        with pytest.raises(RecipeConflict, match=_recipe(12).sha256):
            recipe_store.release_version(conn, MACHINE, "Al2O3", 1, _recipe(12).sha256)
        assert recipe_store.release_version(conn, MACHINE, "Al2O3", 1, recipe.sha256, "alice")
        assert not recipe_store.release_version(conn, MACHINE, "Al2O3", 1, recipe.sha256, "bob")
        (listed,) = recipe_store.list_versions(conn, MACHINE, "Al2O3")
    assert listed.released_at is not None and listed.released_by == "alice"


_CHANGES = [
    "UPDATE recipes SET name = 'x'",
    "UPDATE recipe_versions SET author = 'mallory'",
    "UPDATE recipe_releases SET released_by = 'mallory'",
    "DELETE FROM recipe_releases",
    "DELETE FROM recipe_versions",
    "DELETE FROM recipes",
    "TRUNCATE recipe_releases",
    "TRUNCATE recipe_versions, recipe_releases",
]


@pytest.mark.parametrize(
    "statement", [*_CHANGES, "ALTER TABLE recipe_versions DISABLE TRIGGER ALL"]
)
def test_nobody_changes_a_version_or_a_release(roles_db: RolesDatabase, statement: str) -> None:
    recipe = _recipe()
    with psycopg.connect(roles_db.writer) as conn:
        recipe_store.insert_version(conn, MACHINE, recipe)
        recipe_store.release_version(conn, MACHINE, "Al2O3", 1, recipe.sha256)
    # The writer lacks the privilege; the superuser (who could drop the trigger, as he
    # could anything) meets the append-only trigger.
    for dsn in (roles_db.writer, roles_db.admin) if statement in _CHANGES else [roles_db.writer]:
        with psycopg.connect(dsn) as conn, pytest.raises(psycopg.Error):
            conn.execute(statement)
    with psycopg.connect(roles_db.reader) as conn:
        assert recipe_store.fetch(conn, MACHINE, "Al2O3", 1) == recipe
    assert scalar(roles_db.admin, "SELECT count(*) FROM recipe_releases") == 1


def test_the_reader_reads_and_adds_nothing(roles_db: RolesDatabase) -> None:
    with psycopg.connect(roles_db.reader) as conn:
        assert recipe_store.list_versions(conn, MACHINE) == []
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            recipe_store.insert_version(conn, MACHINE, _recipe())


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ({"sha256": "0" * 64}, "recipe_versions_check"),
        ({"name": "HfO2"}, "recipe_versions_check1"),
        ({"version": 2}, "recipe_versions_check1"),
    ],
)
def test_the_database_checks_a_version_s_hash_name_and_number(
    roles_db: RolesDatabase, change: dict[str, Any], constraint: str
) -> None:
    recipe = _recipe()
    row = {"name": "Al2O3", "version": 1, "sha256": recipe.sha256} | change
    with psycopg.connect(roles_db.writer) as conn:
        conn.execute("INSERT INTO recipes VALUES (%s, 'Al2O3'), (%s, 'HfO2')", (MACHINE, MACHINE))
        with pytest.raises(psycopg.errors.CheckViolation, match=constraint):
            conn.execute(
                "INSERT INTO recipe_versions (machine, name, version, sha256, canonical)"
                " VALUES (%s, %s, %s, %s, %s)",
                (MACHINE, row["name"], row["version"], row["sha256"], recipe.canonical()),
            )


def test_consoles_adding_the_same_version_at_once_add_it_once(
    roles_db: RolesDatabase,
) -> None:
    recipe = _recipe()
    barrier = threading.Barrier(4)
    added: list[bool] = []

    def add() -> None:
        with psycopg.connect(roles_db.writer) as conn:
            barrier.wait()
            added.append(recipe_store.insert_version(conn, MACHINE, recipe))

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(added) == [False, False, False, True]


_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_TEXT.filter(bool), description=_TEXT, author=_TEXT)
def test_the_database_hashes_any_recipe_as_the_console_does(
    roles_db: RolesDatabase, name: str, description: str, author: str
) -> None:
    recipe = Recipe(
        name=name,
        description=description,
        author=author,
        steps=(Step.of(Pulse(valve=name, ms=1)),),
    )
    with psycopg.connect(roles_db.writer) as conn:
        recipe_store.insert_version(conn, "hash-" + recipe.sha256[:12], recipe)
        assert recipe_store.fetch(conn, "hash-" + recipe.sha256[:12], name, 1) == recipe


def test_a_library_is_copied_into_the_database_once(
    roles_db: RolesDatabase, tmp_path: Path
) -> None:
    library = RecipeLibrary(tmp_path / "recipes", seeds=())
    library.save_new_version(_recipe(10))
    library.save_new_version(_recipe(20))
    library.save_new_version(_recipe(name="HfO2"))
    library.release("Al2O3", 2, by="alice")
    with psycopg.connect(roles_db.writer) as conn:
        assert recipe_store.copy_library(conn, MACHINE, library) == Copied(3, 1)
        assert recipe_store.copy_library(conn, MACHINE, library) == Copied(0, 0)
        library.save_new_version(_recipe(30))
        assert recipe_store.copy_library(conn, MACHINE, library) == Copied(1, 0)
        listed = recipe_store.list_versions(conn, MACHINE)
    assert [(v.name, v.version, v.released_by) for v in listed] == [
        ("Al2O3", 1, ""), ("Al2O3", 2, "alice"), ("Al2O3", 3, ""), ("HfO2", 1, ""),
    ]  # fmt: skip
    assert listed[1].released_at is not None and listed[0].released_at is None


def test_a_library_whose_version_differs_from_the_database_s_is_named(
    roles_db: RolesDatabase, tmp_path: Path
) -> None:
    library = RecipeLibrary(tmp_path / "recipes", seeds=())
    library.save_new_version(_recipe(10))
    with psycopg.connect(roles_db.writer) as conn:
        recipe_store.insert_version(conn, MACHINE, _recipe(99))
        with pytest.raises(RecipeConflict, match="'Al2O3' version 1 of ald-1"):
            recipe_store.copy_library(conn, MACHINE, library)
