"""The trends' legends: a column right of each plot that covers no data and no live
edge, whose entries (sample or name) hide and show their curves where the eye sees it;
and the run marks' names, in a band above the plots.

The reference reactor's tags in a real TrendView, shown offscreen; what is checked is
where things land in the scene and what the canvas paints.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ald_gui.config.load import load_config
from ald_gui.domain.stream import Batch, Run, RunEnded, RunStarted, RunStatus
from ald_gui.ui.trends import TrendView
from ald_gui.ui.trends_plots import GroupPlot

INTERVAL = 0.5
PRESSURE = "pressure_gauge_1.pressure_read"
OUTPUT = "chamber_heater.pid_output"
LONG = "nitrogen_generator.fault_status"
# Many curves on the temperature and state plots, so their legends wrap.
MORE = [
    "chamber_heater.temperature_set",
    *(f"precursor_{i}_heater.temperature_read" for i in range(1, 5)),
    *(f"valve_{i}.valve_state" for i in range(1, 7)),
    "vacuum_pump.power_on",
    "chamber_heater.power_on",
]


@pytest.fixture
def view(qtbot: QtBot) -> Iterator[TrendView]:
    v = TrendView(load_config().tags, poll_interval_s=INTERVAL)
    qtbot.addWidget(v)
    for key in MORE:
        v.set_curve_visible(key, True)
    now = time.time()
    for i in range(240):
        values = {
            k: (float(i % 2) if c.group == "state" else 100.0 + 40 * np.sin(i / 20 + c.column))
            for k, c in v.curves.items()
        }
        v.add_batch(Batch(i, int((now - (240 - i) * INTERVAL) * 1e6), values))
    v.resize(1200, 800)
    v.show()
    qtbot.waitExposed(v)
    yield v
    v.close()


def settle(view: TrendView) -> None:
    """Let the posted layout requests run, and draw the window as it now is."""
    QApplication.processEvents()
    view.refresh()
    QApplication.processEvents()


def _check_clear_of_the_data(view: TrendView) -> None:
    shown = view.stack.shown()
    boxes = [gp.vb.sceneBoundingRect() for gp in shown]
    lefts = set()
    for gp in shown:
        legend = gp.legend.sceneBoundingRect()
        vb = gp.vb.sceneBoundingRect()
        assert gp.legend.isVisible() and legend.height() >= 16
        for box in boxes:  # no view box at all, so no live edge either
            assert not legend.intersects(box), (gp.group.title, legend, box)
        # Its own plot's, right of it, from its top, within the canvas.
        assert 0 <= legend.left() - vb.right() <= 12
        assert abs(legend.top() - vb.top()) <= 2
        assert legend.right() <= view.stack.canvas.width()
        lefts.add(legend.left())
        for sample, label in gp.legend.items:
            entry = sample.sceneBoundingRect().united(label.sceneBoundingRect())
            assert legend.contains(entry)
    assert len(lefts) == 1  # one column: every plot's data area ends at the same x


def test_legends_sit_right_of_their_plots_clear_of_the_data(view: TrendView) -> None:
    settle(view)
    assert len(view.stack.shown()) == 5  # temperature, pressure, flow, thickness, state
    _check_clear_of_the_data(view)
    view.set_curve_visible(OUTPUT, True)  # a plot shown later
    settle(view)
    assert len(view.stack.shown()) == 6
    _check_clear_of_the_data(view)
    temperature = view.stack.shown()[0]
    view.resize(1200, 1300)  # room for the seven temperature entries one under another
    settle(view)
    _check_clear_of_the_data(view)
    assert temperature.legend.columnCount == 1
    # Shorter: the entries take more columns rather than more height, up to about a third
    # of the width; what still does not fit is cut off at the plot's bottom.
    view.resize(1200, 420)
    settle(view)
    _check_clear_of_the_data(view)
    assert temperature.legend.columnCount == 2
    assert temperature.legend.sceneBoundingRect().width() <= view.stack.canvas.width() * 0.36
    for gp in view.stack.shown()[:-1]:  # the last one's row holds the time axis too
        column = gp.legend.column.sceneBoundingRect()
        assert column.bottom() <= gp.vb.sceneBoundingRect().bottom() + 4
        assert gp.legend.column.flags() & gp.legend.column.GraphicsItemFlag.ItemClipsChildrenToShape


def test_a_long_name_is_cut_short_with_the_whole_in_its_tooltip(view: TrendView) -> None:
    view.set_curve_visible(LONG, True)
    item = view.curve_item(LONG)
    label = next(
        label for sample, label in view.stack.plots[-1].legend.items if sample.item is item
    )
    assert label.text.endswith("…") and label.toolTip() == "Nitrogen Generator fault status"


def test_a_folded_plot_takes_its_legend_along(view: TrendView) -> None:
    view.set_curve_visible(PRESSURE, False)
    settle(view)
    pressure = view.stack.plots[1]
    assert not pressure.plot.isVisible() and not pressure.legend.isVisible()
    _check_clear_of_the_data(view)


def _pixels_like(image: QImage, area: QRectF, colour: QColor) -> int:
    """How many pixels of ``area`` (view coordinates) are near ``colour``."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    array = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())[
        :, : rgb.width() * 3
    ]
    pixels = array.reshape(rgb.height(), rgb.width(), 3).astype(int)
    r = area.toRect().intersected(rgb.rect())
    part = pixels[r.top() : r.bottom(), r.left() : r.right()]
    target = np.array([colour.red(), colour.green(), colour.blue()])
    return int((np.abs(part - target).sum(axis=2) < 40).sum())


def _plot_area(view: TrendView, gp: GroupPlot) -> QRectF:
    return view.stack.canvas.mapFromScene(gp.vb.sceneBoundingRect()).boundingRect().toRectF()


@pytest.mark.parametrize("where", ["name", "sample"])
def test_a_click_on_an_entry_hides_its_curve_for_all_to_see(
    view: TrendView, qtbot: QtBot, where: str
) -> None:
    settle(view)
    canvas = view.stack.canvas
    pressure = view.stack.plots[1]
    sample, label = pressure.legend.items[0]
    assert label.text == "Pressure Gauge 1"
    target = label if where == "name" else sample
    at = canvas.mapFromScene(target.mapToScene(target.boundingRect().center()))
    pen = view.curve_item(PRESSURE).opts["pen"].color()
    named = QColor(label.opts["color"])
    drawn = _pixels_like(canvas.grab().toImage(), _plot_area(view, pressure), pen)
    assert drawn > 200  # the curve, on screen

    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at)
    settle(view)
    assert PRESSURE not in view.state()["visible"]
    assert not view.controls.actions_by_key[PRESSURE].isChecked()
    assert (sample, label) in pressure.legend.items  # kept, to click back
    assert QColor(label.opts["color"]) != named  # the name greyed
    picture = canvas.grab().toImage()
    assert _pixels_like(picture, _plot_area(view, pressure), pen) == 0  # the curve gone

    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at)
    settle(view)
    assert PRESSURE in view.state()["visible"]
    assert QColor(label.opts["color"]) == named
    assert _pixels_like(canvas.grab().toImage(), _plot_area(view, pressure), pen) > 200


def test_a_click_beside_the_entries_does_nothing(view: TrendView, qtbot: QtBot) -> None:
    settle(view)
    pressure = view.stack.plots[1]
    legend = pressure.legend.sceneBoundingRect()
    beside = QPointF(legend.right() + 40, legend.center().y())
    canvas = view.stack.canvas
    before = view.state()
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(beside))
    assert view.state() == before


def _run(started_s: float, n: int = 1) -> Run:
    return Run(uuid.UUID(int=(0xABCDEF10 + n) << 96), "ald-1", "alice", int(started_s * 1e6))


def test_run_names_sit_in_a_band_above_the_plots(view: TrendView) -> None:
    assert not view.marks.band.isVisible()  # no mark, no band
    now = time.time()
    first, second = _run(now - 100, 1), _run(now - 46, 2)
    view.mark_run(RunStarted(1, first))  # held, but outside the one-minute window
    view.mark_run(RunEnded(2, first.id, int((now - 50) * 1e6), RunStatus.ABORTED))
    view.mark_run(RunStarted(3, second))  # 4 s after the end: the names would overlap
    view.mark_run(RunEnded(4, second.id, int((now - 1) * 1e6), RunStatus.COMPLETED))
    view.set_window(60)
    settle(view)
    band = view.marks.band.sceneBoundingRect()
    boxes = [gp.vb.sceneBoundingRect() for gp in view.stack.shown()]
    assert view.marks.band.isVisible() and band.bottom() <= min(b.top() for b in boxes)
    start, end, again, done = view.marks.marks
    assert not start.label.isVisible()  # outside the window
    assert not end.label.isVisible()  # under the newer name
    vb = view.stack.shown()[0].vb
    for mark in (again, done):
        rect = mark.label.sceneBoundingRect()
        assert mark.label.isVisible() and band.contains(rect)
        assert not any(rect.intersects(b) for b in boxes)  # over no curve
        x = vb.mapViewToScene(QPointF(mark.at_s, 0)).x()
        if mark is done:  # at the live edge: left of its line, inside the plot's width
            assert rect.right() <= x and rect.left() >= boxes[0].left()
        else:
            assert rect.left() >= x
    assert not again.label.sceneBoundingRect().intersects(done.label.sceneBoundingRect())
    view.set_window(600)  # all four in 150 px: the newest name shown, none overlapping
    settle(view)
    rects = [m.label.sceneBoundingRect() for m in view.marks.marks if m.label.isVisible()]
    assert done.label.isVisible() and len(rects) < 4
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])


def test_state_traces_keep_clear_of_the_plot_edges_and_of_each_other(view: TrendView) -> None:
    settle(view)
    state = view.stack.shown()[-1]
    vb = state.vb.sceneBoundingRect()
    drawn = [item for item in state.items if item.isVisible()]
    assert len(drawn) == 8  # six valves, the pump and a heater's power
    spans = []
    for item in drawn:
        _, y = item.getData()
        assert y is not None and set(np.unique(y[np.isfinite(y)])) == {0.0, 1.0}
        trace = item.curve.mapRectToScene(item.curve.boundingRect())  # its 0 and 1, on screen
        assert trace.height() >= 8  # a step between 0 and 1, drawn
        spans.append((trace.top(), trace.bottom()))
        assert trace.top() - vb.top() >= 2 and vb.bottom() - trace.bottom() >= 2
    spans.sort()
    gaps = [lower[0] - upper[1] for upper, lower in itertools.pairwise(spans)]
    assert min(gaps) >= 2  # air between the lanes: a 1 never touches the next lane's 0


class _Paints(QObject):
    """Counts the paint events of the widget it filters."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_a_paused_view_paints_once_per_update_and_then_rests(view: TrendView, qtbot: QtBot) -> None:
    # Narrow enough that the legend columns take room from the plots: each fit of a
    # legend once widened it by 2 px, which narrowed its plot, which fitted it again.
    view.resize(1000, 700)
    view.pause()
    viewport = view.stack.canvas.viewport()
    paints = _Paints()
    viewport.installEventFilter(paints)
    settle(view)
    viewport.update()
    qtbot.waitUntil(lambda: paints.count >= 1, timeout=5000)
    for _turn in range(10):  # drain what that paint posted: a quiet turn ends it
        before = paints.count
        QApplication.processEvents()
        if paints.count == before:
            break
    widths = [gp.legend.column.width() for gp in view.stack.shown()]
    before = paints.count
    for _turn in range(20):
        QApplication.processEvents()
    assert paints.count == before, "the idle trends kept repainting"
    assert [gp.legend.column.width() for gp in view.stack.shown()] == widths
    viewport.removeEventFilter(paints)
