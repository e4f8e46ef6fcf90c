"""Permissives: a guarded write is allowed only while its interlock's conditions hold
on the latest sample, whoever writes; every refusal is journalled once.

The rules' configuration and logic on their own, then through the real engine against
the simulator over TCP (a hand-made write at atmosphere refused, journalled in
PostgreSQL, allowed once pumped down), and a recipe whose pulse would break the rule
failing into the safe state with the rule in the run's reason.
"""

from __future__ import annotations

import json
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.load import ConfigError, default_config_path, parse_config
from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.domain.events import WriteConfirmed, WriteFailed
from ald_gui.domain.recipe import Comparison, Condition, Pulse, Purge, SetTag, Wait
from ald_gui.domain.refusal import Refusal
from ald_gui.domain.stream import Run, RunStarted, RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.engine.interlocks import InterlockRefused, Interlocks
from ald_gui.plc.client import PlcClient
from ald_gui.sim.server import Simulator
from ald_gui.store.commit import commit_group
from ald_gui.store.parameters import sync_parameters
from tests.acting import TESTER
from tests.ald_process import ald, write_plant_config
from tests.console_process import write_config
from tests.fixtures.pg import scalar
from tests.fixtures.plc import pointed_at
from tests.recipe_run import RecipeRun, fast, recipe
from tests.recording import Recording, settle

V1, V2, V3, V4 = (f"valve_{i}.valve_state" for i in (1, 2, 3, 4))
PRESSURE, PUMP = "pressure_gauge_1.pressure_read", "vacuum_pump.power_on"
HEATER_SET = "chamber_heater.temperature_set"
T0 = 1_700_000_000_000_000
CLOSED = {V1: 0.0, V2: 0.0, V3: 0.0, V4: 0.0}
AT_ATMOSPHERE = CLOSED | {PRESSURE: 98000.0, PUMP: 0.0}
PUMPED_DOWN = CLOSED | {PRESSURE: 10.0, PUMP: 1.0}
REFUSED_AT_ATMOSPHERE = (
    "refused by interlock 'precursor needs vacuum': pressure_gauge_1.pressure_read is "
    "98000 Pa (needs < 200 Pa); vacuum_pump.power_on is off (needs on)"
)


def _interlocks(config: AppConfig) -> Interlocks:
    return Interlocks(config.process, units={t.key: t.unit for t in config.tags})


def test_a_precursor_valve_at_atmosphere_is_refused_naming_the_rule_and_the_values(
    reference_config: AppConfig,
) -> None:
    rules = _interlocks(reference_config)
    reported: list[tuple[str, str, float]] = []
    rules.report(lambda refusal, key, value: reported.append((refusal.rule, key, value)))
    rules.sampled(AT_ATMOSPHERE)
    with pytest.raises(InterlockRefused) as refused:
        rules.check(V1, True)
    assert str(refused.value) == REFUSED_AT_ATMOSPHERE
    # The PLC pulse trigger opens the valve: the same rule.
    with pytest.raises(InterlockRefused, match="precursor needs vacuum"):
        rules.check("valve_1.pulse_trigger", True)
    assert reported == [
        ("precursor needs vacuum", V1, 1.0),
        ("precursor needs vacuum", "valve_1.pulse_trigger", 1.0),
    ]
    rules.check(V1, False)  # closing is never refused
    rules.check("valve_5.valve_state", True)  # the purge valve is no precursor
    rules.check(HEATER_SET, 300.0)  # not above the limit
    with pytest.raises(InterlockRefused, match=r"^refused by interlock 'hot chamber needs vacuum'"):
        rules.check(HEATER_SET, 300.5)
    rules.sampled(AT_ATMOSPHERE | {PUMP: 1.0, PRESSURE: 250.0})  # pumping, not there yet
    with pytest.raises(InterlockRefused) as refused:
        rules.check(V2, True)
    assert refused.value.reason == "pressure_gauge_1.pressure_read is 250 Pa (needs < 200 Pa)"
    rules.sampled(PUMPED_DOWN)
    rules.check(V1, True)
    rules.check(HEATER_SET, 400.0)


def test_a_confirmed_write_counts_until_the_next_sample(reference_config: AppConfig) -> None:
    rules = _interlocks(reference_config)
    rules.sampled(PUMPED_DOWN)
    rules.written(PUMP, False)  # the pump switched off by hand
    with pytest.raises(InterlockRefused, match=r"vacuum_pump\.power_on is off"):
        rules.check(V1, True)


def test_a_value_not_read_or_lost_fails_its_condition(reference_config: AppConfig) -> None:
    rules = _interlocks(reference_config)
    with pytest.raises(InterlockRefused) as refused:  # before the first sample
        rules.check(HEATER_SET, 350.0)
    assert refused.value.reason == (
        "pressure_gauge_1.pressure_read has not been read yet; "
        "vacuum_pump.power_on has not been read yet"
    )
    rules.sampled(PUMPED_DOWN)
    rules.lost("PLC lost: no answer in 0.2 s")
    with pytest.raises(InterlockRefused) as refused:
        rules.check(HEATER_SET, 350.0)
    assert refused.value.reason.startswith(
        "pressure_gauge_1.pressure_read cannot be read (PLC lost: no answer in 0.2 s); "
    )
    rules.sampled({PUMP: 1.0})  # a sample without the gauge (not polled)
    with pytest.raises(InterlockRefused, match=r"pressure_read has not been read yet$"):
        rules.check(HEATER_SET, 350.0)


def _reference() -> dict[str, Any]:
    with default_config_path().open("rb") as f:
        return tomllib.load(f)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"name": "x", "require": [{"tag": PUMP, "on": True}]}, "guards exactly one of tag, valve"),
        (
            {"name": "x", "tag": V1, "role": "precursor", "require": [{"tag": PUMP, "on": True}]},
            "guards exactly one of tag, valve, role (got tag, role)",
        ),
        ({"name": "x", "tag": V1, "require": []}, "require"),
        ({"name": "x", "tag": V1, "require": [{"tag": PUMP}]}, "exactly one of below, above, on"),
        (
            {"name": "x", "valve": "Valve 9", "require": [{"tag": PUMP, "on": True}]},
            "interlocks[0].valve: 'Valve 9' is no valve of this machine",
        ),
        (
            {"name": "x", "tag": V1, "require": [{"tag": "pump.nothing", "on": True}]},
            "process.interlocks[0].require[0].tag: no tag 'pump.nothing' in the configuration",
        ),
        (
            {"name": "x", "tag": V1, "require": [{"tag": PRESSURE, "on": True}]},
            "process.interlocks[0].require[0].tag: tag 'pressure_gauge_1.pressure_read' "
            "must be a coil (bool)",
        ),
        (
            {"name": "x", "tag": V1, "require": [{"tag": PUMP, "below": 1}]},
            "process.interlocks[0].require[0].tag: tag 'vacuum_pump.power_on' must be a number",
        ),
    ],
)
def test_a_wrong_interlock_is_an_error_naming_its_key_path(
    rule: dict[str, Any], problem: str
) -> None:
    data = _reference()
    data["process"]["interlocks"] = [rule]
    with pytest.raises(ConfigError) as info:
        parse_config(data, "plant.toml")
    text = "\n".join(info.value.problems)
    assert problem in text
    assert "interlocks" in text


# -- through the engine, against the simulator ------------------------------------------


def _with_permissives(sim_config: AppConfig, reference_config: AppConfig) -> AppConfig:
    """``sim_config`` (which leaves them out) with the reference reactor's permissives."""
    process = sim_config.process.model_copy(
        update={"interlocks": reference_config.process.interlocks}
    )
    return sim_config.model_copy(update={"process": process})


@pytest.fixture
def engine(
    sim_config: AppConfig, reference_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
) -> Iterator[tuple[Engine, Recording]]:
    config = _with_permissives(sim_config, reference_config)
    config = config.model_copy(update={"poll": PollSettings(interval_s=0.05)})
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


def test_at_atmosphere_a_hand_made_write_is_refused_journalled_once_and_allowed_pumped_down(
    engine: tuple[Engine, Recording],
    simulator: Simulator,
    sim_config: AppConfig,
    migrated_pg_dsn: str,
    qtbot: QtBot,
) -> None:
    e, recording = engine
    simulator.model.set_value(PRESSURE, 98000.0)  # the frozen chamber: at atmosphere
    settle(qtbot, lambda: recording.batches, 5.0, "a first sample")
    refused = _outcome(qtbot, recording, e.write_tag(V1, True))
    assert isinstance(refused, WriteFailed), refused
    assert refused.reason == REFUSED_AT_ATMOSPHERE
    with PlcClient(sim_config.plc, sim_config.tags) as client:  # read back: nothing sent
        assert client.read_tag(sim_config.tag(V1)) is False

    journalled = "SELECT count(*) FROM refusals WHERE rule = %s AND tag = %s AND reason = %s"
    args = ("precursor needs vacuum", V1, REFUSED_AT_ATMOSPHERE)
    settle(qtbot, lambda: scalar(migrated_pg_dsn, journalled, *args) == 1, 10, "the refusal row")

    # Pump on, chamber pumped down: the same write is allowed.
    assert isinstance(_outcome(qtbot, recording, e.write_tag(PUMP, True)), WriteConfirmed)
    simulator.model.set_value(PRESSURE, 10.0)

    # A poll already under way when the value changed still reads atmosphere: wait for
    # a sample that saw the vacuum, which is what the interlock judges.
    def saw_vacuum() -> bool:
        return recording.batches[-1].values.get(PRESSURE, 1e9) < 200

    settle(qtbot, saw_vacuum, 5.0, "a sample of the vacuum")
    opened = _outcome(qtbot, recording, e.write_tag(V1, True))
    assert isinstance(opened, WriteConfirmed) and opened.readback == 1.0
    assert simulator.model.value(V1) is True
    # Once, and counted once in its group's ledger row (the later groups committed too).
    ledger = "SELECT coalesce(sum(refusal_rows), 0) FROM write_transactions"
    settle(qtbot, lambda: scalar(migrated_pg_dsn, ledger) == 1, 10, "the ledger's count")
    assert scalar(migrated_pg_dsn, "SELECT count(*) FROM refusals") == 1


def test_a_recipe_pulse_at_atmosphere_fails_into_the_safe_state_naming_the_rule(
    simulator: Simulator, sim_config: AppConfig, reference_config: AppConfig, qtbot: QtBot
) -> None:
    config = fast(_with_permissives(sim_config, reference_config))
    simulator.model.set_value(PRESSURE, 98000.0)
    with RecipeRun(config, qtbot) as run:
        run.start(recipe(Pulse(valve="Valve 1", ms=50), Purge(ms=100)))
        ended = run.wait_ended()
        with PlcClient(config.plc, config.tags) as client:  # the safe state, read back
            assert [client.read_tag(config.tag(k)) for k in (V1, V2, V3, V4)] == [False] * 4
    assert ended.status is RunStatus.FAILED
    assert ended.reason == f"steps[0] (pulse): {REFUSED_AT_ATMOSPHERE}", ended.reason
    (refusal,) = [i for i in run.items if isinstance(i, Refusal)]
    assert refusal.rule == "precursor needs vacuum" and refusal.tag == V1
    assert refusal.run_id == ended.run_id
    assert refusal.reason == REFUSED_AT_ATMOSPHERE


def test_a_recipe_that_pumps_down_first_pulses_on_the_live_simulator(
    reference_config: AppConfig, live_simulator: Simulator, qtbot: QtBot
) -> None:
    """The demo recipes' order (pump on, wait for the process pressure, then pulse)
    passes the reference reactor's permissives on the simulator's physics."""
    live_simulator.model.set_value(PRESSURE, 2000.0)  # part pumped, to keep the test short
    with RecipeRun(fast(pointed_at(reference_config, live_simulator)), qtbot) as run:
        wait = Wait(
            until=Condition(tag=PRESSURE, op=Comparison.BELOW, value=100), timeout_ms=30_000
        )
        run.start(
            recipe(SetTag(tag=PUMP, value=1), wait, Pulse(valve="Valve 1", ms=50), Purge(ms=100))
        )
        ended = run.wait_ended(timeout_s=40)
    assert ended.status is RunStatus.COMPLETED, ended.reason
    assert not [i for i in run.items if isinstance(i, Refusal)]


def test_plc_write_from_the_shell_obeys_the_permissives(
    simulator: Simulator, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "plant.toml", plc_port=simulator.port, dsn="postgresql:///x", permissives=True
    )
    simulator.model.set_value(PRESSURE, 98000.0)
    refused = ald("plc", "write", V1, "on", "--config", config)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stderr.strip() == f"error: {REFUSED_AT_ATMOSPHERE}"
    assert simulator.model.value(V1) is False
    simulator.model.set_value(PUMP, True)
    simulator.model.set_value(PRESSURE, 10.0)
    done = ald("plc", "write", V1, "on", "--config", config)
    assert done.returncode == 0, done.stderr
    assert simulator.model.value(V1) is True


def test_doctor_counts_the_refusals_and_names_one_outside_its_run(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    config_file = write_plant_config(tmp_path, sim_config, migrated_pg_dsn)
    machine = sim_config.database.machine
    run = Run(uuid.uuid4(), machine, "alice", T0 + 1_000)
    inside = Refusal(
        2, T0 + 2_000, "precursor needs vacuum", V1, 1.0, REFUSED_AT_ATMOSPHERE, run.id
    )
    with psycopg.connect(migrated_pg_dsn) as conn:
        ids = sync_parameters(conn, machine, sim_config.tags)
        commit_group(conn, uuid.uuid4(), [RunStarted(1, run), inside], ids, machine)
    clean = ald("doctor", "--data", "--json", "--config", config_file, data_dir=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (invariants,) = [c for c in json.loads(clean.stdout)["checks"] if c["name"] == "invariants"]
    assert invariants["figures"]["checked"]["refusals"] == 1
    assert "1 refused writes" in invariants["detail"]

    # Stamped before its run started, yet naming it: invariant 8 broken.
    before = Refusal(3, T0, "precursor needs vacuum", V1, 1.0, REFUSED_AT_ATMOSPHERE, run.id)
    with psycopg.connect(migrated_pg_dsn) as conn:
        commit_group(conn, uuid.uuid4(), [before], ids, machine)
    broken = ald("doctor", "--data", "--config", config_file, data_dir=tmp_path)
    assert broken.returncode == 1, broken.stdout
    assert "refusal outside its run's interval" in broken.stdout
