"""``ald-gui recipe import|export|list|release``: the library folder and its copy in the
database, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from ald_gui.cli import main
from ald_gui.config import paths
from ald_gui.config.models import AppConfig
from ald_gui.config.recipe_file import load_recipe, recipe_toml
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step
from ald_gui.store import recipe_store
from ald_gui.store.accounts import AccountBook
from ald_gui.store.recipe_library import RecipeLibrary, bundled_recipes
from tests.ald_process import ald, write_plant_config
from tests.fixtures.pg import scalar

NAME = "Al2O3 test"


def _recipe(cycles: int = 5, valve: str = "Valve 1") -> Recipe:
    cycle = (
        Step.of(Pulse(valve=valve, ms=20)),
        Step.of(Purge(ms=3000)),
        Step.of(Pulse(valve="Valve 2", ms=30)),
        Step.of(Purge(ms=3000)),
    )
    return Recipe(name=NAME, version=4, steps=(Step.of(Loop(count=cycles, steps=cycle)),))


def _file(tmp_path: Path, recipe: Recipe, name: str = "al2o3.toml") -> Path:
    path = tmp_path / name
    path.write_text(recipe_toml(recipe), encoding="utf-8")
    return path


@pytest.fixture
def plant(tmp_path: Path, reference_config: AppConfig, migrated_pg_dsn: str) -> Path:
    return write_plant_config(tmp_path, reference_config, migrated_pg_dsn)


ALICE_PASSWORD = "correct horse battery"


def alice(dsn: str, data: Path, config: AppConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    """The account that signs releases (an administrator), its password in $ALICE_PW."""
    book = AccountBook(dsn, paths.accounts_copy_path(data), config.accounts)
    book.create_first_administrator("alice", "Alice Example", ALICE_PASSWORD)
    monkeypatch.setenv("ALICE_PW", ALICE_PASSWORD)


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_import_adds_a_draft_to_the_folder_and_the_database_once(
    tmp_path: Path, plant: Path, migrated_pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    source = _file(tmp_path, _recipe())
    status, out, err = _run(
        capsys, "recipe", "import", source, "--config", plant, "--data-dir", data
    )
    assert status == 0, err
    assert f"as '{NAME}' version 1 (draft)" in out
    seeded = len(bundled_recipes())
    assert f"{seeded + 1} new versions, {seeded} new releases" in out
    library = RecipeLibrary.of_data_dir(data)
    assert library.load(NAME) == _recipe().model_copy(update={"version": 1})
    # Importing it again (or its export) adds nothing anywhere.
    status, out, err = _run(
        capsys, "recipe", "import", source, "--config", plant, "--data-dir", data
    )
    assert status == 0 and "already as version 1 (draft)" in out
    assert "0 new versions, 0 new releases" in out
    assert library.versions(NAME).versions == (1,)
    with psycopg.connect(migrated_pg_dsn) as conn:
        stored = recipe_store.fetch(conn, "ald-1", NAME, 1)
    assert stored == library.load(NAME)


def test_export_list_and_release(
    tmp_path: Path,
    plant: Path,
    migrated_pg_dsn: str,
    reference_config: AppConfig,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    alice(migrated_pg_dsn, data, reference_config, monkeypatch)
    _run(
        capsys,
        "recipe",
        "import",
        _file(tmp_path, _recipe(5)),
        "--config",
        plant,
        "--data-dir",
        data,
    )
    _run(
        capsys,
        "recipe",
        "import",
        _file(tmp_path, _recipe(9), "b.toml"),
        "--config",
        plant,
        "--data-dir",
        data,
    )
    exported = tmp_path / "out.toml"
    status, out, _ = _run(
        capsys, "recipe", "export", NAME, "--version", "1", "-o", exported, "--data-dir", data
    )
    assert status == 0 and "version 1 (draft)" in out
    assert load_recipe(exported) == _recipe(5).model_copy(update={"version": 1})
    status, _, err = _run(capsys, "recipe", "export", NAME, "-o", exported, "--data-dir", data)
    assert status == 1 and "exists: choose another file or add --force" in err
    assert load_recipe(exported).version == 1  # untouched
    status, out, _ = _run(capsys, "recipe", "export", NAME, "--data-dir", data)
    assert status == 0 and "version = 2" in out and "count = 9" in out

    status, out, err = _run(
        capsys,
        "recipe",
        "release",
        NAME,
        "--version",
        "2",
        "--by",
        "alice",
        "--password-env",
        "ALICE_PW",
        "--config",
        plant,
        "--data-dir",
        data,
    )
    assert status == 0, err
    assert "version 2 released by alice" in out and "0 new versions, 1 new releases" in out
    status, out, _ = _run(capsys, "recipe", "list", "--json", "--data-dir", data)
    listed = {r["name"]: r for r in json.loads(out)["recipes"]}
    assert listed[NAME] == {"name": NAME, "versions": [1, 2], "latest": 2, "released": [2]}
    status, out, _ = _run(capsys, "recipe", "list", "--data-dir", data)
    assert f"{NAME}" in out and "versions 1-2  latest 2 (released)  released: 2" in out
    assert (
        scalar(migrated_pg_dsn, "SELECT count(*) FROM recipe_releases WHERE name = %s", NAME) == 1
    )


def test_a_recipe_that_cannot_run_here_is_not_imported_and_names_the_step(
    tmp_path: Path, plant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    source = _file(tmp_path, _recipe(valve="Valve 9"))
    status, _, err = _run(capsys, "recipe", "import", source, "--config", plant, "--data-dir", data)
    assert status == 1
    assert f"{source}: steps[0].loop.steps[0].pulse.valve" in err and "Valve 9" in err
    assert "not imported" in err
    assert NAME not in [e.name for e in RecipeLibrary.of_data_dir(data).recipes()]
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\n[[steps]]\npulse = { valve = "Valve 1" }\n')
    status, _, err = _run(capsys, "recipe", "import", broken, "--config", plant, "--data-dir", data)
    assert status == 2 and f"{broken}: steps[0].pulse.ms" in err


def test_missing_names_and_versions_are_named(
    tmp_path: Path, plant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    status, _, err = _run(capsys, "recipe", "export", "ZnO", "--data-dir", data)
    assert status == 1 and "no recipe 'ZnO'" in err and "Al2O3 (TMA/H2O)" in err
    status, _, err = _run(
        capsys,
        "recipe",
        "release",
        "Al2O3 (TMA/H2O)",
        "--version",
        "7",
        "--config",
        plant,
        "--data-dir",
        data,
    )
    assert status == 1 and "has no version 7 (versions: 1)" in err


def test_without_a_database_the_folder_keeps_it_and_the_next_command_copies_it(
    tmp_path: Path,
    reference_config: AppConfig,
    migrated_pg_dsn: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    alice(migrated_pg_dsn, data, reference_config, monkeypatch)
    away = write_plant_config(
        tmp_path, reference_config, "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2"
    )
    away.write_text(
        away.read_text().replace('password_env = "ALD_GUI_DB_PASSWORD"', 'password_env = ""')
    )
    status, out, err = _run(
        capsys, "recipe", "import", _file(tmp_path, _recipe()), "--config", away, "--data-dir", data
    )
    assert status == 0, err
    assert "version 1 (draft)" in out and "the database has no copy yet" in err
    plant = write_plant_config(tmp_path, reference_config, migrated_pg_dsn)
    status, out, err = _run(
        capsys, "recipe", "release", NAME, "--version", "1", "--by", "alice",
        "--password-env", "ALICE_PW", "--config", plant, "--data-dir", data,
    )  # fmt: skip
    assert status == 0, err
    assert (
        scalar(migrated_pg_dsn, "SELECT count(*) FROM recipe_releases WHERE name = %s", NAME) == 1
    )


def test_a_database_holding_the_version_with_other_content_is_named(
    tmp_path: Path, plant: Path, migrated_pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = _recipe(77).model_copy(update={"version": 1})
    with psycopg.connect(migrated_pg_dsn) as conn:
        recipe_store.insert_version(conn, "ald-1", other)
    status, _, err = _run(
        capsys,
        "recipe",
        "import",
        _file(tmp_path, _recipe()),
        "--config",
        plant,
        "--data-dir",
        tmp_path / "data",
    )
    assert status == 1 and other.sha256 in err and "not brought up to date" in err


def test_import_with_the_embedded_database(tmp_path: Path, pg_tmp_path: Path) -> None:
    # pg_tmp_path: under root the server's account must reach its cluster.
    source = _file(tmp_path, _recipe())
    done = ald("recipe", "import", source, data_dir=pg_tmp_path / "data")
    assert done.returncode == 0, done.stderr
    seeded = len(bundled_recipes())
    assert f"{seeded + 1} new versions, {seeded} new releases" in done.stdout
    assert f"embedded database in {pg_tmp_path / 'data'}" in done.stdout
    listed = ald("recipe", "list", data_dir=pg_tmp_path / "data")
    assert f"{NAME}" in listed.stdout and "latest 1 (draft)" in listed.stdout
