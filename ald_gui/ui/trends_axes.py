"""The value (left) axis of a trend plot: log ticks an operator can read, a title that
fits the plot's height, and the width its labels need.

pyqtgraph's own log axis labels whole decades only (and the minor ticks one digit each):
a one-minute window at constant pressure, inside one decade, got a single label or none,
and at atmosphere every label read "10⁵". Here the ticks are chosen in the unit:
decades, or 1-2-5 within decades, or plain steps of the unit when the span is smaller
than that, at least two inside the axis (one where a plot is too short for two),
labelled with as many digits as they need ("0.01", "0.5", "20", "1e5", "1.002e5").
On a linear axis pyqtgraph's labels stay, unless they repeat (a flat line at
atmosphere read "101325" five times) or overlap (thinned to one per gap).

The stack of plots gives every shown axis the width of the widest (``needed_width``), so
the time axes line up; an axis says when what it needs has changed (``needs_width``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QPainter

__all__ = ["ValueAxis", "log_ticks", "tick_text"]

MIN_LABEL_GAP_PX = 24.0  # between tick label centres, where there is room
LABEL_PX = 14.0  # a tick label's height as pyqtgraph measures it (9 pt)
EDGE_PX = 8.0  # pyqtgraph drops a label that does not fit inside the axis: keep clear
TITLE_GAP_PX = 4.0  # between the title and the widest tick label
_MANTISSAS = ((1, 2, 5), (1,))


def log_ticks(lo: float, hi: float, size_px: float) -> list[float]:
    """Tick positions (log10 of the value) for a log axis showing 10**lo .. 10**hi on
    ``size_px`` pixels: none closer than EDGE_PX to an end, neighbours MIN_LABEL_GAP_PX
    apart (or 70 % of the room on a short axis), and at least two; one in the middle
    where there is room for one label only. Decades, else 1-2-5 steps, else nice linear
    steps of the value. Empty if the range is empty or beyond floats (as for a moment
    after log mode is switched on, when the view still holds the linear range)."""
    if not (-300 < lo < hi < 300) or size_px <= 0:
        return []
    margin = (hi - lo) * min(0.25, EDGE_PX / size_px)
    inner_lo, inner_hi = lo + margin, hi - margin
    px_per_decade = size_px / (hi - lo)
    inner_px = (inner_hi - inner_lo) * px_per_decade
    if inner_px < LABEL_PX:  # room for one label only, in the middle
        middle = (lo + hi) / 2
        for digits in range(1, 16):
            unit = 10.0 ** (math.floor(middle) - digits + 1)
            at = math.log10(round(10**middle / unit) * unit)
            if abs(at - middle) * px_per_decade <= 1:
                return [at]
        return [middle]
    need_px = min(MIN_LABEL_GAP_PX, 0.7 * inner_px)  # short axes: two labels still

    def spaced(ticks: Sequence[float]) -> bool:
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        return len(ticks) >= 2 and min(gaps) * px_per_decade >= need_px

    for mantissas in _MANTISSAS:
        ticks = _decade_ticks(inner_lo, inner_hi, mantissas)
        if spaced(ticks):
            return ticks
    decades = [float(e) for e in range(math.ceil(inner_lo), math.floor(inner_hi) + 1)]
    if len(decades) >= 2:  # many decades on a short axis: every k-th one
        step = math.ceil(MIN_LABEL_GAP_PX / px_per_decade)
        multiples = [d for d in decades if int(d) % step == 0]
        if spaced(multiples):
            return multiples
    best: list[float] = []
    if not 10**inner_lo < 10**inner_hi:  # a span below float resolution
        return [inner_lo, inner_hi]
    for values in _linear_steps(10**inner_lo, 10**inner_hi):
        ticks = [math.log10(v) for v in values]
        if spaced(ticks):
            best = ticks  # finer steps only come closer: keep the finest that fits
        elif best or len(ticks) > 10:
            break
    if best:
        return best
    # No step fits two labels: the round values nearest the ends, with the fewest
    # significant digits that set them far enough apart.
    ends: list[float] = []
    for digits in range(1, 16):
        ends = [math.log10(v) for v in _round_ends(10**inner_lo, 10**inner_hi, digits)] or ends
        if spaced(ends):
            break
    return ends


def _round_ends(lo: float, hi: float, digits: int) -> list[float]:
    """The least value of ``digits`` significant digits at or above ``lo`` and the
    greatest at or below ``hi``; empty unless the first is below the second."""

    def unit(v: float) -> float:
        return 10.0 ** (math.floor(math.log10(v)) - digits + 1)

    a = math.ceil(lo / unit(lo)) * unit(lo)
    b = math.floor(hi / unit(hi)) * unit(hi)
    return [a, b] if a < b else []


def _decade_ticks(lo: float, hi: float, mantissas: Sequence[int]) -> list[float]:
    ticks = []
    for exponent in range(math.floor(lo), math.ceil(hi) + 1):
        for m in mantissas:
            at = exponent + math.log10(m)
            if lo <= at <= hi:
                ticks.append(at)
    return ticks


def _linear_steps(lo: float, hi: float) -> Iterator[list[float]]:
    """The multiples in lo .. hi of ever finer 1-2-5 steps, from one coarser than the span."""
    step = 10.0 ** math.floor(math.log10(hi - lo)) * 10
    while True:
        for factor in (0.5, 0.4, 0.5):  # 10 -> 5 -> 2 -> 1 (x 10^k)
            step *= factor
            yield [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]


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

    def tickValues(
        self, minVal: float, maxVal: float, size: float
    ) -> list[tuple[Any, list[float]]]:
        levels: list[tuple[Any, list[float]]] = super().tickValues(minVal, maxVal, size)
        if self.logMode or not levels or maxVal == minVal:
            return levels
        # pyqtgraph asks for two major ticks at least, even on a 20 px plot where their
        # labels overlap: keep the multiples of a coarser step, one label per gap.
        spacing, values = levels[0]
        apart_px = spacing * size / abs(maxVal - minVal)
        if apart_px >= MIN_LABEL_GAP_PX or not values:
            return levels
        step = math.ceil(MIN_LABEL_GAP_PX / apart_px)
        lo, hi = sorted((minVal, maxVal))
        edge = (hi - lo) * min(0.5, EDGE_PX / size)  # a label sticking out is not drawn
        kept = [v for v in values if round(v / spacing) % step == 0 and lo + edge <= v <= hi - edge]
        if not kept:  # a plot too short for any: one label, in the middle
            fine = spacing / 10
            return [(fine, [round((lo + hi) / 2 / fine) * fine])]
        return [(spacing * step, kept)]

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
