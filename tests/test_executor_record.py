"""A recipe run through the engine, recorded in a real PostgreSQL: every step committed
exactly once, inside its run, with the run's recipe; pause and resume only for a recipe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.commands import AbortRun, PauseRun, ResumeRun, StartRun
from ald_gui.domain.machine import RunNotPossible
from ald_gui.domain.recipe import Loop, Pulse, Purge, Step
from ald_gui.domain.recipe_progress import ExecutorState, RecipeProgress
from ald_gui.domain.stream import RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.sim.server import Simulator
from ald_gui.store.invariants import check_invariants
from tests.acting import TESTER
from tests.recipe_run import fast, recipe
from tests.recording import Recording, deliver_pending_signals, settle, spool_contents


@pytest.fixture
def engine(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Engine]:
    e = Engine(fast(sim_config), data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    e.act_as(TESTER)
    yield e
    e.shutdown()


def _step_rows(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT run_id, seq, path, kind, cycles, outcome, requested_ms, measured_ms "
            "FROM run_steps ORDER BY seq"
        ).fetchall()


def test_recipe_runs_are_recorded_step_by_step_exactly_once(
    engine: Engine, simulator: Simulator, migrated_pg_dsn: str, qtbot: QtBot, tmp_path: Path
) -> None:
    cycle = (Step.of(Pulse(valve="Valve 1", ms=10)), Step.of(Purge(ms=10)))
    five = recipe(Loop(count=5, steps=cycle), name="five cycles")
    long_pulse = recipe(Pulse(valve="Valve 2", ms=5000), Purge(ms=10), name="long pulse")
    recording = Recording.of(engine)
    engine.open()
    settle(qtbot, lambda: recording.batches, 5.0, "the first batch")

    with pytest.raises(RunNotPossible, match="only a recipe run can be paused"):
        engine.submit(PauseRun())
    engine.start_run("tester")  # a run without a recipe cannot be paused either
    settle(qtbot, lambda: engine.run is not None, 5.0, "the plain run to start")
    with pytest.raises(RunNotPossible, match="only a recipe run can be paused"):
        engine.submit(ResumeRun())
    engine.stop_run("plain run over")
    settle(qtbot, lambda: engine.run is None, 5.0, "the plain run to end")

    engine.submit(StartRun("tester", "five", five))
    settle(qtbot, lambda: len(recording.ended) == 2, 10.0, "the recipe to complete")
    engine.submit(StartRun("tester", "aborted", long_pulse))
    settle(qtbot, lambda: simulator.model.value("valve_2.valve_state"), 5.0, "the pulse to open")
    engine.submit(AbortRun("stopped by hand"))
    settle(qtbot, lambda: len(recording.ended) == 3, 10.0, "the abort")
    assert simulator.model.value("valve_2.valve_state") is False

    settle(qtbot, lambda: len(_step_rows(migrated_pg_dsn)) == 12, 20.0, "the steps committed")
    assert engine.shutdown()
    deliver_pending_signals()
    assert spool_contents(tmp_path / "data") == (0, [])

    rows = _step_rows(migrated_pg_dsn)
    assert len(rows) == 12  # 10 steps and a loop, one aborted pulse: once each
    [plain, completed, aborted] = [s.run for s in recording.started]
    assert [e.status for e in recording.ended] == [
        RunStatus.COMPLETED, RunStatus.COMPLETED, RunStatus.ABORTED,
    ]  # fmt: skip
    assert {r[0] for r in rows} == {completed.id, aborted.id}
    five_rows = [r for r in rows if r[0] == completed.id]
    assert [(r[2], r[4]) for r in five_rows[:2]] == [
        ("steps[0].loop.steps[0]", [1]),
        ("steps[0].loop.steps[1]", [1]),
    ]
    assert five_rows[-1][2:6] == ("steps[0]", "loop", [], "done")
    pulses = [r for r in five_rows if r[3] == "pulse"]
    # Never short, as recorded.
    assert len(pulses) == 5 and all(r[6] == 10 and r[7] is not None and r[7] >= 10 for r in pulses)
    [(_, _, path, kind, _, outcome, requested, measured)] = [r for r in rows if r[0] == aborted.id]
    assert (path, kind, outcome, requested) == ("steps[0]", "pulse", "aborted", 5000)
    assert measured is not None and measured < 5000

    with psycopg.connect(migrated_pg_dsn, autocommit=True) as conn:
        runs = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT id, recipe_name, recipe_version, recipe_sha256, status "
                "FROM process_executions"
            ).fetchall()
        }
        assert runs[completed.id] == ("five cycles", 1, five.sha256, "completed")
        assert runs[aborted.id] == ("long pulse", 1, long_pulse.sha256, "aborted")
        assert runs[plain.id] == ("", None, "", "completed")
        # The versions run are the database's recipe versions too, once each.
        versions = conn.execute(
            "SELECT name, version, sha256, canonical FROM recipe_versions ORDER BY name"
        ).fetchall()
        assert versions == [
            ("five cycles", 1, five.sha256, five.canonical()),
            ("long pulse", 1, long_pulse.sha256, long_pulse.canonical()),
        ]
        assert check_invariants(conn, engine.machine) == []
    final = [e for e in recording.events if isinstance(e, RecipeProgress) and e.state.is_final]
    assert [e.state for e in final] == [ExecutorState.COMPLETED, ExecutorState.ABORTED]
