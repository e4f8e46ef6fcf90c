"""Alarms in the faults that matter: an alarm that aborts a running recipe to the safe
state, a PLC cut (value alarms go bad quality, not normal), and a console killed with
kill -9 (active alarms and their acknowledgements survive the restart)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.alarms import AlarmSettings
from ald_gui.config.models import AppConfig
from ald_gui.domain.alarms import AlarmAction, AlarmBoard, AlarmKind, AlarmState, Applies, Priority
from ald_gui.domain.commands import StartRun
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step
from ald_gui.domain.stream import RunStatus
from ald_gui.engine.control_access import read_token
from ald_gui.sim.server import Simulator
from tests.console_process import Console, write_config
from tests.control_harness import Control, open_control
from tests.fixtures.pg import scalar
from tests.recipe_run import fast
from tests.recording import settle

CHAMBER = "chamber_heater.temperature_read"
BACKLINE = "backline_heater.temperature_read"
HOT = "chamber.too_hot"


def _hot(**kw: Any) -> AlarmSettings:
    base: dict[str, Any] = {
        "id": HOT, "kind": AlarmKind.HIGH, "tag": CHAMBER, "limit": 250.0, "deadband": 2.0,
        "on_delay_s": 0.2, "priority": Priority.CRITICAL, "guidance": "switch the heater off",
    }  # fmt: skip
    return AlarmSettings(**(base | kw))


@pytest.fixture
def make_control(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Any]:
    opened: list[Control] = []

    def make(*alarms: AlarmSettings) -> Control:
        config = fast(sim_config).model_copy(update={"alarms": alarms})
        data_dir = tmp_path / "data"
        engine, recording, server = open_control(config, migrated_pg_dsn, data_dir)
        control = Control(engine, server, recording, read_token(data_dir), data_dir)
        opened.append(control)
        return control

    yield make
    for control in opened:
        control.server.stop()
        control.engine.shutdown()


def _boards(control: Control) -> list[AlarmBoard]:
    boards: list[AlarmBoard] = []
    control.engine.alarms_changed.connect(boards.append)
    return boards


def test_a_critical_alarm_with_abort_aborts_the_recipe_to_the_safe_state(
    make_control: Any, simulator: Simulator, qtbot: QtBot
) -> None:
    hot = _hot(applies=Applies.RUN, action=AlarmAction.ABORT_RECIPE)
    control = make_control(hot)
    cycle = (Step.of(Pulse(valve="Valve 3", ms=20)), Step.of(Purge(ms=60)))
    recipe = Recipe(name="long", steps=(Step.of(Loop(count=10_000, steps=cycle)),))
    # A recipe starts only once the PLC has answered.
    settle(qtbot, lambda: control.recording.batches_after(0) > 2, 10, "the first polls")
    control.engine.submit(StartRun("alice", recipe=recipe))
    settle(qtbot, lambda: control.recording.started, 10, "the recipe run started")
    simulator.model.set_value(CHAMBER, 300.0)
    settle(qtbot, lambda: control.recording.ended, 10, "the run ended")
    ended = control.recording.ended[0]
    assert ended.status is RunStatus.ABORTED
    assert HOT in ended.reason and "critical" in ended.reason
    # The safe state, read back: every precursor valve closed.
    for valve in control.engine.config.process.precursor_valves:
        assert simulator.model.value(valve.tag) is False, valve.name


def test_a_plc_cut_makes_value_alarms_bad_quality_not_normal(
    make_control: Any, simulator: Simulator, qtbot: QtBot
) -> None:
    lost = AlarmSettings(id="plc", kind=AlarmKind.PLC_LOST, limit=0.2, priority=Priority.HIGH)
    control = make_control(_hot(), lost)
    boards = _boards(control)
    simulator.model.set_value(CHAMBER, 300.0)

    def state(board: AlarmBoard, alarm: str) -> tuple[AlarmState, bool] | None:
        found = [a for a in board.alarms if a.id == alarm]
        return (found[0].state, found[0].bad_quality) if found else None

    settle(qtbot, lambda: boards and state(boards[-1], HOT) == (AlarmState.UNACKNOWLEDGED, False),
           10, "the alarm raised")  # fmt: skip
    simulator.stall()
    settle(qtbot, lambda: state(boards[-1], HOT) == (AlarmState.UNACKNOWLEDGED, True), 10,
           "the alarm bad quality")  # fmt: skip
    settle(qtbot, lambda: state(boards[-1], "plc") == (AlarmState.UNACKNOWLEDGED, False), 10,
           "the PLC-lost alarm raised")  # fmt: skip
    # Never normal meanwhile: no board after the raise dropped the alarm or cleared it.
    first = next(i for i, b in enumerate(boards) if state(b, HOT))
    assert all((state(b, HOT) or ("",))[0] is AlarmState.UNACKNOWLEDGED for b in boards[first:])
    simulator.clear_faults()
    settle(qtbot, lambda: state(boards[-1], HOT) == (AlarmState.UNACKNOWLEDGED, False), 10,
           "good quality again")  # fmt: skip


def _alarms(console: Console) -> dict[str, dict[str, Any]]:
    status, body = console.request("GET", "/alarms")
    assert status == 200, body
    return {a["id"]: a for a in body["alarms"]}


def test_kill_9_and_restart_keep_active_alarms_and_their_acknowledgement(
    simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    config = write_config(tmp_path / "plant.toml", plc_port=simulator.port, dsn=migrated_pg_dsn)
    data_dir = tmp_path / "data"
    chamber, backline = "chamber_heater.over_temperature", "backline_heater.over_temperature"
    simulator.model.set_value(CHAMBER, 300.0)
    simulator.model.set_value(BACKLINE, 300.0)
    with Console(config, data_dir, tmp_path) as console:
        console.ready()
        settle(qtbot, lambda: {chamber, backline} <= _alarms(console).keys(), 20, "both raised")
        status, body = console.request("POST", f"/alarms/ack?id={chamber}&note=seen")
        assert status == 200, body
        before = _alarms(console)
        assert before[chamber]["state"] == "acknowledged"
        assert before[backline]["state"] == "unacknowledged"
        console.kill_9()
    with Console(config, data_dir, tmp_path) as console:
        console.ready()  # the board comes with the first poll
        settle(qtbot, lambda: {chamber, backline} <= _alarms(console).keys(), 20, "the board")
        after = _alarms(console)
        for alarm in (chamber, backline):
            assert after[alarm]["state"] == before[alarm]["state"]
            assert after[alarm]["raised_at_us"] == before[alarm]["raised_at_us"]
        assert console.terminate() == 0
    # Journalled once each: the restart raised nothing again.
    raised = "SELECT count(*) FROM alarm_events WHERE alarm = %s AND event = 'raised'"
    assert scalar(migrated_pg_dsn, raised, chamber) == 1
    assert scalar(migrated_pg_dsn, raised, backline) == 1
