"""The recipe a run starts with: none (a run as before), or a version from the library.

Each recipe is offered at its latest released version and, when a newer draft exists,
at that draft too, with its status and its dry-run length:
"Al2O3 v2 · released · 12 min 30 s". The library is a folder of small local files:
``refresh`` reads it in a few milliseconds, on demand (the window's start, a save,
opening the list: ``ald-gui recipe import`` may have added one), never on a timer.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from ald_gui.domain.recipe import Recipe
from ald_gui.domain.recipe_timeline import timeline
from ald_gui.store.recipe_library import LibraryError, RecipeLibrary
from ald_gui.ui.recipe_words import duration_text

__all__ = ["NO_RECIPE", "RecipePicker", "version_text"]

NO_RECIPE = "No recipe (record only)"


def version_text(recipe: Recipe, released: bool) -> str:
    """ "Al2O3 v2 · released · 12 min 30 s" (an upper bound says "at most")."""
    t = timeline(recipe)
    length = duration_text(t.total_ms / 1000)
    if t.open_ended:
        length = f"at most {length}"
    status = "released" if released else "draft"
    return f"{recipe.name} v{recipe.version} · {status} · {length}"


class RecipePicker(QComboBox):
    """``chosen()`` is the Recipe picked, or None for a run without one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._recipes: list[Recipe | None] = [None]
        self.library: RecipeLibrary | None = None
        self.problem = ""  # why the library could not be read, if it could not
        self.addItem(NO_RECIPE)
        self.setToolTip("The recipe the run executes; without one, the run only records")

    def refresh(self, library: RecipeLibrary) -> None:
        """List the library's recipes again, keeping the choice when it is still there.
        A recipe that cannot be read is left out and named in ``problem``."""
        self.library = library
        before = self.chosen()
        self._recipes = [None]
        texts = [NO_RECIPE]
        skipped: list[str] = []
        try:
            entries = library.recipes()
        except OSError as exc:
            entries = []
            skipped.append(f"{library.folder}: {exc.strerror or exc}")
        for entry in entries:
            offered = [v for v in (entry.latest_released, entry.latest) if v is not None]
            for version in dict.fromkeys(offered):
                try:
                    recipe = library.load(entry.name, version)
                except LibraryError as exc:
                    skipped.append(str(exc))
                    continue
                self._recipes.append(recipe)
                texts.append(version_text(recipe, version in entry.released))
        self.problem = "; ".join(skipped)
        self.blockSignals(True)
        self.clear()
        self.addItems(texts)
        keep = 0
        for i, r in enumerate(self._recipes):
            if r is not None and before is not None and r.sha256 == before.sha256:
                keep = i
        self.setCurrentIndex(keep)
        self.blockSignals(False)
        self.currentIndexChanged.emit(keep)

    def showPopup(self) -> None:
        if self.library is not None:
            self.refresh(self.library)
        super().showPopup()

    def chosen(self) -> Recipe | None:
        i = self.currentIndex()
        return self._recipes[i] if 0 <= i < len(self._recipes) else None

    def choose(self, name: str, version: int) -> None:
        """Pick version ``version`` of ``name``. KeyError if it is not offered."""
        for i, r in enumerate(self._recipes):
            if r is not None and (r.name, r.version) == (name, version):
                self.setCurrentIndex(i)
                return
        raise KeyError(f"recipe {name!r} version {version} is not offered")
