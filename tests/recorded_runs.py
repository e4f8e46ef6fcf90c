"""Runs recorded for real: an engine polling the simulator over TCP, committing into a
test's PostgreSQL, driven through its commands. The run history, the golden run and
the overlay read what this leaves behind.

``record_runs`` records four runs, one after the other:
- ``plain``: no recipe, note "first wafer", with PLC gaps (the simulator refuses every
  request for a while), ended completed with a reason;
- ``first`` and ``second``: the recipe "three cycles" (a loop of 3 cycles of a pulse
  and a purge), both completed;
- ``aborted``: the recipe "long pulse", aborted by hand during its pulse.
It returns once every step is committed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pytestqt.qtbot import QtBot

from ald_gui.domain.commands import AbortRun, StartRun, StopRun
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step
from ald_gui.engine.engine import Engine
from ald_gui.sim.server import Simulator
from tests.acting import person
from tests.fixtures.pg import scalar
from tests.recipe_run import recipe
from tests.recording import Recording, settle

CYCLES = 3
# Cycles of a pulse and a purge; lengths the simulator's pulse timer keeps.
THREE_CYCLES = recipe(
    Loop(
        count=CYCLES,
        steps=(Step.of(Pulse(valve="Valve 1", ms=40)), Step.of(Purge(ms=60))),
    ),
    name="three cycles",
)
LONG_PULSE = recipe(Pulse(valve="Valve 2", ms=5000), Purge(ms=10), name="long pulse")
STEPS_OF_THREE = CYCLES * 2 + 1  # the loop's own row too


@dataclass(frozen=True)
class RecordedRuns:
    plain: uuid.UUID
    first: uuid.UUID
    second: uuid.UUID
    aborted: uuid.UUID
    recording: Recording


def _run_recipe(engine: Engine, recording: Recording, qtbot: QtBot, r: Recipe, note: str) -> None:
    ended = len(recording.ended)
    engine.submit(StartRun("ana", note, r), by=person("ana"))
    settle(qtbot, lambda: len(recording.ended) > ended, 20.0, f"the recipe {r.name} to end")


def record_runs(engine: Engine, simulator: Simulator, dsn: str, qtbot: QtBot) -> RecordedRuns:
    recording = Recording.of(engine)
    engine.open()
    settle(qtbot, lambda: recording.batches, 10.0, "the first batch")

    engine.submit(StartRun("bob", "first wafer"), by=person("bob"))
    settle(qtbot, lambda: engine.run is not None, 5.0, "the plain run to start")
    simulator.answer_with_exception(4)
    settle(qtbot, lambda: scalar(dsn, "SELECT count(*) FROM plc_gaps") > 0, 10.0, "a gap")
    simulator.clear_faults()
    count = len(recording.batches)
    settle(qtbot, lambda: len(recording.batches) > count, 10.0, "samples again")
    engine.submit(StopRun("chamber vented early"), by=person("bob"))
    settle(qtbot, lambda: engine.run is None, 5.0, "the plain run to end")

    _run_recipe(engine, recording, qtbot, THREE_CYCLES, "reference")
    _run_recipe(engine, recording, qtbot, THREE_CYCLES, "second try")

    ended = len(recording.ended)
    engine.submit(StartRun("ana", "too long", LONG_PULSE), by=person("ana"))
    settle(qtbot, lambda: simulator.model.value("valve_2.valve_state"), 5.0, "the pulse to open")
    engine.submit(AbortRun("stopped by hand"), by=person("ana"))
    settle(qtbot, lambda: len(recording.ended) > ended, 10.0, "the abort")

    steps = 2 * STEPS_OF_THREE + 1
    settle(
        qtbot,
        lambda: (
            scalar(dsn, "SELECT count(*) FROM run_steps") == steps
            and scalar(dsn, "SELECT count(*) FROM process_executions WHERE status <> 'running'")
            == 4
        ),
        20.0,
        "every run and step committed",
    )
    plain, first, second, aborted = (s.run.id for s in recording.started)
    return RecordedRuns(plain, first, second, aborted, recording)
