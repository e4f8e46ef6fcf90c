"""The recipe run on screen: its state in words, the step under way in words, the
cycle of every loop level, elapsed time and estimated end, the timeline bar, and the
Pause, Resume and Abort buttons.

It shows what the executor says (RecipeProgress events, at every step boundary and
state change, through ``Engine.occurred``) and asks for actions by signals; the
engine decides. Between two events the elapsed time runs on with the wall clock while
the recipe runs, so a long purge does not look frozen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ald_gui.config.process import PauseAt, ProcessSettings
from ald_gui.domain.accounts import CONSOLE, Actor, Permission
from ald_gui.domain.recipe import Recipe, Step
from ald_gui.domain.recipe_progress import ExecutorState, RecipeProgress
from ald_gui.domain.recipe_timeline import tree
from ald_gui.domain.stream import RunEnded, RunStarted
from ald_gui.ui.lines import Lines
from ald_gui.ui.permission_gate import gate
from ald_gui.ui.recipe_bar import TimelineBar, segments_of
from ald_gui.ui.recipe_words import duration_text, step_text
from ald_gui.ui.theme import named

__all__ = ["AskReason", "RecipeRunPanel", "ask_abort_reason", "state_words"]

AskReason = Callable[[QWidget, str], str | None]
"""Asks the operator to confirm an abort; returns the reason given, None to cancel."""

# As the engine asks (engine.permissions): pausing holds the run, resuming carries it on.
_PAUSE, _RESUME = Permission.STOP_RUN, Permission.START_RUN


def ask_abort_reason(parent: QWidget, text: str) -> str | None:
    reason, ok = QInputDialog.getText(
        parent, "Abort the recipe", text, QLineEdit.EchoMode.Normal, "aborted by the operator"
    )
    if not ok:
        return None
    return reason.strip() or "aborted by the operator"


def state_words(p: RecipeProgress, pause_at: PauseAt = PauseAt.STEP) -> str:
    """The executor's state as the operator reads it; a final state with its reason
    (the executor's message says the rest of the others, see ``RecipeRunPanel.note``)."""
    why = f": {p.message}" if p.message else ""
    match p.state:
        case ExecutorState.RUNNING:
            return "Running"
        case ExecutorState.PAUSING:
            at = "the end of this cycle" if pause_at is PauseAt.CYCLE else "the next step"
            return f"Pausing at {at}"
        case ExecutorState.PAUSED:
            return "Paused"
        case ExecutorState.SUSPENDED:
            return "Suspended: PLC lost"
        case ExecutorState.COMPLETED:
            return "Completed"
        case ExecutorState.ABORTED:
            return "Aborted" + why
        case ExecutorState.FAILED:
            return "Failed" + why
        case ExecutorState.IDLE:
            return "Idle"
    return str(p.state)


def _clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


class RecipeRunPanel(QWidget):
    """Feed it ``show_run`` (run_changed) and ``show_progress`` (occurred); it emits
    ``pause_requested``, ``resume_requested`` and, once confirmed with a reason,
    ``abort_requested(reason)``. Hidden until a run with a recipe starts."""

    pause_requested = Signal()
    resume_requested = Signal()
    abort_requested = Signal(str)

    def __init__(
        self,
        process: ProcessSettings,
        units: dict[str, str],
        parent: QWidget | None = None,
        *,
        ask_reason: AskReason = ask_abort_reason,
    ) -> None:
        super().__init__(parent)
        self._process = process
        self._units = units
        self._ask_reason = ask_reason
        self.recipe: Recipe | None = None
        self._steps: dict[str, Step] = {}
        self.progress: RecipeProgress | None = None
        self._received = 0.0  # monotonic time the last progress arrived
        self._active = False  # a run with a recipe is under way
        self._actor: Actor | None = CONSOLE  # who may pause and abort (permission_gate)

        # No text here widens the window: the name, the state (a final one carries its
        # reason) and the step wrap; the executor's message and the times are cut to
        # their room, whole in the tooltip (ald_gui.ui.lines).
        self.title = named(QLabel(wordWrap=True), "recipeTitle")
        self.state = named(QLabel(wordWrap=True), "recipeState")
        self.note = named(Lines(2, wrap=True), "recipeNote")  # the executor's message
        self.step = named(QLabel(wordWrap=True), "recipeStep")
        self.cycles = named(QLabel(), "recipeCycles")
        self.times = named(Lines(1), "recipeTimes")
        self.times.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.bar = TimelineBar()
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.abort_button = named(QPushButton("Abort recipe"), "abortButton")
        self.pause_button.setToolTip("Hold the recipe at its next step boundary")
        self.resume_button.setToolTip("Continue where the recipe stopped")
        self.abort_button.setToolTip("End the run now; the machine goes to its safe state")

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.state, 1)
        for b in (self.pause_button, self.resume_button, self.abort_button):
            top.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.step)
        row = QHBoxLayout()
        row.addWidget(self.cycles, 1)
        row.addWidget(self.times, 2)
        layout.addLayout(row)
        layout.addWidget(self.bar)

        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._show_times)
        self.pause_button.clicked.connect(self.pause_requested)
        self.resume_button.clicked.connect(self.resume_requested)
        self.abort_button.clicked.connect(self._on_abort)
        self.setVisible(False)
        self._enable()

    # -- the engine's news -------------------------------------------------------------

    @Slot(object)
    def show_run(self, item: object) -> None:
        """A run started (with a recipe: show it) or ended (the last state stays)."""
        if isinstance(item, RunStarted):
            snapshot = item.run.recipe_snapshot
            if not snapshot:
                self.recipe = None
                self._active = False
                self.setVisible(False)
                self._enable()
                return
            self.recipe = Recipe.from_canonical(snapshot)
            self._steps = dict(tree(self.recipe))
            self.progress = None
            version = item.run.recipe_version
            self.title.setText(
                f"Recipe {self.recipe.name}" + (f" v{version}" if version is not None else "")
            )
            self.state.setText("Starting")
            self.note.setText("")
            self.note.setVisible(False)
            self.step.setText("")
            self.cycles.setText("")
            self.times.setText("")
            self.bar.show_recipe(segments_of(self.recipe))
            self._active = True
            self.setVisible(True)
        elif isinstance(item, RunEnded) and self._active:
            self._active = False
            if self.progress is None or not self.progress.state.is_final:
                self.state.setText(f"Run ended: {item.status}")
            self._tick.stop()
        self._enable()

    @Slot(object)
    def show_progress(self, event: object) -> None:
        if not isinstance(event, RecipeProgress):
            return
        p = event
        self.progress = p
        self._received = time.monotonic()
        self.state.setText(state_words(p, self._process.rules.pause_at))
        quiet = p.state.is_final or p.state is ExecutorState.PAUSING  # said in the state
        self.note.setText("" if quiet else p.message)
        self.note.setVisible(bool(self.note.text()))
        self.state.setProperty("recipeState", p.state.value)
        self.state.style().unpolish(self.state)
        self.state.style().polish(self.state)
        self.step.setText(self.step_words(p))
        self.cycles.setText(
            "  ›  ".join(f"cycle {lp.cycle} of {lp.count}" for lp in p.loops) if p.loops else ""
        )
        if p.state is ExecutorState.RUNNING or p.state is ExecutorState.PAUSING:
            self._tick.start()
        else:
            self._tick.stop()
        self._show_times()
        self.setVisible(True)
        self._enable()

    def step_words(self, p: RecipeProgress, *, lead: bool = True) -> str:
        """The step under way (or next): what it does and, with ``lead``, "Now:" or
        "Next:" before it and its path after it."""
        if p.state.is_final or not p.step_path:
            return ""
        step = self._steps.get(p.step_path)
        what = step_text(step, self._process, self._units) if step is not None else p.step_kind
        if not lead:
            return what
        word = "Next" if p.state in (ExecutorState.PAUSED, ExecutorState.SUSPENDED) else "Now"
        return f"{word}: {what}   ({p.step_path})"

    def elapsed_s(self) -> float:
        """The run's recipe time now: the last event's, plus the wall time since while
        the recipe runs."""
        p = self.progress
        if p is None:
            return 0.0
        running = p.state in (ExecutorState.RUNNING, ExecutorState.PAUSING)
        return p.elapsed_s + (time.monotonic() - self._received if running else 0.0)

    @Slot()
    def _show_times(self) -> None:
        p = self.progress
        if p is None:
            return
        elapsed = self.elapsed_s()
        text = f"elapsed {_clock(elapsed)}"
        if not p.state.is_final and p.estimated_total_s > 0:
            left = max(0.0, p.estimated_total_s - elapsed)
            end = datetime.fromtimestamp(time.time() + left).strftime("%H:%M:%S")
            text += f"  ·  ends about {end} (in {duration_text(left)})"
        self.times.setText(text)
        self.bar.show_position(elapsed)

    # -- the operator's actions --------------------------------------------------------

    @Slot()
    def _on_abort(self) -> None:
        name = self.recipe.name if self.recipe else "the recipe"
        reason = self._ask_reason(
            self,
            f"Abort {name} now? The run ends as aborted and the machine goes to its safe "
            "state (precursor valves closed, purge and pump kept). Reason:",
        )
        if reason is not None:
            self.abort_requested.emit(reason)

    def set_actor(self, actor: Actor | None) -> None:
        """The logged-in account: the buttons are grey without its permission."""
        self._actor = actor
        self._enable()

    def _enable(self) -> None:
        state = self.progress.state if self.progress else None
        live = self._active and (state is None or not state.is_final)
        actor = self._actor
        gate(self.pause_button, live and state is ExecutorState.RUNNING, _PAUSE, actor)
        # Resume also takes back a pause asked for and not yet reached.
        held = (ExecutorState.PAUSING, ExecutorState.PAUSED, ExecutorState.SUSPENDED)
        gate(self.resume_button, live and state in held, _RESUME, actor)
        gate(self.abort_button, live, Permission.ABORT_RUN, actor)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.progress is not None and self.progress.state in (
            ExecutorState.RUNNING,
            ExecutorState.PAUSING,
        ):
            self._tick.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._tick.stop()
        super().hideEvent(event)
