"""The runs list: every machine's runs in the database, newest first, a page at a time,
narrowed by machine, start span, status, recipe, operator and a text searched in the
note and the reason. Read by the history query thread (``RunQuestions``), never on the GUI thread.

Choosing a row (a click, or Enter) says ``run_chosen(run id)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QDateTime, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
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

from ald_gui.domain.stream import RunStatus
from ald_gui.store.run_history import (
    RunChoices,
    RunFilter,
    RunSummary,
    choices,
    count_runs,
    list_runs,
)
from ald_gui.ui.recipe_words import duration_text
from ald_gui.ui.run_questions import RunQuestions

__all__ = ["COLUMNS", "RunsList", "when_text"]

COLUMNS = ("Run", "Machine", "Start", "End", "Duration", "Operator", "Recipe", "Status",
           "Reason", "Alarms", "Gaps", "Refused")  # fmt: skip
PAGE = 100
_ANY = ""


def when_text(us: int | None) -> str:
    if us is None:
        return ""
    return QDateTime.fromMSecsSinceEpoch(us // 1000).toString("yyyy-MM-dd HH:mm:ss")


def recipe_text(r: RunSummary) -> str:
    if not r.recipe:
        return ""
    return f"{r.recipe} v{r.recipe_version}" if r.recipe_version else r.recipe


class RunsList(QWidget):
    run_chosen = Signal(object)  # uuid.UUID

    def __init__(self, reader: RunQuestions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reader = reader
        self._shown = RunFilter(limit=PAGE)
        self._total = 0
        self.runs: list[RunSummary] = []
        self.machine, self.status, self.recipe, self.operator = (QComboBox() for _ in range(4))
        self.status.addItem("any status", None)
        for s in RunStatus:
            self.status.addItem(s.value, s)
        self._fill(RunChoices((), (), ()))
        now = QDateTime.currentDateTime()
        self.use_span = QCheckBox("started from")
        self.since = QDateTimeEdit(now.addDays(-7))
        self.until = QDateTimeEdit(now.addDays(1))
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.text = QLineEdit()
        self.text.setPlaceholderText("search the note and the reason")
        self.text.returnPressed.connect(self.search)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        self.newer = QPushButton("◀ Newer")
        self.older = QPushButton("Older ▶")
        self.newer.clicked.connect(lambda: self._ask(self._shown.page(self._shown.offset - PAGE)))
        self.older.clicked.connect(lambda: self._ask(self._shown.page(self._shown.offset + PAGE)))
        self.message = QLabel("")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._chosen)

        filters = QHBoxLayout()
        for widget in (self.machine, self.status, self.recipe, self.operator, self.use_span,
                       self.since, QLabel("to"), self.until, self.text):  # fmt: skip
            filters.addWidget(widget)
        filters.addWidget(self.search_button)
        pages = QHBoxLayout()
        pages.addWidget(self.message, 1)
        pages.addWidget(self.newer)
        pages.addWidget(self.older)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(pages)
        reader.answered.connect(self._answered)
        reader.failed.connect(self._failed)
        self._pages()

    def _fill(self, found: RunChoices) -> None:
        for combo, everything, values in (
            (self.machine, "every machine", found.machines),
            (self.recipe, "any recipe", found.recipes),
            (self.operator, "any operator", found.operators),
        ):
            kept = combo.currentData() or _ANY
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everything, _ANY)
            for v in values:
                combo.addItem(v, v)
            combo.setCurrentIndex(max(0, combo.findData(kept)))
            combo.blockSignals(False)

    def wanted(self) -> RunFilter:
        """What the filters ask for now (the first page)."""
        span = self.use_span.isChecked()
        return RunFilter(
            machine=self.machine.currentData() or _ANY,
            since_us=self.since.dateTime().toMSecsSinceEpoch() * 1000 if span else None,
            until_us=self.until.dateTime().toMSecsSinceEpoch() * 1000 if span else None,
            status=RunStatus(status) if (status := self.status.currentData()) else None,
            recipe=self.recipe.currentData() or _ANY,
            operator=self.operator.currentData() or _ANY,
            text=self.text.text(),
            limit=PAGE,
        )

    @Slot()
    def search(self) -> None:
        self._ask(self.wanted())

    def _ask(self, wanted: RunFilter) -> None:
        self.reader.ask(
            lambda conn: (wanted, list_runs(conn, wanted), count_runs(conn, wanted), choices(conn))
        )
        self.message.setText("Reading the runs…")

    @Slot(object)
    def _answered(self, answer: object) -> None:
        assert isinstance(answer, tuple)
        self._shown, runs, self._total, found = answer
        self._fill(found)
        self._show(runs)

    @Slot(str)
    def _failed(self, text: str) -> None:
        self.message.setText(text)

    def _show(self, runs: Sequence[RunSummary]) -> None:
        self.runs = list(runs)
        self.table.blockSignals(True)
        self.table.clearSelection()
        self.table.setRowCount(len(runs))
        for row, r in enumerate(runs):
            cells = (
                str(r.id)[:8], r.machine, when_text(r.started_us),
                when_text(r.ended_us) or "running",
                "" if r.duration_s is None else duration_text(r.duration_s),
                r.operator, recipe_text(r), r.status.value, r.reason,
                str(r.alarms), str(r.gaps), str(r.refusals),
            )  # fmt: skip
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.blockSignals(False)
        self._pages()

    def _pages(self) -> None:
        first = self._shown.offset + 1 if self.runs else 0
        self.message.setText(f"Runs {first}–{self._shown.offset + len(self.runs)} of {self._total}")
        self.newer.setEnabled(self._shown.offset > 0)
        self.older.setEnabled(self._shown.offset + len(self.runs) < self._total)

    @Slot()
    def _chosen(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        if len(rows) == 1:
            self.run_chosen.emit(self.runs[rows.pop()].id)

    def entries(self) -> list[list[str]]:
        """The table's text, row by row, as on screen."""
        rows = []
        for r in range(self.table.rowCount()):
            items = (self.table.item(r, c) for c in range(self.table.columnCount()))
            rows.append([item.text() if item is not None else "" for item in items])
        return rows
