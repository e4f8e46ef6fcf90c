"""Alarm performance figures (ISA-18.2 / EEMUA 191) on a dialog: alarms per 10 minutes,
time in flood, the ten most frequent, chattering and standing alarms over a chosen span.

The figures are ``store.alarm_journal.report``'s, the same as ``ald-gui alarms report``
prints; they are computed on the journal reader's thread, never on the GUI thread.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from PySide6.QtCore import QDateTime, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ald_gui.domain.alarm_kpis import FLOOD_ALARMS, AlarmKpis
from ald_gui.store.alarm_journal import report
from ald_gui.ui.journal_reader import JournalReader

__all__ = ["SPANS", "AlarmKpiDialog"]

SPANS = (("the last hour", 3600), ("the last 8 hours", 8 * 3600),
         ("the last 24 hours", 24 * 3600), ("the last 7 days", 7 * 24 * 3600),
         ("the last 30 days", 30 * 24 * 3600))  # fmt: skip


def _when(us: int) -> str:
    return QDateTime.fromMSecsSinceEpoch(us // 1000).toString("yyyy-MM-dd HH:mm")


class AlarmKpiDialog(QDialog):
    def __init__(
        self,
        reader: JournalReader,
        machine: str,
        names: Mapping[str, str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Alarm performance")
        self._reader, self._machine, self._names = reader, machine, dict(names)
        self.span = QComboBox()
        for words, seconds in SPANS:
            self.span.addItem(words, seconds)
        self.span.setCurrentIndex(2)
        self.compute = QPushButton("Compute")
        self.compute.clicked.connect(self.ask)
        self.message = QLabel("")
        self.figures = {
            key: QLabel("—") for key in ("span", "alarms", "per_10_minutes", "busiest", "flood")
        }
        self.frequent = self._table(("Alarm", "Raised"))
        self.chattering = self._table(("Alarm", "Most in a minute"))
        self.standing = self._table(("Alarm", "Active for", "State"))

        choose = QHBoxLayout()
        choose.addWidget(QLabel("Over"))
        choose.addWidget(self.span)
        choose.addWidget(self.compute)
        choose.addStretch(1)
        form = QFormLayout()
        form.addRow("Span", self.figures["span"])
        form.addRow("Alarms raised", self.figures["alarms"])
        form.addRow("Per 10 minutes (average)", self.figures["per_10_minutes"])
        form.addRow("Busiest 10 minutes", self.figures["busiest"])
        form.addRow(f"In flood (more than {FLOOD_ALARMS} in 10 minutes)", self.figures["flood"])
        layout = QVBoxLayout(self)
        layout.addLayout(choose)
        layout.addWidget(self.message)
        layout.addLayout(form)
        for title, table in (
            ("The ten most frequent", self.frequent),
            ("Chattering (3 or more in a minute)", self.chattering),
            ("Standing (active for more than a day)", self.standing),
        ):
            layout.addWidget(QLabel(title))
            layout.addWidget(table)
        reader.answered.connect(self._show)
        reader.failed.connect(self.message.setText)
        reader.busy.connect(lambda busy: self.compute.setEnabled(not busy))
        self.resize(640, 720)

    @staticmethod
    def _table(headers: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    @Slot()
    def ask(self) -> None:
        until = time.time_ns() // 1000
        since = until - int(self.span.currentData()) * 1_000_000
        machine = self._machine
        if self._reader.ask(lambda dsn: report(dsn, machine, since, until)):
            self.message.setText("Reading the journal…")

    @Slot(object)
    def _show(self, kpis: object) -> None:
        if not isinstance(kpis, AlarmKpis):
            return
        f = self.figures
        f["span"].setText(f"{_when(kpis.since_us)} to {_when(kpis.until_us)}")
        f["alarms"].setText(str(kpis.alarms))
        f["per_10_minutes"].setText(f"{kpis.per_10_minutes:.2f}")
        f["busiest"].setText(str(kpis.busiest_10_minutes))
        f["flood"].setText(f"{kpis.flood_s:.0f} s ({kpis.flood_share:.1%} of the time)")
        self._fill(self.frequent, [(self._name(x.alarm), str(x.count)) for x in kpis.most_frequent])
        self._fill(
            self.chattering,
            [(self._name(x.alarm), str(x.most_in_a_minute)) for x in kpis.chattering],
        )
        self._fill(
            self.standing,
            [
                (self._name(x.alarm), f"{x.active_s / 3600:.1f} h", x.state.value.replace("_", " "))
                for x in kpis.standing
            ],
        )
        self.message.setText("")

    def _name(self, alarm: str) -> str:
        name = self._names.get(alarm)
        return f"{name} ({alarm})" if name else alarm

    @staticmethod
    def _fill(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
        table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                table.setItem(r, c, QTableWidgetItem(text))

    def done(self, result: int) -> None:
        self._reader.stop()  # a computation under way finishes before the dialog goes
        super().done(result)
