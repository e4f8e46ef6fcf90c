"""The poll thread's journal of the commands it applies (engine.command_journal): one
audit entry per command, naming who asked, with the value before and after, the reason,
and the refusal when it was refused; a recipe's own steps are not journalled."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, Role
from ald_gui.domain.audit import AuditEntry
from ald_gui.domain.commands import (
    AbortRun,
    AcknowledgeAlarm,
    Command,
    PauseRun,
    ResumeRun,
    StartRun,
    StopRun,
    WriteTag,
)
from ald_gui.domain.recipe import Loop, Pulse, Purge, Step
from ald_gui.domain.recipe_progress import ExecutorState
from ald_gui.sim.server import Simulator
from tests.recipe_run import RecipeRun, fast, recipe

HEATER_SET = "chamber_heater.temperature_set"
ANN = Actor("ann", Role.OPERATOR, "Ann Smith")


def entries(run: RecipeRun) -> list[AuditEntry]:
    return [i for i in run.items if isinstance(i, AuditEntry)]


def ask(run: RecipeRun, command: Command, by: Actor = ANN) -> None:
    """Submit as ``by`` and wait for the command's entry."""
    count = len(entries(run))
    run.poller.submit(command, 1000 + count, by)
    run.wait(lambda: len(entries(run)) > count, f"the entry of {command}")


def test_writes_are_journalled_with_the_value_before_and_the_read_back(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    with RecipeRun(fast(sim_config), qtbot) as run:
        before = run.batches[-1].values[HEATER_SET]
        ask(run, WriteTag(HEATER_SET, 180.0))
        ask(run, WriteTag(HEATER_SET, 5000.0))
        ask(run, WriteTag("no_such.tag", 1.0))
    write, too_hot, unknown = entries(run)
    assert (write.account, write.role, write.action, write.object) == (
        "ann", "operator", "write", HEATER_SET
    )  # fmt: skip
    assert (write.before, write.after) == (format(before, ".7g"), "180")
    assert (too_hot.action, too_hot.after) == ("write refused", "5000")
    assert too_hot.before == "180"  # the first write's read-back, sampled or not since
    assert too_hot.reason == f"5000 °C is outside {HEATER_SET}'s range 0..1000 °C"
    assert (unknown.action, unknown.object, unknown.before) == ("write refused", "no_such.tag", "")
    assert "no_such.tag" in unknown.reason
    assert [e.seq for e in entries(run)] == sorted(e.seq for e in entries(run))


def test_runs_started_stopped_and_refused_are_journalled_with_their_reasons(
    sim_config: AppConfig, qtbot: QtBot
) -> None:
    with RecipeRun(fast(sim_config), qtbot) as run:
        ask(run, StartRun("ann", "chamber bake-out"))
        ask(run, StopRun("bake-out done"))
        ask(run, StopRun("again"))
        ask(run, AcknowledgeAlarm("no such alarm", "seen it"))
    start, stop, refused, ack = entries(run)
    [started] = run.started
    assert (start.action, start.object, start.after, start.reason, start.run_id) == (
        "run start", str(started.run.id), "manual run", "chamber bake-out", started.run.id
    )  # fmt: skip
    assert (stop.action, stop.before, stop.after, stop.reason, stop.run_id) == (
        "run stop", "running", "completed", "bake-out done", started.run.id
    )  # fmt: skip
    assert (refused.action, refused.after, refused.reason) == (
        "run stop refused", "refused: no run is active", "again"
    )  # fmt: skip
    assert (ack.action, ack.object, ack.reason) == (
        "alarm acknowledge refused", "no such alarm", "seen it"
    )  # fmt: skip
    assert ack.after.startswith("refused: ")


def test_a_recipes_pause_resume_and_abort_are_journalled_but_not_its_steps(
    sim_config: AppConfig, simulator: Simulator, qtbot: QtBot
) -> None:
    r = recipe(
        Loop(count=50, steps=(Step.of(Pulse(valve="Valve 1", ms=30)), Step.of(Purge(ms=20))))
    )
    with RecipeRun(fast(sim_config), qtbot) as run:
        ask(run, StartRun("ann", "", r))
        ask(run, PauseRun())
        run.wait_state(ExecutorState.PAUSED)
        ask(run, ResumeRun())
        run.wait(lambda: len(run.steps) >= 4, "a few steps after the resume")
        ask(run, AbortRun("wrong precursor loaded"))
    [started] = run.started
    assert [(e.action, e.run_id) for e in entries(run)] == [
        ("run start", started.run.id), ("run pause", started.run.id),
        ("run resume", started.run.id), ("run abort", started.run.id),
    ]  # fmt: skip
    start, _, _, abort = entries(run)
    assert start.after == "recipe test recipe v1"
    assert (abort.before, abort.after, abort.reason) == (
        "running", "aborted", "wrong precursor loaded"
    )  # fmt: skip
    assert len(run.steps) >= 4  # the steps are in run_steps, not in the trail
