"""The alarm screens in the console window with the real engine, the simulator over TCP
and the embedded database (offscreen): a heater driven over its limit reaches the banner,
the list and the parameter table, and the banner's Acknowledge goes through the engine
to the journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from ald_gui.config.alarms import AlarmSettings
from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, Role
from ald_gui.domain.alarms import AlarmKind, AlarmState, Priority
from ald_gui.engine.engine import Engine
from ald_gui.ui.alarm_history import AlarmHistory
from ald_gui.ui.main_window import MainWindow
from tests.fixtures.pg import scalar
from tests.fixtures.plc import quick

SETPOINT = "chamber_heater.temperature_set"


@pytest.fixture
def console(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> Iterator[MainWindow]:
    hot = AlarmSettings(
        id="chamber.hot", name="Chamber heater set too hot", kind=AlarmKind.HIGH, tag=SETPOINT,
        limit=400.0, deadband=5.0, on_delay_s=0.3, priority=Priority.CRITICAL,
        guidance="Lower the chamber heater setpoint.",
    )  # fmt: skip
    config = quick(sim_config.model_copy(update={"alarms": (hot,)}), 0.1)
    engine = Engine(config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    engine.act_as(Actor("alice", Role.ENGINEER))  # shelves (test_ui_login: logging in)
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine, settings=settings, confirm=lambda *_: True)
    qtbot.addWidget(window)
    window.show()
    engine.open()
    window.engine_opened()
    yield window
    window.close()


def test_a_heater_over_its_limit_shows_in_the_banner_and_acknowledging_clears_the_count(
    console: MainWindow, qtbot: QtBot, migrated_pg_dsn: str
) -> None:
    banner, alarms = console.alarms.banner, console.alarms.list
    console.panel.operator.setText("alice")
    qtbot.waitUntil(lambda: console.trends.point_count() > 0, timeout=5000)
    assert banner.message.text() == "No alarms"
    assert console.parameters.request_write(SETPOINT, 450.0) is None
    qtbot.waitUntil(lambda: banner.shown is not None, timeout=5000)
    assert banner.shown is not None and banner.shown.id == "chamber.hot"
    assert banner.priority.text() == "◆ CRITICAL"
    assert banner.message.text().startswith("Chamber heater set too hot — 450")
    assert "Lower the chamber heater setpoint." in banner.guidance.text()
    assert banner.count.text() == "1 unacknowledged · 1 active"
    assert banner.silence.isEnabled()  # a new critical alarm sounds
    [row] = alarms.shown()
    assert row.state is AlarmState.UNACKNOWLEDGED
    qtbot.waitUntil(
        lambda: console.parameters.status_text(SETPOINT).startswith("◆ CRITICAL alarm"),
        timeout=2000,
    )

    qtbot.mouseClick(banner.acknowledge, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: banner.count.text() == "0 unacknowledged · 1 active", timeout=5000)
    assert not banner.acknowledge.isEnabled() and not banner.silence.isEnabled()
    assert [a.state for a in alarms.shown()] == [AlarmState.ACKNOWLEDGED]
    query = (
        "SELECT count(*) FROM alarm_events WHERE alarm = 'chamber.hot'"
        " AND event = 'acknowledged' AND operator = 'alice'"
    )
    qtbot.waitUntil(lambda: scalar(migrated_pg_dsn, query) == 1, timeout=10000)
    # The event log says the same in words, once each (not the command's answer too).
    logged = [e.message for e in console.events.entries() if e.category == "Alarm"]
    assert logged == [
        "CRITICAL Chamber heater set too hot raised at 450",
        "CRITICAL Chamber heater set too hot acknowledged by alice",
    ]

    # The journal, read on the reader's thread: the history finds the raise and the
    # acknowledgement; a filter on another tag finds nothing.
    history = console.alarms.history
    console.alarms.tabs.setCurrentWidget(history)
    qtbot.waitUntil(lambda: _searched(history, qtbot) >= 2, timeout=15000)
    rows = history.entries()
    events = {(r[2], r[3], r[6]) for r in rows}
    assert ("Chamber heater set too hot", "acknowledged", "alice") in events
    assert ("Chamber heater set too hot", "raised", "") in events
    assert all(r[1] == "◆ CRITICAL" for r in rows)
    history.tag.setCurrentIndex(history.tag.findData("(system)"))
    qtbot.waitUntil(lambda: _searched(history, qtbot) == 0, timeout=15000)

    # The performance figures: the same computation as `ald-gui alarms report`.
    dialog = console.alarms.show_kpis(console)
    qtbot.waitUntil(lambda: dialog.figures["alarms"].text() == "1", timeout=15000)
    assert dialog.frequent.rowCount() == 1
    assert dialog.frequent.item(0, 0).text() == "Chamber heater set too hot (chamber.hot)"
    assert dialog.frequent.item(0, 1).text() == "1"
    dialog.close()


def _searched(history: AlarmHistory, qtbot: QtBot) -> int:
    """Ask the history once and wait for its answer; the number of entries shown."""
    with qtbot.waitSignal(history.reader.answered, timeout=10000):
        history.ask()
    return history.table.rowCount()
