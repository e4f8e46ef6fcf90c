"""The recipe executor: runs a recipe's steps against the machine, between two samples.

A state machine (ExecutorState): idle -> running <-> pausing -> paused -> running ...
-> completed | aborted | failed, and suspended when the PLC is lost. Qt-free and
single-threaded: the poll thread drives it, with ``deadline`` folded into its own wait
(a pulse's close is a deadline like a poll), ``on_deadline`` when the clock reaches it,
``on_sample`` with every poll's values, ``on_poll_failed`` when a poll fails, and
``apply`` for the run commands it ``takes``. It never sleeps: every call returns after
the few PLC requests of one step's half.

What it guarantees: every step's end is a StepRecord of the run, in stream order
(``record``); every write it makes passes the interlocks first (a refusal fails the
recipe, naming the rule); a run it ends early (aborted, failed) ends in the safe
state, applied before the RunEnded, whose reason says so when it could not be
verified; every state change and step boundary is a RecipeProgress (``tell``), as is
every refusal (RunRefused).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from ald_gui.config.models import AppConfig
from ald_gui.config.process import PauseAt
from ald_gui.config.recipe_check import check_recipe
from ald_gui.domain.commands import (
    AbortRun,
    Command,
    PauseRun,
    RequestId,
    ResumeRun,
    StartRun,
    StopRun,
)
from ald_gui.domain.events import RunRefused, Severity
from ald_gui.domain.machine import Machine, RunNotPossible
from ald_gui.domain.recipe import Recipe
from ald_gui.domain.recipe_progress import ExecutorState, RecipeProgress
from ald_gui.domain.stream import RunStatus, StreamItem, now_us
from ald_gui.engine.interlocks import Interlocks
from ald_gui.engine.pulse import Pulses
from ald_gui.engine.recipe_cursor import Cursor
from ald_gui.engine.recipe_steps import StepFailed, StepRun, Values, step_run
from ald_gui.engine.safe_state import apply_safe_state
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import PlcError, PlcExceptionResponse, WriteNotConfirmed, WriteRefused

# The PLC answered and said no (or disagreed): the recipe cannot go on, it fails. Any
# other PlcError means the link is lost: the recipe is suspended, the valves are the
# PLC watchdog's until it is back.
_REFUSALS = (WriteRefused, WriteNotConfirmed, PlcExceptionResponse)

_HOLDING = (ExecutorState.PAUSED, ExecutorState.SUSPENDED)
_STEPPING = (ExecutorState.RUNNING, ExecutorState.PAUSING)

Record = Callable[[StreamItem], None]
Tell = Callable[[object], None]


class Executor:
    """Runs one recipe run at a time. ``record`` takes the stream items (run start and
    end, step records) in order; ``tell`` the events (RecipeProgress, RunRefused)."""

    def __init__(
        self,
        config: AppConfig,
        machine: Machine,
        interlocks: Interlocks,
        record: Record,
        tell: Tell,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._machine = machine
        self._record = record
        self._tell = tell
        self._clock = clock
        self._interlocks = interlocks
        self._pulses = Pulses(config)
        self.state = ExecutorState.IDLE
        self._recipe: Recipe | None = None
        self._run_id = uuid.UUID(int=0)
        self._cursor: Cursor | None = None
        self._step: StepRun | None = None
        self._step_started_us = 0
        self._started_at = 0.0
        self._estimated_s = 0.0
        self._values: Values = {}
        self._plc_ok = False  # the last poll succeeded (none yet: not known)

    # -- what the poll thread asks -------------------------------------------------

    @property
    def active(self) -> bool:
        """A recipe run is under way (running, pausing, paused or suspended)."""
        return self._cursor is not None

    @property
    def deadline(self) -> float | None:
        """When ``on_deadline`` is due (``time.monotonic`` seconds); None: not before
        a sample or a command."""
        if self._step is None or self.state not in _STEPPING:
            return None
        return self._step.deadline

    @property
    def step_at(self) -> tuple[str, str]:
        """The path and kind of the step under way (or next), ("", "") with none."""
        cursor = self._cursor
        if cursor is None or cursor.done or self.state.is_final:
            return "", ""
        return cursor.path, cursor.step.kind.value

    def valves_open(self) -> tuple[str, ...]:
        """The valves a pulse under way holds open (for the interlocks)."""
        step = self._step
        return step.valves_open if step is not None else ()

    def takes(self, command: Command) -> bool:
        """Whether ``apply`` handles ``command``: a recipe start, a pause, resume or
        abort, and a stop while a recipe runs. Other run commands are the poller's."""
        match command:
            case StartRun(recipe=recipe):
                return recipe is not None
            case PauseRun() | ResumeRun() | AbortRun():
                return True
            case StopRun():
                return self.active
        return False

    def apply(self, client: PlcClient, command: Command, request_id: RequestId | None) -> None:
        match command:
            case StartRun(recipe=Recipe() as recipe):
                self._start(client, command, recipe, request_id)
            case PauseRun():
                self._pause(request_id)
            case ResumeRun():
                self._resume(client, request_id)
            case AbortRun(reason=reason) | StopRun(reason=reason):
                self._abort(client, reason or "aborted by the operator", request_id)

    def on_deadline(self, client: PlcClient) -> None:
        step = self._step
        if step is not None and self.state in _STEPPING:
            self._drive(client, self._try(client, lambda: step.on_deadline(client, self._clock())))

    def on_sample(self, client: PlcClient, values: Values) -> None:
        self._values = values
        self._plc_ok = True
        step = self._step
        if step is not None and self.state in _STEPPING:
            over = self._try(client, lambda: step.on_sample(client, values, self._clock()))
            self._drive(client, over)

    def on_poll_failed(self, reason: str) -> None:
        self._plc_ok = False
        if self.active and self.state is not ExecutorState.SUSPENDED:
            self._suspend(reason)

    # -- commands ------------------------------------------------------------------

    def _start(
        self, client: PlcClient, command: StartRun, recipe: Recipe, request_id: RequestId | None
    ) -> None:
        if not self._plc_ok:
            self._refuse("the PLC does not answer: a recipe starts once it does", request_id)
            return
        checked = check_recipe(recipe, self._config, self._values)
        if not checked.ok:
            errors = checked.errors
            listed = "; ".join(str(e) for e in errors[:3])
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            self._refuse(f"recipe {recipe.name!r} cannot run: {listed}{more}", request_id)
            return
        try:
            started = self._machine.start(command.operator, command.note, recipe)
        except RunNotPossible as exc:
            self._refuse(str(exc), request_id)
            return
        self._record(replace(started, request_id=request_id))
        self._recipe, self._run_id = recipe, started.run.id
        self._estimated_s = checked.timeline.total_ms / 1000
        self._started_at = self._clock()
        self._cursor = Cursor(recipe, started.run.started_at_us)
        self.state = ExecutorState.RUNNING
        self._begin_step(client, request_id)

    def _pause(self, request_id: RequestId | None) -> None:
        if self.state is not ExecutorState.RUNNING:
            why = "is not running" if not self.active else f"is {self.state}"
            self._refuse(f"the recipe {why}: only a running recipe can be paused", request_id)
            return
        self.state = ExecutorState.PAUSING
        at = "cycle" if self._config.process.rules.pause_at is PauseAt.CYCLE else "step"
        self._progress(message=f"pauses at the end of this {at}", request_id=request_id)

    def _resume(self, client: PlcClient, request_id: RequestId | None) -> None:
        match self.state:
            case ExecutorState.PAUSING:
                self.state = ExecutorState.RUNNING
                self._progress(message="pause cancelled", request_id=request_id)
            case ExecutorState.PAUSED:
                self.state = ExecutorState.RUNNING
                self._begin_step(client, request_id)
            case ExecutorState.SUSPENDED if not self._plc_ok:
                self._refuse(
                    "the PLC is still unreachable: resume once it is back, or abort",
                    request_id,
                )
            case ExecutorState.SUSPENDED:
                # The interrupted step runs again from its start.
                self.state = ExecutorState.RUNNING
                self._begin_step(client, request_id)
            case _:
                self._refuse("no recipe is paused or suspended", request_id)

    def _abort(self, client: PlcClient, reason: str, request_id: RequestId | None) -> None:
        if self._machine.run is None:
            self._refuse("no run is active", request_id)
            return
        self._end(client, ExecutorState.ABORTED, "aborted", reason, request_id)

    # -- steps ---------------------------------------------------------------------

    def _begin_step(self, client: PlcClient, request_id: RequestId | None = None) -> None:
        self._drive(client, self._start_step(client, request_id))

    def _drive(self, client: PlcClient, over: bool) -> None:
        """Move on while steps end at once (a set without hold): a loop, not recursion,
        so a thousand such steps in a row cost no stack."""
        while over and self._next_step():
            over = self._start_step(client)

    def _start_step(self, client: PlcClient, request_id: RequestId | None = None) -> bool:
        """Begin the step the cursor rests on; True if it is over already."""
        assert self._cursor is not None
        self._step_started_us = self._machine.stamp()
        # Revised at every step from where the run stands: the time paused, and a wait
        # that ended before its timeout, are not counted as still to come.
        self._estimated_s = self._clock() - self._started_at + self._cursor.left_ms() / 1000
        self._progress(request_id=request_id)
        try:
            step = self._step = step_run(
                self._cursor.step, self._config, self._pulses, self._interlocks
            )
        except StepFailed as exc:
            self._fail(client, str(exc))
            return False
        return self._try(client, lambda: step.begin(client, self._values, self._clock()))

    def _try(self, client: PlcClient, action: Callable[[], bool]) -> bool:
        """Run one half of the step: True if the step is over; a failure fails the
        recipe, a lost link suspends it (and both return False)."""
        try:
            return action()
        except (StepFailed, *_REFUSALS) as exc:
            self._fail(client, str(exc))
        except PlcError as exc:
            self._suspend(str(exc))
        return False

    def _next_step(self) -> bool:
        """Record the step that ended and move the cursor on; True if the next step is
        to begin now (False: the recipe completed or paused here)."""
        assert self._cursor is not None
        self._record_step("done")
        boundary = self._cursor.advance(self._machine.stamp())
        for loop in boundary.loops:
            self._record(
                self._machine.step(
                    loop.path, "loop", loop.cycles, loop.started_at_us,
                    detail=f"{loop.count} cycles",
                )
            )  # fmt: skip
        if self._cursor.done:
            self._complete()
            return False
        cycle_rule = self._config.process.rules.pause_at is PauseAt.CYCLE
        if self.state is ExecutorState.PAUSING and (boundary.cycle_ended or not cycle_rule):
            self.state = ExecutorState.PAUSED
            self._progress(message="paused: resume continues with the next step")
            return False
        return True

    def _record_step(self, outcome: str) -> None:
        step, cursor = self._step, self._cursor
        if step is None or cursor is None:
            return
        self._step = None
        self._record(
            self._machine.step(
                cursor.path, cursor.step.kind.value, cursor.cycles, self._step_started_us,
                outcome=outcome, requested_ms=step.requested_ms, measured_ms=step.measured_ms,
                detail=step.detail,
            )
        )  # fmt: skip

    def _suspend(self, reason: str) -> None:
        self._plc_ok = False
        self._record_step("suspended")
        self.state = ExecutorState.SUSPENDED
        self._progress(
            message=f"suspended, the PLC is lost ({reason}): its watchdog holds the valves; "
            "when it is back, resume (the interrupted step runs again) or abort",
            severity=Severity.WARNING,
        )

    def _fail(self, client: PlcClient, what: str) -> None:
        assert self._cursor is not None
        where = f"{self._cursor.path} ({self._cursor.step.kind})"
        self._end(client, ExecutorState.FAILED, f"failed: {what}", f"{where}: {what}", None)

    def _end(
        self,
        client: PlcClient,
        state: ExecutorState,
        outcome: str,
        reason: str,
        request_id: RequestId | None,
    ) -> None:
        """End the run early: the step under way stopped (an open valve closed at once)
        and recorded, the safe state applied, then RunEnded with ``reason`` (and the
        safe state's problems, if it could not be verified)."""
        if self._step is not None:
            # If the valve cannot be closed now, the safe state tries again, or says so.
            with contextlib.suppress(PlcError):
                self._step.stop(client)
            self._record_step(outcome)
        safe = apply_safe_state(client, self._config)
        if not safe.verified:
            reason = f"{reason}; {safe.describe()}"
        status = RunStatus.FAILED if state is ExecutorState.FAILED else RunStatus.ABORTED
        self._finish(state, status, reason, request_id, safe.describe())

    def _complete(self) -> None:
        self._finish(ExecutorState.COMPLETED, RunStatus.COMPLETED, "", None, "")

    def _finish(
        self,
        state: ExecutorState,
        status: RunStatus,
        reason: str,
        request_id: RequestId | None,
        safe: str,
    ) -> None:
        ended = self._machine.end(status, reason)
        self._record(replace(ended, request_id=request_id))
        if self._cursor is not None:
            self.state = state
            message = reason if not safe or safe in reason else f"{reason}; {safe}"
            severity = Severity.INFO if state is ExecutorState.COMPLETED else Severity.WARNING
            self._progress(message=message.lstrip("; "), severity=severity, request_id=request_id)
        self._cursor = self._recipe = self._step = None
        self.state = ExecutorState.IDLE

    # -- events --------------------------------------------------------------------

    def _refuse(self, reason: str, request_id: RequestId | None) -> None:
        self._tell(RunRefused(now_us(), reason, request_id=request_id))

    def _progress(
        self,
        *,
        message: str = "",
        severity: Severity = Severity.INFO,
        request_id: RequestId | None = None,
    ) -> None:
        recipe, cursor = self._recipe, self._cursor
        if recipe is None or cursor is None:
            return
        at_step = not (self.state.is_final or cursor.done)
        self._tell(
            RecipeProgress(
                at_us=now_us(),
                run_id=self._run_id,
                recipe=recipe.name,
                state=self.state,
                step_path=cursor.path if at_step else "",
                step_kind=cursor.step.kind.value if at_step else "",
                loops=cursor.loops if at_step else (),
                elapsed_s=self._clock() - self._started_at,
                estimated_total_s=self._estimated_s,
                message=message,
                severity=severity,
                request_id=request_id,
            )
        )
