"""The export dialog: a run or a time span to Parquet or CSV, from the runs browser and
the run page.

The operator chooses the format, the layout, the tags (none ticked: every tag with data)
and the file; the export runs on a thread of its own (ui.export_job) behind a progress
dialog whose Cancel stops it before its next window of rows and leaves no file.

    ExportDialog(parent, reader_dsn, machine, run_id=run.id).exec()
    ExportDialog(parent, reader_dsn, machine, span=(from_us, to_us), tags=keys).exec()
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ald_gui.store.export import ExportRequest, ExportResult, Format, Layout, Progress
from ald_gui.store.export_rows import CHUNK_ROWS
from ald_gui.ui.export_job import ExportJob, describe

__all__ = ["ExportDialog"]

_PROGRESS_STEPS = 1000  # the bar's resolution: rows themselves may exceed an int


def _when(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6).isoformat(sep=" ", timespec="seconds")


class ExportDialog(QDialog):
    """Export ``run_id`` (a run of ``machine``) or ``span`` (from, to: microseconds since
    the epoch) of ``machine``'s history. ``tags``: the keys offered for choice (empty:
    no choice, every tag with data). ``exported(ExportResult)`` once a file is written;
    the dialog then closes."""

    exported = Signal(object)

    def __init__(
        self,
        parent: QWidget | None,
        reader_dsn: str | Callable[[], str],
        machine: str,
        run_id: uuid.UUID | str | None = None,
        span: tuple[int, int] | None = None,
        tags: Sequence[str] = (),
        folder: Path | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        super().__init__(parent)
        if (run_id is None) == (span is None):
            raise ValueError("export a run (run_id) or a time span (span), one of them")
        self._dsn, self._machine = reader_dsn, machine
        self._run, self._span = ("" if run_id is None else str(run_id)), span
        self._chunk_rows = chunk_rows
        self.job: ExportJob | None = None
        self.setWindowTitle("Export")

        what = (
            f"Run {self._run[:8]} of {machine}"
            if span is None
            else f"{machine} from {_when(span[0])} to {_when(span[1])}"
        )
        self.format = QComboBox()
        for f, text in ((Format.PARQUET, "Parquet"), (Format.CSV, "CSV")):
            self.format.addItem(text, f)
        self.layout_choice = QComboBox()
        self.layout_choice.addItem("Wide: a column per tag", Layout.WIDE)
        self.layout_choice.addItem("Long: time, tag, value, unit", Layout.LONG)
        self.tags = QListWidget()
        for key in tags:
            item = QListWidgetItem(key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.tags.addItem(item)
        self.tags.setVisible(bool(tags))
        stem = f"run-{self._run[:8]}" if span is None else f"{machine}-{span[0] // 1_000_000}"
        self.target = QLineEdit(str((folder or Path.home()) / f"{stem}.parquet"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.format.currentIndexChanged.connect(self._suffix)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Export", QLabel(what))
        form.addRow("Format", self.format)
        form.addRow("Layout", self.layout_choice)
        if tags:
            form.addRow("Tags (none ticked: all)", self.tags)
        file_row = QHBoxLayout()
        file_row.addWidget(self.target, 1)
        file_row.addWidget(browse)
        form.addRow("File", file_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.status)
        box.addWidget(self.buttons)

        self.progress = QProgressDialog("Exporting…", "Cancel", 0, _PROGRESS_STEPS, self)
        self.progress.setWindowTitle("Export")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.setMinimumDuration(0)
        self.progress.canceled.connect(self.cancel)
        self.progress.hide()

    def request(self) -> ExportRequest:
        """What the dialog's choices ask for."""
        ticked = tuple(
            self.tags.item(i).text()
            for i in range(self.tags.count())
            if self.tags.item(i).checkState() == Qt.CheckState.Checked
        )
        span = self._span or (None, None)
        return ExportRequest(
            Path(self.target.text().strip()).expanduser(),
            Format(self.format.currentData()),  # Qt hands the enum back as its str
            Layout(self.layout_choice.currentData()),
            run=self._run,
            machine=self._machine,
            from_us=span[0],
            to_us=span[1],
            tags=ticked,
        )

    @Slot()
    def start(self) -> None:
        """Start the export the choices ask for, behind the progress dialog."""
        if self.job is not None and self.job.running:
            return
        if not self.target.text().strip():
            self._say("Name the file to export to.", error=True)
            return
        self.job = ExportJob(self._dsn, self.request(), self, self._chunk_rows)
        self.job.progressed.connect(self._progressed)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)
        self.job.cancelled.connect(self._cancelled)
        self.start_button.setEnabled(False)
        self._say("")
        self.progress.setLabelText("Exporting…")
        self.progress.setValue(0)
        self.progress.show()
        self.job.start()

    @Slot()
    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self._say("Cancelling…")

    @Slot(object)
    def _progressed(self, p: Progress) -> None:
        share = p.rows_done / p.rows_estimate if p.rows_estimate else 0.0
        self.progress.setValue(min(_PROGRESS_STEPS, int(share * _PROGRESS_STEPS)))
        self.progress.setLabelText(f"Exporting… {describe(p)}")

    @Slot(object)
    def _finished(self, result: ExportResult) -> None:
        self._end()
        self._say(
            f"Wrote {result.path}: {result.rows:,} samples of {len(result.tags)} tags at "
            f"{result.instants:,} instants."
        )
        self.exported.emit(result)
        self.accept()

    @Slot(str)
    def _failed(self, reason: str) -> None:
        self._end()
        self._say(reason, error=True)

    @Slot()
    def _cancelled(self) -> None:
        self._end()
        self._say("Export cancelled: no file was written.")

    def _end(self) -> None:
        self.progress.hide()
        self.start_button.setEnabled(True)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("error", error)

    @Slot()
    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Export to", self.target.text())
        if chosen:
            self.target.setText(chosen)
            self._suffix()

    @Slot()
    def _suffix(self) -> None:
        path = Path(self.target.text())
        if path.suffix.lower() in (".csv", ".parquet"):
            self.target.setText(str(path.with_suffix(f".{self.format.currentData()}")))

    def done(self, result: int) -> None:
        """Closing the dialog cancels an export under way and waits for it to stop."""
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.job.wait()
        super().done(result)
