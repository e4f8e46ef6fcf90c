"""The overlay: a run's tag over the same tag of a reference run (the golden run of its
recipe, or any other run named by id), aligned on the run start, the start of cycle N
or the start of a named step, and below it the difference (run minus reference) on the
run's time base. x is seconds from each run's own anchor, so the anchors share x = 0.

Read and computed by the history query thread under the view's topic
(store.run_curves.overlay), never on the
GUI thread; the two plots and their three curves are made once and only fed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
import pyqtgraph as pg
from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ald_gui.domain.run_alignment import AlignBy, Alignment, step_paths
from ald_gui.store.golden_runs import golden_run
from ald_gui.store.run_curves import Overlay, TagInfo, overlay
from ald_gui.store.run_history import RunRecord, find_run_id
from ald_gui.ui.palette import curve_colour
from ald_gui.ui.run_questions import RunQuestions

__all__ = ["GOLDEN", "OverlayView"]

GOLDEN = "golden"  # the reference choice: the golden run of the run's recipe
OTHER = "other"


class OverlayView(QWidget):
    def __init__(self, reader: RunQuestions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reader = reader
        self.record: RunRecord | None = None
        self.shown: Overlay | None = None
        self.reference = QComboBox()
        self.reference.addItem("the golden run of its recipe", GOLDEN)
        self.reference.addItem("another run:", OTHER)
        self.other = QLineEdit()
        self.other.setPlaceholderText("run id (its first characters)")
        self.tag = QComboBox()
        self.align = QComboBox()
        for by in AlignBy:
            self.align.addItem(by.value, by)
        self.cycle = QSpinBox()
        self.cycle.setRange(1, 1_000_000)
        self.step = QComboBox()
        self.occurrence = QSpinBox()
        self.occurrence.setRange(1, 1_000_000)
        self.occurrence.setPrefix("start no. ")
        self.align.currentIndexChanged.connect(self._alignment_fields)
        self.reference.currentIndexChanged.connect(
            lambda: self.other.setVisible(self.reference.currentData() == OTHER)
        )
        self.other.setVisible(False)
        self.go = QPushButton("Overlay")
        self.go.clicked.connect(self.ask)
        self.message = QLabel("")
        self.message.setWordWrap(True)

        self.canvas = pg.GraphicsLayoutWidget()  # black: the dark curve colours
        self.plot: pg.PlotItem = self.canvas.addPlot(row=0, col=0)
        self.diff_plot: pg.PlotItem = self.canvas.addPlot(row=1, col=0)
        self.diff_plot.setXLink(self.plot)
        self.plot.addLegend(offset=(8, 4))
        self.diff_plot.setLabel("left", "run − reference")
        self.diff_plot.setLabel("bottom", "seconds from the anchor")
        for p in (self.plot, self.diff_plot):
            p.showGrid(x=True, y=True, alpha=0.3)
            p.setDownsampling(auto=True, mode="peak")
            p.setClipToView(True)
            p.addItem(pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen((150, 150, 150), width=1)))
        self.run_curve = self._curve(self.plot, 0, "this run")
        self.reference_curve = self._curve(self.plot, 1, "reference")
        self.difference_curve = self._curve(self.diff_plot, 2, "difference")

        choose = QHBoxLayout()
        for w in (QLabel("Over"), self.reference, self.other, QLabel("tag"), self.tag,
                  self.align, self.cycle, self.step, self.occurrence, self.go):  # fmt: skip
            choose.addWidget(w)
        choose.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(choose)
        layout.addWidget(self.message)
        layout.addWidget(self.canvas, 1)
        reader.answered.connect(self._answered)
        reader.failed.connect(self.message.setText)
        self._alignment_fields()

    @staticmethod
    def _curve(plot: pg.PlotItem, n: int, name: str) -> pg.PlotDataItem:
        curve = pg.PlotDataItem(pen=pg.mkPen(curve_colour(n, dark=True), width=1), name=name)
        curve.setSkipFiniteCheck(True)
        plot.addItem(curve)
        return curve

    @Slot()
    def _alignment_fields(self) -> None:
        by = AlignBy(self.align.currentData())
        self.cycle.setVisible(by is AlignBy.CYCLE)
        self.step.setVisible(by is AlignBy.STEP)
        self.occurrence.setVisible(by is AlignBy.STEP)

    def set_run(self, record: RunRecord, tags: Sequence[TagInfo]) -> None:
        """The run to overlay (its steps name what it can align on) and its tags."""
        self.record = record
        kept = self.tag.currentData()
        self.tag.clear()
        for t in tags:
            self.tag.addItem(t.label, t.key)
        self.tag.setCurrentIndex(max(0, self.tag.findData(kept)))
        self.step.clear()
        for path in step_paths(record.steps):
            self.step.addItem(path, path)

    def alignment(self) -> Alignment:
        return Alignment(
            AlignBy(self.align.currentData()),  # Qt hands the enum back as its str
            cycle=self.cycle.value(),
            step=self.step.currentData() or "",
            occurrence=self.occurrence.value(),
        )

    @Slot()
    def ask(self) -> None:
        """Overlay the run on the chosen reference, as the fields say."""
        if self.record is None or not self.tag.currentData():
            self.message.setText("Choose a run (and a tag) first.")
            return
        run, key, alignment = self.record.summary, self.tag.currentData(), self.alignment()
        golden, other = self.reference.currentData() == GOLDEN, self.other.text()
        width = max(200, self.canvas.width())

        def work(conn: psycopg.Connection[Any]) -> Overlay:
            reference: uuid.UUID | None
            if golden:
                reference = golden_run(conn, run.machine, run.recipe) if run.recipe else None
                if reference is None:
                    raise LookupError(
                        f"{run.recipe or 'a run without a recipe'!r} has no golden run: mark "
                        "one on its page (Mark golden) or with ald-gui runs golden --run ID"
                    )
            else:
                reference = find_run_id(conn, other)
            return overlay(conn, run.id, reference, key, alignment, width)

        self.message.setText("Reading both runs…")
        self.reader.ask(work)

    @Slot(object)
    def _answered(self, answer: object) -> None:
        assert isinstance(answer, Overlay)
        self.shown = o = answer
        self.run_curve.setData(o.run_curve.x_s, o.run_curve.y)
        self.reference_curve.setData(o.reference_curve.x_s, o.reference_curve.y)
        self.difference_curve.setData(o.difference.x_s, o.difference.y)
        self.plot.setLabel("left", self.tag.currentText())
        self.plot.enableAutoRange()
        self.diff_plot.enableAutoRange()
        rms = float(np.sqrt(np.mean(o.difference.y**2))) if len(o.difference) else float("nan")
        self.message.setText(
            f"Run {str(o.run.id)[:8]} over {str(o.reference.id)[:8]}, {o.alignment}; "
            f"difference: {len(o.difference)} points, RMS {rms:.4g}"
        )
