"""The recipe run panel, fed with the executor's RecipeProgress events through its slot:
every state in words, the step in words, cycle i of N per loop level, times, the bar,
and Pause / Resume / Abort (abort only once confirmed, with its reason)."""

from __future__ import annotations

import time
import uuid

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.config.process import PauseAt
from ald_gui.domain.recipe_progress import ExecutorState, LoopPosition, RecipeProgress
from ald_gui.domain.recipe_timeline import timeline
from ald_gui.domain.stream import Run, RunEnded, RunStarted, RunStatus
from ald_gui.ui.event_log import EventLog
from ald_gui.ui.event_text import Category
from ald_gui.ui.recipe_run import RecipeRunPanel, state_words
from tests.test_ui_recipe_editor import supercycle

RUN = uuid.UUID(int=11)
INNER_PULSE = "steps[0].loop.steps[0].loop.steps[2]"


class Answers:
    """The operator's answer to the abort question, and the questions asked."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.asked: list[str] = []

    def __call__(self, _parent: object, text: str) -> str | None:
        self.asked.append(text)
        return self.reason


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def panel(reference_config: AppConfig, qtbot: QtBot, answers: Answers) -> RecipeRunPanel:
    units = {t.key: t.unit for t in reference_config.tags}
    widget = RecipeRunPanel(reference_config.process, units, ask_reason=answers)
    qtbot.addWidget(widget)
    recipe = supercycle()
    run = Run(
        RUN,
        "ald-1",
        "alice",
        int(time.time() * 1e6),
        recipe=recipe.name,
        recipe_version=4,
        recipe_sha256=recipe.sha256,
        recipe_snapshot=recipe.canonical(),
    )
    widget.show_run(RunStarted(1, run))
    return widget


def progress(state: ExecutorState, message: str = "", elapsed_s: float = 12.0) -> RecipeProgress:
    loops = (
        LoopPosition("steps[0]", 2, 3),
        LoopPosition("steps[0].loop.steps[0]", 7, 10),
    )
    final = state.is_final
    return RecipeProgress(
        int(time.time() * 1e6),
        RUN,
        "Al2O3 laminate",
        state,
        "" if final else INNER_PULSE,
        "" if final else "pulse",
        () if final else loops,
        elapsed_s=elapsed_s,
        estimated_total_s=timeline(supercycle()).total_ms / 1000,
        message=message,
    )


def test_a_run_with_a_recipe_shows_the_panel_with_its_timeline(panel: RecipeRunPanel) -> None:
    assert not panel.isHidden()
    assert panel.title.text() == "Recipe Al2O3 laminate v4"
    total = timeline(supercycle()).total_ms / 1000
    assert panel.bar.total_s == pytest.approx(total)
    assert [s.kind for s in panel.bar.segments] == ["loop"]


def test_a_run_without_a_recipe_hides_the_panel(panel: RecipeRunPanel) -> None:
    panel.show_run(RunStarted(2, Run(uuid.uuid4(), "ald-1", "bob", int(time.time() * 1e6))))
    assert panel.isHidden()


@pytest.mark.parametrize(
    ("state", "message", "words"),
    [
        (ExecutorState.RUNNING, "", "Running"),
        (ExecutorState.PAUSING, "", "Pausing at the next step"),
        (ExecutorState.PAUSED, "paused: resume continues with the next step", "Paused"),
        (ExecutorState.SUSPENDED, "suspended, the PLC is lost (timed out)", "Suspended: PLC lost"),
        (ExecutorState.COMPLETED, "", "Completed"),
        (ExecutorState.ABORTED, "operator: wrong wafer", "Aborted: operator: wrong wafer"),
        (ExecutorState.FAILED, "set not reached", "Failed: set not reached"),
    ],
)
def test_each_state_in_words(
    panel: RecipeRunPanel, state: ExecutorState, message: str, words: str
) -> None:
    panel.show_progress(progress(state, message))
    assert panel.state.text() == words
    # What the executor adds is said once: in the state when final, beside it otherwise.
    assert panel.note.text() == ("" if state.is_final else message)
    buttons = (panel.pause_button, panel.resume_button, panel.abort_button)
    enabled = tuple(b.isEnabled() for b in buttons)
    assert enabled == {
        ExecutorState.RUNNING: (True, False, True),
        ExecutorState.PAUSING: (False, True, True),
        ExecutorState.PAUSED: (False, True, True),
        ExecutorState.SUSPENDED: (False, True, True),
    }.get(state, (False, False, False))


def test_the_step_and_every_loop_level_in_words(panel: RecipeRunPanel) -> None:
    panel.show_progress(progress(ExecutorState.RUNNING, elapsed_s=60.0))
    assert panel.step.text() == f"Now: pulse Valve 2 (H2O) 30 ms   ({INNER_PULSE})"
    assert panel.cycles.text() == "cycle 2 of 3  ›  cycle 7 of 10"
    assert panel.times.text().startswith("elapsed 00:01:00")
    assert "ends about" in panel.times.text()
    assert panel.bar.position_s >= 60.0
    panel.show_progress(progress(ExecutorState.PAUSED))
    assert panel.step.text().startswith("Next: pulse Valve 2 (H2O) 30 ms")
    panel.show_progress(progress(ExecutorState.COMPLETED))
    assert panel.step.text() == "" and panel.cycles.text() == ""
    assert "ends about" not in panel.times.text()


def test_pause_and_resume_ask_the_engine(panel: RecipeRunPanel, qtbot: QtBot) -> None:
    panel.show_progress(progress(ExecutorState.RUNNING))
    with qtbot.waitSignal(panel.pause_requested, timeout=1000):
        panel.pause_button.click()
    panel.show_progress(progress(ExecutorState.PAUSED))
    with qtbot.waitSignal(panel.resume_requested, timeout=1000):
        panel.resume_button.click()


def test_abort_asks_first_and_sends_the_reason(
    panel: RecipeRunPanel, qtbot: QtBot, answers: Answers
) -> None:
    panel.show_progress(progress(ExecutorState.RUNNING))
    with qtbot.assertNotEmitted(panel.abort_requested):
        panel.abort_button.click()  # the operator cancels
    assert len(answers.asked) == 1 and "safe state" in answers.asked[0]
    answers.reason = "wrong wafer"
    with qtbot.waitSignal(panel.abort_requested, timeout=1000) as aborted:
        panel.abort_button.click()
    assert aborted.args == ["wrong wafer"]


def test_a_run_ended_without_a_final_event_says_so(panel: RecipeRunPanel) -> None:
    panel.show_progress(progress(ExecutorState.RUNNING))
    panel.show_run(RunEnded(3, RUN, int(time.time() * 1e6), RunStatus.ABORTED, "console closed"))
    assert panel.state.text() == "Run ended: aborted"
    assert not panel.abort_button.isEnabled() and not panel._tick.isActive()


def test_the_event_log_keeps_the_recipes_state_changes_not_every_step(qtbot: QtBot) -> None:
    log = EventLog()
    qtbot.addWidget(log)
    for state in (ExecutorState.RUNNING, ExecutorState.RUNNING, ExecutorState.RUNNING):
        log.add(progress(state))  # three step boundaries
    log.add(progress(ExecutorState.SUSPENDED, "suspended, the PLC is lost (timed out)"))
    log.add(progress(ExecutorState.RUNNING))
    log.add(progress(ExecutorState.ABORTED, "wrong wafer; safe state verified"))
    assert [(e.category, e.message) for e in log.entries()] == [
        (Category.RUN, "Recipe Al2O3 laminate running"),
        (
            Category.RUN,
            f"Recipe Al2O3 laminate suspended at {INNER_PULSE}: "
            "suspended, the PLC is lost (timed out)",
        ),
        (Category.RUN, "Recipe Al2O3 laminate running"),
        (Category.RUN, "Recipe Al2O3 laminate aborted: wrong wafer; safe state verified"),
    ]


def test_pausing_names_the_configured_boundary() -> None:
    p = progress(ExecutorState.PAUSING, "pauses at the end of this cycle")
    assert state_words(p, PauseAt.CYCLE) == "Pausing at the end of this cycle"
    assert state_words(p, PauseAt.STEP) == "Pausing at the next step"


def test_a_long_final_reason_wraps_instead_of_widening_the_window(panel: RecipeRunPanel) -> None:
    # Seen on the demo: "Aborted: <reason>; safe state verified by read-back (6 writes)"
    # on one line pushed the main window from 1600 to 1980 px, past the screen.
    panel.show_progress(progress(ExecutorState.RUNNING))
    running = panel.minimumSizeHint().width()
    reason = "leak at the door; safe state verified by read-back (6 writes) " * 3
    panel.show_progress(progress(ExecutorState.ABORTED, reason))
    assert panel.state.text() == "Aborted: " + reason
    # The state's label is what the layout widens for (the panel's own hint is cached
    # until the next layout pass).
    assert panel.state.minimumSizeHint().width() <= running
