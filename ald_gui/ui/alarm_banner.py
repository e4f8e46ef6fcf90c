"""The alarm banner along the top of the window: the highest-priority alarm still
waiting for an acknowledgement, in words and large enough to read from two metres, the
counts of unacknowledged and active alarms, Acknowledge and Silence.

It paints what the engine's last ``AlarmBoard`` says and nothing else: Acknowledge asks
for the command (``command_requested``), and the banner changes only when the engine's
next board shows the alarm acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from ald_gui.domain.accounts import CONSOLE, Actor, Permission
from ald_gui.domain.alarms import AlarmBoard, AlarmState, AlarmStatus
from ald_gui.domain.commands import AcknowledgeAlarm
from ald_gui.ui.alarm_look import look, state_words, when
from ald_gui.ui.permission_gate import gate
from ald_gui.ui.theme import named

__all__ = ["AlarmBanner", "banner_alarm", "counts"]

_WAITING = (AlarmState.UNACKNOWLEDGED, AlarmState.RETURNED_UNACKNOWLEDGED)
# Read from two metres: sizes in the banner's own sheet, since the theme's sheet sets
# every widget's font size (a QFont set in code would lose to it).
_SIZES = (
    "QLabel#alarmPriority, QLabel#alarmMessage { font-size: 22pt; font-weight: 700; }"
    " QLabel#alarmGuidance { font-size: 13pt; }"
    " QLabel#alarmCount, QFrame#alarmBanner QPushButton { font-size: 15pt; font-weight: 600; }"
)


def banner_alarm(board: AlarmBoard) -> AlarmStatus | None:
    """The alarm the banner shows: the highest-priority unacknowledged one (newest
    first within a priority); with none unacknowledged, the highest still active."""
    shown = board.attention()
    waiting = [a for a in shown if a.state in _WAITING]
    first = waiting or list(shown)
    return first[0] if first else None


def counts(board: AlarmBoard) -> tuple[int, int]:
    """(unacknowledged, active) among the alarms the operator sees."""
    shown = board.attention()
    return sum(a.state in _WAITING for a in shown), sum(a.active for a in shown)


class AlarmBanner(QFrame):
    command_requested = Signal(object)  # an AcknowledgeAlarm
    silence_requested = Signal()

    def __init__(self, operator: Callable[[], str] = str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        self._operator = operator
        self._shown: AlarmStatus | None = None
        self._actor: Actor | None = CONSOLE  # who may acknowledge (permission_gate)
        self.priority = named(QLabel(), "alarmPriority")
        self.message = named(QLabel(), "alarmMessage")
        self.guidance = named(QLabel(), "alarmGuidance")
        self.count = named(QLabel(), "alarmCount")
        for label in (self.message, self.guidance):
            # Long words wrap inside the banner; they never widen the window.
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.acknowledge = QPushButton("Acknowledge")
        self.acknowledge.clicked.connect(self._acknowledge)
        self.silence = QPushButton("Silence")
        self.silence.setEnabled(False)
        self.silence.clicked.connect(self.silence_requested)

        # The alarm's name on the first line, its state and guidance under it; the
        # shape and word of the priority before both, the buttons and counts after.
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 4, 10, 4)
        grid.addWidget(self.priority, 0, 0, 2, 1)
        grid.addWidget(self.message, 0, 1)
        grid.addWidget(self.guidance, 1, 1)
        grid.addWidget(self.acknowledge, 0, 2)
        grid.addWidget(self.silence, 0, 3)
        grid.addWidget(self.count, 1, 2, 1, 2, Qt.AlignmentFlag.AlignRight)
        grid.setColumnStretch(1, 1)
        self.show_board(AlarmBoard(at_us=0))

    @property
    def shown(self) -> AlarmStatus | None:
        """The alarm on the banner now, or None."""
        return self._shown

    @Slot(object)
    def show_board(self, board: AlarmBoard) -> None:
        alarm = self._shown = banner_alarm(board)
        unacknowledged, active = counts(board)
        self.count.setText(f"{unacknowledged} unacknowledged · {active} active")
        if alarm is None:
            self.priority.setText("✓")
            self.message.setText("No alarms")
            self.guidance.setText("")
            gate(self.acknowledge, False, Permission.ACKNOWLEDGE_ALARMS, self._actor)
            self.setStyleSheet(_SIZES)
            return
        d = alarm.definition
        shape = look(d.priority)
        self.priority.setText(shape.label())
        value = "" if alarm.value is None else f" — {alarm.value:.4g}"
        self.message.setText(f"{d.name}{value}")
        since = when(alarm.raised_at_us)
        state = f"{state_words(alarm)}{f' since {since}' if since else ''}"
        self.guidance.setText(f"{state}. {d.guidance}" if d.guidance else f"{state}.")
        waiting = alarm.state in _WAITING
        gate(self.acknowledge, waiting, Permission.ACKNOWLEDGE_ALARMS, self._actor)
        self.setStyleSheet(
            f"{_SIZES} QFrame#alarmBanner {{ background: {shape.colour}; }}"
            f" QFrame#alarmBanner QLabel {{ color: {shape.text_colour}; }}"
        )

    def set_actor(self, actor: Actor | None) -> None:
        """The logged-in account: Acknowledge is grey without its permission."""
        self._actor = actor
        waiting = self._shown is not None and self._shown.state in _WAITING
        gate(self.acknowledge, waiting, Permission.ACKNOWLEDGE_ALARMS, actor)

    @Slot(bool)
    def set_sounding(self, sounding: bool) -> None:
        self.silence.setEnabled(sounding)

    @Slot()
    def _acknowledge(self) -> None:
        if self._shown is not None:
            self.command_requested.emit(AcknowledgeAlarm(self._shown.id, operator=self._operator()))
