"""The recipe editor: the header, the tree of steps, the fields of the chosen step, and
what is wrong with it, as the operator edits.

Every edit changes the RecipeDraft; a moment later (``CHECK_DELAY_MS``, so typing is
not slowed) the draft is checked: first by the recipe model (a step that is no valid
step), then against the machine, and each finding is shown on the step it names. The
editor never talks to the PLC or the engine: a recipe runs only from the Start
controls, where the engine checks it again.
"""

from __future__ import annotations

from collections import defaultdict

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QToolButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ald_gui.config.models import AppConfig
from ald_gui.config.recipe_check import RecipeCheck, check_recipe
from ald_gui.domain.recipe import Recipe, StepKind
from ald_gui.ui.recipe_draft import DraftInvalid, DraftStep, RecipeDraft
from ald_gui.ui.recipe_fields import StepFields
from ald_gui.ui.recipe_tree import Finding, RecipeTree, step_of_path
from ald_gui.ui.theme import named

__all__ = ["CHECK_DELAY_MS", "RecipeEditor"]

CHECK_DELAY_MS = 150
_KIND_WORDS = {
    StepKind.PULSE: "Pulse a valve",
    StepKind.PURGE: "Purge",
    StepKind.WAIT: "Wait",
    StepKind.SET: "Set a tag",
    StepKind.LOOP: "Loop",
}


class RecipeEditor(QWidget):
    """Edit ``open_recipe(recipe)`` (or a new one); ``checked`` says after every
    check whether the draft is a valid recipe that passes the machine's checks."""

    checked = Signal(bool)

    def __init__(self, config: AppConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.draft = RecipeDraft()
        self.opened: Recipe | None = None  # what the draft began as, or was saved as
        self.findings: dict[str, list[Finding]] = {}
        self.result: RecipeCheck | None = None  # the last check against the machine
        units = {t.key: t.unit for t in config.tags}

        self.name = QLineEdit(placeholderText="Recipe name")
        self.author = QLineEdit(placeholderText="Author")
        self.description = QLineEdit(placeholderText="What it makes, for whom")
        self.version = named(QLabel(), "recipeVersion")
        header = QFormLayout()
        header.addRow("Name", self.name)
        header.addRow("Author", self.author)
        header.addRow("Description", self.description)
        header.addRow("Version", self.version)

        self.add_button = self._menu_button("Add step", self._add_after)
        self.add_inside_button = self._menu_button("Add inside loop", self._add_inside)
        self.remove_button = QPushButton("Remove")
        self.up_button = QPushButton("Move up")
        self.down_button = QPushButton("Move down")
        self.wrap_button = QPushButton("Wrap in loop")
        tools = QHBoxLayout()
        for b in (
            self.add_button,
            self.add_inside_button,
            self.remove_button,
            self.up_button,
            self.down_button,
            self.wrap_button,
        ):
            tools.addWidget(b)
        tools.addStretch(1)

        self.tree = RecipeTree(config.process, units)
        self.fields = StepFields(config)
        # The tree above the fields: a dock is tall and narrow, and a step's words
        # and its findings need the width.
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.fields)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)

        self.summary = named(QLabel(wordWrap=True), "recipeCheck")
        self.estimate = named(QLabel(wordWrap=True), "recipeEstimate")
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(tools)
        layout.addWidget(split, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.estimate)

        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.check_now)
        for box in (self.name, self.author, self.description):
            box.textEdited.connect(self._header_edited)
        self.remove_button.clicked.connect(self._remove)
        self.up_button.clicked.connect(lambda: self._move(-1))
        self.down_button.clicked.connect(lambda: self._move(1))
        self.wrap_button.clicked.connect(self._wrap)
        self.tree.currentItemChanged.connect(self._chosen)
        self.tree.itemSelectionChanged.connect(self._enable)
        self.fields.edited.connect(self._field_edited)
        self.open_recipe(None)

    def _menu_button(self, text: str, slot: object) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(button)
        for kind, words in _KIND_WORDS.items():
            menu.addAction(words).triggered.connect(lambda _=False, k=kind: slot(k))  # type: ignore[operator]
        button.setMenu(menu)
        return button

    # -- opening -----------------------------------------------------------------------

    def open_recipe(self, recipe: Recipe | None) -> None:
        """Edit ``recipe`` (a new, empty recipe for None)."""
        self.draft = RecipeDraft(recipe)
        self.opened = recipe
        self.name.setText(self.draft.name)
        self.author.setText(self.draft.author)
        self.description.setText(self.draft.description)
        self.show_version()
        self.tree.show_draft(self.draft, "steps[0]")
        self.check_now()

    def show_version(self) -> None:
        d = self.draft
        self.version.setText(
            f"v{d.version} (saving adds the next version)" if d.steps else "new recipe"
        )

    # -- editing -----------------------------------------------------------------------

    def add_step(self, kind: StepKind, *, inside: bool = False, **values: object) -> str:
        """Add a new ``kind`` step after the chosen one (at the end if none is chosen),
        or, with ``inside``, as the last step of the chosen loop. Returns its path."""
        step = DraftStep.new(kind, **values)
        current = self.tree.current_path()
        if inside and current is not None and self.draft.at(current).kind is StepKind.LOOP:
            path = self.draft.insert(step, current)
        else:
            path = self.draft.insert_after(step, current)
        self._rebuilt(path)
        return path

    def _add_after(self, kind: StepKind) -> None:
        self.add_step(kind)

    def _add_inside(self, kind: StepKind) -> None:
        self.add_step(kind, inside=True)

    @Slot()
    def _remove(self) -> None:
        current = self.tree.current_path()
        if current is not None:
            self._rebuilt(self.draft.remove(current))

    def _move(self, offset: int) -> None:
        current = self.tree.current_path()
        if current is not None:
            self._rebuilt(self.draft.move(current, offset))

    @Slot()
    def _wrap(self) -> None:
        try:
            path = self.draft.wrap(self.tree.selected_paths())
        except ValueError as exc:
            self.summary.setText(str(exc))
            return
        self._rebuilt(path)

    def _rebuilt(self, selected: str | None) -> None:
        self.tree.show_draft(self.draft, selected)
        self._show_findings()
        self._check_timer.start()

    @Slot()
    def _header_edited(self) -> None:
        self.draft.name = self.name.text()
        self.draft.author = self.author.text()
        self.draft.description = self.description.text()
        self._check_timer.start()

    @Slot()
    def _field_edited(self) -> None:
        current = self.tree.current_path()
        if current is not None:
            self.tree.refresh_text(current, self.draft.at(current))
            parent = current.rpartition(".loop.")[0]
            if parent:
                self.tree.refresh_text(parent, self.draft.at(parent))
        self._check_timer.start()

    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _chosen(self, *_: object) -> None:
        current = self.tree.current_path()
        self.fields.show_step(None if current is None else self.draft.at(current))
        self._enable()

    @Slot()
    def _enable(self) -> None:
        current = self.tree.current_path()
        chosen = current is not None
        is_loop = chosen and self.draft.at(current).kind is StepKind.LOOP  # type: ignore[arg-type]
        self.add_inside_button.setEnabled(is_loop)
        for b in (self.remove_button, self.up_button, self.down_button, self.wrap_button):
            b.setEnabled(chosen)

    # -- checking ------------------------------------------------------------------------

    def has_changes(self) -> bool:
        """Whether the draft differs from the recipe opened (or last saved)."""
        recipe = self.valid_recipe()
        if recipe is None:  # an edit made it invalid, unless nothing was begun
            return self.opened is not None or bool(self.draft.steps or self.draft.name.strip())
        return recipe != self.opened

    def valid_recipe(self) -> Recipe | None:
        """The draft as a Recipe, or None while it is no valid recipe."""
        try:
            return self.draft.recipe()
        except DraftInvalid:
            return None

    @Slot()
    def check_now(self) -> None:
        """Check the draft now (edits check it ``CHECK_DELAY_MS`` after the last one)."""
        self._check_timer.stop()
        found: dict[str, list[Finding]] = defaultdict(list)
        for path, why in self.draft.problems().items():
            found[path].append(("error", why))
        draft_error = ""  # the header's (the steps' are on their rows)
        self.result = None
        if not found:
            try:
                self.result = check_recipe(self.draft.recipe(), self.config)
            except DraftInvalid as exc:
                draft_error = str(exc)
        if self.result is not None:
            for f in self.result.findings:
                found[f.path].append((f.severity.value, f.message))
        self.findings = dict(found)
        recipe_wide = self._show_findings()
        header = draft_error or "; ".join(msg for _, msg in recipe_wide)
        severities = [sev for fs in found.values() for sev, _ in fs]
        errors = severities.count("error") + bool(draft_error)
        self.summary.setText(self._summary_text(errors, severities.count("warning"), header))
        self.estimate.setText(
            f"Estimated: {self.result.timeline.summary()}"
            if self.result is not None
            else "Estimated: — (not a valid recipe yet)"
        )
        self.checked.emit(errors == 0)

    def _show_findings(self) -> list[Finding]:
        """Each finding on the step it names; returns those naming no step."""
        steps = set(self.tree.items)
        by_step: dict[str, list[Finding]] = defaultdict(list)
        for path, fs in self.findings.items():
            by_step[step_of_path(path, steps)].extend(fs)
        self.tree.show_findings(by_step)
        return by_step.get("", [])

    @staticmethod
    def _summary_text(errors: int, warnings: int, header: str) -> str:
        if not errors and not warnings:
            return "✔ No problems found"
        parts = []
        if errors:
            parts.append(f"✖ {errors} error{'s' if errors != 1 else ''}")
        if warnings:
            parts.append(f"⚠ {warnings} warning{'s' if warnings != 1 else ''}")
        return " · ".join(parts) + (f": {header}" if header else " (see the steps)")
