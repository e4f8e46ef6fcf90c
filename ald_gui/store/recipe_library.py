"""The recipe library: a folder of recipes, each version an immutable TOML file.

    DATA_DIR/recipes/
        Al2O3/
            v1.toml         version 1, as written when it was saved (read-only)
            v2.toml
            v2.released     version 2 is released: its SHA-256, when and by whom
        HfO2%2FAl2O3/       a name with a character no file name may hold, %-escaped

A version is written once, atomically (a whole file linked into place, so a crash
leaves no half-written version and two consoles saving at once never overwrite each
other: the second gets the next version). Nothing here changes or removes a file.
Releasing a version adds its marker beside it; released versions are what operators
run. A released version whose file no longer has the released hash is refused by name.

The library is made 0700 at its first use and seeded with the bundled demo recipes
(``resources/recipes/*.toml``), released. No Qt, no database: ``store.recipe_store``
keeps the same versions in PostgreSQL.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import quote, unquote

import tomli_w

from ald_gui.config import paths
from ald_gui.config.recipe_file import RecipeError, parse_recipe, recipe_toml
from ald_gui.domain.recipe import Recipe

__all__ = [
    "BUNDLED_AUTHOR",
    "LibraryError",
    "RecipeLibrary",
    "RecipeNotFound",
    "RecipeVersions",
    "Release",
    "VersionStatus",
    "bundled_recipes",
]

# Who released the bundled demo recipes, in their release markers.
BUNDLED_AUTHOR = "ald-gui (bundled demo)"

_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.toml$")
_RELEASE_SUFFIX = ".released"
# Characters kept as they are in a recipe's folder name; the rest are %-escaped.
_SAFE = " ()+,=@_-"


class LibraryError(Exception):
    """A recipe or version the library does not have, or a file it cannot use;
    ``str()`` names it and says what to do."""


class RecipeNotFound(LibraryError):
    """The library has no such recipe, or no such version of it."""


class VersionStatus(StrEnum):
    DRAFT = "draft"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class Release:
    """Version ``version`` was released with hash ``sha256`` at ``released_at`` (ISO
    8601, UTC) by ``by``."""

    version: int
    sha256: str
    released_at: str
    by: str


@dataclass(frozen=True, slots=True)
class RecipeVersions:
    """The versions of one recipe in the library, oldest first."""

    name: str
    versions: tuple[int, ...]
    released: tuple[int, ...]

    @property
    def latest(self) -> int:
        return self.versions[-1]

    @property
    def latest_released(self) -> int | None:
        return self.released[-1] if self.released else None

    def status(self, version: int) -> VersionStatus:
        return VersionStatus.RELEASED if version in self.released else VersionStatus.DRAFT


def bundled_recipes() -> list[Traversable]:
    """The demo recipes shipped with the application (``resources/recipes/*.toml``)."""
    folder = files("ald_gui.resources").joinpath("recipes")
    if not folder.is_dir():
        return []
    return sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)


class RecipeLibrary:
    """The library in ``folder``. At its first use (``folder`` missing) the folder is
    made, mode 0700, with ``seeds`` (default: the bundled demo recipes) saved and
    released in it, all at once: a library is never seen half seeded. Raises
    LibraryError if a seed is not a valid recipe."""

    def __init__(self, folder: Path, seeds: Iterable[Traversable] | None = None) -> None:
        self.folder = folder
        if not folder.exists():
            _seed(folder, bundled_recipes() if seeds is None else seeds)

    @classmethod
    def of_data_dir(cls, data_dir: Path) -> RecipeLibrary:
        """The library of the console whose data directory is ``data_dir``."""
        return cls(paths.recipes_dir(data_dir))

    # -- reading -------------------------------------------------------------------

    def recipes(self) -> list[RecipeVersions]:
        """Every recipe that has at least one version, by name (case ignored)."""
        found = []
        for folder in self.folder.iterdir():
            if folder.is_dir() and not folder.name.startswith("."):
                entry = self._versions_in(folder, unquote(folder.name))
                if entry.versions:
                    found.append(entry)
        return sorted(found, key=lambda e: (e.name.casefold(), e.name))

    def versions(self, name: str) -> RecipeVersions:
        """The versions of ``name``. Raises LibraryError if the library has none."""
        entry = self._versions_in(self._folder(name), name)
        if not entry.versions:
            known = ", ".join(e.name for e in self.recipes()) or "none yet"
            raise RecipeNotFound(
                f"no recipe {name!r} in the library {self.folder} (recipes: {known}); "
                "add one with `ald-gui recipe import FILE`"
            )
        return entry

    def path(self, name: str, version: int) -> Path:
        """Where version ``version`` of ``name`` is (or would be) kept."""
        return self._folder(name) / f"v{version}.toml"

    def load(self, name: str, version: int | None = None) -> Recipe:
        """Version ``version`` of ``name`` (default: the latest, draft or released).
        Raises LibraryError naming the recipe or version missing, or the file that
        cannot be read or was changed after its release."""
        entry = self.versions(name)
        chosen = entry.latest if version is None else version
        if chosen not in entry.versions:
            raise RecipeNotFound(
                f"recipe {name!r} has no version {chosen} (versions: "
                f"{_listed(entry.versions)}) in the library {self.folder}"
            )
        path = self.path(name, chosen)
        recipe = _read(path)
        if recipe.name != name or recipe.version != chosen:
            raise LibraryError(
                f"{path}: holds {recipe.name!r} version {recipe.version}, not {name!r} "
                f"version {chosen}: a version file is never edited; restore it"
            )
        release = self.release_of(name, chosen)
        if release is not None and release.sha256 != recipe.sha256:
            raise LibraryError(
                f"{path}: changed after its release (released with SHA-256 "
                f"{release.sha256}, the file now has {recipe.sha256}): restore the "
                "released file; a change is saved as a new version"
            )
        return recipe

    def load_released(self, name: str, version: int | None = None) -> Recipe:
        """Version ``version`` of ``name`` (default: the latest released), which must be
        released: what an operator runs. Raises LibraryError otherwise, saying how to
        release it."""
        entry = self.versions(name)
        chosen = entry.latest_released if version is None else version
        if chosen is None:
            raise LibraryError(
                f"recipe {name!r} has no released version (drafts: "
                f"{_listed(entry.versions)}): release one with `ald-gui recipe release "
                f"{_shell(name)} --version {entry.latest}`"
            )
        if chosen in entry.versions and chosen not in entry.released:
            raise LibraryError(
                f"version {chosen} of recipe {name!r} is a draft: release it first with "
                f"`ald-gui recipe release {_shell(name)} --version {chosen}`"
            )
        return self.load(name, chosen)

    def release_of(self, name: str, version: int) -> Release | None:
        """The release of that version, or None for a draft."""
        marker = self._folder(name) / f"v{version}{_RELEASE_SUFFIX}"
        try:
            data = tomllib.loads(marker.read_text(encoding="utf-8"))
            return Release(
                int(data["version"]), str(data["sha256"]), str(data["released_at"]), str(data["by"])
            )
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, ValueError) as exc:
            raise LibraryError(f"{marker}: not a release marker ({exc}): restore it") from exc

    def same_as(self, recipe: Recipe) -> int | None:
        """The version of ``recipe.name`` whose content equals ``recipe``'s in all but
        the version number, or None: an import of an exported file adds nothing."""
        if not self._versions_in(self._folder(recipe.name), recipe.name).versions:
            return None
        for version in reversed(self.versions(recipe.name).versions):
            if self.load(recipe.name, version) == recipe.model_copy(update={"version": version}):
                return version
        return None

    # -- adding --------------------------------------------------------------------

    def save_new_version(self, recipe: Recipe) -> Recipe:
        """Save ``recipe`` as the next version of its name (1 for a new name), whatever
        version it says, and return it as saved. Never overwrites a file: if another
        console saves at the same moment, this one takes the version after. Raises
        LibraryError for a name that differs from another recipe's only by case (the
        file systems of Windows and macOS would take them for one)."""
        self._refuse_case_twin(recipe.name)
        folder = self._folder(recipe.name)
        folder.mkdir(mode=paths.PRIVATE_DIR_MODE, exist_ok=True)
        for _ in range(1000):  # as many consoles as could race on one library
            entry = self._versions_in(folder, recipe.name)
            saved = recipe.model_copy(
                update={"version": entry.versions[-1] + 1 if entry.versions else 1}
            )
            try:
                _write_once(self.path(saved.name, saved.version), _text(saved))
            except FileExistsError:
                continue
            return saved
        raise LibraryError(f"{folder}: could not find a free version number to save into")

    def release(self, name: str, version: int, by: str = "") -> Release:
        """Release version ``version`` of ``name``. Releasing a released version again
        changes nothing and returns its release. Raises LibraryError if it is missing
        or its file cannot be read."""
        recipe = self.load(name, version)
        existing = self.release_of(name, version)
        if existing is not None:
            return existing
        release = Release(version, recipe.sha256, datetime.now(UTC).isoformat(), by)
        data = {
            "version": release.version,
            "sha256": release.sha256,
            "released_at": release.released_at,
            "by": release.by,
        }
        marker = self._folder(name) / f"v{version}{_RELEASE_SUFFIX}"
        try:
            _write_once(marker, tomli_w.dumps(data))
        except FileExistsError:  # released by another console just now
            found = self.release_of(name, version)
            assert found is not None
            return found
        return release

    # -- the folder ------------------------------------------------------------------

    def _folder(self, name: str) -> Path:
        encoded = quote(name, safe=_SAFE)
        # "." and ".." are no folders of ours, and Windows drops a trailing dot or space.
        if encoded.startswith("."):
            encoded = "%2E" + encoded[1:]
        if encoded.endswith((".", " ")):
            encoded = encoded[:-1] + quote(encoded[-1], safe="").replace(".", "%2E")
        return self.folder / encoded

    def _versions_in(self, folder: Path, name: str) -> RecipeVersions:
        try:
            names = [p.name for p in folder.iterdir()]
        except FileNotFoundError:
            names = []
        versions = sorted(int(m[1]) for n in names if (m := _VERSION_FILE.match(n)))
        released = [v for v in versions if f"v{v}{_RELEASE_SUFFIX}" in names]
        return RecipeVersions(name, tuple(versions), tuple(released))

    def _refuse_case_twin(self, name: str) -> None:
        for entry in self.recipes():
            if entry.name != name and entry.name.casefold() == name.casefold():
                raise LibraryError(
                    f"recipe {name!r}: the library has {entry.name!r}, which differs only by "
                    "case; save it under that name or choose another"
                )


def _seed(folder: Path, seeds: Iterable[Traversable]) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True, mode=paths.PRIVATE_DIR_MODE)
    partial = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}")
    partial.mkdir(mode=paths.PRIVATE_DIR_MODE)
    try:
        if os.name == "posix":
            os.chmod(partial, paths.PRIVATE_DIR_MODE)  # whatever the umask
        library = RecipeLibrary(partial, seeds=())
        for seed in seeds:
            recipe = _parse(seed.read_text(encoding="utf-8"), str(seed))
            saved = library.save_new_version(recipe)
            library.release(saved.name, saved.version, BUNDLED_AUTHOR)
        # All at once: another console starting now finds no folder or a whole one.
        partial.rename(folder)
    except OSError:
        if not folder.is_dir():
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _write_once(path: Path, text: str) -> None:
    """Write ``text`` to the new file ``path``, read-only, whole or not at all. Raises
    FileExistsError if ``path`` exists: a version is never overwritten."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(partial, 0o400)  # an editor says "read-only" before anyone changes it
        os.link(partial, path)  # unlike rename, refuses to replace an existing file
    finally:
        partial.unlink(missing_ok=True)
    if os.name == "posix":
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _text(recipe: Recipe) -> str:
    text = recipe_toml(recipe)
    # The file is the version: what it reads back as must hash as the recipe saved.
    if _parse(text, "<new version>").sha256 != recipe.sha256:
        raise LibraryError(f"recipe {recipe.name!r} does not read back as written: not saved")
    return text


def _read(path: Path) -> Recipe:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError(f"{path}: cannot be read: {exc}") from exc
    return _parse(text, str(path))


def _parse(text: str, source: str) -> Recipe:
    try:
        return parse_recipe(text, source)
    except RecipeError as exc:
        raise LibraryError(str(exc)) from exc


def _listed(versions: Iterable[int]) -> str:
    return ", ".join(map(str, versions)) or "none"


def _shell(name: str) -> str:
    return name if re.fullmatch(r"[\w.+-]+", name) else "'" + name.replace("'", "'\\''") + "'"
