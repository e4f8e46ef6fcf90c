"""The steps of a recipe draft as a tree: loops open to their steps, each step in
words, and beside it what the checks found wrong with it.

A thin view of a RecipeDraft: ``show(draft)`` rebuilds it (cheap for recipes of
hundreds of steps); items are found by step path, so a finding of the recipe check
(``steps[1].loop.steps[0].pulse.ms: ...``) lands on the step it names.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QWidget

from ald_gui.config.process import ProcessSettings
from ald_gui.domain.recipe import StepKind
from ald_gui.ui.recipe_draft import DraftStep, RecipeDraft, child_path
from ald_gui.ui.recipe_words import step_text

__all__ = ["Finding", "RecipeTree", "draft_text", "step_of_path"]

_PATH = Qt.ItemDataRole.UserRole
Finding = tuple[str, str]  # (severity word: "error" or "warning", message)
_MARK = {"error": "✖", "warning": "⚠"}
# Vermillion and orange (Okabe & Ito), readable on both themes; the mark says it too.
_COLOUR = {"error": QColor("#D55E00"), "warning": QColor("#E69F00")}


def draft_text(step: DraftStep, process: ProcessSettings | None, units: Mapping[str, str]) -> str:
    """A draft step in words; an incomplete one by its kind and what it lacks."""
    if step.kind is StepKind.LOOP:
        n = len(step.children)
        return f"repeat {step.values.get('count')}× ({n} step{'s' if n != 1 else ''})"
    try:
        return step_text(step.step(), process, dict(units))
    except ValueError:
        return f"{step.kind} (incomplete)"


def step_of_path(path: str, steps: set[str]) -> str:
    """The step a finding's path names: the longest step path that begins it
    (``steps[0].loop.steps[1].pulse.ms`` → ``steps[0].loop.steps[1]``); "" for the
    recipe as a whole."""
    best = ""
    for p in steps:
        if (path == p or path.startswith(p + ".")) and len(p) > len(best):
            best = p
    return best


class RecipeTree(QTreeWidget):
    """Columns: the step in words, and the check's findings on it."""

    def __init__(
        self, process: ProcessSettings, units: Mapping[str, str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._process = process
        self._units = units
        self.items: dict[str, QTreeWidgetItem] = {}
        self.setColumnCount(2)
        self.setHeaderLabels(["Step", "Check"])
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setColumnWidth(0, 360)

    def show_draft(self, draft: RecipeDraft, selected: str | None = None) -> None:
        """Rebuild from ``draft`` and select the step at ``selected``."""
        self.blockSignals(True)
        self.clear()
        self.items = {}

        def add(parent_item: QTreeWidgetItem | None, parent: str, steps: list[DraftStep]) -> None:
            for i, s in enumerate(steps):
                path = child_path(parent, i)
                item = QTreeWidgetItem([draft_text(s, self._process, self._units), ""])
                item.setData(0, _PATH, path)
                item.setToolTip(0, path)
                if parent_item is None:
                    self.addTopLevelItem(item)
                else:
                    parent_item.addChild(item)
                self.items[path] = item
                add(item, path, s.children)

        add(None, "", draft.steps)
        self.expandAll()
        self.blockSignals(False)
        if selected in self.items:
            self.setCurrentItem(self.items[selected])
            self.scrollToItem(self.items[selected])
        else:
            self.currentItemChanged.emit(None, None)

    def refresh_text(self, path: str, step: DraftStep) -> None:
        """After a field changed: the step's words (and its loop's, for a count)."""
        if path in self.items:
            self.items[path].setText(0, draft_text(step, self._process, self._units))

    def show_findings(self, findings: Mapping[str, list[Finding]]) -> None:
        """Each step's findings (by step path) in its Check column; others cleared."""
        for path, item in self.items.items():
            found = findings.get(path, [])
            text = "  ".join(f"{_MARK.get(sev, '•')} {msg}" for sev, msg in found)
            item.setText(1, text)
            worst = "error" if any(sev == "error" for sev, _ in found) else "warning"
            if found:
                item.setForeground(1, QBrush(_COLOUR[worst]))
            item.setToolTip(1, "\n".join(msg for _, msg in found))
            item.setData(1, Qt.ItemDataRole.AccessibleTextRole, text)

    def selected_paths(self) -> list[str]:
        return [str(i.data(0, _PATH)) for i in self.selectedItems()]

    def current_path(self) -> str | None:
        item = self.currentItem()
        return None if item is None else str(item.data(0, _PATH))
