"""The parameter table alone (pytest-qt, offscreen), fed with the reference reactor's
tags and the simulator's values; time comes from a fake clock, so nothing waits for
staleness."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.events import PlcLost, WriteConfirmed, WriteFailed
from ald_gui.domain.stream import Batch
from ald_gui.plc.errors import WriteRefused
from ald_gui.sim.model import ReactorModel
from ald_gui.ui.event_text import describe
from ald_gui.ui.parameter_model import Column, Role
from ald_gui.ui.parameter_rows import CONFIRMATION_SHOWN_S, REFUSAL_SHOWN_S, Level, format_value
from ald_gui.ui.parameter_view import SetpointEditor
from ald_gui.ui.parameters import ParameterTable, parse_entry

POLL_S = 0.5
TEMP_READ = "chamber_heater.temperature_read"
TEMP_SET = "chamber_heater.temperature_set"
VALVE = "valve_1.valve_state"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def reactor(reference_config: AppConfig) -> ReactorModel:
    """The simulated reactor heated and pumped for four minutes (its clock frozen)."""
    model = ReactorModel(reference_config, clock=lambda: 0.0)
    for key, value in {
        "chamber_heater.power_on": True,
        TEMP_SET: 200.0,
        "vacuum_pump.power_on": True,
        "mfc_1.flow_set": 50.0,
    }.items():
        model.set_value(key, value)
    model.advance(240.0)
    return model


def poll(config: AppConfig, reactor: ReactorModel, seq: int = 1, **overrides: float) -> Batch:
    values = {t.key: float(reactor.value(t.key)) for t in config.polled_tags}
    values.update({key.replace("__", "."): v for key, v in overrides.items()})
    return Batch(seq, 0, values)


@pytest.fixture
def table(
    qtbot: QtBot, reference_config: AppConfig, clock: FakeClock, reactor: ReactorModel
) -> Iterator[ParameterTable]:
    widget = ParameterTable(reference_config.tags, poll_interval_s=POLL_S, clock=clock)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    widget.update_values(poll(reference_config, reactor))
    widget.refresh()
    yield widget


def cell(table: ParameterTable, key: str, column: Column, role: int = 0) -> object:
    return table.model.index_for(key, column).data(role)


def view_index(table: ParameterTable, key: str, column: Column) -> QModelIndex:
    index = table.model.index_for(key, column)
    table.view.scrollTo(index)
    return index


def test_values_appear_with_unit_limits_and_large_reading_fonts(
    table: ParameterTable, reactor: ReactorModel
) -> None:
    expected = format_value(table.sheet.row(TEMP_READ).tag, float(reactor.value(TEMP_READ)))
    assert table.value_text(TEMP_READ) == expected
    assert 150.0 < float(expected) < 201.0  # heating towards 200 °C
    assert cell(table, TEMP_READ, Column.UNIT) == "°C"
    assert cell(table, TEMP_READ, Column.LIMITS) == "0..1000"
    assert table.status_text(TEMP_READ) == "ok"
    assert table.value_text(VALVE) == "CLOSED"
    assert table.value_text("vacuum_pump.power_on") == "ON"
    reading = cell(table, TEMP_READ, Column.VALUE, Qt.ItemDataRole.FontRole)
    setting = cell(table, TEMP_SET, Column.VALUE, Qt.ItemDataRole.FontRole)
    assert isinstance(reading, QFont) and isinstance(setting, QFont)
    assert reading.pointSizeF() > setting.pointSizeF() >= table.view.font().pointSizeF()
    assert reading.bold()
    row_height = table.view.visualRect(view_index(table, TEMP_READ, Column.VALUE)).height()
    assert row_height >= QFontMetrics(reading).height()
    # Grouped by component: a component row above its tags.
    parent = table.model.index_for(TEMP_READ).parent()
    assert parent.data() == "Chamber Heater"
    assert table.model.rowCount(parent) == 11


def test_the_large_fonts_follow_the_view_font(table: ParameterTable) -> None:
    font = QFont(table.view.font())
    font.setPointSizeF(20.0)
    table.view.setFont(font)  # as a theme would
    reading = cell(table, TEMP_READ, Column.VALUE, Qt.ItemDataRole.FontRole)
    assert isinstance(reading, QFont) and reading.pointSizeF() == pytest.approx(32.0)
    index = view_index(table, TEMP_READ, Column.VALUE)
    assert table.view.visualRect(index).height() >= QFontMetrics(reading).height()


def test_unwired_tags_are_listed_as_not_wired_and_greyed(table: ParameterTable) -> None:
    key = "mfc_1.power_on"
    assert table.status_text(key) == "not wired"
    assert table.value_text(key) == "—"
    colour = cell(table, key, Column.PARAMETER, Qt.ItemDataRole.ForegroundRole)
    assert isinstance(colour, QColor) and colour.saturation() == 0
    assert not table.model.index_for(key).flags() & Qt.ItemFlag.ItemIsUserCheckable


def test_new_values_are_shown_by_the_repaint_timer(
    table: ParameterTable, qtbot: QtBot, reference_config: AppConfig, reactor: ReactorModel
) -> None:
    table.update_values(poll(reference_config, reactor, 2, chamber_heater__temperature_read=321.5))
    qtbot.waitUntil(lambda: table.value_text(TEMP_READ) == "321.5", timeout=2000)


def test_setpoint_column_pairs_each_reading_with_its_setpoint(table: ParameterTable) -> None:
    assert cell(table, TEMP_READ, Column.SETPOINT) == "200.0"
    assert cell(table, "mfc_1.flow_read", Column.SETPOINT) == "50.0"
    assert cell(table, "pressure_gauge_1.pressure_read", Column.SETPOINT) == ""  # none
    assert cell(table, TEMP_SET, Column.SETPOINT) == ""
    target = cell(table, TEMP_READ, Column.SETPOINT, Role.TARGET)
    assert getattr(target, "key", None) == TEMP_SET  # editing it writes the setpoint


def test_out_of_range_values_are_marked_in_words_not_only_colour(
    table: ParameterTable, reference_config: AppConfig, reactor: ReactorModel
) -> None:
    table.update_values(
        poll(
            reference_config,
            reactor,
            2,
            chamber_heater__temperature_read=1200.0,
            mfc_1__flow_read=-3.0,
        )
    )
    table.refresh()
    assert "above max 1000.0 °C" in table.status_text(TEMP_READ)
    assert "below min 0.0 sccm" in table.status_text("mfc_1.flow_read")
    for key in (TEMP_READ, "mfc_1.flow_read"):
        assert cell(table, key, Column.STATUS, Role.LEVEL) is Level.ALARM
        assert isinstance(cell(table, key, Column.VALUE, Qt.ItemDataRole.BackgroundRole), QColor)
    assert cell(table, TEMP_SET, Column.STATUS, Role.LEVEL) is Level.OK
    assert cell(table, TEMP_SET, Column.VALUE, Qt.ItemDataRole.BackgroundRole) is None


def test_values_go_stale_after_three_poll_intervals_without_a_sample(
    table: ParameterTable, clock: FakeClock, reference_config: AppConfig, reactor: ReactorModel
) -> None:
    clock.now += 3 * POLL_S - 0.01
    table.refresh()
    assert table.status_text(TEMP_READ) == "ok"
    clock.now += 0.5
    table.refresh()
    assert table.status_text(TEMP_READ) == "⚠ stale: no sample for 2 s"
    assert cell(table, TEMP_READ, Column.STATUS, Role.LEVEL) is Level.WARNING
    faded = cell(table, TEMP_READ, Column.VALUE, Qt.ItemDataRole.ForegroundRole)
    assert isinstance(faded, QColor)
    assert table.value_text(TEMP_READ) != "—"  # the last value stays, marked
    table.update_values(poll(reference_config, reactor, 2))
    table.refresh()
    assert table.status_text(TEMP_READ) == "ok"


def test_link_lost_marks_every_value_stale_until_it_is_back(table: ParameterTable) -> None:
    table.set_link_state(False)
    assert table.status_text(TEMP_READ) == "⚠ stale: PLC link lost"
    assert table.status_text(VALVE) == "⚠ stale: PLC link lost"
    assert table.status_text("mfc_1.power_on") == "not wired"
    table.on_event(PlcLost(0, "timeout"))  # not the table's business: ignored
    table.set_link_state(True)
    assert table.status_text(TEMP_READ) == "ok"


def _edit(table: ParameterTable, qtbot: QtBot, key: str, column: Column, text: str) -> None:
    index = view_index(table, key, column)
    centre = table.view.visualRect(index).center()
    # A real double click starts with a press, which QTest's mouseDClick leaves out.
    qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    editor = table.view.indexWidget(index)
    assert isinstance(editor, SetpointEditor), "double-click opens the number editor"
    assert editor.placeholderText() == "0..1000 °C"
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def test_editing_a_setpoint_emits_write_requested_then_shows_the_read_back(
    table: ParameterTable, qtbot: QtBot, clock: FakeClock
) -> None:
    with qtbot.waitSignal(table.write_requested, timeout=2000) as sent:
        _edit(table, qtbot, TEMP_SET, Column.VALUE, "175")
    assert sent.args == [TEMP_SET, 175.0]
    assert table.status_text(TEMP_SET) == "writing 175.0 °C…"
    assert cell(table, TEMP_SET, Column.STATUS, Role.LEVEL) is Level.BUSY
    assert table.status_text(TEMP_READ) == "setpoint writing 175.0 °C…"

    table.on_event(WriteConfirmed(0, TEMP_SET, 175.0, 175.0))
    assert table.status_text(TEMP_SET) == "✓ read back 175.0 °C"
    assert table.value_text(TEMP_SET) == "175.0"
    assert cell(table, TEMP_READ, Column.SETPOINT) == "175.0"
    clock.now += CONFIRMATION_SHOWN_S + 0.1
    table.update_values(Batch(2, 0, {TEMP_SET: 175.0}))
    table.refresh()
    assert table.status_text(TEMP_SET) == "ok"


def test_the_setpoint_of_a_reading_is_edited_in_its_row(
    table: ParameterTable, qtbot: QtBot
) -> None:
    with qtbot.waitSignal(table.write_requested, timeout=2000) as sent:
        _edit(table, qtbot, TEMP_READ, Column.SETPOINT, "180,5")
    assert sent.args == [TEMP_SET, 180.5]


def test_out_of_range_input_is_refused_before_any_emit(table: ParameterTable, qtbot: QtBot) -> None:
    with qtbot.assertNotEmitted(table.write_requested):
        _edit(table, qtbot, TEMP_SET, Column.VALUE, "5000")
        qtbot.waitUntil(lambda: "refused" in table.status_text(TEMP_SET), timeout=2000)
        message = table.status_text(TEMP_SET)
        assert "5000 °C is outside" in message and "0..1000 °C" in message
        assert "0..1000 °C" in table.message.text()
        tooltip = cell(table, TEMP_SET, Column.STATUS, Qt.ItemDataRole.ToolTipRole)
        assert "0..1000 °C" in str(tooltip)
        assert cell(table, TEMP_SET, Column.STATUS, Role.LEVEL) is Level.WARNING

        _edit(table, qtbot, TEMP_SET, Column.VALUE, "hot")
        qtbot.waitUntil(lambda: "not a number" in table.status_text(TEMP_SET), timeout=2000)
        assert "0..1000 °C" in table.status_text(TEMP_SET)

        assert "whole number" in str(table.request_write("chamber_heater.pid_period", 10.5))
        assert "read-only" in str(table.request_write(TEMP_READ, 20.0))


def test_a_value_typed_but_not_confirmed_with_enter_is_not_sent(
    table: ParameterTable, qtbot: QtBot
) -> None:
    index = view_index(table, TEMP_SET, Column.VALUE)
    with qtbot.assertNotEmitted(table.write_requested):
        table.view.setCurrentIndex(index)
        qtbot.keyClick(table.view, Qt.Key.Key_F2)
        editor = table.view.indexWidget(index)
        assert isinstance(editor, SetpointEditor)
        qtbot.keyClicks(editor, "150")
        elsewhere = table.view.visualRect(view_index(table, TEMP_READ, Column.VALUE)).center()
        qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=elsewhere)
        qtbot.waitUntil(lambda: table.view.indexWidget(index) is None, timeout=2000)
    assert table.status_text(TEMP_SET) == "ok"


def _check_box_centre(table: ParameterTable, index: QModelIndex) -> QPoint:
    option = QStyleOptionViewItem()
    option.initFrom(table.view)
    option.rect = table.view.visualRect(index)
    table.view.delegate.initStyleOption(option, index)
    box = table.view.style().subElementRect(
        QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, table.view
    )
    return box.center()


def test_toggling_a_valve_emits_true_then_false(table: ParameterTable, qtbot: QtBot) -> None:
    index = view_index(table, VALVE, Column.VALUE)
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    with qtbot.waitSignal(table.write_requested, timeout=2000) as sent:
        qtbot.mouseClick(
            table.view.viewport(), Qt.MouseButton.LeftButton, pos=_check_box_centre(table, index)
        )
    assert sent.args == [VALVE, True] and type(sent.args[1]) is bool
    assert table.status_text(VALVE) == "writing OPEN…"
    # The box shows the PLC's state, not the click, until the read-back arrives.
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    with qtbot.assertNotEmitted(table.write_requested):  # one write at a time
        table.model.setData(table.model.index_for(VALVE), 2, Qt.ItemDataRole.CheckStateRole)
    assert "under way" in table.message.text()

    table.on_event(WriteConfirmed(0, VALVE, 1.0, 1.0))
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert table.value_text(VALVE) == "OPEN"
    table.view.setCurrentIndex(index)
    with qtbot.waitSignal(table.write_requested, timeout=2000) as sent:
        qtbot.keyClick(table.view, Qt.Key.Key_Space)
    assert sent.args == [VALVE, False]


def test_a_switch_without_a_known_state_cannot_be_toggled(table: ParameterTable) -> None:
    table.sheet.row(VALVE).value = None
    table.refresh()
    assert cell(table, VALVE, Column.VALUE, Qt.ItemDataRole.CheckStateRole) is None
    with pytest.raises(WriteRefused, match="not known yet"):
        table.sheet.toggled_value(VALVE)


def test_a_failed_write_shows_its_reason_on_the_row_and_as_tooltip(
    table: ParameterTable, qtbot: QtBot
) -> None:
    with qtbot.waitSignal(table.write_requested, timeout=2000):
        assert table.request_write(TEMP_SET, 250.0) is None
    table.on_event(WriteFailed(0, TEMP_SET, 250.0, "PLC did not answer within 0.5 s"))
    status = table.status_text(TEMP_SET)
    assert status == "✕ write of 250.0 °C failed: PLC did not answer within 0.5 s"
    assert cell(table, TEMP_SET, Column.STATUS, Role.LEVEL) is Level.ALARM
    tooltip = str(cell(table, TEMP_SET, Column.VALUE, Qt.ItemDataRole.ToolTipRole))
    assert "PLC did not answer" in tooltip
    assert "PLC did not answer" in table.status_text(TEMP_READ)
    assert "failed" in table.message.text()
    assert table.value_text(TEMP_SET) == "200.0"  # the live value, not the request


def test_live_updates_are_data_changes_of_the_changed_rows_never_resets(
    table: ParameterTable, qtbot: QtBot, reference_config: AppConfig, reactor: ReactorModel
) -> None:
    changes: list[tuple[int, int, int, int]] = []
    resets: list[bool] = []
    table.model.dataChanged.connect(
        lambda a, b, *_: changes.append((a.row(), a.column(), b.row(), b.column()))
    )
    table.model.modelReset.connect(lambda: resets.append(True))
    table.model.layoutChanged.connect(lambda *_: resets.append(True))
    table.update_values(poll(reference_config, reactor, 2))  # the same values again
    table.refresh()
    assert changes == []
    table.update_values(poll(reference_config, reactor, 3, chamber_heater__temperature_read=201.0))
    table.refresh()
    position = table.sheet.row(TEMP_READ).position
    assert changes == [(position, Column.VALUE, position, Column.STATUS)]
    assert resets == []


def test_the_filter_box_keeps_the_matching_tags(table: ParameterTable, qtbot: QtBot) -> None:
    qtbot.keyClicks(table.filter, "FLOW")
    assert table.shown_keys() == ["mfc_1.flow_read", "mfc_1.flow_set"]
    mfc = table.model.index(table.sheet.row("mfc_1.flow_read").group, 0)
    assert mfc.data() == "MFC 1"
    assert table.view.isExpanded(mfc)
    table.filter.clear()
    qtbot.keyClicks(table.filter, "valve")  # a component's name keeps all its tags
    assert len({k.split(".")[0] for k in table.shown_keys()}) == 7
    assert len(table.shown_keys()) == sum(
        len(c.rows) for c in table.sheet.components if "valve" in c.name.lower()
    )
    table.filter.clear()
    assert len(table.shown_keys()) == len(table.sheet.rows)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("175", 175.0), (" 175.5 °C ", 175.5), ("1,5", 1.5), ("1e2", 100.0)],
)
def test_parse_entry_accepts_what_operators_type(
    reference_config: AppConfig, text: str, expected: float
) -> None:
    tag = next(t for t in reference_config.tags if t.key == TEMP_SET)
    assert parse_entry(tag, text) == expected


def test_parse_entry_names_the_range_of_a_non_number(reference_config: AppConfig) -> None:
    tag = next(t for t in reference_config.tags if t.key == "chamber_heater.pid_period")
    assert parse_entry(tag, "250") == 250 and isinstance(parse_entry(tag, "250"), int)
    with pytest.raises(WriteRefused, match=r"'fast' is not a number: .* takes 10\.\.5000 ms"):
        parse_entry(tag, "fast")


def test_format_value_reads_well(reference_config: AppConfig) -> None:
    tags = {t.key: t for t in reference_config.tags}
    pressure = tags["pressure_gauge_1.pressure_read"]
    assert format_value(pressure, 100_000.0) == "100\u2009000"
    assert format_value(pressure, 0.05) == "0.05"
    assert format_value(tags["nitrogen_generator.fault_status"], 1.0) == "FAULT"
    assert format_value(tags["chamber_heater.pid_output"], 42.0) == "42"
    assert format_value(tags["mfc_1.scale_max_voltage"], 5.0) == "5.00"


def test_colours_say_the_present_a_refusal_fades_and_a_failed_write_goes_when_the_plc_is_back(
    table: ParameterTable, qtbot: QtBot, clock: FakeClock
) -> None:
    table.update_values(Batch(1, 0, {TEMP_SET: 120.0}))
    table.refresh()
    with qtbot.assertNotEmitted(table.write_requested):
        _edit(table, qtbot, TEMP_SET, Column.VALUE, "5000")
    qtbot.waitUntil(lambda: "refused" in table.status_text(TEMP_SET), timeout=2000)
    # The refusal is said in the status; the value (never sent, still 120) is not tinted.
    assert cell(table, TEMP_SET, Column.STATUS, Role.LEVEL) is Level.WARNING
    value_tint = Qt.ItemDataRole.BackgroundRole
    assert cell(table, TEMP_SET, Column.VALUE, value_tint) is None
    clock.now += REFUSAL_SHOWN_S + 0.1
    table.update_values(Batch(2, 0, {TEMP_SET: 120.0}))
    table.refresh()
    assert table.status_text(TEMP_SET) == "ok"

    table.set_link_state(False)
    table.on_event(WriteFailed(0, TEMP_SET, 150.0, "not sent: PLC unreachable"))
    assert "failed" in table.status_text(TEMP_SET)
    assert cell(table, TEMP_SET, Column.STATUS, Role.LEVEL) is Level.ALARM
    table.set_link_state(True)
    table.update_values(Batch(3, 0, {TEMP_SET: 120.0}))
    table.refresh()
    assert table.status_text(TEMP_SET) == "ok"
    assert cell(table, TEMP_SET, Column.VALUE, value_tint) is None


def test_a_reading_leaving_its_limits_says_so_next_to_the_value_and_enters_the_log(
    table: ParameterTable, qtbot: QtBot
) -> None:
    header = table.view.header()
    assert header.visualIndex(Column.STATUS) == header.visualIndex(Column.UNIT) + 1
    table.update_values(Batch(1, 0, {TEMP_READ: 500.0}))
    table.refresh()
    with qtbot.waitSignal(table.limit_crossed, timeout=2000) as crossed:
        table.update_values(Batch(2, 0, {TEMP_READ: 1020.0}))
        table.refresh()
    entry = describe(crossed.args[0], {r.tag.key: r.tag for r in table.sheet.rows})
    assert entry.message == f"{TEMP_READ} 1020 °C: above max 1000 °C"
    assert "above max" in table.status_text(TEMP_READ)
    with qtbot.assertNotEmitted(table.limit_crossed):  # still above: said once
        table.update_values(Batch(3, 0, {TEMP_READ: 1030.0}))
        table.refresh()
    with qtbot.waitSignal(table.limit_crossed, timeout=2000) as back:
        table.update_values(Batch(4, 0, {TEMP_READ: 990.0}))
        table.refresh()
    assert back.args[0].where == "back within"
