"""The alarm screens together: the banner, the list and the sound, fed by the engine's
``alarms_changed`` boards, their commands sent through ``Engine.submit``; the history
and the performance figures, read from the journal by readers of their own.

The engine answers each command with ``AlarmCommandDone`` or ``AlarmCommandRefused``
(its ``occurred`` signal); a refusal is said on ``message`` in the operator's words.
The screens change only when the engine's next board shows what the command did.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenuBar, QTabWidget, QWidget

from ald_gui.domain.accounts import PermissionDenied
from ald_gui.domain.alarms import AlarmCommandRefused
from ald_gui.domain.commands import Command
from ald_gui.domain.machine import RunNotPossible
from ald_gui.engine.engine import Engine
from ald_gui.ui.alarm_banner import AlarmBanner
from ald_gui.ui.alarm_history import AlarmHistory
from ald_gui.ui.alarm_kpi_dialog import AlarmKpiDialog
from ald_gui.ui.alarm_list import AlarmList
from ald_gui.ui.alarm_sound import AlarmSound
from ald_gui.ui.journal_reader import JournalReader, reader_dsn

__all__ = ["AlarmScreens"]


class AlarmScreens(QObject):
    message = Signal(str)  # a refusal or a command that could not be sent
    denied = Signal(object)  # PermissionDenied: the account may not (for the event log)

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
        alarms = engine.config.alarms
        names = {a.id: a.name or a.id for a in alarms}
        machine = engine.config.database.machine
        self._readers = [JournalReader(lambda: reader_dsn(engine), self) for _ in range(2)]
        self.history = AlarmHistory(self._readers[0], machine, {a.id: a.tag for a in alarms}, names)
        self._kpi_reader, self._names, self._machine = self._readers[1], names, machine
        self.kpis: AlarmKpiDialog | None = None
        self.tabs = QTabWidget()
        self.tabs.addTab(self.list, "Active and shelved")
        self.tabs.addTab(self.history, "History")
        for show in (self.banner.show_board, self.list.show_board, self.sound.on_board):
            engine.alarms_changed.connect(show)
        engine.occurred.connect(self._on_outcome)
        # What the operator asks goes through ``asked`` (the window signs a shelve or
        # an out of service there first), then ``submit``.
        self.asked: Callable[[Command], None] = self.submit
        self.banner.command_requested.connect(lambda command: self.asked(command))
        self.list.command_requested.connect(lambda command: self.asked(command))
        self.banner.silence_requested.connect(self.sound.silence)
        self.sound.sounding_changed.connect(self.banner.set_sounding)

    @Slot(object)
    def submit(self, command: Command) -> None:
        try:
            self._engine.submit(command)
        except PermissionDenied as exc:
            self.denied.emit(exc)
            self.message.emit(f"Alarm command not sent: {exc}")
        except RunNotPossible as exc:  # the engine is not open yet
            self.message.emit(f"Alarm command not sent: {exc}")

    @Slot(object)
    def _on_outcome(self, event: object) -> None:
        if isinstance(event, AlarmCommandRefused):
            self.message.emit(f"{event.alarm}: {event.reason}")

    def add_menu(self, bar: QMenuBar, parent: QWidget) -> None:
        """An Alarms menu: Silence (Ctrl+M) and the performance figures."""
        menu = bar.addMenu("&Alarms")
        silence = QAction("Silence", parent)
        silence.setShortcut("Ctrl+M")
        silence.triggered.connect(self.sound.silence)
        figures = QAction("Alarm performance…", parent)
        figures.triggered.connect(lambda: self.show_kpis(parent))
        menu.addAction(silence)
        menu.addAction(figures)

    def show_kpis(self, parent: QWidget) -> AlarmKpiDialog:
        """Open the performance figures (one dialog, raised again if open) and compute them."""
        if self.kpis is None:
            self.kpis = AlarmKpiDialog(self._kpi_reader, self._machine, self._names, parent)
        self.kpis.show()
        self.kpis.raise_()
        self.kpis.ask()
        return self.kpis

    def stop(self) -> None:
        """Before the window closes: silence, so no timer outlives it, and wait for a
        journal question under way."""
        self.sound.silence()
        for reader in self._readers:
            reader.stop()
