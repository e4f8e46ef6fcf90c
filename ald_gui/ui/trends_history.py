"""Back-fill of the live trends from the historian: what lies left of the ring.

The ring holds what this console sampled since it started (up to its capacity). Left of
its oldest row, each shown curve draws a second item, fed from the database: at start
the last window (the ring is empty then), and whenever the operator pans or zooms past
the ring's oldest row, ``DELAY_S`` after the last move (a drag is many moves: one query
at its end, not one per pixel). The span asked ends where the ring begins, and what
comes back is cut there again (the ring may have begun meanwhile), so the two meet
without overlap; when they are one poll apart the history's line is carried on to the
ring's first row, so they meet without a seam either.

The GUI thread's share is a few cheap steps whatever the answer's size. Deciding
whether to ask is a few comparisons per tick. The question runs on the engine's query
thread (``HistoryQueries``), and so does everything an answer needs before it can be
drawn: decoding, times in seconds, and the reduction to about two points per pixel
column (``trends_history_peaks``). Taking the answer in swaps the prepared arrays in and
cuts them at the ring's start (a binary search and a view per curve). The curves are
then handed to their items a few at a time, ``DRAW_PAUSE_MS`` apart (the event loop
paints and takes input in between), at most ``POINTS_PER_TURN`` points each time (one
curve at least): the setData, the Y fit and the path, built then rather than in the
paint, all grow with the points handed over, so each step's share is bounded by
construction, not by a quiet machine. While a question is out or an answer is being
drawn, a "loading history" mark shows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QLabel, QWidget

from ald_gui.engine.history_queries import HistoryAnswer, HistoryQueries
from ald_gui.store.history import fetch_many
from ald_gui.ui.ring import Ring
from ald_gui.ui.trends_curves import Curve
from ald_gui.ui.trends_history_peaks import for_drawing

__all__ = ["DELAY_S", "DRAW_PAUSE_MS", "POINTS_PER_TURN", "BackFill", "Span"]

Drawn = tuple[np.ndarray, np.ndarray]  # times (s since the epoch) and values, float64
_NOTHING: Drawn = (np.empty(0), np.empty(0))

DELAY_S = 0.3  # after the last pan or zoom, before history is asked for
TOPIC = "trends"
MARGIN = 0.25  # of the window, fetched beyond each side of it: a small pan needs nothing
SLACK_COLUMNS = 4  # missing history narrower than this many pixel columns is not asked
# Points an answer's curves may hand the plots at a time (one curve at least, and a
# curve holds about two points per pixel column, three where it holds a NaN). setData,
# Y fit and path together took about 0.5 µs of GUI-thread CPU a point on the 2-core
# machine under load (3-5 ms for 6,000 points): far from a frame's 16 ms.
POINTS_PER_TURN = 8_000
# Between two such hand-overs the event loop paints and takes input: about a frame. The
# trends' own tick may be half a second (a long window), too slow to pace them.
DRAW_PAUSE_MS = 15


@dataclass(frozen=True)
class Span:
    """A time span in seconds since the epoch, asked at ``width_px`` pixels."""

    lo: float
    hi: float
    width_px: int

    @property
    def column_s(self) -> float:
        return (self.hi - self.lo) / self.width_px


class BackFill(QObject):
    """History items for ``curves``, each extending its live PlotDataItem in
    ``live_items`` (fed from ``ring``), fed by ``queries`` for ``machine``. The trends
    call ``check`` every tick, ``moved`` on every pan or zoom, ``show`` when the shown
    curves change, ``apply_look`` after a look change. ``seam_gap_s``: the largest gap
    between history and ring still joined by a line (longer gaps are outages).
    ``clock`` times the rest after a move; ``wall`` is now (s since the epoch), where
    history ends while the ring is empty."""

    def __init__(
        self,
        queries: HistoryQueries,
        machine: str,
        curves: Mapping[str, Curve],
        live_items: Mapping[str, pg.PlotDataItem],
        ring: Ring,
        canvas: QWidget,
        *,
        seam_gap_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(canvas)
        self.queries = queries
        self.machine = machine
        self.seam_gap_s = seam_gap_s
        self._clock = clock
        self._wall = wall
        self._live = dict(live_items)
        self.items: dict[str, pg.PlotDataItem] = {}
        for key, live in self._live.items():
            item = pg.PlotDataItem(
                connect="finite", stepMode=live.opts["stepMode"], autoDownsampleFactor=0.5
            )
            item.setSkipFiniteCheck(True)
            item.setVisible(False)
            live.getViewBox().addItem(item)
            self.items[key] = item
        self._columns = {key: curve.column for key, curve in curves.items()}
        self._ring = ring
        self._cut_at: float | None = None  # the ring's oldest row the history was cut at
        self._undrawn: list[str] = []  # curves of the last answer not handed over yet
        self._shown: set[str] = set()
        self._data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.covered: Span | None = None  # what the history items hold
        self._covered_keys: frozenset[str] = frozenset()
        self._asked: tuple[int, Span, frozenset[str]] | None = None
        self._quiet_at = 0.0
        self._asked_rest = -1.0  # the _quiet_at of the view the question out was asked for
        self.last_error = ""
        self.mark = QLabel("Loading history…", canvas)
        self.mark.setObjectName("historyLoading")
        self.mark.setStyleSheet("padding: 2px 6px; background: palette(base);")
        self.mark.adjustSize()
        self.mark.move(96, 6)
        self.mark.hide()
        self._drawing = QTimer(self)
        self._drawing.setSingleShot(True)
        self._drawing.setInterval(DRAW_PAUSE_MS)
        self._drawing.timeout.connect(self._draw_some)
        queries.answered.connect(self._answered)
        self.apply_look()

    # -- what the trends tell it ------------------------------------------------------

    @property
    def loading(self) -> bool:
        """A question is out or its answer not all drawn yet (the mark shows)."""
        return self._asked is not None or bool(self._undrawn)

    def moved(self) -> None:
        """The operator panned or zoomed: ask nothing until the view rests."""
        self._quiet_at = self._clock() + DELAY_S

    def show(self, keys: set[str]) -> None:
        """Draw history for exactly these curves (asks for those it lacks)."""
        self._shown = set(keys)
        for key, item in self.items.items():
            item.setVisible(key in self._shown)
        self._covered_keys &= frozenset(self._shown)

    def apply_look(self) -> None:
        """Same pen and lane as the live curve each item extends."""
        for key, item in self.items.items():
            live = self._live[key]
            item.setPen(live.opts["pen"])
            item.setTransform(live.transform())

    def check(self, lo: float, hi: float, ring_first: float | None, width_px: int) -> None:
        """Called every tick with the view's time range, the ring's oldest row (None:
        empty) and the plot's width: ask for the history this view lacks, once the view
        has rested ``DELAY_S``."""
        if ring_first is not None and self._cut_at is None and self._data:
            self._cut(ring_first)  # the ring began after the answer came: no overlap
        want = self._wanted(lo, hi, ring_first, max(1, width_px))
        if want is None or not self._shown or self._clock() < self._quiet_at:
            return
        keys = frozenset(self._shown)
        if _covers(self.covered, self._covered_keys, want, keys):
            return
        if self._asked is not None and (
            _covers(self._asked[1], self._asked[2], want, keys)
            # Unmoved since asked, only the clock went on (live, the ring empty): a
            # slow answer is let come rather than cancelled and asked again forever.
            or (self._asked_rest == self._quiet_at and self._asked[2] >= keys)
        ):
            return
        self._ask(want, keys)

    def history_data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The history drawn left of the ring for ``key`` (times in s, values), without
        the seam's joining point; empty arrays if none. KeyError if not trended."""
        self.items[key]
        return self._data.get(key, _NOTHING)

    # -- deciding ---------------------------------------------------------------------

    def _wanted(self, lo: float, hi: float, ring_first: float | None, width: int) -> Span | None:
        end = min(hi, self._wall()) if ring_first is None else min(hi, ring_first)
        if end <= lo:
            return None  # the ring covers the view
        return Span(lo, end, max(1, round(width * (end - lo) / (hi - lo))))

    def _ask(self, want: Span, keys: frozenset[str]) -> None:
        margin = MARGIN * (want.hi - want.lo)
        span = Span(want.lo - margin, want.hi, round(want.width_px * (1 + MARGIN)))
        start_us, end_us = math.floor(span.lo * 1e6), math.ceil(span.hi * 1e6)
        machine, tags = self.machine, sorted(keys)

        def question(conn: psycopg.Connection[Any]) -> dict[str, Drawn]:
            # On the query thread: the answer comes ready to draw.
            answer = fetch_many(conn, machine, tags, start_us, end_us, span.width_px)
            return {
                key: for_drawing(series, start_us, end_us, span.width_px)
                for key, series in answer.items()
            }

        ticket = self.queries.ask(TOPIC, question)
        self._asked = (ticket, span, keys)
        self._asked_rest = self._quiet_at
        self.mark.show()
        self.mark.raise_()

    # -- the answer -------------------------------------------------------------------

    @Slot(object)
    def _answered(self, answer: HistoryAnswer) -> None:
        if answer.topic != TOPIC or self._asked is None or answer.ticket != self._asked[0]:
            return
        _, span, keys = self._asked
        self._asked = None
        if answer.error or not isinstance(answer.result, dict):
            self.mark.hide()
            self.last_error = answer.error
            self.moved()  # try again once the view rests again, not every tick
            return
        self.last_error = ""
        self.covered, self._covered_keys = span, keys
        self._data = dict(answer.result)  # ready to draw (made on the query thread)
        self._cut(self._ring.first_time)

    def _cut(self, ring_first: float | None) -> None:
        """Keep only the history before the ring's oldest row (a view of each curve),
        and queue the curves for drawing, the shown ones first."""
        self._cut_at = ring_first
        if ring_first is not None:
            for key, (t, v) in self._data.items():
                end = int(np.searchsorted(t, ring_first, side="left"))
                self._data[key] = (t[:end], v[:end])
        self._undrawn = sorted(self._data, key=lambda k: k not in self._shown)
        self.mark.show()
        self._drawing.start()

    @Slot()
    def _draw_some(self) -> None:
        """Hand curves to their items, ``POINTS_PER_TURN`` points at most (one curve at
        least), each carried on to the ring's first row when the two are one poll
        apart, with its path built; then fit their plots' Y now rather than in the
        paint: the paint that follows only draws."""
        ring_first = self._cut_at
        handed = 0
        fit: dict[int, pg.ViewBox] = {}
        while self._undrawn:
            t, v = self._data.get(self._undrawn[0], _NOTHING)
            if handed and handed + len(t) > POINTS_PER_TURN:
                break
            key = self._undrawn.pop(0)
            if ring_first is not None and len(t) and ring_first - t[-1] <= self.seam_gap_s:
                first = self._ring.column(self._columns[key])[0]
                t, v = np.append(t, ring_first), np.append(v, first)
            item = self.items[key]
            item.setData(t, v)
            handed += max(1, len(t))
            if item.isVisible():
                # The path the next paint would build, built here, within the budget:
                # that paint only draws.
                item.curve.getPath()
                vb = item.getViewBox()
                fit[id(vb)] = vb
        for vb in fit.values():
            # As the trends do for the live curves: a range changed while painting asks
            # for a second paint.
            vb.updateAutoRange()
        if self._undrawn:
            self._drawing.start()
        elif self._asked is None:
            self.mark.hide()


def _covers(have: Span | None, have_keys: frozenset[str], want: Span, keys: frozenset[str]) -> bool:
    """Whether history fetched for ``have`` (curves ``have_keys``) serves ``want``:
    fine enough, and reaching both ends but for a few pixel columns."""
    if have is None or not have_keys >= keys:
        return False
    slack = SLACK_COLUMNS * want.column_s
    return (
        have.column_s <= 1.5 * want.column_s
        and have.lo <= want.lo + slack
        and have.hi >= want.hi - slack
    )
