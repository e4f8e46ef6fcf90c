"""Alarm history (a tab of the alarm dock): the journal's entries filtered by time,
priority, tag and run, read through the reader role on a thread of its own
(``JournalReader``), never on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import psycopg
from PySide6.QtCore import QDateTime, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ald_gui.domain.alarms import AlarmEvent, Priority
from ald_gui.store.alarm_journal import journal_span
from ald_gui.ui.alarm_history_query import SYSTEM, HistoryQuery, matching
from ald_gui.ui.alarm_look import look
from ald_gui.ui.journal_reader import JournalReader

__all__ = ["AlarmHistory"]

COLUMNS = ("Time", "Priority", "Alarm", "Event", "State", "Value", "Operator", "Note", "Run")
_CONNECT_TIMEOUT_S = 5


def _us(edit: QDateTimeEdit) -> int:
    return edit.dateTime().toMSecsSinceEpoch() * 1000


class AlarmHistory(QWidget):
    def __init__(
        self,
        reader: JournalReader,
        machine: str,
        alarm_tags: Mapping[str, str],
        names: Mapping[str, str],
        parent: QWidget | None = None,
    ) -> None:
        """``alarm_tags``: each configured alarm's tag ("" for a system alarm);
        ``names``: each alarm's name as the operator knows it."""
        super().__init__(parent)
        self.reader, self._machine = reader, machine
        self._tags, self._names = dict(alarm_tags), dict(names)
        now = QDateTime.currentDateTime()
        self.since = QDateTimeEdit(now.addSecs(-24 * 3600))
        self.until = QDateTimeEdit(now.addSecs(3600))
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.priority = QComboBox()
        self.priority.addItem("any priority", None)
        for p in Priority:
            self.priority.addItem(f"{look(p).label()} and above", p)
        self.tag = QComboBox()
        self.tag.addItem("any tag", "")
        for tag in sorted({t for t in self._tags.values() if t}):
            self.tag.addItem(tag, tag)
        self.tag.addItem("system alarms", SYSTEM)
        self.run = QLineEdit()
        self.run.setPlaceholderText("run id (its first characters)")
        self.search = QPushButton("Search")
        self.search.clicked.connect(self.ask)
        self.message = QLabel("")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)

        # Two rows, and the tag list as narrow as 20 characters: the filters must not
        # make the window wider than 1600 px (it shares the column with the table).
        self.tag.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.tag.setMinimumContentsLength(20)
        times, which = QHBoxLayout(), QHBoxLayout()
        for row, label, widget in (
            (times, "From", self.since),
            (times, "to", self.until),
            (which, "", self.priority),
            (which, "", self.tag),
            (which, "", self.run),
        ):
            if label:
                row.addWidget(QLabel(label))
            row.addWidget(widget)
        times.addStretch(1)
        times.addWidget(self.search)
        layout = QVBoxLayout(self)
        layout.addLayout(times)
        layout.addLayout(which)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        reader.answered.connect(self._show)
        reader.failed.connect(self.message.setText)
        reader.busy.connect(lambda busy: self.search.setEnabled(not busy))

    def query(self) -> HistoryQuery:
        """The question the filters ask now."""
        return HistoryQuery(
            _us(self.since),
            _us(self.until),
            self.priority.currentData(),
            self.tag.currentData(),
            self.run.text(),
        )

    @Slot()
    def ask(self) -> None:
        query, machine, tags = self.query(), self._machine, self._tags
        if query.until_us <= query.since_us:
            self.message.setText("The end of the span is before its start: nothing to search.")
            return

        def work(dsn: str) -> tuple[HistoryQuery, list[AlarmEvent]]:
            with psycopg.connect(dsn, connect_timeout=_CONNECT_TIMEOUT_S) as conn:
                events = journal_span(conn, machine, query.since_us, query.until_us)
            return query, matching(query, events, tags)

        if self.reader.ask(work):
            self.message.setText("Searching the journal…")

    @Slot(object)
    def _show(self, answer: tuple[HistoryQuery, Sequence[AlarmEvent]]) -> None:
        entries = answer[1]
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(entries))
        for row, e in enumerate(entries):
            stamp = QDateTime.fromMSecsSinceEpoch(e.at_us // 1000).toString("yyyy-MM-dd HH:mm:ss")
            cells = (
                stamp,
                look(e.priority).label(),
                self._names.get(e.alarm, e.alarm),
                e.event.value,
                e.state.value.replace("_", " "),
                "" if e.value is None else f"{e.value:g}",
                e.operator,
                e.note,
                "" if e.run_id is None else str(e.run_id)[:8],
            )
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.setSortingEnabled(True)
        self.message.setText(f"{len(entries)} entries.")

    def entries(self) -> list[list[str]]:
        """The table's text, row by row, as on screen."""
        rows = []
        for r in range(self.table.rowCount()):
            items = (self.table.item(r, c) for c in range(self.table.columnCount()))
            rows.append([item.text() if item is not None else "" for item in items])
        return rows
