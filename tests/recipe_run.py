"""A poll thread running recipes against the simulator, with everything it produced.

``RecipeRun`` starts a real Poller (real PlcClient, real TCP) whose sink keeps every
stream item, and keeps every event it emitted; tests submit commands and wait on what
came out (``settle``, which runs the Qt loop). ``fast`` relaxes the reference reactor's
rules so recipes of millisecond pulses pass the check and tests stay short.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from types import TracebackType

from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.config.process import PauseAt
from ald_gui.domain.commands import Command, StartRun
from ald_gui.domain.events import RunRefused
from ald_gui.domain.recipe import Action, Recipe, Step
from ald_gui.domain.recipe_progress import ExecutorState, RecipeProgress
from ald_gui.domain.stream import Batch, RunEnded, RunStarted, StepRecord, StreamItem
from ald_gui.engine.poller import Poller
from tests.fixtures.plc import quick
from tests.recording import settle


def fast(config: AppConfig, pause_at: PauseAt = PauseAt.STEP) -> AppConfig:
    """``config`` polling every 20 ms, with short PLC timeouts, and rules that let
    millisecond pulses and purges run."""
    config = quick(config, interval_s=0.02)
    rules = config.process.rules.model_copy(
        update={"min_purge_after_pulse_ms": 0, "shortest_console_pulse_ms": 0, "pause_at": pause_at}
    )
    process = config.process.model_copy(update={"rules": rules})
    return config.model_copy(update={"process": process})


def recipe(*steps: Action, name: str = "test recipe") -> Recipe:
    return Recipe(name=name, steps=tuple(Step.of(s) for s in steps))


class RecipeRun:
    def __init__(self, config: AppConfig, qtbot: QtBot) -> None:
        self.qtbot = qtbot
        self.items: list[StreamItem] = []
        self.events: list[object] = []
        self.poller = Poller(config, self.items.extend, "recipe-test")
        self.poller.occurred.connect(self.events.append)
        self._ids = itertools.count(1)

    def __enter__(self) -> RecipeRun:
        self.poller.start()
        self.wait(lambda: self.batches, "a first sample")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.poller.request_shutdown()
        assert self.poller.wait(10_000), "the poll thread did not stop"

    def submit(self, command: Command) -> int:
        request_id = next(self._ids)
        self.poller.submit(command, request_id)
        return request_id

    def start(self, recipe: Recipe) -> int:
        return self.submit(StartRun("tester", "", recipe))

    def wait(self, condition: Callable[[], object], what: str, timeout_s: float = 10.0) -> None:
        settle(self.qtbot, condition, timeout_s, what)

    def wait_state(self, state: ExecutorState, timeout_s: float = 10.0) -> RecipeProgress:
        self.wait(lambda: self.progress(state), f"the recipe to be {state}", timeout_s)
        return self.progress(state)[-1]

    def wait_ended(self, timeout_s: float = 10.0) -> RunEnded:
        self.wait(lambda: self.ended, "the run to end", timeout_s)
        return self.ended[-1]

    def progress(self, state: ExecutorState | None = None) -> list[RecipeProgress]:
        return [
            e
            for e in self.events
            if isinstance(e, RecipeProgress) and (state is None or e.state is state)
        ]

    @property
    def refusals(self) -> list[RunRefused]:
        return [e for e in self.events if isinstance(e, RunRefused)]

    @property
    def batches(self) -> list[Batch]:
        return [i for i in self.items if isinstance(i, Batch)]

    @property
    def started(self) -> list[RunStarted]:
        return [i for i in self.items if isinstance(i, RunStarted)]

    @property
    def ended(self) -> list[RunEnded]:
        return [i for i in self.items if isinstance(i, RunEnded)]

    @property
    def steps(self) -> list[StepRecord]:
        return [i for i in self.items if isinstance(i, StepRecord)]

    def leaf_steps(self) -> list[StepRecord]:
        return [s for s in self.steps if s.kind != "loop"]


def paths(steps: Sequence[StepRecord]) -> list[str]:
    return [s.path for s in steps]
