"""The recipe editor, offscreen: building a nested recipe, fields, inline findings."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step, StepKind
from ald_gui.ui.recipe_draft import DraftStep, RecipeDraft
from ald_gui.ui.recipe_editor import RecipeEditor


@pytest.fixture
def editor(reference_config: AppConfig, qtbot: QtBot) -> RecipeEditor:
    widget = RecipeEditor(reference_config)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def supercycle() -> Recipe:
    """TMA/H2O cycles, 10 of them inside each of 3 supercycles ending with a long purge."""
    pulse_purge = (
        Step.of(Pulse(valve="Valve 1", ms=20)),
        Step.of(Purge(ms=1000)),
        Step.of(Pulse(valve="Valve 2", ms=30)),
        Step.of(Purge(ms=1500)),
    )
    inner = Step.of(Loop(count=10, steps=pulse_purge))
    return Recipe(
        name="Al2O3 laminate",
        author="alice",
        steps=(Step.of(Loop(count=3, steps=(inner, Step.of(Purge(ms=5000))))),),
    )


def test_the_editor_builds_a_nested_recipe_from_its_buttons(editor: RecipeEditor) -> None:
    editor.name.setText("Al2O3 laminate")
    editor.name.textEdited.emit("Al2O3 laminate")
    editor.author.setText("alice")
    editor.author.textEdited.emit("alice")
    first = editor.add_step(StepKind.PULSE, valve="Valve 1", ms=20)
    editor.add_step(StepKind.PURGE, ms=1000)
    editor.add_step(StepKind.PULSE, valve="Valve 2", ms=30)
    last = editor.add_step(StepKind.PURGE, ms=1500)
    # Select the four steps and wrap them in a loop of 10 cycles.
    for path in (first, "steps[1]", "steps[2]", last):
        editor.tree.items[path].setSelected(True)
    editor.wrap_button.click()
    assert editor.tree.current_path() == "steps[0]"
    count = editor.fields.boxes["count"]
    assert isinstance(count, QSpinBox)
    count.setValue(10)
    # ... and that loop, with a long purge after it, in a supercycle of 3.
    editor.wrap_button.click()
    editor.fields.boxes["count"].setValue(3)  # type: ignore[attr-defined]
    editor.tree.setCurrentItem(editor.tree.items["steps[0].loop.steps[0]"])
    editor.add_step(StepKind.PURGE, ms=5000)
    editor.check_now()
    assert editor.valid_recipe() == supercycle()
    assert editor.tree.items["steps[0].loop.steps[0]"].text(0) == "repeat 10× (4 steps)"
    assert editor.tree.items["steps[0].loop.steps[0].loop.steps[0]"].text(0) == (
        "pulse Valve 1 (TMA) 20 ms"
    )


def test_moving_and_removing_steps(editor: RecipeEditor) -> None:
    editor.open_recipe(supercycle())
    inner = "steps[0].loop.steps[0]"
    editor.tree.setCurrentItem(editor.tree.items[f"{inner}.loop.steps[3]"])
    editor.up_button.click()
    assert editor.tree.current_path() == f"{inner}.loop.steps[2]"
    steps = editor.valid_recipe().steps[0].loop.steps[0].loop.steps  # type: ignore[union-attr]
    assert [s.kind for s in steps] == ["pulse", "purge", "purge", "pulse"]
    editor.remove_button.click()
    editor.check_now()
    assert len(editor.draft.at(inner).children) == 3


def test_a_field_edit_changes_the_step(editor: RecipeEditor, qtbot: QtBot) -> None:
    editor.open_recipe(supercycle())
    path = "steps[0].loop.steps[0].loop.steps[2]"
    editor.tree.setCurrentItem(editor.tree.items[path])
    valve = editor.fields.boxes["valve"]
    assert isinstance(valve, QComboBox)
    valve.setCurrentIndex(valve.findData("Valve 3"))
    editor.fields.boxes["ms"].setValue(45)  # type: ignore[attr-defined]
    assert editor.draft.at(path).values == {"valve": "Valve 3", "ms": 45}
    assert editor.tree.items[path].text(0) == "pulse Valve 3 (precursor 3) 45 ms"


def test_an_incomplete_step_is_named_on_its_own_row(editor: RecipeEditor) -> None:
    editor.open_recipe(supercycle())
    editor.tree.setCurrentItem(editor.tree.items["steps[0]"])
    editor.add_step(StepKind.PULSE)  # no valve chosen yet
    editor.check_now()
    assert "valve" in editor.tree.items["steps[1]"].text(1)
    assert editor.tree.items["steps[0]"].text(1) == ""
    assert editor.valid_recipe() is None
    assert "1 error" in editor.summary.text()


def test_draft_round_trip_keeps_every_field() -> None:
    recipe = supercycle()
    assert RecipeDraft(recipe).recipe() == recipe
    draft = RecipeDraft(recipe)
    with pytest.raises(ValueError, match="next to each other"):
        draft.wrap(["steps[0].loop.steps[0].loop.steps[0]", "steps[0].loop.steps[1]"])
    draft.insert(DraftStep.new(StepKind.WAIT, ms=0), "steps[0]")
    assert draft.problems() == {"steps[0].loop.steps[2]": "wait.ms: Input should be greater than 0"}


def test_a_wait_switches_to_a_condition_on_a_tag(editor: RecipeEditor, qtbot: QtBot) -> None:
    path = editor.add_step(StepKind.WAIT)
    mode = editor.fields.boxes["mode"]
    assert isinstance(mode, QComboBox)
    mode.setCurrentIndex(1)  # a condition on a tag: the form is rebuilt for it
    qtbot.waitUntil(lambda: "tag" in editor.fields.boxes, timeout=1000)
    tag = editor.fields.boxes["tag"]
    assert isinstance(tag, QComboBox)
    tag.setCurrentIndex(tag.findData("pressure_gauge_1.pressure_read"))
    qtbot.waitUntil(lambda: "Pa" in editor.fields.boxes["value"].suffix(), timeout=1000)  # type: ignore[attr-defined]
    editor.fields.boxes["value"].setValue(100)  # type: ignore[attr-defined]
    editor.fields.boxes["timeout_ms"].setValue(120_000)  # type: ignore[attr-defined]
    assert editor.draft.at(path).values == {
        "until": {"tag": "pressure_gauge_1.pressure_read", "op": "<", "value": 100.0},
        "timeout_ms": 120_000,
    }
    assert editor.tree.items[path].text(0) == (
        "wait until pressure_gauge_1.pressure_read < 100 Pa (at most 2 min)"
    )


def test_a_set_shows_its_tags_unit_and_limits(editor: RecipeEditor, qtbot: QtBot) -> None:
    editor.name.setText("heat")
    editor.name.textEdited.emit("heat")
    path = editor.add_step(StepKind.SET)
    tag = editor.fields.boxes["tag"]
    assert isinstance(tag, QComboBox)
    tag.setCurrentIndex(tag.findData("chamber_heater.temperature_set"))
    qtbot.waitUntil(lambda: editor.fields.boxes["value"].suffix() == " °C", timeout=1000)  # type: ignore[attr-defined]
    limits = [
        w.text() for w in editor.fields.findChildren(QLabel) if w.objectName() == "fieldLimits"
    ]
    assert "0..1000 °C" in limits
    editor.fields.boxes["value"].setValue(5000)  # beyond the tag's max: kept as typed
    editor.check_now()
    assert editor.draft.at(path).values["value"] == 5000
    check = editor.tree.items[path].text(1)
    assert check.startswith("✖") and "1000" in check
