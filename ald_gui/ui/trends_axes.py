"""The value (left) axis of a trend plot: log ticks an operator can read, a title that
fits the plot's height, and the width its labels need.

pyqtgraph's own log axis labels whole decades only (and the minor ticks one digit each):
a one-minute window at constant pressure, inside one decade, got a single label or none,
and at atmosphere every label read "10⁵". Here the ticks are chosen in the unit:
decades, or 1-2-5 within decades, or plain steps of the unit when the span is smaller
than that, always at least two inside the axis, labelled with as many digits as they
need ("0.01", "0.5", "20", "1e5", "1.002e5"). On a linear axis pyqtgraph's labels stay,
unless they repeat (a flat line at atmosphere read "101325" five times).

The stack of plots gives every shown axis the width of the widest (``needed_width``), so
the time axes line up; an axis says when what it needs has changed (``needs_width``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QPainter

__all__ = ["ValueAxis", "log_ticks", "tick_text"]

MIN_LABEL_GAP_PX = 24.0  # between tick label centres: a label is about 12 px tall
EDGE_PX = 8.0  # pyqtgraph drops a label that does not fit inside the axis: keep clear
TITLE_GAP_PX = 4.0  # between the title and the widest tick label
_MANTISSAS = ((1, 2, 5), (1,))


def log_ticks(lo: float, hi: float, size_px: float) -> list[float]:
    """Tick positions (log10 of the value) for a log axis showing 10**lo .. 10**hi on
    ``size_px`` pixels: at least two, at most one per MIN_LABEL_GAP_PX, none closer than
    EDGE_PX to an end. Decades if two fit, else 1-2-5 steps, else nice linear steps of the
    value. Empty if the range is empty or beyond floats (as for a moment after log mode
    is switched on, when the view still holds the linear range)."""
    if not (-300 < lo < hi < 300) or size_px <= 0:
        return []
    margin = (hi - lo) * min(0.25, EDGE_PX / size_px)
    inner_lo, inner_hi = lo + margin, hi - margin
    room = max(2, int((size_px - 2 * EDGE_PX) // MIN_LABEL_GAP_PX) + 1)
    for mantissas in _MANTISSAS:
        ticks = _decade_ticks(inner_lo, inner_hi, mantissas)
        if 2 <= len(ticks) <= room:
            return ticks
    decades = [float(e) for e in range(math.ceil(inner_lo), math.floor(inner_hi) + 1)]
    if len(decades) > room:  # many decades on a short axis: every k-th one
        step = math.ceil(len(decades) / room)
        multiples = [d for d in decades if int(d) % step == 0]
        return multiples if len(multiples) >= 2 else decades[::step]
    return [math.log10(v) for v in _linear_ticks(10**inner_lo, 10**inner_hi, room)]


def _decade_ticks(lo: float, hi: float, mantissas: Sequence[int]) -> list[float]:
    ticks = []
    for exponent in range(math.floor(lo), math.ceil(hi) + 1):
        for m in mantissas:
            at = exponent + math.log10(m)
            if lo <= at <= hi:
                ticks.append(at)
    return ticks


def _linear_ticks(lo: float, hi: float, room: int) -> list[float]:
    """Multiples of the finest 1-2-5 step giving 2 .. ``room`` values in lo .. hi."""
    step = 10.0 ** math.floor(math.log10(hi - lo)) * 10  # coarser than any that fits
    best: list[float] = []
    while True:
        for factor in (0.5, 0.4, 0.5):  # 10 -> 5 -> 2 -> 1 (x 10^k)
            step *= factor
            values = [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
            if len(values) > room:
                return best or values[:: math.ceil(len(values) / room)]
            if len(values) >= 2:
                best = values


def tick_text(value: float) -> str:
    """A tick's label with the digits it needs: plain from 0.01 to below 10 000
    ("0.01", "0.5", "20", "5000"), else mantissa and exponent ("1e5", "1.002e5")."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    rounded = float(f"{value:.9g}")  # 10 ** log10(v) is not always exactly v
    digits = next(p for p in range(1, 10) if math.isclose(float(f"{rounded:.{p}g}"), rounded))
    exponent = math.floor(math.log10(abs(rounded)))
    if -2 <= exponent < 4:
        return f"{rounded:.{max(0, digits - 1 - exponent)}f}"
    mantissa = f"{rounded / 10**exponent:.{digits - 1}f}"
    return f"{mantissa}e{exponent}"


class ValueAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph has no stubs
    """A plot's left axis. ``titles`` are the axis titles from the longest to the
    shortest; the longest that fits the axis' height is shown (none if none fits), so
    titles of short plots never run into their neighbours'."""

    needs_width = Signal()  # needed_width() changed (labels, title or values shown)

    def __init__(self, titles: Sequence[str]) -> None:
        # Set before AxisItem's constructor, which already resizes (resizeEvent).
        self._titles = tuple(titles)
        self._title = self._titles[0] if self._titles else ""
        self._reported = -1
        self._lengths: dict[str, float] = {}  # each title's length along the axis
        super().__init__(orientation="left")
        for title in self._titles:
            self.setLabel(title)
            self._lengths[title] = self.label.boundingRect().width()
        self.setLabel(self._title)

    @property
    def title(self) -> str:
        """The title shown now ("" if none fits)."""
        return self._title

    def needed_width(self) -> int:
        """The width the tick labels and the title need, as pyqtgraph would size the
        axis by itself, plus a gap between title and labels."""
        width: float = 0.0
        if self.style["showValues"]:
            width += self.textWidth + self.style["tickTextOffset"][0]
        width += max(0, self.style["tickLength"])
        if self.label.isVisible():
            width += self.label.boundingRect().height() * 0.8 + TITLE_GAP_PX
        return math.ceil(width)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        strings: list[str] = super().tickStrings(values, scale, spacing)
        if self.logMode or len(set(strings)) == len(strings):
            return strings
        # Six digits were not enough (a flat line at atmosphere): the decimals it takes.
        places = max(0, math.ceil(-math.log10(spacing * scale)))
        return [f"{v * scale:.{places}f}" for v in values]

    def logTickValues(
        self, minVal: float, maxVal: float, size: float, stdTicks: object
    ) -> list[tuple[None, list[float]]]:
        return [(None, log_ticks(minVal, maxVal, size))]

    def logTickStrings(self, values: list[float], scale: float, spacing: object) -> list[str]:
        return [tick_text(10.0 ** float(v) * scale) for v in values]

    def generateDrawSpecs(self, p: QPainter) -> Any:
        specs = super().generateDrawSpecs(p)
        self._report()
        return specs

    def resizeEvent(self, ev: object = None) -> None:
        if self.label is not None:
            self._fit_title(self.size().height())
        super().resizeEvent(ev)

    def _fit_title(self, height: float) -> None:
        # Rotated, the title's width runs along the axis' height.
        fits = next((t for t in self._titles if self._lengths.get(t, 0.0) <= height), "")
        if fits != self._title:
            self._title = fits  # first: setLabel resizes the axis, which comes back here
            self.setLabel(fits)
            self._report()

    def _report(self) -> None:
        needed = self.needed_width()
        if needed != self._reported:
            self._reported = needed
            self.needs_width.emit()
