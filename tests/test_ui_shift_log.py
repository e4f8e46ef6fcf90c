"""The event log is kept: a console started again shows the last shift from the record
(runs, PLC outages, alarm transitions, refusals, actions with who and old → new)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, Role
from ald_gui.engine.engine import Engine
from ald_gui.sim.server import Simulator
from ald_gui.ui.main_window import CloseChoice, MainWindow
from tests.fixtures.pg import scalar
from tests.fixtures.plc import quick

V1 = "valve_1.valve_state"
ALICE = Actor("alice", Role.OPERATOR, "Alice Example")


def _console(config: AppConfig, dsn: str, data: Path, qtbot: QtBot) -> MainWindow:
    engine = Engine(config, data_dir=data, dsn=dsn)
    engine.act_as(ALICE)  # logged in before the window opens (test_ui_login: how)
    settings = QSettings(str(data.parent / "console.ini"), QSettings.Format.IniFormat)
    window = MainWindow(
        engine, settings=settings, confirm=lambda *_: True, close_ask=lambda *_: CloseChoice.END_RUN
    )
    qtbot.addWidget(window)
    window.show()
    engine.open()
    window.engine_opened()
    return window


def test_after_a_restart_the_log_shows_the_last_shift_from_the_record(
    sim_config: AppConfig, simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    config, data = quick(sim_config, interval_s=0.05), tmp_path / "data"
    first = _console(config, migrated_pg_dsn, data, qtbot)
    first.panel.operator.setText("alice")
    qtbot.waitUntil(first.panel.start_button.isEnabled, timeout=5000)
    first.panel.start_button.click()
    qtbot.waitUntil(lambda: first.engine.run is not None, timeout=5000)
    assert first.overview is not None
    spot = first.overview.spots[V1]
    qtbot.waitUntil(lambda: spot.look.on is False, timeout=5000)
    first.overview._clicked(spot)
    qtbot.waitUntil(lambda: simulator.model.value(V1) is True, timeout=5000)
    first.panel.stop_button.click()
    qtbot.waitUntil(lambda: first.engine.run is None, timeout=5000)
    writes = "SELECT count(*) FROM audit_entries WHERE action = 'write' AND object = %s"
    qtbot.waitUntil(lambda: scalar(migrated_pg_dsn, writes, V1) == 1, timeout=10000)
    first.close()

    second = _console(config, migrated_pg_dsn, data, qtbot)
    try:

        def logged() -> list[str]:
            return [e.message for e in second.events.entries()]

        qtbot.waitUntil(
            lambda: any("below: the record since" in m for m in logged()), timeout=10000
        )
        messages = logged()
        line = next(i for i, m in enumerate(messages) if "below: the record since" in m)
        older = messages[:line]  # oldest first: the record, then the line, then this start
        assert any(m.startswith("Run ") and "started by alice" in m for m in older)
        assert any(f"Write {V1}: CLOSED → OPEN · by alice" in m for m in older), "\n".join(older)
        assert any(m.startswith("Run ") and " completed" in m for m in older)
        # The record's run start is shown once: the audit trail's copy of it is left out.
        assert sum("started by alice" in m for m in older) == 1
    finally:
        second.close()
