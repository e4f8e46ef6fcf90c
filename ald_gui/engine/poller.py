"""The poll thread: samples the PLC on a drift-free schedule and owns the machine state.

It runs its own loop (``QThread.run``) rather than a Qt timer in an event loop: each
wake-up is aimed at an absolute deadline ``t0 + k * interval``, so lateness never
accumulates, and commands (start, stop, write) wake it at once and take effect
between two samples. Everything it produces leaves through ``sink`` (the writer's
non-blocking submit) in one ordered stream, and through queued signals to the screen.
It never waits on the database.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from PySide6.QtCore import QThread, Signal

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import CONSOLE, Actor
from ald_gui.domain.alarm_engine import AlarmEngine
from ald_gui.domain.alarms import AlarmBoard
from ald_gui.domain.audit import AuditRequest
from ald_gui.domain.clock import StreamClock
from ald_gui.domain.commands import (
    AlarmCommand,
    Command,
    RequestId,
    StartRun,
    StopRun,
    WriteTag,
)
from ald_gui.domain.events import PlcBack, PlcLost, RunRefused, WriteConfirmed, WriteFailed
from ald_gui.domain.health import PlcHealth
from ald_gui.domain.machine import Machine, RunNotPossible
from ald_gui.domain.stream import RunEnded, RunStarted, StreamItem, now_us
from ald_gui.engine.alarm_watch import AlarmWatch
from ald_gui.engine.command_journal import CommandJournal
from ald_gui.engine.executor import Executor
from ald_gui.engine.heartbeat import Heartbeat
from ald_gui.engine.interlocks import InterlockRefused, Interlocks
from ald_gui.engine.recipe_marker import RecipeMarker, Recovery
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import PlcError, PlcUnreachable
from ald_gui.store.alarm_states import AlarmStates
from ald_gui.store.clock_mark import ClockMark, MarkSaver

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[StreamItem]], None]


Queued = tuple[Command | AuditRequest, RequestId | None, Actor] | None
"""A command (or an entry for the audit trail), the id its outcome carries and who
asked; None ends the loop."""


class Poller(QThread):
    """Polls ``config``'s tags every ``config.poll.interval_s`` seconds.

    Thread-safe requests: ``submit`` (a command, with the id its outcome is to carry)
    and ``request_shutdown``. Signals (queued to the receiver's thread): ``sampled``
    (Batch), ``stream_event`` (RunStarted / RunEnded / Gap), ``occurred`` (PlcLost,
    PlcBack, RunRefused, WriteConfirmed, WriteFailed) and ``health`` (PlcHealth, after
    every poll). The outcome of a submitted command carries its request id.
    """

    sampled = Signal(object)
    stream_event = Signal(object)
    occurred = Signal(object)
    health = Signal(object)
    alarms_changed = Signal(object)  # AlarmBoard, after a poll or command that changed one

    def __init__(
        self,
        config: AppConfig,
        sink: Sink,
        machine: str,
        clock_mark: ClockMark | None = None,
        recipe_marker: RecipeMarker | None = None,
        alarm_states: AlarmStates | None = None,
    ) -> None:
        """``clock_mark`` keeps the stream clock's times from being reused by the next
        session (domain.clock); without it, times only rise within this one.
        ``recipe_marker`` tells the next session that this one died mid-recipe, and
        this one whether the last did (engine.recipe_marker). Raises
        ClockMarkError if the mark exists and cannot be read."""
        super().__init__()
        self.setObjectName("plc-poll")
        self._config = config
        self._sink = sink
        floor_us = clock_mark.load() if clock_mark else 0
        # The mark is fsync'd about twice a second: on a thread of its own, so a slow
        # disk does not delay a sample (the clock waits for it only if it falls behind).
        self._mark_saver = MarkSaver(clock_mark, floor_us) if clock_mark else None
        self._clock = StreamClock(
            floor_us=floor_us,
            save=self._mark_saver.save if self._mark_saver else lambda _mark: None,
            save_soon=self._mark_saver.save_soon if self._mark_saver else None,
            saved_us=self._mark_saver.saved_us if self._mark_saver else None,
            on_step=self.occurred.emit,
        )
        self._machine = Machine(machine, clock_us=self._clock.now)
        # Every command applied is an entry of the audit trail, with its outcome.
        self._journal = CommandJournal(self._machine, self._record)
        self._commands: queue.SimpleQueue[Queued] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopping = False
        self._jitter: deque[float] = deque(maxlen=600)
        self._polls = self._failed = self._missed = 0
        self._lost_since_us: int | None = None
        self._last_error = ""
        self._rtt: float | None = None
        # Every write passes the machine's rules first (engine.interlocks), the
        # recipe's too; the valves a pulse holds open count as open.
        self.interlocks = Interlocks(config.process, units={t.key: t.unit for t in config.tags})
        self.interlocks.report(self._refused)  # every refusal journalled once
        self._executor = Executor(config, self._machine, self.interlocks, self._record, self._tell)
        self.interlocks.follow(self._executor.valves_open)
        # The alarms, on every poll; their states saved beside the spool on a change.
        self._alarm_states = alarm_states
        engine = AlarmEngine([a.definition() for a in config.alarms], self._machine)
        self.alarms = AlarmWatch(
            engine, self._machine, self._executor, self._record, self._tell,
            self._alarms_changed,
        )  # fmt: skip
        if alarm_states is not None:
            self.alarms.restore(alarm_states.load())
        self._heartbeat = Heartbeat.of(config)  # keeps the PLC's watchdog from tripping
        self._marker = recipe_marker
        self._recovery = Recovery(recipe_marker, config) if recipe_marker else None

    # -- requests from other threads ----------------------------------------------

    def submit(
        self, command: Command, request_id: RequestId | None = None, by: Actor = CONSOLE
    ) -> None:
        """Apply ``command`` between two samples, in the order submitted; its outcome
        (signal ``stream_event`` or ``occurred``) carries ``request_id``. ``by`` is the
        account that asked, already checked by the engine (the audit trail names it)."""
        self._send((command, request_id, by))

    def audit(self, request: AuditRequest, by: Actor) -> None:
        """Put ``request``, asked by ``by``, into the audit trail between two samples, in
        order with the commands: stamped by the machine (seq, time, run in progress)."""
        self._send((request, None, by))

    def request_shutdown(self) -> None:
        """End the loop after the current sample; commands already queued are applied."""
        self._send(None)

    def _send(self, command: Queued) -> None:
        self._commands.put(command)
        self._wake.set()

    # -- the loop ------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._poll()
        finally:
            if self._mark_saver is not None:
                self._mark_saver.close()

    def _poll(self) -> None:
        interval = self._config.poll.interval_s
        with PlcClient(self._config.plc, self._config.tags, stamp_us=self._clock.now) as client:
            deadline = time.monotonic()
            while True:
                if self._recovery is not None and self._recovery.pending:
                    self._emit(self._recovery.apply(client))  # before anything else
                self._apply_commands(client)
                if self._stopping:
                    return
                now = time.monotonic()
                due = self._executor.deadline
                if due is not None and now >= due:
                    self._executor.on_deadline(client)
                    continue
                # A step's deadline (a pulse's close) comes before a poll starting now
                # would be over: wait for it, and poll just after.
                cost = (self._rtt or 0.0) + 0.001
                # A beat is due: unless a pulse closes meanwhile (the beat can wait).
                beat = self._heartbeat
                if beat is not None and now >= beat.due_at and (due is None or due > now + cost):
                    self._emit(beat.beat(client))
                    continue
                wake_at = due if due is not None and due < deadline + cost else deadline
                if beat is not None and now < beat.due_at:
                    wake_at = min(wake_at, beat.due_at)
                if now < wake_at:
                    self._wake.wait(wake_at - now)
                    self._wake.clear()
                    continue
                self._jitter.append(now - deadline)
                late_cycles = int((now - deadline) // interval)
                self._missed += late_cycles
                deadline += (late_cycles + 1) * interval
                self._sample(client)
                self._clock.keep_ahead()

    def _apply_commands(self, client: PlcClient) -> None:
        while True:
            try:
                queued = self._commands.get_nowait()
            except queue.Empty:
                return
            if queued is None:
                self._stopping = True
                continue
            command, request_id, by = queued
            if isinstance(command, AuditRequest):
                self._record(self._machine.audit(by.account, str(by.role), command))
                continue
            self._journal.applying(command, request_id, by)
            if isinstance(command, WriteTag):
                self._write(client, command, request_id)
            elif isinstance(command, AlarmCommand):
                self.alarms.apply(command, request_id)
            elif self._executor.takes(command):
                self._executor.apply(client, command, request_id)
            elif isinstance(command, StartRun | StopRun):
                self._change_run(command, request_id)
            self._journal.applied()

    def _change_run(self, command: StartRun | StopRun, request_id: RequestId | None) -> None:
        item: RunStarted | RunEnded
        try:
            if isinstance(command, StartRun):
                item = self._machine.start(command.operator, command.note)
            else:
                item = self._machine.end(command.status, command.reason)
        except RunNotPossible as exc:
            self._tell(RunRefused(now_us(), str(exc), request_id=request_id))
            return
        self._record(replace(item, request_id=request_id))

    def _record(self, item: StreamItem) -> None:
        if self._marker is not None:
            self._marker.follow(item)
        self._journal.saw(item)
        self._sink([item])
        self.stream_event.emit(item)

    def _tell(self, event: object) -> None:
        """An event for the screen; the journal sees the outcome of a command too."""
        self._journal.saw(event)
        self.occurred.emit(event)

    def _refused(self, refusal: InterlockRefused, key: str, value: float) -> None:
        self._record(self._machine.refusal(refusal.rule, key, value, str(refusal)))

    def _write(self, client: PlcClient, command: WriteTag, request_id: RequestId | None) -> None:
        value = command.value
        requested = float(value) if isinstance(value, int | float) else math.nan
        try:
            tag = self._config.tag(command.key)
            self.interlocks.check(tag.key, value)
            readback = client.write(tag, value)
            self.interlocks.written(tag.key, readback)
        except KeyError as exc:
            reason = str(exc.args[0])  # KeyError's str() would add quotes
            self._tell(WriteFailed(now_us(), command.key, requested, reason, request_id=request_id))
            return
        except Exception as exc:  # a PlcError, or a bug: reported, and polling goes on
            if not isinstance(exc, PlcError):
                log.exception("write of %s failed unexpectedly", command.key)
            reason = str(exc)
            if isinstance(exc, PlcUnreachable):
                # The link's own retry is a reconnect, not this write: nothing is sent
                # later by itself, and the words must not suggest it.
                reason = f"not sent: {_link_only(reason)}; write it again once the PLC is back"
            self._tell(WriteFailed(now_us(), command.key, requested, reason, request_id=request_id))
            return
        self._tell(
            WriteConfirmed(now_us(), command.key, requested, float(readback), request_id=request_id)
        )

    def _sample(self, client: PlcClient) -> None:
        self._polls += 1
        try:
            result = client.poll()
        except Exception as exc:  # a PlcError, or a bug: a gap, never the end of polling
            if not isinstance(exc, PlcError):
                log.exception("poll failed unexpectedly")
                client.close()
            self._failed += 1
            self._rtt = None
            if self._lost_since_us is None:
                # One gap per outage, not one per missed poll: while the link is down
                # the cause flips between timing out and waiting out the backoff.
                gap = self._machine.gap(str(exc))
                self._sink([gap])
                self.stream_event.emit(gap)
                self._lost_since_us = gap.at_us
                self.occurred.emit(PlcLost(gap.at_us, str(exc)))
            self._last_error = str(exc)
            self.interlocks.lost(f"PLC lost: {exc}")
            self._executor.on_poll_failed(str(exc))
            self.alarms.lost(client)
        else:
            self._rtt = result.round_trip_s
            values = {k: float(v) for k, v in result.values.items()}
            self.interlocks.sampled(values)
            self._journal.sampled(values)
            if self._heartbeat is not None:
                self._emit(self._heartbeat.sampled(values))
            batch = self._machine.batch(result.sampled_at_us, values)
            if self._lost_since_us is not None:
                self.occurred.emit(
                    PlcBack(batch.sampled_at_us, (batch.sampled_at_us - self._lost_since_us) / 1e6)
                )
                self._lost_since_us = None
                self._last_error = ""
            self._sink([batch])
            self.sampled.emit(batch)
            self.alarms.sampled(client, batch.sampled_at_us, values)
            self._executor.on_sample(client, values)
        self.health.emit(self._health(client))

    def _alarms_changed(self, board: AlarmBoard) -> None:
        if self._alarm_states is not None and board.events:
            self._alarm_states.save(self.alarms.engine.statuses())
        self.alarms_changed.emit(board)

    def _emit(self, events: Iterable[object]) -> None:
        for event in events:
            self.occurred.emit(event)

    def _health(self, client: PlcClient) -> PlcHealth:
        ordered = sorted(self._jitter)
        p99 = ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0
        run = self._machine.run
        return PlcHealth(
            connected=self._lost_since_us is None and client.connected,
            round_trip_s=self._rtt,
            requests_per_poll=client.plan.request_count,
            polls=self._polls,
            failed_polls=self._failed,
            missed_cycles=self._missed,
            jitter_p99_s=p99,
            last_error=self._last_error,
            running_run=str(run.id) if run else None,
        )


def _link_only(reason: str) -> str:
    """A PlcUnreachable's words without its reconnect schedule ("; next attempt in …")."""
    return reason.split("; next attempt in")[0]
