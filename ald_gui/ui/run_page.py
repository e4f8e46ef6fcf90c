"""One past run's page: its metadata, the recipe it ran (the snapshot), its step
timeline, its alarm entries, its trends from the database and the overlay on the golden
run (or any other); "Mark golden" makes it the golden run of its recipe.

Everything is read by the history query thread under the page's topic (reader role),
and a marking written by the writer's query thread (``RunQuestions`` both), never on
the GUI thread; choosing another run supersedes the questions still due for the last.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ald_gui.domain.run_alignment import cycle_starts
from ald_gui.domain.stream import RunStatus
from ald_gui.store.golden_runs import golden_run, mark_golden
from ald_gui.store.run_curves import TagInfo, recorded_tags, run_curves
from ald_gui.store.run_history import RunRecord, run_record
from ald_gui.ui.overlay_view import OverlayView
from ald_gui.ui.recipe_words import duration_text
from ald_gui.ui.run_questions import RunQuestions
from ald_gui.ui.run_trends import FIRST_SHOWN, RunTrends
from ald_gui.ui.runs_list import recipe_text, when_text

__all__ = ["RunPage"]

STEP_COLUMNS = ("Start", "At (s)", "Step", "Kind", "Cycle", "Took", "Outcome", "Detail")
ALARM_COLUMNS = ("Time", "At (s)", "Alarm", "Event", "State", "Value", "Operator", "Note")


def _table(columns: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            table.setItem(r, c, QTableWidgetItem(text))


class RunPage(QWidget):
    golden_changed = Signal(object)  # the run whose golden mark changed (uuid.UUID)

    def __init__(
        self,
        reader: RunQuestions,
        writer: RunQuestions,
        overlay_reader: RunQuestions,
        who: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        """``who``: the name a golden marking is made under (the logged-in account)."""
        super().__init__(parent)
        self.reader, self.writer, self._who = reader, writer, who
        self.overlay = OverlayView(overlay_reader)
        self.record: RunRecord | None = None
        self.golden = False
        self._tags: list[TagInfo] = []
        self.title = QLabel("Choose a run in the list.")
        self.title.setWordWrap(True)
        self.facts = QFormLayout()
        self._fact_labels: dict[str, QLabel] = {}
        for name in ("Machine", "Started", "Ended", "Duration", "Operator", "Recipe",
                     "Status", "Note", "Figures", "Golden"):  # fmt: skip
            label = QLabel("")
            label.setWordWrap(True)
            self._fact_labels[name] = label
            self.facts.addRow(name, label)
        self.mark = QPushButton("Mark golden")
        self.mark.setEnabled(False)
        self.mark.clicked.connect(self._toggle_golden)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.steps = _table(STEP_COLUMNS)
        self.alarms = _table(ALARM_COLUMNS)
        self.recipe = QPlainTextEdit()
        self.recipe.setReadOnly(True)
        self.trends = RunTrends()
        self.trends.chosen_changed.connect(self._ask_curves)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.trends, "Trends")
        self.tabs.addTab(self.steps, "Steps")
        self.tabs.addTab(self.alarms, "Alarms")
        self.tabs.addTab(self.recipe, "Recipe")
        self.tabs.addTab(self.overlay, "Overlay")
        buttons = QHBoxLayout()
        buttons.addWidget(self.mark)
        buttons.addStretch(1)
        self.buttons = buttons  # the export and report buttons join here
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(self.facts)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)
        reader.answered.connect(self._answered)
        reader.failed.connect(self.message.setText)
        writer.answered.connect(self._marked)
        writer.failed.connect(self._not_marked)

    @property
    def run_id(self) -> uuid.UUID | None:
        return None if self.record is None else self.record.summary.id

    @Slot(object)
    def show_run(self, run_id: uuid.UUID) -> None:
        """Read run ``run_id`` (its record, its golden mark, its tags) and show it."""
        chosen, width = self.trends.chosen(), self.trends.width_px()

        def work(conn: psycopg.Connection[Any]) -> tuple[str, object]:
            record = run_record(conn, run_id)
            s = record.summary
            golden = bool(s.recipe) and golden_run(conn, s.machine, s.recipe) == s.id
            tags = recorded_tags(conn, s.machine)
            keys = chosen or [t.key for t in tags if t.plotted][:FIRST_SHOWN]
            return "run", (record, golden, tags, run_curves(conn, s, keys, width))

        self.message.setText("Reading the run…")
        self.reader.ask(work)

    @Slot()
    def _ask_curves(self) -> None:
        record, keys, width = self.record, self.trends.chosen(), self.trends.width_px()
        if record is None:
            return
        self.reader.ask(lambda conn: ("curves", run_curves(conn, record.summary, keys, width)))

    @Slot(object)
    def _answered(self, answer: object) -> None:
        assert isinstance(answer, tuple)
        what, body = answer
        if what == "run":
            record, self.golden, self._tags, curves = body
            self._show(record)
            self.overlay.set_run(record, self._tags)
        else:
            curves = body
        assert self.record is not None
        s = self.record.summary
        self.trends.show_curves(
            curves, s.started_us, list(cycle_starts(self.record.steps).values())
        )

    def _show(self, record: RunRecord) -> None:
        self.record = record
        s = record.summary
        self.title.setText(f"<b>Run {s.id}</b>")
        facts = {
            "Machine": s.machine,
            "Started": when_text(s.started_us),
            "Ended": when_text(s.ended_us) or "still running",
            "Duration": "" if s.duration_s is None else duration_text(s.duration_s),
            "Operator": s.operator,
            "Recipe": recipe_text(s) or "no recipe",
            "Status": s.status.value + (f": {s.reason}" if s.reason else ""),
            "Note": s.note,
            "Figures": f"{s.alarms} alarms raised, {s.gaps} gaps, {s.refusals} refused writes",
        }
        for name, text in facts.items():
            self._fact_labels[name].setText(text)
        self._show_golden()
        self.trends.list_tags(self._tags)
        _fill(self.steps, [
            (when_text(st.started_at_us), f"{(st.started_at_us - s.started_us) / 1e6:.3f}",
             st.path, st.kind, ".".join(map(str, st.cycles)),
             duration_text((st.ended_at_us - st.started_at_us) / 1e6), st.outcome, st.detail)
            for st in record.steps
        ])  # fmt: skip
        _fill(self.alarms, [
            (when_text(a.at_us), f"{(a.at_us - s.started_us) / 1e6:.3f}", a.alarm, a.event.value,
             a.state.value.replace("_", " "), "" if a.value is None else f"{a.value:g}",
             a.operator, a.note)
            for a in record.alarms
        ])  # fmt: skip
        snapshot = record.recipe_snapshot
        self.recipe.setPlainText(
            json.dumps(json.loads(snapshot), indent=2) if snapshot else "This run ran no recipe."
        )
        self.message.setText("")

    def _show_golden(self) -> None:
        s = None if self.record is None else self.record.summary
        can = s is not None and bool(s.recipe) and s.status is RunStatus.COMPLETED
        self.mark.setEnabled(can)
        self.mark.setText("Unmark golden" if self.golden else "Mark golden")
        if s is not None:
            self._fact_labels["Golden"].setText(
                f"the golden run of {s.recipe!r}" if self.golden else "no"
            )

    @Slot()
    def _toggle_golden(self) -> None:
        if self.record is None:
            return
        run_id, unmark, who = self.record.summary.id, self.golden, self._who()
        self.mark.setEnabled(False)
        self.writer.ask(lambda conn: mark_golden(conn, run_id, who, unmark=unmark))

    @Slot(str)
    def _not_marked(self, text: str) -> None:
        self.message.setText(text)
        self._show_golden()

    @Slot(object)
    def _marked(self, mark: object) -> None:
        run_id = self.run_id
        self.golden = getattr(mark, "run_id", None) == run_id
        self._show_golden()
        self.golden_changed.emit(run_id)
