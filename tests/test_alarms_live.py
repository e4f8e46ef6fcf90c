"""Alarms against the simulator over TCP, with the real engine, database and HTTP port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.alarms import AlarmSettings
from ald_gui.config.models import AppConfig
from ald_gui.domain.alarms import AlarmKind, Priority
from ald_gui.domain.stream import now_us
from ald_gui.engine.control_access import read_token
from ald_gui.sim.server import Simulator
from ald_gui.store.alarm_journal import report
from tests.control_harness import Control, open_control
from tests.fixtures.pg import scalar
from tests.fixtures.plc import quick
from tests.recording import settle

HEATER = "chamber_heater.temperature_read"


@pytest.fixture
def control(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Control]:
    hot = AlarmSettings(
        id="chamber.hot", kind=AlarmKind.HIGH, tag=HEATER, limit=250.0, deadband=5.0,
        on_delay_s=0.3, priority=Priority.CRITICAL, guidance="lower the setpoint",
    )  # fmt: skip
    config = quick(sim_config.model_copy(update={"alarms": (hot,)}), 0.05)
    data_dir = tmp_path / "data"
    engine, recording, server = open_control(config, migrated_pg_dsn, data_dir)
    try:
        yield Control(engine, server, recording, read_token(data_dir), data_dir)
    finally:
        server.stop()
        engine.shutdown()


def _alarms(control: Control, qtbot: QtBot) -> dict[str, dict[str, object]]:
    answer = control.call(qtbot, "GET", "/alarms")
    assert answer.status == 200, answer.body
    return {a["id"]: a for a in answer.body["alarms"]}


def test_a_heater_over_its_limit_alarms_within_its_delay_and_the_ack_is_journalled(
    control: Control, simulator: Simulator, qtbot: QtBot, migrated_pg_dsn: str
) -> None:
    started = control.call(qtbot, "POST", "/runs/start?operator=alice")
    assert started.status == 200, started.body
    run_id = started.body["run"]["id"]
    simulator.model.set_value(HEATER, 300.0)  # the heater runs away
    hot_since = time.monotonic()
    settle(qtbot, lambda: "chamber.hot" in _alarms(control, qtbot), 5, "the alarm raised")
    # Raised after its on-delay, not long after (a 50 ms poll, a loaded machine).
    assert 0.3 <= time.monotonic() - hot_since < 2.0
    alarm = _alarms(control, qtbot)["chamber.hot"]
    assert alarm["state"] == "unacknowledged" and alarm["priority"] == "critical"
    assert alarm["guidance"] == "lower the setpoint"

    acked = control.call(qtbot, "POST", "/alarms/ack?id=chamber.hot&note=seen&operator=alice")
    assert acked.status == 200, acked.body
    again = control.call(qtbot, "POST", "/alarms/ack?id=chamber.hot")
    assert again.status == 409 and "nothing to acknowledge" in again.body["error"]
    missing = control.call(qtbot, "POST", "/alarms/ack?id=nope")
    assert missing.status == 409 and "no alarm 'nope'" in missing.body["error"]
    assert _alarms(control, qtbot)["chamber.hot"]["state"] == "acknowledged"

    query = (
        "SELECT count(*) FROM alarm_events WHERE run_id = %s AND alarm = 'chamber.hot'"
        " AND event = 'acknowledged' AND operator = 'control port'"
        " AND note = 'seen (operator: alice)'"
    )
    settle(qtbot, lambda: scalar(migrated_pg_dsn, query, run_id) == 1, 10, "the ack journalled")
    raised = "SELECT count(*) FROM alarm_events WHERE run_id = %s AND event = 'raised'"
    assert scalar(migrated_pg_dsn, raised, run_id) == 1

    # The KPI report reads the same journal.
    kpis = report(migrated_pg_dsn, control.engine.machine, now_us() - 3600 * 10**6, now_us())
    assert kpis.alarms == 1
    assert [(f.alarm, f.count) for f in kpis.most_frequent] == [("chamber.hot", 1)]
