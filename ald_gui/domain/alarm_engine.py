"""The ISA-18.2 alarm state machine, evaluated on the poll thread for every poll.

``AlarmEngine.evaluate`` judges every defined alarm against one poll's values (or a
gap), ``apply`` carries out an operator's alarm command; both return the journal
entries (AlarmEvent, stamped by the Machine) of the transitions they made, and nothing
else changes an alarm. The allowed transitions, for the alarm's own state:

    normal -> unacknowledged                    raised (a new occurrence)
    unacknowledged -> acknowledged              acknowledged
    unacknowledged -> returned_unacknowledged   cleared before an acknowledgement
    acknowledged -> normal                      cleared
    returned_unacknowledged -> normal           acknowledged
    returned_unacknowledged -> unacknowledged   raised again (a new occurrence)
    any -> shelved | suppressed | out_of_service, and back (to normal, or raised anew)

A latched alarm does not clear before it is acknowledged. A value alarm whose tag has no
fresh value (a gap: the PLC is lost) is bad quality: it keeps its state (it neither
clears nor raises on a value nobody read) and says so.

Chatter is held off twice: a condition clears only ``deadband`` back inside its limit,
and an alarm raises (clears) only once its condition has held (been gone) for
``on_delay_s`` (``off_delay_s``) without a break.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ald_gui.domain.alarm_rules import Situation, SystemFigures, condition
from ald_gui.domain.alarm_vector import VECTOR_KINDS, ValueConditions
from ald_gui.domain.alarms import (
    AlarmBoard,
    AlarmDefinition,
    AlarmEvent,
    AlarmEventKind,
    AlarmState,
    AlarmStatus,
    Applies,
)
from ald_gui.domain.commands import (
    AcknowledgeAlarm,
    AlarmCommand,
    RemoveFromService,
    ReturnToService,
    ShelveAlarm,
    UnshelveAlarm,
)
from ald_gui.domain.machine import Machine

__all__ = ["AlarmEngine", "AlarmRefused", "Situation", "SystemFigures"]

E = AlarmEventKind
S = AlarmState


class AlarmRefused(Exception):
    """An alarm command that cannot apply; ``str()`` says why."""


class _Alarm:
    """One alarm's working state. ``active``: the alarm's condition after its delays
    (latched: until acknowledged); ``raw``: the condition at the last good value."""

    __slots__ = (
        "acked",
        "active",
        "bad",
        "d",
        "index",
        "occurrence",
        "oos_reason",
        "pending_us",
        "raised_us",
        "raw",
        "shelf_reason",
        "shelved_until",
        "since_us",
        "slot",
        "state",
        "suppressed",
        "value",
    )  # fmt: skip

    def __init__(self, d: AlarmDefinition) -> None:
        self.d = d
        self.raw = False
        self.active = False
        self.acked = True
        self.occurrence: uuid.UUID | None = None
        self.raised_us: int | None = None
        self.pending_us: int | None = None  # since when raw differs from active
        self.since_us = 0
        self.value: float | None = None
        self.bad = False
        self.shelved_until: int | None = None
        self.shelf_reason = ""
        self.oos_reason = ""
        self.suppressed = False
        self.state = S.NORMAL
        self.index = 0  # in the engine's list
        self.slot = -1  # in the engine's ValueConditions; -1: not a value alarm

    def derived(self) -> AlarmState:
        if self.oos_reason:
            return S.OUT_OF_SERVICE
        if self.shelved_until is not None:
            return S.SHELVED
        if self.suppressed:
            return S.SUPPRESSED
        if self.active:
            return S.ACKNOWLEDGED if self.acked else S.UNACKNOWLEDGED
        return S.NORMAL if self.acked else S.RETURNED_UNACKNOWLEDGED

    @property
    def hidden(self) -> bool:
        return bool(self.oos_reason) or self.shelved_until is not None or self.suppressed

    def status(self, value: float | None) -> AlarmStatus:
        return AlarmStatus(
            self.d, self.state, self.active, self.acked, self.since_us, self.raised_us,
            self.occurrence, value, self.bad, self.shelved_until,
            self.oos_reason or self.shelf_reason,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Restored:
    """An alarm's state as the journal left it (store.alarm_journal), to start from."""

    alarm: str
    state: AlarmState
    occurrence: uuid.UUID | None
    raised_at_us: int | None
    since_us: int
    shelved_until_us: int | None = None
    reason: str = ""


class AlarmEngine:
    """The alarms of ``definitions``; journal entries are stamped by ``machine``."""

    def __init__(self, definitions: Sequence[AlarmDefinition], machine: Machine) -> None:
        self._machine = machine
        self._alarms = {d.id: _Alarm(d) for d in definitions}
        self._list = tuple(self._alarms.values())
        vector = [a for a in self._list if a.d.kind in VECTOR_KINDS]
        self._vector = ValueConditions([a.d for a in vector])
        self._vector_alarms = vector
        for i, a in enumerate(self._list):
            a.index = i
        for j, a in enumerate(vector):
            a.slot = j
        self._always = [a for a in self._list if a.slot < 0]  # system, bad quality: few
        self._conditional = [a for a in self._list if a.d.applies is not Applies.ALWAYS]
        self._watched: set[int] = set()
        self._situation: Situation | None = None
        self._values: Mapping[str, float] | None = None
        self.figures = SystemFigures()
        self.quality_changed = False  # by the last evaluate: an alarm went bad or good

    @property
    def definitions(self) -> tuple[AlarmDefinition, ...]:
        return tuple(a.d for a in self._list)

    def restore(self, states: Iterable[Restored]) -> None:
        """Start from the states a previous session journalled (after a restart): an
        active alarm stays active, acknowledged or not, until a poll shows it clear."""
        for r in states:
            a = self._alarms.get(r.alarm)
            if a is None:
                continue  # no longer configured
            a.occurrence, a.raised_us, a.since_us = r.occurrence, r.raised_at_us, r.since_us
            if r.state is S.SHELVED and r.shelved_until_us is not None:
                a.shelved_until, a.shelf_reason = r.shelved_until_us, r.reason
            elif r.state is S.OUT_OF_SERVICE:
                a.oos_reason = r.reason or "out of service"
            else:
                a.active = a.raw = r.state in (S.UNACKNOWLEDGED, S.ACKNOWLEDGED)
                a.acked = r.state in (S.ACKNOWLEDGED, S.NORMAL)
            a.state = a.derived()
            self._sync(a)

    # -- evaluation ----------------------------------------------------------------

    def evaluate(
        self, at_us: int, values: Mapping[str, float] | None, situation: Situation
    ) -> list[AlarmEvent]:
        """Judge every alarm at ``at_us`` against one poll's ``values`` (None: a gap).

        Visited: after a gap every alarm; otherwise the system and bad-quality alarms,
        those with a delay running or a shelf to expire, those whose condition or
        quality changed with this poll (alarm_vector), and, when the situation (run,
        step) changed, those that apply only in some. No other alarm can change."""
        events: list[AlarmEvent] = []
        self.quality_changed = False
        self._values = values
        todo: Iterable[_Alarm]
        if values is None:
            todo = self._list
        else:
            picked = {a.index for a in self._always}
            picked.update(self._watched)
            vector = self._vector_alarms
            picked.update(vector[j].index for j in self._vector.changed(values))
            if situation != self._situation:
                picked.update(a.index for a in self._conditional)
            todo = [self._list[i] for i in sorted(picked)]
        self._situation = situation
        for a in todo:
            self._judge(a, at_us, values, situation, events)
            self._sync(a)
        return events

    def _judge(
        self, a: _Alarm, at_us: int, values: Mapping[str, float] | None, situation: Situation,
        events: list[AlarmEvent],
    ) -> None:  # fmt: skip
        d = a.d
        if a.shelved_until is not None and at_us >= a.shelved_until:
            a.shelved_until, a.shelf_reason = None, ""
            self._moved(a, at_us, E.UNSHELVED, events, note="shelf expired")
        applies = situation.admits(d)
        if applies == a.suppressed:  # suppressed must become not applies
            a.suppressed = not applies
            if a.suppressed:
                a.active = a.raw = False
                a.acked, a.pending_us = True, None
            self._moved(a, at_us, E.SUPPRESSED if a.suppressed else E.UNSUPPRESSED, events)
        if a.suppressed:
            return
        raw = condition(d, values, self.figures, a.raw)
        if raw is None:  # no fresh value: bad quality, the state stands
            if not a.bad:
                a.bad, a.value, self.quality_changed = True, None, True
            return
        if a.bad:
            a.bad, self.quality_changed = False, True
        a.value = _value_of(d, values)
        a.raw = raw
        self._delay(a, at_us, raw, events)

    def _sync(self, a: _Alarm) -> None:
        """Mirror ``a`` where the next poll looks: the vector's copy of its condition,
        and the alarms visited every poll (a delay running, a shelf to expire)."""
        if a.slot >= 0:
            v = self._vector
            v.raw[a.slot], v.bad[a.slot], v.skip[a.slot] = a.raw, a.bad, a.suppressed
        if a.pending_us is not None or a.shelved_until is not None:
            self._watched.add(a.index)
        else:
            self._watched.discard(a.index)

    def _delay(self, a: _Alarm, at_us: int, raw: bool, events: list[AlarmEvent]) -> None:
        if a.hidden:  # watched (raw), not announced: a condition that holds raises anew
            a.pending_us = None  # when the alarm returns (_moved)
            return
        if raw == a.active or (not raw and a.d.latch and not a.acked):
            a.pending_us = None
            return
        if a.pending_us is None:
            a.pending_us = at_us
        delay = a.d.on_delay_s if raw else a.d.off_delay_s
        if (at_us - a.pending_us) < delay * 1e6:
            return
        a.pending_us = None
        a.active = raw
        if raw:
            a.acked = False
            a.occurrence, a.raised_us = uuid.uuid4(), at_us
            self._moved(a, at_us, E.RAISED, events)
        else:
            self._moved(a, at_us, E.CLEARED, events)

    # -- commands ------------------------------------------------------------------

    def apply(self, command: AlarmCommand, at_us: int) -> list[AlarmEvent]:
        """Carry out an operator's alarm command at ``at_us``; raises AlarmRefused (with
        the reason) when it cannot apply, changing nothing."""
        a = self._alarms.get(command.alarm)
        if a is None:
            raise AlarmRefused(f"no alarm {command.alarm!r} is configured")
        events: list[AlarmEvent] = []
        match command:
            case AcknowledgeAlarm(note=note, operator=operator):
                if a.acked or a.hidden:
                    raise AlarmRefused(f"alarm {a.d.id} has nothing to acknowledge")
                a.acked = True
                if not a.raw and not a.pending_us:
                    a.active = False  # a latched alarm whose condition is gone clears
                self._moved(a, at_us, E.ACKNOWLEDGED, events, operator=operator, note=note)
            case ShelveAlarm(duration_s=duration_s, reason=reason, operator=operator):
                if not (duration_s > 0 and math.isfinite(duration_s)):
                    raise AlarmRefused(f"a shelf needs a duration above 0 s, not {duration_s}")
                if not reason.strip():
                    raise AlarmRefused("shelving an alarm needs a reason")
                if a.oos_reason:
                    raise AlarmRefused(f"alarm {a.d.id} is out of service")
                a.shelved_until, a.shelf_reason = at_us + int(duration_s * 1e6), reason
                self._hide(a)
                self._moved(
                    a, at_us, E.SHELVED, events, operator=operator, note=reason,
                    until_us=a.shelved_until,
                )  # fmt: skip
            case UnshelveAlarm(operator=operator):
                if a.shelved_until is None:
                    raise AlarmRefused(f"alarm {a.d.id} is not shelved")
                a.shelved_until, a.shelf_reason = None, ""
                self._moved(a, at_us, E.UNSHELVED, events, operator=operator)
            case RemoveFromService(reason=reason, operator=operator):
                if not reason.strip():
                    raise AlarmRefused("taking an alarm out of service needs a reason")
                a.oos_reason, a.shelved_until, a.shelf_reason = reason, None, ""
                self._hide(a)
                self._moved(a, at_us, E.REMOVED, events, operator=operator, note=reason)
            case ReturnToService(operator=operator):
                if not a.oos_reason:
                    raise AlarmRefused(f"alarm {a.d.id} is in service")
                a.oos_reason = ""
                self._moved(a, at_us, E.RETURNED, events, operator=operator)
        self._sync(a)
        return events

    @staticmethod
    def _hide(a: _Alarm) -> None:
        """Hidden, an occurrence ends: on return, a condition still there raises anew."""
        a.acked, a.active, a.pending_us = True, False, None

    # -- journal -------------------------------------------------------------------

    def _moved(
        self, a: _Alarm, at_us: int, kind: AlarmEventKind, events: list[AlarmEvent],
        *, operator: str = "", note: str = "", until_us: int | None = None,
    ) -> None:  # fmt: skip
        """Journal ``kind``; after an alarm returns (unshelved, unsuppressed, returned to
        service) a condition that holds raises a new occurrence at once."""
        a.state = a.derived()
        a.since_us = at_us
        events.append(
            self._machine.alarm_event(
                a.d.id, kind, a.state, a.d.priority, a.occurrence, value=a.value,
                operator=operator, note=note, until_us=until_us, at_us=at_us,
            )
        )  # fmt: skip
        if kind in (E.UNSHELVED, E.UNSUPPRESSED, E.RETURNED) and not a.hidden and a.raw:
            a.pending_us = None
            a.active, a.acked = True, False
            a.occurrence, a.raised_us = uuid.uuid4(), at_us
            self._moved(a, at_us, E.RAISED, events)

    def board(self, at_us: int, events: Sequence[AlarmEvent] = ()) -> AlarmBoard:
        """Every alarm not normal (or normal but bad quality), with ``events``."""
        shown = tuple(
            a.status(self._now(a)) for a in self._list if a.state is not S.NORMAL or a.bad
        )
        return AlarmBoard(at_us, shown, tuple(events))

    def status(self, alarm: str) -> AlarmStatus:
        """Raises KeyError for an alarm not configured."""
        a = self._alarms[alarm]
        return a.status(self._now(a))

    def statuses(self) -> tuple[AlarmStatus, ...]:
        return tuple(a.status(self._now(a)) for a in self._list)

    def _now(self, a: _Alarm) -> float | None:
        """``a``'s value at the last poll (an alarm not visited kept an older one)."""
        if a.bad or self._values is None:
            return a.value
        return _value_of(a.d, self._values)


def _value_of(d: AlarmDefinition, values: Mapping[str, float] | None) -> float | None:
    if values is None or not d.tag:
        return None
    return values.get(d.tag)
