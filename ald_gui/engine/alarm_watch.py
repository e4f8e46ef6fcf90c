"""The alarms on the poll thread: the domain's AlarmEngine fed with every poll, the
console's health figures, the operator's alarm commands, and the recipe actions.

The poll thread calls ``sampled`` for every batch and ``lost`` for every failed poll
(one call each); ``apply`` for an alarm command. Journal entries go into the stream
(``record``), outcomes to ``tell``, and the board (every alarm not normal) to ``show``
whenever it changed. ``writer_health`` may be called from any thread: it only replaces
one reference, which the poll thread reads at its next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from ald_gui.domain.alarm_engine import AlarmEngine, AlarmRefused, Restored
from ald_gui.domain.alarm_rules import Situation, SystemFigures
from ald_gui.domain.alarms import (
    AlarmAction,
    AlarmBoard,
    AlarmCommandDone,
    AlarmCommandRefused,
    AlarmEvent,
    AlarmEventKind,
)
from ald_gui.domain.commands import (
    AbortRun,
    AcknowledgeAlarm,
    AlarmCommand,
    Command,
    PauseRun,
    RemoveFromService,
    RequestId,
    ReturnToService,
    ShelveAlarm,
    UnshelveAlarm,
)
from ald_gui.domain.machine import Machine
from ald_gui.domain.stream import StreamItem, now_us
from ald_gui.engine.executor import Executor
from ald_gui.plc.client import PlcClient
from ald_gui.store.health import WriterHealth

log = logging.getLogger(__name__)

ALARM_COMMANDS = (AcknowledgeAlarm, ShelveAlarm, UnshelveAlarm, RemoveFromService, ReturnToService)


class AlarmWatch:
    def __init__(
        self,
        engine: AlarmEngine,
        machine: Machine,
        executor: Executor,
        record: Callable[[StreamItem], None],
        tell: Callable[[object], None],
        show: Callable[[AlarmBoard], None],
    ) -> None:
        self.engine = engine
        self._machine = machine
        self._executor = executor
        self._record = record
        self._tell = tell
        self._show = show
        self._writer: WriterHealth | None = None
        self._lost_since_us: int | None = None
        self._db_lost_since_us: int | None = None
        self._shown = False

    def restore(self, states: Sequence[Restored]) -> None:
        """The states a previous session left (store.alarm_journal), before the first poll."""
        self.engine.restore(states)

    def writer_health(self, health: WriterHealth) -> None:
        """Any thread: the writer's latest figures (the poll thread reads the reference)."""
        self._writer = health

    @staticmethod
    def takes(command: Command) -> bool:
        return isinstance(command, ALARM_COMMANDS)

    # -- the poll thread -----------------------------------------------------------

    def sampled(self, client: PlcClient, at_us: int, values: dict[str, float]) -> None:
        self._lost_since_us = None
        self._evaluate(client, at_us, values)

    def lost(self, client: PlcClient) -> None:
        """A failed poll: value alarms go bad quality, and the PLC-lost alarm counts."""
        at_us = now_us()
        if self._lost_since_us is None:
            self._lost_since_us = at_us
        self._evaluate(client, at_us, None)

    def apply(self, command: AlarmCommand, request_id: RequestId | None) -> None:
        at_us = self._machine.stamp()
        try:
            events = self.engine.apply(command, at_us)
        except AlarmRefused as exc:
            self._tell(AlarmCommandRefused(at_us, command.alarm, str(exc), request_id))
            return
        self._journal(events)
        self._publish(at_us, events)  # before the answer: who asked sees the new board
        kind = events[0].event if events else AlarmEventKind.ACKNOWLEDGED
        self._tell(AlarmCommandDone(at_us, command.alarm, kind, request_id))

    def _evaluate(self, client: PlcClient, at_us: int, values: dict[str, float] | None) -> None:
        self.engine.figures = self._figures(at_us)
        path, kind = self._executor.step_at
        situation = Situation(self._machine.run is not None, path, kind)
        events = self.engine.evaluate(at_us, values, situation)
        if events:
            self._journal(events)
            self._act(client, events)
        if events or self.engine.quality_changed or not self._shown:
            self._publish(at_us, events)

    def _figures(self, at_us: int) -> SystemFigures:
        w = self._writer
        lost = self._lost_since_us
        if w is not None and not w.database_connected:
            self._db_lost_since_us = self._db_lost_since_us or w.at_us
        elif w is not None:
            self._db_lost_since_us = None
        db = self._db_lost_since_us
        return SystemFigures(
            plc_lost_s=(at_us - lost) / 1e6 if lost is not None else None,
            database_lost_s=(at_us - db) / 1e6 if db is not None else None,
            oldest_unsent_s=w.oldest_unsent_age_s if w else None,
            disk_free_bytes=w.disk_free_bytes if w else None,
        )

    def _journal(self, events: Sequence[AlarmEvent]) -> None:
        for e in events:
            self._record(e)

    def _act(self, client: PlcClient, events: Sequence[AlarmEvent]) -> None:
        """A raised alarm with an action pauses or aborts the recipe under way."""
        for e in events:
            if e.event is not AlarmEventKind.RAISED or not self._executor.active:
                continue
            d = self.engine.status(e.alarm).definition
            reason = f"alarm {d.id} ({d.name}, {d.priority.word})"
            if d.action is AlarmAction.ABORT_RECIPE:
                log.warning("aborting the recipe: %s", reason)
                self._executor.apply(client, AbortRun(reason), None)
            elif d.action is AlarmAction.PAUSE_RECIPE:
                log.warning("pausing the recipe: %s", reason)
                self._executor.apply(client, PauseRun(), None)

    def _publish(self, at_us: int, events: Sequence[AlarmEvent]) -> None:
        """The board, when it changed (and once at the start, empty or restored)."""
        self._shown = True
        self._show(self.engine.board(at_us, events))
