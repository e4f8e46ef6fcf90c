"""The machine state (idle, or running one run) and the stream clock.

Owned by the poll thread alone. Every stamp it hands out is strictly later than the
one before, even if the wall clock steps back (NTP), so a sample's run is decided by
order alone: started_at(P) <= t < ended_at(P) holds by construction (invariant 1).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from ald_gui.domain.alarms import AlarmEvent, AlarmEventKind, AlarmState, Priority
from ald_gui.domain.audit import AuditEntry, AuditRequest
from ald_gui.domain.recipe import Recipe
from ald_gui.domain.refusal import Refusal
from ald_gui.domain.stream import (
    Batch,
    Gap,
    Run,
    RunEnded,
    RunStarted,
    RunStatus,
    StepRecord,
    now_us,
)


class RunNotPossible(Exception):
    """A start while a run is active, or a stop while idle. ``str()`` says which."""


def check_recordable(field: str, text: str) -> None:
    """Raise RunNotPossible naming ``field`` if the database could never store ``text``.

    PostgreSQL text cannot hold NUL: a run start or end carrying one would be refused
    for good, and with the start, every sample of the run (nothing is written without
    its run).
    """
    if "\x00" in text:
        raise RunNotPossible(f"the run's {field} contains a NUL character: it cannot be recorded")


class Machine:
    def __init__(self, machine: str, clock_us: Callable[[], int] = now_us) -> None:
        self.machine = machine
        self._clock_us = clock_us
        self._last_us = 0
        # Sequence numbers continue across restarts (the spool of a console that died
        # is replayed beside the new session's items): seeded from the stream clock,
        # which starts above the previous session's reserved mark (domain.clock), and
        # every item of that session took a later stamp, they start above any number
        # it can have handed out. Seeded at the first item, not here: the first reading
        # of the clock may report a step, and the poll thread's listeners are
        # connected only after it is built.
        self._seq: int | None = None
        self.run: Run | None = None

    def stamp(self, at_us: int | None = None) -> int:
        """A time no earlier than ``at_us`` (default: now) and later than every stamp
        handed out before."""
        t = self._clock_us() if at_us is None else at_us
        self._last_us = max(t, self._last_us + 1)
        return self._last_us

    def _next_seq(self) -> int:
        self._seq = (self._clock_us() if self._seq is None else self._seq) + 1
        return self._seq

    def start(self, operator: str, note: str = "", recipe: Recipe | None = None) -> RunStarted:
        """A run starts now; with ``recipe``, the run carries its name, version, hash
        and canonical snapshot."""
        if self.run is not None:
            raise RunNotPossible(
                f"run {self.run.id} by {self.run.operator} is active: stop it first"
            )
        operator = operator.strip()
        if not operator:
            raise RunNotPossible("a run needs an operator name")
        name = recipe.name if recipe else ""
        for field, text in (("operator", operator), ("note", note), ("recipe", name)):
            check_recordable(field, text)
        self.run = Run(
            id=uuid.uuid4(),
            machine=self.machine,
            operator=operator,
            started_at_us=self.stamp(),
            note=note,
            recipe=name,
            recipe_version=recipe.version if recipe else None,
            recipe_sha256=recipe.sha256 if recipe else "",
            recipe_snapshot=recipe.canonical() if recipe else "",
        )
        return RunStarted(self._next_seq(), self.run)

    def end(self, status: RunStatus = RunStatus.COMPLETED, reason: str = "") -> RunEnded:
        if self.run is None:
            raise RunNotPossible("no run is active")
        if status is RunStatus.RUNNING:
            raise ValueError("a run cannot end with status running")
        check_recordable("reason", reason)
        ended = RunEnded(self._next_seq(), self.run.id, self.stamp(), status, reason)
        self.run = None
        return ended

    def batch(self, sampled_at_us: int, values: dict[str, float]) -> Batch:
        """A sample, stamped with the run active at its instant."""
        t = self.stamp(sampled_at_us)
        return Batch(self._next_seq(), t, values, self.run.id if self.run else None)

    def gap(self, reason: str) -> Gap:
        return Gap(self._next_seq(), self.stamp(), reason, self.run.id if self.run else None)

    def step(
        self,
        path: str,
        kind: str,
        cycles: tuple[int, ...],
        started_at_us: int,
        *,
        outcome: str = "done",
        requested_ms: float | None = None,
        measured_ms: float | None = None,
        detail: str = "",
    ) -> StepRecord:
        """The record of a recipe step of the active run that ends now; raises
        RunNotPossible when no run is active (a step belongs to its run)."""
        if self.run is None:
            raise RunNotPossible("a recipe step needs an active run")
        for field, text in (("step path", path), ("step outcome", outcome), ("detail", detail)):
            check_recordable(field, text)
        started = max(started_at_us, self.run.started_at_us)
        ended = self.stamp()
        return StepRecord(
            self._next_seq(), self.run.id, path, kind, cycles, started, ended,
            outcome, requested_ms, measured_ms, detail,
        )  # fmt: skip

    def alarm_event(
        self, alarm: str, event: AlarmEventKind, state: AlarmState, priority: Priority,
        occurrence: uuid.UUID | None, *, value: float | None = None, operator: str = "",
        note: str = "", until_us: int | None = None, at_us: int | None = None,
    ) -> AlarmEvent:  # fmt: skip
        """A journal entry of ``alarm``, stamped now (no earlier than ``at_us``) with the
        run active at its instant. Text the database cannot store loses its NULs: an
        operator's note must not make an alarm's record unrecordable."""
        run = self.run.id if self.run else None
        return AlarmEvent(
            self._next_seq(), self.stamp(at_us), alarm, event, state, priority, occurrence,
            run, value, operator.replace("\x00", ""), note.replace("\x00", ""), until_us,
        )  # fmt: skip

    def refusal(self, rule: str, tag: str, value: float, reason: str) -> Refusal:
        """The journal's record of a write refused now by ``rule``, with the run active
        at its instant."""
        run = self.run.id if self.run else None
        return Refusal(
            self._next_seq(), self.stamp(), rule, tag, value, reason.replace("\x00", ""), run
        )

    def audit(
        self, account: str, role: str, request: AuditRequest, run_id: uuid.UUID | None = None
    ) -> AuditEntry:
        """The audit trail's entry of ``request``, asked by ``account`` in ``role``,
        stamped now, naming ``run_id`` (default: the run active at its instant; a run
        stop names the run it ended). Text the database cannot store loses its NULs:
        whatever a person typed, the action must be recorded."""
        run = run_id if run_id is not None else (self.run.id if self.run else None)

        def clean(text: str) -> str:
            return text.replace("\x00", "")

        return AuditEntry(
            self._next_seq(), self.stamp(), clean(account), clean(role), clean(request.action),
            clean(request.object), clean(request.before), clean(request.after),
            clean(request.reason), request.signatures, run,
        )  # fmt: skip
