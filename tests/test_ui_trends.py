"""The live trends: ring buffer, which tags go where, curves fed from the ring, the time
window, pause and live, run marks, the cursor, persistence, and no timer left behind.

Fed with real domain objects (Batch, RunStarted, RunEnded) through the widget's slots,
checked through curve data and widget state; offscreen Qt.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator, Sequence

import numpy as np
import pyqtgraph as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPalette, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ald_gui.config.load import load_config
from ald_gui.domain.stream import Batch, Run, RunEnded, RunStarted, RunStatus
from ald_gui.domain.tags import DataType, RegisterKind, Tag
from ald_gui.ui.ring import Ring
from ald_gui.ui.trends import MEMORY_BUDGET, TrendView
from ald_gui.ui.trends_curves import STATE_GROUP, plan_curves

# -- the ring buffer -------------------------------------------------------------------


def test_holds_rows_oldest_first_until_full_then_drops_the_oldest() -> None:
    ring = Ring(columns=2, capacity=4)
    assert len(ring) == 0 and ring.first_time is None and ring.last_time is None
    for i in range(1, 7):
        ring.append(float(i), [i * 10.0, -i])
    assert len(ring) == 4
    assert ring.times().tolist() == [3.0, 4.0, 5.0, 6.0]
    assert ring.column(0).tolist() == [30.0, 40.0, 50.0, 60.0]
    assert ring.column(1).tolist() == [-3.0, -4.0, -5.0, -6.0]
    assert (ring.first_time, ring.last_time) == (3.0, 6.0)


def test_row_at_is_the_last_row_at_or_before_the_time() -> None:
    ring = Ring(columns=1, capacity=8)
    for t in (10.0, 11.0, 12.0):
        ring.append(t, [t * 2])
    assert ring.row_at(9.9) is None
    t, values = ring.row_at(11.5) or (None, None)
    assert t == 11.0 and values is not None and values.tolist() == [22.0]
    assert (ring.row_at(12.0) or (None,))[0] == 12.0
    assert (ring.row_at(99.0) or (None,))[0] == 12.0


def test_bad_input_is_refused_by_name_and_leaves_the_ring_unchanged() -> None:
    with pytest.raises(ValueError, match="at least one column"):
        Ring(columns=0, capacity=3)
    with pytest.raises(ValueError, match="capacity of at least one row"):
        Ring(columns=1, capacity=0)
    ring = Ring(columns=2, capacity=3)
    ring.append(1.0, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"not after the last one \(1.0\)"):
        ring.append(1.0, [3.0, 4.0])
    with pytest.raises(ValueError, match=r"expected 2 values, got shape \(3,\)"):
        ring.append(2.0, [1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match=r"column 2 out of range 0\.\.1"):
        ring.column(2)
    assert ring.times().tolist() == [1.0] and len(ring) == 1


def test_views_are_read_only() -> None:
    ring = Ring(columns=1, capacity=3)
    ring.append(1.0, [1.0])
    with pytest.raises(ValueError, match="read-only"):
        ring.times()[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        ring.column(0)[0] = 5.0


def test_nan_values_are_kept() -> None:
    ring = Ring(columns=1, capacity=3)
    ring.append(1.0, [math.nan])
    assert math.isnan(ring.column(0)[0])


@settings(max_examples=150, deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=40),
    columns=st.integers(min_value=1, max_value=4),
    appends=st.integers(min_value=0, max_value=200),
    look_every=st.integers(min_value=1, max_value=17),
)
def test_matches_a_plain_list_and_handed_out_views_never_change(
    capacity: int, columns: int, appends: int, look_every: int
) -> None:
    ring = Ring(columns, capacity)
    model: list[tuple[float, list[float]]] = []
    handed_out: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for i in range(appends):
        t = 1_700_000_000.0 + i * 0.1
        row = [float(i * 7 + c) for c in range(columns)]
        ring.append(t, row)
        model = ([*model, (t, row)])[-capacity:]
        if i % look_every == 0:
            times, last = ring.times(), ring.column(columns - 1)
            handed_out.append((times, times.copy(), last, last.copy()))
    assert len(ring) == len(model) == min(appends, capacity)
    assert ring.times().tolist() == [t for t, _ in model]
    for c in range(columns):
        assert ring.column(c).tolist() == [row[c] for _, row in model]
    assert bool(np.all(np.diff(ring.times()) > 0))
    # A curve may still hold any earlier view: appends and reallocations never touch it.
    for times, times_then, values, values_then in handed_out:
        assert np.array_equal(times, times_then)
        assert np.array_equal(values, values_then)
    # Storage is bounded: capacity plus a quarter, whatever the number of appends.
    assert ring.nbytes == (capacity + max(1, capacity // 4)) * (columns + 1) * 8


# -- which tags go where -----------------------------------------------------------------

INTERVAL = 0.5


def _tag(
    component: str,
    name: str,
    unit: str = "",
    *,
    address: int | None,
    boolean: bool = False,
    writable: bool = False,
    plotted: bool = False,
) -> Tag:
    return Tag(
        component=component,
        name=name,
        unit=unit,
        data_type=DataType.BOOL if boolean else DataType.FLOAT32,
        register_kind=RegisterKind.COIL if boolean else RegisterKind.HOLDING,
        address=address,
        writable=writable,
        min=0.0,
        max=1.0 if boolean else 1000.0,
        plotted=plotted,
    )


TAGS = [
    _tag("Chamber Heater", "temperature_read", "°C", address=0, plotted=True),
    _tag("Chamber Heater", "temperature_set", "°C", address=2, writable=True),
    _tag("Chamber Heater", "kp", address=4, writable=True),  # a setting: not trended
    _tag("Pressure Gauge 1", "pressure_read", "Pa", address=6, plotted=True),
    _tag("MFC 1", "flow_read", "sccm", address=8),
    _tag("Valve 1", "valve_state", address=0, boolean=True, writable=True),
    _tag("Valve 2", "valve_state", address=1, boolean=True, writable=True),
    _tag("Spare Heater", "temperature_read", "°C", address=None),  # unwired: no history
]
TEMP, SETPOINT = "chamber_heater.temperature_read", "chamber_heater.temperature_set"
PRESSURE, FLOW = "pressure_gauge_1.pressure_read", "mfc_1.flow_read"
VALVE_1, VALVE_2 = "valve_1.valve_state", "valve_2.valve_state"


def test_reference_reactor_is_grouped_by_unit_with_states_last() -> None:
    groups = plan_curves(load_config().tags)
    assert [g.title for g in groups] == [
        "Temperature (°C)",
        "Pressure (Pa)",
        "Flow (sccm)",
        "Output (%)",
        # The simulator's additions: pulse counts, measured on-times, film thickness.
        "(no unit)",
        "ms",
        "nm",
        "State",
    ]
    by_key = {c.key: c for g in groups for c in g.curves}
    # The five tags the configuration marks plotted, and no setting such as a PID gain.
    plotted = {k for k, c in by_key.items() if c.tag.plotted}
    assert plotted == {
        "chamber_heater.temperature_read",
        "frontline_heater.temperature_read",
        "pressure_gauge_1.pressure_read",
        "mfc_1.flow_read",
        "chamber.film_thickness",
    }
    assert "valve_1.pulse_time" not in by_key  # a setting, not a process value
    assert "chamber_heater.kp" not in by_key and "mfc_1.scale_max" not in by_key
    assert by_key["chamber_heater.pid_output"].group == "%"
    assert by_key["valve_3.valve_state"].group == STATE_GROUP
    assert "precursor_5_heater.temperature_read" not in by_key  # not wired
    # A setpoint wears its reading's colour; columns number the curves in order.
    assert by_key["chamber_heater.temperature_set"].colour_index == (
        by_key["chamber_heater.temperature_read"].colour_index
    )
    assert sorted(c.column for c in by_key.values()) == list(range(len(by_key)))
    assert by_key["valve_3.valve_state"].label == "Valve 3"
    assert by_key["chamber_heater.power_on"].label == "Chamber Heater power on"


# -- the widget --------------------------------------------------------------------------


@pytest.fixture
def view(qtbot: QtBot) -> Iterator[TrendView]:
    v = TrendView(TAGS, poll_interval_s=INTERVAL)
    qtbot.addWidget(v)
    v.resize(1000, 700)
    yield v
    v.close()


def feed(
    view: TrendView,
    n: int,
    *,
    start: float | None = None,
    first_seq: int = 0,
    skip: Sequence[int] = (),
) -> list[Batch]:
    """n polls ending about now (or from ``start``), every INTERVAL; ``skip`` leaves
    polls out, as an outage would."""
    t0 = time.time() - n * INTERVAL if start is None else start
    batches = []
    for i in range(n):
        if i in skip:
            continue
        values = {
            TEMP: 20.0 + i,
            SETPOINT: 200.0,
            PRESSURE: 100.0 + i,
            FLOW: 5.0,
            VALVE_1: float(i % 2),
            VALVE_2: 1.0,
        }
        batches.append(Batch(first_seq + i, int((t0 + i * INTERVAL) * 1e6), values))
    for batch in batches:
        view.add_batch(batch)
    return batches


def seconds(batches: Sequence[Batch]) -> list[float]:
    return [b.sampled_at_us / 1e6 for b in batches]


def test_visible_curves_receive_exactly_what_was_fed(view: TrendView) -> None:
    batches = feed(view, 40)
    view.set_window(60)  # 120 polls across the plot: fewer than its pixels, no downsampling
    for key in (TEMP, PRESSURE):
        item = view.curve_item(key)
        assert item.isVisible()
        x, y = item.getOriginalDataset()
        assert x is not None and y is not None
        assert x.tolist() == seconds(batches)
        assert y.tolist() == [b.values[key] for b in batches]
        # All in the window, and sparser than the pixels: what is drawn is what was fed.
        shown_x, shown_y = item.getData()
        assert shown_x is not None and shown_y is not None
        assert shown_x.tolist() == x.tolist() and shown_y.tolist() == y.tolist()
    # Hidden curves hold nothing; their history is still kept.
    assert view.curve_item(FLOW).getOriginalDataset() == (None, None)
    times, values = view.curve_data(FLOW)
    assert times.tolist() == seconds(batches) and values.tolist() == [5.0] * 40
    assert view.point_count() == 40


def test_a_long_history_is_drawn_downsampled_with_its_peaks(qtbot: QtBot) -> None:
    view = TrendView(TAGS, poll_interval_s=0.1, capacity_s=3600)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    now = time.time()
    for i in range(36_000):  # an hour at 10 Hz
        value = 500.0 if i == 20_000 else 100.0 + (i % 7)  # one spike
        view.add_batch(Batch(i, int((now - 3600 + i * 0.1) * 1e6), {TEMP: value}))
    view.set_window(3600)
    x, y = view.curve_item(TEMP).getData()
    assert x is not None and y is not None
    # Two points per pixel column (its min and max), and the rows just outside each edge.
    assert len(x) <= 2 * view.stack.plots[0].vb.width() + 2
    assert float(np.nanmax(y)) == 500.0 and float(np.nanmin(y)) == 100.0
    view.close()


def test_only_plotted_tags_show_at_start_and_empty_plots_fold(view: TrendView) -> None:
    assert view.state()["visible"] == [TEMP, PRESSURE]
    assert [gp.group.id for gp in view.stack.plots] == ["°C", "Pa", "sccm", STATE_GROUP]
    shown = [gp.group.id for gp in view.stack.plots if gp.plot.isVisibleTo(view.stack.canvas.ci)]
    assert shown == ["°C", "Pa"]
    # Time is labelled once, on the lowest plot shown.
    assert [gp.plot.getAxis("bottom").style["showValues"] for gp in view.stack.plots] == [
        False,
        True,
        False,
        False,
    ]
    assert "Spare Heater" not in {c.label for c in view.curves.values()}


def test_missing_values_are_gaps_and_a_repeated_batch_is_ignored(view: TrendView) -> None:
    t = time.time()
    view.add_batch(Batch(1, int(t * 1e6), {TEMP: 21.0}))
    view.add_batch(Batch(1, int(t * 1e6), {TEMP: 99.0}))  # delivered twice
    times, temps = view.curve_data(TEMP)
    assert times.tolist() == [int(t * 1e6) / 1e6] and temps.tolist() == [21.0]
    assert math.isnan(view.curve_data(PRESSURE)[1][0])


def test_an_outage_breaks_the_lines_instead_of_bridging_them(view: TrendView) -> None:
    batches = feed(view, 30, skip=range(10, 20))  # 5 s without samples, 2.5 s allowed
    view.refresh()
    x, y = view.curve_item(TEMP).getOriginalDataset()
    assert x is not None and y is not None
    assert len(x) == len(batches) + 1
    gap = int(np.flatnonzero(np.isnan(y))[0])
    assert x[gap] == pytest.approx(x[gap - 1] + INTERVAL)
    assert y[gap - 1] == 29.0 and y[gap + 1] == 40.0
    assert view.curve_item(TEMP).opts["connect"] == "finite"


def test_the_ring_wraps_and_curves_show_the_newest_samples(qtbot: QtBot) -> None:
    view = TrendView(TAGS, poll_interval_s=INTERVAL, capacity_s=10 * INTERVAL)
    qtbot.addWidget(view)
    capacity = view.ring.capacity
    batches = feed(view, 3 * capacity + 3)  # several reallocations of the ring
    view.refresh()
    x, y = view.curve_item(TEMP).getOriginalDataset()
    assert x is not None and y is not None
    assert x.tolist() == seconds(batches[-capacity:])
    assert y.tolist() == [b.values[TEMP] for b in batches[-capacity:]]
    view.close()


def test_memory_is_capped_whatever_the_poll_rate(qtbot: QtBot) -> None:
    view = TrendView(load_config().tags, poll_interval_s=0.01)  # 8 h would be 2.9 M rows
    qtbot.addWidget(view)
    assert view.ring.nbytes <= MEMORY_BUDGET
    assert view.ring.capacity < 8 * 3600 / 0.01
    assert view.held_s == pytest.approx(view.ring.capacity * 0.01)
    view.close()


def test_bad_arguments_are_refused_by_name(qtbot: QtBot, view: TrendView) -> None:
    with pytest.raises(ValueError, match="poll_interval_s must be positive, got 0"):
        TrendView(TAGS, poll_interval_s=0)
    with pytest.raises(ValueError, match="none of the 1 tags can be trended"):
        TrendView([TAGS[-1]], poll_interval_s=1.0)
    with pytest.raises(ValueError, match=r"time window 30 s is outside 60 s \.\. 8 h"):
        view.set_window(30)
    with pytest.raises(KeyError, match=r"'nope\.nothing' is not a trended tag"):
        view.set_curve_visible("nope.nothing", True)


def test_the_window_sets_the_time_range_ending_now(view: TrendView) -> None:
    feed(view, 10)
    for seconds_, text in ((3600.0, "1 h"), (60.0, "1 min"), (8 * 3600.0, "8 h")):
        before = time.time()
        view.set_window(seconds_)
        lo, hi = view.stack.x_range()
        assert hi - lo == pytest.approx(seconds_)
        # Ending now, rounded up to a whole pixel column: the picture moves by columns.
        column_s = seconds_ / round(view.stack.shown()[0].vb.width())
        assert before <= hi <= time.time() + column_s
        assert hi / column_s == pytest.approx(round(hi / column_s), abs=1e-6)
        assert view.controls.window_box.currentText() == text
        for gp in view.stack.plots:  # every plot, one time axis
            assert gp.vb.viewRange()[0] == pytest.approx([lo, hi])
    view.set_window(600)  # not a preset: offered from now on
    assert view.controls.window_box.currentText() == "10 min"


def test_the_window_box_sets_the_window(view: TrendView, qtbot: QtBot) -> None:
    index = view.controls.window_box.findText("30 min")
    view.controls.window_box.setCurrentIndex(index)
    view.controls.window_box.activated.emit(index)
    assert view.window_s == 1800.0


def test_pause_freezes_the_view_while_samples_keep_arriving(view: TrendView) -> None:
    feed(view, 20)
    view.refresh()
    view.pause()
    assert not view.live and not view.controls.live_button.isChecked()
    frozen = view.stack.x_range()
    later = feed(view, 20, start=time.time() + 60, first_seq=100)  # a minute later
    view.refresh()
    assert view.stack.x_range() == frozen
    assert view.point_count() == 20 + 1 + 20  # and a NaN row for the minute without samples
    x, _ = view.curve_item(TEMP).getOriginalDataset()
    assert x is not None and x[-1] == seconds(later)[-1]  # there to scroll to
    view.follow_live()
    assert view.live and view.controls.live_button.isChecked()
    lo, hi = view.stack.x_range()
    assert hi >= seconds(later)[-1] and hi - lo == pytest.approx(view.window_s)


def test_the_live_button_pauses_and_resumes(view: TrendView, qtbot: QtBot) -> None:
    qtbot.mouseClick(view.controls.live_button, Qt.MouseButton.LeftButton)
    assert not view.live and "Paused" in view.controls.live_button.text()
    qtbot.mouseClick(view.controls.live_button, Qt.MouseButton.LeftButton)
    assert view.live and "Live" in view.controls.live_button.text()


def test_scrolling_a_plot_by_hand_pauses(view: TrendView, qtbot: QtBot) -> None:
    feed(view, 20)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    vb = view.stack.plots[0].vb
    canvas = view.stack.canvas
    at = canvas.mapFromScene(vb.sceneBoundingRect().center())
    before = view.stack.x_range()
    wheel = QWheelEvent(
        QPointF(at),
        QPointF(canvas.viewport().mapToGlobal(at)),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas.viewport(), wheel)
    assert not view.live
    zoomed = view.stack.x_range()
    assert zoomed[1] - zoomed[0] < before[1] - before[0]
    # Every plot follows the one under the mouse.
    for gp in view.stack.plots:
        assert gp.vb.viewRange()[0] == pytest.approx(list(zoomed))


def _run(started_s: float) -> Run:
    return Run(uuid.UUID(int=0xABCDEF12 << 96), "ald-1", "alice", int(started_s * 1e6))


def test_run_start_and_end_are_marked_on_every_plot(view: TrendView) -> None:
    t0 = time.time() - 30
    run = _run(t0)
    view.mark_run(RunStarted(1, run))
    view.mark_run(RunEnded(2, run.id, int((t0 + 20) * 1e6), RunStatus.ABORTED))
    start, end = view.marks.marks
    assert start.at_s == run.started_at_us / 1e6 and end.at_s == pytest.approx(t0 + 20)
    assert "run abcdef12 (alice)" in start.text and "abcdef12 aborted" in end.text
    for mark in (start, end):
        assert len(mark.lines) == len(view.stack.plots)
        for gp, line in zip(view.stack.plots, mark.lines, strict=True):
            assert line in gp.vb.addedItems or line.parentItem() is gp.vb.childGroup
            assert line.value() == mark.at_s and line.angle == 90
        # Named once, in the band above the plots (test_ui_trends_legend: where).
        assert mark.label.parentItem() is view.marks.band and mark.label.text() == mark.text


def test_marks_older_than_the_history_are_removed(qtbot: QtBot) -> None:
    view = TrendView(TAGS, poll_interval_s=INTERVAL, capacity_s=5 * INTERVAL)
    qtbot.addWidget(view)
    now = time.time()
    view.mark_run(RunStarted(1, _run(now - 100)))
    feed(view, 20, start=now - 10)
    view.refresh()
    assert view.marks.marks == []
    view.close()


def test_hiding_and_showing_a_curve(view: TrendView) -> None:
    feed(view, 10)
    view.set_curve_visible(PRESSURE, False)
    item = view.curve_item(PRESSURE)
    pressure_plot = view.stack.plots[1]
    assert not item.isVisibleTo(pressure_plot.plot)
    assert item.getOriginalDataset() == (None, None)  # lets go of the ring
    assert not view.controls.actions_by_key[PRESSURE].isChecked()
    assert pressure_plot.legend.items == [] and not pressure_plot.plot.isVisibleTo(
        view.stack.canvas.ci
    )
    assert PRESSURE not in view.state()["visible"]
    view.controls.actions_by_key[FLOW].setChecked(True)  # the Curves menu
    flow_item = view.curve_item(FLOW)
    assert flow_item.isVisibleTo(view.stack.plots[2].plot)
    x, _ = flow_item.getOriginalDataset()
    assert x is not None and len(x) == 10  # fed at once, not at the next tick
    assert [label.text for _s, label in view.stack.plots[2].legend.items] == ["MFC 1"]


def test_clicking_a_legend_entry_hides_the_curve_and_keeps_the_entry(
    view: TrendView, qtbot: QtBot
) -> None:
    feed(view, 10)
    view.set_curve_visible(SETPOINT, True)
    view.show()
    qtbot.waitExposed(view)
    plot = view.stack.plots[0]
    # By its curve, not its name: a name too long for the legend's column is cut with "…".
    setpoint = view.curve_item(SETPOINT)
    sample = next(s for s, _ in plot.legend.items if s.item is setpoint)
    canvas = view.stack.canvas
    at = canvas.mapFromScene(sample.mapToScene(sample.boundingRect().center()))
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert SETPOINT not in view.state()["visible"]
    assert not view.controls.actions_by_key[SETPOINT].isChecked()
    assert sample in [s for s, _ in plot.legend.items]  # greyed, to click back
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert SETPOINT in view.state()["visible"]


def test_states_are_step_traces_on_lanes_of_their_own(view: TrendView) -> None:
    batches = feed(view, 10)
    view.set_curve_visible(VALVE_1, True)
    view.set_curve_visible(VALVE_2, True)
    view.refresh()
    v1, v2 = view.curve_item(VALVE_1), view.curve_item(VALVE_2)
    assert v1.opts["stepMode"] == "right"
    _, y = v1.getOriginalDataset()
    assert y is not None and y.tolist() == [b.values[VALVE_1] for b in batches]  # still 0/1
    # Valve 1 above Valve 2: each trace lifted to its lane by its transform.
    assert v1.transform().dy() == 1.0 and v2.transform().dy() == 0.0
    state = view.stack.plots[-1]
    assert state.vb.viewRange()[1] == pytest.approx([-0.3, 2.0])
    assert state.lane_labels[VALVE_1].isVisibleTo(state.plot)


def test_log_scale_on_pressure(view: TrendView) -> None:
    feed(view, 10)
    view.add_batch(Batch(99, int((time.time() + 1) * 1e6), {PRESSURE: 0.0}))  # no log
    view.set_window(60)
    view.set_log_pressure(True)
    pressure = view.stack.plots[1]
    assert pressure.plot.getAxis("left").logMode and view.controls.log_box.isChecked()
    _, shown = view.curve_item(PRESSURE).getData()
    assert shown is not None
    assert shown[:10].tolist() == pytest.approx(np.log10(100.0 + np.arange(10)).tolist())
    assert math.isnan(shown[-1])  # 0 Pa has no logarithm: left out, not an error
    assert not view.stack.plots[0].plot.getAxis("left").logMode  # only pressure
    view.controls.log_box.setChecked(False)
    assert not pressure.plot.getAxis("left").logMode


def test_state_and_restore_round_trip(view: TrendView, qtbot: QtBot) -> None:
    view.set_curve_visible(TEMP, False)
    view.set_curve_visible(VALVE_2, True)
    view.set_window(7200)
    view.set_log_pressure(True)
    saved = view.state()
    assert saved == {
        "visible": [PRESSURE, VALVE_2],
        "window_s": 7200.0,
        "log_pressure": True,
        "y_ranges": {},
    }
    other = TrendView(TAGS, poll_interval_s=INTERVAL)
    qtbot.addWidget(other)
    other.restore(saved)
    assert other.state() == saved
    assert other.controls.window_box.currentText() == "2 h" and other.controls.log_box.isChecked()
    assert other.curve_item(VALVE_2).isVisibleTo(other.stack.plots[-1].plot)
    other.close()


def test_restore_skips_what_it_cannot_use(view: TrendView) -> None:
    before = view.state()
    view.restore({"visible": 7, "window_s": "a week", "log_pressure": None})
    assert view.state() == before
    view.restore({"visible": [TEMP, "gone.tag"], "window_s": "3600", "log_pressure": "true"})
    assert view.state() == {
        "visible": [TEMP],
        "window_s": 3600.0,
        "log_pressure": True,
        "y_ranges": {},
    }
    view.restore({"visible": FLOW, "window_s": 10})  # a one-item list, as QSettings gives it
    assert view.state()["visible"] == [FLOW] and view.window_s == 3600.0


def test_the_cursor_reads_out_the_visible_curves(view: TrendView, qtbot: QtBot) -> None:
    batches = feed(view, 20)
    view.set_curve_visible(VALVE_1, True)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    t = seconds(batches)[7] + 0.1
    view.set_window(60)
    vb = view.stack.plots[0].vb
    canvas = view.stack.canvas
    scene_pos = vb.mapViewToScene(QPointF(t, vb.viewRange()[1][0]))
    scene_pos.setY(vb.sceneBoundingRect().center().y())
    at = QPointF(canvas.mapFromScene(scene_pos))
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        at,
        QPointF(canvas.viewport().mapToGlobal(at)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(canvas.viewport(), move)
    text = view.readout.text()
    assert "Chamber Heater 27.00 °C" in text and "Pressure Gauge 1 107.0 Pa" in text
    assert "Valve 1 OPEN" in text and "MFC 1" not in text  # hidden: not read out
    assert all(gp.cursor.value() == pytest.approx(t, abs=0.2) for gp in view.stack.plots)
    assert "no sample" in view.readout_at(seconds(batches)[0] - 60)
    assert "Point at a plot" in view.readout_at(None)
    QApplication.sendEvent(canvas, QEvent(QEvent.Type.Leave))  # the mouse leaves the plots
    assert "Point at a plot" in view.readout.text()
    assert not any(gp.cursor.isVisible() for gp in view.stack.plots)


def test_the_repaint_timer_runs_only_while_shown(view: TrendView, qtbot: QtBot) -> None:
    assert not view.ticking
    view.show()
    qtbot.waitExposed(view)
    assert view.ticking
    feed(view, 5)
    qtbot.waitUntil(lambda: view.curve_item(TEMP).getOriginalDataset()[0] is not None)
    view.close()
    assert not view.ticking
    assert not any(timer.isActive() for timer in view.findChildren(QTimer))


def test_follows_the_look_of_the_palette(view: TrendView) -> None:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#e8eaed"))
    view.setPalette(palette)
    item = view.curve_item(TEMP)
    assert item.opts["pen"].color().name() == "#e69f00"  # first colour on dark (Okabe-Ito orange)
    light = QPalette()
    light.setColor(QPalette.ColorRole.Window, QColor("#fafafa"))
    view.setPalette(light)
    assert view.curve_item(SETPOINT).opts["pen"].style() == Qt.PenStyle.DashLine
    assert isinstance(view.stack.canvas, pg.GraphicsLayoutWidget)


def test_following_live_ticks_once_per_pixel_column_within_2_to_15_hz(view: TrendView) -> None:
    view.resize(1300, 700)
    view.show()
    feed(view, 10)
    column_s = {}
    for window in (60.0, 300.0, 3600.0):
        view.set_window(window)
        column_s[window] = window / round(view.stack.shown()[0].vb.width())
        assert view.tick_ms == round(1000 * min(max(column_s[window], 1 / 15), 0.5))
    assert column_s[60.0] < 1 / 15 < column_s[300.0] <= 0.5 < column_s[3600.0]
    fixed = TrendView(TAGS, poll_interval_s=INTERVAL, refresh_hz=30)
    fixed.set_window(600)
    assert fixed.tick_ms == 33  # asked for: kept


def test_a_tick_hands_a_curve_new_data_only_when_its_picture_changes(qtbot: QtBot) -> None:
    view = TrendView(TAGS, poll_interval_s=0.1, capacity_s=3600)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    now = time.time()
    for i in range(30_000):  # 50 min at 10 Hz in a 1 h window: ~3 polls a pixel column
        view.add_batch(Batch(i, int((now - 3000 + i * 0.1) * 1e6), {TEMP: 100.0 + i % 7}))
    view.set_window(3600)
    view.pause()  # the window stays: the samples below arrive past its right edge
    hi = view.stack.x_range()[1]
    item = view.curve_item(TEMP)
    view.add_batch(Batch(30_000, int((hi + 1) * 1e6), {TEMP: 100.0}))
    view.refresh()
    drawn = item.getData()[1]
    assert drawn is not None and drawn[-1] == 100.0  # the line runs on past the edge
    for i in range(1, 5):  # further right still: the same pixels
        view.add_batch(Batch(30_000 + i, int((hi + 1 + i * 0.1) * 1e6), {TEMP: 900.0}))
        view.refresh()
        assert item.getData()[1] is drawn
    view.stack.set_x_range(hi - 3600 + 60, hi + 60)  # now they are in the window
    view.refresh()
    shown = item.getData()[1]
    assert shown is not drawn and float(np.nanmax(shown)) == 900.0
    view.close()
