"""Steps judged on samples, against the simulator over TCP: a ramping set writes its
intermediate setpoints at the poll rate; a wait until a condition ends on the sample
that meets it, or fails the recipe at its timeout."""

from __future__ import annotations

import itertools

from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.recipe import Comparison, Condition, SetTag, Wait
from ald_gui.domain.stream import RunStatus
from ald_gui.sim.server import Simulator
from tests.recipe_run import RecipeRun, fast, recipe

SETPOINT = "chamber_heater.temperature_set"
PRESSURE = "pressure_gauge_1.pressure_read"


def test_a_ramp_writes_intermediate_setpoints_at_the_poll_rate(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    simulator.model.set_value(SETPOINT, 100.0)
    with RecipeRun(fast(sim_config), qtbot) as run:
        polls = len(run.batches)
        run.wait(lambda: len(run.batches) > polls, "a sample of the setpoint")
        run.start(recipe(SetTag(tag=SETPOINT, value=110.0, ramp_per_s=50.0)))
        ended = run.wait_ended()

    assert ended.status is RunStatus.COMPLETED
    [step] = run.steps
    assert (step.kind, step.outcome, step.detail) == ("set", "done", f"{SETPOINT} = 110")
    assert step.ended_at_us - step.started_at_us >= 200_000  # 10 degrees at 50 per second
    inside = [b.values[SETPOINT] for b in run.batches if b.run_id == ended.run_id]
    ramping = [v for v in inside if 100.0 < v < 110.0]
    assert len(ramping) >= 3  # polls every 20 ms over 200 ms; a loaded machine polls fewer
    assert all(a <= b for a, b in itertools.pairwise(inside))
    assert simulator.model.value(SETPOINT) == 110.0


def test_a_wait_until_ends_on_the_sample_that_meets_it(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    pressure = float(simulator.model.value(PRESSURE))
    until = Condition(tag=PRESSURE, op=Comparison.BELOW, value=pressure / 2)
    with RecipeRun(fast(sim_config), qtbot) as run:
        run.start(recipe(Wait(until=until, timeout_ms=10_000)))
        polls = len(run.batches)
        run.wait(lambda: len(run.batches) > polls + 3, "a few samples while waiting")
        assert not run.steps  # not met yet
        simulator.model.set_value(PRESSURE, pressure / 4)
        ended = run.wait_ended()
    assert ended.status is RunStatus.COMPLETED
    [step] = run.steps
    assert step.outcome == "done" and step.detail == f"until {PRESSURE} < {pressure / 2:g}"
    first_below = next(b for b in run.batches if b.values[PRESSURE] < pressure / 2)
    assert step.ended_at_us > first_below.sampled_at_us


def test_a_wait_until_that_times_out_fails_the_recipe(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    pressure = float(simulator.model.value(PRESSURE))
    until = Condition(tag=PRESSURE, op=Comparison.BELOW, value=pressure / 2)
    with RecipeRun(fast(sim_config), qtbot) as run:
        run.start(recipe(Wait(until=until, timeout_ms=100)))
        ended = run.wait_ended()
    assert ended.status is RunStatus.FAILED
    assert ended.reason.startswith(f"steps[0] (wait): wait until {PRESSURE} < ")
    assert "not met within 100 ms (last reading" in ended.reason
    assert run.steps[0].outcome.startswith("failed: wait until")
