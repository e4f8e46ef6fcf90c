"""The Recipes page with a real library folder: save a new version and load it back,
the machine's findings on the step they name, the estimate, the differences from an
earlier version, and the Start controls' recipe picker."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QSpinBox
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.machine import RunNotPossible
from ald_gui.domain.recipe_timeline import timeline
from ald_gui.store.recipe_library import RecipeLibrary
from ald_gui.ui.process_panel import ProcessPanel
from ald_gui.ui.recipe_page import DiffDialog, RecipePage
from ald_gui.ui.recipe_picker import NO_RECIPE
from tests.test_ui_recipe_editor import supercycle

INNER_H2O = "steps[0].loop.steps[0].loop.steps[2]"


@pytest.fixture
def library(tmp_path: Path) -> RecipeLibrary:
    return RecipeLibrary(tmp_path / "recipes", seeds=())


@pytest.fixture
def page(reference_config: AppConfig, library: RecipeLibrary, qtbot: QtBot) -> RecipePage:
    widget = RecipePage(reference_config)
    qtbot.addWidget(widget)
    widget.set_library(library)
    widget.show()
    return widget


def test_a_saved_version_loads_back_equal(page: RecipePage, library: RecipeLibrary) -> None:
    page.editor.open_recipe(supercycle())
    first = page.save()
    assert first is not None and first.version == 1
    assert library.load(first.name, 1) == first == supercycle()
    # An edit saved again is version 2; version 1 stays as it was.
    page.editor.tree.setCurrentItem(page.editor.tree.items["steps[0]"])
    count = page.editor.fields.boxes["count"]
    assert isinstance(count, QSpinBox)
    count.setValue(5)
    second = page.save()
    assert second is not None and second.version == 2
    assert library.load(second.name) == second and second.steps[0].loop.count == 5  # type: ignore[union-attr]
    assert library.load(first.name, 1) == first
    assert "v2" in page.editor.version.text() and "Saved" in page.message.text()
    assert [page.versions.itemText(i) for i in range(page.versions.count())] == [
        "Al2O3 laminate v2 · draft",
        "Al2O3 laminate v1 · draft",
    ]
    page.versions.setCurrentIndex(1)
    page.open_button.click()
    assert page.editor.valid_recipe() == first


def test_a_value_beyond_the_machine_shows_its_message_on_its_step(page: RecipePage) -> None:
    editor = page.editor
    editor.open_recipe(supercycle())
    editor.tree.setCurrentItem(editor.tree.items[INNER_H2O])
    ms = editor.fields.boxes["ms"]
    assert isinstance(ms, QSpinBox)
    ms.setValue(9000)  # the rule max_pulse_ms is 5000 (reference reactor)
    editor.check_now()
    check = editor.tree.items[INNER_H2O].text(1)
    assert "9000 ms pulse is longer than this machine allows" in check and check.startswith("✖")
    others = [p for p, item in editor.tree.items.items() if item.text(1) and p != INNER_H2O]
    assert others == []
    # Two errors, both on that step: Valve 2's PLC pulse timer takes at most 5000 ms too.
    assert "outside valve_2.pulse_time's range 1..5000 ms" in check
    assert editor.summary.text().startswith("✖ 2 errors")
    assert editor.result is not None
    assert {f.path for f in editor.result.errors} == {f"{INNER_H2O}.pulse.ms"}
    # Saving a draft with a machine error is allowed (it is a draft; a run is refused).
    assert page.save() is not None


def test_the_estimate_is_the_dry_run(page: RecipePage) -> None:
    page.editor.open_recipe(supercycle())
    dry_run = timeline(supercycle())
    assert page.editor.result is not None
    assert page.editor.result.timeline.total_ms == dry_run.total_ms == 3 * (10 * 2550 + 5000)
    assert page.editor.estimate.text() == f"Estimated: {dry_run.summary()}"
    assert "1 min 31 s" in page.editor.estimate.text()
    assert "Valve 1 ×30, Valve 2 ×30" in page.editor.estimate.text()


def test_the_differences_from_an_earlier_version(page: RecipePage, qtbot: QtBot) -> None:
    page.editor.open_recipe(supercycle())
    page.save()
    page.editor.tree.setCurrentItem(page.editor.tree.items[INNER_H2O])
    page.editor.fields.boxes["ms"].setValue(45)  # type: ignore[attr-defined]
    page.editor.check_now()
    assert page.compare.itemText(0) == "v1 · draft"
    diff = page.show_diff()
    changed = [line for line in diff.splitlines() if line[:1] in "+-"]
    assert changed[:2] == ["--- Al2O3 laminate v1", "+++ this draft"]
    assert any("ms = 30" in line for line in changed if line.startswith("-"))
    assert any("ms = 45" in line for line in changed if line.startswith("+"))
    assert not any("version" in line for line in changed[2:])  # content only
    dialog = page.findChild(DiffDialog)
    assert dialog is not None and "ms = 45" in dialog.text.toPlainText()


def test_the_picker_offers_the_library_and_start_sends_the_recipe(
    library: RecipeLibrary, qtbot: QtBot
) -> None:
    saved = library.save_new_version(supercycle())
    library.release(saved.name, saved.version, "alice")
    newer = library.save_new_version(supercycle().model_copy(update={"description": "v2"}))
    panel = ProcessPanel(confirm=lambda *_: True)
    qtbot.addWidget(panel)
    panel.recipe.refresh(library)
    texts = [panel.recipe.itemText(i) for i in range(panel.recipe.count())]
    assert texts == [
        NO_RECIPE,
        "Al2O3 laminate v1 · released · 1 min 31 s",
        "Al2O3 laminate v2 · draft · 1 min 31 s",
    ]
    panel.set_ready(True)
    panel.operator.setText("alice")
    with qtbot.waitSignal(panel.start_requested, timeout=1000) as none:
        panel.start_button.click()
    assert none.args == ["alice", "", None]
    panel.refused(RunNotPossible("a run is active"))  # the engine said no: start again
    panel.recipe.choose(newer.name, newer.version)
    with qtbot.waitSignal(panel.start_requested, timeout=1000) as started:
        panel.start_button.click()
    assert started.args[2] == newer
    # A refresh keeps the choice.
    panel.recipe.refresh(library)
    assert panel.recipe.chosen() == newer


def test_opening_another_version_asks_before_losing_changes(
    reference_config: AppConfig, library: RecipeLibrary, qtbot: QtBot
) -> None:
    answers: list[bool] = []
    page = RecipePage(reference_config, confirm=lambda *_: answers.pop(0))
    qtbot.addWidget(page)
    page.set_library(library)
    page.editor.open_recipe(supercycle())
    assert page.save() is not None and not page.editor.has_changes()
    page.new_button.click()  # nothing to lose: no question
    assert page.editor.valid_recipe() is None and not page.editor.has_changes()
    page.open_button.click()
    page.editor.tree.setCurrentItem(page.editor.tree.items["steps[0]"])
    page.editor.fields.boxes["count"].setValue(7)  # type: ignore[attr-defined]
    assert page.editor.has_changes()
    answers.append(False)  # keep the draft
    page.new_button.click()
    assert page.editor.draft.at("steps[0]").values["count"] == 7 and answers == []
    answers.append(True)  # discard it
    page.open_button.click()
    assert page.editor.valid_recipe() == supercycle()


def test_the_picker_lists_what_was_added_meanwhile_when_opened(
    library: RecipeLibrary, qtbot: QtBot
) -> None:
    panel = ProcessPanel(confirm=lambda *_: True)
    qtbot.addWidget(panel)
    panel.show()
    panel.recipe.refresh(library)
    assert panel.recipe.count() == 1
    library.save_new_version(supercycle())  # as `ald-gui recipe import` would
    panel.recipe.showPopup()
    assert panel.recipe.itemText(1) == "Al2O3 laminate v1 · draft · 1 min 31 s"
    panel.recipe.hidePopup()
