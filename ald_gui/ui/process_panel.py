"""The process panel: what runs, who runs it, the recipe it runs, and the Start and
Stop buttons.

The buttons are enabled only when the action is possible, and the engine refuses an
impossible one too: the panel shows the engine's answer, it does not decide.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ald_gui.domain.accounts import CONSOLE, Actor, Permission
from ald_gui.domain.events import RunRefused
from ald_gui.domain.machine import RunNotPossible
from ald_gui.domain.stream import Run, RunEnded, RunStarted, now_us
from ald_gui.ui.banner_words import Condition, Weight
from ald_gui.ui.lines import Lines
from ald_gui.ui.permission_gate import gate
from ald_gui.ui.recipe_picker import RecipePicker
from ald_gui.ui.theme import icon, named

START_KEYS = QKeySequence("F5")
STOP_KEYS = QKeySequence("Shift+F5")

Confirm = Callable[[QWidget, str, str], bool]


def ask(parent: QWidget, title: str, text: str) -> bool:
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def _elapsed(since_us: int) -> str:
    seconds = max(0, (now_us() - since_us) // 1_000_000)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProcessPanel(QWidget):
    """Signals ``start_requested(operator, note, recipe or None)`` and
    ``stop_requested()`` after the operator confirmed; ``show_run`` / ``show_refusal``
    reflect the engine's answer."""

    start_requested = Signal(str, str, object)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, confirm: Confirm = ask) -> None:
        super().__init__(parent)
        self._confirm = confirm
        self._run: Run | None = None
        self._pending = False
        self._ready = False
        self._actor: Actor | None = CONSOLE  # who may start and stop (permission_gate)
        self._conditions: list[Condition] = []

        # Two lines: the run's state, then the conditions (PLC LOST since …).
        self.banner = named(Lines(2), "stateBanner")
        self.detail = named(Lines(2, wrap=True), "stateDetail")  # long conditions wrap
        # Start stays grey without it: the empty field says why.
        self.operator = QLineEdit(placeholderText="Operator name — needed to start a run")
        self.note = QLineEdit(placeholderText="Note for this run (optional)")
        self.recipe = RecipePicker()
        self.start_button = named(QPushButton("Start run"), "startButton")
        self.stop_button = named(QPushButton("Stop run"), "stopButton")
        self.start_button.setIcon(icon("start"))
        self.stop_button.setIcon(icon("stop"))
        self.start_button.setShortcut(START_KEYS)
        self.stop_button.setShortcut(STOP_KEYS)
        self.start_button.setToolTip(f"Start a process run ({START_KEYS.toString()})")
        self.stop_button.setToolTip(f"End the run in progress ({STOP_KEYS.toString()})")
        self.message = named(QLabel(wordWrap=True), "panelMessage")

        fields = QHBoxLayout()
        fields.addWidget(self.operator, 2)
        fields.addWidget(self.note, 3)
        fields.addWidget(self.start_button)
        fields.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.detail)
        layout.addLayout(fields)
        recipe_row = QHBoxLayout()
        recipe_row.addWidget(QLabel("Recipe"))
        recipe_row.addWidget(self.recipe, 1)
        layout.addLayout(recipe_row)
        layout.addWidget(self.message)

        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._refresh)
        self.operator.textChanged.connect(self._refresh)
        self.start_button.clicked.connect(self._on_start)
        self.stop_button.clicked.connect(self._on_stop)
        self._refresh()

    # -- engine's answers ----------------------------------------------------------

    def set_ready(self, ready: bool) -> None:
        """Whether the engine is open (runs can be started at all)."""
        self._ready = ready
        self._refresh()

    def set_actor(self, actor: Actor | None) -> None:
        """The logged-in account: Start and Stop are grey without its permission, and
        the next run's operator is the person (the engine records the account)."""
        self._actor = actor
        if actor is not None and actor is not CONSOLE and self._run is None:
            self.operator.setText(actor.account)
        self._refresh()

    @Slot(object)
    def show_run(self, item: object) -> None:
        if isinstance(item, RunStarted):
            self._run = item.run
            self._clock.start()
            self.message.setText("")
            self.note.clear()  # the note is this run's (shown above), not the next one's
        elif isinstance(item, RunEnded):
            self._run = None
            self._clock.stop()
            self.message.setText(
                f"Last run ended: {item.status}" + (f" ({item.reason})" if item.reason else "")
            )
        else:
            return
        self._pending = False
        self._refresh()

    def show_conditions(self, conditions: list[Condition]) -> None:
        """What else the banner must say (ald_gui.ui.banner_words), heaviest first."""
        self._conditions = conditions
        self._refresh()

    @Slot(object)
    def show_refusal(self, event: object) -> None:
        if isinstance(event, RunRefused):
            self._pending = False
            self.message.setText(f"Refused: {event.reason}")
            self._refresh()

    def refused(self, exc: RunNotPossible) -> None:
        """The engine said no at once (the request never reached the poll thread)."""
        self._pending = False
        self.message.setText(f"Refused: {exc}")
        self._refresh()

    # -- operator's actions --------------------------------------------------------

    @Slot()
    def _on_start(self) -> None:
        operator = self.operator.text().strip()
        recipe = self.recipe.chosen()
        what = f"with {self.recipe.currentText()}" if recipe is not None else "without a recipe"
        if not self._confirm(self, "Start run", f"Start a process run as {operator}, {what}?"):
            return
        self._pending = True
        self._refresh()
        self.start_requested.emit(operator, self.note.text().strip(), recipe)

    @Slot()
    def _on_stop(self) -> None:
        if self._run is None or not self._confirm(
            self, "Stop run", f"End run {str(self._run.id)[:8]} by {self._run.operator}?"
        ):
            return
        self._pending = True
        self._refresh()
        self.stop_requested.emit()

    @Slot()
    def _refresh(self) -> None:
        running = self._run is not None
        trouble = any(c.weight is Weight.TROUBLE for c in self._conditions)
        state = "trouble" if trouble else ("running" if running else "idle")
        self.banner.setProperty("runState", state)
        if self._run is not None:
            run = self._run
            started = datetime.fromtimestamp(run.started_at_us / 1e6).strftime("%H:%M:%S")
            banner = f"RUNNING  {_elapsed(run.started_at_us)}"
            recipe = f" · recipe {run.recipe} v{run.recipe_version}" if run.recipe else ""
            detail = (
                f"Run {str(run.id)[:8]} · operator {run.operator} · started {started}"
                + recipe
                + (f" · {run.note}" if run.note else "")
            )
        else:
            banner = "IDLE" if self._ready else "STARTING…"
            detail = (
                "Ready to start a run" if self._ready else "Connecting to the database and the PLC"
            )
        if self._conditions:  # said in the banner itself, not in a corner
            # On a line of its own, in the room the banner keeps for it.
            banner += "\n" + " · ".join(c.words for c in self._conditions)
            detail = " ".join(c.detail for c in self._conditions)
        self.banner.setText(banner)
        self.detail.setText(detail)
        if self.banner.property("polishedAs") != state:  # re-polish only on a change
            self.banner.setProperty("polishedAs", state)
            self.banner.style().unpolish(self.banner)
            self.banner.style().polish(self.banner)
        can_start = (
            self._ready and not running and not self._pending and bool(self.operator.text().strip())
        )
        gate(self.start_button, can_start, Permission.START_RUN, self._actor)
        gate(
            self.stop_button,
            self._ready and running and not self._pending,
            Permission.STOP_RUN,
            self._actor,
        )
        self.operator.setEnabled(not running)
        self.note.setEnabled(not running)
        self.recipe.setEnabled(not running)
