"""The alarm list (a dock): the alarms the operator sees or has set aside, sortable,
with their guidance, and the actions on them: acknowledge the selected alarm or every
visible one (with a note), shelve for a while with a reason, unshelve, take out of
service with a reason, return to service.

Every action is a command (``command_requested``) for the engine; the list changes only
with the engine's next board.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ald_gui.domain.accounts import CONSOLE, Actor, Permission
from ald_gui.domain.alarms import AlarmBoard, AlarmState, AlarmStatus
from ald_gui.domain.commands import (
    AcknowledgeAlarm,
    RemoveFromService,
    ReturnToService,
    ShelveAlarm,
    UnshelveAlarm,
)
from ald_gui.ui.alarm_dialogs import (
    AskNote,
    AskReason,
    AskShelve,
    ask_note,
    ask_reason,
    ask_shelve,
)
from ald_gui.ui.alarm_table import COLUMNS, SORT_ROLE, AlarmTableModel
from ald_gui.ui.permission_gate import gate

__all__ = ["AlarmList"]

_WAITING = (AlarmState.UNACKNOWLEDGED, AlarmState.RETURNED_UNACKNOWLEDGED)


class AlarmList(QWidget):
    command_requested = Signal(object)  # an alarm command (domain.commands)

    def __init__(
        self,
        operator: Callable[[], str] = str,
        *,
        note: AskNote = ask_note,
        shelve: AskShelve = ask_shelve,
        reason: AskReason = ask_reason,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._operator = operator
        self._ask_note, self._ask_shelve, self._ask_reason = note, shelve, reason
        self._actor: Actor | None = CONSOLE  # who may act on alarms (permission_gate)
        self.model = AlarmTableModel()
        self.sorted = QSortFilterProxyModel(self)
        self.sorted.setSourceModel(self.model)
        self.sorted.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setModel(self.sorted)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Guidance"), QHeaderView.ResizeMode.Stretch)
        self.view.sortByColumn(COLUMNS.index("Priority"), Qt.SortOrder.DescendingOrder)
        self.view.selectionModel().selectionChanged.connect(self._enable)

        self.acknowledge = QPushButton("Acknowledge")
        self.acknowledge_all = QPushButton("Acknowledge all shown")
        self.shelve = QPushButton("Shelve…")
        self.unshelve = QPushButton("Unshelve")
        self.remove = QPushButton("Out of service…")
        self.restore = QPushButton("Return to service")
        self.empty = QLabel("No alarms.")
        actions = (
            (self.acknowledge, self._acknowledge),
            (self.acknowledge_all, self._acknowledge_all),
            (self.shelve, self._shelve),
            (self.unshelve, self._unshelve),
            (self.remove, self._remove),
            (self.restore, self._restore),
        )
        # Two rows of three: the dock shares the bottom of the window with the event log.
        buttons = QGridLayout()
        for i, (button, slot) in enumerate(actions):
            button.clicked.connect(slot)
            buttons.addWidget(button, i // 3, i % 3)
        buttons.setColumnStretch(3, 1)
        buttons.addWidget(self.empty, 0, 4)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        self._enable()

    @Slot(object)
    def show_board(self, board: AlarmBoard) -> None:
        chosen = self.selected()
        self.model.show_board(board)
        if chosen is not None:
            self.select(chosen.id)
        self._enable()

    def select(self, alarm_id: str) -> None:
        """Select the row of ``alarm_id`` (nothing if it is not listed)."""
        for row in range(self.model.rowCount()):
            if self.model.alarm(row).id == alarm_id:
                self.view.selectRow(self.sorted.mapFromSource(self.model.index(row, 0)).row())
                return
        self.view.clearSelection()

    def selected(self) -> AlarmStatus | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.alarm(self.sorted.mapToSource(rows[0]).row())

    def shown(self) -> list[AlarmStatus]:
        """The rows in the order on screen."""
        return [
            self.model.alarm(self.sorted.mapToSource(self.sorted.index(r, 0)).row())
            for r in range(self.sorted.rowCount())
        ]

    def set_actor(self, actor: Actor | None) -> None:
        """The logged-in account: the actions it may not take are grey."""
        self._actor = actor
        self._enable()

    @Slot()
    def _enable(self) -> None:
        a = self.selected()
        state = a.state if a is not None else None
        waiting = any(s.state in _WAITING for s in self.shown())
        ack, shelve = Permission.ACKNOWLEDGE_ALARMS, Permission.SHELVE_ALARMS
        service, actor = Permission.REMOVE_ALARMS_FROM_SERVICE, self._actor
        gate(self.acknowledge, state in _WAITING, ack, actor)
        gate(self.acknowledge_all, waiting, ack, actor)
        gate(self.shelve, a is not None and a.needs_attention, shelve, actor)
        gate(self.unshelve, state is AlarmState.SHELVED, shelve, actor)
        out = a is not None and state is not AlarmState.OUT_OF_SERVICE
        gate(self.remove, out, service, actor)
        gate(self.restore, state is AlarmState.OUT_OF_SERVICE, service, actor)
        self.empty.setVisible(self.model.rowCount() == 0)

    @Slot()
    def _acknowledge(self) -> None:
        a = self.selected()
        if a is None:
            return
        note = self._ask_note(self, a.definition.name)
        if note is not None:
            self.command_requested.emit(AcknowledgeAlarm(a.id, note, self._operator()))

    @Slot()
    def _acknowledge_all(self) -> None:
        waiting = [a for a in self.shown() if a.state in _WAITING]
        if not waiting:
            return
        note = self._ask_note(self, f"{len(waiting)} alarms")
        if note is None:
            return
        for a in waiting:
            self.command_requested.emit(AcknowledgeAlarm(a.id, note, self._operator()))

    @Slot()
    def _shelve(self) -> None:
        a = self.selected()
        if a is None:
            return
        answer = self._ask_shelve(self, a.definition.name)
        if answer is not None:
            seconds, why = answer
            self.command_requested.emit(ShelveAlarm(a.id, seconds, why, self._operator()))

    @Slot()
    def _unshelve(self) -> None:
        a = self.selected()
        if a is not None:
            self.command_requested.emit(UnshelveAlarm(a.id, self._operator()))

    @Slot()
    def _remove(self) -> None:
        a = self.selected()
        if a is None:
            return
        why = self._ask_reason(self, a.definition.name)
        if why is not None:
            self.command_requested.emit(RemoveFromService(a.id, why, self._operator()))

    @Slot()
    def _restore(self) -> None:
        a = self.selected()
        if a is not None:
            self.command_requested.emit(ReturnToService(a.id, self._operator()))
