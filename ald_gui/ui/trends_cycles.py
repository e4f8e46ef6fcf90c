"""Recipe cycles marked on the trends: a short tick at the top of every plot where a
cycle of the outermost loop began.

Only the outermost loop, not every step: a 20-step cycle repeated 500 times would
otherwise draw 10,000 lines. The ticks of a plot are one item (a VTickGroup), in the
top tenth of the plot so they never cover a curve's values; what a tick stands for
("cycle 12 of 100 · pulse Valve 1 (TMA) 20 ms first") is in ``text_at(t)``, which the
cursor's readout shows.
"""

from __future__ import annotations

import bisect

import pyqtgraph as pg

from ald_gui.domain.recipe_progress import RecipeProgress
from ald_gui.ui.trends_plots import PlotStack

__all__ = ["CycleMarks"]

_TOP_TENTH = (0.9, 1.0)


class CycleMarks:
    """The cycle starts on a PlotStack, oldest first (times in s since the epoch)."""

    def __init__(self, stack: PlotStack) -> None:
        self.times: list[float] = []
        self.texts: list[str] = []
        self._last: tuple[object, str, int] | None = None  # run, loop path, cycle
        self._ticks: list[pg.VTickGroup] = []
        for gp in stack.plots:
            ticks = pg.VTickGroup(xvals=[], yrange=list(_TOP_TENTH), pen=pg.mkPen("#888888"))
            gp.plot.addItem(ticks, ignoreBounds=True)
            self._ticks.append(ticks)

    def add(self, p: RecipeProgress, first_step: str = "") -> bool:
        """Mark ``p`` if it is the first event of a new cycle of its outermost loop
        (``first_step``: the step it begins with, in words); returns whether it did."""
        if not p.loops or p.state.is_final:
            return False
        outer = p.loops[0]
        key = (p.run_id, outer.path, outer.cycle)
        if key == self._last:
            return False
        self._last = key
        at = p.at_us / 1e6
        if self.times and at <= self.times[-1]:
            return False  # a repeat, or news older than the last mark
        self.times.append(at)
        what = first_step or p.step_kind
        self.texts.append(
            f"cycle {outer.cycle} of {outer.count}" + (f" · {what} first" if what else "")
        )
        self._redraw()
        return True

    def text_at(self, t: float) -> str:
        """The cycle under way at ``t`` ("" before the first mark)."""
        i = bisect.bisect_right(self.times, t) - 1
        return self.texts[i] if i >= 0 else ""

    def prune(self, before_s: float) -> None:
        """Forget the marks older than ``before_s`` (history the trends no longer hold)."""
        i = bisect.bisect_left(self.times, before_s)
        if i:
            del self.times[:i], self.texts[:i]
            self._redraw()

    def apply_look(self, foreground: str) -> None:
        for ticks in self._ticks:
            ticks.setPen(pg.mkPen(foreground, width=1))

    def _redraw(self) -> None:
        for ticks in self._ticks:
            ticks.setXVals(self.times)
