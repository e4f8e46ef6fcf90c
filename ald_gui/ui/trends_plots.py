"""The stacked plots of the trends: one PlotItem per group, built once, sharing time.

Everything here is created in the constructor and only shown, hidden, recoloured or
fed afterwards: pyqtgraph leaks PlotItems destroyed and recreated on PySide6 (LIBRARY-
NOTES), and a curve created per sample would be far too slow anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QColor, QTransform

from ald_gui.ui.palette import LINE_STYLES, ON_DARK, curve_colour
from ald_gui.ui.trends_axes import ValueAxis
from ald_gui.ui.trends_curves import Curve, Group
from ald_gui.ui.trends_legend import LegendStrip

__all__ = ["GroupPlot", "PlotStack"]

LANE_HEIGHT = 0.7  # a state trace spans this much of its lane (1.0), the rest is air


class GroupPlot:
    """One group's PlotItem, curves (one PlotDataItem per Curve, in order) and legend.

    The plot sits in canvas row ``row``, its legend in the column to its right. The legend
    lists the curves chosen in the menu; clicking an entry hides or shows its curve and
    the entry stays, greyed with an eye icon (trends_legend).
    """

    def __init__(self, group: Group, canvas: pg.GraphicsLayoutWidget, row: int) -> None:
        self.group = group
        # The title, or the unit alone where the plot is too short for it (ValueAxis).
        short = group.id if group.id and group.id != group.title and not group.is_state else ""
        self.axis = ValueAxis([t for t in (group.title, short) if t])
        self.plot: pg.PlotItem = canvas.addPlot(
            row=row,
            col=0,
            axisItems={"bottom": pg.DateAxisItem(orientation="bottom"), "left": self.axis},
        )
        # An opaque grid in a faint colour (apply_look): alpha-blended lines cost the
        # raster engine about five times as much, and the grid spans every plot.
        self.plot.showGrid(x=True, y=True, alpha=1.0)
        for axis in ("left", "bottom"):
            # Major ticks only: a readable grid, and half the lines to draw.
            self.plot.getAxis(axis).setStyle(tickAlpha=255, maxTickLevel=0)
            # Behind the ViewBox (z -100), so opaque grid lines never cut a curve.
            self.plot.getAxis(axis).setZValue(-200)
            # No SI prefixes (the unit is in the title): spares relaying out the axis
            # title's HTML on every range change, that is, on every live frame.
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.plot.setMenuEnabled(True)
        vb = self.plot.getViewBox()
        vb.setMouseEnabled(x=True, y=False)  # wheel and drag move in time; Y fits itself
        self.plot.enableAutoRange(x=False, y=not group.is_state)
        self.plot.setAutoVisible(y=True)  # fit Y to what is in the time window only
        # No downsampling or clipping by pyqtgraph: the trends hand each curve the
        # window already reduced to its pixel columns (ring_peaks), exactly.
        # Right of the plot, outside the ViewBox: it hides no data and no live edge,
        # and takes no height from plots that are short already (five in a small tab).
        self.legend = LegendStrip()
        self._canvas = canvas
        canvas.addItem(self.legend.column, row=row, col=1)
        # The data area's geometry, not the plot's: the axis below may come and go.
        vb.geometryChanged.connect(self.fit_legend)
        if group.is_state:
            self.plot.getAxis("left").setStyle(showValues=False)  # lanes, not numbers
        self.items: list[pg.PlotDataItem] = []
        self.listed: list[Curve] = []  # the legend's curves, in group order
        self.lane_labels: dict[str, pg.TextItem] = {}
        for curve in group.curves:
            item = pg.PlotDataItem(
                connect="finite",  # NaN rows mark PLC outages: no line across them
                stepMode="right" if group.is_state else None,  # a state holds until the next
            )
            item.setSkipFiniteCheck(True)  # connect="finite" handles the NaN gaps anyway
            item.setVisible(False)
            self.plot.addItem(item)
            self.items.append(item)
            if group.is_state:
                label = pg.TextItem(curve.label, anchor=(0, 0.5))
                label.setZValue(1)  # over the traces
                label.setVisible(False)
                self.plot.addItem(label, ignoreBounds=True)
                self.lane_labels[curve.key] = label
        if group.is_state:
            vb.sigXRangeChanged.connect(self._place_lane_labels)
        self.cursor = pg.InfiniteLine(angle=90, movable=False)
        self.cursor.setVisible(False)
        self.plot.addItem(self.cursor, ignoreBounds=True)

    @property
    def vb(self) -> pg.ViewBox:
        return self.plot.getViewBox()

    def relist(self, listed: set[str]) -> None:
        """Show exactly the curves whose keys are in ``listed`` in the legend."""
        wanted = [c for c in self.group.curves if c.key in listed]
        if [c.key for c in wanted] == [c.key for c in self.listed]:
            return
        self.legend.clear()
        for curve in wanted:
            self.legend.addItem(self.items[self.group.curves.index(curve)], curve.label)
        self.listed = wanted
        self.legend.shade()
        self.fit_legend()

    def fit_legend(self) -> None:
        """Wrap the legend's entries into columns of the data area's height, taking
        at most a third of the canvas' width."""
        self.legend.fit(self.vb.geometry().bottom(), self._canvas.width() / 3)

    def place_lanes(self, drawn: set[str]) -> None:
        """Give each drawn state curve a lane, first curve on top; fix the Y range."""
        if not self.group.is_state:
            return
        visible = [c.key for c in self.group.curves if c.key in drawn]
        for curve, item in zip(self.group.curves, self.items, strict=True):
            label = self.lane_labels[curve.key]
            if curve.key in visible:
                lane = len(visible) - 1 - visible.index(curve.key)
                # Scale and lift the trace instead of its data, so getData() stays 0/1.
                item.setTransform(QTransform(1, 0, 0, LANE_HEIGHT, 0, lane))
                label.setPos(label.pos().x(), lane + LANE_HEIGHT / 2)
            label.setVisible(curve.key in visible)
        # As much air above the top lane and below the bottom one as between two lanes
        # (1 - LANE_HEIGHT), so no trace sits on the plot's edge.
        air = 1 - LANE_HEIGHT
        self.vb.setYRange(-air, max(1, len(visible)) - 1 + LANE_HEIGHT + air, padding=0)
        self._place_lane_labels()

    def _place_lane_labels(self) -> None:
        left = self.vb.viewRange()[0][0]
        for label in self.lane_labels.values():
            label.setPos(QPointF(left, label.pos().y()))

    @staticmethod
    def _backdrop(background: QColor) -> QColor:
        # Opaque, like the grid: behind text drawn over traces, so it stays readable.
        return background.darker(115) if background.lightness() > 128 else background.lighter(140)

    def apply_look(self, background: QColor, foreground: QColor, dark: bool) -> None:
        grid = _mix(background, foreground, 0.16)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setPen(grid)
            self.plot.getAxis(axis).setTextPen(foreground)
        self.legend.setLabelTextColor(foreground)
        self.legend.set_colours(foreground, _mix(background, foreground, 0.45))
        self.cursor.setPen(pg.mkPen(foreground, width=1, style=Qt.PenStyle.DashLine))
        wraps = len(ON_DARK)
        for curve, item in zip(self.group.curves, self.items, strict=True):
            colour = curve_colour(curve.colour_index, dark=dark)
            if curve.setpoint:
                style = Qt.PenStyle.DashLine
            elif self.group.is_state:
                style = Qt.PenStyle.SolidLine  # lanes and labels tell them apart
            else:
                style = LINE_STYLES[(curve.colour_index // wraps) % len(LINE_STYLES)]
            item.setPen(pg.mkPen(colour, width=1, style=style))
            if curve.key in self.lane_labels:
                self.lane_labels[curve.key].setColor(colour)
                self.lane_labels[curve.key].fill = pg.mkBrush(self._backdrop(background))
        self.legend.shade()


class PlotStack:
    """The group plots in one GraphicsLayoutWidget, sharing one time range.

    Row 0 of the canvas is kept for a band above the plots; below it, a row per plot,
    the plot in column 0 and its legend in column 1 (one column: the time axes stay
    lined up). Plots with an empty legend fold away; only the lowest shown plot labels
    its time axis. ``on_cursor(t)`` is called with the time under the
    mouse, or None when the mouse leaves the plots.
    """

    def __init__(self, groups: Sequence[Group], on_cursor: Callable[[float | None], None]):
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.ci.setSpacing(2)
        self.plots = [GroupPlot(g, self.canvas, 1 + i) for i, g in enumerate(groups)]
        self.items: dict[str, pg.PlotDataItem] = {
            c.key: item
            for gp in self.plots
            for c, item in zip(gp.group.curves, gp.items, strict=True)
        }
        self._syncing = False
        self._on_cursor = on_cursor
        for gp in self.plots:
            gp.vb.sigXRangeChanged.connect(self._sync_x)
            gp.axis.needs_width.connect(self.align_axes)
        self.align_axes()
        self.canvas.scene().sigMouseMoved.connect(self._mouse_moved)
        # The scene reports moves only: leaving the plots must clear the read-out too.
        self._leave = _OnLeave(lambda: self._on_cursor(None))
        self.canvas.installEventFilter(self._leave)

    def shown(self) -> list[GroupPlot]:
        return [gp for gp in self.plots if gp.plot.isVisible()]

    def show_curves(self, drawn: set[str], listed: set[str]) -> None:
        """Draw the curves in ``drawn``, list those in ``listed`` in their legends, give
        state curves their lanes and fold the plots left with an empty legend."""
        for key, item in self.items.items():
            item.setVisible(key in drawn)
            if key not in drawn:
                item.clear()  # a hidden curve holds no view of the ring
        for gp in self.plots:
            gp.relist(listed)
            gp.place_lanes(drawn)
        self.fold()

    def fold(self) -> None:
        """Hide plots with an empty legend; label time on the lowest shown one only."""
        for gp in self.plots:
            gp.plot.setVisible(bool(gp.listed))
            gp.legend.column.setVisible(bool(gp.listed))
        shown = self.shown()
        for gp in self.plots:
            gp.plot.getAxis("bottom").setStyle(showValues=bool(shown) and gp is shown[-1])
        self.align_axes()

    def align_axes(self) -> None:
        """Give every value axis the width the widest shown one needs, so the time axes
        of all plots line up to the pixel (hidden plots take it too: ready to show)."""
        width = max((gp.axis.needed_width() for gp in self.shown()), default=0)
        for gp in self.plots:
            # A hidden axis is sized 0 by pyqtgraph: set it again once its plot shows.
            if gp.axis.fixedWidth != width or gp.axis.maximumWidth() != width:
                gp.axis.setWidth(width)

    def set_x_range(self, lo: float, hi: float) -> None:
        self._syncing = True  # each plot is set here: no need to echo it to the others
        try:
            for gp in self.plots:
                gp.vb.setXRange(lo, hi, padding=0)
        finally:
            self._syncing = False

    def x_range(self) -> tuple[float, float]:
        lo, hi = self.plots[0].vb.viewRange()[0]
        return float(lo), float(hi)

    def _sync_x(self, vb: pg.ViewBox, rng: tuple[float, float]) -> None:
        # The user pans or zooms one plot; the others follow, exactly (same axis width).
        if self._syncing:
            return
        self._syncing = True
        try:
            for gp in self.plots:
                if gp.vb is not vb:
                    gp.vb.setXRange(*rng, padding=0)
        finally:
            self._syncing = False

    def _mouse_moved(self, pos: QPointF) -> None:
        for gp in self.shown():
            if gp.vb.sceneBoundingRect().contains(pos):
                self._on_cursor(float(gp.vb.mapSceneToView(pos).x()))
                return
        self._on_cursor(None)

    def show_cursor(self, t: float | None) -> None:
        for gp in self.plots:
            gp.cursor.setVisible(t is not None)
            if t is not None:
                gp.cursor.setValue(t)


class _OnLeave(QObject):
    def __init__(self, left: Callable[[], None]) -> None:
        super().__init__()
        self._left = left

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self._left()
        return False


def _mix(a: QColor, b: QColor, share_of_b: float) -> QColor:
    def channel(x: float, y: float) -> int:
        return round(x + (y - x) * share_of_b)

    return QColor(
        channel(a.red(), b.red()), channel(a.green(), b.green()), channel(a.blue(), b.blue())
    )
