"""The recipe executor on a real poll thread against the simulator over TCP.

Recipes are short (millisecond pulses, a few cycles) so the tests are quick; the
stream items the poll thread hands its sink are the record under test.
"""

from __future__ import annotations

import itertools
import statistics

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.config.process import PauseAt
from ald_gui.domain.commands import AbortRun, PauseRun, ResumeRun
from ald_gui.domain.events import PlcLost
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, SetTag, Step
from ald_gui.domain.recipe_progress import ExecutorState
from ald_gui.domain.stream import RunStatus
from ald_gui.sim.server import Simulator
from tests.recipe_run import RecipeRun, fast, paths, recipe

PRECURSORS = [f"valve_{i}.valve_state" for i in (1, 2, 3, 4)]


def _ald_cycle(ms: int, purge_ms: int) -> tuple[Step, ...]:
    return (
        Step.of(Pulse(valve="Valve 1", ms=ms)),
        Step.of(Purge(ms=purge_ms, flow_sccm=40)),
        Step.of(Pulse(valve="Valve 2", ms=ms)),
        Step.of(Purge(ms=purge_ms)),
    )


def test_twenty_cycles_run_to_completion_with_every_pulse_measured(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    r = Recipe(
        name="Al2O3 x20", version=3, steps=(Step.of(Loop(count=20, steps=_ald_cycle(15, 10))),)
    )
    with RecipeRun(fast(sim_config), qtbot) as run:
        request = run.start(r)
        ended = run.wait_ended(timeout_s=30)
        # The executor's last word may come a moment after the run's end.
        run.wait(lambda: run.progress()[-1].state is ExecutorState.COMPLETED, "the final progress")

    assert ended.status is RunStatus.COMPLETED and ended.request_id is None
    [started] = run.started
    assert started.request_id == request
    assert (started.run.recipe, started.run.recipe_version) == ("Al2O3 x20", 3)
    assert started.run.recipe_sha256 == r.sha256 and started.run.recipe_snapshot == r.canonical()

    leaves = run.leaf_steps()
    assert len(leaves) == 80 and all(s.outcome == "done" for s in leaves)
    expected = [f"steps[0].loop.steps[{i}]" for i in range(4)] * 20
    assert paths(leaves) == expected
    assert [s.cycles for s in leaves] == [(c,) for c in range(1, 21) for _ in range(4)]
    [loop] = [s for s in run.steps if s.kind == "loop"]
    assert (loop.path, loop.cycles, loop.detail) == ("steps[0]", (), "20 cycles")

    pulses = [s for s in leaves if s.kind == "pulse"]
    assert len(pulses) == 40
    assert all(s.requested_ms == 15 and s.measured_ms is not None for s in pulses)
    errors = [s.measured_ms - 15 for s in pulses if s.measured_ms is not None]
    # Never short. The goal is p99 <= 5 ms on an idle loopback (the benchmark
    # measures it); on a two-core machine loaded by other test runs (load 11 seen) the
    # median has reached 6 ms. A close that waited for the next poll would be 20 ms late.
    assert min(errors) >= 0.0
    assert statistics.median(errors) <= 10.0
    assert max(errors) < 100.0
    assert {s.detail for s in pulses} == {
        "Valve 1 (valve_1.valve_state), timed by the console",
        "Valve 2 (valve_2.valve_state), timed by the console",
    }

    # In stream order, inside the run, one after the other.
    items = run.items
    first, last = items.index(started), items.index(ended)
    assert all(first < items.index(s) < last for s in run.steps)
    assert [s.seq for s in run.steps] == sorted(s.seq for s in run.steps)
    for before, after in itertools.pairwise(leaves):
        assert before.started_at_us <= before.ended_at_us <= after.started_at_us
    assert all(s.run_id == started.run.id for s in run.steps)
    assert all(simulator.model.value(k) is False for k in PRECURSORS)
    assert simulator.model.value("mfc_1.flow_set") == 40.0

    final = run.progress()[-1]
    assert final.state is ExecutorState.COMPLETED and final.run_id == started.run.id
    running = run.progress(ExecutorState.RUNNING)
    assert len(running) == 80  # one at every step's start
    # The estimate is revised at every step: what is left is the plan from that step on.
    # (Two readings of the clock apart: within a millisecond.)
    left = [p.estimated_total_s - p.elapsed_s for p in running]
    assert left[0] == pytest.approx(20 * 0.050, abs=0.001)
    assert left[-1] == pytest.approx(0.010, abs=0.001)
    assert all(a > b for a, b in itertools.pairwise(left))
    assert running[-1].loops[0].cycle == 20 and running[-1].loops[0].count == 20


def test_a_recipe_with_errors_is_refused_before_the_run_starts(
    sim_config: AppConfig, qtbot: QtBot
) -> None:
    bad = recipe(Pulse(valve="Valve 9", ms=10), Purge(ms=10))
    with RecipeRun(fast(sim_config), qtbot) as run:
        request = run.start(bad)
        run.wait(lambda: run.refusals, "the refusal")
    [refusal] = run.refusals
    assert refusal.request_id == request
    assert "recipe 'test recipe' cannot run" in refusal.reason
    assert "steps[0].pulse.valve" in refusal.reason and "Valve 9" in refusal.reason
    assert not run.started and not run.steps


def test_pause_holds_at_the_next_step_boundary_and_resume_continues_there(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    r = recipe(
        Loop(count=2, steps=(Step.of(Pulse(valve="Valve 1", ms=150)), Step.of(Purge(ms=20))))
    )
    with RecipeRun(fast(sim_config), qtbot) as run:
        run.start(r)
        run.wait(lambda: simulator.model.value("valve_1.valve_state"), "the first pulse to open")
        pause = run.submit(PauseRun())
        pausing = run.wait_state(ExecutorState.PAUSING)
        paused = run.wait_state(ExecutorState.PAUSED)
        held = len(run.steps)
        polls = len(run.batches)
        run.wait(lambda: len(run.batches) >= polls + 10, "ten polls while paused")
        assert len(run.steps) == held  # nothing ran while paused
        resume = run.submit(ResumeRun())
        ended = run.wait_ended()

    assert pausing.request_id == pause and "end of this step" in pausing.message
    # The pulse under way ran to its end; the hold is before the next step.
    first = run.steps[0]
    assert (first.kind, first.outcome, first.requested_ms) == ("pulse", "done", 150)
    assert first.measured_ms is not None and first.measured_ms >= 150
    assert held == 1 and paused.step_path == "steps[0].loop.steps[1]"
    assert paused.loops[0].cycle == 1
    [resumed] = [p for p in run.progress(ExecutorState.RUNNING) if p.request_id == resume]
    assert resumed.step_path == paused.step_path
    assert ended.status is RunStatus.COMPLETED
    assert paths(run.leaf_steps()) == [f"steps[0].loop.steps[{i}]" for i in (0, 1)] * 2
    # The next step began once resumed, not before.
    assert run.steps[1].started_at_us >= paused.at_us


def test_pause_at_cycle_holds_at_the_end_of_the_innermost_cycle(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    inner = Loop(count=2, steps=(Step.of(Pulse(valve="Valve 1", ms=100)), Step.of(Purge(ms=10))))
    r = recipe(Loop(count=2, steps=(Step.of(inner), Step.of(Purge(ms=10)))))
    with RecipeRun(fast(sim_config, PauseAt.CYCLE), qtbot) as run:
        run.start(r)
        run.wait(lambda: simulator.model.value("valve_1.valve_state"), "the first pulse to open")
        run.submit(PauseRun())
        paused = run.wait_state(ExecutorState.PAUSED)
        assert paths(run.leaf_steps()) == ["steps[0].loop.steps[0].loop.steps[0]",
                                           "steps[0].loop.steps[0].loop.steps[1]"]  # fmt: skip
        run.submit(ResumeRun())
        assert run.wait_ended().status is RunStatus.COMPLETED
    assert paused.step_path == "steps[0].loop.steps[0].loop.steps[0]"
    assert [(p.cycle, p.count) for p in paused.loops] == [(1, 2), (2, 2)]
    assert len(run.leaf_steps()) == 2 * (2 * 2 + 1)
    loops = [s for s in run.steps if s.kind == "loop"]
    assert [(s.path, s.cycles) for s in loops] == [
        ("steps[0].loop.steps[0]", (1,)),
        ("steps[0].loop.steps[0]", (2,)),
        ("steps[0]", ()),
    ]


def test_abort_mid_pulse_closes_the_valve_at_once_and_applies_the_safe_state(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    r = recipe(Pulse(valve="Valve 2", ms=5000), Purge(ms=10))
    with RecipeRun(fast(sim_config), qtbot) as run:
        run.start(r)
        run.wait(lambda: simulator.model.value("valve_2.valve_state"), "the pulse to open")
        simulator.model.set_value("valve_3.valve_state", True)  # at the PLC, by hand
        abort = run.submit(AbortRun("operator saw a leak"))
        ended = run.wait_ended()
        # Read back from the simulator: closed, and the hand-opened one too.
        assert [simulator.model.value(k) for k in PRECURSORS] == [False] * 4

    assert ended.status is RunStatus.ABORTED and ended.reason == "operator saw a leak"
    assert ended.request_id == abort
    [step] = run.steps
    assert (step.kind, step.outcome) == ("pulse", "aborted")
    assert step.measured_ms is not None and step.measured_ms < 5000
    assert step.detail.endswith("closed early")
    final = run.progress()[-1]
    assert final.state is ExecutorState.ABORTED and final.request_id == abort
    assert "safe state verified by read-back" in final.message


def test_a_set_that_cannot_reach_its_tolerance_fails_into_the_safe_state(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    # The simulator's physics clock is frozen: the chamber temperature never moves.
    reading = simulator.model.value("chamber_heater.temperature_read")
    setpoint = SetTag(
        tag="chamber_heater.temperature_set",
        value=200.0,
        tolerance=1.0,
        reading="chamber_heater.temperature_read",
        timeout_ms=100,
    )
    r = recipe(Pulse(valve="Valve 1", ms=10), Purge(ms=10), setpoint, Purge(ms=10))
    with RecipeRun(fast(sim_config), qtbot) as run:
        run.start(r)
        run.wait(lambda: len(run.steps) == 2, "the pulse and purge")
        simulator.model.set_value("valve_4.valve_state", True)  # by hand, mid-recipe
        ended = run.wait_ended()
        assert [simulator.model.value(k) for k in PRECURSORS] == [False] * 4

    assert ended.status is RunStatus.FAILED
    assert ended.reason.startswith("steps[2] (set): chamber_heater.temperature_read did not come")
    assert "within 1 of 200 in 100 ms" in ended.reason
    assert f"last reading {float(reading):g}" in ended.reason
    assert simulator.model.value("chamber_heater.temperature_set") == 200.0  # left as it is
    failed = run.steps[-1]
    assert (failed.path, failed.outcome) == (
        "steps[2]",
        "failed: " + ended.reason.split(": ", 1)[1],
    )
    assert paths(run.steps) == ["steps[0]", "steps[1]", "steps[2]"]
    assert run.progress()[-1].state is ExecutorState.FAILED


def test_plc_lost_mid_recipe_suspends_and_resume_after_it_is_back_completes(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    r = recipe(
        Loop(count=3, steps=(Step.of(Pulse(valve="Valve 1", ms=10)), Step.of(Purge(ms=300))))
    )
    with RecipeRun(fast(sim_config), qtbot) as run:
        run.start(r)
        run.wait(lambda: len(run.steps) == 1, "the first pulse")
        simulator.stall()  # mid-purge: the PLC stops answering
        suspended = run.wait_state(ExecutorState.SUSPENDED)
        refused = run.submit(ResumeRun())
        run.wait(lambda: run.refusals, "the refused resume")
        simulator.clear_faults()
        polls = len(run.batches)
        run.wait(lambda: len(run.batches) > polls, "polls once the PLC is back")
        run.submit(ResumeRun())
        ended = run.wait_ended()

    assert "its watchdog holds the valves" in suspended.message
    assert suspended.step_path == "steps[0].loop.steps[1]"
    [refusal] = run.refusals
    assert refusal.request_id == refused and "still unreachable" in refusal.reason
    outcomes = [(s.path, s.outcome) for s in run.leaf_steps()]
    # The interrupted purge is recorded as suspended, then runs again from its start.
    assert outcomes[:3] == [
        ("steps[0].loop.steps[0]", "done"),
        ("steps[0].loop.steps[1]", "suspended"),
        ("steps[0].loop.steps[1]", "done"),
    ]
    assert len(outcomes) == 7 and all(o == "done" for _, o in outcomes[2:])
    assert ended.status is RunStatus.COMPLETED


def test_a_pulse_the_interlocks_refuse_fails_the_recipe_naming_the_rule(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    r = recipe(Purge(ms=500), Pulse(valve="Valve 1", ms=10), Purge(ms=10))
    with RecipeRun(fast(sim_config), qtbot) as run:
        run.start(r)
        run.wait_state(ExecutorState.RUNNING)
        # The purge closed every precursor valve as it began; one opened at the PLC
        # during it is seen by the polls before the pulse that would join it.
        simulator.model.set_value("valve_2.valve_state", True)
        ended = run.wait_ended()
    assert paths(run.steps) == ["steps[0]", "steps[1]"]
    assert simulator.model.value("valve_1.valve_state") is False  # never opened
    assert ended.status is RunStatus.FAILED
    assert ended.reason.startswith("steps[1] (pulse): refused by rule exclusive_valves")
    assert "Valve 1 and Valve 2 never open together" in ended.reason
    assert simulator.model.value("valve_2.valve_state") is False  # the safe state closed it


def test_a_recipe_does_not_start_while_the_plc_does_not_answer(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    with RecipeRun(fast(sim_config), qtbot) as run:
        simulator.stall()
        run.wait(lambda: any(isinstance(e, PlcLost) for e in run.events), "the PLC lost")
        request = run.start(recipe(Pulse(valve="Valve 1", ms=10), Purge(ms=10)))
        run.wait(lambda: run.refusals, "the refusal")
        simulator.clear_faults()
    [refusal] = run.refusals
    assert refusal.request_id == request and "the PLC does not answer" in refusal.reason
    assert not run.started and not run.steps


def test_plc_timed_and_console_timed_pulses_in_one_recipe(
    live_sim_config: AppConfig, live_simulator: Simulator, qtbot: QtBot
) -> None:
    # Valve 1 has a PLC pulse timer in the reference configuration, Valve 3 has none.
    cycle = (
        Step.of(Pulse(valve="Valve 1", ms=30)),
        Step.of(Purge(ms=20)),
        Step.of(Pulse(valve="Valve 3", ms=30)),
        Step.of(Purge(ms=20)),
    )
    with RecipeRun(fast(live_sim_config), qtbot) as run:
        run.start(recipe(Loop(count=3, steps=cycle)))
        ended = run.wait_ended()
        assert [live_simulator.model.value(k) for k in PRECURSORS] == [False] * 4
    assert ended.status is RunStatus.COMPLETED
    pulses = [s for s in run.leaf_steps() if s.kind == "pulse"]
    assert [s.detail.rsplit(", timed by the ", 1)[1] for s in pulses] == ["plc", "console"] * 3
    assert all(s.outcome == "done" and s.measured_ms is not None for s in pulses)
    # As in the twenty-cycle test: the median within 10 ms, none wildly off.
    errors = [abs(s.measured_ms - 30) for s in pulses if s.measured_ms is not None]
    assert statistics.median(errors) <= 10.0 and max(errors) < 50.0
