"""Live trends: stacked plots per unit sharing one time axis, fed from a ring buffer.

Which tags appear where is decided in ``trends_curves`` (readings and setpoints by unit,
booleans as step traces on lanes; ``plotted`` tags visible at start). Samples go into a
preallocated ring (``ring.Ring``) and its min/max pyramid (``ring_peaks``); a timer (once
per pixel column of the window, 2 to 15 Hz, by default) hands the visible curves what the
time window shows, reduced to two points per pixel column with the raw rows' min and max
in each (pyqtgraph's own downsampling and clipping are off), and, while following live,
moves the window by whole pixel columns. A tick that would paint the same pixels does
nothing (``refresh``). So a frame draws a few thousand points per curve, with one minute
or eight hours in the window, and most ticks draw nothing (benchmarks/gui_render.py).

Memory: one float64 per trended tag and one for the time per poll, for ``capacity_s``
(8 h), plus a quarter for the ring's slack and about a fifth for the pyramid, capped at
``MEMORY_BUDGET`` (128 MiB). The reference reactor (56 trended tags) polled every 0.5 s
holds 8 h in 37 MiB; every 0.1 s the cap leaves about 5.5 h.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Slot
from PySide6.QtGui import QHideEvent, QPalette, QShowEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ald_gui.domain.recipe_progress import RecipeProgress
from ald_gui.domain.stream import Batch, RunEnded, RunStarted
from ald_gui.domain.tags import Tag
from ald_gui.engine.history_queries import HistoryQueries
from ald_gui.ui.palette import is_dark
from ald_gui.ui.ring import Ring
from ald_gui.ui.ring_peaks import BYTES_PER_ROW_AND_COLUMN, PeakPyramid, same_picture
from ald_gui.ui.trends_controls import TrendControls
from ald_gui.ui.trends_curves import Curve, plan_curves
from ald_gui.ui.trends_cycles import CycleMarks
from ald_gui.ui.trends_history import BackFill
from ald_gui.ui.trends_marks import RunMarks
from ald_gui.ui.trends_plots import PlotStack
from ald_gui.ui.trends_text import MAX_WINDOW_S, MIN_WINDOW_S, parse_state, readout_html
from ald_gui.ui.trends_yrange import YRanges

__all__ = ["MEMORY_BUDGET", "TrendView"]

MEMORY_BUDGET = 128 * 1024 * 1024  # bytes for the ring, slack included
MAX_TICK_HZ = 15.0  # following live, the console ticks once per pixel column of the
MIN_TICK_HZ = 2.0  # window, within these (refresh_hz None): see TrendView.refresh
GAP_FACTOR = 2.5  # a sample later than this many poll intervals follows an outage
PRESSURE_GROUP = "Pa"


class TrendView(QWidget):
    """The live trends. Feed it with ``add_batch`` and ``mark_run`` (engine signals).

    Raises ValueError if the poll interval or capacity is not positive, or if no tag
    can be trended (none polled).
    """

    def __init__(
        self,
        tags: Sequence[Tag],
        *,
        capacity_s: float = 8 * 3600,
        poll_interval_s: float,
        parent: QWidget | None = None,
        refresh_hz: float | None = None,
    ) -> None:
        super().__init__(parent)
        if not poll_interval_s > 0:
            raise ValueError(f"poll_interval_s must be positive, got {poll_interval_s!r}")
        if not capacity_s > 0:
            raise ValueError(f"capacity_s must be positive, got {capacity_s!r}")
        if refresh_hz is not None and not refresh_hz > 0:
            raise ValueError(f"refresh_hz must be positive, got {refresh_hz!r}")
        self._fixed_rate = refresh_hz is not None
        self.groups = plan_curves(tags)
        self.curves: dict[str, Curve] = {c.key: c for g in self.groups for c in g.curves}
        if not self.curves:
            raise ValueError(f"none of the {len(tags)} tags can be trended: none is polled")
        self.poll_interval_s = float(poll_interval_s)
        columns = len(self.curves)
        wanted = math.ceil(capacity_s / poll_interval_s) + 1
        per_row = 8 * (columns + 1) * 1.25 + BYTES_PER_ROW_AND_COLUMN * columns
        self.ring = Ring(columns, max(2, min(wanted, int(MEMORY_BUDGET / per_row))))
        self.peaks = PeakPyramid(self.ring)
        self._keys = list(self.curves)  # column order
        self._nan_row = np.full(columns, np.nan)
        self._fed_generation = 0
        self._drawn: tuple[object, ...] = ()  # what the curves show (see _feed)
        self._shown: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # handed to each curve
        self._dark = True
        self._live = True
        self._window_s = 600.0
        self._log_pressure = False
        self._listed: set[str] = set()  # in the legend (the menu's checked ones + greyed)
        self._visible: set[str] = set()  # drawn
        self.backfill: BackFill | None = None  # history left of the ring (attach_history)

        self.stack = PlotStack(self.groups, self._show_cursor)
        self.marks = RunMarks(self.stack)
        self.cycles = CycleMarks(self.stack)
        # Per plot: its curves share the axis. Context menu; kept in state().
        self.y_ranges = YRanges(
            self.stack, lambda gid: self._log_pressure and gid == PRESSURE_GROUP
        )
        for gp in self.stack.plots:
            gp.legend.sigSampleClicked.connect(self._legend_clicked)
            gp.vb.sigRangeChangedManually.connect(self._moved_by_hand)
        self.controls = TrendControls(
            self.groups, has_pressure=any(g.id == PRESSURE_GROUP for g in self.groups)
        )
        self.controls.window_chosen.connect(self.set_window)
        self.controls.live_chosen.connect(lambda live: self.follow_live() if live else self.pause())
        self.controls.log_chosen.connect(self.set_log_pressure)
        self.controls.curve_chosen.connect(self.set_curve_visible)
        self.controls.show_live(True)
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.controls)
        layout.addWidget(self.stack.canvas, 1)
        layout.addWidget(self.readout)

        self._timer = QTimer(self)
        self._timer.setInterval(max(1, round(1000 / (refresh_hz or MAX_TICK_HZ))))
        self._timer.timeout.connect(self.refresh)
        self._apply_visibility({k for k, c in self.curves.items() if c.tag.plotted})
        self.set_window(self._window_s)
        self._show_cursor(None)
        self._apply_look()

    # -- feeding ------------------------------------------------------------------

    @Slot(object)
    def add_batch(self, batch: Batch) -> None:
        """Store one poll's values (missing tags as NaN). Drawn at the next tick.

        A batch not later than the last one is ignored (the stream clock is strictly
        increasing; a repeat can only be the same batch delivered twice). A batch more
        than 2.5 poll intervals after the previous one follows an outage: a NaN row in
        between keeps the lines from bridging it.
        """
        t = batch.sampled_at_us / 1e6
        last = self.ring.last_time
        if last is not None:
            if t <= last:
                return
            if t - last > GAP_FACTOR * self.poll_interval_s:
                self.ring.append(last + self.poll_interval_s, self._nan_row)
        values = batch.values
        self.ring.append(t, [values.get(k, math.nan) for k in self._keys])
        if self.ring.generation != self._fed_generation:
            # The ring moved to a new buffer: let go of the old one now.
            self._feed()

    def attach_history(self, queries: HistoryQueries, machine: str) -> None:
        """Back-fill from the historian: left of the ring the curves show ``machine``'s
        history, asked of ``queries`` (see trends_history). Call once."""
        self.backfill = BackFill(
            queries,
            machine,
            self.curves,
            self.stack.items,
            self.ring,
            self.stack.canvas,
            seam_gap_s=GAP_FACTOR * self.poll_interval_s,
        )
        self.backfill.show(self._visible)

    @Slot(object)
    def mark_run(self, item: RunStarted | RunEnded) -> None:
        """Draw a run's start or end on every plot, at its time."""
        self.marks.add(item)

    def mark_cycle(self, progress: RecipeProgress, first_step: str = "") -> None:
        """Tick the start of each cycle of a recipe's outermost loop (see CycleMarks)."""
        self.cycles.add(progress, first_step)

    def _width(self) -> int:
        """The plots' width in pixel columns (what a window is reduced to)."""
        shown = self.stack.shown()
        return max(1, round(shown[0].vb.width())) if shown else 1

    def _feed(self) -> set[str]:
        """Hand the visible curves the window's rows reduced to its pixel columns, unless
        they already show this window, width and newest row. Returns the curves given
        new data: only those whose picture changed (``same_picture``)."""
        width = self._width()
        lo, hi = self.stack.x_range()
        keys = sorted(self._visible)
        drawn = (lo, hi, width, self.ring.appended, self.ring.generation, tuple(keys))
        if drawn == self._drawn:
            return set()
        same_grid = drawn[:3] == self._drawn[:3] and drawn[4:] == self._drawn[4:]
        changed: set[str] = set()
        columns = [self.curves[k].column for k in keys]
        if keys and len(self.ring):
            reduced = self.peaks.reduce(lo, hi, width, columns)
            for key, (t, v) in zip(keys, reduced, strict=True):
                shown = self._shown.get(key)
                if same_grid and shown is not None and same_picture(shown, (t, v), lo, hi, width):
                    continue
                self.stack.items[key].setData(t, v)
                self._shown[key] = (t, v)
                changed.add(key)
        for key in set(self._shown) - set(keys):
            del self._shown[key]
        self._fed_generation = self.ring.generation
        self._drawn = drawn
        return changed

    def _draw(self) -> None:
        changed = self._feed()
        # Fit Y now rather than in the paint that follows: a range changed while painting
        # asks for a second paint, doubling the cost of every frame. Only the plots whose
        # curves changed.
        for gp in self.stack.shown():
            if any(c.key in changed for c in gp.group.curves):
                gp.vb.updateAutoRange()

    @Slot()
    def refresh(self) -> None:
        """One tick: move the window if live, and draw what it shows; nothing at all
        when no pixel would change.

        Following live, the window's right edge is rounded up to a whole pixel column
        (of the window's duration / the plots' width), so the picture moves a column at a
        time: in between, the axes, the grid and the columns already summed stay as they
        are, and a curve is handed new data only when a new sample changes its newest
        column's min or max.

        The timer ticks at ``refresh_hz``, or by default once per pixel column of the
        window but at least 2 and at most 15 times a second: the picture cannot move
        more often than that, and a sample is drawn within half a second (the 10 minute
        window on 1600 px moves a column every 0.4 s; the console polls every 0.5 s)."""
        if self._live:
            last = self.ring.last_time or 0.0
            step = self._window_s / self._width()
            if not self._fixed_rate:
                hz = min(max(1 / step, MIN_TICK_HZ), MAX_TICK_HZ)
                self._timer.setInterval(round(1000 / hz))
            hi = math.ceil(max(time.time(), last) / step) * step
            if (hi - self._window_s, hi) != self.stack.x_range():
                self.stack.set_x_range(hi - self._window_s, hi)
        self._draw()
        if self.backfill is not None:
            shown = self.stack.shown()
            width = int(shown[0].vb.width()) if shown else 0
            self.backfill.check(*self.stack.x_range(), self.ring.first_time, width)
        first = self.ring.first_time
        if first is not None and self.marks.marks and self.marks.marks[0].at_s < first:
            self.marks.prune(first)
        if first is not None and self.cycles.times and self.cycles.times[0] < first:
            self.cycles.prune(first)

    # -- window, live, log --------------------------------------------------------

    @property
    def live(self) -> bool:
        return self._live

    @property
    def window_s(self) -> float:
        return self._window_s

    @property
    def held_s(self) -> float:
        """The history the ring holds when full, in seconds (capacity × poll interval)."""
        return self.ring.capacity * self.poll_interval_s

    def set_window(self, seconds: float) -> None:
        """Show ``seconds`` of history (1 min .. 8 h). Live: ending now; paused: keeping
        the right edge. Raises ValueError outside that range."""
        s = float(seconds)
        if not MIN_WINDOW_S <= s <= MAX_WINDOW_S:
            raise ValueError(f"time window {seconds!r} s is outside 60 s .. 8 h (28800 s)")
        self._window_s = s
        self.controls.show_window(s)
        if self.backfill is not None:
            self.backfill.moved()
        if self._live:
            self.refresh()
        else:
            hi = self.stack.x_range()[1]
            self.stack.set_x_range(hi - s, hi)

    def pause(self) -> None:
        """Stop following; samples keep arriving in the ring. Pan and zoom freely."""
        self._live = False
        self.controls.show_live(False)

    def follow_live(self) -> None:
        """Follow the newest samples again, with the chosen window."""
        self._live = True
        self.controls.show_live(True)
        for gid in self.y_ranges.plots:
            self.y_ranges.apply(gid)  # back to fitting itself, unless fixed
        self.refresh()

    @Slot()
    def _moved_by_hand(self) -> None:
        if self.backfill is not None:
            self.backfill.moved()
        if self._live:
            self.pause()
        # Draw what the new range shows now, not at the next tick (half a second away
        # with a long window).
        self._draw()

    @Slot(bool)
    def set_log_pressure(self, on: bool) -> None:
        """Pressures on a log10 axis (values <= 0 are left out while it is on)."""
        self._log_pressure = bool(on)
        for gp in self.stack.plots:
            if gp.group.id == PRESSURE_GROUP:
                gp.plot.setLogMode(y=self._log_pressure)
                self.y_ranges.apply(gp.group.id)  # a fixed range, in the new scale
        self.controls.show_log(self._log_pressure)

    def set_y_range(self, plot: str, rng: tuple[float, float] | None) -> None:
        """Fix a plot's Y range (``plot`` is its unit, ``rng`` lo, hi in it) or let it fit
        what the window shows (None). KeyError, ValueError: see YRanges.set."""
        self.y_ranges.set(plot, rng)

    # -- curves -------------------------------------------------------------------

    def curve_item(self, key: str) -> pg.PlotDataItem:
        """The PlotDataItem drawing a tag. KeyError naming the key if it is not trended."""
        item = self.stack.items.get(key)
        if item is None:
            raise KeyError(f"{key!r} is not a trended tag")
        return item

    def point_count(self) -> int:
        """Rows held (samples, plus one NaN row per outage)."""
        return len(self.ring)

    def curve_data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """A tag's held history, shown or not: times (s since the epoch) and values
        (read-only views). KeyError if ``key`` is not trended."""
        self.curve_item(key)
        return self.ring.times(), self.ring.column(self.curves[key].column)

    def set_curve_visible(self, key: str, visible: bool) -> None:
        """Show a curve (and list it in its plot's legend) or remove it from both.
        KeyError if ``key`` is not a trended tag."""
        self.curve_item(key)
        wanted = set(self._visible)
        if visible:
            wanted.add(key)
        else:
            wanted.discard(key)
        self._apply_visibility(wanted, listed=(self._listed | wanted) - ({key} - wanted))

    def _apply_visibility(self, visible: set[str], listed: set[str] | None = None) -> None:
        self._visible = set(visible)
        self._listed = set(visible if listed is None else listed)
        self.controls.show_visible(self._visible)
        self.stack.show_curves(self._visible, self._listed)
        self.marks.relabel()
        self._feed()
        if self.backfill is not None:
            self.backfill.show(self._visible)

    @Slot(object)
    def _legend_clicked(self, item: pg.PlotDataItem) -> None:
        # pyqtgraph has already toggled the item; keep the menu and the ring feed in step.
        key = next(k for k, i in self.stack.items.items() if i is item)
        if item.isVisible():
            self._visible.add(key)
        else:
            self._visible.discard(key)
        self._apply_visibility(self._visible, listed=self._listed)

    # -- persistence --------------------------------------------------------------

    def state(self) -> dict[str, object]:
        """What the operator chose, for QSettings: visible curves, window, log scale and
        the fixed Y ranges (plot -> [lo, hi]; a plot not named fits itself)."""
        return {
            "visible": sorted(self._visible),
            "window_s": self._window_s,
            "log_pressure": self._log_pressure,
            "y_ranges": {gid: list(rng) for gid, rng in sorted(self.y_ranges.fixed.items())},
        }

    def restore(self, state: Mapping[str, object]) -> None:
        """Apply a ``state()``. What it cannot use (a tag no longer trended, a window
        out of range, a missing key) is skipped: settings may come from another
        version of the configuration or of the console. Never raises."""
        saved = parse_state(state, self.curves, self.y_ranges.plots)
        if saved.visible is not None:
            self._apply_visibility(set(saved.visible))
        if saved.window_s is not None:
            self.set_window(saved.window_s)
        if saved.log_pressure is not None:
            self.set_log_pressure(saved.log_pressure)
        if saved.y_ranges is not None:
            self.y_ranges.set_all(saved.y_ranges)

    # -- cursor -------------------------------------------------------------------

    def _show_cursor(self, t: float | None) -> None:
        self.stack.show_cursor(t)
        cycle = self.cycles.text_at(t) if t is not None else ""
        self.readout.setText(self.readout_at(t) + (f"  ·  <i>{cycle}</i>" if cycle else ""))

    def readout_at(self, t: float | None) -> str:
        """The cursor's text (HTML) for time ``t``: each visible curve's value there."""
        return readout_html(
            t,
            self.ring,
            self.groups,
            self._visible,
            max_age_s=GAP_FACTOR * self.poll_interval_s,
            dark=self._dark,
        )

    # -- look and timer -----------------------------------------------------------

    def _apply_look(self) -> None:
        pal = self.palette()
        background = pal.color(QPalette.ColorRole.Window)
        foreground = pal.color(QPalette.ColorRole.WindowText)
        self._dark = is_dark(background.lightness())
        self.stack.canvas.setBackground(background)
        for gp in self.stack.plots:
            gp.apply_look(background, foreground, self._dark)
        self.marks.apply_look(foreground.name(), self._dark)
        self.cycles.apply_look(foreground.name())
        if self.backfill is not None:
            self.backfill.apply_look()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._apply_look()
        super().changeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._apply_look()
        self.refresh()
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        # Also runs when the window closes: no timer outlives a shown view.
        self._timer.stop()
        super().hideEvent(event)

    @property
    def tick_ms(self) -> int:
        """The repaint timer's interval (it follows the window unless refresh_hz)."""
        return self._timer.interval()

    @property
    def ticking(self) -> bool:
        """Whether the repaint timer runs (only while the view is shown)."""
        return self._timer.isActive()
