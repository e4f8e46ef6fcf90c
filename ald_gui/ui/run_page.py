"""One past run's page: its metadata, the recipe it ran (the snapshot), its step
timeline, its alarm entries, its audit trail entries, its trends from the database and
the overlay on the golden run (or any other); "Mark golden" makes it the golden run of
its recipe, "Export…" opens the export dialog (ui.export_dialog) for it and "Report…"
writes its one-page report (ui.report) where the operator says.

Everything is read by the history query thread under the page's topic (reader role),
and a marking written by the writer's query thread (``RunQuestions`` both), never on
the GUI thread; choosing another run supersedes the questions still due for the last.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
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

from ald_gui.config.process import ProcessSettings
from ald_gui.domain.accounts import Actor
from ald_gui.domain.run_alignment import cycle_starts
from ald_gui.store.audit_trail import AuditFilter, AuditRecord, find_entries
from ald_gui.store.golden_runs import GoldenMark, golden_run
from ald_gui.store.run_curves import TagInfo, recorded_tags, run_curves
from ald_gui.store.run_history import RunRecord, RunSummary, run_record
from ald_gui.ui.export_dialog import ExportDialog
from ald_gui.ui.golden_button import GoldenButton
from ald_gui.ui.overlay_view import OverlayView
from ald_gui.ui.recipe_words import duration_text
from ald_gui.ui.report import ReportJob
from ald_gui.ui.run_questions import RunQuestions
from ald_gui.ui.run_trends import FIRST_SHOWN, RunTrends
from ald_gui.ui.runs_list import recipe_text, when_text

__all__ = ["RunPage"]

STEP_COLUMNS = ("Start", "At (s)", "Step", "Kind", "Cycle", "Took", "Outcome", "Detail")
ALARM_COLUMNS = ("Time", "At (s)", "Alarm", "Event", "State", "Value", "Operator", "Note")
AUDIT_COLUMNS = ("Time", "Account", "Role", "Action", "Object", "Before", "After", "Reason")
AUDIT_SHOWN = 1000  # entries of one run on its page (ald-gui audit export has them all)
ChooseReport = Callable[[QWidget, Path], Path | None]


def choose_report(parent: QWidget, suggested: Path) -> Path | None:
    """Ask where the report goes (HTML or PDF by its suffix); None: cancelled."""
    name, _ = QFileDialog.getSaveFileName(
        parent, "Run report", str(suggested), "PDF (*.pdf);;HTML (*.html)"
    )
    return Path(name) if name else None


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
    golden_marked = Signal(object, object)  # GoldenMark, the golden run before it

    def __init__(
        self,
        reader: RunQuestions,
        writer: RunQuestions,
        overlay_reader: RunQuestions,
        who: Callable[[], str],
        reader_dsn: Callable[[], str],
        *,
        process: ProcessSettings | None = None,
        folder: Path | None = None,
        choose: ChooseReport = choose_report,
        parent: QWidget | None = None,
    ) -> None:
        """``who``: the name a golden marking is made under (the logged-in account);
        ``reader_dsn``: the reader's conninfo, for the export and the report (called
        on their threads); ``process``: the machine's rules (the report's step words);
        ``folder``: where exports and reports are offered to go."""
        super().__init__(parent)
        self.reader = reader
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self._reader_dsn, self._process = reader_dsn, process
        self._folder, self._choose = folder or Path.home(), choose
        self.export_dialog: ExportDialog | None = None
        self._exporting: uuid.UUID | None = None  # the run the export dialog is for
        self.report_job: ReportJob | None = None
        self.overlay = OverlayView(overlay_reader)
        self.record: RunRecord | None = None
        self._tags: list[TagInfo] = []
        self.title = QLabel("Choose a run in the list.")
        self.title.setWordWrap(True)
        facts = QWidget()
        facts.setMaximumWidth(360)  # the tabs (the plots) get the rest
        self.facts = QFormLayout(facts)
        self._fact_labels: dict[str, QLabel] = {}
        for name in ("Machine", "Started", "Ended", "Duration", "Operator", "Recipe",
                     "Status", "Note", "Figures", "Golden"):  # fmt: skip
            label = QLabel("")
            label.setWordWrap(True)
            self._fact_labels[name] = label
            self.facts.addRow(name, label)
        self.golden = GoldenButton(writer, who, self)
        self.golden.marked.connect(self._marked)
        self.golden.said.connect(self.message.setText)
        self.mark = self.golden.button
        self.export = QPushButton("Export…")
        self.export.clicked.connect(self.open_export)
        self.report = QPushButton("Report…")
        self.report.clicked.connect(self.write_report)
        for button in (self.export, self.report):
            button.setEnabled(False)
        self.steps = _table(STEP_COLUMNS)
        self.alarms = _table(ALARM_COLUMNS)
        self.audit = _table(AUDIT_COLUMNS)
        self.recipe = QPlainTextEdit()
        self.recipe.setReadOnly(True)
        self.trends = RunTrends()
        self.trends.chosen_changed.connect(self._ask_curves)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.trends, "Trends")
        self.tabs.addTab(self.steps, "Steps")
        self.tabs.addTab(self.alarms, "Alarms")
        self.tabs.addTab(self.audit, "Audit trail")
        self.tabs.addTab(self.recipe, "Recipe")
        self.tabs.addTab(self.overlay, "Overlay")
        buttons = QHBoxLayout()
        for button in (self.mark, self.export, self.report):
            buttons.addWidget(button)
        buttons.addStretch(1)
        beside = QHBoxLayout()
        beside.addWidget(facts)
        beside.addWidget(self.tabs, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addLayout(beside, 1)
        reader.answered.connect(self._answered)
        reader.failed.connect(self.message.setText)

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
            audit = find_entries(conn, AuditFilter(run_id=run_id, limit=AUDIT_SHOWN))
            curves = run_curves(conn, s, keys, width)
            return "run", (record, golden, tags, audit, curves)

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
            record, golden, self._tags, audit, curves = body
            self.golden.show_run(record.summary, golden)
            self._show(record)
            self._show_audit(audit)
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
        self._show_golden(record.summary, self.golden.golden)
        for button in (self.export, self.report):
            button.setEnabled(True)
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

    def _show_audit(self, entries: Sequence[AuditRecord]) -> None:
        _fill(self.audit, [
            (when_text(e.entry.at_us), e.entry.account, e.entry.role, e.entry.action,
             e.entry.object, e.entry.before, e.entry.after, e.entry.reason)
            for e in entries
        ])  # fmt: skip

    def _show_golden(self, s: RunSummary, golden: bool) -> None:
        self._fact_labels["Golden"].setText(f"the golden run of {s.recipe!r}" if golden else "no")

    def set_actor(self, actor: Actor | None) -> None:
        """Who is at the window: greys Mark golden for an account that may not."""
        self.golden.set_actor(actor)

    @Slot(object, object)
    def _marked(self, mark: GoldenMark, before: uuid.UUID | None) -> None:
        if self.record is not None:
            self._show_golden(self.record.summary, self.golden.golden)
        self.golden_marked.emit(mark, before)

    @Slot()
    def open_export(self) -> ExportDialog | None:
        """The export dialog for this run (its tags offered), raised if already open."""
        if self.record is None:
            return None
        s = self.record.summary
        dialog = self.export_dialog
        if dialog is None or not dialog.isVisible() or self._exporting != s.id:
            dialog = ExportDialog(
                self, self._reader_dsn, s.machine, run_id=s.id,
                tags=[t.key for t in self._tags], folder=self._folder,
            )  # fmt: skip
            self.export_dialog, self._exporting = dialog, s.id
        dialog.show()
        dialog.raise_()
        return dialog

    @Slot()
    def write_report(self) -> None:
        """Ask where, then write this run's report on a thread of its own."""
        if self.record is None or (self.report_job is not None and not self.report_job.wait(0)):
            return
        run_id = self.record.summary.id
        path = self._choose(self, self._folder / f"run-{str(run_id)[:8]}.pdf")
        if path is None:
            return
        job = ReportJob(self._reader_dsn, str(run_id), path, self._process, parent=self)
        job.finished.connect(lambda written: self.message.setText(f"Report written: {written}"))
        job.failed.connect(self.message.setText)
        self.report_job = job
        self.message.setText(f"Writing the report to {path}…")
        job.start()

    def stop(self) -> None:
        """Cancel an export under way and wait for it and for a report (their threads
        are bounded by psycopg's timeouts)."""
        job = None if self.export_dialog is None else self.export_dialog.job
        if job is not None:
            job.cancel()
            job.wait()
        if self.report_job is not None:
            self.report_job.wait()
