"""Run starts and ends as labelled vertical lines on every plot of the trends.

A start reads "▶ run 1a2b3c4d (alice)", an end "■ run 1a2b3c4d completed": the text,
not only the colour, tells them apart. Only the top shown plot carries the text, so a
stack of plots is not cluttered with repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt

from ald_gui.domain.stream import RunEnded, RunStarted, RunStatus
from ald_gui.ui.palette import curve_colour
from ald_gui.ui.trends_plots import PlotStack

__all__ = ["RunMark", "RunMarks"]

_START = 2  # bluish green in both palette variants
_END_BAD = 3  # vermillion: aborted or failed


@dataclass(slots=True)
class RunMark:
    at_s: float
    text: str
    colour_index: int | None  # None: the foreground colour (a run completed normally)
    lines: list[pg.InfiniteLine]


class RunMarks:
    """The marks on a PlotStack, oldest first."""

    def __init__(self, stack: PlotStack) -> None:
        self._stack = stack
        self.marks: list[RunMark] = []
        self._foreground = "#888888"
        self._dark = True

    def add(self, item: RunStarted | RunEnded) -> RunMark:
        if isinstance(item, RunStarted):
            run = item.run
            who = f" ({run.operator})" if run.operator else ""
            mark = RunMark(run.started_at_us / 1e6, f"▶ run {str(run.id)[:8]}{who}", _START, [])
        else:
            bad = item.status in (RunStatus.ABORTED, RunStatus.FAILED)
            mark = RunMark(
                item.ended_at_us / 1e6,
                f"■ run {str(item.run_id)[:8]} {item.status}",
                _END_BAD if bad else None,
                [],
            )
        for gp in self._stack.plots:
            line = pg.InfiniteLine(
                pos=mark.at_s,
                angle=90,
                movable=False,
                label=mark.text,
                # Text right of the line, flipping to its left near the right edge.
                labelOpts={"position": 0.1, "anchors": [(0, 0.5), (1, 0.5)]},
            )
            gp.plot.addItem(line, ignoreBounds=True)
            mark.lines.append(line)
        self.marks.append(mark)
        self._style(mark)
        self.relabel()
        return mark

    def prune(self, before_s: float) -> None:
        """Remove the marks older than ``before_s`` (history the trends no longer hold)."""
        while self.marks and self.marks[0].at_s < before_s:
            mark = self.marks.pop(0)
            for gp, line in zip(self._stack.plots, mark.lines, strict=True):
                gp.plot.removeItem(line)

    def relabel(self) -> None:
        """Text on the top shown plot only."""
        shown = self._stack.shown()
        top = shown[0] if shown else None
        for mark in self.marks:
            for gp, line in zip(self._stack.plots, mark.lines, strict=True):
                line.label.setVisible(gp is top)

    def apply_look(self, foreground: str, dark: bool) -> None:
        self._foreground, self._dark = foreground, dark
        for mark in self.marks:
            self._style(mark)

    def _style(self, mark: RunMark) -> None:
        colour = (
            self._foreground
            if mark.colour_index is None
            else curve_colour(mark.colour_index, dark=self._dark)
        )
        for line in mark.lines:
            line.setPen(pg.mkPen(colour, width=1, style=Qt.PenStyle.SolidLine))
            line.label.setColor(colour)
