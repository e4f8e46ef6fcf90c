"""The Recipes page: the library (open a version, start a new recipe), the editor, saving
as a new version and the differences from an earlier one.

A saved version is never changed: saving always adds the next version of the name
(the library picks the number), and the picker of the Start controls hears of it
through ``saved``. The differences are those of the TOML files an engineer would diff.
"""

from __future__ import annotations

import difflib

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ald_gui.config.models import AppConfig
from ald_gui.config.recipe_file import recipe_toml
from ald_gui.domain.accounts import CONSOLE, Actor, Permission
from ald_gui.domain.recipe import Recipe
from ald_gui.store.recipe_library import LibraryError, RecipeLibrary
from ald_gui.ui.permission_gate import gate
from ald_gui.ui.process_panel import Confirm, ask
from ald_gui.ui.recipe_editor import RecipeEditor
from ald_gui.ui.theme import named

__all__ = ["RecipePage", "diff_text"]


def diff_text(old: Recipe, new: Recipe, old_label: str, new_label: str) -> str:
    """The unified diff of the two recipes' TOML files ("" when they are the same)."""
    return "".join(
        difflib.unified_diff(
            recipe_toml(old).splitlines(keepends=True),
            recipe_toml(new).splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
        )
    )


class DiffDialog(QDialog):
    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlainText(text or "No differences: the draft is that version.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(700, 600)


class RecipePage(QWidget):
    """Signals ``saved(Recipe)`` with each version saved, ``release_requested(name,
    version)`` for the version chosen in the library (the window signs and releases it:
    signed_actions)."""

    saved = Signal(object)
    release_requested = Signal(str, int)

    def __init__(
        self, config: AppConfig, parent: QWidget | None = None, *, confirm: Confirm = ask
    ) -> None:
        super().__init__(parent)
        self._confirm = confirm
        self.library: RecipeLibrary | None = None
        self.editor = RecipeEditor(config)
        self.versions = QComboBox()
        self.versions.setToolTip("Every version in the library")
        self.open_button = QPushButton("Open")
        self.new_button = QPushButton("New recipe")
        self.release_button = QPushButton("Release…")
        self.release_button.setToolTip("Release the chosen version for operators (signed)")
        self.save_button = named(QPushButton("Save as new version"), "saveRecipe")
        self.compare = QComboBox()
        self.compare.setToolTip("An earlier version of this recipe")
        self.diff_button = QPushButton("Show differences")
        self.message = named(QLabel(wordWrap=True), "recipeMessage")
        self.last_diff = ""
        self._actor: Actor | None = CONSOLE  # who may save a draft (permission_gate)

        top = QHBoxLayout()
        top.addWidget(QLabel("Library"))
        top.addWidget(self.versions, 1)
        top.addWidget(self.open_button)
        top.addWidget(self.new_button)
        top.addWidget(self.release_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.save_button)
        bottom.addStretch(1)
        bottom.addWidget(QLabel("Compare with"))
        bottom.addWidget(self.compare)
        bottom.addWidget(self.diff_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.editor, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.message)

        self.open_button.clicked.connect(self._open_chosen)
        self.new_button.clicked.connect(lambda: self._replace(None))
        self.release_button.clicked.connect(self._release_chosen)
        self.versions.currentIndexChanged.connect(lambda _: self._enable())
        self.save_button.clicked.connect(self.save)
        self.diff_button.clicked.connect(self.show_diff)
        self.editor.name.textEdited.connect(lambda _: self._list_compare())
        self._enable()

    def set_actor(self, actor: Actor | None) -> None:
        """The logged-in account: saving a draft is grey without its permission."""
        self._actor = actor
        self._enable()

    def set_library(self, library: RecipeLibrary) -> None:
        self.library = library
        self.refresh()

    # -- the library -------------------------------------------------------------------

    def refresh(self) -> None:
        """List the library's versions again (small local files: milliseconds)."""
        self.versions.clear()
        if self.library is not None:
            try:
                for entry in self.library.recipes():
                    for v in reversed(entry.versions):
                        status = entry.status(v).value
                        self.versions.addItem(f"{entry.name} v{v} · {status}", (entry.name, v))
            except (OSError, LibraryError) as exc:
                self.message.setText(f"The recipe library cannot be read: {exc}")
        self._list_compare()
        self._enable()

    def _list_compare(self) -> None:
        self.compare.clear()
        name = self.editor.name.text().strip()
        if self.library is None or not name:
            return
        try:
            entry = self.library.versions(name)
        except LibraryError:
            return  # a new name: nothing to compare with yet
        for v in reversed(entry.versions):
            self.compare.addItem(f"v{v} · {entry.status(v).value}", v)
        self._enable()

    @Slot()
    def _open_chosen(self) -> None:
        chosen = self.versions.currentData()
        if self.library is None or chosen is None:
            return
        name, version = chosen
        try:
            recipe = self.library.load(name, version)
        except LibraryError as exc:
            self.message.setText(str(exc))
            return
        self._replace(recipe)

    def choose_version(self, name: str, version: int) -> bool:
        """Choose ``name`` version ``version`` in the library's list; False if not listed.
        (``findData`` does not find a tuple: the combo hands its data back as a copy.)"""
        for i in range(self.versions.count()):
            if tuple(self.versions.itemData(i)) == (name, version):
                self.versions.setCurrentIndex(i)
                return True
        return False

    @Slot()
    def _release_chosen(self) -> None:
        chosen = self.versions.currentData()
        if chosen is not None:
            self.release_requested.emit(*chosen)

    def _chosen_is_draft(self) -> bool:
        chosen = self.versions.currentData()
        if self.library is None or chosen is None:
            return False
        try:
            return self.library.release_of(*chosen) is None
        except LibraryError:
            return False

    def _replace(self, recipe: Recipe | None) -> None:
        """Open ``recipe`` in place of the draft, once the operator agreed to lose
        the draft's unsaved changes (if it has any)."""
        if self.editor.has_changes() and not self._confirm(
            self, "Unsaved changes", "The draft has changes not saved. Discard them?"
        ):
            return
        self._opened(recipe)

    def open_version(self, name: str, version: int) -> None:
        """Open version ``version`` of ``name`` from the library (LibraryError if none)."""
        assert self.library is not None
        self._opened(self.library.load(name, version))

    def _opened(self, recipe: Recipe | None) -> None:
        self.editor.open_recipe(recipe)
        if recipe is not None:  # the library's choice shows what is open
            self.choose_version(recipe.name, recipe.version)
        self.message.setText(
            f"Editing {recipe.name} v{recipe.version}; saving adds a new version"
            if recipe
            else "A new recipe: add its steps"
        )
        self._list_compare()

    # -- saving and comparing ----------------------------------------------------------

    @Slot()
    def save(self) -> Recipe | None:
        """Save the draft as the next version of its name; returns it as saved (None
        if the draft is no valid recipe, or the library refused, saying why)."""
        if self.library is None:
            return None
        recipe = self.editor.valid_recipe()
        if recipe is None:
            self.message.setText(f"Not saved: {self.editor.summary.text()}")
            return None
        try:
            saved = self.library.save_new_version(recipe)
        except (OSError, LibraryError) as exc:
            self.message.setText(f"Not saved: {exc}")
            return None
        self.editor.draft.version = saved.version
        self.editor.opened = saved
        self.editor.show_version()
        self.refresh()
        path = self.library.path(saved.name, saved.version)
        self.message.setText(f"Saved {saved.name} v{saved.version} (draft) in {path}")
        self.saved.emit(saved)
        return saved

    @Slot()
    def show_diff(self) -> str:
        """Show the differences of the draft from the version chosen to compare with;
        returns the diff text (also kept in ``last_diff``)."""
        version = self.compare.currentData()
        recipe = self.editor.valid_recipe()
        if self.library is None or version is None or recipe is None:
            return ""
        try:
            old = self.library.load(recipe.name, version)
        except LibraryError as exc:
            self.message.setText(str(exc))
            return ""
        # The draft keeps the number it was opened with: only its content is compared.
        draft = recipe.model_copy(update={"version": old.version})
        self.last_diff = diff_text(old, draft, f"{old.name} v{version}", "this draft")
        DiffDialog(f"{recipe.name}: v{version} → this draft", self.last_diff, self).open()
        return self.last_diff

    def _enable(self) -> None:
        has_library = self.library is not None
        self.open_button.setEnabled(has_library and self.versions.count() > 0)
        gate(self.save_button, has_library, Permission.EDIT_RECIPE_DRAFTS, self._actor)
        draft = self._chosen_is_draft()
        gate(self.release_button, draft, Permission.RELEASE_RECIPE, self._actor)
        self.diff_button.setEnabled(has_library and self.compare.count() > 0)
