"""The engine end to end: real simulator over TCP, real PostgreSQL, real threads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.domain.commands import StopRun
from ald_gui.domain.events import RunRefused
from ald_gui.domain.machine import RunNotPossible
from ald_gui.domain.stream import Batch, RunEnded, RunStarted, RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.store.invariants import check_invariants
from tests.acting import TESTER
from tests.fixtures.pg import scalar


@pytest.fixture
def fast_config(sim_config: AppConfig) -> AppConfig:
    return sim_config.model_copy(update={"poll": PollSettings(interval_s=0.02)})


@pytest.fixture
def engine(fast_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Engine]:
    e = Engine(fast_config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    e.act_as(TESTER)
    e.open()
    yield e
    e.shutdown()


def test_samples_reach_the_database_and_runs_bracket_them(
    engine: Engine, qtbot: QtBot, migrated_pg_dsn: str
) -> None:
    with qtbot.waitSignal(engine.sampled, timeout=5000) as first:
        pass
    batch = first.args[0]
    assert isinstance(batch, Batch) and batch.run_id is None
    assert len(batch.values) == len(engine.config.polled_tags)

    with qtbot.waitSignal(engine.run_changed, timeout=5000) as started:
        engine.start_run("alice", "test run")
    assert isinstance(started.args[0], RunStarted)
    run_id = started.args[0].run.id
    # Batches taken after the start carry the run.
    with qtbot.waitSignal(
        engine.sampled, timeout=5000, check_params_cb=lambda b: b.run_id == run_id
    ):
        pass
    with qtbot.waitSignal(engine.run_changed, timeout=5000) as ended:
        engine.stop_run("done")
    assert isinstance(ended.args[0], RunEnded) and ended.args[0].status is RunStatus.COMPLETED

    qtbot.waitUntil(
        lambda: (
            scalar(
                migrated_pg_dsn,
                "SELECT count(*) FROM process_executions WHERE id = %s AND ended_at IS NOT NULL",
                run_id,
            )
            == 1
        ),
        timeout=10000,
    )
    points = scalar(
        migrated_pg_dsn, "SELECT count(*) FROM process_data_points WHERE run_id = %s", run_id
    )
    assert points > 0 and points % len(engine.config.polled_tags) == 0
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as conn:
        assert check_invariants(conn, engine.machine) == []


def test_impossible_changes_are_refused_at_once(engine: Engine, qtbot: QtBot) -> None:
    with pytest.raises(RunNotPossible, match="no run is active"):
        engine.stop_run()
    with qtbot.waitSignal(engine.run_changed, timeout=5000):
        engine.start_run("alice")
    with pytest.raises(RunNotPossible, match="active"):
        engine.start_run("bob")


def test_write_reaches_the_simulator_and_is_confirmed(
    engine: Engine, qtbot: QtBot, simulator: object
) -> None:
    from ald_gui.domain.events import WriteConfirmed, WriteFailed

    with qtbot.waitSignal(
        engine.occurred, timeout=5000, check_params_cb=lambda e: isinstance(e, WriteConfirmed)
    ) as done:
        engine.write_tag("chamber_heater.temperature_set", 180.0)
    assert done.args[0].readback == pytest.approx(180.0)
    assert simulator.model.value("chamber_heater.temperature_set") == pytest.approx(180.0)  # type: ignore[attr-defined]

    with qtbot.waitSignal(
        engine.occurred, timeout=5000, check_params_cb=lambda e: isinstance(e, WriteFailed)
    ) as refused:
        engine.write_tag("chamber_heater.temperature_set", 5000.0)
    assert "outside" in refused.args[0].reason


def test_shutdown_mid_run_ends_the_run_as_aborted(
    fast_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    e = Engine(fast_config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    e.act_as(TESTER)
    e.open()
    with qtbot.waitSignal(e.run_changed, timeout=5000) as started:
        e.start_run("alice")
    run_id = started.args[0].run.id
    assert e.shutdown(timeout=10.0)
    assert (
        scalar(
            migrated_pg_dsn,
            "SELECT count(*) FROM process_executions WHERE id = %s AND status = 'aborted'",
            run_id,
        )
        == 1
    )


def test_refusal_from_the_poll_thread_is_an_event(engine: Engine, qtbot: QtBot) -> None:
    # Bypass the engine's own check: the poll thread, which owns the state, refuses too.
    assert engine.poller is not None
    with qtbot.waitSignal(
        engine.occurred, timeout=5000, check_params_cb=lambda e: isinstance(e, RunRefused)
    ) as refused:
        engine.poller.submit(StopRun(), request_id=7)
    assert "no run is active" in refused.args[0].reason
    assert refused.args[0].request_id == 7  # the refusal answers the one who asked
