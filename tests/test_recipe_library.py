"""The recipe library folder: immutable versions, releases, seeding, names any file
system can hold, and consoles saving at the same moment."""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.config import paths
from ald_gui.config.recipe_file import recipe_toml
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step
from ald_gui.store.recipe_library import (
    BUNDLED_AUTHOR,
    LibraryError,
    RecipeLibrary,
    VersionStatus,
    bundled_recipes,
)


def _recipe(name: str = "Al2O3", cycles: int = 10, version: int = 1) -> Recipe:
    cycle = (
        Step.of(Pulse(valve="Valve 1", ms=20)),
        Step.of(Purge(ms=3000)),
        Step.of(Pulse(valve="Valve 2", ms=30)),
        Step.of(Purge(ms=3000, flow_sccm=50)),
    )
    return Recipe(
        name=name,
        version=version,
        author="jdoe",
        steps=(Step.of(Loop(count=cycles, steps=cycle)),),
    )


@pytest.fixture
def library(tmp_path: Path) -> RecipeLibrary:
    return RecipeLibrary(tmp_path / "recipes", seeds=())


def _seed_file(folder: Path, recipe: Recipe) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{recipe.name}.toml"
    path.write_text(recipe_toml(recipe))
    return path


def test_first_use_makes_a_private_folder_with_the_seeds_released(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    _seed_file(seeds, _recipe("Al2O3", version=7))
    _seed_file(seeds, _recipe("HfO2"))
    library = RecipeLibrary(tmp_path / "recipes", seeds=sorted(seeds.iterdir()))
    assert stat.S_IMODE((tmp_path / "recipes").stat().st_mode) == 0o700
    assert [(e.name, e.versions, e.released) for e in library.recipes()] == [
        ("Al2O3", (1,), (1,)),
        ("HfO2", (1,), (1,)),
    ]
    assert library.load("Al2O3") == _recipe("Al2O3", version=1)
    release = library.release_of("Al2O3", 1)
    assert release is not None and release.by == BUNDLED_AUTHOR
    # Later uses do not seed again, whatever the seeds say now.
    _seed_file(seeds, _recipe("ZnO"))
    again = RecipeLibrary(tmp_path / "recipes", seeds=sorted(seeds.iterdir()))
    assert [e.name for e in again.recipes()] == ["Al2O3", "HfO2"]
    # And nothing but the library's folder was made beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipes", "seeds"]


def test_a_bad_seed_leaves_no_library_so_the_next_use_seeds_again(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "broken.toml").write_text('name = "x"\nsteps = [{ pulse = { ms = 5 } }]\n')
    with pytest.raises(LibraryError, match=r"broken\.toml"):
        RecipeLibrary(tmp_path / "recipes", seeds=[seeds / "broken.toml"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seeds"]


def test_the_bundled_demo_recipes_seed_a_data_directory(tmp_path: Path) -> None:
    library = RecipeLibrary.of_data_dir(tmp_path)
    assert library.folder == paths.recipes_dir(tmp_path)
    names = [e.name for e in library.recipes()]
    assert len(names) == len(bundled_recipes())
    for entry in library.recipes():
        assert entry.released == (1,)
        assert library.load_released(entry.name).version == 1


def test_versions_count_up_and_each_file_is_written_once_read_only(
    library: RecipeLibrary,
) -> None:
    saved = [library.save_new_version(_recipe(cycles=n, version=9)) for n in (10, 20, 30)]
    assert [r.version for r in saved] == [1, 2, 3]
    entry = library.versions("Al2O3")
    assert (entry.versions, entry.latest, entry.released) == ((1, 2, 3), 3, ())
    assert library.load("Al2O3") == saved[2]
    assert library.load("Al2O3", 1) == saved[0]
    path = library.path("Al2O3", 2)
    assert path.name == "v2.toml" and path.parent.parent == library.folder
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    # Only the version files: no partial file is left behind.
    assert sorted(p.name for p in path.parent.iterdir()) == ["v1.toml", "v2.toml", "v3.toml"]


def test_a_version_taken_meanwhile_is_not_overwritten(library: RecipeLibrary) -> None:
    library.save_new_version(_recipe())
    taken = library.path("Al2O3", 2)
    taken.write_text(recipe_toml(_recipe(cycles=99, version=2)))
    before = taken.read_bytes()
    saved = library.save_new_version(_recipe(cycles=5))
    assert saved.version == 3
    assert taken.read_bytes() == before


def test_consoles_saving_at_once_get_distinct_versions(library: RecipeLibrary) -> None:
    barrier = threading.Barrier(4)
    saved: list[Recipe] = []
    lock = threading.Lock()

    def save(worker: int) -> None:
        barrier.wait()
        for n in range(5):
            recipe = library.save_new_version(_recipe(cycles=100 * worker + n + 1))
            with lock:
                saved.append(recipe)

    threads = [threading.Thread(target=save, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.version for r in saved) == list(range(1, 21))
    for recipe in saved:
        assert library.load("Al2O3", recipe.version) == recipe


def test_a_missing_recipe_or_version_is_named(library: RecipeLibrary) -> None:
    with pytest.raises(LibraryError, match=r"no recipe 'Al2O3' .*none yet.*recipe import"):
        library.load("Al2O3")
    library.save_new_version(_recipe())
    library.save_new_version(_recipe("HfO2"))
    with pytest.raises(LibraryError, match=r"no recipe 'ZnO' .*\(recipes: Al2O3, HfO2\)"):
        library.versions("ZnO")
    with pytest.raises(LibraryError, match=r"'Al2O3' has no version 4 \(versions: 1\)"):
        library.load("Al2O3", 4)


def test_operators_run_released_versions_only(library: RecipeLibrary) -> None:
    library.save_new_version(_recipe())
    with pytest.raises(LibraryError, match=r"no released version.*release Al2O3 --version 1"):
        library.load_released("Al2O3")
    release = library.release("Al2O3", 1, by="alice")
    assert release.sha256 == library.load("Al2O3", 1).sha256 and release.by == "alice"
    assert library.release("Al2O3", 1, by="bob") == release  # once
    library.save_new_version(_recipe(cycles=50))
    entry = library.versions("Al2O3")
    assert (entry.status(1), entry.status(2)) == (VersionStatus.RELEASED, VersionStatus.DRAFT)
    assert library.load_released("Al2O3").version == 1  # the latest *released*
    assert library.load("Al2O3").version == 2
    with pytest.raises(LibraryError, match=r"version 2 of recipe 'Al2O3' is a draft"):
        library.load_released("Al2O3", 2)
    with pytest.raises(LibraryError, match=r"no version 3"):
        library.release("Al2O3", 3)


def test_a_released_file_changed_afterwards_is_refused(library: RecipeLibrary) -> None:
    library.save_new_version(_recipe())
    release = library.release("Al2O3", 1)
    path = library.path("Al2O3", 1)
    path.chmod(0o600)
    changed = _recipe(cycles=11)
    path.write_text(recipe_toml(changed))
    with pytest.raises(LibraryError, match=release.sha256) as caught:
        library.load_released("Al2O3")
    assert changed.sha256 in str(caught.value) and "changed after its release" in str(caught.value)


def test_a_version_file_holding_another_version_is_refused(library: RecipeLibrary) -> None:
    library.save_new_version(_recipe())
    path = library.path("Al2O3", 2)
    path.write_text(recipe_toml(_recipe(version=1)))
    with pytest.raises(LibraryError, match=r"v2\.toml: holds 'Al2O3' version 1"):
        library.load("Al2O3", 2)


def test_same_content_is_found_whatever_its_version_number(library: RecipeLibrary) -> None:
    library.save_new_version(_recipe(cycles=10))
    library.save_new_version(_recipe(cycles=20))
    assert library.same_as(_recipe(cycles=10, version=5)) == 1
    assert library.same_as(_recipe(cycles=20)) == 2
    assert library.same_as(_recipe(cycles=30)) is None
    assert library.same_as(_recipe("HfO2")) is None


def test_names_differing_only_by_case_are_refused(library: RecipeLibrary) -> None:
    library.save_new_version(_recipe("Al2O3"))
    with pytest.raises(LibraryError, match=r"'AL2O3'.*'Al2O3', which differs only by case"):
        library.save_new_version(_recipe("AL2O3"))


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30))
def test_any_name_is_kept_inside_the_library_and_listed_as_given(name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        library = RecipeLibrary(Path(tmp) / "recipes", seeds=())
        saved = library.save_new_version(_recipe(name))
        assert [e.name for e in library.recipes()] == [name]
        path = library.path(name, 1)
        assert path.parent.parent == library.folder  # no "..", no "/" escapes it
        assert not path.parent.name.startswith(".")
        assert not path.parent.name.endswith((".", " "))
        assert library.load(name) == saved


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_the_folder_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        library = RecipeLibrary(tmp_path / "recipes", seeds=())
        library.save_new_version(_recipe())
    finally:
        os.umask(old)
    assert stat.S_IMODE(library.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(library.path("Al2O3", 1).parent.stat().st_mode) == 0o700
