"""The recipe's timeline as one bar: its top-level steps side by side by length, the
cycles of the outermost loops as ticks, and where the run is now.

Painted from a handful of numbers (a segment per top-level step, at most one tick per
three pixels), so a recipe of a million steps costs what one of ten does.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ald_gui.domain.recipe import Recipe, StepKind
from ald_gui.domain.recipe_timeline import timeline
from ald_gui.ui.palette import curve_colour, is_dark

__all__ = ["Segment", "TimelineBar", "segments_of"]

_KIND_COLOUR = {  # palette indices: the same hues as the trends' curves
    StepKind.PULSE: 3,
    StepKind.PURGE: 1,
    StepKind.WAIT: 4,
    StepKind.SET: 5,
    StepKind.LOOP: 2,
}


@dataclass(frozen=True, slots=True)
class Segment:
    """A top-level step from ``start_s`` to ``end_s``; a loop's ``cycles`` (count)."""

    start_s: float
    end_s: float
    kind: StepKind
    cycles: int = 0


def segments_of(recipe: Recipe) -> list[Segment]:
    """One segment per top-level step of ``recipe``, by its dry-run length."""
    found: list[Segment] = []
    at = 0.0
    for step in recipe.steps:
        length = timeline(recipe.model_copy(update={"steps": (step,)})).total_ms / 1000
        cycles = step.loop.count if step.loop is not None else 0
        found.append(Segment(at, at + length, step.kind, cycles))
        at += length
    return found


class TimelineBar(QWidget):
    """``show_recipe(segments)``, then ``show_position(elapsed_s)``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.segments: list[Segment] = []
        self.position_s = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("The recipe's steps by length; the line is where the run is")

    def sizeHint(self) -> QSize:
        return QSize(400, 22)

    @property
    def total_s(self) -> float:
        return self.segments[-1].end_s if self.segments else 0.0

    def show_recipe(self, segments: list[Segment]) -> None:
        self.segments = segments
        self.position_s = 0.0
        self.update()

    def show_position(self, elapsed_s: float) -> None:
        self.position_s = max(0.0, elapsed_s)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        total = self.total_s
        if total <= 0:
            return
        p = QPainter(self)
        dark = is_dark(self.palette().color(QPalette.ColorRole.Window).lightness())
        width, height = self.width() - 1, self.height() - 1
        scale = width / total
        for seg in self.segments:
            x0, x1 = seg.start_s * scale, seg.end_s * scale
            colour = QColor(curve_colour(_KIND_COLOUR[seg.kind], dark=dark))
            colour.setAlpha(110)
            p.fillRect(QRectF(x0, 4, max(1.0, x1 - x0), height - 8), colour)
            if seg.cycles > 1 and (x1 - x0) / seg.cycles >= 3:
                p.setPen(QPen(colour.darker(150) if not dark else colour.lighter(150), 1))
                step = (x1 - x0) / seg.cycles
                for i in range(1, seg.cycles):
                    x = x0 + i * step
                    p.drawLine(int(x), 4, int(x), 9)
        done = min(self.position_s, total) * scale
        fg = self.palette().color(QPalette.ColorRole.WindowText)
        shade = QColor(fg)
        shade.setAlpha(45)
        p.fillRect(QRectF(0, 4, done, height - 8), shade)
        p.setPen(QPen(fg, 2))
        p.drawLine(int(done), 0, int(done), height)
        p.setPen(QPen(fg, 1, Qt.PenStyle.SolidLine))
        p.drawRect(QRectF(0, 4, width, height - 8))
        p.end()
