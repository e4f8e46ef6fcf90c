"""The alarm screens together: the banner, the list and the sound, fed by the engine's
``alarms_changed`` boards, their commands sent through ``Engine.submit``.

The engine answers each command with ``AlarmCommandDone`` or ``AlarmCommandRefused``
(its ``occurred`` signal); a refusal is said on ``message`` in the operator's words.
The screens change only when the engine's next board shows what the command did.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from ald_gui.domain.alarms import AlarmCommandRefused
from ald_gui.domain.commands import Command
from ald_gui.domain.machine import RunNotPossible
from ald_gui.engine.engine import Engine
from ald_gui.ui.alarm_banner import AlarmBanner
from ald_gui.ui.alarm_list import AlarmList
from ald_gui.ui.alarm_sound import AlarmSound

__all__ = ["AlarmScreens"]


class AlarmScreens(QObject):
    message = Signal(str)  # a refusal or a command that could not be sent

    def __init__(
        self,
        engine: Engine,
        operator: Callable[[], str],
        *,
        beep: Callable[[], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self.banner = AlarmBanner(operator)
        self.list = AlarmList(operator)
        self.sound = AlarmSound(beep) if beep is not None else AlarmSound()
        for show in (self.banner.show_board, self.list.show_board, self.sound.on_board):
            engine.alarms_changed.connect(show)
        engine.occurred.connect(self._on_outcome)
        self.banner.command_requested.connect(self.submit)
        self.list.command_requested.connect(self.submit)
        self.banner.silence_requested.connect(self.sound.silence)
        self.sound.sounding_changed.connect(self.banner.set_sounding)

    @Slot(object)
    def submit(self, command: Command) -> None:
        try:
            self._engine.submit(command)
        except RunNotPossible as exc:  # the engine is not open yet
            self.message.emit(f"Alarm command not sent: {exc}")

    @Slot(object)
    def _on_outcome(self, event: object) -> None:
        if isinstance(event, AlarmCommandRefused):
            self.message.emit(f"{event.alarm}: {event.reason}")

    def stop(self) -> None:
        """Silence before the window closes, so no timer outlives it."""
        self.sound.silence()
