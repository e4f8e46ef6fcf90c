"""The audible alarm: a new high or critical alarm sounds, again every few seconds,
until the operator silences it, acknowledges it, or it is gone.

Silence lasts until the next new high or critical alarm, as on a control-room annunciator
(ISA-18.2): it quiets the horn, it acknowledges nothing. The sound itself is a callable
(``QApplication.beep`` by default), so a test counts the calls through that seam.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from ald_gui.domain.alarms import AlarmBoard, AlarmEventKind, AlarmState, Priority

__all__ = ["AlarmSound"]

_LOUD = Priority.HIGH  # this priority and above sound
_WAITING = (AlarmState.UNACKNOWLEDGED, AlarmState.RETURNED_UNACKNOWLEDGED)


class AlarmSound(QObject):
    """Emits ``sounding_changed(bool)`` when the horn starts or stops."""

    sounding_changed = Signal(bool)

    def __init__(
        self,
        beep: Callable[[], None] = QApplication.beep,
        *,
        repeat_s: float = 3.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._beep = beep
        self._timer = QTimer(self)
        self._timer.setInterval(round(repeat_s * 1000))
        self._timer.timeout.connect(self._beep_again)

    @property
    def sounding(self) -> bool:
        return self._timer.isActive()

    @Slot(object)
    def on_board(self, board: AlarmBoard) -> None:
        """Sound for a new loud occurrence in ``board.events``; stop once no loud alarm
        waits for an acknowledgement (shelved, acknowledged or out of service)."""
        raised = any(e.event is AlarmEventKind.RAISED and e.priority >= _LOUD for e in board.events)
        waiting = any(a.state in _WAITING and a.definition.priority >= _LOUD for a in board.alarms)
        if raised and waiting:
            self._beep()
            if not self._timer.isActive():
                self._timer.start()
                self.sounding_changed.emit(True)
        elif not waiting:
            self.silence()

    @Slot()
    def silence(self) -> None:
        """Stop the sound until the next new high or critical alarm."""
        if self._timer.isActive():
            self._timer.stop()
            self.sounding_changed.emit(False)

    @Slot()
    def _beep_again(self) -> None:
        self._beep()
