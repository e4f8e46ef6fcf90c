"""Interlocks: two precursor valves never open together, whoever writes.

The rule's logic on its own, then through the real engine against the simulator over
TCP: a valve opened by hand, then a second one asked for by hand, is refused before
anything is sent and stays closed on the PLC; and the same while a recipe's pulse
holds a precursor valve open.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.config.process import ProcessSettings, RecipeRules
from ald_gui.domain.commands import AbortRun, WriteTag
from ald_gui.domain.events import WriteConfirmed, WriteFailed
from ald_gui.domain.recipe import Pulse, Purge
from ald_gui.domain.stream import RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.engine.interlocks import InterlockRefused, Interlocks
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import WriteRefused
from ald_gui.sim.server import Simulator
from tests.acting import TESTER
from tests.ald_process import ald
from tests.console_process import write_config
from tests.recipe_run import RecipeRun, fast, recipe
from tests.recording import Recording, settle

V1, V2, V3, V4, V5 = (f"valve_{i}.valve_state" for i in (1, 2, 3, 4, 5))
PRESSURE, PUMP = "pressure_gauge_1.pressure_read", "vacuum_pump.power_on"
# Pumped down, so that the precursor valves' permissive holds (tests/test_permissives.py)
CLOSED = {V1: 0.0, V2: 0.0, V3: 0.0, V4: 0.0, V5: 0.0, PRESSURE: 10.0, PUMP: 1.0}


@pytest.fixture
def interlocks(reference_config: AppConfig) -> Interlocks:
    rules = Interlocks(reference_config.process)
    rules.sampled(CLOSED)
    return rules


def test_a_second_precursor_valve_is_refused_naming_the_rule(interlocks: Interlocks) -> None:
    interlocks.sampled(CLOSED | {V2: 1.0})
    with pytest.raises(InterlockRefused) as refused:
        interlocks.check(V1, True)
    assert str(refused.value) == (
        "refused by rule exclusive_valves: Valve 2 is open; Valve 1 and Valve 2 never open together"
    )
    assert isinstance(refused.value, WriteRefused)  # reported like any refused write
    interlocks.check(V2, True)  # the open one itself may be written again
    interlocks.check(V1, False)  # closing is never refused
    interlocks.check(V5, True)  # the purge valve is in no group
    interlocks.check("chamber_heater.temperature_set", 200.0)


def test_a_confirmed_write_counts_until_the_next_sample(interlocks: Interlocks) -> None:
    interlocks.written(V3, True)  # before any poll has seen it
    with pytest.raises(InterlockRefused, match="Valve 3 is open"):
        interlocks.check(V1, True)
    interlocks.written(V3, False)
    interlocks.check(V1, True)
    interlocks.sampled(CLOSED | {V3: 1.0})  # opened behind the console's back
    with pytest.raises(InterlockRefused, match="Valve 3 is open"):
        interlocks.check(V1, True)


def test_a_valve_the_executor_holds_open_counts_before_any_sample_shows_it(
    interlocks: Interlocks,
) -> None:
    interlocks.follow(lambda: {"Valve 2"})
    with pytest.raises(InterlockRefused, match="Valve 2 is open"):
        interlocks.check(V1, True)


def test_nothing_known_yet_is_no(reference_config: AppConfig) -> None:
    with pytest.raises(InterlockRefused, match="Valve 2 has not been read yet"):
        Interlocks(reference_config.process).check(V1, True)


def test_configured_groups_replace_the_default(reference_config: AppConfig) -> None:
    process = ProcessSettings(
        valves=reference_config.process.valves,
        rules=RecipeRules(exclusive_valves=(("Valve 1", "Valve 2"),)),
    )
    rules = Interlocks(process)
    rules.sampled(CLOSED | {V3: 1.0})
    rules.check(V1, True)  # Valve 3 is in no group now
    rules.sampled(CLOSED | {V2: 1.0})
    with pytest.raises(InterlockRefused, match="Valve 1 and Valve 2 never open together"):
        rules.check(V1, True)


# -- through the engine, against the simulator ------------------------------------------


@pytest.fixture
def engine(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
) -> Iterator[tuple[Engine, Recording]]:
    config = sim_config.model_copy(update={"poll": PollSettings(interval_s=0.05)})
    e = Engine(config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    e.act_as(TESTER)
    recording = Recording.of(e)
    e.open()
    yield e, recording
    e.shutdown()


def _outcome(qtbot: QtBot, recording: Recording, request_id: int) -> object:
    def answers() -> list[object]:
        return [e for e in recording.events if getattr(e, "request_id", None) == request_id]

    settle(qtbot, answers, 5.0, f"the outcome of request {request_id}")
    (outcome,) = answers()
    return outcome


def test_a_hand_made_write_opening_a_second_precursor_valve_is_refused_and_it_stays_closed(
    engine: tuple[Engine, Recording], simulator: Simulator, sim_config: AppConfig, qtbot: QtBot
) -> None:
    e, recording = engine
    settle(qtbot, lambda: recording.batches, 5.0, "a first sample")
    opened = _outcome(qtbot, recording, e.write_tag(V1, True))
    assert isinstance(opened, WriteConfirmed) and opened.readback == 1.0

    refused = _outcome(qtbot, recording, e.write_tag(V2, True))
    assert isinstance(refused, WriteFailed), refused
    assert refused.reason == (
        "refused by rule exclusive_valves: Valve 1 is open; Valve 1 and Valve 2 never open together"
    )
    # Read back over TCP: nothing was sent, Valve 2 is closed and Valve 1 still open.
    with PlcClient(sim_config.plc, sim_config.tags) as client:
        assert client.read_tag(sim_config.tag(V2)) is False
        assert client.read_tag(sim_config.tag(V1)) is True
    # The purge valve is no precursor: allowed beside Valve 1.
    assert isinstance(_outcome(qtbot, recording, e.write_tag(V5, True)), WriteConfirmed)
    # Once Valve 1 is closed, Valve 2 may open.
    assert isinstance(_outcome(qtbot, recording, e.write_tag(V1, False)), WriteConfirmed)
    assert isinstance(_outcome(qtbot, recording, e.write_tag(V2, True)), WriteConfirmed)
    assert simulator.model.value(V2) is True


def test_during_a_recipe_pulse_a_hand_made_write_of_another_precursor_valve_is_refused(
    simulator: Simulator, sim_config: AppConfig, qtbot: QtBot
) -> None:
    config = fast(sim_config)
    simulator.model.set_value("vacuum_pump.power_on", True)  # else an alarm aborts the recipe
    with RecipeRun(config, qtbot) as run:
        run.start(recipe(Pulse(valve="Valve 3", ms=3000), Purge(ms=100)))
        run.wait(lambda: simulator.model.value(V3), "the recipe's pulse to open Valve 3")
        by_hand = [run.submit(WriteTag(key, True)) for key in (V4, V1)]
        run.wait(
            lambda: len([e for e in run.events if isinstance(e, WriteFailed)]) == 2,
            "both writes to be answered",
        )
        with PlcClient(config.plc, config.tags) as client:  # read back: both closed
            assert client.read_tag(config.tag(V4)) is False
            assert client.read_tag(config.tag(V1)) is False
            assert client.read_tag(config.tag(V3)) is True  # the pulse goes on
        run.submit(AbortRun("test over"))
        assert run.wait_ended().status is RunStatus.ABORTED
    failed = {e.request_id: e for e in run.events if isinstance(e, WriteFailed)}
    assert failed[by_hand[0]].reason == (
        "refused by rule exclusive_valves: Valve 3 is open; Valve 3 and Valve 4 never open together"
    )
    assert failed[by_hand[1]].reason == (
        "refused by rule exclusive_valves: Valve 3 is open; Valve 1 and Valve 3 never open together"
    )


def test_plc_write_from_the_shell_obeys_the_same_rule(simulator: Simulator, tmp_path: Path) -> None:
    config = write_config(tmp_path / "plant.toml", plc_port=simulator.port, dsn="postgresql:///x")
    simulator.model.set_value(PUMP, True)  # pumped down: the permissive holds
    simulator.model.set_value(PRESSURE, 10.0)
    simulator.model.set_value(V2, True)
    refused = ald("plc", "write", V1, "on", "--config", config)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stderr.strip() == (
        "error: refused by rule exclusive_valves: Valve 2 is open; "
        "Valve 1 and Valve 2 never open together"
    )
    assert simulator.model.value(V1) is False
    simulator.model.set_value(V2, False)
    done = ald("plc", "write", V1, "on", "--config", config)
    assert done.returncode == 0, done.stderr
    assert simulator.model.value(V1) is True
