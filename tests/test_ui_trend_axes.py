"""The trends' value axes: log-pressure labels an operator can read whatever the span,
titles that never run into each other or into the tick labels with five plots stacked,
value axes of one width so that every plot's time axis lines up to the pixel, and a
plot's fixed Y range, kept with the layout.

Real TrendViews, shown offscreen; what is measured is what pyqtgraph draws (the axis'
own draw specs and the items' rectangles in scene coordinates).
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QRectF, QSettings
from PySide6.QtGui import QImage, QPainter
from pytestqt.qtbot import QtBot

from ald_gui.config.load import load_config
from ald_gui.domain.stream import Batch
from ald_gui.ui.trends import TrendView
from ald_gui.ui.trends_axes import (
    EDGE_PX,
    LABEL_PX,
    MIN_LABEL_GAP_PX,
    ValueAxis,
    log_ticks,
    tick_text,
)
from ald_gui.ui.trends_curves import STATE_GROUP
from ald_gui.ui.trends_plots import GroupPlot
from tests.test_ui_trends import FLOW, INTERVAL, PRESSURE, TAGS, TEMP

# -- the log ticks, as numbers ---------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    lo=st.floats(min_value=-4, max_value=6),
    decades=st.floats(min_value=1e-6, max_value=9),
    size_px=st.floats(min_value=40, max_value=900),
)
def test_log_ticks_are_at_least_two_readable_labels_inside_the_axis(
    lo: float, decades: float, size_px: float
) -> None:
    hi = lo + decades
    ticks = log_ticks(lo, hi, size_px)
    assert len(ticks) >= 2, (lo, hi, size_px, ticks)
    gaps_px = [(b - a) * size_px / decades for a, b in itertools.pairwise(ticks)]
    # Apart enough not to overlap (a label is about 14 px tall), a full gap with room.
    assert min(gaps_px) >= (MIN_LABEL_GAP_PX if size_px >= 80 else LABEL_PX), (ticks, gaps_px)
    margin = (hi - lo) * min(0.25, EDGE_PX / size_px)
    assert all(lo + margin - 1e-12 <= t <= hi - margin + 1e-12 for t in ticks)
    assert ticks == sorted(ticks)
    labels = [tick_text(10**t) for t in ticks]
    assert len(set(labels)) == len(labels), labels  # no smear of equal labels
    for t, label in zip(ticks, labels, strict=True):
        assert float(label) == pytest.approx(10**t, rel=1e-6)  # says the tick's value
        assert len(label) <= 12


def test_labels_read_in_the_unit() -> None:
    assert [tick_text(v) for v in (0.01, 0.1, 0.25, 1, 10, 100, 5000)] == [
        "0.01",
        "0.1",
        "0.25",
        "1",
        "10",
        "100",
        "5000",
    ]
    assert [tick_text(v) for v in (1e-3, 1e5, 100_200.0, 10 ** math.log10(100_200))] == [
        "1e-3",
        "1e5",
        "1.002e5",
        "1.002e5",
    ]
    # Inside one decade (a minute at constant pressure) and at atmosphere: several.
    assert [tick_text(10**t) for t in log_ticks(math.log10(5.0), math.log10(5.02), 120)] == [
        "5.005",
        "5.01",
        "5.015",
    ]
    at_atmosphere = log_ticks(math.log10(99_900), math.log10(100_100), 60)
    assert [tick_text(10**t) for t in at_atmosphere] == ["9.9927e4", "1.0007e5"]
    wide = log_ticks(-3, 5, 400)
    assert [tick_text(10**t) for t in wide] == ["0.01", "0.1", "1", "10", "100", "1000", "1e4"]


# -- on screen ---------------------------------------------------------------------------


def drawn_labels(axis: ValueAxis) -> list[tuple[QRectF, str]]:
    """The tick labels the axis draws now, in scene coordinates."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    assert specs is not None
    return [(axis.mapRectToScene(rect), text) for rect, _flags, text in specs[2]]


@pytest.fixture
def view(qtbot: QtBot) -> Iterator[TrendView]:
    v = TrendView(TAGS, poll_interval_s=INTERVAL)
    qtbot.addWidget(v)
    v.resize(1000, 700)
    yield v
    v.close()


def feed_pressure(view: TrendView, pressure: float, n: int = 130) -> None:
    """A minute and some of constant pressure (and temperature), ending now."""
    t0 = time.time() - n * INTERVAL
    for i in range(n):
        values = {TEMP: 150.0, PRESSURE: pressure, FLOW: 20.0}
        view.add_batch(Batch(i, int((t0 + i * INTERVAL) * 1e6), values))


def pressure_plot(view: TrendView) -> GroupPlot:
    return next(gp for gp in view.stack.plots if gp.group.id == "Pa")


@pytest.mark.parametrize("pressure", [0.02, 5.0, 133.0, 101_325.0])
def test_log_pressure_shows_at_least_two_labels_in_a_one_minute_window(
    view: TrendView, qtbot: QtBot, pressure: float
) -> None:
    feed_pressure(view, pressure)
    view.set_window(60)
    view.set_log_pressure(True)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    gp = pressure_plot(view)
    lo, hi = (10**v for v in gp.vb.viewRange()[1])
    assert lo <= pressure <= hi
    labels = drawn_labels(gp.axis)
    texts = [text for _rect, text in labels]
    assert len(texts) >= 2 and len(set(texts)) == len(texts), texts
    assert all(lo <= float(text) <= hi for text in texts), (texts, lo, hi)
    view.set_log_pressure(False)  # and back: pyqtgraph's own linear labels
    assert len(drawn_labels(gp.axis)) >= 2


def five_plots(qtbot: QtBot, width: int, height: int) -> TrendView:
    """The reference reactor's trends with five plots shown: temperature, pressure,
    flow, output and states."""
    view = TrendView(load_config().tags, poll_interval_s=INTERVAL)
    qtbot.addWidget(view)
    wanted = {k for k, c in view.curves.items() if c.tag.plotted and c.group != "nm"}
    wanted.add(next(k for k, c in view.curves.items() if c.group == "%"))
    wanted.add(next(k for k, c in view.curves.items() if c.group == STATE_GROUP))
    for key in wanted:
        view.set_curve_visible(key, True)
    for key in set(view.curves) - wanted:
        view.set_curve_visible(key, False)
    t0 = time.time() - 200 * INTERVAL
    for i in range(200):
        values = {k: 20.0 + i % 9 for k in view.curves}
        values.update({k: 100.0 + i for k, c in view.curves.items() if c.group == "Pa"})
        view.add_batch(Batch(i, int((t0 + i * INTERVAL) * 1e6), values))
    view.set_log_pressure(True)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    assert len(view.stack.shown()) == 5
    return view


# The trends in the default 1600 x 1000 window (the Overview's tab, beside the docks:
# plots about 20 px tall, too short for any title), and the trends given the whole
# height of such a window.
@pytest.mark.parametrize(("width", "height"), [(680, 330), (1600, 1000)])
def test_with_five_plots_no_axis_title_overlaps_another_or_the_tick_labels(
    qtbot: QtBot, width: int, height: int
) -> None:
    view = five_plots(qtbot, width, height)
    qtbot.waitUntil(lambda: lined_up(view))
    titles = []
    for gp in view.stack.shown():
        axis = gp.axis
        labels = drawn_labels(axis)
        if not gp.group.is_state:
            assert labels, (gp.group.title, gp.vb.viewRange()[1], gp.axis.size())
        for i, (rect, text) in enumerate(labels):  # nor do the tick labels overlap
            assert not any(rect.intersects(other) for other, _ in labels[i + 1 :]), text
        if axis.label.isVisible():
            title = axis.label.sceneBoundingRect()
            titles.append(title)
            axis_rect = axis.sceneBoundingRect()
            assert axis_rect.top() <= title.top() and title.bottom() <= axis_rect.bottom()
            for rect, text in labels:
                assert not rect.intersects(title), (gp.group.title, text)
    for i, a in enumerate(titles):
        for b in titles[i + 1 :]:
            assert not a.intersects(b)
    if height == 1000:  # room for the full titles
        assert [gp.axis.title for gp in view.stack.shown()] == [
            "Temperature (°C)",
            "Pressure (Pa)",
            "Flow (sccm)",
            "Output (%)",
            "State",
        ]
    view.close()


def lined_up(view: TrendView) -> bool:
    """Every shown plot's data area spans the same scene x range, and every value axis
    is as wide as the widest shown one needs."""
    shown = view.stack.shown()
    spans = {(gp.vb.sceneBoundingRect().left(), gp.vb.sceneBoundingRect().right()) for gp in shown}
    widest = max(gp.axis.needed_width() for gp in shown)
    return len(spans) == 1 and all(gp.axis.width() == widest for gp in shown)


def test_time_axes_line_up_after_showing_hiding_and_log_mode(view: TrendView, qtbot: QtBot) -> None:
    feed_pressure(view, 101_325.0)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: lined_up(view))
    assert len(view.stack.shown()) == 2
    view.set_curve_visible(FLOW, True)  # a plot folded so far opens
    qtbot.waitUntil(lambda: len(view.stack.shown()) == 3 and lined_up(view))
    # Linear, a flat line at atmosphere needs the widest labels ("101324.8").
    assert pressure_plot(view).axis.width() > view.stack.plots[0].axis.needed_width()
    view.set_log_pressure(True)  # narrower labels ("1e5")
    qtbot.waitUntil(lambda: "1e5" in [t for _r, t in drawn_labels(pressure_plot(view).axis)])
    qtbot.waitUntil(lambda: lined_up(view))
    view.set_log_pressure(False)
    qtbot.waitUntil(lambda: "101325.0" in [t for _r, t in drawn_labels(pressure_plot(view).axis)])
    qtbot.waitUntil(lambda: lined_up(view))
    wide = pressure_plot(view).axis.width()
    view.set_curve_visible(PRESSURE, False)  # the widest one folds: the rest narrow again
    qtbot.waitUntil(lambda: len(view.stack.shown()) == 2 and lined_up(view))
    assert view.stack.plots[0].axis.width() < wide


# -- fixed Y ranges, kept with the layout -------------------------------------------------


def y_shown(gp: GroupPlot) -> tuple[float, float]:
    lo, hi = gp.vb.viewRange()[1]
    return float(lo), float(hi)


def test_a_fixed_y_range_holds_while_live_and_through_log_mode(
    view: TrendView, qtbot: QtBot
) -> None:
    feed_pressure(view, 101_325.0)
    view.show()
    qtbot.waitExposed(view)
    gp = pressure_plot(view)
    view.set_y_range("Pa", (10.0, 1000.0))
    view.refresh()
    assert y_shown(gp) == pytest.approx((10.0, 1000.0))  # the data (1e5) is above it
    view.pause()
    view.follow_live()  # used to turn every plot back to fitting itself
    assert y_shown(gp) == pytest.approx((10.0, 1000.0))
    view.set_log_pressure(True)
    assert y_shown(gp) == pytest.approx((1.0, 3.0))  # the same range, as logarithms
    view.set_log_pressure(False)
    view.set_y_range("Pa", None)
    view.refresh()
    lo, hi = y_shown(gp)
    assert lo <= 101_325.0 <= hi and hi - lo < 0.02 * 101_325  # fits the flat line again
    temperature = view.stack.plots[0]
    assert temperature.vb.autoRangeEnabled()[1]  # the other plots were never touched
    with pytest.raises(ValueError, match=r"finite lo < hi, got 5\.0 \.\. 5\.0"):
        view.set_y_range("Pa", (5.0, 5.0))
    with pytest.raises(KeyError, match="no number plot 'state'"):
        view.set_y_range(STATE_GROUP, (0.0, 1.0))


def test_the_context_menu_fixes_a_range_and_sets_it_back_to_automatic(
    view: TrendView, qtbot: QtBot
) -> None:
    feed_pressure(view, 50.0)
    view.show()
    qtbot.waitExposed(view)
    gp = pressure_plot(view)
    actions = {a.text(): a for a in gp.vb.menu.actions()}
    assert actions["Y range: automatic"].isChecked()
    actions["Y range: fixed…"].trigger()
    dialog = view.y_ranges.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.low.value() <= 50.0 <= dialog.high.value()  # starts at what is shown
    assert dialog.low.suffix() == " Pa"
    dialog.low.setValue(0.5)
    dialog.high.setValue(200.0)
    with qtbot.waitSignal(dialog.finished):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert view.state()["y_ranges"] == {"Pa": [0.5, 200.0]}
    assert y_shown(gp) == pytest.approx((0.5, 200.0))
    assert not actions["Y range: automatic"].isChecked()
    actions["Y range: automatic"].trigger()
    assert view.state()["y_ranges"] == {} and actions["Y range: automatic"].isChecked()


def test_y_ranges_survive_qsettings_and_bad_ones_are_logged_not_fatal(
    view: TrendView, qtbot: QtBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    view.set_y_range("Pa", (0.5, 200.0))
    view.set_y_range("°C", (20.0, 300.0))
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    settings.setValue("trends/state", view.state())  # as MainWindow saves it
    settings.sync()
    again = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    saved = again.value("trends/state")
    other = TrendView(TAGS, poll_interval_s=INTERVAL)
    qtbot.addWidget(other)
    other.restore(saved)
    assert other.state()["y_ranges"] == {"Pa": [0.5, 200.0], "°C": [20.0, 300.0]}
    assert not pressure_plot(other).vb.autoRangeEnabled()[1]
    # Bad ranges: each skipped with a line in the log; the good one still applies.
    bad = {
        "Pa": ["1", "100"],  # strings, as QSettings may give numbers: fine
        "°C": [300.0, 20.0],
        "sccm": "wide",
        "nm": [0, 1],
        STATE_GROUP: [0, 1],
    }
    with caplog.at_level(logging.WARNING, logger="ald_gui.ui.trends_text"):
        other.restore({"y_ranges": bad})
    assert other.state()["y_ranges"] == {"Pa": [1.0, 100.0]}  # and °C fits itself again
    warned = caplog.text
    assert "Y range [300.0, 20.0] of '°C' ignored: not finite lo < hi" in warned
    assert "Y range 'wide' of 'sccm' ignored: not two numbers" in warned
    assert "Y range of 'nm' ignored: no such number plot" in warned
    assert "Y range of 'state' ignored" in warned
    other.restore({"y_ranges": 7})
    assert other.state()["y_ranges"] == {"Pa": [1.0, 100.0]}
    assert "y_ranges 7 is not a table of plots" in caplog.text
    other.restore({"window_s": 600})  # an older state without ranges keeps them
    assert other.state()["y_ranges"] == {"Pa": [1.0, 100.0]}
    other.close()
