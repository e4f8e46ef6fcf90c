"""The window greys what the engine would refuse: each panel with the account at the
window, real widgets offscreen; the tooltip names the missing permission, and a
refusal is logged in words."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, Permission, PermissionDenied, Role
from ald_gui.domain.alarms import AlarmState
from ald_gui.domain.stream import now_us
from ald_gui.ui.alarm_list import AlarmList
from ald_gui.ui.event_log import EventLog
from ald_gui.ui.event_text import Category, Denied
from ald_gui.ui.parameter_model import Column
from ald_gui.ui.parameters import ParameterTable
from ald_gui.ui.permission_gate import gate
from ald_gui.ui.process_panel import ProcessPanel
from tests.test_ui_alarms import HEATER, N2, board, status

VIEWER = Actor("vera", Role.VIEWER, "Vera Viewer")
OPERATOR = Actor("otto", Role.OPERATOR)
ENGINEER = Actor("erin", Role.ENGINEER)


@pytest.fixture
def panel(qtbot: QtBot) -> ProcessPanel:
    widget = ProcessPanel(confirm=lambda *_: True)
    qtbot.addWidget(widget)
    widget.set_ready(True)
    widget.operator.setText("otto")
    return widget


def test_a_viewer_sees_start_grey_with_the_missing_permission_named(panel: ProcessPanel) -> None:
    assert panel.start_button.isEnabled()  # alone, a panel is the console's: all allowed
    panel.set_actor(VIEWER)
    assert not panel.start_button.isEnabled()
    assert panel.start_button.toolTip() == (
        "vera (viewer) lacks the permission to start a run\nStart a process run (F5)"
    )


def test_the_operator_may_start_and_nobody_may_not(panel: ProcessPanel) -> None:
    own_tip = "Start a process run (F5)"
    panel.set_actor(OPERATOR)
    assert panel.start_button.isEnabled() and panel.start_button.toolTip() == own_tip
    panel.set_actor(None)
    assert not panel.start_button.isEnabled()
    assert panel.start_button.toolTip() == f"nobody is logged in: log in to start a run\n{own_tip}"
    # What is impossible stays impossible for whoever may: no operator name, no start.
    panel.set_actor(OPERATOR)
    panel.operator.setText("")
    assert not panel.start_button.isEnabled()


def test_a_viewer_may_not_write_a_setpoint_nor_open_an_editor(
    reference_config: AppConfig, qtbot: QtBot
) -> None:
    table = ParameterTable(reference_config.tags, poll_interval_s=0.1)
    qtbot.addWidget(table)
    setpoint = next(t for t in reference_config.tags if t.writable and t.data_type.name != "BOOL")
    index = table.model.index_for(setpoint.key, Column.VALUE)
    editable = table.model.flags(index)
    table.set_actor(VIEWER)
    assert table.model.flags(index) != editable
    with qtbot.assertNotEmitted(table.write_requested):
        refusal = table.request_write(setpoint.key, setpoint.min)
    assert refusal == "vera (viewer) lacks the permission to write setpoints"
    assert "lacks the permission to write setpoints" in table.message.text()
    table.set_actor(OPERATOR)
    assert table.model.flags(index) == editable


def test_shelving_needs_an_engineer_acknowledging_an_operator(qtbot: QtBot) -> None:
    widget = AlarmList(lambda: "otto")
    qtbot.addWidget(widget)
    widget.show_board(
        board(status(HEATER, AlarmState.UNACKNOWLEDGED), status(N2, AlarmState.NORMAL))
    )
    widget.select(HEATER.id)
    widget.set_actor(OPERATOR)
    assert widget.acknowledge.isEnabled() and not widget.shelve.isEnabled()
    assert "lacks the permission to shelve alarms" in widget.shelve.toolTip()
    assert not widget.remove.isEnabled()
    widget.set_actor(ENGINEER)
    assert widget.shelve.isEnabled() and widget.acknowledge.isEnabled()
    assert not widget.remove.isEnabled()  # out of service is maintenance's
    widget.set_actor(VIEWER)
    assert not widget.acknowledge.isEnabled() and not widget.acknowledge_all.isEnabled()


def test_a_gated_action_keeps_its_own_tooltip_for_those_who_may(qtbot: QtBot) -> None:
    panel = ProcessPanel()
    qtbot.addWidget(panel)
    panel.note.setToolTip("why this run")
    gate(panel.note, True, Permission.MANAGE_USERS, OPERATOR)
    assert not panel.note.isEnabled()
    assert panel.note.toolTip() == (
        "otto (operator) lacks the permission to manage users\nwhy this run"
    )
    gate(panel.note, True, Permission.MANAGE_USERS, Actor("ada", Role.ADMINISTRATOR))
    assert panel.note.isEnabled() and panel.note.toolTip() == "why this run"


def test_a_refusal_for_permission_is_logged_in_words(qtbot: QtBot) -> None:
    log = EventLog()
    qtbot.addWidget(log)
    log.add(Denied(now_us(), str(PermissionDenied(VIEWER, Permission.ABORT_RUN))))
    entry = log.entries()[-1]
    assert entry.category is Category.ACCOUNT
    assert entry.message == "Not allowed: vera (viewer) lacks the permission to abort a run"
